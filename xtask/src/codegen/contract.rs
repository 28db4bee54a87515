//! Passes over progenitor's output that make the generated API a semver
//! contract: every generated type is `#[non_exhaustive]` (values are made
//! with builders), the `JsonSchema` derive sits behind the `schemars`
//! feature, and the typed mocks take builders as well as values.

use anyhow::{Result, ensure};
use quote::quote;

use super::syntax::{module_mut, type_builders_mut};

/// Makes every struct and enum in `types` `#[non_exhaustive]`, and derives
/// `JsonSchema` for them only with the `schemars` feature. Returns how many
/// types it sealed.
///
/// With `#[non_exhaustive]`, a field or variant PandaPon adds is a minor
/// change: no caller can have written a struct literal or an exhaustive
/// `match` that it would break. Values are made with
/// `types::X::builder()`, which progenitor generates.
pub fn seal_types(file: &mut syn::File) -> Result<usize> {
    let Some(items) = module_mut(file, "types") else {
        anyhow::bail!("progenitor's output has no `types` module");
    };
    let schema_derive: syn::Attribute = syn::parse_quote!(
        #[cfg_attr(feature = "schemars", derive(::schemars::JsonSchema))]
    );
    let non_exhaustive: syn::Attribute = syn::parse_quote!(#[non_exhaustive]);
    let mut sealed = 0;
    for item in items.iter_mut() {
        let attrs = match item {
            syn::Item::Struct(s) => &mut s.attrs,
            syn::Item::Enum(e) => &mut e.attrs,
            _ => continue,
        };
        ensure!(
            !attrs.iter().any(|a| a.path().is_ident("non_exhaustive")),
            "progenitor already marks a type #[non_exhaustive]: revisit xtask/src/codegen/contract.rs"
        );
        // Keep the derive list, then add the feature-gated derive and the
        // seal right after it, where a reader looks for them.
        let at = attrs
            .iter()
            .position(|a| a.path().is_ident("derive"))
            .map_or(0, |i| i + 1);
        attrs.insert(at, schema_derive.clone());
        attrs.insert(at + 1, non_exhaustive.clone());
        sealed += 1;
    }
    Ok(sealed)
}

/// Adds `build()` to every builder in `types::builder`: the value, or the
/// builder's error naming the first required field left unset. Returns how
/// many builders got one.
///
/// progenitor's builders convert with `TryFrom`; `build()` says the same in
/// one word, for values nested inside other values (list items, addresses).
pub fn add_build_methods(file: &mut syn::File) -> Result<usize> {
    let builders = type_builders_mut(file)?;
    let names: Vec<syn::Ident> = builders
        .iter()
        .filter_map(|item| match item {
            syn::Item::Struct(s) => Some(s.ident.clone()),
            _ => None,
        })
        .collect();
    for item in builders.iter() {
        let syn::Item::Impl(imp) = item else { continue };
        let has_build = imp
            .items
            .iter()
            .any(|member| matches!(member, syn::ImplItem::Fn(f) if f.sig.ident == "build"));
        ensure!(
            !has_build,
            "a builder already has a `build` method (a field named `build`?): \
             rename the field in the spec or revisit xtask/src/codegen/contract.rs"
        );
    }
    for name in &names {
        let doc = format!(
            "The [`{name}`](super::{name}).\n\n# Errors\n\nA `ConversionError` naming the \
             first required field left unset, or the first value that did not convert."
        );
        builders.push(syn::parse_quote! {
            impl #name {
                #[doc = #doc]
                pub fn build(
                    self,
                ) -> ::std::result::Result<super::#name, super::error::ConversionError> {
                    ::std::convert::TryFrom::try_from(self)
                }
            }
        });
    }
    Ok(names.len())
}

/// The `types::X` a parameter of type `&types::X` names.
fn referenced_type(ty: &syn::Type) -> Option<syn::TypePath> {
    let syn::Type::Reference(r) = ty else {
        return None;
    };
    let syn::Type::Path(p) = r.elem.as_ref() else {
        return None;
    };
    let first = p.path.segments.first()?;
    (first.ident == "types" && p.path.segments.len() == 2).then(|| p.clone())
}

