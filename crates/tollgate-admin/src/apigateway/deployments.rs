//! CreateDeployment, GetDeployment, GetDeployments, UpdateDeployment, DeleteDeployment.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_model::ids;
use tollgate_model::rest::{
    ApiSnapshot, CanarySettings, CreateDeployment, CreateStage, Deployment, DeploymentRecord, Stage,
};
use tollgate_store::Key;

use super::PatchBody;
use super::repo::{Batch, DEPLOYMENT, STAGE, retry};
use super::resources::with_paths;
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, empty, json, paginate};

/// The wire form of a deployment; `apiSummary` only when asked with `embed=apisummary`.
fn view(record: &DeploymentRecord, embed_summary: bool) -> Deployment {
    let mut deployment = record.deployment.clone();
    if embed_summary {
        deployment.api_summary = Some(record.snapshot.api_summary());
    }
    deployment
}

/// The API as it is now, frozen.
pub(super) async fn current_snapshot(
    state: &AppState,
    api: &tollgate_model::rest::RestApi,
) -> AdminResult<ApiSnapshot> {
    Ok(ApiSnapshot {
        api: api.clone(),
        resources: with_paths(&state.repo.resources(&api.id).await?),
        models: state
            .repo
            .models(&api.id)
            .await?
            .into_iter()
            .map(|m| m.value)
            .collect(),
        request_validators: state
            .repo
            .validators(&api.id)
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect(),
        gateway_responses: state
            .repo
            .list::<tollgate_model::rest::GatewayResponse>(&api.id, super::repo::GATEWAY_RESPONSE)
            .await?
            .into_iter()
            .map(|g| g.value)
            .collect(),
        authorizers: state
            .repo
            .list::<tollgate_model::rest::Authorizer>(&api.id, super::repo::AUTHORIZER)
            .await?
            .into_iter()
            .map(|a| a.value)
            .collect(),
    })
}

/// Freezes the API as it is now. AWS refuses to deploy an API without methods, or with a
/// method that has no integration.
async fn snapshot(
    state: &AppState,
    api: &tollgate_model::rest::RestApi,
) -> AdminResult<ApiSnapshot> {
    let snapshot = current_snapshot(state, api).await?;
    let methods = || {
        snapshot
            .resources
            .iter()
            .flat_map(|r| r.resource_methods.values())
    };
    if methods().next().is_none() {
        return Err(AdminError::bad_request(
            "The REST API doesn't contain any methods",
        ));
    }
    if methods().any(|m| m.method_integration.is_none()) {
        return Err(AdminError::bad_request("No integration defined for method"));
    }
    Ok(snapshot)
}

pub async fn create(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    AwsJson(input): AwsJson<CreateDeployment>,
) -> AdminResult<Response> {
    if let Some(name) = &input.stage_name {
        tollgate_model::validate::stage_name(name)?;
    }
    let deployment = retry(|| async {
        let api = state.repo.rest_api(&api_id).await?;
        let now = tollgate_model::now_epoch_seconds();
        let record = DeploymentRecord {
            deployment: Deployment {
                id: ids::short_id(),
                description: input.description.clone(),
                created_date: now,
                api_summary: None,
            },
            snapshot: snapshot(&state, &api.value).await?,
        };
        let id = record.deployment.id.clone();
        let mut batch = Batch::for_api(&api);
        batch.create(Key::new(&api_id, DEPLOYMENT, &id), &record);
        if let Some(name) = &input.stage_name {
            let existing = state
                .repo
                .get::<Stage>(&Key::new(&api_id, STAGE, name))
                .await?;
            let (stage, version) = match existing {
                Some(current) => (
                    point_stage(current.value, &input, &id, now)?,
                    current.version,
                ),
                None => (new_stage(name, &input, &id, now)?, 0),
            };
            batch.put_versioned(Key::new(&api_id, STAGE, name), &stage, version);
        }
        state.repo.commit(batch).await?;
        Ok(record.deployment)
    })
    .await?;
    Ok(json(StatusCode::CREATED, &deployment))
}

fn canary_of(input: &CreateDeployment, deployment_id: &str) -> Option<CanarySettings> {
    input.canary_settings.as_ref().map(|c| CanarySettings {
        percent_traffic: c.percent_traffic.unwrap_or(0.0),
        deployment_id: Some(deployment_id.to_string()),
        stage_variable_overrides: c.stage_variable_overrides.clone().filter(|v| !v.is_empty()),
        use_stage_cache: c.use_stage_cache.unwrap_or(false),
    })
}

