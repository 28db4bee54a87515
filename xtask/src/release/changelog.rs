//! The release's section of CHANGELOG.md (Keep a Changelog: Breaking, Added,
//! Changed, Fixed), from spec-diff's changes, cargo-semver-checks' lints on
//! hand-written code and the commits since the last release.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::commits::Commit;
use super::semver_checks::Lint;
use crate::specdiff::{Change, Impact, Level};

/// The heading a new CHANGELOG.md starts with.
pub const HEADER: &str = "# Changelog\n\n\
All notable changes to the published crates (pandapon-auth, pandapon-types,\n\
pandapon-gen, pandapon-httpmock, pandapon-cli), which are released together\n\
under one version. The format follows [Keep a Changelog](https://keepachangelog.com/en/1.1.0/);\n\
versions follow the rules in [docs/releasing.md](docs/releasing.md).\n";

/// What goes into one release's section.
pub struct Notes<'a> {
    pub version: String,
    pub date: String,
    pub changes: &'a [Change],
    pub lints: &'a [Lint],
    /// Whether cargo-semver-checks found the lints breaking.
    pub lints_breaking: bool,
    pub commits: &'a [Commit],
}

/// What a change does, in a user's words.
fn impact_words(change: &Change) -> &'static str {
    match (change.level, change.impact) {
        (Level::Wire, Impact::Breaking) => {
            "on the wire: requests that worked are refused, or a client cannot read the answer"
        }
        (Level::Wire, Impact::FailsAtRunTime) => {
            "on the wire: calls fail until they send the new value"
        }
        (Level::Wire, Impact::Compatible) => "on the wire: compatible",
        (Level::Sdk, Impact::Breaking) => "in Rust: code that used it no longer compiles",
        (Level::Sdk, Impact::FailsAtRunTime) => {
            "in Rust: code still compiles, but calls fail until it sets the new value"
        }
        (Level::Sdk, Impact::Compatible) => "in Rust: compatible",
    }
}

fn is_addition(change: &Change) -> bool {
    change.kind.ends_with("-added") && change.impact == Impact::Compatible
}

fn change_line(change: &Change) -> String {
    let at = change
        .operation
        .as_deref()
        .map(|op| format!("`{op}`: "))
        .unwrap_or_default();
    format!("- {at}{} ({}).\n", change.message, impact_words(change))
}

