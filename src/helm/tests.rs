use std::collections::BTreeSet;
use std::path::PathBuf;

use super::*;

/// A chart from inline files: `values.yaml`'s text and `(path, text)` templates.
fn chart(values: &str, templates: &[(&str, &str)]) -> Chart {
    Chart {
        name: "demo".to_string(),
        values: values.to_string(),
        templates: templates
            .iter()
            .map(|(path, text)| TemplateFile { path: path.to_string(), text: text.to_string() })
            .collect(),
        ..Chart::default()
    }
}

fn only_pod(keys: &ChartKeys) -> &PodKeys {
    assert_eq!(keys.pods.len(), 1, "{keys:#?}");
    &keys.pods[0]
}

fn policy_paths(container: &ContainerKeys) -> Vec<&str> {
    match &container.policy {
        Policy::Keys(keys) => keys.iter().map(|key| key.path.as_str()).collect(),
        other => panic!("{}: not keys: {other:?}", container.name),
    }
}

fn secrets(pod: &PodKeys) -> Vec<(&str, Shape)> {
    pod.secrets.iter().map(|key| (key.path.as_str(), key.shape)).collect()
}

const SCAFFOLD: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "demo.fullname" . }}
spec:
  template:
    spec:
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
"#;

const SCAFFOLD_HELPERS: &str = r#"{{/*
Expand the name of the chart.
*/}}
{{- define "demo.fullname" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}
"#;

#[test]
fn the_helm_create_scaffold() {
    let values = "image:\n  repository: nginx\n  pullPolicy: IfNotPresent\nimagePullSecrets:\n  - name: regcred\n";
    let chart = chart(values, &[("templates/deployment.yaml", SCAFFOLD), ("templates/_helpers.tpl", SCAFFOLD_HELPERS)]);
    let keys = analyse(&chart);
    let pod = only_pod(&keys);
    assert_eq!(pod.kinds, ["Deployment"]);
    assert_eq!(pod.at, Location { file: "templates/deployment.yaml".to_string(), line: 12 });
    assert_eq!(pod.containers.len(), 1);
    let container = &pod.containers[0];
    assert_eq!(container.name, "{{ .Chart.Name }}");
    assert!(!container.init);
    let Policy::Keys(policy) = &container.policy else { panic!("{:?}", container.policy) };
    assert_eq!(
        policy,
        &[KeyAt {
            path: "image.pullPolicy".to_string(),
            at: Location { file: "templates/deployment.yaml".to_string(), line: 15 }
        }]
    );
    assert_eq!(
        pod.secrets,
        [SecretsKey {
            path: "imagePullSecrets".to_string(),
            shape: Shape::Mappings,
            default_shape: Some(Shape::Mappings),
            at: Location { file: "templates/deployment.yaml".to_string(), line: 10 },
        }]
    );
    assert!(keys.unread.is_empty(), "{:?}", keys.unread);
    assert!(keys.unknowns.is_empty(), "{:?}", keys.unknowns);
}

/// Bitnami's common library, trimmed to the helpers that matter.
const COMMON_IMAGES: &str = r#"{{- define "common.images.pullPolicy" -}}
{{- .imageRoot.pullPolicy -}}
{{- end -}}
{{- define "common.images.renderPullSecrets" -}}
  {{- $pullSecrets := list }}
  {{- $context := .context }}
  {{- range (($context.Values.global).imagePullSecrets) -}}
    {{- if kindIs "map" . -}}
      {{- $pullSecrets = append $pullSecrets (include "common.tplvalues.render" (dict "value" .name "context" $context)) -}}
    {{- else -}}
      {{- $pullSecrets = append $pullSecrets (include "common.tplvalues.render" (dict "value" . "context" $context)) -}}
    {{- end -}}
  {{- end -}}
  {{- range .images -}}
    {{- range .pullSecrets -}}
      {{- if kindIs "map" . -}}
        {{- $pullSecrets = append $pullSecrets (include "common.tplvalues.render" (dict "value" .name "context" $context)) -}}
      {{- else -}}
        {{- $pullSecrets = append $pullSecrets (include "common.tplvalues.render" (dict "value" . "context" $context)) -}}
      {{- end -}}
    {{- end -}}
  {{- end -}}
  {{- if (not (empty $pullSecrets)) -}}
imagePullSecrets:
    {{- range $pullSecrets | uniq }}
  - name: {{ . }}
    {{- end }}
  {{- end }}
{{- end -}}
{{- define "common.tplvalues.render" -}}
{{- $value := typeIs "string" .value | ternary .value (.value | toYaml) }}
{{- if contains "{{" (toJson .value) }}
    {{- tpl $value .context }}
{{- else }}
    {{- $value }}
{{- end }}
{{- end -}}
"#;

const BITNAMI_DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      {{- include "common.images.renderPullSecrets" (dict "images" (list .Values.image .Values.metrics.image) "context" $) | nindent 6 }}
      containers:
        - name: app
          imagePullPolicy: {{ .Values.image.pullPolicy | quote }}
        {{- if .Values.metrics.enabled }}
        - name: metrics
          imagePullPolicy: {{ include "common.images.pullPolicy" (dict "imageRoot" .Values.metrics.image) }}
        {{- end }}
"#;

fn bitnami_like() -> Chart {
    let values = "global:\n  imagePullSecrets:\n    - regcred\nimage:\n  pullPolicy: IfNotPresent\n  pullSecrets: []\n\
                  metrics:\n  image:\n    pullPolicy: IfNotPresent\n    pullSecrets: []\n";
    let mut root = chart(values, &[("templates/deployment.yaml", BITNAMI_DEPLOYMENT)]);
    let mut common = chart("exampleValue: common-chart\n", &[("templates/_images.tpl", COMMON_IMAGES)]);
    common.name = "common".to_string();
    common.library = true;
    root.subcharts.push(Subchart { key: "common".to_string(), dir: "common".to_string(), chart: common });
    root
}

#[test]
fn bitnami_common_helpers_through_a_library_subchart() {
    let keys = analyse(&bitnami_like());
    let pod = only_pod(&keys);
    let names: Vec<&str> = pod.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["app", "metrics"]);
    assert_eq!(policy_paths(&pod.containers[0]), ["image.pullPolicy"]);
    assert_eq!(policy_paths(&pod.containers[1]), ["metrics.image.pullPolicy"]);
    let Policy::Keys(metrics) = &pod.containers[1].policy else { unreachable!() };
    assert_eq!(metrics[0].at, Location { file: "charts/common/templates/_images.tpl".to_string(), line: 2 });
    assert_eq!(
        secrets(pod),
        [
            ("global.imagePullSecrets", Shape::Either),
            ("image.pullSecrets", Shape::Either),
            ("metrics.image.pullSecrets", Shape::Either)
        ]
    );
    let global = &pod.secrets[0];
    assert_eq!(global.default_shape, Some(Shape::Names));
    // The line that prints the names: `  - name: {{ . }}`.
    assert_eq!(global.at, Location { file: "charts/common/templates/_images.tpl".to_string(), line: 26 });
    assert!(keys.unknowns.is_empty(), "{:?}", keys.unknowns);
}

