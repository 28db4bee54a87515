#!/usr/bin/env bash
# The published crates as a consumer gets them: `cargo package` of each,
# then the unpacked packages (with the fuzz targets) type-checked with the
# crates' rust-version toolchain. Run by .ci/run and, as a gate, by
# `cargo xtask release`. Installs that toolchain with rustup if it is
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# The published crates as they would be uploaded, type-checked from the
# packages with the crates' rust-version toolchain. This is cargo package's
# verification and the MSRV check in one build: `cargo package` alone
# rebuilds every packaged crate and its dependencies with the current
# toolchain (about 170 s here), then the MSRV check built them all again.
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
rustup toolchain install "$msrv" --profile minimal --no-self-update
# The published crates: the workspace members that do not say `publish = false`.
mapfile -t published < <(cargo metadata --no-deps --format-version 1 --offline |
  python3 -c 'import json, sys; print("\n".join(p["name"] for p in json.load(sys.stdin)["packages"] if p["publish"] is None))')
target=${CARGO_TARGET_DIR:-target}
rm -f "$target"/package/pandapon-*.crate
cargo package --no-verify "${published[@]/#/-p}"
packaged=$target/packaged
rm -rf "$packaged"
mkdir -p "$packaged"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
members=("\"fuzz\"") patches=()
for crate in "${published[@]}"; do
  tar -xzf "$target/package/$crate-$version.crate" -C "$packaged"
  members+=("\"$crate-$version\"")
  patches+=("$crate = { path = \"$crate-$version\" }")
done
# A workspace of the unpacked crates and the fuzz targets; each finds the
# others (not yet on crates.io) through [patch], and the repository's lock
# file pins every dependency it has (the fuzz targets' own, libfuzzer-sys
# and arbitrary, are resolved here).
{
  echo "[workspace]"
  echo "resolver = \"3\""
  echo "members = [$(IFS=,; echo "${members[*]}")]"
  echo "[patch.crates-io]"
  printf '%s\n' "${patches[@]}"
} >"$packaged/Cargo.toml"
cp Cargo.lock "$packaged/"
# The fuzz targets (fuzz/ is outside the workspace; fuzzing needs nightly)
# are type-checked here too, against the packaged SDK as a consumer gets
# it: they share every dependency with the libraries' check, where on their
# own they took a minute to check.
mkdir -p "$packaged/fuzz"
cp -r fuzz/fuzz_targets "$packaged/fuzz/"
# libfuzzer-sys without its default `link_libfuzzer`: a type-check links
# nothing, and that feature compiles libFuzzer's C++ (a good share of this
# stage on two cores).
sed -e '/^\[workspace\]/,$d' \
  -e "s|path = \"../crates/pandapon-gen\"|path = \"../pandapon-gen-$version\"|" \
  -e 's|^libfuzzer-sys = "\(.*\)"$|libfuzzer-sys = { version = "\1", default-features = false }|' \
  fuzz/Cargo.toml >"$packaged/fuzz/Cargo.toml"
grep -q 'libfuzzer-sys = { version' "$packaged/fuzz/Cargo.toml" ||
  { echo "fuzz/Cargo.toml: libfuzzer-sys is no longer a plain version requirement" >&2; exit 1; }
# First the libraries as a consumer gets them (no `schemars` feature) with
# the fuzz targets, then the CLI.
(cd "$packaged" && CARGO_TARGET_DIR="$PWD/../msrv" cargo "+$msrv" check --lib --bins \
  -p pandapon-auth -p pandapon-types -p pandapon-gen -p pandapon-httpmock -p pandapon-fuzz)
(cd "$packaged" && CARGO_TARGET_DIR="$PWD/../msrv" cargo "+$msrv" check -p pandapon-cli)
