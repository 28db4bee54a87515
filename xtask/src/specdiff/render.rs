//! The report as a reviewer reads it (Markdown, for a PR) and as a machine
//! does (JSON).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use super::model::{Change, Impact, Report, SdkSemver, semver_of};
use crate::codegen;

/// The report as JSON.
pub fn json_report(base: &str, head: &str, report: &Report) -> String {
    let changes = &report.changes;
    let list: Vec<_> = changes
        .iter()
        .map(|c| {
            json!({
                "level": c.level.as_str(),
                "impact": c.impact.as_str(),
                "kind": c.kind,
                "breaking": c.breaking(),
                "operation": c.operation,
                "message": c.message,
            })
        })
        .collect();
    let refused: Vec<_> = report
        .refused
        .iter()
        .map(|r| json!({"spec": r.spec, "reason": r.reason}))
        .collect();
    let report = json!({
        "base": base,
        "head": head,
        "refused": refused,
        "breaking": changes.iter().filter(|c| c.breaking()).count(),
        "sdk_semver": semver_of(report).as_str(),
        "changes": list,
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    )
}

/// The report as Markdown: what codegen refuses, a verdict, breaking
/// changes, then the rest.
pub fn markdown_report(base: &str, head: &str, report: &Report) -> String {
    let changes = &report.changes;
    let breaking: Vec<&Change> = changes.iter().filter(|c| c.breaking()).collect();
    let mut out = String::from("## Spec diff\n\n");
    for r in &report.refused {
        let _ = writeln!(
            out,
            "⛔ **Codegen refuses the {} spec**, so `cargo xtask codegen` fails on it and the \
             report below is partial (what could be compared without generating):\n\n\
             ```text\n{}\n```\n",
            r.spec, r.reason
        );
    }
    let run_time = changes
        .iter()
        .filter(|c| c.impact == Impact::FailsAtRunTime)
        .count();
    let compatible = changes.len() - breaking.len() - run_time;
    let counts = format!(
        "{} breaking, {run_time} failing at run time, {compatible} compatible",
        breaking.len()
    );
    let verdict = if !report.refused.is_empty() {
        format!("⚠️ **Partial report**: codegen refuses a spec (below). Seen so far: {counts}.")
    } else if changes.is_empty() {
        "✅ **No changes** to the API or the generated SDK.".to_owned()
    } else if !breaking.is_empty() {
        format!(
            "❌ **{} breaking change(s)** for clients; {run_time} failing at run time, \
             {compatible} compatible.",
            breaking.len()
        )
    } else if run_time > 0 {
        format!("⚠️ **Nothing breaks at compile time**, but calls can fail at run time ({counts}).")
    } else {
        format!("✅ **Nothing breaks**: {compatible} compatible change(s).")
    };
    let _ = writeln!(out, "{verdict}\n\nComparing `{base}` → `{head}`.\n");
    let semver = match semver_of(report) {
        SdkSemver::Major => "**major**: a change breaks Rust code that compiled before",
        SdkSemver::Minor => "**minor**: Rust code that compiled before still compiles",
        SdkSemver::None => "**none**: the generated Rust API is unchanged",
        SdkSemver::Unknown => "**unknown**: codegen refuses a spec (above)",
    };
    let _ = writeln!(out, "Release of the Rust SDK this needs: {semver}.\n");
    if !breaking.is_empty() {
        out.push_str("### Breaking\n\n| level | operation | change |\n|---|---|---|\n");
        for c in &breaking {
            let op = c
                .operation
                .as_deref()
                .map_or("—".to_owned(), |o| format!("`{o}`"));
            let _ = writeln!(
                out,
                "| {} | {op} | {} |",
                c.level.as_str(),
                codegen::cell(&c.message)
            );
        }
        out.push('\n');
    }
    let run_time: Vec<&Change> = changes
        .iter()
        .filter(|c| c.impact == Impact::FailsAtRunTime)
        .collect();
    if !run_time.is_empty() {
        out.push_str(
            "### Compiles, but fails at run time\n\n\
             Rust code that builds these requests without the value still compiles: \
             generated types are built with builders, so a newly required value is \
             checked when the call is made, not by the compiler. Callers must set it.\n\n",
        );
        for c in &run_time {
            let op = c
                .operation
                .as_deref()
                .map_or(String::new(), |o| format!("`{o}`: "));
            let _ = writeln!(out, "- {op}{}", c.message);
        }
        out.push('\n');
    }
    let rest: Vec<&Change> = changes
        .iter()
        .filter(|c| c.impact == Impact::Compatible)
        .collect();
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
