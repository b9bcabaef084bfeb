//! One request through the data plane: resolve the stage, route, read the body within limits,
//! run the integration, and add the headers every API Gateway response carries.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Body;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response};
use tollgate_model::rest::IntegrationType;
use tollgate_shared::SharedState;
use tollgate_store::{Store, StoreError};

use crate::access::{Access, UsageCounters};
use crate::address::Address;
use crate::authorizer;
use crate::context::{RequestInfo, decode, parse_query};
use crate::error::GatewayError;
use crate::integration::{BackendClient, http, lambda, mock};
use crate::plans::{Lookup, PlanSet};
use crate::telemetry::{AccessLogDestination, Record, Telemetry};
use tollgate_plan::TEST_STAGE;
use tollgate_plan::Variant;
use tollgate_plan::test_invoke::{
    AuthorizerOutcome, AuthorizerTest, MethodTester, TestInvocation, TestOutcome,
};
use tollgate_telemetry::trace::{Span, SpanKind};

/// Largest request body API Gateway accepts.
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
/// Longest request target (path and query) accepted.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// A client gets this long to send its request body.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

const X_AMZN_REQUESTID: HeaderName = HeaderName::from_static("x-amzn-requestid");
const X_AMZ_APIGW_ID: HeaderName = HeaderName::from_static("x-amz-apigw-id");

/// Whether a request passes the method's guards (test invocations do not, as on AWS).
#[derive(Clone, Copy)]
enum Guarded {
    Yes,
    No,
}

pub struct GatewayConfig {
    pub region: String,
    pub account_id: String,
    /// Where the tokens of `COGNITO_USER_POOLS` authorizers' user pools come from.
    pub cognito_user_pools: Vec<CognitoUserPool>,
    /// Whether clients reach the gateway over TLS (integrations then see
    /// `X-Forwarded-Proto: https`).
    pub tls: bool,
}

impl GatewayConfig {
    /// `http` or `https`, as clients reach the gateway.
    pub fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }
}

/// A Cognito user pool as this gateway knows it: tokens carry `issuer` as `iss` and are signed
/// with the keys at `jwks_url`.
#[derive(Debug, Clone)]
pub struct CognitoUserPool {
    pub arn: String,
    pub issuer: String,
    pub jwks_url: String,
}

pub struct Gateway {
    plans: Arc<PlanSet>,
    access: Arc<Access>,
    shared: Arc<dyn SharedState>,
    client: BackendClient,
    /// Runs the functions of `AWS_PROXY` integrations, when this node has a function runtime.
    functions: Option<Arc<dyn lambda::FunctionInvoker>>,
    config: GatewayConfig,
    telemetry: Arc<Telemetry>,
    /// The access keys `AWS_IAM` methods are verified against.
    credentials: Arc<crate::credentials::CredentialsRegistry>,
    /// Verifies JWTs for JWT authorizers, with each issuer's keys cached.
    jwt: crate::auth::jwt::JwtVerifier,
    /// What WebSocket connections run on.
    websocket: Arc<crate::websocket::Runtime>,
    /// Lambda authorizers' cached answers, parsed and compiled.
    authorizer_answers: authorizer::CompiledAnswers,
}

/// Who the resource policy is evaluated for.
#[derive(Clone, Copy)]
enum Caller<'a> {
    /// No authorization on the method.
    Anonymous,
    /// A Lambda authorizer will decide (or has allowed).
    Authorized,
    /// A SigV4-verified caller of an `AWS_IAM` method.
    Iam(&'a tollgate_iam::Principal),
}

