//! Two nodes on one Redis (`TOLLGATE_TEST_REDIS`, else `redis://127.0.0.1:6379` when something
//! answers there, else skipped), each test under a key prefix of its own.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::AtomicBool;

use super::*;
use crate::{ConnectionHandle, ConnectionInfo, DeliveryError};

fn redis_url() -> Option<String> {
    if let Ok(url) = std::env::var("TOLLGATE_TEST_REDIS") {
        return Some(url);
    }
    let local = "127.0.0.1:6379".parse().unwrap();
    match std::net::TcpStream::connect_timeout(&local, Duration::from_millis(300)) {
        Ok(_) => Some("redis://127.0.0.1:6379".into()),
        Err(_) => {
            eprintln!("skipped: no Redis (set TOLLGATE_TEST_REDIS)");
            None
        }
    }
}

/// Two nodes of a fresh cluster, and what deletes its keys when dropped.
async fn two_nodes() -> Option<(Arc<RedisShared>, Arc<RedisShared>, Cleanup)> {
    let url = redis_url()?;
    let prefix = format!("tollgate-test-{:016x}", fastrand::u64(..));
    let a = RedisShared::connect(&url, &prefix).await.unwrap();
    let b = RedisShared::connect(&url, &prefix).await.unwrap();
    Some((a, b, Cleanup { url, prefix }))
}

struct Cleanup {
    url: String,
    prefix: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let deleted = redis::Client::open(self.url.as_str()).and_then(|client| {
            redis::cmd("EVAL")
                .arg("for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 0")
                .arg(0)
                .arg(format!("{}:*", self.prefix))
                .exec(&mut client.get_connection()?)
        });
        if let Err(e) = deleted {
            eprintln!("could not delete the test keys: {e}");
        }
    }
}

/// Polls `done` every sync interval for up to two seconds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    for _ in 0..20 {
        if done() {
            return;
        }
        tokio::time::sleep(SYNC_EVERY).await;
    }
    panic!("{what} did not happen within two seconds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_is_counted_across_nodes() {
    let Some((a, b, _cleanup)) = two_nodes().await else {
        return;
    };
    let (on_a, on_b) = (a.counter("q"), b.counter("q"));
    assert_eq!((0..4).filter(|_| on_a.try_take(5, 10)).count(), 4);
    assert_eq!((0..3).filter(|_| on_b.try_take(5, 10)).count(), 3);
    eventually("both nodes counting 7", || {
        on_a.used(5) == 7 && on_b.used(5) == 7
    })
    .await;
    assert_eq!((0..10).filter(|_| on_b.try_take(5, 10)).count(), 3);
    eventually("node A seeing the quota used up", || on_a.used(5) == 10).await;
    assert!(!on_a.try_take(5, 10));
    // Every node restores counts on its own: the cluster's is raised, never lowered.
    let (r_on_a, r_on_b) = (a.counter("r"), b.counter("r"));
    r_on_b.set(6, 1);
    r_on_a.set(6, 4);
    eventually("both nodes seeing the restored count", || {
        r_on_a.used(6) == 4 && r_on_b.used(6) == 4
    })
    .await;
    r_on_b.set(6, 2);
    assert_eq!(r_on_b.used(6), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_node_enforces_its_share_of_a_rate_limit() {
    let Some((a, b, _cleanup)) = two_nodes().await else {
        return;
    };
    eventually("both nodes counting two nodes", || {
        a.nodes.load(Ordering::Relaxed) == 2 && b.nodes.load(Ordering::Relaxed) == 2
    })
    .await;
    let limit = RateLimit::new(0.001, 10);
    let (on_a, on_b) = (a.rate_limiter("l", limit), b.rate_limiter("l", limit));
    let admitted = (0..20).filter(|_| on_a.try_acquire()).count()
        + (0..20).filter(|_| on_b.try_acquire()).count();
    assert_eq!(admitted, 10, "the burst is split between the nodes");
    drop(b);
}

#[derive(Default)]
struct Fake {
    sent: Mutex<Vec<(Vec<u8>, bool)>>,
    closed: AtomicBool,
}

impl ConnectionHandle for Fake {
    fn send(&self, data: Vec<u8>, binary: bool) -> Result<(), DeliveryError> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(DeliveryError::Gone);
        }
        self.sent.lock().unwrap().push((data, binary));
        Ok(())
    }
    fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }
    fn info(&self) -> ConnectionInfo {
        ConnectionInfo {
            connected_at: 11,
            last_active_at: 12,
            source_ip: "192.0.2.1".into(),
            user_agent: "fake".into(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_on_one_node_is_reached_from_another() {
    let Some((a, b, _cleanup)) = two_nodes().await else {
        return;
    };
    let fake = Arc::new(Fake::default());
    a.connections().register("conn1", fake.clone());
    let b2 = Arc::clone(&b);
    // The record is written in the background: poll until node B finds it.
    eventually("node B reaching the connection", || {
        b2.connections().info("conn1").is_some()
    })
    .await;
    assert_eq!(b.connections().info("conn1").unwrap().user_agent, "fake");
    assert_eq!(
        b.connections().post("conn1", b"\x01\x02".to_vec(), true),
        Ok(())
    );
    assert_eq!(
        fake.sent.lock().unwrap().as_slice(),
        [(b"\x01\x02".to_vec(), true)]
    );
    assert_eq!(
        b.connections().post("nobody", b"x".to_vec(), false),
        Err(DeliveryError::Gone)
    );
    assert!(b.connections().disconnect("conn1"));
    assert!(fake.closed.load(Ordering::Relaxed));
    assert_eq!(
        b.connections().post("conn1", b"x".to_vec(), false),
        Err(DeliveryError::Gone)
    );
    a.connections().unregister("conn1");
    eventually("the record going with the connection", || {
        b2.connections().info("conn1").is_none()
    })
    .await;
    assert!(!b.connections().disconnect("conn1"));
    assert_eq!((a.connections().count(), b.connections().count()), (0, 0));
}
