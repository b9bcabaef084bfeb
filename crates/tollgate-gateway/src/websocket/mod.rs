//! WebSocket APIs: the handshake (with `$connect`), the connections it opens
//! ([`connection`]), routing of their messages ([`route`]), the Lambda events ([`event`]) and
//! the `@connections` API ([`callback`]) that sends to, reads and closes connections.
//!
//! Addresses (as for REST and HTTP APIs): `ws://{apiId}.execute-api.{anything}/{stage}` (host
//! style) or `ws://{host}/_aws/execute-api/{apiId}/{stage}` (path style); `@connections` at
//! `/{stage}/@connections/{connectionId}` below either, or on the gateway's own address
//! (`http://127.0.0.1:4566/{stage}/@connections/{id}`, since connection ids are unique).

mod authorize;
mod callback;
pub mod connection;
mod event;
mod keys;
mod route;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY};
use hyper::{Request, Response, StatusCode};
use serde_json::json;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tollgate_iam::CredentialsLookup;
use tollgate_plan::websocket::{WsRoutePlan, WsStagePlan};
use tollgate_shared::{RateLimit, RateLimiter, SharedState};
use tollgate_telemetry::WsOutcome;

pub use callback::{callback, connection_id_of};
pub use connection::Settings;
use connection::{ConnectRequest, Connection, now_millis};

use crate::access::Access;
use crate::address::Address;
use crate::integration::client::HttpClient;
use crate::integration::lambda::FunctionInvoker;

/// What WebSocket connections need from the gateway.
pub struct Runtime {
    pub functions: Option<Arc<dyn FunctionInvoker>>,
    pub http: HttpClient,
    pub shared: Arc<dyn SharedState>,
    pub settings: Settings,
    pub region: String,
    pub account_id: String,
    /// The keys SigV4 signatures are verified against (`@connections`, `AWS_IAM` on
    /// `$connect`); none known means `@connections` is open, as the management API is.
    pub credentials: Arc<dyn CredentialsLookup + Send + Sync>,
    /// API keys and usage plans (REST's).
    access: Arc<Access>,
    /// New connections per second for the account.
    connect_limit: Arc<dyn RateLimiter>,
}

impl Runtime {
    pub fn new(
        functions: Option<Arc<dyn FunctionInvoker>>,
        http: HttpClient,
        shared: Arc<dyn SharedState>,
        settings: Settings,
        (region, account_id): (String, String),
        credentials: Arc<dyn CredentialsLookup + Send + Sync>,
        access: Arc<Access>,
    ) -> Self {
        let rate = settings.connect_rate;
        let connect_limit = shared.rate_limiter(
            "websocket:connect",
            RateLimit::new(rate, rate.ceil() as u64),
        );
        Self {
            functions,
            http,
            shared,
            settings,
            region,
            account_id,
            credentials,
            access,
            connect_limit,
        }
    }
}

/// `MessageCount` of the stage: one message from or to a client.
fn count_message(plan: &WsStagePlan) {
    if let Some(metrics) = &plan.metrics {
        metrics.message_count.inc();
    }
}

/// Records how a route call ended in the stage's metrics and, with detailed metrics, the
/// route's.
fn record(
    plan: &WsStagePlan,
    route: Option<&WsRoutePlan>,
    outcome: WsOutcome,
    integration: Option<std::time::Duration>,
) {
    let route = route.and_then(|r| r.metrics.as_deref());
    for metrics in plan.metrics.as_deref().into_iter().chain(route) {
        metrics.record(outcome, integration);
    }
}

