#!/usr/bin/env bash
# cargo-semver-checks' verdict on pandapon-gen and pandapon-types (the
# generated types, which pandapon-gen re-exports) against a git revision, as a
# Markdown section for the PR comment, beside spec-diff's own SDK verdict.
#
#   scripts/semver-report.sh BASE_REV [SPEC_DIFF_JSON]
#
# SPEC_DIFF_JSON is `cargo xtask spec-diff --format json` for the same change;
# with it, the section says whether the two verdicts agree. Exits 0 whatever
# the verdict: the report is for reviewers, the release decision is theirs.
# Installs the pinned cargo-semver-checks if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

base=${1:?usage: scripts/semver-report.sh BASE_REV [SPEC_DIFF_JSON]}
spec_diff_json=${2:-}

source scripts/semver-checks-tool.sh

log=$(mktemp)
set +e
# pandapon-types is checked where the baseline has it (it was split out of
# pandapon-gen on 2026-11-30). Against an older baseline only pandapon-gen
# is compared, and its types, now re-exported from the other crate, which
# cargo-semver-checks does not follow, may be reported as removed.
packages=(-p pandapon-gen)
if git cat-file -e "$base:crates/pandapon-types/Cargo.toml" 2>/dev/null; then
  packages+=(-p pandapon-types)
fi
cargo semver-checks check-release "${packages[@]}" --baseline-rev "$base" \
  --release-type minor --default-features >"$log" 2>&1
set -e

python3 scripts/semver_checks.py report "$log" "$spec_diff_json"
