#!/usr/bin/env bash
# Every test, as a newcomer runs them: the pinned face models, a PostgreSQL for the
# store (the local server, or a throwaway cluster this script starts and stops), then
# `cargo test --workspace` with any extra arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fetch-models.sh
source scripts/postgres.sh
cargo test --workspace "$@"
