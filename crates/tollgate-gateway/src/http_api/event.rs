//! The Lambda events of HTTP APIs (payload format 2.0 and 1.0) and how function results
//! become responses (2.0 infers a response from a result without `statusCode`).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue, SET_COOKIE};
use hyper::{Response, StatusCode};
use serde_json::{Map, Value, json};

use super::request::HttpRequest;

/// Whether a body is sent base64-encoded: anything that is not text by its content type, or
/// not UTF-8.
fn is_binary(content_type: Option<&str>, body: &[u8]) -> bool {
    if std::str::from_utf8(body).is_err() {
        return true;
    }
    let Some(ct) = content_type.map(str::to_ascii_lowercase) else {
        return false;
    };
    let textual = ct.starts_with("text/")
        || [
            "json",
            "xml",
            "javascript",
            "x-www-form-urlencoded",
            "yaml",
            "graphql",
            "csv",
        ]
        .iter()
        .any(|t| ct.contains(t));
    !textual
}

fn body_of(request: &HttpRequest<'_>) -> (Option<String>, bool) {
    if request.body.is_empty() {
        return (None, false);
    }
    if is_binary(request.header("content-type"), &request.body) {
        (Some(BASE64.encode(&request.body)), true)
    } else {
        (
            Some(String::from_utf8_lossy(&request.body).into_owned()),
            false,
        )
    }
}

fn string_map(entries: impl IntoIterator<Item = (String, String)>) -> Map<String, Value> {
    entries
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

/// Payload 2.0 headers (names lower-case, repeated headers joined by commas, `cookie`
/// left out) and the cookies.
fn headers_v2(request: &HttpRequest<'_>) -> (Map<String, Value>, Vec<String>) {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    for (name, value) in &request.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == hyper::header::COOKIE {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(String::from),
            );
            continue;
        }
        headers
            .entry(name.as_str().to_string())
            .and_modify(|v| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    (string_map(headers), cookies)
}

fn joined_query(request: &HttpRequest<'_>) -> Map<String, Value> {
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in &request.query {
        query
            .entry(k.clone())
            .and_modify(|e| {
                e.push(',');
                e.push_str(v);
            })
            .or_insert_with(|| v.clone());
    }
    string_map(query)
}

fn path_parameters(request: &HttpRequest<'_>) -> Map<String, Value> {
    string_map(request.path_params.iter().cloned())
}

