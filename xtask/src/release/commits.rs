//! The commits since the last release that touched hand-written code,
//! each under the crates it touched.

use std::path::Path;

use anyhow::Result;

use crate::git::git;

/// One commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The abbreviated hash.
    pub short: String,
    pub subject: String,
    /// The crates it touched (`pandapon-gen, pandapon-cli`), or
    /// `repository` for tooling, tests and docs alone.
    pub group: String,
}

impl Commit {
    /// Whether its subject says it fixes something.
    pub fn is_fix(&self) -> bool {
        let first = self.subject.split_whitespace().next().unwrap_or_default();
        first.to_ascii_lowercase().starts_with("fix")
    }
}

/// Whether `path` is written by hand: not the spec (spec-diff lists its
/// changes), not a file codegen writes, not the changelog itself.
fn hand_written(path: &str, generated: &[String]) -> bool {
    !path.starts_with("openapi/") && path != "CHANGELOG.md" && !generated.iter().any(|g| g == path)
}

/// The commits in `since..HEAD` that touched a hand-written file, oldest
/// first.
pub fn since(root: &Path, since: &str, generated: &[String]) -> Result<Vec<Commit>> {
    // One record per commit: a NUL, hash, subject, then the files it touched.
    let log = git(
        root,
        &[
            "log",
            "--reverse",
            "--no-merges",
            "--name-only",
            "--format=%x00%h%x09%s",
            &format!("{since}..HEAD"),
        ],
    )?;
    let mut commits = Vec::new();
    for record in log.split('\0').filter(|r| !r.trim().is_empty()) {
        let mut lines = record.lines();
        let head = lines.next().unwrap_or_default();
        let (short, subject) = head.split_once('\t').unwrap_or((head, ""));
        let files: Vec<&str> = lines
            .filter(|f| !f.is_empty() && hand_written(f, generated))
            .collect();
        if files.is_empty() {
            continue;
        }
        let mut crates: Vec<&str> = files
            .iter()
            .filter_map(|f| f.strip_prefix("crates/")?.split('/').next())
            .collect();
        crates.sort_unstable();
        crates.dedup();
        let group = if crates.is_empty() {
            "repository".to_owned()
        } else {
            crates.join(", ")
        };
        commits.push(Commit {
            short: short.to_owned(),
            subject: subject.to_owned(),
            group,
        });
    }
    Ok(commits)
}

/// How many commits `since..HEAD` holds.
pub fn count(root: &Path, since: &str) -> Result<usize> {
    Ok(
        git(root, &["rev-list", "--count", &format!("{since}..HEAD")])?
            .trim()
            .parse()
            .unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_generated_files_and_changelog_are_not_hand_written() {
        let generated = ["crates/pandapon-gen/src/generated.rs".to_owned()];
        assert!(!hand_written("openapi/pandapon.yaml", &generated));
        assert!(!hand_written(
            "crates/pandapon-gen/src/generated.rs",
            &generated
        ));
        assert!(!hand_written("CHANGELOG.md", &generated));
        assert!(hand_written(
            "crates/pandapon-gen/src/client.rs",
            &generated
        ));
        assert!(hand_written("docs/releasing.md", &generated));
    }

    #[test]
    fn fixes_are_told_by_their_first_word() {
        let c = |s: &str| Commit {
            short: String::new(),
            subject: s.into(),
            group: String::new(),
        };
        assert!(c("Fix the pager's end").is_fix());
        assert!(c("fixes: a lost message").is_fix());
        assert!(!c("Receiver: prefix bodies").is_fix());
    }
}
