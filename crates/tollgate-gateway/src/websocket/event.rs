//! The Lambda proxy events of WebSocket APIs (`CONNECT`, `MESSAGE`, `DISCONNECT`), field by
//! field as API Gateway sends them.

use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};

use super::connection::{ConnectRequest, Connection};

/// What one event is about.
pub enum EventKind<'a> {
    Connect(&'a ConnectRequest),
    Message {
        message_id: &'a str,
        body: &'a [u8],
        binary: bool,
    },
    Disconnect {
        status: u16,
        reason: &'a str,
    },
}

impl EventKind<'_> {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Connect(_) => "CONNECT",
            Self::Message { .. } => "MESSAGE",
            Self::Disconnect { .. } => "DISCONNECT",
        }
    }
}

fn epoch_millis(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `requestContext`.
pub fn request_context(
    connection: &Connection,
    route_key: &str,
    kind: &EventKind<'_>,
    request_id: &str,
) -> Map<String, Value> {
    let now = SystemTime::now();
    let mut context = Map::new();
    context.insert("routeKey".into(), json!(route_key));
    if let EventKind::Message { message_id, .. } = kind {
        context.insert("messageId".into(), json!(message_id));
    }
    context.insert("eventType".into(), json!(kind.name()));
    context.insert("extendedRequestId".into(), json!(request_id));
    context.insert("requestTime".into(), json!(crate::context::clf_time(now)));
    context.insert("messageDirection".into(), json!("IN"));
    if let EventKind::Disconnect { status, reason } = kind {
        context.insert("disconnectStatusCode".into(), json!(status));
        context.insert("disconnectReason".into(), json!(reason));
    }
    context.insert("stage".into(), json!(connection.stage));
    context.insert("connectedAt".into(), json!(connection.connected_at));
    context.insert("requestTimeEpoch".into(), json!(epoch_millis(now)));
    let mut identity = Map::new();
    if !matches!(kind, EventKind::Message { .. }) {
        identity.insert("userAgent".into(), json!(connection.user_agent));
    }
    identity.insert("sourceIp".into(), json!(connection.source_ip));
    if let Some(caller) = &connection.iam {
        // As `$context.identity` of REST's AWS_IAM methods.
        identity.insert("accessKey".into(), json!(caller.access_key_id));
        identity.insert("accountId".into(), json!(caller.account_id));
        identity.insert("caller".into(), json!(caller.access_key_id));
        identity.insert("user".into(), json!(caller.access_key_id));
        identity.insert("userArn".into(), json!(caller.arn));
    }
    context.insert("identity".into(), Value::Object(identity));
    if let Some(authorizer) = &connection.authorizer {
        context.insert("authorizer".into(), authorizer.clone());
    }
    context.insert("requestId".into(), json!(request_id));
    context.insert("domainName".into(), json!(connection.domain_name));
    context.insert("connectionId".into(), json!(connection.id));
    context.insert("apiId".into(), json!(connection.api_id));
    context
}

/// The whole event for an `AWS_PROXY` integration.
pub fn event(
    connection: &Connection,
    route_key: &str,
    kind: &EventKind<'_>,
    request_id: &str,
) -> Value {
    let mut event = Map::new();
    let context = request_context(connection, route_key, kind, request_id);
    match kind {
        EventKind::Connect(connect) => {
            let mut single = Map::new();
            let mut multi: Map<String, Value> = Map::new();
            for (name, value) in &connect.headers {
                single.insert(name.clone(), json!(value));
                match multi.get_mut(name) {
                    Some(Value::Array(values)) => values.push(json!(value)),
                    _ => {
                        multi.insert(name.clone(), json!([value]));
                    }
                }
            }
            event.insert("headers".into(), Value::Object(single));
            event.insert("multiValueHeaders".into(), Value::Object(multi));
            if !connect.query.is_empty() {
                let mut single = Map::new();
                let mut multi: Map<String, Value> = Map::new();
                for (name, value) in &connect.query {
                    single.insert(name.clone(), json!(value));
                    match multi.get_mut(name) {
                        Some(Value::Array(values)) => values.push(json!(value)),
                        _ => {
                            multi.insert(name.clone(), json!([value]));
                        }
                    }
                }
                event.insert("queryStringParameters".into(), Value::Object(single));
                event.insert(
                    "multiValueQueryStringParameters".into(),
                    Value::Object(multi),
                );
            }
            event.insert("requestContext".into(), Value::Object(context));
            event.insert("isBase64Encoded".into(), json!(false));
        }
        EventKind::Message { body, binary, .. } => {
            event.insert("requestContext".into(), Value::Object(context));
            let body = if *binary {
                BASE64.encode(body)
            } else {
                String::from_utf8_lossy(body).into_owned()
            };
            event.insert("body".into(), json!(body));
            event.insert("isBase64Encoded".into(), json!(binary));
        }
        EventKind::Disconnect { .. } => {
            let mut headers = Map::new();
            headers.insert("Host".into(), json!(connection.domain_name));
            headers.insert("x-api-key".into(), json!(""));
            headers.insert("X-Forwarded-For".into(), json!(""));
            headers.insert("x-restapi".into(), json!(""));
            let multi: Map<String, Value> = headers
                .iter()
                .map(|(k, v)| (k.clone(), json!([v])))
                .collect();
            event.insert("headers".into(), Value::Object(headers));
            event.insert("multiValueHeaders".into(), Value::Object(multi));
            event.insert("requestContext".into(), Value::Object(context));
            event.insert("isBase64Encoded".into(), json!(false));
        }
    }
    Value::Object(event)
}
