//! The corpus sweep: `pullsmith apply` with a catch-all rules file over every
//! real manifest in `../shared/corpus`, then checks that the rewrite is right
//! (every container and pod spec gets what the rules call for), faithful (the
//! data only differ in `imagePullPolicy`/`imagePullSecrets`, and not one
//! other line of text changes: the "noise lines" of `bench/fidelity.py`,
//! reimplemented here), safe (files that cannot be processed are untouched and
//! reported) and idempotent.
//!
//! The corpus is not part of a user's clone: without `../shared` the test
//! prints a note and passes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use similar::{capture_diff_slices, Algorithm, DiffTag};
use yaml_rust2::{Yaml, YamlLoader};

use crate::util::{copy_tree, describe, pullsmith, read_tree, shared_dir};

/// The one secret the sweep's rules add.
const SECRET: &str = "sweep-secret";

/// Catch-all rules: one environment for every file.
const RULES: &str = r#"version: 1
defaultEnvironment: all
environments:
  all:
    imagePullPolicy: IfNotPresent
    imagePullSecrets: [sweep-secret]
images:
  - match: "*:latest"
    imagePullPolicy: Always
workloads:
  - kind: Rollout
    apiVersion: argoproj.io/v1alpha1
    podSpecPath: spec/template/spec
"#;

const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// Problems shown per kind when the sweep fails; the rest are counted.
const SHOW_PER_KIND: usize = 15;

// ---------------------------------------------------------------------------
// The sweep

