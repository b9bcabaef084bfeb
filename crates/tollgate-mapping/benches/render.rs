//! A typical API Gateway request mapping template (about 20 lines) over a
//! ~1 KB JSON body.
//!
//! * `parse`: `Template::parse` of the template text (done once per
//!   deployment, not per request);
//! * `render/request`: what one request costs: a fresh context, `bind` of
//!   `$input`/`$util`/`$context`, and the render (which parses the body on the
//!   first `$input.path`/`$input.json`);
//! * `render/warm`: the render alone, on a context whose body is already
//!   parsed (the template's `#set` targets are overwritten each time).
//!
//! Run: `cargo bench -p tollgate-mapping --bench render`. On a loaded
//! machine wall times mislead; `benches/render_count.rs` runs the same work
//! in a plain loop for valgrind's instruction counts.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tollgate_vtl::{Limits, Template};

mod common;
use common::{BODY, TEMPLATE, context_value, fresh_context, request};

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let data = request();
    let context = context_value();
    assert!(
        BODY.len() > 900 && BODY.len() < 1200,
        "body is {} bytes",
        BODY.len()
    );

    // The output must be what API Gateway would produce: valid JSON here.
    let t = Template::parse(TEMPLATE).expect("template parses");
    let out = t
        .render(&mut fresh_context(&data, &context), &limits)
        .expect("template renders");
    let check: serde_json::Value = serde_json::from_str(&out).expect("output is JSON");
    assert_eq!(check["items"].as_array().map(Vec::len), Some(6));
    assert_eq!(check["headers"]["X-Request-Id"], "9f1c2e");

    c.bench_function("parse", |b| {
        b.iter(|| Template::parse(black_box(TEMPLATE)).expect("parses"))
    });

    let mut g = c.benchmark_group("render");
    g.bench_function("request", |b| {
        b.iter(|| {
            let mut ctx = fresh_context(&data, &context);
            t.render(black_box(&mut ctx), &limits).expect("renders")
        })
    });
    let mut warm = fresh_context(&data, &context);
    g.bench_function("warm", |b| {
        b.iter(|| t.render(black_box(&mut warm), &limits).expect("renders"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
