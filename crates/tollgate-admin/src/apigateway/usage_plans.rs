//! Usage plans (Create/Get/GetUsagePlans/Update/Delete), their keys (CreateUsagePlanKey,
//! GetUsagePlanKey(s), DeleteUsagePlanKey) and usage (GetUsage, UpdateUsage).
//!
//! Plans are account-wide documents (scope `""`); a plan's keys live in the scope named by the
//! plan's id, so deleting a plan deletes its memberships with it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_model::calendar::day_of;
use tollgate_model::ids;
use tollgate_model::layout::V2_STAGE;
use tollgate_model::rest::{
    ApiKey, CreateUsagePlan, CreateUsagePlanKey, Stage, UsagePlan, UsagePlanKey,
};
use tollgate_model::usage::{DailyUsage, UsageAdjustment, period_of};
use tollgate_store::Key;

use super::PatchBody;
use super::api_keys::api_key;
use super::repo::{API_KEY, Batch, STAGE, USAGE, USAGE_PLAN, USAGE_PLAN_KEY, Versioned, retry};
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, QueryParams, empty, json, paginate};

fn not_found() -> AdminError {
    AdminError::not_found("Invalid Usage Plan ID specified")
}

async fn plan(state: &AppState, id: &str) -> AdminResult<Versioned<UsagePlan>> {
    state
        .repo
        .get(&Key::new("", USAGE_PLAN, id))
        .await?
        .ok_or_else(not_found)
}

/// The member record of `key` in a plan.
pub(super) fn plan_key(key: &ApiKey) -> UsagePlanKey {
    UsagePlanKey {
        id: key.id.clone(),
        key_type: "API_KEY".into(),
        value: key.value.clone(),
        name: key.name.clone(),
    }
}

/// Every stage a plan names must exist, of a REST API or a WebSocket API.
async fn check_stages(state: &AppState, plan: &UsagePlan) -> AdminResult<()> {
    for s in &plan.api_stages {
        let websocket = crate::apigatewayv2::repo::api(&state.repo, &s.api_id)
            .await
            .is_ok_and(|api| api.value.protocol_type == "WEBSOCKET");
        let exists = if websocket {
            let stage: Option<Versioned<tollgate_model::v2::StageRecord>> = state
                .repo
                .get(&Key::new(&s.api_id, V2_STAGE, &s.stage))
                .await?;
            stage.is_some()
        } else {
            state.repo.rest_api(&s.api_id).await?;
            let stage: Option<Versioned<Stage>> = state
                .repo
                .get(&Key::new(&s.api_id, STAGE, &s.stage))
                .await?;
            stage.is_some()
        };
        if !exists {
            return Err(AdminError::not_found(format!(
                "Invalid stage identifier specified: {}:{}",
                s.api_id, s.stage
            )));
        }
    }
    Ok(())
}

pub async fn create(
    State(state): State<AppState>,
    AwsJson(input): AwsJson<CreateUsagePlan>,
) -> AdminResult<Response> {
    let plan = UsagePlan::create(ids::short_id(), input)?;
    check_stages(&state, &plan).await?;
    let mut batch = Batch::default();
    batch.create(Key::new("", USAGE_PLAN, &plan.id), &plan);
    state.repo.commit(batch).await?;
    Ok(json(StatusCode::CREATED, &plan))
}

pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> AdminResult<Response> {
    Ok(json(StatusCode::OK, &plan(&state, &id).await?.value))
}

