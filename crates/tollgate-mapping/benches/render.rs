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
//! Run: `cargo bench -p tollgate-mapping --bench render`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use tollgate_mapping::{RequestData, bind};
use tollgate_vtl::{Context, Limits, Template, Value};

const TEMPLATE: &str = r##"#set($root = $input.path('$'))
{
  "requestId": "$context.requestId",
  "stage": "$context.stage",
  "sourceIp": "$context.identity.sourceIp",
  "userId": "$input.params('userId')",
  "filter": "$util.escapeJavaScript($input.params('filter'))",
  "customer": $input.json('$.customer'),
  "customerName": "$util.escapeJavaScript($input.path('$.customer.name'))",
  "total": $input.path('$.order.total'),
  "currency": "$input.path('$.order.currency')",
  "items": [
#foreach($item in $input.path('$.order.items'))
    {"sku": "$item.sku", "qty": $item.qty, "price": $item.price}#if($foreach.hasNext),#end
#end
  ],
  "headers": {
#foreach($name in $input.params().header.keySet())
    "$name": "$util.escapeJavaScript($input.params().header.get($name))"#if($foreach.hasNext),#end
#end
  },
  "note": "$util.escapeJavaScript($root.note)"
}
"##;

const BODY: &str = r#"{
  "customer": {"id": "c-8812", "name": "Ann \"Annie\" M\u00fcller", "email": "ann@example.com",
    "address": {"street": "12 rue de la Paix", "city": "Paris", "zip": "75002", "country": "FR"}},
  "order": {
    "id": "o-20240611-0042", "currency": "EUR", "total": 183.4,
    "items": [
      {"sku": "A-100", "name": "Widget", "qty": 2, "price": 19.99},
      {"sku": "B-220", "name": "Gadget, large", "qty": 1, "price": 49.5},
      {"sku": "C-310", "name": "Gizmo", "qty": 3, "price": 12.0},
      {"sku": "D-400", "name": "Doohickey", "qty": 1, "price": 9.95},
      {"sku": "E-512", "name": "Thingamajig", "qty": 4, "price": 15.49},
      {"sku": "F-600", "name": "Whatsit", "qty": 2, "price": 3.25}
    ],
    "shipping": {"method": "express", "cost": 12.5, "eta": "2024-06-14"}
  },
  "note": "Please ring twice / \"fragile\" \u00e9t\u00e9",
  "tags": ["gift", "priority", "b2b"],
  "coupon": null,
  "loyalty": {"tier": "gold", "points": 1280, "member": true}
}"#;

fn request() -> Arc<RequestData> {
    let h = |k: &str, v: &str| (k.to_string(), v.to_string());
    Arc::new(RequestData {
        body: BODY.as_bytes().to_vec(),
        path: vec![h("userId", "u-123")],
        querystring: vec![h("filter", "status eq \"open\""), h("page", "2")],
        header: vec![
            h("Accept", "application/json"),
            h("Content-Type", "application/json"),
            h("Host", "abc123.execute-api.localhost"),
            h("User-Agent", "curl/8.5.0"),
            h("X-Forwarded-For", "203.0.113.7"),
            h("X-Request-Id", "9f1c2e"),
        ],
    })
}

fn context_value() -> Value {
    Value::map([
        (
            "requestId",
            Value::from("c6af9ac6-7b61-11e6-9a41-93e8deadbeef"),
        ),
        ("stage", Value::from("prod")),
        ("httpMethod", Value::from("POST")),
        ("resourcePath", Value::from("/orders/{userId}")),
        (
            "identity",
            Value::map([
                ("sourceIp", Value::from("203.0.113.7")),
                ("userAgent", Value::from("curl/8.5.0")),
            ]),
        ),
    ])
}

fn fresh_context(data: &Arc<RequestData>, context: &Value) -> Context {
    let mut ctx = Context::new();
    ctx.insert("context", context.clone());
    bind(&mut ctx, Arc::clone(data));
    ctx
}

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
