//! The management API's router driven in-process: wire shapes, status codes, error envelopes.
//! (The end-to-end suite in `tests/e2e` drives the real binary with boto3 and the AWS CLI.)

#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{app, call};
use serde_json::json;
use tower::ServiceExt;

#[tokio::test]
async fn create_api_then_a_method_tree_then_deploy() {
    let app = app(false);
    let (status, _, api) = call(&app, "POST", "/restapis", Some(json!({"name": "pets"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = api["id"].as_str().unwrap();
    assert_eq!(id.len(), 10);
    let root = api["rootResourceId"].as_str().unwrap();

    let (status, _, child) = call(
        &app,
        "POST",
        &format!("/restapis/{id}/resources/{root}"),
        Some(json!({"pathPart": "{petId}"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(child["path"], "/{petId}");
    let child_id = child["id"].as_str().unwrap();

    let (status, _, _) = call(
        &app,
        "POST",
        &format!("/restapis/{id}/deployments"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no methods yet");

    let method = format!("/restapis/{id}/resources/{child_id}/methods/GET");
    let (status, _, _) = call(
        &app,
        "PUT",
        &method,
        Some(json!({"authorizationType": "NONE"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, body) = call(
        &app,
        "PUT",
        &method,
        Some(json!({"authorizationType": "NONE"})),
    )
    .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("Method already exists for this resource")
        )
    );
    let (status, _, _) = call(
        &app,
        "PUT",
        &format!("{method}/integration"),
        Some(json!({"type": "MOCK"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, _, deployment) = call(
        &app,
        "POST",
        &format!("/restapis/{id}/deployments"),
        Some(json!({"stageName": "dev"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, _, stage) = call(&app, "GET", &format!("/restapis/{id}/stages/dev"), None).await;
    assert_eq!(stage["deploymentId"], deployment["id"]);

    let (_, _, embedded) = call(
        &app,
        "GET",
        &format!("/restapis/{id}/resources?embed=methods"),
        None,
    )
    .await;
    let with_methods = embedded["item"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == child["id"])
        .unwrap();
    assert_eq!(
        with_methods["resourceMethods"]["GET"]["methodIntegration"]["type"],
        "MOCK"
    );
}

#[tokio::test]
async fn errors_have_the_aws_shape() {
    let app = app(false);
    let (status, kind, body) = call(&app, "GET", "/restapis/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(kind.as_deref(), Some("NotFoundException"));
    assert_eq!(
        body["message"],
        "Invalid API identifier specified 000000000000:nope"
    );

    let request = Request::builder()
        .method("POST")
        .uri("/restapis")
        .body(Body::from("{not json"))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "BadRequestException"
    );

    let (status, kind, _) = call(&app, "POST", "/restapis", Some(json!({"name": 5}))).await;
    assert_eq!(
        (status, kind.as_deref()),
        (StatusCode::BAD_REQUEST, Some("BadRequestException"))
    );

    let (status, kind, _) = call(&app, "GET", "/no/such/operation", None).await;
    assert_eq!(
        (status, kind.as_deref()),
        (StatusCode::NOT_FOUND, Some("UnknownOperationException"))
    );
}

#[tokio::test]
async fn reset_exists_only_in_dev_mode() {
    let (status, _, _) = call(&app(false), "POST", "/_tollgate/reset", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let dev = app(true);
    call(&dev, "POST", "/restapis", Some(json!({"name": "a"}))).await;
    let (status, _, _) = call(&dev, "POST", "/_tollgate/reset", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, _, list) = call(&dev, "GET", "/restapis", None).await;
    assert_eq!(list["item"], json!([]));
}
