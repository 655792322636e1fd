//! `pullsmith init`: a first `.pullsmith.yaml` for the repository in front
//! of it. It walks the repository as a run does (`discover`), reads the
//! kustomize graph (`kustomize`), finds the manifests that hold containers
//! (`manifest`), and infers environments from directory names and kustomize
//! overlays: their path globs (relative to the repository root, no file
//! matched by two environments), namespaces, and pull policies. The rules
//! are composed as text, with comments saying where each came from, and
//! checked with `rules` against every file seen before they are returned.
//!
//! This module reads and never writes: the edge (`lib.rs`) creates the file.
//! It is a layer of its own above the pipeline's inputs; nothing but the
//! edge imports it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use rayon::prelude::*;

use crate::discover::{self, PathFilter};
use crate::kustomize::{Graph, Target};
use crate::manifest;
use crate::rules::{Policy, Rules, RulesOrigin};

/// Why `init` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The rules file's name is taken, by a file, a link or anything else.
    #[error("{path}: already exists ({what}); nothing written (`pullsmith init --stdout` prints the inferred rules without writing)")]
    Exists { path: String, what: &'static str },
    /// No environment could be inferred: a file would only stop the
    /// embedded default from picking up environment directories added later.
    #[error("{root}: found no environment (no directory named like one, such as `dev`, `staging` or `prod`, and no kustomize overlay holds a manifest with containers); nothing written (`pullsmith init --stdout` prints a template to start from)")]
    NothingInferred { root: String },
    /// The inferred rules failed their own check (a path longer than a
    /// glob may be, or a bug): never written.
    #[error("the inferred rules {problem}; nothing written")]
    Inconsistent { problem: String },
}

/// What `init` found in a repository, ready to be written as rules.
#[derive(Debug, Clone)]
pub struct Inference {
    /// In lifecycle order (dev, test, qa, staging, uat, preprod, prod, live), then by name.
    pub environments: Vec<InferredEnvironment>,
    /// YAML files seen (manifests and kustomizations).
    pub n_files: usize,
    /// Manifests that hold at least one container.
    pub n_workload_files: usize,
    /// Manifests with containers that no inferred environment covers, sorted.
    pub uncovered: Vec<String>,
}

/// One environment as inferred.
#[derive(Debug, Clone)]
pub struct InferredEnvironment {
    pub name: String,
    pub policy: Policy,
    /// Globs on repository-relative paths, sorted.
    pub paths: Vec<String>,
    /// Exact namespaces of documents in files that no path covers, sorted.
    pub namespaces: Vec<String>,
    /// Where it came from, one phrase each ("directory `dev/`").
    pub sources: Vec<String>,
    /// Manifests with containers that its paths or overlays reach.
    pub n_workload_files: usize,
}

/// Directory names (or parts of them, between `-`, `_` and `.`, digits at
/// the end ignored) that name an environment, and the environment they
/// mean. Names of one environment are grouped under one name.
const ENVIRONMENT_WORDS: &[(&str, &str)] = &[
    ("dev", "dev"),
    ("development", "dev"),
    ("test", "test"),
    ("qa", "qa"),
    ("stage", "staging"),
    ("staging", "staging"),
    ("preprod", "preprod"),
    ("uat", "uat"),
    ("prod", "prod"),
    ("production", "prod"),
    ("live", "live"),
];

/// The order environments are written in: the order a release goes through them.
const LIFECYCLE: &[&str] = &["dev", "test", "qa", "staging", "uat", "preprod", "prod", "live"];

/// Directories whose subdirectories holding kustomizations are overlays, one per environment.
const OVERLAY_PARENTS: &[&str] = &["overlays", "envs", "environments", "clusters"];

/// Names of what overlays build on, never an environment themselves.
const BASE_NAMES: &[&str] = &["base", "bases", "common", "components", "shared"];

/// At most this many uncovered files are named; the rest are counted.
const UNCOVERED_SHOWN: usize = 10;

