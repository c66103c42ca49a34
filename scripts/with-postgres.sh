#!/usr/bin/env bash
# Usage: scripts/with-postgres.sh <command...>
#
# Starts a throw-away PostgreSQL 15 on 127.0.0.1 (free port, temporary folder, fsync off, trust
# auth for local TCP: it only listens on loopback and lives for one command), exports
#   PARLEY_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:<port>/postgres
# runs the command, then always stops the server and removes the folder. Exits with the
# command's status (or 2 for bad usage, 3 if PostgreSQL could not be started).
#
# Environment: PG_BIN (default /usr/lib/postgresql/15/bin), PG_START_TIMEOUT (seconds, 30).
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 <command...>" >&2
  exit 2
fi

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_START_TIMEOUT=${PG_START_TIMEOUT:-30}
for tool in initdb pg_ctl pg_isready; do
  if [[ ! -x "$PG_BIN/$tool" ]]; then
    echo "with-postgres: $PG_BIN/$tool not found (apt-get install postgresql-15)" >&2
    exit 3
  fi
done

# initdb refuses to run as root: as root, run the server tools as the `postgres` user.
if [[ $EUID -eq 0 ]]; then
  PG_USER=postgres
  as_pg() { runuser -u "$PG_USER" -- "$@"; }
else
  PG_USER=$(id -un)
  as_pg() { "$@"; }
fi

PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/parley-pg.XXXXXX")
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"
PG_STARTED=0

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ $PG_STARTED -eq 1 ]]; then
    (cd "$PG_DIR" && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 stop \
      >/dev/null 2>&1) || {
      # Last resort: the postmaster's pid is the first line of postmaster.pid.
      if [[ -f "$PG_DATA/postmaster.pid" ]]; then
        kill -KILL "$(head -n 1 "$PG_DATA/postmaster.pid")" 2>/dev/null || true
      fi
    }
  fi
  rm -rf -- "$PG_DIR"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ $EUID -eq 0 ]]; then
  chown "$PG_USER:" "$PG_DIR"
fi
chmod 700 "$PG_DIR"

free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 40000))
}

(cd "$PG_DIR" && as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 \
  --locale=C --no-sync >"$PG_DIR/initdb.log" 2>&1) || {
  echo "with-postgres: initdb failed:" >&2
  cat "$PG_DIR/initdb.log" >&2
  exit 3
}

# The port is free when chosen but could be taken before the server binds it: retry.
PG_PORT=
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  if (cd "$PG_DIR" && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w \
    -t "$PG_START_TIMEOUT" -o "-p $port -c listen_addresses=127.0.0.1 \
-c unix_socket_directories=$PG_DIR -c fsync=off -c synchronous_commit=off \
-c full_page_writes=off -c max_connections=200" start >/dev/null 2>&1); then
    PG_STARTED=1
    PG_PORT=$port
    break
  fi
  # pg_ctl -w gave up: make sure no half-started server is left behind before retrying.
  if [[ -f "$PG_DATA/postmaster.pid" ]]; then
    PG_STARTED=1
    (cd "$PG_DIR" && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 10 stop \
      >/dev/null 2>&1) || true
    PG_STARTED=0
  fi
  echo "with-postgres: start on port $port failed (attempt $attempt)" >&2
done
if [[ -z $PG_PORT ]]; then
  echo "with-postgres: could not start PostgreSQL; server log:" >&2
  tail -n 50 "$PG_LOG" >&2 || true
  exit 3
fi

# Bounded readiness wait over TCP, the way the tests will connect.
ready=0
for _ in $(seq 1 $((PG_START_TIMEOUT * 5))); do
  if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -t 1; then
    ready=1
    break
  fi
  sleep 0.2
done
if [[ $ready -ne 1 ]]; then
  echo "with-postgres: PostgreSQL not ready after ${PG_START_TIMEOUT}s; server log:" >&2
  tail -n 50 "$PG_LOG" >&2 || true
  exit 3
fi

export PARLEY_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:${PG_PORT}/postgres"
echo "with-postgres: PostgreSQL ready at $PARLEY_TEST_POSTGRES_URL" >&2

# Run the command in the background and wait for it, so that a TERM or INT sent to this script
# is handled at once (forwarded to the command, then cleanup) instead of after the command ends.
# Without job control the command stays in our process group and keeps the terminal (stdin is
# passed explicitly, since a background command would otherwise read /dev/null).
set +e
"$@" <&0 &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143' TERM
trap 'kill -INT "$child" 2>/dev/null; wait "$child"; exit 130' INT
wait "$child"
status=$?
exit "$status"
