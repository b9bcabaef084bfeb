//! Resources only WebSocket APIs have: route responses (two-way routes), integration
//! responses, request models, and the selection expressions that choose between them.

use serde::{Deserialize, Serialize};

use super::{StringMap, merge};
use crate::ModelError;

/// One part of a selection expression: literal text or a variable such as `request.body.action`
/// (written `$request.body.action` or `${request.body.action}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectionPiece {
    Literal(String),
    Variable(String),
}

/// A parsed selection expression (`RouteSelectionExpression`, `TemplateSelectionExpression`,
/// `IntegrationResponseSelectionExpression`, ...). `$default` and `\$default` are literals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionExpression(pub Vec<SelectionPiece>);

const VARIABLE_ROOTS: &[&str] = &[
    "request.body",
    "request.header.",
    "request.querystring.",
    "context.",
    "stageVariables.",
    "integration.response.",
];

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'[' | b']' | b'\'' | b'*')
}

impl SelectionExpression {
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let invalid = |why: &str| {
            ModelError::invalid(format!(
                "Invalid selection expression specified: {text}. {why}"
            ))
        };
        if text == "$default" || text == "\\$default" {
            return Ok(Self(vec![SelectionPiece::Literal("$default".into())]));
        }
        let bytes = text.as_bytes();
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'$') {
                literal.push('$');
                i += 2;
                continue;
            }
            if bytes[i] != b'$' {
                let c = text[i..].chars().next().unwrap_or_default();
                literal.push(c);
                i += c.len_utf8();
                continue;
            }
            let name = if bytes.get(i + 1) == Some(&b'{') {
                let end = text[i + 2..]
                    .find('}')
                    .ok_or_else(|| invalid("Unclosed '${'"))?;
                let name = &text[i + 2..i + 2 + end];
                i += end + 3;
                name
            } else {
                let start = i + 1;
                let mut end = start;
                while end < bytes.len() && is_name_byte(bytes[end]) {
                    end += 1;
                }
                i = end;
                text[start..end].trim_end_matches('.')
            };
            if !VARIABLE_ROOTS
                .iter()
                .any(|root| name.starts_with(root) && name.len() >= root.len())
            {
                return Err(invalid(&format!(
                    "Unsupported variable ${name}: expected $request.body.*, $request.header.*, $request.querystring.*, $context.*, $stageVariables.* or $integration.response.*"
                )));
            }
            if !literal.is_empty() {
                pieces.push(SelectionPiece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(SelectionPiece::Variable(name.to_string()));
        }
        if !literal.is_empty() {
            pieces.push(SelectionPiece::Literal(literal));
        }
        if pieces.is_empty() {
            return Err(invalid("It is empty"));
        }
        Ok(Self(pieces))
    }

    /// The expression's value with `lookup` giving each variable's; `None` when a variable has
    /// no value (the caller then falls back to `$default`).
    pub fn evaluate(&self, lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                SelectionPiece::Literal(text) => out.push_str(text),
                SelectionPiece::Variable(name) => out.push_str(&lookup(name)?),
            }
        }
        Some(out)
    }
}

/// `RouteResponse`: on a WebSocket route, `$default` makes the route two-way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteResponse {
    pub route_response_id: String,
    pub route_response_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_selection_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_models: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_parameters: Option<serde_json::Value>,
}

/// The body of `CreateRouteResponse` and `UpdateRouteResponse`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteResponseInput {
    pub route_response_key: Option<String>,
    pub model_selection_expression: Option<String>,
    pub response_models: Option<StringMap>,
    pub response_parameters: Option<serde_json::Value>,
}

/// How a route response is stored: with the route it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteResponseRecord {
    pub route_id: String,
    pub route_response: RouteResponse,
}

impl RouteResponse {
    pub fn create(input: &RouteResponseInput, id: String) -> Result<Self, ModelError> {
        let key = crate::validate::required("routeResponseKey", input.route_response_key.clone())?;
        let made = Self {
            route_response_id: id,
            route_response_key: key,
            model_selection_expression: input.model_selection_expression.clone(),
            response_models: input.response_models.clone(),
            response_parameters: input.response_parameters.clone(),
        };
        made.check()?;
        Ok(made)
    }

