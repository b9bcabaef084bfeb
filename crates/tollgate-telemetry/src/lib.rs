//! Telemetry: what the data plane and the function runtime report, in the formats operators'
//! tools read.
//!
//! - [`metric`]: counters, gauges, latency histograms; recording is one relaxed atomic add.
//! - [`registry`]: families and series; handles are resolved when a plan is compiled, so a
//!   request records without map lookups or allocation; [`Registry::render`] writes
//!   OpenMetrics text for `GET /metrics`.
//! - [`families`]: API Gateway's and Lambda's metrics under CloudWatch's names and dimensions,
//!   and the process's own.
//! - [`access_log`]: `accessLogSettings.format` compiled into literals and `$context`
//!   variables, rendered in place; the console's presets.
//! - [`variable`]: `$context` variables, resolved by name once.
//! - [`process`]: resident memory and CPU time of this process.
//! - [`trace`]: span contexts (`traceparent`, `X-Amzn-Trace-Id`), spans, OTLP/JSON encoding.

pub mod access_log;
pub mod families;
pub mod metric;
pub mod process;
pub mod registry;
pub mod trace;
pub mod variable;

pub use access_log::{AccessLine, AccessLogFormat, SpareLines};
pub use families::{FunctionMetrics, HttpApiMetrics, RestMetrics, WebSocketMetrics, WsOutcome};
pub use metric::{Counter, Gauge, Histogram};
pub use registry::{OPENMETRICS_CONTENT_TYPE, Registry};
