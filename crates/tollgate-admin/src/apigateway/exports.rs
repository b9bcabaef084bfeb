//! GetExport: a stage's deployment as an OpenAPI 3.0 or Swagger 2.0 definition, JSON or YAML
//! (by `Accept`), with the `extensions` asked for.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tollgate_model::rest::DocumentationVersionRecord;
use tollgate_openapi::{ExportFormat, ExportOptions, Extensions};
use tollgate_store::Key;

use super::repo::DOCUMENTATION_VERSION;
use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::QueryParams;

/// `2016-09-12T17:50:37Z` for epoch seconds.
fn iso_date(epoch_seconds: i64) -> String {
    let full = tollgate_model::lambda::format_timestamp(epoch_seconds * 1000);
    format!("{}Z", &full[..full.len().min(19)])
}

pub async fn get_export(
    State(state): State<AppState>,
    Path((api_id, stage_name, export_type)): Path<(String, String, String)>,
    query: QueryParams,
    headers: HeaderMap,
) -> AdminResult<Response> {
    state.repo.rest_api(&api_id).await?;
    let stage = state.repo.stage(&api_id, &stage_name).await?.value;
    let format = ExportFormat::parse(&export_type).ok_or_else(|| {
        AdminError::bad_request(format!(
            "Invalid export type '{export_type}': expected oas30 or swagger"
        ))
    })?;
    let accept = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let yaml = accept.contains("yaml");
    if !yaml && !accept.contains("json") && !accept.contains("*/*") {
        return Err(AdminError::bad_request(format!(
            "Unsupported Accept type '{accept}': expected application/json or application/yaml"
        )));
    }
    let record = state
        .repo
        .deployment(&api_id, &stage.deployment_id)
        .await?
        .value;
    let documentation = match &stage.documentation_version {
        Some(version) => state
            .repo
            .get::<DocumentationVersionRecord>(&Key::new(&api_id, DOCUMENTATION_VERSION, version))
            .await?
            .map(|r| r.value),
        None => None,
    };
    let options = ExportOptions {
        format,
        extensions: Extensions::parse(query.get("extensions").unwrap_or("")),
        stage: &stage_name,
        region: &state.region,
        fallback_version: iso_date(record.deployment.created_date),
        documentation: documentation
            .as_ref()
            .map(|d| (d.version.version.as_str(), d.parts.as_slice())),
    };
    let doc = tollgate_openapi::export(&record.snapshot, &options);
    let (body, content_type, extension) = if yaml {
        (tollgate_openapi::to_yaml(&doc), "application/yaml", "yaml")
    } else {
        (
            serde_json::to_string_pretty(&doc).unwrap_or_default(),
            "application/json",
            "json",
        )
    };
    let mut response = (StatusCode::OK, Body::from(body)).into_response();
    let h = response.headers_mut();
    h.insert("content-type", HeaderValue::from_static(content_type));
    let disposition =
        format!("attachment; filename=\"{api_id}-{stage_name}-{export_type}.{extension}\"");
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert("content-disposition", v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_iso_seconds() {
        assert_eq!(super::iso_date(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::iso_date(1_473_702_637), "2016-09-12T17:50:37Z");
    }
}