#[test]
fn ingress_nginx_style_helpers_and_with_on_an_image_block() {
    let helpers = r#"{{- define "x.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets: {{ toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
"#;
    let deployment = r#"kind: Deployment
spec:
  template:
    spec:
      {{- include "x.imagePullSecrets" . | nindent 6 }}
      containers:
        - name: controller
          {{- with .Values.controller.image }}
          image: "{{ .registry }}/{{ .image }}"
          imagePullPolicy: {{ .pullPolicy }}
          {{- end }}
"#;
    let chart = chart("", &[("templates/_helpers.tpl", helpers), ("templates/controller.yaml", deployment)]);
    let keys = analyse(&chart);
    let pod = only_pod(&keys);
    assert_eq!(policy_paths(&pod.containers[0]), ["controller.image.pullPolicy"]);
    assert_eq!(secrets(pod), [("imagePullSecrets", Shape::Mappings)]);
    assert_eq!(pod.secrets[0].at.file, "templates/_helpers.tpl");
}

#[test]
fn trim_markers_comments_and_braces_in_strings() {
    // `-}}` eats the line break after it, `{{-` the one before it.
    let template = r#"kind: Pod
spec:
  {{- /* a comment with }} in it */}}
  containers:
  - name: {{ "}}" | quote -}}
  {{- /* another */}}
    imagePullPolicy: {{- " " -}} {{ .Values.policy }}
  {{- `raw }}` | trim -}}
"#;
    let chart = chart("policy: Always\n", &[("templates/pod.yaml", template)]);
    let keys = analyse(&chart);
    let pod = only_pod(&keys);
    assert_eq!(pod.kinds, ["Pod"]);
    assert_eq!(pod.containers.len(), 1, "{pod:#?}");
    assert_eq!(policy_paths(&pod.containers[0]), ["policy"]);
}

