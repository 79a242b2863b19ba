#!/usr/bin/env bash
# Real-browser end-to-end tests: Debian's Chromium, driven by playwright-core, against the
# spotcheck binary. Installs what is missing, builds, runs; exits non-zero on any failure.
#
#   bash tests/e2e/run.sh
#
# SPOTCHECK_BIN=<path> tests that binary and skips `cargo build`;
# CHROMIUM_PATH=<path> drives that browser and skips the apt install.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
start=$SECONDS

# 1. Chromium from Debian (`npx playwright install` cannot download its own build here).
if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "e2e: /usr/bin/chromium is missing; installing Debian's chromium with apt" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
  echo "e2e: chromium installed after $((SECONDS - start)) s" >&2
fi

# 2. playwright-core, exactly as package-lock.json pins it.
(cd "$here" && npm ci --no-audit --no-fund)

# 3. The binary: cargo rebuilds only what changed (a no-op when target/debug/spotcheck is fresh).
if [ -z "${SPOTCHECK_BIN:-}" ]; then
  (cd "$root" && cargo build --bin spotcheck)
fi

# 4. The suite (node's built-in test runner).
cd "$here"
status=0
npm test || status=$?
echo "e2e: finished in $((SECONDS - start)) s with exit code $status (screenshots in target/e2e/)" >&2
exit "$status"
