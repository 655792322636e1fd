//! The Helm oracle (issue 13): charts rendered by Helm's own engine, so that
//! tests of Helm values check what a release really gets, not what pullsmith
//! believes it gets.
//!
//! The engine is the PyPI package `helm-python-sdk` (Helm v4's Go SDK as a
//! shared library; no helm binary, no cluster, no network), installed by
//! `tests/helm/setup.sh` (which `.ci/run` runs) into `.ci-cache/venv`;
//! `tests/helm/render.py` renders a chart with values files merged in order
//! as `helm template -f a -f b` merges them. Without that venv these tests
//! print a note and pass, except under `CI=true`, where they fail: CI must
//! not skip the oracle silently.
//!
//! The tests prove the harness and document the five charts of
//! `../shared/corpus/helm-charts` (skipped without `../shared`): what each
//! renders to with its default values, and that its conventional pull keys
//! (`tests/helm/values/<chart>.pull.yaml`) give every container `Always` and
//! every pod `regcred`, with the chart's optional containers turned on
//! (`<chart>.components.yaml`) and without; and that two renders are the
//! same but for a certificate that bitnami/nginx generates on each. And that
//! render.py reads values from the files that carry them as Flux and Argo CD
//! do (`--helmrelease`, `--application`), which `helm_examples.rs` relies on.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{describe, project_root, shared_dir, write};

pub(crate) const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// The charts of `../shared/corpus/helm-charts`.
const CORPUS_CHARTS: [&str; 5] =
    ["prometheus-node-exporter", "kube-state-metrics", "prometheus-pushgateway", "ingress-nginx", "bitnami-nginx"];

// ---------------------------------------------------------------------------
// The harness

/// The venv's python when the oracle is installed. Else a note and `None`;
/// under `CI=true`, a panic.
pub(crate) fn oracle_python() -> Option<PathBuf> {
    let venv = project_root().join(".ci-cache/venv");
    let python = venv.join("bin/python");
    if python.is_file() && venv.join(".installed-helm").is_file() {
        return Some(python);
    }
    let why = format!(
        "the Helm oracle (helm-python-sdk in {}) is not installed; tests/helm/setup.sh installs it",
        venv.display()
    );
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    assert!(!ci, "{why}: CI is set, and CI must not skip the Helm oracle");
    eprintln!("note: {why}; skipping a Helm test");
    None
}

/// Renders `chart_dir` with the chart's defaults, then each of `values` merged
/// in order, then `inline` (a values document as text): the manifests, in
/// template path order. `None` when the oracle is not installed; `Err` with
/// the engine's message when the render fails.
pub(crate) fn try_render(
    chart_dir: &Path,
    values: &[&Path],
    inline: Option<&str>,
) -> Option<Result<Vec<Value>, String>> {
    let mut args: Vec<OsString> = vec![chart_dir.into()];
    for file in values {
        args.extend(["-f".into(), file.into()]);
    }
    if let Some(text) = inline {
        args.extend(["--inline".into(), text.into()]);
    }
    try_render_args(&args)
}

/// Runs `tests/helm/render.py` with `args` (chart and values options, as on
/// its command line) and `--output json`: the manifests. `None` when the
/// oracle is not installed; `Err` with the engine's message when the render
/// fails.
pub(crate) fn try_render_args(args: &[OsString]) -> Option<Result<Vec<Value>, String>> {
    let python = oracle_python()?;
    let output = Command::new(python)
        .arg(project_root().join("tests/helm/render.py"))
        .args(args)
        .args(["--output", "json"])
        .output()
        .expect("run tests/helm/render.py");
    if !output.status.success() {
        return Some(Err(String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    let parsed: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("render.py printed no JSON ({e}):\n{}", describe(&output)));
    match parsed {
        Value::Array(objects) => Some(Ok(objects)),
        other => panic!("render.py printed JSON that is not a list: {other}"),
    }
}

/// [`try_render`] for a render that must succeed.
pub(crate) fn render(chart_dir: &Path, values: &[&Path], inline: Option<&str>) -> Option<Vec<Value>> {
    let result = try_render(chart_dir, values, inline)?;
    Some(result.unwrap_or_else(|e| panic!("helm render of {} failed:\n{e}", chart_dir.display())))
}

/// One container of a rendered pod spec, with its pod's pull secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PodContainer {
    /// `Kind/name` of the rendered object.
    pub object: String,
    /// Where the pod spec is in the object, dotted (`spec.template.spec`).
    pub pod_spec: String,
    /// `containers`, `initContainers` or `ephemeralContainers`.
    pub list: &'static str,
    pub name: String,
    pub image: String,
    /// `None` when absent or null; a value that is not a string is shown in `<>`.
    pub pull_policy: Option<String>,
    /// The pod's `imagePullSecrets` names; an entry that is not a `{name:}`
    /// mapping is shown in `<>`.
    pub pull_secrets: Vec<String>,
}

impl fmt::Display for PodContainer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let policy = self.pull_policy.as_deref().unwrap_or("-");
        write!(f, "{} {}/{}: {} {} {:?}", self.object, self.list, self.name, self.image, policy, self.pull_secrets)
    }
}

