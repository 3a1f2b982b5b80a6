#!/usr/bin/env bash
# Re-locks requirements.txt from requirements.in: exact versions of the whole dependency
# closure, each with the SHA-256 of every file PyPI has for it (pip-compile --generate-hashes).
# Run after changing requirements.in; commit both files. Needs PyPI; pip-tools is installed,
# pinned, into its own virtualenv under target/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
python="${PYTHON:-python3}"
tools="$root/target/sdk-lock-venv"
if [[ ! -x "$tools/bin/pip-compile" ]]; then
    "$python" -m venv --clear "$tools"
    "$tools/bin/pip" install --quiet --disable-pip-version-check "pip-tools==7.7.0"
fi
cd "$here"
"$tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --no-emit-index-url \
    --no-emit-find-links --strip-extras --output-file requirements.txt requirements.in
echo "lock.sh: requirements.txt rewritten ($(grep -c -- '--hash=' requirements.txt) hashes)"
