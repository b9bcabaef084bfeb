//! Resources of HTTP APIs (`apigatewayv2`, API version 2018-11-29, protocol type `HTTP`).
//!
//! As for REST APIs, each struct is both the stored form and the wire form: fields carry the
//! service model's `locationName`s (camelCase), timestamps are ISO 8601 strings, and absent
//! optional members are left out. `Update*` calls are merges (a JSON object with the fields to
//! change), so one input struct per resource serves both its create and its update.

mod api;
mod authorizer;
mod deployment;
mod integration;
mod route;
mod stage;
mod websocket;

pub use api::{Api, ApiInput, Cors};
pub use authorizer::{Authorizer, AuthorizerInput, JwtConfiguration};
pub use deployment::{ApiSnapshot, Deployment, DeploymentInput, DeploymentRecord};
pub use integration::{Integration, IntegrationInput, TlsConfig};
pub use route::{Route, RouteInput, RouteKey};
pub use stage::{RouteSettings, Stage, StageInput, StageRecord};
pub use websocket::{
    IntegrationResponse, IntegrationResponseInput, IntegrationResponseRecord, Model, ModelInput,
    RouteResponse, RouteResponseInput, RouteResponseRecord, SelectionExpression, SelectionPiece,
};

/// A string-to-string map as the wire has it, kept sorted so output is stable.
pub type StringMap = std::collections::BTreeMap<String, String>;

/// Route, integration and authorizer ids: 7 lowercase alphanumeric characters (`a1b2c3d`).
pub fn child_id() -> String {
    crate::ids::random_id(7)
}

/// Now as the `apigatewayv2` wire writes timestamps: `2024-01-01T00:00:00Z`.
pub fn now_iso8601() -> String {
    crate::format_iso8601(crate::now_epoch_seconds())
}

/// Sets `target` to `value` when the update names it.
pub(crate) fn merge<T: Clone>(target: &mut Option<T>, value: &Option<T>) {
    if let Some(v) = value {
        *target = Some(v.clone());
    }
}
