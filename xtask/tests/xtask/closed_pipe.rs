//! `cargo xtask spec-diff … | head`: when the reader of xtask's output goes
//! away, xtask stops writing and exits cleanly, with nothing on stderr.

use std::process::{Command, Stdio};

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/spec-diff/base.yaml");
    // A pipe whose reading end is closed before xtask starts: its first
    // write fails with EPIPE, every time.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["spec-diff", "--base", fixture, "--head", fixture])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("xtask runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(stderr.is_empty(), "stderr: {stderr}");
}

#[test]
fn an_open_pipe_gets_the_whole_report() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/spec-diff/base.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["spec-diff", "--base", fixture, "--head", fixture])
        .output()
        .expect("xtask runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("## Spec diff"), "{text}");
}

#[test]
fn a_closed_pipe_does_not_hide_a_failing_verdict() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let base = format!("{root}/xtask/fixtures/spec-diff/base.yaml");
    let head = format!("{root}/openapi/pandapon.yaml");
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["spec-diff", "--base", &base, "--head", &head])
        .args(["--fail-on", "breaking"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("xtask runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.is_empty(), "stderr: {stderr}");
}
