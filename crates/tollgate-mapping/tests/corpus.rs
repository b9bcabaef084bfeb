//! Renders every `tests/corpus/NAME.vtl` with `$input` / `$util` bound and
//! compares it byte for byte with `NAME.expected`, recorded from Apache
//! Velocity 1.7 + Jayway JsonPath by `tests/oracle/MappingOracle.java`. A
//! `NAME.error` file means the oracle threw, so we must fail too.
//!
//! A template whose first line is `##request: REQ` renders against
//! `requests/REQ.req` (that line removed); see the oracle for the format.
//! `tests/known_diff/` holds cases where we knowingly differ (see its
//! README); they are checked by an ignored test.
//!
//! The context below mirrors `MappingOracle.context()`; keep them in sync.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use tollgate_mapping::{RequestData, bind};
use tollgate_vtl::{Context, Limits, Template, Value};

fn load_request(path: &Path) -> RequestData {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut data = RequestData::default();
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_once('\n').unwrap_or((rest, ""));
        rest = tail;
        if line == "body:" {
            data.body = rest.as_bytes().to_vec();
            break;
        }
        if line.is_empty() {
            continue;
        }
        let (kind, kv) = line.split_once(": ").expect("kind: k=v");
        let (k, v) = kv.split_once('=').expect("k=v");
        let list = match kind {
            "path" => &mut data.path,
            "query" => &mut data.querystring,
            _ => &mut data.header,
        };
        list.push((k.to_string(), v.to_string()));
    }
    data
}

fn context(data: RequestData) -> Context {
    let mut c = Context::new();
    bind(&mut c, Arc::new(data));
    let identity = Value::map([
        ("sourceIp", Value::from("192.0.2.1")),
        ("userAgent", "curl/8.5.0".into()),
        ("accountId", "111122223333".into()),
        ("caller", "AIDACKCEVSQ6C2EXAMPLE".into()),
    ]);
    let authorizer = Value::map([
        ("principalId", Value::from("user-123")),
        ("scope", "read".into()),
    ]);
    c.insert(
        "context",
        Value::map([
            ("httpMethod", Value::from("POST")),
            ("stage", "prod".into()),
            ("requestId", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef".into()),
            ("apiId", "abcd1234".into()),
            ("resourcePath", "/pets/{petId}".into()),
            ("resourceId", "efg567".into()),
            ("identity", identity),
            ("authorizer", authorizer),
        ]),
    );
    c.insert(
        "stageVariables",
        Value::map([("env", Value::from("test")), ("tableName", "Pets".into())]),
    );
    c
}

/// Renders one corpus template the way the oracle does.
fn render_case(dir: &Path, src: &str) -> Result<String, String> {
    let (req, src) = match src.strip_prefix("##request: ") {
        Some(rest) => {
            let (name, body) = rest.split_once('\n').unwrap_or((rest, ""));
            (name.trim().to_string(), body)
        }
        None => ("default".to_string(), src),
    };
    let data = load_request(&dir.join("requests").join(format!("{req}.req")));
    let t = Template::parse(src).map_err(|e| e.to_string())?;
    t.render(&mut context(data), &Limits::default())
        .map_err(|e| e.to_string())
}

/// Runs every case of `dir`; returns (total, failure descriptions).
fn run_dir(dir: &Path, requests: &Path) -> (usize, Vec<String>) {
    let mut names: Vec<_> = fs::read_dir(dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "vtl"))
        .collect();
    names.sort();
    let mut failures = Vec::new();
    for path in &names {
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        let src = fs::read_to_string(path).expect("read template");
        let result = render_case(requests, &src);
        let expected = fs::read(path.with_extension("expected")).ok();
        match (expected, result) {
            (Some(exp), Ok(out)) if exp == out.as_bytes() => {}
            (Some(exp), res) => failures.push(format!(
                "{name}:\n  expected {:?}\n  got      {res:?}",
                String::from_utf8_lossy(&exp)
            )),
            (None, Err(_)) if path.with_extension("error").exists() => {}
            (None, res) => failures.push(format!("{name}: oracle failed, we gave {res:?}")),
        }
    }
    (names.len(), failures)
}

#[test]
fn corpus_matches_api_gateway_oracle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let (total, failures) = run_dir(&dir, &dir);
    assert!(total >= 150, "corpus too small: {total}");
    assert!(
        failures.is_empty(),
        "{} of {total} corpus cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Cases where we knowingly differ (see `tests/known_diff/README.md`; none at
/// the moment). Run with `--ignored`.
#[test]
#[ignore]
fn known_differences() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let (total, failures) = run_dir(&root.join("known_diff"), &root.join("corpus"));
    assert!(
        failures.is_empty(),
        "{} of {total} known-difference cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
