//! One HTTP/1.1 connection to a plain `http` backend, driven by the calling request's own task:
//! the request is written and its answer read without a connection task or a channel between
//! the two, which is most of what a general-purpose client costs a proxy per request. Every
//! caller reads the whole answer anyway (bounded), so the body is read here too.
//!
//! Framing follows RFC 9112: `1xx` interim answers are skipped; the body is delimited by
//! `Transfer-Encoding: chunked`, `Content-Length` or the end of the connection; answers to `HEAD`
//! and `204`/`304` have none. A connection is kept only when the answer allows it
//! (`Connection: close`, HTTP/1.0 without `keep-alive`, and close-delimited bodies do not).

use std::io;
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes, BytesMut};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::http::response::Parts;
use hyper::{Method, Request, StatusCode, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::client::AnswerHeaders;
use super::hop_by_hop;
use crate::framing::{self, ConnectionOptions};

/// An answer's head (status line and headers) may be this large at most.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// An answer may carry this many headers at most.
const MAX_HEADERS: usize = 100;
/// A chunk-size line (with extensions) may be this long at most.
const MAX_CHUNK_LINE: usize = 1024;
/// Bodies up to this size go out in the same write as the head.
const COALESCE_BODY_BYTES: usize = 16 * 1024;
/// The buffer a connection starts with, and the least a new one gets.
const READ_CHUNK: usize = 8 * 1024;
/// What a read asks room for at least. The answers already read keep sharing the buffer (their
/// headers and bodies point into it), so a read that asked for more than what is left after
/// them would take a new buffer for every answer; small answers fit in what is left.
const MIN_READ_ROOM: usize = 4 * 1024;

/// Why an exchange failed.
#[derive(Debug)]
pub enum ExchangeError {
    /// The connection was closed or reset before a single byte of the answer arrived: on a
    /// connection that served earlier requests, the backend most likely closed it while idle,
    /// so the request can go out again on another connection.
    Closed(String),
    /// The answer's head was unreadable, or the connection broke inside it.
    Head(String),
    /// The body broke off, was malformed, or was larger than allowed.
    Body(String),
}

/// A whole answer, and whether the connection may carry another request.
pub struct Answer {
    pub parts: Parts,
    pub body: Bytes,
    pub keep_alive: bool,
}

pub struct Connection {
    stream: TcpStream,
    /// Bytes read from the backend and not yet consumed.
    buf: BytesMut,
    /// Exchanges this connection has completed.
    served: u32,
    /// [`parse_head`]'s list of the header fields of the head it parses, kept between
    /// answers so that it is allocated once.
    fields: Vec<Field>,
}

impl Connection {
    pub fn new(stream: TcpStream) -> Self {
        let _ = stream.set_nodelay(true);
        Self {
            stream,
            buf: BytesMut::with_capacity(READ_CHUNK),
            served: 0,
            fields: Vec::new(),
        }
    }

    /// Whether the connection carried a request before.
    pub fn reused(&self) -> bool {
        self.served > 0
    }

    /// Whether an idle connection can take a request: the backend has neither closed it nor
    /// sent anything unasked. Costs no system call unless the socket was reported readable.
    pub fn is_open(&self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        match self.stream.poll_read_ready(&mut cx) {
            Poll::Pending => true,
            Poll::Ready(Err(_)) => false,
            // Readiness may be stale: ask the socket.
            Poll::Ready(Ok(())) => {
                let mut probe = [0u8; 1];
                matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
            }
        }
    }

    /// Sends `head` (from [`write_head`]) and `body`, and reads the whole answer, at most
    /// `max_body` bytes of body, with the `answer_headers` asked for.
    pub async fn exchange(
        &mut self,
        head: &[u8],
        body: &Bytes,
        head_request: bool,
        max_body: usize,
        answer_headers: AnswerHeaders,
    ) -> Result<Answer, ExchangeError> {
        self.send(head, body).await?;
        let (parts, framing, mut keep_alive) = self.read_head(answer_headers).await?;
        let body = if head_request
            || parts.status == StatusCode::NO_CONTENT
            || parts.status == StatusCode::NOT_MODIFIED
        {
            Bytes::new()
        } else {
            match framing {
                Framing::Chunked => self.read_chunked(max_body).await?,
                Framing::Length(n) => self.read_exact_body(n, max_body).await?,
                Framing::UntilClose => {
                    keep_alive = false;
                    self.read_to_close(max_body).await?
                }
            }
        };
        // Bytes nobody asked for: the connection's framing cannot be trusted any more.
        if !self.buf.is_empty() {
            keep_alive = false;
        }
        self.served += 1;
        Ok(Answer {
            parts,
            body,
            keep_alive,
        })
    }

    async fn send(&mut self, head: &[u8], body: &Bytes) -> Result<(), ExchangeError> {
        let closed = |e: io::Error| ExchangeError::Closed(e.to_string());
        if body.is_empty() {
            self.stream.write_all(head).await.map_err(closed)
        } else if body.len() <= COALESCE_BODY_BYTES {
            let mut both = Vec::with_capacity(head.len() + body.len());
            both.extend_from_slice(head);
            both.extend_from_slice(body);
            self.stream.write_all(&both).await.map_err(closed)
        } else {
            self.stream.write_all(head).await.map_err(closed)?;
            self.stream.write_all(body).await.map_err(closed)
        }
    }

    /// Reads more bytes into `buf`; `Ok(0)` at the end of the connection.
    async fn fill(&mut self, at_least: usize) -> io::Result<usize> {
        self.buf.reserve(at_least.max(MIN_READ_ROOM));
        self.stream.read_buf(&mut self.buf).await
    }

    /// Reads the final answer's head (skipping `1xx` interim answers) and consumes it from `buf`.
    async fn read_head(
        &mut self,
        answer_headers: AnswerHeaders,
    ) -> Result<(Parts, Framing, bool), ExchangeError> {
        let mut received_any = false;
        loop {
            // Nothing read yet (the usual case on entry): nothing to parse.
            let parsed = if self.buf.is_empty() {
                None
            } else {
                parse_head(&mut self.buf, &mut self.fields, answer_headers)?
            };
            if let Some(head) = parsed {
                if head.parts.status.is_informational()
                    && head.parts.status != StatusCode::SWITCHING_PROTOCOLS
                {
                    received_any = true;
                    continue;
                }
                return Ok((head.parts, head.framing, head.keep_alive));
            }
            if self.buf.len() >= MAX_HEAD_BYTES {
                return Err(ExchangeError::Head(format!(
                    "the answer's head is larger than {MAX_HEAD_BYTES} bytes"
                )));
            }
            match self.fill(0).await {
                Ok(0) if !received_any && self.buf.is_empty() => {
                    return Err(ExchangeError::Closed(
                        "the backend closed the connection without answering".into(),
                    ));
                }
                Ok(0) => {
                    return Err(ExchangeError::Head(
                        "the backend closed the connection inside the answer's head".into(),
                    ));
                }
                Ok(_) => received_any = true,
                Err(e) if !received_any && self.buf.is_empty() => {
                    return Err(ExchangeError::Closed(e.to_string()));
                }
                Err(e) => return Err(ExchangeError::Head(e.to_string())),
            }
        }
    }

    async fn read_exact_body(
        &mut self,
        length: u64,
        max_body: usize,
    ) -> Result<Bytes, ExchangeError> {
        if length > max_body as u64 {
            return Err(too_large(max_body));
        }
        let length = length as usize;
        while self.buf.len() < length {
            let missing = length - self.buf.len();
            match self.fill(missing).await {
                Ok(0) => return Err(ExchangeError::Body("the body ended early".into())),
                Ok(_) => {}
                Err(e) => return Err(ExchangeError::Body(e.to_string())),
            }
        }
        Ok(self.buf.split_to(length).freeze())
    }

    async fn read_to_close(&mut self, max_body: usize) -> Result<Bytes, ExchangeError> {
        loop {
            if self.buf.len() > max_body {
                return Err(too_large(max_body));
            }
            match self.fill(0).await {
                Ok(0) => return Ok(self.buf.split().freeze()),
                Ok(_) => {}
                Err(e) => return Err(ExchangeError::Body(e.to_string())),
            }
        }
    }

    async fn read_chunked(&mut self, max_body: usize) -> Result<Bytes, ExchangeError> {
        let mut body = BytesMut::new();
        let mut decoder = ChunkedDecoder::default();
        loop {
            if decoder.decode(&mut self.buf, &mut body, max_body)? {
                return Ok(body.freeze());
            }
            match self.fill(0).await {
                Ok(0) => return Err(ExchangeError::Body("the chunked body ended early".into())),
                Ok(_) => {}
                Err(e) => return Err(ExchangeError::Body(e.to_string())),
            }
        }
    }
}

fn too_large(max_body: usize) -> ExchangeError {
    ExchangeError::Body(format!("the body is larger than {max_body} bytes"))
}

/// How an answer's body is delimited.
#[derive(Debug, PartialEq)]
enum Framing {
    Chunked,
    Length(u64),
    UntilClose,
}

struct Head {
    parts: Parts,
    framing: Framing,
    keep_alive: bool,
}

/// A header field of a head being parsed: its name, and where its value is in the head.
type Field = (HeaderName, std::ops::Range<usize>);

/// Takes a complete answer head off the start of `buf`, or `None` when more bytes are needed;
/// with the `answer_headers` asked for (a proxy's are left out here rather than removed later).
/// Header values share the buffer's memory (no copy per value). `fields` is scratch space.
fn parse_head(
    buf: &mut BytesMut,
    fields: &mut Vec<Field>,
    answer_headers: AnswerHeaders,
) -> Result<Option<Head>, ExchangeError> {
    // Header slots left uninitialised: httparse writes the ones it uses.
    let mut slots =
        [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut []);
    let config = httparse::ParserConfig::default();
    let length = match config.parse_response_with_uninit_headers(&mut parsed, buf, &mut slots) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(ExchangeError::Head(format!("malformed answer head: {e}"))),
    };
    let status = parsed
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or_else(|| ExchangeError::Head("malformed status code".into()))?;
    let version = if parsed.version == Some(0) {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    fields.clear();
    let mut chunked = false;
    let mut content_length: Option<u64> = None;
    let mut connection = ConnectionOptions::default();
    for header in parsed.headers.iter() {
        let name = header_name(header.name.as_bytes())
            .map_err(|_| ExchangeError::Head(format!("invalid header name {:?}", header.name)))?;
        if name == hyper::header::TRANSFER_ENCODING {
            // Chunked only counts as the last coding applied.
            chunked = last_token(header.value).eq_ignore_ascii_case(b"chunked");
        } else if name == hyper::header::CONTENT_LENGTH {
            let n = framing::content_length(header.value)
                .ok_or_else(|| ExchangeError::Head("invalid Content-Length".into()))?;
            if content_length.is_some_and(|seen| seen != n) {
                return Err(ExchangeError::Head(
                    "conflicting Content-Length headers".into(),
                ));
            }
            content_length = Some(n);
        } else if name == hyper::header::CONNECTION {
            connection.read(header.value);
        }
        fields.push((name, framing::range_in(buf, header.value)));
    }
    let head = buf.split_to(length).freeze();
    let mut headers = HeaderMap::with_capacity(fields.len());
    let end_to_end = answer_headers == AnswerHeaders::EndToEnd;
    // The names the `Connection` headers list, when a proxy leaves them out.
    let mut listed = Vec::new();
    for (name, range) in fields.drain(..) {
        let value = HeaderValue::from_maybe_shared(head.slice(range))
            .map_err(|_| ExchangeError::Head(format!("invalid value of header {name}")))?;
        if end_to_end && hop_by_hop::is_hop_by_hop(&name) {
            if name == hyper::header::CONNECTION {
                hop_by_hop::push_names_listed(&value, &mut listed);
            }
            continue;
        }
        headers.append(name, value);
    }
    for name in &listed {
        headers.remove(name);
    }
    let framing = match (chunked, content_length) {
        (true, _) => Framing::Chunked,
        (false, Some(n)) => Framing::Length(n),
        (false, None) => Framing::UntilClose,
    };
    let keep_alive = !connection.close && (version == Version::HTTP_11 || connection.keep_alive);
    let (mut parts, ()) = hyper::Response::new(()).into_parts();
    parts.status = status;
    parts.version = version;
    parts.headers = headers;
    Ok(Some(Head {
        parts,
        framing,
        keep_alive,
    }))
}

/// The name of a header field as received (a token: httparse checked it): the names answers
/// commonly carry are matched to their constants (no parse, no copy), any other goes through
/// [`HeaderName::from_bytes`].
fn header_name(received: &[u8]) -> Result<HeaderName, hyper::header::InvalidHeaderName> {
    use hyper::header::*;
    let known = match received.len() {
        4 if is_lowercase_of(received, b"date") => DATE,
        4 if is_lowercase_of(received, b"etag") => ETAG,
        4 if is_lowercase_of(received, b"vary") => VARY,
        6 if is_lowercase_of(received, b"server") => SERVER,
        10 if is_lowercase_of(received, b"connection") => CONNECTION,
        10 if is_lowercase_of(received, b"set-cookie") => SET_COOKIE,
        12 if is_lowercase_of(received, b"content-type") => CONTENT_TYPE,
        13 if is_lowercase_of(received, b"cache-control") => CACHE_CONTROL,
        13 if is_lowercase_of(received, b"last-modified") => LAST_MODIFIED,
        14 if is_lowercase_of(received, b"content-length") => CONTENT_LENGTH,
        16 if is_lowercase_of(received, b"content-encoding") => CONTENT_ENCODING,
        17 if is_lowercase_of(received, b"transfer-encoding") => TRANSFER_ENCODING,
        _ => return HeaderName::from_bytes(received),
    };
    Ok(known)
}

/// Whether `received`, a header name or value as received (no control character but tab), is
/// `lowercase` (lowercase letters, digits and `-`) in any letter case. Such a byte of
/// `lowercase` and a received byte differ in bit 0x20 alone only when the received byte is the
/// same letter in the other case (the others that would, such as CR for `-`, are control
/// characters), so one OR per byte compares them, without a branch per byte.
pub(super) fn is_lowercase_of(received: &[u8], lowercase: &[u8]) -> bool {
    received.len() == lowercase.len()
        && received
            .iter()
            .zip(lowercase)
            .fold(0, |differ, (r, l)| differ | ((r | 0x20) ^ l))
            == 0
}

fn last_token(value: &[u8]) -> &[u8] {
    value
        .rsplit(|b| *b == b',')
        .next()
        .unwrap_or_default()
        .trim_ascii()
}

/// Decodes a chunked body as its bytes arrive.
#[derive(Default)]
struct ChunkedDecoder {
    state: ChunkState,
}

#[derive(Default, Clone, Copy)]
enum ChunkState {
    /// Expecting a chunk-size line.
    #[default]
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(usize),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailers,
}

impl ChunkedDecoder {
    /// Consumes what it can from `input` into `body`; `true` once the body is complete.
    fn decode(
        &mut self,
        input: &mut BytesMut,
        body: &mut BytesMut,
        max_body: usize,
    ) -> Result<bool, ExchangeError> {
        loop {
            match self.state {
                ChunkState::Size => {
                    let Some(line) = take_line(input, MAX_CHUNK_LINE)? else {
                        return Ok(false);
                    };
                    let size = chunk_size(&line)?;
                    if body.len().saturating_add(size) > max_body {
                        return Err(too_large(max_body));
                    }
                    self.state = if size == 0 {
                        ChunkState::Trailers
                    } else {
                        body.reserve(size);
                        ChunkState::Data(size)
                    };
                }
                ChunkState::Data(left) => {
                    if input.is_empty() {
                        return Ok(false);
                    }
                    let n = left.min(input.len());
                    body.extend_from_slice(&input[..n]);
                    input.advance(n);
                    self.state = if n == left {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left - n)
                    };
                }
                ChunkState::DataEnd => {
                    let Some(line) = take_line(input, 2)? else {
                        return Ok(false);
                    };
                    if !line.is_empty() {
                        return Err(ExchangeError::Body(
                            "a chunk is longer than its size".into(),
                        ));
                    }
                    self.state = ChunkState::Size;
                }
                ChunkState::Trailers => {
                    let Some(line) = take_line(input, MAX_HEAD_BYTES)? else {
                        return Ok(false);
                    };
                    if line.is_empty() {
                        return Ok(true);
                    }
                }
            }
        }
    }
}

