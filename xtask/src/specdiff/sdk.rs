//! SDK-level comparison: generate both specs and compare the public Rust API
//! (client methods, builder methods, types, fields, enum variants).

use std::collections::{BTreeMap, BTreeSet};

use quote::ToTokens;

use super::{Change, Impact, Level};
use crate::codegen::syntax::{module, pascal, self_name};

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
    /// What each type's builder cannot do without (`types::builder::X` →
    /// fields). Leaving one unset compiles, and fails at run time with
    /// `Error::InvalidRequest`, before sending.
    required_fields: BTreeMap<String, BTreeSet<String>>,
    /// The same for each operation builder's parameters.
    required_params: BTreeMap<String, BTreeSet<String>>,
    /// Traits derived by each type in `types`.
    derives: BTreeMap<String, BTreeSet<String>>,
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

/// The traits a `#[derive(..)]` list names (last path segment).
fn derived(attrs: &[syn::Attribute]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        let _ = attr.parse_nested_meta(|meta| {
            if let Some(last) = meta.path.segments.last() {
                out.insert(last.ident.to_string());
            }
            Ok(())
        });
    }
    out
}

/// The fields a builder's `default()` or `new()` starts as `Err(..)`: the
/// ones a caller must set. The struct it builds is its last expression, or
/// the last argument of it (an operation's `new()` is
/// `crate::Call::of(client, args::X { … })`).
fn starts_unset(f: &syn::ImplItemFn) -> BTreeSet<String> {
    let init = match f.block.stmts.last() {
        Some(syn::Stmt::Expr(syn::Expr::Struct(init), _)) => init,
        Some(syn::Stmt::Expr(syn::Expr::Call(call), _)) => match call.args.last() {
            Some(syn::Expr::Struct(init)) => init,
            _ => return BTreeSet::new(),
        },
        _ => return BTreeSet::new(),
    };
    init.fields
        .iter()
        .filter(|field| {
            matches!(&field.expr, syn::Expr::Call(call)
                if matches!(call.func.as_ref(), syn::Expr::Path(p) if p.path.is_ident("Err")))
        })
        .filter_map(|field| match &field.member {
            syn::Member::Named(name) => Some(name.to_string()),
            syn::Member::Unnamed(_) => None,
        })
        .collect()
}

