//! The management API's router driven in-process, shared by the integration tests.

#![allow(clippy::unwrap_used, dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tollgate_admin::{AdminConfig, router};
use tollgate_store::SqliteStore;
use tower::ServiceExt;

pub fn app(dev: bool) -> Router {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    router(
        store,
        AdminConfig {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            dev,
            tester: None,
            data_dir: std::env::temp_dir(),
            functions: None,
            tls: false,
        },
    )
}

pub async fn call(
    app: &Router,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(
            body.map(|b| Body::from(b.to_string()))
                .unwrap_or_else(Body::empty),
        )
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let error_type = response
        .headers()
        .get("x-amzn-errortype")
        .map(|v| v.to_str().unwrap().to_string());
    assert!(response.headers().contains_key("x-amzn-requestid"));
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, error_type, value)
}
