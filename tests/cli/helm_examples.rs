//! The Helm examples (`examples/helm/flux`, `examples/helm/argocd`) and the
//! charts of `../shared/corpus/helm-charts`, rewritten by `pullsmith apply`
//! as a user runs it and checked with Helm's own engine (the oracle of
//! `helm_oracle.rs`): SPEC "Helm", invariant.
//!
//! For each repository, every release of a chart in the repository is
//! rendered before and after `pullsmith apply .`, its values read from the
//! files that carry them by `tests/helm/render.py`, independently of
//! pullsmith: a Flux HelmRelease from `kubectl kustomize apps/<env>`
//! (`--helmrelease`), an Argo CD Application with its value files
//! (`--application`), a chart's `values-<env>.yaml` (`-f`). After the rewrite
//! every container of every rendered pod spec has its environment's
//! `imagePullPolicy`, every pod its environment's pull secrets (those it had
//! kept), and nothing else of the render changed. Then `pullsmith check .` is
//! compliant and a second `apply` changes no byte. The out-of-repository
//! chart (Flux's Bitnami redis) cannot be rendered: its HelmRelease's values
//! are checked instead. The `*_oracle_*` tests run the same checks on values
//! edited by hand, right and wrong, so that a failing `apply` test speaks
//! about pullsmith, not about the harness.
//!
//! Without the oracle (tests/helm/setup.sh), kubectl (for the Flux overlays)
//! or `../shared` (for the corpus), a test prints a note and passes, as in
//! `helm_oracle.rs`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io::Write as _;
use std::path::Path;
use std::process::Output;

use serde::Deserialize as _;
use serde_json::Value;

use crate::helm_oracle::{
    corpus_chart, lines, object_id, oracle_python, pod_containers, try_render_args, values_file, CONTAINER_LISTS,
};
use crate::kustomize::{kubectl_available, kustomize_build};
use crate::util::{copy_tree, describe, git_init, project_root, pullsmith, read_tree, stderr, write};

/// An environment of the examples' rules, and what it calls for.
#[derive(Debug, Clone, Copy)]
struct Env {
    name: &'static str,
    policy: &'static str,
    secrets: &'static [&'static str],
}

const DEV: Env = Env { name: "dev", policy: "Always", secrets: &[] };
const PROD: Env = Env { name: "prod", policy: "IfNotPresent", secrets: &["regcred-prod"] };
const STAGING: Env = Env { name: "staging", policy: "Always", secrets: &["regcred-staging"] };

/// The rules of the corpus sweep: the environment is a chart's values file.
const CORPUS_RULES: &str = r#"version: 1
environments:
  dev:
    paths: ["**/values-dev.yaml"]
    imagePullPolicy: Always
  prod:
    paths: ["**/values-prod.yaml"]
    imagePullPolicy: IfNotPresent
    imagePullSecrets: [regcred-prod]
"#;

