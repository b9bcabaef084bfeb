//! `$input`: the payload and parameters of the request (or of the
//! integration response) being mapped.
//!
//! | call | result |
//! |---|---|
//! | `$input.body` | the raw payload as a string; an empty payload reads as `{}` (as API Gateway does) |
//! | `$input.json(x)` | JSONPath `x` evaluated on the payload, as JSON text |
//! | `$input.path(x)` | JSONPath `x` evaluated on the payload, as maps / lists / numbers / strings |
//! | `$input.params()` | `{path={..}, querystring={..}, header={..}}` |
//! | `$input.params(n)` | `n` from the path, else the query string, else the headers (case-insensitive), else `""` |
//!
//! Choices where API Gateway's behaviour is undocumented (API Gateway is
//! modelled as Jayway JsonPath with `SUPPRESS_EXCEPTIONS`):
//!
//! * a definite path that matches nothing gives null to `$input.path` (the
//!   reference renders literally, `$!` renders nothing, `#if` is false) and
//!   the text `null` to `$input.json`; an indefinite one gives an empty list
//!   / `[]`;
//! * a payload that is not JSON is a plain string: `$input.path('$')` returns
//!   it, `$input.json('$')` returns it quoted, any other path matches nothing;
//! * an invalid JSONPath is an error (Jayway's `InvalidPathException`);
//! * a repeated query parameter or header keeps its last value.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value as Json;
use tollgate_vtl::{Frozen, HostObject, Value};

use crate::RequestData;
use crate::convert::{frozen_json_text, json_text, to_vtl};
use crate::document;
use crate::jsonpath::{Found, JsonPath};

/// The sections of `$input.params()`, in order.
const SECTIONS: [&str; 3] = ["path", "querystring", "header"];

/// The payload, parsed at most once per request.
enum Doc {
    /// The document as a frozen tree (enough for simple paths), and as a
    /// `serde_json::Value` for the others, made on first use.
    Json(Frozen, OnceLock<Json>),
    /// Not JSON: only `$` designates it (as a string).
    Text(String),
}

/// The `$input` object for one request.
pub(crate) struct Input {
    data: Arc<RequestData>,
    doc: OnceLock<Doc>,
    /// `$input.params()`, made on first use: each call hands out a new map
    /// copied from it lazily.
    params: OnceLock<Frozen>,
}

impl Input {
    pub(crate) fn new(data: Arc<RequestData>) -> Self {
        Input {
            data,
            doc: OnceLock::new(),
            params: OnceLock::new(),
        }
    }

    fn body(&self) -> String {
        if self.data.body.is_empty() {
            return "{}".into();
        }
        String::from_utf8_lossy(&self.data.body).into_owned()
    }

    fn doc(&self) -> &Doc {
        self.doc
            .get_or_init(|| match document::parse(&self.text()) {
                Ok(d) => Doc::Json(d, OnceLock::new()),
                Err(_) => Doc::Text(self.body()),
            })
    }

