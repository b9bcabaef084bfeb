//! The client for HTTP backends: pooled keep-alive connections (HTTP/1.1, and HTTP/2 where the
//! backend offers it over TLS), TLS with the system's roots, an opt-out of certificate checks
//! for `tlsConfig.insecureSkipVerification`, and a cap on concurrent requests per backend so
//! that a slow backend gets back-pressure instead of unbounded sockets.
//!
//! Plain `http` backends, the proxy's hot path, keep their own HTTP/1.1 connections, driven by
//! the request's own task ([`super::http1`]), without the general-purpose client's machinery.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::ClientConfig;
use tokio::sync::Semaphore;

use super::http1::{self, Connection, ExchangeError};

pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Concurrent requests to one backend (scheme, host and port) at most; more wait their turn
/// within the integration's timeout.
pub const MAX_CONCURRENT_PER_BACKEND: usize = 1024;

/// How long a kept-alive backend connection may sit idle before it is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle connections kept per backend at most.
const MAX_IDLE_PER_BACKEND: usize = 256;

pub struct BackendClient {
    verified: HttpClient,
    unverified: HttpClient,
    /// Each backend (scheme, host and port) this node has called, by authority.
    backends: Mutex<crate::plans::ByName<Arc<Backend>>>,
}

/// What the client keeps per backend: its cap on concurrent requests, and (for plain `http`)
/// its kept-alive HTTP/1.1 connections.
struct Backend {
    /// The `Host` header of requests to it: its authority.
    host: Option<hyper::header::HeaderValue>,
    slots: Semaphore,
    /// Oldest first: reuse takes the newest, expiry drops from the front.
    idle: Mutex<VecDeque<(Connection, Instant)>>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn build(tls: ClientConfig) -> HttpClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(IDLE_TIMEOUT)
        .pool_max_idle_per_host(MAX_IDLE_PER_BACKEND)
        .build(connector)
}

fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::warn!(%error, "could not load a system root certificate");
    }
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    tracing::debug!(added, ignored, "system root certificates loaded");
    roots
}

impl BackendClient {
    pub fn new() -> Result<Self, rustls::Error> {
        let verified = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(system_roots())
            .with_no_client_auth();
        let unverified = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider())))
            .with_no_client_auth();
        Ok(Self {
            verified: build(verified),
            unverified: build(unverified),
            backends: Mutex::default(),
        })
    }

    pub fn client(&self, insecure: bool) -> &HttpClient {
        if insecure {
            &self.unverified
        } else {
            &self.verified
        }
    }

    /// The state kept for the backend at `authority` (made on first use).
    fn backend(&self, authority: &str) -> Arc<Backend> {
        let mut backends = self.backends.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(backend) = backends.get(authority) {
            return Arc::clone(backend);
        }
        let backend = Arc::new(Backend {
            host: hyper::header::HeaderValue::from_str(authority).ok(),
            slots: Semaphore::new(MAX_CONCURRENT_PER_BACKEND),
            idle: Mutex::new(VecDeque::new()),
        });
        backends.insert(authority.to_string(), Arc::clone(&backend));
        backend
    }
}

/// Which of a backend's answer headers a call returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerHeaders {
    /// All of them.
    All,
    /// Those a proxy forwards: not the hop-by-hop ones, nor those the `Connection` header
    /// names (see [`super::hop_by_hop`]).
    EndToEnd,
}

/// Why a call to a backend failed.
#[derive(Debug)]
pub enum CallError {
    /// No connection, or the connection broke before the response head.
    Network(String),
    /// The response body could not be read, or was larger than allowed.
    Body(String),
    /// No complete answer within the timeout.
    Timeout,
}

