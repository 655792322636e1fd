//! The machine-readable outputs: JSON against its documented schema
//! (docs/report.schema.json), SARIF against the 2.1.0 structure, and
//! `--format github` annotations, job summary and step outputs.

use serde_json::Value;

use std::path::Path;

use crate::util::{copy_tree, describe, project_root, pullsmith, write};

/// Every way `value` breaks docs/report.schema.json, by a real JSON Schema
/// (draft 2020-12) validator: the `jsonschema` crate.
pub(crate) fn schema_problems(value: &Value) -> Vec<String> {
    let validator = jsonschema::draft202012::new(&schema()).expect("docs/report.schema.json is a valid schema");
    validator.iter_errors(value).map(|error| format!("{}: {error}", error.instance_path)).collect()
}

fn schema() -> Value {
    let text = std::fs::read_to_string(project_root().join("docs/report.schema.json")).expect("schema exists");
    serde_json::from_str(&text).expect("the schema is JSON")
}

fn example_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&project_root().join("examples/plain"), dir.path());
    std::fs::write(dir.path().join("dev/broken.yaml"), "apiVersion: v1\nkind: Pod\nspec: [unclosed\n").expect("write");
    dir
}

pub(crate) fn assert_valid(value: &Value) {
    let problems = schema_problems(value);
    assert!(problems.is_empty(), "report does not match docs/report.schema.json:\n{}\n{value:#}", problems.join("\n"));
}

#[test]
fn json_report_matches_its_schema_and_the_text_summary() {
    let repo = example_copy();
    let output = pullsmith().args(["diff", "--format", "json"]).arg(repo.path()).output().expect("runs");
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    let report: Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    assert_valid(&report);
    assert!(report["summary"]["filesChanged"].as_u64().unwrap() > 0);
    assert_eq!(report["errors"][0]["path"], "dev/broken.yaml");
    assert_eq!(report["commit"], Value::Null);

    // --report writes the same document while the text output goes on.
    let file = repo.path().join("../report.json");
    let text = pullsmith().args(["diff", "--report"]).arg(&file).arg(repo.path()).output().expect("runs");
    let written: Value = serde_json::from_slice(&std::fs::read(&file).expect("report written")).expect("JSON");
    assert_eq!(written, report);
    assert!(String::from_utf8_lossy(&text.stdout).starts_with("diff --git"), "{}", describe(&text));
}

#[test]
fn json_schema_rejects_what_it_should() {
    // The validator and the schema can fail: a report with a misspelled field does not pass.
    let good = serde_json::json!({"version": 1, "rules": null, "files": [], "warnings": [], "errors": [],
        "skipped": [], "notCovered": [],
        "summary": {"filesScanned": 0, "filesChanged": 0, "containersChanged": 0, "podSpecsChanged": 0, "errors": 0,
                    "containersCovered": 0, "containersWithoutEnvironment": 0, "filesWithoutEnvironment": 0,
                    "notCovered": 0},
        "commit": null});
    assert_eq!(schema_problems(&good), Vec::<String>::new());
    let mut bad = good.clone();
    bad["commit"] = Value::String("not-a-sha".to_string());
    bad["extra"] = Value::Bool(true);
    assert_eq!(schema_problems(&bad).len(), 2, "{:?}", schema_problems(&bad));
    let mut bad = good.clone();
    bad["notCovered"] = serde_json::json!([{"path": "a.yaml", "line": 0, "kind": null, "name": null}]);
    assert_eq!(schema_problems(&bad).len(), 2, "line 0 and no reason: {:?}", schema_problems(&bad));
    // A replaced policy may be any string (even one Kubernetes rejects): one alternative matches, not two.
    let change = |from: Value| {
        let mut report = good.clone();
        report["files"] = serde_json::json!([{"path": "a.yaml", "environment": "dev", "changes": [{
            "line": 3, "kind": "Pod", "name": "p", "namespace": null, "container": "c",
            "field": "imagePullPolicy", "from": from, "to": "Always"}]}]);
        report
    };
    for from in [Value::Null, Value::String("IfNotPresent".into()), Value::String("always".into())] {
        assert_eq!(schema_problems(&change(from.clone())), Vec::<String>::new(), "from {from}");
    }
    assert_eq!(schema_problems(&change(serde_json::json!(3))).len(), 1);
    // A change a generated overlay patch carries names the base it is shown in, the overlay and its patch line.
    let mut carried = change(Value::Null);
    let located = serde_json::json!({"path": "base/web.yaml", "overlay": "overlays/prod", "patchLine": 9});
    for (key, value) in located.as_object().expect("an object") {
        carried["files"][0]["changes"][0][key] = value.clone();
    }
    assert_eq!(schema_problems(&carried), Vec::<String>::new());
    let mut half = carried.clone();
    half["files"][0]["changes"][0].as_object_mut().expect("an object").remove("patchLine");
    assert_eq!(schema_problems(&half).len(), 1, "an overlay without its patch line: {:?}", schema_problems(&half));
}

