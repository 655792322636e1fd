//! Finding the manifests to look at: a deterministic walk of the repository
//! that honours `.gitignore`, `--include`/`--exclude` and the YAML file
//! extensions, never follows a symlink, and sets aside Helm chart templates.
//!
//! It reads directory entries and metadata only, never file contents, and
//! sets aside what is not a regular file (a FIFO, a device, a socket): such
//! a file is never opened, since reading one can block or never end.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::WalkBuilder;

/// The file names kustomize looks for, in its order of preference: the walk
/// sets them aside for the kustomization graph.
pub const KUSTOMIZATION_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// A file to read, by its path relative to the repository (`/`-separated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub rel_path: &'a str,
}

impl Candidate<'_> {
    /// Where the file is: below `root`, the root the walk started from (a
    /// repository-relative path is exact, since names that are not UTF-8 are
    /// never candidates). Not stored: a large repository has many candidates.
    pub fn abs_path(&self, root: &Path) -> PathBuf {
        root.join(self.rel_path)
    }
}

/// The files a run reads, in path order, their paths one after another in
/// one buffer (issue 16): a large repository has hundreds of thousands, and
/// a `String` each cost a run about 40% more memory (the string, its heap
/// block's rounding, its own allocation).
#[derive(Debug, Default)]
pub struct PathList {
    text: String,
    /// Where each path ends in `text`; it starts where the one before ends.
    ends: Vec<usize>,
}

