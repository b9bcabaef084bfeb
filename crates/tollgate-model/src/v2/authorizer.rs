use serde::{Deserialize, Serialize};

use super::merge;
use crate::ModelError;
use crate::validate::one_of;

/// `JWTConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JwtConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

/// `Authorizer` of an HTTP API: `JWT`, or `REQUEST` (a Lambda function).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorizer {
    pub authorizer_id: String,
    pub name: String,
    pub authorizer_type: String,
    #[serde(default)]
    pub identity_source: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_configuration: Option<JwtConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_payload_format_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_simple_responses: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_result_ttl_in_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_credentials_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_validation_expression: Option<String>,
}

/// The body of `CreateAuthorizer` and `UpdateAuthorizer`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerInput {
    pub name: Option<String>,
    pub authorizer_type: Option<String>,
    pub identity_source: Option<Vec<String>>,
    pub jwt_configuration: Option<JwtConfiguration>,
    pub authorizer_uri: Option<String>,
    pub authorizer_payload_format_version: Option<String>,
    pub enable_simple_responses: Option<bool>,
    pub authorizer_result_ttl_in_seconds: Option<i64>,
    pub authorizer_credentials_arn: Option<String>,
    pub identity_validation_expression: Option<String>,
}

/// An identity source of an HTTP API authorizer: `$request.header.X`,
/// `$request.querystring.X`, `$context.X` or `$stageVariables.X`.
pub fn check_identity_source(source: &str) -> Result<(), ModelError> {
    check_source_prefix(
        source,
        &[
            "$request.header.",
            "$request.querystring.",
            "$context.",
            "$stageVariables.",
        ],
    )
}

/// An identity source of a WebSocket API's authorizer: `route.request.header.X`,
/// `route.request.querystring.X`, `stageVariables.X` or `context.X`.
pub fn check_websocket_identity_source(source: &str) -> Result<(), ModelError> {
    check_source_prefix(
        source,
        &[
            "route.request.header.",
            "route.request.querystring.",
            "stageVariables.",
            "context.",
        ],
    )
}

/// `source` is one of `prefixes` followed by a name.
fn check_source_prefix(source: &str, prefixes: &[&str]) -> Result<(), ModelError> {
    if prefixes
        .iter()
        .any(|p| source.strip_prefix(p).is_some_and(|n| !n.is_empty()))
    {
        return Ok(());
    }
    let allowed: Vec<String> = prefixes.iter().map(|p| format!("{p}*")).collect();
    let (last, rest) = allowed.split_last().expect("prefixes are given");
    Err(ModelError::invalid(format!(
        "Invalid identity source {source}: must be {} or {last}",
        rest.join(", ")
    )))
}

/// A WebSocket API's authorizer: a `REQUEST` Lambda authorizer (IAM policy answers, no
/// payload format version), used on `$connect`.
fn check_websocket(authorizer: &Authorizer) -> Result<(), ModelError> {
    one_of("authorizerType", &authorizer.authorizer_type, &["REQUEST"])?;
    if authorizer.authorizer_uri.is_none() {
        return Err(ModelError::invalid(
            "AuthorizerUri is required for REQUEST authorizers",
        ));
    }
    if authorizer.enable_simple_responses == Some(true) {
        return Err(ModelError::invalid(
            "Simple responses are not supported for WEBSOCKET APIs",
        ));
    }
    let ttl = authorizer.authorizer_result_ttl_in_seconds.unwrap_or(0);
    if !(0..=3600).contains(&ttl) {
        return Err(ModelError::invalid(
            "AuthorizerResultTtlInSeconds must be between 0 and 3600",
        ));
    }
    for source in &authorizer.identity_source {
        check_websocket_identity_source(source)?;
    }
    Ok(())
}

