#!/usr/bin/env bash
# `cargo xtask release` on the four cases of a real release, each in a fresh
# copy of this repository (its last commit) tagged v0.1.0, with every gate,
# cargo-semver-checks and the package check run for real:
#
#   additive       an optional response field added        → 0.1.1, then released
#   field-removed  a response field removed                → 0.2.0, breaking
#   hand-written   a public hand-written fn removed, no spec change → 0.2.0
#   description    a description edited                    → 0.1.1
#
# The spec cases are the merge patches in xtask/fixtures/release (the unit
# tests in xtask/src/release check spec-diff's verdict on the same patches).
# Each dry run must change nothing; the additive case is then released for
# real and must commit, tag and bump every crate. Exits 1 on the first case
# that does not hold. Takes about 20 minutes on 2 cores with warm caches;
# installs the pinned cargo-semver-checks if it is missing.
#
#   scripts/release-cases.sh [CASE…]     (SHOW=1 prints each dry run's output)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TERM_COLOR=never
# One target directory for every case: the dependencies build once.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/release-cases}
work=$(mktemp -d /tmp/pandapon-release-cases.XXXXXX)
trap 'rm -rf "$work"' EXIT
repo=$work/pandapon
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(additive field-removed hand-written description)

fail() { echo "FAIL [$case]: $*" >&2; exit 1; }
in_repo() { git -C "$repo" -c user.name=release-cases -c user.email=cases@example.com "$@"; }

# A JSON merge patch (RFC 7386) from xtask/fixtures/release on the copy's spec.
patch_spec() {
  python3 - "$repo/openapi/pandapon.yaml" "$root/xtask/fixtures/release/$1.yaml" <<'PY'
import sys, yaml
def merge(target, patch):
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge(target.get(key), value)
    return target
spec = yaml.safe_load(open(sys.argv[1]))
patch = yaml.safe_load(open(sys.argv[2]))
with open(sys.argv[1], "w") as out:
    yaml.safe_dump(merge(spec, patch), out, sort_keys=False, allow_unicode=True, width=100)
PY
}

# A fresh copy at this repository's last commit, tagged v0.1.0 (after
# `before`, a command run first and committed with the tag).
fresh_copy() {
  rm -rf "$repo"
  git clone --quiet --no-hardlinks "$root" "$repo"
  if [ -n "${1:-}" ]; then
    (cd "$repo" && eval "$1")
    in_repo commit --quiet -am "before the release case"
  fi
  in_repo tag -a v0.1.0 -m "pandapon 0.1.0"
}

# The copy's own xtask, as a maintainer runs it.
xtask() { (cd "$repo" && cargo xtask "$@"); }

dry_run() {
  local start=$SECONDS
  xtask release --dry-run >"$work/out.md" 2>"$work/err.txt" || {
    cat "$work/err.txt" >&2
    fail "the dry run failed"
  }
  echo "[$case] dry run: $((SECONDS - start)) s" >&2
  [ -z "$(in_repo status --porcelain)" ] || fail "the dry run changed the tree"
  [ "$(in_repo tag --list 'v*')" = "v0.1.0" ] || fail "the dry run made a tag"
}

expect() { grep -qF -- "$1" "$work/out.md" || { cat "$work/out.md" >&2; fail "no '$1' in the output"; }; }
expect_not() { ! grep -qF -- "$1" "$work/out.md" || { cat "$work/out.md" >&2; fail "'$1' in the output"; }; }

for case in "${cases[@]}"; do
  echo "== $case" >&2
  case $case in
    additive | field-removed | description)
      fresh_copy
      patch_spec "$case"
      xtask codegen >/dev/null
      in_repo commit --quiet -am "Spec: the $case case"
      ;;
    hand-written)
      fresh_copy "printf '\n/// A public function the hand-written case removes.\npub fn release_case_probe() {}\n' >> crates/pandapon-auth/src/lib.rs"
      sed -i '/A public function the hand-written case removes/,+1d' "$repo/crates/pandapon-auth/src/lib.rs"
      in_repo commit --quiet -am "Auth: release_case_probe removed"
      ;;
    *) fail "no such case" ;;
  esac
  dry_run
  case $case in
    additive)
      expect "version: 0.1.1"
      expect "### Added"
      expect_not "### Breaking"
      expect "releaseCaseNote was added (on the wire: compatible)"
      expect "AlibabaPayOrder::release_case_note"
      [ -z "${SHOW:-}" ] || cat "$work/out.md" >&2
      # Then for real: CHANGELOG.md, every version, a commit and a tag.
      xtask release >"$work/out.md" 2>"$work/err.txt" || { cat "$work/err.txt" >&2; fail "the release failed"; }
      [ "$(in_repo log -1 --format=%s)" = "Release 0.1.1" ] || fail "no release commit"
      in_repo rev-parse --verify --quiet refs/tags/v0.1.1 >/dev/null || fail "no tag v0.1.1"
      [ -z "$(in_repo status --porcelain)" ] || fail "the release left changes behind"
      grep -q '^version = "0.1.1"' "$repo/Cargo.toml" || fail "the workspace version was not bumped"
      [ "$(grep -c 'path = "crates/pandapon-[a-z]*", version = "=\?0.1.1"' "$repo/Cargo.toml")" = 5 ] ||
        fail "the internal requirements were not all bumped"
      grep -q '^## \[0.1.1\]' "$repo/CHANGELOG.md" || fail "CHANGELOG.md has no 0.1.1 section"
      [ "$(grep -n '^## \[' "$repo/CHANGELOG.md" | head -1 | grep -c 0.1.1)" = 1 ] || fail "0.1.1 is not the newest entry"
      expect "cargo publish -p pandapon-auth"
      [ "$(grep 'cargo publish' "$work/out.md" | tail -1)" = "cargo publish -p pandapon-cli" ] || fail "the CLI is not published last"
      ;;
    field-removed)
      expect "version: 0.2.0"
      expect "### Breaking"
      expect "protocolPaySuccess was removed (on the wire:"
      expect "AlibabaPayOrder::protocol_pay_success"
      ;;
    hand-written)
      expect "version: 0.2.0"
      expect "### Breaking"
      expect "- pandapon-auth: pub fn removed or renamed (cargo-semver-checks \`function_missing\`, hand-written code): \`function pandapon_auth::release_case_probe\`."
      expect_not "Checking pandapon-auth"
      expect "The verdicts disagree"
      expect "cargo-semver-checks (pandapon-auth, \`function_missing\`, hand-written): function pandapon_auth::release_case_probe"
      expect "**pandapon-auth**: Auth: release_case_probe removed"
      ;;
    description)
      expect "version: 0.1.1"
      expect_not "### Breaking"
      expect "protocolPaySuccess: description changed"
      ;;
  esac
  [ -z "${SHOW:-}" ] || cat "$work/out.md" >&2
  echo "[$case] ok: $(head -1 "$work/out.md")" >&2
done
