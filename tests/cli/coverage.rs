//! Rules that fit real repositories (issue 10): where the rules come from and
//! what their globs mean, `exclude:`, kustomizations that do not build, and
//! the coverage report: a green check means "covered and right".
//!
//! Every tree here is shaped like a case seen on a public GitOps repository:
//! a root rules file run on a subdirectory, argocd-example-apps' plugin
//! kustomization naming a gitignored `all.yaml`, a Flux repository whose
//! workloads are all HelmReleases, Flux's generated `gotk-components.yaml`.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::util::{describe, pullsmith, read_tree, stderr, stdout, write};

/// A git repository (initialised, nothing committed) holding `files`.
fn git_repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let status = Command::new("git").args(["init", "-q"]).current_dir(dir.path()).status().expect("git runs");
    assert!(status.success());
    for (path, text) in files {
        write(dir.path(), path, text);
    }
    dir
}

fn run_in(cwd: &Path, args: &[&str]) -> Output {
    pullsmith().current_dir(cwd).args(args).output().expect("pullsmith runs")
}

fn json(output: &Output) -> Value {
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("stdout is one JSON document ({err})\n{}", describe(output)));
    crate::formats::assert_valid(&report);
    report
}

fn deployment(name: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n      - name: {name}\n        image: {image}\n"
    )
}

const ROOT_RULES: &str =
    "version: 1\nenvironments:\n  prod:\n    paths: [\"deploy/prod/**\"]\n    imagePullPolicy: IfNotPresent\n";

// ---------------------------------------------------------------- rules discovery and scope

