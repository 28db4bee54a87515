//! Wire-level comparison of two specs: operations, parameters, request and
//! response fields, classified as breaking or not for clients.

use std::collections::{BTreeMap, BTreeSet};

use openapiv3::{OpenAPI, Operation, Parameter, ReferenceOr, Schema, SchemaKind, Type};

use anyhow::Result;

use super::{Change, Impact, Level};
use crate::spec::{Api, Op};

/// Which way a schema travels: clients send requests and read responses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Request,
    Response,
}

/// A schema flattened for comparison: `$ref`s followed, `allOf` merged.
#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Object(BTreeMap<String, Field>),
    Array(Box<Shape>),
    Scalar {
        ty: &'static str,
        format: Option<String>,
        values: Option<BTreeSet<String>>,
    },
    /// Free-form JSON (no type).
    Any,
}

#[derive(Debug, Clone, PartialEq)]
struct Field {
    shape: Shape,
    required: bool,
    nullable: bool,
    description: Option<String>,
}

struct Resolver<'a> {
    spec: &'a OpenAPI,
    /// Component names reached while resolving (for "outside operations").
    seen: BTreeSet<String>,
}

impl<'a> Resolver<'a> {
    fn new(spec: &'a OpenAPI) -> Self {
        Self {
            spec,
            seen: BTreeSet::new(),
        }
    }

    fn component(&mut self, reference: &str) -> Option<&'a Schema> {
        self.seen
            .insert(crate::spec::component_name(reference)?.to_owned());
        crate::spec::component(self.spec, reference)
    }

    /// The shape of a schema, its nullability and description.
    fn field(
        &mut self,
        schema: &ReferenceOr<Schema>,
        depth: usize,
    ) -> (Shape, bool, Option<String>) {
        let schema = match schema {
            ReferenceOr::Reference { reference } => match self.component(reference) {
                Some(s) => s,
                None => return (Shape::Any, false, None),
            },
            ReferenceOr::Item(s) => s,
        };
        self.schema(schema, depth)
    }

    fn schema(&mut self, schema: &Schema, depth: usize) -> (Shape, bool, Option<String>) {
        let data = &schema.schema_data;
        let (nullable, description) = (data.nullable, data.description.clone());
        if depth > 32 {
            return (Shape::Any, nullable, description);
        }
        // JSON carried in a string is compared as the string it is on the wire.
        let shape = match &schema.schema_kind {
            SchemaKind::Type(Type::String(s)) => Shape::Scalar {
                ty: "string",
                format: format_name(&s.format),
                values: enum_values(s.enumeration.iter().flatten()),
            },
            SchemaKind::Type(Type::Integer(i)) => Shape::Scalar {
                ty: "integer",
                format: format_name(&i.format),
                values: enum_values(i.enumeration.iter().flatten()),
            },
            SchemaKind::Type(Type::Number(n)) => Shape::Scalar {
                ty: "number",
                format: format_name(&n.format),
                values: enum_values(n.enumeration.iter().flatten()),
            },
            SchemaKind::Type(Type::Boolean(b)) => Shape::Scalar {
                ty: "boolean",
                format: None,
                values: enum_values(b.enumeration.iter().flatten()),
            },
            SchemaKind::Type(Type::Array(a)) => match &a.items {
                Some(items) => {
                    let items = items.clone().unbox();
                    Shape::Array(Box::new(self.field(&items, depth + 1).0))
                }
                None => Shape::Array(Box::new(Shape::Any)),
            },
            SchemaKind::Type(Type::Object(o)) => {
                let mut props = BTreeMap::new();
                for (name, prop) in &o.properties {
                    let prop = prop.clone().unbox();
                    let (shape, nullable, description) = self.field(&prop, depth + 1);
                    props.insert(
                        name.clone(),
                        Field {
                            shape,
                            required: o.required.contains(name),
                            nullable,
                            description,
                        },
                    );
                }
                Shape::Object(props)
            }
            SchemaKind::AllOf { all_of } => {
                let mut merged = BTreeMap::new();
                let mut nullable = nullable;
                for part in all_of {
                    match self.field(part, depth + 1) {
                        (Shape::Object(props), part_nullable, _) => {
                            merged.extend(props);
                            nullable |= part_nullable;
                        }
                        // `allOf: [$ref]` wrapping a single schema to describe it.
                        (other, part_nullable, _) if all_of.len() == 1 => {
                            return (other, nullable || part_nullable, description);
                        }
                        _ => {}
                    }
                }
                return (Shape::Object(merged), nullable, description);
            }
            _ => Shape::Any,
        };
        (shape, nullable, description)
    }
}

