use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Method;
use crate::ModelError;
use crate::patch::{PatchOp, PatchOperation, PatchRules, PatchStyle, apply_all};
use crate::validate;

const RULES: PatchRules = PatchRules {
    style: PatchStyle::Listed,
    paths: &[
        ("/parentId", &[PatchOp::Replace]),
        ("/pathPart", &[PatchOp::Replace]),
    ],
};

/// `Resource`: one node of an API's path tree, with its methods.
///
/// The stored form has no `path`: it is derived from the tree (see [`Resource::path_in`]) so
/// that moving or renaming a resource never leaves a stale path below it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_part: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_methods: BTreeMap<String, Method>,
}

impl Resource {
    pub fn root(id: String) -> Self {
        Self {
            id,
            parent_id: None,
            path_part: None,
            path: None,
            resource_methods: BTreeMap::new(),
        }
    }

    pub fn child(id: String, parent_id: String, path_part: String) -> Self {
        Self {
            id,
            parent_id: Some(parent_id),
            path_part: Some(path_part),
            path: None,
            resource_methods: BTreeMap::new(),
        }
    }

    /// The full path of this resource among `all` (keyed by id): `/pets/{petId}`.
    pub fn path_in(&self, all: &BTreeMap<String, Resource>) -> String {
        let mut parts = Vec::new();
        let mut current = Some(self);
        // Bounded by the number of resources, so a corrupt cycle cannot loop forever.
        for _ in 0..=all.len() {
            let Some(node) = current else { break };
            if let Some(part) = &node.path_part {
                parts.push(part.as_str());
            }
            current = node.parent_id.as_ref().and_then(|p| all.get(p));
        }
        parts.reverse();
        format!("/{}", parts.join("/"))
    }

    /// `UpdateResource`: `/pathPart` and `/parentId`. Tree checks belong to the caller.
    pub fn patched(&self, ops: &[PatchOperation]) -> Result<Self, ModelError> {
        apply_all(self, ops, |res, op, path| {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            match (op.op, path.as_slice()) {
                (PatchOp::Replace, ["pathPart"]) if res.parent_id.is_none() => {
                    return Err(ModelError::invalid(
                        "Root resource cannot update its pathPart.",
                    ));
                }
                (PatchOp::Replace, ["parentId"]) if res.parent_id.is_none() => {
                    return Err(ModelError::invalid(
                        "Root resource cannot update its parentId.",
                    ));
                }
                (PatchOp::Replace, ["pathPart"]) => {
                    let part = op.value()?.to_string();
                    validate::path_part(&part)?;
                    res.path_part = Some(part);
                }
                (PatchOp::Replace, ["parentId"]) => {
                    res.parent_id = Some(op.value()?.to_string());
                }
                _ => return Err(RULES.reject(op)),
            }
            Ok(())
        })
    }
}
