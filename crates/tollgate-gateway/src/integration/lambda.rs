//! `AWS_PROXY` to a function: API Gateway's proxy event (payload format 1.0) in, the
//! function's `{statusCode, headers, multiValueHeaders, body, isBase64Encoded}` out.

use std::borrow::Cow;
use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tollgate_plan::IntegrationPlan;

use super::json_text;
use crate::context::RequestInfo;
use crate::error::GatewayError;

/// What runs functions for the data plane. The binary adapts the function runtime to it, so
/// the data plane does not depend on how (or where) functions run, and tests can fake it.
pub trait FunctionInvoker: Send + Sync {
    fn invoke(
        &self,
        call: FunctionCall,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<FunctionResult, FunctionCallError>> + Send + '_,
        >,
    >;
}

/// One synchronous invocation.
pub struct FunctionCall {
    pub name: String,
    /// `$LATEST`, a version number or an alias.
    pub qualifier: String,
    pub payload: Bytes,
    pub trace_id: Option<String>,
}

/// What the function answered; `function_error` is Lambda's `X-Amz-Function-Error`.
pub struct FunctionResult {
    pub payload: Bytes,
    pub function_error: Option<String>,
}

#[derive(Debug)]
pub enum FunctionCallError {
    NotFound(String),
    Throttled(String),
    Failed(String),
}

/// The function a Lambda integration URI names:
/// `arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations`,
/// where the function ARN may end in `:{version or alias}`.
pub fn function_of(uri: &str) -> Option<(String, String)> {
    let arn = after_colon_marker(uri, ":lambda:path/2015-03-31/functions/")?;
    function_of_arn(arn.strip_suffix("/invocations")?)
}

/// What follows the first `marker` (which starts with `:`) in `s`. A URI has a few colons, so
/// trying the marker at each is cheaper than a substring search, which sets up a searcher per
/// call (this runs on every invocation).
fn after_colon_marker<'a>(s: &'a str, marker: &str) -> Option<&'a str> {
    s.match_indices(':')
        .find_map(|(at, _)| s[at..].strip_prefix(marker))
}

/// The function and qualifier a function ARN names:
/// `arn:aws:lambda:{region}:{account}:function:{name}[:{version or alias}]` (a bare name
/// works too).
pub fn function_of_arn(arn: &str) -> Option<(String, String)> {
    let rest = after_colon_marker(arn, ":function:").unwrap_or(arn);
    let (name, qualifier) = match rest.split_once(':') {
        Some((name, qualifier)) => (name, qualifier),
        None => (rest, "$LATEST"),
    };
    (!name.is_empty()).then(|| (name.to_string(), qualifier.to_string()))
}

/// `None` (JSON `null`, as API Gateway sends an empty map) when empty.
fn non_empty<K, V>(map: BTreeMap<K, V>) -> Option<BTreeMap<K, V>> {
    (!map.is_empty()).then_some(map)
}

