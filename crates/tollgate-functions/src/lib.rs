//! Lambda-style functions as local processes speaking the AWS Lambda Runtime API.
//!
//! A function is code in a directory plus a runtime identifier. [`Functions::invoke`] runs it the
//! way Lambda does: in an execution environment (here, a process group) that speaks the
//! [Runtime API](https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html) on a private
//! port, so functions built with AWS's runtime clients (`awslambdaric`, `lambda_runtime` for Rust,
//! `aws-lambda-go`, custom `bootstrap` scripts) run unchanged. Environments are reused while warm,
//! scale out with concurrent invocations, are throttled at the reserved and global concurrency,
//! and stop when idle.
//!
//! Modules:
//! - `runtime_api`: the HTTP server an instance's runtime talks to.
//! - `instance`: a process group's lifecycle (init, invoke, timeout, memory).
//! - `pool`: pools per function version, concurrency and throttling.
//! - `logs`: per-function log files and the `tail_log` capture.
//! - `memory`: memory use of an instance's processes, from `/proc`.
//! - [`bootstraps`]: what to run for `provided.*`, `python3.*` and `nodejs*`, and the Python and
//!   Node.js runtime clients Tollgate ships.
//!
//! Payload limits follow Lambda's synchronous invocation: a request over [`MAX_PAYLOAD_BYTES`] is
//! refused before any instance is involved ([`InvokeError::RequestTooLarge`], which the API maps
//! to `413 RequestEntityTooLargeException`); a response over it becomes an `Unhandled` function
//! error of type `Function.ResponseSizeTooLarge`, as Lambda returns.

pub mod bootstraps;
mod instance;
mod logs;
mod memory;
mod pool;
mod runtime_api;
mod util;

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use bootstraps::{Interpreters, NODE_BOOTSTRAP, PYTHON_BOOTSTRAP, PythonClient};

use crate::bootstraps::Launcher;
use crate::instance::{Instance, SpawnContext, SpawnError};
use crate::logs::LogRegistry;
use crate::pool::Registry;

/// The largest request and response payload of a synchronous invocation (Lambda: 6 MB).
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// How the function runtime is set up. See [`RuntimeSettings::new`] for the defaults.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    /// Where logs (`logs/NAME.log`) and Tollgate's runtime clients (`runtime/`) are kept.
    pub work_dir: PathBuf,
    pub region: String,
    pub account_id: String,
    /// Global cap on in-flight invocations, and on live instances (default 100).
    pub max_concurrency: usize,
    /// Idle instances stop after this (default 300 s): scale to zero.
    pub idle_timeout: Duration,
    /// Bound on a function's kept logs (default 1 MiB): `NAME.log` rotates to `NAME.log.1` at
    /// half of it.
    pub log_bytes_per_function: u64,
    /// The credentials functions find in `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN` (unless they set their own); without, the dummy `test`.
    pub credentials: Option<FunctionCredentials>,
}

/// Temporary credentials handed to every function (as Lambda hands it its role's).
#[derive(Clone, PartialEq, Eq)]
pub struct FunctionCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
}

impl std::fmt::Debug for FunctionCredentials {
    // Never prints the secret or the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl RuntimeSettings {
    /// Defaults: `us-east-1`, account `000000000000`, 100 concurrent, 300 s idle, 1 MiB logs.
    pub fn new(work_dir: impl Into<PathBuf>) -> Self {
        Self {
            work_dir: work_dir.into(),
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
            max_concurrency: 100,
            idle_timeout: Duration::from_secs(300),
            log_bytes_per_function: 1024 * 1024,
            credentials: None,
        }
    }
}

/// One version of a function, as the runtime needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionConfig {
    pub name: String,
    /// `$LATEST` or a version number; aliases are resolved by the caller.
    pub qualifier: String,
    /// `arn:aws:lambda:{region}:{account}:function:{name}` (unqualified).
    pub arn: String,
    /// `python3.x`, `nodejs*`, `provided.al2023`, `provided.al2`, `provided`.
    pub runtime: String,
    /// `module.function` for Python and Node.js; ignored for `provided.*`.
    pub handler: String,
    /// The unpacked code, the instances' working directory and `LAMBDA_TASK_ROOT`.
    pub code_dir: PathBuf,
    pub environment: BTreeMap<String, String>,
    /// 1..=900 s.
    pub timeout: Duration,
    /// 128..=10240; enforced on the resident memory of the instance's process group.
    pub memory_mb: u32,
    /// `Some(0)` throttles every invocation.
    pub reserved_concurrency: Option<u32>,
}

