#!/usr/bin/env bash
# Installs what the project needs when it is missing: npm packages (npm ci, when
# node_modules is absent or older than the lockfile) and Debian's Chromium for the
# browser tests with NSS's certutil (the LAN test trusts the local CA with it; only
# when asked, with --chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "installing npm packages (npm ci)…"
  npm ci --no-audit --no-fund --loglevel=error
fi
if [[ "${1:-}" == --chromium ]]; then
  chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
  if [[ ! -x "$chromium" ]]; then
    if [[ $(id -u) -ne 0 ]]; then echo "Chromium is missing at $chromium; install Debian's chromium package or set CHROMIUM_PATH" >&2; exit 1; fi
    echo "installing Debian's chromium…"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  if ! command -v certutil >/dev/null; then
    if [[ $(id -u) -ne 0 ]]; then echo "certutil is missing; install Debian's libnss3-tools package" >&2; exit 1; fi
    echo "installing Debian's libnss3-tools (certutil)…"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libnss3-tools >/dev/null
  fi
fi
