#!/usr/bin/env bash
# Builds outboxd's distributable artefacts from the tree (docs/packaging.md).
#   scripts/package.sh deb    the Debian package; prints its path on the last line
#   scripts/package.sh helm   lints and renders deploy/helm/outboxd (strict,
#                             against the Kubernetes schemas); prints the
#                             chart folder on the last line
# deb: builds the daemon alone (OUTBOXD_DAEMON_ONLY) in build/package, packs
# it with CPack (dependencies from dpkg-shlibdeps), and runs lintian: an
# error fails; the warnings left are listed, each explained in
# packaging/deb/lintian-overrides.
#   OUTBOXD_PACKAGE_BUILD_DIR  a build tree to package as it is, already
#                              built (the suite passes its own: one compile)
#   OUTBOXD_DEB_REVISION       the package revision, default 1 (0.3.0-1)
# Progress goes to stderr, the result's path to stdout.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PROG=package.sh
say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { say "$*"; exit 1; }

deb() {
  local tool
  for tool in cmake ninja dpkg-shlibdeps lintian gzip; do
    command -v "$tool" >/dev/null ||
      die "$tool is missing (scripts/install-deps.sh --deploy installs the packaging tools)"
  done
  local dir="${OUTBOXD_PACKAGE_BUILD_DIR:-}"
  if [ -z "$dir" ]; then
    dir="$ROOT/build/package"
    say "building the daemon in $dir"
    cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOUTBOXD_DAEMON_ONLY=ON >&2
    cmake --build "$dir" --target outboxd outboxd_deb_files >&2
  else
    [ -f "$dir/CPackConfig.cmake" ] || die "$dir is not a configured build tree (no CPackConfig.cmake)"
    # Only what the package holds; the tree's binary is taken as built.
    cmake --build "$dir" --target outboxd_deb_files >&2
  fi
  local rev="${OUTBOXD_DEB_REVISION:-1}" version deb
  version="$(sed -n 's/^project(outboxd VERSION \([0-9.]*\) .*/\1/p' "$ROOT/CMakeLists.txt")"
  deb="$dir/packages/outboxd_${version}-${rev}_$(dpkg --print-architecture).deb"
  rm -f "$deb"
  say "cpack (revision $rev)"
  (cd "$dir" && OUTBOXD_DEB_REVISION="$rev" cpack -G DEB -B "$dir/packages" >&2) || die "cpack failed"
  [ -s "$deb" ] || die "cpack made no $deb"
  rm -rf "$dir/packages/_CPack_Packages"
  # --fail-on error: warnings are reported, and each one left is explained
  # in the package's override file.
  say "lintian $(basename "$deb")"
  local out rc=0
  out="$(lintian --fail-on error --display-info --show-overrides "$deb" 2>&1)" || rc=$?
  out="$(grep -v "running with root privileges is not recommended" <<<"$out" || true)"
  [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/  lintian: /' >&2
  [ "$rc" -eq 0 ] || die "lintian found errors in $deb (above)"
  say "$(basename "$deb"): $(stat -c %s "$deb") bytes; $(dpkg-deb -f "$deb" Depends)"
  echo "$deb"
}

case "${1:-}" in
  deb) deb ;;
  helm) exec "$ROOT/scripts/package-helm.sh" ;;
  -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) say "usage: scripts/package.sh deb|helm"; exit 2 ;;
esac
