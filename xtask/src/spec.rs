//! The centre of xtask: loading the spec, and the one walk over its
//! operations. Codegen, the generated pages and spec-diff read operations
//! through [`Api`] and each operation's extensions through [`Op`]'s
//! accessors, so they apply one policy: an operation without an
//! `operationId`, or a path item given by reference, is an error, and an
//! extension is read (and its form checked) in one place.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Path of the spec, relative to the workspace root.
pub const SPEC: &str = "openapi/pandapon.yaml";

/// Extension on every operation: whether re-sending it is harmless.
pub const EXT_READ_ONLY: &str = "x-pandapon-read-only";
/// Extension naming a paginated operation's paging fields:
/// `{page: beginPage, size: pageSize, items: data}`.
pub const EXT_PAGINATED: &str = "x-pandapon-paginated";
/// Extension every write operation carries, and no read may: what a caller
/// should do when the write's outcome is unknown.
pub const EXT_ON_UNKNOWN: &str = "x-pandapon-on-unknown";
/// Extension on an operation naming the v1 path of the same capability.
pub const EXT_V1_PATH: &str = "x-pandapon-v1-path";
/// The security scheme that marks query-signed (warehouse-logistics)
/// operations.
pub const QUERY_SIGN_SCHEME: &str = "logisticsSign";

/// The workspace root (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Parses an OpenAPI document from YAML text.
pub fn parse_spec(text: &str) -> Result<openapiv3::OpenAPI> {
    serde_yaml::from_str(text).context("parsing the OpenAPI document")
}

/// Reads the workspace spec.
pub fn load_spec(root: &Path) -> Result<openapiv3::OpenAPI> {
    let path = root.join(SPEC);
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    parse_spec(&text).with_context(|| format!("in {}", path.display()))
}

/// The component a `$ref` names (`#/components/schemas/X` → `X`).
pub fn component_name(reference: &str) -> Option<&str> {
    reference.strip_prefix("#/components/schemas/")
}

/// The component schema a `$ref` names in `doc`, when there is one.
pub fn component<'a>(
    doc: &'a openapiv3::OpenAPI,
    reference: &str,
) -> Option<&'a openapiv3::Schema> {
    doc.components
        .as_ref()?
        .schemas
        .get(component_name(reference)?)?
        .as_item()
}

/// The JSON names of a paginated operation's paging fields, as the spec
/// declares them (checked against the schemas by `codegen::paging`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagingFields {
    /// The request body's page-number field.
    pub page: String,
    /// The request body's page-size field.
    pub size: String,
    /// The page's array of items.
    pub items: String,
}

/// One operation with its location.
pub struct Op<'a> {
    /// The operationId.
    pub id: String,
    /// The method, upper case.
    pub method: String,
    /// The path template.
    pub path: String,
    /// The operation itself.
    pub op: &'a openapiv3::Operation,
}

impl<'a> Op<'a> {
    fn ext(&self, name: &str) -> Option<&'a Value> {
        self.op.extensions.get(name)
    }

    /// `x-pandapon-read-only`; an error when it is missing, so no operation
    /// goes unclassified.
    pub fn read_only(&self) -> Result<bool> {
        match self.ext(EXT_READ_ONLY).and_then(Value::as_bool) {
            Some(read_only) => Ok(read_only),
            None => bail!(
                "{} {} ({}) needs `{EXT_READ_ONLY}: true|false`: may a failed attempt be re-sent?",
                self.method,
                self.path,
                self.id
            ),
        }
    }

    /// Whether its security requirement is the query-parameter scheme.
    pub fn query_signed(&self) -> bool {
        self.op
            .security
            .as_ref()
            .is_some_and(|reqs| reqs.iter().any(|r| r.contains_key(QUERY_SIGN_SCHEME)))
    }

    /// `x-pandapon-paginated`, when present; an error when it lacks a field.
    pub fn paginated(&self) -> Result<Option<PagingFields>> {
        let Some(ext) = self.ext(EXT_PAGINATED) else {
            return Ok(None);
        };
        let field = |name: &str| -> Result<String> {
            ext.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .with_context(|| {
                    format!(
                        "{}: {EXT_PAGINATED} needs `{name}`: the field's JSON name",
                        self.id
                    )
                })
        };
        Ok(Some(PagingFields {
            page: field("page")?,
            size: field("size")?,
            items: field("items")?,
        }))
    }

    /// `x-pandapon-on-unknown`, trimmed, when present; an error when it is
    /// not text. Which operations need it is `codegen::on_unknown`'s rule.
    pub fn on_unknown(&self) -> Result<Option<&'a str>> {
        match self.ext(EXT_ON_UNKNOWN) {
            None => Ok(None),
            Some(v) => match v.as_str() {
                Some(text) => Ok(Some(text.trim())),
                None => bail!("{}: `{EXT_ON_UNKNOWN}` must be non-empty text", self.id),
            },
        }
    }

    /// `x-pandapon-v1-path`, when present.
    pub fn v1_path(&self) -> Option<&'a str> {
        self.ext(EXT_V1_PATH).and_then(Value::as_str)
    }

    /// Its 200 response's `application/json` content.
    fn success_json(&self) -> Option<&'a openapiv3::MediaType> {
        self.op
            .responses
            .responses
            .get(&openapiv3::StatusCode::Code(200))?
            .as_item()?
            .content
            .get("application/json")
    }

    /// The first documented example of its 200 JSON response.
    pub fn success_example(&self) -> Option<&'a Value> {
        self.success_json()?
            .examples
            .values()
            .next()?
            .as_item()?
            .value
            .as_ref()
    }

    /// The name of the component its 200 JSON response refers to: the
    /// envelope every call decodes. An error when the response is not a
    /// `$ref` to a component.
    pub fn success_schema(&self) -> Result<String> {
        let schema = self.success_json().and_then(|m| m.schema.as_ref());
        match schema {
            Some(openapiv3::ReferenceOr::Reference { reference }) => {
                if let Some(name) = component_name(reference) {
                    return Ok(name.to_owned());
                }
            }
            Some(openapiv3::ReferenceOr::Item(_)) | None => {}
        }
        bail!(
            "{}: the 200 response must be application/json with a $ref to a component",
            self.id
        )
    }
}

