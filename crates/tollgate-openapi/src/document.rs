//! Reading a definition: JSON or YAML into a JSON value, which version it is, local `$ref`s,
//! and problems with their place in the document.

use serde_json::Value;

use crate::ImportError;

/// Something wrong in the definition, and where: a JSON pointer (`/paths/~1pets/get`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{} (at {at})", self.message)
    }
}

/// Which specification a definition follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Swagger2,
    OpenApi3,
}

/// Escapes one reference token of a JSON pointer.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// `base` extended with `token`.
pub fn child(base: &str, token: &str) -> String {
    format!("{base}/{}", escape(token))
}

/// Parses JSON or YAML (JSON when the first character is `{`), then says which version the
/// definition is.
pub fn parse_document(source: &[u8]) -> Result<(Value, Version), ImportError> {
    let problem = |message: String| {
        ImportError(vec![Problem {
            pointer: String::new(),
            message,
        }])
    };
    let source = source.strip_prefix(b"\xef\xbb\xbf").unwrap_or(source);
    let first = source.iter().find(|b| !b.is_ascii_whitespace());
    let doc: Value = match first {
        None => return Err(problem("The API definition is empty".into())),
        Some(b'{') => serde_json::from_slice(source)
            .map_err(|e| problem(format!("Invalid JSON in the API definition: {e}")))?,
        Some(_) => serde_norway::from_slice(source)
            .map_err(|e| problem(format!("Invalid YAML in the API definition: {e}")))?,
    };
    if !doc.is_object() {
        return Err(problem("The API definition must be an object".into()));
    }
    let version = if let Some(v) = doc.get("openapi") {
        match v.as_str() {
            Some(s) if s.starts_with("3.") => Version::OpenApi3,
            _ => {
                return Err(ImportError(vec![Problem {
                    pointer: "/openapi".into(),
                    message: format!("Unsupported OpenAPI version {v}: only 3.0 is supported"),
                }]));
            }
        }
    } else if let Some(v) = doc.get("swagger") {
        if v.as_str() == Some("2.0") {
            Version::Swagger2
        } else {
            return Err(ImportError(vec![Problem {
                pointer: "/swagger".into(),
                message: format!("Unsupported Swagger version {v}: only 2.0 is supported"),
            }]));
        }
    } else {
        return Err(problem(
            "The API definition has neither 'openapi' (3.0) nor 'swagger' (2.0)".into(),
        ));
    };
    Ok((doc, version))
}

/// `basepath` of `ImportRestApi` / `PutRestApi`: what to do with the definition's base path
/// (`basePath` in Swagger 2.0, the path of the first server URL in OpenAPI 3.0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BasePath {
    /// Leave it out of the resource paths (AWS's default).
    #[default]
    Ignore,
    /// Put it in front of every path.
    Prepend,
    /// Drop its first segment and put the rest in front of every path.
    Split,
}

impl BasePath {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ignore" => Some(Self::Ignore),
            "prepend" => Some(Self::Prepend),
            "split" => Some(Self::Split),
            _ => None,
        }
    }
}

/// The definition's base path as `mode` keeps it (`/v1`, or empty): `basePath` in Swagger 2.0,
/// the path of the first server URL (its variables at their defaults) in OpenAPI 3.0.
pub fn base_path(doc: &Value, version: Version, mode: BasePath) -> String {
    if mode == BasePath::Ignore {
        return String::new();
    }
    let str_of =
        |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    let raw = match version {
        Version::Swagger2 => str_of(doc, "basePath"),
        Version::OpenApi3 => {
            let server = doc.pointer("/servers/0").cloned().unwrap_or(Value::Null);
            let mut url = str_of(&server, "url");
            if let Some(vars) = server.get("variables").and_then(Value::as_object) {
                for (k, v) in vars {
                    url = url.replace(&format!("{{{k}}}"), &str_of(v, "default"));
                }
            }
            match url.split_once("://") {
                Some((_, rest)) => rest
                    .find('/')
                    .map(|i| rest[i..].to_string())
                    .unwrap_or_default(),
                None => url,
            }
        }
    };
    let segments: Vec<&str> = raw.split('/').filter(|s| !s.is_empty()).collect();
    let kept = match mode {
        BasePath::Split => segments.get(1..).unwrap_or(&[]).to_vec(),
        _ => segments,
    };
    kept.iter().map(|s| format!("/{s}")).collect()
}

/// What `info` says: the title (which names the API), description and version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    pub name: String,
    pub description: Option<String>,
    pub version: Option<String>,
}

/// Reads `info`; a missing or blank title is a problem (and an empty name).
pub fn info(doc: &Value, problems: &mut Vec<Problem>) -> Info {
    let info = doc.get("info").unwrap_or(&Value::Null);
    let name = match info.get("title").and_then(Value::as_str) {
        Some(t) if !t.trim().is_empty() => t.to_string(),
        _ => {
            problems.push(Problem {
                pointer: "/info/title".into(),
                message: "The API needs a title (info.title), which becomes its name".into(),
            });
            String::new()
        }
    };
    Info {
        name,
        description: info
            .get("description")
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty())
            .map(String::from),
        version: info.get("version").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }),
    }
}

