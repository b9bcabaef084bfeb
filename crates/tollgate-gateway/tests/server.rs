//! The listener against raw sockets: requests the fast path serves in place and the ones it
//! hands to hyper (chunked bodies, `Expect`, split bodies, HTTP/2, bad heads), keep-alive and
//! closing by version, response framing, and a graceful stop.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Request, Response, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tollgate_gateway::server::{self, RequestBody, ResponseBody};

/// Answers with what it was asked: method, target, version and body, and `x-seen` from the
/// request's `x-echo`. `/stream` answers in two frames of unknown total length, `/big` with
/// 100 KiB, `/slow` after 300 ms.
async fn echo(request: Request<RequestBody>, _remote: SocketAddr) -> Response<ResponseBody> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let seen = parts.headers.get("x-echo").cloned();
    let path = parts.uri.path().to_string();
    let response: Response<ResponseBody> = match path.as_str() {
        "/stream" => {
            let frames = vec![
                Ok::<_, server::BoxError>(Frame::data(Bytes::from_static(b"first,"))),
                Ok(Frame::data(Bytes::from(vec![b'x'; 20_000]))),
            ];
            Response::new(StreamBody::new(futures_util::stream::iter(frames)).boxed_unsync())
        }
        "/big" => Response::new(full(vec![b'b'; 100 * 1024])),
        _ => {
            if path == "/slow" {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            let text = format!(
                "{} {} {:?} {}",
                parts.method,
                parts.uri,
                parts.version,
                String::from_utf8_lossy(&body)
            );
            let mut response = Response::new(full(text.into_bytes()));
            if let Some(seen) = seen {
                response.headers_mut().insert("x-seen", seen);
            }
            response
        }
    };
    response
}

fn full(bytes: Vec<u8>) -> ResponseBody {
    Full::new(Bytes::from(bytes))
        .map_err(|never| match never {})
        .boxed_unsync()
}

struct Server {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

async fn start() -> Server {
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel();
    let done = tokio::spawn(server::serve(listener, None, echo, async {
        let _ = stopped.await;
    }));
    Server {
        address,
        stop: Some(stop),
        done,
    }
}

/// One parsed answer.
#[derive(Debug)]
struct Answer {
    head: String,
    status: u16,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(": ")?;
            n.eq_ignore_ascii_case(name).then_some(v)
        })
    }
}

/// Reads one answer off `stream` (`buf` keeps what follows it). Bodies by length, chunked, or
/// to the end; `head_request` for answers without a body.
async fn read_answer(stream: &mut TcpStream, buf: &mut Vec<u8>, head_request: bool) -> Answer {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(buf[..end + 4].to_vec()).unwrap();
            buf.drain(..end + 4);
            let status: u16 = head[9..12].parse().unwrap();
            if status == 100 {
                continue;
            }
            let mut answer = Answer {
                head,
                status,
                body: Vec::new(),
            };
            if head_request || status == 204 || status == 304 {
                return answer;
            }
            if let Some(n) = answer.header("content-length") {
                let n: usize = n.parse().unwrap();
                while buf.len() < n {
                    read_some(stream, buf).await;
                }
                answer.body = buf.drain(..n).collect();
            } else if answer.header("transfer-encoding") == Some("chunked") {
                loop {
                    let line_end = loop {
                        if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                            break i;
                        }
                        read_some(stream, buf).await;
                    };
                    let size =
                        usize::from_str_radix(std::str::from_utf8(&buf[..line_end]).unwrap(), 16)
                            .unwrap();
                    while buf.len() < line_end + 2 + size + 2 {
                        read_some(stream, buf).await;
                    }
                    answer
                        .body
                        .extend_from_slice(&buf[line_end + 2..line_end + 2 + size]);
                    buf.drain(..line_end + 2 + size + 2);
                    if size == 0 {
                        break;
                    }
                }
            } else {
                stream.read_to_end(buf).await.unwrap();
                answer.body = std::mem::take(buf);
            }
            return answer;
        }
        read_some(stream, buf).await;
    }
}

