#!/usr/bin/env bash
# Lints, renders and validates the Helm chart deploy/helm/outboxd, and prints
# the chart folder's absolute path as the last line on stdout (progress and
# results go to stderr). Exits non-zero with a message naming what failed.
#   scripts/package-helm.sh
# 1. helm: the pinned HELM_VERSION, built once with the Go toolchain
#    (`go install helm.sh/helm/v3/cmd/helm@HELM_VERSION`, Helm is a Go
#    module) into OUTBOXD_HELM_CACHE (default
#    ~/.cache/outboxd/helm-HELM_VERSION) and reused from there. Helm's own
#    cache, config and data go to a temporary folder, never to $HOME.
# 2. `helm lint --strict` with each values file in deploy/helm/outboxd/ci/
#    (the defaults plus existingSecret, sidecar mode, a ServiceMonitor, one
#    replica without PodDisruptionBudget, the review console), and of the
#    example application chart examples/billing-api, which takes the sidecar
#    from the chart, as it stands and with outboxd's console on.
# 3. `helm template` of each, for Kubernetes 1.32.0 and 1.37.0, and every
#    rendered resource validated strictly against that version's API schemas
#    with the PyPI package kubernetes-validate, in the venv
#    OUTBOXD_K8S_VALIDATE_VENV (default build/k8s-validate-venv, the one
#    tests/scripts/validate-k8s.sh uses; made there when missing). The
#    prometheus-operator ServiceMonitor and PodMonitor are CRDs without a
#    schema: allowed; every other resource must have passed.
# 4. The failure paths: no existingSecret, `mode: bogus`, a DSN in the
#    values, a ServiceMonitor in sidecar mode, the console without
#    console.tokensSecret, http.tokens_file written into config must each be
#    refused.
# 5. With OUTBOXD_BINARY=path/to/outboxd: every rendered outboxd.yaml passes
#    `outboxd check --config-only` with the environment its container gets
#    (the Secret's files replaced by dummies). An http.tokens_file must be
#    a read-only mounted Secret item outboxd would accept (not readable by
#    others, the pod with an fsGroup); the check reads a temporary tokens
#    file (mode 0600) in its place, through OUTBOXD_HTTP_TOKENS_FILE. Every
#    render named *console* must have the console on. Skipped without it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PROG=package-helm.sh
CHART="$ROOT/deploy/helm/outboxd"
EXAMPLE="$CHART/examples/billing-api"
HELM_VERSION=v3.21.4
HELM_DIR="${OUTBOXD_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/outboxd/helm-$HELM_VERSION}"
HELM="$HELM_DIR/helm"
VENV="${OUTBOXD_K8S_VALIDATE_VENV:-$ROOT/build/k8s-validate-venv}"
case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac
# The validator's pin and the Kubernetes versions: KV_VERSION, K8S_VERSIONS.
# shellcheck source=tests/scripts/k8s-validate-venv.sh
. "$ROOT/tests/scripts/k8s-validate-venv.sh"
# Custom resources with no schema in the Kubernetes API.
CRD_KINDS='^(ServiceMonitor|PodMonitor) with api version monitoring\.coreos\.com/v1$'

case "${1:-}" in
  "") ;;
  -h | --help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "$PROG: unknown argument '$1' (none expected)" >&2; exit 2 ;;
esac

say() { echo "$PROG: $*" >&2; }
die() { echo "$PROG: FAIL: $*" >&2; exit 1; }

[ -f "$CHART/Chart.yaml" ] || die "no chart at $CHART"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export HELM_CACHE_HOME="$tmp/helm-home/cache" HELM_CONFIG_HOME="$tmp/helm-home/config" \
  HELM_DATA_HOME="$tmp/helm-home/data"

# -- 1. helm ------------------------------------------------------------------
helm_ok() { [ -x "$HELM" ] && "$HELM" version --short 2>/dev/null | grep -q "^${HELM_VERSION%.*}"; }
if ! helm_ok; then
  mkdir -p "$HELM_DIR"
  # One build at a time: a second caller waits for the first one's binary.
  exec 9>"$HELM_DIR/.build.lock"
  command -v flock >/dev/null && flock 9
  if ! helm_ok; then
    if ! command -v go >/dev/null; then
      [ -x /usr/local/go/bin/go ] && export PATH="$PATH:/usr/local/go/bin"
    fi
    command -v go >/dev/null || die "helm $HELM_VERSION is not in $HELM_DIR and there is no Go toolchain to build it (go, or /usr/local/go/bin/go)"
    say "building helm $HELM_VERSION with $(go version | cut -d' ' -f3) into $HELM_DIR (once; a few minutes)"
    if ! GOBIN="$HELM_DIR" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >"$HELM_DIR/build.log" 2>&1; then
      tail -n 20 "$HELM_DIR/build.log" >&2
      die "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION failed (is the Go module proxy reachable through go?); log: $HELM_DIR/build.log"
    fi
    helm_ok || die "$HELM does not report version ${HELM_VERSION%.*} after the build"
  fi
  exec 9>&-