fn format_name<T: std::fmt::Debug>(
    format: &openapiv3::VariantOrUnknownOrEmpty<T>,
) -> Option<String> {
    match format {
        // As the spec spells them: `DateTime` is `date-time`.
        openapiv3::VariantOrUnknownOrEmpty::Item(f) => Some(
            format!("{f:?}")
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let dash = (i > 0 && c.is_uppercase()).then_some('-');
                    dash.into_iter().chain(c.to_lowercase())
                })
                .collect(),
        ),
        openapiv3::VariantOrUnknownOrEmpty::Unknown(f) => Some(f.clone()),
        openapiv3::VariantOrUnknownOrEmpty::Empty => None,
    }
}

fn enum_values<'v, T: std::fmt::Debug + 'v>(
    values: impl Iterator<Item = &'v T>,
) -> Option<BTreeSet<String>> {
    let set: BTreeSet<String> = values
        .map(|v| format!("{v:?}").trim_matches('"').to_owned())
        .collect();
    (!set.is_empty()).then_some(set)
}

fn kind(shape: &Shape) -> String {
    match shape {
        Shape::Object(_) => "object".into(),
        Shape::Array(_) => "array".into(),
        Shape::Scalar { ty, format, .. } => match format {
            Some(f) => format!("{ty} ({f})"),
            None => (*ty).to_owned(),
        },
        Shape::Any => "free-form JSON".into(),
    }
}

/// How a format change moves the range of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Range {
    /// Fewer values (`int64` → `int32`, `double` → `float`).
    Narrower,
    /// More values.
    Wider,
    /// The same values (`int64` ↔ no format: both are `i64` in Rust).
    Same,
    /// Another kind of value (`date-time` → none, `int32` → `uint32`, …).
    Unrelated,
}

/// How format `b` compares with `a` for a value of OpenAPI type `ty`: for
/// integers and numbers, by their bits (no format is the widest the SDK
/// reads, `i64` or `f64`); anything else is unrelated.
fn range(ty: &str, a: Option<&str>, b: Option<&str>) -> Range {
    let bits = |f: Option<&str>| match (ty, f) {
        ("integer", Some("int8")) => Some(8),
        ("integer", Some("int16")) => Some(16),
        ("integer", Some("int32")) | ("number", Some("float")) => Some(32),
        ("integer", Some("int64") | None) | ("number", Some("double") | None) => Some(64),
        _ => None,
    };
    match (bits(a), bits(b)) {
        (Some(x), Some(y)) if y < x => Range::Narrower,
        (Some(x), Some(y)) if y > x => Range::Wider,
        (Some(_), Some(_)) => Range::Same,
        _ => Range::Unrelated,
    }
}

/// Collects changes for one operation (or a standalone component).
struct Collector<'c> {
    operation: Option<String>,
    out: &'c mut Vec<Change>,
}

