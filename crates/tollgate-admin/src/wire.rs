//! Reading requests and writing responses the way the REST-JSON protocol does.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::AdminError;

/// Largest request body the management API reads (imports of large OpenAPI files included).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// A JSON request body. An empty body reads as `{}`; anything that is not JSON of the right
/// shape is a `BadRequestException` that says what is wrong.
pub struct AwsJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AwsJson<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                AdminError::PayloadTooLarge(format!(
                    "Request body is larger than the {MAX_BODY_BYTES} bytes allowed"
                ))
            })?;
        parse_json(&bytes).map(AwsJson)
    }
}

/// A JSON request body read already (for operations that share a route with another that
/// takes a different body, such as `POST /apikeys` and `POST /apikeys?mode=import`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AdminError> {
    let text = if bytes.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        bytes
    };
    serde_json::from_slice(text).map_err(|e| {
        AdminError::bad_request(format!("Could not parse request body into json: {e}"))
    })
}

/// The query string as name/value pairs, repeated names kept (`tagKeys=a&tagKeys=b`).
pub struct QueryParams(pub Vec<(String, String)>);

impl QueryParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether a list-valued parameter such as `embed` holds `value` (as `embed=a&embed=b` or
    /// `embed=a,b`).
    pub fn list_contains(&self, name: &str, value: &str) -> bool {
        self.all(name)
            .flat_map(|v| v.split(','))
            .any(|v| v.trim() == value)
    }

    pub fn bool(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query)
            .map(QueryParams)
            .map_err(|e| AdminError::bad_request(format!("Invalid query string: {e}")))
    }
}

/// Mapping templates must parse: AWS refuses a template it cannot parse when it is written,
/// not when a request uses it.
pub fn check_templates<'a>(
    templates: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Result<(), AdminError> {
    for (content_type, text) in templates {
        tollgate_vtl::Template::parse(text).map_err(|e| {
            AdminError::bad_request(format!(
                "Invalid mapping template specified for content type {content_type}: {e}"
            ))
        })?;
    }
    Ok(())
}

/// A JSON response with the given status.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut response = (status, Body::from(body)).into_response();
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            response
        }
        Err(e) => AdminError::Unavailable(format!("cannot encode response: {e}")).into_response(),
    }
}

/// An empty response (deletes: 202 or 204).
pub fn empty(status: StatusCode) -> Response {
    status.into_response()
}

/// `position`/`limit` pagination as the `apigateway` service does it: `limit` 1-500 (default
/// 25), `position` an opaque token from the previous page. Returns `{"item": [...], "position"?}`.
pub fn paginate<T: Serialize>(
    items: Vec<T>,
    query: &QueryParams,
) -> Result<serde_json::Value, AdminError> {
    let limit = match query.get("limit") {
        None | Some("") => 25,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=500).contains(&n) => n,
            _ => {
                return Err(AdminError::bad_request(
                    "Invalid limit: must be between 1 and 500",
                ));
            }
        },
    };
    let start = match query.get("position") {
        None | Some("") => 0,
        Some(token) => decode_position(token)
            .ok_or_else(|| AdminError::bad_request("Invalid position parameter"))?,
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    let mut out = serde_json::json!({ "item": page });
    if start + limit < total {
        out["position"] = serde_json::Value::String(encode_position(start + limit));
    }
    Ok(out)
}

/// Positions are opaque to clients; ours is the offset of the next item, lightly wrapped so that
/// nobody mistakes it for a number to compute with.
pub(crate) fn encode_position(offset: usize) -> String {
    format!("p{offset:x}")
}

pub(crate) fn decode_position(token: &str) -> Option<usize> {
    usize::from_str_radix(token.strip_prefix('p')?, 16).ok()
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
    fn pages_follow_positions() {
        let items: Vec<u32> = (0..5).collect();
        let first = paginate(items.clone(), &query(&[("limit", "2")])).unwrap();
        assert_eq!(first["item"], serde_json::json!([0, 1]));
        let pos = first["position"].as_str().unwrap().to_string();
        let second =
            paginate(items.clone(), &query(&[("limit", "2"), ("position", &pos)])).unwrap();
        assert_eq!(second["item"], serde_json::json!([2, 3]));
        let last = paginate(
            items,
            &query(&[
                ("limit", "2"),
                ("position", second["position"].as_str().unwrap()),
            ]),
        )
        .unwrap();
        assert_eq!(last["item"], serde_json::json!([4]));
        assert!(last.get("position").is_none());
    }

    #[test]
    fn bad_limits_and_positions_are_refused() {
        assert!(paginate(vec![1], &query(&[("limit", "0")])).is_err());
        assert!(paginate(vec![1], &query(&[("limit", "501")])).is_err());
        assert!(paginate(vec![1], &query(&[("position", "zz")])).is_err());
    }

    #[test]
    fn embed_lists_are_read_both_ways() {
        assert!(query(&[("embed", "methods")]).list_contains("embed", "methods"));
        assert!(query(&[("embed", "x,methods")]).list_contains("embed", "methods"));
        assert!(!query(&[("embed", "x")]).list_contains("embed", "methods"));
    }
}
