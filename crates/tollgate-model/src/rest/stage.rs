use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::StringMap;
use crate::ModelError;
use crate::patch::{PatchOp, PatchOperation, PatchRules, PatchStyle, apply_all};
use crate::validate;

const RULES: PatchRules = PatchRules {
    style: PatchStyle::Listed,
    paths: &[
        ("/description", &[PatchOp::Replace]),
        ("/deploymentId", &[PatchOp::Replace, PatchOp::Copy]),
        ("/cacheClusterEnabled", &[PatchOp::Replace]),
        ("/cacheClusterSize", &[PatchOp::Replace]),
        ("/tracingEnabled", &[PatchOp::Replace]),
        ("/clientCertificateId", &[PatchOp::Replace]),
        ("/documentationVersion", &[PatchOp::Replace]),
        ("/webAclArn", &[PatchOp::Replace]),
        (
            "/variables/*",
            &[PatchOp::Add, PatchOp::Remove, PatchOp::Replace],
        ),
        ("/variables", &[PatchOp::Copy]),
        ("/accessLogSettings", &[PatchOp::Remove]),
        ("/accessLogSettings/format", &[PatchOp::Replace]),
        ("/accessLogSettings/destinationArn", &[PatchOp::Replace]),
        ("/canarySettings", &[PatchOp::Remove]),
        ("/canarySettings/percentTraffic", &[PatchOp::Replace]),
        ("/canarySettings/deploymentId", &[PatchOp::Replace]),
        ("/canarySettings/useStageCache", &[PatchOp::Replace]),
        (
            "/canarySettings/stageVariableOverrides/*",
            &[PatchOp::Add, PatchOp::Remove, PatchOp::Replace],
        ),
        ("/*/*", &[PatchOp::Remove]),
        ("/*/*/metrics/enabled", &[PatchOp::Replace]),
        ("/*/*/logging/loglevel", &[PatchOp::Replace]),
        ("/*/*/logging/dataTrace", &[PatchOp::Replace]),
        ("/*/*/throttling/burstLimit", &[PatchOp::Replace]),
        ("/*/*/throttling/rateLimit", &[PatchOp::Replace]),
        ("/*/*/caching/enabled", &[PatchOp::Replace]),
        ("/*/*/caching/ttlInSeconds", &[PatchOp::Replace]),
        ("/*/*/caching/dataEncrypted", &[PatchOp::Replace]),
        (
            "/*/*/caching/requireAuthorizationForCacheControl",
            &[PatchOp::Replace],
        ),
        (
            "/*/*/caching/unauthorizedCacheControlHeaderStrategy",
            &[PatchOp::Replace],
        ),
    ],
};

const CACHE_SIZES: &[&str] = &["0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"];
const LOGGING_LEVELS: &[&str] = &["OFF", "ERROR", "INFO"];
const CACHE_CONTROL_STRATEGIES: &[&str] = &[
    "FAIL_WITH_403",
    "SUCCEED_WITH_RESPONSE_HEADER",
    "SUCCEED_WITHOUT_RESPONSE_HEADER",
];

/// `MethodSetting`: per-method (or `*/*`) settings of a stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodSetting {
    pub metrics_enabled: bool,
    pub logging_level: String,
    pub data_trace_enabled: bool,
    pub throttling_burst_limit: i64,
    pub throttling_rate_limit: f64,
    pub caching_enabled: bool,
    pub cache_ttl_in_seconds: i64,
    pub cache_data_encrypted: bool,
    pub require_authorization_for_cache_control: bool,
    pub unauthorized_cache_control_header_strategy: String,
}

impl Default for MethodSetting {
    /// The values AWS shows for a method setting nobody has changed yet.
    fn default() -> Self {
        Self {
            metrics_enabled: false,
            logging_level: "OFF".into(),
            data_trace_enabled: false,
            throttling_burst_limit: 5000,
            throttling_rate_limit: 10000.0,
            caching_enabled: false,
            cache_ttl_in_seconds: 300,
            cache_data_encrypted: false,
            require_authorization_for_cache_control: true,
            unauthorized_cache_control_header_strategy: "SUCCEED_WITH_RESPONSE_HEADER".into(),
        }
    }
}

