//! The run itself: discover → read → parse → plan → apply splices → verify,
//! in parallel over files, then the cross-file pass (ServiceAccounts that
//! receive pods' secrets, secrets no manifest defines).
//!
//! One bad file never stops the run: every file ends as a `FileResult`, and
//! the edge picks the exit code. A file that needs no change and says
//! nothing is counted and dropped as soon as it is done (`Tally`), so that
//! what a run keeps grows with what it reports, not with the repository. Writing happens here only for `apply`,
//! right after a file is verified, so changed texts are not held for the
//! whole repository.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::common::{Diagnostic, FileAction};
use crate::coverage;
pub use crate::coverage::NotCovered;
use crate::discover::{self, Candidate, PathFilter, PathList};
use crate::edit;
use crate::fsio::write;
use crate::kustomize::build::{self as kustomize_build, PlannedPatch, Render};
use crate::kustomize::patch::{self as overlay_patch, OverlayPlan};
use crate::kustomize::value::Value;
use crate::kustomize::{Graph, Ownership};
use crate::manifest;
use crate::plan::{
    self, DefinedServiceAccount, FilePlan, PlanContext, PlanFailure, ServiceAccountKey, ServiceAccountSecrets, Warning,
};
use crate::release;
use crate::rules::{EnvChoice, EnvReason, Rules};
use crate::verify;
use crate::yaml::{self, LineIndex};

mod learned;
mod releases;

use learned::{FirstSeen, Learned};

/// How many files the file pass reads before it counts and drops the quiet
/// ones: enough to keep both cores busy, few enough that the results alive
/// at once stay small.
const FILE_PASS_CHUNK: usize = 1024;

/// How one file ended.
#[derive(Debug)]
pub enum FileStatus {
    /// Read and planned; nothing to change (or not a manifest).
    Unchanged,
    /// Changes planned; `original` and `new_text` are kept unless already written.
    Changed {
        original: String,
        new_text: String,
        written: bool,
        action: FileAction,
    },
    Skipped(String),
    Failed(Diagnostic),
}

#[derive(Debug)]
pub struct FileResult {
    pub path: String,
    /// Boxed: a result is kept per file until the run ends and sorted, and a
    /// plan is most of its size.
    pub plan: Option<Box<FilePlan>>,
    pub status: FileStatus,
    /// What in this file was seen and not brought under the rules.
    pub not_covered: Vec<NotCovered>,
    /// For a file that failed, when its text was read: how many lines it
    /// has. A parse error at the end of the file is on the line after its
    /// last line break, which annotations must not point at.
    pub n_lines: Option<usize>,
    /// No environment can reach the file and it mentions containers: it
    /// was read, not parsed (see `may_be_reached`), and is counted in
    /// `RunReport::files_without_environment`.
    pub unreached: bool,
}

/// What `run` needs, validated before any file is read.
#[derive(Clone)]
pub struct RunConfig {
    pub root: PathBuf,
    pub rules: Rules,
    pub forced_environment: Option<usize>,
    pub filter: PathFilter,
    pub max_file_size: u64,
    /// Write changed files in place (apply, commit).
    pub write: bool,
    /// Keep the original and new text of changed files (diff output).
    pub keep_texts: bool,
    /// Keep what `explain` shows of every container and pod; other commands
    /// drop it as soon as a file is done, so memory stays flat.
    pub explain: bool,
    /// Keep every change of every changed file, for the outputs that list
    /// them (every format but text, `--report`, diffs, commit). Without
    /// it, a changed file that says nothing else is counted and dropped.
    pub keep_changes: bool,
}

/// Everything a run found, in path order.
#[derive(Debug, Default)]
pub struct RunReport {
    /// The files that changed, failed, were skipped or said something
    /// (all files under `explain`).
    pub files: Vec<FileResult>,
    /// How many other files were read: they say nothing (and need no
    /// change, unless `RunConfig::keep_changes` is off), and are counted
    /// in `n_scanned` and `counted`. Not a list: a run keeps no path of a
    /// file that says nothing (`discover::may_read` tells whether a run may
    /// have read one).
    pub n_quiet: usize,
    /// The changes of the quiet files.
    pub counted: Counted,
    pub warnings: Vec<Diagnostic>,
    /// What each kustomize overlay gets in its generated patches.
    pub overlays: Vec<OverlayPlan>,
    /// Everything seen and not brought under the rules, in path order.
    pub not_covered: Vec<NotCovered>,
    /// Containers (per environment that renders them) whose policy the rules decided.
    pub containers_covered: usize,
    /// Containers seen in manifests that no environment claims (in the
    /// files parsed: a file no environment can reach is not).
    pub containers_without_environment: usize,
    /// Files that mention containers and that no environment can reach by
    /// their path, a kustomize overlay, `--env`, `defaultEnvironment` or a
    /// namespace: read and not parsed.
    pub files_without_environment: usize,
    /// What the run learned for the repository as a whole (shared bases and what they define).
    pub index: RepositoryIndex,
    /// The rules file used, as shown to people; `None` for the embedded default.
    pub rules: Option<String>,
    /// Every Helm release seen, what its values get and why.
    pub releases: Vec<release::ReleaseReport>,
}

impl RunReport {
    pub fn n_scanned(&self) -> usize {
        self.files.len() + self.n_quiet
    }
    pub fn n_changed(&self) -> usize {
        self.files.iter().filter(|f| matches!(f.status, FileStatus::Changed { .. })).count()
            + self.counted.files_changed
    }
    pub fn n_written(&self) -> usize {
        self.files.iter().filter(|f| matches!(f.status, FileStatus::Changed { written: true, .. })).count()
            + self.counted.files_written
    }
    pub fn n_skipped(&self) -> usize {
        self.files.iter().filter(|f| matches!(f.status, FileStatus::Skipped(_))).count()
    }
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.files.iter().filter_map(|f| match &f.status {
            FileStatus::Failed(d) => Some(d),
            _ => None,
        })
    }
    pub fn n_containers_changed(&self) -> usize {
        self.changed_plans().map(|p| p.containers_changed).sum::<usize>() + self.counted.containers_changed
    }
    pub fn n_pod_specs_changed(&self) -> usize {
        self.changed_plans().map(|p| p.pod_specs_changed).sum::<usize>() + self.counted.pod_specs_changed
    }
    fn changed_plans(&self) -> impl Iterator<Item = &FilePlan> {
        self.files.iter().filter(|f| matches!(f.status, FileStatus::Changed { .. })).filter_map(|f| f.plan.as_deref())
    }
}

impl FileResult {
    pub fn new(path: String, status: FileStatus) -> FileResult {
        FileResult { path, plan: None, status, not_covered: Vec::new(), n_lines: None, unreached: false }
    }
}

/// Counts files done, for the progress line.
pub static FILES_DONE: AtomicUsize = AtomicUsize::new(0);
pub static FILES_TOTAL: AtomicUsize = AtomicUsize::new(0);

/// What the quiet files leave behind once dropped (see `count_if_quiet`):
/// their containers, for the coverage counts, and their changes.
#[derive(Default)]
struct Tally {
    containers_covered: usize,
    containers_without_environment: usize,
    files_without_environment: usize,
    counted: Counted,
}

/// The changes of the files a run counted and did not keep.
#[derive(Debug, Default)]
pub struct Counted {
    pub files_changed: usize,
    pub files_written: usize,
    pub containers_changed: usize,
    pub pod_specs_changed: usize,
}

