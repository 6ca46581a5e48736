#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on a free loopback port and print its URL.
# Used by .ci/run and by developers who want the PostgreSQL half of the suite:
#   eval "$(bash .ci/postgres.sh)"     # exports TEST_POSTGRES_URL and PGSTOP
# PostgreSQL refuses to run as root, so as root the server runs as `postgres`.
set -euo pipefail

log() { echo "[postgres] $*" >&2; }

if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    log "installing PostgreSQL"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGDATA=$(mktemp -d /tmp/demarche-pg.XXXXXX)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = 0 ]; then chown postgres "$PGDATA"; fi

as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust --no-sync -E UTF8 >"$PGDATA.initdb.log" 2>&1 \
    || { cat "$PGDATA.initdb.log" >&2; exit 1; }
# fsync off: a test server whose data is thrown away needs speed, not durability.
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
    -o "-p $PORT -k $PGDATA -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >&2
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres demarche_test >&2
log "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (data in $PGDATA)"

echo "export TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$PORT/demarche_test"
if [ "$(id -u)" = 0 ]; then
    echo "export PGSTOP='runuser -u postgres -- $PGBIN/pg_ctl -D $PGDATA -m fast stop'"
else
    echo "export PGSTOP='$PGBIN/pg_ctl -D $PGDATA -m fast stop'"
fi
