//! `PatchOperation`s, the way every `apigateway` Update* call changes a resource.
//!
//! Values always arrive as strings; paths are JSON pointers whose segments escape `/` as `~1`
//! and `~` as `~0`. Each resource type matches the decoded segments against the paths it
//! supports, so an unsupported path or op is refused before anything changes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// The operation of a patch, as the `Op` enum of the service model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchOp {
    Add,
    Remove,
    Replace,
    Move,
    Copy,
    Test,
}

impl PatchOp {
    const ALL: [PatchOp; 6] = [
        Self::Add,
        Self::Remove,
        Self::Replace,
        Self::Move,
        Self::Copy,
        Self::Test,
    ];

    /// Parses the wire name; anything else fails the service model's enum constraint, which
    /// AWS reports as a `ValidationException`.
    pub fn parse(name: &str, index: usize) -> Result<Self, ModelError> {
        Self::ALL
            .into_iter()
            .find(|op| op.as_str() == name)
            .ok_or_else(|| {
                ModelError::Validation(format!(
                    "1 validation error detected: Value '{name}' at 'patchOperations.{}.member.op' failed to satisfy constraint: Member must satisfy enum value set: [add, remove, move, test, replace, copy]",
                    index + 1
                ))
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Remove => "remove",
            Self::Replace => "replace",
            Self::Move => "move",
            Self::Copy => "copy",
            Self::Test => "test",
        }
    }
}

/// One element of `patchOperations` as it arrives, before its op is checked.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RawPatchOperation {
    pub op: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
}

impl RawPatchOperation {
    /// Checks every op name; the first unknown one is reported.
    pub fn parse_all(raw: Vec<RawPatchOperation>) -> Result<Vec<PatchOperation>, ModelError> {
        raw.into_iter()
            .enumerate()
            .map(|(i, r)| {
                Ok(PatchOperation {
                    op: PatchOp::parse(&r.op, i)?,
                    path: r.path,
                    value: r.value,
                    from: r.from,
                })
            })
            .collect()
    }
}

/// One element of `patchOperations`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatchOperation {
    pub op: PatchOp,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
}

impl PatchOperation {
    /// The path's segments with `~1` and `~0` decoded; `/a/b~1c` gives `["a", "b/c"]`.
    pub fn segments(&self) -> Vec<String> {
        decode_pointer(&self.path)
    }

    /// The error for a path or op this resource does not support.
    pub fn unsupported(&self) -> ModelError {
        ModelError::InvalidPatchPath {
            op: self.op.as_str().to_string(),
            path: self.path.clone(),
        }
    }

    /// The value, which must be present.
    pub fn value(&self) -> Result<&str, ModelError> {
        self.value
            .as_deref()
            .ok_or_else(|| ModelError::MissingPatchValue {
                path: self.path.clone(),
            })
    }

    /// The value, or `None` when it is absent or empty (used to unset optional fields).
    pub fn optional_value(&self) -> Option<String> {
        self.value.clone().filter(|v| !v.is_empty())
    }

    pub fn bool_value(&self) -> Result<bool, ModelError> {
        let v = self.value()?;
        match v.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(self.invalid_value(v, "boolean")),
        }
    }

    pub fn int_value(&self) -> Result<i64, ModelError> {
        let v = self.value()?;
        v.trim()
            .parse::<i64>()
            .map_err(|_| self.invalid_value(v, "integer"))
    }

    pub fn double_value(&self) -> Result<f64, ModelError> {
        let v = self.value()?;
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .ok_or_else(|| self.invalid_value(v, "double"))
    }

    fn invalid_value(&self, value: &str, expected: &'static str) -> ModelError {
        ModelError::InvalidPatchValue {
            path: self.path.clone(),
            value: value.to_string(),
            expected,
        }
    }

    /// Applies an `add`/`replace`/`remove` on one key of a string map, such as
    /// `/variables/{name}` or `/requestTemplates/{contentType}`.
    pub fn apply_to_map(
        &self,
        map: &mut Option<BTreeMap<String, String>>,
        key: &str,
    ) -> Result<(), ModelError> {
        match self.op {
            PatchOp::Add | PatchOp::Replace => {
                let value = self.value.clone().unwrap_or_default();
                map.get_or_insert_with(BTreeMap::new)
                    .insert(key.to_string(), value);
            }
            PatchOp::Remove => {
                if let Some(m) = map.as_mut() {
                    m.remove(key);
                }
            }
            _ => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// The same for a map of booleans, such as `/requestParameters/{name}` on a method.
    pub fn apply_to_bool_map(
        &self,
        map: &mut Option<BTreeMap<String, bool>>,
        key: &str,
    ) -> Result<(), ModelError> {
        match self.op {
            PatchOp::Add | PatchOp::Replace => {
                let value = match self.value.as_deref() {
                    None | Some("") => false,
                    Some(_) => self.bool_value()?,
                };
                map.get_or_insert_with(BTreeMap::new)
                    .insert(key.to_string(), value);
            }
            PatchOp::Remove => {
                // Removing a parameter that is not there is an error on AWS.
                if map.as_mut().and_then(|m| m.remove(key)).is_none() {
                    return Err(ModelError::NotFound(
                        "Invalid parameter name specified".into(),
                    ));
                }
            }
            _ => return Err(self.unsupported()),
        }
        Ok(())
    }

    /// `add`/`remove` of one member of a string list, named by the path (`/binaryMediaTypes/image~1png`)
    /// or, when the path stops at the list, by the value.
    pub fn apply_to_list(
        &self,
        list: &mut Option<Vec<String>>,
        member: Option<&str>,
    ) -> Result<(), ModelError> {
        let member = match member {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => self.value()?.to_string(),
        };
        match self.op {
            PatchOp::Add => {
                let items = list.get_or_insert_with(Vec::new);
                if !items.contains(&member) {
                    items.push(member);
                }
            }
            PatchOp::Remove => {
                if let Some(items) = list.as_mut() {
                    items.retain(|m| m != &member);
                }
            }
            PatchOp::Replace => {
                let new = self.value()?.to_string();
                let items = list.get_or_insert_with(Vec::new);
                match items.iter_mut().find(|m| **m == member) {
                    Some(slot) if self.value.is_some() && member != new => *slot = new,
                    Some(_) => {}
                    None => items.push(new),
                }
            }
            _ => return Err(self.unsupported()),
        }
        Ok(())
    }
}

/// How a resource type words a refused patch: AWS uses two styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchStyle {
    /// `Invalid patch path  '/x' specified for op 'replace'. Must be one of: [/a, /b]`
    /// (resources, models, validators, stages, ...).
    Listed,
    /// `Invalid patch path /x`, or `Invalid patch operation specified. Must be one of: [replace]`
    /// when the path exists but not for that op (methods, responses, integrations).
    Terse,
}

