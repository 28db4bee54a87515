//! `cargo xtask spec-diff`: what a spec change means for clients, on the
//! wire and in the generated Rust API, as Markdown for a PR or JSON.

pub mod fixture;
mod sdk;
mod wire;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::{codegen, spec};

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

/// What a change does to existing clients. The JSON report's `impact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Impact {
    /// Code or clients that worked before break: on the wire, a request
    /// PandaPon now refuses or an answer a client cannot read; in Rust, code
    /// that no longer compiles.
    Breaking,
    /// Rust code still compiles, but its calls fail until it sets a value
    /// that is now required (builders check required values at run time).
    FailsAtRunTime,
    /// Nothing that worked before stops working.
    Compatible,
}

impl Impact {
    /// `breaking`, `fails-at-run-time` or `compatible`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Breaking => "breaking",
            Self::FailsAtRunTime => "fails-at-run-time",
            Self::Compatible => "compatible",
        }
    }

    fn breaking_if(breaking: bool) -> Self {
        if breaking {
            Self::Breaking
        } else {
            Self::Compatible
        }
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// Wire or SDK.
    pub level: Level,
    /// What it does to existing clients.
    pub impact: Impact,
    /// What sort of change it is, in kebab case (`request-input-removed`,
    /// `field-type-changed`, …): what scripts match on, never the message.
    pub kind: &'static str,
    /// The operationId it belongs to, if any.
    pub operation: Option<String>,
    /// What changed.
    pub message: String,
}

impl Change {
    /// Whether it breaks existing clients or code.
    pub fn breaking(&self) -> bool {
        self.impact == Impact::Breaking
    }
}

/// A spec codegen refuses: the SDK level of the report is partial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `base` or `head`.
    pub spec: &'static str,
    /// Codegen's error, with its causes.
    pub reason: String,
}

/// What spec-diff found: the changes it could see, and the specs codegen
/// refuses (then the SDK level holds only what could be compared without
/// generating).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Every change, wire level first.
    pub changes: Vec<Change>,
    /// The specs codegen refuses, base first.
    pub refused: Vec<Refusal>,
}

/// Every change from `old` to `new`, wire level first; an error when either
/// spec cannot be generated (see [`compare`] for a report that goes on).
pub fn diff(old: &openapiv3::OpenAPI, new: &openapiv3::OpenAPI) -> Result<Vec<Change>> {
    let report = compare(old, new)?;
    if let Some(r) = report.refused.first() {
        bail!("codegen refuses the {}: {}", r.spec, r.reason);
    }
    Ok(report.changes)
}

/// The report on `old` → `new`. The wire level needs only specs that parse
/// (and whose operations have ids); the SDK level is whatever can be
/// compared when codegen refuses one of them, which the report names.
pub fn compare(old: &openapiv3::OpenAPI, new: &openapiv3::OpenAPI) -> Result<Report> {
    let (old_api, new_api) = match (spec::Api::new(old), spec::Api::new(new)) {
        (Ok(old_api), Ok(new_api)) => (old_api, new_api),
        // Operations without ids (or with one id twice) cannot be paired
        // up: no wire or SDK comparison, only the reason and what the
        // hand-written types say.
        (old_api, new_api) => {
            let refused: Vec<Refusal> = [("base", old_api.err()), ("head", new_api.err())]
                .into_iter()
                .filter_map(|(spec, e)| {
                    e.map(|e| Refusal {
                        spec,
                        reason: format!("{e:#}"),
                    })
                })
                .collect();
            let changes = replaced_types(old, new).unwrap_or_default();
            return Ok(Report { changes, refused });
        }
    };
    let mut changes = wire::compare(&old_api, &new_api)?;
    let mut refused = Vec::new();
    let mut generated = |name: &'static str, api: &spec::Api<'_>| {
        let file = codegen::sdk::generate_sdk_from(api)
            .and_then(|text| syn::parse_file(&text).context("parsing generated SDK"));
        file.map_err(|e| {
            refused.push(Refusal {
                spec: name,
                reason: format!("{e:#}"),
            });
        })
        .ok()
    };
    let (before, after) = (generated("base", &old_api), generated("head", &new_api));
    if let (Some(before), Some(after)) = (before, after) {
        let operations: BTreeSet<String> = old_api
            .ops()
            .iter()
            .chain(new_api.ops())
            .map(|op| op.id.clone())
            .collect();
        changes.extend(sdk::compare(&before, &after, &operations));
    }
    match replaced_types(old, new) {
        Ok(replaced) => changes.extend(replaced),
        Err(e) if !refused.is_empty() => {
            let _ = e;
        }
        Err(e) => return Err(e),
    }
    Ok(Report { changes, refused })
}

