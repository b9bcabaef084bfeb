//! Parses arbitrary bytes as a VTL template and renders it, under tight
//! limits, with a small fixed context: plain values, collections, and API
//! Gateway's `$input` (over a fixed JSON body) and `$util`.
//!
//! Any panic, stack overflow or hang (libFuzzer `-timeout`) is a bug: a
//! template may only fail with a `ParseError` or a `RenderError`.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use tollgate_mapping::{RequestData, bind};
use tollgate_vtl::{Context, Limits, Template, Value};

const BODY: &str = r#"{"name":"Ann","age":30,"pi":3.5,"ok":true,"none":null,
"tags":["a","b","c"],"items":[{"id":1,"price":9.99,"qty":2},{"id":2,"price":0.5,"qty":10}],
"address":{"city":"Paris","zip":"75001","geo":[48.85,2.35]},"text":"it's \"quoted\" / <x> \u00e9"}"#;

fn request() -> Arc<RequestData> {
    static DATA: OnceLock<Arc<RequestData>> = OnceLock::new();
    DATA.get_or_init(|| {
        Arc::new(RequestData {
            body: BODY.as_bytes().to_vec(),
            path: vec![("id".into(), "42".into())],
            querystring: vec![("q".into(), "x y".into()), ("q".into(), "z".into())],
            header: vec![("Content-Type".into(), "application/json".into())],
        })
    })
    .clone()
}

fn context() -> Context {
    let mut c = Context::new();
    c.insert("s", "Hello, World".into());
    c.insert("e", "".into());
    c.insert("n", 5.into());
    c.insert("big", i64::MAX.into());
    c.insert("f", 2.5.into());
    c.insert("t", true.into());
    c.insert("l", Value::list(vec![1.into(), "two".into(), 3.5.into()]));
    c.insert("j", Value::json_list(vec!["x".into(), Value::Null]));
    c.insert(
        "m",
        Value::map([
            ("a", Value::Int(1)),
            ("b", Value::list(vec!["x".into()])),
            ("c", Value::map([("d", Value::from("deep"))])),
        ]),
    );
    c.insert(
        "context",
        Value::map([
            ("requestId", Value::from("req-1")),
            ("httpMethod", Value::from("POST")),
            ("identity", Value::map([("sourceIp", Value::from("127.0.0.1"))])),
        ]),
    );
    bind(&mut c, request());
    c
}

fn limits() -> Limits {
    Limits {
        max_loop_iterations: 200,
        max_steps: 50_000,
        max_output_bytes: 64 * 1024,
        max_macro_depth: 20,
        max_depth: 160,
        max_collection_len: 10_000,
    }
}

fuzz_target!(|data: &[u8]| {
    let src = String::from_utf8_lossy(data);
    if let Ok(t) = Template::parse_with_max_size(&src, 64 * 1024) {
        let mut ctx = context();
        let limits = limits();
        if let Ok(out) = t.render(&mut ctx, &limits) {
            assert!(out.len() <= limits.max_output_bytes);
        }
    }
});
