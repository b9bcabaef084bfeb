use serde::{Deserialize, Serialize};

use super::StringMap;
use crate::ModelError;
use crate::patch::{PatchOp, PatchOperation, PatchRules, PatchStyle, apply_all};
use crate::validate;

const RULES: PatchRules = PatchRules {
    style: PatchStyle::Listed,
    paths: &[
        ("/name", &[PatchOp::Replace]),
        ("/description", &[PatchOp::Replace]),
        ("/version", &[PatchOp::Replace]),
        ("/policy", &[PatchOp::Replace]),
        ("/apiKeySource", &[PatchOp::Replace]),
        ("/minimumCompressionSize", &[PatchOp::Replace]),
        ("/disableExecuteApiEndpoint", &[PatchOp::Replace]),
        (
            "/binaryMediaTypes/*",
            &[PatchOp::Add, PatchOp::Remove, PatchOp::Replace],
        ),
        ("/endpointConfiguration/types/*", &[PatchOp::Replace]),
        ("/endpointConfiguration/ipAddressType", &[PatchOp::Replace]),
        (
            "/endpointConfiguration/vpcEndpointIds",
            &[PatchOp::Add, PatchOp::Remove],
        ),
    ],
};

/// `EndpointConfiguration`: how the API is reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_ids: Option<Vec<String>>,
}

impl Default for EndpointConfiguration {
    fn default() -> Self {
        Self {
            types: Some(vec!["EDGE".into()]),
            ip_address_type: Some("ipv4".into()),
            vpc_endpoint_ids: None,
        }
    }
}

const ENDPOINT_TYPES: &[&str] = &["EDGE", "REGIONAL", "PRIVATE"];
const API_KEY_SOURCES: &[&str] = &["HEADER", "AUTHORIZER"];
const IP_ADDRESS_TYPES: &[&str] = &["ipv4", "dualstack"];

impl EndpointConfiguration {
    /// Fills AWS's defaults and checks the values: exactly one endpoint type.
    pub fn normalized(mut self) -> Result<Self, ModelError> {
        let types = self.types.take().unwrap_or_else(|| vec!["EDGE".into()]);
        if types.len() != 1 {
            return Err(ModelError::invalid(
                "Cannot create an api with multiple Endpoint Types.",
            ));
        }
        validate::one_of("endpointConfiguration.types", &types[0], ENDPOINT_TYPES)?;
        self.types = Some(types);
        let ip = self.ip_address_type.take().unwrap_or_else(|| "ipv4".into());
        validate::one_of("endpointConfiguration.ipAddressType", &ip, IP_ADDRESS_TYPES)?;
        self.ip_address_type = Some(ip);
        Ok(self)
    }
}

/// `RestApi`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestApi {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_date: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_media_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_compression_size: Option<i64>,
    pub api_key_source: String,
    pub endpoint_configuration: EndpointConfiguration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<StringMap>,
    pub disable_execute_api_endpoint: bool,
    pub root_resource_id: String,
}

/// The body of `CreateRestApi`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRestApi {
    #[serde(default)]
    pub name: Option<String>,
    pub description: Option<String>,
    pub version: Option<String>,
    pub clone_from: Option<String>,
    pub binary_media_types: Option<Vec<String>>,
    pub minimum_compression_size: Option<i64>,
    pub api_key_source: Option<String>,
    pub endpoint_configuration: Option<EndpointConfiguration>,
    pub policy: Option<String>,
    pub tags: Option<StringMap>,
    pub disable_execute_api_endpoint: Option<bool>,
}

impl RestApi {
    /// A new API from a `CreateRestApi` body, with AWS's defaults filled in.
    pub fn create(
        input: CreateRestApi,
        id: String,
        root_resource_id: String,
        now: i64,
    ) -> Result<Self, ModelError> {
        let name = validate::required("name", input.name)?;
        validate::name("name", &name)?;
        if input.description.as_deref() == Some("") {
            return Err(ModelError::invalid("Description cannot be an empty string"));
        }
        let api_key_source = input.api_key_source.unwrap_or_else(|| "HEADER".into());
        validate::one_of("apiKeySource", &api_key_source, API_KEY_SOURCES)?;
        if let Some(size) = input.minimum_compression_size {
            validate::compression_size(size)?;
        }
        let api = Self {
            id,
            name,
            description: input.description,
            created_date: now,
            version: input.version,
            warnings: None,
            binary_media_types: input.binary_media_types.filter(|t| !t.is_empty()),
            minimum_compression_size: input.minimum_compression_size,
            api_key_source,
            endpoint_configuration: input
                .endpoint_configuration
                .unwrap_or_default()
                .normalized()?,
            policy: input.policy,
            tags: input.tags.filter(|t| !t.is_empty()),
            disable_execute_api_endpoint: input.disable_execute_api_endpoint.unwrap_or(false),
            root_resource_id,
        };
        if let Some(tags) = &api.tags {
            validate::tags(tags)?;
        }
        Ok(api)
    }

