#!/usr/bin/env bash
# The public-API snapshot of every published library crate: api/<package>.txt, one sorted
# line per public item (path, kind, signature), rendered by scripts/public-api.py from
# rustdoc's JSON output. See api/README.md.
#
#   bash scripts/public-api.sh           rewrite api/ from the current sources
#   bash scripts/public-api.sh --check   regenerate into a temporary directory and fail, with
#                                        the diff, if api/ differs (CI runs this)
#
# Why RUSTC_BOOTSTRAP=1: rustdoc's JSON output (`--output-format json`, the format
# cargo-public-api and cargo-semver-checks read) is still unstable, so stable rustdoc only
# accepts it with `-Z unstable-options`, which RUSTC_BOOTSTRAP=1 unlocks; the machine has only
# the stable toolchain (no nightly). It is given to rustdoc alone, documenting this
# workspace's library crates: cargo runs this script as its RUSTDOC (the shim just below),
# which sets RUSTC_BOOTSTRAP=1 and runs the real rustdoc. rustc never sees it, so no crate is
# compiled with unstable features, build scripts that probe for nightly features (anyhow,
# proc-macro2, ...) behave as on stable, and the build artifacts CI's other steps made are
# reused rather than rebuilt (cargo fingerprints RUSTC_BOOTSTRAP: setting it for the whole
# `cargo` command re-checks every dependency, ~5 min on 2 cores). The JSON format's
# instability is handled by public-api.py, which reads only the format versions it knows and
# fails loudly on any other.
if [ -n "${SHIREN_PUBLIC_API_RUSTDOC:-}" ]; then
  RUSTC_BOOTSTRAP=1 exec "$SHIREN_PUBLIC_API_RUSTDOC" "$@"
fi
#
# Default features of each crate (the API a dependent gets without opting in); the face
# crate's `eval` and `onnx` features are outside the stable API (see crates/face/Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# The published library crates and the facade. Not here: shiren-server (a binary) and
# shiren-compare-bench (benchmarks, unpublished). A new library crate must be added to one
# of the two lists, or this script fails (below).
packages=(shiren shiren-auth shiren-billing shiren-catalog shiren-face shiren-meter shiren-ram
  shiren-records shiren-scene shiren-store shiren-verify)
excluded=(shiren-server shiren-compare-bench)

# (prints the target directory, where rustdoc writes the JSON: <target>/doc/<crate>.json)
target_dir=$(python3 - "${packages[@]}" -- "${excluded[@]}" <<'EOF'
import json, subprocess, sys
args = sys.argv[1:]
listed = set(args[: args.index("--")]) | set(args[args.index("--") + 1 :])
meta = json.loads(subprocess.run(
    ["cargo", "metadata", "--no-deps", "--locked", "--format-version", "1"],
    check=True, capture_output=True, text=True).stdout)
missing = sorted(p["name"] for p in meta["packages"] if p["name"] not in listed)
if missing:
    sys.exit(f"public-api.sh: workspace package(s) {missing} are in neither list of "
             "scripts/public-api.sh: add each to `packages` (its API is guarded) or `excluded`")
print(meta["target_directory"])
EOF
)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

start=$SECONDS
render_args=()
exclude_args=()
for package in "${excluded[@]}"; do exclude_args+=(--exclude "$package"); done
for package in "${packages[@]}"; do
  crate=${package//-/_}
  rm -f "$target_dir/doc/$crate.json"
  render_args+=("$package=$target_dir/doc/$crate.json")
done
# One `cargo doc` for all of them (features unified across the guarded crates, as in CI's
# other steps; no guarded crate turns on a non-default feature of another).
SHIREN_PUBLIC_API_RUSTDOC=${RUSTDOC:-rustdoc} RUSTDOC="$PWD/scripts/public-api.sh" \
  RUSTDOCFLAGS="${RUSTDOCFLAGS:-} -Z unstable-options --output-format json" \
  cargo doc --locked --quiet --workspace "${exclude_args[@]}" --lib --no-deps
python3 scripts/public-api.py "$out" "${render_args[@]}"
echo "public-api: rendered ${#packages[@]} crates in $((SECONDS - start)) s" >&2

if ! $check; then
  mkdir -p api
  # only the rendered files: stale snapshots of removed crates go too
  find api -maxdepth 1 -name '*.txt' -delete
  cp "$out"/*.txt api/
  echo "public-api: wrote api/*.txt; review with: git diff -- api/" >&2
  exit 0
fi

failed=false
for package in "${packages[@]}"; do
  if [ ! -f "api/$package.txt" ]; then
    echo "public-api: api/$package.txt is missing" >&2
    failed=true
  elif ! diff -u --label "api/$package.txt (committed)" --label "api/$package.txt (the code)" \
    "api/$package.txt" "$out/$package.txt"; then
    failed=true
  fi
done
for file in api/*.txt; do
  [ -e "$file" ] || continue
  if [ ! -f "$out/$(basename "$file")" ]; then
    echo "public-api: $file is not a guarded crate's snapshot (see scripts/public-api.sh)" >&2
    failed=true
  fi
done
if $failed; then
  cat >&2 <<'MSG'

public-api: the public API differs from the snapshot in api/ (diff above: - committed,
+ what the code exports now). If the change is intended, accept it with

    bash scripts/public-api.sh

and commit api/ with the change; in review, a diff in api/ is a public API change (see
api/README.md for what it means for the version number).
MSG
  exit 1
fi
echo "public-api: api/ matches the code (${#packages[@]} crates)" >&2