impl Collector<'_> {
    fn push(&mut self, breaking: bool, kind: &'static str, message: String) {
        self.out.push(Change {
            level: Level::Wire,
            impact: Impact::breaking_if(breaking),
            kind,
            operation: self.operation.clone(),
            message,
        });
    }

    fn field(&mut self, dir: Dir, at: &str, old: &Field, new: &Field) {
        match (old.required, new.required) {
            (false, true) if dir == Dir::Request => {
                self.push(true, "now-required", format!("{at} is now required"));
            }
            (false, true) => {
                self.push(false, "now-required", format!("{at} is now always present"))
            }
            (true, false) if dir == Dir::Response => {
                self.push(
                    true,
                    "now-optional",
                    format!("{at} is no longer guaranteed to be present"),
                );
            }
            (true, false) => {
                self.push(false, "now-optional", format!("{at} is no longer required"))
            }
            _ => {}
        }
        match (old.nullable, new.nullable) {
            (false, true) if dir == Dir::Response => {
                self.push(true, "now-nullable", format!("{at} may now be null"))
            }
            (false, true) => self.push(false, "now-nullable", format!("{at} now accepts null")),
            (true, false) if dir == Dir::Request => {
                self.push(
                    true,
                    "no-longer-nullable",
                    format!("{at} no longer accepts null"),
                );
            }
            (true, false) => self.push(
                false,
                "no-longer-nullable",
                format!("{at} is no longer null"),
            ),
            _ => {}
        }
        if old.description != new.description {
            self.push(
                false,
                "description-changed",
                format!("{at}: description changed"),
            );
        }
        self.shape(dir, at, &old.shape, &new.shape);
    }

    fn shape(&mut self, dir: Dir, at: &str, old: &Shape, new: &Shape) {
        match (old, new) {
            (Shape::Object(a), Shape::Object(b)) => {
                for (name, field) in a {
                    let path = format!("{at}.{name}");
                    match b.get(name) {
                        Some(new_field) => self.field(dir, &path, field, new_field),
                        None if dir == Dir::Response => {
                            self.push(
                                true,
                                "response-field-removed",
                                format!("{path} was removed"),
                            );
                        }
                        None => self.push(
                            false,
                            "request-input-removed",
                            format!("{path} was removed (a client still sending it is ignored)"),
                        ),
                    }
                }
                for (name, field) in b.iter().filter(|(n, _)| !a.contains_key(*n)) {
                    let path = format!("{at}.{name}");
                    match dir {
                        Dir::Request if field.required => {
                            self.push(
                                true,
                                "required-input-added",
                                format!("required {path} was added"),
                            );
                        }
                        Dir::Request => {
                            self.push(
                                false,
                                "optional-input-added",
                                format!("optional {path} was added"),
                            );
                        }
                        Dir::Response => {
                            self.push(false, "response-field-added", format!("{path} was added"));
                        }
                    }
                }
            }
            (Shape::Array(a), Shape::Array(b)) => self.shape(dir, &format!("{at}[]"), a, b),
            (
                Shape::Scalar {
                    ty: ta,
                    format: fa,
                    values: va,
                },
                Shape::Scalar {
                    ty: tb,
                    format: fb,
                    values: vb,
                },
            ) => {
                if ta != tb {
                    self.push(
                        true,
                        "type-changed",
                        format!("{at} changed type from {ta} to {tb}"),
                    );
                    return;
                }
                if fa != fb {
                    let show = |f: &Option<String>| f.clone().unwrap_or_else(|| "none".into());
                    let message = format!("{at} changed format from {} to {}", show(fa), show(fb));
                    // A narrower range breaks only the side that receives
                    // it: a server that now sends int32 breaks no reader of
                    // int64 (the Rust field's type changes: SDK-level), a
                    // server that now takes only int32 refuses some of what
                    // clients send.
                    let breaking = match range(ta, fa.as_deref(), fb.as_deref()) {
                        Range::Narrower => dir == Dir::Request,
                        Range::Wider => dir == Dir::Response,
                        Range::Same => false,
                        Range::Unrelated => true,
                    };
                    self.push(breaking, "format-changed", message);
                }
                self.values(dir, at, va.as_ref(), vb.as_ref());
            }
            (Shape::Any, Shape::Any) => {}
            (Shape::Any, b) => {
                let breaking = dir == Dir::Request;
                self.push(
                    breaking,
                    "free-form-documented",
                    format!("{at} is now documented as {} (was free-form JSON)", kind(b)),
                );
            }
            (a, Shape::Any) => {
                let breaking = dir == Dir::Response;
                self.push(
                    breaking,
                    "now-free-form",
                    format!("{at} is now free-form JSON (was {})", kind(a)),
                );
            }
            (a, b) => self.push(
                true,
                "type-changed",
                format!("{at} changed from {} to {}", kind(a), kind(b)),
            ),
        }
    }

    fn values(
        &mut self,
        dir: Dir,
        at: &str,
        old: Option<&BTreeSet<String>>,
        new: Option<&BTreeSet<String>>,
    ) {
        let list = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
        match (old, new) {
            (Some(a), Some(b)) => {
                let added: BTreeSet<_> = b.difference(a).cloned().collect();
                let removed: BTreeSet<_> = a.difference(b).cloned().collect();
                if !added.is_empty() {
                    // New values in answers can surprise a client's match.
                    self.push(
                        dir == Dir::Response,
                        "enum-values-added",
                        format!("{at} gained enum values: {}", list(&added)),
                    );
                }
                if !removed.is_empty() {
                    self.push(
                        dir == Dir::Request,
                        "enum-values-removed",
                        format!("{at} lost enum values: {}", list(&removed)),
                    );
                }
            }
            (None, Some(b)) => self.push(
                dir == Dir::Request,
                "enum-values-removed",
                format!("{at} is now limited to: {}", list(b)),
            ),
            (Some(_), None) => self.push(
                dir == Dir::Response,
                "enum-values-added",
                format!("{at} is no longer limited to enum values"),
            ),
            (None, None) => {}
        }
    }
}

