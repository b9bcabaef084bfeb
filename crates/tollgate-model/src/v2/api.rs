use serde::{Deserialize, Serialize};

use super::{StringMap, merge};
use crate::ModelError;
use crate::validate::one_of;

/// `Cors`: what the gateway answers preflight requests with and adds to responses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cors {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_credentials: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_headers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_methods: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_origins: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_headers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
}

impl Cors {
    fn check(&self) -> Result<(), ModelError> {
        if let Some(age) = self.max_age
            && !(-1..=86_400).contains(&age)
        {
            return Err(ModelError::invalid(
                "Invalid CORS configuration: maxAge must be between -1 and 86400",
            ));
        }
        let wildcard_origin = self
            .allow_origins
            .as_ref()
            .is_some_and(|o| o.iter().any(|o| o == "*"));
        if self.allow_credentials == Some(true) && wildcard_origin {
            return Err(ModelError::invalid(
                "allow-credentials is not supported with allow-origins set to '*'",
            ));
        }
        Ok(())
    }
}

/// `Api` (an HTTP API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Api {
    pub api_id: String,
    pub name: String,
    pub protocol_type: String,
    pub api_endpoint: String,
    pub api_key_selection_expression: String,
    pub route_selection_expression: String,
    pub created_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors_configuration: Option<Cors>,
    #[serde(default)]
    pub disable_execute_api_endpoint: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_schema_validation: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default = "ipv4")]
    pub ip_address_type: String,
    #[serde(default)]
    pub tags: StringMap,
}

fn ipv4() -> String {
    "ipv4".into()
}

/// The body of `CreateApi` and `UpdateApi`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiInput {
    pub name: Option<String>,
    pub protocol_type: Option<String>,
    pub description: Option<String>,
    pub cors_configuration: Option<Cors>,
    pub disable_execute_api_endpoint: Option<bool>,
    pub disable_schema_validation: Option<bool>,
    pub version: Option<String>,
    pub ip_address_type: Option<String>,
    pub route_selection_expression: Option<String>,
    pub api_key_selection_expression: Option<String>,
    pub credentials_arn: Option<String>,
    pub tags: Option<StringMap>,
    /// Quick create: the integration every request goes to.
    pub target: Option<String>,
    /// Quick create: the route key (`$default` when absent).
    pub route_key: Option<String>,
}

fn check_name(name: &str) -> Result<(), ModelError> {
    if name.is_empty() || name.chars().count() > 128 {
        return Err(ModelError::invalid(
            "Invalid API name specified: must be 1-128 characters",
        ));
    }
    Ok(())
}

/// What a WebSocket API needs: a route selection expression it can evaluate, an API key
/// selection expression AWS knows, and no CORS (a browser does not preflight WebSockets).
fn check_websocket(input: &ApiInput) -> Result<(), ModelError> {
    let rse = input.route_selection_expression.as_deref().ok_or_else(|| {
        ModelError::invalid("RouteSelectionExpression is required for WEBSOCKET APIs")
    })?;
    super::SelectionExpression::parse(rse)?;
    if let Some(e) = &input.api_key_selection_expression {
        one_of(
            "apiKeySelectionExpression",
            e,
            &[
                "$request.header.x-api-key",
                "$context.authorizer.usageIdentifierKey",
            ],
        )?;
    }
    if input.cors_configuration.is_some() {
        return Err(ModelError::invalid(
            "CORS configuration is not supported for WEBSOCKET APIs",
        ));
    }
    Ok(())
}

impl Api {
    /// `CreateApi`; `endpoint` is the API's base URL (`apiEndpoint`).
    pub fn create(
        input: &ApiInput,
        api_id: String,
        endpoint: String,
        now: String,
    ) -> Result<Self, ModelError> {
        let name = crate::validate::required("name", input.name.clone())?;
        check_name(&name)?;
        let protocol = crate::validate::required("protocolType", input.protocol_type.clone())?;
        one_of("protocolType", &protocol, &["WEBSOCKET", "HTTP"])?;
        let websocket = protocol == "WEBSOCKET";
        if let Some(t) = &input.ip_address_type {
            one_of("ipAddressType", t, &["ipv4", "dualstack"])?;
        }
        if let Some(cors) = &input.cors_configuration {
            cors.check()?;
        }
        if websocket {
            check_websocket(input)?;
        } else if let Some(e) = &input.route_selection_expression
            && e != "$request.method $request.path"
        {
            return Err(ModelError::invalid(
                "Unsupported route selection expression for HTTP API: only '$request.method $request.path' is supported",
            ));
        }
        let tags = input.tags.clone().unwrap_or_default();
        crate::validate::tags(&tags)?;
        Ok(Self {
            api_id,
            name,
            protocol_type: protocol,
            api_endpoint: endpoint,
            api_key_selection_expression: input
                .api_key_selection_expression
                .clone()
                .unwrap_or_else(|| "$request.header.x-api-key".into()),
            route_selection_expression: match (&input.route_selection_expression, websocket) {
                (Some(e), true) => e.clone(),
                _ => "$request.method $request.path".into(),
            },
            created_date: now,
            description: input.description.clone(),
            cors_configuration: input.cors_configuration.clone(),
            disable_execute_api_endpoint: input.disable_execute_api_endpoint.unwrap_or(false),
            disable_schema_validation: input.disable_schema_validation,
            version: input.version.clone(),
            ip_address_type: input.ip_address_type.clone().unwrap_or_else(ipv4),
            tags,
        })
    }

