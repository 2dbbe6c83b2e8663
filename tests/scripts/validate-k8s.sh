#!/usr/bin/env bash
# Validates deploy/kubernetes/*.yaml against the Kubernetes API's JSON
# schemas (strict: unknown fields are errors) with the Python package
# kubernetes-validate, which ships the schemas, so nothing is fetched at run
# time. Installed from PyPI into a venv under VENV_DIR once (pinned), then
# reused. --self-test also proves that a misspelt field and a wrong type
# are caught. No cluster is involved: this is what `kubectl apply
# --dry-run=server` would reject for schema reasons, not admission or
# scheduling.
#   tests/scripts/validate-k8s.sh ROOT VENV_DIR [--self-test]
set -euo pipefail
ROOT="$1"
VENV="$2"
SELF_TEST="${3:-}"
# shellcheck source=tests/scripts/k8s-validate-venv.sh
. "$(dirname "$0")/k8s-validate-venv.sh"
k8s_validate_venv "$VENV" || { echo "validate-k8s: no validator" >&2; exit 1; }
KV="$VENV/bin/kubernetes-validate"

rc=0
for v in "${K8S_VERSIONS[@]}"; do
  for f in "$ROOT"/deploy/kubernetes/*.yaml; do
    if ! out="$("$KV" --strict -k "$v" "$f" 2>&1)"; then
      echo "$out" >&2
      echo "validate-k8s: $f fails the Kubernetes $v schemas" >&2
      rc=1
      continue
    fi
    # Every resource must have been checked, except the prometheus-operator
    # PodMonitor (a CRD: no schema in the Kubernetes API).
    if grep -v 'kind PodMonitor with api version monitoring.coreos.com/v1' <<<"$out" | grep -q "Couldn't find schema"; then
      echo "$out" >&2
      echo "validate-k8s: $f has a resource without a schema" >&2
      rc=1
    fi
    echo "$out" | grep -c ' passed for resource ' | sed "s|^|$(basename "$f") @ $v: resources passed: |"
  done
done

if [ "$SELF_TEST" = --self-test ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  # A misspelt field (strict mode) and a string where an integer belongs.
  sed 's/terminationGracePeriodSeconds:/terminationGracePeriodSecond:/' \
    "$ROOT/deploy/kubernetes/standalone.yaml" >"$tmp/misspelt.yaml"
  sed 's/replicas: 2/replicas: two/' "$ROOT/deploy/kubernetes/standalone.yaml" >"$tmp/type.yaml"
  for bad in misspelt type; do
    cmp -s "$tmp/$bad.yaml" "$ROOT/deploy/kubernetes/standalone.yaml" &&
      { echo "validate-k8s: self-test could not make the $bad case" >&2; exit 1; }
    if "$KV" --strict -k "${K8S_VERSIONS[0]}" "$tmp/$bad.yaml" >/dev/null 2>&1; then
      echo "validate-k8s: self-test: the $bad manifest passed; the validator catches nothing" >&2
      rc=1
    fi
  done
  [ "$rc" -ne 0 ] || echo "self-test: a misspelt field and a wrong type are rejected"
fi
[ "$rc" -eq 0 ] && echo "deploy/kubernetes: valid against the Kubernetes ${K8S_VERSIONS[*]} schemas (strict)"
exit "$rc"
