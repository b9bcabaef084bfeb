//! The data plane's view of the local function runtime: `AWS_PROXY` integrations invoke
//! functions through [`FunctionInvoker`], and this adapter answers with
//! [`tollgate_functions::Functions`].
//!
//! A function the local runtime does not have runs on the remote Lambda endpoint, if one is
//! configured ([`RemoteLambda`]).
//!
//! Integration URIs may name an alias (`function:NAME:live`). Aliases live in the store; the
//! adapter keeps them in an atomically swapped map that follows the store's change feed, so
//! an invocation resolves its alias without reading the store or taking a lock.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::broadcast::error::RecvError;
use tollgate_admin::lambda::RemoteCall;
use tollgate_functions::{Functions, Invocation, InvokeError};
use tollgate_gateway::integration::lambda::{
    FunctionCall, FunctionCallError, FunctionInvoker, FunctionResult,
};
use tollgate_model::lambda::{Alias, LATEST, Qualifier, function_scope};
use tollgate_model::layout::{LAMBDA_ALIAS, LAMBDA_FUNCTION};
use tollgate_store::Store;

use crate::remote_lambda::RemoteLambda;

/// Aliases by (function, alias name).
type Aliases = HashMap<(String, String), Alias>;

pub struct LocalFunctions {
    functions: Arc<Functions>,
    aliases: ArcSwap<Aliases>,
    remote: Option<Arc<RemoteLambda>>,
}

impl LocalFunctions {
    pub async fn start(
        functions: Arc<Functions>,
        store: Arc<dyn Store>,
        remote: Option<Arc<RemoteLambda>>,
    ) -> Arc<Self> {
        let feed = store.subscribe();
        let this = Arc::new(Self {
            functions,
            aliases: ArcSwap::from_pointee(HashMap::new()),
            remote,
        });
        this.reload(store.as_ref()).await;
        tokio::spawn(Arc::clone(&this).follow(store, feed));
        this
    }

    async fn follow(
        self: Arc<Self>,
        store: Arc<dyn Store>,
        mut feed: tokio::sync::broadcast::Receiver<tollgate_store::Change>,
    ) {
        loop {
            match feed.recv().await {
                Ok(change) if change.scopes.iter().any(|s| s.starts_with("lambda")) => {
                    self.reload(store.as_ref()).await
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => self.reload(store.as_ref()).await,
                Err(RecvError::Closed) => return,
            }
        }
    }

    async fn reload(&self, store: &dyn Store) {
        let mut aliases = HashMap::new();
        let Ok(functions) = store.list("lambda", LAMBDA_FUNCTION).await else {
            return;
        };
        for function in functions {
            let Ok(docs) = store
                .list(&function_scope(&function.id), LAMBDA_ALIAS)
                .await
            else {
                continue;
            };
            for doc in docs {
                if let Ok(alias) = serde_json::from_value::<Alias>(doc.body) {
                    aliases.insert((function.id.clone(), alias.name.clone()), alias);
                }
            }
        }
        self.aliases.store(Arc::new(aliases));
    }

    /// The version an invocation runs: aliases resolved (with their weighted routing).
    fn version_of(&self, name: &str, qualifier: &str) -> String {
        match Qualifier::parse(Some(qualifier)) {
            Qualifier::Alias(alias) => self
                .aliases
                .load()
                .get(&(name.to_string(), alias.to_string()))
                .map(|a| a.pick_version(fastrand::f64()).to_string())
                .unwrap_or_else(|| qualifier.to_string()),
            _ => qualifier.to_string(),
        }
    }
}

impl FunctionInvoker for LocalFunctions {
    fn invoke(
        &self,
        call: FunctionCall,
    ) -> Pin<Box<dyn Future<Output = Result<FunctionResult, FunctionCallError>> + Send + '_>> {
        Box::pin(async move {
            let version = self.version_of(&call.name, &call.qualifier);
            let invocation = Invocation {
                payload: call.payload.clone(),
                trace_id: call.trace_id.clone(),
                ..Invocation::default()
            };
            match self
                .functions
                .invoke(&call.name, &version, invocation)
                .await
            {
                Ok(outcome) => Ok(FunctionResult {
                    payload: outcome.payload,
                    function_error: outcome.function_error,
                }),
                Err(InvokeError::NotFound(m)) => match &self.remote {
                    Some(remote) => invoke_remote(remote, call).await,
                    None => Err(FunctionCallError::NotFound(m)),
                },
                Err(InvokeError::Throttled { reason }) => {
                    Err(FunctionCallError::Throttled(reason.to_string()))
                }
                Err(e) => Err(FunctionCallError::Failed(e.to_string())),
            }
        })
    }
}

/// A synchronous invocation on the remote endpoint, its answer in the data plane's terms.
async fn invoke_remote(
    remote: &RemoteLambda,
    call: FunctionCall,
) -> Result<FunctionResult, FunctionCallError> {
    let outcome = remote
        .invoke(RemoteCall {
            qualifier: (call.qualifier != LATEST).then_some(call.qualifier),
            name: call.name,
            payload: call.payload,
            invocation_type: "RequestResponse".into(),
            trace_id: call.trace_id,
            ..RemoteCall::default()
        })
        .await
        .map_err(|e| FunctionCallError::Failed(format!("remote Lambda endpoint: {e}")))?;
    let body = || String::from_utf8_lossy(&outcome.payload).into_owned();
    match outcome.status {
        200 => Ok(FunctionResult {
            payload: outcome.payload,
            function_error: outcome.function_error,
        }),
        404 => Err(FunctionCallError::NotFound(body())),
        429 => Err(FunctionCallError::Throttled(
            serde_json::from_slice::<serde_json::Value>(&outcome.payload)
                .ok()
                .and_then(|v| v.get("Reason")?.as_str().map(str::to_string))
                .unwrap_or_else(|| "TooManyRequestsException".into()),
        )),
        status => Err(FunctionCallError::Failed(format!(
            "remote Lambda endpoint answered {status}: {}",
            body()
        ))),
    }
}
