//! Which values keys of a Helm chart feed each container's
//! `imagePullPolicy` and each pod's `imagePullSecrets`, read from the
//! chart's own templates and helpers, so that pullsmith writes only keys
//! that the chart really consumes.
//!
//! `load` reads a chart directory (`Chart.yaml`, `values.yaml`,
//! `templates/`, subcharts under `charts/<name>/`) through `crate::fsio`:
//! regular files only, never through links, each under a size limit. It
//! is the only IO here. `analyse` then renders every template *abstractly*
//! (`walk`): each `if` branch is taken, `range` walks each known element
//! once, `include` and `template` are followed into their `define`s with
//! the arguments they are given (`dict`, `list`, `$`, variables), and what
//! an action prints is known only by the `.Values` paths that feed it.
//! The render is then read as YAML lines (`scan`): pod specs, their
//! containers, the value of each `imagePullPolicy:` and `imagePullSecrets:`.
//! A container list printed from values (`{{ toYaml .Values.extraContainers
//! | nindent 8 }}`) is reported as such (`Policy::InValues`): there, each
//! entry's own `imagePullPolicy` decides.
//! Keys are dotted paths from the root chart's values: a subchart's keys
//! are nested under its name or alias, `global.` is shared, and `[]` marks
//! an element of a list a template walks (`sidecars[].image.pullPolicy`).
//!
//! What it cannot do, and says so: a name or key computed in the template
//! (`include (printf …)`, `index .Values $key`), `tpl` of a string the
//! template builds, a helper that is not defined, a container printed
//! whole from a computed value (`- {{ toYaml (merge …) }}`), a packed
//! subchart (`.tgz`). Each is an `Unknown` at its template line, never a
//! guess: a wrong key would be written into a user's values and silently
//! do nothing, which is worse than reporting the release as not covered.
//! Conditions are not evaluated (every branch counts), so a key read only
//! under some values is still reported as the one that feeds the field.
//! Also not seen: a pod spec whose YAML structure is itself printed by a
//! value (only its holes are known, not its keys); secret names written
//! literally in a template (not values keys, so not reported); an
//! `indent` by a computed width; `.helmignore`. A key passed through `tpl`
//! (`tpl .Values.x $`) is reported, but what its string reads is not.

mod scan;
mod template;
mod walk;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::fsio::{self, FileError};
use crate::yaml::{self, LineIndex, Node, NodeKind};

use scan::PolicySpec;
use walk::{Define, Hole, Origin, Walker};

/// The most one chart file may hold.
pub const MAX_FILE_SIZE: u64 = 4 << 20;
/// The most template files a chart and its subcharts may hold together.
pub const MAX_TEMPLATES: usize = 5_000;
/// How deep subcharts may nest.
pub const MAX_SUBCHART_DEPTH: usize = 8;

/// A chart directory as read by `load`: its own files and its subcharts.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// `name` of `Chart.yaml`.
    pub name: String,
    /// `version` and `appVersion` of `Chart.yaml`, as written.
    pub version: Option<String>,
    pub app_version: Option<String>,
    /// `type: library`: its templates are helpers only, never rendered.
    pub library: bool,
    /// The text of `values.yaml` ("" when there is none).
    pub values: String,
    /// Every `*.yaml`, `*.yml` and `*.tpl` below `templates/`.
    pub templates: Vec<TemplateFile>,
    /// `charts/<dir>/`, each with the key its values sit under.
    pub subcharts: Vec<Subchart>,
    /// Packed subcharts (`charts/*.tgz`), which are not read.
    pub packed: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct TemplateFile {
    /// Relative to the chart directory: `templates/deployment.yaml`.
    pub path: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Subchart {
    /// The dependency's alias, else its name: where its values sit.
    pub key: String,
    /// Its directory under `charts/`.
    pub dir: String,
    pub chart: Chart,
}

/// What `analyse` finds in a chart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartKeys {
    pub chart: String,
    /// One entry per pod spec the templates render.
    pub pods: Vec<PodKeys>,
    /// ServiceAccounts that the chart gives `imagePullSecrets`.
    pub service_accounts: Vec<AccountKeys>,
    /// Pull settings declared in values files that no template reads.
    pub unread: Vec<DeclaredKey>,
    /// What the analysis could not follow outside any pod (a template
    /// that does not parse, an undefined helper, a packed subchart): a pod
    /// may hide there.
    pub unknowns: Vec<Unknown>,
}

