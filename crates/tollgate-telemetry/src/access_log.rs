//! Access-log formats: `accessLogSettings.format` compiled once into literal text and
//! `$context` variables, rendered after the response from values captured by the request.
//! A variable with no value renders as `-`, as API Gateway writes it. A request's values go
//! into one [`AccessValues`] buffer, written in place (no `String` per value).

use std::sync::{Mutex, PoisonError};

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
    /// Index into [`AccessLogFormat::variables`].
    Variable(usize),
}

/// A compiled format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogFormat {
    segments: Vec<Segment>,
    /// The distinct `$context` variables the format uses, without `$context.`.
    variables: Vec<String>,
}

const PREFIX: &str = "$context.";

impl AccessLogFormat {
    /// Compiles a format; every `$context.name` (name: letters, digits, `_`, `.`, without a
    /// trailing `.`) becomes a variable, the rest is literal.
    pub fn compile(format: &str) -> Self {
        let mut segments = Vec::new();
        let mut variables: Vec<String> = Vec::new();
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
            let index = match variables.iter().position(|v| v == name) {
                Some(i) => i,
                None => {
                    variables.push(name.to_string());
                    variables.len() - 1
                }
            };
            segments.push(Segment::Variable(index));
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
        Self {
            segments,
            variables,
        }
    }

    /// The variables to capture, in the order [`render`](Self::render) expects their values.
    pub fn variables(&self) -> &[String] {
        &self.variables
    }

    /// An empty set of values for this format's variables.
    pub fn values(&self) -> AccessValues {
        AccessValues::new(self.variables.len())
    }

    /// One line from the captured values (aligned with [`variables`](Self::variables)); line
    /// breaks in values or the format become spaces, so that one request is one line.
    pub fn render(&self, values: &AccessValues, out: &mut String) {
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Variable(i) => match values.get(*i) {
                    Some(value) if !value.is_empty() => push_single_line(out, value),
                    _ => out.push('-'),
                },
            }
        }
    }
}

/// The values of one request's access-log variables, written one after the other into a
/// single buffer (two allocations per request, whatever the number of variables): each
/// variable's value is a span of that buffer, or unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessValues {
    text: String,
    /// `(start, end)` in `text` per variable; `start == UNSET` when the variable has no value.
    spans: Vec<(u32, u32)>,
}

const UNSET: u32 = u32::MAX;

/// Bytes reserved per variable up front (ids, addresses, times and paths fit).
const BYTES_PER_VALUE: usize = 24;

impl AccessValues {
    /// Room for `variables` values, none set.
    pub fn new(variables: usize) -> Self {
        Self {
            text: String::with_capacity(variables * BYTES_PER_VALUE),
            spans: vec![(UNSET, 0); variables],
        }
    }

    /// Sets variable `index` to what `write` appends to the buffer, when it returns `true`
    /// (`false`: the variable has no value, and what it appended is dropped). Replaces an
    /// earlier value; an index out of range is ignored.
    pub fn set(&mut self, index: usize, write: impl FnOnce(&mut String) -> bool) {
        if index >= self.spans.len() {
            return;
        }
        let start = self.text.len();
        if write(&mut self.text) && self.text.len() <= UNSET as usize {
            self.spans[index] = (start as u32, self.text.len() as u32);
        } else {
            self.text.truncate(start);
        }
    }

    /// Empties the values and makes room for `variables` of them, keeping the buffers.
    pub fn reset(&mut self, variables: usize) {
        self.text.clear();
        self.spans.clear();
        self.spans.resize(variables, (UNSET, 0));
    }

    /// Whether variable `index` has a value.
    pub fn is_set(&self, index: usize) -> bool {
        self.spans
            .get(index)
            .is_some_and(|&(start, _)| start != UNSET)
    }

    /// The value of variable `index`.
    pub fn get(&self, index: usize) -> Option<&str> {
        let &(start, end) = self.spans.get(index)?;
        if start == UNSET {
            return None;
        }
        self.text.get(start as usize..end as usize)
    }
}

/// Value buffers kept for reuse: the access-log writer gives back those it has written and
/// requests take them, so that steady logging allocates nothing (and no buffer is freed by
/// another thread than the one that allocated it).
#[derive(Debug, Default)]
pub struct SpareValues(Mutex<Vec<AccessValues>>);

/// Spare buffers kept at most (a writer's batch of lines is of that order at 10k req/s).
const MAX_SPARE: usize = 1024;
/// A buffer grown past this (a long error message, a huge header) is dropped, not kept.
const MAX_SPARE_BYTES: usize = 4096;

impl SpareValues {
    /// A spare buffer emptied for `variables` values, else a new one.
    pub fn take(&self, variables: usize) -> AccessValues {
        let spare = self.0.lock().unwrap_or_else(PoisonError::into_inner).pop();
        match spare {
            Some(mut values) => {
                values.reset(variables);
                values
            }
            None => AccessValues::new(variables),
        }
    }