#[test]
fn corpus_sweep_apply_is_correct_faithful_and_idempotent() {
    let Some(shared) = shared_dir() else { return };
    let corpus = shared.join("corpus");
    if !corpus.is_dir() {
        eprintln!("note: {} is absent; skipping the corpus sweep", corpus.display());
        return;
    }
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    copy_tree(&corpus, &repo);
    let rules = tmp.path().join("sweep-rules.yaml");
    std::fs::write(&rules, RULES).expect("write rules");

    let parsed_rules =
        pullsmith::rules::Rules::parse(RULES, pullsmith::rules::RulesOrigin::Embedded).expect("valid rules");
    let before = read_tree(&repo);
    let modes_before = modes(&repo, &before);

    // 1st run
    let out = run(&rules, "apply", &repo);
    let code = out.status.code();
    assert!(matches!(code, Some(0) | Some(3)), "first apply: want exit 0 or 3\n{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "first apply panicked\n{}", describe(&out));

    let after = read_tree(&repo);
    let mut problems = Problems::default();
    let mut notes: Vec<String> = Vec::new();

    // Same files, nothing new (temporary files of atomic writes are gone), nothing lost.
    let names_before: BTreeSet<&str> = before.iter().map(|(p, _)| p.as_str()).collect();
    let names_after: BTreeSet<&str> = after.iter().map(|(p, _)| p.as_str()).collect();
    for p in names_before.difference(&names_after) {
        problems.add("files", format!("{p}: file disappeared"));
    }
    for p in names_after.difference(&names_before) {
        problems.add("files", format!("{p}: stray new file"));
    }
    let new_bytes: HashMap<&str, &[u8]> = after.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();

    let known: HashSet<&str> = names_before.iter().copied().collect();
    let errors = reported(&stderr, "error: ", &known);
    let skipped = reported(&stderr, "skipped: ", &known);
    // Chart templates are summed up per chart: `skipped: <chart dir>: Helm chart: N templates …`.
    let mut skipped_charts: HashMap<String, usize> = HashMap::new();
    for line in errors.unmatched.iter().chain(&skipped.unmatched) {
        let chart = line.strip_prefix("skipped: ").and_then(|rest| rest.split_once(": Helm chart: "));
        match chart.and_then(|(dir, rest)| Some((dir, rest.split(' ').next()?.parse::<usize>().ok()?))) {
            Some((dir, n)) => {
                skipped_charts.insert(format!("{dir}/"), n);
            }
            None => notes.push(format!("stderr line naming no corpus file: {line}")),
        }
    }
    match code {
        Some(3) if errors.paths.is_empty() => {
            problems.add("exit code", "exit 3 but no `error: <path>:…` line names a corpus file")
        }
        Some(0) if !errors.paths.is_empty() => {
            problems.add("exit code", format!("exit 0 although {} files were reported as errors", errors.paths.len()))
        }
        _ => {}
    }

    let charts: HashSet<String> = names_before
        .iter()
        .filter_map(|p| p.strip_suffix("Chart.yaml"))
        .filter(|d| d.is_empty() || d.ends_with('/'))
        .map(str::to_string)
        .collect();

    for (dir, n) in &skipped_charts {
        let templates = names_before
            .iter()
            .filter(|p| (p.ends_with(".yaml") || p.ends_with(".yml")) && is_chart_template(p, &charts))
            .filter(|p| p.strip_prefix(dir.as_str()).is_some_and(|rest| rest.starts_with("templates/")))
            .count();
        if templates != *n {
            problems
                .add("Helm chart count", format!("{dir}: skipped line says {n} templates, the chart has {templates}"));
        }
    }

    let kustomize_patches = kustomize_patch_files(&before);
    let mut stats = Stats::default();
    let mut noisy_hunks: Vec<String> = Vec::new();
    let mut disagree: Vec<String> = Vec::new();

    for (rel, old) in &before {
        let Some(&new) = new_bytes.get(rel.as_str()) else {
            continue;
        };
        let changed = old.as_slice() != new;
        let is_yaml = rel.ends_with(".yaml") || rel.ends_with(".yml");
        let in_suite = rel.starts_with("yaml-test-suite/");
        let is_error = errors.paths.contains(rel);
        let old_docs = load(old);
        let chart_template = is_chart_template(rel, &charts);
        let in_skipped_chart = chart_template && skipped_charts.keys().any(|dir| rel.starts_with(dir.as_str()));
        let is_skipped = skipped.paths.contains(rel) || in_skipped_chart;
        let helm = chart_template
            || (old_docs.is_none() && contains(old, b"{{"))
            || old_docs.as_deref().is_some_and(image_has_braces);
        if changed {
            stats.changed += 1;
        }

        // Modes are kept.
        if changed && modes_before.get(rel.as_str()) != Some(&mode(&repo.join(rel))) {
            problems.add("files", format!("{rel}: file mode changed"));
        }
        // Non-YAML files, JSON included, are never touched.
        if !is_yaml {
            if changed {
                problems.add("non-YAML changed", format!("{rel}: not a *.yaml/*.yml file, but it changed"));
            }
            if is_error || is_skipped {
                notes.push(format!("{rel}: not a *.yaml/*.yml file, but reported on stderr"));
            }
            continue;
        }
        stats.yaml += 1;

        // Reported files are untouched.
        if changed && (is_error || is_skipped) {
            problems.add(
                "reported but changed",
                format!("{rel}: reported as {} but changed", if is_error { "an error" } else { "skipped" }),
            );
        }
        // Helm templates are skipped, and only Helm templates.
        // (Unparseable ones are checked below.)
        if helm && old_docs.is_some() && !is_skipped && !is_error {
            problems.add(
                "Helm template not skipped",
                format!("{rel}: a Helm template (chart templates/ dir, or an image holding `{{{{`), not reported as `skipped:`"),
            );
        }
        if is_skipped && !helm {
            problems.add("skipped but not Helm", format!("{rel}: reported as skipped but is no Helm template"));
        }

        // The byte scan (issue 16): what it lets go unparsed holds nothing pullsmith acts on.
        let worth_parsing =
            std::str::from_utf8(old).map_or(true, |text| pullsmith::manifest::worth_parsing(text, &parsed_rules));
        if !worth_parsing {
            stats.not_parsed += 1;
            if let Some(found) = old_docs.as_deref().and_then(|docs| docs.iter().find_map(what_matters)) {
                problems.add("scanned out but matters", format!("{rel}: not parsed, but holds {found}"));
            }
        }
        let Some(old_docs) = old_docs else {
            // Unparseable: untouched, and reported (when the scan let it be parsed at all).
            stats.unparseable += 1;
            if changed {
                problems.add("unparseable but changed", format!("{rel}: does not parse (YamlLoader), but was changed"));
            }
            if helm {
                if !is_skipped && !is_error {
                    problems.add(
                        "Helm template not skipped",
                        format!("{rel}: Helm template that does not parse, not reported as skipped"),
                    );
                }
            } else if !is_error && worth_parsing {
                if in_suite {
                    disagree.push(format!("{rel}: YamlLoader rejects it, pullsmith did not report it"));
                } else {
                    problems.add(
                        "unparseable not reported",
                        format!("{rel}: does not parse (YamlLoader), but no `error: {rel}:…` line"),
                    );
                }
            }
            continue;
        };
        if is_error {
            stats.errors_parseable += 1;
            if in_suite {
                disagree.push(format!("{rel}: YamlLoader accepts it, pullsmith reported an error"));
            } else if !has_bad_container_list(&old_docs) {
                problems.add(
                    "error on a valid file",
                    format!(
                        "{rel}: parses and has no malformed container list, yet reported as an error: {}",
                        errors.lines_for(rel).join(" | ")
                    ),
                );
            }
        }
        if is_error || is_skipped {
            continue;
        }
        // A kustomize patch is a partial object: its containers that name an
        // image get their policy, but the environment's secrets go to the
        // workload it patches, not to the patch.
        let is_kustomize_patch = kustomize_patches.contains(rel.as_str());
        if has_bad_container_list(&old_docs) {
            problems.add(
                "malformed containers not reported",
                format!("{rel}: a pod spec's container list is not a sequence of mappings, not reported as an error"),
            );
        }

        // The output: parses, same data outside the edited keys, no noise.
        let new_docs = if changed {
            stats.changed_checked += 1;
            let Some(new_docs) = load(new) else {
                problems.add("output does not parse", format!("{rel}: the rewritten file does not parse"));
                continue;
            };
            let added = semantic(rel, &old_docs, &new_docs, &mut problems);
            let (Ok(a), Ok(b)) = (std::str::from_utf8(old), std::str::from_utf8(new)) else {
                problems.add("output does not parse", format!("{rel}: changed, but a version is not UTF-8"));
                continue;
            };
            let (a_lines, b_lines) = (lines_of(a), lines_of(b));
            let mut hunks = noise(&a_lines, &b_lines, &added);
            if old_docs.iter().any(crate::util::is_helm_carrier) {
                // Helm values: the keys written, and the mappings that lead to them.
                hunks.retain(|h| {
                    !h.rem.iter().all(|l| l.contains("pullPolicy")) || !h.add.iter().all(|l| is_values_line(l))
                });
            }
            for h in hunks {
                stats.noise += h.rem.len() + h.add.len();
                noisy_hunks.push(format!("--- noisy hunk {rel}:{}\n{}", h.line, h.render()));
            }
            new_docs
        } else {
            old_docs.clone()
        };

        // Every container gets the wanted policy, every pod spec the secret.
        for (i, doc) in new_docs.iter().enumerate() {
            for spec_path in pod_specs(doc) {
                let Some(spec) = at(doc, &spec_path) else {
                    continue;
                };
                stats.pod_specs += 1;
                let where_ = format!("{rel}: document {i}, {}", fmt_path(&spec_path));
                let has_containers = matches!(get(spec, "containers"), Some(Yaml::Array(_)));
                for list in CONTAINER_LISTS {
                    let Some(Yaml::Array(items)) = get(spec, list) else {
                        continue;
                    };
                    for (n, c) in items.iter().enumerate() {
                        let Some(Yaml::String(image)) = get(c, "image") else {
                            continue;
                        };
                        if image.contains("{{") {
                            continue;
                        }
                        stats.containers += 1;
                        let want = wanted_policy(image);
                        match get(c, "imagePullPolicy") {
                            Some(Yaml::String(p)) if p == want => {}
                            got => problems.add(
                                "wrong or missing imagePullPolicy",
                                format!(
                                    "{where_}/{list}/{n} (image {image}): imagePullPolicy {} (want {want})",
                                    show(got)
                                ),
                            ),
                        }
                    }
                }
                if has_containers
                    && !is_kustomize_patch
                    && !secret_names(get(spec, "imagePullSecrets")).contains(&Yaml::String(SECRET.into()))
                {
                    problems.add(
                        "missing imagePullSecrets",
                        format!("{where_}: imagePullSecrets {} lacks {SECRET}", show(get(spec, "imagePullSecrets"))),
                    );
                }
            }
        }
    }
    if !noisy_hunks.is_empty() {
        problems.add(
            "noise",
            format!(
                "{} noise lines in {} hunks (first {} shown):\n{}",
                stats.noise,
                noisy_hunks.len(),
                noisy_hunks.len().min(30),
                noisy_hunks.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
            ),
        );
    }

    // 2nd run: nothing changes; `check` finds nothing to change.
    let out2 = run(&rules, "apply", &repo);
    if out2.status.code() != code || String::from_utf8_lossy(&out2.stderr).contains("panicked") {
        problems.add("idempotence", format!("second apply: want the first run's exit {code:?}\n{}", describe(&out2)));
    }
    let again = read_tree(&repo);
    let first: HashMap<&str, &[u8]> = after.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
    for (rel, bytes) in &again {
        if first.get(rel.as_str()) != Some(&bytes.as_slice()) {
            problems.add("idempotence", format!("{rel}: changed again by the second apply (not idempotent)"));
        }
    }
    if again.len() != after.len() {
        problems.add("idempotence", format!("second apply: {} files before, {} after", after.len(), again.len()));
    }
    let out3 = run(&rules, "check", &repo);
    if !matches!(out3.status.code(), Some(0) | Some(3)) || String::from_utf8_lossy(&out3.stderr).contains("panicked") {
        problems.add("idempotence", format!("check after apply: want exit 0 or 3\n{}", describe(&out3)));
    }

    eprintln!(
        "sweep: {} files, {} YAML ({} unparseable, {} not parsed by the byte scan), {} changed ({} of them parse and were checked), {} pod specs and {} containers checked, \
         {} errors and {} skips reported ({} errors on files YamlLoader parses), {} noise lines, {:.1?}",
        before.len(),
        stats.yaml,
        stats.unparseable,
        stats.not_parsed,
        stats.changed,
        stats.changed_checked,
        stats.pod_specs,
        stats.containers,
        errors.paths.len(),
        skipped.paths.len(),
        stats.errors_parseable,
        stats.noise,
        started.elapsed()
    );
    for d in &disagree {
        eprintln!("note: parser disagreement: {d}");
    }
    for n in &notes {
        eprintln!("note: {n}");
    }
    if !problems.0.is_empty() {
        panic!(
            "corpus sweep: {} problems\n{}\n--- first apply stderr, `skipped:` lines left out (head)\n{}",
            problems.0.values().map(Vec::len).sum::<usize>(),
            problems.render(),
            stderr.lines().filter(|l| !l.starts_with("skipped: ")).take(40).collect::<Vec<_>>().join("\n")
        );
    }
}

/// Problems found, by kind.
#[derive(Default)]
struct Problems(BTreeMap<&'static str, Vec<String>>);

impl Problems {
    fn add(&mut self, kind: &'static str, message: impl Into<String>) {
        self.0.entry(kind).or_default().push(message.into());
    }

    /// The first few of each kind.
    fn render(&self) -> String {
        let mut out = String::new();
        for (kind, messages) in &self.0 {
            out.push_str(&format!("=== {kind}: {}\n", messages.len()));
            for m in messages.iter().take(SHOW_PER_KIND) {
                out.push_str(m);
                out.push('\n');
            }
            if messages.len() > SHOW_PER_KIND {
                out.push_str(&format!("... and {} more\n", messages.len() - SHOW_PER_KIND));
            }
        }
        out
    }
}

#[derive(Default)]
struct Stats {
    yaml: usize,
    /// Files the byte scan let go unparsed (`manifest::worth_parsing`).
    not_parsed: usize,
    unparseable: usize,
    changed: usize,
    changed_checked: usize,
    pod_specs: usize,
    containers: usize,
    errors_parseable: usize,
    noise: usize,
}

fn run(rules: &Path, command: &str, repo: &Path) -> Output {
    pullsmith()
        .arg("--rules")
        .arg(rules)
        .arg(command)
        .arg(repo)
        .timeout(Duration::from_secs(600))
        .output()
        .expect("run pullsmith")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).map(|m| m.permissions().mode()).unwrap_or(0)
}

fn modes(root: &Path, tree: &[(String, Vec<u8>)]) -> HashMap<String, u32> {
    tree.iter().map(|(p, _)| (p.clone(), mode(&root.join(p)))).collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------
// stderr

/// Repo-relative paths named by `<prefix><path>:…` lines of stderr.
struct Reported {
    paths: BTreeSet<String>,
    lines: Vec<(String, String)>,
    unmatched: Vec<String>,
}

impl Reported {
    fn lines_for(&self, rel: &str) -> Vec<&str> {
        self.lines.iter().filter(|(p, _)| p == rel).map(|(_, l)| l.as_str()).collect()
    }
}

fn reported(stderr: &str, prefix: &str, known: &HashSet<&str>) -> Reported {
    let mut r = Reported { paths: BTreeSet::new(), lines: Vec::new(), unmatched: Vec::new() };
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix(prefix) else {
            continue;
        };
        // The longest known path followed by ':' (a path may itself hold ':').
        let path = rest.match_indices(':').map(|(i, _)| &rest[..i]).rfind(|p| known.contains(p));
        match path {
            Some(p) => {
                r.paths.insert(p.to_string());
                r.lines.push((p.to_string(), line.to_string()));
            }
            None => r.unmatched.push(line.to_string()),
        }
    }
    r
}

// ---------------------------------------------------------------------------
// YAML data

/// All documents, or None when YamlLoader rejects the file (or it is not UTF-8).
/// A key or kind that a run acts on or must know, anywhere in `node`.
/// What in a document pullsmith acts on or must know about: a container
/// list or pull field, a ServiceAccount, a HelmRelease, or a Secret-like
/// definition that names the rules' secret (the only name a run looks for).
fn what_matters(node: &Yaml) -> Option<String> {
    const KEYS: [&str; 6] =
        ["containers", "initContainers", "ephemeralContainers", "container", "imagePullPolicy", "imagePullSecrets"];
    const KINDS: [&str; 2] = ["ServiceAccount", "HelmRelease"];
    const SECRET_KINDS: [&str; 3] = ["Secret", "SealedSecret", "ExternalSecret"];
    let names_the_secret = |node: &Yaml| {
        let name = get(node, "metadata").and_then(|m| get(m, "name"));
        let target = get(node, "spec").and_then(|s| get(s, "target")).and_then(|t| get(t, "name"));
        [name, target].into_iter().flatten().any(|n| n.as_str() == Some(SECRET))
    };
    match node {
        Yaml::Hash(map) => map.iter().find_map(|(k, v)| match (k.as_str(), v.as_str()) {
            (Some(key), _) if KEYS.contains(&key) => Some(format!("a `{key}` key")),
            (Some("kind"), Some(kind)) if KINDS.contains(&kind) => Some(format!("a {kind}")),
            (Some("kind"), Some(kind)) if SECRET_KINDS.contains(&kind) && names_the_secret(node) => {
                Some(format!("a {kind} named `{SECRET}`"))
            }
            _ => what_matters(v),
        }),
        Yaml::Array(items) => items.iter().find_map(what_matters),
        _ => None,
    }
}

fn load(bytes: &[u8]) -> Option<Vec<Yaml>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    YamlLoader::load_from_str(text).ok()
}

