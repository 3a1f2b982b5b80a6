#!/usr/bin/env bash
# What the console's browser test (crates/server/tests/browser.rs) needs, installed idempotently:
# Debian's chromium (apt, as root) and the pinned playwright-core from package-lock.json
# (`npm ci` into crates/server/browser/node_modules, ignored by git). playwright-core never
# downloads a browser: the test drives /usr/bin/chromium. Fails loudly when something is missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium chromium-driver)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
# A CJK font, so the screenshots show the Chinese labels rather than boxes.
{ command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh | grep -q .; } || need_apt+=(fonts-wqy-zenhei)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: missing ${need_apt[*]}; run as root or: sudo apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_apt[@]}"
fi

cd "$here"
wanted="$(node -e 'console.log(require("./package-lock.json").packages["node_modules/playwright-core"].version)')"
have="$(node -e 'try{console.log(require("./node_modules/playwright-core/package.json").version)}catch{console.log("none")}')"
if [ "$wanted" != "$have" ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi
/usr/bin/chromium --version
echo "playwright-core $wanted"
