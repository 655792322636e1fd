//! The Helm releases of a run, planned before the file pass: the carriers
//! are found (a byte filter first, so that only files that may hold one
//! are parsed here), the files and charts they name are read, and
//! `release::plan_releases` says which values each file gets. The file
//! pass then makes those edits beside the manifest edits of the same file;
//! files it does not see (kustomizations) are edited by `edit_the_rest`.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use crate::common::{Diagnostic, FileAction};
use crate::coverage::{self, NotCovered};
use crate::discover::Discovery;
use crate::helm;
use crate::kustomize::patch::{ValuesPatch, ValuesSetting, ValuesValue};
use crate::kustomize::{Graph, Ownership};
use crate::release::{self, Planned, Release, Sources};
use crate::rules::{EnvChoice, EnvReason};
use crate::yaml::{self, LineIndex};

use super::{read_limited, text_of, FileResult, FileStatus, Glance, RunConfig};

/// What the run keeps of the Helm pass.
#[derive(Default)]
pub(super) struct HelmPass {
    pub planned: Planned,
    /// Chart directories some release uses.
    pub charts_used: BTreeSet<String>,
    /// Values files some release reads.
    pub values_files: BTreeSet<String>,
    /// Line indexes of the files the reports point into.
    pub lines: BTreeMap<String, LineIndex>,
}

/// Whether a file's bytes may hold a HelmRelease or an Argo CD application of a chart.
pub(super) fn may_hold_release(text: &str) -> bool {
    text.contains("HelmRelease") || (text.contains("argoproj.io") && (text.contains("helm") || text.contains("chart")))
}

