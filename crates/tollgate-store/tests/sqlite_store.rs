//! The SQLite store against the `Store` contract: versions, preconditions, atomic batches,
//! ordering, the change feed, persistence across reopen, and no lost updates under contention.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use serde_json::json;
use tollgate_store::{Expect, Key, SqliteStore, Store, StoreError, Write};

fn key(id: &str) -> Key {
    Key::new("api1", "resource", id)
}

#[tokio::test]
async fn put_get_list_and_versions() {
    let store = SqliteStore::in_memory().unwrap();
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

#[tokio::test]
async fn a_failed_precondition_writes_nothing() {
    let store = SqliteStore::in_memory().unwrap();
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

#[tokio::test]
async fn delete_scope_and_reset() {
    let store = SqliteStore::in_memory().unwrap();
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

#[tokio::test]
async fn the_change_feed_announces_each_commit() {
    let store = SqliteStore::in_memory().unwrap();
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

/// Many tasks increment one counter by read-modify-write with retries; none is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_lose_no_update() {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
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
                        let write =
                            Write::put(key("counter"), json!(next), Expect::Version(doc.version));
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
