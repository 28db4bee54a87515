//! Amounts and times: a guard that every amount in the spec either has a
//! money type or says why not, and the coverage page's section listing
//! both.
//!
//! A field is an *amount* by its name: it ends in `amount`, `price`, `fee`,
//! `postage` or `payment` (and does not name a time), or is a
//! `priceStart`/`priceEnd` filter. A field
//! that refers to a component replaced by `::pandapon_gen::money::…` is
//! typed, and its description must name the unit (`fen` or `yuan`),
//! because that description is the CLI flag's help. An amount that is not
//! typed must say in its description that PandaPon does not document its
//! unit (or type). A field is a *time* when it ends in `time`; times are
//! listed, typed (`::pandapon_gen::time::…`) or not, without a guard: many
//! undocumented response fields are times of no documented form.

use anyhow::{Result, bail};

use super::{cell, replacements};

/// One property of a component (nested inline objects included).
struct Field {
    /// `Schema.field` or `Schema.outer.field`.
    path: String,
    /// The property's name.
    name: String,
    description: String,
    /// The component it refers to, directly, through `allOf` or as its
    /// array items.
    refers: Option<String>,
}

fn ref_name(r: &str) -> Option<String> {
    crate::spec::component_name(r).map(str::to_owned)
}

fn walk(path: &str, schema: &openapiv3::Schema, out: &mut Vec<Field>) {
    let properties = match &schema.schema_kind {
        openapiv3::SchemaKind::Type(openapiv3::Type::Object(o)) => Some(&o.properties),
        openapiv3::SchemaKind::Any(a) => Some(&a.properties),
        _ => None,
    };
    if let openapiv3::SchemaKind::AllOf { all_of } = &schema.schema_kind {
        for part in all_of.iter().filter_map(|p| p.as_item()) {
            walk(path, part, out);
        }
    }
    let Some(properties) = properties else { return };
    for (name, property) in properties {
        let field_path = format!("{path}.{name}");
        let (description, refers) = match property {
            openapiv3::ReferenceOr::Reference { reference } => (String::new(), ref_name(reference)),
            openapiv3::ReferenceOr::Item(s) => {
                let refers = match &s.schema_kind {
                    openapiv3::SchemaKind::AllOf { all_of } => {
                        all_of.iter().find_map(|p| match p {
                            openapiv3::ReferenceOr::Reference { reference } => ref_name(reference),
                            openapiv3::ReferenceOr::Item(_) => None,
                        })
                    }
                    openapiv3::SchemaKind::Type(openapiv3::Type::Array(a)) => {
                        match a.items.as_ref() {
                            Some(openapiv3::ReferenceOr::Reference { reference }) => {
                                ref_name(reference)
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                };
                walk(&field_path, s, out);
                (
                    s.schema_data.description.clone().unwrap_or_default(),
                    refers,
                )
            }
        };
        out.push(Field {
            path: field_path,
            name: name.clone(),
            description: description.split_whitespace().collect::<Vec<_>>().join(" "),
            refers,
        });
    }
}

fn fields(spec: &openapiv3::OpenAPI) -> Vec<Field> {
    let mut out = Vec::new();
    if let Some(components) = &spec.components {
        for (name, schema) in &components.schemas {
            if let Some(schema) = schema.as_item() {
                walk(name, schema, &mut out);
            }
        }
    }
    out
}

fn is_amount(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    // `close_time_without_payment` is a time, `canEditFee` a flag.
    !name.contains("time")
        && !name.starts_with("can")
        && ["amount", "price", "fee", "postage", "payment"]
            .iter()
            .any(|end| name.ends_with(end))
        || name == "pricestart"
        || name == "priceend"
}

fn is_time(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with("time")
}

/// What a field's description must contain when it is left plain.
const NOT_DOCUMENTED: &str = "not documented";

#[derive(Debug)]
/// One listed field: where, its Rust type (for typed ones), and its
/// description.
pub struct Listed {
    /// `Schema.field`.
    pub path: String,
    /// The hand-written type, when it has one.
    pub typed: Option<String>,
    /// The description: the unit, or why it is left plain.
    pub description: String,
}

/// The amounts and the times of the spec, checked as the module doc says.
pub fn audit(spec: &openapiv3::OpenAPI) -> Result<(Vec<Listed>, Vec<Listed>)> {
    let replaced = replacements(spec)?;
    let kind = |component: &str, module: &str| {
        replaced
            .iter()
            .find(|r| r.schema == component && r.rust.contains(module))
            .map(|r| r.rust.trim_start_matches("::pandapon_gen::").to_owned())
    };
    let (mut amounts, mut times) = (Vec::new(), Vec::new());
    let mut problems = Vec::new();
    for field in fields(spec) {
        let money = field.refers.as_deref().and_then(|c| kind(c, "::money::"));
        let time = field.refers.as_deref().and_then(|c| kind(c, "::time::"));
        let description = field.description.to_ascii_lowercase();
        if let Some(ty) = &money {
            let unit = if ty.ends_with("Yuan") { "yuan" } else { "fen" };
            if !description.contains(unit) {
                problems.push(format!(
                    "{} is {ty}, but its description does not say \"{unit}\" (it is the CLI flag's help)",
                    field.path
                ));
            }
        } else if is_amount(&field.name) && !description.contains(NOT_DOCUMENTED) {
            problems.push(format!(
                "{} looks like an amount: give it a money type (Fen, FenString, Yuan) or say in its \
                 description that its unit is {NOT_DOCUMENTED}",
                field.path
            ));
        }
        let listed = |typed: Option<String>| Listed {
            path: field.path.clone(),
            typed,
            description: field.description.clone(),
        };
        if money.is_some() || is_amount(&field.name) {
            amounts.push(listed(money.clone()));
        }
        if time.is_some() || is_time(&field.name) {
            times.push(listed(time));
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok((amounts, times))
}

fn table(rows: &[Listed], typed: bool) -> String {
    let mut out = String::from("| field | type | description |\n|---|---|---|\n");
    for row in rows.iter().filter(|r| r.typed.is_some() == typed) {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            row.path,
            row.typed
                .as_deref()
                .map_or("plain".to_owned(), |t| format!("`{t}`")),
            cell(&row.description)
        ));
    }
    out
}

/// The coverage page's section on amounts and times.
pub fn section(spec: &openapiv3::OpenAPI) -> Result<String> {
    let (amounts, times) = audit(spec)?;
    let count =
        |rows: &[Listed], typed: bool| rows.iter().filter(|r| r.typed.is_some() == typed).count();
    Ok(format!(
        "## Amounts and times\n\n\
         Every amount in the spec (a field named `…amount`, `…price`, `…fee`, `…postage`, \
         `…payment`, or a price filter) has a money type when PandaPon documents its unit: \
         [`Fen`], [`FenString`] or [`Yuan`] in `pandapon_gen::money`. Codegen refuses an \
         amount that has neither a money type nor a description saying its unit is not \
         documented.\n\n\
         ### Typed amounts ({})\n\n{}\n\
         ### Amounts left plain, and why ({})\n\n\
         These keep the type the docs show (a number, a string, or JSON); PandaPon does not \
         say their unit, and the SDK does not guess.\n\n{}\n\
         ### Times ({} typed, {} plain)\n\n\
         Wall-clock times PandaPon writes as `\"yyyy-MM-dd HH:mm:ss\"` are \
         `pandapon_gen::time::ChinaTime` (UTC+08:00). Times sent as numbers keep their type; \
         a pushed message's `timestamp` and a shipment's `rtsTime` have accessors \
         (`OrderMessage::pushed_at`, `DomesticLogisticInfo::ready_to_ship_at`).\n\n{}{}\n\
         [`Fen`]: https://docs.rs/pandapon-gen/latest/pandapon_gen/money/struct.Fen.html\n\
         [`FenString`]: https://docs.rs/pandapon-gen/latest/pandapon_gen/money/struct.FenString.html\n\
         [`Yuan`]: https://docs.rs/pandapon-gen/latest/pandapon_gen/money/struct.Yuan.html\n",
        count(&amounts, true),
        table(&amounts, true),
        count(&amounts, false),
        table(&amounts, false),
        count(&times, true),
        count(&times, false),
        table(&times, true),
        table(&times, false)
            .lines()
            .skip(2)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(properties: &str) -> openapiv3::OpenAPI {
        crate::spec::parse_spec(&format!(
            "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths: {{}}\ncomponents:\n  \
             schemas:\n    Fen:\n      type: integer\n      x-pandapon-type: ::pandapon_gen::money::Fen\n    \
             Yuan:\n      type: string\n      x-pandapon-type: ::pandapon_gen::money::Yuan\n    \
             Order:\n      type: object\n      properties:\n{properties}"
        ))
        .expect("spec")
    }

    #[test]
    fn typed_amounts_name_their_unit_and_plain_ones_say_why() {
        let ok = spec(
            "        totalAmount:\n          description: Total, integer fen.\n          allOf:\n            \
             - $ref: '#/components/schemas/Fen'\n        price:\n          description: Unit \
             price; unit not documented.\n          type: number\n        amountOnSale:\n          \
             type: integer\n",
        );
        let (amounts, _) = audit(&ok).expect("passes");
        let paths: Vec<_> = amounts
            .iter()
            .map(|a| (a.path.as_str(), a.typed.as_deref()))
            .collect();
        assert_eq!(
            paths,
            [
                ("Order.totalAmount", Some("money::Fen")),
                ("Order.price", None)
            ]
        );
        assert!(
            section(&ok)
                .expect("section")
                .contains("| `Order.price` | plain | Unit price; unit not documented. |")
        );

        let no_unit = spec(
            "        priceStart:\n          description: Lowest price.\n          allOf:\n            \
             - $ref: '#/components/schemas/Yuan'\n",
        );
        let e = audit(&no_unit).expect_err("no unit").to_string();
        assert!(
            e.contains(
                "Order.priceStart is money::Yuan, but its description does not say \"yuan\""
            ),
            "{e}"
        );

        let silent = spec("        shippingFee:\n          type: integer\n");
        let e = audit(&silent).expect_err("untyped amount").to_string();
        assert!(e.contains("Order.shippingFee looks like an amount"), "{e}");
    }

    #[test]
    fn the_real_spec_passes_and_types_what_the_docs_give_a_unit() {
        let spec = crate::spec::load_spec(&crate::spec::workspace_root()).expect("spec");
        let (amounts, times) = audit(&spec).expect("the real spec passes");
        let typed = |rows: &[Listed], path: &str| {
            rows.iter()
                .find(|r| r.path == path)
                .and_then(|r| r.typed.clone())
        };
        for (path, ty) in [
            ("TaobaoOrderCreateRequest.purchaseAmount", "money::Fen"),
            ("TaobaoCartAddRequest.price", "money::Fen"),
            ("TaobaoOrderLine.price", "money::FenString"),
            ("OrderStatusMessageBody.refundAmount", "money::Fen"),
            (
                "AlibabaProductKeywordSearchRequest.priceStart",
                "money::Yuan",
            ),
        ] {
            assert_eq!(typed(&amounts, path).as_deref(), Some(ty), "{path}");
        }
        for plain in [
            "AlibabaCartItem.price",
            "AlibabaRefundCreateRequest.applyPayment",
        ] {
            assert!(
                amounts.iter().any(|r| r.path == plain && r.typed.is_none()),
                "{plain}"
            );
        }
        assert_eq!(
            typed(&times, "OrderStatusMessageBody.tbCreateTime").as_deref(),
            Some("time::ChinaTime")
        );
    }
}
