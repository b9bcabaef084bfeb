//! One client connection: HTTP/1.x requests served in the connection's own task (read the
//! head and body, call the handler, write the answer), until a request the fast path does not
//! take (see [`wire`]) hands the connection, with the bytes already read, to hyper.
//!
//! Serving in place spares what hyper's server spends on a plain proxied request: its
//! dispatcher, the body channel, a boxed header-read timer per request, and the copies between
//! them.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::watch;

use super::wire::{self, Exchange, Framing, Parsed};
use super::{HEADER_READ_TIMEOUT, ResponseBody};

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 8 * 1024;
/// Body bytes copied behind the head into one write; a larger body is written on its own.
const COPY_BODY_BELOW: usize = 16 * 1024;

/// A request body: read whole by the fast path, or streamed by hyper.
#[derive(Debug)]
pub enum RequestBody {
    Read(Option<Bytes>),
    Streamed(Incoming),
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            Self::Read(body) => Poll::Ready(body.take().map(|b| Ok(Frame::data(b)))),
            Self::Streamed(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Read(body) => body.is_none(),
            Self::Streamed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Read(body) => SizeHint::with_exact(body.as_ref().map_or(0, |b| b.len() as u64)),
            Self::Streamed(body) => body.size_hint(),
        }
    }
}

impl RequestBody {
    fn read(bytes: Bytes) -> Self {
        Self::Read((!bytes.is_empty()).then_some(bytes))
    }
}

/// What serves a connection's requests.
pub struct Service<H> {
    pub handler: H,
    pub hyper: Arc<auto::Builder<TokioExecutor>>,
    pub stopping: watch::Receiver<bool>,
}

/// Serves `io` until the client leaves, the header deadline passes, or a stop is asked (a
/// request under way is answered first).
pub async fn serve<S, H, F>(io: S, remote: SocketAddr, service: Service<H>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<RequestBody>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<ResponseBody>> + Send + 'static,
{
    let Service {
        handler,
        hyper,
        mut stopping,
    } = service;
    let mut connection = FastConnection {
        io,
        input: BytesMut::with_capacity(READ_CHUNK),
        output: Vec::with_capacity(1024),
    };
    let handed_over = {
        let stop = pin!(stop_asked(&mut stopping));
        connection.run(remote, &handler, stop).await
    };
    let Some(read) = handed_over else { return };
    let io = Replayed {
        read: read.freeze(),
        io: connection.io,
    };
    let handler = handler.clone();
    let service = service_fn(move |request: Request<Incoming>| {
        let response = handler(request.map(RequestBody::Streamed), remote);
        async move { Ok::<_, Infallible>(response.await) }
    });
    let conn = hyper.serve_connection_with_upgrades(TokioIo::new(io), service);
    let mut conn = pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = stop_asked(&mut stopping) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, %remote, "connection ended with an error");
    }
}

