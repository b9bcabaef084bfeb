//! OpenAPI 3.0 and Swagger 2.0 for REST APIs and HTTP APIs, with the `x-amazon-apigateway-*`
//! extensions.
//!
//! - [`import`] reads a definition (JSON or YAML) into an [`ImportPlan`] made of the model's
//!   shapes, with the warnings AWS would report, or says what is wrong and where (as JSON
//!   pointers) when the definition cannot be imported.
//! - [`export`] writes a deployed API (a deployment's snapshot and its stage) back out as
//!   `oas30` or `swagger`, with the extensions asked for.
//!
//! - [`import_http_api`] and [`export_http_api`] do the same for HTTP APIs (`apigatewayv2`).
//!
//! No I/O: the management API does the reading and writing.

mod document;
mod export;
mod extensions;
mod http_api;
mod import;
mod plan;
mod schema;
mod yaml;

pub use document::{BasePath, Problem, Version, parse_document};
pub use export::{ExportFormat, ExportOptions, Extensions, export};
pub use http_api::{HttpApiPlan, HttpExportOptions, export_http_api, import_http_api};
pub use import::{ImportOptions, import, import_documentation};
pub use plan::{ApiSettings, ImportPlan, PlannedMethod, PlannedResource, PlannedValidator};
pub use yaml::to_yaml;

/// Why a definition cannot be imported: every problem found, each with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render_problems(.0))]
pub struct ImportError(pub Vec<Problem>);

fn render_problems(problems: &[Problem]) -> String {
    let mut out = String::from("Errors found during import:");
    for p in problems {
        out.push_str("\n\t");
        out.push_str(&p.to_string());
    }
    out
}

/// The URL of a model as API Gateway writes it in the `$ref`s of other models.
pub fn model_url(api_id: &str, model: &str) -> String {
    format!("https://apigateway.amazonaws.com/restapis/{api_id}/models/{model}")
}
