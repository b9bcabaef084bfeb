use serde::{Deserialize, Serialize};

use super::{
    Api, Authorizer, Integration, IntegrationResponseRecord, Model, Route, RouteResponseRecord,
};

/// `Deployment` of an HTTP API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub deployment_id: String,
    pub created_date: String,
    pub deployment_status: String,
    #[serde(default)]
    pub auto_deployed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The body of `CreateDeployment` and `UpdateDeployment`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentInput {
    pub description: Option<String>,
    pub stage_name: Option<String>,
}

/// What a deployment freezes: the API (its CORS configuration) with its routes,
/// integrations and authorizers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiSnapshot {
    pub api: Api,
    pub routes: Vec<Route>,
    pub integrations: Vec<Integration>,
    pub authorizers: Vec<Authorizer>,
    /// WebSocket APIs: route responses (two-way routes), integration responses, models.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route_responses: Vec<RouteResponseRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integration_responses: Vec<IntegrationResponseRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<Model>,
}

/// How a deployment is stored: the wire object and its snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentRecord {
    pub deployment: Deployment,
    pub snapshot: ApiSnapshot,
}
