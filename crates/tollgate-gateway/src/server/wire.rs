//! HTTP/1.x bytes on the listener's fast path: which request heads it serves itself (and the
//! `Request` they become), and a response head written the way hyper's server writes one.
//!
//! The fast path takes only plain requests whose whole body is already read. Anything else
//! (a chunked body, `Expect`, an upgrade, `CONNECT`, a malformed or oversized head, the HTTP/2
//! preface) is declined: hyper then serves the connection from those same bytes on, so the
//! answer to every unusual request is hyper's.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::ops::Range;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Request, StatusCode, Uri, Version};

use super::MAX_HEADER_BYTES;
use crate::framing::{self, ConnectionOptions};

/// Request headers the fast path parses; a request with more goes to hyper (limit 100).
const MAX_HEADERS: usize = 64;

/// Headers the gateway may add to a request it proxies.
const ADDED_HEADERS: usize = 6;

/// What the bytes read so far hold.
#[derive(Debug)]
pub(super) enum Parsed {
    /// A whole request the fast path serves: the first `len` bytes are its head and body.
    Request(Accepted),
    /// A request head is under way: read more.
    Partial,
    /// Not for the fast path: hand these bytes and the connection to hyper.
    Decline,
}

/// A request head the fast path serves, as positions in the bytes it was parsed from.
#[derive(Debug)]
pub(super) struct Accepted {
    method: Method,
    version: Version,
    target: Range<usize>,
    headers: Vec<(HeaderName, Range<usize>)>,
    body: Range<usize>,
    /// Whether the client lets the connection stay open after the answer.
    pub keep_alive: bool,
}

impl Accepted {
    /// Bytes of head and body together.
    pub fn len(&self) -> usize {
        self.body.end
    }

    /// The request, sharing `bytes` (what [`parse`] saw, at least [`Self::len`] long).
    /// `None` when the request target is not a URI.
    pub fn into_request(self, bytes: &Bytes) -> Option<Request<Bytes>> {
        let uri = Uri::from_maybe_shared(bytes.slice(self.target)).ok()?;
        // Room for what the gateway adds before proxying (X-Forwarded-*, trace headers), so
        // that the map does not grow then.
        let mut headers = HeaderMap::with_capacity(self.headers.len() + ADDED_HEADERS);
        for (name, value) in self.headers {
            // Checked in `parse`; `from_maybe_shared` cannot refuse it.
            if let Ok(value) = HeaderValue::from_maybe_shared(bytes.slice(value)) {
                headers.append(name, value);
            }
        }
        let mut request = Request::new(bytes.slice(self.body));
        *request.method_mut() = self.method;
        *request.uri_mut() = uri;
        *request.version_mut() = self.version;
        *request.headers_mut() = headers;
        Some(request)
    }
}

/// Parses the start of `input`.
pub(super) fn parse(input: &[u8]) -> Parsed {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut []);
    let head_len = match head.parse_with_uninit_headers(input, &mut slots) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if input.len() < MAX_HEADER_BYTES => return Parsed::Partial,
        Ok(httparse::Status::Partial) | Err(_) => return Parsed::Decline,
    };
    let version = match head.version {
        Some(1) => Version::HTTP_11,
        Some(0) => Version::HTTP_10,
        _ => return Parsed::Decline,
    };
    let (Some(method), Some(target)) = (head.method, head.path) else {
        return Parsed::Decline;
    };
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return Parsed::Decline;
    };
    if method == Method::CONNECT {
        return Parsed::Decline;
    }
    let mut content_length = None;
    let mut connection = ConnectionOptions::default();
    let mut headers = Vec::with_capacity(head.headers.len());
    for h in head.headers.iter() {
        let Ok(name) = HeaderName::from_bytes(h.name.as_bytes()) else {
            return Parsed::Decline;
        };
        if !h
            .value
            .iter()
            .all(|&b| b >= b' ' && b != 0x7f || b == b'\t')
        {
            return Parsed::Decline;
        }
        match name {
            header::CONTENT_LENGTH => match (content_length, framing::content_length(h.value)) {
                (None, Some(n)) => content_length = Some(n),
                _ => return Parsed::Decline,
            },
            header::TRANSFER_ENCODING | header::EXPECT | header::UPGRADE => {
                return Parsed::Decline;
            }
            header::CONNECTION => connection.read(h.value),
            _ => {}
        }
        headers.push((name, framing::range_in(input, h.value)));
    }
    if connection.upgrade {
        return Parsed::Decline;
    }
    let keep_alive = if version == Version::HTTP_11 {
        !connection.close
    } else {
        connection.keep_alive && !connection.close
    };
    let Ok(body_length) = usize::try_from(content_length.unwrap_or(0)) else {
        return Parsed::Decline;
    };
    let body = head_len..head_len.saturating_add(body_length);
    if body.end > input.len() {
        // The body is still on its way: hyper reads it as it comes, within its limits.
        return Parsed::Decline;
    }
    Parsed::Request(Accepted {
        method,
        version,
        target: framing::range_in(input, target.as_bytes()),
        headers,
        body,
        keep_alive,
    })
}

