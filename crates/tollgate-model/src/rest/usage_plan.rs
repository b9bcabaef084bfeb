//! `UsagePlan` and `UsagePlanKey`: which API stages a set of keys may call, at what rate and
//! with what quota.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{StringMap, ThrottleSettings};
use crate::patch::{PatchOp, PatchOperation, PatchRules, PatchStyle, apply_all};
use crate::{ModelError, validate};

pub const QUOTA_PERIODS: &[&str] = &["DAY", "WEEK", "MONTH"];

const RULES: PatchRules = PatchRules {
    style: PatchStyle::Listed,
    paths: &[
        ("/name", &[PatchOp::Replace]),
        ("/description", &[PatchOp::Replace]),
        ("/productCode", &[PatchOp::Replace]),
        ("/apiStages", &[PatchOp::Add, PatchOp::Remove]),
        ("/throttle", &[PatchOp::Remove]),
        ("/throttle/burstLimit", &[PatchOp::Replace]),
        ("/throttle/rateLimit", &[PatchOp::Replace]),
        ("/quota", &[PatchOp::Remove]),
        ("/quota/limit", &[PatchOp::Replace]),
        ("/quota/offset", &[PatchOp::Replace]),
        ("/quota/period", &[PatchOp::Replace]),
    ],
};

/// `QuotaSettings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaSettings {
    pub limit: i64,
    #[serde(default)]
    pub offset: i64,
    pub period: String,
}

/// `ApiStage`: a stage the plan covers, with per-method throttles keyed `{resourcePath}/{METHOD}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiStage {
    pub api_id: String,
    pub stage: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<BTreeMap<String, ThrottleSettings>>,
}

/// `UsagePlan`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsagePlan {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub api_stages: Vec<ApiStage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<StringMap>,
}

/// Throttle settings as they arrive: either member may be missing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleInput {
    pub burst_limit: Option<i64>,
    pub rate_limit: Option<f64>,
}

