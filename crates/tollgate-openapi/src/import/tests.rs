use super::*;

const PETS_OAS3: &str = r##"
openapi: 3.0.1
info:
  title: Pets
  description: A pet store
  version: "1.0"
servers:
  - url: https://example.test/{basePath}
    variables:
      basePath:
        default: /v1/store
x-amazon-apigateway-request-validators:
  all:
    validateRequestBody: true
    validateRequestParameters: true
  params:
    validateRequestBody: false
    validateRequestParameters: true
x-amazon-apigateway-request-validator: params
x-amazon-apigateway-binary-media-types: ["image/png"]
x-amazon-apigateway-minimum-compression-size: 1024
x-amazon-apigateway-api-key-source: HEADER
x-amazon-apigateway-policy:
  Version: "2012-10-17"
  Statement: []
x-amazon-apigateway-gateway-responses:
  MISSING_AUTHENTICATION_TOKEN:
    statusCode: "404"
    responseTemplates:
      application/json: '{"message": "no such route"}'
x-amazon-apigateway-documentation:
  version: "1"
  documentationParts:
    - location: {type: API}
      properties: {description: "pets"}
paths:
  /pets:
    get:
      operationId: listPets
      parameters:
        - {name: limit, in: query, schema: {type: integer}}
        - {$ref: "#/components/parameters/Trace"}
      security: [{api_key: []}]
      responses:
        "200":
          description: ok
          headers:
            x-next: {schema: {type: string}}
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pets"}
        default:
          description: error
      x-amazon-apigateway-integration:
        type: http
        httpMethod: GET
        uri: http://petstore.example.test/pets
        responses:
          default: {statusCode: "200", responseParameters: {method.response.header.x-next: "'x'"}}
    post:
      x-amazon-apigateway-request-validator: all
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties: {name: {type: string}}
      responses:
        "201": {description: created}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 201}'}
        responses:
          default: {statusCode: "201"}
  /pets/{petId}:
    parameters:
      - {name: petId, in: path, required: true, schema: {type: string}}
    x-amazon-apigateway-any-method:
      x-amazon-apigateway-auth: {type: AWS_IAM}
      responses: {}
components:
  parameters:
    Trace: {name: X-Trace, in: header, required: true, schema: {type: string}}
  securitySchemes:
    api_key: {type: apiKey, name: x-api-key, in: header}
    oauth: {type: oauth2, flows: {}}
  schemas:
    Pet:
      type: object
      properties:
        id: {type: integer}
        tag: {type: string, nullable: true}
    Pets:
      type: array
      items: {$ref: "#/components/schemas/Pet"}
"##;

fn plan(source: &str, basepath: BasePath) -> ImportPlan {
    let options = ImportOptions {
        basepath,
        ignore_documentation: false,
    };
    import(source.as_bytes(), "api1", &options).unwrap()
}

fn resource<'a>(plan: &'a ImportPlan, path: &str) -> &'a PlannedResource {
    plan.resources.iter().find(|r| r.path == path).unwrap()
}

