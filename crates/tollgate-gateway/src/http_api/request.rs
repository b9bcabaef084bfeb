//! An HTTP API request as the pipeline sees it once routed and read, and the values that
//! parameter mappings, identity sources and events read from it.

use std::collections::HashMap;
use std::time::SystemTime;

use bytes::Bytes;
use hyper::HeaderMap;
use tollgate_plan::http_api::{HttpRoutePlan, HttpStagePlan, Piece};

use crate::context::{clf_time, decode};

pub struct HttpRequest<'a> {
    pub plan: &'a HttpStagePlan,
    pub route: &'a HttpRoutePlan,
    pub request_id: String,
    pub account_id: &'a str,
    pub method: String,
    /// The path as the client sent it, with the stage segment for a named stage (`rawPath`).
    pub raw_path: String,
    pub raw_query: Option<String>,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    /// Path parameters: name, decoded value.
    pub path_params: Vec<(String, String)>,
    /// Path parameters as the client sent them (for the integration URI).
    pub raw_path_params: Vec<(String, String)>,
    pub body: Bytes,
    pub source_ip: String,
    /// `http` or `https`, as the client reached the gateway.
    pub scheme: &'static str,
    pub domain_name: String,
    pub protocol: &'static str,
    pub received: SystemTime,
    /// `requestContext.authorizer` once an authorizer let the request in.
    pub authorizer: Option<serde_json::Value>,
}

impl HttpRequest<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of a header joined by commas, as payload 2.0 and identity sources see it.
    pub fn joined_header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    }

    /// Every value of a query parameter joined by commas.
    pub fn joined_query(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    }

    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path_params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn stage_variables(&self) -> &HashMap<String, String> {
        &self.plan.stage_variables
    }

    pub fn epoch_millis(&self) -> u64 {
        self.received
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    pub fn domain_prefix(&self) -> &str {
        self.domain_name.split('.').next().unwrap_or("")
    }

    /// `$context.name`.
    pub fn context(&self, name: &str) -> Option<String> {
        Some(match name {
            "requestId" => self.request_id.clone(),
            "apiId" => self.plan.api_id.clone(),
            "stage" => self.plan.stage.clone(),
            "deploymentId" => self.plan.deployment_id.clone(),
            "accountId" => self.account_id.to_string(),
            "routeKey" => self.route.route_key.clone(),
            "httpMethod" => self.method.clone(),
            "path" => self.raw_path.clone(),
            "protocol" => self.protocol.to_string(),
            "domainName" => self.domain_name.clone(),
            "domainPrefix" => self.domain_prefix().to_string(),
            "requestTime" => clf_time(self.received),
            "requestTimeEpoch" => self.epoch_millis().to_string(),
            "identity.sourceIp" => self.source_ip.clone(),
            "identity.userAgent" => self.header("user-agent").unwrap_or("").to_string(),
            other => return self.authorizer_context(other),
        })
    }

    /// `$context.authorizer.claims.x` (JWT) and `$context.authorizer.x` (Lambda context).
    fn authorizer_context(&self, name: &str) -> Option<String> {
        let rest = name.strip_prefix("authorizer.")?;
        let authorizer = self.authorizer.as_ref()?;
        let value = match rest.strip_prefix("claims.") {
            Some(claim) => authorizer.get("jwt")?.get("claims")?.get(claim)?,
            None => authorizer.get("lambda")?.get(rest)?,
        };
        Some(match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    /// A request-side mapping piece (`$request.*`, `$context.*`, `$stageVariables.*`).
    pub fn piece(&self, piece: &Piece) -> Option<String> {
        match piece {
            Piece::Text(t) => Some(t.clone()),
            Piece::RequestHeader(n) => self.joined_header(n),
            Piece::RequestQuery(n) => self.joined_query(n),
            Piece::RequestPath => Some(self.raw_path.clone()),
            Piece::RequestPathParam(n) => self.path_param(n).map(String::from),
            Piece::RequestBody(path) => {
                // AWS reads at most the first 100 KB of the body for mappings.
                let body = &self.body[..self.body.len().min(100 * 1024)];
                let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
                let path = tollgate_mapping::jsonpath::JsonPath::compile(path).ok()?;
                let value = path.eval(&doc).into_value()?;
                Some(match value {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                })
            }
            Piece::Context(n) => self.context(n),
            Piece::StageVariable(n) => self.stage_variables().get(n).cloned(),
            Piece::ResponseHeader(_) | Piece::ResponseBody(_) => None,
        }
    }
}

/// Query string pairs, decoded (`+` as space).
pub fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    crate::context::parse_query(raw)
}

/// A raw path parameter, decoded.
pub fn decode_param(raw: &str) -> String {
    decode(raw)
}
