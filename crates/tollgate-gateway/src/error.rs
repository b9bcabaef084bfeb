//! Errors of the data plane, and the one place they become API Gateway's responses: a status,
//! `{"message": ...}` and, where AWS sends one, `x-amzn-ErrorType`.

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper::header::{CONTENT_TYPE, HeaderValue};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// No resource or method matches (what AWS answers for an unknown route).
    #[error("Missing Authentication Token")]
    MissingAuthenticationToken,
    /// The API exists but has no such stage.
    #[error("Forbidden")]
    Forbidden,
    /// No API has this id (LocalStack's wording; AWS would not resolve the host).
    #[error("The API id '{0}' does not correspond to a deployed API Gateway API")]
    UnknownApi(String),
    #[error("Request Too Long")]
    RequestTooLarge,
    /// The client did not send its body in time.
    #[error("Request Timeout")]
    RequestTimeout,
    #[error("Request-URI Too Long")]
    UriTooLong,
    #[error("Unsupported Media Type")]
    UnsupportedMediaType,
    #[error("{0}")]
    BadRequest(String),
    /// Required parameters are missing (request validation).
    #[error("Missing required request parameters: [{}]", .0.join(", "))]
    MissingParameters(Vec<String>),
    /// The body does not match the method's model (request validation); the detail is
    /// `$context.error.validationErrorString`.
    #[error("Invalid request body")]
    InvalidBody(String),
    /// The backend did not answer within `timeoutInMillis`.
    #[error("Endpoint request timed out")]
    IntegrationTimeout,
    /// The backend could not be reached or answered garbage; AWS logs the cause and answers a
    /// plain 500.
    #[error("Internal server error")]
    IntegrationFailure(String),
    /// The function (or the account's limits) refused the invocation.
    #[error("Too Many Requests")]
    Throttled(String),
    /// A throttle (usage plan, stage, method or account) refused the request.
    #[error("Too Many Requests")]
    RateExceeded,
    /// The API key's quota for the period is used up.
    #[error("Limit Exceeded")]
    QuotaExceeded,
    /// A missing, unknown or disabled API key, or one whose plan does not cover the stage.
    #[error("Forbidden")]
    InvalidApiKey,
    /// The authorizer found no identity, or refused it.
    #[error("Unauthorized")]
    Unauthorized,
    /// The authorizer's policy does not allow the method.
    #[error("{}", if *.explicit { "User is not authorized to access this resource with an explicit deny" } else { "User is not authorized to access this resource" })]
    AccessDenied { explicit: bool },
    /// An `AWS_IAM` method's SigV4 signature is missing, malformed, wrong, expired, or made
    /// with an unknown key.
    #[error("{0}")]
    Signature(tollgate_iam::sigv4::SigV4Error),
    /// The caller's identity policies (or the resource policy) do not allow
    /// `execute-api:Invoke` on the method: "User: {arn} is not authorized to perform ...".
    #[error("{0}")]
    IamDenied(String),
    /// The authorizer could not be run or answered something unusable; AWS answers
    /// `{"message": null}`.
    #[error("null")]
    AuthorizerConfiguration(String),
    /// The function failed or answered something that is not a proxy response.
    #[error("Internal server error")]
    BadGateway(String),
    /// A configuration the gateway cannot run (no matching integration response, a template
    /// that fails, an integration type not supported yet).
    #[error("Internal server error")]
    Internal(String),
}

impl From<tollgate_plan::ValidationFailure> for GatewayError {
    fn from(failure: tollgate_plan::ValidationFailure) -> Self {
        match failure {
            tollgate_plan::ValidationFailure::MissingParameters(names) => {
                Self::MissingParameters(names)
            }
            tollgate_plan::ValidationFailure::InvalidBody(detail) => Self::InvalidBody(detail),
        }
    }
}