/// What the file passes learn for the repository as a whole, beyond any one
/// file: facts the cross-file passes (overlay patches, secrets no manifest
/// defines, ServiceAccounts in shared bases) and `explain` read. A file's own
/// record (`FileResult`) holds only what concerns that file; a new carrier
/// of settings (Helm values) adds its cross-file facts here.
#[derive(Debug, Default)]
pub struct RepositoryIndex {
    /// Files of kustomize bases shared by several environments, with the overlays that share each.
    pub shared_by: BTreeMap<String, Vec<String>>,
    /// The Secrets each shared file defines (for every environment that shares it).
    pub shared_secrets: BTreeMap<String, Vec<String>>,
    /// The ServiceAccounts each shared file defines, as (namespace, name).
    pub shared_service_accounts: BTreeMap<String, Vec<(Option<String>, String)>>,
    /// The documents, after this run's edit, of files that a kustomization
    /// pulls in: what the overlays' renders see. Taken by the overlay pass.
    pub edited_sources: BTreeMap<String, Vec<Value>>,
}

impl RepositoryIndex {
    /// The shared file that defines ServiceAccount `name` in `namespace`, if one does.
    fn shared_account_file(&self, namespace: &Option<String>, name: &str) -> Option<&str> {
        self.shared_service_accounts
            .iter()
            .find(|(_, accounts)| accounts.iter().any(|(ns, n)| ns == namespace && n == name))
            .map(|(path, _)| path.as_str())
    }
}

/// What the kustomize graph says about files, shared by every worker.
struct KustomizeView<'a> {
    ownership: BTreeMap<String, Ownership>,
    /// Files named as patches by a kustomization: partial objects, not manifests.
    patch_files: BTreeSet<&'a str>,
    /// Of those, strategic-merge patches: planned for the containers they bring.
    strategic_patches: BTreeSet<&'a str>,
    /// Files pulled in by broken kustomizations only: left alone.
    blocked: BTreeSet<String>,
    /// Every file a kustomization pulls in, with its documents as read before any edit.
    pulled_in: BTreeMap<String, Vec<Value>>,
    /// Kustomizations that carry generated patches, those they build on first.
    carriers: Vec<String>,
    /// Filled by the workers as they meet cross-file facts.
    index: std::sync::Mutex<RepositoryIndex>,
    /// Helm values edits planned before the file pass, by file.
    values_edits: BTreeMap<String, Vec<release::ValuesEdit>>,
    /// Values files that some Helm release reads.
    values_files: BTreeSet<String>,
    /// Helm values that overlays' generated patches set, by overlay.
    values_patches: BTreeMap<String, Vec<overlay_patch::ValuesPatch>>,
    /// Charts in the repository that some Helm release uses: their
    /// `values.yaml` are the releases' defaults, read.
    charts_used: BTreeSet<String>,
}

