//! Messages a user acts on (issue 11, item 6): every mistake of a rules file
//! at once, help that lists only the options that apply, no option silently
//! ignored.

use crate::util::{describe, pullsmith, stderr};

#[test]
fn rules_validate_reports_every_mistake_at_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = "version: 1\nenvironments:\n  dev:\n    paths: [\"dev/**\", \"dev/[\"]\n    imagePullPolicy: always\n    pullPolicy: Always\n  prod:\n    imagePullPolicy: IfNotPresnt\n    imagePullSecrets: [Reg_Cred]\nimages:\n  - match: \"*:latest\"\nworkloads:\n  - kind: Rollout\ndefaultEnvironment: qa\nfrobnicate: true\n";
    std::fs::write(dir.path().join("rules.yaml"), rules).expect("write");
    let output = pullsmith().current_dir(dir.path()).args(["rules", "validate", "rules.yaml"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let lines: Vec<String> = stderr(&output).lines().map(str::to_string).collect();
    let at: Vec<&str> = lines.iter().map(|l| l.split(": ").nth(1).unwrap_or_default()).collect();
    assert_eq!(
        at,
        vec![
            "rules.yaml:4:23",
            "rules.yaml:5:22",
            "rules.yaml:6:5",
            "rules.yaml:8:22",
            "rules.yaml:9:24",
            "rules.yaml:11:5",
            "rules.yaml:13:5",
            "rules.yaml:14:1",
            "rules.yaml:15:1"
        ],
        "{lines:#?}"
    );
    for (line, word) in lines.iter().zip([
        "dev/[",
        "always",
        "pullPolicy",
        "IfNotPresnt",
        "Reg_Cred",
        "must set",
        "podSpecPath",
        "qa",
        "frobnicate",
    ]) {
        assert!(line.contains(word), "`{line}` names `{word}`");
    }
    // The same listing stops any other command, before anything is read.
    let output =
        pullsmith().current_dir(dir.path()).args(["--rules", "rules.yaml", "check", "."]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stderr(&output).lines().count(), lines.len(), "{}", describe(&output));
}

#[test]
fn help_lists_only_the_options_that_apply() {
    let help = |args: &[&str]| {
        let output = pullsmith().args(args).arg("--help").output().expect("runs");
        assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    for command in [&["rules", "schema"][..], &["rules", "default"]] {
        let text = help(command);
        for option in ["--include", "--format", "--rules", "--jobs"] {
            assert!(!text.contains(option), "{command:?} --help lists {option}:\n{text}");
        }
    }
    let validate = help(&["rules", "validate"]);
    assert!(validate.contains("--rules") && validate.contains("--env") && validate.contains("[FILE]"), "{validate}");
    assert!(!validate.contains("--include") && !validate.contains("--format"), "{validate}");
    let check = help(&["check"]);
    for option in ["--include", "--format", "--rules", "--diff", "--max-file-size"] {
        assert!(check.contains(option), "check --help lists {option}:\n{check}");
    }
}

#[test]
fn an_option_a_command_does_not_take_is_refused() {
    let output = pullsmith().args(["rules", "schema", "--format", "json"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr(&output).contains("`rules schema` takes no --format option"), "{}", describe(&output));
    assert!(output.stdout.is_empty());
    let output = pullsmith().args(["--include", "x/**", "rules", "default"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
}

#[test]
fn explain_json_carries_the_reasons() {
    let dir = tempfile::tempdir().expect("temp dir");
    crate::util::copy_tree(&crate::util::project_root().join("examples/kustomize"), dir.path());
    let output = pullsmith().args(["--format", "json", "explain"]).arg(dir.path()).output().expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    let text = std::fs::read_to_string(crate::util::project_root().join("docs/explain.schema.json")).expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("a valid schema");
    let problems: Vec<String> = validator.iter_errors(&report).map(|e| format!("{}: {e}", e.instance_path)).collect();
    assert!(problems.is_empty(), "{problems:?}\n{report:#}");
    // Not a copy of check's report: environments with how they were chosen, rules, images.
    assert!(report.get("summary").is_none(), "{report:#}");
    let toolbox = &report["files"][0]["containers"][0];
    assert_eq!(toolbox["environment"]["by"], "overlay", "{report:#}");
    assert_eq!(toolbox["environment"]["name"], "dev");
    assert_eq!(toolbox["decidedBy"], "images[0] match `*:latest`");
    let dev = report["overlays"].as_array().unwrap().iter().find(|o| o["overlay"] == "overlays/dev").expect("dev");
    let migrate = dev["settings"].as_array().unwrap().iter().find(|s| s["container"] == "migrate").expect("migrate");
    assert_eq!(migrate["list"], "initContainers");
    assert_eq!(migrate["basePath"], "base/web.yaml");
    assert_eq!(migrate["to"], "Always");
}

#[test]
fn explain_json_of_helm_releases_matches_its_schema() {
    let text = std::fs::read_to_string(crate::util::project_root().join("docs/explain.schema.json")).expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("a valid schema");
    for example in ["examples/helm/flux", "examples/helm/argocd"] {
        let dir = tempfile::tempdir().expect("temp dir");
        crate::util::copy_tree(&crate::util::project_root().join(example), dir.path());
        let output = pullsmith().args(["--format", "json", "explain"]).arg(dir.path()).output().expect("runs");
        assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
        let problems: Vec<String> =
            validator.iter_errors(&report).map(|e| format!("{}: {e}", e.instance_path)).collect();
        assert!(problems.is_empty(), "{example}: {problems:?}\n{report:#}");
        let releases = report["releases"].as_array().expect("releases");
        assert!(releases.len() >= 3, "{example}: {report:#}");
        assert!(
            releases.iter().all(|r| r["keys"].as_array().is_some_and(|k| !k.is_empty())),
            "{example}: every release has its keys: {report:#}"
        );
    }
}