pub(super) fn prepass(
    config: &RunConfig,
    discovery: &Discovery,
    glances: &[Glance],
    graph: &Graph,
    ownership: &BTreeMap<String, Ownership>,
) -> HelmPass {
    let mut pass = HelmPass::default();
    let mut sources = Sources::default();
    let mut releases: Vec<Release> = Vec::new();
    let patch_files = graph.patch_files();
    let patched = patched_releases(config, graph);

    // The carriers, read in parallel: only the files the glance found may hold one.
    let carriers: Vec<(&str, String, Vec<yaml::Document>, Vec<Release>)> = discovery
        .files
        .par_iter()
        .zip(glances)
        .filter_map(|(candidate, glance)| {
            // A kustomize patch of a HelmRelease is part of its overlay's render, not a release.
            if !glance.may_hold_release || patch_files.contains(candidate.rel_path) {
                return None;
            }
            let bytes = read_limited(&candidate.abs_path(&config.root), config.max_file_size).ok()?;
            let text = text_of(&bytes).ok()?;
            // Read again: the file may have changed since the glance.
            if !may_hold_release(text) || coverage::generated_marker(text).is_some() {
                return None;
            }
            let documents = yaml::parse(text).ok()?;
            let found = release::find(candidate.rel_path, &documents);
            (!found.is_empty()).then(|| (candidate.rel_path, text.to_string(), documents, found))
        })
        .collect();
    for (rel_path, text, documents, found) in carriers {
        for mut found in found {
            let name = found.name.clone().unwrap_or_default();
            let patches: Vec<&PatchOf> =
                patched.iter().filter(|p| p.reached.contains(rel_path) && (p.name == name || p.name == "*")).collect();
            if found.kind == "HelmRelease" && !patches.is_empty() {
                releases.extend(per_overlay(config, graph, ownership, rel_path, found, &patches));
            } else if let Some(Ownership::Shared { overlays }) = ownership.get(rel_path) {
                found.blockers.push((
                    found.offset,
                    format!(
                        "in a kustomize base shared by several environments ({}), and no overlay patches its values: values patches are not generated",
                        overlays.join(", ")
                    ),
                ));
                releases.push(found);
            } else {
                releases.push(found);
            }
        }
        sources.files.insert(rel_path.to_string(), Ok(release::SourceFile { text, documents }));
    }
    let mut kustomize_envs: BTreeMap<String, EnvChoice> = BTreeMap::new();
    for kustomization in graph.kustomizations.values() {
        let Some(document) = &kustomization.document else { continue };
        if document.root.get("helmCharts").is_none() || !config.filter.allows(&kustomization.file) {
            continue;
        }
        let building = graph.environments_building(&kustomization.dir);
        let mut found = release::find_in_kustomization(&kustomization.file, &kustomization.dir, &document.root);
        if building.len() > 1 {
            for release in &mut found {
                release.blockers.push((
                    release.offset,
                    "in a kustomization that overlays of several environments build".to_string(),
                ));
            }
        } else if let Some((env, overlay)) = building.into_iter().next() {
            kustomize_envs.insert(kustomization.file.clone(), EnvChoice { env, reason: EnvReason::Overlay(overlay) });
        }
        releases.extend(found);
        let text = kustomization.text.clone();
        if let Ok(documents) = yaml::parse(&text) {
            sources.files.insert(kustomization.file.clone(), Ok(release::SourceFile { text, documents }));
        }
    }
    // A chart's values files that an environment's path claims and no release reads.
    let named: BTreeSet<String> = releases.iter().flat_map(|r| r.layers.iter().map(|l| l.file.clone())).collect();
    // A used chart's values.yaml is its releases' defaults, not a release of its own.
    let used_charts: BTreeSet<String> =
        releases.iter().flat_map(|r| r.chart_dirs()).filter(|dir| has_chart(config, dir)).map(str::to_string).collect();
    for candidate in discovery.files.iter() {
        let path = candidate.rel_path;
        let chart_dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        // A subchart's values are defaults too (`<chart>/charts/<sub>/values.yaml`).
        let in_used =
            |dir: &str| used_charts.iter().any(|used| dir == used || dir.starts_with(&format!("{used}/charts/")));
        let is_defaults = (path.ends_with("/values.yaml") && used_charts.contains(chart_dir))
            || (in_used(chart_dir) && !used_charts.contains(chart_dir));
        if named.contains(path) || is_defaults || !coverage::is_chart_values(path, |dir| has_chart(config, dir)) {
            continue;
        }
        if matches!(config.rules.env_for_path(path), Ok(Some(_))) || config.forced_environment.is_some() {
            releases.push(release::values_file_release(path, chart_dir));
        }
    }
    // Read what the releases name.
    for release in &releases {
        for file in release.files() {
            if sources.files.contains_key(file) {
                continue;
            }
            sources.files.insert(file.to_string(), read_source(config, file));
        }
        for dir in release.chart_dirs() {
            if sources.charts.contains_key(dir) {
                continue;
            }
            if !has_chart(config, dir) {
                // A missing chart directory is said by the planner.
                continue;
            }
            sources.charts.insert(dir.to_string(), read_chart(config, dir));
        }
    }
    let rules = &config.rules;
    let env_of_file = |path: &str| -> Option<EnvChoice> {
        match ownership.get(path) {
            Some(Ownership::Owned { environment, overlay, .. }) => {
                return Some(EnvChoice { env: *environment, reason: EnvReason::Overlay(overlay.clone()) });
            }
            Some(Ownership::Shared { .. }) => return None,
            None => {}
        }
        if let Some(env) = kustomize_envs.get(path) {
            return Some(env.clone());
        }
        if let Some(env) = config.forced_environment {
            return Some(EnvChoice { env, reason: EnvReason::Forced });
        }
        rules.env_for_path(path).ok().flatten()
    };
    let may_edit = |path: &str| config.filter.allows(path);
    pass.planned = release::plan_releases(&releases, &sources, rules, &env_of_file, &may_edit);
    for release in &releases {
        pass.values_files.extend(release.layers.iter().map(|l| l.file.clone()));
        if let Some(dir) = release.chart_dirs().into_iter().find(|d| sources.charts.contains_key(*d)) {
            pass.charts_used.insert(dir.to_string());
            // Its subcharts are used with it.
            if let Some(Ok(facts)) = sources.charts.get(dir) {
                let mut stack: Vec<(String, &helm::Chart)> = vec![(dir.to_string(), &facts.chart)];
                while let Some((at, chart)) = stack.pop() {
                    for sub in &chart.subcharts {
                        let sub_dir = format!("{at}/charts/{}", sub.dir);
                        pass.charts_used.insert(sub_dir.clone());
                        stack.push((sub_dir, &sub.chart));
                    }
                }
            }
        }
    }
    for (path, source) in &sources.files {
        if let Ok(source) = source {
            pass.lines.insert(path.clone(), LineIndex::new(&source.text));
        }
    }
    pass
}

