//! Store access for HTTP APIs. The API document lives in scope `""` (beside REST APIs, in
//! one id space); its routes, integrations, authorizers, stages and deployments in the scope
//! named by its id.
//!
//! Every change is computed against [`Contents`], everything of the API read at once, and
//! committed in one batch that also rewrites the API document at the version it was read at:
//! racing writers conflict and retry (as for REST APIs), and a change to an API whose stages
//! have `autoDeploy` deploys them in the same batch ([`Change::auto_deploy`]).

use tollgate_model::layout::{
    HTTP_API, V2_AUTHORIZER, V2_DEPLOYMENT, V2_INTEGRATION, V2_INTEGRATION_RESPONSE, V2_MODEL,
    V2_ROUTE, V2_ROUTE_RESPONSE, V2_STAGE,
};
use tollgate_model::v2::{
    Api, ApiSnapshot, Authorizer, Deployment, DeploymentRecord, Integration,
    IntegrationResponseRecord, Model, Route, RouteResponseRecord, StageRecord,
};
use tollgate_store::Key;

use crate::apigateway::repo::{Batch, Repo, Versioned};
use crate::error::{AdminError, AdminResult};

pub fn api_key(api_id: &str) -> Key {
    Key::new("", HTTP_API, api_id)
}

pub async fn api(repo: &Repo, api_id: &str) -> AdminResult<Versioned<Api>> {
    repo.get(&api_key(api_id))
        .await?
        .ok_or_else(|| AdminError::not_found(format!("Invalid API identifier specified {api_id}")))
}

/// Everything of one API, as read for one change.
pub struct Contents {
    pub api: Versioned<Api>,
    pub routes: Vec<Versioned<Route>>,
    pub integrations: Vec<Versioned<Integration>>,
    pub authorizers: Vec<Versioned<Authorizer>>,
    pub stages: Vec<Versioned<StageRecord>>,
    pub route_responses: Vec<Versioned<RouteResponseRecord>>,
    pub integration_responses: Vec<Versioned<IntegrationResponseRecord>>,
    pub models: Vec<Versioned<Model>>,
}

impl Contents {
    pub async fn read(repo: &Repo, api_id: &str) -> AdminResult<Self> {
        let api = api(repo, api_id).await?;
        Ok(Self {
            api,
            routes: repo.list(api_id, V2_ROUTE).await?,
            integrations: repo.list(api_id, V2_INTEGRATION).await?,
            authorizers: repo.list(api_id, V2_AUTHORIZER).await?,
            stages: repo.list(api_id, V2_STAGE).await?,
            route_responses: repo.list(api_id, V2_ROUTE_RESPONSE).await?,
            integration_responses: repo.list(api_id, V2_INTEGRATION_RESPONSE).await?,
            models: repo.list(api_id, V2_MODEL).await?,
        })
    }

    pub fn api_id(&self) -> &str {
        &self.api.value.api_id
    }

    /// The API as it would be deployed now.
    pub fn snapshot(&self) -> ApiSnapshot {
        ApiSnapshot {
            api: self.api.value.clone(),
            routes: self.routes.iter().map(|r| r.value.clone()).collect(),
            integrations: self.integrations.iter().map(|i| i.value.clone()).collect(),
            authorizers: self.authorizers.iter().map(|a| a.value.clone()).collect(),
            route_responses: self
                .route_responses
                .iter()
                .map(|r| r.value.clone())
                .collect(),
            integration_responses: self
                .integration_responses
                .iter()
                .map(|r| r.value.clone())
                .collect(),
            models: self.models.iter().map(|m| m.value.clone()).collect(),
        }
    }

    pub fn stage(&self, name: &str) -> AdminResult<&Versioned<StageRecord>> {
        self.stages
            .iter()
            .find(|s| s.value.stage.stage_name == name)
            .ok_or_else(|| {
                AdminError::not_found(format!("Invalid stage identifier specified {name}"))
            })
    }

