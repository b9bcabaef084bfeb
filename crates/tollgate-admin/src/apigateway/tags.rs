//! TagResource, UntagResource, GetTags on the ARNs of REST APIs and stages
//! (`arn:aws:apigateway:{region}::/restapis/{id}[/stages/{name}]`).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tollgate_model::rest::Stage;
use tollgate_model::validate;
use tollgate_store::Key;

use super::repo::{Batch, STAGE, retry};
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, empty, json};

/// What an ARN names.
enum Target {
    RestApi(String),
    Stage(String, String),
}

fn parse_arn(arn: &str) -> AdminResult<Target> {
    let invalid =
        || AdminError::bad_request(format!("Invalid ARN specified in the request: {arn}"));
    let rest = arn.strip_prefix("arn:").ok_or_else(invalid)?;
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    let [_partition, service, _region, _account, resource] = parts.as_slice() else {
        return Err(invalid());
    };
    if *service != "apigateway" {
        return Err(invalid());
    }
    let segments: Vec<&str> = resource.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["restapis", id] => Ok(Target::RestApi(id.to_string())),
        ["restapis", id, "stages", name] => Ok(Target::Stage(id.to_string(), name.to_string())),
        _ => Err(AdminError::not_found(format!(
            "Invalid resource specified in the ARN: {arn}"
        ))),
    }
}

/// Reads the tags of the target, applies `change`, and writes them back.
async fn edit_tags(
    state: &AppState,
    arn: &str,
    change: impl Fn(&mut BTreeMap<String, String>) -> AdminResult<()>,
) -> AdminResult<()> {
    let target = parse_arn(arn)?;
    retry(|| async {
        match &target {
            Target::RestApi(id) => {
                let api = state.repo.rest_api(id).await?;
                let mut value = api.value.clone();
                let mut tags = value.tags.take().unwrap_or_default();
                change(&mut tags)?;
                validate::tags(&tags)?;
                value.tags = Some(tags).filter(|t| !t.is_empty());
                let mut batch = Batch::for_api(&api);
                batch.replace_api(&value);
                state.repo.commit(batch).await?;
            }
            Target::Stage(api_id, name) => {
                let api = state.repo.rest_api(api_id).await?;
                let stage = state.repo.stage(api_id, name).await?;
                let mut value: Stage = stage.value.clone();
                let mut tags = value.tags.take().unwrap_or_default();
                change(&mut tags)?;
                validate::tags(&tags)?;
                value.tags = Some(tags).filter(|t| !t.is_empty());
                let mut batch = Batch::for_api(&api);
                batch.put_versioned(Key::new(api_id, STAGE, name), &value, stage.version);
                state.repo.commit(batch).await?;
            }
        }
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
pub struct TagBody {
    tags: Option<BTreeMap<String, String>>,
}

pub async fn tag(
    State(state): State<AppState>,
    Path(arn): Path<String>,
    AwsJson(body): AwsJson<TagBody>,
) -> AdminResult<Response> {
    let new = validate::required("tags", body.tags)?;
    edit_tags(&state, &arn, |tags| {
        tags.extend(new.clone());
        Ok(())
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn untag(
    State(state): State<AppState>,
    Path(arn): Path<String>,
    query: QueryParams,
) -> AdminResult<Response> {
    let keys: Vec<String> = query.all("tagKeys").map(String::from).collect();
    if keys.is_empty() {
        return Err(AdminError::bad_request("tagKeys must not be null or empty"));
    }
    edit_tags(&state, &arn, |tags| {
        keys.iter().for_each(|k| {
            tags.remove(k);
        });
        Ok(())
    })
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn get(State(state): State<AppState>, Path(arn): Path<String>) -> AdminResult<Response> {
    let tags = match parse_arn(&arn)? {
        Target::RestApi(id) => state.repo.rest_api(&id).await?.value.tags,
        Target::Stage(api_id, name) => {
            state.repo.rest_api(&api_id).await?;
            state.repo.stage(&api_id, &name).await?.value.tags
        }
    };
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "tags": tags.unwrap_or_default() }),
    ))
}
