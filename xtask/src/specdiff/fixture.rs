//! The spec-diff fixtures applied to the real spec, so that each case can be
//! regenerated into the real `pandapon-gen` and `pandapon-types` crates and
//! judged by cargo-semver-checks (`scripts/semver-agreement.sh`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::{diff, sdk_semver};
use crate::codegen;

/// The fixture folder.
pub fn dir() -> PathBuf {
    crate::spec::workspace_root().join("xtask/fixtures/spec-diff")
}

/// A YAML file as JSON.
pub fn yaml(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// `base` with a JSON merge patch (RFC 7386) applied.
pub fn patched(base: &Value, patch: &Value) -> Result<openapiv3::OpenAPI> {
    let mut doc = base.clone();
    if !patch.is_null() {
        json_patch::merge(&mut doc, patch);
    }
    serde_json::from_value(doc).context("the patched spec is not OpenAPI")
}

/// The real spec with the fixture base's paths and schemas added. A schema
/// the real spec already has (`Envelope`) keeps the real spec's definition;
/// a path it already has is refused.
pub fn real_with_base(real: &Value, base: &Value) -> Result<Value> {
    let mut doc = real.clone();
    let mut add = |section: &str, pointer: &str, allow_existing: bool| -> Result<()> {
        let Some(items) = base.pointer(pointer).and_then(Value::as_object) else {
            return Ok(());
        };
        let Some(target) = doc.pointer_mut(pointer).and_then(Value::as_object_mut) else {
            bail!("the real spec has no {section}");
        };
        for (name, value) in items {
            if target.contains_key(name) {
                if allow_existing {
                    continue;
                }
                bail!("fixture {section} {name} is also in the real spec");
            }
            target.insert(name.clone(), value.clone());
        }
        Ok(())
    };
    add("path", "/paths", false)?;
    add("schema", "/components/schemas", true)?;
    Ok(doc)
}

/// Writes, for one case, the SDK generated from the real spec plus the
/// fixture base (`base.rs` for `pandapon-gen`, `base-types.rs` for
/// `pandapon-types`) and plus the case's change (`head.rs`,
/// `head-types.rs`), and spec-diff's SDK verdict (`verdict`: major, minor
/// or none).
pub fn write_case(case: &Path, out: &Path) -> Result<()> {
    let real = yaml(&crate::spec::workspace_root().join(crate::spec::SPEC))?;
    let base = real_with_base(&real, &yaml(&dir().join("base.yaml"))?)?;
    let case_doc = yaml(case)?;
    let old = patched(&base, &Value::Null)?;
    let new =
        patched(&base, &case_doc["new"]).with_context(|| format!("applying {}", case.display()))?;
    let changes = diff(&old, &new)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let write = |name: &str, text: String| {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    for (name, spec) in [("base", &old), ("head", &new)] {
        let sdk = codegen::generate_sdk(spec)?;
        write(&format!("{name}.rs"), sdk.client)?;
        write(&format!("{name}-types.rs"), sdk.types)?;
    }
    write("verdict", format!("{}\n", sdk_semver(&changes).as_str()))?;
    let sdk: Vec<_> = changes
        .iter()
        .filter(|c| c.level == super::Level::Sdk)
        .map(|c| {
            json!({
                "impact": c.impact.as_str(),
                "kind": c.kind,
                "breaking": c.breaking(),
                "message": c.message,
            })
        })
        .collect();
    write(
        "sdk-changes.json",
        serde_json::to_string_pretty(&sdk).context("encoding changes")?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_base_adds_to_the_real_spec_without_replacing_it() {
        let real = yaml(&crate::spec::workspace_root().join(crate::spec::SPEC)).expect("spec");
        let base = yaml(&dir().join("base.yaml")).expect("base");
        let merged = real_with_base(&real, &base).expect("merges");
        assert!(merged.pointer("/paths/~1v2~1thing~1create").is_some());
        assert!(
            merged
                .pointer("/components/schemas/ThingCreateRequest")
                .is_some()
        );
        // The real Envelope (with developId) is kept.
        assert!(
            merged
                .pointer("/components/schemas/Envelope/properties/developId")
                .is_some()
        );
        let count = |doc: &Value| {
            let spec = patched(doc, &Value::Null).expect("OpenAPI");
            crate::spec::Api::new(&spec)
                .expect("operations")
                .ops()
                .len()
        };
        assert_eq!(count(&merged), count(&real) + 2);

        // A fixture path the real spec already has is refused.
        let clash = json!({"paths": {"/v2/alibaba/order/cancel": {}}});
        assert!(real_with_base(&real, &clash).is_err());
    }
}