/// `info` out: the description, title and version (`fallback` when the API has none).
pub fn info_json(
    name: &str,
    description: Option<&str>,
    version: Option<&str>,
    fallback: &str,
) -> Value {
    let mut info = serde_json::Map::new();
    if let Some(d) = description {
        info.insert("description".into(), Value::from(d));
    }
    info.insert("title".into(), Value::from(name));
    info.insert("version".into(), Value::from(version.unwrap_or(fallback)));
    Value::Object(info)
}

/// The security schemes (`components/securitySchemes`, or `securityDefinitions` in Swagger
/// 2.0), `$ref`s followed: each one's name, where it is, and the scheme.
pub fn security_schemes<'a>(
    doc: &'a Value,
    version: Version,
    problems: &mut Vec<Problem>,
) -> Vec<(&'a String, String, &'a Value)> {
    let pointer = match version {
        Version::OpenApi3 => "/components/securitySchemes",
        Version::Swagger2 => "/securityDefinitions",
    };
    let mut out = vec![];
    for (name, scheme) in doc
        .pointer(pointer)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let at = child(pointer, name);
        match resolve(doc, scheme, &at) {
            Ok((scheme, _)) => out.push((name, at, scheme)),
            Err(p) => problems.push(p),
        }
    }
    out
}

/// The strings of a list (anything else in it, or a value that is not a list, gives none).
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

/// The plan when nothing is wrong, else every problem.
pub fn checked<T>(plan: T, problems: Vec<Problem>) -> Result<T, ImportError> {
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(ImportError(problems))
    }
}

/// Looks a JSON pointer up in the document.
pub fn lookup<'a>(doc: &'a Value, pointer: &str) -> Option<&'a Value> {
    doc.pointer(pointer)
}

/// Follows local `$ref`s (`#/...`) until a value without one. Returns the value and the
/// pointer of where it really is.
pub fn resolve<'a>(
    doc: &'a Value,
    value: &'a Value,
    pointer: &str,
) -> Result<(&'a Value, String), Problem> {
    let mut current = value;
    let mut at = pointer.to_string();
    for _ in 0..32 {
        let Some(reference) = current.get("$ref") else {
            return Ok((current, at));
        };
        let Some(reference) = reference.as_str() else {
            return Err(Problem {
                pointer: child(&at, "$ref"),
                message: "$ref must be a string".into(),
            });
        };
        let Some(local) = reference.strip_prefix('#') else {
            return Err(Problem {
                pointer: child(&at, "$ref"),
                message: format!(
                    "External reference '{reference}' is not supported: only references inside the document are"
                ),
            });
        };
        let local = decode_uri(local);
        current = lookup(doc, &local).ok_or_else(|| Problem {
            pointer: child(&at, "$ref"),
            message: format!("Reference '{reference}' does not resolve to anything"),
        })?;
        at = local;
    }
    Err(Problem {
        pointer: at,
        message: "Too many nested references (a $ref cycle?)".into(),
    })
}

/// Percent-decoding of a `$ref`'s fragment (`%7B` in paths).
fn decode_uri(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        if bytes[i] == b'%'
            && let Some(Ok(b)) = hex.map(|h| u8::from_str_radix(h, 16))
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_yaml_read_the_same() {
        let (json, v) = parse_document(br#"{"swagger":"2.0","paths":{"/a":{"get":{"responses":{"200":{"description":"x"}}}}}}"#).unwrap();
        assert_eq!(v, Version::Swagger2);
        let yaml = b"swagger: '2.0'\npaths:\n  /a:\n    get:\n      responses:\n        200:\n          description: x\n";
        let (from_yaml, _) = parse_document(yaml).unwrap();
        assert_eq!(json, from_yaml);
    }

    #[test]
    fn unknown_versions_and_bad_syntax_say_where() {
        let e = parse_document(b"{\"openapi\": \"4.0\"}").unwrap_err();
        assert_eq!(e.0[0].pointer, "/openapi");
        assert!(parse_document(b"{nope").is_err());
        assert!(parse_document(b"- a\n- b\n").is_err());
        assert!(parse_document(b"   ").is_err());
    }

    #[test]
    fn refs_resolve_locally_and_refuse_external_ones() {
        let doc = serde_json::json!({
            "components": {"parameters": {"id": {"name": "id", "in": "path"}}},
            "a": {"$ref": "#/components/parameters/id"},
            "b": {"$ref": "other.yaml#/x"},
            "c": {"$ref": "#/c"}
        });
        let (v, at) = resolve(&doc, &doc["a"], "/a").unwrap();
        assert_eq!(v["name"], "id");
        assert_eq!(at, "/components/parameters/id");
        assert_eq!(
            resolve(&doc, &doc["b"], "/b").unwrap_err().pointer,
            "/b/$ref"
        );
        assert!(resolve(&doc, &doc["c"], "/c").is_err());
    }
}
