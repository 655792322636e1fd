//! The run itself: discover → read → parse → plan → apply splices → verify,
//! in parallel over files, then the cross-file pass (ServiceAccounts that
//! receive pods' secrets, secrets no manifest defines).
//!
//! One bad file never stops the run: every file ends as a `FileResult`, and
//! the edge picks the exit code. Writing happens here only for `apply`,
//! right after a file is verified, so changed texts are not held for the
//! whole repository.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::discover::{self, Candidate, PathFilter};
use crate::edit;
use crate::emit::write;
use crate::plan::{self, FilePlan, PlanContext, PlanFailure, ServiceAccountKey, ServiceAccountSecrets, Warning};
use crate::rules::Rules;
use crate::verify;
use crate::yaml::{self, LineIndex};

/// A problem tied to a file, printed as `path:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "{}:{line}:{column}: {}", self.path, self.message)
            }
            (Some(line), None) => write!(f, "{}:{line}: {}", self.path, self.message),
            _ => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

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
    },
    Skipped(String),
    Failed(Diagnostic),
}

#[derive(Debug)]
pub struct FileResult {
    pub path: String,
    pub abs_path: PathBuf,
    /// Line numbers of the original file, for reports.
    pub lines: Option<LineIndex>,
    pub plan: Option<FilePlan>,
    pub status: FileStatus,
}

/// What `run` needs, validated before any file is read.
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
}

/// Everything a run found, in path order.
#[derive(Debug, Default)]
pub struct RunReport {
    pub files: Vec<FileResult>,
    pub warnings: Vec<Diagnostic>,
}

impl RunReport {
    pub fn n_scanned(&self) -> usize {
        self.files.len()
    }
    pub fn n_changed(&self) -> usize {
        self.files.iter().filter(|f| matches!(f.status, FileStatus::Changed { .. })).count()
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
        self.changed_plans().map(|p| p.containers_changed).sum()
    }
    pub fn n_pod_specs_changed(&self) -> usize {
        self.changed_plans().map(|p| p.pod_specs_changed).sum()
    }
    fn changed_plans(&self) -> impl Iterator<Item = &FilePlan> {
        self.files.iter().filter(|f| matches!(f.status, FileStatus::Changed { .. })).filter_map(|f| f.plan.as_ref())
    }
}

/// Counts files done, for the progress line.
pub static FILES_DONE: AtomicUsize = AtomicUsize::new(0);
pub static FILES_TOTAL: AtomicUsize = AtomicUsize::new(0);

