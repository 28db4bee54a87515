//! `cargo xtask release` stops before anything is built or changed when a
//! gate that needs no build fails: a dirty tree, a tag that does not exist,
//! no release tag at all, a version set by hand, nothing since the tag. Each
//! case is a throwaway git repository holding the spec and a manifest.
//! (The four real cases, with cargo-semver-checks and the package gate, are
//! scripts/release-cases.sh.)

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A repository with the real spec and a manifest at 0.1.0, committed.
fn repository(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-release-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("openapi")).expect("dir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root");
    std::fs::copy(
        root.join("openapi/pandapon.yaml"),
        dir.join("openapi/pandapon.yaml"),
    )
    .expect("spec");
    std::fs::write(
        dir.join("Cargo.toml"),
        "[workspace.package]\nversion = \"0.1.0\"\n",
    )
    .expect("manifest");
    git(&dir, &["init", "--quiet", "--initial-branch=main"]);
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "--quiet", "-m", "first"]);
    dir
}

/// Runs the release in `dir`: (exit success, stdout, stderr).
fn release(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .current_dir(dir)
        .arg("release")
        .args(args)
        .output()
        .expect("xtask runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn refused(dir: &Path, args: &[&str], says: &str) {
    let head = Command::new("git")
        .current_dir(dir)
        .args(["rev-parse", "HEAD"])
        .output();
    let (ok, stdout, stderr) = release(dir, args);
    assert!(!ok, "{stdout}{stderr}");
    assert!(stdout.is_empty(), "no version is proposed: {stdout}");
    assert!(stderr.contains(says), "expected {says:?} in: {stderr}");
    assert_eq!(
        head.expect("git").stdout,
        Command::new("git")
            .current_dir(dir)
            .args(["rev-parse", "HEAD"])
            .output()
            .expect("git")
            .stdout,
        "nothing was committed"
    );
}

#[test]
fn without_a_release_tag_it_says_how_to_make_the_first() {
    let dir = repository("no-tag");
    refused(
        &dir,
        &["--dry-run"],
        "no release tag (vX.Y.Z) is reachable from HEAD",
    );
    refused(&dir, &["--dry-run"], "git tag -a v0.1.0");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn a_tag_that_does_not_exist_is_named() {
    let dir = repository("missing-tag");
    git(&dir, &["tag", "-a", "v0.1.0", "-m", "0.1.0"]);
    std::fs::write(dir.join("notes.txt"), "x").expect("write");
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "--quiet", "-m", "second"]);
    refused(
        &dir,
        &["--dry-run", "--since", "v9.9.9"],
        "tag v9.9.9 does not exist",
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn a_dirty_tree_stops_it_and_lists_what_is_not_committed() {
    let dir = repository("dirty");
    git(&dir, &["tag", "-a", "v0.1.0", "-m", "0.1.0"]);
    std::fs::write(
        dir.join("Cargo.toml"),
        "[workspace.package]\nversion = \"0.1.0\"\n# edit\n",
    )
    .expect("write");
    std::fs::write(dir.join("new.txt"), "x").expect("write");
    for args in [&["--dry-run"][..], &[]] {
        refused(
            &dir,
            args,
            "the working tree has changes that are not committed",
        );
        refused(&dir, args, "Cargo.toml");
        refused(&dir, args, "new.txt");
    }
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn a_version_set_by_hand_and_an_empty_release_are_refused() {
    let dir = repository("by-hand");
    git(&dir, &["tag", "-a", "v0.1.0", "-m", "0.1.0"]);
    refused(&dir, &["--dry-run"], "nothing to release: HEAD is v0.1.0");
    std::fs::write(
        dir.join("Cargo.toml"),
        "[workspace.package]\nversion = \"0.2.0\"\n",
    )
    .expect("write");
    git(&dir, &["commit", "--quiet", "-am", "bump by hand"]);
    refused(
        &dir,
        &["--dry-run"],
        "Cargo.toml says 0.2.0, but the last release is v0.1.0",
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn a_tag_that_is_not_a_release_is_not_taken_for_one() {
    let dir = repository("other-tags");
    git(&dir, &["tag", "-a", "v0.1.0-rc.1", "-m", "rc"]);
    git(&dir, &["tag", "-a", "vendor-drop", "-m", "other"]);
    refused(
        &dir,
        &["--dry-run"],
        "no release tag (vX.Y.Z) is reachable from HEAD",
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}
