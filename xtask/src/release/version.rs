//! The next version from a verdict, and the version written into the
//! workspace manifest.

use anyhow::{Context, Result, bail};
use semver::Version;

/// What a set of changes needs of the next release, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bump {
    /// Nothing a caller sees changed, or only behaviour was fixed.
    Patch,
    /// Something was added; nothing that worked stops working.
    Additive,
    /// Code that compiled, or calls that worked, may not any more.
    Breaking,
}

impl Bump {
    /// How the verdict reads in a sentence.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Patch => "nothing a caller relies on changed",
            Self::Additive => "additions only",
            Self::Breaking => "breaking",
        }
    }
}

/// The release after `last` for a change set that needs `bump`. Before 1.0
/// the minor number is the breaking one, as Cargo reads 0.x requirements:
/// anything breaking gives `0.(y+1).0`, everything else `0.y.(z+1)`. From
/// 1.0 on: major, minor, patch.
pub fn next(last: &Version, bump: Bump) -> Version {
    let (major, minor, patch) = (last.major, last.minor, last.patch);
    match (major, bump) {
        (0, Bump::Breaking) => Version::new(0, minor + 1, 0),
        (0, _) | (_, Bump::Patch) => Version::new(major, minor, patch + 1),
        (_, Bump::Additive) => Version::new(major, minor + 1, 0),
        (_, Bump::Breaking) => Version::new(major + 1, 0, 0),
    }
}

/// The version of a release tag, `vX.Y.Z`.
pub fn of_tag(tag: &str) -> Result<Version> {
    let Some(number) = tag.strip_prefix('v') else {
        bail!("{tag} is not a release tag: release tags are vX.Y.Z");
    };
    match Version::parse(number) {
        Ok(v) if v.pre.is_empty() && v.build.is_empty() => Ok(v),
        _ => bail!("{tag} is not a release tag: release tags are vX.Y.Z"),
    }
}

/// The `[workspace.package]` version in the workspace manifest.
pub fn of_manifest(manifest: &str) -> Result<Version> {
    let line = manifest
        .lines()
        .skip_while(|l| l.trim() != "[workspace.package]")
        .find_map(|l| l.trim().strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .context("Cargo.toml has no [workspace.package] version")?;
    Version::parse(line).context("Cargo.toml's version")
}

/// The workspace manifest with every published crate at `to`: the
/// `[workspace.package]` version and each internal dependency requirement
/// (`pandapon-* = { path = …, version = "…" }`, an exact `=` kept exact).
/// An error if either is missing, so that a layout change is not a silent
/// half-bump.
pub fn bump_manifest(manifest: &str, from: &Version, to: &Version) -> Result<String> {
    let mut out = String::with_capacity(manifest.len() + 16);
    let (mut section, mut package, mut requirements) = (String::new(), 0, 0);
    let (old, new) = (from.to_string(), to.to_string());
    for line in manifest.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed.to_owned();
        }
        if section == "[workspace.package]" && trimmed.starts_with("version") {
            let bumped = line.replacen(&format!("\"{old}\""), &format!("\"{new}\""), 1);
            if bumped == line {
                bail!("Cargo.toml: [workspace.package] version is not \"{old}\": {trimmed}");
            }
            package += 1;
            out.push_str(&bumped);
            continue;
        }
        if section == "[workspace.dependencies]"
            && trimmed.starts_with("pandapon-")
            && trimmed.contains("path =")
        {
            let bumped = line
                .replacen(
                    &format!("version = \"{old}\""),
                    &format!("version = \"{new}\""),
                    1,
                )
                .replacen(
                    &format!("version = \"={old}\""),
                    &format!("version = \"={new}\""),
                    1,
                );
            if bumped == line {
                bail!("Cargo.toml: an internal dependency is not at {old}: {trimmed}");
            }
            requirements += 1;
            out.push_str(&bumped);
            continue;
        }
        out.push_str(line);
    }
    if package != 1 || requirements == 0 {
        bail!(
            "Cargo.toml: expected one [workspace.package] version and the internal \
             dependencies under [workspace.dependencies]; found {package} and {requirements}"
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).expect("version")
    }

    #[test]
    fn before_one_the_minor_number_breaks() {
        assert_eq!(next(&v("0.1.0"), Bump::Breaking), v("0.2.0"));
        assert_eq!(next(&v("0.1.3"), Bump::Breaking), v("0.2.0"));
        assert_eq!(next(&v("0.1.0"), Bump::Additive), v("0.1.1"));
        assert_eq!(next(&v("0.1.0"), Bump::Patch), v("0.1.1"));
    }

    #[test]
    fn from_one_on_major_minor_patch() {
        assert_eq!(next(&v("1.4.2"), Bump::Breaking), v("2.0.0"));
        assert_eq!(next(&v("1.4.2"), Bump::Additive), v("1.5.0"));
        assert_eq!(next(&v("1.4.2"), Bump::Patch), v("1.4.3"));
    }

    #[test]
    fn only_plain_vxyz_tags_are_releases() {
        assert_eq!(of_tag("v0.1.0").expect("tag"), v("0.1.0"));
        for bad in ["0.1.0", "v0.1", "v0.1.0-rc.1", "release-1"] {
            let e = of_tag(bad).expect_err(bad).to_string();
            assert!(e.contains("release tags are vX.Y.Z"), "{e}");
        }
    }

    #[test]
    fn the_real_manifest_bumps_every_internal_requirement() {
        let root = crate::spec::workspace_root();
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
        let now = of_manifest(&manifest).expect("workspace version");
        let to = next(&now, Bump::Breaking);
        let bumped = bump_manifest(&manifest, &now, &to).expect("bumped");
        let old = format!("\"{now}\"");
        let changed: Vec<&str> = bumped
            .lines()
            .filter(|l| l.contains(&to.to_string()))
            .collect();
        // The package version and the five published crates' requirements
        // (pandapon-types' exact one included).
        assert_eq!(changed.len(), 6, "{changed:#?}");
        assert!(changed.iter().any(|l| l.contains(&format!("\"={to}\""))));
        for line in bumped.lines().filter(|l| l.starts_with("pandapon-")) {
            assert!(!line.contains(&old), "{line}");
        }
        // Nothing else moved.
        for (before, after) in manifest.lines().zip(bumped.lines()) {
            assert!(
                before == after || before.contains(&now.to_string()),
                "{before} → {after}"
            );
        }
        assert_eq!(bumped.lines().count(), manifest.lines().count());
        let other = "[workspace.dependencies]\nfoo = { version = \"0.1.0\" }\n";
        let e = bump_manifest(other, &now, &to).expect_err("no package version");
        assert!(
            e.to_string()
                .contains("expected one [workspace.package] version"),
            "{e}"
        );
    }
}
