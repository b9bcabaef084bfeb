//! `$connect` authorization: a `REQUEST` Lambda authorizer gets the handshake (headers, query
//! string, stage variables, request context) and answers an IAM policy, whose `principalId`
//! and `context` every later event of the connection carries in `requestContext.authorizer`.
//! A missing identity source: 401; a policy that does not allow `$connect`: 403; a function
//! that fails or answers garbage: 500. With a TTL, decisions are cached per authorizer and
//! identity source values.
//!
//! `AWS_IAM`: the handshake must be SigV4-signed (`execute-api`, in headers or presigned in
//! the query string) by a known key whose identity policies allow `execute-api:Invoke` on
//! `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/$connect`; otherwise 403.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tollgate_iam::Principal;
use tollgate_iam::policy::{Authentication, Decision};
use tollgate_iam::sigv4::SigV4Error;
use tollgate_plan::websocket::{WsAuth, WsAuthorizerPlan};

use super::Runtime;
use super::connection::{ConnectRequest, Connection};
use super::event::{EventKind, event};
use crate::auth::iam::{self as iam_check, SignedRequest};
use crate::integration::lambda::FunctionCall;

/// How long a Lambda authorizer may take (AWS: 10 s).
const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a handshake is refused: the status it answers with.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Unauthorized,
    Forbidden,
    /// `AWS_IAM`: no valid signature by a known key.
    Signature(SigV4Error),
    /// `AWS_IAM`: the caller's policies do not allow `$connect` (AWS's message).
    Denied(String),
    Internal(String),
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::Forbidden | Self::Denied(_) => 403,
            Self::Signature(e) => e.status(),
            Self::Internal(_) => 500,
        }
    }

    pub fn body(&self) -> String {
        let message = match self {
            Self::Unauthorized => "Unauthorized".to_string(),
            Self::Forbidden => "Forbidden".to_string(),
            Self::Signature(e) => e.to_string(),
            Self::Denied(message) => message.clone(),
            Self::Internal(_) => "Internal server error".to_string(),
        };
        json!({ "message": message }).to_string()
    }
}

fn identity_value(
    connection: &Connection,
    connect: &ConnectRequest,
    source: &str,
) -> Option<String> {
    let value = if let Some(name) = source.strip_prefix("route.request.header.") {
        connect.header(name).map(str::to_string)
    } else if let Some(name) = source.strip_prefix("route.request.querystring.") {
        connect
            .query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    } else if let Some(name) = source.strip_prefix("stageVariables.") {
        connection.plan.stage_variables.get(name).cloned()
    } else {
        match source.strip_prefix("context.")? {
            "connectionId" => Some(connection.id.clone()),
            "identity.sourceIp" => Some(connection.source_ip.clone()),
            _ => None,
        }
    };
    value.filter(|v| !v.is_empty())
}

/// Who a handshake was let in as.
#[derive(Default)]
pub struct Grant {
    /// What goes to `requestContext.authorizer` (a Lambda authorizer's answer).
    pub authorizer: Option<Value>,
    /// The `AWS_IAM` caller.
    pub iam: Option<Arc<Principal>>,
    /// The API key a Lambda authorizer chose (`usageIdentifierKey`).
    pub usage_identifier_key: Option<String>,
}

/// Authorizes a handshake (`signed` is the handshake as SigV4 sees it).
pub async fn authorize(
    runtime: &Runtime,
    connection: &Connection,
    connect: &ConnectRequest,
    signed: &SignedRequest<'_>,
    request_id: &str,
) -> Result<Grant, Refusal> {
    let Some(route) = connection.plan.routes.get("$connect") else {
        return Ok(Grant::default());
    };
    match &route.auth {
        WsAuth::None => Ok(Grant::default()),
        WsAuth::Iam => iam(runtime, connection, signed).map(|principal| Grant {
            iam: Some(principal),
            ..Grant::default()
        }),
        WsAuth::Misconfigured(detail) => Err(Refusal::Internal(detail.clone())),
        WsAuth::Lambda(plan) => lambda(runtime, plan, connection, connect, request_id)
            .await
            .map(|(context, key)| Grant {
                authorizer: Some(context),
                iam: None,
                usage_identifier_key: key,
            }),
    }
}

/// `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/$connect`.
fn connect_arn(runtime: &Runtime, connection: &Connection) -> String {
    format!(
        "arn:aws:execute-api:{}:{}:{}/{}/$connect",
        runtime.region, runtime.account_id, connection.api_id, connection.stage
    )
}

