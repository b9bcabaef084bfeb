//! Managed credentials: IAM users' access keys that Tollgate verifies SigV4 signatures with
//! (the locked management API, `AWS_IAM` methods).
//!
//! | scope | kind | id | body |
//! |---|---|---|---|
//! | `"iam"` ([`SCOPE`]) | [`ACCESS_KEY`](crate::layout::ACCESS_KEY) | access key id | [`AccessKeyRecord`] |
//!
//! The secret is kept as it is: SigV4 signs with it (HMAC), so it cannot be hashed.

use serde::{Deserialize, Serialize};

/// The scope of every access key.
pub const SCOPE: &str = "iam";

/// One access key of an IAM user, with the identity policies attached to the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessKeyRecord {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub user_name: String,
    /// `arn:aws:iam::{account}:user/{name}`.
    pub arn: String,
    pub account_id: String,
    /// Identity-based policy documents (JSON text), as given.
    #[serde(default)]
    pub policies: Vec<String>,
    /// Seconds since the epoch.
    pub created_date: i64,
}

/// Whether a user name is one IAM accepts: 1-64 of `A-Za-z0-9+=,.@_-`.
pub fn valid_user_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// Whether an access key id given by hand is usable: 16-128 of `A-Z0-9` (IAM's `\w+`, kept to
/// what fits in a credential scope).
pub fn valid_access_key_id(id: &str) -> bool {
    (16..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_user_name("alice"));
        assert!(valid_user_name("ci-bot@example.com"));
        assert!(!valid_user_name(""));
        assert!(!valid_user_name("a/b"));
        assert!(!valid_access_key_id("short"));
        assert!(!valid_access_key_id("AKIA/0000000000000000"));
    }
}
