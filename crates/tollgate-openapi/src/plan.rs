//! What an import produces: the model's shapes, ready for the management API to store.

use std::collections::BTreeMap;

use tollgate_model::rest::{Authorizer, DocumentationPartLocation, GatewayResponse, Method, Model};

/// Everything a definition says about an API.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportPlan {
    pub settings: ApiSettings,
    /// One entry per path that has methods (or is named in the definition), in path order.
    pub resources: Vec<PlannedResource>,
    /// Models with empty ids (the store assigns them).
    pub models: Vec<Model>,
    pub validators: Vec<PlannedValidator>,
    /// Authorizers from security schemes with `x-amazon-apigateway-authorizer`, named after
    /// the scheme, with empty ids.
    pub authorizers: Vec<Authorizer>,
    pub gateway_responses: Vec<GatewayResponse>,
    pub documentation: Vec<(DocumentationPartLocation, String)>,
    /// `x-amazon-apigateway-documentation.version`, if given.
    pub documentation_version: Option<String>,
    /// What AWS would report as warnings (the import goes ahead unless told to fail on them).
    pub warnings: Vec<String>,
}

/// The API's own settings from `info` and the top-level extensions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiSettings {
    pub name: String,
    pub description: Option<String>,
    pub version: Option<String>,
    pub binary_media_types: Option<Vec<String>>,
    pub minimum_compression_size: Option<i64>,
    pub api_key_source: Option<String>,
    /// The resource policy as a JSON string.
    pub policy: Option<String>,
    pub vpc_endpoint_ids: Option<Vec<String>>,
    pub disable_execute_api_endpoint: Option<bool>,
}

/// One path of the API and its methods.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedResource {
    /// The full path (`/pets/{petId}`), `/` for the root.
    pub path: String,
    pub methods: BTreeMap<String, PlannedMethod>,
}

/// A method with what refers to other entities by name (ids are the store's to give).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedMethod {
    /// With `requestValidatorId` and `authorizerId` unset, and an integration (if any) whose
    /// `cacheNamespace` is empty unless the definition gave one.
    pub method: Method,
    pub validator: Option<String>,
    pub authorizer: Option<String>,
}

/// `x-amazon-apigateway-request-validators` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedValidator {
    pub name: String,
    pub validate_request_body: bool,
    pub validate_request_parameters: bool,
}