/// One synchronous invocation.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub payload: Bytes,
    /// Base64 JSON, passed as `Lambda-Runtime-Client-Context`.
    pub client_context: Option<String>,
    /// JSON, passed as `Lambda-Runtime-Cognito-Identity`.
    pub cognito_identity: Option<String>,
    /// X-Ray header value, passed as `Lambda-Runtime-Trace-Id`.
    pub trace_id: Option<String>,
    /// Return the last 4 KB of the invocation's log (`LogType: Tail`).
    pub tail_log: bool,
}

impl Invocation {
    /// An invocation with this payload and nothing else.
    pub fn new(payload: impl Into<Bytes>) -> Self {
        Self {
            payload: payload.into(),
            ..Self::default()
        }
    }
}

/// The result of an invocation that reached the function (HTTP 200 in Lambda's Invoke API).
#[derive(Debug, Clone)]
pub struct InvokeOutcome {
    /// The function's response, or the error document.
    pub payload: Bytes,
    /// `Some("Unhandled")` for every function error (errors posted to `/error`, crashes,
    /// timeouts, init errors, out of memory), which Lambda puts in `X-Amz-Function-Error`.
    pub function_error: Option<String>,
    /// The last 4 KB of the invocation's log (`START` .. `REPORT`), when asked for. Plain text;
    /// the caller base64-encodes it for `X-Amz-Log-Result`.
    pub log_tail: Option<String>,
    pub executed_version: String,
    pub request_id: String,
}

/// Why an invocation did not reach the function.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// No such function or version (`ResourceNotFoundException`, 404).
    #[error("{0}")]
    NotFound(String),
    /// Over a concurrency limit (`TooManyRequestsException`, 429, with this `Reason`):
    /// `ReservedFunctionConcurrentInvocationLimitExceeded` or
    /// `ConcurrentInvocationLimitExceeded`.
    #[error("Rate Exceeded.")]
    Throttled { reason: &'static str },
    /// The request payload is over [`MAX_PAYLOAD_BYTES`] (`RequestEntityTooLargeException`, 413).
    #[error("{0}")]
    RequestTooLarge(String),
    /// Tollgate could not run the function (`ServiceException`, 500).
    #[error("{0}")]
    Failed(String),
}

/// An invocation, polled by its caller (no task of its own to spawn, schedule and join: that
/// cost as much as the rest of the invocation's bookkeeping). Once started, an invocation runs to
/// its end as in Lambda, whatever the caller does: if the caller goes away first (a gateway
/// timeout, a client hanging up), the rest of it runs in a task of its own, so its `END` and
/// `REPORT` are still written and its instance goes back to the pool. A panic in it fails the
/// invocation, not the caller.
struct Detachable<F: Future<Output = Result<InvokeOutcome, InvokeError>> + Send + 'static>(
    Option<Pin<Box<F>>>,
);

impl<F> Future for Detachable<F>
where
    F: Future<Output = Result<InvokeOutcome, InvokeError>> + Send + 'static,
{
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(invocation) = self.0.as_mut() else {
            return Poll::Ready(Err(InvokeError::Failed(
                "invocation polled after its end".into(),
            )));
        };
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| invocation.as_mut().poll(cx)));
        let ready = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(result)) => result,
            Err(_) => Err(InvokeError::Failed(
                "invocation task failed: it panicked".into(),
            )),
        };
        self.0 = None;
        Poll::Ready(ready)
    }
}

impl<F> Drop for Detachable<F>
where
    F: Future<Output = Result<InvokeOutcome, InvokeError>> + Send + 'static,
{
    fn drop(&mut self) {
        if let Some(invocation) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = invocation.await;
            });
        }
    }
}

/// State shared by [`Functions`], its invocation tasks and the idle sweeper.
struct Shared {
    settings: RuntimeSettings,
    registry: Arc<Registry>,
    launcher: Launcher,
    logs: LogRegistry,
}

/// The function runtime: pools of instances per function version.
pub struct Functions {
    shared: Arc<Shared>,
    sweeper: std::sync::Mutex<Option<JoinHandle<()>>>,
    /// Where Lambda's metrics go, once [`Functions::record_metrics`] was called (each pool
    /// resolves its function's handles there once).
    metrics: std::sync::OnceLock<Arc<tollgate_telemetry::Registry>>,
}

impl Drop for Functions {
    fn drop(&mut self) {
        if let Ok(mut sweeper) = self.sweeper.lock()
            && let Some(task) = sweeper.take()
        {
            task.abort();
        }
        drop(self.shared.registry.close());
    }
}

impl Functions {
    /// A runtime with the default [`Interpreters`] (`python3`, `node`, awslambdaric when found).
    pub fn new(settings: RuntimeSettings) -> Arc<Self> {
        Self::with_interpreters(settings, Interpreters::default())
    }

