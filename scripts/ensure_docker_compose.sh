#!/usr/bin/env bash
# Make sure `docker-compose` (the command that checks docker-compose.yml) is on PATH.
# As root on Debian/Ubuntu it installs Debian's `docker-compose` package (1.29.x); otherwise it
# prints how to install it and exits 0, so that callers (make, CI) decide what a missing
# binary means (tests/test_deploy_files.py skips locally and fails when CI=true).
set -euo pipefail

if command -v docker-compose >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq docker-compose >/dev/null
    docker-compose version --short
    exit 0
fi

cat >&2 <<'MSG'
docker-compose is not installed, so tests/test_deploy_files.py will skip (and fail in CI).
Install it on Debian or Ubuntu with:
  sudo apt-get update && sudo apt-get install docker-compose
MSG
exit 0
