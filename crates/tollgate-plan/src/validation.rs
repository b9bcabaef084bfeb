//! Request validation: required parameters and JSON Schema (draft 4) models, compiled once per
//! method from its request validator and the API's models.

use std::collections::BTreeMap;

use serde_json::Value;
use tollgate_model::rest::{ApiSnapshot, Method};

/// Where a required parameter must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterLocation {
    Path,
    Query,
    Header,
}

/// What a method checks before its integration runs.
pub struct RequestValidation {
    /// Required parameters (with `validateRequestParameters`).
    pub required: Vec<(ParameterLocation, String)>,
    /// Body schemas by content type (with `validateRequestBody`); `$default` applies to any
    /// other content type.
    pub body: Vec<(String, jsonschema::Validator)>,
}

/// Why a request failed validation: the message the client gets and the detail for
/// `$context.error.validationErrorString`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidationFailure {
    MissingParameters(Vec<String>),
    InvalidBody(String),
}

impl RequestValidation {
    /// `None` when the method has no validator, or one that checks nothing.
    pub fn compile(method: &Method, snapshot: &ApiSnapshot) -> Option<Self> {
        let id = method.request_validator_id.as_deref()?;
        let validator = snapshot.request_validators.iter().find(|v| v.id == id)?;
        let mut required = Vec::new();
        if validator.validate_request_parameters {
            for (name, is_required) in method.request_parameters.iter().flatten() {
                let Some(rest) = name.strip_prefix("method.request.") else {
                    continue;
                };
                let location = match rest.split_once('.') {
                    Some(("path", n)) => (ParameterLocation::Path, n),
                    Some(("querystring" | "multivaluequerystring", n)) => {
                        (ParameterLocation::Query, n)
                    }
                    Some(("header" | "multivalueheader", n)) => (ParameterLocation::Header, n),
                    _ => continue,
                };
                if *is_required {
                    required.push((location.0, location.1.to_string()));
                }
            }
        }
        let mut body = Vec::new();
        if validator.validate_request_body {
            for (content_type, model) in method.request_models.iter().flatten() {
                let models: Vec<(&str, Option<&str>)> = snapshot
                    .models
                    .iter()
                    .map(|m| (m.name.as_str(), m.schema.as_deref()))
                    .collect();
                match compile_model(model, &models) {
                    Ok(v) => body.push((content_type.to_ascii_lowercase(), v)),
                    Err(e) => {
                        tracing::warn!(model, error = %e, "model schema does not compile; body not validated")
                    }
                }
            }
        }
        (!required.is_empty() || !body.is_empty()).then_some(Self { required, body })
    }

    /// Checks a request; `present` tells whether a parameter was sent.
    pub fn check(
        &self,
        present: impl Fn(ParameterLocation, &str) -> bool,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), ValidationFailure> {
        let missing: Vec<String> = self
            .required
            .iter()
            .filter(|(location, name)| !present(*location, name))
            .map(|(_, name)| name.clone())
            .collect();
        if !missing.is_empty() {
            return Err(ValidationFailure::MissingParameters(missing));
        }
        let wanted = content_type
            .map(|c| {
                c.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "application/json".into());
        let schema = self
            .body
            .iter()
            .find(|(ct, _)| *ct == wanted)
            .or_else(|| self.body.iter().find(|(ct, _)| ct == "$default"));
        let Some((_, schema)) = schema else {
            return Ok(());
        };
        let instance: Value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(body)
                .map_err(|e| ValidationFailure::InvalidBody(format!("[Invalid JSON: {e}]")))?
        };
        let errors: Vec<String> = schema
            .iter_errors(&instance)
            .map(|e| e.to_string())
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationFailure::InvalidBody(format!(
                "[{}]",
                errors.join(", ")
            )))
        }
    }
}