#[test]
fn sarif_has_the_2_1_0_structure_and_points_at_lines() {
    let repo = example_copy();
    let output = pullsmith().args(["check", "--format", "sarif"]).arg(repo.path()).output().expect("runs");
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    let sarif: Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "pullsmith");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().expect("rule id")).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids.len(), unique.len(), "one rule per finding type");
    for rule in rules {
        assert!(rule["shortDescription"]["text"].is_string());
        assert!(["note", "warning", "error"].contains(&rule["defaultConfiguration"]["level"].as_str().unwrap()));
    }
    let results = run["results"].as_array().expect("results");
    assert!(results.len() > 5);
    for result in results {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(result["ruleId"], rules[index]["id"]);
        assert!(result["message"]["text"].is_string());
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().expect("uri");
        let line = location["region"]["startLine"].as_u64().expect("startLine") as usize;
        assert!(line >= 1);
        let text = std::fs::read_to_string(repo.path().join(uri)).expect("the uri names a file");
        let source_line = text.lines().nth(line - 1).unwrap_or_default();
        match result["ruleId"].as_str().unwrap() {
            "image-pull-policy" => assert!(
                source_line.contains("image:") || source_line.contains("imagePullPolicy:"),
                "{uri}:{line} `{source_line}`"
            ),
            "file-error" => assert_eq!(uri, "dev/broken.yaml"),
            _ => {}
        }
    }
    assert!(results.iter().any(|r| r["ruleId"] == "latest-if-not-present" || r["ruleId"] == "image-pull-policy"));
}

