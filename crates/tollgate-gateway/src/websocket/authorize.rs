//! `$connect` authorization: a `REQUEST` Lambda authorizer gets the handshake (headers, query
//! string, stage variables, request context) and answers an IAM policy, whose `principalId`
//! and `context` every later event of the connection carries in `requestContext.authorizer`.
//! A missing identity source: 401; a policy that does not allow `$connect`: 403; a function
//! that fails or answers garbage: 500. With a TTL, decisions are cached per authorizer and
//! identity source values.

use std::time::Duration;

use serde_json::{Map, Value, json};
use tollgate_plan::websocket::{WsAuth, WsAuthorizerPlan};

use super::Runtime;
use super::connection::{ConnectRequest, Connection};
use super::event::{EventKind, event};
use crate::integration::lambda::FunctionCall;

/// How long a Lambda authorizer may take (AWS: 10 s).
const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a handshake is refused: the status it answers with.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Unauthorized,
    Forbidden,
    Internal(String),
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::Internal(_) => 500,
        }
    }

    pub fn body(&self) -> &'static str {
        match self {
            Self::Unauthorized => r#"{"message": "Unauthorized"}"#,
            Self::Forbidden => r#"{"message": "Forbidden"}"#,
            Self::Internal(_) => r#"{"message": "Internal server error"}"#,
        }
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

/// `*` matches any run of characters, `?` any one.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn as_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether the policy allows invoking `arn`: some `Allow` statement matches and no `Deny` does.
fn allows(policy: &Value, arn: &str) -> bool {
    let statements = match policy.get("Statement") {
        Some(Value::Array(s)) => s.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => return false,
    };
    let mut allowed = false;
    for statement in &statements {
        let action = as_list(statement.get("Action"))
            .iter()
            .any(|a| glob(a, "execute-api:Invoke"));
        let resource = as_list(statement.get("Resource"))
            .iter()
            .any(|r| glob(r, arn));
        if !(action && resource) {
            continue;
        }
        match statement.get("Effect").and_then(Value::as_str) {
            Some("Deny") => return false,
            Some("Allow") => allowed = true,
            _ => {}
        }
    }
    allowed
}

/// Authorizes a handshake; `Ok` with what goes to `requestContext.authorizer` (if anything).
pub async fn authorize(
    runtime: &Runtime,
    connection: &Connection,
    connect: &ConnectRequest,
    request_id: &str,
) -> Result<Option<Value>, Refusal> {
    let Some(route) = connection.plan.routes.get("$connect") else {
        return Ok(None);
    };
    match &route.auth {
        WsAuth::None => Ok(None),
        // SigV4 verification of callers is not implemented: refuse rather than let in.
        WsAuth::Iam => Err(Refusal::Forbidden),
        WsAuth::Misconfigured(detail) => Err(Refusal::Internal(detail.clone())),
        WsAuth::Lambda(plan) => lambda(runtime, plan, connection, connect, request_id)
            .await
            .map(Some),
    }
}

async fn lambda(
    runtime: &Runtime,
    plan: &WsAuthorizerPlan,
    connection: &Connection,
    connect: &ConnectRequest,
    request_id: &str,
) -> Result<Value, Refusal> {
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
        return serde_json::from_slice::<Option<Value>>(&hit)
            .ok()
            .flatten()
            .ok_or(Refusal::Forbidden);
    }
    let method_arn = format!(
        "arn:aws:execute-api:{}:{}:{}/{}/$connect",
        runtime.region, runtime.account_id, connection.api_id, connection.stage
    );
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
    let decision = allows(policy, &method_arn).then(|| {
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
        Value::Object(context)
    });
    if let Some(key) = cache_key {
        let stored = serde_json::to_vec(&decision).unwrap_or_default();
        cache.put(key, stored, plan.ttl);
    }
    decision.ok_or(Refusal::Forbidden)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_allow_only_what_they_name() {
        let arn = "arn:aws:execute-api:us-east-1:000000000000:abc/dev/$connect";
        let allow = json!({"Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow",
                                          "Resource": "arn:aws:execute-api:*:*:abc/*"}]});
        assert!(allows(&allow, arn));
        let other = json!({"Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow",
                                          "Resource": ["arn:aws:execute-api:*:*:xyz/*"]}]});
        assert!(!allows(&other, arn));
        let deny = json!({"Statement": [
            {"Action": "*", "Effect": "Allow", "Resource": "*"},
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": arn}]});
        assert!(!allows(&deny, arn));
        assert!(!allows(&json!({}), arn));
    }

    #[test]
    fn globs() {
        assert!(glob("a*c", "abbbc"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a*d", "abc"));
        assert!(glob("*", ""));
    }
}
