//! CreateStage, GetStage, GetStages, UpdateStage, DeleteStage.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_model::rest::{CreateStage, Stage};
use tollgate_store::Key;

use super::PatchBody;
use super::repo::{Batch, STAGE, retry, stage_not_found};
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, empty, json};

/// The deployments a stage refers to must exist.
async fn check_deployments(state: &AppState, api_id: &str, stage: &Stage) -> AdminResult<()> {
    state.repo.deployment(api_id, &stage.deployment_id).await?;
    if let Some(id) = stage
        .canary_settings
        .as_ref()
        .and_then(|c| c.deployment_id.as_ref())
    {
        state.repo.deployment(api_id, id).await?;
    }
    Ok(())
}

pub async fn create(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    AwsJson(input): AwsJson<CreateStage>,
) -> AdminResult<Response> {
    let stage = Stage::create(input, tollgate_model::now_epoch_seconds())?;
    state.repo.rest_api(&api_id).await?;
    check_deployments(&state, &api_id, &stage).await?;
    let taken = || AdminError::conflict("Stage already exists");
    state
        .repo
        .create_in_api(&api_id, STAGE, &stage.stage_name, &stage, taken)
        .await?;
    Ok(json(StatusCode::CREATED, &stage))
}

pub async fn get(
    State(state): State<AppState>,
    Path((api_id, name)): Path<(String, String)>,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    Ok(json(
        StatusCode::OK,
        &state.repo.stage(&api_id, &name).await?.value,
    ))
}

pub async fn list(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    query: QueryParams,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    let wanted = query.get("deploymentId");
    let stages: Vec<Stage> = state
        .repo
        .stages(&api_id)
        .await?
        .into_iter()
        .map(|s| s.value)
        .filter(|s| wanted.is_none_or(|d| s.deployment_id == d))
        .collect();
    Ok(json(StatusCode::OK, &serde_json::json!({ "item": stages })))
}

pub async fn update(
    State(state): State<AppState>,
    Path((api_id, name)): Path<(String, String)>,
    body: PatchBody,
) -> AdminResult<Response> {
    let stage = retry(|| async {
        let api = state.repo.rest_api(&api_id).await?;
        let current = state.repo.stage(&api_id, &name).await?;
        let patched = current
            .value
            .patched(&body.patch_operations, tollgate_model::now_epoch_seconds())?;
        check_deployments(&state, &api_id, &patched).await?;
        let mut batch = Batch::for_api(&api);
        batch.put_versioned(Key::new(&api_id, STAGE, &name), &patched, current.version);
        state.repo.commit(batch).await?;
        Ok(patched)
    })
    .await?;
    Ok(json(StatusCode::OK, &stage))
}

pub async fn delete(
    State(state): State<AppState>,
    Path((api_id, name)): Path<(String, String)>,
) -> AdminResult<Response> {
    state
        .repo
        .delete_in_api(&api_id, STAGE, &name, stage_not_found)
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}
