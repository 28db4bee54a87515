//! Maintainer tasks for the pandapon workspace (`cargo xtask --help`).

mod codegen;
mod coverage;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Maintainer tasks for the pandapon workspace"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate crates/pandapon-gen/src/generated.rs and the README's coverage
    /// table from openapi/pandapon.yaml.
    Codegen {
        /// Change nothing; fail with a diff if the generated code is stale.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Codegen { check: false } => codegen::write(),
        Command::Codegen { check: true } => codegen::check(),
    }
}
