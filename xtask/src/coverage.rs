//! `docs/coverage.md`: every documented PandaPon entry and what covers it,
//! generated whole from the spec and `openapi/docs-endpoints.json`.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The list of documented entries, relative to the workspace root.
pub const ENDPOINTS: &str = "openapi/docs-endpoints.json";
/// The generated page, relative to the workspace root.
pub const OUT: &str = "docs/coverage.md";

/// Extension on an operation naming the v1 path of the same capability.
const EXT_V1_PATH: &str = "x-pandapon-v1-path";
/// Extension on a component naming the documented callback it types.
const EXT_CALLBACK: &str = "x-pandapon-callback-of";

/// What covers one documented entry.
enum Cover {
    /// An operation, and whether it is paginated.
    Operation(String, bool),
    OperationV2(String),
    Schema(String),
    NoPath,
}

fn covers(
    spec: &openapiv3::OpenAPI,
) -> (BTreeMap<(String, String), Cover>, BTreeMap<String, String>) {
    let mut by_path = BTreeMap::new();
    for (path, item) in spec.paths.iter() {
        let Some(item) = item.as_item() else { continue };
        for (method, op) in item.iter() {
            let Some(id) = op.operation_id.clone() else {
                continue;
            };
            let method = method.to_uppercase();
            if let Some(v1) = op.extensions.get(EXT_V1_PATH).and_then(Value::as_str) {
                by_path.insert(
                    (method.clone(), v1.to_owned()),
                    Cover::OperationV2(id.clone()),
                );
            }
            let paginated = op.extensions.contains_key(crate::paging::EXT_PAGINATED);
            by_path.insert((method, path.clone()), Cover::Operation(id, paginated));
        }
    }
    let mut callbacks = BTreeMap::new();
    if let Some(components) = &spec.components {
        for (name, schema) in &components.schemas {
            let title = schema
                .as_item()
                .and_then(|s| s.schema_data.extensions.get(EXT_CALLBACK))
                .and_then(Value::as_str);
            if let Some(title) = title {
                callbacks.insert(title.to_owned(), name.clone());
            }
        }
    }
    (by_path, callbacks)
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The Markdown table, with a summary line.
pub fn table(spec: &openapiv3::OpenAPI, endpoints: &Value) -> Result<String> {
    let entries = endpoints
        .as_array()
        .context("endpoints file is a JSON array")?;
    let (by_path, callbacks) = covers(spec);
    let mut rows = Vec::new();
    let (mut ops, mut v2, mut schemas, mut none) = (0, 0, 0, 0);
    for (i, entry) in entries.iter().enumerate() {
        let title = entry["title"].as_str().context("entry without title")?;
        let method = entry["method"].as_str().unwrap_or("?");
        let path = entry["path"].as_str();
        let cover = match (callbacks.get(title), path) {
            (Some(schema), _) => Cover::Schema(schema.clone()),
            (None, None) => Cover::NoPath,
            (None, Some(path)) => match by_path.get(&(method.to_owned(), path.to_owned())) {
                Some(Cover::Operation(id, paginated)) => Cover::Operation(id.clone(), *paginated),
                Some(Cover::OperationV2(id)) => Cover::OperationV2(id.clone()),
                _ => bail!("documented {method} {path} ({title}) is in no operation of the spec"),
            },
        };
        let status = match cover {
            Cover::Operation(id, paginated) => {
                ops += 1;
                if paginated {
                    format!("`{id}` (paginated: `pages()`, `items()`)")
                } else {
                    format!("`{id}`")
                }
            }
            Cover::OperationV2(id) => {
                v2 += 1;
                format!("`{id}` (v2 path)")
            }
            Cover::Schema(name) => {
                schemas += 1;
                format!("schema `{name}`")
            }
            Cover::NoPath => {
                none += 1;
                "path not public: once PandaPon gives it to you, call it with `Client::request` \
                 (`pandapon request`)"
                    .to_owned()
            }
        };
        rows.push(format!(
            "| {} | {} | {} | {} | {} |",
            i + 1,
            cell(title),
            cell(method),
            path.map_or("—".to_owned(), |p| format!("`{}`", cell(p))),
            status
        ));
    }
    let mut out = format!(
        "{} documented entries: {ops} are operations, {v2} are v1 paths of an operation \
         that uses the v2 path, {schemas} are callback schemas, {none} have no public path.\n\n\
         | # | documented entry | method | path | in the SDK |\n|---|---|---|---|---|\n",
        entries.len()
    );
    for row in rows {
        out.push_str(&row);
        out.push('\n');
    }
    Ok(out)
}

/// The whole coverage page: what it is, then the table.
pub fn page(spec: &openapiv3::OpenAPI, endpoints: &Value) -> Result<String> {
    Ok(format!(
        "<!-- Generated by `cargo xtask codegen` from openapi/pandapon.yaml and \
         {ENDPOINTS}. Do not edit. -->\n\
         # API coverage\n\n\
         Every entry of PandaPon's documentation as recorded in `{ENDPOINTS}` (a copy \
         of the project's research notes), and what the SDK has for each. Entries whose \
         path is not public are not in the spec (a path is never guessed); once PandaPon \
         gives you the path of one, `Client::request` (or `pandapon request`) calls it \
         signed.\n\n{}",
        table(spec, endpoints)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> openapiv3::OpenAPI {
        crate::codegen::parse_spec(
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /v2/x:\n    post:\n      \
             operationId: a_b_c\n      x-pandapon-v1-path: /x\n      responses: {}\n  \
             /v2/y:\n    post:\n      operationId: a_b_list\n      \
             x-pandapon-paginated: {page: p, size: s, items: i}\n      responses: {}\n",
        )
        .expect("spec")
    }

    #[test]
    fn rows_say_what_covers_each_entry() {
        let endpoints = serde_json::json!([
            {"title": "new", "method": "POST", "path": "/v2/x"},
            {"title": "old", "method": "POST", "path": "/x"},
            {"title": "nav only", "method": "GET", "path": null},
            {"title": "list", "method": "POST", "path": "/v2/y"}
        ]);
        let t = table(&spec(), &endpoints).expect("table");
        assert!(t.contains("| 1 | new | POST | `/v2/x` | `a_b_c` |"), "{t}");
        assert!(
            t.contains("| 2 | old | POST | `/x` | `a_b_c` (v2 path) |"),
            "{t}"
        );
        assert!(
            t.contains(
                "| 3 | nav only | GET | — | path not public: once PandaPon gives it to you, \
                 call it with `Client::request` (`pandapon request`) |"
            ),
            "{t}"
        );
        assert!(
            t.contains(
                "| 4 | list | POST | `/v2/y` | `a_b_list` (paginated: `pages()`, `items()`) |"
            ),
            "{t}"
        );
    }

    #[test]
    fn a_documented_path_missing_from_the_spec_is_an_error() {
        let endpoints = serde_json::json!([{"title": "gone", "method": "GET", "path": "/y"}]);
        let err = table(&spec(), &endpoints).expect_err("uncovered path");
        assert!(err.to_string().contains("/y"), "{err}");
    }
}
