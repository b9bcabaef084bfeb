//! ImportRestApi (`POST /restapis?mode=import`) and PutRestApi (`PUT /restapis/{id}`): an
//! OpenAPI definition becomes an API's contents in one atomic batch, so an import either lands
//! whole or not at all.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use tollgate_model::ids;
use tollgate_model::rest::{
    Authorizer, CreateRestApi, DocumentationPart, DocumentationPartLocation, EndpointConfiguration,
    GatewayResponse, Model, RequestValidator, Resource, RestApi,
};
use tollgate_model::validate::{self, PathPartKind};
use tollgate_openapi::{BasePath, ImportOptions, ImportPlan};
use tollgate_store::Key;

use super::repo::{
    AUTHORIZER, Batch, DOCUMENTATION_PART, GATEWAY_RESPONSE, MODEL, RESOURCE, RESTAPI, VALIDATOR,
    Versioned, retry,
};
use super::resources::with_paths;
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, MAX_BODY_BYTES, QueryParams, check_templates, json};

/// `mode` of PutRestApi and ImportDocumentationParts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    Merge,
    Overwrite,
}

impl PutMode {
    pub fn from_query(query: &QueryParams) -> AdminResult<Self> {
        match query.get("mode") {
            None | Some("merge") => Ok(Self::Merge),
            Some("overwrite") => Ok(Self::Overwrite),
            Some(other) => Err(AdminError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'mode' failed to satisfy constraint: Member must satisfy enum value set: [merge, overwrite]"
            ))),
        }
    }
}

/// The raw request body (the definition), up to the management API's limit.
pub async fn raw_body(request: Request) -> AdminResult<bytes::Bytes> {
    axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            AdminError::PayloadTooLarge(format!(
                "Request body is larger than the {MAX_BODY_BYTES} bytes allowed"
            ))
        })
}

/// The `basepath` query parameter of REST and HTTP API imports.
pub fn basepath(query: &QueryParams) -> AdminResult<BasePath> {
    match query.get("basepath") {
        None | Some("") => Ok(BasePath::Ignore),
        Some(v) => BasePath::parse(v).ok_or_else(|| {
            AdminError::bad_request(format!(
                "Invalid basepath parameter value '{v}': expected ignore, prepend or split"
            ))
        }),
    }
}

fn import_options(query: &QueryParams) -> AdminResult<ImportOptions> {
    Ok(ImportOptions {
        basepath: basepath(query)?,
        ignore_documentation: query.list_contains("ignore", "documentation"),
    })
}

/// Reads the definition; problems and (with `failonwarnings=true`) warnings are a
/// `BadRequestException`.
pub fn plan(body: &[u8], api_id: &str, query: &QueryParams) -> AdminResult<ImportPlan> {
    let plan = tollgate_openapi::import(body, api_id, &import_options(query)?)
        .map_err(|e| AdminError::bad_request(e.to_string()))?;
    fail_on_warnings(query.bool("failonwarnings"), &plan.warnings)?;
    Ok(plan)
}

/// With `fail` (the request's fail-on-warnings flag), any warning refuses the import.
pub fn fail_on_warnings(fail: bool, warnings: &[String]) -> AdminResult<()> {
    if fail && !warnings.is_empty() {
        let mut message = String::from("Warnings found during import:");
        for w in warnings {
            message.push_str("\n\t");
            message.push_str(w);
        }
        return Err(AdminError::bad_request(message));
    }
    Ok(())
}

