#!/usr/bin/env bash
# Make sure Debian's headless Chromium is at /usr/bin/chromium, with a font that has Chinese
# glyphs: the browser tests (tests/web) drive it through Playwright's executable_path and never
# download a browser of their own. As root on Debian/Ubuntu it installs what is missing with
# apt-get; otherwise it prints how and exits 0 (tests/web then skip), except in CI (CI=true),
# where a browser that cannot be had fails the run here, loudly.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
FONT=fonts-wqy-microhei

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
# Without a CJK font the Chinese pages (and their screenshots) show empty boxes.
if ! { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh family 2>/dev/null)" ]; }; then
    missing+=("$FONT")
fi
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
    "$CHROMIUM" --version
    exit 0
fi

if [ ! -x "$CHROMIUM" ] && [ "${CI:-}" = "true" ]; then
    echo "CI needs Chromium at $CHROMIUM for tests/web and cannot install it (not root, or no apt-get)" >&2
    exit 1
fi

cat >&2 <<MSG
Missing for the browser tests (tests/web): ${missing[*]}.
Install on Debian or Ubuntu with:
  sudo apt-get update && sudo apt-get install ${missing[*]}
MSG
exit 0