impl BackendClient {
    /// Sends `request` (an absolute `http` or `https` URI; its `Host` header is set to the URI's
    /// authority) and reads the whole response, at most `max_body` bytes of body, within
    /// `timeout` (waiting for a slot included); with the `answer_headers` asked for.
    pub async fn call(
        &self,
        mut request: hyper::Request<Bytes>,
        insecure: bool,
        timeout: std::time::Duration,
        max_body: usize,
        answer_headers: AnswerHeaders,
    ) -> Result<(hyper::http::response::Parts, Bytes), CallError> {
        let authority = request
            .uri()
            .authority()
            .cloned()
            .ok_or_else(|| CallError::Network("the backend address has no host".into()))?;
        let backend = self.backend(authority.as_str());
        if let Some(host) = &backend.host {
            request
                .headers_mut()
                .insert(hyper::header::HOST, host.clone());
        }
        // The semaphore is never closed, so acquiring cannot fail.
        let answer = if request.uri().scheme() == Some(&hyper::http::uri::Scheme::HTTP) {
            // Only the exchange's own state goes into the timeout (the request is borrowed).
            let exchange = async {
                let _permit = backend.slots.acquire().await;
                backend
                    .exchange(&request, &authority, max_body, answer_headers)
                    .await
            };
            tokio::time::timeout(timeout, exchange).await
        } else {
            let pooled = async {
                let _permit = backend.slots.acquire().await;
                self.call_pooled(request, insecure, max_body, answer_headers)
                    .await
            };
            // Boxed: the general-purpose client's state is large, and plain `http` needs none
            // of it.
            tokio::time::timeout(timeout, Box::pin(pooled)).await
        };
        answer.map_err(|_| CallError::Timeout)?
    }
}

impl BackendClient {
    /// [`BackendClient::call`] through the general-purpose client (`https`, and HTTP/2).
    async fn call_pooled(
        &self,
        request: hyper::Request<Bytes>,
        insecure: bool,
        max_body: usize,
        answer_headers: AnswerHeaders,
    ) -> Result<(hyper::http::response::Parts, Bytes), CallError> {
        use http_body_util::{BodyExt, Limited};
        let response = Box::pin(self.client(insecure).request(request.map(Full::new)))
            .await
            .map_err(|e| CallError::Network(e.to_string()))?;
        let (mut parts, body) = response.into_parts();
        if answer_headers == AnswerHeaders::EndToEnd {
            super::hop_by_hop::strip_hop_by_hop(&mut parts.headers);
        }
        let body = Limited::new(body, max_body)
            .collect()
            .await
            .map_err(|e| CallError::Body(e.to_string()))?
            .to_bytes();
        Ok((parts, body))
    }
}

impl From<ExchangeError> for CallError {
    fn from(e: ExchangeError) -> Self {
        match e {
            ExchangeError::Closed(m) | ExchangeError::Head(m) => CallError::Network(m),
            ExchangeError::Body(m) => CallError::Body(m),
        }
    }
}

