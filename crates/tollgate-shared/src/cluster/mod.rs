//! Cluster mode: the shared state of many nodes kept in Redis.
//!
//! The request path never waits on Redis. Every limiter and counter is the same local atomic as
//! in [`InProcess`](crate::InProcess); a background task of each node reconciles them with Redis
//! every [`SYNC_EVERY`]:
//!
//! - **Quotas** ([`SyncedCounter`]): a node counts locally and remembers what it has not yet
//!   told Redis. Each sync adds that to the period's key (`INCRBY`) and takes the cluster total
//!   back as the local count. A node therefore sees the other nodes' uses at most one sync late,
//!   and a quota can be over-admitted by at most what the other nodes admit in one sync
//!   interval (the same trade Kong's `redis` policy makes). Setting a count (restoring it from
//!   durable usage) raises the cluster count to at least that value, never lowers it, since every
//!   node restores on its own.
//! - **Rate limits** ([`ShareLimiter`]): each node enforces an equal share of the limit: rate / N
//!   and burst / N (rounded up, so never zero), N being the live nodes, which each node counts
//!   from a heartbeat set in Redis. Load spread evenly over the nodes (a load balancer's job)
//!   then sees the configured limit; a node that gets more than its share throttles early. A
//!   changed N applies from the next sync and refills the buckets.
//! - The **authorizer cache** stays node-local: a miss costs one authorizer call per node.
//! - **WebSocket connections**: see [`connections`].
//!
//! When Redis is unreachable the node keeps serving on its local state (counts wait to be
//! added, the node count keeps its last value) and catches up when Redis is back.

mod connections;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::{
    AtomicPeriodCounter, Connections, Gcra, PeriodCounter, RateLimit, RateLimiter, SharedState,
    TtlCache, intern,
};
use connections::ClusterConnections;

/// How often a node reconciles its counters with Redis and renews its heartbeat.
pub const SYNC_EVERY: Duration = Duration::from_millis(100);
/// A node missing heartbeats this long is no longer counted.
const NODE_TTL_MS: u64 = 3_000;
/// How long Redis keeps a quota period's count (the longest period is a month).
const QUOTA_TTL_SECONDS: u64 = 40 * 24 * 3600;

/// Names of this cluster's keys and channels, under one prefix.
#[derive(Clone)]
struct Keys {
    prefix: String,
    node: String,
}

impl Keys {
    fn nodes(&self) -> String {
        format!("{}:nodes", self.prefix)
    }
    fn quota(&self, name: &str, period: u64) -> String {
        format!("{}:quota:{name}:{period}", self.prefix)
    }
    fn connection(&self, id: &str) -> String {
        format!("{}:conn:{id}", self.prefix)
    }
    fn channel(&self, node: &str) -> String {
        format!("{}:node:{node}", self.prefix)
    }
}

/// Shared state over Redis. See the module documentation.
pub struct RedisShared {
    limiters: Mutex<HashMap<String, Weak<ShareLimiter>>>,
    counters: Mutex<HashMap<String, Weak<SyncedCounter>>>,
    cache: TtlCache,
    connections: ClusterConnections,
    /// Live nodes, as last counted (at least 1).
    nodes: AtomicU64,
}

fn redis_error(e: redis::RedisError) -> String {
    format!("redis: {e}")
}

impl RedisShared {
    /// Connects to Redis at `url` and starts this node's sync and message tasks. Every key and
    /// channel starts with `prefix`: nodes with the same URL and prefix form one cluster.
    pub async fn connect(url: &str, prefix: &str) -> Result<Arc<Self>, String> {
        let client = redis::Client::open(url).map_err(redis_error)?;
        let conn = client.get_connection_manager().await.map_err(redis_error)?;
        let keys = Keys {
            prefix: prefix.to_string(),
            node: format!("{:012x}", fastrand::u64(..) >> 16),
        };
        let shared = Arc::new(Self {
            limiters: Mutex::default(),
            counters: Mutex::default(),
            cache: TtlCache::default(),
            connections: ClusterConnections::new(keys.clone(), conn.clone()),
            nodes: AtomicU64::new(1),
        });
        connections::listen(Arc::downgrade(&shared), client, &keys).await?;
        let mut sync = Sync {
            shared: Arc::downgrade(&shared),
            conn,
            keys,
        };
        // The first heartbeat before serving, so that limits are shared from the start.
        let nodes = sync.heartbeat().await.map_err(redis_error)?;
        shared.nodes.store(nodes, Ordering::Relaxed);
        tokio::spawn(sync.run());
        Ok(shared)
    }

    /// This node's id in the cluster.
    pub fn node_id(&self) -> &str {
        self.connections.node()
    }

    fn live<T>(map: &Mutex<HashMap<String, Weak<T>>>) -> Vec<(String, Arc<T>)> {
        map.lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(|(name, weak)| Some((name.clone(), weak.upgrade()?)))
            .collect()
    }
}

impl SharedState for RedisShared {
    fn rate_limiter(&self, name: &str, limit: RateLimit) -> Arc<dyn RateLimiter> {
        let nodes = self.nodes.load(Ordering::Relaxed);
        let limiter = intern(&self.limiters, name, || ShareLimiter::new(limit, nodes));
        limiter.configure(limit, nodes);
        limiter
    }

    fn counter(&self, name: &str) -> Arc<dyn PeriodCounter> {
        let counter: Arc<SyncedCounter> = intern(&self.counters, name, SyncedCounter::default);
        counter
    }

    fn authorizer_cache(&self) -> &TtlCache {
        &self.cache
    }

    fn connections(&self) -> &dyn Connections {
        &self.connections
    }
}

