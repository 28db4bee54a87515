//! cargo-semver-checks on each published library against the last release:
//! it sees what no spec change shows, hand-written API changes above all.

use std::io::{self, Read as _};
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::version::Bump;

/// The pinned cargo-semver-checks (scripts/semver-checks-tool.sh installs it).
const TOOL: &str = "scripts/semver-checks-tool.sh";

/// One lint that failed, with the items it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lint {
    /// The crate it was found in.
    pub krate: String,
    /// The lint's name (`function_missing`).
    pub name: String,
    /// Its one-line description (`pub fn removed or renamed`).
    pub what: String,
    /// The items, as the tool names them, each with whether its place in the
    /// last release was a generated file (then the spec change behind it is
    /// listed by spec-diff).
    pub items: Vec<(String, bool)>,
}

impl Lint {
    /// The items in hand-written code.
    pub fn hand_written(&self) -> impl Iterator<Item = &str> {
        self.items
            .iter()
            .filter(|(_, g)| !g)
            .map(|(i, _)| i.as_str())
    }
}

/// The verdict over every crate checked, and the lints behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub bump: Bump,
    /// The crates compared, each with its summary line.
    pub summaries: Vec<(String, String)>,
    pub lints: Vec<Lint>,
}

/// Runs cargo-semver-checks for `crates` against `tag` (installing the pinned
/// version if it is missing) and reads its verdict. `generated` are the
/// repository paths codegen writes.
pub fn run(root: &Path, tag: &str, crates: &[String], generated: &[String]) -> Result<Verdict> {
    let install = Command::new("bash")
        .current_dir(root)
        .args(["-c", &format!("source {TOOL}")])
        .status()
        .context("running bash")?;
    if !install.success() {
        bail!("could not install cargo-semver-checks ({TOOL})");
    }
    let mut command = Command::new("cargo");
    command
        .current_dir(root)
        .env("CARGO_TERM_COLOR", "never")
        .args(["semver-checks", "check-release", "--default-features"])
        .args(["--baseline-rev", tag]);
    for krate in crates {
        command.args(["-p", krate]);
    }
    // Its lints go to stdout and its progress ("Checking <crate>",
    // "Summary") to stderr: one pipe for both keeps them in order, so each
    // lint is read under its crate.
    let (mut reader, writer) = io::pipe().context("making a pipe")?;
    command
        .stdout(writer.try_clone().context("making a pipe")?)
        .stderr(writer);
    let mut child = command.spawn().context("running cargo semver-checks")?;
    // The command holds the pipe's write ends: dropped, so the read ends.
    drop(command);
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .context("reading cargo semver-checks' output")?;
    child.wait().context("waiting for cargo semver-checks")?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    parse(&text, generated).with_context(|| {
        let tail: String = text
            .chars()
            .rev()
            .take(4000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("cargo-semver-checks did not finish; the end of its output:\n{tail}")
    })
}

/// Reads cargo-semver-checks' output: one `Checking` line, lints and a
/// `Summary` line per crate. An error when a crate's check did not finish
/// (an `error` line, or fewer summaries than crates).
pub fn parse(text: &str, generated: &[String]) -> Result<Verdict> {
    let mut verdict = Verdict {
        bump: Bump::Patch,
        summaries: Vec::new(),
        lints: Vec::new(),
    };
    let (mut krate, mut checked) = (String::new(), 0);
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if line.starts_with("error") {
            bail!("cargo-semver-checks failed: {trimmed}");
        }
        if let Some(rest) = trimmed.strip_prefix("Checking ")
            && rest.contains(" -> ")
        {
            krate = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            checked += 1;
        } else if let Some(rest) = trimmed.strip_prefix("Summary ") {
            // "semver requires new major version: 2 major and 0 minor checks failed"
            let words: Vec<&str> = rest.split_whitespace().collect();
            let count = |what: &str| {
                words
                    .windows(2)
                    .filter(|w| w[1] == what)
                    .find_map(|w| w[0].parse::<u32>().ok())
                    .unwrap_or(0)
            };
            let bump = if count("major") > 0 {
                Bump::Breaking
            } else if count("minor") > 0 {
                Bump::Additive
            } else {
                Bump::Patch
            };
            verdict.bump = verdict.bump.max(bump);
            verdict.summaries.push((krate.clone(), rest.to_owned()));
        } else if let Some(rest) = trimmed
            .strip_prefix("--- failure ")
            .or_else(|| trimmed.strip_prefix("--- warning "))
        {
            let rest = rest.strip_suffix(" ---").unwrap_or(rest);
            let (name, what) = rest.split_once(": ").unwrap_or((rest, ""));
            let mut items = Vec::new();
            while let Some(next) = lines.peek() {
                if next.starts_with("--- ") || next.trim_start().starts_with("Summary ") {
                    break;
                }
                let next = lines.next().unwrap_or_default();
                if next.trim() != "Failed in:" {
                    continue;
                }
                // The items are indented; anything else ends them.
                while let Some(item) =
                    lines.next_if(|l| l.starts_with("  ") && !l.trim().is_empty())
                {
                    items.push(item_of(item.trim(), generated));
                }
            }
            verdict.lints.push(Lint {
                krate: krate.clone(),
                name: name.to_owned(),
                what: what.to_owned(),
                items,
            });
        }
    }
    if verdict.summaries.is_empty() || verdict.summaries.len() < checked {
        bail!("no verdict for every crate checked ({checked} checked)");
    }
    Ok(verdict)
}

