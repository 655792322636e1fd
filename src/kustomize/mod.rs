//! Kustomize trees: which kustomizations exist, what each pulls in
//! (`resources`, legacy `bases`, `components`), which manifests are owned
//! by one environment and which are shared by several, and what the image
//! transformers (`images:`) do to a container's image on the way to an
//! overlay.
//!
//! The graph is read from kustomization files only; it never reads or edits
//! manifests. Generated patches and the edits to kustomizations live in
//! `patch`.

pub mod build;
pub mod edit;
pub mod patch;
pub mod value;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::Diagnostic;
use crate::rules::{EnvConflict, Rules};
use crate::yaml::{self, Document, LineIndex, Node};

use build::Render;
use value::Value;

pub use crate::discover::KUSTOMIZATION_NAMES;
pub use crate::rules::{transform_image, ImageOverride};

/// One entry of `resources`, `bases` or `components`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Another kustomization, by the repository-relative path of its directory.
    Kustomization(String),
    /// A manifest file, by its repository-relative path.
    File(String),
}

/// A kustomization file, read.
#[derive(Debug, Clone)]
pub struct Kustomization {
    /// Repository-relative directory ("" for the root).
    pub dir: String,
    /// Repository-relative path of the kustomization file.
    pub file: String,
    pub text: String,
    pub document: Option<Document>,
    /// The document as an owned value, for the simulation.
    pub value: Option<Value>,
    pub targets: Vec<Target>,
    /// Files named in `patches`, `patchesStrategicMerge` and `patchesJson6902` (repository-relative).
    pub patch_files: Vec<String>,
    /// Directories this kustomization includes as `components` (applied in
    /// order, each to what is accumulated so far).
    pub components: Vec<String>,
    /// Names of the Secrets its `secretGenerator` makes.
    pub generated_secrets: Vec<String>,
    /// Strategic-merge patch files that may bring containers of their own
    /// (the simulation in `build` applies them; these are for ownership).
    pub patch_refs: Vec<String>,
    pub images: Vec<ImageOverride>,
    pub environment: Option<usize>,
}

/// Every kustomization of the repository and what could not be read.
#[derive(Debug, Default)]
pub struct Graph {
    /// By directory.
    pub kustomizations: BTreeMap<String, Kustomization>,
    /// Why kustomizations do not build, in the order found.
    pub failures: Vec<Failure>,
    pub warnings: Vec<Diagnostic>,
    /// Directories whose kustomization (or something it pulls in) is broken: nothing is written for them.
    pub broken: BTreeSet<String>,
}

/// A kustomization that does not build, and why.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The kustomization's directory (`None` for a file that is no kustomization of its own).
    pub dir: Option<String>,
    pub diagnostic: Diagnostic,
    /// The cause is expected, not a mistake in the repository: a resource
    /// that git ignores (made at deploy time) or one the rules exclude.
    /// Never an error, whoever builds the kustomization.
    pub expected: bool,
}

/// How a manifest file is owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// Reached from overlays of one environment only: edited in place for it.
    Owned { environment: usize, overlay: String, images: Vec<ImageOverride> },
    /// Reached from overlays of several environments, or of another
    /// environment than the file's own: never edited.
    Shared { overlays: Vec<String> },
}

/// A manifest (or patch file) reached from an overlay, with the image
/// overrides between them (the file's nearest kustomization first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub file: String,
    pub images: Vec<ImageOverride>,
}

