//! Every mistake of a rules file, not only the first: a walk of the
//! positional tree that checks what the typed parse checks (keys, types,
//! policies, globs, secret names, required fields), each mistake at its own
//! line and column.
//!
//! The typed parse (serde) stays the judge of whether a file is valid: this
//! walk only runs once it has failed, to list the other mistakes beside its
//! first, so a gap here can never make a bad file pass or a good one fail.

use crate::yaml::{Node, NodeKind};

use super::{check_secret_name, helm, model, token, Policy};

/// A mistake: where (byte offset) and what.
pub type Mistake = (usize, String);

const TOP_KEYS: &[&str] =
    &["version", "defaultEnvironment", "environments", "images", "workloads", "exclude", "providedSecrets", "helm"];
/// The fields of an environment, which also follow its name in serde_yaml's paths.
pub(super) const ENVIRONMENT_KEYS: &[&str] =
    &["paths", "namespaces", "imagePullPolicy", "imagePullSecrets", "attachSecretsTo", "overwrite"];
const IMAGE_KEYS: &[&str] = &["match", "imagePullPolicy", "imagePullSecrets"];
const WORKLOAD_KEYS: &[&str] = &["kind", "apiVersion", "podSpecPath"];
const HELM_KEYS: &[&str] = &["charts"];
const CHART_KEYS: &[&str] = &["name", "version", "pullPolicy", "pullSecrets"];

/// The mistakes of the rules document `root`, in document order.
pub fn mistakes(root: &Node) -> Vec<Mistake> {
    let mut out = Vec::new();
    if !root.is_mapping() {
        return out;
    }
    keys(root, TOP_KEYS, "", &mut out);
    match root.entry("version") {
        None => out.push((root.span.start, "missing field `version`".to_string())),
        Some((key, value)) if value.as_str() != Some("1") => out.push((
            key.span.start,
            format!("unsupported version {} (expected 1)", value.as_str().map(token).unwrap_or_default()),
        )),
        Some(_) => {}
    }
    let mut names = Vec::new();
    if let Some(environments) = root.get("environments") {
        if mapping(environments, "environments", &mut out) {
            for (name, spec) in environments.entries() {
                let name_text = name.as_str().unwrap_or_default();
                names.push(name_text.to_string());
                environment(spec, &format!("environments.{}", token(name_text)), &mut out);
            }
        }
    }
    if let Some((key, value)) = root.entry("defaultEnvironment") {
        match value.as_str() {
            Some(name) if names.iter().any(|n| n == name) => {}
            Some(name) if root.get("environments").is_some_and(Node::is_mapping) => out
                .push((key.span.start, format!("defaultEnvironment `{}` is not one of the environments", token(name)))),
            Some(_) => {}
            None => out.push((value.span.start, "defaultEnvironment: expected an environment name".to_string())),
        }
    }
    if let Some(images) = root.get("images") {
        if sequence(images, "images", &mut out) {
            for (index, rule) in images.items().iter().enumerate() {
                image_rule(rule, &format!("images[{index}]"), &mut out);
            }
        }
    }
    if let Some(workloads) = root.get("workloads") {
        if sequence(workloads, "workloads", &mut out) {
            for (index, workload) in workloads.items().iter().enumerate() {
                let at = format!("workloads[{index}]");
                if !mapping(workload, &at, &mut out) {
                    continue;
                }
                keys(workload, WORKLOAD_KEYS, &at, &mut out);
                required(workload, &["kind", "podSpecPath"], &at, &mut out);
                for key in ["kind", "apiVersion"] {
                    string(workload.get(key), &format!("{at}.{key}"), &mut out);
                }
                if let Some((key, path)) = workload.entry("podSpecPath") {
                    match path.as_str() {
                        Some(text) if text.split('/').all(str::is_empty) => {
                            out.push((key.span.start, "`podSpecPath` is empty".to_string()))
                        }
                        Some(_) => {}
                        None => out.push((path.span.start, format!("{at}.podSpecPath: expected a string"))),
                    }
                }
            }
        }
    }
    if let Some(exclude) = root.get("exclude") {
        globs(exclude, "exclude", true, &mut out);
    }
    if let Some(provided) = root.get("providedSecrets") {
        secrets(provided, "providedSecrets", &mut out);
    }
    if let Some(helm) = root.get("helm") {
        if mapping(helm, "helm", &mut out) {
            keys(helm, HELM_KEYS, "helm", &mut out);
            if let Some(charts) = helm.get("charts") {
                if sequence(charts, "helm.charts", &mut out) {
                    helm_charts(charts.items(), &mut out);
                }
            }
        }
    }
    out.sort_by_key(|(offset, _)| *offset);
    out
}

