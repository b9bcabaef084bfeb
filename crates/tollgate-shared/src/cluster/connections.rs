//! WebSocket connections across nodes.
//!
//! Each node keeps its own connections in a [`LocalConnections`] and records in Redis which
//! node holds each (`{prefix}:conn:{id}` = node id, expiring unless the node renews it, so a
//! crashed node's connections are forgotten). An `@connections` request for a connection this
//! node does not hold looks up its node and forwards the request over that node's pub/sub
//! channel (`{prefix}:node:{node}`); the holder answers on the asker's channel. No holder, no
//! subscriber on its channel, or no answer within [`ANSWER_WITHIN`]: the connection is gone.
//!
//! The [`Connections`] trait is synchronous, so a forwarded request waits in
//! `block_in_place` (only `@connections` calls for remote connections do; the request path of
//! APIs never does). That needs the multi-threaded runtime, which `tollgate serve` runs on.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tokio::sync::oneshot;

use super::{Keys, RedisShared, redis_error};
use crate::{ConnectionHandle, ConnectionInfo, Connections, DeliveryError, LocalConnections};

/// How long the asker waits for the holder's answer.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(2);
/// How long a connection's record lives without renewal.
const RECORD_TTL_MS: u64 = 60_000;
/// Renew the records every this many syncs (10 s).
const RENEW_EVERY_SYNCS: u64 = 100;

pub struct ClusterConnections {
    local: LocalConnections,
    /// The ids in `local`, for renewing their records.
    ids: Mutex<HashSet<String>>,
    keys: Keys,
    conn: ConnectionManager,
    waiting: Mutex<HashMap<u64, oneshot::Sender<Answer>>>,
    next_request: AtomicU64,
    syncs: AtomicU64,
}

/// What a forwarded request asks the holder to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Post { binary: bool },
    Info,
    Disconnect,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Done,
    Gone,
    Full,
    Info(ConnectionInfo),
}

impl ClusterConnections {
    pub(super) fn new(keys: Keys, conn: ConnectionManager) -> Self {
        Self {
            local: LocalConnections::default(),
            ids: Mutex::default(),
            keys,
            conn,
            waiting: Mutex::default(),
            next_request: AtomicU64::new(1),
            syncs: AtomicU64::new(0),
        }
    }

    pub(super) fn node(&self) -> &str {
        &self.keys.node
    }

    fn holds(&self, id: &str) -> bool {
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(id)
    }

    /// Renews the records of this node's connections now and then.
    pub(super) async fn refresh(&self, conn: &mut ConnectionManager) -> Result<(), String> {
        if !self
            .syncs
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(RENEW_EVERY_SYNCS)
        {
            return Ok(());
        }
        let ids: Vec<String> = self
            .ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.pset_ex(self.keys.connection(&id), &self.keys.node, RECORD_TTL_MS)
                .ignore();
        }
        pipe.query_async::<()>(conn).await.map_err(redis_error)
    }

    /// Runs `op` on the node holding `id`, waiting for its answer.
    fn forward(&self, id: &str, op: Op, data: Vec<u8>) -> Answer {
        let runtime = tokio::runtime::Handle::current();
        if runtime.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            tracing::warn!("cannot reach other nodes' connections from this runtime");
            return Answer::Gone;
        }
        tokio::task::block_in_place(|| runtime.block_on(self.ask(id, op, data)))
    }

    async fn ask(&self, id: &str, op: Op, data: Vec<u8>) -> Answer {
        let mut conn = self.conn.clone();
        let holder: Option<String> = match conn.get(self.keys.connection(id)).await {
            Ok(holder) => holder,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look up a connection's node");
                return Answer::Gone;
            }
        };
        let Some(holder) = holder.filter(|h| *h != self.keys.node) else {
            return Answer::Gone;
        };
        let request = self.next_request.fetch_add(1, Ordering::Relaxed);
        let (answer, answered) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(request, answer);
        let message = encode_request(request, &self.keys.node, op, id, &data);
        let receivers: redis::RedisResult<u64> =
            conn.publish(self.keys.channel(&holder), message).await;
        let answer = match receivers {
            Ok(n) if n > 0 => tokio::time::timeout(ANSWER_WITHIN, answered)
                .await
                .ok()
                .and_then(Result::ok),
            _ => None,
        };
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&request);
        answer.unwrap_or(Answer::Gone)
    }

    /// Answers a request forwarded by another node, from this node's connections.
    fn answer(&self, op: Op, id: &str, data: Vec<u8>) -> Answer {
        match op {
            Op::Post { binary } => match self.local.post(id, data, binary) {
                Ok(()) => Answer::Done,
                Err(DeliveryError::Gone) => Answer::Gone,
                Err(DeliveryError::Full) => Answer::Full,
            },
            Op::Info => self.local.info(id).map_or(Answer::Gone, Answer::Info),
            Op::Disconnect => {
                if self.local.disconnect(id) {
                    Answer::Done
                } else {
                    Answer::Gone
                }
            }
        }
    }

    /// Handles one message on this node's channel.
    fn receive(&self, message: &[u8]) {
        match decode(message) {
            Some(Message::Request {
                request,
                origin,
                op,
                id,
                data,
            }) => {
                let answer = self.answer(op, &id, data);
                let reply = encode_answer(request, &answer);
                let channel = self.keys.channel(&origin);
                let mut conn = self.conn.clone();
                tokio::spawn(async move {
                    let sent: redis::RedisResult<u64> = conn.publish(channel, reply).await;
                    if let Err(e) = sent {
                        tracing::warn!(error = %e, "cannot answer another node");
                    }
                });
            }
            Some(Message::Answer { request, answer }) => {
                let waiting = self
                    .waiting
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&request);
                if let Some(waiting) = waiting {
                    let _ = waiting.send(answer);
                }
            }
            None => tracing::warn!("ignoring a malformed node message"),
        }
    }
}

