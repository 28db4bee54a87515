//! The one walk over the spec's operations. Codegen, the coverage and
//! on-unknown pages, pagination and spec-diff all read operations through
//! [`operations`], so they apply one policy: an operation without an
//! `operationId`, or a path item given by reference, is an error.

use anyhow::{Result, bail};

/// Extension on every operation: whether re-sending it is harmless.
pub const EXT_READ_ONLY: &str = "x-pandapon-read-only";

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

impl Op<'_> {
    /// The operation's `x-pandapon-read-only`; an error when it is missing,
    /// so no operation goes unclassified.
    pub fn read_only(&self) -> Result<bool> {
        match self
            .op
            .extensions
            .get(EXT_READ_ONLY)
            .and_then(serde_json::Value::as_bool)
        {
            Some(read_only) => Ok(read_only),
            None => bail!(
                "{} {} ({}) needs `{EXT_READ_ONLY}: true|false`: may a failed attempt be re-sent?",
                self.method,
                self.path,
                self.id
            ),
        }
    }
}

/// Every operation, in the spec's order.
pub fn operations(spec: &openapiv3::OpenAPI) -> Result<Vec<Op<'_>>> {
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

    #[test]
    fn a_missing_operation_id_is_an_error() {
        let spec = crate::codegen::parse_spec(
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      \
             responses: {}\n",
        )
        .expect("spec");
        let err = operations(&spec).err().expect("no operationId");
        assert_eq!(err.to_string(), "GET /a has no operationId");
    }

    #[test]
    fn read_only_must_be_declared() {
        let spec = crate::codegen::parse_spec(
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      \
             operationId: a_get\n      responses: {}\n  /b:\n    post:\n      \
             operationId: b_set\n      x-pandapon-read-only: false\n      responses: {}\n",
        )
        .expect("spec");
        let ops = operations(&spec).expect("ops");
        assert!(ops[0].read_only().is_err());
        assert!(!ops[1].read_only().expect("declared"));
        assert_eq!(
            (ops[1].method.as_str(), ops[1].path.as_str()),
            ("POST", "/b")
        );
    }
}
