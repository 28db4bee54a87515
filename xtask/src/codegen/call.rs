//! The SDK's call surface: progenitor builds each operation's request (its
//! types, argument handling and URL), and this pass hands that request to
//! the SDK's own call step.
//!
//! Each builder's `send()` from progenitor becomes a private `request()`
//! that stops where the request is built (progenitor's hooks, response
//! matching and error types are dropped), with every path value encoded by
//! `crate::step::path::segment` and the URL joined to the base URL the
//! client parsed once (`crate::step::url`) ([`own_requests`]). Then each
//! builder becomes the hand-written `crate::Call` over the operation's
//! arguments ([`into_calls`]): that `request()` becomes `args::B::build()`,
//! and `args::B` implements `crate::call::Arguments` with the operation's
//! response type and its row of the operation table. `call`, `send`, their
//! `_with` forms and the page streams are `Call`'s, written once.

use anyhow::{Context, Result, bail, ensure};
use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident};
use syn::punctuated::Punctuated;
use syn::visit_mut::VisitMut;

use super::syntax::{
    binding, ends_with_call, generic_args, is_field_of, is_ident_expr, names_ident, path_is,
};

/// What the pass did to one builder.
pub struct Rebuilt {
    /// The builder's name.
    pub builder: syn::Ident,
    /// The response type its request answers with (`types::…`).
    pub response: syn::Type,
    /// Path values it now encodes.
    pub path_values: usize,
}

/// Turns every builder's `send()` in progenitor's `builder` module into
/// `request()`. Fails if a `send()` does not have progenitor's shape.
pub fn own_requests(file: &mut syn::File) -> Result<Vec<Rebuilt>> {
    let Some(items) = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "builder" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    }) else {
        bail!("progenitor's output has no `builder` module");
    };
    let mut rebuilt = Vec::new();
    for item in items.iter_mut() {
        let syn::Item::Impl(imp) = item else { continue };
        let syn::Type::Path(self_ty) = &*imp.self_ty else {
            continue;
        };
        let Some(builder) = self_ty.path.segments.last().map(|s| s.ident.clone()) else {
            continue;
        };
        for f in &mut imp.items {
            let syn::ImplItem::Fn(f) = f else { continue };
            if f.sig.ident != "send" {
                keep_conversion_error(f)
                    .with_context(|| format!("builder::{builder}::{}", f.sig.ident))?;
                continue;
            }
            let response = response_type(&f.sig.output)
                .with_context(|| format!("builder::{builder}::send: unexpected return type"))?;
            let path_values = into_request(f).with_context(|| format!("builder::{builder}"))?;
            rebuilt.push(Rebuilt {
                builder: builder.clone(),
                response,
                path_values,
            });
        }
    }
    Ok(rebuilt)
}

/// Removes what progenitor's output takes from progenitor-client once every
/// request is the step's: its imports (at the top and in `builder`) and the
/// `ClientInfo` and `ClientHooks` impls its `send()` used. The SDK does not
/// depend on progenitor-client; fails if anything still names it.
pub fn drop_progenitor_client(file: &mut syn::File) -> Result<()> {
    let names_it =
        |tokens: &dyn ToTokens| names_ident(tokens.to_token_stream(), "progenitor_client");
    file.items.retain(|item| match item {
        syn::Item::Use(u) => !names_it(u),
        syn::Item::Impl(imp) => !imp.trait_.as_ref().is_some_and(|(path, ..)| {
            let name = path.segments.last().map(|s| s.ident.to_string());
            matches!(name.as_deref(), Some("ClientInfo" | "ClientHooks"))
        }),
        _ => true,
    });
    let Some(builders) = super::syntax::module_mut(file, "builder") else {
        bail!("progenitor's output has no `builder` module");
    };
    builders.retain(|item| {
        !matches!(item, syn::Item::Use(u)
        if matches!(&u.tree, syn::UseTree::Path(p) if p.ident == "super"
            && matches!(&*p.tree, syn::UseTree::Group(_))))
    });
    ensure!(
        !names_it(&*file),
        "the generated code still names progenitor_client: revisit \
         xtask/src/codegen/call.rs"
    );
    Ok(())
}

