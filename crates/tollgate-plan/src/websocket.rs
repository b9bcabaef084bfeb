//! The plan of one deployed stage of a WebSocket API: the route selection expression, the
//! routes by key (with `$connect`, `$disconnect` and `$default` among them), and for each its
//! integration with parsed request templates and integration responses, and whether it is
//! two-way (it has a `$default` route response).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use tollgate_model::v2::{
    DeploymentRecord, Integration, IntegrationResponseRecord, SelectionExpression, StageRecord,
};
use tollgate_vtl::Template;

pub struct WsStagePlan {
    pub api_id: String,
    pub stage: String,
    pub deployment_id: String,
    pub route_selection: SelectionExpression,
    pub routes: HashMap<String, Arc<WsRoutePlan>>,
    pub stage_variables: HashMap<String, String>,
    /// `ApiKeySelectionExpression` is `$context.authorizer.usageIdentifierKey`: the key comes
    /// from the `$connect` authorizer, not from the `x-api-key` header.
    pub api_key_from_authorizer: bool,
    /// The stage's metric handles (`ApiId`, `Stage`).
    pub metrics: Option<Arc<tollgate_telemetry::WebSocketMetrics>>,
}

pub struct WsRoutePlan {
    pub route_key: String,
    /// A `$default` route response exists: the integration's answer goes back to the client.
    pub two_way: bool,
    /// `None` when the route has no (or a missing) integration.
    pub integration: Option<Arc<WsIntegrationPlan>>,
    /// How `$connect` is authorized.
    pub auth: WsAuth,
    pub api_key_required: bool,
    /// Request validation: with a `ModelSelectionExpression`, each message is checked against
    /// the route's request model it selects.
    pub validation: Option<WsValidation>,
    /// The route's own metric handles, when its settings turn detailed metrics on.
    pub metrics: Option<Arc<tollgate_telemetry::WebSocketMetrics>>,
}

/// A route's request models, compiled once per deployment.
pub struct WsValidation {
    pub selection: SelectionExpression,
    /// Selection key -> schema; a model that does not compile is left out (and logged), so
    /// the messages that select it fail validation.
    pub models: HashMap<String, jsonschema::Validator>,
}

impl WsValidation {
    fn compile(route: &tollgate_model::v2::Route, models: &[(&str, Option<&str>)]) -> Option<Self> {
        let selection =
            SelectionExpression::parse(route.model_selection_expression.as_deref()?).ok()?;
        let models = route
            .request_models
            .iter()
            .flatten()
            .filter_map(|(key, model)| match crate::validation::compile_model(model, models) {
                Ok(validator) => Some((key.clone(), validator)),
                Err(e) => {
                    tracing::warn!(model, error = %e, "model schema does not compile; messages selecting it fail validation");
                    None
                }
            })
            .collect();
        Some(Self { selection, models })
    }

    /// Whether `body` is valid for the model selected by `key` (falling back to `$default`):
    /// no model, or a body that is not JSON, is not.
    pub fn accepts(&self, key: Option<&str>, body: Option<&serde_json::Value>) -> bool {
        let model = key
            .and_then(|k| self.models.get(k))
            .or_else(|| self.models.get("$default"));
        match (model, body) {
            (Some(model), Some(body)) => model.is_valid(body),
            _ => false,
        }
    }
}

pub enum WsAuth {
    None,
    /// A `REQUEST` Lambda authorizer answering an IAM policy.
    Lambda(Arc<WsAuthorizerPlan>),
    /// `AWS_IAM`: a SigV4-signed handshake whose caller may invoke `$connect`.
    Iam,
    /// The route names an authorizer the deployment does not have.
    Misconfigured(String),
}

pub struct WsAuthorizerPlan {
    pub id: String,
    pub function_arn: String,
    /// `route.request.header.X`, `route.request.querystring.X`, ...: all must have a value.
    pub identity_sources: Vec<String>,
    pub ttl: Duration,
}

