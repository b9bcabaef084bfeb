//! Who may call a method, compiled: the method's authorizer (identity sources, validation
//! expression, cache settings) and its throttle.

use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use tollgate_model::rest::{Authorizer, Method, Stage, method_setting_key};
use tollgate_shared::{RateLimit, RateLimiter, SharedState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizerKind {
    /// A Lambda function given one token (a header).
    Token,
    /// A Lambda function given the request's identity sources, headers, query and context.
    Request,
    /// A JWT from a Cognito user pool.
    CognitoUserPools,
}

/// Where an identity comes from (`method.request.header.Auth`, `stageVariables.x`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// Header names are kept lowercase.
    Header(String),
    Query(String),
    Path(String),
    StageVariable(String),
    Context(String),
}

impl IdentitySource {
    fn parse(source: &str) -> Option<Self> {
        let (prefix, name) = source.rsplit_once('.')?;
        let name = name.to_string();
        Some(match prefix {
            "method.request.header" => Self::Header(name.to_ascii_lowercase()),
            "method.request.querystring" => Self::Query(name),
            "method.request.path" => Self::Path(name),
            "stageVariables" => Self::StageVariable(name),
            _ => Self::Context(source.strip_prefix("context.")?.to_string()),
        })
    }
}

pub struct AuthorizerPlan {
    pub id: String,
    pub name: String,
    pub kind: AuthorizerKind,
    /// The function's invocation URI (Lambda authorizers).
    pub function_uri: Option<String>,
    pub identity_sources: Vec<IdentitySource>,
    /// `identityValidationExpression`, anchored: a token must match it whole.
    pub validation: Option<Regex>,
    /// How long a result is cached; zero: not at all.
    pub ttl: Duration,
    pub provider_arns: Vec<String>,
    /// Starts every cache key of this authorizer: API, stage, authorizer and the stage's flush
    /// generation, so results never leak across them and a flush forgets them all.
    pub cache_prefix: String,
}

impl AuthorizerPlan {
    pub fn compile(authorizer: &Authorizer, api_id: &str, stage: &str, generation: u64) -> Self {
        let kind = match authorizer.authorizer_type.as_str() {
            "TOKEN" => AuthorizerKind::Token,
            "COGNITO_USER_POOLS" => AuthorizerKind::CognitoUserPools,
            _ => AuthorizerKind::Request,
        };
        let validation = authorizer
            .identity_validation_expression
            .as_deref()
            .filter(|e| !e.is_empty())
            .and_then(|e| match Regex::new(&format!("^(?:{e})$")) {
                Ok(r) => Some(r),
                Err(err) => {
                    tracing::warn!(authorizer = authorizer.id, error = %err, "identityValidationExpression does not compile; ignored");
                    None
                }
            });
        Self {
            id: authorizer.id.clone(),
            name: authorizer.name.clone(),
            kind,
            function_uri: authorizer.authorizer_uri.clone(),
            identity_sources: authorizer
                .identity_sources()
                .filter_map(IdentitySource::parse)
                .collect(),
            validation,
            ttl: Duration::from_secs(authorizer.ttl_seconds().max(0) as u64),
            provider_arns: authorizer.provider_arns.clone().unwrap_or_default(),
            cache_prefix: format!("{api_id}/{stage}/{}/{generation}/", authorizer.id),
        }
    }
}

/// What a stage adds to its methods' plans: throttles (from `methodSettings`) and the
/// authorizer cache generation. Test invocations compile without one.
pub struct StageGuards<'a> {
    pub shared: &'a dyn SharedState,
    pub stage: &'a Stage,
    pub authorizer_generation: u64,
    /// Where the stage's metric handles are resolved, with the API's name (CloudWatch's
    /// `ApiName` dimension); none for plans that record nothing.
    pub telemetry: Option<(&'a tollgate_telemetry::Registry, &'a str)>,
}

impl StageGuards<'_> {
    /// The method's limiter: its own `methodSettings` entry, else the stage's `*/*`; none when
    /// the stage sets neither (the account limit still applies).
    pub fn method_limiter(
        &self,
        api_id: &str,
        path: &str,
        method: &Method,
    ) -> Option<Arc<dyn RateLimiter>> {
        let settings = &self.stage.method_settings;
        let setting = settings
            .get(&method_setting_key(path, &method.http_method))
            .or_else(|| settings.get("*/*"))?;
        let limit = RateLimit::new(
            setting.throttling_rate_limit,
            setting.throttling_burst_limit.max(0) as u64,
        );
        let name = format!(
            "stage/{api_id}/{}/{path}/{}",
            self.stage.stage_name, method.http_method
        );
        Some(self.shared.rate_limiter(&name, limit))
    }

    /// The execution logging of a method: its `methodSettings` entry, else the stage's `*/*`.
    pub fn method_logging(&self, path: &str, method: &Method) -> crate::ExecutionLogging {
        let settings = &self.stage.method_settings;
        settings
            .get(&method_setting_key(path, &method.http_method))
            .or_else(|| settings.get("*/*"))
            .map(crate::ExecutionLogging::from_setting)
            .unwrap_or_default()
    }

    /// The stage's metric handles (`ApiName`, `Stage`).
    pub fn stage_metrics(&self) -> Option<Arc<tollgate_telemetry::RestMetrics>> {
        let (registry, api_name) = self.telemetry?;
        Some(Arc::new(tollgate_telemetry::RestMetrics::stage(
            registry,
            api_name,
            &self.stage.stage_name,
        )))
    }

    /// The method's own metric handles (`ApiName`, `Method`, `Resource`, `Stage`) when detailed
    /// metrics are on for it (its `methodSettings` entry, else the stage's `*/*`).
    pub fn method_metrics(
        &self,
        path: &str,
        method: &Method,
    ) -> Option<Arc<tollgate_telemetry::RestMetrics>> {
        let (registry, api_name) = self.telemetry?;
        let settings = &self.stage.method_settings;
        let setting = settings
            .get(&method_setting_key(path, &method.http_method))
            .or_else(|| settings.get("*/*"))?;
        setting.metrics_enabled.then(|| {
            Arc::new(tollgate_telemetry::RestMetrics::method(
                registry,
                api_name,
                &self.stage.stage_name,
                &method.http_method,
                path,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_sources_parse_with_lowercase_headers() {
        assert_eq!(
            IdentitySource::parse("method.request.header.Authorization"),
            Some(IdentitySource::Header("authorization".into()))
        );
        assert_eq!(
            IdentitySource::parse("method.request.querystring.token"),
            Some(IdentitySource::Query("token".into()))
        );
        assert_eq!(
            IdentitySource::parse("context.identity.sourceIp"),
            Some(IdentitySource::Context("identity.sourceIp".into()))
        );
        assert_eq!(IdentitySource::parse("nonsense"), None);
    }
}
