use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::patch::{PatchOp, PatchOperation, PatchRules, PatchStyle, apply_all};
use crate::validate;

const VALIDATOR_RULES: PatchRules = PatchRules {
    style: PatchStyle::Listed,
    paths: &[
        ("/name", &[PatchOp::Replace]),
        ("/validateRequestBody", &[PatchOp::Replace]),
        ("/validateRequestParameters", &[PatchOp::Replace]),
    ],
};

const RULES: PatchRules = PatchRules {
    style: PatchStyle::Listed,
    paths: &[
        ("/description", &[PatchOp::Replace]),
        ("/schema", &[PatchOp::Replace]),
    ],
};

/// `Model`: a named schema for request and response payloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub content_type: String,
}

/// The body of `CreateModel`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateModel {
    pub name: Option<String>,
    pub description: Option<String>,
    pub schema: Option<String>,
    pub content_type: Option<String>,
}

impl Model {
    pub fn create(id: String, input: CreateModel) -> Result<Self, ModelError> {
        let name = validate::required("name", input.name)?;
        validate::model_name(&name)?;
        let content_type = validate::required("contentType", input.content_type)?;
        let model = Self {
            id,
            name,
            description: input.description,
            schema: input.schema,
            content_type,
        };
        model.check_schema()?;
        Ok(model)
    }

    /// The two models AWS puts in every new REST API.
    pub fn defaults() -> [Self; 2] {
        [
            Self {
                id: crate::ids::short_id(),
                name: "Error".into(),
                description: Some("This is a default error schema model".into()),
                schema: Some("{\n  \"$schema\" : \"http://json-schema.org/draft-04/schema#\",\n  \"title\" : \"Error Schema\",\n  \"type\" : \"object\",\n  \"properties\" : {\n    \"message\" : { \"type\" : \"string\" }\n  }\n}".into()),
                content_type: "application/json".into(),
            },
            Self {
                id: crate::ids::short_id(),
                name: "Empty".into(),
                description: Some("This is a default empty schema model".into()),
                schema: Some("{\n  \"$schema\": \"http://json-schema.org/draft-04/schema#\",\n  \"title\" : \"Empty Schema\",\n  \"type\" : \"object\"\n}".into()),
                content_type: "application/json".into(),
            },
        ]
    }

    /// JSON models must hold a JSON object.
    fn check_schema(&self) -> Result<(), ModelError> {
        let Some(schema) = &self.schema else {
            return Ok(());
        };
        if !self.content_type.contains("json") {
            return Ok(());
        }
        match serde_json::from_str::<serde_json::Value>(schema) {
            Ok(v) if v.is_object() => Ok(()),
            _ => Err(ModelError::invalid(
                "Invalid model specified: Validation Result: warnings : [], errors : [Invalid model schema specified. Model schema must be a valid JSON object]",
            )),
        }
    }

    /// `UpdateModel`: `/schema` and `/description`.
    pub fn patched(&self, ops: &[PatchOperation]) -> Result<Self, ModelError> {
        let patched = apply_all(self, ops, |m, op, path| {
            match (op.op, path) {
                (PatchOp::Replace, [p]) if p == "schema" => m.schema = op.optional_value(),
                (PatchOp::Replace, [p]) if p == "description" => {
                    m.description = op.optional_value()
                }
                _ => return Err(RULES.reject(op)),
            }
            Ok(())
        })?;
        patched.check_schema()?;
        Ok(patched)
    }

    /// `GetModelTemplate`: a mapping template that copies every property of the schema, as the
    /// console's generator does for simple object schemas.
    pub fn template(&self) -> String {
        let schema: serde_json::Value = self
            .schema
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let mut out = String::from("#set($inputRoot = $input.path('$'))\n");
        out.push_str(&template_for(&schema, "$inputRoot", 0));
        out
    }
}

fn template_for(schema: &serde_json::Value, reference: &str, depth: usize) -> String {
    let indent = "  ".repeat(depth);
    let kind = schema
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or("object");
    match kind {
        "object" => {
            let props = schema.get("properties").and_then(|p| p.as_object());
            let Some(props) = props.filter(|p| !p.is_empty()) else {
                return "{ }".to_string();
            };
            let fields: Vec<String> = props
                .iter()
                .map(|(name, sub)| {
                    let value = template_for(sub, &format!("{reference}.{name}"), depth + 1);
                    format!("{indent}  \"{name}\" : {value}")
                })
                .collect();
            format!("{{\n{}\n{indent}}}", fields.join(",\n"))
        }
        "array" => {
            let item = schema.get("items").cloned().unwrap_or_default();
            let var = format!("$elem{depth}");
            let body = template_for(&item, &var, depth + 1);
            format!(
                "[\n#foreach({var} in {reference})\n{indent}  {body}#if($foreach.hasNext),#end\n#end\n{indent}]"
            )
        }
        "string" => format!("\"{reference}\""),
        _ => reference.to_string(),
    }
}

/// `RequestValidator`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestValidator {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub validate_request_body: bool,
    pub validate_request_parameters: bool,
}

/// The body of `CreateRequestValidator`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRequestValidator {
    pub name: Option<String>,
    pub validate_request_body: Option<bool>,
    pub validate_request_parameters: Option<bool>,
}

impl RequestValidator {
    pub fn create(id: String, input: CreateRequestValidator) -> Result<Self, ModelError> {
        if let Some(name) = &input.name {
            validator_name(name)?;
        }
        Ok(Self {
            id,
            name: input.name,
            validate_request_body: input.validate_request_body.unwrap_or(false),
            validate_request_parameters: input.validate_request_parameters.unwrap_or(false),
        })
    }

    /// `UpdateRequestValidator`.
    pub fn patched(&self, ops: &[PatchOperation]) -> Result<Self, ModelError> {
        apply_all(self, ops, |v, op, path| {
            match (op.op, path) {
                (PatchOp::Replace, [p]) if p == "name" => {
                    let name = op.value.clone().unwrap_or_default();
                    validator_name(&name)?;
                    v.name = Some(name);
                }
                (PatchOp::Replace, [p]) if p == "validateRequestBody" => {
                    v.validate_request_body = op.bool_value()?
                }
                (PatchOp::Replace, [p]) if p == "validateRequestParameters" => {
                    v.validate_request_parameters = op.bool_value()?
                }
                _ => return Err(VALIDATOR_RULES.reject(op)),
            }
            Ok(())
        })
    }
}

fn validator_name(name: &str) -> Result<(), ModelError> {
    if name.trim().is_empty() {
        return Err(ModelError::invalid(
            "Request Validator name cannot be blank",
        ));
    }
    validate::name("name", name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_models_need_an_object_schema() {
        let input = |schema: &str| CreateModel {
            name: Some("Pet".into()),
            schema: Some(schema.into()),
            content_type: Some("application/json".into()),
            ..Default::default()
        };
        assert!(Model::create("m".into(), input("{\"type\":\"object\"}")).is_ok());
        assert!(Model::create("m".into(), input("{nope")).is_err());
    }

    #[test]
    fn template_copies_properties() {
        let [error, empty] = Model::defaults();
        assert!(
            error
                .template()
                .contains("\"message\" : \"$inputRoot.message\"")
        );
        assert!(empty.template().ends_with("{ }"));
    }
}
