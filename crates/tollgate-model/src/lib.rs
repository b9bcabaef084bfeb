//! AWS-shaped API Gateway resources, identifiers, validation and patch operations.
//!
//! Every type here serializes to exactly the JSON that the `apigateway` service model
//! (`botocore/data/apigateway/2015-07-09/service-2.json`) defines, so the management API can
//! return them as they are. This crate does no I/O.

pub mod error;
pub mod ids;
pub mod lambda;
pub mod patch;
pub mod rest;
pub mod usage;
pub mod validate;

pub use error::ModelError;
pub use patch::{PatchOp, PatchOperation};

/// Seconds since the Unix epoch: the wire form of the `apigateway` service's `Timestamp`.
pub fn now_epoch_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// How the management API lays resources out in the store, which the data plane reads too:
/// REST APIs in scope `""`, everything of an API in the scope named by its id.
pub mod layout {
    pub const RESTAPI: &str = "restapi";
    pub const RESOURCE: &str = "resource";
    pub const DEPLOYMENT: &str = "deployment";
    pub const STAGE: &str = "stage";
    pub const MODEL: &str = "model";
    pub const VALIDATOR: &str = "requestvalidator";
    pub const ACCOUNT: &str = "account";
    pub const GATEWAY_RESPONSE: &str = "gatewayresponse";
    pub const DOCUMENTATION_PART: &str = "documentationpart";
    /// A documentation snapshot with the parts it froze, keyed by its version.
    pub const DOCUMENTATION_VERSION: &str = "documentationversion";
    pub const AUTHORIZER: &str = "authorizer";
    /// Scope: the API's id; id: the stage name. `{"generation": n}`, bumped by
    /// FlushStageAuthorizersCache.
    pub const AUTHORIZER_CACHE_GENERATION: &str = "authorizercache";
    pub const API_KEY: &str = "apikey";
    pub const USAGE_PLAN: &str = "usageplan";
    /// Scope: the usage plan's id; id: the API key's id.
    pub const USAGE_PLAN_KEY: &str = "usageplankey";
    /// Scope: `usage`; id: `{day}/{apiId}/{stage}/{apiKeyId}`.
    pub const USAGE: &str = "usage";
    /// Scope: the usage plan's id; id: `{apiKeyId}/{periodStartDay}` (UpdateUsage).
    pub const USAGE_ADJUSTMENT: &str = "usageadjustment";
    /// A Lambda function (scope [`crate::lambda::SCOPE`]); see [`crate::lambda`] for the layout.
    pub const LAMBDA_FUNCTION: &str = "lambda-function";
    /// A published function version (scope [`crate::lambda::function_scope`]).
    pub const LAMBDA_VERSION: &str = "lambda-version";
    /// A function alias (scope [`crate::lambda::function_scope`]).
    pub const LAMBDA_ALIAS: &str = "lambda-alias";
}
