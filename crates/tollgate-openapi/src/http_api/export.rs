//! An HTTP API out as OpenAPI 3.0 (`ExportApi`), in the form its importer reads back.

use serde_json::{Map, Value, json};
use tollgate_model::v2::{ApiSnapshot, Authorizer, Integration, Route};

use super::import::DEFAULT_ROUTE_PATH;
use crate::document::info_json;
use crate::extensions as ext;

/// What to export and how.
pub struct HttpExportOptions<'a> {
    /// `includeExtensions`: the `x-amazon-apigateway-*` extensions (integrations, authorizers,
    /// CORS).
    pub include_extensions: bool,
    /// `stageName`: the server URL's base path default; empty for `$default` or no stage.
    pub stage: &'a str,
    /// `info.version` when the API has none (its creation date, as AWS does).
    pub fallback_version: String,
}

/// The scheme name IAM routes are exported under.
const SIGV4: &str = "sigv4";

/// The definition of an HTTP API.
pub fn export_http_api(snapshot: &ApiSnapshot, options: &HttpExportOptions) -> Value {
    let api = &snapshot.api;
    let extensions = options.include_extensions;
    let mut doc = Map::new();
    doc.insert("openapi".into(), json!("3.0.1"));
    doc.insert(
        "info".into(),
        info_json(
            &api.name,
            api.description.as_deref(),
            api.version.as_deref(),
            &options.fallback_version,
        ),
    );
    let base = if options.stage == "$default" {
        ""
    } else {
        options.stage
    };
    let mut server = json!({
        "url": format!("{}/{{basePath}}", api.api_endpoint),
        "variables": {"basePath": {"default": base}}
    });
    if extensions && api.disable_execute_api_endpoint {
        server[ext::ENDPOINT_CONFIGURATION] = json!({"disableExecuteApiEndpoint": true});
    }
    doc.insert("servers".into(), json!([server]));
    let mut paths = Map::new();
    let mut routes: Vec<&Route> = snapshot.routes.iter().collect();
    routes.sort_by(|a, b| a.route_key.cmp(&b.route_key));
    for route in &routes {
        let (path, verb) = match route.route_key.split_once(' ') {
            Some((verb, path)) => (path, verb),
            None => (DEFAULT_ROUTE_PATH, "ANY"),
        };
        let key = if verb == "ANY" {
            ext::ANY_METHOD.to_string()
        } else {
            verb.to_ascii_lowercase()
        };
        if let Some(item) = paths
            .entry(path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
        {
            item.insert(key, Value::Object(operation(route, snapshot, extensions)));
        }
    }
    doc.insert("paths".into(), Value::Object(paths));
    let mut schemes = Map::new();
    for a in &snapshot.authorizers {
        schemes.insert(a.name.clone(), authorizer_scheme(a, extensions));
    }
    if routes.iter().any(|r| r.authorization_type == "AWS_IAM") {
        let mut scheme = json!({"type": "apiKey", "name": "Authorization", "in": "header"});
        if extensions {
            scheme[ext::AUTHTYPE] = json!("awsSigv4");
        }
        schemes.insert(SIGV4.into(), scheme);
    }
    if !schemes.is_empty() {
        doc.insert("components".into(), json!({"securitySchemes": schemes}));
    }
    if extensions && !api.tags.is_empty() {
        let tags: Vec<Value> = api
            .tags
            .iter()
            .map(|(name, value)| json!({"name": name, ext::TAG_VALUE: value}))
            .collect();
        doc.insert("tags".into(), Value::Array(tags));
    }
    if extensions {
        if let Some(cors) = &api.cors_configuration {
            doc.insert(ext::CORS.into(), json!(cors));
        }
        doc.insert(ext::IMPORTEXPORT_VERSION.into(), json!("1.0"));
    }
    Value::Object(doc)
}

fn operation(route: &Route, snapshot: &ApiSnapshot, extensions: bool) -> Map<String, Value> {
    let mut op = Map::new();
    if route.route_key == "$default" {
        op.insert("isDefaultRoute".into(), json!(true));
    }
    if let Some(name) = &route.operation_name {
        op.insert("operationId".into(), json!(name));
    }
    let parameters: Vec<Value> = route
        .route_key
        .split(['/', ' '])
        .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
        })
        .collect();
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    op.insert(
        "responses".into(),
        json!({"default": {"description": format!("Default response for {}", route.route_key)}}),
    );
    let scheme = match route.authorization_type.as_str() {
        "AWS_IAM" => Some((SIGV4.to_string(), vec![])),
        "JWT" | "CUSTOM" => route
            .authorizer_id
            .as_ref()
            .and_then(|id| snapshot.authorizers.iter().find(|a| &a.authorizer_id == id))
            .map(|a| {
                (
                    a.name.clone(),
                    route.authorization_scopes.clone().unwrap_or_default(),
                )
            }),
        _ => None,
    };
    if let Some((name, scopes)) = scheme {
        op.insert("security".into(), json!([{ name: scopes }]));
    }
    if extensions
        && let Some(id) = route.integration_id()
        && let Some(integration) = snapshot
            .integrations
            .iter()
            .find(|i| i.integration_id == id)
    {
        op.insert(ext::INTEGRATION.into(), integration_to_json(integration));
    }
    op
}