/// A kustomization's patch of HelmReleases.
struct PatchOf {
    /// The kustomization's directory.
    dir: String,
    /// The release name it patches (`*`: by a selector, or not readable).
    name: String,
    /// The patch file, when it is one whose HelmRelease documents carry
    /// `spec.values` as a strategic merge; `None` for an inline or JSON 6902 patch.
    file: Option<String>,
    /// The files the kustomization reaches.
    reached: BTreeSet<String>,
}

/// The HelmRelease patches of every kustomization.
fn patched_releases(config: &RunConfig, graph: &Graph) -> Vec<PatchOf> {
    let names_in = |text: &str| -> Vec<String> {
        let mut names = Vec::new();
        for document in yaml::parse(text).unwrap_or_default() {
            let root = &document.root;
            if root.get("kind").and_then(|k| k.as_str()) == Some("HelmRelease") {
                let name = root.get("metadata").and_then(|m| m.get("name")).and_then(|n| n.as_str());
                names.push(name.unwrap_or("*").to_string());
            } else if !root.is_mapping() && text.contains("/spec/values") {
                names.push("*".to_string());
            }
        }
        names
    };
    let mut out = Vec::new();
    for kustomization in graph.kustomizations.values() {
        let Some(document) = &kustomization.document else { continue };
        let mut found: Vec<(String, Option<String>)> = Vec::new();
        for key in ["patches", "patchesStrategicMerge", "patchesJson6902"] {
            for entry in document.root.get(key).map(|l| l.items().to_vec()).unwrap_or_default() {
                let target = entry.get("target");
                let targets_release =
                    target.and_then(|t| t.get("kind")).and_then(|k| k.as_str()) == Some("HelmRelease");
                if let Some(inline) = entry.get("patch").and_then(|p| p.as_str()) {
                    let mut names = names_in(inline);
                    if targets_release && names.is_empty() {
                        names.push(
                            target.and_then(|t| t.get("name")).and_then(|n| n.as_str()).unwrap_or("*").to_string(),
                        );
                    }
                    found.extend(names.into_iter().map(|n| (n, None)));
                    continue;
                }
                let file = entry.get("path").and_then(|p| p.as_str()).or_else(|| entry.as_str());
                let Some(path) = file.and_then(|f| release::join_path(&kustomization.dir, f)) else { continue };
                if crate::kustomize::patch::is_generated_path(&path) {
                    // Pullsmith's own patch: planned again from the values below it.
                    continue;
                }
                let text = read_limited(&config.root.join(&path), config.max_file_size)
                    .ok()
                    .and_then(|bytes| text_of(&bytes).ok().map(str::to_string))
                    .unwrap_or_default();
                let strategic =
                    key != "patchesJson6902" && yaml::parse(&text).is_ok_and(|d| d.iter().all(|d| d.root.is_mapping()));
                let mut names = names_in(&text);
                if targets_release && names.is_empty() {
                    names.push(target.and_then(|t| t.get("name")).and_then(|n| n.as_str()).unwrap_or("*").to_string());
                }
                found.extend(names.into_iter().map(|n| (n, strategic.then(|| path.clone()))));
            }
        }
        if found.is_empty() {
            continue;
        }
        let reached: BTreeSet<String> = graph.reach(&kustomization.dir).into_iter().map(|r| r.file).collect();
        for (name, file) in found {
            out.push(PatchOf { dir: kustomization.dir.clone(), name, file, reached: reached.clone() });
        }
    }
    out
}

