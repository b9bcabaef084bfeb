//! `ApiKey`: a key that callers send in `x-api-key`, account-wide.

use serde::{Deserialize, Serialize};

use super::StringMap;
use crate::patch::{PatchOp, PatchOperation, PatchRules, PatchStyle, apply_all};
use crate::{ModelError, validate};

/// Shortest value AWS accepts for a key supplied by the caller.
pub const MIN_VALUE_LEN: usize = 20;
const GENERATED_VALUE_LEN: usize = 40;

const RULES: PatchRules = PatchRules {
    style: PatchStyle::Listed,
    paths: &[
        ("/name", &[PatchOp::Replace]),
        ("/description", &[PatchOp::Replace]),
        ("/enabled", &[PatchOp::Replace]),
        ("/customerId", &[PatchOp::Replace]),
        ("/stages", &[PatchOp::Add, PatchOp::Remove]),
    ],
};

/// `ApiKey`. `stageKeys` are `{restApiId}/{stageName}` strings, as AWS returns them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub enabled: bool,
    pub created_date: i64,
    pub last_updated_date: i64,
    #[serde(default)]
    pub stage_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<StringMap>,
}

/// `StageKey` of `CreateApiKey`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageKey {
    pub rest_api_id: Option<String>,
    pub stage_name: Option<String>,
}

/// The body of `CreateApiKey`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateApiKey {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub generate_distinct_id: Option<bool>,
    pub value: Option<String>,
    pub stage_keys: Option<Vec<StageKey>>,
    pub customer_id: Option<String>,
    pub tags: Option<StringMap>,
}

/// A key value as AWS generates them: 40 letters and digits.
pub fn generate_value() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..GENERATED_VALUE_LEN)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

impl ApiKey {
    pub fn create(id: String, input: CreateApiKey, now: i64) -> Result<Self, ModelError> {
        let value = match input.value {
            Some(v) => {
                check_value(&v)?;
                v
            }
            None => generate_value(),
        };
        if let Some(name) = &input.name {
            validate::name("name", name)?;
        }
        if let Some(tags) = &input.tags {
            validate::tags(tags)?;
        }
        let mut stage_keys = Vec::new();
        for key in input.stage_keys.unwrap_or_default() {
            let (Some(api), Some(stage)) = (key.rest_api_id, key.stage_name) else {
                return Err(ModelError::invalid(
                    "Invalid stage key: restApiId and stageName are required",
                ));
            };
            let key = format!("{api}/{stage}");
            if !stage_keys.contains(&key) {
                stage_keys.push(key);
            }
        }
        Ok(Self {
            id,
            value,
            name: input.name,
            customer_id: input.customer_id,
            description: input.description,
            enabled: input.enabled.unwrap_or(false),
            created_date: now,
            last_updated_date: now,
            stage_keys,
            tags: input.tags,
        })
    }

    /// `UpdateApiKey`.
    pub fn patched(&self, ops: &[PatchOperation], now: i64) -> Result<Self, ModelError> {
        let mut key = apply_all(self, ops, |k, op, path| {
            match (op.op, path) {
                (PatchOp::Replace, [p]) if p == "name" => {
                    let name = op.value()?.to_string();
                    validate::name("name", &name)?;
                    k.name = Some(name);
                }
                (PatchOp::Replace, [p]) if p == "description" => {
                    k.description = op.optional_value()
                }
                (PatchOp::Replace, [p]) if p == "customerId" => k.customer_id = op.optional_value(),
                (PatchOp::Replace, [p]) if p == "enabled" => k.enabled = op.bool_value()?,
                (PatchOp::Add | PatchOp::Remove, [p]) if p == "stages" => {
                    let stage_key = op.value()?;
                    if !stage_key.contains('/') {
                        return Err(ModelError::invalid(format!(
                            "Invalid stage key '{stage_key}': expected restApiId/stageName"
                        )));
                    }
                    let mut keys = Some(std::mem::take(&mut k.stage_keys));
                    op.apply_to_list(&mut keys, None)?;
                    k.stage_keys = keys.unwrap_or_default();
                }
                _ => return Err(RULES.reject(op)),
            }
            Ok(())
        })?;
        key.last_updated_date = now;
        Ok(key)
    }

    /// The key as GetApiKey(s) show it: the value only when asked for.
    pub fn shown(&self, include_value: bool) -> serde_json::Value {
        let mut json = serde_json::to_value(self).unwrap_or_default();
        if !include_value && let Some(map) = json.as_object_mut() {
            map.remove("value");
        }
        json
    }
}

pub fn check_value(value: &str) -> Result<(), ModelError> {
    if value.len() < MIN_VALUE_LEN || value.len() > 128 {
        return Err(ModelError::invalid(
            "API Key value should be at least 20 characters",
        ));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ModelError::invalid(
            "API Key value contains invalid characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::RawPatchOperation;

    fn op(op: &str, path: &str, value: Option<&str>) -> Vec<PatchOperation> {
        RawPatchOperation::parse_all(vec![RawPatchOperation {
            op: op.into(),
            path: path.into(),
            value: value.map(String::from),
            from: None,
        }])
        .unwrap_or_default()
    }

    #[test]
    fn generated_values_are_forty_characters_and_short_values_are_refused() {
        let key = ApiKey::create("k".into(), CreateApiKey::default(), 1)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(key.value.len(), 40);
        assert!(!key.enabled);
        let short = CreateApiKey {
            value: Some("too-short".into()),
            ..Default::default()
        };
        assert!(ApiKey::create("k".into(), short, 1).is_err());
    }

    #[test]
    fn stages_are_added_and_removed_by_value() {
        let key = ApiKey::create("k".into(), CreateApiKey::default(), 1)
            .unwrap_or_else(|e| panic!("{e}"));
        let key = key
            .patched(&op("add", "/stages", Some("abc/dev")), 2)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(key.stage_keys, vec!["abc/dev"]);
        let key = key
            .patched(&op("remove", "/stages", Some("abc/dev")), 3)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(key.stage_keys.is_empty());
        assert!(key.patched(&op("replace", "/value", Some("x")), 4).is_err());
        assert!(
            !key.shown(false)
                .as_object()
                .is_some_and(|m| m.contains_key("value"))
        );
    }
}