/// The proxy event, field by field (and in the order) API Gateway sends to a REST API's Lambda
/// proxy. Serialized straight from the request, borrowing what it can.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProxyEvent<'r> {
    resource: &'r str,
    path: String,
    http_method: &'r str,
    headers: Option<BTreeMap<&'r str, Cow<'r, str>>>,
    multi_value_headers: Option<BTreeMap<&'r str, Vec<Cow<'r, str>>>>,
    query_string_parameters: Option<BTreeMap<&'r str, &'r str>>,
    multi_value_query_string_parameters: Option<BTreeMap<&'r str, Vec<&'r str>>>,
    path_parameters: Option<BTreeMap<&'r str, &'r str>>,
    stage_variables: Option<BTreeMap<&'r str, &'r str>>,
    request_context: ProxyContext<'r>,
    body: Option<Cow<'r, str>>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProxyContext<'r> {
    resource_id: &'r str,
    resource_path: &'r str,
    http_method: &'r str,
    extended_request_id: &'r str,
    request_time: Option<String>,
    path: &'r str,
    account_id: &'r str,
    protocol: &'r str,
    stage: &'r str,
    domain_prefix: Option<String>,
    request_time_epoch: u64,
    request_id: &'r str,
    identity: ProxyIdentity<'r>,
    domain_name: &'r str,
    deployment_id: &'r str,
    api_id: &'r str,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProxyIdentity<'r> {
    cognito_identity_pool_id: (),
    account_id: Option<String>,
    cognito_identity_id: (),
    caller: Option<String>,
    source_ip: &'r str,
    principal_org_id: (),
    access_key: Option<String>,
    cognito_authentication_type: (),
    cognito_authentication_provider: (),
    user_arn: Option<String>,
    user_agent: Option<&'r str>,
    user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key_id: Option<&'r str>,
}

impl<'r> ProxyEvent<'r> {
    fn of(request: &'r RequestInfo<'_>) -> Self {
        let mut headers = BTreeMap::new();
        let mut multi_headers: BTreeMap<&str, Vec<Cow<'_, str>>> = BTreeMap::new();
        for (name, value) in &request.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            // API Gateway keeps the last value in `headers` and every one in
            // `multiValueHeaders`.
            headers.insert(name.as_str(), value.clone());
            multi_headers.entry(name.as_str()).or_default().push(value);
        }
        let mut query = BTreeMap::new();
        let mut multi_query: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (k, v) in &request.query {
            query.insert(k.as_str(), v.as_str());
            multi_query.entry(k.as_str()).or_default().push(v.as_str());
        }
        let path_parameters = request
            .path_params
            .iter()
            .map(|(n, _, v)| (n.as_str(), v.as_str()))
            .collect();
        let stage_variables = request
            .stage_variables
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let binary =
            tollgate_plan::is_binary(request.header("content-type"), request.binary_media_types);
        let text = if binary {
            None
        } else {
            std::str::from_utf8(&request.body).ok()
        };
        let is_base64 = !request.body.is_empty() && text.is_none();
        let body = match text {
            _ if request.body.is_empty() => None,
            Some(text) => Some(Cow::Borrowed(text)),
            None => Some(Cow::Owned(BASE64.encode(&request.body))),
        };
        let authorizer = request
            .authorization
            .as_ref()
            .map(|auth| match &auth.claims {
                // Cognito: the token's claims.
                Some(claims) => json!({ "claims": claims }),
                None => {
                    let mut authorizer = auth.context.clone();
                    authorizer.insert("principalId".into(), json!(auth.principal_id));
                    authorizer.insert("integrationLatency".into(), json!(0));
                    Value::Object(authorizer)
                }
            });
        let mut identity = ProxyIdentity {
            cognito_identity_pool_id: (),
            account_id: None,
            cognito_identity_id: (),
            caller: None,
            source_ip: &request.source_ip,
            principal_org_id: (),
            access_key: None,
            cognito_authentication_type: (),
            cognito_authentication_provider: (),
            user_arn: None,
            user_agent: request.header("user-agent"),
            user: None,
            api_key: request.api_key.as_ref().map(|(_, value)| value.as_str()),
            api_key_id: request.api_key.as_ref().map(|(id, _)| id.as_str()),
        };
        for (name, value) in request.iam_identity() {
            let field = match name {
                "accountId" => &mut identity.account_id,
                "caller" => &mut identity.caller,
                "accessKey" => &mut identity.access_key,
                "user" => &mut identity.user,
                "userArn" => &mut identity.user_arn,
                _ => continue,
            };
            *field = Some(value);
        }
        Self {
            resource: &request.method.resource_path,
            path: decode_path(request.path),
            http_method: &request.http_method,
            headers: non_empty(headers),
            multi_value_headers: non_empty(multi_headers),
            query_string_parameters: non_empty(query),
            multi_value_query_string_parameters: non_empty(multi_query),
            path_parameters: non_empty(path_parameters),
            stage_variables: non_empty(stage_variables),
            request_context: ProxyContext {
                resource_id: &request.method.resource_id,
                resource_path: &request.method.resource_path,
                http_method: &request.http_method,
                extended_request_id: request.extended_request_id,
                request_time: request.context("requestTime"),
                path: request.full_path,
                account_id: request.account_id,
                protocol: request.protocol,
                stage: request.stage,
                domain_prefix: request.context("domainPrefix"),
                request_time_epoch: request
                    .context("requestTimeEpoch")
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0),
                request_id: request.request_id,
                identity,
                domain_name: &request.domain_name,
                deployment_id: request.deployment_id,
                api_id: request.api_id,
                authorizer,
            },
            body,
            is_base64_encoded: is_base64,
        }
    }
}

