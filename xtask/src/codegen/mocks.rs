//! The mock crate's generated file: progenitor's typed httpmock extension
//! and each operation's documented example for the fake server.

use anyhow::{Context, Result};
use progenitor::Generator;
use quote::quote;

use super::{contract, progenitor_err, render, sdk_settings};
use crate::spec;

/// Path of the mock crate's generated module.
pub const MOCK_OUT: &str = "crates/pandapon-httpmock/src/generated.rs";

/// How generated code outside the SDK names it.
const SDK_CRATE: &str = "pandapon_gen";

/// Generates the mock crate's `generated.rs`: progenitor's typed httpmock
/// extension, and each operation's documented example for the fake server.
pub fn generate_mock(api: &spec::Api<'_>) -> Result<String> {
    let spec = api.doc;
    let mut generator = Generator::new(&sdk_settings(spec)?);
    let mut tokens = generator
        .httpmock(spec, SDK_CRATE)
        .map_err(progenitor_err)?;
    tokens.extend(examples(api)?);
    let mut file: syn::File =
        syn::parse2(tokens).context("parsing progenitor's httpmock output")?;
    // Every operation's response mock takes its body type (`then.ok(..)`),
    // so at least as many methods take builders as there are operations.
    let changed = super::shape(contract::mocks_take_builders(&mut file))?;
    let ops = api.ops().len();
    anyhow::ensure!(
        changed >= ops,
        "{changed} typed mock methods took a `&types::X` value, fewer than the {ops} operations' \
         responses: has progenitor's output changed?"
    );
    Ok(render(&file))
}

/// `EXAMPLES`: each operation's first documented response example (as
/// JSON text), for the fake server, which takes everything else about the
/// operation from the SDK's `OPERATIONS`.
fn examples(api: &spec::Api<'_>) -> Result<proc_macro2::TokenStream> {
    let mut rows = Vec::new();
    for op in api.ops() {
        let example = op
            .success_example()
            .map(serde_json::to_string)
            .transpose()?;
        if let Some(text) = example {
            let id = &op.id;
            rows.push((id.clone(), quote!((#id, #text))));
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let rows = rows.into_iter().map(|(_, row)| row);
    Ok(quote! {
        /// (operationId, first documented response example), sorted by id.
        pub(crate) const EXAMPLES: &[(&str, &str)] = &[#(#rows),*];
    })
}
