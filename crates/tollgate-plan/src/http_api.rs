//! The plan of one HTTP API stage (`apigatewayv2`): routes by method and path with the
//! route priorities of HTTP APIs, the `$default` route, integrations with their parameter
//! mappings, authorizers, CORS and throttling, compiled once from a deployment and its stage.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tollgate_model::v2::{
    ApiSnapshot, Authorizer, Cors, DeploymentRecord, Integration, Route, RouteKey, RouteSettings,
    StageRecord,
};
use tollgate_router::Router;

/// `detailedMetricsEnabled` of a route: its own setting, else the stage's default.
pub fn detailed_metrics(route: Option<&RouteSettings>, defaults: &RouteSettings) -> bool {
    route
        .and_then(|r| r.detailed_metrics_enabled)
        .or(defaults.detailed_metrics_enabled)
        .unwrap_or(false)
}

/// One HTTP API stage, ready to serve.
pub struct HttpStagePlan {
    pub api_id: String,
    pub stage: String,
    pub deployment_id: String,
    pub stage_variables: HashMap<String, String>,
    /// Routes with a path, by path; each path holds its methods.
    pub routes: Router<RouteSet>,
    /// `$default`: what answers when no other route matches.
    pub default_route: Option<Arc<HttpRoutePlan>>,
    pub cors: Option<CorsPlan>,
    /// Bumped by `ResetAuthorizersCache`: the authorizer cache of this plan starts empty.
    pub authorizer_cache_generation: u64,
    /// The stage's metric handles (`ApiId`, `Stage`).
    pub metrics: Option<Arc<tollgate_telemetry::HttpApiMetrics>>,
}

/// The routes of one path.
#[derive(Default)]
pub struct RouteSet {
    methods: HashMap<String, Arc<HttpRoutePlan>>,
    any: Option<Arc<HttpRoutePlan>>,
}

impl RouteSet {
    /// The route for a method: its own, else `ANY`.
    pub fn route(&self, method: &str) -> Option<&Arc<HttpRoutePlan>> {
        self.methods.get(method).or(self.any.as_ref())
    }
}

