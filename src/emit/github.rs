//! `--format github`: workflow-command annotations on the lines that need a
//! change, so that they show inline in a pull request's diff.
//!
//! GitHub shows at most 10 annotations of each kind per step and drops the
//! rest without a word, so past 10 of a kind the nine most useful are
//! annotations, one more sums up the rest, and the job summary lists them:
//! nothing is lost silently.
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

use crate::emit::finding::{self, Finding, Level, What};
use crate::pipeline::{FileStatus, RunReport};

/// Escapes a workflow-command property value.
fn escape_property(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A").replace(':', "%3A").replace(',', "%2C")
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// GitHub shows at most this many annotations of each kind (`error`,
/// `warning`, `notice`) per step, and drops the rest without a word.
pub const ANNOTATIONS_PER_KIND: usize = 10;

/// The kind of a workflow-command annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Error,
    Warning,
    Notice,
}

impl Kind {
    fn command(self) -> &'static str {
        match self {
            Kind::Error => "error",
            Kind::Warning => "warning",
            Kind::Notice => "notice",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::Error => "errors",
            Kind::Warning => "warnings",
            Kind::Notice => "notices",
        }
    }

    /// Files that failed are errors, changes to make are warnings, and the
    /// run's warnings are notices (they do not fail the check).
    fn of(finding: &Finding<'_>) -> Kind {
        match finding.what {
            What::FileError => Kind::Error,
            What::Change { .. } => Kind::Warning,
            What::Warning => Kind::Notice,
        }
    }
}

/// Which findings are annotations and which GitHub would drop: per kind, at
/// most `ANNOTATIONS_PER_KIND`, and when there are more, one fewer plus one
/// annotation that sums up the rest.
struct Selection<'a> {
    /// In report order.
    shown: Vec<(Kind, Finding<'a>)>,
    /// In report order.
    hidden: Vec<(Kind, Finding<'a>)>,
}

/// The most useful annotations of each kind come first: one per file before
/// a second in the same file (so every file with findings shows inline),
/// and among the run's warnings those of `warning` level before notes.
fn select(report: &RunReport) -> Selection<'_> {
    let findings: Vec<(Kind, Finding<'_>)> = finding::findings(report).into_iter().map(|f| (Kind::of(&f), f)).collect();
    let mut rank_in_file: BTreeMap<(Kind, &str), usize> = BTreeMap::new();
    let mut priority: Vec<(Kind, u8, usize, usize)> = Vec::with_capacity(findings.len());
    for (index, (kind, finding)) in findings.iter().enumerate() {
        let rank = rank_in_file.entry((*kind, finding.path)).or_default();
        let level = u8::from(*kind == Kind::Notice && finding.level != Level::Warning);
        priority.push((*kind, level, *rank, index));
        *rank += 1;
    }
    priority.sort();
    let mut shown_indices = std::collections::BTreeSet::new();
    for kind in [Kind::Error, Kind::Warning, Kind::Notice] {
        let of_kind: Vec<usize> = priority.iter().filter(|p| p.0 == kind).map(|p| p.3).collect();
        let room = if of_kind.len() > ANNOTATIONS_PER_KIND { ANNOTATIONS_PER_KIND - 1 } else { of_kind.len() };
        shown_indices.extend(of_kind.into_iter().take(room));
    }
    let (mut shown, mut hidden) = (Vec::new(), Vec::new());
    for (index, item) in findings.into_iter().enumerate() {
        if shown_indices.contains(&index) {
            shown.push(item);
        } else {
            hidden.push(item);
        }
    }
    Selection { shown, hidden }
}

pub fn annotations(report: &RunReport) -> String {
    let selection = select(report);
    let mut out = String::new();
    for (kind, finding) in &selection.shown {
        let line = finding.line.unwrap_or(1);
        let col = match (kind, finding.column) {
            (Kind::Error, column) => format!(",col={}", column.unwrap_or(1)),
            _ => String::new(),
        };
        let title = match finding.change() {
            Some(change) => format!("pullsmith: {}", change.field.as_str()),
            None => "pullsmith".to_string(),
        };
        let _ = writeln!(
            out,
            "::{} file={},line={line}{col},title={}::{}",
            kind.command(),
            escape_property(finding.path),
            escape_property(&title),
            escape_data(&finding.message)
        );
    }
    for kind in [Kind::Error, Kind::Warning, Kind::Notice] {
        let n_hidden = selection.hidden.iter().filter(|(k, _)| *k == kind).count();
        if n_hidden > 0 {
            let _ = writeln!(
                out,
                "::{} title=pullsmith::… and {n_hidden} more pullsmith {}: see the job summary (GitHub shows at most {ANNOTATIONS_PER_KIND} {} per step)",
                kind.command(),
                kind.plural(),
                kind.plural(),
            );
        }
    }
    out
}

/// The job summary's section on what GitHub would not show as annotations.
fn hidden_section(report: &RunReport) -> String {
    let selection = select(report);
    let hidden = &selection.hidden;
    if hidden.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let n = hidden.len();
    let _ = writeln!(
        out,
        "\n### Not shown as annotations\n\nGitHub shows at most {ANNOTATIONS_PER_KIND} annotations of each kind per step; {n} finding{} {} not shown as annotations:\n",
        plural(n),
        if n == 1 { "was" } else { "were" }
    );
    for (kind, finding) in hidden.iter().take(SUMMARY_LIST_LIMIT) {
        let at = match finding.line {
            Some(line) => format!("{}:{line}", finding.path),
            None => finding.path.to_string(),
        };
        let _ = writeln!(out, "- {} {}: {}", kind.command(), markdown_text(&at), markdown_text(&finding.message));
    }
    if n > SUMMARY_LIST_LIMIT {
        let rest = &hidden[SUMMARY_LIST_LIMIT..];
        let counts: Vec<String> = [Kind::Error, Kind::Warning, Kind::Notice]
            .iter()
            .filter_map(|kind| {
                let count = rest.iter().filter(|(k, _)| k == kind).count();
                let files: std::collections::BTreeSet<&str> =
                    rest.iter().filter(|(k, _)| k == kind).map(|(_, f)| f.path).collect();
                (count > 0).then(|| format!("{count} {} in {} file{}", kind.plural(), files.len(), plural(files.len())))
            })
            .collect();
        let _ = writeln!(
            out,
            "- … and {} more ({}; `pullsmith check --format json` lists every one)",
            rest.len(),
            counts.join(", ")
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
    out.push_str(&hidden_section(report));
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