/// Answers an error through the API's gateway responses: the response type's status, headers
/// and template (by default `{"message":$context.error.messageString}`).
fn gateway_response(
    variant: &Variant,
    address: &Address,
    request_id: &str,
    error: GatewayError,
) -> Response<Full<Bytes>> {
    use tollgate_vtl::Value;
    let response_type = error.response_type();
    let Some(plan) = variant.gateway_responses.resolve(response_type) else {
        return error.into_response();
    };
    let status = if matches!(response_type, "DEFAULT_4XX" | "DEFAULT_5XX") {
        error.status()
    } else {
        plan.status
    };
    let message = error.to_string();
    let context_value = |name: &str| -> Option<String> {
        Some(match name {
            "requestId" => request_id.to_string(),
            "apiId" => address.api_id.clone(),
            "stage" => address.stage.clone(),
            "error.message" => message.clone(),
            "error.messageString" => error.message_string(),
            "error.responseType" => response_type.to_string(),
            _ => return None,
        })
    };
    let mut ctx = tollgate_vtl::Context::new();
    let error_map = Value::map([
        ("message", Value::from(message.as_str())),
        (
            "messageString",
            Value::from(error.message_string().as_str()),
        ),
        ("responseType", Value::from(response_type)),
        (
            "validationErrorString",
            Value::from(error.validation_error().as_str()),
        ),
    ]);
    ctx.insert(
        "context",
        Value::map([
            ("requestId", Value::from(request_id)),
            ("apiId", Value::from(address.api_id.as_str())),
            ("stage", Value::from(address.stage.as_str())),
            ("error", error_map),
        ]),
    );
    let vars = variant
        .stage_variables
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())));
    ctx.insert("stageVariables", Value::map(vars));
    let template =
        tollgate_plan::template_for(&plan.templates, None).or_else(|| plan.templates.first());
    let (body, content_type) = match template {
        Some(t) => match t
            .template
            .render(&mut ctx, &tollgate_vtl::Limits::default())
        {
            Ok(body) => (body, t.content_type.clone()),
            Err(e) => {
                tracing::warn!(request_id, error = %e, "gateway response template failed");
                return error.into_response();
            }
        },
        None => (String::new(), "application/json".to_string()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        headers.insert(hyper::header::CONTENT_TYPE, v);
    }
    if let Some(kind) = error.error_type_header() {
        headers.insert("x-amzn-errortype", HeaderValue::from_static(kind));
    }
    for (name, source) in &plan.headers {
        let value = match source {
            tollgate_plan::Source::Static(v) => Some(v.clone()),
            tollgate_plan::Source::StageVariable(n) => variant.stage_variables.get(n).cloned(),
            tollgate_plan::Source::Context(n) => context_value(n),
            _ => None,
        };
        if let (Some(value), Ok(name)) = (value, hyper::header::HeaderName::try_from(name.as_str()))
            && let Ok(value) = HeaderValue::from_str(&value)
        {
            headers.insert(name, value);
        }
    }
    response
}

/// A body as execution logs show it: its first 1,024 characters.
fn truncated(body: &str) -> &str {
    let cut = body.char_indices().nth(1024).map_or(body.len(), |(i, _)| i);
    &body[..cut]
}

/// An id like API Gateway's `x-amz-apigw-id` / extended request id: 16 characters of base64
/// alphabet ending in `=`.
pub(crate) fn extended_request_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    // 15 characters of 6 random bits each, from one 128-bit draw.
    let mut bits = fastrand::u128(..);
    let mut id = [b'='; 16];
    for c in &mut id[..15] {
        *c = ALPHABET[(bits & 63) as usize];
        bits >>= 6;
    }
    // Only ASCII was written.
    String::from_utf8(id.to_vec()).unwrap_or_default()
}

impl Gateway {
    /// Loads the plans of every deployed stage and starts following the store.
    pub async fn start(
        store: Arc<dyn Store>,
        config: GatewayConfig,
        functions: Option<Arc<dyn lambda::FunctionInvoker>>,
    ) -> Result<Arc<Self>, String> {
        let credentials =
            crate::credentials::CredentialsRegistry::start(Arc::clone(&store), Vec::new(), None)
                .await
                .map_err(|e| e.to_string())?;
        Self::start_with_credentials(store, config, functions, credentials).await
    }

    /// [`Gateway::start`] with a credentials registry shared with the management API (and
    /// its bootstrap keys).
    pub async fn start_with_credentials(
        store: Arc<dyn Store>,
        config: GatewayConfig,
        functions: Option<Arc<dyn lambda::FunctionInvoker>>,
        credentials: Arc<crate::credentials::CredentialsRegistry>,
    ) -> Result<Arc<Self>, String> {
        let registry = tollgate_telemetry::Registry::new();
        let telemetry = Telemetry::start(registry, AccessLogDestination::Stdout, None);
        let shared = Arc::new(tollgate_shared::InProcess::new());
        Self::start_with_telemetry(store, shared, config, functions, credentials, telemetry).await
    }

