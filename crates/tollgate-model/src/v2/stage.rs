use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{StringMap, merge};
use crate::ModelError;

/// `RouteSettings`: per-route (or stage-wide default) throttling and logging.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_trace_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detailed_metrics_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttling_burst_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttling_rate_limit: Option<f64>,
}

impl RouteSettings {
    fn merged(&self, other: &Self) -> Self {
        let mut out = self.clone();
        merge(&mut out.data_trace_enabled, &other.data_trace_enabled);
        merge(
            &mut out.detailed_metrics_enabled,
            &other.detailed_metrics_enabled,
        );
        merge(&mut out.logging_level, &other.logging_level);
        merge(
            &mut out.throttling_burst_limit,
            &other.throttling_burst_limit,
        );
        merge(&mut out.throttling_rate_limit, &other.throttling_rate_limit);
        out
    }

    fn check(&self) -> Result<(), ModelError> {
        if self.throttling_burst_limit.is_some_and(|b| b < 0)
            || self.throttling_rate_limit.is_some_and(|r| r < 0.0)
        {
            return Err(ModelError::invalid(
                "Throttling limits must not be negative",
            ));
        }
        if let Some(level) = &self.logging_level {
            crate::validate::one_of("loggingLevel", level, &["ERROR", "INFO", "OFF"])?;
        }
        Ok(())
    }
}

/// `Stage` of an HTTP API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    pub stage_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    #[serde(default)]
    pub auto_deploy: bool,
    pub created_date: String,
    pub last_updated_date: String,
    pub default_route_settings: RouteSettings,
    #[serde(default)]
    pub route_settings: BTreeMap<String, RouteSettings>,
    #[serde(default)]
    pub stage_variables: StringMap,
    #[serde(default)]
    pub tags: StringMap,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log_settings: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_deployment_status_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_gateway_managed: Option<bool>,
}

/// How a stage is stored: the wire object, and the generation of its authorizer cache, which
/// `ResetAuthorizersCache` bumps (a new generation is an empty cache on the data plane).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageRecord {
    pub stage: Stage,
    #[serde(default)]
    pub authorizer_cache_generation: u64,
}

/// The body of `CreateStage` and `UpdateStage`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageInput {
    pub stage_name: Option<String>,
    pub deployment_id: Option<String>,
    pub auto_deploy: Option<bool>,
    pub default_route_settings: Option<RouteSettings>,
    pub route_settings: Option<BTreeMap<String, RouteSettings>>,
    pub stage_variables: Option<StringMap>,
    pub tags: Option<StringMap>,
    pub description: Option<String>,
    pub access_log_settings: Option<serde_json::Value>,
    pub client_certificate_id: Option<String>,
}

/// `$default`, or 1-128 of `a-zA-Z0-9-_`.
fn check_name(name: &str) -> Result<(), ModelError> {
    if name == "$default" {
        return Ok(());
    }
    crate::validate::stage_name(name)
}

fn check_variables(variables: &StringMap) -> Result<(), ModelError> {
    for (name, value) in variables {
        if name.is_empty()
            || name.len() > 64
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(ModelError::invalid(format!(
                "Stage variable name {name} must match [A-Za-z0-9_]{{1,64}}"
            )));
        }
        if value.len() > 2048 {
            return Err(ModelError::invalid(format!(
                "Stage variable value of {name} is longer than 2048 characters"
            )));
        }
    }
    Ok(())
}

impl Stage {
    pub fn create(input: &StageInput, now: String) -> Result<Self, ModelError> {
        let name = crate::validate::required("stageName", input.stage_name.clone())?;
        check_name(&name)?;
        let stage = Self {
            stage_name: name,
            deployment_id: input.deployment_id.clone(),
            auto_deploy: input.auto_deploy.unwrap_or(false),
            created_date: now.clone(),
            last_updated_date: now,
            default_route_settings: RouteSettings {
                detailed_metrics_enabled: Some(false),
                ..Default::default()
            }
            .merged(&input.default_route_settings.clone().unwrap_or_default()),
            route_settings: input.route_settings.clone().unwrap_or_default(),
            stage_variables: input.stage_variables.clone().unwrap_or_default(),
            tags: input.tags.clone().unwrap_or_default(),
            description: input.description.clone(),
            access_log_settings: input.access_log_settings.clone(),
            last_deployment_status_message: None,
            api_gateway_managed: None,
        };
        stage.check()?;
        Ok(stage)
    }

    /// `UpdateStage`: route settings merge per route key, stage variables per name (an empty
    /// value removes one, as on AWS).
    pub fn updated(&self, input: &StageInput, now: String) -> Result<Self, ModelError> {
        let mut next = self.clone();
        if let Some(v) = input.auto_deploy {
            next.auto_deploy = v;
        }
        merge(&mut next.deployment_id, &input.deployment_id);
        merge(&mut next.description, &input.description);
        merge(&mut next.access_log_settings, &input.access_log_settings);
        if let Some(settings) = &input.default_route_settings {
            next.default_route_settings = next.default_route_settings.merged(settings);
        }
        for (key, settings) in input.route_settings.iter().flatten() {
            let merged = next
                .route_settings
                .get(key)
                .map_or_else(|| settings.clone(), |s| s.merged(settings));
            next.route_settings.insert(key.clone(), merged);
        }
        for (name, value) in input.stage_variables.iter().flatten() {
            if value.is_empty() {
                next.stage_variables.remove(name);
            } else {
                next.stage_variables.insert(name.clone(), value.clone());
            }
        }
        next.last_updated_date = now;
        next.check()?;
        Ok(next)
    }

    fn check(&self) -> Result<(), ModelError> {
        check_variables(&self.stage_variables)?;
        crate::validate::tags(&self.tags)?;
        self.default_route_settings.check()?;
        for (key, settings) in &self.route_settings {
            // HTTP routes (`GET /pets`) and WebSocket routes (`sendmessage`) alike.
            if key.is_empty() || key.len() > 128 {
                return Err(ModelError::invalid(format!(
                    "Invalid route key {key:?} in RouteSettings: it must be 1-128 characters"
                )));
            }
            settings.check()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> StageInput {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn stages_default_and_merge_like_aws() {
        let stage = Stage::create(
            &input(r#"{"stageName": "$default", "autoDeploy": true, "stageVariables": {"a": "1", "b": "2"}}"#),
            "t0".into(),
        )
        .unwrap();
        let wire = serde_json::to_value(&stage).unwrap();
        assert_eq!(
            wire["defaultRouteSettings"]["detailedMetricsEnabled"],
            false
        );
        assert_eq!(wire["routeSettings"], serde_json::json!({}));
        let next = stage
            .updated(
                &input(r#"{"stageVariables": {"a": "", "c": "3"}, "routeSettings": {"GET /x": {"throttlingBurstLimit": 1}}}"#),
                "t1".into(),
            )
            .unwrap();
        assert_eq!(next.stage_variables.keys().collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(
            next.route_settings["GET /x"].throttling_burst_limit,
            Some(1)
        );
        assert_eq!(next.last_updated_date, "t1");
    }

    #[test]
    fn bad_stages_are_refused() {
        assert!(Stage::create(&input(r#"{"stageName": "a b"}"#), "t".into()).is_err());
        assert!(
            Stage::create(
                &input(r#"{"stageName": "s", "stageVariables": {"a-b": "1"}}"#),
                "t".into()
            )
            .is_err()
        );
        assert!(
            Stage::create(
                &input(r#"{"stageName": "s", "routeSettings": {"": {}}}"#),
                "t".into()
            )
            .is_err()
        );
    }
}
