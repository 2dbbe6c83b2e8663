#!/usr/bin/env bash
# Runs tests/scripts/check_events.py with its arguments (a messages file, or
# --self-test) in a venv holding the pinned packages of
# requirements-events.txt: OUTBOXD_EVENTS_VENV, made here on first use and
# remade when a pin changes. Tests running at once share it under a lock.
#   OUTBOXD_EVENTS_VENV=BUILD/events-venv tests/scripts/check_events.sh MESSAGES.json
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${OUTBOXD_EVENTS_VENV:?set OUTBOXD_EVENTS_VENV to the venv directory (under the build dir)}"
requirements="$here/requirements-events.txt"

# Whether every pin of the requirements file is installed in the venv.
pins_installed() {
  local have pin
  have="$("$venv/bin/python" -m pip freeze 2>/dev/null | tr 'A-Z_' 'a-z-')" || return 1
  while read -r pin; do
    grep -qxF "$pin" <<<"$have" || return 1
  done < <(grep -E '^[A-Za-z0-9_.-]+==' "$requirements" | tr 'A-Z_' 'a-z-')
}

mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if ! pins_installed; then
  rm -rf "$venv"
  python3 -m venv "$venv" ||
    { echo "check_events: python3 -m venv failed (apt-get install python3-venv)" >&2; exit 2; }
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" >&2 ||
    { echo "check_events: installing the packages of $requirements failed" >&2; exit 2; }
fi
flock -u 9
exec 9>&-
exec "$venv/bin/python" "$here/check_events.py" "$@"
