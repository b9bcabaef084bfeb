//! Who a signature says is calling: the credentials a verifier checks against, and the
//! identity policies attached to them.

use std::fmt;
use std::sync::Arc;

use crate::policy::Policy;

/// One access key and the IAM user it belongs to.
#[derive(Clone)]
pub struct Principal {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Temporary credentials carry a session token that every request must repeat.
    pub session_token: Option<String>,
    pub user_name: String,
    /// `arn:aws:iam::{account}:user/{name}`.
    pub arn: String,
    pub account_id: String,
    /// Identity-based policies attached to the user, compiled.
    pub policies: Vec<Arc<Policy>>,
}

impl Principal {
    /// An IAM user's access key: ARN `arn:aws:iam::{account}:user/{name}`.
    pub fn user(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        account_id: &str,
        user_name: &str,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
            user_name: user_name.to_string(),
            arn: user_arn(account_id, user_name),
            account_id: account_id.to_string(),
            policies: Vec::new(),
        }
    }
}

/// `arn:aws:iam::{account}:user/{name}`.
pub fn user_arn(account_id: &str, user_name: &str) -> String {
    format!("arn:aws:iam::{account_id}:user/{user_name}")
}

impl fmt::Debug for Principal {
    // Never prints the secret or the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("access_key_id", &self.access_key_id)
            .field("arn", &self.arn)
            .field("policies", &self.policies.len())
            .finish_non_exhaustive()
    }
}

/// Finds the credentials of an access key id.
pub trait CredentialsLookup {
    fn lookup(&self, access_key_id: &str) -> Option<Arc<Principal>>;

    /// Whether no credentials at all are known (an unlocked management API).
    fn is_empty(&self) -> bool;
}

impl CredentialsLookup for [Arc<Principal>] {
    fn lookup(&self, access_key_id: &str) -> Option<Arc<Principal>> {
        self.iter()
            .find(|p| p.access_key_id == access_key_id)
            .cloned()
    }

    fn is_empty(&self) -> bool {
        <[Arc<Principal>]>::is_empty(self)
    }
}

impl CredentialsLookup for std::collections::HashMap<String, Arc<Principal>> {
    fn lookup(&self, access_key_id: &str) -> Option<Arc<Principal>> {
        self.get(access_key_id).cloned()
    }

    fn is_empty(&self) -> bool {
        std::collections::HashMap::is_empty(self)
    }
}

impl CredentialsLookup for Vec<Arc<Principal>> {
    fn lookup(&self, access_key_id: &str) -> Option<Arc<Principal>> {
        self.as_slice().lookup(access_key_id)
    }

    fn is_empty(&self) -> bool {
        Vec::is_empty(self)
    }
}