impl PathList {
    fn of_sorted(paths: &[String]) -> PathList {
        let mut list = PathList {
            text: String::with_capacity(paths.iter().map(String::len).sum()),
            ends: Vec::with_capacity(paths.len()),
        };
        for path in paths {
            list.text.push_str(path);
            list.ends.push(list.text.len());
        }
        list
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `index`th file.
    pub fn get(&self, index: usize) -> Candidate<'_> {
        let start = index.checked_sub(1).map_or(0, |before| self.ends[before]);
        Candidate { rel_path: &self.text[start..self.ends[index]] }
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = Candidate<'_>> + '_ {
        (0..self.len()).map(|index| self.get(index))
    }

    /// The files, for rayon.
    pub fn par_iter(&self) -> impl rayon::iter::IndexedParallelIterator<Item = Candidate<'_>> + '_ {
        self.par_range(0..self.len())
    }

    /// Files `range`, for rayon.
    pub fn par_range(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl rayon::iter::IndexedParallelIterator<Item = Candidate<'_>> + '_ {
        use rayon::iter::{IntoParallelIterator, ParallelIterator};
        range.into_par_iter().map(|index| self.get(index))
    }

    /// Whether `path` is one of the files.
    pub fn contains(&self, path: &str) -> bool {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let middle = low + (high - low) / 2;
            match self.get(middle).rel_path.cmp(path) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// The files to read, in path order.
    pub files: PathList,
    /// `files` as the walk finds them, until it ends.
    walked: Vec<String>,
    /// Helm chart templates, never read.
    pub helm_templates: Vec<String>,
    /// Links that point outside the repository, with where they point.
    pub escaping_links: Vec<(String, PathBuf)>,
    /// Linked directories that point outside the repository (not followed).
    pub escaping_dirs: Vec<(String, PathBuf)>,
    /// FIFOs, devices and sockets with a YAML or kustomization name, with
    /// what they are ("a FIFO", …): never read.
    pub special_files: Vec<(String, &'static str)>,
    /// Paths that could not be walked, with why.
    pub walk_errors: Vec<(String, String)>,
    /// Kustomization files (`kustomization.yaml`, `.yml`, `Kustomization`)
    /// that are not excluded, whatever PATH and `--include` say: the graph
    /// needs all of them to know which bases are shared.
    pub kustomizations: Vec<String>,
    /// The YAML and kustomization files of the repository that are not
    /// excluded and are neither in `files` nor in `kustomizations` (out of
    /// scope, links, Helm templates…): with those, what the rules' path globs
    /// can match (`seen`). Not a list of every file: a large repository has
    /// many.
    pub seen_elsewhere: Vec<String>,
    /// The YAML and kustomization files left out by `exclude`.
    pub excluded: Vec<String>,
}

impl Discovery {
    /// Every YAML or kustomization file of the repository that is not
    /// excluded, in or out of scope: what the rules' path globs can match.
    pub fn seen(&self) -> impl Iterator<Item = &str> {
        let files = self.files.iter().map(|c| c.rel_path);
        files
            .chain(self.kustomizations.iter().map(String::as_str))
            .chain(self.seen_elsewhere.iter().map(String::as_str))
    }
}

/// Which repository-relative paths a run looks at.
///
/// Three things narrow it, with two meanings. `exclude` (the rules file's
/// `exclude:` and `--exclude`) means "not ours": an excluded path is never
/// read, edited or followed, not even as a kustomization or as a resource a
/// kustomization names. PATH (the `scope` below the repository root) and
/// `--include` only narrow which files are processed and reported: the
/// kustomizations around them are still read, so that a base shared with an
/// overlay elsewhere is never edited as if it were not shared.
#[derive(Debug, Clone, Default)]
pub struct PathFilter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    /// PATH relative to the repository root, with a trailing `/`; empty for the root itself.
    scope: String,
}

impl PathFilter {
    pub fn new(include: &[String], exclude: &[String]) -> Result<PathFilter, String> {
        Ok(PathFilter { include: compile_set(include)?, exclude: compile_set(exclude)?, scope: String::new() })
    }

    /// Only paths below `scope` (repository-relative, `/`-separated; empty for all) are processed.
    pub fn with_scope(mut self, scope: &str) -> PathFilter {
        let scope = scope.trim_matches('/');
        self.scope = if scope.is_empty() { String::new() } else { format!("{scope}/") };
        self
    }

    /// Processed and reported: in scope, included and not excluded.
    pub fn allows(&self, rel_path: &str) -> bool {
        self.in_scope(rel_path) && !self.is_excluded(rel_path)
    }

    /// Below PATH and matched by `--include` (when there is one).
    pub fn in_scope(&self, rel_path: &str) -> bool {
        rel_path.starts_with(&self.scope) && self.include.as_ref().is_none_or(|set| set.is_match(rel_path))
    }

    /// Whether a directory (or file) at `rel_path` is not excluded and is
    /// in PATH or on the way to it.
    pub fn may_hold_scope(&self, rel_path: &str) -> bool {
        let dir = format!("{}/", rel_path.trim_end_matches('/'));
        !self.is_excluded(rel_path) && (dir.starts_with(&self.scope) || self.scope.starts_with(&dir))
    }

    /// Whether PATH or `--include` leave some of the repository out of the run.
    pub fn narrows(&self) -> bool {
        !self.scope.is_empty() || self.include.is_some()
    }

    /// Never read, edited or followed.
    pub fn is_excluded(&self, rel_path: &str) -> bool {
        self.exclude.as_ref().is_some_and(|set| set.is_match(rel_path))
    }
}

fn compile_set(globs: &[String]) -> Result<Option<GlobSet>, String> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let glob = glob.strip_prefix("./").unwrap_or(glob);
        builder.add(
            GlobBuilder::new(glob)
                .literal_separator(true)
                .build()
                .map_err(|err| format!("bad glob `{glob}`: {}", err.kind()))?,
        );
        // `dir` also means everything below it, as in .gitignore.
        if !glob.ends_with("**") {
            if let Ok(below) =
                GlobBuilder::new(&format!("{}/**", glob.trim_end_matches('/'))).literal_separator(true).build()
            {
                builder.add(below);
            }
        }
    }
    builder.build().map(Some).map_err(|err| err.to_string())
}

/// Whether a walk with `filter` may read the file at `rel_path`: a
/// kustomization that is not excluded, or a YAML file it allows. An
/// over-approximation (it knows neither `.gitignore`, nor links, nor Helm
/// templates), for a caller that must know whether a run may have read a
/// path without the run keeping every path it read.
pub fn may_read(filter: &PathFilter, rel_path: &str) -> bool {
    let name = rel_path.rsplit('/').next().unwrap_or(rel_path);
    if filter.is_excluded(rel_path) {
        return false;
    }
    KUSTOMIZATION_NAMES.contains(&name) || is_yaml_name(name) && filter.allows(rel_path)
}

pub fn is_yaml_name(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

/// A directory not walked: its path, the ignore file's name and what that file is.
type RefusedDir = (PathBuf, &'static str, &'static str);

/// Walks `root`; the lists are in path order.
pub fn discover(root: &Path, filter: &PathFilter) -> Discovery {
    let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut discovery = Discovery::default();
    // The walker reads every `.gitignore` (and `.git/info/exclude`) it meets:
    // one that is a FIFO or a device would hang it or never end, so such a
    // directory is not entered.
    if let Some((name, kind)) = unreadable_ignore_file(&canonical_root, root) {
        discovery.walk_errors.push((name.to_string(), not_walked(kind, ".")));
        return discovery;
    }
    let refused_dirs: Arc<Mutex<Vec<RefusedDir>>> = Arc::default();
    let refused_sink = Arc::clone(&refused_dirs);
    let non_utf8: Arc<Mutex<Vec<(PathBuf, bool)>>> = Arc::default();
    let non_utf8_sink = Arc::clone(&non_utf8);
    let walker_root = canonical_root.clone();
    let walker = WalkBuilder::new(root)
        .hidden(false)
        .ignore(false)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .parents(true)
        .require_git(false)
        .follow_links(false)
        .filter_entry(move |entry| {
            if entry.file_name() == ".git" {
                return false;
            }
            // A name that is not UTF-8 cannot be printed or diffed faithfully: left alone, and said.
            if entry.depth() > 0 && entry.file_name().to_str().is_none() {
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                let name = entry.file_name().to_string_lossy();
                let relevant = is_dir || is_yaml_name(&name) || KUSTOMIZATION_NAMES.contains(&name.as_ref());
                if relevant {
                    let mut found = non_utf8_sink.lock().expect("no panic while holding the lock");
                    found.push((entry.path().into(), is_dir));
                }
                return false;
            }
            if entry.depth() > 0 && entry.file_type().is_some_and(|t| t.is_dir()) {
                if let Some((name, kind)) = unreadable_ignore_file(&walker_root, entry.path()) {
                    let mut refused = refused_sink.lock().expect("no panic while holding the lock");
                    refused.push((entry.path().into(), name, kind));
                    return false;
                }
            }
            true
        })
        .threads(rayon::current_num_threads())
        .build_parallel();
    // In parallel, each thread into its own lists, merged and put in path
    // order once the walk is done: the walk is most of what a run does
    // before its first file is read, and one thread walked at half the speed.
    let parts: Mutex<Vec<Discovery>> = Mutex::default();
    let walk = Walk { root, canonical_root: &canonical_root, filter };
    walker.visit(&mut PartsBuilder { walk: &walk, parts: &parts });
    for part in parts.into_inner().expect("no panic while holding the lock") {
        discovery.absorb(part);
    }
    let refused: Vec<String> = refused_dirs
        .lock()
        .expect("no panic while holding the lock")
        .iter()
        .map(|(dir, _, _)| relative(root, dir))
        .chain(non_utf8.lock().expect("no panic while holding the lock").iter().map(|(p, _)| relative(root, p)))
        .collect();
    sort_in_path_order(&mut discovery);
    add_tracked_but_ignored(root, &canonical_root, filter, &refused, &mut discovery);
    discovery.files = PathList::of_sorted(&std::mem::take(&mut discovery.walked));
    // Found by the walk's threads in any order: said in path order.
    let mut non_utf8 = std::mem::take(&mut *non_utf8.lock().expect("no panic while holding the lock"));
    non_utf8.sort();
    let mut refused_dirs = std::mem::take(&mut *refused_dirs.lock().expect("no panic while holding the lock"));
    refused_dirs.sort();
    for (path, is_dir) in non_utf8 {
        let message = if is_dir {
            "directory name is not UTF-8; not walked (rename it to walk it)"
        } else {
            "file name is not UTF-8; left alone (rename it to have it processed)"
        };
        // The bytes that are not UTF-8 show as `?`: a name shown must not pass for one that exists.
        let shown = relative(root, &path).replace('\u{fffd}', "?");
        discovery.walk_errors.push((shown, message.to_string()));
    }
    for (dir, name, kind) in refused_dirs {
        let rel_dir = relative(root, &dir);
        discovery.walk_errors.push((format!("{rel_dir}/{name}"), not_walked(kind, &rel_dir)));
    }
    discovery
}

/// What every thread of the walk reads.
struct Walk<'a> {
    root: &'a Path,
    canonical_root: &'a Path,
    filter: &'a PathFilter,
}

impl Walk<'_> {
    /// Files one entry of the walk into `discovery`'s lists.
    fn visit(&self, entry: Result<ignore::DirEntry, ignore::Error>, discovery: &mut Discovery) {
        let Walk { root, canonical_root, filter } = *self;
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                // Named after the path that failed, relative to the repository, not after the root.
                let (path, mut message) = error_path(&err);
                let rel_path = path.map_or_else(|| ".".to_string(), |p| relative(root, p));
                if let Some(io) = err.io_error().filter(|_| path.is_some_and(|p| p.is_dir())) {
                    // The bare OS error: the wrapped one repeats the (absolute) path.
                    let cause = os_error(io)
                        .map_or_else(|| io.to_string(), |code| std::io::Error::from_raw_os_error(code).to_string());
                    message = format!("cannot read the directory: {cause}; not walked");
                }
                // Out of PATH, or excluded, a directory that cannot be walked is not this run's business.
                if rel_path == "." || filter.may_hold_scope(&rel_path) {
                    discovery.walk_errors.push((rel_path, message));
                }
                return;
            }
        };
        let Some(file_type) = entry.file_type() else {
            return;
        };
        if file_type.is_dir() {
            return;
        }
        let name = entry.file_name().to_string_lossy();
        let special = !file_type.is_file() && !file_type.is_symlink();
        if KUSTOMIZATION_NAMES.contains(&name.as_ref()) {
            let rel_path = relative(root, entry.path());
            if filter.is_excluded(&rel_path) {
                discovery.excluded.push(rel_path);
                return;
            }
            if file_type.is_file() {
                discovery.kustomizations.push(rel_path);
                return;
            }
            discovery.seen_elsewhere.push(rel_path.clone());
            if special && filter.allows(&rel_path) {
                discovery.special_files.push((rel_path, crate::fsio::kind_of(file_type)));
            }
            return;
        }
        if !is_yaml_name(&name) {
            // A linked directory is never followed; one that leaves the repository is worth a word.
            if file_type.is_symlink() && entry.path().is_dir() {
                let rel_path = relative(root, entry.path());
                if let Some(target) = escaping_target(canonical_root, entry.path()).filter(|_| filter.allows(&rel_path))
                {
                    discovery.escaping_dirs.push((rel_path, target));
                }
            }
            return;
        }
        let rel_path = relative(root, entry.path());
        if filter.is_excluded(&rel_path) {
            discovery.excluded.push(rel_path);
            return;
        }
        let is_candidate =
            filter.allows(&rel_path) && !special && !file_type.is_symlink() && !is_helm_template(root, entry.path());
        if is_candidate {
            discovery.walked.push(rel_path);
            return;
        }
        discovery.seen_elsewhere.push(rel_path.clone());
        if !filter.allows(&rel_path) {
            return;
        }
        if special {
            discovery.special_files.push((rel_path, crate::fsio::kind_of(file_type)));
            return;
        }
        if file_type.is_symlink() {
            if let Some(target) = escaping_target(canonical_root, entry.path()) {
                discovery.escaping_links.push((rel_path, target));
            }
            // A link inside the repository is left alone: its target is walked at its own path.
            return;
        }
        discovery.helm_templates.push(rel_path);
    }
}

