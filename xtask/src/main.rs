//! Maintainer tasks for the pandapon workspace (`cargo xtask --help`).

mod codegen;
mod git;
mod output;
mod release;
mod spec;
mod specdiff;

use clap::{Parser, Subcommand};

pub use output::{ReaderGone, note, say};

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
    /// Generate from openapi/pandapon.yaml: the SDK, mock and CLI
    /// `generated.rs` files, the SDK's operation table (`operations.rs`),
    /// docs/coverage.md and docs/on-unknown.md.
    Codegen {
        /// Change nothing; fail with a diff if the generated code is stale.
        #[arg(long)]
        check: bool,
    },
    /// Report what a spec change means for clients (wire and SDK level).
    SpecDiff {
        /// Base spec: a file, or a git revision [default: merge base with main].
        #[arg(long)]
        base: Option<String>,
        /// Head spec file [default: openapi/pandapon.yaml].
        #[arg(long)]
        head: Option<String>,
        /// Format written to standard output [default: markdown, or none
        /// when --markdown or --json is given].
        #[arg(long, value_enum)]
        format: Option<specdiff::Format>,
        /// Also write the Markdown report to this file.
        #[arg(long, value_name = "FILE")]
        markdown: Option<std::path::PathBuf>,
        /// Also write the JSON report to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<std::path::PathBuf>,
        /// Exit 1 when a change is breaking.
        #[arg(long, value_enum, default_value = "none")]
        fail_on: specdiff::FailOn,
    },
    /// Propose the next release: the version from spec-diff's verdict and
    /// cargo-semver-checks' (the stronger one), the CHANGELOG.md section from
    /// the spec change, the hand-written API change and the commits since the
    /// last release tag. Runs the gates first (a clean tree, codegen --check,
    /// cargo package and the MSRV check); then writes CHANGELOG.md, bumps
    /// every published crate's version, commits and tags. Never publishes: it
    /// prints the `cargo publish` commands in order (docs/releasing.md).
    Release {
        /// Print the version and the changelog section; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Compare with this tag instead of the last release tag (vX.Y.Z).
        #[arg(long, value_name = "TAG")]
        since: Option<String>,
    },
    /// For one spec-diff fixture case: write the SDK generated from the real
    /// spec plus the fixture base (base.rs for pandapon-gen, base-types.rs
    /// for pandapon-types) and plus the case (head.rs, head-types.rs), and
    /// spec-diff's SDK verdict (used by scripts/semver-agreement.sh).
    SpecDiffFixture {
        /// The case file (xtask/fixtures/spec-diff/cases/*.yaml).
        case: std::path::PathBuf,
        /// Folder to write base.rs, base-types.rs, head.rs, head-types.rs,
        /// verdict and sdk-changes.json to.
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    match run(Cli::parse()) {
        Err(e) if e.is::<ReaderGone>() => Ok(std::process::ExitCode::SUCCESS),
        other => other,
    }
}

fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match cli.command {
        Command::Codegen { check: false } => codegen::write()?,
        Command::Codegen { check: true } => codegen::check()?,
        Command::SpecDiff {
            base,
            head,
            format,
            markdown,
            json,
            fail_on,
        } => {
            let outputs = specdiff::Outputs {
                stdout: format,
                markdown: markdown.as_deref(),
                json: json.as_deref(),
            };
            let fail = specdiff::run(base.as_deref(), head.as_deref(), outputs, fail_on)?;
            if fail {
                return Ok(std::process::ExitCode::FAILURE);
            }
        }
        Command::Release { dry_run, since } => {
            release::run(&release::Options { dry_run, since })?;
        }
        Command::SpecDiffFixture { case, out } => specdiff::fixture::write_case(&case, &out)?,
    }
    Ok(std::process::ExitCode::SUCCESS)
}
