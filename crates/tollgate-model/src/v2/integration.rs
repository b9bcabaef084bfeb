use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{StringMap, merge};
use crate::ModelError;
use crate::validate::one_of;

/// `TlsConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name_to_verify: Option<String>,
}

/// `Integration` of an HTTP API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    pub integration_id: String,
    pub integration_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_method: Option<String>,
    pub connection_type: String,
    pub payload_format_version: String,
    pub timeout_in_millis: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_parameters: Option<BTreeMap<String, StringMap>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_gateway_managed: Option<bool>,
    /// WebSocket integrations (`AWS`, `HTTP`, `MOCK`): request templates by selection key,
    /// how to pick one, what to do when none matches, and how responses are chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_templates: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_selection_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passthrough_behavior: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_handling_strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_response_selection_expression: Option<String>,
}

/// The body of `CreateIntegration` and `UpdateIntegration`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationInput {
    pub integration_type: Option<String>,
    pub integration_uri: Option<String>,
    pub integration_method: Option<String>,
    pub integration_subtype: Option<String>,
    pub connection_type: Option<String>,
    pub connection_id: Option<String>,
    pub payload_format_version: Option<String>,
    pub timeout_in_millis: Option<i64>,
    pub description: Option<String>,
    pub credentials_arn: Option<String>,
    pub request_parameters: Option<StringMap>,
    pub response_parameters: Option<BTreeMap<String, StringMap>>,
    pub tls_config: Option<TlsConfig>,
    pub request_templates: Option<StringMap>,
    pub passthrough_behavior: Option<String>,
    pub content_handling_strategy: Option<String>,
    pub template_selection_expression: Option<String>,
    pub integration_response_selection_expression: Option<String>,
}

const TYPES: &[&str] = &["AWS", "HTTP", "MOCK", "HTTP_PROXY", "AWS_PROXY"];

/// A request parameter mapping's key: `append|overwrite|remove:header.{name}`,
/// `append|overwrite|remove:querystring.{name}` or `overwrite:path`.
fn check_request_key(key: &str) -> Result<(), ModelError> {
    let ok = match key.split_once(':') {
        Some(("overwrite", "path")) => true,
        Some(("append" | "overwrite" | "remove", target)) => target
            .strip_prefix("header.")
            .or_else(|| target.strip_prefix("querystring."))
            .is_some_and(|name| !name.is_empty()),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ModelError::invalid(format!(
            "Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid mapping expression specified: {key}]"
        )))
    }
}

/// A response parameter mapping's key: `append|overwrite|remove:header.{name}` or
/// `overwrite:statuscode`; the map's keys are status codes.
fn check_response_key(status: &str, key: &str) -> Result<(), ModelError> {
    let status_ok = status.len() == 3
        && status.bytes().all(|b| b.is_ascii_digit())
        && (200..=599).contains(&status.parse::<u16>().unwrap_or(0));
    let ok = match key.split_once(':') {
        Some(("overwrite", "statuscode")) => true,
        Some(("append" | "overwrite" | "remove", target)) => target
            .strip_prefix("header.")
            .is_some_and(|name| !name.is_empty()),
        _ => false,
    };
    if status_ok && ok {
        Ok(())
    } else {
        Err(ModelError::invalid(format!(
            "Invalid response parameter mapping for status code {status}: {key}"
        )))
    }
}

impl Integration {
    pub fn create(input: &IntegrationInput, integration_id: String) -> Result<Self, ModelError> {
        Self::create_for("HTTP", input, integration_id)
    }