fn environment(spec: &Node, at: &str, out: &mut Vec<Mistake>) {
    if spec.is_null() || !mapping(spec, at, out) {
        return;
    }
    keys(spec, ENVIRONMENT_KEYS, at, out);
    if let Some(paths) = spec.get("paths") {
        globs(paths, &format!("{at}.paths"), true, out);
    }
    if let Some(namespaces) = spec.get("namespaces") {
        globs(namespaces, &format!("{at}.namespaces"), false, out);
    }
    if let Some(policy) = spec.get("imagePullPolicy") {
        self::policy(policy, &format!("{at}.imagePullPolicy"), out);
    }
    if let Some(list) = spec.get("imagePullSecrets") {
        secrets(list, &format!("{at}.imagePullSecrets"), out);
    }
    if let Some(attach) = spec.get("attachSecretsTo") {
        if !matches!(attach.as_str(), Some("pod" | "serviceAccount")) {
            out.push((
                attach.span.start,
                format!(
                    "{at}.attachSecretsTo: unknown variant `{}`, expected `pod` or `serviceAccount`",
                    attach.as_str().map(token).unwrap_or_default()
                ),
            ));
        }
    }
    if let Some(overwrite) = spec.get("overwrite") {
        if !matches!(overwrite.as_str(), Some("true" | "false")) || !overwrite.is_plain_non_string() {
            out.push((overwrite.span.start, format!("{at}.overwrite: expected `true` or `false`")));
        }
    }
}

fn image_rule(rule: &Node, at: &str, out: &mut Vec<Mistake>) {
    if !mapping(rule, at, out) {
        return;
    }
    keys(rule, IMAGE_KEYS, at, out);
    match rule.get("match") {
        None => out.push((rule.span.start, format!("{at}: missing field `match`"))),
        Some(patterns) if patterns.as_str().is_some() => globs_of(std::slice::from_ref(patterns), false, out),
        Some(patterns) => {
            if patterns.items().is_empty() && !patterns.is_null() && sequence(patterns, &format!("{at}.match"), out) {
                out.push((patterns.span.start, "`match` needs at least one image glob".to_string()));
            } else {
                globs(patterns, &format!("{at}.match"), false, out);
            }
        }
    }
    if let Some(policy) = rule.get("imagePullPolicy") {
        self::policy(policy, &format!("{at}.imagePullPolicy"), out);
    }
    if let Some(list) = rule.get("imagePullSecrets") {
        secrets(list, &format!("{at}.imagePullSecrets"), out);
    }
    let sets_secrets = rule.get("imagePullSecrets").is_some_and(|list| !list.items().is_empty());
    if rule.get("imagePullPolicy").is_none() && !sets_secrets {
        out.push((rule.span.start, "an image rule must set `imagePullPolicy` or `imagePullSecrets`".to_string()));
    }
}

