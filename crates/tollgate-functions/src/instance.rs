//! One execution environment: a process group, its Runtime API server and its output capture.
//!
//! Lifecycle, as in Lambda:
//!
//! 1. **Init** ([`Instance::spawn`] + the first part of a cold [`Instance::invoke`]): the runtime
//!    starts as the leader of a new process group and initialises until it first calls
//!    `/invocation/next`. `/init/error`, or exiting before that call, fails the invocation that
//!    caused the cold start.
//! 2. **Invoke**: the event is handed to the waiting `/next`; the invocation ends with
//!    `/response` or `/error` (the instance stays warm), or with the process exiting, the timeout,
//!    or the memory limit (the instance is dead: the whole process group is killed).
//! 3. **Shutdown**: dropping an [`Instance`] kills its process group, so no path (an idle timeout,
//!    a reconfiguration, a cancelled caller, a panic) can leak processes.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use hyper::header::HeaderValue;
use tokio::process::Child;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::bootstraps::{Launcher, RuntimeKind};
use crate::logs::{FunctionLog, LogBusy, OutputCapture};
use crate::memory;
use crate::pool::{ColdStart, LiveSlot, StartPermit};
use crate::runtime_api::{Event, HeldReply, RuntimeApi, RuntimeMessage};
use crate::util::{self, kill_process_group};
use crate::{FunctionConfig, Invocation, InvokeOutcome, MAX_PAYLOAD_BYTES, RuntimeSettings};
use tollgate_telemetry::access_log::push_decimal;

/// Lambda's limit for the init phase of an on-demand instance.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often memory is sampled while an invocation runs.
const MEMORY_SAMPLE_INTERVAL: Duration = Duration::from_millis(100);

/// Variables passed from Tollgate's own environment so interpreters can be found (PATH) and
/// version managers' shims work (pyenv, nvm, asdf need HOME or their root). Nothing else leaks
/// from the host: in particular not its AWS credentials.
const PASSTHROUGH_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "PYENV_ROOT",
    "PYENV_VERSION",
    "NVM_DIR",
    "NVM_BIN",
    "ASDF_DIR",
    "ASDF_DATA_DIR",
];

/// Why an instance could not be started.
#[derive(Debug)]
pub(crate) enum SpawnError {
    /// The function's entry point cannot be executed (missing or non-executable `bootstrap`,
    /// missing interpreter): Lambda reports this as `Runtime.InvalidEntrypoint` in the response.
    Entrypoint(String),
    /// Tollgate itself failed (could not bind a port, create a pipe).
    Internal(String),
}

/// What the pool needs to start an instance.
pub(crate) struct SpawnContext<'a> {
    pub settings: &'a RuntimeSettings,
    pub launcher: &'a Launcher,
    pub log: Arc<FunctionLog>,
}

/// A started execution environment. See the module documentation.
pub(crate) struct Instance {
    config: Arc<FunctionConfig>,
    generation: u64,
    child: Child,
    pgid: u32,
    /// `Lambda-Runtime-Invoked-Function-Arn`, the same for every invocation.
    invoked_arn: HeaderValue,
    api: RuntimeApi,
    events: mpsc::Sender<Event>,
    messages: mpsc::UnboundedReceiver<RuntimeMessage>,
    output: Arc<OutputCapture>,
    reader: JoinHandle<()>,
    spawned_at: Instant,
    /// False until the runtime first asks for an event.
    initialised: bool,
    /// Set when the process group has been killed (or the process is known to have exited).
    dead: bool,
    peak_kib: u64,
    /// When memory was last sampled: finishing an invocation samples at most once per
    /// [`MEMORY_SAMPLE_INTERVAL`], so a stream of quick invocations does not read `/proc` each time.
    sampled_at: Option<Instant>,
    /// When this instance last finished an invocation (for the idle timeout and LRU eviction).
    pub(crate) last_used: Instant,
    _slot: LiveSlot,
    /// Held until init ends, so the pool knows a start is in flight.
    start_permit: Option<StartPermit>,
    /// The runtime's reply to the last answer, held until the next event is queued or the
    /// instance goes idle (see [`HeldReply`]).
    held_reply: Option<HeldReply>,
    /// Held while an invocation runs (see [`LogBusy`]).
    log_busy: Option<LogBusy>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        if !self.dead {
            kill_process_group(self.pgid);
        }
        self.reader.abort();
    }
}

