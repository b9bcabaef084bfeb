use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::patch::{PatchOp, PatchOperation, PatchRules, PatchStyle, apply_all};

const RULES: PatchRules = PatchRules {
    style: PatchStyle::Listed,
    paths: &[
        ("/cloudwatchRoleArn", &[PatchOp::Replace]),
        ("/features", &[PatchOp::Add, PatchOp::Remove]),
        ("/throttle/rateLimit", &[PatchOp::Replace]),
        ("/throttle/burstLimit", &[PatchOp::Replace]),
    ],
};

/// `ThrottleSettings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleSettings {
    pub burst_limit: i64,
    pub rate_limit: f64,
}

/// `Account`: the settings of the API Gateway account (one per Tollgate installation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudwatch_role_arn: Option<String>,
    pub throttle_settings: ThrottleSettings,
    pub features: Vec<String>,
    pub api_key_version: String,
}

impl Default for Account {
    /// AWS's defaults: 10,000 requests per second with a burst of 5,000.
    fn default() -> Self {
        Self {
            cloudwatch_role_arn: None,
            throttle_settings: ThrottleSettings {
                burst_limit: 5000,
                rate_limit: 10000.0,
            },
            features: vec!["UsagePlans".into()],
            api_key_version: "4".into(),
        }
    }
}

impl Account {
    /// `UpdateAccount`. AWS lets only `/cloudwatchRoleArn` and `/features` change; Tollgate also
    /// accepts `/throttle/rateLimit` and `/throttle/burstLimit`, since here the operator owns
    /// the account-level limit.
    pub fn patched(&self, ops: &[PatchOperation]) -> Result<Self, ModelError> {
        apply_all(self, ops, |a, op, path| {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            match (op.op, path.as_slice()) {
                (PatchOp::Replace, ["cloudwatchRoleArn"]) => {
                    a.cloudwatch_role_arn = op.optional_value()
                }
                (PatchOp::Add | PatchOp::Remove, ["features"]) => {
                    let mut features = Some(std::mem::take(&mut a.features));
                    op.apply_to_list(&mut features, None)?;
                    a.features = features.unwrap_or_default();
                }
                (PatchOp::Replace, ["throttle", "rateLimit"]) => {
                    let rate = op.double_value()?;
                    if rate < 0.0 {
                        return Err(ModelError::invalid("rateLimit must not be negative"));
                    }
                    a.throttle_settings.rate_limit = rate;
                }
                (PatchOp::Replace, ["throttle", "burstLimit"]) => {
                    let burst = op.int_value()?;
                    if burst < 0 {
                        return Err(ModelError::invalid("burstLimit must not be negative"));
                    }
                    a.throttle_settings.burst_limit = burst;
                }
                _ => return Err(RULES.reject(op)),
            }
            Ok(())
        })
    }
}
