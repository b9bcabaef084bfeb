//! GetResources, GetResource, CreateResource, UpdateResource, DeleteResource.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use tollgate_model::ids;
use tollgate_model::rest::Resource;
use tollgate_model::validate::{self, PathPartKind};
use tollgate_store::Key;

use super::PatchBody;
use super::repo::{Batch, RESOURCE, Versioned, retry};
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, empty, json, paginate};

pub type Resources = BTreeMap<String, Versioned<Resource>>;

/// A resource as the wire shows it: with its `path`, and with its methods either in full
/// (`embed=methods`) or as `{"GET": {}}` placeholders, as AWS does.
pub fn view(resource: &Resource, all: &Resources, embed_methods: bool) -> Value {
    let plain: BTreeMap<String, Resource> = all
        .iter()
        .map(|(id, r)| (id.clone(), r.value.clone()))
        .collect();
    let mut shown = resource.clone();
    shown.path = Some(resource.path_in(&plain));
    let mut value = serde_json::to_value(&shown).unwrap_or_default();
    if !embed_methods
        && let Some(methods) = value
            .get_mut("resourceMethods")
            .and_then(Value::as_object_mut)
    {
        for method in methods.values_mut() {
            *method = Value::Object(Default::default());
        }
    }
    value
}

/// The resources with paths, in path order (what deployments snapshot).
pub fn with_paths(all: &Resources) -> Vec<Resource> {
    let plain: BTreeMap<String, Resource> = all
        .iter()
        .map(|(id, r)| (id.clone(), r.value.clone()))
        .collect();
    let mut out: Vec<Resource> = plain
        .values()
        .map(|r| {
            let mut r = r.clone();
            r.path = Some(r.path_in(&plain));
            r
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn kind_of(resource: &Resource) -> Option<PathPartKind> {
    resource
        .path_part
        .as_deref()
        .and_then(|p| validate::path_part(p).ok())
}

/// The rules API Gateway enforces where a resource sits in the tree.
fn check_placement(
    all: &Resources,
    parent_id: &str,
    part: &str,
    this: Option<&str>,
) -> AdminResult<()> {
    let kind = validate::path_part(part)?;
    let parent = all
        .get(parent_id)
        .ok_or_else(|| AdminError::not_found("Invalid Resource identifier specified"))?;
    if kind_of(&parent.value) == Some(PathPartKind::Greedy) {
        return Err(AdminError::bad_request(format!(
            "Cannot create a child of a resource with a greedy path variable: {}",
            parent.value.path_part.as_deref().unwrap_or_default()
        )));
    }
    let siblings = all
        .values()
        .map(|r| &r.value)
        .filter(|r| r.parent_id.as_deref() == Some(parent_id) && Some(r.id.as_str()) != this);
    for sibling in siblings {
        let sibling_part = sibling.path_part.as_deref().unwrap_or_default();
        if sibling_part == part {
            return Err(AdminError::conflict(format!(
                "Another resource with the same parent already has this name: {part}"
            )));
        }
        let sibling_is_variable = kind_of(sibling).is_some_and(|k| k != PathPartKind::Literal);
        if kind != PathPartKind::Literal && sibling_is_variable {
            return Err(AdminError::bad_request(format!(
                "A sibling ({sibling_part}) of this resource already has a variable path part -- only one is allowed"
            )));
        }
    }
    if kind == PathPartKind::Greedy
        && let Some(id) = this
        && all
            .values()
            .any(|r| r.value.parent_id.as_deref() == Some(id))
    {
        return Err(AdminError::bad_request(
            "A resource with a greedy path variable cannot have children",
        ));
    }
    Ok(())
}

/// The ids of `root` and everything below it.
fn subtree(all: &Resources, root: &str) -> Vec<String> {
    let mut out = vec![root.to_string()];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i].clone();
        out.extend(
            all.values()
                .filter(|r| r.value.parent_id.as_deref() == Some(parent.as_str()))
                .map(|r| r.value.id.clone()),
        );
        i += 1;
    }
    out
}

pub async fn list(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    query: QueryParams,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    let all = state.repo.resources(&api_id).await?;
    let embed = query.list_contains("embed", "methods");
    let items: Vec<Value> = all.values().map(|r| view(&r.value, &all, embed)).collect();
    Ok(json(StatusCode::OK, &paginate(items, &query)?))
}

pub async fn get(
    State(state): State<AppState>,
    Path((api_id, resource_id)): Path<(String, String)>,
    query: QueryParams,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    let all = state.repo.resources(&api_id).await?;
    let resource = all
        .get(&resource_id)
        .ok_or_else(|| AdminError::not_found("Invalid Resource identifier specified"))?;
    let embed = query.list_contains("embed", "methods");
    Ok(json(StatusCode::OK, &view(&resource.value, &all, embed)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateResource {
    path_part: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    Path((api_id, parent_id)): Path<(String, String)>,
    AwsJson(input): AwsJson<CreateResource>,
) -> AdminResult<Response> {
    let part = validate::required("pathPart", input.path_part)?;
    let created = retry(|| async {
        let api = state.repo.rest_api(&api_id).await?;
        let mut all = state.repo.resources(&api_id).await?;
        check_placement(&all, &parent_id, &part, None)?;
        let resource = Resource::child(ids::short_id(), parent_id.clone(), part.clone());
        let mut batch = Batch::for_api(&api);
        batch.create(Key::new(&api_id, RESOURCE, &resource.id), &resource);
        state.repo.commit(batch).await?;
        let view_of = resource.clone();
        all.insert(
            resource.id.clone(),
            Versioned {
                value: resource,
                version: 1,
            },
        );
        Ok(view(&view_of, &all, false))
    })
    .await?;
    Ok(json(StatusCode::CREATED, &created))
}

pub async fn update(
    State(state): State<AppState>,
    Path((api_id, resource_id)): Path<(String, String)>,
    body: PatchBody,
) -> AdminResult<Response> {
    let updated = retry(|| async {
        let api = state.repo.rest_api(&api_id).await?;
        let mut all = state.repo.resources(&api_id).await?;
        let current = all
            .get(&resource_id)
            .ok_or_else(|| AdminError::not_found("Invalid Resource identifier specified"))?;
        let patched = current.value.patched(&body.patch_operations)?;
        let parent_id = patched.parent_id.clone().unwrap_or_default();
        if subtree(&all, &resource_id).contains(&parent_id) {
            return Err(AdminError::bad_request("Resources cannot be cyclical."));
        }
        check_placement(
            &all,
            &parent_id,
            patched.path_part.as_deref().unwrap_or_default(),
            Some(&resource_id),
        )?;
        let mut batch = Batch::for_api(&api);
        batch.put_versioned(
            Key::new(&api_id, RESOURCE, &resource_id),
            &patched,
            current.version,
        );
        state.repo.commit(batch).await?;
        all.insert(
            resource_id.clone(),
            Versioned {
                value: patched.clone(),
                version: 0,
            },
        );
        Ok(view(&patched, &all, false))
    })
    .await?;
    Ok(json(StatusCode::OK, &updated))
}

pub async fn delete(
    State(state): State<AppState>,
    Path((api_id, resource_id)): Path<(String, String)>,
) -> AdminResult<Response> {
    retry(|| async {
        let api = state.repo.rest_api(&api_id).await?;
        let all = state.repo.resources(&api_id).await?;
        let resource = all
            .get(&resource_id)
            .ok_or_else(|| AdminError::not_found("Invalid Resource identifier specified"))?;
        if resource.value.parent_id.is_none() {
            return Err(AdminError::bad_request(
                "Cannot delete the root resource of a REST API",
            ));
        }
        let mut batch = Batch::for_api(&api);
        for id in subtree(&all, &resource_id) {
            batch.delete(Key::new(&api_id, RESOURCE, &id), all[&id].version);
        }
        state.repo.commit(batch).await
    })
    .await?;
    Ok(empty(StatusCode::ACCEPTED))
}
