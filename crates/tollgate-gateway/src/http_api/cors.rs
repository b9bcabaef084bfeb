//! CORS for HTTP APIs: the gateway answers preflight requests itself from the API's
//! `CorsConfiguration` (whether or not an `OPTIONS` route exists), and sets the CORS headers
//! of every other response, replacing whatever the backend sent.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::HeaderValue;
use hyper::{HeaderMap, Method, Response, StatusCode};
use tollgate_plan::http_api::CorsPlan;

/// Whether a request is a CORS preflight.
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key("origin")
        && headers.contains_key("access-control-request-method")
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// The answer to a preflight: 204, with the allowed origin, methods, headers and max age
/// when the origin is allowed, and no CORS headers when it is not.
pub fn preflight(cors: &CorsPlan, request_headers: &HeaderMap) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let origin = request_headers
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(allowed) = cors.allowed_origin(origin) else {
        return response;
    };
    let requested_method = request_headers
        .get("access-control-request-method")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_uppercase();
    let method_ok = cors
        .allow_methods
        .iter()
        .any(|m| m == "*" || *m == requested_method);
    if !method_ok {
        return response;
    }
    let headers = response.headers_mut();
    set(headers, "access-control-allow-origin", &allowed);
    set(
        headers,
        "access-control-allow-methods",
        &cors.allow_methods.join(","),
    );
    let requested_headers = request_headers
        .get("access-control-request-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if cors.allow_headers.iter().any(|h| h == "*") {
        if !requested_headers.is_empty() {
            set(headers, "access-control-allow-headers", requested_headers);
        }
    } else if !cors.allow_headers.is_empty() {
        set(
            headers,
            "access-control-allow-headers",
            &cors.allow_headers.join(","),
        );
    }
    if let Some(age) = cors.max_age.filter(|a| *a >= 0) {
        set(headers, "access-control-max-age", &age.to_string());
    }
    if cors.allow_credentials {
        set(headers, "access-control-allow-credentials", "true");
    }
    if allowed != "*" {
        headers.append("vary", HeaderValue::from_static("Origin"));
    }
    response
}

/// Sets the CORS headers of a response to a request from `origin`.
pub fn decorate(cors: &CorsPlan, origin: Option<&str>, headers: &mut HeaderMap) {
    let names: Vec<_> = headers
        .keys()
        .filter(|n| n.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
    let Some(allowed) = origin.and_then(|o| cors.allowed_origin(o)) else {
        return;
    };
    set(headers, "access-control-allow-origin", &allowed);
    if cors.allow_credentials {
        set(headers, "access-control-allow-credentials", "true");
    }
    if !cors.expose_headers.is_empty() {
        set(
            headers,
            "access-control-expose-headers",
            &cors.expose_headers.join(","),
        );
    }
    if allowed != "*" {
        headers.append("vary", HeaderValue::from_static("Origin"));
    }
}
