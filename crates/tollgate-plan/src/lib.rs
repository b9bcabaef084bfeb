//! The per-stage plan: everything the data plane needs to serve one stage, compiled once from
//! a deployment's snapshot plus the stage's settings, then shared immutably.
//!
//! Compiling does all the work that does not depend on the request: the path router, the
//! per-method integration settings, parsed parameter mappings, parsed mapping templates and
//! compiled `selectionPattern` regexes. Serving a request then only reads the plan.

mod auth;
mod gateway_responses;
pub mod http_api;
mod mapping;
mod uri_template;
mod validation;
pub mod websocket;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub use auth::{AuthorizerKind, AuthorizerPlan, IdentitySource, StageGuards};
pub use gateway_responses::{GatewayResponsePlan, GatewayResponses};
pub use mapping::{ParameterMapping, Source, Target};
use regex::Regex;
use tollgate_model::rest::{ApiSnapshot, DeploymentRecord, Integration, IntegrationType, Method};
use tollgate_router::Router;
use tollgate_vtl::Template;
pub use uri_template::{UriPiece, UriTemplate, uri_pieces};
pub use validation::{ParameterLocation, RequestValidation, ValidationFailure};

/// One stage, ready to serve: its primary deployment and, with canary settings, the canary.
pub struct StagePlan {
    pub api_id: String,
    pub stage: String,
    /// The stage's metric handles (none when the plan records nothing).
    pub metrics: Option<Arc<tollgate_telemetry::RestMetrics>>,
    /// `accessLogSettings.format`, compiled; none when access logging is off.
    pub access_log: Option<Arc<tollgate_telemetry::AccessLogFormat>>,
    /// `accessLogSettings.destinationArn`: where the lines go, when it is mapped to a file.
    pub access_log_destination: Option<String>,
    /// `tracingEnabled`.
    pub tracing_enabled: bool,
    /// Execution logging of the stage (`methodSettings` `*/*` `logging/loglevel` and
    /// `logging/dataTrace`); methods may log more or less (their own `methodSettings`).
    pub execution_log: ExecutionLogging,
    /// Whether the stage or any of its methods logs executions: only then does a request
    /// collect its steps.
    pub logs_executions: bool,
    pub primary: Variant,
    /// `(percentTraffic, variant)`: that share of requests goes to the canary deployment.
    pub canary: Option<(f64, Variant)>,
}

impl StagePlan {
    /// Compiles a stage against its deployment, and its canary deployment if it has one.
    pub fn compile(
        api_id: &str,
        guards: &StageGuards<'_>,
        primary: &DeploymentRecord,
        canary: Option<&DeploymentRecord>,
    ) -> Self {
        let stage = guards.stage;
        let variables: HashMap<String, String> = stage
            .variables
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let canary = match (&stage.canary_settings, canary) {
            (Some(settings), Some(record)) => {
                let mut canary_vars = variables.clone();
                canary_vars.extend(
                    settings
                        .stage_variable_overrides
                        .clone()
                        .unwrap_or_default(),
                );
                Some((
                    settings.percent_traffic,
                    Variant::compile(api_id, record, canary_vars, true, Some(guards)),
                ))
            }
            _ => None,
        };
        let access_log = stage
            .access_log_settings
            .as_ref()
            .and_then(|a| a.format.as_deref())
            .filter(|f| !f.trim().is_empty())
            .map(|f| Arc::new(tollgate_telemetry::AccessLogFormat::compile(f)));
        Self {
            api_id: api_id.to_string(),
            stage: stage.stage_name.clone(),
            metrics: guards.stage_metrics(),
            access_log,
            access_log_destination: stage
                .access_log_settings
                .as_ref()
                .and_then(|a| a.destination_arn.clone()),
            tracing_enabled: stage.tracing_enabled,
            execution_log: ExecutionLogging::of(stage),
            logs_executions: stage
                .method_settings
                .values()
                .any(|s| ExecutionLogging::from_setting(s).level != LogLevel::Off),
            primary: Variant::compile(api_id, primary, variables, false, Some(guards)),
            canary,
        }
    }

    /// The variant a request goes to, given a uniform random number in `[0, 100)`.
    pub fn pick(&self, roll: f64) -> &Variant {
        match &self.canary {
            Some((percent, canary)) if roll < *percent => canary,
            _ => &self.primary,
        }
    }
}

/// How much of a request's execution a stage logs (API Gateway's `loggingLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    #[default]
    Off,
    /// Only requests that end in an error.
    Error,
    /// Every request.
    Info,
}

/// A stage's execution logging.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecutionLogging {
    pub level: LogLevel,
    /// `dataTraceEnabled`: also log request and response bodies.
    pub data_trace: bool,
}