fn helm_charts(charts: &[Node], out: &mut Vec<Mistake>) {
    // Names of the entries without `version` so far, with their index.
    let mut unversioned: Vec<(&str, usize)> = Vec::new();
    for (index, chart) in charts.iter().enumerate() {
        let at = format!("helm.charts[{index}]");
        if !mapping(chart, &at, out) {
            continue;
        }
        keys(chart, CHART_KEYS, &at, out);
        required(chart, &["name"], &at, out);
        string(chart.get("name"), &format!("{at}.name"), out);
        // `version: ~` is no version, as in the typed parse.
        let version = chart.get("version").filter(|version| !version.is_null());
        string(version, &format!("{at}.version"), out);
        if let Some((version, text)) = version.and_then(|v| v.as_str().map(|text| (v, text))) {
            if let Err(why) = helm::ChartVersion::parse(text) {
                out.push((version.span.start, format!("{at}: {}", helm::bad_range_message(text, &why))));
            }
        }
        for key in ["pullPolicy", "pullSecrets"] {
            if let Some(list) = chart.get(key) {
                strings(list, &format!("{at}.{key}"), out);
                for item in list.items() {
                    if let Some(Err(message)) = item.as_str().map(helm::check_values_key) {
                        out.push((item.span.start, message));
                    }
                }
            }
        }
        // A key that holds no list is a mistake of its own; only empty or missing lists set nothing.
        let sets_keys = ["pullPolicy", "pullSecrets"].iter().any(|key| {
            chart
                .get(key)
                .is_some_and(|list| !list.items().is_empty() || !matches!(list.kind, NodeKind::Sequence { .. }))
        });
        if !sets_keys {
            out.push((chart.span.start, format!("{at}: {}", helm::MISSING_KEYS)));
        }
        if let (Some(name), None) = (chart.get("name").and_then(Node::as_str), version) {
            match unversioned.iter().find(|(first, _)| *first == name) {
                Some((_, first_index)) => {
                    out.push((chart.span.start, format!("{at}: {}", helm::duplicate_message(name, *first_index))))
                }
                None => unversioned.push((name, index)),
            }
        }
    }
}

fn policy(node: &Node, at: &str, out: &mut Vec<Mistake>) {
    if node.as_str().and_then(Policy::parse).is_none() {
        out.push((
            node.span.start,
            format!(
                "{at}: unknown policy `{}` (expected `Always`, `IfNotPresent` or `Never`)",
                node.as_str().map(token).unwrap_or_default()
            ),
        ));
    }
}

fn keys(node: &Node, allowed: &[&str], at: &str, out: &mut Vec<Mistake>) {
    for (key, _) in node.entries() {
        let name = key.as_str().unwrap_or_default();
        if !allowed.contains(&name) {
            let prefix = if at.is_empty() { String::new() } else { format!("{at}: ") };
            let expected = allowed.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
            out.push((key.span.start, format!("{prefix}unknown field `{}`, expected one of {expected}", token(name))));
        }
    }
}

fn required(node: &Node, fields: &[&str], at: &str, out: &mut Vec<Mistake>) {
    for field in fields {
        if node.get(field).is_none() {
            out.push((node.span.start, format!("{at}: missing field `{field}`")));
        }
    }
}

fn mapping(node: &Node, at: &str, out: &mut Vec<Mistake>) -> bool {
    let ok = node.is_mapping();
    if !ok {
        out.push((node.span.start, format!("{at}: expected a mapping")));
    }
    ok
}

fn sequence(node: &Node, at: &str, out: &mut Vec<Mistake>) -> bool {
    let ok = matches!(node.kind, NodeKind::Sequence { .. });
    if !ok {
        out.push((node.span.start, format!("{at}: expected a list")));
    }
    ok
}

fn string(node: Option<&Node>, at: &str, out: &mut Vec<Mistake>) {
    if let Some(node) = node.filter(|n| n.as_str().is_none()) {
        out.push((node.span.start, format!("{at}: expected a string")));
    }
}

fn strings(list: &Node, at: &str, out: &mut Vec<Mistake>) {
    if sequence(list, at, out) {
        for item in list.items() {
            string(Some(item), at, out);
        }
    }
}

fn globs(list: &Node, at: &str, paths: bool, out: &mut Vec<Mistake>) {
    if sequence(list, at, out) {
        for item in list.items() {
            string(Some(item), at, out);
        }
        globs_of(list.items(), paths, out);
    }
}

fn globs_of(items: &[Node], paths: bool, out: &mut Vec<Mistake>) {
    for item in items {
        if let Some(text) = item.as_str() {
            if let Err(message) = model::check_glob(text, paths) {
                out.push((item.span.start, message));
            }
        }
    }
}

fn secrets(list: &Node, at: &str, out: &mut Vec<Mistake>) {
    if sequence(list, at, out) {
        for item in list.items() {
            match item.as_str() {
                Some(name) => {
                    if let Err(message) = check_secret_name(name) {
                        out.push((item.span.start, message));
                    }
                }
                None => out.push((item.span.start, format!("{at}: expected a secret name"))),
            }
        }
    }
}
