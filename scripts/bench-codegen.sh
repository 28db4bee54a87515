#!/usr/bin/env bash
# Wall time of `cargo xtask codegen --check` on the full spec, once built:
# one warm-up, then RUNS timed runs; prints each and min/median/max in ms.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
cargo xtask codegen --check >/dev/null   # build xtask; warm caches
times=()
for _ in $(seq "$RUNS"); do
  start=$(date +%s%N)
  cargo xtask codegen --check >/dev/null
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
n=${#sorted[@]}
echo "runs(ms): ${times[*]}"
echo "min=${sorted[0]}ms median=${sorted[$((n / 2))]}ms max=${sorted[$((n - 1))]}ms"
