//! `explain`: for each manifest, document and container, the environment
//! and why, the rule that decided, current and wanted values, and warnings.
//!
//! It says a file is edited or patched only when the run really edits or
//! patches it: what it prints comes from the files' final status and the
//! overlays' settings, never from how a file is owned alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::common::FieldValue;
use crate::emit::quote;
use crate::kustomize::patch::OverlayPlan;
use crate::pipeline::{FileResult, FileStatus, RunReport};
use crate::rules::Rules;

pub fn render(report: &RunReport, rules: &Rules) -> String {
    let mut out = String::new();
    let files: BTreeMap<&str, &FileResult> = report.files.iter().map(|f| (f.path.as_str(), f)).collect();
    for overlay in &report.overlays {
        let env = &rules.environments[overlay.environment].name;
        let _ = writeln!(
            out,
            "overlay {} (environment `{env}`)",
            if overlay.overlay.is_empty() { ".".into() } else { quote::path(&overlay.overlay) }
        );
        // An overlay with an error gets nothing written: its settings are only what it would need.
        let blocked = overlay.errors.first().map(|(_, message)| message.as_str());
        if let Some(message) = blocked {
            let _ = writeln!(out, "  error: {}: no patch is written for this overlay", quote::one_line(message));
        }
        for file in &overlay.owned_files {
            let status = owned_status(files.get(file.as_str()).copied(), env);
            let _ = writeln!(out, "  pulls in {}: {status}", quote::path(file));
        }
        for file in &overlay.shared_files {
            // Named per object: a file is "patched here" for the objects a setting really touches.
            let mut objects: Vec<String> = Vec::new();
            for setting in overlay.settings.iter().filter(|s| s.base_file == *file) {
                let object = format!("{} {}", setting.kind, setting.name.as_deref().unwrap_or("<unnamed>"));
                if !objects.contains(&object) {
                    objects.push(object);
                }
            }
            let what = match (objects.is_empty(), blocked) {
                (true, _) => "nothing to patch here".to_string(),
                (false, None) => format!("patched here ({})", objects.join(", ")),
                (false, Some(_)) => format!("needs a patch here ({}), not written", objects.join(", ")),
            };
            let _ = writeln!(out, "  pulls in {}: shared with other environments, {what}", quote::path(file));
        }
        let not_written = if blocked.is_some() { " (not written)" } else { "" };
        for setting in &overlay.settings {
            let what = match &setting.container {
                Some(container) => {
                    format!("{} `{container}`", crate::manifest::container_word(setting.list.unwrap_or("containers")))
                }
                None => "pod".to_string(),
            };
            let image = setting.image.as_deref().map(|i| format!(", image `{i}` as rendered")).unwrap_or_default();
            let _ = writeln!(
                out,
                "    {} {} {what} ({}:{}{image}): {} {} -> {} in {}{not_written}",
                setting.kind,
                setting.name.as_deref().unwrap_or("<unnamed>"),
                quote::path(&setting.base_file),
                setting.base_line,
                setting.field.as_str(),
                FieldValue::show(setting.from.as_ref()),
                setting.to,
                quote::path(&setting.patch_file),
            );
        }
        for warning in &overlay.warnings {
            let _ = writeln!(out, "  warning: {}", quote::one_line(warning));
        }
        out.push('\n');
    }
    for file in &report.files {
        if let Some(shared_by) = report.index.shared_by.get(&file.path).filter(|overlays| !overlays.is_empty()) {
            let _ = writeln!(
                out,
                "{}\n  shared by the overlays {}: never edited; {}\n",
                quote::path(&file.path),
                quoted(shared_by),
                shared_status(&file.path, &report.overlays)
            );
            continue;
        }
        let Some(plan) = &file.plan else {
            match &file.status {
                FileStatus::Skipped(reason) => {
                    let _ = writeln!(out, "{}: skipped: {}\n", quote::path(&file.path), quote::one_line(reason));
                }
                FileStatus::Failed(diagnostic) => {
                    let message = crate::emit::message(&file.path, &diagnostic.message);
                    let _ = writeln!(out, "{}: error: {message}\n", quote::path(&file.path));
                }
                _ => {}
            }
            continue;
        };
        if plan.containers.is_empty() && plan.pods.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{}", quote::path(&file.path));
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
                    let inherited = pod
                        .inherited
                        .as_ref()
                        .map(|(account, names)| {
                            format!(", after [{}] inherited from ServiceAccount `{account}`", names.join(", "))
                        })
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "    pull secrets (line {}): existing [{}], wanted [{}] -> {}{inherited}",
                        pod.line,
                        pod.existing.join(", "),
                        pod.wanted.join(", "),
                        pod.target,
                    );
                }
                last_object = Some(object);
            }
            let rendered = container
                .rendered
                .as_ref()
                .map(|(image, overlay)| format!(" (rendered as `{image}` by `{overlay}`)"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    {} `{}` (line {}): image `{}`{rendered}",
                crate::manifest::container_word(container.list),
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
            let message = crate::emit::message(&warning.path, &warning.message);
            let _ = writeln!(out, "  warning (line {}): {message}", warning.line.unwrap_or(0));
        }
        out.push('\n');
    }
    if !report.releases.is_empty() {
        let _ = writeln!(out, "Helm releases ({}): their chart values", report.releases.len());
        for release in &report.releases {
            explain_release(&mut out, release);
        }
        out.push('\n');
    }
    if !report.not_covered.is_empty() {
        let _ = writeln!(out, "not covered ({}): seen, and not brought under the rules", report.not_covered.len());
        for item in &report.not_covered {
            let _ = writeln!(out, "  {}", crate::emit::not_covered(item));
        }
        out.push('\n');
    }
    out
}