/// `POST /restapis`: CreateRestApi, or ImportRestApi with `mode=import`.
pub async fn create_or_import(
    State(state): State<AppState>,
    query: QueryParams,
    request: Request,
) -> AdminResult<Response> {
    if query.get("mode") != Some("import") {
        let input = AwsJson::<CreateRestApi>::from_request(request, &state).await?;
        return super::restapis::create(State(state), input).await;
    }
    let body = raw_body(request).await?;
    let api_id = ids::long_id();
    let plan = plan(&body, &api_id, &query)?;
    let types = query
        .get("endpointConfigurationTypes")
        .map(|t| vec![t.to_string()]);
    let input = CreateRestApi {
        name: Some(plan.settings.name.clone()),
        description: plan.settings.description.clone(),
        version: plan.settings.version.clone(),
        binary_media_types: plan.settings.binary_media_types.clone(),
        minimum_compression_size: plan.settings.minimum_compression_size,
        api_key_source: plan.settings.api_key_source.clone(),
        endpoint_configuration: Some(EndpointConfiguration {
            types,
            ip_address_type: None,
            vpc_endpoint_ids: plan.settings.vpc_endpoint_ids.clone(),
        }),
        policy: plan.settings.policy.clone(),
        disable_execute_api_endpoint: plan.settings.disable_execute_api_endpoint,
        ..Default::default()
    };
    let api = RestApi::create(
        input,
        api_id,
        ids::long_id(),
        tollgate_model::now_epoch_seconds(),
    )?;
    let mut batch = Batch::default();
    batch.create(Key::new("", RESTAPI, &api.id), &api);
    let existing = Contents::empty(&api);
    existing.apply(&plan, &api, PutMode::Overwrite, &mut batch)?;
    state.repo.commit(batch).await?;
    Ok(json(
        StatusCode::CREATED,
        &with_warnings(api, plan.warnings),
    ))
}

fn with_warnings(mut api: RestApi, warnings: Vec<String>) -> RestApi {
    api.warnings = (!warnings.is_empty()).then_some(warnings);
    api
}

/// `PUT /restapis/{id}`: PutRestApi, `mode=merge` (default) or `overwrite`.
pub async fn put(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    query: QueryParams,
    request: Request,
) -> AdminResult<Response> {
    let mode = PutMode::from_query(&query)?;
    let body = raw_body(request).await?;
    state.repo.rest_api(&api_id).await?;
    let plan = plan(&body, &api_id, &query)?;
    let api = retry(|| async {
        let current = state.repo.rest_api(&api_id).await?;
        let existing = Contents::read(&state, &current.value).await?;
        let api = settings_applied(&current.value, &plan, mode)?;
        let mut batch = Batch::for_api(&current);
        batch.replace_api(&api);
        existing.apply(&plan, &api, mode, &mut batch)?;
        state.repo.commit(batch).await?;
        Ok(api)
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &with_warnings(api, plan.warnings.clone()),
    ))
}

/// The API's settings after a put: overwrite takes the definition's, merge only those it has.
fn settings_applied(current: &RestApi, plan: &ImportPlan, mode: PutMode) -> AdminResult<RestApi> {
    let s = &plan.settings;
    let mut api = current.clone();
    api.name = s.name.clone();
    let overwrite = mode == PutMode::Overwrite;
    let take = |new: &Option<String>, old: &Option<String>| {
        if overwrite || new.is_some() {
            new.clone()
        } else {
            old.clone()
        }
    };
    api.description = take(&s.description, &current.description);
    api.version = take(&s.version, &current.version);
    api.policy = take(&s.policy, &current.policy);
    if overwrite || s.binary_media_types.is_some() {
        api.binary_media_types = s.binary_media_types.clone().filter(|t| !t.is_empty());
    }
    if overwrite || s.minimum_compression_size.is_some() {
        api.minimum_compression_size = s.minimum_compression_size;
    }
    if let Some(source) = &s.api_key_source {
        api.api_key_source = source.clone();
    } else if overwrite {
        api.api_key_source = "HEADER".into();
    }
    if overwrite || s.vpc_endpoint_ids.is_some() {
        api.endpoint_configuration.vpc_endpoint_ids = s.vpc_endpoint_ids.clone();
    }
    if let Some(disable) = s.disable_execute_api_endpoint {
        api.disable_execute_api_endpoint = disable;
    }
    validate::name("name", &api.name)?;
    Ok(api)
}

/// What an API holds, as stored, with the versions to write over.
pub struct Contents {
    resources: BTreeMap<String, Versioned<Resource>>,
    models: Vec<Versioned<Model>>,
    validators: Vec<Versioned<RequestValidator>>,
    gateway_responses: Vec<Versioned<GatewayResponse>>,
    parts: Vec<Versioned<DocumentationPart>>,
    authorizers: Vec<Versioned<Authorizer>>,
}

impl Contents {
    /// A new API: only its root resource.
    fn empty(api: &RestApi) -> Self {
        let root = Resource::root(api.root_resource_id.clone());
        Self {
            resources: [(
                root.id.clone(),
                Versioned {
                    value: root,
                    version: 0,
                },
            )]
            .into(),
            models: vec![],
            validators: vec![],
            gateway_responses: vec![],
            parts: vec![],
            authorizers: vec![],
        }
    }