/// Components whose hand-written Rust type (`x-pandapon-type`) changed,
/// appeared or went away. Each is SDK-major: every field of that component
/// changes type. The field-by-field report shows where; this names the
/// cause, including for a component no generated field uses yet. The wire
/// form is the hand-written type's own, which the spec cannot show: a
/// reviewer checks it (`money::Fen` writes an integer, `money::Yuan` a
/// string).
fn replaced_types(old: &openapiv3::OpenAPI, new: &openapiv3::OpenAPI) -> Result<Vec<Change>> {
    let types = |spec: &openapiv3::OpenAPI| -> Result<BTreeMap<String, String>> {
        Ok(codegen::replacements(spec)?
            .into_iter()
            .map(|r| (r.schema, r.rust))
            .collect())
    };
    let (before, after) = (types(old)?, types(new)?);
    let exists = |spec: &openapiv3::OpenAPI, name: &str| {
        spec.components
            .as_ref()
            .is_some_and(|c| c.schemas.contains_key(name))
    };
    let mut changes = Vec::new();
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for name in names {
        let message = match (before.get(name), after.get(name)) {
            (Some(a), Some(b)) if a != b => format!(
                "component {name}'s Rust type (x-pandapon-type) changed: {a} → {b}; its wire form \
                 is now {b}'s own"
            ),
            (Some(a), None) if exists(new, name) => format!(
                "component {name} no longer has a hand-written Rust type (x-pandapon-type {a} \
                 removed)"
            ),
            (None, Some(b)) if exists(old, name) => format!(
                "component {name} now has a hand-written Rust type (x-pandapon-type {b}); its \
                 wire form is now {b}'s own"
            ),
            _ => continue,
        };
        changes.push(Change {
            level: Level::Sdk,
            impact: Impact::Breaking,
            kind: "rust-type-changed",
            operation: None,
            message,
        });
    }
    Ok(changes)
}

/// The release of the generated SDK a change set needs, by Rust's semver
/// rules (the verdict cargo-semver-checks gives, where it can see the change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdkSemver {
    /// Some SDK-level change is breaking.
    Major,
    /// The Rust API changed, compatibly.
    Minor,
    /// The Rust API did not change.
    None,
    /// Codegen refuses one of the specs: the SDK cannot be compared whole.
    Unknown,
}

impl SdkSemver {
    /// `major`, `minor` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Major => "major",
            Self::Minor => "minor",
            Self::None => "none",
            Self::Unknown => "unknown",
        }
    }
}

/// The SDK-level verdict of `changes`.
pub fn sdk_semver(changes: &[Change]) -> SdkSemver {
    let sdk = || changes.iter().filter(|c| c.level == Level::Sdk);
    if sdk().any(Change::breaking) {
        SdkSemver::Major
    } else if sdk().next().is_some() {
        SdkSemver::Minor
    } else {
        SdkSemver::None
    }
}

/// The SDK verdict of a report: [`SdkSemver::Unknown`] when codegen
/// refuses a spec.
fn semver_of(report: &Report) -> SdkSemver {
    if report.refused.is_empty() {
        sdk_semver(&report.changes)
    } else {
        SdkSemver::Unknown
    }
}

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
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return Ok((path.display().to_string(), text));
    }
    let rev = match base {
        Some(rev) => rev.to_owned(),
        None => git(root, &["merge-base", "HEAD", "main"])
            .context("finding the merge base with main (pass --base)")?
            .trim()
            .to_owned(),
    };
    let text = git(root, &["show", &format!("{rev}:{}", spec::SPEC)])?;
    Ok((format!("{rev}:{}", spec::SPEC), text))
}

/// Where `cargo xtask spec-diff` writes its report: one run, any formats.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outputs<'a> {
    /// The format written to standard output: Markdown when neither file
    /// is given, nothing when one is.
    pub stdout: Option<Format>,
    /// A file for the Markdown report.
    pub markdown: Option<&'a Path>,
    /// A file for the JSON report.
    pub json: Option<&'a Path>,
}

