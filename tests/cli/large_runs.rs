//! A run keeps only what it reports: a file that says nothing is counted
//! and dropped as soon as it is done, and what the cross-file steps need of
//! it is learned then (`pipeline::learned`). These tests check, on a tree of
//! more files than the file pass reads at once, that the counts, the
//! warnings and the files written are what keeping every file would give:
//! the same in every output, whether the output lists each change (JSON)
//! or only counts them (text), and each warning named at the first file in
//! path order.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::util::{count, describe, pullsmith, stderr, stdout, summary, write};

/// Apps in the tree: more than the file pass's chunk of 1,024 files, and a
/// count whose path order (`app-0`, `app-1`, `app-10`, …) is not the
/// numeric one.
const N_APPS: usize = 1_100;

const RULES: &str = "\
version: 1
environments:
  dev:
    paths: [\"**/dev/**\"]
    imagePullPolicy: Always
    imagePullSecrets: [regcred-dev]
  prod:
    paths: [\"**/prod/**\"]
    imagePullPolicy: IfNotPresent
    imagePullSecrets: [regcred-prod]
  staging:
    paths: [\"**/staging/**\"]
    imagePullPolicy: IfNotPresent
    imagePullSecrets: [regcred-staging]
    attachSecretsTo: serviceAccount
";

fn deployment(name: &str, pod_keys: &str, containers: usize) -> String {
    let mut text = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n{pod_keys}      containers:\n"
    );
    for c in 0..containers {
        text.push_str(&format!("      - name: c{c}\n        image: registry.example/{name}:1.{c}\n"));
    }
    text
}

/// Per app: a dev Deployment of two containers that needs both fields, a
/// compliant prod Pod, a Pod no environment claims, a staging Deployment
/// whose secrets go to its ServiceAccount (every other app has that
/// ServiceAccount), a ConfigMap. The last app defines the prod secret.
fn tree(root: &Path) {
    for i in 0..N_APPS {
        let app = format!("apps/app-{i}");
        write(root, &format!("{app}/dev/deploy.yaml"), deployment(&format!("web-{i}"), "", 2));
        write(
            root,
            &format!("{app}/prod/pod.yaml"),
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p-{i}\nspec:\n  imagePullSecrets:\n  - name: regcred-prod\n  containers:\n  - name: app\n    image: nginx:1.27\n    imagePullPolicy: IfNotPresent\n"
            ),
        );
        write(root, &format!("{app}/misc/pod.yaml"), deployment(&format!("misc-{i}"), "", 1));
        let account = format!("      serviceAccountName: app-{i}\n");
        write(root, &format!("{app}/staging/deploy.yaml"), deployment(&format!("api-{i}"), &account, 1));
        if i % 2 == 0 {
            write(
                root,
                &format!("{app}/staging/sa.yaml"),
                format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app-{i}\n"),
            );
        }
        write(
            root,
            &format!("{app}/config.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n",
        );
    }
    write(
        root,
        &format!("apps/app-{}/prod/secret.yaml", N_APPS - 1),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred-prod\ntype: kubernetes.io/dockerconfigjson\n",
    );
}

fn run(rules: &Path, root: &Path, args: &[&str]) -> Output {
    pullsmith().arg("--rules").arg(rules).args(args).arg(root).output().expect("pullsmith runs")
}

/// `warning:` lines of stderr, as (path:line, message).
fn text_warnings(output: &Output) -> Vec<(String, String)> {
    stderr(output)
        .lines()
        .filter_map(|l| l.strip_prefix("warning: "))
        .map(|l| {
            let (at, message) = l.split_once(": ").expect("located");
            (at.to_string(), message.to_string())
        })
        .collect()
}

#[test]
fn large_runs_count_what_they_do_not_keep_exactly_as_what_they_keep() {
    let rules_dir = tempfile::tempdir().expect("temp dir");
    let rules = rules_dir.path().join("rules.yaml");
    std::fs::write(&rules, RULES).expect("write rules");
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    tree(root);
    let n = N_APPS;

    let text = run(&rules, root, &["check"]);
    assert_eq!(text.status.code(), Some(1), "{}", describe(&text));
    let counts = summary(&stderr(&text));
    let json_run = run(&rules, root, &["check", "--format", "json"]);
    assert_eq!(json_run.status.code(), Some(1), "{}", describe(&json_run));
    let report: Value = serde_json::from_str(&stdout(&json_run)).expect("a JSON report");

    // What the JSON report lists, change by change, is what the text run counted.
    let files = report["files"].as_array().expect("files");
    let changes: Vec<&Value> = files.iter().flat_map(|f| f["changes"].as_array().expect("changes")).collect();
    let n_field = |field: &str| changes.iter().filter(|c| c["field"] == field).count();
    assert_eq!(count(&counts, "files_changed"), files.len(), "{}", describe(&text));
    assert_eq!(count(&counts, "containers_changed"), n_field("imagePullPolicy"));
    assert_eq!(count(&counts, "podspecs_changed"), n_field("imagePullSecrets"));
    let json_summary = &report["summary"];
    for (key, json_key) in [
        ("files_scanned", "filesScanned"),
        ("files_changed", "filesChanged"),
        ("containers_changed", "containersChanged"),
        ("podspecs_changed", "podSpecsChanged"),
        ("containers_covered", "containersCovered"),
    ] {
        assert_eq!(Some(count(&counts, key) as u64), json_summary[json_key].as_u64(), "{key}");
    }

    // And what the tree holds.
    let n_files = 5 * n + n.div_ceil(2) + 1;
    assert_eq!(count(&counts, "files_scanned"), n_files);
    // dev: two containers; staging: one; prod: one, compliant.
    assert_eq!(count(&counts, "containers_covered"), 4 * n);
    // The files no environment reaches, one container each, are counted as files, not parsed.
    assert_eq!(json_summary["containersWithoutEnvironment"].as_u64(), Some(0));
    assert_eq!(json_summary["filesWithoutEnvironment"].as_u64(), Some(n as u64));
    assert_eq!(n_field("imagePullPolicy"), 3 * n);
    // dev Deployments (policy and secrets), staging Deployments (policy), staging ServiceAccounts (secrets).
    assert_eq!(files.len(), 2 * n + n.div_ceil(2));

    // Each warning once, at the first file in path order, in every output.
    let warnings = text_warnings(&text);
    let json_warnings: Vec<(String, String)> = report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| {
            let at = format!("{}:{}", w["path"].as_str().expect("path"), w["line"]);
            (at, w["message"].as_str().expect("message").to_string())
        })
        .collect();
    assert_eq!(warnings, json_warnings, "text and JSON warn alike");
    let about =
        |needle: &str| -> Vec<&(String, String)> { warnings.iter().filter(|(_, m)| m.contains(needle)).collect() };
    let dev_secret = about("pull secret `regcred-dev`");
    assert_eq!(dev_secret.len(), 1, "{warnings:?}");
    assert!(dev_secret[0].0.starts_with("apps/app-0/dev/deploy.yaml:"), "{dev_secret:?}");
    assert_eq!(about("pull secret `regcred-staging`").len(), 1, "{warnings:?}");
    assert!(about("regcred-prod").is_empty(), "the last app defines it: {warnings:?}");
    let inherited = about("ServiceAccount `default` of environment `dev`");
    assert_eq!(inherited.len(), 1, "{warnings:?}");
    assert!(inherited[0].0.starts_with("apps/app-0/dev/deploy.yaml:"), "{inherited:?}");
    let missing: Vec<&String> = warnings
        .iter()
        .filter(|(_, m)| m.contains("environment `staging` is not in the repository"))
        .map(|(at, _)| at)
        .collect();
    assert_eq!(missing.len(), n / 2, "one per odd app");
    let mut expected_missing: Vec<String> =
        (1..n).step_by(2).map(|i| format!("apps/app-{i}/staging/deploy.yaml")).collect();
    expected_missing.sort();
    let missing_paths: Vec<&str> = missing.iter().map(|at| at.rsplit_once(':').expect("path:line").0).collect();
    assert_eq!(missing_paths, expected_missing, "named in path order");

    // `apply` writes every file it counts, and leaves nothing for a second run.
    let apply = run(&rules, root, &["apply"]);
    assert_eq!(apply.status.code(), Some(0), "{}", describe(&apply));
    assert_eq!(summary(&stdout(&apply)), counts, "apply counts what check counted");
    let again = run(&rules, root, &["check"]);
    assert_eq!(again.status.code(), Some(0), "{}", describe(&again));
    assert_eq!(count(&summary(&stderr(&again)), "files_changed"), 0);
    let dev = std::fs::read_to_string(root.join(format!("apps/app-{}/dev/deploy.yaml", n - 1))).expect("read");
    assert!(dev.contains("imagePullPolicy: Always") && dev.contains("regcred-dev"), "{dev}");
    let sa = std::fs::read_to_string(root.join("apps/app-0/staging/sa.yaml")).expect("read");
    assert!(sa.contains("regcred-staging"), "{sa}");
}

/// Reports list files, and warnings name them, in path order: `a-c` before
/// `a/b`, as `sort` and git order them (a directory walk visits `a/` first).
#[test]
fn large_runs_list_files_and_warnings_in_path_order() {
    let rules_dir = tempfile::tempdir().expect("temp dir");
    let rules = rules_dir.path().join("rules.yaml");
    std::fs::write(&rules, RULES).expect("write rules");
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    for app in ["web", "web-2", "web.old"] {
        let account = format!("      serviceAccountName: {app}\n");
        write(root, &format!("{app}/staging/deploy.yaml"), deployment(app, &account, 1));
    }
    let json_run = run(&rules, root, &["check", "--format", "json"]);
    let report: Value = serde_json::from_str(&stdout(&json_run)).expect("a JSON report");
    let paths = |list: &Value| -> Vec<String> {
        list.as_array().expect("a list").iter().map(|f| f["path"].as_str().expect("path").to_string()).collect()
    };
    let expected = ["web-2/staging/deploy.yaml", "web.old/staging/deploy.yaml", "web/staging/deploy.yaml"];
    assert_eq!(paths(&report["files"]), expected, "{}", describe(&json_run));
    let missing: Vec<String> = paths(&report["warnings"])
        .into_iter()
        .zip(report["warnings"].as_array().expect("warnings"))
        .filter(|(_, w)| w["message"].as_str().is_some_and(|m| m.contains("is not in the repository")))
        .map(|(path, _)| path)
        .collect();
    assert_eq!(missing, expected, "{}", describe(&json_run));
}