    pub async fn read(state: &AppState, api: &RestApi) -> AdminResult<Self> {
        Ok(Self {
            resources: state.repo.resources(&api.id).await?,
            models: state.repo.models(&api.id).await?,
            validators: state.repo.validators(&api.id).await?,
            gateway_responses: state.repo.list(&api.id, GATEWAY_RESPONSE).await?,
            parts: state.repo.list(&api.id, DOCUMENTATION_PART).await?,
            authorizers: state.repo.list(&api.id, AUTHORIZER).await?,
        })
    }

    /// Adds to `batch` every write that makes the API hold the plan (merged with what it has,
    /// or instead of it).
    fn apply(
        &self,
        plan: &ImportPlan,
        api: &RestApi,
        mode: PutMode,
        batch: &mut Batch,
    ) -> AdminResult<()> {
        let merge = mode == PutMode::Merge;
        let scope = api.id.as_str();

        // Request validators, by name.
        let mut validators: Vec<RequestValidator> = if merge {
            self.validators.iter().map(|v| v.value.clone()).collect()
        } else {
            vec![]
        };
        for planned in &plan.validators {
            let id = self
                .validators
                .iter()
                .find(|v| v.value.name.as_deref() == Some(planned.name.as_str()))
                .map_or_else(ids::short_id, |v| v.value.id.clone());
            validators.retain(|v| v.id != id);
            validators.push(RequestValidator {
                id,
                name: Some(planned.name.clone()),
                validate_request_body: planned.validate_request_body,
                validate_request_parameters: planned.validate_request_parameters,
            });
        }
        let validator_id = |name: &str| {
            validators
                .iter()
                .find(|v| v.name.as_deref() == Some(name))
                .map(|v| v.id.clone())
        };

        // Authorizers, by name.
        let mut authorizers: Vec<Authorizer> = if merge {
            self.authorizers.iter().map(|a| a.value.clone()).collect()
        } else {
            vec![]
        };
        for planned in &plan.authorizers {
            let mut a = planned.clone();
            a.id = self
                .authorizers
                .iter()
                .find(|x| x.value.name == a.name)
                .map_or_else(ids::short_id, |x| x.value.id.clone());
            authorizers.retain(|x| x.id != a.id);
            authorizers.push(a);
        }
        let authorizer_id = |name: &str| {
            authorizers
                .iter()
                .find(|a| a.name == name)
                .map(|a| a.id.clone())
        };

        // Models, by name; a model keeps its id when it is replaced.
        let mut models: BTreeMap<String, Model> = if merge {
            self.models
                .iter()
                .map(|m| (m.value.name.clone(), m.value.clone()))
                .collect()
        } else {
            BTreeMap::new()
        };
        for model in &plan.models {
            let mut model = model.clone();
            model.id = self
                .models
                .iter()
                .find(|m| m.value.name == model.name)
                .map_or_else(ids::short_id, |m| m.value.id.clone());
            models.insert(model.name.clone(), model);
        }

        // Resources: the tree by path, keeping the ids of paths that exist.
        let existing_paths: BTreeMap<String, Resource> = with_paths(&self.resources)
            .into_iter()
            .map(|r| (r.path.clone().unwrap_or_default(), r))
            .collect();
        let mut tree: BTreeMap<String, Resource> = existing_paths
            .iter()
            .filter(|(path, _)| merge || path.as_str() == "/")
            .map(|(path, r)| {
                let mut r = r.clone();
                r.path = None;
                if !merge {
                    r.resource_methods.clear();
                }
                (path.clone(), r)
            })
            .collect();
        // Ids already given to a resource of this API: a new one must differ from all of them
        // (6 random characters collide with ~10% odds over 20,000 resources).
        let mut taken: BTreeSet<String> = existing_paths.values().map(|r| r.id.clone()).collect();
        for planned in &plan.resources {
            let resource_id = ensure_path(&mut tree, &existing_paths, &mut taken, &planned.path);
            let Some(resource) = tree.get_mut(&planned.path) else {
                continue;
            };
            for (verb, pm) in &planned.methods {
                let mut method = pm.method.clone();
                if let Some(name) = &pm.validator {
                    method.request_validator_id = validator_id(name);
                }
                if let Some(name) = &pm.authorizer {
                    method.authorizer_id = authorizer_id(name);
                }
                if let Some(integration) = method.method_integration.as_mut() {
                    if integration.cache_namespace.is_empty() {
                        integration.cache_namespace = resource_id.clone();
                    }
                    check_templates(integration.request_templates.iter().flatten())?;
                    for response in integration.integration_responses.iter().flatten() {
                        check_templates(response.1.response_templates.iter().flatten())?;
                    }
                }
                resource.resource_methods.insert(verb.clone(), method);
            }
        }
        check_tree(&tree)?;

        // Gateway responses, by type.
        let mut responses: BTreeMap<String, GatewayResponse> = if merge {
            self.gateway_responses
                .iter()
                .map(|g| (g.value.response_type.clone(), g.value.clone()))
                .collect()
        } else {
            BTreeMap::new()
        };
        for g in &plan.gateway_responses {
            responses.insert(g.response_type.clone(), g.clone());
        }

        // Documentation parts, by location.
        let parts = merge_parts(&self.parts, &plan.documentation, merge);

        reconcile(
            batch,
            scope,
            RESOURCE,
            &self.resources,
            tree.into_values().map(|r| (r.id.clone(), r)),
        );
        let by_name = |v: &[Versioned<Model>]| -> BTreeMap<String, u64> {
            v.iter()
                .map(|m| (m.value.name.clone(), m.version))
                .collect()
        };
        reconcile_versions(
            batch,
            scope,
            MODEL,
            &by_name(&self.models),
            models.into_iter(),
        );
        let validator_versions = self
            .validators
            .iter()
            .map(|v| (v.value.id.clone(), v.version))
            .collect();
        reconcile_versions(
            batch,
            scope,
            VALIDATOR,
            &validator_versions,
            validators.into_iter().map(|v| (v.id.clone(), v)),
        );
        let response_versions = self
            .gateway_responses
            .iter()
            .map(|g| (g.value.response_type.clone(), g.version))
            .collect();
        reconcile_versions(
            batch,
            scope,
            GATEWAY_RESPONSE,
            &response_versions,
            responses.into_iter(),
        );
        let authorizer_versions = self
            .authorizers
            .iter()
            .map(|a| (a.value.id.clone(), a.version))
            .collect();
        reconcile_versions(
            batch,
            scope,
            AUTHORIZER,
            &authorizer_versions,
            authorizers.into_iter().map(|a| (a.id.clone(), a)),
        );
        let part_versions = self
            .parts
            .iter()
            .map(|p| (p.value.id.clone(), p.version))
            .collect();
        reconcile_versions(
            batch,
            scope,
            DOCUMENTATION_PART,
            &part_versions,
            parts.into_iter().map(|p| (p.id.clone(), p)),
        );
        Ok(())
    }
}