/// Makes each walking thread's visitor.
struct PartsBuilder<'a, 's> {
    walk: &'a Walk<'a>,
    parts: &'s Mutex<Vec<Discovery>>,
}

impl<'s> ignore::ParallelVisitorBuilder<'s> for PartsBuilder<'_, 's>
where
    Self: 's,
{
    fn build(&mut self) -> Box<dyn ignore::ParallelVisitor + 's> {
        Box::new(Part { walk: self.walk, parts: self.parts, discovery: Discovery::default() })
    }
}

/// One walking thread's lists, handed over when the thread is done.
struct Part<'a, 's> {
    walk: &'a Walk<'a>,
    parts: &'s Mutex<Vec<Discovery>>,
    discovery: Discovery,
}

impl ignore::ParallelVisitor for Part<'_, '_> {
    fn visit(&mut self, entry: Result<ignore::DirEntry, ignore::Error>) -> ignore::WalkState {
        self.walk.visit(entry, &mut self.discovery);
        ignore::WalkState::Continue
    }
}

impl Drop for Part<'_, '_> {
    fn drop(&mut self) {
        let part = std::mem::take(&mut self.discovery);
        self.parts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(part);
    }
}

impl Discovery {
    /// Takes in the lists of another part of the walk.
    fn absorb(&mut self, mut part: Discovery) {
        self.walked.append(&mut part.walked);
        self.helm_templates.append(&mut part.helm_templates);
        self.escaping_links.append(&mut part.escaping_links);
        self.escaping_dirs.append(&mut part.escaping_dirs);
        self.special_files.append(&mut part.special_files);
        self.walk_errors.append(&mut part.walk_errors);
        self.kustomizations.append(&mut part.kustomizations);
        self.seen_elsewhere.append(&mut part.seen_elsewhere);
        self.excluded.append(&mut part.excluded);
    }
}

