#!/usr/bin/env bash
# The pushed-message figures of BENCHMARKS.md §7: `pandapon push serve`
# (release) with each inbox, at 100 msg/s and flat out, then under a flood.
# Uses the PostgreSQL server PANDAPON_TEST_POSTGRES_URL names, or starts a
# throwaway one (scripts/throwaway-postgres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${SECONDS_EACH:-30}
SENDERS=${SENDERS:-32}
CONNECTIONS=${CONNECTIONS:-1000}
cargo build --quiet --release -p pandapon-cli -p pandapon-tests --bin pandapon --example receiver
target=${CARGO_TARGET_DIR:-target}/release
if [ -z "${PANDAPON_TEST_POSTGRES_URL:-}" ]; then
  source scripts/throwaway-postgres.sh
  trap stop_throwaway_postgres EXIT
  start_throwaway_postgres
fi
for inbox in sqlite "$PANDAPON_TEST_POSTGRES_URL"; do
  "$target/examples/receiver" rate "$target/pandapon" "$inbox" 100 "$SECONDS_EACH"
  "$target/examples/receiver" most "$target/pandapon" "$inbox" "$SENDERS" "$SECONDS_EACH"
done
for inbox in sqlite "$PANDAPON_TEST_POSTGRES_URL"; do
  "$target/examples/receiver" flood "$target/pandapon" "$inbox" "$CONNECTIONS" "$SECONDS_EACH"
done