pub enum WsTarget {
    Mock,
    /// `AWS_PROXY`: the function gets the WebSocket event and answers `{statusCode, body}`.
    LambdaProxy {
        function_arn: String,
    },
    /// `AWS` to Lambda: the function gets the rendered request template.
    Lambda {
        function_arn: String,
    },
    /// `HTTP_PROXY` / `HTTP`: the message is POSTed (or sent with the integration's method).
    Http {
        uri: String,
        method: String,
        proxy: bool,
    },
}

pub struct WsIntegrationPlan {
    pub target: WsTarget,
    pub timeout: Duration,
    /// Request templates by selection key.
    pub request_templates: Vec<(String, Template)>,
    pub template_selection: Option<SelectionExpression>,
    /// `WHEN_NO_MATCH` (default), `WHEN_NO_TEMPLATES` or `NEVER`.
    pub passthrough: String,
    pub response_selection: Option<SelectionExpression>,
    pub responses: Vec<WsResponsePlan>,
}

pub struct WsResponsePlan {
    /// `None` for `$default`.
    pub pattern: Option<Regex>,
    pub templates: Vec<(String, Template)>,
    pub template_selection: Option<SelectionExpression>,
}

/// What a request template choice came to.
pub enum TemplateChoice<'a> {
    Template(&'a Template),
    /// No template applies: the message goes through as it is.
    Passthrough,
    /// No template applies and the passthrough behavior forbids sending it as it is.
    Unsupported,
}

impl WsIntegrationPlan {
    /// The request template for `key` (the template selection expression's value), else the
    /// `$default` one, else what the passthrough behavior says.
    pub fn request_template(&self, key: Option<&str>) -> TemplateChoice<'_> {
        if let Some(t) = pick(&self.request_templates, key) {
            return TemplateChoice::Template(t);
        }
        match self.passthrough.as_str() {
            "NEVER" => TemplateChoice::Unsupported,
            "WHEN_NO_TEMPLATES" if !self.request_templates.is_empty() => {
                TemplateChoice::Unsupported
            }
            _ => TemplateChoice::Passthrough,
        }
    }

    /// The integration response for `selector` (the response selection expression's value,
    /// usually the status code): the first pattern matching all of it, else `$default`.
    pub fn response(&self, selector: &str) -> Option<&WsResponsePlan> {
        self.responses
            .iter()
            .find(|r| r.pattern.as_ref().is_some_and(|p| p.is_match(selector)))
            .or_else(|| self.responses.iter().find(|r| r.pattern.is_none()))
    }
}

impl WsResponsePlan {
    pub fn template(&self, key: Option<&str>) -> Option<&Template> {
        pick(&self.templates, key)
    }
}

fn pick<'a>(templates: &'a [(String, Template)], key: Option<&str>) -> Option<&'a Template> {
    let find = |k: &str| templates.iter().find(|(n, _)| n == k).map(|(_, t)| t);
    key.and_then(find)
        .or_else(|| find("$default"))
        .or_else(|| (templates.len() == 1).then(|| &templates[0].1))
}

fn templates(map: Option<&std::collections::BTreeMap<String, String>>) -> Vec<(String, Template)> {
    map.into_iter()
        .flatten()
        .filter_map(|(key, text)| match Template::parse(text) {
            Ok(t) => Some((key.clone(), t)),
            Err(e) => {
                tracing::warn!(key, error = %e, "mapping template does not parse; left out");
                None
            }
        })
        .collect()
}

fn selection(text: Option<&String>) -> Option<SelectionExpression> {
    text.and_then(|t| SelectionExpression::parse(t).ok())
}

