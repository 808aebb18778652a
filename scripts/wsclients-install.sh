#!/usr/bin/env bash
# Installs the OKX client libraries pinned in scripts/wsclients/package.json (ccxt, okx-api) for
# replay/clientlibs_test.go: real client libraries against replay serve.
set -euo pipefail
cd "$(dirname "$0")/wsclients"
[ -d node_modules/ccxt ] && [ -d node_modules/okx-api ] || npm install --no-audit --no-fund --loglevel=error
node -e "Promise.all([import('ccxt'), import('okx-api')]).then(([c]) => console.log('ccxt ' + c.default.version + ', okx-api ok'))"
