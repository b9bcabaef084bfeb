//! The canonical request, the string to sign and the signature, shared by the signer and the
//! verifier so that both build exactly the same bytes.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::encoding::{canonical_query, canonical_uri, hex, trim_header_value};

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub const TERMINATOR: &str = "aws4_request";

/// The SHA-256 of an empty payload, hex.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The SHA-256 of a payload, hex, as the canonical request carries it.
pub fn sha256_hex(payload: &[u8]) -> String {
    hex(&Sha256::digest(payload))
}

/// What a canonical request is made of, as the request was sent.
pub struct CanonicalParts<'a> {
    pub method: &'a str,
    /// The path as sent (percent-encoded).
    pub path: &'a str,
    /// The query as sent, without `?`.
    pub query: &'a str,
    /// A query parameter to leave out (`X-Amz-Signature` of a presigned request).
    pub skip_query: Option<&'a str>,
    /// Every header of the request (any case, repeated names allowed).
    pub headers: &'a [(&'a str, &'a str)],
    /// The names of the signed headers, lower case, sorted (`SignedHeaders`).
    pub signed_headers: &'a [&'a str],
    pub payload_sha256: &'a str,
    /// Remove dot segments and empty segments from the path (every service but S3).
    pub normalize_path: bool,
}

/// The canonical request: method, URI, query, headers, signed header names, payload hash.
pub fn canonical_request(parts: &CanonicalParts<'_>) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(parts.method);
    out.push('\n');
    out.push_str(&canonical_uri(parts.path, parts.normalize_path));
    out.push('\n');
    out.push_str(&canonical_query(parts.query, parts.skip_query));
    out.push('\n');
    for name in parts.signed_headers {
        out.push_str(name);
        out.push(':');
        let mut first = true;
        for (_, value) in parts
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&trim_header_value(value));
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&parts.signed_headers.join(";"));
    out.push('\n');
    out.push_str(parts.payload_sha256);
    out
}

/// `{date}/{region}/{service}/aws4_request`.
pub fn scope(date: &str, region: &str, service: &str) -> String {
    format!("{date}/{region}/{service}/{TERMINATOR}")
}

pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The signature (hex) of a string to sign with a secret, for a scope's date, region and service.
pub fn signature(
    secret_access_key: &str,
    date: &str,
    region: &str,
    service: &str,
    string_to_sign: &str,
) -> String {
    let mut key = hmac_sha256(
        format!("AWS4{secret_access_key}").as_bytes(),
        date.as_bytes(),
    );
    for part in [region, service, TERMINATOR] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    hex(&hmac_sha256(&key, string_to_sign.as_bytes()))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Compares two signatures in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn repeated_headers_are_joined_in_order() {
        let headers = [
            ("Host", "example.amazonaws.com"),
            ("My-Header1", "value2"),
            ("My-Header1", "value2"),
            ("My-Header1", "value1"),
            ("X-Amz-Date", "20150830T123600Z"),
        ];
        let canonical = canonical_request(&CanonicalParts {
            method: "GET",
            path: "/",
            query: "",
            skip_query: None,
            headers: &headers,
            signed_headers: &["host", "my-header1", "x-amz-date"],
            payload_sha256: EMPTY_PAYLOAD_SHA256,
            normalize_path: true,
        });
        assert!(
            canonical.contains("\nmy-header1:value2,value2,value1\n"),
            "{canonical}"
        );
    }
}