#[test]
fn nested_with_and_range_give_element_paths() {
    let template = r#"kind: DaemonSet
spec:
  template:
    spec:
      containers:
      {{- range $i, $sidecar := .Values.sidecars }}
      - name: {{ $sidecar.name }}
        {{- with .image }}
        imagePullPolicy: {{ .pullPolicy | default $.Values.image.pullPolicy }}
        {{- end }}
      {{- end }}
      {{- with .Values.extra }}
      {{- range .containers }}
      - name: extra
        imagePullPolicy: {{ .policy }}
      {{- end }}
      {{- end }}
"#;
    let keys = analyse(&chart("", &[("templates/ds.yaml", template)]));
    let pod = only_pod(&keys);
    assert_eq!(pod.containers.len(), 2, "{pod:#?}");
    assert_eq!(policy_paths(&pod.containers[0]), ["image.pullPolicy", "sidecars[].image.pullPolicy"]);
    assert_eq!(policy_paths(&pod.containers[1]), ["extra.containers[].policy"]);
}

#[test]
fn a_define_used_by_include_and_by_template() {
    let helpers = r#"{{- define "demo.policy" -}}
{{ .Values.image.pullPolicy }}
{{- end -}}
{{- define "demo.pod" }}
containers:
  - name: by-template
    imagePullPolicy: {{ template "demo.policy" . }}
{{- end }}
"#;
    let job = r#"kind: Job
spec:
  template:
    spec:
      {{- include "demo.pod" . | indent 6 }}
      initContainers:
        - name: by-include
          imagePullPolicy: {{ include "demo.policy" . }}
"#;
    let keys = analyse(&chart("", &[("templates/_helpers.tpl", helpers), ("templates/job.yaml", job)]));
    let pod = only_pod(&keys);
    let found: Vec<(&str, bool, Vec<&str>)> =
        pod.containers.iter().map(|c| (c.name.as_str(), c.init, policy_paths(c))).collect();
    assert_eq!(
        found,
        [("by-template", false, vec!["image.pullPolicy"]), ("by-include", true, vec!["image.pullPolicy"])]
    );
}

#[test]
fn a_subchart_reads_values_under_its_name_or_alias_and_global_is_shared() {
    let template = r#"kind: StatefulSet
spec:
  template:
    spec:
      {{- with .Values.global.imagePullSecrets }}
      imagePullSecrets:
      {{- range . }}
      - name: {{ . }}
      {{- end }}
      {{- end }}
      containers:
      - name: redis
        imagePullPolicy: {{ .Values.image.pullPolicy }}
"#;
    let mut root = chart("cache:\n  image:\n    pullPolicy: Always\nglobal:\n  imagePullSecrets: [a, b]\n", &[]);
    let mut redis =
        chart("image:\n  pullPolicy: IfNotPresent\n  pullSecrets: []\n", &[("templates/sts.yaml", template)]);
    redis.name = "redis".to_string();
    root.subcharts.push(Subchart { key: "cache".to_string(), dir: "redis".to_string(), chart: redis });
    let keys = analyse(&root);
    let pod = only_pod(&keys);
    assert_eq!(pod.template, "charts/redis/templates/sts.yaml");
    assert_eq!(policy_paths(&pod.containers[0]), ["cache.image.pullPolicy"]);
    assert_eq!(secrets(pod), [("global.imagePullSecrets", Shape::Names)]);
    assert_eq!(pod.secrets[0].default_shape, Some(Shape::Names));
    // The subchart declares `pullSecrets` and no template reads it.
    let unread: Vec<&str> = keys.unread.iter().map(|k| k.path.as_str()).collect();
    assert_eq!(unread, ["cache.image.pullSecrets"]);
    assert_eq!(keys.unread[0].at, Location { file: "charts/redis/values.yaml".to_string(), line: 3 });
}