impl Connections for ClusterConnections {
    fn register(&self, id: &str, handle: Arc<dyn ConnectionHandle>) {
        self.local.register(id, handle);
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string());
        let (key, node, mut conn) = (
            self.keys.connection(id),
            self.keys.node.clone(),
            self.conn.clone(),
        );
        tokio::spawn(async move {
            let set: redis::RedisResult<()> = conn.pset_ex(key, node, RECORD_TTL_MS).await;
            if let Err(e) = set {
                tracing::warn!(error = %e, "cannot record a connection in redis");
            }
        });
    }

    fn unregister(&self, id: &str) {
        self.local.unregister(id);
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        let (key, mut conn) = (self.keys.connection(id), self.conn.clone());
        tokio::spawn(async move {
            let deleted: redis::RedisResult<()> = conn.del(key).await;
            if let Err(e) = deleted {
                tracing::warn!(error = %e, "cannot forget a connection in redis");
            }
        });
    }

    fn post(&self, id: &str, data: Vec<u8>, binary: bool) -> Result<(), DeliveryError> {
        if self.holds(id) {
            return self.local.post(id, data, binary);
        }
        match self.forward(id, Op::Post { binary }, data) {
            Answer::Done | Answer::Info(_) => Ok(()),
            Answer::Gone => Err(DeliveryError::Gone),
            Answer::Full => Err(DeliveryError::Full),
        }
    }

    fn info(&self, id: &str) -> Option<ConnectionInfo> {
        if self.holds(id) {
            return self.local.info(id);
        }
        match self.forward(id, Op::Info, Vec::new()) {
            Answer::Info(info) => Some(info),
            _ => None,
        }
    }

    fn disconnect(&self, id: &str) -> bool {
        if self.holds(id) {
            return self.local.disconnect(id);
        }
        self.forward(id, Op::Disconnect, Vec::new()) == Answer::Done
    }

    /// The connections of this node.
    fn count(&self) -> usize {
        self.local.count()
    }
}

/// Subscribes to this node's channel (before returning, so the node is reachable once
/// serving) and keeps following it, resubscribing after a lost connection.
pub(super) async fn listen(
    shared: Weak<RedisShared>,
    client: redis::Client,
    keys: &Keys,
) -> Result<(), String> {
    let channel = keys.channel(&keys.node);
    let mut pubsub = client.get_async_pubsub().await.map_err(redis_error)?;
    pubsub.subscribe(&channel).await.map_err(redis_error)?;
    tokio::spawn(async move {
        loop {
            let mut messages = pubsub.into_on_message();
            while let Some(message) = messages.next().await {
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                shared.connections.receive(message.get_payload_bytes());
            }
            if shared.strong_count() == 0 {
                return;
            }
            tracing::warn!("lost the node channel; resubscribing");
            pubsub = loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let subscribed = async {
                    let mut pubsub = client.get_async_pubsub().await?;
                    pubsub.subscribe(&channel).await?;
                    redis::RedisResult::Ok(pubsub)
                };
                if let Ok(pubsub) = subscribed.await {
                    break pubsub;
                }
            };
        }
    });
    Ok(())
}