fn lint_lines(lints: &[Lint]) -> String {
    let mut out = String::new();
    for lint in lints {
        let items: Vec<&str> = lint.hand_written().collect();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "- {}: {} (cargo-semver-checks `{}`, hand-written code): {}.",
            lint.krate,
            lint.what,
            lint.name,
            items
                .iter()
                .map(|i| format!("`{i}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out
}

/// Commits under their crates: `- **pandapon-gen**: subject (abc1234)`.
fn commit_lines(commits: &[&Commit]) -> String {
    let mut groups: BTreeMap<&str, Vec<&Commit>> = BTreeMap::new();
    for c in commits {
        groups.entry(c.group.as_str()).or_default().push(c);
    }
    let mut out = String::new();
    for (group, list) in groups {
        for c in list {
            let _ = writeln!(out, "- **{group}**: {} ({})", c.subject, c.short);
        }
    }
    out
}

/// The section, from `## [X.Y.Z] - date` on. Sections with nothing in them
/// are left out.
pub fn section(notes: &Notes<'_>) -> String {
    let breaking_change = |c: &&Change| c.impact != Impact::Compatible;
    let mut breaking: String = notes
        .changes
        .iter()
        .filter(breaking_change)
        .map(change_line)
        .collect();
    let added: String = notes
        .changes
        .iter()
        .filter(|c| is_addition(c))
        .map(change_line)
        .collect();
    let mut changed: String = notes
        .changes
        .iter()
        .filter(|c| c.impact == Impact::Compatible && !is_addition(c))
        .map(change_line)
        .collect();
    if notes.lints_breaking {
        breaking.push_str(&lint_lines(notes.lints));
    } else {
        changed.push_str(&lint_lines(notes.lints));
    }
    let (fixes, others): (Vec<&Commit>, Vec<&Commit>) =
        notes.commits.iter().partition(|c| c.is_fix());
    changed.push_str(&commit_lines(&others));
    let fixed = commit_lines(&fixes);

    let mut out = format!("## [{}] - {}\n", notes.version, notes.date);
    for (title, body) in [
        ("Breaking", breaking),
        ("Added", added),
        ("Changed", changed),
        ("Fixed", fixed),
    ] {
        if !body.is_empty() {
            let _ = write!(out, "\n### {title}\n\n{body}");
        }
    }
    if out.lines().count() == 1 {
        out.push_str("\nNo change a caller can see.\n");
    }
    out
}

/// CHANGELOG.md with `section` as its newest entry: after the heading,
/// before the previous releases. A missing file starts with [`HEADER`].
pub fn insert(changelog: Option<&str>, section: &str) -> String {
    let text = changelog.unwrap_or(HEADER);
    match text.find("\n## [") {
        Some(at) => format!("{}\n{section}\n{}", &text[..=at], &text[at + 1..]),
        None => format!(
            "{}\n{section}",
            text.trim_end_matches('\n').to_owned() + "\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(subject: &str, group: &str) -> Commit {
        Commit {
            short: "abc1234".into(),
            subject: subject.into(),
            group: group.into(),
        }
    }

    #[test]
    fn each_change_goes_where_a_reader_looks_for_it() {
        let changes = [
            Change {
                level: Level::Wire,
                impact: Impact::Breaking,
                kind: "response-field-removed",
                operation: Some("thing_get".into()),
                message: "response.data.weight was removed".into(),
            },
            Change {
                level: Level::Sdk,
                impact: Impact::Compatible,
                kind: "field-added",
                operation: None,
                message: "field Thing::size: Option<i64> was added".into(),
            },
            Change {
                level: Level::Wire,
                impact: Impact::Compatible,
                kind: "description-changed",
                operation: Some("thing_get".into()),
                message: "response.data: description changed".into(),
            },
        ];
        let lints = [Lint {
            krate: "pandapon-auth".into(),
            name: "function_missing".into(),
            what: "pub fn removed or renamed".into(),
            items: vec![
                ("function pandapon_auth::probe".into(), false),
                ("struct pandapon_gen::builder::X".into(), true),
            ],
        }];
        let commits = [
            commit("Fix the retry budget's refill", "pandapon-gen"),
            commit("Receiver: bounded bodies", "pandapon-gen"),
            commit("Docs: releasing", "repository"),
        ];
        let text = section(&Notes {
            version: "0.2.0".into(),
            date: "2026-12-07".into(),
            changes: &changes,
            lints: &lints,
            lints_breaking: true,
            commits: &commits,
        });
        let part = |title: &str| {
            let start = text
                .find(&format!("### {title}\n"))
                .unwrap_or_else(|| panic!("{title}: {text}"));
            let rest = &text[start + 5..];
            rest[..rest.find("### ").unwrap_or(rest.len())].to_owned()
        };
        assert!(text.starts_with("## [0.2.0] - 2026-12-07\n"), "{text}");
        let breaking = part("Breaking");
        assert!(breaking.contains("- `thing_get`: response.data.weight was removed (on the wire: requests that worked are refused, or a client cannot read the answer)."), "{breaking}");
        assert!(breaking.contains("pandapon-auth: pub fn removed or renamed (cargo-semver-checks `function_missing`, hand-written code): `function pandapon_auth::probe`."), "{breaking}");
        assert!(
            !breaking.contains("builder::X"),
            "generated items come from spec-diff: {breaking}"
        );
        assert!(
            part("Added")
                .contains("field Thing::size: Option<i64> was added (in Rust: compatible)"),
            "{text}"
        );
        let changed = part("Changed");
        assert!(
            changed.contains("response.data: description changed (on the wire: compatible)"),
            "{changed}"
        );
        assert!(
            changed.contains("- **pandapon-gen**: Receiver: bounded bodies (abc1234)"),
            "{changed}"
        );
        assert!(
            changed.find("**pandapon-gen**") < changed.find("**repository**"),
            "{changed}"
        );
        assert!(
            part("Fixed").contains("- **pandapon-gen**: Fix the retry budget's refill"),
            "{text}"
        );
    }

    #[test]
    fn a_release_with_nothing_to_say_says_so() {
        let text = section(&Notes {
            version: "0.1.1".into(),
            date: "2026-12-07".into(),
            changes: &[],
            lints: &[],
            lints_breaking: false,
            commits: &[],
        });
        assert_eq!(
            text,
            "## [0.1.1] - 2026-12-07\n\nNo change a caller can see.\n"
        );
    }

    #[test]
    fn the_newest_section_goes_first() {
        let first = insert(None, "## [0.1.0] - 2026-12-01\n\n- one\n");
        assert!(first.starts_with(HEADER), "{first}");
        let second = insert(Some(&first), "## [0.1.1] - 2026-12-07\n\n- two\n");
        let (a, b) = (second.find("[0.1.1]"), second.find("[0.1.0]"));
        assert!(a.is_some() && a < b, "{second}");
        assert!(second.starts_with(HEADER));
        assert!(second.contains("- two\n\n## [0.1.0]"), "{second}");
    }
}
