//! Paginated operations: the spec marks them `x-pandapon-paginated` with the
//! names of the page-number, page-size and items fields; codegen checks the
//! fields exist and gives each operation's builder `pages()` and `items()`
//! streams.

use anyhow::{Context, Result, bail, ensure};
use quote::{format_ident, quote};

use super::syntax::{field_type, find_struct, generic_arg, pascal, snake};
use crate::spec::{self, EXT_PAGINATED, EXT_READ_ONLY};

/// One paginated operation, as the spec declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paginated {
    /// The operationId.
    pub operation_id: String,
    /// The request body's page-number field (JSON name).
    pub page: String,
    /// The request body's page-size field (JSON name).
    pub size: String,
    /// The `data` field holding the page's items (JSON name).
    pub items: String,
    /// The request body's component.
    pub request: String,
    /// The component of the response's `data`: the page.
    pub page_schema: String,
}

/// The component a schema or property refers to, when it is a `$ref`.
fn component_name<T>(schema: &openapiv3::ReferenceOr<T>) -> Option<String> {
    match schema {
        openapiv3::ReferenceOr::Reference { reference } => {
            spec::component_name(reference).map(str::to_owned)
        }
        openapiv3::ReferenceOr::Item(_) => None,
    }
}

/// The properties of a component, following `allOf` one level of `$ref`s
/// deep, as (name, schema).
fn properties(
    spec: &openapiv3::OpenAPI,
    name: &str,
) -> Result<Vec<(String, openapiv3::ReferenceOr<Box<openapiv3::Schema>>)>> {
    let schemas = spec
        .components
        .as_ref()
        .map(|c| &c.schemas)
        .context("the spec has no components")?;
    let Some(schema) = schemas.get(name).and_then(|s| s.as_item()) else {
        bail!("no component schema {name}");
    };
    let mut out = Vec::new();
    let mut add = |schema: &openapiv3::Schema| {
        if let openapiv3::SchemaKind::Type(openapiv3::Type::Object(o)) = &schema.schema_kind {
            out.extend(o.properties.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    };
    match &schema.schema_kind {
        openapiv3::SchemaKind::AllOf { all_of } => {
            for part in all_of {
                match part {
                    openapiv3::ReferenceOr::Item(item) => add(item),
                    openapiv3::ReferenceOr::Reference { .. } => {
                        let Some(inner) = component_name(part) else {
                            continue;
                        };
                        if let Some(s) = schemas.get(&inner).and_then(|s| s.as_item()) {
                            add(s);
                        }
                    }
                }
            }
        }
        _ => add(schema),
    }
    Ok(out)
}

fn is_integer(schema: &openapiv3::ReferenceOr<Box<openapiv3::Schema>>) -> bool {
    matches!(schema, openapiv3::ReferenceOr::Item(s)
        if matches!(s.schema_kind, openapiv3::SchemaKind::Type(openapiv3::Type::Integer(_))))
}

fn is_array(schema: &openapiv3::ReferenceOr<Box<openapiv3::Schema>>) -> bool {
    matches!(schema, openapiv3::ReferenceOr::Item(s)
        if matches!(s.schema_kind, openapiv3::SchemaKind::Type(openapiv3::Type::Array(_))))
}

/// The operations marked `x-pandapon-paginated`, checked against the spec:
/// read-only, a request body with integer page and size fields, and a
/// response whose `data` is a page with `totalPage` and an array of items.
pub fn paginated(spec: &openapiv3::OpenAPI, ops: &[&spec::Op<'_>]) -> Result<Vec<Paginated>> {
    let mut out = Vec::new();
    for operation in ops {
        let Some(spec::PagingFields { page, size, items }) = operation.paginated()? else {
            continue;
        };
        let (id, op) = (operation.id.clone(), operation.op);
        ensure!(
            operation.read_only()?,
            "{id}: a paginated operation must be `{EXT_READ_ONLY}: true` (pages are re-read)"
        );
        let request = op
            .request_body
            .as_ref()
            .and_then(|b| b.as_item())
            .and_then(|b| b.content.get("application/json"))
            .and_then(|m| m.schema.as_ref())
            .and_then(component_name)
            .with_context(|| format!("{id}: paginated, but its request body is not a $ref"))?;
        let request_props = properties(spec, &request)?;
        for wanted in [&page, &size] {
            ensure!(
                request_props
                    .iter()
                    .any(|(k, v)| k == wanted && is_integer(v)),
                "{id}: {EXT_PAGINATED} names `{wanted}`, but {request} has no integer field of that name"
            );
        }
        let envelope = operation.success_schema()?;
        let page_schema = properties(spec, &envelope)?
            .into_iter()
            .find(|(k, _)| k == "data")
            .and_then(|(_, v)| component_name(&v))
            .with_context(|| format!("{id}: paginated, but {envelope}.data is not a $ref"))?;
        let page_props = properties(spec, &page_schema)?;
        ensure!(
            page_props
                .iter()
                .any(|(k, v)| k == "totalPage" && is_integer(v)),
            "{id}: paginated, but {page_schema} has no integer `totalPage` (include PageInfo)"
        );
        ensure!(
            page_props.iter().any(|(k, v)| *k == items && is_array(v)),
            "{id}: {EXT_PAGINATED} names items `{items}`, but {page_schema} has no array of that name"
        );
        out.push(Paginated {
            operation_id: id,
            page,
            size,
            items,
            request,
            page_schema,
        });
    }
    out.sort_by(|a, b| a.operation_id.cmp(&b.operation_id));
    Ok(out)
}

/// For each paginated operation: `impl Page` for its page type (in the
/// module holding the envelope impls) and `impl Paginated` for its
/// arguments (in the `builder` module, which sees their fields), which gives
/// its builder the hand-written `pages()` and `items()`.
pub fn emit(file: &syn::File, ops: &[Paginated]) -> Result<(Vec<syn::Item>, Vec<syn::Item>)> {
    let mut page_impls = Vec::new();
    let mut builder_impls = Vec::new();
    let mut done = std::collections::BTreeSet::new();
    for op in ops {
        let id = &op.operation_id;
        let page_struct = find_struct(file, &op.page_schema)
            .with_context(|| format!("{id}: no generated types::{}", op.page_schema))?;
        let items_field = format_ident!("{}", snake(&op.items));
        let items_ty = field_type(page_struct, &items_field.to_string())
            .with_context(|| format!("{id}: types::{} has no `{items_field}`", op.page_schema))?;
        let (vec_ty, optional_items) = match generic_arg(items_ty, "Option") {
            Some(inner) => (inner, true),
            None => (items_ty, false),
        };
        let item_ty = generic_arg(vec_ty, "Vec").with_context(|| {
            format!("{id}: types::{}.{items_field} is not a Vec", op.page_schema)
        })?;
        let total = field_type(page_struct, "total_page")
            .with_context(|| format!("{id}: types::{} has no `total_page`", op.page_schema))?;
        let total_expr = if generic_arg(total, "Option").is_some() {
            quote!(self.total_page)
        } else {
            quote!(Some(self.total_page))
        };
        let (slice_expr, items_expr) = if optional_items {
            (
                quote!(self.#items_field.as_deref().unwrap_or_default()),
                quote!(self.#items_field.unwrap_or_default()),
            )
        } else {
            (quote!(&self.#items_field), quote!(self.#items_field))
        };
        let page_ty = format_ident!("{}", op.page_schema);
        if done.insert(op.page_schema.clone()) {
            page_impls.push(syn::parse_quote! {
                impl crate::Page for types::#page_ty {
                    type Item = #item_ty;
                    fn total_pages(&self) -> ::std::option::Option<i64> {
                        #total_expr
                    }
                    fn items(&self) -> &[Self::Item] {
                        #slice_expr
                    }
                    fn into_items(self) -> ::std::vec::Vec<Self::Item> {
                        #items_expr
                    }
                }
            });
        }

        let request_struct = find_struct(file, &op.request)
            .with_context(|| format!("{id}: no generated types::{}", op.request))?;
        let page_field = format_ident!("{}", snake(&op.page));
        let page_ty = field_type(request_struct, &page_field.to_string())
            .with_context(|| format!("{id}: types::{} has no `{page_field}`", op.request))?;
        let first = if generic_arg(page_ty, "Option").is_some() {
            quote!(b.#page_field)
        } else {
            quote!(Some(b.#page_field))
        };
        let request_ty = format_ident!("{}", op.request);
        let builder = format_ident!("{}", pascal(id));
        let doc = format!(
            "`{id}` pages by the body's `{page}`; `{size}` is the body's, and the items are \
             `data.{items}`.",
            page = op.page,
            size = op.size,
            items = op.items
        );
        builder_impls.push(syn::parse_quote! {
            #[doc = #doc]
            impl crate::call::Paginated for args::#builder {
                fn first_page(&self) -> ::std::option::Option<i64> {
                    self.body
                        .as_ref()
                        .ok()
                        .cloned()
                        .and_then(|b| types::#request_ty::try_from(b).ok())
                        .and_then(|b| #first)
                }

                fn at_page(&self, page: i64) -> Self {
                    Self {
                        body: self.body.clone().map(|b| b.#page_field(page)),
                    }
                }
            }
        });
    }
    Ok((page_impls, builder_impls))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(spec: &openapiv3::OpenAPI) -> Result<Vec<Paginated>> {
        paginated(spec, &spec::Api::new(spec)?.by_id())
    }

    fn spec(ext: &str, read_only: bool) -> openapiv3::OpenAPI {
        let text = format!(
            r##"
openapi: 3.0.3
info: {{title: t, version: "1"}}
paths:
  /search:
    post:
      operationId: thing_product_search
      x-pandapon-read-only: {read_only}
      x-pandapon-paginated: {ext}
      requestBody:
        content:
          application/json:
            schema: {{$ref: "#/components/schemas/SearchRequest"}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {{$ref: "#/components/schemas/SearchResponse"}}
components:
  schemas:
    PageInfo:
      type: object
      properties:
        totalPage: {{type: integer, format: int64}}
    SearchRequest:
      type: object
      properties:
        beginPage: {{type: integer}}
        pageSize: {{type: integer}}
    SearchResponse:
      type: object
      properties:
        code: {{type: integer}}
        data: {{$ref: "#/components/schemas/SearchPage"}}
    SearchPage:
      allOf:
        - $ref: "#/components/schemas/PageInfo"
        - type: object
          properties:
            data: {{type: array, items: {{type: string}}}}
"##
        );
        crate::spec::parse_spec(&text).expect("spec")
    }

    #[test]
    fn a_well_marked_operation_is_found() {
        let ops = checked(&spec(
            "{page: beginPage, size: pageSize, items: data}",
            true,
        ))
        .expect("valid");
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].request, "SearchRequest");
        assert_eq!(ops[0].page_schema, "SearchPage");
    }

    #[test]
    fn marks_naming_missing_fields_are_refused() {
        for (ext, read_only, says) in [
            (
                "{page: pageNo, size: pageSize, items: data}",
                true,
                "`pageNo`",
            ),
            (
                "{page: beginPage, size: limit, items: data}",
                true,
                "`limit`",
            ),
            (
                "{page: beginPage, size: pageSize, items: list}",
                true,
                "items `list`",
            ),
            ("{page: beginPage, items: data}", true, "needs `size`"),
            (
                "{page: beginPage, size: pageSize, items: data}",
                false,
                "read-only",
            ),
        ] {
            let err = checked(&spec(ext, read_only)).expect_err(ext).to_string();
            assert!(err.contains(says), "{ext}: {err}");
            assert!(err.contains("thing_product_search"), "{err}");
        }
    }

    #[test]
    fn snake_case_matches_typify() {
        assert_eq!(snake("beginPage"), "begin_page");
        assert_eq!(snake("pageNo"), "page_no");
        assert_eq!(snake("data"), "data");
    }
}
