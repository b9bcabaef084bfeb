//! The AWS Lambda Runtime API, served to one instance.
//!
//! Every instance gets its own listener on `127.0.0.1:0`, and `AWS_LAMBDA_RUNTIME_API` holds that
//! address. The official runtime clients append `/2018-06-01/runtime/...` to the variable, so a
//! path prefix cannot tell instances apart; a port per instance can, and it means a response can
//! never be attributed to the wrong instance. The server translates HTTP calls into
//! [`RuntimeMessage`]s for the instance controller ([`crate::instance`]) and hands out the events it
//! is given:
//!
//! | call | effect |
//! |---|---|
//! | `GET  /2018-06-01/runtime/invocation/next` | [`RuntimeMessage::Next`] (the first time), then blocks until an event |
//! | `POST /2018-06-01/runtime/invocation/{id}/response` | [`RuntimeMessage::Response`], `202` once the instance releases it ([`HeldReply`]) |
//! | `POST /2018-06-01/runtime/invocation/{id}/error` | [`RuntimeMessage::Error`], `202` likewise |
//! | `POST /2018-06-01/runtime/init/error` | [`RuntimeMessage::InitError`], `202` |

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use crate::MAX_PAYLOAD_BYTES;

const PREFIX: &str = "/2018-06-01/runtime/";

// The headers of an event, named once (a `&'static str` name is parsed on every insert).
static DEADLINE_MS: HeaderName = HeaderName::from_static("lambda-runtime-deadline-ms");
static INVOKED_FUNCTION_ARN: HeaderName =
    HeaderName::from_static("lambda-runtime-invoked-function-arn");
static AWS_REQUEST_ID: HeaderName = HeaderName::from_static("lambda-runtime-aws-request-id");
static TRACE_ID: HeaderName = HeaderName::from_static("lambda-runtime-trace-id");
static CLIENT_CONTEXT: HeaderName = HeaderName::from_static("lambda-runtime-client-context");
static COGNITO_IDENTITY: HeaderName = HeaderName::from_static("lambda-runtime-cognito-identity");

/// An invocation as the runtime receives it from `/invocation/next`.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub request_id: String,
    pub deadline_ms: u64,
    /// The invoked function's ARN, made once per instance.
    pub function_arn: HeaderValue,
    pub trace_id: Option<String>,
    pub client_context: Option<String>,
    pub cognito_identity: Option<String>,
    pub payload: Bytes,
}

/// The runtime's pending reply to an invocation's answer (`/response` or `/error`): the server
/// holds the reply until this is dropped. The instance drops it once the answer has been handed to
/// the caller and the instance's next event, if an invocation was waiting for it, is queued: the
/// reply and that event then reach the runtime together (in one write when the runtime pipelined
/// its next poll), and the runtime never polls before the gateway has taken the answer.
#[derive(Debug)]
pub(crate) struct HeldReply(#[allow(dead_code)] oneshot::Sender<()>);

/// What the runtime told us, in order.
#[derive(Debug)]
pub(crate) enum RuntimeMessage {
    /// The runtime asked for its first event: it is initialised. (Later polls are not reported:
    /// nothing waits for them.)
    Next,
    Response {
        request_id: String,
        body: Bytes,
        reply: HeldReply,
    },
    /// The response exceeded [`MAX_PAYLOAD_BYTES`]; the runtime gets `413`.
    ResponseTooLarge {
        request_id: String,
        reply: HeldReply,
    },
    Error {
        request_id: String,
        body: Bytes,
        error_type: Option<String>,
        reply: HeldReply,
    },
    InitError {
        body: Bytes,
        error_type: Option<String>,
    },
}

/// State shared by the server's connections.
struct Shared {
    events: tokio::sync::Mutex<mpsc::Receiver<Event>>,
    messages: mpsc::UnboundedSender<RuntimeMessage>,
    /// The invocation that may still be answered. Answering clears it, so a second answer for the
    /// same id is refused like Lambda does (`InvalidStateTransition`).
    current: Mutex<Option<String>>,
    /// Whether the runtime has polled `/next` before.
    polled: AtomicBool,
}

/// A running Runtime API server for one instance. Dropping it stops the server and closes every
/// connection (the accept task owns the connection tasks).
pub(crate) struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RuntimeApi {
    /// Binds a fresh port and starts serving. Events are fed through `events`; messages come back
    /// through `messages`.
    pub(crate) async fn start(
        events: mpsc::Receiver<Event>,
        messages: mpsc::UnboundedSender<RuntimeMessage>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            events: tokio::sync::Mutex::new(events),
            messages,
            current: Mutex::new(None),
            polled: AtomicBool::new(false),
        });
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Self { addr, shared, task })
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub(crate) fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Marks `request_id` as the invocation that may be answered.
    pub(crate) fn expect(&self, request_id: Option<String>) {
        *self
            .shared
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = request_id;
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(handle(&shared, req).await) }
                    });
                    // Runtimes may pipeline their answer and the next poll (Tollgate's Node
                    // bootstrap does): the `202` is then held until the poll is read, and goes
                    // out in the same write as the next event when one is ready by then.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .pipeline_flush(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            // Reap finished connection tasks so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

