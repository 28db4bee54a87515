//! SDK-level comparison: generate both specs and compare the public Rust API
//! (client methods, builder methods, types, fields, enum variants).

use std::collections::{BTreeMap, BTreeSet};

use quote::ToTokens;

use super::{Change, Level};
use crate::codegen::pascal;

/// The public surface of a generated SDK.
#[derive(Default)]
struct Api {
    /// `Client` methods: name → signature.
    client: BTreeMap<String, String>,
    /// Builder methods: builder → (method → signature).
    builders: BTreeMap<String, BTreeMap<String, String>>,
    /// Structs in `types`: name → (field → type).
    structs: BTreeMap<String, BTreeMap<String, String>>,
    /// Enums in `types`: name → variants.
    enums: BTreeMap<String, BTreeSet<String>>,
    /// Types callers build (request bodies and everything inside them).
    constructed: BTreeSet<String>,
}

/// Compact text of a type or signature.
fn text(tokens: impl ToTokens) -> String {
    let s: String = tokens
        .to_token_stream()
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    [
        "::std::option::",
        "::std::string::",
        "::std::vec::",
        "::std::collections::",
        "::serde_json::",
        "::pandapon_gen::",
        "::std::result::",
        "crate::",
    ]
    .iter()
    .fold(s, |acc, p| acc.replace(p, ""))
}

fn module<'a>(items: &'a [syn::Item], name: &str) -> &'a [syn::Item] {
    items
        .iter()
        .find_map(|i| match i {
            syn::Item::Mod(m) if m.ident == name => m.content.as_ref().map(|c| c.1.as_slice()),
            _ => None,
        })
        .unwrap_or(&[])
}

fn self_name(imp: &syn::ItemImpl) -> Option<String> {
    match imp.self_ty.as_ref() {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

fn pub_methods(imp: &syn::ItemImpl) -> impl Iterator<Item = (String, String)> + '_ {
    imp.items.iter().filter_map(|i| match i {
        syn::ImplItem::Fn(f) if matches!(f.vis, syn::Visibility::Public(_)) => {
            Some((f.sig.ident.to_string(), text(&f.sig)))
        }
        _ => None,
    })
}

impl Api {
    fn of(file: &syn::File) -> Self {
        let mut api = Api::default();
        let add_impls = |items: &[syn::Item], api: &mut Api, client: bool| {
            for item in items {
                let syn::Item::Impl(imp) = item else { continue };
                if imp.trait_.is_some() {
                    continue;
                }
                let Some(name) = self_name(imp) else { continue };
                if client && name == "Client" {
                    api.client.extend(pub_methods(imp));
                } else if !client {
                    api.builders
                        .entry(name)
                        .or_default()
                        .extend(pub_methods(imp));
                }
            }
        };
        add_impls(&file.items, &mut api, true);
        add_impls(module(&file.items, "builder"), &mut api, false);
        add_impls(module(&file.items, "envelopes"), &mut api, false);

        for item in module(&file.items, "types") {
            match item {
                syn::Item::Struct(s) => {
                    let fields = s
                        .fields
                        .iter()
                        .filter(|f| matches!(f.vis, syn::Visibility::Public(_)))
                        .enumerate()
                        .map(|(i, f)| {
                            let name = f.ident.as_ref().map_or(i.to_string(), |i| i.to_string());
                            (name, text(&f.ty))
                        })
                        .collect();
                    api.structs.insert(s.ident.to_string(), fields);
                }
                syn::Item::Enum(e) => {
                    let variants = e.variants.iter().map(|v| v.ident.to_string()).collect();
                    api.enums.insert(e.ident.to_string(), variants);
                }
                _ => {}
            }
        }
        api.constructed = api.constructed_types();
        api
    }

    /// Request body types, and every type reachable from their fields.
    fn constructed_types(&self) -> BTreeSet<String> {
        let mut todo: Vec<String> = self
            .builders
            .values()
            .filter_map(|methods| methods.get("body"))
            .filter_map(|sig| {
                let start = sig.find("TryInto<types::")? + "TryInto<types::".len();
                let rest = &sig[start..];
                Some(rest[..rest.find('>')?].to_owned())
            })
            .collect();
        let known: BTreeSet<&String> = self.structs.keys().chain(self.enums.keys()).collect();
        let mut seen = BTreeSet::new();
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            for ty in self.structs.get(&name).into_iter().flat_map(|f| f.values()) {
                let words = ty.split(|c: char| !c.is_alphanumeric() && c != '_');
                todo.extend(
                    words
                        .filter(|w| known.contains(&w.to_string()))
                        .map(str::to_owned),
                );
            }
        }
        seen
    }
}

