//! Every generated output with its expected contents: written by `cargo
//! xtask codegen`, compared by `--check` (and a test), which fails on drift.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::{cli, coverage, mocks, on_unknown, sdk};
use crate::spec::{load_spec, workspace_root};

/// Every generated file with its expected contents.
pub fn outputs(root: &Path) -> Result<Vec<(PathBuf, String)>> {
    let spec = load_spec(root)?;
    // The one walk over the operations, for every output.
    let api = crate::spec::Api::new(&spec)?;
    // The spec with each write's on-unknown text in its description, which
    // progenitor reads for the SDK's docs and the CLI's help.
    let annotated = on_unknown::annotate(&api)?;
    let read = |rel: &str| {
        let path = root.join(rel);
        fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    };
    let endpoints: serde_json::Value = serde_json::from_str(&read(coverage::ENDPOINTS)?)
        .with_context(|| format!("parsing {}", coverage::ENDPOINTS))?;
    let sdk = sdk::generate_sdk_files(&api, &annotated)?;
    Ok(vec![
        (root.join(sdk::TYPES_OUT), sdk.types),
        (root.join(sdk::SDK_OUT), sdk.client),
        (root.join(sdk::OPS_OUT), sdk::generate_operations(&api)?),
        (root.join(mocks::MOCK_OUT), mocks::generate_mock(&api)?),
        (
            root.join(cli::CLI_OUT),
            cli::generate_cli(&api, &annotated)?,
        ),
        (root.join(coverage::OUT), coverage::page(&api, &endpoints)?),
        (root.join(on_unknown::OUT), on_unknown::page(&api)?),
    ])
}

/// Whether a file already had the expected contents.
#[derive(Debug, PartialEq, Eq)]
pub enum Freshness {
    /// The file was already up to date.
    Fresh,
    /// The file differed (or was missing); the diff against the expected text.
    Stale(String),
}

/// Compares `path` with `contents` without writing anything; `shown` is the
/// name used in the diff header.
pub fn compare(path: &Path, shown: &str, contents: &str) -> Freshness {
    // A checkout with CRLF line endings (core.autocrlf on Windows) holds the
    // same text: line endings alone do not make a file stale.
    let current = fs::read_to_string(path)
        .unwrap_or_default()
        .replace("\r\n", "\n");
    if current == contents {
        return Freshness::Fresh;
    }
    let diff = similar::TextDiff::from_lines(current.as_str(), contents)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{shown}"), &format!("b/{shown}"))
        .to_string();
    Freshness::Stale(diff)
}

/// `cargo xtask codegen`: writes every generated file that differs.
pub fn write() -> Result<()> {
    let root = workspace_root();
    for (path, contents) in outputs(&root)? {
        if compare(&path, &relative(&root, &path), &contents) == Freshness::Fresh {
            crate::note(&format!("unchanged {}\n", relative(&root, &path)))?;
            continue;
        }
        fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
        crate::note(&format!("wrote {}\n", relative(&root, &path)))?;
    }
    Ok(())
}

/// `cargo xtask codegen --check`: changes nothing, fails with a diff on drift.
pub fn check() -> Result<()> {
    let root = workspace_root();
    let stale = stale_files(&root)?;
    if stale.is_empty() {
        return Ok(());
    }
    for (path, diff) in &stale {
        eprintln!("{} is out of date:\n{diff}", relative(&root, path));
    }
    bail!(
        "{} generated file(s) are stale; run `cargo xtask codegen` and commit the result",
        stale.len()
    )
}

/// The generated files that differ from what the spec gives, with diffs.
pub fn stale_files(root: &Path) -> Result<Vec<(PathBuf, String)>> {
    Ok(outputs(root)?
        .into_iter()
        .filter_map(
            |(path, contents)| match compare(&path, &relative(root, &path), &contents) {
                Freshness::Fresh => None,
                Freshness::Stale(diff) => Some((path, diff)),
            },
        )
        .collect())
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_alone_do_not_make_a_file_stale() {
        let dir = std::env::temp_dir().join(format!("pandapon-crlf-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("generated.rs");
        fs::write(&path, "fn a() {}\r\nfn b() {}\r\n").expect("write");
        assert_eq!(
            compare(&path, "generated.rs", "fn a() {}\nfn b() {}\n"),
            Freshness::Fresh
        );
        assert!(matches!(
            compare(&path, "generated.rs", "fn a() {}\nfn c() {}\n"),
            Freshness::Stale(_)
        ));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn generated_code_is_fresh() {
        let stale = stale_files(&workspace_root()).expect("codegen runs");
        let report: Vec<String> = stale
            .iter()
            .map(|(p, d)| format!("{}\n{d}", p.display()))
            .collect();
        assert!(
            stale.is_empty(),
            "stale generated code; run `cargo xtask codegen`:\n{}",
            report.join("\n")
        );
    }

    #[test]
    fn generation_is_deterministic() {
        let spec = load_spec(&workspace_root()).expect("spec");
        let api = crate::spec::Api::new(&spec).expect("operations");
        let annotated = on_unknown::annotate(&api).expect("annotated");
        let cli = |api: &crate::spec::Api<'_>| cli::generate_cli(api, &annotated);
        type Generate<'f> = &'f dyn Fn(&crate::spec::Api<'_>) -> Result<String>;
        let generators: [Generate<'_>; 4] = [
            &sdk::generate_sdk_from,
            &sdk::generate_operations,
            &mocks::generate_mock,
            &cli,
        ];
        for generate in generators {
            let a = generate(&api).expect("first run");
            let b = generate(&api).expect("second run");
            assert_eq!(a, b);
            assert!(a.starts_with(super::super::HEADER));
            assert!(!a.contains(env!("CARGO_MANIFEST_DIR")), "no absolute paths");
        }
    }

    #[test]
    fn compare_reports_a_diff_for_drift() {
        let dir = std::env::temp_dir().join(format!("xtask-compare-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("f.rs");
        fs::write(&path, "a\nb\n").expect("write");
        assert_eq!(compare(&path, "f.rs", "a\nb\n"), Freshness::Fresh);
        let Freshness::Stale(diff) = compare(&path, "f.rs", "a\nc\n") else {
            panic!("expected drift");
        };
        assert!(diff.starts_with("--- a/f.rs\n+++ b/f.rs\n"), "{diff}");
        assert!(diff.contains("-b\n") && diff.contains("+c\n"), "{diff}");
        fs::remove_dir_all(&dir).expect("cleanup");
    }
}
