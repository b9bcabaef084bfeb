//! The listener loop: HTTP/1.1 and HTTP/2 on one port, in cleartext or over TLS (HTTP/2 by
//! ALPN), with a large accept backlog, a deadline for the TLS handshake and for reading
//! request headers, a cap on header size, and a graceful stop that lets requests in flight
//! finish.
//!
//! Each connection's task serves plain HTTP/1.x requests itself ([`connection`], [`wire`]);
//! from the first request it does not take (a streamed body, an upgrade, HTTP/2, a bad head)
//! hyper serves the rest of the connection.

mod connection;
mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub use connection::RequestBody;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type ResponseBody = UnsyncBoxBody<Bytes, BoxError>;

/// Pending connections the kernel queues for us; the default of 128 collapses under bursts.
pub const ACCEPT_BACKLOG: u32 = 4096;
/// A client gets this long to send its request headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (request line and headers) read; beyond it the client gets 431.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// How long a graceful stop waits for requests in flight.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Client connections open on every listener of this process.
static OPEN_CONNECTIONS: AtomicI64 = AtomicI64::new(0);

/// The number of client connections open now (for the `tollgate_open_connections` gauge).
pub fn open_connections() -> i64 {
    OPEN_CONNECTIONS.load(Ordering::Relaxed)
}

/// A listener's TLS settings: a certificate chain and its key, from PEM files. Offers HTTP/2
/// and HTTP/1.1 by ALPN.
#[derive(Clone)]
pub struct Tls(TlsAcceptor);

impl Tls {
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, String> {
        let certs = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("TLS certificate {}: {e}", cert.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "TLS certificate {}: no certificate in it",
                cert.display()
            ));
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| format!("TLS key {}: {e}", key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
            .map_err(|e| format!("TLS certificate and key do not fit: {e}"))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self(TlsAcceptor::from(Arc::new(config))))
    }
}

/// Binds a listener with [`ACCEPT_BACKLOG`].
pub fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(address)?;
    socket.listen(ACCEPT_BACKLOG)
}

/// Serves connections with `handler` (over TLS when `tls` is given) until `shutdown`
/// resolves, then drains.
pub async fn serve<H, F>(
    listener: TcpListener,
    tls: Option<Tls>,
    handler: H,
    shutdown: impl Future<Output = ()>,
) where
    H: Fn(Request<RequestBody>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<ResponseBody>> + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256);
    let hyper = Arc::new(builder);
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = connection::Service {
            handler: handler.clone(),
            hyper: Arc::clone(&hyper),
            stopping: stopping.clone(),
        };
        let Some(Tls(acceptor)) = &tls else {
            tokio::spawn(counted(connection::serve(stream, remote, service)));
            continue;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(counted(async move {
            let stream = match tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(stream))
                .await
            {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => return tracing::debug!(error = %e, %remote, "TLS handshake failed"),
                Err(_) => return tracing::debug!(%remote, "TLS handshake timed out"),
            };
            connection::serve(stream, remote, service).await;
        }));
    }
    drop(listener);
    drop(stopping);
    let _ = stop.send(true);
    tokio::select! {
        () = stop.closed() => tracing::info!("all connections drained"),
        () = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::warn!("drain timed out; closing remaining connections"),
    }
}

/// Runs one connection, counted in [`open_connections`].
async fn counted(connection: impl Future<Output = ()>) {
    OPEN_CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    connection.await;
    OPEN_CONNECTIONS.fetch_sub(1, Ordering::Relaxed);
}
