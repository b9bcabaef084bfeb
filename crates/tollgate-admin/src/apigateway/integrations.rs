//! PutIntegration, GetIntegration, UpdateIntegration, DeleteIntegration and the integration
//! responses.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_model::rest::{
    Integration, IntegrationResponse, Method, PutIntegration, PutIntegrationResponse,
};

use super::PatchBody;
use super::methods::{
    edit_resource, find_method, find_method_mut, read_resource, response_not_found,
};
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, check_templates, empty, json};

fn integration_not_found() -> AdminError {
    AdminError::not_found("Invalid Integration identifier specified")
}

fn integration_mut(method: &mut Method) -> AdminResult<&mut Integration> {
    method
        .method_integration
        .as_mut()
        .ok_or_else(integration_not_found)
}

pub async fn put_integration(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method)): Path<(String, String, String)>,
    AwsJson(input): AwsJson<PutIntegration>,
) -> AdminResult<Response> {
    let integration = Integration::create(&resource_id, input)?;
    check_templates(integration.request_templates.iter().flatten())?;
    let integration = edit_resource(&state, &api_id, &resource_id, |resource| {
        let method = find_method_mut(resource, &http_method)?;
        // A new integration replaces the old one, responses included, as on AWS.
        method.method_integration = Some(integration.clone());
        Ok(integration.clone())
    })
    .await?;
    Ok(json(StatusCode::CREATED, &integration))
}

pub async fn get_integration(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method)): Path<(String, String, String)>,
) -> AdminResult<Response> {
    let resource = read_resource(&state, &api_id, &resource_id).await?;
    let method = find_method(&resource, &http_method)?;
    let integration = method
        .method_integration
        .as_ref()
        .ok_or_else(integration_not_found)?;
    Ok(json(StatusCode::OK, integration))
}

pub async fn update_integration(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method)): Path<(String, String, String)>,
    body: PatchBody,
) -> AdminResult<Response> {
    let integration = edit_resource(&state, &api_id, &resource_id, |resource| {
        let integration = integration_mut(find_method_mut(resource, &http_method)?)?;
        let patched = integration.patched(&body.patch_operations)?;
        check_templates(patched.request_templates.iter().flatten())?;
        *integration = patched;
        Ok(integration.clone())
    })
    .await?;
    Ok(json(StatusCode::OK, &integration))
}

pub async fn delete_integration(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method)): Path<(String, String, String)>,
) -> AdminResult<Response> {
    edit_resource(&state, &api_id, &resource_id, |resource| {
        let method = find_method_mut(resource, &http_method)?;
        method
            .method_integration
            .take()
            .map(|_| ())
            .ok_or_else(integration_not_found)
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn put_response(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method, status)): Path<(String, String, String, String)>,
    AwsJson(input): AwsJson<PutIntegrationResponse>,
) -> AdminResult<Response> {
    let response = IntegrationResponse::create(status.clone(), input)?;
    check_templates(response.response_templates.iter().flatten())?;
    let response = edit_resource(&state, &api_id, &resource_id, |resource| {
        let method = find_method_mut(resource, &http_method)?;
        // AWS maps an integration response onto a method response of the same status code,
        // which must exist first.
        if !method
            .method_responses
            .as_ref()
            .is_some_and(|r| r.contains_key(&status))
        {
            return Err(response_not_found());
        }
        integration_mut(method)?
            .integration_responses
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
    let integration = method
        .method_integration
        .as_ref()
        .ok_or_else(integration_not_found)?;
    let response = integration
        .integration_responses
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
        let integration = integration_mut(find_method_mut(resource, &http_method)?)?;
        let response = integration
            .integration_responses
            .as_mut()
            .and_then(|r| r.get_mut(&status))
            .ok_or_else(response_not_found)?;
        let patched = response.patched(&body.patch_operations)?;
        check_templates(patched.response_templates.iter().flatten())?;
        *response = patched;
        Ok(response.clone())
    })
    .await?;
    Ok(json(StatusCode::OK, &response))
}

pub async fn delete_response(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method, status)): Path<(String, String, String, String)>,
) -> AdminResult<Response> {
    edit_resource(&state, &api_id, &resource_id, |resource| {
        let integration = integration_mut(find_method_mut(resource, &http_method)?)?;
        let responses = integration
            .integration_responses
            .as_mut()
            .ok_or_else(response_not_found)?;
        responses.remove(&status).ok_or_else(response_not_found)?;
        if responses.is_empty() {
            integration.integration_responses = None;
        }
        Ok(())
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
