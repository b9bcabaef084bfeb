//! Authorizers of HTTP API routes.
//!
//! - `JWT`: the token from the identity source, verified by [`crate::auth::jwt`]; its claims
//!   and scopes go to `requestContext.authorizer.jwt`. No or a bad token: 401; none of the
//!   route's scopes: 403.
//! - `REQUEST` (a Lambda function, payload 1.0 or 2.0): the function gets the request and
//!   answers a simple response (`{"isAuthorized": bool, "context": {...}}`) or an IAM policy;
//!   the context goes to `requestContext.authorizer.lambda`. A missing identity source: 401;
//!   a refusal: 403; a function that fails or answers garbage: 500. With a TTL, decisions are
//!   cached per authorizer and identity source values (and dropped by
//!   `ResetAuthorizersCache`, which starts a new cache generation).

use std::time::Duration;

use serde_json::{Map, Value, json};
use tollgate_plan::http_api::{LambdaAuthorizerPlan, PayloadVersion, RouteAuth};
use tollgate_shared::SharedState;

use super::error::HttpApiError;
use super::request::HttpRequest;
use crate::auth::jwt::{JwtError, JwtRules, JwtVerifier};
use crate::integration::lambda::FunctionInvoker;

/// How long a Lambda authorizer may take (AWS: 10 s).
pub const LAMBDA_AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Authorizers<'a> {
    pub jwt: &'a JwtVerifier,
    pub credentials: &'a (dyn tollgate_iam::CredentialsLookup + Sync),
    pub shared: &'a dyn SharedState,
    pub functions: Option<&'a dyn FunctionInvoker>,
    pub region: &'a str,
}

/// Claim values as HTTP APIs pass them: strings as they are, lists as `[a b]`, other values as
/// their JSON.
fn claim_text(value: &Value) -> Value {
    Value::String(match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        ),
        other => other.to_string(),
    })
}

/// Authorizes a routed request; `uri_path` is the path the client sent (what a SigV4
/// signature covers).
pub async fn authorize(
    authorizers: &Authorizers<'_>,
    request: &mut HttpRequest<'_>,
    uri_path: &str,
) -> Result<(), HttpApiError> {
    match &request.route.auth {
        RouteAuth::None => Ok(()),
        RouteAuth::Misconfigured(detail) => Err(HttpApiError::Internal(detail.clone())),
        RouteAuth::Iam => iam(authorizers, request, uri_path),
        RouteAuth::Jwt { authorizer, scopes } => {
            let token = authorizer.identity_source.render(|p| request.piece(p));
            let rules = JwtRules {
                issuer: &authorizer.issuer,
                audience: &authorizer.audience,
                scopes,
                jwks_uri: None,
                any_audience: false,
            };
            match authorizers.jwt.verify(&token, &rules).await {
                Ok(verified) => {
                    let claims: Map<String, Value> = verified
                        .claims
                        .iter()
                        .map(|(k, v)| (k.clone(), claim_text(v)))
                        .collect();
                    let scopes = if verified.scopes.is_empty() {
                        Value::Null
                    } else {
                        json!(verified.scopes)
                    };
                    request.authorizer = Some(json!({"jwt": {"claims": claims, "scopes": scopes}}));
                    Ok(())
                }
                Err(JwtError::MissingScope) => Err(HttpApiError::Forbidden),
                Err(e) => {
                    tracing::debug!(request_id = request.request_id, error = %e, "JWT refused");
                    Err(HttpApiError::Unauthorized)
                }
            }
        }
        RouteAuth::Lambda(authorizer) => {
            let authorizer = std::sync::Arc::clone(authorizer);
            lambda(authorizers, &authorizer, request).await
        }
    }
}

/// `AWS_IAM`: a SigV4 signature by a known key whose identity policies allow
/// `execute-api:Invoke` on the route ARN (HTTP APIs have no resource policies). The caller
/// goes to `requestContext.authorizer.iam`.
fn iam(
    authorizers: &Authorizers<'_>,
    request: &mut HttpRequest<'_>,
    uri_path: &str,
) -> Result<(), HttpApiError> {
    use crate::auth::iam;
    use tollgate_iam::policy::Decision;
    use tollgate_iam::sigv4::SigV4Error;
    let signed = iam::SignedRequest {
        method: &request.method,
        path: uri_path,
        query: request.raw_query.as_deref().unwrap_or(""),
        headers: &request.headers,
        body: &request.body,
    };
    let principal = match iam::verify(&signed, authorizers.credentials, authorizers.region) {
        Ok(principal) => principal,
        Err(SigV4Error::MissingAuthentication) => return Err(HttpApiError::Forbidden),
        Err(e) => return Err(HttpApiError::Denied(e.to_string())),
    };
    let resource = route_arn(authorizers.region, request);
    match iam::identity_decision(&principal, &resource, &request.source_ip) {
        Decision::Allow => {
            request.authorizer = Some(json!({"iam": {
                "accessKey": principal.access_key_id,
                "accountId": principal.account_id,
                "callerId": principal.access_key_id,
                "cognitoIdentity": null,
                "principalOrgId": null,
                "userArn": principal.arn,
                "userId": principal.access_key_id,
            }}));
            Ok(())
        }
        decision => Err(HttpApiError::Denied(
            tollgate_iam::policy::not_authorized_message(Some(&principal.arn), &resource, decision),
        )),
    }
}

