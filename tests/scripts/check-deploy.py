#!/usr/bin/env python3
"""Static checks of the deployment artefacts, part of the test suite.

The image and the systemd unit also run for real in scripts/test-deploy.sh
(podman, slow); no Kubernetes, Prometheus or Grafana here: what can be
checked is that every file parses, that every alert rule and dashboard query
names only metrics outboxd really exports (the string literals in
src/metrics/), that the probes, HEALTHCHECK and systemd settings point at
what the daemon serves, and, given the built binary, that the container's
runtime packages cover every library it links and that every configuration
shipped in deploy/ passes `outboxd check --config-only`.

Usage: check-deploy.py --root REPO [--binary path/to/outboxd] [--self-test]
--self-test also proves that a bad metric name in a copy of the tree fails.
Exit 0 when everything holds; 1 with one line per problem otherwise.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

METRIC_RE = re.compile(r"\boutboxd_[a-z0-9_]+\b")
# Histograms are declared as `Histogram member{registry_, "outboxd_...", ...}`.
HISTOGRAM_RE = re.compile(r'Histogram\s+\w+\s*\{\s*registry_\s*,\s*"(outboxd_[a-z0-9_]+)"')
LITERAL_RE = re.compile(r'"(outboxd_[a-z0-9_]+)"')
# Present in debian:bookworm-slim; the image installs no package for them.
BASE_PACKAGES = {"libc6", "libstdc++6", "libgcc-s1"}
# Linked only by the ASan/UBSan test build; the image is built without sanitizers.
SANITIZER_LIBRARY = re.compile(r"^lib(asan|ubsan|lsan|tsan)\.so")
SHUTDOWN_TIMEOUT_DEFAULT_MS = 10000


class Checker:
    def __init__(self, root):
        self.root = root
        self.problems = []

    def fail(self, where, what):
        self.problems.append(f"{where}: {what}")

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def read(self, *parts):
        with open(self.path(*parts), encoding="utf-8") as f:
            return f.read()

    # -- the source of truth -------------------------------------------------

    def declared_metrics(self):
        names, histograms = set(), set()
        src = self.path("src", "metrics")
        for fn in sorted(os.listdir(src)) if os.path.isdir(src) else []:
            if fn.endswith((".h", ".cc")):
                text = self.read("src", "metrics", fn)
                names.update(LITERAL_RE.findall(text))
                histograms.update(HISTOGRAM_RE.findall(text))
        if not names:
            self.fail("src/metrics", "no \"outboxd_...\" metric names found")
        if not histograms:
            self.fail("src/metrics", "no Histogram declarations found")
        allowed = set(names)
        for h in histograms:
            allowed.update({h + "_bucket", h + "_sum", h + "_count"})
        return names, allowed

    def check_names(self, where, expr, allowed):
        for name in METRIC_RE.findall(expr):
            if name not in allowed:
                self.fail(where, f"metric {name} is not declared in src/metrics (expr: {expr})")

    # -- parsing -------------------------------------------------------------

    def yaml_files(self):
        out = []
        for dirpath, dirnames, filenames in os.walk(self.path("deploy")):
            # A Helm chart's templates/ holds Go templates, not YAML;
            # scripts/package-helm.sh renders and validates them.
            chart = os.path.exists(os.path.join(dirpath, "Chart.yaml"))
            dirnames[:] = sorted(d for d in dirnames
                                 if d != "secrets" and not (chart and d == "templates"))
            for fn in sorted(filenames):
                if fn.endswith((".yaml", ".yml")):
                    out.append(os.path.join(dirpath, fn))
        return out

    def parse_all(self):
        docs = {}
        files = self.yaml_files()
        if not files:
            self.fail("deploy", "no YAML files found")
        for p in files:
            rel = os.path.relpath(p, self.root)
            try:
                with open(p, encoding="utf-8") as f:
                    docs[rel] = [d for d in yaml.safe_load_all(f) if d is not None]
            except yaml.YAMLError as e:
                self.fail(rel, f"YAML does not parse: {e}")
        return docs

    # -- alerts --------------------------------------------------------------

    def check_alerts(self, docs, names, allowed):
        rel = "deploy/prometheus/outboxd-alerts.yaml"
        if rel not in docs or not docs[rel]:
            self.fail(rel, "missing or empty")
            return
        anchors = self.operations_anchors()
        rules = []
        for g in docs[rel][0].get("groups", []):
            rules.extend(g.get("rules", []))
        if not rules:
            self.fail(rel, "no rules")
        used = set()
        for r in rules:
            alert = r.get("alert", "?")
            where = f"{rel} {alert}"
            expr = r.get("expr", "")
            if not expr:
                self.fail(where, "no expr")
            self.check_names(where, expr, allowed)
            used.update(METRIC_RE.findall(expr))
            ann = r.get("annotations", {})
            for key in ("summary", "description", "runbook_url"):
                if not ann.get(key):
                    self.fail(where, f"annotation {key} missing")
            if "severity" not in r.get("labels", {}):
                self.fail(where, "label severity missing")
            url = ann.get("runbook_url", "")
            if url:
                doc, _, anchor = url.partition("#")
                if doc != "docs/operations.md" or anchor not in anchors:
                    self.fail(where, f"runbook_url {url} names no heading of docs/operations.md")
        # What the issue asks for, by the metric each alert must watch.
        for m in ("outboxd_parked_rows", "outboxd_oldest_pending_age_seconds",
                  "outboxd_leader", "outboxd_producer_rebuilds_total",
                  "outboxd_postgres_up", "outboxd_broker_up"):
            if m in names and m not in used:
                self.fail(rel, f"no rule watches {m}")
        exprs = " ".join(r.get("expr", "") for r in rules)
        if "absent(outboxd_" not in exprs:
            self.fail(rel, "no absent() rule for a missing outboxd")

    def operations_anchors(self):
        try:
            text = self.read("docs", "operations.md")
        except OSError:
            self.fail("docs/operations.md", "missing")
            return set()
        anchors = set()
        for line in text.splitlines():
            m = re.match(r"^#{1,6}\s+(.*?)\s*$", line)
            if m:
                # GitHub's rule: lower case, drop punctuation, spaces to '-'.
                a = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
                anchors.add(a)
        return anchors

    # -- dashboard -----------------------------------------------------------

    def check_dashboard(self, allowed):
        gdir = self.path("deploy", "grafana")
        files = sorted(f for f in os.listdir(gdir) if f.endswith(".json")) if os.path.isdir(gdir) else []
        if not files:
            self.fail("deploy/grafana", "no dashboard JSON")
        for fn in files:
            rel = f"deploy/grafana/{fn}"
            try:
                with open(os.path.join(gdir, fn), encoding="utf-8") as f:
                    dash = json.load(f)
            except ValueError as e:
                self.fail(rel, f"JSON does not parse: {e}")
                continue
            variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
            if variables.get("datasource", {}).get("type") != "datasource":
                self.fail(rel, "no datasource variable named 'datasource'")
            for v in variables.values():
                q = v.get("query")
                q = q.get("query", "") if isinstance(q, dict) else (q or "")
                self.check_names(f"{rel} variable {v.get('name')}", q, allowed)
            count = 0
            for p in self.walk_panels(dash.get("panels", [])):
                if p.get("type") == "row":
                    continue
                where = f"{rel} panel '{p.get('title')}'"
                if p.get("datasource", {}).get("uid") != "${datasource}":
                    self.fail(where, "panel does not use the datasource variable")
                targets = p.get("targets", [])
                if not targets:
                    self.fail(where, "no query")
                for t in targets:
                    count += 1
                    self.check_names(where, t.get("expr", ""), allowed)
                    if t.get("datasource", {}).get("uid") != "${datasource}":
                        self.fail(where, "query does not use the datasource variable")
            if count == 0:
                self.fail(rel, "no queries")

    def walk_panels(self, panels):
        for p in panels:
            yield p
            yield from self.walk_panels(p.get("panels", []))

    # -- systemd -------------------------------------------------------------

    def check_systemd(self):
        rel = "deploy/systemd/outboxd.service"
        settings = {}
        for line in self.read("deploy", "systemd", "outboxd.service").splitlines():
            line = line.strip()
            if line and not line.startswith(("#", ";", "[")) and "=" in line:
                k, _, v = line.partition("=")
                settings.setdefault(k.strip(), []).append(v.strip())
        want = {"Type": "notify", "NotifyAccess": "main", "RestartPreventExitStatus": "2",
                "NoNewPrivileges": "yes", "ProtectSystem": "strict"}
        for k, v in want.items():
            if v not in settings.get(k, []):
                self.fail(rel, f"{k}={v} missing")
        if not settings.get("WatchdogSec"):
            self.fail(rel, "WatchdogSec missing")
        if not any("-HUP" in v for v in settings.get("ExecReload", [])):
            self.fail(rel, "ExecReload does not send SIGHUP")
        if "yes" not in settings.get("DynamicUser", []) and not settings.get("User"):
            self.fail(rel, "neither DynamicUser=yes nor a User")

    # -- Kubernetes ----------------------------------------------------------

    def check_kubernetes(self, docs):
        rels = [r for r in docs if r.startswith("deploy/kubernetes/")]
        if not rels:
            self.fail("deploy/kubernetes", "no manifests")
        configs = {}
        for rel in rels:
            for d in docs[rel]:
                if d.get("kind") == "ConfigMap" and "outboxd.yaml" in d.get("data", {}):
                    try:
                        configs[(rel, d["metadata"]["name"])] = yaml.safe_load(d["data"]["outboxd.yaml"])
                    except yaml.YAMLError as e:
                        self.fail(rel, f"ConfigMap outboxd.yaml does not parse: {e}")
        found = False
        for rel in rels:
            for d in docs[rel]:
                if d.get("kind") not in ("Deployment", "StatefulSet", "DaemonSet"):
                    continue
                pod = d["spec"]["template"]["spec"]
                for c in pod.get("containers", []) + pod.get("initContainers", []):
                    if c.get("name") == "outboxd" or "outboxd" in c.get("image", ""):
                        found = True
                        self.check_outboxd_container(f"{rel} {d['kind']}/{d['metadata']['name']}",
                                                     pod, c, configs)
        if not found:
            self.fail("deploy/kubernetes", "no workload with an outboxd container")

    def check_outboxd_container(self, where, pod, c, configs):
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
        probes = {k: c.get(k) for k in ("livenessProbe", "readinessProbe", "startupProbe") if c.get(k)}
        paths = set()
        for kind, probe in probes.items():
            get = probe.get("httpGet", {})
            port = get.get("port")
            port = ports.get(port, port)
            if port != 9187:
                self.fail(where, f"{kind} port {get.get('port')} is not the HTTP endpoint's 9187")
            paths.add(get.get("path"))
            # Liveness only on /healthz (an outage must not restart outboxd);
            # readiness only on /readyz; start-up on either (a sidecar must
            # not gate its application pod on Kafka, see sidecar.yaml).
            allowed = {"livenessProbe": ("/healthz",), "readinessProbe": ("/readyz",),
                       "startupProbe": ("/healthz", "/readyz")}[kind]
            if get.get("path") not in allowed:
                self.fail(where, f"{kind} must use {' or '.join(allowed)}, not {get.get('path')}")
        if "livenessProbe" not in probes:
            self.fail(where, "no livenessProbe")
        # Alone in its pod, outboxd's readiness is its own: probe /readyz.
        # Beside an application, readiness would follow Kafka: no probe.
        alone = len(pod.get("containers", [])) == 1
        if alone and "/readyz" not in paths:
            self.fail(where, "outboxd alone in its pod but no readinessProbe on /readyz")
        if not alone and "readinessProbe" in probes:
            self.fail(where, "a sidecar readinessProbe makes the application unready while "
                             "Kafka is down")
        sc = c.get("securityContext", {})
        psc = pod.get("securityContext", {})
        if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
            self.fail(where, "runAsNonRoot not set")
        if not sc.get("readOnlyRootFilesystem"):
            self.fail(where, "readOnlyRootFilesystem not set")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            self.fail(where, "capabilities do not drop ALL")
        if sc.get("allowPrivilegeEscalation") is not False:
            self.fail(where, "allowPrivilegeEscalation is not false")
        res = c.get("resources", {})
        for k in ("requests", "limits"):
            if "memory" not in res.get(k, {}):
                self.fail(where, f"no memory {k}")
        shutdown_ms = SHUTDOWN_TIMEOUT_DEFAULT_MS
        for v in pod.get("volumes", []):
            name = v.get("configMap", {}).get("name")
            for (rel, cm), cfg in configs.items():
                if cm == name and isinstance(cfg, dict):
                    shutdown_ms = cfg.get("relay", {}).get("shutdown_timeout_ms", shutdown_ms)
                    listen = cfg.get("http", {}).get("listen", "")
                    if listen.startswith(("127.", "[::1]", "localhost")):
                        self.fail(where, f"http.listen {listen} is unreachable for kubelet probes")
        grace = pod.get("terminationGracePeriodSeconds", 30)
        if grace * 1000 <= shutdown_ms:
            self.fail(where, f"terminationGracePeriodSeconds {grace} s is not above "
                             f"relay.shutdown_timeout_ms {shutdown_ms}")

    # -- Dockerfile and compose ----------------------------------------------

    def install_deps_packages(self):
        text = self.read("scripts", "install-deps.sh")
        m = re.search(r"PACKAGES=\((.*?)\)", text, re.S)
        return set(m.group(1).split()) if m else set()

    def dockerfile_stages(self):
        stages = []
        lines = self.read("Dockerfile").replace("\\\n", " ").splitlines()
        for line in lines:
            s = line.strip()
            if s.startswith("FROM "):
                stages.append({"from": s.split()[1], "lines": []})
            elif stages and s and not s.startswith("#"):
                stages[-1]["lines"].append(s)
        return stages

    @staticmethod
    def apt_packages(lines):
        pkgs = []
        for s in lines:
            for cmd in s.split("&&"):
                words = cmd.split()
                if "apt-get" in words and "install" in words:
                    after = words[words.index("install") + 1:]
                    pkgs.extend(w for w in after if not w.startswith("-"))
        return pkgs

    def check_dockerfile(self, binary):
        rel = "Dockerfile"
        stages = self.dockerfile_stages()
        if len(stages) < 2:
            self.fail(rel, "not multi-stage")
            return []
        build, run = stages[0], stages[-1]
        if not build["from"].startswith("debian:bookworm"):
            self.fail(rel, f"build stage is {build['from']}, not debian:bookworm")
        if run["from"] != "debian:bookworm-slim":
            self.fail(rel, f"runtime stage is {run['from']}, not debian:bookworm-slim")
        text = " ".join(run["lines"])
        if not re.search(r'HEALTHCHECK .*CMD \["outboxd", "healthcheck"', text):
            self.fail(rel, "HEALTHCHECK does not run `outboxd healthcheck`")
        if not re.search(r"\bEXPOSE 9187\b", text):
            self.fail(rel, "EXPOSE 9187 missing")
        if "ENV OUTBOXD_HTTP_LISTEN=0.0.0.0:9187" not in text:
            self.fail(rel, "OUTBOXD_HTTP_LISTEN=0.0.0.0:9187 not set")
        users = [s.split()[1] for s in run["lines"] if s.startswith("USER ")]
        if not users or users[-1].split(":")[0] in ("0", "root"):
            self.fail(rel, "runtime stage runs as root")
        dev = set(self.apt_packages(build["lines"]))
        missing = dev - self.install_deps_packages()
        if missing:
            self.fail(rel, f"build packages not in scripts/install-deps.sh: {sorted(missing)}")
        runtime = set(self.apt_packages(run["lines"]))
        if binary:
            self.check_runtime_libraries(binary, runtime)
        self.check_daemon_only_build(build["lines"])
        return run["lines"]

    def check_daemon_only_build(self, build_lines):
        """The build stage copies CMakeLists.txt and src/ only: its cmake call
        must set OUTBOXD_DAEMON_ONLY=ON, and the top CMakeLists.txt must read
        no folder but src/ outside `if(NOT OUTBOXD_DAEMON_ONLY)`."""
        rel = "Dockerfile"
        copies = [s.split()[1] for s in build_lines if s.startswith("COPY ")]
        cmake = " ".join(s for s in build_lines if "cmake -S" in s)
        if "-DOUTBOXD_DAEMON_ONLY=ON" not in cmake:
            self.fail(rel, "the build stage's cmake does not set -DOUTBOXD_DAEMON_ONLY=ON")
        depth, guarded = 0, []
        for n, line in enumerate(self.read("CMakeLists.txt").splitlines(), 1):
            s = line.split("#", 1)[0].strip()
            m = re.match(r"(if|endif)\s*\((.*)\)", s)
            if m and m.group(1) == "if":
                depth += 1
                guarded.append(m.group(2).replace(" ", "") == "NOTOUTBOXD_DAEMON_ONLY")
            elif m:
                depth -= 1
                guarded.pop() if guarded else None
            sub = re.match(r"add_subdirectory\s*\(\s*(\S+?)\s*\)", s)
            if not sub:
                continue
            folder = sub.group(1).rstrip("/")
            copied = any(c.rstrip("/") == folder for c in copies)
            if not copied and not any(guarded):
                self.fail("CMakeLists.txt", f"line {n}: add_subdirectory({folder}) is outside "
                                            "if(NOT OUTBOXD_DAEMON_ONLY) and the Dockerfile does "
                                            "not copy it: the image build would fail")

    def check_runtime_libraries(self, binary, runtime):
        out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out)
        if not needed:
            self.fail(binary, "readelf found no NEEDED libraries")
        ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
        paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M))
        for lib in needed:
            if SANITIZER_LIBRARY.match(lib):
                continue
            path = paths.get(lib)
            if not path:
                self.fail(binary, f"ldd cannot resolve {lib}")
                continue
            real = os.path.realpath(path)
            pkg = None
            for candidate in (path, real, "/usr" + path if not path.startswith("/usr") else path[4:],
                              "/usr" + real if not real.startswith("/usr") else real[4:]):
                r = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True)
                if r.returncode == 0:
                    pkg = r.stdout.split(":")[0].strip()
                    break
            if pkg is None:
                self.fail(binary, f"no Debian package owns {path}")
            elif pkg not in runtime and pkg not in BASE_PACKAGES:
                self.fail("Dockerfile", f"runtime stage lacks {pkg} (for {lib})")

    def check_compose(self, docs):
        rel = "deploy/compose.yaml"
        if rel not in docs or not docs[rel]:
            self.fail(rel, "missing or empty")
            return {}
        services = docs[rel][0].get("services", {})
        pg = services.get("postgres", {}).get("image", "")
        if "postgresql-15" in self.install_deps_packages() and not pg.startswith("postgres:15"):
            self.fail(rel, f"postgres image {pg} is not PostgreSQL 15 like scripts/install-deps.sh")
        kafka = services.get("kafka", {}).get("image", "")
        m = re.search(r"<kafka.version>(.+?)</kafka.version>", self.read("tests", "kafka", "pom.xml"))
        if not kafka.startswith("apache/kafka:") or (m and kafka.split(":", 1)[1] != m.group(1)):
            self.fail(rel, f"kafka image {kafka} differs from apache/kafka:{m.group(1) if m else '?'} "
                           "(tests/kafka/pom.xml)")
        run = services.get("outboxd", {})
        mig = services.get("outboxd-migrate", {})
        if run.get("command") != ["run"] or mig.get("command") != ["migrate"]:
            self.fail(rel, "services outboxd (run) and outboxd-migrate (migrate) expected")
        cond = run.get("depends_on", {}).get("outboxd-migrate", {}).get("condition")
        if cond != "service_completed_successfully":
            self.fail(rel, "outboxd does not wait for a successful migrate")
        grace = str(run.get("stop_grace_period", "10s"))
        if not re.fullmatch(r"\d+s", grace) or int(grace[:-1]) * 1000 <= SHUTDOWN_TIMEOUT_DEFAULT_MS:
            self.fail(rel, f"stop_grace_period {grace} is not above relay.shutdown_timeout_ms")
        return run.get("environment", {})

    # -- every configuration shipped, through the real loader ----------------

    def check_configs(self, binary, docs, compose_env):
        tmp = tempfile.mkdtemp(prefix="check-deploy-")
        try:
            dsn = os.path.join(tmp, "dsn")
            with open(dsn, "w") as f:
                f.write("postgresql://outboxd:secret@127.0.0.1:5432/app\n")
            amqp = os.path.join(tmp, "amqp-url")
            with open(amqp, "w") as f:
                f.write("amqps://outboxd:secret@127.0.0.1:5671/%2f\n")
            base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            # The image's file plus the image's ENV, with compose's variables.
            env = dict(base, OUTBOXD_HTTP_LISTEN="0.0.0.0:9187")
            env.update({k: str(v) for k, v in compose_env.items()})
            env["OUTBOXD_POSTGRES_DSN_FILE"] = dsn
            self.run_check(binary, self.path("deploy", "docker", "outboxd.yaml"), env,
                           "deploy/docker/outboxd.yaml with deploy/compose.yaml's environment")
            # The same image file with the RabbitMQ compose file's environment.
            rel = "deploy/compose.rabbitmq.yaml"
            if rel in docs and docs[rel]:
                svc = docs[rel][0].get("services", {}).get("outboxd", {})
                env = dict(base, OUTBOXD_HTTP_LISTEN="0.0.0.0:9187")
                env.update({k: str(v) for k, v in svc.get("environment", {}).items()})
                env["OUTBOXD_POSTGRES_DSN_FILE"] = dsn
                env["OUTBOXD_RABBITMQ_URL_FILE"] = amqp
                self.run_check(binary, self.path("deploy", "docker", "outboxd.yaml"), env,
                               f"deploy/docker/outboxd.yaml with {rel}'s environment")
            # The same file with the systemd EnvironmentFile example.
            env = dict(base, OUTBOXD_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9092")
            for line in self.read("deploy", "systemd", "outboxd.env").splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    k, _, v = line.partition("=")
                    env[k.strip()] = v.strip()
            self.run_check(binary, self.path("deploy", "docker", "outboxd.yaml"), env,
                           "deploy/systemd/outboxd.env")
            # Every ConfigMap's outboxd.yaml, its secret file replaced.
            for rel, ds in docs.items():
                for d in ds:
                    if d.get("kind") == "ConfigMap" and "outboxd.yaml" in d.get("data", {}):
                        p = os.path.join(tmp, "cm.yaml")
                        with open(p, "w") as f:
                            f.write(d["data"]["outboxd.yaml"])
                        env = dict(base, OUTBOXD_HTTP_LISTEN="0.0.0.0:9187",
                                   OUTBOXD_POSTGRES_DSN_FILE=dsn)
                        cfg = yaml.safe_load(d["data"]["outboxd.yaml"]) or {}
                        if cfg.get("broker") == "rabbitmq":
                            env["OUTBOXD_RABBITMQ_URL_FILE"] = amqp
                        else:
                            env["OUTBOXD_KAFKA_PROPERTY_SASL_PASSWORD"] = "secret"
                        self.run_check(binary, p, env, f"{rel} ConfigMap {d['metadata']['name']}")
        finally:
            shutil.rmtree(tmp)

    def run_check(self, binary, config, env, what):
        r = subprocess.run([binary, "check", "--config-only", "--config", config], env=env,
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            self.fail(what, f"`outboxd check --config-only` exit {r.returncode}: "
                            f"{(r.stderr or r.stdout).strip()}")

    # -- one version everywhere -----------------------------------------------

    def check_versions(self, binary):
        """project(VERSION) in CMakeLists.txt is the release; the Dockerfile's
        default, the chart, the changelog, the manifests' image tags and the
        binary must name the same."""
        m = re.search(r"^project\(outboxd VERSION (\d+\.\d+\.\d+)", self.read("CMakeLists.txt"), re.M)
        if not m:
            self.fail("CMakeLists.txt", "no project(outboxd VERSION x.y.z ...)")
            return
        release = m.group(1)
        for arg in re.findall(r"^ARG OUTBOXD_VERSION=(\S*)", self.read("Dockerfile"), re.M) or ["(none)"]:
            if arg != release:
                self.fail("Dockerfile", f"ARG OUTBOXD_VERSION={arg}, CMakeLists.txt says {release}")
        chart = self.path("deploy", "helm", "outboxd", "Chart.yaml")
        if os.path.exists(chart):
            with open(chart, encoding="utf-8") as f:
                c = yaml.safe_load(f)
            for key in ("version", "appVersion"):
                if str(c.get(key)) != release:
                    self.fail("deploy/helm/outboxd/Chart.yaml", f"{key} {c.get(key)}, CMakeLists.txt says {release}")
        if os.path.exists(self.path("CHANGELOG.md")):
            top = re.search(r"^## (\S+)", self.read("CHANGELOG.md"), re.M)
            if not top or top.group(1) != release:
                self.fail("CHANGELOG.md", f"the newest entry is {top.group(1) if top else 'missing'}, "
                                          f"CMakeLists.txt says {release}")
        for top_dir in ("deploy", "docs"):
            for dirpath, _, filenames in os.walk(self.path(top_dir)):
                for fn in filenames:
                    if not fn.endswith((".yaml", ".md", ".json")):
                        continue
                    p = os.path.join(dirpath, fn)
                    with open(p, encoding="utf-8") as f:
                        text = f.read()
                    for tag in re.findall(r"\boutboxd:(\d+\.\d+\.\d+)\b", text):
                        if tag != release:
                            self.fail(os.path.relpath(p, self.root), f"image tag outboxd:{tag}, the release is {release}")
        if binary:
            out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
            if not re.fullmatch(rf"outboxd {re.escape(release)} \(commit [A-Za-z0-9._+-]+\)", out):
                self.fail("outboxd --version", f"printed '{out}', not 'outboxd {release} (commit ...)'")

    def check_man_page(self, binary):
        """Every command and option `outboxd --help` lists is in the man page."""
        page = self.path("packaging", "deb", "outboxd.8")
        if not binary or not os.path.exists(page):
            return
        text = self.read("packaging", "deb", "outboxd.8").replace("\\-", "-")
        top = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10).stdout
        commands = re.findall(r"^  ([a-z][a-z-]+)\s{2,}", top.split("Subcommands:", 1)[-1], re.M)
        if not commands:
            self.fail("outboxd --help", "no subcommands found")
        for cmd in commands:
            if not re.search(rf"^\.B {re.escape(cmd)}$", text, re.M):
                self.fail("packaging/deb/outboxd.8", f"command {cmd} is not described (.B {cmd})")
            sub = subprocess.run([binary, cmd, "--help"], capture_output=True, text=True, timeout=10).stdout
            for opt in re.findall(r"(?:^|,)(--[a-z][a-z-]+)", sub, re.M):
                if opt not in ("--help", "--config") and opt not in text:
                    self.fail("packaging/deb/outboxd.8", f"option {opt} of {cmd} is not described")

    def run(self, binary):
        names, allowed = self.declared_metrics()
        docs = self.parse_all()
        self.check_alerts(docs, names, allowed)
        self.check_dashboard(allowed)
        self.check_systemd()
        self.check_kubernetes(docs)
        self.check_dockerfile(binary)
        compose_env = self.check_compose(docs)
        self.check_versions(binary)
        self.check_man_page(binary)
        if binary:
            self.check_configs(binary, docs, compose_env)
        return self.problems


def self_test(root):
    """A bad metric name in an alert and in the dashboard, and a readiness probe on the
    sidecar, must be reported."""
    tmp = tempfile.mkdtemp(prefix="check-deploy-self-")
    try:
        for d in ("deploy", "src/metrics", "docs", "scripts", "tests/kafka"):
            if d == "tests/kafka":
                os.makedirs(os.path.join(tmp, d))
                shutil.copy(os.path.join(root, d, "pom.xml"), os.path.join(tmp, d))
            else:
                shutil.copytree(os.path.join(root, d), os.path.join(tmp, d),
                                ignore=shutil.ignore_patterns("secrets"))
        shutil.copy(os.path.join(root, "Dockerfile"), tmp)
        shutil.copy(os.path.join(root, "CMakeLists.txt"), tmp)
        shutil.copy(os.path.join(root, "CHANGELOG.md"), tmp)
        clean = Checker(tmp).run(None)
        if clean:
            return ["self-test: the unmodified copy already fails"]
        alerts = os.path.join(tmp, "deploy", "prometheus", "outboxd-alerts.yaml")
        with open(alerts) as f:
            text = f.read()
        with open(alerts, "w") as f:
            f.write(text.replace("outboxd_parked_rows", "outboxd_parked_rowz", 1))
        dash = os.path.join(tmp, "deploy", "grafana", "outboxd-dashboard.json")
        with open(dash) as f:
            text = f.read()
        with open(dash, "w") as f:
            f.write(text.replace("outboxd_rows_sent_total", "outboxd_rows_send_total", 1))
        sidecar = os.path.join(tmp, "deploy", "kubernetes", "sidecar.yaml")
        with open(sidecar) as f:
            text = f.read()
        with open(sidecar, "w") as f:
            f.write(text.replace("          livenessProbe:\n",
                                 "          readinessProbe:\n            httpGet:\n"
                                 "              path: /readyz\n              port: metrics\n"
                                 "          livenessProbe:\n", 1))
        # A release bumped in CMakeLists.txt but not in the chart.
        with open(os.path.join(tmp, "CMakeLists.txt")) as f:
            text = f.read()
        with open(os.path.join(tmp, "CMakeLists.txt"), "w") as f:
            f.write(re.sub(r"^project\(outboxd VERSION \S+", "project(outboxd VERSION 9.9.9", text, count=1, flags=re.M))
        # An optional folder added after the guard, as examples/ once was.
        with open(os.path.join(tmp, "CMakeLists.txt"), "a") as f:
            f.write("\nadd_subdirectory(examples)\n")
        problems = Checker(tmp).run(None)
        out = []
        for bad in ("outboxd_parked_rowz", "outboxd_rows_send_total", "a sidecar readinessProbe",
                    "add_subdirectory(examples) is outside", "CMakeLists.txt says 9.9.9"):
            if not any(bad in p for p in problems):
                out.append(f"self-test: the bad name {bad} was not reported")
        return out
    finally:
        shutil.rmtree(tmp)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--binary")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    problems = Checker(root).run(args.binary)
    if args.self_test:
        problems += self_test(root)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"check-deploy: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("check-deploy: deploy/ artefacts consistent with src/metrics and the daemon")
    return 0


if __name__ == "__main__":
    sys.exit(main())
