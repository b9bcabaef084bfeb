//! The integrations of HTTP APIs: `HTTP_PROXY` (the request, after parameter mapping, to an
//! HTTP backend; its answer back as it is) and `AWS_PROXY` to a function (payload 2.0 or 1.0).

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, Uri};
use percent_encoding::utf8_percent_encode;
use tollgate_plan::http_api::{HttpIntegrationPlan, PayloadVersion};

use super::error::HttpApiError;
use super::mapping::Outgoing;
use super::request::HttpRequest;
use crate::integration::BackendClient;
use crate::integration::client::{AnswerHeaders, CallError};
use crate::integration::http::{
    MAX_RESPONSE_BYTES, QUERY_VALUE, append_forwarded_for, strip_hop_by_hop,
};
use crate::integration::lambda::{FunctionCall, FunctionCallError, FunctionInvoker};

/// `${stageVariables.x}` and `{param}` / `{proxy}` in an integration URI.
fn substitute(template: &str, request: &HttpRequest<'_>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let dollar = start > 0 && rest.as_bytes()[start - 1] == b'$';
        let name = &rest[start + 1..start + len];
        let value = match name.strip_prefix("stageVariables.") {
            Some(var) if dollar => request.stage_variables().get(var).cloned(),
            _ => request
                .raw_path_params
                .iter()
                .find(|(n, _)| n == name.strip_suffix('+').unwrap_or(name))
                .map(|(_, v)| v.clone()),
        };
        let prefix_end = if dollar { start - 1 } else { start };
        out.push_str(&rest[..prefix_end]);
        match value {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[prefix_end..=start + len]),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

fn backend_uri(
    template: &str,
    request: &HttpRequest<'_>,
    outgoing: &Outgoing,
) -> Result<Uri, HttpApiError> {
    let base: Uri = substitute(template, request)
        .parse()
        .map_err(|e| HttpApiError::Internal(format!("invalid integration URI {template}: {e}")))?;
    let (Some(scheme), Some(authority)) = (base.scheme_str(), base.authority()) else {
        return Err(HttpApiError::Internal(format!(
            "invalid integration URI {template}"
        )));
    };
    let path = match &outgoing.path {
        Some(p) if p.starts_with('/') => p.clone(),
        Some(p) => format!("/{p}"),
        None => base.path().to_string(),
    };
    let mut query: Vec<String> = base.query().map(String::from).into_iter().collect();
    match &outgoing.query {
        Some(pairs) => query.extend(pairs.iter().map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, QUERY_VALUE),
                utf8_percent_encode(v, QUERY_VALUE)
            )
        })),
        None => query.extend(request.raw_query.clone().filter(|q| !q.is_empty())),
    }
    let mut uri = format!("{scheme}://{authority}{path}");
    if !query.is_empty() {
        uri.push('?');
        uri.push_str(&query.join("&"));
    }
    uri.parse()
        .map_err(|e| HttpApiError::Internal(format!("invalid backend URI {uri}: {e}")))
}

pub async fn http_proxy(
    client: &BackendClient,
    plan: &HttpIntegrationPlan,
    (template, method): (&str, &str),
    request: &HttpRequest<'_>,
    outgoing: Outgoing,
) -> Result<Response<Full<Bytes>>, HttpApiError> {
    let uri = backend_uri(template, request, &outgoing)?;
    let method = if method == "ANY" {
        request.method.as_str()
    } else {
        method
    };
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|e| HttpApiError::Internal(format!("integration method: {e}")))?;
    let mut headers = outgoing.headers;
    strip_hop_by_hop(&mut headers);
    append_forwarded_for(&mut headers, &request.source_ip, request.scheme);
    let mut backend_request = Request::new(request.body.clone());
    *backend_request.method_mut() = method;
    *backend_request.uri_mut() = uri;
    *backend_request.headers_mut() = headers;
    let (parts, body) = client
        .call(
            backend_request,
            false,
            plan.timeout,
            MAX_RESPONSE_BYTES,
            AnswerHeaders::EndToEnd,
        )
        .await
        .map_err(|e| match e {
            CallError::Network(e) => HttpApiError::Internal(format!("backend unreachable: {e}")),
            CallError::Body(e) => HttpApiError::Internal(format!("backend response body: {e}")),
            CallError::Timeout => HttpApiError::Timeout,
        })?;
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = parts.status;
    *response.headers_mut() = parts.headers;
    Ok(response)
}

/// Invokes a function with `payload`, within `timeout`.
pub async fn invoke(
    functions: &dyn FunctionInvoker,
    function_arn: &str,
    payload: Vec<u8>,
    timeout: std::time::Duration,
) -> Result<Bytes, HttpApiError> {
    let (name, qualifier) = crate::integration::lambda::function_of_arn(function_arn)
        .ok_or_else(|| HttpApiError::Internal(format!("invalid function ARN {function_arn}")))?;
    let call = functions.invoke(FunctionCall {
        name,
        qualifier,
        payload: Bytes::from(payload),
        trace_id: None,
    });
    let outcome = tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| HttpApiError::Timeout)?
        .map_err(|e| match e {
            FunctionCallError::NotFound(m) => {
                HttpApiError::Internal(format!("function not found: {m}"))
            }
            FunctionCallError::Throttled(_) => HttpApiError::Throttled,
            FunctionCallError::Failed(m) => {
                HttpApiError::Internal(format!("invocation failed: {m}"))
            }
        })?;
    if let Some(kind) = outcome.function_error {
        return Err(HttpApiError::Internal(format!(
            "function error ({kind}): {}",
            String::from_utf8_lossy(&outcome.payload)
        )));
    }
    Ok(outcome.payload)
}

pub async fn lambda_proxy(
    functions: &dyn FunctionInvoker,
    plan: &HttpIntegrationPlan,
    (function_arn, version): (&str, PayloadVersion),
    request: &HttpRequest<'_>,
) -> Result<Response<Full<Bytes>>, HttpApiError> {
    let event = match version {
        PayloadVersion::V2 => serde_json::Value::Object(super::event::event_v2(request)),
        PayloadVersion::V1 => super::event::event_v1(request),
    };
    let payload = serde_json::to_vec(&event).map_err(|e| HttpApiError::Internal(e.to_string()))?;
    let function_arn = substitute(function_arn, request);
    let result = invoke(functions, &function_arn, payload, plan.timeout).await?;
    let response = match version {
        PayloadVersion::V2 => super::event::response_v2(&result),
        PayloadVersion::V1 => crate::integration::lambda::parse_response(&result),
    };
    response.ok_or_else(|| {
        HttpApiError::Internal(format!(
            "malformed Lambda proxy response: {}",
            String::from_utf8_lossy(&result)
        ))
    })
}