    /// A runtime with explicit interpreters and Python client choice.
    pub fn with_interpreters(settings: RuntimeSettings, interpreters: Interpreters) -> Arc<Self> {
        let registry = Arc::new(Registry::new(
            settings.max_concurrency,
            settings.region.clone(),
            settings.account_id.clone(),
        ));
        let launcher = Launcher::new(interpreters, settings.work_dir.join("runtime"));
        let logs = LogRegistry::new(
            settings.work_dir.join("logs"),
            settings.log_bytes_per_function,
        );
        Arc::new(Self {
            shared: Arc::new(Shared {
                settings,
                registry,
                launcher,
                logs,
            }),
            sweeper: std::sync::Mutex::new(None),
            metrics: std::sync::OnceLock::new(),
        })
    }

    /// Adds or reconfigures a function version. Instances of an older configuration finish their
    /// current invocation and stop; idle ones stop now. An identical configuration is a no-op,
    /// so callers may re-apply their whole state.
    pub fn upsert(&self, config: FunctionConfig) {
        drop(self.shared.registry.upsert(config));
    }

    /// Removes a function version and stops its instances (busy ones after their invocation).
    pub fn remove(&self, name: &str, qualifier: &str) {
        drop(self.shared.registry.remove(name, qualifier));
    }

    /// Restarts a function version's instances without changing its configuration, for hot
    /// reload when the code in `code_dir` changed (an identical [`upsert`](Self::upsert) is a
    /// no-op). Busy instances finish their invocation first.
    pub fn reload(&self, name: &str, qualifier: &str) {
        drop(self.shared.registry.reload(name, qualifier));
    }

    /// Records Lambda's metrics (`Invocations`, `Errors`, `Throttles`, `Duration`,
    /// `ConcurrentExecutions` by `FunctionName`) into `registry` from now on.
    pub fn record_metrics(&self, registry: Arc<tollgate_telemetry::Registry>) {
        let _ = self.metrics.set(registry);
    }

    /// Invokes a function version synchronously, recording its metrics.
    ///
    /// The invocation runs in its own task: if the caller stops waiting (a client hung up), the
    /// function still completes and its instance returns to the pool, as in Lambda.
    pub async fn invoke(
        &self,
        name: &str,
        qualifier: &str,
        invocation: Invocation,
    ) -> Result<InvokeOutcome, InvokeError> {
        if invocation.payload.len() > MAX_PAYLOAD_BYTES {
            return Err(InvokeError::RequestTooLarge(format!(
                "Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation"
            )));
        }
        self.ensure_sweeper();
        let telemetry = self.metrics.get().map(|registry| &**registry);
        let (metrics, admitted) = self.shared.registry.acquire(name, qualifier, telemetry);
        let Some(metrics) = metrics else {
            return self.run_admitted(admitted?, invocation).await;
        };
        if let Err(InvokeError::Throttled { .. }) = &admitted {
            metrics.throttles.inc();
        }
        let started = std::time::Instant::now();
        metrics.concurrent.add(1);
        let result = match admitted {
            Ok(admitted) => self.run_admitted(admitted, invocation).await,
            Err(e) => Err(e),
        };
        metrics.concurrent.add(-1);
        match &result {
            Ok(outcome) => {
                metrics.invocations.inc();
                metrics.duration.record(started.elapsed());
                if outcome.function_error.is_some() {
                    metrics.errors.inc();
                }
            }
            Err(InvokeError::Failed(_)) => {
                metrics.invocations.inc();
                metrics.errors.inc();
            }
            Err(_) => {}
        }
        result
    }

    /// Runs an admitted invocation in the caller's task; see [`Detachable`] for a caller that
    /// goes away first.
    async fn run_admitted(
        &self,
        (lease, discard): pool::Admitted,
        invocation: Invocation,
    ) -> Result<InvokeOutcome, InvokeError> {
        drop(discard);
        let shared = self.shared.clone();
        Detachable(Some(Box::pin(shared.run(lease, invocation)))).await
    }

    /// The function's current log file (older lines are in the same path + `.1`).
    pub fn log_path(&self, name: &str) -> PathBuf {
        self.shared.logs.path(name)
    }

    /// Stops every instance: idle ones and busy ones (their process groups are killed, so their
    /// invocations end with a runtime exit error). Invocations after this fail.
    pub async fn shutdown(&self) {
        if let Ok(mut sweeper) = self.sweeper.lock()
            && let Some(task) = sweeper.take()
        {
            task.abort();
        }
        let idle = self.shared.registry.close();
        for instance in idle {
            instance.stop().await;
        }
        // Let the busy invocations observe the exits and release their instances.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while self.shared.registry.live_instances() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.shared.logs.flush_all();
    }

    /// Number of running instances (busy, idle or starting), for metrics and tests.
    pub fn live_instances(&self) -> usize {
        self.shared.registry.live_instances()
    }