/// One release: its chart, where its values come from, and each key.
fn explain_release(out: &mut String, release: &crate::release::ReleaseReport) {
    let name = release.name.as_deref().map(|name| format!(" `{name}`")).unwrap_or_default();
    let source = if release.chart_in_repository {
        "chart in the repository"
    } else {
        "chart from a chart repository or registry"
    };
    let _ = writeln!(out, "  {}:{} {}{name}: {source} `{}`", release.file, release.line, release.kind, release.chart);
    match &release.environment {
        Some((env, reason)) => {
            let _ = writeln!(out, "    environment: {env} ({reason})");
        }
        None => {
            let _ = writeln!(out, "    environment: none (left alone)");
        }
    }
    if !release.values_from.is_empty() {
        let _ = writeln!(out, "    values from: chart defaults, then {}", release.values_from.join(", then "));
    }
    for key in &release.keys {
        let _ = writeln!(
            out,
            "    {} `{}` ({}): {} -> {}: {}",
            key.field.as_str(),
            key.key,
            key.why,
            crate::common::FieldValue::show(key.current.as_ref()),
            crate::common::FieldValue::show(key.wanted.as_ref()),
            key.action,
        );
    }
    for gap in &release.gaps {
        let _ = writeln!(out, "    not covered: {gap}");
    }
}

/// What the run does to a file that an overlay of `env` pulls in and that is edited in place.
fn owned_status(file: Option<&FileResult>, env: &str) -> String {
    let Some(file) = file else {
        // Outside `--include`/`--exclude`, or not read: nothing was done to it.
        return "not processed in this run".to_string();
    };
    match &file.status {
        FileStatus::Changed { .. } => format!("edited in place for `{env}`"),
        FileStatus::Skipped(reason) => format!("skipped: {reason}"),
        FileStatus::Failed(_) => "could not be processed; left untouched".to_string(),
        FileStatus::Unchanged => match &file.plan {
            Some(plan) if !plan.containers.is_empty() || !plan.pods.is_empty() => format!("already right for `{env}`"),
            Some(_) => "no containers: nothing to set".to_string(),
            // A JSON 6902 patch, a generated file: not a manifest pullsmith edits.
            None => "not a manifest pullsmith edits: left as it is".to_string(),
        },
    }
}

/// What the overlays do for a shared file: which of them carry its settings.
fn shared_status(path: &str, overlays: &[OverlayPlan]) -> String {
    let needing = |with_errors: bool| -> Vec<String> {
        overlays
            .iter()
            .filter(|overlay| overlay.errors.is_empty() != with_errors)
            .filter(|overlay| overlay.settings.iter().any(|s| s.base_file == path))
            .map(|overlay| if overlay.overlay.is_empty() { ".".to_string() } else { overlay.overlay.clone() })
            .collect()
    };
    let (patching, blocked) = (needing(false), needing(true));
    let mut out = match patching.is_empty() {
        true if blocked.is_empty() => "no overlay needs to patch it".to_string(),
        true => "no generated patch carries its settings".to_string(),
        false => format!("the generated patches of {} carry its settings", quoted(&patching)),
    };
    if !blocked.is_empty() {
        let _ = write!(out, " ({} would need one, but an error keeps it from being written)", quoted(&blocked));
    }
    out
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|name| format!("`{}`", quote::one_line(name))).collect::<Vec<_>>().join(", ")
}

/// `explain --format json`: the reasons, as data. One document, version 1
/// (docs/explain.schema.json): per file and document, each container's and
/// pod's environment and how it was chosen, the rule that decided, the
/// image as written and as rendered, current and wanted values; per
/// overlay, the files it pulls in and the settings its generated patches
/// carry; then warnings and what is not covered.
fn field_json(value: &crate::common::FieldValue) -> serde_json::Value {
    match value {
        crate::common::FieldValue::Policy(policy) => serde_json::json!(policy),
        crate::common::FieldValue::Secrets(names) => serde_json::json!(names),
    }
}