/// Where the oracle reads a release's values (repository-relative paths).
#[derive(Debug)]
enum Carrier {
    /// The HelmRelease `name` in the build of the kustomize overlay `overlay`.
    Flux { overlay: &'static str, name: &'static str },
    /// An Argo CD Application; the chart is its `source.path`.
    Argo { application: &'static str },
    /// A values file given to `helm template -f`.
    ValuesFile(String),
    /// The `valuesInline` of a kustomization's `helmCharts` entry.
    KustomizeInline { kustomization: &'static str, index: usize },
    /// The chart's own defaults, nothing over them.
    Defaults,
}

/// One release of a chart in the repository, in one environment.
#[derive(Debug)]
struct Release {
    /// The chart directory, repository-relative.
    chart: String,
    env: Env,
    carrier: Carrier,
}

impl Release {
    fn new(chart: &str, env: Env, carrier: Carrier) -> Self {
        Release { chart: chart.to_string(), env, carrier }
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let carrier = match &self.carrier {
            Carrier::Flux { overlay, name } => format!("HelmRelease {name} of {overlay}"),
            Carrier::Argo { application } => format!("Application {application}"),
            Carrier::ValuesFile(file) => format!("-f {file}"),
            Carrier::KustomizeInline { kustomization, index } => format!("{kustomization} helmCharts[{index}]"),
            Carrier::Defaults => "its defaults".to_string(),
        };
        write!(f, "{} in {} ({carrier})", self.chart, self.env.name)
    }
}

fn flux_releases() -> Vec<Release> {
    vec![
        Release::new("charts/podinfo", DEV, Carrier::Flux { overlay: "apps/dev", name: "podinfo" }),
        // No values patch of its own: a generated one.
        Release::new("charts/podinfo", STAGING, Carrier::Flux { overlay: "apps/staging", name: "podinfo" }),
        Release::new("charts/podinfo", PROD, Carrier::Flux { overlay: "apps/prod", name: "podinfo" }),
    ]
}

fn argo_releases() -> Vec<Release> {
    vec![
        Release::new("charts/web", DEV, Carrier::Argo { application: "apps/dev/web.yaml" }),
        Release::new("charts/web", PROD, Carrier::Argo { application: "apps/prod/web.yaml" }),
        Release::new("charts/api", DEV, Carrier::Argo { application: "apps/dev/api.yaml" }),
        Release::new("charts/api", PROD, Carrier::Argo { application: "apps/prod/api.yaml" }),
    ]
}

fn corpus_releases(chart: &str) -> Vec<Release> {
    [DEV, PROD]
        .into_iter()
        .map(|env| {
            let dir = format!("charts/{chart}");
            let carrier = Carrier::ValuesFile(format!("{dir}/values-{}.yaml", env.name));
            Release::new(&dir, env, carrier)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The harness

/// The manifests of `release` in the repository at `root`, as Flux, Argo CD
/// or `helm template` would render them. `None` (with a note) when the
/// oracle or kubectl is missing; a panic when a render fails.
fn render_release(root: &Path, release: &Release) -> Option<Vec<Value>> {
    // Outside the repository, so that pullsmith never sees it.
    let mut stream = tempfile::NamedTempFile::new().expect("temp file");
    let args: Vec<OsString> = match &release.carrier {
        Carrier::Flux { overlay, name } => {
            if !kubectl_available() {
                return None;
            }
            let built = kustomize_build(&root.join(overlay))
                .unwrap_or_else(|e| panic!("{release}: kubectl kustomize {overlay} fails:\n{e}"));
            stream.write_all(built.as_bytes()).expect("write the overlay's build");
            let chart = root.join(&release.chart);
            vec![chart.into(), "--helmrelease".into(), stream.path().into(), "--release".into(), (*name).into()]
        }
        Carrier::Argo { application } => {
            vec!["--application".into(), root.join(application).into(), "--repo".into(), root.into()]
        }
        Carrier::ValuesFile(file) => vec![root.join(&release.chart).into(), "-f".into(), root.join(file).into()],
        Carrier::KustomizeInline { kustomization, index } => {
            let text = std::fs::read_to_string(root.join(kustomization)).expect("read the kustomization");
            let parsed: serde_yaml::Value = serde_yaml::from_str(&text).expect("the kustomization parses");
            let inline = &parsed["helmCharts"][*index]["valuesInline"];
            stream
                .write_all(serde_yaml::to_string(inline).expect("values serialize").as_bytes())
                .expect("write values");
            vec![root.join(&release.chart).into(), "-f".into(), stream.path().into()]
        }
        Carrier::Defaults => vec![root.join(&release.chart).into()],
    };
    let rendered = try_render_args(&args)?;
    Some(rendered.unwrap_or_else(|e| panic!("{release}: the Helm render fails:\n{e}")))
}

/// Every release rendered, in order; `None` when one cannot be (no oracle).
fn render_all(root: &Path, releases: &[Release]) -> Option<Vec<Vec<Value>>> {
    releases.iter().map(|release| render_release(root, release)).collect()
}

/// `objects` without what pullsmith may change: each container's
/// `imagePullPolicy`, each pod spec's `imagePullSecrets`, a ServiceAccount's
/// `imagePullSecrets` (charts such as kube-state-metrics give it
/// `global.imagePullSecrets` too), and Secrets whole (bitnami/nginx generates
/// a new certificate on every render; see `helm_oracle.rs`).
fn without_pull_settings(objects: &[Value]) -> Vec<Value> {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if map.get("containers").is_some_and(Value::is_array) {
                    map.remove("imagePullSecrets");
                    for list in CONTAINER_LISTS {
                        for container in map.get_mut(list).and_then(Value::as_array_mut).into_iter().flatten() {
                            if let Some(container) = container.as_object_mut() {
                                container.remove("imagePullPolicy");
                            }
                        }
                    }
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    objects
        .iter()
        .filter(|object| object["kind"] != "Secret")
        .map(|object| {
            let mut object = object.clone();
            if object["kind"] == "ServiceAccount" {
                if let Some(map) = object.as_object_mut() {
                    map.remove("imagePullSecrets");
                }
            }
            strip(&mut object);
            object
        })
        .collect()
}

/// What is wrong with `after`, the render of `release` after the rewrite,
/// given `before`, its render before: one line each.
fn release_problems(release: &Release, before: &[Value], after: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    let containers = pod_containers(after);
    if containers.is_empty() {
        problems.push(format!("{release}: no container rendered"));
    }
    let env = release.env;
    for container in containers.iter().filter(|c| c.pull_policy.as_deref() != Some(env.policy)) {
        problems.push(format!("{release}: {container}: not {}", env.policy));
    }

    // Per pod spec: the secrets it had are kept, the environment's are there, none twice.
    let pods = |objects: &[Value]| -> BTreeMap<(String, String), Vec<String>> {
        pod_containers(objects).into_iter().map(|c| ((c.object, c.pod_spec), c.pull_secrets)).collect()
    };
    let had = pods(before);
    for ((object, pod_spec), secrets) in pods(after) {
        let pod = format!("{release}: {object} {pod_spec}: imagePullSecrets {secrets:?}");
        let kept = had.get(&(object.clone(), pod_spec.clone())).cloned().unwrap_or_default();
        if env.secrets.is_empty() && secrets != kept {
            problems.push(format!("{pod}: changed from {kept:?} in an environment without secrets"));
        }
        let wanted: Vec<&str> = env.secrets.iter().copied().chain(kept.iter().map(String::as_str)).collect();
        for wanted in wanted {
            if !secrets.iter().any(|s| s == wanted) {
                problems.push(format!("{pod}: `{wanted}` missing (as `{{name: {wanted}}}`)"));
            }
        }
        let mut sorted = secrets.clone();
        sorted.sort();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            problems.push(format!("{pod}: a name twice"));
        }
    }

    // Nothing else changed.
    let (before, after) = (without_pull_settings(before), without_pull_settings(after));
    let ids = |objects: &[Value]| objects.iter().map(object_id).collect::<Vec<_>>();
    if ids(&before) != ids(&after) {
        problems.push(format!("{release}: other objects rendered: {:?} before, {:?} after", ids(&before), ids(&after)));
    } else {
        for (a, b) in before.iter().zip(&after).filter(|(a, b)| a != b) {
            problems.push(format!(
                "{release}: {} differs in more than pull settings:\n--- before\n{}\n--- after\n{}",
                object_id(a),
                serde_json::to_string_pretty(a).unwrap_or_default(),
                serde_json::to_string_pretty(b).unwrap_or_default()
            ));
        }
    }
    problems
}

/// `pullsmith ARGS` run in `repo`, as a user runs it there.
fn run_in(repo: &Path, args: &[&str]) -> Output {
    pullsmith().current_dir(repo).args(args).output().expect("pullsmith runs")
}

/// The repository's files and bytes, `.git` left out.
fn files(repo: &Path) -> Vec<(String, Vec<u8>)> {
    read_tree(repo).into_iter().filter(|(path, _)| !path.starts_with(".git/")).collect()
}

/// The whole check of a repository: render every release, `pullsmith apply
/// .`, render again and compare (see [`release_problems`]), then `check .`
/// is compliant and a second `apply .` changes nothing. `None` when the
/// oracle or kubectl is missing.
fn apply_and_check(repo: &Path, releases: &[Release]) -> Option<()> {
    let before = render_all(repo, releases)?;
    let apply = run_in(repo, &["apply", "."]);
    assert_eq!(apply.status.code(), Some(0), "pullsmith apply .\n{}", describe(&apply));
    assert!(stderr(&apply).contains("rules: .pullsmith.yaml"), "the repository's rules are used:\n{}", stderr(&apply));
    let after = render_all(repo, releases).expect("the oracle is there");
    let problems: Vec<String> = releases
        .iter()
        .zip(before.iter().zip(&after))
        .flat_map(|(release, (before, after))| release_problems(release, before, after))
        .collect();
    assert!(
        problems.is_empty(),
        "after `pullsmith apply .`:\n{}\n--- pullsmith apply\n{}",
        problems.join("\n"),
        describe(&apply)
    );

    let check = run_in(repo, &["check", "."]);
    assert_eq!(check.status.code(), Some(0), "pullsmith check . after apply\n{}", describe(&check));
    assert!(stderr(&check).contains("pullsmith: compliant"), "check after apply:\n{}", describe(&check));

    let written = files(repo);
    let again = run_in(repo, &["apply", "."]);
    assert_eq!(again.status.code(), Some(0), "pullsmith apply . again\n{}", describe(&again));
    assert!(files(repo) == written, "a second `pullsmith apply .` changed files:\n{}", describe(&again));
    Some(())
}

/// A copy of `examples/helm/<name>` as a git repository of its own.
fn example_repo(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&project_root().join("examples/helm").join(name), dir.path());
    git_init(dir.path());
    dir
}

/// Each release renders, from the example as it is in the checkout, to
/// `expected`: one list of container lines (see `PodContainer`'s Display) per
/// release. This proves the example's charts and values are valid before
/// pullsmith touches them.
fn example_renders(name: &str, releases: &[Release], expected: &[&[&str]]) {
    let root = project_root().join("examples/helm").join(name);
    let Some(rendered) = render_all(&root, releases) else { return };
    let found: Vec<(String, Vec<String>)> = releases
        .iter()
        .zip(&rendered)
        .map(|(release, objects)| (release.to_string(), lines(&pod_containers(objects))))
        .collect();
    let expected: Vec<(String, Vec<String>)> = releases
        .iter()
        .zip(expected)
        .map(|(release, containers)| (release.to_string(), containers.iter().map(ToString::to_string).collect()))
        .collect();
    assert_eq!(found, expected, "{name}: the containers of each release");
}

// ---------------------------------------------------------------------------
// The golden fixtures with a chart in the repository: `in/` rendered against `out/`

#[test]
fn fixture_releases_render_with_their_environment() {
    let fixtures = project_root().join("tests/fixtures");
    let full = [
        (
            "helm-argo-value-files",
            vec![
                Release::new("charts/web", DEV, Carrier::Argo { application: "dev/web.yaml" }),
                Release::new("charts/web", PROD, Carrier::Argo { application: "prod/web.yaml" }),
            ],
        ),
        (
            "helm-kustomize-helm-charts",
            vec![Release::new(
                "prod/charts/web",
                PROD,
                Carrier::KustomizeInline { kustomization: "prod/kustomization.yaml", index: 0 },
            )],
        ),
    ];
    for (fixture, releases) in &full {
        let (in_dir, out_dir) = (fixtures.join(fixture).join("in"), fixtures.join(fixture).join("out"));
        let Some(before) = render_all(&in_dir, releases) else { return };
        let after = render_all(&out_dir, releases).expect("the oracle is there");
        let problems: Vec<String> = releases
            .iter()
            .zip(before.iter().zip(&after))
            .flat_map(|(release, (before, after))| release_problems(release, before, after))
            .collect();
        assert!(problems.is_empty(), "{fixture}:\n{}", problems.join("\n"));
    }
    // A chart whose templates leave a Pod's policy and every pod's secrets to
    // no value (reported as not covered): what its values set changes, and only that.
    let dir = fixtures.join("helm-chart-templates-skipped");
    let release = Release::new("prod/charts/web", PROD, Carrier::Defaults);
    let Some(before) = render_release(&dir.join("in"), &release) else { return };
    let after = render_release(&dir.join("out"), &release).expect("the oracle is there");
    assert_eq!(without_pull_settings(&before), without_pull_settings(&after), "only pull settings differ");
    let policies: Vec<String> = pod_containers(&after).iter().map(ToString::to_string).collect();
    assert_eq!(
        policies,
        vec![
            "Deployment/release-name-web containers/web: nginx:1.25 IfNotPresent []".to_string(),
            "Pod/test-connection containers/wget: busybox:1.36 - []".to_string(),
        ]
    );
}

// ---------------------------------------------------------------------------
// examples/helm/flux

#[test]
fn flux_example_releases_render() {
    example_renders(
        "flux",
        &flux_releases(),
        &[
            &["Deployment/podinfo containers/podinfo: ghcr.io/stefanprodan/podinfo:6.7.1 IfNotPresent []"],
            &["Deployment/podinfo containers/podinfo: ghcr.io/stefanprodan/podinfo:6.7.1 IfNotPresent []"],
            &["Deployment/podinfo containers/podinfo: ghcr.io/stefanprodan/podinfo:6.7.1 IfNotPresent []"],
        ],
    );
}

#[test]
fn flux_example_apply_gives_every_release_its_environment() {
    let repo = example_repo("flux");
    if apply_and_check(repo.path(), &flux_releases()).is_none() {
        return;
    }
    // Redis's chart is not in the repository: its HelmRelease's values are
    // what can be checked, in the file and in the overlay's build that Flux
    // applies. Bitnami charts read pull secrets from `global.imagePullSecrets`
    // (every image) as plain names or `{name:}`; `imagePullSecrets`, when
    // written, must hold it too.
    let file = std::fs::read_to_string(repo.path().join("apps/prod/redis.yaml")).expect("read redis.yaml");
    let build = kustomize_build(&repo.path().join("apps/prod")).expect("apps/prod builds");
    for (label, text) in [("apps/prod/redis.yaml", file), ("kubectl kustomize apps/prod", build)] {
        let values = helmrelease_values(&text, "redis").unwrap_or_else(|| panic!("{label}: no HelmRelease redis"));
        let problems = redis_problems(&values);
        assert!(problems.is_empty(), "{label}: spec.values {values:?}:\n{}", problems.join("\n"));
    }
}

/// `spec.values` of the HelmRelease `name` in the YAML stream `text`.
fn helmrelease_values(text: &str, name: &str) -> Option<serde_yaml::Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|document| serde_yaml::Value::deserialize(document).expect("the stream parses"))
        .find(|doc| doc["kind"].as_str() == Some("HelmRelease") && doc["metadata"]["name"].as_str() == Some(name))
        .map(|doc| doc["spec"]["values"].clone())
}

/// What prod's redis values lack: `image.pullPolicy: IfNotPresent` and
/// `regcred-prod` in the pull secret lists.
fn redis_problems(values: &serde_yaml::Value) -> Vec<String> {
    let mut problems = Vec::new();
    if values["image"]["pullPolicy"].as_str() != Some("IfNotPresent") {
        problems.push(format!("image.pullPolicy is {:?}, not IfNotPresent", values["image"]["pullPolicy"]));
    }
    let names = |list: &serde_yaml::Value| -> Option<Vec<String>> {
        let entries = list.as_sequence()?;
        Some(entries.iter().map(|e| e.as_str().or(e["name"].as_str()).unwrap_or("<not a name>").to_string()).collect())
    };
    let global = names(&values["global"]["imagePullSecrets"]);
    if !global.as_ref().is_some_and(|names| names.iter().any(|n| n == "regcred-prod")) {
        problems.push(format!("global.imagePullSecrets is {global:?}, without regcred-prod"));
    }
    if !values["imagePullSecrets"].is_null() {
        let top = names(&values["imagePullSecrets"]);
        if !top.as_ref().is_some_and(|names| names.iter().any(|n| n == "regcred-prod")) {
            problems.push(format!("imagePullSecrets is {top:?}, without regcred-prod"));
        }
    }
    problems
}

// ---------------------------------------------------------------------------
// examples/helm/argocd

#[test]
fn argocd_example_releases_render() {
    example_renders(
        "argocd",
        &argo_releases(),
        &[
            &["Deployment/web-dev containers/web: ghcr.io/acme/shop-web:main IfNotPresent []"],
            &["Deployment/web-prod containers/web: ghcr.io/acme/shop-web:1.8.2 IfNotPresent []"],
            &[
                "Deployment/api initContainers/migrate: ghcr.io/acme/shop-api:main IfNotPresent []",
                "Deployment/api containers/api: ghcr.io/acme/shop-api:main IfNotPresent []",
                "Deployment/api containers/metrics: docker.io/prom/statsd-exporter:v0.28.0 IfNotPresent []",
            ],
            &[
                "Deployment/api initContainers/migrate: ghcr.io/acme/shop-api:2.3.1 Always []",
                "Deployment/api containers/api: ghcr.io/acme/shop-api:2.3.1 Always []",
                "Deployment/api containers/metrics: docker.io/prom/statsd-exporter:v0.28.0 IfNotPresent []",
            ],
        ],
    );
}

#[test]
fn argocd_example_apply_gives_every_release_its_environment() {
    let repo = example_repo("argocd");
    let _ = apply_and_check(repo.path(), &argo_releases());
}

// ---------------------------------------------------------------------------
// The corpus charts, each in a repository of its own with a values file per
// environment

/// `charts/<chart>/` holding the corpus chart, with `values-dev.yaml` and
/// `values-prod.yaml` that turn on its optional containers
/// (`tests/helm/values/<chart>.components.yaml`), and the rules that make
/// them dev and prod; then [`apply_and_check`].
fn corpus_chart_apply(chart: &str) {
    let Some(source) = corpus_chart(chart) else { return };
    if oracle_python().is_none() {
        return;
    }
    let repo = tempfile::tempdir().expect("temp dir");
    let dir = repo.path().join("charts").join(chart);
    copy_tree(&source, &dir);
    let components = std::fs::read_to_string(values_file(&format!("{chart}.components.yaml"))).expect("components");
    for env in [DEV, PROD] {
        let text = format!("# {chart} in {}: every optional container on.\n{components}", env.name);
        write(&dir, &format!("values-{}.yaml", env.name), text);
    }
    write(repo.path(), ".pullsmith.yaml", CORPUS_RULES);
    git_init(repo.path());
    apply_and_check(repo.path(), &corpus_releases(chart)).expect("the oracle is there");
}

#[test]
fn corpus_prometheus_node_exporter_apply() {
    corpus_chart_apply("prometheus-node-exporter");
}

#[test]
fn corpus_kube_state_metrics_apply() {
    corpus_chart_apply("kube-state-metrics");
}

#[test]
fn corpus_prometheus_pushgateway_apply() {
    corpus_chart_apply("prometheus-pushgateway");
}

#[test]
fn corpus_ingress_nginx_apply() {
    corpus_chart_apply("ingress-nginx");
}

#[test]
fn corpus_bitnami_nginx_apply() {
    corpus_chart_apply("bitnami-nginx");
}

// ---------------------------------------------------------------------------
// The oracle itself: values-only rewrites written by hand, right and wrong,
// so that a failing `apply` test above is about pullsmith, not the harness

/// In a copy of `examples/helm/<name>`, each edit `(file, from, to)`
/// replaces the one `from` in `file` by `to`; then the problems of every
/// release, as [`apply_and_check`] finds them. `None` without the oracle or
/// kubectl.
fn problems_after_hand_edits(name: &str, releases: &[Release], edits: &[(&str, &str, &str)]) -> Option<Vec<String>> {
    let repo = example_repo(name);
    let before = render_all(repo.path(), releases)?;
    for (file, from, to) in edits {
        let text = std::fs::read_to_string(repo.path().join(file)).expect("read the file to edit");
        assert_eq!(text.matches(from).count(), 1, "{file}: `{from}` once");
        write(repo.path(), file, text.replace(from, to));
    }
    let after = render_all(repo.path(), releases).expect("the oracle is there");
    Some(
        releases
            .iter()
            .zip(before.iter().zip(&after))
            .flat_map(|(release, (before, after))| release_problems(release, before, after))
            .collect(),
    )
}

/// A rewrite of the Argo CD example's values that gives every release its
/// environment: what `pullsmith apply` has to achieve, one way or another.
const ARGO_RIGHT: &[(&str, &str, &str)] = &[
    ("envs/dev/web-values.yaml", "  tag: main\n", "  tag: main\n  pullPolicy: Always\n"),
    (
        "envs/prod/web-values.yaml",
        "  tag: \"1.8.2\"\n",
        "  tag: \"1.8.2\"\n  pullPolicy: IfNotPresent\nimagePullSecrets:\n  - name: regcred-prod\n",
    ),
    ("apps/dev/api.yaml", "          tag: main\n", "          tag: main\n          pullPolicy: Always\n"),
    (
        "apps/dev/api.yaml",
        "          enabled: true\n",
        "          enabled: true\n          image:\n            pullPolicy: Always\n",
    ),
    (
        "apps/prod/api.yaml",
        "          pullPolicy: Always\n",
        "          pullPolicy: IfNotPresent\n        global:\n          imagePullSecrets: [regcred-prod]\n",
    ),
];

#[test]
fn argocd_oracle_accepts_a_values_only_rewrite() {
    let Some(problems) = problems_after_hand_edits("argocd", &argo_releases(), ARGO_RIGHT) else { return };
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn argocd_oracle_finds_what_a_wrong_rewrite_gets_wrong() {
    // The api chart wants plain names: `{name: ...}` renders as a map, not a secret.
    let mut edits = ARGO_RIGHT.to_vec();
    edits[4] = (
        "apps/prod/api.yaml",
        "          pullPolicy: Always\n",
        "          pullPolicy: IfNotPresent\n        global:\n          \
         imagePullSecrets: [{name: regcred-prod}]\n        replicaCount: 5\n",
    );
    // The sidecar's policy forgotten in dev.
    edits.remove(3);
    // dev gets a secret it does not call for; prod's web a policy only.
    edits[0] = (
        "envs/dev/web-values.yaml",
        "  tag: main\n",
        "  tag: main\n  pullPolicy: Always\nimagePullSecrets: [{name: x}]\n",
    );
    edits[1] = ("envs/prod/web-values.yaml", "  tag: \"1.8.2\"\n", "  tag: \"1.8.2\"\n  pullPolicy: IfNotPresent\n");
    let Some(problems) = problems_after_hand_edits("argocd", &argo_releases(), &edits) else { return };
    let text = problems.join("\n");
    for expected in [
        "charts/web in dev (Application apps/dev/web.yaml): Deployment/web-dev spec.template.spec: imagePullSecrets [\"x\"]: changed from []",
        "charts/web in prod (Application apps/prod/web.yaml): Deployment/web-prod spec.template.spec: imagePullSecrets []: `regcred-prod` missing",
        "charts/api in dev (Application apps/dev/api.yaml): Deployment/api containers/metrics: docker.io/prom/statsd-exporter:v0.28.0 IfNotPresent []: not Always",
        "charts/api in prod (Application apps/prod/api.yaml): Deployment/api spec.template.spec: imagePullSecrets [\"map[name:regcred-prod]\"]: `regcred-prod` missing",
        "charts/api in prod (Application apps/prod/api.yaml): Deployment/api differs in more than pull settings",
    ] {
        assert!(text.contains(expected), "not found: {expected}\nin:\n{text}");
    }
    assert_eq!(problems.len(), 5, "{text}");
}

#[test]
fn flux_oracle_accepts_a_values_only_rewrite() {
    let edits: &[(&str, &str, &str)] = &[
        ("apps/dev/podinfo-values.yaml", "      tag: 6.7.1\n", "      tag: 6.7.1\n      pullPolicy: Always\n"),
        (
            "apps/staging/kustomization.yaml",
            "  - ../base/podinfo\n",
            "  - ../base/podinfo\npatches:\n  - target: {kind: HelmRelease, name: podinfo}\n    patch: |\n      apiVersion: helm.toolkit.fluxcd.io/v2\n      kind: HelmRelease\n      metadata:\n        name: podinfo\n      spec:\n        values:\n          image:\n            pullPolicy: Always\n          imagePullSecrets:\n            - name: regcred-staging\n",
        ),
        (
            "apps/prod/podinfo-values.yaml",
            "    replicaCount: 3\n",
            "    replicaCount: 3\n    image:\n      pullPolicy: IfNotPresent\n    imagePullSecrets:\n      - name: regcred-prod\n",
        ),
    ];
    let Some(problems) = problems_after_hand_edits("flux", &flux_releases(), edits) else { return };
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // And the checks of redis's values.
    let right: serde_yaml::Value =
        serde_yaml::from_str("image: {pullPolicy: IfNotPresent}\nglobal: {imagePullSecrets: [regcred-prod]}").unwrap();
    assert_eq!(redis_problems(&right), Vec::<String>::new());
    let wrong: serde_yaml::Value =
        serde_yaml::from_str("global: {imagePullSecrets: [{name: other}]}\nimagePullSecrets: []").unwrap();
    assert_eq!(
        redis_problems(&wrong),
        [
            "image.pullPolicy is Null, not IfNotPresent",
            "global.imagePullSecrets is Some([\"other\"]), without regcred-prod",
            "imagePullSecrets is Some([]), without regcred-prod",
        ]
    );
}
