#!/usr/bin/env bash
# Make sure Debian's headless Chromium is at /usr/bin/chromium: the browser tests (tests/web)
# drive it with Playwright's executable_path, and never download a browser of their own.
# As root on Debian/Ubuntu it installs Debian's `chromium` package; otherwise it prints how to
# install it and exits 0 (tests/web then skip), except in CI (CI=true), where a browser that
# cannot be had fails the run here, loudly.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Fonts with CJK glyphs, so the Chinese pages (and their screenshots) show characters.
    apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
    "$CHROMIUM" --version
    exit 0
fi

if [ "${CI:-}" = "true" ]; then
    echo "CI needs Chromium at $CHROMIUM for tests/web, and cannot install it (not root, or no apt-get)" >&2
    exit 1
fi

cat >&2 <<'MSG'
Chromium is not installed, so tests/web (the browser tests) will skip.
Install it on Debian or Ubuntu with:
  sudo apt-get update && sudo apt-get install chromium fonts-wqy-microhei
MSG
exit 0
