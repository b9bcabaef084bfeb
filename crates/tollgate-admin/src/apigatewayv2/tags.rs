//! TagResource, GetTags, UntagResource on the ARNs of HTTP APIs and their stages
//! (`arn:aws:apigateway:{region}::/apis/{id}[/stages/{name}]`).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tollgate_model::layout::V2_STAGE;
use tollgate_store::Key;

use super::repo::{Change, Contents};
use crate::AppState;
use crate::apigateway::repo::retry;
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, empty, json};

/// The API id and, for a stage, its name.
fn parse_arn(arn: &str) -> AdminResult<(String, Option<String>)> {
    let invalid =
        || AdminError::bad_request(format!("Invalid ARN specified in the request: {arn}"));
    let rest = arn.strip_prefix("arn:").ok_or_else(invalid)?;
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    let [_partition, "apigateway", _region, _account, resource] = parts.as_slice() else {
        return Err(invalid());
    };
    let segments: Vec<&str> = resource.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["apis", id] => Ok((id.to_string(), None)),
        ["apis", id, "stages", name] => Ok((id.to_string(), Some(name.to_string()))),
        _ => Err(AdminError::not_found(format!(
            "Invalid resource specified in the ARN: {arn}"
        ))),
    }
}

async fn edit(
    state: &AppState,
    arn: &str,
    change: impl Fn(&mut BTreeMap<String, String>),
) -> AdminResult<BTreeMap<String, String>> {
    let (api_id, stage) = parse_arn(arn)?;
    retry(|| async {
        let contents = Contents::read(&state.repo, &api_id).await?;
        match &stage {
            None => {
                let mut api = contents.api.value.clone();
                change(&mut api.tags);
                tollgate_model::validate::tags(&api.tags)?;
                let batch = Change::new(&contents, &api).batch;
                state.repo.commit(batch).await?;
                Ok(api.tags)
            }
            Some(name) => {
                let current = contents.stage(name)?;
                let mut next = current.value.clone();
                change(&mut next.stage.tags);
                tollgate_model::validate::tags(&next.stage.tags)?;
                let mut batch = Change::new(&contents, &contents.api.value).batch;
                batch.put_versioned(Key::new(&api_id, V2_STAGE, name), &next, current.version);
                state.repo.commit(batch).await?;
                Ok(next.stage.tags)
            }
        }
    })
    .await
}

#[derive(Deserialize)]
pub struct TagBody {
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

pub async fn tag(
    State(state): State<AppState>,
    Path(arn): Path<String>,
    AwsJson(body): AwsJson<TagBody>,
) -> AdminResult<Response> {
    edit(&state, &arn, |tags| tags.extend(body.tags.clone())).await?;
    Ok(json(StatusCode::CREATED, &serde_json::json!({})))
}

pub async fn untag(
    State(state): State<AppState>,
    Path(arn): Path<String>,
    query: QueryParams,
) -> AdminResult<Response> {
    let keys: Vec<String> = query.all("tagKeys").map(String::from).collect();
    edit(&state, &arn, |tags| {
        for key in &keys {
            tags.remove(key);
        }
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn get(State(state): State<AppState>, Path(arn): Path<String>) -> AdminResult<Response> {
    let (api_id, stage) = parse_arn(&arn)?;
    let contents = Contents::read(&state.repo, &api_id).await?;
    let tags = match &stage {
        None => contents.api.value.tags,
        Some(name) => contents.stage(name)?.value.stage.tags.clone(),
    };
    Ok(json(StatusCode::OK, &serde_json::json!({ "tags": tags })))
}
