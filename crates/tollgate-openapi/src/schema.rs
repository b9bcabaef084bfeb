//! Schemas between OpenAPI and API Gateway models (JSON Schema draft 4): references to named
//! schemas become model URLs on import and `#/components/schemas/...` (or `#/definitions/...`)
//! on export; the keywords draft 4 does not know are dropped.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::document::{Problem, child, lookup};

pub const DRAFT4: &str = "http://json-schema.org/draft-04/schema#";

/// OpenAPI keywords with no meaning in draft 4 (AWS ignores them on import).
const OPENAPI_ONLY: &[&str] = &[
    "nullable",
    "discriminator",
    "readOnly",
    "writeOnly",
    "xml",
    "externalDocs",
    "example",
    "examples",
    "deprecated",
];

/// Keywords whose value is a map of schemas.
const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties", "definitions"];
/// Keywords whose value is a schema (or, for some, a boolean or a list of schemas).
const SCHEMA_VALUES: &[&str] = &["items", "additionalProperties", "not", "additionalItems"];
const SCHEMA_LISTS: &[&str] = &["allOf", "anyOf", "oneOf"];

/// A model name from a schema name: API Gateway model names are alphanumeric.
pub fn model_name_for(original: &str) -> String {
    let name: String = original
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    if name.is_empty() {
        "Model".to_string()
    } else {
        name
    }
}

/// Named schemas (`components/schemas` or `definitions`) to model names, distinct even when
/// two names differ only in characters a model name cannot have.
pub fn model_names<'a>(originals: impl Iterator<Item = &'a String>) -> BTreeMap<String, String> {
    let mut taken = std::collections::BTreeSet::new();
    let mut out = BTreeMap::new();
    for original in originals {
        let base = model_name_for(original);
        let mut name = base.clone();
        let mut n = 1;
        while !taken.insert(name.to_ascii_lowercase()) {
            n += 1;
            name = format!("{base}{n}");
        }
        out.insert(original.clone(), name);
    }
    out
}

/// The name of a model for an inline schema: stable for the same schema, so importing the
/// same definition twice gives the same names.
pub fn inline_model_name(schema: &Value) -> String {
    let text = serde_json::to_string(schema).unwrap_or_default();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("Model{:08x}", hash >> 32)
}

/// What converting schemas found: problems stop the import, warnings do not.
#[derive(Debug, Default)]
pub struct Findings {
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
}

/// How import turns schemas into models.
pub struct ToModel<'a> {
    pub doc: &'a Value,
    pub api_id: &'a str,
    /// Schema name -> model name, for `#/components/schemas/X` and `#/definitions/X`.
    pub names: &'a BTreeMap<String, String>,
}

impl ToModel<'_> {
    /// The model name a `$ref` to a named schema stands for, if it is one.
    pub fn named(&self, reference: &str) -> Option<&str> {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .or_else(|| reference.strip_prefix("#/definitions/"))?;
        let name = name.replace("~1", "/").replace("~0", "~");
        self.names.get(&name).map(String::as_str)
    }

    /// A whole model schema: draft 4, titled with the model's name.
    pub fn model_schema(
        &self,
        schema: &Value,
        title: &str,
        pointer: &str,
        problems: &mut Findings,
    ) -> String {
        let mut converted = self.convert(schema, pointer, problems, 0);
        if let Value::Object(map) = &mut converted {
            let mut out = Map::new();
            out.insert("$schema".into(), Value::String(DRAFT4.into()));
            out.insert("title".into(), Value::String(title.into()));
            for (k, v) in std::mem::take(map) {
                if k != "$schema" && k != "title" {
                    out.insert(k, v);
                }
            }
            converted = Value::Object(out);
        } else {
            problems.problems.push(Problem {
                pointer: pointer.to_string(),
                message: "A schema must be an object".into(),
            });
        }
        serde_json::to_string(&converted).unwrap_or_default()
    }

    /// One schema, with its references rewritten and OpenAPI-only keywords removed.
    pub fn convert(
        &self,
        schema: &Value,
        pointer: &str,
        problems: &mut Findings,
        depth: usize,
    ) -> Value {
        let Value::Object(map) = schema else {
            return schema.clone();
        };
        if depth > 64 {
            problems.problems.push(Problem {
                pointer: pointer.to_string(),
                message: "Schema is nested too deeply".into(),
            });
            return Value::Object(Map::new());
        }
        if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
            if let Some(model) = self.named(reference) {
                let mut out = Map::new();
                out.insert(
                    "$ref".into(),
                    Value::String(crate::model_url(self.api_id, model)),
                );
                return Value::Object(out);
            }
            // A reference into something that is not a named schema: inline what it points at.
            // One that leads nowhere is a warning, as a missing model reference is on AWS.
            return match reference
                .strip_prefix('#')
                .and_then(|p| lookup(self.doc, p))
            {
                Some(target) => self.convert(target, pointer, problems, depth + 1),
                None => {
                    problems.warnings.push(format!(
                        "Unable to resolve the model reference '{reference}' at {}; it is left out.",
                        child(pointer, "$ref")
                    ));
                    Value::Object(Map::new())
                }
            };
        }
        let nullable = map.get("nullable").and_then(Value::as_bool) == Some(true);
        let mut out = Map::new();
        for (key, value) in map {
            if OPENAPI_ONLY.contains(&key.as_str()) || key.starts_with("x-") {
                continue;
            }
            let at = child(pointer, key);
            let converted = if SCHEMA_MAPS.contains(&key.as_str()) {
                match value {
                    Value::Object(entries) => Value::Object(
                        entries
                            .iter()
                            .map(|(k, v)| {
                                let at = child(&at, k);
                                (k.clone(), self.convert(v, &at, problems, depth + 1))
                            })
                            .collect(),
                    ),
                    other => other.clone(),
                }
            } else if SCHEMA_VALUES.contains(&key.as_str()) || SCHEMA_LISTS.contains(&key.as_str())
            {
                match value {
                    Value::Array(items) => Value::Array(
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, v)| {
                                self.convert(v, &child(&at, &i.to_string()), problems, depth + 1)
                            })
                            .collect(),
                    ),
                    other => self.convert(other, &at, problems, depth + 1),
                }
            } else {
                value.clone()
            };
            out.insert(key.clone(), converted);
        }
        if nullable && let Some(Value::String(t)) = out.get("type") {
            let t = t.clone();
            out.insert("type".into(), serde_json::json!([t, "null"]));
        }
        Value::Object(out)
    }
}