impl ExecutionLogging {
    fn of(stage: &tollgate_model::rest::Stage) -> Self {
        stage
            .method_settings
            .get("*/*")
            .map(Self::from_setting)
            .unwrap_or_default()
    }

    pub(crate) fn from_setting(setting: &tollgate_model::rest::MethodSetting) -> Self {
        Self {
            level: match setting.logging_level.as_str() {
                "INFO" => LogLevel::Info,
                "ERROR" => LogLevel::Error,
                _ => LogLevel::Off,
            },
            data_trace: setting.data_trace_enabled,
        }
    }
}

/// The stage name test invocations run under.
pub const TEST_STAGE: &str = "test-invoke-stage";

/// One deployment as a stage serves it.
pub struct Variant {
    pub deployment_id: String,
    pub is_canary: bool,
    pub stage_variables: Arc<HashMap<String, String>>,
    pub routes: Router<ResourcePlan>,
    pub binary_media_types: Vec<String>,
    pub gateway_responses: GatewayResponses,
    /// `apiKeySource` `AUTHORIZER`: the key comes from the authorizer's `usageIdentifierKey`
    /// rather than the `x-api-key` header.
    pub api_key_from_authorizer: bool,
    /// The API's resource policy (`policy`), compiled; abbreviated resources
    /// (`execute-api:/stage/METHOD/path`) match this API in any region and account.
    pub resource_policy: Option<Arc<tollgate_iam::policy::Policy>>,
}

/// A resource policy compiled; one that does not compile denies everything (and is logged),
/// since what it meant to allow cannot be known.
fn resource_policy(api_id: &str, text: Option<&str>) -> Option<Arc<tollgate_iam::policy::Policy>> {
    use tollgate_iam::policy::Policy;
    let text = text.filter(|t| !t.trim().is_empty())?;
    let policy = Policy::parse_resource_policy(text, "*", "*", api_id).unwrap_or_else(|e| {
        tracing::error!(api_id, error = %e, "the resource policy does not compile; it denies everything");
        let deny = r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}}"#;
        Policy::parse(deny).unwrap_or_else(|_| unreachable!("a fixed, valid policy"))
    });
    Some(Arc::new(policy))
}

impl Variant {
    /// Compiles one deployment with the stage variables it is served with; without `guards`
    /// (a test invocation) nothing is throttled.
    pub fn compile(
        api_id: &str,
        record: &DeploymentRecord,
        variables: HashMap<String, String>,
        is_canary: bool,
        guards: Option<&StageGuards<'_>>,
    ) -> Self {
        let stage = guards.map_or(TEST_STAGE, |g| g.stage.stage_name.as_str());
        let generation = guards.map_or(0, |g| g.authorizer_generation);
        let authorizers: HashMap<&str, Arc<AuthorizerPlan>> = record
            .snapshot
            .authorizers
            .iter()
            .map(|a| {
                let plan = AuthorizerPlan::compile(a, api_id, stage, generation);
                (a.id.as_str(), Arc::new(plan))
            })
            .collect();
        let mut routes = Router::new();
        for resource in &record.snapshot.resources {
            let path = resource.path.clone().unwrap_or_else(|| "/".into());
            let methods = resource
                .resource_methods
                .values()
                .filter_map(|m| {
                    let mut plan = MethodPlan::compile(m, &resource.id, &path, &record.snapshot)?;
                    plan.authorizer = m
                        .authorizer_id
                        .as_deref()
                        .filter(|_| {
                            matches!(
                                m.authorization_type.as_str(),
                                "CUSTOM" | "COGNITO_USER_POOLS"
                            )
                        })
                        .and_then(|id| authorizers.get(id).cloned());
                    plan.throttle = guards.and_then(|g| g.method_limiter(api_id, &path, m));
                    plan.metrics = guards.and_then(|g| g.method_metrics(&path, m));
                    if let Some(g) = guards {
                        plan.execution_log = g.method_logging(&path, m);
                    }
                    Some(Arc::new(plan))
                })
                .collect();
            let plan = ResourcePlan {
                id: resource.id.clone(),
                path: path.clone(),
                methods,
            };
            if let Err(e) = routes.insert(&path, plan) {
                tracing::warn!(api_id, stage, path, error = %e, "resource left out of the plan");
            }
        }
        Self {
            deployment_id: record.deployment.id.clone(),
            is_canary,
            stage_variables: Arc::new(variables),
            routes,
            gateway_responses: GatewayResponses::compile(&record.snapshot.gateway_responses),
            api_key_from_authorizer: record.snapshot.api.api_key_source == "AUTHORIZER",
            resource_policy: resource_policy(api_id, record.snapshot.api.policy.as_deref()),
            binary_media_types: record
                .snapshot
                .api
                .binary_media_types
                .clone()
                .unwrap_or_default(),
        }
    }
}