/// Resolves once a stop is asked (or the listener is gone).
async fn stop_asked(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

struct FastConnection<S> {
    io: S,
    /// Bytes read and not yet served.
    input: BytesMut,
    /// The answer being written.
    output: Vec<u8>,
}

/// How waiting for more request bytes ended.
enum Waited {
    Read,
    Closed,
    Declined,
}

impl<S: AsyncRead + AsyncWrite + Unpin> FastConnection<S> {
    /// Serves requests in place; returns the bytes read so far when hyper is to take over.
    async fn run<H, F, T>(
        &mut self,
        remote: SocketAddr,
        handler: &H,
        mut stop: Pin<&mut T>,
    ) -> Option<BytesMut>
    where
        H: Fn(Request<RequestBody>, SocketAddr) -> F,
        F: Future<Output = Response<ResponseBody>>,
        T: Future<Output = ()>,
    {
        // One timer for the connection, moved on only when it fires: waiting for a head costs
        // a clock read, not a timer per request.
        let mut deadline = pin!(tokio::time::sleep(HEADER_READ_TIMEOUT));
        loop {
            let mut waiting_since = None;
            let accepted = loop {
                match wire::parse(&self.input) {
                    Parsed::Request(accepted) => break accepted,
                    Parsed::Decline => return Some(std::mem::take(&mut self.input)),
                    Parsed::Partial => {}
                }
                let since = *waiting_since.get_or_insert_with(Instant::now);
                match self
                    .read_more(since, deadline.as_mut(), stop.as_mut())
                    .await
                {
                    Waited::Read => {}
                    Waited::Closed => return None,
                    Waited::Declined => return Some(std::mem::take(&mut self.input)),
                }
            };
            let keep_alive = accepted.keep_alive;
            let bytes = self.input.split_to(accepted.len()).freeze();
            let Some(request) = accepted.into_request(&bytes) else {
                self.output.clear();
                self.output.extend_from_slice(BAD_REQUEST);
                let _ = self.io.write_all(&self.output).await;
                return None;
            };
            let mut exchange = Exchange {
                version: request.version(),
                head_request: request.method() == Method::HEAD,
                keep_alive,
            };
            let response = handler(request.map(RequestBody::read), remote).await;
            drop(bytes);
            if self.respond(response, &mut exchange).await.is_err() || !exchange.keep_alive {
                let _ = self.io.shutdown().await;
                return None;
            }
        }
    }

    /// Reads more of a request, within the header deadline and until a stop is asked.
    async fn read_more<T: Future<Output = ()>>(
        &mut self,
        since: Instant,
        mut deadline: Pin<&mut tokio::time::Sleep>,
        mut stop: Pin<&mut T>,
    ) -> Waited {
        if self.input.capacity() - self.input.len() < READ_CHUNK / 2 {
            self.input.reserve(READ_CHUNK);
        }
        loop {
            tokio::select! {
                biased;
                () = stop.as_mut(), if self.input.is_empty() => return Waited::Closed,
                read = self.io.read_buf(&mut self.input) => {
                    return match read {
                        Ok(0) if self.input.is_empty() => Waited::Closed,
                        // A head cut short: hyper answers it as it would.
                        Ok(0) => Waited::Declined,
                        Ok(_) => Waited::Read,
                        Err(_) => Waited::Closed,
                    };
                }
                () = deadline.as_mut() => {
                    let due = since + HEADER_READ_TIMEOUT;
                    if Instant::now() >= due {
                        tracing::debug!("request head not read in time; closing the connection");
                        return Waited::Closed;
                    }
                    deadline.as_mut().reset(due.into());
                }
            }
        }
    }

    /// Writes the response; an error means the connection cannot go on.
    async fn respond(
        &mut self,
        response: Response<ResponseBody>,
        exchange: &mut Exchange,
    ) -> io::Result<()> {
        let (parts, mut body) = response.into_parts();
        self.output.clear();
        let exact = body.size_hint().exact();
        let framing = wire::write_head(
            &mut self.output,
            exchange,
            parts.status,
            &parts.headers,
            exact,
        );
        if framing == Framing::Empty {
            return self.flush_output().await;
        }
        let mut written = 0u64;
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame
                .map_err(|e| io::Error::other(e.to_string()))?
                .into_data()
            else {
                continue; // trailers: not sent over HTTP/1
            };
            written += data.len() as u64;
            if framing == Framing::Chunked {
                if data.is_empty() {
                    continue;
                }
                if data.len() < COPY_BODY_BELOW {
                    wire::push_chunk(&mut self.output, &data);
                    continue;
                }
                wire::push_chunk_size(&mut self.output, data.len());
            }
            self.write_data(data, framing).await?;
        }
        match framing {
            Framing::Chunked => self.output.extend_from_slice(wire::LAST_CHUNK),
            Framing::Length(n) if n != written => {
                self.flush_output().await?;
                return Err(io::Error::other("response body and its length differ"));
            }
            _ => {}
        }
        self.flush_output().await
    }

    /// Adds body bytes to the output, or writes them on their own when large.
    async fn write_data(&mut self, data: Bytes, framing: Framing) -> io::Result<()> {
        if data.len() < COPY_BODY_BELOW {
            self.output.extend_from_slice(&data);
            return Ok(());
        }
        // A large chunk: its size line is in the output already; write both, then its end.
        self.flush_output().await?;
        let mut data = data;
        while data.has_remaining() {
            let n = self.io.write(&data).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            data.advance(n);
        }
        if framing == Framing::Chunked {
            self.output.extend_from_slice(b"\r\n");
        }
        Ok(())
    }

    async fn flush_output(&mut self) -> io::Result<()> {
        self.io.write_all(&self.output).await?;
        self.output.clear();
        self.io.flush().await
    }
}

/// The answer to a request target that is no URI (what hyper answers too).
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// A connection whose first bytes were already read: they are read again, then the socket.
struct Replayed<S> {
    read: Bytes,
    io: S,
}

impl<S: AsyncRead + Unpin> AsyncRead for Replayed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.read.is_empty() {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        let n = this.read.len().min(buf.remaining());
        buf.put_slice(&this.read.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Replayed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::Full;

    use super::*;

    async fn answer(request: Request<RequestBody>, _: SocketAddr) -> Response<ResponseBody> {
        let body = request.into_body().collect().await.unwrap().to_bytes();
        Response::new(
            Full::new(body)
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
    }

    /// Runs the fast path over `wire` (the client then closes its side); returns what the
    /// client read and the bytes handed over, if any.
    async fn run(wire: &[u8]) -> (Vec<u8>, Option<BytesMut>) {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        client.write_all(wire).await.unwrap();
        client.shutdown().await.unwrap();
        let mut connection = FastConnection {
            io: server,
            input: BytesMut::new(),
            output: Vec::new(),
        };
        let never = pin!(std::future::pending::<()>());
        let remote = SocketAddr::from(([127, 0, 0, 1], 1));
        let handed_over = connection.run(remote, &answer, never).await;
        drop(connection);
        let mut read = Vec::new();
        client.read_to_end(&mut read).await.unwrap();
        (read, handed_over)
    }

    #[tokio::test]
    async fn plain_requests_are_served_in_place_until_one_is_not() {
        let (read, handed_over) =
            run(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET / HTTP/1.1\r\n\r\n").await;
        assert!(handed_over.is_none());
        let read = String::from_utf8(read).unwrap();
        assert_eq!(read.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{read}");
        assert!(read.contains("content-length: 2\r\n"), "{read}");

        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
        let (read, handed_over) = run(&[&b"GET / HTTP/1.1\r\n\r\n"[..], chunked].concat()).await;
        assert_eq!(handed_over.as_deref(), Some(&chunked[..]));
        assert_eq!(
            String::from_utf8(read)
                .unwrap()
                .matches("HTTP/1.1 200 OK")
                .count(),
            1
        );
    }
}