    /// `UpdateApi`: the fields the input names change.
    pub fn updated(&self, input: &ApiInput) -> Result<Self, ModelError> {
        let mut api = self.clone();
        if let Some(name) = &input.name {
            check_name(name)?;
            api.name = name.clone();
        }
        if let Some(cors) = &input.cors_configuration {
            cors.check()?;
            api.cors_configuration = Some(cors.clone());
        }
        if let Some(t) = &input.ip_address_type {
            one_of("ipAddressType", t, &["ipv4", "dualstack"])?;
            api.ip_address_type = t.clone();
        }
        if let Some(v) = input.disable_execute_api_endpoint {
            api.disable_execute_api_endpoint = v;
        }
        if let Some(e) = &input.api_key_selection_expression {
            api.api_key_selection_expression = e.clone();
        }
        if api.protocol_type == "WEBSOCKET" {
            check_websocket(&ApiInput {
                route_selection_expression: Some(
                    input
                        .route_selection_expression
                        .clone()
                        .unwrap_or_else(|| api.route_selection_expression.clone()),
                ),
                ..input.clone()
            })?;
            if let Some(e) = &input.route_selection_expression {
                api.route_selection_expression = e.clone();
            }
        }
        merge(&mut api.description, &input.description);
        merge(&mut api.version, &input.version);
        merge(
            &mut api.disable_schema_validation,
            &input.disable_schema_validation,
        );
        Ok(api)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> ApiInput {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn created_apis_have_aws_defaults_and_camel_case_fields() {
        let api = Api::create(
            &input(r#"{"name": "pets", "protocolType": "HTTP"}"#),
            "abc".into(),
            "http://abc.execute-api.localhost:4566".into(),
            "2024-01-01T00:00:00Z".into(),
        )
        .unwrap();
        let wire = serde_json::to_value(&api).unwrap();
        assert_eq!(wire["apiId"], "abc");
        assert_eq!(
            wire["routeSelectionExpression"],
            "$request.method $request.path"
        );
        assert_eq!(
            wire["apiKeySelectionExpression"],
            "$request.header.x-api-key"
        );
        assert_eq!(wire["disableExecuteApiEndpoint"], false);
        assert!(wire.get("description").is_none());
    }

    #[test]
    fn bad_input_is_refused() {
        let create = |json| Api::create(&input(json), "a".into(), "e".into(), "t".into());
        assert!(create(r#"{"protocolType": "HTTP"}"#).is_err());
        assert!(create(r#"{"name": "x", "protocolType": "GRPC"}"#).is_err());
        assert!(create(r#"{"name": "x", "protocolType": "WEBSOCKET"}"#).is_err());
        assert!(
            create(
                r#"{"name": "x", "protocolType": "WEBSOCKET", "routeSelectionExpression": "$nope"}"#
            )
            .is_err()
        );
        let ws = create(r#"{"name": "x", "protocolType": "WEBSOCKET", "routeSelectionExpression": "$request.body.action"}"#).unwrap();
        assert_eq!(ws.route_selection_expression, "$request.body.action");
        assert!(
            create(
                r#"{"name": "x", "protocolType": "HTTP", "corsConfiguration": {"allowOrigins": ["*"], "allowCredentials": true}}"#
            )
            .is_err()
        );
    }

    #[test]
    fn updates_merge() {
        let api = Api::create(
            &input(r#"{"name": "pets", "protocolType": "HTTP", "description": "d"}"#),
            "a".into(),
            "e".into(),
            "t".into(),
        )
        .unwrap();
        let next = api.updated(&input(r#"{"name": "cats"}"#)).unwrap();
        assert_eq!(next.name, "cats");
        assert_eq!(next.description.as_deref(), Some("d"));
    }
}
