//! CreateRequestValidator, GetRequestValidator(s), UpdateRequestValidator,
//! DeleteRequestValidator.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_model::ids;
use tollgate_model::rest::{CreateRequestValidator, RequestValidator};

use super::PatchBody;
use super::repo::VALIDATOR;
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, empty, json, paginate};

pub async fn create(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    AwsJson(input): AwsJson<CreateRequestValidator>,
) -> AdminResult<Response> {
    let validator = RequestValidator::create(ids::short_id(), input)?;
    // Ids are random, so `taken` only happens if two collide: say so rather than overwrite.
    let taken = || AdminError::conflict("Request validator id collision; please retry");
    state
        .repo
        .create_in_api(&api_id, VALIDATOR, &validator.id, &validator, taken)
        .await?;
    Ok(json(StatusCode::CREATED, &validator))
}

pub async fn get(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    Ok(json(
        StatusCode::OK,
        &state.repo.validator(&api_id, &id).await?.value,
    ))
}

pub async fn list(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    query: QueryParams,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    let items: Vec<RequestValidator> = state
        .repo
        .validators(&api_id)
        .await?
        .into_iter()
        .map(|v| v.value)
        .collect();
    Ok(json(StatusCode::OK, &paginate(items, &query)?))
}

fn not_found() -> AdminError {
    AdminError::not_found("Invalid Request Validator identifier specified")
}

pub async fn update(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
    body: PatchBody,
) -> AdminResult<Response> {
    let validator = state
        .repo
        .update_in_api(
            &api_id,
            VALIDATOR,
            &id,
            not_found,
            |v: &RequestValidator| Ok(v.patched(&body.patch_operations)?),
        )
        .await?;
    Ok(json(StatusCode::OK, &validator))
}

pub async fn delete(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
) -> AdminResult<Response> {
    state
        .repo
        .delete_in_api(&api_id, VALIDATOR, &id, not_found)
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}