impl ProxyEvent<'_> {
    /// The event's JSON text, as `serde_json::to_vec(self)` writes it but several times faster
    /// (keys are literals; see [`json_text`]): it is built on every proxied invocation.
    fn to_json(&self) -> String {
        let mut out = String::with_capacity(1024 + self.body.as_ref().map_or(0, |b| b.len()));
        out.push_str("{\"resource\":");
        json_text::string(&mut out, self.resource);
        out.push_str(",\"path\":");
        json_text::string(&mut out, &self.path);
        out.push_str(",\"httpMethod\":");
        json_text::string(&mut out, self.http_method);
        out.push_str(",\"headers\":");
        json_text::object(&mut out, self.headers.as_ref(), |out, v| {
            json_text::string(out, v);
        });
        out.push_str(",\"multiValueHeaders\":");
        json_text::object(&mut out, self.multi_value_headers.as_ref(), |out, v| {
            json_text::strings(out, v.iter().map(|s| &**s));
        });
        out.push_str(",\"queryStringParameters\":");
        json_text::object(&mut out, self.query_string_parameters.as_ref(), |out, v| {
            json_text::string(out, v);
        });
        out.push_str(",\"multiValueQueryStringParameters\":");
        json_text::object(
            &mut out,
            self.multi_value_query_string_parameters.as_ref(),
            |out, v| json_text::strings(out, v.iter().copied()),
        );
        out.push_str(",\"pathParameters\":");
        json_text::object(&mut out, self.path_parameters.as_ref(), |out, v| {
            json_text::string(out, v);
        });
        out.push_str(",\"stageVariables\":");
        json_text::object(&mut out, self.stage_variables.as_ref(), |out, v| {
            json_text::string(out, v);
        });
        out.push_str(",\"requestContext\":");
        self.request_context.write_json(&mut out);
        out.push_str(",\"body\":");
        json_text::opt_string(&mut out, self.body.as_deref());
        out.push_str(if self.is_base64_encoded {
            ",\"isBase64Encoded\":true}"
        } else {
            ",\"isBase64Encoded\":false}"
        });
        out
    }
}

impl ProxyContext<'_> {
    fn write_json(&self, out: &mut String) {
        json_text::fields(
            out,
            &[
                ("{\"resourceId\":", self.resource_id),
                (",\"resourcePath\":", self.resource_path),
                (",\"httpMethod\":", self.http_method),
                (",\"extendedRequestId\":", self.extended_request_id),
            ],
        );
        out.push_str(",\"requestTime\":");
        json_text::opt_string(out, self.request_time.as_deref());
        json_text::fields(
            out,
            &[
                (",\"path\":", self.path),
                (",\"accountId\":", self.account_id),
                (",\"protocol\":", self.protocol),
                (",\"stage\":", self.stage),
            ],
        );
        out.push_str(",\"domainPrefix\":");
        json_text::opt_string(out, self.domain_prefix.as_deref());
        out.push_str(",\"requestTimeEpoch\":");
        tollgate_telemetry::access_log::push_decimal(out, self.request_time_epoch);
        out.push_str(",\"requestId\":");
        json_text::string(out, self.request_id);
        out.push_str(",\"identity\":");
        self.identity.write_json(out);
        json_text::fields(
            out,
            &[
                (",\"domainName\":", self.domain_name),
                (",\"deploymentId\":", self.deployment_id),
                (",\"apiId\":", self.api_id),
            ],
        );
        if let Some(authorizer) = &self.authorizer {
            out.push_str(",\"authorizer\":");
            out.push_str(&authorizer.to_string());
        }
        out.push('}');
    }
}

impl ProxyIdentity<'_> {
    fn write_json(&self, out: &mut String) {
        out.push_str("{\"cognitoIdentityPoolId\":null,\"accountId\":");
        json_text::opt_string(out, self.account_id.as_deref());
        out.push_str(",\"cognitoIdentityId\":null,\"caller\":");
        json_text::opt_string(out, self.caller.as_deref());
        out.push_str(",\"sourceIp\":");
        json_text::string(out, self.source_ip);
        out.push_str(",\"principalOrgId\":null,\"accessKey\":");
        json_text::opt_string(out, self.access_key.as_deref());
        out.push_str(
            ",\"cognitoAuthenticationType\":null,\"cognitoAuthenticationProvider\":null,\"userArn\":",
        );
        json_text::opt_string(out, self.user_arn.as_deref());
        out.push_str(",\"userAgent\":");
        json_text::opt_string(out, self.user_agent);
        out.push_str(",\"user\":");
        json_text::opt_string(out, self.user.as_deref());
        if let Some(key) = self.api_key {
            out.push_str(",\"apiKey\":");
            json_text::string(out, key);
        }
        if let Some(id) = self.api_key_id {
            out.push_str(",\"apiKeyId\":");
            json_text::string(out, id);
        }
        out.push('}');
    }
}

