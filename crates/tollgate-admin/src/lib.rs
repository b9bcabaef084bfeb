//! The management API: the AWS REST-JSON services that boto3, the AWS CLI and the SDKs call
//! with `--endpoint-url`. Each service is a module of routes over the [`Store`]; errors become
//! AWS's wire shape in [`error`].

pub mod apigateway;
pub mod apigatewayv2;
pub mod auth;
pub mod credentials;
pub mod error;
pub mod lambda;
pub mod wire;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tollgate_store::Store;

use crate::apigateway::repo::Repo;
use crate::error::AdminError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub repo: Repo,
    /// Runs `TestInvokeMethod`; the data plane provides it.
    pub tester: Option<Arc<dyn tollgate_plan::test_invoke::MethodTester>>,
    pub region: Arc<str>,
    pub account_id: Arc<str>,
    /// The data directory: uploaded function code is kept under `lambda/code/`.
    pub data_dir: Arc<PathBuf>,
    /// Runs functions for the `lambda` service, if this node has a runtime.
    pub functions: Option<Arc<tollgate_functions::Functions>>,
    /// Where `Invoke` of a function this node does not have is forwarded, if anywhere.
    pub remote_lambda: Option<Arc<dyn lambda::RemoteInvoker>>,
    /// The listeners serve TLS: API endpoints are `https://` and `wss://`.
    pub tls: bool,
}

/// How the management API is set up.
pub struct AdminConfig {
    pub region: String,
    pub account_id: String,
    /// Local-development mode: also serve `POST /_tollgate/reset`.
    pub dev: bool,
    /// What runs `TestInvokeMethod` (the data plane), if this node has one.
    pub tester: Option<Arc<dyn tollgate_plan::test_invoke::MethodTester>>,
    /// The data directory (function code is unpacked under it).
    pub data_dir: PathBuf,
    /// The function runtime that `lambda` `Invoke` uses; without one, invocations fail with
    /// `ServiceException` while everything else works.
    pub functions: Option<Arc<tollgate_functions::Functions>>,
    /// The listeners serve TLS (API endpoints are then `https://` and `wss://`).
    pub tls: bool,
}

/// The management API's routes.
pub fn router(store: Arc<dyn Store>, config: AdminConfig) -> Router {
    router_with_remote_lambda(store, config, None)
}

/// [`router`], with `Invoke` of a function this node does not have forwarded to `remote_lambda`
/// (an argument rather than an [`AdminConfig`] field, so existing configurations need no change).
pub fn router_with_remote_lambda(
    store: Arc<dyn Store>,
    config: AdminConfig,
    remote_lambda: Option<Arc<dyn lambda::RemoteInvoker>>,
) -> Router {
    let account_id: Arc<str> = config.account_id.into();
    let state = AppState {
        repo: Repo::new(store, Arc::clone(&account_id)),
        tester: config.tester,
        region: config.region.into(),
        account_id,
        data_dir: Arc::new(config.data_dir),
        functions: config.functions,
        remote_lambda,
        tls: config.tls,
    };
    let mut router = apigateway::routes()
        .merge(apigatewayv2::routes())
        .merge(lambda::routes());
    if config.dev {
        router = router.route("/_tollgate/reset", post(reset));
    }
    router
        .fallback(unknown_operation)
        .method_not_allowed_fallback(unknown_operation)
        .layer(axum::middleware::from_fn(add_request_id))
        .with_state(state)
}

/// Every response carries `x-amzn-RequestId`, which the SDKs report as the request id.
async fn add_request_id(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    if let Ok(value) = axum::http::HeaderValue::from_str(&tollgate_model::ids::request_id()) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

/// `POST /_tollgate/reset` (only with `--dev`): wipes all state so test suites start clean.
async fn reset(State(state): State<AppState>) -> Result<Response, AdminError> {
    lambda::forget_all(&state).await;
    state.repo.store().reset().await?;
    tracing::info!("state reset");
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn unknown_operation(request: axum::extract::Request) -> AdminError {
    AdminError::UnknownOperation(format!(
        "No operation matches {} {}",
        request.method(),
        request.uri().path()
    ))
}
