//! The SDK's generated files: progenitor's client with the passes that
//! seal types, add `build()`, hand every request to the SDK's call step
//! (`call.rs`), implement envelopes and add page streams (`generated.rs`),
//! and the operation table (`operations.rs`).

use anyhow::{Context, Result, bail, ensure};
use progenitor::Generator;
use quote::{ToTokens, format_ident, quote};

use super::call::{self, Rebuilt};
use super::syntax::{find_struct, module_mut, pascal};
use super::{contract, on_unknown, paging, progenitor_err, render, sdk_settings};
use crate::spec::{self, Op};

/// Path of the SDK's generated module (the client and its builders),
/// relative to the workspace root.
pub const SDK_OUT: &str = "crates/pandapon-gen/src/generated.rs";

/// Path of the generated `types` module, in its own crate: the types need
/// serde but not reqwest, so a program's build compiles them while it
/// compiles the HTTP stack instead of after it (BENCHMARKS.md §4).
pub const TYPES_OUT: &str = "crates/pandapon-types/src/generated.rs";

/// The crate [`TYPES_OUT`] belongs to, as the client names it.
const TYPES_CRATE: &str = "pandapon_types";

/// Path of the SDK's generated operation table.
pub const OPS_OUT: &str = "crates/pandapon-gen/src/operations.rs";

/// Generates the SDK's two `generated.rs` files from a spec.
pub fn generate_sdk(spec: &openapiv3::OpenAPI) -> Result<SdkFiles> {
    let api = spec::Api::new(spec)?;
    generate_sdk_files(&api, &on_unknown::annotate(&api)?)
}

/// The whole SDK as one text (the types' file, then the client's), from
/// operations already walked: the form spec-diff reads. It goes through
/// [`generate_sdk_files`], so a spec codegen refuses is refused here too.
pub fn generate_sdk_from(api: &spec::Api<'_>) -> Result<String> {
    let files = generate_sdk_files(api, &on_unknown::annotate(api)?)?;
    Ok(files.types + &files.client)
}

/// The generated SDK as written: the `types` module for `pandapon-types`
/// ([`TYPES_OUT`]) and the rest for `pandapon-gen` ([`SDK_OUT`]), which
/// re-exports the module at the same path.
#[derive(Debug)]
pub struct SdkFiles {
    /// The text of [`TYPES_OUT`].
    pub types: String,
    /// The text of [`SDK_OUT`].
    pub client: String,
}