/// Every container of every pod spec in `objects`, in order. A pod spec is
/// any mapping with a `containers` sequence, wherever it is (any kind,
/// `List` items, custom resources): the oracle does not share pullsmith's
/// table of workload kinds.
pub(crate) fn pod_containers(objects: &[Value]) -> Vec<PodContainer> {
    fn text(value: Option<&Value>) -> Option<String> {
        match value {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(format!("<{other}>")),
        }
    }
    fn walk(value: &Value, path: &str, object: &str, out: &mut Vec<PodContainer>) {
        match value {
            Value::Object(map) => {
                if map.get("containers").is_some_and(Value::is_array) {
                    let pull_secrets: Vec<String> = match map.get("imagePullSecrets") {
                        None | Some(Value::Null) => Vec::new(),
                        Some(Value::Array(entries)) => entries
                            .iter()
                            .map(|entry| match entry.get("name") {
                                Some(Value::String(name)) => name.clone(),
                                _ => format!("<{entry}>"),
                            })
                            .collect(),
                        Some(other) => vec![format!("<{other}>")],
                    };
                    for list in CONTAINER_LISTS {
                        for container in map.get(list).and_then(Value::as_array).into_iter().flatten() {
                            out.push(PodContainer {
                                object: object.to_string(),
                                pod_spec: path.trim_start_matches('.').to_string(),
                                list,
                                name: text(container.get("name")).unwrap_or_default(),
                                image: text(container.get("image")).unwrap_or_default(),
                                pull_policy: text(container.get("imagePullPolicy")),
                                pull_secrets: pull_secrets.clone(),
                            });
                        }
                    }
                }
                for (key, child) in map {
                    walk(child, &format!("{path}.{key}"), object, out);
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{index}]"), object, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for object in objects {
        walk(object, "", &object_id(object), &mut out);
    }
    out
}

/// `Kind/name` of a rendered object.
pub(crate) fn object_id(object: &Value) -> String {
    let kind = object["kind"].as_str().unwrap_or("?");
    let name = object["metadata"]["name"].as_str().unwrap_or("?");
    format!("{kind}/{name}")
}

// ---------------------------------------------------------------------------
// The corpus charts

pub(crate) fn corpus_chart(name: &str) -> Option<PathBuf> {
    Some(shared_dir()?.join("corpus/helm-charts").join(name))
}

pub(crate) fn values_file(name: &str) -> PathBuf {
    project_root().join("tests/helm/values").join(name)
}

pub(crate) fn lines(containers: &[PodContainer]) -> Vec<String> {
    containers.iter().map(ToString::to_string).collect()
}

/// With the chart's default values: the rendered objects and containers.
fn renders_with_defaults(chart: &str, objects: &[&str], containers: &[&str]) {
    let Some(dir) = corpus_chart(chart) else { return };
    let Some(rendered) = render(&dir, &[], None) else { return };
    let ids: Vec<String> = rendered.iter().map(object_id).collect();
    assert_eq!(ids, objects, "{chart}: rendered objects");
    assert_eq!(lines(&pod_containers(&rendered)), containers, "{chart}: rendered containers");
}

/// With `<chart>.pull.yaml` (after `<chart>.components.yaml`, which turns on
/// the optional containers, and alone): every container `Always`, every pod
/// exactly `[regcred]`. `containers` names the containers of the first render.
fn pull_keys_reach_every_container(chart: &str, containers: &[&str]) {
    let Some(dir) = corpus_chart(chart) else { return };
    let components = values_file(&format!("{chart}.components.yaml"));
    let pull = values_file(&format!("{chart}.pull.yaml"));
    for files in [vec![components.as_path(), pull.as_path()], vec![pull.as_path()]] {
        let Some(rendered) = render(&dir, &files, None) else { return };
        let found = pod_containers(&rendered);
        let wrong: Vec<String> = found
            .iter()
            .filter(|c| c.pull_policy.as_deref() != Some("Always") || c.pull_secrets != ["regcred"])
            .map(ToString::to_string)
            .collect();
        assert!(
            wrong.is_empty(),
            "{chart} with {files:?}: containers without Always and [regcred]:\n{}",
            wrong.join("\n")
        );
        if files.len() == 2 {
            let names: Vec<String> = found.iter().map(|c| format!("{} {}/{}", c.object, c.list, c.name)).collect();
            assert_eq!(names, containers, "{chart}: the containers with every component on");
        } else {
            assert!(!found.is_empty(), "{chart}: no container rendered");
        }
    }
}

#[test]
fn prometheus_node_exporter_renders_with_defaults() {
    renders_with_defaults(
        "prometheus-node-exporter",
        &[
            "DaemonSet/release-name-prometheus-node-exporter",
            "Service/release-name-prometheus-node-exporter",
            "ServiceAccount/release-name-prometheus-node-exporter",
        ],
        &["DaemonSet/release-name-prometheus-node-exporter containers/node-exporter: quay.io/prometheus/node-exporter:v1.12.1 IfNotPresent []"],
    );
}

#[test]
fn prometheus_node_exporter_pull_keys() {
    pull_keys_reach_every_container(
        "prometheus-node-exporter",
        &[
            "DaemonSet/release-name-prometheus-node-exporter initContainers/permission-fix",
            "DaemonSet/release-name-prometheus-node-exporter containers/node-exporter",
            "DaemonSet/release-name-prometheus-node-exporter containers/kube-rbac-proxy",
        ],
    );
}

#[test]
fn kube_state_metrics_renders_with_defaults() {
    renders_with_defaults(
        "kube-state-metrics",
        &[
            "ClusterRoleBinding/release-name-kube-state-metrics",
            "Deployment/release-name-kube-state-metrics",
            "ClusterRole/release-name-kube-state-metrics",
            "Service/release-name-kube-state-metrics",
            "ServiceAccount/release-name-kube-state-metrics",
        ],
        &["Deployment/release-name-kube-state-metrics containers/kube-state-metrics: registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0 IfNotPresent []"],
    );
}

#[test]
fn kube_state_metrics_pull_keys() {
    pull_keys_reach_every_container(
        "kube-state-metrics",
        &[
            "Deployment/release-name-kube-state-metrics containers/kube-state-metrics",
            "Deployment/release-name-kube-state-metrics containers/kube-rbac-proxy-http",
            "Deployment/release-name-kube-state-metrics containers/kube-rbac-proxy-telemetry",
        ],
    );
}

#[test]
fn prometheus_pushgateway_renders_with_defaults() {
    renders_with_defaults(
        "prometheus-pushgateway",
        &[
            "Deployment/release-name-prometheus-pushgateway",
            "Service/release-name-prometheus-pushgateway",
            "ServiceAccount/release-name-prometheus-pushgateway",
        ],
        &["Deployment/release-name-prometheus-pushgateway containers/pushgateway: quay.io/prometheus/pushgateway:v1.11.3 IfNotPresent []"],
    );
}

#[test]
fn prometheus_pushgateway_pull_keys() {
    pull_keys_reach_every_container(
        "prometheus-pushgateway",
        &["StatefulSet/release-name-prometheus-pushgateway containers/pushgateway"],
    );
}

#[test]
fn ingress_nginx_renders_with_defaults() {
    renders_with_defaults(
        "ingress-nginx",
        &[
            "ClusterRole/release-name-ingress-nginx-admission",
            "ClusterRoleBinding/release-name-ingress-nginx-admission",
            "Job/release-name-ingress-nginx-admission-create",
            "Job/release-name-ingress-nginx-admission-patch",
            "Role/release-name-ingress-nginx-admission",
            "RoleBinding/release-name-ingress-nginx-admission",
            "ServiceAccount/release-name-ingress-nginx-admission",
            "ValidatingWebhookConfiguration/release-name-ingress-nginx-admission",
            "ClusterRole/release-name-ingress-nginx",
            "ClusterRoleBinding/release-name-ingress-nginx",
            "ConfigMap/release-name-ingress-nginx-controller",
            "Deployment/release-name-ingress-nginx-controller",
            "IngressClass/nginx",
            "Role/release-name-ingress-nginx",
            "RoleBinding/release-name-ingress-nginx",
            "Service/release-name-ingress-nginx-controller-admission",
            "Service/release-name-ingress-nginx-controller",
            "ServiceAccount/release-name-ingress-nginx",
        ],
        &[
            "Job/release-name-ingress-nginx-admission-create containers/create: registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.6.9@sha256:01038e7de14b78d702d2849c3aad72fd25903c4765af63cf16aa3398f5d5f2dd IfNotPresent []",
            "Job/release-name-ingress-nginx-admission-patch containers/patch: registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.6.9@sha256:01038e7de14b78d702d2849c3aad72fd25903c4765af63cf16aa3398f5d5f2dd IfNotPresent []",
            "Deployment/release-name-ingress-nginx-controller containers/controller: registry.k8s.io/ingress-nginx/controller:v1.15.1@sha256:594ceea76b01c592858f803f9ff4d2cb40542cae2060410b2c95f75907d659e1 IfNotPresent []",
        ],
    );
}

#[test]
fn ingress_nginx_pull_keys() {
    pull_keys_reach_every_container(
        "ingress-nginx",
        &[
            "Job/release-name-ingress-nginx-admission-create containers/create",
            "Job/release-name-ingress-nginx-admission-patch containers/patch",
            "Deployment/release-name-ingress-nginx-controller containers/controller",
            "Deployment/release-name-ingress-nginx-defaultbackend containers/ingress-nginx-default-backend",
        ],
    );
}

#[test]
fn bitnami_nginx_renders_with_defaults() {
    renders_with_defaults(
        "bitnami-nginx",
        &[
            "Deployment/release-name-nginx",
            "NetworkPolicy/release-name-nginx",
            "PodDisruptionBudget/release-name-nginx",
            "ServiceAccount/release-name-nginx",
            "Service/release-name-nginx",
            "Secret/release-name-nginx-tls",
        ],
        &[
            "Deployment/release-name-nginx initContainers/preserve-logs-symlinks: docker.io/bitnami/nginx:1.29.1-debian-12-r0 IfNotPresent []",
            "Deployment/release-name-nginx containers/nginx: docker.io/bitnami/nginx:1.29.1-debian-12-r0 IfNotPresent []",
        ],
    );
}

#[test]
fn bitnami_nginx_pull_keys() {
    pull_keys_reach_every_container(
        "bitnami-nginx",
        &[
            "Deployment/release-name-nginx initContainers/preserve-logs-symlinks",
            "Deployment/release-name-nginx initContainers/git-clone-repository",
            "Deployment/release-name-nginx containers/git-repo-syncer",
            "Deployment/release-name-nginx containers/nginx",
            "Deployment/release-name-nginx containers/metrics",
        ],
    );
}

/// The same chart and values render the same manifests, in the same order,
/// except where a chart generates randomness: bitnami/nginx's default
/// `tls.autoGenerated: true` makes a new certificate and key (`genCA`,
/// `genSignedCert`) in `Secret/release-name-nginx-tls` on every render, so a
/// before/after comparison must leave that Secret's `data` out (or set
/// `tls.autoGenerated: false`).
#[test]
fn corpus_renders_are_deterministic_but_for_generated_certificates() {
    let random: &[(&str, &str)] = &[("bitnami-nginx", "Secret/release-name-nginx-tls")];
    for chart in CORPUS_CHARTS {
        let Some(dir) = corpus_chart(chart) else { return };
        let Some(first) = render(&dir, &[], None) else { return };
        let second = render(&dir, &[], None).expect("the oracle is there");
        assert_eq!(first.len(), second.len(), "{chart}: the same number of objects");
        let differing: Vec<(&str, String)> =
            first.iter().zip(&second).filter(|(a, b)| a != b).map(|(a, _)| (chart, object_id(a))).collect();
        let expected: Vec<(&str, String)> =
            random.iter().filter(|(c, _)| *c == chart).map(|(c, id)| (*c, id.to_string())).collect();
        assert_eq!(differing, expected, "{chart}: objects that differ between two renders");
    }
}

// ---------------------------------------------------------------------------
// The harness itself, on a chart of its own (no ../shared needed)

const TINY_CHART: &[(&str, &str)] = &[
    ("Chart.yaml", "apiVersion: v2\nname: tiny\nversion: 0.1.0\nappVersion: \"1.0\"\n"),
    (
        "values.yaml",
        "image:\n  repository: registry.example/tiny\n  tag: \"1.0\"\n  pullPolicy: IfNotPresent\nimagePullSecrets: []\n",
    ),
    ("templates/NOTES.txt", "Installed {{ .Release.Name }}.\n"),
    ("templates/_helpers.tpl", "{{- define \"tiny.name\" -}}{{ .Release.Name }}-tiny{{- end -}}\n"),
    (
        "templates/config.yaml",
        "# leading comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"tiny.name\" . }}-a\n\
         ---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"tiny.name\" . }}-b\n",
    ),
    (
        "templates/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"tiny.name\" . }}\nspec:\n  \
         selector: {matchLabels: {app: tiny}}\n  template:\n    metadata: {labels: {app: tiny}}\n    spec:\n      \
         {{- with .Values.imagePullSecrets }}\n      imagePullSecrets: {{- toYaml . | nindent 8 }}\n      {{- end }}\n      \
         containers:\n        - name: tiny\n          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n          \
         imagePullPolicy: {{ .Values.image.pullPolicy }}\n",
    ),
];

fn tiny_chart() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in TINY_CHART {
        write(&dir.path().join("tiny"), path, text);
    }
    dir
}

#[test]
fn render_gives_every_document_in_template_order() {
    let dir = tiny_chart();
    let Some(rendered) = render(&dir.path().join("tiny"), &[], None) else { return };
    // templates/config.yaml before templates/deployment.yaml; no NOTES.txt,
    // no document that holds only a comment.
    let ids: Vec<String> = rendered.iter().map(object_id).collect();
    assert_eq!(ids, ["ConfigMap/release-name-tiny-a", "ConfigMap/release-name-tiny-b", "Deployment/release-name-tiny"]);
    assert_eq!(
        lines(&pod_containers(&rendered)),
        ["Deployment/release-name-tiny containers/tiny: registry.example/tiny:1.0 IfNotPresent []"]
    );
    assert_eq!(pod_containers(&rendered)[0].pod_spec, "spec.template.spec");
}

#[test]
fn values_files_merge_in_order_later_wins() {
    let dir = tiny_chart();
    let chart = dir.path().join("tiny");
    let a = dir.path().join("a.yaml");
    let b = dir.path().join("b.yaml");
    std::fs::write(&a, "image:\n  pullPolicy: Never\n  tag: \"2.0\"\nimagePullSecrets:\n  - name: a1\n  - name: a2\n")
        .expect("write a.yaml");
    std::fs::write(&b, "image:\n  pullPolicy: Always\nimagePullSecrets:\n  - name: b1\n").expect("write b.yaml");
    let container = |values: &[&Path], inline: Option<&str>| {
        let rendered = render(&chart, values, inline)?;
        Some(pod_containers(&rendered).remove(0))
    };

    // b over a: b's policy; a's tag stays (mappings merge key by key); b's
    // list replaces a's whole.
    let Some(ab) = container(&[&a, &b], None) else { return };
    assert_eq!((ab.image.as_str(), ab.pull_policy.as_deref()), ("registry.example/tiny:2.0", Some("Always")));
    assert_eq!(ab.pull_secrets, ["b1"]);
    // a over b.
    let ba = container(&[&b, &a], None).expect("the oracle is there");
    assert_eq!((ba.image.as_str(), ba.pull_policy.as_deref()), ("registry.example/tiny:2.0", Some("Never")));
    assert_eq!(ba.pull_secrets, ["a1", "a2"]);
    // Inline values come last.
    let inline = container(&[&a, &b], Some("image: {pullPolicy: IfNotPresent}")).expect("the oracle is there");
    assert_eq!((inline.pull_policy.as_deref(), inline.pull_secrets), (Some("IfNotPresent"), vec!["b1".to_string()]));
    // A null removes the chart's default, as in Helm.
    let removed = container(&[], Some("image: {pullPolicy: null}")).expect("the oracle is there");
    assert_eq!(removed.pull_policy, None);
    // No values at all: the chart's defaults.
    let defaults = container(&[], None).expect("the oracle is there");
    assert_eq!(
        (defaults.image.as_str(), defaults.pull_policy.as_deref()),
        ("registry.example/tiny:1.0", Some("IfNotPresent"))
    );
}

#[test]
fn render_errors_carry_the_engine_message() {
    let dir = tiny_chart();
    let chart = dir.path().join("tiny");
    let Some(bad_template) = try_render(&chart, &[], Some("image: [not, a, mapping]")) else { return };
    let err = bad_template.expect_err("a template that cannot read image.repository fails");
    assert!(err.starts_with("render.py: error: ") && err.contains("repository"), "{err}");

    let missing = dir.path().join("missing.yaml");
    let err = try_render(&chart, &[&missing], None).expect("the oracle is there").expect_err("a missing values file");
    assert!(err.contains("missing.yaml"), "{err}");

    let err = try_render(&dir.path().join("nothing"), &[], None).expect("the oracle is there").expect_err("no chart");
    assert!(err.contains("nothing"), "{err}");

    // A values schema is enforced, as by `helm template`.
    let Some(bitnami) = corpus_chart("bitnami-nginx") else { return };
    let err = try_render(&bitnami, &[], Some("replicaCount: many"))
        .expect("the oracle is there")
        .expect_err("the schema wants an integer");
    assert!(err.contains("/replicaCount") && err.contains("want integer"), "{err}");
}

#[test]
fn yaml_output_is_the_helm_template_stream() {
    let dir = tiny_chart();
    let Some(python) = oracle_python() else { return };
    let output = Command::new(python)
        .arg(project_root().join("tests/helm/render.py"))
        .arg(dir.path().join("tiny"))
        .args(["--name", "web", "--namespace", "shop"])
        .output()
        .expect("run render.py");
    assert!(output.status.success(), "{}", describe(&output));
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(text.starts_with("---\n# Source: tiny/templates/config.yaml\n"), "{text}");
    assert_eq!(text.matches("\n# Source: tiny/templates/deployment.yaml\n").count(), 1, "{text}");
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("the stream parses");
    let names: Vec<&str> = docs.iter().map(|d| d["metadata"]["name"].as_str().unwrap_or("?")).collect();
    assert_eq!(names, ["web-tiny-a", "web-tiny-b", "web-tiny"]);
}

// ---------------------------------------------------------------------------
// Values from their carriers: a Flux HelmRelease, an Argo CD Application

/// render.py's arguments: each item one argument, paths below `dir` when they
/// start with `@` (`@charts/tiny`).
fn args_in(dir: &Path, args: &[&str]) -> Vec<OsString> {
    args.iter().map(|a| a.strip_prefix('@').map_or_else(|| a.into(), |rel| dir.join(rel).into())).collect()
}

/// The Deployment's name and its one container, rendered with `args`.
fn deployment_and_container(dir: &Path, args: &[&str]) -> Option<Result<(String, PodContainer), String>> {
    let rendered = try_render_args(&args_in(dir, args))?;
    Some(rendered.map(|objects| {
        let mut containers = pod_containers(&objects);
        assert_eq!(containers.len(), 1, "one container: {:?}", lines(&containers));
        let container = containers.remove(0);
        (container.object.clone(), container)
    }))
}

const HELMRELEASES: &str = "\
apiVersion: v1
kind: ConfigMap
metadata: {name: web}
data: {note: not a HelmRelease}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: shop}
spec:
  chart: {spec: {chart: ./charts/tiny, sourceRef: {kind: GitRepository, name: flux-system}}}
  values:
    image: {pullPolicy: Never}
    imagePullSecrets: [{name: from-release}]
