//! The `Store` contract, one suite run against every backend: versions, preconditions, atomic
//! batches, ordering, the change feed and no lost updates under contention; then what is
//! particular to each backend (SQLite: persistence and the data dir's lock; PostgreSQL: several
//! nodes on one database, and a feed that survives a lost connection).
//!
//! PostgreSQL tests each create a fresh database on the server named by `TOLLGATE_TEST_POSTGRES`
//! (a `postgres://` URL) and drop it afterwards. Without that variable they use
//! `postgres://postgres@127.0.0.1:5432/postgres` when a server answers there, and are skipped
//! otherwise.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use serde_json::json;
use tollgate_store::{Expect, Key, SqliteStore, Store, StoreError, Write};

mod contract {
    use super::*;

    fn key(id: &str) -> Key {
        Key::new("api1", "resource", id)
    }

    pub async fn put_get_list_and_versions(store: Arc<dyn Store>) {
        assert!(store.get(&key("a")).await.unwrap().is_none());
        store
            .commit(vec![
                Write::put(key("b"), json!({"n": 1}), Expect::Absent),
                Write::put(key("a"), json!({"n": 2}), Expect::Absent),
            ])
            .await
            .unwrap();
        let doc = store.get(&key("b")).await.unwrap().unwrap();
        assert_eq!(doc.version, 1);
        assert_eq!(doc.body, json!({"n": 1}));
        let ids: Vec<String> = store
            .list("api1", "resource")
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(ids, ["b", "a"], "listed in the order first written");
        store
            .commit(vec![Write::put(
                key("b"),
                json!({"n": 3}),
                Expect::Version(1),
            )])
            .await
            .unwrap();
        assert_eq!(store.get(&key("b")).await.unwrap().unwrap().version, 2);
        assert_eq!(store.revision().await.unwrap(), 2);
    }

    pub async fn a_failed_precondition_writes_nothing(store: Arc<dyn Store>) {
        store
            .commit(vec![Write::put(key("a"), json!(1), Expect::Absent)])
            .await
            .unwrap();
        let err = store
            .commit(vec![
                Write::put(key("new"), json!(1), Expect::Absent),
                Write::put(key("a"), json!(2), Expect::Version(7)),
            ])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }));
        assert!(
            store.get(&key("new")).await.unwrap().is_none(),
            "the batch is all or nothing"
        );
        assert_eq!(store.get(&key("a")).await.unwrap().unwrap().body, json!(1));
    }

    pub async fn delete_scope_and_reset(store: Arc<dyn Store>) {
        store
            .commit(vec![
                Write::put(key("a"), json!(1), Expect::Any),
                Write::put(Key::new("api2", "resource", "a"), json!(1), Expect::Any),
            ])
            .await
            .unwrap();
        store
            .commit(vec![Write::DeleteScope {
                scope: "api1".into(),
            }])
            .await
            .unwrap();
        assert!(store.list("api1", "resource").await.unwrap().is_empty());
        assert_eq!(store.list("api2", "resource").await.unwrap().len(), 1);
        store.reset().await.unwrap();
        assert!(store.list("api2", "resource").await.unwrap().is_empty());
    }

    pub async fn the_change_feed_announces_each_commit(store: Arc<dyn Store>) {
        let mut feed = store.subscribe();
        store
            .commit(vec![
                Write::put(key("a"), json!(1), Expect::Any),
                Write::put(Key::new("", "restapi", "api1"), json!(1), Expect::Any),
            ])
            .await
            .unwrap();
        let change = feed.recv().await.unwrap();
        assert_eq!(change.revision, 1);
        assert_eq!(change.scopes, ["", "api1"]);
    }

    /// Many tasks increment one counter by read-modify-write with retries; none is lost.
    pub async fn concurrent_writers_lose_no_update(store: Arc<dyn Store>) {
        store
            .commit(vec![Write::put(key("counter"), json!(0), Expect::Absent)])
            .await
            .unwrap();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    for _ in 0..10 {
                        loop {
                            let doc = store.get(&key("counter")).await.unwrap().unwrap();
                            let next = doc.body.as_i64().unwrap() + 1;
                            let write = Write::put(
                                key("counter"),
                                json!(next),
                                Expect::Version(doc.version),
                            );
                            match store.commit(vec![write]).await {
                                Ok(_) => break,
                                Err(StoreError::Conflict { .. }) => continue,
                                Err(e) => panic!("{e}"),
                            }
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            store.get(&key("counter")).await.unwrap().unwrap().body,
            json!(160)
        );
    }
}

