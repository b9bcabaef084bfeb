//! `Invoke`: synchronous (`RequestResponse`), asynchronous (`Event`) and `DryRun`.
//!
//! Asynchronous invocations are accepted with 202 and run in the background. As Lambda does, a
//! failed one (function error, throttle, runtime failure) is retried twice; Lambda waits about
//! one and then two minutes, Tollgate waits [`EVENT_RETRY_DELAYS`] (1 s, then 2 s) so that local
//! runs and tests see the retries. There is no dead-letter queue or destination: an event that
//! fails three times is logged and dropped.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use tollgate_functions::{Functions, Invocation, InvokeError, InvokeOutcome, MAX_PAYLOAD_BYTES};
use tollgate_model::lambda::{LATEST, Qualifier};

use super::error::{LambdaError, LambdaResult};
use super::functions::{parse_name, qualifier_of};
use super::remote::{RemoteCall, RemoteInvoker};
use super::wire::read_body;
use crate::AppState;
use crate::wire::QueryParams;

/// Waits before the retries of a failed asynchronous invocation.
pub const EVENT_RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(2)];

/// Largest payload of an asynchronous invocation (Lambda: 1 MB).
const MAX_EVENT_PAYLOAD_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

fn invocation_type(headers: &HeaderMap) -> LambdaResult<InvocationType> {
    match header(headers, "x-amz-invocation-type").as_deref() {
        None | Some("RequestResponse") => Ok(InvocationType::RequestResponse),
        Some("Event") => Ok(InvocationType::Event),
        Some("DryRun") => Ok(InvocationType::DryRun),
        Some(other) => Err(LambdaError::Validation(format!(
            "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [RequestResponse, Event, DryRun]"
        ))),
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `POST /2015-03-31/functions/{name}/invocations` (Invoke).
pub async fn invoke(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    query: QueryParams,
    request: Request,
) -> LambdaResult<Response> {
    let function = parse_name(&raw)?;
    let qualifier = qualifier_of(&function, &query)?;
    let headers = request.headers().clone();
    let kind = invocation_type(&headers)?;
    let tail_log = match header(&headers, "x-amz-log-type").as_deref() {
        None | Some("None") => false,
        Some("Tail") => true,
        Some(other) => {
            return Err(LambdaError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]"
            )));
        }
    };
    let limit = match kind {
        InvocationType::Event => MAX_EVENT_PAYLOAD_BYTES,
        _ => MAX_PAYLOAD_BYTES,
    };
    let payload = read_body(request, limit, "InvokeFunction").await?;
    let payload = if payload.iter().all(u8::is_ascii_whitespace) {
        Bytes::from_static(b"{}")
    } else {
        serde_json::from_slice::<serde::de::IgnoredAny>(&payload).map_err(|e| {
            LambdaError::InvalidRequestContent(format!(
                "Could not parse request body into json: Could not parse payload into json: {e}"
            ))
        })?;
        payload
    };

    let name = function.name;
    let record = match state.function_record(&name).await {
        Ok(record) => record.value,
        Err(LambdaError::NotFound(message)) => {
            let Some(remote) = &state.remote_lambda else {
                return Err(LambdaError::NotFound(message));
            };
            let call = RemoteCall {
                name,
                qualifier,
                payload,
                invocation_type: header(&headers, "x-amz-invocation-type")
                    .unwrap_or_else(|| "RequestResponse".into()),
                log_type: header(&headers, "x-amz-log-type"),
                client_context: header(&headers, "x-amz-client-context"),
                trace_id: header(&headers, "x-amzn-trace-id"),
            };
            return forward(remote.as_ref(), call).await;
        }
        Err(e) => return Err(e),
    };
    let version = match Qualifier::parse(qualifier.as_deref()) {
        Qualifier::Latest => LATEST.to_string(),
        Qualifier::Version(_) => {
            let number = qualifier.as_deref().unwrap_or(LATEST);
            state.function_version(&name, number).await?.version
        }
        Qualifier::Alias(alias) => {
            let alias = state
                .alias(&name, alias)
                .await
                .map_err(|_| state.function_not_found(&name, Some(alias)))?
                .value;
            alias.pick_version(fastrand::f64()).to_string()
        }
    };
    if kind == InvocationType::DryRun {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let functions = state.functions.clone().ok_or_else(|| {
        LambdaError::Service("This Tollgate node has no function runtime.".into())
    })?;
    let invocation = Invocation {
        payload,
        client_context: header(&headers, "x-amz-client-context"),
        cognito_identity: None,
        trace_id: header(&headers, "x-amzn-trace-id"),
        tail_log,
    };
    match kind {
        InvocationType::Event => {
            tokio::spawn(run_event(functions, name, version, invocation));
            Ok(StatusCode::ACCEPTED.into_response())
        }
        _ => {
            if record.reserved_concurrency == Some(0) {
                return Err(throttled(
                    "ReservedFunctionConcurrentInvocationLimitExceeded",
                ));
            }
            let outcome = functions
                .invoke(&name, &version, invocation)
                .await
                .map_err(|e| invoke_error(&state, &name, &version, e))?;
            Ok(respond(outcome))
        }
    }
}