---
apiVersion: helm.toolkit.fluxcd.io/v2beta2
kind: HelmRelease
metadata: {name: bare}
spec:
  targetNamespace: cache
  chart: {spec: {chart: ./charts/tiny, sourceRef: {kind: GitRepository, name: flux-system}}}
";

#[test]
fn helmrelease_values_take_their_place_in_command_line_order() {
    let dir = tiny_chart();
    let root = dir.path();
    write(root, "stream.yaml", HELMRELEASES);
    write(root, "always.yaml", "image: {pullPolicy: Always}\n");
    write(
        root,
        "from.yaml",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: web}\n\
         spec:\n  valuesFrom: [{kind: ConfigMap, name: web-values}]\n",
    );
    let run = |args: &[&str]| deployment_and_container(root, args);
    let Some(web) = run(&["@tiny", "--helmrelease", "@stream.yaml", "--release", "web"]) else { return };
    let (object, container) = web.expect("renders");
    // The release is named after the HelmRelease.
    assert_eq!(object, "Deployment/web-tiny");
    assert_eq!(
        (container.pull_policy.as_deref(), container.pull_secrets),
        (Some("Never"), vec!["from-release".into()])
    );

    // The HelmRelease is one values document, where it stands among the others.
    let (_, after_file) =
        run(&["@tiny", "-f", "@always.yaml", "--helmrelease", "@stream.yaml", "--release", "web"]).unwrap().unwrap();
    assert_eq!(after_file.pull_policy.as_deref(), Some("Never"));
    let (_, before_file) =
        run(&["@tiny", "--helmrelease", "@stream.yaml", "--release", "web", "-f", "@always.yaml"]).unwrap().unwrap();
    assert_eq!(before_file.pull_policy.as_deref(), Some("Always"));

    // No `spec.values`: the chart's defaults; a target namespace prefixes the release name.
    let (object, bare) = run(&["@tiny", "--helmrelease", "@stream.yaml", "--release", "bare"]).unwrap().unwrap();
    assert_eq!((object.as_str(), bare.pull_policy.as_deref()), ("Deployment/cache-bare-tiny", Some("IfNotPresent")));
    // --name still names the release.
    let (object, _) =
        run(&["@tiny", "--helmrelease", "@stream.yaml", "--release", "bare", "--name", "x"]).unwrap().unwrap();
    assert_eq!(object, "Deployment/x-tiny");

    let err = run(&["@tiny", "--helmrelease", "@stream.yaml"]).unwrap().expect_err("two HelmReleases");
    assert!(err.contains("2 HelmRelease documents") && err.contains("choose one with --release"), "{err}");
    let err = run(&["@tiny", "--helmrelease", "@stream.yaml", "--release", "nope"]).unwrap().expect_err("no such");
    assert!(err.contains("0 HelmRelease named `nope`"), "{err}");
    let err = run(&["@tiny", "--helmrelease", "@from.yaml"]).unwrap().expect_err("values from the cluster");
    assert!(err.contains("valuesFrom"), "{err}");
}

