use super::*;

#[test]
fn sources_and_targets_parse() {
    assert_eq!(Source::parse("'x y'"), Some(Source::Static("x y".into())));
    assert_eq!(
        Source::parse("method.request.path.id"),
        Some(Source::Path("id".into()))
    );
    assert_eq!(
        Source::parse("stageVariables.url"),
        Some(Source::StageVariable("url".into()))
    );
    assert_eq!(
        Source::parse("integration.response.body"),
        Some(Source::IntegrationBody)
    );
    assert_eq!(Source::parse("nonsense"), None);
    assert!(matches!(
        Source::parse("integration.response.body.error.code"),
        Some(Source::IntegrationBodyPath(p)) if p.source == "$.error.code"
    ));
    let m = ParameterMapping::parse("integration.request.header.X-Id", "method.request.path.id")
        .unwrap();
    assert_eq!(m.target, Target::Header("X-Id".into()));
    assert!(ParameterMapping::parse("method.request.header.x", "'a'").is_none());
}

fn response(status: &str, pattern: Option<&str>) -> tollgate_model::rest::IntegrationResponse {
    tollgate_model::rest::IntegrationResponse {
        status_code: status.into(),
        selection_pattern: pattern.map(Into::into),
        response_parameters: None,
        response_templates: None,
        content_handling: None,
    }
}

#[test]
fn responses_are_selected_by_whole_match_then_default() {
    let integration = Integration {
        integration_responses: Some(
            [
                ("200".to_string(), response("200", None)),
                ("400".to_string(), response("400", Some("4\\d{2}"))),
                ("500".to_string(), response("500", Some("5.*"))),
            ]
            .into_iter()
            .collect(),
        ),
        ..mock()
    };
    let plan = IntegrationPlan::compile(&integration);
    assert_eq!(plan.select_response("404").map(|r| r.status), Some(400));
    assert_eq!(plan.select_response("503").map(|r| r.status), Some(500));
    assert_eq!(plan.select_response("200").map(|r| r.status), Some(200));
    assert_eq!(
        plan.select_response("1404").map(|r| r.status),
        Some(200),
        "patterns match the whole selector"
    );
}

fn mock() -> Integration {
    serde_json::from_value(serde_json::json!({
        "type": "MOCK", "passthroughBehavior": "WHEN_NO_MATCH", "timeoutInMillis": 29000,
        "cacheNamespace": "r", "cacheKeyParameters": []
    }))
    .unwrap()
}

#[test]
fn templates_are_found_by_content_type() {
    let integration = Integration {
        request_templates: Some(
            [(
                "application/json".to_string(),
                "{\"statusCode\": 200}".to_string(),
            )]
            .into(),
        ),
        ..mock()
    };
    let plan = IntegrationPlan::compile(&integration);
    assert!(template_for(&plan.request_templates, None).is_some());
    assert!(
        template_for(
            &plan.request_templates,
            Some("Application/JSON; charset=utf-8")
        )
        .is_some()
    );
    assert!(template_for(&plan.request_templates, Some("text/plain")).is_none());
}
