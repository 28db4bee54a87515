//! The CLI's generated file: progenitor's clap commands and argument
//! handling, and an async dispatch of our own.
//!
//! progenitor's CLI output is a `Cli<T: CliConfig>` whose `execute_*`
//! methods parse the arguments into a builder, call configurable hooks and
//! send. The pass keeps the commands (`cli_*`, `get_command`) and the
//! argument handling, turns each `execute_*` into `request_*`, which
//! returns the builder with the arguments applied, and drops the hooks. It
//! then writes `dispatch`: one arm per operation that makes the call
//! through the SDK's `call()` (the SDK's one step and classifier) and hands
//! the result to the CLI's output functions; the paginated operations' arms
//! stream every page with `--all`.

use anyhow::{Context, Result, ensure};
use progenitor::Generator;
use quote::{format_ident, quote};

use super::syntax::{is_field_of, pascal, self_name};
use super::{progenitor_err, render, sdk_settings};
use crate::spec;

/// Path of the CLI's generated module.
pub const CLI_OUT: &str = "crates/pandapon-cli/src/generated.rs";

/// Generates the CLI's `generated.rs`.
///
/// `annotated` is the spec with each write's on-unknown text in its
/// description (`codegen::on_unknown::annotate`), for the commands' help.
pub fn generate_cli(api: &spec::Api<'_>, annotated: &openapiv3::OpenAPI) -> Result<String> {
    let spec = annotated;
    let mut generator = Generator::new(&sdk_settings(spec)?);
    let tokens = generator.cli(spec, "crate::sdk").map_err(progenitor_err)?;
    let file: syn::File = syn::parse2(tokens).context("parsing progenitor's CLI output")?;
    let mut paginated = Vec::new();
    for op in api.ops() {
        if op.paginated()?.is_some() {
            paginated.push(op.id.clone());
        }
    }
    let file = rework(file, &paginated)?;
    Ok(render(&file))
}

/// progenitor's CLI output, reworked as the module doc says.
fn rework(file: syn::File, paginated: &[String]) -> Result<syn::File> {
    let mut uses = Vec::new();
    let mut commands = Vec::new();
    let mut requests = Vec::new();
    let mut command_enum = Vec::new();
    for item in file.items {
        match item {
            syn::Item::Use(u) => uses.push(syn::Item::Use(u)),
            syn::Item::Impl(imp) if self_name(&imp).as_deref() == Some("Cli") => {
                for f in imp.items {
                    let syn::ImplItem::Fn(f) = f else { continue };
                    let name = f.sig.ident.to_string();
                    if name == "get_command" || name.starts_with("cli_") {
                        commands.push(f);
                    } else if let Some(op) = name.strip_prefix("execute_") {
                        requests.push(into_request(f, op)?);
                    }
                }
            }
            syn::Item::Enum(e) if e.ident == "CliCommand" => {
                command_enum.push(syn::Item::Enum(e));
            }
            syn::Item::Impl(imp) if self_name(&imp).as_deref() == Some("CliCommand") => {
                command_enum.push(syn::Item::Impl(imp));
            }
            // `struct Cli<T>` and `trait CliConfig`: the hooks are gone.
            _ => {}
        }
    }
    ensure!(
        !requests.is_empty() && commands.len() == requests.len() + 1,
        "progenitor's CLI output has {} commands and {} `execute_*` methods: has it changed?",
        commands.len(),
        requests.len()
    );
    let mut arms = Vec::new();
    for (op, _) in &requests {
        let variant = format_ident!("{}", pascal(op));
        let request = format_ident!("request_{op}");
        arms.push(if paginated.iter().any(|p| p == op) {
            quote! {
                CliCommand::#variant => {
                    let request = Cli::#request(client, matches)?;
                    match crate::output::paging(matches) {
                        Some(paging) => crate::output::items(paging.apply(request.items())).await,
                        None => crate::output::reply(request.call().await),
                    }
                }
            }
        } else {
            quote! {
                CliCommand::#variant => {
                    crate::output::reply(Cli::#request(client, matches)?.call().await)
                }
            }
        });
    }
    // Built as items, not as one token stream to re-parse: the commands
    // are most of the file.
    let mut cli_impl: syn::ItemImpl = syn::parse_quote!(impl Cli {});
    cli_impl
        .items
        .extend(commands.into_iter().map(syn::ImplItem::Fn));
    cli_impl
        .items
        .extend(requests.into_iter().map(|(_, f)| syn::ImplItem::Fn(f)));
    let cli_struct: syn::Item = syn::parse_quote! {
        /// The commands and their argument handling, one per operation.
        pub struct Cli;
    };
    let dispatch: syn::Item = syn::parse_quote! {
        /// Runs `cmd` with its arguments through the SDK's `call()` and
        /// reports the result; returns whether it succeeded.
        pub async fn dispatch(
            client: &Client,
            cmd: CliCommand,
            matches: &::clap::ArgMatches,
        ) -> anyhow::Result<bool> {
            Ok(match cmd {
                #(#arms)*
            })
        }
    };
    let mut items = uses;
    items.extend([cli_struct, syn::Item::Impl(cli_impl), dispatch]);
    items.extend(command_enum);
    let mut file: syn::File = syn::parse_quote!();
    file.items = items;
    Ok(file)
}

