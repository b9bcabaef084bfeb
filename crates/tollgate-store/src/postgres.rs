//! The cluster backend: one PostgreSQL database shared by every node.
//!
//! Documents are rows with a version column. A commit runs in one transaction that first takes
//! the row lock of the revision counter, so commits are serialized cluster-wide exactly like
//! SQLite's immediate transactions: preconditions are checked against the latest committed data
//! and revisions become visible in order. (A plain sequence would not do: `nextval` hands out
//! numbers in start order, not commit order, and a reader could skip a revision that commits
//! late.) Each commit also appends a row to `changes` and sends `NOTIFY tollgate_changes`.
//!
//! The change feed is fed from that log, not from the commit itself: a listener connection
//! wakes on every notification (and once a second regardless) and announces every logged change
//! after the last one it announced, in order. A commit on this node catches the feed up before
//! it returns, as SQLite's feed does. A lost listener connection is reopened, and the catch-up
//! re-reads from the last announced revision, so nothing is missed; when the log no longer holds
//! that revision (it keeps the last [`CHANGE_LOG_KEPT`]), the feed announces a change of every
//! scope and kind, and followers reload everything.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::{Arc, Mutex as StdMutex, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::{Mutex, broadcast, mpsc};
use tokio_postgres::{AsyncMessage, Client, Config, NoTls};

use crate::{ANY_KIND, BoxFuture, Change, Doc, Key, Result, Store, StoreError, Write, check};

/// Schema migrations, applied in order; `schema_migrations` records how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: documents, the revision counter and the change log.
    "CREATE TABLE docs (
        scope   TEXT   NOT NULL,
        kind    TEXT   NOT NULL,
        id      TEXT   NOT NULL,
        version BIGINT NOT NULL,
        seq     BIGINT NOT NULL,
        body    TEXT   NOT NULL,
        PRIMARY KEY (scope, kind, id)
    );
    CREATE INDEX docs_by_kind ON docs (scope, kind, seq);
    CREATE SEQUENCE docs_seq;
    CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
    INSERT INTO counters (name, value) VALUES ('revision', 0);
    CREATE TABLE changes (
        revision BIGINT PRIMARY KEY,
        scopes   TEXT[] NOT NULL,
        kinds    TEXT[] NOT NULL
    );",
];

/// The notification channel (one per database, so per cluster).
const CHANNEL: &str = "tollgate_changes";

/// How many changes the log keeps for nodes that were away.
pub const CHANGE_LOG_KEPT: i64 = 10_000;

/// How often the feed looks at the log even without a notification.
const POLL_EVERY: Duration = Duration::from_secs(1);

pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    client: Mutex<Client>,
    feed: broadcast::Sender<Change>,
    /// The last revision announced on the feed; held while announcing, so announcements are
    /// in order and never repeated.
    announced: Mutex<u64>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

async fn connect(config: &Config) -> std::result::Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "postgres connection lost");
        }
    });
    Ok(client)
}

impl PostgresStore {
    /// The `application_name` of the change feed's listener connection (in `pg_stat_activity`).
    pub const LISTENER_NAME: &str = "tollgate-feed";

    /// Connects to the database at `url` (`postgres://user@host:port/db`), brings its schema up
    /// to date, and starts following the change log.
    pub async fn connect(url: &str) -> Result<Self> {
        let config = Config::from_str(url).map_err(|e| unavailable(format!("{url}: {e}")))?;
        let mut client = connect(&config)
            .await
            .map_err(|e| unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
        migrate(&mut client).await.map_err(unavailable)?;
        let revision = current_revision(&client).await?;
        let (feed, _) = broadcast::channel(1024);
        let inner = Arc::new(Inner {
            config,
            client: Mutex::new(client),
            feed,
            announced: Mutex::new(revision),
        });
        tokio::spawn(listen(Arc::downgrade(&inner)));
        Ok(Self { inner })
    }
}

/// Applies the migrations not yet applied, under an advisory lock so that nodes starting
/// together do not race.
async fn migrate(client: &mut Client) -> std::result::Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(7461726);
         CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT NOT NULL);",
    )
    .await?;
    let applied: i64 = tx
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await?
        .get(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&(i as i64 + 1)],
        )
        .await?;
    }
    tx.commit().await
}

async fn current_revision(client: &Client) -> Result<u64> {
    let row = client
        .query_one("SELECT value FROM counters WHERE name = 'revision'", &[])
        .await
        .map_err(unavailable)?;
    Ok(row.get::<_, i64>(0) as u64)
}