/// A node's share of a cluster-wide rate limit.
pub struct ShareLimiter {
    gcra: Gcra,
    /// The cluster-wide limit (read by the sync task when the node count changes).
    limit: Mutex<RateLimit>,
}

/// One node's share of `limit` among `nodes`.
fn share(limit: RateLimit, nodes: u64) -> RateLimit {
    let nodes = nodes.max(1);
    RateLimit::new(limit.rate / nodes as f64, limit.burst.div_ceil(nodes))
}

impl ShareLimiter {
    fn new(limit: RateLimit, nodes: u64) -> Self {
        Self {
            gcra: Gcra::new(share(limit, nodes)),
            limit: Mutex::new(limit),
        }
    }

    fn configure(&self, limit: RateLimit, nodes: u64) {
        *self.limit.lock().unwrap_or_else(|e| e.into_inner()) = limit;
        self.gcra.set_limit(share(limit, nodes));
    }

    fn reshare(&self, nodes: u64) {
        let limit = *self.limit.lock().unwrap_or_else(|e| e.into_inner());
        self.gcra.set_limit(share(limit, nodes));
    }
}

impl RateLimiter for ShareLimiter {
    fn try_acquire(&self) -> bool {
        self.gcra.try_acquire()
    }
}

/// A quota counter: the cluster's count as last synced plus this node's uses since, and the
/// uses (and restored counts) Redis has not been told of yet.
#[derive(Default)]
pub struct SyncedCounter {
    count: AtomicPeriodCounter,
    unsynced: AtomicPeriodCounter,
    /// A count to raise the cluster's to (from [`PeriodCounter::set`]), 0 for none.
    floor: AtomicPeriodCounter,
}

impl PeriodCounter for SyncedCounter {
    fn try_take(&self, period: u64, limit: u64) -> bool {
        let taken = self.count.try_take(period, limit);
        if taken {
            self.unsynced.add(period, 1);
        }
        taken
    }

    fn used(&self, period: u64) -> u64 {
        self.count.used(period)
    }

    fn set(&self, period: u64, used: u64) {
        let current = self.count.used(period);
        self.count.set(period, current.max(used));
        self.floor.set(period, used);
    }
}

/// The background task of one node.
struct Sync {
    shared: Weak<RedisShared>,
    conn: ConnectionManager,
    keys: Keys,
}

impl Sync {
    async fn run(mut self) {
        let mut tick = tokio::time::interval(SYNC_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(shared) = self.shared.upgrade() else {
                return;
            };
            let result = async {
                self.heartbeat_and_reshare(&shared).await?;
                self.sync_counters(&shared).await?;
                shared.connections.refresh(&mut self.conn).await
            }
            .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "redis sync failed; serving on local state");
            }
        }
    }

    /// Renews this node's heartbeat and counts the live nodes.
    async fn heartbeat(&mut self) -> redis::RedisResult<u64> {
        let now = now_millis();
        let (_, _, nodes): ((), (), u64) = redis::pipe()
            .zadd(self.keys.nodes(), &self.keys.node, now + NODE_TTL_MS)
            .zrembyscore(self.keys.nodes(), 0, now)
            .zcard(self.keys.nodes())
            .pexpire(self.keys.nodes(), NODE_TTL_MS as i64)
            .ignore()
            .query_async(&mut self.conn)
            .await?;
        Ok(nodes.max(1))
    }

    async fn heartbeat_and_reshare(&mut self, shared: &RedisShared) -> Result<(), String> {
        let nodes = self.heartbeat().await.map_err(redis_error)?;
        if shared.nodes.swap(nodes, Ordering::Relaxed) != nodes {
            tracing::info!(nodes, "cluster size changed; rate limits reshared");
            for (_, limiter) in RedisShared::live(&shared.limiters) {
                limiter.reshare(nodes);
            }
        }
        Ok(())
    }

    /// Adds each counter's unsynced uses to Redis and takes the cluster totals back, in one
    /// round trip.
    async fn sync_counters(&mut self, shared: &RedisShared) -> Result<(), String> {
        let mut pipe = redis::pipe();
        let mut synced = Vec::new();
        for (name, counter) in RedisShared::live(&shared.counters) {
            let Some(period) = counter.count.period() else {
                continue;
            };
            let key = self.keys.quota(&name, period);
            let (floor_period, floor) = counter.floor.take();
            if floor > 0 && floor_period == period {
                pipe.cmd("EVAL")
                    .arg(RAISE_TO)
                    .arg(1)
                    .arg(&key)
                    .arg(floor)
                    .ignore();
            }
            let (unsynced_period, unsynced) = counter.unsynced.take();
            let delta = if unsynced_period == period {
                unsynced
            } else {
                0
            };
            pipe.incr(&key, delta)
                .expire(&key, QUOTA_TTL_SECONDS as i64)
                .ignore();
            synced.push((counter, period, delta));
        }
        if synced.is_empty() {
            return Ok(());
        }
        match pipe.query_async::<Vec<u64>>(&mut self.conn).await {
            Ok(totals) => {
                for ((counter, period, _), total) in synced.iter().zip(totals) {
                    counter.count.resync(*period, total, &counter.unsynced);
                }
                Ok(())
            }
            Err(e) => {
                // Not added: keep the uses for the next sync.
                for (counter, period, delta) in synced {
                    counter.unsynced.add(period, delta);
                }
                Err(redis_error(e))
            }
        }
    }
}

/// Raises a count to at least ARGV[1].
const RAISE_TO: &str = "local c = tonumber(redis.call('GET', KEYS[1]) or '0') \
     if c < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end return 0";

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests;
