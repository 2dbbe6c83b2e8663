#!/usr/bin/env bash
# Runs tests/browser/console_browser.py (headless Chromium through Selenium)
# with its arguments, in a venv holding the Selenium of requirements.txt:
# OUTBOXD_BROWSER_VENV (made here on first use). Exits 77 ("SKIPPED: ...")
# when Debian's chromium or chromium-driver is missing; scripts/install-deps.sh
# --deploy installs both.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${OUTBOXD_BROWSER_VENV:?set OUTBOXD_BROWSER_VENV to the venv directory}"
for tool in /usr/bin/chromium /usr/bin/chromedriver; do
  if [ ! -x "$tool" ]; then
    echo "SKIPPED: $tool is missing (apt-get install chromium chromium-driver)"
    exit 77
  fi
done
want="$(grep -E '^selenium==' "$here/requirements.txt")"
if ! "$venv/bin/python" -m pip freeze 2>/dev/null | grep -qx "$want"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt" >&2
fi
exec "$venv/bin/python" "$here/console_browser.py" "$@"
