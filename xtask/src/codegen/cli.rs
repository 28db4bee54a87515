//! The CLI's generated file: progenitor's clap commands.

use anyhow::{Context, Result};
use progenitor::Generator;

use super::{progenitor_err, render, sdk_settings};
use crate::on_unknown;

/// Path of the CLI's generated module.
pub const CLI_OUT: &str = "crates/pandapon-cli/src/generated.rs";

/// Generates the CLI's `generated.rs`: progenitor's clap commands.
pub fn generate_cli(spec: &openapiv3::OpenAPI) -> Result<String> {
    let spec = &on_unknown::annotate(spec)?;
    let mut generator = Generator::new(&sdk_settings(spec)?);
    // The CLI's `sdk` module re-exports the SDK with progenitor's error type,
    // which the generated hooks expect under the name `Error`.
    let tokens = generator.cli(spec, "crate::sdk").map_err(progenitor_err)?;
    let file: syn::File = syn::parse2(tokens).context("parsing progenitor's CLI output")?;
    Ok(render(&file))
}
