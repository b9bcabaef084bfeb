//! What a request leaves behind: its metrics (handles resolved in the plan, so recording is a
//! few atomic adds) and its access-log line (rendered on the request path into a reused
//! buffer, written by a writer thread, never blocking a request).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};
use std::time::{Duration, Instant, SystemTime};

use tollgate_plan::{ExecutionLogging, LogLevel, StagePlan};
use tollgate_telemetry::access_log::{Variable, push_decimal};
use tollgate_telemetry::families::{ACCESS_LOG_DROPPED, ACCESS_LOG_WRITTEN};
use tollgate_telemetry::trace::{Incoming, Span, SpanContext, SpanKind};
use tollgate_telemetry::{AccessLine, Counter, Registry, RestMetrics, SpareLines};

use crate::trace_export::SpanExporter;

use crate::context::{RequestInfo, clf_time, write_clf_time};

/// Lines waiting for the writer; beyond this they are dropped (and counted).
pub const ACCESS_LOG_QUEUE: usize = 16 * 1024;
/// How often the writer wakes up to write what requests queued: requests never wake it (a
/// wake-up and a write per line cost more than the line itself), so lines reach their file
/// within this delay, many per write.
pub const ACCESS_LOG_FLUSH: Duration = Duration::from_millis(50);
/// An access-log file is rotated (to `.1`) past this size.
pub const ACCESS_LOG_ROTATE_BYTES: u64 = 16 * 1024 * 1024;

/// What follows a stage's name in the file that names its mapped access-log file.
pub const DESTINATION_POINTER: &str = ".destination";

/// Where access-log lines go.
#[derive(Debug, Clone)]
pub enum AccessLogDestination {
    /// `{dir}/access/{apiId}/{stage}.log` (and `{dir}/execution/...` for execution logs),
    /// rotated by size; the access logs of stages whose `destinationArn` is in `destinations`
    /// go to that file instead, and `{dir}/access/{apiId}/{stage}`[`DESTINATION_POINTER`]
    /// names it (one line), for `tollgate logs`.
    Files {
        dir: PathBuf,
        destinations: HashMap<String, PathBuf>,
    },
    Stdout,
}

impl AccessLogDestination {
    /// The file a line goes to (none: stdout), and whether it is a `destinationArn`'s.
    fn path(&self, line: &Line) -> Option<(PathBuf, bool)> {
        let Self::Files { destinations, .. } = self else {
            return None;
        };
        let stage = line.stage();
        if let (Line::Access { .. }, Some(arn)) = (line, &stage.access_log_destination)
            && let Some(path) = destinations.get(arn)
        {
            return Some((path.clone(), true));
        }
        Some((self.stage_file(line.kind(), stage, ".log")?, false))
    }

    /// `{dir}/{kind}/{apiId}/{stage}{suffix}`.
    fn stage_file(&self, kind: &str, stage: &StagePlan, suffix: &str) -> Option<PathBuf> {
        let Self::Files { dir, .. } = self else {
            return None;
        };
        Some(
            dir.join(kind)
                .join(&stage.api_id)
                .join(format!("{}{suffix}", stage.stage)),
        )
    }
}

/// The data plane's telemetry: the metric registry, the access-log writer and the span
/// exporter (when traces go to a collector).
pub struct Telemetry {
    pub registry: Arc<Registry>,
    access_log: SyncSender<Line>,
    /// Access-log line buffers the writer gave back, for the next requests.
    spare: Arc<SpareLines>,
    dropped: Arc<Counter>,
    traces: Option<SpanExporter>,
}

/// What the writer thread writes: a stage's access-log line or the execution-log lines of one
/// request.
enum Line {
    Access {
        stage: Arc<StagePlan>,
        line: AccessLine,
    },
    Execution {
        stage: Arc<StagePlan>,
        lines: Vec<String>,
    },
}

impl Line {
    fn stage(&self) -> &StagePlan {
        match self {
            Line::Access { stage, .. } | Line::Execution { stage, .. } => stage,
        }
    }

    /// `access` or `execution`: the directory under the logs directory.
    fn kind(&self) -> &'static str {
        match self {
            Line::Access { .. } => "access",
            Line::Execution { .. } => "execution",
        }
    }
}