impl ThrottleInput {
    fn settings(self) -> Result<ThrottleSettings, ModelError> {
        let settings = ThrottleSettings {
            burst_limit: self.burst_limit.unwrap_or(0),
            rate_limit: self.rate_limit.unwrap_or(0.0),
        };
        check_throttle(&settings)?;
        Ok(settings)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiStageInput {
    pub api_id: Option<String>,
    pub stage: Option<String>,
    pub throttle: Option<BTreeMap<String, ThrottleInput>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaInput {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    pub period: Option<String>,
}

/// The body of `CreateUsagePlan`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUsagePlan {
    pub name: Option<String>,
    pub description: Option<String>,
    pub api_stages: Option<Vec<ApiStageInput>>,
    pub throttle: Option<ThrottleInput>,
    pub quota: Option<QuotaInput>,
    pub tags: Option<StringMap>,
}

fn check_throttle(t: &ThrottleSettings) -> Result<(), ModelError> {
    if t.burst_limit < 0 || t.rate_limit < 0.0 || !t.rate_limit.is_finite() {
        return Err(ModelError::invalid(
            "Throttle rate limit and burst limit must not be negative",
        ));
    }
    Ok(())
}

fn check_quota(q: &QuotaSettings) -> Result<(), ModelError> {
    validate::one_of("quota.period", &q.period, QUOTA_PERIODS)?;
    if q.limit < 0 {
        return Err(ModelError::invalid("Quota limit must not be negative"));
    }
    // AWS: the number of requests subtracted from the limit in the initial period.
    if q.offset < 0 || q.offset > q.limit {
        return Err(ModelError::invalid(
            "Quota offset must be between 0 and the quota limit",
        ));
    }
    Ok(())
}

/// A method throttle key `{resourcePath}/{METHOD}`: the path starts with `/` and the method is
/// an HTTP method or `*`.
fn check_method_key(key: &str) -> Result<(), ModelError> {
    let ok = key.starts_with('/')
        && key.rsplit_once('/').is_some_and(|(path, method)| {
            !path.is_empty() && (method == "*" || super::HTTP_METHODS.contains(&method))
        });
    if ok {
        Ok(())
    } else {
        Err(ModelError::invalid(format!(
            "Invalid method throttle key '{key}': expected {{resourcePath}}/{{httpMethod}}"
        )))
    }
}

impl ApiStageInput {
    fn stage(self) -> Result<ApiStage, ModelError> {
        let api_id = validate::required("apiStages.apiId", self.api_id)?;
        let stage = validate::required("apiStages.stage", self.stage)?;
        let throttle = match self.throttle {
            None => None,
            Some(map) => {
                let mut out = BTreeMap::new();
                for (key, t) in map {
                    check_method_key(&key)?;
                    out.insert(key, t.settings()?);
                }
                Some(out)
            }
        };
        Ok(ApiStage {
            api_id,
            stage,
            throttle,
        })
    }
}

impl QuotaInput {
    fn settings(self) -> Result<QuotaSettings, ModelError> {
        let quota = QuotaSettings {
            limit: self.limit.unwrap_or(0),
            offset: self.offset.unwrap_or(0),
            period: validate::required("quota.period", self.period)?,
        };
        check_quota(&quota)?;
        Ok(quota)
    }
}

impl UsagePlan {
    pub fn create(id: String, input: CreateUsagePlan) -> Result<Self, ModelError> {
        let name = validate::required("name", input.name)?;
        validate::name("name", &name)?;
        if let Some(tags) = &input.tags {
            validate::tags(tags)?;
        }
        let mut api_stages: Vec<ApiStage> = Vec::new();
        for stage in input.api_stages.unwrap_or_default() {
            let stage = stage.stage()?;
            if api_stages
                .iter()
                .any(|s| s.api_id == stage.api_id && s.stage == stage.stage)
            {
                return Err(ModelError::invalid(format!(
                    "Duplicate API stage {}:{}",
                    stage.api_id, stage.stage
                )));
            }
            api_stages.push(stage);
        }
        Ok(Self {
            id,
            name,
            description: input.description,
            api_stages,
            throttle: input.throttle.map(ThrottleInput::settings).transpose()?,
            quota: input.quota.map(QuotaInput::settings).transpose()?,
            product_code: None,
            tags: input.tags,
        })
    }

    /// `UpdateUsagePlan`. Besides the plain paths, a method throttle is changed at
    /// `/apiStages/{apiId}:{stage}/throttle/{resourcePath}/{METHOD}/rateLimit|burstLimit` and
    /// removed at `/apiStages/{apiId}:{stage}/throttle[/{resourcePath}/{METHOD}]`.
    pub fn patched(&self, ops: &[PatchOperation]) -> Result<Self, ModelError> {
        let plan = apply_all(self, ops, |p, op, path| {
            let segments: Vec<&str> = path.iter().map(String::as_str).collect();
            match (op.op, segments.as_slice()) {
                (PatchOp::Replace, ["name"]) => {
                    let name = op.value()?.to_string();
                    validate::name("name", &name)?;
                    p.name = name;
                }
                (PatchOp::Replace, ["description"]) => p.description = op.optional_value(),
                (PatchOp::Replace, ["productCode"]) => p.product_code = op.optional_value(),
                (PatchOp::Add, ["apiStages"]) => {
                    let (api_id, stage) = split_api_stage(op.value()?)?;
                    if !p
                        .api_stages
                        .iter()
                        .any(|s| s.api_id == api_id && s.stage == stage)
                    {
                        p.api_stages.push(ApiStage {
                            api_id,
                            stage,
                            throttle: None,
                        });
                    }
                }
                (PatchOp::Remove, ["apiStages"]) => {
                    let (api_id, stage) = split_api_stage(op.value()?)?;
                    let before = p.api_stages.len();
                    p.api_stages
                        .retain(|s| !(s.api_id == api_id && s.stage == stage));
                    if before == p.api_stages.len() {
                        return Err(ModelError::NotFound(format!(
                            "Invalid API stage {api_id}:{stage}: it is not in the usage plan"
                        )));
                    }
                }
                (_, ["apiStages", api_stage, "throttle", rest @ ..]) => {
                    let (api_id, stage) = split_api_stage(api_stage)?;
                    let entry = p
                        .api_stages
                        .iter_mut()
                        .find(|s| s.api_id == api_id && s.stage == stage)
                        .ok_or_else(|| {
                            ModelError::NotFound(format!(
                                "Invalid API stage {api_id}:{stage}: it is not in the usage plan"
                            ))
                        })?;
                    method_throttle_patch(entry, op, rest)?;
                }
                (PatchOp::Remove, ["throttle"]) => p.throttle = None,
                (PatchOp::Replace, ["throttle", field]) => {
                    let t = p.throttle.get_or_insert(ThrottleSettings {
                        burst_limit: 0,
                        rate_limit: 0.0,
                    });
                    set_throttle_field(t, field, op)?;
                }
                (PatchOp::Remove, ["quota"]) => p.quota = None,
                (PatchOp::Replace, ["quota", field]) => {
                    let q = p.quota.get_or_insert(QuotaSettings {
                        limit: 0,
                        offset: 0,
                        period: "DAY".into(),
                    });
                    match *field {
                        "limit" => q.limit = op.int_value()?,
                        "offset" => q.offset = op.int_value()?,
                        "period" => q.period = op.value()?.to_string(),
                        _ => return Err(RULES.reject(op)),
                    }
                }
                _ => return Err(RULES.reject(op)),
            }
            Ok(())
        })?;
        if let Some(q) = &plan.quota {
            check_quota(q)?;
        }
        if let Some(t) = &plan.throttle {
            check_throttle(t)?;
        }
        Ok(plan)
    }

    /// The plan's entry for a stage.
    pub fn api_stage(&self, api_id: &str, stage: &str) -> Option<&ApiStage> {
        self.api_stages
            .iter()
            .find(|s| s.api_id == api_id && s.stage == stage)
    }
}

fn set_throttle_field(
    t: &mut ThrottleSettings,
    field: &str,
    op: &PatchOperation,
) -> Result<(), ModelError> {
    match field {
        "rateLimit" => t.rate_limit = op.double_value()?,
        "burstLimit" => t.burst_limit = op.int_value()?,
        _ => return Err(RULES.reject(op)),
    }
    check_throttle(t)
}

/// `{resourcePath}/{METHOD}[/rateLimit|burstLimit]` below `/apiStages/{apiId}:{stage}/throttle`.
fn method_throttle_patch(
    entry: &mut ApiStage,
    op: &PatchOperation,
    rest: &[&str],
) -> Result<(), ModelError> {
    match (op.op, rest) {
        (PatchOp::Remove, []) => entry.throttle = None,
        (PatchOp::Remove, [path, method]) => {
            let key = method_key(path, method)?;
            if let Some(map) = entry.throttle.as_mut() {
                map.remove(&key);
            }
        }
        (PatchOp::Add | PatchOp::Replace, [path, method, field]) => {
            let key = method_key(path, method)?;
            let t = entry
                .throttle
                .get_or_insert_with(BTreeMap::new)
                .entry(key)
                .or_insert(ThrottleSettings {
                    burst_limit: 0,
                    rate_limit: 0.0,
                });
            set_throttle_field(t, field, op)?;
        }
        _ => return Err(RULES.reject(op)),
    }
    Ok(())
}

fn method_key(path: &str, method: &str) -> Result<String, ModelError> {
    // The path segment arrives decoded (`~1pets` -> `/pets`).
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let key = format!("{path}/{method}");
    check_method_key(&key)?;
    Ok(key)
}

fn split_api_stage(value: &str) -> Result<(String, String), ModelError> {
    match value.split_once(':') {
        Some((api, stage)) if !api.is_empty() && !stage.is_empty() => {
            Ok((api.to_string(), stage.to_string()))
        }
        _ => Err(ModelError::invalid(format!(
            "Invalid API stage '{value}': expected {{apiId}}:{{stage}}"
        ))),
    }
}

/// `UsagePlanKey`: an API key as a member of a usage plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsagePlanKey {
    pub id: String,
    #[serde(rename = "type")]
    pub key_type: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The body of `CreateUsagePlanKey`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUsagePlanKey {
    pub key_id: Option<String>,
    pub key_type: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::RawPatchOperation;

    fn ops(list: &[(&str, &str, &str)]) -> Vec<PatchOperation> {
        RawPatchOperation::parse_all(
            list.iter()
                .map(|(op, path, value)| RawPatchOperation {
                    op: op.to_string(),
                    path: path.to_string(),
                    value: Some(value.to_string()),
                    from: None,
                })
                .collect(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn plan() -> UsagePlan {
        let input: CreateUsagePlan = serde_json::from_str(
            r#"{"name":"gold","apiStages":[{"apiId":"a1","stage":"dev"}],
                "throttle":{"rateLimit":10,"burstLimit":5},
                "quota":{"limit":100,"period":"WEEK","offset":1}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        UsagePlan::create("p".into(), input).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn method_throttles_are_patched_under_their_api_stage() {
        let p = plan()
            .patched(&ops(&[
                (
                    "replace",
                    "/apiStages/a1:dev/throttle/~1pets/GET/rateLimit",
                    "3",
                ),
                (
                    "replace",
                    "/apiStages/a1:dev/throttle/~1pets/GET/burstLimit",
                    "1",
                ),
                ("replace", "/quota/limit", "7"),
                ("add", "/apiStages", "a2:prod"),
            ]))
            .unwrap_or_else(|e| panic!("{e}"));
        let t = &p.api_stages[0]
            .throttle
            .as_ref()
            .unwrap_or_else(|| panic!())["/pets/GET"];
        assert_eq!((t.rate_limit, t.burst_limit), (3.0, 1));
        assert_eq!(p.quota.as_ref().map(|q| q.limit), Some(7));
        assert_eq!(p.api_stages.len(), 2);
    }

    #[test]
    fn bad_quotas_and_stages_are_refused() {
        assert!(
            plan()
                .patched(&ops(&[("replace", "/quota/offset", "900")]))
                .is_err()
        );
        assert!(
            plan()
                .patched(&ops(&[("replace", "/quota/period", "YEAR")]))
                .is_err()
        );
        assert!(
            plan()
                .patched(&ops(&[("remove", "/apiStages", "zz:dev")]))
                .is_err()
        );
        assert!(plan().patched(&ops(&[("replace", "/id", "x")])).is_err());
    }
}
