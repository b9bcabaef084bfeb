use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{HTTP_METHODS, StringMap};
use crate::ModelError;
use crate::patch::{PatchOp, PatchOperation, PatchRules, PatchStyle, apply_all};
use crate::validate;

const RESPONSE_RULES: PatchRules = PatchRules {
    style: PatchStyle::Terse,
    paths: &[
        ("/selectionPattern", &[PatchOp::Replace]),
        ("/contentHandling", &[PatchOp::Replace]),
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

const RULES: PatchRules = PatchRules {
    style: PatchStyle::Terse,
    paths: &[
        ("/type", &[PatchOp::Replace]),
        ("/httpMethod", &[PatchOp::Replace]),
        ("/uri", &[PatchOp::Replace]),
        ("/connectionType", &[PatchOp::Replace]),
        ("/connectionId", &[PatchOp::Replace]),
        ("/credentials", &[PatchOp::Replace]),
        ("/passthroughBehavior", &[PatchOp::Replace]),
        ("/contentHandling", &[PatchOp::Replace]),
        ("/timeoutInMillis", &[PatchOp::Replace]),
        ("/cacheNamespace", &[PatchOp::Replace]),
        ("/tlsConfig/insecureSkipVerification", &[PatchOp::Replace]),
        (
            "/requestParameters/*",
            &[PatchOp::Add, PatchOp::Remove, PatchOp::Replace],
        ),
        (
            "/requestTemplates/*",
            &[PatchOp::Add, PatchOp::Remove, PatchOp::Replace],
        ),
        ("/cacheKeyParameters/*", &[PatchOp::Add, PatchOp::Remove]),
    ],
};

/// `IntegrationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IntegrationType {
    Http,
    Aws,
    Mock,
    HttpProxy,
    AwsProxy,
}

impl IntegrationType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "HTTP",
            Self::Aws => "AWS",
            Self::Mock => "MOCK",
            Self::HttpProxy => "HTTP_PROXY",
            Self::AwsProxy => "AWS_PROXY",
        }
    }

    fn parse(s: &str) -> Result<Self, ModelError> {
        Ok(match s {
            "HTTP" => Self::Http,
            "AWS" => Self::Aws,
            "MOCK" => Self::Mock,
            "HTTP_PROXY" => Self::HttpProxy,
            "AWS_PROXY" => Self::AwsProxy,
            other => {
                return Err(ModelError::not_in_enum(
                    "type",
                    other,
                    &["HTTP", "AWS", "MOCK", "HTTP_PROXY", "AWS_PROXY"],
                ));
            }
        })
    }
}

const PASSTHROUGH: &[&str] = &["WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER"];
const CONTENT_HANDLING: &[&str] = &["CONVERT_TO_BINARY", "CONVERT_TO_TEXT"];
const CONNECTION_TYPES: &[&str] = &["INTERNET", "VPC_LINK"];

/// `TlsConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsConfig {
    #[serde(default)]
    pub insecure_skip_verification: bool,
}

/// `Integration`: what a method calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    #[serde(rename = "type")]
    pub integration_type: IntegrationType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_templates: Option<StringMap>,
    pub passthrough_behavior: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_handling: Option<String>,
    pub timeout_in_millis: i64,
    pub cache_namespace: String,
    pub cache_key_parameters: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_responses: Option<BTreeMap<String, IntegrationResponse>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
}

/// The body of `PutIntegration` (`integrationHttpMethod` travels as `httpMethod`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutIntegration {
    #[serde(rename = "type")]
    pub integration_type: Option<String>,
    pub http_method: Option<String>,
    pub uri: Option<String>,
    pub connection_type: Option<String>,
    pub connection_id: Option<String>,
    pub credentials: Option<String>,
    pub request_parameters: Option<StringMap>,
    pub request_templates: Option<StringMap>,
    pub passthrough_behavior: Option<String>,
    pub cache_namespace: Option<String>,
    pub cache_key_parameters: Option<Vec<String>>,
    pub content_handling: Option<String>,
    pub timeout_in_millis: Option<i64>,
    pub tls_config: Option<TlsConfig>,
}

