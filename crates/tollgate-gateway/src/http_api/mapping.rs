//! Parameter mapping of HTTP APIs: `RequestParameters` change the headers, query string and
//! path sent to the integration; `ResponseParameters` change the headers and status code of
//! the response, by the integration's status code.

use hyper::HeaderMap;
use hyper::header::{HeaderName, HeaderValue};
use tollgate_plan::http_api::{
    HttpIntegrationPlan, MappingAction, Piece, RequestTarget, ResponseTarget,
};

use super::request::HttpRequest;

/// What goes to the integration after request parameter mapping.
pub struct Outgoing {
    pub headers: HeaderMap,
    /// `None` while no mapping touched the query string: the client's raw query goes on as is.
    pub query: Option<Vec<(String, String)>>,
    /// A path that replaces the integration URI's path (`overwrite:path`).
    pub path: Option<String>,
}

fn header_name(name: &str) -> Option<HeaderName> {
    HeaderName::try_from(name).ok()
}

/// Applies the request mappings; every value is computed from the request as the client sent
/// it. The headers move out of `request` to the integration, unless response mappings (which
/// may read `$request.header.*`) need them afterwards.
pub fn map_request(plan: &HttpIntegrationPlan, request: &mut HttpRequest<'_>) -> Outgoing {
    let values: Vec<String> = plan
        .request_parameters
        .iter()
        .map(|m| m.value.render(|p| request.piece(p)))
        .collect();
    let mut out = Outgoing {
        headers: if plan.response_parameters.is_empty() {
            std::mem::take(&mut request.headers)
        } else {
            request.headers.clone()
        },
        query: None,
        path: None,
    };
    for (mapping, value) in plan.request_parameters.iter().zip(values) {
        match &mapping.target {
            RequestTarget::Header(name) => {
                let Some(name) = header_name(name) else {
                    continue;
                };
                match mapping.action {
                    MappingAction::Remove => {
                        out.headers.remove(&name);
                    }
                    action => {
                        let Ok(value) = HeaderValue::from_str(&value) else {
                            continue;
                        };
                        if action == MappingAction::Append {
                            out.headers.append(name, value);
                        } else {
                            out.headers.insert(name, value);
                        }
                    }
                }
            }
            RequestTarget::QueryString(name) => {
                let query = out.query.get_or_insert_with(|| request.query.clone());
                match mapping.action {
                    MappingAction::Remove => query.retain(|(k, _)| k != name),
                    MappingAction::Overwrite => {
                        query.retain(|(k, _)| k != name);
                        query.push((name.clone(), value));
                    }
                    MappingAction::Append => query.push((name.clone(), value)),
                }
            }
            RequestTarget::Path => out.path = Some(value),
        }
    }
    out
}

/// Applies the response mappings for `status` (the integration's status code).
pub fn map_response(
    plan: &HttpIntegrationPlan,
    request: &HttpRequest<'_>,
    status: &mut hyper::StatusCode,
    headers: &mut HeaderMap,
    body: &[u8],
) {
    let mappings = plan.response_mappings(status.as_u16());
    if mappings.is_empty() {
        return;
    }
    let original = headers.clone();
    let doc = std::cell::OnceCell::new();
    let lookup = |piece: &Piece| match piece {
        Piece::ResponseHeader(n) => original
            .get(n.as_str())
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        Piece::ResponseBody(path) => {
            let doc: &Option<serde_json::Value> =
                doc.get_or_init(|| serde_json::from_slice(body).ok());
            let path = tollgate_mapping::jsonpath::JsonPath::compile(path).ok()?;
            match path.eval(doc.as_ref()?).into_value()? {
                serde_json::Value::String(s) => Some(s),
                other => Some(other.to_string()),
            }
        }
        other => request.piece(other),
    };
    for mapping in mappings {
        let value = mapping.value.render(lookup);
        match &mapping.target {
            ResponseTarget::StatusCode => {
                if let Some(code) = value
                    .trim()
                    .parse::<u16>()
                    .ok()
                    .and_then(|c| hyper::StatusCode::from_u16(c).ok())
                {
                    *status = code;
                }
            }
            ResponseTarget::Header(name) => {
                let Some(name) = header_name(name) else {
                    continue;
                };
                match mapping.action {
                    MappingAction::Remove => {
                        headers.remove(&name);
                    }
                    action => {
                        let Ok(value) = HeaderValue::from_str(&value) else {
                            continue;
                        };
                        if action == MappingAction::Append {
                            headers.append(name, value);
                        } else {
                            headers.insert(name, value);
                        }
                    }
                }
            }
        }
    }
}