fn integration_to_json(i: &Integration) -> Value {
    let mut out = json!({
        "type": i.integration_type.to_ascii_lowercase(),
        "payloadFormatVersion": i.payload_format_version,
        "connectionType": i.connection_type,
        "timeoutInMillis": i.timeout_in_millis,
    });
    let mut set = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            out[key] = v;
        }
    };
    set("uri", i.integration_uri.as_ref().map(|v| json!(v)));
    set(
        "httpMethod",
        i.integration_method.as_ref().map(|v| json!(v)),
    );
    set("credentials", i.credentials_arn.as_ref().map(|v| json!(v)));
    set("description", i.description.as_ref().map(|v| json!(v)));
    set(
        "requestParameters",
        i.request_parameters.as_ref().map(|v| json!(v)),
    );
    set(
        "responseParameters",
        i.response_parameters.as_ref().map(|v| json!(v)),
    );
    set("tlsConfig", i.tls_config.as_ref().map(|v| json!(v)));
    out
}

/// A JWT authorizer is an `oauth2` scheme, a Lambda one an `apiKey` scheme on its first
/// header, as AWS exports them.
fn authorizer_scheme(a: &Authorizer, extensions: bool) -> Value {
    let mut scheme = if a.authorizer_type == "JWT" {
        json!({"type": "oauth2", "flows": {}})
    } else {
        let header = a
            .identity_source
            .iter()
            .find_map(|s| s.strip_prefix("$request.header."))
            .unwrap_or("Unused");
        json!({"type": "apiKey", "name": header, "in": "header"})
    };
    if extensions {
        let mut config = json!({
            "type": a.authorizer_type.to_ascii_lowercase(),
            "identitySource": a.identity_source.join(", "),
        });
        let mut set = |key: &str, value: Option<Value>| {
            if let Some(v) = value {
                config[key] = v;
            }
        };
        set(
            "jwtConfiguration",
            a.jwt_configuration.as_ref().map(|v| json!(v)),
        );
        set("authorizerUri", a.authorizer_uri.as_ref().map(|v| json!(v)));
        set(
            "authorizerPayloadFormatVersion",
            a.authorizer_payload_format_version
                .as_ref()
                .map(|v| json!(v)),
        );
        set(
            "enableSimpleResponses",
            a.enable_simple_responses.map(|v| json!(v)),
        );
        set(
            "authorizerResultTtlInSeconds",
            a.authorizer_result_ttl_in_seconds.map(|v| json!(v)),
        );
        set(
            "authorizerCredentials",
            a.authorizer_credentials_arn.as_ref().map(|v| json!(v)),
        );
        set(
            "identityValidationExpression",
            a.identity_validation_expression.as_ref().map(|v| json!(v)),
        );
        scheme[ext::AUTHORIZER] = config;
    }
    scheme
}

#[cfg(test)]
mod tests {
    use tollgate_model::v2::Api;

    use super::*;
    use crate::document::BasePath;
    use crate::http_api::import_http_api;

