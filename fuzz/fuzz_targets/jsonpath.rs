//! Compiles arbitrary text as a Jayway JSONPath and evaluates it on a fixed
//! document, and (when the input holds a NUL byte) on the JSON after it.
//! `compile` may refuse a path; nothing may panic or hang.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::Value as Json;
use tollgate_mapping::jsonpath::JsonPath;
use tollgate_mapping::{json_text, to_json, to_vtl};

const DOC: &str = r#"{"store":{"book":[
{"category":"reference","author":"Nigel Rees","title":"Sayings","price":8.95},
{"category":"fiction","author":"Evelyn Waugh","title":"Sword","price":12.99,"isbn":"0-553"},
{"category":"fiction","author":"Tolkien","title":"LOTR","isbn":"0-395","price":22.99}],
"bicycle":{"color":"red","price":19.95}},"a":[1,[2,[3,[]]],{"b":null}],"k.e'y":{"":0},"n":-0.0}"#;

fn doc() -> &'static Json {
    static D: OnceLock<Json> = OnceLock::new();
    D.get_or_init(|| serde_json::from_str(DOC).expect("fixed document"))
}

fn run(path: &JsonPath, doc: &Json) {
    let _ = path.is_definite();
    let _ = path.is_root();
    if let Some(v) = path.eval(doc).into_value() {
        let text = json_text(&v);
        let back = to_json(&to_vtl(&v));
        let _ = (text, back);
    }
}

fuzz_target!(|data: &[u8]| {
    let (path, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let Ok(path) = JsonPath::compile(&String::from_utf8_lossy(path)) else {
        return;
    };
    run(&path, doc());
    if let Some(Ok(j)) = body.map(serde_json::from_slice::<Json>) {
        run(&path, &j);
    }
});