/// Runs every contract test against a backend; `$make` is an async expression giving
/// `Option<(Arc<dyn Store>, guard)>` (`None`: backend unavailable, test skipped).
macro_rules! contract_tests {
    ($make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let Some((store, _guard)) = $make.await else { return };
                crate::contract::$name(store).await;
            }
        )*
    };
}

macro_rules! all_contract_tests {
    ($make:expr) => {
        contract_tests!($make;
            put_get_list_and_versions,
            a_failed_precondition_writes_nothing,
            delete_scope_and_reset,
            the_change_feed_announces_each_commit,
            concurrent_writers_lose_no_update,
        );
    };
}

mod sqlite {
    use super::*;

    async fn in_memory() -> Option<(Arc<dyn Store>, ())> {
        Some((Arc::new(SqliteStore::in_memory().unwrap()), ()))
    }

    all_contract_tests!(in_memory());

    fn key(id: &str) -> Key {
        Key::new("api1", "resource", id)
    }

    #[tokio::test]
    async fn data_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SqliteStore::open(dir.path()).unwrap();
            store
                .commit(vec![Write::put(
                    key("a"),
                    json!({"kept": true}),
                    Expect::Absent,
                )])
                .await
                .unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(
            store.get(&key("a")).await.unwrap().unwrap().body,
            json!({"kept": true})
        );
        assert_eq!(store.revision().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn one_process_owns_a_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let first = SqliteStore::open(dir.path()).unwrap();
        assert!(matches!(
            SqliteStore::open(dir.path()),
            Err(StoreError::Unavailable(_))
        ));
        drop(first);
        assert!(
            SqliteStore::open(dir.path()).is_ok(),
            "the lock goes with the store"
        );
    }

    #[tokio::test]
    async fn an_unusable_directory_is_reported() {
        let file = tempfile::NamedTempFile::new().unwrap();
        assert!(matches!(
            SqliteStore::open(file.path()),
            Err(StoreError::Unavailable(_))
        ));
    }
}

mod postgres {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;
    use tollgate_store::PostgresStore;

    /// A fresh database on the test server, dropped with the guard.
    pub struct TestDb {
        server: String,
        name: String,
        url: String,
    }

    /// The test server's URL, or `None` to skip (no variable and nothing answers).
    fn server_url() -> Option<String> {
        if let Ok(url) = std::env::var("TOLLGATE_TEST_POSTGRES") {
            return Some(url);
        }
        let local = "127.0.0.1:5432".parse().unwrap();
        match std::net::TcpStream::connect_timeout(&local, Duration::from_millis(300)) {
            Ok(_) => Some("postgres://postgres@127.0.0.1:5432/postgres".into()),
            Err(_) => {
                eprintln!("skipped: no PostgreSQL (set TOLLGATE_TEST_POSTGRES)");
                None
            }
        }
    }

    /// `url` naming database `name` instead.
    fn with_database(url: &str, name: &str) -> String {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let (scheme, rest) = base.split_once("://").unwrap();
        let host = rest.split_once('/').map_or(rest, |(host, _)| host);
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        format!("{scheme}://{host}/{name}{query}")
    }