/// A HelmRelease whose values kustomize overlays patch, once per top
/// overlay of an environment that renders it: its own values, then each
/// values patch on the way to that overlay (the base's first), the last
/// one editable when the overlay's environment alone has it.
fn per_overlay(
    config: &RunConfig,
    graph: &Graph,
    ownership: &BTreeMap<String, Ownership>,
    file: &str,
    base: Release,
    patches: &[&PatchOf],
) -> Vec<Release> {
    let mut out = Vec::new();
    let owned_by =
        |env: usize| matches!(ownership.get(file), Some(Ownership::Owned { environment, .. }) if *environment == env);
    for carrier in graph.carriers() {
        let overlay = &graph.kustomizations[&carrier];
        let Some(env) = overlay.environment else { continue };
        if !graph.reach(&overlay.dir).iter().any(|r| r.file == file) {
            continue;
        }
        let chain = graph.includes(&overlay.dir);
        let mut release = base.clone();
        release.overlay = Some((env, overlay.dir.clone()));
        release.carrier_editable = owned_by(env);
        if !release.carrier_editable {
            // The overlay's generated patch, when no values of its own can hold the keys.
            release.create = Some(release::Layer {
                file: overlay.dir.clone(),
                document: 0,
                path: vec!["spec".to_string(), "values".to_string()],
                form: release::LayerForm::Generated,
                optional: false,
                label: format!("generated patch of overlay `{}`", overlay.dir),
            });
        }
        // Deeper kustomizations patch first: fewer includes means closer to the base.
        let mut on_the_way: Vec<&&PatchOf> = patches.iter().filter(|p| chain.contains(&p.dir)).collect();
        on_the_way.sort_by_key(|p| std::cmp::Reverse(graph.includes(&p.dir).len()));
        for patch in on_the_way {
            let Some(patch_file) = &patch.file else {
                release.blockers.push((
                    release.offset,
                    format!("`{}` patches its values inline or as JSON 6902: not read by pullsmith", patch.dir),
                ));
                continue;
            };
            let document = read_limited(&config.root.join(patch_file), config.max_file_size)
                .ok()
                .and_then(|bytes| text_of(&bytes).ok().and_then(|t| yaml::parse(t).ok()))
                .and_then(|docs| {
                    docs.iter().position(|d| {
                        let name = d.root.get("metadata").and_then(|m| m.get("name")).and_then(|n| n.as_str());
                        d.root.get("kind").and_then(|k| k.as_str()) == Some("HelmRelease")
                            && (name == base.name.as_deref() || patch.name == "*")
                    })
                });
            let Some(document) = document else { continue };
            release.layers.push(release::Layer {
                file: patch_file.clone(),
                document,
                path: vec!["spec".to_string(), "values".to_string()],
                form: release::LayerForm::Mapping,
                optional: false,
                label: format!("values patch of overlay `{}`", patch.dir),
            });
        }
        out.push(release);
    }
    if out.is_empty() {
        let mut release = base;
        release
            .blockers
            .push((release.offset, "patched by kustomizations that no environment's overlay builds".to_string()));
        out.push(release);
    }
    out
}

/// Whether `dir` holds a `Chart.yaml` (a link to one counts, so that the
/// chart is reported as unreadable rather than as absent).
fn has_chart(config: &RunConfig, dir: &str) -> bool {
    let dir = config.root.join(dir);
    ["Chart.yaml", "Chart.yml"].iter().any(|name| std::fs::symlink_metadata(dir.join(name)).is_ok())
}