pub fn run(config: &RunConfig) -> RunReport {
    let discovery = discover::discover(&config.root, &config.filter);
    FILES_TOTAL.store(discovery.files.len(), Ordering::Relaxed);
    let first_pass = PlanContext {
        rules: &config.rules,
        forced_environment: config.forced_environment,
        service_account_secrets: None,
    };
    let mut files: Vec<FileResult> = discovery
        .files
        .par_iter()
        .map(|candidate| {
            let result = process(candidate, config, &first_pass, true);
            FILES_DONE.fetch_add(1, Ordering::Relaxed);
            result
        })
        .collect();

    // Second pass: ServiceAccounts that receive the secrets of their pods.
    let mut requested: ServiceAccountSecrets = Default::default();
    let mut first_request: BTreeMap<ServiceAccountKey, (String, usize)> = BTreeMap::new();
    for file in &files {
        for request in file.plan.iter().flat_map(|p| &p.service_account_requests) {
            let entry = requested.entry(request.key.clone()).or_default();
            for secret in &request.secrets {
                if !entry.contains(secret) {
                    entry.push(secret.clone());
                }
            }
            first_request.entry(request.key.clone()).or_insert((file.path.clone(), request.offset));
        }
    }
    let second_pass = PlanContext { service_account_secrets: Some(&requested), ..first_pass };
    let deferred: Vec<usize> = (0..files.len()).filter(|&i| is_deferred(&files[i])).collect();
    let redone: Vec<(usize, FileResult)> = deferred
        .par_iter()
        .map(|&i| {
            let candidate = Candidate { rel_path: files[i].path.clone(), abs_path: files[i].abs_path.clone() };
            (i, process(&candidate, config, &second_pass, false))
        })
        .collect();
    for (i, result) in redone {
        files[i] = result;
    }

    let mut warnings = Vec::new();
    for file in &files {
        for warning in file.plan.iter().flat_map(|p| &p.warnings) {
            warnings.push(file_warning(file, warning));
        }
    }
    let present: BTreeSet<&ServiceAccountKey> =
        files.iter().flat_map(|f| f.plan.iter().flat_map(|p| p.service_accounts.iter().map(|(k, _)| k))).collect();
    for (key, (path, offset)) in &first_request {
        if !present.contains(key) {
            let line =
                files.iter().find(|f| &f.path == path).and_then(|f| f.lines.as_ref()).map(|l| l.line_of(*offset));
            let namespace = key.namespace.as_deref().map(|ns| format!(" in namespace `{ns}`")).unwrap_or_default();
            warnings.push(Diagnostic {
                path: path.clone(),
                line,
                column: None,
                message: format!(
                    "ServiceAccount `{}`{namespace} of environment `{}` is not in the repository: its pull secrets were not attached",
                    key.name, config.rules.environments[key.environment].name
                ),
            });
        }
    }
    warnings.extend(undefined_secret_warnings(&files, &config.rules));

    for (path, target) in discovery.escaping_links {
        files.push(FileResult {
            path: path.clone(),
            abs_path: config.root.join(&path),
            lines: None,
            plan: None,
            status: FileStatus::Failed(Diagnostic {
                path,
                line: None,
                column: None,
                message: format!("symlink leaves the repository (to {}); left alone", target.display()),
            }),
        });
    }
    for path in discovery.helm_templates {
        files.push(FileResult {
            abs_path: config.root.join(&path),
            path,
            lines: None,
            plan: None,
            status: FileStatus::Skipped("Helm template (in a chart's templates/ directory)".to_string()),
        });
    }
    for (path, message) in discovery.walk_errors {
        files.push(FileResult {
            abs_path: config.root.join(&path),
            path: path.clone(),
            lines: None,
            plan: None,
            status: FileStatus::Failed(Diagnostic { path, line: None, column: None, message }),
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    RunReport { files, warnings }
}

fn is_deferred(file: &FileResult) -> bool {
    file.plan.as_ref().is_some_and(|p| p.deferred)
}

fn file_warning(file: &FileResult, warning: &Warning) -> Diagnostic {
    Diagnostic {
        path: file.path.clone(),
        line: file.lines.as_ref().map(|l| l.line_of(warning.offset)),
        column: None,
        message: warning.message.clone(),
    }
}

/// One warning per environment and secret name that pods need but no
/// Secret, SealedSecret or ExternalSecret of that environment defines.
fn undefined_secret_warnings(files: &[FileResult], rules: &Rules) -> Vec<Diagnostic> {
    let defined: BTreeSet<(usize, &str)> = files
        .iter()
        .flat_map(|f| f.plan.iter().flat_map(|p| p.defined_secrets.iter().map(|(env, name)| (*env, name.as_str()))))
        .collect();
    let mut warned: BTreeSet<(usize, &str)> = BTreeSet::new();
    let mut out = Vec::new();
    for file in files {
        for used in file.plan.iter().flat_map(|p| &p.secret_uses) {
            let key = (used.environment, used.name.as_str());
            if defined.contains(&key) || !warned.insert(key) {
                continue;
            }
            out.push(Diagnostic {
                path: file.path.clone(),
                line: file.lines.as_ref().map(|l| l.line_of(used.offset)),
                column: None,
                message: format!(
                    "pull secret `{}` is not defined by any Secret, SealedSecret or ExternalSecret of environment `{}`",
                    used.name, rules.environments[used.environment].name
                ),
            });
        }
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
    FileResult {
        path: candidate.rel_path.clone(),
        abs_path: candidate.abs_path.clone(),
        lines: None,
        plan: None,
        status: FileStatus::Failed(Diagnostic { path: candidate.rel_path.clone(), line, column, message }),
    }
}

/// Reads, parses, plans, applies and verifies one file.
fn process(candidate: &Candidate, config: &RunConfig, ctx: &PlanContext<'_>, first_pass: bool) -> FileResult {
    let bytes = match read_limited(&candidate.abs_path, config.max_file_size) {
        Ok(bytes) => bytes,
        Err(message) => return failed(candidate, None, None, message),
    };
    let text = match text_of(&bytes) {
        Ok(text) => text,
        Err((offset, message)) => {
            let valid = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
            return failed(candidate, Some(valid), Some(offset), message);
        }
    };
    let documents = match yaml::parse(text) {
        Ok(documents) => documents,
        Err(err) if text.contains("{{") => {
            let _ = err;
            return skipped(candidate, "Helm template (holds `{{` and is not valid YAML)");
        }
        Err(err) => return failed(candidate, Some(text), Some(err.offset), format!("invalid YAML: {}", err.message)),
    };
    let mut plan = match plan::plan_file(text, &candidate.rel_path, &documents, ctx) {
        Ok(plan) => plan,
        Err(PlanFailure::Skipped(reason)) => return skipped(candidate, &reason),
        Err(PlanFailure::Error { offset, message }) => return failed(candidate, Some(text), offset, message),
    };
    let lines = Some(LineIndex::new(text));
    if first_pass && plan.holds_secret_targets(ctx.rules) {
        // Its ServiceAccounts learn their secrets only when every pod is known.
        plan.deferred = true;
        return FileResult {
            path: candidate.rel_path.clone(),
            abs_path: candidate.abs_path.clone(),
            lines,
            plan: Some(plan),
            status: FileStatus::Unchanged,
        };
    }
    if plan.changes.is_empty() {
        return FileResult {
            path: candidate.rel_path.clone(),
            abs_path: candidate.abs_path.clone(),
            lines,
            plan: Some(plan),
            status: FileStatus::Unchanged,
        };
    }
    let new_text = edit::apply(text, &plan.splices());
    if let Err(problem) = verify::only_intended_fields_changed(&documents, &new_text, &plan.touched) {
        return failed(
            candidate,
            None,
            None,
            format!(
                "internal error: the planned rewrite would change more than intended ({problem}); file left untouched"
            ),
        );
    }
    let mut written = false;
    if config.write {
        if let Err(err) = write::atomic_write(&candidate.abs_path, new_text.as_bytes()) {
            return failed(candidate, None, None, format!("cannot write: {err}"));
        }
        written = true;
    }
    let (original, new_text) =
        if config.keep_texts { (text.to_string(), new_text) } else { (String::new(), String::new()) };
    FileResult {
        path: candidate.rel_path.clone(),
        abs_path: candidate.abs_path.clone(),
        lines,
        plan: Some(plan),
        status: FileStatus::Changed { original, new_text, written },
    }
}

fn skipped(candidate: &Candidate, reason: &str) -> FileResult {
    FileResult {
        path: candidate.rel_path.clone(),
        abs_path: candidate.abs_path.clone(),
        lines: None,
        plan: None,
        status: FileStatus::Skipped(reason.to_string()),
    }
}

fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let metadata = std::fs::metadata(path).map_err(|err| format!("cannot read: {err}"))?;
    if metadata.len() > max {
        return Err(format!(
            "file is {} bytes, over the limit of {max} bytes (--max-file-size); left alone",
            metadata.len()
        ));
    }
    std::fs::read(path).map_err(|err| format!("cannot read: {err}"))
}

/// The file as UTF-8 text without NUL bytes, or where it stops being that.
fn text_of(bytes: &[u8]) -> Result<&str, (usize, String)> {
    if let Some(nul) = bytes.iter().position(|b| *b == 0) {
        return Err((nul, "binary file (holds a NUL byte); left alone".to_string()));
    }
    std::str::from_utf8(bytes).map_err(|err| (err.valid_up_to(), "not UTF-8 text; left alone".to_string()))
}
