//! Reading a client's request body within the data plane's limits, for REST and HTTP APIs.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::HeaderMap;
use hyper::body::Body;

use crate::pipeline::{BODY_READ_TIMEOUT, MAX_REQUEST_BYTES};

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Larger than [`MAX_REQUEST_BYTES`] (declared or sent).
    TooLarge,
    /// Not sent within [`BODY_READ_TIMEOUT`].
    Timeout,
    Unreadable(String),
}

/// Reads the whole body; a `Content-Length` beyond the limit is refused before reading.
pub async fn read<B>(headers: &HeaderMap, body: B) -> Result<Bytes, BodyError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > MAX_REQUEST_BYTES)
    {
        return Err(BodyError::TooLarge);
    }
    if body.is_end_stream() {
        // Nothing to wait for (a GET): no timer, no collecting.
        return Ok(Bytes::new());
    }
    let collected = tokio::time::timeout(
        BODY_READ_TIMEOUT,
        Limited::new(body, MAX_REQUEST_BYTES).collect(),
    )
    .await
    .map_err(|_| BodyError::Timeout)?;
    match collected {
        Ok(c) => Ok(c.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(BodyError::TooLarge)
        }
        Err(e) => Err(BodyError::Unreadable(format!(
            "could not read the request body: {e}"
        ))),
    }
}
