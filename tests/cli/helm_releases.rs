//! Helm releases through the binary, where they are hostile or unusual:
//! values pullsmith cannot edit exactly, values files outside PATH, a
//! subchart's defaults, a shared values file, a chart directory that is
//! not there. Each ends in a located refusal or a "not covered" with its
//! reason, never in a silent guess.

use std::path::Path;
use std::process::Output;

use crate::util::{describe, git_init, pullsmith, read_tree, repo, stderr, stdout};

const RULES: &str = "version: 1\nenvironments:\n  dev:\n    paths: [\"dev/**\", \"envs/dev/**\"]\n    imagePullPolicy: Always\n  prod:\n    paths: [\"prod/**\", \"envs/prod/**\"]\n    imagePullPolicy: IfNotPresent\n    imagePullSecrets: [regcred-prod]\n";

/// A chart whose one container reads `image.pullPolicy` and whose pod reads
/// `imagePullSecrets`, with a subchart `cache` whose container reads
/// `cache.image.pullPolicy`, defaulted in the subchart to `Always`.
const CHART: &[(&str, &str)] = &[
    ("charts/web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 1.0.0\nappVersion: \"1.25\"\n"),
    ("charts/web/values.yaml", "image:\n  repository: nginx\n  pullPolicy: IfNotPresent\nimagePullSecrets: []\n"),
    (
        "charts/web/templates/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  template:\n    spec:\n      {{- with .Values.imagePullSecrets }}\n      imagePullSecrets:\n        {{- toYaml . | nindent 8 }}\n      {{- end }}\n      containers:\n        - name: web\n          image: \"{{ .Values.image.repository }}:{{ .Chart.AppVersion }}\"\n          imagePullPolicy: {{ .Values.image.pullPolicy }}\n",
    ),
    ("charts/web/charts/cache/Chart.yaml", "apiVersion: v2\nname: cache\nversion: 1.0.0\n"),
    ("charts/web/charts/cache/values.yaml", "image:\n  repository: redis\n  tag: \"7\"\n  pullPolicy: Always\n"),
    (
        "charts/web/charts/cache/templates/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-cache\nspec:\n  template:\n    spec:\n      containers:\n        - name: cache\n          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n          imagePullPolicy: {{ .Values.image.pullPolicy }}\n",
    ),
];

fn application(name: &str, value_files: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\nspec:\n  source:\n    repoURL: https://git.example.com/fleet.git\n    path: charts/web\n    helm:\n      valueFiles: {value_files}\n  destination:\n    namespace: web\n"
    )
}

fn fleet(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let mut files: Vec<(&str, &str)> = vec![(".pullsmith.yaml", RULES)];
    files.extend_from_slice(CHART);
    files.extend_from_slice(extra);
    let dir = repo(&files);
    git_init(dir.path());
    dir
}

fn run_in(cwd: &Path, args: &[&str]) -> Output {
    pullsmith().current_dir(cwd).args(args).output().expect("pullsmith runs")
}