impl Graph {
    /// Reads every kustomization among `files` (repository-relative paths).
    ///
    /// `excluded` says which paths the run must not read or follow: a
    /// kustomization that names one does not build (an expected failure).
    pub fn load(
        root: &Path,
        kustomization_files: &[String],
        rules: &Rules,
        forced: Option<usize>,
        excluded: &dyn Fn(&str) -> bool,
    ) -> Graph {
        let mut graph = Graph::default();
        let git = git2::Repository::discover(root).ok().filter(|repo| {
            let root = root.canonicalize().ok();
            repo.workdir().and_then(|dir| dir.canonicalize().ok()) == root
        });
        let mut by_dir: BTreeMap<String, String> = BTreeMap::new();
        for file in kustomization_files {
            let dir = parent_of(file);
            // kustomize refuses a directory with two; the preferred name wins here and the other is reported.
            match by_dir.get(&dir) {
                Some(existing) => graph.failures.push(Failure {
                    dir: None,
                    diagnostic: Diagnostic {
                        path: file.clone(),
                        line: None,
                        column: None,
                        message: format!(
                            "a second kustomization file in `{dir}` (beside `{existing}`); kustomize refuses this"
                        ),
                        rule: "file-error",
                    },
                    expected: false,
                }),
                None => {
                    by_dir.insert(dir, file.clone());
                }
            }
        }
        for (dir, file) in &by_dir {
            let text = match crate::fsio::read_unlinked_text(&root.join(file), crate::fsio::GENERATED_MAX_SIZE) {
                Ok(text) => text,
                Err(err) => {
                    let err = std::io::Error::from(err);
                    graph.fail(dir, file, None, format!("cannot read kustomization: {err}"));
                    continue;
                }
            };
            let environment = match forced {
                Some(env) => Some(env),
                None => match rules.env_for_path(file) {
                    Ok(choice) => choice.map(|c| c.env),
                    Err(EnvConflict { names }) => {
                        graph.fail(
                            dir,
                            file,
                            None,
                            format!("path matches more than one environment: {}", names.join(" and ")),
                        );
                        continue;
                    }
                },
            };
            let mut kustomization = Kustomization {
                dir: dir.clone(),
                file: file.clone(),
                text,
                document: None,
                value: None,
                targets: Vec::new(),
                patch_files: Vec::new(),
                patch_refs: Vec::new(),
                generated_secrets: Vec::new(),
                components: Vec::new(),
                images: Vec::new(),
                environment,
            };
            match yaml::parse(&kustomization.text) {
                Ok(mut documents) if !documents.is_empty() => {
                    let document = documents.remove(0);
                    let lines = LineIndex::new(&kustomization.text);
                    kustomization.value = Some(Value::from_node(&document.root, &lines));
                    kustomization.document = Some(document);
                }
                Ok(_) => {}
                Err(err) => {
                    let text = kustomization.text.clone();
                    graph.fail(
                        dir,
                        file,
                        Some((&text, err.offset)),
                        format!("invalid YAML in kustomization: {}", err.message),
                    );
                    graph.kustomizations.insert(dir.clone(), kustomization);
                    continue;
                }
            }
            graph.kustomizations.insert(dir.clone(), kustomization);
        }
        let dirs: Vec<String> = graph.kustomizations.keys().cloned().collect();
        for dir in dirs {
            graph.resolve(root, &dir, &by_dir, git.as_ref(), excluded);
        }
        graph.find_cycles();
        graph.propagate_broken();
        graph
    }

    fn fail(&mut self, dir: &str, file: &str, at: Option<(&str, usize)>, message: String) {
        self.fail_as(dir, file, at, message, false);
    }

