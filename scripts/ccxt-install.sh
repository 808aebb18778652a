#!/usr/bin/env bash
# Installs ccxt (pinned in scripts/ccxt/package.json) for replay/ccxt_test.go: ccxt's own client against replay serve.
set -euo pipefail
cd "$(dirname "$0")/ccxt"
[ -d node_modules/ccxt ] || npm install --no-audit --no-fund --loglevel=error
node -e "import('ccxt').then(m => console.log('ccxt ' + m.default.version))"