impl Inner {
    /// The connection, reopened if it was lost.
    async fn client(&self) -> Result<tokio::sync::MutexGuard<'_, Client>> {
        let mut client = self.client.lock().await;
        if client.is_closed() {
            *client = connect(&self.config)
                .await
                .map_err(|e| unavailable(format!("cannot reconnect to PostgreSQL: {e}")))?;
        }
        Ok(client)
    }

    /// Announces every logged change after the last announced one.
    async fn catch_up(&self) -> Result<()> {
        let mut announced = self.announced.lock().await;
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT revision, scopes, kinds FROM changes WHERE revision > $1 ORDER BY revision",
                &[&(*announced as i64)],
            )
            .await
            .map_err(unavailable)?;
        let Some(first) = rows.first() else {
            return Ok(());
        };
        if first.get::<_, i64>(0) as u64 != *announced + 1 {
            // The log was pruned past what this node announced: say everything changed.
            let last = rows.last().map_or(0, |r| r.get::<_, i64>(0) as u64);
            let scopes = all_scopes(&client).await?;
            drop(client);
            let _ = self.feed.send(Change {
                revision: last,
                scopes,
                kinds: vec![ANY_KIND],
            });
            *announced = last;
            return Ok(());
        }
        drop(client);
        for row in rows {
            let revision = row.get::<_, i64>(0) as u64;
            let scopes: Vec<String> = row.get(1);
            let kinds: Vec<String> = row.get(2);
            // Nobody listening is fine: the feed is for whoever subscribes.
            let _ = self.feed.send(Change {
                revision,
                scopes,
                kinds: kinds.into_iter().map(intern_kind).collect(),
            });
            *announced = revision;
        }
        Ok(())
    }
}

