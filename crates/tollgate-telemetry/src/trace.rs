//! Traces: span contexts as W3C `traceparent` and AWS `X-Amzn-Trace-Id` carry them, finished
//! spans, and their OTLP/HTTP JSON encoding (`POST /v1/traces`, `application/json`), which
//! needs no protobuf or gRPC stack.
//!
//! An X-Ray trace id (`1-{8 hex epoch seconds}-{24 hex}`) and a W3C trace id (32 hex) are the
//! same 128 bits: the epoch part is the first 8 hex digits, as X-Ray's own OpenTelemetry
//! mapping does.

use std::time::SystemTime;

/// Where a span sits in a trace: its trace id and its own span id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanContext {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
}

/// The caller's span, from its `traceparent` (preferred) or `X-Amzn-Trace-Id` header. An
/// X-Ray header without `Parent=` names the trace but no parent span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incoming {
    pub trace_id: [u8; 16],
    pub parent: Option<[u8; 8]>,
}

impl Incoming {
    pub fn from_headers(traceparent: Option<&str>, xray: Option<&str>) -> Option<Self> {
        traceparent
            .and_then(parse_traceparent)
            .or_else(|| xray.and_then(parse_xray))
    }
}

/// `00-{32 hex trace id}-{16 hex parent id}-{2 hex flags}`; all-zero ids are invalid.
fn parse_traceparent(header: &str) -> Option<Incoming> {
    let mut parts = header.trim().split('-');
    let version = parts.next()?;
    let (trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?);
    if version.len() != 2 || version == "ff" || flags.len() != 2 {
        return None;
    }
    let trace_id = hex_array::<16>(trace)?;
    let parent = hex_array::<8>(parent)?;
    if trace_id == [0; 16] || parent == [0; 8] {
        return None;
    }
    Some(Incoming {
        trace_id,
        parent: Some(parent),
    })
}

/// `Root=1-{8 hex}-{24 hex};Parent={16 hex};Sampled=1` (fields in any order).
fn parse_xray(header: &str) -> Option<Incoming> {
    let mut root = None;
    let mut parent = None;
    for field in header.split(';') {
        let (key, value) = field.trim().split_once('=')?;
        match key {
            "Root" => {
                let rest = value.strip_prefix("1-")?;
                let (epoch, unique) = rest.split_once('-')?;
                if epoch.len() != 8 || unique.len() != 24 {
                    return None;
                }
                root = hex_array::<16>(&format!("{epoch}{unique}"));
            }
            "Parent" => parent = hex_array::<8>(value),
            _ => {}
        }
    }
    Some(Incoming {
        trace_id: root?,
        parent,
    })
}

fn hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

impl SpanContext {
    /// A new span: in the caller's trace when there is one, else in a new trace whose first
    /// 4 bytes are the epoch seconds (so that it is also a valid X-Ray trace id).
    pub fn start(incoming: Option<&Incoming>, now: SystemTime) -> Self {
        let trace_id = incoming.map_or_else(
            || {
                let secs = now
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let mut id = fastrand::u128(..).to_be_bytes();
                id[..4].copy_from_slice(&(secs as u32).to_be_bytes());
                id
            },
            |i| i.trace_id,
        );
        Self {
            trace_id,
            span_id: new_span_id(),
        }
    }

    /// A new span in the same trace (a child of this one).
    pub fn child(&self) -> Self {
        Self {
            trace_id: self.trace_id,
            span_id: new_span_id(),
        }
    }

    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    pub fn span_id_hex(&self) -> String {
        hex(&self.span_id)
    }

    /// The X-Ray form of the trace id: `1-{8 hex}-{24 hex}`.
    pub fn xray_trace_id(&self) -> String {
        let id = self.trace_id_hex();
        format!("1-{}-{}", &id[..8], &id[8..])
    }

    /// `traceparent` naming this span as the parent of what is called with it.
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.trace_id_hex(), self.span_id_hex())
    }

    /// `X-Amzn-Trace-Id` (and Lambda's `_X_AMZN_TRACE_ID`) naming this span as the parent.
    pub fn xray_header(&self) -> String {
        format!(
            "Root={};Parent={};Sampled=1",
            self.xray_trace_id(),
            self.span_id_hex()
        )
    }
}

fn new_span_id() -> [u8; 8] {
    // Never all zero (an invalid span id).
    fastrand::u64(1..).to_be_bytes()
}

/// OTLP's span kinds (the numbers are its enum's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Internal = 1,
    Server = 2,
    Client = 3,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    String(String),
    Int(i64),
}