async fn read_some(stream: &mut TcpStream, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 16 * 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
        .await
        .expect("an answer in time")
        .unwrap();
    assert!(
        n > 0,
        "connection closed early; have {:?}",
        String::from_utf8_lossy(buf)
    );
    buf.extend_from_slice(&chunk[..n]);
}

/// Whether the server closes the connection (within 2 s).
async fn closes(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_secs(2), stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

async fn exchange(server: &Server, wire: &[u8]) -> (TcpStream, Answer) {
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream.write_all(wire).await.unwrap();
    let answer = read_answer(&mut stream, &mut Vec::new(), false).await;
    (stream, answer)
}

#[tokio::test]
async fn keep_alive_requests_and_pipelined_ones_are_answered_in_order() {
    let server = start().await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    let mut buf = Vec::new();
    stream
        .write_all(b"GET /one?q=1 HTTP/1.1\r\nHost: a\r\nX-Echo: 1\r\n\r\n")
        .await
        .unwrap();
    let first = read_answer(&mut stream, &mut buf, false).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body, b"GET /one?q=1 HTTP/1.1 ");
    assert_eq!(first.header("x-seen"), Some("1"));
    assert!(first.header("date").is_some());
    assert_eq!(first.header("connection"), None);
    // Three at once, the second with a body.
    stream
        .write_all(
            b"GET /two HTTP/1.1\r\n\r\nPOST /three HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /four HTTP/1.1\r\n\r\n",
        )
        .await
        .unwrap();
    for expected in [
        &b"GET /two HTTP/1.1 "[..],
        b"POST /three HTTP/1.1 hello",
        b"GET /four HTTP/1.1 ",
    ] {
        let answer = read_answer(&mut stream, &mut buf, false).await;
        assert_eq!(answer.body, expected);
    }
    assert!(buf.is_empty());
}

#[tokio::test]
async fn connections_close_or_stay_by_version_and_connection_header() {
    let server = start().await;
    let (mut stream, answer) = exchange(&server, b"GET /a HTTP/1.0\r\n\r\n").await;
    assert!(
        answer.head.starts_with("HTTP/1.0 200 OK\r\n"),
        "{}",
        answer.head
    );
    assert_eq!(answer.body, b"GET /a HTTP/1.0 ");
    assert!(closes(&mut stream).await);

    let (mut stream, answer) = exchange(
        &server,
        b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    )
    .await;
    assert_eq!(answer.header("connection"), Some("keep-alive"));
    stream.write_all(b"GET /b HTTP/1.0\r\n\r\n").await.unwrap();
    let again = read_answer(&mut stream, &mut Vec::new(), false).await;
    assert_eq!(again.body, b"GET /b HTTP/1.0 ");
    assert!(closes(&mut stream).await);

    let (mut stream, answer) =
        exchange(&server, b"GET /a HTTP/1.1\r\nConnection: close\r\n\r\n").await;
    assert_eq!(answer.header("connection"), Some("close"));
    assert!(closes(&mut stream).await);
}

#[tokio::test]
async fn unusual_requests_are_served_by_hyper_on_the_same_connection() {
    let server = start().await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    let mut buf = Vec::new();
    // Served in place first, then a chunked body hands the connection over.
    stream
        .write_all(b"GET /in-place HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        read_answer(&mut stream, &mut buf, false).await.body,
        b"GET /in-place HTTP/1.1 "
    );
    stream
        .write_all(b"POST /chunked HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        read_answer(&mut stream, &mut buf, false).await.body,
        b"POST /chunked HTTP/1.1 abcde"
    );
    stream
        .write_all(b"GET /after HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        read_answer(&mut stream, &mut buf, false).await.body,
        b"GET /after HTTP/1.1 "
    );

    // Expect: 100-continue gets its interim answer before the body is sent.
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"PUT /e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        .await
        .unwrap();
    let mut interim = Vec::new();
    read_some(&mut stream, &mut interim).await;
    assert!(
        interim.starts_with(b"HTTP/1.1 100 Continue\r\n"),
        "{interim:?}"
    );
    stream.write_all(b"ok").await.unwrap();
    let mut buf = Vec::new();
    assert_eq!(
        read_answer(&mut stream, &mut buf, false).await.body,
        b"PUT /e HTTP/1.1 ok"
    );

    // A body that arrives after its head.
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"POST /late HTTP/1.1\r\nContent-Length: 4\r\n\r\nab")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream.write_all(b"cd").await.unwrap();
    assert_eq!(
        read_answer(&mut stream, &mut Vec::new(), false).await.body,
        b"POST /late HTTP/1.1 abcd"
    );

    // A head that arrives in pieces stays on the fast path.
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream.write_all(b"GET /pie").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream.write_all(b"ces HTTP/1.1\r\n\r\n").await.unwrap();
    assert_eq!(
        read_answer(&mut stream, &mut Vec::new(), false).await.body,
        b"GET /pieces HTTP/1.1 "
    );
}

