//! API Gateway's and Lambda's metrics under CloudWatch's names and dimensions, and the
//! process's own. Counter samples carry OpenMetrics' `_total` suffix; latencies are histograms
//! in milliseconds, as CloudWatch reports them.
//!
//! REST stage series have the labels `ApiName`, `Stage`; with detailed metrics on
//! (`methodSettings` `metrics/enabled`) each method also has series labelled `ApiName`,
//! `Stage`, `Method`, `Resource`, as CloudWatch publishes both. Select stage series with
//! `{Method=""}` to avoid counting a request twice.

use std::sync::Arc;
use std::time::Duration;

use crate::metric::{Counter, Gauge, Histogram};
use crate::registry::{FamilyDef, Kind, Registry};

const fn counter(name: &'static str, help: &'static str) -> FamilyDef {
    FamilyDef {
        name,
        help,
        kind: Kind::Counter,
    }
}

const fn gauge(name: &'static str, help: &'static str) -> FamilyDef {
    FamilyDef {
        name,
        help,
        kind: Kind::Gauge,
    }
}

const fn histogram(name: &'static str, help: &'static str) -> FamilyDef {
    FamilyDef {
        name,
        help,
        kind: Kind::Histogram,
    }
}

pub const REST_COUNT: FamilyDef =
    counter("apigateway_Count", "API requests (AWS/ApiGateway Count).");
pub const REST_4XX: FamilyDef = counter(
    "apigateway_4XXError",
    "Requests answered with a 4XX status (AWS/ApiGateway 4XXError).",
);
pub const REST_5XX: FamilyDef = counter(
    "apigateway_5XXError",
    "Requests answered with a 5XX status (AWS/ApiGateway 5XXError).",
);
pub const REST_LATENCY: FamilyDef = histogram(
    "apigateway_Latency",
    "Milliseconds from receiving a request to answering it (AWS/ApiGateway Latency).",
);
pub const REST_INTEGRATION_LATENCY: FamilyDef = histogram(
    "apigateway_IntegrationLatency",
    "Milliseconds from relaying a request to the integration to its answer (AWS/ApiGateway IntegrationLatency).",
);
pub const REST_CACHE_HIT: FamilyDef = counter(
    "apigateway_CacheHitCount",
    "Requests served from the API cache (AWS/ApiGateway CacheHitCount).",
);
pub const REST_CACHE_MISS: FamilyDef = counter(
    "apigateway_CacheMissCount",
    "Requests served from the integration while the API cache was on (AWS/ApiGateway CacheMissCount).",
);

pub const HTTP_4XX: FamilyDef = counter(
    "apigateway_4xx",
    "HTTP API requests answered with a 4XX status (AWS/ApiGateway 4xx).",
);
pub const HTTP_5XX: FamilyDef = counter(
    "apigateway_5xx",
    "HTTP API requests answered with a 5XX status (AWS/ApiGateway 5xx).",
);
pub const HTTP_DATA_PROCESSED: FamilyDef = counter(
    "apigateway_DataProcessed",
    "Bytes of HTTP API request and response bodies (AWS/ApiGateway DataProcessed).",
);

pub const WS_CONNECT_COUNT: FamilyDef = counter(
    "apigateway_ConnectCount",
    "Messages sent to the $connect route (AWS/ApiGateway ConnectCount).",
);
pub const WS_MESSAGE_COUNT: FamilyDef = counter(
    "apigateway_MessageCount",
    "Messages sent to and from the WebSocket API (AWS/ApiGateway MessageCount).",
);
pub const WS_INTEGRATION_ERROR: FamilyDef = counter(
    "apigateway_IntegrationError",
    "Requests whose integration answered an error (AWS/ApiGateway IntegrationError).",
);
pub const WS_CLIENT_ERROR: FamilyDef = counter(
    "apigateway_ClientError",
    "Requests refused with a 4XX before the integration was called (AWS/ApiGateway ClientError).",
);
pub const WS_EXECUTION_ERROR: FamilyDef = counter(
    "apigateway_ExecutionError",
    "Errors while calling the integration (AWS/ApiGateway ExecutionError).",
);

pub const LAMBDA_INVOCATIONS: FamilyDef = counter(
    "lambda_Invocations",
    "Function invocations, successful or not (AWS/Lambda Invocations).",
);
pub const LAMBDA_ERRORS: FamilyDef = counter(
    "lambda_Errors",
    "Invocations that ended in a function error (AWS/Lambda Errors).",
);
pub const LAMBDA_THROTTLES: FamilyDef = counter(
    "lambda_Throttles",
    "Invocations refused over a concurrency limit (AWS/Lambda Throttles).",
);
pub const LAMBDA_DURATION: FamilyDef = histogram(
    "lambda_Duration",
    "Milliseconds a function spent on an invocation (AWS/Lambda Duration).",
);
pub const LAMBDA_CONCURRENT: FamilyDef = gauge(
    "lambda_ConcurrentExecutions",
    "Invocations in progress (AWS/Lambda ConcurrentExecutions).",
);