pub fn run(config: &RunConfig) -> RunReport {
    let discovery = discover::discover(&config.root, &config.filter);
    FILES_TOTAL.store(discovery.files.len(), Ordering::Relaxed);
    let excluded = |path: &str| config.filter.is_excluded(path);
    let mut graph =
        Graph::load(&config.root, &discovery.kustomizations, &config.rules, config.forced_environment, &excluded);
    if config.filter.narrows() {
        graph.retain_relevant(&|path| config.filter.allows(path));
    }
    let pulled_in = read_pulled_in(config, &graph);
    let carriers = graph.carriers();
    let no_plans = BTreeMap::new();
    let inputs = kustomize_build::Inputs {
        graph: &graph,
        rules: &config.rules,
        files: &pulled_in,
        planned: &no_plans,
        own: &[],
    };
    let renders: BTreeMap<String, Render> =
        carriers.par_iter().map(|carrier| (carrier.clone(), kustomize_build::render(inputs, carrier))).collect();
    let mut view = KustomizeView {
        ownership: graph.ownership(&config.rules, config.forced_environment, &carriers, &renders),
        patch_files: graph.patch_files(),
        strategic_patches: graph.strategic_patch_files(),
        blocked: graph.blocked_files(),
        pulled_in,
        carriers,
        index: Default::default(),
        values_edits: BTreeMap::new(),
        values_files: BTreeSet::new(),
        values_patches: BTreeMap::new(),
        charts_used: BTreeSet::new(),
    };
    drop(renders);
    let glances = glance(config, &discovery.files);
    let mut helm_pass = releases::prepass(config, &discovery, &glances, &graph, &view.ownership);
    view.values_edits = std::mem::take(&mut helm_pass.planned.edits);
    view.values_files = std::mem::take(&mut helm_pass.values_files);
    view.charts_used = helm_pass.charts_used.clone();
    view.values_patches = helm_pass.values_patches();
    let mut no_accounts = PlanContext {
        rules: &config.rules,
        forced_environment: config.forced_environment,
        service_account_secrets: None,
        owner: None,
        image_overrides: &[],
        partial: false,
    };
    let known_accounts = service_accounts_first(config, &discovery.files, &glances, &no_accounts, &view);
    drop(glances);
    // The pre-scan's plans are dropped, and so is what it taught the index:
    // the file passes learn it again, from the plans that count.
    *view.index.lock().expect("no worker panicked while holding the index") = RepositoryIndex::default();
    no_accounts.service_account_secrets = Some(&known_accounts);
    let first_pass = no_accounts;
    // Files whose result a later step replaces (a kustomization that does not
    // build, Helm values edited after the file pass) keep it until then: its
    // counts go with it.
    let replaced_later: BTreeSet<&str> = graph
        .failures
        .iter()
        .map(|failure| failure.diagnostic.path.as_str())
        .chain(view.values_edits.keys().map(String::as_str))
        .collect();
    let mut tally = Tally::default();
    let mut learned = Learned::default();
    let keep = config.explain;
    // In chunks, so that only a chunk's results are alive at once before the
    // quiet ones are counted and dropped, and what is learned of them is
    // learned in path order.
    let mut files: Vec<FileResult> = Vec::new();
    let n_files = discovery.files.len();
    for chunk_start in (0..n_files).step_by(FILE_PASS_CHUNK) {
        let results: Vec<FileResult> = discovery
            .files
            .par_range(chunk_start..(chunk_start + FILE_PASS_CHUNK).min(n_files))
            .map(|candidate| {
                let result = process(&candidate, config, &first_pass, true, &view);
                FILES_DONE.fetch_add(1, Ordering::Relaxed);
                result
            })
            .collect();
        for mut result in results {
            if let Some(plan) = &mut result.plan {
                learned.accounts_of(&result.path, plan, keep);
                if !plan.deferred {
                    learned.secrets_of(&result.path, plan, keep);
                }
            }
            if !count_if_quiet(config, &mut result, &replaced_later, &mut tally) {
                files.push(result);
            }
        }
    }

    // Second pass: ServiceAccounts that receive the secrets of their pods, and
    // pods given their first secrets, which stop inheriting their ServiceAccount's.
    let accounts = std::mem::take(&mut learned.accounts);
    let second_pass = PlanContext { service_account_secrets: Some(&accounts), ..first_pass.clone() };
    // Deferred files are planned again in place: their first plan, which fed
    // the index above, is dropped first, so no file ever has two plans alive.
    let deferred: Vec<usize> = (0..files.len()).filter(|&i| is_deferred(&files[i])).collect();
    files.par_iter_mut().filter(|file| is_deferred(file)).for_each(|file| {
        file.plan = None;
        let path = std::mem::take(&mut file.path);
        *file = process(&Candidate { rel_path: &path }, config, &second_pass, false, &view);
    });
    for &i in &deferred {
        let file = &mut files[i];
        if let Some(plan) = &mut file.plan {
            learned.secrets_of(&file.path, plan, keep);
        }
    }
    files.retain_mut(|file| !count_if_quiet(config, file, &replaced_later, &mut tally));

    let mut warnings = Vec::new();
    for file in &files {
        for warning in file.plan.iter().flat_map(|p| &p.warnings) {
            warnings.push(file_warning(file, warning));
        }
    }
    let index = std::mem::take(&mut *view.index.lock().expect("no worker panicked while holding the index"));
    let shared_account = |key: &ServiceAccountKey| index.shared_account_file(&key.namespace, &key.name);
    // In path order, as the files are listed.
    let mut requests: Vec<(&FirstSeen, &ServiceAccountKey)> =
        learned.first_request.iter().map(|(key, seen)| (seen, key)).collect();
    requests.sort();
    for (FirstSeen { path, line, .. }, key) in requests {
        if !accounts.listed.contains_key(key) {
            let line = Some(*line);
            let namespace = key.namespace.as_deref().map(|ns| format!(" in namespace `{ns}`")).unwrap_or_default();
            let environment = &config.rules.environments[key.environment].name;
            let message = match shared_account(key) {
                Some(file) => format!(
                    "ServiceAccount `{}`{namespace} is in `{}`, a kustomize base shared by several environments: the pull secrets of environment `{environment}` were not attached to it",
                    key.name, file
                ),
                None => format!(
                    "ServiceAccount `{}`{namespace} of environment `{environment}` is not in the repository: its pull secrets were not attached",
                    key.name
                ),
            };
            warnings.push(Diagnostic {
                path: path.clone(),
                line,
                column: None,
                message,
                rule: "missing-service-account",
            });
        }
    }
    // One warning per ServiceAccount that pods given their first secrets
    // stopped inheriting from, when the repository does not say what it lists,
    // `default` included (`plan::SecretInheritance` says why).
    let mut inheritances: Vec<(&FirstSeen, &ServiceAccountKey)> =
        learned.first_inheritance.iter().map(|(key, seen)| (seen, key)).collect();
    inheritances.sort();
    for (seen, key) in inheritances {
        if accounts.listed.contains_key(key) {
            continue;
        }
        let namespace = key.namespace.as_deref().map(|ns| format!(" in namespace `{ns}`")).unwrap_or_default();
        let environment = &config.rules.environments[key.environment].name;
        let consequence =
            "the pods pullsmith gives pull secrets of their own stop inheriting its pull secrets and may lose some";
        let message = match shared_account(key) {
            Some(shared) => format!(
                "ServiceAccount `{}`{namespace} is in `{}`, a kustomize base shared by several environments, whose pull secrets pullsmith does not read: in environment `{environment}`, {consequence}",
                key.name, shared
            ),
            None => format!(
                "ServiceAccount `{}`{namespace} of environment `{environment}` is not in the repository: {consequence}",
                key.name
            ),
        };
        warnings.push(Diagnostic {
            path: seen.path.clone(),
            line: Some(seen.line),
            column: None,
            message,
            rule: "inherited-secrets",
        });
    }
    let mut index = index;
    let overlays = overlay_pass(config, &graph, &discovery.files, &mut view, &mut index, &mut files, &mut warnings);
    warnings.extend(undefined_secret_warnings(&learned, &index, &overlays, &graph, &config.rules));

    // Kustomizations are read by the graph, and scanned like any other file:
    // quiet unless a step above said something of them (`explain` lists them).
    if config.explain {
        let listed: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
        let unlisted: Vec<&String> = discovery.kustomizations.iter().filter(|p| !listed.contains(p.as_str())).collect();
        let unlisted: Vec<FileResult> =
            unlisted.into_iter().map(|path| FileResult::new(path.clone(), FileStatus::Unchanged)).collect();
        files.extend(unlisted);
    }
    warnings.extend(unmatched_globs(config, &discovery));
    let mut not_covered = Vec::new();
    let built = graph.built_by_environments();
    for failure in graph.failures.iter().cloned() {
        let diagnostic = failure.diagnostic;
        let is_error = !failure.expected && failure.dir.as_ref().is_none_or(|dir| built.contains(dir));
        if is_error {
            files.retain(|f| f.path != diagnostic.path);
            files.push(FileResult::new(diagnostic.path.clone(), FileStatus::Failed(diagnostic)));
            continue;
        }
        // Nothing any environment renders depends on it, or its cause is
        // expected: said, counted as not covered, and the run goes on.
        let why = if failure.expected { "" } else { "; no environment's overlay builds it" };
        not_covered.push(NotCovered {
            path: diagnostic.path.clone(),
            line: diagnostic.line,
            kind: Some("Kustomization".to_string()),
            name: failure.dir.clone(),
            reason: format!("does not build: {}{why}", diagnostic.message),
        });
        warnings.push(Diagnostic {
            message: format!("{}{why}; not covered", diagnostic.message),
            rule: "kustomize",
            ..diagnostic
        });
    }
    // Values edits the file pass did not make: kustomizations' `helmCharts`, files it skipped.
    let done: BTreeSet<String> = files
        .iter()
        .filter(|f| {
            matches!(f.status, FileStatus::Failed(_) | FileStatus::Skipped(_))
                || f.plan.as_ref().is_some_and(|p| p.changes.iter().any(|c| c.values_key.is_some()))
        })
        .map(|f| f.path.clone())
        .collect();
    releases::edit_the_rest(config, &view.values_edits, &mut files, &done);
    not_covered.extend(helm_pass.take_not_covered());
    for file in &mut files {
        not_covered.append(&mut file.not_covered);
        if view.blocked.contains(&file.path) && !view.ownership.contains_key(&file.path) {
            not_covered.push(NotCovered::file(
                &file.path,
                None,
                "pulled in by a kustomization that does not build: left alone",
            ));
        }
    }
    warnings.extend(graph.warnings);
    for (path, target) in discovery.escaping_links {
        if files.iter().any(|f| f.path == path && matches!(f.status, FileStatus::Failed(_))) {
            continue;
        }
        let message = format!("symlink leaves the repository (to {}); left alone", target.display());
        let diagnostic = Diagnostic { path: path.clone(), line: None, column: None, message, rule: "file-error" };
        files.push(FileResult::new(path.clone(), FileStatus::Failed(diagnostic)));
    }
    for (path, target) in discovery.escaping_dirs {
        warnings.push(Diagnostic {
            message: format!("linked directory leaves the repository (to {}); not followed", target.display()),
            path,
            line: None,
            column: None,
            rule: "linked-directory",
        });
    }
    for (path, kind) in discovery.special_files {
        let status = FileStatus::Skipped(format!("not a regular file ({kind})"));
        files.push(FileResult::new(path.clone(), status));
    }
    // One line per chart, not one per template.
    let mut charts: BTreeMap<String, usize> = BTreeMap::new();
    for path in &discovery.helm_templates {
        let chart = path.find("/templates/").map_or_else(|| path.clone(), |at| path[..at].to_string());
        let chart = if path.starts_with("templates/") { String::new() } else { chart };
        *charts.entry(chart).or_default() += 1;
    }
    for (chart, n_templates) in charts {
        let shown = if chart.is_empty() { ".".to_string() } else { chart.clone() };
        let plural = if n_templates == 1 { "" } else { "s" };
        let status =
            FileStatus::Skipped(format!("Helm chart: {n_templates} template{plural} not read (Helm renders them)"));
        files.push(FileResult::new(shown.clone(), status));
        let has_values = not_covered.iter().any(|n: &NotCovered| {
            n.path.rsplit_once('/').map_or("", |(dir, _)| dir) == chart && n.reason == coverage::CHART_VALUES_REASON
        });
        if !has_values && !helm_pass.charts_used.contains(&chart) {
            let chart_file = if chart.is_empty() { "Chart.yaml".to_string() } else { format!("{chart}/Chart.yaml") };
            not_covered.push(NotCovered::file(&chart_file, None, coverage::CHART_VALUES_REASON));
        }
    }
    for (path, message) in discovery.walk_errors {
        let diagnostic = Diagnostic { path: path.clone(), line: None, column: None, message, rule: "file-error" };
        files.push(FileResult::new(path.clone(), FileStatus::Failed(diagnostic)));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let listed = |path: &str| files.binary_search_by(|f| f.path.as_str().cmp(path)).is_ok();
    let n_quiet = discovery
        .files
        .iter()
        .map(|candidate| candidate.rel_path)
        .chain(discovery.kustomizations.iter().map(String::as_str))
        .filter(|path| !listed(path))
        .count();
    not_covered.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    let containers_covered = files.iter().filter_map(|f| f.plan.as_ref()).map(|p| p.containers_covered).sum::<usize>()
        + tally.containers_covered
        + overlays.iter().map(|o| o.containers_covered).sum::<usize>()
        + helm_pass.planned.containers_covered;
    let mut releases = std::mem::take(&mut helm_pass.planned.reports);
    for report in &mut releases {
        report.line = helm_pass.lines.get(&report.file).map_or(1, |lines| lines.line_of(report.offset));
    }
    let containers_without_environment =
        files.iter().filter_map(|f| f.plan.as_ref()).map(|p| p.containers_without_environment).sum::<usize>()
            + tally.containers_without_environment;
    let files_without_environment = files.iter().filter(|f| f.unreached).count() + tally.files_without_environment;
    RunReport {
        files,
        n_quiet,
        counted: tally.counted,
        warnings,
        overlays,
        not_covered,
        containers_covered,
        containers_without_environment,
        files_without_environment,
        index,
        rules: rules_shown(&config.rules, &config.root),
        releases,
    }
}

/// Generated patches for every overlay that carries them (in the order
/// that lets an overlay build on another's), the edits of their
/// kustomizations, and the removal of generated files that kustomizations
/// which no longer carry patches still have.
#[allow(clippy::too_many_arguments)]
fn overlay_pass(
    config: &RunConfig,
    graph: &Graph,
    candidates: &PathList,
    view: &mut KustomizeView<'_>,
    index: &mut RepositoryIndex,
    files: &mut Vec<FileResult>,
    warnings: &mut Vec<Diagnostic>,
) -> Vec<OverlayPlan> {
    // The renders see every file as this run leaves it. The file passes are
    // done, so the documents read before them are taken, not copied.
    let mut sources = std::mem::take(&mut view.pulled_in);
    let values_patches = std::mem::take(&mut view.values_patches);
    sources.append(&mut index.edited_sources);
    // The shared files read (most are quiet, so the candidates say which).
    let read = |path: &str| candidates.contains(path);
    for (path, ownership) in &view.ownership {
        if let Ownership::Shared { overlays } = ownership {
            if read(path) {
                index.shared_by.insert(path.clone(), overlays.clone());
            }
        }
    }
    let mut planned: BTreeMap<String, Vec<PlannedPatch>> = BTreeMap::new();
    let mut plans = Vec::new();
    for carrier in &view.carriers {
        let Some(overlay) = graph.kustomizations.get(carrier) else { continue };
        if !config.filter.allows(&overlay.file) {
            continue;
        }
        let inputs = overlay_patch::OverlayInputs {
            root: &config.root,
            graph,
            ownership: &view.ownership,
            files: &sources,
            planned: &planned,
            rules: &config.rules,
            values: &values_patches,
        };
        let plan = overlay_patch::plan_overlay(overlay, &inputs);
        planned.insert(carrier.clone(), plan.planned.clone());
        plans.push(plan);
    }
    for kustomization in graph.kustomizations.values() {
        if view.carriers.contains(&kustomization.dir)
            || graph.broken.contains(&kustomization.dir)
            || !config.filter.allows(&kustomization.file)
        {
            continue;
        }
        if let Some(plan) = overlay_patch::plan_removal(kustomization, &config.root) {
            plans.push(plan);
        }
    }
    // Reports list overlays by path, whatever order they were planned in.
    plans.sort_by(|a, b| a.overlay.cmp(&b.overlay));
    for plan in &plans {
        let overlay = &graph.kustomizations[&plan.overlay];
        for message in &plan.warnings {
            warnings.push(Diagnostic {
                path: overlay.file.clone(),
                line: None,
                column: None,
                message: message.clone(),
                rule: "kustomize",
            });
        }
        if let Some((offset, message)) = plan.errors.first() {
            // Nothing is written for an overlay whose kustomization cannot be edited.
            let (line, column) = match offset {
                Some(offset) => {
                    let (line, column) = LineIndex::new(&overlay.text).line_col(&overlay.text, *offset);
                    (Some(line), Some(column))
                }
                None => (None, None),
            };
            let diagnostic =
                Diagnostic { path: overlay.file.clone(), line, column, message: message.clone(), rule: "file-error" };
            files.retain(|f| f.path != overlay.file);
            files.push(FileResult::new(overlay.file.clone(), FileStatus::Failed(diagnostic)));
            continue;
        }
        let mut outputs: Vec<(String, Option<String>, Option<String>)> = Vec::new();
        if let Some((path, new_text)) = &plan.kustomization {
            outputs.push((path.clone(), Some(overlay.text.clone()), Some(new_text.clone())));
        }
        // A generated file's name taken by a link or a FIFO is never read or written
        // through: the overlay is refused whole (`fsio` says why).
        let mut refused = None;
        for (path, content) in &plan.files {
            match crate::fsio::read_existing_text(&config.root.join(path), config.max_file_size) {
                Ok(original) => outputs.push((path.clone(), original, content.clone())),
                Err(err) => refused = refused.or(Some((path.clone(), err))),
            }
        }
        if let Some((path, err)) = refused {
            let message = format!("{err}; the overlay `{}` is left untouched", plan.overlay);
            let diagnostic = Diagnostic { path: path.clone(), line: None, column: None, message, rule: "file-error" };
            files.retain(|f| f.path != path);
            files.push(FileResult::new(path.clone(), FileStatus::Failed(diagnostic)));
            continue;
        }
        // New and changed patch files first, then the kustomization that points at them, then
        // the removal of files it no longer points at: a write that fails on the way stops the
        // rest, so the kustomization never names a patch file that is not there.
        let rank = |(path, _, new_text): &(String, Option<String>, Option<String>)| match new_text {
            Some(_) if *path == overlay.file => 1,
            Some(_) => 0,
            None => 2,
        };
        outputs.sort_by_key(rank);
        let mut stopped: Option<String> = None;
        for (path, original, new_text) in outputs {
            let abs_path = config.root.join(&path);
            if let (true, Some(failed)) = (config.write, &stopped) {
                let message = format!("not written, since `{failed}` could not be: the overlay is left as it was");
                let diagnostic =
                    Diagnostic { path: path.clone(), line: None, column: None, message, rule: "file-error" };
                files.retain(|f| f.path != path);
                files.push(FileResult::new(path, FileStatus::Failed(diagnostic)));
                continue;
            }
            let action = match (&new_text, original.is_some()) {
                (None, _) => FileAction::Delete,
                (Some(_), true) => FileAction::Modify,
                (Some(_), false) => FileAction::Create,
            };
            let (original, new_text) = (original.unwrap_or_default(), new_text.unwrap_or_default());
            let file_plan = overlay_file_plan(plan, &overlay.file, &path, &new_text, &config.rules);
            let mut written = false;
            if config.write {
                if let Err(err) = write::write_change(&abs_path, action, new_text.as_bytes()) {
                    let diagnostic = Diagnostic {
                        path: path.clone(),
                        line: None,
                        column: None,
                        message: err.to_string(),
                        rule: "file-error",
                    };
                    stopped = Some(path.clone());
                    files.retain(|f| f.path != path);
                    files.push(FileResult::new(path, FileStatus::Failed(diagnostic)));
                    continue;
                }
                written = true;
            }
            let (original, new_text) =
                if config.keep_texts { (original, new_text) } else { (String::new(), String::new()) };
            files.retain(|f| f.path != path);
            let mut result = FileResult::new(path.clone(), FileStatus::Changed { original, new_text, written, action });
            result.plan = Some(Box::new(file_plan));
            files.push(result);
        }
    }
    plans
}

/// Reads and parses, in parallel, every file a kustomization pulls in, for
/// the renders. A file that cannot be read or parsed is left out here; the
/// file pass reports it.
fn read_pulled_in(config: &RunConfig, graph: &Graph) -> BTreeMap<String, Vec<Value>> {
    let paths: Vec<String> = graph.pulled_in_files().into_iter().collect();
    paths
        .par_iter()
        .filter_map(|path| {
            let bytes = read_limited(&config.root.join(path), config.max_file_size).ok()?;
            let text = text_of(&bytes).ok()?;
            let values = Value::parse_documents(text).ok()?;
            Some((path.clone(), values))
        })
        .collect()
}

/// The report view of a generated file: the settings it makes, as changes.
/// Each is located where the pull request can show it: at the container's
/// (or pod spec's) line in the shared base, never in the generated file,
/// which may not exist before this run writes it. (A base that is itself a
/// generated file, an overlay built on another's patches, is shown at the
/// overlay's kustomization instead.)
fn overlay_file_plan(plan: &OverlayPlan, overlay_file: &str, path: &str, text: &str, rules: &Rules) -> FilePlan {
    let environment = rules.environments[plan.environment].name.clone();
    let changes = plan
        .settings
        .iter()
        .filter(|s| s.patch_file == path)
        .map(|s| {
            let (base_file, base_line) = if overlay_patch::is_generated_path(&s.base_file) {
                (overlay_file.to_string(), 1)
            } else {
                (s.base_file.clone(), s.base_line.max(1))
            };
            plan::Change {
                offset: 0,
                line: overlay_patch::line_of_setting(text, s),
                kind: s.kind.clone(),
                name: s.name.clone(),
                namespace: s.namespace.clone(),
                container: s.container.clone(),
                environment: environment.clone(),
                field: s.field,
                from: s.from.clone(),
                to: s.to.clone(),
                splice: edit::Splice::insert_at(0, String::new()),
                carried: Some(plan::Carried { overlay: plan.overlay.clone(), base_file, base_line }),
                values_key: s.values_key.clone(),
            }
        })
        .collect::<Vec<_>>();
    let containers_changed = changes.iter().filter(|c| c.field == crate::common::Field::ImagePullPolicy).count();
    let pod_specs_changed = changes.iter().filter(|c| c.field == crate::common::Field::ImagePullSecrets).count();
    FilePlan { environment: Some(environment), changes, containers_changed, pod_specs_changed, ..FilePlan::default() }
}

/// The ServiceAccounts of the repository and the secrets they list, known
/// before any pod is planned: a pod given its first pull secrets must list
/// its ServiceAccount's first. Only files that name a ServiceAccount are
/// planned here (nothing is written); this is far cheaper than planning every
/// pod twice. Skipped when no rule gives any pod secrets.
fn service_accounts_first(
    config: &RunConfig,
    files: &PathList,
    glances: &[Glance],
    ctx: &PlanContext<'_>,
    view: &KustomizeView<'_>,
) -> ServiceAccountSecrets {
    let mut accounts = ServiceAccountSecrets::default();
    let rules = &config.rules;
    if rules.environments.iter().all(|e| e.secrets.is_empty()) && rules.images.iter().all(|i| i.secrets.is_empty()) {
        return accounts;
    }
    let scan = RunConfig { write: false, keep_texts: false, explain: false, ..config.clone() };
    // Each file's ServiceAccounts only, taken from its result at once: a
    // result per file that names one would grow with the repository.
    let found: Vec<Vec<DefinedServiceAccount>> = files
        .par_iter()
        .zip(glances)
        .filter(|(_, glance)| glance.names_service_account)
        .filter_map(|(candidate, _)| process(&candidate, &scan, ctx, true, view).plan.map(|p| p.service_accounts))
        .filter(|found| !found.is_empty())
        .collect();
    for account in found.into_iter().flatten() {
        let listed = accounts.listed.entry(account.key).or_default();
        for name in account.secrets {
            if !listed.contains(&name) {
                listed.push(name);
            }
        }
    }
    accounts
}

/// What one look at a file's bytes tells the passes before the file pass,
/// so that they read only the few files they parse, and every file is read
/// twice in all rather than three times.
pub(super) struct Glance {
    /// It may hold a HelmRelease or an Argo CD application of a chart.
    may_hold_release: bool,
    /// It names a ServiceAccount (the ServiceAccount pass plans these).
    names_service_account: bool,
}

/// Reads every file once, in parallel, and glances at it; a file that
/// cannot be read is looked at again, and reported, by the file pass.
fn glance(config: &RunConfig, files: &PathList) -> Vec<Glance> {
    files
        .par_iter()
        .map(|candidate| {
            let bytes = read_limited(&candidate.abs_path(&config.root), config.max_file_size).unwrap_or_default();
            let text = std::str::from_utf8(&bytes).unwrap_or_default();
            Glance {
                may_hold_release: releases::may_hold_release(text),
                names_service_account: text.contains("ServiceAccount"),
            }
        })
        .collect()
}

fn is_deferred(file: &FileResult) -> bool {
    file.plan.as_ref().is_some_and(|p| p.deferred)
}

fn file_warning(file: &FileResult, warning: &Warning) -> Diagnostic {
    Diagnostic {
        path: file.path.clone(),
        line: Some(warning.line),
        column: None,
        message: warning.message.clone(),
        rule: warning.rule,
    }
}

/// The rules file as a run names it: relative to the repository root when
/// it is inside it, else as given; `None` for the embedded default.
fn rules_shown(rules: &Rules, root: &Path) -> Option<String> {
    let crate::rules::RulesOrigin::File(path) = &rules.origin else { return None };
    let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let inside = path
        .canonicalize()
        .ok()
        .and_then(|p| p.strip_prefix(&canonical_root).ok().map(|rel| rel.to_string_lossy().into_owned()));
    Some(inside.unwrap_or_else(|| path.display().to_string()))
}

/// A warning for every path glob of a rules file that matches no file of
/// the repository, and every `exclude:` glob that leaves nothing out: a
/// typo shows at once instead of as an environment that silently covers
/// nothing. (The embedded default's globs are meant to match only some
/// repositories, so they are not checked.)
fn unmatched_globs(config: &RunConfig, discovery: &discover::Discovery) -> Vec<Diagnostic> {
    let Some(path) = rules_shown(&config.rules, &config.root) else { return Vec::new() };
    let warn = |line: usize, message: String| Diagnostic {
        path: path.clone(),
        line: Some(line),
        column: None,
        message,
        rule: "unmatched-glob",
    };
    let mut out = Vec::new();
    for env in &config.rules.environments {
        for (pattern, line) in env.paths.iter().zip(&env.path_lines) {
            if !discovery.seen().any(|file| pattern.is_match(file)) {
                let also = if discovery.excluded.iter().any(|file| pattern.is_match(file)) {
                    " that is not excluded"
                } else {
                    ""
                };
                out.push(warn(
                    *line,
                    format!(
                        "environment `{}`: path glob `{}` matches no file{also} (globs are relative to the repository root)",
                        env.name, pattern.text
                    ),
                ));
            }
        }
    }
    for (pattern, line) in &config.rules.exclude {
        // As with `--exclude`, a directory's glob covers everything below it.
        let covers =
            |file: &str| pattern.is_match(file) || file.match_indices('/').any(|(at, _)| pattern.is_match(&file[..at]));
        if !discovery.excluded.iter().any(|file| covers(file)) {
            out.push(warn(
                *line,
                format!("exclude glob `{}` matches no file (globs are relative to the repository root)", pattern.text),
            ));
        }
    }
    out
}

/// One warning per environment and secret name that pods need but no
/// Secret, SealedSecret or ExternalSecret of that environment defines.
fn undefined_secret_warnings(
    learned: &Learned,
    index: &RepositoryIndex,
    overlays: &[OverlayPlan],
    graph: &Graph,
    rules: &Rules,
) -> Vec<Diagnostic> {
    let environment_of = |overlay: &str| graph.kustomizations.get(overlay).and_then(|k| k.environment);
    let mut defined: BTreeSet<(usize, String)> = graph.generated_secrets();
    defined.extend(learned.defined_secrets.iter().cloned());
    for (path, overlays) in &index.shared_by {
        let secrets = index.shared_secrets.get(path).map(Vec::as_slice).unwrap_or_default();
        for env in overlays.iter().filter_map(|overlay| environment_of(overlay)) {
            defined.extend(secrets.iter().map(|name| (env, name.clone())));
        }
    }
    // The first use of each name, in path order: pods edited in place, then the overlays' patches.
    let mut first_uses: Vec<(&FirstSeen, &(usize, String))> =
        learned.first_use.iter().map(|(used, seen)| (seen, used)).collect();
    first_uses.sort();
    let mut uses: Vec<(usize, &str, &str, usize)> = first_uses
        .into_iter()
        .map(|(seen, (environment, name))| (*environment, name.as_str(), seen.path.as_str(), seen.line))
        .collect();
    for overlay in overlays {
        for setting in overlay.settings.iter().filter(|s| s.field == crate::common::Field::ImagePullSecrets) {
            if let crate::common::FieldValue::Secrets(names) = &setting.to {
                for name in names {
                    uses.push((overlay.environment, name.as_str(), setting.base_file.as_str(), setting.base_line));
                }
            }
        }
    }
    let mut warned: BTreeSet<(usize, &str)> = BTreeSet::new();
    let mut out = Vec::new();
    for (environment, name, path, line) in uses {
        if defined.contains(&(environment, name.to_string()))
            || rules.provided_secrets.iter().any(|provided| provided == name)
            || !warned.insert((environment, name))
        {
            continue;
        }
        out.push(Diagnostic {
            path: path.to_string(),
            line: Some(line),
            column: None,
            message: format!(
                "pull secret `{name}` is not defined by any Secret, SealedSecret or ExternalSecret of environment `{}`",
                rules.environments[environment].name
            ),
            rule: "undefined-pull-secret",
        });
    }
    out
}

fn failed(candidate: &Candidate, text: Option<&str>, offset: Option<usize>, message: String) -> FileResult {
    let (line, column) = match (text, offset) {
        (Some(text), Some(offset)) => {
            let (line, column) = yaml::LineIndex::new(text).line_col(text, offset);
            (Some(line), Some(column))
        }
        _ => (None, None),
    };
    let diagnostic = Diagnostic { path: candidate.rel_path.to_string(), line, column, message, rule: "file-error" };
    let mut result = FileResult::new(candidate.rel_path.to_string(), FileStatus::Failed(diagnostic));
    result.n_lines = text.map(|text| text.lines().count());
    result
}

fn skipped(candidate: &Candidate, reason: &str) -> FileResult {
    FileResult::new(candidate.rel_path.to_string(), FileStatus::Skipped(reason.to_string()))
}

fn unchanged(candidate: &Candidate, plan: Option<FilePlan>) -> FileResult {
    let mut result = FileResult::new(candidate.rel_path.to_string(), FileStatus::Unchanged);
    result.plan = plan.map(Box::new);
    result
}

/// Reads, parses, plans, applies and verifies one file.
fn process(
    candidate: &Candidate,
    config: &RunConfig,
    ctx: &PlanContext<'_>,
    first_pass: bool,
    view: &KustomizeView<'_>,
) -> FileResult {
    let blocked = view.blocked.contains(candidate.rel_path) && !view.ownership.contains_key(candidate.rel_path);
    let partial = view.strategic_patches.contains(candidate.rel_path);
    if blocked || (view.patch_files.contains(candidate.rel_path) && !partial) {
        // A kustomize patch is a partial object, applied by its overlay: not a manifest.
        return unchanged(candidate, None);
    }
    let bytes = match read_limited(&candidate.abs_path(&config.root), config.max_file_size) {
        Ok(bytes) => bytes,
        // Swapped for a FIFO or a device since the walk: a note, as the walk would have given.
        Err(err) if err.is_special_file() => return skipped(candidate, &err.to_string()),
        Err(err) => return failed(candidate, None, None, err.to_string()),
    };
    let text = match text_of(&bytes) {
        Ok(text) => text,
        Err((offset, message)) => {
            let valid = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
            return failed(candidate, Some(valid), Some(offset), message);
        }
    };
    if overlay_patch::is_generated(candidate.rel_path, text) {
        return unchanged(candidate, None);
    }
    if !config.explain && !may_be_reached(candidate, ctx, view, partial, text) {
        let mut result = unchanged(candidate, None);
        result.unreached = manifest::may_hold_containers(text);
        chart_values_coverage(candidate, config, view, &mut result);
        return result;
    }
    if let Some(line) = coverage::generated_marker(text) {
        let mut result = unchanged(candidate, None);
        // Not covered only when it holds what the rules would act on (Flux's
        // gotk-sync.yaml holds no container: nothing is missed there).
        let holds_workloads =
            yaml::parse(text).map_or(true, |documents| documents.iter().any(|d| manifest::holds_containers(&d.root)));
        if !holds_workloads {
            return result;
        }
        result.not_covered.push(NotCovered::file(
            candidate.rel_path,
            Some(line),
            coverage::generated_reason(candidate.rel_path),
        ));
        return result;
    }
    if !manifest::worth_parsing(text, ctx.rules) {
        // Nothing in it can be planned, covered or counted: not parsed (see `worth_parsing`).
        let mut result = unchanged(candidate, Some(FilePlan::default()));
        chart_values_coverage(candidate, config, view, &mut result);
        forget_empty_plan(config, &mut result);
        return result;
    }
    // Within a file, only the documents that can matter are built (issue 16);
    // `explain` shows every document, and Helm values edits and kustomize
    // patches read the file as a whole.
    let whole = config.explain || partial || view.values_edits.contains_key(candidate.rel_path);
    let parsed = if whole {
        yaml::parse(text)
    } else {
        yaml::parse_skipping(text, &|section: &str| manifest::worth_parsing(section, ctx.rules))
    };
    let documents = match parsed {
        Ok(parsed) => parsed,
        Err(_) if text.contains("{{") => {
            return skipped(candidate, "Helm template (holds `{{` and is not valid YAML)");
        }
        Err(err) => return failed(candidate, Some(text), Some(err.offset), format!("invalid YAML: {}", err.message)),
    };
    let parsed = ParsedFile { text, documents, style: edit::TextStyle::new(text) };
    let mut result = process_parsed(candidate, config, ctx, first_pass, view, partial, &parsed);
    // Seen, and not covered: what the planner could not read, and chart values no release reads.
    let mut uncovered = Vec::new();
    if let Some(plan) = &mut result.plan {
        uncovered.append(&mut plan.uncovered);
    }
    for item in uncovered {
        result.not_covered.push(NotCovered {
            path: candidate.rel_path.to_string(),
            line: Some(parsed.lines().line_of(item.offset)),
            kind: Some(item.kind),
            name: item.name,
            reason: item.reason,
        });
    }
    chart_values_coverage(candidate, config, view, &mut result);
    forget_empty_plan(config, &mut result);
    result
}

/// Whether some environment can reach a file, decided before it is parsed
/// (issue 16): `--env` or `defaultEnvironment` reach every file; otherwise a
/// file is reached by its path, by a kustomize overlay that owns or shares
/// it (or reads it, or patches with it), by a Helm release whose values it
/// carries, or, when environments match namespaces, by a namespace, which a
/// document can only give in a `namespace` key (`manifest::may_name_namespace`).
/// Nothing in a file no environment reaches is acted on, so it is read but
/// not parsed: its containers are not counted one by one (the file is, in
/// `RunReport::files_without_environment`, when it mentions containers)
/// and invalid YAML in it is not reported. `explain` parses every file.
fn may_be_reached(
    candidate: &Candidate,
    ctx: &PlanContext<'_>,
    view: &KustomizeView<'_>,
    partial: bool,
    text: &str,
) -> bool {
    let path = candidate.rel_path;
    let rules = ctx.rules;
    ctx.forced_environment.is_some()
        || ctx.owner.is_some()
        || rules.default_environment.is_some()
        || partial
        || view.ownership.contains_key(path)
        || view.values_edits.contains_key(path)
        || view.pulled_in.contains_key(path)
        // A path that matches two environments is reached, and reported.
        || !matches!(rules.env_for_path(path), Ok(None))
        || rules.uses_namespaces() && manifest::may_name_namespace(text)
}

/// Drops a plan that holds nothing, so that a file without anything to act
/// on costs the run no memory until it ends (most files of a large
/// repository). `explain` keeps it: "no containers" is what it says of it.
fn forget_empty_plan(config: &RunConfig, result: &mut FileResult) {
    if !config.explain && result.plan.as_ref().is_some_and(|plan| plan.holds_nothing()) {
        result.plan = None;
    }
}

/// Whether a file's result says nothing any later step or output needs:
/// nothing in it is uncovered, its plan holds only what it counts, and it
/// needs no change, or its changes are not listed (`keep_changes` is off).
/// Those counts go to `tally`, and the result can be dropped (the file is
/// listed in `RunReport::quiet`), so that what a run keeps does not grow
/// with the repository. A file in `replaced_later` keeps its result;
/// `explain` keeps every result. What only the post-edit check needed
/// (`touched`) is dropped from every plan.
fn count_if_quiet(
    config: &RunConfig,
    result: &mut FileResult,
    replaced_later: &BTreeSet<&str>,
    tally: &mut Tally,
) -> bool {
    if config.explain {
        return false;
    }
    if result.unreached && result.not_covered.is_empty() {
        tally.files_without_environment += 1;
        return true;
    }
    if let Some(plan) = &mut result.plan {
        plan.touched = Vec::new();
    }
    let written = match result.status {
        FileStatus::Unchanged => false,
        FileStatus::Changed { written, action: FileAction::Modify, .. } if !config.keep_changes => written,
        _ => return false,
    };
    if !result.not_covered.is_empty() {
        return false;
    }
    if replaced_later.contains(result.path.as_str()) {
        return matches!(result.status, FileStatus::Unchanged) && result.plan.is_none();
    }
    let Some(plan) = &mut result.plan else { return matches!(result.status, FileStatus::Unchanged) };
    let changes = std::mem::take(&mut plan.changes);
    if !plan.holds_only_counts() {
        plan.changes = changes;
        return false;
    }
    tally.containers_covered += plan.containers_covered;
    tally.containers_without_environment += plan.containers_without_environment;
    if matches!(result.status, FileStatus::Changed { .. }) {
        tally.counted.files_changed += 1;
        tally.counted.files_written += usize::from(written);
        tally.counted.containers_changed += plan.containers_changed;
        tally.counted.pod_specs_changed += plan.pod_specs_changed;
    }
    true
}

/// A chart's values file that no release reads is seen and not covered.
fn chart_values_coverage(candidate: &Candidate, config: &RunConfig, view: &KustomizeView<'_>, result: &mut FileResult) {
    let has_chart = |dir: &str| {
        let dir = config.root.join(dir);
        dir.join("Chart.yaml").is_file() || dir.join("Chart.yml").is_file()
    };
    let (chart_dir, file_name) = candidate.rel_path.rsplit_once('/').unwrap_or(("", candidate.rel_path));
    // A used chart's (or subchart's) values.yaml is its releases' defaults, read.
    let is_defaults = file_name == "values.yaml" && view.charts_used.contains(chart_dir);
    if coverage::is_chart_values(candidate.rel_path, has_chart)
        && !view.values_files.contains(candidate.rel_path)
        && !is_defaults
    {
        result.not_covered.push(NotCovered::file(candidate.rel_path, None, coverage::CHART_VALUES_REASON));
    }
}

/// A file's text with what parsing it gave.
struct ParsedFile<'a> {
    text: &'a str,
    documents: Vec<yaml::Document>,
    /// The text as the planner reads it; its line index is built once, when
    /// a column or a line is first asked for (many files need none).
    style: edit::TextStyle<'a>,
}