/// `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}{path}`.
fn route_arn(region: &str, request: &HttpRequest<'_>) -> String {
    let path = match request.plan.stage.as_str() {
        "$default" => request.raw_path.clone(),
        stage => request
            .raw_path
            .strip_prefix(&format!("/{stage}"))
            .unwrap_or(&request.raw_path)
            .to_string(),
    };
    format!(
        "arn:aws:execute-api:{region}:{}:{}/{}/{}{}",
        request.account_id, request.plan.api_id, request.plan.stage, request.method, path
    )
}

fn event(
    plan: &LambdaAuthorizerPlan,
    request: &HttpRequest<'_>,
    region: &str,
    identity: &[String],
) -> Value {
    let arn = route_arn(region, request);
    match plan.payload_version {
        PayloadVersion::V2 => {
            let mut event = super::event::event_v2(request);
            event.insert("type".into(), json!("REQUEST"));
            event.insert("routeArn".into(), json!(arn));
            event.insert("identitySource".into(), json!(identity));
            event.remove("body");
            event.remove("isBase64Encoded");
            Value::Object(event)
        }
        PayloadVersion::V1 => {
            let mut event = super::event::event_v1(request);
            if let Some(object) = event.as_object_mut() {
                object.insert("type".into(), json!("REQUEST"));
                object.insert("methodArn".into(), json!(arn));
                object.insert("identitySource".into(), json!(identity.join(",")));
                object.remove("body");
                object.remove("isBase64Encoded");
            }
            event
        }
    }
}

/// What an authorizer decided: the `requestContext.authorizer` value, or a refusal.
fn decide(plan: &LambdaAuthorizerPlan, result: &Value, arn: &str) -> Result<Option<Value>, String> {
    let context = result.get("context").cloned().unwrap_or(json!({}));
    if plan.simple_responses {
        return match result.get("isAuthorized") {
            Some(Value::Bool(true)) => Ok(Some(json!({"lambda": context}))),
            Some(Value::Bool(false)) => Ok(None),
            _ => Err(format!("simple response without isAuthorized: {result}")),
        };
    }
    let policy = result
        .get("policyDocument")
        .ok_or_else(|| format!("response without policyDocument: {result}"))?;
    if crate::authorizer::evaluate(policy, arn) != crate::authorizer::Decision::Allow {
        return Ok(None);
    }
    let mut authorizer = json!({"lambda": context});
    if let Some(principal) = result.get("principalId") {
        authorizer["principalId"] = principal.clone();
    }
    Ok(Some(authorizer))
}

async fn lambda(
    authorizers: &Authorizers<'_>,
    plan: &LambdaAuthorizerPlan,
    request: &mut HttpRequest<'_>,
) -> Result<(), HttpApiError> {
    let mut identity = Vec::with_capacity(plan.identity_sources.len());
    for source in &plan.identity_sources {
        let value = source.render(|p| request.piece(p));
        if value.is_empty() {
            return Err(HttpApiError::Unauthorized);
        }
        identity.push(value);
    }
    let arn = route_arn(authorizers.region, request);
    let cache_key = (!plan.ttl.is_zero() && !identity.is_empty()).then(|| {
        format!(
            "v2:{}:{}:{}:{}:{}",
            request.plan.api_id,
            request.plan.stage,
            request.plan.authorizer_cache_generation,
            plan.id,
            serde_json::Value::from(identity.clone())
        )
    });
    let cache = authorizers.shared.authorizer_cache();
    let cached = cache_key
        .as_ref()
        .and_then(|k| cache.get(k))
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
    let decision = match cached {
        Some(decision) => decision,
        None => {
            let functions = authorizers
                .functions
                .ok_or_else(|| HttpApiError::Internal("this node runs no functions".into()))?;
            let payload = serde_json::to_vec(&event(plan, request, authorizers.region, &identity))
                .map_err(|e| HttpApiError::Internal(e.to_string()))?;
            let result = super::integrate::invoke(
                functions,
                &plan.function_arn,
                payload,
                LAMBDA_AUTHORIZER_TIMEOUT,
            )
            .await
            .map_err(|e| match e {
                HttpApiError::Internal(d) => {
                    HttpApiError::Internal(format!("authorizer {}: {d}", plan.name))
                }
                HttpApiError::Timeout => {
                    HttpApiError::Internal(format!("authorizer {} timed out", plan.name))
                }
                other => other,
            })?;
            let result: Value = serde_json::from_slice(&result).map_err(|_| {
                HttpApiError::Internal(format!("authorizer {} answered no JSON", plan.name))
            })?;
            // Cached: the decision for these identity values (a refusal is `null`).
            let decision = decide(plan, &result, &arn)
                .map_err(|d| HttpApiError::Internal(format!("authorizer {}: {d}", plan.name)))?
                .unwrap_or(Value::Null);
            if let Some(key) = cache_key {
                cache.put(key, decision.to_string().into_bytes(), plan.ttl);
            }
            decision
        }
    };
    if decision.is_null() {
        return Err(HttpApiError::Forbidden);
    }
    request.authorizer = Some(decision);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_read_as_http_apis_pass_them() {
        assert_eq!(claim_text(&json!("a")), json!("a"));
        assert_eq!(claim_text(&json!(12)), json!("12"));
        assert_eq!(claim_text(&json!(["x", "y"])), json!("[x y]"));
    }
}
