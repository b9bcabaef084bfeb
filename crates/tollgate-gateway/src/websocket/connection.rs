//! One open WebSocket connection: what is known of it, the handle `@connections` reaches it
//! through, and the task that serves it.
//!
//! Memory per idle connection is what matters at scale, so a connection is one task (no task
//! per direction) holding the socket with a small read buffer, a small bounded queue of
//! outgoing messages, and two timers (idle and maximum duration). Messages are routed in a
//! task of their own, so a slow integration does not hold up the socket.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tollgate_plan::websocket::WsStagePlan;
use tollgate_shared::{ConnectionHandle, ConnectionInfo, DeliveryError};

use super::Runtime;

/// Largest frame payload accepted (AWS: 32 KB).
pub const MAX_FRAME_BYTES: usize = 32 * 1024;
/// Largest message accepted, in or out (AWS: 128 KB); a larger one closes with 1009.
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024;
/// Outgoing messages queued per connection before `@connections` answers 429.
const OUTGOING_QUEUE: usize = 16;

/// The socket's buffers: small, so an idle connection costs little.
pub fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(2 * MAX_MESSAGE_BYTES)
        .max_frame_size(Some(MAX_FRAME_BYTES))
        .max_message_size(Some(MAX_MESSAGE_BYTES))
}

/// The handshake request, as the `$connect` route sees it.
#[derive(Default)]
pub struct ConnectRequest {
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
}

impl ConnectRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What is known of a connection for as long as it is open.
pub struct Connection {
    pub id: String,
    pub api_id: String,
    pub stage: String,
    /// The `Host` the client connected to: the domain `@connections` calls go to.
    pub domain_name: String,
    /// Milliseconds since the epoch.
    pub connected_at: u64,
    pub source_ip: String,
    pub user_agent: String,
    pub last_active: AtomicU64,
    pub plan: Arc<WsStagePlan>,
    /// What the `$connect` authorizer answered (`principalId` and its context).
    pub authorizer: Option<serde_json::Value>,
    /// The `AWS_IAM` caller of `$connect`.
    pub iam: Option<Arc<tollgate_iam::Principal>>,
    /// The API key the connection was admitted with: its messages count against its plan.
    pub api_key: Option<String>,
}

pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Connection {
    fn touch(&self) {
        self.last_active.store(now_millis(), Ordering::Relaxed);
    }
}

/// A message on its way to the client. Boxed: every connection's queue allocates its first
/// block of slots up front, so the slot's size counts for every idle connection.
type Outgoing = Box<Message>;

fn to_client(data: Vec<u8>, binary: bool) -> Outgoing {
    Box::new(if binary {
        Message::Binary(data.into())
    } else {
        match String::from_utf8(data) {
            Ok(text) => Message::Text(text.into()),
            Err(e) => Message::Binary(e.into_bytes().into()),
        }
    })
}

fn closed_by_the_api() -> Outgoing {
    Box::new(close_frame(CloseCode::Normal, CLOSED_BY_THE_API))
}

const CLOSED_BY_THE_API: &str = "Connection closed by the API";

/// How `@connections` reaches the connection.
struct Handle {
    queue: mpsc::Sender<Outgoing>,
    connection: Arc<Connection>,
}

impl ConnectionHandle for Handle {
    fn send(&self, data: Vec<u8>, binary: bool) -> Result<(), DeliveryError> {
        self.queue
            .try_send(to_client(data, binary))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => DeliveryError::Full,
                mpsc::error::TrySendError::Closed(_) => DeliveryError::Gone,
            })
    }

    fn close(&self) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.queue.try_send(closed_by_the_api()) {
            let queue = self.queue.clone();
            tokio::spawn(async move { queue.send(closed_by_the_api()).await });
        }
    }

    fn info(&self) -> ConnectionInfo {
        ConnectionInfo {
            connected_at: self.connection.connected_at,
            last_active_at: self.connection.last_active.load(Ordering::Relaxed),
            source_ip: self.connection.source_ip.clone(),
            user_agent: self.connection.user_agent.clone(),
        }
    }
}

/// A sender of messages to the client from a routed message's task.
#[derive(Clone)]
pub struct Reply(mpsc::Sender<Outgoing>);

impl Reply {
    pub async fn send(&self, data: Vec<u8>) {
        let _ = self.0.send(to_client(data, false)).await;
    }
}

