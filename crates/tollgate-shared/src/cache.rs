//! A small TTL cache (of bytes by default): sharded maps under short locks, bounded in size.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;
/// Entries per shard; a full shard drops its expired entries, then (if still full) all.
const SHARD_CAPACITY: usize = 4096;

type Shard<V> = HashMap<String, (Instant, V)>;

pub struct TtlCache<V = Vec<u8>> {
    shards: Vec<Mutex<Shard<V>>>,
}

impl<V> Default for TtlCache<V> {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

impl<V: Clone> TtlCache<V> {
    fn shard(&self, key: &str) -> std::sync::MutexGuard<'_, Shard<V>> {
        // FNV-1a: cheap and good enough to spread keys over shards.
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        self.shards[hash as usize % SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &str) -> Option<V> {
        let mut shard = self.shard(key);
        match shard.get(key) {
            Some((expires, value)) if *expires > Instant::now() => Some(value.clone()),
            Some(_) => {
                shard.remove(key);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, key: String, value: V, ttl: Duration) {
        let now = Instant::now();
        let mut shard = self.shard(&key);
        if shard.len() >= SHARD_CAPACITY {
            shard.retain(|_, (expires, _)| *expires > now);
            if shard.len() >= SHARD_CAPACITY {
                shard.clear();
            }
        }
        shard.insert(key, (now + ttl, value));
    }

    /// Drops every entry whose key starts with `prefix`.
    pub fn remove_prefix(&self, prefix: &str) {
        for shard in &self.shards {
            shard
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|k, _| !k.starts_with(prefix));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_prefixes_flush() {
        let cache = TtlCache::default();
        cache.put("a/1".into(), b"x".to_vec(), Duration::from_secs(60));
        cache.put("b/1".into(), b"y".to_vec(), Duration::from_secs(60));
        cache.put("a/2".into(), b"z".to_vec(), Duration::ZERO);
        assert_eq!(cache.get("a/1").as_deref(), Some(&b"x"[..]));
        assert_eq!(cache.get("a/2"), None);
        cache.remove_prefix("a/");
        assert_eq!(cache.get("a/1"), None);
        assert_eq!(cache.get("b/1").as_deref(), Some(&b"y"[..]));
    }
}
