//! A deployed API out as OpenAPI 3.0 (`oas30`) or Swagger 2.0 (`swagger`).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};
use tollgate_model::rest::{ApiSnapshot, DocumentationPart, Method, Resource};

use crate::document::info_json;
use crate::extensions as ext;
use crate::schema::from_model_schema;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Oas30,
    Swagger,
}

impl ExportFormat {
    /// The `export_type` of `GetExport`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "oas30" => Some(Self::Oas30),
            "swagger" => Some(Self::Swagger),
            _ => None,
        }
    }
}

/// The `extensions` parameter of `GetExport`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extensions {
    pub integrations: bool,
    pub authorizers: bool,
    /// Every `x-amazon-apigateway-*` extension (integrations and authorizers included).
    pub apigateway: bool,
}

impl Extensions {
    /// `integrations`, `authorizers`, `apigateway` (comma-separated; `postman` adds nothing).
    pub fn parse(s: &str) -> Self {
        let mut out = Self::default();
        for part in s.split(',').map(str::trim) {
            match part {
                "integrations" => out.integrations = true,
                "authorizers" => out.authorizers = true,
                "apigateway" => out.apigateway = true,
                _ => {}
            }
        }
        out
    }

    fn integrations(self) -> bool {
        self.integrations || self.apigateway
    }

    fn authorizers(self) -> bool {
        self.authorizers || self.apigateway
    }
}

/// What to export and how.
pub struct ExportOptions<'a> {
    pub format: ExportFormat,
    pub extensions: Extensions,
    pub stage: &'a str,
    pub region: &'a str,
    /// `info.version` when the API has none: the deployment's date, as AWS does.
    pub fallback_version: String,
    /// The stage's documentation version and its parts, if it has one.
    pub documentation: Option<(&'a str, &'a [DocumentationPart])>,
}

/// Lowercase verb, or the any-method extension for `ANY`.
fn verb_key(verb: &str) -> String {
    if verb == "ANY" {
        ext::ANY_METHOD.to_string()
    } else {
        verb.to_ascii_lowercase()
    }
}

