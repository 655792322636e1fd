//! `explain`: for each manifest, document and container, the environment
//! and why, the rule that decided, current and wanted values, and warnings.

use std::fmt::Write as _;

use crate::pipeline::{FileStatus, RunReport};

pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    for file in &report.files {
        let Some(plan) = &file.plan else {
            match &file.status {
                FileStatus::Skipped(reason) => {
                    let _ = writeln!(out, "{}: skipped: {reason}\n", file.path);
                }
                FileStatus::Failed(diagnostic) => {
                    let _ = writeln!(out, "{}: error: {}\n", file.path, diagnostic.message);
                }
                _ => {}
            }
            continue;
        };
        if plan.containers.is_empty() && plan.pods.is_empty() && plan.changes.is_empty() {
            continue;
        }
        let line_of = |offset: usize| file.lines.as_ref().map_or(0, |l| l.line_of(offset));
        let _ = writeln!(out, "{}", file.path);
        let mut last_object: Option<(usize, String, Option<String>)> = None;
        for container in &plan.containers {
            let object = (container.document, container.kind.clone(), container.name.clone());
            if last_object.as_ref() != Some(&object) {
                let env = match &container.environment {
                    Some((name, reason)) => format!("environment `{name}` ({reason})"),
                    None => "no environment".to_string(),
                };
                let _ = writeln!(
                    out,
                    "  document {}: {} {}: {env}",
                    container.document + 1,
                    container.kind,
                    container.name.as_deref().unwrap_or("<unnamed>"),
                );
                for pod in plan.pods.iter().filter(|p| {
                    p.document == container.document && p.name == container.name && p.kind == container.kind
                }) {
                    let _ = writeln!(
                        out,
                        "    pull secrets (line {}): existing [{}], wanted [{}] -> {}",
                        line_of(pod.offset),
                        pod.existing.join(", "),
                        pod.wanted.join(", "),
                        pod.target,
                    );
                }
                last_object = Some(object);
            }
            let _ = writeln!(
                out,
                "    {} `{}` (line {}): image `{}`",
                container.list,
                container.container.as_deref().unwrap_or("<unnamed>"),
                line_of(container.offset),
                container.image.as_deref().unwrap_or("<none>"),
            );
            let _ = writeln!(
                out,
                "      imagePullPolicy: {} -> {}: {}{}",
                container.current.as_deref().unwrap_or("<unset>"),
                container.wanted.as_deref().unwrap_or("<no rule>"),
                container.action,
                container.decided_by.as_deref().map(|d| format!(" (decided by {d})")).unwrap_or_default(),
            );
        }
        for warning in report.warnings.iter().filter(|w| w.path == file.path) {
            let _ = writeln!(out, "  warning (line {}): {}", warning.line.unwrap_or(0), warning.message);
        }
        out.push('\n');
    }
    out
}
