//! Where Tollgate keeps its declarative state.
//!
//! The [`Store`] trait is a small document store: JSON documents addressed by
//! `(scope, kind, id)`, each with a version, written in atomic batches whose preconditions
//! ([`Expect`]) give optimistic concurrency. Callers read, decide, and commit with the versions
//! they read; a concurrent writer makes the commit fail with [`StoreError::Conflict`] and the
//! caller retries, so no update is ever lost. Every commit bumps a global revision and is
//! announced on a change feed ([`Store::subscribe`]) that the data plane follows.
//!
//! [`SqliteStore`] is the embedded backend; [`PostgresStore`] serves cluster mode (rows with a
//! version column, a change log announced over `LISTEN/NOTIFY`, so every node's feed carries
//! every node's commits).

mod postgres;
mod sqlite;

use std::future::Future;
use std::pin::Pin;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// A boxed future, so that [`Store`] can be used as `Arc<dyn Store>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a document lives. `scope` groups documents that are deleted together (an API's id,
/// or `""` for account-wide ones); `kind` names the resource type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub scope: String,
    pub kind: &'static str,
    pub id: String,
}

impl Key {
    pub fn new(scope: impl Into<String>, kind: &'static str, id: impl Into<String>) -> Self {
        Self {
            scope: scope.into(),
            kind,
            id: id.into(),
        }
    }
}

/// A stored document and the version it has (1 when first written, +1 per write).
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub id: String,
    pub version: u64,
    pub body: serde_json::Value,
}

/// What a write expects to find, checked atomically with the whole batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// No check.
    Any,
    /// The document must not exist.
    Absent,
    /// The document must exist with this version.
    Version(u64),
}

/// One write of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Put {
        key: Key,
        body: serde_json::Value,
        expect: Expect,
    },
    Delete {
        key: Key,
        expect: Expect,
    },
    /// Deletes every document of a scope (deleting an API deletes everything in it).
    DeleteScope {
        scope: String,
    },
}

impl Write {
    pub fn put(key: Key, body: serde_json::Value, expect: Expect) -> Self {
        Self::Put { key, body, expect }
    }

    pub fn delete(key: Key, expect: Expect) -> Self {
        Self::Delete { key, expect }
    }

    fn scope(&self) -> &str {
        match self {
            Self::Put { key, .. } | Self::Delete { key, .. } => &key.scope,
            Self::DeleteScope { scope } => scope,
        }
    }

    /// The kind written, or [`ANY_KIND`] for a scope deletion.
    fn kind(&self) -> &'static str {
        match self {
            Self::Put { key, .. } | Self::Delete { key, .. } => key.kind,
            Self::DeleteScope { .. } => ANY_KIND,
        }
    }
}

/// The kind a [`Change`] lists when a whole scope went (any kind may have changed).
pub const ANY_KIND: &str = "*";

/// What a batch touched: its scopes and kinds, each once.
fn touched(writes: &[Write]) -> (Vec<String>, Vec<&'static str>) {
    let mut scopes: Vec<String> = writes.iter().map(|w| w.scope().to_string()).collect();
    scopes.sort();
    scopes.dedup();
    let mut kinds: Vec<&'static str> = writes.iter().map(Write::kind).collect();
    kinds.sort();
    kinds.dedup();
    (scopes, kinds)
}

/// Checks a write's precondition against the version found (`None`: no document).
fn check(expect: Expect, found: Option<u64>, key: &Key) -> Result<()> {
    let ok = match expect {
        Expect::Any => true,
        Expect::Absent => found.is_none(),
        Expect::Version(v) => found == Some(v),
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            scope: key.scope.clone(),
            kind: key.kind,
            id: key.id.clone(),
        })
    }
}

/// One committed batch, as the change feed announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The store's revision after the batch.
    pub revision: u64,
    /// The scopes the batch touched, without duplicates.
    pub scopes: Vec<String>,
    /// The kinds it touched, without duplicates ([`ANY_KIND`] when a scope was deleted).
    pub kinds: Vec<&'static str>,
}

impl Change {
    /// Whether the batch may have touched a document of one of these kinds.
    pub fn touches_any(&self, kinds: &[&str]) -> bool {
        self.kinds
            .iter()
            .any(|k| *k == ANY_KIND || kinds.contains(k))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A precondition of the batch did not hold: someone else wrote first. Read again and retry.
    #[error("the document {scope}/{kind}/{id} changed concurrently")]
    Conflict {
        scope: String,
        kind: &'static str,
        id: String,
    },
    /// The store could not be opened or used.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The state store. See the crate documentation.
pub trait Store: Send + Sync + 'static {
    /// One document.
    fn get<'a>(&'a self, key: &'a Key) -> BoxFuture<'a, Result<Option<Doc>>>;

    /// Every document of a kind in a scope, in the order they were first written.
    fn list<'a>(&'a self, scope: &'a str, kind: &'static str) -> BoxFuture<'a, Result<Vec<Doc>>>;

    /// Applies the writes all or nothing; returns the new revision.
    fn commit(&self, writes: Vec<Write>) -> BoxFuture<'_, Result<u64>>;

    /// The current revision (0 for an empty store).
    fn revision(&self) -> BoxFuture<'_, Result<u64>>;

    /// Deletes everything (the `--dev` reset). Announced as a change of every scope.
    fn reset(&self) -> BoxFuture<'_, Result<u64>>;

    /// The change feed: every commit after this call, in order.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Change>;
}