/// The ignore file of `dir` that is there but cannot be read safely, with
/// what it is: not a regular file, or a link that leaves the repository or
/// leads to anything but a regular file.
fn unreadable_ignore_file(canonical_root: &Path, dir: &Path) -> Option<(&'static str, &'static str)> {
    [".gitignore", ".git/info/exclude"].into_iter().find_map(|name| {
        let path = dir.join(name);
        let metadata = std::fs::symlink_metadata(&path).ok()?;
        if metadata.is_file() {
            return None;
        }
        if metadata.file_type().is_symlink() {
            let inside = path.canonicalize().is_ok_and(|target| target.starts_with(canonical_root));
            if inside && std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                return None;
            }
            return Some((name, "a symbolic link that leaves the repository or leads to no regular file"));
        }
        Some((name, crate::fsio::kind_of(metadata.file_type())))
    })
}

/// Files that git tracks although a `.gitignore` matches them (`git add -f`,
/// or an ignore rule added later): git still commits their changes, so they
/// are manifests like any other. Read from the repository's index; untracked
/// ignored files stay out.
fn add_tracked_but_ignored(
    root: &Path,
    canonical_root: &Path,
    filter: &PathFilter,
    refused: &[String],
    discovery: &mut Discovery,
) {
    let Ok(repository) = git2::Repository::discover(root) else { return };
    let Some(workdir) = repository.workdir().and_then(|w| w.canonicalize().ok()) else { return };
    let Ok(index) = repository.index() else { return };
    // The walk's lists are in path order (`sort_in_path_order`).
    let n_walked = (discovery.walked.len(), discovery.kustomizations.len(), discovery.helm_templates.len());
    let known = |discovery: &Discovery, path: &str| {
        discovery.walked[..n_walked.0].binary_search_by(|p| p.as_str().cmp(path)).is_ok()
            || discovery.kustomizations[..n_walked.1].binary_search_by(|p| p.as_str().cmp(path)).is_ok()
            || discovery.helm_templates[..n_walked.2].binary_search_by(|p| p.as_str().cmp(path)).is_ok()
    };
    for entry in index.iter() {
        // Regular files only (100644, 100755): links and submodules are not manifests.
        if entry.mode & 0o170000 != 0o100000 {
            continue;
        }
        let Ok(path) = std::str::from_utf8(&entry.path) else { continue };
        let abs_path = workdir.join(path);
        let Ok(rel) = abs_path.strip_prefix(canonical_root) else { continue };
        let Some(rel_path) = rel.to_str().map(str::to_string) else { continue };
        let name = rel_path.rsplit('/').next().unwrap_or(&rel_path);
        let kustomization = KUSTOMIZATION_NAMES.contains(&name);
        if known(discovery, &rel_path)
            || !(is_yaml_name(name) || kustomization)
            || rel_path.split('/').any(|part| part == ".git")
            || refused.iter().any(|dir| rel_path.starts_with(&format!("{dir}/")))
            || !std::fs::symlink_metadata(&abs_path).is_ok_and(|m| m.is_file())
        {
            continue;
        }
        if filter.is_excluded(&rel_path) {
            continue;
        }
        if kustomization {
            discovery.kustomizations.push(rel_path);
            continue;
        }
        let abs_path = root.join(rel);
        let allowed = filter.allows(&rel_path);
        if allowed && !is_helm_template(root, &abs_path) {
            discovery.walked.push(rel_path);
            continue;
        }
        discovery.seen_elsewhere.push(rel_path.clone());
        if allowed {
            discovery.helm_templates.push(rel_path);
        }
    }
    sort_in_path_order(discovery);
}

