//! What the pipeline knows about a request, and the `$context` / parameter-mapping values
//! derived from it.

use std::collections::HashMap;
use std::time::SystemTime;

use bytes::Bytes;
use hyper::HeaderMap;
use hyper::header::HeaderName;
use percent_encoding::percent_decode_str;
use tollgate_plan::{MethodPlan, Source};
use tollgate_telemetry::access_log::{Variable, push_ascii, push_decimal};

pub(crate) const X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");
pub(crate) const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// A request, read in full, with everything mappings and integrations may ask for.
pub struct RequestInfo<'a> {
    pub request_id: &'a str,
    pub extended_request_id: &'a str,
    pub api_id: &'a str,
    pub stage: &'a str,
    pub deployment_id: &'a str,
    pub account_id: &'a str,
    pub method: &'a MethodPlan,
    pub http_method: String,
    /// The resource path as requested (raw), e.g. `/pets/1`.
    pub path: &'a str,
    /// The full path as the client sent it, stage included.
    pub full_path: &'a str,
    pub raw_query: Option<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    /// Path parameters: name, raw value (as sent), decoded value.
    pub path_params: Vec<(String, String, String)>,
    pub body: Bytes,
    pub source_ip: String,
    /// `http` or `https`, as the client reached the gateway.
    pub scheme: &'static str,
    pub domain_name: String,
    pub protocol: &'static str,
    pub stage_variables: &'a HashMap<String, String>,
    pub binary_media_types: &'a [String],
    pub received: SystemTime,
    /// The API key the request was admitted with: (id, value).
    pub api_key: Option<(String, String)>,
    /// What the method's authorizer established.
    pub authorization: Option<crate::authorizer::Authorization>,
    /// The caller of an `AWS_IAM` method, once its signature is verified.
    pub iam: Option<std::sync::Arc<tollgate_iam::Principal>>,
    /// The span what the request calls now is a child of, when the request is traced.
    pub trace: Option<tollgate_telemetry::trace::SpanContext>,
    /// Set when the execution log shows the integration request's body: the integration
    /// leaves the body it sent here.
    pub endpoint_body: Option<std::sync::OnceLock<bytes::Bytes>>,
}

/// `$context.domainName`: the `Host` header without its port.
pub fn domain_name(headers: &HeaderMap) -> String {
    headers
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.split(':').next().unwrap_or(h).to_string())
        .unwrap_or_default()
}

pub fn decode(raw: &str) -> String {
    percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

/// Query string pairs, decoded (`+` as space, as API Gateway does).
pub fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(&k.replace('+', " ")), decode(&v.replace('+', " ")))
        })
        .collect()
}

