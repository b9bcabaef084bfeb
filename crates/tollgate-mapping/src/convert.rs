//! Conversions between JSON and template values, and JSON text the way API
//! Gateway writes it.
//!
//! API Gateway parses payloads with json-smart (through Jayway JsonPath):
//! objects become `LinkedHashMap`s (key order kept), arrays `JSONArray`s,
//! integers `Integer`/`Long`, decimals `Double`. [`to_vtl`] builds the same
//! shapes over [`tollgate_vtl::Value`]; [`json_text`] reproduces json-smart's
//! `JSONValue.toJSONString` byte for byte (compact, `/` escaped as `\/`,
//! doubles written by Java's `Double.toString`).

use serde_json::{Map as JsonMap, Number, Value as Json};
use tollgate_vtl::value::{write_int, write_java_double, write_json_string};
use tollgate_vtl::{Frozen, Value};

/// Converts JSON into a template value: objects become maps (order kept),
/// arrays JSON lists ([`Value::json_list`], json-smart's `JSONArray`, which
/// prints itself as JSON), integers that fit `i64` ints, other numbers
/// doubles.
pub fn to_vtl(v: &Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => number_to_vtl(n),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(a) => Value::json_list(a.iter().map(to_vtl).collect()),
        Json::Object(m) => Value::map(m.iter().map(|(k, v)| (k.clone(), to_vtl(v)))),
    }
}

/// Converts JSON into a frozen tree, from which template values are made
/// lazily ([`Frozen::to_value`]); same kinds as [`to_vtl`].
pub fn to_frozen(v: &Json) -> Frozen {
    match v {
        Json::Null => Frozen::Null,
        Json::Bool(b) => Frozen::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Frozen::Int(i),
            (None, Some(u)) => Frozen::Unsigned(u),
            _ => Frozen::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Frozen::String(s.as_str().into()),
        Json::Array(a) => Frozen::List(a.iter().map(to_frozen).collect()),
        Json::Object(m) => Frozen::Map(
            m.iter()
                .map(|(k, v)| (k.as_str().into(), to_frozen(v)))
                .collect(),
        ),
    }
}

fn number_to_vtl(n: &Number) -> Value {
    match n.as_i64() {
        Some(i) => Value::Int(i),
        // Integers beyond i64 (Java BigInteger) and decimals (Java Double).
        None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
    }
}

/// Converts a template value into JSON. Non-finite doubles become `null`;
/// host objects become their string form.
pub fn to_json(v: &Value) -> Json {
    to_json_depth(v, 0)
}

/// Nesting beyond which (self-containing) collections are cut off.
const MAX_DEPTH: usize = 128;

fn to_json_depth(v: &Value, depth: usize) -> Json {
    if depth > MAX_DEPTH {
        return Json::Null;
    }
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::Number((*i).into()),
        Value::Float(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.clone()),
        Value::List(l) => Json::Array(
            l.items()
                .iter()
                .map(|x| to_json_depth(x, depth + 1))
                .collect(),
        ),
        Value::Map(m) => {
            let mut out = JsonMap::new();
            for (k, x) in m.entries() {
                out.insert(k, to_json_depth(&x, depth + 1));
            }
            Json::Object(out)
        }
        Value::Object(o) => Json::String(o.display()),
    }
}

/// JSON text as json-smart's `JSONValue.toJSONString` writes it.
pub fn json_text(v: &Json) -> String {
    frozen_json_text(&to_frozen(v))
}

/// [`json_text`] of the JSON a frozen tree was made from.
pub fn frozen_json_text(f: &Frozen) -> String {
    let mut out = String::new();
    write_json(f, &mut out);
    out
}

fn write_json(f: &Frozen, out: &mut String) {
    match f {
        Frozen::Null => out.push_str("null"),
        Frozen::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Frozen::Int(i) => write_int(*i, out),
        Frozen::Unsigned(u) => out.push_str(&u.to_string()),
        Frozen::Float(x) => write_java_double(*x, out),
        Frozen::String(s) => write_json_string(s, out),
        Frozen::List(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(x, out);
            }
            out.push(']');
        }
        Frozen::Map(entries) => {
            out.push('{');
            for (i, (k, x)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_json(x, out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_keeps_order_and_kinds() {
        let j = json!({"z": 1, "a": [true, null, 2.5, "s"], "m": {"k": -3}});
        let v = to_vtl(&j);
        assert_eq!(
            v.to_java_string(),
            r#"{z=1, a=[true,null,2.5,"s"], m={k=-3}}"#
        );
        assert_eq!(to_json(&v), j);
    }

    #[test]
    fn json_text_matches_json_smart() {
        let j =
            json!({"a/b": "x\u{2019}\u{1}\"\\é\t", "d": 1.0, "e": 100000.0, "i": 12345678901i64});
        assert_eq!(
            json_text(&j),
            r#"{"a\/b":"x\u2019\u0001\"\\é\t","d":1.0,"e":100000.0,"i":12345678901}"#
        );
        assert_eq!(json_text(&json!(1.5e300)), "1.5E300");
    }

    #[test]
    fn non_finite_doubles_become_null() {
        assert_eq!(to_json(&Value::Float(f64::NAN)), Json::Null);
    }
}
