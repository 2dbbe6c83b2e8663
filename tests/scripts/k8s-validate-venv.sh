# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this
# Sourced by tests/scripts/validate-k8s.sh and scripts/package-helm.sh: the
# one pin of the Kubernetes schema validator and the versions checked.
#   k8s_validate_venv VENV_DIR   installs kubernetes-validate into VENV_DIR
#                                (a venv) unless the pinned version is there;
#                                returns 1 with a message on stderr otherwise
KV_VERSION=1.37.0 # kubernetes-validate; its schemas cover Kubernetes 1.25 to 1.37
# The oldest Kubernetes still maintained upstream when this was written, and
# the newest the package knows.
K8S_VERSIONS=(1.32.0 1.37.0)

k8s_validate_venv() {
  local venv="$1"
  if [ -x "$venv/bin/kubernetes-validate" ] &&
    "$venv/bin/kubernetes-validate" --version 2>/dev/null | grep -q "$KV_VERSION"; then
    return 0
  fi
  rm -rf "$venv"
  python3 -m venv "$venv" || { echo "python3 -m venv failed (apt-get install python3-venv)" >&2; return 1; }
  "$venv/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$KV_VERSION" >&2 ||
    { echo "installing kubernetes-validate $KV_VERSION from PyPI failed" >&2; return 1; }
}