/// Every change to the public Rust API between two generated SDKs.
pub fn compare(old: &syn::File, new: &syn::File, operations: &BTreeSet<String>) -> Vec<Change> {
    let (a, b) = (Api::of(old), Api::of(new));
    let mut out = Vec::new();
    let op_of_builder = |name: &str| operations.iter().find(|op| pascal(op) == name).cloned();
    let mut push = |breaking: bool, operation: Option<String>, message: String| {
        out.push(Change {
            level: Level::Sdk,
            breaking,
            operation,
            message,
        });
    };

    for (name, sig) in &a.client {
        let op = Some(name.clone());
        match b.client.get(name) {
            None => push(true, op, format!("method Client::{name}() was removed")),
            Some(new_sig) if new_sig != sig => {
                push(
                    true,
                    op,
                    format!("method Client::{name}() changed signature"),
                );
            }
            _ => {}
        }
    }
    for name in b.client.keys().filter(|n| !a.client.contains_key(*n)) {
        push(
            false,
            Some(name.clone()),
            format!("method Client::{name}() was added"),
        );
    }

    for (builder, methods) in &a.builders {
        let op = op_of_builder(builder);
        let Some(new_methods) = b.builders.get(builder) else {
            push(true, op, format!("builder {builder} was removed"));
            continue;
        };
        for (name, sig) in methods {
            match new_methods.get(name) {
                None => push(true, op.clone(), format!("{builder}::{name}() was removed")),
                Some(new_sig) if new_sig != sig => push(
                    true,
                    op.clone(),
                    format!("{builder}::{name}() changed: {sig} → {new_sig}"),
                ),
                _ => {}
            }
        }
        for name in new_methods.keys().filter(|n| !methods.contains_key(*n)) {
            push(false, op.clone(), format!("{builder}::{name}() was added"));
        }
    }
    for builder in b.builders.keys().filter(|n| !a.builders.contains_key(*n)) {
        push(
            false,
            op_of_builder(builder),
            format!("builder {builder} was added"),
        );
    }

    for (name, fields) in &a.structs {
        let Some(new_fields) = b.structs.get(name) else {
            push(true, None, format!("type {name} was removed"));
            continue;
        };
        for (field, ty) in fields {
            match new_fields.get(field) {
                None => push(true, None, format!("field {name}::{field} was removed")),
                Some(new_ty) if new_ty != ty => push(
                    true,
                    None,
                    format!("field {name}::{field} changed type: {ty} → {new_ty}"),
                ),
                _ => {}
            }
        }
        for (field, ty) in new_fields.iter().filter(|(f, _)| !fields.contains_key(*f)) {
            // A struct literal must name every field: adding one breaks
            // callers who build the type, not those who only read it.
            let built = b.constructed.contains(name);
            let why = if built {
                " (struct literals must now set it)"
            } else {
                ""
            };
            push(
                built,
                None,
                format!("field {name}::{field}: {ty} was added{why}"),
            );
        }
    }
    for name in b.structs.keys().filter(|n| !a.structs.contains_key(*n)) {
        push(false, None, format!("type {name} was added"));
    }

    for (name, variants) in &a.enums {
        let Some(new_variants) = b.enums.get(name) else {
            push(true, None, format!("enum {name} was removed"));
            continue;
        };
        for v in variants.difference(new_variants) {
            push(true, None, format!("variant {name}::{v} was removed"));
        }
        for v in new_variants.difference(variants) {
            // Exhaustive matches over data read from PandaPon stop compiling.
            let read = !b.constructed.contains(name);
            push(read, None, format!("variant {name}::{v} was added"));
        }
    }
    for name in b.enums.keys().filter(|n| !a.enums.contains_key(*n)) {
        push(false, None, format!("enum {name} was added"));
    }
    out
}
