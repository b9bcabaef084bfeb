//! Published versions and aliases.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tollgate_model::lambda::{self, Alias, FunctionRecord, FunctionVersion, Qualifier};

use super::error::{LambdaError, LambdaResult};
use super::functions::parse_name;
use super::repo::{alias_key, batch_for, retry, version_key};
use super::wire::{LambdaJson, page};
use crate::AppState;
use crate::wire::{QueryParams, json as json_response};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishRequest {
    code_sha256: Option<String>,
    description: Option<String>,
    revision_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoutingConfig {
    #[serde(default)]
    additional_version_weights: BTreeMap<String, f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasRequest {
    name: Option<String>,
    function_version: Option<String>,
    description: Option<String>,
    routing_config: Option<RoutingConfig>,
    revision_id: Option<String>,
}

/// Makes the next version of `record` from its `$LATEST` (and counts it in the record).
pub fn publish_latest(record: &mut FunctionRecord, description: Option<String>) -> FunctionVersion {
    record.last_version += 1;
    let mut version = record.latest.clone();
    version.version = record.last_version.to_string();
    if let Some(description) = description {
        version.description = description;
    }
    version.revision_id = tollgate_model::ids::request_id();
    version
}

/// `POST /2015-03-31/functions/{name}/versions` (PublishVersion). As Lambda does, publishing an
/// unchanged `$LATEST` again returns the version already published from it.
pub async fn publish(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    LambdaJson(request): LambdaJson<PublishRequest>,
) -> LambdaResult<Response> {
    let name = parse_name(&raw)?.name;
    if let Some(d) = &request.description {
        lambda::validate_description(d)?;
    }
    let (record, version, created) = retry(|| async {
        let stored = state.function_record(&name).await?;
        let latest = &stored.value.latest;
        if let Some(expected) = &request.revision_id
            && expected != &latest.revision_id
        {
            return Err(LambdaError::PreconditionFailed(
                "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".into(),
            ));
        }
        if let Some(sha) = &request.code_sha256
            && sha != &latest.code.sha256
        {
            return Err(LambdaError::invalid(format!(
                "CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({}). Please try again",
                latest.code.sha256
            )));
        }
        if stored.value.last_version > 0 {
            let last = state
                .function_version(&name, &stored.value.last_version.to_string())
                .await;
            if let Ok(last) = last
                && last.same_content(latest)
            {
                return Ok((stored.value.clone(), last, false));
            }
        }
        let mut record = stored.value.clone();
        let version = publish_latest(&mut record, request.description.clone());
        let mut batch = batch_for(&stored, &record);
        batch.create(version_key(&name, &version.version), &version);
        state.commit(batch).await?;
        Ok((record, version, true))
    })
    .await?;
    if created {
        state.register(&record, [&version]);
    }
    Ok(json_response(
        StatusCode::CREATED,
        &version.configuration(&state.region, &state.account_id, true),
    ))
}

/// `GET /2015-03-31/functions/{name}/versions` (ListVersionsByFunction): `$LATEST`, then the
/// published versions in order.
pub async fn list(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    query: QueryParams,
) -> LambdaResult<Response> {
    let name = parse_name(&raw)?.name;
    let record = state.function_record(&name).await?.value;
    let mut configs = vec![
        record
            .latest
            .configuration(&state.region, &state.account_id, true),
    ];
    for version in state.function_versions(&name).await? {
        configs.push(version.configuration(&state.region, &state.account_id, true));
    }
    let (versions, next) = page(configs, &query)?;
    let mut out = json!({ "Versions": versions });
    if let Some(next) = next {
        out["NextMarker"] = json!(next);
    }
    Ok(json_response(StatusCode::OK, &out))
}

/// Checks that an alias may point at `version` with these extra weights.
async fn check_alias_target(
    state: &AppState,
    name: &str,
    version: &str,
    weights: &BTreeMap<String, f64>,
) -> LambdaResult<()> {
    if !matches!(Qualifier::parse(Some(version)), Qualifier::Latest) {
        if !matches!(Qualifier::parse(Some(version)), Qualifier::Version(_)) {
            return Err(LambdaError::Validation(format!(
                "1 validation error detected: Value '{version}' at 'functionVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)"
            )));
        }
        state.function_version(name, version).await?;
    }
    lambda::validate_weights(version, weights)?;
    for extra in weights.keys() {
        state.function_version(name, extra).await?;
    }
    Ok(())
}

/// `POST /2015-03-31/functions/{name}/aliases` (CreateAlias).
pub async fn create_alias(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    LambdaJson(request): LambdaJson<AliasRequest>,
) -> LambdaResult<Response> {
    let name = parse_name(&raw)?.name;
    let alias_name = request.name.clone().unwrap_or_default();
    lambda::validate_alias_name(&alias_name)?;
    let version = request.function_version.clone().ok_or_else(|| {
        LambdaError::Validation(
            "1 validation error detected: Value null at 'functionVersion' failed to satisfy constraint: Member must not be null".into(),
        )
    })?;
    let description = request.description.clone().unwrap_or_default();
    lambda::validate_description(&description)?;
    let weights = request
        .routing_config
        .map(|r| r.additional_version_weights)
        .unwrap_or_default();
    let alias = retry(|| async {
        let stored = state.function_record(&name).await?;
        check_alias_target(&state, &name, &version, &weights).await?;
        if state.alias(&name, &alias_name).await.is_ok() {
            return Err(LambdaError::Conflict(format!(
                "Alias already exists: {}",
                state.function_arn(&name, Some(&alias_name))
            )));
        }
        let alias = Alias {
            name: alias_name.clone(),
            function_version: version.clone(),
            description: description.clone(),
            additional_weights: weights.clone(),
            revision_id: tollgate_model::ids::request_id(),
        };
        let mut batch = batch_for(&stored, &stored.value);
        batch.create(alias_key(&name, &alias_name), &alias);
        state.commit(batch).await?;
        Ok(alias)
    })
    .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &alias.configuration(&state.region, &state.account_id, &name),
    ))
}

