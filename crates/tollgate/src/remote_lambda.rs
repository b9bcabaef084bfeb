//! Functions that are not local run on a remote Lambda-compatible endpoint
//! (`--remote-lambda-endpoint`): Lambda's `Invoke`
//! (`POST /2015-03-31/functions/{name}/invocations`) signed with AWS Signature Version 4 for the
//! service `lambda`, with the credentials of the standard `AWS_*` environment variables.
//!
//! The signer is the few lines SigV4 takes (SHA-256 and HMAC-SHA256 from RustCrypto); the
//! tests check it against AWS's published SigV4 test suite.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full, Limited};
use hyper::Uri;
use sha2::{Digest, Sha256};
use tollgate_admin::lambda::{RemoteCall, RemoteInvoker, RemoteOutcome};
use tollgate_gateway::integration::BackendClient;

/// Longest a remote invocation may take: Lambda's 15-minute limit, and some slack.
const TIMEOUT: Duration = Duration::from_secs(15 * 60 + 30);

/// Largest answer read from the remote (Lambda's responses are at most 6 MB).
const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// The credentials requests are signed with.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl Credentials {
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`; without them, the
    /// `test` / `test` that local AWS emulators accept.
    pub fn from_env() -> Self {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Self {
            access_key_id: var("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
            secret_access_key: var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
            session_token: var("AWS_SESSION_TOKEN"),
        }
    }
}

pub struct RemoteLambda {
    /// `http(s)://host[:port]`, without a trailing slash.
    endpoint: String,
    /// The endpoint's path prefix (usually empty), without a trailing slash.
    prefix: String,
    /// `host[:port]`, the `Host` header that is signed.
    authority: String,
    region: String,
    credentials: Credentials,
    client: BackendClient,
}

impl RemoteLambda {
    pub fn new(endpoint: &str, region: &str, credentials: Credentials) -> Result<Self, String> {
        let bad = |why: &str| format!("remote Lambda endpoint {endpoint:?}: {why}");
        let uri: Uri = endpoint.parse().map_err(|_| bad("not a URL"))?;
        let scheme = match uri.scheme_str() {
            Some(s @ ("http" | "https")) => s,
            _ => return Err(bad("must start with http:// or https://")),
        };
        let authority = uri.authority().ok_or_else(|| bad("has no host"))?.as_str();
        if uri.query().is_some() {
            return Err(bad("must not have a query"));
        }
        Ok(Self {
            endpoint: format!("{scheme}://{authority}"),
            prefix: uri.path().trim_end_matches('/').to_string(),
            authority: authority.to_string(),
            region: region.to_string(),
            credentials,
            client: BackendClient::new().map_err(|e| bad(&e.to_string()))?,
        })
    }

    /// `Invoke` on the remote endpoint; `Err` only when no answer came back.
    pub async fn invoke(&self, call: RemoteCall) -> Result<RemoteOutcome, String> {
        let path = format!(
            "{}/2015-03-31/functions/{}/invocations",
            self.prefix,
            uri_encode(&call.name, false)
        );
        let query: Vec<(&str, &str)> = call
            .qualifier
            .iter()
            .map(|q| ("Qualifier", q.as_str()))
            .collect();
        let query = canonical_query(&query);
        let amz_date = amz_date(SystemTime::now());
        let mut headers: Vec<(&str, &str)> = vec![
            ("content-type", "application/json"),
            ("host", &self.authority),
            ("x-amz-date", &amz_date),
            ("x-amz-invocation-type", &call.invocation_type),
        ];
        let optional = [
            ("x-amz-log-type", &call.log_type),
            ("x-amz-client-context", &call.client_context),
            ("x-amz-security-token", &self.credentials.session_token),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                headers.push((name, value));
            }
        }
        let authorization = authorization(
            &Signable {
                method: "POST",
                path: &path,
                query: &query,
                headers: &headers,
                payload: &call.payload,
            },
            &self.credentials,
            &self.region,
            "lambda",
            &amz_date,
        );
        let url = if query.is_empty() {
            format!("{}{path}", self.endpoint)
        } else {
            format!("{}{path}?{query}", self.endpoint)
        };
        let mut request = hyper::Request::post(url).header("authorization", authorization);
        for (name, value) in &headers {
            request = request.header(*name, *value);
        }
        // Not signed, as the AWS SDKs do not sign it: proxies may rewrite it.
        if let Some(trace_id) = &call.trace_id {
            request = request.header("x-amzn-trace-id", trace_id);
        }
        let request = request
            .body(Full::new(call.payload))
            .map_err(|e| e.to_string())?;

        let exchange = async {
            let response = self
                .client
                .client(false)
                .request(request)
                .await
                .map_err(|e| format!("{}: {e}", self.endpoint))?;
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let mut outcome = RemoteOutcome {
                status: response.status().as_u16(),
                function_error: header("x-amz-function-error"),
                executed_version: header("x-amz-executed-version"),
                log_result: header("x-amz-log-result"),
                error_type: header("x-amzn-errortype"),
                payload: Bytes::new(),
            };
            outcome.payload = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| format!("{}: reading the answer: {e}", self.endpoint))?
                .to_bytes();
            Ok(outcome)
        };
        tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| format!("{}: no answer within {TIMEOUT:?}", self.endpoint))?
    }
}

