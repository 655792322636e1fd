//! `--format rdjson`: the Reviewdog Diagnostic Format (`DiagnosticResult`),
//! for `reviewdog -f=rdjson`. Every finding is a diagnostic at a file that
//! exists in the repository; a change made in place carries its fix as a
//! suggestion, so that a reviewer applies it with one click.
//!
//! Suggestions replace whole lines (ranges without columns, which reviewdog
//! reads as line-wise and GitHub shows as a `suggestion` block): an inserted
//! `imagePullPolicy` is the `image` line replaced by itself and the new line.
//! Column ranges would need the lines around them, which reviewdog has only
//! inside the diff's context. Changes whose lines touch are one suggestion,
//! on the first of them, so that no two suggestions replace the same line.
//! A change a generated overlay patch carries has no suggestion: the file
//! that makes it does not exist yet; its diagnostic is at the base's line
//! and names the overlay.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::edit::{self, Splice};
use crate::emit::finding::{self, Level, What};
use crate::pipeline::{FileStatus, RunReport};
use crate::plan::Change;
use crate::yaml::{line_end, LineIndex};

/// Whole lines `first_line..=last_line` (1-based) of a file, and what replaces them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineBlock {
    pub first_line: usize,
    pub last_line: usize,
    /// The new text of those lines, without the line break that ends the last.
    pub text: String,
}

/// For each change of a file (same order as `changes`): the block its
/// suggestion replaces, or `Err(line)` when the suggestion of a change whose
/// lines it shares, on `line`, makes it too, or `Err(0)` when no line-wise
/// suggestion can say it.
pub fn suggestion_blocks(original: &str, changes: &[Change]) -> Vec<Result<LineBlock, usize>> {
    let lines = LineIndex::new(original);
    let len = original.len();
    let ends_with_break = original.ends_with('\n') || original.ends_with('\r');
    let start_of = |offset: usize| lines.line_start(lines.line_of(offset) - 1);
    // An offset past the final line break belongs to the last line: the empty
    // "line" after it is not one a review can comment on.
    let anchored = |offset: usize| if offset == len && ends_with_break && len > 0 { len - 1 } else { offset };
    let mut order: Vec<usize> = (0..changes.len()).collect();
    order.sort_by_key(|i| changes[*i].splice.range.start);
    // Groups of changes whose line spans overlap: (start byte, end byte, members in order).
    let mut groups: Vec<(usize, usize, Vec<usize>)> = Vec::new();
    for index in order {
        let range = &changes[index].splice.range;
        let start = start_of(anchored(range.start));
        let end = line_end(original, anchored(range.end.max(range.start)));
        match groups.last_mut() {
            Some(group) if start <= group.1 => {
                group.1 = group.1.max(end);
                group.2.push(index);
            }
            _ => groups.push((start, end, vec![index])),
        }
    }
    let mut out: Vec<Result<LineBlock, usize>> = vec![Err(0); changes.len()];
    for (start, end, members) in groups {
        let splices: Vec<Splice> = members
            .iter()
            .map(|i| {
                let splice = &changes[*i].splice;
                Splice::replace(splice.range.start - start..splice.range.end - start, splice.text.clone())
            })
            .collect();
        let tail = edit::apply(&original[start..], &splices);
        // What follows the block in the file stays; the suggestion is the rest.
        let Some(text) = tail.strip_suffix(&original[end..]) else { continue };
        let block =
            LineBlock { first_line: lines.line_of(start), last_line: lines.line_of(end), text: text.to_string() };
        let leader = block.first_line;
        out[members[0]] = Ok(block);
        for member in &members[1..] {
            out[*member] = Err(leader);
        }
    }
    out
}

fn severity(level: Level) -> &'static str {
    match level {
        Level::Error => "ERROR",
        Level::Warning => "WARNING",
        Level::Note => "INFO",
    }
}

/// A line-wise range (no columns): reviewdog takes it as whole lines.
fn lines_range(first: usize, last: usize) -> Value {
    json!({ "start": { "line": first }, "end": { "line": last } })
}

pub fn render(report: &RunReport) -> String {
    // Per changed file: its changes' suggestions, when its original text was kept.
    let mut blocks: BTreeMap<&str, Vec<Result<LineBlock, usize>>> = BTreeMap::new();
    for file in &report.files {
        if let (FileStatus::Changed { original, .. }, Some(plan)) = (&file.status, &file.plan) {
            let in_place = plan.changes.iter().all(|c| c.carried.is_none());
            if in_place && !original.is_empty() {
                blocks.insert(&file.path, suggestion_blocks(original, &plan.changes));
            }
        }
    }
    let mut diagnostics = Vec::new();
    for finding in finding::findings(report) {
        let mut message = finding.message.clone();
        let line = finding.line.unwrap_or(1).max(1);
        let mut range = lines_range(line, line);
        let mut suggestions = Vec::new();
        if let What::Change { change, file } = &finding.what {
            let index = file.plan.as_ref().and_then(|p| p.changes.iter().position(|c| std::ptr::eq(c, *change)));
            match index.and_then(|i| blocks.get(file.path.as_str()).map(|b| &b[i])) {
                Some(Ok(block)) => {
                    range = lines_range(block.first_line, block.last_line);
                    suggestions.push(json!({ "range": range.clone(), "text": block.text }));
                }
                Some(Err(leader)) if *leader > 0 => {
                    message.push_str(&format!("; the suggestion on line {leader} makes this change too"));
                }
                _ => {}
            }
        }
        let mut diagnostic = json!({
            "message": message,
            "location": { "path": finding.path, "range": range },
            "severity": severity(finding.level),
            "source": { "name": "pullsmith" },
            "code": { "value": finding.rule },
        });
        if !suggestions.is_empty() {
            diagnostic["suggestions"] = Value::Array(suggestions);
        }
        diagnostics.push(diagnostic);
    }
    let document = json!({
        "source": { "name": "pullsmith", "url": "https://github.com/pullsmith/pullsmith" },
        "diagnostics": diagnostics,
    });
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values always serialize");
    text.push('\n');
    text
}
