//! YAML out. The emitter writes YAML 1.2, where `yes`, `no`, `on`, `off`, `y` and `n` are
//! strings; YAML 1.1 readers (PyYAML, SnakeYAML, and so AWS's own importer) read them as
//! booleans, so such strings are quoted here.

use serde_json::Value;

/// Plain scalars a YAML 1.1 reader takes for booleans (any case).
const YAML11_BOOLEANS: &[&str] = &["y", "yes", "n", "no", "on", "off"];

fn is_yaml11_boolean(scalar: &str) -> bool {
    YAML11_BOOLEANS
        .iter()
        .any(|b| b.eq_ignore_ascii_case(scalar))
}

fn quoted(scalar: &str) -> String {
    if is_yaml11_boolean(scalar) {
        format!("'{scalar}'")
    } else {
        scalar.to_string()
    }
}

/// YAML for exports (`Accept: application/yaml`, `outputType=YAML`).
pub fn to_yaml(value: &Value) -> String {
    let text = serde_norway::to_string(value).unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    // Inside a literal or folded block, at more indentation than this: left as it is.
    let mut block_indent: Option<usize> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(at) = block_indent {
            if indent > at || line.trim().is_empty() {
                out.push_str(line);
                out.push('\n');
                continue;
            }
            block_indent = None;
        }
        let (head, mut rest) = line.split_at(indent);
        out.push_str(head);
        while let Some(after) = rest.strip_prefix("- ") {
            out.push_str("- ");
            rest = after;
        }
        let (key, value) = match rest.split_once(": ") {
            Some((k, v)) => (Some(k), v),
            None => match rest.strip_suffix(':') {
                Some(k) => (Some(k), ""),
                None => (None, rest),
            },
        };
        if let Some(k) = key {
            out.push_str(&quoted(k));
            out.push(':');
            if !value.is_empty() {
                out.push(' ');
            }
        }
        if value.starts_with('|') || value.starts_with('>') {
            block_indent = Some(indent);
        }
        out.push_str(&quoted(value));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn yaml_11_booleans_stay_strings_and_blocks_are_untouched() {
        let value = json!({
            "yes": "no",
            "list": ["on", "Off", "y", "fine", true],
            "text": "line one\nyes\n",
            "after": "N",
            "deep": {"a": [{"b": "yes"}]}
        });
        let yaml = to_yaml(&value);
        assert!(yaml.contains("'yes': 'no'"), "{yaml}");
        assert!(yaml.contains("\n  yes\n"), "{yaml}");
        let back: Value = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(back, value, "{yaml}");
    }
}