/// `cargo xtask spec-diff`. Returns whether the run should fail: with
/// `--fail-on breaking`, when a change is breaking or codegen refuses the
/// head.
pub fn run(
    base: Option<&str>,
    head: Option<&str>,
    outputs: Outputs<'_>,
    fail_on: FailOn,
) -> Result<bool> {
    let root = spec::workspace_root();
    let (base_label, base_text) = read_base(&root, base)?;
    let head_path = head.map_or_else(|| root.join(spec::SPEC), |h| h.into());
    let head_text = std::fs::read_to_string(&head_path)
        .with_context(|| format!("reading {}", head_path.display()))?;
    let head_label = head.map_or(spec::SPEC.to_owned(), str::to_owned);
    let old = spec::parse_spec(&base_text).with_context(|| format!("base {base_label}"))?;
    let new = spec::parse_spec(&head_text).with_context(|| format!("head {head_label}"))?;
    let report = compare(&old, &new)?;
    let text = |format| match format {
        Format::Markdown => markdown_report(&base_label, &head_label, &report),
        Format::Json => json_report(&base_label, &head_label, &report),
    };
    for (path, format) in [
        (outputs.markdown, Format::Markdown),
        (outputs.json, Format::Json),
    ] {
        if let Some(path) = path {
            std::fs::write(path, text(format))
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    // Decided before anything is printed: a reader that goes away early
    // (`| head`) does not turn a failing verdict into a pass.
    let refused_head = report.refused.iter().any(|r| r.spec == "head");
    let fail = fail_on == FailOn::Breaking
        && (refused_head || report.changes.iter().any(Change::breaking));
    let files = outputs.markdown.is_some() || outputs.json.is_some();
    let printed = match (outputs.stdout, files) {
        (Some(format), _) => crate::say(&text(format)),
        (None, false) => crate::say(&text(Format::Markdown)),
        (None, true) => Ok(()),
    };
    match printed {
        Err(e) if e.is::<crate::ReaderGone>() && fail => Ok(true),
        other => other.map(|()| fail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn fixtures() -> std::path::PathBuf {
        fixture::dir()
    }

    fn yaml(path: &Path) -> Value {
        fixture::yaml(path).expect("fixture is YAML")
    }

    fn patched(base: &Value, patch: &Value) -> openapiv3::OpenAPI {
        fixture::patched(base, patch).expect("patched spec is OpenAPI")
    }

    fn complete(changes: Vec<Change>) -> Report {
        Report {
            changes,
            refused: Vec::new(),
        }
    }

    fn show(changes: &[Change]) -> String {
        changes
            .iter()
            .map(|c| {
                format!(
                    "  {:?} breaking={} {:?}: {}",
                    c.level,
                    c.breaking(),
                    c.operation,
                    c.message
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Each case: every expected change is reported with that level,
    /// classification and operation, and nothing else breaking is reported.
    #[test]
    fn fixture_cases_classify_as_expected() {
        let base = yaml(&fixtures().join("base.yaml"));
        let mut cases: Vec<_> = std::fs::read_dir(fixtures().join("cases"))
            .expect("cases dir")
            .map(|e| e.expect("entry").path())
            .collect();
        cases.sort();
        assert!(cases.len() >= 25, "only {} cases", cases.len());
        let mut failures = Vec::new();
        for path in &cases {
            let case = yaml(path);
            let old = patched(&base, case.get("old").unwrap_or(&Value::Null));
            let new = patched(&base, &case["new"]);
            let changes = diff(&old, &new).expect("diff runs");
            let expected = case["expect"].as_array().expect("expect list");
            let matches = |e: &Value, c: &Change| {
                e["level"].as_str() == Some(c.level.as_str())
                    && e["breaking"].as_bool() == Some(c.breaking())
                    && e.get("impact")
                        .is_none_or(|i| i.as_str() == Some(c.impact.as_str()))
                    && e["operation"].as_str() == c.operation.as_deref()
                    && c.message.contains(e["contains"].as_str().unwrap_or("\0"))
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            for e in expected {
                if !changes.iter().any(|c| matches(e, c)) {
                    failures.push(format!("{name}: expected {e}\n{}", show(&changes)));
                }
            }
            for c in changes.iter().filter(|c| c.breaking()) {
                if !expected.iter().any(|e| matches(e, c)) {
                    failures.push(format!(
                        "{name}: unexpected breaking change\n{}",
                        show(std::slice::from_ref(c))
                    ));
                }
            }
            if expected.is_empty() && !changes.is_empty() {
                failures.push(format!("{name}: expected no changes\n{}", show(&changes)));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }

    #[test]
    fn markdown_and_json_reports_match_snapshots() {
        let base = yaml(&fixtures().join("base.yaml"));
        for case in [
            "05-operation-id-renamed",
            "20-response-field-removed",
            "01-no-change",
        ] {
            let case_doc = yaml(&fixtures().join(format!("cases/{case}.yaml")));
            let old = patched(&base, &Value::Null);
            let new = patched(&base, &case_doc["new"]);
            let changes = diff(&old, &new).expect("diff");
            let md = markdown_report("base.yaml", &format!("{case}.yaml"), &complete(changes));
            expectorate::assert_contents(fixtures().join(format!("snapshots/{case}.md")), &md);
        }
        let case_doc = yaml(&fixtures().join("cases/20-response-field-removed.yaml"));
        let changes = diff(
            &patched(&base, &Value::Null),
            &patched(&base, &case_doc["new"]),
        )
        .expect("diff");
        let json: Value =
            serde_json::from_str(&json_report("a", "b", &complete(changes))).expect("JSON");
        assert_eq!(json["breaking"], 2);
        for c in json["changes"].as_array().expect("changes") {
            assert!(
                c["level"].is_string() && c["breaking"].is_boolean() && c["message"].is_string()
            );
            assert!(c.get("operation").is_some());
        }
    }

    /// The repository's spec, as YAML to patch.
    fn real_spec() -> Value {
        fixture::yaml(&spec::workspace_root().join(spec::SPEC)).expect("spec")
    }

    /// The report on a realistic change to the real spec.
    #[test]
    fn a_change_to_the_real_spec_reads_well() {
        let real = real_spec();
        let patch = yaml(&fixtures().join("real-spec-change.yaml"));
        let old = patched(&real, &Value::Null);
        let new = patched(&real, &patch);
        let changes = diff(&old, &new).expect("diff");
        let md = markdown_report("main", "this PR", &complete(changes.clone()));
        expectorate::assert_contents(fixtures().join("snapshots/real-spec-change.md"), &md);
        assert!(changes.iter().any(|c| c.breaking()));
    }

    #[test]
    fn dropping_a_pagination_mark_removes_the_streams() {
        let real = real_spec();
        let unmark = serde_json::json!({"paths": {"/v2/alibaba/product/keywords/query": {
            "post": {"x-pandapon-paginated": null}
        }}});
        let marked = patched(&real, &Value::Null);
        let unmarked = patched(&real, &unmark);
        let removed = diff(&marked, &unmarked).expect("diff");
        for method in ["pages", "items"] {
            let message = format!("AlibabaProductKeywordSearch::{method}() was removed");
            assert!(
                removed.iter().any(|c| c.breaking() && c.message == message),
                "{}",
                show(&removed)
            );
        }
        assert_eq!(sdk_semver(&removed), SdkSemver::Major);
        let added = diff(&unmarked, &marked).expect("diff");
        assert!(
            added
                .iter()
                .any(|c| !c.breaking()
                    && c.message == "AlibabaProductKeywordSearch::pages() was added"),
            "{}",
            show(&added)
        );
        assert_eq!(sdk_semver(&added), SdkSemver::Minor);
    }

    #[test]
    fn the_base_is_a_file_or_a_git_revision() {
        let root = spec::workspace_root();
        let file = fixtures().join("base.yaml");
        let (label, text) = read_base(&root, file.to_str()).expect("file base");
        assert!(label.ends_with("base.yaml") && text.contains("thing_order_create"));
        let (label, text) = read_base(&root, Some("HEAD")).expect("revision base");
        assert_eq!(label, "HEAD:openapi/pandapon.yaml");
        assert!(spec::parse_spec(&text).is_ok());
        let err = read_base(&root, Some("no-such-revision-xyz")).expect_err("bad revision");
        assert!(err.to_string().contains("git show"), "{err}");
    }

    #[test]
    fn one_run_writes_both_formats_and_fail_on_decides_the_exit() {
        let dir = std::env::temp_dir().join(format!("spec-diff-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let base = fixtures().join("base.yaml");
        let mut doc = yaml(&base);
        let case = yaml(&fixtures().join("cases/20-response-field-removed.yaml"));
        json_patch::merge(&mut doc, &case["new"]);
        let head = dir.join("head.yaml");
        std::fs::write(&head, serde_yaml::to_string(&doc).expect("yaml")).expect("write");
        let (md, js) = (dir.join("report.md"), dir.join("report.json"));
        let both = Outputs {
            stdout: None,
            markdown: Some(&md),
            json: Some(&js),
        };
        let (b, h) = (base.to_str(), head.to_str());
        assert!(run(b, h, both, FailOn::Breaking).expect("runs"));
        let markdown = std::fs::read_to_string(&md).expect("markdown written");
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(&js).expect("json written"))
                .expect("JSON");
        assert!(markdown.contains("2 breaking change(s)"), "{markdown}");
        assert_eq!(json["breaking"], 2);
        assert!(!run(b, h, both, FailOn::None).expect("runs"));
        assert!(!run(b, b, both, FailOn::Breaking).expect("runs"));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    /// Over every fixture case: each change in the JSON has an impact from
    /// the fixed set and a kebab-case kind, and `breaking` agrees with it.
    #[test]
    fn every_change_carries_an_impact_and_a_kind() {
        let base = yaml(&fixtures().join("base.yaml"));
        let mut impacts = BTreeSet::new();
        for entry in std::fs::read_dir(fixtures().join("cases")).expect("cases dir") {
            let case = yaml(&entry.expect("entry").path());
            let old = patched(&base, case.get("old").unwrap_or(&Value::Null));
            let new = patched(&base, &case["new"]);
            let report = compare(&old, &new).expect("diff runs");
            let json: Value = serde_json::from_str(&json_report("a", "b", &report)).expect("JSON");
            for c in json["changes"].as_array().expect("changes") {
                let impact = c["impact"].as_str().expect("impact");
                assert!(
                    ["breaking", "fails-at-run-time", "compatible"].contains(&impact),
                    "{c}"
                );
                assert_eq!(c["breaking"].as_bool(), Some(impact == "breaking"), "{c}");
                let kind = c["kind"].as_str().expect("kind");
                assert!(
                    !kind.is_empty()
                        && kind.split('-').all(|w| {
                            !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase())
                        }),
                    "{c}"
                );
                impacts.insert(impact.to_owned());
            }
        }
        assert_eq!(
            impacts.len(),
            3,
            "the fixtures show every impact: {impacts:?}"
        );
    }

    /// A head that removes an operation another operation's on-unknown
    /// guidance names: codegen refuses it, and the report says so first,
    /// then gives the wire level anyway.
    #[test]
    fn a_head_codegen_refuses_still_gets_a_report() {
        let real = real_spec();
        let old = patched(&real, &Value::Null);
        let drop_list = serde_json::json!({"paths": {"/v2/alibaba/cart/list": null}});
        let new = patched(&real, &drop_list);
        let report = compare(&old, &new).expect("a report");
        assert_eq!(report.refused.len(), 1);
        assert_eq!(report.refused[0].spec, "head");
        assert!(
            report.refused[0].reason.contains("alibaba_cart_list"),
            "{}",
            report.refused[0].reason
        );
        assert!(report.changes.iter().any(|c| c.level == Level::Wire
            && c.breaking()
            && c.operation.as_deref() == Some("alibaba_cart_list")));
        let md = markdown_report("main", "this PR", &report);
        let after_title = md.strip_prefix("## Spec diff\n\n").expect("title");
        assert!(
            after_title.starts_with("⛔ **Codegen refuses the head spec**"),
            "{md}"
        );
        assert!(md.contains("⚠️ **Partial report**"), "{md}");
        assert!(!md.contains("✅"), "no all-clear on a partial report: {md}");
        let json: Value =
            serde_json::from_str(&json_report("main", "this PR", &report)).expect("JSON");
        assert_eq!(json["sdk_semver"], "unknown");
        assert_eq!(json["refused"][0]["spec"], "head");
        assert!(diff(&old, &new).is_err(), "diff() still refuses");
    }

    /// A head whose operation lost its id: nothing can be paired up, but the
    /// report still says why.
    #[test]
    fn a_head_without_operation_ids_still_gets_a_report() {
        let base = yaml(&fixtures().join("base.yaml"));
        let no_id = serde_json::json!({"paths": {"/v2/thing/get": {"get": {"operationId": null}}}});
        let report =
            compare(&patched(&base, &Value::Null), &patched(&base, &no_id)).expect("a report");
        assert_eq!(report.refused.len(), 1);
        assert_eq!(report.refused[0].spec, "head");
        assert!(
            report.refused[0].reason.contains("has no operationId"),
            "{}",
            report.refused[0].reason
        );
        let md = markdown_report("base", "head", &report);
        assert!(md.contains("⛔ **Codegen refuses the head spec**"), "{md}");
    }

    #[test]
    fn a_no_op_diff_of_the_real_spec_is_empty() {
        let spec = spec::load_spec(&spec::workspace_root()).expect("spec");
        assert_eq!(diff(&spec, &spec).expect("diff"), Vec::new());
    }
}
