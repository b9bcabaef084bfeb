//! The locked management API: once credentials exist, every management request must carry a
//! valid SigV4 signature (signing names `apigateway`, `lambda` and `execute-api`, the
//! configured region); until then only loopback clients are served. The dev routes
//! (`/_tollgate/...`) answer loopback clients only, signed or not.
//!
//! The client's address comes from the `ConnectInfo<SocketAddr>` request extension; a
//! request without one counts as remote.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tollgate_iam::CredentialsLookup;
use tollgate_iam::sigv4::{self, Expectations};

use crate::error::AdminError;

/// The signing names of the services the management API speaks (from the service models).
pub const SIGNING_NAMES: &[&str] = &["apigateway", "lambda", "execute-api"];

/// The largest body a signed request may have (the hash needs all of it): above the
/// largest function zip a `CreateFunction` carries, base64-encoded.
const MAX_SIGNED_BODY_BYTES: usize = 80 * 1024 * 1024;

/// The credentials the management API verifies against.
pub type Credentials = Arc<dyn CredentialsLookup + Send + Sync>;

struct Lock {
    credentials: Credentials,
    region: String,
}

/// `router` with the lock in front of every route.
pub fn lock(router: Router, credentials: Credentials, region: &str) -> Router {
    let lock = Arc::new(Lock {
        credentials,
        region: region.to_string(),
    });
    router.layer(axum::middleware::from_fn_with_state(lock, check))
}

/// Whether an address is this machine's (IPv4 loopback seen through IPv6 included).
pub fn is_loopback(address: std::net::IpAddr) -> bool {
    match address {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(v6.is_loopback(), |v4| v4.is_loopback()),
        v4 => v4.is_loopback(),
    }
}

async fn check(State(lock): State<Arc<Lock>>, request: Request, next: Next) -> Response {
    let loopback = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| is_loopback(c.0.ip()));
    if request.uri().path().starts_with("/_tollgate/") {
        return if loopback {
            next.run(request).await
        } else {
            AdminError::AccessDenied("This route answers loopback clients only.".into())
                .into_response()
        };
    }
    if lock.credentials.is_empty() {
        return if loopback {
            next.run(request).await
        } else {
            AdminError::AccessDenied(
                "The management API answers loopback clients only until credentials are configured (tollgate credentials create)."
                    .into(),
            )
            .into_response()
        };
    }
    let (mut parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_SIGNED_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return AdminError::PayloadTooLarge(format!(
                "Request body is larger than the {MAX_SIGNED_BODY_BYTES} bytes allowed"
            ))
            .into_response();
        }
    };
    let verified = sigv4::verify(
        &sigv4::Request::from_parts(&parts),
        &sigv4::sha256_hex(&body),
        &*lock.credentials,
        &Expectations::new(SIGNING_NAMES, Some(&lock.region)),
    );
    match verified {
        Ok(verified) => {
            tracing::debug!(user = %verified.principal.arn, "signed management request");
            parts.extensions.insert(verified);
            next.run(Request::from_parts(parts, axum::body::Body::from(body)))
                .await
        }
        Err(e) => {
            tracing::info!(error = e.error_type(), path = %parts.uri.path(), "management request refused");
            AdminError::from(e).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::routing::{get, post};
    use tollgate_iam::Principal;
    use tower::ServiceExt;

    fn app(keys: Vec<Arc<Principal>>) -> Router {
        let router = Router::new()
            .route(
                "/restapis",
                post(|body: axum::body::Bytes| async move { body }),
            )
            .route("/_tollgate/reset", get(|| async { "reset" }));
        lock(router, Arc::new(keys), "us-east-1")
    }

    fn keys() -> Vec<Arc<Principal>> {
        vec![Arc::new(Principal::user(
            "AKIDEXAMPLE",
            "secret",
            "123456789012",
            "alice",
        ))]
    }

    fn request(from: &str, secret: Option<&str>, region: &str, body: &str) -> Request {
        let mut builder = axum::http::Request::post("/restapis").header("host", "localhost:4566");
        if let Some(secret) = secret {
            let signed = sigv4::sign(
                &sigv4::Signable {
                    method: "POST",
                    path: "/restapis",
                    query: "",
                    headers: &[("host", "localhost:4566")],
                    payload: body.as_bytes(),
                },
                &sigv4::SigningParams {
                    access_key_id: "AKIDEXAMPLE",
                    secret_access_key: secret,
                    session_token: None,
                    region,
                    service: "apigateway",
                    time: std::time::SystemTime::now(),
                },
            );
            for (name, value) in signed {
                builder = builder.header(name, value);
            }
        }
        let mut request = builder.body(Body::from(body.to_string())).unwrap();
        let address: SocketAddr = format!("{from}:50000").parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(address));
        request
    }

    async fn send(app: Router, request: Request) -> (StatusCode, String, String) {
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let kind = response
            .headers()
            .get("x-amzn-errortype")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, kind, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn without_credentials_only_loopback_is_served() {
        let (status, _, _) = send(
            app(Vec::new()),
            request("127.0.0.1", None, "us-east-1", "x"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, kind, _) = send(
            app(Vec::new()),
            request("192.0.2.1", None, "us-east-1", "x"),
        )
        .await;
        assert_eq!(
            (status, kind.as_str()),
            (StatusCode::FORBIDDEN, "AccessDeniedException")
        );
    }

    #[tokio::test]
    async fn with_credentials_every_request_is_verified() {
        // Signed: served, with the body intact.
        let (status, _, body) = send(
            app(keys()),
            request("192.0.2.1", Some("secret"), "us-east-1", "{\"a\":1}"),
        )
        .await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "{\"a\":1}"));
        let (status, kind, _) =
            send(app(keys()), request("127.0.0.1", None, "us-east-1", "")).await;
        assert_eq!(
            (status, kind.as_str()),
            (StatusCode::FORBIDDEN, "MissingAuthenticationTokenException")
        );
        let (status, kind, body) = send(
            app(keys()),
            request("127.0.0.1", Some("wrong"), "us-east-1", ""),
        )
        .await;
        assert_eq!(
            (status, kind.as_str()),
            (StatusCode::FORBIDDEN, "InvalidSignatureException")
        );
        assert!(
            body.contains("The request signature we calculated does not match"),
            "{body}"
        );
        let (_, kind, body) = send(
            app(keys()),
            request("127.0.0.1", Some("secret"), "eu-west-1", ""),
        )
        .await;
        assert_eq!(kind, "InvalidSignatureException");
        assert!(
            body.contains("Credential should be scoped to a valid region"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn dev_routes_answer_loopback_only() {
        let get = |from: &str| {
            let mut request = axum::http::Request::get("/_tollgate/reset")
                .body(Body::empty())
                .unwrap();
            request.extensions_mut().insert(ConnectInfo(
                format!("{from}:1").parse::<SocketAddr>().unwrap(),
            ));
            request
        };
        assert_eq!(send(app(keys()), get("127.0.0.1")).await.0, StatusCode::OK);
        assert_eq!(send(app(keys()), get("[::1]")).await.0, StatusCode::OK);
        assert_eq!(
            send(app(keys()), get("192.0.2.1")).await.0,
            StatusCode::FORBIDDEN
        );
        // Without ConnectInfo, a request counts as remote.
        let bare = axum::http::Request::get("/_tollgate/reset")
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(app(keys()), bare).await.0, StatusCode::FORBIDDEN);
    }
}
