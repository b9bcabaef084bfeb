//! Renders every `tests/corpus/NAME.vtl` and compares it byte for byte with
//! `NAME.expected`, the output recorded from Apache Velocity 1.7 by
//! `tests/oracle/Oracle.java`. A `NAME.error` file means Velocity threw, so we
//! must fail too (parse or render error).
//!
//! The context below mirrors `Oracle.context()`; keep them in sync.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use tollgate_vtl::{Context, HostObject, Limits, Template, Value};

/// Mirrors `Oracle.Host`.
struct Host;

impl HostObject for Host {
    fn call(&self, method: &str, args: &[Value]) -> Result<Value, String> {
        Ok(match (method, args) {
            ("getId", []) => Value::from("42"),
            ("greet", [Value::String(s)]) => Value::String(format!("Hello, {s}")),
            ("twice", [Value::Int(i)]) => Value::Int(i * 2),
            ("fail", []) => return Err("java.lang.RuntimeException: boom".into()),
            _ => Value::Null,
        })
    }
    fn property(&self, name: &str) -> Option<Value> {
        (name == "id").then(|| Value::from("42"))
    }
    fn display(&self) -> String {
        "Host".into()
    }
}

fn strs(items: &[&str]) -> Value {
    Value::list(items.iter().map(|s| Value::from(*s)).collect())
}

#[allow(clippy::approx_constant)] // the oracle's value, not an approximation of pi
fn context() -> Context {
    let mut c = Context::new();
    c.insert("name", "World".into());
    c.insert("n", 5.into());
    c.insert("neg", (-3).into());
    c.insert("big", 3_000_000_000i64.into());
    c.insert("pi", 3.14159.into());
    c.insert("price", 19.99.into());
    c.insert("flag", true.into());
    c.insert("no", false.into());
    c.insert("empty", "".into());
    c.insert("spaces", "  padded  ".into());
    c.insert("text", "Hello, World".into());
    c.insert("csv", "a,b,,c".into());
    c.insert("quote", "say \"hi\"".into());
    c.insert("list", strs(&["a", "b", "c"]));
    c.insert("nums", Value::list((1..=5).map(Value::Int).collect()));
    c.insert("emptyList", Value::list(vec![]));
    c.insert(
        "map",
        Value::map([
            ("a", Value::Int(1)),
            ("b", "two".into()),
            ("c", Value::list(vec![1.into(), 2.into()])),
        ]),
    );
    let address = Value::map([("city", "Paris".into()), ("zip", "75001".into())]);
    c.insert(
        "user",
        Value::map([
            ("name", "Ann".into()),
            ("age", Value::Int(30)),
            ("tags", strs(&["x", "y"])),
            ("address", address),
        ]),
    );
    let people = [("Bob", 7), ("Eve", 12), ("Zed", 3)]
        .iter()
        .map(|(n, s)| Value::map([("name", Value::from(*n)), ("score", Value::Int(*s))]))
        .collect();
    c.insert("people", Value::list(people));
    c.insert("host", Value::Object(Arc::new(Host)));
    c
}

#[test]
fn corpus_matches_velocity_1_7() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut names: Vec<_> = fs::read_dir(&dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "vtl"))
        .collect();
    names.sort();
    let mut failures = Vec::new();
    for path in &names {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_string();
        let src = fs::read_to_string(path).expect("read template");
        let result = Template::parse(&src)
            .map_err(|e| e.to_string())
            .and_then(|t| {
                t.render(&mut context(), &Limits::default())
                    .map_err(|e| e.to_string())
            });
        let expected = fs::read(path.with_extension("expected")).ok();
        match (expected, result) {
            (Some(exp), Ok(out)) if exp == out.as_bytes() => {}
            (Some(exp), res) => failures.push(format!(
                "{name}:\n  expected {:?}\n  got      {res:?}",
                String::from_utf8_lossy(&exp)
            )),
            (None, Err(_)) if path.with_extension("error").exists() => {}
            (None, res) => failures.push(format!("{name}: Velocity failed, we gave {res:?}")),
        }
    }
    let total = names.len();
    assert!(total >= 80, "corpus too small: {total}");
    assert!(
        failures.is_empty(),
        "{} of {total} corpus cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