    fn fail_as(&mut self, dir: &str, file: &str, at: Option<(&str, usize)>, message: String, expected: bool) {
        let (line, column) = match at {
            Some((text, offset)) => {
                let (line, column) = LineIndex::new(text).line_col(text, offset);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        let diagnostic = Diagnostic { path: file.to_string(), line, column, message, rule: "file-error" };
        self.failures.push(Failure { dir: Some(dir.to_string()), diagnostic, expected });
        self.broken.insert(dir.to_string());
    }

    /// Resolves the entries of one kustomization.
    fn resolve(
        &mut self,
        root: &Path,
        dir: &str,
        by_dir: &BTreeMap<String, String>,
        git: Option<&git2::Repository>,
        excluded: &dyn Fn(&str) -> bool,
    ) {
        let Some(kustomization) = self.kustomizations.get(dir) else { return };
        let Some(document) = kustomization.document.clone() else { return };
        let file = kustomization.file.clone();
        let text = kustomization.text.clone();
        let root_node = &document.root;
        let mut targets = Vec::new();
        let mut components = Vec::new();
        let mut patch_files = Vec::new();
        for field in ["resources", "bases", "components"] {
            for entry in root_node.get(field).map(Node::items).unwrap_or_default() {
                let Some(reference) = entry.as_str() else { continue };
                if is_remote(reference) {
                    let line = LineIndex::new(&text).line_of(entry.span.start);
                    self.warnings.push(Diagnostic {
                        path: file.clone(),
                        line: Some(line),
                        column: None,
                        message: format!("remote resource `{reference}` is not followed"),
                        rule: "kustomize",
                    });
                    continue;
                }
                if reference.starts_with('/') {
                    let message = format!("`{reference}`: absolute paths are not portable; kustomize loads them from the machine running it");
                    self.fail(dir, &file, Some((&text, entry.span.start)), message);
                    continue;
                }
                let Some(path) = join(dir, reference) else {
                    self.fail(
                        dir,
                        &file,
                        Some((&text, entry.span.start)),
                        format!("`{reference}` leaves the repository"),
                    );
                    continue;
                };
                let kustomization_in = |dir: &str| {
                    KUSTOMIZATION_NAMES.iter().any(|name| excluded(format!("{dir}/{name}").trim_start_matches('/')))
                };
                if excluded(&path) || (root.join(&path).is_dir() && kustomization_in(&path)) {
                    let message = format!("{field} entry `{reference}` is excluded by the rules or `--exclude`; the kustomization is not built");
                    self.fail_as(dir, &file, Some((&text, entry.span.start)), message, true);
                    continue;
                }
                if by_dir.contains_key(&path) {
                    if field == "components" {
                        components.push(path.clone());
                    }
                    targets.push(Target::Kustomization(path));
                } else if root.join(&path).is_file() {
                    targets.push(Target::File(path));
                } else if !root.join(&path).exists()
                    && git.is_some_and(|git| git.is_path_ignored(&path).unwrap_or(false))
                {
                    // Made at deploy time (argocd-example-apps' `all.yaml`): the build is not ours to check.
                    let message = format!("{field} entry `{reference}` is missing and ignored by git (made at deploy time?); the kustomization is not built");
                    self.fail_as(dir, &file, Some((&text, entry.span.start)), message, true);
                } else {
                    let what =
                        if root.join(&path).is_dir() { "a directory without a kustomization" } else { "missing" };
                    self.fail(
                        dir,
                        &file,
                        Some((&text, entry.span.start)),
                        format!("{field} entry `{reference}` is {what}"),
                    );
                }
            }
        }
        let mut patch_refs = Vec::new();
        for field in ["patches", "patchesStrategicMerge", "patchesJson6902"] {
            for entry in root_node.get(field).map(Node::items).unwrap_or_default() {
                let reference = entry.as_str().or_else(|| entry.get("path").and_then(Node::as_str));
                if let Some(reference) = reference.filter(|r| r.starts_with('/')) {
                    let message = format!("`{reference}`: absolute paths are not portable; kustomize loads them from the machine running it");
                    self.fail(dir, &file, Some((&text, entry.span.start)), message);
                    continue;
                }
                let Some(path) = reference.and_then(|r| join(dir, r)) else { continue };
                if field != "patchesJson6902" && !patch::is_generated_path(&path) {
                    patch_refs.push(path.clone());
                }
                patch_files.push(path);
            }
        }
        let generated_secrets: Vec<String> = root_node
            .get("secretGenerator")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|generator| generator.get("name").and_then(Node::as_str).map(str::to_string))
            .collect();
        let images = root_node
            .get("images")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|entry| {
                let text_of = |key: &str| entry.get(key).and_then(Node::as_str).map(str::to_string);
                Some(ImageOverride {
                    name: text_of("name")?,
                    new_name: text_of("newName"),
                    new_tag: text_of("newTag"),
                    digest: text_of("digest"),
                })
            })
            .collect();
        if let Some(kustomization) = self.kustomizations.get_mut(dir) {
            kustomization.targets = targets;
            kustomization.patch_files = patch_files;
            kustomization.patch_refs = patch_refs;
            kustomization.generated_secrets = generated_secrets;
            kustomization.components = components;
            kustomization.images = images;
        }
    }