/// A finished span, ready to export.
#[derive(Debug, Clone)]
pub struct Span {
    pub context: SpanContext,
    pub parent: Option<[u8; 8]>,
    pub name: String,
    pub kind: SpanKind,
    pub start: SystemTime,
    pub end: SystemTime,
    pub attributes: Vec<(&'static str, AttributeValue)>,
    /// The operation failed (OTLP status `ERROR`).
    pub error: bool,
}

impl Span {
    pub fn attribute(&mut self, key: &'static str, value: impl Into<AttributeValue>) {
        self.attributes.push((key, value.into()));
    }
}

impl From<&str> for AttributeValue {
    fn from(v: &str) -> Self {
        Self::String(v.to_string())
    }
}

impl From<String> for AttributeValue {
    fn from(v: String) -> Self {
        Self::String(v)
    }
}

impl From<i64> for AttributeValue {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

fn unix_nanos(t: SystemTime) -> String {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        .to_string()
}

/// An OTLP `ExportTraceServiceRequest` in OTLP/JSON: ids in hex, 64-bit integers as strings.
pub fn otlp_json(service_name: &str, spans: &[Span]) -> String {
    use serde_json::{Value, json};
    let attribute = |key: &str, value: &AttributeValue| -> Value {
        let value = match value {
            AttributeValue::String(s) => json!({ "stringValue": s }),
            AttributeValue::Int(n) => json!({ "intValue": n.to_string() }),
        };
        json!({ "key": key, "value": value })
    };
    let spans: Vec<Value> = spans
        .iter()
        .map(|span| {
            let mut out = json!({
                "traceId": span.context.trace_id_hex(),
                "spanId": span.context.span_id_hex(),
                "name": span.name,
                "kind": span.kind as i32,
                "startTimeUnixNano": unix_nanos(span.start),
                "endTimeUnixNano": unix_nanos(span.end),
                "attributes": span.attributes.iter().map(|(k, v)| attribute(k, v)).collect::<Vec<_>>(),
                "status": { "code": if span.error { 2 } else { 0 } },
            });
            if let Some(parent) = span.parent {
                out["parentSpanId"] = Value::from(hex(&parent));
            }
            out
        })
        .collect();
    json!({
        "resourceSpans": [{
            "resource": { "attributes": [attribute("service.name", &AttributeValue::from(service_name))] },
            "scopeSpans": [{ "scope": { "name": "tollgate" }, "spans": spans }],
        }]
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_parsed_and_rejects_invalid_ids() {
        let i = Incoming::from_headers(
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            None,
        )
        .unwrap();
        assert_eq!(hex(&i.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(
            i.parent,
            Some([0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7])
        );
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "garbage",
        ] {
            assert_eq!(Incoming::from_headers(Some(bad), None), None, "{bad}");
        }
    }

    #[test]
    fn xray_header_is_parsed_and_traceparent_wins() {
        let xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        let i = Incoming::from_headers(None, Some(xray)).unwrap();
        assert_eq!(hex(&i.trace_id), "5759e988bd862e3fe1be46a994272793");
        assert_eq!(
            i.parent.map(|p| hex(&p)).as_deref(),
            Some("53995c3f42cd8ad8")
        );
        let root_only =
            Incoming::from_headers(None, Some("Root=1-5759e988-bd862e3fe1be46a994272793")).unwrap();
        assert_eq!(root_only.parent, None);
        assert_eq!(Incoming::from_headers(None, Some("Root=1-abc")), None);
        let both = Incoming::from_headers(
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some(xray),
        )
        .unwrap();
        assert_eq!(hex(&both.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    }

    #[test]
    fn contexts_propagate_in_both_formats() {
        let incoming =
            Incoming::from_headers(None, Some("Root=1-5759e988-bd862e3fe1be46a994272793")).unwrap();
        let server = SpanContext::start(Some(&incoming), SystemTime::now());
        let child = server.child();
        assert_eq!(child.trace_id, server.trace_id);
        assert_ne!(child.span_id, server.span_id);
        assert_eq!(
            child.traceparent(),
            format!(
                "00-5759e988bd862e3fe1be46a994272793-{}-01",
                child.span_id_hex()
            )
        );
        assert_eq!(
            child.xray_header(),
            format!(
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent={};Sampled=1",
                child.span_id_hex()
            )
        );
        let fresh = SpanContext::start(
            None,
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(0x5759e988),
        );
        assert!(
            fresh.xray_trace_id().starts_with("1-5759e988-"),
            "{}",
            fresh.xray_trace_id()
        );
    }

    #[test]
    fn encodes_otlp_json() {
        let ctx = SpanContext {
            trace_id: [1; 16],
            span_id: [2; 8],
        };
        let mut span = Span {
            context: ctx,
            parent: Some([3; 8]),
            name: "GET /pets".into(),
            kind: SpanKind::Server,
            start: SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(1_500),
            end: SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(2_500),
            attributes: Vec::new(),
            error: true,
        };
        span.attribute("http.request.method", "GET");
        span.attribute("http.response.status_code", 502_i64);
        let v: serde_json::Value = serde_json::from_str(&otlp_json("tollgate", &[span])).unwrap();
        let rs = &v["resourceSpans"][0];
        assert_eq!(
            rs["resource"]["attributes"][0]["value"]["stringValue"],
            "tollgate"
        );
        let s = &rs["scopeSpans"][0]["spans"][0];
        assert_eq!(s["traceId"], "01".repeat(16));
        assert_eq!(s["spanId"], "02".repeat(8));
        assert_eq!(s["parentSpanId"], "03".repeat(8));
        assert_eq!(s["kind"], 2);
        assert_eq!(s["startTimeUnixNano"], "1500");
        assert_eq!(s["endTimeUnixNano"], "2500");
        assert_eq!(s["status"]["code"], 2);
        assert_eq!(s["attributes"][0]["value"]["stringValue"], "GET");
        assert_eq!(s["attributes"][1]["value"]["intValue"], "502");
    }
}
