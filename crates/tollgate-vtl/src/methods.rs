//! Java methods that templates call on strings, numbers, lists and maps.
//!
//! Velocity resolves `$x.method(args)` by reflection on the Java object. We
//! reproduce the methods API Gateway templates commonly use. Conventions:
//!
//! * `Ok(Value::Null)` means "no such method" *or* a Java `null` result;
//!   either way Velocity renders the reference literally;
//! * `Err(msg)` is a Java exception (e.g. `StringIndexOutOfBoundsException`),
//!   which aborts rendering like Velocity's `MethodInvocationException`.
//!
//! String indices count Unicode scalar values, not UTF-16 code units as Java
//! does; they only differ for characters outside the Basic Multilingual Plane.

use std::sync::Arc;

use crate::regex::Regex;
use crate::value::{HostObject, List, Map, Value};

/// Calls `name` on `target`.
pub fn call(target: &Value, name: &str, args: &[Value]) -> Result<Value, String> {
    // Methods every Java object has.
    match (name, args) {
        ("toString", []) => return Ok(Value::String(target.to_java_string())),
        ("equals", [other]) => return Ok(Value::Bool(target.java_equals(other))),
        _ => {}
    }
    match target {
        Value::String(s) => string_method(s, name, args),
        Value::List(_) => list_method(target, name, args),
        Value::Map(m) => map_method(m, name, args),
        Value::Int(_) | Value::Float(_) => number_method(target, name, args),
        Value::Bool(b) => Ok(match name {
            "booleanValue" => Value::Bool(*b),
            _ => Value::Null,
        }),
        Value::Object(o) => o.call(name, args),
        Value::Null => Ok(Value::Null),
    }
}