impl Integration {
    /// A new integration for the method of `resource_id`, with AWS's defaults
    /// (`passthroughBehavior` `WHEN_NO_MATCH`, `timeoutInMillis` 29000, `cacheNamespace` the
    /// resource id).
    pub fn create(resource_id: &str, input: PutIntegration) -> Result<Self, ModelError> {
        let integration_type =
            IntegrationType::parse(&validate::required("type", input.integration_type)?)?;
        let integration = Self {
            integration_type,
            http_method: input.http_method,
            uri: input.uri.filter(|u| !u.is_empty()),
            connection_type: input.connection_type.or_else(|| {
                (integration_type != IntegrationType::Mock).then(|| "INTERNET".to_string())
            }),
            connection_id: input.connection_id,
            credentials: input.credentials,
            request_parameters: input.request_parameters.filter(|m| !m.is_empty()),
            request_templates: input.request_templates.filter(|m| !m.is_empty()),
            passthrough_behavior: input
                .passthrough_behavior
                .unwrap_or_else(|| "WHEN_NO_MATCH".into()),
            content_handling: input.content_handling,
            timeout_in_millis: input.timeout_in_millis.unwrap_or(29_000),
            cache_namespace: input
                .cache_namespace
                .unwrap_or_else(|| resource_id.to_string()),
            cache_key_parameters: input.cache_key_parameters.unwrap_or_default(),
            integration_responses: None,
            tls_config: input.tls_config,
        };
        integration.check()?;
        Ok(integration)
    }

    /// The checks AWS makes whenever an integration is written.
    fn check(&self) -> Result<(), ModelError> {
        validate::one_of(
            "passthroughBehavior",
            &self.passthrough_behavior,
            PASSTHROUGH,
        )?;
        if let Some(ch) = &self.content_handling {
            validate::one_of("contentHandling", ch, CONTENT_HANDLING)?;
        }
        if let Some(ct) = &self.connection_type {
            validate::one_of("connectionType", ct, CONNECTION_TYPES)?;
        }
        if !(50..=29_000).contains(&self.timeout_in_millis) {
            return Err(ModelError::invalid(
                "Timeout should be between 50 ms and 29000 ms",
            ));
        }
        if self.integration_type == IntegrationType::Mock {
            return Ok(());
        }
        let method = self.http_method.as_deref().unwrap_or("");
        if method.is_empty() {
            return Err(ModelError::invalid(
                "Enumeration value for HttpMethod must be non-empty",
            ));
        }
        if !HTTP_METHODS.contains(&method) {
            return Err(ModelError::invalid(format!(
                "Invalid HTTP method specified: {method}"
            )));
        }
        let uri = self
            .uri
            .as_deref()
            .ok_or_else(|| ModelError::invalid("Invalid integration URI specified"))?;
        match self.integration_type {
            IntegrationType::Http | IntegrationType::HttpProxy => {
                let rest = uri
                    .strip_prefix("http://")
                    .or_else(|| uri.strip_prefix("https://"));
                if !rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/')) {
                    return Err(ModelError::invalid(
                        "Invalid HTTP endpoint specified for URI",
                    ));
                }
            }
            IntegrationType::Aws | IntegrationType::AwsProxy => {
                if !uri.starts_with("arn:") {
                    return Err(ModelError::invalid(
                        "AWS ARN for integration must contain path or action",
                    ));
                }
            }
            IntegrationType::Mock => {}
        }
        Ok(())
    }

    /// `UpdateIntegration`.
    pub fn patched(&self, ops: &[PatchOperation]) -> Result<Self, ModelError> {
        let patched = apply_all(self, ops, |i, op, path| {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            match (op.op, path.as_slice()) {
                (PatchOp::Replace, ["type"]) => {
                    i.integration_type = IntegrationType::parse(op.value()?)?
                }
                (PatchOp::Replace, ["httpMethod"]) => i.http_method = op.optional_value(),
                (PatchOp::Replace, ["uri"]) => i.uri = op.optional_value(),
                (PatchOp::Replace, ["connectionType"]) => i.connection_type = op.optional_value(),
                (PatchOp::Replace, ["connectionId"]) => i.connection_id = op.optional_value(),
                (PatchOp::Replace, ["credentials"]) => i.credentials = op.optional_value(),
                (PatchOp::Replace, ["passthroughBehavior"]) => {
                    i.passthrough_behavior = op.value()?.to_string()
                }
                (PatchOp::Replace, ["contentHandling"]) => i.content_handling = op.optional_value(),
                (PatchOp::Replace, ["timeoutInMillis"]) => i.timeout_in_millis = op.int_value()?,
                (PatchOp::Replace, ["cacheNamespace"]) => {
                    i.cache_namespace = op.value()?.to_string()
                }
                (PatchOp::Replace, ["tlsConfig", "insecureSkipVerification"]) => {
                    i.tls_config = Some(TlsConfig {
                        insecure_skip_verification: op.bool_value()?,
                    })
                }
                (PatchOp::Add | PatchOp::Replace | PatchOp::Remove, ["requestParameters", k]) => {
                    op.apply_to_map(&mut i.request_parameters, k)?
                }
                (PatchOp::Add | PatchOp::Replace | PatchOp::Remove, ["requestTemplates", ct]) => {
                    op.apply_to_map(&mut i.request_templates, ct)?
                }
                (PatchOp::Add | PatchOp::Remove, ["cacheKeyParameters", p]) => {
                    let mut list = Some(std::mem::take(&mut i.cache_key_parameters));
                    op.apply_to_list(&mut list, Some(p))?;
                    i.cache_key_parameters = list.unwrap_or_default();
                }
                _ => return Err(RULES.reject(op)),
            }
            Ok(())
        })?;
        patched.check()?;
        Ok(Self {
            request_parameters: patched.request_parameters.clone().filter(|m| !m.is_empty()),
            request_templates: patched.request_templates.clone().filter(|m| !m.is_empty()),
            ..patched
        })
    }
}