impl RemoteInvoker for RemoteLambda {
    fn invoke(
        &self,
        call: RemoteCall,
    ) -> Pin<Box<dyn Future<Output = Result<RemoteOutcome, String>> + Send + '_>> {
        Box::pin(RemoteLambda::invoke(self, call))
    }
}

// --- AWS Signature Version 4 ---------------------------------------------------------------

/// A request to sign. Every header in `headers` is signed; `host` and `x-amz-date` must be
/// among them. `path` is the path as sent (already percent-encoded) and `query` the query as
/// sent, which must be [`canonical_query`]'s.
struct Signable<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: &'a [(&'a str, &'a str)],
    payload: &'a [u8],
}

/// The `Authorization` header of a request at `amz_date` (`YYYYMMDDTHHMMSSZ`).
fn authorization(
    request: &Signable<'_>,
    credentials: &Credentials,
    region: &str,
    service: &str,
    amz_date: &str,
) -> String {
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| {
            let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
            (name.to_ascii_lowercase(), value)
        })
        .collect();
    headers.sort();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let path = if request.path.is_empty() {
        "/"
    } else {
        request.path
    };
    // Services other than S3 encode the (already encoded) path once more.
    let canonical_request = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{}",
        request.method,
        uri_encode(path, true),
        request.query,
        hex(&Sha256::digest(request.payload)),
    );
    let date = &amz_date[..8.min(amz_date.len())];
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let key = [date, region, service, "aws4_request"].iter().fold(
        format!("AWS4{}", credentials.secret_access_key).into_bytes(),
        |key, part| hmac_sha256(&key, part.as_bytes()),
    );
    let signature = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        credentials.access_key_id
    )
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SigV4's URI encoding: everything but the unreserved characters (and `/` where
/// `keep_slash`) as `%XX`.
fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The canonical query string: names and values encoded, sorted by name, then value. It is
/// also a valid query string to send.
fn canonical_query(pairs: &[(&str, &str)]) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `YYYYMMDDTHHMMSSZ` (UTC) for `X-Amz-Date`.
fn amz_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm, for dates after 1970).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The credentials, region, service and date of AWS's SigV4 test suite.
    fn suite(method: &str, path: &str, query: &[(&str, &str)]) -> String {
        let credentials = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let query = canonical_query(query);
        authorization(
            &Signable {
                method,
                path,
                query: &query,
                headers: &[
                    ("Host", "example.amazonaws.com"),
                    ("X-Amz-Date", "20150830T123600Z"),
                ],
                payload: b"",
            },
            &credentials,
            "us-east-1",
            "service",
            "20150830T123600Z",
        )
    }

    fn signature(authorization: &str) -> &str {
        authorization
            .rsplit("Signature=")
            .next()
            .unwrap_or_default()
    }

    #[test]
    fn get_vanilla() {
        assert_eq!(
            suite("GET", "/", &[]),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn post_vanilla() {
        assert_eq!(
            signature(&suite("POST", "/", &[])),
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        );
    }

    #[test]
    fn post_vanilla_query() {
        assert_eq!(
            signature(&suite("POST", "/", &[("Param1", "value1")])),
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"
        );
    }

    #[test]
    fn get_vanilla_query_order_key_case() {
        let query = [("Param2", "value2"), ("Param1", "value1")];
        assert_eq!(canonical_query(&query), "Param1=value1&Param2=value2");
        assert_eq!(
            signature(&suite("GET", "/", &query)),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    #[test]
    fn get_utf8() {
        assert_eq!(
            signature(&suite("GET", "/ሴ", &[])),
            "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"
        );
    }

    #[test]
    fn dates_are_utc_and_compact() {
        let at = |secs| amz_date(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(1_440_938_160), "20150830T123600Z");
        assert_eq!(at(951_782_400), "20000229T000000Z");
        assert_eq!(at(4_102_444_799), "20991231T235959Z");
        assert_eq!(at(0), "19700101T000000Z");
    }

    #[test]
    fn endpoints() {
        let creds = || Credentials {
            access_key_id: "a".into(),
            secret_access_key: "b".into(),
            session_token: None,
        };
        let remote = RemoteLambda::new("http://127.0.0.1:4567/", "us-east-1", creds());
        let remote = remote.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(remote.endpoint, "http://127.0.0.1:4567");
        assert_eq!(remote.authority, "127.0.0.1:4567");
        assert_eq!(remote.prefix, "");
        assert!(RemoteLambda::new("ftp://x", "us-east-1", creds()).is_err());
        assert!(RemoteLambda::new("not a url", "us-east-1", creds()).is_err());
    }
}