/// The environment a directory name means, if it is or contains an
/// environment word: `prod`, `prod-eu`, `us-dev`, `qa2`, `pre-prod`.
pub fn environment_word(name: &str) -> Option<&'static str> {
    let tokens = word_tokens(name);
    (0..tokens.len()).find_map(|index| word_at(&tokens, index))
}

/// The environment a namespace means when it is, or starts with, an
/// environment word (`dev`, `dev-tools`, `prod-eu`); `shop-dev` means none.
fn namespace_environment(namespace: &str) -> Option<&'static str> {
    word_at(&word_tokens(namespace), 0)
}

fn word_tokens(name: &str) -> Vec<String> {
    name.to_ascii_lowercase()
        .split(['-', '_', '.'])
        .map(|token| token.trim_end_matches(|c: char| c.is_ascii_digit()).to_string())
        .collect()
}

fn word_at(tokens: &[String], index: usize) -> Option<&'static str> {
    let token = tokens.get(index)?;
    let next = tokens.get(index + 1).map(String::as_str);
    if token == "pre" && matches!(next, Some("prod" | "production")) {
        return Some("preprod");
    }
    ENVIRONMENT_WORDS.iter().find(|(word, _)| word == token).map(|(_, env)| *env)
}

/// The directory `init` writes `.pullsmith.yaml` in: the work tree of the
/// git repository that holds `path`, else `path` itself (as the rules
/// lookup goes from PATH up to that root).
pub fn repository_root(path: &Path) -> PathBuf {
    let workdir = git2::Repository::discover(path).ok().and_then(|repo| repo.workdir().map(Path::to_path_buf));
    match workdir {
        // The same directory as given: keep the user's spelling for messages.
        Some(workdir) if same_dir(&workdir, path) => path.to_path_buf(),
        Some(workdir) => workdir.components().collect(),
        None => path.to_path_buf(),
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// Why a directory is an environment's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    /// Its name is (or contains) an environment word.
    Word,
    /// It is `overlays/<name>` (or `envs/`, `environments/`, `clusters/`) and holds a kustomization.
    OverlayDir,
    /// A kustomization that no other includes, built on one outside it.
    TopKustomization,
}

/// A directory whose files belong to one environment: the outermost such
/// directory on a file's path decides.
#[derive(Debug, Clone)]
struct Anchor {
    env: String,
    why: Why,
}

/// What the kustomize graph says about directories.
struct KustomizeFacts {
    /// Every directory that holds a kustomization, or a directory below it that does.
    holding: BTreeSet<String>,
    /// Kustomizations no other includes that include one outside their own directory.
    top_overlays: BTreeSet<String>,
}

impl KustomizeFacts {
    fn of(graph: &Graph) -> KustomizeFacts {
        let mut holding = BTreeSet::new();
        for dir in graph.kustomizations.keys() {
            let mut current = dir.as_str();
            loop {
                if !holding.insert(current.to_string()) {
                    break;
                }
                match current.rfind('/') {
                    Some(slash) => current = &current[..slash],
                    None => break,
                }
            }
        }
        let included: BTreeSet<&str> = graph
            .kustomizations
            .values()
            .flat_map(|k| k.targets.iter())
            .filter_map(|target| match target {
                Target::Kustomization(dir) => Some(dir.as_str()),
                Target::File(_) => None,
            })
            .collect();
        let top_overlays = graph
            .kustomizations
            .values()
            .filter(|k| !k.dir.is_empty() && !included.contains(k.dir.as_str()))
            .filter(|k| {
                k.targets.iter().any(|target| match target {
                    Target::Kustomization(child) => !is_below(child, &k.dir),
                    Target::File(_) => false,
                })
            })
            .map(|k| k.dir.clone())
            .collect();
        KustomizeFacts { holding, top_overlays }
    }
}

/// Whether `path` is `dir` or below it (`dir` is "" for the root).
fn is_below(path: &str, dir: &str) -> bool {
    dir.is_empty() || path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

/// The outermost directory on `path` that belongs to an environment, and its anchor.
fn anchor_of(path: &str, facts: &KustomizeFacts) -> Option<(String, Anchor)> {
    let segments: Vec<&str> = path.split('/').collect();
    let n_dirs = segments.len().saturating_sub(1);
    for index in 0..n_dirs {
        let name = segments[index];
        let dir = segments[..=index].join("/");
        let anchor = if let Some(env) = environment_word(name) {
            Some(Anchor { env: env.to_string(), why: Why::Word })
        } else if index > 0 && OVERLAY_PARENTS.contains(&segments[index - 1]) && facts.holding.contains(&dir) {
            Some(Anchor { env: name.to_string(), why: Why::OverlayDir })
        } else if facts.top_overlays.contains(&dir) && !BASE_NAMES.contains(&name.to_ascii_lowercase().as_str()) {
            Some(Anchor { env: name.to_string(), why: Why::TopKustomization })
        } else {
            None
        };
        if let Some(anchor) = anchor {
            return Some((dir, anchor));
        }
    }
    None
}

/// The namespaces of the objects with containers in a manifest file, or
/// `None` when it holds no container (or cannot be read or parsed: a run
/// reports those).
fn workload_namespaces(abs_path: &Path, max_file_size: u64) -> Option<Vec<Option<String>>> {
    let text = crate::fsio::read_unlinked_text(abs_path, max_file_size).ok()?;
    let documents = crate::yaml::parse(&text).ok()?;
    let mut namespaces = Vec::new();
    for object in manifest::objects(&documents) {
        let Some(shape) = manifest::workload_shape(&object, &[]) else { continue };
        let has_image = manifest::pod_specs(&object, &shape).pod_specs.iter().any(|pod_spec| {
            manifest::shape_containers(pod_spec.node, &shape)
                .is_ok_and(|containers| containers.iter().any(|container| container.image().is_some()))
        });
        if has_image {
            namespaces.push(object.namespace().map(str::to_string));
        }
    }
    (!namespaces.is_empty()).then_some(namespaces)
}

/// Looks at the repository at `root` and infers its environments. Files
/// larger than `max_file_size` are not read.
pub fn infer(root: &Path, max_file_size: u64) -> Result<Inference, InitError> {
    let discovery = discover::discover(root, &PathFilter::default());
    let no_rules = Rules::parse("version: 1\n", RulesOrigin::Embedded).expect("an empty rules file is valid");
    let graph = Graph::load(root, &discovery.kustomizations, &no_rules, None, &|_| false);
    let facts = KustomizeFacts::of(&graph);

    let all_paths: BTreeSet<String> = discovery
        .files
        .iter()
        .map(|c| c.rel_path.to_string())
        .chain(discovery.kustomizations.iter().cloned())
        .collect();
    // Reading and parsing is most of the work: in parallel, as a run does.
    let workloads: BTreeMap<String, Vec<Option<String>>> = discovery
        .files
        .par_iter()
        .filter_map(|candidate| {
            workload_namespaces(&candidate.abs_path(root), max_file_size).map(|ns| (candidate.rel_path.to_string(), ns))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect();

    // Every file's anchor: the outermost environment directory on its path.
    let mut anchors: BTreeMap<String, Anchor> = BTreeMap::new();
    let mut env_of_path: BTreeMap<&str, String> = BTreeMap::new();
    for path in &all_paths {
        if let Some((dir, anchor)) = anchor_of(path, &facts) {
            env_of_path.insert(path, anchor.env.clone());
            anchors.entry(dir).or_insert(anchor);
        }
    }

    // An anchor counts when it holds a manifest with containers, or a
    // kustomization that pulls one in.
    let mut reached_by_anchor: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for dir in anchors.keys() {
        let prefix = format!("{dir}/");
        let mut reached: BTreeSet<String> = workloads
            .range(prefix.clone()..)
            .map(|(path, _)| path)
            .take_while(|path| path.starts_with(&prefix))
            .cloned()
            .collect();
        // `dir` itself, then what sorts below `dir/` (`dir-x` sorts between the two).
        let at_dir = graph.kustomizations.get(dir).into_iter();
        let below = graph.kustomizations.range(prefix.clone()..).take_while(|(k_dir, _)| k_dir.starts_with(&prefix));
        for kustomization in at_dir.chain(below.map(|(_, k)| k)) {
            reached.extend(
                graph.reach(&kustomization.dir).into_iter().map(|r| r.file).filter(|f| workloads.contains_key(f)),
            );
        }
        if !reached.is_empty() {
            reached_by_anchor.insert(dir, reached);
        }
    }

    let mut environments: BTreeMap<String, InferredEnvironment> = BTreeMap::new();
    let mut reached_by_env: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut dirs_by_env: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (dir, reached) in &reached_by_anchor {
        let anchor = &anchors[*dir];
        let environment = environments.entry(anchor.env.clone()).or_insert_with(|| new_environment(&anchor.env));
        let count = plural(reached.len(), "file", "files");
        let what = match anchor.why {
            Why::Word if !graph.kustomizations.contains_key(*dir) => "directory",
            Why::Word | Why::OverlayDir => "kustomize overlay",
            Why::TopKustomization => "kustomize overlay (no other kustomization includes it)",
        };
        environment.sources.push(format!("{what} `{}/`: {count} with containers", shown(dir)));
        reached_by_env.entry(anchor.env.clone()).or_default().extend(reached.iter().cloned());
        dirs_by_env.entry(anchor.env.clone()).or_default().push(dir);
    }
    for (env, dirs) in &dirs_by_env {
        let globs = path_globs(env, dirs, &all_paths, &env_of_path);
        if let Some(environment) = environments.get_mut(env) {
            environment.paths = globs;
        }
    }

    // Namespaces, for manifests that no path covers and no kustomization
    // pulls in (their environment comes from the overlays that do).
    let covered_by_paths = compile_set(environments.values().flat_map(|e| e.paths.iter()));
    let pulled_in = graph.pulled_in_files();
    let mut uncovered = Vec::new();
    for (path, namespaces) in &workloads {
        if covered_by_paths.as_ref().is_some_and(|set| set.is_match(path)) {
            continue;
        }
        if reached_by_env.values().any(|reached| reached.contains(path)) {
            continue;
        }
        let mut covered = false;
        if !pulled_in.contains(path) {
            for namespace in namespaces.iter().flatten() {
                if let Some(env) = namespace_environment(namespace) {
                    let environment = environments.entry(env.to_string()).or_insert_with(|| new_environment(env));
                    // Exact names: a `*` in one (not a valid namespace, but written) is no glob.
                    let glob = escape_glob(namespace);
                    if !environment.namespaces.contains(&glob) {
                        environment.namespaces.push(glob);
                    }
                    reached_by_env.entry(env.to_string()).or_default().insert(path.clone());
                    covered = true;
                }
            }
        }
        if !covered {
            uncovered.push(path.clone());
        }
    }
    for (env, environment) in environments.iter_mut() {
        environment.namespaces.sort();
        if !environment.namespaces.is_empty() {
            let list: Vec<String> = environment.namespaces.iter().map(|ns| format!("`{}`", shown(ns))).collect();
            let what = if list.len() == 1 { "namespace" } else { "namespaces" };
            environment.sources.push(format!("{what} {}", list.join(", ")));
        }
        environment.n_workload_files = reached_by_env.get(env).map_or(0, BTreeSet::len);
    }

    let mut environments: Vec<InferredEnvironment> = environments.into_values().collect();
    environments.sort_by_key(|e| {
        (LIFECYCLE.iter().position(|name| *name == e.name).unwrap_or(LIFECYCLE.len()), e.name.clone())
    });
    let inference = Inference { environments, n_files: all_paths.len(), n_workload_files: workloads.len(), uncovered };
    inference.check(&all_paths, &env_of_path)?;
    Ok(inference)
}

fn new_environment(name: &str) -> InferredEnvironment {
    InferredEnvironment {
        name: name.to_string(),
        policy: if name == "dev" { Policy::Always } else { Policy::IfNotPresent },
        paths: Vec::new(),
        namespaces: Vec::new(),
        sources: Vec::new(),
        n_workload_files: 0,
    }
}

/// The narrowest globs for an environment's directories that match no file
/// of another environment: one directory is `dir/**`; several of one name
/// at one depth become one glob with `*` where they differ
/// (`apps/*/dev/**`), at several depths `**/name/**`; when such a glob
/// would reach a file of another environment, the directories are listed.
fn path_globs(
    env: &str,
    dirs: &[&str],
    all_paths: &BTreeSet<String>,
    env_of_path: &BTreeMap<&str, String>,
) -> Vec<String> {
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for dir in dirs {
        let name = dir.rsplit('/').next().unwrap_or(dir);
        by_name.entry(name).or_default().push(dir);
    }
    let exact = |glob: &str| {
        let Some(set) = compile_set(std::iter::once(glob)) else { return false };
        all_paths
            .iter()
            .filter(|path| set.is_match(path))
            .all(|path| env_of_path.get(path.as_str()).is_some_and(|e| e == env))
    };
    let mut globs = BTreeSet::new();
    for (name, group) in by_name {
        if group.len() == 1 {
            globs.insert(format!("{}/**", escape_glob_path(group[0])));
            continue;
        }
        let mut by_depth: BTreeMap<usize, Vec<Vec<&str>>> = BTreeMap::new();
        for dir in &group {
            let segments: Vec<&str> = dir.split('/').collect();
            by_depth.entry(segments.len()).or_default().push(segments);
        }
        if by_depth.len() > 1 {
            let anywhere = format!("**/{}/**", escape_glob(name));
            if exact(&anywhere) {
                globs.insert(anywhere);
                continue;
            }
        }
        for split in by_depth.values() {
            let listed = split.iter().map(|segments| format!("{}/**", escape_glob_path(&segments.join("/"))));
            if split.len() == 1 {
                globs.extend(listed);
                continue;
            }
            let parts: Vec<String> = (0..split[0].len())
                .map(|i| {
                    if split.iter().all(|segments| segments[i] == split[0][i]) {
                        escape_glob(split[0][i])
                    } else {
                        "*".to_string()
                    }
                })
                .collect();
            let one_level = format!("{}/**", parts.join("/"));
            if exact(&one_level) {
                globs.insert(one_level);
            } else {
                globs.extend(listed);
            }
        }
    }
    globs.into_iter().collect()
}

/// Path globs compiled as the rules compile them; `None` for none (or one that does not compile).
fn compile_set<S: AsRef<str>>(globs: impl IntoIterator<Item = S>) -> Option<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    let mut any = false;
    for glob in globs {
        let compiled = GlobBuilder::new(glob.as_ref()).literal_separator(true).backslash_escape(true).build().ok()?;
        builder.add(compiled);
        any = true;
    }
    if !any {
        return None;
    }
    builder.build().ok()
}

fn escape_glob(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for c in segment.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\' | '!') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn escape_glob_path(dir: &str) -> String {
    dir.split('/').map(escape_glob).collect::<Vec<_>>().join("/")
}

/// Text from a name that may be put in a comment or a message: control
/// characters and YAML's other line breaks escaped, so that it stays on its line.
fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A YAML double-quoted scalar holding `text`.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An environment name as a mapping key: plain when that cannot be read as
/// anything but the same string, quoted otherwise.
fn key(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !matches!(
            name.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        name.to_string()
    } else {
        quoted(name)
    }
}

fn flow_list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|item| quoted(item)).collect::<Vec<_>>().join(", "))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Inference {
    /// Whether no environment was found.
    pub fn is_empty(&self) -> bool {
        self.environments.is_empty()
    }

    /// The rules file, as text with comments.
    pub fn rules_text(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# pullsmith rules for this repository, written by `pullsmith init` from its\n\
             # directories. Edit them freely: `pullsmith rules validate` checks them and\n\
             # `pullsmith explain` shows which rule decides each container. Every key is\n\
             # described in pullsmith's docs/rules.md.\n\
             #\n\
             # Path globs are relative to the repository root, where this file is: `*`\n\
             # stays within one directory, `**` spans any number. A file that two\n\
             # environments match is an error, so the globs below never overlap.\n",
        );
        let _ = writeln!(
            out,
            "#\n# init saw {} ({} with containers).",
            plural(self.n_files, "YAML file", "YAML files"),
            self.n_workload_files
        );
        if !self.uncovered.is_empty() {
            out.push_str("# No environment covers these, so pullsmith leaves them alone (give them one\n");
            out.push_str("# with a path glob or a namespace below, or set `defaultEnvironment`):\n");
            for path in self.uncovered.iter().take(UNCOVERED_SHOWN) {
                let _ = writeln!(out, "#   {}", shown(path));
            }
            if self.uncovered.len() > UNCOVERED_SHOWN {
                let _ = writeln!(out, "#   … and {} more", self.uncovered.len() - UNCOVERED_SHOWN);
            }
        }
        out.push_str("version: 1\n");
        if self.environments.is_empty() {
            out.push_str(
                "# init found no environment: no directory named like one (dev, staging,\n\
                 # prod, …) and no kustomize overlay holds a manifest with containers.\n\
                 # An example to start from (remove `{}` and uncomment):\n\
                 environments: {}\n\
                 #   dev:\n\
                 #     paths: [\"dev/**\"]\n\
                 #     imagePullPolicy: Always\n\
                 #     # imagePullSecrets: [regcred]\n",
            );
        } else {
            out.push_str("environments:\n");
            for environment in &self.environments {
                let _ = writeln!(out, "  {}:", key(&environment.name));
                match environment.sources.as_slice() {
                    [only] => {
                        let _ = writeln!(out, "    # From the {only}.");
                    }
                    sources => {
                        out.push_str("    # From:\n");
                        for source in sources {
                            let _ = writeln!(out, "    #   the {source}");
                        }
                    }
                }
                if !environment.paths.is_empty() {
                    let _ = writeln!(out, "    paths: {}", flow_list(&environment.paths));
                }
                if !environment.namespaces.is_empty() {
                    out.push_str("    # Documents in these namespaces, in files that no path glob matches.\n");
                    let _ = writeln!(out, "    namespaces: {}", flow_list(&environment.namespaces));
                }
                match environment.policy {
                    Policy::Always => out.push_str("    # Development: pull each rollout's fresh build.\n"),
                    _ => out.push_str("    # Stable: pull only images the node lacks (bandwidth, registry outages).\n"),
                }
                let _ = writeln!(out, "    imagePullPolicy: {}", environment.policy);
                out.push_str(
                    "    # Names of kubernetes.io/dockerconfigjson Secrets (never credentials); none guessed:\n",
                );
                out.push_str("    # imagePullSecrets: [regcred]\n");
            }
        }
        out.push_str(
            "images:\n  \
             # A moving tag (`:latest`, or no tag at all) is pulled every time, in every\n  \
             # environment: with IfNotPresent nodes would run a stale build.\n  \
             - match: \"*:latest\"\n    \
             imagePullPolicy: Always\n",
        );
        out
    }

    /// What was inferred, for the terminal: one line per environment.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "pullsmith: init found {} in {} ({} with containers)",
            plural(self.environments.len(), "environment", "environments"),
            plural(self.n_files, "YAML file", "YAML files"),
            self.n_workload_files
        );
        let width = self.environments.iter().map(|e| shown(&e.name).chars().count()).max().unwrap_or(0).max(6);
        for environment in &self.environments {
            let mut matched = Vec::new();
            if !environment.paths.is_empty() {
                matched.push(format!(
                    "paths {}",
                    environment.paths.iter().map(|p| shown(p)).collect::<Vec<_>>().join(", ")
                ));
            }
            if !environment.namespaces.is_empty() {
                let namespaces: Vec<String> = environment.namespaces.iter().map(|n| shown(n)).collect();
                matched.push(format!("namespaces {}", namespaces.join(", ")));
            }
            let _ = writeln!(
                out,
                "  {:width$}  {:12}  {} ({})",
                shown(&environment.name),
                environment.policy.as_str(),
                matched.join("; "),
                plural(environment.n_workload_files, "file with containers", "files with containers"),
            );
        }
        let _ =
            writeln!(out, "  {:width$}  {:12}  *:latest and untagged images, in every environment", "images", "Always");
        if !self.uncovered.is_empty() {
            let mut shown_paths: Vec<String> = self.uncovered.iter().take(UNCOVERED_SHOWN).map(|p| shown(p)).collect();
            if self.uncovered.len() > UNCOVERED_SHOWN {
                shown_paths.push(format!("… and {} more", self.uncovered.len() - UNCOVERED_SHOWN));
            }
            let _ = writeln!(
                out,
                "  not covered, left alone: {}: {}",
                plural(self.uncovered.len(), "file with containers", "files with containers"),
                shown_paths.join(", ")
            );
        }
        out
    }

    /// The rules must parse, and every file seen must get at most one
    /// environment by path, the one inferred for it.
    fn check(&self, all_paths: &BTreeSet<String>, env_of_path: &BTreeMap<&str, String>) -> Result<(), InitError> {
        let text = self.rules_text();
        let rules = Rules::parse(&text, RulesOrigin::File(PathBuf::from("inferred rules")))
            .map_err(|err| InitError::Inconsistent { problem: format!("do not validate: {err}") })?;
        for path in all_paths {
            match rules.env_for_path(path) {
                Ok(None) => {}
                Ok(Some(choice)) => {
                    let got = &rules.environments[choice.env].name;
                    if env_of_path.get(path.as_str()) != Some(got) {
                        return Err(InitError::Inconsistent {
                            problem: format!("give `{}` the environment `{}`", shown(path), shown(got)),
                        });
                    }
                }
                Err(conflict) => {
                    return Err(InitError::Inconsistent {
                        problem: format!("match `{}` with {}", shown(path), conflict.names.join(" and ")),
                    })
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_words_in_directory_names() {
        for (name, env) in [
            ("dev", Some("dev")),
            ("Development", Some("dev")),
            ("us-dev", Some("dev")),
            ("dev1", Some("dev")),
            ("prod-eu", Some("prod")),
            ("production", Some("prod")),
            ("stage", Some("staging")),
            ("qa2", Some("qa")),
            ("pre-prod", Some("preprod")),
            ("preprod_eu", Some("preprod")),
            ("uat.west", Some("uat")),
            ("live", Some("live")),
            ("latest", None),
            ("devops", None),
            ("tests", None),
            ("base", None),
        ] {
            assert_eq!(environment_word(name), env, "{name}");
        }
    }

    #[test]
    fn namespaces_name_an_environment_only_by_their_start() {
        assert_eq!(namespace_environment("dev"), Some("dev"));
        assert_eq!(namespace_environment("dev-tools"), Some("dev"));
        assert_eq!(namespace_environment("prod-eu-1"), Some("prod"));
        assert_eq!(namespace_environment("shop-dev"), None);
    }

    #[test]
    fn keys_and_scalars_that_yaml_would_read_otherwise_are_quoted() {
        assert_eq!(key("prod-eu"), "prod-eu");
        assert_eq!(key("true"), "\"true\"");
        assert_eq!(key("1a"), "\"1a\"");
        assert_eq!(quoted("a\"b\\c\n\u{2028}"), "\"a\\\"b\\\\c\\u000a\\u2028\"");
        assert_eq!(escape_glob_path("we*ird/[x]"), "we\\*ird/\\[x\\]");
    }
}
