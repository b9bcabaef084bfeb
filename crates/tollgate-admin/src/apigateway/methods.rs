//! PutMethod, GetMethod, UpdateMethod, DeleteMethod and the method responses.
//!
//! Methods live inside their resource's document, so every change here is a read-modify-write
//! of one resource, guarded like every other change to the API.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_model::rest::{
    HTTP_METHODS, Method, MethodResponse, PutMethod, PutMethodResponse, RequestValidator, Resource,
};
use tollgate_store::Key;

use super::PatchBody;
use super::repo::{Batch, RESOURCE, retry};
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, empty, json};

pub(super) fn check_http_method(method: &str) -> AdminResult<()> {
    if HTTP_METHODS.contains(&method) {
        Ok(())
    } else {
        Err(AdminError::bad_request(format!(
            "Invalid HttpMethod specified. Valid options are {}",
            HTTP_METHODS.join(",")
        )))
    }
}

pub(super) fn method_not_found() -> AdminError {
    AdminError::not_found("Invalid Method identifier specified")
}

pub(super) fn find_method<'a>(
    resource: &'a Resource,
    http_method: &str,
) -> AdminResult<&'a Method> {
    resource
        .resource_methods
        .get(http_method)
        .ok_or_else(method_not_found)
}

pub(super) fn find_method_mut<'a>(
    resource: &'a mut Resource,
    http_method: &str,
) -> AdminResult<&'a mut Method> {
    resource
        .resource_methods
        .get_mut(http_method)
        .ok_or_else(method_not_found)
}

/// Reads one resource of an API (checking the API exists first, for AWS's error order).
pub(super) async fn read_resource(
    state: &AppState,
    api_id: &str,
    resource_id: &str,
) -> AdminResult<Resource> {
    state.repo.rest_api(api_id).await?;
    Ok(state.repo.resource(api_id, resource_id).await?.value)
}

/// Changes one resource with `change`, which sees the resource and returns what the caller
/// answers with; retried when another writer got there first.
pub(super) async fn edit_resource<T>(
    state: &AppState,
    api_id: &str,
    resource_id: &str,
    change: impl Fn(&mut Resource) -> AdminResult<T>,
) -> AdminResult<T> {
    retry(|| async {
        let api = state.repo.rest_api(api_id).await?;
        let current = state.repo.resource(api_id, resource_id).await?;
        let mut resource = current.value.clone();
        let answer = change(&mut resource)?;
        let mut batch = Batch::for_api(&api);
        batch.put_versioned(
            Key::new(api_id, RESOURCE, resource_id),
            &resource,
            current.version,
        );
        state.repo.commit(batch).await?;
        Ok(answer)
    })
    .await
}

/// A method's request validator must exist (a `BadRequestException` on AWS, not a 404).
async fn check_validator(state: &AppState, api_id: &str, id: Option<&str>) -> AdminResult<()> {
    let Some(id) = id else { return Ok(()) };
    match super::children::read::<RequestValidator>(state, api_id, id).await {
        Err(AdminError::NotFound(m)) => Err(AdminError::BadRequest(m)),
        other => other.map(|_| ()),
    }
}

/// Model names that a method or response refers to must exist in the API.
async fn check_models<'a>(
    state: &AppState,
    api_id: &str,
    names: impl IntoIterator<Item = &'a String>,
) -> AdminResult<()> {
    let models = state.repo.models(api_id).await?;
    for name in names {
        if !models.iter().any(|m| &m.value.name == name) {
            return Err(AdminError::bad_request(format!(
                "Invalid model identifier specified: {name}"
            )));
        }
    }
    Ok(())
}

pub async fn put_method(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method)): Path<(String, String, String)>,
    AwsJson(input): AwsJson<PutMethod>,
) -> AdminResult<Response> {
    check_http_method(&http_method)?;
    let method = Method::create(http_method.clone(), input)?;
    state.repo.rest_api(&api_id).await?;
    if let Some(models) = &method.request_models {
        check_models(&state, &api_id, models.values()).await?;
    }
    check_validator(&state, &api_id, method.request_validator_id.as_deref()).await?;
    let method = edit_resource(&state, &api_id, &resource_id, |resource| {
        if resource.resource_methods.contains_key(&http_method) {
            return Err(AdminError::conflict(
                "Method already exists for this resource",
            ));
        }
        resource
            .resource_methods
            .insert(http_method.clone(), method.clone());
        Ok(method.clone())
    })
    .await?;
    Ok(json(StatusCode::CREATED, &method))
}