fn answer(status: u16, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

fn header<'a, B>(request: &'a Request<B>, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

fn is_upgrade<B>(request: &Request<B>) -> bool {
    let has_token = |name: &str, token: &str| {
        header(request, name)
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    request.method() == hyper::Method::GET
        && has_token("upgrade", "websocket")
        && has_token("connection", "upgrade")
        && header(request, "sec-websocket-version") == Some("13")
        && request.headers().contains_key(SEC_WEBSOCKET_KEY)
}

/// A connection id as AWS writes them (16 characters ending in `=`), from letters and digits
/// only: clients put it in `@connections` URLs by hand, where a `/` or `+` would need escaping.
fn new_connection_id() -> String {
    let mut id: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(15)
        .collect();
    id.push('=');
    id
}

/// Serves a request to a WebSocket API's stage: `@connections`, or a handshake.
pub async fn serve<B>(
    runtime: &Arc<Runtime>,
    plan: Arc<WsStagePlan>,
    mut request: Request<B>,
    address: &Address,
    remote: SocketAddr,
) -> Response<Full<Bytes>>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if let Some(id) = connection_id_of(&address.path) {
        let id = id.to_string();
        return callback(runtime, request, &id).await;
    }
    if !is_upgrade(&request) {
        return answer(426, r#"{"message": "Upgrade Required"}"#);
    }
    let connect_route = plan.routes.get("$connect").cloned();
    if let Some(metrics) = &plan.metrics {
        metrics.connect_count.inc();
    }
    if let Some(metrics) = connect_route.as_ref().and_then(|r| r.metrics.as_ref()) {
        metrics.connect_count.inc();
    }
    if !runtime.connect_limit.try_acquire() {
        record(
            &plan,
            connect_route.as_deref(),
            WsOutcome::ClientError,
            None,
        );
        return answer(429, r#"{"message": "Limit Exceeded"}"#);
    }
    let request_id = crate::pipeline::extended_request_id();
    let connect = ConnectRequest {
        headers: request
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((canonical(n.as_str()), v.to_str().ok()?.to_string())))
            .collect(),
        query: crate::http_api::request::parse_query(request.uri().query()),
    };
    let now = now_millis();
    let mut connection = Connection {
        id: new_connection_id(),
        api_id: address.api_id.clone(),
        stage: address.stage.clone(),
        domain_name: header(&request, "host").unwrap_or("localhost").to_string(),
        connected_at: now,
        source_ip: crate::context::ip_text(remote.ip()),
        user_agent: header(&request, "user-agent").unwrap_or("").to_string(),
        last_active: AtomicU64::new(now),
        plan,
        authorizer: None,
        iam: None,
        api_key: None,
    };
    let signed = crate::auth::iam::SignedRequest {
        method: request.method().as_str(),
        path: request.uri().path(),
        query: request.uri().query().unwrap_or(""),
        headers: request.headers(),
        body: b"",
    };
    match authorize::authorize(runtime, &connection, &connect, &signed, &request_id).await {
        Ok(grant) => {
            let key = keys::admit_connect(
                runtime,
                &connection,
                header(&request, "x-api-key"),
                grant.usage_identifier_key.as_deref(),
            );
            match key {
                Ok(key) => connection.api_key = key,
                Err(e) => {
                    return answer(e.status(), &json!({"message": e.to_string()}).to_string());
                }
            }
            connection.authorizer = grant.authorizer;
            connection.iam = grant.iam;
        }
        Err(refusal) => {
            let outcome = if let authorize::Refusal::Internal(detail) = &refusal {
                tracing::warn!(connection = connection.id, %detail, "$connect authorizer failed");
                WsOutcome::ExecutionError
            } else {
                WsOutcome::ClientError
            };
            record(&connection.plan, connect_route.as_deref(), outcome, None);
            return answer(refusal.status(), &refusal.body());
        }
    }
    let connection = Arc::new(connection);
    let outcome = match route::connect(runtime, &connection, &connect, &request_id).await {
        Ok(outcome) => outcome,
        Err(error) => {
            tracing::warn!(connection = connection.id, %error, "$connect integration failed");
            return answer(500, r#"{"message": "Internal server error"}"#);
        }
    };
    if !outcome.is_success() {
        let body = outcome.body.unwrap_or_default();
        return answer(outcome.status, &String::from_utf8_lossy(&body));
    }
    let Some(key) = request.headers().get(SEC_WEBSOCKET_KEY) else {
        return answer(400, r#"{"message": "Bad Request"}"#);
    };
    let accept = derive_accept_key(key.as_bytes());
    let upgrade = hyper::upgrade::on(&mut request);
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert("upgrade", HeaderValue::from_static("websocket"));
    headers.insert("connection", HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, v);
    }
    // `$connect` may choose a subprotocol.
    for (name, value) in &outcome.headers {
        if name.eq_ignore_ascii_case("sec-websocket-protocol")
            && let Ok(v) = HeaderValue::from_str(value)
        {
            headers.insert("sec-websocket-protocol", v);
        }
    }
    tokio::spawn(connection::serve(Arc::clone(runtime), connection, upgrade));
    response
}

/// Header names as clients usually write them (`sec-websocket-key` -> `Sec-WebSocket-Key`),
/// which is how API Gateway shows them in `$connect` events.
fn canonical(name: &str) -> String {
    name.split('-')
        .map(|part| match part {
            "websocket" => "WebSocket".to_string(),
            _ => {
                let mut chars = part.chars();
                chars.next().map_or_else(String::new, |c| {
                    c.to_ascii_uppercase().to_string() + chars.as_str()
                })
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn header_names_are_capitalised_like_api_gateway_shows_them() {
        assert_eq!(canonical("sec-websocket-key"), "Sec-WebSocket-Key");
        assert_eq!(canonical("host"), "Host");
        assert_eq!(canonical("x-forwarded-for"), "X-Forwarded-For");
    }

    #[test]
    fn connection_ids_need_no_escaping_in_a_path() {
        for _ in 0..2000 {
            let id = super::new_connection_id();
            assert_eq!(id.len(), 16);
            assert!(id.ends_with('='));
            assert!(id[..15].bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        }
    }
}
