//! The `@connections` API (`apigatewaymanagementapi`): `POST` sends data to a connection,
//! `GET` describes it, `DELETE` closes it, at `/{stage}/@connections/{connectionId}`. A
//! connection that is closed (or never was) answers `410 GoneException`. Once credentials
//! exist (as for the management API), every request must be SigV4-signed (`execute-api`, this
//! region) with a known key; the signature is the whole check (no identity policy is read).

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;
use tollgate_shared::DeliveryError;

use super::Runtime;
use super::connection::MAX_MESSAGE_BYTES;

/// The connection id of an `@connections` path (`/@connections/{id}`, the `@` possibly
/// percent-encoded, the id too), below the stage segment or after it.
pub fn connection_id_of(path: &str) -> Option<&str> {
    let rest = path
        .strip_prefix("/@connections/")
        .or_else(|| path.strip_prefix("/%40connections/"))?;
    (!rest.is_empty() && !rest.contains('/')).then_some(rest)
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response<Full<Bytes>> {
    let body = json!({ "message": message }).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(kind) {
        headers.insert("x-amzn-errortype", v);
    }
    response
}

fn gone() -> Response<Full<Bytes>> {
    error(StatusCode::GONE, "GoneException", "")
}

fn iso8601_millis(millis: u64) -> String {
    let seconds = tollgate_model::format_iso8601((millis / 1000) as i64);
    format!("{}.{:03}Z", seconds.trim_end_matches('Z'), millis % 1000)
}

fn empty(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// Serves one `@connections` request for connection `raw_id` (as it appears in the path).
pub async fn callback<B>(
    runtime: &Runtime,
    request: Request<B>,
    raw_id: &str,
) -> Response<Full<Bytes>>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    // The body is read before the signature is checked: its hash is part of what is signed.
    let body = match Limited::new(body, MAX_MESSAGE_BYTES).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PayloadTooLargeException",
                "Message too long",
            );
        }
    };
    if !runtime.credentials.is_empty()
        && let Err(e) = crate::auth::iam::verify(
            &crate::auth::iam::SignedRequest {
                method: parts.method.as_str(),
                path: parts.uri.path(),
                query: parts.uri.query().unwrap_or(""),
                headers: &parts.headers,
                body: &body,
            },
            &*runtime.credentials,
            &runtime.region,
        )
    {
        return error(StatusCode::FORBIDDEN, e.error_type(), &e.to_string());
    }
    let id = percent_encoding::percent_decode_str(raw_id).decode_utf8_lossy();
    let connections = runtime.shared.connections();
    match parts.method {
        Method::POST => match connections.post(&id, body.to_vec(), false) {
            Ok(()) => empty(StatusCode::OK),
            Err(DeliveryError::Gone) => gone(),
            Err(DeliveryError::Full) => error(
                StatusCode::TOO_MANY_REQUESTS,
                "LimitExceededException",
                "The connection's outgoing buffer is full",
            ),
        },
        Method::GET => match connections.info(&id) {
            Some(info) => {
                let body = json!({
                    "connectedAt": iso8601_millis(info.connected_at),
                    "identity": {"sourceIp": info.source_ip, "userAgent": info.user_agent},
                    "lastActiveAt": iso8601_millis(info.last_active_at),
                });
                let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
                response
                    .headers_mut()
                    .insert("content-type", HeaderValue::from_static("application/json"));
                response
            }
            None => gone(),
        },
        Method::DELETE => {
            if connections.disconnect(&id) {
                empty(StatusCode::NO_CONTENT)
            } else {
                gone()
            }
        }
        _ => error(
            StatusCode::FORBIDDEN,
            "ForbiddenException",
            "Missing Authentication Token",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_paths() {
        assert_eq!(connection_id_of("/@connections/abc%3D"), Some("abc%3D"));
        assert_eq!(connection_id_of("/%40connections/abc="), Some("abc="));
        assert_eq!(connection_id_of("/@connections/"), None);
        assert_eq!(connection_id_of("/@connections/a/b"), None);
        assert_eq!(connection_id_of("/pets"), None);
    }

    #[test]
    fn timestamps_carry_milliseconds() {
        assert_eq!(
            iso8601_millis(1_704_067_261_005),
            "2024-01-01T00:01:01.005Z"
        );
    }
}