    /// Keeps the buffers of `used` (emptied) for later requests, up to [`MAX_SPARE`].
    pub fn give_back(&self, used: &mut Vec<AccessValues>) {
        let mut spare = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let room = MAX_SPARE.saturating_sub(spare.len());
        spare.extend(
            used.drain(..)
                .filter(|v| v.text.capacity() <= MAX_SPARE_BYTES)
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
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

fn push_single_line(out: &mut String, text: &str) {
    if !text.bytes().any(|b| b == b'\n' || b == b'\r') {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        out.push(if c == '\n' || c == '\r' { ' ' } else { c });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(format: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
        let compiled = AccessLogFormat::compile(format);
        let mut values = compiled.values();
        for (i, name) in compiled.variables().iter().enumerate() {
            values.set(i, |out| match lookup(name) {
                Some(v) => {
                    out.push_str(&v);
                    true
                }
                None => false,
            });
        }
        let mut out = String::new();
        compiled.render(&values, &mut out);
        out
    }

    #[test]
    fn variables_and_literals() {
        let f = AccessLogFormat::compile(
            "id=$context.requestId s=$context.status. $context.requestId $ $context.",
        );
        assert_eq!(
            f.variables(),
            &["requestId".to_string(), "status".to_string()]
        );
        let line = render(
            "id=$context.requestId s=$context.status. $context.requestId $ $context.",
            |v| Some(format!("<{v}>")),
        );
        assert_eq!(line, "id=<requestId> s=<status>. <requestId> $ $context.");
    }

    #[test]
    fn missing_values_are_dashes_and_lines_stay_single() {
        let line = render("$context.a|$context.b|$context.c", |v| match v {
            "a" => Some("x\ny".into()),
            "b" => Some(String::new()),
            _ => None,
        });
        assert_eq!(line, "x y|-|-");
    }

    #[test]
    fn literal_line_breaks_become_spaces_when_compiled() {
        assert_eq!(
            render("a\r\nb $context.x\n", |_| Some("v".into())),
            "a  b v "
        );
    }

    #[test]
    fn values_are_spans_of_one_buffer() {
        let mut values = AccessValues::new(3);
        values.set(0, |out| {
            out.push_str("first");
            true
        });
        values.set(1, |out| {
            out.push_str("dropped");
            false
        });
        values.set(2, |out| {
            push_decimal(out, 0);
            true
        });
        values.set(0, |out| {
            push_decimal(out, 18_446_744_073_709_551_615);
            true
        });
        values.set(7, |_| true);
        assert_eq!(values.get(0), Some("18446744073709551615"));
        assert!(!values.is_set(1));
        assert_eq!(values.get(1), None);
        assert_eq!(values.get(2), Some("0"));
        assert_eq!(values.get(7), None);
    }

    #[test]
    fn spare_buffers_come_back_empty_and_bounded() {
        let spare = SpareValues::default();
        let mut first = spare.take(2);
        first.set(1, |out| {
            out.push_str("x");
            true
        });
        let mut big = spare.take(1);
        big.set(0, |out| {
            out.push_str(&"y".repeat(MAX_SPARE_BYTES + 1));
            true
        });
        let mut used = vec![first, big];
        spare.give_back(&mut used);
        assert!(used.is_empty());
        assert_eq!(spare.len(), 1);
        let again = spare.take(3);
        assert!(spare.is_empty());
        assert!((0..3).all(|i| !again.is_set(i)));
        let mut many: Vec<AccessValues> = (0..MAX_SPARE + 5).map(|_| spare.take(1)).collect();
        spare.give_back(&mut many);
        assert_eq!(spare.len(), MAX_SPARE);
    }

    #[test]
    fn presets_compile_to_the_documented_variables() {
        for preset in [presets::CLF, presets::JSON, presets::XML, presets::CSV] {
            let f = AccessLogFormat::compile(preset);
            assert!(f.variables().contains(&"requestId".to_string()));
            assert!(f.variables().contains(&"identity.sourceIp".to_string()));
            assert!(f.variables().contains(&"status".to_string()));
        }
        let clf = render(presets::CLF, |v| match v {
            "identity.sourceIp" => Some("127.0.0.1".into()),
            "requestTime" => Some("24/Nov/2026:13:23:43 +0000".into()),
            "httpMethod" => Some("GET".into()),
            "resourcePath" => Some("/pets".into()),
            "protocol" => Some("HTTP/1.1".into()),
            "status" => Some("200".into()),
            "responseLength" => Some("12".into()),
            "requestId" => Some("r-1".into()),
            _ => None,
        });
        assert_eq!(
            clf,
            "127.0.0.1 - - [24/Nov/2026:13:23:43 +0000] \"GET /pets HTTP/1.1\" 200 12 r-1"
        );
    }
}
