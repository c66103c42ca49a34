#!/usr/bin/env bash
# Installs the npm packages the tests use (package.json, locked by package-lock.json) when
# node_modules is missing or older than the lock file. Needs node and npm (install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  exit 0
fi
echo "install-node-deps: npm ci"
npm ci --no-audit --no-fund --loglevel=error