    /// [`Gateway::start_with_credentials`], recording metrics into `telemetry`'s registry and
    /// writing access and execution logs through it, with limits, quotas and WebSocket
    /// connections in `shared` (in-process, or Redis in cluster mode).
    pub async fn start_with_telemetry(
        store: Arc<dyn Store>,
        shared: Arc<dyn SharedState>,
        config: GatewayConfig,
        functions: Option<Arc<dyn lambda::FunctionInvoker>>,
        credentials: Arc<crate::credentials::CredentialsRegistry>,
        telemetry: Arc<Telemetry>,
    ) -> Result<Arc<Self>, String> {
        let plans = PlanSet::start(
            Arc::clone(&store),
            Arc::clone(&shared),
            Arc::clone(&telemetry.registry),
        )
        .await
        .map_err(|e: StoreError| e.to_string())?;
        let access = Access::start(store, Arc::clone(&shared))
            .await
            .map_err(|e: StoreError| e.to_string())?;
        let client = BackendClient::new().map_err(|e| format!("TLS setup failed: {e}"))?;
        let jwt = crate::auth::jwt::JwtVerifier::new(client.client(false).clone());
        let websocket = Arc::new(crate::websocket::Runtime::new(
            functions.clone(),
            client.client(false).clone(),
            Arc::clone(&shared),
            crate::websocket::Settings::from_env(),
            (config.region.clone(), config.account_id.clone()),
            Arc::clone(&credentials) as _,
            Arc::clone(&access),
        ));
        Ok(Arc::new(Self {
            plans,
            access,
            shared,
            client,
            functions,
            config,
            telemetry,
            credentials,
            jwt,
            websocket,
            authorizer_answers: Default::default(),
        }))
    }

