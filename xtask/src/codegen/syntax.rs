//! The syn helpers every pass shares: finding modules, structs and impls in
//! progenitor's output, reading types and doc attributes, and the names
//! progenitor and typify derive from the spec's.

use anyhow::Context as _;

/// `snake_case` → `PascalCase`, as progenitor names builders.
pub fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// `camelCase` → `snake_case`, as typify names fields.
pub fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The items of module `name` among `items` (none when it is absent).
pub fn module<'a>(items: &'a [syn::Item], name: &str) -> &'a [syn::Item] {
    items
        .iter()
        .find_map(|i| match i {
            syn::Item::Mod(m) if m.ident == name => m.content.as_ref().map(|c| c.1.as_slice()),
            _ => None,
        })
        .unwrap_or(&[])
}

/// The items of the top-level module `name`, to change.
pub fn module_mut<'a>(file: &'a mut syn::File, name: &str) -> Option<&'a mut Vec<syn::Item>> {
    file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == name => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    })
}

/// The items of progenitor's `types::builder` module (the type builders),
/// to change.
pub fn type_builders_mut(file: &mut syn::File) -> anyhow::Result<&mut Vec<syn::Item>> {
    let types = module_mut(file, "types").context("progenitor's output has no `types` module")?;
    types
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "builder" => m.content.as_mut().map(|(_, items)| items),
            _ => None,
        })
        .context("progenitor's output has no `types::builder` module")
}

/// Finds `types::<name>` in progenitor's output.
pub fn find_struct<'a>(file: &'a syn::File, name: &str) -> Option<&'a syn::ItemStruct> {
    module(&file.items, "types")
        .iter()
        .find_map(|item| match item {
            syn::Item::Struct(s) if s.ident == name => Some(s),
            _ => None,
        })
}

/// The type of a struct's field.
pub fn field_type<'a>(st: &'a syn::ItemStruct, name: &str) -> Option<&'a syn::Type> {
    st.fields
        .iter()
        .find(|f| f.ident.as_ref().is_some_and(|i| i == name))
        .map(|f| &f.ty)
}

/// The type arguments of `ty` when it is `name<…>`.
fn type_args<'a>(ty: &'a syn::Type, name: &str) -> Option<impl Iterator<Item = &'a syn::Type>> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    Some(args.args.iter().filter_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    }))
}

/// The type arguments of `ty` when it is `name<…>`, owned.
pub fn generic_args(ty: &syn::Type, name: &str) -> Option<Vec<syn::Type>> {
    type_args(ty, name).map(|args| args.cloned().collect())
}

/// The `T` of `name<T>` (say `Option<T>` or `Vec<T>`).
pub fn generic_arg<'a>(ty: &'a syn::Type, name: &str) -> Option<&'a syn::Type> {
    type_args(ty, name)?.next()
}

/// The last segment of the type an `impl` block is for.
pub fn self_name(imp: &syn::ItemImpl) -> Option<String> {
    match imp.self_ty.as_ref() {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// Whether `tokens` name `name` anywhere, inside macros and attributes too:
/// a walk over the tokens, comparing identifiers.
pub fn names_ident(tokens: proc_macro2::TokenStream, name: &str) -> bool {
    tokens.into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Ident(ident) => ident == name,
        proc_macro2::TokenTree::Group(group) => names_ident(group.stream(), name),
        _ => false,
    })
}

/// Whether `expr` is the path `name` (one segment).
pub fn is_ident_expr(expr: &syn::Expr, name: &str) -> bool {
    matches!(expr, syn::Expr::Path(p) if p.qself.is_none() && p.path.is_ident(name))
}

/// Whether `expr` is `base.member`, `base` a plain name.
pub fn is_field_of(expr: &syn::Expr, base: &str, member: &str) -> bool {
    matches!(expr, syn::Expr::Field(f)
        if is_ident_expr(&f.base, base)
            && matches!(&f.member, syn::Member::Named(m) if m == member))
}

