//! `--format gitlab`: a GitLab Code Quality report, the JSON array that a
//! job names under `artifacts:reports:codequality`. One object per finding,
//! located at a file that exists in the repository and a line of it.
//!
//! The fingerprint is what GitLab compares between the merge request's
//! pipeline and the target branch's, so it must name the finding, not where
//! it happens to sit: a hash of the rule, the file, the object (kind,
//! namespace, name), the container, the field and, for a change a generated
//! overlay patch carries, the overlay; for other findings, of the rule, the
//! file and the message. Line numbers are left out, so an edit above a
//! finding does not make it new. Findings that would hash alike (the same
//! warning twice in a file) take their rank among those as well.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::emit::finding::{self, Finding, Level, What};
use crate::pipeline::RunReport;

/// GitLab's severities: file errors stop a file from being processed;
/// changes are what the check fails on; warnings are `minor`, notes `info`.
fn severity(finding: &Finding<'_>) -> &'static str {
    match (&finding.what, finding.level) {
        (What::FileError, _) | (_, Level::Error) => "critical",
        (What::Change { .. }, _) => "major",
        (What::Warning, Level::Warning) => "minor",
        (What::Warning, Level::Note) => "info",
    }
}

/// What identifies a finding across runs, as text to hash.
fn identity(finding: &Finding<'_>) -> String {
    let mut parts: Vec<&str> = vec![finding.rule, finding.path];
    match &finding.what {
        What::Change { change, file } => {
            parts.push(&file.path);
            if let Some(carried) = &change.carried {
                parts.push(&carried.overlay);
            }
            parts.extend([
                change.kind.as_str(),
                change.namespace.as_deref().unwrap_or(""),
                change.name.as_deref().unwrap_or(""),
                change.container.as_deref().unwrap_or(""),
                change.field.as_str(),
            ]);
        }
        What::FileError | What::Warning => parts.push(&finding.message),
    }
    // A NUL cannot be in a path or a message pullsmith prints: the parts stay apart.
    parts.join("\0")
}

/// FNV-1a, 128 bits: stable across runs, platforms and Rust versions (the
/// standard library's hasher is not), and wide enough that distinct
/// findings of one repository do not collide.
fn fnv1a_128(text: &str) -> u128 {
    const OFFSET_BASIS: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    text.bytes().fold(OFFSET_BASIS, |hash, byte| (hash ^ u128::from(byte)).wrapping_mul(PRIME))
}

pub fn render(report: &RunReport) -> String {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let issues: Vec<Value> = finding::findings(report)
        .iter()
        .map(|finding| {
            let identity = identity(finding);
            let rank = seen.entry(identity.clone()).or_default();
            let keyed = if *rank == 0 { identity } else { format!("{identity}\0{rank}") };
            *rank += 1;
            json!({
                "description": finding.message,
                "check_name": finding.rule,
                "fingerprint": format!("{:032x}", fnv1a_128(&keyed)),
                "severity": severity(finding),
                "location": {
                    "path": finding.path,
                    "lines": { "begin": finding.line.unwrap_or(1).max(1) },
                },
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&Value::Array(issues)).expect("JSON values always serialize");
    text.push('\n');
    text
}
