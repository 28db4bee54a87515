# Sourced, not run: `source scripts/throwaway-postgres.sh` defines
# start_throwaway_postgres, which starts a PostgreSQL server on a free
# loopback port in a temporary directory and exports
# PANDAPON_TEST_POSTGRES_URL, and stop_throwaway_postgres, which stops it
# (call it from the caller's EXIT trap). Debian's `postgresql` package is
# installed if it is missing; as root, the server runs as user `postgres`.

start_throwaway_postgres() {
  if ! command -v pg_config >/dev/null || [ ! -x "$(pg_config --bindir)/initdb" ]; then
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  fi
  pgbin=$(pg_config --bindir)
  pgdata=$(mktemp -d /tmp/pandapon-pg.XXXXXX)
  as_pg=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$pgdata"
    as_pg=(runuser -u postgres --)
  fi
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${as_pg[@]}" "$pgbin/initdb" -D "$pgdata/data" -U postgres -A trust --no-sync >/dev/null
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata/data" -l "$pgdata/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $pgdata -c max_connections=300" start >/dev/null
  export PANDAPON_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

stop_throwaway_postgres() {
  if [ -n "${pgdata:-}" ]; then
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pgdata"
  fi
}