#[test]
fn openapi3_with_extensions_becomes_a_plan() {
    let plan = plan(PETS_OAS3, BasePath::Ignore);
    assert_eq!(plan.settings.name, "Pets");
    assert_eq!(plan.settings.version.as_deref(), Some("1.0"));
    assert_eq!(
        plan.settings.binary_media_types,
        Some(vec!["image/png".to_string()])
    );
    assert_eq!(plan.settings.minimum_compression_size, Some(1024));
    assert!(
        plan.settings
            .policy
            .as_deref()
            .unwrap()
            .contains("2012-10-17")
    );
    let pets = resource(&plan, "/pets");
    let get = &pets.methods["GET"];
    assert_eq!(get.method.operation_name.as_deref(), Some("listPets"));
    assert!(get.method.api_key_required);
    assert_eq!(get.validator.as_deref(), Some("params"));
    let params = get.method.request_parameters.as_ref().unwrap();
    assert!(!params["method.request.querystring.limit"]);
    assert!(params["method.request.header.X-Trace"]);
    let responses = get.method.method_responses.as_ref().unwrap();
    assert_eq!(
        responses["200"].response_models.as_ref().unwrap()["application/json"],
        "Pets"
    );
    assert!(
        !responses["200"].response_parameters.as_ref().unwrap()["method.response.header.x-next"]
    );
    assert!(!responses.contains_key("default"));
    let integration = get.method.method_integration.as_ref().unwrap();
    assert_eq!(
        integration.uri.as_deref(),
        Some("http://petstore.example.test/pets")
    );
    let post = &pets.methods["POST"];
    assert_eq!(post.validator.as_deref(), Some("all"));
    let body_model = &post.method.request_models.as_ref().unwrap()["application/json"];
    assert!(body_model.starts_with("Model"));
    assert!(plan.models.iter().any(|m| &m.name == body_model));
    let any = &resource(&plan, "/pets/{petId}").methods["ANY"];
    assert_eq!(any.method.authorization_type, "AWS_IAM");
    assert!(any.method.request_parameters.as_ref().unwrap()["method.request.path.petId"]);
    let pets_model = plan.models.iter().find(|m| m.name == "Pets").unwrap();
    assert!(
        pets_model
            .schema
            .as_deref()
            .unwrap()
            .contains("https://apigateway.amazonaws.com/restapis/api1/models/Pet")
    );
    assert_eq!(plan.validators.len(), 2);
    assert_eq!(
        plan.gateway_responses[0].status_code.as_deref(),
        Some("404")
    );
    // With the extension, its parts are the documentation (not the descriptions too).
    assert_eq!(plan.documentation.len(), 1);
    assert!(
        plan.warnings.iter().any(|w| w.contains("'oauth2'")),
        "{:?}",
        plan.warnings
    );
    assert!(
        plan.warnings.iter().any(|w| w.contains("'default'")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn base_paths_are_ignored_prepended_or_split() {
    assert!(
        plan(PETS_OAS3, BasePath::Ignore)
            .resources
            .iter()
            .any(|r| r.path == "/pets")
    );
    assert!(
        plan(PETS_OAS3, BasePath::Prepend)
            .resources
            .iter()
            .any(|r| r.path == "/v1/store/pets")
    );
    assert!(
        plan(PETS_OAS3, BasePath::Split)
            .resources
            .iter()
            .any(|r| r.path == "/store/pets")
    );
}

#[test]
fn swagger2_bodies_use_consumes_and_definitions() {
    let doc = r##"{
      "swagger": "2.0",
      "info": {"title": "S", "version": "1"},
      "basePath": "/api",
      "consumes": ["application/json", "application/xml"],
      "securityDefinitions": {"sig": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}},
      "paths": {"/items": {"post": {
        "security": [{"sig": []}],
        "parameters": [{"in": "body", "name": "body", "schema": {"$ref": "#/definitions/Item.Thing"}},
                       {"in": "formData", "name": "f", "type": "string"}],
        "produces": ["application/json"],
        "responses": {"200": {"description": "ok", "schema": {"type": "array", "items": {"$ref": "#/definitions/Item.Thing"}}}}
      }}},
      "definitions": {"Item.Thing": {"type": "object", "properties": {"n": {"type": "integer"}}}}
    }"##;
    let plan = plan(doc, BasePath::Prepend);
    let post = &resource(&plan, "/api/items").methods["POST"];
    let models = post.method.request_models.as_ref().unwrap();
    assert_eq!(models["application/json"], "ItemThing");
    assert_eq!(models["application/xml"], "ItemThing");
    assert_eq!(post.method.authorization_type, "AWS_IAM");
    let response_model = &post.method.method_responses.as_ref().unwrap()["200"]
        .response_models
        .as_ref()
        .unwrap()["application/json"];
    let inline = plan
        .models
        .iter()
        .find(|m| &m.name == response_model)
        .unwrap();
    assert!(
        inline
            .schema
            .as_deref()
            .unwrap()
            .contains("/models/ItemThing")
    );
    assert!(plan.warnings.iter().any(|w| w.contains("formData")));
}

#[test]
fn invalid_documents_list_every_problem_with_its_place() {
    let doc = r##"{
      "openapi": "3.0.0",
      "info": {"version": "1"},
      "paths": {
        "/a/{x}": {"get": {"responses": {}}},
        "/a/{y}": {"get": {"responses": {}}},
        "/b": {"get": {"x-amazon-apigateway-integration": {"type": "http"}, "responses": {}}},
        "/c/{d}.json": {"get": {"responses": {}}},
        "/e": {"get": {"x-amazon-apigateway-request-validator": "nope", "responses": {"200": {"$ref": "#/components/responses/missing"}}}}
      }
    }"##;
    let err = import(doc.as_bytes(), "api1", &ImportOptions::default()).unwrap_err();
    let pointers: Vec<&str> = err.0.iter().map(|p| p.pointer.as_str()).collect();
    assert!(pointers.contains(&"/info/title"), "{pointers:?}");
    assert!(pointers.contains(&"/paths/~1a~1{y}"), "{pointers:?}");
    assert!(
        pointers.contains(&"/paths/~1b/get/x-amazon-apigateway-integration"),
        "{pointers:?}"
    );
    assert!(pointers.contains(&"/paths/~1c~1{d}.json"), "{pointers:?}");
    assert!(
        pointers.contains(&"/paths/~1e/get/x-amazon-apigateway-request-validator"),
        "{pointers:?}"
    );
    assert!(
        pointers.contains(&"/paths/~1e/get/responses/200/$ref"),
        "{pointers:?}"
    );
    assert!(err.to_string().starts_with("Errors found during import:"));
}

