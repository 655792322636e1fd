{{- define "api.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "api.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
An image reference from a registry/repository/tag block, the global registry
winning: include "api.image" (dict "image" .Values.image "context" $)
*/}}
{{- define "api.image" -}}
{{- $registry := .image.registry -}}
{{- if .context.Values.global.imageRegistry }}
{{- $registry = .context.Values.global.imageRegistry -}}
{{- end -}}
{{- printf "%s/%s:%s" $registry .image.repository (.image.tag | default .context.Chart.AppVersion) -}}
{{- end }}

{{/*
The pod's pull secrets: global.imagePullSecrets, then every used image's
pullSecrets, each name once (as Bitnami's common.images.renderPullSecrets).
*/}}
{{- define "api.imagePullSecrets" -}}
{{- $secrets := concat .Values.global.imagePullSecrets .Values.image.pullSecrets -}}
{{- if .Values.metrics.enabled }}
{{- $secrets = concat $secrets .Values.metrics.image.pullSecrets -}}
{{- end }}
{{- if $secrets -}}
imagePullSecrets:
{{- range ($secrets | uniq) }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end }}