/// The SDK's generated code, every pass applied, split between the two
/// crates; progenitor reads `annotated`, the spec with each write's
/// on-unknown text in its description ([`on_unknown::annotate`]). In their
/// own crate the types name the hand-written types they use (`ids`,
/// `money`, `time`, `json`, `enums`, all in `pandapon-types` too) by
/// `crate::` instead of `::pandapon_gen::`; the client names the types
/// through `pandapon_types::types`. Fails if the types' code would still
/// name the SDK crate anywhere (a path, an attribute's string, a macro).
pub fn generate_sdk_files(api: &spec::Api<'_>, annotated: &openapiv3::OpenAPI) -> Result<SdkFiles> {
    let mut file = sdk_file(api, annotated)?;
    let at = file
        .items
        .iter()
        .position(|item| matches!(item, syn::Item::Mod(m) if m.ident == "types"))
        .context("progenitor's output has no `types` module")?;
    let types = file.items.remove(at);
    let krate = format_ident!("{TYPES_CRATE}");
    file.items
        .insert(at, syn::parse_quote!(pub use ::#krate::types;));
    Ok(SdkFiles {
        types: own_crate(types)?,
        client: render(&file),
    })
}

/// The `types` module as the file of its own crate: `::pandapon_gen::…`
/// paths become `crate::…`. Fails if the code still names `pandapon_gen`
/// anywhere outside comments: a path without the leading `::`, a
/// `#[serde(with = "…")]` string, tokens inside a macro.
fn own_crate(types: syn::Item) -> Result<String> {
    struct OwnCrate;
    impl syn::visit_mut::VisitMut for OwnCrate {
        fn visit_path_mut(&mut self, path: &mut syn::Path) {
            if path.leading_colon.is_some()
                && path
                    .segments
                    .first()
                    .is_some_and(|s| s.ident == "pandapon_gen")
            {
                path.leading_colon = None;
                path.segments[0].ident = format_ident!("crate");
            }
            syn::visit_mut::visit_path_mut(self, path);
        }
    }
    let mut file: syn::File = syn::parse_quote!(#types);
    syn::visit_mut::VisitMut::visit_file_mut(&mut OwnCrate, &mut file);
    let text = render(&file);
    if let Some(line) = text
        .lines()
        .find(|line| !line.trim_start().starts_with("//") && line.contains("pandapon_gen"))
    {
        bail!(
            "the generated types still name pandapon_gen, which {TYPES_CRATE} cannot depend \
             on: {}",
            line.trim()
        );
    }
    Ok(text)
}

/// The SDK's generated code as one file, every pass applied; every pass
/// reads the operations, by id, and progenitor reads `annotated`.
fn sdk_file(api: &spec::Api<'_>, annotated: &openapiv3::OpenAPI) -> Result<syn::File> {
    let spec = annotated;
    call::check_query_params(api)?;
    let ops = api.by_id();
    let mut generator = Generator::new(&sdk_settings(spec)?);
    let tokens = generator.generate_tokens(spec).map_err(progenitor_err)?;
    let mut file: syn::File = syn::parse2(tokens).context("parsing progenitor's output")?;
    let rebuilt = super::shape(progenitor_passes(&ops, &mut file))?;
    file.items.extend(envelope_impls(&ops, &file, &rebuilt)?);
    super::shape(call::into_calls(&mut file, &rebuilt, |builder| {
        ops.iter()
            .find(|op| *builder == pascal(&op.id))
            .map(|op| call::Row {
                row: format_ident!("{}", op.id.to_uppercase()),
                method: op.method.clone(),
                path: op.path.clone(),
            })
    }))?;
    add_pagination(api.doc, &ops, &mut file)?;
    file.items.extend(super::push::push_event(spec)?);
    let sealed = super::shape(contract::seal_types(&mut file))?;
    ensure!(
        sealed > 0,
        "no types found to seal: has progenitor's output changed?"
    );
    let setters = super::shape(share_setter_conversion(&mut file))?;
    ensure!(
        setters > 0,
        "no type builder setters found: has typify's output changed?"
    );
    let built = super::shape(contract::add_build_methods(&mut file))?;
    ensure!(
        built > 0,
        "no type builders found to give `build()`: has typify's output changed?"
    );
    inline_per_use(&mut file);
    Ok(file)
}

/// The passes over progenitor's requests: its `api-version` header dropped,
/// each `send()` made the step's `request()` (path values encoded, the
/// query added by the step), its runtime crate no longer named. Fails when
/// any count is off: its output has changed.
fn progenitor_passes(ops: &[&Op<'_>], file: &mut syn::File) -> Result<Vec<Rebuilt>> {
    let removed = drop_api_version_header(file);
    let expected = ops.len();
    ensure!(
        removed == expected,
        "expected the `api-version` header in each of the {expected} operations' send(), \
         found it in {removed}"
    );
    let rebuilt = call::own_requests(file)?;
    ensure!(
        rebuilt.len() == expected,
        "expected a `send()` in each of the {expected} operations' builders, found {}",
        rebuilt.len()
    );
    call::drop_progenitor_client(file)?;
    let path_params: usize = ops.iter().map(|op| op.path.matches('{').count()).sum();
    let encoded: usize = rebuilt.iter().map(|r| r.path_values).sum();
    ensure!(
        encoded == path_params,
        "the spec's paths have {path_params} parameters, but {encoded} `encode_path` calls \
         were replaced"
    );
    Ok(rebuilt)
}

/// `pages()` and `items()` on each paginated operation's builder, and `Page`
/// for its page type.
fn add_pagination(spec: &openapiv3::OpenAPI, ops: &[&Op<'_>], file: &mut syn::File) -> Result<()> {
    let paginated = paging::paginated(spec, ops)?;
    let (page_impls, builder_impls) = paging::emit(file, &paginated)?;
    builder_items(file)?.extend(builder_impls);
    file.items.extend(
        syn::parse2::<syn::File>(quote! {
            mod pages {
                // Item types are named as in `types`, where they were generated.
                #[allow(unused_imports)]
                use super::types::*;
                use super::types;
                #(#page_impls)*
            }
        })
        .context("parsing pagination items")?
        .items,
    );
    Ok(())
}

/// Marks every function of every `impl` block in the generated code
/// `#[inline]`: the conversions, defaults and builders of every type and
/// the requests of every operation would otherwise be compiled into this
/// crate whether or not a program uses them; inline, each is compiled
/// where it is called. (Generic functions already are.)
fn inline_per_use(file: &mut syn::File) {
    use syn::visit_mut::VisitMut;
    struct Inline;
    impl VisitMut for Inline {
        fn visit_impl_item_fn_mut(&mut self, f: &mut syn::ImplItemFn) {
            if !f.attrs.iter().any(|a| a.path().is_ident("inline")) {
                f.attrs.push(syn::parse_quote!(#[inline]));
            }
        }
    }
    Inline.visit_file_mut(file);
}

/// What each setter of typify's type builders does with its value,
/// `value.try_into().map_err(|e| format!("error converting supplied value
/// for {field}: {e}"))`, becomes one call to `crate::builders::convert`,
/// which does the same. The message is unchanged; the compiler checks one
/// generic function instead of a closure and a `format!` in each of some
/// 600 setters (the crate's release compile went from 10.2 to 9.6 s in one
/// measurement, on the critical path of every consumer's build: see
/// BENCHMARKS.md §4). Fails on a setter of any other shape, so that a
/// typify upgrade that changes them is seen. Returns how many changed.
fn share_setter_conversion(file: &mut syn::File) -> Result<usize> {
    let mut changed = 0;
    for item in super::syntax::type_builders_mut(file)? {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() {
            continue;
        }
        let builder = imp.self_ty.to_token_stream().to_string();
        for member in &mut imp.items {
            let syn::ImplItem::Fn(f) = member else {
                continue;
            };
            let field = f.sig.ident.to_string();
            let Some(syn::Stmt::Expr(syn::Expr::Assign(assign), _)) = f.block.stmts.first_mut()
            else {
                bail!("types::builder::{builder}::{field} does not start by assigning its field");
            };
            let message = format!("error converting supplied value for {field}: {{e}}");
            ensure!(
                is_typify_conversion(&assign.right, &message),
                "types::builder::{builder}::{field} converts its value in a way this pass \
                 does not know ({}): revisit share_setter_conversion",
                assign.right.to_token_stream()
            );
            *assign.right = syn::parse_quote!(crate::builders::convert(value, #field));
            changed += 1;
        }
    }
    Ok(changed)
}

/// Whether `expr` is typify's `value.try_into().map_err(|e|
/// format!("<message>"))`, with this message.
fn is_typify_conversion(expr: &syn::Expr, message: &str) -> bool {
    let syn::Expr::MethodCall(map_err) = expr else {
        return false;
    };
    let converts = matches!(&*map_err.receiver, syn::Expr::MethodCall(try_into)
        if try_into.method == "try_into"
            && try_into.args.is_empty()
            && super::syntax::is_ident_expr(&try_into.receiver, "value"));
    let [syn::Expr::Closure(closure)] = map_err.args.iter().collect::<Vec<_>>()[..] else {
        return false;
    };
    let takes_e = matches!(closure.inputs.iter().collect::<Vec<_>>()[..],
        [syn::Pat::Ident(p)] if p.ident == "e");
    let formats = matches!(&*closure.body, syn::Expr::Macro(m)
        if m.mac.path.is_ident("format")
            && syn::parse2::<syn::LitStr>(m.mac.tokens.clone())
                .is_ok_and(|lit| lit.value() == message));
    map_err.method == "map_err" && converts && takes_e && formats
}

/// The items of progenitor's `builder` module.
fn builder_items(file: &mut syn::File) -> Result<&mut Vec<syn::Item>> {
    module_mut(file, "builder").context("progenitor's output has no `builder` module")
}

/// Removes the `api-version` header progenitor adds to every request (from
/// the spec's `info.version`, with no setting to turn it off): PandaPon does
/// not document it, and each request should carry only what the API asks
/// for. Returns how many `send()` bodies it was removed from.
fn drop_api_version_header(file: &mut syn::File) -> usize {
    // `header_map.append(HeaderName::from_static("api-version"), …);`
    let is_api_version = |stmt: &syn::Stmt| {
        header_append(stmt).is_some_and(|name| {
            matches!(name, syn::Expr::Call(c)
                if matches!(&*c.func, syn::Expr::Path(p)
                    if p.path.segments.last().is_some_and(|s| s.ident == "from_static"))
                    && matches!(c.args.first(), Some(syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s), ..
                    })) if s.value() == "api-version"))
        })
    };
    let mut removed = 0;
    for item in &mut file.items {
        let syn::Item::Mod(m) = item else { continue };
        let Some((_, items)) = m.content.as_mut().filter(|_| m.ident == "builder") else {
            continue;
        };
        for item in items {
            let syn::Item::Impl(imp) = item else { continue };
            for f in &mut imp.items {
                let syn::ImplItem::Fn(f) = f else { continue };
                if f.sig.ident != "send" {
                    continue;
                }
                let before = f.block.stmts.len();
                f.block.stmts.retain(|s| !is_api_version(s));
                if f.block.stmts.len() < before {
                    removed += 1;
                    // The map was sized with a slot for the removed header;
                    // with none left, `with_capacity(0)` does not allocate.
                    let appended = f.block.stmts.iter().any(|s| header_append(s).is_some());
                    for stmt in &mut f.block.stmts {
                        shrink_header_map(stmt, appended);
                    }
                }
            }
        }
    }
    removed
}

/// The header name of a `header_map.append(name, value);` statement.
fn header_append(stmt: &syn::Stmt) -> Option<&syn::Expr> {
    let syn::Stmt::Expr(syn::Expr::MethodCall(call), _) = stmt else {
        return None;
    };
    (call.method == "append" && super::syntax::is_ident_expr(&call.receiver, "header_map"))
        .then(|| call.args.first())
        .flatten()
}

/// In `let mut header_map = HeaderMap::with_capacity(N);`, takes one off N,
/// and drops the `mut` when nothing is `appended` to the map any more.
fn shrink_header_map(stmt: &mut syn::Stmt, appended: bool) {
    let syn::Stmt::Local(local) = stmt else {
        return;
    };
    let syn::Pat::Ident(binding) = &mut local.pat else {
        return;
    };
    if binding.ident != "header_map" {
        return;
    }
    if !appended {
        binding.mutability = None;
    }
    let Some(init) = local.init.as_mut() else {
        return;
    };
    let syn::Expr::Call(call) = init.expr.as_mut() else {
        return;
    };
    if let Some(syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Int(n),
        ..
    })) = call.args.first_mut()
        && let Ok(size) = n.base10_parse::<usize>()
    {
        *n = syn::LitInt::new(&format!("{}usize", size.saturating_sub(1)), n.span());
    }
}

/// The SDK's `operations.rs`: every operation as data (id, method, path,
/// read-only, query-signed, paginated), the one table the retry logic, the
/// signer, the mocks and the CLI read. It names nothing else in the crate.
pub fn generate_operations(api: &spec::Api<'_>) -> Result<String> {
    let mut rows = Vec::new();
    for op in api.by_id() {
        let (id, method, path) = (&op.id, &op.method, &op.path);
        let read_only = op.read_only()?;
        let query_signed = op.query_signed();
        // Checked against the schemas by `generate_sdk`, from the same spec.
        let paging = op.paginated()?;
        let paged = paging.is_some();
        let page_field = match paging.map(|p| p.page) {
            Some(field) => quote!(::std::option::Option::Some(#field)),
            None => quote!(::std::option::Option::None),
        };
        rows.push((
            id.clone(),
            quote! {
                Operation {
                    id: #id,
                    method: #method,
                    path: #path,
                    read_only: #read_only,
                    query_signed: #query_signed,
                    paginated: #paged,
                    page_field: #page_field,
                }
            },
        ));
    }
    let names: Vec<syn::Ident> = rows
        .iter()
        .map(|(id, _)| format_ident!("{}", id.to_uppercase()))
        .collect();
    let rows = rows.into_iter().map(|(_, row)| row);
    let file: syn::File = syn::parse2(quote! {
        /// One operation of the spec, as data.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub struct Operation {
            /// The operationId: the name of its `Client` method.
            pub id: &'static str,
            /// The HTTP method, upper case.
            pub method: &'static str,
            /// The path template, with `{name}` for path parameters.
            pub path: &'static str,
            /// `x-pandapon-read-only`: safe to re-send after a failure; every
            /// other operation is a write.
            pub read_only: bool,
            /// Authenticated with `timestamp` and `sign` query parameters as
            /// well as the headers (the spec's `logisticsSign` scheme).
            pub query_signed: bool,
            /// `x-pandapon-paginated`: its builder has `pages()` and `items()`.
            pub paginated: bool,
            /// For a paginated operation, the request body's page-number field
            /// (its JSON name, `x-pandapon-paginated`'s `page`).
            pub page_field: ::std::option::Option<&'static str>,
        }

        /// Each operation's row by its id in upper case: what each generated
        /// call hands the call step, with no lookup.
        pub(crate) mod by_id {
            use super::Operation;
            #(pub(crate) const #names: Operation = #rows;)*
        }

        /// Every operation of the spec, sorted by id.
        pub const OPERATIONS: &[Operation] = &[#(by_id::#names),*];

        /// The operation named `id`, if the spec has it.
        pub fn operation(id: &str) -> ::std::option::Option<&'static Operation> {
            OPERATIONS
                .binary_search_by(|op| op.id.cmp(id))
                .ok()
                .map(|i| &OPERATIONS[i])
        }
    })
    .context("parsing the operation table")?;
    Ok(render(&file))
}

/// The `T` of an `Option<T>` type, or the type itself.
fn option_inner(ty: &syn::Type) -> &syn::Type {
    if let syn::Type::Path(p) = ty
        && let Some(last) = p.path.segments.last()
        && last.ident == "Option"
        && let syn::PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(syn::GenericArgument::Type(inner)) = args.args.first()
    {
        return inner;
    }
    ty
}

/// Whether `ty` is `serde_json::Value` (a free-form payload).
fn is_json_value(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Value"))
}

/// `impl Envelope` for each response type, in a module of their own.
/// Fails when a builder's request answers with another type than its
/// operation's 200 response.
fn envelope_impls(
    ops: &[&Op<'_>],
    file: &syn::File,
    rebuilt: &[Rebuilt],
) -> Result<Vec<syn::Item>> {
    let mut items = Vec::new();
    let mut done = std::collections::BTreeSet::new();
    for op in ops {
        let (op_id, schema) = (&op.id, op.success_schema()?);
        let Some(st) = find_struct(file, &schema) else {
            bail!("{op_id}: progenitor generated no struct types::{schema}");
        };
        let field = |name: &str| {
            st.fields
                .iter()
                .find(|f| f.ident.as_ref().is_some_and(|i| i == name))
        };
        if field("code").is_none() {
            bail!("{op_id}: types::{schema} has no `code`: use allOf with Envelope");
        }
        let meta = |name: &str| {
            let ident = format_ident!("{name}");
            match field(name) {
                Some(_) => quote!(self.#ident),
                None => quote!(::std::option::Option::None),
            }
        };
        let (request_id, develop_id, msg) = (meta("request_id"), meta("develop_id"), meta("msg"));
        let response = format_ident!("{schema}");
        let builder = format_ident!("{}", pascal(op_id));
        let (data_ty, data_expr) = match field("data") {
            // A free-form payload has no "missing": absent is JSON null.
            Some(f) if is_json_value(option_inner(&f.ty)) => {
                let inner = option_inner(&f.ty);
                (quote!(#inner), quote!(Some(self.data.unwrap_or_default())))
            }
            Some(f) if std::ptr::eq(option_inner(&f.ty), &f.ty) => {
                // Not an Option (typify defaults absent arrays to empty).
                let ty = &f.ty;
                (quote!(#ty), quote!(Some(self.data)))
            }
            Some(f) => {
                let inner = option_inner(&f.ty);
                (quote!(#inner), quote!(self.data))
            }
            None => (quote!(()), quote!(Some(()))),
        };
        let Some(request) = rebuilt.iter().find(|r| r.builder == builder) else {
            bail!("{op_id}: no builder::{builder} with a `send()` to take over");
        };
        ensure!(
            is_types_path(&request.response, &response),
            "{op_id}: builder::{builder} answers with {}, the spec's 200 response is {schema}",
            request.response.to_token_stream()
        );
        if done.insert(schema.clone()) {
            let tokens = quote! {
                impl crate::envelope::Envelope for types::#response {
                    type Data = #data_ty;
                    fn into_parts(self) -> (crate::envelope::Meta, ::std::option::Option<Self::Data>) {
                        (
                            crate::envelope::Meta {
                                request_id: #request_id,
                                code: self.code,
                                develop_id: #develop_id,
                                msg: #msg,
                            },
                            #data_expr,
                        )
                    }
                }
            };
            let parsed: syn::File = syn::parse2(tokens).context("parsing envelope impls")?;
            items.extend(parsed.items);
        }
    }
    // Response data types are named relative to `types`, so the impls live
    // in a module that sees them.
    let tokens = quote! {
        mod envelopes {
            #[allow(unused_imports)]
            use super::types::*;
            use super::types;
            #(#items)*
        }
    };
    let parsed: syn::File = syn::parse2(tokens).context("parsing envelope module")?;
    Ok(parsed.items)
}

/// Whether `ty` is `types::<name>`.
fn is_types_path(ty: &syn::Type, name: &syn::Ident) -> bool {
    matches!(ty, syn::Type::Path(p) if p.qself.is_none()
        && p.path.leading_colon.is_none()
        && p.path.segments.len() == 2
        && p.path.segments[0].ident == "types"
        && p.path.segments[1].ident == *name
        && p.path.segments.iter().all(|s| s.arguments.is_none()))
}

#[cfg(test)]
mod tests {
    use super::{own_crate, share_setter_conversion};
    use std::collections::BTreeSet;

    /// The names a `use` tree brings in (the last segment, or the rename),
    /// for trees under `prefix` (`None`: any).
    fn use_names(tree: &syn::UseTree, prefix: Option<&str>, out: &mut BTreeSet<String>) {
        match tree {
            syn::UseTree::Path(p) => match prefix {
                Some(want) if p.ident != want => {}
                _ => use_names(&p.tree, None, out),
            },
            syn::UseTree::Name(n) if prefix.is_none() => {
                out.insert(n.ident.to_string());
            }
            syn::UseTree::Rename(r) if prefix.is_none() => {
                out.insert(r.rename.to_string());
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    use_names(tree, prefix, out);
                }
            }
            _ => {}
        }
    }

    fn parse(rel: &str) -> syn::File {
        let path = crate::spec::workspace_root().join(rel);
        syn::parse_file(&std::fs::read_to_string(&path).expect("reads")).expect("parses")
    }

    fn public(item_vis: &syn::Visibility, attrs: &[syn::Attribute]) -> bool {
        let hidden = attrs.iter().any(|a| {
            matches!(&a.meta, syn::Meta::List(l) if l.path.is_ident("doc")
                && l.tokens.to_string() == "hidden")
        });
        matches!(item_vis, syn::Visibility::Public(_)) && !hidden
    }

    /// cargo-semver-checks does not follow a re-export into another crate,
    /// so an item of `pandapon-types` that `pandapon-gen` stopped
    /// re-exporting would be a break no semver script sees: this test
    /// sees it.
    #[test]
    fn pandapon_gen_re_exports_every_documented_public_item_of_pandapon_types() {
        let mut offered = BTreeSet::new();
        for item in parse("crates/pandapon-types/src/lib.rs").items {
            match item {
                syn::Item::Mod(m) if public(&m.vis, &m.attrs) => {
                    offered.insert(m.ident.to_string());
                }
                syn::Item::Use(u) if public(&u.vis, &u.attrs) => {
                    use_names(&u.tree, None, &mut offered);
                }
                syn::Item::Use(_) | syn::Item::Mod(_) => {}
                other => {
                    let vis = match &other {
                        syn::Item::Struct(i) => &i.vis,
                        syn::Item::Enum(i) => &i.vis,
                        syn::Item::Fn(i) => &i.vis,
                        syn::Item::Const(i) => &i.vis,
                        syn::Item::Static(i) => &i.vis,
                        syn::Item::Trait(i) => &i.vis,
                        syn::Item::Type(i) => &i.vis,
                        _ => &syn::Visibility::Inherited,
                    };
                    assert!(
                        matches!(vis, syn::Visibility::Inherited),
                        "pandapon-types' lib.rs should make items public only through modules \
                         and re-exports, which this test reads: {}",
                        quote::ToTokens::to_token_stream(&other)
                    );
                }
            }
        }
        assert!(
            offered.contains("types") && offered.contains("money"),
            "{offered:?}"
        );
        // Re-exported by lib.rs directly, or by `generated.rs` (`types`)
        // and passed on by lib.rs.
        let uses = |rel: &str, under: &str| {
            let mut names = BTreeSet::new();
            for item in parse(rel).items {
                if let syn::Item::Use(u) = item
                    && public(&u.vis, &u.attrs)
                {
                    use_names(&u.tree, Some(under), &mut names);
                }
            }
            names
        };
        let lib = "crates/pandapon-gen/src/lib.rs";
        let mut re_exported = uses(lib, "pandapon_types");
        let passed_on = uses(lib, "generated");
        re_exported.extend(
            uses(super::SDK_OUT, "pandapon_types")
                .intersection(&passed_on)
                .cloned(),
        );
        let missing: Vec<_> = offered.difference(&re_exported).collect();
        assert!(
            missing.is_empty(),
            "pandapon-gen does not re-export these items of pandapon-types: {missing:?}"
        );
    }

    #[test]
    fn the_types_name_their_own_crate_and_anything_else_naming_the_sdk_is_refused() {
        let text = own_crate(syn::parse_quote! {
            pub mod types {
                pub struct Order {
                    pub id: ::pandapon_gen::IntegerId,
                    pub amount: Option<::pandapon_gen::money::Fen>,
                }
            }
        })
        .expect("rewritten");
        assert!(text.contains("pub id: crate::IntegerId,"), "{text}");
        assert!(text.contains("Option<crate::money::Fen>"), "{text}");
        assert!(!text.contains("pandapon_gen"), "{text}");
        for stray in [
            quote::quote!(pub other: pandapon_gen::StringId,),
            quote::quote!(#[serde(with = "::pandapon_gen::money::fen")] pub fen: i64,),
        ] {
            let err = own_crate(syn::parse_quote! {
                pub mod types { pub struct Order { #stray } }
            })
            .expect_err("names the SDK");
            assert!(err.to_string().contains("still name pandapon_gen"), "{err}");
        }
    }

    fn file(setter: proc_macro2::TokenStream) -> syn::File {
        syn::parse_quote! {
            pub mod types {
                pub mod builder {
                    impl Item {
                        pub fn quantity<T>(mut self, value: T) -> Self {
                            #setter;
                            self
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn typify_setters_share_one_conversion_and_others_are_refused() {
        let mut typify = file(quote::quote! {
            self.quantity = value
                .try_into()
                .map_err(|e| format!("error converting supplied value for quantity: {e}"))
        });
        assert_eq!(
            share_setter_conversion(&mut typify).expect("known shape"),
            1
        );
        let text = quote::ToTokens::to_token_stream(&typify).to_string();
        assert!(
            text.contains("crate :: builders :: convert (value , \"quantity\")"),
            "{text}"
        );
        let mut other = file(quote::quote! {
            self.quantity = value.try_into().map_err(|e| format!("quantity: {e}"))
        });
        let err = share_setter_conversion(&mut other).expect_err("another message");
        assert!(err.to_string().contains("Item::quantity"), "{err}");
    }
}
