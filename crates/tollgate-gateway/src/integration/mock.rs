//! `MOCK`: no backend. The request template renders a JSON object whose `statusCode` is what
//! the integration "answered"; the integration responses do the rest.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{HeaderMap, Response};
use tollgate_plan::{IntegrationPlan, template_for};

use super::respond::{IntegrationAnswer, respond};
use crate::context::RequestInfo;
use crate::error::GatewayError;

pub fn run(
    plan: &IntegrationPlan,
    request: &RequestInfo<'_>,
) -> Result<Response<Full<Bytes>>, GatewayError> {
    let status = match template_for(&plan.request_templates, request.header("content-type")) {
        Some(t) => {
            let mut ctx = request.template_context(&request.body);
            let rendered = t
                .template
                .render(&mut ctx, &tollgate_vtl::Limits::default())
                .map_err(|e| GatewayError::Internal(format!("request template failed: {e}")))?;
            status_of(&rendered)?
        }
        None => 200,
    };
    respond(
        plan,
        request,
        IntegrationAnswer {
            selector: Some(status.to_string()),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        },
    )
}

/// The `statusCode` of a rendered MOCK request template.
fn status_of(rendered: &str) -> Result<u16, GatewayError> {
    let value: serde_json::Value = serde_json::from_str(rendered)
        .map_err(|e| GatewayError::Internal(format!("MOCK request template is not JSON: {e}")))?;
    let code = value.get("statusCode").ok_or_else(|| {
        GatewayError::Internal("MOCK request template has no statusCode".to_string())
    })?;
    code.as_u64()
        .or_else(|| code.as_str().and_then(|s| s.parse().ok()))
        .and_then(|c| u16::try_from(c).ok())
        .ok_or_else(|| {
            GatewayError::Internal(format!("invalid statusCode in MOCK template: {code}"))
        })
}

#[cfg(test)]
mod tests {
    use super::status_of;

    #[test]
    fn status_codes_are_read_from_numbers_or_strings() {
        assert_eq!(status_of("{\"statusCode\": 200}"), Ok(200));
        assert_eq!(status_of("{\"statusCode\": \"404\"}"), Ok(404));
        assert!(status_of("{}").is_err());
        assert!(status_of("nope").is_err());
    }
}
