//! The compiled plans of every stage, kept current from the store's change feed.
//!
//! Readers call [`PlanSet::stage`]: an atomic load of an immutable map, no lock. A background
//! task follows the feed; for every API a change touched it re-reads that API's stages and
//! deployments, compiles them, and swaps in a new map that shares every other API's plans.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::broadcast::error::RecvError;
use tollgate_model::layout::{
    AUTHORIZER_CACHE_GENERATION, DEPLOYMENT, HTTP_API, RESTAPI, STAGE, V2_DEPLOYMENT, V2_STAGE,
};
use tollgate_model::rest::{DeploymentRecord, Stage};
use tollgate_model::v2::{DeploymentRecord as V2DeploymentRecord, StageRecord};
use tollgate_plan::http_api::HttpStagePlan;
use tollgate_plan::websocket::WsStagePlan;
use tollgate_plan::{StageGuards, StagePlan};
use tollgate_shared::SharedState;
use tollgate_store::{Key, Store, StoreError};

/// Maps looked up by name on every request: a fast hasher (keys are only ever inserted from
/// the store, so lookups with any name cannot degrade them).
pub type ByName<V> = HashMap<String, V, foldhash::fast::RandomState>;

/// The stages of one API: a REST API's, or (`http` set) an HTTP API's.
#[derive(Default)]
pub struct ApiPlans {
    pub stages: ByName<Arc<StagePlan>>,
    pub http: Option<Arc<HttpStages>>,
    /// A WebSocket API's deployed stages, by name.
    pub websocket: ByName<Arc<WsStagePlan>>,
}

