//! The credentials registry: every managed access key (plus the bootstrap key from the
//! configuration), kept current from the store's change feed, looked up without a lock.
//!
//! The data plane verifies `AWS_IAM` methods against it and the management API's lock
//! against the same registry (as a [`tollgate_iam::CredentialsLookup`]).

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::broadcast::error::RecvError;
use tollgate_iam::policy::Policy;
use tollgate_iam::{CredentialsLookup, Principal};
use tollgate_model::iam::{AccessKeyRecord, SCOPE};
use tollgate_model::layout::ACCESS_KEY;
use tollgate_store::{Store, StoreError};

type Snapshot = HashMap<String, Arc<Principal>>;

pub struct CredentialsRegistry {
    current: ArcSwap<Snapshot>,
    store: Arc<dyn Store>,
    /// Keys from the configuration, not from the store; they win over stored ones.
    bootstrap: Vec<Arc<Principal>>,
    /// The temporary key this process gives the functions it runs: known to the verifiers,
    /// but it does not count as configured credentials (it locks nothing).
    function_key: Option<Arc<Principal>>,
}

impl CredentialsRegistry {
    /// Loads every stored access key and starts following the change feed.
    pub async fn start(
        store: Arc<dyn Store>,
        bootstrap: Vec<Principal>,
        function_key: Option<Principal>,
    ) -> Result<Arc<Self>, StoreError> {
        let feed = store.subscribe();
        let registry = Arc::new(Self {
            current: ArcSwap::from_pointee(HashMap::new()),
            store,
            bootstrap: bootstrap.into_iter().map(Arc::new).collect(),
            function_key: function_key.map(Arc::new),
        });
        registry.reload().await?;
        tokio::spawn(Arc::clone(&registry).follow(feed));
        Ok(registry)
    }

    /// How many access keys are known (see also [`CredentialsLookup::is_empty`]).
    pub fn count(&self) -> usize {
        self.current.load().len()
    }

    async fn follow(
        self: Arc<Self>,
        mut feed: tokio::sync::broadcast::Receiver<tollgate_store::Change>,
    ) {
        loop {
            let reload = match feed.recv().await {
                // A reset announces every scope.
                Ok(change) => change.scopes.iter().any(|s| s == SCOPE || s.is_empty()),
                Err(RecvError::Lagged(_)) => true,
                Err(RecvError::Closed) => return,
            };
            if reload && let Err(e) = self.reload().await {
                tracing::error!(error = %e, "could not reload credentials; keeping the previous ones");
            }
        }
    }

    async fn reload(&self) -> Result<(), StoreError> {
        let mut all: Snapshot = HashMap::new();
        for doc in self.store.list(SCOPE, ACCESS_KEY).await? {
            let record: AccessKeyRecord = match serde_json::from_value(doc.body) {
                Ok(record) => record,
                Err(e) => {
                    tracing::error!(id = doc.id, error = %e, "stored access key is unreadable");
                    continue;
                }
            };
            all.insert(record.access_key_id.clone(), Arc::new(principal(record)));
        }
        for key in &self.bootstrap {
            all.insert(key.access_key_id.clone(), Arc::clone(key));
        }
        self.current.store(Arc::new(all));
        Ok(())
    }
}

/// A stored key as the verifier sees it; a policy that no longer compiles is left out (and
/// logged), which can only deny more.
fn principal(record: AccessKeyRecord) -> Principal {
    let mut principal = Principal::user(
        record.access_key_id,
        record.secret_access_key,
        &record.account_id,
        &record.user_name,
    );
    principal.arn = record.arn;
    principal.policies = record
        .policies
        .iter()
        .filter_map(|text| match Policy::parse(text) {
            Ok(policy) => Some(Arc::new(policy)),
            Err(e) => {
                tracing::error!(access_key_id = %principal.access_key_id, error = %e, "stored identity policy is unusable");
                None
            }
        })
        .collect();
    principal
}

impl CredentialsLookup for CredentialsRegistry {
    fn lookup(&self, access_key_id: &str) -> Option<Arc<Principal>> {
        self.current.load().get(access_key_id).cloned().or_else(|| {
            self.function_key
                .as_ref()
                .filter(|k| k.access_key_id == access_key_id)
                .cloned()
        })
    }

    fn is_empty(&self) -> bool {
        self.current.load().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_store::{Expect, Key, Write};

    #[tokio::test]
    async fn follows_the_store() {
        let store: Arc<dyn Store> = Arc::new(tollgate_store::SqliteStore::in_memory().unwrap());
        let registry = CredentialsRegistry::start(Arc::clone(&store), Vec::new(), None)
            .await
            .unwrap();
        assert!(registry.is_empty());
        let record = AccessKeyRecord {
            access_key_id: "AKIAEXAMPLE000000000".into(),
            secret_access_key: "secret".into(),
            user_name: "alice".into(),
            arn: "arn:aws:iam::123456789012:user/alice".into(),
            account_id: "123456789012".into(),
            policies: vec![
                r#"{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}"#.into(),
            ],
            created_date: 0,
        };
        let key = Key::new(SCOPE, ACCESS_KEY, record.access_key_id.clone());
        store
            .commit(vec![Write::put(
                key.clone(),
                serde_json::to_value(&record).unwrap(),
                Expect::Absent,
            )])
            .await
            .unwrap();
        let found = wait_for(|| registry.lookup("AKIAEXAMPLE000000000")).await;
        assert_eq!(found.arn, "arn:aws:iam::123456789012:user/alice");
        assert_eq!(found.policies.len(), 1);
        store
            .commit(vec![Write::delete(key, Expect::Any)])
            .await
            .unwrap();
        wait_for(|| registry.is_empty().then_some(())).await;
    }

    #[tokio::test]
    async fn bootstrap_keys_are_always_there() {
        let store: Arc<dyn Store> = Arc::new(tollgate_store::SqliteStore::in_memory().unwrap());
        let boot = Principal::user("AKIABOOTSTRAP0000000", "s", "000000000000", "bootstrap");
        let registry = CredentialsRegistry::start(Arc::clone(&store), vec![boot], None)
            .await
            .unwrap();
        assert!(!registry.is_empty());
        store.reset().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(registry.lookup("AKIABOOTSTRAP0000000").is_some());
    }

    #[tokio::test]
    async fn the_function_key_is_known_but_locks_nothing() {
        let store: Arc<dyn Store> = Arc::new(tollgate_store::SqliteStore::in_memory().unwrap());
        let key = Principal::user("ASIAFUNCTIONS0000000", "s", "000000000000", "functions");
        let registry = CredentialsRegistry::start(store, Vec::new(), Some(key))
            .await
            .unwrap();
        assert!(registry.is_empty());
        assert!(registry.lookup("ASIAFUNCTIONS0000000").is_some());
        assert!(registry.lookup("ASIAOTHER00000000000").is_none());
    }

    async fn wait_for<T>(mut probe: impl FnMut() -> Option<T>) -> T {
        for _ in 0..200 {
            if let Some(found) = probe() {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the registry did not follow the store");
    }
}