impl RequestInfo<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// [`RequestInfo::header`] by a name known in advance (no parsing of the name).
    pub fn header_value(&self, name: &HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The last value of a query parameter, as API Gateway's single-value view has it.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path_params
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, v)| v.as_str())
    }

    pub fn raw_path_param(&self, name: &str) -> Option<&str> {
        self.path_params
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, r, _)| r.as_str())
    }

    /// `http` or `https`, as the client reached the gateway.
    pub fn protocol_scheme(&self) -> &'static str {
        self.scheme
    }

    /// The X-Ray style trace id of this request: the caller's (`X-Amzn-Trace-Id: Root=...`, or
    /// the trace id of a W3C `traceparent`, as X-Ray maps it), else a new
    /// `1-{epoch seconds hex}-{24 hex}`.
    pub fn trace_id(&self) -> String {
        let mut id = String::with_capacity(35);
        self.write_trace_id(&mut id);
        id
    }

    /// [`RequestInfo::trace_id`], appended to `out` (no `format!`: this runs for every proxied
    /// request).
    pub(crate) fn write_trace_id(&self, out: &mut String) {
        if let Some(trace) = &self.trace {
            return out.push_str(&trace.xray_trace_id());
        }
        let (xray, traceparent) = trace_headers(&self.headers);
        if let Some(root) = xray.and_then(xray_root) {
            return out.push_str(root);
        }
        if let Some(id) = traceparent.and_then(traceparent_to_xray) {
            return out.push_str(&id);
        }
        let secs = self
            .received
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        out.push_str("1-");
        push_hex8(out, secs);
        out.push('-');
        let mut digits = [0u8; 24];
        let hex = self.request_id.bytes().filter(|b| *b != b'-');
        let n = digits
            .iter_mut()
            .zip(hex)
            .map(|(slot, b)| *slot = b)
            .count();
        // The request id is ASCII (a UUID), so its bytes are whole characters.
        out.push_str(std::str::from_utf8(&digits[..n]).unwrap_or_default());
    }

    /// `X-Amzn-Trace-Id` for what the request calls (an integration, a function):
    /// `Root=...`, and when the request is traced `;Parent={span};Sampled=1`.
    pub fn xray_header(&self) -> String {
        match &self.trace {
            Some(trace) => trace.xray_header(),
            None => {
                let mut header = String::with_capacity(40);
                header.push_str("Root=");
                self.write_trace_id(&mut header);
                header
            }
        }
    }

    fn epoch_millis(&self) -> u128 {
        self.received
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    }

    /// `$context.identity.*` of a SigV4-verified caller: its account, access key and ARN
    /// (`caller` and `user` are the access key id: Tollgate's users have no other id).
    pub fn iam_identity(&self) -> Vec<(&'static str, String)> {
        let Some(p) = &self.iam else {
            return Vec::new();
        };
        vec![
            ("accountId", p.account_id.clone()),
            ("caller", p.access_key_id.clone()),
            ("accessKey", p.access_key_id.clone()),
            ("user", p.access_key_id.clone()),
            ("userArn", p.arn.clone()),
        ]
    }

    /// `$context.name` for the variables the data plane knows today.
    pub fn context(&self, name: &str) -> Option<String> {
        let mut value = String::new();
        self.write_context(name, &mut value).then_some(value)
    }

    /// Appends `$context.name` to `out`; `false` when the variable has no value (and nothing
    /// was appended). What [`context`](Self::context) returns, without a `String` per value.
    pub fn write_context(&self, name: &str, out: &mut String) -> bool {
        self.write_variable(&Variable::parse(name), out)
    }

    /// Appends the value of `variable` to `out`; `false` when it has none here (those known
    /// only once the response is out, `xrayTraceId`, unknown names).
    pub fn write_variable(&self, variable: &Variable, out: &mut String) -> bool {
        let value: &str = match variable {
            Variable::RequestId => self.request_id,
            Variable::ExtendedRequestId => self.extended_request_id,
            Variable::ApiId => self.api_id,
            Variable::Stage => self.stage,
            Variable::DeploymentId => self.deployment_id,
            Variable::AccountId => self.account_id,
            Variable::ResourceId => &self.method.resource_id,
            Variable::ResourcePath => &self.method.resource_path,
            Variable::HttpMethod => &self.http_method,
            Variable::Path => self.full_path,
            Variable::Protocol => self.protocol,
            Variable::DomainName => &self.domain_name,
            Variable::DomainPrefix => self.domain_name.split('.').next().unwrap_or(""),
            Variable::RequestTimeEpoch => {
                push_decimal(out, u64::try_from(self.epoch_millis()).unwrap_or(u64::MAX));
                return true;
            }
            Variable::RequestTime => {
                write_clf_time(self.received, out);
                return true;
            }
            Variable::SourceIp => &self.source_ip,
            Variable::UserAgent => self
                .headers
                .get(hyper::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
            Variable::ApiKey | Variable::ApiKeyId => {
                let Some((id, value)) = &self.api_key else {
                    return false;
                };
                if *variable == Variable::ApiKey {
                    value
                } else {
                    id
                }
            }
            Variable::PrincipalId => match &self.authorization {
                Some(authorization) => &authorization.principal_id,
                None => return false,
            },
            Variable::IamAccountId
            | Variable::IamCaller
            | Variable::IamAccessKey
            | Variable::IamUser
            | Variable::IamUserArn => {
                let Some(p) = &self.iam else {
                    return false;
                };
                match variable {
                    Variable::IamAccountId => &p.account_id,
                    Variable::IamUserArn => &p.arn,
                    _ => &p.access_key_id,
                }
            }
            Variable::Claim(_) | Variable::AuthorizerContext(_) => {
                let found = self.authorization.as_ref().and_then(|a| match variable {
                    Variable::Claim(claim) => a.claims.as_ref()?.get(&**claim),
                    Variable::AuthorizerContext(key) => a.context.get(&**key),
                    _ => None,
                });
                match found {
                    Some(serde_json::Value::String(s)) => out.push_str(s),
                    Some(v) => out.push_str(&v.to_string()),
                    None => return false,
                }
                return true;
            }
            _ => return false,
        };
        out.push_str(value);
        true
    }

    /// The value of a mapping source on the request side.
    pub fn source(&self, source: &Source) -> Option<String> {
        match source {
            Source::Static(v) => Some(v.clone()),
            Source::Path(n) => self.path_param(n).map(String::from),
            Source::Query(n) => self.query_param(n).map(String::from),
            Source::MultiValueQuery(n) => {
                let values: Vec<&str> = self
                    .query
                    .iter()
                    .filter(|(k, _)| k == n)
                    .map(|(_, v)| v.as_str())
                    .collect();
                (!values.is_empty()).then(|| values.join(","))
            }
            Source::Header(n) => self.header(n).map(String::from),
            Source::MultiValueHeader(n) => {
                let values: Vec<&str> = self
                    .headers
                    .get_all(n.as_str())
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect();
                (!values.is_empty()).then(|| values.join(","))
            }
            Source::Body => Some(String::from_utf8_lossy(&self.body).into_owned()),
            Source::StageVariable(n) => self.stage_variables.get(n).cloned(),
            Source::Context(n) => self.context(n),
            Source::IntegrationHeader(_)
            | Source::IntegrationMultiValueHeader(_)
            | Source::IntegrationBody
            | Source::IntegrationBodyPath(_) => None,
        }
    }

    /// The bindings of a mapping template: `$input` (over `body`: the request's for request
    /// templates, the integration's answer for response templates), `$util`, `$context` and
    /// `$stageVariables`.
    pub fn template_context(&self, body: &[u8]) -> tollgate_vtl::Context {
        self.template_context_with_overrides(body).0
    }

    /// [`Self::template_context`], also giving the `$context.requestOverride` and
    /// `$context.responseOverride` maps the template may write to.
    pub fn template_context_with_overrides(
        &self,
        body: &[u8],
    ) -> (tollgate_vtl::Context, Overrides) {
        use tollgate_vtl::{Map, Value};
        let mut ctx = tollgate_vtl::Context::new();
        let data = tollgate_mapping::RequestData {
            body: body.to_vec(),
            path: self
                .path_params
                .iter()
                .map(|(n, _, v)| (n.clone(), v.clone()))
                .collect(),
            querystring: self.query.clone(),
            header: self
                .headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect(),
        };
        tollgate_mapping::bind(&mut ctx, std::sync::Arc::new(data));
        let names = [
            "requestId",
            "extendedRequestId",
            "apiId",
            "stage",
            "deploymentId",
            "accountId",
            "resourceId",
            "resourcePath",
            "httpMethod",
            "path",
            "protocol",
            "domainName",
            "domainPrefix",
            "requestTimeEpoch",
        ];
        let mut entries: Vec<(String, Value)> = names
            .iter()
            .filter_map(|n| Some((n.to_string(), Value::from(self.context(n)?.as_str()))))
            .collect();
        // Identity fields that need an authorizer or IAM render empty, as on AWS (its default
        // "method request passthrough" template shows them as "").
        let mut identity: Vec<(String, Value)> = [
            "cognitoIdentityPoolId",
            "accountId",
            "cognitoIdentityId",
            "caller",
            "apiKey",
            "apiKeyId",
            "accessKey",
            "cognitoAuthenticationType",
            "cognitoAuthenticationProvider",
            "userArn",
            "user",
            "principalOrgId",
            "clientCert",
        ]
        .iter()
        .map(|n| (n.to_string(), Value::from("")))
        .collect();
        if let Some((id, value)) = &self.api_key {
            for (name, v) in [("apiKey", value), ("apiKeyId", id)] {
                if let Some(slot) = identity.iter_mut().find(|(n, _)| n == name) {
                    slot.1 = Value::from(v.as_str());
                }
            }
        }
        for (name, value) in self.iam_identity() {
            if let Some(slot) = identity.iter_mut().find(|(n, _)| n == name) {
                slot.1 = Value::from(value.as_str());
            }
        }
        identity.push(("sourceIp".into(), Value::from(self.source_ip.as_str())));
        identity.push((
            "userAgent".into(),
            Value::from(self.header("user-agent").unwrap_or("")),
        ));
        let identity = Value::map(identity);
        entries.push((
            "requestTime".into(),
            Value::from(clf_time(self.received).as_str()),
        ));
        entries.push((
            "xrayTraceId".into(),
            Value::from(format!("Root={}", self.trace_id()).as_str()),
        ));
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut authorizer: Vec<(String, Value)> = Vec::new();
        if let Some(a) = &self.authorization {
            authorizer.push(("principalId".into(), Value::from(a.principal_id.as_str())));
            for (k, v) in &a.context {
                authorizer.push((k.clone(), Value::from(text(v).as_str())));
            }
            if let Some(claims) = &a.claims {
                let claims = claims
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(text(v).as_str())));
                authorizer.push(("claims".into(), Value::map(claims)));
            }
        }
        entries.push(("authorizer".into(), Value::map(authorizer)));
        entries.push((
            "error".into(),
            Value::map([
                ("message", Value::from("")),
                ("messageString", Value::from("")),
                ("responseType", Value::from("")),
                ("validationErrorString", Value::from("")),
            ]),
        ));
        entries.push(("identity".into(), identity));
        let overrides = Overrides {
            request: Map::new(vec![
                ("header".into(), Value::Map(Map::default())),
                ("querystring".into(), Value::Map(Map::default())),
                ("path".into(), Value::Map(Map::default())),
            ]),
            response: Map::new(vec![("header".into(), Value::Map(Map::default()))]),
        };
        entries.push((
            "requestOverride".into(),
            Value::Map(overrides.request.clone()),
        ));
        entries.push((
            "responseOverride".into(),
            Value::Map(overrides.response.clone()),
        ));
        ctx.insert("context", Value::map(entries));
        let vars = self
            .stage_variables
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())));
        ctx.insert("stageVariables", Value::map(vars));
        (ctx, overrides)
    }
}