fn read_source(config: &RunConfig, file: &str) -> Result<release::SourceFile, String> {
    if config.filter.is_excluded(file) {
        return Err("excluded by the rules".to_string());
    }
    if let Some(link) = crate::fsio::linked_dir_on_path(&config.root, file) {
        return Err(format!("reached through `{link}`, a linked directory, which pullsmith never follows"));
    }
    let path = config.root.join(file);
    if std::fs::symlink_metadata(&path).is_err() {
        return Err(release::NOT_IN_REPOSITORY.to_string());
    }
    let bytes = read_limited(&path, config.max_file_size).map_err(|e| e.to_string())?;
    let text = text_of(&bytes).map_err(|(_, message)| message)?.to_string();
    let documents = yaml::parse(&text).map_err(|e| format!("invalid YAML: {e}"))?;
    Ok(release::SourceFile { text, documents })
}

fn read_chart(config: &RunConfig, dir: &str) -> Result<release::ChartFacts, String> {
    // The chart directory itself must not be a link either.
    if let Some(link) = crate::fsio::linked_dir_on_path(&config.root, &format!("{dir}/Chart.yaml")) {
        return Err(format!("reached through `{link}`, a linked directory, which pullsmith never follows"));
    }
    let chart = helm::load(&config.root.join(dir)).map_err(|e| e.to_string())?;
    let keys = helm::analyse(&chart);
    let defaults = yaml::parse(&chart.values).ok().and_then(|docs| docs.into_iter().next());
    let mut subchart_defaults = Vec::new();
    let mut stack: Vec<(Vec<String>, &helm::Chart)> = vec![(Vec::new(), &chart)];
    while let Some((prefix, parent)) = stack.pop() {
        for sub in &parent.subcharts {
            let mut key = prefix.clone();
            key.push(sub.key.clone());
            if let Some(document) = yaml::parse(&sub.chart.values).ok().and_then(|docs| docs.into_iter().next()) {
                subchart_defaults.push((key.clone(), document));
            }
            stack.push((key, &sub.chart));
        }
    }
    Ok(release::ChartFacts { chart, keys, defaults, subchart_defaults })
}

impl HelmPass {
    /// The values the overlays' generated patches set, one patch per release and overlay.
    pub fn values_patches(&mut self) -> BTreeMap<String, Vec<ValuesPatch>> {
        let mut out: BTreeMap<String, Vec<ValuesPatch>> = BTreeMap::new();
        for (overlay, edits) in std::mem::take(&mut self.planned.generated) {
            let patches = out.entry(overlay).or_default();
            for edit in edits {
                let name = edit.name.clone().unwrap_or_default();
                let at = patches.iter().position(|p| p.name == name && p.namespace == edit.namespace);
                let at = at.unwrap_or_else(|| {
                    let base_line = self.lines.get(&edit.release_file).map_or(1, |l| l.line_of(edit.release_offset));
                    patches.push(ValuesPatch {
                        api_version: edit.api_version.clone(),
                        kind: edit.kind.clone(),
                        name: name.clone(),
                        namespace: edit.namespace.clone(),
                        base_file: edit.release_file.clone(),
                        base_line,
                        settings: Vec::new(),
                    });
                    patches.len() - 1
                });
                let value = match &edit.leaf {
                    release::Leaf::Scalar(value) => ValuesValue::Scalar(value.clone()),
                    release::Leaf::Names { names, shape } => ValuesValue::Names {
                        names: names.clone(),
                        mappings: *shape == crate::edit::values::Shape::Mappings,
                    },
                };
                patches[at].settings.push(ValuesSetting {
                    path: edit.key.clone(),
                    value,
                    field: edit.field,
                    from: edit.from.clone(),
                    to: edit.to.clone(),
                });
            }
        }
        out
    }