fn key(k: &str) -> Yaml {
    Yaml::String(k.to_string())
}

fn get<'a>(y: &'a Yaml, k: &str) -> Option<&'a Yaml> {
    match y {
        Yaml::Hash(h) => h.get(&key(k)),
        _ => None,
    }
}

fn show(y: Option<&Yaml>) -> String {
    match y {
        None => "missing".into(),
        Some(y) => format!("{y:?}"),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Key(String),
    Idx(usize),
}

fn fmt_path(path: &[Seg]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|s| match s {
            Seg::Key(k) => k.clone(),
            Seg::Idx(i) => i.to_string(),
        })
        .collect();
    if parts.is_empty() {
        "/".into()
    } else {
        parts.join("/")
    }
}

fn at<'a>(mut y: &'a Yaml, path: &[Seg]) -> Option<&'a Yaml> {
    for s in path {
        y = match (s, y) {
            (Seg::Key(k), Yaml::Hash(h)) => h.get(&key(k.as_str()))?,
            (&Seg::Idx(i), Yaml::Array(a)) => a.get(i)?,
            _ => return None,
        };
    }
    Some(y)
}

fn at_mut<'a>(mut y: &'a mut Yaml, path: &[Seg]) -> Option<&'a mut Yaml> {
    for s in path {
        y = match (s, y) {
            (Seg::Key(k), Yaml::Hash(h)) => h.get_mut(&key(k.as_str()))?,
            (&Seg::Idx(i), Yaml::Array(a)) => a.get_mut(i)?,
            _ => return None,
        };
    }
    Some(y)
}

