//! Exports finished spans to an OpenTelemetry collector over OTLP/HTTP with JSON encoding
//! (`POST {endpoint}/v1/traces`). Requests hand spans to a bounded queue and never wait; a
//! background task sends them in batches. When the queue is full, or the collector cannot be
//! reached, spans are dropped and counted.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc::{Receiver, Sender};
use tollgate_telemetry::Counter;
use tollgate_telemetry::Registry;
use tollgate_telemetry::families::{TRACE_SPANS_DROPPED, TRACE_SPANS_EXPORTED};
use tollgate_telemetry::trace::{Span, otlp_json};

/// Spans waiting for the exporter; beyond this they are dropped (and counted).
pub const TRACE_QUEUE: usize = 8 * 1024;
/// Most spans in one export request.
pub const TRACE_BATCH: usize = 512;
/// How long a span may wait for its batch to fill.
pub const TRACE_FLUSH: Duration = Duration::from_millis(200);
/// An export request that takes longer is abandoned (its spans counted as dropped).
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `service.name` of the exported spans.
const SERVICE_NAME: &str = "tollgate";

pub struct SpanExporter {
    queue: Sender<Span>,
    dropped: Arc<Counter>,
}

impl std::fmt::Debug for SpanExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpanExporter")
    }
}

/// `{endpoint}/v1/traces`, as `OTEL_EXPORTER_OTLP_ENDPOINT` is read; an endpoint that already
/// ends in `/v1/traces` is used as is.
pub fn traces_url(endpoint: &str) -> Result<hyper::Uri, String> {
    let endpoint = endpoint.trim_end_matches('/');
    let url = if endpoint.ends_with("/v1/traces") {
        endpoint.to_string()
    } else {
        format!("{endpoint}/v1/traces")
    };
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| format!("OTLP endpoint {endpoint:?}: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!(
            "OTLP endpoint {endpoint:?}: only http:// collectors are supported"
        ));
    }
    Ok(uri)
}

impl SpanExporter {
    /// Starts the export task (call within a Tokio runtime).
    pub fn start(endpoint: &str, registry: &Registry) -> Result<Self, String> {
        let url = traces_url(endpoint)?;
        let (queue, rx) = tokio::sync::mpsc::channel(TRACE_QUEUE);
        let dropped = registry.counter(TRACE_SPANS_DROPPED, &[]);
        let exported = registry.counter(TRACE_SPANS_EXPORTED, &[]);
        tokio::spawn(export_batches(rx, url, exported, Arc::clone(&dropped)));
        Ok(Self { queue, dropped })
    }

    /// Queues a finished span; never waits.
    pub fn export(&self, span: Span) {
        if self.queue.try_send(span).is_err() {
            self.dropped.inc();
        }
    }
}

async fn export_batches(
    mut rx: Receiver<Span>,
    url: hyper::Uri,
    exported: Arc<Counter>,
    dropped: Arc<Counter>,
) {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut batch = Vec::with_capacity(TRACE_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        let deadline = tokio::time::Instant::now() + TRACE_FLUSH;
        while batch.len() < TRACE_BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(span)) => batch.push(span),
                Ok(None) | Err(_) => break,
            }
        }
        let count = batch.len() as u64;
        let body = otlp_json(SERVICE_NAME, &batch);
        batch.clear();
        match send(&client, &url, body).await {
            Ok(()) => exported.add(count),
            Err(e) => {
                dropped.add(count);
                tracing::warn!(error = %e, spans = count, "trace export failed");
            }
        }
    }
}

async fn send(
    client: &Client<HttpConnector, Full<Bytes>>,
    url: &hyper::Uri,
    body: String,
) -> Result<(), String> {
    let request = hyper::Request::post(url.clone())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(EXPORT_TIMEOUT, client.request(request))
        .await
        .map_err(|_| "the collector did not answer in time".to_string())?
        .map_err(|e| e.to_string())?;
    let status = response.status();
    // Read the answer, so that the connection can be reused.
    let _ = response.into_body().collect().await;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the collector answered {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_gets_the_signal_path() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318").unwrap().to_string(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://c:4318/otlp/").unwrap().to_string(),
            "http://c:4318/otlp/v1/traces"
        );
        assert_eq!(
            traces_url("http://c:4318/v1/traces").unwrap().to_string(),
            "http://c:4318/v1/traces"
        );
        assert!(traces_url("https://c:4318").is_err());
        assert!(traces_url("not a url").is_err());
    }
}