#[test]
fn application_values_merge_as_argo_cd_merges_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    for (path, text) in TINY_CHART {
        write(&root.join("charts/tiny"), path, text);
    }
    write(root, "envs/never.yaml", "image:\n  pullPolicy: Never\n  tag: \"2.0\"\n");
    write(root, "envs/always.yaml", "image: {pullPolicy: Always}\nimagePullSecrets: [{name: from-file}]\n");
    let application = |helm: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: web, namespace: argocd}}\n\
             spec:\n  source:\n    repoURL: https://example.com/gitops.git\n    path: charts/tiny\n    \
             helm:\n{helm}  destination: {{namespace: shop}}\n"
        )
    };
    // valueFiles relative to source.path, and from the repository root.
    let files = "      valueFiles: [values.yaml, ../../envs/never.yaml, /envs/always.yaml]\n";
    write(root, "apps/files.yaml", application(files));
    write(
        root,
        "apps/values.yaml",
        application(&format!("{files}      values: |\n        image: {{pullPolicy: Never}}\n")),
    );
    write(
        root,
        "apps/object.yaml",
        application(&format!(
            "{files}      values: |\n        image: {{pullPolicy: Never}}\n      \
                 valuesObject:\n        imagePullSecrets: [{{name: from-object}}]\n"
        )),
    );
    write(root, "apps/missing.yaml", application("      valueFiles: [missing.yaml]\n"));
    write(
        root,
        "apps/missing-ignored.yaml",
        application("      valueFiles: [missing.yaml]\n      ignoreMissingValueFiles: true\n"),
    );
    write(root, "apps/parameters.yaml", application("      parameters: [{name: image.tag, value: \"3\"}]\n"));
    write(root, "apps/outside.yaml", application("      valueFiles: [../../../outside.yaml]\n"));
    write(
        root,
        "apps/sources.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web}\nspec:\n  sources:\n    \
         - repoURL: https://example.com/gitops.git\n      path: charts/tiny\n      \
         helm: {releaseName: shop, valueFiles: [$config/envs/never.yaml]}\n    \
         - repoURL: https://example.com/gitops.git\n      ref: config\n",
    );
    let run = |app: &str, more: &[&str]| {
        let mut args = vec!["--application", app, "--repo", "@"];
        args.extend(more);
        deployment_and_container(root, &args)
    };

    // The chart is ROOT/source.path; files in order, the later winning; the
    // release is named after the Application.
    let Some(files) = run("@apps/files.yaml", &[]) else { return };
    let (object, c) = files.expect("renders");
    assert_eq!(object, "Deployment/web-tiny");
    assert_eq!(
        (c.image.as_str(), c.pull_policy.as_deref(), c.pull_secrets),
        ("registry.example/tiny:2.0", Some("Always"), vec!["from-file".into()])
    );
    // `values` over valueFiles.
    let (_, c) = run("@apps/values.yaml", &[]).unwrap().unwrap();
    assert_eq!((c.pull_policy.as_deref(), c.pull_secrets), (Some("Never"), vec!["from-file".into()]));
    // `valuesObject` over valueFiles, and `values` ignored beside it.
    let (_, c) = run("@apps/object.yaml", &[]).unwrap().unwrap();
    assert_eq!((c.pull_policy.as_deref(), c.pull_secrets), (Some("Always"), vec!["from-object".into()]));
    // A `$ref/` value file is read from the repository; the chart source found among the sources.
    let (object, c) = run("@apps/sources.yaml", &[]).unwrap().unwrap();
    assert_eq!((object.as_str(), c.pull_policy.as_deref()), ("Deployment/shop-tiny", Some("Never")));
    let (object, _) = run("@apps/sources.yaml", &["--source", "0"]).unwrap().unwrap();
    assert_eq!(object, "Deployment/shop-tiny");
    let err = run("@apps/sources.yaml", &["--source", "1"]).unwrap().expect_err("a ref source has no chart");
    assert!(err.contains("no `path`"), "{err}");
    // A missing value file fails, unless Argo CD is told to ignore it.
    let err = run("@apps/missing.yaml", &[]).unwrap().expect_err("missing");
    assert!(err.contains("missing.yaml"), "{err}");
    let (_, c) = run("@apps/missing-ignored.yaml", &[]).unwrap().unwrap();
    assert_eq!(c.pull_policy.as_deref(), Some("IfNotPresent"));
    // What the oracle cannot follow is refused, never half read.
    let err = run("@apps/parameters.yaml", &[]).unwrap().expect_err("parameters");
    assert!(err.contains("helm.parameters"), "{err}");
    let err = run("@apps/outside.yaml", &[]).unwrap().expect_err("outside the repository");
    assert!(err.contains("leaves the repository"), "{err}");
    // An explicit chart directory wins over source.path.
    write(root, "other/Chart.yaml", "apiVersion: v2\nname: other\nversion: 0.1.0\n");
    let rendered = try_render_args(&args_in(root, &["@other", "--application", "@apps/files.yaml", "--repo", "@"]))
        .expect("the oracle is there")
        .expect("renders");
    assert!(rendered.is_empty(), "the chart without templates: {rendered:?}");
}
