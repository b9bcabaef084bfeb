//! A function's resource-based policy: `AddPermission`, `RemovePermission`, `GetPolicy`. Each
//! statement belongs to the function or to one version or alias (`Qualifier`), as in Lambda.
//! Tollgate keeps and returns the policy; it does not enforce it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tollgate_model::lambda::{self, Permission, PolicyStatement};

use super::error::{LambdaError, LambdaResult};
use super::functions::{parse_name, qualifier_of};
use super::repo::{batch_for, retry};
use super::wire::LambdaJson;
use crate::AppState;
use crate::wire::QueryParams;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionRequest {
    statement_id: Option<String>,
    action: Option<String>,
    principal: Option<String>,
    source_arn: Option<String>,
    source_account: Option<String>,
    event_source_token: Option<String>,
    #[serde(rename = "PrincipalOrgID")]
    principal_org_id: Option<String>,
    function_url_auth_type: Option<String>,
    revision_id: Option<String>,
}

fn required(field: &str, value: &Option<String>) -> LambdaResult<String> {
    value.clone().ok_or_else(|| {
        LambdaError::Validation(format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

fn validate_action(action: &str) -> LambdaResult<()> {
    let ok = action == "*"
        || action.strip_prefix("lambda:").is_some_and(|rest| {
            rest == "*" || (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphabetic()))
        });
    if ok {
        Ok(())
    } else {
        Err(LambdaError::Validation(format!(
            "1 validation error detected: Value '{action}' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])"
        )))
    }
}

/// `POST /2015-03-31/functions/{name}/policy` (AddPermission).
pub async fn add(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    query: QueryParams,
    LambdaJson(request): LambdaJson<AddPermissionRequest>,
) -> LambdaResult<Response> {
    let function = parse_name(&raw)?;
    let qualifier = qualifier_of(&function, &query)?;
    let name = function.name;
    let sid = required("statementId", &request.statement_id)?;
    lambda::validate_statement_id(&sid)?;
    let action = required("action", &request.action)?;
    validate_action(&action)?;
    let principal = required("principal", &request.principal)?;
    let resource = state.function_arn(&name, qualifier.as_deref());
    let statement = Permission {
        sid: &sid,
        action: &action,
        principal: &principal,
        source_arn: request.source_arn.as_deref(),
        source_account: request.source_account.as_deref(),
        principal_org_id: request.principal_org_id.as_deref(),
        event_source_token: request.event_source_token.as_deref(),
        function_url_auth_type: request.function_url_auth_type.as_deref(),
    }
    .statement(&resource);
    retry(|| async {
        let stored = state.function_record(&name).await?;
        state
            .check_qualifier(&stored.value, qualifier.as_deref())
            .await?;
        if let Some(expected) = &request.revision_id
            && expected != &stored.value.latest.revision_id
        {
            return Err(LambdaError::PreconditionFailed(
                "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".into(),
            ));
        }
        if stored
            .value
            .policy
            .iter()
            .any(|s| s.sid == sid && s.qualifier == qualifier)
        {
            return Err(LambdaError::Conflict(format!(
                "The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement."
            )));
        }
        let mut record = stored.value.clone();
        record.policy.push(PolicyStatement {
            qualifier: qualifier.clone(),
            sid: sid.clone(),
            statement: statement.clone(),
        });
        state.commit(batch_for(&stored, &record)).await?;
        Ok(())
    })
    .await?;
    Ok(crate::wire::json(
        StatusCode::CREATED,
        &json!({ "Statement": statement.to_string() }),
    ))
}

/// `GET /2015-03-31/functions/{name}/policy` (GetPolicy): the policy document as a JSON string.
pub async fn get(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    query: QueryParams,
) -> LambdaResult<Response> {
    let function = parse_name(&raw)?;
    let qualifier = qualifier_of(&function, &query)?;
    let record = state.function_record(&function.name).await?.value;
    state.check_qualifier(&record, qualifier.as_deref()).await?;
    let statements: Vec<&PolicyStatement> = record
        .policy
        .iter()
        .filter(|s| s.qualifier == qualifier)
        .collect();
    if statements.is_empty() {
        return Err(LambdaError::NotFound(
            "The resource you requested does not exist.".into(),
        ));
    }
    let document = lambda::policy_document(statements);
    Ok(crate::wire::json(
        StatusCode::OK,
        &json!({ "Policy": document.to_string(), "RevisionId": record.latest.revision_id }),
    ))
}

/// `DELETE /2015-03-31/functions/{name}/policy/{sid}` (RemovePermission).
pub async fn remove(
    State(state): State<AppState>,
    Path((raw, sid)): Path<(String, String)>,
    query: QueryParams,
) -> LambdaResult<Response> {
    let function = parse_name(&raw)?;
    let qualifier = qualifier_of(&function, &query)?;
    let name = function.name;
    retry(|| async {
        let stored = state.function_record(&name).await?;
        let mut record = stored.value.clone();
        let before = record.policy.len();
        record
            .policy
            .retain(|s| !(s.sid == sid && s.qualifier == qualifier));
        if record.policy.len() == before {
            return Err(LambdaError::NotFound(format!(
                "Statement {sid} is not found in resource policy."
            )));
        }
        state.commit(batch_for(&stored, &record)).await?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
