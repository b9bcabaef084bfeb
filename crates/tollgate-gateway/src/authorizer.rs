//! Lambda authorizers (`TOKEN` and `REQUEST`): the identity check, the result cache, the
//! function call and the evaluation of the returned policy against the method ARN.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value, json};
use tollgate_plan::{AuthorizerKind, AuthorizerPlan, IdentitySource};
use tollgate_shared::SharedState;

use crate::context::RequestInfo;
use crate::error::GatewayError;
use crate::integration::lambda::{self, FunctionCall, FunctionInvoker};

/// What an authorizer established about the caller.
#[derive(Debug, Clone, Default)]
pub struct Authorization {
    /// Lambda authorizers' `principalId` (empty for Cognito).
    pub principal_id: String,
    /// A Cognito token's claims, each as text.
    pub claims: Option<Map<String, Value>>,
    /// `context` of the authorizer's answer (strings, numbers, booleans).
    pub context: Map<String, Value>,
    /// The API key, when the API's key source is `AUTHORIZER`.
    pub usage_identifier_key: Option<String>,
}

/// `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}`.
pub fn method_arn(region: &str, info: &RequestInfo<'_>) -> String {
    format!(
        "arn:aws:execute-api:{region}:{}:{}/{}/{}/{}",
        info.account_id,
        info.api_id,
        info.stage,
        info.http_method,
        info.path.trim_start_matches('/')
    )
}

/// The identity a Lambda authorizer is called with: every identity source present, and a
/// token that matches `identityValidationExpression`; otherwise a 401, without a call.
fn checked_identity(
    plan: &AuthorizerPlan,
    info: &RequestInfo<'_>,
) -> Result<Vec<String>, GatewayError> {
    let identity = identity(plan, info).ok_or(GatewayError::Unauthorized)?;
    if plan.kind == AuthorizerKind::Token
        && let (Some(check), Some(token)) = (&plan.validation, identity.first())
        && !check.is_match(token)
    {
        return Err(GatewayError::Unauthorized);
    }
    Ok(identity)
}

/// The identity values the authorizer reads, or `None` when one is missing (a 401 on AWS).
fn identity(plan: &AuthorizerPlan, info: &RequestInfo<'_>) -> Option<Vec<String>> {
    plan.identity_sources
        .iter()
        .map(|source| {
            let value = match source {
                IdentitySource::Header(name) => info.header(name).map(String::from),
                IdentitySource::Query(name) => info.query_param(name).map(String::from),
                IdentitySource::Path(name) => info.path_param(name).map(String::from),
                IdentitySource::StageVariable(name) => info.stage_variables.get(name).cloned(),
                IdentitySource::Context(name) => info.context(name),
            };
            value.filter(|v| !v.is_empty())
        })
        .collect()
}

/// An authorizer's answer with what does not depend on the method ARN worked out once: the
/// principal, the compiled policy, the checked context.
struct CompiledAnswer {
    principal_id: Result<String, &'static str>,
    /// `None` when there is no `policyDocument`; an uncompilable policy allows nothing.
    policy: Option<Option<tollgate_iam::policy::Policy>>,
    context: Result<Map<String, Value>, &'static str>,
    usage_identifier_key: Option<String>,
}

impl CompiledAnswer {
    fn compile(answer: &Value) -> Self {
        let principal_id = match answer.get("principalId") {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(v.to_string()),
            _ => Err("no principalId"),
        };
        let policy = answer.get("policyDocument").map(compile_policy);
        let mut context = Ok(Map::new());
        if let (Some(Value::Object(map)), Ok(out)) = (answer.get("context"), context.as_mut()) {
            for (k, v) in map {
                match v {
                    Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                        out.insert(k.clone(), v.clone());
                    }
                    Value::Null => {}
                    // AWS refuses nested objects and arrays in the context.
                    _ => {
                        context = Err("context values must be strings, numbers or booleans");
                        break;
                    }
                }
            }
        }
        Self {
            principal_id,
            policy,
            context,
            usage_identifier_key: answer
                .get("usageIdentifierKey")
                .and_then(Value::as_str)
                .map(String::from),
        }
    }
}

