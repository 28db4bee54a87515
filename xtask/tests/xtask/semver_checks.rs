//! scripts/semver_checks.py, the one reader of cargo-semver-checks' output
//! both semver scripts share, on spec-diff's real JSON: it matches changes
//! by `kind` and `impact`, not by message text.

use std::path::Path;
use std::process::Command;

const MAJOR: &str =
    "     Summary semver requires new major version: 1 major and 0 minor checks failed\n";
const NONE: &str = "     Summary no semver update required\n";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
}

/// spec-diff's verdict files for one fixture case, written once: they do
/// not depend on cargo-semver-checks' output, and each run generates the
/// SDK from both of the case's specs.
struct Fixture {
    case: &'static str,
    out: std::path::PathBuf,
}

impl Fixture {
    fn new(case: &'static str) -> Self {
        let out = std::env::temp_dir().join(format!("semver-checks-{}-{case}", std::process::id()));
        let status = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .arg("spec-diff-fixture")
            .arg(root().join(format!("xtask/fixtures/spec-diff/cases/{case}.yaml")))
            .arg("--out")
            .arg(&out)
            .status()
            .expect("xtask runs");
        assert!(status.success());
        Self { case, out }
    }

    /// The row `agree` prints and its exit, with `log` as
    /// cargo-semver-checks' output.
    fn agree(&self, log: &str) -> (String, bool) {
        std::fs::write(self.out.join("semver-checks.txt"), log).expect("log");
        let run = Command::new("python3")
            .arg(root().join("scripts/semver_checks.py"))
            .args(["agree", self.case])
            .arg(&self.out)
            .output()
            .expect("python3 runs");
        (
            String::from_utf8_lossy(&run.stdout).into_owned(),
            run.status.success(),
        )
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.out);
    }
}

#[test]
fn a_type_change_is_a_blind_spot_by_its_kind() {
    let (row, ok) = Fixture::new("23-response-field-type-changed").agree(NONE);
    assert!(ok, "{row}");
    assert!(
        row.contains("| major | none |") && row.contains("blind spot"),
        "{row}"
    );
}

#[test]
fn agreement_and_disagreement_are_told_apart() {
    let fixture = Fixture::new("20-response-field-removed");
    let (row, ok) = fixture.agree(MAJOR);
    assert!(ok && row.ends_with("| yes |\n"), "{row}");
    let (row, ok) = fixture.agree(NONE);
    assert!(!ok && row.contains("**no**"), "{row}");
}

/// What cargo-semver-checks prints for one crate: the `Checking` line and,
/// when its check finished, the `Summary`.
fn checked(krate: &str, summary: Option<&str>) -> String {
    format!(
        "     Checking {krate} v0.1.0 -> v0.1.0 (no change; assume minor)\n{}",
        summary.unwrap_or("")
    )
}

#[test]
fn two_crates_give_the_larger_verdict_and_an_unfinished_one_is_an_error() {
    // The types are in pandapon-types: a field removed there is the break.
    let fixture = Fixture::new("13-request-field-removed");
    let both = checked("pandapon-gen", Some(NONE)) + &checked("pandapon-types", Some(MAJOR));
    let (row, ok) = fixture.agree(&both);
    assert!(ok && row.contains("| major | major |"), "{row}");
    let unfinished = checked("pandapon-gen", Some(NONE)) + &checked("pandapon-types", None);
    let (row, ok) = fixture.agree(&unfinished);
    assert!(!ok && row.contains("did not finish"), "{row}");
    // A crate whose documentation does not build never prints its own
    // "Checking" line; cargo's lines in the error output are not it.
    let failed = checked("pandapon-gen", Some(NONE))
        + "    Building pandapon-types v0.1.0 (current)\n\
           error: running cargo-doc on crate 'pandapon-types' failed with output:\n\
           -----\n\
               Checking pandapon-auth v0.1.0 (/tmp/head/crates/pandapon-auth)\n\
           error[E0425]: cannot find type `Colour` in the crate root\n";
    let (row, ok) = fixture.agree(&failed);
    assert!(!ok && row.contains("did not finish"), "{row}");
}