/// Sorts the lists of files in path order, as reports list files (the
/// walk's order puts `a/b` before `a-c`): a run finds a file among them by
/// binary search.
fn sort_in_path_order(discovery: &mut Discovery) {
    discovery.walked.sort_unstable();
    discovery.kustomizations.sort_unstable();
    discovery.helm_templates.sort_unstable();
    discovery.escaping_links.sort_unstable();
    discovery.escaping_dirs.sort_unstable();
    discovery.special_files.sort_unstable();
    discovery.walk_errors.sort_unstable();
    discovery.seen_elsewhere.sort_unstable();
    discovery.excluded.sort_unstable();
}

/// The path an `ignore` error is about, if it names one, and the error without it.
fn error_path(err: &ignore::Error) -> (Option<&Path>, String) {
    match err {
        ignore::Error::WithPath { path, err } => (Some(path.as_path()), error_path(err).1),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_path(err),
        ignore::Error::Loop { child, .. } => (Some(child.as_path()), "a directory loop; not walked again".to_string()),
        other => (None, other.to_string()),
    }
}

/// The OS error code of `io`, or of the error it wraps (the walker's).
fn os_error(io: &std::io::Error) -> Option<i32> {
    io.raw_os_error().or_else(|| {
        let inner = io.get_ref()?;
        let source = std::error::Error::source(inner)?;
        source.downcast_ref::<std::io::Error>()?.raw_os_error()
    })
}

