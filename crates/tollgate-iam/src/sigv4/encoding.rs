//! The text transformations of SigV4's canonical request: URI encoding, percent decoding,
//! path normalisation, header value trimming, hex.

/// SigV4's URI encoding: every byte but the unreserved characters (`A-Z a-z 0-9 - _ . ~`,
/// and `/` where `keep_slash`) as `%XX` with upper-case hex.
pub fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX_UPPER[usize::from(b >> 4)] as char);
            out.push(HEX_UPPER[usize::from(b & 0xf)] as char);
        }
    }
    out
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Decodes `%XX` sequences (a `%` not followed by two hex digits stays as it is); `+` stays `+`,
/// as SigV4 reads query strings.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2]))
        {
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The path as services other than S3 sign it: dot segments removed and empty segments
/// collapsed (RFC 3986 section 5.2.4, plus `//` -> `/`), keeping a trailing slash.
pub fn normalize_path(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(path.len());
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    let trailing = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    if out.is_empty() || (trailing && !out.ends_with('/')) {
        out.push('/');
    }
    out
}

/// The canonical URI: the path as sent, normalised where `normalize`, encoded once more
/// (services other than S3 double-encode: `%3A` is signed as `%253A`).
pub fn canonical_uri(path: &str, normalize: bool) -> String {
    let path = if normalize {
        normalize_path(path)
    } else if path.is_empty() {
        "/".into()
    } else {
        path.to_string()
    };
    uri_encode(&path, true)
}

/// The canonical query string of a query as sent: each name and value decoded then encoded
/// strictly, sorted by name then value, pairs without `=` given an empty value. `skip` names
/// a parameter left out (the presigned form's `X-Amz-Signature`).
pub fn canonical_query(query: &str, skip: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(pair), String::new()),
        })
        .filter(|(k, _)| Some(k.as_str()) != skip)
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    pairs.sort();
    join_pairs(&pairs)
}

/// The canonical query string of decoded name/value pairs (what a signer has).
pub fn canonical_query_of_pairs(pairs: &[(&str, &str)]) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    encoded.sort();
    join_pairs(&encoded)
}

fn join_pairs(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// A header value as signed: leading and trailing whitespace removed, every run of inner
/// whitespace (folded lines included) one space.
pub fn trim_header_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for word in value.split_ascii_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_all_but_unreserved() {
        assert_eq!(uri_encode("a b/c~d*", false), "a%20b%2Fc~d%2A");
        assert_eq!(uri_encode("a b/c", true), "a%20b/c");
        assert_eq!(uri_encode("ሴ", false), "%E1%88%B4");
    }

    #[test]
    fn decodes_percent_sequences_only() {
        assert_eq!(percent_decode("a%20b+c%2"), "a b+c%2");
        assert_eq!(percent_decode("%E1%88%B4"), "ሴ");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn normalizes_paths() {
        for (input, expected) in [
            ("", "/"),
            ("/", "/"),
            ("//example//", "/example/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/./", "/"),
            ("/example/./a", "/example/a"),
            ("/a/b/../c", "/a/c"),
            ("/../a", "/a"),
            ("/a/.", "/a/"),
        ] {
            assert_eq!(normalize_path(input), expected, "{input}");
        }
    }

    #[test]
    fn double_encodes_the_path() {
        assert_eq!(
            canonical_uri("/functions/arn%3Aaws/invocations", true),
            "/functions/arn%253Aaws/invocations"
        );
        assert_eq!(canonical_uri("//a//", false), "//a//");
    }

    #[test]
    fn canonical_queries_sort_after_encoding() {
        assert_eq!(
            canonical_query("Param-3=Value3&Param=Value2&%E1%88%B4=Value1", None),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"
        );
        assert_eq!(canonical_query("b&a=2&a=1", None), "a=1&a=2&b=");
        assert_eq!(canonical_query("a=x+y&s=1", Some("s")), "a=x%2By");
        assert_eq!(canonical_query("", None), "");
    }

    #[test]
    fn trims_and_folds_header_values() {
        assert_eq!(trim_header_value("  a   b\n   c "), "a b c");
        assert_eq!(trim_header_value("\"a   b   c\""), "\"a b c\"");
    }
}