type Body = Full<Bytes>;

fn json(status: StatusCode, body: String) -> Response<Body> {
    json_bytes(status, Bytes::from(body))
}

fn json_bytes(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error(status: StatusCode, error_type: &str, message: &str) -> Response<Body> {
    json(
        status,
        serde_json::json!({ "errorMessage": message, "errorType": error_type }).to_string(),
    )
}

fn accepted() -> Response<Body> {
    json_bytes(
        StatusCode::ACCEPTED,
        Bytes::from_static(br#"{"status":"OK"}"#),
    )
}

/// The calls of the Runtime API.
enum Call {
    Next,
    Answer { request_id: String, is_error: bool },
    InitError,
}

fn route(method: &Method, path: &str) -> Option<Call> {
    let rest = path.strip_prefix(PREFIX)?;
    if *method == Method::GET {
        return (rest == "invocation/next").then_some(Call::Next);
    }
    if *method != Method::POST {
        return None;
    }
    if rest == "init/error" {
        return Some(Call::InitError);
    }
    let (request_id, kind) = rest.strip_prefix("invocation/")?.split_once('/')?;
    let is_error = match kind {
        "response" => false,
        "error" => true,
        _ => return None,
    };
    Some(Call::Answer {
        request_id: request_id.to_owned(),
        is_error,
    })
}

async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Body> {
    match route(req.method(), req.uri().path()) {
        Some(Call::Next) => next(shared).await,
        Some(Call::Answer {
            request_id,
            is_error,
        }) => answer(shared, req, request_id, is_error).await,
        Some(Call::InitError) => {
            let error_type = error_type_header(&req);
            let body = match Limited::new(req.into_body(), MAX_PAYLOAD_BYTES)
                .collect()
                .await
            {
                Ok(collected) => collected.to_bytes(),
                Err(_) => Bytes::new(),
            };
            let _ = shared
                .messages
                .send(RuntimeMessage::InitError { body, error_type });
            accepted()
        }
        None => error(StatusCode::NOT_FOUND, "InvalidPath", "unknown path"),
    }
}

fn error_type_header(req: &Request<Incoming>) -> Option<String> {
    req.headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn next(shared: &Shared) -> Response<Body> {
    if !shared.polled.swap(true, Ordering::Relaxed) {
        let _ = shared.messages.send(RuntimeMessage::Next);
    }
    // One runtime polls at a time; a second concurrent poller simply queues behind the first.
    let event = {
        let mut events = shared.events.lock().await;
        events.recv().await
    };
    let Some(event) = event else {
        // The instance is stopping; the process is about to be killed.
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            "instance stopping",
        );
    };
    let mut response = Response::new(Full::new(event.payload));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(&DEADLINE_MS, event.deadline_ms.into());
    headers.insert(&INVOKED_FUNCTION_ARN, event.function_arn);
    let mut set = |name: &'static HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    set(&AWS_REQUEST_ID, &event.request_id);
    if let Some(trace) = &event.trace_id {
        set(&TRACE_ID, trace);
    }
    if let Some(cc) = &event.client_context {
        set(&CLIENT_CONTEXT, cc);
    }
    if let Some(ci) = &event.cognito_identity {
        set(&COGNITO_IDENTITY, ci);
    }
    response
}

async fn answer(
    shared: &Shared,
    req: Request<Incoming>,
    request_id: String,
    is_error: bool,
) -> Response<Body> {
    let error_type = error_type_header(&req);
    let body = Limited::new(req.into_body(), MAX_PAYLOAD_BYTES)
        .collect()
        .await;
    {
        let mut current = shared
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if current.as_deref() != Some(request_id.as_str()) {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidStateTransition",
                "Invalid request ID or the invocation was already answered",
            );
        }
        *current = None;
    }
    let body = match body {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_none() => {
            // The runtime hung up mid-body: leave the invocation open; its timeout ends it.
            *shared
                .current
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(request_id);
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "could not read body",
            );
        }
        Err(_) => {
            let (reply, released) = hold_reply();
            let _ = shared
                .messages
                .send(RuntimeMessage::ResponseTooLarge { request_id, reply });
            let _ = released.await;
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                &format!("Exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes)."),
            );
        }
    };
    let (reply, released) = hold_reply();
    let message = if is_error {
        RuntimeMessage::Error {
            request_id,
            body,
            error_type,
            reply,
        }
    } else {
        RuntimeMessage::Response {
            request_id,
            body,
            reply,
        }
    };
    // A message that cannot be delivered (the instance is gone) drops its reply at once.
    let _ = shared.messages.send(message);
    let _ = released.await;
    accepted()
}

fn hold_reply() -> (HeldReply, oneshot::Receiver<()>) {
    let (sender, receiver) = oneshot::channel();
    (HeldReply(sender), receiver)
}
