//! Routing on a WebSocket connection: `$connect` when it opens, a route chosen by the
//! selection expression for each message, `$disconnect` when it closes; and the integrations
//! those routes run (`MOCK`, `AWS_PROXY`, `AWS` to Lambda, `HTTP`, `HTTP_PROXY`) with their
//! request templates and integration responses.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tollgate_plan::websocket::{TemplateChoice, WsIntegrationPlan, WsRoutePlan, WsTarget};
use tollgate_vtl::Value as VtlValue;

use super::Runtime;
use super::connection::{ConnectRequest, Connection, MAX_MESSAGE_BYTES, Reply};
use super::event::{EventKind, event};
use crate::integration::lambda::{FunctionCall, FunctionCallError};
use tollgate_telemetry::WsOutcome;

/// What an integration answered: a status, maybe a body to send back, and (on `$connect`)
/// headers for the handshake response.
#[derive(Debug, Default)]
pub struct Outcome {
    pub status: u16,
    pub body: Option<Vec<u8>>,
    pub headers: Vec<(String, String)>,
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The value of `$request.body.a.b`, `$context.x` or `$stageVariables.x` for a message.
fn lookup(
    connection: &Connection,
    route_key: &str,
    body: Option<&Value>,
    name: &str,
) -> Option<String> {
    if let Some(path) = name.strip_prefix("request.body") {
        let mut value = body?;
        for part in path.split('.').filter(|p| !p.is_empty()) {
            value = value.get(part)?;
        }
        return match value {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
    }
    if let Some(variable) = name.strip_prefix("stageVariables.") {
        return connection.plan.stage_variables.get(variable).cloned();
    }
    Some(match name.strip_prefix("context.")? {
        "connectionId" => connection.id.clone(),
        "routeKey" => route_key.to_string(),
        "apiId" => connection.api_id.clone(),
        "stage" => connection.stage.clone(),
        "domainName" => connection.domain_name.clone(),
        "connectedAt" => connection.connected_at.to_string(),
        "identity.sourceIp" => connection.source_ip.clone(),
        _ => return None,
    })
}

/// A template context: `$input` over `body`, `$context` and `$stageVariables`.
fn template_context(
    connection: &Connection,
    route_key: &str,
    kind: &EventKind<'_>,
    request_id: &str,
    body: &[u8],
) -> tollgate_vtl::Context {
    let mut ctx = tollgate_vtl::Context::new();
    tollgate_mapping::bind(
        &mut ctx,
        Arc::new(tollgate_mapping::RequestData {
            body: body.to_vec(),
            ..Default::default()
        }),
    );
    let mut entries = vec![
        ("connectionId", VtlValue::from(connection.id.as_str())),
        ("routeKey", VtlValue::from(route_key)),
        ("eventType", VtlValue::from(kind.name())),
        ("requestId", VtlValue::from(request_id)),
        ("extendedRequestId", VtlValue::from(request_id)),
        ("apiId", VtlValue::from(connection.api_id.as_str())),
        ("stage", VtlValue::from(connection.stage.as_str())),
        (
            "domainName",
            VtlValue::from(connection.domain_name.as_str()),
        ),
        (
            "connectedAt",
            VtlValue::from(connection.connected_at.to_string().as_str()),
        ),
        (
            "identity",
            VtlValue::map([("sourceIp", VtlValue::from(connection.source_ip.as_str()))]),
        ),
    ];
    if let EventKind::Message { message_id, .. } = kind {
        entries.push(("messageId", VtlValue::from(*message_id)));
    }
    ctx.insert("context", VtlValue::map(entries));
    ctx.insert(
        "stageVariables",
        VtlValue::map(
            connection
                .plan
                .stage_variables
                .iter()
                .map(|(k, v)| (k.clone(), VtlValue::from(v.as_str()))),
        ),
    );
    ctx
}

fn render(
    template: &tollgate_vtl::Template,
    mut ctx: tollgate_vtl::Context,
) -> Result<String, String> {
    template
        .render(&mut ctx, &tollgate_vtl::Limits::default())
        .map_err(|e| format!("mapping template failed: {e}"))
}

async fn invoke(
    runtime: &Runtime,
    function_arn: &str,
    payload: Vec<u8>,
    plan: &WsIntegrationPlan,
) -> Result<Bytes, String> {
    let functions = runtime
        .functions
        .as_ref()
        .ok_or("no function runtime on this node")?;
    let (name, qualifier) = crate::integration::lambda::function_of_arn(function_arn)
        .ok_or_else(|| format!("invalid function ARN {function_arn}"))?;
    let call = functions.invoke(FunctionCall {
        name,
        qualifier,
        payload: Bytes::from(payload),
        trace_id: None,
    });
    let result = tokio::time::timeout(plan.timeout, call)
        .await
        .map_err(|_| "integration timed out".to_string())?
        .map_err(|e| match e {
            FunctionCallError::NotFound(m) => format!("function not found: {m}"),
            FunctionCallError::Throttled(m) => format!("function throttled: {m}"),
            FunctionCallError::Failed(m) => format!("invocation failed: {m}"),
        })?;
    if let Some(kind) = result.function_error {
        return Err(format!(
            "function error ({kind}): {}",
            String::from_utf8_lossy(&result.payload)
        ));
    }
    Ok(result.payload)
}

/// A Lambda proxy answer: `{statusCode, headers, body, isBase64Encoded}`, or anything else as
/// the body with status 200.
fn proxy_outcome(payload: &[u8]) -> Outcome {
    let parsed: Option<Value> = serde_json::from_slice(payload).ok();
    let Some(Value::Object(object)) = parsed.as_ref().filter(|v| {
        v.get("statusCode").is_some() || v.get("body").is_some() || v.get("headers").is_some()
    }) else {
        let empty = payload.is_empty() || parsed.as_ref().is_some_and(Value::is_null);
        return Outcome {
            status: 200,
            body: (!empty).then(|| payload.to_vec()),
            headers: Vec::new(),
        };
    };
    let status = object
        .get("statusCode")
        .and_then(|c| c.as_u64().or_else(|| c.as_str()?.parse().ok()))
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(200);
    let body = object.get("body").and_then(|b| match b {
        Value::String(s) if object.get("isBase64Encoded") == Some(&json!(true)) => {
            BASE64.decode(s).ok()
        }
        Value::String(s) => Some(s.clone().into_bytes()),
        Value::Null => None,
        other => Some(other.to_string().into_bytes()),
    });
    let headers = object
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| {
            h.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Outcome {
        status,
        body,
        headers,
    }
}

async fn http(
    runtime: &Runtime,
    uri: &str,
    method: &str,
    body: Vec<u8>,
    plan: &WsIntegrationPlan,
) -> Result<(u16, Vec<u8>), String> {
    let method = if method == "ANY" { "POST" } else { method };
    let request = hyper::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("invalid HTTP integration request: {e}"))?;
    let call = async {
        let response = runtime
            .http
            .request(request)
            .await
            .map_err(|e| format!("HTTP integration failed: {e}"))?;
        let status = response.status().as_u16();
        let body = http_body_util::Limited::new(response.into_body(), 10 * 1024 * 1024)
            .collect()
            .await
            .map_err(|e| format!("HTTP integration body failed: {e}"))?
            .to_bytes();
        Ok::<_, String>((status, body.to_vec()))
    };
    tokio::time::timeout(plan.timeout, call)
        .await
        .map_err(|_| "integration timed out".to_string())?
}

/// Runs a route's integration for one event (`body` is the message, empty on connect and
/// disconnect), and records its latency and outcome: an error status is an
/// `IntegrationError`, a failed call an `ExecutionError`.
pub async fn integrate(
    runtime: &Runtime,
    connection: &Connection,
    route: &WsRoutePlan,
    plan: &WsIntegrationPlan,
    kind: &EventKind<'_>,
    request_id: &str,
    body: &[u8],
) -> Result<Outcome, String> {
    let started = std::time::Instant::now();
    let result = call_integration(runtime, connection, route, plan, kind, request_id, body).await;
    let outcome = match &result {
        Ok(outcome) if outcome.status >= 400 => WsOutcome::IntegrationError,
        Ok(_) => WsOutcome::Ok,
        Err(_) => WsOutcome::ExecutionError,
    };
    super::record(
        &connection.plan,
        Some(route),
        outcome,
        Some(started.elapsed()),
    );
    result
}

async fn call_integration(
    runtime: &Runtime,
    connection: &Connection,
    route: &WsRoutePlan,
    plan: &WsIntegrationPlan,
    kind: &EventKind<'_>,
    request_id: &str,
    body: &[u8],
) -> Result<Outcome, String> {
    let key = route.route_key.as_str();
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let context = || template_context(connection, key, kind, request_id, body);
    // Proxy integrations take the event or the message as they are.
    if let WsTarget::LambdaProxy { function_arn } = &plan.target {
        let payload = serde_json::to_vec(&event(connection, key, kind, request_id))
            .map_err(|e| e.to_string())?;
        let answer = invoke(runtime, function_arn, payload, plan).await?;
        return Ok(proxy_outcome(&answer));
    }
    if let WsTarget::Http {
        uri,
        method,
        proxy: true,
    } = &plan.target
    {
        let (status, answer) = http(runtime, uri, method, body.to_vec(), plan).await?;
        return Ok(Outcome {
            status,
            body: Some(answer),
            headers: Vec::new(),
        });
    }
    let template_key = plan
        .template_selection
        .as_ref()
        .and_then(|e| e.evaluate(|n| lookup(connection, key, parsed.as_ref(), n)));
    let request = match plan.request_template(template_key.as_deref()) {
        TemplateChoice::Template(t) => render(t, context())?.into_bytes(),
        TemplateChoice::Passthrough => body.to_vec(),
        TemplateChoice::Unsupported => {
            return Ok(Outcome {
                status: 415,
                body: Some(br#"{"message": "Unsupported Media Type"}"#.to_vec()),
                headers: Vec::new(),
            });
        }
    };
    let (status, answer) = match &plan.target {
        WsTarget::Mock => {
            let status = if request.is_empty() {
                200
            } else {
                serde_json::from_slice::<Value>(&request)
                    .ok()
                    .and_then(|v| {
                        let code = v.get("statusCode")?;
                        code.as_u64().or_else(|| code.as_str()?.parse().ok())
                    })
                    .and_then(|c| u16::try_from(c).ok())
                    .ok_or("MOCK request template must give a statusCode")?
            };
            (status, Vec::new())
        }
        WsTarget::Lambda { function_arn } => (
            200,
            invoke(runtime, function_arn, request, plan).await?.to_vec(),
        ),
        WsTarget::Http { uri, method, .. } => http(runtime, uri, method, request, plan).await?,
        WsTarget::LambdaProxy { .. } => unreachable!("handled above"),
    };
    // The integration response: chosen by the selection expression (the status by default).
    let selector = plan
        .response_selection
        .as_ref()
        .and_then(|e| {
            e.evaluate(|n| match n {
                "integration.response.statuscode" => Some(status.to_string()),
                _ => lookup(connection, key, parsed.as_ref(), n),
            })
        })
        .unwrap_or_else(|| status.to_string());
    let Some(response) = plan.response(&selector) else {
        return Ok(Outcome {
            status,
            body: None,
            headers: Vec::new(),
        });
    };
    let answer_json: Option<Value> = serde_json::from_slice(&answer).ok();
    let response_key = response.template_selection.as_ref().and_then(|e| {
        e.evaluate(|n| match n {
            "integration.response.statuscode" => Some(status.to_string()),
            _ => lookup(connection, key, answer_json.as_ref(), n),
        })
    });
    let body = match response.template(response_key.as_deref()) {
        Some(t) => {
            let ctx = template_context(connection, key, kind, request_id, &answer);
            Some(render(t, ctx)?.into_bytes())
        }
        None => Some(answer),
    };
    Ok(Outcome {
        status,
        body,
        headers: Vec::new(),
    })
}

/// Runs `$connect` (if the API has it): `Ok` with the integration's outcome (which decides
/// whether the handshake goes on), `Err` when the integration failed.
pub async fn connect(
    runtime: &Runtime,
    connection: &Connection,
    request: &ConnectRequest,
    request_id: &str,
) -> Result<Outcome, String> {
    let Some(route) = connection.plan.routes.get("$connect") else {
        return Ok(Outcome {
            status: 200,
            ..Default::default()
        });
    };
    let Some(plan) = &route.integration else {
        return Ok(Outcome {
            status: 200,
            ..Default::default()
        });
    };
    integrate(
        runtime,
        connection,
        route,
        plan,
        &EventKind::Connect(request),
        request_id,
        &[],
    )
    .await
}

/// What API Gateway sends back when a message cannot be served.
fn error_message(message: &str, connection: &Connection, request_id: &str) -> Vec<u8> {
    json!({"message": message, "connectionId": connection.id, "requestId": request_id})
        .to_string()
        .into_bytes()
}

/// Routes one message and, on a two-way route, sends the integration's answer back.
pub async fn message(
    runtime: Arc<Runtime>,
    connection: Arc<Connection>,
    reply: Reply,
    data: Vec<u8>,
    binary: bool,
) {
    let request_id = crate::pipeline::extended_request_id();
    let parsed: Option<Value> = if binary {
        None
    } else {
        serde_json::from_slice(&data).ok()
    };
    let plan = Arc::clone(&connection.plan);
    let key = plan
        .route_selection
        .evaluate(|n| lookup(&connection, "", parsed.as_ref(), n));
    let Some(route) = plan.route_for(key.as_deref()) else {
        super::record(&plan, None, WsOutcome::ClientError, None);
        reply
            .send(error_message("Forbidden", &connection, &request_id))
            .await;
        return;
    };
    if let Some(metrics) = &route.metrics {
        metrics.message_count.inc();
    }
    if let Err(refused) =
        super::keys::admit_message(&runtime, &connection, &route.route_key, data.len())
    {
        reply
            .send(error_message(
                &refused.to_string(),
                &connection,
                &request_id,
            ))
            .await;
        return;
    }
    if let Some(validation) = &route.validation {
        let model = validation
            .selection
            .evaluate(|n| lookup(&connection, &route.route_key, parsed.as_ref(), n));
        if !validation.accepts(model.as_deref(), parsed.as_ref()) {
            reply
                .send(error_message(
                    "Invalid request body",
                    &connection,
                    &request_id,
                ))
                .await;
            return;
        }
    }
    let Some(integration) = &route.integration else {
        reply
            .send(error_message(
                "Internal server error",
                &connection,
                &request_id,
            ))
            .await;
        return;
    };
    let message_id = crate::pipeline::extended_request_id();
    let kind = EventKind::Message {
        message_id: &message_id,
        body: &data,
        binary,
    };
    match integrate(
        &runtime,
        &connection,
        route,
        integration,
        &kind,
        &request_id,
        &data,
    )
    .await
    {
        Ok(outcome) if route.two_way => {
            if let Some(body) = outcome.body.filter(|b| !b.is_empty()) {
                if body.len() > MAX_MESSAGE_BYTES {
                    reply
                        .send(error_message("Message too long", &connection, &request_id))
                        .await;
                } else {
                    reply.send(body).await;
                }
            }
        }
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(
                connection = connection.id,
                route = route.route_key,
                %error,
                "WebSocket integration failed"
            );
            reply
                .send(error_message(
                    "Internal server error",
                    &connection,
                    &request_id,
                ))
                .await;
        }
    }
}

/// Runs `$disconnect`, best effort: its outcome goes nowhere.
pub async fn disconnect(runtime: &Runtime, connection: &Connection, status: u16, reason: &str) {
    let Some(route) = connection.plan.routes.get("$disconnect") else {
        return;
    };
    let Some(plan) = &route.integration else {
        return;
    };
    let request_id = crate::pipeline::extended_request_id();
    let kind = EventKind::Disconnect { status, reason };
    if let Err(error) = integrate(runtime, connection, route, plan, &kind, &request_id, &[]).await {
        tracing::warn!(connection = connection.id, %error, "$disconnect integration failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_answers_are_read_like_api_gateway() {
        let o = proxy_outcome(br#"{"statusCode": 403}"#);
        assert_eq!(o.status, 403);
        assert!(o.body.is_none());
        let o = proxy_outcome(br#"{"statusCode": "200", "body": "hi", "headers": {"Sec-WebSocket-Protocol": "chat"}}"#);
        assert_eq!(o.status, 200);
        assert_eq!(o.body.as_deref(), Some(&b"hi"[..]));
        assert_eq!(o.headers[0].1, "chat");
        let o = proxy_outcome(b"null");
        assert_eq!((o.status, o.body.is_none()), (200, true));
        let o = proxy_outcome(br#"{"a": 1}"#);
        assert_eq!(o.body.as_deref(), Some(&br#"{"a": 1}"#[..]));
    }
}