/// `AWS_IAM`: the signature, then the caller's identity policies (WebSocket APIs have no
/// resource policy).
fn iam(
    runtime: &Runtime,
    connection: &Connection,
    signed: &SignedRequest<'_>,
) -> Result<Arc<Principal>, Refusal> {
    let principal = iam_check::verify(signed, &*runtime.credentials, &runtime.region)
        .map_err(Refusal::Signature)?;
    let resource = connect_arn(runtime, connection);
    let identity = iam_check::identity_decision(&principal, &resource, &connection.source_ip);
    let authentication = Authentication::Iam {
        identity,
        same_account: principal.account_id == runtime.account_id,
    };
    match tollgate_iam::policy::authorize(None, authentication) {
        Decision::Allow => Ok(principal),
        decision => Err(Refusal::Denied(
            tollgate_iam::policy::not_authorized_message(Some(&principal.arn), &resource, decision),
        )),
    }
}

async fn lambda(
    runtime: &Runtime,
    plan: &WsAuthorizerPlan,
    connection: &Connection,
    connect: &ConnectRequest,
    request_id: &str,
) -> Result<(Value, Option<String>), Refusal> {
    let mut identity = Vec::new();
    for source in &plan.identity_sources {
        identity.push(identity_value(connection, connect, source).ok_or(Refusal::Unauthorized)?);
    }
    let cache = runtime.shared.authorizer_cache();
    let cache_key = (!plan.ttl.is_zero() && !identity.is_empty()).then(|| {
        format!(
            "ws:{}:{}:{}:{}",
            connection.api_id,
            connection.stage,
            plan.id,
            identity.join("\u{1}")
        )
    });
    if let Some(hit) = cache_key.as_ref().and_then(|k| cache.get(k)) {
        return serde_json::from_slice::<Option<(Value, Option<String>)>>(&hit)
            .ok()
            .flatten()
            .ok_or(Refusal::Forbidden);
    }
    let method_arn = connect_arn(runtime, connection);
    let mut request = event(
        connection,
        "$connect",
        &EventKind::Connect(connect),
        request_id,
    );
    if let Value::Object(fields) = &mut request {
        fields.remove("isBase64Encoded");
        fields.insert("type".into(), json!("REQUEST"));
        fields.insert("methodArn".into(), json!(method_arn));
        let variables: Map<String, Value> = connection
            .plan
            .stage_variables
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        fields.insert("stageVariables".into(), Value::Object(variables));
    }
    let functions = runtime
        .functions
        .as_ref()
        .ok_or_else(|| Refusal::Internal("no function runtime on this node".into()))?;
    let (name, qualifier) = crate::integration::lambda::function_of_arn(&plan.function_arn)
        .ok_or_else(|| Refusal::Internal(format!("invalid function ARN {}", plan.function_arn)))?;
    let call = functions.invoke(FunctionCall {
        name,
        qualifier,
        payload: serde_json::to_vec(&request).unwrap_or_default().into(),
        trace_id: None,
    });
    let result = tokio::time::timeout(AUTHORIZER_TIMEOUT, call)
        .await
        .map_err(|_| Refusal::Internal("authorizer timed out".into()))?
        .map_err(|e| Refusal::Internal(format!("authorizer failed: {e:?}")))?;
    if result.function_error.is_some() {
        // A function that raises `Unauthorized` refuses with 401, as on AWS.
        let message: Option<Value> = serde_json::from_slice(&result.payload).ok();
        let unauthorized = message
            .as_ref()
            .and_then(|m| m.get("errorMessage"))
            .and_then(Value::as_str)
            == Some("Unauthorized");
        return Err(if unauthorized {
            Refusal::Unauthorized
        } else {
            Refusal::Internal("authorizer function failed".into())
        });
    }
    let answer: Value = serde_json::from_slice(&result.payload)
        .map_err(|_| Refusal::Internal("authorizer answer is not JSON".into()))?;
    let policy = answer
        .get("policyDocument")
        .ok_or_else(|| Refusal::Internal("authorizer answer has no policyDocument".into()))?;
    let allowed = crate::authorizer::evaluate(policy, &method_arn) == Decision::Allow;
    let decision = allowed.then(|| {
        let mut context = Map::new();
        if let Some(Value::Object(extra)) = answer.get("context") {
            for (k, v) in extra {
                context.insert(k.clone(), v.clone());
            }
        }
        context.insert(
            "principalId".into(),
            answer.get("principalId").cloned().unwrap_or(Value::Null),
        );
        let usage_identifier_key = answer
            .get("usageIdentifierKey")
            .and_then(Value::as_str)
            .map(String::from);
        (Value::Object(context), usage_identifier_key)
    });
    if let Some(key) = cache_key {
        let stored = serde_json::to_vec(&decision).unwrap_or_default();
        cache.put(key, stored, plan.ttl);
    }
    decision.ok_or(Refusal::Forbidden)
}