/// How a response body goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body at all (HEAD, 204, 304).
    Empty,
    Length(u64),
    Chunked,
    /// The body runs until the connection closes (an HTTP/1.0 client, length unknown).
    UntilClose,
}

/// The request facts a response head depends on.
#[derive(Debug, Clone, Copy)]
pub(super) struct Exchange {
    pub version: Version,
    pub head_request: bool,
    /// In: whether the client lets the connection stay open. Out: whether it does.
    pub keep_alive: bool,
}

/// Appends the response head to `out` as hyper's server would (lower-case names in the map's
/// order, `content-length` or chunked framing, `date`, `connection` for HTTP/1.0 keep-alive and
/// for closing) and says how the body follows. `body_length` is the body's exact length if
/// known.
pub(super) fn write_head(
    out: &mut Vec<u8>,
    exchange: &mut Exchange,
    status: StatusCode,
    headers: &HeaderMap,
    body_length: Option<u64>,
) -> Framing {
    let http10 = exchange.version == Version::HTTP_10;
    if status == StatusCode::OK && !http10 {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        out.extend_from_slice(if http10 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
        out.extend_from_slice(status.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let mut framing = None;
    let mut says = ConnectionOptions::default();
    let mut has_date = false;
    for (name, value) in headers {
        match *name {
            header::CONTENT_LENGTH => {
                if framing.is_some() {
                    continue;
                }
                match body_length.or_else(|| framing::content_length(value.as_bytes())) {
                    Some(n) => framing = Some(Framing::Length(n)),
                    None => continue,
                }
            }
            // The framing is ours to choose.
            header::TRANSFER_ENCODING => continue,
            header::CONNECTION => says.read(value.as_bytes()),
            header::DATE => has_date = true,
            _ => {}
        }
        push_header(out, name.as_str().as_bytes(), value.as_bytes());
    }
    let bodiless = exchange.head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let (framing, length_line) = match (framing, body_length) {
        (Some(framing), _) => (framing, None),
        (None, Some(n)) => {
            let may_have_length = !status.is_informational()
                && status != StatusCode::NO_CONTENT
                && status != StatusCode::NOT_MODIFIED;
            // A HEAD answer states no length of 0 it was not given.
            let stated = may_have_length && (n > 0 || !exchange.head_request);
            (Framing::Length(n), stated.then_some(n))
        }
        (None, None) if bodiless => (Framing::Empty, None),
        (None, None) if http10 => (Framing::UntilClose, None),
        (None, None) => (Framing::Chunked, None),
    };
    exchange.keep_alive &= !says.close && framing != Framing::UntilClose;
    if exchange.keep_alive && http10 && !says.keep_alive {
        push_header(out, b"connection", b"keep-alive");
    } else if !exchange.keep_alive && !http10 && !says.close {
        push_header(out, b"connection", b"close");
    }
    if let Some(n) = length_line {
        push_header(
            out,
            b"content-length",
            itoa::Buffer::new().format(n).as_bytes(),
        );
    } else if framing == Framing::Chunked {
        push_header(out, b"transfer-encoding", b"chunked");
    }
    if !has_date {
        out.extend_from_slice(b"date: ");
        DATE.with(|date| out.extend_from_slice(&date.borrow_mut().now()));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if bodiless { Framing::Empty } else { framing }
}

fn push_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Appends one chunk of a chunked body.
pub(super) fn push_chunk(out: &mut Vec<u8>, data: &[u8]) {
    push_chunk_size(out, data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Appends a chunk's size line; its data and `\r\n` follow.
pub(super) fn push_chunk_size(out: &mut Vec<u8>, size: usize) {
    let mut hex = [0u8; 16];
    let (mut n, mut at) = (size, hex.len());
    loop {
        at -= 1;
        hex[at] = b"0123456789abcdef"[n % 16];
        n /= 16;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&hex[at..]);
    out.extend_from_slice(b"\r\n");
}

/// The last chunk of a chunked body (no trailers).
pub(super) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// `Date` header values, formatted once a second per thread.
struct CachedDate {
    text: [u8; 29],
    until: SystemTime,
}

impl CachedDate {
    fn now(&mut self) -> [u8; 29] {
        let now = SystemTime::now();
        if now >= self.until {
            let formatted = httpdate::fmt_http_date(now);
            if let Ok(text) = formatted.as_bytes().try_into() {
                self.text = text;
            }
            let into_second = now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(Duration::ZERO, |d| {
                    Duration::from_nanos(u64::from(d.subsec_nanos()))
                });
            self.until = now - into_second + Duration::from_secs(1);
        }
        self.text
    }
}

thread_local! {
    static DATE: RefCell<CachedDate> = const {
        RefCell::new(CachedDate { text: [b' '; 29], until: SystemTime::UNIX_EPOCH })
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(wire: &[u8]) -> Accepted {
        match parse(wire) {
            Parsed::Request(a) => a,
            other => panic!("{other:?} for {:?}", String::from_utf8_lossy(wire)),
        }
    }

    #[test]
    fn plain_requests_become_requests_sharing_the_bytes() {
        let wire = Bytes::from_static(
            b"POST /a/b?c=d HTTP/1.1\r\nHost: x\r\nX-Two: 1\r\nx-two: 2\r\nContent-Length: 3\r\n\r\nabcGET",
        );
        let a = accepted(&wire);
        assert_eq!(a.len(), wire.len() - 3);
        assert!(a.keep_alive);
        let request = a.into_request(&wire).unwrap();
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri().path(), "/a/b");
        assert_eq!(request.uri().query(), Some("c=d"));
        assert_eq!(request.version(), Version::HTTP_11);
        assert_eq!(request.headers()["host"], "x");
        let twos: Vec<_> = request.headers().get_all("x-two").iter().collect();
        assert_eq!(twos, ["1", "2"]);
        assert_eq!(request.body().as_ref(), b"abc");
    }

    #[test]
    fn keep_alive_follows_version_and_connection() {
        assert!(!accepted(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(accepted(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        // `close` wins wherever it is listed.
        assert!(!accepted(b"GET / HTTP/1.0\r\nConnection: close, keep-alive\r\n\r\n").keep_alive);
        assert!(!accepted(b"GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n").keep_alive);
        assert!(accepted(b"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n").keep_alive);
    }

    #[test]
    fn unusual_requests_are_declined_and_partial_heads_wait() {
        for wire in [
            &b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
            b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            b"GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n",
            b"CONNECT a:443 HTTP/1.1\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na",
            b"GET / HTTP/1.1\r\nContent-Length: +1\r\n\r\na",
            b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
            b"GET / HTTP/1.1\r\nX: a\x7fb\r\n\r\n",
            b"G\x01T / HTTP/1.1\r\n\r\n",
        ] {
            assert!(
                matches!(parse(wire), Parsed::Decline),
                "{:?}",
                String::from_utf8_lossy(wire)
            );
        }
        assert!(matches!(
            parse(b"GET / HTTP/1.1\r\nHost: x\r\n"),
            Parsed::Partial
        ));
        assert!(matches!(parse(b""), Parsed::Partial));
        let many: String = (0..MAX_HEADERS + 1)
            .map(|i| format!("h{i}: v\r\n"))
            .collect();
        let wire = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert!(matches!(parse(wire.as_bytes()), Parsed::Decline));
        let huge = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEADER_BYTES));
        assert!(matches!(parse(huge.as_bytes()), Parsed::Decline));
    }

    fn head(
        version: Version,
        head_request: bool,
        keep_alive: bool,
        status: u16,
        headers: &[(&str, &str)],
        body_length: Option<u64>,
    ) -> (String, Framing, bool) {
        let mut map = HeaderMap::new();
        for (n, v) in headers {
            map.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let mut exchange = Exchange {
            version,
            head_request,
            keep_alive,
        };
        let mut out = Vec::new();
        let status = StatusCode::from_u16(status).unwrap();
        let framing = write_head(&mut out, &mut exchange, status, &map, body_length);
        let text = String::from_utf8(out).unwrap();
        let (without_date, date) = text.split_once("date: ").unwrap();
        assert_eq!(date.len(), 29 + 4, "{date:?}");
        assert!(date.ends_with(" GMT\r\n\r\n"), "{date:?}");
        (without_date.to_string(), framing, exchange.keep_alive)
    }

    #[test]
    fn response_heads_frame_bodies_as_hyper_does() {
        let v11 = Version::HTTP_11;
        assert_eq!(
            head(v11, false, true, 200, &[("x-a", "1")], Some(5)),
            (
                "HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 5\r\n".into(),
                Framing::Length(5),
                true
            )
        );
        assert_eq!(
            head(v11, false, true, 404, &[], Some(0)),
            (
                "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n".into(),
                Framing::Length(0),
                true
            )
        );
        // A HEAD answer keeps the length it was given and has no body.
        assert_eq!(
            head(v11, true, true, 200, &[("content-length", "42")], Some(0)),
            (
                "HTTP/1.1 200 OK\r\ncontent-length: 42\r\n".into(),
                Framing::Empty,
                true
            )
        );
        assert_eq!(
            head(v11, true, true, 200, &[], Some(0)),
            ("HTTP/1.1 200 OK\r\n".into(), Framing::Empty, true)
        );
        assert_eq!(
            head(v11, false, true, 204, &[], Some(0)),
            ("HTTP/1.1 204 No Content\r\n".into(), Framing::Empty, true)
        );
        assert_eq!(
            head(
                v11,
                false,
                true,
                200,
                &[("transfer-encoding", "chunked")],
                None
            ),
            (
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n".into(),
                Framing::Chunked,
                true
            )
        );
        assert_eq!(
            head(v11, false, true, 599, &[], Some(0)),
            (
                "HTTP/1.1 599 <none>\r\ncontent-length: 0\r\n".into(),
                Framing::Length(0),
                true
            )
        );
    }

    #[test]
    fn response_heads_say_how_the_connection_goes_on() {
        let (v10, v11) = (Version::HTTP_10, Version::HTTP_11);
        assert_eq!(
            head(v11, false, false, 200, &[], Some(1)),
            (
                "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n".into(),
                Framing::Length(1),
                false
            )
        );
        assert_eq!(
            head(v11, false, true, 200, &[("connection", "close")], Some(1)),
            (
                "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n".into(),
                Framing::Length(1),
                false
            )
        );
        assert_eq!(
            head(v10, false, true, 200, &[], Some(1)),
            (
                "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 1\r\n".into(),
                Framing::Length(1),
                true
            )
        );
        assert_eq!(
            head(v10, false, false, 500, &[], Some(1)),
            (
                "HTTP/1.0 500 Internal Server Error\r\ncontent-length: 1\r\n".into(),
                Framing::Length(1),
                false
            )
        );
        assert_eq!(
            head(v10, false, true, 200, &[], None),
            ("HTTP/1.0 200 OK\r\n".into(), Framing::UntilClose, false)
        );
    }

    #[test]
    fn chunks_carry_their_size_in_hex() {
        let mut out = Vec::new();
        push_chunk(&mut out, &[b'a'; 26]);
        push_chunk(&mut out, b"");
        assert_eq!(
            out,
            [&b"1a\r\n"[..], &[b'a'; 26], b"\r\n0\r\n\r\n"].concat()
        );
    }

    #[test]
    fn the_date_is_an_http_date() {
        let text = DATE.with(|d| d.borrow_mut().now());
        let text = std::str::from_utf8(&text).unwrap();
        assert!(httpdate::parse_http_date(text).is_ok(), "{text}");
    }
}