/// Cached answers as compiled, beside the result cache (whose bytes stay the truth: an entry
/// is used only while the result cache holds the same bytes for the same key).
#[derive(Default)]
pub struct CompiledAnswers(tollgate_shared::TtlCache<Arc<(Vec<u8>, CompiledAnswer)>>);

/// Runs a Lambda authorizer for a request and decides.
pub async fn authorize(
    plan: &AuthorizerPlan,
    info: &RequestInfo<'_>,
    region: &str,
    functions: Option<&Arc<dyn FunctionInvoker>>,
    shared: &dyn SharedState,
    compiled: &CompiledAnswers,
) -> Result<Authorization, GatewayError> {
    let identity = checked_identity(plan, info)?;
    let arn = method_arn(region, info);
    let cache_key = (!plan.ttl.is_zero() && !identity.is_empty())
        .then(|| format!("{}{}", plan.cache_prefix, identity.join("\u{1}")));
    let Some(key) = cache_key else {
        let answer = invoke(plan, info, &arn, &identity, functions).await?;
        return decide(&CompiledAnswer::compile(&answer), &arn);
    };
    let bytes = match shared.authorizer_cache().get(&key) {
        Some(bytes) => bytes,
        None => {
            let answer = invoke(plan, info, &arn, &identity, functions).await?;
            let bytes = serde_json::to_vec(&answer).unwrap_or_default();
            shared
                .authorizer_cache()
                .put(key.clone(), bytes.clone(), plan.ttl);
            bytes
        }
    };
    if let Some(entry) = compiled.0.get(&key)
        && entry.0 == bytes
    {
        return decide(&entry.1, &arn);
    }
    let answer = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let entry = Arc::new((bytes, CompiledAnswer::compile(&answer)));
    let decision = decide(&entry.1, &arn);
    compiled.0.put(key, entry, plan.ttl);
    decision
}

/// A `COGNITO_USER_POOLS` authorizer: the token in the identity header must be an ID or access
/// token of one of the authorizer's user pools (signature by the pool's keys, issuer, expiry,
/// `token_use`); with method scopes, an access token holding one of them; with an
/// `identityValidationExpression`, an audience (`aud`, or `client_id`) matching it.
pub async fn cognito(
    plan: &AuthorizerPlan,
    info: &RequestInfo<'_>,
    scopes: &[String],
    pools: &[crate::CognitoUserPool],
    jwt: &crate::auth::jwt::JwtVerifier,
) -> Result<Authorization, GatewayError> {
    use crate::auth::jwt::{JwtError, JwtRules};
    let token = identity(plan, info)
        .and_then(|mut values| values.pop())
        .ok_or(GatewayError::Unauthorized)?;
    let pools: Vec<&crate::CognitoUserPool> = plan
        .provider_arns
        .iter()
        .filter_map(|arn| pools.iter().find(|p| &p.arn == arn))
        .collect();
    if pools.is_empty() {
        return Err(GatewayError::AuthorizerConfiguration(format!(
            "no issuer is configured for the user pools of authorizer {} ({}); add them to tollgate.toml",
            plan.id,
            plan.provider_arns.join(", ")
        )));
    }
    let mut last = JwtError::Missing;
    for pool in pools {
        let rules = JwtRules {
            issuer: &pool.issuer,
            audience: &[],
            scopes,
            jwks_uri: Some(&pool.jwks_url),
            any_audience: true,
        };
        let verified = match jwt.verify(&token, &rules).await {
            Ok(v) => v,
            Err(JwtError::Keys(detail)) => {
                return Err(GatewayError::AuthorizerConfiguration(detail));
            }
            Err(e) => {
                last = e;
                continue;
            }
        };
        let claims = verified.claims;
        let token_use = claims.get("token_use").and_then(Value::as_str);
        let usable = match token_use {
            Some("access") => true,
            // Scopes are only in access tokens: with method scopes an ID token does not do.
            Some("id") => scopes.is_empty(),
            _ => false,
        };
        if !usable {
            return Err(GatewayError::Unauthorized);
        }
        if let Some(check) = &plan.validation {
            let audience = claims
                .get("aud")
                .or_else(|| claims.get("client_id"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if !check.is_match(audience) {
                return Err(GatewayError::Unauthorized);
            }
        }
        let claims = claims
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, Value::String(text))
            })
            .collect();
        return Ok(Authorization {
            claims: Some(claims),
            ..Default::default()
        });
    }
    tracing::debug!(authorizer = plan.id, error = %last, "Cognito token refused");
    Err(GatewayError::Unauthorized)
}

