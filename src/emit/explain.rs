//! `explain`: for each manifest, document and container, the environment
//! and why, the rule that decided, current and wanted values, and warnings.

use std::fmt::Write as _;

use crate::pipeline::{FileStatus, RunReport};
use crate::plan::FieldValue;
use crate::rules::Rules;

pub fn render(report: &RunReport, rules: &Rules) -> String {
    let mut out = String::new();
    for overlay in &report.overlays {
        let env = &rules.environments[overlay.environment].name;
        let _ = writeln!(
            out,
            "overlay {} (environment `{env}`)",
            if overlay.overlay.is_empty() { "." } else { &overlay.overlay }
        );
        for file in &overlay.owned_files {
            let _ = writeln!(out, "  pulls in {file}: edited in place for `{env}`");
        }
        for file in &overlay.shared_files {
            let _ = writeln!(out, "  pulls in {file}: shared with other environments, patched here");
        }
        for setting in &overlay.settings {
            let what = match &setting.container {
                Some(container) => format!("container `{container}`"),
                None => "pod".to_string(),
            };
            let _ = writeln!(
                out,
                "    {} {} {what} ({}:{}): {} {} -> {} in {}",
                setting.kind,
                setting.name.as_deref().unwrap_or("<unnamed>"),
                setting.base_file,
                setting.base_line,
                setting.field.as_str(),
                FieldValue::show(setting.from.as_ref()),
                setting.to,
                setting.patch_file,
            );
        }
        for warning in &overlay.warnings {
            let _ = writeln!(out, "  warning: {warning}");
        }
        out.push('\n');
    }
    for file in &report.files {
        if !file.shared_by.is_empty() {
            let _ = writeln!(
                out,
                "{}\n  shared by the overlays {}: never edited; their generated patches carry its settings\n",
                file.path,
                file.shared_by.iter().map(|o| format!("`{o}`")).collect::<Vec<_>>().join(", ")
            );
            continue;
        }
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
        if plan.containers.is_empty() && plan.pods.is_empty() {
            continue;
        }
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
                        pod.line,
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
                container.line,
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
