//! ImportApi (`PUT /v2/apis`), ReimportApi (`PUT /v2/apis/{apiId}`) and ExportApi
//! (`GET /v2/apis/{apiId}/exports/{specification}`): OpenAPI definitions of HTTP APIs. An
//! import is one batch, so a definition with problems changes nothing.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tollgate_model::layout::{V2_AUTHORIZER, V2_DEPLOYMENT, V2_INTEGRATION, V2_ROUTE};
use tollgate_model::v2::{Api, ApiInput, DeploymentRecord, now_iso8601};
use tollgate_openapi::{HttpApiPlan, HttpExportOptions};
use tollgate_store::Key;

use super::apis::{claim_id, endpoint};
use super::repo::{Change, Contents};
use crate::AppState;
use crate::apigateway::imports::{basepath, fail_on_warnings};
use crate::apigateway::repo::{Batch, Versioned, retry};
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, json};

/// The body of ImportApi and ReimportApi.
#[derive(Debug, Deserialize)]
pub struct ImportInput {
    body: Option<String>,
}

/// ImportApiResponse / ReimportApiResponse: the API and what AWS would warn about.
#[derive(Serialize)]
struct Imported<'a> {
    #[serde(flatten)]
    api: &'a Api,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

/// Reads the definition; problems and (with `failOnWarnings=true`) warnings are a
/// `BadRequestException`.
fn plan(input: &ImportInput, query: &QueryParams) -> AdminResult<HttpApiPlan> {
    let body = input
        .body
        .as_deref()
        .ok_or_else(|| AdminError::bad_request("Body is required"))?;
    let plan = tollgate_openapi::import_http_api(body.as_bytes(), basepath(query)?)
        .map_err(|e| AdminError::bad_request(e.to_string()))?;
    fail_on_warnings(query.bool("failOnWarnings"), &plan.warnings)?;
    Ok(plan)
}

/// The API's own settings as the definition has them.
fn settings(plan: &HttpApiPlan) -> ApiInput {
    ApiInput {
        name: Some(plan.name.clone()),
        protocol_type: Some("HTTP".into()),
        description: plan.description.clone(),
        version: plan.version.clone(),
        cors_configuration: plan.cors.clone(),
        disable_execute_api_endpoint: plan.disable_execute_api_endpoint,
        tags: Some(plan.tags.clone()),
        ..Default::default()
    }
}

/// Writes the plan's routes, integrations and authorizers into `api_id`.
fn create_children(plan: &HttpApiPlan, api_id: &str, batch: &mut Batch) {
    for i in &plan.integrations {
        batch.create(Key::new(api_id, V2_INTEGRATION, &i.integration_id), i);
    }
    for a in &plan.authorizers {
        batch.create(Key::new(api_id, V2_AUTHORIZER, &a.authorizer_id), a);
    }
    for r in &plan.routes {
        batch.create(Key::new(api_id, V2_ROUTE, &r.route_id), r);
    }
}

/// A document about to be created, as [`Contents`] holds it.
fn fresh<T: Clone>(value: &T) -> Versioned<T> {
    Versioned {
        value: value.clone(),
        version: 0,
    }
}

fn imported(status: StatusCode, api: &Api, warnings: Vec<String>) -> Response {
    json(status, &Imported { api, warnings })
}

/// `PUT /v2/apis`: ImportApi.
pub async fn import(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: QueryParams,
    AwsJson(input): AwsJson<ImportInput>,
) -> AdminResult<Response> {
    let plan = plan(&input, &query)?;
    let id = tollgate_model::ids::long_id();
    let api = Api::create(
        &settings(&plan),
        id.clone(),
        endpoint(&headers, &id, None, state.tls),
        now_iso8601(),
    )?;
    let mut batch = claim_id(&state, &api).await?;
    create_children(&plan, &id, &mut batch);
    state.repo.commit(batch).await?;
    Ok(imported(StatusCode::CREATED, &api, plan.warnings))
}