/// The patch paths a resource type supports, for the messages of refused patches. A `*`
/// segment stands for any one segment.
pub struct PatchRules {
    pub style: PatchStyle,
    pub paths: &'static [(&'static str, &'static [PatchOp])],
}

impl PatchRules {
    fn matches(pattern: &str, path: &str) -> bool {
        let p: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
        let a: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        p.len() == a.len() && p.iter().zip(&a).all(|(p, a)| *p == "*" || p == a)
    }

    /// The error for an operation the resource type's `patched` did not accept.
    pub fn reject(&self, op: &PatchOperation) -> ModelError {
        let known: Vec<&[PatchOp]> = self
            .paths
            .iter()
            .filter(|(pattern, _)| Self::matches(pattern, &op.path))
            .map(|(_, ops)| *ops)
            .collect();
        let message = match (self.style, known.first()) {
            (PatchStyle::Terse, Some(ops)) => format!(
                "Invalid patch operation specified. Must be one of: [{}]",
                ops.iter()
                    .map(|o| o.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (PatchStyle::Terse, None) => format!("Invalid patch path {}", op.path),
            (PatchStyle::Listed, Some(_)) => format!(
                "Invalid patch path  '{}' specified for op '{}'. Please choose supported operations",
                op.path,
                op.op.as_str()
            ),
            (PatchStyle::Listed, None) => {
                let paths: Vec<&str> = self
                    .paths
                    .iter()
                    .filter(|(_, ops)| ops.contains(&op.op))
                    .map(|(p, _)| *p)
                    .collect();
                format!(
                    "Invalid patch path  '{}' specified for op '{}'. Must be one of: [{}]",
                    op.path,
                    op.op.as_str(),
                    paths.join(", ")
                )
            }
        };
        ModelError::Invalid(message)
    }
}

/// Decodes a JSON pointer into its segments.
pub fn decode_pointer(path: &str) -> Vec<String> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Applies each operation in order with `apply`, on a copy, so that a failing operation leaves
/// the original untouched (AWS applies a patch all or nothing).
pub fn apply_all<T: Clone>(
    target: &T,
    ops: &[PatchOperation],
    mut apply: impl FnMut(&mut T, &PatchOperation, &[String]) -> Result<(), ModelError>,
) -> Result<T, ModelError> {
    let mut copy = target.clone();
    for op in ops {
        let segments = op.segments();
        apply(&mut copy, op, &segments)?;
    }
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(op: PatchOp, path: &str, value: Option<&str>) -> PatchOperation {
        PatchOperation {
            op,
            path: path.into(),
            value: value.map(Into::into),
            from: None,
        }
    }

    #[test]
    fn pointer_segments_are_unescaped() {
        assert_eq!(decode_pointer("/a/b~1c/d~0e"), vec!["a", "b/c", "d~e"]);
        assert!(decode_pointer("/").is_empty());
    }

    #[test]
    fn typed_values_are_checked() {
        assert!(
            op(PatchOp::Replace, "/x", Some("TRUE"))
                .bool_value()
                .unwrap()
        );
        assert!(
            op(PatchOp::Replace, "/x", Some("yes"))
                .bool_value()
                .is_err()
        );
        assert_eq!(op(PatchOp::Replace, "/x", Some("12")).int_value(), Ok(12));
        assert!(
            op(PatchOp::Replace, "/x", Some("NaN"))
                .double_value()
                .is_err()
        );
        assert!(op(PatchOp::Replace, "/x", None).value().is_err());
    }

    #[test]
    fn list_members_are_added_once_and_removed() {
        let mut list = None;
        op(PatchOp::Add, "/t/a", None)
            .apply_to_list(&mut list, Some("a"))
            .unwrap();
        op(PatchOp::Add, "/t/a", None)
            .apply_to_list(&mut list, Some("a"))
            .unwrap();
        assert_eq!(list.as_deref(), Some(&["a".to_string()][..]));
        op(PatchOp::Remove, "/t/a", None)
            .apply_to_list(&mut list, Some("a"))
            .unwrap();
        assert_eq!(list.as_deref(), Some(&[][..]));
    }

    #[test]
    fn a_failing_patch_changes_nothing() {
        let original = 1;
        let ops = [
            op(PatchOp::Replace, "/a", Some("2")),
            op(PatchOp::Move, "/b", None),
        ];
        let result = apply_all(&original, &ops, |t, o, _| {
            if o.op == PatchOp::Move {
                return Err(o.unsupported());
            }
            *t = o.int_value()?;
            Ok(())
        });
        assert!(result.is_err());
        assert_eq!(original, 1);
    }
}