    async fn admin(url: &str) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
    }

    impl TestDb {
        pub async fn create() -> Option<Self> {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let server = server_url()?;
            let name = format!(
                "tollgate_store_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            admin(&server)
                .await
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let url = with_database(&server, &name);
            Some(Self { server, name, url })
        }

        async fn store(&self) -> PostgresStore {
            PostgresStore::connect(&self.url).await.unwrap()
        }

        /// Ends this database's server-side sessions of the given application name.
        async fn terminate(&self, application: &str) -> i64 {
            admin(&self.server)
                .await
                .query_one(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                     WHERE datname = $1 AND application_name = $2",
                    &[&self.name, &application],
                )
                .await
                .unwrap()
                .get(0)
        }
    }

    impl Drop for TestDb {
        fn drop(&mut self) {
            let (server, name) = (self.server.clone(), self.name.clone());
            // Dropped inside the test's runtime: drop the database from a thread of its own.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    admin(&server)
                        .await
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await
                })
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("could not drop test database {}", self.name);
            }
        }
    }

    async fn fresh() -> Option<(Arc<dyn Store>, TestDb)> {
        let db = TestDb::create().await?;
        Some((Arc::new(db.store().await), db))
    }

    all_contract_tests!(fresh());

    fn key(id: &str) -> Key {
        Key::new("api1", "resource", id)
    }

    async fn next_change(
        feed: &mut tokio::sync::broadcast::Receiver<tollgate_store::Change>,
        within: Duration,
    ) -> tollgate_store::Change {
        tokio::time::timeout(within, feed.recv())
            .await
            .expect("no change announced in time")
            .unwrap()
    }

    /// Two nodes on one database: each sees the other's documents, and each one's feed
    /// announces the other's commits within a second.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nodes_share_documents_and_the_change_feed() {
        let Some(db) = TestDb::create().await else {
            return;
        };
        let (a, b) = tokio::join!(db.store(), db.store());
        let mut feed_b = b.subscribe();
        let revision = a
            .commit(vec![Write::put(
                key("x"),
                json!({"from": "a"}),
                Expect::Absent,
            )])
            .await
            .unwrap();
        let change = next_change(&mut feed_b, Duration::from_secs(1)).await;
        assert_eq!(change.revision, revision);
        assert_eq!(change.scopes, ["api1"]);
        assert_eq!(change.kinds, ["resource"]);
        assert_eq!(
            b.get(&key("x")).await.unwrap().unwrap().body,
            json!({"from": "a"})
        );
        let conflict = b
            .commit(vec![Write::put(key("x"), json!(2), Expect::Absent)])
            .await;
        assert!(matches!(conflict, Err(StoreError::Conflict { .. })));
        drop((a, b));
        let reopened = db.store().await;
        assert_eq!(reopened.revision().await.unwrap(), revision);
    }

    /// A node whose connections are cut reconnects, and its feed announces what was committed
    /// meanwhile, in order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_feed_recovers_after_a_lost_connection() {
        let Some(db) = TestDb::create().await else {
            return;
        };
        let (a, b) = tokio::join!(db.store(), db.store());
        let mut feed_b = b.subscribe();
        // Both listeners' sessions cut; one may still be connecting when the stores return.
        let mut cut = 0;
        for _ in 0..40 {
            cut += db.terminate(PostgresStore::LISTENER_NAME).await;
            if cut >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(cut >= 2, "only {cut} listener sessions were found to cut");
        let first = a
            .commit(vec![Write::put(key("1"), json!(1), Expect::Any)])
            .await
            .unwrap();
        let second = a
            .commit(vec![Write::put(key("2"), json!(2), Expect::Any)])
            .await
            .unwrap();
        let seen = [
            next_change(&mut feed_b, Duration::from_secs(5))
                .await
                .revision,
            next_change(&mut feed_b, Duration::from_secs(5))
                .await
                .revision,
        ];
        assert_eq!(seen, [first, second]);
        // The connection that serves reads is reopened too.
        db.terminate("").await;
        let mut tries = 0;
        while b.get(&key("1")).await.is_err() {
            tries += 1;
            assert!(tries < 3, "the store did not reconnect");
        }
        assert_eq!(b.list("api1", "resource").await.unwrap().len(), 2);
    }

    /// A node that was away longer than the change log reaches is told that everything may
    /// have changed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_node_behind_the_pruned_log_hears_of_every_scope() {
        let Some(db) = TestDb::create().await else {
            return;
        };
        let store = db.store().await;
        let mut feed = store.subscribe();
        // What another node's commits 1-5 leave once the log kept only the last one.
        admin(&db.url)
            .await
            .batch_execute(
                "BEGIN;
                 INSERT INTO docs (scope, kind, id, version, seq, body)
                     VALUES ('api9', 'resource', 'r', 1, nextval('docs_seq'), '{}');
                 UPDATE counters SET value = 5 WHERE name = 'revision';
                 INSERT INTO changes (revision, scopes, kinds) VALUES (5, '{api9}', '{resource}');
                 NOTIFY tollgate_changes;
                 COMMIT;",
            )
            .await
            .unwrap();
        let change = next_change(&mut feed, Duration::from_secs(2)).await;
        assert_eq!(change.revision, 5);
        assert_eq!(change.scopes, ["api9"]);
        assert_eq!(change.kinds, [tollgate_store::ANY_KIND]);
    }
}