/// Model `name`'s schema as a draft-4 validator, with `$ref`s to the API's other `models`
/// (name and schema; `https://apigateway.amazonaws.com/restapis/{id}/models/{name}`) resolved
/// locally. REST and WebSocket APIs both compile their models here.
pub(crate) fn compile_model(
    name: &str,
    models: &[(&str, Option<&str>)],
) -> Result<jsonschema::Validator, String> {
    let parse = |model: &str| -> Result<Value, String> {
        let (_, schema) = models
            .iter()
            .find(|(n, _)| *n == model)
            .ok_or_else(|| format!("no model named {model}"))?;
        let mut schema: Value =
            serde_json::from_str(schema.unwrap_or("{}")).map_err(|e| e.to_string())?;
        rewrite_refs(&mut schema);
        Ok(schema)
    };
    let mut root = parse(name)?;
    let mut definitions: BTreeMap<String, Value> = BTreeMap::new();
    for (model, _) in models {
        if *model != name
            && let Ok(schema) = parse(model)
        {
            definitions.insert(model.to_string(), schema);
        }
    }
    if let Some(obj) = root.as_object_mut() {
        let defs = obj
            .entry("definitions")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(defs) = defs.as_object_mut() {
            for (k, v) in definitions {
                defs.entry(k).or_insert(v);
            }
        }
    }
    jsonschema::draft4::new(&root).map_err(|e| e.to_string())
}

/// `.../models/Name` becomes `#/definitions/Name`.
fn rewrite_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref")
                && let Some((_, model)) = reference.rsplit_once("/models/")
            {
                *reference = format!("#/definitions/{model}");
            }
            map.values_mut().for_each(rewrite_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snapshot() -> ApiSnapshot {
        serde_json::from_value(json!({
            "api": {"id": "a", "name": "a", "createdDate": 0, "apiKeySource": "HEADER",
                    "endpointConfiguration": {"types": ["EDGE"]}, "disableExecuteApiEndpoint": false,
                    "rootResourceId": "r"},
            "resources": [],
            "models": [
                {"id": "m1", "name": "Pet", "contentType": "application/json",
                 "schema": "{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{\"name\":{\"type\":\"string\"},\"owner\":{\"$ref\":\"https://apigateway.amazonaws.com/restapis/a/models/Owner\"}}}"},
                {"id": "m2", "name": "Owner", "contentType": "application/json",
                 "schema": "{\"type\":\"object\",\"properties\":{\"age\":{\"type\":\"integer\"}}}"}
            ],
            "requestValidators": [{"id": "v", "validateRequestBody": true, "validateRequestParameters": true}]
        }))
        .unwrap()
    }

    fn method() -> Method {
        serde_json::from_value(json!({
            "httpMethod": "POST", "authorizationType": "NONE", "apiKeyRequired": false,
            "requestValidatorId": "v",
            "requestParameters": {"method.request.querystring.q": true, "method.request.header.x-opt": false},
            "requestModels": {"application/json": "Pet"}
        }))
        .unwrap()
    }

    #[test]
    fn required_parameters_are_checked_first() {
        let v = RequestValidation::compile(&method(), &snapshot()).unwrap();
        let none = |_: ParameterLocation, _: &str| false;
        assert_eq!(
            v.check(none, None, b"{}"),
            Err(ValidationFailure::MissingParameters(vec!["q".into()]))
        );
    }

    #[test]
    fn bodies_are_checked_against_models_with_refs() {
        let v = RequestValidation::compile(&method(), &snapshot()).unwrap();
        let all = |_: ParameterLocation, _: &str| true;
        assert_eq!(
            v.check(all, Some("application/json"), b"{\"name\":\"rex\"}"),
            Ok(())
        );
        assert!(matches!(
            v.check(all, None, b"{}"),
            Err(ValidationFailure::InvalidBody(_))
        ));
        assert!(matches!(
            v.check(all, None, b"{\"name\":\"rex\",\"owner\":{\"age\":\"old\"}}"),
            Err(ValidationFailure::InvalidBody(_))
        ));
        assert!(matches!(
            v.check(all, None, b"not json"),
            Err(ValidationFailure::InvalidBody(_))
        ));
        assert_eq!(
            v.check(all, Some("text/plain"), b"anything"),
            Ok(()),
            "no model for that type"
        );
    }
}