/// The definition of a deployment's API.
pub fn export(snapshot: &ApiSnapshot, options: &ExportOptions) -> Value {
    let api = &snapshot.api;
    let oas3 = options.format == ExportFormat::Oas30;
    let ref_prefix = if oas3 {
        "#/components/schemas/"
    } else {
        "#/definitions/"
    };
    let mut doc = Map::new();
    if oas3 {
        doc.insert("openapi".into(), json!("3.0.1"));
    } else {
        doc.insert("swagger".into(), json!("2.0"));
    }
    doc.insert(
        "info".into(),
        info_json(
            &api.name,
            api.description.as_deref(),
            api.version.as_deref(),
            &options.fallback_version,
        ),
    );
    let host = format!("{}.execute-api.{}.amazonaws.com", api.id, options.region);
    if oas3 {
        doc.insert(
            "servers".into(),
            json!([{
                "url": format!("https://{host}/{{basePath}}"),
                "variables": {"basePath": {"default": options.stage}}
            }]),
        );
    } else {
        doc.insert("host".into(), json!(host));
        doc.insert("basePath".into(), json!(format!("/{}", options.stage)));
        doc.insert("schemes".into(), json!(["https"]));
    }
    let validators = |id: &Option<String>| {
        id.as_ref().and_then(|id| {
            snapshot
                .request_validators
                .iter()
                .find(|v| &v.id == id)
                .map(|v| v.name.clone().unwrap_or_else(|| v.id.clone()))
        })
    };
    let mut paths = Map::new();
    let mut api_key_used = false;
    let mut iam_used = false;
    let mut authorizers_used = BTreeSet::new();
    for resource in &snapshot.resources {
        let path = resource.path.clone().unwrap_or_else(|| "/".into());
        let mut item = Map::new();
        for (verb, method) in &resource.resource_methods {
            let mut op = operation(method, resource, oas3, ref_prefix);
            let mut security = vec![];
            if method.api_key_required {
                api_key_used = true;
                security.push(json!({"api_key": []}));
            }
            if method.authorization_type == "AWS_IAM" {
                iam_used = true;
                security.push(json!({"sigv4": []}));
            }
            let authorizer = method
                .authorizer_id
                .as_ref()
                .and_then(|id| snapshot.authorizers.iter().find(|a| &a.id == id));
            if let Some(a) = authorizer.filter(|_| options.extensions.authorizers()) {
                let scopes = method.authorization_scopes.clone().unwrap_or_default();
                security.push(json!({ a.name.clone(): scopes }));
                authorizers_used.insert(a.id.clone());
            }
            if !security.is_empty() {
                op.insert("security".into(), Value::Array(security));
            }
            if options.extensions.apigateway
                && let Some(name) = validators(&method.request_validator_id)
            {
                op.insert(ext::REQUEST_VALIDATOR.into(), json!(name));
            }
            if options.extensions.integrations()
                && let Some(integration) = &method.method_integration
            {
                op.insert(
                    ext::INTEGRATION.into(),
                    ext::integration_to_json(integration),
                );
            }
            if let Some((_, parts)) = options.documentation {
                document_operation(&mut op, parts, &path, verb);
            }
            item.insert(verb_key(verb), Value::Object(op));
        }
        if !item.is_empty() {
            paths.insert(path, Value::Object(item));
        }
    }
    doc.insert("paths".into(), Value::Object(paths));
    let schemas: Map<String, Value> = snapshot
        .models
        .iter()
        .map(|m| {
            (
                m.name.clone(),
                from_model_schema(m.schema.as_deref(), ref_prefix),
            )
        })
        .collect();
    let mut schemes = Map::new();
    if api_key_used {
        schemes.insert(
            "api_key".into(),
            json!({"type": "apiKey", "name": "x-api-key", "in": "header"}),
        );
    }
    if iam_used {
        schemes.insert(
            "sigv4".into(),
            json!({"type": "apiKey", "name": "Authorization", "in": "header", ext::AUTHTYPE: "awsSigv4"}),
        );
    }
    for a in &snapshot.authorizers {
        if authorizers_used.contains(&a.id) {
            schemes.insert(a.name.clone(), ext::authorizer_to_json(a));
        }
    }
    if oas3 {
        let mut components = Map::new();
        if !schemas.is_empty() {
            components.insert("schemas".into(), Value::Object(schemas));
        }
        if !schemes.is_empty() {
            components.insert("securitySchemes".into(), Value::Object(schemes));
        }
        if !components.is_empty() {
            doc.insert("components".into(), Value::Object(components));
        }
    } else {
        if !schemes.is_empty() {
            doc.insert("securityDefinitions".into(), Value::Object(schemes));
        }
        if !schemas.is_empty() {
            doc.insert("definitions".into(), Value::Object(schemas));
        }
    }
    if options.extensions.apigateway {
        api_extensions(snapshot, &mut doc);
    }
    if let Some((version, parts)) = options.documentation
        && !parts.is_empty()
    {
        doc.insert(
            ext::DOCUMENTATION.into(),
            ext::documentation_to_json(version, parts),
        );
    }
    Value::Object(doc)
}

/// The properties of the part of `part_type` that applies to `path`/`method`/`status`/`name`:
/// the most specific one, a part at `/` or with `*` applying to all (AWS's content
/// inheritance).
fn documented(
    parts: &[DocumentationPart],
    part_type: &str,
    path: &str,
    method: &str,
    status: Option<&str>,
    name: Option<&str>,
) -> Option<Map<String, Value>> {
    let fits = |given: Option<&str>, wanted: &str, any: &str| match given {
        None => Some(0),
        Some(g) if g == wanted => Some(2),
        Some(g) if g == any => Some(1),
        Some(_) => None,
    };
    parts
        .iter()
        .filter(|p| p.location.part_type == part_type)
        .filter(|p| name.is_none() || p.location.name.as_deref() == name)
        .filter_map(|p| {
            let l = &p.location;
            let score = fits(l.path.as_deref(), path, "/")? * 100
                + fits(l.method.as_deref(), method, "*")? * 10
                + fits(l.status_code.as_deref(), status.unwrap_or("*"), "*")?;
            Some((score, p))
        })
        .max_by_key(|(score, _)| *score)
        .and_then(|(_, p)| serde_json::from_str::<Map<String, Value>>(&p.properties).ok())
}