    /// `UpdateRestApi`: the patch paths AWS documents for a RestApi.
    pub fn patched(&self, ops: &[PatchOperation]) -> Result<Self, ModelError> {
        apply_all(self, ops, |api, op, path| {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            match (op.op, path.as_slice()) {
                (PatchOp::Replace, ["name"]) => {
                    let name = op.value()?.to_string();
                    validate::name("name", &name)?;
                    api.name = name;
                }
                (PatchOp::Replace, ["description"]) => api.description = op.optional_value(),
                (PatchOp::Replace, ["version"]) => api.version = op.optional_value(),
                (PatchOp::Replace, ["policy"]) => api.policy = op.optional_value(),
                (PatchOp::Replace, ["apiKeySource"]) => {
                    let v = op.value()?;
                    validate::one_of("apiKeySource", v, API_KEY_SOURCES)?;
                    api.api_key_source = v.to_string();
                }
                (PatchOp::Replace, ["minimumCompressionSize"]) => {
                    api.minimum_compression_size = match op.optional_value() {
                        None => None,
                        Some(_) => {
                            let size = op.int_value()?;
                            validate::compression_size(size)?;
                            Some(size)
                        }
                    }
                }
                (PatchOp::Replace, ["disableExecuteApiEndpoint"]) => {
                    api.disable_execute_api_endpoint = op.bool_value()?
                }
                (
                    PatchOp::Add | PatchOp::Remove | PatchOp::Replace,
                    ["binaryMediaTypes", member],
                ) => {
                    op.apply_to_list(&mut api.binary_media_types, Some(member))?;
                    if api.binary_media_types.as_ref().is_some_and(Vec::is_empty) {
                        api.binary_media_types = None;
                    }
                }
                (PatchOp::Replace, ["endpointConfiguration", "types", _]) => {
                    let v = op.value()?;
                    validate::one_of("endpointConfiguration.types", v, ENDPOINT_TYPES)?;
                    api.endpoint_configuration.types = Some(vec![v.to_string()]);
                }
                (PatchOp::Replace, ["endpointConfiguration", "ipAddressType"]) => {
                    let v = op.value()?;
                    validate::one_of("endpointConfiguration.ipAddressType", v, IP_ADDRESS_TYPES)?;
                    api.endpoint_configuration.ip_address_type = Some(v.to_string());
                }
                (PatchOp::Add | PatchOp::Remove, ["endpointConfiguration", "vpcEndpointIds"]) => {
                    op.apply_to_list(&mut api.endpoint_configuration.vpc_endpoint_ids, None)?;
                }
                _ => return Err(RULES.reject(op)),
            }
            Ok(())
        })
    }
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

    fn api() -> RestApi {
        let input = CreateRestApi {
            name: Some("pets".into()),
            ..Default::default()
        };
        RestApi::create(input, "a1b2c3d4e5".into(), "r1".into(), 1).unwrap()
    }

    #[test]
    fn create_fills_aws_defaults() {
        let json = serde_json::to_value(api()).unwrap();
        assert_eq!(json["apiKeySource"], "HEADER");
        assert_eq!(json["endpointConfiguration"]["types"][0], "EDGE");
        assert_eq!(json["disableExecuteApiEndpoint"], false);
        assert!(json.get("description").is_none());
    }

    #[test]
    fn create_needs_a_name() {
        assert!(RestApi::create(CreateRestApi::default(), "x".into(), "y".into(), 1).is_err());
    }

    #[test]
    fn patch_changes_the_supported_paths() {
        let patched = api()
            .patched(&[
                op(PatchOp::Replace, "/name", "cats"),
                op(PatchOp::Add, "/binaryMediaTypes/image~1png", ""),
                op(
                    PatchOp::Replace,
                    "/endpointConfiguration/types/EDGE",
                    "REGIONAL",
                ),
            ])
            .unwrap();
        assert_eq!(patched.name, "cats");
        assert_eq!(
            patched.binary_media_types,
            Some(vec!["image/png".to_string()])
        );
        assert_eq!(
            patched.endpoint_configuration.types,
            Some(vec!["REGIONAL".to_string()])
        );
    }

    #[test]
    fn patch_refuses_unknown_paths_and_bad_values() {
        assert!(api().patched(&[op(PatchOp::Replace, "/id", "x")]).is_err());
        assert!(
            api()
                .patched(&[op(PatchOp::Replace, "/apiKeySource", "BODY")])
                .is_err()
        );
        assert!(api().patched(&[op(PatchOp::Move, "/name", "x")]).is_err());
    }
}