    /// `CreateIntegration` in an API of `protocol` (`HTTP` or `WEBSOCKET`).
    pub fn create_for(
        protocol: &str,
        input: &IntegrationInput,
        integration_id: String,
    ) -> Result<Self, ModelError> {
        let websocket = protocol == "WEBSOCKET";
        let kind = crate::validate::required("integrationType", input.integration_type.clone())?;
        let integration = Self {
            integration_id,
            integration_type: kind.clone(),
            integration_uri: input.integration_uri.clone(),
            integration_method: input.integration_method.clone(),
            connection_type: input
                .connection_type
                .clone()
                .unwrap_or_else(|| "INTERNET".into()),
            // Required for Lambda integrations; HTTP integrations take only 1.0.
            payload_format_version: match (&input.payload_format_version, kind.as_str()) {
                (Some(v), _) => v.clone(),
                (None, "AWS_PROXY") if !websocket => {
                    return Err(ModelError::invalid(
                        "PayloadFormatVersion is required for AWS_PROXY integrations",
                    ));
                }
                (None, _) => "1.0".into(),
            },
            timeout_in_millis: input.timeout_in_millis.unwrap_or(if websocket {
                29_000
            } else {
                30_000
            }),
            description: input.description.clone(),
            credentials_arn: input.credentials_arn.clone(),
            request_parameters: input.request_parameters.clone(),
            response_parameters: input.response_parameters.clone(),
            tls_config: input.tls_config.clone(),
            api_gateway_managed: None,
            request_templates: input.request_templates.clone(),
            template_selection_expression: input.template_selection_expression.clone(),
            passthrough_behavior: match (&input.passthrough_behavior, websocket) {
                (Some(p), _) => Some(p.clone()),
                (None, true) if kind != "AWS_PROXY" && kind != "HTTP_PROXY" => {
                    Some("WHEN_NO_MATCH".into())
                }
                _ => None,
            },
            content_handling_strategy: input.content_handling_strategy.clone(),
            integration_response_selection_expression: match (
                &input.integration_response_selection_expression,
                websocket,
            ) {
                (Some(e), _) => Some(e.clone()),
                (None, true) if kind != "AWS_PROXY" && kind != "HTTP_PROXY" => {
                    Some("${integration.response.statuscode}".into())
                }
                _ => None,
            },
        };
        integration.check_for(protocol, input)?;
        Ok(integration)
    }

    pub fn updated(&self, input: &IntegrationInput) -> Result<Self, ModelError> {
        self.updated_for("HTTP", input)
    }

    /// `UpdateIntegration` in an API of `protocol`.
    pub fn updated_for(
        &self,
        protocol: &str,
        input: &IntegrationInput,
    ) -> Result<Self, ModelError> {
        let mut next = self.clone();
        if let Some(t) = &input.integration_type {
            next.integration_type = t.clone();
        }
        if let Some(v) = &input.payload_format_version {
            next.payload_format_version = v.clone();
        }
        if let Some(t) = input.timeout_in_millis {
            next.timeout_in_millis = t;
        }
        if let Some(c) = &input.connection_type {
            next.connection_type = c.clone();
        }
        merge(&mut next.integration_uri, &input.integration_uri);
        merge(&mut next.integration_method, &input.integration_method);
        merge(&mut next.description, &input.description);
        merge(&mut next.credentials_arn, &input.credentials_arn);
        merge(&mut next.request_parameters, &input.request_parameters);
        merge(&mut next.response_parameters, &input.response_parameters);
        merge(&mut next.tls_config, &input.tls_config);
        merge(&mut next.request_templates, &input.request_templates);
        merge(
            &mut next.template_selection_expression,
            &input.template_selection_expression,
        );
        merge(&mut next.passthrough_behavior, &input.passthrough_behavior);
        merge(
            &mut next.content_handling_strategy,
            &input.content_handling_strategy,
        );
        merge(
            &mut next.integration_response_selection_expression,
            &input.integration_response_selection_expression,
        );
        next.check_for(protocol, input)?;
        Ok(next)
    }