fi
say "helm: $HELM ($("$HELM" version --short))"

# -- kubernetes-validate, the venv tests/scripts/validate-k8s.sh uses ---------
k8s_validate_venv "$VENV" || die "no kubernetes-validate $KV_VERSION in $VENV"
KV="$VENV/bin/kubernetes-validate"
PY="$VENV/bin/python"
"$PY" -c 'import yaml' 2>/dev/null || die "$PY cannot import yaml (PyYAML comes with kubernetes-validate)"

# -- the example application chart, with this chart as its dependency -------
app="$tmp/billing-api"
cp -r "$EXAMPLE" "$app"
rm -rf "$app/charts" "$app/Chart.lock"
sed -i "s|repository: file://.*|repository: file://$CHART|" "$app/Chart.yaml"
grep -q "repository: file://$CHART\$" "$app/Chart.yaml" || die "could not point $EXAMPLE/Chart.yaml at $CHART"
"$HELM" dependency build "$app" >"$tmp/dep.log" 2>&1 || { cat "$tmp/dep.log" >&2; die "helm dependency build of the example chart failed"; }

# name|chart|values file ('-' for none): what is linted, rendered, validated.
sets=()
for f in "$CHART"/ci/*-values.yaml; do
  sets+=("$(basename "$f" -values.yaml)|$CHART|$f")
done
[ "${#sets[@]}" -ge 5 ] || die "expected at least 5 values files in $CHART/ci, found ${#sets[@]}"
sets+=("example-billing-api|$app|-")
# The sidecar with its console: the application pod's fsGroup must make the
# tokens readable (step 5 checks it).
printf 'outboxd:\n  console:\n    enabled: true\n    tokensSecret: outboxd-console\n' >"$tmp/example-console.yaml"
sets+=("example-billing-api-console|$app|$tmp/example-console.yaml")

# -- 2. lint ------------------------------------------------------------------
for s in "${sets[@]}"; do
  IFS='|' read -r name chart values <<<"$s"
  args=(lint --strict "$chart" --kube-version "${K8S_VERSIONS[0]}")
  [ "$values" = - ] || args+=(-f "$values")
  if ! out="$("$HELM" "${args[@]}" 2>&1)"; then
    echo "$out" >&2
    die "helm lint --strict failed for $name"
  fi
  say "lint $name: ok"
done

# -- 3. render and validate ---------------------------------------------------
mkdir -p "$tmp/render"
renders=()
for s in "${sets[@]}"; do
  IFS='|' read -r name chart values <<<"$s"
  for v in "${K8S_VERSIONS[@]}"; do
    out_file="$tmp/render/$name-$v.yaml"
    args=(template outboxd "$chart" --namespace outboxd --kube-version "$v")
    [ "$values" = - ] || args+=(-f "$values")
    "$HELM" "${args[@]}" >"$out_file" 2>"$tmp/template.err" ||
      { cat "$tmp/template.err" >&2; die "helm template failed for $name (Kubernetes $v)"; }
    kinds="$(grep -c '^kind: ' "$out_file" || true)"
    [ "$kinds" -gt 0 ] || die "helm template rendered no resource for $name"
    if ! res="$("$KV" --strict -k "$v" "$out_file" 2>&1)"; then
      echo "$res" >&2
      die "$name fails the Kubernetes $v schemas (strict)"
    fi
    passed="$(grep -c ' passed for resource ' <<<"$res" || true)"
    missing="$(grep "Couldn't find schema" <<<"$res" || true)"
    crds=0
    if [ -n "$missing" ]; then
      while IFS= read -r line; do
        what="$(sed -n 's/.*kind \(.* with api version [^ ]*\).*/\1/p' <<<"$line")"
        if grep -Eq "$CRD_KINDS" <<<"$what"; then
          crds=$((crds + 1))
        else
          echo "$res" >&2
          die "$name @ $v: a resource without a schema: $line"
        fi
      done <<<"$missing"
    fi
    [ $((passed + crds)) -eq "$kinds" ] ||
      { echo "$res" >&2; die "$name @ $v: $kinds resources rendered, $passed passed and $crds CRDs: some were not checked"; }
    say "validate $name @ Kubernetes $v: $passed resources passed, $crds CRD(s) without a schema"
  done
  renders+=("$tmp/render/$name-${K8S_VERSIONS[-1]}.yaml")
done

