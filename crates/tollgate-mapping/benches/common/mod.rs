//! The typical mapping template and request shared by the render benches.

use std::sync::Arc;

use tollgate_mapping::{RequestData, bind};
use tollgate_vtl::{Context, Value};

/// A typical API Gateway request mapping template (about 20 lines).
pub const TEMPLATE: &str = r##"#set($root = $input.path('$'))
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

/// A ~1 KB JSON body.
pub const BODY: &str = r#"{
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

/// The request: the body, a path parameter, two query parameters, six headers.
pub fn request() -> Arc<RequestData> {
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

/// A `$context` like the one the gateway binds.
pub fn context_value() -> Value {
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

/// What the gateway does per request: a new context with `$context`, `$input`, `$util`.
pub fn fresh_context(data: &Arc<RequestData>, context: &Value) -> Context {
    let mut ctx = Context::new();
    ctx.insert("context", context.clone());
    bind(&mut ctx, Arc::clone(data));
    ctx
}
