//! The machine-readable outputs: JSON against its documented schema
//! (docs/report.schema.json), SARIF against the 2.1.0 structure, and
//! `--format github` annotations, job summary and step outputs.

use serde_json::Value;

use crate::util::{copy_tree, describe, project_root, pullsmith};

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
                    "containersCovered": 0, "containersWithoutEnvironment": 0, "notCovered": 0},
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
