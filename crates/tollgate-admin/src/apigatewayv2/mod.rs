//! The `apigatewayv2` service for HTTP APIs (API version 2018-11-29), REST-JSON under `/v2/`
//! as the botocore model defines it. Routes, integrations and authorizers share one set of
//! handlers ([`children`]); OpenAPI definitions come in and go out through [`imports`]; every change to an API whose stages auto-deploy deploys them
//! ([`repo`]).

mod apis;
mod children;
mod deployments;
mod imports;
pub mod repo;
mod responses;
mod stages;
mod tags;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use serde::Serialize;
use tollgate_model::v2::{
    Authorizer, Integration, IntegrationResponseRecord, Model, Route, RouteResponseRecord,
};

use crate::AppState;
use crate::error::{AdminError, AdminResult};
use crate::wire::{QueryParams, json};

pub fn routes() -> Router<AppState> {
    use children::{create, delete as remove, get as read, list, update};
    const API: &str = "/v2/apis/{api_id}";
    Router::new()
        .route(
            "/v2/apis",
            post(apis::create).get(apis::list).put(imports::import),
        )
        .route(
            API,
            get(apis::get)
                .patch(apis::update)
                .delete(apis::delete)
                .put(imports::reimport),
        )
        .route(
            &format!("{API}/exports/{{specification}}"),
            get(imports::export),
        )
        .route(&format!("{API}/cors"), delete(apis::delete_cors))
        .route(
            &format!("{API}/routes"),
            post(create::<Route>).get(list::<Route>),
        )
        .route(
            &format!("{API}/routes/{{route_id}}"),
            get(read::<Route>)
                .patch(update::<Route>)
                .delete(remove::<Route>),
        )
        .route(
            &format!("{API}/integrations"),
            post(create::<Integration>).get(list::<Integration>),
        )
        .route(
            &format!("{API}/integrations/{{integration_id}}"),
            get(read::<Integration>)
                .patch(update::<Integration>)
                .delete(remove::<Integration>),
        )
        .route(
            &format!("{API}/authorizers"),
            post(create::<Authorizer>).get(list::<Authorizer>),
        )
        .route(
            &format!("{API}/authorizers/{{authorizer_id}}"),
            get(read::<Authorizer>)
                .patch(update::<Authorizer>)
                .delete(remove::<Authorizer>),
        )
        .route(
            &format!("{API}/models"),
            post(create::<Model>).get(list::<Model>),
        )
        .route(
            &format!("{API}/models/{{model_id}}"),
            get(read::<Model>)
                .patch(update::<Model>)
                .delete(remove::<Model>),
        )
        .route(
            &format!("{API}/routes/{{route_id}}/routeresponses"),
            post(responses::create::<RouteResponseRecord>)
                .get(responses::list::<RouteResponseRecord>),
        )
        .route(
            &format!("{API}/routes/{{route_id}}/routeresponses/{{id}}"),
            get(responses::get::<RouteResponseRecord>)
                .patch(responses::update::<RouteResponseRecord>)
                .delete(responses::delete::<RouteResponseRecord>),
        )
        .route(
            &format!("{API}/integrations/{{integration_id}}/integrationresponses"),
            post(responses::create::<IntegrationResponseRecord>)
                .get(responses::list::<IntegrationResponseRecord>),
        )
        .route(
            &format!("{API}/integrations/{{integration_id}}/integrationresponses/{{id}}"),
            get(responses::get::<IntegrationResponseRecord>)
                .patch(responses::update::<IntegrationResponseRecord>)
                .delete(responses::delete::<IntegrationResponseRecord>),
        )
        .route(
            &format!("{API}/stages"),
            post(stages::create).get(stages::list),
        )
        .route(
            &format!("{API}/stages/{{stage_name}}"),
            get(stages::get)
                .patch(stages::update)
                .delete(stages::delete),
        )
        .route(
            &format!("{API}/stages/{{stage_name}}/routesettings/{{route_key}}"),
            delete(stages::delete_route_settings),
        )
        .route(
            &format!("{API}/stages/{{stage_name}}/cache/authorizers"),
            delete(stages::reset_authorizers_cache),
        )
        .route(
            &format!("{API}/deployments"),
            post(deployments::create).get(deployments::list),
        )
        .route(
            &format!("{API}/deployments/{{deployment_id}}"),
            get(deployments::get)
                .patch(deployments::update)
                .delete(deployments::delete),
        )
        .route(
            "/v2/tags/{resource_arn}",
            get(tags::get).post(tags::tag).delete(tags::untag),
        )
}

/// `maxResults`/`nextToken` pagination as `apigatewayv2` does it: `{"items": [...],
/// "nextToken"?}`; without `maxResults`, every item in one page.
pub fn page<T: Serialize>(items: Vec<T>, query: &QueryParams) -> AdminResult<Response> {
    let limit = match query.get("maxResults") {
        None | Some("") => usize::MAX,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(AdminError::bad_request(format!(
                    "Invalid maxResults {v}: must be a positive number"
                )));
            }
        },
    };
    let start = match query.get("nextToken") {
        None | Some("") => 0,
        Some(token) => crate::wire::decode_position(token)
            .ok_or_else(|| AdminError::bad_request("Invalid nextToken"))?,
    };
    let total = items.len();
    let items: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    let mut out = serde_json::json!({ "items": items });
    let next = start.saturating_add(limit);
    if next < total {
        out["nextToken"] = serde_json::Value::String(crate::wire::encode_position(next));
    }
    Ok(json(StatusCode::OK, &out))
}