/// Plain `http` backends: a request takes the most recently used idle connection that is still
/// open, or dials a new one, and the connection comes back once its answer has been read whole
/// and allows another request.
impl Backend {
    /// Sends `request` (an absolute `http` URI naming `authority`) on a kept-alive connection,
    /// or a new one, and reads the whole answer.
    async fn exchange(
        &self,
        request: &hyper::Request<Bytes>,
        authority: &hyper::http::uri::Authority,
        max_body: usize,
        answer_headers: AnswerHeaders,
    ) -> Result<(hyper::http::response::Parts, Bytes), CallError> {
        let body = request.body();
        let mut head = Vec::with_capacity(512);
        http1::write_head(request, body.len(), &mut head);
        let head_request = request.method() == hyper::Method::HEAD;
        loop {
            let mut connection = match self.take() {
                Some(connection) => connection,
                None => Box::pin(dial(authority)).await?,
            };
            match connection
                .exchange(&head, body, head_request, max_body, answer_headers)
                .await
            {
                Ok(answer) => {
                    if answer.keep_alive {
                        self.put_back(connection);
                    }
                    return Ok((answer.parts, answer.body));
                }
                // A kept-alive connection the backend had closed: the request goes out again,
                // on another idle connection or a new one (which does not retry).
                Err(ExchangeError::Closed(_)) if connection.reused() => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The most recently used idle connection that is still open.
    fn take(&self) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        expire(&mut idle, IDLE_TIMEOUT, Instant::now());
        while let Some((connection, _)) = idle.pop_back() {
            if connection.is_open() {
                return Some(connection);
            }
        }
        None
    }

    /// Keeps a connection whose answer has been read whole for the next request.
    fn put_back(&self, connection: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        expire(&mut idle, IDLE_TIMEOUT, now);
        if idle.len() < MAX_IDLE_PER_BACKEND {
            idle.push_back((connection, now));
        }
    }
}

/// Drops (and so closes) the connections idle for `max_idle` or more at `now`: the oldest, at
/// the front, even when traffic only ever reuses the newest.
fn expire(idle: &mut VecDeque<(Connection, Instant)>, max_idle: Duration, now: Instant) {
    while idle
        .front()
        .is_some_and(|(_, since)| now.saturating_duration_since(*since) >= max_idle)
    {
        idle.pop_front();
    }
}

/// Opens a connection to `authority` (port 80 when it names none).
async fn dial(authority: &hyper::http::uri::Authority) -> Result<Connection, CallError> {
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let stream = tokio::net::TcpStream::connect((host, authority.port_u16().unwrap_or(80)))
        .await
        .map_err(|e| CallError::Network(format!("cannot connect to {authority}: {e}")))?;
    Ok(Connection::new(stream))
}

/// `tlsConfig.insecureSkipVerification`: any certificate is accepted, signatures still checked
/// so the handshake is well-formed.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A backend that answers every request on a connection with `answer` and closes the
    /// connection after `per_connection` answers; counts the connections it accepted.
    async fn backend(answer: &'static str, per_connection: usize) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    for _ in 0..per_connection {
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            match stream.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.clear();
                        if stream.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (authority, accepted)
    }

    async fn get(client: &BackendClient, authority: &str) -> Result<(u16, Bytes), CallError> {
        let request = hyper::Request::builder()
            .uri(format!("http://{authority}/hello?x=1"))
            .body(Bytes::new())
            .unwrap();
        client
            .call(
                request,
                false,
                Duration::from_secs(5),
                1024,
                AnswerHeaders::All,
            )
            .await
            .map(|(parts, body)| (parts.status.as_u16(), body))
    }

    const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";

    #[tokio::test]
    async fn plain_backends_reuse_one_kept_alive_connection() {
        let (authority, accepted) = backend(OK, usize::MAX).await;
        let client = BackendClient::new().unwrap();
        for _ in 0..5 {
            let (status, body) = get(&client, &authority).await.unwrap();
            assert_eq!((status, &body[..]), (200, &b"hello"[..]));
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn idle_connections_expire_oldest_first() {
        let (authority, _) = backend(OK, usize::MAX).await;
        let client = BackendClient::new().unwrap();
        // Two requests at once: two connections, both idle afterwards.
        let (a, b) = tokio::join!(get(&client, &authority), get(&client, &authority));
        assert_eq!((a.unwrap().0, b.unwrap().0), (200, 200));
        let backend = client.backend(&authority);
        let mut idle = backend.idle.lock().unwrap();
        assert_eq!(idle.len(), 2);
        expire(&mut idle, Duration::from_secs(60), Instant::now());
        assert_eq!(idle.len(), 2);
        expire(&mut idle, Duration::ZERO, Instant::now());
        assert!(idle.is_empty());
    }

    #[tokio::test]
    async fn a_connection_the_backend_closed_is_replaced() {
        // One answer per connection, then the backend hangs up without saying so.
        let (authority, accepted) = backend(OK, 1).await;
        let client = BackendClient::new().unwrap();
        for _ in 0..3 {
            let (status, _) = get(&client, &authority).await.unwrap();
            assert_eq!(status, 200);
            // Let the close reach the pooled connection.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn connection_close_answers_are_not_pooled() {
        let answer = "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok";
        let (authority, accepted) = backend(answer, usize::MAX).await;
        let client = BackendClient::new().unwrap();
        for _ in 0..3 {
            assert_eq!(get(&client, &authority).await.unwrap().0, 200);
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_oversized_answer_and_an_unreachable_backend_are_errors() {
        let big = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: 2000\r\n\r\n{}",
            "x".repeat(2000)
        );
        let (authority, _) = backend(big.leak(), usize::MAX).await;
        let client = BackendClient::new().unwrap();
        assert!(matches!(
            get(&client, &authority).await,
            Err(CallError::Body(_))
        ));
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gone = closed.local_addr().unwrap().to_string();
        drop(closed);
        assert!(matches!(
            get(&client, &gone).await,
            Err(CallError::Network(_))
        ));
    }
}
