//! `HTTP_PROXY` and `HTTP`: a call to an HTTP backend.
//!
//! Proxy: the client's method, query string, headers (minus hop-by-hop ones) and body go to the
//! backend, and its status, headers and body come back unchanged. Non-proxy: only what the
//! parameter mappings name is sent, the body goes through the request template (or passes
//! through), and the answer goes through the integration responses.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::http::uri::PathAndQuery;
use hyper::{HeaderMap, Method, Request, Response, Uri};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use tollgate_plan::{
    IntegrationPlan, Passthrough, Source, Target, UriPiece, UriTemplate, template_for, uri_pieces,
};

use super::BackendClient;
use super::client::{AnswerHeaders, CallError};
pub(crate) use super::hop_by_hop::strip_hop_by_hop;
use super::respond::{IntegrationAnswer, respond};
use crate::context::{Overrides, RequestInfo, TRACEPARENT, X_AMZN_TRACE_ID};
use crate::error::GatewayError;

/// Largest backend response the gateway reads (API Gateway's payload limit).
pub const MAX_RESPONSE_BYTES: usize = 10 * 1024 * 1024;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// What percent-encoding a mapped (decoded) value needs to go back into a URL path segment.
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%');
/// What percent-encoding a query name or value needs.
pub(crate) const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'&')
    .add(b'=')
    .add(b'+')
    .add(b'%');