fn not_walked(kind: &str, rel_dir: &str) -> String {
    format!("not a regular file ({kind}); the directory `{rel_dir}` is not walked")
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    // The walk's paths are the root joined with names: most are already
    // what the components would give, and are taken as they are.
    if let Some(text) = rel.to_str() {
        if !text.is_empty() && text.split('/').all(|part| !part.is_empty() && part != "." && part != "..") {
            return text.to_string();
        }
    }
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Where a link leads when that is outside the repository (or nowhere that exists).
fn escaping_target(canonical_root: &Path, link: &Path) -> Option<PathBuf> {
    let target = std::fs::read_link(link).ok()?;
    match link.canonicalize() {
        Ok(resolved) if resolved.starts_with(canonical_root) => None,
        Ok(resolved) => Some(resolved),
        // A dangling link: report it only when it points out of the repository.
        Err(_) => {
            let joined = link.parent().map_or(target.clone(), |dir| dir.join(&target));
            let normalized = normalize(&joined);
            (!normalized.starts_with(canonical_root)).then_some(target)
        }
    }
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// A file below a chart's `templates/` directory (a `Chart.yaml` beside it).
fn is_helm_template(root: &Path, path: &Path) -> bool {
    // Only a path through a `templates` directory can be one: no file system look-ups otherwise.
    if !path.strip_prefix(root).unwrap_or(path).components().any(|c| c.as_os_str() == "templates") {
        return false;
    }
    let mut dir = path.parent();
    while let Some(current) = dir {
        if current.file_name().is_some_and(|n| n == "templates") {
            if let Some(chart) = current.parent() {
                if chart.join("Chart.yaml").is_file() || chart.join("Chart.yml").is_file() {
                    return true;
                }
            }
        }
        if current == root {
            break;
        }
        dir = current.parent();
    }
    false
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{relative, PathList};

    #[test]
    fn a_path_list_gives_back_its_paths_and_finds_them() {
        let paths: Vec<String> = ["a", "a-c/x.yaml", "a/b.yaml", "b/é.yaml", "zz"].map(str::to_string).to_vec();
        let list = PathList::of_sorted(&paths);
        assert_eq!(list.len(), paths.len());
        assert_eq!(list.iter().map(|c| c.rel_path).collect::<Vec<_>>(), paths);
        for path in &paths {
            assert!(list.contains(path), "{path}");
        }
        for absent in ["", "a/", "a-c", "b/e.yaml", "zzz", "0"] {
            assert!(!list.contains(absent), "{absent}");
        }
        assert!(PathList::of_sorted(&[]).is_empty() && !PathList::of_sorted(&[]).contains("a"));
    }

    /// What `relative` gives, by way of the components only.
    fn by_components(root: &Path, path: &Path) -> String {
        let rel = path.strip_prefix(root).unwrap_or(path);
        rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
    }

    #[test]
    fn relative_paths_are_the_components_joined_by_slashes() {
        let root = Path::new("/repo/");
        for (path, expected) in [
            ("/repo/a/b.yaml", "a/b.yaml"),
            ("/repo/a.yaml", "a.yaml"),
            ("/repo//a//b.yaml", "a/b.yaml"),
            ("/repo/a/./b.yaml", "a/b.yaml"),
            ("/repo/a/../b.yaml", "a/../b.yaml"),
            ("/repo", ""),
        ] {
            assert_eq!(relative(root, Path::new(path)), expected, "{path}");
            assert_eq!(by_components(root, Path::new(path)), expected, "{path}");
        }
        let outside = Path::new("/elsewhere/x.yaml");
        assert_eq!(relative(root, outside), by_components(root, outside));
    }
}