/// A matched route and its path parameters (raw).
pub type RouteMatch<'r, 'p> = (&'r Arc<HttpRoutePlan>, Vec<(&'r str, &'p str)>);

/// One route.
pub struct HttpRoutePlan {
    pub route_id: String,
    pub route_key: String,
    /// The path of the route key (`/pets/{id}`), `None` for `$default`.
    pub path: Option<String>,
    pub integration: Option<Arc<HttpIntegrationPlan>>,
    pub auth: RouteAuth,
    /// Requests per second and burst, from the stage's route settings or its defaults.
    pub throttle: Option<Throttle>,
    /// The route's rate limiter, resolved from the shared state on first use (by name, so a
    /// recompiled plan keeps the bucket).
    pub limiter: std::sync::OnceLock<Arc<dyn tollgate_shared::RateLimiter>>,
    /// The route's own metric handles, when its settings turn detailed metrics on.
    pub metrics: Option<Arc<tollgate_telemetry::HttpApiMetrics>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    pub rate: f64,
    pub burst: u64,
}

/// How a route is authorized.
pub enum RouteAuth {
    None,
    Jwt {
        authorizer: Arc<JwtAuthorizerPlan>,
        scopes: Vec<String>,
    },
    Lambda(Arc<LambdaAuthorizerPlan>),
    /// `AWS_IAM`: SigV4 verification, which the data plane does not do yet (answers 403).
    Iam,
    /// The route names an authorizer the deployment does not have.
    Misconfigured(String),
}

pub struct JwtAuthorizerPlan {
    pub id: String,
    pub issuer: String,
    pub audience: Vec<String>,
    /// Where the token is: `$request.header.Authorization` and the like.
    pub identity_source: Value,
}

pub struct LambdaAuthorizerPlan {
    pub id: String,
    pub name: String,
    pub function_arn: String,
    pub payload_version: PayloadVersion,
    pub simple_responses: bool,
    pub ttl: Duration,
    pub identity_sources: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadVersion {
    V1,
    V2,
}

/// What an integration calls.
pub enum IntegrationTarget {
    Http {
        uri: String,
        method: String,
    },
    Lambda {
        function_arn: String,
        payload: PayloadVersion,
    },
}

pub struct HttpIntegrationPlan {
    pub id: String,
    pub target: IntegrationTarget,
    pub timeout: Duration,
    pub request_parameters: Vec<RequestMapping>,
    /// By status code: what changes in a response with that status.
    pub response_parameters: Vec<(u16, Vec<ResponseMapping>)>,
    pub server_name_to_verify: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingAction {
    Append,
    Overwrite,
    Remove,
}

/// What a request parameter mapping changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestTarget {
    Header(String),
    QueryString(String),
    Path,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestMapping {
    pub action: MappingAction,
    pub target: RequestTarget,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseTarget {
    Header(String),
    StatusCode,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResponseMapping {
    pub action: MappingAction,
    pub target: ResponseTarget,
    pub value: Value,
}

/// A mapping value: literal text with `$request.header.x`, `${context.requestId}` and the
/// like in it, parsed once.
#[derive(Debug, Clone, PartialEq)]
pub struct Value(pub Vec<Piece>);

#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    RequestHeader(String),
    RequestQuery(String),
    RequestPath,
    RequestPathParam(String),
    /// A JSONPath into the request body (`$request.body.a.b` is `$.a.b`).
    RequestBody(String),
    ResponseHeader(String),
    ResponseBody(String),
    Context(String),
    StageVariable(String),
}

impl Value {
    pub fn parse(text: &str) -> Self {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            literal.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let (expression, consumed) = match after.strip_prefix('{') {
                Some(inner) => match inner.find('}') {
                    Some(end) => (&inner[..end], end + 2),
                    None => ("", 0),
                },
                None => {
                    let end = after
                        .find(|c: char| {
                            !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '[' | ']'))
                        })
                        .unwrap_or(after.len());
                    (&after[..end], end)
                }
            };
            match Self::piece(expression) {
                Some(piece) => {
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(piece);
                    rest = &after[consumed..];
                }
                None => {
                    literal.push('$');
                    rest = after;
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Self(pieces)
    }

    fn piece(expression: &str) -> Option<Piece> {
        let name = |prefix: &str| {
            expression
                .strip_prefix(prefix)
                .filter(|n| !n.is_empty())
                .map(String::from)
        };
        if expression == "request.path" {
            return Some(Piece::RequestPath);
        }
        if expression == "request.body" {
            return Some(Piece::RequestBody("$".into()));
        }
        if expression == "response.body" {
            return Some(Piece::ResponseBody("$".into()));
        }
        name("request.header.")
            .map(Piece::RequestHeader)
            .or_else(|| name("request.querystring.").map(Piece::RequestQuery))
            .or_else(|| name("request.path.").map(Piece::RequestPathParam))
            .or_else(|| name("request.body.").map(|p| Piece::RequestBody(format!("$.{p}"))))
            .or_else(|| name("response.header.").map(Piece::ResponseHeader))
            .or_else(|| name("response.body.").map(|p| Piece::ResponseBody(format!("$.{p}"))))
            .or_else(|| name("context.").map(Piece::Context))
            .or_else(|| name("stageVariables.").map(Piece::StageVariable))
    }

    /// The value with each piece resolved by `lookup` (a piece without a value is empty).
    pub fn render(&self, lookup: impl Fn(&Piece) -> Option<String>) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                other => out.push_str(&lookup(other).unwrap_or_default()),
            }
        }
        out
    }
}

/// `CorsConfiguration`, normalized for matching.
pub struct CorsPlan {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<i64>,
    pub allow_credentials: bool,
}

impl CorsPlan {
    fn compile(cors: &Cors) -> Self {
        Self {
            allow_origins: cors.allow_origins.clone().unwrap_or_default(),
            allow_methods: cors
                .allow_methods
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|m| m.to_ascii_uppercase())
                .collect(),
            allow_headers: cors
                .allow_headers
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            expose_headers: cors.expose_headers.clone().unwrap_or_default(),
            max_age: cors.max_age,
            allow_credentials: cors.allow_credentials.unwrap_or(false),
        }
    }

    /// The `Access-Control-Allow-Origin` value for a request's `Origin`, if it is allowed.
    pub fn allowed_origin(&self, origin: &str) -> Option<String> {
        if self.allow_origins.iter().any(|o| o == "*") {
            return Some(if self.allow_credentials {
                origin.to_string()
            } else {
                "*".to_string()
            });
        }
        self.allow_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin) || wildcard_match(o, origin))
            .then(|| origin.to_string())
    }
}