/// A pod spec in a template (a workload's pod template, or a Pod).
#[derive(Debug, Clone, PartialEq)]
pub struct PodKeys {
    /// The rendered template file, relative to the chart directory.
    pub template: String,
    /// The line of its `containers:` key (in the file that writes it).
    pub at: Location,
    /// The `kind:`s its document may have, as written (`{{ … }}` for a
    /// computed one); several when branches write several.
    pub kinds: Vec<String>,
    pub containers: Vec<ContainerKeys>,
    /// The values keys that feed its `imagePullSecrets`, none when the
    /// chart renders no secrets for this pod.
    pub secrets: Vec<SecretsKey>,
    /// Parts of its `imagePullSecrets` whose source is not known.
    pub secrets_unknown: Vec<Unknown>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerKeys {
    /// As written: a literal name or the action that computes it.
    pub name: String,
    pub init: bool,
    pub at: Location,
    pub policy: Policy,
}

/// What decides a container's `imagePullPolicy`.
#[derive(Debug, Clone, PartialEq)]
pub enum Policy {
    /// These values keys (most often one).
    Keys(Vec<KeyAt>),
    /// The template writes this policy; no value changes it.
    Fixed {
        value: String,
        at: Location,
    },
    /// The template writes no `imagePullPolicy`: Kubernetes' default.
    Absent,
    /// Containers given whole in values (`extraContainers`): each entry's
    /// own `imagePullPolicy` decides. The entry stands for all of them,
    /// and its `name` is empty.
    InValues(Vec<KeyAt>),
    Unknown(Unknown),
}

/// A values key and the template line that reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAt {
    pub path: String,
    pub at: Location,
}

/// A file of the chart and a 1-based line in it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub file: String,
    pub line: usize,
}

/// A values key that feeds `imagePullSecrets`, and what its entries must be.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretsKey {
    /// The list's key: `imagePullSecrets`, `global.imagePullSecrets`, `image.pullSecrets`.
    pub path: String,
    /// What the templates accept as its entries.
    pub shape: Shape,
    /// What the chart's default values hold (None: absent or empty).
    pub default_shape: Option<Shape>,
    pub at: Location,
}

/// The entries of a secrets list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `- regcred`
    Names,
    /// `- name: regcred`
    Mappings,
    /// Both are rendered right.
    Either,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccountKeys {
    pub template: String,
    pub at: Location,
    pub secrets: Vec<SecretsKey>,
    pub secrets_unknown: Vec<Unknown>,
}

/// A pull setting declared in a values file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredKey {
    /// From the root chart's values: `metrics.image.pullPolicy`, `common.image.pullSecrets`.
    pub path: String,
    /// The values file that declares it and the key's line.
    pub at: Location,
}

/// Something the analysis cannot tell, where and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unknown {
    pub template: String,
    pub line: usize,
    pub reason: String,
}

/// Why a chart directory was not read.
#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    /// A chart file that is a link, not a regular file, too large or not UTF-8.
    #[error("{}: {source}", path.display())]
    Read { path: PathBuf, source: FileError },
    /// A directory of the chart that cannot be listed.
    #[error("{}: cannot list: {source}", path.display())]
    List { path: PathBuf, source: std::io::Error },
    /// The directory has no `Chart.yaml` (one that is a link is a `Read` error).
    #[error("{}: no `Chart.yaml`; not a chart", path.display())]
    NotAChart { path: PathBuf },
    /// More template files than `MAX_TEMPLATES`, subcharts included.
    #[error("{}: more than {limit} template files; left alone", path.display())]
    TooManyTemplates { path: PathBuf, limit: usize },
    /// Subcharts nested deeper than `MAX_SUBCHART_DEPTH`.
    #[error("{}: subcharts nest more than {limit} deep; left alone", path.display())]
    TooDeep { path: PathBuf, limit: usize },
}

