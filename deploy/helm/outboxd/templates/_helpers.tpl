{{/*
Named templates of the outboxd chart. Those whose names start with
"outboxd.sidecar" are the interface for an application chart that depends
on this chart and runs outboxd as a sidecar: call them with the subchart's
own context, `.Subcharts.outboxd` (README.md, "Sidecar mode"). Every
template here reads only .Values, .Chart and .Release, which that context
has.
*/}}

{{/* Name part of resource names. */}}
{{- define "outboxd.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name: fullnameOverride, else the release name when it already contains
the name part, else RELEASE-NAME. At most 63 characters (a DNS label).
*/}}
{{- define "outboxd.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "outboxd.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels that select this release's outboxd pods; fixed once installed. */}}
{{- define "outboxd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "outboxd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels on every resource. */}}
{{- define "outboxd.labels" -}}
{{ include "outboxd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: outbox-relay
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "outboxd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "outboxd.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "outboxd.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- end -}}

{{/*
outboxd.yaml as it goes into the ConfigMap: the values' config, plus
http.console and http.tokens_file with console.enabled (the file is the
Secret console.tokensSecret, mounted by outboxd.volumes).
*/}}
{{- define "outboxd.configYaml" -}}
{{- $config := deepCopy (.Values.config | default dict) -}}
{{- if (.Values.console | default dict).enabled -}}
{{- $http := deepCopy ($config.http | default dict) -}}
{{- $_ := set $http "console" true -}}
{{- $_ := set $http "tokens_file" (include "outboxd.consoleTokensFile" .) -}}
{{- $_ := set $config "http" $http -}}
{{- end -}}
{{- if $config -}}
{{- toYaml $config -}}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/* Where the console's tokens are mounted: the key `tokens` of console.tokensSecret. */}}
{{- define "outboxd.consoleTokensDir" -}}
/etc/outboxd/console
{{- end -}}
{{- define "outboxd.consoleTokensFile" -}}
{{- include "outboxd.consoleTokensDir" . }}/tokens
{{- end -}}

{{/*
The group the outboxd container runs as: securityContext.runAsGroup, else
podSecurityContext.runAsGroup, else the image's (10001).
*/}}
{{- define "outboxd.runAsGroup" -}}
{{- $container := .Values.securityContext | default dict -}}
{{- $pod := .Values.podSecurityContext | default dict -}}
{{- if hasKey $container "runAsGroup" -}}
{{- $container.runAsGroup | int64 -}}
{{- else if hasKey $pod "runAsGroup" -}}
{{- $pod.runAsGroup | int64 -}}
{{- else -}}
10001
{{- end -}}
{{- end -}}

{{/*
The pod's securityContext (deployment mode): podSecurityContext as given,
with fsGroup set to the container's group when the console is on and no
fsGroup is given. Secret files are owned by root; outboxd accepts a root
file readable by its group (0440) as tokens file and reads it through
fsGroup, a supplementary group of every container in the pod.
*/}}
{{- define "outboxd.podSecurityContext" -}}
{{- $context := deepCopy (.Values.podSecurityContext | default dict) -}}
{{- if and (.Values.console | default dict).enabled (not (hasKey $context "fsGroup")) -}}
{{- $_ := set $context "fsGroup" (include "outboxd.runAsGroup" . | int64) -}}
{{- end -}}
{{- if $context -}}
{{- toYaml $context -}}
{{- end -}}
{{- end -}}

{{/* Digest of outboxd.yaml: a pod annotation, so a config change rolls the pods. */}}
{{- define "outboxd.configChecksum" -}}
{{- include "outboxd.configYaml" . | sha256sum -}}
{{- end -}}

{{/*
Checks the schema cannot express; rendering stops with the message. Included
by the ConfigMap, which every mode renders.
*/}}
{{- define "outboxd.validate" -}}
{{- $_ := required "existingSecret.name is required: create a Secret with the PostgreSQL DSN first (kubectl create secret generic outboxd --from-file=dsn=./outboxd-dsn) and set existingSecret.name to its name; no credentials go into the values" .Values.existingSecret.name -}}
{{- $_ := required "existingSecret.keys.dsn is required: the key of existingSecret that holds the PostgreSQL DSN" .Values.existingSecret.keys.dsn -}}
{{- $config := .Values.config | default dict -}}
{{- $broker := $config.broker | default "kafka" -}}
{{- if and (eq $broker "rabbitmq") (not .Values.existingSecret.keys.rabbitmqUrl) -}}
{{- fail "config.broker is rabbitmq: set existingSecret.keys.rabbitmqUrl to the key of existingSecret that holds the AMQP URI" -}}
{{- end -}}
{{- if eq $broker "kafka" -}}
{{- $kafka := $config.kafka | default dict -}}
{{- if not $kafka.bootstrap_servers -}}
{{- fail "config.kafka.bootstrap_servers is required with config.broker: kafka (host:port of your brokers, comma separated)" -}}
{{- end -}}
{{- end -}}
{{- $http := $config.http | default dict -}}
{{- if or (hasKey $http "console") (hasKey $http "tokens_file") -}}
{{- fail "config.http.console and config.http.tokens_file are set by the chart: use console.enabled and console.tokensSecret instead (the chart mounts the Secret's tokens and names the file)" -}}
{{- end -}}
{{- $console := .Values.console | default dict -}}
{{- if $console.enabled -}}
{{- $_ := required "console.tokensSecret is required with console.enabled: create a Secret with the console's tokens first (kubectl create secret generic outboxd-console --from-file=tokens=./console-tokens; NAME ROLE SECRET per line, docs/console.md) and set console.tokensSecret to its name" $console.tokensSecret -}}
{{- end -}}
{{- if hasKey $http "listen" -}}
{{- $listen := $http.listen | toString -}}
{{- if or (not (hasSuffix ":9187" $listen)) (hasPrefix "127." $listen) (hasPrefix "localhost:" $listen) (hasPrefix "[::1]" $listen) -}}
{{- fail (printf "config.http.listen is %q: it must be a non-loopback address on port 9187 (e.g. 0.0.0.0:9187), which the probes and Prometheus connect to" $listen) -}}
{{- end -}}
{{- end -}}
{{- if eq .Values.mode "deployment" -}}
{{- $relay := $config.relay | default dict -}}
{{- $shutdown := $relay.shutdown_timeout_ms | default 10000 | int64 -}}
{{- $grace := .Values.terminationGracePeriodSeconds | int64 -}}
{{- if ge $shutdown (mul $grace 1000) -}}
{{- fail (printf "terminationGracePeriodSeconds (%d s) must be longer than config.relay.shutdown_timeout_ms (%d ms): Kubernetes would kill outboxd while it waits for delivery reports" $grace $shutdown) -}}
{{- end -}}
{{- if .Values.podMonitor.enabled -}}
{{- fail "podMonitor.enabled is for mode: sidecar; in mode: deployment use serviceMonitor.enabled" -}}
{{- end -}}
{{- else -}}
{{- if .Values.serviceMonitor.enabled -}}
{{- fail "serviceMonitor.enabled needs mode: deployment (a sidecar has no Service of its own); in mode: sidecar use podMonitor.enabled" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The outboxd container, as one list item for a pod's `containers:`.
The same in both modes except the probes: a startup and a liveness probe in
a sidecar, a liveness and a readiness probe in its own Deployment.
*/}}
{{- define "outboxd.container" -}}
{{- $keys := .Values.existingSecret.keys -}}
{{- $console := .Values.console | default dict -}}
- name: outboxd
  image: {{ include "outboxd.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args: ["run", "--config", "/etc/outboxd/outboxd.yaml"]
  ports:
    - name: metrics
      containerPort: 9187
      protocol: TCP
  env:
    - name: OUTBOXD_POSTGRES_DSN_FILE
      value: /etc/outboxd/secrets/dsn
    {{- if $keys.kafkaSaslPassword }}
    - name: OUTBOXD_KAFKA_PROPERTIES_FILE_SASL_PASSWORD
      value: /etc/outboxd/secrets/kafka-sasl-password
    {{- end }}
    {{- if $keys.rabbitmqUrl }}
    - name: OUTBOXD_RABBITMQ_URL_FILE
      value: /etc/outboxd/secrets/amqp-url
    {{- end }}
    {{- if $keys.rabbitmqManagementUrl }}
    - name: OUTBOXD_RABBITMQ_MANAGEMENT_URL
      valueFrom:
        secretKeyRef:
          name: {{ .Values.existingSecret.name }}
          key: {{ $keys.rabbitmqManagementUrl }}
    {{- end }}
    {{- with .Values.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  volumeMounts:
    - name: outboxd-config
      mountPath: /etc/outboxd/outboxd.yaml
      subPath: outboxd.yaml
      readOnly: true
    - name: outboxd-secrets
      mountPath: /etc/outboxd/secrets
      readOnly: true
    {{- if $console.enabled }}
    # Not with subPath: the kubelet updates the file when the Secret
    # changes, and SIGHUP makes outboxd read it again.
    - name: outboxd-console
      mountPath: {{ include "outboxd.consoleTokensDir" . }}
      readOnly: true
    {{- end }}
    {{- with .Values.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.securityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if eq .Values.mode "sidecar" }}
  startupProbe:
    httpGet:
      path: /healthz
      port: metrics
    {{- toYaml .Values.probes.startup | nindent 4 }}
  {{- end }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: metrics
    {{- toYaml .Values.probes.liveness | nindent 4 }}
  {{- if eq .Values.mode "deployment" }}
  readinessProbe:
    httpGet:
      path: /readyz
      port: metrics
    {{- toYaml .Values.probes.readiness | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* The pod's volumes for the outboxd container, as list items for `volumes:`. */}}
{{- define "outboxd.volumes" -}}
{{- $keys := .Values.existingSecret.keys -}}
{{- $console := .Values.console | default dict -}}
- name: outboxd-config
  configMap:
    name: {{ include "outboxd.fullname" . }}
- name: outboxd-secrets
  secret:
    secretName: {{ .Values.existingSecret.name }}
    {{- if eq .Values.mode "sidecar" }}
    # Readable by uid 10001 whatever the application pod's fsGroup; only
    # the outboxd container mounts this volume.
    defaultMode: 0444
    {{- else }}
    defaultMode: 0440
    {{- end }}
    items:
      - key: {{ $keys.dsn }}
        path: dsn
      {{- if $keys.kafkaSaslPassword }}
      - key: {{ $keys.kafkaSaslPassword }}
        path: kafka-sasl-password
      {{- end }}
      {{- if $keys.rabbitmqUrl }}
      - key: {{ $keys.rabbitmqUrl }}
        path: amqp-url
      {{- end }}
{{- if $console.enabled }}
- name: outboxd-console
  secret:
    secretName: {{ $console.tokensSecret }}
    # Owned by root, group fsGroup, mode 0440: outboxd refuses a tokens
    # file others may read, so never 0444, in sidecar mode neither (the
    # application pod needs an fsGroup then).
    defaultMode: 0440
    items:
      - key: tokens
        path: tokens
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* prometheus.io/* annotations (when enabled) and the config checksum, for the pod. */}}
{{- define "outboxd.podAnnotations" -}}
checksum/outboxd-config: {{ include "outboxd.configChecksum" . }}
{{- if .Values.prometheusScrapeAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: "9187"
prometheus.io/path: /metrics
{{- end }}
{{- end -}}

{{/*
Sidecar interface, for an application chart that lists this chart as a
dependency with mode: sidecar. Call each with `.Subcharts.outboxd` (or
`.Subcharts.ALIAS`):
  outboxd.sidecarContainer       one item for the pod's `containers:`
  outboxd.sidecarVolumes         items for the pod's `volumes:`
  outboxd.sidecarPodAnnotations  for the pod template's annotations
  outboxd.sidecarPodLabels       for the pod template's labels
*/}}
{{- define "outboxd.sidecarContainer" -}}
{{- if ne .Values.mode "sidecar" -}}
{{- fail "outboxd.sidecarContainer: set mode: sidecar in this chart's values (under the dependency's name or alias)" -}}
{{- end -}}
{{- include "outboxd.container" . -}}
{{- end -}}

{{- define "outboxd.sidecarVolumes" -}}
{{- include "outboxd.volumes" . -}}
{{- end -}}

{{- define "outboxd.sidecarPodAnnotations" -}}
{{- include "outboxd.podAnnotations" . -}}
{{- end -}}

{{- define "outboxd.sidecarPodLabels" -}}
outboxd.io/sidecar: "true"
{{- end -}}