/// Where the pod specs of a kind live (SPEC "Built-in pod specs", the sweep's
/// Rollout, and Argo Rollouts' Experiment and analysis jobs, built in; `*` is
/// every item of a sequence).
fn pod_spec_path(kind: &str, api_version: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Pod" => Some(&["spec"]),
        "PodTemplate" => Some(&["template", "spec"]),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job" => {
            Some(&["spec", "template", "spec"])
        }
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        "Rollout" if api_version == "argoproj.io/v1alpha1" => Some(&["spec", "template", "spec"]),
        "Experiment" if api_version.starts_with("argoproj.io/") => {
            Some(&["spec", "templates", "*", "template", "spec"])
        }
        "AnalysisTemplate" | "ClusterAnalysisTemplate" | "AnalysisRun" if api_version.starts_with("argoproj.io/") => {
            Some(&["spec", "metrics", "*", "provider", "job", "spec", "template", "spec"])
        }
        _ => None,
    }
}

/// Paths of the pod spec mappings of a document (`kind: List` items recursively).
fn pod_specs(doc: &Yaml) -> Vec<Vec<Seg>> {
    fn walk(node: &Yaml, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
        let (Some(Yaml::String(api)), Some(Yaml::String(kind))) = (get(node, "apiVersion"), get(node, "kind")) else {
            return;
        };
        if kind == "List" {
            if let Some(Yaml::Array(items)) = get(node, "items") {
                for (i, item) in items.iter().enumerate() {
                    prefix.push(Seg::Key("items".into()));
                    prefix.push(Seg::Idx(i));
                    walk(item, prefix, out);
                    prefix.truncate(prefix.len() - 2);
                }
            }
            return;
        }
        let Some(path) = pod_spec_path(kind, api) else {
            return;
        };
        // Expand `*` over sequence items, then keep the paths that reach a mapping.
        let mut paths: Vec<Vec<Seg>> = vec![Vec::new()];
        for key in path {
            paths = paths
                .into_iter()
                .flat_map(|p| match *key {
                    "*" => match at(node, &p) {
                        Some(Yaml::Array(items)) => (0..items.len())
                            .map(|i| {
                                let mut next = p.clone();
                                next.push(Seg::Idx(i));
                                next
                            })
                            .collect(),
                        _ => Vec::new(),
                    },
                    key => {
                        let mut next = p;
                        next.push(Seg::Key(key.to_string()));
                        vec![next]
                    }
                })
                .collect();
        }
        for relative in paths {
            if matches!(at(node, &relative), Some(Yaml::Hash(_))) {
                let mut spec = prefix.clone();
                spec.extend(relative);
                out.push(spec);
            }
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut Vec::new(), &mut out);
    out
}

/// A pod spec whose container list is there but not a sequence of mappings
/// (a per-file error by SPEC).
fn has_bad_container_list(docs: &[Yaml]) -> bool {
    docs.iter().any(|doc| {
        pod_specs(doc).iter().any(|p| {
            let spec = at(doc, p).expect("pod spec path");
            CONTAINER_LISTS.iter().any(|l| match get(spec, l) {
                None => false,
                Some(Yaml::Array(items)) => items.iter().any(|c| !matches!(c, Yaml::Hash(_))),
                Some(_) => true,
            })
        })
    })
}

/// An `image` key anywhere whose string value holds `{{` (a Helm template by SPEC).
fn image_has_braces(docs: &[Yaml]) -> bool {
    fn walk(y: &Yaml) -> bool {
        match y {
            Yaml::Hash(h) => h
                .iter()
                .any(|(k, v)| (k == &key("image") && matches!(v, Yaml::String(s) if s.contains("{{"))) || walk(v)),
            Yaml::Array(a) => a.iter().any(walk),
            _ => false,
        }
    }
    docs.iter().any(walk)
}

fn is_chart_template(rel: &str, charts: &HashSet<String>) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    (0..parts.len().saturating_sub(1)).any(|i| {
        parts[i] == "templates" && {
            let dir: String = parts[..i].iter().map(|p| format!("{p}/")).collect();
            charts.contains(&dir)
        }
    })
}