fn int_arg(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

/// Converts a Java `int` index into a position in `0..=len`, or reports a
/// `StringIndexOutOfBoundsException`-like error.
fn bound(i: i64, len: usize, what: &str) -> Result<usize, String> {
    if i < 0 || i as usize > len {
        return Err(format!("{what}: index {i} out of bounds for length {len}"));
    }
    Ok(i as usize)
}

fn chars_slice(chars: &[char], from: usize, to: usize) -> String {
    chars[from..to].iter().collect()
}

/// Java `indexOf` over chars, returning a char index.
fn index_of(hay: &[char], needle: &[char], from: usize) -> Option<usize> {
    if needle.is_empty() {
        return (from <= hay.len()).then_some(from);
    }
    (from..hay.len().saturating_sub(needle.len() - 1)).find(|&i| hay[i..].starts_with(needle))
}

fn string_method(s: &str, name: &str, args: &[Value]) -> Result<Value, String> {
    let str_arg = |i: usize| args.get(i).and_then(Value::as_str);
    let chars = || s.chars().collect::<Vec<char>>();
    Ok(match (name, args.len()) {
        ("length", 0) => Value::Int(s.chars().count() as i64),
        ("isEmpty", 0) => Value::Bool(s.is_empty()),
        ("trim", 0) => Value::from(s.trim_matches(|c: char| c <= ' ')),
        ("toLowerCase", 0) => Value::from(s.to_lowercase()),
        ("toUpperCase", 0) => Value::from(s.to_uppercase()),
        ("hashCode", 0) => {
            let h = s
                .encode_utf16()
                .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
            Value::Int(i64::from(h))
        }
        ("substring", 1 | 2) => {
            let cs = chars();
            let Some(b) = int_arg(&args[0]) else {
                return Ok(Value::Null);
            };
            let e = match args.get(1) {
                Some(v) => match int_arg(v) {
                    Some(e) => e,
                    None => return Ok(Value::Null),
                },
                None => cs.len() as i64,
            };
            let e = bound(e, cs.len(), "substring")?;
            let b = bound(b, e, "substring")?;
            Value::String(chars_slice(&cs, b, e))
        }
        ("charAt", 1) => {
            let cs = chars();
            let Some(i) = int_arg(&args[0]) else {
                return Ok(Value::Null);
            };
            match usize::try_from(i).ok().and_then(|i| cs.get(i)) {
                Some(c) => Value::String(c.to_string()),
                None => return Err(format!("charAt: index {i} out of bounds")),
            }
        }
        ("contains", 1) => match str_arg(0) {
            Some(x) => Value::Bool(s.contains(x)),
            None => Value::Null,
        },
        ("startsWith", 1) => match str_arg(0) {
            Some(x) => Value::Bool(s.starts_with(x)),
            None => Value::Null,
        },
        ("endsWith", 1) => match str_arg(0) {
            Some(x) => Value::Bool(s.ends_with(x)),
            None => Value::Null,
        },
        ("equalsIgnoreCase", 1) => match str_arg(0) {
            Some(x) => Value::Bool(s.to_lowercase() == x.to_lowercase()),
            None => Value::Bool(false),
        },
        ("compareTo", 1) => match str_arg(0) {
            Some(x) => Value::Int(java_compare(s, x)),
            None => Value::Null,
        },
        ("concat", 1) => match str_arg(0) {
            Some(x) => Value::String(format!("{s}{x}")),
            None => Value::Null,
        },
        ("indexOf" | "lastIndexOf", 1 | 2) => {
            let Some(needle) = str_arg(0) else {
                return Ok(Value::Null);
            };
            let cs = chars();
            let n: Vec<char> = needle.chars().collect();
            let found = if name == "indexOf" {
                let from = args.get(1).and_then(int_arg).unwrap_or(0).max(0) as usize;
                index_of(&cs, &n, from)
            } else {
                let limit = args
                    .get(1)
                    .and_then(int_arg)
                    .map_or(cs.len() as i64, |i| i.min(cs.len() as i64));
                (0..=limit.max(-1))
                    .rev()
                    .map(|i| i as usize)
                    .find(|&i| cs.get(i..).is_some_and(|t| t.starts_with(&n)))
            };
            Value::Int(found.map_or(-1, |i| i as i64))
        }
        ("replace", 2) => match (str_arg(0), str_arg(1)) {
            (Some(a), Some(b)) => Value::String(if a.is_empty() {
                // Java inserts the replacement between every char.
                let mut out = String::from(b);
                for c in s.chars() {
                    out.push(c);
                    out.push_str(b);
                }
                out
            } else {
                s.replace(a, b)
            }),
            _ => Value::Null,
        },
        ("replaceAll" | "replaceFirst", 2) => match (str_arg(0), str_arg(1)) {
            (Some(re), Some(rep)) => {
                let re = Regex::new(re)?;
                Value::String(re.replace(s, rep, name == "replaceAll")?)
            }
            _ => Value::Null,
        },
        ("matches", 1) => match str_arg(0) {
            Some(re) => Value::Bool(Regex::new(re)?.full_match(s)?),
            None => Value::Null,
        },
        ("split", 1 | 2) => {
            let Some(re) = str_arg(0) else {
                return Ok(Value::Null);
            };
            let limit = args.get(1).and_then(int_arg).unwrap_or(0);
            let parts = Regex::new(re)?.split(s, limit)?;
            Value::list(parts.into_iter().map(Value::String).collect())
        }
        ("toString" | "intern", 0) => Value::from(s),
        _ => Value::Null,
    })
}

/// Java `String.compareTo` (by UTF-16 units).
fn java_compare(a: &str, b: &str) -> i64 {
    let (a, b): (Vec<u16>, Vec<u16>) = (a.encode_utf16().collect(), b.encode_utf16().collect());
    for (x, y) in a.iter().zip(&b) {
        if x != y {
            return i64::from(*x) - i64::from(*y);
        }
    }
    a.len() as i64 - b.len() as i64
}

fn number_method(v: &Value, name: &str, args: &[Value]) -> Result<Value, String> {
    let f = match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => return Ok(Value::Null),
    };
    Ok(match (name, args) {
        ("intValue" | "longValue", []) => match v {
            Value::Int(i) => Value::Int(if name == "intValue" {
                i64::from(*i as i32)
            } else {
                *i
            }),
            _ => Value::Int(f as i64),
        },
        ("doubleValue" | "floatValue", []) => Value::Float(f),
        ("compareTo", [o]) if o.is_number() => {
            let g = match o {
                Value::Int(i) => *i as f64,
                Value::Float(x) => *x,
                _ => 0.0,
            };
            Value::Int(match f.partial_cmp(&g) {
                Some(std::cmp::Ordering::Less) => -1,
                Some(std::cmp::Ordering::Greater) => 1,
                _ => 0,
            })
        }
        ("isNaN", []) => Value::Bool(f.is_nan()),
        _ => Value::Null,
    })
}

