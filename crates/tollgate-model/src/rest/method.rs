use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{BoolMap, Integration, StringMap};
use crate::ModelError;
use crate::patch::{PatchOp, PatchOperation, PatchRules, PatchStyle, apply_all};
use crate::validate;

const RESPONSE_RULES: PatchRules = PatchRules {
    style: PatchStyle::Terse,
    paths: &[
        (
            "/responseParameters/*",
            &[PatchOp::Add, PatchOp::Remove, PatchOp::Replace],
        ),
        (
            "/responseModels/*",
            &[PatchOp::Add, PatchOp::Remove, PatchOp::Replace],
        ),
    ],
};

const RULES: PatchRules = PatchRules {
    style: PatchStyle::Terse,
    paths: &[
        ("/authorizationType", &[PatchOp::Replace]),
        ("/authorizerId", &[PatchOp::Replace]),
        ("/apiKeyRequired", &[PatchOp::Replace]),
        ("/requestValidatorId", &[PatchOp::Replace]),
        ("/operationName", &[PatchOp::Replace]),
        (
            "/requestParameters/*",
            &[PatchOp::Add, PatchOp::Remove, PatchOp::Replace],
        ),
        (
            "/requestModels/*",
            &[PatchOp::Add, PatchOp::Remove, PatchOp::Replace],
        ),
        ("/authorizationScopes", &[PatchOp::Add, PatchOp::Remove]),
    ],
};

const AUTHORIZATION_TYPES: &[&str] = &["NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS"];

/// `Method`: a method of a resource, with its responses and integration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Method {
    pub http_method: String,
    pub authorization_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_id: Option<String>,
    pub api_key_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_validator_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<BoolMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_models: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method_responses: Option<BTreeMap<String, MethodResponse>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method_integration: Option<Integration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_scopes: Option<Vec<String>>,
}

/// The body of `PutMethod`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutMethod {
    pub authorization_type: Option<String>,
    pub authorizer_id: Option<String>,
    pub api_key_required: Option<bool>,
    pub operation_name: Option<String>,
    pub request_parameters: Option<BoolMap>,
    pub request_models: Option<StringMap>,
    pub request_validator_id: Option<String>,
    pub authorization_scopes: Option<Vec<String>>,
}

impl Method {
    pub fn create(http_method: String, input: PutMethod) -> Result<Self, ModelError> {
        let authorization_type = validate::required("authorizationType", input.authorization_type)?;
        validate::one_of(
            "authorizationType",
            &authorization_type,
            AUTHORIZATION_TYPES,
        )?;
        check_authorizer(&authorization_type, input.authorizer_id.as_deref())?;
        if let Some(params) = &input.request_parameters {
            params.keys().try_for_each(|k| request_parameter_name(k))?;
        }
        Ok(Self {
            http_method,
            authorization_type,
            authorizer_id: input.authorizer_id,
            api_key_required: input.api_key_required.unwrap_or(false),
            request_validator_id: input.request_validator_id,
            operation_name: input.operation_name,
            request_parameters: input.request_parameters.filter(|m| !m.is_empty()),
            request_models: input.request_models.filter(|m| !m.is_empty()),
            method_responses: None,
            method_integration: None,
            authorization_scopes: input.authorization_scopes.filter(|s| !s.is_empty()),
        })
    }

    /// `UpdateMethod`.
    pub fn patched(&self, ops: &[PatchOperation]) -> Result<Self, ModelError> {
        apply_all(self, ops, |m, op, path| {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            match (op.op, path.as_slice()) {
                (PatchOp::Replace, ["authorizationType"]) => {
                    let v = op.value()?;
                    validate::one_of("authorizationType", v, AUTHORIZATION_TYPES)?;
                    m.authorization_type = v.to_string();
                }
                (PatchOp::Replace, ["authorizerId"]) => m.authorizer_id = op.optional_value(),
                (PatchOp::Replace, ["apiKeyRequired"]) => m.api_key_required = op.bool_value()?,
                (PatchOp::Replace, ["requestValidatorId"]) => {
                    m.request_validator_id = op.optional_value()
                }
                (PatchOp::Replace, ["operationName"]) => m.operation_name = op.optional_value(),
                (
                    PatchOp::Add | PatchOp::Replace | PatchOp::Remove,
                    ["requestParameters", name],
                ) => {
                    request_parameter_name(name)?;
                    op.apply_to_bool_map(&mut m.request_parameters, name)?;
                }
                (PatchOp::Add | PatchOp::Replace | PatchOp::Remove, ["requestModels", ct]) => {
                    op.apply_to_map(&mut m.request_models, ct)?;
                }
                (PatchOp::Add | PatchOp::Remove, ["authorizationScopes"]) => {
                    op.apply_to_list(&mut m.authorization_scopes, None)?;
                }
                _ => return Err(RULES.reject(op)),
            }
            Ok(())
        })
        .and_then(|m| {
            check_authorizer(&m.authorization_type, m.authorizer_id.as_deref())?;
            Ok(m)
        })
        .map(|mut m| {
            m.request_parameters = m.request_parameters.filter(|p| !p.is_empty());
            m.request_models = m.request_models.filter(|p| !p.is_empty());
            m.authorization_scopes = m.authorization_scopes.filter(|p| !p.is_empty());
            m
        })
    }
}