/// Takes one CRLF-ended line (without the CRLF) off `input`, or `None` when it is incomplete.
fn take_line(input: &mut BytesMut, max: usize) -> Result<Option<BytesMut>, ExchangeError> {
    match input.windows(2).position(|w| w == b"\r\n") {
        Some(end) if end <= max => {
            let line = input.split_to(end);
            input.advance(2);
            Ok(Some(line))
        }
        Some(_) => Err(ExchangeError::Body("a chunk line is too long".into())),
        None if input.len() > max + 1 => {
            Err(ExchangeError::Body("a chunk line is too long".into()))
        }
        None => Ok(None),
    }
}

fn chunk_size(line: &[u8]) -> Result<usize, ExchangeError> {
    let digits = line
        .split(|b| *b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    let invalid = || ExchangeError::Body("invalid chunk size".into());
    if digits.is_empty() || digits.len() > 15 {
        return Err(invalid());
    }
    digits.iter().try_fold(0usize, |size, &b| {
        let digit = (b as char).to_digit(16).ok_or_else(invalid)?;
        Ok(size * 16 + digit as usize)
    })
}

/// Writes the request line and headers of `request` for an origin server: the path and query
/// only, the request's headers except its own framing ones, and a `Content-Length` for the
/// `body_length` bytes that follow.
pub fn write_head<B>(request: &Request<B>, body_length: usize, out: &mut Vec<u8>) {
    let method = request.method();
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| !p.is_empty())
        .unwrap_or("/");
    if !target.starts_with('/') {
        out.push(b'/');
    }
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in request.headers() {
        if name == hyper::header::CONTENT_LENGTH || name == hyper::header::TRANSFER_ENCODING {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if body_length > 0
        || !matches!(
            *method,
            Method::GET
                | Method::HEAD
                | Method::DELETE
                | Method::OPTIONS
                | Method::TRACE
                | Method::CONNECT
        )
    {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(itoa::Buffer::new().format(body_length).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Waits until the connection is closed by the backend (used by tests).
#[cfg(test)]
async fn closed(stream: &TcpStream) {
    let _ = std::future::poll_fn(|cx| stream.poll_read_ready(cx)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: &[u8] = b"GET / HTTP/1.1\r\n\r\n";

    fn decode_all(parts: &[&[u8]], max: usize) -> Result<Option<Bytes>, ExchangeError> {
        let mut decoder = ChunkedDecoder::default();
        let mut input = BytesMut::new();
        let mut body = BytesMut::new();
        for part in parts {
            input.extend_from_slice(part);
            if decoder.decode(&mut input, &mut body, max)? {
                return Ok(Some(body.freeze()));
            }
        }
        Ok(None)
    }

    #[test]
    fn chunked_bodies_decode_across_any_split() {
        let wire =
            b"5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nx-trailer: 1\r\n\r\n";
        for split in 0..wire.len() {
            let (a, b) = wire.split_at(split);
            let body = decode_all(&[a, b], 1024).unwrap().unwrap();
            assert_eq!(&body[..], b"helloabcdefghijklmnopqrstuvwxyz");
        }
        // Byte by byte.
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        assert!(decode_all(&bytes, 1024).unwrap().is_some());
    }

    #[test]
    fn bad_chunked_bodies_are_errors() {
        for wire in [
            &b"zz\r\nhello\r\n0\r\n\r\n"[..],
            b"5\r\nhelloX\r\n0\r\n\r\n",
            b"\r\n",
            b"fffffffffffffffffff\r\n",
        ] {
            assert!(
                decode_all(&[wire], 1024).is_err(),
                "{:?}",
                String::from_utf8_lossy(wire)
            );
        }
        assert!(matches!(
            decode_all(&[b"400\r\n"], 1000),
            Err(ExchangeError::Body(m)) if m.contains("larger")
        ));
        // A size line that never ends.
        assert!(decode_all(&[&[b'1'; 2000]], 1 << 20).is_err());
    }

    #[test]
    fn heads_give_framing_and_keep_alive() {
        let parse = |wire: &[u8]| {
            parse_head(
                &mut BytesMut::from(wire),
                &mut Vec::new(),
                AnswerHeaders::All,
            )
        };
        let head = |wire: &str| parse(wire.as_bytes()).unwrap().unwrap();
        // The head is taken off the buffer; what follows stays.
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello"[..],
        );
        let h = parse_head(&mut buf, &mut Vec::new(), AnswerHeaders::All)
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..], b"hello");
        assert_eq!(h.framing, Framing::Length(5));
        assert!(h.keep_alive);
        let values: Vec<_> = h.parts.headers.get_all("x-a").iter().collect();
        assert_eq!(values, ["1", "2"]);

        let h = head(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n",
        );
        assert_eq!(h.framing, Framing::Chunked);
        let h = head("HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\n\r\n");
        assert_eq!(h.framing, Framing::UntilClose);
        assert!(!h.keep_alive);
        assert!(!head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
        assert!(
            head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
                .keep_alive
        );

        assert!(parse(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap().is_none());
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"garbage\r\n\r\n",
            format!(
                "HTTP/1.1 200 OK\r\n{}\r\n",
                "x-a: 1\r\n".repeat(MAX_HEADERS + 1)
            )
            .leak()
            .as_bytes(),
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn a_proxy_gets_the_end_to_end_headers_a_strip_would_leave() {
        let wire = b"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nServer: s\r\n\
            X-Hop: 1\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\nX-A: 1\r\nX-A: 2\r\n\r\nok";
        let parse = |answer_headers| {
            let mut buf = BytesMut::from(&wire[..]);
            let head = parse_head(&mut buf, &mut Vec::new(), answer_headers)
                .unwrap()
                .unwrap();
            assert_eq!(&buf[..], b"ok");
            (head.parts.headers, head.framing, head.keep_alive)
        };
        let (end_to_end, framing, keep_alive) = parse(AnswerHeaders::EndToEnd);
        assert_eq!((framing, keep_alive), (Framing::Length(2), true));
        let (mut stripped, _, _) = parse(AnswerHeaders::All);
        assert_eq!(stripped.len(), 7);
        hop_by_hop::strip_hop_by_hop(&mut stripped);
        assert_eq!(end_to_end, stripped);
        let names: Vec<_> = end_to_end.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["server", "x-a"]);
        assert_eq!(end_to_end.get_all("x-a").iter().count(), 2);
    }

    #[test]
    fn lowercase_comparison_is_eq_ignore_ascii_case_for_header_text() {
        let received = (0x20..=0xffu8).filter(|b| *b != 0x7f).chain([b'\t']);
        let lowercase: Vec<u8> = (b'a'..=b'z').chain(b'0'..=b'9').chain([b'-']).collect();
        for r in received {
            for l in &lowercase {
                assert_eq!(
                    is_lowercase_of(&[r], &[*l]),
                    [r].eq_ignore_ascii_case(&[*l]),
                    "{r:#x} {l:#x}"
                );
            }
        }
        assert!(is_lowercase_of(b"Keep-Alive", b"keep-alive"));
        assert!(!is_lowercase_of(b"keep-alive ", b"keep-alive"));
    }

    #[test]
    fn header_names_are_those_from_bytes_gives() {
        for name in [
            "Date",
            "ETAG",
            "vary",
            "Server",
            "Connection",
            "Set-Cookie",
            "Content-Type",
            "Cache-Control",
            "Last-Modified",
            "Content-Length",
            "content-encoding",
            "Transfer-Encoding",
            "Dave",
            "X-Request-Id",
            "Content-Lengths",
            "connectioN",
            "sERVEr",
            "e",
            "",
        ] {
            let ours = header_name(name.as_bytes()).map_err(|e| e.to_string());
            let theirs = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{name}");
        }
        assert_eq!(
            header_name(b"content-length").unwrap(),
            hyper::header::CONTENT_LENGTH
        );
        assert_eq!(header_name(b"Davs").unwrap().as_str(), "davs");
        assert!(header_name(b"Da e").is_err());
    }

    #[test]
    fn heads_for_origin_servers() {
        let request = Request::builder()
            .method("POST")
            .uri("/a/b?c=d")
            .header("host", "example.com:8080")
            .header("content-length", "999")
            .header("transfer-encoding", "chunked")
            .header("x-one", "1")
            .body(())
            .unwrap();
        let mut out = Vec::new();
        write_head(&request, 0, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST /a/b?c=d HTTP/1.1\r\nhost: example.com:8080\r\nx-one: 1\r\ncontent-length: 0\r\n\r\n"
        );
        let get = Request::builder().uri("http://h/").body(()).unwrap();
        let mut out = Vec::new();
        write_head(&get, 0, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "GET / HTTP/1.1\r\n\r\n");
    }

    async fn pair() -> (Connection, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        (Connection::new(client.unwrap()), accepted.unwrap().0)
    }

    async fn answer(server: &mut TcpStream, wire: &[u8]) {
        let mut request = vec![0u8; 4096];
        let _ = server.read(&mut request).await.unwrap();
        server.write_all(wire).await.unwrap();
    }

    #[tokio::test]
    async fn exchanges_skip_interim_answers_and_read_each_framing() {
        let (mut conn, mut server) = pair().await;
        let head = GET;
        let empty = Bytes::new();
        let cases: [(&[u8], &[u8], bool); 4] = [
            (
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
                b"ok",
                true,
            ),
            (
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
                b"ab",
                true,
            ),
            (
                b"HTTP/1.1 204 No Content\r\ncontent-length: 9\r\n\r\n",
                b"",
                true,
            ),
            (
                b"HTTP/1.1 200 OK\r\n\r\nuntil the end",
                b"until the end",
                false,
            ),
        ];
        for (wire, body, keep_alive) in cases {
            let wire = wire.to_vec();
            let close = !keep_alive;
            let serve = async {
                answer(&mut server, &wire).await;
                if close {
                    server.shutdown().await.unwrap();
                }
            };
            let (answer, ()) = tokio::join!(
                conn.exchange(head, &empty, false, 1024, AnswerHeaders::All),
                serve
            );
            let answer = answer.unwrap();
            assert_eq!(&answer.body[..], body);
            assert_eq!(answer.keep_alive, keep_alive);
        }
        assert!(conn.reused());
    }

    #[tokio::test]
    async fn small_answers_share_the_buffer_the_earlier_ones_still_use() {
        let (mut conn, mut server) = pair().await;
        let wire = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
        let empty = Bytes::new();
        let mut bodies = Vec::new();
        for _ in 0..3 {
            let exchange = conn.exchange(GET, &empty, false, 1024, AnswerHeaders::All);
            let (answer, ()) = tokio::join!(exchange, answer(&mut server, wire));
            // Kept, so the buffer is not the connection's alone any more.
            bodies.push(answer.unwrap().body);
        }
        let first = bodies[0].as_ptr() as usize;
        for body in &bodies {
            assert_eq!(&body[..], b"hello");
            let at = body.as_ptr() as usize;
            assert!((first..first + READ_CHUNK).contains(&at), "a new buffer");
        }
    }

    #[tokio::test]
    async fn a_closed_idle_connection_is_seen_and_reported_as_closed() {
        let (mut conn, server) = pair().await;
        assert!(conn.is_open());
        drop(server);
        // Let the close arrive (the reactor marks the socket readable).
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), closed(&conn.stream)).await;
        assert!(!conn.is_open());
        let error = conn
            .exchange(
                b"GET / HTTP/1.1\r\n\r\n",
                &Bytes::new(),
                false,
                1024,
                AnswerHeaders::All,
            )
            .await
            .err()
            .unwrap();
        assert!(matches!(error, ExchangeError::Closed(_)), "{error:?}");
    }

    #[tokio::test]
    async fn oversized_and_truncated_bodies_are_body_errors() {
        let empty = Bytes::new();
        let (mut conn, mut server) = pair().await;
        let serve = answer(
            &mut server,
            b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n",
        );
        let (result, ()) = tokio::join!(
            conn.exchange(GET, &empty, false, 1024, AnswerHeaders::All),
            serve
        );
        assert!(matches!(result, Err(ExchangeError::Body(_))));

        let (mut conn, mut server) = pair().await;
        let serve = async {
            answer(
                &mut server,
                b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc",
            )
            .await;
            drop(server);
        };
        let (result, ()) = tokio::join!(
            conn.exchange(GET, &empty, false, 1024, AnswerHeaders::All),
            serve
        );
        assert!(matches!(result, Err(ExchangeError::Body(_))));
    }
}