#[test]
fn github_format_writes_annotations_summary_and_outputs() {
    let repo = tempfile::tempdir().expect("tempdir");
    copy_tree(&project_root().join("examples/plain"), repo.path());
    let summary = repo.path().join("../summary.md");
    let outputs = repo.path().join("../outputs.txt");
    let output = pullsmith()
        .args(["check", "--format", "github"])
        .arg(repo.path())
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let annotations: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::warning file=")).collect();
    assert!(!annotations.is_empty(), "{stdout}");
    // GitHub shows 10 warnings per step: past that, nine and one that sums up the rest.
    let n_warnings = stdout.lines().filter(|l| l.starts_with("::warning ")).count();
    assert!(n_warnings <= 10, "{stdout}");
    for annotation in &annotations {
        let properties = annotation.trim_start_matches("::warning ").split("::").next().unwrap();
        let field = |key: &str| {
            properties.split(',').find_map(|p| p.strip_prefix(&format!("{key}="))).expect("property present")
        };
        assert!(field("title").starts_with("pullsmith"));
        let line: usize = field("line").parse().expect("a line number");
        let text = std::fs::read_to_string(repo.path().join(field("file"))).expect("annotated file exists");
        let source_line = text.lines().nth(line - 1).expect("line exists");
        assert!(
            ["image:", "imagePullPolicy:", "spec:", "imagePullSecrets:"].iter().any(|k| source_line.contains(k)),
            "{annotation} points at `{source_line}`"
        );
    }
    let summary = std::fs::read_to_string(&summary).expect("summary written");
    assert!(summary.starts_with("## pullsmith"), "{summary}");
    assert!(summary.contains("| environment | files | containers | pod specs |"), "{summary}");
    assert!(summary.contains("| `dev` |") && summary.contains("| `prod` |"), "{summary}");
    assert!(
        summary.contains("<details><summary>Diff</summary>") && summary.contains("```diff\ndiff --git"),
        "{summary}"
    );
    let outputs = std::fs::read_to_string(&outputs).expect("outputs written");
    assert!(outputs.contains("changed=true\n"), "{outputs}");
    let files_changed = outputs.lines().find_map(|l| l.strip_prefix("files-changed=")).expect("files-changed");
    assert!(files_changed.parse::<usize>().expect("a number") > 0);
    assert!(outputs.contains("containers-changed="), "{outputs}");

    // After apply, the same run says the repository is compliant.
    pullsmith().arg("apply").arg(repo.path()).assert().success();
    let clean = repo.path().join("../outputs-after.txt");
    let output = pullsmith()
        .args(["check", "--format", "github"])
        .arg(repo.path())
        .env("GITHUB_OUTPUT", &clean)
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(std::fs::read_to_string(&clean).expect("outputs").contains("changed=false\nfiles-changed=0\n"));
}

// ------------------------------------------------------- every location exists

/// A git repository holding a copy of `from` (or the files given), committed:
/// what a pull request's checkout looks like before pullsmith writes anything.
fn git_repo_of(from: Option<&Path>, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    if let Some(from) = from {
        copy_tree(from, dir.path());
    }
    for (path, text) in files {
        write(dir.path(), path, text);
    }
    let git = |args: &[&str]| {
        let output = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("git runs");
        assert!(output.status.success(), "git {args:?}: {}", describe(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "seed"]);
    dir
}

fn tracked_files(root: &Path) -> Vec<String> {
    let output =
        std::process::Command::new("git").arg("ls-files").current_dir(root).output().expect("git ls-files runs");
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect()
}

/// `pullsmith check --format FORMAT .` run from the repository root.
fn check_as(root: &Path, format: &str) -> std::process::Output {
    pullsmith().args(["check", "--format", format, "."]).current_dir(root).output().expect("runs")
}

/// A property of a workflow-command line (`::warning file=F,line=L::…`).
fn property<'a>(command: &'a str, key: &str) -> Option<&'a str> {
    let properties = command.split_once(' ')?.1.split("::").next()?;
    properties.split(',').find_map(|p| p.strip_prefix(&format!("{key}=")))
}

/// Every (path, line) a report in `format` points at.
fn locations(format: &str, stdout: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let number = |v: &Value| v.as_u64().expect("a line number") as usize;
    match format {
        "github" => {
            for line in stdout.lines().filter(|l| l.starts_with("::")) {
                if let Some(file) = property(line, "file") {
                    out.push((file.to_string(), property(line, "line").expect("line=").parse().expect("a number")));
                }
            }
        }
        "sarif" => {
            let sarif: Value = serde_json::from_str(stdout).expect("SARIF is JSON");
            for result in sarif["runs"][0]["results"].as_array().expect("results") {
                let location = &result["locations"][0]["physicalLocation"];
                let uri = location["artifactLocation"]["uri"].as_str().expect("uri");
                out.push((uri.to_string(), number(&location["region"]["startLine"])));
            }
        }
        "json" => {
            let report: Value = serde_json::from_str(stdout).expect("JSON");
            assert_valid(&report);
            for file in report["files"].as_array().expect("files") {
                for change in file["changes"].as_array().expect("changes") {
                    out.push((change["path"].as_str().expect("path").to_string(), number(&change["line"])));
                }
            }
            for item in report["warnings"].as_array().expect("warnings") {
                if !item["line"].is_null() {
                    out.push((item["path"].as_str().expect("path").to_string(), number(&item["line"])));
                }
            }
        }
        "rdjson" => {
            let result: Value = serde_json::from_str(stdout).expect("rdjson is JSON");
            for diagnostic in result["diagnostics"].as_array().expect("diagnostics") {
                let path = diagnostic["location"]["path"].as_str().expect("path").to_string();
                let range = &diagnostic["location"]["range"];
                out.push((path.clone(), number(&range["start"]["line"])));
                out.push((path, number(&range["end"]["line"])));
            }
        }
        "gitlab" => {
            let issues: Value = serde_json::from_str(stdout).expect("Code Quality is JSON");
            for issue in issues.as_array().expect("an array") {
                let path = issue["location"]["path"].as_str().expect("path").to_string();
                out.push((path, number(&issue["location"]["lines"]["begin"])));
            }
        }
        _ => unreachable!("no such format {format}"),
    }
    out
}