    pub fn updated(&self, input: &RouteResponseInput) -> Result<Self, ModelError> {
        let mut next = self.clone();
        if let Some(key) = &input.route_response_key {
            next.route_response_key = key.clone();
        }
        merge(
            &mut next.model_selection_expression,
            &input.model_selection_expression,
        );
        merge(&mut next.response_models, &input.response_models);
        merge(&mut next.response_parameters, &input.response_parameters);
        next.check()?;
        Ok(next)
    }

    fn check(&self) -> Result<(), ModelError> {
        if self.route_response_key != "$default" {
            return Err(ModelError::invalid(format!(
                "Invalid route response key {}: only $default is supported",
                self.route_response_key
            )));
        }
        if let Some(e) = &self.model_selection_expression {
            SelectionExpression::parse(e)?;
        }
        Ok(())
    }
}

/// `IntegrationResponse`: how a WebSocket integration's answer is turned into the message sent
/// back, chosen by the integration's `IntegrationResponseSelectionExpression`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationResponse {
    pub integration_response_id: String,
    pub integration_response_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_handling_strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_parameters: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_templates: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_selection_expression: Option<String>,
}

/// The body of `CreateIntegrationResponse` and `UpdateIntegrationResponse`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationResponseInput {
    pub integration_response_key: Option<String>,
    pub content_handling_strategy: Option<String>,
    pub response_parameters: Option<StringMap>,
    pub response_templates: Option<StringMap>,
    pub template_selection_expression: Option<String>,
}

/// How an integration response is stored: with the integration it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationResponseRecord {
    pub integration_id: String,
    pub integration_response: IntegrationResponse,
}

/// `CONVERT_TO_BINARY` or `CONVERT_TO_TEXT`.
pub fn check_content_handling(value: &Option<String>) -> Result<(), ModelError> {
    match value {
        Some(v) => crate::validate::one_of(
            "contentHandlingStrategy",
            v,
            &["CONVERT_TO_BINARY", "CONVERT_TO_TEXT"],
        ),
        None => Ok(()),
    }
}

impl IntegrationResponse {
    pub fn create(input: &IntegrationResponseInput, id: String) -> Result<Self, ModelError> {
        let key = crate::validate::required(
            "integrationResponseKey",
            input.integration_response_key.clone(),
        )?;
        let made = Self {
            integration_response_id: id,
            integration_response_key: key,
            content_handling_strategy: input.content_handling_strategy.clone(),
            response_parameters: input.response_parameters.clone(),
            response_templates: input.response_templates.clone(),
            template_selection_expression: input.template_selection_expression.clone(),
        };
        made.check()?;
        Ok(made)
    }

    pub fn updated(&self, input: &IntegrationResponseInput) -> Result<Self, ModelError> {
        let mut next = self.clone();
        if let Some(key) = &input.integration_response_key {
            next.integration_response_key = key.clone();
        }
        merge(
            &mut next.content_handling_strategy,
            &input.content_handling_strategy,
        );
        merge(&mut next.response_parameters, &input.response_parameters);
        merge(&mut next.response_templates, &input.response_templates);
        merge(
            &mut next.template_selection_expression,
            &input.template_selection_expression,
        );
        next.check()?;
        Ok(next)
    }

    /// The key as a pattern: `None` for `$default`, else the regex between the slashes.
    pub fn pattern(&self) -> Option<&str> {
        let key = self.integration_response_key.as_str();
        if key == "$default" {
            return None;
        }
        key.strip_prefix('/').and_then(|k| k.strip_suffix('/'))
    }

    fn check(&self) -> Result<(), ModelError> {
        let key = &self.integration_response_key;
        if key != "$default" && (key.len() < 2 || self.pattern().is_none()) {
            return Err(ModelError::invalid(format!(
                "Invalid integration response key {key}: must be $default or a /regular expression/"
            )));
        }
        check_content_handling(&self.content_handling_strategy)?;
        if let Some(e) = &self.template_selection_expression {
            SelectionExpression::parse(e)?;
        }
        Ok(())
    }
}

