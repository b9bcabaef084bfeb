//! The verifier: checks a request's SigV4 signature, header or presigned form, against the
//! credentials a [`CredentialsLookup`] knows, within AWS's time window.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::canonical::{
    ALGORITHM, CanonicalParts, TERMINATOR, canonical_request, constant_time_eq, scope, signature,
    string_to_sign,
};
use super::encoding::percent_decode;
use super::error::SigV4Error;
use super::time::{format_amz_date, parse_amz_date};
use crate::principal::{CredentialsLookup, Principal};

/// How far a request's date may be from the verifier's clock, either way.
pub const TIME_WINDOW: Duration = Duration::from_secs(5 * 60);

/// The longest `X-Amz-Expires` of a presigned request (seven days).
pub const MAX_EXPIRES_SECS: u64 = 7 * 24 * 3600;

/// A request as received.
pub struct Request<'a> {
    pub method: &'a str,
    /// The path as sent (percent-encoded).
    pub path: &'a str,
    /// The query as sent, without `?` (empty when none).
    pub query: &'a str,
    /// Every header, names in any case, repeated names allowed, in the order received.
    pub headers: Vec<(&'a str, &'a str)>,
}

impl<'a> Request<'a> {
    /// A request's parts as hyper/axum hold them. Header values that are not text are left
    /// out (they cannot have been signed as text either).
    pub fn from_parts(parts: &'a http::request::Parts) -> Self {
        Self::new(
            parts.method.as_str(),
            parts.uri.path(),
            parts.uri.query().unwrap_or(""),
            &parts.headers,
        )
    }

    /// A request from its method, path and query as sent, and its headers.
    pub fn new(
        method: &'a str,
        path: &'a str,
        query: &'a str,
        headers: &'a http::HeaderMap,
    ) -> Self {
        Self {
            method,
            path,
            query,
            headers: headers
                .iter()
                .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
                .collect(),
        }
    }

    fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == name).then(|| percent_decode(v))
        })
    }
}

/// What the verifier accepts.
#[derive(Debug, Clone)]
pub struct Expectations<'a> {
    /// The signing names (service) the credential scope may name, e.g. `["execute-api"]`.
    pub services: &'a [&'a str],
    /// The region the credential scope must name; `None` accepts any.
    pub region: Option<&'a str>,
    /// The verifier's clock.
    pub now: SystemTime,
    /// Normalise the path before signing (every service but S3 does).
    pub normalize_path: bool,
}

impl<'a> Expectations<'a> {
    pub fn new(services: &'a [&'a str], region: Option<&'a str>) -> Self {
        Self {
            services,
            region,
            now: SystemTime::now(),
            normalize_path: true,
        }
    }
}

/// A request whose signature holds.
#[derive(Debug, Clone)]
pub struct Verified {
    pub principal: Arc<Principal>,
    pub region: String,
    pub service: String,
    /// The request's `X-Amz-Date`.
    pub signed_at: SystemTime,
}

/// What the `Authorization` header or the presigned query carries.
struct Claimed {
    credential: String,
    signed_headers: String,
    signature: String,
    amz_date: String,
    session_token: Option<String>,
    /// `X-Amz-Expires` of a presigned request.
    expires: Option<u64>,
    presigned: bool,
}

