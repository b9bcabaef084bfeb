//! Access-log formats: `accessLogSettings.format` compiled once into literal text and
//! `$context` [`Variable`]s, so that requests render no name. A request renders its line in two
//! steps, straight into one buffer: once it has been read, the literals and the variables known
//! then ([`AccessLogFormat::render_request`]), leaving a hole for each variable known only once
//! the response is out; then those ([`AccessLogFormat::fill`]). A variable with no value renders
//! as `-`, as API Gateway writes it.

use std::sync::{Mutex, PoisonError};

pub use crate::variable::Variable;

/// The presets the API Gateway console offers (Common Log Format, JSON, XML, CSV).
pub mod presets {
    pub const CLF: &str = "$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] \"$context.httpMethod $context.resourcePath $context.protocol\" $context.status $context.responseLength $context.requestId";
    pub const JSON: &str = "{ \"requestId\":\"$context.requestId\", \"ip\": \"$context.identity.sourceIp\", \"caller\":\"$context.identity.caller\", \"user\":\"$context.identity.user\",\"requestTime\":\"$context.requestTime\", \"httpMethod\":\"$context.httpMethod\",\"resourcePath\":\"$context.resourcePath\", \"status\":\"$context.status\",\"protocol\":\"$context.protocol\", \"responseLength\":\"$context.responseLength\" }";
    pub const XML: &str = "<request id=\"$context.requestId\"> <ip>$context.identity.sourceIp</ip> <caller>$context.identity.caller</caller> <user>$context.identity.user</user> <requestTime>$context.requestTime</requestTime> <httpMethod>$context.httpMethod</httpMethod> <resourcePath>$context.resourcePath</resourcePath> <status>$context.status</status> <protocol>$context.protocol</protocol> <responseLength>$context.responseLength</responseLength> </request>";
    pub const CSV: &str = "$context.identity.sourceIp,$context.identity.caller,$context.identity.user,$context.requestTime,$context.httpMethod,$context.resourcePath,$context.protocol,$context.status,$context.responseLength,$context.requestId";
}

/// Longest format API Gateway accepts (3 KB); log events are cut at 1,024 bytes... by
/// CloudWatch, not by API Gateway, so lines here are written whole.
pub const MAX_FORMAT_BYTES: usize = 3 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// A variable known once the request is read; `checked`: its value may hold line breaks.
    Request {
        variable: Variable,
        checked: bool,
    },
    /// A variable known only once the response is out: a hole until [`AccessLogFormat::fill`].
    Final(Variable),
}

/// A compiled format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogFormat {
    segments: Vec<Segment>,
}

const PREFIX: &str = "$context.";

impl AccessLogFormat {
    /// Compiles a format; every `$context.name` (name: letters, digits, `_`, `.`, without a
    /// trailing `.`) becomes a variable, the rest is literal.
    pub fn compile(format: &str) -> Self {
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut rest = format;
        while let Some(at) = rest.find(PREFIX) {
            let after = &rest[at + PREFIX.len()..];
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .unwrap_or(after.len());
            let name = after[..len].trim_end_matches('.');
            if name.is_empty() {
                literal.push_str(&rest[..at + PREFIX.len()]);
                rest = after;
                continue;
            }
            literal.push_str(&rest[..at]);
            if !literal.is_empty() {
                segments.push(Segment::Literal(std::mem::take(&mut literal)));
            }
            let variable = Variable::parse(name);
            segments.push(if variable.is_final() {
                Segment::Final(variable)
            } else {
                let checked = !variable.is_single_line();
                Segment::Request { variable, checked }
            });
            rest = &after[name.len()..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        for segment in &mut segments {
            if let Segment::Literal(text) = segment
                && text.contains(['\n', '\r'])
            {
                *text = text.replace(['\n', '\r'], " ");
            }
        }
        Self { segments }
    }

    /// The variables the format uses, in order (repeated as often as it names them).
    pub fn variables(&self) -> impl Iterator<Item = &Variable> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Request { variable, .. } | Segment::Final(variable) => Some(variable),
            Segment::Literal(_) => None,
        })
    }

    /// Starts `line` over: the literals and the variables known once the request is read,
    /// each appended by `write` (`false`: no value), and a hole for each final one (see
    /// [`Variable::is_final`]). Line breaks in values become spaces.
    pub fn render_request(
        &self,
        line: &mut AccessLine,
        mut write: impl FnMut(&Variable, &mut String) -> bool,
    ) {
        line.text.clear();
        line.holes.clear();
        for (index, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(text) => line.text.push_str(text),
                Segment::Final(_) => line.holes.push((line.text.len() as u32, index as u32)),
                Segment::Request { variable, checked } => {
                    let start = line.text.len();
                    let written = write(variable, &mut line.text);
                    end_value(&mut line.text, start, written, *checked);
                }
            }
        }
    }

    /// Completes a line [`render_request`](Self::render_request) started: each hole gets
    /// what `write` appends (`false`: no value), and the line its final newline.
    pub fn fill(
        &self,
        line: &mut AccessLine,
        mut write: impl FnMut(&Variable, &mut String) -> bool,
    ) {
        // From the last hole back, so that the positions of the others stay right.
        while let Some((at, index)) = line.holes.pop() {
            let Some(Segment::Final(v)) = self.segments.get(index as usize) else {
                continue;
            };
            line.value.clear();
            let written = write(v, &mut line.value);
            end_value(&mut line.value, 0, written, !v.is_single_line());
            line.text.insert_str(at as usize, &line.value);
        }
        line.text.push('\n');
    }
}

