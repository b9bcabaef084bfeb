use serde::{Deserialize, Serialize};

use super::{StringMap, merge};
use crate::ModelError;
use crate::validate::one_of;

/// The methods a route key may name.
pub const ROUTE_METHODS: &[&str] = &[
    "ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT",
];

/// A parsed route key: `$default`, or a method and a path such as `GET /pets/{id}` or
/// `ANY /{proxy+}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteKey {
    Default,
    Route { method: String, path: String },
}

impl RouteKey {
    pub fn parse(key: &str) -> Result<Self, ModelError> {
        if key == "$default" {
            return Ok(Self::Default);
        }
        let invalid =
            |why: &str| ModelError::invalid(format!("Unable to create route {key}. Reason: {why}"));
        let (method, path) = key
            .split_once(' ')
            .ok_or_else(|| invalid("route key must be '$default' or 'METHOD /path'"))?;
        if !ROUTE_METHODS.contains(&method) {
            return Err(invalid(&format!(
                "method must be one of {}",
                ROUTE_METHODS.join(", ")
            )));
        }
        if !path.starts_with('/') || path.contains(' ') {
            return Err(invalid(
                "the path must start with '/' and contain no spaces",
            ));
        }
        let parts: Vec<&str> = path[1..].split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            let variable = part.strip_prefix('{').and_then(|p| p.strip_suffix('}'));
            match variable {
                Some(name) => {
                    let (name, greedy) = match name.strip_suffix('+') {
                        Some(n) => (n, true),
                        None => (name, false),
                    };
                    if name.is_empty()
                        || !name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    {
                        return Err(invalid(&format!("invalid path variable {part}")));
                    }
                    if greedy && i + 1 != parts.len() {
                        return Err(invalid("a greedy path variable must be the last part"));
                    }
                }
                None if part.contains('{') || part.contains('}') => {
                    return Err(invalid(&format!("invalid path part {part}")));
                }
                None if part.is_empty() && parts.len() > 1 => {
                    return Err(invalid("the path has an empty part"));
                }
                None => {}
            }
        }
        Ok(Self::Route {
            method: method.to_string(),
            path: path.to_string(),
        })
    }
}

/// `Route`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub route_id: String,
    pub route_key: String,
    #[serde(default)]
    pub api_key_required: bool,
    pub authorization_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_models: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_gateway_managed: Option<bool>,
    /// WebSocket routes: which request model validates a message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_selection_expression: Option<String>,
    /// WebSocket routes: `$default` with a route response makes the route two-way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_response_selection_expression: Option<String>,
}

/// The body of `CreateRoute` and `UpdateRoute`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteInput {
    pub route_key: Option<String>,
    pub api_key_required: Option<bool>,
    pub authorization_type: Option<String>,
    pub authorizer_id: Option<String>,
    pub authorization_scopes: Option<Vec<String>>,
    pub target: Option<String>,
    pub operation_name: Option<String>,
    pub request_parameters: Option<serde_json::Value>,
    pub request_models: Option<StringMap>,
    pub model_selection_expression: Option<String>,
    pub route_response_selection_expression: Option<String>,
}

const AUTHORIZATION_TYPES: &[&str] = &["NONE", "AWS_IAM", "CUSTOM", "JWT"];

impl Route {
    pub fn create(input: &RouteInput, route_id: String) -> Result<Self, ModelError> {
        let key = crate::validate::required("routeKey", input.route_key.clone())?;
        let route = Self {
            route_id,
            route_key: key,
            api_key_required: input.api_key_required.unwrap_or(false),
            authorization_type: input
                .authorization_type
                .clone()
                .unwrap_or_else(|| "NONE".into()),
            authorizer_id: input.authorizer_id.clone(),
            authorization_scopes: input.authorization_scopes.clone(),
            target: input.target.clone(),
            operation_name: input.operation_name.clone(),
            request_parameters: input.request_parameters.clone(),
            request_models: input.request_models.clone(),
            api_gateway_managed: None,
            model_selection_expression: input.model_selection_expression.clone(),
            route_response_selection_expression: input.route_response_selection_expression.clone(),
        };
        route.check()?;
        Ok(route)
    }

    pub fn updated(&self, input: &RouteInput) -> Result<Self, ModelError> {
        let mut route = self.clone();
        if let Some(key) = &input.route_key {
            route.route_key = key.clone();
        }
        if let Some(v) = input.api_key_required {
            route.api_key_required = v;
        }
        if let Some(t) = &input.authorization_type {
            route.authorization_type = t.clone();
            if t == "NONE" {
                route.authorizer_id = None;
            }
        }
        merge(&mut route.authorizer_id, &input.authorizer_id);
        merge(&mut route.authorization_scopes, &input.authorization_scopes);
        merge(&mut route.target, &input.target);
        merge(&mut route.operation_name, &input.operation_name);
        merge(&mut route.request_parameters, &input.request_parameters);
        merge(&mut route.request_models, &input.request_models);
        merge(
            &mut route.model_selection_expression,
            &input.model_selection_expression,
        );
        merge(
            &mut route.route_response_selection_expression,
            &input.route_response_selection_expression,
        );
        route.check()?;
        Ok(route)
    }