impl Authorizer {
    /// `CreateAuthorizer` in an API of `protocol` (`HTTP` or `WEBSOCKET`).
    pub fn create_for(
        protocol: &str,
        input: &AuthorizerInput,
        authorizer_id: String,
    ) -> Result<Self, ModelError> {
        if protocol != "WEBSOCKET" {
            return Self::create(input, authorizer_id);
        }
        let authorizer = Self {
            authorizer_id,
            name: crate::validate::required("name", input.name.clone())?,
            authorizer_type: crate::validate::required(
                "authorizerType",
                input.authorizer_type.clone(),
            )?,
            identity_source: input.identity_source.clone().unwrap_or_default(),
            jwt_configuration: None,
            authorizer_uri: input.authorizer_uri.clone(),
            authorizer_payload_format_version: None,
            enable_simple_responses: input.enable_simple_responses,
            authorizer_result_ttl_in_seconds: input.authorizer_result_ttl_in_seconds,
            authorizer_credentials_arn: input.authorizer_credentials_arn.clone(),
            identity_validation_expression: input.identity_validation_expression.clone(),
        };
        check_websocket(&authorizer)?;
        Ok(authorizer)
    }

    /// `UpdateAuthorizer` in an API of `protocol`.
    pub fn updated_for(&self, protocol: &str, input: &AuthorizerInput) -> Result<Self, ModelError> {
        if protocol != "WEBSOCKET" {
            return self.updated(input);
        }
        let mut next = self.clone();
        if let Some(name) = &input.name {
            next.name = name.clone();
        }
        if let Some(sources) = &input.identity_source {
            next.identity_source = sources.clone();
        }
        merge(&mut next.authorizer_uri, &input.authorizer_uri);
        merge(
            &mut next.authorizer_result_ttl_in_seconds,
            &input.authorizer_result_ttl_in_seconds,
        );
        check_websocket(&next)?;
        Ok(next)
    }

    pub fn create(input: &AuthorizerInput, authorizer_id: String) -> Result<Self, ModelError> {
        let kind = crate::validate::required("authorizerType", input.authorizer_type.clone())?;
        let mut authorizer = Self {
            authorizer_id,
            name: crate::validate::required("name", input.name.clone())?,
            authorizer_type: kind,
            identity_source: crate::validate::required(
                "identitySource",
                input.identity_source.clone(),
            )?,
            jwt_configuration: input.jwt_configuration.clone(),
            authorizer_uri: input.authorizer_uri.clone(),
            authorizer_payload_format_version: input.authorizer_payload_format_version.clone(),
            enable_simple_responses: input.enable_simple_responses,
            authorizer_result_ttl_in_seconds: input.authorizer_result_ttl_in_seconds,
            authorizer_credentials_arn: input.authorizer_credentials_arn.clone(),
            identity_validation_expression: input.identity_validation_expression.clone(),
        };
        if authorizer.authorizer_type == "REQUEST" {
            authorizer.authorizer_result_ttl_in_seconds.get_or_insert(0);
        }
        authorizer.check()?;
        Ok(authorizer)
    }

    pub fn updated(&self, input: &AuthorizerInput) -> Result<Self, ModelError> {
        let mut next = self.clone();
        if let Some(name) = &input.name {
            next.name = name.clone();
        }
        if let Some(kind) = &input.authorizer_type {
            next.authorizer_type = kind.clone();
        }
        if let Some(sources) = &input.identity_source {
            next.identity_source = sources.clone();
        }
        merge(&mut next.jwt_configuration, &input.jwt_configuration);
        merge(&mut next.authorizer_uri, &input.authorizer_uri);
        merge(
            &mut next.authorizer_payload_format_version,
            &input.authorizer_payload_format_version,
        );
        merge(
            &mut next.enable_simple_responses,
            &input.enable_simple_responses,
        );
        merge(
            &mut next.authorizer_result_ttl_in_seconds,
            &input.authorizer_result_ttl_in_seconds,
        );
        merge(
            &mut next.authorizer_credentials_arn,
            &input.authorizer_credentials_arn,
        );
        next.check()?;
        Ok(next)
    }