/// `Model`: a JSON schema (draft 4) requests can be validated against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    pub model_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
}

/// The body of `CreateModel` and `UpdateModel`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelInput {
    pub name: Option<String>,
    pub content_type: Option<String>,
    pub description: Option<String>,
    pub schema: Option<String>,
}

impl Model {
    pub fn create(input: &ModelInput, id: String) -> Result<Self, ModelError> {
        let made = Self {
            model_id: id,
            name: crate::validate::required("name", input.name.clone())?,
            content_type: input.content_type.clone(),
            description: input.description.clone(),
            schema: Some(crate::validate::required("schema", input.schema.clone())?),
        };
        made.check()?;
        Ok(made)
    }

    pub fn updated(&self, input: &ModelInput) -> Result<Self, ModelError> {
        let mut next = self.clone();
        if let Some(name) = &input.name {
            next.name = name.clone();
        }
        merge(&mut next.content_type, &input.content_type);
        merge(&mut next.description, &input.description);
        merge(&mut next.schema, &input.schema);
        next.check()?;
        Ok(next)
    }

    fn check(&self) -> Result<(), ModelError> {
        if self.name.is_empty()
            || self.name.len() > 128
            || !self.name.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(ModelError::invalid(format!(
                "Invalid model name {}: must be 1-128 alphanumeric characters",
                self.name
            )));
        }
        if let Some(schema) = &self.schema
            && serde_json::from_str::<serde_json::Value>(schema).is_err()
        {
            return Err(ModelError::invalid(
                "Invalid model schema specified: it is not valid JSON",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(e: &str) -> Vec<SelectionPiece> {
        SelectionExpression::parse(e).unwrap().0
    }

    #[test]
    fn selection_expressions_parse_both_forms() {
        use SelectionPiece::*;
        assert_eq!(
            vars("$request.body.action"),
            vec![Variable("request.body.action".into())]
        );
        assert_eq!(
            vars("${request.body.type}-${request.body.action}"),
            vec![
                Variable("request.body.type".into()),
                Literal("-".into()),
                Variable("request.body.action".into())
            ]
        );
        assert_eq!(vars("\\$default"), vec![Literal("$default".into())]);
        assert_eq!(vars("static"), vec![Literal("static".into())]);
        assert!(SelectionExpression::parse("$foo.bar").is_err());
        assert!(SelectionExpression::parse("${request.body.a").is_err());
        assert!(SelectionExpression::parse("").is_err());
    }

    #[test]
    fn selection_expressions_evaluate_or_give_up() {
        let e = SelectionExpression::parse("${request.body.a}/${request.body.b}").unwrap();
        let lookup = |name: &str| (name == "request.body.a").then(|| "x".to_string());
        assert_eq!(e.evaluate(lookup), None);
        assert_eq!(e.evaluate(|_| Some("y".into())).as_deref(), Some("y/y"));
    }

    #[test]
    fn responses_check_their_keys() {
        let rr = |key: &str| {
            RouteResponse::create(
                &RouteResponseInput {
                    route_response_key: Some(key.into()),
                    ..Default::default()
                },
                "r".into(),
            )
        };
        assert!(rr("$default").is_ok());
        assert!(rr("other").is_err());
        let ir = |key: &str| {
            IntegrationResponse::create(
                &IntegrationResponseInput {
                    integration_response_key: Some(key.into()),
                    ..Default::default()
                },
                "i".into(),
            )
        };
        assert_eq!(ir("/2\\d\\d/").unwrap().pattern(), Some("2\\d\\d"));
        assert!(ir("$default").unwrap().pattern().is_none());
        assert!(ir("200").is_err());
        assert!(ir("/").is_err());
    }

    #[test]
    fn models_need_a_name_and_a_json_schema() {
        let m = |name: &str, schema: &str| {
            Model::create(
                &ModelInput {
                    name: Some(name.into()),
                    schema: Some(schema.into()),
                    ..Default::default()
                },
                "m".into(),
            )
        };
        assert!(m("Pet", "{}").is_ok());
        assert!(m("Pet!", "{}").is_err());
        assert!(m("Pet", "{").is_err());
    }
}