/// Writes the documentation of a method into its operation: summary, description and tags,
/// and the descriptions of its parameters and responses.
fn document_operation(
    op: &mut Map<String, Value>,
    parts: &[DocumentationPart],
    path: &str,
    verb: &str,
) {
    if let Some(about) = documented(parts, "METHOD", path, verb, None, None) {
        for key in ["summary", "description", "tags"] {
            if let Some(v) = about.get(key) {
                op.insert(key.into(), v.clone());
            }
        }
    }
    let description =
        |about: Option<Map<String, Value>>| about.and_then(|a| a.get("description").cloned());
    for param in op
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let part_type = match param.get("in").and_then(Value::as_str) {
            Some("path") => "PATH_PARAMETER",
            Some("query") => "QUERY_PARAMETER",
            Some("header") => "REQUEST_HEADER",
            _ => continue,
        };
        let name = param.get("name").and_then(Value::as_str).map(String::from);
        if let Some(d) = description(documented(
            parts,
            part_type,
            path,
            verb,
            None,
            name.as_deref(),
        )) {
            param["description"] = d;
        }
    }
    for (code, response) in op
        .get_mut("responses")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flatten()
    {
        if let Some(d) = description(documented(parts, "RESPONSE", path, verb, Some(code), None)) {
            response["description"] = d;
        }
        for (name, header) in response
            .get_mut("headers")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flatten()
        {
            if let Some(d) = description(documented(
                parts,
                "RESPONSE_HEADER",
                path,
                verb,
                Some(code),
                Some(name),
            )) {
                header["description"] = d;
            }
        }
    }
}

fn api_extensions(snapshot: &ApiSnapshot, doc: &mut Map<String, Value>) {
    let api = &snapshot.api;
    if !snapshot.request_validators.is_empty() {
        let validators = snapshot.request_validators.iter().map(|v| {
            (
                v.name.as_deref().unwrap_or(v.id.as_str()),
                v.validate_request_body,
                v.validate_request_parameters,
            )
        });
        doc.insert(
            ext::REQUEST_VALIDATORS.into(),
            ext::validators_to_json(validators),
        );
    }
    if !snapshot.gateway_responses.is_empty() {
        doc.insert(
            ext::GATEWAY_RESPONSES.into(),
            ext::gateway_responses_to_json(&snapshot.gateway_responses),
        );
    }
    if let Some(types) = &api.binary_media_types {
        doc.insert(ext::BINARY_MEDIA_TYPES.into(), json!(types));
    }
    if let Some(size) = api.minimum_compression_size {
        doc.insert(ext::MINIMUM_COMPRESSION_SIZE.into(), json!(size));
    }
    if let Some(policy) = &api.policy {
        let value = serde_json::from_str::<Value>(policy).unwrap_or_else(|_| json!(policy));
        doc.insert(ext::POLICY.into(), value);
    }
    if api.api_key_source != "HEADER" {
        doc.insert(ext::API_KEY_SOURCE.into(), json!(api.api_key_source));
    }
    let mut endpoint = Map::new();
    if let Some(ids) = &api.endpoint_configuration.vpc_endpoint_ids {
        endpoint.insert("vpcEndpointIds".into(), json!(ids));
    }
    if api.disable_execute_api_endpoint {
        endpoint.insert("disableExecuteApiEndpoint".into(), json!(true));
    }
    if !endpoint.is_empty() {
        doc.insert(ext::ENDPOINT_CONFIGURATION.into(), Value::Object(endpoint));
    }
}