/// Reads the chart in `dir` and its unpacked subcharts.
pub fn load(dir: &Path) -> Result<Chart, HelmError> {
    let mut count = 0;
    load_at(dir, 0, &mut count)
}

/// Which values keys of `chart` feed its containers' pull policies and its
/// pods' pull secrets. Does no IO.
pub fn analyse(chart: &Chart) -> ChartKeys {
    let mut files = Vec::new();
    collect(chart, "", "", &mut files);
    let mut defines = HashMap::new();
    let mut unknowns = Vec::new();
    let mut rendered = Vec::new();
    // Subcharts come first, so that a define of the parent wins, as in Helm
    // (the parent's templates are loaded last).
    for file in files.iter().rev() {
        match template::parse(file.text) {
            Ok(parsed) => {
                let path: Rc<str> = file.path.as_str().into();
                for (name, body) in parsed.defines {
                    defines.insert(name, Define { body: Rc::new(body), template: path.clone() });
                }
                if file.rendered {
                    rendered.push((path, parsed.body, file.prefix.clone()));
                }
            }
            Err(error) => unknowns.push(Unknown {
                template: file.path.clone(),
                line: error.line,
                reason: format!("the template does not parse: {}", error.message),
            }),
        }
    }
    rendered.sort_by(|a, b| a.0.cmp(&b.0));
    let values = ValuesTree::new(chart, &mut unknowns);
    let mut walker = Walker::new(&defines);
    let mut keys = ChartKeys { chart: chart.name.clone(), ..ChartKeys::default() };
    for (path, body, prefix) in &rendered {
        let pieces = walker.render_template(body, path.clone(), prefix);
        let scanned = scan::scan(pieces);
        for pod in scanned.pods {
            let (secrets, secrets_unknown) = secrets_keys(&pod.secrets, &values);
            let containers = pod.containers.into_iter().map(container_keys).collect();
            let at = location(&pod.origin);
            keys.pods.push(PodKeys {
                template: path.to_string(),
                at,
                kinds: pod.kinds,
                containers,
                secrets,
                secrets_unknown,
            });
        }
        for account in scanned.accounts {
            let (secrets, secrets_unknown) = secrets_keys(&account.secrets, &values);
            let at = location(&account.origin);
            keys.service_accounts.push(AccountKeys { template: path.to_string(), at, secrets, secrets_unknown });
        }
    }
    for gap in &walker.gaps {
        unknowns.push(Unknown {
            template: gap.origin.template.to_string(),
            line: gap.origin.line,
            reason: gap.reason.clone(),
        });
    }
    for packed in packed_subcharts(chart, "") {
        unknowns.push(Unknown { template: packed, line: 0, reason: "a packed subchart is not read".to_string() });
    }
    unknowns.sort();
    unknowns.dedup();
    keys.unknowns = unknowns;
    let reads: Vec<String> = walker.reads.iter().map(|path| path.replace("[]", "")).collect();
    keys.unread = values.declared.into_iter().filter(|declared| !is_read(&declared.path, &reads)).collect();
    keys
}