// The wire format of node messages: a tag byte, then fixed-width integers (big-endian) and
// length-prefixed strings.
const REQUEST: u8 = b'Q';
const ANSWER: u8 = b'A';

enum Message {
    Request {
        request: u64,
        origin: String,
        op: Op,
        id: String,
        data: Vec<u8>,
    },
    Answer {
        request: u64,
        answer: Answer,
    },
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn encode_request(request: u64, origin: &str, op: Op, id: &str, data: &[u8]) -> Vec<u8> {
    let mut out = vec![REQUEST];
    out.extend_from_slice(&request.to_be_bytes());
    put_str(&mut out, origin);
    out.push(match op {
        Op::Post { binary: false } => b't',
        Op::Post { binary: true } => b'b',
        Op::Info => b'i',
        Op::Disconnect => b'd',
    });
    put_str(&mut out, id);
    out.extend_from_slice(data);
    out
}

fn encode_answer(request: u64, answer: &Answer) -> Vec<u8> {
    let mut out = vec![ANSWER];
    out.extend_from_slice(&request.to_be_bytes());
    match answer {
        Answer::Done => out.push(b'd'),
        Answer::Gone => out.push(b'g'),
        Answer::Full => out.push(b'f'),
        Answer::Info(info) => {
            out.push(b'i');
            out.extend_from_slice(&info.connected_at.to_be_bytes());
            out.extend_from_slice(&info.last_active_at.to_be_bytes());
            put_str(&mut out, &info.source_ip);
            put_str(&mut out, &info.user_agent);
        }
    }
    out
}

/// Reads a message front to back; `None` on anything malformed.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn byte(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.bytes(8)?.try_into().ok()?))
    }
    fn string(&mut self) -> Option<String> {
        let len = u32::from_be_bytes(self.bytes(4)?.try_into().ok()?) as usize;
        String::from_utf8(self.bytes(len)?.to_vec()).ok()
    }
}

fn decode(message: &[u8]) -> Option<Message> {
    let mut r = Reader(message);
    let tag = r.byte()?;
    let request = r.u64()?;
    match tag {
        REQUEST => {
            let origin = r.string()?;
            let op = match r.byte()? {
                b't' => Op::Post { binary: false },
                b'b' => Op::Post { binary: true },
                b'i' => Op::Info,
                b'd' => Op::Disconnect,
                _ => return None,
            };
            let id = r.string()?;
            Some(Message::Request {
                request,
                origin,
                op,
                id,
                data: r.0.to_vec(),
            })
        }
        ANSWER => {
            let answer = match r.byte()? {
                b'd' => Answer::Done,
                b'g' => Answer::Gone,
                b'f' => Answer::Full,
                b'i' => Answer::Info(ConnectionInfo {
                    connected_at: r.u64()?,
                    last_active_at: r.u64()?,
                    source_ip: r.string()?,
                    user_agent: r.string()?,
                }),
                _ => return None,
            };
            Some(Message::Answer { request, answer })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_messages_round_trip() {
        let request = encode_request(7, "node1", Op::Post { binary: true }, "abc=", b"\x00hi");
        match decode(&request) {
            Some(Message::Request {
                request,
                origin,
                op,
                id,
                data,
            }) => {
                assert_eq!(
                    (request, origin.as_str(), op, id.as_str(), data.as_slice()),
                    (
                        7,
                        "node1",
                        Op::Post { binary: true },
                        "abc=",
                        &b"\x00hi"[..]
                    )
                );
            }
            _ => panic!("not a request"),
        }
        let info = Answer::Info(ConnectionInfo {
            connected_at: 1,
            last_active_at: 2,
            source_ip: "10.0.0.1".into(),
            user_agent: "ua".into(),
        });
        match decode(&encode_answer(9, &info)) {
            Some(Message::Answer { request, answer }) => assert_eq!((request, answer), (9, info)),
            _ => panic!("not an answer"),
        }
        assert!(decode(&encode_answer(9, &Answer::Gone)[..5]).is_none());
        assert!(decode(b"").is_none());
    }
}