#[test]
fn documentation_alone_can_be_imported() {
    let plan = import_documentation(PETS_OAS3.as_bytes()).unwrap();
    assert_eq!(plan.documentation_version.as_deref(), Some("1"));
    assert_eq!(plan.documentation.len(), 1);
    let options = ImportOptions {
        ignore_documentation: true,
        ..Default::default()
    };
    assert!(
        import(PETS_OAS3.as_bytes(), "a", &options)
            .unwrap()
            .documentation
            .is_empty()
    );
}

#[test]
fn summaries_and_descriptions_become_documentation_parts() {
    let doc = r#"{"swagger": "2.0", "info": {"title": "t", "description": "The API", "version": "1"},
      "paths": {"/items/{id}": {"get": {
        "summary": "Get an item", "description": "By its id", "tags": ["items"],
        "parameters": [
          {"name": "id", "in": "path", "required": true, "type": "string", "description": "The id"},
          {"name": "fields", "in": "query", "type": "string", "description": "Which fields"},
          {"name": "x-trace", "in": "header", "type": "string", "description": "Trace"},
          {"name": "quiet", "in": "query", "type": "string"}],
        "responses": {"200": {"description": "The item",
          "headers": {"x-rev": {"type": "string", "description": "Revision"}}}}}}}}"#;
    let plan = import(doc.as_bytes(), "api1", &ImportOptions::default()).unwrap();
    let parts: Vec<String> = plan
        .documentation
        .iter()
        .map(|(l, p)| {
            format!(
                "{} {} {} {} {} {p}",
                l.part_type,
                l.path.as_deref().unwrap_or("-"),
                l.method.as_deref().unwrap_or("-"),
                l.status_code.as_deref().unwrap_or("-"),
                l.name.as_deref().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        parts,
        [
            r#"API - - - - {"info":{"description":"The API"}}"#,
            r#"METHOD /items/{id} GET - - {"summary":"Get an item","description":"By its id","tags":["items"]}"#,
            r#"PATH_PARAMETER /items/{id} GET - id {"description":"The id"}"#,
            r#"QUERY_PARAMETER /items/{id} GET - fields {"description":"Which fields"}"#,
            r#"REQUEST_HEADER /items/{id} GET - x-trace {"description":"Trace"}"#,
            r#"RESPONSE /items/{id} GET 200 - {"description":"The item"}"#,
            r#"RESPONSE_HEADER /items/{id} GET 200 x-rev {"description":"Revision"}"#,
        ]
    );
    let ignored = ImportOptions {
        ignore_documentation: true,
        ..Default::default()
    };
    assert!(
        import(doc.as_bytes(), "api1", &ignored)
            .unwrap()
            .documentation
            .is_empty()
    );
}
