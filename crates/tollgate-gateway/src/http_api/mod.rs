//! The data plane of HTTP APIs (`apigatewayv2`, protocol `HTTP`).
//!
//! One request: pick the stage (a named stage by the first path segment, else `$default`,
//! which serves without a stage segment), answer CORS preflights, route by method and path
//! (exact and parameter routes, then greedy ones, then `$default`; nothing: 404), throttle,
//! read the body, authorize (JWT, Lambda or IAM), map parameters, call the integration, map the
//! response, add CORS headers.

mod authorize;
mod cors;
mod error;
mod event;
mod integrate;
mod mapping;
pub(crate) mod request;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Body;
use hyper::header::HeaderValue;
use hyper::{Request, Response};
use tollgate_plan::http_api::{HttpRoutePlan, HttpStagePlan, IntegrationTarget};

pub use error::HttpApiError;
use request::HttpRequest;

use crate::Address;
use crate::integration::BackendClient;
use crate::integration::lambda::FunctionInvoker;

/// What an HTTP API request needs from the gateway.
pub struct HttpApiContext<'a> {
    pub client: &'a BackendClient,
    pub functions: Option<&'a dyn FunctionInvoker>,
    pub jwt: &'a crate::auth::jwt::JwtVerifier,
    pub credentials: &'a (dyn tollgate_iam::CredentialsLookup + Sync),
    pub shared: &'a dyn tollgate_shared::SharedState,
    pub region: &'a str,
    pub account_id: &'a str,
    pub request_id: &'a str,
    /// `http` or `https`, as clients reach the gateway.
    pub scheme: &'static str,
}

/// The stage a request goes to, and the path within it.
fn pick_stage<'s>(
    stages: &'s HashMap<String, Arc<HttpStagePlan>>,
    address: &Address,
    stageless_path: Option<&str>,
) -> Option<(&'s Arc<HttpStagePlan>, String, String)> {
    if address.stage != "$default"
        && let Some(plan) = stages.get(&address.stage)
    {
        let raw = if address.path == "/" {
            format!("/{}", address.stage)
        } else {
            format!("/{}{}", address.stage, address.path)
        };
        return Some((plan, address.path.clone(), raw));
    }
    let plan = stages.get("$default")?;
    let path = match stageless_path {
        Some(p) => p.to_string(),
        // `/restapis/{id}/$default/_user_request_/...` names the stage explicitly.
        None if address.stage == "$default" => address.path.clone(),
        None => return None,
    };
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        path
    };
    Some((plan, path.clone(), path))
}

/// Serves one request to an HTTP API; never fails (errors become HTTP API responses).
pub async fn serve<B>(
    ctx: HttpApiContext<'_>,
    stages: &HashMap<String, Arc<HttpStagePlan>>,
    request: Request<B>,
    address: &Address,
    stageless_path: Option<&str>,
    remote: SocketAddr,
) -> Response<Full<Bytes>>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let started = Instant::now();
    let Some((plan, path, raw_path)) = pick_stage(stages, address, stageless_path) else {
        return HttpApiError::NotFound.into_response();
    };
    let origin = request
        .headers()
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    if let Some(cors) = &plan.cors
        && cors::is_preflight(request.method(), request.headers())
    {
        return cors::preflight(cors, request.headers());
    }
    let mut observed = Observed::default();
    let result = run(&ctx, plan, request, (path, raw_path), remote, &mut observed).await;
    let mut response = match result {
        Ok(response) => response,
        Err(error) => {
            if let Some(detail) = error.detail() {
                tracing::warn!(request_id = ctx.request_id, api_id = plan.api_id, stage = plan.stage, %detail, "request failed");
            }
            error.into_response()
        }
    };
    if let Some(cors) = &plan.cors {
        cors::decorate(cors, origin.as_deref(), response.headers_mut());
    }
    if let Ok(v) = HeaderValue::from_str(ctx.request_id) {
        response.headers_mut().insert("apigw-requestid", v);
    }
    observed.record(plan, &response, started.elapsed());
    response
}

/// What a request leaves for its metrics as it goes.
#[derive(Default)]
struct Observed {
    route: Option<Arc<HttpRoutePlan>>,
    integration_latency: Option<Duration>,
    request_bytes: u64,
}