/// podinfo's kustomize layout: one base, shared by a dev, a staging and a prod overlay.
const PODINFO_LIKE: &[(&str, &str)] = &[
    ("kustomize/base/kustomization.yaml", "resources:\n  - deployment.yaml\n  - service.yaml\n"),
    (
        "kustomize/base/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  selector:\n    matchLabels:\n      app: podinfo\n  template:\n    metadata:\n      labels:\n        app: podinfo\n    spec:\n      initContainers:\n        - name: init\n          image: busybox:1.36\n      containers:\n        - name: podinfod\n          image: ghcr.io/stefanprodan/podinfo:6.5.4\n          imagePullPolicy: Always\n          ports:\n            - containerPort: 9898\n        - name: sidecar\n          image: nginx:latest\n",
    ),
    (
        "kustomize/base/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: podinfo\nspec:\n  ports:\n    - port: 9898\n",
    ),
    ("kustomize/overlays/dev/kustomization.yaml", "resources:\n  - ../../base\n"),
    ("kustomize/overlays/staging/kustomization.yaml", "namespace: staging\nresources:\n  - ../../base\n"),
    ("kustomize/overlays/prod/kustomization.yaml", "resources:\n  - ../../base\nnamePrefix: prod-\n"),
];

#[test]
fn on_kustomize_trees_every_location_is_a_line_of_a_file_in_the_repository() {
    let kustomize = git_repo_of(Some(&project_root().join("examples/kustomize")), &[]);
    let podinfo = git_repo_of(None, PODINFO_LIKE);
    // And a plain tree with a file whose parse error is at its end, the line after its last.
    let broken =
        git_repo_of(Some(&project_root().join("examples/plain")), &[("dev/broken.yaml", "kind: Pod\nspec: [x\n")]);
    let mut repos = vec![(kustomize, true), (podinfo, true), (broken, false)];
    // podinfo itself, when the shared corpus is there.
    if let Some(shared) = crate::util::shared_dir().filter(|dir| dir.join("corpus/podinfo").is_dir()) {
        repos.push((git_repo_of(Some(&shared.join("corpus/podinfo")), &[]), true));
    }
    for (repo, is_kustomize) in &repos {
        let is_kustomize = *is_kustomize;
        let root = repo.path();
        let tracked = tracked_files(root);
        let mut in_bases = 0;
        for format in ["github", "sarif", "json", "rdjson", "gitlab"] {
            let output = check_as(root, format);
            let expected_code = if is_kustomize { 1 } else { 3 };
            assert_eq!(output.status.code(), Some(expected_code), "{format}: {}", describe(&output));
            let stdout = String::from_utf8_lossy(&output.stdout);
            let found = locations(format, &stdout);
            // (The JSON report's `errors` keep the parser's position, as the text output does.)
            if !is_kustomize && format != "json" {
                assert!(found.iter().any(|(path, _)| path == "dev/broken.yaml"), "{format}: {stdout}");
            }
            assert!(found.len() >= 4, "{format}: {stdout}");
            for (path, line) in found {
                assert!(tracked.contains(&path), "{format}: `{path}` is not a file of the repository: {stdout}");
                assert!(!path.contains("pullsmith."), "{format}: `{path}`");
                let text = std::fs::read_to_string(root.join(&path)).expect("a tracked file");
                assert!(line >= 1 && line <= text.lines().count(), "{format}: {path}:{line} is no line of it");
                in_bases += usize::from(path.contains("base") || path.contains("components/"));
            }
            if format == "rdjson" {
                // A change a generated patch carries has no in-place suggestion, and names its overlay.
                let result: Value = serde_json::from_str(&stdout).expect("rdjson");
                for diagnostic in result["diagnostics"].as_array().expect("diagnostics") {
                    let message = diagnostic["message"].as_str().expect("message");
                    if message.contains("(generated patch `") {
                        assert!(message.contains(" in overlay `"), "{message}");
                        assert!(diagnostic.get("suggestions").is_none(), "{diagnostic}");
                    }
                }
            }
            if format == "json" && is_kustomize {
                let report: Value = serde_json::from_str(&stdout).expect("JSON");
                // files[] still says which file is written: the generated patch, with its line there.
                let generated = report["files"]
                    .as_array()
                    .expect("files")
                    .iter()
                    .filter(|f| f["path"].as_str().is_some_and(|p| p.ends_with("/pullsmith.patch.yaml")))
                    .count();
                assert!(generated >= 1, "changes carried by an overlay patch: {report:#}");
            }
        }
        assert!(in_bases > 0 || !is_kustomize, "changes carried by overlay patches are shown in the shared base");
    }
}

