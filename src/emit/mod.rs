//! Everything a run prints: diffs, diagnostics, explanations, the summary
//! line and the JSON report. Writing files lives in `write`.
//!
//! Every text line names its file once, quoted as git quotes paths
//! (`quote`), and stays one line whatever the file name or message holds;
//! no output shows a credential value (`redact`).

pub mod diff;
pub mod explain;
pub mod finding;
pub mod github;
pub mod gitlab;
pub mod json;
pub mod progress;
pub mod quote;
pub mod rdjson;
pub mod redact;
pub mod sarif;

use std::fmt::Write as _;

use crate::common::Diagnostic;
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
                let _ = writeln!(out, "error: {}", located(diagnostic));
            }
            FileStatus::Skipped(reason) if !quiet => {
                let _ = writeln!(out, "skipped: {}: {}", quote::path(&file.path), message(&file.path, reason));
            }
            _ => {}
        }
    }
    if !quiet {
        for warning in &report.warnings {
            let _ = writeln!(out, "warning: {}", located(warning));
        }
        for item in &report.not_covered {
            let _ = writeln!(out, "not covered: {}", not_covered(item));
        }
    }
    out
}

/// `path:line: Kind name: reason` for one thing seen and not covered.
pub fn not_covered(item: &crate::pipeline::NotCovered) -> String {
    let path = quote::path(&item.path);
    let at = match item.line {
        Some(line) => format!("{path}:{line}"),
        None => path.into_owned(),
    };
    let what = match (&item.kind, &item.name) {
        (Some(kind), Some(name)) => format!("{kind} `{}`: ", quote::one_line(name)),
        (Some(kind), None) => format!("{kind}: "),
        _ => String::new(),
    };
    format!("{at}: {what}{}", quote::one_line(&item.reason))
}

/// The `rules:` line every text run prints on stderr: which rules decided.
pub fn rules_line(report: &RunReport) -> String {
    match &report.rules {
        Some(path) => format!("rules: {}\n", quote::path(path)),
        None => "rules: embedded default rules (no .pullsmith.yaml from PATH up to the repository root)\n".to_string(),
    }
}

/// What `check` can honestly say of a run with nothing to change: how
/// much it covered, and that it is not a verdict on what it did not.
pub fn coverage_verdict(report: &RunReport) -> String {
    let n_not = report.not_covered.len();
    let not = match n_not {
        0 => String::new(),
        1 => "; 1 thing seen is not covered (listed above as `not covered:`)".to_string(),
        n => format!("; {n} things seen are not covered (listed above as `not covered:`)"),
    };
    let unclaimed = match report.containers_without_environment {
        0 => String::new(),
        1 => "; 1 container has no environment (`pullsmith explain` shows why)".to_string(),
        n => format!("; {n} containers have no environment (`pullsmith explain` shows why)"),
    };
    let unreached = match report.files_without_environment {
        0 => String::new(),
        1 => {
            "; 1 file that mentions containers is reached by no environment (`pullsmith explain` shows why)".to_string()
        }
        n => {
            format!("; {n} files that mention containers are reached by no environment (`pullsmith explain` shows why)")
        }
    };
    let covered = report.containers_covered;
    if covered == 0 {
        format!("pullsmith: nothing covered: no container is under the rules, so there is nothing to call compliant{unclaimed}{unreached}{not}\n")
    } else {
        let plural = if covered == 1 { "" } else { "s" };
        format!("pullsmith: compliant: {covered} container{plural} under the rules have the pull settings their environment calls for{unclaimed}{unreached}{not}\n")
    }
}

/// `path:line:column: message` on one line, the path quoted as git quotes it
/// and named once.
pub fn located(diagnostic: &Diagnostic) -> String {
    let path = quote::path(&diagnostic.path);
    let text = message(&diagnostic.path, &diagnostic.message);
    match (diagnostic.line, diagnostic.column) {
        (Some(line), Some(column)) => format!("{path}:{line}:{column}: {text}"),
        (Some(line), None) => format!("{path}:{line}: {text}"),
        _ => format!("{path}: {text}"),
    }
}

/// A diagnostic's message as printed after its path: on one line, and
/// without the path again when the message starts with it (a layer that
/// already named the file: `x.yaml: x.yaml: …` is printed `x.yaml: …`).
pub fn message<'a>(path: &str, message: &'a str) -> std::borrow::Cow<'a, str> {
    let names_path = |segment: &str| {
        let ends_with_path = segment.strip_suffix(path).is_some_and(|head| head.ends_with('/'));
        !path.is_empty() && (segment == path || segment.strip_prefix("./") == Some(path) || ends_with_path)
    };
    let mut rest = message;
    while let Some((segment, after)) = rest.split_once(": ") {
        if !names_path(segment) {
            break;
        }
        rest = after;
    }
    quote::one_line(rest)
}

/// The one line that ends every run.
pub fn summary(report: &RunReport) -> String {
    format!(
        "pullsmith: files_scanned={} files_changed={} containers_changed={} podspecs_changed={} skipped={} errors={} containers_covered={} not_covered={}\n",
        report.n_scanned(),
        report.n_changed(),
        report.n_containers_changed(),
        report.n_pod_specs_changed(),
        report.n_skipped(),
        report.errors().count(),
        report.containers_covered,
        report.not_covered.len(),
    )
}