/// progenitor's parameter setters drop the conversion's error and keep
/// "conversion to `:: pandapon_gen :: StringId` for refund_id failed". This
/// keeps it, so that a refused value says what was expected:
/// `refund_id: an id must be decimal digits, got "TQ1"`. The setter then
/// asks that the error can be shown, as progenitor's type builders do.
/// (`body` setters are left alone: they already say why, or take types
/// whose conversion cannot fail.)
fn keep_conversion_error(f: &mut syn::ImplItemFn) -> Result<()> {
    let name = f.sig.ident.to_string();
    if name == "body" {
        return Ok(());
    }
    let Some(syn::Stmt::Expr(syn::Expr::Assign(assign), _)) = f.block.stmts.first_mut() else {
        return Ok(());
    };
    let syn::Expr::MethodCall(map_err) = &mut *assign.right else {
        return Ok(());
    };
    let dropped = map_err.method == "map_err"
        && map_err.args.len() == 1
        && matches!(map_err.args.first(), Some(syn::Expr::Closure(c))
            if c.inputs.len() == 1 && matches!(c.inputs.first(), Some(syn::Pat::Wild(_))));
    if !dropped {
        return Ok(());
    }
    let [syn::GenericParam::Type(param)] = f.sig.generics.params.iter().collect::<Vec<_>>()[..]
    else {
        bail!("a setter that drops its conversion error has one type parameter");
    };
    let param = param.ident.clone();
    let message = format!("{name}: {{e}}");
    map_err.args = syn::parse_quote!(|e| format!(#message));
    f.sig
        .generics
        .make_where_clause()
        .predicates
        .push(syn::parse_quote!(#param::Error: ::std::fmt::Display));
    Ok(())
}

/// The `T` of `Result<ResponseValue<T>, Error<()>>`.
fn response_type(output: &syn::ReturnType) -> Option<syn::Type> {
    let syn::ReturnType::Type(_, ty) = output else {
        return None;
    };
    let result = generic_args(ty, "Result")?;
    let value = generic_args(result.first()?, "ResponseValue")?;
    value.first().cloned()
}

/// Rewrites one `send()` into `request()`; returns how many path values it
/// encodes.
fn into_request(f: &mut syn::ImplItemFn) -> Result<usize> {
    // `let info = OperationInfo { … };`: where progenitor's hooks start.
    let built = f
        .block
        .stmts
        .iter()
        .position(|s| {
            binding(s).is_some_and(|(name, _, init)| {
                name == "info"
                    && matches!(init, Some(syn::Expr::Struct(st))
                        if st.path.segments.last().is_some_and(|l| l.ident == "OperationInfo"))
            })
        })
        .context("no `let info = OperationInfo { … }` after the request is built")?;
    ensure!(
        f.block.stmts[..built]
            .iter()
            .any(|s| request_binding(s).is_some()),
        "no `let mut request = ….build()?` before the hooks"
    );
    f.block.stmts.truncate(built);
    f.block
        .stmts
        .push(syn::Stmt::Expr(syn::parse_quote!(Ok(request)), None));
    // Its doc is the operation's (`into_calls`).
    f.attrs.retain(|a| !a.path().is_ident("doc"));
    // Inline, as the call surface is: compiled in the crates that call the
    // operation, not for all of them in this one.
    f.attrs.push(syn::parse_quote!(#[inline]));
    f.vis = syn::Visibility::Inherited;
    f.sig.asyncness = None;
    f.sig.ident = format_ident!("request");
    f.sig.output = syn::parse_quote!(-> crate::step::Built);
    let mut rewrite = RewriteUrl::default();
    rewrite.visit_block_mut(&mut f.block);
    if let Some(e) = rewrite.failed {
        return Err(e.context("the URL's `format!` is not progenitor's shape"));
    }
    own_query(f)?;
    ensure!(
        rewrite.bases == 1 && rewrite.urls == 1,
        "expected one URL built from `client.baseurl` and used once, found {} and {}",
        rewrite.bases,
        rewrite.urls
    );
    Ok(rewrite.segments)
}

/// Refuses a query parameter whose schema is not a string, an integer or a
/// boolean (directly or through a `$ref`): `step::query` sends only those,
/// as PandaPon shows them. A list or an object has no documented query
/// form, and a float's text would be a guess.
pub fn check_query_params(api: &crate::spec::Api<'_>) -> Result<()> {
    use openapiv3::{ParameterSchemaOrContent, ReferenceOr, SchemaKind, Type};
    for op in api.ops() {
        for param in &op.op.parameters {
            let ReferenceOr::Item(openapiv3::Parameter::Query { parameter_data, .. }) = param
            else {
                continue;
            };
            let name = &parameter_data.name;
            let ParameterSchemaOrContent::Schema(schema) = &parameter_data.format else {
                bail!("{}: query parameter `{name}` has no schema", op.id);
            };
            let schema = match schema {
                ReferenceOr::Item(schema) => schema,
                ReferenceOr::Reference { reference } => crate::spec::component(api.doc, reference)
                    .with_context(|| format!("{}: `{name}` names {reference}", op.id))?,
            };
            ensure!(
                matches!(
                    schema.schema_kind,
                    SchemaKind::Type(Type::String(_) | Type::Integer(_) | Type::Boolean(_))
                ),
                "{}: query parameter `{name}` must be a string, an integer or a boolean \
                 (the forms `step::query` sends)",
                op.id
            );
        }
    }
    Ok(())
}

/// progenitor adds each query parameter with reqwest's `query()` and
/// progenitor-client's serializer; here each becomes
/// `crate::step::query(&mut request, name, &value)?` once the request is
/// built, and progenitor's error type the step's `Unbuilt`. Neither
/// progenitor-client nor reqwest's `query` feature is compiled.
fn own_query(f: &mut syn::ImplItemFn) -> Result<()> {
    #[derive(Default)]
    struct Rewrite {
        params: Vec<(syn::Expr, syn::Expr)>,
        bad: Option<String>,
    }
    impl VisitMut for Rewrite {
        fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
            syn::visit_mut::visit_expr_mut(self, expr);
            if let syn::Expr::MethodCall(call) = expr
                && call.method == "query"
            {
                let param = match call.args.first() {
                    Some(syn::Expr::Reference(r)) => match &*r.expr {
                        syn::Expr::Call(c) if c.args.len() == 2 => {
                            let new_param = matches!(&*c.func, syn::Expr::Path(p)
                                if path_is(&p.path, &["progenitor_client", "QueryParam", "new"]));
                            new_param.then(|| (c.args[0].clone(), c.args[1].clone()))
                        }
                        _ => None,
                    },
                    _ => None,
                };
                match param {
                    Some(param) if call.args.len() == 1 => {
                        self.params.push(param);
                        *expr = (*call.receiver).clone();
                    }
                    _ => self.bad = Some(call.to_token_stream().to_string()),
                }
            }
            if let syn::Expr::Path(p) = expr
                && p.path.segments.len() == 2
                && p.path.segments[0].ident == "Error"
            {
                let variant = &p.path.segments[1].ident;
                *expr = syn::parse_quote!(crate::step::Unbuilt::#variant);
            }
        }
    }
    let mut rewrite = Rewrite::default();
    rewrite.visit_block_mut(&mut f.block);
    if let Some(bad) = rewrite.bad {
        bail!("a query parameter of a shape this pass does not know: {bad}");
    }
    let built = f
        .block
        .stmts
        .iter()
        .position(|s| request_binding(s).is_some())
        .context("no `let mut request = ….build()?`")?;
    for (offset, (name, value)) in rewrite.params.into_iter().enumerate() {
        f.block.stmts.insert(
            built + 1 + offset,
            syn::parse_quote!(crate::step::query(&mut request, #name, #value)?;),
        );
    }
    let tokens = f.block.to_token_stream();
    ensure!(
        !names_ident(tokens.clone(), "Error") && !names_ident(tokens.clone(), "progenitor_client"),
        "progenitor's error type or client crate is still named: {tokens}"
    );
    Ok(())
}

/// `let mut request = ….build()?;`: where progenitor's request is built.
fn request_binding(stmt: &syn::Stmt) -> Option<&syn::Expr> {
    let (name, mutable, init) = binding(stmt)?;
    (name == "request" && mutable && init.is_some_and(|e| ends_with_call(e, "build")))
        .then_some(init)
        .flatten()
}

/// Rewrites how progenitor's request names its URL:
///
/// - `encode_path(v)`, which leaves `\` and whole `.` and `..` values
///   alone, becomes `crate::step::path::segment(v)?`, which encodes them or
///   refuses them;
/// - `format!("{}/v2/…", client.baseurl, …)` loses the base URL, leaving the
///   path, and the request takes `crate::step::url(&client.inner, &url)`:
///   the base URL parsed once when the client was built, with this path.
///
/// The `format!` arguments are parsed, rewritten and put back.
#[derive(Default)]
struct RewriteUrl {
    segments: usize,
    bases: usize,
    urls: usize,
    /// Why a `let url = format!(…)` could not be rewritten, if one could not.
    failed: Option<anyhow::Error>,
}

impl RewriteUrl {
    fn rewrite_format(&mut self, tokens: TokenStream) -> Result<TokenStream> {
        let parser = Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        let args = syn::parse::Parser::parse2(parser, tokens)?;
        let mut out = Punctuated::<syn::Expr, syn::Token![,]>::new();
        let mut args = args.into_iter();
        let Some(syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(template),
            ..
        })) = args.next()
        else {
            bail!("a format! whose first argument is not its template");
        };
        let mut template = template.value();
        let first = args.next();
        match &first {
            Some(base) if is_field_of(base, "client", "baseurl") => {
                template = template
                    .strip_prefix("{}")
                    .context("the URL template does not start with the base URL")?
                    .to_owned();
                self.bases += 1;
            }
            _ => bail!("a format! that does not start with `client.baseurl`"),
        }
        out.push(syn::parse_quote!(#template));
        for mut arg in args {
            if let syn::Expr::Call(call) = &arg
                && let syn::Expr::Path(func) = &*call.func
                && func.path.is_ident("encode_path")
            {
                let value = &call.args;
                arg = syn::parse_quote!(crate::step::path::segment(#value)?);
                self.segments += 1;
            }
            out.push(arg);
        }
        Ok(out.into_token_stream())
    }
}

impl VisitMut for RewriteUrl {
    fn visit_local_mut(&mut self, local: &mut syn::Local) {
        let is_url = matches!(&local.pat, syn::Pat::Ident(p) if p.ident == "url");
        if is_url
            && let Some(init) = &mut local.init
            && let syn::Expr::Macro(m) = &mut *init.expr
            && m.mac.path.is_ident("format")
        {
            match self.rewrite_format(m.mac.tokens.clone()) {
                // A path with no values is a `&'static str`, not a new String.
                Ok(tokens) => match syn::parse2::<syn::LitStr>(tokens.clone()) {
                    Ok(path) => *init.expr = syn::parse_quote!(#path),
                    Err(_) => m.mac.tokens = tokens,
                },
                Err(e) => {
                    self.failed.get_or_insert(e);
                }
            }
        }
        syn::visit_mut::visit_local_mut(self, local);
    }

    fn visit_expr_method_call_mut(&mut self, call: &mut syn::ExprMethodCall) {
        syn::visit_mut::visit_expr_method_call_mut(self, call);
        // `client.client`: the receiver of the method that starts the chain.
        let on_client = is_field_of(&call.receiver, "client", "client");
        let takes_url =
            call.args.len() == 1 && call.args.first().is_some_and(|a| is_ident_expr(a, "url"));
        if on_client && takes_url {
            call.args = syn::parse_quote!(crate::step::url(&client.inner, &url));
            self.urls += 1;
        }
    }
}

/// Turns each operation's builder into the SDK's generic `Call` over the
/// operation's arguments, so that the call surface (`call`, `send`, their
/// `_with` forms, `pages`, `items`, and their docs) is written once, in
/// `crates/pandapon-gen/src/call.rs`, and what is generated per operation
/// is only what differs:
///
/// - progenitor's `struct B<'a> { client, fields… }` becomes
///   `builder::args::B { fields… }`, and `builder::B<'a>` the type alias
///   `crate::Call<'a, args::B>`;
/// - its `new(client)` makes a `Call` of the client and the arguments, and
///   its setters set `self.args.<field>`;
/// - its `request()` becomes `args::B::build(self, client)`, and
///   `args::B` implements `crate::call::Arguments` with the operation's
///   response type, its rules from its row of the operation table
///   (`row_of`), and its request.
///
/// Items are found by name and shape; anything else fails, naming what it
/// expected, so that a progenitor upgrade that changes them is seen here.
pub fn into_calls(
    file: &mut syn::File,
    rebuilt: &[Rebuilt],
    row_of: impl Fn(&syn::Ident) -> Option<Row>,
) -> Result<()> {
    let items = super::syntax::module_mut(file, "builder")
        .context("progenitor's output has no `builder` module")?;
    let mut args = Vec::new();
    let mut added = Vec::new();
    for Rebuilt {
        builder, response, ..
    } in rebuilt
    {
        let Row { row, method, path } =
            row_of(builder).with_context(|| format!("builder::{builder}: no operation"))?;
        let at = items
            .iter()
            .position(|item| matches!(item, syn::Item::Struct(st) if st.ident == *builder))
            .with_context(|| format!("no `struct {builder}` in progenitor's `builder` module"))?;
        let syn::Item::Struct(st) = &items[at] else {
            unreachable!("found above");
        };
        let (arguments, fields) = arguments_struct(st)
            .with_context(|| format!("builder::{builder}: not progenitor's builder shape"))?;
        let docs: Vec<&syn::Attribute> = st
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .collect();
        items[at] = syn::parse_quote! {
            #(#docs)*
            pub type #builder<'a> = crate::Call<'a, args::#builder>;
        };
        args.push(arguments);
        let mut request = None;
        for item in items.iter_mut() {
            let syn::Item::Impl(imp) = item else { continue };
            if imp.trait_.is_some()
                || super::syntax::self_name(imp).as_deref() != Some(&builder.to_string())
            {
                continue;
            }
            let mut kept = Vec::new();
            for member in std::mem::take(&mut imp.items) {
                let syn::ImplItem::Fn(mut f) = member else {
                    bail!("builder::{builder}: an impl item that is not a function");
                };
                let name = f.sig.ident.to_string();
                let context = || format!("builder::{builder}::{name}");
                match name.as_str() {
                    "new" => construct_call(&mut f, builder).with_context(context)?,
                    "request" => {
                        ensure!(request.is_none(), "builder::{builder}: two `request()`");
                        take_client_param(&mut f).with_context(context)?;
                        // `build`: `request` is the name of the trait's method.
                        f.sig.ident = format_ident!("build");
                        let doc = format!(
                            "The `{method}` request to `{path}`, built from the values given: \
                             checked, with every path value encoded as one segment, not yet \
                             signed."
                        );
                        f.attrs.retain(|a| !a.path().is_ident("doc"));
                        f.attrs.insert(0, syn::parse_quote!(#[doc = #doc]));
                        request = Some(f);
                        continue;
                    }
                    _ => {
                        let mut to_args = SetArgs {
                            fields: &fields,
                            changed: 0,
                        };
                        to_args.visit_block_mut(&mut f.block);
                        ensure!(
                            to_args.changed > 0,
                            "builder::{builder}::{name} sets none of the builder's fields"
                        );
                    }
                }
                kept.push(syn::ImplItem::Fn(f));
            }
            imp.items = kept;
        }
        let request = request.with_context(|| format!("builder::{builder}: no `request()`"))?;
        added.push(syn::parse_quote! {
            impl args::#builder {
                #request
            }
        });
        added.push(syn::parse_quote! {
            impl crate::call::sealed::Sealed for args::#builder {}
        });
        added.push(syn::parse_quote! {
            impl crate::call::Arguments for args::#builder {
                type Response = #response;
                fn rules(&self) -> crate::step::Rules {
                    crate::step::Rules::of(&crate::operations::by_id::#row)
                }
                fn request(
                    self,
                    client: &super::Client,
                ) -> ::std::result::Result<::reqwest::Request, crate::Error> {
                    crate::call::built(self.build(client))
                }
            }
        });
    }
    items.extend(added);
    items.push(syn::parse_quote! {
        /// The arguments of each operation: what its builder's setters set,
        /// and how they become its request
        /// ([`Arguments`](crate::Arguments)). The builder itself
        /// (`super::AlibabaOrderCancel<'a>`, say) is
        /// [`Call`](crate::Call) over them.
        pub mod args {
            #[allow(unused_imports)]
            use super::types;
            #(#args)*
        }
    });
    Ok(())
}

/// An operation as [`into_calls`] needs it: the name of its row of the
/// operation table, its method and its path.
pub struct Row {
    /// `ALIBABA_ORDER_CANCEL`.
    pub row: syn::Ident,
    /// `POST`.
    pub method: String,
    /// `/v2/alibaba/order/cancel`.
    pub path: String,
}

/// The arguments struct of progenitor's builder `st` (`struct B<'a> {
/// client: &'a super::Client, fields… }`): the same struct without the
/// lifetime and the client, its fields visible to the builder's setters;
/// and the fields' names.
fn arguments_struct(st: &syn::ItemStruct) -> Result<(syn::ItemStruct, Vec<syn::Ident>)> {
    let lifetime_only = st.generics.params.len() == 1
        && matches!(
            st.generics.params.first(),
            Some(syn::GenericParam::Lifetime(_))
        );
    ensure!(lifetime_only, "expected one lifetime parameter");
    let syn::Fields::Named(named) = &st.fields else {
        bail!("expected named fields");
    };
    let mut fields = named.named.clone().into_iter();
    let client = fields.next().context("expected a `client` field first")?;
    ensure!(
        client.ident.as_ref().is_some_and(|i| i == "client") && is_client_ref(&client.ty),
        "expected `client: &'a super::Client` first"
    );
    let fields: Vec<syn::Field> = fields
        .map(|mut f| {
            f.vis = syn::parse_quote!(pub(super));
            f
        })
        .collect();
    let names = fields.iter().filter_map(|f| f.ident.clone()).collect();
    let ident = &st.ident;
    let derives = st.attrs.iter().filter(|a| a.path().is_ident("derive"));
    let doc = format!("The arguments of [`{ident}`](super::{ident}).");
    let arguments = syn::parse_quote! {
        #[doc = #doc]
        #(#derives)*
        pub struct #ident {
            #(#fields,)*
        }
    };
    Ok((arguments, names))
}

/// Whether `ty` is `&'a super::Client`.
fn is_client_ref(ty: &syn::Type) -> bool {
    let syn::Type::Reference(r) = ty else {
        return false;
    };
    let syn::Type::Path(p) = &*r.elem else {
        return false;
    };
    r.mutability.is_none()
        && r.lifetime.is_some()
        && p.qself.is_none()
        && p.path.segments.len() == 2
        && p.path.segments[0].ident == "super"
        && p.path.segments[1].ident == "Client"
}

/// progenitor's `new(client: &'a super::Client) -> Self { Self { client:
/// client, fields… } }` becomes `crate::Call::of(client, args::B { fields…
/// })`.
fn construct_call(f: &mut syn::ImplItemFn, builder: &syn::Ident) -> Result<()> {
    let takes_client = f.sig.inputs.len() == 1
        && matches!(f.sig.inputs.first(), Some(syn::FnArg::Typed(t))
            if matches!(&*t.pat, syn::Pat::Ident(p) if p.ident == "client")
                && is_client_ref(&t.ty));
    ensure!(takes_client, "expected `new(client: &'a super::Client)`");
    let [syn::Stmt::Expr(syn::Expr::Struct(literal), None)] = f.block.stmts.as_slice() else {
        bail!("expected a body of one `Self {{ client: client, … }}`");
    };
    let mut literal = literal.clone();
    ensure!(
        literal.path.is_ident("Self") && literal.rest.is_none(),
        "expected `Self {{ … }}`"
    );
    let before = literal.fields.len();
    literal.fields = literal
        .fields
        .into_iter()
        .filter(|fv| !matches!(&fv.member, syn::Member::Named(m) if m == "client"))
        .collect();
    ensure!(
        literal.fields.len() + 1 == before,
        "expected one `client` field in `Self {{ … }}`"
    );
    literal.path = syn::parse_quote!(args::#builder);
    f.block = syn::parse_quote!({ crate::Call::of(client, #literal) });
    Ok(())
}

/// `request(self)`, whose first statement is `let Self { client, fields… } =
/// self;`, becomes `request(self, client: &super::Client)` over the
/// arguments: the `client` binding moves from the pattern to the
/// parameters.
fn take_client_param(f: &mut syn::ImplItemFn) -> Result<()> {
    let Some(syn::Stmt::Local(local)) = f.block.stmts.first_mut() else {
        bail!("expected `let Self {{ client, … }} = self;` first");
    };
    let syn::Pat::Struct(pattern) = &mut local.pat else {
        bail!("expected `let Self {{ client, … }} = self;` first");
    };
    let before = pattern.fields.len();
    pattern.fields = std::mem::take(&mut pattern.fields)
        .into_iter()
        .filter(|fp| !matches!(&fp.member, syn::Member::Named(m) if m == "client"))
        .collect();
    ensure!(
        pattern.path.is_ident("Self") && pattern.fields.len() + 1 == before,
        "expected `let Self {{ client, … }} = self;` first"
    );
    f.sig.inputs.push(syn::parse_quote!(client: &super::Client));
    Ok(())
}

/// In a setter, `self.<field>` becomes `self.args.<field>` for each of the
/// builder's fields.
struct SetArgs<'f> {
    fields: &'f [syn::Ident],
    changed: usize,
}

impl VisitMut for SetArgs<'_> {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        syn::visit_mut::visit_expr_mut(self, expr);
        if let syn::Expr::Field(field) = expr
            && matches!(&*field.base, syn::Expr::Path(p) if p.path.is_ident("self"))
            && matches!(&field.member, syn::Member::Named(m) if self.fields.contains(m))
        {
            let member = &field.member;
            *expr = syn::parse_quote!(self.args.#member);
            self.changed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::generate_sdk;
    use crate::spec::{load_spec, workspace_root};

    #[test]
    fn every_call_goes_through_the_step_and_no_path_value_through_progenitor() {
        let spec = load_spec(&workspace_root()).expect("spec");
        let sdk = generate_sdk(&spec).expect("generates");
        let sdk = sdk.types + &sdk.client;
        for gone in [
            ".pre(",
            ".exec(",
            ".post(&result",
            "OperationInfo {",
            "encode_path(",
            "from_response",
            "client.baseurl",
            "progenitor_client",
            "Error<()>",
        ] {
            assert!(!sdk.contains(gone), "generated.rs still has {gone:?}");
        }
        let api = crate::spec::Api::new(&spec).expect("operations");
        let ops = api.ops().len();
        for (needle, each) in [
            (
                "fn build(self, client: &super::Client) -> crate::step::Built",
                1,
            ),
            ("impl crate::call::Arguments for args::", 1),
            ("crate::call::built(self.build(client))", 1),
            ("crate::step::url(&client.inner, &url)", 1),
            // The call surface is the hand-written `Call`'s, not stamped.
            ("fn call(", 0),
            ("fn send_with(", 0),
            ("crate::step::call::<", 0),
        ] {
            assert_eq!(sdk.matches(needle).count(), ops * each, "{needle}");
        }
        let params: usize = api
            .ops()
            .iter()
            .map(|op| op.path.matches('{').count())
            .sum();
        assert!(params > 0);
        assert_eq!(sdk.matches("::step::path::segment(").count(), params);
        let queries: usize = api
            .ops()
            .iter()
            .flat_map(|op| &op.op.parameters)
            .filter(|p| {
                matches!(
                    p,
                    openapiv3::ReferenceOr::Item(openapiv3::Parameter::Query { .. })
                )
            })
            .count();
        assert!(queries > 0, "the spec has query parameters");
        assert_eq!(sdk.matches("crate::step::query(").count(), queries);
    }

    #[test]
    fn a_query_parameter_step_query_cannot_send_is_refused() {
        let root = workspace_root();
        let text = std::fs::read_to_string(root.join(crate::spec::SPEC)).expect("spec");
        let id = "          schema:\n            $ref: \"#/components/schemas/StringId\"\n      responses:";
        assert!(
            text.contains(id),
            "the pay-url operation's orderId schema moved"
        );
        for (kind, schema) in [
            ("a list", "type: array\n            items: { type: string }"),
            ("a float", "type: number"),
        ] {
            let head = text.replacen(
                id,
                &format!("          schema:\n            {schema}\n      responses:"),
                1,
            );
            let spec = crate::spec::parse_spec(&head).expect("parses");
            let err = generate_sdk(&spec).expect_err(kind);
            assert!(
                format!("{err:#}").contains("query parameter `orderId` must be"),
                "{kind}: {err:#}"
            );
        }
    }

    #[test]
    fn a_send_of_another_shape_is_refused() {
        let mut f: syn::ImplItemFn = syn::parse_quote! {
            pub async fn send(self) -> Result<ResponseValue<types::X>, Error<()>> {
                let url = format!("{}/x", client.baseurl);
                client.exec(request).await
            }
        };
        let err = super::into_request(&mut f).expect_err("no request is built");
        assert!(err.to_string().contains("OperationInfo"), "{err}");
    }

    /// A URL built other than from `client.baseurl` is refused with why,
    /// not only as a count that came out wrong.
    #[test]
    fn a_url_of_another_shape_says_why() {
        let mut f: syn::ImplItemFn = syn::parse_quote! {
            pub async fn send(self) -> Result<ResponseValue<types::X>, Error<()>> {
                let Self { client } = self;
                let url = format!("{}/x", client.base);
                let mut request = client.client.post(url).build()?;
                let info = OperationInfo { operation_id: "x" };
                client.exec(request, &info).await
            }
        };
        let err = super::into_request(&mut f).expect_err("the URL has another shape");
        let message = format!("{err:#}");
        assert!(
            message.contains("not progenitor's shape")
                && message.contains("does not start with `client.baseurl`"),
            "{message}"
        );
    }
}