pub const PROCESS_RSS: FamilyDef = gauge(
    "tollgate_process_resident_memory_bytes",
    "Resident memory of the tollgate process.",
);
pub const PROCESS_CPU: FamilyDef = gauge(
    "tollgate_process_cpu_milliseconds",
    "CPU time (user and system) the tollgate process has used.",
);
pub const OPEN_CONNECTIONS: FamilyDef = gauge(
    "tollgate_open_connections",
    "Client connections open on the listeners.",
);
pub const PLAN_COMPILE: FamilyDef = histogram(
    "tollgate_plan_compile",
    "Milliseconds spent compiling the plans of one API's stages.",
);
pub const CONFIG_VERSION: FamilyDef = gauge(
    "tollgate_config_version",
    "Incremented each time the data plane swaps in new plans.",
);
pub const ACCESS_LOG_WRITTEN: FamilyDef =
    counter("tollgate_access_log_lines", "Access-log lines written.");
pub const ACCESS_LOG_DROPPED: FamilyDef = counter(
    "tollgate_access_log_dropped",
    "Access-log lines dropped because the writer fell behind or could not write.",
);

pub const TRACE_SPANS_EXPORTED: FamilyDef = counter(
    "tollgate_trace_spans_exported",
    "Spans sent to the OTLP collector.",
);
pub const TRACE_SPANS_DROPPED: FamilyDef = counter(
    "tollgate_trace_spans_dropped",
    "Spans dropped because the export queue was full or the collector could not take them.",
);

/// The handles of one REST stage, or of one method of it (detailed metrics).
#[derive(Debug)]
pub struct RestMetrics {
    pub count: Arc<Counter>,
    pub client_errors: Arc<Counter>,
    pub server_errors: Arc<Counter>,
    pub latency: Arc<Histogram>,
    pub integration_latency: Arc<Histogram>,
    pub cache_hits: Arc<Counter>,
    pub cache_misses: Arc<Counter>,
}

impl RestMetrics {
    /// Resolves the handles for one label set (done when a plan is compiled).
    pub fn resolve(registry: &Registry, labels: &[(&str, &str)]) -> Self {
        Self {
            count: registry.counter(REST_COUNT, labels),
            client_errors: registry.counter(REST_4XX, labels),
            server_errors: registry.counter(REST_5XX, labels),
            latency: registry.histogram(REST_LATENCY, labels),
            integration_latency: registry.histogram(REST_INTEGRATION_LATENCY, labels),
            cache_hits: registry.counter(REST_CACHE_HIT, labels),
            cache_misses: registry.counter(REST_CACHE_MISS, labels),
        }
    }

    /// A stage's series: `ApiName`, `Stage`.
    pub fn stage(registry: &Registry, api_name: &str, stage: &str) -> Self {
        Self::resolve(registry, &[("ApiName", api_name), ("Stage", stage)])
    }

    /// A method's series: `ApiName`, `Method`, `Resource`, `Stage`.
    pub fn method(
        registry: &Registry,
        api_name: &str,
        stage: &str,
        method: &str,
        resource: &str,
    ) -> Self {
        Self::resolve(
            registry,
            &[
                ("ApiName", api_name),
                ("Method", method),
                ("Resource", resource),
                ("Stage", stage),
            ],
        )
    }

    /// Records one answered request.
    pub fn record(&self, status: u16, latency: Duration, integration: Option<Duration>) {
        record_answer(
            (&self.count, &self.client_errors, &self.server_errors),
            (&self.latency, &self.integration_latency),
            status,
            (latency, integration),
        );
    }
}

/// Counts an answer by status class and records its latencies.
fn record_answer(
    (count, client_errors, server_errors): (&Counter, &Counter, &Counter),
    (latency_histogram, integration_histogram): (&Histogram, &Histogram),
    status: u16,
    (latency, integration): (Duration, Option<Duration>),
) {
    count.inc();
    match status {
        400..=499 => client_errors.inc(),
        500..=599 => server_errors.inc(),
        _ => {}
    }
    latency_histogram.record(latency);
    if let Some(integration) = integration {
        integration_histogram.record(integration);
    }
}

/// The labels of an HTTP or WebSocket API's stage series, or of a route's.
fn v2_labels<'a>(
    api_id: &'a str,
    stage: &'a str,
    route: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    match route {
        Some(route) => vec![("ApiId", api_id), ("Route", route), ("Stage", stage)],
        None => vec![("ApiId", api_id), ("Stage", stage)],
    }
}

/// The handles of one HTTP API stage (`ApiId`, `Stage`), or of one route of it (`ApiId`,
/// `Route`, `Stage`; detailed metrics).
#[derive(Debug)]
pub struct HttpApiMetrics {
    pub count: Arc<Counter>,
    pub client_errors: Arc<Counter>,
    pub server_errors: Arc<Counter>,
    pub latency: Arc<Histogram>,
    pub integration_latency: Arc<Histogram>,
    pub data_processed: Arc<Counter>,
}

impl HttpApiMetrics {
    pub fn resolve(registry: &Registry, labels: &[(&str, &str)]) -> Self {
        Self {
            count: registry.counter(REST_COUNT, labels),
            client_errors: registry.counter(HTTP_4XX, labels),
            server_errors: registry.counter(HTTP_5XX, labels),
            latency: registry.histogram(REST_LATENCY, labels),
            integration_latency: registry.histogram(REST_INTEGRATION_LATENCY, labels),
            data_processed: registry.counter(HTTP_DATA_PROCESSED, labels),
        }
    }