/// The request parameters after mapping.
#[derive(Default)]
struct Mapped {
    path: Vec<(String, String)>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

fn map_parameters(plan: &IntegrationPlan, request: &RequestInfo<'_>) -> Mapped {
    let mut mapped = Mapped::default();
    for mapping in &plan.request_parameters {
        // A path parameter keeps the encoding the client sent, so a greedy `{proxy+}` value
        // reaches the backend as it was written; anything else is encoded here.
        let value = match (&mapping.target, &mapping.source) {
            (Target::Path(_), Source::Path(n)) => request.raw_path_param(n).map(String::from),
            (Target::Path(_), source) => request
                .source(source)
                .map(|v| utf8_percent_encode(&v, PATH_SEGMENT).to_string()),
            (_, source) => request.source(source),
        };
        let Some(value) = value else { continue };
        match &mapping.target {
            Target::Path(n) => mapped.path.push((n.clone(), value)),
            Target::Query(n) => mapped.query.push((n.clone(), value)),
            Target::MultiValueQuery(n) => mapped
                .query
                .extend(value.split(',').map(|v| (n.clone(), v.to_string()))),
            Target::Header(n) | Target::MultiValueHeader(n) => {
                mapped.headers.push((n.clone(), value))
            }
        }
    }
    mapped
}

/// The backend URL: stage variables and path parameters substituted, query string added.
fn backend_uri(
    plan: &IntegrationPlan,
    request: &RequestInfo<'_>,
    mapped: &Mapped,
    proxy: bool,
) -> Result<Uri, GatewayError> {
    if let Some(template) = &plan.uri_template {
        return split_backend_uri(template, request, mapped, proxy);
    }
    let template = plan
        .uri
        .as_deref()
        .ok_or_else(|| GatewayError::Internal("integration has no uri".into()))?;
    let substituted;
    let template = if template.contains("${") {
        substituted = substitute_stage_variables(template, request);
        substituted.as_str()
    } else {
        template
    };
    let mut uri = String::with_capacity(template.len() + 64);
    for piece in uri_pieces(template) {
        push_uri_piece(&mut uri, piece, request, mapped);
    }
    append_query(&mut uri, request, mapped, proxy);
    let parsed: Uri = uri.parse().map_err(|e| invalid_endpoint(&uri, e))?;
    match parsed.scheme_str() {
        Some("http") | Some("https") if parsed.authority().is_some() => Ok(parsed),
        _ => Err(GatewayError::Internal(format!(
            "Invalid endpoint address {uri}"
        ))),
    }
}

/// [`backend_uri`] of a URI split when the plan compiled: only the path and query are built
/// (and parsed) per request.
fn split_backend_uri(
    template: &UriTemplate,
    request: &RequestInfo<'_>,
    mapped: &Mapped,
    proxy: bool,
) -> Result<Uri, GatewayError> {
    let path_and_query = || {
        let mut path = String::with_capacity(64);
        for piece in &template.path {
            push_uri_piece(&mut path, piece.as_str(), request, mapped);
        }
        append_query(&mut path, request, mapped, proxy);
        path
    };
    // For an error, the whole URI as parsing it says.
    let invalid = || {
        let uri = format!(
            "{}://{}{}",
            template.scheme,
            template.authority,
            path_and_query()
        );
        match uri.parse::<Uri>() {
            Err(e) => invalid_endpoint(&uri, e),
            Ok(_) => GatewayError::Internal(format!("Invalid endpoint address {uri}")),
        }
    };
    let path = path_and_query();
    if template.prefix_len + path.len() > MAX_URI_LEN {
        return Err(invalid());
    }
    let path = if path.is_empty() {
        // An absolute URI's empty path is `/`.
        PathAndQuery::from_static("/")
    } else {
        PathAndQuery::from_maybe_shared(Bytes::from(path)).map_err(|_| invalid())?
    };
    let mut parts = hyper::http::uri::Parts::default();
    parts.scheme = Some(template.scheme.clone());
    parts.authority = Some(template.authority.clone());
    parts.path_and_query = Some(path);
    Uri::from_parts(parts).map_err(|_| invalid())
}

/// The longest URI `Uri` parses.
const MAX_URI_LEN: usize = u16::MAX as usize - 1;

fn invalid_endpoint(uri: &str, e: impl std::fmt::Display) -> GatewayError {
    GatewayError::Internal(format!("Invalid endpoint address {uri}: {e}"))
}

/// Appends a piece of the integration URI: a `{name}` placeholder takes the mapped path
/// parameter of that name, else the method's own, else stays as written.
fn push_uri_piece(
    out: &mut String,
    piece: UriPiece<&str>,
    request: &RequestInfo<'_>,
    mapped: &Mapped,
) {
    match piece {
        UriPiece::Text(text) => out.push_str(text),
        UriPiece::Placeholder { name, written } => {
            let value = mapped
                .path
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .or_else(|| request.raw_path_param(name));
            out.push_str(value.unwrap_or(written));
        }
    }
}

/// Appends the client's query string (proxy), then the mapped query parameters.
fn append_query(uri: &mut String, request: &RequestInfo<'_>, mapped: &Mapped, proxy: bool) {
    let mut separator = if uri.contains('?') { '&' } else { '?' };
    if proxy && let Some(raw) = request.raw_query.as_deref().filter(|q| !q.is_empty()) {
        uri.push(separator);
        uri.push_str(raw);
        separator = '&';
    }
    for (k, v) in &mapped.query {
        use std::fmt::Write;
        let _ = write!(
            uri,
            "{separator}{}={}",
            utf8_percent_encode(k, QUERY_VALUE),
            utf8_percent_encode(v, QUERY_VALUE)
        );
        separator = '&';
    }
}

/// `${stageVariables.name}` in an integration URI.
pub(crate) fn substitute_stage_variables(template: &str, request: &RequestInfo<'_>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${stageVariables.") {
        let after = &rest[start + "${stageVariables.".len()..];
        let Some(end) = after.find('}') else { break };
        out.push_str(&rest[..start]);
        out.push_str(
            request
                .stage_variables
                .get(&after[..end])
                .map(String::as_str)
                .unwrap_or(""),
        );
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Adds `X-Forwarded-For`, `X-Forwarded-Proto` and the trace headers (`trace`, read before the
/// client's headers were moved into `headers`).
fn append_forwarded(headers: &mut HeaderMap, request: &RequestInfo<'_>, trace: String) {
    append_forwarded_for(headers, &request.source_ip, request.protocol_scheme());
    append_trace(headers, request, trace);
}

/// Adds the client's address to `X-Forwarded-For` and sets `X-Forwarded-Proto` (`scheme`).
pub(crate) fn append_forwarded_for(headers: &mut HeaderMap, source_ip: &str, scheme: &'static str) {
    use hyper::header::Entry;
    match headers.entry(X_FORWARDED_FOR) {
        Entry::Occupied(mut forwarded_for) => {
            let existing = forwarded_for.get().as_bytes();
            let mut value = Vec::with_capacity(existing.len() + 2 + source_ip.len());
            value.extend_from_slice(existing);
            value.extend_from_slice(b", ");
            value.extend_from_slice(source_ip.as_bytes());
            if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(value)) {
                forwarded_for.insert(v);
            }
        }
        Entry::Vacant(slot) => {
            if let Ok(v) = HeaderValue::from_str(source_ip) {
                slot.insert(v);
            }
        }
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(scheme));
}

/// `X-Amzn-Trace-Id` (`xray`: the request's [`RequestInfo::xray_header`]) and, when the
/// request is traced, the W3C `traceparent` naming the integration's span.
fn append_trace(headers: &mut HeaderMap, request: &RequestInfo<'_>, xray: String) {
    // The header takes the text over (no copy).
    if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(xray)) {
        headers.insert(X_AMZN_TRACE_ID, v);
    }
    if let Some(trace) = &request.trace
        && let Ok(v) = HeaderValue::from_str(&trace.traceparent())
    {
        headers.insert(TRACEPARENT, v);
    }
}

/// The body a non-proxy integration sends: the request template's output, or the request body
/// as the passthrough behavior allows; with what the template wrote to
/// `$context.requestOverride`.
pub(crate) fn integration_body(
    plan: &IntegrationPlan,
    request: &RequestInfo<'_>,
) -> Result<(Bytes, Option<Overrides>), GatewayError> {
    let binary =
        tollgate_plan::is_binary(request.header("content-type"), request.binary_media_types);
    let payload = super::convert(plan.content_handling, binary, &request.body);
    let result = match template_for(&plan.request_templates, request.header("content-type")) {
        Some(t) => {
            let (mut ctx, overrides) = request.template_context_with_overrides(&payload);
            t.template
                .render(&mut ctx, &tollgate_vtl::Limits::default())
                .map(|body| (Bytes::from(body), Some(overrides)))
                .map_err(|e| GatewayError::Internal(format!("request template failed: {e}")))
        }
        None => match plan.passthrough {
            Passthrough::WhenNoMatch => Ok((payload, None)),
            Passthrough::WhenNoTemplates if plan.request_templates.is_empty() => {
                Ok((payload, None))
            }
            _ => Err(GatewayError::UnsupportedMediaType),
        },
    };
    if let (Some(slot), Ok((body, _))) = (&request.endpoint_body, &result) {
        let _ = slot.set(body.clone());
    }
    result
}

impl Mapped {
    /// `$context.requestOverride.*` wins over the parameter mappings.
    fn apply(&mut self, overrides: &Overrides) {
        fn set(
            list: &mut Vec<(String, String)>,
            name: String,
            value: String,
            same: impl Fn(&str, &str) -> bool,
        ) {
            list.retain(|(n, _)| !same(n, &name));
            list.push((name, value));
        }
        for (name, value) in overrides.request("header") {
            set(&mut self.headers, name, value, |a, b| {
                a.eq_ignore_ascii_case(b)
            });
        }
        for (name, value) in overrides.request("querystring") {
            set(&mut self.query, name, value, |a, b| a == b);
        }
        for (name, value) in overrides.request("path") {
            let encoded = utf8_percent_encode(&value, PATH_SEGMENT).to_string();
            set(&mut self.path, name, encoded, |a, b| a == b);
        }
    }
}

pub async fn run(
    client: &BackendClient,
    plan: &IntegrationPlan,
    request: &mut RequestInfo<'_>,
    proxy: bool,
) -> Result<Response<Full<Bytes>>, GatewayError> {
    let mut mapped = map_parameters(plan, request);
    let (body, overrides) = if proxy {
        (request.body.clone(), None)
    } else {
        integration_body(plan, request)?
    };
    if let Some(overrides) = &overrides {
        mapped.apply(overrides);
    }
    let uri = backend_uri(plan, request, &mapped, proxy)?;
    let method = match plan.http_method.as_deref() {
        None | Some("ANY") => request.http_method.as_str(),
        Some(m) => m,
    };
    let method =
        Method::from_bytes(method.as_bytes()).map_err(|e| GatewayError::Internal(e.to_string()))?;
    let mut headers = if proxy {
        // The proxy forwards the client's headers; nothing reads them after this point.
        let trace = request.xray_header();
        let mut headers = std::mem::take(&mut request.headers);
        strip_hop_by_hop(&mut headers);
        append_forwarded(&mut headers, request, trace);
        headers
    } else {
        let mut headers = HeaderMap::new();
        if !body.is_empty() {
            let content_type = request.header("content-type").unwrap_or("application/json");
            if let Ok(v) = HeaderValue::from_str(content_type) {
                headers.insert(CONTENT_TYPE, v);
            }
        }
        if request.trace.is_some() {
            append_trace(&mut headers, request, request.xray_header());
        }
        headers
    };
    for (name, value) in &mapped.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    let mut backend_request = Request::new(body);
    *backend_request.method_mut() = method;
    *backend_request.uri_mut() = uri;
    *backend_request.headers_mut() = headers;

    let (parts, body) = client
        .call(
            backend_request,
            plan.insecure_skip_verification,
            plan.timeout,
            MAX_RESPONSE_BYTES,
            if proxy {
                AnswerHeaders::EndToEnd
            } else {
                AnswerHeaders::All
            },
        )
        .await
        .map_err(|e| match e {
            CallError::Network(e) => GatewayError::IntegrationFailure(format!(
                "Execution failed due to a network error: {e}"
            )),
            CallError::Body(e) => {
                GatewayError::IntegrationFailure(format!("backend response body: {e}"))
            }
            CallError::Timeout => GatewayError::IntegrationTimeout,
        })?;

    if proxy {
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = parts.status;
        *response.headers_mut() = parts.headers;
        Ok(response)
    } else {
        respond(
            plan,
            request,
            IntegrationAnswer {
                selector: Some(parts.status.as_u16().to_string()),
                headers: parts.headers,
                body,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `GET` request with the path parameter `proxy` (raw `a%20b/c`) and the query `q=1`,
    /// run through the method `method` with stage variables `variables`.
    fn request<'a>(
        method: &'a tollgate_plan::MethodPlan,
        variables: &'a std::collections::HashMap<String, String>,
    ) -> RequestInfo<'a> {
        RequestInfo {
            request_id: "c0ffee00-0000-4000-8000-000000000001",
            extended_request_id: "x",
            api_id: "api",
            stage: "dev",
            deployment_id: "d",
            account_id: "123456789012",
            method,
            http_method: "GET".into(),
            path: "/a%20b/c",
            full_path: "/dev/a%20b/c",
            raw_query: Some("q=1".into()),
            query: vec![("q".into(), "1".into())],
            headers: HeaderMap::new(),
            path_params: vec![("proxy".into(), "a%20b/c".into(), "a b/c".into())],
            body: Bytes::new(),
            source_ip: "10.0.0.1".into(),
            scheme: "http",
            domain_name: String::new(),
            protocol: "HTTP/1.1",
            stage_variables: variables,
            binary_media_types: &[],
            received: std::time::SystemTime::UNIX_EPOCH,
            api_key: None,
            authorization: None,
            iam: None,
            trace: None,
            endpoint_body: None,
        }
    }

    /// The backend URI of `uri` as a plan compiles it (split when it can be), and as it is
    /// built from the text alone.
    fn both_ways(uri: &str, mapped: &Mapped, proxy: bool) -> [Result<String, String>; 2] {
        let method = tollgate_plan::MethodPlan::bare("GET", "/{proxy+}");
        let variables = [("host".to_string(), "example.com".to_string())].into();
        let request = request(&method, &variables);
        let mut plan = tollgate_plan::MethodPlan::bare("GET", "/{proxy+}").integration;
        plan.uri = Some(uri.into());
        plan.uri_template = UriTemplate::parse(uri);
        let split = backend_uri(&plan, &request, mapped, proxy);
        plan.uri_template = None;
        let text = backend_uri(&plan, &request, mapped, proxy);
        [split, text].map(|r| r.map(|u| u.to_string()).map_err(|e| format!("{e:?}")))
    }

    #[test]
    fn split_uris_give_what_the_whole_text_gives() {
        let mapped = Mapped {
            path: vec![("id".into(), "7".into())],
            query: vec![("k".into(), "v w".into())],
            headers: Vec::new(),
        };
        let cases = [
            (
                "http://127.0.0.1:8080/{proxy}",
                true,
                "http://127.0.0.1:8080/a%20b/c?q=1&k=v%20w",
            ),
            ("http://h/{proxy}", false, "http://h/a%20b/c?k=v%20w"),
            (
                "https://h:8443/pets/{id}/{proxy+}?x=1",
                true,
                "https://h:8443/pets/7/a%20b/c?x=1&q=1&k=v%20w",
            ),
            (
                "http://h/{missing}/x",
                false,
                "http://h/{missing}/x?k=v%20w",
            ),
            ("http://h", false, "http://h/?k=v%20w"),
            ("http://h/a#frag", false, "http://h/a"),
            ("http://h/a{", false, "http://h/a{?k=v%20w"),
            (
                "http://${stageVariables.host}/{proxy}",
                true,
                "http://example.com/a%20b/c?q=1&k=v%20w",
            ),
        ];
        for (uri, proxy, want) in cases {
            let [split, text] = both_ways(uri, &mapped, proxy);
            assert_eq!(split, text, "{uri}");
            assert_eq!(split.as_deref(), Ok(want), "{uri}");
        }
        let empty = Mapped::default();
        for uri in [
            "http://h",
            "http://h?a=b",
            "http://h/?",
            "http://h/a b",
            "http://h/\u{e9}",
            "ftp://h/a",
            "http://h/{proxy}",
        ] {
            let [split, text] = both_ways(uri, &empty, false);
            assert_eq!(split, text, "{uri}");
        }
        // A value that makes the path invalid: the same error, naming the whole URI.
        let spaced = Mapped {
            path: vec![("id".into(), "a b".into())],
            ..Mapped::default()
        };
        let [split, text] = both_ways("http://h/{id}", &spaced, false);
        assert_eq!(split, text);
        assert!(split.is_err_and(|e| e.contains("http://h/a b")));
    }
}
