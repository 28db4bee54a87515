#!/usr/bin/env bash
# Sourced by the semver scripts: makes sure the pinned cargo-semver-checks is
# installed (building it takes about 10 minutes the first time).
csc_version=0.51.0
if ! cargo semver-checks --version 2>/dev/null | grep -q "$csc_version"; then
  echo "installing cargo-semver-checks $csc_version" >&2
  cargo install cargo-semver-checks --locked --version "$csc_version" >&2
fi