pub async fn list(State(state): State<AppState>, query: QueryParams) -> AdminResult<Response> {
    let mut plans: Vec<UsagePlan> = state
        .repo
        .list::<UsagePlan>("", USAGE_PLAN)
        .await?
        .into_iter()
        .map(|p| p.value)
        .collect();
    if let Some(key_id) = query.get("keyId") {
        let mut having = Vec::new();
        for p in plans {
            if state
                .repo
                .store()
                .get(&Key::new(&p.id, USAGE_PLAN_KEY, key_id))
                .await?
                .is_some()
            {
                having.push(p);
            }
        }
        plans = having;
    }
    Ok(json(StatusCode::OK, &paginate(plans, &query)?))
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: PatchBody,
) -> AdminResult<Response> {
    let plan = retry(|| async {
        let current = plan(&state, &id).await?;
        let patched = current.value.patched(&body.patch_operations)?;
        check_stages(&state, &patched).await?;
        let mut batch = Batch::default();
        batch.put_versioned(Key::new("", USAGE_PLAN, &id), &patched, current.version);
        state.repo.commit(batch).await?;
        Ok(patched)
    })
    .await?;
    Ok(json(StatusCode::OK, &plan))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AdminResult<Response> {
    retry(|| async {
        let current = plan(&state, &id).await?;
        let mut batch = Batch::default();
        batch.delete(Key::new("", USAGE_PLAN, &id), current.version);
        batch.delete_scope(&id);
        state.repo.commit(batch).await.map(|_| ())
    })
    .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

pub async fn create_key(
    State(state): State<AppState>,
    Path(plan_id): Path<String>,
    AwsJson(input): AwsJson<CreateUsagePlanKey>,
) -> AdminResult<Response> {
    let key_id = tollgate_model::validate::required("keyId", input.key_id)?;
    let key_type = tollgate_model::validate::required("keyType", input.key_type)?;
    if key_type != "API_KEY" {
        return Err(AdminError::bad_request(format!(
            "Invalid key type specified: {key_type}"
        )));
    }
    let target = plan(&state, &plan_id).await?;
    let key = api_key(&state, &key_id).await?.value;
    // A key may not be in two plans that cover the same stage.
    for other in state.repo.list::<UsagePlan>("", USAGE_PLAN).await? {
        let other = other.value;
        if other.id == plan_id {
            continue;
        }
        let shares_stage = other
            .api_stages
            .iter()
            .any(|s| target.value.api_stage(&s.api_id, &s.stage).is_some());
        if shares_stage
            && state
                .repo
                .store()
                .get(&Key::new(&other.id, USAGE_PLAN_KEY, &key_id))
                .await?
                .is_some()
        {
            return Err(AdminError::conflict(format!(
                "Usage Plan {} cannot be added because API Key {key_id} cannot reference multiple Usage Plans with the same API Stage",
                plan_id
            )));
        }
    }
    let member = plan_key(&key);
    let mut batch = Batch::default();
    batch.put_versioned(
        Key::new("", USAGE_PLAN, &plan_id),
        &target.value,
        target.version,
    );
    batch.create(Key::new(&plan_id, USAGE_PLAN_KEY, &key_id), &member);
    state.repo.commit(batch).await.map_err(|e| match e {
        AdminError::ConcurrentModification => AdminError::conflict(format!(
            "Usage Plan {plan_id} already contains API Key {key_id}"
        )),
        other => other,
    })?;
    Ok(json(StatusCode::CREATED, &member))
}

async fn members(state: &AppState, plan_id: &str) -> AdminResult<Vec<UsagePlanKey>> {
    // Names and values are read from the keys, so a renamed key shows its new name.
    let mut out = Vec::new();
    for member in state
        .repo
        .list::<UsagePlanKey>(plan_id, USAGE_PLAN_KEY)
        .await?
    {
        if let Some(key) = state
            .repo
            .get::<ApiKey>(&Key::new("", API_KEY, &member.value.id))
            .await?
        {
            out.push(plan_key(&key.value));
        }
    }
    Ok(out)
}

pub async fn list_keys(
    State(state): State<AppState>,
    Path(plan_id): Path<String>,
    query: QueryParams,
) -> AdminResult<Response> {
    plan(&state, &plan_id).await?;
    let prefix = query.get("name").unwrap_or("");
    let keys: Vec<UsagePlanKey> = members(&state, &plan_id)
        .await?
        .into_iter()
        .filter(|k| k.name.as_deref().unwrap_or("").starts_with(prefix))
        .collect();
    Ok(json(StatusCode::OK, &paginate(keys, &query)?))
}

fn key_not_found() -> AdminError {
    AdminError::not_found("Invalid Usage Plan Key identifier specified")
}

pub async fn get_key(
    State(state): State<AppState>,
    Path((plan_id, key_id)): Path<(String, String)>,
) -> AdminResult<Response> {
    plan(&state, &plan_id).await?;
    let key = members(&state, &plan_id)
        .await?
        .into_iter()
        .find(|k| k.id == key_id)
        .ok_or_else(key_not_found)?;
    Ok(json(StatusCode::OK, &key))
}

pub async fn delete_key(
    State(state): State<AppState>,
    Path((plan_id, key_id)): Path<(String, String)>,
) -> AdminResult<Response> {
    plan(&state, &plan_id).await?;
    let key = Key::new(&plan_id, USAGE_PLAN_KEY, &key_id);
    let member = state
        .repo
        .store()
        .get(&key)
        .await?
        .ok_or_else(key_not_found)?;
    let mut batch = Batch::default();
    batch.delete(key, member.version);
    state.repo.commit(batch).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// A `yyyy-MM-dd` date as a day number (days since 1970-01-01).
fn parse_date(field: &str, value: Option<&str>) -> AdminResult<i64> {
    let value =
        value.ok_or_else(|| AdminError::bad_request(format!("{field} is required: yyyy-MM-dd")))?;
    tollgate_model::calendar::parse_day(value).ok_or_else(|| {
        AdminError::bad_request(format!("Invalid {field}: {value}. Expected yyyy-MM-dd"))
    })
}

/// `GetUsage`: per key, per day from `startDate` to `endDate`, `[used, remaining]`, where
/// remaining is what is left of the quota at the end of that day (0 without a quota).
pub async fn usage(
    State(state): State<AppState>,
    Path(plan_id): Path<String>,
    query: QueryParams,
) -> AdminResult<Response> {
    let plan = plan(&state, &plan_id).await?.value;
    let start = parse_date("startDate", query.get("startDate"))?;
    let end = parse_date("endDate", query.get("endDate"))?;
    if end < start || end - start > 90 {
        return Err(AdminError::bad_request(
            "The usage date range must be between 0 and 90 days",
        ));
    }
    let mut key_ids: Vec<String> = state
        .repo
        .list::<UsagePlanKey>(&plan_id, USAGE_PLAN_KEY)
        .await?
        .into_iter()
        .map(|k| k.value.id)
        .collect();
    if let Some(only) = query.get("keyId") {
        key_ids.retain(|k| k == only);
    }
    key_ids.sort();
    let records = state.repo.list::<DailyUsage>("usage", USAGE).await?;
    let adjustments = state
        .repo
        .list::<UsageAdjustment>(&plan_id, tollgate_model::layout::USAGE_ADJUSTMENT)
        .await?;
    let used_on = |key_id: &str, day: i64| -> i64 {
        records
            .iter()
            .filter(|r| {
                r.value.day == day
                    && r.value.api_key_id == key_id
                    && plan.api_stage(&r.value.api_id, &r.value.stage).is_some()
            })
            .map(|r| r.value.requests)
            .sum()
    };
    let mut values = serde_json::Map::new();
    for key_id in &key_ids {
        let mut days = Vec::new();
        for day in start..=end {
            let used = used_on(key_id, day);
            let remaining = match &plan.quota {
                None => 0,
                Some(q) => {
                    let (period_start, _) = period_of(day, q);
                    let mut so_far: i64 = (period_start..=day).map(|d| used_on(key_id, d)).sum();
                    if let Some(adj) = adjustments.iter().find(|a| {
                        a.value.api_key_id == *key_id && a.value.period_start == period_start
                    }) {
                        so_far += adj.value.offset;
                    }
                    (q.limit - so_far).max(0)
                }
            };
            days.push(serde_json::json!([used, remaining]));
        }
        values.insert(key_id.clone(), serde_json::Value::Array(days));
    }
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "usagePlanId": plan_id,
            "startDate": query.get("startDate"),
            "endDate": query.get("endDate"),
            "values": values,
        }),
    ))
}

