//! A definition into an [`HttpApiPlan`].

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use tollgate_model::ModelError;
use tollgate_model::v2::{
    Authorizer, AuthorizerInput, Cors, Integration, IntegrationInput, JwtConfiguration, Route,
    RouteInput, RouteKey, TlsConfig, child_id,
};

use super::HttpApiPlan;
use crate::ImportError;
use crate::document::{
    BasePath, Problem, Version, base_path, checked, child, info, parse_document, resolve,
    security_schemes, strings,
};
use crate::extensions::{self as ext, object, opt_string, string_map};
use crate::import::VERBS;

/// The path AWS uses for the `$default` route (under `x-amazon-apigateway-any-method`).
pub(crate) const DEFAULT_ROUTE_PATH: &str = "$default";

/// Top-level extensions an HTTP API takes.
const TOP_LEVEL: &[&str] = &[
    ext::CORS,
    ext::IMPORTEXPORT_VERSION,
    ext::ENDPOINT_CONFIGURATION,
    "x-amazon-apigateway-integrations",
];

/// How a security scheme applies to the routes that name it.
#[derive(Debug, Clone)]
enum Scheme {
    Iam,
    /// An authorizer: its id and route authorization type (`JWT` or `CUSTOM`).
    Authorizer {
        id: String,
        authorization: String,
    },
    /// Nothing an HTTP API can do (warned about where it is declared).
    Ignored,
}

struct Importer<'a> {
    doc: &'a Value,
    version: Version,
    problems: Vec<Problem>,
    warnings: Vec<String>,
    schemes: BTreeMap<String, Scheme>,
    /// Integrations by their content (id blank), so identical ones are one.
    integrations: Vec<Integration>,
}

/// Reads a definition for `ImportApi` / `ReimportApi`.
pub fn import_http_api(source: &[u8], basepath: BasePath) -> Result<HttpApiPlan, ImportError> {
    let (doc, version) = parse_document(source)?;
    let mut importer = Importer {
        doc: &doc,
        version,
        problems: vec![],
        warnings: vec![],
        schemes: BTreeMap::new(),
        integrations: vec![],
    };
    let plan = importer.run(basepath);
    checked(plan, importer.problems)
}

