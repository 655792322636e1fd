//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning. One rule per kind
//! of finding; every result points at a file and line.

use serde_json::{json, Value};

use crate::common::{Field, FieldValue};
use crate::pipeline::{FileStatus, RunReport};

/// (id, name, short description, level) of every rule a result may name.
const RULES: [(&str, &str, &str, &str); 11] = [
    (
        "image-pull-policy",
        "ImagePullPolicy",
        "A container's imagePullPolicy differs from what its environment calls for",
        "warning",
    ),
    ("image-pull-secrets", "ImagePullSecrets", "A pod lacks image pull secrets its environment calls for", "warning"),
    (
        "latest-if-not-present",
        "LatestIfNotPresent",
        "A :latest or untagged image is pulled IfNotPresent, so nodes may run a stale build",
        "warning",
    ),
    (
        "undefined-pull-secret",
        "UndefinedPullSecret",
        "A pull secret is defined by no Secret, SealedSecret or ExternalSecret of the environment",
        "note",
    ),
    (
        "missing-service-account",
        "MissingServiceAccount",
        "A ServiceAccount that should receive pull secrets is not in the repository",
        "note",
    ),
    (
        "inherited-secrets",
        "InheritedSecrets",
        "A pod given pull secrets of its own stops inheriting those of a ServiceAccount that is not in the repository",
        "warning",
    ),
    ("kustomize", "Kustomize", "A kustomization could not be followed completely", "note"),
    ("unmatched-glob", "UnmatchedGlob", "A path glob of the rules file matches no file of the repository", "warning"),
    ("linked-directory", "LinkedDirectory", "A linked directory leaves the repository and is not followed", "note"),
    ("untracked-file", "UntrackedFile", "A file git does not track was not rewritten", "note"),
    ("file-error", "FileError", "A file could not be processed and was left untouched", "error"),
];

/// The level (`error`, `warning`, `note`) of a rule id; `note` for one not in the table.
pub fn rule_level(rule: &str) -> &'static str {
    RULES.iter().find(|(id, ..)| *id == rule).map_or("note", |r| r.3)
}

/// The ids of every rule, with their short descriptions.
pub fn rule_descriptions() -> impl Iterator<Item = (&'static str, &'static str)> {
    RULES.iter().map(|(id, _, text, _)| (*id, *text))
}

fn result(rule: &str, level: &str, message: String, path: &str, line: Option<usize>, column: Option<usize>) -> Value {
    let rule_index = RULES.iter().position(|(id, ..)| *id == rule).unwrap_or(RULES.len() - 1);
    let mut region = json!({ "startLine": line.unwrap_or(1).max(1) });
    if let Some(column) = column {
        region["startColumn"] = json!(column.max(1));
    }
    json!({
        "ruleId": RULES[rule_index].0,
        "ruleIndex": rule_index,
        "level": level,
        "message": { "text": message },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": uri_path(path), "uriBaseId": "%SRCROOT%" },
                "region": region,
            }
        }],
    })
}

/// A repository path as a relative URI reference, as SARIF wants it: every
/// byte but unreserved characters and `/` percent-encoded (a space, `#`,
/// `%`, a newline or a non-ASCII name stay one path).
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub fn render(report: &RunReport) -> String {
    let mut results = Vec::new();
    for file in &report.files {
        match &file.status {
            FileStatus::Changed { .. } => {
                let Some(plan) = &file.plan else { continue };
                for change in &plan.changes {
                    let rule = match change.field {
                        Field::ImagePullPolicy => "image-pull-policy",
                        Field::ImagePullSecrets => "image-pull-secrets",
                    };
                    let subject = change.subject();
                    let message = format!(
                        "{}: {} should be {} for {subject} in environment `{}`{}",
                        change.field.as_str(),
                        FieldValue::show(change.from.as_ref()),
                        change.to,
                        change.environment,
                        change.overlay_note(&file.path),
                    );
                    // A carried change is shown in the shared base: the generated patch may not exist yet.
                    let (path, line) = change.location(&file.path);
                    results.push(result(rule, "warning", message, path, Some(line), None));
                }
            }
            FileStatus::Failed(d) => {
                // An error at the end of the file is on the line after its last: shown on the last.
                let past_end = matches!((d.line, file.n_lines), (Some(line), Some(n)) if line > n.max(1));
                let (line, column) = if past_end { (file.n_lines.map(|n| n.max(1)), None) } else { (d.line, d.column) };
                results.push(result("file-error", "error", d.message.clone(), &d.path, line, column))
            }
            FileStatus::Skipped(_) | FileStatus::Unchanged => {}
        }
    }
    for warning in &report.warnings {
        let level = rule_level(warning.rule);
        results.push(result(warning.rule, level, warning.message.clone(), &warning.path, warning.line, warning.column));
    }
    let rules: Vec<Value> = RULES
        .iter()
        .map(|(id, name, text, level)| {
            json!({
                "id": id,
                "name": name,
                "shortDescription": { "text": text },
                "defaultConfiguration": { "level": level },
            })
        })
        .collect();
    let document = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "pullsmith",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/pullsmith/pullsmith",
                "rules": rules,
            }},
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values always serialize");
    text.push('\n');
    text
}
