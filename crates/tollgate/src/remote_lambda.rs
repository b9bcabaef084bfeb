//! Functions that are not local run on a remote Lambda-compatible endpoint
//! (`--remote-lambda-endpoint`): Lambda's `Invoke`
//! (`POST /2015-03-31/functions/{name}/invocations`) signed with AWS Signature Version 4 for the
//! service `lambda`, with the credentials of the standard `AWS_*` environment variables.
//!
//! The signer is `tollgate-iam`'s, which AWS's SigV4 test suite checks.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Uri;
use tollgate_admin::lambda::{RemoteCall, RemoteInvoker, RemoteOutcome};
use tollgate_gateway::integration::BackendClient;
use tollgate_iam::sigv4::encoding::{canonical_query_of_pairs, uri_encode};
use tollgate_iam::sigv4::{self, Signable, SigningParams};

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
        let query = canonical_query_of_pairs(&query);
        let mut headers: Vec<(&str, &str)> = vec![
            ("content-type", "application/json"),
            ("host", &self.authority),
            ("x-amz-invocation-type", &call.invocation_type),
        ];
        let optional = [
            ("x-amz-log-type", &call.log_type),
            ("x-amz-client-context", &call.client_context),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                headers.push((name, value));
            }
        }
        let signed = sigv4::sign(
            &Signable {
                method: "POST",
                path: &path,
                query: &query,
                headers: &headers,
                payload: &call.payload,
            },
            &SigningParams {
                access_key_id: &self.credentials.access_key_id,
                secret_access_key: &self.credentials.secret_access_key,
                session_token: self.credentials.session_token.as_deref(),
                region: &self.region,
                service: "lambda",
                time: SystemTime::now(),
            },
        );
        let url = if query.is_empty() {
            format!("{}{path}", self.endpoint)
        } else {
            format!("{}{path}?{query}", self.endpoint)
        };
        let mut request = hyper::Request::post(url);
        for (name, value) in &headers {
            request = request.header(*name, *value);
        }
        for (name, value) in &signed {
            request = request.header(*name, value);
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

#[cfg(test)]
mod tests {
    use super::*;

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