impl Observed {
    /// `Count`, `4xx`, `5xx`, `Latency`, `IntegrationLatency` and `DataProcessed` of the stage
    /// and, with detailed metrics, of the route.
    fn record(&self, plan: &HttpStagePlan, response: &Response<Full<Bytes>>, latency: Duration) {
        let status = response.status().as_u16();
        let bytes = self.request_bytes + Body::size_hint(response.body()).exact().unwrap_or(0);
        let route = self.route.as_ref().and_then(|r| r.metrics.as_deref());
        for metrics in plan.metrics.as_deref().into_iter().chain(route) {
            metrics.record(status, latency, self.integration_latency, bytes);
        }
    }
}

async fn run<B>(
    ctx: &HttpApiContext<'_>,
    plan: &HttpStagePlan,
    request: Request<B>,
    (path, raw_path): (String, String),
    remote: SocketAddr,
    observed: &mut Observed,
) -> Result<Response<Full<Bytes>>, HttpApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let method = request.method().as_str().to_string();
    let (route, params) = plan.route(&method, &path).ok_or(HttpApiError::NotFound)?;
    if route.metrics.is_some() {
        observed.route = Some(Arc::clone(route));
    }
    if let Some(throttle) = route.throttle {
        let limiter = route.limiter.get_or_init(|| {
            let name = format!("v2:{}:{}:{}", plan.api_id, plan.stage, route.route_key);
            let limit = tollgate_shared::RateLimit::new(throttle.rate, throttle.burst);
            ctx.shared.rate_limiter(&name, limit)
        });
        if !limiter.try_acquire() {
            return Err(HttpApiError::Throttled);
        }
    }
    let (raw_path_params, path_params) = params
        .iter()
        .map(|(n, raw)| {
            (
                (n.to_string(), raw.to_string()),
                (n.to_string(), request::decode_param(raw)),
            )
        })
        .unzip();
    let (parts, body) = request.into_parts();
    let body = crate::body::read(&parts.headers, body)
        .await
        .map_err(|e| match e {
            crate::body::BodyError::TooLarge => HttpApiError::RequestTooLarge,
            crate::body::BodyError::Timeout => {
                HttpApiError::BadRequest("request body not received in time".into())
            }
            crate::body::BodyError::Unreadable(m) => HttpApiError::BadRequest(m),
        })?;
    observed.request_bytes = body.len() as u64;
    let raw_query = parts.uri.query().map(String::from);
    let uri_path = parts.uri.path().to_string();
    let domain_name = crate::context::domain_name(&parts.headers);
    let mut request = HttpRequest {
        plan,
        route,
        request_id: ctx.request_id.to_string(),
        account_id: ctx.account_id,
        method,
        raw_path,
        query: request::parse_query(raw_query.as_deref()),
        raw_query,
        headers: parts.headers,
        path_params,
        raw_path_params,
        body,
        source_ip: crate::context::ip_text(remote.ip()),
        scheme: ctx.scheme,
        domain_name,
        protocol: match parts.version {
            hyper::Version::HTTP_10 => "HTTP/1.0",
            hyper::Version::HTTP_2 => "HTTP/2.0",
            _ => "HTTP/1.1",
        },
        received: SystemTime::now(),
        authorizer: None,
    };
    let authorizers = authorize::Authorizers {
        jwt: ctx.jwt,
        credentials: ctx.credentials,
        shared: ctx.shared,
        functions: ctx.functions,
        region: ctx.region,
    };
    authorize::authorize(&authorizers, &mut request, &uri_path).await?;
    let integration = route.integration.as_ref().ok_or_else(|| {
        HttpApiError::Internal(format!("route {} has no integration", route.route_key))
    })?;
    let outgoing = mapping::map_request(integration, &mut request);
    let integration_started = Instant::now();
    let response = match &integration.target {
        IntegrationTarget::Http { uri, method } => {
            integrate::http_proxy(ctx.client, integration, (uri, method), &request, outgoing).await
        }
        IntegrationTarget::Lambda {
            function_arn,
            payload,
        } => {
            let functions = ctx
                .functions
                .ok_or_else(|| HttpApiError::Internal("this node runs no functions".into()))?;
            request.headers = outgoing.headers;
            if let Some(query) = outgoing.query {
                request.raw_query = Some(
                    query
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join("&"),
                );
                request.query = query;
            }
            if let Some(path) = outgoing.path {
                request.raw_path = path;
            }
            integrate::lambda_proxy(functions, integration, (function_arn, *payload), &request)
                .await
        }
    };
    observed.integration_latency = Some(integration_started.elapsed());
    let mut response = response?;
    if !integration.response_parameters.is_empty() {
        let (mut parts, body) = response.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        mapping::map_response(
            integration,
            &request,
            &mut parts.status,
            &mut parts.headers,
            &bytes,
        );
        response = Response::from_parts(parts, Full::new(bytes));
    }
    Ok(response)
}
