//! `cargo xtask spec-diff`: what a spec change means for clients, on the
//! wire and in the generated Rust API, as Markdown for a PR or JSON.
//!
//! The rooms: this file compares two specs and runs the command;
//! `model.rs` is what a comparison finds, `wire.rs` and `sdk.rs` the two
//! levels it looks at, `render.rs` the reports, `git.rs` where the base
//! comes from, `fixture.rs` the test fixtures' specs.

pub mod fixture;
mod git;
mod model;
mod render;
mod sdk;
mod wire;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, bail};

use self::git::read_base;
pub use self::model::{Change, Impact, Level, Refusal, Report, SdkSemver, sdk_semver};
pub use self::render::{Format, json_report, markdown_report};
use crate::{codegen, spec};

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
        let file =
            sdk_text(api).and_then(|text| syn::parse_file(&text).context("parsing generated SDK"));
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

/// The generated SDK's text for `api`.
#[cfg(not(test))]
fn sdk_text(api: &spec::Api<'_>) -> Result<String> {
    codegen::sdk::generate_sdk_from(api)
}

/// The generated SDK's text for `api`, generated once per spec in a test
/// run: the tests compare the same specs many times over (the fixtures'
/// base in every case, the repository's spec in four tests), and
/// generating the repository's spec takes over a second in a debug build.
/// Generation is deterministic (`codegen::freshness`'s tests check it), so
/// the text is the same either way; a spec codegen refuses is tried again
/// each time.
#[cfg(test)]
fn sdk_text(api: &spec::Api<'_>) -> Result<String> {
    use std::sync::{Mutex, PoisonError};
    static GENERATED: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());
    // Not held while generating, so that tests generate different specs at
    // once.
    let generated = || GENERATED.lock().unwrap_or_else(PoisonError::into_inner);
    let key = serde_json::to_string(api.doc).context("the spec as JSON")?;
    let known = generated().get(&key).cloned();
    if let Some(text) = known {
        return Ok(text);
    }
    let text = codegen::sdk::generate_sdk_from(api)?;
    generated().insert(key, text.clone());
    Ok(text)
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

/// When to exit 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// When any change is breaking.
    Breaking,
    /// Never.
    None,
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
    use super::git::read_base;
    use super::model::SdkSemver;
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
