//! CreateStage, GetStage, GetStages, UpdateStage, DeleteStage, DeleteRouteSettings,
//! ResetAuthorizersCache.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_model::layout::V2_STAGE;
use tollgate_model::v2::{Stage, StageInput, StageRecord, now_iso8601};
use tollgate_store::Key;

use super::repo::{Change, Contents, new_deployment, point_at};
use crate::AppState;
use crate::apigateway::repo::{Versioned, retry};
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, empty, json};

/// A stage that auto-deploys is deployed when it is created or switched on.
fn deploy_now(contents: &Contents, change: &mut Change, stage: &mut StageRecord) {
    let record = new_deployment(contents.snapshot(), None, true);
    change.batch.create(
        Key::new(
            contents.api_id(),
            tollgate_model::layout::V2_DEPLOYMENT,
            &record.deployment.deployment_id,
        ),
        &record,
    );
    point_at(stage, &record.deployment.deployment_id, true);
}

fn check_deployment(stage: &Stage, deployments: &[String]) -> AdminResult<()> {
    match &stage.deployment_id {
        Some(id) if !deployments.contains(id) => Err(AdminError::not_found(format!(
            "Invalid deployment identifier specified {id}"
        ))),
        _ => Ok(()),
    }
}

async fn deployment_ids(state: &AppState, api_id: &str) -> AdminResult<Vec<String>> {
    Ok(state
        .repo
        .store()
        .list(api_id, tollgate_model::layout::V2_DEPLOYMENT)
        .await?
        .into_iter()
        .map(|d| d.id)
        .collect())
}

pub async fn create(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    AwsJson(input): AwsJson<StageInput>,
) -> AdminResult<Response> {
    let created = retry(|| async {
        let contents = Contents::read(&state.repo, &api_id).await?;
        let stage = Stage::create(&input, now_iso8601())?;
        if contents.stage(&stage.stage_name).is_ok() {
            return Err(AdminError::conflict(format!(
                "Stage {} already exists",
                stage.stage_name
            )));
        }
        check_deployment(&stage, &deployment_ids(&state, &api_id).await?)?;
        let mut record = StageRecord {
            stage,
            authorizer_cache_generation: 0,
        };
        let mut change = Change::new(&contents, &contents.api.value);
        if record.stage.auto_deploy {
            deploy_now(&contents, &mut change, &mut record);
        }
        change.batch.create(
            Key::new(&api_id, V2_STAGE, &record.stage.stage_name),
            &record,
        );
        state.repo.commit(change.batch).await?;
        Ok(record.stage)
    })
    .await?;
    Ok(json(StatusCode::CREATED, &created))
}

async fn stage(state: &AppState, api_id: &str, name: &str) -> AdminResult<Versioned<StageRecord>> {
    super::repo::api(&state.repo, api_id).await?;
    state
        .repo
        .get(&Key::new(api_id, V2_STAGE, name))
        .await?
        .ok_or_else(|| AdminError::not_found(format!("Invalid stage identifier specified {name}")))
}

pub async fn get(
    State(state): State<AppState>,
    Path((api_id, name)): Path<(String, String)>,
) -> AdminResult<Response> {
    Ok(json(
        StatusCode::OK,
        &stage(&state, &api_id, &name).await?.value.stage,
    ))
}

pub async fn list(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    query: QueryParams,
) -> AdminResult<Response> {
    super::repo::api(&state.repo, &api_id).await?;
    let stages: Vec<Stage> = state
        .repo
        .list::<StageRecord>(&api_id, V2_STAGE)
        .await?
        .into_iter()
        .map(|s| s.value.stage)
        .collect();
    super::page(stages, &query)
}

/// Read-modify-write of one stage, inside the API's guard.
async fn change_stage(
    state: &AppState,
    api_id: &str,
    name: &str,
    edit: impl Fn(&Contents, &mut Change, &mut StageRecord) -> AdminResult<()>,
) -> AdminResult<Stage> {
    retry(|| async {
        let contents = Contents::read(&state.repo, api_id).await?;
        let current = contents.stage(name)?;
        let mut next = current.value.clone();
        let mut change = Change::new(&contents, &contents.api.value);
        edit(&contents, &mut change, &mut next)?;
        change
            .batch
            .put_versioned(Key::new(api_id, V2_STAGE, name), &next, current.version);
        state.repo.commit(change.batch).await?;
        Ok(next.stage)
    })
    .await
}

pub async fn update(
    State(state): State<AppState>,
    Path((api_id, name)): Path<(String, String)>,
    AwsJson(input): AwsJson<StageInput>,
) -> AdminResult<Response> {
    let deployments = deployment_ids(&state, &api_id).await?;
    let stage = change_stage(&state, &api_id, &name, |contents, change, record| {
        let was_auto = record.stage.auto_deploy;
        record.stage = record.stage.updated(&input, now_iso8601())?;
        if input.deployment_id.is_some() && record.stage.auto_deploy {
            return Err(AdminError::bad_request(
                "The deployment of a stage with autoDeploy enabled cannot be set",
            ));
        }
        check_deployment(&record.stage, &deployments)?;
        if record.stage.auto_deploy && !was_auto {
            deploy_now(contents, change, record);
        }
        Ok(())
    })
    .await?;
    Ok(json(StatusCode::OK, &stage))
}

pub async fn delete(
    State(state): State<AppState>,
    Path((api_id, name)): Path<(String, String)>,
) -> AdminResult<Response> {
    retry(|| async {
        let contents = Contents::read(&state.repo, &api_id).await?;
        let current = contents.stage(&name)?;
        let mut change = Change::new(&contents, &contents.api.value);
        change
            .batch
            .delete(Key::new(&api_id, V2_STAGE, &name), current.version);
        state.repo.commit(change.batch).await.map(|_| ())
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// DeleteRouteSettings.
pub async fn delete_route_settings(
    State(state): State<AppState>,
    Path((api_id, name, route_key)): Path<(String, String, String)>,
) -> AdminResult<Response> {
    change_stage(&state, &api_id, &name, |_, _, record| {
        record
            .stage
            .route_settings
            .remove(&route_key)
            .map(|_| ())
            .ok_or_else(|| {
                AdminError::not_found(format!("Invalid route settings specified {route_key}"))
            })
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// ResetAuthorizersCache: a new cache generation, which the data plane starts empty.
pub async fn reset_authorizers_cache(
    State(state): State<AppState>,
    Path((api_id, name)): Path<(String, String)>,
) -> AdminResult<Response> {
    change_stage(&state, &api_id, &name, |_, _, record| {
        record.authorizer_cache_generation += 1;
        Ok(())
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