/// What a lookup found.
pub enum Lookup<'a> {
    Stage(&'a Arc<StagePlan>),
    WebSocket(&'a Arc<WsStagePlan>),
    /// An HTTP API: its stages (which one serves depends on the path; see `http_api`).
    Http(Arc<HttpStages>),
    NoStage,
    NoApi,
}

type Snapshot = ByName<Arc<ApiPlans>>;

/// The deployed stages of an HTTP API, by name.
pub type HttpStages = HashMap<String, Arc<HttpStagePlan>>;

pub struct PlanSet {
    current: ArcSwap<Snapshot>,
    store: Arc<dyn Store>,
    shared: Arc<dyn SharedState>,
    registry: Arc<tollgate_telemetry::Registry>,
    /// How long compiling one API's plans took.
    compile_time: Arc<tollgate_telemetry::Histogram>,
    /// Incremented at every swap.
    version: Arc<tollgate_telemetry::Gauge>,
}

/// The kinds of document a stage plan is compiled from (every change inside an API also
/// rewrites the API's document).
const PLAN_KINDS: &[&str] = &[
    RESTAPI,
    STAGE,
    DEPLOYMENT,
    AUTHORIZER_CACHE_GENERATION,
    HTTP_API,
    V2_STAGE,
    V2_DEPLOYMENT,
];

impl PlanSet {
    /// Loads every API's plans and starts following the change feed.
    pub async fn start(
        store: Arc<dyn Store>,
        shared: Arc<dyn SharedState>,
        registry: Arc<tollgate_telemetry::Registry>,
    ) -> Result<Arc<Self>, StoreError> {
        use tollgate_telemetry::families::{CONFIG_VERSION, PLAN_COMPILE};
        let feed = store.subscribe();
        let set = Arc::new(Self {
            current: ArcSwap::from_pointee(Snapshot::default()),
            store,
            shared,
            compile_time: registry.histogram(PLAN_COMPILE, &[]),
            version: registry.gauge(CONFIG_VERSION, &[]),
            registry,
        });
        set.reload_all().await?;
        tokio::spawn(Arc::clone(&set).follow(feed));
        Ok(set)
    }

    /// The current plans; hold the guard for the duration of a request.
    pub fn snapshot(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.current.load()
    }

    pub fn lookup<'a>(snapshot: &'a Snapshot, api_id: &str, stage: &str) -> Lookup<'a> {
        let Some(api) = snapshot.get(api_id) else {
            return Lookup::NoApi;
        };
        if let Some(plan) = api.stages.get(stage) {
            return Lookup::Stage(plan);
        }
        if let Some(plan) = api.websocket.get(stage) {
            return Lookup::WebSocket(plan);
        }
        match &api.http {
            Some(http) => Lookup::Http(Arc::clone(http)),
            None => Lookup::NoStage,
        }
    }

    async fn follow(
        self: Arc<Self>,
        mut feed: tokio::sync::broadcast::Receiver<tollgate_store::Change>,
    ) {
        loop {
            let result = match feed.recv().await {
                Ok(change) if !change.touches_any(PLAN_KINDS) => continue,
                Ok(change) => {
                    let mut result = Ok(());
                    for scope in change.scopes.iter().filter(|s| !s.is_empty()) {
                        result = result.and(self.reload_api(scope).await);
                    }
                    result
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "change feed lagged; reloading every plan");
                    self.reload_all().await
                }
                Err(RecvError::Closed) => return,
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "could not reload plans; serving the previous ones");
            }
        }
    }

    async fn reload_all(&self) -> Result<(), StoreError> {
        let mut all = Snapshot::default();
        let rest = self.store.list("", RESTAPI).await?;
        let http = self.store.list("", HTTP_API).await?;
        for api in rest.into_iter().chain(http) {
            if let Some(plans) = self.compile_api(&api.id).await? {
                all.insert(api.id, Arc::new(plans));
            }
        }
        self.current.store(Arc::new(all));
        self.version.add(1);
        Ok(())
    }

    async fn reload_api(&self, api_id: &str) -> Result<(), StoreError> {
        let plans = self.compile_api(api_id).await?;
        // Changes arrive in order from one task, so read-modify-store cannot lose an update.
        let mut next: Snapshot = (**self.current.load()).clone();
        match plans {
            Some(plans) => next.insert(api_id.to_string(), Arc::new(plans)),
            None => next.remove(api_id),
        };
        self.current.store(Arc::new(next));
        self.version.add(1);
        tracing::debug!(api_id, "plans reloaded");
        Ok(())
    }

    /// Compiles every stage of an API; `None` when the API does not exist.
    async fn compile_api(&self, api_id: &str) -> Result<Option<ApiPlans>, StoreError> {
        let started = std::time::Instant::now();
        let Some(api) = self.store.get(&Key::new("", RESTAPI, api_id)).await? else {
            if self
                .store
                .get(&Key::new("", HTTP_API, api_id))
                .await?
                .is_some()
            {
                return self.compile_http_api(api_id).await.map(Some);
            }
            return Ok(None);
        };
        // CloudWatch's `ApiName` dimension.
        let api_name = api
            .body
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or(api_id)
            .to_string();
        let mut deployments: HashMap<String, Option<DeploymentRecord>> = HashMap::new();
        let mut plans = ApiPlans::default();
        for doc in self.store.list(api_id, STAGE).await? {
            let Ok(stage) = serde_json::from_value::<Stage>(doc.body) else {
                tracing::error!(api_id, stage = doc.id, "stored stage is unreadable");
                continue;
            };
            let canary_id = stage
                .canary_settings
                .as_ref()
                .and_then(|c| c.deployment_id.clone());
            for id in std::iter::once(stage.deployment_id.clone()).chain(canary_id.clone()) {
                if let std::collections::hash_map::Entry::Vacant(slot) = deployments.entry(id) {
                    let record = self
                        .store
                        .get(&Key::new(api_id, DEPLOYMENT, slot.key()))
                        .await?
                        .and_then(|d| serde_json::from_value(d.body).ok());
                    slot.insert(record);
                }
            }
            let Some(Some(primary)) = deployments.get(&stage.deployment_id) else {
                tracing::warn!(
                    api_id,
                    stage = stage.stage_name,
                    "stage points at a missing deployment"
                );
                continue;
            };
            let canary = canary_id.and_then(|id| deployments.get(&id).cloned().flatten());
            let authorizer_generation = self
                .store
                .get(&Key::new(
                    api_id,
                    AUTHORIZER_CACHE_GENERATION,
                    &stage.stage_name,
                ))
                .await?
                .and_then(|d| d.body.get("generation").and_then(|g| g.as_u64()))
                .unwrap_or(0);
            let guards = StageGuards {
                shared: self.shared.as_ref(),
                stage: &stage,
                authorizer_generation,
                telemetry: Some((self.registry.as_ref(), api_name.as_str())),
            };
            let plan = StagePlan::compile(api_id, &guards, primary, canary.as_ref());
            plans
                .stages
                .insert(stage.stage_name.clone(), Arc::new(plan));
        }
        self.compile_time.record(started.elapsed());
        Ok(Some(plans))
    }

    /// Compiles every deployed stage of an HTTP API.
    async fn compile_http_api(&self, api_id: &str) -> Result<ApiPlans, StoreError> {
        let mut stages = HashMap::new();
        let mut websocket = ByName::default();
        for doc in self.store.list(api_id, V2_STAGE).await? {
            let Ok(stage) = serde_json::from_value::<StageRecord>(doc.body) else {
                tracing::error!(api_id, stage = doc.id, "stored stage is unreadable");
                continue;
            };
            let Some(deployment_id) = &stage.stage.deployment_id else {
                continue;
            };
            let record = self
                .store
                .get(&Key::new(api_id, V2_DEPLOYMENT, deployment_id))
                .await?
                .and_then(|d| serde_json::from_value::<V2DeploymentRecord>(d.body).ok());
            let Some(record) = record else {
                tracing::warn!(
                    api_id,
                    stage = doc.id,
                    "stage points at a missing deployment"
                );
                continue;
            };
            if record.snapshot.api.protocol_type == "WEBSOCKET" {
                let plan = WsStagePlan::compile(api_id, &stage, &record, Some(&self.registry));
                websocket.insert(stage.stage.stage_name.clone(), Arc::new(plan));
                continue;
            }
            let plan = HttpStagePlan::compile(api_id, &stage, &record, Some(&self.registry));
            stages.insert(stage.stage.stage_name.clone(), Arc::new(plan));
        }
        if !websocket.is_empty() || stages.is_empty() && self.is_websocket(api_id).await? {
            return Ok(ApiPlans {
                websocket,
                ..ApiPlans::default()
            });
        }
        Ok(ApiPlans {
            http: Some(Arc::new(stages)),
            ..ApiPlans::default()
        })
    }

    /// Whether the `apigatewayv2` API is a WebSocket API.
    async fn is_websocket(&self, api_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .store
            .get(&Key::new("", HTTP_API, api_id))
            .await?
            .is_some_and(|d| d.body.get("protocolType") == Some(&serde_json::json!("WEBSOCKET"))))
    }
}
