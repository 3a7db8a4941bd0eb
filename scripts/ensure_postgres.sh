#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster for the marketplace API tests and print its URL.
#
# Installs Debian's postgresql package when no server binaries are found (needs root and the
# package registry), creates a cluster in a fresh temporary folder owned by the `postgres` user
# (the server refuses to run as root), and starts it on a free loopback port with trust auth and
# fsync off: it holds test data only. Output on stdout, one per line:
#   datadir <folder>              (stop it with: pg_ctl -D <folder>/data stop)
#   postgresql+psycopg://postgres@127.0.0.1:<port>/postgres
set -euo pipefail

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

PGBIN="$(find_bin)"
if [[ -z "$PGBIN" || ! -x "$PGBIN/initdb" ]]; then
  if [[ "$(id -u)" != 0 ]]; then
    echo "PostgreSQL server is not installed and this user cannot apt-get install it" >&2
    exit 2
  fi
  echo "installing Debian's postgresql package..." >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  PGBIN="$(find_bin)"
fi

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
DIR="$(mktemp -d /tmp/crowdtrain-pg.XXXXXX)"
chmod 755 "$DIR"

run_as_pg() {
  if [[ "$(id -u)" == 0 ]]; then
    chown -R postgres:postgres "$DIR"
    su postgres -s /bin/bash -c "$1"
  else
    bash -c "$1"
  fi
}

run_as_pg "'$PGBIN/initdb' -D '$DIR/data' -A trust -U postgres --no-sync" >"$DIR/initdb.log" 2>&1 || {
  cat "$DIR/initdb.log" >&2
  exit 1
}
run_as_pg "'$PGBIN/pg_ctl' -D '$DIR/data' -l '$DIR/server.log' -w -t 60 start \
  -o \"-p $PORT -k '$DIR' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200\"" >&2 || {
  cat "$DIR/server.log" >&2
  exit 1
}
echo "datadir $DIR"
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
