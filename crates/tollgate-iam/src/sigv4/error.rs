//! Why a signature was refused, with the status, error type and message AWS answers.

/// A refused request. [`SigV4Error::status`], [`SigV4Error::error_type`] and the `Display`
/// text are what AWS sends: `403`, `x-amzn-ErrorType: <type>` and `{"message": "<text>"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// Neither an `Authorization` header nor presigned query parameters.
    #[error("Missing Authentication Token")]
    MissingAuthentication,
    /// An `Authorization` header or presigned query that lacks parts or is malformed.
    #[error("{0}")]
    Incomplete(String),
    /// The access key id (or its session token) is not known.
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,
    /// The signature does not match the one computed with the stored secret.
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'{canonical_request}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n"
    )]
    SignatureMismatch {
        canonical_request: String,
        string_to_sign: String,
    },
    /// Signed more than five minutes ago (or past `X-Amz-Expires`).
    #[error("Signature expired: {signed} is now earlier than {limit} ({now} - {window}.)")]
    Expired {
        signed: String,
        limit: String,
        now: String,
        window: String,
    },
    /// Signed more than five minutes in the future.
    #[error("Signature not yet current: {signed} is still later than {limit} ({now} + 5 min.)")]
    NotYetCurrent {
        signed: String,
        limit: String,
        now: String,
    },
    /// The credential scope names another region, service or date, or no valid terminator.
    #[error("{0}")]
    BadScope(String),
}

impl SigV4Error {
    /// The HTTP status: 403 for all, as AWS answers.
    pub fn status(&self) -> u16 {
        403
    }

    /// The `x-amzn-ErrorType` (and botocore's error code).
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::MissingAuthentication => "MissingAuthenticationTokenException",
            Self::Incomplete(_) => "IncompleteSignatureException",
            Self::UnrecognizedClient => "UnrecognizedClientException",
            Self::SignatureMismatch { .. }
            | Self::Expired { .. }
            | Self::NotYetCurrent { .. }
            | Self::BadScope(_) => "InvalidSignatureException",
        }
    }

    /// The data plane's gateway response type for this error: `MISSING_AUTHENTICATION_TOKEN`
    /// without a signature, `INVALID_SIGNATURE` (403) for every other refusal.
    pub fn gateway_response_type(&self) -> &'static str {
        match self {
            Self::MissingAuthentication => "MISSING_AUTHENTICATION_TOKEN",
            _ => "INVALID_SIGNATURE",
        }
    }
}