/// `CUSTOM` and `COGNITO_USER_POOLS` methods need an authorizer.
fn check_authorizer(
    authorization_type: &str,
    authorizer_id: Option<&str>,
) -> Result<(), ModelError> {
    let needs_one = matches!(authorization_type, "CUSTOM" | "COGNITO_USER_POOLS");
    if needs_one && authorizer_id.is_none_or(str::is_empty) {
        return Err(ModelError::invalid(
            "Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer.",
        ));
    }
    Ok(())
}

/// `method.request.{querystring|header|path|multivaluequerystring|multivalueheader}.{name}`.
fn request_parameter_name(key: &str) -> Result<(), ModelError> {
    let valid = key
        .strip_prefix("method.request.")
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(location, name)| {
            matches!(
                location,
                "querystring" | "header" | "path" | "multivaluequerystring" | "multivalueheader"
            ) && !name.is_empty()
        });
    if valid {
        Ok(())
    } else {
        Err(ModelError::invalid(format!(
            "Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid method request parameter specified: {key}]"
        )))
    }
}

/// `MethodResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodResponse {
    pub status_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_parameters: Option<BoolMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_models: Option<StringMap>,
}

/// The body of `PutMethodResponse`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutMethodResponse {
    pub response_parameters: Option<BoolMap>,
    pub response_models: Option<StringMap>,
}

impl MethodResponse {
    pub fn create(status_code: String, input: PutMethodResponse) -> Result<Self, ModelError> {
        validate::status_code(&status_code)?;
        if let Some(params) = &input.response_parameters {
            params.keys().try_for_each(|k| response_parameter_name(k))?;
        }
        Ok(Self {
            status_code,
            response_parameters: input.response_parameters.filter(|m| !m.is_empty()),
            response_models: input.response_models.filter(|m| !m.is_empty()),
        })
    }

    /// `UpdateMethodResponse`.
    pub fn patched(&self, ops: &[PatchOperation]) -> Result<Self, ModelError> {
        apply_all(self, ops, |r, op, path| {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            match (op.op, path.as_slice()) {
                (
                    PatchOp::Add | PatchOp::Replace | PatchOp::Remove,
                    ["responseParameters", name],
                ) => {
                    response_parameter_name(name)?;
                    op.apply_to_bool_map(&mut r.response_parameters, name)?;
                }
                (PatchOp::Add | PatchOp::Replace | PatchOp::Remove, ["responseModels", ct]) => {
                    op.apply_to_map(&mut r.response_models, ct)?;
                }
                _ => return Err(RESPONSE_RULES.reject(op)),
            }
            Ok(())
        })
        .map(|mut r| {
            r.response_parameters = r.response_parameters.filter(|p| !p.is_empty());
            r.response_models = r.response_models.filter(|p| !p.is_empty());
            r
        })
    }
}

/// `method.response.header.{name}`.
fn response_parameter_name(key: &str) -> Result<(), ModelError> {
    match key.strip_prefix("method.response.header.") {
        Some(name) if !name.is_empty() => Ok(()),
        _ => Err(ModelError::invalid(format!(
            "Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid method response parameter specified: {key}]"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_needs_a_known_authorization_type() {
        let ok = PutMethod {
            authorization_type: Some("NONE".into()),
            ..Default::default()
        };
        assert!(Method::create("GET".into(), ok).is_ok());
        let bad = PutMethod {
            authorization_type: Some("MAGIC".into()),
            ..Default::default()
        };
        assert!(Method::create("GET".into(), bad).is_err());
        assert!(Method::create("GET".into(), PutMethod::default()).is_err());
    }

    #[test]
    fn request_parameters_must_name_a_location() {
        assert!(request_parameter_name("method.request.querystring.q").is_ok());
        assert!(request_parameter_name("method.request.body.q").is_err());
        assert!(request_parameter_name("q").is_err());
    }
}