    pub fn integration(&self, id: &str) -> AdminResult<&Versioned<Integration>> {
        self.integrations
            .iter()
            .find(|i| i.value.integration_id == id)
            .ok_or_else(|| {
                AdminError::not_found(format!("Invalid integration identifier specified {id}"))
            })
    }

    pub fn authorizer(&self, id: &str) -> AdminResult<&Versioned<Authorizer>> {
        self.authorizers
            .iter()
            .find(|a| a.value.authorizer_id == id)
            .ok_or_else(|| {
                AdminError::not_found(format!("Invalid authorizer identifier specified {id}"))
            })
    }

    /// What a route refers to must exist, and its key must be unique.
    pub fn check_route(&self, route: &Route) -> AdminResult<()> {
        route.check_for(&self.api.value.protocol_type)?;
        if let Some(id) = route.integration_id() {
            self.integration(id)?;
        }
        if let Some(id) = &route.authorizer_id {
            let authorizer = self.authorizer(id)?;
            let expected = match route.authorization_type.as_str() {
                "CUSTOM" if self.api.value.protocol_type == "WEBSOCKET" => "REQUEST",
                "JWT" => "JWT",
                "CUSTOM" => "REQUEST",
                _ => "",
            };
            if authorizer.value.authorizer_type != expected {
                return Err(AdminError::bad_request(format!(
                    "Authorizer {id} is of type {} and cannot be used with authorization type {}",
                    authorizer.value.authorizer_type, route.authorization_type
                )));
            }
        }
        if self
            .routes
            .iter()
            .any(|r| r.value.route_key == route.route_key && r.value.route_id != route.route_id)
        {
            return Err(AdminError::conflict(format!(
                "Route with key {} already exists for this API",
                route.route_key
            )));
        }
        Ok(())
    }
}

/// One change to an API, committed all or nothing.
pub struct Change {
    pub batch: Batch,
}

impl Change {
    /// A change guarded by the API document's version (`api` is written as given, so the same
    /// call also changes the API itself).
    pub fn new(contents: &Contents, api: &Api) -> Self {
        let mut batch = Batch::default();
        batch.put_versioned(api_key(contents.api_id()), api, contents.api.version);
        Self { batch }
    }

    /// Deploys `snapshot` to every stage with `autoDeploy` (the contents after the change).
    pub fn auto_deploy(&mut self, after: &Contents) {
        let deploying: Vec<&Versioned<StageRecord>> = after
            .stages
            .iter()
            .filter(|s| s.value.stage.auto_deploy)
            .collect();
        if deploying.is_empty() {
            return;
        }
        let record = new_deployment(after.snapshot(), None, true);
        let id = record.deployment.deployment_id.clone();
        self.batch
            .create(Key::new(after.api_id(), V2_DEPLOYMENT, &id), &record);
        for stage in deploying {
            let mut next = stage.value.clone();
            point_at(&mut next, &id, true);
            self.batch.put_versioned(
                Key::new(after.api_id(), V2_STAGE, &next.stage.stage_name),
                &next,
                stage.version,
            );
        }
    }
}

/// A deployment of `snapshot`, made now.
pub fn new_deployment(
    snapshot: ApiSnapshot,
    description: Option<String>,
    auto: bool,
) -> DeploymentRecord {
    DeploymentRecord {
        deployment: Deployment {
            deployment_id: tollgate_model::ids::random_id(6),
            created_date: tollgate_model::v2::now_iso8601(),
            deployment_status: "DEPLOYED".into(),
            auto_deployed: auto,
            description,
        },
        snapshot,
    }
}

/// Moves a stage to a deployment.
pub fn point_at(stage: &mut StageRecord, deployment_id: &str, auto: bool) {
    stage.stage.deployment_id = Some(deployment_id.to_string());
    stage.stage.last_updated_date = tollgate_model::v2::now_iso8601();
    if auto {
        stage.stage.last_deployment_status_message = Some(format!(
            "Successfully deployed stage with deployment ID '{deployment_id}'"
        ));
    }
}
