#!/usr/bin/env python3
"""cargo-semver-checks' output and spec-diff's JSON, read in one place.

Used by scripts/semver-report.sh (the PR comment) and
scripts/semver-agreement.sh (spec-diff's fixture cases against
cargo-semver-checks). spec-diff's changes are matched by their `kind` and
`impact` fields, never by their message text.

    semver_checks.py report LOG [SPEC_DIFF_JSON]    Markdown section, exit 0
    semver_checks.py agree NAME OUT_DIR             one table row, exit 1 on
                                                    a real disagreement
"""
import json
import re
import sys

# SDK changes cargo-semver-checks cannot see: it compares no types, so a
# field, setter or hand-written type that changed type is a break only
# spec-diff reports.
TYPE_CHANGES = {"field-type-changed", "setter-changed", "rust-type-changed"}


def parse(text):
    """(verdict, summary, lints) of a cargo-semver-checks run over one or
    more crates (one "Summary" line each); the verdict is the largest, and
    None when any crate's check did not finish: an `error` line (a crate
    whose documentation did not build never gets to its own "Checking"
    line), or fewer summaries than crates checked."""
    summaries = [s.strip() for s in re.findall(r"Summary (.*)", text)]
    lints = re.findall(r"^--- failure ([a-z_0-9]+): (.*?)(?: ---)?$", text, re.M)
    checked = len(re.findall(r"^\s*Checking \S+ v\S+ -> ", text, re.M))
    failed = re.search(r"^error(\[|:)", text, re.M)
    if failed or not summaries or len(summaries) < checked:
        return None, None, lints
    summary = "; ".join(summaries)
    verdict = "major" if "major" in summary else "minor" if "minor" in summary else "none"
    return verdict, summary, lints


def blind_spot(changes):
    """Whether every breaking SDK change is one cargo-semver-checks cannot
    see."""
    breaking = [c for c in changes if c.get("impact") == "breaking"]
    return bool(breaking) and all(c.get("kind") in TYPE_CHANGES for c in breaking)


def report(log, spec_diff=None):
    text = open(log).read()
    verdict, summary, lints = parse(text)
    print("### cargo-semver-checks on `pandapon-gen` and `pandapon-types`\n")
    if verdict is None:
        print("cargo-semver-checks did not finish; its output:\n")
        print("```text\n" + text[-4000:] + "\n```")
        return 0
    print(f"Verdict: **{verdict}** ({summary}).\n")
    if spec_diff:
        doc = json.load(open(spec_diff))
        ours = doc.get("sdk_semver", "?")
        sdk = [c for c in doc.get("changes", []) if c.get("level") == "sdk"]
        if ours == "unknown":
            print("spec-diff has no SDK verdict: codegen refuses a spec (see above).\n")
        elif (ours == "major") == (verdict == "major"):
            print(f"spec-diff's SDK verdict, **{ours}**, agrees.\n")
        elif ours == "major" and blind_spot(sdk):
            print(
                f"spec-diff's SDK verdict is **{ours}**: every break it reports is a "
                "change of type, which cargo-semver-checks does not compare.\n"
            )
        else:
            print(
                f"spec-diff's SDK verdict is **{ours}**. This disagreement is a bug "
                "in one of the two: please report it.\n"
            )
    if lints:
        print("| lint | what it checks |\n|---|---|")
        for name, what in lints:
            print(f"| `{name}` | {what.replace('|', '/')} |")
        print()
        print("<details><summary>cargo-semver-checks output</summary>\n")
        print("```text\n" + text[-60000:] + "\n```\n</details>")
    return 0


def agree(name, out):
    verdict, _, lints = parse(open(f"{out}/semver-checks.txt").read())
    if verdict is None:
        print(f"| {name} | error | cargo-semver-checks did not finish: see "
              f"{out}/semver-checks.txt | | no |")
        return 1
    lint_names = sorted({lint for lint, _ in lints})
    ours = open(f"{out}/verdict").read().strip()
    changes = json.load(open(f"{out}/sdk-changes.json"))
    # Both "major", or both not: additions are minor by semver, and
    # cargo-semver-checks has no lint that fires on an addition.
    if (ours == "major") == (verdict == "major"):
        agreed = "yes"
    elif ours == "major" and blind_spot(changes):
        agreed = "blind spot: cargo-semver-checks compares no types"
    else:
        agreed = "**no**"
    print(f"| {name} | {ours} | {verdict} | {', '.join(lint_names) or '—'} | {agreed} |")
    return 1 if agreed == "**no**" else 0


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "report":
        sys.exit(report(args[0], args[1] if len(args) > 1 and args[1] else None))
    if command == "agree":
        sys.exit(agree(args[0], args[1]))
    sys.exit(f"unknown command {command!r}")
