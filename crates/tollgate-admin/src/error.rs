//! The management API's errors, and the one place they become AWS's wire shape:
//! the status code, `x-amzn-ErrorType: <Code>` and `{"message": "..."}`, from which botocore
//! raises `NotFoundException`, `ConflictException`, ... as it does against AWS.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tollgate_model::ModelError;
use tollgate_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    BadRequest(String),
    /// A value outside the service model's constraints.
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnknownOperation(String),
    /// The store refused a batch because someone wrote first; the handler retries these.
    #[error("Unable to complete operation due to concurrent modification. Please try again later.")]
    ConcurrentModification,
    #[error("{0}")]
    Unavailable(String),
    /// A request the locked management API refused: no, a bad or an expired signature.
    #[error("{0}")]
    Unauthenticated(#[from] tollgate_iam::sigv4::SigV4Error),
    /// A request from an address that may not use this route.
    #[error("{0}")]
    AccessDenied(String),
}

impl AdminError {
    fn code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "BadRequestException"),
            Self::Validation(_) => (StatusCode::BAD_REQUEST, "ValidationException"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "NotFoundException"),
            Self::Conflict(_) | Self::ConcurrentModification => {
                (StatusCode::CONFLICT, "ConflictException")
            }
            Self::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLargeException",
            ),
            Self::UnknownOperation(_) => (StatusCode::NOT_FOUND, "UnknownOperationException"),
            Self::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailableException",
            ),
            Self::Unauthenticated(e) => (StatusCode::FORBIDDEN, e.error_type()),
            Self::AccessDenied(_) => (StatusCode::FORBIDDEN, "AccessDeniedException"),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }
}

impl From<ModelError> for AdminError {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::Validation(m) => Self::Validation(m),
            ModelError::NotFound(m) => Self::NotFound(m),
            other => Self::BadRequest(other.to_string()),
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { .. } => Self::ConcurrentModification,
            StoreError::Unavailable(m) => {
                tracing::error!(error = %m, "store unavailable");
                Self::Unavailable("Service is unavailable. Please try again later.".into())
            }
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, code) = self.code();
        let body = serde_json::json!({ "message": self.to_string() }).to_string();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("x-amzn-errortype", HeaderValue::from_static(code));
        if matches!(self, Self::Unavailable(_)) {
            headers.insert("retry-after", HeaderValue::from_static("1"));
        }
        response
    }
}

pub type AdminResult<T> = Result<T, AdminError>;
