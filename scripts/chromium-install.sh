#!/usr/bin/env bash
# Installs Debian's chromium (headless browser for the report page's test) unless a chromium is already there.
set -euo pipefail
if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
  exit 0
fi
echo "chromium-install: installing Debian's chromium" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
chromium --version
