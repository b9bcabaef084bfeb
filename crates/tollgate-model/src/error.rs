//! Why a request's content is invalid. Each variant reads as the message AWS returns with a
//! `BadRequestException`; the management API maps all of them to that error.

/// Input that API Gateway would refuse with `BadRequestException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// A patch operation whose path this resource does not support for that op.
    #[error(
        "Invalid patch path '{path}' specified for op '{op}'. Please choose supported operations"
    )]
    InvalidPatchPath { op: String, path: String },
    /// A patch operation that needs a value and has none.
    #[error("Invalid null or empty value in patch operation for path '{path}'")]
    MissingPatchValue { path: String },
    /// A value that does not parse as what the field holds.
    #[error("Invalid {expected} value '{value}' specified for path '{path}'")]
    InvalidPatchValue {
        path: String,
        value: String,
        expected: &'static str,
    },
    /// Any other invalid input, with AWS's message.
    #[error("{0}")]
    Invalid(String),
    /// A value outside the service model's constraints (an enum, a pattern), which AWS's
    /// front end refuses with `ValidationException` before the service sees it.
    #[error("{0}")]
    Validation(String),
    /// A patch that names something that is not there (`Invalid parameter name specified`),
    /// a `NotFoundException` on AWS.
    #[error("{0}")]
    NotFound(String),
}

impl ModelError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    /// A value that is not one of an enum's members.
    pub fn not_in_enum(field: &str, value: &str, allowed: &[&str]) -> Self {
        Self::Validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        ))
    }
}
