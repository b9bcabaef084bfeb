//! The `lambda` service (API version 2015-03-31), REST-JSON as the botocore model defines it:
//! functions, code, configuration, invocation, versions, aliases, reserved concurrency and
//! resource policies. Functions run in the [`tollgate_functions::Functions`] runtime, which this
//! module keeps in step with the store: every committed change is applied to it (`upsert` /
//! `remove`), and [`restore`] re-registers everything when the server starts.
//!
//! Store layout: see [`tollgate_model::lambda`].

mod code;
mod error;
mod functions;
mod invoke;
mod policy;
mod remote;
mod repo;
mod versions;
mod wire;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post, put};
use tollgate_functions::{FunctionConfig, Functions};
use tollgate_model::lambda::{FunctionRecord, FunctionVersion, function_arn};
use tollgate_model::layout::{LAMBDA_FUNCTION, LAMBDA_VERSION};
use tollgate_store::Store;

pub use error::LambdaError;
pub use remote::{RemoteCall, RemoteInvoker, RemoteOutcome};

use crate::AppState;

pub fn routes() -> Router<AppState> {
    const FUNCTION: &str = "/2015-03-31/functions/{function_name}";
    Router::new()
        .route(
            "/2015-03-31/functions",
            post(functions::create).get(functions::list),
        )
        .route(FUNCTION, get(functions::get).delete(functions::delete))
        .route(
            &format!("{FUNCTION}/configuration"),
            get(functions::get_configuration).put(functions::update_configuration),
        )
        .route(&format!("{FUNCTION}/code"), put(functions::update_code))
        .route(&format!("{FUNCTION}/invocations"), post(invoke::invoke))
        .route(
            &format!("{FUNCTION}/versions"),
            post(versions::publish).get(versions::list),
        )
        .route(
            &format!("{FUNCTION}/aliases"),
            post(versions::create_alias).get(versions::list_aliases),
        )
        .route(
            &format!("{FUNCTION}/aliases/{{alias}}"),
            get(versions::get_alias)
                .put(versions::update_alias)
                .delete(versions::delete_alias),
        )
        .route(
            &format!("{FUNCTION}/policy"),
            post(policy::add).get(policy::get),
        )
        .route(
            &format!("{FUNCTION}/policy/{{statement_id}}"),
            axum::routing::delete(policy::remove),
        )
        .route(
            "/2017-10-31/functions/{function_name}/concurrency",
            put(functions::put_concurrency).delete(functions::delete_concurrency),
        )
        .route(
            "/2019-09-30/functions/{function_name}/concurrency",
            get(functions::get_concurrency),
        )
        .route(
            "/_tollgate/lambda/code/{function_name}/{file}",
            get(functions::download_code),
        )
}

/// What the runtime needs to run one version of a function.
fn runtime_config(
    region: &str,
    account_id: &str,
    data_dir: &Path,
    record: &FunctionRecord,
    version: &FunctionVersion,
) -> FunctionConfig {
    FunctionConfig {
        name: version.name.clone(),
        qualifier: version.version.clone(),
        arn: function_arn(region, account_id, &version.name),
        runtime: version.runtime.clone(),
        handler: version.handler.clone(),
        code_dir: code::code_dir(data_dir, &version.code),
        environment: version.environment.clone(),
        timeout: Duration::from_secs(u64::from(version.timeout)),
        memory_mb: version.memory_size,
        reserved_concurrency: record.reserved_concurrency,
    }
}

impl AppState {
    /// Tells the runtime (if this node has one) about versions of a function.
    pub(crate) fn register<'a>(
        &self,
        record: &FunctionRecord,
        versions: impl IntoIterator<Item = &'a FunctionVersion>,
    ) {
        let Some(functions) = &self.functions else {
            return;
        };
        for version in versions {
            functions.upsert(runtime_config(
                &self.region,
                &self.account_id,
                &self.data_dir,
                record,
                version,
            ));
        }
    }

    /// Tells the runtime that versions of a function are gone.
    pub(crate) fn unregister<'a>(&self, name: &str, qualifiers: impl IntoIterator<Item = &'a str>) {
        if let Some(functions) = &self.functions {
            for qualifier in qualifiers {
                functions.remove(name, qualifier);
            }
        }
    }
}

/// Registers every stored function (`$LATEST` and each published version) with the runtime.
/// The binary calls this once at startup. Returns how many function versions were registered.
pub async fn restore(
    store: &Arc<dyn Store>,
    functions: &Functions,
    data_dir: &Path,
    region: &str,
    account_id: &str,
) -> Result<usize, tollgate_store::StoreError> {
    let mut count = 0;
    for doc in store
        .list(tollgate_model::lambda::SCOPE, LAMBDA_FUNCTION)
        .await?
    {
        let Ok(record) = serde_json::from_value::<FunctionRecord>(doc.body) else {
            tracing::warn!(function = %doc.id, "stored function is unreadable; skipped");
            continue;
        };
        let scope = tollgate_model::lambda::function_scope(&record.latest.name);
        let mut versions = vec![record.latest.clone()];
        for doc in store.list(&scope, LAMBDA_VERSION).await? {
            match serde_json::from_value::<FunctionVersion>(doc.body) {
                Ok(version) => versions.push(version),
                Err(_) => {
                    tracing::warn!(function = %record.latest.name, version = %doc.id, "stored version is unreadable; skipped")
                }
            }
        }
        for version in &versions {
            functions.upsert(runtime_config(
                region, account_id, data_dir, &record, version,
            ));
            count += 1;
        }
    }
    Ok(count)
}

/// Before a `--dev` reset: stops every function in the runtime and removes all uploaded code.
pub(crate) async fn forget_all(state: &AppState) {
    if let Ok(records) = state.function_records().await {
        for record in records {
            let name = &record.latest.name;
            let numbers: Vec<String> = (1..=record.last_version).map(|n| n.to_string()).collect();
            state.unregister(
                name,
                std::iter::once(tollgate_model::lambda::LATEST)
                    .chain(numbers.iter().map(String::as_str)),
            );
        }
    }
    let _ = tokio::fs::remove_dir_all(state.data_dir.join("lambda").join("code")).await;
}