# -- 4. what must be refused --------------------------------------------------
expect_failure() { # what, expected text, helm arguments...
  local what="$1" want="$2" out
  shift 2
  if out="$("$HELM" "$@" 2>&1)"; then
    die "$what: helm $1 succeeded, but must fail"
  fi
  grep -qF -- "$want" <<<"$out" || { echo "$out" >&2; die "$what: helm $1 failed without saying '$want'"; }
  say "refused as it must be: $what"
}
kv=(--kube-version "${K8S_VERSIONS[0]}")
expect_failure "no existingSecret" "existingSecret.name is required" template outboxd "$CHART" "${kv[@]}"
printf 'mode: bogus\nexistingSecret:\n  name: outboxd\n' >"$tmp/bogus.yaml"
expect_failure "mode: bogus" "at '/mode': value must be one of 'deployment', 'sidecar'" lint --strict "$CHART" "${kv[@]}" -f "$tmp/bogus.yaml"
printf 'existingSecret:\n  name: outboxd\nconfig:\n  postgres:\n    dsn: postgresql://outboxd:secret@db/app\n' >"$tmp/dsn.yaml"
expect_failure "a DSN in the values" "at '/config/postgres'" lint --strict "$CHART" "${kv[@]}" -f "$tmp/dsn.yaml"
expect_failure "a ServiceMonitor in sidecar mode" "serviceMonitor.enabled needs mode: deployment" \
  template outboxd "$CHART" "${kv[@]}" --set mode=sidecar,existingSecret.name=outboxd,serviceMonitor.enabled=true
expect_failure "the console without console.tokensSecret" "console.tokensSecret is required with console.enabled" \
  template outboxd "$CHART" "${kv[@]}" --set existingSecret.name=outboxd,console.enabled=true
expect_failure "http.tokens_file in config" "config.http.console and config.http.tokens_file are set by the chart" \
  template outboxd "$CHART" "${kv[@]}" --set existingSecret.name=outboxd,config.http.tokens_file=/etc/outboxd/tokens
# And the schema check of step 3 catches a mistake in what the chart renders:
# a misspelt field passed through extraEnv.
printf 'existingSecret:\n  name: outboxd\nextraEnv:\n  - name: OUTBOXD_LOG_LEVEL\n    valeu: debug\n' >"$tmp/misspelt.yaml"
"$HELM" template outboxd "$CHART" "${kv[@]}" -f "$tmp/misspelt.yaml" >"$tmp/misspelt-render.yaml" ||
  die "helm template failed for the misspelt-field case"
if "$KV" --strict -k "${K8S_VERSIONS[0]}" "$tmp/misspelt-render.yaml" >/dev/null 2>&1; then
  die "a Deployment with a misspelt field passed kubernetes-validate: the validation catches nothing"
fi
say "refused as it must be: a misspelt field in the rendered Deployment (kubernetes-validate --strict)"

# -- 5. the rendered configuration through the daemon's own loader ------------
if [ -z "${OUTBOXD_BINARY:-}" ]; then
  say "SKIP outboxd check --config-only of the rendered configuration: OUTBOXD_BINARY is not set"
else
  [ -x "$OUTBOXD_BINARY" ] || die "OUTBOXD_BINARY=$OUTBOXD_BINARY is not an executable"
  "$PY" - "$OUTBOXD_BINARY" "$tmp/check" "${renders[@]}" >&2 <<'PYTHON' || die "a rendered configuration fails outboxd check --config-only"
"""For each rendered outboxd container: its ConfigMap's outboxd.yaml through
`outboxd check --config-only`, with the container's environment on top of
the image's (OUTBOXD_HTTP_LISTEN), files of the Secret replaced by dummies.
An http.tokens_file must come from a Secret mounted so that outboxd accepts
and can read it; a temporary tokens file (0600) stands in for it."""
import os, subprocess, sys
import yaml

binary, work, renders = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(work, exist_ok=True)
SECRET_DIR = "/etc/outboxd/secrets/"
DUMMY_FILES = {"dsn": "postgresql://outboxd:secret@127.0.0.1:5432/app\n",
               "amqp-url": "amqps://outboxd:secret@127.0.0.1:5671/%2f\n"}
DUMMY_ENV = {"OUTBOXD_RABBITMQ_MANAGEMENT_URL": "http://outboxd:secret@127.0.0.1:15672"}
DUMMY_TOKENS = "# NAME ROLE SECRET\npackage-helm write 0123456789abcdef0123\n"


