//! CreateDeployment, GetDeployment, GetDeployments, UpdateDeployment, DeleteDeployment.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_model::layout::{V2_DEPLOYMENT, V2_STAGE};
use tollgate_model::v2::{Deployment, DeploymentInput, DeploymentRecord};
use tollgate_store::Key;

use super::repo::{Change, Contents, new_deployment, point_at};
use crate::AppState;
use crate::apigateway::repo::retry;
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, empty, json};

pub async fn create(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    AwsJson(input): AwsJson<DeploymentInput>,
) -> AdminResult<Response> {
    let deployment = retry(|| async {
        let contents = Contents::read(&state.repo, &api_id).await?;
        let record = new_deployment(contents.snapshot(), input.description.clone(), false);
        let id = record.deployment.deployment_id.clone();
        let mut change = Change::new(&contents, &contents.api.value);
        change
            .batch
            .create(Key::new(&api_id, V2_DEPLOYMENT, &id), &record);
        if let Some(name) = &input.stage_name {
            let stage = contents.stage(name)?;
            if stage.value.stage.auto_deploy {
                return Err(AdminError::bad_request(format!(
                    "Stage {name} has autoDeploy enabled: it is deployed on every change"
                )));
            }
            let mut next = stage.value.clone();
            point_at(&mut next, &id, false);
            change
                .batch
                .put_versioned(Key::new(&api_id, V2_STAGE, name), &next, stage.version);
        }
        state.repo.commit(change.batch).await?;
        Ok(record.deployment)
    })
    .await?;
    Ok(json(StatusCode::CREATED, &deployment))
}

fn missing(id: &str) -> AdminError {
    AdminError::not_found(format!("Invalid deployment identifier specified {id}"))
}

pub async fn get(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
) -> AdminResult<Response> {
    super::repo::api(&state.repo, &api_id).await?;
    let record = state
        .repo
        .get::<DeploymentRecord>(&Key::new(&api_id, V2_DEPLOYMENT, &id))
        .await?
        .ok_or_else(|| missing(&id))?;
    Ok(json(StatusCode::OK, &record.value.deployment))
}

pub async fn list(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    query: QueryParams,
) -> AdminResult<Response> {
    super::repo::api(&state.repo, &api_id).await?;
    let items: Vec<Deployment> = state
        .repo
        .list::<DeploymentRecord>(&api_id, V2_DEPLOYMENT)
        .await?
        .into_iter()
        .map(|r| r.value.deployment)
        .collect();
    super::page(items, &query)
}

pub async fn update(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
    AwsJson(input): AwsJson<DeploymentInput>,
) -> AdminResult<Response> {
    let deployment = retry(|| async {
        let contents = Contents::read(&state.repo, &api_id).await?;
        let key = Key::new(&api_id, V2_DEPLOYMENT, &id);
        let current = state
            .repo
            .get::<DeploymentRecord>(&key)
            .await?
            .ok_or_else(|| missing(&id))?;
        let mut next = current.value.clone();
        if let Some(d) = &input.description {
            next.deployment.description = Some(d.clone());
        }
        let mut change = Change::new(&contents, &contents.api.value);
        change.batch.put_versioned(key, &next, current.version);
        state.repo.commit(change.batch).await?;
        Ok(next.deployment)
    })
    .await?;
    Ok(json(StatusCode::OK, &deployment))
}

pub async fn delete(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
) -> AdminResult<Response> {
    retry(|| async {
        let contents = Contents::read(&state.repo, &api_id).await?;
        let key = Key::new(&api_id, V2_DEPLOYMENT, &id);
        let current = state
            .repo
            .store()
            .get(&key)
            .await?
            .ok_or_else(|| missing(&id))?;
        if let Some(stage) = contents
            .stages
            .iter()
            .find(|s| s.value.stage.deployment_id.as_deref() == Some(id.as_str()))
        {
            return Err(AdminError::bad_request(format!(
                "Deployment {id} is used by stage {}; move or delete the stage first",
                stage.value.stage.stage_name
            )));
        }
        let mut change = Change::new(&contents, &contents.api.value);
        change.batch.delete(key, current.version);
        state.repo.commit(change.batch).await.map(|_| ())
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
