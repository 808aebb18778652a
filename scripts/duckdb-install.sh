#!/usr/bin/env bash
# Installs DuckDB (npm @duckdb/node-api, which ships its native binary in the package) into scripts/duckdb.
set -euo pipefail
cd "$(dirname "$0")/duckdb"
if ! command -v node >/dev/null; then
  echo "duckdb-install: node is missing; installing Debian's nodejs and npm" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
[ -d node_modules/@duckdb/node-api ] || npm install --no-audit --no-fund --loglevel=error
node query.mjs "select 'duckdb ok' as status"
