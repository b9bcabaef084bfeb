//! Functions this node does not have can run on a remote Lambda-compatible endpoint: `Invoke`
//! of a function unknown here is forwarded whole (invocation type, log type, qualifier) and the
//! remote's answer (status, Lambda's headers, body) is returned as it is. The binary provides
//! the [`RemoteInvoker`] (a SigV4-signing client), so this crate does not depend on it.

use std::future::Future;
use std::pin::Pin;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// What runs an `Invoke` on the remote endpoint.
pub trait RemoteInvoker: Send + Sync {
    fn invoke(
        &self,
        call: RemoteCall,
    ) -> Pin<Box<dyn Future<Output = Result<RemoteOutcome, String>> + Send + '_>>;
}

/// One `Invoke`, as the remote receives it.
#[derive(Debug, Clone, Default)]
pub struct RemoteCall {
    pub name: String,
    /// `?Qualifier=`; none means `$LATEST`.
    pub qualifier: Option<String>,
    pub payload: Bytes,
    /// `X-Amz-Invocation-Type`: `RequestResponse`, `Event` or `DryRun`.
    pub invocation_type: String,
    /// `X-Amz-Log-Type`: `None` or `Tail`.
    pub log_type: Option<String>,
    /// `X-Amz-Client-Context`.
    pub client_context: Option<String>,
    /// `X-Amzn-Trace-Id`.
    pub trace_id: Option<String>,
}

/// What the remote answered: any status (200, 202, 204, or an error with its
/// `X-Amzn-ErrorType`), Lambda's headers and the body.
#[derive(Debug, Clone, Default)]
pub struct RemoteOutcome {
    pub status: u16,
    pub payload: Bytes,
    pub function_error: Option<String>,
    pub executed_version: Option<String>,
    /// `X-Amz-Log-Result` (base64), as the remote sent it.
    pub log_result: Option<String>,
    /// `X-Amzn-ErrorType` of an error answer.
    pub error_type: Option<String>,
}

impl RemoteOutcome {
    /// The management API's answer: the remote's status, headers and body.
    pub(crate) fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_GATEWAY);
        let has_body = !self.payload.is_empty();
        let mut response = (status, self.payload).into_response();
        let headers = response.headers_mut();
        if has_body {
            headers.insert("content-type", HeaderValue::from_static("application/json"));
        }
        insert(headers, "x-amz-function-error", self.function_error);
        insert(headers, "x-amz-executed-version", self.executed_version);
        insert(headers, "x-amz-log-result", self.log_result);
        insert(headers, "x-amzn-errortype", self.error_type);
        response
    }
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: Option<String>) {
    if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert(name, v);
    }
}