    /// The payload as JSON text: in place when it is valid UTF-8 (the usual
    /// case), otherwise its lossy decoding, as `body` reads it.
    fn text(&self) -> Cow<'_, str> {
        match std::str::from_utf8(&self.data.body) {
            Ok("") => Cow::Borrowed("{}"),
            Ok(body) => Cow::Borrowed(body),
            Err(_) => Cow::Owned(self.body()),
        }
    }

    /// The payload (known to be JSON) as a `serde_json::Value`.
    fn json_doc<'a>(&self, json: &'a OnceLock<Json>) -> &'a Json {
        json.get_or_init(|| serde_json::from_str(&self.text()).unwrap_or(Json::Null))
    }

    /// `$input.path(x)`.
    pub(crate) fn path(&self, path: &str) -> Result<Value, String> {
        let p = compiled(path)?;
        Ok(match self.doc() {
            // Simple paths read the frozen document: only what the
            // template then reads of the result is copied.
            Doc::Json(d, _) if p.is_simple() => p
                .eval_frozen(d)
                .flatten()
                .map_or(Value::Null, Frozen::to_value),
            Doc::Json(_, j) => Self::found_to_vtl(p.eval(self.json_doc(j))),
            Doc::Text(s) if p.is_root() => Value::String(s.clone()),
            Doc::Text(_) if p.is_definite() => Value::Null,
            Doc::Text(_) => Value::json_list(Vec::new()),
        })
    }

    fn found_to_vtl(found: Found<'_>) -> Value {
        match found {
            Found::Missing => Value::Null,
            Found::One(v) => to_vtl(&v),
            // Jayway collects matches in a `JSONArray`.
            Found::Many(vs) => Value::json_list(vs.iter().map(|v| to_vtl(v)).collect()),
        }
    }

    /// `$input.json(x)`.
    pub(crate) fn json(&self, path: &str) -> Result<String, String> {
        let p = compiled(path)?;
        Ok(match self.doc() {
            Doc::Json(d, _) if p.is_simple() => match p.eval_frozen(d).flatten() {
                Some(f) => frozen_json_text(f),
                None => "null".into(),
            },
            Doc::Json(_, j) => match p.eval(self.json_doc(j)) {
                Found::Missing => "null".into(),
                Found::One(v) => json_text(&v),
                many => many
                    .into_value()
                    .map_or_else(String::new, |v| json_text(&v)),
            },
            Doc::Text(s) if p.is_root() => json_text(&Json::String(s.clone())),
            Doc::Text(_) if p.is_definite() => "null".into(),
            Doc::Text(_) => "[]".into(),
        })
    }

    /// `$input.params()`: a new map each time, as in API Gateway, so that
    /// a template may change it freely. Templates often call it in a loop
    /// (`$input.params().header.get($k)`): the map is frozen once and each
    /// call copies out only what the template reads.
    pub(crate) fn all_params(&self) -> Value {
        self.params
            .get_or_init(|| {
                let section = |pairs: &[(String, String)]| {
                    Frozen::Map(
                        dedup(pairs)
                            .into_iter()
                            .map(|(k, v)| (k.into(), Frozen::String(v.into())))
                            .collect(),
                    )
                };
                Frozen::Map(Arc::from([
                    (SECTIONS[0].into(), section(&self.data.path)),
                    (SECTIONS[1].into(), section(&self.data.querystring)),
                    (SECTIONS[2].into(), section(&self.data.header)),
                ]))
            })
            .to_value()
    }

    /// `$input.params(name)`.
    pub(crate) fn param(&self, name: &str) -> String {
        let last = |pairs: &[(String, String)], eq: &dyn Fn(&str) -> bool| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| eq(k))
                .map(|(_, v)| v.clone())
        };
        last(&self.data.path, &|k| k == name)
            .or_else(|| last(&self.data.querystring, &|k| k == name))
            .or_else(|| last(&self.data.header, &|k| k.eq_ignore_ascii_case(name)))
            .unwrap_or_default()
    }
}

impl HostObject for Input {
    fn call(&self, method: &str, args: &[Value]) -> Result<Value, String> {
        match (method, args) {
            ("getBody", []) => Ok(Value::String(self.body())),
            ("params", []) => Ok(self.all_params()),
            ("params", [Value::String(n)]) => Ok(Value::String(self.param(n))),
            ("path", [Value::String(p)]) => self.path(p),
            ("json", [Value::String(p)]) => self.json(p).map(Value::String),
            _ => Ok(Value::Null),
        }
    }

    fn property(&self, name: &str) -> Option<Value> {
        (name == "body").then(|| Value::String(self.body()))
    }

    fn display(&self) -> String {
        "$input".into()
    }
}

/// `pairs` as a map keeps them: each key at its first position with its
/// last value.
fn dedup(pairs: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        match out.iter_mut().find(|(x, _)| x == k) {
            Some(slot) => slot.1 = v.clone(),
            None => out.push((k.clone(), v.clone())),
        }
    }
    out
}