#[test]
fn keys_that_no_template_reads_are_reported() {
    let values = "image:\n  pullPolicy: IfNotPresent\nworker:\n  image:\n    pullPolicy: Always\n\
                  imagePullSecrets: []\nsidecar:\n  imagePullPolicy: Never\n";
    let template =
        "kind: Pod\nspec:\n  containers:\n  - name: app\n    imagePullPolicy: {{ .Values.image.pullPolicy }}\n  \
                    {{- with .Values.sidecar }}\n  - {{ toYaml . | nindent 4 }}\n  {{- end }}\n";
    let keys = analyse(&chart(values, &[("templates/pod.yaml", template)]));
    let unread: Vec<(&str, usize)> = keys.unread.iter().map(|k| (k.path.as_str(), k.at.line)).collect();
    // `sidecar` is printed whole, so its `imagePullPolicy` is read.
    assert_eq!(unread, [("worker.image.pullPolicy", 5), ("imagePullSecrets", 6)]);
    let pod = only_pod(&keys);
    assert!(pod.secrets.is_empty());
    let Policy::Unknown(unknown) = &pod.containers[1].policy else { panic!("{:?}", pod.containers[1]) };
    assert!(unknown.reason.contains("printed whole") && unknown.reason.contains("`sidecar`"), "{unknown:?}");
}

#[test]
fn fixed_and_absent_policies() {
    let template =
        "kind: Pod\nspec:\n  containers:\n  - name: fixed\n    imagePullPolicy: Always\n  - name: absent\n    image: x\n";
    let keys = analyse(&chart("", &[("templates/pod.yaml", template)]));
    let pod = only_pod(&keys);
    assert_eq!(
        pod.containers[0].policy,
        Policy::Fixed { value: "Always".to_string(), at: Location { file: "templates/pod.yaml".to_string(), line: 5 } }
    );
    assert_eq!(pod.containers[1].policy, Policy::Absent);
}

#[test]
fn what_cannot_be_told_is_unknown_with_its_line() {
    let template = r#"kind: Deployment
spec:
  template:
    spec:
      imagePullSecrets: {{ tpl "{{ .Values.secrets | toYaml }}" . | nindent 8 }}
      containers:
      - name: computed-helper
        imagePullPolicy: {{ include (printf "%s.policy" .Chart.Name) . }}
      - name: computed-key
        imagePullPolicy: {{ index .Values.policies .Values.environment }}
      - name: tpl-string
        imagePullPolicy: {{ tpl "{{ .Values.policy }}" . }}
      - name: undefined
        imagePullPolicy: {{ include "nowhere" . }}
      - name: literal-key
        imagePullPolicy: {{ index .Values "images" "app" "pullPolicy" }}
"#;
    let keys = analyse(&chart("", &[("templates/deploy.yaml", template)]));
    let pod = only_pod(&keys);
    let reasons: Vec<(&str, String)> = pod
        .containers
        .iter()
        .map(|c| match &c.policy {
            Policy::Unknown(unknown) => (c.name.as_str(), format!("{}: {}", unknown.line, unknown.reason)),
            other => (c.name.as_str(), format!("{other:?}")),
        })
        .collect();
    assert_eq!(reasons[0], ("computed-helper", "8: `include` of a name computed in the template".to_string()));
    assert_eq!(reasons[1], ("computed-key", "10: a key computed in the template (`index`)".to_string()));
    assert_eq!(reasons[2], ("tpl-string", "12: `tpl` of a string built in the template".to_string()));
    assert_eq!(reasons[3], ("undefined", "14: `nowhere` is not defined".to_string()));
    assert_eq!(policy_paths(&pod.containers[4]), ["images.app.pullPolicy"]);
    assert!(pod.secrets.is_empty());
    assert_eq!(pod.secrets_unknown.len(), 1);
    assert_eq!(pod.secrets_unknown[0].line, 5);
    let chart_level: Vec<(usize, &str)> = keys.unknowns.iter().map(|u| (u.line, u.reason.as_str())).collect();
    assert_eq!(
        chart_level,
        [
            (8, "`include` of a name computed in the template"),
            (14, "no `define \"nowhere\"` in the chart or its subcharts")
        ]
    );
}

#[test]
fn a_template_that_does_not_parse_is_unknown_at_its_line() {
    let template = "kind: Pod\nspec:\n  containers:\n  {{- if .Values.x }}\n  - name: a\n";
    let keys = analyse(&chart("", &[("templates/pod.yaml", template)]));
    assert!(keys.pods.is_empty());
    assert_eq!(keys.unknowns.len(), 1, "{:?}", keys.unknowns);
    assert_eq!(keys.unknowns[0].line, 4);
    assert!(keys.unknowns[0].reason.contains("`if` without `end`"), "{:?}", keys.unknowns[0]);
}