/// The binding `let [mut] name = init;` of `stmt`: its name, whether it is
/// `mut`, and its initialiser.
pub fn binding(stmt: &syn::Stmt) -> Option<(&syn::Ident, bool, Option<&syn::Expr>)> {
    let syn::Stmt::Local(local) = stmt else {
        return None;
    };
    let syn::Pat::Ident(pat) = &local.pat else {
        return None;
    };
    Some((
        &pat.ident,
        pat.mutability.is_some(),
        local.init.as_ref().map(|init| &*init.expr),
    ))
}

/// Whether `expr` (with a `?` or not) is a method chain whose last call is
/// `.method(…)`.
pub fn ends_with_call(expr: &syn::Expr, method: &str) -> bool {
    match expr {
        syn::Expr::Try(t) => ends_with_call(&t.expr, method),
        syn::Expr::MethodCall(call) => call.method == method,
        _ => false,
    }
}

/// Whether `path` is exactly the segments `names` (leading `::` or not).
pub fn path_is(path: &syn::Path, names: &[&str]) -> bool {
    path.segments.len() == names.len()
        && path
            .segments
            .iter()
            .zip(names)
            .all(|(s, n)| s.ident == n && s.arguments.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_progenitor_and_typify() {
        assert_eq!(pascal("alibaba_order_cancel"), "AlibabaOrderCancel");
        assert_eq!(snake("totalPage"), "total_page");
        let ty: syn::Type = syn::parse_quote!(Option<Vec<types::Item>>);
        let inner = generic_arg(&ty, "Option").expect("Option<T>");
        assert!(generic_arg(inner, "Vec").is_some());
        assert!(generic_arg(&ty, "Vec").is_none());
        assert_eq!(generic_args(&ty, "Option").map(|a| a.len()), Some(1));
    }

    /// The matchers the passes rely on say yes to the one shape they name
    /// and no to its near misses.
    #[test]
    fn matchers_take_their_shape_and_nothing_near_it() {
        let expr = |e: syn::Expr| e;
        assert!(is_field_of(
            &expr(syn::parse_quote!(client.baseurl)),
            "client",
            "baseurl"
        ));
        for near in [
            expr(syn::parse_quote!(self.client.baseurl)),
            expr(syn::parse_quote!(client.base)),
            expr(syn::parse_quote!(other.baseurl)),
            expr(syn::parse_quote!(client.0)),
            expr(syn::parse_quote!(client.baseurl())),
        ] {
            assert!(
                !is_field_of(&near, "client", "baseurl"),
                "{}",
                quote::quote!(#near)
            );
        }

        assert!(is_ident_expr(&expr(syn::parse_quote!(url)), "url"));
        assert!(!is_ident_expr(&expr(syn::parse_quote!(self::url)), "url"));
        assert!(!is_ident_expr(&expr(syn::parse_quote!(<T>::url)), "url"));

        let path = |p: syn::Path| p;
        assert!(path_is(
            &path(syn::parse_quote!(::reqwest::header::ACCEPT)),
            &["reqwest", "header", "ACCEPT"]
        ));
        assert!(!path_is(
            &path(syn::parse_quote!(header::ACCEPT)),
            &["reqwest", "header", "ACCEPT"]
        ));
        assert!(!path_is(&path(syn::parse_quote!(Vec<u8>)), &["Vec"]));

        let built: syn::Expr = syn::parse_quote!(client.client.post(url).json(&body).build()?);
        assert!(ends_with_call(&built, "build"));
        assert!(!ends_with_call(&built, "json"));
        assert!(!ends_with_call(
            &expr(syn::parse_quote!(build(request))),
            "build"
        ));

        let stmt = |s: syn::Stmt| s;
        let request = stmt(syn::parse_quote!(let mut request = x;));
        let (name, mutable, init) = binding(&request).expect("a binding");
        assert!(name == "request" && mutable && init.is_some());
        assert!(binding(&stmt(syn::parse_quote!(let (a, b) = x;))).is_none());
        assert!(binding(&stmt(syn::parse_quote!(request.send();))).is_none());

        assert!(names_ident(
            quote::quote!(a!(x, [progenitor_client::y])),
            "progenitor_client"
        ));
        assert!(!names_ident(
            quote::quote!(a!("progenitor_client")),
            "progenitor_client"
        ));
    }
}
