//! The `x-amazon-apigateway-*` extensions of REST APIs, both ways.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use tollgate_model::rest::{
    Authorizer, CreateAuthorizer, DocumentationPart, DocumentationPartLocation, GatewayResponse,
    Integration, IntegrationResponse, PutGatewayResponse, PutIntegration, PutIntegrationResponse,
    StringMap, TlsConfig,
};

use crate::document::{Problem, child};
use crate::plan::PlannedValidator;

pub const INTEGRATION: &str = "x-amazon-apigateway-integration";
pub const ANY_METHOD: &str = "x-amazon-apigateway-any-method";
pub const API_KEY_SOURCE: &str = "x-amazon-apigateway-api-key-source";
pub const AUTH: &str = "x-amazon-apigateway-auth";
pub const AUTHORIZER: &str = "x-amazon-apigateway-authorizer";
pub const AUTHTYPE: &str = "x-amazon-apigateway-authtype";
pub const BINARY_MEDIA_TYPES: &str = "x-amazon-apigateway-binary-media-types";
pub const DOCUMENTATION: &str = "x-amazon-apigateway-documentation";
pub const ENDPOINT_CONFIGURATION: &str = "x-amazon-apigateway-endpoint-configuration";
pub const GATEWAY_RESPONSES: &str = "x-amazon-apigateway-gateway-responses";
pub const MINIMUM_COMPRESSION_SIZE: &str = "x-amazon-apigateway-minimum-compression-size";
pub const POLICY: &str = "x-amazon-apigateway-policy";
pub const REQUEST_VALIDATOR: &str = "x-amazon-apigateway-request-validator";
pub const REQUEST_VALIDATORS: &str = "x-amazon-apigateway-request-validators";
pub const CORS: &str = "x-amazon-apigateway-cors";
pub const IMPORTEXPORT_VERSION: &str = "x-amazon-apigateway-importexport-version";
pub const TAG_VALUE: &str = "x-amazon-apigateway-tag-value";

/// Extensions that belong to HTTP APIs or that need nothing on a REST API; AWS accepts them
/// in REST definitions without a word.
pub const ACCEPTED_WITHOUT_EFFECT: &[&str] = &[
    "x-amazon-apigateway-importexport-version",
    "x-amazon-apigateway-tag-value",
    "x-amazon-apigateway-cors",
    "x-amazon-apigateway-integrations",
    "x-amazon-apigateway-security-policy",
    "x-amazon-apigateway-endpoint-access-mode",
];

/// Reads a JSON value as a string map (values that are not strings are refused).
pub(crate) fn string_map(
    value: &Value,
    pointer: &str,
    problems: &mut Vec<Problem>,
) -> Option<StringMap> {
    let Some(map) = value.as_object() else {
        problems.push(Problem {
            pointer: pointer.to_string(),
            message: "Expected an object of strings".into(),
        });
        return None;
    };
    let mut out = StringMap::new();
    for (k, v) in map {
        match v.as_str() {
            Some(s) => {
                out.insert(k.clone(), s.to_string());
            }
            None => problems.push(Problem {
                pointer: child(pointer, k),
                message: "Expected a string".into(),
            }),
        }
    }
    Some(out)
}

pub(crate) fn opt_string(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

pub(crate) fn object<'a>(
    value: &'a Value,
    pointer: &str,
    problems: &mut Vec<Problem>,
) -> Option<&'a Map<String, Value>> {
    let obj = value.as_object();
    if obj.is_none() {
        problems.push(Problem {
            pointer: pointer.to_string(),
            message: "Expected an object".into(),
        });
    }
    obj
}

