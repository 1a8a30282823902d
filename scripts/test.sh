#!/usr/bin/env bash
# `npm test`: installs what is missing, then runs every suite (typecheck, lint, unit, e2e)
# and ends with one line "N passed, N failed" summing them.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh --chromium || exit 1

passed=0; failed=0
count () { # suite name, passed, failed
  echo "== $1: $2 passed, $3 failed"
  passed=$((passed + $2)); failed=$((failed + $3))
}

echo "== typecheck"
if npx tsc -p tsconfig.json; then count typecheck 1 0; else count typecheck 0 1; fi

echo "== lint (ESLint, eslint.config.js)"
if npx eslint .; then count lint 1 0; else count lint 0 1; fi

echo "== unit (vitest)"
mkdir -p test-results
rm -f test-results/unit.json
npx vitest run --reporter=default --reporter=json --outputFile=test-results/unit.json
# Counted by scripts/suite-counts.ts: a skipped or todo test counts as failed (none may be skipped).
read -r up uf < <(node --import tsx scripts/suite-counts.ts unit test-results/unit.json)
count unit "$up" "$uf"

echo "== pinning-service compliance (ipfs-shipyard suite against the Node cafe's HTTP port)"
node --import tsx scripts/compliance/run.ts | tee test-results/compliance.log
read -r cp cf < <(node --import tsx scripts/suite-counts.ts compliance test-results/compliance.log)
count compliance "$cp" "$cf"

echo "== build"
if npx vite build --logLevel warn; then count build 1 0; else count build 0 1; fi

echo "== e2e (Playwright, Debian Chromium, real relay, private network namespace)"
rm -f test-results/e2e.json
bash scripts/in-netns.sh npx playwright test "$@"
read -r ep ef < <(node --import tsx scripts/suite-counts.ts e2e test-results/e2e.json)
count e2e "$ep" "$ef"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