async fn all_scopes(client: &Client) -> Result<Vec<String>> {
    let rows = client
        .query("SELECT DISTINCT scope FROM docs ORDER BY scope", &[])
        .await
        .map_err(unavailable)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// A kind read back from the log as the `&'static str` that [`Change`] holds. Kinds are a small
/// fixed set (the resource types), so each is leaked once.
fn intern_kind(kind: String) -> &'static str {
    static KINDS: OnceLock<StdMutex<HashSet<&'static str>>> = OnceLock::new();
    let mut kinds = KINDS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(known) = kinds.get(kind.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(kind.into_boxed_str());
    kinds.insert(leaked);
    leaked
}

/// Follows the change log for as long as the store lives: a listener connection wakes the
/// catch-up on each notification, a timer wakes it every [`POLL_EVERY`], and a lost connection
/// is reopened (the catch-up then recovers whatever was missed meanwhile).
async fn listen(store: Weak<Inner>) {
    loop {
        let Some(config) = store.upgrade().map(|s| s.config.clone()) else {
            return;
        };
        let mut config = config;
        config.application_name(PostgresStore::LISTENER_NAME);
        match listen_once(&store, &config).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, "change feed connection lost; reconnecting"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One listener connection's life; `Ok` when the store is gone, `Err` when the connection is.
async fn listen_once(store: &Weak<Inner>, config: &Config) -> std::result::Result<(), String> {
    let (client, mut connection) = config.connect(NoTls).await.map_err(|e| e.to_string())?;
    let (wake, mut woken) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(_))) => {
                    if wake.send(()).is_err() {
                        return Ok(());
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(|e| e.to_string())?;
    loop {
        let Some(inner) = store.upgrade() else {
            driver.abort();
            return Ok(());
        };
        if let Err(e) = inner.catch_up().await {
            tracing::warn!(error = %e, "could not read the change log");
        }
        drop(inner);
        tokio::select! {
            got = woken.recv() => if got.is_none() {
                return Err(match driver.await {
                    Ok(Err(e)) => e.to_string(),
                    _ => "connection closed".into(),
                });
            },
            _ = tokio::time::sleep(POLL_EVERY) => {
                if client.is_closed() {
                    return Err("connection closed".into());
                }
            }
        }
    }
}

async fn current_version(tx: &tokio_postgres::Transaction<'_>, key: &Key) -> Result<Option<u64>> {
    let row = tx
        .query_opt(
            "SELECT version FROM docs WHERE scope = $1 AND kind = $2 AND id = $3",
            &[&key.scope, &key.kind, &key.id],
        )
        .await
        .map_err(unavailable)?;
    Ok(row.map(|r| r.get::<_, i64>(0) as u64))
}

/// Takes the revision counter's row lock (serializing commits) and returns the next revision.
async fn next_revision(tx: &tokio_postgres::Transaction<'_>) -> Result<i64> {
    let row = tx
        .query_one(
            "UPDATE counters SET value = value + 1 WHERE name = 'revision' RETURNING value",
            &[],
        )
        .await
        .map_err(unavailable)?;
    Ok(row.get(0))
}

/// Logs the change, prunes the log's old end now and then, and notifies the other nodes.
async fn log_change(
    tx: &tokio_postgres::Transaction<'_>,
    revision: i64,
    scopes: &[String],
    kinds: &[&str],
) -> Result<()> {
    tx.execute(
        "INSERT INTO changes (revision, scopes, kinds) VALUES ($1, $2, $3)",
        &[&revision, &scopes, &kinds],
    )
    .await
    .map_err(unavailable)?;
    if revision % 1000 == 0 {
        tx.execute(
            "DELETE FROM changes WHERE revision <= $1",
            &[&(revision - CHANGE_LOG_KEPT)],
        )
        .await
        .map_err(unavailable)?;
    }
    tx.execute(
        "SELECT pg_notify($1, $2)",
        &[&CHANNEL, &revision.to_string()],
    )
    .await
    .map_err(unavailable)?;
    Ok(())
}

async fn apply(client: &mut Client, writes: &[Write]) -> Result<u64> {
    let tx = client.transaction().await.map_err(unavailable)?;
    let revision = next_revision(&tx).await?;
    for write in writes {
        match write {
            Write::Put { key, body, expect } => {
                let found = current_version(&tx, key).await?;
                check(*expect, found, key)?;
                let text = body.to_string();
                match found {
                    Some(v) => tx.execute(
                        "UPDATE docs SET version = $4, body = $5 WHERE scope = $1 AND kind = $2 AND id = $3",
                        &[&key.scope, &key.kind, &key.id, &((v + 1) as i64), &text],
                    ).await,
                    None => tx.execute(
                        "INSERT INTO docs (scope, kind, id, version, seq, body) VALUES ($1, $2, $3, 1, nextval('docs_seq'), $4)",
                        &[&key.scope, &key.kind, &key.id, &text],
                    ).await,
                }
                .map_err(unavailable)?;
            }
            Write::Delete { key, expect } => {
                let found = current_version(&tx, key).await?;
                check(*expect, found, key)?;
                tx.execute(
                    "DELETE FROM docs WHERE scope = $1 AND kind = $2 AND id = $3",
                    &[&key.scope, &key.kind, &key.id],
                )
                .await
                .map_err(unavailable)?;
            }
            Write::DeleteScope { scope } => {
                tx.execute("DELETE FROM docs WHERE scope = $1", &[scope])
                    .await
                    .map_err(unavailable)?;
            }
        }
    }
    let (scopes, kinds) = crate::touched(writes);
    log_change(&tx, revision, &scopes, &kinds).await?;
    tx.commit().await.map_err(unavailable)?;
    Ok(revision as u64)
}

fn to_doc(row: &tokio_postgres::Row) -> Result<Doc> {
    let id: String = row.get(0);
    let body: String = row.get(2);
    let body = serde_json::from_str(&body)
        .map_err(|e| unavailable(format!("corrupt document {id}: {e}")))?;
    Ok(Doc {
        version: row.get::<_, i64>(1) as u64,
        id,
        body,
    })
}

impl Store for PostgresStore {
    fn get<'a>(&'a self, key: &'a Key) -> BoxFuture<'a, Result<Option<Doc>>> {
        Box::pin(async move {
            let client = self.inner.client().await?;
            client
                .query_opt(
                    "SELECT id, version, body FROM docs WHERE scope = $1 AND kind = $2 AND id = $3",
                    &[&key.scope, &key.kind, &key.id],
                )
                .await
                .map_err(unavailable)?
                .as_ref()
                .map(to_doc)
                .transpose()
        })
    }

    fn list<'a>(&'a self, scope: &'a str, kind: &'static str) -> BoxFuture<'a, Result<Vec<Doc>>> {
        Box::pin(async move {
            let client = self.inner.client().await?;
            client
                .query(
                    "SELECT id, version, body FROM docs WHERE scope = $1 AND kind = $2 ORDER BY seq",
                    &[&scope, &kind],
                )
                .await
                .map_err(unavailable)?
                .iter()
                .map(to_doc)
                .collect()
        })
    }

    fn commit(&self, writes: Vec<Write>) -> BoxFuture<'_, Result<u64>> {
        Box::pin(async move {
            let revision = {
                let mut client = self.inner.client().await?;
                apply(&mut client, &writes).await?
            };
            // The commit is durable whatever happens to the announcement; the listener retries.
            if let Err(e) = self.inner.catch_up().await {
                tracing::warn!(error = %e, "could not announce a commit yet");
            }
            Ok(revision)
        })
    }

    fn revision(&self) -> BoxFuture<'_, Result<u64>> {
        Box::pin(async move { current_revision(&*self.inner.client().await?).await })
    }

    fn reset(&self) -> BoxFuture<'_, Result<u64>> {
        Box::pin(async move {
            let revision = {
                let mut client = self.inner.client().await?;
                let tx = client.transaction().await.map_err(unavailable)?;
                let revision = next_revision(&tx).await?;
                let rows = tx
                    .query("SELECT DISTINCT scope FROM docs ORDER BY scope", &[])
                    .await
                    .map_err(unavailable)?;
                let scopes: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
                tx.execute("DELETE FROM docs", &[])
                    .await
                    .map_err(unavailable)?;
                log_change(&tx, revision, &scopes, &[ANY_KIND]).await?;
                tx.commit().await.map_err(unavailable)?;
                revision as u64
            };
            if let Err(e) = self.inner.catch_up().await {
                tracing::warn!(error = %e, "could not announce a reset yet");
            }
            Ok(revision)
        })
    }

    fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.inner.feed.subscribe()
    }
}
