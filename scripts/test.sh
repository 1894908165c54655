#!/usr/bin/env bash
# `npm test`: set up (npm ci, Debian browsers), check formatting and lint the sources with Biome
# (biome.jsonc), build both extensions, type-check, lint the Firefox build with web-ext, then
# run every test tier (unit, gateway, browser) once with vitest and print one summary line
# "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
echo "== biome: format check and lint (npm run format fixes the formatting)"
npx biome ci --error-on-warnings .
echo "== build"
npx tsx scripts/build.ts
echo "== typecheck"
npx tsc --noEmit
echo "== web-ext lint (dist/firefox)"
lint_json=$(npx web-ext lint --source-dir dist/firefox --self-hosted --output json 2>/dev/null || true)
node -e '
  const r = JSON.parse(process.argv[1]);
  for (const m of r.errors) console.error(`lint error: ${m.code} ${m.file ?? ""} ${m.message}`);
  console.log(`web-ext lint: ${r.summary.errors} errors, ${r.summary.warnings} warnings`);
  process.exit(r.summary.errors === 0 ? 0 : 1);
' "$lint_json"

echo "== tests"
mkdir -p test-results
set +e
KONTOR_SKIP_BUILD=1 npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
status=$?
set -e
node -e '
  const fs = require("fs");
  if (!fs.existsSync("test-results/vitest.json")) { console.log("tests: 0 passed, 1 failed"); process.exit(0); }
  const r = JSON.parse(fs.readFileSync("test-results/vitest.json", "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
'
exit $status