/// Compiled paths, shared by all requests: templates use a handful of
/// literal paths, so compiling each once is enough. Bounded so that paths
/// built from request data cannot grow it without limit.
fn compiled(path: &str) -> Result<Arc<JsonPath>, String> {
    const MAX_CACHED: usize = 1024;
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<JsonPath>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let lock = || cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = lock().get(path) {
        return Ok(p.clone());
    }
    let p = Arc::new(JsonPath::compile(path).map_err(|e| format!("Invalid JSONPath: {e}"))?);
    let mut g = lock();
    if g.len() >= MAX_CACHED {
        g.clear();
    }
    g.insert(path.to_string(), p.clone());
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(body: &str) -> Input {
        Input::new(Arc::new(RequestData {
            body: body.as_bytes().to_vec(),
            path: vec![("id".into(), "p1".into())],
            querystring: vec![
                ("q".into(), "1".into()),
                ("q".into(), "2".into()),
                ("id".into(), "q1".into()),
            ],
            header: vec![("X-Trace".into(), "t".into())],
        }))
    }

    #[test]
    fn params_lookup_order() {
        let i = input("");
        assert_eq!(i.param("id"), "p1");
        assert_eq!(i.param("q"), "2");
        assert_eq!(i.param("x-trace"), "t");
        assert_eq!(i.param("nope"), "");
        assert_eq!(
            i.all_params().to_java_string(),
            "{path={id=p1}, querystring={q=2, id=q1}, header={X-Trace=t}}"
        );
    }

    #[test]
    fn params_maps_are_new_each_time() {
        let i = input("");
        let fresh = "{path={id=p1}, querystring={q=2, id=q1}, header={X-Trace=t}}";
        // Reused while unchanged and unshared: still equal to a new one.
        for _ in 0..3 {
            assert_eq!(i.all_params().to_java_string(), fresh);
        }
        // A change made through one result is not seen by the next call.
        let Value::Map(m) = i.all_params() else {
            panic!("not a map")
        };
        let Some(Value::Map(h)) = m.get("header") else {
            panic!("no header section")
        };
        drop(m);
        h.insert("X-New".into(), Value::from("1"));
        assert_eq!(i.all_params().to_java_string(), fresh);
        drop(h);
        assert_eq!(i.all_params().to_java_string(), fresh);
        // A result still held elsewhere is never handed out again.
        let (a, b) = (i.all_params(), i.all_params());
        let (Value::Map(a), Value::Map(b)) = (a, b) else {
            panic!("not maps")
        };
        assert!(!a.same(&b));
    }

    #[test]
    fn json_and_path() {
        let i = input(r#"{"a":{"b":[1,2]},"s":"x"}"#);
        assert_eq!(i.json("$.s").as_deref(), Ok("\"x\""));
        assert_eq!(i.json("$.a").as_deref(), Ok(r#"{"b":[1,2]}"#));
        assert_eq!(i.json("$.zz").as_deref(), Ok("null"));
        assert_eq!(i.json("$..zz").as_deref(), Ok("[]"));
        assert!(i.path("$.zz").is_ok_and(|v| v.is_null()));
        assert_eq!(
            i.path("$.a.b").map(|v| v.to_java_string()).as_deref(),
            Ok("[1,2]")
        );
        assert!(i.json("$[").is_err());
    }

    #[test]
    fn non_json_and_empty_bodies() {
        let i = input("a=b&c");
        assert_eq!(
            i.path("$").map(|v| v.to_java_string()).as_deref(),
            Ok("a=b&c")
        );
        assert_eq!(i.json("$").as_deref(), Ok("\"a=b&c\""));
        assert!(i.path("$.a").is_ok_and(|v| v.is_null()));
        let e = input("");
        assert_eq!(e.body(), "{}");
        assert_eq!(e.json("$").as_deref(), Ok("{}"));
    }
}