    fn check(&self) -> Result<(), ModelError> {
        if self.name.is_empty() || self.name.chars().count() > 128 {
            return Err(ModelError::invalid(
                "Authorizer name must be 1-128 characters",
            ));
        }
        one_of("authorizerType", &self.authorizer_type, &["REQUEST", "JWT"])?;
        match self.authorizer_type.as_str() {
            "JWT" => {
                let config = self.jwt_configuration.as_ref().ok_or_else(|| {
                    ModelError::invalid("JwtConfiguration is required for JWT authorizers")
                })?;
                let issuer = config.issuer.as_deref().unwrap_or("");
                if !issuer.starts_with("https://") && !issuer.starts_with("http://") {
                    return Err(ModelError::invalid(
                        "JWT authorizers need an issuer URL (jwtConfiguration.issuer)",
                    ));
                }
                if config.audience.as_ref().is_none_or(Vec::is_empty) {
                    return Err(ModelError::invalid(
                        "JWT authorizers need at least one audience (jwtConfiguration.audience)",
                    ));
                }
                if self.identity_source.len() != 1 {
                    return Err(ModelError::invalid(
                        "JWT authorizers take exactly one identity source",
                    ));
                }
            }
            _ => {
                if self.authorizer_uri.is_none() {
                    return Err(ModelError::invalid(
                        "AuthorizerUri is required for REQUEST authorizers",
                    ));
                }
                let version = self
                    .authorizer_payload_format_version
                    .as_deref()
                    .ok_or_else(|| {
                        ModelError::invalid(
                            "AuthorizerPayloadFormatVersion is required for REQUEST authorizers",
                        )
                    })?;
                one_of("authorizerPayloadFormatVersion", version, &["1.0", "2.0"])?;
                if self.enable_simple_responses == Some(true) && version != "2.0" {
                    return Err(ModelError::invalid(
                        "Simple responses are supported only with payload format version 2.0",
                    ));
                }
                let ttl = self.authorizer_result_ttl_in_seconds.unwrap_or(0);
                if !(0..=3600).contains(&ttl) {
                    return Err(ModelError::invalid(
                        "AuthorizerResultTtlInSeconds must be between 0 and 3600",
                    ));
                }
                if ttl > 0 && self.identity_source.is_empty() {
                    return Err(ModelError::invalid(
                        "Caching needs at least one identity source",
                    ));
                }
            }
        }
        for source in &self.identity_source {
            check_identity_source(source)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_sources_are_checked_by_prefix_with_one_message() {
        assert!(check_identity_source("$request.header.Authorization").is_ok());
        assert!(check_identity_source("$request.header.").is_err());
        assert!(check_websocket_identity_source("route.request.querystring.token").is_ok());
        assert_eq!(
            check_websocket_identity_source("$request.header.x"),
            Err(ModelError::invalid(
                "Invalid identity source $request.header.x: must be route.request.header.*, \
                 route.request.querystring.*, stageVariables.* or context.*"
            ))
        );
    }

    fn create(json: &str) -> Result<Authorizer, ModelError> {
        Authorizer::create(&serde_json::from_str(json).unwrap(), "a".into())
    }

    #[test]
    fn authorizers_are_checked() {
        assert!(create(r#"{"name": "j", "authorizerType": "JWT", "identitySource": ["$request.header.Authorization"], "jwtConfiguration": {"issuer": "https://i", "audience": ["x"]}}"#).is_ok());
        let r = create(r#"{"name": "r", "authorizerType": "REQUEST", "identitySource": ["$request.header.X"], "authorizerUri": "arn:f", "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": true}"#).unwrap();
        assert_eq!(r.authorizer_result_ttl_in_seconds, Some(0));
        for bad in [
            r#"{"name": "j", "authorizerType": "JWT", "identitySource": ["$request.header.A"]}"#,
            r#"{"name": "j", "authorizerType": "JWT", "identitySource": ["$request.header.A"], "jwtConfiguration": {"issuer": "https://i"}}"#,
            r#"{"name": "r", "authorizerType": "REQUEST", "identitySource": ["$request.header.X"], "authorizerUri": "arn:f", "authorizerPayloadFormatVersion": "1.0", "enableSimpleResponses": true}"#,
            r#"{"name": "r", "authorizerType": "REQUEST", "identitySource": ["header.X"], "authorizerUri": "arn:f", "authorizerPayloadFormatVersion": "2.0"}"#,
            r#"{"name": "r", "authorizerType": "TOKEN", "identitySource": ["$request.header.X"]}"#,
        ] {
            assert!(create(bad).is_err(), "{bad}");
        }
    }
}
