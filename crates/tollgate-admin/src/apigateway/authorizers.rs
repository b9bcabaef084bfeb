//! CreateAuthorizer, GetAuthorizer(s), UpdateAuthorizer, DeleteAuthorizer and
//! FlushStageAuthorizersCache.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_model::ids;
use tollgate_model::rest::{Authorizer, CreateAuthorizer, Resource};
use tollgate_store::Key;

use super::PatchBody;
use super::repo::{AUTHORIZER, Batch, retry};
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, empty, json, paginate};

fn not_found() -> AdminError {
    AdminError::not_found("Invalid Authorizer identifier specified")
}

pub async fn create(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    AwsJson(input): AwsJson<CreateAuthorizer>,
) -> AdminResult<Response> {
    let authorizer = Authorizer::create(ids::short_id(), input)?;
    let taken = || AdminError::conflict("Authorizer id collision; please retry");
    state
        .repo
        .create_in_api(&api_id, AUTHORIZER, &authorizer.id, &authorizer, taken)
        .await?;
    Ok(json(StatusCode::CREATED, &authorizer))
}

pub async fn get(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    let authorizer = state
        .repo
        .get::<Authorizer>(&Key::new(&api_id, AUTHORIZER, &id))
        .await?
        .ok_or_else(not_found)?;
    Ok(json(StatusCode::OK, &authorizer.value))
}

pub async fn list(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    query: QueryParams,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    let items: Vec<Authorizer> = state
        .repo
        .list::<Authorizer>(&api_id, AUTHORIZER)
        .await?
        .into_iter()
        .map(|a| a.value)
        .collect();
    Ok(json(StatusCode::OK, &paginate(items, &query)?))
}

pub async fn update(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
    body: PatchBody,
) -> AdminResult<Response> {
    let authorizer = state
        .repo
        .update_in_api(&api_id, AUTHORIZER, &id, not_found, |a: &Authorizer| {
            Ok(a.patched(&body.patch_operations)?)
        })
        .await?;
    Ok(json(StatusCode::OK, &authorizer))
}

/// AWS refuses to delete an authorizer that a method still uses.
pub async fn delete(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
) -> AdminResult<Response> {
    let resources: Vec<Resource> =
        super::resources::with_paths(&state.repo.resources(&api_id).await?);
    for resource in &resources {
        for (verb, method) in &resource.resource_methods {
            if method.authorizer_id.as_deref() == Some(id.as_str()) {
                return Err(AdminError::conflict(format!(
                    "Cannot delete authorizer '{}', is referenced in method: {verb}:{}",
                    id,
                    resource.path.as_deref().unwrap_or("/")
                )));
            }
        }
    }
    state
        .repo
        .delete_in_api(&api_id, AUTHORIZER, &id, not_found)
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// `FlushStageAuthorizersCache`: bumps the stage's authorizer cache generation, which the data
/// plane puts in every cache key, so that no earlier result is found again.
pub async fn flush_cache(
    State(state): State<AppState>,
    Path((api_id, stage_name)): Path<(String, String)>,
) -> AdminResult<Response> {
    state.repo.stage(&api_id, &stage_name).await?;
    retry(|| async {
        let key = Key::new(
            &api_id,
            tollgate_model::layout::AUTHORIZER_CACHE_GENERATION,
            &stage_name,
        );
        let current = state.repo.store().get(&key).await?;
        let (generation, version) = current.map_or((0, 0), |d| {
            (
                d.body
                    .get("generation")
                    .and_then(|g| g.as_u64())
                    .unwrap_or(0),
                d.version,
            )
        });
        let mut batch = Batch::default();
        batch.put_versioned(
            key,
            &serde_json::json!({ "generation": generation + 1 }),
            version,
        );
        state.repo.commit(batch).await.map(|_| ())
    })
    .await?;
    Ok(empty(StatusCode::ACCEPTED))
}
