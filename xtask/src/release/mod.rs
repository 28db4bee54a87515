//! `cargo xtask release`: the next version from spec-diff's verdict and
//! cargo-semver-checks' together, and the changelog section from the spec
//! change, the hand-written API change and the commits since the last
//! release. It runs the gates first; it never publishes.

mod changelog;
mod commits;
mod semver_checks;
mod version;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use semver::Version;

use self::version::Bump;
use crate::git::git;
use crate::specdiff::{self, Change, Impact, Level, SdkSemver};
use crate::{codegen, spec};

/// What `cargo xtask release` was asked.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Print the version and the section; change nothing.
    pub dry_run: bool,
    /// Compare with this tag instead of the last release.
    pub since: Option<String>,
}

/// The repository `cargo xtask release` works on: the git work tree of the
/// current directory, if it holds the spec; else the one xtask was built in.
fn repository() -> Result<PathBuf> {
    let here = std::env::current_dir().context("reading the current directory")?;
    let root = match git(&here, &["rev-parse", "--show-toplevel"]) {
        Ok(top) => PathBuf::from(top.trim()),
        Err(_) => spec::workspace_root(),
    };
    if !root.join(spec::SPEC).is_file() {
        bail!(
            "{} is not the pandapon repository (no {})",
            root.display(),
            spec::SPEC
        );
    }
    Ok(root)
}

/// Release tags reachable from HEAD, newest first.
fn release_tags(root: &Path) -> Result<Vec<(String, Version)>> {
    let list = git(root, &["tag", "--list", "v*", "--merged", "HEAD"])?;
    let mut tags: Vec<(String, Version)> = list
        .lines()
        .filter_map(|t| Some((t.to_owned(), version::of_tag(t).ok()?)))
        .collect();
    tags.sort_by(|a, b| b.1.cmp(&a.1));
    Ok(tags)
}

/// The published crates (the members that do not say `publish = false`) in
/// the order they must be published: each after the crates it depends on.
/// With whether each has a library (what cargo-semver-checks compares).
fn published(root: &Path) -> Result<Vec<(String, bool)>> {
    let out = Command::new("cargo")
        .current_dir(root)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading cargo metadata")?;
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    let publishable: Vec<&serde_json::Value> =
        packages.iter().filter(|p| p["publish"].is_null()).collect();
    let name = |p: &serde_json::Value| p["name"].as_str().unwrap_or_default().to_owned();
    let names: Vec<String> = publishable.iter().map(|p| name(p)).collect();
    let mut order: Vec<(String, bool)> = Vec::new();
    while order.len() < publishable.len() {
        let before = order.len();
        for p in &publishable {
            let n = name(p);
            if order.iter().any(|(o, _)| *o == n) {
                continue;
            }
            let deps = p["dependencies"].as_array().cloned().unwrap_or_default();
            let ready = deps.iter().all(|d| {
                let dep = d["name"].as_str().unwrap_or_default();
                // Dev-dependencies are not published with the crate.
                d["kind"].as_str() == Some("dev")
                    || !names.iter().any(|x| x == dep)
                    || dep == n
                    || order.iter().any(|(o, _)| o == dep)
            });
            if ready {
                let lib = p["targets"].as_array().is_some_and(|ts| {
                    ts.iter().any(|t| {
                        t["kind"]
                            .as_array()
                            .is_some_and(|k| k.iter().any(|k| k == "lib"))
                    })
                });
                order.push((n, lib));
            }
        }
        if order.len() == before {
            bail!("the published crates depend on each other in a cycle");
        }
    }
    Ok(order)
}

/// spec-diff's verdict for the release: breaking when any change, on the
/// wire or in Rust, breaks callers or makes their calls fail; additive when
/// something was added or the Rust API grew; else a patch.
fn spec_bump(changes: &[Change]) -> Bump {
    if changes.iter().any(|c| c.impact != Impact::Compatible) {
        Bump::Breaking
    } else if specdiff::sdk_semver(changes) == SdkSemver::Minor
        || changes.iter().any(|c| c.kind.ends_with("-added"))
    {
        Bump::Additive
    } else {
        Bump::Patch
    }
}