    /// The not-covered items with their lines.
    pub fn take_not_covered(&mut self) -> Vec<NotCovered> {
        let items = std::mem::take(&mut self.planned.not_covered);
        items
            .into_iter()
            .map(|(offset, mut item)| {
                if item.line.is_none() && !(offset == 0 && item.kind.is_none()) {
                    item.line = self.lines.get(&item.path).map(|lines| lines.line_of(offset));
                }
                item
            })
            .collect()
    }
}

/// Makes the values edits of files the file pass did not process
/// (kustomizations with `helmCharts`, files outside its walk).
pub(super) fn edit_the_rest(
    config: &RunConfig,
    edits: &BTreeMap<String, Vec<release::ValuesEdit>>,
    files: &mut Vec<FileResult>,
    done: &BTreeSet<String>,
) {
    for (path, edits) in edits {
        if done.contains(path) || !config.filter.allows(path) {
            // Outside PATH and `--include`: never edited (the release says it is not covered).
            continue;
        }
        if let Some(existing) = files.iter().find(|f| &f.path == path) {
            if matches!(existing.status, FileStatus::Changed { .. } | FileStatus::Failed(_)) {
                let message = "also edited by another step of this run (a generated patch list); its Helm values are left for the next run".to_string();
                files.retain(|f| &f.path != path);
                let diagnostic = Diagnostic { path: path.clone(), line: None, column: None, message, rule: "helm" };
                files.push(FileResult::new(path.clone(), FileStatus::Failed(diagnostic)));
                continue;
            }
        }
        files.retain(|f| &f.path != path);
        let result = match read_source(config, path) {
            Err(message) => {
                let diagnostic =
                    Diagnostic { path: path.clone(), line: None, column: None, message, rule: "file-error" };
                FileResult::new(path.clone(), FileStatus::Failed(diagnostic))
            }
            Ok(source) => edit_one(config, path, &source, edits),
        };
        files.push(result);
    }
}

fn edit_one(config: &RunConfig, path: &str, source: &release::SourceFile, edits: &[release::ValuesEdit]) -> FileResult {
    let abs_path = config.root.join(path);
    if coverage::generated_marker(&source.text).is_some() {
        let status =
            FileStatus::Skipped("generated file (its header says DO NOT EDIT): Helm values not set".to_string());
        return FileResult::new(path.to_string(), status);
    }
    let lines = LineIndex::new(&source.text);
    let mut changes = match release::apply_edits(&source.text, &source.documents, edits) {
        Ok(changes) => changes,
        Err((offset, message)) => {
            let (line, column) = lines.line_col(&source.text, offset);
            let diagnostic =
                Diagnostic { path: path.to_string(), line: Some(line), column: Some(column), message, rule: "helm" };
            return FileResult::new(path.to_string(), FileStatus::Failed(diagnostic));
        }
    };
    for change in &mut changes {
        change.line = lines.line_of(change.offset);
    }
    let containers_changed = changes.iter().filter(|c| c.field == crate::common::Field::ImagePullPolicy).count();
    let pod_specs_changed = changes.len() - containers_changed;
    let mut plan = crate::plan::FilePlan { changes, containers_changed, pod_specs_changed, ..Default::default() };
    plan.environment = plan.changes.first().map(|c| c.environment.clone());
    let new_text = crate::edit::apply(&source.text, &plan.splices());
    let mut written = false;
    if config.write {
        if let Err(err) = crate::fsio::write::atomic_write_over(&abs_path, source.text.as_bytes(), new_text.as_bytes())
        {
            let diagnostic = Diagnostic {
                path: path.to_string(),
                line: None,
                column: None,
                message: err.to_string(),
                rule: "file-error",
            };
            return FileResult::new(path.to_string(), FileStatus::Failed(diagnostic));
        }
        written = true;
    }
    let (original, new_text) =
        if config.keep_texts { (source.text.clone(), new_text) } else { (String::new(), String::new()) };
    let status = FileStatus::Changed { original, new_text, written, action: FileAction::Modify };
    let mut result = FileResult::new(path.to_string(), status);
    result.plan = Some(Box::new(plan));
    result
}