/// `Always` for `:latest` and for images with neither tag nor digest, else `IfNotPresent`.
fn wanted_policy(image: &str) -> &'static str {
    let last = image.rsplit('/').next().unwrap_or(image);
    let tagged = last.contains(':');
    let digest = image.contains('@');
    if image.ends_with(":latest") || (!tagged && !digest) {
        "Always"
    } else {
        "IfNotPresent"
    }
}

fn secret_names(v: Option<&Yaml>) -> Vec<Yaml> {
    match v {
        Some(Yaml::Array(a)) => a.iter().map(|e| get(e, "name").cloned().unwrap_or_else(|| e.clone())).collect(),
        _ => Vec::new(),
    }
}

/// A copy of a document without the keys the sweep may edit: `imagePullSecrets`
/// of its pod specs and `imagePullPolicy` of their containers. Returns the
/// removed values by path.
fn strip(doc: &Yaml, specs: &[Vec<Seg>]) -> (Yaml, BTreeMap<String, Yaml>, BTreeMap<String, Yaml>) {
    let mut d = doc.clone();
    let (mut policies, mut secrets) = (BTreeMap::new(), BTreeMap::new());
    for p in specs {
        let Some(Yaml::Hash(spec)) = at_mut(&mut d, p) else {
            continue;
        };
        if let Some(v) = spec.remove(&key("imagePullSecrets")) {
            secrets.insert(fmt_path(p), v);
        }
        for list in CONTAINER_LISTS {
            let Some(Yaml::Array(items)) = spec.get_mut(&key(list)) else {
                continue;
            };
            for (i, item) in items.iter_mut().enumerate() {
                if let Yaml::Hash(c) = item {
                    if let Some(v) = c.remove(&key("imagePullPolicy")) {
                        policies.insert(format!("{}/{list}/{i}", fmt_path(p)), v);
                    }
                }
            }
        }
    }
    (d, policies, secrets)
}