impl MethodSetting {
    /// Sets one setting named by the last two segments of a patch path
    /// (`metrics/enabled`, `throttling/rateLimit`, ...).
    fn set(&mut self, op: &PatchOperation, group: &str, name: &str) -> Result<(), ModelError> {
        match (group, name) {
            ("metrics", "enabled") => self.metrics_enabled = op.bool_value()?,
            ("logging", "loglevel") => {
                let level = op.value()?.to_ascii_uppercase();
                validate::one_of("loggingLevel", &level, LOGGING_LEVELS)?;
                self.logging_level = level;
            }
            ("logging", "dataTrace") => self.data_trace_enabled = op.bool_value()?,
            ("throttling", "burstLimit") => self.throttling_burst_limit = op.int_value()?,
            ("throttling", "rateLimit") => self.throttling_rate_limit = op.double_value()?,
            ("caching", "enabled") => self.caching_enabled = op.bool_value()?,
            ("caching", "ttlInSeconds") => {
                let ttl = op.int_value()?;
                if !(0..=3600).contains(&ttl) {
                    return Err(ModelError::invalid(
                        "Cache ttl must be between 0 and 3600 seconds",
                    ));
                }
                self.cache_ttl_in_seconds = ttl;
            }
            ("caching", "dataEncrypted") => self.cache_data_encrypted = op.bool_value()?,
            ("caching", "requireAuthorizationForCacheControl") => {
                self.require_authorization_for_cache_control = op.bool_value()?
            }
            ("caching", "unauthorizedCacheControlHeaderStrategy") => {
                let v = op.value()?;
                validate::one_of(
                    "unauthorizedCacheControlHeaderStrategy",
                    v,
                    CACHE_CONTROL_STRATEGIES,
                )?;
                self.unauthorized_cache_control_header_strategy = v.to_string();
            }
            _ => return Err(RULES.reject(op)),
        }
        Ok(())
    }
}

/// `AccessLogSettings`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_arn: Option<String>,
}

/// `CanarySettings` of a stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanarySettings {
    #[serde(default)]
    pub percent_traffic: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_variable_overrides: Option<StringMap>,
    #[serde(default)]
    pub use_stage_cache: bool,
}

impl CanarySettings {
    fn check(&self) -> Result<(), ModelError> {
        if (0.0..=100.0).contains(&self.percent_traffic) {
            Ok(())
        } else {
            Err(ModelError::invalid(
                "Canary traffic percentage must be between 0.0 and 100.0",
            ))
        }
    }
}

/// `Stage`: a named, addressable snapshot reference with settings that apply at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    pub deployment_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate_id: Option<String>,
    pub stage_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub cache_cluster_enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_cluster_size: Option<String>,
    pub cache_cluster_status: String,
    pub method_settings: BTreeMap<String, MethodSetting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log_settings: Option<AccessLogSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_settings: Option<CanarySettings>,
    pub tracing_enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_acl_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<StringMap>,
    pub created_date: i64,
    pub last_updated_date: i64,
}

/// The body of `CreateStage`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateStage {
    pub stage_name: Option<String>,
    pub deployment_id: Option<String>,
    pub description: Option<String>,
    pub cache_cluster_enabled: Option<bool>,
    pub cache_cluster_size: Option<String>,
    pub variables: Option<StringMap>,
    pub documentation_version: Option<String>,
    pub canary_settings: Option<CanarySettings>,
    pub tracing_enabled: Option<bool>,
    pub tags: Option<StringMap>,
}

impl Stage {
    pub fn create(input: CreateStage, now: i64) -> Result<Self, ModelError> {
        let stage_name = validate::required("stageName", input.stage_name)?;
        validate::stage_name(&stage_name)?;
        let deployment_id = validate::required("deploymentId", input.deployment_id)?;
        let mut stage = Self {
            deployment_id,
            client_certificate_id: None,
            stage_name,
            description: input.description,
            cache_cluster_enabled: input.cache_cluster_enabled.unwrap_or(false),
            cache_cluster_size: input.cache_cluster_size,
            cache_cluster_status: String::new(),
            method_settings: BTreeMap::new(),
            variables: input.variables.filter(|v| !v.is_empty()),
            documentation_version: input.documentation_version,
            access_log_settings: None,
            canary_settings: input.canary_settings,
            tracing_enabled: input.tracing_enabled.unwrap_or(false),
            web_acl_arn: None,
            tags: input.tags.filter(|t| !t.is_empty()),
            created_date: now,
            last_updated_date: now,
        };
        if let Some(tags) = &stage.tags {
            validate::tags(tags)?;
        }
        stage.settle()?;
        Ok(stage)
    }

