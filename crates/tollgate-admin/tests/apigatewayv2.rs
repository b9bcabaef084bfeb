//! The `apigatewayv2` routes driven in-process: wire shapes, and writers racing on one API
//! whose stage auto-deploys.

#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::{app, call};
use serde_json::json;

#[tokio::test]
async fn http_api_wire_shapes() {
    let app = app(false);
    let (status, _, api) = call(
        &app,
        "POST",
        "/v2/apis",
        Some(json!({"name": "pets", "protocolType": "HTTP"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = api["apiId"].as_str().unwrap();
    let created = api["createdDate"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 20, "{created}");
    let (status, kind, body) = call(&app, "GET", "/v2/apis/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(kind.as_deref(), Some("NotFoundException"));
    assert!(body["message"].as_str().unwrap().contains("nope"));
    let (status, kind, _) = call(
        &app,
        "POST",
        &format!("/v2/apis/{id}/routes"),
        Some(json!({"routeKey": "GET"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(kind.as_deref(), Some("BadRequestException"));
    let (status, _, page) = call(&app, "GET", "/v2/apis?maxResults=0", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
}

#[tokio::test]
async fn racing_writers_all_land_and_the_last_auto_deployment_has_them_all() {
    let app = app(false);
    let (_, _, api) = call(
        &app,
        "POST",
        "/v2/apis",
        Some(json!({"name": "race", "protocolType": "HTTP"})),
    )
    .await;
    let id = api["apiId"].as_str().unwrap().to_string();
    let (status, _, _) = call(
        &app,
        "POST",
        &format!("/v2/apis/{id}/stages"),
        Some(json!({"stageName": "$default", "autoDeploy": true})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let writers = (0..8).map(|i| {
        let app = app.clone();
        let id = id.clone();
        tokio::spawn(async move {
            call(
                &app,
                "POST",
                &format!("/v2/apis/{id}/routes"),
                Some(json!({"routeKey": format!("GET /r{i}")})),
            )
            .await
            .0
        })
    });
    for writer in writers {
        assert_eq!(writer.await.unwrap(), StatusCode::CREATED);
    }
    let (_, _, routes) = call(&app, "GET", &format!("/v2/apis/{id}/routes"), None).await;
    assert_eq!(routes["items"].as_array().unwrap().len(), 8);
    let (_, _, deployments) = call(&app, "GET", &format!("/v2/apis/{id}/deployments"), None).await;
    // One deployment when the stage was created, one per route.
    assert_eq!(deployments["items"].as_array().unwrap().len(), 9);
    let (_, _, stage) = call(&app, "GET", &format!("/v2/apis/{id}/stages/$default"), None).await;
    let newest = deployments["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["deploymentId"].as_str().unwrap())
        .collect::<Vec<_>>();
    assert!(newest.contains(&stage["deploymentId"].as_str().unwrap()));
}