    /// Starts the idle sweeper on first use (`new` may run outside a Tokio runtime).
    fn ensure_sweeper(&self) {
        let Ok(mut sweeper) = self.sweeper.lock() else {
            return;
        };
        if sweeper.is_some() {
            return;
        }
        let idle_timeout = self.shared.settings.idle_timeout;
        let period = (idle_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
        let weak: Weak<Shared> = Arc::downgrade(&self.shared);
        *sweeper = Some(tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(shared) = weak.upgrade() else { return };
                let expired = shared.registry.expired(idle_timeout);
                if !expired.is_empty() {
                    tracing::debug!(count = expired.len(), "stopping idle function instances");
                }
                for instance in expired {
                    instance.stop().await;
                }
            }
        }));
    }
}

impl Shared {
    async fn run(
        self: Arc<Self>,
        lease: pool::Lease,
        invocation: Invocation,
    ) -> Result<InvokeOutcome, InvokeError> {
        let request_id = util::new_request_id();
        let pool::Lease {
            config,
            generation,
            start,
            in_flight,
        } = lease;
        let slot = match start {
            pool::Start::Warm(instance) => Ok(instance),
            pool::Start::Cold(cold) => Err(cold),
            pool::Start::Wait(returned, patience) => {
                self.wait_for_instance(&config, returned, patience).await?
            }
        };
        let mut instance = match slot {
            Ok(instance) => instance,
            Err(cold) => {
                let ctx = SpawnContext {
                    settings: &self.settings,
                    launcher: &self.launcher,
                    log: self.logs.get(&config.name),
                };
                match Instance::spawn(ctx, config.clone(), generation, cold).await {
                    Ok(instance) => instance,
                    Err(SpawnError::Entrypoint(message)) => {
                        return Ok(self.entrypoint_error(&config, &request_id, &message));
                    }
                    Err(SpawnError::Internal(message)) => {
                        return Err(InvokeError::Failed(message));
                    }
                }
            }
        };
        let finished = instance.invoke(&request_id, invocation).await;
        if let Some(init) = finished.init_duration {
            self.registry
                .record_init(&config.name, &config.qualifier, init);
        }
        if finished.reusable {
            if let Some(unwanted) = self.registry.give_back(instance) {
                unwanted.stop().await;
            }
        } else {
            instance.stop().await;
        }
        drop(in_flight);
        Ok(finished.outcome)
    }

    /// Waits in line for a busy instance of the pool to come back. Once it has waited `patience`
    /// without one, starts an instance instead as soon as the pool allows another start.
    async fn wait_for_instance(
        &self,
        config: &FunctionConfig,
        mut returned: oneshot::Receiver<Instance>,
        patience: Duration,
    ) -> Result<Result<Instance, pool::ColdStart>, InvokeError> {
        let mut start_ended = None;
        loop {
            let waited = async {
                match start_ended.take() {
                    Some(notified) => notified.await,
                    None => tokio::time::sleep(patience).await,
                }
            };
            let bounded = tokio::select! {
                biased;
                instance = &mut returned => match instance {
                    Ok(instance) => return Ok(Ok(instance)),
                    // The pool went away (removed, or shutdown): nothing will come back.
                    Err(_) => false,
                },
                () = waited => true,
            };
            match self
                .registry
                .start_after_wait(&config.name, &config.qualifier, bounded)?
            {
                pool::AfterWait::StartInFlight(notified) => start_ended = Some(notified),
                pool::AfterWait::Start(cold, discard) => {
                    drop(discard);
                    // An instance handed over just as the wait ended is still ours.
                    returned.close();
                    return Ok(match returned.try_recv() {
                        Ok(instance) => Ok(instance),
                        Err(_) => Err(cold),
                    });
                }
            }
        }
    }

    /// The entry point could not be started (`Runtime.InvalidEntrypoint` in Lambda).
    fn entrypoint_error(
        &self,
        config: &FunctionConfig,
        request_id: &str,
        message: &str,
    ) -> InvokeOutcome {
        let log = self.logs.get(&config.name);
        let text = format!(
            "START RequestId: {request_id} Version: {q}\nEND RequestId: {request_id}\nREPORT RequestId: {request_id}\tDuration: 0.00 ms\tBilled Duration: 0 ms\tMemory Size: {m} MB\tMax Memory Used: 0 MB\tStatus: error\tError Type: Runtime.InvalidEntrypoint\n",
            q = config.qualifier,
            m = config.memory_mb
        );
        log.append(&text);
        InvokeOutcome {
            payload: Bytes::from(
                serde_json::json!({
                    "errorType": "Runtime.InvalidEntrypoint",
                    "errorMessage": format!("RequestId: {request_id} Error: {message}"),
                })
                .to_string(),
            ),
            function_error: Some("Unhandled".to_owned()),
            log_tail: None,
            executed_version: config.qualifier.clone(),
            request_id: request_id.to_owned(),
        }
    }
}