/// An item line, without the checkout path the tool built the last release
/// in, and whether that place was a generated file.
fn item_of(line: &str, generated: &[String]) -> (String, bool) {
    let Some((item, file)) = line.split_once(", previously in file ") else {
        return (line.to_owned(), false);
    };
    let path = file.rsplit_once(':').map_or(file, |(p, _)| p);
    let is_generated = generated.iter().any(|g| path.ends_with(&format!("/{g}")));
    (item.to_owned(), is_generated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated() -> Vec<String> {
        vec!["crates/pandapon-gen/src/generated.rs".to_owned()]
    }

    // Trimmed from a real run of cargo-semver-checks 0.51.0.
    const MAJOR: &str = "\
    Checking pandapon-gen v0.1.0 -> v0.1.0 (assume minor change)
     Checked [   0.093s] 202 checks: 198 pass, 4 fail, 0 warn, 58 skip

--- failure function_missing: pub fn removed or renamed ---

Description:
A publicly-visible function cannot be imported by its prior path.
        ref: https://doc.rust-lang.org/cargo/reference/semver.html#item-remove

Failed in:
  function pandapon_gen::callback::parse_message, previously in file /w/target/semver-checks/git-3106a05/9478/crates/pandapon-gen/src/callback.rs:32

--- failure struct_missing: pub struct removed or renamed ---

Description:
A publicly-visible struct cannot be imported by its prior path.

Failed in:
  struct pandapon_gen::builder::AlibabaCartList, previously in file /w/target/semver-checks/git-3106a05/9478/crates/pandapon-gen/src/generated.rs:3527

     Summary semver requires new major version: 2 major and 0 minor checks failed
    Finished [ 123.846s] pandapon-gen
    Checking pandapon-types v0.1.0 -> v0.1.0 (assume minor change)
     Checked [   0.306s] 202 checks: 202 pass, 58 skip
     Summary no semver update required
    Finished [  30.061s] pandapon-types
";

    #[test]
    fn a_major_run_names_its_lints_and_where_they_were() {
        let v = parse(MAJOR, &generated()).expect("parsed");
        assert_eq!(v.bump, Bump::Breaking);
        assert_eq!(v.summaries.len(), 2);
        assert_eq!(v.summaries[1].0, "pandapon-types");
        assert_eq!(v.lints.len(), 2);
        assert_eq!(v.lints[0].krate, "pandapon-gen");
        assert_eq!(v.lints[0].name, "function_missing");
        assert_eq!(v.lints[0].what, "pub fn removed or renamed");
        assert_eq!(
            v.lints[0].hand_written().collect::<Vec<_>>(),
            ["function pandapon_gen::callback::parse_message"]
        );
        assert_eq!(v.lints[1].hand_written().count(), 0, "{:?}", v.lints[1]);
        assert_eq!(v.lints[1].items.len(), 1);
    }

    #[test]
    fn items_end_at_the_first_line_that_is_not_one() {
        let text = "    Checking a v0.1.0 -> v0.1.0 (assume minor change)\n\
--- failure function_missing: pub fn removed or renamed ---\n\
Failed in:\n  function a::gone, previously in file /t/src/lib.rs:3\n\
     Summary semver requires new major version: 1 major and 0 minor checks failed\n";
        let v = parse(text, &[]).expect("parsed");
        assert_eq!(v.lints.len(), 1);
        assert_eq!(v.lints[0].krate, "a");
        assert_eq!(v.lints[0].items, [("function a::gone".to_owned(), false)]);
        assert_eq!(v.bump, Bump::Breaking);
    }

    #[test]
    fn minor_and_none() {
        let minor = "    Checking a v0.1.0 -> v0.1.0 (assume minor change)\n     Summary semver requires new minor version: 0 major and 1 minor checks failed\n";
        assert_eq!(parse(minor, &[]).expect("minor").bump, Bump::Additive);
        let none = "    Checking a v0.1.0 -> v0.1.0 (assume minor change)\n     Summary no semver update required\n";
        assert_eq!(parse(none, &[]).expect("none").bump, Bump::Patch);
    }

    #[test]
    fn an_unfinished_run_is_an_error() {
        let cut = "    Checking a v0.1.0 -> v0.1.0 (assume minor change)\n";
        assert!(parse(cut, &[]).is_err());
        let failed = "error: running cargo-doc on crate pandapon-gen failed\n";
        assert!(parse(failed, &[]).is_err());
        assert!(parse("", &[]).is_err());
    }
}
