//! Running git in the repository.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// `git ARGS` in `root`: its standard output, or an error with git's own
/// message.
pub fn git(root: &Path, args: &[&str]) -> Result<String> {
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