fn new_stage(
    name: &str,
    input: &CreateDeployment,
    deployment_id: &str,
    now: i64,
) -> AdminResult<Stage> {
    if input.canary_settings.is_some() {
        return Err(AdminError::bad_request(
            "A canary deployment needs an existing stage to run against",
        ));
    }
    let create = CreateStage {
        stage_name: Some(name.to_string()),
        deployment_id: Some(deployment_id.to_string()),
        description: input.stage_description.clone(),
        cache_cluster_enabled: input.cache_cluster_enabled,
        cache_cluster_size: input.cache_cluster_size.clone(),
        variables: input.variables.clone(),
        tracing_enabled: input.tracing_enabled,
        ..Default::default()
    };
    Ok(Stage::create(create, now)?)
}

/// Deploying to an existing stage moves it to the new deployment, or, with canary settings,
/// makes the new deployment the stage's canary.
fn point_stage(
    mut stage: Stage,
    input: &CreateDeployment,
    deployment_id: &str,
    now: i64,
) -> AdminResult<Stage> {
    match canary_of(input, deployment_id) {
        Some(canary) => stage.canary_settings = Some(canary),
        None => stage.deployment_id = deployment_id.to_string(),
    }
    if let Some(description) = &input.stage_description {
        stage.description = Some(description.clone());
    }
    if let Some(variables) = &input.variables {
        stage
            .variables
            .get_or_insert_with(Default::default)
            .extend(variables.clone());
    }
    if let Some(enabled) = input.cache_cluster_enabled {
        stage.cache_cluster_enabled = enabled;
    }
    if let Some(tracing) = input.tracing_enabled {
        stage.tracing_enabled = tracing;
    }
    stage.last_updated_date = now;
    Ok(stage)
}

pub async fn get(
    State(state): State<AppState>,
    Path((api_id, deployment_id)): Path<(String, String)>,
    query: QueryParams,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    let record = state.repo.deployment(&api_id, &deployment_id).await?;
    let embed = query.list_contains("embed", "apisummary");
    Ok(json(StatusCode::OK, &view(&record.value, embed)))
}

pub async fn list(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    query: QueryParams,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    let records = state
        .repo
        .list::<DeploymentRecord>(&api_id, DEPLOYMENT)
        .await?;
    let items: Vec<Deployment> = records.iter().map(|r| view(&r.value, false)).collect();
    Ok(json(StatusCode::OK, &paginate(items, &query)?))
}

pub async fn update(
    State(state): State<AppState>,
    Path((api_id, deployment_id)): Path<(String, String)>,
    body: PatchBody,
) -> AdminResult<Response> {
    let missing = || AdminError::not_found("Invalid Deployment identifier specified");
    let record = state
        .repo
        .update_in_api(
            &api_id,
            DEPLOYMENT,
            &deployment_id,
            missing,
            |r: &DeploymentRecord| {
                let mut record = r.clone();
                record.deployment = record.deployment.patched(&body.patch_operations)?;
                Ok(record)
            },
        )
        .await?;
    Ok(json(StatusCode::OK, &record.deployment))
}

pub async fn delete(
    State(state): State<AppState>,
    Path((api_id, deployment_id)): Path<(String, String)>,
) -> AdminResult<Response> {
    retry(|| async {
        let api = state.repo.rest_api(&api_id).await?;
        let current = state.repo.deployment(&api_id, &deployment_id).await?;
        let stages = state.repo.stages(&api_id).await?;
        let canary_uses = |s: &Stage| {
            s.canary_settings.as_ref().and_then(|c| c.deployment_id.as_deref()) == Some(deployment_id.as_str())
        };
        if stages.iter().any(|s| s.value.deployment_id == deployment_id) {
            return Err(AdminError::bad_request(
                "Active stages pointing to this deployment must be moved or deleted",
            ));
        }
        if stages.iter().any(|s| canary_uses(&s.value)) {
            return Err(AdminError::bad_request(
                "Active stages with canary settings pointing to this deployment must be moved or deleted",
            ));
        }
        let mut batch = Batch::for_api(&api);
        batch.delete(Key::new(&api_id, DEPLOYMENT, &deployment_id), current.version);
        state.repo.commit(batch).await
    })
    .await?;
    Ok(empty(StatusCode::ACCEPTED))
}
