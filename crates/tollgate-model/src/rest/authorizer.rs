//! `Authorizer`: a Lambda (`TOKEN`, `REQUEST`) or Cognito user pool authorizer of a REST API.

use serde::{Deserialize, Serialize};

use crate::patch::{PatchOp, PatchOperation, PatchRules, PatchStyle, apply_all};
use crate::{ModelError, validate};

pub const AUTHORIZER_TYPES: &[&str] = &["TOKEN", "REQUEST", "COGNITO_USER_POOLS"];
/// How long results are cached when `authorizerResultTtlInSeconds` is not given.
pub const DEFAULT_TTL_SECONDS: i64 = 300;
pub const MAX_TTL_SECONDS: i64 = 3600;

const RULES: PatchRules = PatchRules {
    style: PatchStyle::Listed,
    paths: &[
        ("/name", &[PatchOp::Replace]),
        ("/type", &[PatchOp::Replace]),
        ("/authType", &[PatchOp::Replace]),
        ("/authorizerUri", &[PatchOp::Replace]),
        ("/authorizerCredentials", &[PatchOp::Replace]),
        ("/identitySource", &[PatchOp::Replace]),
        ("/identityValidationExpression", &[PatchOp::Replace]),
        ("/authorizerResultTtlInSeconds", &[PatchOp::Replace]),
        (
            "/providerARNs",
            &[PatchOp::Add, PatchOp::Remove, PatchOp::Replace],
        ),
    ],
};

/// `Authorizer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorizer {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub authorizer_type: String,
    #[serde(
        rename = "providerARNs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub provider_arns: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_credentials: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_validation_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_result_ttl_in_seconds: Option<i64>,
}

/// The body of `CreateAuthorizer`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateAuthorizer {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub authorizer_type: Option<String>,
    #[serde(rename = "providerARNs")]
    pub provider_arns: Option<Vec<String>>,
    pub auth_type: Option<String>,
    pub authorizer_uri: Option<String>,
    pub authorizer_credentials: Option<String>,
    pub identity_source: Option<String>,
    pub identity_validation_expression: Option<String>,
    pub authorizer_result_ttl_in_seconds: Option<i64>,
}

impl Authorizer {
    pub fn create(id: String, input: CreateAuthorizer) -> Result<Self, ModelError> {
        let name = validate::required("name", input.name)?;
        let authorizer_type = validate::required("type", input.authorizer_type)?;
        let authorizer = Self {
            id,
            name,
            authorizer_type,
            provider_arns: input.provider_arns,
            auth_type: input.auth_type,
            authorizer_uri: input.authorizer_uri,
            authorizer_credentials: input.authorizer_credentials,
            identity_source: input.identity_source,
            identity_validation_expression: input.identity_validation_expression,
            authorizer_result_ttl_in_seconds: Some(
                input
                    .authorizer_result_ttl_in_seconds
                    .unwrap_or(DEFAULT_TTL_SECONDS),
            ),
        };
        authorizer.check()?;
        Ok(authorizer)
    }

