//! Resources of REST APIs (`apigateway`, API version 2015-07-09).
//!
//! The structs are both the stored form and the wire form: every field carries the member name
//! of the service model, and absent optional members are left out of the JSON as AWS does.

mod account;
mod api_key;
mod authorizer;
mod deployment;
mod documentation;
mod gateway_response;
mod integration;
mod method;
mod model;
mod resource;
mod restapi;
mod stage;
mod usage_plan;

pub use account::{Account, ThrottleSettings};
pub use api_key::{ApiKey, CreateApiKey, StageKey};
pub use authorizer::{Authorizer, CreateAuthorizer};
pub use deployment::{
    ApiSnapshot, CreateDeployment, Deployment, DeploymentCanarySettings, DeploymentRecord,
    MethodSnapshot,
};
pub use documentation::{
    CreateDocumentationPart, CreateDocumentationVersion, DOCUMENTATION_TYPES, DocumentationPart,
    DocumentationPartLocation, DocumentationVersion, DocumentationVersionRecord,
};
pub use gateway_response::{
    DEFAULT_TEMPLATE, GatewayResponse, PutGatewayResponse, RESPONSE_TYPES, check_response_type,
};
pub use integration::{
    Integration, IntegrationResponse, IntegrationType, PutIntegration, PutIntegrationResponse,
    TlsConfig,
};
pub use method::{Method, MethodResponse, PutMethod, PutMethodResponse};
pub use model::{CreateModel, CreateRequestValidator, Model, RequestValidator};
pub use resource::Resource;
pub use restapi::{CreateRestApi, EndpointConfiguration, RestApi};
pub use stage::{
    AccessLogSettings, CanarySettings, CreateStage, MethodSetting, Stage, method_setting_key,
};
pub use usage_plan::{
    ApiStage, CreateUsagePlan, CreateUsagePlanKey, QuotaSettings, UsagePlan, UsagePlanKey,
};

/// A string-to-string map as the wire has it, kept sorted so output is stable.
pub type StringMap = std::collections::BTreeMap<String, String>;
/// A string-to-boolean map (`requestParameters` of methods, `responseParameters` of method responses).
pub type BoolMap = std::collections::BTreeMap<String, bool>;

/// The HTTP methods a method resource may have, as API Gateway accepts them.
/// In the order AWS lists them in its error message.
pub const HTTP_METHODS: &[&str] = &[
    "GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD", "ANY",
];