// ------------------------------------------------- GitHub's 10 per kind

#[test]
fn github_shows_ten_annotations_of_a_kind_and_sums_up_the_rest() {
    let rules = "version: 1\nenvironments:\n  prod:\n    paths: [\"prod/**\"]\n    imagePullPolicy: IfNotPresent\n";
    let pod = |name: &str, containers: usize| {
        let mut text = format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n");
        for i in 0..containers {
            text.push_str(&format!("    - name: c{i}\n      image: nginx:latest\n"));
        }
        text
    };
    let mut files: Vec<(String, String)> = vec![(".pullsmith.yaml".into(), rules.into())];
    // The first file holds three containers: one per file comes before a second in it.
    files.push(("prod/app-00.yaml".into(), pod("app-00", 3)));
    for i in 1..12 {
        files.push((format!("prod/app-{i:02}.yaml"), pod(&format!("app-{i:02}"), 1)));
        files.push((format!("prod/broken-{i:02}.yaml"), "apiVersion: v1\nkind: Pod\nspec: [unclosed\n".into()));
    }
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let repo = git_repo_of(None, &borrowed);
    let root = repo.path();
    let summary = root.join("../summary.md");
    let output = pullsmith()
        .args(["check", "--format", "github", "."])
        .current_dir(root)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = std::fs::read_to_string(&summary).expect("summary written");
    let report: Value = serde_json::from_slice(&check_as(root, "json").stdout).expect("JSON");
    let mut expected: Vec<(&str, String, usize)> = Vec::new();
    for file in report["files"].as_array().expect("files") {
        for change in file["changes"].as_array().expect("changes") {
            let line = change["line"].as_u64().expect("line") as usize;
            expected.push(("warning", change["path"].as_str().expect("path").to_string(), line));
        }
    }
    for error in report["errors"].as_array().expect("errors") {
        // The report keeps the parser's position, past the last line; annotations show the last line.
        let path = error["path"].as_str().expect("path");
        let n_lines = std::fs::read_to_string(root.join(path)).expect("read").lines().count();
        let line = (error["line"].as_u64().unwrap_or(1) as usize).min(n_lines);
        expected.push(("error", path.to_string(), line));
    }
    for warning in report["warnings"].as_array().expect("warnings") {
        let line = warning["line"].as_u64().unwrap_or(1) as usize;
        expected.push(("notice", warning["path"].as_str().expect("path").to_string(), line));
    }
    for kind in ["error", "warning", "notice"] {
        let of_kind: Vec<&str> = stdout.lines().filter(|l| l.starts_with(&format!("::{kind} "))).collect();
        let total = expected.iter().filter(|(k, ..)| *k == kind).count();
        assert!(total > 10, "the repository makes more than 10 {kind}s: {total}");
        assert_eq!(of_kind.len(), 10, "{kind}: {stdout}");
        let located: Vec<&&str> = of_kind.iter().filter(|l| property(l, "file").is_some()).collect();
        assert_eq!(located.len(), 9, "{stdout}");
        let distinct: std::collections::BTreeSet<&str> = located.iter().filter_map(|l| property(l, "file")).collect();
        assert_eq!(distinct.len(), 9, "one per file before a second in the same file: {stdout}");
        let more = format!("::{kind} title=pullsmith::… and {} more pullsmith {kind}s: see the job summary", total - 9);
        assert!(of_kind.iter().any(|l| l.starts_with(&more)), "`{more}` in {stdout}");
    }
    assert!(summary.contains("### Not shown as annotations"), "{summary}");
    // Never lost silently: each is an annotation or a line of the job summary.
    let annotated: Vec<(&str, &str, usize)> = stdout
        .lines()
        .filter_map(|l| {
            let kind = l.strip_prefix("::")?.split(' ').next()?;
            Some((kind, property(l, "file")?, property(l, "line")?.parse().ok()?))
        })
        .collect();
    for (kind, path, line) in &expected {
        let listed = summary.contains(&format!("- {kind} {path}:{line}: "));
        let shown = annotated.contains(&(*kind, path.as_str(), *line));
        assert!(listed || shown, "{kind} {path}:{line} is neither annotated nor in the summary:\n{summary}");
        assert!(!(listed && shown), "{kind} {path}:{line} is both annotated and listed as not shown");
    }
}

