//! CreateApi (with quick create), GetApi, GetApis, UpdateApi, DeleteApi.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tollgate_model::layout::{HTTP_API, V2_DEPLOYMENT, V2_INTEGRATION, V2_ROUTE, V2_STAGE};
use tollgate_model::v2::{
    Api, ApiInput, ApiSnapshot, Integration, IntegrationInput, Route, RouteInput, Stage,
    StageInput, StageRecord, child_id, now_iso8601,
};
use tollgate_store::Key;

use super::repo::{Change, Contents, api, api_key, new_deployment, point_at};
use crate::AppState;
use crate::apigateway::repo::{Batch, retry};
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, empty, json};

/// `apiEndpoint`: where this server serves the API, host style, on the port the client
/// reached the management API at (`http://{apiId}.execute-api.localhost:4566`; `ws://` for
/// WebSocket APIs; `https://` and `wss://` when the listeners serve TLS).
pub(super) fn endpoint(
    headers: &HeaderMap,
    api_id: &str,
    protocol: Option<&str>,
    tls: bool,
) -> String {
    let scheme = match (protocol == Some("WEBSOCKET"), tls) {
        (true, false) => "ws",
        (true, true) => "wss",
        (false, false) => "http",
        (false, true) => "https",
    };
    let port = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.rsplit_once(':'))
        .map(|(_, p)| p)
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()));
    match port {
        Some(port) => format!("{scheme}://{api_id}.execute-api.localhost:{port}"),
        None => format!("{scheme}://{api_id}.execute-api.localhost"),
    }
}

/// Quick create: one integration for `target`, one route (`$default` unless `routeKey`
/// says otherwise), and a `$default` stage with `autoDeploy`, all marked
/// `apiGatewayManaged`, deployed at once.
fn quick_create(api: &Api, input: &ApiInput, target: &str, batch: &mut Batch) -> AdminResult<()> {
    let lambda = target.starts_with("arn:");
    let mut integration = Integration::create(
        &IntegrationInput {
            integration_type: Some(if lambda { "AWS_PROXY" } else { "HTTP_PROXY" }.into()),
            integration_uri: Some(target.to_string()),
            integration_method: (!lambda).then(|| "ANY".to_string()),
            payload_format_version: Some(if lambda { "2.0" } else { "1.0" }.into()),
            ..Default::default()
        },
        child_id(),
    )?;
    integration.api_gateway_managed = Some(true);
    let mut route = Route::create(
        &RouteInput {
            route_key: Some(input.route_key.clone().unwrap_or_else(|| "$default".into())),
            target: Some(format!("integrations/{}", integration.integration_id)),
            ..Default::default()
        },
        child_id(),
    )?;
    route.api_gateway_managed = Some(true);
    let mut stage = Stage::create(
        &StageInput {
            stage_name: Some("$default".into()),
            auto_deploy: Some(true),
            ..Default::default()
        },
        now_iso8601(),
    )?;
    stage.api_gateway_managed = Some(true);
    let record = new_deployment(
        ApiSnapshot {
            api: api.clone(),
            routes: vec![route.clone()],
            integrations: vec![integration.clone()],
            authorizers: Vec::new(),
            route_responses: Vec::new(),
            integration_responses: Vec::new(),
            models: Vec::new(),
        },
        None,
        true,
    );
    let mut stage = StageRecord {
        stage,
        authorizer_cache_generation: 0,
    };
    point_at(&mut stage, &record.deployment.deployment_id, true);
    let id = &api.api_id;
    batch
        .create(
            Key::new(id, V2_INTEGRATION, &integration.integration_id),
            &integration,
        )
        .create(Key::new(id, V2_ROUTE, &route.route_id), &route)
        .create(Key::new(id, V2_STAGE, "$default"), &stage)
        .create(
            Key::new(id, V2_DEPLOYMENT, &record.deployment.deployment_id),
            &record,
        );
    Ok(())
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    AwsJson(input): AwsJson<ApiInput>,
) -> AdminResult<Response> {
    let id = tollgate_model::ids::long_id();
    let address = endpoint(&headers, &id, input.protocol_type.as_deref(), state.tls);
    let api = Api::create(&input, id.clone(), address, now_iso8601())?;
    if api.protocol_type == "WEBSOCKET" && input.target.is_some() {
        return Err(AdminError::bad_request(
            "Quick create (Target) is supported only for HTTP APIs",
        ));
    }
    if input.route_key.is_some() && input.target.is_none() {
        return Err(AdminError::bad_request(
            "RouteKey can only be specified together with Target (quick create)",
        ));
    }
    let mut batch = claim_id(&state, &api).await?;
    if let Some(target) = &input.target {
        quick_create(&api, &input, target, &mut batch)?;
    }
    state.repo.commit(batch).await?;
    Ok(json(StatusCode::CREATED, &api))
}

/// A batch that creates `api`, once no REST API holds its id (REST and HTTP APIs share one
/// id space).
pub(super) async fn claim_id(state: &AppState, api: &Api) -> AdminResult<Batch> {
    if state
        .repo
        .store()
        .get(&Key::new("", tollgate_model::layout::RESTAPI, &api.api_id))
        .await?
        .is_some()
    {
        return Err(AdminError::ConcurrentModification);
    }
    let mut batch = Batch::default();
    batch.create(Key::new("", HTTP_API, &api.api_id), api);
    Ok(batch)
}

pub async fn get(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
) -> AdminResult<Response> {
    Ok(json(
        StatusCode::OK,
        &api(&state.repo, &api_id).await?.value,
    ))
}

pub async fn list(State(state): State<AppState>, query: QueryParams) -> AdminResult<Response> {
    let apis: Vec<Api> = state
        .repo
        .list::<Api>("", HTTP_API)
        .await?
        .into_iter()
        .map(|a| a.value)
        .collect();
    super::page(apis, &query)
}

pub async fn update(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    AwsJson(input): AwsJson<ApiInput>,
) -> AdminResult<Response> {
    if input.target.is_some() || input.route_key.is_some() {
        return Err(AdminError::bad_request(
            "Target and RouteKey can only be set when the API is created",
        ));
    }
    let updated = retry(|| async {
        let mut contents = Contents::read(&state.repo, &api_id).await?;
        let next = contents.api.value.updated(&input)?;
        let mut change = Change::new(&contents, &next);
        contents.api.value = next.clone();
        change.auto_deploy(&contents);
        state.repo.commit(change.batch).await?;
        Ok(next)
    })
    .await?;
    Ok(json(StatusCode::OK, &updated))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
) -> AdminResult<Response> {
    retry(|| async {
        let current = api(&state.repo, &api_id).await?;
        let mut batch = Batch::default();
        batch
            .delete(api_key(&api_id), current.version)
            .delete_scope(&api_id);
        state.repo.commit(batch).await
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// DeleteCorsConfiguration.
pub async fn delete_cors(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
) -> AdminResult<Response> {
    retry(|| async {
        let mut contents = Contents::read(&state.repo, &api_id).await?;
        let mut next = contents.api.value.clone();
        next.cors_configuration = None;
        let mut change = Change::new(&contents, &next);
        contents.api.value = next;
        change.auto_deploy(&contents);
        state.repo.commit(change.batch).await.map(|_| ())
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
