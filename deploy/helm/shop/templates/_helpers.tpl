{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "shop.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; "<release>" alone when it already holds the chart name. */}}
{{- define "shop.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "shop.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Standard labels of every object. */}}
{{- define "shop.labels" -}}
helm.sh/chart: {{ include "shop.chart" . }}
{{ include "shop.selectorLabels" . }}
app.kubernetes.io/version: {{ include "shop.tag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: shop
{{- end }}

{{- define "shop.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shop.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one role: (dict "root" $ "component" "api"). */}}
{{- define "shop.componentLabels" -}}
{{ include "shop.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "shop.componentSelectorLabels" -}}
{{ include "shop.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "shop.componentName" -}}
{{- printf "%s-%s" (include "shop.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "shop.tag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "shop.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "shop.tag" .) }}
{{- end }}

{{- define "shop.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "shop.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The non-secret configuration, as a map of variable to value: the ConfigMap's
data, and the migration Job's env (a pre-install hook runs before the
ConfigMap exists).
*/}}
{{- define "shop.configData" -}}
{{- $v := .Values -}}
{{- $port := $v.ports -}}
{{- $data := dict
  "APP_ENV" $v.appEnv
  "SHUTDOWN_TIMEOUT" (printf "%ds" (int $v.shutdownTimeoutSeconds))
  "HTTP_ADDR" (printf ":%d" (int $port.http))
  "WEB_ADDR" (printf ":%d" (int $port.web))
  "RECOMMENDER_ADDR" (printf ":%d" (int $port.recommender))
  "METRICS_ADDR" (printf ":%d" (int $port.metrics))
  "RECOMMENDER_METRICS_ADDR" (printf ":%d" (int $port.metrics))
  "WORKER_METRICS_ADDR" (printf ":%d" (int $port.metrics))
  "TEMPORAL_ADDRESS" $v.temporal.address
  "TEMPORAL_NAMESPACE" $v.temporal.namespace
  "TEMPORAL_TASK_QUEUE" $v.temporal.taskQueue
  "RECOMMENDER_RETRAIN_TASK_QUEUE" $v.temporal.retrainTaskQueue
  "TEMPORAL_UI_URL" $v.temporal.uiURL
  "SEARCH_BACKEND" $v.search.backend
  "ELASTICSEARCH_URL" $v.search.elasticsearchURL
  "ELASTICSEARCH_INDEX" $v.search.index
-}}
{{- $secretNames := concat $v.secrets.required $v.secrets.optional }}
{{- range $name, $value := $v.config }}
{{- if has $name $secretNames }}
{{- fail (printf "config.%s: a secret; it is read from the Secret %s" $name $v.secrets.existingSecret) }}
{{- end }}
{{- if hasKey $data $name }}
{{- fail (printf "config.%s: set it through its own value (ports, temporal, search, appEnv, shutdownTimeoutSeconds)" $name) }}
{{- end }}
{{- $_ := set $data $name (toString $value) }}
{{- end }}
{{- /* A variable read from the Secret is not in the ConfigMap too. */}}
{{- range $secretNames }}
{{- $_ := unset $data . }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{/* The secret variables: explicit env entries, which win over envFrom. */}}
{{- define "shop.secretEnv" -}}
{{- $secret := required "secrets.existingSecret: name the Secret holding DATABASE_URL, REDIS_URL, ..." .Values.secrets.existingSecret }}
{{- range .Values.secrets.required }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ . }}
{{- end }}
{{- range .Values.secrets.optional }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ . }}
      optional: true
{{- end }}
{{- end }}

{{/* Best-effort spread of one role's pods over zones, then nodes. */}}
{{- define "shop.topologySpread" -}}
{{- if .root.Values.topologySpread.enabled }}
topologySpreadConstraints:
{{- range list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
  - maxSkew: {{ $.root.Values.topologySpread.maxSkew }}
    topologyKey: {{ . }}
    whenUnsatisfiable: {{ $.root.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "shop.componentSelectorLabels" $ | nindent 8 }}
    matchLabelKeys: [pod-template-hash]
{{- end }}
{{- end }}
{{- end }}

{{/*
A NetworkPolicy peer: pods (podSelector, {} for all) in the namespaces of
namespaceSelector, which must select something (an empty one would admit
every namespace).
*/}}
{{- define "shop.networkPeer" -}}
{{- if empty .peer.namespaceSelector }}
{{- fail (printf "%s.namespaceSelector: select its namespace (an empty selector admits every namespace)" .what) }}
{{- end -}}
namespaceSelector:
  {{- toYaml .peer.namespaceSelector | nindent 2 }}
{{- with .peer.podSelector }}
podSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
