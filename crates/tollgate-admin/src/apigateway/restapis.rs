//! CreateRestApi, GetRestApi, GetRestApis, UpdateRestApi, DeleteRestApi.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_model::ids;
use tollgate_model::rest::{CreateRestApi, Model, Resource, RestApi};
use tollgate_store::Key;

use super::PatchBody;
use super::repo::{Batch, MODEL, RESOURCE, RESTAPI, Versioned, retry};
use crate::AppState;
use crate::error::AdminResult;
use crate::wire::{AwsJson, QueryParams, empty, json, paginate};

pub async fn create(
    State(state): State<AppState>,
    AwsJson(input): AwsJson<CreateRestApi>,
) -> AdminResult<Response> {
    let api = RestApi::create(
        input.clone(),
        ids::long_id(),
        ids::long_id(),
        tollgate_model::now_epoch_seconds(),
    )?;
    let mut batch = Batch::default();
    batch.create(Key::new("", RESTAPI, &api.id), &api);
    match &input.clone_from {
        Some(source) => clone_contents(&state, source, &api, &mut batch).await?,
        None => {
            batch.create(
                Key::new(&api.id, RESOURCE, &api.root_resource_id),
                &Resource::root(api.root_resource_id.clone()),
            );
            for model in Model::defaults() {
                batch.create(Key::new(&api.id, MODEL, &model.name), &model);
            }
        }
    }
    state.repo.commit(batch).await?;
    Ok(json(StatusCode::CREATED, &api))
}

/// `cloneFrom`: the new API starts with the source's resources (with new ids), methods,
/// models and validators.
async fn clone_contents(
    state: &AppState,
    source: &str,
    api: &RestApi,
    batch: &mut Batch,
) -> AdminResult<()> {
    let source_api = state.repo.rest_api(source).await?;
    let resources = state.repo.resources(source).await?;
    let new_ids: std::collections::HashMap<&str, String> = resources
        .keys()
        .map(|id| {
            let new = if *id == source_api.value.root_resource_id {
                api.root_resource_id.clone()
            } else {
                ids::short_id()
            };
            (id.as_str(), new)
        })
        .collect();
    for Versioned {
        value: resource, ..
    } in resources.values()
    {
        let mut copy = resource.clone();
        copy.id = new_ids[resource.id.as_str()].clone();
        copy.parent_id = resource
            .parent_id
            .as_ref()
            .and_then(|p| new_ids.get(p.as_str()).cloned());
        for method in copy.resource_methods.values_mut() {
            if let Some(integration) = method.method_integration.as_mut()
                && integration.cache_namespace == resource.id
            {
                integration.cache_namespace = copy.id.clone();
            }
        }
        batch.create(Key::new(&api.id, RESOURCE, &copy.id), &copy);
    }
    for model in state.repo.models(source).await? {
        batch.create(Key::new(&api.id, MODEL, &model.value.name), &model.value);
    }
    for validator in state.repo.validators(source).await? {
        batch.create(
            Key::new(&api.id, super::repo::VALIDATOR, &validator.value.id),
            &validator.value,
        );
    }
    Ok(())
}

pub async fn get(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
) -> AdminResult<Response> {
    let api = state.repo.rest_api(&api_id).await?;
    Ok(json(StatusCode::OK, &api.value))
}

pub async fn list(State(state): State<AppState>, query: QueryParams) -> AdminResult<Response> {
    let apis: Vec<RestApi> = state
        .repo
        .rest_apis()
        .await?
        .into_iter()
        .map(|a| a.value)
        .collect();
    Ok(json(StatusCode::OK, &paginate(apis, &query)?))
}

pub async fn update(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    body: PatchBody,
) -> AdminResult<Response> {
    let api = retry(|| async {
        let current = state.repo.rest_api(&api_id).await?;
        let patched = current.value.patched(&body.patch_operations)?;
        let mut batch = Batch::for_api(&current);
        batch.replace_api(&patched);
        state.repo.commit(batch).await?;
        Ok(patched)
    })
    .await?;
    Ok(json(StatusCode::OK, &api))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
) -> AdminResult<Response> {
    retry(|| async {
        let current = state.repo.rest_api(&api_id).await?;
        let mut batch = Batch::default();
        batch
            .delete(Key::new("", RESTAPI, &api_id), current.version)
            .delete_scope(&api_id);
        state.repo.commit(batch).await
    })
    .await?;
    Ok(empty(StatusCode::ACCEPTED))
}