#[test]
fn a_service_account_with_pull_secrets() {
    let template = "apiVersion: v1\nkind: ServiceAccount\n{{- with .Values.serviceAccount.imagePullSecrets }}\n\
                    imagePullSecrets:\n{{- range . }}\n  - name: {{ .name }}\n{{- end }}\n{{- end }}\n";
    let keys = analyse(&chart("", &[("templates/sa.yaml", template)]));
    assert!(keys.pods.is_empty());
    assert_eq!(keys.service_accounts.len(), 1);
    let account = &keys.service_accounts[0];
    let found: Vec<(&str, Shape)> = account.secrets.iter().map(|k| (k.path.as_str(), k.shape)).collect();
    assert_eq!(found, [("serviceAccount.imagePullSecrets", Shape::Mappings)]);
}

#[test]
fn load_reads_regular_files_and_never_follows_links() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path();
    std::fs::write(
        root.join("Chart.yaml"),
        "apiVersion: v2\nname: demo\ndependencies:\n  - name: redis\n    alias: cache\n",
    )
    .expect("write");
    std::fs::write(root.join("values.yaml"), "image:\n  pullPolicy: Always\n").expect("write");
    std::fs::create_dir_all(root.join("templates/sub")).expect("mkdir");
    std::fs::write(root.join("templates/sub/pod.yaml"), "kind: Pod\n").expect("write");
    std::fs::write(root.join("templates/NOTES.txt"), "notes").expect("write");
    std::fs::write(root.join("elsewhere.yaml"), "kind: Secret\n").expect("write");
    std::os::unix::fs::symlink(root.join("elsewhere.yaml"), root.join("templates/linked.yaml")).expect("symlink");
    std::fs::create_dir_all(root.join("charts/redis/templates")).expect("mkdir");
    std::fs::write(root.join("charts/redis/Chart.yaml"), "name: redis\n").expect("write");
    std::fs::write(root.join("charts/packed-1.0.0.tgz"), "").expect("write");
    let chart = load(root).expect("the chart loads");
    assert_eq!(chart.name, "demo");
    let paths: Vec<&str> = chart.templates.iter().map(|t| t.path.as_str()).collect();
    assert_eq!(paths, ["templates/sub/pod.yaml"]);
    assert_eq!(chart.subcharts.len(), 1);
    assert_eq!((chart.subcharts[0].key.as_str(), chart.subcharts[0].dir.as_str()), ("cache", "redis"));
    assert_eq!(chart.packed, ["charts/packed-1.0.0.tgz"]);
    let keys = analyse(&chart);
    assert_eq!(keys.unknowns[0].reason, "a packed subchart is not read");
    assert!(matches!(load(&root.join("templates")), Err(HelmError::NotAChart { .. })));
}

// ---------------------------------------------------------------- the corpus

fn corpus(name: &str) -> Option<ChartKeys> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/helm-charts").join(name);
    if !dir.is_dir() {
        eprintln!("note: {} is absent; skipping", dir.display());
        return None;
    }
    Some(analyse(&load(&dir).expect("the corpus chart loads")))
}

/// (template, container, policy key) for every container of every pod.
fn policy_table(keys: &ChartKeys) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    for pod in &keys.pods {
        for container in &pod.containers {
            let policy = match &container.policy {
                Policy::Keys(keys) => keys.iter().map(|k| k.path.clone()).collect::<Vec<_>>().join(" "),
                Policy::Fixed { value, .. } => format!("fixed {value}"),
                Policy::Absent => "absent".to_string(),
                Policy::InValues(keys) => {
                    format!("in values {}", keys.iter().map(|k| k.path.clone()).collect::<Vec<_>>().join(" "))
                }
                Policy::Unknown(_) => "unknown".to_string(),
            };
            rows.push((pod.template.clone(), container.name.clone(), policy));
        }
    }
    rows
}

fn row(template: &str, container: &str, policy: &str) -> (String, String, String) {
    (template.to_string(), container.to_string(), policy.to_string())
}

fn pod_secrets(keys: &ChartKeys) -> BTreeSet<(String, String, Shape)> {
    let pods = keys.pods.iter().flat_map(|pod| pod.secrets.iter().map(move |s| (pod.template.clone(), s)));
    pods.map(|(template, s)| (template, s.path.clone(), s.shape)).collect()
}

