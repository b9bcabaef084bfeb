//! Typed access to the `lambda` documents (layout in [`tollgate_model::lambda`]).
//!
//! Concurrency as in the `apigateway` module: every change to a function (its versions, aliases
//! and policy included) rewrites the function's record with the version it was read at, so two
//! writers racing on one function conflict in the store and the loser re-reads and tries again
//! ([`retry`]).

use std::future::Future;

use tollgate_model::lambda::{
    self, Alias, FunctionRecord, FunctionVersion, LATEST, Qualifier, function_scope,
};
use tollgate_model::layout::{LAMBDA_ALIAS, LAMBDA_FUNCTION, LAMBDA_VERSION};
use tollgate_store::Key;

use super::error::{LambdaError, LambdaResult};
use crate::AppState;
use crate::apigateway::repo::{Batch, Versioned};

/// How many times a change is retried after losing a race.
const MAX_ATTEMPTS: usize = 16;

/// Runs a read-decide-commit step until it commits without a concurrent change.
pub async fn retry<T, F, Fut>(mut step: F) -> LambdaResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = LambdaResult<T>>,
{
    for _ in 0..MAX_ATTEMPTS {
        match step().await {
            Err(LambdaError::ConcurrentModification) => tokio::task::yield_now().await,
            other => return other,
        }
    }
    Err(LambdaError::ConcurrentModification)
}

pub fn record_key(name: &str) -> Key {
    Key::new(lambda::SCOPE, LAMBDA_FUNCTION, name)
}

pub fn version_key(name: &str, version: &str) -> Key {
    Key::new(function_scope(name), LAMBDA_VERSION, version)
}

pub fn alias_key(name: &str, alias: &str) -> Key {
    Key::new(function_scope(name), LAMBDA_ALIAS, alias)
}

impl AppState {
    /// The ARN of a function, qualified when `qualifier` is given.
    pub(crate) fn function_arn(&self, name: &str, qualifier: Option<&str>) -> String {
        lambda::qualified_arn(&self.region, &self.account_id, name, qualifier)
    }

    /// Lambda's 404 for a function (or version) that does not exist.
    pub(crate) fn function_not_found(&self, name: &str, qualifier: Option<&str>) -> LambdaError {
        LambdaError::NotFound(format!(
            "Function not found: {}",
            self.function_arn(name, qualifier)
        ))
    }

    pub(crate) async fn function_record(
        &self,
        name: &str,
    ) -> LambdaResult<Versioned<FunctionRecord>> {
        self.repo
            .get(&record_key(name))
            .await?
            .ok_or_else(|| self.function_not_found(name, None))
    }

    /// Every function, by name.
    pub(crate) async fn function_records(&self) -> LambdaResult<Vec<FunctionRecord>> {
        let mut records: Vec<FunctionRecord> = self
            .repo
            .list::<FunctionRecord>(lambda::SCOPE, LAMBDA_FUNCTION)
            .await?
            .into_iter()
            .map(|r| r.value)
            .collect();
        records.sort_by(|a, b| a.latest.name.cmp(&b.latest.name));
        Ok(records)
    }

    /// A published version.
    pub(crate) async fn function_version(
        &self,
        name: &str,
        version: &str,
    ) -> LambdaResult<FunctionVersion> {
        Ok(self
            .repo
            .get::<FunctionVersion>(&version_key(name, version))
            .await?
            .ok_or_else(|| self.function_not_found(name, Some(version)))?
            .value)
    }

    /// Every published version, in number order.
    pub(crate) async fn function_versions(&self, name: &str) -> LambdaResult<Vec<FunctionVersion>> {
        let mut versions: Vec<FunctionVersion> = self
            .repo
            .list::<FunctionVersion>(&function_scope(name), LAMBDA_VERSION)
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect();
        versions.sort_by_key(|v| v.version.parse::<u64>().unwrap_or(u64::MAX));
        Ok(versions)
    }

    pub(crate) async fn alias(&self, name: &str, alias: &str) -> LambdaResult<Versioned<Alias>> {
        self.repo
            .get(&alias_key(name, alias))
            .await?
            .ok_or_else(|| {
                LambdaError::NotFound(format!(
                    "Alias not found: {}",
                    self.function_arn(name, Some(alias))
                ))
            })
    }

    pub(crate) async fn aliases(&self, name: &str) -> LambdaResult<Vec<Alias>> {
        let mut aliases: Vec<Alias> = self
            .repo
            .list::<Alias>(&function_scope(name), LAMBDA_ALIAS)
            .await?
            .into_iter()
            .map(|a| a.value)
            .collect();
        aliases.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(aliases)
    }

    /// The version a qualifier names (an alias's primary version for aliases); a missing
    /// version or alias is Lambda's "Function not found" for the qualified ARN.
    pub(crate) async fn resolve_version(
        &self,
        record: &FunctionRecord,
        qualifier: Option<&str>,
    ) -> LambdaResult<FunctionVersion> {
        let name = &record.latest.name;
        match Qualifier::parse(qualifier) {
            Qualifier::Latest => Ok(record.latest.clone()),
            Qualifier::Version(_) => {
                self.function_version(name, qualifier.unwrap_or(LATEST))
                    .await
            }
            Qualifier::Alias(alias) => {
                let alias = self
                    .repo
                    .get::<Alias>(&alias_key(name, alias))
                    .await?
                    .ok_or_else(|| self.function_not_found(name, Some(alias)))?;
                match Qualifier::parse(Some(&alias.value.function_version)) {
                    Qualifier::Latest => Ok(record.latest.clone()),
                    _ => {
                        self.function_version(name, &alias.value.function_version)
                            .await
                    }
                }
            }
        }
    }

    /// Checks that a qualifier (version or alias) exists, as permissions and `GetPolicy` need.
    pub(crate) async fn check_qualifier(
        &self,
        record: &FunctionRecord,
        qualifier: Option<&str>,
    ) -> LambdaResult<()> {
        self.resolve_version(record, qualifier).await.map(drop)
    }

    pub(crate) async fn commit(&self, batch: Batch) -> LambdaResult<u64> {
        Ok(self.repo.commit(batch).await?)
    }
}

/// A batch that changes something of a function, guarded by the version its record was read
/// at, and writing `record` (possibly changed) back.
pub fn batch_for(record: &Versioned<FunctionRecord>, value: &FunctionRecord) -> Batch {
    let mut batch = Batch::default();
    batch.put_versioned(record_key(&record.value.latest.name), value, record.version);
    batch
}
