use serde::{Deserialize, Serialize};

use super::StringMap;
use crate::ModelError;
use crate::patch::{PatchOp, PatchOperation, PatchRules, PatchStyle, apply_all};
use crate::validate;

const RULES: PatchRules = PatchRules {
    style: PatchStyle::Terse,
    paths: &[
        ("/statusCode", &[PatchOp::Replace]),
        (
            "/responseParameters/*",
            &[PatchOp::Add, PatchOp::Remove, PatchOp::Replace],
        ),
        (
            "/responseTemplates/*",
            &[PatchOp::Add, PatchOp::Remove, PatchOp::Replace],
        ),
    ],
};

/// Every gateway response type with the status AWS gives it by default (`DEFAULT_4XX` and
/// `DEFAULT_5XX` have none: they stand for their whole class).
pub const RESPONSE_TYPES: &[(&str, Option<&str>)] = &[
    ("DEFAULT_4XX", None),
    ("DEFAULT_5XX", None),
    ("RESOURCE_NOT_FOUND", Some("404")),
    ("UNAUTHORIZED", Some("401")),
    ("INVALID_API_KEY", Some("403")),
    ("ACCESS_DENIED", Some("403")),
    ("AUTHORIZER_FAILURE", Some("500")),
    ("AUTHORIZER_CONFIGURATION_ERROR", Some("500")),
    ("INVALID_SIGNATURE", Some("403")),
    ("EXPIRED_TOKEN", Some("403")),
    ("MISSING_AUTHENTICATION_TOKEN", Some("403")),
    ("INTEGRATION_FAILURE", Some("504")),
    ("INTEGRATION_TIMEOUT", Some("504")),
    ("API_CONFIGURATION_ERROR", Some("500")),
    ("UNSUPPORTED_MEDIA_TYPE", Some("415")),
    ("BAD_REQUEST_PARAMETERS", Some("400")),
    ("BAD_REQUEST_BODY", Some("400")),
    ("REQUEST_TOO_LARGE", Some("413")),
    ("THROTTLED", Some("429")),
    ("QUOTA_EXCEEDED", Some("429")),
    ("WAF_FILTERED", Some("403")),
];

/// The body every default gateway response renders.
pub const DEFAULT_TEMPLATE: &str = "{\"message\":$context.error.messageString}";

/// `GatewayResponse`: how the gateway answers an error of one type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayResponse {
    pub response_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    #[serde(default)]
    pub response_parameters: StringMap,
    #[serde(default)]
    pub response_templates: StringMap,
    pub default_response: bool,
}

/// The body of `PutGatewayResponse`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutGatewayResponse {
    pub status_code: Option<String>,
    pub response_parameters: Option<StringMap>,
    pub response_templates: Option<StringMap>,
}

/// Checks a response type against the service model's enum.
pub fn check_response_type(response_type: &str) -> Result<(), ModelError> {
    let names: Vec<&str> = RESPONSE_TYPES.iter().map(|(n, _)| *n).collect();
    validate::one_of("responseType", response_type, &names)
}

impl GatewayResponse {
    /// What AWS shows for a type nobody has customized.
    pub fn default_for(response_type: &str) -> Option<Self> {
        let (name, status) = RESPONSE_TYPES.iter().find(|(n, _)| *n == response_type)?;
        Some(Self {
            response_type: name.to_string(),
            status_code: status.map(String::from),
            response_parameters: StringMap::new(),
            response_templates: [("application/json".to_string(), DEFAULT_TEMPLATE.to_string())]
                .into(),
            default_response: true,
        })
    }

    pub fn create(response_type: &str, input: PutGatewayResponse) -> Result<Self, ModelError> {
        check_response_type(response_type)?;
        if let Some(code) = &input.status_code {
            validate::status_code(code)?;
        }
        Ok(Self {
            response_type: response_type.to_string(),
            status_code: input.status_code,
            response_parameters: input.response_parameters.unwrap_or_default(),
            response_templates: input.response_templates.unwrap_or_default(),
            default_response: false,
        })
    }

    /// `UpdateGatewayResponse`.
    pub fn patched(&self, ops: &[PatchOperation]) -> Result<Self, ModelError> {
        let mut patched = apply_all(self, ops, |g, op, path| {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            match (op.op, path.as_slice()) {
                (PatchOp::Replace, ["statusCode"]) => {
                    let code = op.value()?;
                    validate::status_code(code)?;
                    g.status_code = Some(code.to_string());
                }
                (PatchOp::Add | PatchOp::Replace | PatchOp::Remove, ["responseParameters", k]) => {
                    let mut map = Some(std::mem::take(&mut g.response_parameters));
                    op.apply_to_map(&mut map, k)?;
                    g.response_parameters = map.unwrap_or_default();
                }
                (PatchOp::Add | PatchOp::Replace | PatchOp::Remove, ["responseTemplates", ct]) => {
                    let mut map = Some(std::mem::take(&mut g.response_templates));
                    op.apply_to_map(&mut map, ct)?;
                    g.response_templates = map.unwrap_or_default();
                }
                _ => return Err(RULES.reject(op)),
            }
            Ok(())
        })?;
        patched.default_response = false;
        Ok(patched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_carry_aws_status_and_template() {
        let d = GatewayResponse::default_for("MISSING_AUTHENTICATION_TOKEN").unwrap();
        assert_eq!(d.status_code.as_deref(), Some("403"));
        assert!(d.default_response);
        assert_eq!(d.response_templates["application/json"], DEFAULT_TEMPLATE);
        assert!(
            GatewayResponse::default_for("DEFAULT_4XX")
                .unwrap()
                .status_code
                .is_none()
        );
        assert!(GatewayResponse::default_for("NOPE").is_none());
    }

    #[test]
    fn unknown_types_are_a_validation_error() {
        assert!(matches!(
            check_response_type("NOPE"),
            Err(ModelError::Validation(_))
        ));
    }
}