// ------------------------------------------------------------------ rdjson

/// A validator for reviewdog's `DiagnosticResult.json` (draft-04), with every
/// file of `tests/schemas/reviewdog-rdf/` registered under one base URI, so
/// that a `$ref` between them resolves offline.
fn rdjson_validator(root_schema: &str) -> jsonschema::Validator {
    const BASE: &str = "https://reviewdog.invalid/rdf/";
    let dir = project_root().join("tests/schemas/reviewdog-rdf");
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).expect("schema file")).expect("schema is JSON")
    };
    let mut options = jsonschema::options().with_draft(jsonschema::Draft::Draft4).with_base_uri(BASE);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("schema dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 9, "{names:?}");
    for name in &names {
        let resource = jsonschema::Resource::from_contents(read(name)).expect("a schema resource");
        options = options.with_resource(format!("{BASE}{name}"), resource);
    }
    options.build(&read(root_schema)).expect("reviewdog's schema builds")
}

fn rdjson_problems(validator: &jsonschema::Validator, value: &Value) -> Vec<String> {
    validator.iter_errors(value).map(|e| format!("{}: {e}", e.instance_path)).collect()
}

/// Applies reviewdog suggestions with line-wise ranges (no columns): lines
/// `start..=end` lose their text (not the last one's line break) for `text`.
fn apply_line_suggestions(text: &str, mut suggestions: Vec<(usize, usize, String)>) -> String {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    suggestions.sort_by_key(|s| std::cmp::Reverse(s.0));
    for pair in suggestions.windows(2) {
        assert!(pair[1].1 < pair[0].0, "suggestions overlap: {pair:?}");
    }
    for (start, end, new) in suggestions {
        assert!(start >= 1 && start <= end && end <= lines.len(), "{start}..={end} of {} lines", lines.len());
        let last = &lines[end - 1];
        let line_break = if last.ends_with("\r\n") {
            "\r\n"
        } else if last.ends_with('\n') {
            "\n"
        } else {
            ""
        };
        let replacement = format!("{new}{line_break}");
        lines.splice(start - 1..end, [replacement]);
    }
    lines.concat()
}

