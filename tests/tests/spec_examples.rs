//! Every example embedded in `openapi/pandapon.yaml` decodes into its
//! generated type, and request examples serialize back to the same JSON.

use std::collections::BTreeMap;

use pandapon_gen::types;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

type Check = fn(&str, &Value) -> Result<(), String>;

/// Decodes `example` as `T` and, for requests, encodes it back.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str, example: &Value) -> Result<(), String> {
    let typed: T = serde_json::from_value(example.clone()).map_err(|e| format!("{name}: {e}"))?;
    let back = serde_json::to_value(&typed).map_err(|e| format!("{name}: {e}"))?;
    if &back != example {
        return Err(format!(
            "{name}: re-encoded as {back}, example is {example}"
        ));
    }
    Ok(())
}

/// operationId → (request type check, response type check).
fn table() -> BTreeMap<&'static str, (Check, Check)> {
    BTreeMap::from([(
        "alibaba_order_cancel",
        (
            round_trip::<types::AlibabaOrderCancelRequest> as Check,
            round_trip::<types::AlibabaOrderCancelResponse> as Check,
        ),
    )])
}

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/pandapon.yaml");
    let text = std::fs::read_to_string(path).expect("spec readable");
    serde_yaml::from_str(&text).expect("spec parses")
}

/// (operationId, "request" | "response", example name, value) for every example.
fn examples(spec: &Value) -> Vec<(String, &'static str, String, Value)> {
    let mut out = Vec::new();
    let paths = spec["paths"].as_object().expect("paths");
    for item in paths.values() {
        for op in item.as_object().expect("path item").values() {
            let id = op["operationId"].as_str().expect("operationId").to_owned();
            let media = [
                ("request", &op["requestBody"]["content"]["application/json"]),
                (
                    "response",
                    &op["responses"]["200"]["content"]["application/json"],
                ),
            ];
            for (side, media) in media {
                if let Some(examples) = media["examples"].as_object() {
                    for (name, ex) in examples {
                        out.push((id.clone(), side, name.clone(), ex["value"].clone()));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn every_embedded_example_fits_its_generated_type() {
    let spec = spec();
    let table = table();
    let examples = examples(&spec);
    assert!(!examples.is_empty());
    let mut failures = Vec::new();
    for (id, side, name, value) in &examples {
        let Some((request, response)) = table.get(id.as_str()) else {
            failures.push(format!("{id}: not in the example table"));
            continue;
        };
        let check = if *side == "request" {
            request
        } else {
            response
        };
        if let Err(e) = check(&format!("{id} {side} {name}"), value) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_cancel_example_keeps_every_digit() {
    let spec = spec();
    let example = &spec["paths"]["/v2/alibaba/order/cancel"]["post"]["requestBody"]["content"]["application/json"]
        ["examples"]["documented"]["value"];
    let typed: types::AlibabaOrderCancelRequest =
        serde_json::from_value(example.clone()).expect("decodes");
    assert_eq!(typed.order_id.get(), 2542285634920880794);
    assert!(
        serde_json::to_string(&typed)
            .expect("encodes")
            .contains("2542285634920880794")
    );
}