    /// Serves one data-plane request; never fails (errors become API Gateway's responses).
    pub async fn handle<B>(
        &self,
        request: Request<B>,
        address: Address,
        remote: SocketAddr,
    ) -> Response<Full<Bytes>>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let started = Instant::now();
        let request_id = tollgate_model::ids::request_id();
        let extended_id = extended_request_id();
        let method = request.method().clone();
        let mut record = Record::new(
            started,
            (&request_id, &extended_id),
            &address,
            method.as_str(),
            remote,
        );
        let result = self.run(request, &address, remote, &mut record).await;
        let mut response = match result {
            Ok(response) => response,
            Err(error) => {
                if let Some(detail) = error.detail() {
                    tracing::warn!(request_id, api_id = address.api_id, stage = address.stage, %detail, "request failed");
                }
                error.into_response()
            }
        };
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            headers.insert(X_AMZN_REQUESTID, v);
        }
        if let Ok(v) = HeaderValue::from_str(&extended_id) {
            headers.insert(X_AMZ_APIGW_ID, v);
        }
        tracing::debug!(
            request_id,
            api_id = address.api_id,
            stage = address.stage,
            %method,
            path = address.path,
            status = response.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "served"
        );
        let length = hyper::body::Body::size_hint(response.body()).exact();
        self.telemetry
            .record(record, response.status().as_u16(), length);
        response
    }

    async fn run<B>(
        &self,
        request: Request<B>,
        address: &Address,
        remote: SocketAddr,
        record: &mut Record<'_>,
    ) -> Result<Response<Full<Bytes>>, GatewayError>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if request
            .uri()
            .path_and_query()
            .map_or(0, |p| p.as_str().len())
            > MAX_URI_BYTES
        {
            return Err(GatewayError::UriTooLong);
        }
        if address.api_id.is_empty() {
            // `@connections` on the gateway's own address.
            let id = crate::websocket::connection_id_of(&address.path).unwrap_or_default();
            return Ok(Box::pin(crate::websocket::callback(&self.websocket, request, id)).await);
        }
        let snapshot = self.plans.snapshot();
        let stage = match PlanSet::lookup(&snapshot, &address.api_id, &address.stage) {
            Lookup::Stage(plan) => Arc::clone(plan),
            Lookup::WebSocket(plan) => {
                let plan = Arc::clone(plan);
                drop(snapshot);
                let serve =
                    crate::websocket::serve(&self.websocket, plan, request, address, remote);
                return Ok(Box::pin(serve).await);
            }
            Lookup::Http(stages) => {
                drop(snapshot);
                let serve =
                    self.serve_http_api(&stages, request, address, remote, record.extended_id);
                return Ok(Box::pin(serve).await);
            }
            Lookup::NoStage => return Err(GatewayError::Forbidden),
            Lookup::NoApi => return Err(GatewayError::UnknownApi(address.api_id.clone())),
        };
        drop(snapshot);
        let variant = stage.pick(fastrand::f64() * 100.0);
        record.reached(&stage, &self.telemetry);
        record.trace = self.telemetry.trace(&stage, request.headers());
        let request_id = record.request_id;
        match self
            .execute(address, variant, request, remote, record, Guarded::Yes)
            .await
        {
            Ok(response) => Ok(response),
            Err(error) => {
                if let Some(detail) = error.detail() {
                    tracing::warn!(request_id, api_id = address.api_id, stage = address.stage, %detail, "request failed");
                }
                record.step(|| match error.detail() {
                    Some(detail) => format!("Execution failed: {detail}"),
                    None => format!("Execution failed: {error}"),
                });
                if record
                    .stage
                    .as_ref()
                    .is_some_and(|s| s.access_log.is_some())
                {
                    record.error = Some((error.to_string(), error.response_type()));
                }
                Ok(gateway_response(variant, address, request_id, error))
            }
        }
    }

    /// A request to an HTTP API (see [`crate::http_api`]).
    async fn serve_http_api<B>(
        &self,
        stages: &crate::plans::HttpStages,
        request: Request<B>,
        address: &Address,
        remote: SocketAddr,
        request_id: &str,
    ) -> Response<Full<Bytes>>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let host = request
            .headers()
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(String::from);
        let path = request.uri().path().to_string();
        let stageless = crate::address::stageless_path(host.as_deref(), &path);
        let ctx = crate::http_api::HttpApiContext {
            client: &self.client,
            functions: self.functions.as_deref(),
            jwt: &self.jwt,
            credentials: &*self.credentials,
            shared: self.shared.as_ref(),
            region: &self.config.region,
            account_id: &self.config.account_id,
            request_id,
            scheme: self.config.scheme(),
        };
        crate::http_api::serve(ctx, stages, request, address, stageless, remote).await
    }

    /// Routes a request within one deployment and runs its method.
    async fn execute<B>(
        &self,
        address: &Address,
        variant: &Variant,
        request: Request<B>,
        remote: SocketAddr,
        record: &mut Record<'_>,
        guarded: Guarded,
    ) -> Result<Response<Full<Bytes>>, GatewayError>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let http_method = request.method().as_str().to_string();
        // The most specific resource that has this method (or ANY); others are backed past.
        let found = variant
            .routes
            .at_where(&address.path, |resource| {
                resource.method(&http_method).is_some()
            })
            .ok_or(GatewayError::MissingAuthenticationToken)?;
        let method = found
            .value
            .method(&http_method)
            .ok_or(GatewayError::MissingAuthenticationToken)?;
        record.method_metrics = method.metrics.clone();
        record.log = method.execution_log;
        if record.trace.is_some() {
            record.route = Some(Arc::from(method.resource_path.as_str()));
        }
        record.step(|| {
            format!(
                "HTTP Method: {http_method}, Resource Path: {}",
                method.resource_path
            )
        });
        let (request_id, extended_id) = (record.request_id, record.extended_id);
        let path_params = found
            .params
            .iter()
            .map(|(name, raw)| (name.to_string(), raw.to_string(), decode(raw)))
            .collect();

        let (parts, body) = request.into_parts();
        let body = crate::body::read(&parts.headers, body)
            .await
            .map_err(|e| match e {
                crate::body::BodyError::TooLarge => GatewayError::RequestTooLarge,
                crate::body::BodyError::Timeout => GatewayError::RequestTimeout,
                crate::body::BodyError::Unreadable(m) => GatewayError::BadRequest(m),
            })?;
        let raw_query = parts.uri.query().map(String::from);
        let domain_name = crate::context::domain_name(&parts.headers);
        let mut info = RequestInfo {
            request_id,
            extended_request_id: extended_id,
            api_id: &address.api_id,
            stage: &address.stage,
            deployment_id: &variant.deployment_id,
            account_id: &self.config.account_id,
            method,
            http_method,
            path: &address.path,
            full_path: parts.uri.path(),
            query: parse_query(raw_query.as_deref()),
            raw_query,
            headers: parts.headers,
            path_params,
            body,
            source_ip: crate::context::ip_text(remote.ip()),
            scheme: self.config.scheme(),
            domain_name,
            protocol: match parts.version {
                hyper::Version::HTTP_10 => "HTTP/1.0",
                hyper::Version::HTTP_2 => "HTTP/2.0",
                _ => "HTTP/1.1",
            },
            stage_variables: &variant.stage_variables,
            binary_media_types: &variant.binary_media_types,
            received: SystemTime::now(),
            api_key: None,
            authorization: None,
            iam: None,
            trace: record.trace.map(|t| t.context),
            endpoint_body: None,
        };
        let result = self.serve_method(variant, &mut info, guarded, record).await;
        if !record.captured {
            record.capture(&info);
        }
        result
    }

    /// Guards, validates and integrates a request that has been read and routed.
    async fn serve_method(
        &self,
        variant: &Variant,
        info: &mut RequestInfo<'_>,
        guarded: Guarded,
        record: &mut Record<'_>,
    ) -> Result<Response<Full<Bytes>>, GatewayError> {
        let method = info.method;
        let metered = match guarded {
            Guarded::Yes => self.guard(variant, info, record).await?,
            Guarded::No => None,
        };
        if let Some(validation) = &method.validation {
            use tollgate_plan::ParameterLocation;
            let present = |location: ParameterLocation, name: &str| match location {
                ParameterLocation::Path => info.path_param(name).is_some(),
                ParameterLocation::Query => info.query_param(name).is_some(),
                ParameterLocation::Header => info.header(name).is_some(),
            };
            validation.check(present, info.header("content-type"), &info.body)?;
        }
        // Before the integration, which may take the client's headers.
        record.capture(info);
        record.step(|| {
            let path: Vec<String> = info
                .path_params
                .iter()
                .map(|(n, _, v)| format!("{n}={v}"))
                .collect();
            let query: Vec<String> = info.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "Method request path: {{{}}}, query string: {{{}}}",
                path.join(", "),
                query.join(", ")
            )
        });
        if record.data_trace() {
            record.step(|| {
                format!(
                    "Method request body before transformations: {}",
                    truncated(&String::from_utf8_lossy(&info.body))
                )
            });
        }
        let integration = &method.integration;
        let integration_started = Instant::now();
        let spans = self.integration_spans(integration, info.trace.as_ref());
        if record.data_trace() {
            info.endpoint_body = Some(std::sync::OnceLock::new());
        }
        let parent = std::mem::replace(
            &mut info.trace,
            spans.1.as_ref().or(spans.0.as_ref()).map(|s| s.context),
        );
        let response = match integration.kind {
            IntegrationType::Mock => mock::run(integration, info),
            IntegrationType::HttpProxy => http::run(&self.client, integration, info, true).await,
            IntegrationType::Http => http::run(&self.client, integration, info, false).await,
            IntegrationType::AwsProxy => match &self.functions {
                Some(functions) => {
                    Box::pin(lambda::proxy(functions.as_ref(), integration, info)).await
                }
                None => Err(GatewayError::Internal("this node runs no functions".into())),
            },
            IntegrationType::Aws => match &self.functions {
                Some(functions) => {
                    Box::pin(lambda::non_proxy(functions.as_ref(), integration, info)).await
                }
                None => Err(GatewayError::Internal("this node runs no functions".into())),
            },
        };
        let integration_latency = integration_started.elapsed();
        info.trace = parent;
        if let Some(body) = info.endpoint_body.take().and_then(|b| b.into_inner()) {
            record.step(|| {
                format!(
                    "Endpoint request body after transformations: {}",
                    truncated(&String::from_utf8_lossy(&body))
                )
            });
        }
        let failed = response
            .as_ref()
            .map_or(true, |r| r.status().is_server_error());
        self.telemetry.finish(spans.1, failed);
        self.telemetry.finish(spans.0, failed);
        record.integration_latency = Some(integration_latency);
        let response = response?;
        record.integration_status = Some(response.status().as_u16());
        record.step(|| {
            format!(
                "Received response. Status: {}, Integration latency: {} ms",
                response.status().as_u16(),
                integration_latency.as_millis()
            )
        });
        if let Some(usage) = metered {
            let length = hyper::body::Body::size_hint(response.body()).exact();
            usage.record_response(length.unwrap_or(0) as usize);
        }
        Ok(response)
    }

    /// The spans of a traced request's integration call: the integration's, and for a
    /// function the invocation's within it.
    fn integration_spans(
        &self,
        integration: &tollgate_plan::IntegrationPlan,
        parent: Option<&tollgate_telemetry::trace::SpanContext>,
    ) -> (Option<Span>, Option<Span>) {
        let kind = integration.kind;
        let outer = self.telemetry.child(parent, SpanKind::Client, || {
            format!("integration {}", kind.as_str())
        });
        let invoke = match kind {
            IntegrationType::AwsProxy | IntegrationType::Aws => {
                self.telemetry
                    .child(outer.as_ref().map(|s| &s.context), SpanKind::Client, || {
                        let uri = integration.uri.as_deref().unwrap_or("");
                        match lambda::function_of(uri) {
                            Some((name, _)) => format!("invoke {name}"),
                            None => "invoke".to_string(),
                        }
                    })
            }
            _ => None,
        };
        (outer, invoke)
    }

    /// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}{path}`: what
    /// `execute-api:Invoke` is evaluated on.
    fn method_arn(&self, info: &RequestInfo<'_>) -> String {
        format!(
            "arn:aws:execute-api:{}:{}:{}/{}/{}{}",
            self.config.region,
            self.config.account_id,
            info.api_id,
            info.stage,
            info.http_method,
            info.path
        )
    }

    /// An `AWS_IAM` method's caller: the SigV4 signature (service `execute-api`, this region)
    /// verified against the managed credentials.
    fn verify_iam(
        &self,
        info: &RequestInfo<'_>,
    ) -> Result<Arc<tollgate_iam::Principal>, GatewayError> {
        let request = crate::auth::iam::SignedRequest {
            method: &info.http_method,
            path: info.full_path,
            query: info.raw_query.as_deref().unwrap_or(""),
            headers: &info.headers,
            body: &info.body,
        };
        crate::auth::iam::verify(&request, &*self.credentials, &self.config.region)
            .map_err(GatewayError::Signature)
    }

    /// The resource policy and the caller's identity together, as AWS's table says: an
    /// explicit deny anywhere denies; an `AWS_IAM` caller of this account needs an allow from
    /// either its identity policies or the resource policy, one of another account from both;
    /// an authorized (`CUSTOM`) caller is denied only explicitly here; an anonymous one needs
    /// the resource policy's allow when there is a policy.
    fn check_policies(
        &self,
        variant: &Variant,
        info: &RequestInfo<'_>,
        caller: Caller<'_>,
    ) -> Result<(), GatewayError> {
        use tollgate_iam::policy::{Authentication, Decision};
        if variant.resource_policy.is_none() && !matches!(caller, Caller::Iam(_)) {
            return Ok(());
        }
        let resource = self.method_arn(info);
        let principal = match caller {
            Caller::Iam(p) => Some(p),
            _ => None,
        };
        let context = crate::auth::iam::invoke_context(principal, &resource, &info.source_ip);
        let resource_decision = variant
            .resource_policy
            .as_ref()
            .map(|p| p.evaluate(&context));
        let authentication = match caller {
            Caller::Iam(p) => Authentication::Iam {
                identity: crate::auth::iam::identity_decision(p, &resource, &info.source_ip),
                same_account: p.account_id == self.config.account_id,
            },
            Caller::Authorized => Authentication::Authorizer {
                identity: Decision::Allow,
            },
            Caller::Anonymous => Authentication::None,
        };
        match tollgate_iam::policy::authorize(resource_decision, authentication) {
            Decision::Allow => Ok(()),
            decision => Err(GatewayError::IamDenied(
                tollgate_iam::policy::not_authorized_message(
                    principal.map(|p| p.arn.as_str()),
                    &resource,
                    decision,
                ),
            )),
        }
    }

    /// Who may call: the authorizer, then the API key and its usage plan (throttles, quota),
    /// then the stage's method throttle and the account's. Returns the usage counters of the
    /// key the request was admitted with.
    async fn guard(
        &self,
        variant: &Variant,
        info: &mut RequestInfo<'_>,
        record: &mut Record<'_>,
    ) -> Result<Option<Arc<UsageCounters>>, GatewayError> {
        let method = info.method;
        match method.authorization_type.as_str() {
            "CUSTOM" | "COGNITO_USER_POOLS" => {
                let plan = method.authorizer.as_ref().ok_or_else(|| {
                    GatewayError::AuthorizerConfiguration(
                        "the method's authorizer is missing".into(),
                    )
                })?;
                if plan.kind == tollgate_plan::AuthorizerKind::CognitoUserPools {
                    let authorization = Box::pin(authorizer::cognito(
                        plan,
                        info,
                        &method.authorization_scopes,
                        &self.config.cognito_user_pools,
                        &self.jwt,
                    ))
                    .await?;
                    info.authorization = Some(authorization);
                    return self.guard_keys_and_throttles(variant, info);
                }
                // The resource policy's explicit denies apply before the authorizer runs;
                // its allow is then the authorizer's to give.
                self.check_policies(variant, info, Caller::Authorized)?;
                let request_id = record.request_id;
                record
                    .step(|| format!("Starting authorizer: {} for request: {request_id}", plan.id));
                let span = self
                    .telemetry
                    .child(info.trace.as_ref(), SpanKind::Internal, || {
                        format!("authorizer {}", plan.name)
                    });
                let parent = std::mem::replace(&mut info.trace, span.as_ref().map(|s| s.context));
                // Boxed, like every rarely taken branch that awaits much: the request's future
                // stays small, and it is moved a few times on its way.
                let authorization = Box::pin(authorizer::authorize(
                    plan,
                    info,
                    &self.config.region,
                    self.functions.as_ref(),
                    self.shared.as_ref(),
                    &self.authorizer_answers,
                ))
                .await;
                info.trace = parent;
                self.telemetry.finish(span, authorization.is_err());
                record.step(|| match &authorization {
                    Ok(a) => format!(
                        "Using valid authorizer policy for principal: {}",
                        a.principal_id
                    ),
                    Err(GatewayError::Unauthorized) => {
                        format!("Unauthorized request: {request_id}")
                    }
                    Err(e) => format!("Authorizer failed: {e}"),
                });
                let authorization = authorization?;
                record.step(|| "Successfully completed authorizer execution".to_string());
                info.authorization = Some(authorization);
            }
            "AWS_IAM" => {
                let principal = self.verify_iam(info)?;
                self.check_policies(variant, info, Caller::Iam(&principal))?;
                info.iam = Some(principal);
            }
            _ => self.check_policies(variant, info, Caller::Anonymous)?,
        }
        self.guard_keys_and_throttles(variant, info)
    }

    /// The API key and its usage plan, then the stage's and the account's throttles.
    fn guard_keys_and_throttles(
        &self,
        variant: &Variant,
        info: &mut RequestInfo<'_>,
    ) -> Result<Option<Arc<UsageCounters>>, GatewayError> {
        let method = info.method;
        let registry = self.access.registry();
        let mut metered = None;
        if method.api_key_required {
            let value = if variant.api_key_from_authorizer {
                info.authorization
                    .as_ref()
                    .and_then(|a| a.usage_identifier_key.clone())
            } else {
                info.header("x-api-key").map(String::from)
            };
            let key = value
                .as_deref()
                .and_then(|v| registry.key(v))
                .filter(|k| k.enabled)
                .ok_or(GatewayError::InvalidApiKey)?;
            let access = key
                .stage(info.api_id, info.stage)
                .ok_or(GatewayError::InvalidApiKey)?;
            access.admit(&method.resource_path, &info.http_method)?;
            access.usage.record_request(info.body.len());
            info.api_key = value.map(|v| (key.id.clone(), v));
            metered = Some(Arc::clone(&access.usage));
        }
        if let Some(throttle) = &method.throttle
            && !throttle.try_acquire()
        {
            return Err(GatewayError::RateExceeded);
        }
        if !registry.account_limiter.try_acquire() {
            return Err(GatewayError::RateExceeded);
        }
        Ok(metered)
    }

    /// Writes what is metered but not yet stored; call once the servers have drained.
    pub async fn shutdown(&self) {
        if let Err(e) = self.access.flush().await {
            tracing::error!(error = %e, "could not write usage at shutdown");
        }
    }

    pub fn region(&self) -> &str {
        &self.config.region
    }

    async fn test_invoke_inner(&self, invocation: TestInvocation) -> TestOutcome {
        let started = Instant::now();
        let request_id = tollgate_model::ids::request_id();
        let variant = Variant::compile(
            &invocation.api_id,
            &invocation.record,
            invocation.stage_variables,
            false,
            None,
        );
        let path = invocation
            .path_with_query
            .split('?')
            .next()
            .unwrap_or("/")
            .to_string();
        let path = if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        };
        let mut log = vec![
            format!("Execution log for request {request_id}"),
            format!("Starting execution for request: {request_id}"),
            format!(
                "HTTP Method: {}, Resource Path: {path}",
                invocation.http_method
            ),
        ];
        let mut builder = Request::builder()
            .method(invocation.http_method.as_str())
            .uri(if invocation.path_with_query.starts_with('/') {
                invocation.path_with_query.clone()
            } else {
                format!("/{}", invocation.path_with_query)
            });
        for (name, value) in &invocation.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let address = Address {
            api_id: invocation.api_id.clone(),
            stage: "test-invoke-stage".into(),
            path,
        };
        let remote = SocketAddr::from(([127, 0, 0, 1], 0));
        let result = match builder.body(Full::new(Bytes::from(invocation.body))) {
            Ok(request) => {
                // Test invocations record no metrics and write no access log, as on AWS.
                let mut record = Record::new(
                    started,
                    (&request_id, "test-invoke-extended-id"),
                    &address,
                    &invocation.http_method,
                    remote,
                );
                self.execute(
                    &address,
                    &variant,
                    request,
                    remote,
                    &mut record,
                    Guarded::No,
                )
                .await
            }
            Err(e) => Err(GatewayError::BadRequest(format!(
                "invalid test request: {e}"
            ))),
        };
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                if let Some(detail) = error.detail() {
                    log.push(format!("Execution failed: {detail}"));
                }
                error.into_response()
            }
        };
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        log.push(format!("Method completed with status: {status}"));
        TestOutcome {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            log: log.join("\n") + "\n",
            latency_ms: started.elapsed().as_millis() as u64,
        }
    }
}