fn no_unknowns_but_the_ones_named(keys: &ChartKeys, allowed: &[&str]) {
    for pod in &keys.pods {
        assert!(pod.secrets_unknown.is_empty(), "{}: {:?}", pod.template, pod.secrets_unknown);
    }
    let chart_level: Vec<&str> = keys.unknowns.iter().map(|u| u.reason.as_str()).collect();
    assert_eq!(chart_level, allowed, "{:#?}", keys.unknowns);
    assert!(keys.unread.is_empty(), "{:?}", keys.unread);
}

#[test]
fn corpus_bitnami_nginx() {
    let Some(keys) = corpus("bitnami-nginx") else { return };
    let deployment = "templates/deployment.yaml";
    assert_eq!(
        policy_table(&keys),
        [
            row(deployment, "preserve-logs-symlinks", "image.pullPolicy"),
            row(deployment, "git-clone-repository", "cloneStaticSiteFromGit.image.pullPolicy"),
            row(deployment, "", "in values initContainers"),
            row(deployment, "git-repo-syncer", "cloneStaticSiteFromGit.image.pullPolicy"),
            row(deployment, "nginx", "image.pullPolicy"),
            row(deployment, "metrics", "metrics.image.pullPolicy"),
            row(deployment, "", "in values sidecars"),
        ]
    );
    let policy_keys =
        BTreeSet::from(["image.pullPolicy", "cloneStaticSiteFromGit.image.pullPolicy", "metrics.image.pullPolicy"]);
    assert_eq!(keys.policy_keys(), policy_keys);
    let secrets_keys = BTreeSet::from([
        "global.imagePullSecrets",
        "image.pullSecrets",
        "cloneStaticSiteFromGit.image.pullSecrets",
        "metrics.image.pullSecrets",
    ]);
    assert_eq!(keys.secrets_keys(), secrets_keys);
    let init: Vec<bool> = keys.pods[0].containers.iter().map(|c| c.init).collect();
    assert_eq!(init, [true, true, true, false, false, false, false]);
    let secrets: Vec<(&str, Shape, &str)> =
        keys.pods[0].secrets.iter().map(|s| (s.path.as_str(), s.shape, s.at.file.as_str())).collect();
    let images = "charts/common/templates/_images.tpl";
    assert_eq!(
        secrets,
        [
            ("cloneStaticSiteFromGit.image.pullSecrets", Shape::Either, images),
            ("global.imagePullSecrets", Shape::Either, images),
            ("image.pullSecrets", Shape::Either, images),
            ("metrics.image.pullSecrets", Shape::Either, images),
        ]
    );
    no_unknowns_but_the_ones_named(&keys, &[]);
}

#[test]
fn corpus_ingress_nginx() {
    let Some(keys) = corpus("ingress-nginx") else { return };
    let create = "templates/admission-webhooks/job-patch/job-createSecret.yaml";
    let patch = "templates/admission-webhooks/job-patch/job-patchWebhook.yaml";
    let patch_key = "controller.admissionWebhooks.patch.image.pullPolicy";
    let controller = "{{ .Values.controller.containerName }}";
    assert_eq!(
        policy_table(&keys),
        [
            row(create, "create", patch_key),
            row(patch, "patch", patch_key),
            row("templates/controller-daemonset.yaml", controller, "controller.image.pullPolicy"),
            row("templates/controller-daemonset.yaml", "", "in values controller.extraContainers"),
            // `controller.extraModules`: the chart writes no policy for them.
            row("templates/controller-daemonset.yaml", "{{ .name }}", "absent"),
            row("templates/controller-daemonset.yaml", "", "in values controller.extraInitContainers"),
            row("templates/controller-deployment.yaml", controller, "controller.image.pullPolicy"),
            row("templates/controller-deployment.yaml", "", "in values controller.extraContainers"),
            row("templates/controller-deployment.yaml", "{{ .name }}", "absent"),
            row("templates/controller-deployment.yaml", "", "in values controller.extraInitContainers"),
            row(
                "templates/default-backend-deployment.yaml",
                "{{ default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix \"-\" }}-default-backend",
                "defaultBackend.image.pullPolicy"
            ),
        ]
    );
    let secrets = pod_secrets(&keys);
    assert_eq!(secrets.len(), 5);
    assert!(
        secrets.iter().all(|(_, path, shape)| path == "imagePullSecrets" && *shape == Shape::Mappings),
        "{secrets:?}"
    );
    no_unknowns_but_the_ones_named(&keys, &[]);
}