impl Telemetry {
    /// Starts the access-log writer thread; spans go to `traces` when given.
    pub fn start(
        registry: Arc<Registry>,
        destination: AccessLogDestination,
        traces: Option<SpanExporter>,
    ) -> Arc<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel(ACCESS_LOG_QUEUE);
        let dropped = registry.counter(ACCESS_LOG_DROPPED, &[]);
        let written = registry.counter(ACCESS_LOG_WRITTEN, &[]);
        let writer_dropped = Arc::clone(&dropped);
        let spare = Arc::new(SpareLines::default());
        let writer_spare = Arc::clone(&spare);
        let spawned = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || {
                write_lines(rx, destination, (&written, &writer_dropped), &writer_spare);
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the access-log writer; lines will be dropped");
        }
        Arc::new(Self {
            registry,
            access_log: tx,
            spare,
            dropped,
            traces,
        })
    }

    /// The server span of a request to `stage`, when the stage traces and spans have somewhere
    /// to go: in the caller's trace (`traceparent`, else `X-Amzn-Trace-Id`) or a new one.
    pub fn trace(&self, stage: &StagePlan, headers: &hyper::HeaderMap) -> Option<ServerSpan> {
        if !stage.tracing_enabled || self.traces.is_none() {
            return None;
        }
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let incoming = Incoming::from_headers(header("traceparent"), header("x-amzn-trace-id"));
        let start = SystemTime::now();
        Some(ServerSpan {
            context: SpanContext::start(incoming.as_ref(), start),
            parent: incoming.and_then(|i| i.parent),
            start,
        })
    }

    /// Starts timing a child of `parent` (nothing when the request is not traced).
    pub fn child(
        &self,
        parent: Option<&SpanContext>,
        kind: SpanKind,
        name: impl FnOnce() -> String,
    ) -> Option<Span> {
        let parent = parent?;
        let start = SystemTime::now();
        Some(Span {
            context: parent.child(),
            parent: Some(parent.span_id),
            name: name(),
            kind,
            start,
            end: start,
            attributes: Vec::new(),
            error: false,
        })
    }

    /// Ends a child span and queues it for export.
    pub fn finish(&self, span: Option<Span>, error: bool) {
        if let (Some(mut span), Some(traces)) = (span, &self.traces) {
            span.end = SystemTime::now();
            span.error = error;
            traces.export(span);
        }
    }

    /// Records a finished request: metrics, then the access-log line if the stage logs.
    pub fn record(&self, mut record: Record, status: u16, response_length: Option<u64>) {
        let Some(stage) = record.stage.clone() else {
            return;
        };
        let latency = record.started.elapsed();
        if let Some(server) = record.trace.take() {
            self.finish(Some(server.span(&record, &stage, status)), status >= 500);
        }
        if let Some(metrics) = &stage.metrics {
            metrics.record(status, latency, record.integration_latency);
        }
        if let Some(metrics) = &record.method_metrics {
            metrics.record(status, latency, record.integration_latency);
        }
        if let Some(line) = record.access_line(status, response_length, latency) {
            self.send(Line::Access {
                stage: Arc::clone(&stage),
                line,
            });
        }
        let level = record.log.level;
        if level == LogLevel::Info || (level == LogLevel::Error && status >= 400) {
            if let Some(lines) = record.execution.as_mut() {
                lines.push(format!("Method completed with status: {status}"));
            }
            let prefix = format!("{} ({})", clf_time(record.received), record.request_id);
            if let Some(lines) = record.execution.take() {
                let lines = lines.into_iter().map(|l| format!("{prefix} {l}")).collect();
                self.send(Line::Execution { stage, lines });
            }
        }
    }

    fn send(&self, line: Line) {
        match self.access_log.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => self.dropped.inc(),
        }
    }
}

/// What one request collects for its metrics and access-log line as it goes.
pub struct Record<'a> {
    pub started: Instant,
    pub received: SystemTime,
    pub request_id: &'a str,
    pub extended_id: &'a str,
    pub api_id: &'a str,
    pub stage_name: &'a str,
    pub http_method: &'a str,
    pub source_ip: std::net::IpAddr,
    /// The stage the request reached (none: unknown API or stage, nothing is recorded).
    pub stage: Option<Arc<StagePlan>>,
    pub method_metrics: Option<Arc<RestMetrics>>,
    pub integration_latency: Option<Duration>,
    pub integration_status: Option<u16>,
    /// `(message, responseType)` of the error the request was answered with.
    pub error: Option<(String, &'static str)>,
    /// The access-log line, when the stage logs.
    pub access: Option<AccessLine>,
    /// Whether [`access`](Self::access) has the values known once the request was read (not
    /// when the request failed before).
    pub captured: bool,
    /// Execution-log steps, when the stage (or one of its methods) logs executions.
    pub execution: Option<Vec<String>>,
    /// How the request's execution is logged: the stage's, then its method's once routed.
    pub log: ExecutionLogging,
    /// The request's server span, when its stage traces.
    pub trace: Option<ServerSpan>,
    /// The resource path the request was routed to (`/pets/{id}`).
    pub route: Option<Arc<str>>,
}