/// `x-amazon-apigateway-integration` on an operation.
pub fn integration(
    value: &Value,
    pointer: &str,
    problems: &mut Vec<Problem>,
) -> Option<Integration> {
    let obj = object(value, pointer, problems)?;
    let before = problems.len();
    let map_at = |key: &str, problems: &mut Vec<Problem>| {
        obj.get(key)
            .and_then(|v| string_map(v, &child(pointer, key), problems))
    };
    let request_parameters = map_at("requestParameters", problems);
    let request_templates = map_at("requestTemplates", problems);
    let timeout = match obj.get("timeoutInMillis") {
        None => None,
        Some(v) => match v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        {
            Some(n) => Some(n),
            None => {
                problems.push(Problem {
                    pointer: child(pointer, "timeoutInMillis"),
                    message: "timeoutInMillis must be an integer".into(),
                });
                None
            }
        },
    };
    let cache_key_parameters = obj.get("cacheKeyParameters").map(|v| {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    });
    let tls_config = obj
        .get("tlsConfig")
        .and_then(Value::as_object)
        .map(|t| TlsConfig {
            insecure_skip_verification: t
                .get("insecureSkipVerification")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        });
    let input = PutIntegration {
        integration_type: opt_string(obj, "type").map(|t| t.to_ascii_uppercase()),
        http_method: opt_string(obj, "httpMethod").map(|m| m.to_ascii_uppercase()),
        uri: opt_string(obj, "uri"),
        connection_type: opt_string(obj, "connectionType").map(|c| c.to_ascii_uppercase()),
        connection_id: opt_string(obj, "connectionId"),
        credentials: opt_string(obj, "credentials"),
        request_parameters,
        request_templates,
        passthrough_behavior: opt_string(obj, "passthroughBehavior")
            .map(|p| p.to_ascii_uppercase()),
        cache_namespace: opt_string(obj, "cacheNamespace"),
        cache_key_parameters,
        content_handling: opt_string(obj, "contentHandling"),
        timeout_in_millis: timeout,
        tls_config,
    };
    let mut integration = match Integration::create("", input) {
        Ok(i) => i,
        Err(e) => {
            problems.push(Problem {
                pointer: pointer.to_string(),
                message: e.to_string(),
            });
            return None;
        }
    };
    if let Some(responses) = obj.get("responses") {
        let at = child(pointer, "responses");
        let responses = object(responses, &at, problems)?;
        let mut out = BTreeMap::new();
        for (pattern, response) in responses {
            let at = child(&at, pattern);
            let Some(r) = object(response, &at, problems) else {
                continue;
            };
            let Some(status) = opt_string(r, "statusCode") else {
                problems.push(Problem {
                    pointer: at,
                    message: "statusCode is required in an integration response".into(),
                });
                continue;
            };
            let input = PutIntegrationResponse {
                selection_pattern: (pattern != "default").then(|| pattern.clone()),
                response_parameters: r
                    .get("responseParameters")
                    .and_then(|v| string_map(v, &child(&at, "responseParameters"), problems)),
                response_templates: r
                    .get("responseTemplates")
                    .and_then(|v| string_map(v, &child(&at, "responseTemplates"), problems)),
                content_handling: opt_string(r, "contentHandling"),
            };
            match IntegrationResponse::create(status.clone(), input) {
                Ok(response) => {
                    out.insert(status, response);
                }
                Err(e) => problems.push(Problem {
                    pointer: at,
                    message: e.to_string(),
                }),
            }
        }
        integration.integration_responses = (!out.is_empty()).then_some(out);
    }
    (problems.len() == before).then_some(integration)
}

/// The extension form of an integration.
pub fn integration_to_json(integration: &Integration) -> Value {
    let mut value = serde_json::to_value(integration).unwrap_or_default();
    let Some(obj) = value.as_object_mut() else {
        return value;
    };
    for key in ["type", "passthroughBehavior", "connectionType"] {
        if let Some(Value::String(s)) = obj.get_mut(key) {
            *s = s.to_ascii_lowercase();
        }
    }
    if let Some(Value::Object(responses)) = obj.shift_remove("integrationResponses") {
        let by_pattern: Map<String, Value> = responses
            .into_iter()
            .map(|(_, mut r)| {
                let pattern = r
                    .as_object_mut()
                    .and_then(|o| o.shift_remove("selectionPattern"))
                    .and_then(|p| p.as_str().map(String::from))
                    .unwrap_or_else(|| "default".into());
                (pattern, r)
            })
            .collect();
        obj.insert("responses".into(), Value::Object(by_pattern));
    }
    if obj
        .get("cacheKeyParameters")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        obj.shift_remove("cacheKeyParameters");
    }
    value
}

/// A security scheme with `x-amazon-apigateway-authorizer` as an authorizer named `name`. A
/// `token` authorizer without an identity source reads the scheme's header.
pub fn authorizer(
    name: &str,
    scheme: &Value,
    pointer: &str,
    problems: &mut Vec<Problem>,
) -> Option<Authorizer> {
    let at = child(pointer, AUTHORIZER);
    let obj = object(scheme.get(AUTHORIZER)?, &at, problems)?;
    let kind = opt_string(obj, "type").map(|t| t.to_ascii_uppercase());
    let header = (scheme.get("in").and_then(Value::as_str) == Some("header"))
        .then(|| scheme.get("name").and_then(Value::as_str))
        .flatten();
    let identity_source = opt_string(obj, "identitySource").or_else(|| {
        matches!(kind.as_deref(), Some("TOKEN" | "COGNITO_USER_POOLS"))
            .then(|| header.map(|h| format!("method.request.header.{h}")))
            .flatten()
    });
    let ttl = obj.get("authorizerResultTtlInSeconds").and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    });
    let input = CreateAuthorizer {
        name: Some(name.to_string()),
        authorizer_type: kind,
        provider_arns: obj.get("providerARNs").and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        }),
        auth_type: scheme
            .get(AUTHTYPE)
            .and_then(Value::as_str)
            .map(String::from),
        authorizer_uri: opt_string(obj, "authorizerUri"),
        authorizer_credentials: opt_string(obj, "authorizerCredentials"),
        identity_source,
        identity_validation_expression: opt_string(obj, "identityValidationExpression"),
        authorizer_result_ttl_in_seconds: ttl,
    };
    match Authorizer::create(String::new(), input) {
        Ok(a) => Some(a),
        Err(e) => {
            problems.push(Problem {
                pointer: at,
                message: e.to_string(),
            });
            None
        }
    }
}