    fn snapshot(source: &str) -> ApiSnapshot {
        let plan = import_http_api(source.as_bytes(), BasePath::Ignore).unwrap();
        ApiSnapshot {
            api: Api {
                api_id: "abc".into(),
                name: plan.name,
                protocol_type: "HTTP".into(),
                api_endpoint: "http://abc.execute-api.localhost:4566".into(),
                api_key_selection_expression: "$request.header.x-api-key".into(),
                route_selection_expression: "$request.method $request.path".into(),
                created_date: "2024-01-01T00:00:00Z".into(),
                description: plan.description,
                cors_configuration: plan.cors,
                disable_execute_api_endpoint: plan.disable_execute_api_endpoint.unwrap_or(false),
                disable_schema_validation: None,
                version: plan.version,
                ip_address_type: "ipv4".into(),
                tags: plan.tags,
            },
            routes: plan.routes,
            integrations: plan.integrations,
            authorizers: plan.authorizers,
            route_responses: vec![],
            integration_responses: vec![],
            models: vec![],
        }
    }

    /// What makes two imports the same API, whatever ids they were given.
    fn shape(s: &ApiSnapshot) -> Vec<String> {
        let mut out: Vec<String> = s
            .routes
            .iter()
            .map(|r| {
                let integration = r.integration_id().and_then(|id| {
                    s.integrations
                        .iter()
                        .find(|i| i.integration_id == id)
                        .map(|i| Integration {
                            integration_id: String::new(),
                            ..i.clone()
                        })
                });
                let authorizer = r.authorizer_id.as_ref().and_then(|id| {
                    s.authorizers
                        .iter()
                        .find(|a| &a.authorizer_id == id)
                        .map(|a| Authorizer {
                            authorizer_id: String::new(),
                            ..a.clone()
                        })
                });
                format!(
                    "{} {} {:?} {:?} {integration:?} {authorizer:?}",
                    r.route_key, r.authorization_type, r.authorization_scopes, r.operation_name
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn export_then_import_gives_the_same_api() {
        let first = snapshot(super::super::import::tests::PETS);
        let options = HttpExportOptions {
            include_extensions: true,
            stage: "$default",
            fallback_version: "x".into(),
        };
        let doc = export_http_api(&first, &options);
        assert_eq!(doc["x-amazon-apigateway-importexport-version"], "1.0");
        assert_eq!(doc["servers"][0]["variables"]["basePath"]["default"], "");
        assert_eq!(
            doc["paths"]["$default"]["x-amazon-apigateway-any-method"]["isDefaultRoute"],
            true
        );
        let again = snapshot(&doc.to_string());
        assert_eq!(shape(&first), shape(&again));
        assert_eq!(first.integrations.len(), again.integrations.len());
        assert_eq!(first.api.cors_configuration, again.api.cors_configuration);
        assert_eq!(first.api.tags, again.api.tags);
        // The endpoint configuration travels on the server.
        let mut closed = first.clone();
        closed.api.disable_execute_api_endpoint = true;
        let doc = export_http_api(&closed, &options);
        assert!(snapshot(&doc.to_string()).api.disable_execute_api_endpoint);
        // And through YAML.
        let yaml = crate::to_yaml(&doc);
        assert_eq!(shape(&first), shape(&snapshot(&yaml)));
    }

    #[test]
    fn without_extensions_there_is_no_integration() {
        let s = snapshot(super::super::import::tests::PETS);
        let doc = export_http_api(
            &s,
            &HttpExportOptions {
                include_extensions: false,
                stage: "prod",
                fallback_version: "x".into(),
            },
        );
        let text = doc.to_string();
        // ANY is still the any-method key: OpenAPI has no other way to say it.
        for extension in ["integration", "authorizer", "cors", "importexport"] {
            assert!(
                !text.contains(&format!("x-amazon-apigateway-{extension}")),
                "{doc}"
            );
        }
        assert_eq!(
            doc["servers"][0]["variables"]["basePath"]["default"],
            "prod"
        );
        assert_eq!(
            doc["paths"]["/pets"]["get"]["security"][0]["jwt"][0],
            "pets:read"
        );
    }
}
