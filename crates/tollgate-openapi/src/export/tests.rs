use super::*;
use crate::{BasePath, ImportOptions, import};
use tollgate_model::rest::{ApiSnapshot, CreateRestApi, RequestValidator, RestApi};

/// Turns a plan into the snapshot a deployment would freeze (what the management API does).
fn snapshot_of(source: &str) -> ApiSnapshot {
    let plan = import(
        source.as_bytes(),
        "api1",
        &ImportOptions {
            basepath: BasePath::Ignore,
            ignore_documentation: false,
        },
    )
    .unwrap();
    let input = CreateRestApi {
        name: Some(plan.settings.name.clone()),
        description: plan.settings.description.clone(),
        version: plan.settings.version.clone(),
        binary_media_types: plan.settings.binary_media_types.clone(),
        ..Default::default()
    };
    let api = RestApi::create(input, "api1".into(), "root".into(), 0).unwrap();
    let validators: Vec<RequestValidator> = plan
        .validators
        .iter()
        .map(|v| RequestValidator {
            id: format!("id-{}", v.name),
            name: Some(v.name.clone()),
            validate_request_body: v.validate_request_body,
            validate_request_parameters: v.validate_request_parameters,
        })
        .collect();
    let resources = plan
        .resources
        .iter()
        .map(|r| Resource {
            id: r.path.clone(),
            parent_id: None,
            path_part: None,
            path: Some(r.path.clone()),
            resource_methods: r
                .methods
                .iter()
                .map(|(verb, m)| {
                    let mut method = m.method.clone();
                    method.request_validator_id = m.validator.as_ref().map(|n| format!("id-{n}"));
                    method.authorizer_id = m.authorizer.as_ref().map(|n| format!("auth-{n}"));
                    (verb.clone(), method)
                })
                .collect(),
        })
        .collect();
    ApiSnapshot {
        api,
        resources,
        models: plan.models,
        request_validators: validators,
        gateway_responses: plan.gateway_responses,
        authorizers: plan
            .authorizers
            .into_iter()
            .map(|mut a| {
                a.id = format!("auth-{}", a.name);
                a
            })
            .collect(),
    }
}

const DOC: &str = r##"{
  "openapi": "3.0.1",
  "info": {"title": "Pets", "version": "2"},
  "x-amazon-apigateway-request-validators": {"body": {"validateRequestBody": true, "validateRequestParameters": false}},
  "x-amazon-apigateway-binary-media-types": ["image/png"],
  "paths": {
    "/secret": {
      "get": {"security": [{"tok": []}], "responses": {"200": {"description": "ok"}},
              "x-amazon-apigateway-integration": {"type": "mock", "responses": {"default": {"statusCode": "200"}}}},
      "post": {"security": [{"pool": ["email"]}], "responses": {"200": {"description": "ok"}},
              "x-amazon-apigateway-integration": {"type": "mock", "responses": {"default": {"statusCode": "200"}}}}
    },
    "/pets/{id}": {
      "get": {
        "operationId": "getPet",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                       {"name": "q", "in": "query", "schema": {"type": "string"}}],
        "x-amazon-apigateway-request-validator": "body",
        "security": [{"key": []}],
        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
        "responses": {"200": {"description": "ok", "headers": {"etag": {"schema": {"type": "string"}}},
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}},
        "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                                             "responses": {"default": {"statusCode": "200"}}}
      }
    }
  },
  "components": {
    "securitySchemes": {"key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
      "tok": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "custom",
              "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:auth/invocations", "authorizerResultTtlInSeconds": 60}},
      "pool": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "cognito_user_pools",
              "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": ["arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc"]}}},
    "schemas": {"Pet": {"type": "object", "properties": {"owner": {"$ref": "#/components/schemas/Owner"}}},
                "Owner": {"type": "object"}}
  }
}"##;

fn options(format: ExportFormat, extensions: &str) -> ExportOptions<'static> {
    ExportOptions {
        format,
        extensions: Extensions::parse(extensions),
        stage: "prod",
        region: "us-east-1",
        fallback_version: "2024-01-01T00:00:00Z".into(),
        documentation: None,
    }
}

#[test]
fn oas30_export_has_paths_models_and_chosen_extensions() {
    let snapshot = snapshot_of(DOC);
    let plain = export(&snapshot, &options(ExportFormat::Oas30, ""));
    let op = &plain["paths"]["/pets/{id}"]["get"];
    assert_eq!(op["operationId"], "getPet");
    assert!(op.get(ext::INTEGRATION).is_none());
    assert!(op.get(ext::REQUEST_VALIDATOR).is_none());
    assert_eq!(
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Pet"
    );
    assert_eq!(
        plain["components"]["schemas"]["Pet"]["properties"]["owner"]["$ref"],
        "#/components/schemas/Owner"
    );
    assert_eq!(
        plain["servers"][0]["variables"]["basePath"]["default"],
        "prod"
    );
    let with = export(&snapshot, &options(ExportFormat::Oas30, "apigateway"));
    let op = &with["paths"]["/pets/{id}"]["get"];
    assert_eq!(op[ext::INTEGRATION]["type"], "mock");
    assert_eq!(op[ext::REQUEST_VALIDATOR], "body");
    assert_eq!(with[ext::BINARY_MEDIA_TYPES][0], "image/png");
    let integrations_only = export(&snapshot, &options(ExportFormat::Oas30, "integrations"));
    assert!(integrations_only.get(ext::REQUEST_VALIDATORS).is_none());
    assert!(
        integrations_only["paths"]["/pets/{id}"]["get"]
            .get(ext::INTEGRATION)
            .is_some()
    );
}