    /// A stage's series (`ApiId`, `Stage`), or with `route` a route's (`ApiId`, `Route`,
    /// `Stage`).
    pub fn of(registry: &Registry, api_id: &str, stage: &str, route: Option<&str>) -> Self {
        Self::resolve(registry, &v2_labels(api_id, stage, route))
    }

    /// Records one answered request; `bytes`: its request and response bodies.
    pub fn record(
        &self,
        status: u16,
        latency: Duration,
        integration: Option<Duration>,
        bytes: u64,
    ) {
        record_answer(
            (&self.count, &self.client_errors, &self.server_errors),
            (&self.latency, &self.integration_latency),
            status,
            (latency, integration),
        );
        self.data_processed.add(bytes);
    }
}

/// The handles of one WebSocket API stage (`ApiId`, `Stage`), or of one route of it (`ApiId`,
/// `Route`, `Stage`; detailed metrics).
#[derive(Debug)]
pub struct WebSocketMetrics {
    pub connect_count: Arc<Counter>,
    pub message_count: Arc<Counter>,
    pub integration_error: Arc<Counter>,
    pub client_error: Arc<Counter>,
    pub execution_error: Arc<Counter>,
    pub integration_latency: Arc<Histogram>,
}

/// How a WebSocket route's call ended, for its metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsOutcome {
    Ok,
    /// Refused before the integration (authorizer, no route, throttled): `ClientError`.
    ClientError,
    /// The integration answered an error: `IntegrationError`.
    IntegrationError,
    /// The integration could not be called (timeout, unreachable): `ExecutionError`.
    ExecutionError,
}

impl WebSocketMetrics {
    pub fn resolve(registry: &Registry, labels: &[(&str, &str)]) -> Self {
        Self {
            connect_count: registry.counter(WS_CONNECT_COUNT, labels),
            message_count: registry.counter(WS_MESSAGE_COUNT, labels),
            integration_error: registry.counter(WS_INTEGRATION_ERROR, labels),
            client_error: registry.counter(WS_CLIENT_ERROR, labels),
            execution_error: registry.counter(WS_EXECUTION_ERROR, labels),
            integration_latency: registry.histogram(REST_INTEGRATION_LATENCY, labels),
        }
    }

    /// A stage's series (`ApiId`, `Stage`), or with `route` a route's (`ApiId`, `Route`,
    /// `Stage`).
    pub fn of(registry: &Registry, api_id: &str, stage: &str, route: Option<&str>) -> Self {
        Self::resolve(registry, &v2_labels(api_id, stage, route))
    }

    /// Records the outcome of one route call (`integration`: how long the integration took).
    pub fn record(&self, outcome: WsOutcome, integration: Option<Duration>) {
        match outcome {
            WsOutcome::Ok => {}
            WsOutcome::ClientError => self.client_error.inc(),
            WsOutcome::IntegrationError => self.integration_error.inc(),
            WsOutcome::ExecutionError => self.execution_error.inc(),
        }
        if let Some(integration) = integration {
            self.integration_latency.record(integration);
        }
    }
}

/// The handles of one function.
#[derive(Debug)]
pub struct FunctionMetrics {
    pub invocations: Arc<Counter>,
    pub errors: Arc<Counter>,
    pub throttles: Arc<Counter>,
    pub duration: Arc<Histogram>,
    pub concurrent: Arc<Gauge>,
}

impl FunctionMetrics {
    pub fn resolve(registry: &Registry, function_name: &str) -> Self {
        let labels = [("FunctionName", function_name)];
        Self {
            invocations: registry.counter(LAMBDA_INVOCATIONS, &labels),
            errors: registry.counter(LAMBDA_ERRORS, &labels),
            throttles: registry.counter(LAMBDA_THROTTLES, &labels),
            duration: registry.histogram(LAMBDA_DURATION, &labels),
            concurrent: registry.gauge(LAMBDA_CONCURRENT, &labels),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_records_by_status_class() {
        let registry = Registry::new();
        let stage = RestMetrics::stage(&registry, "pets", "prod");
        stage.record(
            200,
            Duration::from_micros(300),
            Some(Duration::from_micros(100)),
        );
        stage.record(404, Duration::from_millis(1), None);
        stage.record(
            502,
            Duration::from_millis(2),
            Some(Duration::from_millis(1)),
        );
        assert_eq!(stage.count.get(), 3);
        assert_eq!(stage.client_errors.get(), 1);
        assert_eq!(stage.server_errors.get(), 1);
        assert_eq!(stage.latency.count(), 3);
        assert_eq!(stage.integration_latency.count(), 2);
        let text = registry.render();
        assert!(text.contains("apigateway_Count_total{ApiName=\"pets\",Stage=\"prod\"} 3\n"));
        assert!(text.contains("apigateway_4XXError_total{ApiName=\"pets\",Stage=\"prod\"} 1\n"));
    }
}
