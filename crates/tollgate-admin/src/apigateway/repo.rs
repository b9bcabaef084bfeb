//! Typed access to the store for the `apigateway` service.
//!
//! Layout: REST APIs and the account live in scope `""`; everything that belongs to an API
//! (resources with their methods, deployments, stages, models, validators) lives in the scope
//! named by the API's id, so deleting an API is one `DeleteScope`.
//!
//! Concurrency: every write to an API's contents also rewrites the API's own document with the
//! version it was read at ([`Batch::for_api`]). Two writers racing on the same API therefore
//! conflict in the store, and the loser re-reads and tries again ([`retry`]): each change is
//! checked against the state it actually applies to, and none is lost.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tollgate_model::rest::{
    Account, DeploymentRecord, Model, RequestValidator, Resource, RestApi, Stage,
};
use tollgate_store::{Expect, Key, Store, Write};

use crate::error::{AdminError, AdminResult};

pub use tollgate_model::layout::{
    ACCOUNT, API_KEY, AUTHORIZER, DEPLOYMENT, DOCUMENTATION_PART, DOCUMENTATION_VERSION,
    GATEWAY_RESPONSE, MODEL, RESOURCE, RESTAPI, STAGE, USAGE, USAGE_PLAN, USAGE_PLAN_KEY,
    VALIDATOR,
};

/// A value as read, with the version to expect when writing it back.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

/// How many times a write is retried after losing a race before the caller is told.
const MAX_ATTEMPTS: usize = 16;

/// Runs a read-decide-commit step until it commits without a concurrent change.
pub async fn retry<T, F, Fut>(mut step: F) -> AdminResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = AdminResult<T>>,
{
    for _ in 0..MAX_ATTEMPTS {
        match step().await {
            Err(AdminError::ConcurrentModification) => tokio::task::yield_now().await,
            other => return other,
        }
    }
    Err(AdminError::ConcurrentModification)
}

/// AWS's answer for a stage name that names none.
pub fn stage_not_found() -> AdminError {
    AdminError::not_found("Invalid Stage identifier specified")
}

#[derive(Clone)]
pub struct Repo {
    store: Arc<dyn Store>,
    /// For AWS's not-found message, which names the account.
    account_id: Arc<str>,
}

fn decode<T: DeserializeOwned>(doc: tollgate_store::Doc) -> AdminResult<Versioned<T>> {
    let value = serde_json::from_value(doc.body).map_err(|e| {
        AdminError::Unavailable(format!("stored document {} is unreadable: {e}", doc.id))
    })?;
    Ok(Versioned {
        value,
        version: doc.version,
    })
}

