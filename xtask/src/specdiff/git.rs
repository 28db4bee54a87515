//! The base spec: a file, or a git revision of `openapi/pandapon.yaml`.

use std::path::Path;

use anyhow::{Context, Result};

use crate::git::git;
use crate::spec;

/// Reads the base spec: a file if `base` names one, else a git revision
/// (default: the merge base of HEAD with `main`). Returns (label, text).
pub(super) fn read_base(root: &Path, base: Option<&str>) -> Result<(String, String)> {
    if let Some(path) = base.map(Path::new).filter(|p| p.is_file()) {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return Ok((path.display().to_string(), text));
    }
    let rev = match base {
        Some(rev) => rev.to_owned(),
        None => git(root, &["merge-base", "HEAD", "main"])
            .context("finding the merge base with main (pass --base)")?
            .trim()
            .to_owned(),
    };
    let text = git(root, &["show", &format!("{rev}:{}", spec::SPEC)])?;
    Ok((format!("{rev}:{}", spec::SPEC), text))
}