impl GatewayError {
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingAuthenticationToken
            | Self::Forbidden
            | Self::InvalidApiKey
            | Self::AccessDenied { .. }
            | Self::IamDenied(_) => 403,
            Self::Signature(e) => e.status(),
            Self::Unauthorized => 401,
            Self::RateExceeded | Self::QuotaExceeded => 429,
            Self::AuthorizerConfiguration(_) => 500,
            Self::UnknownApi(_) => 404,
            Self::RequestTooLarge => 413,
            Self::RequestTimeout => 408,
            Self::UriTooLong => 414,
            Self::UnsupportedMediaType => 415,
            Self::BadRequest(_) | Self::MissingParameters(_) | Self::InvalidBody(_) => 400,
            Self::IntegrationTimeout => 504,
            Self::IntegrationFailure(_) | Self::Internal(_) => 500,
            Self::Throttled(_) => 429,
            Self::BadGateway(_) => 502,
        }
    }

    fn error_type(&self) -> Option<&'static str> {
        match self {
            Self::MissingAuthenticationToken => Some("MissingAuthenticationTokenException"),
            Self::Forbidden | Self::InvalidApiKey => Some("ForbiddenException"),
            Self::Unauthorized => Some("UnauthorizedException"),
            Self::AccessDenied { .. } | Self::IamDenied(_) => Some("AccessDeniedException"),
            Self::Signature(e) => Some(e.error_type()),
            Self::RateExceeded => Some("TooManyRequestsException"),
            Self::QuotaExceeded => Some("LimitExceededException"),
            Self::AuthorizerConfiguration(_) => Some("AuthorizerConfigurationException"),
            Self::UnknownApi(_) => Some("NotFoundException"),
            Self::BadRequest(_) | Self::MissingParameters(_) | Self::InvalidBody(_) => {
                Some("BadRequestException")
            }
            Self::IntegrationFailure(_) | Self::Internal(_) | Self::BadGateway(_) => {
                Some("InternalServerErrorException")
            }
            Self::Throttled(_) => Some("TooManyRequestsException"),
            _ => None,
        }
    }

    /// The gateway response type that answers this error, when the API can customize it.
    pub fn response_type(&self) -> &'static str {
        match self {
            Self::MissingAuthenticationToken => "MISSING_AUTHENTICATION_TOKEN",
            Self::MissingParameters(_) => "BAD_REQUEST_PARAMETERS",
            Self::InvalidBody(_) => "BAD_REQUEST_BODY",
            Self::RequestTooLarge => "REQUEST_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::IntegrationTimeout => "INTEGRATION_TIMEOUT",
            Self::Internal(_) => "API_CONFIGURATION_ERROR",
            Self::IntegrationFailure(_) | Self::BadGateway(_) => "DEFAULT_5XX",
            Self::Throttled(_) | Self::RateExceeded => "THROTTLED",
            Self::QuotaExceeded => "QUOTA_EXCEEDED",
            Self::InvalidApiKey => "INVALID_API_KEY",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::AccessDenied { .. } | Self::IamDenied(_) => "ACCESS_DENIED",
            Self::Signature(e) => e.gateway_response_type(),
            Self::AuthorizerConfiguration(_) => "AUTHORIZER_CONFIGURATION_ERROR",
            Self::Forbidden
            | Self::UnknownApi(_)
            | Self::RequestTimeout
            | Self::UriTooLong
            | Self::BadRequest(_) => "DEFAULT_4XX",
        }
    }

    /// `$context.error.messageString`: the message as a JSON string, or `null` where AWS sends
    /// no message.
    pub fn message_string(&self) -> String {
        match self {
            Self::AuthorizerConfiguration(_) => "null".into(),
            _ => serde_json::Value::String(self.to_string()).to_string(),
        }
    }

    pub fn error_type_header(&self) -> Option<&'static str> {
        self.error_type()
    }

    /// `$context.error.validationErrorString`.
    pub fn validation_error(&self) -> String {
        match self {
            Self::InvalidBody(detail) => detail.clone(),
            Self::MissingParameters(_) => self.to_string(),
            _ => String::new(),
        }
    }

    /// The cause worth logging, beyond the client-facing message.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::IntegrationFailure(d)
            | Self::Internal(d)
            | Self::BadGateway(d)
            | Self::Throttled(d)
            | Self::AuthorizerConfiguration(d) => Some(d),
            _ => None,
        }
    }

    pub fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = message_response(self.status(), &self.message_string());
        let headers = response.headers_mut();
        if let Some(kind) = self.error_type() {
            headers.insert("x-amzn-errortype", HeaderValue::from_static(kind));
        }
        response
    }
}

/// `{"message": ...}` with a status, `message` already JSON (a string, or `null`): how the
/// data plane answers errors.
pub(crate) fn message_response(status: u16, message: &str) -> Response<Full<Bytes>> {
    let body = format!("{{\"message\":{message}}}");
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