#[test]
fn a_subdirectory_path_uses_the_root_rules_file_and_root_relative_globs() {
    let app = deployment("web", "nginx:1.25");
    let dir =
        git_repo(&[(".pullsmith.yaml", ROOT_RULES), ("deploy/prod/web.yaml", &app), ("other/prod/web.yaml", &app)]);
    let root = dir.path();
    // From the root and from inside the subdirectory, PATH `deploy` or `.`.
    for (cwd, path) in [(root.to_path_buf(), "deploy"), (root.join("deploy"), "."), (root.join("deploy/prod"), "..")] {
        let output = run_in(&cwd, &["diff", path]);
        assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
        let diff = stdout(&output);
        assert!(diff.contains("diff --git a/deploy/prod/web.yaml b/deploy/prod/web.yaml"), "{path}: {diff}");
        assert!(!diff.contains("other/"), "PATH narrows what is processed: {diff}");
        assert!(stderr(&output).lines().any(|l| l == "rules: .pullsmith.yaml"), "{}", describe(&output));
    }
    // `--rules .pullsmith.yaml deploy`: the same globs, the same meaning.
    let output = run_in(root, &["--rules", ".pullsmith.yaml", "diff", "deploy"]);
    assert!(stdout(&output).contains("a/deploy/prod/web.yaml"), "{}", describe(&output));
    // The JSON report names the rules file, and paths are relative to the root.
    let report = json(&run_in(&root.join("deploy"), &["--format", "json", "check", "."]));
    assert_eq!(report["rules"], ".pullsmith.yaml");
    assert_eq!(report["files"][0]["path"], "deploy/prod/web.yaml");
    // `apply` on the subdirectory edits the subdirectory only.
    let output = run_in(root, &["apply", "deploy"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(std::fs::read_to_string(root.join("deploy/prod/web.yaml")).unwrap().contains("imagePullPolicy"));
    assert_eq!(std::fs::read_to_string(root.join("other/prod/web.yaml")).unwrap(), app);
}

#[test]
fn the_nearest_rules_file_from_path_up_wins_and_the_embedded_default_is_named() {
    let app = deployment("web", "nginx:1.25");
    let near = "version: 1\nenvironments:\n  prod:\n    paths: [\"deploy/prod/**\"]\n    imagePullPolicy: Never\n";
    let dir =
        git_repo(&[(".pullsmith.yaml", ROOT_RULES), ("deploy/.pullsmith.yaml", near), ("deploy/prod/web.yaml", &app)]);
    let output = run_in(dir.path(), &["diff", "deploy"]);
    assert!(stderr(&output).lines().any(|l| l == "rules: deploy/.pullsmith.yaml"), "{}", describe(&output));
    assert!(stdout(&output).contains("+        imagePullPolicy: Never"), "{}", describe(&output));

    let plain = git_repo(&[("dev/web.yaml", &app)]);
    let output = run_in(plain.path(), &["check", "."]);
    assert!(
        stderr(&output).lines().any(|l| l.starts_with("rules: embedded default rules")),
        "a fallback to the embedded rules is never silent\n{}",
        describe(&output)
    );
    assert_eq!(json(&run_in(plain.path(), &["--format", "json", "check", "."]))["rules"], Value::Null);
}

#[test]
fn a_rules_glob_that_matches_no_file_is_a_warning_at_its_line() {
    let rules = "version: 1\nenvironments:\n  prod:\n    paths:\n      - \"deploy/prod/**\"\n      - \"deploy/prdo/**\"\nexclude: [\"vendor/**\"]\n";
    let dir = git_repo(&[(".pullsmith.yaml", rules), ("deploy/prod/web.yaml", &deployment("web", "nginx:1.25"))]);
    let output = run_in(dir.path(), &["check", "."]);
    let err = stderr(&output);
    assert!(
        err.contains("warning: .pullsmith.yaml:6: environment `prod`: path glob `deploy/prdo/**` matches no file"),
        "{err}"
    );
    assert!(err.contains("warning: .pullsmith.yaml:7: exclude glob `vendor/**` matches no file"), "{err}");
    assert!(!err.contains("`deploy/prod/**` matches no file"), "{err}");
}

// ---------------------------------------------------------------- exclude and kustomizations that do not build

/// argocd-example-apps' shape: a plugin kustomization that lists an
/// `all.yaml` made at deploy time, beside a dev overlay that builds.
fn plugin_repo(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let mut files: Vec<(&str, &str)> = vec![
        ("apps/base/kustomization.yaml", "resources:\n- web.yaml\n"),
        ("apps/dev/kustomization.yaml", "resources:\n- ../base\n"),
        ("plugins/kustomized-helm/kustomization.yaml", "resources:\n- all.yaml\n"),
        ("plugins/broken/kustomization.yaml", "resources: [unclosed\n"),
    ];
    files.extend_from_slice(extra);
    let dir = git_repo(&files);
    write(dir.path(), "apps/base/web.yaml", deployment("web", "nginx:1.25"));
    dir
}

#[test]
fn excluded_directories_are_never_read_even_as_kustomizations() {
    let rules = "version: 1\nenvironments:\n  dev:\n    paths: [\"apps/dev/**\"]\n    imagePullPolicy: Always\nexclude: [\"plugins/**\"]\n";
    // Under the excluded directory, a manifest that would be an error if it were read.
    let dir = plugin_repo(&[(".pullsmith.yaml", rules), ("plugins/broken/pod.yaml", "kind: Pod\nspec: [unclosed\n")]);
    let before = read_tree(dir.path());
    for args in [&["check", "."][..], &["explain", "."][..], &["diff", "."][..]] {
        let output = run_in(dir.path(), args);
        assert!(matches!(output.status.code(), Some(0 | 1)), "{args:?}: {}", describe(&output));
        assert!(!stderr(&output).contains("plugins/"), "{args:?}: nothing excluded is read\n{}", describe(&output));
    }
    // The same with `--exclude` and no `exclude:` in the rules.
    let without = rules.replace("exclude: [\"plugins/**\"]\n", "");
    write(dir.path(), ".pullsmith.yaml", &without);
    let output = run_in(dir.path(), &["--exclude", "plugins/**", "check", "."]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(!stderr(&output).contains("plugins/"), "{}", describe(&output));
    let output = run_in(dir.path(), &["--exclude", "plugins/**", "apply", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let after = read_tree(dir.path());
    let changed: Vec<&str> =
        after.iter().filter(|entry| !before.contains(entry)).map(|(path, _)| path.as_str()).collect();
    // The base is pulled in by the dev overlay only: edited in place.
    assert_eq!(changed, vec![".pullsmith.yaml", "apps/base/web.yaml"]);
}

#[test]
fn a_kustomization_no_environment_builds_is_a_warning_and_not_covered() {
    let rules = "version: 1\nenvironments:\n  dev:\n    paths: [\"apps/dev/**\"]\n    imagePullPolicy: Always\n";
    let dir = plugin_repo(&[(".pullsmith.yaml", rules), (".gitignore", "plugins/kustomized-helm/all.yaml\n")]);
    let output = run_in(dir.path(), &["check", "."]);
    assert_eq!(output.status.code(), Some(1), "the dev overlay still needs its patch\n{}", describe(&output));
    let err = stderr(&output);
    assert!(!err.contains("error:"), "{err}");
    assert!(
        err.contains("warning: plugins/kustomized-helm/kustomization.yaml:2:3: resources entry `all.yaml` is missing and ignored by git"),
        "{err}"
    );
    assert!(err.contains("not covered: plugins/broken/kustomization.yaml:2: Kustomization `plugins/broken`: does not build: invalid YAML"), "{err}");
    let report = json(&run_in(dir.path(), &["--format", "json", "check", "."]));
    let uncovered: Vec<&str> =
        report["notCovered"].as_array().unwrap().iter().map(|n| n["path"].as_str().unwrap()).collect();
    assert!(uncovered.contains(&"plugins/kustomized-helm/kustomization.yaml"), "{report:#}");
    assert!(uncovered.contains(&"plugins/broken/kustomization.yaml"), "{report:#}");
    assert_eq!(report["summary"]["notCovered"], uncovered.len());

    // A missing file in an environment's overlay is still an error: that render is not covered.
    write(dir.path(), "apps/dev/kustomization.yaml", "resources:\n- ../base\n- missing.yaml\n");
    let output = run_in(dir.path(), &["check", "."]);
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    assert!(
        stderr(&output).contains("error: apps/dev/kustomization.yaml:3:3: resources entry `missing.yaml` is missing")
    );
}

// ---------------------------------------------------------------- coverage

const FLUX_RULES: &str = "version: 1\nenvironments:\n  prod:\n    paths: [\"clusters/production/**\", \"apps/production/**\"]\n    imagePullPolicy: IfNotPresent\n";

const HELM_RELEASE: &str = "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: podinfo\n  namespace: podinfo\nspec:\n  url: https://stefanprodan.github.io/podinfo\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: podinfo\nspec:\n  chart:\n    spec:\n      chart: podinfo\n      sourceRef: {kind: HelmRepository, name: podinfo}\n  values:\n    replicaCount: 2\n";

/// An ApplicationSet whose generated Applications' charts are computed: which
/// chart and values each gets is not known, so nothing is covered.
const TEMPLATED_APPSET: &str = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: charts\nspec:\n  generators:\n  - git:\n      directories: [{path: 'charts/*'}]\n  template:\n    metadata:\n      name: '{{path.basename}}'\n    spec:\n      source:\n        repoURL: https://example.com/fleet.git\n        path: '{{path}}'\n        helm:\n          valueFiles: [values-prod.yaml]\n      destination:\n        namespace: '{{path.basename}}'\n";

#[test]
fn a_flux_helm_release_gets_its_pull_policy_through_its_values() {
    let dir = git_repo(&[
        (".pullsmith.yaml", FLUX_RULES),
        ("apps/production/podinfo.yaml", HELM_RELEASE),
        ("clusters/production/apps.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\nspec:\n  path: ./apps/production\n"),
    ]);
    // A chart from a HelmRepository, with no rules entry: the conventions.
    let output = run_in(dir.path(), &["check", "."]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let report = json(&run_in(dir.path(), &["--format", "json", "check", "."]));
    assert_eq!(report["summary"]["containersCovered"], 1, "{report:#}");
    let change = &report["files"][0]["changes"][0];
    assert_eq!(
        (&change["kind"], &change["name"], &change["field"]),
        (&Value::from("HelmRelease"), &Value::from("podinfo"), &Value::from("imagePullPolicy"))
    );
    assert_eq!(change["valuesKey"], "image.pullPolicy", "{report:#}");
    // explain names the release, its chart, where its values come from, and each key with why.
    let explained = stdout(&run_in(dir.path(), &["explain", "."]));
    assert!(explained.contains("Helm releases (1): their chart values\n  apps/production/podinfo.yaml:10 HelmRelease `podinfo`: chart from a chart repository or registry `podinfo`\n    environment: prod (path matches `apps/production/**`)\n    values from: chart defaults, then apps/production/podinfo.yaml (spec.values)\n    imagePullPolicy `image.pullPolicy` (convention (the chart is not in the repository and no helm.charts entry names it)): <unset> -> IfNotPresent: set in apps/production/podinfo.yaml (spec.values)\n"), "{explained}");
    let explained: Value = serde_json::from_slice(&run_in(dir.path(), &["explain", "--format", "json", "."]).stdout)
        .expect("explain prints JSON");
    assert_eq!(explained["releases"][0]["keys"][0]["valuesKey"], "image.pullPolicy", "{explained:#}");
    let output = run_in(dir.path(), &["apply", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = std::fs::read_to_string(dir.path().join("apps/production/podinfo.yaml")).unwrap();
    assert!(text.ends_with("  values:\n    replicaCount: 2\n    image:\n      pullPolicy: IfNotPresent\n"), "{text}");
    let output = run_in(dir.path(), &["check", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(stderr(&output).contains("pullsmith: compliant: 1 container under the rules"), "{}", describe(&output));
}

#[test]
fn releases_whose_charts_cannot_be_known_are_not_called_compliant() {
    let dir = git_repo(&[(".pullsmith.yaml", FLUX_RULES), ("clusters/production/charts.yaml", TEMPLATED_APPSET)]);
    let output = run_in(dir.path(), &["check", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let err = stderr(&output);
    assert!(!err.contains("compliant:"), "{err}");
    assert!(err.contains("pullsmith: nothing covered: no container is under the rules"), "{err}");
    assert!(
        err.contains("not covered: clusters/production/charts.yaml:1: ApplicationSet `charts`: its template's source is computed per generated Application"),
        "{err}"
    );
    let report = json(&run_in(dir.path(), &["--format", "json", "check", "."]));
    assert_eq!(report["summary"]["containersCovered"], 0);
    assert_eq!(report["notCovered"].as_array().unwrap().len(), 1, "{report:#}");
    let item = &report["notCovered"][0];
    assert_eq!(
        (&item["path"], &item["line"], &item["kind"], &item["name"]),
        (
            &Value::from("clusters/production/charts.yaml"),
            &Value::from(1),
            &Value::from("ApplicationSet"),
            &Value::from("charts")
        )
    );
    assert!(stdout(&run_in(dir.path(), &["explain", "."])).contains("not covered (1)"));

    // With a workload under the rules beside it, check is compliant about that much.
    write(
        dir.path(),
        "clusters/production/web.yaml",
        deployment("web", "nginx:1.25")
            .replace("image: nginx:1.25", "image: nginx:1.25\n        imagePullPolicy: IfNotPresent"),
    );
    write(dir.path(), "tools/debug.yaml", deployment("debug", "busybox:1.36"));
    let output = run_in(dir.path(), &["check", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    // `tools/` is reached by no environment: read, not parsed, counted as a file.
    assert!(stderr(&output).contains("pullsmith: compliant: 1 container under the rules have the pull settings their environment calls for; 1 file that mentions containers is reached by no environment (`pullsmith explain` shows why); 1 thing seen is not covered"), "{}", describe(&output));
    let report = json(&run_in(dir.path(), &["--format", "json", "check", "."]));
    assert_eq!(report["summary"]["containersWithoutEnvironment"], 0);
    assert_eq!(report["summary"]["filesWithoutEnvironment"], 1);
    assert!(stderr(&output).contains("containers_covered=1 not_covered=1"), "{}", describe(&output));
    // explain parses it, and says why its container has no environment.
    let explained = stdout(&run_in(dir.path(), &["explain", "."]));
    assert!(explained.contains("Deployment debug: no environment"), "{explained}");
}

#[test]
fn files_no_environment_can_reach_are_counted_and_not_parsed() {
    let rules = "version: 1\nenvironments:\n  prod:\n    paths: [\"prod/**\"]\n    namespaces: [\"shop-*\"]\n    imagePullPolicy: IfNotPresent\n";
    let in_namespace = deployment("cart", "nginx:1.25").replace("metadata:\n", "metadata:\n  namespace: shop-eu\n");
    let dir = git_repo(&[
        (".pullsmith.yaml", rules),
        ("prod/web.yaml", &deployment("web", "nginx:1.25")),
        // Reached by its namespace, outside every path glob: parsed and planned.
        ("teams/cart.yaml", &in_namespace),
        // Reached by nothing: never parsed, so its invalid YAML is not an error here.
        ("tools/broken.yaml", "containers: [unclosed\n"),
        ("tools/debug.yaml", &deployment("debug", "busybox:1.36")),
        ("tools/settings.yaml", "retries: 3\n"),
        // Reached, but a Secret of a name no rule gives: not parsed (the broken flow mapping is not reported).
        ("prod/credentials.yaml", "kind: SealedSecret\nmetadata: {name: web-credentials\nspec: {}\n"),
    ]);
    let output = run_in(dir.path(), &["check", "--format", "json", "."]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let report = json(&output);
    let changed: Vec<&str> = report["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(changed, ["prod/web.yaml", "teams/cart.yaml"], "{report:#}");
    assert_eq!(report["errors"].as_array().unwrap().len(), 0, "{report:#}");
    // The two files that mention containers; the settings file does not.
    assert_eq!(report["summary"]["filesWithoutEnvironment"], 2, "{report:#}");
    assert_eq!(report["summary"]["containersWithoutEnvironment"], 0, "{report:#}");
    assert_eq!(report["summary"]["filesScanned"], 7, "{report:#}");

    // A namespace no environment matches, in a file parsed for its namespace: its container is counted.
    write(
        dir.path(),
        "tools/debug.yaml",
        deployment("debug", "busybox:1.36").replace("metadata:\n", "metadata:\n  namespace: ops\n"),
    );
    let report = json(&run_in(dir.path(), &["check", "--format", "json", "."]));
    assert_eq!(report["summary"]["containersWithoutEnvironment"], 1, "{report:#}");
    assert_eq!(report["summary"]["filesWithoutEnvironment"], 1, "{report:#}");

    // A Secret of the name an environment gives is parsed, broken or not.
    let named = "kind: SealedSecret\nmetadata: {name: web-credentials\nspec: {}\n";
    write(
        dir.path(),
        ".pullsmith.yaml",
        rules.replace("IfNotPresent\n", "IfNotPresent\n    imagePullSecrets: [web-credentials]\n"),
    );
    let output = run_in(dir.path(), &["check", "."]);
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    assert!(stderr(&output).contains("error: prod/credentials.yaml:"), "{}", describe(&output));
    write(dir.path(), "prod/credentials.yaml", named.replace("credentials\n", "credentials}\n"));

    // With a defaultEnvironment every file is reached: the broken one is parsed and is an error.
    write(dir.path(), ".pullsmith.yaml", format!("{rules}defaultEnvironment: prod\n"));
    let output = run_in(dir.path(), &["check", "."]);
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    assert!(stderr(&output).contains("error: tools/broken.yaml:2:1: invalid YAML"), "{}", describe(&output));
    // And explain parses every file whatever the rules.
    write(dir.path(), ".pullsmith.yaml", rules);
    let output = run_in(dir.path(), &["explain", "."]);
    assert!(stderr(&output).contains("error: tools/broken.yaml:2:1: invalid YAML"), "{}", describe(&output));
}

#[test]
fn argo_cd_helm_applications_are_covered_and_unread_chart_values_are_not() {
    let application = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: redis\nspec:\n  source:\n    repoURL: https://charts.bitnami.com/bitnami\n    chart: redis\n    helm:\n      valuesObject: {image: {pullPolicy: Always}}\n---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: guestbook\nspec:\n  source:\n    path: guestbook\n    helm: {}\n";
    let dir = git_repo(&[
        (
            ".pullsmith.yaml",
            "version: 1\ndefaultEnvironment: prod\nenvironments:\n  prod:\n    imagePullPolicy: IfNotPresent\n",
        ),
        ("apps/redis.yaml", application),
        ("charts/web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n"),
        ("charts/web/values.yaml", "image:\n  pullPolicy: Always\n"),
        ("charts/web/templates/deployment.yaml", "kind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n"),
    ]);
    let report = json(&run_in(dir.path(), &["--format", "json", "check", "."]));
    let items: Vec<(String, String, String)> = report["notCovered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let field = |k: &str| n[k].as_str().unwrap_or("").to_string();
            (field("path"), field("name"), field("reason"))
        })
        .collect();
    assert_eq!(
        items,
        vec![
            (
                "apps/redis.yaml".to_string(),
                "guestbook".to_string(),
                "chart directory `guestbook` is not in the repository".to_string()
            ),
            ("charts/web/values.yaml".to_string(), String::new(), coverage_reason_for_unread_values())
        ],
        "{report:#}"
    );
    // The redis Application's own valuesObject is brought to the environment's policy.
    let change = &report["files"][0]["changes"][0];
    assert_eq!(
        (&change["from"], &change["to"], &change["valuesKey"]),
        (&Value::from("Always"), &Value::from("IfNotPresent"), &Value::from("image.pullPolicy")),
        "{report:#}"
    );
    let skipped = report["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "one line per chart: {skipped:?}");
    assert_eq!(skipped[0]["path"], "charts/web");
}

fn coverage_reason_for_unread_values() -> String {
    "Helm chart values: no release in the repository reads this file and no environment's path claims it".to_string()
}

#[test]
fn generated_files_are_left_alone_and_reported() {
    let gotk = format!(
        "---\n# This manifest was generated by flux. DO NOT EDIT.\n# Flux Version: v2.3.0\n{}",
        deployment("source-controller", "ghcr.io/fluxcd/source-controller:v1.3.0")
    );
    let generated = format!("# Code generated by hack/gen.sh. DO NOT EDIT.\n{}", deployment("gen", "nginx:1.25"));
    let quoted = deployment("quoted", "nginx:1.25")
        .replace("metadata:\n", "metadata:\n  annotations: {note: \"DO NOT EDIT by hand\"}\n");
    let dir = git_repo(&[
        (
            ".pullsmith.yaml",
            "version: 1\nenvironments:\n  dev:\n    paths: [\"clusters/dev/**\"]\n    imagePullPolicy: Always\n",
        ),
        ("clusters/dev/flux-system/gotk-components.yaml", &gotk),
        ("clusters/dev/zz_generated.yaml", &generated),
        ("clusters/dev/quoted.yaml", &quoted),
        (
            "clusters/dev/flux-system/gotk-sync.yaml",
            "# This manifest was generated by flux. DO NOT EDIT.\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\nspec:\n  url: ssh://git@github.com/acme/fleet\n",
        ),
    ]);
    let output = run_in(dir.path(), &["apply", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let read = |rel: &str| std::fs::read_to_string(dir.path().join(rel)).unwrap();
    assert_eq!(read("clusters/dev/flux-system/gotk-components.yaml"), gotk);
    assert_eq!(read("clusters/dev/zz_generated.yaml"), generated);
    assert!(read("clusters/dev/quoted.yaml").contains("imagePullPolicy: Always"), "only a header comment counts");
    let err = stderr(&output);
    assert!(
        err.contains("not covered: clusters/dev/flux-system/gotk-components.yaml:2: generated by `flux bootstrap`"),
        "{err}"
    );
    assert!(err.contains("not covered: clusters/dev/zz_generated.yaml:1: generated file"), "{err}");
    assert!(!err.contains("gotk-sync.yaml"), "a generated file without containers misses nothing\n{err}");
}

#[test]
fn an_unknown_kind_holding_containers_is_not_covered() {
    let widget = "apiVersion: apps.example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  runner:\n    containers:\n    - name: a\n      image: nginx:1.25\n";
    let dir = git_repo(&[
        (
            ".pullsmith.yaml",
            "version: 1\nenvironments:\n  dev:\n    paths: [\"dev/**\"]\n    imagePullPolicy: Always\n",
        ),
        ("dev/widget.yaml", widget),
    ]);
    let output = run_in(dir.path(), &["apply", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(std::fs::read_to_string(dir.path().join("dev/widget.yaml")).unwrap(), widget);
    let report = json(&run_in(dir.path(), &["--format", "json", "check", "."]));
    assert_eq!(report["notCovered"][0]["kind"], "Widget", "{report:#}");
    assert!(report["notCovered"][0]["reason"].as_str().unwrap().contains("workloads:"), "{report:#}");
}

// ---------------------------------------------------------------- fewer, truer messages

#[test]
fn provided_secrets_are_not_reported_as_undefined() {
    let rules =
        "version: 1\nenvironments:\n  prod:\n    paths: [\"prod/**\"]\n    imagePullSecrets: [regcred, vault-reg]\n";
    let dir = git_repo(&[(".pullsmith.yaml", rules), ("prod/web.yaml", &deployment("web", "nginx:1.25"))]);
    let output = run_in(dir.path(), &["check", "."]);
    assert!(stderr(&output).contains("pull secret `regcred` is not defined"), "{}", describe(&output));
    write(dir.path(), ".pullsmith.yaml", format!("{rules}providedSecrets: [regcred]\n"));
    let output = run_in(dir.path(), &["check", "."]);
    let err = stderr(&output);
    assert!(!err.contains("`regcred` is not defined"), "{err}");
    assert!(err.contains("pull secret `vault-reg` is not defined"), "only the provided name is silenced\n{err}");
    let output = run_in(dir.path(), &["rules", "validate", ".pullsmith.yaml"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    // A provided name must be a valid secret name like any other.
    write(dir.path(), "bad.yaml", "version: 1\nprovidedSecrets: [Not_Valid]\n");
    let output = run_in(dir.path(), &["rules", "validate", "bad.yaml"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr(&output).contains("bad.yaml:2:"), "{}", describe(&output));
}

#[test]
fn argo_rollouts_experiments_and_analysis_jobs_are_built_in() {
    let experiment = "apiVersion: argoproj.io/v1alpha1\nkind: Experiment\nmetadata:\n  name: e\nspec:\n  templates:\n  - name: baseline\n    template:\n      spec:\n        containers:\n        - name: a\n          image: nginx:1.25\n  - name: canary\n    template:\n      spec:\n        containers:\n        - name: a\n          image: nginx:1.26\n";
    let analysis = "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata:\n  name: smoke\nspec:\n  metrics:\n  - name: smoke\n    provider:\n      job:\n        spec:\n          template:\n            spec:\n              containers:\n              - name: smoke\n                image: curlimages/curl:8.8.0\n              restartPolicy: Never\n";
    let dir = git_repo(&[
        (
            ".pullsmith.yaml",
            "version: 1\nenvironments:\n  prod:\n    paths: [\"prod/**\"]\n    imagePullPolicy: IfNotPresent\n",
        ),
        ("prod/experiment.yaml", experiment),
        ("prod/analysis.yaml", analysis),
    ]);
    let output = run_in(dir.path(), &["apply", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let read = |rel: &str| std::fs::read_to_string(dir.path().join(rel)).unwrap();
    assert_eq!(
        read("prod/experiment.yaml"),
        experiment
            .replace("image: nginx:1.25\n", "image: nginx:1.25\n          imagePullPolicy: IfNotPresent\n")
            .replace("image: nginx:1.26\n", "image: nginx:1.26\n          imagePullPolicy: IfNotPresent\n")
    );
    assert_eq!(
        read("prod/analysis.yaml"),
        analysis.replace(
            "image: curlimages/curl:8.8.0\n",
            "image: curlimages/curl:8.8.0\n                imagePullPolicy: IfNotPresent\n"
        )
    );
    assert!(!stderr(&output).contains("not covered"), "{}", describe(&output));
}

#[test]
fn a_report_path_among_the_repository_manifests_is_refused_whatever_path_is() {
    // The run reads the kustomizations and bases of the whole repository, not
    // only PATH: a report must not overwrite any of them.
    let dir = git_repo(&[
        (".pullsmith.yaml", ROOT_RULES),
        ("deploy/prod/web.yaml", &deployment("web", "nginx:1.25")),
        ("other/README.md", "not a manifest\n"),
    ]);
    let output = run_in(dir.path(), &["--report", "other/report.yaml", "check", "deploy"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr(&output).contains("pullsmith reads that file"), "{}", describe(&output));
    assert!(!dir.path().join("other/report.yaml").exists());
    // Outside the repository's manifests it is written.
    let output = run_in(dir.path(), &["--report", "other/report.json", "check", "deploy"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(dir.path().join("other/report.json").is_file());
}

#[test]
fn a_path_the_surrounding_work_tree_ignores_is_a_repository_of_its_own() {
    // A GitOps checkout kept in another repository's ignored `vendor/`.
    let dir = git_repo(&[(".gitignore", "vendor/\n"), ("vendor/fleet/dev/web.yaml", &deployment("web", "nginx:1.25"))]);
    let output = run_in(dir.path(), &["diff", "vendor/fleet"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(stdout(&output).contains("diff --git a/dev/web.yaml b/dev/web.yaml"), "{}", describe(&output));
}

#[test]
fn commit_on_a_repository_with_nothing_covered_does_not_call_it_compliant() {
    let dir = git_repo(&[(".pullsmith.yaml", FLUX_RULES), ("clusters/production/charts.yaml", TEMPLATED_APPSET)]);
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir.path())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    };
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "fleet"]);
    let output = run_in(dir.path(), &["commit", "--author", "bot <bot@example.com>", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let out = stdout(&output);
    assert!(out.contains("nothing to commit, and nothing covered"), "{}", describe(&output));
    assert!(!out.contains("compliant"), "{}", describe(&output));
}

#[test]
fn a_pull_key_a_chart_declares_but_never_reads_is_not_covered_and_not_written() {
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\nspec:\n  chart:\n    spec:\n      chart: ./charts/web\n      sourceRef: {kind: GitRepository, name: fleet}\n  values:\n    replicaCount: 2\n";
    let template = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n";
    let dir = git_repo(&[
        (".pullsmith.yaml", FLUX_RULES),
        ("apps/production/web.yaml", release),
        ("charts/web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n"),
        ("charts/web/values.yaml", "image:\n  repository: nginx\n  tag: \"1.25\"\n  pullPolicy: Always\n"),
        ("charts/web/templates/deployment.yaml", template),
    ]);
    let output = run_in(dir.path(), &["apply", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let err = stderr(&output);
    assert!(err.contains("not covered: apps/production/web.yaml:1: HelmRelease `web`: `image.pullPolicy` is declared in charts/web/values.yaml:4 but no template reads it: setting it changes nothing"), "{err}");
    assert!(err.contains("container `web` (charts/web/templates/deployment.yaml:9): the chart writes no imagePullPolicy, so no value sets it"), "{err}");
    // Nothing is written that the chart would ignore.
    let text = std::fs::read_to_string(dir.path().join("apps/production/web.yaml")).unwrap();
    assert_eq!(text, release);
    let report = json(&run_in(dir.path(), &["--format", "json", "check", "."]));
    assert_eq!(report["summary"]["notCovered"], 2, "{report:#}");
}
