//! OpenAPI for HTTP APIs (`apigatewayv2`): `ImportApi` / `ReimportApi` read a definition into
//! an [`HttpApiPlan`] (routes, integrations and authorizers with their ids already given, so
//! that routes can name them), and `ExportApi` writes an API back out as OpenAPI 3.0.
//!
//! The document model, `$ref` resolution, base paths and the problem list are the REST
//! importer's; what differs is what the extensions become.

mod export;
mod import;

pub use export::{HttpExportOptions, export_http_api};
pub use import::import_http_api;

use tollgate_model::v2::{Authorizer, Cors, Integration, Route, StringMap};

/// Everything a definition says about an HTTP API.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpApiPlan {
    /// `info.title`.
    pub name: String,
    pub description: Option<String>,
    pub version: Option<String>,
    /// `x-amazon-apigateway-cors`.
    pub cors: Option<Cors>,
    /// `x-amazon-apigateway-endpoint-configuration.disableExecuteApiEndpoint`.
    pub disable_execute_api_endpoint: Option<bool>,
    /// The API's tags: the root `tags` with `x-amazon-apigateway-tag-value` (empty without).
    pub tags: StringMap,
    /// Routes whose `target` and `authorizerId` name the integrations and authorizers below.
    pub routes: Vec<Route>,
    /// One per distinct `x-amazon-apigateway-integration` (identical ones are shared).
    pub integrations: Vec<Integration>,
    /// One per security scheme with `x-amazon-apigateway-authorizer`, named after it.
    pub authorizers: Vec<Authorizer>,
    /// What AWS would report in `warnings`.
    pub warnings: Vec<String>,
}