fn close_frame(code: CloseCode, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// Once the handshake's upgrade completes, serves the connection until either side closes it
/// or it times out, then runs `$disconnect`. This future is the connection's task, alive for
/// as long as the connection: `$disconnect` runs boxed so that the integration call's state
/// is not part of every idle connection's task.
pub async fn serve(runtime: Arc<Runtime>, connection: Arc<Connection>, upgrade: OnUpgrade) {
    let upgraded = match upgrade.await {
        Ok(upgraded) => upgraded,
        Err(error) => {
            tracing::debug!(connection = connection.id, %error, "WebSocket upgrade failed");
            Box::pin(super::route::disconnect(
                &runtime,
                &connection,
                1006,
                "Upgrade failed",
            ))
            .await;
            return;
        }
    };
    let (queue, mut outgoing) = mpsc::channel(OUTGOING_QUEUE);
    let handle = Arc::new(Handle {
        queue: queue.clone(),
        connection: Arc::clone(&connection),
    });
    let connections = runtime.shared.connections();
    connections.register(&connection.id, handle);
    let mut socket = WebSocketStream::from_raw_socket(
        TokioIo::new(upgraded),
        Role::Server,
        Some(socket_config()),
    )
    .await;
    let settings = &runtime.settings;
    let idle = tokio::time::sleep(settings.idle_timeout);
    let deadline = tokio::time::sleep(settings.max_duration);
    tokio::pin!(idle, deadline);
    let reply = Reply(queue);
    let (status, reason): (u16, &str) = loop {
        tokio::select! {
            frame = socket.next() => match frame {
                Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                    connection.touch();
                    super::count_message(&connection.plan);
                    idle.as_mut().reset(Instant::now() + settings.idle_timeout);
                    let binary = message.is_binary();
                    let data = message.into_data().to_vec();
                    tokio::spawn(super::route::message(
                        Arc::clone(&runtime),
                        Arc::clone(&connection),
                        reply.clone(),
                        data,
                        binary,
                    ));
                }
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.as_ref().map_or(1005, |f| u16::from(f.code));
                    // tungstenite answers the close frame itself; drive it out.
                    let _ = socket.flush().await;
                    break (code, "Client closed the connection");
                }
                Some(Ok(_)) => {
                    // Ping and pong: tungstenite answers pings itself.
                    connection.touch();
                    idle.as_mut().reset(Instant::now() + settings.idle_timeout);
                }
                Some(Err(WsError::Capacity(
                    CapacityError::MessageTooLong { .. },
                ))) => {
                    let _ = socket.send(close_frame(CloseCode::Size, "Message too big")).await;
                    break (1009, "Message too big");
                }
                Some(Err(error)) => {
                    tracing::debug!(connection = connection.id, %error, "WebSocket read failed");
                    break (1006, "Connection ended abnormally");
                }
                None => break (1006, "Connection ended abnormally"),
            },
            out = outgoing.recv() => match out {
                Some(message) if !message.is_close() => {
                    connection.touch();
                    if socket.send(*message).await.is_err() {
                        break (1006, "Connection ended abnormally");
                    }
                    super::count_message(&connection.plan);
                }
                // Only `close` queues a close frame; the queue never ends while `reply` lives.
                close => {
                    let close = close.unwrap_or_else(closed_by_the_api);
                    let _ = socket.send(*close).await;
                    break (1000, CLOSED_BY_THE_API);
                }
            },
            () = &mut idle => {
                let _ = socket.send(close_frame(CloseCode::Away, "Going away")).await;
                break (1001, "Going away");
            }
            () = &mut deadline => {
                let _ = socket.send(close_frame(CloseCode::Away, "Going away")).await;
                break (1001, "Going away");
            }
        }
    };
    connections.unregister(&connection.id);
    drop(outgoing);
    drop(socket);
    Box::pin(super::route::disconnect(
        &runtime,
        &connection,
        status,
        reason,
    ))
    .await;
}

/// Idle and lifetime limits, and the account's rate of new connections.
#[derive(Debug, Clone)]
pub struct Settings {
    pub idle_timeout: Duration,
    pub max_duration: Duration,
    pub connect_rate: f64,
}

impl Settings {
    /// AWS's limits, each overridable from the environment: `TOLLGATE_WS_IDLE_TIMEOUT_SECS`
    /// (600), `TOLLGATE_WS_MAX_CONNECTION_SECS` (7200), `TOLLGATE_WS_CONNECT_RATE` (500 new
    /// connections per second).
    pub fn from_env() -> Self {
        let number = |name: &str, default: f64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| *v > 0.0)
                .unwrap_or(default)
        };
        Self {
            idle_timeout: Duration::from_secs_f64(number("TOLLGATE_WS_IDLE_TIMEOUT_SECS", 600.0)),
            max_duration: Duration::from_secs_f64(number(
                "TOLLGATE_WS_MAX_CONNECTION_SECS",
                7200.0,
            )),
            connect_rate: number("TOLLGATE_WS_CONNECT_RATE", 500.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hyper::upgrade::OnUpgrade;

    use super::{Connection, Runtime};

    /// The size of the future an async fn returns, without calling it.
    fn future_size<A, B, C, F>(_: impl FnOnce(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    #[test]
    fn a_connection_task_does_not_hold_the_disconnect_integration_inline() {
        let task =
            future_size(|r: Arc<Runtime>, c: Arc<Connection>, u: OnUpgrade| super::serve(r, c, u));
        let disconnect = future_size(|r: &Runtime, c: &Connection, s: u16| {
            super::super::route::disconnect(r, c, s, "")
        });
        eprintln!("connection task {task} bytes, $disconnect {disconnect} bytes");
        assert!(task < 1536, "a connection's task is {task} bytes");
    }

    #[test]
    fn outgoing_queue_slots_are_one_pointer() {
        assert_eq!(
            std::mem::size_of::<super::Outgoing>(),
            std::mem::size_of::<usize>()
        );
    }
}
