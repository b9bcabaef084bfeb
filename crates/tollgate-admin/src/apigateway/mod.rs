//! The `apigateway` service (REST APIs, API version 2015-07-09), REST-JSON as the botocore
//! model defines it: one module per resource family, routes in [`routes`].

mod account;
mod api_keys;
mod authorizers;
mod children;
mod deployments;
mod documentation;
mod exports;
mod gateway_responses;
pub(crate) mod imports;
mod integrations;
mod methods;
mod models;
pub mod repo;
mod resources;
mod restapis;
mod stages;
mod tags;
mod test_invoke;
mod usage_plans;

use axum::Router;
use axum::routing::{get, post, put};
use tollgate_model::rest::{Authorizer, DocumentationPart, Model, RequestValidator};

use crate::AppState;

pub fn routes() -> Router<AppState> {
    const METHOD: &str = "/restapis/{restapi_id}/resources/{resource_id}/methods/{http_method}";
    Router::new()
        .route(
            "/restapis",
            post(imports::create_or_import).get(restapis::list),
        )
        .route(
            "/restapis/{restapi_id}",
            get(restapis::get)
                .put(imports::put)
                .patch(restapis::update)
                .delete(restapis::delete),
        )
        .route("/restapis/{restapi_id}/resources", get(resources::list))
        .route(
            "/restapis/{restapi_id}/resources/{resource_id}",
            post(resources::create)
                .get(resources::get)
                .patch(resources::update)
                .delete(resources::delete),
        )
        .route(
            METHOD,
            put(methods::put_method)
                .post(test_invoke::test_invoke_method)
                .get(methods::get_method)
                .patch(methods::update_method)
                .delete(methods::delete_method),
        )
        .route(
            &format!("{METHOD}/responses/{{status_code}}"),
            put(methods::put_response)
                .get(methods::get_response)
                .patch(methods::update_response)
                .delete(methods::delete_response),
        )
        .route(
            &format!("{METHOD}/integration"),
            put(integrations::put_integration)
                .get(integrations::get_integration)
                .patch(integrations::update_integration)
                .delete(integrations::delete_integration),
        )
        .route(
            &format!("{METHOD}/integration/responses/{{status_code}}"),
            put(integrations::put_response)
                .get(integrations::get_response)
                .patch(integrations::update_response)
                .delete(integrations::delete_response),
        )
        .route(
            "/restapis/{restapi_id}/deployments",
            post(deployments::create).get(deployments::list),
        )
        .route(
            "/restapis/{restapi_id}/deployments/{deployment_id}",
            get(deployments::get)
                .patch(deployments::update)
                .delete(deployments::delete),
        )
        .route(
            "/restapis/{restapi_id}/stages",
            post(stages::create).get(stages::list),
        )
        .route(
            "/restapis/{restapi_id}/stages/{stage_name}",
            get(stages::get)
                .patch(stages::update)
                .delete(stages::delete),
        )
        .route(
            "/restapis/{restapi_id}/models",
            children::collection::<Model>(),
        )
        .route(
            "/restapis/{restapi_id}/models/{model_name}",
            children::item::<Model>(),
        )
        .route(
            "/restapis/{restapi_id}/models/{model_name}/default_template",
            get(models::template),
        )
        .route(
            "/restapis/{restapi_id}/requestvalidators",
            children::collection::<RequestValidator>(),
        )
        .route(
            "/restapis/{restapi_id}/requestvalidators/{requestvalidator_id}",
            children::item::<RequestValidator>(),
        )
        .route(
            "/tags/{resource_arn}",
            get(tags::get).put(tags::tag).delete(tags::untag),
        )
        .route(
            "/restapis/{restapi_id}/gatewayresponses",
            get(gateway_responses::list),
        )
        .route(
            "/restapis/{restapi_id}/gatewayresponses/{response_type}",
            put(gateway_responses::put)
                .get(gateway_responses::get)
                .patch(gateway_responses::update)
                .delete(gateway_responses::delete),
        )
        .route("/account", get(account::get).patch(account::update))
        .route(
            "/restapis/{restapi_id}/stages/{stage_name}/exports/{export_type}",
            get(exports::get_export),
        )
        .route(
            "/restapis/{restapi_id}/documentation/parts",
            children::collection::<DocumentationPart>().put(documentation::import_parts),
        )
        .route(
            "/restapis/{restapi_id}/documentation/parts/{part_id}",
            children::item::<DocumentationPart>(),
        )
        .route(
            "/restapis/{restapi_id}/documentation/versions",
            post(documentation::create_version).get(documentation::list_versions),
        )
        .route(
            "/restapis/{restapi_id}/documentation/versions/{doc_version}",
            get(documentation::get_version)
                .patch(documentation::update_version)
                .delete(documentation::delete_version),
        )
        .route(
            "/restapis/{restapi_id}/authorizers",
            children::collection::<Authorizer>(),
        )
        .route(
            "/restapis/{restapi_id}/authorizers/{authorizer_id}",
            children::item::<Authorizer>().post(test_invoke::test_invoke_authorizer),
        )
        .route(
            "/restapis/{restapi_id}/stages/{stage_name}/cache/authorizers",
            axum::routing::delete(authorizers::flush_cache),
        )
        .route(
            "/apikeys",
            post(api_keys::create_or_import).get(api_keys::list),
        )
        .route(
            "/apikeys/{api_key}",
            get(api_keys::get)
                .patch(api_keys::update)
                .delete(api_keys::delete),
        )
        .route(
            "/usageplans",
            post(usage_plans::create).get(usage_plans::list),
        )
        .route(
            "/usageplans/{usageplan_id}",
            get(usage_plans::get)
                .patch(usage_plans::update)
                .delete(usage_plans::delete),
        )
        .route(
            "/usageplans/{usageplan_id}/keys",
            post(usage_plans::create_key).get(usage_plans::list_keys),
        )
        .route(
            "/usageplans/{usageplan_id}/keys/{key_id}",
            get(usage_plans::get_key).delete(usage_plans::delete_key),
        )
        .route(
            "/usageplans/{usageplan_id}/keys/{key_id}/usage",
            axum::routing::patch(usage_plans::update_usage),
        )
        .route("/usageplans/{usageplan_id}/usage", get(usage_plans::usage))
}

/// The body of every `Update*` call, with each op checked against the service model's enum
/// (an unknown op is a `ValidationException`, as on AWS).
pub struct PatchBody {
    pub patch_operations: Vec<tollgate_model::PatchOperation>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPatchBody {
    #[serde(default)]
    patch_operations: Vec<tollgate_model::patch::RawPatchOperation>,
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for PatchBody {
    type Rejection = crate::error::AdminError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let crate::wire::AwsJson(raw) =
            crate::wire::AwsJson::<RawPatchBody>::from_request(req, state).await?;
        let patch_operations =
            tollgate_model::patch::RawPatchOperation::parse_all(raw.patch_operations)?;
        Ok(Self { patch_operations })
    }
}
