//! ImportDocumentationParts (the other part handlers are the generic ones of
//! [`super::children`]) and documentation versions (snapshots of the parts that stages name in `documentationVersion`).

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_model::rest::{
    CreateDocumentationVersion, DocumentationPart, DocumentationVersion,
    DocumentationVersionRecord, Stage,
};
use tollgate_store::Key;

use super::PatchBody;
use super::imports::{PutMode, fail_on_warnings, merge_parts, raw_body};
use super::repo::{Batch, DOCUMENTATION_PART, DOCUMENTATION_VERSION, STAGE, Versioned, retry};
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, empty, json, paginate};

fn version_not_found() -> AdminError {
    AdminError::not_found("Invalid Documentation version identifier specified")
}

async fn parts(state: &AppState, api_id: &str) -> AdminResult<Vec<Versioned<DocumentationPart>>> {
    state.repo.list(api_id, DOCUMENTATION_PART).await
}

/// ImportDocumentationParts: `x-amazon-apigateway-documentation` of an OpenAPI definition,
/// merged into the parts or instead of them.
pub async fn import_parts(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    query: QueryParams,
    request: Request,
) -> AdminResult<Response> {
    let mode = PutMode::from_query(&query)?;
    let body = raw_body(request).await?;
    state.repo.rest_api(&api_id).await?;
    let plan = tollgate_openapi::import_documentation(&body)
        .map_err(|e| AdminError::bad_request(e.to_string()))?;
    fail_on_warnings(query.bool("failonwarnings"), &plan.warnings)?;
    let ids = retry(|| async {
        let api = state.repo.rest_api(&api_id).await?;
        let existing = parts(&state, &api_id).await?;
        let merged = merge_parts(&existing, &plan.documentation, mode == PutMode::Merge);
        let mut batch = Batch::for_api(&api);
        for old in &existing {
            if !merged.iter().any(|p| p.id == old.value.id) {
                batch.delete(
                    Key::new(&api_id, DOCUMENTATION_PART, &old.value.id),
                    old.version,
                );
            }
        }
        let mut imported = vec![];
        for part in &merged {
            let version = existing
                .iter()
                .find(|p| p.value.id == part.id)
                .map_or(0, |p| p.version);
            if plan.documentation.iter().any(|(l, _)| l == &part.location) {
                imported.push(part.id.clone());
            }
            batch.put_versioned(
                Key::new(&api_id, DOCUMENTATION_PART, &part.id),
                part,
                version,
            );
        }
        state.repo.commit(batch).await?;
        Ok(imported)
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "ids": ids, "warnings": plan.warnings }),
    ))
}

pub async fn create_version(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    AwsJson(input): AwsJson<CreateDocumentationVersion>,
) -> AdminResult<Response> {
    let version = tollgate_model::validate::required(
        "documentationVersion",
        input.documentation_version.clone(),
    )?;
    let created = retry(|| async {
        let api = state.repo.rest_api(&api_id).await?;
        let key = Key::new(&api_id, DOCUMENTATION_VERSION, &version);
        if state.repo.store().get(&key).await?.is_some() {
            return Err(AdminError::conflict("Documentation version already exists"));
        }
        let now = tollgate_model::now_epoch_seconds();
        let record = DocumentationVersionRecord {
            version: DocumentationVersion {
                version: version.clone(),
                created_date: now,
                description: input.description.clone(),
            },
            parts: parts(&state, &api_id)
                .await?
                .into_iter()
                .map(|p| p.value)
                .collect(),
        };
        let mut batch = Batch::for_api(&api);
        batch.create(key, &record);
        if let Some(name) = &input.stage_name {
            let stage = state.repo.stage(&api_id, name).await?;
            let mut updated: Stage = stage.value.clone();
            updated.documentation_version = Some(version.clone());
            updated.last_updated_date = now;
            batch.put_versioned(Key::new(&api_id, STAGE, name), &updated, stage.version);
        }
        state.repo.commit(batch).await?;
        Ok(record.version)
    })
    .await?;
    Ok(json(StatusCode::CREATED, &created))
}

pub async fn get_version(
    State(state): State<AppState>,
    Path((api_id, version)): Path<(String, String)>,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    let record = state
        .repo
        .get::<DocumentationVersionRecord>(&Key::new(&api_id, DOCUMENTATION_VERSION, &version))
        .await?
        .ok_or_else(version_not_found)?;
    Ok(json(StatusCode::OK, &record.value.version))
}

pub async fn list_versions(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    query: QueryParams,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    let items: Vec<DocumentationVersion> = state
        .repo
        .list::<DocumentationVersionRecord>(&api_id, DOCUMENTATION_VERSION)
        .await?
        .into_iter()
        .map(|r| r.value.version)
        .collect();
    Ok(json(StatusCode::OK, &paginate(items, &query)?))
}

pub async fn update_version(
    State(state): State<AppState>,
    Path((api_id, version)): Path<(String, String)>,
    body: PatchBody,
) -> AdminResult<Response> {
    let record = state
        .repo
        .update_in_api(
            &api_id,
            DOCUMENTATION_VERSION,
            &version,
            version_not_found,
            |r: &DocumentationVersionRecord| {
                Ok(DocumentationVersionRecord {
                    version: r.version.patched(&body.patch_operations)?,
                    parts: r.parts.clone(),
                })
            },
        )
        .await?;
    Ok(json(StatusCode::OK, &record.version))
}

pub async fn delete_version(
    State(state): State<AppState>,
    Path((api_id, version)): Path<(String, String)>,
) -> AdminResult<Response> {
    state
        .repo
        .delete_in_api(&api_id, DOCUMENTATION_VERSION, &version, version_not_found)
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}