impl ChartKeys {
    /// Every values key that feeds some container's policy, once.
    pub fn policy_keys(&self) -> BTreeSet<&str> {
        let containers = self.pods.iter().flat_map(|pod| &pod.containers);
        containers
            .filter_map(|container| match &container.policy {
                Policy::Keys(keys) => Some(keys.iter().map(|key| key.path.as_str())),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// Every values key that feeds some pod's or ServiceAccount's secrets, once.
    pub fn secrets_keys(&self) -> BTreeSet<&str> {
        let pods = self.pods.iter().flat_map(|pod| &pod.secrets);
        pods.chain(self.service_accounts.iter().flat_map(|account| &account.secrets))
            .map(|key| key.path.as_str())
            .collect()
    }
}

// ---------------------------------------------------------------- loading

fn read_text(path: &Path) -> Result<String, HelmError> {
    fsio::read_unlinked_text(path, MAX_FILE_SIZE).map_err(|source| HelmError::Read { path: path.to_path_buf(), source })
}

fn read_optional(path: &Path) -> Result<Option<String>, HelmError> {
    fsio::read_existing_text(path, MAX_FILE_SIZE).map_err(|source| HelmError::Read { path: path.to_path_buf(), source })
}

/// Entries of a directory that are regular files or directories, never
/// links, sorted by name. A missing directory has none.
fn entries(dir: &Path) -> Result<Vec<(String, bool)>, HelmError> {
    let listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(HelmError::List { path: dir.to_path_buf(), source }),
    };
    let mut out = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|source| HelmError::List { path: dir.to_path_buf(), source })?;
        let file_type = entry.file_type().map_err(|source| HelmError::List { path: entry.path(), source })?;
        if file_type.is_file() || file_type.is_dir() {
            out.push((entry.file_name().to_string_lossy().into_owned(), file_type.is_dir()));
        }
    }
    out.sort();
    Ok(out)
}

fn load_at(dir: &Path, depth: usize, count: &mut usize) -> Result<Chart, HelmError> {
    if depth > MAX_SUBCHART_DEPTH {
        return Err(HelmError::TooDeep { path: dir.to_path_buf(), limit: MAX_SUBCHART_DEPTH });
    }
    let chart_yaml =
        read_optional(&dir.join("Chart.yaml"))?.ok_or_else(|| HelmError::NotAChart { path: dir.to_path_buf() })?;
    let meta = yaml::parse(&chart_yaml).ok().and_then(|docs| docs.into_iter().next()).map(|doc| doc.root);
    let name = meta.as_ref().and_then(|m| m.get("name")).and_then(Node::as_str).map(str::to_string);
    let name = name.unwrap_or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    let library = meta.as_ref().and_then(|m| m.get("type")).and_then(Node::as_str) == Some("library");
    let field = |key: &str| meta.as_ref().and_then(|m| m.get(key)).and_then(Node::as_str).map(str::to_string);
    let (version, app_version) = (field("version"), field("appVersion"));
    let aliases: HashMap<String, String> = meta
        .as_ref()
        .and_then(|m| m.get("dependencies"))
        .map(|deps| {
            deps.items()
                .iter()
                .filter_map(|dep| {
                    let name = dep.get("name")?.as_str()?.to_string();
                    let alias = dep.get("alias").and_then(Node::as_str).unwrap_or(&name).to_string();
                    Some((name, alias))
                })
                .collect()
        })
        .unwrap_or_default();
    let values = read_optional(&dir.join("values.yaml"))?.unwrap_or_default();
    let mut templates = Vec::new();
    load_templates(&dir.join("templates"), "templates", &mut templates, count, dir)?;
    let mut subcharts = Vec::new();
    let mut packed = Vec::new();
    for (entry, is_dir) in entries(&dir.join("charts"))? {
        let path = dir.join("charts").join(&entry);
        if !is_dir {
            if entry.ends_with(".tgz") || entry.ends_with(".tar.gz") {
                packed.push(format!("charts/{entry}"));
            }
            continue;
        }
        if !path.join("Chart.yaml").is_file() {
            continue;
        }
        let chart = load_at(&path, depth + 1, count)?;
        let key = aliases.get(&chart.name).cloned().unwrap_or_else(|| chart.name.clone());
        subcharts.push(Subchart { key, dir: entry, chart });
    }
    Ok(Chart { name, version, app_version, library, values, templates, subcharts, packed })
}