#[test]
fn swagger_export_uses_body_parameters_and_definitions() {
    let snapshot = snapshot_of(DOC);
    let doc = export(&snapshot, &options(ExportFormat::Swagger, "integrations"));
    assert_eq!(doc["swagger"], "2.0");
    assert_eq!(doc["basePath"], "/prod");
    let op = &doc["paths"]["/pets/{id}"]["get"];
    let body = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["in"] == "body")
        .unwrap();
    assert_eq!(body["schema"]["$ref"], "#/definitions/Pet");
    assert_eq!(
        op["responses"]["200"]["schema"]["$ref"],
        "#/definitions/Pet"
    );
    assert_eq!(
        doc["definitions"]["Pet"]["properties"]["owner"]["$ref"],
        "#/definitions/Owner"
    );
}

#[test]
fn import_export_import_gives_the_same_api() {
    let first = snapshot_of(DOC);
    for format in [ExportFormat::Oas30, ExportFormat::Swagger] {
        let exported = export(&first, &options(format, "apigateway"));
        for text in [exported.to_string(), crate::to_yaml(&exported)] {
            let second = snapshot_of(&text);
            assert_eq!(first.resources, second.resources, "{format:?}");
            assert_eq!(first.models, second.models, "{format:?}");
            assert_eq!(first.request_validators, second.request_validators);
            assert_eq!(first.api.binary_media_types, second.api.binary_media_types);
            assert_eq!(first.authorizers, second.authorizers);
        }
    }
}

#[test]
fn authorizers_are_imported_and_exported_with_their_schemes() {
    let snapshot = snapshot_of(DOC);
    let tok = snapshot
        .authorizers
        .iter()
        .find(|a| a.name == "tok")
        .unwrap();
    assert_eq!(tok.authorizer_type, "TOKEN");
    assert_eq!(
        tok.identity_source.as_deref(),
        Some("method.request.header.Authorization")
    );
    assert_eq!(tok.authorizer_result_ttl_in_seconds, Some(60));
    let secret = snapshot
        .resources
        .iter()
        .find(|r| r.path.as_deref() == Some("/secret"))
        .unwrap();
    assert_eq!(secret.resource_methods["GET"].authorization_type, "CUSTOM");
    let post = &secret.resource_methods["POST"];
    assert_eq!(post.authorization_type, "COGNITO_USER_POOLS");
    assert_eq!(post.authorization_scopes, Some(vec!["email".to_string()]));
    let without = export(&snapshot, &options(ExportFormat::Oas30, "integrations"));
    assert!(
        without["components"]["securitySchemes"]
            .get("tok")
            .is_none()
    );
    let with = export(&snapshot, &options(ExportFormat::Oas30, "authorizers"));
    assert_eq!(
        with["components"]["securitySchemes"]["tok"][ext::AUTHORIZER]["type"],
        "token"
    );
    assert_eq!(
        with["paths"]["/secret"]["post"]["security"][0]["pool"][0],
        "email"
    );
}

#[test]
fn documentation_parts_are_written_into_the_operations_they_apply_to() {
    let snapshot = snapshot_of(DOC);
    let part = |location: serde_json::Value, properties: &str| DocumentationPart {
        id: String::new(),
        location: serde_json::from_value(location).unwrap(),
        properties: properties.into(),
    };
    let parts = [
        part(
            json!({"type": "METHOD", "path": "/pets/{id}", "method": "GET"}),
            r#"{"summary": "One pet", "tags": ["pets"]}"#,
        ),
        // Applies to every 200 response, except where a more specific part says otherwise.
        part(
            json!({"type": "RESPONSE", "method": "*", "statusCode": "200"}),
            r#"{"description": "Fine"}"#,
        ),
        part(
            json!({"type": "PATH_PARAMETER", "path": "/pets/{id}", "method": "*", "name": "id"}),
            r#"{"description": "The pet's id"}"#,
        ),
    ];
    let mut with_docs = options(ExportFormat::Oas30, "");
    with_docs.documentation = Some(("v1", &parts));
    let doc = export(&snapshot, &with_docs);
    let op = &doc["paths"]["/pets/{id}"]["get"];
    assert_eq!(op["summary"], "One pet");
    assert_eq!(op["tags"], json!(["pets"]));
    assert_eq!(op["responses"]["200"]["description"], "Fine");
    let id = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "id")
        .unwrap();
    assert_eq!(id["description"], "The pet's id");
    assert_eq!(
        doc["x-amazon-apigateway-documentation"]["documentationParts"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}
