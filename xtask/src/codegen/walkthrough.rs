//! The "add one operation" walkthrough in `docs/regenerating.md`, followed
//! on a copy of the spec: its blocks, added to a spec without the
//! operation, give back the spec in the repository, and the refusal it
//! quotes is the one codegen gives.

use serde_json::Value;

use crate::spec::{self, SPEC};

const DOC: &str = "docs/regenerating.md";
const PATH: &str = "/v2/alibaba/order/cancel";
const SCHEMAS: [&str; 2] = ["AlibabaOrderCancelRequest", "AlibabaOrderCancelResponse"];

/// The fenced block after `<!-- add-one-operation: {name} -->`.
fn block<'a>(doc: &'a str, name: &str) -> &'a str {
    let marker = format!("<!-- add-one-operation: {name} -->");
    let after = doc
        .split_once(&marker)
        .unwrap_or_else(|| panic!("{DOC} has no {marker}"))
        .1;
    let body = after.trim_start().split_once('\n').expect("a fence line").1;
    body.split_once("\n```")
        .unwrap_or_else(|| panic!("{marker}: unclosed block"))
        .0
}

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).expect("YAML")
}

#[test]
fn the_walkthrough_rebuilds_the_operation_in_the_spec() {
    let root = spec::workspace_root();
    let doc = std::fs::read_to_string(root.join(DOC)).expect("doc");
    let real = yaml(&std::fs::read_to_string(root.join(SPEC)).expect("spec"));

    // A copy of the spec without the operation.
    let mut copy = real.clone();
    let paths = copy["paths"].as_object_mut().expect("paths");
    assert!(paths.remove(PATH).is_some(), "the spec has {PATH}");
    let schemas = copy["components"]["schemas"]
        .as_object_mut()
        .expect("schemas");
    for name in SCHEMAS {
        assert!(schemas.remove(name).is_some(), "the spec has {name}");
    }

    // The walkthrough's two blocks, added where it says.
    let path = yaml(block(&doc, "path"));
    let components = yaml(block(&doc, "components"));
    let path = path.as_object().expect("a path item");
    assert_eq!(path.keys().collect::<Vec<_>>(), [PATH]);
    copy["paths"]
        .as_object_mut()
        .expect("paths")
        .extend(path.clone());
    let components = components.as_object().expect("schemas");
    assert_eq!(components.keys().collect::<Vec<_>>(), SCHEMAS);
    copy["components"]["schemas"]
        .as_object_mut()
        .expect("schemas")
        .extend(components.clone());
    assert!(copy == real, "the walkthrough's blocks differ from {SPEC}");

    // The copy generates; without its on-unknown text, codegen refuses it
    // with the words the walkthrough quotes.
    let spec: openapiv3::OpenAPI = serde_json::from_value(copy.clone()).expect("OpenAPI");
    let api = spec::Api::new(&spec).expect("operations");
    let cancel = api
        .ops()
        .iter()
        .find(|op| op.id == "alibaba_order_cancel")
        .expect("the operation");
    assert_eq!(
        cancel.success_schema().expect("an envelope"),
        "AlibabaOrderCancelResponse"
    );
    super::on_unknown::guides(&api).expect("guidance for every write");
    copy["paths"][PATH]["post"]
        .as_object_mut()
        .expect("post")
        .remove(spec::EXT_ON_UNKNOWN);
    let spec: openapiv3::OpenAPI = serde_json::from_value(copy).expect("OpenAPI");
    let err = super::on_unknown::guides(&spec::Api::new(&spec).expect("operations"))
        .err()
        .expect("refused");
    assert_eq!(err.to_string(), block(&doc, "refusal").trim());

    // Step 1: the page is recorded, with the address the walkthrough names.
    let endpoints: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join(super::coverage::ENDPOINTS)).expect("endpoints"),
    )
    .expect("JSON");
    let page = endpoints
        .as_array()
        .expect("a list")
        .iter()
        .find(|e| e["method"] == "POST" && e["path"] == PATH)
        .expect("the page is recorded");
    let url = page["source_url"].as_str().expect("source_url");
    assert!(doc.contains(&format!("<{url}>")), "{DOC} cites {url}");
}
