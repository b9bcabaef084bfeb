use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{GatewayResponse, Model, RequestValidator, Resource, RestApi, StringMap};
use crate::ModelError;
use crate::patch::{PatchOp, PatchOperation, PatchRules, PatchStyle, apply_all};

const RULES: PatchRules = PatchRules {
    style: PatchStyle::Listed,
    paths: &[("/description", &[PatchOp::Replace])],
};

/// `Deployment`: an immutable snapshot of an API that stages point at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_date: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_summary: Option<BTreeMap<String, BTreeMap<String, MethodSnapshot>>>,
}

/// `MethodSnapshot`, the per-method entry of a deployment's `apiSummary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodSnapshot {
    pub authorization_type: String,
    pub api_key_required: bool,
}

/// The body of `CreateDeployment`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDeployment {
    pub stage_name: Option<String>,
    pub stage_description: Option<String>,
    pub description: Option<String>,
    pub cache_cluster_enabled: Option<bool>,
    pub cache_cluster_size: Option<String>,
    pub variables: Option<StringMap>,
    pub canary_settings: Option<DeploymentCanarySettings>,
    pub tracing_enabled: Option<bool>,
}

/// `DeploymentCanarySettings`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentCanarySettings {
    pub percent_traffic: Option<f64>,
    pub stage_variable_overrides: Option<StringMap>,
    pub use_stage_cache: Option<bool>,
}

/// Everything a deployment freezes: what the data plane serves for the stages that point at it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiSnapshot {
    pub api: RestApi,
    /// Every resource with its methods, and `path` filled in.
    pub resources: Vec<Resource>,
    pub models: Vec<Model>,
    pub request_validators: Vec<RequestValidator>,
    /// The API's customized gateway responses (the others answer with AWS's defaults).
    #[serde(default)]
    pub gateway_responses: Vec<GatewayResponse>,
    #[serde(default)]
    pub authorizers: Vec<super::Authorizer>,
}

impl ApiSnapshot {
    /// `apiSummary`: path -> method -> how it is authorized.
    pub fn api_summary(&self) -> BTreeMap<String, BTreeMap<String, MethodSnapshot>> {
        self.resources
            .iter()
            .filter(|r| !r.resource_methods.is_empty())
            .map(|r| {
                let methods = r
                    .resource_methods
                    .iter()
                    .map(|(verb, m)| {
                        let snapshot = MethodSnapshot {
                            authorization_type: m.authorization_type.clone(),
                            api_key_required: m.api_key_required,
                        };
                        (verb.clone(), snapshot)
                    })
                    .collect();
                (r.path.clone().unwrap_or_default(), methods)
            })
            .collect()
    }
}

/// How a deployment is stored: the wire object and the snapshot it froze.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentRecord {
    pub deployment: Deployment,
    pub snapshot: ApiSnapshot,
}

impl Deployment {
    /// `UpdateDeployment`: only the description changes; the snapshot is immutable.
    pub fn patched(&self, ops: &[PatchOperation]) -> Result<Self, ModelError> {
        apply_all(self, ops, |d, op, path| {
            match (op.op, path) {
                (PatchOp::Replace, [p]) if p == "description" => {
                    d.description = op.optional_value()
                }
                _ => return Err(RULES.reject(op)),
            }
            Ok(())
        })
    }
}