    /// Checks what a write may have broken and derives the cache cluster's state. The cache is
    /// in-process in Tollgate, so it is available as soon as it is enabled.
    fn settle(&mut self) -> Result<(), ModelError> {
        if let Some(vars) = &self.variables {
            vars.iter().try_for_each(|(k, v)| stage_variable(k, v))?;
        }
        if let Some(canary) = &self.canary_settings {
            canary.check()?;
            if let Some(vars) = &canary.stage_variable_overrides {
                vars.iter().try_for_each(|(k, v)| stage_variable(k, v))?;
            }
        }
        if let Some(size) = &self.cache_cluster_size {
            validate::one_of("cacheClusterSize", size, CACHE_SIZES)?;
        }
        if self.cache_cluster_enabled {
            self.cache_cluster_size.get_or_insert_with(|| "0.5".into());
            self.cache_cluster_status = "AVAILABLE".into();
        } else {
            self.cache_cluster_status = "NOT_AVAILABLE".into();
        }
        Ok(())
    }

    /// `UpdateStage`. Checking that a new deployment id exists is the caller's job.
    pub fn patched(&self, ops: &[PatchOperation], now: i64) -> Result<Self, ModelError> {
        let mut stage = apply_all(self, ops, |s, op, path| {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            match (op.op, path.as_slice()) {
                (PatchOp::Replace, ["description"]) => s.description = op.optional_value(),
                (PatchOp::Replace, ["deploymentId"]) => s.deployment_id = op.value()?.to_string(),
                (PatchOp::Replace, ["cacheClusterEnabled"]) => {
                    s.cache_cluster_enabled = op.bool_value()?
                }
                (PatchOp::Replace, ["cacheClusterSize"]) => {
                    s.cache_cluster_size = op.optional_value()
                }
                (PatchOp::Replace, ["tracingEnabled"]) => s.tracing_enabled = op.bool_value()?,
                (PatchOp::Replace, ["clientCertificateId"]) => {
                    s.client_certificate_id = op.optional_value()
                }
                (PatchOp::Replace, ["documentationVersion"]) => {
                    s.documentation_version = op.optional_value()
                }
                (PatchOp::Replace, ["webAclArn"]) => s.web_acl_arn = op.optional_value(),
                (PatchOp::Add | PatchOp::Replace | PatchOp::Remove, ["variables", name]) => {
                    op.apply_to_map(&mut s.variables, name)?
                }
                (PatchOp::Replace, ["accessLogSettings", "format"]) => {
                    s.access_log_settings
                        .get_or_insert_with(Default::default)
                        .format = op.optional_value()
                }
                (PatchOp::Replace, ["accessLogSettings", "destinationArn"]) => {
                    s.access_log_settings
                        .get_or_insert_with(Default::default)
                        .destination_arn = op.optional_value()
                }
                (PatchOp::Remove, ["accessLogSettings"]) => s.access_log_settings = None,
                (PatchOp::Remove, ["canarySettings"]) => s.canary_settings = None,
                (PatchOp::Replace, ["canarySettings", "percentTraffic"]) => {
                    s.canary_settings
                        .get_or_insert_with(Default::default)
                        .percent_traffic = op.double_value()?
                }
                (PatchOp::Replace, ["canarySettings", "deploymentId"]) => {
                    s.canary_settings
                        .get_or_insert_with(Default::default)
                        .deployment_id = op.optional_value()
                }
                (PatchOp::Replace, ["canarySettings", "useStageCache"]) => {
                    s.canary_settings
                        .get_or_insert_with(Default::default)
                        .use_stage_cache = op.bool_value()?
                }
                (
                    PatchOp::Add | PatchOp::Replace | PatchOp::Remove,
                    ["canarySettings", "stageVariableOverrides", name],
                ) => {
                    let canary = s.canary_settings.get_or_insert_with(Default::default);
                    op.apply_to_map(&mut canary.stage_variable_overrides, name)?
                }
                // Promoting a canary: `copy` from `/canarySettings/deploymentId` to `/deploymentId`,
                // and from `/canarySettings/stageVariableOverrides` to `/variables`.
                (PatchOp::Copy, ["deploymentId"]) => {
                    if op.from.as_deref() != Some("/canarySettings/deploymentId") {
                        return Err(RULES.reject(op));
                    }
                    let canary = s
                        .canary_settings
                        .as_ref()
                        .and_then(|c| c.deployment_id.clone());
                    s.deployment_id = canary.ok_or_else(|| {
                        ModelError::invalid("Stage has no canary deployment to promote")
                    })?;
                }
                (PatchOp::Copy, ["variables"]) => {
                    if op.from.as_deref() != Some("/canarySettings/stageVariableOverrides") {
                        return Err(RULES.reject(op));
                    }
                    let overrides = s
                        .canary_settings
                        .as_ref()
                        .and_then(|c| c.stage_variable_overrides.clone())
                        .unwrap_or_default();
                    s.variables
                        .get_or_insert_with(Default::default)
                        .extend(overrides);
                }
                (PatchOp::Remove, [resource, method]) => {
                    s.method_settings
                        .remove(&method_setting_key(resource, method));
                }
                (PatchOp::Replace | PatchOp::Add, [resource, method, group, name]) => {
                    check_method_setting_target(resource, method).map_err(|_| RULES.reject(op))?;
                    s.method_settings
                        .entry(method_setting_key(resource, method))
                        .or_default()
                        .set(op, group, name)?
                }
                _ => return Err(RULES.reject(op)),
            }
            Ok(())
        })?;
        stage.variables = stage.variables.filter(|v| !v.is_empty());
        stage.settle()?;
        stage.last_updated_date = now;
        Ok(stage)
    }
}