/// A resource and its methods.
pub struct ResourcePlan {
    pub id: String,
    pub path: String,
    pub methods: Vec<Arc<MethodPlan>>,
}

impl ResourcePlan {
    /// The method for an HTTP method: an exact one, else `ANY`.
    pub fn method(&self, http_method: &str) -> Option<&Arc<MethodPlan>> {
        self.methods
            .iter()
            .find(|m| m.http_method == http_method)
            .or_else(|| self.methods.iter().find(|m| m.http_method == "ANY"))
    }
}

/// A method with its integration.
pub struct MethodPlan {
    pub http_method: String,
    pub resource_id: String,
    pub resource_path: String,
    pub authorization_type: String,
    pub api_key_required: bool,
    /// The authorizer of a `CUSTOM` or `COGNITO_USER_POOLS` method.
    pub authorizer: Option<Arc<AuthorizerPlan>>,
    pub authorization_scopes: Vec<String>,
    /// The stage's throttle for this method.
    pub throttle: Option<Arc<dyn tollgate_shared::RateLimiter>>,
    /// The method's own metric handles, when the stage has detailed metrics on for it.
    pub metrics: Option<Arc<tollgate_telemetry::RestMetrics>>,
    /// The method's execution logging: its `methodSettings` entry, else the stage's `*/*`.
    pub execution_log: ExecutionLogging,
    pub validation: Option<RequestValidation>,
    pub integration: IntegrationPlan,
}

impl MethodPlan {
    /// A method with no integration of its own (a MOCK), for running an authorizer alone.
    pub fn bare(http_method: &str, resource_path: &str) -> Self {
        let integration = Integration {
            integration_type: IntegrationType::Mock,
            http_method: None,
            uri: None,
            connection_type: None,
            connection_id: None,
            credentials: None,
            request_parameters: None,
            request_templates: None,
            passthrough_behavior: "WHEN_NO_MATCH".into(),
            content_handling: None,
            timeout_in_millis: 29_000,
            cache_namespace: String::new(),
            cache_key_parameters: Vec::new(),
            integration_responses: None,
            tls_config: None,
        };
        Self {
            http_method: http_method.to_string(),
            resource_id: String::new(),
            resource_path: resource_path.to_string(),
            authorization_type: "NONE".into(),
            api_key_required: false,
            authorizer: None,
            authorization_scopes: Vec::new(),
            throttle: None,
            metrics: None,
            execution_log: ExecutionLogging::default(),
            validation: None,
            integration: IntegrationPlan::compile(&integration),
        }
    }

    fn compile(
        method: &Method,
        resource_id: &str,
        path: &str,
        snapshot: &ApiSnapshot,
    ) -> Option<Self> {
        let integration = method.method_integration.as_ref()?;
        Some(Self {
            http_method: method.http_method.clone(),
            resource_id: resource_id.to_string(),
            resource_path: path.to_string(),
            authorization_type: method.authorization_type.clone(),
            api_key_required: method.api_key_required,
            authorizer: None,
            authorization_scopes: method.authorization_scopes.clone().unwrap_or_default(),
            throttle: None,
            metrics: None,
            execution_log: ExecutionLogging::default(),
            validation: RequestValidation::compile(method, snapshot),
            integration: IntegrationPlan::compile(integration),
        })
    }
}

/// What a request template does when none matches the request's content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passthrough {
    WhenNoMatch,
    WhenNoTemplates,
    Never,
}

/// `contentHandling`: how a payload is converted between binary and text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentHandling {
    /// Binary becomes a base64 string.
    ConvertToText,
    /// A base64 string becomes binary.
    ConvertToBinary,
}

impl ContentHandling {
    fn parse(value: Option<&str>) -> Option<Self> {
        match value? {
            "CONVERT_TO_TEXT" => Some(Self::ConvertToText),
            "CONVERT_TO_BINARY" => Some(Self::ConvertToBinary),
            _ => None,
        }
    }
}

/// Whether a content type is one of the API's `binaryMediaTypes` (`image/png`, `image/*`,
/// `*/*`).
pub fn is_binary(content_type: Option<&str>, binary_media_types: &[String]) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let wanted = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (kind, _) = wanted.split_once('/').unwrap_or((&wanted, ""));
    binary_media_types.iter().any(|t| {
        let t = t.to_ascii_lowercase();
        t == wanted || t == "*/*" || t.strip_suffix("/*").is_some_and(|k| k == kind)
    })
}