    fn check_for(&self, protocol: &str, input: &IntegrationInput) -> Result<(), ModelError> {
        one_of("integrationType", &self.integration_type, TYPES)?;
        if protocol == "WEBSOCKET" {
            return self.check_websocket(input);
        }
        if !matches!(self.integration_type.as_str(), "HTTP_PROXY" | "AWS_PROXY") {
            return Err(ModelError::invalid(format!(
                "Integration type {} is not supported for HTTP APIs; use HTTP_PROXY or AWS_PROXY",
                self.integration_type
            )));
        }
        if input.integration_subtype.is_some() {
            return Err(ModelError::invalid(
                "AWS service integrations (integrationSubtype) are not supported by Tollgate",
            ));
        }
        if input.request_templates.is_some() || input.template_selection_expression.is_some() {
            return Err(ModelError::invalid(
                "Request templates are not supported for HTTP APIs",
            ));
        }
        one_of(
            "connectionType",
            &self.connection_type,
            &["INTERNET", "VPC_LINK"],
        )?;
        if self.connection_type != "INTERNET" {
            return Err(ModelError::invalid(
                "VPC links are not supported by Tollgate",
            ));
        }
        let uri = self
            .integration_uri
            .as_deref()
            .ok_or_else(|| ModelError::invalid("IntegrationUri is required"))?;
        match self.integration_type.as_str() {
            "HTTP_PROXY" => {
                if !(uri.starts_with("http://") || uri.starts_with("https://")) {
                    return Err(ModelError::invalid(format!(
                        "Invalid HTTP endpoint specified for URI: {uri}"
                    )));
                }
                if self.integration_method.is_none() {
                    return Err(ModelError::invalid(
                        "IntegrationMethod is required for HTTP_PROXY integrations",
                    ));
                }
                if self.payload_format_version != "1.0" {
                    return Err(ModelError::invalid(
                        "Payload format version 1.0 is the only one supported for HTTP_PROXY integrations",
                    ));
                }
            }
            _ => {
                if !uri.starts_with("arn:") {
                    return Err(ModelError::invalid(format!(
                        "Invalid Lambda function ARN or URI specified: {uri}"
                    )));
                }
                one_of(
                    "payloadFormatVersion",
                    &self.payload_format_version,
                    &["1.0", "2.0"],
                )?;
            }
        }
        if let Some(method) = &self.integration_method {
            one_of("integrationMethod", method, super::route::ROUTE_METHODS)?;
        }
        if !(50..=30_000).contains(&self.timeout_in_millis) {
            return Err(ModelError::invalid(
                "Timeout must be between 50 milliseconds and 30 seconds.",
            ));
        }
        for key in self.request_parameters.iter().flat_map(|m| m.keys()) {
            check_request_key(key)?;
        }
        for (status, map) in self.response_parameters.iter().flatten() {
            for key in map.keys() {
                check_response_key(status, key)?;
            }
        }
        Ok(())
    }

    /// A WebSocket API's integration: any type; a URI for all but `MOCK`; payload format 1.0;
    /// templates and selection expressions that parse.
    fn check_websocket(&self, input: &IntegrationInput) -> Result<(), ModelError> {
        use super::SelectionExpression;
        if input.integration_subtype.is_some() {
            return Err(ModelError::invalid(
                "AWS service integrations (integrationSubtype) are not supported by Tollgate",
            ));
        }
        if self.connection_type != "INTERNET" {
            return Err(ModelError::invalid(
                "VPC links are not supported by Tollgate",
            ));
        }
        let kind = self.integration_type.as_str();
        match (kind, self.integration_uri.as_deref()) {
            ("MOCK", _) => {}
            (_, None) => return Err(ModelError::invalid("IntegrationUri is required")),
            ("HTTP" | "HTTP_PROXY", Some(uri)) => {
                if !(uri.starts_with("http://") || uri.starts_with("https://")) {
                    return Err(ModelError::invalid(format!(
                        "Invalid HTTP endpoint specified for URI: {uri}"
                    )));
                }
            }
            (_, Some(uri)) => {
                if !uri.starts_with("arn:") {
                    return Err(ModelError::invalid(format!(
                        "Invalid ARN specified for URI: {uri}"
                    )));
                }
            }
        }
        if self.payload_format_version != "1.0" {
            return Err(ModelError::invalid(
                "Payload format version 1.0 is the only one supported for WEBSOCKET APIs",
            ));
        }
        if let Some(method) = &self.integration_method {
            one_of("integrationMethod", method, super::route::ROUTE_METHODS)?;
        }
        if !(50..=29_000).contains(&self.timeout_in_millis) {
            return Err(ModelError::invalid(
                "Timeout must be between 50 milliseconds and 29 seconds.",
            ));
        }
        if let Some(p) = &self.passthrough_behavior {
            one_of(
                "passthroughBehavior",
                p,
                &["WHEN_NO_MATCH", "NEVER", "WHEN_NO_TEMPLATES"],
            )?;
        }
        super::websocket::check_content_handling(&self.content_handling_strategy)?;
        for e in [
            &self.template_selection_expression,
            &self.integration_response_selection_expression,
        ]
        .into_iter()
        .flatten()
        {
            SelectionExpression::parse(e)?;
        }
        Ok(())
    }