/// What the builders in `items` start without, from their `default()` or
/// `new()`.
fn starting_unset(items: &[syn::Item], into: &mut BTreeMap<String, BTreeSet<String>>) {
    for item in items {
        let syn::Item::Impl(imp) = item else { continue };
        let Some(name) = self_name(imp) else { continue };
        for member in &imp.items {
            if let syn::ImplItem::Fn(f) = member
                && (f.sig.ident == "default" || f.sig.ident == "new")
            {
                into.entry(name.clone())
                    .or_default()
                    .extend(starts_unset(f));
            }
        }
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

/// The methods the hand-written `Call` gives an operation's builder when
/// its arguments implement `trait_name` (`Arguments`: the call surface,
/// answering with `response`; `Paginated`: the page streams), with
/// signatures that name what differs between operations.
fn call_methods(trait_name: &str, response: Option<&syn::Type>) -> Vec<(String, String)> {
    let response = response.map(text).unwrap_or_default();
    let (names, returns): (&[&str], String) = match trait_name {
        "Arguments" => (
            &["call", "call_with", "send", "send_with"],
            format!("Call<{response}>"),
        ),
        "Paginated" => (&["pages", "items"], "Pages".to_owned()),
        _ => (&[], String::new()),
    };
    names
        .iter()
        .map(|name| (name.to_string(), format!("fn{name}(self)->{returns}")))
        .collect()
}

impl Api {
    fn of(file: &syn::File) -> Self {
        let mut api = Api::default();
        let add_impls = |items: &[syn::Item], api: &mut Api, client: bool| {
            for item in items {
                let syn::Item::Impl(imp) = item else { continue };
                if let Some((path, _)) = &imp.trait_ {
                    // `impl crate::call::Arguments for args::X`: builder
                    // `X` has the call surface.
                    let trait_name = path.segments.last().map(|s| s.ident.to_string());
                    let response = imp.items.iter().find_map(|i| match i {
                        syn::ImplItem::Type(t) if t.ident == "Response" => Some(&t.ty),
                        _ => None,
                    });
                    if let (false, Some(name), Some(trait_name)) =
                        (client, self_name(imp), trait_name)
                    {
                        let methods = call_methods(&trait_name, response);
                        if !methods.is_empty() {
                            api.builders.entry(name).or_default().extend(methods);
                        }
                    }
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

        let types = module(&file.items, "types");
        starting_unset(module(types, "builder"), &mut api.required_fields);
        starting_unset(module(&file.items, "builder"), &mut api.required_params);
        for item in types {
            match item {
                syn::Item::Struct(s) => {
                    api.derives.insert(s.ident.to_string(), derived(&s.attrs));
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
                    api.derives.insert(e.ident.to_string(), derived(&e.attrs));
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

/// Appended to a change that compiles but makes calls fail until the caller
/// sets the value (its impact is [`Impact::FailsAtRunTime`]).
const RUN_TIME_REQUIRED: &str = "code that does not set it still compiles, but each call \
    then fails with `Error::InvalidRequest` naming it, before anything is sent";

/// A trait the type derived before and no longer does breaks code using it.
fn lost_derives(
    a: &Api,
    b: &Api,
    name: &str,
    push: &mut impl FnMut(Impact, &'static str, Option<String>, String),
) {
    let (Some(old), Some(new)) = (a.derives.get(name), b.derives.get(name)) else {
        return;
    };
    for t in old.difference(new) {
        push(
            Impact::Breaking,
            "derive-lost",
            None,
            format!("type {name} no longer implements {t}"),
        );
    }
}

/// Every change to the public Rust API between two generated SDKs.
pub fn compare(old: &syn::File, new: &syn::File, operations: &BTreeSet<String>) -> Vec<Change> {
    let (a, b) = (Api::of(old), Api::of(new));
    let mut out = Vec::new();
    let op_of_builder = |name: &str| operations.iter().find(|op| pascal(op) == name).cloned();
    let mut push =
        |impact: Impact, kind: &'static str, operation: Option<String>, message: String| {
            out.push(Change {
                level: Level::Sdk,
                impact,
                kind,
                operation,
                message,
            });
        };
    use Impact::{Breaking, Compatible, FailsAtRunTime};

    for (name, sig) in &a.client {
        let op = Some(name.clone());
        match b.client.get(name) {
            None => push(
                Breaking,
                "method-removed",
                op,
                format!("method Client::{name}() was removed"),
            ),
            Some(new_sig) if new_sig != sig => {
                push(
                    Breaking,
                    "method-changed",
                    op,
                    format!("method Client::{name}() changed signature"),
                );
            }
            _ => {}
        }
    }
    for name in b.client.keys().filter(|n| !a.client.contains_key(*n)) {
        push(
            Compatible,
            "method-added",
            Some(name.clone()),
            format!("method Client::{name}() was added"),
        );
    }

    for (builder, methods) in &a.builders {
        let op = op_of_builder(builder);
        let Some(new_methods) = b.builders.get(builder) else {
            push(
                Breaking,
                "builder-removed",
                op,
                format!("builder {builder} was removed"),
            );
            continue;
        };
        for (name, sig) in methods {
            match new_methods.get(name) {
                None => push(
                    Breaking,
                    "setter-removed",
                    op.clone(),
                    format!("{builder}::{name}() was removed"),
                ),
                Some(new_sig) if new_sig != sig => push(
                    Breaking,
                    "setter-changed",
                    op.clone(),
                    format!("{builder}::{name}() changed: {sig} → {new_sig}"),
                ),
                _ => {}
            }
        }
        let was_required = a.required_params.get(builder);
        for name in new_methods.keys().filter(|n| !methods.contains_key(*n)) {
            let required = b
                .required_params
                .get(builder)
                .is_some_and(|r| r.contains(name));
            if required {
                push(
                    FailsAtRunTime,
                    "required-setter-added",
                    op.clone(),
                    format!("{builder}::{name}() was added and is required: {RUN_TIME_REQUIRED}"),
                );
            } else {
                push(
                    Compatible,
                    "setter-added",
                    op.clone(),
                    format!("{builder}::{name}() was added"),
                );
            }
        }
        for name in b.required_params.get(builder).into_iter().flatten() {
            if methods.contains_key(name) && !was_required.is_some_and(|r| r.contains(name)) {
                push(
                    FailsAtRunTime,
                    "setter-now-required",
                    op.clone(),
                    format!("{builder}::{name}() is now required: {RUN_TIME_REQUIRED}"),
                );
            }
        }
    }
    for builder in b.builders.keys().filter(|n| !a.builders.contains_key(*n)) {
        push(
            Compatible,
            "builder-added",
            op_of_builder(builder),
            format!("builder {builder} was added"),
        );
    }

    for (name, fields) in &a.structs {
        let Some(new_fields) = b.structs.get(name) else {
            push(
                Breaking,
                "type-removed",
                None,
                format!("type {name} was removed"),
            );
            continue;
        };
        for (field, ty) in fields {
            match new_fields.get(field) {
                None => push(
                    Breaking,
                    "field-removed",
                    None,
                    format!("field {name}::{field} was removed"),
                ),
                Some(new_ty) if new_ty != ty => push(
                    Breaking,
                    "field-type-changed",
                    None,
                    format!("field {name}::{field} changed type: {ty} → {new_ty}"),
                ),
                _ => {}
            }
        }
        // Every generated type is #[non_exhaustive] and built with a
        // builder, so a new field breaks no caller at compile time. If the
        // builder requires it, code that builds the type without it fails
        // at run time instead: say so.
        let was_required = a.required_fields.get(name);
        let now_required = b.required_fields.get(name);
        let built = b.constructed.contains(name);
        let run_time = |field: &str| built && now_required.is_some_and(|r| r.contains(field));
        for (field, ty) in new_fields.iter().filter(|(f, _)| !fields.contains_key(*f)) {
            if run_time(field) {
                push(
                    FailsAtRunTime,
                    "required-field-added",
                    None,
                    format!(
                        "field {name}::{field}: {ty} was added and is required: {RUN_TIME_REQUIRED}"
                    ),
                );
            } else {
                push(
                    Compatible,
                    "field-added",
                    None,
                    format!("field {name}::{field}: {ty} was added"),
                );
            }
        }
        for field in fields.keys().filter(|f| new_fields.contains_key(*f)) {
            if run_time(field) && !was_required.is_some_and(|r| r.contains(field)) {
                push(
                    FailsAtRunTime,
                    "field-now-required",
                    None,
                    format!("field {name}::{field} is now required: {RUN_TIME_REQUIRED}"),
                );
            }
        }
        lost_derives(&a, &b, name, &mut push);
    }
    for name in b.structs.keys().filter(|n| !a.structs.contains_key(*n)) {
        push(
            Compatible,
            "type-added",
            None,
            format!("type {name} was added"),
        );
    }

    for (name, variants) in &a.enums {
        let Some(new_variants) = b.enums.get(name) else {
            push(
                Breaking,
                "type-removed",
                None,
                format!("enum {name} was removed"),
            );
            continue;
        };
        for v in variants.difference(new_variants) {
            push(
                Breaking,
                "variant-removed",
                None,
                format!("variant {name}::{v} was removed"),
            );
        }
        for v in new_variants.difference(variants) {
            // The enum is #[non_exhaustive]: every match already has a
            // wildcard arm.
            push(
                Compatible,
                "variant-added",
                None,
                format!("variant {name}::{v} was added"),
            );
        }
        lost_derives(&a, &b, name, &mut push);
    }
    for name in b.enums.keys().filter(|n| !a.enums.contains_key(*n)) {
        push(
            Compatible,
            "type-added",
            None,
            format!("enum {name} was added"),
        );
    }
    out
}
