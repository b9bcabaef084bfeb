//! AWS-shaped API Gateway resources, identifiers, validation and patch operations.
//!
//! Every type here serializes to exactly the JSON that the `apigateway` service model
//! (`botocore/data/apigateway/2015-07-09/service-2.json`) defines, so the management API can
//! return them as they are. This crate does no I/O.

pub mod calendar;
pub mod error;
pub mod iam;
pub mod ids;
pub mod lambda;
pub mod patch;
pub mod rest;
pub mod usage;
pub mod v2;
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

/// Seconds since the Unix epoch as ISO 8601 (`2024-01-01T00:00:00Z`), the `apigatewayv2`
/// service's timestamp form.
pub fn format_iso8601(epoch_seconds: i64) -> String {
    let days = epoch_seconds.div_euclid(86_400);
    let secs = epoch_seconds.rem_euclid(86_400);
    let (year, month, day) = calendar::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
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
    /// An access key of managed credentials (scope [`crate::iam::SCOPE`]).
    pub const ACCESS_KEY: &str = "iam-access-key";
    /// An HTTP API (`apigatewayv2`), in scope `""` beside REST APIs: the two share one id
    /// space, and everything of an HTTP API lives in the scope named by its id.
    pub const HTTP_API: &str = "v2-api";
    pub const V2_ROUTE: &str = "v2-route";
    pub const V2_INTEGRATION: &str = "v2-integration";
    pub const V2_STAGE: &str = "v2-stage";
    pub const V2_DEPLOYMENT: &str = "v2-deployment";
    pub const V2_AUTHORIZER: &str = "v2-authorizer";
}

#[cfg(test)]
mod time_tests {
    #[test]
    fn iso8601_timestamps() {
        assert_eq!(super::format_iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::format_iso8601(1_704_067_261), "2024-01-01T00:01:01Z");
    }
}