/// Calls the authorizer without its cache and without deciding (TestInvokeAuthorizer): the
/// function's answer, or why there is none.
pub async fn answer_of(
    plan: &AuthorizerPlan,
    info: &RequestInfo<'_>,
    region: &str,
    functions: Option<&Arc<dyn FunctionInvoker>>,
) -> Result<Value, GatewayError> {
    let identity = checked_identity(plan, info)?;
    let arn = method_arn(region, info);
    let answer = invoke(plan, info, &arn, &identity, functions).await?;
    // An answer that does not parse as a policy is a failure, whatever its effect.
    match decide(&CompiledAnswer::compile(&answer), &arn) {
        Ok(_) | Err(GatewayError::AccessDenied { .. }) => Ok(answer),
        Err(e) => Err(e),
    }
}

async fn invoke(
    plan: &AuthorizerPlan,
    info: &RequestInfo<'_>,
    arn: &str,
    identity: &[String],
    functions: Option<&Arc<dyn FunctionInvoker>>,
) -> Result<Value, GatewayError> {
    let functions = functions.ok_or_else(|| {
        GatewayError::AuthorizerConfiguration("this node runs no functions".into())
    })?;
    let (name, qualifier) = plan
        .function_uri
        .as_deref()
        .and_then(lambda::function_of)
        .ok_or_else(|| {
            GatewayError::AuthorizerConfiguration(format!(
                "authorizer {} has no function URI",
                plan.id
            ))
        })?;
    let event = match plan.kind {
        AuthorizerKind::Token => json!({
            "type": "TOKEN",
            "authorizationToken": identity.first(),
            "methodArn": arn,
        }),
        _ => {
            let mut event = lambda::event(info);
            if let Some(map) = event.as_object_mut() {
                map.remove("body");
                map.remove("isBase64Encoded");
                map.insert("type".into(), json!("REQUEST"));
                map.insert("methodArn".into(), json!(arn));
            }
            event
        }
    };
    let call = FunctionCall {
        name,
        qualifier,
        payload: Bytes::from(serde_json::to_vec(&event).unwrap_or_default()),
        trace_id: Some(info.xray_header()),
    };
    let result = functions.invoke(call).await.map_err(|e| {
        GatewayError::AuthorizerConfiguration(format!("authorizer {} failed: {e:?}", plan.id))
    })?;
    let answer: Value = serde_json::from_slice(&result.payload).unwrap_or(Value::Null);
    if result.function_error.is_some() {
        // A function that fails with the message "Unauthorized" denies with a 401.
        if answer.get("errorMessage").and_then(Value::as_str) == Some("Unauthorized") {
            return Err(GatewayError::Unauthorized);
        }
        return Err(GatewayError::AuthorizerConfiguration(format!(
            "authorizer {} failed: {}",
            plan.id,
            String::from_utf8_lossy(&result.payload)
        )));
    }
    Ok(answer)
}