    /// A kustomization that reaches itself is an error at the entry that closes the loop.
    fn find_cycles(&mut self) {
        #[derive(Clone, Copy, PartialEq)]
        enum Color {
            White,
            Grey,
            Black,
        }
        let children = |dir: &str| -> Vec<String> {
            self.kustomizations[dir]
                .targets
                .iter()
                .filter_map(|t| match t {
                    Target::Kustomization(child) => Some(child.clone()),
                    Target::File(_) => None,
                })
                .collect()
        };
        let dirs: Vec<String> = self.kustomizations.keys().cloned().collect();
        let mut color: BTreeMap<String, Color> = dirs.iter().map(|d| (d.clone(), Color::White)).collect();
        let mut cycles: Vec<(String, String)> = Vec::new();
        for start in &dirs {
            if color[start] != Color::White {
                continue;
            }
            // Iterative DFS: each frame is a directory, its children and the next child to visit.
            let mut stack: Vec<(String, Vec<String>, usize)> = vec![(start.clone(), children(start), 0)];
            color.insert(start.clone(), Color::Grey);
            while let Some((dir, kids, next)) = stack.last_mut() {
                let Some(child) = kids.get(*next).cloned() else {
                    color.insert(dir.clone(), Color::Black);
                    stack.pop();
                    continue;
                };
                *next += 1;
                let parent = dir.clone();
                match color.get(&child).copied().unwrap_or(Color::Black) {
                    Color::White => {
                        color.insert(child.clone(), Color::Grey);
                        let grandchildren = children(&child);
                        stack.push((child, grandchildren, 0));
                    }
                    Color::Grey => cycles.push((parent, child)),
                    Color::Black => {}
                }
            }
        }
        for (dir, child) in cycles {
            let kustomization = &self.kustomizations[&dir];
            let (file, text) = (kustomization.file.clone(), kustomization.text.clone());
            let offset = entry_offset(kustomization, &child).unwrap_or(0);
            self.fail(
                &dir,
                &file,
                Some((&text, offset)),
                format!("kustomization cycle: `{dir}` includes `{child}`, which includes `{dir}` again"),
            );
            // Break the cycle so that later walks end.
            if let Some(k) = self.kustomizations.get_mut(&dir) {
                k.targets.retain(|t| t != &Target::Kustomization(child.clone()));
            }
        }
    }

    /// A kustomization that includes a broken one is broken too: nothing is written for it.
    fn propagate_broken(&mut self) {
        loop {
            let newly: Vec<String> = self
                .kustomizations
                .values()
                .filter(|k| !self.broken.contains(&k.dir))
                .filter(|k| k.targets.iter().any(|t| matches!(t, Target::Kustomization(c) if self.broken.contains(c))))
                .map(|k| k.dir.clone())
                .collect();
            if newly.is_empty() {
                break;
            }
            self.broken.extend(newly);
        }
    }

    /// `dir` and every kustomization it includes, transitively.
    fn with_descendants(&self, dir: &str) -> BTreeSet<String> {
        let mut out = self.descendants(dir);
        out.insert(dir.to_string());
        out
    }

    /// Kustomizations some environment's overlay builds: those with an
    /// environment and everything they include. A broken one of these is
    /// an error; any other broken one is only a warning, since no
    /// environment's render depends on it.
    /// The environments whose overlays build the kustomization in `dir`,
    /// each with one such overlay's directory.
    pub fn environments_building(&self, dir: &str) -> BTreeMap<usize, String> {
        let mut out = BTreeMap::new();
        for overlay in self.kustomizations.values() {
            if let Some(env) = overlay.environment {
                if self.with_descendants(&overlay.dir).contains(dir) {
                    out.entry(env).or_insert_with(|| overlay.dir.clone());
                }
            }
        }
        out
    }

    /// `dir` and every kustomization it includes, transitively.
    pub fn includes(&self, dir: &str) -> BTreeSet<String> {
        self.with_descendants(dir)
    }

    pub fn built_by_environments(&self) -> BTreeSet<String> {
        self.kustomizations
            .values()
            .filter(|k| k.environment.is_some())
            .flat_map(|k| self.with_descendants(&k.dir))
            .collect()
    }

    /// Keeps the kustomizations that matter to a run whose files are those
    /// `in_scope` accepts: the ones in scope, the ones that pull in a file
    /// or kustomization in scope (they decide whether it is shared), and
    /// everything those include (their renders need it). The others, and
    /// what was found wrong in them, are dropped: a broken kustomization
    /// elsewhere in the repository is not this run's business.
    pub fn retain_relevant(&mut self, in_scope: &dyn Fn(&str) -> bool) {
        let all: Vec<String> = self.kustomizations.keys().cloned().collect();
        let mut relevant: BTreeSet<String> = BTreeSet::new();
        for dir in &all {
            let descendants = self.with_descendants(dir);
            let touches_scope = descendants.iter().any(|d| in_scope(&self.kustomizations[d].file))
                || self.reach(dir).iter().any(|reach| in_scope(&reach.file));
            if touches_scope {
                relevant.extend(descendants);
            }
        }
        self.kustomizations.retain(|dir, _| relevant.contains(dir));
        self.broken.retain(|dir| relevant.contains(dir));
        self.failures.retain(|failure| match &failure.dir {
            Some(dir) => relevant.contains(dir),
            None => in_scope(&failure.diagnostic.path),
        });
        let files: BTreeSet<&str> = self.kustomizations.values().map(|k| k.file.as_str()).collect();
        self.warnings.retain(|warning| files.contains(warning.path.as_str()));
    }