fn list_method(target: &Value, name: &str, args: &[Value]) -> Result<Value, String> {
    let Value::List(l) = target else {
        return Ok(Value::Null);
    };
    let oob = |i: i64, len: usize| Err(format!("Index {i} out of bounds for length {len}"));
    Ok(match (name, args) {
        ("size", []) => Value::Int(l.len() as i64),
        ("isEmpty", []) => Value::Bool(l.is_empty()),
        ("get", [Value::Int(i)]) => {
            let len = l.len();
            match usize::try_from(*i).ok().and_then(|i| l.get(i)) {
                Some(v) => v,
                None => return oob(*i, len),
            }
        }
        ("contains", [x]) => Value::Bool(l.items().iter().any(|v| v.java_equals(x))),
        ("indexOf" | "lastIndexOf", [x]) => {
            let items = l.items();
            let pos = if name == "indexOf" {
                items.iter().position(|v| v.java_equals(x))
            } else {
                items.iter().rposition(|v| v.java_equals(x))
            };
            Value::Int(pos.map_or(-1, |i| i as i64))
        }
        ("add", [x]) => {
            l.with_mut(|v| v.push(x.clone()));
            Value::Bool(true)
        }
        ("add", [Value::Int(i), x]) => {
            let len = l.len();
            if *i < 0 || *i as usize > len {
                return oob(*i, len);
            }
            l.with_mut(|v| v.insert(*i as usize, x.clone()));
            // `void` in Java: renders literally.
            Value::Null
        }
        ("addAll", [Value::List(other)]) => {
            let items = other.items();
            l.with_mut(|v| v.extend(items));
            Value::Bool(true)
        }
        ("set", [Value::Int(i), x]) => {
            let len = l.len();
            match l.with_mut(|v| {
                usize::try_from(*i)
                    .ok()
                    .and_then(|i| v.get_mut(i))
                    .map(|slot| std::mem::replace(slot, x.clone()))
            }) {
                Some(old) => old,
                None => return oob(*i, len),
            }
        }
        // `remove(int)` removes by position, `remove(Object)` by value.
        ("remove", [Value::Int(i)]) => {
            let len = l.len();
            match l.with_mut(|v| {
                usize::try_from(*i)
                    .ok()
                    .filter(|&i| i < v.len())
                    .map(|i| v.remove(i))
            }) {
                Some(old) => old,
                None => return oob(*i, len),
            }
        }
        ("remove", [x]) => Value::Bool(l.with_mut(
            |v| match v.iter().position(|e| e.java_equals(x)) {
                Some(i) => {
                    v.remove(i);
                    true
                }
                None => false,
            },
        )),
        ("clear", []) => {
            l.with_mut(Vec::clear);
            Value::Null
        }
        // A shallow copy of the same class (`JSONArray.clone()` is a `JSONArray`).
        ("clone", []) => Value::List(if l.is_json() {
            List::new_json(l.items())
        } else {
            List::new(l.items())
        }),
        ("subList", [Value::Int(a), Value::Int(b)]) => {
            let items = l.items();
            let len = items.len();
            if *a < 0 || *b < *a || *b as usize > len {
                return Err(format!("subList({a}, {b}) out of bounds for length {len}"));
            }
            Value::list(items[*a as usize..*b as usize].to_vec())
        }
        _ => Value::Null,
    })
}