/// What a mapping template wrote to `$context.requestOverride` / `$context.responseOverride`.
pub struct Overrides {
    pub request: tollgate_vtl::Map,
    pub response: tollgate_vtl::Map,
}

impl Overrides {
    fn entries(map: &tollgate_vtl::Map, section: &str) -> Vec<(String, String)> {
        match map.get(section) {
            Some(tollgate_vtl::Value::Map(m)) => m
                .entries()
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, v.to_java_string()))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `requestOverride.header|querystring|path` entries.
    pub fn request(&self, section: &str) -> Vec<(String, String)> {
        Self::entries(&self.request, section)
    }

    pub fn response_headers(&self) -> Vec<(String, String)> {
        Self::entries(&self.response, "header")
    }

    pub fn response_status(&self) -> Option<u16> {
        match self.response.get("status")? {
            tollgate_vtl::Value::Int(n) => u16::try_from(n).ok(),
            other => other.to_java_string().trim().parse().ok(),
        }
    }
}

/// `value` in lowercase hex, at least eight digits (as `{value:08x}` writes it).
fn push_hex8(out: &mut String, value: u64) {
    let digits = (16 - (value.leading_zeros() / 4) as usize).max(8);
    let mut text = [0u8; 16];
    for (i, shift) in (0..digits).rev().enumerate() {
        text[i] = b"0123456789abcdef"[((value >> (shift * 4)) & 0xf) as usize];
    }
    out.push_str(std::str::from_utf8(&text[..digits]).unwrap_or_default());
}

