//! FlushStageAuthorizersCache, and the in-use check of DeleteAuthorizer; the rest of the
//! authorizer handlers are the generic ones of [`super::children`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_model::rest::Resource;
use tollgate_store::Key;

use super::repo::{Batch, retry};
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::empty;

/// AWS refuses to delete an authorizer that a method still uses.
pub(super) async fn check_unused(state: &AppState, api_id: &str, id: &str) -> AdminResult<()> {
    let resources: Vec<Resource> =
        super::resources::with_paths(&state.repo.resources(api_id).await?);
    for resource in &resources {
        for (verb, method) in &resource.resource_methods {
            if method.authorizer_id.as_deref() == Some(id) {
                return Err(AdminError::conflict(format!(
                    "Cannot delete authorizer '{}', is referenced in method: {verb}:{}",
                    id,
                    resource.path.as_deref().unwrap_or("/")
                )));
            }
        }
    }
    Ok(())
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
