#!/usr/bin/env bash
# A second PostgreSQL cluster beside the machine's own, and a streaming replica of it, for
# the placement tests (docs/scaling.md): initdb, pg_basebackup and pg_ctl of the installed
# PostgreSQL, run as the postgres user, on 127.0.0.1:${SECOND_PORT:-5433} and
# ${REPLICA_PORT:-5434} with trust authentication. Idempotent: what is running is left
# alone. `scripts/clusters.sh stop` stops both. Then PgBouncer (Debian's package) in
# transaction mode on ${POOLER_PORT:-6433}, in front of the second cluster.
set -euo pipefail
PORT="${SECOND_PORT:-5433}"
REPLICA_PORT="${REPLICA_PORT:-5434}"
POOLER_PORT="${POOLER_PORT:-6433}"
ROOT="${STAMMGAST_CLUSTERS_DIR:-/tmp/stammgast-clusters}"
DATA="$ROOT/second"
REPLICA="$ROOT/second-replica"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$BIN" ]; then
  echo "clusters.sh: no PostgreSQL server binaries under /usr/lib/postgresql" >&2
  exit 1
fi
as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}
if [ "${1:-start}" = stop ]; then
  if [ -f "$ROOT/pgbouncer.pid" ]; then kill "$(cat "$ROOT/pgbouncer.pid")" || true; fi
  for dir in "$REPLICA" "$DATA"; do
    if [ -f "$dir/postmaster.pid" ]; then as_postgres "$BIN/pg_ctl" -D "$dir" -m fast -w stop; fi
  done
  exit 0
fi
mkdir -p "$ROOT"
chown postgres "$ROOT"
if ! "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  if [ ! -f "$DATA/PG_VERSION" ]; then
    as_postgres "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      >/dev/null
  fi
  as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$ROOT/second.log" -w -t 60 \
    -o "-p $PORT -c listen_addresses=127.0.0.1 -k $ROOT" start >/dev/null
fi
if ! "$BIN/pg_isready" -q -h 127.0.0.1 -p "$REPLICA_PORT"; then
  if [ ! -f "$REPLICA/standby.signal" ]; then
    rm -rf "$REPLICA"
    # A base backup that writes the standby's connection settings (-R) and streams WAL.
    as_postgres "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PORT" -U postgres -D "$REPLICA" -R \
      -X stream -c fast
  fi
  as_postgres "$BIN/pg_ctl" -D "$REPLICA" -l "$ROOT/replica.log" -w -t 60 \
    -o "-p $REPLICA_PORT -c listen_addresses=127.0.0.1 -k $ROOT -c hot_standby=on" \
    start >/dev/null
fi
"$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"
"$BIN/pg_isready" -q -h 127.0.0.1 -p "$REPLICA_PORT"

if ! command -v pgbouncer >/dev/null; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq pgbouncer >/dev/null
fi
if ! "$BIN/pg_isready" -q -h 127.0.0.1 -p "$POOLER_PORT"; then
  # Transaction pooling with few server connections, so that a client's transactions
  # really meet different server connections (what breaks session state).
  cat >"$ROOT/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$PORT
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $POOLER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $ROOT/pgbouncer.users
admin_users = postgres
pool_mode = transaction
default_pool_size = 3
max_client_conn = 200
ignore_startup_parameters = extra_float_digits,options
logfile = $ROOT/pgbouncer.log
pidfile = $ROOT/pgbouncer.pid
INI
  echo '"postgres" ""' >"$ROOT/pgbouncer.users"
  chown postgres "$ROOT/pgbouncer.ini" "$ROOT/pgbouncer.users"
  as_postgres pgbouncer -d "$ROOT/pgbouncer.ini"
  for _ in $(seq 50); do
    "$BIN/pg_isready" -q -h 127.0.0.1 -p "$POOLER_PORT" && break
    sleep 0.1
  done
fi
"$BIN/pg_isready" -q -h 127.0.0.1 -p "$POOLER_PORT"
