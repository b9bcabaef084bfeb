//! The integrations a method can have, and what they share: the backend client and the
//! mapping of an integration's answer through the integration responses.

pub mod client;
mod hop_by_hop;
pub mod http;
mod http1;
pub mod lambda;
pub mod mock;
pub(crate) mod respond;
// JSON text for the Lambda proxy event (lambda.rs).
mod json_text;

pub use client::BackendClient;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use tollgate_plan::ContentHandling;

/// Applies `contentHandling` to a payload: binary to base64 text, or base64 text back to
/// binary. `is_binary` says whether the payload is binary already (by `binaryMediaTypes`);
/// a payload that is already what is asked for, or text that is not base64, passes unchanged.
pub fn convert(handling: Option<ContentHandling>, is_binary: bool, payload: &Bytes) -> Bytes {
    match handling {
        Some(ContentHandling::ConvertToText) if is_binary => Bytes::from(BASE64.encode(payload)),
        Some(ContentHandling::ConvertToBinary) if !is_binary => BASE64
            .decode(payload.as_ref())
            .map(Bytes::from)
            .unwrap_or_else(|_| payload.clone()),
        _ => payload.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        let raw = Bytes::from_static(b"\x00\x01bin");
        let text = convert(Some(ContentHandling::ConvertToText), true, &raw);
        assert_eq!(text, Bytes::from(BASE64.encode(&raw)));
        assert_eq!(
            convert(Some(ContentHandling::ConvertToBinary), false, &text),
            raw
        );
        assert_eq!(convert(None, true, &raw), raw);
        assert_eq!(
            convert(Some(ContentHandling::ConvertToText), false, &raw),
            raw
        );
    }
}
