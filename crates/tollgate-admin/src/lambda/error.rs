//! The `lambda` service's errors and their wire shape: the status, `x-amzn-ErrorType: <Code>`
//! (from which botocore takes the code) and `{"Type": "User", "message": "..."}`, with the
//! member casing each error shape of the service model uses (`Message` for
//! `ResourceNotFoundException` and `ServiceException`, `message` for the others).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tollgate_model::ModelError;

use crate::error::AdminError;

#[derive(Debug, thiserror::Error)]
pub enum LambdaError {
    /// `ResourceNotFoundException` (404).
    #[error("{0}")]
    NotFound(String),
    /// `ResourceConflictException` (409).
    #[error("{0}")]
    Conflict(String),
    /// `InvalidParameterValueException` (400).
    #[error("{0}")]
    InvalidParameter(String),
    /// `ValidationException` (400): a value outside the model's constraints.
    #[error("{0}")]
    Validation(String),
    /// `InvalidRequestContentException` (400): a body that is not JSON.
    #[error("{0}")]
    InvalidRequestContent(String),
    /// `PreconditionFailedException` (412): a `RevisionId` that is not the current one.
    #[error("{0}")]
    PreconditionFailed(String),
    /// `TooManyRequestsException` (429) with its `Reason`.
    #[error("Rate Exceeded.")]
    TooManyRequests { reason: &'static str },
    /// `RequestTooLargeException` (413).
    #[error("{0}")]
    RequestTooLarge(String),
    /// `ServiceException` (500).
    #[error("{0}")]
    Service(String),
    /// The store refused a batch because someone wrote first; handlers retry these.
    #[error(
        "The operation cannot be performed at this time. An update is in progress for resource."
    )]
    ConcurrentModification,
}

pub type LambdaResult<T> = Result<T, LambdaError>;

impl LambdaError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidParameter(message.into())
    }

    fn code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "ResourceNotFoundException"),
            Self::Conflict(_) | Self::ConcurrentModification => {
                (StatusCode::CONFLICT, "ResourceConflictException")
            }
            Self::InvalidParameter(_) => {
                (StatusCode::BAD_REQUEST, "InvalidParameterValueException")
            }
            Self::Validation(_) => (StatusCode::BAD_REQUEST, "ValidationException"),
            Self::InvalidRequestContent(_) => {
                (StatusCode::BAD_REQUEST, "InvalidRequestContentException")
            }
            Self::PreconditionFailed(_) => (
                StatusCode::PRECONDITION_FAILED,
                "PreconditionFailedException",
            ),
            Self::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException")
            }
            Self::RequestTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "RequestTooLargeException"),
            Self::Service(_) => (StatusCode::INTERNAL_SERVER_ERROR, "ServiceException"),
        }
    }
}

impl From<ModelError> for LambdaError {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::Validation(m) => Self::Validation(m),
            ModelError::NotFound(m) => Self::NotFound(m),
            other => Self::InvalidParameter(other.to_string()),
        }
    }
}

impl From<AdminError> for LambdaError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::ConcurrentModification => Self::ConcurrentModification,
            AdminError::NotFound(m) => Self::NotFound(m),
            AdminError::Conflict(m) => Self::Conflict(m),
            AdminError::Validation(m) => Self::Validation(m),
            AdminError::PayloadTooLarge(m) => Self::RequestTooLarge(m),
            AdminError::BadRequest(m) => Self::InvalidParameter(m),
            AdminError::UnknownOperation(m) | AdminError::Unavailable(m) => Self::Service(m),
            // The lock answers these itself, before any handler runs.
            other @ (AdminError::Unauthenticated(_) | AdminError::AccessDenied(_)) => {
                Self::Service(other.to_string())
            }
        }
    }
}

impl From<tollgate_store::StoreError> for LambdaError {
    fn from(e: tollgate_store::StoreError) -> Self {
        AdminError::from(e).into()
    }
}

impl IntoResponse for LambdaError {
    fn into_response(self) -> Response {
        let (status, code) = self.code();
        let message = self.to_string();
        let body = match &self {
            Self::NotFound(_) => json!({ "Type": "User", "Message": message }),
            Self::Service(_) => json!({ "Type": "Service", "Message": message }),
            Self::TooManyRequests { reason } => {
                json!({ "Type": "User", "message": message, "Reason": reason })
            }
            _ => json!({ "Type": "User", "message": message }),
        };
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("x-amzn-errortype", HeaderValue::from_static(code));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_lambda_codes_and_bodies() {
        let response = LambdaError::TooManyRequests {
            reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            response.headers()["x-amzn-errortype"],
            "TooManyRequestsException"
        );
        let response = LambdaError::NotFound("Function not found: x".into()).into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()["x-amzn-errortype"],
            "ResourceNotFoundException"
        );
    }
}
