//! GetAccount, UpdateAccount.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_store::Key;

use super::PatchBody;
use super::repo::{ACCOUNT, Batch, retry};
use crate::AppState;
use crate::error::AdminResult;
use crate::wire::json;

pub async fn get(State(state): State<AppState>) -> AdminResult<Response> {
    Ok(json(StatusCode::OK, &state.repo.account().await?.value))
}

pub async fn update(State(state): State<AppState>, body: PatchBody) -> AdminResult<Response> {
    let account = retry(|| async {
        let current = state.repo.account().await?;
        let patched = current.value.patched(&body.patch_operations)?;
        let mut batch = Batch::default();
        batch.put_versioned(Key::new("", ACCOUNT, "account"), &patched, current.version);
        state.repo.commit(batch).await?;
        Ok(patched)
    })
    .await?;
    Ok(json(StatusCode::OK, &account))
}