    /// Overlays: kustomizations that belong to an environment and are not broken.
    pub fn overlays(&self) -> impl Iterator<Item = &Kustomization> {
        self.kustomizations.values().filter(|k| k.environment.is_some() && !self.broken.contains(&k.dir))
    }

    /// Every manifest and strategic-merge patch file `dir` pulls in, with the
    /// image overrides on the way.
    pub fn reach(&self, dir: &str) -> Vec<Reach> {
        let mut out = Vec::new();
        self.walk(dir, &mut Vec::new(), &mut BTreeSet::new(), &mut out);
        out
    }

    fn walk(
        &self,
        dir: &str,
        images_above: &mut Vec<Vec<ImageOverride>>,
        seen: &mut BTreeSet<(String, usize)>,
        out: &mut Vec<Reach>,
    ) {
        let Some(kustomization) = self.kustomizations.get(dir) else { return };
        if !seen.insert((dir.to_string(), images_above.len())) {
            return;
        }
        images_above.push(kustomization.images.clone());
        // The nearest kustomization's overrides apply first.
        let images = |above: &Vec<Vec<ImageOverride>>| above.iter().rev().flatten().cloned().collect();
        for target in &kustomization.targets {
            match target {
                Target::File(file) => out.push(Reach { file: file.clone(), images: images(images_above) }),
                Target::Kustomization(child) => self.walk(child, images_above, seen, out),
            }
        }
        for file in &kustomization.patch_refs {
            out.push(Reach { file: file.clone(), images: images(images_above) });
        }
        images_above.pop();
    }

    /// Kustomizations that carry generated patches: overlays (of an
    /// environment, not broken) that no other kustomization of the same
    /// environment pulls in, directly or through others. An overlay that
    /// another environment's overlay builds on still carries its own; the
    /// list puts every carrier after the carriers it builds on, so that
    /// their patches are known when its own are computed.
    pub fn carriers(&self) -> Vec<String> {
        let descendants: BTreeMap<&str, BTreeSet<String>> =
            self.kustomizations.keys().map(|dir| (dir.as_str(), self.descendants(dir))).collect();
        // Whatever a kustomization of the same environment pulls in is not a top overlay.
        let mut included: BTreeSet<&str> = BTreeSet::new();
        for (dir, below) in &descendants {
            let environment = self.kustomizations[*dir].environment;
            for child in below {
                if environment.is_some() && self.kustomizations.get(child).is_some_and(|k| k.environment == environment)
                {
                    included.insert(child.as_str());
                }
            }
        }
        let is_carrier = |k: &Kustomization| {
            k.environment.is_some() && !self.broken.contains(&k.dir) && !included.contains(k.dir.as_str())
        };
        // Depth first, children before parents: a carrier comes after those it builds on.
        let mut ordered: Vec<String> = Vec::new();
        let mut visited: BTreeSet<&str> = BTreeSet::new();
        for start in self.kustomizations.keys() {
            let mut stack: Vec<(&str, bool)> = vec![(start.as_str(), false)];
            while let Some((dir, children_done)) = stack.pop() {
                if children_done {
                    if is_carrier(&self.kustomizations[dir]) {
                        ordered.push(dir.to_string());
                    }
                    continue;
                }
                if !visited.insert(dir) {
                    continue;
                }
                stack.push((dir, true));
                for target in self.kustomizations[dir].targets.iter().rev() {
                    if let Target::Kustomization(child) = target {
                        if self.kustomizations.contains_key(child) && !visited.contains(child.as_str()) {
                            stack.push((child.as_str(), false));
                        }
                    }
                }
            }
        }
        ordered
    }