/// The security scheme of an authorizer.
pub fn authorizer_to_json(a: &Authorizer) -> Value {
    let header = a
        .identity_source
        .as_deref()
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.trim().strip_prefix("method.request.header."))
        .unwrap_or("Unused");
    let mut ext = Map::new();
    ext.insert("type".into(), json!(a.authorizer_type.to_ascii_lowercase()));
    let fields = [
        ("authorizerUri", &a.authorizer_uri),
        ("authorizerCredentials", &a.authorizer_credentials),
        ("identitySource", &a.identity_source),
        (
            "identityValidationExpression",
            &a.identity_validation_expression,
        ),
    ];
    for (key, value) in fields {
        if let Some(v) = value {
            ext.insert(key.into(), json!(v));
        }
    }
    if let Some(arns) = &a.provider_arns {
        ext.insert("providerARNs".into(), json!(arns));
    }
    if let Some(ttl) = a.authorizer_result_ttl_in_seconds {
        ext.insert("authorizerResultTtlInSeconds".into(), json!(ttl));
    }
    let auth_type = a.auth_type.clone().unwrap_or_else(|| {
        if a.authorizer_type == "COGNITO_USER_POOLS" {
            "cognito_user_pools".into()
        } else {
            "custom".into()
        }
    });
    json!({
        "type": "apiKey",
        "name": header,
        "in": "header",
        AUTHTYPE: auth_type,
        AUTHORIZER: Value::Object(ext),
    })
}

/// `x-amazon-apigateway-request-validators`.
pub fn validators(
    value: &Value,
    pointer: &str,
    problems: &mut Vec<Problem>,
) -> Vec<PlannedValidator> {
    let Some(obj) = object(value, pointer, problems) else {
        return vec![];
    };
    obj.iter()
        .filter_map(|(name, v)| {
            let at = child(pointer, name);
            let flags = object(v, &at, problems)?;
            let flag = |k: &str| flags.get(k).and_then(Value::as_bool).unwrap_or(false);
            Some(PlannedValidator {
                name: name.clone(),
                validate_request_body: flag("validateRequestBody"),
                validate_request_parameters: flag("validateRequestParameters"),
            })
        })
        .collect()
}

pub fn validators_to_json<'a>(validators: impl Iterator<Item = (&'a str, bool, bool)>) -> Value {
    Value::Object(
        validators
            .map(|(name, body, params)| {
                (
                    name.to_string(),
                    json!({"validateRequestBody": body, "validateRequestParameters": params}),
                )
            })
            .collect(),
    )
}

/// `x-amazon-apigateway-gateway-responses`.
pub fn gateway_responses(
    value: &Value,
    pointer: &str,
    problems: &mut Vec<Problem>,
) -> Vec<GatewayResponse> {
    let Some(obj) = object(value, pointer, problems) else {
        return vec![];
    };
    let mut out = vec![];
    for (response_type, v) in obj {
        let at = child(pointer, response_type);
        let Some(r) = object(v, &at, problems) else {
            continue;
        };
        let input = PutGatewayResponse {
            status_code: opt_string(r, "statusCode"),
            response_parameters: r
                .get("responseParameters")
                .and_then(|v| string_map(v, &child(&at, "responseParameters"), problems)),
            response_templates: r
                .get("responseTemplates")
                .and_then(|v| string_map(v, &child(&at, "responseTemplates"), problems)),
        };
        match GatewayResponse::create(response_type, input) {
            Ok(g) => out.push(g),
            Err(e) => problems.push(Problem {
                pointer: at,
                message: e.to_string(),
            }),
        }
    }
    out
}

pub fn gateway_responses_to_json(responses: &[GatewayResponse]) -> Value {
    Value::Object(
        responses
            .iter()
            .map(|g| {
                let mut r = Map::new();
                if let Some(code) = &g.status_code {
                    r.insert("statusCode".into(), Value::String(code.clone()));
                }
                if !g.response_parameters.is_empty() {
                    r.insert("responseParameters".into(), json!(g.response_parameters));
                }
                if !g.response_templates.is_empty() {
                    r.insert("responseTemplates".into(), json!(g.response_templates));
                }
                (g.response_type.clone(), Value::Object(r))
            })
            .collect(),
    )
}

