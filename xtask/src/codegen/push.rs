//! `PushEvent`: the messages PandaPon pushes, typed by `messageType`. Each
//! message-body schema names the message types it is the body of with
//! `x-pandapon-message-types`; this pass makes one variant per type, holding
//! `crate::push::Push<Body>`, and an `Other` variant for the rest.

use anyhow::{Context, Result, bail, ensure};
use quote::{format_ident, quote};

/// Extension on a message-body schema: the `messageType`s it is the body of.
pub const EXT_MESSAGE_TYPES: &str = "x-pandapon-message-types";

/// One message type and the body schema it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageKind {
    /// The `messageType` as sent, `ORDER_CREATE`.
    pub wire: String,
    /// The body's component schema.
    pub body: String,
}

/// Every message type the spec names, sorted by wire name.
pub fn message_kinds(spec: &openapiv3::OpenAPI) -> Result<Vec<MessageKind>> {
    let mut kinds = Vec::new();
    let Some(components) = &spec.components else {
        return Ok(kinds);
    };
    for (name, schema) in &components.schemas {
        let Some(schema) = schema.as_item() else {
            continue;
        };
        let Some(types) = schema.schema_data.extensions.get(EXT_MESSAGE_TYPES) else {
            continue;
        };
        let Some(types) = types.as_array().filter(|t| !t.is_empty()) else {
            bail!("{name}: {EXT_MESSAGE_TYPES} must be a non-empty list of message types");
        };
        for wire in types {
            let Some(wire) = wire.as_str() else {
                bail!("{name}: {EXT_MESSAGE_TYPES} holds a non-string {wire}");
            };
            ensure!(
                !wire.is_empty()
                    && wire
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{name}: message type {wire:?} is not UPPER_SNAKE_CASE"
            );
            kinds.push(MessageKind {
                wire: wire.to_owned(),
                body: name.clone(),
            });
        }
    }
    kinds.sort_by(|a, b| a.wire.cmp(&b.wire));
    for pair in kinds.windows(2) {
        ensure!(
            pair[0].wire != pair[1].wire,
            "message type {} is claimed by both {} and {}",
            pair[0].wire,
            pair[0].body,
            pair[1].body
        );
    }
    Ok(kinds)
}

/// The variant name of a message type, as `MessageType` names it:
/// `ORDER_PAY_SUCCESS` is `OrderPaySuccess`, and a leading `1688` reads
/// `Alibaba`.
pub fn variant_name(wire: &str) -> String {
    wire.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            if w == "1688" {
                return "Alibaba".to_owned();
            }
            let lower = w.to_lowercase();
            let mut chars = lower.chars();
            chars
                .next()
                .map(|f| f.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        })
        .collect()
}

/// The `PushEvent` enum and its constructor.
pub fn push_event(spec: &openapiv3::OpenAPI) -> Result<Vec<syn::Item>> {
    // A spec without message schemas (a spec-diff fixture) gets a
    // PushEvent with `Other` alone.
    let kinds = message_kinds(spec)?;
    let mut variants = Vec::new();
    let mut arms = Vec::new();
    let mut borrow = Vec::new();
    let mut owned = Vec::new();
    for kind in &kinds {
        let variant = format_ident!("{}", variant_name(&kind.wire));
        let body = format_ident!("{}", kind.body);
        let wire = &kind.wire;
        let doc = format!("`{wire}`: its body is [`types::{}`].", kind.body);
        variants.push(quote! {
            #[doc = #doc]
            #variant(crate::push::Push<types::#body>)
        });
        arms.push(quote! {
            #wire => crate::push::Push::parse(message).map_or_else(Self::Other, Self::#variant)
        });
        borrow.push(quote!(Self::#variant(push) => push.message()));
        owned.push(quote!(Self::#variant(push) => push.into_message()));
    }
    let file: syn::File = syn::parse2(quote! {
        /// A message PandaPon pushed, typed by its `messageType` (generated
        /// from the spec's `x-pandapon-message-types`).
        ///
        /// Read one with [`PushEvent::parse`]; each typed variant holds the
        /// message's body decoded into its schema. A message type this
        /// version of the SDK does not know, or a body that is not the shape
        /// its type documents, is [`PushEvent::Other`], holding the message
        /// as sent: nothing is dropped.
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub enum PushEvent {
            #(#variants,)*
            /// Any other message, as sent.
            Other(types::OrderMessage),
        }

        impl PushEvent {
            /// Types `message` by its `messageType`.
            pub fn from_message(message: types::OrderMessage) -> Self {
                let kind = message
                    .message_type
                    .as_ref()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default();
                match kind.as_str() {
                    #(#arms,)*
                    _ => Self::Other(message),
                }
            }

            /// The message as sent.
            pub fn message(&self) -> &types::OrderMessage {
                match self {
                    #(#borrow,)*
                    Self::Other(message) => message,
                }
            }

            /// The message as sent, taken out.
            pub fn into_message(self) -> types::OrderMessage {
                match self {
                    #(#owned,)*
                    Self::Other(message) => message,
                }
            }
        }
    })
    .context("parsing PushEvent")?;
    Ok(file.items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_names_follow_message_type() {
        assert_eq!(variant_name("ORDER_PAY_SUCCESS"), "OrderPaySuccess");
        assert_eq!(
            variant_name("1688_ORDER_BUYER_VIEW_ORDER_PRICE_MODIFY"),
            "AlibabaOrderBuyerViewOrderPriceModify"
        );
    }

    #[test]
    fn a_type_claimed_twice_or_malformed_is_refused() {
        let spec = |types: &str| {
            crate::spec::parse_spec(&format!(
                "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths: {{}}\ncomponents:\n  \
                 schemas:\n    A:\n      type: object\n      x-pandapon-message-types: {types}\n    \
                 B:\n      type: object\n      x-pandapon-message-types: [ORDER_X]\n"
            ))
            .expect("spec")
        };
        assert!(message_kinds(&spec("[ORDER_Y]")).is_ok());
        let twice = message_kinds(&spec("[ORDER_X]")).unwrap_err();
        assert!(twice.to_string().contains("claimed by both"), "{twice}");
        assert!(message_kinds(&spec("[order-x]")).is_err());
        assert!(message_kinds(&spec("[]")).is_err());
    }
}