/// Verifies a request's signature. `payload_sha256` is the hex SHA-256 of the body as
/// received ([`super::sha256_hex`]).
pub fn verify<L>(
    request: &Request<'_>,
    payload_sha256: &str,
    credentials: &L,
    expect: &Expectations<'_>,
) -> Result<Verified, SigV4Error>
where
    L: CredentialsLookup + ?Sized,
{
    let claimed = claimed(request)?;

    // Credential scope: {key}/{date}/{region}/{service}/aws4_request.
    let parts: Vec<&str> = claimed.credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts[..] else {
        return Err(SigV4Error::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{}'",
            claimed.credential
        )));
    };
    let signed_at = parse_amz_date(&claimed.amz_date).ok_or_else(|| {
        SigV4Error::Incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601",
            claimed.amz_date
        ))
    })?;
    if terminator != TERMINATOR {
        return Err(SigV4Error::BadScope(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
        )));
    }
    if !expect.services.contains(&service) {
        let wanted = expect.services.first().copied().unwrap_or_default();
        return Err(SigV4Error::BadScope(format!(
            "Credential should be scoped to correct service: '{wanted}'. "
        )));
    }
    if let Some(wanted) = expect.region
        && region != wanted
    {
        return Err(SigV4Error::BadScope(format!(
            "Credential should be scoped to a valid region, not '{region}'. "
        )));
    }
    if date != &claimed.amz_date[..8] {
        return Err(SigV4Error::BadScope(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{}', from '{}'.",
            &claimed.amz_date[..8],
            claimed.amz_date
        )));
    }
    let mut signed_headers: Vec<&str> = claimed.signed_headers.split(';').collect();
    if !signed_headers
        .iter()
        .any(|h| h.eq_ignore_ascii_case("host"))
    {
        return Err(SigV4Error::Incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    check_time(&claimed, signed_at, expect.now)?;

    let principal = credentials
        .lookup(access_key_id)
        .ok_or(SigV4Error::UnrecognizedClient)?;
    if principal.session_token.as_deref() != claimed.session_token.as_deref() {
        return Err(SigV4Error::UnrecognizedClient);
    }

    // The canonical request names the signed headers as the client listed them, lower case.
    let lowered: Vec<String> = signed_headers
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    signed_headers = lowered.iter().map(String::as_str).collect();
    let canonical = canonical_request(&CanonicalParts {
        method: request.method,
        path: request.path,
        query: request.query,
        skip_query: claimed.presigned.then_some("X-Amz-Signature"),
        headers: &request.headers,
        signed_headers: &signed_headers,
        payload_sha256,
        normalize_path: expect.normalize_path,
    });
    let scope = scope(date, region, service);
    let to_sign = string_to_sign(&claimed.amz_date, &scope, &canonical);
    let expected = signature(
        &principal.secret_access_key,
        date,
        region,
        service,
        &to_sign,
    );
    if !constant_time_eq(
        expected.as_bytes(),
        claimed.signature.to_ascii_lowercase().as_bytes(),
    ) {
        return Err(SigV4Error::SignatureMismatch {
            canonical_request: canonical,
            string_to_sign: to_sign,
        });
    }
    Ok(Verified {
        principal,
        region: region.to_string(),
        service: service.to_string(),
        signed_at,
    })
}

/// The signature's parts from the `Authorization` header, else from the query.
fn claimed(request: &Request<'_>) -> Result<Claimed, SigV4Error> {
    if let Some(authorization) = request.header("authorization") {
        return from_header(request, authorization);
    }
    if request.query_param("X-Amz-Algorithm").is_some()
        || request.query_param("X-Amz-Signature").is_some()
    {
        return from_query(request);
    }
    Err(SigV4Error::MissingAuthentication)
}

fn from_header(request: &Request<'_>, authorization: &str) -> Result<Claimed, SigV4Error> {
    let authorization = authorization.trim();
    let (algorithm, rest) = authorization
        .split_once(char::is_whitespace)
        .unwrap_or((authorization, ""));
    if algorithm != ALGORITHM {
        return Err(SigV4Error::Incomplete(format!(
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization={authorization}"
        )));
    }
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((name, value)) = part.split_once('=') else {
            return Err(SigV4Error::Incomplete(format!(
                "Invalid key=value pair (missing equal-sign) in Authorization header: '{part}'."
            )));
        };
        match name.trim() {
            "Credential" => credential = Some(value.trim().to_string()),
            "SignedHeaders" => signed_headers = Some(value.trim().to_string()),
            "Signature" => signature = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let amz_date = request.header("x-amz-date").map(str::trim);
    let mut missing = Vec::new();
    if credential.is_none() {
        missing.push("Authorization header requires 'Credential' parameter.");
    }
    if signature.is_none() {
        missing.push("Authorization header requires 'Signature' parameter.");
    }
    if signed_headers.is_none() {
        missing.push("Authorization header requires 'SignedHeaders' parameter.");
    }
    if amz_date.is_none() {
        missing.push(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        );
    }
    match (credential, signed_headers, signature, amz_date) {
        (Some(credential), Some(signed_headers), Some(signature), Some(amz_date)) => Ok(Claimed {
            credential,
            signed_headers,
            signature,
            amz_date: amz_date.to_string(),
            session_token: request.header("x-amz-security-token").map(str::to_string),
            expires: None,
            presigned: false,
        }),
        _ => Err(SigV4Error::Incomplete(format!(
            "{} Authorization={authorization}",
            missing.join(" ")
        ))),
    }
}

fn from_query(request: &Request<'_>) -> Result<Claimed, SigV4Error> {
    let algorithm = request.query_param("X-Amz-Algorithm");
    if algorithm.as_deref() != Some(ALGORITHM) {
        return Err(SigV4Error::Incomplete(
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"".into(),
        ));
    }
    let required = |name: &str| {
        request.query_param(name).ok_or_else(|| {
            SigV4Error::Incomplete(format!(
                "AWS query-string parameters must include '{name}'. Re-examine the query-string parameters."
            ))
        })
    };
    let credential = required("X-Amz-Credential")?;
    let signed_headers = required("X-Amz-SignedHeaders")?;
    let signature = required("X-Amz-Signature")?;
    let amz_date = required("X-Amz-Date")?;
    let expires = match request.query_param("X-Amz-Expires") {
        None => None,
        Some(text) => match text.parse::<u64>() {
            Ok(secs) if (1..=MAX_EXPIRES_SECS).contains(&secs) => Some(secs),
            _ => {
                return Err(SigV4Error::Incomplete(format!(
                    "X-Amz-Expires must be an integer between 1 and {MAX_EXPIRES_SECS}, got '{text}'."
                )));
            }
        },
    };
    Ok(Claimed {
        credential,
        signed_headers,
        signature,
        amz_date,
        session_token: request.query_param("X-Amz-Security-Token"),
        expires,
        presigned: true,
    })
}

/// Within five minutes either way; a presigned request until `X-Amz-Expires` after its date.
fn check_time(claimed: &Claimed, signed_at: SystemTime, now: SystemTime) -> Result<(), SigV4Error> {
    let (valid_for, window) = match claimed.expires {
        Some(secs) => (Duration::from_secs(secs), format!("{secs} sec")),
        None => (TIME_WINDOW, "5 min".to_string()),
    };
    if signed_at + valid_for < now {
        return Err(SigV4Error::Expired {
            signed: claimed.amz_date.clone(),
            limit: format_amz_date(now.checked_sub(valid_for).unwrap_or(UNIX_EPOCH)),
            now: format_amz_date(now),
            window,
        });
    }
    if signed_at > now + TIME_WINDOW {
        return Err(SigV4Error::NotYetCurrent {
            signed: claimed.amz_date.clone(),
            limit: format_amz_date(now + TIME_WINDOW),
            now: format_amz_date(now),
        });
    }
    Ok(())
}
