//! The embedded backend: one SQLite database file in the data directory, in WAL mode with
//! `synchronous=FULL`, so a commit that returned survives `kill -9` and power loss.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::broadcast;

use crate::{BoxFuture, Change, Doc, Key, Result, Store, StoreError, Write, check};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: documents and the revision counter.
    "CREATE TABLE docs (
        scope   TEXT    NOT NULL,
        kind    TEXT    NOT NULL,
        id      TEXT    NOT NULL,
        version INTEGER NOT NULL,
        seq     INTEGER NOT NULL,
        body    TEXT    NOT NULL,
        PRIMARY KEY (scope, kind, id)
    ) WITHOUT ROWID;
    CREATE INDEX docs_by_kind ON docs (scope, kind, seq);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO counters (name, value) VALUES ('revision', 0), ('seq', 0);",
];

pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    feed: broadcast::Sender<Change>,
    /// Held for the store's life: one process owns a data directory, since the change feed of
    /// this backend does not cross processes.
    _lock: Option<std::fs::File>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) `tollgate.db` in `dir`, and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| unavailable(format!("cannot create data dir {}: {e}", dir.display())))?;
        let lock = lock_dir(dir)?;
        let path = dir.join("tollgate.db");
        let conn = Connection::open(&path)
            .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
        let mut store =
            Self::init(conn).map_err(|e| unavailable(format!("{}: {e}", path.display())))?;
        store._lock = Some(lock);
        Ok(store)
    }

    /// A store that lives in memory only (tests).
    pub fn in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(unavailable)?;
        Self::init(conn).map_err(unavailable)
    }

    fn init(mut conn: Connection) -> rusqlite::Result<Self> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        let (feed, _) = broadcast::channel(1024);
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            feed,
            _lock: None,
        })
    }

    /// Runs `f` on the connection off the async runtime.
    fn with_conn<T, F>(&self, f: F) -> BoxFuture<'_, Result<T>>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut guard = conn
                    .lock()
                    .map_err(|_| unavailable("store lock poisoned"))?;
                f(&mut guard)
            })
            .await
            .map_err(unavailable)?
        })
    }
}

/// Takes the data directory's lock file, refusing a directory another process is using.
fn lock_dir(dir: &Path) -> Result<std::fs::File> {
    let path = dir.join("tollgate.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(unavailable(format!(
            "{} is in use by another tollgate process",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(unavailable(format!("cannot lock {}: {e}", path.display())))
        }
    }
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

fn current_version(tx: &rusqlite::Transaction<'_>, key: &Key) -> rusqlite::Result<Option<u64>> {
    tx.query_row(
        "SELECT version FROM docs WHERE scope = ?1 AND kind = ?2 AND id = ?3",
        params![key.scope, key.kind, key.id],
        |r| r.get::<_, i64>(0),
    )
    .optional()
    .map(|v| v.map(|v| v as u64))
}

fn bump(tx: &rusqlite::Transaction<'_>, counter: &str) -> rusqlite::Result<u64> {
    tx.query_row(
        "UPDATE counters SET value = value + 1 WHERE name = ?1 RETURNING value",
        [counter],
        |r| r.get::<_, i64>(0),
    )
    .map(|v| v as u64)
}

fn apply(conn: &mut Connection, writes: &[Write]) -> Result<u64> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(unavailable)?;
    for write in writes {
        match write {
            Write::Put { key, body, expect } => {
                let found = current_version(&tx, key).map_err(unavailable)?;
                check(*expect, found, key)?;
                let text = body.to_string();
                match found {
                    Some(v) => tx.execute(
                        "UPDATE docs SET version = ?4, body = ?5 WHERE scope = ?1 AND kind = ?2 AND id = ?3",
                        params![key.scope, key.kind, key.id, (v + 1) as i64, text],
                    ),
                    None => {
                        let seq = bump(&tx, "seq").map_err(unavailable)?;
                        tx.execute(
                            "INSERT INTO docs (scope, kind, id, version, seq, body) VALUES (?1, ?2, ?3, 1, ?4, ?5)",
                            params![key.scope, key.kind, key.id, seq as i64, text],
                        )
                    }
                }
                .map_err(unavailable)?;
            }
            Write::Delete { key, expect } => {
                let found = current_version(&tx, key).map_err(unavailable)?;
                check(*expect, found, key)?;
                tx.execute(
                    "DELETE FROM docs WHERE scope = ?1 AND kind = ?2 AND id = ?3",
                    params![key.scope, key.kind, key.id],
                )
                .map_err(unavailable)?;
            }
            Write::DeleteScope { scope } => {
                tx.execute("DELETE FROM docs WHERE scope = ?1", [scope])
                    .map_err(unavailable)?;
            }
        }
    }
    let revision = bump(&tx, "revision").map_err(unavailable)?;
    tx.commit().map_err(unavailable)?;
    Ok(revision)
}

fn row_to_doc(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, i64, String)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
}

fn to_doc((id, version, body): (String, i64, String)) -> Result<Doc> {
    let body = serde_json::from_str(&body)
        .map_err(|e| unavailable(format!("corrupt document {id}: {e}")))?;
    Ok(Doc {
        id,
        version: version as u64,
        body,
    })
}

impl Store for SqliteStore {
    fn get<'a>(&'a self, key: &'a Key) -> BoxFuture<'a, Result<Option<Doc>>> {
        let key = key.clone();
        self.with_conn(move |conn| {
            conn.query_row(
                "SELECT id, version, body FROM docs WHERE scope = ?1 AND kind = ?2 AND id = ?3",
                params![key.scope, key.kind, key.id],
                row_to_doc,
            )
            .optional()
            .map_err(unavailable)?
            .map(to_doc)
            .transpose()
        })
    }

    fn list<'a>(&'a self, scope: &'a str, kind: &'static str) -> BoxFuture<'a, Result<Vec<Doc>>> {
        let scope = scope.to_string();
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, version, body FROM docs WHERE scope = ?1 AND kind = ?2 ORDER BY seq",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(params![scope, kind], row_to_doc)
                .map_err(unavailable)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(unavailable)?;
            rows.into_iter().map(to_doc).collect()
        })
    }

    fn commit(&self, writes: Vec<Write>) -> BoxFuture<'_, Result<u64>> {
        let feed = self.feed.clone();
        let fut = self.with_conn(move |conn| {
            let revision = apply(conn, &writes)?;
            let (scopes, kinds) = crate::touched(&writes);
            // Nobody listening is fine: the feed is for whoever subscribes.
            let _ = feed.send(Change {
                revision,
                scopes,
                kinds,
            });
            Ok(revision)
        });
        Box::pin(fut)
    }

    fn revision(&self) -> BoxFuture<'_, Result<u64>> {
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT value FROM counters WHERE name = 'revision'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|v| v as u64)
            .map_err(unavailable)
        })
    }

    fn reset(&self) -> BoxFuture<'_, Result<u64>> {
        let feed = self.feed.clone();
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let scopes: Vec<String> = {
                let mut stmt = tx
                    .prepare("SELECT DISTINCT scope FROM docs ORDER BY scope")
                    .map_err(unavailable)?;
                stmt.query_map([], |r| r.get(0))
                    .map_err(unavailable)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(unavailable)?
            };
            tx.execute("DELETE FROM docs", []).map_err(unavailable)?;
            let revision = bump(&tx, "revision").map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            let _ = feed.send(Change {
                revision,
                scopes,
                kinds: vec![crate::ANY_KIND],
            });
            Ok(revision)
        })
    }

    fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.feed.subscribe()
    }
}