/// `PUT /v2/apis/{apiId}`: ReimportApi. The definition's routes, integrations and
/// authorizers replace the API's; stages stay, and those with `autoDeploy` are deployed.
pub async fn reimport(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    query: QueryParams,
    AwsJson(input): AwsJson<ImportInput>,
) -> AdminResult<Response> {
    let plan = plan(&input, &query)?;
    let api = retry(|| async {
        let mut contents = Contents::read(&state.repo, &api_id).await?;
        if contents.api.value.protocol_type != "HTTP" {
            return Err(AdminError::bad_request(
                "ReimportApi is supported only for HTTP APIs",
            ));
        }
        let mut next = contents.api.value.updated(&settings(&plan))?;
        next.description = plan.description.clone();
        next.version = plan.version.clone();
        next.cors_configuration = plan.cors.clone();
        next.disable_execute_api_endpoint = plan.disable_execute_api_endpoint.unwrap_or(false);
        let mut change = Change::new(&contents, &next);
        let batch = &mut change.batch;
        for r in &contents.routes {
            batch.delete(Key::new(&api_id, V2_ROUTE, &r.value.route_id), r.version);
        }
        for i in &contents.integrations {
            batch.delete(
                Key::new(&api_id, V2_INTEGRATION, &i.value.integration_id),
                i.version,
            );
        }
        for a in &contents.authorizers {
            batch.delete(
                Key::new(&api_id, V2_AUTHORIZER, &a.value.authorizer_id),
                a.version,
            );
        }
        create_children(&plan, &api_id, batch);
        contents.api.value = next.clone();
        contents.routes = plan.routes.iter().map(fresh).collect();
        contents.integrations = plan.integrations.iter().map(fresh).collect();
        contents.authorizers = plan.authorizers.iter().map(fresh).collect();
        change.auto_deploy(&contents);
        state.repo.commit(change.batch).await?;
        Ok(next)
    })
    .await?;
    Ok(imported(StatusCode::CREATED, &api, plan.warnings))
}

/// `GET /v2/apis/{apiId}/exports/{specification}`: ExportApi. The API as it is now, or as
/// `stageName`'s deployment has it.
pub async fn export(
    State(state): State<AppState>,
    Path((api_id, specification)): Path<(String, String)>,
    query: QueryParams,
) -> AdminResult<Response> {
    if specification != "OAS30" {
        return Err(AdminError::bad_request(format!(
            "Invalid specification {specification}: only OAS30 is supported"
        )));
    }
    let yaml = match query.get("outputType") {
        Some("JSON") => false,
        Some("YAML") => true,
        other => {
            return Err(AdminError::bad_request(format!(
                "Invalid outputType {}: expected JSON or YAML",
                other.unwrap_or("(none)")
            )));
        }
    };
    if let Some(v) = query.get("exportVersion")
        && v != "1.0"
    {
        return Err(AdminError::bad_request(format!(
            "Invalid exportVersion {v}: only 1.0 is supported"
        )));
    }
    let contents = Contents::read(&state.repo, &api_id).await?;
    if contents.api.value.protocol_type != "HTTP" {
        return Err(AdminError::bad_request(
            "ExportApi is supported only for HTTP APIs",
        ));
    }
    let stage = query.get("stageName").filter(|s| !s.is_empty());
    let snapshot = match stage {
        None => contents.snapshot(),
        Some(name) => {
            let stage = &contents.stage(name)?.value.stage;
            let deployment = stage.deployment_id.as_deref().ok_or_else(|| {
                AdminError::bad_request(format!("Stage {name} has no deployment to export"))
            })?;
            state
                .repo
                .get::<DeploymentRecord>(&Key::new(&api_id, V2_DEPLOYMENT, deployment))
                .await?
                .ok_or_else(|| {
                    AdminError::not_found(format!(
                        "Invalid deployment identifier specified {deployment}"
                    ))
                })?
                .value
                .snapshot
        }
    };
    let options = HttpExportOptions {
        include_extensions: query.get("includeExtensions") != Some("false"),
        stage: stage.unwrap_or(""),
        fallback_version: contents.api.value.created_date.clone(),
    };
    let doc = tollgate_openapi::export_http_api(&snapshot, &options);
    let (body, content_type) = if yaml {
        (tollgate_openapi::to_yaml(&doc), "application/yaml")
    } else {
        (
            serde_json::to_string_pretty(&doc).unwrap_or_default(),
            "application/json",
        )
    };
    let mut response = (StatusCode::OK, Body::from(body)).into_response();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    Ok(response)
}