    /// Every kustomization `dir` pulls in, directly or through others.
    fn descendants(&self, dir: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut stack = vec![dir.to_string()];
        while let Some(current) = stack.pop() {
            let Some(kustomization) = self.kustomizations.get(&current) else { continue };
            for target in &kustomization.targets {
                if let Target::Kustomization(child) = target {
                    if out.insert(child.clone()) {
                        stack.push(child.clone());
                    }
                }
            }
        }
        out
    }

    /// Who owns each manifest reached from a carrier, by repository-relative
    /// path. A file is edited in place only when every carrier that pulls it
    /// in is of one environment (its own, if its path names one) and every
    /// render wants the same policy for each container written in it: one
    /// file that two overlays retag differently is shared, and each overlay
    /// patches its render, whatever the directories are called.
    pub fn ownership(
        &self,
        rules: &Rules,
        forced: Option<usize>,
        carriers: &[String],
        renders: &BTreeMap<String, Render>,
    ) -> BTreeMap<String, Ownership> {
        let mut reached: BTreeMap<String, Vec<(usize, String, Vec<ImageOverride>)>> = BTreeMap::new();
        for carrier in carriers {
            let Some(environment) = self.kustomizations.get(carrier).and_then(|k| k.environment) else { continue };
            for reach in self.reach(carrier) {
                reached.entry(reach.file).or_default().push((environment, carrier.clone(), reach.images));
            }
        }
        let mut wanted: BTreeMap<(&str, usize), BTreeSet<Option<String>>> = BTreeMap::new();
        for (carrier, render) in renders {
            let Some(environment) = self.kustomizations.get(carrier).and_then(|k| k.environment) else { continue };
            let env = &rules.environments[environment];
            for pod in render.resources.iter().filter_map(|r| r.pod.as_ref()) {
                for (_, _, container) in pod.containers() {
                    let forms = container.image.as_deref().map(crate::rules::image_forms);
                    let (policy, _) = crate::rules::decide_policy(rules, env, forms.as_ref());
                    wanted
                        .entry((container.origin.file.as_str(), container.origin.line))
                        .or_default()
                        .insert(policy.map(|p| p.to_string()));
                }
            }
        }
        let disagreeing: BTreeSet<&str> =
            wanted.iter().filter(|(_, policies)| policies.len() > 1).map(|((file, _), _)| *file).collect();
        let mut out = BTreeMap::new();
        for (file, reaches) in reached {
            let environments: BTreeSet<usize> = reaches.iter().map(|(env, _, _)| *env).collect();
            let own = match forced {
                Some(env) => Some(env),
                None => rules.env_for_path(&file).ok().flatten().map(|c| c.env),
            };
            let single = (environments.len() == 1).then(|| *environments.iter().next().expect("one environment"));
            let ownership = match single {
                Some(env) if own.is_none_or(|own| own == env) && !disagreeing.contains(file.as_str()) => {
                    let (_, overlay, images) = reaches.into_iter().next().expect("reached at least once");
                    Ownership::Owned { environment: env, overlay, images }
                }
                _ => {
                    let mut overlays: Vec<String> = reaches.into_iter().map(|(_, overlay, _)| overlay).collect();
                    overlays.sort();
                    overlays.dedup();
                    Ownership::Shared { overlays }
                }
            };
            out.insert(file, ownership);
        }
        out
    }

    /// Every file any kustomization pulls in: manifests and patch files.
    pub fn pulled_in_files(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = BTreeSet::new();
        for kustomization in self.kustomizations.values() {
            for target in &kustomization.targets {
                if let Target::File(file) = target {
                    out.insert(file.clone());
                }
            }
            out.extend(kustomization.patch_files.iter().cloned());
            // Transformer and replacement configurations, read to tell whether they touch containers.
            let Some(value) = &kustomization.value else { continue };
            let transformers =
                value.get("transformers").map(Value::items).unwrap_or_default().iter().filter_map(Value::str);
            let replacements = value
                .get("replacements")
                .map(Value::items)
                .unwrap_or_default()
                .iter()
                .filter_map(|entry| entry.get("path").and_then(Value::str));
            for reference in transformers.chain(replacements) {
                if let Some(path) = join(&kustomization.dir, reference) {
                    out.insert(path);
                }
            }
        }
        out
    }