/// A line a values edit may add: a pull key, a secret entry, or a key that opens a mapping.
fn is_values_line(line: &str) -> bool {
    let t = line.trim();
    t.contains("pullPolicy")
        || t.contains("PullSecrets")
        || t.contains("pullSecrets")
        || t == format!("- name: {SECRET}")
        || t == format!("- {SECRET}")
        || (t.ends_with(':') && !t.contains(' '))
}

/// The semantic check of a changed file; returns the secret names it added.
fn semantic(rel: &str, old: &[Yaml], new: &[Yaml], problems: &mut Problems) -> HashSet<String> {
    let mut added = HashSet::new();
    if old.len() != new.len() {
        problems.add("data changed", format!("{rel}: {} documents became {}", old.len(), new.len()));
        return added;
    }
    for (i, (a, b)) in old.iter().zip(new).enumerate() {
        let specs = pod_specs(a);
        let (mut sa, _, a_sec) = strip(a, &specs);
        let (mut sb, b_pol, b_sec) = strip(b, &specs);
        crate::util::strip_helm_pull_values(&mut sa);
        crate::util::strip_helm_pull_values(&mut sb);
        if sa != sb {
            problems.add(
                "data changed",
                format!(
                    "{rel}: document {i}: data differ outside the edited keys ({})",
                    first_difference(&sa, &sb, &mut Vec::new())
                ),
            );
        }
        for (path, v) in &b_pol {
            if !matches!(v, Yaml::String(s) if ["Always", "IfNotPresent", "Never"].contains(&s.as_str())) {
                problems
                    .add("bad imagePullPolicy value", format!("{rel}: document {i}: imagePullPolicy {v:?} at {path}"));
            }
        }
        for (path, v) in &b_sec {
            let old_names = secret_names(a_sec.get(path));
            let new_names = secret_names(Some(v));
            if !new_names.starts_with(&old_names) {
                problems.add("imagePullSecrets not kept", format!(
                    "{rel}: document {i}: imagePullSecrets {old_names:?} -> {new_names:?} at {path} (old ones not kept as a prefix)"
                ));
            }
            let tail = &new_names[old_names.len().min(new_names.len())..];
            for (n, name) in tail.iter().enumerate() {
                if old_names.contains(name) || tail[..n].contains(name) {
                    problems.add(
                        "imagePullSecrets not kept",
                        format!("{rel}: document {i}: imagePullSecrets duplicates {name:?} at {path}"),
                    );
                }
                match name {
                    Yaml::String(s) if s == SECRET => {
                        added.insert(s.clone());
                    }
                    _ => problems.add(
                        "imagePullSecrets not kept",
                        format!("{rel}: document {i}: unexpected secret {name:?} added at {path}"),
                    ),
                }
            }
            if !matches!(v, Yaml::Array(items) if items.iter().all(|e| matches!(get(e, "name"), Some(Yaml::String(_)))))
            {
                problems.add(
                    "imagePullSecrets not kept",
                    format!("{rel}: document {i}: imagePullSecrets at {path} is not a list of {{name: …}}: {v:?}"),
                );
            }
        }
        for path in a_sec.keys() {
            if !b_sec.contains_key(path) {
                problems.add(
                    "imagePullSecrets not kept",
                    format!("{rel}: document {i}: imagePullSecrets removed at {path}"),
                );
            }
        }
    }
    added
}

fn first_difference(a: &Yaml, b: &Yaml, path: &mut Vec<Seg>) -> String {
    match (a, b) {
        (Yaml::Hash(x), Yaml::Hash(y)) => {
            for (k, v) in x {
                let ks = match k {
                    Yaml::String(s) => s.clone(),
                    other => format!("{other:?}"),
                };
                match y.get(k) {
                    None => {
                        return format!(
                            "{}: key only in the original",
                            fmt_path(&[path.clone(), vec![Seg::Key(ks)]].concat())
                        )
                    }
                    Some(w) if w != v => {
                        path.push(Seg::Key(ks));
                        return first_difference(v, w, path);
                    }
                    _ => {}
                }
            }
            for k in y.keys() {
                if !x.contains_key(k) {
                    return format!("{}: key {k:?} only in the rewrite", fmt_path(path));
                }
            }
            format!("{}: key order differs", fmt_path(path))
        }
        (Yaml::Array(x), Yaml::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                if v != w {
                    path.push(Seg::Idx(i));
                    return first_difference(v, w, path);
                }
            }
            format!("{}: ?", fmt_path(path))
        }
        _ => {
            let (sa, sb) = (format!("{a:?}"), format!("{b:?}"));
            format!("{}: {:.80} != {:.80}", fmt_path(path), sa, sb)
        }
    }
}

// ---------------------------------------------------------------------------
// Noise lines, as bench/fidelity.py counts them

