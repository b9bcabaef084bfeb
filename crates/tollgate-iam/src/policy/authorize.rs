//! How API Gateway combines a resource policy with the caller's authentication, after AWS's
//! "How API Gateway resource policies affect authorization workflow" (tables A and B).

use super::document::Decision;

/// How the caller was authenticated, and what its own policy said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authentication {
    /// No authorization on the method (`NONE`, or API keys only).
    None,
    /// `AWS_IAM`: the decision of the caller's identity policies, and whether the caller is
    /// in the API owner's account (table A) or another one (table B).
    Iam {
        identity: Decision,
        same_account: bool,
    },
    /// A Lambda authorizer's policy decision, or an accepted Cognito token (`Allow`): both
    /// follow table A.
    Authorizer { identity: Decision },
}

/// The final decision for a request: `resource_policy` is the API's resource policy's
/// decision, `None` when the API has none.
///
/// - An explicit deny in the resource policy or the identity policy denies.
/// - Without authentication, the resource policy must allow (no policy: allowed).
/// - Same account (table A): an allow in either the resource policy or the identity
///   policy allows.
/// - Another account (table B): both must allow.
pub fn authorize(resource_policy: Option<Decision>, authentication: Authentication) -> Decision {
    if resource_policy == Some(Decision::ExplicitDeny) {
        return Decision::ExplicitDeny;
    }
    match authentication {
        Authentication::None => resource_policy.unwrap_or(Decision::Allow),
        Authentication::Iam {
            identity,
            same_account: false,
        } => match (identity, resource_policy) {
            (Decision::ExplicitDeny, _) => Decision::ExplicitDeny,
            (Decision::Allow, Some(Decision::Allow)) => Decision::Allow,
            _ => Decision::ImplicitDeny,
        },
        Authentication::Iam {
            identity,
            same_account: true,
        }
        | Authentication::Authorizer { identity } => {
            identity.and(resource_policy.unwrap_or(Decision::ImplicitDeny))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::{Allow, ExplicitDeny as Deny, ImplicitDeny as Neither};

    #[test]
    fn table_a_same_account() {
        let iam = |identity| Authentication::Iam {
            identity,
            same_account: true,
        };
        let cases = [
            (Allow, Some(Allow), Allow),
            (Allow, Some(Neither), Allow),
            (Allow, Some(Deny), Deny),
            (Neither, Some(Allow), Allow),
            (Neither, Some(Neither), Neither),
            (Neither, Some(Deny), Deny),
            (Deny, Some(Allow), Deny),
            (Deny, Some(Neither), Deny),
            (Deny, Some(Deny), Deny),
            (Allow, None, Allow),
            (Neither, None, Neither),
            (Deny, None, Deny),
        ];
        for (identity, resource, expected) in cases {
            assert_eq!(
                authorize(resource, iam(identity)),
                expected,
                "{identity:?} {resource:?}"
            );
            assert_eq!(
                authorize(resource, Authentication::Authorizer { identity }),
                expected,
                "authorizer {identity:?} {resource:?}"
            );
        }
    }

    #[test]
    fn table_b_other_account() {
        let iam = |identity| Authentication::Iam {
            identity,
            same_account: false,
        };
        let cases = [
            (Allow, Some(Allow), Allow),
            (Allow, Some(Neither), Neither),
            (Allow, Some(Deny), Deny),
            (Neither, Some(Allow), Neither),
            (Neither, Some(Neither), Neither),
            (Deny, Some(Allow), Deny),
            (Allow, None, Neither),
        ];
        for (identity, resource, expected) in cases {
            assert_eq!(
                authorize(resource, iam(identity)),
                expected,
                "{identity:?} {resource:?}"
            );
        }
    }

    #[test]
    fn resource_policy_only() {
        assert_eq!(authorize(None, Authentication::None), Allow);
        assert_eq!(authorize(Some(Allow), Authentication::None), Allow);
        assert_eq!(authorize(Some(Neither), Authentication::None), Neither);
        assert_eq!(authorize(Some(Deny), Authentication::None), Deny);
    }
}
