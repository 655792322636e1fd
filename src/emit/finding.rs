//! Every finding of a run, one list for the formats that annotate lines
//! (`github`, `rdjson`, `gitlab`): file errors, changes to make and
//! warnings, each located at a file that exists in the repository before
//! the run writes anything, and at a line of it.
//!
//! A change a generated overlay patch carries is located at the container's
//! (or pod spec's) line in the shared base, and its message names the
//! overlay and the generated file; the generated file itself is never a
//! location, since a pull request does not hold it yet. A kustomization's
//! edit (the entry added to `patches:`) is no finding of its own: it only
//! makes the overlay's generated patch apply.

use crate::common::Diagnostic;
use crate::common::{Field, FieldValue};
use crate::pipeline::{FileResult, FileStatus, RunReport};
use crate::plan::Change;

/// How much a finding matters, as the SARIF rules table says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warning,
    Note,
}

/// One thing a run found, where to show it.
pub struct Finding<'a> {
    /// The SARIF rule id (`image-pull-policy`, `file-error`, …).
    pub rule: &'static str,
    pub level: Level,
    /// Where it is shown: relative to the repository root, a file that exists.
    pub path: &'a str,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// On one line.
    pub message: String,
    pub what: What<'a>,
}

/// What a finding is about.
pub enum What<'a> {
    /// A change, with the file it is made in (a generated patch for a carried change).
    Change {
        change: &'a Change,
        file: &'a FileResult,
    },
    FileError,
    Warning,
}

impl Finding<'_> {
    /// The change a finding is about, if it is one.
    pub fn change(&self) -> Option<&Change> {
        match &self.what {
            What::Change { change, .. } => Some(change),
            _ => None,
        }
    }
}

/// The rule id of a change.
pub fn change_rule(change: &Change) -> &'static str {
    match change.field {
        Field::ImagePullPolicy => "image-pull-policy",
        Field::ImagePullSecrets => "image-pull-secrets",
    }
}

/// `imagePullPolicy: <unset> -> Always for container `c` of Deployment `d`
/// (environment `dev`)`, and for a carried change ` in overlay `o`
/// (generated patch `p`)`.
pub fn change_message(change: &Change, file_path: &str) -> String {
    let message = format!(
        "{}: {} -> {} for {} (environment `{}`){}",
        change.field.as_str(),
        FieldValue::show(change.from.as_ref()),
        change.to,
        change.subject(),
        change.environment,
        change.overlay_note(file_path),
    );
    crate::emit::quote::one_line(&message).into_owned()
}

/// Per file in path order: its error, or its changes; then the run's warnings.
pub fn findings(report: &RunReport) -> Vec<Finding<'_>> {
    let mut out = Vec::new();
    for file in &report.files {
        match &file.status {
            FileStatus::Changed { .. } => {
                let Some(plan) = &file.plan else { continue };
                for change in &plan.changes {
                    let (path, line) = change.location(&file.path);
                    out.push(Finding {
                        rule: change_rule(change),
                        level: Level::Warning,
                        path,
                        line: Some(line.max(1)),
                        column: None,
                        message: change_message(change, &file.path),
                        what: What::Change { change, file },
                    });
                }
            }
            FileStatus::Failed(diagnostic) => {
                let mut finding = diagnostic_finding(diagnostic, Level::Error, What::FileError);
                // An error at the end of the file (`3:1` of a two-line file) is shown on its last line.
                if let (Some(line), Some(n_lines)) = (finding.line, file.n_lines) {
                    if line > n_lines.max(1) {
                        finding.line = Some(n_lines.max(1));
                        finding.column = None;
                    }
                }
                out.push(finding);
            }
            FileStatus::Skipped(_) | FileStatus::Unchanged => {}
        }
    }
    for warning in &report.warnings {
        out.push(diagnostic_finding(warning, rule_level(warning.rule), What::Warning));
    }
    out
}

fn diagnostic_finding<'a>(diagnostic: &'a Diagnostic, level: Level, what: What<'a>) -> Finding<'a> {
    Finding {
        rule: diagnostic.rule,
        level,
        path: &diagnostic.path,
        line: diagnostic.line,
        column: diagnostic.column,
        message: crate::emit::message(&diagnostic.path, &diagnostic.message).into_owned(),
        what,
    }
}

/// The level of a warning's rule (SARIF's table): `note` unless it says otherwise.
pub fn rule_level(rule: &str) -> Level {
    match crate::emit::sarif::rule_level(rule) {
        "error" => Level::Error,
        "warning" => Level::Warning,
        _ => Level::Note,
    }
}
