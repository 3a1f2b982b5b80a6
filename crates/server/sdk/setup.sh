#!/usr/bin/env bash
# Creates the virtualenv in which the cloud's own Python SDKs drive shiren-server
# (crates/server/tests/sdk_clients.rs, run_sdk.py). Installs exactly requirements.txt:
# every package pinned with ==, every file checked against its SHA-256 (pip --require-hashes),
# no dependency resolution at install time (--no-deps: the lock is the whole closure), and
# the one source-only package (alibabacloud-tea) built without fetching unhashed build tools
# (--no-build-isolation, with the setuptools that ships inside the virtualenv).
#
#   bash crates/server/sdk/setup.sh        # prints the virtualenv's python on the last line
#
# Idempotent: a second run with an unchanged requirements.txt and Python only re-checks the
# imports (well under a second). Any failure exits non-zero with the reason.
# Environment: PYTHON (default python3, must be >= 3.9), SHIREN_SDK_VENV (default
# <repo>/target/sdk-venv, git-ignored).
set -euo pipefail

die() { echo "sdk/setup.sh: FAILED: $*" >&2; exit 1; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
python="${PYTHON:-python3}"
venv="${SHIREN_SDK_VENV:-$root/target/sdk-venv}"
lock="$here/requirements.txt"
build_lock="$here/build-requirements.txt"
stamp="$venv/.shiren-sdk-stamp"

command -v "$python" >/dev/null 2>&1 || die "no '$python' on PATH: install CPython >= 3.9 (with venv) or set PYTHON"
"$python" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 9) else 1)' \
    || die "'$python' is older than 3.9 or lacks the venv/ensurepip modules"
[[ -f "$lock" ]] || die "missing $lock"

mkdir -p "$(dirname "$venv")"
# Tests run in parallel: one setup at a time per virtualenv.
exec 9>"$venv.lock"
flock 9 || die "cannot lock $venv.lock"

imports='import alibabacloud_cloudauth20190307.client, alibabacloud_tea_openapi.models, aliyunsdkcore.client, aliyunsdkcloudauth.request.v20190307.InitFaceVerifyRequest'
want="$(cat "$lock" "$build_lock" | sha256sum | cut -d' ' -f1) $("$python" -c 'import sys; print(sys.version.split()[0])')"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
    if "$venv/bin/python" -c "$imports" 2>/dev/null; then
        echo "sdk/setup.sh: virtualenv up to date"
        echo "$venv/bin/python"
        exit 0
    fi
    echo "sdk/setup.sh: virtualenv is stamped but its imports fail; rebuilding" >&2
fi

echo "sdk/setup.sh: creating $venv"
rm -f "$stamp"
"$python" -m venv --clear "$venv" || die "python -m venv $venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check --no-input)
"${pip[@]}" install --quiet --require-hashes --no-deps --only-binary :all: -r "$build_lock" \
    || die "pip install --require-hashes -r $build_lock (is PyPI reachable? did a hash change?)"
"${pip[@]}" install --quiet --require-hashes --no-deps --no-build-isolation -r "$lock" \
    || die "pip install --require-hashes -r $lock (is PyPI reachable? did a hash change?)"
"${pip[@]}" check || die "pip check: the installed set is inconsistent; re-lock with sdk/lock.sh"
"$venv/bin/python" -c "$imports" || die "the SDK modules do not import"
echo "$want" > "$stamp"
echo "sdk/setup.sh: installed $(grep -c '^[a-z0-9].*==' "$lock") pinned packages"
echo "$venv/bin/python"