impl MethodTester for Gateway {
    fn test_invoke(
        &self,
        invocation: TestInvocation,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = TestOutcome> + Send + '_>> {
        Box::pin(self.test_invoke_inner(invocation))
    }

    fn test_authorizer(
        &self,
        test: AuthorizerTest,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = AuthorizerOutcome> + Send + '_>> {
        Box::pin(self.test_authorizer_inner(test))
    }
}

impl Gateway {
    async fn test_authorizer_inner(&self, test: AuthorizerTest) -> AuthorizerOutcome {
        let started = Instant::now();
        let request_id = tollgate_model::ids::request_id();
        let mut authorizer = test.authorizer;
        authorizer.authorizer_result_ttl_in_seconds = Some(0);
        let plan = tollgate_plan::AuthorizerPlan::compile(&authorizer, &test.api_id, TEST_STAGE, 0);
        let (path, raw_query) = match test.path_with_query.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (test.path_with_query.clone(), None),
        };
        let path = if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        };
        let method = tollgate_plan::MethodPlan::bare("GET", &path);
        let mut headers = hyper::HeaderMap::new();
        for (name, value) in &test.headers {
            if let (Ok(n), Ok(v)) = (
                hyper::header::HeaderName::try_from(name.as_str()),
                HeaderValue::from_str(value),
            ) {
                headers.append(n, v);
            }
        }
        let info = RequestInfo {
            request_id: &request_id,
            extended_request_id: "test-invoke-extended-id",
            api_id: &test.api_id,
            stage: TEST_STAGE,
            deployment_id: "test-invoke-deployment",
            account_id: &self.config.account_id,
            method: &method,
            http_method: "GET".into(),
            path: &path,
            full_path: &path,
            query: parse_query(raw_query.as_deref()),
            raw_query,
            headers,
            path_params: Vec::new(),
            body: Bytes::from(test.body),
            source_ip: "test-invoke-source-ip".into(),
            scheme: self.config.scheme(),
            domain_name: "testPrefix.testDomainName".into(),
            protocol: "HTTP/1.1",
            stage_variables: &test.stage_variables,
            binary_media_types: &[],
            received: SystemTime::now(),
            api_key: None,
            authorization: None,
            iam: None,
            trace: None,
            endpoint_body: None,
        };
        let mut log = vec![format!("Execution log for request {request_id}")];
        let outcome =
            authorizer::answer_of(&plan, &info, &self.config.region, self.functions.as_ref()).await;
        let mut result = AuthorizerOutcome {
            client_status: 200,
            log: String::new(),
            latency_ms: 0,
            principal_id: None,
            policy: None,
            authorization: Default::default(),
        };
        match outcome {
            Ok(answer) => {
                log.push(format!("Authorizer {} answered: {answer}", plan.name));
                result.principal_id = answer.get("principalId").map(|p| match p {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                result.policy = answer.get("policyDocument").map(|p| p.to_string());
                if let Some(serde_json::Value::Object(context)) = answer.get("context") {
                    for (k, v) in context {
                        let text = match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        result.authorization.insert(k.clone(), vec![text]);
                    }
                }
            }
            Err(error) => {
                result.client_status = error.status();
                log.push(format!(
                    "Authorizer {} refused or failed: {}",
                    plan.name,
                    error.detail().unwrap_or(&error.to_string())
                ));
            }
        }
        result.log = log.join("\n") + "\n";
        result.latency_ms = started.elapsed().as_millis() as u64;
        result
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn extended_request_ids_look_like_api_gateways() {
        let ids: Vec<String> = (0..100).map(|_| super::extended_request_id()).collect();
        for id in &ids {
            assert_eq!(id.len(), 16, "{id}");
            assert!(id.ends_with('='), "{id}");
            assert!(
                id[..15]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'),
                "{id}"
            );
        }
        let mut distinct = ids.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), ids.len());
        // Every position takes many values (the bits are not reused).
        for at in 0..15 {
            let mut seen: Vec<u8> = ids.iter().map(|id| id.as_bytes()[at]).collect();
            seen.sort_unstable();
            seen.dedup();
            assert!(seen.len() > 20, "position {at}: {seen:?}");
        }
    }
}
