#!/usr/bin/env bash
# `npm test`: installs what is missing, then runs every suite (typecheck, unit, e2e)
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

echo "== unit (vitest)"
mkdir -p test-results
npx vitest run --reporter=default --reporter=json --outputFile=test-results/unit.json
read -r up uf < <(node -e "try{const r=require('./test-results/unit.json');console.log(r.numPassedTests,r.numFailedTests+(r.numRuntimeErrorTestSuites??0)+(r.success?0:(r.numFailedTests?0:1)))}catch{console.log('0 1')}")
count unit "$up" "$uf"

echo "== pinning-service compliance (ipfs-shipyard suite against the Node cafe's HTTP port)"
node --import tsx scripts/compliance/run.ts | tee test-results/compliance.log
read -r cp cf < <(node -e "const m=/^compliance: (\\d+) passed, (\\d+) failed$/m.exec(require('fs').readFileSync('test-results/compliance.log','utf8'));console.log(m?m[1]+' '+m[2]:'0 1')")
count compliance "$cp" "$cf"

echo "== build"
if npx vite build --logLevel warn; then count build 1 0; else count build 0 1; fi

echo "== e2e (Playwright, Debian Chromium, real relay, private network namespace)"
rm -f test-results/e2e.json
bash scripts/in-netns.sh npx playwright test "$@"
read -r ep ef < <(node -e "try{const r=require('./test-results/e2e.json');const s=r.stats;console.log(s.expected+s.flaky,s.unexpected+(r.errors?.length??0))}catch{console.log('0 1')}")
count e2e "$ep" "$ef"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
