//! An HTTP integration's URI, split once when the plan compiles: the scheme and authority
//! parsed, the path and query kept as text and `{name}` placeholders, so that a request only
//! fills in its path parameters and builds the path and query.

use http::uri::{Authority, Scheme, Uri};

/// A piece of an integration URI's path and query: text, or a `{name}` / `{name+}` placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UriPiece<T = String> {
    Text(T),
    /// `name` (without a greedy `+`), and the placeholder as written, which stays in the URI
    /// when the request has no value for it.
    Placeholder {
        name: T,
        written: T,
    },
}

impl UriPiece<String> {
    pub fn as_str(&self) -> UriPiece<&str> {
        match self {
            UriPiece::Text(text) => UriPiece::Text(text),
            UriPiece::Placeholder { name, written } => UriPiece::Placeholder { name, written },
        }
    }
}

impl UriPiece<&str> {
    fn to_owned(&self) -> UriPiece<String> {
        match *self {
            UriPiece::Text(text) => UriPiece::Text(text.into()),
            UriPiece::Placeholder { name, written } => UriPiece::Placeholder {
                name: name.into(),
                written: written.into(),
            },
        }
    }
}

/// The pieces of `text`: each `{` up to the next `}` is a placeholder; a `{` that no `}`
/// follows, and all after it, is text.
pub fn uri_pieces(text: &str) -> impl Iterator<Item = UriPiece<&str>> {
    let mut rest = text;
    // The placeholder that follows the text piece just returned.
    let mut next: Option<UriPiece<&str>> = None;
    std::iter::from_fn(move || {
        if let Some(piece) = next.take() {
            return Some(piece);
        }
        if rest.is_empty() {
            return None;
        }
        let found = rest
            .find('{')
            .and_then(|start| Some((start, start + rest[start..].find('}')?)));
        let Some((start, end)) = found else {
            return Some(UriPiece::Text(std::mem::take(&mut rest)));
        };
        let written = &rest[start..=end];
        let name = &written[1..written.len() - 1];
        let placeholder = UriPiece::Placeholder {
            name: name.strip_suffix('+').unwrap_or(name),
            written,
        };
        let text = &rest[..start];
        rest = &rest[end + 1..];
        if text.is_empty() {
            Some(placeholder)
        } else {
            next = Some(placeholder);
            Some(UriPiece::Text(text))
        }
    })
}

/// An absolute `http` or `https` integration URI without stage variables, split.
#[derive(Debug)]
pub struct UriTemplate {
    pub scheme: Scheme,
    pub authority: Authority,
    /// The path and query after the authority, as pieces (none for `http://host`).
    pub path: Vec<UriPiece>,
    /// The length of `scheme://authority`.
    pub prefix_len: usize,
}

impl UriTemplate {
    /// The template of `uri`; none when it names stage variables (substituted per request,
    /// before the URI can be parsed) or is not a valid absolute `http` or `https` URI: those
    /// are built and parsed whole for each request.
    pub fn parse(uri: &str) -> Option<Self> {
        if uri.contains("${") {
            return None;
        }
        let parsed: Uri = uri.parse().ok()?;
        let scheme = parsed.scheme()?.clone();
        if scheme != Scheme::HTTP && scheme != Scheme::HTTPS {
            return None;
        }
        let authority = parsed.authority()?.clone();
        let prefix = format!("{scheme}://{authority}");
        // What follows the authority, as written (the parsed URI normalises it).
        let rest = uri.strip_prefix(prefix.as_str())?;
        Some(Self {
            scheme,
            authority,
            path: uri_pieces(rest).map(|p| p.to_owned()).collect(),
            prefix_len: prefix.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<UriPiece<&str>> {
        uri_pieces(text).collect()
    }

    #[test]
    fn placeholders_are_split_from_text() {
        use UriPiece::{Placeholder, Text};
        assert_eq!(
            pieces("/a/{id}/b/{proxy+}?x=1"),
            [
                Text("/a/"),
                Placeholder {
                    name: "id",
                    written: "{id}"
                },
                Text("/b/"),
                Placeholder {
                    name: "proxy",
                    written: "{proxy+}"
                },
                Text("?x=1"),
            ]
        );
        assert_eq!(
            pieces("{a}{b}"),
            [
                Placeholder {
                    name: "a",
                    written: "{a}"
                },
                Placeholder {
                    name: "b",
                    written: "{b}"
                },
            ]
        );
        // An unclosed `{` is text, as is what follows it.
        assert_eq!(pieces("/a/{b"), [Text("/a/{b")]);
        // A `{` inside a placeholder is part of its name.
        assert_eq!(
            pieces("/{a{b}c"),
            [
                Text("/"),
                Placeholder {
                    name: "a{b",
                    written: "{a{b}"
                },
                Text("c"),
            ]
        );
        assert_eq!(
            pieces("/}{x}"),
            [
                Text("/}"),
                Placeholder {
                    name: "x",
                    written: "{x}"
                }
            ]
        );
        assert!(pieces("").is_empty());
    }

    #[test]
    fn http_uris_split_into_scheme_authority_and_path() {
        let t = UriTemplate::parse("https://example.com:8443/pets/{id}?a=b").unwrap();
        assert_eq!(t.scheme, Scheme::HTTPS);
        assert_eq!(t.authority.as_str(), "example.com:8443");
        assert_eq!(t.prefix_len, "https://example.com:8443".len());
        assert_eq!(
            t.path.iter().map(UriPiece::as_str).collect::<Vec<_>>(),
            [
                UriPiece::Text("/pets/"),
                UriPiece::Placeholder {
                    name: "id",
                    written: "{id}"
                },
                UriPiece::Text("?a=b"),
            ]
        );
        assert!(UriTemplate::parse("http://h").unwrap().path.is_empty());
    }

    #[test]
    fn other_uris_are_left_to_each_request() {
        for uri in [
            "http://${stageVariables.host}/a",
            "http://h/${stageVariables.path}",
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/f/invocations",
            "ftp://h/a",
            "HTTP://h/a",
            "/relative",
            "http://{host}/a",
            "not a uri",
        ] {
            assert!(UriTemplate::parse(uri).is_none(), "{uri}");
        }
    }
}