/// The span of one traced request, from its arrival to its answer.
#[derive(Debug, Clone, Copy)]
pub struct ServerSpan {
    pub context: SpanContext,
    /// The caller's span.
    pub parent: Option<[u8; 8]>,
    start: SystemTime,
}

impl ServerSpan {
    fn span(&self, record: &Record<'_>, stage: &StagePlan, status: u16) -> Span {
        let route = record.route.as_deref();
        let mut span = Span {
            context: self.context,
            parent: self.parent,
            name: match route {
                Some(route) => format!("{} {route}", record.http_method),
                None => record.http_method.to_string(),
            },
            kind: SpanKind::Server,
            start: self.start,
            end: self.start,
            attributes: Vec::with_capacity(8),
            error: false,
        };
        span.attribute("http.request.method", record.http_method);
        if let Some(route) = route {
            span.attribute("http.route", route);
        }
        span.attribute("http.response.status_code", i64::from(status));
        span.attribute("aws.api_gateway.api_id", stage.api_id.as_str());
        span.attribute("aws.api_gateway.stage", stage.stage.as_str());
        span.attribute("aws.request_id", record.request_id);
        span
    }
}

impl<'a> Record<'a> {
    /// A request that has just arrived: nothing known yet but its ids and address.
    pub fn new(
        started: Instant,
        (request_id, extended_id): (&'a str, &'a str),
        address: &'a crate::Address,
        http_method: &'a str,
        remote: std::net::SocketAddr,
    ) -> Self {
        Self {
            started,
            received: SystemTime::now(),
            request_id,
            extended_id,
            api_id: &address.api_id,
            stage_name: &address.stage,
            http_method,
            source_ip: remote.ip(),
            stage: None,
            method_metrics: None,
            integration_latency: None,
            integration_status: None,
            error: None,
            access: None,
            captured: false,
            execution: None,
            log: ExecutionLogging::default(),
            trace: None,
            route: None,
        }
    }

    /// The request reached `stage`: from now on its metrics and logs are recorded (into
    /// buffers from `telemetry`).
    pub fn reached(&mut self, stage: &Arc<StagePlan>, telemetry: &Telemetry) {
        if stage.access_log.is_some() {
            self.access = Some(telemetry.spare.take());
        }
        self.log = stage.execution_log;
        if stage.logs_executions {
            self.execution = Some(vec![
                format!("Extended Request Id: {}", self.extended_id),
                format!("Starting execution for request: {}", self.request_id),
            ]);
        }
        self.stage = Some(Arc::clone(stage));
    }

    /// Adds an execution-log step (built only when the stage logs executions).
    pub fn step(&mut self, message: impl FnOnce() -> String) {
        if let Some(lines) = self.execution.as_mut() {
            lines.push(message());
        }
    }

    /// Whether the stage logs request and response bodies (`dataTraceEnabled`).
    pub fn data_trace(&self) -> bool {
        self.execution.is_some() && self.log.data_trace
    }

    /// Renders the access-log line up to what only the response tells (only when the stage
    /// logs).
    pub fn capture(&mut self, info: &RequestInfo<'_>) {
        let Some(format) = self.stage.as_ref().and_then(|s| s.access_log.as_ref()) else {
            return;
        };
        let line = self.access.get_or_insert_with(AccessLine::default);
        format.render_request(line, |v, out| write_access_context(info, v, out));
        self.captured = true;
    }

    /// The completed access-log line, when the stage logs.
    fn access_line(
        &mut self,
        status: u16,
        response_length: Option<u64>,
        latency: Duration,
    ) -> Option<AccessLine> {
        let format = self.stage.as_ref()?.access_log.as_ref()?;
        let mut line = self.access.take().unwrap_or_default();
        if !self.captured {
            format.render_request(&mut line, |v, out| self.write_basic_value(v, out));
        }
        format.fill(&mut line, |v, out| {
            self.write_final_value(v, status, response_length, latency, out)
        });
        Some(line)
    }

