//! PutGatewayResponse, GetGatewayResponse(s), UpdateGatewayResponse, DeleteGatewayResponse.
//!
//! An API always has every response type: the ones nobody customized answer with AWS's
//! defaults (`defaultResponse: true`); deleting a customized one brings its default back.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_model::rest::{
    GatewayResponse, PutGatewayResponse, RESPONSE_TYPES, check_response_type,
};
use tollgate_store::Key;

use super::PatchBody;
use super::repo::{Batch, GATEWAY_RESPONSE, retry};
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, check_templates, empty, json, paginate};

async fn current(
    state: &AppState,
    api_id: &str,
    response_type: &str,
) -> AdminResult<(GatewayResponse, u64)> {
    check_response_type(response_type)?;
    match state
        .repo
        .get::<GatewayResponse>(&Key::new(api_id, GATEWAY_RESPONSE, response_type))
        .await?
    {
        Some(stored) => Ok((stored.value, stored.version)),
        None => GatewayResponse::default_for(response_type)
            .map(|d| (d, 0))
            .ok_or_else(|| AdminError::not_found("Invalid gateway response type specified")),
    }
}

pub async fn put(
    State(state): State<AppState>,
    Path((api_id, response_type)): Path<(String, String)>,
    AwsJson(input): AwsJson<PutGatewayResponse>,
) -> AdminResult<Response> {
    let response = GatewayResponse::create(&response_type, input)?;
    check_templates(&response.response_templates)?;
    retry(|| async {
        let api = state.repo.rest_api(&api_id).await?;
        let key = Key::new(&api_id, GATEWAY_RESPONSE, &response_type);
        let version = state
            .repo
            .get::<GatewayResponse>(&key)
            .await?
            .map_or(0, |g| g.version);
        let mut batch = Batch::for_api(&api);
        batch.put_versioned(key, &response, version);
        state.repo.commit(batch).await
    })
    .await?;
    Ok(json(StatusCode::CREATED, &response))
}

pub async fn get(
    State(state): State<AppState>,
    Path((api_id, response_type)): Path<(String, String)>,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    Ok(json(
        StatusCode::OK,
        &current(&state, &api_id, &response_type).await?.0,
    ))
}

pub async fn list(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    query: QueryParams,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    let custom = state
        .repo
        .list::<GatewayResponse>(&api_id, GATEWAY_RESPONSE)
        .await?;
    let all: Vec<GatewayResponse> = RESPONSE_TYPES
        .iter()
        .filter_map(|(name, _)| {
            custom
                .iter()
                .find(|c| c.value.response_type == *name)
                .map(|c| c.value.clone())
                .or_else(|| GatewayResponse::default_for(name))
        })
        .collect();
    Ok(json(StatusCode::OK, &paginate(all, &query)?))
}

pub async fn update(
    State(state): State<AppState>,
    Path((api_id, response_type)): Path<(String, String)>,
    body: PatchBody,
) -> AdminResult<Response> {
    let response = retry(|| async {
        let api = state.repo.rest_api(&api_id).await?;
        let (response, version) = current(&state, &api_id, &response_type).await?;
        let patched = response.patched(&body.patch_operations)?;
        check_templates(&patched.response_templates)?;
        let mut batch = Batch::for_api(&api);
        batch.put_versioned(
            Key::new(&api_id, GATEWAY_RESPONSE, &response_type),
            &patched,
            version,
        );
        state.repo.commit(batch).await?;
        Ok(patched)
    })
    .await?;
    Ok(json(StatusCode::OK, &response))
}

pub async fn delete(
    State(state): State<AppState>,
    Path((api_id, response_type)): Path<(String, String)>,
) -> AdminResult<Response> {
    retry(|| async {
        let api = state.repo.rest_api(&api_id).await?;
        let (_, version) = current(&state, &api_id, &response_type).await?;
        if version == 0 {
            return Err(AdminError::not_found(
                "Invalid gateway response type specified",
            ));
        }
        let mut batch = Batch::for_api(&api);
        batch.delete(Key::new(&api_id, GATEWAY_RESPONSE, &response_type), version);
        state.repo.commit(batch).await
    })
    .await?;
    Ok(empty(StatusCode::ACCEPTED))
}
