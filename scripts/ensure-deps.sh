#!/usr/bin/env bash
# Installs what the project needs when it is missing: npm packages (npm ci, when
# node_modules is absent or older than the lockfile) and, only when asked (--chromium, or
# its newer name --browsers), the browsers of the e2e suite: Debian's chromium and firefox-esr,
# NSS's certutil (the LAN test trusts the local CA with it), and WebKit (webkit2gtk-driver:
# WebKitWebDriver and WebKitGTK's MiniBrowser) with Xvfb for its display.
set -euo pipefail
cd "$(dirname "$0")/.."
# A node_modules that is a symlink (a git worktree sharing another checkout's packages) is
# that checkout's to install: npm ci here would empty it under the other checkout.
if [[ -L node_modules ]]; then
  echo "node_modules is a symlink to $(readlink node_modules): not installing into it"
elif [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "installing npm packages (npm ci)…"
  npm ci --no-audit --no-fund --loglevel=error
fi
updated=0
# Installs Debian package $2 when executable $1 is missing (env var $3 may point elsewhere).
need () {
  [[ -x "$1" ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then echo "$2 is missing at $1; install Debian's $2 package or set $3" >&2; exit 1; fi
  echo "installing Debian's $2…"
  if [[ $updated -eq 0 ]]; then apt-get update -qq; updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
if [[ "${1:-}" == --chromium || "${1:-}" == --browsers ]]; then
  need "${CHROMIUM_PATH:-/usr/bin/chromium}" chromium CHROMIUM_PATH
  need "${FIREFOX_PATH:-/usr/bin/firefox-esr}" firefox-esr FIREFOX_PATH
  need /usr/bin/certutil libnss3-tools PATH
  need "${WEBKIT_DRIVER_PATH:-/usr/bin/WebKitWebDriver}" webkit2gtk-driver WEBKIT_DRIVER_PATH
  need "${XVFB_PATH:-/usr/bin/Xvfb}" xvfb XVFB_PATH
  # server/durability.test.ts traces the Node cafe's syncs.
  need /usr/bin/strace strace PATH
fi
# STUN/TURN beside the relay (coturn), and the NAT routers of e2e/netlab.ts (iptables; nftables
# is its backend on Debian 12): for the tests, and with --turn for a relay or LAN host.
if [[ "${1:-}" == --chromium || "${1:-}" == --browsers || "${1:-}" == --turn ]]; then
  need "${TURNSERVER_PATH:-/usr/bin/turnserver}" coturn TURNSERVER_PATH
fi
if [[ "${1:-}" == --chromium || "${1:-}" == --browsers ]]; then
  need /usr/sbin/iptables iptables PATH
  need /usr/sbin/nft nftables PATH
  need /usr/sbin/sysctl procps PATH
  # scripts/in-netns.sh and e2e/netlab.ts make the private networks with ip(8).
  need /usr/sbin/ip iproute2 PATH
fi