/// Runs a gate, its output on stderr; an error naming it when it fails.
fn gate(name: &str, run: impl FnOnce() -> Result<()>) -> Result<()> {
    eprintln!("gate: {name}");
    run().with_context(|| format!("gate failed: {name}; nothing was released"))
}

/// `cargo xtask release`.
pub fn run(options: &Options) -> Result<()> {
    let root = repository()?;

    // The gates that need nothing built: a clean tree and the tag.
    let dirty = git(
        &root,
        &["status", "--porcelain", "--untracked-files=normal"],
    )?;
    if !dirty.trim().is_empty() {
        bail!(
            "the working tree has changes that are not committed:\n{}\na release is cut from a \
             commit: commit or stash them first",
            dirty.trim_end()
        );
    }
    let tags = release_tags(&root)?;
    let Some((latest, last)) = tags.first().cloned() else {
        bail!(
            "no release tag (vX.Y.Z) is reachable from HEAD: the first release is tagged by \
             hand, `git tag -a v0.1.0 -m 'pandapon 0.1.0'` (docs/releasing.md)"
        );
    };
    let since = match &options.since {
        Some(tag) => {
            if git(
                &root,
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("refs/tags/{tag}"),
                ],
            )
            .is_err()
            {
                bail!("tag {tag} does not exist (`git tag --list 'v*'` lists the release tags)");
            }
            tag.clone()
        }
        None => latest.clone(),
    };
    let manifest_path = root.join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path).context("reading Cargo.toml")?;
    let current = version::of_manifest(&manifest)?;
    if current != last {
        bail!(
            "Cargo.toml says {current}, but the last release is {latest}: the release command \
             sets the version, so put it back to {last}"
        );
    }
    if commits::count(&root, &since)? == 0 {
        bail!("nothing to release: HEAD is {since}");
    }

    // The generated files, which spec-diff covers: they are neither listed
    // as hand-written commits nor as hand-written API changes.
    let outputs = codegen::freshness::outputs(&root)?;
    let generated: Vec<String> = outputs
        .iter()
        .filter_map(|(p, _)| Some(p.strip_prefix(&root).ok()?.to_str()?.to_owned()))
        .collect();
    gate(
        "codegen --check (the generated files match the spec)",
        || {
            let stale: Vec<&String> = outputs
                .iter()
                .zip(&generated)
                .filter(|((path, text), shown)| {
                    codegen::freshness::compare(path, shown, text)
                        != codegen::freshness::Freshness::Fresh
                })
                .map(|(_, shown)| shown)
                .collect();
            if !stale.is_empty() {
                bail!("stale generated files: {stale:?}; run `cargo xtask codegen` and commit");
            }
            Ok(())
        },
    )?;
    gate(
        "cargo package of each published crate, type-checked from the packages with the MSRV \
         toolchain (scripts/package-check.sh)",
        || {
            let status = Command::new("bash")
                .current_dir(&root)
                .arg("scripts/package-check.sh")
                .stdout(Stdio::from(std::io::stderr()))
                .status()
                .context("running scripts/package-check.sh")?;
            if !status.success() {
                bail!("scripts/package-check.sh failed ({status})");
            }
            Ok(())
        },
    )?;

    // The two verdicts.
    eprintln!("spec-diff {since} → HEAD");
    let old_text = git(&root, &["show", &format!("{since}:{}", spec::SPEC)])?;
    let old = spec::parse_spec(&old_text).with_context(|| format!("the spec at {since}"))?;
    let new = spec::load_spec(&root)?;
    let report = specdiff::compare(&old, &new)?;
    if let Some(r) = report.refused.first() {
        bail!(
            "codegen refuses the {} spec, so the SDK cannot be compared: {}",
            r.spec,
            r.reason
        );
    }
    let spec_verdict = spec_bump(&report.changes);

    let crates = published(&root)?;
    let libraries: Vec<String> = crates
        .iter()
        .filter(|(name, lib)| {
            *lib && git(
                &root,
                &[
                    "cat-file",
                    "-e",
                    &format!("{since}:crates/{name}/Cargo.toml"),
                ],
            )
            .is_ok()
        })
        .map(|(name, _)| name.clone())
        .collect();
    eprintln!(
        "cargo-semver-checks {since} → HEAD: {}",
        libraries.join(", ")
    );
    let checked = semver_checks::run(&root, &since, &libraries, &generated)?;

    let bump = spec_verdict.max(checked.bump);
    let next = version::next(&last, bump);
    let commits = commits::since(&root, &since, &generated)?;
    let date = git(&root, &["log", "-1", "--format=%cs", "HEAD"])?
        .trim()
        .to_owned();
    let section = changelog::section(&changelog::Notes {
        version: next.to_string(),
        date,
        changes: &report.changes,
        lints: &checked.lints,
        lints_breaking: checked.bump == Bump::Breaking,
        commits: &commits,
    });

    let mut out = format!("version: {next}\n\n");
    out.push_str(&verdicts(&since, &report.changes, spec_verdict, &checked));
    out.push('\n');
    out.push_str(&section);
    if options.dry_run {
        return crate::say(&out);
    }

    let changelog_path = root.join("CHANGELOG.md");
    let old_changelog = std::fs::read_to_string(&changelog_path).ok();
    std::fs::write(
        &changelog_path,
        changelog::insert(old_changelog.as_deref(), &section),
    )
    .context("writing CHANGELOG.md")?;
    std::fs::write(
        &manifest_path,
        version::bump_manifest(&manifest, &last, &next)?,
    )
    .context("writing Cargo.toml")?;
    let lock = Command::new("cargo")
        .current_dir(&root)
        .args(["update", "--workspace", "--offline", "--quiet"])
        .status()
        .context("running cargo update")?;
    if !lock.success() {
        bail!("cargo update --workspace failed: Cargo.lock still has the old versions");
    }
    git(&root, &["add", "CHANGELOG.md", "Cargo.toml", "Cargo.lock"])?;
    git(
        &root,
        &["commit", "--quiet", "-m", &format!("Release {next}")],
    )?;
    let tag = format!("v{next}");
    git(
        &root,
        &["tag", "-a", &tag, "-m", &format!("pandapon {next}")],
    )?;
    out.push_str(&format!(
        "\nCommitted `Release {next}` and tagged {tag}. Nothing was published. To publish, \
         push both, then publish each crate after those it depends on:\n\n\
         git push origin HEAD {tag}\n"
    ));
    for (name, _) in &crates {
        out.push_str(&format!("cargo publish -p {name}\n"));
    }
    crate::say(&out)
}