/// `GET /2015-03-31/functions/{name}/aliases/{alias}` (GetAlias).
pub async fn get_alias(
    State(state): State<AppState>,
    Path((raw, alias)): Path<(String, String)>,
) -> LambdaResult<Response> {
    let name = parse_name(&raw)?.name;
    state.function_record(&name).await?;
    let alias = state.alias(&name, &alias).await?.value;
    Ok(json_response(
        StatusCode::OK,
        &alias.configuration(&state.region, &state.account_id, &name),
    ))
}

/// `PUT /2015-03-31/functions/{name}/aliases/{alias}` (UpdateAlias).
pub async fn update_alias(
    State(state): State<AppState>,
    Path((raw, alias_name)): Path<(String, String)>,
    LambdaJson(request): LambdaJson<AliasRequest>,
) -> LambdaResult<Response> {
    let name = parse_name(&raw)?.name;
    if let Some(d) = &request.description {
        lambda::validate_description(d)?;
    }
    let new_weights = request.routing_config.map(|r| r.additional_version_weights);
    let alias = retry(|| async {
        let stored = state.function_record(&name).await?;
        let current = state.alias(&name, &alias_name).await?;
        if let Some(expected) = &request.revision_id
            && expected != &current.value.revision_id
        {
            return Err(LambdaError::PreconditionFailed(
                "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".into(),
            ));
        }
        let mut alias = current.value.clone();
        if let Some(version) = &request.function_version {
            alias.function_version.clone_from(version);
        }
        if let Some(description) = &request.description {
            alias.description.clone_from(description);
        }
        if let Some(weights) = &new_weights {
            alias.additional_weights.clone_from(weights);
        }
        check_alias_target(
            &state,
            &name,
            &alias.function_version,
            &alias.additional_weights,
        )
        .await?;
        alias.revision_id = tollgate_model::ids::request_id();
        let mut batch = batch_for(&stored, &stored.value);
        batch.put_versioned(alias_key(&name, &alias_name), &alias, current.version);
        state.commit(batch).await?;
        Ok(alias)
    })
    .await?;
    Ok(json_response(
        StatusCode::OK,
        &alias.configuration(&state.region, &state.account_id, &name),
    ))
}

/// `GET /2015-03-31/functions/{name}/aliases` (ListAliases), optionally only the aliases of one
/// `FunctionVersion`.
pub async fn list_aliases(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    query: QueryParams,
) -> LambdaResult<Response> {
    let name = parse_name(&raw)?.name;
    state.function_record(&name).await?;
    let version = query.get("FunctionVersion").filter(|v| !v.is_empty());
    let aliases: Vec<_> = state
        .aliases(&name)
        .await?
        .into_iter()
        .filter(|a| version.is_none_or(|v| a.function_version == v))
        .map(|a| a.configuration(&state.region, &state.account_id, &name))
        .collect();
    let (aliases, next) = page(aliases, &query)?;
    let mut out = json!({ "Aliases": aliases });
    if let Some(next) = next {
        out["NextMarker"] = json!(next);
    }
    Ok(json_response(StatusCode::OK, &out))
}

/// `DELETE /2015-03-31/functions/{name}/aliases/{alias}` (DeleteAlias).
pub async fn delete_alias(
    State(state): State<AppState>,
    Path((raw, alias_name)): Path<(String, String)>,
) -> LambdaResult<Response> {
    let name = parse_name(&raw)?.name;
    retry(|| async {
        let stored = state.function_record(&name).await?;
        let current = state.alias(&name, &alias_name).await?;
        let mut record = stored.value.clone();
        // Permissions added for the alias go with it.
        record
            .policy
            .retain(|s| s.qualifier.as_deref() != Some(alias_name.as_str()));
        let mut batch = batch_for(&stored, &record);
        batch.delete(alias_key(&name, &alias_name), current.version);
        state.commit(batch).await?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