/// The spec with its operations, walked once: every generator of a codegen
/// run and each side of a spec-diff read this one list.
pub struct Api<'a> {
    /// The document.
    pub doc: &'a openapiv3::OpenAPI,
    ops: Vec<Op<'a>>,
}

impl<'a> Api<'a> {
    /// Walks `doc`'s operations ([`operations`]); an error also when two
    /// share an `operationId`.
    pub fn new(doc: &'a openapiv3::OpenAPI) -> Result<Self> {
        let ops = operations(doc)?;
        let mut ids: Vec<&str> = ops.iter().map(|op| op.id.as_str()).collect();
        ids.sort_unstable();
        if let Some(pair) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
            bail!("operationId {} is used twice", pair[0]);
        }
        Ok(Self { doc, ops })
    }

    /// Every operation, in the spec's order.
    pub fn ops(&self) -> &[Op<'a>] {
        &self.ops
    }

    /// Every operation, by `operationId`.
    pub fn by_id(&self) -> Vec<&Op<'a>> {
        let mut ops: Vec<&Op<'a>> = self.ops.iter().collect();
        ops.sort_by(|a, b| a.id.cmp(&b.id));
        ops
    }
}

/// Every operation, in the spec's order (use [`Api`], which walks once).
fn operations(spec: &openapiv3::OpenAPI) -> Result<Vec<Op<'_>>> {
    let mut ops = Vec::new();
    for (path, item) in spec.paths.iter() {
        let Some(item) = item.as_item() else {
            bail!("{path}: path items given by reference are not supported");
        };
        for (method, op) in item.iter() {
            let method = method.to_uppercase();
            let Some(id) = op.operation_id.clone() else {
                bail!("{method} {path} has no operationId");
            };
            ops.push(Op {
                id,
                method,
                path: path.clone(),
                op,
            });
        }
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(paths: &str) -> openapiv3::OpenAPI {
        parse_spec(&format!(
            "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n{paths}"
        ))
        .expect("spec")
    }

    #[test]
    fn a_missing_operation_id_is_an_error() {
        let spec = spec("  /a:\n    get:\n      responses: {}\n");
        let err = Api::new(&spec).err().expect("no operationId");
        assert_eq!(err.to_string(), "GET /a has no operationId");
    }

    #[test]
    fn read_only_must_be_declared() {
        let spec = spec(
            "  /a:\n    get:\n      operationId: a_get\n      responses: {}\n  /b:\n    post:\n      \
             operationId: b_set\n      x-pandapon-read-only: false\n      responses: {}\n",
        );
        let api = Api::new(&spec).expect("ops");
        let ops = api.ops();
        assert!(ops[0].read_only().is_err());
        assert!(!ops[1].read_only().expect("declared"));
        assert_eq!(
            (ops[1].method.as_str(), ops[1].path.as_str()),
            ("POST", "/b")
        );
    }

    #[test]
    fn each_extension_is_read_through_the_operation() {
        let spec = spec(
            "  /a:\n    post:\n      operationId: a_list\n      x-pandapon-read-only: true\n      \
             x-pandapon-paginated: {page: p, size: s, items: i}\n      x-pandapon-v1-path: /v1/a\n      \
             security: [{logisticsSign: []}]\n      responses:\n        '200':\n          \
             description: d\n          content:\n            application/json:\n              \
             schema: {$ref: '#/components/schemas/AResponse'}\n  /b:\n    post:\n      \
             operationId: b_set\n      x-pandapon-on-unknown: '  Look it up.  '\n      \
             x-pandapon-paginated: {page: p}\n      responses:\n        '200':\n          \
             description: d\n          content:\n            application/json:\n              \
             schema: {type: object}\n",
        );
        let api = Api::new(&spec).expect("ops");
        let (a, b) = (&api.ops()[0], &api.ops()[1]);
        assert_eq!(
            a.paginated().expect("well formed"),
            Some(PagingFields {
                page: "p".into(),
                size: "s".into(),
                items: "i".into()
            })
        );
        assert!(a.query_signed() && !b.query_signed());
        assert_eq!(a.v1_path(), Some("/v1/a"));
        assert_eq!(a.success_schema().expect("a $ref"), "AResponse");
        assert_eq!(a.on_unknown().expect("absent"), None);
        assert_eq!(b.on_unknown().expect("text"), Some("Look it up."));
        let err = b.paginated().expect_err("no size");
        assert!(err.to_string().contains("needs `size`"), "{err}");
        let err = b.success_schema().expect_err("inline schema");
        assert!(
            err.to_string().starts_with("b_set: the 200 response"),
            "{err}"
        );
        let by_id: Vec<&str> = api.by_id().iter().map(|op| op.id.as_str()).collect();
        assert_eq!(by_id, ["a_list", "b_set"]);
    }

    #[test]
    fn an_operation_id_used_twice_is_an_error() {
        let spec = spec(
            "  /a:\n    get:\n      operationId: same\n      responses: {}\n  /b:\n    get:\n      \
             operationId: same\n      responses: {}\n",
        );
        let err = Api::new(&spec).err().expect("refused");
        assert_eq!(err.to_string(), "operationId same is used twice");
    }
}