#[test]
fn corpus_kube_state_metrics() {
    let Some(keys) = corpus("kube-state-metrics") else { return };
    let deployment = "templates/deployment.yaml";
    let name = "{{ default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix \"-\" }}";
    assert_eq!(
        policy_table(&keys),
        [
            row(deployment, name, "image.pullPolicy"),
            row(deployment, "kube-rbac-proxy-http", "kubeRBACProxy.image.pullPolicy"),
            row(deployment, "kube-rbac-proxy-telemetry", "kubeRBACProxy.image.pullPolicy"),
        ]
    );
    assert_eq!(keys.pods[0].kinds, ["StatefulSet", "Deployment"]);
    assert_eq!(
        secrets(&keys.pods[0]),
        [("global.imagePullSecrets", Shape::Either), ("imagePullSecrets", Shape::Either)]
    );
    assert_eq!(keys.service_accounts.len(), 1);
    let account: Vec<&str> = keys.service_accounts[0].secrets.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(account, ["global.imagePullSecrets", "serviceAccount.imagePullSecrets"]);
    no_unknowns_but_the_ones_named(&keys, &[]);
}

#[test]
fn corpus_prometheus_node_exporter() {
    let Some(keys) = corpus("prometheus-node-exporter") else { return };
    let daemonset = "templates/daemonset.yaml";
    assert_eq!(
        policy_table(&keys),
        [
            row(daemonset, "permission-fix", "permissionInitContainer.image.pullPolicy"),
            row(daemonset, "", "in values extraInitContainers"),
            row(daemonset, "node-exporter", "image.pullPolicy"),
            // `sidecars`: `- {{ toYaml (merge $overwrites . $defaults) }}`, the policy defaulted from
            // `image.pullPolicy` inside a merge: said to be unknown, not guessed.
            row(daemonset, "", "unknown"),
            row(daemonset, "kube-rbac-proxy", "kubeRBACProxy.image.pullPolicy"),
        ]
    );
    let Policy::Unknown(sidecars) = &keys.pods[0].containers[3].policy else { unreachable!() };
    assert_eq!(sidecars.line, 235);
    assert!(sidecars.reason.contains("`sidecars[]`") && sidecars.reason.contains("`image.pullPolicy`"), "{sidecars:?}");
    assert_eq!(
        secrets(&keys.pods[0]),
        [("global.imagePullSecrets", Shape::Either), ("imagePullSecrets", Shape::Either)]
    );
    let account: Vec<&str> = keys.service_accounts[0].secrets.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(account, ["global.imagePullSecrets", "serviceAccount.imagePullSecrets"]);
    no_unknowns_but_the_ones_named(&keys, &[]);
}

#[test]
fn corpus_prometheus_pushgateway() {
    let Some(keys) = corpus("prometheus-pushgateway") else { return };
    assert_eq!(
        policy_table(&keys),
        [
            row("templates/deployment.yaml", "", "in values extraInitContainers"),
            row("templates/deployment.yaml", "pushgateway", "image.pullPolicy"),
            row("templates/deployment.yaml", "", "in values extraContainers"),
            row("templates/statefulset.yaml", "", "in values extraInitContainers"),
            row("templates/statefulset.yaml", "pushgateway", "image.pullPolicy"),
            row("templates/statefulset.yaml", "", "in values extraContainers"),
        ]
    );
    for pod in &keys.pods {
        assert_eq!(pod.at.file, "templates/_helpers.tpl");
        assert_eq!(secrets(pod), [("global.imagePullSecrets", Shape::Mappings), ("imagePullSecrets", Shape::Mappings)]);
    }
    no_unknowns_but_the_ones_named(&keys, &[]);
}

