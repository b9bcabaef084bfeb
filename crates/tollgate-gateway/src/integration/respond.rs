//! Turning a non-proxy integration's answer into the method response: select the integration
//! response, map headers, render the response template (or pass the body through).

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{HeaderMap, Response, StatusCode};
use tollgate_plan::{IntegrationPlan, Source, template_for};

use crate::context::RequestInfo;
use crate::error::GatewayError;

/// What a non-proxy integration answered.
pub struct IntegrationAnswer {
    /// What `selectionPattern`s are matched against: the backend's status code as text.
    /// `None`: a Lambda integration that succeeded, which takes the default response.
    pub selector: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub fn respond(
    plan: &IntegrationPlan,
    request: &RequestInfo<'_>,
    answer: IntegrationAnswer,
) -> Result<Response<Full<Bytes>>, GatewayError> {
    let selected = match &answer.selector {
        Some(selector) => plan.select_response(selector),
        None => plan.default_only(),
    };
    let selected = selected.ok_or_else(|| {
        GatewayError::Internal(format!(
            "No match for output mapping and no default output mapping configured. Endpoint Response Status Code: {}",
            answer.selector.as_deref().unwrap_or("(success)")
        ))
    })?;
    let answer_type = answer
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let binary = tollgate_plan::is_binary(answer_type, request.binary_media_types);
    let answer = IntegrationAnswer {
        body: super::convert(selected.content_handling, binary, &answer.body),
        ..answer
    };
    let accept = request.header("accept").filter(|a| !a.contains('*'));
    let template = template_for(&selected.templates, accept)
        .or_else(|| template_for(&selected.templates, None))
        .or_else(|| selected.templates.first());
    let mut overrides = None;
    let (body, content_type) = match template {
        Some(t) => {
            let (mut ctx, o) = request.template_context_with_overrides(&answer.body);
            let rendered = t
                .template
                .render(&mut ctx, &tollgate_vtl::Limits::default())
                .map_err(|e| GatewayError::Internal(format!("response template failed: {e}")))?;
            overrides = Some(o);
            (Bytes::from(rendered), t.content_type.clone())
        }
        None => {
            let content_type = answer
                .headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/json")
                .to_string();
            (answer.body.clone(), content_type)
        }
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() =
        StatusCode::from_u16(selected.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        headers.insert(CONTENT_TYPE, v);
    }
    // The answer's body as JSON, parsed once for every `integration.response.body.<path>`.
    let body_json: std::cell::OnceCell<Option<serde_json::Value>> = std::cell::OnceCell::new();
    for (name, source) in &selected.headers {
        let value = match source {
            Source::IntegrationHeader(n) => answer
                .headers
                .get(n.as_str())
                .and_then(|v| v.to_str().ok())
                .map(String::from),
            Source::IntegrationMultiValueHeader(n) => {
                let all: Vec<&str> = answer
                    .headers
                    .get_all(n.as_str())
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect();
                (!all.is_empty()).then(|| all.join(","))
            }
            Source::IntegrationBody => Some(String::from_utf8_lossy(&answer.body).into_owned()),
            Source::IntegrationBodyPath(path) => body_json
                .get_or_init(|| serde_json::from_slice(&answer.body).ok())
                .as_ref()
                .and_then(|doc| path.path.eval(doc).into_value())
                .map(|v| match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                }),
            other => request.source(other),
        };
        let (Some(value), Ok(name)) = (value, HeaderName::try_from(name.as_str())) else {
            continue;
        };
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    // `$context.responseOverride` wins over the integration response.
    if let Some(overrides) = overrides {
        if let Some(status) = overrides
            .response_status()
            .and_then(|s| StatusCode::from_u16(s).ok())
        {
            *response.status_mut() = status;
        }
        for (name, value) in overrides.response_headers() {
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::from_str(&value),
            ) {
                response.headers_mut().insert(name, value);
            }
        }
    }
    Ok(response)
}
