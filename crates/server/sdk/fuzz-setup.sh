#!/usr/bin/env bash
# Creates the virtualenv in which fuzz_console.py runs schemathesis against shiren-server's
# console API (crates/server/tests/console.rs). Installs exactly fuzz-requirements.txt: every
# package pinned with ==, every file checked against its SHA-256 (pip --require-hashes), no
# dependency resolution at install time (--no-deps: the lock is the whole closure), wheels only.
# Kept apart from setup.sh / sdk-venv (the cloud SDKs) so the two locks move independently.
#
#   bash crates/server/sdk/fuzz-setup.sh          # prints the virtualenv's python on the last line
#   bash crates/server/sdk/fuzz-setup.sh --lock   # re-locks fuzz-requirements.txt from .in (needs PyPI)
#
# Idempotent: a second run with an unchanged lock and Python only re-checks the imports.
# Any failure exits non-zero with the reason.
# Environment: PYTHON (default python3, must be >= 3.10), SHIREN_FUZZ_VENV (default
# <repo>/target/fuzz-venv, git-ignored).
set -euo pipefail

die() { echo "sdk/fuzz-setup.sh: FAILED: $*" >&2; exit 1; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
python="${PYTHON:-python3}"
venv="${SHIREN_FUZZ_VENV:-$root/target/fuzz-venv}"
lock="$here/fuzz-requirements.txt"
stamp="$venv/.shiren-fuzz-stamp"

command -v "$python" >/dev/null 2>&1 || die "no '$python' on PATH: install CPython >= 3.10 (with venv) or set PYTHON"
"$python" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
    || die "'$python' is older than 3.10 or lacks the venv/ensurepip modules"

if [[ "${1:-}" == "--lock" ]]; then
    tools="$root/target/fuzz-lock-venv"
    if [[ ! -x "$tools/bin/pip-compile" ]]; then
        "$python" -m venv --clear "$tools"
        "$tools/bin/pip" install --quiet --disable-pip-version-check "pip-tools==7.7.0"
    fi
    cd "$here"
    "$tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --no-emit-index-url \
        --no-emit-find-links --strip-extras --output-file fuzz-requirements.txt fuzz-requirements.in
    echo "fuzz-setup.sh: fuzz-requirements.txt rewritten ($(grep -c -- '--hash=' fuzz-requirements.txt) hashes)"
    exit 0
fi

[[ -f "$lock" ]] || die "missing $lock"
mkdir -p "$(dirname "$venv")"
# Tests run in parallel: one setup at a time per virtualenv.
exec 9>"$venv.lock"
flock 9 || die "cannot lock $venv.lock"

imports='import schemathesis, requests, hypothesis'
want="$(sha256sum "$lock" | cut -d' ' -f1) $("$python" -c 'import sys; print(sys.version.split()[0])')"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
    if "$venv/bin/python" -c "$imports" 2>/dev/null; then
        echo "sdk/fuzz-setup.sh: virtualenv up to date"
        echo "$venv/bin/python"
        exit 0
    fi
    echo "sdk/fuzz-setup.sh: virtualenv is stamped but its imports fail; rebuilding" >&2
fi

echo "sdk/fuzz-setup.sh: creating $venv"
rm -f "$stamp"
"$python" -m venv --clear "$venv" || die "python -m venv $venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check --no-input)
"${pip[@]}" install --quiet --require-hashes --no-deps --only-binary :all: -r "$lock" \
    || die "pip install --require-hashes -r $lock (is PyPI reachable? did a hash change?)"
"${pip[@]}" check || die "pip check: the installed set is inconsistent; re-lock with fuzz-setup.sh --lock"
"$venv/bin/python" -c "$imports" || die "the fuzzing modules do not import"
echo "$want" > "$stamp"
echo "sdk/fuzz-setup.sh: installed $(grep -c '^[a-z0-9].*==' "$lock") pinned packages"
echo "$venv/bin/python"
