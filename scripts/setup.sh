#!/usr/bin/env bash
# Installs everything Kontor's build and tests need on a bare Debian machine with Node 20:
# npm packages (npm ci, when node_modules is missing or stale) and the browsers from Debian
# (Chromium and Firefox ESR with their German language packs) when missing, and the servers
# the cluster tests start throwaway instances of (PostgreSQL 15, nats-server, HAProxy).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in chromium chromium-l10n firefox-esr firefox-esr-l10n-de openssl postgresql nats-server haproxy; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" fonts-dejavu-core >/dev/null
fi

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.kontor-lock-hash
elif [ "$(cat node_modules/.kontor-lock-hash 2>/dev/null)" != "$lock_hash" ]; then
  # An existing checkout whose lock file moved: bring node_modules up to date in place.
  echo "setup: npm install (package-lock.json changed)"
  npm install --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.kontor-lock-hash
fi