impl ParsedFile<'_> {
    fn lines(&self) -> &LineIndex {
        self.style.lines()
    }
}

/// Plans, applies and verifies a parsed file.
#[allow(clippy::too_many_arguments)]
fn process_parsed(
    candidate: &Candidate,
    config: &RunConfig,
    ctx: &PlanContext<'_>,
    first_pass: bool,
    view: &KustomizeView<'_>,
    partial: bool,
    parsed: &ParsedFile<'_>,
) -> FileResult {
    let ParsedFile { text, documents, .. } = parsed;
    let text: &str = text;
    let owned_ctx;
    let ctx = match view.ownership.get(candidate.rel_path) {
        Some(Ownership::Shared { .. }) => {
            // Shared by several environments: never edited; its overlays get patches instead.
            return match check_shared(documents, ctx.rules) {
                Ok(()) => {
                    let mut index = view.index.lock().expect("no worker panicked while holding the index");
                    index.shared_secrets.insert(candidate.rel_path.to_string(), plan::defined_secret_names(documents));
                    let accounts = plan::service_account_names(documents);
                    index.shared_service_accounts.insert(candidate.rel_path.to_string(), accounts);
                    unchanged(candidate, None)
                }
                Err(PlanFailure::Skipped(reason)) => skipped(candidate, &reason),
                Err(PlanFailure::Error { offset, message }) => failed(candidate, Some(text), offset, message),
            };
        }
        Some(Ownership::Owned { environment, overlay, images }) => {
            owned_ctx = PlanContext {
                owner: Some(EnvChoice { env: *environment, reason: EnvReason::Overlay(overlay.clone()) }),
                image_overrides: images,
                ..ctx.clone()
            };
            &owned_ctx
        }
        None => ctx,
    };
    let partial_ctx;
    let ctx = if partial {
        partial_ctx = PlanContext { partial: true, ..ctx.clone() };
        &partial_ctx
    } else {
        ctx
    };
    let mut plan = match plan::plan_file_in(&parsed.style, candidate.rel_path, documents, ctx) {
        Ok(plan) => plan,
        Err(PlanFailure::Skipped(reason)) => return skipped(candidate, &reason),
        Err(PlanFailure::Error { offset, message }) => return failed(candidate, Some(text), offset, message),
    };
    if !config.explain {
        // Only `explain` shows them.
        plan.containers = Vec::new();
        plan.pods = Vec::new();
    }
    plan.locate(|| parsed.lines());
    if first_pass && plan.holds_secret_targets(ctx.rules) {
        // Its ServiceAccounts learn their secrets only when every pod is known.
        plan.deferred = true;
        return unchanged(candidate, Some(plan));
    }
    let values_changes = match view.values_edits.get(candidate.rel_path) {
        Some(edits) => match release::apply_edits(text, documents, edits) {
            Ok(changes) => changes,
            Err((offset, message)) => return failed(candidate, Some(text), Some(offset), message),
        },
        None => Vec::new(),
    };
    if plan.changes.is_empty() && values_changes.is_empty() {
        return unchanged(candidate, Some(plan));
    }
    let manifest_splices = plan.splices();
    let manifest_text = edit::apply(text, &manifest_splices);
    // Parts (a) to (c) of the invariant; (d), idempotence, would need a second plan.
    let intended = verify::Intended {
        documents,
        fields: verify::IntendedFields::PullFields { touched: &plan.touched },
        splices: &manifest_splices,
        replan: None,
    };
    if let Err(problem) = verify::invariant(text, &manifest_text, &intended) {
        return failed(
            candidate,
            None,
            None,
            format!(
                "internal error: the planned rewrite would change more than intended ({problem}); file left untouched"
            ),
        );
    }
    drop(manifest_text);
    drop(manifest_splices);
    for mut change in values_changes {
        change.line = parsed.lines().line_of(change.offset);
        match change.field {
            crate::common::Field::ImagePullPolicy => plan.containers_changed += 1,
            crate::common::Field::ImagePullSecrets => plan.pod_specs_changed += 1,
        }
        plan.changes.push(change);
    }
    let splices = plan.splices();
    if splices.windows(2).any(|w| w[0].range.end > w[1].range.start) {
        let message = "internal error: a Helm values edit overlaps a manifest edit; file left untouched".to_string();
        return failed(candidate, None, None, message);
    }
    let new_text = edit::apply(text, &splices);
    let mut written = false;
    if config.write {
        if let Err(err) =
            write::atomic_write_over(&candidate.abs_path(&config.root), text.as_bytes(), new_text.as_bytes())
        {
            return failed(candidate, None, None, err.to_string());
        }
        written = true;
    }
    if view.pulled_in.contains_key(candidate.rel_path) {
        if let Ok(values) = Value::parse_documents(&new_text) {
            let mut index = view.index.lock().expect("no worker panicked while holding the index");
            index.edited_sources.insert(candidate.rel_path.to_string(), values);
        }
    }
    let (original, new_text) =
        if config.keep_texts { (text.to_string(), new_text) } else { (String::new(), String::new()) };
    let status = FileStatus::Changed { original, new_text, written, action: FileAction::Modify };
    let mut result = FileResult::new(candidate.rel_path.to_string(), status);
    result.plan = Some(Box::new(plan));
    result
}

