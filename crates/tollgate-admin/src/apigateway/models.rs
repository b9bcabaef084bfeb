//! CreateModel, GetModel, GetModels, UpdateModel, DeleteModel, GetModelTemplate.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_model::ids;
use tollgate_model::rest::{CreateModel, Model};
use tollgate_store::Key;

use super::PatchBody;
use super::repo::{Batch, MODEL, retry};
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, empty, json, paginate};

pub async fn create(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    AwsJson(input): AwsJson<CreateModel>,
) -> AdminResult<Response> {
    let model = Model::create(ids::short_id(), input)?;
    let taken = || AdminError::conflict("Model name already exists for this REST API");
    state
        .repo
        .create_in_api(&api_id, MODEL, &model.name, &model, taken)
        .await?;
    Ok(json(StatusCode::CREATED, &model))
}

pub async fn get(
    State(state): State<AppState>,
    Path((api_id, name)): Path<(String, String)>,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    Ok(json(
        StatusCode::OK,
        &state.repo.model(&api_id, &name).await?.value,
    ))
}

pub async fn list(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    query: QueryParams,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    let models: Vec<Model> = state
        .repo
        .models(&api_id)
        .await?
        .into_iter()
        .map(|m| m.value)
        .collect();
    Ok(json(StatusCode::OK, &paginate(models, &query)?))
}

pub async fn update(
    State(state): State<AppState>,
    Path((api_id, name)): Path<(String, String)>,
    body: PatchBody,
) -> AdminResult<Response> {
    let missing = || AdminError::not_found(format!("Invalid model name specified: {name}"));
    let model = state
        .repo
        .update_in_api(&api_id, MODEL, &name, missing, |m: &Model| {
            Ok(m.patched(&body.patch_operations)?)
        })
        .await?;
    Ok(json(StatusCode::OK, &model))
}

pub async fn delete(
    State(state): State<AppState>,
    Path((api_id, name)): Path<(String, String)>,
) -> AdminResult<Response> {
    retry(|| async {
        let api = state.repo.rest_api(&api_id).await?;
        let current = state.repo.model(&api_id, &name).await?;
        if let Some(user) = first_user(&state, &api_id, &name).await? {
            return Err(AdminError::conflict(format!(
                "Cannot delete model '{name}', is referenced in {user}"
            )));
        }
        let mut batch = Batch::for_api(&api);
        batch.delete(Key::new(&api_id, MODEL, &name), current.version);
        state.repo.commit(batch).await
    })
    .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// Where a model is used by a method request or response, if anywhere.
async fn first_user(state: &AppState, api_id: &str, name: &str) -> AdminResult<Option<String>> {
    let all = state.repo.resources(api_id).await?;
    let plain: std::collections::BTreeMap<_, _> = all
        .iter()
        .map(|(id, r)| (id.clone(), r.value.clone()))
        .collect();
    for resource in plain.values() {
        for (verb, method) in &resource.resource_methods {
            let path = resource.path_in(&plain);
            if method
                .request_models
                .iter()
                .flat_map(|m| m.values())
                .any(|m| m == name)
            {
                return Ok(Some(format!("method request: {path}/{verb}")));
            }
            let in_response = method
                .method_responses
                .iter()
                .flat_map(|r| r.values())
                .flat_map(|r| r.response_models.iter().flat_map(|m| m.values()))
                .any(|m| m == name);
            if in_response {
                return Ok(Some(format!("method response: {path}/{verb}")));
            }
        }
    }
    Ok(None)
}

pub async fn template(
    State(state): State<AppState>,
    Path((api_id, name)): Path<(String, String)>,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    let model = state.repo.model(&api_id, &name).await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "value": model.value.template() }),
    ))
}