/// The documentation parts after an import: the imported ones (keeping the ids of locations
/// that had parts), plus, when merging, the other parts that were there.
pub fn merge_parts(
    existing: &[Versioned<DocumentationPart>],
    imported: &[(DocumentationPartLocation, String)],
    keep_others: bool,
) -> Vec<DocumentationPart> {
    let mut out: BTreeMap<DocumentationPartLocation, DocumentationPart> = if keep_others {
        existing
            .iter()
            .map(|p| (p.value.location.clone(), p.value.clone()))
            .collect()
    } else {
        BTreeMap::new()
    };
    for (location, properties) in imported {
        let id = existing
            .iter()
            .find(|p| &p.value.location == location)
            .map_or_else(ids::short_id, |p| p.value.id.clone());
        out.insert(
            location.clone(),
            DocumentationPart {
                id,
                location: location.clone(),
                properties: properties.clone(),
            },
        );
    }
    out.into_values().collect()
}

/// Makes `path` and every resource above it exist in `tree`; returns the resource's id.
fn ensure_path(
    tree: &mut BTreeMap<String, Resource>,
    existing: &BTreeMap<String, Resource>,
    taken: &mut BTreeSet<String>,
    path: &str,
) -> String {
    let mut parent = tree.get("/").map(|r| r.id.clone()).unwrap_or_default();
    let mut current = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        current.push('/');
        current.push_str(part);
        let id = match tree.get(&current) {
            Some(r) => r.id.clone(),
            None => {
                let id = existing
                    .get(&current)
                    .map_or_else(|| unused_id(taken), |r| r.id.clone());
                tree.insert(
                    current.clone(),
                    Resource::child(id.clone(), parent.clone(), part.to_string()),
                );
                id
            }
        };
        parent = id;
    }
    parent
}

