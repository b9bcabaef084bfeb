//! GetModelTemplate, and where a model is in use (which refuses DeleteModel); the rest of
//! the model handlers are the generic ones of [`super::children`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_model::rest::Model;

use crate::AppState;
use crate::error::AdminResult;
use crate::wire::json;

/// Where a model is used by a method request or response, if anywhere.
pub(super) async fn first_user(
    state: &AppState,
    api_id: &str,
    name: &str,
) -> AdminResult<Option<String>> {
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
    let model = super::children::read::<Model>(&state, &api_id, &name).await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "value": model.value.template() }),
    ))
}
