//! Everything a run prints: diffs, diagnostics, explanations, the summary
//! line and the JSON report. Writing files lives in `write`.

pub mod diff;
pub mod explain;
pub mod github;
pub mod json;
pub mod progress;
pub mod sarif;
pub mod write;

use std::fmt::Write as _;

use crate::pipeline::{FileStatus, RunReport};

/// All diffs of a run, in path order.
pub fn diffs(report: &RunReport) -> String {
    let mut out = String::new();
    for file in &report.files {
        if let FileStatus::Changed { original, new_text, action, .. } = &file.status {
            out.push_str(&diff::unified(&file.path, original, new_text, *action));
        }
    }
    out
}

/// `error:`, `warning:` and `skipped:` lines for stderr.
pub fn diagnostics(report: &RunReport, quiet: bool) -> String {
    let mut out = String::new();
    for file in &report.files {
        match &file.status {
            FileStatus::Failed(diagnostic) => {
                let _ = writeln!(out, "error: {diagnostic}");
            }
            FileStatus::Skipped(reason) if !quiet => {
                let _ = writeln!(out, "skipped: {}: {reason}", file.path);
            }
            _ => {}
        }
    }
    if !quiet {
        for warning in &report.warnings {
            let _ = writeln!(out, "warning: {warning}");
        }
    }
    out
}

/// The one line that ends every run.
pub fn summary(report: &RunReport) -> String {
    format!(
        "pullsmith: files_scanned={} files_changed={} containers_changed={} podspecs_changed={} skipped={} errors={}\n",
        report.n_scanned(),
        report.n_changed(),
        report.n_containers_changed(),
        report.n_pod_specs_changed(),
        report.n_skipped(),
        report.errors().count(),
    )
}
