//! `$util`: API Gateway's helper functions.
//!
//! | call | behaves like |
//! |---|---|
//! | `escapeJavaScript(s)` | Commons Lang 2 `StringEscapeUtils.escapeJavaScript` (`'` → `\'`, `/` → `\/`, non-ASCII → `\uXXXX`) |
//! | `parseJson(s)` | parse JSON into maps / lists / numbers / strings |
//! | `urlEncode(s)` | `java.net.URLEncoder.encode(s, "UTF-8")` (space → `+`) |
//! | `urlDecode(s)` | `java.net.URLDecoder.decode(s, "UTF-8")` |
//! | `base64Encode(s)` | standard Base64 (with padding) of the UTF-8 bytes |
//! | `base64Decode(s)` | standard Base64 (padding optional) decoded as UTF-8 |
//!
//! Arguments are converted with `String.valueOf` (so numbers work); a null
//! argument gives null (the reference then renders literally). Java
//! exceptions (bad JSON, bad `%` escape, bad Base64) are errors that abort
//! rendering.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tollgate_vtl::value::write_unicode_escape;
use tollgate_vtl::{HostObject, Value};

/// The `$util` object.
pub(crate) struct Util;

impl HostObject for Util {
    fn call(&self, method: &str, args: &[Value]) -> Result<Value, String> {
        let [arg] = args else {
            return Ok(Value::Null);
        };
        if arg.is_null() {
            return Ok(Value::Null);
        }
        let owned;
        let s: &str = match arg {
            Value::String(s) => s,
            _ => {
                owned = arg.to_java_string();
                &owned
            }
        };
        Ok(match method {
            "escapeJavaScript" => Value::String(escape_javascript(s)),
            "parseJson" => parse_json(s)?,
            "urlEncode" => Value::String(url_encode(s)),
            "urlDecode" => Value::String(url_decode(s)?),
            "base64Encode" => Value::String(base64_encode(s)),
            "base64Decode" => Value::String(base64_decode(s)?),
            _ => Value::Null,
        })
    }

    fn property(&self, _name: &str) -> Option<Value> {
        None
    }

    fn display(&self) -> String {
        "$util".into()
    }
}

/// Commons Lang 2.6 `StringEscapeUtils.escapeJavaScript`, which works on
/// UTF-16 code units: characters outside ASCII become `\uXXXX` (a pair of
/// them beyond the BMP), controls without a short form `\u00XX`.
pub fn escape_javascript(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{8}' => out.push_str("\\b"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7f => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write_unicode_escape(*u, &mut out);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Parses JSON text into a template value.
pub fn parse_json(s: &str) -> Result<Value, String> {
    crate::document::parse(s)
        .map(|d| d.to_value())
        .map_err(|e| format!("Invalid JSON: {e}"))
}

/// Characters `URLEncoder` leaves alone: `a-z A-Z 0-9 . - * _` (space is
/// handled separately).
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'-')
    .remove(b'*')
    .remove(b'_')
    .remove(b' ');

/// `application/x-www-form-urlencoded` encoding of the UTF-8 bytes.
pub fn url_encode(s: &str) -> String {
    utf8_percent_encode(s, FORM).to_string().replace(' ', "+")
}

/// `URLDecoder.decode(s, "UTF-8")`: `+` is a space, runs of `%XX` are
/// decoded as UTF-8 (malformed bytes become U+FFFD); a `%` not followed by
/// two hex digits is an error.
pub fn url_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(' ');
                i += 1;
            }
            b'%' => {
                let mut bytes = Vec::new();
                while i < b.len() && b[i] == b'%' {
                    let hex = s.get(i + 1..i + 3).filter(|h| h.len() == 2);
                    let v = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
                    match (hex, v) {
                        (Some(_), Some(v)) => bytes.push(v),
                        (None, _) => {
                            return Err("URLDecoder: Incomplete trailing escape (%) pattern".into());
                        }
                        _ => {
                            return Err(
                                "URLDecoder: Illegal hex characters in escape (%) pattern".into()
                            );
                        }
                    }
                    i += 3;
                }
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
            _ => {
                // Copy the whole (possibly multi-byte) character.
                let ch_len = s[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&s[i..i + ch_len]);
                i += ch_len;
            }
        }
    }
    Ok(out)
}

pub fn base64_encode(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

/// `java.util.Base64.getDecoder()`: the standard alphabet, padding optional,
/// anything else (including line breaks) rejected.
const DECODER: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

pub fn base64_decode(s: &str) -> Result<String, String> {
    let bytes = DECODER
        .decode(s.as_bytes())
        .map_err(|e| format!("java.lang.IllegalArgumentException: {e}"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_commons_lang() {
        assert_eq!(escape_javascript("it's"), "it\\'s");
        assert_eq!(escape_javascript("say \"hi\"\n"), "say \\\"hi\\\"\\n");
        assert_eq!(escape_javascript("a/b\\c"), "a\\/b\\\\c");
        assert_eq!(escape_javascript("é€\u{1}"), "\\u00E9\\u20AC\\u0001");
        assert_eq!(escape_javascript("😀"), "\\uD83D\\uDE00");
        assert_eq!(escape_javascript("\u{7f}"), "\u{7f}");
    }

    #[test]
    fn url_encoding_is_form_encoding() {
        assert_eq!(url_encode("a b&c=d/é*~"), "a+b%26c%3Dd%2F%C3%A9*%7E");
        assert_eq!(
            url_decode("a+b%26c%3Dd%2F%C3%A9").as_deref(),
            Ok("a b&c=d/é")
        );
        assert!(url_decode("%zz").is_err());
        assert!(url_decode("abc%4").is_err());
        assert_eq!(url_decode("%FF").as_deref(), Ok("\u{fffd}"));
    }

    #[test]
    fn base64_round_trip() {
        assert_eq!(base64_encode("héllo"), "aMOpbGxv");
        assert_eq!(base64_decode("aMOpbGxv").as_deref(), Ok("héllo"));
        assert_eq!(base64_decode("aGk").as_deref(), Ok("hi"));
        assert!(base64_decode("a b").is_err());
    }
}