/// A mapping template, parsed.
pub struct MappingTemplate {
    pub content_type: String,
    pub template: Template,
}

fn compile_templates(
    templates: Option<&std::collections::BTreeMap<String, String>>,
) -> Vec<MappingTemplate> {
    templates
        .into_iter()
        .flatten()
        .filter_map(|(content_type, text)| match Template::parse(text) {
            Ok(template) => Some(MappingTemplate {
                content_type: content_type.to_ascii_lowercase(),
                template,
            }),
            Err(e) => {
                tracing::warn!(content_type, error = %e, "mapping template does not parse; left out");
                None
            }
        })
        .collect()
}

/// The template for a content type (`application/json` when the request has none), if any.
pub fn template_for<'a>(
    templates: &'a [MappingTemplate],
    content_type: Option<&str>,
) -> Option<&'a MappingTemplate> {
    let wanted = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "application/json".to_string());
    templates.iter().find(|t| t.content_type == wanted)
}

/// An integration, compiled.
pub struct IntegrationPlan {
    pub kind: IntegrationType,
    /// The method of the backend call (`integrationHttpMethod`).
    pub http_method: Option<String>,
    pub uri: Option<String>,
    /// `uri` split, when it is an `http` or `https` URI without stage variables.
    pub uri_template: Option<UriTemplate>,
    pub request_parameters: Vec<ParameterMapping>,
    pub request_templates: Vec<MappingTemplate>,
    pub passthrough: Passthrough,
    pub timeout: Duration,
    /// Integration responses with a `selectionPattern`, in status-code order.
    pub responses: Vec<ResponsePlan>,
    /// The integration response without a pattern, if any.
    pub default_response: Option<ResponsePlan>,
    pub insecure_skip_verification: bool,
    pub content_handling: Option<ContentHandling>,
}

impl IntegrationPlan {
    fn compile(integration: &Integration) -> Self {
        let request_parameters = integration
            .request_parameters
            .iter()
            .flatten()
            .filter_map(|(target, source)| ParameterMapping::parse(target, source))
            .collect();
        let mut responses = Vec::new();
        let mut default_response = None;
        for response in integration
            .integration_responses
            .iter()
            .flat_map(|r| r.values())
        {
            let plan = ResponsePlan::compile(response);
            match (&plan.pattern, &default_response) {
                (None, None) => default_response = Some(plan),
                (None, Some(_)) => {}
                (Some(_), _) => responses.push(plan),
            }
        }
        Self {
            kind: integration.integration_type,
            http_method: integration.http_method.clone(),
            uri: integration.uri.clone(),
            uri_template: integration.uri.as_deref().and_then(UriTemplate::parse),
            request_parameters,
            request_templates: compile_templates(integration.request_templates.as_ref()),
            passthrough: match integration.passthrough_behavior.as_str() {
                "NEVER" => Passthrough::Never,
                "WHEN_NO_TEMPLATES" => Passthrough::WhenNoTemplates,
                _ => Passthrough::WhenNoMatch,
            },
            timeout: Duration::from_millis(integration.timeout_in_millis.clamp(50, 29_000) as u64),
            responses,
            default_response,
            content_handling: ContentHandling::parse(integration.content_handling.as_deref()),
            insecure_skip_verification: integration
                .tls_config
                .as_ref()
                .is_some_and(|t| t.insecure_skip_verification),
        }
    }

    /// The default integration response (the one without a pattern): what a Lambda
    /// integration that succeeded answers with.
    pub fn default_only(&self) -> Option<&ResponsePlan> {
        self.default_response.as_ref()
    }

    /// The integration response for what the integration answered (its status code as text,
    /// or an error message for Lambda): the first pattern that matches all of it, else the
    /// default one.
    pub fn select_response(&self, selector: &str) -> Option<&ResponsePlan> {
        self.responses
            .iter()
            .find(|r| r.pattern.as_ref().is_some_and(|p| p.is_match(selector)))
            .or(self.default_response.as_ref())
    }
}

/// An integration response, compiled.
pub struct ResponsePlan {
    pub status: u16,
    pub pattern: Option<Regex>,
    /// `method.response.header.X` mappings.
    pub headers: Vec<(String, Source)>,
    pub templates: Vec<MappingTemplate>,
    pub content_handling: Option<ContentHandling>,
}

