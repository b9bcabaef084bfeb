//! Every definition of the corpus (`tests/fixtures/openapi`) imports as its README says, and
//! the refused one says where it is wrong.

use std::path::PathBuf;

use tollgate_openapi::{ImportOptions, import};

fn corpus(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/openapi")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn operations(name: &str) -> usize {
    let plan = import(&corpus(name), "corpus", &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    plan.resources.iter().map(|r| r.methods.len()).sum()
}

#[test]
fn the_corpus_imports_with_every_operation() {
    let expected = [
        ("aws-petstore.json", 6),
        ("swagger-petstore.json", 20),
        ("swagger-petstore-expanded.yaml", 4),
        ("uspto.yaml", 3),
        ("link-example.yaml", 6),
        ("readme-legacy.json", 36),
        ("star-trek.json", 120),
        ("xkcd.json", 2),
        ("docker-engine.json", 105),
        ("slack-web.json", 174),
        ("mastodon.json", 127),
        ("orthanc.json", 291),
    ];
    for (name, ops) in expected {
        assert_eq!(operations(name), ops, "{name}");
    }
}

#[test]
fn the_aws_petstore_keeps_its_extensions() {
    let plan = import(
        &corpus("aws-petstore.json"),
        "abc",
        &ImportOptions::default(),
    )
    .unwrap();
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    assert_eq!(plan.documentation_version.as_deref(), Some("v2.1"));
    assert_eq!(plan.documentation.len(), 14);
    let root = plan.resources.iter().find(|r| r.path == "/").unwrap();
    let get = root.methods["GET"]
        .method
        .method_integration
        .as_ref()
        .unwrap();
    assert!(
        get.integration_responses.as_ref().unwrap()["200"]
            .response_templates
            .as_ref()
            .unwrap()["text/html"]
            .contains("Welcome to your Pet Store API")
    );
    let names: Vec<&str> = plan.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Empty",
            "NewPet",
            "NewPetResponse",
            "Pet",
            "PetType",
            "Pets"
        ]
    );
}

#[test]
fn the_refused_definition_says_where() {
    let err = import(
        &corpus("invalid-gitea.json"),
        "x",
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(err
        .0
        .iter()
        .any(|p| p.pointer == "/paths/~1repos~1{owner}~1{repo}~1git~1commits~1{sha}.{diffType}"));
}