/// `IntegrationResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationResponse {
    pub status_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection_pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_parameters: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_templates: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_handling: Option<String>,
}

/// The body of `PutIntegrationResponse`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutIntegrationResponse {
    pub selection_pattern: Option<String>,
    pub response_parameters: Option<StringMap>,
    pub response_templates: Option<StringMap>,
    pub content_handling: Option<String>,
}

impl IntegrationResponse {
    pub fn create(status_code: String, input: PutIntegrationResponse) -> Result<Self, ModelError> {
        validate::status_code(&status_code)?;
        if let Some(ch) = &input.content_handling {
            validate::one_of("contentHandling", ch, CONTENT_HANDLING)?;
        }
        Ok(Self {
            status_code,
            selection_pattern: input.selection_pattern,
            response_parameters: input.response_parameters.filter(|m| !m.is_empty()),
            response_templates: input.response_templates.filter(|m| !m.is_empty()),
            content_handling: input.content_handling,
        })
    }

    /// `UpdateIntegrationResponse`.
    pub fn patched(&self, ops: &[PatchOperation]) -> Result<Self, ModelError> {
        apply_all(self, ops, |r, op, path| {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            match (op.op, path.as_slice()) {
                (PatchOp::Replace, ["selectionPattern"]) => r.selection_pattern = op.value.clone(),
                (PatchOp::Replace, ["contentHandling"]) => {
                    r.content_handling = op.optional_value();
                    if let Some(ch) = &r.content_handling {
                        validate::one_of("contentHandling", ch, CONTENT_HANDLING)?;
                    }
                }
                (PatchOp::Add | PatchOp::Replace | PatchOp::Remove, ["responseParameters", k]) => {
                    op.apply_to_map(&mut r.response_parameters, k)?
                }
                (PatchOp::Add | PatchOp::Replace | PatchOp::Remove, ["responseTemplates", ct]) => {
                    op.apply_to_map(&mut r.response_templates, ct)?
                }
                _ => return Err(RESPONSE_RULES.reject(op)),
            }
            Ok(())
        })
        .map(|mut r| {
            r.response_parameters = r.response_parameters.filter(|m| !m.is_empty());
            r.response_templates = r.response_templates.filter(|m| !m.is_empty());
            r
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(kind: &str, method: Option<&str>, uri: Option<&str>) -> PutIntegration {
        PutIntegration {
            integration_type: Some(kind.into()),
            http_method: method.map(Into::into),
            uri: uri.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_are_filled() {
        let i = Integration::create("abc123", put("MOCK", None, None)).unwrap();
        assert_eq!(i.timeout_in_millis, 29_000);
        assert_eq!(i.passthrough_behavior, "WHEN_NO_MATCH");
        assert_eq!(i.cache_namespace, "abc123");
        let json = serde_json::to_value(&i).unwrap();
        assert_eq!(json["type"], "MOCK");
        assert_eq!(json["cacheKeyParameters"], serde_json::json!([]));
    }

    #[test]
    fn http_integrations_need_method_and_uri() {
        assert!(
            Integration::create("r", put("HTTP", Some("GET"), Some("http://x.test/a"))).is_ok()
        );
        assert!(Integration::create("r", put("HTTP", None, Some("http://x.test"))).is_err());
        assert!(Integration::create("r", put("HTTP_PROXY", Some("GET"), Some("ftp://x"))).is_err());
        assert!(Integration::create("r", put("LAMBDA", Some("GET"), None)).is_err());
    }

    #[test]
    fn timeout_is_bounded() {
        let mut p = put("MOCK", None, None);
        p.timeout_in_millis = Some(30_000);
        assert!(Integration::create("r", p).is_err());
    }
}