    /// What AWS checks of an authorizer, on create and after every update.
    fn check(&self) -> Result<(), ModelError> {
        validate::name("name", &self.name)?;
        validate::one_of("type", &self.authorizer_type, AUTHORIZER_TYPES)?;
        let ttl = self.ttl_seconds();
        if !(0..=MAX_TTL_SECONDS).contains(&ttl) {
            return Err(ModelError::invalid(format!(
                "Invalid authorizer result TTL: {ttl}. Must be between 0 and {MAX_TTL_SECONDS}"
            )));
        }
        match self.authorizer_type.as_str() {
            "COGNITO_USER_POOLS" => {
                if self.provider_arns.as_ref().is_none_or(Vec::is_empty) {
                    return Err(ModelError::invalid(
                        "ProviderARNs need to be specified for COGNITO_USER_POOLS authorizers",
                    ));
                }
                self.header_identity_source()?;
            }
            kind => {
                if self.authorizer_uri.as_deref().is_none_or(str::is_empty) {
                    return Err(ModelError::invalid(
                        "Authorizer URI is required for custom authorizers",
                    ));
                }
                if kind == "TOKEN" {
                    self.header_identity_source()?;
                } else if ttl > 0 && self.identity_source.as_deref().is_none_or(str::is_empty) {
                    return Err(ModelError::invalid(
                        "Identity source is required for REQUEST authorizers when caching is enabled",
                    ));
                }
                for source in self.identity_sources() {
                    if !is_identity_source(source) {
                        return Err(ModelError::invalid(format!(
                            "Invalid identity source: {source}"
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// `TOKEN` and Cognito authorizers read one header: `method.request.header.{name}`.
    fn header_identity_source(&self) -> Result<(), ModelError> {
        let source = self.identity_source.as_deref().unwrap_or("");
        match source.strip_prefix("method.request.header.") {
            Some(name) if !name.is_empty() && !name.contains(',') => Ok(()),
            _ => Err(ModelError::invalid(format!(
                "Invalid identity source: '{source}'. Identity source must be a header: method.request.header.{{name}}"
            ))),
        }
    }

    pub fn ttl_seconds(&self) -> i64 {
        self.authorizer_result_ttl_in_seconds
            .unwrap_or(DEFAULT_TTL_SECONDS)
    }

    /// The comma-separated identity sources, trimmed.
    pub fn identity_sources(&self) -> impl Iterator<Item = &str> {
        self.identity_source
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// `UpdateAuthorizer`.
    pub fn patched(&self, ops: &[PatchOperation]) -> Result<Self, ModelError> {
        let authorizer = apply_all(self, ops, |a, op, path| {
            let segments: Vec<&str> = path.iter().map(String::as_str).collect();
            match (op.op, segments.as_slice()) {
                (PatchOp::Replace, ["name"]) => a.name = op.value()?.to_string(),
                (PatchOp::Replace, ["type"]) => a.authorizer_type = op.value()?.to_string(),
                (PatchOp::Replace, ["authType"]) => a.auth_type = op.optional_value(),
                (PatchOp::Replace, ["authorizerUri"]) => a.authorizer_uri = op.optional_value(),
                (PatchOp::Replace, ["authorizerCredentials"]) => {
                    a.authorizer_credentials = op.optional_value()
                }
                (PatchOp::Replace, ["identitySource"]) => a.identity_source = op.optional_value(),
                (PatchOp::Replace, ["identityValidationExpression"]) => {
                    a.identity_validation_expression = op.optional_value()
                }
                (PatchOp::Replace, ["authorizerResultTtlInSeconds"]) => {
                    a.authorizer_result_ttl_in_seconds = Some(op.int_value()?)
                }
                (_, ["providerARNs", rest @ ..]) => {
                    op.apply_to_list(&mut a.provider_arns, rest.first().copied())?
                }
                _ => return Err(RULES.reject(op)),
            }
            Ok(())
        })?;
        authorizer.check()?;
        Ok(authorizer)
    }
}

/// `method.request.{header|querystring|path}.{name}`, `stageVariables.{name}` or
/// `context.{name}`.
fn is_identity_source(source: &str) -> bool {
    let rest = [
        "method.request.header.",
        "method.request.querystring.",
        "method.request.path.",
        "stageVariables.",
        "context.",
    ]
    .iter()
    .find_map(|prefix| source.strip_prefix(prefix));
    rest.is_some_and(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(json: &str) -> Result<Authorizer, ModelError> {
        Authorizer::create(
            "a".into(),
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}")),
        )
    }

    #[test]
    fn token_authorizers_need_a_header_source_and_a_uri() {
        let ok = create(r#"{"name":"t","type":"TOKEN","authorizerUri":"arn:x","identitySource":"method.request.header.Authorization"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.ttl_seconds(), 300);
        assert!(create(r#"{"name":"t","type":"TOKEN","authorizerUri":"arn:x","identitySource":"method.request.querystring.t"}"#).is_err());
        assert!(
            create(r#"{"name":"t","type":"TOKEN","identitySource":"method.request.header.A"}"#)
                .is_err()
        );
        assert!(create(r#"{"name":"t","type":"NOPE","authorizerUri":"arn:x"}"#).is_err());
    }

    #[test]
    fn request_authorizers_take_several_sources_and_cognito_needs_pools() {
        let a = create(r#"{"name":"r","type":"REQUEST","authorizerUri":"arn:x","identitySource":"method.request.header.A, method.request.querystring.q"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.identity_sources().count(), 2);
        assert!(create(r#"{"name":"r","type":"REQUEST","authorizerUri":"arn:x"}"#).is_err());
        assert!(create(r#"{"name":"r","type":"REQUEST","authorizerUri":"arn:x","authorizerResultTtlInSeconds":0}"#).is_ok());
        assert!(create(r#"{"name":"c","type":"COGNITO_USER_POOLS","identitySource":"method.request.header.Authorization"}"#).is_err());
    }
}