/// Every operation by operationId.
fn operations<'a, 'b>(api: &'b Api<'a>) -> BTreeMap<String, &'b Op<'a>> {
    api.ops().iter().map(|op| (op.id.clone(), op)).collect()
}

fn params<'a>(spec: &'a OpenAPI, op: &'a Operation) -> BTreeMap<(String, String), &'a Parameter> {
    op.parameters
        .iter()
        .filter_map(|p| match p {
            ReferenceOr::Item(p) => Some(p),
            ReferenceOr::Reference { reference } => spec
                .components
                .as_ref()?
                .parameters
                .get(reference.strip_prefix("#/components/parameters/")?)?
                .as_item(),
        })
        .map(|p| {
            let location = match p {
                Parameter::Query { .. } => "query",
                Parameter::Header { .. } => "header",
                Parameter::Path { .. } => "path",
                Parameter::Cookie { .. } => "cookie",
            };
            (
                (location.to_owned(), p.parameter_data_ref().name.clone()),
                p,
            )
        })
        .collect()
}

/// The JSON request body's schema, and whether the body is required.
fn body_schema(op: &Operation) -> Option<(&ReferenceOr<Schema>, bool)> {
    let body = op.request_body.as_ref()?.as_item()?;
    let schema = body.content.get("application/json")?.schema.as_ref()?;
    Some((schema, body.required))
}

/// The 200 JSON response's schema (a response is always "required").
fn response_schema(op: &Operation) -> Option<(&ReferenceOr<Schema>, bool)> {
    let schema = op
        .responses
        .responses
        .get(&openapiv3::StatusCode::Code(200))?
        .as_item()?
        .content
        .get("application/json")?
        .schema
        .as_ref()?;
    Some((schema, true))
}

fn param_field(r: &mut Resolver<'_>, p: &Parameter) -> Field {
    let data = p.parameter_data_ref();
    let (shape, nullable, _) = match &data.format {
        openapiv3::ParameterSchemaOrContent::Schema(s) => r.field(s, 0),
        openapiv3::ParameterSchemaOrContent::Content(_) => (Shape::Any, false, None),
    };
    Field {
        shape,
        required: data.required,
        nullable,
        description: data.description.clone(),
    }
}

/// Compares request or response bodies of one operation.
fn bodies(
    c: &mut Collector<'_>,
    (old_r, new_r): (&mut Resolver<'_>, &mut Resolver<'_>),
    dir: Dir,
    old: Option<(&ReferenceOr<Schema>, bool)>,
    new: Option<(&ReferenceOr<Schema>, bool)>,
) {
    let at = match dir {
        Dir::Request => "request body",
        Dir::Response => "response",
    };
    match (old, new) {
        (Some((a, ra)), Some((b, rb))) => {
            let (sa, na, _) = old_r.field(a, 0);
            let (sb, nb, _) = new_r.field(b, 0);
            let field = |shape, nullable, required| Field {
                shape,
                required,
                nullable,
                description: None,
            };
            c.field(dir, at, &field(sa, na, ra), &field(sb, nb, rb));
        }
        // A body clients do not send yet breaks them only when required.
        (None, Some((_, required))) => c.push(
            dir == Dir::Request && required,
            "body-added",
            if dir == Dir::Request && !required {
                format!("an optional {at} was added")
            } else {
                format!("a {at} was added")
            },
        ),
        (Some(_), None) => c.push(
            dir == Dir::Response,
            "body-removed",
            format!("the {at} was removed"),
        ),
        (None, None) => {}
    }
}

