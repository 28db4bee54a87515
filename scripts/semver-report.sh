#!/usr/bin/env bash
# cargo-semver-checks' verdict on pandapon-gen against a git revision, as a
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
cargo semver-checks check-release -p pandapon-gen --baseline-rev "$base" \
  --release-type minor --default-features >"$log" 2>&1
set -e

python3 - "$log" "$spec_diff_json" <<'PY'
import json, re, sys
log, spec_diff = sys.argv[1], sys.argv[2]
report = open(log).read()
summary = re.search(r"Summary (.*)", report)
print("### cargo-semver-checks on `pandapon-gen`\n")
if not summary:
    print("cargo-semver-checks did not finish; its output:\n")
    print("```text\n" + report[-4000:] + "\n```")
    sys.exit(0)
summary = summary.group(1).strip()
verdict = "major" if "major" in summary else "minor" if "minor" in summary else "none"
print(f"Verdict: **{verdict}** ({summary}).\n")
if spec_diff:
    ours = json.load(open(spec_diff)).get("sdk_semver", "?")
    if (ours == "major") == (verdict == "major"):
        print(f"spec-diff's SDK verdict, **{ours}**, agrees.\n")
    else:
        print(
            f"spec-diff's SDK verdict is **{ours}**. cargo-semver-checks compares no "
            "types, so a field or parameter whose type changed is a break only "
            "spec-diff sees; otherwise this disagreement is a bug to report.\n"
        )
lints = re.findall(r"^--- failure ([a-z_0-9]+): (.*?)(?: ---)?$", report, re.M)
if lints:
    print("| lint | what it checks |\n|---|---|")
    for name, what in lints:
        print(f"| `{name}` | {what.replace('|', '/')} |")
    print()
    print("<details><summary>cargo-semver-checks output</summary>\n")
    print("```text\n" + report[-60000:] + "\n```\n</details>")
PY