/// In the typed mocks, every method that takes `value: &types::X` takes any
/// `V: TryInto<types::X>` instead: a value, or its builder. A builder with a
/// required field unset is a mistake in the test, so it panics there with
/// the builder's message, naming the field. Returns how many methods changed.
pub fn mocks_take_builders(file: &mut syn::File) -> Result<usize> {
    let Some(items) = module_mut(file, "operations") else {
        anyhow::bail!("progenitor's httpmock output has no `operations` module");
    };
    let mut changed = 0;
    for item in items.iter_mut() {
        let syn::Item::Impl(imp) = item else { continue };
        for member in &mut imp.items {
            let syn::ImplItem::Fn(f) = member else {
                continue;
            };
            let inputs: Vec<_> = f.sig.inputs.iter().collect();
            let [syn::FnArg::Receiver(_), syn::FnArg::Typed(arg)] = inputs.as_slice() else {
                continue;
            };
            let Some(target) = referenced_type(&arg.ty) else {
                continue;
            };
            let syn::Pat::Ident(name) = arg.pat.as_ref() else {
                continue;
            };
            let name = name.ident.clone();
            let shown = target
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            let method_ident = f.sig.ident.clone();
            let method = method_ident.to_string();
            let stmts = &f.block.stmts;
            let new: syn::ImplItemFn = syn::parse2(quote! {
                pub fn #method_ident<V>(self, #name: V) -> Self
                where
                    V: ::std::convert::TryInto<#target>,
                    V::Error: ::std::fmt::Display,
                {
                    let #name = &crate::built::<#target, V>(#name, #shown, #method);
                    #(#stmts)*
                }
            })?;
            let docs: Vec<syn::Attribute> = f.attrs.clone();
            *f = new;
            f.attrs = docs;
            changed += 1;
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_structs_and_enums_in_types_only() {
        let mut file: syn::File = syn::parse_quote! {
            pub mod types {
                #[derive(Clone, Debug)]
                pub struct A { pub x: i64 }
                #[derive(Clone, Copy)]
                pub enum B { One }
                impl A {}
                pub mod builder { pub struct A { x: i64 } }
            }
            pub struct Client;
        };
        assert_eq!(seal_types(&mut file).expect("seals"), 2);
        let text = prettyplease::unparse(&file);
        assert_eq!(text.matches("#[non_exhaustive]").count(), 2, "{text}");
        assert!(
            text.contains(
                "#[derive(Clone, Debug)]\n    #[cfg_attr(feature = \"schemars\", derive(::schemars::JsonSchema))]\n    #[non_exhaustive]\n    pub struct A"
            ),
            "{text}"
        );
        assert!(
            !text.contains("#[non_exhaustive]\npub struct Client"),
            "{text}"
        );
        // Sealing twice is refused: the pass must see progenitor's own output.
        assert!(seal_types(&mut file).is_err());
    }

    #[test]
    fn every_builder_gets_build() {
        let mut file: syn::File = syn::parse_quote! {
            pub mod types {
                pub struct A { pub x: i64 }
                pub mod builder {
                    pub struct A { x: Result<i64, String> }
                    impl A { pub fn x(self) -> Self { self } }
                }
            }
        };
        assert_eq!(add_build_methods(&mut file).expect("adds"), 1);
        let text = prettyplease::unparse(&file);
        assert!(
            text.contains("pub fn build(\n                self,\n            ) -> ::std::result::Result<super::A, super::error::ConversionError>"),
            "{text}"
        );
        // A second `build` (say, from a field of that name) is refused.
        assert!(add_build_methods(&mut file).is_err());
    }

    #[test]
    fn mock_methods_take_values_or_builders() {
        let mut file: syn::File = syn::parse_quote! {
            pub mod operations {
                impl XThen {
                    pub fn ok(self, value: &types::XResponse) -> Self {
                        Self(self.0.json_body_obj(value))
                    }
                    pub fn status(self, value: u16) -> Self { self }
                }
            }
        };
        assert_eq!(mocks_take_builders(&mut file).expect("rewrites"), 1);
        let text = prettyplease::unparse(&file);
        assert!(
            text.contains("pub fn ok<V>(self, value: V) -> Self"),
            "{text}"
        );
        assert!(
            text.contains("V: ::std::convert::TryInto<types::XResponse>"),
            "{text}"
        );
        assert!(
            text.contains(
                "let value = &crate::built::<types::XResponse, V>(value, \"XResponse\", \"ok\");"
            ),
            "{text}"
        );
        assert!(text.contains("pub fn status(self, value: u16)"), "{text}");
    }
}