    /// Manifests pulled in by a broken kustomization: nothing is written for
    /// them unless a sound overlay owns or shares them too.
    pub fn blocked_files(&self) -> BTreeSet<String> {
        self.broken.iter().flat_map(|dir| self.reach(dir)).map(|reach| reach.file).collect()
    }

    /// Secrets that `secretGenerator`s make for each environment: those of
    /// every kustomization an overlay of that environment builds.
    pub fn generated_secrets(&self) -> BTreeSet<(usize, String)> {
        let mut out = BTreeSet::new();
        for overlay in self.overlays() {
            let environment = overlay.environment.expect("overlays have an environment");
            let mut stack = vec![overlay.dir.clone()];
            let mut seen = BTreeSet::new();
            while let Some(dir) = stack.pop() {
                if !seen.insert(dir.clone()) {
                    continue;
                }
                let Some(kustomization) = self.kustomizations.get(&dir) else { continue };
                out.extend(kustomization.generated_secrets.iter().map(|name| (environment, name.clone())));
                stack.extend(kustomization.targets.iter().filter_map(|t| match t {
                    Target::Kustomization(child) => Some(child.clone()),
                    Target::File(_) => None,
                }));
            }
        }
        out
    }

    /// Patch files named by any kustomization: partial objects, not manifests of their own.
    pub fn patch_files(&self) -> BTreeSet<&str> {
        self.kustomizations.values().flat_map(|k| k.patch_files.iter().map(String::as_str)).collect()
    }

    /// Strategic-merge patch files: their containers that name an image are planned like a manifest's.
    pub fn strategic_patch_files(&self) -> BTreeSet<&str> {
        self.kustomizations.values().flat_map(|k| k.patch_refs.iter().map(String::as_str)).collect()
    }
}

fn entry_offset(kustomization: &Kustomization, child_dir: &str) -> Option<usize> {
    let document = kustomization.document.as_ref()?;
    ["resources", "bases", "components"].iter().find_map(|field| {
        document.root.get(field)?.items().iter().find_map(|entry| {
            let reference = entry.as_str()?;
            (join(&kustomization.dir, reference).as_deref() == Some(child_dir)).then_some(entry.span.start)
        })
    })
}

/// URLs and go-getter style references (`github.com/org/repo//dir?ref=x`).
pub(crate) fn is_remote(reference: &str) -> bool {
    reference.contains("://")
        || reference.starts_with("git@")
        || reference.contains("?ref=")
        || reference.starts_with("github.com/")
        || reference.starts_with("gitlab.com/")
        || reference.starts_with("bitbucket.org/")
}

fn parent_of(path: &str) -> String {
    path.rfind('/').map_or_else(String::new, |i| path[..i].to_string())
}

/// `dir/reference`, normalized; `None` when it climbs out of the repository
/// or leads into `.git` (git's store, not a file of the tree).
pub fn join(dir: &str, reference: &str) -> Option<String> {
    // An absolute path names a file of the machine running kustomize, never one of the repository.
    if reference.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = if dir.is_empty() { Vec::new() } else { dir.split('/').collect() };
    for part in reference.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    if parts.contains(&".git") {
        return None;
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_overrides() {
        let tag = ImageOverride { name: "nginx".into(), new_name: None, new_tag: Some("latest".into()), digest: None };
        assert_eq!(tag.apply("nginx:1.2").as_deref(), Some("nginx:latest"));
        assert_eq!(tag.apply("nginx").as_deref(), Some("nginx:latest"));
        assert_eq!(tag.apply("nginxx:1"), None);
        let name = ImageOverride {
            name: "localhost:5000/app".into(),
            new_name: Some("ghcr.io/acme/app".into()),
            new_tag: None,
            digest: None,
        };
        assert_eq!(name.apply("localhost:5000/app:2").as_deref(), Some("ghcr.io/acme/app:2"));
        let digest =
            ImageOverride { name: "app".into(), new_name: None, new_tag: None, digest: Some("sha256:ab".into()) };
        assert_eq!(digest.apply("app:1").as_deref(), Some("app@sha256:ab"));
    }

    #[test]
    fn joins() {
        assert_eq!(join("overlays/prod", "../../base").as_deref(), Some("base"));
        assert_eq!(join("", "a/./b").as_deref(), Some("a/b"));
        assert_eq!(join("a", "../../x"), None);
    }
}
