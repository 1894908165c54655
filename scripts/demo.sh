#!/usr/bin/env bash
# `npm run demo`: set up, build, and show Kontor working in a real browser on local sites.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsx scripts/build.ts
exec npx tsx scripts/demo.ts "$@"