/// A client's address as text (every request needs its source IP).
pub(crate) fn ip_text(ip: std::net::IpAddr) -> String {
    let mut out = String::with_capacity(15);
    tollgate_telemetry::access_log::push_ip(&mut out, ip);
    out
}

/// The (first) `X-Amzn-Trace-Id` and `traceparent` values of a request's headers, found in
/// one pass over them: for the few headers a request has, that costs less than two lookups by
/// hash.
fn trace_headers(headers: &HeaderMap) -> (Option<&str>, Option<&str>) {
    let (mut xray, mut traceparent) = (None, None);
    for (name, value) in headers {
        if *name == X_AMZN_TRACE_ID {
            xray = xray.or(Some(value));
        } else if *name == TRACEPARENT {
            traceparent = traceparent.or(Some(value));
        }
    }
    (
        xray.and_then(|v: &hyper::header::HeaderValue| v.to_str().ok()),
        traceparent.and_then(|v: &hyper::header::HeaderValue| v.to_str().ok()),
    )
}

/// The `Root=` of an `X-Amzn-Trace-Id` header, when it is a well-formed X-Ray trace id.
fn xray_root(header: &str) -> Option<&str> {
    let root = header
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Root="))?;
    let mut parts = root.split('-');
    let well_formed = parts.next() == Some("1")
        && parts
            .next()
            .is_some_and(|t| t.len() == 8 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        && parts
            .next()
            .is_some_and(|t| t.len() == 24 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        && parts.next().is_none();
    well_formed.then_some(root)
}

/// A W3C `traceparent` (`00-{32 hex trace id}-{16 hex span}-{flags}`) as an X-Ray trace id:
/// the first 8 hex digits are the epoch part, the other 24 the unique part.
fn traceparent_to_xray(header: &str) -> Option<String> {
    let mut parts = header.trim().split('-');
    let (_version, trace) = (parts.next()?, parts.next()?);
    if trace.len() != 32
        || !trace.bytes().all(|b| b.is_ascii_hexdigit())
        || trace.bytes().all(|b| b == b'0')
    {
        return None;
    }
    let trace = trace.to_ascii_lowercase();
    Some(format!("1-{}-{}", &trace[..8], &trace[8..]))
}

/// `$context.requestTime`: the CLF-formatted time, `24/Nov/2026:13:11:41 +0000`.
pub fn clf_time(at: SystemTime) -> String {
    let mut out = String::with_capacity(26);
    write_clf_time(at, &mut out);
    out
}

/// Appends [`clf_time`] to `out`, built in place (no `fmt`: access logs write one per request).
pub fn write_clf_time(at: SystemTime, out: &mut String) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let digit = |n: u64| b'0' + (n % 10) as u8;
    let name = MONTHS[(month - 1) as usize].as_bytes();
    let day = day as u64;
    let date = [
        digit(day / 10),
        digit(day),
        b'/',
        name[0],
        name[1],
        name[2],
        b'/',
    ];
    push_ascii(out, &date);
    push_decimal(out, year.max(0) as u64);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let time = [
        b':',
        digit(h / 10),
        digit(h),
        b':',
        digit(m / 10),
        digit(m),
        b':',
        digit(s / 10),
        digit(s),
    ];
    push_ascii(out, &time);
    out.push_str(" +0000");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_like_format() {
        for value in [0, 1, 0xabc, 0x6941_f2a3, u64::from(u32::MAX) + 1, u64::MAX] {
            let mut out = String::new();
            push_hex8(&mut out, value);
            assert_eq!(out, format!("{value:08x}"));
        }
    }

    #[test]
    fn trace_headers_are_the_first_of_each() {
        let mut headers = HeaderMap::new();
        assert_eq!(trace_headers(&headers), (None, None));
        for (name, value) in [
            ("host", "h"),
            ("traceparent", "t1"),
            ("x-amzn-trace-id", "x1"),
            ("traceparent", "t2"),
            ("x-amzn-trace-id", "x2"),
        ] {
            headers.append(name, value.parse().unwrap());
        }
        assert_eq!(trace_headers(&headers), (Some("x1"), Some("t1")));
    }

    #[test]
    fn trace_ids_from_callers() {
        assert_eq!(
            xray_root("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"),
            Some("1-5759e988-bd862e3fe1be46a994272793")
        );
        assert_eq!(xray_root("Root=1-zz-bd862e3fe1be46a994272793"), None);
        assert_eq!(xray_root("Self=1-5759e988-bd862e3fe1be46a994272793"), None);
        assert_eq!(
            traceparent_to_xray("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                .as_deref(),
            Some("1-4bf92f35-77b34da6a3ce929d0e0e4736")
        );
        assert_eq!(traceparent_to_xray("00-0000-00f067aa0ba902b7-01"), None);
        assert_eq!(
            traceparent_to_xray("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
    }

    #[test]
    fn clf_times() {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_526_623);
        assert_eq!(clf_time(at), "24/Nov/2026:13:23:43 +0000");
        assert_eq!(
            clf_time(SystemTime::UNIX_EPOCH),
            "01/Jan/1970:00:00:00 +0000"
        );
    }
}
