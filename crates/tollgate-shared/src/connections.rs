//! The WebSocket connection registry: which connections are open, and a way to reach each
//! (send a message, read its details, close it) from wherever an `@connections` request
//! lands. In-process, a map from connection id to the connection's [`ConnectionHandle`]; in a
//! cluster, the same trait over node messages, so a POST on one node reaches a connection held
//! by another.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// What is known of an open connection (`GetConnection`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// Milliseconds since the epoch.
    pub connected_at: u64,
    pub last_active_at: u64,
    pub source_ip: String,
    pub user_agent: String,
}

/// Why a message could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryError {
    /// The connection is closed or never existed (`GoneException`).
    Gone,
    /// The connection's outgoing buffer is full (`LimitExceededException`).
    Full,
}

/// One open connection, as the node holding it exposes it.
pub trait ConnectionHandle: Send + Sync {
    fn send(&self, data: Vec<u8>, binary: bool) -> Result<(), DeliveryError>;
    /// Closes the connection (the client gets a close frame, `$disconnect` runs).
    fn close(&self);
    fn info(&self) -> ConnectionInfo;
}

/// Every open connection, by id.
pub trait Connections: Send + Sync {
    fn register(&self, id: &str, handle: Arc<dyn ConnectionHandle>);
    fn unregister(&self, id: &str);
    fn post(&self, id: &str, data: Vec<u8>, binary: bool) -> Result<(), DeliveryError>;
    fn info(&self, id: &str) -> Option<ConnectionInfo>;
    /// Closes the connection; `false` when there is none.
    fn disconnect(&self, id: &str) -> bool;
    fn count(&self) -> usize;
}

/// The connections of this process.
#[derive(Default)]
pub struct LocalConnections {
    open: RwLock<HashMap<Box<str>, Arc<dyn ConnectionHandle>>>,
}

impl LocalConnections {
    fn get(&self, id: &str) -> Option<Arc<dyn ConnectionHandle>> {
        self.open
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }
}

impl Connections for LocalConnections {
    fn register(&self, id: &str, handle: Arc<dyn ConnectionHandle>) {
        self.open
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.into(), handle);
    }

    fn unregister(&self, id: &str) {
        self.open
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    fn post(&self, id: &str, data: Vec<u8>, binary: bool) -> Result<(), DeliveryError> {
        self.get(id).ok_or(DeliveryError::Gone)?.send(data, binary)
    }

    fn info(&self, id: &str) -> Option<ConnectionInfo> {
        self.get(id).map(|h| h.info())
    }

    fn disconnect(&self, id: &str) -> bool {
        match self.get(id) {
            Some(h) => {
                h.close();
                true
            }
            None => false,
        }
    }

    fn count(&self) -> usize {
        self.open.read().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Fake {
        sent: Mutex<Vec<Vec<u8>>>,
        closed: Mutex<bool>,
    }

    impl ConnectionHandle for Fake {
        fn send(&self, data: Vec<u8>, _binary: bool) -> Result<(), DeliveryError> {
            if *self.closed.lock().unwrap() {
                return Err(DeliveryError::Gone);
            }
            self.sent.lock().unwrap().push(data);
            Ok(())
        }
        fn close(&self) {
            *self.closed.lock().unwrap() = true;
        }
        fn info(&self) -> ConnectionInfo {
            ConnectionInfo {
                connected_at: 1,
                last_active_at: 2,
                source_ip: "127.0.0.1".into(),
                user_agent: "t".into(),
            }
        }
    }

    #[test]
    fn messages_reach_registered_connections_only() {
        let registry = LocalConnections::default();
        let fake = Arc::new(Fake::default());
        registry.register("a", fake.clone());
        assert_eq!(registry.post("a", b"hi".to_vec(), false), Ok(()));
        assert_eq!(
            registry.post("b", b"hi".to_vec(), false),
            Err(DeliveryError::Gone)
        );
        assert_eq!(registry.info("a").unwrap().connected_at, 1);
        assert!(registry.disconnect("a"));
        assert_eq!(
            registry.post("a", b"x".to_vec(), false),
            Err(DeliveryError::Gone)
        );
        registry.unregister("a");
        assert!(registry.info("a").is_none());
        assert!(!registry.disconnect("a"));
        assert_eq!(fake.sent.lock().unwrap().len(), 1);
        assert_eq!(registry.count(), 0);
    }
}