impl ResponsePlan {
    fn compile(response: &tollgate_model::rest::IntegrationResponse) -> Self {
        // API Gateway matches the pattern against the whole selector (Java `matches`).
        let pattern = response
            .selection_pattern
            .as_deref()
            .filter(|p| !p.is_empty())
            .and_then(|p| match Regex::new(&format!("^(?s:{p})$")) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!(pattern = p, error = %e, "selectionPattern does not compile; it never matches");
                    Regex::new("[^\\s\\S]").ok()
                }
            });
        let headers = response
            .response_parameters
            .iter()
            .flatten()
            .filter_map(|(target, source)| {
                let name = target.strip_prefix("method.response.header.")?;
                Some((name.to_string(), Source::parse(source)?))
            })
            .collect();
        Self {
            status: response.status_code.parse().unwrap_or(500),
            pattern,
            headers,
            templates: compile_templates(response.response_templates.as_ref()),
            content_handling: ContentHandling::parse(response.content_handling.as_deref()),
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod binary_tests {
    use super::is_binary;

    #[test]
    fn binary_media_types_match_exactly_or_by_wildcard() {
        let types = vec!["image/png".to_string(), "application/*".to_string()];
        assert!(is_binary(Some("image/png"), &types));
        assert!(is_binary(Some("application/octet-stream; x=1"), &types));
        assert!(!is_binary(Some("image/jpeg"), &types));
        assert!(!is_binary(None, &types));
        assert!(is_binary(Some("text/plain"), &["*/*".to_string()]));
    }
}

/// `TestInvokeMethod`: running one method of an API's current, undeployed configuration the
/// way the data plane would. The management API asks; the data plane answers, through this
/// trait, so that neither depends on the other.
pub mod test_invoke {
    use std::collections::HashMap;
    use std::future::Future;
    use std::pin::Pin;

    use tollgate_model::rest::DeploymentRecord;

    /// One test invocation.
    pub struct TestInvocation {
        pub api_id: String,
        /// The API as it is now, frozen like a deployment.
        pub record: DeploymentRecord,
        pub stage_variables: HashMap<String, String>,
        pub resource_id: String,
        pub http_method: String,
        pub path_with_query: String,
        pub headers: Vec<(String, String)>,
        pub body: String,
    }

    /// What the method answered, and the execution log.
    pub struct TestOutcome {
        pub status: u16,
        pub headers: Vec<(String, String)>,
        pub body: String,
        pub log: String,
        pub latency_ms: u64,
    }

    /// `TestInvokeAuthorizer`: one authorizer of the API as it is now, given a request.
    pub struct AuthorizerTest {
        pub api_id: String,
        pub authorizer: tollgate_model::rest::Authorizer,
        pub headers: Vec<(String, String)>,
        pub path_with_query: String,
        pub body: String,
        pub stage_variables: HashMap<String, String>,
    }

    /// What the authorizer answered: `client_status` is what a client would have got from it
    /// (200 when it answered with a policy, 401, or 500).
    pub struct AuthorizerOutcome {
        pub client_status: u16,
        pub log: String,
        pub latency_ms: u64,
        pub principal_id: Option<String>,
        /// The policy document as JSON text.
        pub policy: Option<String>,
        /// The authorizer's `context`, each value as a one-element list.
        pub authorization: std::collections::BTreeMap<String, Vec<String>>,
    }

    pub trait MethodTester: Send + Sync {
        fn test_invoke(
            &self,
            invocation: TestInvocation,
        ) -> Pin<Box<dyn Future<Output = TestOutcome> + Send + '_>>;

        fn test_authorizer(
            &self,
            test: AuthorizerTest,
        ) -> Pin<Box<dyn Future<Output = AuthorizerOutcome> + Send + '_>>;
    }
}

#[cfg(test)]
mod resource_policy_tests {
    use tollgate_iam::policy::{Decision, RequestContext};

    fn decide(text: &str, resource: &str) -> Option<Decision> {
        super::resource_policy("abc123", Some(text)).map(|p| {
            p.evaluate(&RequestContext {
                action: "execute-api:Invoke",
                resource,
                ..Default::default()
            })
        })
    }

    #[test]
    fn abbreviated_resources_match_the_api_and_bad_policies_deny() {
        let allow = r#"{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/prod/*"}}"#;
        let here = "arn:aws:execute-api:us-east-1:000000000000:abc123/prod/GET/pets";
        let other = "arn:aws:execute-api:us-east-1:000000000000:zzz999/prod/GET/pets";
        assert_eq!(decide(allow, here), Some(Decision::Allow));
        assert_eq!(decide(allow, other), Some(Decision::ImplicitDeny));
        assert_eq!(decide("{not json", here), Some(Decision::ExplicitDeny));
        assert!(super::resource_policy("abc123", Some("  ")).is_none());
        assert!(super::resource_policy("abc123", None).is_none());
    }
}
