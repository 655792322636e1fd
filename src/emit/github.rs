//! `--format github`: workflow-command annotations on the lines that need a
//! change, so that they show inline in a pull request's diff.
//!
//! Workflow commands are lines on stdout that the runner obeys, so every
//! value is escaped as GitHub's rules say (`%`, `\r`, `\n` in the message;
//! also `:` and `,` in properties): no file name or message can end a
//! command or start one. The job summary's diff is the diff `diff` prints,
//! credential values left out, in a fence longer than any backtick run in it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;

use crate::rules::Rules;

use crate::pipeline::{FileStatus, RunReport};
use crate::plan::FieldValue;

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
                    let line = change.line;
                    let subject = change.subject();
                    let message = format!(
                        "{}: {} -> {} for {subject} (environment `{}`)",
                        change.field.as_str(),
                        FieldValue::show(change.from.as_ref()),
                        change.to,
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
                    escape_data(&crate::emit::message(&d.path, &d.message))
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
            escape_data(&crate::emit::message(&warning.path, &warning.message))
        );
    }
    out
}

/// The step summary's diff is cut beyond this many bytes (GitHub keeps 1 MiB per step).
const SUMMARY_DIFF_LIMIT: usize = 512 * 1024;

/// Appends the Markdown job summary to `$GITHUB_STEP_SUMMARY` and the step
/// outputs (`changed`, `files-changed`, `containers-changed`) to
/// `$GITHUB_OUTPUT`, when GitHub set those variables.
pub fn write_step_files(report: &RunReport, rules: &Rules) -> std::io::Result<()> {
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        append(Path::new(&path), &step_summary(report, rules))?;
    }
    if let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) {
        let outputs = format!(
            "changed={}\nfiles-changed={}\ncontainers-changed={}\npod-specs-changed={}\n",
            report.n_changed() > 0,
            report.n_changed(),
            report.n_containers_changed(),
            report.n_pod_specs_changed(),
        );
        append(Path::new(&path), &outputs)?;
    }
    Ok(())
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(text.as_bytes())
}

/// Per environment: files, containers and pod specs to change; then the diff, collapsed.
pub fn step_summary(report: &RunReport, rules: &Rules) -> String {
    let mut out = String::from("## pullsmith\n\n");
    let rules_name = report.rules.as_deref().map_or_else(|| "the embedded default rules".to_string(), markdown_text);
    let _ = writeln!(out, "Rules: {rules_name}.\n");
    if report.n_changed() == 0 && report.containers_covered == 0 {
        out.push_str("Nothing covered: no container is under the rules, so there is nothing to call compliant.\n");
    } else if report.n_changed() == 0 {
        let _ = writeln!(
            out,
            "Every container under the rules ({}) has the image pull policy, and every pod the pull secrets, that its environment calls for.",
            report.containers_covered
        );
    } else {
        let _ = writeln!(
            out,
            "{} file{} to change: {} container{}, {} pod spec{}.\n",
            report.n_changed(),
            plural(report.n_changed()),
            report.n_containers_changed(),
            plural(report.n_containers_changed()),
            report.n_pod_specs_changed(),
            plural(report.n_pod_specs_changed()),
        );
        out.push_str("| environment | files | containers | pod specs |\n|---|---:|---:|---:|\n");
        let mut by_env: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
        for env in &rules.environments {
            by_env.entry(env.name.clone()).or_default();
        }
        for file in &report.files {
            if let (FileStatus::Changed { .. }, Some(plan)) = (&file.status, &file.plan) {
                let env = plan.environment.clone().unwrap_or_else(|| "(none)".to_string());
                let entry = by_env.entry(env).or_default();
                entry.0 += 1;
                entry.1 += plan.containers_changed;
                entry.2 += plan.pod_specs_changed;
            }
        }
        for (env, (files, containers, pods)) in by_env.iter().filter(|(_, counts)| counts.0 > 0) {
            let _ = writeln!(out, "| `{env}` | {files} | {containers} | {pods} |");
        }
        let mut diff = crate::emit::diffs(report);
        if diff.len() > SUMMARY_DIFF_LIMIT {
            let cut = (0..=SUMMARY_DIFF_LIMIT).rev().find(|i| diff.is_char_boundary(*i)).unwrap_or(0);
            diff.truncate(cut);
            diff.push_str("\n… (diff cut; run `pullsmith diff` for all of it)\n");
        }
        if !diff.is_empty() {
            let fence = fence_for(&diff);
            let _ = write!(out, "\n<details><summary>Diff</summary>\n\n{fence}diff\n{diff}{fence}\n\n</details>\n");
        }
    }
    if !report.not_covered.is_empty() {
        let n = report.not_covered.len();
        let _ = writeln!(out, "\n{n} thing{} seen and not covered by the rules:\n", plural(n));
        for item in report.not_covered.iter().take(SUMMARY_LIST_LIMIT) {
            let _ = writeln!(out, "- {}", markdown_text(&crate::emit::not_covered(item)));
        }
        if n > SUMMARY_LIST_LIMIT {
            let _ = writeln!(out, "- … and {} more (see the JSON report's `notCovered`)", n - SUMMARY_LIST_LIMIT);
        }
    }
    let errors = report.errors().count();
    if errors > 0 {
        let _ = writeln!(out, "\n{errors} file{} could not be processed:\n", plural(errors));
        for error in report.errors() {
            let _ = writeln!(out, "- `{}`", crate::emit::located(error));
        }
    }
    out
}

/// The job summary lists at most this many things not covered.
const SUMMARY_LIST_LIMIT: usize = 50;

/// Text that Markdown shows as written: its punctuation escaped, so a file
/// name or reason cannot open a link, an image or raw HTML.
fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\`*_{}[]<>()#+!|~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A Markdown code fence that `text` cannot close: longer than its longest run of backticks.
fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
