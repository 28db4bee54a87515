//! The SDK's call surface: progenitor builds each operation's request (its
//! types, argument handling and URL), and this pass hands that request to
//! the SDK's own call step.
//!
//! Each builder's `send()` from progenitor becomes a private `request()`
//! that stops where the request is built (progenitor's hooks, response
//! matching and error types are dropped), with every path value encoded by
//! `crate::step::path::segment` and the URL joined to the base URL the
//! client parsed once (`crate::step::url`). Then each builder gets `send`,
//! `send_with`, `call` and `call_with`, which pass that request to
//! `crate::step::send` or `crate::step::call` with the operation's row of
//! the operation table.

use anyhow::{Context, Result, bail, ensure};
use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};
use syn::punctuated::Punctuated;
use syn::visit_mut::VisitMut;

use super::syntax::{doc_text, generic_args};

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
    let names_it = |tokens: &dyn ToTokens| {
        tokens
            .to_token_stream()
            .to_string()
            .split_whitespace()
            .any(|t| t == "progenitor_client")
    };
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
    let built = f
        .block
        .stmts
        .iter()
        .position(|s| {
            s.to_token_stream()
                .to_string()
                .starts_with("let info = OperationInfo")
        })
        .context("no `let info = OperationInfo` after the request is built")?;
    ensure!(
        f.block.stmts[..built].iter().any(|s| {
            let text = s.to_token_stream().to_string();
            text.contains("let mut request") && text.contains(". build ()")
        }),
        "no `let mut request = ….build()?` before the hooks"
    );
    f.block.stmts.truncate(built);
    f.block
        .stmts
        .push(syn::Stmt::Expr(syn::parse_quote!(Ok(request)), None));
    let method_doc = f
        .attrs
        .iter()
        .find_map(doc_text)
        .context("progenitor's `send()` has no doc line")?;
    // "Sends a `GET` request to `/v2/…`" → "The `GET` request to `/v2/…`…"
    let target = method_doc
        .trim()
        .strip_prefix("Sends a ")
        .context("progenitor's doc line no longer starts with \"Sends a \"")?;
    let doc = format!(
        "The {target}, built from the values given: checked, with every path value \
         encoded as one segment, not yet signed."
    );
    f.attrs.retain(|a| !a.path().is_ident("doc"));
    f.attrs.push(syn::parse_quote!(#[doc = #doc]));
    // Inline, as the call surface is: compiled in the crates that call the
    // operation, not for all of them in this one.
    f.attrs.push(syn::parse_quote!(#[inline]));
    f.vis = syn::Visibility::Inherited;
    f.sig.asyncness = None;
    f.sig.ident = format_ident!("request");
    f.sig.output = syn::parse_quote!(-> crate::step::Built);
    let mut rewrite = RewriteUrl::default();
    rewrite.visit_block_mut(&mut f.block);
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
                            let func = c.func.to_token_stream().to_string().replace(' ', "");
                            (func == "progenitor_client::QueryParam::new")
                                .then(|| (c.args[0].clone(), c.args[1].clone()))
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
        .position(|s| s.to_token_stream().to_string().contains("let mut request"))
        .context("no `let mut request`")?;
    for (offset, (name, value)) in rewrite.params.into_iter().enumerate() {
        f.block.stmts.insert(
            built + 1 + offset,
            syn::parse_quote!(crate::step::query(&mut request, #name, #value)?;),
        );
    }
    let text = f.block.to_token_stream().to_string();
    ensure!(
        !text
            .split_whitespace()
            .any(|t| t == "Error" || t == "progenitor_client"),
        "progenitor's error type or client crate is still named: {text}"
    );
    Ok(())
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
            Some(base) if base.to_token_stream().to_string() == "client . baseurl" => {
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
            && let Ok(tokens) = self.rewrite_format(m.mac.tokens.clone())
        {
            // A path with no values is a `&'static str`, not a new String.
            match syn::parse2::<syn::LitStr>(tokens.clone()) {
                Ok(path) => *init.expr = syn::parse_quote!(#path),
                Err(_) => m.mac.tokens = tokens,
            }
        }
        syn::visit_mut::visit_local_mut(self, local);
    }

    fn visit_expr_method_call_mut(&mut self, call: &mut syn::ExprMethodCall) {
        syn::visit_mut::visit_expr_method_call_mut(self, call);
        let is_ident =
            |e: &syn::Expr, name: &str| matches!(e, syn::Expr::Path(p) if p.path.is_ident(name));
        // `client.client`: the receiver of the method that starts the chain.
        let on_client = matches!(&*call.receiver, syn::Expr::Field(f)
            if is_ident(&f.base, "client")
                && matches!(&f.member, syn::Member::Named(m) if m == "client"));
        let takes_url =
            call.args.len() == 1 && call.args.first().is_some_and(|a| is_ident(a, "url"));
        if on_client && takes_url {
            call.args = syn::parse_quote!(crate::step::url(&client.inner, &url));
            self.urls += 1;
        }
    }
}

/// `send`, `send_with`, `call` and `call_with` for one builder, calling the
/// step with the operation `op_id` (its row in the operation table) and
/// decoding `response`, whose envelope's `data` is `data_ty`.
pub fn call_surface(op_id: &str, rebuilt: &Rebuilt, data_ty: &TokenStream) -> Result<syn::Item> {
    let Rebuilt {
        builder, response, ..
    } = rebuilt;
    let row = format_ident!("{}", op_id.to_uppercase());
    let send_doc = format!(
        "Sends `{op_id}` and returns PandaPon's envelope as it came, with the status and \
         headers: the `code` check is the caller's ([`call`](Self::call) does it).\n\n\
         It goes through the same step as [`call`](Self::call): signed afresh for each \
         attempt, retried per the client's policy, read within its limits and judged by \
         the same classifier.\n\n\
         # Errors\n\n\
         As [`call`](Self::call), except that a business error inside HTTP 200 is an `Ok` \
         envelope.\n\n{CANCEL_SAFETY}"
    );
    let send_with_doc = format!(
        "Like [`send`](Self::send), with per-call options (retries, timeout) for `{op_id}`.\n\n\
         # Errors\n\nAs [`send`](Self::send)."
    );
    let call_doc = format!(
        "Sends `{op_id}` and unwraps PandaPon's envelope: `Ok` only when `code` is 200.\n\n\
         Every attempt is signed afresh, and retried per the client's policy. \
         [`send`](Self::send) returns the raw envelope instead, leaving the `code` check \
         to the caller.\n\n\
         # Errors\n\n\
         [`Error::InvalidRequest`](crate::Error::InvalidRequest) when a value is missing or \
         invalid (nothing is sent); otherwise the business error, HTTP error, transport \
         failure or undecodable answer the call ended with. \
         [`Error::outcome`](crate::Error::outcome) says whether it may have taken \
         effect.\n\n{CANCEL_SAFETY}"
    );
    let call_with_doc = format!(
        "Like [`call`](Self::call), with per-call options (retries, timeout) for `{op_id}`.\n\n\
         # Errors\n\nAs [`call`](Self::call)."
    );
    let tokens = quote! {
        impl<'a> #builder<'a> {
            #[doc = #send_doc]
            #[inline]
            pub fn send(
                self,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<
                    crate::ResponseValue<#response>,
                    crate::Error,
                >,
            > + 'a {
                self.send_with(::std::default::Default::default())
            }

            #[doc = #send_with_doc]
            #[inline]
            pub fn send_with(
                self,
                options: crate::CallOptions,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<
                    crate::ResponseValue<#response>,
                    crate::Error,
                >,
            > + 'a {
                let client = self.client;
                crate::step::send::<#response>(
                    &client.client,
                    &client.inner,
                    &crate::operations::by_id::#row,
                    self.request(),
                    options,
                )
            }

            #[doc = #call_doc]
            #[inline]
            pub fn call(
                self,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<crate::Reply<#data_ty>, crate::Error>,
            > + 'a {
                self.call_with(::std::default::Default::default())
            }

            #[doc = #call_with_doc]
            #[inline]
            pub fn call_with(
                self,
                options: crate::CallOptions,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<crate::Reply<#data_ty>, crate::Error>,
            > + 'a {
                let client = self.client;
                crate::step::call::<#response>(
                    &client.client,
                    &client.inner,
                    &crate::operations::by_id::#row,
                    self.request(),
                    options,
                )
            }
        }
    };
    syn::parse2(tokens).context("parsing the call surface")
}

/// The cancel-safety section of `call()` and `send()`.
const CANCEL_SAFETY: &str = "# Cancel safety\n\n\
    The future does nothing until polled; dropping it (or a timeout around it) stops the \
    call where it is. Dropped before its first poll, nothing was sent. Dropped later, the \
    request may have reached PandaPon and no answer will say what happened: a read can \
    simply be sent again; a write's outcome is unknown, as after a timeout, so look it up \
    as this operation's documentation says before repeating it. The attempt in progress \
    ends without [`Interceptor::after_attempt`](crate::Interceptor::after_attempt). See \
    the [guide](crate::guide::reliability).";

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
            ("fn request(self) -> crate::step::Built", 1),
            ("crate::step::call::<", 1),
            ("crate::step::send::<", 1),
            ("crate::step::url(&client.inner, &url)", 1),
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
}