/// A stored model's schema as an OpenAPI schema: model URLs become `{prefix}{name}`, and the
/// `$schema` keyword goes.
pub fn from_model_schema(schema: Option<&str>, prefix: &str) -> Value {
    let mut value: Value = schema
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_else(|| Value::Object(Map::new()));
    if let Value::Object(map) = &mut value {
        map.shift_remove("$schema");
    }
    rewrite_model_urls(&mut value, prefix);
    value
}

fn rewrite_model_urls(value: &mut Value, prefix: &str) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref")
                && let Some((_, model)) = reference.rsplit_once("/models/")
            {
                *reference = format!("{prefix}{model}");
            }
            map.values_mut().for_each(|v| rewrite_model_urls(v, prefix));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_model_urls(v, prefix)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_alphanumeric_and_distinct() {
        let originals = [
            "Pet".to_string(),
            "pet-store".into(),
            "pet_store".into(),
            "_".into(),
        ];
        let names = model_names(originals.iter());
        assert_eq!(names["Pet"], "Pet");
        assert_eq!(names["pet-store"], "petstore");
        assert_eq!(names["pet_store"], "petstore2");
        assert_eq!(names["_"], "Model");
    }

    #[test]
    fn references_become_model_urls_and_back() {
        let doc = json!({"components": {"schemas": {"Pet": {"type": "object"}, "Tag": {"type": "string"}}}});
        let names = model_names(["Pet".to_string(), "Tag".into()].iter());
        let to = ToModel {
            doc: &doc,
            api_id: "abc",
            names: &names,
        };
        let mut problems = Findings::default();
        let schema = json!({
            "type": "object",
            "nullable": true,
            "example": {"a": 1},
            "properties": {
                "example": {"type": "string", "readOnly": true},
                "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}},
                "owner": {"$ref": "#/components/schemas/Pet"}
            }
        });
        let text = to.model_schema(&schema, "Pets", "/x", &mut problems);
        assert!(problems.problems.is_empty() && problems.warnings.is_empty());
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["$schema"], DRAFT4);
        assert_eq!(v["title"], "Pets");
        assert_eq!(v["type"], json!(["object", "null"]));
        assert!(v.get("example").is_none());
        assert_eq!(v["properties"]["example"], json!({"type": "string"}));
        assert_eq!(
            v["properties"]["tags"]["items"]["$ref"],
            "https://apigateway.amazonaws.com/restapis/abc/models/Tag"
        );
        let back = from_model_schema(Some(&text), "#/components/schemas/");
        assert_eq!(
            back["properties"]["owner"]["$ref"],
            "#/components/schemas/Pet"
        );
        assert!(back.get("$schema").is_none());
    }

    #[test]
    fn missing_references_are_warnings() {
        let doc = json!({});
        let names = BTreeMap::new();
        let to = ToModel {
            doc: &doc,
            api_id: "abc",
            names: &names,
        };
        let mut findings = Findings::default();
        to.model_schema(&json!({"$ref": "#/nowhere"}), "X", "/s", &mut findings);
        assert!(findings.warnings[0].contains("/s/$ref"));
        to.model_schema(&json!("no"), "X", "/t", &mut findings);
        assert_eq!(findings.problems[0].pointer, "/t");
    }

    #[test]
    fn inline_names_are_stable() {
        let a = inline_model_name(&json!({"type": "string"}));
        assert_eq!(a, inline_model_name(&json!({"type": "string"})));
        assert_ne!(a, inline_model_name(&json!({"type": "integer"})));
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
