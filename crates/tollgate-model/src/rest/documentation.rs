use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::patch::{PatchOp, PatchOperation, PatchRules, PatchStyle, apply_all};
use crate::validate;

const PART_RULES: PatchRules = PatchRules {
    style: PatchStyle::Listed,
    paths: &[("/properties", &[PatchOp::Replace])],
};

const VERSION_RULES: PatchRules = PatchRules {
    style: PatchStyle::Listed,
    paths: &[("/description", &[PatchOp::Replace])],
};

/// The API entities a documentation part can describe (`DocumentationPartType`).
pub const DOCUMENTATION_TYPES: &[&str] = &[
    "API",
    "AUTHORIZER",
    "MODEL",
    "RESOURCE",
    "METHOD",
    "PATH_PARAMETER",
    "QUERY_PARAMETER",
    "REQUEST_HEADER",
    "REQUEST_BODY",
    "RESPONSE",
    "RESPONSE_HEADER",
    "RESPONSE_BODY",
];

/// `DocumentationPartLocation`: which entity a part documents. Fields that apply to the type
/// and are not given are wildcards (`/` for paths, `*` for methods and status codes).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentationPartLocation {
    #[serde(rename = "type")]
    pub part_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl DocumentationPartLocation {
    /// Checks the type and fills the wildcards AWS shows for the fields that apply to it;
    /// fields that do not apply are dropped.
    pub fn normalized(mut self) -> Result<Self, ModelError> {
        validate::one_of("location.type", &self.part_type, DOCUMENTATION_TYPES)?;
        let t = self.part_type.as_str();
        let has_path = t != "API" && t != "AUTHORIZER" && t != "MODEL";
        let has_method = has_path && t != "RESOURCE";
        let has_status = matches!(t, "RESPONSE" | "RESPONSE_HEADER" | "RESPONSE_BODY");
        let has_name = matches!(
            t,
            "AUTHORIZER"
                | "MODEL"
                | "PATH_PARAMETER"
                | "QUERY_PARAMETER"
                | "REQUEST_HEADER"
                | "RESPONSE_HEADER"
        );
        self.path = has_path.then(|| self.path.take().unwrap_or_else(|| "/".into()));
        self.method = has_method.then(|| self.method.take().unwrap_or_else(|| "*".into()));
        self.status_code =
            has_status.then(|| self.status_code.take().unwrap_or_else(|| "*".into()));
        if !has_name {
            self.name = None;
        } else if self.name.as_deref().is_none_or(str::is_empty) && t != "AUTHORIZER" {
            return Err(ModelError::invalid(format!(
                "Invalid documentation location: 'name' is required for type {t}"
            )));
        }
        Ok(self)
    }
}

/// `DocumentationPart`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentationPart {
    pub id: String,
    pub location: DocumentationPartLocation,
    /// A JSON object, as a string.
    pub properties: String,
}

/// The body of `CreateDocumentationPart`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDocumentationPart {
    pub location: Option<DocumentationPartLocation>,
    pub properties: Option<String>,
}

fn check_properties(properties: &str) -> Result<(), ModelError> {
    match serde_json::from_str::<serde_json::Value>(properties) {
        Ok(v) if v.is_object() => Ok(()),
        _ => Err(ModelError::invalid(
            "Invalid documentation content specified: properties must be a JSON object",
        )),
    }
}

impl DocumentationPart {
    pub fn create(id: String, input: CreateDocumentationPart) -> Result<Self, ModelError> {
        let location = validate::required("location", input.location)?.normalized()?;
        let properties = validate::required("properties", input.properties)?;
        check_properties(&properties)?;
        Ok(Self {
            id,
            location,
            properties,
        })
    }

    /// `UpdateDocumentationPart`: only `/properties`.
    pub fn patched(&self, ops: &[PatchOperation]) -> Result<Self, ModelError> {
        apply_all(self, ops, |p, op, path| {
            match (op.op, path) {
                (PatchOp::Replace, [f]) if f == "properties" => {
                    let value = op.value()?;
                    check_properties(value)?;
                    p.properties = value.to_string();
                }
                _ => return Err(PART_RULES.reject(op)),
            }
            Ok(())
        })
    }
}

/// `DocumentationVersion`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentationVersion {
    pub version: String,
    pub created_date: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The body of `CreateDocumentationVersion`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDocumentationVersion {
    pub documentation_version: Option<String>,
    pub stage_name: Option<String>,
    pub description: Option<String>,
}

/// How a documentation version is stored: the wire object and the parts it froze.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentationVersionRecord {
    pub version: DocumentationVersion,
    pub parts: Vec<DocumentationPart>,
}

impl DocumentationVersion {
    /// `UpdateDocumentationVersion`: only `/description`.
    pub fn patched(&self, ops: &[PatchOperation]) -> Result<Self, ModelError> {
        apply_all(self, ops, |v, op, path| {
            match (op.op, path) {
                (PatchOp::Replace, [f]) if f == "description" => {
                    v.description = op.optional_value()
                }
                _ => return Err(VERSION_RULES.reject(op)),
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(t: &str) -> DocumentationPartLocation {
        DocumentationPartLocation {
            part_type: t.into(),
            path: None,
            method: None,
            status_code: None,
            name: None,
        }
    }

    #[test]
    fn locations_get_the_wildcards_of_their_type() {
        let api = location("API").normalized().unwrap();
        assert_eq!(api.path, None);
        let response = location("RESPONSE").normalized().unwrap();
        assert_eq!(response.path.as_deref(), Some("/"));
        assert_eq!(response.method.as_deref(), Some("*"));
        assert_eq!(response.status_code.as_deref(), Some("*"));
        assert!(location("QUERY_PARAMETER").normalized().is_err());
        assert!(location("NOPE").normalized().is_err());
    }

    #[test]
    fn properties_must_be_an_object() {
        let input = |p: &str| CreateDocumentationPart {
            location: Some(location("API")),
            properties: Some(p.into()),
        };
        assert!(DocumentationPart::create("a".into(), input("{\"description\":\"x\"}")).is_ok());
        assert!(DocumentationPart::create("a".into(), input("[1]")).is_err());
    }
}