/// A resource id not in `taken`, which then holds it.
fn unused_id(taken: &mut BTreeSet<String>) -> String {
    loop {
        let id = ids::short_id();
        if taken.insert(id.clone()) {
            return id;
        }
    }
}

/// One variable child per resource, and nothing under a greedy one.
fn check_tree(tree: &BTreeMap<String, Resource>) -> AdminResult<()> {
    let kind = |r: &Resource| {
        r.path_part
            .as_deref()
            .and_then(|p| validate::path_part(p).ok())
    };
    let mut variable_child: BTreeMap<&str, &str> = BTreeMap::new();
    let by_id: BTreeMap<&str, &Resource> = tree.values().map(|r| (r.id.as_str(), r)).collect();
    for r in tree.values() {
        let Some(parent) = r.parent_id.as_deref() else {
            continue;
        };
        let part = r.path_part.as_deref().unwrap_or_default();
        if by_id.get(parent).and_then(|p| kind(p)) == Some(PathPartKind::Greedy) {
            return Err(AdminError::bad_request(format!(
                "Cannot create a child of a resource with a greedy path variable: {}",
                by_id[parent].path_part.as_deref().unwrap_or_default()
            )));
        }
        if kind(r).is_some_and(|k| k != PathPartKind::Literal)
            && let Some(sibling) = variable_child.insert(parent, part)
        {
            return Err(AdminError::bad_request(format!(
                "A sibling ({sibling}) of this resource already has a variable path part -- only one is allowed"
            )));
        }
    }
    Ok(())
}

/// Writes `desired` over `existing` (by key): changed or new documents are put, the others
/// deleted; documents that did not change are left alone.
fn reconcile<T: Serialize + PartialEq>(
    batch: &mut Batch,
    scope: &str,
    kind: &'static str,
    existing: &BTreeMap<String, Versioned<T>>,
    desired: impl Iterator<Item = (String, T)>,
) {
    let mut seen = BTreeSet::new();
    for (key, value) in desired {
        match existing.get(&key) {
            Some(old) if old.version > 0 && old.value == value => {}
            Some(old) if old.version > 0 => {
                batch.put_versioned(Key::new(scope, kind, &key), &value, old.version);
            }
            _ => {
                batch.create(Key::new(scope, kind, &key), &value);
            }
        }
        seen.insert(key);
    }
    for (key, old) in existing {
        if !seen.contains(key) && old.version > 0 {
            batch.delete(Key::new(scope, kind, key), old.version);
        }
    }
}

/// [`reconcile`] for kinds read as lists: `existing` gives only the versions, so every desired
/// document is written.
fn reconcile_versions<T: Serialize>(
    batch: &mut Batch,
    scope: &str,
    kind: &'static str,
    existing: &BTreeMap<String, u64>,
    desired: impl Iterator<Item = (String, T)>,
) {
    let mut seen = BTreeSet::new();
    for (key, value) in desired {
        let version = existing.get(&key).copied().unwrap_or(0);
        batch.put_versioned(Key::new(scope, kind, &key), &value, version);
        seen.insert(key);
    }
    for (key, version) in existing {
        if !seen.contains(key) {
            batch.delete(Key::new(scope, kind, key), *version);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imported_resources_get_distinct_ids() {
        let root = Resource::root("rootid0000".into());
        let mut tree = BTreeMap::from([("/".to_string(), root)]);
        let existing = BTreeMap::new();
        let mut taken = BTreeSet::from(["rootid0000".to_string()]);
        // 120,000 resources: random 6-character ids alone would collide here (odds above 95%).
        for i in 0..60_000 {
            ensure_path(
                &mut tree,
                &existing,
                &mut taken,
                &format!("/r{i}/{{proxy+}}"),
            );
        }
        let ids: BTreeSet<&str> = tree.values().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), tree.len());
        assert!(check_tree(&tree).is_ok());
    }
}
