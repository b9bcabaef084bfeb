//! How HTTP APIs answer errors: a status and `{"message": ...}`, with the texts HTTP APIs use
//! (they differ from REST APIs': `Not Found` rather than `Missing Authentication Token`,
//! `Internal Server Error` with capitals).

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper::header::HeaderValue;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpApiError {
    /// No stage or route matches.
    #[error("Not Found")]
    NotFound,
    #[error("Unauthorized")]
    Unauthorized,
    #[error("Forbidden")]
    Forbidden,
    /// An `AWS_IAM` caller refused: a bad signature, an unknown key, or no policy allowing it.
    #[error("{0}")]
    Denied(String),
    #[error("Too Many Requests")]
    Throttled,
    #[error("Request Entity Too Large")]
    RequestTooLarge,
    #[error("Bad Request")]
    BadRequest(String),
    /// The integration did not answer within its timeout.
    #[error("Service Unavailable")]
    Timeout,
    /// The integration failed, answered something unreadable, or the route is misconfigured;
    /// the cause is logged.
    #[error("Internal Server Error")]
    Internal(String),
}

impl HttpApiError {
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::Unauthorized => 401,
            Self::Forbidden | Self::Denied(_) => 403,
            Self::Throttled => 429,
            Self::RequestTooLarge => 413,
            Self::BadRequest(_) => 400,
            Self::Timeout => 503,
            Self::Internal(_) => 500,
        }
    }

    /// The cause worth logging.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::Internal(d) | Self::BadRequest(d) => Some(d),
            _ => None,
        }
    }

    pub fn into_response(self) -> Response<Full<Bytes>> {
        let message = serde_json::Value::String(self.to_string()).to_string();
        let mut response = crate::error::message_response(self.status(), &message);
        if self == Self::Unauthorized {
            response
                .headers_mut()
                .insert("www-authenticate", HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_http_apis_write_them() {
        let r = HttpApiError::NotFound.into_response();
        assert_eq!(r.status(), 404);
        assert_eq!(
            HttpApiError::Internal("x".into()).to_string(),
            "Internal Server Error"
        );
        assert_eq!(HttpApiError::Timeout.status(), 503);
        assert_eq!(HttpApiError::Timeout.to_string(), "Service Unavailable");
    }
}