/// Invokes a function this node does not have on the remote endpoint, answering what it did.
async fn forward(remote: &dyn RemoteInvoker, call: RemoteCall) -> LambdaResult<Response> {
    let name = call.name.clone();
    match remote.invoke(call).await {
        Ok(outcome) => Ok(outcome.into_response()),
        Err(e) => {
            tracing::warn!(function = %name, error = %e, "remote invocation failed");
            Err(LambdaError::Service(format!(
                "The remote Lambda endpoint could not be reached: {e}"
            )))
        }
    }
}

fn throttled(reason: &'static str) -> LambdaError {
    LambdaError::TooManyRequests { reason }
}

fn invoke_error(state: &AppState, name: &str, version: &str, error: InvokeError) -> LambdaError {
    match error {
        InvokeError::NotFound(_) => {
            let qualifier = (version != LATEST).then_some(version);
            state.function_not_found(name, qualifier)
        }
        InvokeError::Throttled { reason } => throttled(reason),
        InvokeError::RequestTooLarge(m) => LambdaError::RequestTooLarge(m),
        InvokeError::Failed(m) => {
            tracing::warn!(function = %name, version, error = %m, "invocation failed");
            LambdaError::Service(m)
        }
    }
}

/// The 200 of a synchronous invocation: the payload, and what happened in the headers.
fn respond(outcome: InvokeOutcome) -> Response {
    let mut response = (StatusCode::OK, outcome.payload).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&outcome.executed_version) {
        headers.insert("x-amz-executed-version", v);
    }
    if let Some(error) = outcome.function_error
        && let Ok(v) = HeaderValue::from_str(&error)
    {
        headers.insert("x-amz-function-error", v);
    }
    if let Some(tail) = outcome.log_tail
        && let Ok(v) = HeaderValue::from_str(&BASE64.encode(tail))
    {
        headers.insert("x-amz-log-result", v);
    }
    response
}

/// Runs an asynchronous invocation with Lambda's retries (see the module documentation).
async fn run_event(
    functions: Arc<Functions>,
    name: String,
    version: String,
    invocation: Invocation,
) {
    let attempts = EVENT_RETRY_DELAYS.len() + 1;
    for attempt in 1..=attempts {
        let failure = match functions.invoke(&name, &version, invocation.clone()).await {
            Ok(outcome) => match outcome.function_error {
                None => return,
                Some(error) => format!("function error {error}"),
            },
            Err(InvokeError::NotFound(m)) => {
                tracing::warn!(function = %name, version, error = %m, "event dropped: function is gone");
                return;
            }
            Err(e) => e.to_string(),
        };
        match EVENT_RETRY_DELAYS.get(attempt - 1) {
            Some(delay) => {
                tracing::info!(function = %name, version, attempt, error = %failure, "asynchronous invocation failed; retrying");
                tokio::time::sleep(*delay).await;
            }
            None => {
                tracing::warn!(function = %name, version, attempts, error = %failure, "asynchronous invocation failed; event dropped");
            }
        }
    }
}
