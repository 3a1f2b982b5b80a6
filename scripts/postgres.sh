# Sourced by .ci/run (and usable by hand: `source scripts/postgres.sh`): makes
# SHIREN_TEST_POSTGRES name a PostgreSQL admin URL the store tests can create databases
# with. Uses the server on 127.0.0.1:5432 when it answers; otherwise installs Debian's
# postgresql if needed and starts a throwaway cluster on 127.0.0.1:55432 in a temporary
# directory, stopped when the calling shell exits. Fails loudly if neither works.
# Set SHIREN_PG_THROWAWAY=1 to skip the local server (to test this path).

shiren_pg_answers() { # URL
  command -v psql >/dev/null 2>&1 && psql "$1" -Atqc 'select 1' >/dev/null 2>&1
}

if [ -z "${SHIREN_PG_THROWAWAY:-}" ] && shiren_pg_answers "${SHIREN_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"; then
  export SHIREN_TEST_POSTGRES="${SHIREN_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
else
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "no PostgreSQL answers on 127.0.0.1:5432 and none is installed: installing Debian's postgresql"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  SHIREN_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  SHIREN_PG_DIR=$(mktemp -d /tmp/shiren-pg.XXXXXX)
  chown postgres "$SHIREN_PG_DIR"
  su postgres -s /bin/sh -c "$SHIREN_PG_BIN/initdb -D $SHIREN_PG_DIR/data -U postgres -A trust >/dev/null"
  su postgres -s /bin/sh -c "$SHIREN_PG_BIN/pg_ctl -D $SHIREN_PG_DIR/data -l $SHIREN_PG_DIR/log -w \
    -o '-p 55432 -h 127.0.0.1 -k $SHIREN_PG_DIR -c fsync=on' start >/dev/null"
  trap 'su postgres -s /bin/sh -c "$SHIREN_PG_BIN/pg_ctl -D $SHIREN_PG_DIR/data -m immediate stop" >/dev/null 2>&1; rm -rf "$SHIREN_PG_DIR"' EXIT
  export SHIREN_TEST_POSTGRES="postgres://postgres@127.0.0.1:55432/postgres"
  if ! shiren_pg_answers "$SHIREN_TEST_POSTGRES"; then
    echo "could not start a throwaway PostgreSQL (see $SHIREN_PG_DIR/log)" >&2
    cat "$SHIREN_PG_DIR/log" >&2 || true
    exit 1
  fi
fi