fn operation(
    method: &Method,
    resource: &Resource,
    oas3: bool,
    ref_prefix: &str,
) -> Map<String, Value> {
    let mut op = Map::new();
    if let Some(name) = &method.operation_name {
        op.insert("operationId".into(), json!(name));
    }
    let string_schema = |param: &mut Map<String, Value>| {
        if oas3 {
            param.insert("schema".into(), json!({"type": "string"}));
        } else {
            param.insert("type".into(), json!("string"));
        }
    };
    let mut parameters = vec![];
    let mut declared_path = BTreeSet::new();
    for (key, required) in method.request_parameters.iter().flatten() {
        let Some(rest) = key.strip_prefix("method.request.") else {
            continue;
        };
        let Some((location, name)) = rest.split_once('.') else {
            continue;
        };
        let place = match location {
            "path" => {
                declared_path.insert(name.to_string());
                "path"
            }
            "querystring" | "multivaluequerystring" => "query",
            "header" | "multivalueheader" => "header",
            _ => continue,
        };
        let mut param = Map::new();
        param.insert("name".into(), json!(name));
        param.insert("in".into(), json!(place));
        param.insert("required".into(), json!(*required || place == "path"));
        string_schema(&mut param);
        parameters.push(Value::Object(param));
    }
    let path = resource.path.as_deref().unwrap_or("/");
    for part in path.split('/') {
        if let Some(var) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            let var = var.trim_end_matches('+');
            if declared_path.insert(var.to_string()) {
                let mut param = Map::new();
                param.insert("name".into(), json!(var));
                param.insert("in".into(), json!("path"));
                param.insert("required".into(), json!(true));
                string_schema(&mut param);
                parameters.push(Value::Object(param));
            }
        }
    }
    let models = method.request_models.as_ref().filter(|m| !m.is_empty());
    if !oas3 {
        let mut consumes: Vec<&String> = models.iter().flat_map(|m| m.keys()).collect();
        consumes.dedup();
        if !consumes.is_empty() {
            op.insert("consumes".into(), json!(consumes));
        }
        let produces: BTreeSet<&String> = method
            .method_responses
            .iter()
            .flat_map(|r| r.values())
            .flat_map(|r| r.response_models.iter().flat_map(|m| m.keys()))
            .collect();
        if !produces.is_empty() {
            op.insert("produces".into(), json!(produces));
        }
        if let Some((_, model)) = models.and_then(|m| m.iter().next()) {
            parameters.push(json!({
                "in": "body", "name": model, "required": true,
                "schema": {"$ref": format!("{ref_prefix}{model}")}
            }));
        }
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    if oas3 && let Some(models) = models {
        let content: Map<String, Value> = models
            .iter()
            .map(|(ct, model)| {
                (
                    ct.clone(),
                    json!({"schema": {"$ref": format!("{ref_prefix}{model}")}}),
                )
            })
            .collect();
        op.insert(
            "requestBody".into(),
            json!({"content": content, "required": true}),
        );
    }
    let mut responses = Map::new();
    for (code, response) in method.method_responses.iter().flatten() {
        let mut r = Map::new();
        r.insert("description".into(), json!(format!("{code} response")));
        let headers: Map<String, Value> = response
            .response_parameters
            .iter()
            .flatten()
            .filter_map(|(k, _)| k.strip_prefix("method.response.header."))
            .map(|h| {
                let schema = if oas3 {
                    json!({"schema": {"type": "string"}})
                } else {
                    json!({"type": "string"})
                };
                (h.to_string(), schema)
            })
            .collect();
        if !headers.is_empty() {
            r.insert("headers".into(), Value::Object(headers));
        }
        if let Some(models) = response.response_models.as_ref().filter(|m| !m.is_empty()) {
            if oas3 {
                let content: Map<String, Value> = models
                    .iter()
                    .map(|(ct, model)| {
                        (
                            ct.clone(),
                            json!({"schema": {"$ref": format!("{ref_prefix}{model}")}}),
                        )
                    })
                    .collect();
                r.insert("content".into(), Value::Object(content));
            } else if let Some(model) = models.values().next() {
                r.insert(
                    "schema".into(),
                    json!({"$ref": format!("{ref_prefix}{model}")}),
                );
            }
        }
        responses.insert(code.clone(), Value::Object(r));
    }
    op.insert("responses".into(), Value::Object(responses));
    op
}

#[cfg(test)]
mod tests;
