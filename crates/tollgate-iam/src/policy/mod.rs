//! IAM policy documents: parsed and compiled once ([`Policy::parse`]), then evaluated many
//! times ([`Policy::evaluate`]) to [`Decision::Allow`], [`Decision::ExplicitDeny`] or
//! [`Decision::ImplicitDeny`]; and API Gateway's combination of a resource policy with the
//! caller's identity ([`authorize`]).

mod authorize;
mod condition;
mod document;
mod wildcard;

pub use authorize::{Authentication, authorize};
pub use condition::Cidr;
pub use document::{Decision, Policy, RequestContext};

/// The message API Gateway answers (403, `{"Message": ...}`) when policies deny `execute-api:Invoke`;
/// `principal_arn` is `None` for an anonymous caller.
pub fn not_authorized_message(
    principal_arn: Option<&str>,
    resource: &str,
    decision: Decision,
) -> String {
    let user = principal_arn.unwrap_or("anonymous");
    let explicit = if decision == Decision::ExplicitDeny {
        " with an explicit deny"
    } else {
        ""
    };
    format!(
        "User: {user} is not authorized to perform: execute-api:Invoke on resource: {resource}{explicit}"
    )
}

/// A policy document that cannot be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);