/// Evaluates the authorizer's answer for one method ARN.
fn decide(answer: &CompiledAnswer, arn: &str) -> Result<Authorization, GatewayError> {
    let bad = |why: &str| {
        GatewayError::AuthorizerConfiguration(format!("invalid authorizer answer: {why}"))
    };
    let principal_id = answer.principal_id.as_ref().map_err(|why| bad(why))?;
    let policy = answer
        .policy
        .as_ref()
        .ok_or_else(|| bad("no policyDocument"))?;
    match evaluate_compiled(policy.as_ref(), arn) {
        Decision::Allow => {}
        Decision::ExplicitDeny => return Err(GatewayError::AccessDenied { explicit: true }),
        Decision::ImplicitDeny => return Err(GatewayError::AccessDenied { explicit: false }),
    }
    let context = answer.context.as_ref().map_err(|why| bad(why))?;
    Ok(Authorization {
        principal_id: principal_id.clone(),
        claims: None,
        context: context.clone(),
        usage_identifier_key: answer.usage_identifier_key.clone(),
    })
}

pub(crate) use tollgate_iam::policy::Decision;

/// Evaluates an authorizer's IAM policy for `execute-api:Invoke` on `arn` (with the policy
/// engine of `tollgate-iam`); a policy that does not compile allows nothing.
pub(crate) fn evaluate(policy: &Value, arn: &str) -> Decision {
    evaluate_compiled(compile_policy(policy).as_ref(), arn)
}

/// An authorizer's policy document, compiled; `None` (and a warning) when it does not compile.
fn compile_policy(document: &Value) -> Option<tollgate_iam::policy::Policy> {
    tollgate_iam::policy::Policy::compile(document)
        .map_err(|e| tracing::warn!(error = %e.0, "an authorizer answered a policy that does not compile"))
        .ok()
}

fn evaluate_compiled(policy: Option<&tollgate_iam::policy::Policy>, arn: &str) -> Decision {
    policy.map_or(Decision::ImplicitDeny, |policy| {
        policy.evaluate(&tollgate_iam::policy::RequestContext {
            action: "execute-api:Invoke",
            resource: arn,
            ..Default::default()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:execute-api:us-east-1:000000000000:abc/dev/GET/pets/1";

    fn policy(effect: &str, resource: &str) -> Value {
        json!({"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
        ]})
    }

    #[test]
    fn deny_wins_and_no_match_is_an_implicit_deny() {
        assert_eq!(evaluate(&policy("Allow", "arn:*"), ARN), Decision::Allow);
        assert_eq!(evaluate(&policy("Deny", ARN), ARN), Decision::ExplicitDeny);
        assert_eq!(
            evaluate(&policy("Allow", "arn:*:abc/dev/POST/*"), ARN),
            Decision::ImplicitDeny
        );
        let both = json!({"Statement": [
            {"Action": "execute-api:*", "Effect": "Allow", "Resource": "*"},
            {"Action": ["execute-api:Invoke"], "Effect": "Deny", "Resource": [ARN]}
        ]});
        assert_eq!(evaluate(&both, ARN), Decision::ExplicitDeny);
    }

    #[test]
    fn answers_need_a_principal_and_flat_context() {
        let ok = json!({"principalId": "u1", "policyDocument": policy("Allow", "*"),
                        "context": {"a": "x", "n": 1, "b": true}, "usageIdentifierKey": "k"});
        let auth = decide(&CompiledAnswer::compile(&ok), ARN).unwrap_or_default();
        assert_eq!(auth.principal_id, "u1");
        assert_eq!(auth.context.len(), 3);
        assert_eq!(auth.usage_identifier_key.as_deref(), Some("k"));
        assert!(
            decide(
                &CompiledAnswer::compile(&json!({"policyDocument": policy("Allow", "*")})),
                ARN
            )
            .is_err()
        );
        let nested = json!({"principalId": "u", "policyDocument": policy("Allow", "*"), "context": {"o": {}}});
        assert!(decide(&CompiledAnswer::compile(&nested), ARN).is_err());
    }
}