/// The proxy event, field by field as API Gateway sends it to a REST API's Lambda proxy.
pub fn event(request: &RequestInfo<'_>) -> Value {
    serde_json::to_value(ProxyEvent::of(request)).unwrap_or(Value::Null)
}

fn decode_path(raw: &str) -> String {
    crate::context::decode(raw)
}

/// A proxy response as the function wrote it. Each field is `Some` when present, even as `null`
/// (a `null` `statusCode` is malformed, a missing one is 200); the body is borrowed from the
/// payload unless it has escapes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProxyResponse<'a> {
    #[serde(default, deserialize_with = "present")]
    status_code: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    is_base64_encoded: Option<Value>,
    #[serde(default, borrow)]
    body: Option<Cow<'a, str>>,
    #[serde(default)]
    multi_value_headers: Option<Map<String, Value>>,
    #[serde(default)]
    headers: Option<Map<String, Value>>,
}

/// `Some(value)` for a field that is present, `null` included.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Reads a proxy response; anything that is not one is `None` (API Gateway answers 502).
pub fn parse_response(payload: &[u8]) -> Option<Response<Full<Bytes>>> {
    // An object only (a struct would also accept a JSON array of its fields).
    if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    let parsed: ProxyResponse<'_> = serde_json::from_slice(payload).ok()?;
    let status = match &parsed.status_code {
        Some(Value::Number(n)) => n.as_u64()?,
        Some(Value::String(s)) => s.trim().parse().ok()?,
        None => 200,
        _ => return None,
    };
    let status = StatusCode::from_u16(u16::try_from(status).ok()?).ok()?;
    let is_base64 = match &parsed.is_base64_encoded {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => return None,
    };
    let body = match parsed.body {
        None => Bytes::new(),
        Some(s) if is_base64 => Bytes::from(BASE64.decode(s.as_bytes()).ok()?),
        Some(Cow::Borrowed(s)) => Bytes::copy_from_slice(s.as_bytes()),
        Some(Cow::Owned(s)) => Bytes::from(s),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Some(map) = &parsed.multi_value_headers {
        for (name, values) in map {
            let name = HeaderName::try_from(name.as_str()).ok()?;
            for v in values.as_array()? {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                headers.append(name.clone(), HeaderValue::from_str(&text).ok()?);
            }
        }
    }
    if let Some(map) = &parsed.headers {
        for (name, v) in map {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                other => other.to_string(),
            };
            headers.insert(
                HeaderName::try_from(name.as_str()).ok()?,
                HeaderValue::from_str(&text).ok()?,
            );
        }
    }
    if !headers.contains_key(hyper::header::CONTENT_TYPE) {
        headers.insert(
            hyper::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    Some(response)
}

/// Invokes the function of an `AWS_PROXY` integration with the proxy event.
pub async fn proxy(
    functions: &dyn FunctionInvoker,
    plan: &IntegrationPlan,
    request: &RequestInfo<'_>,
) -> Result<Response<Full<Bytes>>, GatewayError> {
    let uri = plan.uri.as_deref().unwrap_or("");
    let uri = super::http::substitute_stage_variables(uri, request);
    let (name, qualifier) = function_of(&uri).ok_or_else(|| {
        GatewayError::Internal(format!(
            "Invalid Lambda function ARN in integration URI: {uri}"
        ))
    })?;
    let payload = ProxyEvent::of(request).to_json();
    let call = functions.invoke(FunctionCall {
        name,
        qualifier,
        payload: Bytes::from(payload),
        trace_id: Some(request.xray_header()),
    });
    let outcome = tokio::time::timeout(plan.timeout, call)
        .await
        .map_err(|_| GatewayError::IntegrationTimeout)?
        .map_err(|e| match e {
            FunctionCallError::NotFound(m) => {
                GatewayError::Internal(format!("Lambda function not found: {m}"))
            }
            FunctionCallError::Throttled(reason) => GatewayError::Throttled(reason),
            FunctionCallError::Failed(m) => {
                GatewayError::BadGateway(format!("Lambda invocation failed: {m}"))
            }
        })?;
    if let Some(kind) = outcome.function_error {
        return Err(GatewayError::BadGateway(format!(
            "Lambda function error ({kind}): {}",
            String::from_utf8_lossy(&outcome.payload)
        )));
    }
    parse_response(&outcome.payload).ok_or_else(|| {
        GatewayError::BadGateway(format!(
            "Malformed Lambda proxy response: {}",
            String::from_utf8_lossy(&outcome.payload)
        ))
    })
}

/// `AWS` (non-proxy) to a function: the request template (or the body) is the event; a
/// function error's `errorMessage` picks the integration response by `selectionPattern`, and
/// success takes the default response, as API Gateway does.
pub async fn non_proxy(
    functions: &dyn FunctionInvoker,
    plan: &IntegrationPlan,
    request: &mut RequestInfo<'_>,
) -> Result<Response<Full<Bytes>>, GatewayError> {
    let uri = super::http::substitute_stage_variables(plan.uri.as_deref().unwrap_or(""), request);
    let (name, qualifier) = function_of(&uri).ok_or_else(|| {
        GatewayError::Internal(format!(
            "AWS service integrations other than Lambda are not supported: {uri}"
        ))
    })?;
    let (payload, _overrides) = super::http::integration_body(plan, request)?;
    let call = functions.invoke(FunctionCall {
        name,
        qualifier,
        payload,
        trace_id: Some(request.xray_header()),
    });
    let outcome = tokio::time::timeout(plan.timeout, call)
        .await
        .map_err(|_| GatewayError::IntegrationTimeout)?
        .map_err(|e| match e {
            FunctionCallError::NotFound(m) => {
                GatewayError::Internal(format!("Lambda function not found: {m}"))
            }
            FunctionCallError::Throttled(reason) => GatewayError::Throttled(reason),
            FunctionCallError::Failed(m) => {
                GatewayError::BadGateway(format!("Lambda invocation failed: {m}"))
            }
        })?;
    let selector = outcome.function_error.as_ref().map(|_| {
        serde_json::from_slice::<Value>(&outcome.payload)
            .ok()
            .and_then(|v| {
                v.get("errorMessage")
                    .and_then(Value::as_str)
                    .map(String::from)
            })
            .unwrap_or_else(|| String::from_utf8_lossy(&outcome.payload).into_owned())
    });
    let mut headers = hyper::HeaderMap::new();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    super::respond::respond(
        plan,
        request,
        super::respond::IntegrationAnswer {
            selector,
            headers,
            body: outcome.payload,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;
    use http_body_util::BodyExt;

    fn identity(api_key: Option<&str>) -> ProxyIdentity<'_> {
        ProxyIdentity {
            cognito_identity_pool_id: (),
            account_id: api_key.map(|_| "123456789012".into()),
            cognito_identity_id: (),
            caller: None,
            source_ip: "127.0.0.1",
            principal_org_id: (),
            access_key: Some("AKIA\"X".into()),
            cognito_authentication_type: (),
            cognito_authentication_provider: (),
            user_arn: None,
            user_agent: Some("curl/8.0 \t"),
            user: None,
            api_key,
            api_key_id: api_key.map(|_| "k1"),
        }
    }

    fn context<'r>(identity: ProxyIdentity<'r>, authorizer: Option<Value>) -> ProxyContext<'r> {
        ProxyContext {
            resource_id: "abc123",
            resource_path: "/{proxy+}",
            http_method: "POST",
            extended_request_id: "ext",
            request_time: Some("25/Nov/2026:00:00:00 +0000".into()),
            path: "/bench/hello",
            account_id: "000000000000",
            protocol: "HTTP/1.1",
            stage: "bench",
            domain_prefix: None,
            request_time_epoch: 1_795_000_000_123,
            request_id: "r-1",
            identity,
            domain_name: "localhost",
            deployment_id: "d1",
            api_id: "api",
            authorizer,
        }
    }

    #[test]
    fn proxy_event_json_is_serde_jsons() {
        let headers: BTreeMap<&str, Cow<'_, str>> =
            [("host", "localhost:1".into()), ("x-q", "a\"b\u{1}é".into())].into();
        let multi: BTreeMap<&str, Vec<Cow<'_, str>>> = [
            ("host", vec!["localhost:1".into()]),
            ("x-q", vec!["1".into(), "2".into()]),
        ]
        .into();
        let query: BTreeMap<&str, &str> = [("q", "1"), ("w", "x\\y")].into();
        let multi_query: BTreeMap<&str, Vec<&str>> = [("q", vec!["0", "1"]), ("w", vec![])].into();
        let full = ProxyEvent {
            resource: "/{proxy+}",
            path: "/hello/wörld".into(),
            http_method: "POST",
            headers: Some(headers),
            multi_value_headers: Some(multi),
            query_string_parameters: Some(query),
            multi_value_query_string_parameters: Some(multi_query),
            path_parameters: Some([("proxy", "hello")].into()),
            stage_variables: Some([("v", "1")].into()),
            request_context: context(
                identity(Some("key")),
                Some(json!({"principalId": "me", "n": 1, "claims": {"b": [true, null]}})),
            ),
            body: Some("{\"a\":\n1}".into()),
            is_base64_encoded: true,
        };
        let bare = ProxyEvent {
            resource: "/",
            path: "/".into(),
            http_method: "GET",
            headers: None,
            multi_value_headers: None,
            query_string_parameters: None,
            multi_value_query_string_parameters: None,
            path_parameters: None,
            stage_variables: None,
            request_context: context(identity(None), None),
            body: None,
            is_base64_encoded: false,
        };
        for event in [full, bare] {
            assert_eq!(event.to_json(), serde_json::to_string(&event).unwrap());
        }
    }

    #[test]
    fn function_names_come_from_integration_uris() {
        let uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:hello/invocations";
        assert_eq!(function_of(uri), Some(("hello".into(), "$LATEST".into())));
        let aliased = uri.replace("function:hello", "function:hello:live");
        assert_eq!(function_of(&aliased), Some(("hello".into(), "live".into())));
        assert_eq!(function_of("http://example.com"), None);
        assert_eq!(function_of(&uri.replace("/invocations", "")), None);
        assert_eq!(
            function_of_arn("arn:aws:lambda:us-east-1:000000000000:function:f:7"),
            Some(("f".into(), "7".into()))
        );
        assert_eq!(function_of_arn("f"), Some(("f".into(), "$LATEST".into())));
        assert_eq!(function_of_arn(":function:"), None);
    }

    #[test]
    fn proxy_responses_are_read_as_api_gateway_does() {
        let r = parse_response(br#"{"statusCode": 201, "headers": {"x-a": "1"}, "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]}, "body": "hi"}"#).unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["x-a"], "1");
        assert_eq!(r.headers().get_all("set-cookie").iter().count(), 2);
        let r =
            parse_response(br#"{"statusCode": "200", "body": "aGk=", "isBase64Encoded": true}"#)
                .unwrap();
        assert_eq!(r.headers()["content-type"], "application/json");
        assert!(parse_response(b"not json").is_none());
        assert!(parse_response(br#"{"statusCode": "abc"}"#).is_none());
        assert!(parse_response(br#"{"statusCode": 200, "body": {"a": 1}}"#).is_none());
        assert!(parse_response(br#"[1]"#).is_none());
        assert!(parse_response(br#"[200]"#).is_none());
        assert!(parse_response(br#"{"statusCode": null}"#).is_none());
        assert!(parse_response(br#"{"statusCode": 200.5}"#).is_none());
        assert!(parse_response(br#"{"isBase64Encoded": 1}"#).is_none());
        assert!(parse_response(br#"{"multiValueHeaders": {"a": "x"}}"#).is_none());
        let r = parse_response(br#" {"body": null, "headers": null, "isBase64Encoded": null}"#)
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = parse_response(
            br#"{"body": "a\"b", "headers": {"x-n": 5, "x-null": null}, "extra": [1]}"#,
        )
        .unwrap();
        assert_eq!(r.headers()["x-n"], "5");
        assert!(r.headers().get("x-null").is_none());
        let body = BodyExt::collect(r.into_body()).now_or_never();
        assert_eq!(body.unwrap().unwrap().to_bytes(), &b"a\"b"[..]);
    }
}
