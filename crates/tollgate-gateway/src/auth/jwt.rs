//! JSON Web Token verification against an OpenID issuer's published keys.
//!
//! [`JwtVerifier::verify`] checks a compact JWS token the way API Gateway's JWT authorizers do:
//!
//! - the signature, RSA only (`RS256`, `RS384`, `RS512`), with the key named by the header's
//!   `kid` from the issuer's JWKS. The JWKS is found by OIDC discovery
//!   (`{issuer}/.well-known/openid-configuration` → `jwks_uri`), fetched with the gateway's
//!   backend client (1.5 s, at most 150,000 bytes, as AWS), cached per issuer, and fetched
//!   again when a token names a `kid` the cache does not have (at most once per
//!   [`REFRESH_INTERVAL`] per issuer, so garbage tokens cannot make it hammer the issuer);
//! - `iss` equal to the configured issuer; `aud` containing one of the configured audiences,
//!   or, without `aud`, `client_id` equal to one; `exp` in the future, `nbf` and `iat` not in
//!   the future (with [`LEEWAY`]);
//! - when the rules name scopes, at least one of them in the token's `scope` (space-separated)
//!   or `scp` (string or list) claim.
//!
//! Failures are [`JwtError`]s: [`JwtError::MissingScope`] is a 403 for API Gateway, every other
//! one a 401.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use serde_json::{Map, Value};

use crate::integration::client::HttpClient;

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY: Duration = Duration::from_secs(0);
/// How long a key-set fetch may take (AWS: 1500 ms).
pub const FETCH_TIMEOUT: Duration = Duration::from_millis(1500);
/// Largest JWKS or discovery document read (AWS: 150,000 bytes).
pub const MAX_DOCUMENT_BYTES: usize = 150_000;
/// An issuer's keys are fetched again for an unknown `kid` at most this often.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// Keys are fetched again after this long even when every `kid` is known.
pub const MAX_KEY_AGE: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("no token")]
    Missing,
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("unsupported signing algorithm {0}")]
    UnsupportedAlgorithm(String),
    #[error("no key {0} in the issuer's JWKS")]
    UnknownKey(String),
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the token expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued in the future")]
    IssuedInFuture,
    #[error("the token's issuer is not {0}")]
    WrongIssuer(String),
    #[error("the token's audience is not one of the allowed ones")]
    WrongAudience,
    #[error("the token has none of the route's scopes")]
    MissingScope,
    #[error("the issuer's keys cannot be fetched: {0}")]
    Keys(String),
}

/// What a token must satisfy.
pub struct JwtRules<'a> {
    pub issuer: &'a str,
    pub audience: &'a [String],
    /// The route's scopes; empty: no scope needed.
    pub scopes: &'a [String],
    /// Where the issuer's keys are, when known (Cognito user pools publish them at
    /// `{issuer}/.well-known/jwks.json`); `None`: found by OIDC discovery.
    pub jwks_uri: Option<&'a str>,
    /// Accept any audience (Cognito authorizers of REST APIs do not name app clients).
    pub any_audience: bool,
}

/// A verified token's claims, and its scopes.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    pub claims: Map<String, Value>,
    pub scopes: Vec<String>,
}

/// One RSA public key.
struct RsaKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

struct KeySet {
    keys: HashMap<String, Arc<RsaKey>>,
    fetched: Instant,
}

/// Verifies tokens; keeps each issuer's keys. Cheap to share (`Arc`).
pub struct JwtVerifier {
    client: HttpClient,
    keys: Mutex<HashMap<String, Arc<KeySet>>>,
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn decode_part(part: &str) -> Result<Vec<u8>, JwtError> {
    B64URL
        .decode(part.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed("a part is not base64url"))
}

fn numeric(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, JwtError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or(JwtError::Malformed("a time claim is not a number")),
        Some(_) => Err(JwtError::Malformed("a time claim is not a number")),
    }
}