fn stage_variables(request: &HttpRequest<'_>) -> Map<String, Value> {
    string_map(
        request
            .stage_variables()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// `requestContext.http` and the fields both payload 2.0 events (integration and
/// authorizer) share.
pub fn request_context_v2(request: &HttpRequest<'_>) -> Map<String, Value> {
    let mut context = Map::new();
    context.insert("accountId".into(), json!(request.account_id));
    context.insert("apiId".into(), json!(request.plan.api_id));
    if let Some(authorizer) = &request.authorizer {
        context.insert("authorizer".into(), authorizer.clone());
    }
    context.insert("domainName".into(), json!(request.domain_name));
    context.insert("domainPrefix".into(), json!(request.domain_prefix()));
    context.insert(
        "http".into(),
        json!({
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.header("user-agent").unwrap_or(""),
        }),
    );
    context.insert("requestId".into(), json!(request.request_id));
    context.insert("routeKey".into(), json!(request.route.route_key));
    context.insert("stage".into(), json!(request.plan.stage));
    context.insert(
        "time".into(),
        json!(crate::context::clf_time(request.received)),
    );
    context.insert("timeEpoch".into(), json!(request.epoch_millis()));
    context
}

/// The fields payload 2.0 events have, in AWS's order; empty collections are left out, as
/// AWS leaves them out.
pub fn event_v2(request: &HttpRequest<'_>) -> Map<String, Value> {
    let (headers, cookies) = headers_v2(request);
    let query = joined_query(request);
    let params = path_parameters(request);
    let variables = stage_variables(request);
    let mut event = Map::new();
    event.insert("version".into(), json!("2.0"));
    event.insert("routeKey".into(), json!(request.route.route_key));
    event.insert("rawPath".into(), json!(request.raw_path));
    event.insert(
        "rawQueryString".into(),
        json!(request.raw_query.as_deref().unwrap_or("")),
    );
    if !cookies.is_empty() {
        event.insert("cookies".into(), json!(cookies));
    }
    event.insert("headers".into(), Value::Object(headers));
    if !query.is_empty() {
        event.insert("queryStringParameters".into(), Value::Object(query));
    }
    event.insert(
        "requestContext".into(),
        Value::Object(request_context_v2(request)),
    );
    let (body, base64) = body_of(request);
    if let Some(body) = body {
        event.insert("body".into(), json!(body));
    }
    if !params.is_empty() {
        event.insert("pathParameters".into(), Value::Object(params));
    }
    event.insert("isBase64Encoded".into(), json!(base64));
    if !variables.is_empty() {
        event.insert("stageVariables".into(), Value::Object(variables));
    }
    event
}

fn object_or_null(map: Map<String, Value>) -> Value {
    if map.is_empty() {
        Value::Null
    } else {
        Value::Object(map)
    }
}

/// Payload 1.0: the REST proxy event's shape with `version: "1.0"`; `resource` is the route's
/// path (the request path for `$default`).
pub fn event_v1(request: &HttpRequest<'_>) -> Value {
    let mut headers = Map::new();
    let mut multi_headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &request.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers.insert(name.as_str().to_string(), json!(value));
        multi_headers
            .entry(name.as_str().to_string())
            .or_default()
            .push(value);
    }
    let mut query = Map::new();
    let mut multi_query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in &request.query {
        query.insert(k.clone(), json!(v));
        multi_query.entry(k.clone()).or_default().push(v.clone());
    }
    let multi = |m: BTreeMap<String, Vec<String>>| {
        object_or_null(m.into_iter().map(|(k, v)| (k, json!(v))).collect())
    };
    let resource = request
        .route
        .path
        .clone()
        .unwrap_or_else(|| request.raw_path.clone());
    let (body, base64) = body_of(request);
    let authorizer = match &request.authorizer {
        Some(Value::Object(a)) => match (a.get("jwt"), a.get("lambda")) {
            (Some(jwt), _) => json!({"claims": jwt.get("claims"), "scopes": jwt.get("scopes")}),
            (None, Some(lambda)) => lambda.clone(),
            _ => Value::Null,
        },
        _ => json!({"claims": null, "scopes": null}),
    };
    // An `AWS_IAM` caller shows in `identity`, as in REST proxy events.
    let iam = request
        .authorizer
        .as_ref()
        .and_then(|a| a.get("iam"))
        .unwrap_or(&Value::Null);
    json!({
        "version": "1.0",
        "resource": resource,
        "path": request.raw_path,
        "httpMethod": request.method,
        "headers": object_or_null(headers),
        "multiValueHeaders": multi(multi_headers),
        "queryStringParameters": object_or_null(query),
        "multiValueQueryStringParameters": multi(multi_query),
        "requestContext": {
            "accountId": request.account_id,
            "apiId": request.plan.api_id,
            "authorizer": authorizer,
            "domainName": request.domain_name,
            "domainPrefix": request.domain_prefix(),
            "extendedRequestId": request.request_id,
            "httpMethod": request.method,
            "identity": {
                "accessKey": iam.get("accessKey"),
                "accountId": iam.get("accountId"),
                "caller": iam.get("callerId"),
                "cognitoAuthenticationProvider": null,
                "cognitoAuthenticationType": null,
                "cognitoIdentityId": null,
                "cognitoIdentityPoolId": null,
                "principalOrgId": null,
                "sourceIp": request.source_ip,
                "user": iam.get("userId"),
                "userAgent": request.header("user-agent"),
                "userArn": iam.get("userArn")
            },
            "path": request.raw_path,
            "protocol": request.protocol,
            "requestId": request.request_id,
            "requestTime": crate::context::clf_time(request.received),
            "requestTimeEpoch": request.epoch_millis(),
            "resourceId": request.route.route_key,
            "resourcePath": resource,
            "stage": request.plan.stage
        },
        "pathParameters": object_or_null(path_parameters(request)),
        "stageVariables": object_or_null(stage_variables(request)),
        "body": body,
        "isBase64Encoded": base64
    })
}

fn header_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// A payload 2.0 result as a response. A JSON object with `statusCode` is a response
/// (`headers`, `cookies`, `body`, `isBase64Encoded`); anything else that is JSON is a 200 whose
/// body is the result itself. `None` when the result cannot be a response.
pub fn response_v2(payload: &[u8]) -> Option<Response<Full<Bytes>>> {
    let value: Value = serde_json::from_slice(payload).ok()?;
    let object = match value.as_object() {
        Some(o) if o.contains_key("statusCode") => o,
        _ => {
            // A bare string is the body as it is; other values are their JSON.
            let body = match &value {
                Value::String(s) => Bytes::from(s.clone()),
                _ => Bytes::copy_from_slice(payload),
            };
            let mut response = Response::new(Full::new(body));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            return Some(response);
        }
    };
    let status = match object.get("statusCode")? {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    let status = StatusCode::from_u16(u16::try_from(status).ok()?).ok()?;
    let base64 = matches!(object.get("isBase64Encoded"), Some(Value::Bool(true)));
    let body = match object.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) if base64 => Bytes::from(BASE64.decode(s).ok()?),
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(other) => Bytes::from(other.to_string()),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Some(map) = object.get("headers").and_then(Value::as_object) {
        for (name, v) in map {
            let Some(text) = header_text(v) else { continue };
            headers.insert(
                HeaderName::try_from(name.as_str()).ok()?,
                HeaderValue::from_str(&text).ok()?,
            );
        }
    }
    if let Some(cookies) = object.get("cookies").and_then(Value::as_array) {
        for cookie in cookies.iter().filter_map(Value::as_str) {
            headers.append(SET_COOKIE, HeaderValue::from_str(cookie).ok()?);
        }
    }
    if !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: Response<Full<Bytes>>) -> (u16, String, hyper::HeaderMap) {
        use http_body_util::BodyExt;
        let status = r.status().as_u16();
        let (parts, b) = r.into_parts();
        let bytes = futures_lite_block(b.collect()).unwrap().to_bytes();
        (
            status,
            String::from_utf8_lossy(&bytes).into_owned(),
            parts.headers,
        )
    }

    fn futures_lite_block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn results_without_status_code_are_inferred() {
        let (status, text, headers) = body(response_v2(br#"{"a": 1}"#).unwrap());
        assert_eq!((status, text.as_str()), (200, r#"{"a": 1}"#));
        assert_eq!(headers["content-type"], "application/json");
        let (_, text, _) = body(response_v2(br#""hello""#).unwrap());
        assert_eq!(text, "hello");
        let (status, _, _) = body(response_v2(b"[1, 2]").unwrap());
        assert_eq!(status, 200);
        assert!(response_v2(b"not json").is_none());
    }

    #[test]
    fn full_results_carry_status_headers_and_cookies() {
        let (status, text, headers) = body(
            response_v2(
                br#"{"statusCode": 201, "headers": {"x-a": "1", "content-type": "text/plain"}, "cookies": ["a=1", "b=2; Secure"], "body": "aGk=", "isBase64Encoded": true}"#,
            )
            .unwrap(),
        );
        assert_eq!((status, text.as_str()), (201, "hi"));
        assert_eq!(headers["x-a"], "1");
        assert_eq!(headers["content-type"], "text/plain");
        assert_eq!(headers.get_all("set-cookie").iter().count(), 2);
        assert!(response_v2(br#"{"statusCode": "nope"}"#).is_none());
    }

    #[test]
    fn binary_bodies_are_told_from_text() {
        assert!(!is_binary(None, b"hi"));
        assert!(!is_binary(Some("application/json; charset=utf-8"), b"{}"));
        assert!(is_binary(Some("image/png"), b"png"));
        assert!(is_binary(None, &[0xff, 0xfe]));
    }
}
