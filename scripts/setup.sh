#!/usr/bin/env bash
# Installs everything the tests and the demo need on a fresh Debian 12 machine with Node 20
# (root, nothing else installed). Idempotent: a second run changes nothing and takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=10.34.9

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION with npm"
  npm install --global --no-fund --no-audit "pnpm@$PNPM_VERSION" >/dev/null
fi

# Debian packages: every script that needs some lists them in one place.
bash scripts/install-debian-packages.sh

if [ ! -d node_modules/.pnpm ] || [ pnpm-lock.yaml -nt node_modules/.pnpm/lock.yaml ]; then
  echo "setup: pnpm install"
  pnpm install --frozen-lockfile --reporter=append-only >/dev/null
fi