/// The rdjson of `root` validates against reviewdog's schema, and its
/// suggestions, applied to each file's text, give exactly what `apply` writes.
fn assert_rdjson_suggestions_are_apply(root: &Path) {
    let output = check_as(root, "rdjson");
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let result: Value = serde_json::from_slice(&output.stdout).expect("rdjson is JSON");
    let problems = rdjson_problems(&rdjson_validator("DiagnosticResult.json"), &result);
    assert!(problems.is_empty(), "not a DiagnosticResult:\n{}\n{result:#}", problems.join("\n"));
    let diagnostic_validator = rdjson_validator("Diagnostic.json");
    let mut by_file: std::collections::BTreeMap<String, Vec<(usize, usize, String)>> = Default::default();
    for diagnostic in result["diagnostics"].as_array().expect("diagnostics") {
        assert_eq!(rdjson_problems(&diagnostic_validator, diagnostic), Vec::<String>::new(), "{diagnostic}");
        assert!(["ERROR", "WARNING", "INFO"].contains(&diagnostic["severity"].as_str().expect("severity")));
        assert!(diagnostic["code"]["value"].is_string(), "{diagnostic}");
        let path = diagnostic["location"]["path"].as_str().expect("path");
        for suggestion in diagnostic["suggestions"].as_array().into_iter().flatten() {
            let range = &suggestion["range"];
            // The diagnostic covers the lines its suggestion replaces, as reviewdog requires.
            assert_eq!(&diagnostic["location"]["range"], range, "{diagnostic}");
            assert!(range["start"].get("column").is_none() && range["end"].get("column").is_none());
            let line = |end: &str| range[end]["line"].as_u64().expect("line") as usize;
            let text = suggestion["text"].as_str().expect("text").to_string();
            by_file.entry(path.to_string()).or_default().push((line("start"), line("end"), text));
        }
    }
    let work_tree = |root: &Path| {
        let mut files = crate::util::read_tree(root);
        files.retain(|(path, _)| !path.starts_with(".git/"));
        files
    };
    let before = work_tree(root);
    pullsmith().arg("apply").arg(root).assert().success();
    let after = work_tree(root);
    let mut n_changed = 0;
    for ((path, old), (after_path, new)) in before.iter().zip(&after) {
        assert_eq!(path, after_path, "apply made or removed files");
        let old = String::from_utf8(old.clone()).expect("UTF-8");
        let suggested = apply_line_suggestions(&old, by_file.remove(path).unwrap_or_default());
        assert_eq!(suggested.as_bytes(), &new[..], "{path}: the suggestions give what apply writes");
        n_changed += usize::from(old.as_bytes() != &new[..]);
    }
    assert!(by_file.is_empty(), "suggestions for files that are not there: {by_file:?}");
    assert!(n_changed > 0);
}

#[test]
fn rdjson_validates_and_its_suggestions_give_what_apply_writes() {
    let plain = git_repo_of(Some(&project_root().join("examples/plain")), &[]);
    assert_rdjson_suggestions_are_apply(plain.path());

    // CRLF, no final line break, secrets inserted at the end of the file, and
    // two changes on one line (an inserted policy right before the inserted
    // secrets): one suggestion each for lines that do not touch.
    let rules = "version: 1\nenvironments:\n  prod:\n    paths: [\"prod/**\"]\n    imagePullPolicy: IfNotPresent\n    imagePullSecrets: [regcred]\nprovidedSecrets: [regcred]\n";
    let crlf = "apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: a # café\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: nginx:1.25\r\n    imagePullPolicy: Always\r\n  - name: b\r\n    image: redis:7\r\n";
    let no_final_break =
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: b\nspec:\n  containers:\n  - name: b\n    image: redis:7";
    let edge = git_repo_of(
        None,
        &[(".pullsmith.yaml", rules), ("prod/crlf.yaml", crlf), ("prod/no-final-break.yaml", no_final_break)],
    );
    assert_rdjson_suggestions_are_apply(edge.path());
}