fn read(dir: &Path, path: &str) -> String {
    std::fs::read_to_string(dir.join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

#[test]
fn a_subcharts_default_counts_and_only_wrong_keys_are_written() {
    let app = application("web", "[values.yaml, ../../envs/dev/web.yaml]");
    let dir = fleet(&[("dev/web.yaml", &app), ("envs/dev/web.yaml", "replicaCount: 1\n")]);
    let output = run_in(dir.path(), &["apply", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    // The root chart's policy is wrong for dev; the subchart's default is already Always.
    assert_eq!(read(dir.path(), "envs/dev/web.yaml"), "replicaCount: 1\nimage:\n  pullPolicy: Always\n");
    assert_eq!(read(dir.path(), "charts/web/values.yaml"), CHART[1].1, "the chart's defaults are never edited");
    let explained = stdout(&run_in(dir.path(), &["explain", "."]));
    assert!(
        explained.contains("imagePullPolicy `cache.image.pullPolicy` (read by charts/web/charts/cache/templates/deployment.yaml:11): Always -> Always: already right"),
        "{explained}"
    );
}

#[test]
fn a_values_file_two_environments_read_is_never_edited() {
    let dev = application("web-dev", "[../../envs/shared.yaml]");
    let prod = application("web-prod", "[../../envs/shared.yaml]");
    let dir = fleet(&[
        ("dev/web.yaml", &dev),
        ("prod/web.yaml", &prod),
        ("envs/shared.yaml", "image:\n  pullPolicy: Never\n"),
    ]);
    let output = run_in(dir.path(), &["apply", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(read(dir.path(), "envs/shared.yaml"), "image:\n  pullPolicy: Never\n");
    // Each Application gets the keys in a valuesObject of its own, which wins over the file.
    let dev_text = read(dir.path(), "dev/web.yaml");
    assert!(dev_text.ends_with("      valueFiles: [../../envs/shared.yaml]\n      valuesObject:\n        image:\n          pullPolicy: Always\n  destination:\n    namespace: web\n"), "{dev_text}");
    let prod_text = read(dir.path(), "prod/web.yaml");
    // In prod the subchart's default (Always) is wrong too.
    assert!(prod_text.contains("      valuesObject:\n        cache:\n          image:\n            pullPolicy: IfNotPresent\n        image:\n          pullPolicy: IfNotPresent\n        imagePullSecrets:\n          - name: regcred-prod\n  destination:"), "{prod_text}");
    let again = run_in(dir.path(), &["check", "."]);
    assert_eq!(again.status.code(), Some(0), "{}", describe(&again));
}

#[test]
fn values_reached_through_an_alias_are_not_covered() {
    // `image` is an alias: its value is written elsewhere, and an edit would change that too.
    let values = "base: &img\n  repository: nginx\nimage: *img\n";
    let app = application("web", "[../../envs/prod/web.yaml]");
    let dir = fleet(&[("prod/web.yaml", &app), ("envs/prod/web.yaml", values)]);
    let output = run_in(dir.path(), &["apply", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let err = stderr(&output);
    assert!(err.contains("not covered: prod/web.yaml:1: Application `web`: `image` is an alias in valueFiles[0] `../../envs/prod/web.yaml`: `image.pullPolicy` cannot be set"), "{err}");
    // The keys no alias reaches are set; the aliased `image` is not touched.
    let expected =
        format!("{values}cache:\n  image:\n    pullPolicy: IfNotPresent\nimagePullSecrets:\n  - name: regcred-prod\n");
    assert_eq!(read(dir.path(), "envs/prod/web.yaml"), expected);
}

#[test]
fn a_values_edit_that_cannot_be_exact_is_a_located_error_and_the_file_stays() {
    // An anchored mapping on the key's path: a key added there would reach every alias of it.
    let values = "image: &img\n  repository: nginx\n  pullPolicy: Always\nsidecar:\n  image: *img\n";
    let app = application("web", "[../../envs/prod/web.yaml]");
    let dir = fleet(&[("prod/web.yaml", &app), ("envs/prod/web.yaml", values)]);
    let output = run_in(dir.path(), &["apply", "."]);
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    let err = stderr(&output);
    assert!(err.contains("error: envs/prod/web.yaml:1:"), "{err}");
    assert!(err.contains("cannot set `image.pullPolicy` exactly"), "{err}");
    assert_eq!(read(dir.path(), "envs/prod/web.yaml"), values, "left untouched");
}

#[test]
fn a_values_file_outside_path_is_not_edited() {
    let app = application("web", "[../../envs/prod/web.yaml]");
    let dir = fleet(&[("prod/web.yaml", &app), ("envs/prod/web.yaml", "replicaCount: 2\n")]);
    let output = run_in(dir.path(), &["apply", "prod"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(read(dir.path(), "envs/prod/web.yaml"), "replicaCount: 2\n", "outside PATH");
    // What the release needs goes where PATH reaches: the Application itself.
    let text = read(dir.path(), "prod/web.yaml");
    assert!(
        text.contains("      valuesObject:\n        cache:\n          image:\n            pullPolicy: IfNotPresent\n        imagePullSecrets:\n          - name: regcred-prod\n"),
        "{text}"
    );
}

#[test]
fn a_chart_directory_not_in_the_repository_and_a_values_string_that_is_not_a_block() {
    let missing = application("web", "[values.yaml]").replace("path: charts/web", "path: charts/gone");
    let inline = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: api\nspec:\n  source:\n    repoURL: https://charts.example.com\n    chart: api\n    helm:\n      values: \"image: {tag: x}\"\n";
    let dir = fleet(&[("prod/gone.yaml", &missing), ("prod/api.yaml", inline)]);
    let before = read_tree(dir.path());
    let output = run_in(dir.path(), &["apply", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let err = stderr(&output);
    assert!(
        err.contains(
            "not covered: prod/gone.yaml:1: Application `web`: chart directory `charts/gone` is not in the repository"
        ),
        "{err}"
    );
    assert!(err.contains("not covered: prod/api.yaml:1: Application `api`: prod/api.yaml (helm.values) is not a block scalar (`|`): edit it by hand"), "{err}");
    assert_eq!(read_tree(dir.path()), before, "nothing is guessed");
    let check = run_in(dir.path(), &["check", "."]);
    assert!(!stderr(&check).contains("compliant:"), "{}", describe(&check));
}

#[test]
fn values_files_and_charts_behind_linked_directories_are_never_read_or_written() {
    let outside = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(outside.path().join("prod")).unwrap();
    std::fs::write(outside.path().join("prod/web.yaml"), "replicaCount: 2\n").unwrap();
    let app = application("web", "[../../envs/prod/web.yaml]");
    let linked_chart = application("api", "[values.yaml]").replace("path: charts/web", "path: linked/web");
    let dir = fleet(&[("prod/web.yaml", &app), ("prod/api.yaml", &linked_chart)]);
    std::os::unix::fs::symlink(outside.path(), dir.path().join("envs")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("charts"), dir.path().join("linked")).unwrap();
    let output = run_in(dir.path(), &["apply", "."]);
    let err = stderr(&output);
    assert!(
        err.contains("not covered: prod/web.yaml:1: Application `web`: envs/prod/web.yaml (valueFiles[0] `../../envs/prod/web.yaml`): reached through `envs`, a linked directory, which pullsmith never follows"),
        "{}",
        describe(&output)
    );
    assert!(err.contains("not covered: prod/api.yaml:1: Application `api`: chart `linked/web` cannot be read: reached through `linked`, a linked directory"), "{err}");
    assert_eq!(std::fs::read_to_string(outside.path().join("prod/web.yaml")).unwrap(), "replicaCount: 2\n");
}

#[test]
fn a_template_that_renders_several_pods_says_each_gap_once() {
    // Ranged over a literal, as podinfo's hook jobs are: one pod per entry.
    let job = "{{- range $name, $kind := dict \"a\" \"x\" \"b\" \"y\" \"c\" \"z\" }}\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ $name }}\nspec:\n  template:\n    spec:\n      containers:\n        - name: {{ $name }}\n          image: busybox\n          imagePullPolicy: {{ $.Values.image.pullPolicy }}\n{{- end }}\n";
    let app = application("web", "[../../envs/prod/web.yaml]");
    let dir = fleet(&[
        ("prod/web.yaml", &app),
        ("envs/prod/web.yaml", "jobs:\n  a: {}\n  b: {}\n  c: {}\n"),
        ("charts/web/templates/jobs.yaml", job),
    ]);
    let output = run_in(dir.path(), &["check", "."]);
    let err = stderr(&output);
    let gaps = err
        .lines()
        .filter(|l| l.contains("charts/web/templates/jobs.yaml") && l.contains("no imagePullSecrets"))
        .count();
    assert_eq!(gaps, 1, "{}", describe(&output));
}

#[test]
fn value_files_that_climb_out_of_the_repository_are_never_read() {
    let outside = tempfile::tempdir().expect("temp dir");
    std::fs::write(outside.path().join("secret-values.yaml"), "image:\n  pullPolicy: Never\n").unwrap();
    let dir = fleet(&[]);
    // A path from the chart's directory up and out, to a file that exists there.
    let up = "../".repeat(2 + dir.path().components().count());
    let target =
        format!("{up}{}", outside.path().join("secret-values.yaml").display().to_string().trim_start_matches('/'));
    let app = application("web", &format!("[{target}]"));
    crate::util::write(dir.path(), "prod/web.yaml", &app);
    let output = run_in(dir.path(), &["apply", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let err = stderr(&output);
    assert!(err.contains("not covered: prod/web.yaml:1: Application `web`: values file `"), "{err}");
    assert!(err.contains("lies outside the repository"), "{err}");
    assert_eq!(read(dir.path(), "prod/web.yaml"), app, "nothing is guessed for it");
    assert!(!stdout(&run_in(dir.path(), &["explain", "."])).contains("Never"), "the outside file was never read");
}