impl Repo {
    pub fn new(store: Arc<dyn Store>, account_id: Arc<str>) -> Self {
        Self { store, account_id }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub async fn get<T: DeserializeOwned>(&self, key: &Key) -> AdminResult<Option<Versioned<T>>> {
        self.store.get(key).await?.map(decode).transpose()
    }

    pub async fn list<T: DeserializeOwned>(
        &self,
        scope: &str,
        kind: &'static str,
    ) -> AdminResult<Vec<Versioned<T>>> {
        self.store
            .list(scope, kind)
            .await?
            .into_iter()
            .map(decode)
            .collect()
    }

    pub async fn commit(&self, batch: Batch) -> AdminResult<u64> {
        Ok(self.store.commit(batch.writes).await?)
    }

    pub async fn rest_api(&self, id: &str) -> AdminResult<Versioned<RestApi>> {
        self.get(&Key::new("", RESTAPI, id)).await?.ok_or_else(|| {
            // The text AWS answers today (recorded responses); around 2017 it was
            // "Invalid REST API identifier specified".
            AdminError::not_found(format!(
                "Invalid API identifier specified {}:{id}",
                self.account_id
            ))
        })
    }

    pub async fn rest_apis(&self) -> AdminResult<Vec<Versioned<RestApi>>> {
        self.list("", RESTAPI).await
    }

    /// Every resource of an API, by id.
    pub async fn resources(
        &self,
        api_id: &str,
    ) -> AdminResult<BTreeMap<String, Versioned<Resource>>> {
        Ok(self
            .list::<Resource>(api_id, RESOURCE)
            .await?
            .into_iter()
            .map(|r| (r.value.id.clone(), r))
            .collect())
    }

    pub async fn resource(&self, api_id: &str, id: &str) -> AdminResult<Versioned<Resource>> {
        self.get(&Key::new(api_id, RESOURCE, id))
            .await?
            .ok_or_else(|| AdminError::not_found("Invalid Resource identifier specified"))
    }

    pub async fn deployment(
        &self,
        api_id: &str,
        id: &str,
    ) -> AdminResult<Versioned<DeploymentRecord>> {
        self.get(&Key::new(api_id, DEPLOYMENT, id))
            .await?
            .ok_or_else(|| AdminError::not_found("Invalid Deployment identifier specified"))
    }

    pub async fn stage(&self, api_id: &str, name: &str) -> AdminResult<Versioned<Stage>> {
        self.get(&Key::new(api_id, STAGE, name))
            .await?
            .ok_or_else(stage_not_found)
    }

    pub async fn stages(&self, api_id: &str) -> AdminResult<Vec<Versioned<Stage>>> {
        self.list(api_id, STAGE).await
    }

    pub async fn models(&self, api_id: &str) -> AdminResult<Vec<Versioned<Model>>> {
        self.list(api_id, MODEL).await
    }

    pub async fn validators(&self, api_id: &str) -> AdminResult<Vec<Versioned<RequestValidator>>> {
        self.list(api_id, VALIDATOR).await
    }

    /// Creates one document inside an API; `taken` is the error when one with that id exists.
    pub async fn create_in_api<T: Serialize>(
        &self,
        api_id: &str,
        kind: &'static str,
        id: &str,
        value: &T,
        taken: impl Fn() -> AdminError,
    ) -> AdminResult<()> {
        retry(|| async {
            let api = self.rest_api(api_id).await?;
            let key = Key::new(api_id, kind, id);
            if self.store.get(&key).await?.is_some() {
                return Err(taken());
            }
            let mut batch = Batch::for_api(&api);
            batch.create(key, value);
            self.commit(batch).await.map(|_| ())
        })
        .await
    }

    /// Read-modify-write of one document inside an API: `change` sees the current value and
    /// returns the new one (or refuses), retried when another writer got there first.
    pub async fn update_in_api<T>(
        &self,
        api_id: &str,
        kind: &'static str,
        id: &str,
        missing: impl Fn() -> AdminError,
        change: impl Fn(&T) -> AdminResult<T>,
    ) -> AdminResult<T>
    where
        T: Serialize + DeserializeOwned,
    {
        retry(|| async {
            let api = self.rest_api(api_id).await?;
            let key = Key::new(api_id, kind, id);
            let current = self.get::<T>(&key).await?.ok_or_else(&missing)?;
            let next = change(&current.value)?;
            let mut batch = Batch::for_api(&api);
            batch.put_versioned(key, &next, current.version);
            self.commit(batch).await?;
            Ok(next)
        })
        .await
    }

    /// Deletes one document inside an API, retried like [`Self::update_in_api`].
    pub async fn delete_in_api(
        &self,
        api_id: &str,
        kind: &'static str,
        id: &str,
        missing: impl Fn() -> AdminError,
    ) -> AdminResult<()> {
        retry(|| async {
            let api = self.rest_api(api_id).await?;
            let key = Key::new(api_id, kind, id);
            let current = self.store.get(&key).await?.ok_or_else(&missing)?;
            let mut batch = Batch::for_api(&api);
            batch.delete(key, current.version);
            self.commit(batch).await.map(|_| ())
        })
        .await
    }

    pub async fn account(&self) -> AdminResult<Versioned<Account>> {
        Ok(self
            .get(&Key::new("", ACCOUNT, "account"))
            .await?
            .unwrap_or(Versioned {
                value: Account::default(),
                version: 0,
            }))
    }
}

/// The writes of one change, committed all or nothing.
#[derive(Default)]
pub struct Batch {
    writes: Vec<Write>,
}

fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    // Our own types always serialize; a failure here would be a bug in a derive.
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

impl Batch {
    /// A batch that changes something inside `api`, guarded by the version `api` was read at.
    pub fn for_api(api: &Versioned<RestApi>) -> Self {
        let mut batch = Self::default();
        batch.put_versioned(
            Key::new("", RESTAPI, &api.value.id),
            &api.value,
            api.version,
        );
        batch
    }

    /// Replaces the API document the batch guards (for changes to the API itself).
    pub fn replace_api(&mut self, api: &RestApi) {
        if let Some(Write::Put { body, .. }) = self.writes.first_mut() {
            *body = to_json(api);
        }
    }

    pub fn create<T: Serialize>(&mut self, key: Key, value: &T) -> &mut Self {
        self.writes
            .push(Write::put(key, to_json(value), Expect::Absent));
        self
    }

    /// Writes `value` back over the version it was read at (0: it must not exist yet).
    pub fn put_versioned<T: Serialize>(&mut self, key: Key, value: &T, version: u64) -> &mut Self {
        let expect = if version == 0 {
            Expect::Absent
        } else {
            Expect::Version(version)
        };
        self.writes.push(Write::put(key, to_json(value), expect));
        self
    }

    pub fn delete(&mut self, key: Key, version: u64) -> &mut Self {
        self.writes
            .push(Write::delete(key, Expect::Version(version)));
        self
    }

    pub fn delete_scope(&mut self, scope: &str) -> &mut Self {
        self.writes.push(Write::DeleteScope {
            scope: scope.to_string(),
        });
        self
    }
}
