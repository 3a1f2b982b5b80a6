#!/usr/bin/env bash
# A bounded load run of shiren-server on loopback (127.0.0.1 only; every run stops by
# itself after a fixed number of requests). Prints requests/s and p50/p99 for:
#   describe   DescribeFaceVerify of a completed session (SQLite)
#   session    InitFaceVerify + the device's photo, fixed scorer (SQLite, then PostgreSQL
#              with 8 connections at concurrency 32 and 64 when SHIREN_TEST_POSTGRES
#              names a server)
#   face       the same with the real face pipeline, on 1 and then 2 scoring workers
# Sizes: SHIREN_LOAD_SCALE (default 1) multiplies every request count.
#
#   cargo build --release -p shiren-server --bins --examples && bash scripts/server-load.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${CARGO_TARGET_DIR:-target}/release
scale=${SHIREN_LOAD_SCALE:-1}
work=$(mktemp -d)
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
trap 'stop_server; rm -rf "$work"' EXIT

start_server() { # start_server NAME DATABASE ARGS...
  local name=$1 database=$2; shift 2
  "$bin/shiren-server" --listen 127.0.0.1:0 --database "$database" --demo-file "$work/$name.json" \
    --master-key "$(printf 'ab%.0s' {1..32})" --log warn "$@" > "$work/$name.out" 2> "$work/$name.err" &
  server_pid=$!
  for _ in $(seq 1 300); do
    if grep -q "listening on" "$work/$name.out" 2>/dev/null; then return 0; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/$name.err" >&2; echo "server-load: $name did not start" >&2; exit 1; fi
    sleep 0.1
  done
  echo "server-load: $name did not start within 30 s" >&2
  exit 1
}

load() { # load NAME ARGS...
  local name=$1; shift
  "$bin/examples/load" --demo-file "$work/$name.json" "$@"
}

echo "--- SQLite, fixed scorer"
start_server sqlite "sqlite://$work/load.db" --scorer fixed --qps-scale 1000
load sqlite --scenario describe --requests $((20000 * scale)) --concurrency 32
load sqlite --scenario session --requests $((2000 * scale)) --concurrency 16
stop_server

if [ -n "${SHIREN_TEST_POSTGRES:-}" ]; then
  echo "--- PostgreSQL (8 connections), fixed scorer"
  # At two concurrencies, each on a fresh database: more sessions in flight make bigger
  # batches (one statement and one commit each), so PostgreSQL's CPU per session falls
  # as concurrency rises.
  for concurrency in 32 64; do
    db="shiren_load_$$_$concurrency"
    psql "$SHIREN_TEST_POSTGRES" -qc "CREATE DATABASE $db" >/dev/null
    start_server "pg$concurrency" "${SHIREN_TEST_POSTGRES%/*}/$db" --scorer fixed --db-connections 8 --qps-scale 1000
    load "pg$concurrency" --scenario session --requests $((4000 * scale)) --concurrency "$concurrency"
    stop_server
    psql "$SHIREN_TEST_POSTGRES" -qc "DROP DATABASE $db" >/dev/null
  done
fi

echo "--- SQLite, the real face pipeline (ID_PRO: selfie vs the authority's photo)"
for workers in 1 2; do
  start_server "face$workers" "sqlite://$work/face$workers.db" --scorer face \
    --authority-photo .cache/face/photos/obama.jpg --face-workers "$workers"
  load "face$workers" --scenario session --requests $((40 * scale)) --concurrency 8 \
    --photo .cache/face/photos/obama2.jpg
  stop_server
done