/// Ends the value written from `start` on: `-` when there is none (or it is empty); when
/// `checked`, line breaks turned to spaces.
#[inline]
fn end_value(out: &mut String, start: usize, written: bool, checked: bool) {
    if !written || out.len() == start {
        out.truncate(start);
        out.push('-');
    } else if checked
        && out.as_bytes()[start..]
            .iter()
            .any(|&b| b == b'\n' || b == b'\r')
    {
        let single = out[start..].replace(['\n', '\r'], " ");
        out.truncate(start);
        out.push_str(&single);
    }
}

/// One request's access-log line, rendered in place (see [`AccessLogFormat`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLine {
    text: String,
    /// `(byte offset in text, segment index)` of each final variable still to write.
    holes: Vec<(u32, u32)>,
    /// Where a final value is written before it goes into its hole.
    value: String,
}

/// Bytes reserved for a line up front (a dozen variables and their literals fit).
const LINE_BYTES: usize = 512;

impl Default for AccessLine {
    /// An empty line, with room for a typical one.
    fn default() -> Self {
        Self {
            text: String::with_capacity(LINE_BYTES),
            holes: Vec::new(),
            value: String::new(),
        }
    }
}

impl AccessLine {
    /// The line (ending in a newline once [`AccessLogFormat::fill`] completed it).
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Line buffers kept for reuse: the access-log writer gives back those it has written and
/// requests take them, so that steady logging allocates nothing (and no buffer is freed by
/// another thread than the one that allocated it).
#[derive(Debug, Default)]
pub struct SpareLines(Mutex<Vec<AccessLine>>);

/// Spare buffers kept at most (a writer's batch of lines is of that order at 10k req/s).
const MAX_SPARE: usize = 1024;
/// A buffer grown past this (a long error message, a huge header) is dropped, not kept.
const MAX_SPARE_BYTES: usize = 4096;

impl SpareLines {
    /// A spare line buffer, else a new one.
    pub fn take(&self) -> AccessLine {
        let spare = self.0.lock().unwrap_or_else(PoisonError::into_inner).pop();
        spare.unwrap_or_default()
    }

    /// Keeps the buffers of `used` for later requests, up to [`MAX_SPARE`].
    pub fn give_back(&self, used: &mut Vec<AccessLine>) {
        let mut spare = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let room = MAX_SPARE.saturating_sub(spare.len());
        spare.extend(
            used.drain(..)
                .filter(|l| l.text.capacity() + l.value.capacity() <= MAX_SPARE_BYTES)
                .take(room),
        );
    }

    /// Buffers kept now.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Appends `n` in decimal, without going through `fmt`.
pub fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    push_ascii(out, &digits[at..]);
}

/// Appends `bytes`, ASCII text built in place (digits, a date), reserving room once and
/// without validating it as UTF-8 (a byte that is not ASCII is written as that code point).
/// Appends an IP address as `Display` writes it; IPv4 (the usual client) without `fmt`.
pub fn push_ip(out: &mut String, ip: std::net::IpAddr) {
    let std::net::IpAddr::V4(v4) = ip else {
        use std::fmt::Write as _;
        let _ = write!(out, "{ip}");
        return;
    };
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_decimal(out, u64::from(octet));
    }
}