#[tokio::test]
async fn bad_and_oversized_heads_get_hypers_errors() {
    let server = start().await;
    let (mut stream, answer) = exchange(&server, b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n").await;
    assert_eq!(answer.status, 400);
    assert!(closes(&mut stream).await);

    let huge = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(70 * 1024));
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    // The server may answer and close before it has read all of this.
    let _ = stream.write_all(huge.as_bytes()).await;
    let answer = read_answer(&mut stream, &mut Vec::new(), false).await;
    assert_eq!(answer.status, 431);
}

#[tokio::test]
async fn response_bodies_are_framed_by_length_chunks_or_nothing() {
    let server = start().await;
    let (_, answer) = exchange(&server, b"GET /stream HTTP/1.1\r\n\r\n").await;
    assert_eq!(answer.header("transfer-encoding"), Some("chunked"));
    assert_eq!(answer.body.len(), 6 + 20_000);
    assert!(answer.body.starts_with(b"first,x"));

    let (_, answer) = exchange(&server, b"GET /big HTTP/1.1\r\n\r\n").await;
    assert_eq!(answer.header("content-length"), Some("102400"));
    assert_eq!(answer.body, vec![b'b'; 100 * 1024]);

    // HTTP/1.0 cannot take chunks: the body runs to the close.
    let (_, answer) = exchange(
        &server,
        b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    )
    .await;
    assert_eq!(answer.header("transfer-encoding"), None);
    assert_eq!(answer.body.len(), 6 + 20_000);

    // HEAD: the length of what GET would send, no body; the connection goes on.
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    let mut buf = Vec::new();
    stream
        .write_all(b"HEAD /big HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    let head = read_answer(&mut stream, &mut buf, true).await;
    assert_eq!(head.header("content-length"), Some("102400"));
    assert_eq!(
        read_answer(&mut stream, &mut buf, false).await.body,
        b"GET /next HTTP/1.1 "
    );
}

#[tokio::test]
async fn http2_with_prior_knowledge_is_served() {
    let server = start().await;
    let stream = TcpStream::connect(server.address).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let request = Request::post("http://localhost/h2")
        .body(Full::new(Bytes::from_static(b"two")))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.as_ref(), b"POST http://localhost/h2 HTTP/2.0 two");
}

#[tokio::test]
async fn a_stop_finishes_requests_in_flight_and_closes_idle_connections() {
    let mut server = start().await;
    let mut idle = TcpStream::connect(server.address).await.unwrap();
    idle.write_all(b"GET /first HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    read_answer(&mut idle, &mut Vec::new(), false).await;
    let mut busy = TcpStream::connect(server.address).await.unwrap();
    busy.write_all(b"GET /slow HTTP/1.1\r\n\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.stop.take().unwrap().send(()).unwrap();
    let answer = read_answer(&mut busy, &mut Vec::new(), false).await;
    assert_eq!(answer.body, b"GET /slow HTTP/1.1 ");
    assert!(closes(&mut busy).await);
    assert!(closes(&mut idle).await);
    tokio::time::timeout(Duration::from_secs(5), server.done)
        .await
        .unwrap()
        .unwrap();
}