/// The key of `methodSettings`: the resource path as the patch path wrote it (`/` escaped as
/// `~1`, without the leading one) and the method, so `/~1pets/GET/...` gives `~1pets/GET` and
/// `/*/*/...` gives `*/*`.
pub fn method_setting_key(resource: &str, method: &str) -> String {
    format!(
        "{}/{}",
        resource.replace('~', "~0").replace('/', "~1"),
        method
    )
}

fn check_method_setting_target(resource: &str, method: &str) -> Result<(), ()> {
    let resource_ok = resource == "*" || resource.starts_with('/');
    let method_ok = method == "*" || super::HTTP_METHODS.contains(&method);
    if resource_ok && method_ok {
        Ok(())
    } else {
        Err(())
    }
}

/// Stage variable names are alphanumeric or `_`; values may hold letters, digits and
/// `-._~:/?#&=,` and up to 512 characters.
fn stage_variable(name: &str, value: &str) -> Result<(), ModelError> {
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !name_ok {
        return Err(ModelError::invalid(format!(
            "Stage variable name must be alphanumeric or underscore: {name}"
        )));
    }
    let value_ok = value.chars().count() <= 512
        && value.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '-' | '.' | '_' | '~' | ':' | '/' | '?' | '#' | '&' | '=' | ',' | ' '
                )
        });
    if !value_ok {
        return Err(ModelError::invalid(format!(
            "Stage variable value '{value}' for '{name}' contains invalid characters or is longer than 512 characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(op: PatchOp, path: &str, value: &str) -> PatchOperation {
        PatchOperation {
            op,
            path: path.into(),
            value: Some(value.into()),
            from: None,
        }
    }

    fn stage() -> Stage {
        let input = CreateStage {
            stage_name: Some("dev".into()),
            deployment_id: Some("d1".into()),
            ..Default::default()
        };
        Stage::create(input, 1).unwrap()
    }

    #[test]
    fn method_settings_are_keyed_by_escaped_path_and_method() {
        let s = stage()
            .patched(
                &[
                    op(PatchOp::Replace, "/*/*/throttling/rateLimit", "100"),
                    op(PatchOp::Replace, "/~1pets/GET/metrics/enabled", "true"),
                ],
                2,
            )
            .unwrap();
        assert_eq!(s.method_settings["*/*"].throttling_rate_limit, 100.0);
        assert!(s.method_settings["~1pets/GET"].metrics_enabled);
        assert_eq!(s.last_updated_date, 2);
    }

    #[test]
    fn variables_are_added_and_removed() {
        let s = stage()
            .patched(&[op(PatchOp::Replace, "/variables/url", "a.test")], 2)
            .unwrap();
        assert_eq!(s.variables.as_ref().unwrap()["url"], "a.test");
        let s = s
            .patched(&[op(PatchOp::Remove, "/variables/url", "")], 3)
            .unwrap();
        assert!(s.variables.is_none());
        assert!(
            stage()
                .patched(&[op(PatchOp::Replace, "/variables/a-b", "x")], 2)
                .is_err()
        );
    }

    #[test]
    fn unknown_paths_are_refused() {
        assert!(
            stage()
                .patched(&[op(PatchOp::Replace, "/stageName", "x")], 2)
                .is_err()
        );
        assert!(
            stage()
                .patched(&[op(PatchOp::Replace, "/*/*/metrics/speed", "1")], 2)
                .is_err()
        );
        assert!(
            stage()
                .patched(
                    &[op(PatchOp::Replace, "/pets/GET/metrics/enabled", "true")],
                    2
                )
                .is_err()
        );
    }
}
