//! Writing JSON text straight into a `String`, for documents built on every request (the Lambda
//! proxy event) whose keys are known in advance: a key is a literal, written as is, and a string
//! value is copied whole unless it holds a character JSON must escape. Output is byte for byte
//! what `serde_json::to_string` writes for the same document.

use std::collections::BTreeMap;

/// Appends `s` as a JSON string.
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    if needs_escape(s.as_bytes()) {
        escaped(out, s);
    } else {
        out.push_str(s);
    }
    out.push('"');
}

/// Appends each key (JSON text: `,"name":`, with the comma or brace before it) and its value as
/// a JSON string.
pub(crate) fn fields(out: &mut String, fields: &[(&str, &str)]) {
    for (key, value) in fields {
        out.push_str(key);
        string(out, value);
    }
}

/// Appends `s` as a JSON string, or `null`.
pub(crate) fn opt_string(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.push_str("null"),
    }
}

/// Appends `{"k":v,...}` with `value` writing each value, or `null` for `None`.
pub(crate) fn object<V>(
    out: &mut String,
    map: Option<&BTreeMap<&str, V>>,
    mut value: impl FnMut(&mut String, &V),
) {
    let Some(map) = map else {
        out.push_str("null");
        return;
    };
    out.push('{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(out, k);
        out.push(':');
        value(out, v);
    }
    out.push('}');
}

/// Appends `["a","b",...]`.
pub(crate) fn strings<'a>(out: &mut String, items: impl IntoIterator<Item = &'a str>) {
    out.push('[');
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(out, s);
    }
    out.push(']');
}

/// Whether any byte is a control character, `"` or `\`: eight bytes at a time.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Non-zero exactly when some byte of `x` is below `n` (n <= 128).
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        if below(x, 0x20)
            | below(x ^ (ONES * u64::from(b'"')), 1)
            | below(x ^ (ONES * u64::from(b'\\')), 1)
            != 0
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

fn escaped(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let b = u32::from(c) as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[b >> 4]));
                out.push(char::from(HEX[b & 0x0f]));
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_match_serde_json() {
        let cases = [
            "",
            "plain text of some length",
            "quote \" in the middle of a long string",
            "back\\slash",
            "tab\tnew\nline\r",
            "\u{01}\u{08}\u{0c}\u{1f}\u{7f}",
            "ünïcødé and emoji 🎉 with a \" quote",
            "1234567\"",
            "12345678\\",
        ];
        for case in cases {
            let mut out = String::new();
            string(&mut out, case);
            assert_eq!(out, serde_json::to_string(case).unwrap(), "{case:?}");
        }
    }

    #[test]
    fn objects_and_arrays() {
        let map: BTreeMap<&str, Vec<&str>> = [("a", vec!["1", "2"]), ("b\"", vec![])]
            .into_iter()
            .collect();
        let mut out = String::new();
        object(&mut out, Some(&map), |out, v| {
            strings(out, v.iter().copied())
        });
        assert_eq!(out, serde_json::to_string(&map).unwrap());
        let mut out = String::new();
        object(&mut out, None::<&BTreeMap<&str, Vec<&str>>>, |_, _| {});
        opt_string(&mut out, None);
        assert_eq!(out, "nullnull");
    }
}