/// Origins such as `https://*.example.com`.
fn wildcard_match(pattern: &str, origin: &str) -> bool {
    match pattern.split_once('*') {
        Some((prefix, suffix)) => {
            origin.len() >= prefix.len() + suffix.len()
                && origin[..prefix.len()].eq_ignore_ascii_case(prefix)
                && origin[origin.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
        }
        None => false,
    }
}

fn parse_action(action: &str) -> Option<MappingAction> {
    match action {
        "append" => Some(MappingAction::Append),
        "overwrite" => Some(MappingAction::Overwrite),
        "remove" => Some(MappingAction::Remove),
        _ => None,
    }
}

fn request_mapping(key: &str, value: &str) -> Option<RequestMapping> {
    let (action, target) = key.split_once(':')?;
    let target = if target == "path" {
        RequestTarget::Path
    } else if let Some(h) = target.strip_prefix("header.") {
        RequestTarget::Header(h.to_ascii_lowercase())
    } else {
        RequestTarget::QueryString(target.strip_prefix("querystring.")?.to_string())
    };
    Some(RequestMapping {
        action: parse_action(action)?,
        target,
        value: Value::parse(value),
    })
}

fn response_mapping(key: &str, value: &str) -> Option<ResponseMapping> {
    let (action, target) = key.split_once(':')?;
    let target = if target == "statuscode" {
        ResponseTarget::StatusCode
    } else {
        ResponseTarget::Header(target.strip_prefix("header.")?.to_ascii_lowercase())
    };
    Some(ResponseMapping {
        action: parse_action(action)?,
        target,
        value: Value::parse(value),
    })
}

impl HttpIntegrationPlan {
    fn compile(integration: &Integration) -> Option<Self> {
        let target = match integration.integration_type.as_str() {
            "HTTP_PROXY" => IntegrationTarget::Http {
                uri: integration.integration_uri.clone()?,
                method: integration
                    .integration_method
                    .clone()
                    .unwrap_or_else(|| "ANY".into()),
            },
            "AWS_PROXY" => IntegrationTarget::Lambda {
                function_arn: integration.function_arn()?.to_string(),
                payload: if integration.payload_format_version == "2.0" {
                    PayloadVersion::V2
                } else {
                    PayloadVersion::V1
                },
            },
            _ => return None,
        };
        Some(Self {
            id: integration.integration_id.clone(),
            target,
            timeout: Duration::from_millis(integration.timeout_in_millis.clamp(50, 30_000) as u64),
            request_parameters: integration
                .request_parameters
                .iter()
                .flatten()
                .filter_map(|(k, v)| request_mapping(k, v))
                .collect(),
            response_parameters: integration
                .response_parameters
                .iter()
                .flatten()
                .filter_map(|(status, map)| {
                    let mappings = map
                        .iter()
                        .filter_map(|(k, v)| response_mapping(k, v))
                        .collect();
                    Some((status.parse().ok()?, mappings))
                })
                .collect(),
            server_name_to_verify: integration
                .tls_config
                .as_ref()
                .and_then(|t| t.server_name_to_verify.clone()),
        })
    }

    /// The response mappings for a status code.
    pub fn response_mappings(&self, status: u16) -> &[ResponseMapping] {
        self.response_parameters
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(&[], |(_, m)| m.as_slice())
    }
}

fn identity_value(source: &str) -> Value {
    Value::parse(source)
}

fn compile_authorizer(authorizer: &Authorizer) -> Option<AuthorizerPlan> {
    match authorizer.authorizer_type.as_str() {
        "JWT" => {
            let config = authorizer.jwt_configuration.as_ref()?;
            Some(AuthorizerPlan::Jwt(Arc::new(JwtAuthorizerPlan {
                id: authorizer.authorizer_id.clone(),
                issuer: config.issuer.clone()?,
                audience: config.audience.clone().unwrap_or_default(),
                identity_source: identity_value(authorizer.identity_source.first()?),
            })))
        }
        "REQUEST" => {
            let uri = authorizer.authorizer_uri.as_deref()?;
            let function_arn = match uri.split_once(":lambda:path/2015-03-31/functions/") {
                Some((_, rest)) => rest.strip_suffix("/invocations")?,
                None => uri,
            };
            Some(AuthorizerPlan::Lambda(Arc::new(LambdaAuthorizerPlan {
                id: authorizer.authorizer_id.clone(),
                name: authorizer.name.clone(),
                function_arn: function_arn.to_string(),
                payload_version: if authorizer.authorizer_payload_format_version.as_deref()
                    == Some("2.0")
                {
                    PayloadVersion::V2
                } else {
                    PayloadVersion::V1
                },
                simple_responses: authorizer.enable_simple_responses == Some(true),
                ttl: Duration::from_secs(
                    authorizer
                        .authorizer_result_ttl_in_seconds
                        .unwrap_or(0)
                        .clamp(0, 3600) as u64,
                ),
                identity_sources: authorizer
                    .identity_source
                    .iter()
                    .map(|s| identity_value(s))
                    .collect(),
            })))
        }
        _ => None,
    }
}

enum AuthorizerPlan {
    Jwt(Arc<JwtAuthorizerPlan>),
    Lambda(Arc<LambdaAuthorizerPlan>),
}

fn throttle_of(settings: Option<&RouteSettings>, defaults: &RouteSettings) -> Option<Throttle> {
    let rate = settings
        .and_then(|s| s.throttling_rate_limit)
        .or(defaults.throttling_rate_limit);
    let burst = settings
        .and_then(|s| s.throttling_burst_limit)
        .or(defaults.throttling_burst_limit);
    // Whichever is not set takes the account's default (10,000 per second, burst 5,000).
    match (rate, burst) {
        (None, None) => None,
        (rate, burst) => Some(Throttle {
            rate: rate.unwrap_or(10_000.0),
            burst: burst.map_or(5_000, |b| b.max(0) as u64),
        }),
    }
}

impl HttpStagePlan {
    /// Compiles a stage; its metric handles come from `registry` when given.
    pub fn compile(
        api_id: &str,
        stage: &StageRecord,
        record: &DeploymentRecord,
        registry: Option<&tollgate_telemetry::Registry>,
    ) -> Self {
        let snapshot: &ApiSnapshot = &record.snapshot;
        let integrations: HashMap<&str, Arc<HttpIntegrationPlan>> = snapshot
            .integrations
            .iter()
            .filter_map(|i| {
                Some((
                    i.integration_id.as_str(),
                    Arc::new(HttpIntegrationPlan::compile(i)?),
                ))
            })
            .collect();
        let authorizers: HashMap<&str, AuthorizerPlan> = snapshot
            .authorizers
            .iter()
            .filter_map(|a| Some((a.authorizer_id.as_str(), compile_authorizer(a)?)))
            .collect();
        let settings = &stage.stage;
        let mut by_path: HashMap<String, RouteSet> = HashMap::new();
        let mut default_route = None;
        for route in &snapshot.routes {
            let Ok(key) = RouteKey::parse(&route.route_key) else {
                continue;
            };
            let route_settings = settings.route_settings.get(&route.route_key);
            let mut plan = Self::compile_route(
                route,
                &key,
                &integrations,
                &authorizers,
                route_settings,
                &settings.default_route_settings,
            );
            if detailed_metrics(route_settings, &settings.default_route_settings) {
                plan.metrics = registry.map(|r| {
                    Arc::new(tollgate_telemetry::HttpApiMetrics::of(
                        r,
                        api_id,
                        &settings.stage_name,
                        Some(&route.route_key),
                    ))
                });
            }
            let plan = Arc::new(plan);
            match key {
                RouteKey::Default => default_route = Some(plan),
                RouteKey::Route { method, path } => {
                    let set = by_path.entry(path).or_default();
                    if method == "ANY" {
                        set.any = Some(plan);
                    } else {
                        set.methods.insert(method, plan);
                    }
                }
            }
        }
        let mut routes = Router::new();
        for (path, set) in by_path {
            if let Err(e) = routes.insert(&path, set) {
                tracing::warn!(api_id, path, error = %e, "route left out of the plan");
            }
        }
        Self {
            api_id: api_id.to_string(),
            stage: settings.stage_name.clone(),
            deployment_id: record.deployment.deployment_id.clone(),
            stage_variables: settings.stage_variables.clone().into_iter().collect(),
            routes,
            default_route,
            cors: snapshot
                .api
                .cors_configuration
                .as_ref()
                .map(CorsPlan::compile),
            authorizer_cache_generation: stage.authorizer_cache_generation,
            metrics: registry.map(|r| {
                Arc::new(tollgate_telemetry::HttpApiMetrics::of(
                    r,
                    api_id,
                    &settings.stage_name,
                    None,
                ))
            }),
        }
    }

    fn compile_route(
        route: &Route,
        key: &RouteKey,
        integrations: &HashMap<&str, Arc<HttpIntegrationPlan>>,
        authorizers: &HashMap<&str, AuthorizerPlan>,
        settings: Option<&RouteSettings>,
        defaults: &RouteSettings,
    ) -> HttpRoutePlan {
        let authorizer = route
            .authorizer_id
            .as_deref()
            .map(|id| (id, authorizers.get(id)));
        let auth = match (route.authorization_type.as_str(), authorizer) {
            ("JWT", Some((_, Some(AuthorizerPlan::Jwt(a))))) => RouteAuth::Jwt {
                authorizer: Arc::clone(a),
                scopes: route.authorization_scopes.clone().unwrap_or_default(),
            },
            ("CUSTOM", Some((_, Some(AuthorizerPlan::Lambda(a))))) => {
                RouteAuth::Lambda(Arc::clone(a))
            }
            ("AWS_IAM", _) => RouteAuth::Iam,
            ("NONE", _) => RouteAuth::None,
            (kind, found) => RouteAuth::Misconfigured(format!(
                "route {} has authorization {kind} with authorizer {:?}",
                route.route_key,
                found.map(|(id, _)| id)
            )),
        };
        HttpRoutePlan {
            route_id: route.route_id.clone(),
            route_key: route.route_key.clone(),
            path: match key {
                RouteKey::Default => None,
                RouteKey::Route { path, .. } => Some(path.clone()),
            },
            integration: route
                .integration_id()
                .and_then(|id| integrations.get(id).cloned()),
            auth,
            throttle: throttle_of(settings, defaults),
            limiter: std::sync::OnceLock::new(),
            metrics: None,
        }
    }

    /// The route a request takes: the most specific path route with this method (or `ANY`),
    /// backing up past paths without one, else `$default`. Path parameters come raw.
    pub fn route<'p>(&self, method: &str, path: &'p str) -> Option<RouteMatch<'_, 'p>> {
        match self
            .routes
            .at_where(path, |set| set.route(method).is_some())
        {
            Some(found) => {
                let route = found.value.route(method)?;
                Some((route, found.params))
            }
            None => self.default_route.as_ref().map(|r| (r, Vec::new())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_model::v2::{Deployment, Stage, StageInput};

    fn route(id: &str, key: &str) -> Route {
        Route::create(
            &serde_json::from_value(serde_json::json!({"routeKey": key})).unwrap(),
            id.into(),
        )
        .unwrap()
    }

    fn plan(keys: &[&str]) -> HttpStagePlan {
        let api = tollgate_model::v2::Api::create(
            &serde_json::from_value(serde_json::json!({"name": "a", "protocolType": "HTTP"}))
                .unwrap(),
            "api".into(),
            "e".into(),
            "t".into(),
        )
        .unwrap();
        let record = DeploymentRecord {
            deployment: Deployment {
                deployment_id: "d".into(),
                created_date: "t".into(),
                deployment_status: "DEPLOYED".into(),
                auto_deployed: false,
                description: None,
            },
            snapshot: ApiSnapshot {
                api,
                routes: keys.iter().map(|k| route(k, k)).collect(),
                integrations: vec![],
                authorizers: vec![],
                route_responses: vec![],
                integration_responses: vec![],
                models: vec![],
            },
        };
        let stage = StageRecord {
            stage: Stage::create(
                &StageInput {
                    stage_name: Some("$default".into()),
                    ..Default::default()
                },
                "t".into(),
            )
            .unwrap(),
            authorizer_cache_generation: 0,
        };
        HttpStagePlan::compile("api", &stage, &record, None)
    }

    fn matched(plan: &HttpStagePlan, method: &str, path: &str) -> Option<String> {
        plan.route(method, path).map(|(r, _)| r.route_key.clone())
    }

    #[test]
    fn routes_match_by_aws_priority() {
        let plan = plan(&[
            "GET /pets/{id}",
            "GET /pets/dog/{id}",
            "ANY /{proxy+}",
            "GET /pets/{proxy+}",
            "$default",
            "POST /orders",
        ]);
        assert_eq!(
            matched(&plan, "GET", "/pets/dog/1").as_deref(),
            Some("GET /pets/dog/{id}")
        );
        assert_eq!(
            matched(&plan, "GET", "/pets/1").as_deref(),
            Some("GET /pets/{id}")
        );
        assert_eq!(
            matched(&plan, "GET", "/pets/1/toys").as_deref(),
            Some("GET /pets/{proxy+}")
        );
        assert_eq!(
            matched(&plan, "POST", "/pets/1").as_deref(),
            Some("ANY /{proxy+}")
        );
        assert_eq!(
            matched(&plan, "POST", "/orders").as_deref(),
            Some("POST /orders")
        );
        assert_eq!(matched(&plan, "GET", "/").as_deref(), Some("$default"));
        let (_, params) = plan.route("GET", "/pets/dog/7").unwrap();
        assert_eq!(params, vec![("id", "7")]);
        let without_default = super::tests::plan(&["GET /a"]);
        assert!(without_default.route("GET", "/b").is_none());
        assert!(without_default.route("POST", "/a").is_none());
    }

    #[test]
    fn mapping_values_parse_into_pieces() {
        let v = Value::parse("Bearer $request.header.token and ${context.requestId}!");
        assert_eq!(
            v.0,
            vec![
                Piece::Text("Bearer ".into()),
                Piece::RequestHeader("token".into()),
                Piece::Text(" and ".into()),
                Piece::Context("requestId".into()),
                Piece::Text("!".into()),
            ]
        );
        assert_eq!(
            Value::parse("$request.body.a.b").0,
            vec![Piece::RequestBody("$.a.b".into())]
        );
        assert_eq!(
            Value::parse("costs $5").0,
            vec![Piece::Text("costs $5".into())]
        );
        assert_eq!(
            v.render(|p| match p {
                Piece::RequestHeader(_) => Some("t".into()),
                _ => None,
            }),
            "Bearer t and !"
        );
    }

    #[test]
    fn cors_origins() {
        let cors = CorsPlan::compile(&Cors {
            allow_origins: Some(vec![
                "https://a.example".into(),
                "https://*.b.example".into(),
            ]),
            ..Default::default()
        });
        assert_eq!(
            cors.allowed_origin("https://a.example").as_deref(),
            Some("https://a.example")
        );
        assert_eq!(
            cors.allowed_origin("https://x.b.example").as_deref(),
            Some("https://x.b.example")
        );
        assert!(cors.allowed_origin("https://c.example").is_none());
    }
}
