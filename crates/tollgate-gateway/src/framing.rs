//! The header values that frame an HTTP/1 message, read the same way on both sides of the
//! proxy: the listener's fast path (requests, and the answers it writes) and the in-task
//! backend client (answers).

use std::ops::Range;

/// A `Content-Length` value: digits only (RFC 9110), as hyper reads it.
pub(crate) fn content_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

/// The options of a `Connection` header value that decide how a connection goes on.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnectionOptions {
    pub close: bool,
    pub keep_alive: bool,
    pub upgrade: bool,
}

impl ConnectionOptions {
    /// Adds the options one `Connection` value lists (comma-separated, any letter case).
    pub(crate) fn read(&mut self, value: &[u8]) {
        for token in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
            self.close |= token.eq_ignore_ascii_case(b"close");
            self.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            self.upgrade |= token.eq_ignore_ascii_case(b"upgrade");
        }
    }
}

/// Where `part`, a slice of `whole`, sits in it: header values are kept as ranges of the
/// buffer they were parsed from, which becomes shared bytes once parsing is done.
pub(crate) fn range_in(whole: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - whole.as_ptr() as usize;
    start..start + part.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_lengths_are_digits_only() {
        assert_eq!(content_length(b"0"), Some(0));
        assert_eq!(content_length(b"1024"), Some(1024));
        assert_eq!(
            content_length(b"9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        for bad in [
            &b""[..],
            b"+1",
            b"-1",
            b" 1",
            b"1 ",
            b"1a",
            b"99999999999999999999",
        ] {
            assert_eq!(
                content_length(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn connection_options_are_read_from_every_value() {
        let mut options = ConnectionOptions::default();
        options.read(b"foo, Keep-Alive");
        assert_eq!(
            options,
            ConnectionOptions {
                keep_alive: true,
                ..Default::default()
            }
        );
        options.read(b"CLOSE,upgrade");
        assert_eq!(
            options,
            ConnectionOptions {
                close: true,
                keep_alive: true,
                upgrade: true
            }
        );
        let mut options = ConnectionOptions::default();
        options.read(b"closed, keep-alive-ish");
        assert_eq!(options, ConnectionOptions::default());
    }

    #[test]
    fn ranges_point_into_the_whole() {
        let whole = b"name: value";
        assert_eq!(range_in(whole, &whole[6..]), 6..11);
    }
}