    /// The Lambda function ARN an `AWS_PROXY` integration names, whether `integrationUri` is
    /// the function ARN itself or the `arn:aws:apigateway:...:lambda:path/...` form.
    pub fn function_arn(&self) -> Option<&str> {
        let uri = self.integration_uri.as_deref()?;
        match uri.split_once(":lambda:path/2015-03-31/functions/") {
            Some((_, rest)) => rest.strip_suffix("/invocations"),
            None => Some(uri),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(json: &str) -> Result<Integration, ModelError> {
        Integration::create(&serde_json::from_str(json).unwrap(), "i".into())
    }

    #[test]
    fn integrations_take_aws_defaults() {
        let i = create(r#"{"integrationType": "HTTP_PROXY", "integrationUri": "http://x", "integrationMethod": "ANY"}"#).unwrap();
        assert_eq!(i.payload_format_version, "1.0");
        assert_eq!(i.timeout_in_millis, 30_000);
        assert_eq!(i.connection_type, "INTERNET");
        let l = create(r#"{"integrationType": "AWS_PROXY", "integrationUri": "arn:aws:lambda:us-east-1:000000000000:function:f", "payloadFormatVersion": "2.0"}"#).unwrap();
        assert_eq!(
            l.function_arn(),
            Some("arn:aws:lambda:us-east-1:000000000000:function:f")
        );
    }

    #[test]
    fn bad_integrations_are_refused() {
        for bad in [
            r#"{"integrationType": "MOCK"}"#,
            r#"{"integrationType": "HTTP_PROXY", "integrationUri": "ftp://x", "integrationMethod": "GET"}"#,
            r#"{"integrationType": "HTTP_PROXY", "integrationUri": "http://x"}"#,
            r#"{"integrationType": "HTTP_PROXY", "integrationUri": "http://x", "integrationMethod": "GET", "payloadFormatVersion": "2.0"}"#,
            r#"{"integrationType": "AWS_PROXY", "integrationUri": "arn:f", "payloadFormatVersion": "3.0"}"#,
            r#"{"integrationType": "AWS_PROXY", "integrationUri": "arn:f"}"#,
            r#"{"integrationType": "HTTP_PROXY", "integrationUri": "http://x", "integrationMethod": "GET", "timeoutInMillis": 40000}"#,
            r#"{"integrationType": "HTTP_PROXY", "integrationUri": "http://x", "integrationMethod": "GET", "requestParameters": {"set:header.a": "b"}}"#,
            r#"{"integrationType": "HTTP_PROXY", "integrationUri": "http://x", "integrationMethod": "GET", "responseParameters": {"200": {"overwrite:body": "b"}}}"#,
        ] {
            assert!(create(bad).is_err(), "{bad}");
        }
        assert!(create(r#"{"integrationType": "HTTP_PROXY", "integrationUri": "http://x", "integrationMethod": "GET", "requestParameters": {"append:header.a": "b", "overwrite:path": "/x", "remove:querystring.q": "''"}, "responseParameters": {"404": {"overwrite:statuscode": "200"}}}"#).is_ok());
    }

    #[test]
    fn websocket_integrations_take_every_type() {
        let ws = |json: &str| {
            Integration::create_for(
                "WEBSOCKET",
                &serde_json::from_str(json).unwrap(),
                "i".into(),
            )
        };
        let mock = ws(r#"{"integrationType": "MOCK", "requestTemplates": {"$default": "{\"statusCode\": 200}"}, "templateSelectionExpression": "\\$default"}"#).unwrap();
        assert_eq!(mock.passthrough_behavior.as_deref(), Some("WHEN_NO_MATCH"));
        assert_eq!(mock.timeout_in_millis, 29_000);
        let lambda = ws(r#"{"integrationType": "AWS_PROXY", "integrationUri": "arn:aws:lambda:us-east-1:000000000000:function:f"}"#).unwrap();
        assert_eq!(lambda.payload_format_version, "1.0");
        assert!(ws(r#"{"integrationType": "HTTP", "integrationUri": "ftp://x"}"#).is_err());
        assert!(ws(r#"{"integrationType": "AWS_PROXY"}"#).is_err());
        assert!(ws(r#"{"integrationType": "MOCK", "passthroughBehavior": "SOMETIMES"}"#).is_err());
    }
}
