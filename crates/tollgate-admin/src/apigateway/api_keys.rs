//! CreateApiKey, GetApiKey, GetApiKeys, UpdateApiKey, DeleteApiKey, ImportApiKeys.
//!
//! Keys are account-wide documents (scope `""`). Deleting a key also removes it from every
//! usage plan, in the same batch.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_model::rest::{ApiKey, CreateApiKey, UsagePlan};
use tollgate_model::{ids, now_epoch_seconds};
use tollgate_store::Key;

use super::PatchBody;
use super::repo::{API_KEY, Batch, USAGE_PLAN, USAGE_PLAN_KEY, Versioned, retry};
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::{QueryParams, empty, json, paginate, parse_json};

fn not_found() -> AdminError {
    AdminError::not_found("Invalid API Key identifier specified")
}

pub(super) async fn api_key(state: &AppState, id: &str) -> AdminResult<Versioned<ApiKey>> {
    state
        .repo
        .get(&Key::new("", API_KEY, id))
        .await?
        .ok_or_else(not_found)
}

/// Creates the key, refusing a value that another key already has (AWS's `ConflictException`).
async fn insert(state: &AppState, key: &ApiKey) -> AdminResult<()> {
    let existing: Vec<Versioned<ApiKey>> = state.repo.list("", API_KEY).await?;
    if existing.iter().any(|k| k.value.value == key.value) {
        return Err(AdminError::conflict("API Key already exists"));
    }
    let mut batch = Batch::default();
    batch.create(Key::new("", API_KEY, &key.id), key);
    state.repo.commit(batch).await?;
    Ok(())
}

/// `POST /apikeys` is CreateApiKey, or ImportApiKeys with `?mode=import`.
pub async fn create_or_import(
    State(state): State<AppState>,
    query: QueryParams,
    body: Bytes,
) -> AdminResult<Response> {
    if query.get("mode") == Some("import") {
        return import(state, query, body).await;
    }
    let input: CreateApiKey = parse_json(&body)?;
    let key = ApiKey::create(ids::long_id(), input, now_epoch_seconds())?;
    insert(&state, &key).await?;
    Ok(json(StatusCode::CREATED, &key))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: QueryParams,
) -> AdminResult<Response> {
    let key = api_key(&state, &id).await?.value;
    Ok(json(StatusCode::OK, &key.shown(query.bool("includeValue"))))
}