/// A shared file is never edited, but what would make any other file fail or be skipped still does.
fn check_shared(documents: &[yaml::Document], rules: &Rules) -> Result<(), PlanFailure> {
    for object in manifest::objects(documents) {
        let Some(shape) = manifest::workload_shape(&object, &rules.workloads) else { continue };
        for pod_spec in manifest::pod_specs(&object, &shape).pod_specs {
            let containers = manifest::shape_containers(pod_spec.node, &shape)
                .map_err(|err| PlanFailure::Error { offset: Some(err.offset), message: err.message })?;
            if containers.iter().any(|c| c.image().is_some_and(|i| i.contains("{{"))) {
                return Err(PlanFailure::Skipped("Helm template (an image reference holds `{{`)".to_string()));
            }
        }
    }
    Ok(())
}

/// A regular file that is not a link, at most `max` bytes (`fsio` checks the handle).
fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>, crate::fsio::FileError> {
    crate::fsio::read_unlinked(path, max, " (--max-file-size)")
}

/// The file as UTF-8 text without NUL bytes, or where it stops being that.
/// A UTF-16 or UTF-32 byte order mark says what the file is (editors on
/// Windows write them); such a file is text pullsmith cannot read, not binary.
fn text_of(bytes: &[u8]) -> Result<&str, (usize, String)> {
    let wide = match bytes {
        [0xFF, 0xFE, 0, 0, ..] | [0, 0, 0xFE, 0xFF, ..] => Some("UTF-32"),
        [0xFF, 0xFE, ..] | [0xFE, 0xFF, ..] => Some("UTF-16"),
        _ => None,
    };
    if let Some(encoding) = wide {
        let message = format!(
            "{encoding} text; pullsmith reads UTF-8 only (convert with iconv: `iconv -f {encoding} -t UTF-8`); left alone"
        );
        return Err((0, message));
    }
    if let Some(nul) = memchr::memchr(0, bytes) {
        return Err((nul, "binary file (holds a NUL byte); left alone".to_string()));
    }
    std::str::from_utf8(bytes).map_err(|err| (err.valid_up_to(), "not UTF-8 text; left alone".to_string()))
}