/// How one invocation ended.
pub(crate) struct Finished {
    pub outcome: InvokeOutcome,
    /// Whether the instance can serve another invocation.
    pub reusable: bool,
    /// How long init took, when this invocation was the instance's first and init succeeded.
    pub init_duration: Option<Duration>,
}

/// The end state of an invocation, before it is turned into an outcome.
enum Ending {
    Response(Bytes),
    Error(Bytes, Option<String>),
    ResponseTooLarge,
    InitError(Bytes, Option<String>),
    Exited(ExitStatus),
    InitTimeout,
    Timeout,
    OutOfMemory,
}

impl Instance {
    /// Starts the runtime process. Does not wait for init: that happens in the first `invoke`,
    /// so that an init failure becomes that invocation's error, as in Lambda.
    pub(crate) async fn spawn(
        ctx: SpawnContext<'_>,
        config: Arc<FunctionConfig>,
        generation: u64,
        cold: ColdStart,
    ) -> Result<Self, SpawnError> {
        let ColdStart { slot, permit } = cold;
        let kind = RuntimeKind::of(&config.runtime).ok_or_else(|| {
            SpawnError::Internal(format!("unsupported runtime {:?}", config.runtime))
        })?;
        if !config.code_dir.is_dir() {
            return Err(SpawnError::Entrypoint(format!(
                "chdir {}: no such file or directory",
                config.code_dir.display()
            )));
        }
        let launch = ctx
            .launcher
            .launch(kind, &config.handler, &config.code_dir)
            .await
            .map_err(|e| SpawnError::Internal(format!("could not write bootstraps: {e}")))?;

        let (event_tx, event_rx) = mpsc::channel(1);
        let (message_tx, message_rx) = mpsc::unbounded_channel();
        let api = RuntimeApi::start(event_rx, message_tx)
            .await
            .map_err(|e| SpawnError::Internal(format!("could not start the Runtime API: {e}")))?;
        let (output, receiver, write_end) = OutputCapture::new(ctx.log.clone())
            .map_err(|e| SpawnError::Internal(format!("could not create a pipe: {e}")))?;
        let stderr = write_end
            .try_clone()
            .map_err(|e| SpawnError::Internal(format!("could not duplicate a pipe: {e}")))?;

        let env = environment(
            &config,
            ctx.settings,
            kind,
            &api.address(),
            ctx.launcher.runtime_dir(),
        );
        let mut command = tokio::process::Command::new(&launch.program);
        command
            .args(&launch.args)
            .current_dir(&config.code_dir)
            .env_clear()
            .envs(&env)
            .stdin(Stdio::null())
            .stdout(Stdio::from(write_end))
            .stderr(Stdio::from(stderr))
            .process_group(0)
            .kill_on_drop(true);
        let spawned = command.spawn();
        // The command holds the pipe's write ends: drop it so the pipe reports EOF when the
        // instance's processes exit.
        drop(command);
        let child = spawned.map_err(|e| {
            SpawnError::Entrypoint(format!(
                "fork/exec {}: {}",
                Path::new(&launch.program).display(),
                describe_io_error(&e)
            ))
        })?;
        let pgid = child.id().unwrap_or(0);
        let invoked_arn = HeaderValue::from_str(&invoked_arn(&config))
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        let mut instance = Self {
            invoked_arn,
            config,
            generation,
            child,
            pgid,
            api,
            events: event_tx,
            messages: message_rx,
            reader: tokio::spawn(output.clone().run_reader(receiver)),
            output,
            spawned_at: Instant::now(),
            initialised: false,
            dead: false,
            peak_kib: 0,
            sampled_at: None,
            last_used: Instant::now(),
            _slot: slot,
            start_permit: Some(permit),
            held_reply: None,
            log_busy: None,
        };
        if !instance._slot.set_pgid(pgid) {
            // Shutdown began while this instance was starting.
            instance.kill().await;
            return Err(SpawnError::Internal("shutting down".to_owned()));
        }
        tracing::debug!(function = %instance.config.name, pgid, "function instance started");
        instance.output.line(&[
            "INIT_START Runtime Version: tollgate:",
            &instance.config.runtime,
        ]);
        Ok(instance)
    }

