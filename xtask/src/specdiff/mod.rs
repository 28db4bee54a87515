//! `cargo xtask spec-diff`: what a spec change means for clients, on the
//! wire and in the generated Rust API, as Markdown for a PR or JSON.

mod sdk;
mod wire;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::codegen;

/// Where a change shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// On the wire: HTTP paths, parameters, JSON fields.
    Wire,
    /// In the generated Rust API.
    Sdk,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Self::Wire => "wire",
            Self::Sdk => "sdk",
        }
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// Wire or SDK.
    pub level: Level,
    /// Whether it breaks existing clients.
    pub breaking: bool,
    /// The operationId it belongs to, if any.
    pub operation: Option<String>,
    /// What changed.
    pub message: String,
}

/// Every change from `old` to `new`, wire level first.
pub fn diff(old: &openapiv3::OpenAPI, new: &openapiv3::OpenAPI) -> Result<Vec<Change>> {
    let mut changes = wire::compare(old, new);
    let generated = |spec: &openapiv3::OpenAPI| -> Result<syn::File> {
        let text = codegen::generate_sdk(spec)?;
        syn::parse_file(&text).context("parsing generated SDK")
    };
    let operations: BTreeSet<String> = codegen::operations(old)?
        .into_iter()
        .chain(codegen::operations(new)?)
        .map(|(id, _)| id)
        .collect();
    changes.extend(sdk::compare(&generated(old)?, &generated(new)?, &operations));
    Ok(changes)
}

/// The report as JSON.
pub fn json_report(base: &str, head: &str, changes: &[Change]) -> String {
    let list: Vec<_> = changes
        .iter()
        .map(|c| {
            json!({
                "level": c.level.as_str(),
                "breaking": c.breaking,
                "operation": c.operation,
                "message": c.message,
            })
        })
        .collect();
    let report = json!({
        "base": base,
        "head": head,
        "breaking": changes.iter().filter(|c| c.breaking).count(),
        "changes": list,
    });
    format!("{}\n", serde_json::to_string_pretty(&report).unwrap_or_default())
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The report as Markdown: a verdict, breaking changes, then the rest.
pub fn markdown_report(base: &str, head: &str, changes: &[Change]) -> String {
    let breaking: Vec<&Change> = changes.iter().filter(|c| c.breaking).collect();
    let mut out = String::from("## Spec diff\n\n");
    let verdict = match (changes.len(), breaking.len()) {
        (0, _) => "✅ **No changes** to the API or the generated SDK.".to_owned(),
        (n, 0) => format!("✅ **Nothing breaks**: {n} compatible change(s)."),
        (n, b) => format!("❌ **{b} breaking change(s)** for clients ({n} change(s) in all)."),
    };
    let _ = writeln!(out, "{verdict}\n\nComparing `{base}` → `{head}`.\n");
    if !breaking.is_empty() {
        out.push_str("### Breaking\n\n| level | operation | change |\n|---|---|---|\n");
        for c in &breaking {
            let op = c.operation.as_deref().map_or("—".to_owned(), |o| format!("`{o}`"));
            let _ = writeln!(out, "| {} | {op} | {} |", c.level.as_str(), cell(&c.message));
        }
        out.push('\n');
    }
    let rest: Vec<&Change> = changes.iter().filter(|c| !c.breaking).collect();
    if !rest.is_empty() {
        out.push_str("### Compatible\n\n");
        let mut groups: BTreeMap<Option<&str>, Vec<&Change>> = BTreeMap::new();
        for c in rest {
            groups.entry(c.operation.as_deref()).or_default().push(c);
        }
        for (op, list) in groups {
            let title = op.map_or("Types and schemas".to_owned(), |o| format!("`{o}`"));
            let _ = writeln!(out, "**{title}**\n");
            for c in list {
                let _ = writeln!(out, "- {}: {}", c.level.as_str(), c.message);
            }
            out.push('\n');
        }
    }
    out
}

/// Report format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For a PR comment.
    Markdown,
    /// For machines.
    Json,
}

/// When to exit 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// When any change is breaking.
    Breaking,
    /// Never.
    None,
}

fn git(root: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .current_dir(root)
        .args(args)
        .output()
        .context("running git")?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Reads the base spec: a file if `base` names one, else a git revision
/// (default: the merge base of HEAD with `main`). Returns (label, text).
fn read_base(root: &Path, base: Option<&str>) -> Result<(String, String)> {
    if let Some(path) = base.map(Path::new).filter(|p| p.is_file()) {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))?;
        return Ok((path.display().to_string(), text));
    }
    let rev = match base {
        Some(rev) => rev.to_owned(),
        None => git(root, &["merge-base", "HEAD", "main"])
            .context("finding the merge base with main (pass --base)")?
            .trim()
            .to_owned(),
    };
    let text = git(root, &["show", &format!("{rev}:{}", codegen::SPEC)])?;
    Ok((format!("{rev}:{}", codegen::SPEC), text))
}

/// `cargo xtask spec-diff`. Returns whether the run should fail.
pub fn run(base: Option<&str>, head: Option<&str>, format: Format, fail_on: FailOn) -> Result<bool> {
    let root = codegen::workspace_root();
    let (base_label, base_text) = read_base(&root, base)?;
    let head_path = head.map_or_else(|| root.join(codegen::SPEC), |h| h.into());
    let head_text = std::fs::read_to_string(&head_path)
        .with_context(|| format!("reading {}", head_path.display()))?;
    let head_label = head.map_or(codegen::SPEC.to_owned(), str::to_owned);
    let old = codegen::parse_spec(&base_text).with_context(|| format!("base {base_label}"))?;
    let new = codegen::parse_spec(&head_text).with_context(|| format!("head {head_label}"))?;
    let changes = diff(&old, &new)?;
    let report = match format {
        Format::Markdown => markdown_report(&base_label, &head_label, &changes),
        Format::Json => json_report(&base_label, &head_label, &changes),
    };
    print!("{report}");
    Ok(fail_on == FailOn::Breaking && changes.iter().any(|c| c.breaking))
}
