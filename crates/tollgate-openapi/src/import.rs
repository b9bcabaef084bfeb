//! A definition into an [`ImportPlan`].

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use tollgate_model::rest::{
    BoolMap, DocumentationPartLocation, Method, MethodResponse, Model, PutMethod, StringMap,
};
use tollgate_model::validate::{self, PathPartKind};

use crate::ImportError;
use crate::document::{
    BasePath, Problem, Version, checked, child, parse_document, resolve, security_schemes, strings,
};
use crate::extensions as ext;
use crate::plan::{ApiSettings, ImportPlan, PlannedMethod, PlannedResource};
use crate::schema::{Findings, ToModel, inline_model_name, model_names};

/// The `parameters` of an import that change what is read.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub basepath: BasePath,
    /// `ignore=documentation`: leave `x-amazon-apigateway-documentation` out.
    pub ignore_documentation: bool,
}

pub(crate) const VERBS: &[(&str, &str)] = &[
    ("get", "GET"),
    ("put", "PUT"),
    ("post", "POST"),
    ("delete", "DELETE"),
    ("options", "OPTIONS"),
    ("head", "HEAD"),
    ("patch", "PATCH"),
    (ext::ANY_METHOD, "ANY"),
];

/// How a security scheme applies to the methods that name it.
#[derive(Debug, Clone)]
enum Scheme {
    ApiKey,
    Iam,
    /// An authorizer (by the scheme's name) of this type.
    Authorizer(String),
    /// Not something API Gateway can do; the warning is given once, where it is declared.
    Ignored,
}

struct Importer<'a> {
    doc: &'a Value,
    version: Version,
    api_id: &'a str,
    problems: Vec<Problem>,
    warnings: Vec<String>,
    names: BTreeMap<String, String>,
    models: BTreeMap<String, Model>,
    schemes: BTreeMap<String, Scheme>,
    validator_names: BTreeSet<String>,
    default_validator: Option<String>,
    authorizers: Vec<tollgate_model::rest::Authorizer>,
    /// Documentation parts from the definition's own `description`s, `summary`s and `tags`.
    described: Vec<(DocumentationPartLocation, String)>,
}

/// Reads a definition into a plan; `api_id` is the API the models' references will name.
pub fn import(
    source: &[u8],
    api_id: &str,
    options: &ImportOptions,
) -> Result<ImportPlan, ImportError> {
    let (doc, version) = parse_document(source)?;
    let mut importer = Importer {
        doc: &doc,
        version,
        api_id,
        problems: vec![],
        warnings: vec![],
        names: BTreeMap::new(),
        models: BTreeMap::new(),
        schemes: BTreeMap::new(),
        validator_names: BTreeSet::new(),
        default_validator: None,
        authorizers: vec![],
        described: vec![],
    };
    let plan = importer.run(options);
    checked(plan, importer.problems)
}

/// `ImportDocumentationParts`: only `x-amazon-apigateway-documentation` of a definition.
pub fn import_documentation(source: &[u8]) -> Result<ImportPlan, ImportError> {
    let (doc, _) = parse_document(source)?;
    let mut problems = vec![];
    let mut plan = ImportPlan::default();
    if let Some(d) = doc.get(ext::DOCUMENTATION) {
        let (version, parts) = ext::documentation(d, &child("", ext::DOCUMENTATION), &mut problems);
        plan.documentation_version = version;
        plan.documentation = parts;
    }
    checked(plan, problems)
}

fn str_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