fn map_method(m: &Map, name: &str, args: &[Value]) -> Result<Value, String> {
    let key = |v: &Value| v.to_java_string();
    // A key to look up: borrowed when it is a string already.
    let find = |v: &Value| match v {
        Value::String(s) => m.get(s),
        _ => m.get(&key(v)),
    };
    Ok(match (name, args) {
        ("get", [k]) => find(k).unwrap_or_default(),
        ("getOrDefault", [k, d]) => find(k).unwrap_or_else(|| d.clone()),
        ("put", [k, v]) => m.insert(key(k), v.clone()).unwrap_or_default(),
        ("putIfAbsent", [k, v]) => match m.get(&key(k)) {
            Some(old) => old,
            None => {
                m.insert(key(k), v.clone());
                Value::Null
            }
        },
        ("putAll", [Value::Map(other)]) => {
            for (k, v) in other.entries() {
                m.insert(k, v);
            }
            Value::Null
        }
        ("remove", [k]) => m.remove(&key(k)).unwrap_or_default(),
        ("containsKey", [k]) => Value::Bool(m.contains_key(&key(k))),
        ("containsValue", [v]) => Value::Bool(m.entries().iter().any(|(_, x)| x.java_equals(v))),
        ("size", []) => Value::Int(m.len() as i64),
        ("isEmpty", []) => Value::Bool(m.is_empty()),
        ("clone", []) => Value::Map(Map::new(m.entries())),
        ("clear", []) => {
            m.clear();
            Value::Null
        }
        ("keySet", []) => Value::list(m.keys().into_iter().map(Value::String).collect()),
        ("values", []) => Value::list(m.entries().into_iter().map(|(_, v)| v).collect()),
        ("entrySet", []) => Value::list(
            m.entries()
                .into_iter()
                .map(|(key, value)| Value::Object(Arc::new(Entry { key, value })))
                .collect(),
        ),
        _ => Value::Null,
    })
}

/// A `Map.Entry` from `entrySet()`: `$e.key`, `$e.value`, renders `k=v`.
struct Entry {
    key: String,
    value: Value,
}

impl HostObject for Entry {
    fn call(&self, method: &str, args: &[Value]) -> Result<Value, String> {
        Ok(match (method, args) {
            ("getKey", []) => Value::String(self.key.clone()),
            ("getValue", []) => self.value.clone(),
            _ => Value::Null,
        })
    }
    fn property(&self, name: &str) -> Option<Value> {
        match name {
            "key" => Some(Value::String(self.key.clone())),
            "value" => Some(self.value.clone()),
            _ => None,
        }
    }
    fn display(&self) -> String {
        format!("{}={}", self.key, self.value.to_java_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::from(v)
    }

    #[test]
    fn string_methods() {
        let t = s("Hello, World");
        let c = |n: &str, a: &[Value]| call(&t, n, a).map(|v| v.to_java_string());
        assert_eq!(c("substring", &[7.into()]), Ok("World".into()));
        assert_eq!(c("substring", &[0.into(), 5.into()]), Ok("Hello".into()));
        assert!(c("substring", &[50.into()]).is_err());
        assert_eq!(c("indexOf", &[s("o")]), Ok("4".into()));
        assert_eq!(c("indexOf", &[s("o"), 5.into()]), Ok("8".into()));
        assert_eq!(c("lastIndexOf", &[s("o")]), Ok("8".into()));
        assert_eq!(
            c("replaceAll", &[s("[lo]+"), s("_")]),
            Ok("He_, W_r_d".into())
        );
        assert_eq!(c("nope", &[]), Ok("null".into()));
    }

    #[test]
    fn split_drops_trailing_empty_strings() {
        let v = call(&s("a,b,,c,,"), "split", &[s(",")]).map(|v| v.to_java_string());
        assert_eq!(v, Ok("[a, b, , c]".into()));
    }

    #[test]
    fn list_remove_overloads() {
        let l = Value::list(vec![s("a"), s("b")]);
        assert_eq!(
            call(&l, "remove", &[0.into()]).map(|v| v.to_java_string()),
            Ok("a".into())
        );
        assert_eq!(
            call(&l, "remove", &[s("b")]).map(|v| v.to_java_string()),
            Ok("true".into())
        );
        assert!(call(&l, "get", &[0.into()]).is_err());
    }

    #[test]
    fn map_methods() {
        let m = Value::map([("a", Value::Int(1))]);
        assert!(call(&m, "put", &[s("b"), 2.into()]).is_ok_and(|v| v.is_null()));
        assert_eq!(
            call(&m, "keySet", &[]).map(|v| v.to_java_string()),
            Ok("[a, b]".into())
        );
        assert_eq!(
            call(&m, "entrySet", &[]).map(|v| v.to_java_string()),
            Ok("[a=1, b=2]".into())
        );
    }
}
