#!/usr/bin/env bash
# Installs Debian's prometheus package (ships prometheus and promtool) when either binary is missing.
# Used by .ci/run before the observability tests (alerts/ unit tests, live Prometheus scrape test).
set -euo pipefail
if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends prometheus
command -v promtool >/dev/null && command -v prometheus >/dev/null
