//! Gateway responses: how the gateway's own errors are answered, as the API customized them.

use std::collections::HashMap;

use tollgate_model::rest::{DEFAULT_TEMPLATE, GatewayResponse, RESPONSE_TYPES};

use crate::{MappingTemplate, Source, compile_templates};

/// One response type's answer.
pub struct GatewayResponsePlan {
    pub status: u16,
    /// `gatewayresponse.header.X` mappings.
    pub headers: Vec<(String, Source)>,
    pub templates: Vec<MappingTemplate>,
}

/// The API's customized gateway responses, resolved the way AWS resolves them.
#[derive(Default)]
pub struct GatewayResponses {
    compiled: HashMap<String, GatewayResponsePlan>,
    builtin: HashMap<&'static str, GatewayResponsePlan>,
}

fn default_status(response_type: &str) -> Option<u16> {
    RESPONSE_TYPES
        .iter()
        .find(|(n, _)| *n == response_type)
        .and_then(|(_, s)| s.and_then(|s| s.parse().ok()))
}

fn plan(
    status: u16,
    parameters: &std::collections::BTreeMap<String, String>,
    templates: &std::collections::BTreeMap<String, String>,
) -> GatewayResponsePlan {
    GatewayResponsePlan {
        status,
        headers: parameters
            .iter()
            .filter_map(|(target, source)| {
                let name = target.strip_prefix("gatewayresponse.header.")?;
                Some((name.to_string(), Source::parse(source)?))
            })
            .collect(),
        templates: if templates.is_empty() {
            // A customization without templates keeps the default body (the usual CORS setup
            // adds only headers to DEFAULT_4XX).
            compile_templates(Some(
                &[("application/json".to_string(), DEFAULT_TEMPLATE.to_string())].into(),
            ))
        } else {
            compile_templates(Some(templates))
        },
    }
}

impl GatewayResponses {
    pub fn compile(responses: &[GatewayResponse]) -> Self {
        let custom: HashMap<String, GatewayResponse> = responses
            .iter()
            .map(|r| (r.response_type.clone(), r.clone()))
            .collect();
        let mut compiled = HashMap::new();
        // Every type resolves once, here: its own customization, else its class's
        // (DEFAULT_4XX / DEFAULT_5XX) headers and templates with its own status.
        for (name, _) in RESPONSE_TYPES {
            let own_status = default_status(name);
            let resolved = custom.get(*name).or_else(|| {
                let class = if own_status.unwrap_or(500) < 500 {
                    "DEFAULT_4XX"
                } else {
                    "DEFAULT_5XX"
                };
                custom.get(class)
            });
            if let Some(r) = resolved {
                let status = custom
                    .get(*name)
                    .and_then(|c| c.status_code.as_deref())
                    .and_then(|s| s.parse().ok())
                    .or(own_status)
                    .unwrap_or(500);
                compiled.insert(
                    name.to_string(),
                    plan(status, &r.response_parameters, &r.response_templates),
                );
            }
        }
        let default_templates =
            [("application/json".to_string(), DEFAULT_TEMPLATE.to_string())].into();
        let builtin = RESPONSE_TYPES
            .iter()
            .map(|(name, _)| {
                (
                    *name,
                    plan(
                        default_status(name).unwrap_or(500),
                        &Default::default(),
                        &default_templates,
                    ),
                )
            })
            .collect();
        Self { compiled, builtin }
    }

    /// The answer for a response type, with the status the error itself carries used where the
    /// type has no status of its own (`DEFAULT_4XX`, `DEFAULT_5XX`).
    pub fn resolve(&self, response_type: &str) -> Option<&GatewayResponsePlan> {
        self.compiled
            .get(response_type)
            .or_else(|| self.builtin.get(response_type))
    }
}