fn load_templates(
    dir: &Path,
    relative: &str,
    out: &mut Vec<TemplateFile>,
    count: &mut usize,
    chart_dir: &Path,
) -> Result<(), HelmError> {
    for (entry, is_dir) in entries(dir)? {
        let path = dir.join(&entry);
        let relative = format!("{relative}/{entry}");
        if is_dir {
            load_templates(&path, &relative, out, count, chart_dir)?;
        } else if [".yaml", ".yml", ".tpl"].iter().any(|ext| entry.ends_with(ext)) {
            *count += 1;
            if *count > MAX_TEMPLATES {
                return Err(HelmError::TooManyTemplates { path: chart_dir.to_path_buf(), limit: MAX_TEMPLATES });
            }
            out.push(TemplateFile { path: relative, text: read_text(&path)? });
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- analysis

/// A template file of the chart or a subchart, with what it needs for the walk.
struct ChartFile<'a> {
    path: String,
    text: &'a str,
    prefix: String,
    rendered: bool,
}

fn collect<'a>(chart: &'a Chart, dir: &str, prefix: &str, out: &mut Vec<ChartFile<'a>>) {
    for file in &chart.templates {
        let file_name = file.path.rsplit('/').next().unwrap_or(&file.path);
        let rendered = !chart.library && !file_name.starts_with('_');
        out.push(ChartFile {
            path: format!("{dir}{}", file.path),
            text: &file.text,
            prefix: prefix.to_string(),
            rendered,
        });
    }
    for sub in &chart.subcharts {
        let dir = format!("{dir}charts/{}/", sub.chart_dir_name());
        let prefix = if prefix.is_empty() { sub.key.clone() } else { format!("{prefix}.{}", sub.key) };
        collect(&sub.chart, &dir, &prefix, out);
    }
}

impl Subchart {
    fn chart_dir_name(&self) -> &str {
        &self.dir
    }
}

fn packed_subcharts(chart: &Chart, dir: &str) -> Vec<String> {
    let mut out: Vec<String> = chart.packed.iter().map(|p| format!("{dir}{p}")).collect();
    for sub in &chart.subcharts {
        out.extend(packed_subcharts(&sub.chart, &format!("{dir}charts/{}/", sub.chart_dir_name())));
    }
    out
}

fn location(origin: &Origin) -> Location {
    Location { file: origin.template.to_string(), line: origin.line }
}

fn unknown_at(hole: &Hole, reason: &str) -> Unknown {
    Unknown { template: hole.origin.template.to_string(), line: hole.origin.line, reason: reason.to_string() }
}

fn container_keys(spec: scan::ContainerSpec) -> ContainerKeys {
    let at = location(&spec.origin);
    let policy =
        match spec.policy {
            PolicySpec::Absent => Policy::Absent,
            PolicySpec::Fixed(value, origin) => Policy::Fixed { value, at: location(&origin) },
            PolicySpec::Holes(holes) => {
                let mut keys = Vec::new();
                let mut unknown = None;
                // A literal printed beside a key (`{{- " " -}}`) is not what decides it.
                let from_values = holes.iter().any(|hole| hole.sources.as_ref().is_ok_and(|paths| !paths.is_empty()));
                for hole in &holes {
                    match &hole.sources {
                        Ok(paths) if paths.is_empty() && from_values => {}
                        Err(reason) => unknown = Some(unknown_at(hole, reason)),
                        Ok(paths) if paths.is_empty() => {
                            let reason = format!("the policy is not read from values: `{}`", hole.source);
                            unknown = unknown.or(Some(unknown_at(hole, &reason)));
                        }
                        Ok(paths) => keys
                            .extend(paths.iter().map(|path| KeyAt { path: path.clone(), at: location(&hole.origin) })),
                    }
                }
                match unknown {
                    Some(unknown) => Policy::Unknown(unknown),
                    None => Policy::Keys(first_of_each_path(keys)),
                }
            }
            PolicySpec::InValues(holes) => {
                let mut keys = Vec::new();
                let mut unknown = None;
                for hole in &holes {
                    match &hole.sources {
                        Ok(paths) => keys
                            .extend(paths.iter().map(|path| KeyAt { path: path.clone(), at: location(&hole.origin) })),
                        Err(reason) => unknown = Some(unknown_at(hole, reason)),
                    }
                }
                match unknown {
                    Some(unknown) => Policy::Unknown(unknown),
                    None => Policy::InValues(first_of_each_path(keys)),
                }
            }
            PolicySpec::Whole(holes) => {
                let hole = holes.first();
                let mut paths = BTreeSet::new();
                let mut unknown = Vec::new();
                for hole in &holes {
                    match &hole.sources {
                        Ok(sources) => paths.extend(sources.iter().map(|path| format!("`{path}`"))),
                        Err(reason) => unknown.push(reason.clone()),
                    }
                }
                let mut reason = "the container is printed whole from a computed value".to_string();
                if !paths.is_empty() {
                    reason.push_str(&format!(" of {}", paths.into_iter().collect::<Vec<_>>().join(", ")));
                }
                if !unknown.is_empty() {
                    reason.push_str(&format!(" ({})", unknown.join("; ")));
                }
                Policy::Unknown(match hole {
                    Some(hole) => unknown_at(hole, &reason),
                    None => Unknown { template: at.file.clone(), line: at.line, reason },
                })
            }
        };
    ContainerKeys { name: spec.name.unwrap_or_default(), init: spec.init, at, policy }
}

/// Each path once, where it is first read.
fn first_of_each_path(keys: Vec<KeyAt>) -> Vec<KeyAt> {
    let mut seen = BTreeSet::new();
    keys.into_iter().filter(|key| seen.insert(key.path.clone())).collect()
}

/// The secrets keys that the holes of an `imagePullSecrets:` value read,
/// each with the shape its use asks for: the list printed whole (`toYaml`)
/// or an element printed as an item are Kubernetes' `{name: …}`
/// mappings; an element printed after `name:` is a plain name.
fn secrets_keys(holes: &[(Hole, bool)], values: &ValuesTree) -> (Vec<SecretsKey>, Vec<Unknown>) {
    let mut found: BTreeMap<String, (BTreeSet<Shape>, Location)> = BTreeMap::new();
    let mut unknowns = Vec::new();
    for (hole, after_name) in holes {
        let paths = match &hole.sources {
            Ok(paths) => paths,
            Err(reason) => {
                unknowns.push(unknown_at(hole, reason));
                continue;
            }
        };
        for path in paths {
            let (list, shape) = match path.split_once("[]") {
                None => (path.as_str(), Shape::Mappings),
                Some((list, "")) if *after_name => (list, Shape::Names),
                Some((list, _)) => (list, Shape::Mappings),
            };
            let entry = found.entry(list.to_string()).or_insert_with(|| (BTreeSet::new(), location(&hole.origin)));
            entry.0.insert(shape);
        }
    }
    let keys = found
        .into_iter()
        .map(|(path, (shapes, at))| {
            let shape = match (shapes.contains(&Shape::Names), shapes.contains(&Shape::Mappings)) {
                (true, true) => Shape::Either,
                (true, false) => Shape::Names,
                _ => Shape::Mappings,
            };
            let default_shape = values.default_shape(&path);
            SecretsKey { path, shape, default_shape, at }
        })
        .collect();
    unknowns.sort();
    unknowns.dedup();
    (keys, unknowns)
}

impl PartialOrd for Shape {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Shape {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
    }
}

/// Whether a declared key is read: it, something in it, or all of a map
/// holding it is consumed by some template.
fn is_read(declared: &str, reads: &[String]) -> bool {
    reads.iter().any(|read| {
        read == declared
            || read.is_empty()
            || read.strip_prefix(declared).is_some_and(|rest| rest.starts_with('.'))
            || declared.strip_prefix(read.as_str()).is_some_and(|rest| rest.starts_with('.'))
    })
}

/// The parsed values files of a chart and its subcharts.
struct ValuesTree {
    /// (values key prefix, values file, parsed root) for each chart; the root chart first.
    files: Vec<(String, String, Option<Node>)>,
    declared: Vec<DeclaredKey>,
}

const PULL_KEY_NAMES: &[&str] = &["pullPolicy", "imagePullPolicy", "pullSecrets", "imagePullSecrets"];

impl ValuesTree {
    fn new(chart: &Chart, unknowns: &mut Vec<Unknown>) -> Self {
        let mut tree = ValuesTree { files: Vec::new(), declared: Vec::new() };
        tree.add(chart, "", "", unknowns);
        tree
    }

    fn add(&mut self, chart: &Chart, dir: &str, prefix: &str, unknowns: &mut Vec<Unknown>) {
        let file = format!("{dir}values.yaml");
        let root = if chart.values.trim().is_empty() {
            None
        } else {
            match yaml::parse(&chart.values) {
                Ok(docs) => docs.into_iter().next().map(|doc| doc.root),
                Err(error) => {
                    let line = LineIndex::new(&chart.values).line_of(error.offset);
                    let reason = format!("the values file does not parse: {}", error.message);
                    unknowns.push(Unknown { template: file.clone(), line, reason });
                    None
                }
            }
        };
        if let Some(root) = &root {
            let lines = LineIndex::new(&chart.values);
            declared_keys(root, prefix, true, &file, &lines, &mut self.declared);
        }
        self.files.push((prefix.to_string(), file, root));
        for sub in &chart.subcharts {
            let dir = format!("{dir}charts/{}/", sub.chart_dir_name());
            let prefix = if prefix.is_empty() { sub.key.clone() } else { format!("{prefix}.{}", sub.key) };
            self.add(&sub.chart, &dir, &prefix, unknowns);
        }
    }

    /// The default value at `path` (a parent's values win over a subchart's own).
    fn lookup(&self, path: &str) -> Option<&Node> {
        for (prefix, _, root) in &self.files {
            let Some(root) = root else { continue };
            let relative = if prefix.is_empty() || path.starts_with("global.") {
                path
            } else {
                match path.strip_prefix(prefix.as_str()).and_then(|rest| rest.strip_prefix('.')) {
                    Some(rest) => rest,
                    None => continue,
                }
            };
            let node = relative.split('.').try_fold(root, |node, key| node.get(key));
            if node.is_some() {
                return node;
            }
        }
        None
    }

    fn default_shape(&self, path: &str) -> Option<Shape> {
        let items = self.lookup(path)?.items();
        let names = items.iter().any(|item| matches!(item.kind, NodeKind::Scalar { .. }));
        let mappings = items.iter().any(Node::is_mapping);
        match (names, mappings) {
            (true, true) => Some(Shape::Either),
            (true, false) => Some(Shape::Names),
            (false, true) => Some(Shape::Mappings),
            (false, false) => None,
        }
    }
}

fn declared_keys(node: &Node, prefix: &str, top: bool, file: &str, lines: &LineIndex, out: &mut Vec<DeclaredKey>) {
    for (key, value) in node.entries() {
        let Some(name) = key.as_str() else { continue };
        // A subchart's `global:` is the shared one.
        let path =
            if prefix.is_empty() || (top && name == "global") { name.to_string() } else { format!("{prefix}.{name}") };
        if PULL_KEY_NAMES.contains(&name) {
            out.push(DeclaredKey {
                path: path.clone(),
                at: Location { file: file.to_string(), line: lines.line_of(key.span.start) },
            });
        }
        if value.is_mapping() {
            declared_keys(value, &path, false, file, lines, out);
        }
    }
}