#[test]
fn rdjson_schema_rejects_what_it_should() {
    let validator = rdjson_validator("DiagnosticResult.json");
    let good = serde_json::json!({"diagnostics": [{"message": "m", "location": {"path": "a.yaml",
        "range": {"start": {"line": 1}}}, "severity": "WARNING", "suggestions": [{"range": {"start": {"line": 1}}, "text": "x"}]}]});
    assert_eq!(rdjson_problems(&validator, &good), Vec::<String>::new());
    let mut bad = good.clone();
    bad["diagnostics"][0]["severity"] = Value::String("SEVERE".into());
    bad["diagnostics"][0]["suggestions"][0]["text"] = serde_json::json!(3);
    assert_eq!(rdjson_problems(&validator, &bad).len(), 2, "{:?}", rdjson_problems(&validator, &bad));
}

// ------------------------------------------------------------------ GitLab

#[test]
fn gitlab_code_quality_has_stable_unique_fingerprints_and_real_locations() {
    let plain =
        git_repo_of(Some(&project_root().join("examples/plain")), &[("dev/broken.yaml", "kind: Pod\nspec: [x\n")]);
    let kustomize = git_repo_of(Some(&project_root().join("examples/kustomize")), &[]);
    for repo in [&plain, &kustomize] {
        let root = repo.path();
        let first = check_as(root, "gitlab");
        assert!(matches!(first.status.code(), Some(1 | 3)), "{}", describe(&first));
        let issues: Value = serde_json::from_slice(&first.stdout).expect("JSON");
        let issues = issues.as_array().expect("a JSON array");
        assert!(issues.len() > 5, "{issues:?}");
        let mut fingerprints = std::collections::BTreeSet::new();
        for issue in issues {
            for key in ["description", "check_name", "fingerprint", "severity"] {
                assert!(issue[key].as_str().is_some_and(|v| !v.is_empty()), "{key} in {issue}");
            }
            assert!(fingerprints.insert(issue["fingerprint"].as_str().unwrap().to_string()), "unique: {issue}");
            let severity = issue["severity"].as_str().unwrap();
            assert!(["info", "minor", "major", "critical", "blocker"].contains(&severity), "{issue}");
            let path = issue["location"]["path"].as_str().expect("location.path");
            assert!(!path.starts_with('/') && !path.split('/').any(|s| s == ".." || s == "."), "{path}");
            let line = issue["location"]["lines"]["begin"].as_u64().expect("lines.begin") as usize;
            let text = std::fs::read_to_string(root.join(path)).expect("the path is a file of the repository");
            assert!(line >= 1 && line <= text.lines().count().max(1), "{path}:{line}");
        }
        let second = check_as(root, "gitlab");
        assert_eq!(first.stdout, second.stdout, "two runs, one report");
    }
    // A line added above a finding does not make it a new one.
    let root = plain.path();
    let before: Value = serde_json::from_slice(&check_as(root, "gitlab").stdout).expect("JSON");
    let web = std::fs::read_to_string(root.join("dev/web.yaml")).expect("read");
    std::fs::write(root.join("dev/web.yaml"), format!("# a comment\n{web}")).expect("write");
    let after: Value = serde_json::from_slice(&check_as(root, "gitlab").stdout).expect("JSON");
    let prints = |v: &Value| -> Vec<String> {
        v.as_array().unwrap().iter().map(|i| i["fingerprint"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(prints(&before), prints(&after));
    assert_ne!(before, after, "the lines moved");
}