fn model_problem(pointer: &str, e: ModelError) -> Problem {
    Problem {
        pointer: pointer.to_string(),
        message: e.to_string(),
    }
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

impl Importer<'_> {
    fn problem(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            pointer: pointer.into(),
            message: message.into(),
        });
    }

    fn warn(&mut self, warning: String) {
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    fn run(&mut self, basepath: BasePath) -> HttpApiPlan {
        let doc = self.doc;
        let mut plan = HttpApiPlan::default();
        let info = info(doc, &mut self.problems);
        plan.name = info.name;
        plan.description = info.description;
        plan.version = info.version;
        for key in doc.as_object().into_iter().flat_map(Map::keys) {
            if key.starts_with("x-amazon-apigateway-") && !TOP_LEVEL.contains(&key.as_str()) {
                self.warn(format!(
                    "Unsupported extension {key} at the top level: HTTP APIs do not support it. Ignoring."
                ));
            }
        }
        if let Some(v) = doc.get(ext::IMPORTEXPORT_VERSION)
            && v.as_str() != Some("1.0")
            && v.as_f64() != Some(1.0)
        {
            self.problem(
                child("", ext::IMPORTEXPORT_VERSION),
                format!("Unsupported import/export version {v}: only 1.0 is supported"),
            );
        }
        if let Some(v) = doc.get(ext::CORS) {
            match serde_json::from_value::<Cors>(v.clone()) {
                Ok(cors) => plan.cors = Some(cors),
                Err(e) => self.problem(
                    child("", ext::CORS),
                    format!("Invalid CORS configuration: {e}"),
                ),
            }
        }
        // At the top level, or (as AWS exports it) on the server.
        let endpoint = doc.get(ext::ENDPOINT_CONFIGURATION).or_else(|| {
            doc.pointer("/servers/0")
                .and_then(|s| s.get(ext::ENDPOINT_CONFIGURATION))
        });
        plan.disable_execute_api_endpoint = endpoint
            .and_then(|v| v.get("disableExecuteApiEndpoint"))
            .and_then(Value::as_bool);
        for tag in doc
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = tag.get("name").and_then(Value::as_str) {
                let value = tag.get(ext::TAG_VALUE).and_then(Value::as_str);
                plan.tags
                    .insert(name.to_string(), value.unwrap_or_default().to_string());
            }
        }
        plan.authorizers = self.security_schemes();
        plan.routes = self.paths(basepath);
        plan.integrations = std::mem::take(&mut self.integrations);
        plan.warnings = std::mem::take(&mut self.warnings);
        plan
    }

    fn security_schemes(&mut self) -> Vec<Authorizer> {
        let doc = self.doc;
        let mut authorizers = vec![];
        for (name, at, scheme) in security_schemes(doc, self.version, &mut self.problems) {
            let authtype = scheme
                .get(ext::AUTHTYPE)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_ascii_lowercase();
            let applied = if let Some(config) = scheme.get(ext::AUTHORIZER) {
                match self.authorizer(name, config, &child(&at, ext::AUTHORIZER)) {
                    Some(a) => {
                        let authorization = if a.authorizer_type == "JWT" {
                            "JWT"
                        } else {
                            "CUSTOM"
                        };
                        let applied = Scheme::Authorizer {
                            id: a.authorizer_id.clone(),
                            authorization: authorization.into(),
                        };
                        authorizers.push(a);
                        applied
                    }
                    None => Scheme::Ignored,
                }
            } else if authtype == "awssigv4" {
                Scheme::Iam
            } else {
                let kind = scheme.get("type").and_then(Value::as_str).unwrap_or("");
                self.warn(format!(
                    "Security scheme '{name}' of type '{kind}' has no x-amazon-apigateway-authorizer: HTTP APIs support JWT and Lambda authorizers and IAM. Ignoring."
                ));
                Scheme::Ignored
            };
            self.schemes.insert(name.clone(), applied);
        }
        authorizers
    }

    /// `x-amazon-apigateway-authorizer` of an HTTP API: `jwt` or `request` (Lambda).
    fn authorizer(&mut self, name: &str, config: &Value, at: &str) -> Option<Authorizer> {
        let obj = object(config, at, &mut self.problems)?;
        let identity_source = match obj.get("identitySource") {
            None => None,
            Some(Value::String(s)) => Some(
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
            ),
            Some(list @ Value::Array(_)) => Some(strings(list)),
            Some(_) => {
                self.problem(
                    child(at, "identitySource"),
                    "identitySource must be a string",
                );
                return None;
            }
        };
        let jwt_configuration = match obj.get("jwtConfiguration") {
            None => None,
            Some(v) => match serde_json::from_value::<JwtConfiguration>(v.clone()) {
                Ok(c) => Some(c),
                Err(e) => {
                    self.problem(
                        child(at, "jwtConfiguration"),
                        format!("Invalid jwtConfiguration: {e}"),
                    );
                    return None;
                }
            },
        };
        let input = AuthorizerInput {
            name: Some(name.to_string()),
            authorizer_type: opt_string(obj, "type").map(|t| t.to_ascii_uppercase()),
            identity_source,
            jwt_configuration,
            authorizer_uri: opt_string(obj, "authorizerUri"),
            authorizer_payload_format_version: opt_string(obj, "authorizerPayloadFormatVersion"),
            enable_simple_responses: obj.get("enableSimpleResponses").and_then(Value::as_bool),
            authorizer_result_ttl_in_seconds: obj.get("authorizerResultTtlInSeconds").and_then(int),
            authorizer_credentials_arn: opt_string(obj, "authorizerCredentials"),
            identity_validation_expression: opt_string(obj, "identityValidationExpression"),
        };
        match Authorizer::create(&input, child_id()) {
            Ok(a) => Some(a),
            Err(e) => {
                self.problems.push(model_problem(at, e));
                None
            }
        }
    }

    fn paths(&mut self, basepath: BasePath) -> Vec<Route> {
        let doc = self.doc;
        let base = base_path(doc, self.version, basepath);
        let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
            self.problem("/paths", "The API definition needs paths (an object)");
            return vec![];
        };
        let mut routes: Vec<Route> = vec![];
        for (raw_path, item) in paths {
            if raw_path.starts_with("x-") {
                continue;
            }
            let at = child("/paths", raw_path);
            let (item, item_at) = match resolve(doc, item, &at) {
                Ok(x) => x,
                Err(p) => {
                    self.problems.push(p);
                    continue;
                }
            };
            let default_route = raw_path == DEFAULT_ROUTE_PATH;
            let path = if default_route {
                raw_path.clone()
            } else {
                let full = format!("{base}{raw_path}");
                match full.trim_end_matches('/') {
                    "" => "/".to_string(),
                    trimmed => trimmed.to_string(),
                }
            };
            for (key, verb) in VERBS {
                let Some(op) = item.get(*key) else { continue };
                let op_at = child(&item_at, key);
                let route_key = match (default_route, *verb) {
                    (true, "ANY") => "$default".to_string(),
                    (true, _) => {
                        self.problem(
                            op_at,
                            "The $default route takes any method: define it under x-amazon-apigateway-any-method",
                        );
                        continue;
                    }
                    (false, verb) => format!("{verb} {path}"),
                };
                if let Err(e) = RouteKey::parse(&route_key) {
                    self.problems.push(model_problem(&op_at, e));
                    continue;
                }
                if routes.iter().any(|r| r.route_key == route_key) {
                    self.problem(
                        op_at,
                        format!("Route {route_key} is defined more than once"),
                    );
                    continue;
                }
                if let Some(route) = self.operation(&route_key, op, &op_at) {
                    routes.push(route);
                }
            }
            if item.get("trace").is_some() {
                self.warn(format!(
                    "Unsupported method TRACE on path '{raw_path}'. Ignoring."
                ));
            }
        }
        routes
    }

    fn operation(&mut self, route_key: &str, op: &Value, at: &str) -> Option<Route> {
        if !op.is_object() {
            self.problem(at, "An operation must be an object");
            return None;
        }
        let mut input = RouteInput {
            route_key: Some(route_key.to_string()),
            operation_name: op
                .get("operationId")
                .and_then(Value::as_str)
                .map(String::from),
            ..Default::default()
        };
        self.security(op, at, route_key, &mut input);
        if let Some(integration) = op.get(ext::INTEGRATION) {
            let id = self.integration(integration, &child(at, ext::INTEGRATION))?;
            input.target = Some(format!("integrations/{id}"));
        }
        for key in op.as_object().into_iter().flat_map(Map::keys) {
            if key.starts_with("x-amazon-apigateway-") && key != ext::INTEGRATION {
                self.warn(format!(
                    "Unsupported extension {key} on route '{route_key}': HTTP APIs do not support it. Ignoring."
                ));
            }
        }
        match Route::create(&input, child_id()) {
            Ok(r) => Some(r),
            Err(e) => {
                self.problems.push(model_problem(at, e));
                None
            }
        }
    }

    /// `security` of the operation, else of the document. An HTTP API route has one
    /// authorization: the first requirement AWS can apply wins.
    fn security(&mut self, op: &Value, at: &str, route_key: &str, input: &mut RouteInput) {
        let (requirements, at) = match op.get("security") {
            Some(s) => (s, child(at, "security")),
            None => match self.doc.get("security") {
                Some(s) => (s, "/security".to_string()),
                None => return,
            },
        };
        let Some(requirements) = requirements.as_array() else {
            self.problem(at, "security must be a list");
            return;
        };
        for requirement in requirements.iter().filter_map(Value::as_object) {
            for (scheme, scopes) in requirement {
                let applied = match self.schemes.get(scheme).cloned() {
                    Some(Scheme::Iam) => {
                        input.authorization_type = Some("AWS_IAM".into());
                        true
                    }
                    Some(Scheme::Authorizer { id, authorization }) => {
                        let scopes = strings(scopes);
                        input.authorization_scopes = (!scopes.is_empty()).then_some(scopes);
                        input.authorization_type = Some(authorization);
                        input.authorizer_id = Some(id);
                        true
                    }
                    Some(Scheme::Ignored) => false,
                    None => {
                        self.problem(
                            at.clone(),
                            format!(
                                "Route '{route_key}' names security scheme '{scheme}', which is not defined"
                            ),
                        );
                        false
                    }
                };
                if applied {
                    return;
                }
            }
        }
    }

    /// `x-amazon-apigateway-integration` (inline, or a `$ref` to
    /// `components/x-amazon-apigateway-integrations`): the id of its integration.
    fn integration(&mut self, value: &Value, at: &str) -> Option<String> {
        let (value, at) = match resolve(self.doc, value, at) {
            Ok(x) => x,
            Err(p) => {
                self.problems.push(p);
                return None;
            }
        };
        let obj = object(value, &at, &mut self.problems)?;
        let before = self.problems.len();
        let map_at = |key: &str, problems: &mut Vec<Problem>| {
            obj.get(key)
                .and_then(|v| string_map(v, &child(&at, key), problems))
        };
        let request_parameters = map_at("requestParameters", &mut self.problems);
        let mut response_parameters = None;
        if let Some(v) = obj.get("responseParameters") {
            let at = child(&at, "responseParameters");
            let mut out = BTreeMap::new();
            for (status, map) in object(v, &at, &mut self.problems).into_iter().flatten() {
                if let Some(m) = string_map(map, &child(&at, status), &mut self.problems) {
                    out.insert(status.clone(), m);
                }
            }
            response_parameters = Some(out);
        }
        let timeout = match obj.get("timeoutInMillis") {
            None => None,
            Some(v) => {
                let n = int(v);
                if n.is_none() {
                    self.problem(
                        child(&at, "timeoutInMillis"),
                        "timeoutInMillis must be an integer",
                    );
                }
                n
            }
        };
        if self.problems.len() > before {
            return None;
        }
        let input = IntegrationInput {
            integration_type: opt_string(obj, "type").map(|t| t.to_ascii_uppercase()),
            integration_uri: opt_string(obj, "uri"),
            integration_method: opt_string(obj, "httpMethod").map(|m| m.to_ascii_uppercase()),
            integration_subtype: opt_string(obj, "integrationSubtype"),
            connection_type: opt_string(obj, "connectionType"),
            connection_id: opt_string(obj, "connectionId"),
            payload_format_version: opt_string(obj, "payloadFormatVersion"),
            timeout_in_millis: timeout,
            description: opt_string(obj, "description"),
            credentials_arn: opt_string(obj, "credentials"),
            request_parameters,
            response_parameters,
            tls_config: obj
                .get("tlsConfig")
                .and_then(|t| t.get("serverNameToVerify"))
                .and_then(Value::as_str)
                .map(|s| TlsConfig {
                    server_name_to_verify: Some(s.to_string()),
                }),
            ..Default::default()
        };
        let integration = match Integration::create(&input, String::new()) {
            Ok(i) => i,
            Err(e) => {
                self.problems.push(model_problem(&at, e));
                return None;
            }
        };
        if let Some(same) = self.integrations.iter().find(|i| {
            Integration {
                integration_id: String::new(),
                ..(*i).clone()
            } == integration
        }) {
            return Some(same.integration_id.clone());
        }
        let id = child_id();
        self.integrations.push(Integration {
            integration_id: id.clone(),
            ..integration
        });
        Some(id)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const PETS: &str = r#"
openapi: 3.0.1
info:
  title: pets
  version: '2024-01-01'
x-amazon-apigateway-importexport-version: '1.0'
x-amazon-apigateway-cors:
  allowOrigins: ['https://example.com']
  maxAge: 300
tags:
- name: team
  x-amazon-apigateway-tag-value: pets
- name: public
paths:
  /pets:
    get:
      operationId: listPets
      security:
      - jwt: [pets:read]
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: http://backend.example.com/pets
        payloadFormatVersion: '1.0'
    post:
      security:
      - lambda: []
      x-amazon-apigateway-integration:
        $ref: '#/components/x-amazon-apigateway-integrations/fn'
  /pets/{id}:
    get:
      x-amazon-apigateway-integration:
        $ref: '#/components/x-amazon-apigateway-integrations/fn'
  $default:
    x-amazon-apigateway-any-method:
      isDefaultRoute: true
      x-amazon-apigateway-integration:
        type: aws_proxy
        uri: arn:aws:lambda:us-east-1:000000000000:function:fallback
        payloadFormatVersion: '2.0'
components:
  x-amazon-apigateway-integrations:
    fn:
      type: aws_proxy
      httpMethod: POST
      uri: arn:aws:lambda:us-east-1:000000000000:function:pets
      payloadFormatVersion: '2.0'
      timeoutInMillis: 5000
  securitySchemes:
    jwt:
      type: oauth2
      flows: {}
      x-amazon-apigateway-authorizer:
        type: jwt
        identitySource: $request.header.Authorization
        jwtConfiguration:
          issuer: https://issuer.example.com
          audience: [pets]
    lambda:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authorizer:
        type: request
        identitySource: $request.header.Authorization, $request.querystring.who
        authorizerUri: arn:aws:lambda:us-east-1:000000000000:function:auth
        authorizerPayloadFormatVersion: '2.0'
        enableSimpleResponses: true
        authorizerResultTtlInSeconds: 60
"#;

    fn route<'a>(plan: &'a HttpApiPlan, key: &str) -> &'a Route {
        plan.routes
            .iter()
            .find(|r| r.route_key == key)
            .unwrap_or_else(|| panic!("no route {key}"))
    }

    #[test]
    fn routes_integrations_and_authorizers_are_read() {
        let plan = import_http_api(PETS.as_bytes(), BasePath::Ignore).unwrap();
        assert_eq!(plan.name, "pets");
        assert_eq!(plan.warnings, Vec::<String>::new());
        assert_eq!(plan.cors.as_ref().unwrap().max_age, Some(300));
        assert_eq!(plan.tags["team"], "pets");
        assert_eq!(plan.tags["public"], "");
        let keys: Vec<&str> = plan.routes.iter().map(|r| r.route_key.as_str()).collect();
        assert_eq!(
            keys,
            ["GET /pets", "POST /pets", "GET /pets/{id}", "$default"]
        );
        // The shared integration is one.
        assert_eq!(plan.integrations.len(), 3);
        assert_eq!(
            route(&plan, "POST /pets").target,
            route(&plan, "GET /pets/{id}").target
        );
        let list = route(&plan, "GET /pets");
        assert_eq!(list.authorization_type, "JWT");
        assert_eq!(
            list.authorization_scopes.as_deref(),
            Some(&["pets:read".to_string()][..])
        );
        assert_eq!(list.operation_name.as_deref(), Some("listPets"));
        let jwt = plan.authorizers.iter().find(|a| a.name == "jwt").unwrap();
        assert_eq!(
            list.authorizer_id.as_deref(),
            Some(jwt.authorizer_id.as_str())
        );
        let lambda = plan
            .authorizers
            .iter()
            .find(|a| a.name == "lambda")
            .unwrap();
        assert_eq!(lambda.authorizer_type, "REQUEST");
        assert_eq!(
            lambda.identity_source,
            ["$request.header.Authorization", "$request.querystring.who"]
        );
        assert_eq!(lambda.authorizer_result_ttl_in_seconds, Some(60));
        assert_eq!(route(&plan, "POST /pets").authorization_type, "CUSTOM");
        let target = route(&plan, "$default").target.clone().unwrap();
        let fallback = plan
            .integrations
            .iter()
            .find(|i| target.ends_with(&i.integration_id))
            .unwrap();
        assert_eq!(fallback.integration_type, "AWS_PROXY");
        assert_eq!(fallback.payload_format_version, "2.0");
    }

    #[test]
    fn base_paths_apply_to_routes_but_not_to_default() {
        let doc = r#"{"openapi":"3.0.1","info":{"title":"t","version":"1"},
          "servers":[{"url":"https://x.example.com/v1/pets"}],
          "paths":{"/a":{"get":{}},"$default":{"x-amazon-apigateway-any-method":{}}}}"#;
        let keys = |mode| {
            import_http_api(doc.as_bytes(), mode)
                .unwrap()
                .routes
                .into_iter()
                .map(|r| r.route_key)
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(BasePath::Ignore), ["GET /a", "$default"]);
        assert_eq!(keys(BasePath::Prepend), ["GET /v1/pets/a", "$default"]);
        assert_eq!(keys(BasePath::Split), ["GET /pets/a", "$default"]);
    }

    #[test]
    fn problems_say_where_and_nothing_is_planned() {
        let doc = r#"{"openapi":"3.0.1","info":{"title":"t","version":"1"},
          "paths":{
            "/a":{"get":{"security":[{"nope":[]}]}},
            "/b":{"get":{"x-amazon-apigateway-integration":{"type":"mock"}}},
            "/c":{"get":{"x-amazon-apigateway-integration":{"type":"http_proxy","uri":"ftp://x","httpMethod":"GET"}}}
          }}"#;
        let e = import_http_api(doc.as_bytes(), BasePath::Ignore).unwrap_err();
        let pointers: Vec<&str> = e.0.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/paths/~1a/get/security",
                "/paths/~1b/get/x-amazon-apigateway-integration",
                "/paths/~1c/get/x-amazon-apigateway-integration"
            ],
            "{e}"
        );
        assert!(e.to_string().contains("'nope'"), "{e}");
        assert!(e.to_string().contains("MOCK"), "{e}");
    }

    #[test]
    fn rest_only_extensions_and_unusable_schemes_are_warnings() {
        let doc = r#"{"openapi":"3.0.1","info":{"title":"t","version":"1"},
          "x-amazon-apigateway-binary-media-types":["image/png"],
          "components":{"securitySchemes":{"key":{"type":"apiKey","name":"x-api-key","in":"header"}}},
          "paths":{"/a":{"get":{"security":[{"key":[]}],"x-amazon-apigateway-request-validator":"all"}}}}"#;
        let plan = import_http_api(doc.as_bytes(), BasePath::Ignore).unwrap();
        assert_eq!(plan.warnings.len(), 3, "{:?}", plan.warnings);
        assert!(plan.warnings[0].contains("binary-media-types"));
        assert_eq!(plan.routes[0].authorization_type, "NONE");
    }
}