/// The token's scopes: `scope` (space-separated) and `scp` (a string or a list).
fn scopes_of(claims: &Map<String, Value>) -> Vec<String> {
    let mut scopes = Vec::new();
    for name in ["scope", "scp"] {
        match claims.get(name) {
            Some(Value::String(s)) => scopes.extend(s.split_whitespace().map(String::from)),
            Some(Value::Array(items)) => {
                scopes.extend(items.iter().filter_map(Value::as_str).map(String::from))
            }
            _ => {}
        }
    }
    scopes
}

/// Checks the claims of a token whose signature verified.
pub fn check_claims(
    claims: &Map<String, Value>,
    rules: &JwtRules<'_>,
    now: i64,
) -> Result<Vec<String>, JwtError> {
    if claims.get("iss").and_then(Value::as_str) != Some(rules.issuer) {
        return Err(JwtError::WrongIssuer(rules.issuer.to_string()));
    }
    let allowed = |v: &str| rules.audience.iter().any(|a| a == v);
    let audience_ok = rules.any_audience
        || match claims.get("aud") {
            Some(Value::String(a)) => allowed(a),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).any(allowed),
            _ => claims
                .get("client_id")
                .and_then(Value::as_str)
                .is_some_and(allowed),
        };
    if !audience_ok {
        return Err(JwtError::WrongAudience);
    }
    let leeway = LEEWAY.as_secs() as i64;
    match numeric(claims, "exp")? {
        Some(exp) if exp + leeway > now => {}
        _ => return Err(JwtError::Expired),
    }
    if numeric(claims, "nbf")?.is_some_and(|nbf| nbf - leeway > now) {
        return Err(JwtError::NotYetValid);
    }
    if numeric(claims, "iat")?.is_some_and(|iat| iat - leeway > now) {
        return Err(JwtError::IssuedInFuture);
    }
    let scopes = scopes_of(claims);
    if !rules.scopes.is_empty() && !rules.scopes.iter().any(|s| scopes.contains(s)) {
        return Err(JwtError::MissingScope);
    }
    Ok(scopes)
}

fn algorithm(alg: &str) -> Result<&'static ring::signature::RsaParameters, JwtError> {
    match alg {
        "RS256" => Ok(&ring::signature::RSA_PKCS1_2048_8192_SHA256),
        "RS384" => Ok(&ring::signature::RSA_PKCS1_2048_8192_SHA384),
        "RS512" => Ok(&ring::signature::RSA_PKCS1_2048_8192_SHA512),
        other => Err(JwtError::UnsupportedAlgorithm(other.to_string())),
    }
}

/// The parts of a compact token: header, claims, signed message, signature.
struct Parsed<'t> {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    message: &'t str,
    signature: Vec<u8>,
}

fn parse(token: &str) -> Result<Parsed<'_>, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("not three parts"));
    };
    let object = |bytes: Vec<u8>| -> Result<Map<String, Value>, JwtError> {
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(JwtError::Malformed("a part is not a JSON object")),
        }
    };
    Ok(Parsed {
        header: object(decode_part(h)?)?,
        claims: object(decode_part(c)?)?,
        message: &token[..h.len() + 1 + c.len()],
        signature: decode_part(s)?,
    })
}

/// The RSA keys of a JWKS document, by `kid` (other key types are skipped).
fn parse_jwks(document: &[u8]) -> Result<HashMap<String, Arc<RsaKey>>, JwtError> {
    let value: Value = serde_json::from_slice(document)
        .map_err(|e| JwtError::Keys(format!("JWKS is not JSON: {e}")))?;
    let keys = value
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| JwtError::Keys("JWKS has no keys".into()))?;
    let mut out = HashMap::new();
    for key in keys {
        let text = |name: &str| key.get(name).and_then(Value::as_str);
        if text("kty") != Some("RSA") || text("use").is_some_and(|u| u != "sig") {
            continue;
        }
        let (Some(kid), Some(n), Some(e)) = (text("kid"), text("n"), text("e")) else {
            continue;
        };
        let (Ok(n), Ok(e)) = (decode_part(n), decode_part(e)) else {
            continue;
        };
        out.insert(kid.to_string(), Arc::new(RsaKey { n, e }));
    }
    Ok(out)
}

