//! Reading `lambda` requests and paging its lists.

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::LambdaError;
use crate::wire::QueryParams;

/// Largest request body Lambda accepts for `CreateFunction` and `UpdateFunctionCode` (a 50 MB zip,
/// base64-encoded inside JSON).
pub const MAX_REQUEST_BYTES: usize = 70_167_211;

/// Reads a body of at most `limit` bytes; a larger one is `RequestTooLargeException`.
pub async fn read_body(
    request: Request,
    limit: usize,
    operation: &str,
) -> Result<axum::body::Bytes, LambdaError> {
    axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| {
            LambdaError::RequestTooLarge(format!(
                "Request must be smaller than {limit} bytes for the {operation} operation"
            ))
        })
}

/// A JSON request body as the `lambda` service reads it: empty is `{}`, anything that is not
/// JSON is `InvalidRequestContentException`, a value of the wrong type
/// `InvalidParameterValueException`.
pub struct LambdaJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for LambdaJson<T> {
    type Rejection = LambdaError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, MAX_REQUEST_BYTES, "request").await?;
        let text = if bytes.iter().all(u8::is_ascii_whitespace) {
            &b"{}"[..]
        } else {
            &bytes[..]
        };
        let value: Value = serde_json::from_slice(text).map_err(|e| {
            LambdaError::InvalidRequestContent(format!(
                "Could not parse request body into json: {e}"
            ))
        })?;
        serde_json::from_value(value)
            .map(LambdaJson)
            .map_err(|e| LambdaError::invalid(format!("Invalid request: {e}")))
    }
}

/// `Marker`/`MaxItems` paging: `MaxItems` 1-10000 (default 50), `Marker` the opaque token of the
/// previous page's `NextMarker`. Returns the page and the next marker, if any.
pub fn page<T>(
    items: Vec<T>,
    query: &QueryParams,
) -> Result<(Vec<T>, Option<String>), LambdaError> {
    let max = match query.get("MaxItems") {
        None | Some("") => 50,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=10_000).contains(&n) => n,
            _ => {
                return Err(LambdaError::Validation(format!(
                    "1 validation error detected: Value '{v}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000"
                )));
            }
        },
    };
    let start = match query.get("Marker") {
        None | Some("") => 0,
        Some(marker) => decode_marker(marker)
            .ok_or_else(|| LambdaError::invalid(format!("Invalid Marker: {marker}")))?,
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(max).collect();
    let next = (start + max < total).then(|| encode_marker(start + max));
    Ok((page, next))
}

fn encode_marker(offset: usize) -> String {
    format!("m{offset:x}")
}

fn decode_marker(marker: &str) -> Option<usize> {
    usize::from_str_radix(marker.strip_prefix('m')?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> QueryParams {
        QueryParams(
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn markers_walk_the_list() {
        let items: Vec<u32> = (0..5).collect();
        let (first, next) = page(items.clone(), &query(&[("MaxItems", "2")])).unwrap();
        assert_eq!(first, vec![0, 1]);
        let marker = next.unwrap();
        let (second, next) = page(
            items.clone(),
            &query(&[("MaxItems", "2"), ("Marker", &marker)]),
        )
        .unwrap();
        assert_eq!(second, vec![2, 3]);
        let marker = next.unwrap();
        let (last, next) = page(items, &query(&[("MaxItems", "2"), ("Marker", &marker)])).unwrap();
        assert_eq!(last, vec![4]);
        assert!(next.is_none());
    }

    #[test]
    fn bad_paging_is_refused() {
        assert!(page(vec![1], &query(&[("MaxItems", "0")])).is_err());
        assert!(page(vec![1], &query(&[("Marker", "zz")])).is_err());
    }
}