    /// Appends a variable known only once the response is out (see [`Variable::is_final`]);
    /// `false` when it has no value.
    fn write_final_value(
        &self,
        variable: &Variable,
        status: u16,
        response_length: Option<u64>,
        latency: Duration,
        out: &mut String,
    ) -> bool {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let number = match variable {
            Variable::Status => Some(u64::from(status)),
            Variable::ResponseLength => response_length,
            Variable::ResponseLatency => Some(millis(latency)),
            Variable::IntegrationLatency => self.integration_latency.map(millis),
            Variable::IntegrationStatus => self.integration_status.map(u64::from),
            _ => None,
        };
        if let Some(number) = number {
            push_decimal(out, number);
            return true;
        }
        let Some((message, response_type)) = &self.error else {
            return false;
        };
        match variable {
            Variable::ErrorMessage => out.push_str(message),
            Variable::ErrorMessageString => {
                out.push('"');
                out.push_str(message);
                out.push('"');
            }
            Variable::ErrorResponseType => out.push_str(response_type),
            _ => return false,
        }
        true
    }

    /// Appends what is known of a request that failed before it was read (no route,
    /// throttled ...); `false` when the variable is not one of those.
    fn write_basic_value(&self, variable: &Variable, out: &mut String) -> bool {
        let value = match variable {
            Variable::RequestId => self.request_id,
            Variable::ExtendedRequestId => self.extended_id,
            Variable::ApiId => self.api_id,
            Variable::Stage => self.stage_name,
            Variable::HttpMethod => self.http_method,
            Variable::SourceIp => {
                tollgate_telemetry::access_log::push_ip(out, self.source_ip);
                return true;
            }
            Variable::RequestTime => {
                write_clf_time(self.received, out);
                return true;
            }
            Variable::RequestTimeEpoch => {
                let Ok(since_epoch) = self.received.duration_since(SystemTime::UNIX_EPOCH) else {
                    return false;
                };
                push_decimal(
                    out,
                    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX),
                );
                return true;
            }
            _ => return false,
        };
        out.push_str(value);
        true
    }
}

/// Appends `$context.name` as access logs see it: the request's context plus `xrayTraceId`,
/// without the IAM caller's identity; `false` when it has no value.
fn write_access_context(info: &RequestInfo<'_>, variable: &Variable, out: &mut String) -> bool {
    match variable {
        Variable::XrayTraceId => {
            out.push_str("Root=");
            info.write_trace_id(out);
            true
        }
        Variable::IamAccountId
        | Variable::IamCaller
        | Variable::IamAccessKey
        | Variable::IamUser
        | Variable::IamUserArn => false,
        _ => info.write_variable(variable, out),
    }
}

/// The writer thread: appends lines, one file per API and stage (or stdout), flushing whenever
/// the queue runs dry.
fn write_lines(
    rx: Receiver<Line>,
    destination: AccessLogDestination,
    (written, dropped): (&Counter, &Counter),
    spare: &SpareLines,
) {
    let mut outputs = Outputs::new(destination);
    let mut text = String::new();
    let mut used = Vec::new();
    loop {
        std::thread::sleep(ACCESS_LOG_FLUSH);
        let mut open = true;
        loop {
            let entry = match rx.try_recv() {
                Ok(entry) => entry,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            };
            let bytes = match &entry {
                Line::Access { line, .. } => line.text().as_bytes(),
                Line::Execution { lines, .. } => {
                    text.clear();
                    for l in lines {
                        text.push_str(&l.replace('\n', " "));
                        text.push('\n');
                    }
                    text.as_bytes()
                }
            };
            if outputs.write(&entry, bytes) {
                written.inc();
            } else {
                dropped.inc();
            }
            if let Line::Access { line, .. } = entry {
                used.push(line);
            }
        }
        spare.give_back(&mut used);
        outputs.flush();
        if !open {
            return;
        }
    }
}

