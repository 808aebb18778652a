#!/usr/bin/env bash
# Installs chDB (npm chdb: ClickHouse 26.x embedded in-process, about 540 MB) into scripts/chdb. The tests use it
# to run the modern DDL text (codecs, LowCardinality, DateTime64 aliases) that Debian's ClickHouse 18.16 cannot.
set -euo pipefail
cd "$(dirname "$0")/chdb"
if ! command -v node >/dev/null; then
  echo "chdb-install: node is missing; installing Debian's nodejs and npm" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
[ -d node_modules/chdb ] || npm install --prefix "$PWD" --no-audit --no-fund --loglevel=error --no-save chdb@3.4.0
echo '[{"sql":"SELECT version()","mode":"exec"}]' | node ddlcheck.mjs