/// Every wire-level change from `old` to `new`.
pub fn compare(old_api: &Api<'_>, new_api: &Api<'_>) -> Result<Vec<Change>> {
    let (old, new) = (old_api.doc, new_api.doc);
    let mut out = Vec::new();
    let (old_ops, new_ops) = (operations(old_api), operations(new_api));
    let (mut old_r, mut new_r) = (Resolver::new(old), Resolver::new(new));

    for (id, o) in &old_ops {
        let mut c = Collector {
            operation: Some(id.clone()),
            out: &mut out,
        };
        let Some(n) = new_ops.get(id) else {
            let renamed = new_ops.iter().find(|(nid, n)| {
                n.method == o.method && n.path == o.path && !old_ops.contains_key(*nid)
            });
            match renamed {
                Some((nid, _)) => c.push(
                    false,
                    "operation-id-renamed",
                    format!(
                        "operationId renamed to {nid}; {} {} is unchanged on the wire",
                        o.method, o.path
                    ),
                ),
                None => c.push(
                    true,
                    "operation-removed",
                    format!("operation removed ({} {})", o.method, o.path),
                ),
            }
            continue;
        };
        if (o.method.as_str(), o.path.as_str()) != (n.method.as_str(), n.path.as_str()) {
            c.push(
                true,
                "operation-moved",
                format!(
                    "operation moved from {} {} to {} {}",
                    o.method, o.path, n.method, n.path
                ),
            );
        }
        let (op_params, np_params) = (params(old, o.op), params(new, n.op));
        for (key, p) in &op_params {
            let at = format!("{} parameter {}", key.0, key.1);
            match np_params.get(key) {
                Some(np) => {
                    let (a, b) = (param_field(&mut old_r, p), param_field(&mut new_r, np));
                    c.field(Dir::Request, &at, &a, &b);
                }
                // One rule for every request input: a parameter or body
                // field the server no longer takes is ignored when sent, so
                // it breaks no client on the wire; its Rust setter going
                // away is the SDK-level break.
                None => c.push(
                    false,
                    "request-input-removed",
                    format!("{at} was removed (a client still sending it is ignored)"),
                ),
            }
        }
        for (key, np) in np_params
            .iter()
            .filter(|(k, _)| !op_params.contains_key(*k))
        {
            let at = format!("{} parameter {}", key.0, key.1);
            if np.parameter_data_ref().required {
                c.push(
                    true,
                    "required-input-added",
                    format!("required {at} was added"),
                );
            } else {
                c.push(
                    false,
                    "optional-input-added",
                    format!("optional {at} was added"),
                );
            }
        }
        let resolvers = (&mut old_r, &mut new_r);
        bodies(
            &mut c,
            resolvers,
            Dir::Request,
            body_schema(o.op),
            body_schema(n.op),
        );
        let resolvers = (&mut old_r, &mut new_r);
        bodies(
            &mut c,
            resolvers,
            Dir::Response,
            response_schema(o.op),
            response_schema(n.op),
        );
        if o.op.description != n.op.description || o.op.summary != n.op.summary {
            c.push(
                false,
                "description-changed",
                "summary or description changed".into(),
            );
        }
    }
    for (id, n) in new_ops.iter().filter(|(id, _)| !old_ops.contains_key(*id)) {
        let renamed = old_ops
            .iter()
            .any(|(oid, o)| o.method == n.method && o.path == n.path && !new_ops.contains_key(oid));
        if !renamed {
            out.push(Change {
                level: Level::Wire,
                impact: Impact::Compatible,
                kind: "operation-added",
                operation: Some(id.clone()),
                message: format!("operation added ({} {})", n.method, n.path),
            });
        }
    }

    // Components no operation reaches (pushed messages): compared on their
    // own, as data the client receives.
    let reached: BTreeSet<String> = old_r.seen.union(&new_r.seen).cloned().collect();
    let schemas = |spec: &OpenAPI| -> BTreeSet<String> {
        spec.components
            .iter()
            .flat_map(|c| c.schemas.keys().cloned())
            .collect()
    };
    let names: BTreeSet<String> = schemas(old).union(&schemas(new)).cloned().collect();
    for name in names.difference(&reached) {
        let reference = format!("#/components/schemas/{name}");
        let get = |spec: &OpenAPI| {
            spec.components
                .as_ref()
                .and_then(|c| c.schemas.get(name))
                .map(|_| ReferenceOr::<Schema>::Reference {
                    reference: reference.clone(),
                })
        };
        let mut c = Collector {
            operation: None,
            out: &mut out,
        };
        match (get(old), get(new)) {
            (Some(a), Some(b)) => {
                let (sa, na, _) = old_r.field(&a, 0);
                let (sb, nb, _) = new_r.field(&b, 0);
                let field = |shape, nullable| Field {
                    shape,
                    required: true,
                    nullable,
                    description: None,
                };
                c.field(
                    Dir::Response,
                    &format!("schema {name}"),
                    &field(sa, na),
                    &field(sb, nb),
                );
            }
            (Some(_), None) => c.push(true, "schema-removed", format!("schema {name} was removed")),
            (None, Some(_)) => c.push(false, "schema-added", format!("schema {name} was added")),
            (None, None) => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_format_change_is_judged_by_the_range_it_leaves() {
        use Range::*;
        for (ty, a, b, expect) in [
            ("integer", Some("int64"), Some("int32"), Narrower),
            ("integer", Some("int32"), Some("int64"), Wider),
            ("integer", None, Some("int32"), Narrower),
            ("integer", Some("int64"), None, Same),
            ("integer", None, Some("int64"), Same),
            ("number", Some("double"), Some("float"), Narrower),
            ("number", None, Some("double"), Same),
            ("integer", Some("int32"), Some("uint32"), Unrelated),
            ("string", None, Some("int32"), Unrelated),
            ("string", Some("date-time"), None, Unrelated),
        ] {
            assert_eq!(range(ty, a, b), expect, "{ty} {a:?} -> {b:?}");
        }
    }

    /// A request body breaks clients that do not send it only when it is
    /// required, and becoming required breaks them.
    #[test]
    fn a_request_body_is_judged_by_whether_it_is_required() {
        let spec = |body: &str| {
            crate::spec::parse_spec(&format!(
                "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n  /x:\n    post:\n      \
                 operationId: x_set\n{body}      responses: {{}}\n"
            ))
            .expect("spec")
        };
        let body = |required: bool| {
            format!(
                "      requestBody:\n        required: {required}\n        content:\n          \
                 application/json:\n            schema: {{type: object}}\n"
            )
        };
        let changes = |old: &OpenAPI, new: &OpenAPI| {
            let (a, b) = (Api::new(old).expect("ops"), Api::new(new).expect("ops"));
            compare(&a, &b)
                .expect("compares")
                .into_iter()
                .map(|c| (c.breaking(), c.kind, c.message))
                .collect::<Vec<_>>()
        };
        let (none, optional, required) = (spec(""), spec(&body(false)), spec(&body(true)));
        assert_eq!(
            changes(&none, &optional),
            [(
                false,
                "body-added",
                "an optional request body was added".into()
            )]
        );
        assert_eq!(
            changes(&none, &required),
            [(true, "body-added", "a request body was added".into())]
        );
        assert_eq!(
            changes(&optional, &required),
            [(true, "now-required", "request body is now required".into())]
        );
    }

    #[test]
    fn formats_are_named_as_the_spec_spells_them() {
        let f = openapiv3::VariantOrUnknownOrEmpty::Item(openapiv3::StringFormat::DateTime);
        assert_eq!(format_name(&f).as_deref(), Some("date-time"));
        let f = openapiv3::VariantOrUnknownOrEmpty::Item(openapiv3::IntegerFormat::Int32);
        assert_eq!(format_name(&f).as_deref(), Some("int32"));
    }
}