/// The files (and stdout) the writer appends to. Which output a stage's lines go to is
/// resolved once per stage and batch of lines, not per line.
struct Outputs {
    destination: AccessLogDestination,
    files: Vec<LogFile>,
    by_path: HashMap<PathBuf, usize>,
    /// `(stage, access line?, index in files or none for stdout)` for the current batch; holds
    /// the stages' plans only until the batch is written, so a plan's address is never
    /// mistaken for a later one's.
    resolved: Vec<(Arc<StagePlan>, bool, Option<usize>)>,
    /// The mapped file each stage's pointer names (written when it changes).
    pointers: HashMap<PathBuf, PathBuf>,
}

impl Outputs {
    fn new(destination: AccessLogDestination) -> Self {
        Self {
            destination,
            files: Vec::new(),
            by_path: HashMap::new(),
            resolved: Vec::new(),
            pointers: HashMap::new(),
        }
    }

    /// Appends `bytes` where `entry`'s lines go; `false` when they could not be written.
    fn write(&mut self, entry: &Line, bytes: &[u8]) -> bool {
        let stage = match entry {
            Line::Access { stage, .. } | Line::Execution { stage, .. } => stage,
        };
        let access = matches!(entry, Line::Access { .. });
        let known = self
            .resolved
            .iter()
            .find(|(s, a, _)| *a == access && Arc::ptr_eq(s, stage))
            .map(|(_, _, output)| *output);
        let output = match known {
            Some(output) => output,
            None => {
                let output = match self.destination.path(entry) {
                    None => None,
                    Some((path, mapped)) => {
                        if mapped {
                            self.point_to(stage, &path);
                        }
                        match self.open(path) {
                            Some(index) => Some(index),
                            None => return false,
                        }
                    }
                };
                self.resolved.push((Arc::clone(stage), access, output));
                output
            }
        };
        match output {
            None => std::io::stdout().lock().write_all(bytes).is_ok(),
            Some(index) => self.files[index].write(bytes).is_ok(),
        }
    }

    /// Makes the stage's pointer name `mapped`, its `destinationArn`'s file.
    fn point_to(&mut self, stage: &StagePlan, mapped: &Path) {
        let Some(pointer) = self
            .destination
            .stage_file("access", stage, DESTINATION_POINTER)
        else {
            return;
        };
        if self.pointers.get(&pointer).is_some_and(|p| p == mapped) {
            return;
        }
        let written = pointer
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&pointer, format!("{}\n", mapped.display())));
        match written {
            Ok(()) => {
                self.pointers.insert(pointer, mapped.to_path_buf());
            }
            Err(e) => tracing::warn!(error = %e, "cannot note where an access log goes"),
        }
    }

    /// The index of the file at `path`, opened on first use.
    fn open(&mut self, path: PathBuf) -> Option<usize> {
        if let Some(&index) = self.by_path.get(&path) {
            return Some(index);
        }
        match LogFile::open(path.clone()) {
            Ok(file) => {
                self.files.push(file);
                self.by_path.insert(path, self.files.len() - 1);
                Some(self.files.len() - 1)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot open an access log");
                None
            }
        }
    }

    /// Flushes every output and forgets the batch's stages.
    fn flush(&mut self) {
        self.resolved.clear();
        let _ = std::io::stdout().lock().flush();
        for file in &mut self.files {
            let _ = file.out.flush();
        }
    }
}

struct LogFile {
    path: PathBuf,
    out: BufWriter<File>,
    size: u64,
}

impl LogFile {
    fn open(path: PathBuf) -> std::io::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path,
            out: BufWriter::with_capacity(64 * 1024, file),
            size,
        })
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.size + bytes.len() as u64 > ACCESS_LOG_ROTATE_BYTES && self.size > 0 {
            self.out.flush()?;
            let mut old = self.path.clone().into_os_string();
            old.push(".1");
            std::fs::rename(&self.path, old)?;
            *self = Self::open(self.path.clone())?;
        }
        self.out.write_all(bytes)?;
        self.size += bytes.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_files_rotate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a").join("prod.log");
        let mut file = LogFile::open(path.clone()).expect("open");
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..17 {
            file.write(&chunk).expect("write");
        }
        file.out.flush().expect("flush");
        let rotated = dir.path().join("a").join("prod.log.1");
        assert_eq!(
            std::fs::metadata(&rotated).expect("rotated").len(),
            16 * 1024 * 1024
        );
        assert_eq!(
            std::fs::metadata(&path).expect("current").len(),
            1024 * 1024
        );
    }
}