    pub(crate) fn config(&self) -> &Arc<FunctionConfig> {
        &self.config
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether the runtime process is still running (checked before reusing an idle instance).
    pub(crate) fn is_alive(&mut self) -> bool {
        !self.dead && matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops the instance and waits until its runtime process is reaped (dropping it only sends
    /// the signal).
    pub(crate) async fn stop(mut self) {
        if !self.dead {
            self.kill().await;
        }
    }

    /// Kills the process group and reaps the runtime process.
    async fn kill(&mut self) {
        kill_process_group(self.pgid);
        self.dead = true;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
    }

    fn sample_memory(&mut self) -> memory::Usage {
        let usage = memory::group_usage(self.pgid);
        self.sampled_at = Some(Instant::now());
        self.peak_kib = self.peak_kib.max(usage.peak_kib).max(usage.rss_kib);
        usage
    }

    /// Runs one invocation on this instance.
    pub(crate) async fn invoke(&mut self, request_id: &str, invocation: Invocation) -> Finished {
        self.log_busy = Some(self.output.busy());
        let cold = !self.initialised;
        let mut init_duration = None;
        if cold {
            let failed = self.wait_for_init().await;
            self.start_permit = None;
            if let Some(ending) = failed {
                return self.finish(request_id, &invocation, ending, Duration::ZERO, None);
            }
            init_duration = Some(self.spawned_at.elapsed());
        } else {
            self.output.reset_tail();
        }

        self.output.line(&[
            "START RequestId: ",
            request_id,
            " Version: ",
            &self.config.qualifier,
        ]);
        let started = Instant::now();
        let timeout = self.config.timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let deadline_ms = util::epoch_millis(SystemTime::now() + timeout);
        self.api.expect(Some(request_id.to_owned()));
        let event = Event {
            request_id: request_id.to_owned(),
            deadline_ms,
            function_arn: self.invoked_arn.clone(),
            trace_id: Some(
                invocation
                    .trace_id
                    .clone()
                    .unwrap_or_else(util::new_trace_id),
            ),
            client_context: invocation.client_context.clone(),
            cognito_identity: invocation.cognito_identity.clone(),
            payload: invocation.payload.clone(),
        };
        let queued = self.events.try_send(event);
        self.release_reply();
        let ending = if queued.is_err() {
            // The channel holds one event and is drained by `/next`; full means a runtime that
            // stopped polling. Treat it like a hang.
            tokio::time::sleep_until(deadline).await;
            Ending::Timeout
        } else {
            self.wait_for_answer(request_id, deadline).await
        };
        self.api.expect(None);
        let duration = match ending {
            Ending::Timeout => timeout,
            _ => started.elapsed(),
        };
        self.finish(request_id, &invocation, ending, duration, init_duration)
    }

    /// Lets the runtime have its reply to the last answer (the instance is idle, or its next
    /// event is queued).
    pub(crate) fn release_reply(&mut self) {
        self.held_reply = None;
    }

    /// Waits for the first `/next`. `None` when the runtime is ready.
    async fn wait_for_init(&mut self) -> Option<Ending> {
        let deadline = tokio::time::sleep(INIT_TIMEOUT);
        tokio::pin!(deadline);
        let ending = loop {
            tokio::select! {
                biased;
                message = self.messages.recv() => match message {
                    Some(RuntimeMessage::Next) => {
                        self.initialised = true;
                        return None;
                    }
                    Some(RuntimeMessage::InitError { body, error_type }) => {
                        break Ending::InitError(body, error_type);
                    }
                    Some(_) => {}
                    None => break Ending::InitTimeout,
                },
                status = self.child.wait() => {
                    self.dead = true;
                    match status {
                        Ok(status) => break self.init_error_or_exit(status),
                        Err(_) => break Ending::Exited(ExitStatus::from_raw(1 << 8)),
                    }
                }
                () = &mut deadline => break Ending::InitTimeout,
            }
        };
        self.kill().await;
        Some(ending)
    }

    /// The runtime exited during init: prefer the error it posted to `/init/error` (runtimes
    /// post it, get `202`, then exit, so it is already queued).
    fn init_error_or_exit(&mut self, status: ExitStatus) -> Ending {
        while let Ok(message) = self.messages.try_recv() {
            if let RuntimeMessage::InitError { body, error_type } = message {
                return Ending::InitError(body, error_type);
            }
        }
        Ending::Exited(status)
    }

    async fn wait_for_answer(
        &mut self,
        request_id: &str,
        deadline: tokio::time::Instant,
    ) -> Ending {
        let limit_kib = u64::from(self.config.memory_mb) * 1024;
        // The first sample is one interval in: a quick invocation needs none.
        let mut ticker = tokio::time::interval_at(
            tokio::time::Instant::now() + MEMORY_SAMPLE_INTERVAL,
            MEMORY_SAMPLE_INTERVAL,
        );
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ending = loop {
            tokio::select! {
                biased;
                message = self.messages.recv() => match message {
                    Some(RuntimeMessage::Response { request_id: id, body, reply }) if id == request_id => {
                        self.held_reply = Some(reply);
                        return Ending::Response(body);
                    }
                    Some(RuntimeMessage::Error { request_id: id, body, error_type, reply }) if id == request_id => {
                        self.held_reply = Some(reply);
                        return Ending::Error(body, error_type);
                    }
                    Some(RuntimeMessage::ResponseTooLarge { request_id: id, reply }) if id == request_id => {
                        self.held_reply = Some(reply);
                        return Ending::ResponseTooLarge;
                    }
                    Some(RuntimeMessage::InitError { body, error_type }) => {
                        break Ending::InitError(body, error_type);
                    }
                    Some(_) => {}
                    None => break Ending::Timeout,
                },
                status = self.child.wait() => {
                    self.dead = true;
                    // A response posted just before exiting still counts.
                    while let Ok(message) = self.messages.try_recv() {
                        if let RuntimeMessage::Response { request_id: id, body, .. } = message
                            && id == request_id
                        {
                            kill_process_group(self.pgid);
                            return Ending::Response(body);
                        }
                    }
                    break Ending::Exited(status.unwrap_or_else(|_| ExitStatus::from_raw(1 << 8)));
                }
                () = tokio::time::sleep_until(deadline) => break Ending::Timeout,
                _ = ticker.tick() => {
                    if self.sample_memory().rss_kib > limit_kib {
                        break Ending::OutOfMemory;
                    }
                }
            }
        };
        self.kill().await;
        ending
    }

    /// Turns an ending into the outcome and writes `END` and `REPORT`.
    fn finish(
        &mut self,
        request_id: &str,
        invocation: &Invocation,
        ending: Ending,
        duration: Duration,
        init_duration: Option<Duration>,
    ) -> Finished {
        let stale = self
            .sampled_at
            .is_none_or(|at| at.elapsed() >= MEMORY_SAMPLE_INTERVAL);
        if !self.dead && stale {
            self.sample_memory();
        }
        self.output.drain();
        let qualifier = self.config.qualifier.clone();
        let (payload, function_error, reusable, status) = match ending {
            Ending::Response(body) => (body, None, true, None),
            Ending::Error(body, error_type) => (
                error_document(body, error_type.as_deref(), "Unhandled"),
                Some("Unhandled"),
                true,
                None,
            ),
            Ending::ResponseTooLarge => (
                json_bytes(&serde_json::json!({
                    "errorMessage": format!(
                        "Response payload size exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes)."
                    ),
                    "errorType": "Function.ResponseSizeTooLarge",
                })),
                Some("Unhandled"),
                true,
                Some("error\tError Type: Function.ResponseSizeTooLarge".to_owned()),
            ),
            Ending::InitError(body, error_type) => {
                let doc = error_document(body, error_type.as_deref(), "Runtime.Unknown");
                let kind = serde_json::from_slice::<serde_json::Value>(&doc)
                    .ok()
                    .and_then(|v| {
                        v.get("errorType")
                            .and_then(|t| t.as_str().map(str::to_owned))
                    })
                    .unwrap_or_else(|| "Runtime.Unknown".to_owned());
                (
                    doc,
                    Some("Unhandled"),
                    false,
                    Some(format!("error\tError Type: {kind}")),
                )
            }
            Ending::Exited(status) => (
                json_bytes(&serde_json::json!({
                    "errorType": "Runtime.ExitError",
                    "errorMessage": format!(
                        "RequestId: {request_id} Error: Runtime exited with error: {}",
                        describe_exit(status)
                    ),
                })),
                Some("Unhandled"),
                false,
                Some("error\tError Type: Runtime.ExitError".to_owned()),
            ),
            Ending::InitTimeout => (
                json_bytes(&serde_json::json!({
                    "errorType": "Runtime.InitTimeout",
                    "errorMessage": format!(
                        "RequestId: {request_id} Error: Init timed out after {:.2} seconds",
                        INIT_TIMEOUT.as_secs_f64()
                    ),
                })),
                Some("Unhandled"),
                false,
                Some("timeout".to_owned()),
            ),
            Ending::Timeout => {
                let message = format!(
                    "{} {request_id} Task timed out after {:.2} seconds",
                    util::rfc3339_millis(SystemTime::now()),
                    self.config.timeout.as_secs_f64()
                );
                self.output.line(&[&message]);
                (
                    json_bytes(&serde_json::json!({ "errorMessage": message })),
                    Some("Unhandled"),
                    false,
                    Some("timeout".to_owned()),
                )
            }
            Ending::OutOfMemory => (
                json_bytes(&serde_json::json!({
                    "errorType": "Runtime.OutOfMemory",
                    "errorMessage": format!(
                        "RequestId: {request_id} Error: Runtime exited with error: signal: killed"
                    ),
                })),
                Some("Unhandled"),
                false,
                Some("error\tError Type: Runtime.OutOfMemory".to_owned()),
            ),
        };

        let (payload, function_error) = if payload.len() > MAX_PAYLOAD_BYTES {
            (
                json_bytes(&serde_json::json!({
                    "errorMessage": format!(
                        "Response payload size ({} bytes) exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes).",
                        payload.len()
                    ),
                    "errorType": "Function.ResponseSizeTooLarge",
                })),
                Some("Unhandled"),
            )
        } else {
            (payload, function_error)
        };

        self.output.line(&["END RequestId: ", request_id]);
        let mut report = String::with_capacity(160);
        report.push_str("REPORT RequestId: ");
        report.push_str(request_id);
        report.push_str("\tDuration: ");
        push_millis(&mut report, duration);
        report.push_str(" ms\tBilled Duration: ");
        push_decimal(&mut report, billed_millis(duration));
        report.push_str(" ms\tMemory Size: ");
        push_decimal(&mut report, u64::from(self.config.memory_mb));
        report.push_str(" MB\tMax Memory Used: ");
        push_decimal(&mut report, self.peak_kib.div_ceil(1024));
        report.push_str(" MB");
        if let Some(init) = init_duration {
            report.push_str("\tInit Duration: ");
            push_millis(&mut report, init);
            report.push_str(" ms");
        }
        if let Some(status) = status {
            report.push_str("\tStatus: ");
            report.push_str(&status);
        }
        self.output.line(&[&report]);
        self.output.flush();
        self.log_busy = None;
        let tail = self.output.take_tail();
        self.last_used = Instant::now();
        Finished {
            outcome: InvokeOutcome {
                payload,
                function_error: function_error.map(str::to_owned),
                log_tail: invocation.tail_log.then_some(tail),
                executed_version: qualifier,
                request_id: request_id.to_owned(),
            },
            reusable: reusable && !self.dead,
            init_duration,
        }
    }
}

/// `d` in milliseconds with two decimals (`12.35`), rounded half up, as REPORT lines show
/// durations.
fn push_millis(out: &mut String, d: Duration) {
    let hundredths = (d.as_nanos() + 5_000) / 10_000;
    push_decimal(out, u64::try_from(hundredths / 100).unwrap_or(u64::MAX));
    out.push('.');
    let cents = (hundredths % 100) as u8;
    out.push(char::from(b'0' + cents / 10));
    out.push(char::from(b'0' + cents % 10));
}

/// Lambda bills whole milliseconds, rounded up, at least one.
fn billed_millis(d: Duration) -> u64 {
    let ms = d.as_nanos().div_ceil(1_000_000).max(1);
    u64::try_from(ms).unwrap_or(u64::MAX)
}

/// The ARN the runtime sees as invoked: qualified unless `$LATEST` (which Lambda reports
/// unqualified when invoked without a qualifier).
fn invoked_arn(config: &FunctionConfig) -> String {
    if config.qualifier == "$LATEST" {
        config.arn.clone()
    } else {
        format!("{}:{}", config.arn, config.qualifier)
    }
}

fn json_bytes(value: &serde_json::Value) -> Bytes {
    Bytes::from(value.to_string())
}

/// The error document returned to the caller for `/error` and `/init/error`: the runtime's own
/// document when it is a JSON object (with `errorType` filled in from the header if missing),
/// otherwise one built around whatever text it sent.
fn error_document(body: Bytes, header_type: Option<&str>, default_type: &str) -> Bytes {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(serde_json::Value::Object(mut doc)) => {
            if !doc.contains_key("errorType") {
                doc.insert(
                    "errorType".to_owned(),
                    header_type.unwrap_or(default_type).into(),
                );
                return json_bytes(&serde_json::Value::Object(doc));
            }
            body
        }
        _ => json_bytes(&serde_json::json!({
            "errorMessage": String::from_utf8_lossy(&body),
            "errorType": header_type.unwrap_or(default_type),
        })),
    }
}

/// Go's wording for exit statuses, which Lambda's messages use.
fn describe_exit(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    match status.signal() {
        Some(9) => "signal: killed".to_owned(),
        Some(15) => "signal: terminated".to_owned(),
        Some(11) => "signal: segmentation fault".to_owned(),
        Some(6) => "signal: aborted".to_owned(),
        Some(2) => "signal: interrupt".to_owned(),
        Some(n) => format!("signal: {n}"),
        None => "unknown".to_owned(),
    }
}

fn describe_io_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// The instance's environment, following Lambda's layering: defaults, then the function's own
/// variables, then the reserved variables Lambda does not let a function override.
fn environment(
    config: &FunctionConfig,
    settings: &RuntimeSettings,
    kind: RuntimeKind,
    api_address: &str,
    runtime_dir: &Path,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for key in PASSTHROUGH_ENV {
        if let Ok(value) = std::env::var(key) {
            env.insert((*key).to_owned(), value);
        }
    }
    env.entry("PATH".to_owned())
        .or_insert_with(|| "/usr/local/bin:/usr/bin:/bin".to_owned());
    env.insert("LANG".to_owned(), "en_US.UTF-8".to_owned());
    env.insert("TZ".to_owned(), ":UTC".to_owned());
    let code_dir = config.code_dir.display().to_string();
    match kind {
        RuntimeKind::Python => {
            env.insert("PYTHONUNBUFFERED".to_owned(), "1".to_owned());
        }
        RuntimeKind::Node | RuntimeKind::Provided => {}
    }

    for (key, value) in &config.environment {
        env.insert(key.clone(), value.clone());
    }

    if kind == RuntimeKind::Python {
        // The code dir first on the import path, before anything the function configured.
        let path = match config.environment.get("PYTHONPATH") {
            Some(existing) if !existing.is_empty() => format!("{code_dir}:{existing}"),
            _ => code_dir.clone(),
        };
        env.insert("PYTHONPATH".to_owned(), path);
    }
    let credentials = settings.credentials.as_ref().map_or(["test"; 3], |c| {
        [
            c.access_key_id.as_str(),
            c.secret_access_key.as_str(),
            c.session_token.as_str(),
        ]
    });
    for (key, value) in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ]
    .into_iter()
    .zip(credentials)
    {
        // This process's function key (or LocalStack's dummy "test") so SDK clients inside
        // the function can sign requests to Tollgate, and never find the host's credentials.
        env.entry(key.to_owned())
            .or_insert_with(|| value.to_owned());
    }

    let stream = format!(
        "{}/[{}]{}",
        util::log_stream_date(SystemTime::now()),
        config.qualifier,
        util::new_hex_id()
    );
    let reserved = [
        ("AWS_LAMBDA_FUNCTION_NAME", config.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", config.qualifier.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            config.memory_mb.to_string(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", config.name),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", stream),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_LAMBDA_RUNTIME_API", api_address.to_owned()),
        ("AWS_REGION", settings.region.clone()),
        ("AWS_DEFAULT_REGION", settings.region.clone()),
        ("_HANDLER", config.handler.clone()),
        ("LAMBDA_TASK_ROOT", code_dir),
        ("LAMBDA_RUNTIME_DIR", runtime_dir.display().to_string()),
    ];
    for (key, value) in reserved {
        env.insert(key.to_owned(), value);
    }
    if kind != RuntimeKind::Provided {
        // Lambda sets AWS_EXECUTION_ENV for managed runtimes only.
        env.insert(
            "AWS_EXECUTION_ENV".to_owned(),
            format!("AWS_Lambda_{}", config.runtime),
        );
    } else {
        env.remove("AWS_EXECUTION_ENV");
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_get_the_process_key_unless_they_set_their_own() {
        let mut config = FunctionConfig {
            name: "f".into(),
            qualifier: "$LATEST".into(),
            arn: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
            runtime: "provided.al2023".into(),
            handler: "h".into(),
            code_dir: "/code".into(),
            environment: BTreeMap::new(),
            timeout: Duration::from_secs(3),
            memory_mb: 128,
            reserved_concurrency: None,
        };
        let mut settings = RuntimeSettings::new("/work");
        let env = |config: &FunctionConfig, settings: &RuntimeSettings| {
            environment(
                config,
                settings,
                RuntimeKind::Provided,
                "127.0.0.1:1",
                Path::new("/rt"),
            )
        };
        assert_eq!(env(&config, &settings)["AWS_ACCESS_KEY_ID"], "test");
        settings.credentials = Some(crate::FunctionCredentials {
            access_key_id: "ASIAKEY".into(),
            secret_access_key: "secret".into(),
            session_token: "token".into(),
        });
        let given = env(&config, &settings);
        assert_eq!(given["AWS_ACCESS_KEY_ID"], "ASIAKEY");
        assert_eq!(given["AWS_SECRET_ACCESS_KEY"], "secret");
        assert_eq!(given["AWS_SESSION_TOKEN"], "token");
        config
            .environment
            .insert("AWS_ACCESS_KEY_ID".into(), "MINE".into());
        assert_eq!(env(&config, &settings)["AWS_ACCESS_KEY_ID"], "MINE");
    }

    #[test]
    fn error_documents() {
        let doc = error_document(
            Bytes::from_static(br#"{"errorMessage":"x","errorType":"ValueError"}"#),
            None,
            "Unhandled",
        );
        assert_eq!(
            &doc[..],
            br#"{"errorMessage":"x","errorType":"ValueError"}"#
        );
        let doc = error_document(Bytes::from_static(b"oops"), Some("Foo"), "Unhandled");
        let v: serde_json::Value = serde_json::from_slice(&doc).expect("json");
        assert_eq!(v["errorType"], "Foo");
        assert_eq!(v["errorMessage"], "oops");
    }

    #[test]
    fn report_durations() {
        let text = |d: Duration| {
            let mut out = String::new();
            push_millis(&mut out, d);
            out
        };
        assert_eq!(text(Duration::ZERO), "0.00");
        assert_eq!(text(Duration::from_nanos(1_234_567)), "1.23");
        assert_eq!(text(Duration::from_nanos(1_235_000)), "1.24");
        assert_eq!(text(Duration::from_micros(3_000_090)), "3000.09");
        assert_eq!(billed_millis(Duration::ZERO), 1);
        assert_eq!(billed_millis(Duration::from_micros(2_000)), 2);
        assert_eq!(billed_millis(Duration::from_micros(2_001)), 3);
    }

    #[test]
    fn exit_descriptions() {
        assert_eq!(describe_exit(ExitStatus::from_raw(1 << 8)), "exit status 1");
        assert_eq!(describe_exit(ExitStatus::from_raw(9)), "signal: killed");
    }
}
