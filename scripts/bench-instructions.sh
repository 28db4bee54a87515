#!/usr/bin/env bash
# Per-call cost of the SDK and of the hand-written call, counted by
# cachegrind rather than timed, so it does not drift with the machine:
# each side runs alone on one thread (client and fake server together) for
# LOW and HIGH calls, and the difference divided by HIGH-LOW is the cost of
# one call, start-up excluded. Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
LOW=${LOW:-200}
HIGH=${HIGH:-1200}
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
cargo build --quiet --release -p pandapon-tests --example instructions
bin=${CARGO_TARGET_DIR:-target}/release/examples/instructions

# Prints "Ir I1_misses D1_misses LL_misses mispredicts" for one run.
counts() {
  valgrind --tool=cachegrind --cache-sim=yes --branch-sim=yes \
    --cachegrind-out-file=/dev/null "$bin" "$@" 2>&1 >/dev/null |
    awk '/ I +refs:/ {ir=$4} / I1 +misses:/ {i1=$4} / D1 +misses:/ {d1=$4}
         / LL misses:/ {ll=$4} / Mispredicts:/ {mp=$3}
         END {gsub(",", "", ir); gsub(",", "", i1); gsub(",", "", d1);
              gsub(",", "", ll); gsub(",", "", mp); print ir, i1, d1, ll, mp}'
}

"$bin" sizes
printf '%-12s %10s %9s %9s %9s %11s %12s\n' side instr I1-miss D1-miss LL-miss mispredict est.cycles
for side in ${SIDES:-sdk intercepted hand}; do
  read -r -a low <<<"$(counts "$side" "$LOW")"
  read -r -a high <<<"$(counts "$side" "$HIGH")"
  awk -v side="$side" -v n=$((HIGH - LOW)) \
    -v a="${low[*]}" -v b="${high[*]}" 'BEGIN {
      split(a, x, " "); split(b, y, " ");
      for (i = 1; i <= 5; i++) d[i] = (y[i] - x[i]) / n;
      # cachegrind'"'"'s usual estimate: 10 cycles per L1 miss, 100 per LL
      # miss, 15 per mispredicted branch.
      est = d[1] + 10 * (d[2] + d[3]) + 100 * d[4] + 15 * d[5];
      printf "%-12s %10.0f %9.0f %9.0f %9.1f %11.0f %12.0f\n", side, d[1], d[2], d[3], d[4], d[5], est
    }'
done