impl JwtVerifier {
    /// A verifier that fetches keys with `client`.
    pub fn new(client: HttpClient) -> Self {
        Self {
            client,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Verifies `token` (a leading `Bearer ` is ignored) against `rules`.
    pub async fn verify(&self, token: &str, rules: &JwtRules<'_>) -> Result<Claims, JwtError> {
        let token = token.trim();
        let token = token
            .strip_prefix("Bearer ")
            .or_else(|| token.strip_prefix("bearer "))
            .unwrap_or(token)
            .trim();
        if token.is_empty() {
            return Err(JwtError::Missing);
        }
        let parsed = parse(token)?;
        let alg = parsed
            .header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(JwtError::Malformed("no alg"))?;
        let params = algorithm(alg)?;
        let kid = parsed
            .header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or(JwtError::Malformed("no kid"))?;
        let key = self.key(rules.issuer, rules.jwks_uri, kid).await?;
        ring::signature::RsaPublicKeyComponents {
            n: &key.n,
            e: &key.e,
        }
        .verify(params, parsed.message.as_bytes(), &parsed.signature)
        .map_err(|_| JwtError::BadSignature)?;
        let scopes = check_claims(&parsed.claims, rules, now_seconds())?;
        Ok(Claims {
            claims: parsed.claims,
            scopes,
        })
    }

    /// The issuer's key `kid`, fetching the key set when it is not cached, too old, or lacks
    /// the key (rate-limited).
    async fn key(
        &self,
        issuer: &str,
        jwks_uri: Option<&str>,
        kid: &str,
    ) -> Result<Arc<RsaKey>, JwtError> {
        let cached = self
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(issuer)
            .cloned();
        if let Some(set) = &cached {
            let fresh = set.fetched.elapsed() < MAX_KEY_AGE;
            if let Some(key) = set.keys.get(kid).filter(|_| fresh) {
                return Ok(Arc::clone(key));
            }
            if fresh && set.fetched.elapsed() < REFRESH_INTERVAL {
                return Err(JwtError::UnknownKey(kid.to_string()));
            }
        }
        let keys = match jwks_uri {
            Some(uri) => parse_jwks(&self.fetch(uri).await?)?,
            None => self.fetch_keys(issuer).await?,
        };
        let set = Arc::new(KeySet {
            keys,
            fetched: Instant::now(),
        });
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(issuer.to_string(), Arc::clone(&set));
        set.keys
            .get(kid)
            .cloned()
            .ok_or_else(|| JwtError::UnknownKey(kid.to_string()))
    }

    async fn fetch_keys(&self, issuer: &str) -> Result<HashMap<String, Arc<RsaKey>>, JwtError> {
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let discovery = self.fetch(&discovery_url).await?;
        let discovery: Value = serde_json::from_slice(&discovery)
            .map_err(|e| JwtError::Keys(format!("{discovery_url} is not JSON: {e}")))?;
        let jwks_uri = discovery
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| JwtError::Keys(format!("{discovery_url} has no jwks_uri")))?;
        parse_jwks(&self.fetch(jwks_uri).await?)
    }

    async fn fetch(&self, url: &str) -> Result<Bytes, JwtError> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| JwtError::Keys(format!("invalid URL {url}: {e}")))?;
        let mut request = hyper::Request::new(Full::new(Bytes::new()));
        *request.uri_mut() = uri;
        let call = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| JwtError::Keys(format!("{url}: {e}")))?;
            if !response.status().is_success() {
                return Err(JwtError::Keys(format!(
                    "{url} answered {}",
                    response.status()
                )));
            }
            Limited::new(response.into_body(), MAX_DOCUMENT_BYTES)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .map_err(|e| JwtError::Keys(format!("{url}: {e}")))
        };
        tokio::time::timeout(FETCH_TIMEOUT, call)
            .await
            .map_err(|_| JwtError::Keys(format!("{url} did not answer in time")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn rules<'a>(audience: &'a [String], scopes: &'a [String]) -> JwtRules<'a> {
        JwtRules {
            issuer: "https://issuer",
            audience,
            scopes,
            jwks_uri: None,
            any_audience: false,
        }
    }

    #[test]
    fn claims_are_checked_as_api_gateway_does() {
        let aud = vec!["app".to_string()];
        let none: Vec<String> = vec![];
        let read = vec!["read".to_string(), "admin".to_string()];
        let good = json!({"iss": "https://issuer", "aud": "app", "exp": 200, "iat": 50, "nbf": 50, "scope": "read write"});
        assert_eq!(
            check_claims(&claims(good.clone()), &rules(&aud, &read), 100).unwrap(),
            vec!["read", "write"]
        );
        let with = |patch: Value| {
            let mut c = claims(good.clone());
            for (k, v) in patch.as_object().unwrap() {
                if v.is_null() {
                    c.remove(k);
                } else {
                    c.insert(k.clone(), v.clone());
                }
            }
            check_claims(&c, &rules(&aud, &none), 100)
        };
        assert_eq!(
            with(json!({"iss": "https://other"})),
            Err(JwtError::WrongIssuer("https://issuer".into()))
        );
        assert_eq!(with(json!({"aud": "other"})), Err(JwtError::WrongAudience));
        assert!(with(json!({"aud": ["x", "app"]})).is_ok());
        assert!(with(json!({"aud": null, "client_id": "app"})).is_ok());
        assert_eq!(
            with(json!({"aud": null, "client_id": "x"})),
            Err(JwtError::WrongAudience)
        );
        assert_eq!(with(json!({"exp": 100})), Err(JwtError::Expired));
        assert_eq!(with(json!({"exp": null})), Err(JwtError::Expired));
        assert_eq!(with(json!({"nbf": 101})), Err(JwtError::NotYetValid));
        assert_eq!(with(json!({"iat": 101})), Err(JwtError::IssuedInFuture));
        let admin = vec!["admin".to_string()];
        assert_eq!(
            check_claims(&claims(good.clone()), &rules(&aud, &admin), 100),
            Err(JwtError::MissingScope)
        );
        let scp = json!({"iss": "https://issuer", "aud": "app", "exp": 200, "scp": ["admin"]});
        assert!(check_claims(&claims(scp), &rules(&aud, &admin), 100).is_ok());
    }

    #[test]
    fn tokens_parse_into_parts() {
        let h = B64URL.encode(br#"{"alg":"RS256","kid":"k"}"#);
        let c = B64URL.encode(br#"{"sub":"x"}"#);
        let token = format!("{h}.{c}.c2ln");
        let parsed = parse(&token).unwrap();
        assert_eq!(parsed.header["kid"], "k");
        assert_eq!(parsed.message, format!("{h}.{c}"));
        assert_eq!(parsed.signature, b"sig");
        assert!(parse("a.b").is_err());
        assert!(parse("!!.b.c").is_err());
        assert_eq!(
            algorithm("HS256").unwrap_err(),
            JwtError::UnsupportedAlgorithm("HS256".into())
        );
    }

    #[test]
    fn jwks_keep_rsa_signing_keys() {
        let doc = json!({"keys": [
            {"kty": "RSA", "kid": "a", "n": "AQAB", "e": "AQAB", "use": "sig"},
            {"kty": "EC", "kid": "b", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "c", "n": "AQAB", "e": "AQAB", "use": "enc"}
        ]});
        let keys = parse_jwks(doc.to_string().as_bytes()).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["a"]);
        assert!(parse_jwks(b"{}").is_err());
    }
}
