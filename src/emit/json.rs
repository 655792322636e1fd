//! `--format json`: one JSON document, version 1, documented in the README.

use serde_json::{json, Value};

use crate::common::FieldValue;
use crate::pipeline::{FileStatus, RunReport};

/// A field's value as JSON: a policy string, or a list of secret names.
pub(crate) fn value(field: &FieldValue) -> Value {
    match field {
        FieldValue::Policy(policy) => json!(policy),
        FieldValue::Secrets(names) => json!(names),
    }
}

pub fn render(report: &RunReport, commit: Option<&str>) -> String {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut errors = Vec::new();
    for file in &report.files {
        match &file.status {
            FileStatus::Changed { .. } => {
                let plan = file.plan.as_ref().expect("a changed file has a plan");
                let changes: Vec<Value> = plan
                    .changes
                    .iter()
                    .map(|c| {
                        // Located where the pull request shows it: for a change a generated
                        // overlay patch carries, the shared base (the entry's `path` is the
                        // file written; `patchLine` is the line in it).
                        let (path, line) = c.location(&file.path);
                        let mut change = json!({
                            "path": path,
                            "line": line,
                            "kind": c.kind,
                            "name": c.name,
                            "namespace": c.namespace,
                            "container": c.container,
                            "field": c.field.as_str(),
                            "from": c.from.as_ref().map(value),
                            "to": value(&c.to),
                        });
                        if let Some(key) = &c.values_key {
                            change["valuesKey"] = json!(key);
                        }
                        if let Some(carried) = &c.carried {
                            change["overlay"] = json!(carried.overlay);
                            change["patchLine"] = json!(c.line);
                        }
                        change
                    })
                    .collect();
                files.push(json!({ "path": file.path, "environment": plan.environment, "changes": changes }));
            }
            FileStatus::Skipped(reason) => skipped.push(json!({ "path": file.path, "reason": reason })),
            FileStatus::Failed(d) => errors.push(json!({
                "path": d.path, "line": d.line, "column": d.column, "message": d.message,
            })),
            FileStatus::Unchanged => {}
        }
    }
    let not_covered: Vec<Value> = report
        .not_covered
        .iter()
        .map(|n| json!({ "path": n.path, "line": n.line, "kind": n.kind, "name": n.name, "reason": n.reason }))
        .collect();
    let warnings: Vec<Value> =
        report.warnings.iter().map(|w| json!({ "path": w.path, "line": w.line, "message": w.message })).collect();
    let document = json!({
        "version": 1,
        "rules": report.rules,
        "files": files,
        "warnings": warnings,
        "errors": errors,
        "skipped": skipped,
        "notCovered": not_covered,
        "summary": {
            "filesScanned": report.n_scanned(),
            "filesChanged": report.n_changed(),
            "containersChanged": report.n_containers_changed(),
            "podSpecsChanged": report.n_pod_specs_changed(),
            "errors": report.errors().count(),
            "containersCovered": report.containers_covered,
            "containersWithoutEnvironment": report.containers_without_environment,
            "filesWithoutEnvironment": report.files_without_environment,
            "notCovered": report.not_covered.len(),
        },
        "commit": commit,
    });
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values always serialize");
    text.push('\n');
    text
}
