//! Functions: create, read, list, update (code and configuration), delete, reserved
//! concurrency, and the download of a version's zip that `GetFunction` links to.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tollgate_model::lambda::{
    self, CodeInfo, DEFAULT_MEMORY, DEFAULT_TIMEOUT, FunctionRecord, FunctionRef, FunctionVersion,
    LATEST, Qualifier,
};

use super::code::{self, CodeSource};
use super::error::{LambdaError, LambdaResult};
use super::repo::{batch_for, record_key, retry, version_key};
use super::versions::publish_latest;
use super::wire::{LambdaJson, page};
use crate::AppState;
use crate::apigateway::repo::Batch;
use crate::wire::{QueryParams, json as json_response};

/// Account-wide concurrency, and the part that must stay unreserved (Lambda's defaults).
const ACCOUNT_CONCURRENCY: u32 = 1000;
const MIN_UNRESERVED: u32 = 100;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnvironmentInput {
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateFunctionRequest {
    function_name: Option<String>,
    runtime: Option<String>,
    role: Option<String>,
    handler: Option<String>,
    code: Option<CodeSource>,
    description: Option<String>,
    timeout: Option<i64>,
    memory_size: Option<i64>,
    #[serde(default)]
    publish: bool,
    package_type: Option<String>,
    environment: Option<EnvironmentInput>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    architectures: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateConfigurationRequest {
    runtime: Option<String>,
    role: Option<String>,
    handler: Option<String>,
    description: Option<String>,
    timeout: Option<i64>,
    memory_size: Option<i64>,
    environment: Option<EnvironmentInput>,
    revision_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateCodeRequest {
    #[serde(flatten)]
    source: CodeSource,
    #[serde(default)]
    publish: bool,
    #[serde(default)]
    dry_run: bool,
    revision_id: Option<String>,
    architectures: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutConcurrencyRequest {
    reserved_concurrent_executions: Option<i64>,
}

fn required<T>(field: &str, value: Option<T>) -> LambdaResult<T> {
    value.ok_or_else(|| {
        LambdaError::Validation(format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

fn architectures(value: Option<Vec<String>>) -> LambdaResult<Vec<String>> {
    let list = value.unwrap_or_else(|| vec!["x86_64".to_string()]);
    if list.len() != 1 || !matches!(list[0].as_str(), "x86_64" | "arm64") {
        return Err(LambdaError::Validation(format!(
            "1 validation error detected: Value '{list:?}' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1, Member must satisfy enum value set: [x86_64, arm64]"
        )));
    }
    Ok(list)
}

/// The function name of a path parameter (any of its forms), and the qualifier it carries.
pub fn parse_name(raw: &str) -> LambdaResult<FunctionRef> {
    Ok(FunctionRef::parse(raw)?)
}

/// The qualifier of a request: in the name (`name:qualifier`) or `?Qualifier=`; both must agree.
pub fn qualifier_of(function: &FunctionRef, query: &QueryParams) -> LambdaResult<Option<String>> {
    let from_query = query.get("Qualifier").filter(|q| !q.is_empty());
    if let Some(q) = from_query {
        lambda::validate_qualifier(q)?;
    }
    match (function.qualifier.as_deref(), from_query) {
        (Some(a), Some(b)) if a != b => Err(LambdaError::invalid(
            "The derived qualifier from the function name does not match the specified qualifier.",
        )),
        (Some(a), _) => Ok(Some(a.to_string())),
        (None, b) => Ok(b.map(str::to_string)),
    }
}

/// The function version a read request names (by its name and `Qualifier`), with the function's
/// record and the qualifier it was asked for.
async fn requested_version(
    state: &AppState,
    raw: &str,
    query: &QueryParams,
) -> LambdaResult<(FunctionRecord, FunctionVersion, Option<String>)> {
    let function = parse_name(raw)?;
    let qualifier = qualifier_of(&function, query)?;
    let record = state.function_record(&function.name).await?.value;
    let version = state.resolve_version(&record, qualifier.as_deref()).await?;
    Ok((record, version, qualifier))
}

/// Deletes `code` unless `$LATEST` of `record` or one of the function's published versions still
/// uses it.
async fn discard_code_unless_used(state: &AppState, record: &FunctionRecord, code: &CodeInfo) {
    if let Ok(versions) = state.function_versions(&record.latest.name).await {
        let in_use = versions
            .iter()
            .map(|v| &v.code)
            .chain(std::iter::once(&record.latest.code));
        code::discard_unused(&state.data_dir, code, in_use).await;
    }
}

fn new_revision_id() -> String {
    tollgate_model::ids::request_id()
}

/// `POST /2015-03-31/functions` (CreateFunction).
pub async fn create(
    State(state): State<AppState>,
    LambdaJson(request): LambdaJson<CreateFunctionRequest>,
) -> LambdaResult<Response> {
    let name = required("functionName", request.function_name)?;
    lambda::validate_function_name(&name)?;
    let role = required("role", request.role)?;
    lambda::validate_role(&role)?;
    let source = required("code", request.code)?;
    if request.package_type.as_deref().is_some_and(|p| p != "Zip") {
        return Err(LambdaError::invalid(
            "Tollgate runs .zip file archives only (PackageType Zip)",
        ));
    }
    let (Some(runtime), Some(handler)) = (request.runtime, request.handler) else {
        return Err(LambdaError::invalid(
            "Runtime and Handler are mandatory parameters for functions created with deployment packages.",
        ));
    };
    lambda::validate_runtime(&runtime)?;
    lambda::validate_handler(&handler)?;
    let description = request.description.unwrap_or_default();
    lambda::validate_description(&description)?;
    let timeout = match request.timeout {
        Some(t) => lambda::validate_timeout(t)?,
        None => DEFAULT_TIMEOUT,
    };
    let memory_size = match request.memory_size {
        Some(m) => lambda::validate_memory(m)?,
        None => DEFAULT_MEMORY,
    };
    let environment = request.environment.unwrap_or_default().variables;
    lambda::validate_environment(&environment)?;
    tollgate_model::validate::tags(&request.tags)?;
    let architectures = architectures(request.architectures)?;

    // Refuse a duplicate before unpacking anything.
    if state.repo.get::<Value>(&record_key(&name)).await?.is_some() {
        return Err(already_exists(&name));
    }
    let code = code::prepare(&state.data_dir, &name, source).await?;
    let latest = FunctionVersion {
        name: name.clone(),
        version: LATEST.to_string(),
        runtime,
        role,
        handler,
        description,
        timeout,
        memory_size,
        environment,
        architectures,
        code,
        last_modified: lambda::now_timestamp(),
        revision_id: new_revision_id(),
    };
    let mut record = FunctionRecord {
        latest,
        last_version: 0,
        reserved_concurrency: None,
        policy: Vec::new(),
        tags: request.tags,
    };
    let published = request.publish.then(|| publish_latest(&mut record, None));
    let mut batch = Batch::default();
    batch.create(record_key(&name), &record);
    if let Some(version) = &published {
        batch.create(version_key(&name, &version.version), version);
    }
    if let Err(e) = state.commit(batch).await {
        code::discard_unused(&state.data_dir, &record.latest.code, std::iter::empty()).await;
        return Err(match e {
            LambdaError::ConcurrentModification => already_exists(&name),
            other => other,
        });
    }
    state.register(&record, std::iter::once(&record.latest).chain(&published));
    tracing::info!(function = %name, "function created");
    let shown = published.as_ref().unwrap_or(&record.latest);
    Ok(json_response(
        StatusCode::CREATED,
        &shown.configuration(&state.region, &state.account_id, published.is_some()),
    ))
}

fn already_exists(name: &str) -> LambdaError {
    LambdaError::Conflict(format!("Function already exist: {name}"))
}

/// `GET /2015-03-31/functions/{name}` (GetFunction).
pub async fn get(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    query: QueryParams,
    headers: HeaderMap,
) -> LambdaResult<Response> {
    let (record, version, qualifier) = requested_version(&state, &raw, &query).await?;
    let location = match code::download_path(&version.code) {
        Some(path) => {
            let host = headers
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}/_tollgate/lambda/code/{path}")
        }
        None => version.code.dir.clone(),
    };
    let mut out = json!({
        "Configuration": version.configuration(&state.region, &state.account_id, qualifier.is_some()),
        "Code": { "RepositoryType": "S3", "Location": location },
    });
    if !record.tags.is_empty() {
        out["Tags"] = json!(record.tags);
    }
    if let Some(n) = record.reserved_concurrency {
        out["Concurrency"] = json!({ "ReservedConcurrentExecutions": n });
    }
    Ok(json_response(StatusCode::OK, &out))
}

/// `GET /2015-03-31/functions/{name}/configuration` (GetFunctionConfiguration).
pub async fn get_configuration(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    query: QueryParams,
) -> LambdaResult<Response> {
    let (_, version, qualifier) = requested_version(&state, &raw, &query).await?;
    Ok(json_response(
        StatusCode::OK,
        &version.configuration(&state.region, &state.account_id, qualifier.is_some()),
    ))
}

/// `GET /2015-03-31/functions` (ListFunctions): `$LATEST` of every function, or every version
/// with `FunctionVersion=ALL`.
pub async fn list(State(state): State<AppState>, query: QueryParams) -> LambdaResult<Response> {
    let all_versions = match query.get("FunctionVersion") {
        None | Some("") => false,
        Some("ALL") => true,
        Some(other) => {
            return Err(LambdaError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]"
            )));
        }
    };
    let mut configs = Vec::new();
    for record in state.function_records().await? {
        configs.push(
            record
                .latest
                .configuration(&state.region, &state.account_id, all_versions),
        );
        if all_versions {
            for version in state.function_versions(&record.latest.name).await? {
                configs.push(version.configuration(&state.region, &state.account_id, true));
            }
        }
    }
    let (functions, next) = page(configs, &query)?;
    let mut out = json!({ "Functions": functions });
    if let Some(next) = next {
        out["NextMarker"] = json!(next);
    }
    Ok(json_response(StatusCode::OK, &out))
}

fn check_revision(current: &str, expected: Option<&str>) -> LambdaResult<()> {
    match expected {
        Some(expected) if expected != current => Err(LambdaError::PreconditionFailed(
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".into(),
        )),
        _ => Ok(()),
    }
}

/// `PUT /2015-03-31/functions/{name}/configuration` (UpdateFunctionConfiguration).
pub async fn update_configuration(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    LambdaJson(request): LambdaJson<UpdateConfigurationRequest>,
) -> LambdaResult<Response> {
    let name = parse_name(&raw)?.name;
    if let Some(runtime) = &request.runtime {
        lambda::validate_runtime(runtime)?;
    }
    if let Some(role) = &request.role {
        lambda::validate_role(role)?;
    }
    if let Some(handler) = &request.handler {
        lambda::validate_handler(handler)?;
    }
    if let Some(description) = &request.description {
        lambda::validate_description(description)?;
    }
    let timeout = request.timeout.map(lambda::validate_timeout).transpose()?;
    let memory = request
        .memory_size
        .map(lambda::validate_memory)
        .transpose()?;
    if let Some(env) = &request.environment {
        lambda::validate_environment(&env.variables)?;
    }
    let record = retry(|| async {
        let stored = state.function_record(&name).await?;
        check_revision(
            &stored.value.latest.revision_id,
            request.revision_id.as_deref(),
        )?;
        let mut record = stored.value.clone();
        let latest = &mut record.latest;
        if let Some(runtime) = &request.runtime {
            latest.runtime.clone_from(runtime);
        }
        if let Some(role) = &request.role {
            latest.role.clone_from(role);
        }
        if let Some(handler) = &request.handler {
            latest.handler.clone_from(handler);
        }
        if let Some(description) = &request.description {
            latest.description.clone_from(description);
        }
        if let Some(timeout) = timeout {
            latest.timeout = timeout;
        }
        if let Some(memory) = memory {
            latest.memory_size = memory;
        }
        if let Some(env) = &request.environment {
            latest.environment.clone_from(&env.variables);
        }
        latest.last_modified = lambda::now_timestamp();
        latest.revision_id = new_revision_id();
        state.commit(batch_for(&stored, &record)).await?;
        Ok(record)
    })
    .await?;
    state.register(&record, [&record.latest]);
    Ok(json_response(
        StatusCode::OK,
        &record
            .latest
            .configuration(&state.region, &state.account_id, false),
    ))
}

/// `PUT /2015-03-31/functions/{name}/code` (UpdateFunctionCode).
pub async fn update_code(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    LambdaJson(request): LambdaJson<UpdateCodeRequest>,
) -> LambdaResult<Response> {
    let name = parse_name(&raw)?.name;
    let architectures = request
        .architectures
        .map(|a| architectures(Some(a)))
        .transpose()?;
    let current = state.function_record(&name).await?;
    check_revision(
        &current.value.latest.revision_id,
        request.revision_id.as_deref(),
    )?;
    if request.dry_run {
        return Ok(json_response(
            StatusCode::OK,
            &current
                .value
                .latest
                .configuration(&state.region, &state.account_id, false),
        ));
    }
    let new_code = code::prepare(&state.data_dir, &name, request.source).await?;
    let outcome = retry(|| async {
        let stored = state.function_record(&name).await?;
        check_revision(
            &stored.value.latest.revision_id,
            request.revision_id.as_deref(),
        )?;
        let mut record = stored.value.clone();
        let old_code = std::mem::replace(&mut record.latest.code, new_code.clone());
        if let Some(a) = &architectures {
            record.latest.architectures.clone_from(a);
        }
        record.latest.last_modified = lambda::now_timestamp();
        record.latest.revision_id = new_revision_id();
        let published = request.publish.then(|| publish_latest(&mut record, None));
        let mut batch = batch_for(&stored, &record);
        if let Some(version) = &published {
            batch.create(version_key(&name, &version.version), version);
        }
        state.commit(batch).await?;
        Ok((record, old_code, published))
    })
    .await;
    let (record, old_code, published) = match outcome {
        Ok(done) => done,
        Err(e) => {
            code::discard_unused(&state.data_dir, &new_code, std::iter::empty()).await;
            return Err(e);
        }
    };
    state.register(&record, std::iter::once(&record.latest).chain(&published));
    discard_code_unless_used(&state, &record, &old_code).await;
    let shown = published.as_ref().unwrap_or(&record.latest);
    Ok(json_response(
        StatusCode::OK,
        &shown.configuration(&state.region, &state.account_id, published.is_some()),
    ))
}

/// `DELETE /2015-03-31/functions/{name}` (DeleteFunction): the whole function, or one published
/// version with `Qualifier`.
pub async fn delete(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    query: QueryParams,
) -> LambdaResult<Response> {
    let function = parse_name(&raw)?;
    let qualifier = qualifier_of(&function, &query)?;
    let name = function.name;
    match Qualifier::parse(qualifier.as_deref()) {
        Qualifier::Latest if qualifier.is_some() => Err(LambdaError::invalid(
            "$LATEST version cannot be deleted without deleting the function.",
        )),
        Qualifier::Latest => delete_function(&state, &name).await,
        Qualifier::Version(_) => {
            delete_version(&state, &name, qualifier.as_deref().unwrap_or_default()).await
        }
        Qualifier::Alias(_) => Err(LambdaError::invalid(
            "Deletion of aliases is not supported by DeleteFunction: use DeleteAlias",
        )),
    }
}

async fn delete_function(state: &AppState, name: &str) -> LambdaResult<Response> {
    let record = retry(|| async {
        let stored = state.function_record(name).await?;
        let mut batch = Batch::default();
        batch
            .delete(record_key(name), stored.version)
            .delete_scope(&lambda::function_scope(name));
        state.commit(batch).await?;
        Ok(stored.value)
    })
    .await?;
    let numbers: Vec<String> = (1..=record.last_version).map(|n| n.to_string()).collect();
    state.unregister(
        name,
        std::iter::once(LATEST).chain(numbers.iter().map(String::as_str)),
    );
    code::discard_function(&state.data_dir, name).await;
    tracing::info!(function = %name, "function deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_version(state: &AppState, name: &str, number: &str) -> LambdaResult<Response> {
    let version = retry(|| async {
        let stored = state.function_record(name).await?;
        let version = state.function_version(name, number).await?;
        let users: Vec<String> = state
            .aliases(name)
            .await?
            .into_iter()
            .filter(|a| a.function_version == number || a.additional_weights.contains_key(number))
            .map(|a| a.name)
            .collect();
        if !users.is_empty() {
            return Err(LambdaError::Conflict(format!(
                "Unable to delete version because the following aliases reference it: [{}]",
                users.join(", ")
            )));
        }
        let mut batch = batch_for(&stored, &stored.value);
        let key = version_key(name, number);
        let doc_version = state
            .repo
            .store()
            .get(&key)
            .await?
            .map(|d| d.version)
            .unwrap_or(0);
        batch.delete(key, doc_version);
        state.commit(batch).await?;
        Ok((stored.value, version))
    })
    .await?;
    let (record, version) = version;
    state.unregister(name, [number]);
    discard_code_unless_used(state, &record, &version.code).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PUT /2017-10-31/functions/{name}/concurrency` (PutFunctionConcurrency).
pub async fn put_concurrency(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    LambdaJson(request): LambdaJson<PutConcurrencyRequest>,
) -> LambdaResult<Response> {
    let name = parse_name(&raw)?.name;
    let wanted = required(
        "reservedConcurrentExecutions",
        request.reserved_concurrent_executions,
    )?;
    let wanted = u32::try_from(wanted).map_err(|_| {
        LambdaError::Validation(format!(
            "1 validation error detected: Value '{wanted}' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0"
        ))
    })?;
    let record = retry(|| async {
        let stored = state.function_record(&name).await?;
        let reserved_elsewhere: u32 = state
            .function_records()
            .await?
            .iter()
            .filter(|r| r.latest.name != name)
            .filter_map(|r| r.reserved_concurrency)
            .sum();
        if reserved_elsewhere.saturating_add(wanted) > ACCOUNT_CONCURRENCY - MIN_UNRESERVED {
            return Err(LambdaError::invalid(format!(
                "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
            )));
        }
        let mut record = stored.value.clone();
        record.reserved_concurrency = Some(wanted);
        state.commit(batch_for(&stored, &record)).await?;
        Ok(record)
    })
    .await?;
    register_all(&state, &record).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "ReservedConcurrentExecutions": wanted }),
    ))
}

/// `GET /2019-09-30/functions/{name}/concurrency` (GetFunctionConcurrency).
pub async fn get_concurrency(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> LambdaResult<Response> {
    let name = parse_name(&raw)?.name;
    let record = state.function_record(&name).await?.value;
    let out = match record.reserved_concurrency {
        Some(n) => json!({ "ReservedConcurrentExecutions": n }),
        None => json!({}),
    };
    Ok(json_response(StatusCode::OK, &out))
}

/// `DELETE /2017-10-31/functions/{name}/concurrency` (DeleteFunctionConcurrency).
pub async fn delete_concurrency(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> LambdaResult<Response> {
    let name = parse_name(&raw)?.name;
    let record = retry(|| async {
        let stored = state.function_record(&name).await?;
        let mut record = stored.value.clone();
        record.reserved_concurrency = None;
        state.commit(batch_for(&stored, &record)).await?;
        Ok(record)
    })
    .await?;
    register_all(&state, &record).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Re-registers `$LATEST` and every published version (after a function-wide change).
async fn register_all(state: &AppState, record: &FunctionRecord) -> LambdaResult<()> {
    let versions = state.function_versions(&record.latest.name).await?;
    state.register(record, std::iter::once(&record.latest).chain(&versions));
    Ok(())
}

/// `GET /_tollgate/lambda/code/{name}/{id}.zip`: the zip `GetFunction`'s `Code.Location` names
/// (where AWS gives a presigned S3 URL).
pub async fn download_code(
    State(state): State<AppState>,
    Path((name, file)): Path<(String, String)>,
) -> LambdaResult<Response> {
    let not_found = || LambdaError::NotFound("The code you requested does not exist.".into());
    let path = code::download_file(&state.data_dir, &name, &file).ok_or_else(not_found)?;
    let bytes = tokio::fs::read(&path).await.map_err(|_| not_found())?;
    Ok((StatusCode::OK, [("content-type", "application/zip")], bytes).into_response())
}
