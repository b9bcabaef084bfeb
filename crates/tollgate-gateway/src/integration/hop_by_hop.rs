//! Hop-by-hop headers: those that belong to one connection and that a proxy does not forward,
//! in either direction.

use hyper::HeaderMap;
use hyper::header::{CONNECTION, CONTENT_LENGTH, HeaderName, HeaderValue};

use super::http1::is_lowercase_of;

/// Headers that belong to one hop and are never forwarded (with `Content-Length`, which the
/// sender recomputes for the body it sends).
const HOP_BY_HOP: [HeaderName; 10] = [
    CONNECTION,
    HeaderName::from_static("keep-alive"),
    hyper::header::PROXY_AUTHENTICATE,
    hyper::header::PROXY_AUTHORIZATION,
    HeaderName::from_static("proxy-connection"),
    hyper::header::TE,
    hyper::header::TRAILER,
    hyper::header::TRANSFER_ENCODING,
    hyper::header::UPGRADE,
    CONTENT_LENGTH,
];

/// Whether `name` is one of the hop-by-hop headers (not counting those a `Connection` header
/// names): one match on the name's text rather than a comparison with each.
pub(crate) fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "content-length"
    )
}

/// Removes the hop-by-hop headers, and those the `Connection` header names. Only the names
/// present are removed (most messages carry none of them, or just `Content-Length`), found in
/// one pass over the names without collecting them.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if !headers.keys().any(is_hop_by_hop) {
        return;
    }
    let mut present = [false; 10];
    for name in headers.keys() {
        if let Some(i) = HOP_BY_HOP.iter().position(|h| h == name) {
            present[i] = true;
        }
    }
    // `Connection` is the first: the names it lists go too.
    if present[0] {
        let mut listed = Vec::new();
        for value in headers.get_all(CONNECTION) {
            push_names_listed(value, &mut listed);
        }
        for name in &listed {
            headers.remove(name);
        }
    }
    for (name, _) in HOP_BY_HOP.iter().zip(present).filter(|(_, p)| *p) {
        headers.remove(name);
    }
}

/// Adds to `names` the header names a `Connection` header's value lists, but for `close` and
/// `keep-alive` (the usual tokens, which name no header: then nothing is allocated).
pub(crate) fn push_names_listed(connection: &HeaderValue, names: &mut Vec<HeaderName>) {
    let whole = connection.as_bytes();
    if is_lowercase_of(whole, b"keep-alive") || is_lowercase_of(whole, b"close") {
        return;
    }
    let Ok(value) = connection.to_str() else {
        return;
    };
    for token in value.split(',').map(str::trim) {
        if token.eq_ignore_ascii_case("close") || token.eq_ignore_ascii_case("keep-alive") {
            continue;
        }
        if let Ok(name) = HeaderName::try_from(token) {
            names.push(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(n, v)| (HeaderName::from_static(n), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_removed() {
        let mut h = headers(&[
            ("connection", "keep-alive, X-Session"),
            ("x-session", "abc"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("content-length", "12"),
            ("x-kept", "1"),
        ]);
        strip_hop_by_hop(&mut h);
        assert_eq!(
            h.keys().map(HeaderName::as_str).collect::<Vec<_>>(),
            ["x-kept"]
        );
    }

    #[test]
    fn end_to_end_headers_are_left_alone() {
        let mut h = headers(&[("host", "example.com"), ("accept", "*/*")]);
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn connection_values_list_names_but_close_and_keep_alive() {
        let mut names = Vec::new();
        for value in [
            "Keep-Alive, X-A",
            " close ,x-b,,",
            "bad name, x-c",
            "\u{e9}, x-d",
            "Keep-Alive",
            "CLOSE",
        ] {
            let value = HeaderValue::from_bytes(value.as_bytes()).unwrap();
            push_names_listed(&value, &mut names);
        }
        // A value that is not visible ASCII names nothing.
        assert_eq!(names, ["x-a", "x-b", "x-c"]);
        for name in &HOP_BY_HOP {
            assert!(is_hop_by_hop(name), "{name}");
        }
        assert!(!is_hop_by_hop(&hyper::header::HOST));
        assert!(!is_hop_by_hop(&HeaderName::from_static("x-te")));
    }
}
