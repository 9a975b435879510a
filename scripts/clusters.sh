#!/usr/bin/env bash
# A second PostgreSQL cluster beside the machine's own, for the placement tests
# (docs/scaling.md): initdb and pg_ctl of the installed PostgreSQL, run as the postgres
# user, on 127.0.0.1:${SECOND_PORT:-5433} with trust authentication. Idempotent: a
# cluster that is running is left alone. `scripts/clusters.sh stop` stops it.
set -euo pipefail
PORT="${SECOND_PORT:-5433}"
ROOT="${STAMMGAST_CLUSTERS_DIR:-/tmp/stammgast-clusters}"
DATA="$ROOT/second"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$BIN" ]; then
  echo "clusters.sh: no PostgreSQL server binaries under /usr/lib/postgresql" >&2
  exit 1
fi
as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}
if [ "${1:-start}" = stop ]; then
  [ -f "$DATA/postmaster.pid" ] && as_postgres "$BIN/pg_ctl" -D "$DATA" -m fast -w stop
  exit 0
fi
if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then exit 0; fi
mkdir -p "$ROOT"
chown postgres "$ROOT"
if [ ! -f "$DATA/PG_VERSION" ]; then
  as_postgres "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$ROOT/second.log" -w -t 60 \
  -o "-p $PORT -c listen_addresses=127.0.0.1 -k $ROOT" start >/dev/null
"$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"