    /// Checks what depends on the API's protocol: the route key's form, and for WebSocket
    /// routes, authorization only on `$connect` and `$default` as the only response selection.
    pub fn check_for(&self, protocol: &str) -> Result<(), ModelError> {
        if protocol != "WEBSOCKET" {
            RouteKey::parse(&self.route_key)?;
            if self.route_response_selection_expression.is_some()
                || self.model_selection_expression.is_some()
            {
                return Err(ModelError::invalid(
                    "Selection expressions are supported only for WEBSOCKET APIs",
                ));
            }
            return Ok(());
        }
        let key = &self.route_key;
        if key.is_empty() || key.chars().count() > 128 {
            return Err(ModelError::invalid(format!(
                "Unable to create route {key}. Reason: a route key must be 1-128 characters"
            )));
        }
        if self.authorization_type == "JWT" {
            return Err(ModelError::invalid(
                "JWT authorization is not supported for WEBSOCKET APIs",
            ));
        }
        if self.authorization_type != "NONE" && key != "$connect" {
            return Err(ModelError::invalid(
                "Currently, authorization is restricted to the $connect route only",
            ));
        }
        if let Some(e) = &self.route_response_selection_expression
            && e != "$default"
        {
            return Err(ModelError::invalid(format!(
                "Invalid route response selection expression {e}: only $default is supported"
            )));
        }
        if let Some(e) = &self.model_selection_expression {
            super::SelectionExpression::parse(e)?;
        }
        Ok(())
    }

    fn check(&self) -> Result<(), ModelError> {
        one_of(
            "authorizationType",
            &self.authorization_type,
            AUTHORIZATION_TYPES,
        )?;
        if matches!(self.authorization_type.as_str(), "CUSTOM" | "JWT")
            && self.authorizer_id.is_none()
        {
            return Err(ModelError::invalid(format!(
                "AuthorizerId is required for authorization type {}",
                self.authorization_type
            )));
        }
        if self.authorization_scopes.is_some() && self.authorization_type != "JWT" {
            return Err(ModelError::invalid(
                "Authorization scopes are supported only for JWT authorizers",
            ));
        }
        if let Some(target) = &self.target
            && self.integration_id_of_target(target).is_none()
        {
            return Err(ModelError::invalid(format!(
                "Invalid target {target}: must be integrations/{{integrationId}}"
            )));
        }
        Ok(())
    }

    fn integration_id_of_target<'a>(&self, target: &'a str) -> Option<&'a str> {
        target
            .strip_prefix("integrations/")
            .filter(|id| !id.is_empty() && !id.contains('/'))
    }

    /// The integration the route's `target` names.
    pub fn integration_id(&self) -> Option<&str> {
        self.target
            .as_deref()
            .and_then(|t| self.integration_id_of_target(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_keys_parse_as_aws_accepts_them() {
        assert_eq!(RouteKey::parse("$default").unwrap(), RouteKey::Default);
        assert_eq!(
            RouteKey::parse("GET /pets/{id}").unwrap(),
            RouteKey::Route {
                method: "GET".into(),
                path: "/pets/{id}".into()
            }
        );
        assert!(RouteKey::parse("ANY /{proxy+}").is_ok());
        assert!(RouteKey::parse("GET /").is_ok());
        for bad in [
            "GET",
            "FETCH /a",
            "GET a",
            "GET /{proxy+}/x",
            "GET /{}",
            "GET /a//b",
            "get /a",
        ] {
            assert!(RouteKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn routes_check_their_authorization_and_target() {
        let input = |json| serde_json::from_str::<RouteInput>(json).unwrap();
        let route = Route::create(
            &input(r#"{"routeKey": "GET /a", "target": "integrations/abc"}"#),
            "r".into(),
        )
        .unwrap();
        assert_eq!(route.integration_id(), Some("abc"));
        assert_eq!(route.authorization_type, "NONE");
        assert!(
            Route::create(
                &input(r#"{"routeKey": "GET /a", "target": "x"}"#),
                "r".into()
            )
            .is_err()
        );
        assert!(
            Route::create(
                &input(r#"{"routeKey": "GET /a", "authorizationType": "JWT"}"#),
                "r".into()
            )
            .is_err()
        );
    }
}