pub async fn list(State(state): State<AppState>, query: QueryParams) -> AdminResult<Response> {
    let include_values = query.bool("includeValues");
    let name_prefix = query.get("name").unwrap_or("");
    let customer = query.get("customerId");
    let keys: Vec<ApiKey> = state
        .repo
        .list::<ApiKey>("", API_KEY)
        .await?
        .into_iter()
        .map(|k| k.value)
        .filter(|k| k.name.as_deref().unwrap_or("").starts_with(name_prefix))
        .filter(|k| customer.is_none_or(|c| k.customer_id.as_deref() == Some(c)))
        .collect();
    // In the order they were created (the store keeps it).
    let shown: Vec<serde_json::Value> = keys.iter().map(|k| k.shown(include_values)).collect();
    Ok(json(StatusCode::OK, &paginate(shown, &query)?))
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: PatchBody,
) -> AdminResult<Response> {
    let key = retry(|| async {
        let current = api_key(&state, &id).await?;
        let patched = current
            .value
            .patched(&body.patch_operations, now_epoch_seconds())?;
        let mut batch = Batch::default();
        batch.put_versioned(Key::new("", API_KEY, &id), &patched, current.version);
        state.repo.commit(batch).await?;
        Ok(patched)
    })
    .await?;
    Ok(json(StatusCode::OK, &key.shown(false)))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AdminResult<Response> {
    retry(|| async {
        let current = api_key(&state, &id).await?;
        let mut batch = Batch::default();
        batch.delete(Key::new("", API_KEY, &id), current.version);
        for plan in state.repo.list::<UsagePlan>("", USAGE_PLAN).await? {
            let key = Key::new(&plan.value.id, USAGE_PLAN_KEY, &id);
            if let Some(member) = state.repo.store().get(&key).await? {
                batch.delete(key, member.version);
            }
        }
        state.repo.commit(batch).await.map(|_| ())
    })
    .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// `ImportApiKeys` (`format=csv`): a header line naming the columns (`name`, `key`,
/// `description`, `enabled`, `usageplanIds`, `customerId`, any case and order), then one key per
/// line. Keys are created enabled unless the `enabled` column says otherwise, and added to the
/// usage plans listed (separated by `;` or `:`).
async fn import(state: AppState, query: QueryParams, body: Bytes) -> AdminResult<Response> {
    match query.get("format") {
        Some("csv") => {}
        _ => {
            return Err(AdminError::bad_request(
                "Invalid format: only csv is supported",
            ));
        }
    }
    let fail_on_warnings = query.bool("failonwarnings");
    let text = std::str::from_utf8(&body)
        .map_err(|_| AdminError::bad_request("The CSV file is not valid UTF-8"))?;
    let rows = parse_csv(text)?;
    let mut warnings = Vec::new();
    let mut keys = Vec::new();
    for (line, row) in rows.into_iter().enumerate() {
        let column = |name: &str| row.get(name).map(String::as_str).filter(|v| !v.is_empty());
        let Some(value) = column("key") else {
            warnings.push(format!("Line {}: missing key value; skipped", line + 2));
            continue;
        };
        let input = CreateApiKey {
            name: column("name").map(String::from),
            description: column("description").map(String::from),
            enabled: Some(column("enabled").is_none_or(|e| e.eq_ignore_ascii_case("true"))),
            value: Some(value.to_string()),
            customer_id: column("customerid").map(String::from),
            ..Default::default()
        };
        match ApiKey::create(ids::long_id(), input, now_epoch_seconds()) {
            Ok(key) => {
                let plans: Vec<String> = column("usageplanids")
                    .unwrap_or("")
                    .split([':', ';'])
                    .filter(|p| !p.is_empty())
                    .map(String::from)
                    .collect();
                keys.push((key, plans));
            }
            Err(e) => warnings.push(format!("Line {}: {e}", line + 2)),
        }
    }
    if fail_on_warnings && !warnings.is_empty() {
        return Err(AdminError::bad_request(warnings.join("; ")));
    }
    let existing: Vec<Versioned<ApiKey>> = state.repo.list("", API_KEY).await?;
    let mut batch = Batch::default();
    let mut ids = Vec::new();
    for (key, plans) in &keys {
        if existing.iter().any(|k| k.value.value == key.value)
            || keys.iter().filter(|(k, _)| k.value == key.value).count() > 1
        {
            return Err(AdminError::conflict(format!(
                "API Key already exists: {}",
                key.name.as_deref().unwrap_or(&key.id)
            )));
        }
        batch.create(Key::new("", API_KEY, &key.id), key);
        for plan_id in plans {
            state
                .repo
                .get::<UsagePlan>(&Key::new("", USAGE_PLAN, plan_id))
                .await?
                .ok_or_else(|| {
                    AdminError::not_found(format!("Invalid Usage Plan ID specified: {plan_id}"))
                })?;
            batch.create(
                Key::new(plan_id, USAGE_PLAN_KEY, &key.id),
                &super::usage_plans::plan_key(key),
            );
        }
        ids.push(key.id.clone());
    }
    state.repo.commit(batch).await?;
    let mut out = serde_json::json!({ "ids": ids });
    if !warnings.is_empty() {
        out["warnings"] = serde_json::json!(warnings);
    }
    Ok(json(StatusCode::CREATED, &out))
}

/// Rows of a CSV file as maps from lowercased header names. Quoted fields may hold commas and
/// doubled quotes.
fn parse_csv(text: &str) -> AdminResult<Vec<std::collections::HashMap<String, String>>> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = split_csv_line(
        lines
            .next()
            .ok_or_else(|| AdminError::bad_request("The CSV file is empty"))?,
    )
    .into_iter()
    .map(|h| h.trim().to_ascii_lowercase())
    .collect();
    if !header.iter().any(|h| h == "key") {
        return Err(AdminError::bad_request(
            "The CSV header must have a 'key' column",
        ));
    }
    Ok(lines
        .map(|line| {
            header
                .iter()
                .cloned()
                .zip(
                    split_csv_line(line)
                        .into_iter()
                        .map(|v| v.trim().to_string()),
                )
                .collect()
        })
        .collect())
}

fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_keep_quoted_commas() {
        assert_eq!(
            split_csv_line(r#"a,"b,c","say ""hi""",d"#),
            vec!["a", "b,c", r#"say "hi""#, "d"]
        );
        let rows =
            parse_csv("Name,Key,Enabled\nk1,abcdefghijklmnopqrstu,false\n").unwrap_or_default();
        assert_eq!(rows[0]["key"], "abcdefghijklmnopqrstu");
        assert_eq!(rows[0]["enabled"], "false");
        assert!(parse_csv("name\nx\n").is_err());
    }
}
