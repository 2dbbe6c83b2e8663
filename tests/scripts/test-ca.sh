#!/usr/bin/env bash
# Throw-away TLS material for a test service, made once per directory:
#   test-ca.sh DIR CA_NAME SAN [OWNER]
# writes into DIR (atomically: a half-made DIR never exists)
#   ca.crt, ca.key            a self-signed CA "CA_NAME" (valid 30 days)
#   server.crt, server.key    a server certificate for CN=localhost with
#                             subjectAltName SAN ("DNS:localhost,IP:127.0.0.1")
#   other-ca.crt, other-ca.key  a second CA that signed nothing (the
#                             wrong-CA tests)
# Keys are 0600 and, with OWNER, belong to that OS user (PostgreSQL refuses
# a key its server user does not own). Nothing happens when DIR already
# holds server.crt and other-ca.crt. Used by pg.sh and rabbitmq.sh.
set -euo pipefail
die() { echo "test-ca.sh: $*" >&2; exit 1; }
[ "$#" -ge 3 ] || die "usage: test-ca.sh DIR CA_NAME SAN [OWNER]"
OUT="$1" CA_NAME="$2" SAN="$3" OWNER="${4:-}"
[ -f "$OUT/server.crt" ] && [ -f "$OUT/other-ca.crt" ] && exit 0
command -v openssl >/dev/null 2>&1 || die "openssl not found (scripts/install-deps.sh installs it)"
tmp="$OUT.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"
log="$tmp.log"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
ca_ext=(-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign")
{
  openssl req -x509 "${ec[@]}" -days 30 -subj "/CN=$CA_NAME" "${ca_ext[@]}" \
    -keyout "$tmp/ca.key" -out "$tmp/ca.crt" &&
  openssl req -x509 "${ec[@]}" -days 30 -subj "/CN=unrelated test CA" "${ca_ext[@]}" \
    -keyout "$tmp/other-ca.key" -out "$tmp/other-ca.crt" &&
  openssl req "${ec[@]}" -subj "/CN=localhost" -keyout "$tmp/server.key" -out "$tmp/server.csr" &&
  printf '%s\n' "subjectAltName=$SAN" "extendedKeyUsage=serverAuth" >"$tmp/server.ext" &&
  openssl x509 -req -days 30 -in "$tmp/server.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" \
    -CAcreateserial -extfile "$tmp/server.ext" -out "$tmp/server.crt"
} >"$log" 2>&1 || {
  cat "$log" >&2
  die "openssl could not make the test certificates (log: $log)"
}
chmod 0600 "$tmp"/*.key
chmod 0644 "$tmp"/*.crt
chmod 0755 "$tmp"
if [ -n "$OWNER" ]; then chown -R "$OWNER:$OWNER" "$tmp"; fi
rm -rf "$OUT"
mv "$tmp" "$OUT"
rm -f "$log"