pub fn push_ascii(out: &mut String, bytes: &[u8]) {
    out.extend(bytes.iter().map(|&b| char::from(b)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_are_written_as_display_writes_them() {
        for ip in ["0.0.0.0", "127.0.0.1", "10.200.3.255", "::1", "2001:db8::7"] {
            let parsed: std::net::IpAddr = ip.parse().unwrap();
            let mut out = String::from("x");
            push_ip(&mut out, parsed);
            assert_eq!(out, format!("x{parsed}"));
        }
    }

    /// Renders `format` in its two steps, each variable's value from `lookup`.
    fn render(format: &str, lookup: impl Fn(&Variable) -> Option<String>) -> String {
        let compiled = AccessLogFormat::compile(format);
        let write = |v: &Variable, out: &mut String| match lookup(v) {
            Some(value) => {
                out.push_str(&value);
                true
            }
            None => false,
        };
        let mut line = AccessLine::default();
        compiled.render_request(&mut line, write);
        compiled.fill(&mut line, write);
        line.text()
            .strip_suffix('\n')
            .expect("a whole line")
            .to_string()
    }

    #[test]
    fn variables_and_literals() {
        let format = "id=$context.requestId s=$context.status. $context.requestId $ $context.";
        let f = AccessLogFormat::compile(format);
        assert_eq!(
            f.variables().collect::<Vec<_>>(),
            [
                &Variable::RequestId,
                &Variable::Status,
                &Variable::RequestId
            ]
        );
        let line = render(format, |v| Some(format!("<{v:?}>")));
        assert_eq!(line, "id=<RequestId> s=<Status>. <RequestId> $ $context.");
    }

    #[test]
    fn final_values_fill_their_holes_in_place() {
        let format = "$context.status $context.path $context.responseLength|$context.responseLatency$context.requestId $context.status";
        let line = render(format, |v| match v {
            Variable::Status => Some("200".into()),
            Variable::Path => Some("/p".into()),
            Variable::ResponseLatency => Some("7".into()),
            Variable::RequestId => Some("r".into()),
            _ => None,
        });
        assert_eq!(line, "200 /p -|7r 200");
    }

    #[test]
    fn missing_values_are_dashes_and_lines_stay_single() {
        let line = render(
            "$context.authorizer.a|$context.authorizer.b|$context.authorizer.c|$context.error.message",
            |v| match v {
                Variable::AuthorizerContext(k) if &**k == "a" => Some("x\ny".into()),
                Variable::AuthorizerContext(k) if &**k == "b" => Some(String::new()),
                Variable::ErrorMessage => Some("bad\r\nthing".into()),
                _ => None,
            },
        );
        assert_eq!(line, "x y|-|-|bad  thing");
    }

    #[test]
    fn literal_line_breaks_become_spaces_when_compiled() {
        assert_eq!(
            render("a\r\nb $context.path\n", |_| Some("v".into())),
            "a  b v "
        );
    }

    #[test]
    fn rendering_again_starts_the_line_over() {
        let f = AccessLogFormat::compile("$context.requestId $context.status");
        let mut line = AccessLine::default();
        f.render_request(&mut line, |_, out| {
            out.push_str("first");
            true
        });
        f.render_request(&mut line, |_, out| {
            out.push_str("second");
            true
        });
        f.fill(&mut line, |_, out| {
            push_decimal(out, 18_446_744_073_709_551_615);
            true
        });
        assert_eq!(line.text(), "second 18446744073709551615\n");
    }

    #[test]
    fn decimals() {
        let mut out = String::new();
        for n in [0, 7, 200, 1_000_000, u64::MAX] {
            push_decimal(&mut out, n);
            out.push(' ');
        }
        assert_eq!(out, "0 7 200 1000000 18446744073709551615 ");
    }

    #[test]
    fn spare_buffers_are_bounded() {
        let spare = SpareLines::default();
        let mut big = spare.take();
        big.text.push_str(&"y".repeat(MAX_SPARE_BYTES + 1));
        let mut used = vec![spare.take(), big];
        spare.give_back(&mut used);
        assert!(used.is_empty());
        assert_eq!(spare.len(), 1);
        spare.take();
        assert!(spare.is_empty());
        let mut many: Vec<AccessLine> = (0..MAX_SPARE + 5).map(|_| spare.take()).collect();
        spare.give_back(&mut many);
        assert_eq!(spare.len(), MAX_SPARE);
    }

    #[test]
    fn presets_compile_to_the_documented_variables() {
        for preset in [presets::CLF, presets::JSON, presets::XML, presets::CSV] {
            let variables: Vec<_> = AccessLogFormat::compile(preset)
                .variables()
                .cloned()
                .collect();
            assert!(variables.contains(&Variable::RequestId));
            assert!(variables.contains(&Variable::SourceIp));
            assert!(variables.contains(&Variable::Status));
        }
        let clf = render(presets::CLF, |v| match v {
            Variable::SourceIp => Some("127.0.0.1".into()),
            Variable::RequestTime => Some("24/Nov/2026:13:23:43 +0000".into()),
            Variable::HttpMethod => Some("GET".into()),
            Variable::ResourcePath => Some("/pets".into()),
            Variable::Protocol => Some("HTTP/1.1".into()),
            Variable::Status => Some("200".into()),
            Variable::ResponseLength => Some("12".into()),
            Variable::RequestId => Some("r-1".into()),
            _ => None,
        });
        assert_eq!(
            clf,
            "127.0.0.1 - - [24/Nov/2026:13:23:43 +0000] \"GET /pets HTTP/1.1\" 200 12 r-1"
        );
    }
}