def tokens_mount_problem(pod, container, path):
    """Why the mount holding `path` would not give outboxd a tokens file it
    accepts and can read, or None. A secret volume's files are root's, group
    fsGroup (the kubelet adds r--r----- with one); outboxd takes a file
    owned by root only without rights for others or group write
    (src/console/tokens.cc), and uid 10001 reads it only through the group."""
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = sorted(container.get("volumeMounts", []), key=lambda m: -len(m["mountPath"]))
    for m in mounts:
        folder = m["mountPath"].rstrip("/") + "/"
        if m.get("subPath") or not path.startswith(folder):
            continue
        secret = vols.get(m["name"], {}).get("secret")
        if secret is None:
            return f"{path}: volume {m['name']} at {folder} is not a secret volume"
        if not m.get("readOnly"):
            return f"{path}: volume {m['name']} at {folder} is not mounted readOnly"
        mode = secret.get("defaultMode", 0o644)
        rel = path[len(folder):]
        if secret.get("items") is not None:
            item = next((i for i in secret["items"] if i.get("path") == rel), None)
            if item is None:
                return f"{path}: Secret {secret.get('secretName')} at {folder} has no item with path {rel}"
            mode = item.get("mode", mode)
        if mode & 0o027:
            return f"{path}: mode {mode:o} lets others read it or the group change it: outboxd refuses it"
        if "fsGroup" not in (pod.get("securityContext") or {}):
            return f"{path}: the pod has no securityContext.fsGroup, so the file (root's) is unreadable by the daemon"
        return None
    return f"{path}: no volumeMount of the container holds it"


bad = checked = 0
for render in renders:
    name = os.path.basename(render)
    with open(render) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    configs = {d["metadata"]["name"]: d["data"]["outboxd.yaml"] for d in docs
               if d.get("kind") == "ConfigMap" and "outboxd.yaml" in d.get("data", {})}
    if not configs:
        print(f"{name}: no ConfigMap with outboxd.yaml"); bad += 1
    used = set()
    consoles = 0
    for d in docs:
        if d.get("kind") != "Deployment":
            continue
        pod = d["spec"]["template"]["spec"]
        for c in pod["containers"]:
            if c["name"] != "outboxd":
                continue
            vols = {v["name"]: v for v in pod.get("volumes", [])}
            cm = vols.get("outboxd-config", {}).get("configMap", {}).get("name")
            if cm not in configs:
                print(f"{name}: {d['metadata']['name']}: volume outboxd-config names no rendered ConfigMap ({cm})")
                bad += 1
                continue
            used.add(cm)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                   "OUTBOXD_HTTP_LISTEN": "0.0.0.0:9187"}  # the image's ENV
            for e in c.get("env", []):
                value = e.get("value")
                if value is None:
                    value = DUMMY_ENV.get(e["name"], "secret")
                elif value.startswith(SECRET_DIR):
                    base = value[len(SECRET_DIR):]
                    value = os.path.join(work, base)
                    with open(value, "w") as f:
                        f.write(DUMMY_FILES.get(base, "secret\n"))
                env[e["name"]] = value
            what = f"{name}: Deployment {d['metadata']['name']} with ConfigMap {cm}"
            http = (yaml.safe_load(configs[cm]) or {}).get("http") or {}
            if http.get("console"):
                consoles += 1
            if http.get("console") and not http.get("tokens_file"):
                print(f"{what}: http.console without http.tokens_file: the API would be open to the pod network")
                bad += 1
                continue
            if http.get("tokens_file"):
                why = tokens_mount_problem(pod, c, http["tokens_file"])
                if why:
                    print(f"{what}: {why}")
                    bad += 1
                    continue
                tokens = os.path.join(work, "console-tokens")
                fd = os.open(tokens, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.fchmod(fd, 0o600)  # whatever the umask and an earlier file
                os.write(fd, DUMMY_TOKENS.encode())
                os.close(fd)
                env["OUTBOXD_HTTP_TOKENS_FILE"] = tokens
                print(f"{what}: http.tokens_file {http['tokens_file']}: a read-only Secret item, mode and fsGroup as outboxd needs")
            cfg = os.path.join(work, "outboxd.yaml")
            with open(cfg, "w") as f:
                f.write(configs[cm])
            r = subprocess.run([binary, "check", "--config-only", "--config", cfg], env=env,
                               capture_output=True, text=True, timeout=30)
            if r.returncode != 0:
                print(f"{what}: `outboxd check --config-only` exit {r.returncode}: {(r.stderr or r.stdout).strip()}")
                bad += 1
            else:
                print(f"{what}: outboxd check --config-only: ok")
                checked += 1
    if "console" in name and consoles == 0:
        print(f"{name}: no outboxd container with the console on, though the values turn it on"); bad += 1
    for cm in sorted(set(configs) - used):
        print(f"{name}: ConfigMap {cm} is used by no rendered Deployment: checked with the sidecar example")
if checked == 0:
    print("no outboxd container found in any rendered chart"); bad += 1
sys.exit(1 if bad else 0)
PYTHON
fi

say "PASS: chart outboxd $(sed -n 's/^version: //p' "$CHART/Chart.yaml") lints, renders and validates (Kubernetes ${K8S_VERSIONS[*]})"
echo "$CHART"