/// Replaces `self.client` with `client`, counting the replacements.
struct Unself(usize);

impl syn::visit_mut::VisitMut for Unself {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        if let syn::Expr::Field(field) = expr
            && matches!(&*field.base, syn::Expr::Path(p) if p.path.is_ident("self"))
            && matches!(&field.member, syn::Member::Named(m) if m == "client")
        {
            *expr = syn::parse_quote!(client);
            self.0 += 1;
            return;
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }
}

/// `execute_{op}(&self, matches)` → `request_{op}(client, matches)`, which
/// returns the builder once the arguments are applied.
fn into_request(mut f: syn::ImplItemFn, op: &str) -> Result<(String, syn::ImplItemFn)> {
    let hook = f
        .block
        .stmts
        .iter()
        .position(|s| {
            // `self.config.execute_{op}(…)`, awaited or not.
            let call = match s {
                syn::Stmt::Expr(e, _) => Some(e),
                syn::Stmt::Local(l) => l.init.as_ref().map(|i| &*i.expr),
                _ => None,
            };
            let mut call = call;
            while let Some(
                syn::Expr::Try(syn::ExprTry { expr, .. })
                | syn::Expr::Await(syn::ExprAwait { base: expr, .. }),
            ) = call
            {
                call = Some(expr);
            }
            matches!(call, Some(syn::Expr::MethodCall(m))
                if is_field_of(&m.receiver, "self", "config")
                    && m.method.to_string().starts_with("execute_"))
        })
        .with_context(|| format!("execute_{op}: no call to the config hook"))?;
    f.block.stmts.truncate(hook);
    f.block
        .stmts
        .push(syn::Stmt::Expr(syn::parse_quote!(Ok(request)), None));
    // `self.client.op()` → `client.op()`.
    let mut unself = Unself(0);
    syn::visit_mut::VisitMut::visit_block_mut(&mut unself, &mut f.block);
    ensure!(
        unself.0 > 0,
        "execute_{op}: the builder no longer comes from self.client"
    );
    let builder = format_ident!("{}", pascal(op));
    let doc = format!("`{op}`'s builder with the command's arguments applied.");
    f.attrs = vec![syn::parse_quote!(#[doc = #doc])];
    f.sig = syn::parse_quote! {
        fn request<'a>(
            client: &'a Client,
            matches: &::clap::ArgMatches,
        ) -> anyhow::Result<builder::#builder<'a>>
    };
    f.sig.ident = format_ident!("request_{op}");
    f.vis = syn::Visibility::Inherited;
    Ok((op.to_owned(), f))
}
