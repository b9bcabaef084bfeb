//! The client for HTTP backends: pooled keep-alive connections (HTTP/1.1, and HTTP/2 where the
//! backend offers it over TLS), TLS with the system's roots, an opt-out of certificate checks
//! for `tlsConfig.insecureSkipVerification`, and a cap on concurrent requests per backend so
//! that a slow backend gets back-pressure instead of unbounded sockets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::ClientConfig;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Concurrent requests to one backend (scheme, host and port) at most; more wait their turn
/// within the integration's timeout.
pub const MAX_CONCURRENT_PER_BACKEND: usize = 1024;

pub struct BackendClient {
    verified: HttpClient,
    unverified: HttpClient,
    limits: Mutex<HashMap<String, Arc<Semaphore>>>,
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
        .pool_idle_timeout(std::time::Duration::from_secs(60))
        .pool_max_idle_per_host(256)
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
            limits: Mutex::new(HashMap::new()),
        })
    }

    pub fn client(&self, insecure: bool) -> &HttpClient {
        if insecure {
            &self.unverified
        } else {
            &self.verified
        }
    }

    /// Waits for a slot to talk to `authority`.
    pub async fn permit(&self, authority: &str) -> OwnedSemaphorePermit {
        let semaphore = {
            let mut limits = self.limits.lock().unwrap_or_else(|e| e.into_inner());
            match limits.get(authority) {
                Some(s) => Arc::clone(s),
                None => {
                    let s = Arc::new(Semaphore::new(MAX_CONCURRENT_PER_BACKEND));
                    limits.insert(authority.to_string(), Arc::clone(&s));
                    s
                }
            }
        };
        // The semaphore is never closed, so acquiring cannot fail.
        match semaphore.acquire_owned().await {
            Ok(permit) => permit,
            Err(_) => unreachable!("backend semaphores are never closed"),
        }
    }
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
    /// Sends `request` to the backend at `authority` (its URI's) and reads the whole response,
    /// at most `max_body` bytes of body, within `timeout` (waiting for a slot included).
    pub async fn call(
        &self,
        request: hyper::Request<Full<Bytes>>,
        authority: &str,
        insecure: bool,
        timeout: std::time::Duration,
        max_body: usize,
    ) -> Result<(hyper::http::response::Parts, Bytes), CallError> {
        use http_body_util::{BodyExt, Limited};
        let call = async {
            let _permit = self.permit(authority).await;
            let response = self
                .client(insecure)
                .request(request)
                .await
                .map_err(|e| CallError::Network(e.to_string()))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, max_body)
                .collect()
                .await
                .map_err(|e| CallError::Body(e.to_string()))?
                .to_bytes();
            Ok((parts, body))
        };
        tokio::time::timeout(timeout, call)
            .await
            .map_err(|_| CallError::Timeout)?
    }
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