#[test]
fn else_if_chains_blocks_and_range_else_are_all_walked() {
    let template = r#"kind: CronJob
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: job
            {{- if .Values.job.image.pullPolicy }}
            imagePullPolicy: {{ .Values.job.image.pullPolicy }}
            {{- else if .Values.global.pullPolicy }}
            imagePullPolicy: {{ .Values.global.pullPolicy }}
            {{- else }}
            imagePullPolicy: IfNotPresent
            {{- end }}
          {{- range .Values.extraJobs }}
          - name: {{ .name }}
            imagePullPolicy: {{ .pullPolicy }}
          {{- else }}
          {{- block "demo.default-extra" . }}
          - name: default-extra
            imagePullPolicy: {{ .Values.defaultExtra.pullPolicy }}
          {{- end }}
          {{- end }}
"#;
    let keys = analyse(&chart("", &[("templates/cron.yaml", template)]));
    let table = policy_table(&keys);
    let cron = "templates/cron.yaml";
    assert_eq!(
        table,
        [
            row(cron, "job", "job.image.pullPolicy global.pullPolicy"),
            row(cron, "{{ .name }}", "extraJobs[].pullPolicy"),
            row(cron, "default-extra", "defaultExtra.pullPolicy"),
        ]
    );
    assert_eq!(keys.pods[0].kinds, ["CronJob"]);
}

#[test]
fn the_parser_keeps_lines_and_applies_trim_markers() {
    let parsed =
        template::parse("a: 1  \n{{- /* c */ -}}\n  b: {{ `x}}y` }}\n{{ define \"d\" }}z{{ end }}").expect("parses");
    let texts: Vec<(String, usize)> = parsed
        .body
        .iter()
        .filter_map(|node| match node {
            template::Node::Text { text, line } => Some((text.clone(), *line)),
            _ => None,
        })
        .collect();
    assert_eq!(texts, [("a: 1".to_string(), 1), ("b: ".to_string(), 3), ("\n".to_string(), 3)]);
    assert_eq!(parsed.defines.len(), 1);
    assert_eq!(parsed.defines[0].0, "d");
    let error = template::parse("x\n{{ if .a }}\ny\n{{ else }}\n{{ else }}\n{{ end }}").expect_err("two elses");
    assert_eq!(error.line, 2);
    assert!(template::parse("{{ \"unclosed }}").is_err());
    assert!(template::parse("{{ (print .a }}").is_err());
}

#[test]
fn containers_given_whole_in_values() {
    let template = r#"kind: Deployment
spec:
  template:
    spec:
      initContainers: {{- toYaml .Values.initContainers | nindent 8 }}
      containers:
        {{- with .Values.extraContainers }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        - name: app
          imagePullPolicy: {{ .Values.image.pullPolicy }}
"#;
    let keys = analyse(&chart("", &[("templates/deploy.yaml", template)]));
    let deploy = "templates/deploy.yaml";
    assert_eq!(
        policy_table(&keys),
        [
            row(deploy, "", "in values initContainers"),
            row(deploy, "app", "image.pullPolicy"),
            row(deploy, "", "in values extraContainers"),
        ]
    );
    let Policy::InValues(extra) = &keys.pods[0].containers[2].policy else { unreachable!() };
    assert_eq!(extra[0].at.line, 8);
}

#[test]
fn a_dict_changed_by_set_is_followed() {
    let helpers = r#"{{- define "demo.container" -}}
- name: {{ .name }}
  imagePullPolicy: {{ .image.pullPolicy }}
{{- end -}}
"#;
    let template = r#"kind: Pod
spec:
  containers:
  {{- $ctx := dict "name" "worker" }}
  {{- $_ := set $ctx "image" .Values.worker.image }}
  {{- include "demo.container" $ctx | nindent 2 }}
"#;
    let keys = analyse(&chart("", &[("templates/_helpers.tpl", helpers), ("templates/pod.yaml", template)]));
    // Literal strings are not kept: the name is the action that prints it.
    assert_eq!(policy_table(&keys), [row("templates/pod.yaml", "{{ .name }}", "worker.image.pullPolicy")]);
}

#[test]
fn cut_templates_are_errors_or_results_never_panics() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/helm-charts/bitnami-nginx");
    if !dir.is_dir() {
        eprintln!("note: {} is absent; skipping", dir.display());
        return;
    }
    let chart = load(&dir).expect("the corpus chart loads");
    for file in chart.templates.iter().chain(chart.subcharts.iter().flat_map(|sub| &sub.chart.templates)) {
        let mut cut = 0;
        while cut < file.text.len() {
            if file.text.is_char_boundary(cut) {
                let mut damaged = chart.clone();
                damaged.templates = vec![TemplateFile { path: file.path.clone(), text: file.text[..cut].to_string() }];
                let _ = analyse(&damaged);
            }
            cut += 613;
        }
    }
}