pub fn render_json(report: &RunReport, rules: &Rules) -> String {
    use serde_json::{json, Value};
    let environment = |env: &Option<(String, crate::rules::EnvReason)>| -> Value {
        match env {
            None => Value::Null,
            Some((name, reason)) => {
                use crate::rules::EnvReason;
                let (by, matched) = match reason {
                    EnvReason::Path(glob) => ("path", Some(glob.as_str())),
                    EnvReason::Namespace(glob) => ("namespace", Some(glob.as_str())),
                    EnvReason::Default => ("defaultEnvironment", None),
                    EnvReason::Forced => ("--env", None),
                    EnvReason::Overlay(dir) => ("overlay", Some(dir.as_str())),
                };
                json!({ "name": name, "by": by, "match": matched, "reason": reason.to_string() })
            }
        }
    };
    let mut files = Vec::new();
    for file in &report.files {
        let Some(plan) = &file.plan else { continue };
        if plan.containers.is_empty() && plan.pods.is_empty() {
            continue;
        }
        let containers: Vec<Value> = plan
            .containers
            .iter()
            .map(|c| {
                json!({
                    "document": c.document + 1,
                    "kind": c.kind,
                    "name": c.name,
                    "list": c.list,
                    "container": c.container,
                    "line": c.line,
                    "image": c.image,
                    "rendered": c.rendered.as_ref().map(|(image, overlay)| json!({ "image": image, "by": overlay })),
                    "environment": environment(&c.environment),
                    "decidedBy": c.decided_by,
                    "current": c.current,
                    "wanted": c.wanted,
                    "action": c.action,
                })
            })
            .collect();
        let pods: Vec<Value> = plan
            .pods
            .iter()
            .map(|p| {
                json!({
                    "document": p.document + 1,
                    "kind": p.kind,
                    "name": p.name,
                    "line": p.line,
                    "environment": environment(&p.environment),
                    "existing": p.existing,
                    "wanted": p.wanted,
                    "inherited": p.inherited.as_ref().map(|(account, names)| json!({ "serviceAccount": account, "secrets": names })),
                    "target": p.target,
                })
            })
            .collect();
        files.push(json!({ "path": file.path, "containers": containers, "pods": pods }));
    }
    let overlays: Vec<Value> = report
        .overlays
        .iter()
        .map(|overlay| {
            let settings: Vec<Value> = overlay
                .settings
                .iter()
                .map(|s| {
                    json!({
                        "kind": s.kind,
                        "name": s.name,
                        "container": s.container,
                        "list": s.list,
                        "basePath": s.base_file,
                        "baseLine": s.base_line,
                        "image": s.image,
                        "field": s.field.as_str(),
                        "from": s.from.as_ref().map(crate::emit::json::value),
                        "to": crate::emit::json::value(&s.to),
                        "patchFile": s.patch_file,
                    })
                })
                .collect();
            json!({
                "overlay": overlay.overlay,
                "environment": rules.environments[overlay.environment].name,
                "ownedFiles": overlay.owned_files,
                "sharedFiles": overlay.shared_files,
                "settings": settings,
                "warnings": overlay.warnings,
                "errors": overlay.errors.iter().map(|(_, message)| message).collect::<Vec<_>>(),
            })
        })
        .collect();
    let warnings: Vec<Value> =
        report.warnings.iter().map(|w| json!({ "path": w.path, "line": w.line, "message": w.message })).collect();
    let not_covered: Vec<Value> = report
        .not_covered
        .iter()
        .map(|n| json!({ "path": n.path, "line": n.line, "kind": n.kind, "name": n.name, "reason": n.reason }))
        .collect();
    let releases: Vec<Value> = report
        .releases
        .iter()
        .map(|r| {
            let keys: Vec<Value> = r
                .keys
                .iter()
                .map(|k| {
                    json!({
                        "field": k.field.as_str(),
                        "valuesKey": k.key,
                        "why": k.why.to_string(),
                        "current": k.current.as_ref().map(field_json),
                        "wanted": k.wanted.as_ref().map(field_json),
                        "action": k.action,
                    })
                })
                .collect();
            json!({
                "path": r.file,
                "line": r.line,
                "kind": r.kind,
                "name": r.name,
                "chart": r.chart,
                "chartInRepository": r.chart_in_repository,
                "environment": r.environment.as_ref().map(|(env, _)| env),
                "valuesFrom": r.values_from,
                "keys": keys,
                "notCovered": r.gaps,
            })
        })
        .collect();
    let document = json!({
        "version": 1,
        "rules": report.rules,
        "files": files,
        "overlays": overlays,
        "warnings": warnings,
        "notCovered": not_covered,
        "releases": releases,
    });
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values always serialize");
    text.push('\n');
    text
}
