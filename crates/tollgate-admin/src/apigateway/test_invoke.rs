//! TestInvokeMethod: runs a method of the API's current configuration (deployed or not) as the
//! data plane would, and answers with its status, headers, body, log and latency.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tollgate_model::rest::{Deployment, DeploymentRecord};
use tollgate_plan::test_invoke::{AuthorizerTest, TestInvocation};

use super::deployments::current_snapshot;
use super::methods::{check_http_method, find_method};
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::{AwsJson, json};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TestInvokeInput {
    path_with_query_string: Option<String>,
    body: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    multi_value_headers: Option<BTreeMap<String, Vec<String>>>,
    stage_variables: Option<BTreeMap<String, String>>,
}

pub async fn test_invoke_method(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method)): Path<(String, String, String)>,
    AwsJson(input): AwsJson<TestInvokeInput>,
) -> AdminResult<Response> {
    check_http_method(&http_method)?;
    let api = state.repo.rest_api(&api_id).await?;
    let resource = state.repo.resource(&api_id, &resource_id).await?;
    find_method(&resource.value, &http_method)?;
    let tester = state
        .tester
        .clone()
        .ok_or_else(|| AdminError::bad_request("This node does not run the data plane"))?;
    let snapshot = current_snapshot(&state, &api.value).await?;
    let path = snapshot
        .resources
        .iter()
        .find(|r| r.id == resource_id)
        .and_then(|r| r.path.clone())
        .unwrap_or_else(|| "/".into());
    let mut headers: Vec<(String, String)> =
        input.headers.unwrap_or_default().into_iter().collect();
    for (name, values) in input.multi_value_headers.unwrap_or_default() {
        headers.extend(values.into_iter().map(|v| (name.clone(), v)));
    }
    let invocation = TestInvocation {
        api_id: api_id.clone(),
        record: DeploymentRecord {
            deployment: Deployment {
                id: "test-invoke-deployment".into(),
                description: None,
                created_date: tollgate_model::now_epoch_seconds(),
                api_summary: None,
            },
            snapshot,
        },
        stage_variables: input
            .stage_variables
            .unwrap_or_default()
            .into_iter()
            .collect(),
        resource_id,
        path_with_query: input
            .path_with_query_string
            .filter(|p| !p.is_empty())
            .unwrap_or(path),
        http_method,
        headers,
        body: input.body.unwrap_or_default(),
    };
    let outcome = tester.test_invoke(invocation).await;
    let mut single: BTreeMap<String, String> = BTreeMap::new();
    let mut multi: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in outcome.headers {
        multi.entry(name.clone()).or_default().push(value.clone());
        single.insert(name, value);
    }
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "status": outcome.status,
            "body": outcome.body,
            "headers": single,
            "multiValueHeaders": multi,
            "log": outcome.log,
            "latency": outcome.latency_ms,
        }),
    ))
}

/// TestInvokeAuthorizer: calls the authorizer (never its cache) with the given request.
pub async fn test_invoke_authorizer(
    State(state): State<AppState>,
    Path((api_id, authorizer_id)): Path<(String, String)>,
    AwsJson(input): AwsJson<TestInvokeInput>,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    let authorizer = state
        .repo
        .get::<tollgate_model::rest::Authorizer>(&tollgate_store::Key::new(
            &api_id,
            super::repo::AUTHORIZER,
            &authorizer_id,
        ))
        .await?
        .ok_or_else(|| AdminError::not_found("Invalid Authorizer identifier specified"))?
        .value;
    let tester = state
        .tester
        .clone()
        .ok_or_else(|| AdminError::bad_request("This node does not run the data plane"))?;
    let mut headers: Vec<(String, String)> =
        input.headers.unwrap_or_default().into_iter().collect();
    for (name, values) in input.multi_value_headers.unwrap_or_default() {
        headers.extend(values.into_iter().map(|v| (name.clone(), v)));
    }
    let outcome = tester
        .test_authorizer(AuthorizerTest {
            api_id,
            authorizer,
            headers,
            path_with_query: input.path_with_query_string.unwrap_or_else(|| "/".into()),
            body: input.body.unwrap_or_default(),
            stage_variables: input
                .stage_variables
                .unwrap_or_default()
                .into_iter()
                .collect(),
        })
        .await;
    let mut out = serde_json::json!({
        "clientStatus": outcome.client_status,
        "log": outcome.log,
        "latency": outcome.latency_ms,
        "authorization": outcome.authorization,
    });
    if let Some(principal) = outcome.principal_id {
        out["principalId"] = principal.into();
    }
    if let Some(policy) = outcome.policy {
        out["policy"] = policy.into();
    }
    Ok(json(StatusCode::OK, &out))
}