fn compile_integration(
    integration: &Integration,
    responses: &[IntegrationResponseRecord],
) -> Option<WsIntegrationPlan> {
    let uri = integration.integration_uri.clone().unwrap_or_default();
    let target = match integration.integration_type.as_str() {
        "MOCK" => WsTarget::Mock,
        "AWS_PROXY" => WsTarget::LambdaProxy {
            function_arn: integration.function_arn()?.to_string(),
        },
        "AWS" if uri.contains(":lambda:path/") => WsTarget::Lambda {
            function_arn: integration.function_arn()?.to_string(),
        },
        "HTTP" | "HTTP_PROXY" => WsTarget::Http {
            uri,
            method: integration
                .integration_method
                .clone()
                .unwrap_or_else(|| "POST".into()),
            proxy: integration.integration_type == "HTTP_PROXY",
        },
        other => {
            tracing::warn!(
                integration_type = other,
                uri,
                "WebSocket integration type not served"
            );
            return None;
        }
    };
    let responses = responses
        .iter()
        .filter(|r| r.integration_id == integration.integration_id)
        .map(|r| {
            let response = &r.integration_response;
            WsResponsePlan {
                pattern: response
                    .pattern()
                    .and_then(|p| Regex::new(&format!("^(?:{p})$")).ok()),
                templates: templates(response.response_templates.as_ref()),
                template_selection: selection(response.template_selection_expression.as_ref()),
            }
        })
        .collect();
    Some(WsIntegrationPlan {
        target,
        timeout: Duration::from_millis(integration.timeout_in_millis.max(50) as u64),
        request_templates: templates(integration.request_templates.as_ref()),
        template_selection: selection(integration.template_selection_expression.as_ref()),
        passthrough: integration
            .passthrough_behavior
            .clone()
            .unwrap_or_else(|| "WHEN_NO_MATCH".into()),
        response_selection: selection(
            integration
                .integration_response_selection_expression
                .as_ref(),
        ),
        responses,
    })
}

impl WsStagePlan {
    /// Compiles a stage; its metric handles come from `registry` when given.
    pub fn compile(
        api_id: &str,
        stage: &StageRecord,
        record: &DeploymentRecord,
        registry: Option<&tollgate_telemetry::Registry>,
    ) -> Self {
        let stage_name = stage.stage.stage_name.as_str();
        let snapshot = &record.snapshot;
        let integrations: HashMap<&str, Arc<WsIntegrationPlan>> = snapshot
            .integrations
            .iter()
            .filter_map(|i| {
                let plan = compile_integration(i, &snapshot.integration_responses)?;
                Some((i.integration_id.as_str(), Arc::new(plan)))
            })
            .collect();
        let authorizers: HashMap<&str, Arc<WsAuthorizerPlan>> = snapshot
            .authorizers
            .iter()
            .filter_map(|a| {
                let arn = a.authorizer_uri.as_deref()?;
                let function_arn = match arn.split_once(":lambda:path/2015-03-31/functions/") {
                    Some((_, rest)) => rest.strip_suffix("/invocations").unwrap_or(rest),
                    None => arn,
                };
                Some((
                    a.authorizer_id.as_str(),
                    Arc::new(WsAuthorizerPlan {
                        id: a.authorizer_id.clone(),
                        function_arn: function_arn.to_string(),
                        identity_sources: a.identity_source.clone(),
                        ttl: Duration::from_secs(
                            a.authorizer_result_ttl_in_seconds.unwrap_or(0).max(0) as u64,
                        ),
                    }),
                ))
            })
            .collect();
        let models: Vec<(&str, Option<&str>)> = snapshot
            .models
            .iter()
            .map(|m| (m.name.as_str(), m.schema.as_deref()))
            .collect();
        let routes = snapshot
            .routes
            .iter()
            .map(|route| {
                let auth = match (route.authorization_type.as_str(), &route.authorizer_id) {
                    ("AWS_IAM", _) => WsAuth::Iam,
                    ("CUSTOM", Some(id)) => match authorizers.get(id.as_str()) {
                        Some(a) => WsAuth::Lambda(Arc::clone(a)),
                        None => WsAuth::Misconfigured(format!("authorizer {id} is missing")),
                    },
                    ("CUSTOM", None) => WsAuth::Misconfigured("no authorizer".into()),
                    _ => WsAuth::None,
                };
                let two_way = snapshot.route_responses.iter().any(|r| {
                    r.route_id == route.route_id
                        && r.route_response.route_response_key == "$default"
                });
                let plan = WsRoutePlan {
                    route_key: route.route_key.clone(),
                    two_way,
                    integration: route
                        .integration_id()
                        .and_then(|id| integrations.get(id).cloned()),
                    auth,
                    api_key_required: route.api_key_required,
                    validation: WsValidation::compile(route, &models),
                    metrics: registry
                        .filter(|_| {
                            crate::http_api::detailed_metrics(
                                stage.stage.route_settings.get(&route.route_key),
                                &stage.stage.default_route_settings,
                            )
                        })
                        .map(|r| {
                            Arc::new(tollgate_telemetry::WebSocketMetrics::of(
                                r,
                                api_id,
                                stage_name,
                                Some(&route.route_key),
                            ))
                        }),
                };
                (route.route_key.clone(), Arc::new(plan))
            })
            .collect();
        Self {
            api_id: api_id.to_string(),
            stage: stage_name.to_string(),
            metrics: registry.map(|r| {
                Arc::new(tollgate_telemetry::WebSocketMetrics::of(
                    r, api_id, stage_name, None,
                ))
            }),
            deployment_id: record.deployment.deployment_id.clone(),
            route_selection: SelectionExpression::parse(&snapshot.api.route_selection_expression)
                .unwrap_or_else(|_| {
                    SelectionExpression(vec![tollgate_model::v2::SelectionPiece::Literal(
                        "$default".into(),
                    )])
                }),
            routes,
            stage_variables: stage
                .stage
                .stage_variables
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            api_key_from_authorizer: snapshot.api.api_key_selection_expression
                == "$context.authorizer.usageIdentifierKey",
        }
    }

