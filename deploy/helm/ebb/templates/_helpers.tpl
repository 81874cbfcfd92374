{{/* Names, labels and small derived values shared by every template. */}}

{{- define "ebb.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource-name prefix: the release name, plus the chart name unless it is already in it. */}}
{{- define "ebb.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ebb.controllerName" -}}{{ include "ebb.fullname" . }}-controller{{- end -}}
{{- define "ebb.activatorName" -}}{{ include "ebb.fullname" . }}-activator{{- end -}}
{{/* Headless: resolves to every controller pod, so reports reach the leader and the standbys. */}}
{{- define "ebb.reportServiceName" -}}{{ include "ebb.fullname" . | trunc 44 | trimSuffix "-" }}-controller-reports{{- end -}}
{{/*
The adapter's Service, which the APIService names. No selector: the leader keeps its
EndpointSlice "<name>-leader" (`ebb run --adapter-service`). At most 63 characters (a Service
name is a DNS label).
*/}}
{{- define "ebb.adapterServiceName" -}}{{ include "ebb.fullname" . | trunc 47 | trimSuffix "-" }}-metrics-adapter{{- end -}}
{{- define "ebb.adapterSecretName" -}}
{{- if eq .Values.adapter.certificate.source "secret" -}}
{{- required "adapter.certificate.secretName is required when adapter.certificate.source is secret" .Values.adapter.certificate.secretName -}}
{{- else -}}
{{- include "ebb.fullname" . }}-adapter-cert
{{- end -}}
{{- end -}}

{{- define "ebb.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "ebb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ebb
{{- end -}}

{{/* Selector labels of one component: include with (dict "ctx" $ "component" "controller"). */}}
{{- define "ebb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ebb.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ebb.componentLabels" -}}
{{ include "ebb.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ebb.controllerServiceAccount" -}}
{{- default (include "ebb.controllerName" .) .Values.serviceAccount.controller.name -}}
{{- end -}}
{{- define "ebb.activatorServiceAccount" -}}
{{- default (include "ebb.activatorName" .) .Values.serviceAccount.activator.name -}}
{{- end -}}

{{/* Where the activator's projected report token is mounted (`--report-token-file`). */}}
{{- define "ebb.reportTokenDir" -}}/var/run/secrets/ebb/report-token{{- end -}}

{{/* `--report-allowed-service-accounts`: the chart's activator, then reports.extraAllowedServiceAccounts. */}}
{{- define "ebb.reportAllowedServiceAccounts" -}}
{{- $allowed := list -}}
{{- if .Values.activator.enabled -}}
{{- $allowed = append $allowed (printf "%s:%s" .Release.Namespace (include "ebb.activatorServiceAccount" .)) -}}
{{- end -}}
{{- join "," (concat $allowed .Values.reports.extraAllowedServiceAccounts) -}}
{{- end -}}

{{- define "ebb.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{/*
A container's command with node flags (a component's non-empty nodeFlags as the context): the
image's entry point (Dockerfile ENTRYPOINT, `node src/main.js`) with the flags.
*/}}
{{- define "ebb.nodeCommand" -}}
command:
  - node
{{ toYaml . | indent 2 }}
  - src/main.js
{{- end -}}

{{- define "ebb.clusterObjectNamespace" -}}
{{- default .Release.Namespace .Values.clusterObjectNamespace -}}
{{- end -}}

{{/* Soft anti-affinity over nodes, used when a component sets no affinity of its own. */}}
{{- define "ebb.spreadAffinity" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "ebb.selectorLabels" . | nindent 12 }}
{{- end -}}

{{/*
Rules the controller needs in every namespace it watches; rendered into a ClusterRole (all
namespaces) or a Role in watchNamespace. Paths: src/platform/kubernetes/*.ts.
*/}}
{{- define "ebb.controllerNamespacedRules" -}}
# Verbs are exactly the requests ebb makes (test/integration/deploy-run.test.ts runs the controller
# under these rules). ScaledObjects: informer (list/watch), finalizers (patch), status (patch).
- apiGroups: ["autoscaling.ebb.dev"]
  resources: ["scaledobjects"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["autoscaling.ebb.dev"]
  resources: ["scaledobjects/status"]
  verbs: ["patch"]
- apiGroups: ["autoscaling.ebb.dev"]
  resources: ["triggerauthentications"]
  verbs: ["list", "watch"]
# Any scalable kind, found through discovery: GET and PATCH /scale (update: as KEDA's role has it).
- apiGroups: ["*"]
  resources: ["*/scale"]
  verbs: ["get", "update", "patch"]
# The replicas cache (spec.replicas of these kinds is their /scale value).
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "replicasets"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["replicationcontrollers"]
  verbs: ["list", "watch"]
{{- range .Values.rbac.extraWatchedScaleTargets }}
- apiGroups: {{ toJson .apiGroups }}
  resources: {{ toJson .resources }}
  verbs: ["list", "watch"]
{{- end }}
# events.k8s.io/v1 Events about ScaledObjects, de-duplicated by patching the series.
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- if .Values.adapter.enabled }}
# HPA mode: the autoscaling/v2 HPA ebb owns per ScaledObject (src/platform/kubernetes/hpa.ts:
# GET, LIST of the namespace to find a foreign HPA on the target, POST, PUT, DELETE; no watch).
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "list", "create", "update", "delete"]
{{- end }}
{{- end -}}

{{/* What a standalone activator reads: routes from ScaledObjects, ports from Services, pods from EndpointSlices. */}}
{{- define "ebb.activatorRules" -}}
# Informers only (list/watch); no writes: route problems travel to the controller with the stats,
# and the controller writes the conditions and Events.
- apiGroups: ["autoscaling.ebb.dev"]
  resources: ["scaledobjects"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["list", "watch"]
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["list", "watch"]
{{- end -}}

{{/*
The activator's TLS Secrets (activator.tls.secrets) as a JSON list of "namespace/name", a bare
name taken as the release namespace's.
*/}}
{{- define "ebb.activatorTlsSecrets" -}}
{{- $out := list }}
{{- range .Values.activator.tls.secrets }}
{{- if contains "/" . }}
{{- $out = append $out . }}
{{- else }}
{{- $out = append $out (printf "%s/%s" $.Release.Namespace .) }}
{{- end }}
{{- end }}
{{- toJson $out }}
{{- end -}}

{{- define "ebb.secretRules" -}}
# Secret metadata is watched (names, resourceVersions); values are read with GET on demand.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
{{- end -}}