/// Lines with their endings; a last line without one is kept as it is.
fn lines_of(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// `- name: X` / `- {name: X}` (optionally quoted, optionally commented): X.
/// fidelity.py: `^\s*-\s+\{?\s*name:\s*(["']?)([^"'\s{},#]+)\1\s*\}?\s*(?:#.*)?\r?\n?$`
fn secret_item_name(line: &str) -> Option<&str> {
    let s = line.trim_start().strip_prefix('-')?;
    let t = s.trim_start();
    if t.len() == s.len() {
        return None;
    }
    let t = t.strip_prefix('{').map(str::trim_start).unwrap_or(t);
    let t = t.strip_prefix("name:")?.trim_start();
    let (quote, t) = match t.chars().next() {
        Some(q @ ('"' | '\'')) => (Some(q), &t[1..]),
        _ => (None, t),
    };
    let end = t.find(|c: char| c.is_whitespace() || "\"'{},#".contains(c)).unwrap_or(t.len());
    let (name, mut t) = t.split_at(end);
    if name.is_empty() {
        return None;
    }
    if let Some(q) = quote {
        t = t.strip_prefix(q)?;
    }
    let t = t.trim_start();
    let t = t.strip_prefix('}').unwrap_or(t).trim_start();
    (t.is_empty() || t.starts_with('#')).then_some(name)
}

fn is_signal(line: &str, added: &HashSet<String>) -> bool {
    line.contains("imagePullPolicy")
        || line.contains("imagePullSecrets")
        || secret_item_name(line).is_some_and(|n| added.contains(n))
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// At `i`: `imagePullPolicy:[ \t]*["']?\w+["']?`, returning the end.
fn policy_entry(s: &[u8], i: usize) -> Option<usize> {
    const KEY: &[u8] = b"imagePullPolicy:";
    let mut j = i;
    if !s[j..].starts_with(KEY) {
        return None;
    }
    j += KEY.len();
    while j < s.len() && (s[j] == b' ' || s[j] == b'\t') {
        j += 1;
    }
    if j < s.len() && (s[j] == b'"' || s[j] == b'\'') {
        j += 1;
    }
    let w = j;
    while j < s.len() && is_word(s[j]) {
        j += 1;
    }
    if j == w {
        return None;
    }
    Some(j)
}

fn skip_blanks(s: &[u8], mut j: usize) -> usize {
    while j < s.len() && (s[j] == b' ' || s[j] == b'\t') {
        j += 1;
    }
    j
}

/// fidelity.py's `_FLOW_POLICY` substitution (first match only): takes an
/// inserted flow `, imagePullPolicy: X` (or `imagePullPolicy: X, `) entry out.
fn without_flow_policy(line: &str) -> Option<String> {
    let s = line.as_bytes();
    for i in 0..s.len() {
        // `,[ \t]*imagePullPolicy:[ \t]*["']?\w+["']?(?=[ \t]*[,}])`
        if s[i] == b',' {
            if let Some(mut j) = policy_entry(s, skip_blanks(s, i + 1)) {
                let quoted = j < s.len() && (s[j] == b'"' || s[j] == b'\'');
                let ahead = |k: usize| {
                    let k = skip_blanks(s, k);
                    k < s.len() && (s[k] == b',' || s[k] == b'}')
                };
                if quoted && ahead(j + 1) {
                    j += 1;
                    return Some(format!("{}{}", &line[..i], &line[j..]));
                }
                if ahead(j) {
                    return Some(format!("{}{}", &line[..i], &line[j..]));
                }
            }
        }
        // `imagePullPolicy:[ \t]*["']?\w+["']?[ \t]*,[ \t]*`
        if let Some(mut j) = policy_entry(s, i) {
            if j < s.len() && (s[j] == b'"' || s[j] == b'\'') && s.get(skip_blanks(s, j + 1)) == Some(&b',') {
                j += 1;
            }
            let k = skip_blanks(s, j);
            if s.get(k) == Some(&b',') {
                let end = skip_blanks(s, k + 1);
                return Some(format!("{}{}", &line[..i], &line[end..]));
            }
        }
    }
    None
}

/// Added lines with an inserted flow `imagePullPolicy` entry taken out: a
/// removed line equal to one of them is the edit itself.
fn flow_edits(added: &[&str]) -> HashSet<String> {
    added
        .iter()
        .filter(|y| y.contains("imagePullPolicy") && y.contains('{'))
        .map(|y| without_flow_policy(y).unwrap_or_else(|| y.to_string()))
        .collect()
}

struct Hunk {
    line: usize,
    rem: Vec<String>,
    add: Vec<String>,
}

impl Hunk {
    fn render(&self) -> String {
        let vis = |l: &String| l.trim_end_matches('\n').replace('\r', "\\r");
        let mut out: Vec<String> = self.rem.iter().map(|l| format!("-{}", vis(l))).collect();
        out.extend(self.add.iter().map(|l| format!("+{}", vis(l))));
        out.join("\n")
    }
}

/// The noisy hunks of a rewrite (fidelity.py's `noise`).
fn noise(a: &[&str], b: &[&str], added: &HashSet<String>) -> Vec<Hunk> {
    let mut hunks = Vec::new();
    // The original's last line when it has no line terminator.
    let a_open = a.last().filter(|l| !l.ends_with('\n')).copied();
    let closed: Vec<String> = match a_open {
        None => Vec::new(),
        Some(open) => {
            let first = if a.len() > 1 { a[0] } else { "" };
            let eols: &[&str] = if first.ends_with("\r\n") {
                &["\r\n"]
            } else if !first.is_empty() {
                &["\n"]
            } else {
                &["\n", "\r\n"]
            };
            eols.iter().map(|e| format!("{open}{e}")).collect()
        }
    };
    for op in capture_diff_slices(Algorithm::Myers, a, b) {
        let (tag, ar, br) = op.as_tag_tuple();
        if tag == DiffTag::Equal {
            continue;
        }
        let before = if tag == DiffTag::Replace { flow_edits(&b[br.clone()]) } else { HashSet::new() };
        let mut rem: Vec<&str> =
            a[ar.clone()].iter().filter(|x| !is_signal(x, added) && !before.contains::<str>(x)).copied().collect();
        let mut add: Vec<&str> = b[br.clone()].iter().filter(|y| !is_signal(y, added)).copied().collect();
        if let Some(open) = a_open {
            if ar.end == a.len() && rem.contains(&open) {
                // only a terminated copy that is not the rewrite's last line
                let end = br.end.min(b.len().saturating_sub(1)).max(br.start);
                let hit = b[br.start..end].iter().find(|y| closed.iter().any(|c| c == **y)).copied();
                if let Some(hit) = hit.filter(|h| add.contains(h)) {
                    rem.remove(rem.iter().position(|x| *x == open).expect("present"));
                    add.remove(add.iter().position(|y| *y == hit).expect("present"));
                }
            }
        }
        if rem.is_empty() && add.is_empty() {
            continue;
        }
        hunks.push(Hunk {
            line: ar.start + 1,
            rem: rem.into_iter().map(str::to_string).collect(),
            add: add.into_iter().map(str::to_string).collect(),
        });
    }
    // A final newline gained or lost under an inserted last line.
    if let (Some(la), Some(lb)) = (a.last(), b.last()) {
        if is_signal(lb, added) && la.ends_with('\n') != lb.ends_with('\n') {
            let what = if lb.ends_with('\n') { "added" } else { "removed" };
            hunks.push(Hunk { line: a.len(), rem: Vec::new(), add: vec![format!("(final newline {what})")] });
        }
    }
    hunks
}

/// The meter itself, on small cases with known answers.
#[test]
fn sweep_noise_meter_counts_like_fidelity_py() {
    let added: HashSet<String> = [SECRET.to_string()].into();
    let count = |a: &str, b: &str| -> usize {
        noise(&lines_of(a), &lines_of(b), &added).iter().map(|h| h.rem.len() + h.add.len()).sum()
    };
    let pod = "spec:\n  containers:\n  - name: a\n    image: b:1\n";
    // Clean insertions: policy after image, secrets at the end.
    assert_eq!(
        count(pod, "spec:\n  containers:\n  - name: a\n    image: b:1\n    imagePullPolicy: IfNotPresent\n  imagePullSecrets:\n  - name: sweep-secret\n"),
        0
    );
    // Flow containers: the edited line is the edit itself.
    assert_eq!(
        count(
            "spec:\n  containers: [{name: a, image: b}]\n",
            "spec:\n  containers: [{name: a, image: b, imagePullPolicy: Always}]\n  imagePullSecrets: [{name: sweep-secret}]\n"
        ),
        0
    );
    assert_eq!(count("c: {image: b, name: a}\n", "c: {image: b, imagePullPolicy: 'Always', name: a}\n"), 0);
    // An unrelated line changing, or a secret not added, is noise.
    assert_eq!(
        count(pod, "spec:\n  containers:\n  - name: a\n    image: \"b:1\"\n    imagePullPolicy: IfNotPresent\n"),
        2
    );
    assert_eq!(count(pod, &format!("{pod}  imagePullSecrets:\n  - name: other\n")), 1);
    // CRLF turned into LF: every line.
    assert_eq!(count("a: 1\r\nb: 2\r\n", "a: 1\nb: 2\n"), 4);
    // No final newline: the last line gains one because lines follow it.
    let open = "spec:\n  containers:\n  - name: a\n    image: b:1";
    assert_eq!(count(open, &format!("{open}\n    imagePullPolicy: IfNotPresent")), 0);
    // ... but a final newline added under an inserted last line is one.
    assert_eq!(count(open, &format!("{open}\n    imagePullPolicy: IfNotPresent\n")), 1);
    // ... and a final newline added with nothing after it is noise.
    assert_eq!(count(open, &format!("{open}\n")), 2);
    // A flow secret item, quoted and commented.
    assert_eq!(secret_item_name("  - {name: \"sweep-secret\"}  # x\r\n"), Some("sweep-secret"));
    assert_eq!(secret_item_name("-name: x\n"), None);
    assert_eq!(secret_item_name("  - name: 'a\n"), None);
    // Wanted policies.
    assert_eq!(wanted_policy("nginx"), "Always");
    assert_eq!(wanted_policy("nginx:latest"), "Always");
    assert_eq!(wanted_policy("localhost:5000/app"), "Always");
    assert_eq!(wanted_policy("nginx:1.25"), "IfNotPresent");
    assert_eq!(wanted_policy("nginx@sha256:abc"), "IfNotPresent");
}

/// Files that kustomizations name in `patches`, `patchesStrategicMerge` or `patchesJson6902`.
fn kustomize_patch_files(tree: &[(String, Vec<u8>)]) -> HashSet<String> {
    let mut out = HashSet::new();
    for (rel, bytes) in tree {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        if !matches!(name, "kustomization.yaml" | "kustomization.yml" | "Kustomization") {
            continue;
        }
        let Some(docs) = load(bytes) else { continue };
        let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
        for field in ["patches", "patchesStrategicMerge", "patchesJson6902"] {
            let Some(Yaml::Array(items)) = docs.first().and_then(|d| get(d, field)) else { continue };
            for item in items {
                let path = match item {
                    Yaml::String(p) => Some(p.as_str()),
                    other => match get(other, "path") {
                        Some(Yaml::String(p)) => Some(p.as_str()),
                        _ => None,
                    },
                };
                let Some(path) = path else { continue };
                let mut parts: Vec<&str> = if dir.is_empty() { Vec::new() } else { dir.split('/').collect() };
                for part in path.split('/') {
                    match part {
                        "" | "." => {}
                        ".." => {
                            parts.pop();
                        }
                        other => parts.push(other),
                    }
                }
                out.insert(parts.join("/"));
            }
        }
    }
    out
}