/// `x-amazon-apigateway-documentation`: the version and the parts.
pub fn documentation(
    value: &Value,
    pointer: &str,
    problems: &mut Vec<Problem>,
) -> (Option<String>, Vec<(DocumentationPartLocation, String)>) {
    let Some(obj) = object(value, pointer, problems) else {
        return (None, vec![]);
    };
    let version = opt_string(obj, "version");
    let mut parts = vec![];
    let at = child(pointer, "documentationParts");
    let Some(list) = obj.get("documentationParts") else {
        return (version, parts);
    };
    let Some(list) = list.as_array() else {
        problems.push(Problem {
            pointer: at,
            message: "documentationParts must be a list".into(),
        });
        return (version, parts);
    };
    for (i, part) in list.iter().enumerate() {
        let at = child(&at, &i.to_string());
        let location = part
            .get("location")
            .cloned()
            .map(serde_json::from_value::<DocumentationPartLocation>);
        let location = match location {
            Some(Ok(l)) => l.normalized().map_err(|e| e.to_string()),
            Some(Err(e)) => Err(format!("Invalid documentation location: {e}")),
            None => Err("A documentation part needs a location".into()),
        };
        let properties = match part.get("properties") {
            Some(p @ Value::Object(_)) => Ok(p.to_string()),
            Some(Value::String(s))
                if serde_json::from_str::<Value>(s).is_ok_and(|v| v.is_object()) =>
            {
                Ok(s.clone())
            }
            _ => Err("A documentation part needs properties (an object)".to_string()),
        };
        match (location, properties) {
            (Ok(l), Ok(p)) => parts.push((l, p)),
            (Err(message), _) | (_, Err(message)) => problems.push(Problem {
                pointer: at,
                message,
            }),
        }
    }
    (version, parts)
}

pub fn documentation_to_json(version: &str, parts: &[DocumentationPart]) -> Value {
    let parts: Vec<Value> = parts
        .iter()
        .map(|p| {
            json!({
                "location": p.location,
                "properties": serde_json::from_str::<Value>(&p.properties).unwrap_or_default(),
            })
        })
        .collect();
    json!({"version": version, "documentationParts": parts})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrations_read_lowercase_and_key_responses_by_status() {
        let mut problems = vec![];
        let i = integration(
            &json!({
                "type": "http", "httpMethod": "get", "uri": "http://example.test/pets",
                "passthroughBehavior": "when_no_match", "timeoutInMillis": 1000,
                "requestParameters": {"integration.request.path.id": "method.request.path.id"},
                "responses": {"default": {"statusCode": "200"}, "4\\d{2}": {"statusCode": "400"}}
            }),
            "/i",
            &mut problems,
        )
        .unwrap();
        assert!(problems.is_empty());
        assert_eq!(i.http_method.as_deref(), Some("GET"));
        let responses = i.integration_responses.as_ref().unwrap();
        assert_eq!(responses["200"].selection_pattern, None);
        assert_eq!(
            responses["400"].selection_pattern.as_deref(),
            Some("4\\d{2}")
        );
        let back = integration_to_json(&i);
        assert_eq!(back["type"], "http");
        assert_eq!(back["responses"]["4\\d{2}"]["statusCode"], "400");
        assert_eq!(back["responses"]["default"]["statusCode"], "200");
    }

    #[test]
    fn bad_integrations_say_where() {
        let mut problems = vec![];
        assert!(integration(&json!({"type": "teleport"}), "/p/get/x", &mut problems).is_none());
        assert_eq!(problems[0].pointer, "/p/get/x");
        problems.clear();
        let bad_response = json!({"type": "mock", "responses": {"default": {}}});
        assert!(integration(&bad_response, "/i", &mut problems).is_none());
        assert_eq!(problems[0].pointer, "/i/responses/default");
    }

    #[test]
    fn gateway_responses_and_documentation_parse() {
        let mut problems = vec![];
        let g = gateway_responses(
            &json!({"DEFAULT_4XX": {"statusCode": "400", "responseTemplates": {"application/json": "{}"}}, "NOPE": {}}),
            "/g",
            &mut problems,
        );
        assert_eq!(g.len(), 1);
        assert_eq!(problems[0].pointer, "/g/NOPE");
        problems.clear();
        let (version, parts) = documentation(
            &json!({"version": "1.0", "documentationParts": [
                {"location": {"type": "API"}, "properties": {"description": "pets"}},
                {"location": {"type": "METHOD", "path": "/pets"}, "properties": {"summary": "list"}}
            ]}),
            "/d",
            &mut problems,
        );
        assert!(problems.is_empty());
        assert_eq!(version.as_deref(), Some("1.0"));
        assert_eq!(parts[1].0.method.as_deref(), Some("*"));
    }
}