impl Importer<'_> {
    fn problem(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            pointer: pointer.into(),
            message: message.into(),
        });
    }

    /// A documentation part for `part_type` at `path` (with `method`, `status` and `name` when
    /// the type has them), if `properties` has anything.
    fn describe(
        &mut self,
        part_type: &str,
        at: Option<(&str, &str)>,
        status: Option<&str>,
        name: Option<&str>,
        properties: Value,
    ) {
        if properties.as_object().is_none_or(Map::is_empty) {
            return;
        }
        let location = DocumentationPartLocation {
            part_type: part_type.into(),
            path: at.map(|(path, _)| path.to_string()),
            method: at.map(|(_, method)| method.to_string()),
            status_code: status.map(String::from),
            name: name.map(String::from),
        };
        if let Ok(location) = location.normalized()
            && !self.described.iter().any(|(l, _)| *l == location)
        {
            self.described.push((location, properties.to_string()));
        }
    }

    fn absorb(&mut self, findings: Findings) {
        self.problems.extend(findings.problems);
        for w in findings.warnings {
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
        }
    }

    fn run(&mut self, options: &ImportOptions) -> ImportPlan {
        let doc = self.doc;
        let mut plan = ImportPlan {
            settings: self.settings(),
            ..Default::default()
        };
        for key in doc.as_object().into_iter().flat_map(|o| o.keys()) {
            let known = [
                ext::API_KEY_SOURCE,
                ext::BINARY_MEDIA_TYPES,
                ext::DOCUMENTATION,
                ext::ENDPOINT_CONFIGURATION,
                ext::GATEWAY_RESPONSES,
                ext::MINIMUM_COMPRESSION_SIZE,
                ext::POLICY,
                ext::REQUEST_VALIDATOR,
                ext::REQUEST_VALIDATORS,
            ];
            if key.starts_with("x-amazon-apigateway-")
                && !known.contains(&key.as_str())
                && !ext::ACCEPTED_WITHOUT_EFFECT.contains(&key.as_str())
            {
                self.warnings.push(format!(
                    "Unsupported extension {key} at the top level. Ignoring."
                ));
            }
        }
        self.named_models();
        if let Some(v) = doc.get(ext::REQUEST_VALIDATORS) {
            plan.validators =
                ext::validators(v, &child("", ext::REQUEST_VALIDATORS), &mut self.problems);
            self.validator_names = plan.validators.iter().map(|v| v.name.clone()).collect();
        }
        if let Some(v) = doc.get(ext::REQUEST_VALIDATOR) {
            match v.as_str() {
                Some(name) if self.validator_names.contains(name) => {
                    self.default_validator = Some(name.to_string())
                }
                _ => self.problem(
                    child("", ext::REQUEST_VALIDATOR),
                    format!(
                        "Invalid request validator {v}: it is not one of {}",
                        ext::REQUEST_VALIDATORS
                    ),
                ),
            }
        }
        self.security_schemes();
        plan.resources = self.paths(options.basepath);
        if let Some(v) = doc.get(ext::GATEWAY_RESPONSES) {
            plan.gateway_responses =
                ext::gateway_responses(v, &child("", ext::GATEWAY_RESPONSES), &mut self.problems);
        }
        if !options.ignore_documentation {
            let mut explicit = vec![];
            if let Some(v) = doc.get(ext::DOCUMENTATION) {
                let (version, parts) =
                    ext::documentation(v, &child("", ext::DOCUMENTATION), &mut self.problems);
                plan.documentation_version = version;
                explicit = parts;
            }
            // With the extension, it is the documentation (AWS's exports carry it, and write
            // its parts into the descriptions too); without it, the descriptions are.
            plan.documentation = if doc.get(ext::DOCUMENTATION).is_some() {
                explicit
            } else {
                std::mem::take(&mut self.described)
            };
        }
        plan.models = std::mem::take(&mut self.models).into_values().collect();
        plan.authorizers = std::mem::take(&mut self.authorizers);
        plan.warnings = std::mem::take(&mut self.warnings);
        plan
    }

    fn settings(&mut self) -> ApiSettings {
        let doc = self.doc;
        let info = crate::document::info(doc, &mut self.problems);
        if let Some(d) = &info.description {
            self.describe(
                "API",
                None,
                None,
                None,
                serde_json::json!({"info": {"description": d}}),
            );
        }
        let mut settings = ApiSettings {
            name: info.name,
            description: info.description,
            version: info.version,
            ..Default::default()
        };
        if let Some(v) = doc.get(ext::BINARY_MEDIA_TYPES) {
            match v.as_array().map(|a| {
                a.iter()
                    .map(|t| t.as_str().map(String::from))
                    .collect::<Option<Vec<_>>>()
            }) {
                Some(Some(types)) => settings.binary_media_types = Some(types),
                _ => self.problem(
                    child("", ext::BINARY_MEDIA_TYPES),
                    "Expected a list of media types",
                ),
            }
        }
        if let Some(v) = doc.get(ext::MINIMUM_COMPRESSION_SIZE) {
            match v.as_i64() {
                Some(n) if validate::compression_size(n).is_ok() => {
                    settings.minimum_compression_size = Some(n)
                }
                _ => self.problem(
                    child("", ext::MINIMUM_COMPRESSION_SIZE),
                    "Invalid minimum compression size, must be between 0 and 10485760",
                ),
            }
        }
        if let Some(v) = doc.get(ext::API_KEY_SOURCE) {
            match v.as_str().map(str::to_ascii_uppercase) {
                Some(s) if s == "HEADER" || s == "AUTHORIZER" => settings.api_key_source = Some(s),
                _ => self.problem(
                    child("", ext::API_KEY_SOURCE),
                    format!("Invalid API key source {v}: expected HEADER or AUTHORIZER"),
                ),
            }
        }
        if let Some(v) = doc.get(ext::POLICY) {
            match v {
                Value::Object(_) => settings.policy = Some(v.to_string()),
                Value::String(s)
                    if serde_json::from_str::<Value>(s).is_ok_and(|p| p.is_object()) =>
                {
                    settings.policy = Some(s.clone())
                }
                _ => self.problem(child("", ext::POLICY), "The policy must be a JSON object"),
            }
        }
        if let Some(v) = doc.get(ext::ENDPOINT_CONFIGURATION) {
            let at = child("", ext::ENDPOINT_CONFIGURATION);
            match v.as_object() {
                Some(cfg) => {
                    settings.vpc_endpoint_ids = cfg
                        .get("vpcEndpointIds")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|s| s.as_str().map(String::from))
                                .collect()
                        });
                    settings.disable_execute_api_endpoint = cfg
                        .get("disableExecuteApiEndpoint")
                        .and_then(Value::as_bool);
                }
                None => self.problem(at, "Expected an object"),
            }
        }
        settings
    }

    /// Where the named schemas are, by version.
    fn schemas_pointer(&self) -> &'static str {
        match self.version {
            Version::OpenApi3 => "/components/schemas",
            Version::Swagger2 => "/definitions",
        }
    }

    fn named_models(&mut self) {
        let doc = self.doc;
        let pointer = self.schemas_pointer();
        let Some(schemas) = doc.pointer(pointer).and_then(Value::as_object) else {
            return;
        };
        // Both places are accepted in references whatever the version, as AWS does.
        let mut all: Vec<&String> = schemas.keys().collect();
        let other = if pointer == "/definitions" {
            "/components/schemas"
        } else {
            "/definitions"
        };
        let others = doc.pointer(other).and_then(Value::as_object);
        all.extend(others.iter().flat_map(|o| o.keys()));
        self.names = model_names(all.into_iter());
        let mut findings = Findings::default();
        for (original, schema) in schemas.iter().chain(others.into_iter().flatten()) {
            let name = self.names[original].clone();
            let at = child(
                if schemas.contains_key(original) {
                    pointer
                } else {
                    other
                },
                original,
            );
            let to = ToModel {
                doc,
                api_id: self.api_id,
                names: &self.names,
            };
            let text = to.model_schema(schema, &name, &at, &mut findings);
            self.models.insert(name.clone(), model(name, text, schema));
        }
        self.absorb(findings);
    }

    /// The model for a body or response schema: the named one it refers to, or a model made
    /// for it.
    /// Content type -> model of an OpenAPI 3 request body or response (`owner` at `pointer`):
    /// each `content.{type}.schema` as a model.
    fn content_models(&mut self, owner: &Value, pointer: &str) -> StringMap {
        let mut models = StringMap::new();
        let content = owner.get("content").and_then(Value::as_object);
        for (ct, media) in content.into_iter().flatten() {
            let Some(schema) = media.get("schema") else {
                continue;
            };
            let at = child(&child(&child(pointer, "content"), ct), "schema");
            if let Some(model) = self.schema_model(schema, &at) {
                models.insert(ct.clone(), model);
            }
        }
        models
    }

    fn schema_model(&mut self, schema: &Value, pointer: &str) -> Option<String> {
        if let Some(reference) = str_of(schema, "$ref") {
            let to = ToModel {
                doc: self.doc,
                api_id: self.api_id,
                names: &self.names,
            };
            if let Some(name) = to.named(reference) {
                return Some(name.to_string());
            }
        }
        if schema.as_object().is_some_and(Map::is_empty) {
            return None;
        }
        let mut findings = Findings::default();
        let to = ToModel {
            doc: self.doc,
            api_id: self.api_id,
            names: &self.names,
        };
        let converted = to.convert(schema, pointer, &mut Findings::default(), 0);
        let name = inline_model_name(&converted);
        let text = to.model_schema(schema, &name, pointer, &mut findings);
        self.absorb(findings);
        self.models
            .entry(name.clone())
            .or_insert_with(|| model(name.clone(), text, schema));
        Some(name)
    }

    fn security_schemes(&mut self) {
        let doc = self.doc;
        for (name, at, scheme) in security_schemes(doc, self.version, &mut self.problems) {
            let kind = str_of(scheme, "type").unwrap_or_default();
            let authtype = str_of(scheme, ext::AUTHTYPE)
                .unwrap_or_default()
                .to_ascii_lowercase();
            let has_authorizer = scheme.get(ext::AUTHORIZER).is_some();
            let applied = if authtype == "awssigv4"
                || authtype.starts_with("aws") && !has_authorizer
            {
                Scheme::Iam
            } else if has_authorizer {
                match ext::authorizer(name, scheme, &at, &mut self.problems) {
                    Some(a) => {
                        let kind = a.authorizer_type.clone();
                        self.authorizers.push(a);
                        Scheme::Authorizer(kind)
                    }
                    None => Scheme::Ignored,
                }
            } else if kind == "apiKey" {
                if str_of(scheme, "in") != Some("header")
                    || !str_of(scheme, "name").is_some_and(|n| n.eq_ignore_ascii_case("x-api-key"))
                {
                    self.warnings.push(format!(
                        "Security scheme '{name}': API keys are read from the x-api-key header (or an authorizer); its name and location are ignored."
                    ));
                }
                Scheme::ApiKey
            } else {
                self.warnings.push(format!(
                    "Unsupported security definition type '{kind}' for '{name}'. Ignoring."
                ));
                Scheme::Ignored
            };
            self.schemes.insert(name.clone(), applied);
        }
    }

    fn paths(&mut self, mode: BasePath) -> Vec<PlannedResource> {
        let doc = self.doc;
        let base = crate::document::base_path(doc, self.version, mode);
        let mut resources: BTreeMap<String, BTreeMap<String, PlannedMethod>> = BTreeMap::new();
        let mut origin: BTreeMap<String, String> = BTreeMap::new();
        let Some(paths) = doc.get("paths") else {
            self.problem("/paths", "The API definition has no paths");
            return vec![];
        };
        let Some(paths) = paths.as_object() else {
            self.problem("/paths", "paths must be an object");
            return vec![];
        };
        for (raw_path, item) in paths {
            let at = child("/paths", raw_path);
            if raw_path.starts_with("x-") {
                continue;
            }
            if !raw_path.starts_with('/') {
                self.problem(at, format!("Path '{raw_path}' must start with '/'"));
                continue;
            }
            let full = format!("{base}{raw_path}");
            let full = if full.len() > 1 {
                full.trim_end_matches('/').to_string()
            } else {
                full
            };
            let full = if full.is_empty() {
                "/".to_string()
            } else {
                full
            };
            let mut bad = false;
            for part in full.split('/').filter(|p| !p.is_empty()) {
                if let Err(e) = validate::path_part(part) {
                    self.problem(at.clone(), e.to_string());
                    bad = true;
                    break;
                }
            }
            if bad {
                continue;
            }
            let (item, item_at) = match resolve(doc, item, &at) {
                Ok(x) => x,
                Err(p) => {
                    self.problems.push(p);
                    continue;
                }
            };
            let shared: Vec<(Value, String)> = item
                .get("parameters")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .enumerate()
                        .map(|(i, p)| {
                            (
                                p.clone(),
                                child(&child(&item_at, "parameters"), &i.to_string()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let methods = resources.entry(full.clone()).or_default();
            if let Some(first) = origin.get(&full) {
                self.warnings.push(format!(
                    "Paths '{first}' and '{raw_path}' name the same resource '{full}'; their methods are merged."
                ));
            }
            origin
                .entry(full.clone())
                .or_insert_with(|| raw_path.clone());
            let mut planned = vec![];
            for (key, verb) in VERBS {
                let Some(op) = item.get(*key) else { continue };
                let op_at = child(&item_at, key);
                if let Some(m) = self.operation(&full, verb, op, &op_at, &shared) {
                    planned.push((verb.to_string(), m));
                }
            }
            if item.get("trace").is_some() {
                self.warnings.push(format!(
                    "Unsupported method TRACE on path '{raw_path}'. Ignoring."
                ));
            }
            methods.extend(planned);
        }
        self.check_tree(&resources, &origin);
        resources
            .into_iter()
            .map(|(path, methods)| PlannedResource { path, methods })
            .collect()
    }

    /// The tree rules of API Gateway: one variable child per resource, nothing under a greedy one.
    fn check_tree(
        &mut self,
        resources: &BTreeMap<String, BTreeMap<String, PlannedMethod>>,
        origin: &BTreeMap<String, String>,
    ) {
        let mut children: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for path in resources.keys() {
            let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
            for i in 0..parts.len() {
                let parent = format!("/{}", parts[..i].join("/"));
                children
                    .entry(parent)
                    .or_default()
                    .insert(parts[i].to_string());
            }
        }
        for (parent, kids) in &children {
            let variables: Vec<&String> = kids
                .iter()
                .filter(|k| validate::path_part(k).is_ok_and(|k| k != PathPartKind::Literal))
                .collect();
            let pointer_of = |p: &str| {
                let joined = if parent == "/" {
                    format!("/{p}")
                } else {
                    format!("{parent}/{p}")
                };
                let raw = origin
                    .iter()
                    .find(|(full, _)| full.starts_with(&joined))
                    .map(|(_, raw)| raw.clone())
                    .unwrap_or(joined);
                child("/paths", &raw)
            };
            if variables.len() > 1 {
                self.problem(
                    pointer_of(variables[1]),
                    format!(
                        "A sibling ({}) of this resource already has a variable path part -- only one is allowed",
                        variables[0]
                    ),
                );
            }
            let greedy = parent.rsplit('/').next().is_some_and(|last| {
                validate::path_part(last).is_ok_and(|k| k == PathPartKind::Greedy)
            });
            if greedy && let Some(first) = kids.iter().next() {
                self.problem(
                    pointer_of(first),
                    format!(
                        "Cannot create a child of a resource with a greedy path variable: {parent}"
                    ),
                );
            }
        }
    }

    fn operation(
        &mut self,
        path: &str,
        verb: &str,
        op: &Value,
        pointer: &str,
        shared: &[(Value, String)],
    ) -> Option<PlannedMethod> {
        let doc = self.doc;
        if !op.is_object() {
            self.problem(pointer, "An operation must be an object");
            return None;
        }
        let name = format!("{verb} {path}");
        let method_at = Some((path, verb));
        let mut about = Map::new();
        for key in ["summary", "description", "tags"] {
            if let Some(v) = op.get(key).filter(|v| v.as_str() != Some("")) {
                about.insert(key.into(), v.clone());
            }
        }
        self.describe("METHOD", method_at, None, None, Value::Object(about));
        // Parameters: the path item's, overridden by the operation's with the same name and place.
        let mut params: Vec<(Value, String)> = shared.to_vec();
        if let Some(list) = op.get("parameters").and_then(Value::as_array) {
            for (i, p) in list.iter().enumerate() {
                params.push((
                    p.clone(),
                    child(&child(pointer, "parameters"), &i.to_string()),
                ));
            }
        }
        let mut request_parameters = BoolMap::new();
        let mut request_models = StringMap::new();
        for (param, at) in &params {
            let (param, at) = match resolve(doc, param, at) {
                Ok(x) => x,
                Err(p) => {
                    self.problems.push(p);
                    continue;
                }
            };
            let Some(pname) = str_of(param, "name") else {
                self.problem(at, "A parameter needs a name");
                continue;
            };
            let required = param
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let place = str_of(param, "in").unwrap_or_default();
            let part_type = match place {
                "path" => Some("PATH_PARAMETER"),
                "query" => Some("QUERY_PARAMETER"),
                "header" => Some("REQUEST_HEADER"),
                "body" => Some("REQUEST_BODY"),
                _ => None,
            };
            if let (Some(part_type), Some(d)) = (part_type, str_of(param, "description")) {
                let name = (place != "body").then_some(pname);
                let about = serde_json::json!({ "description": d });
                self.describe(part_type, method_at, None, name, about);
            }
            match place {
                "path" => {
                    request_parameters.insert(format!("method.request.path.{pname}"), true);
                }
                "query" => {
                    request_parameters.insert(format!("method.request.querystring.{pname}"), required);
                }
                "header" => {
                    request_parameters.insert(format!("method.request.header.{pname}"), required);
                }
                "body" => {
                    let schema = param.get("schema").cloned().unwrap_or(Value::Null);
                    let schema_at = child(&at, "schema");
                    if let Some(model) = self.schema_model(&schema, &schema_at) {
                        for ct in self.media_types(op, "consumes") {
                            request_models.insert(ct, model.clone());
                        }
                    }
                }
                other => self.warnings.push(format!(
                    "Unsupported parameter location '{other}' for parameter '{pname}' on method '{name}'. Ignoring."
                )),
            }
        }
        // Path variables the definition forgot to declare are still parameters of the method.
        for part in path.split('/') {
            if let Some(var) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                let var = var.trim_end_matches('+');
                request_parameters
                    .entry(format!("method.request.path.{var}"))
                    .or_insert(true);
            }
        }
        if let Some(body) = op.get("requestBody") {
            let at = child(pointer, "requestBody");
            match resolve(doc, body, &at) {
                Ok((body, at)) => {
                    if let Some(d) = str_of(body, "description") {
                        let about = serde_json::json!({ "description": d });
                        self.describe("REQUEST_BODY", method_at, None, None, about);
                    }
                    request_models.extend(self.content_models(body, &at));
                }
                Err(p) => self.problems.push(p),
            }
        }
        let mut method = match Method::create(
            verb.to_string(),
            PutMethod {
                authorization_type: Some("NONE".into()),
                operation_name: str_of(op, "operationId").map(String::from),
                request_parameters: Some(request_parameters),
                request_models: Some(request_models),
                ..Default::default()
            },
        ) {
            Ok(m) => m,
            Err(e) => {
                self.problem(pointer, e.to_string());
                return None;
            }
        };
        method.method_responses = self.responses(op, pointer, &name);
        let authorizer = self.security(op, pointer, &name, &mut method);
        if let Some(auth) = op.get(ext::AUTH) {
            match str_of(auth, "type").map(str::to_ascii_uppercase).as_deref() {
                Some("AWS_IAM") => method.authorization_type = "AWS_IAM".into(),
                Some("NONE") => method.authorization_type = "NONE".into(),
                _ => self.problem(
                    child(pointer, ext::AUTH),
                    "x-amazon-apigateway-auth type must be AWS_IAM or NONE",
                ),
            }
        }
        let validator = match op.get(ext::REQUEST_VALIDATOR) {
            Some(v) => match v.as_str() {
                Some(n) if self.validator_names.contains(n) => Some(n.to_string()),
                _ => {
                    self.problem(
                        child(pointer, ext::REQUEST_VALIDATOR),
                        format!(
                            "Invalid request validator {v}: it is not one of {}",
                            ext::REQUEST_VALIDATORS
                        ),
                    );
                    None
                }
            },
            None => self.default_validator.clone(),
        };
        if let Some(integration) = op.get(ext::INTEGRATION) {
            let at = child(pointer, ext::INTEGRATION);
            if let Some(integration) = ext::integration(integration, &at, &mut self.problems) {
                // Every integration response answers with a method response of its status.
                let responses = method.method_responses.get_or_insert_with(Default::default);
                for status in integration
                    .integration_responses
                    .iter()
                    .flat_map(|r| r.keys())
                {
                    responses
                        .entry(status.clone())
                        .or_insert_with(|| MethodResponse {
                            status_code: status.clone(),
                            response_parameters: None,
                            response_models: None,
                        });
                }
                if responses.is_empty() {
                    method.method_responses = None;
                }
                method.method_integration = Some(integration);
            }
        }
        for key in op.as_object().into_iter().flat_map(|o| o.keys()) {
            let known = [ext::INTEGRATION, ext::AUTH, ext::REQUEST_VALIDATOR];
            if key.starts_with("x-amazon-apigateway-")
                && !known.contains(&key.as_str())
                && !ext::ACCEPTED_WITHOUT_EFFECT.contains(&key.as_str())
            {
                self.warnings.push(format!(
                    "Unsupported extension {key} on method '{name}'. Ignoring."
                ));
            }
        }
        Some(PlannedMethod {
            method,
            validator,
            authorizer,
        })
    }

    /// `consumes` / `produces` of a Swagger 2.0 operation, else of the document, else JSON.
    fn media_types(&self, op: &Value, key: &str) -> Vec<String> {
        let list = |v: &Value| {
            v.get(key).and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect::<Vec<_>>()
            })
        };
        list(op)
            .or_else(|| list(self.doc))
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| vec!["application/json".into()])
    }

    fn responses(
        &mut self,
        op: &Value,
        pointer: &str,
        name: &str,
    ) -> Option<BTreeMap<String, MethodResponse>> {
        let doc = self.doc;
        let responses = op.get("responses")?.as_object()?;
        let mut out = BTreeMap::new();
        for (code, response) in responses {
            if code.starts_with("x-") {
                continue;
            }
            let at = child(&child(pointer, "responses"), code);
            if validate::status_code(code).is_err() {
                self.warnings.push(format!(
                    "Unable to put method response on method '{name}' for status code '{code}': only three-digit status codes are supported. Ignoring."
                ));
                continue;
            }
            let (response, at) = match resolve(doc, response, &at) {
                Ok(x) => x,
                Err(p) => {
                    self.problems.push(p);
                    continue;
                }
            };
            let method_at = name.split_once(' ').map(|(verb, path)| (path, verb));
            if let Some(d) = str_of(response, "description").filter(|d| !d.is_empty()) {
                let about = serde_json::json!({ "description": d });
                self.describe("RESPONSE", method_at, Some(code), None, about);
            }
            for (header, spec) in response
                .get("headers")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if let Some(d) = str_of(spec, "description") {
                    let about = serde_json::json!({ "description": d });
                    self.describe(
                        "RESPONSE_HEADER",
                        method_at,
                        Some(code),
                        Some(header),
                        about,
                    );
                }
            }
            let headers: BoolMap = response
                .get("headers")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(h, _)| (format!("method.response.header.{h}"), false))
                .collect();
            let mut models = StringMap::new();
            match self.version {
                Version::OpenApi3 => {
                    models.extend(self.content_models(response, &at));
                }
                Version::Swagger2 => {
                    if let Some(schema) = response.get("schema")
                        && let Some(model) = self.schema_model(schema, &child(&at, "schema"))
                    {
                        for ct in self.media_types(op, "produces") {
                            models.insert(ct, model.clone());
                        }
                    }
                }
            }
            out.insert(
                code.clone(),
                MethodResponse {
                    status_code: code.clone(),
                    response_parameters: (!headers.is_empty()).then_some(headers),
                    response_models: (!models.is_empty()).then_some(models),
                },
            );
        }
        (!out.is_empty()).then_some(out)
    }

    /// `security` of the operation, else of the document: API keys, IAM and authorizers.
    /// Returns the name of the method's authorizer, if it has one.
    fn security(
        &mut self,
        op: &Value,
        pointer: &str,
        name: &str,
        method: &mut Method,
    ) -> Option<String> {
        let (requirements, at) = match op.get("security") {
            Some(s) => (s, child(pointer, "security")),
            None => (self.doc.get("security")?, "/security".to_string()),
        };
        let Some(requirements) = requirements.as_array() else {
            self.problem(at, "security must be a list");
            return None;
        };
        let mut authorizer = None;
        for requirement in requirements.iter().filter_map(Value::as_object) {
            for (scheme_name, scopes) in requirement {
                match self.schemes.get(scheme_name).cloned() {
                    Some(Scheme::ApiKey) => method.api_key_required = true,
                    Some(Scheme::Iam) => method.authorization_type = "AWS_IAM".into(),
                    Some(Scheme::Authorizer(kind)) => {
                        method.authorization_type = if kind == "COGNITO_USER_POOLS" {
                            let scopes = strings(scopes);
                            method.authorization_scopes = (!scopes.is_empty()).then_some(scopes);
                            "COGNITO_USER_POOLS".into()
                        } else {
                            "CUSTOM".into()
                        };
                        authorizer = Some(scheme_name.clone());
                    }
                    Some(Scheme::Ignored) => {}
                    None => self.problem(
                        at.clone(),
                        format!("Method '{name}' names security scheme '{scheme_name}', which is not defined"),
                    ),
                }
            }
        }
        authorizer
    }
}

fn model(name: String, schema: String, original: &Value) -> Model {
    Model {
        id: String::new(),
        name,
        description: str_of(original, "description").map(String::from),
        schema: Some(schema),
        content_type: "application/json".into(),
    }
}

#[cfg(test)]
mod tests;
