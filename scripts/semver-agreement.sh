#!/usr/bin/env bash
# Does spec-diff's SDK verdict agree with cargo-semver-checks?
#
# For every spec-diff fixture case (xtask/fixtures/spec-diff/cases), the real
# spec plus the fixture base is generated into a copy of the workspace
# (the baseline), the real spec plus the fixture base plus the case into a
# second copy (the current crates), and cargo-semver-checks judges
# pandapon-gen and pandapon-types (where the generated types are) between
# the two. Prints a Markdown table: the case, spec-diff's
# SDK verdict, cargo-semver-checks' verdict and the lints that fired, and
# whether they agree. Exits 1 if any case disagrees other than where
# cargo-semver-checks cannot see the change (it compares no types).
#
#   scripts/semver-agreement.sh [CASE_GLOB]      e.g. '1[0-9]-*'
#
# Needs cargo-semver-checks; installs the pinned version if it is missing
# (about 10 minutes to build). Takes about 10 s a case once warm.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TERM_COLOR=never

source scripts/semver-checks-tool.sh

glob=${1:-*}
work=${SEMVER_WORK:-$(mktemp -d)}
mkdir -p "$work"

cargo build --quiet -p xtask
xtask="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/xtask"
# One target directory for every cargo-semver-checks run, so dependencies
# build once.
export CARGO_TARGET_DIR="$work/target"

copy_tree() {
  rm -rf "$1"
  mkdir -p "$1"
  git ls-files -z --cached --others --exclude-standard |
    xargs -0 cp --parents -t "$1" 2>/dev/null || true
}
copy_tree "$work/base"
copy_tree "$work/head"

printf '| case | spec-diff SDK | cargo-semver-checks | lints | agree |\n|---|---|---|---|---|\n'
status=0
first=1
for case in xtask/fixtures/spec-diff/cases/$glob.yaml; do
  name=$(basename "$case" .yaml)
  out="$work/cases/$name"
  "$xtask" spec-diff-fixture "$case" --out "$out"
  for part in "" -types; do
    crate=pandapon-gen
    [ -n "$part" ] && crate=pandapon-types
    generated="$work/base/crates/$crate/src/generated.rs"
    if [ "$first" = 1 ]; then
      cp "$out/base$part.rs" "$generated"
    elif ! cmp -s "$out/base$part.rs" "$generated"; then
      echo "$name: the baseline differs from the first case's" >&2
      exit 1
    fi
    cp "$out/head$part.rs" "$work/head/crates/$crate/src/generated.rs"
  done
  first=0
  set +e
  cargo semver-checks check-release \
    --manifest-path "$work/head/Cargo.toml" --baseline-root "$work/base" \
    -p pandapon-gen -p pandapon-types \
    --release-type minor --default-features >"$out/semver-checks.txt" 2>&1
  set -e
  python3 scripts/semver_checks.py agree "$name" "$out" || status=1
done
exit $status