/// Both verdicts, and where they disagree, the changes behind each.
fn verdicts(
    since: &str,
    changes: &[Change],
    spec: Bump,
    checked: &semver_checks::Verdict,
) -> String {
    let mut out = format!(
        "spec-diff ({since} → HEAD): {}. cargo-semver-checks ({}): {}.\n",
        spec.describe(),
        checked
            .summaries
            .iter()
            .map(|(k, s)| format!("{k}: {s}"))
            .collect::<Vec<_>>()
            .join("; "),
        checked.bump.describe(),
    );
    let spec_breaks = spec == Bump::Breaking;
    let tool_breaks = checked.bump == Bump::Breaking;
    if spec_breaks == tool_breaks {
        return out;
    }
    out.push_str("\nThe verdicts disagree; the stronger one sets the version.\n\n");
    let behind_spec: Vec<String> = changes
        .iter()
        .filter(|c| c.impact != Impact::Compatible)
        .map(|c| {
            let level = if c.level == Level::Wire {
                "wire"
            } else {
                "Rust"
            };
            format!("- spec-diff ({level}, `{}`): {}\n", c.kind, c.message)
        })
        .collect();
    let behind_tool: Vec<String> = checked
        .lints
        .iter()
        .flat_map(|l| {
            l.items.iter().map(move |(item, generated)| {
                let whose = if *generated {
                    "generated"
                } else {
                    "hand-written"
                };
                format!(
                    "- cargo-semver-checks ({}, `{}`, {whose}): {item}\n",
                    l.krate, l.name
                )
            })
        })
        .collect();
    if spec_breaks {
        out.push_str(
            "spec-diff finds a break that cargo-semver-checks does not: a change on the wire, \
             a value now required at run time, or a changed type (cargo-semver-checks does not \
             compare types):\n\n",
        );
        out.extend(behind_spec);
    } else {
        out.push_str(
            "cargo-semver-checks finds a break that no spec change shows: a change to \
             hand-written code:\n\n",
        );
        out.extend(behind_tool);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_crates_come_each_after_what_it_depends_on() {
        let order = published(&spec::workspace_root()).expect("cargo metadata");
        let names: Vec<&str> = order.iter().map(|(n, _)| n.as_str()).collect();
        let at = |n: &str| {
            names
                .iter()
                .position(|x| *x == n)
                .unwrap_or_else(|| panic!("{n}: {names:?}"))
        };
        assert_eq!(names.len(), 5, "{names:?}");
        assert!(at("pandapon-auth") < at("pandapon-gen"));
        assert!(at("pandapon-types") < at("pandapon-gen"));
        assert!(at("pandapon-gen") < at("pandapon-httpmock"));
        assert!(at("pandapon-httpmock") < at("pandapon-cli"));
        // The CLI is a binary: cargo-semver-checks has no library to compare.
        assert!(
            order.iter().all(|(n, lib)| *lib == (n != "pandapon-cli")),
            "{order:?}"
        );
    }
}

#[cfg(test)]
mod spec_cases {
    use super::*;
    use crate::specdiff::fixture;

    /// spec-diff's release verdict and changes for a merge patch in
    /// xtask/fixtures/release on the real spec (the same patches
    /// scripts/release-cases.sh commits in a copy of the repository).
    fn case(name: &str) -> (Bump, Vec<Change>) {
        let root = spec::workspace_root();
        let real = fixture::yaml(&root.join(spec::SPEC)).expect("spec");
        let patch = fixture::yaml(&root.join(format!("xtask/fixtures/release/{name}.yaml")))
            .expect("patch");
        let old = fixture::patched(&real, &serde_json::Value::Null).expect("real");
        let new = fixture::patched(&real, &patch).expect("patched");
        let report = specdiff::compare(&old, &new).expect("compared");
        assert!(report.refused.is_empty(), "{:?}", report.refused);
        (spec_bump(&report.changes), report.changes)
    }

    fn section(changes: &[Change]) -> String {
        changelog::section(&changelog::Notes {
            version: "x".into(),
            date: "d".into(),
            changes,
            lints: &[],
            lints_breaking: false,
            commits: &[],
        })
    }

    #[test]
    fn an_added_response_field_is_additive_and_named_on_both_levels() {
        let (bump, changes) = case("additive");
        assert_eq!(bump, Bump::Additive, "{changes:#?}");
        assert_eq!(
            version::next(&Version::new(0, 1, 0), bump),
            Version::new(0, 1, 1)
        );
        let text = section(&changes);
        assert!(text.contains("### Added"), "{text}");
        assert!(!text.contains("### Breaking"), "{text}");
        assert!(
            text.contains("releaseCaseNote was added (on the wire: compatible)"),
            "{text}"
        );
        assert!(
            text.contains("AlibabaPayOrder::release_case_note"),
            "{text}"
        );
    }

    #[test]
    fn a_removed_response_field_is_breaking_on_both_levels() {
        let (bump, changes) = case("field-removed");
        assert_eq!(bump, Bump::Breaking, "{changes:#?}");
        assert_eq!(
            version::next(&Version::new(0, 1, 0), bump),
            Version::new(0, 2, 0)
        );
        let text = section(&changes);
        let breaking = &text[text.find("### Breaking").expect(&text)..];
        assert!(
            breaking.contains("protocolPaySuccess was removed (on the wire:"),
            "{text}"
        );
        assert!(
            breaking.contains("AlibabaPayOrder::protocol_pay_success"),
            "{text}"
        );
    }

    #[test]
    fn a_description_change_is_a_patch_and_still_listed() {
        let (bump, changes) = case("description");
        assert_eq!(bump, Bump::Patch, "{changes:#?}");
        assert_eq!(
            version::next(&Version::new(0, 1, 0), bump),
            Version::new(0, 1, 1)
        );
        let text = section(&changes);
        assert!(text.contains("### Changed"), "{text}");
        assert!(
            text.contains("protocolPaySuccess: description changed"),
            "{text}"
        );
    }
}