    /// The route for a message whose selection expression evaluated to `key`: that route,
    /// else `$default`.
    pub fn route_for(&self, key: Option<&str>) -> Option<&Arc<WsRoutePlan>> {
        key.filter(|k| !matches!(*k, "$connect" | "$disconnect"))
            .and_then(|k| self.routes.get(k))
            .or_else(|| self.routes.get("$default"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn route(models: &[(&str, &str)], expression: Option<&str>) -> tollgate_model::v2::Route {
        serde_json::from_value(json!({
            "routeId": "r", "routeKey": "send", "authorizationType": "NONE",
            "requestModels": models.iter().map(|(k, v)| (k.to_string(), json!(v)))
                .collect::<serde_json::Map<_, _>>(),
            "modelSelectionExpression": expression,
        }))
        .unwrap()
    }

    #[test]
    fn messages_are_checked_against_the_selected_model_or_default() {
        let number =
            r#"{"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}"#;
        let named = r#"{"type": "object", "required": ["name"]}"#;
        let models = [("Number", Some(number)), ("Named", Some(named))];
        let routed = route(
            &[("n", "Number"), ("$default", "Named")],
            Some("$request.body.kind"),
        );
        let validation = WsValidation::compile(&routed, &models).unwrap();
        assert!(validation.accepts(Some("n"), Some(&json!({"n": 1}))));
        assert!(!validation.accepts(Some("n"), Some(&json!({"n": "1"}))));
        assert!(validation.accepts(Some("other"), Some(&json!({"name": "x"}))));
        assert!(!validation.accepts(None, Some(&json!({}))));
        assert!(
            !validation.accepts(Some("n"), None),
            "a body that is not JSON"
        );

        let strict = route(&[("n", "Number")], Some("$request.body.kind"));
        let validation = WsValidation::compile(&strict, &models).unwrap();
        assert!(!validation.accepts(Some("other"), Some(&json!({"n": 1}))));
        assert!(WsValidation::compile(&route(&[("n", "Number")], None), &models).is_none());
    }
}