pub async fn get_method(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method)): Path<(String, String, String)>,
) -> AdminResult<Response> {
    let resource = read_resource(&state, &api_id, &resource_id).await?;
    Ok(json(StatusCode::OK, find_method(&resource, &http_method)?))
}

pub async fn update_method(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method)): Path<(String, String, String)>,
    body: PatchBody,
) -> AdminResult<Response> {
    let validators = state.repo.validators(&api_id).await.unwrap_or_default();
    let method = edit_resource(&state, &api_id, &resource_id, |resource| {
        let method = find_method_mut(resource, &http_method)?;
        let patched = method.patched(&body.patch_operations)?;
        if let Some(id) = &patched.request_validator_id
            && !validators.iter().any(|v| &v.value.id == id)
        {
            return Err(AdminError::bad_request(
                "Invalid Request Validator identifier specified",
            ));
        }
        *method = patched;
        Ok(method.clone())
    })
    .await?;
    if let Some(models) = &method.request_models {
        check_models(&state, &api_id, models.values()).await?;
    }
    Ok(json(StatusCode::OK, &method))
}

pub async fn delete_method(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method)): Path<(String, String, String)>,
) -> AdminResult<Response> {
    edit_resource(&state, &api_id, &resource_id, |resource| {
        resource
            .resource_methods
            .remove(&http_method)
            .map(|_| ())
            .ok_or_else(method_not_found)
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub(super) fn response_not_found() -> AdminError {
    AdminError::not_found("Invalid Response status code specified")
}

pub async fn put_response(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method, status)): Path<(String, String, String, String)>,
    AwsJson(input): AwsJson<PutMethodResponse>,
) -> AdminResult<Response> {
    let response = MethodResponse::create(status.clone(), input)?;
    state.repo.rest_api(&api_id).await?;
    if let Some(models) = &response.response_models {
        check_models(&state, &api_id, models.values()).await?;
    }
    let response = edit_resource(&state, &api_id, &resource_id, |resource| {
        let method = find_method_mut(resource, &http_method)?;
        method
            .method_responses
            .get_or_insert_with(Default::default)
            .insert(status.clone(), response.clone());
        Ok(response.clone())
    })
    .await?;
    Ok(json(StatusCode::CREATED, &response))
}

pub async fn get_response(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method, status)): Path<(String, String, String, String)>,
) -> AdminResult<Response> {
    let resource = read_resource(&state, &api_id, &resource_id).await?;
    let method = find_method(&resource, &http_method)?;
    let response = method
        .method_responses
        .as_ref()
        .and_then(|r| r.get(&status))
        .ok_or_else(response_not_found)?;
    Ok(json(StatusCode::OK, response))
}

pub async fn update_response(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method, status)): Path<(String, String, String, String)>,
    body: PatchBody,
) -> AdminResult<Response> {
    let response = edit_resource(&state, &api_id, &resource_id, |resource| {
        let method = find_method_mut(resource, &http_method)?;
        let response = method
            .method_responses
            .as_mut()
            .and_then(|r| r.get_mut(&status))
            .ok_or_else(response_not_found)?;
        *response = response.patched(&body.patch_operations)?;
        Ok(response.clone())
    })
    .await?;
    // UpdateMethodResponse answers 201 in the service model.
    Ok(json(StatusCode::CREATED, &response))
}

pub async fn delete_response(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method, status)): Path<(String, String, String, String)>,
) -> AdminResult<Response> {
    edit_resource(&state, &api_id, &resource_id, |resource| {
        let method = find_method_mut(resource, &http_method)?;
        let responses = method
            .method_responses
            .as_mut()
            .ok_or_else(response_not_found)?;
        responses.remove(&status).ok_or_else(response_not_found)?;
        if responses.is_empty() {
            method.method_responses = None;
        }
        Ok(())
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
