//! The signer: the headers (or query parameters) that make a request carry a SigV4 signature.

use std::time::SystemTime;

use super::canonical::{
    ALGORITHM, CanonicalParts, canonical_request, scope, sha256_hex, signature, string_to_sign,
};
use super::encoding::uri_encode;
use super::time::format_amz_date;

/// Who signs, for which region and service, and when.
#[derive(Clone)]
pub struct SigningParams<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
    pub region: &'a str,
    pub service: &'a str,
    pub time: SystemTime,
}

/// A request to sign, as it will be sent.
pub struct Signable<'a> {
    pub method: &'a str,
    /// The path as sent (already percent-encoded).
    pub path: &'a str,
    /// The query as sent, without `?` (may be empty).
    pub query: &'a str,
    /// The headers to sign; `host` must be among them.
    pub headers: &'a [(&'a str, &'a str)],
    pub payload: &'a [u8],
}

/// Signs in the `Authorization` header form. Returns the headers to add to the request:
/// `x-amz-date`, `x-amz-security-token` when there is a session token, and `authorization`.
/// Every header of `request.headers` is signed, with these.
pub fn sign(request: &Signable<'_>, params: &SigningParams<'_>) -> Vec<(&'static str, String)> {
    let amz_date = format_amz_date(params.time);
    let mut added: Vec<(&'static str, String)> = vec![("x-amz-date", amz_date.clone())];
    if let Some(token) = params.session_token {
        added.push(("x-amz-security-token", token.to_string()));
    }
    let mut headers: Vec<(&str, &str)> = request.headers.to_vec();
    headers.extend(added.iter().map(|(n, v)| (*n, v.as_str())));
    let names = signed_header_names(&headers);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let canonical = canonical_request(&CanonicalParts {
        method: request.method,
        path: request.path,
        query: request.query,
        skip_query: None,
        headers: &headers,
        signed_headers: &names,
        payload_sha256: &sha256_hex(request.payload),
        normalize_path: true,
    });
    let date = &amz_date[..8];
    let scope = scope(date, params.region, params.service);
    let signature = signature(
        params.secret_access_key,
        date,
        params.region,
        params.service,
        &string_to_sign(&amz_date, &scope, &canonical),
    );
    added.push((
        "authorization",
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
            params.access_key_id,
            names.join(";")
        ),
    ));
    added
}

/// Signs in the presigned (query string) form, valid for `expires_secs`. Returns the query
/// to send: the request's own query followed by the `X-Amz-*` parameters. Only the
/// headers of `request.headers` are signed (at least `host`).
pub fn presign(request: &Signable<'_>, params: &SigningParams<'_>, expires_secs: u64) -> String {
    let amz_date = format_amz_date(params.time);
    let date = &amz_date[..8];
    let scope = scope(date, params.region, params.service);
    let names = signed_header_names(request.headers);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut query = request.query.to_string();
    let mut add = |name: &str, value: &str| {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(name);
        query.push('=');
        query.push_str(&uri_encode(value, false));
    };
    add("X-Amz-Algorithm", ALGORITHM);
    add(
        "X-Amz-Credential",
        &format!("{}/{scope}", params.access_key_id),
    );
    add("X-Amz-Date", &amz_date);
    add("X-Amz-Expires", &expires_secs.to_string());
    if let Some(token) = params.session_token {
        add("X-Amz-Security-Token", token);
    }
    add("X-Amz-SignedHeaders", &names.join(";"));
    let canonical = canonical_request(&CanonicalParts {
        method: request.method,
        path: request.path,
        query: &query,
        skip_query: None,
        headers: request.headers,
        signed_headers: &names,
        payload_sha256: &sha256_hex(request.payload),
        normalize_path: true,
    });
    let signature = signature(
        params.secret_access_key,
        date,
        params.region,
        params.service,
        &string_to_sign(&amz_date, &scope, &canonical),
    );
    query.push_str("&X-Amz-Signature=");
    query.push_str(&signature);
    query
}

/// The lower-case names of headers, sorted, without duplicates.
fn signed_header_names(headers: &[(&str, &str)]) -> Vec<String> {
    let mut names: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    names.sort();
    names.dedup();
    names
}
