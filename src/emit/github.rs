//! `--format github`: workflow-command annotations on the lines that need a
//! change, so that they show inline in a pull request's diff.

use std::fmt::Write as _;

use crate::pipeline::{FileStatus, RunReport};
use crate::plan::FieldValue;

fn show(value: Option<&FieldValue>) -> String {
    match value {
        None => "unset".to_string(),
        Some(FieldValue::Policy(policy)) => policy.clone(),
        Some(FieldValue::Secrets(names)) => format!("[{}]", names.join(", ")),
    }
}

/// Escapes a workflow-command property value.
fn escape_property(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A").replace(':', "%3A").replace(',', "%2C")
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

pub fn annotations(report: &RunReport) -> String {
    let mut out = String::new();
    for file in &report.files {
        match &file.status {
            FileStatus::Changed { .. } => {
                let Some(plan) = &file.plan else { continue };
                for change in &plan.changes {
                    let line = file.lines.as_ref().map_or(1, |l| l.line_of(change.offset));
                    let subject = match &change.container {
                        Some(container) => format!(
                            "container `{container}` of {} `{}`",
                            change.kind,
                            change.name.as_deref().unwrap_or("")
                        ),
                        None => {
                            format!("{} `{}`", change.kind, change.name.as_deref().unwrap_or(""))
                        }
                    };
                    let message = format!(
                        "{}: {} -> {} for {subject} (environment `{}`)",
                        change.field.as_str(),
                        show(change.from.as_ref()),
                        show(Some(&change.to)),
                        change.environment
                    );
                    let _ = writeln!(
                        out,
                        "::warning file={},line={line},title={}::{}",
                        escape_property(&file.path),
                        escape_property(&format!("pullsmith: {}", change.field.as_str())),
                        escape_data(&message)
                    );
                }
            }
            FileStatus::Failed(d) => {
                let _ = writeln!(
                    out,
                    "::error file={},line={},col={},title=pullsmith::{}",
                    escape_property(&d.path),
                    d.line.unwrap_or(1),
                    d.column.unwrap_or(1),
                    escape_data(&d.message)
                );
            }
            _ => {}
        }
    }
    for warning in &report.warnings {
        let _ = writeln!(
            out,
            "::notice file={},line={},title=pullsmith::{}",
            escape_property(&warning.path),
            warning.line.unwrap_or(1),
            escape_data(&warning.message)
        );
    }
    out
}