/// `UpdateUsage`: `replace /remaining` sets what is left of the key's quota in the current
/// period (a temporary extension, as AWS calls it).
pub async fn update_usage(
    State(state): State<AppState>,
    Path((plan_id, key_id)): Path<(String, String)>,
    body: PatchBody,
) -> AdminResult<Response> {
    let plan = plan(&state, &plan_id).await?.value;
    let quota = plan
        .quota
        .clone()
        .ok_or_else(|| AdminError::bad_request("Usage plan has no quota"))?;
    state
        .repo
        .store()
        .get(&Key::new(&plan_id, USAGE_PLAN_KEY, &key_id))
        .await?
        .ok_or_else(key_not_found)?;
    let mut remaining = None;
    for op in &body.patch_operations {
        match (op.op, op.path.as_str()) {
            (tollgate_model::PatchOp::Replace, "/remaining") => remaining = Some(op.int_value()?),
            _ => {
                return Err(AdminError::bad_request(format!(
                    "Invalid patch path {} specified for op '{}'. Must be one of: [/remaining]",
                    op.path,
                    op.op.as_str()
                )));
            }
        }
    }
    let today = day_of(tollgate_model::now_epoch_seconds());
    let (period_start, _) = period_of(today, &quota);
    if let Some(remaining) = remaining {
        let records = state.repo.list::<DailyUsage>("usage", USAGE).await?;
        let used: i64 = records
            .iter()
            .filter(|r| {
                r.value.api_key_id == key_id
                    && (period_start..=today).contains(&r.value.day)
                    && plan.api_stage(&r.value.api_id, &r.value.stage).is_some()
            })
            .map(|r| r.value.requests)
            .sum();
        let adjustment = UsageAdjustment {
            api_key_id: key_id.clone(),
            period_start,
            offset: quota.limit - remaining - used,
        };
        let id = format!("{key_id}/{period_start}");
        retry(|| async {
            let key = Key::new(&plan_id, tollgate_model::layout::USAGE_ADJUSTMENT, &id);
            let version = state.repo.store().get(&key).await?.map_or(0, |d| d.version);
            let mut batch = Batch::default();
            batch.put_versioned(key, &adjustment, version);
            state.repo.commit(batch).await.map(|_| ())
        })
        .await?;
    }
    let date = tollgate_model::calendar::format_day(today);
    let query = vec![
        ("startDate".to_string(), date.clone()),
        ("endDate".to_string(), date),
        ("keyId".to_string(), key_id),
    ];
    usage(State(state), Path(plan_id), QueryParams(query)).await
}
