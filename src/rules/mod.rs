//! The typed rules file: loading, validating (with the rules file's line and
//! column on every error) and resolving environments and image rules.
//!
//! Rules never touch the repository: they are data, loaded once before any
//! file is read. The one exception is finding `.pullsmith.yaml` at the
//! repository root ([`find_in_repository`]), which never follows a link out
//! of the repository or into `.git`.
//!
//! The rules file may be any file a user (or a link) points at, so a message
//! never quotes more of it than a short token: at most [`TOKEN_CHARS`]
//! characters, cut with `…`, control characters escaped, never a whole line.

mod helm;
mod image;
mod lint;
mod model;
mod resolve;

pub use helm::ChartVersion;
pub use image::{image_forms, is_latest_or_untagged, transform_image, ImageOverride};
pub use model::{AttachSecretsTo, Pattern, Policy};
pub use resolve::{decide_policy, wanted_secrets};

use std::path::{Path, PathBuf};

use model::RulesFile;

/// Rules files larger than this are refused before they are parsed: a rules
/// file is a few kilobytes, and parsing (and compiling the globs of) a huge
/// one takes many times its size in memory.
pub const MAX_RULES_BYTES: u64 = 1024 * 1024;

/// Globs (in the rules, `--include`, `--exclude`) longer than this many
/// characters are refused: globset turns a glob into a regular expression and
/// panics when that outgrows the regex size limit.
pub const MAX_GLOB_CHARS: usize = 1024;

/// At most this many mistakes of a rules file are listed beside the first.
const MAX_MISTAKES_LISTED: usize = 50;

/// At most this many characters of the input are quoted in a message.
pub const TOKEN_CHARS: usize = 32;

/// A message derived from the input never grows past this many characters.
const MESSAGE_CHARS: usize = 300;

/// The embedded default rules, also shipped as `rules/default.yaml`.
pub const DEFAULT_RULES: &str = include_str!("../../rules/default.yaml");

/// A JSON Schema of the rules file, for editors.
pub const RULES_SCHEMA: &str = include_str!("../../rules/schema.json");

/// Where the rules came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesOrigin {
    File(PathBuf),
    Embedded,
}

impl std::fmt::Display for RulesOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RulesOrigin::File(path) => write!(f, "{}", path.display()),
            RulesOrigin::Embedded => f.write_str("<embedded default rules>"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The rules file could not be read at all. The I/O error is part of this
    /// message, not a `source`, so that `{:#}` does not print it twice.
    #[error("{path}: cannot read rules file: {error}")]
    Read { path: PathBuf, error: std::io::Error },
    /// The rules file is not a regular file (a FIFO or a device would block or never end).
    #[error("{path}: cannot read rules file: not a regular file ({what})")]
    NotRegular { path: PathBuf, what: &'static str },
    /// The rules file is larger than [`MAX_RULES_BYTES`].
    #[error("{path}: rules file of {size} bytes is larger than the limit of {limit} bytes (1 MiB)", limit = MAX_RULES_BYTES)]
    TooLarge { path: PathBuf, size: u64 },
    /// `.pullsmith.yaml` at the repository root is a link that is not followed.
    #[error("{path}: refused as rules file: {reason}")]
    Refused { path: PathBuf, reason: &'static str },
    /// The rules file was read but says something invalid, at a known place.
    /// The first mistake is the error; `more` holds the others, each as
    /// (line, column, message), for a listing of every mistake.
    #[error("{origin}:{line}:{column}: {message}")]
    Invalid { origin: RulesOrigin, line: usize, column: usize, message: String, more: Vec<(usize, usize, String)> },
    /// `--env` names no environment of the rules. Both fields are already [`token`]s.
    #[error("unknown environment `{name}` (the rules define: {known})")]
    UnknownEnvironment { name: String, known: String },
}

/// One environment, validated.
#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    pub paths: Vec<Pattern>,
    /// The rules file's line of each of `paths`, for "matches no file".
    pub path_lines: Vec<usize>,
    pub namespaces: Vec<Pattern>,
    pub policy: Option<Policy>,
    pub secrets: Vec<String>,
    pub attach_secrets_to: AttachSecretsTo,
    pub overwrite: bool,
}

/// One entry of `images:`.
#[derive(Debug, Clone)]
pub struct ImageRule {
    /// 0-based position in `images:`, for explanations.
    pub index: usize,
    pub patterns: Vec<Pattern>,
    pub policy: Option<Policy>,
    pub secrets: Vec<String>,
}

/// An extra kind that carries a pod template. It replaces a built-in
/// workload of the same kind (and apiVersion, when it names one); see
/// `manifest::workload_shape_of`.
#[derive(Debug, Clone)]
pub struct Workload {
    pub kind: String,
    pub api_version: Option<String>,
    /// Keys from the object to its pod specs, empty segments dropped; a `*`
    /// segment (the whole segment, not part of one) stands for every item of
    /// a sequence or every value of a mapping.
    pub pod_spec_path: Vec<String>,
}

/// Validated rules, ready to resolve.
#[derive(Debug, Clone)]
pub struct Rules {
    pub origin: RulesOrigin,
    pub default_environment: Option<usize>,
    pub environments: Vec<Environment>,
    pub images: Vec<ImageRule>,
    pub workloads: Vec<Workload>,
    /// `exclude:` globs (never read, edited or followed), with their lines.
    pub exclude: Vec<(Pattern, usize)>,
    /// Pull secrets created outside the repository: never "not defined".
    pub provided_secrets: Vec<String>,
    /// `helm.charts` entries, in the file's order: [`Rules::helm_chart`] picks one.
    pub helm_charts: Vec<HelmChart>,
}

/// One `helm.charts` entry: the values keys that carry pull settings for a
/// chart that is not in the repository (or whose templates cannot be analysed).
#[derive(Debug, Clone)]
pub struct HelmChart {
    /// 0-based position in `helm.charts`, for explanations (`helm.charts[0]`).
    pub index: usize,
    /// 1-based line of the entry in the rules file, for explanations.
    pub line: usize,
    pub name: String,
    /// The chart versions the entry is for; `None` is every version.
    pub version: Option<ChartVersion>,
    /// Dotted values keys (`image.pullPolicy`), checked when the rules are read.
    pub pull_policy: Vec<String>,
    pub pull_secrets: Vec<String>,
}

/// Why a document got its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvReason {
    Path(String),
    Namespace(String),
    Default,
    Forced,
    /// Reached only from kustomize overlays of one environment, such as this one.
    Overlay(String),
}

impl std::fmt::Display for EnvReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvReason::Path(glob) => write!(f, "path matches `{glob}`"),
            EnvReason::Namespace(glob) => write!(f, "namespace matches `{glob}`"),
            EnvReason::Default => f.write_str("defaultEnvironment"),
            EnvReason::Forced => f.write_str("--env"),
            EnvReason::Overlay(dir) => write!(f, "pulled in only by overlays of this environment, such as `{dir}`"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvChoice {
    pub env: usize,
    pub reason: EnvReason,
}

/// Two environments claim the same file or document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvConflict {
    pub names: Vec<String>,
}

impl Rules {
    /// Reads rules from `path` (a link is followed: the user named it), a
    /// regular file of at most [`MAX_RULES_BYTES`].
    pub fn from_file(path: &Path) -> Result<Rules, RulesError> {
        // On the opened handle: a FIFO or a device is refused, not read forever.
        let text = crate::fsio::read_regular_text(path, MAX_RULES_BYTES).map_err(|err| match err {
            crate::fsio::FileError::NotRegular { kind } => {
                RulesError::NotRegular { path: path.to_path_buf(), what: kind }
            }
            crate::fsio::FileError::TooLarge { size, .. } => RulesError::TooLarge { path: path.to_path_buf(), size },
            other => RulesError::Read { path: path.to_path_buf(), error: other.into() },
        })?;
        Rules::parse(&text, RulesOrigin::File(path.to_path_buf()))
    }

    pub fn embedded_default() -> Rules {
        Rules::parse(DEFAULT_RULES, RulesOrigin::Embedded).expect("the embedded default rules are valid")
    }

    /// Reads `.pullsmith.yaml` found by [`find_in_repository`]: `path` is what
    /// messages name, `read_from` the link-free file read, never through a
    /// link (`O_NOFOLLOW`), so a swap after the lookup is refused too.
    pub fn from_repository_file(found: &FoundRules) -> Result<Rules, RulesError> {
        let path = &found.path;
        let text = crate::fsio::read_unlinked_text(&found.read_from, MAX_RULES_BYTES).map_err(|err| match err {
            crate::fsio::FileError::NotRegular { kind } => RulesError::NotRegular { path: path.clone(), what: kind },
            crate::fsio::FileError::TooLarge { size, .. } => RulesError::TooLarge { path: path.clone(), size },
            other => RulesError::Read { path: path.clone(), error: other.into() },
        })?;
        Rules::parse(&text, RulesOrigin::File(path.clone()))
    }

    /// Parses and validates rules. When they are invalid, the error is the
    /// first mistake, and lists every other one the file holds.
    pub fn parse(text: &str, origin: RulesOrigin) -> Result<Rules, RulesError> {
        let first = Rules::parse_first(text, origin);
        let Err(RulesError::Invalid { origin, line, column, message, .. }) = first else { return first };
        // The typed parse stops at the first mistake; the walk finds the
        // others. Only in a file that says it is a rules file (`version:` at
        // its top): a listing of every "unknown field" of any other file
        // (`--rules /etc/shadow`) would quote a piece of each of its lines.
        let mut more: Vec<(usize, usize, String)> = Vec::new();
        let root = crate::yaml::parse(text).ok().and_then(|docs| docs.into_iter().next()).map(|d| d.root);
        if let Some(root) = root.filter(|root| root.get("version").is_some()) {
            let lines = crate::yaml::LineIndex::new(text);
            for (offset, found) in lint::mistakes(&root) {
                let (l, c) = lines.line_col(text, offset.min(text.len()));
                // One mistake per line: the typed parse's own wording wins where both found it.
                if l != line && !more.iter().any(|(ml, ..)| *ml == l) {
                    more.push((l, c, sanitize(&found)));
                }
            }
        }
        more.sort();
        more.truncate(MAX_MISTAKES_LISTED);
        let (before, after): (Vec<_>, Vec<_>) = more.into_iter().partition(|(l, c, _)| (*l, *c) < (line, column));
        let mut all: Vec<(usize, usize, String)> = before;
        all.push((line, column, message));
        all.extend(after);
        let (line, column, message) = all.remove(0);
        Err(RulesError::Invalid { origin, line, column, message, more: all })
    }

    fn parse_first(text: &str, origin: RulesOrigin) -> Result<Rules, RulesError> {
        // Every message passes through `sanitize`, whatever built it: the rules
        // file may be any file, and its text must not reach the output.
        let invalid_at = |line: usize, column: usize, message: String| RulesError::Invalid {
            origin: origin.clone(),
            line,
            column,
            message: sanitize(&message),
            more: Vec::new(),
        };
        if text.len() as u64 > MAX_RULES_BYTES {
            return Err(invalid_at(
                1,
                1,
                format!("rules of {} bytes are larger than the limit of {MAX_RULES_BYTES} bytes (1 MiB)", text.len()),
            ));
        }
        // The positional parser first: it refuses what kubectl refuses in
        // manifests (duplicate keys anywhere, which serde_yaml would let a map
        // overwrite silently; nesting and alias bombs), and it tells a file
        // that is not a mapping at all without quoting it.
        match crate::yaml::parse(text) {
            Err(err) => {
                let (line, column) = crate::yaml::line_col(text, err.offset.min(text.len()));
                return Err(invalid_at(line, column, err.message));
            }
            Ok(documents) => {
                if let Some(root) = documents.first().map(|d| &d.root) {
                    if !root.is_mapping() && !root.is_null() {
                        let (line, column) = crate::yaml::line_col(text, root.span.start);
                        let found = match root.kind {
                            crate::yaml::NodeKind::Sequence { .. } => "a list",
                            crate::yaml::NodeKind::Alias => "an alias",
                            _ => "a scalar",
                        };
                        return Err(invalid_at(
                            line,
                            column,
                            format!("not a rules file: the top level is {found}, not a mapping with `version: 1`"),
                        ));
                    }
                }
            }
        }
        let file: RulesFile = serde_yaml::from_str(text).map_err(|err| {
            let message = strip_location(&err.to_string());
            let (line, column) = err.location().map_or((1, 1), |loc| (loc.line(), loc.column()));
            // libyaml ends a stream that has no final line break with one of its
            // own, so an error at the end is placed on a line after the last:
            // put it at the end of the text instead (found by the `rules` fuzz target).
            let end = crate::yaml::line_col(text, text.len());
            let (line, column) = if line > end.0 { end } else { (line, column) };
            // serde_yaml pins errors raised while converting a value to the enclosing
            // collection; point at the offending value itself.
            let (line, column) = offending_value(&message)
                .and_then(|value| find_scalar_after(text, line, column, value))
                .unwrap_or((line, column));
            invalid_at(line, column, message)
        })?;
        // serde has checked the shape; what remains needs the text to point at.
        let locate = |path: &[&str]| locate(text, path);
        if file.version != 1 {
            let (line, column) = locate(&["version"]);
            return Err(invalid_at(line, column, format!("unsupported version {} (expected 1)", file.version)));
        }
        let mut environments = Vec::new();
        let glob_line = |path: &[&str]| locate(path).0;
        for (name, spec) in file.environments {
            for secret in &spec.image_pull_secrets {
                check_secret_name(secret).map_err(|msg| {
                    let (line, column) = locate(&["environments", &name, "imagePullSecrets"]);
                    invalid_at(line, column, msg)
                })?;
            }
            let path_lines =
                (0..spec.paths.len()).map(|i| glob_line(&["environments", &name, "paths", &i.to_string()])).collect();
            environments.push(Environment {
                path_lines,
                name,
                paths: spec.paths.into_iter().map(|p| p.0).collect(),
                namespaces: spec.namespaces.into_iter().map(|p| p.0).collect(),
                policy: spec.image_pull_policy,
                secrets: dedup(spec.image_pull_secrets),
                attach_secrets_to: spec.attach_secrets_to,
                overwrite: spec.overwrite,
            });
        }
        let default_environment = match file.default_environment {
            None => None,
            Some(name) => match environments.iter().position(|env| env.name == name) {
                Some(index) => Some(index),
                None => {
                    let (line, column) = locate(&["defaultEnvironment"]);
                    return Err(invalid_at(
                        line,
                        column,
                        format!("defaultEnvironment `{}` is not one of the environments", token(&name)),
                    ));
                }
            },
        };
        let mut images = Vec::new();
        for (index, spec) in file.images.into_iter().enumerate() {
            let at = |msg: String| {
                let index = index.to_string();
                let (line, column) = locate(&["images", &index]);
                invalid_at(line, column, msg)
            };
            if spec.patterns.0.is_empty() {
                return Err(at("`match` needs at least one image glob".to_string()));
            }
            if spec.image_pull_policy.is_none() && spec.image_pull_secrets.is_empty() {
                return Err(at("an image rule must set `imagePullPolicy` or `imagePullSecrets`".to_string()));
            }
            for secret in &spec.image_pull_secrets {
                check_secret_name(secret).map_err(at)?;
            }
            images.push(ImageRule {
                index,
                patterns: spec.patterns.0.into_iter().map(|p| p.0).collect(),
                policy: spec.image_pull_policy,
                secrets: dedup(spec.image_pull_secrets),
            });
        }
        let mut workloads = Vec::new();
        for (index, spec) in file.workloads.into_iter().enumerate() {
            let pod_spec_path: Vec<String> =
                spec.pod_spec_path.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect();
            if pod_spec_path.is_empty() {
                let (line, column) = locate(&["workloads", &index.to_string(), "podSpecPath"]);
                return Err(invalid_at(line, column, "`podSpecPath` is empty".to_string()));
            }
            workloads.push(Workload { kind: spec.kind, api_version: spec.api_version, pod_spec_path });
        }
        for secret in &file.provided_secrets {
            check_secret_name(secret).map_err(|msg| {
                let (line, column) = locate(&["providedSecrets"]);
                invalid_at(line, column, msg)
            })?;
        }
        let exclude =
            file.exclude.into_iter().enumerate().map(|(i, p)| (p.0, glob_line(&["exclude", &i.to_string()]))).collect();
        let mut helm_charts: Vec<HelmChart> = Vec::new();
        for (index, spec) in file.helm.map(|helm| helm.charts).unwrap_or_default().into_iter().enumerate() {
            let index_text = index.to_string();
            let (line, column) = locate(&["helm", "charts", &index_text]);
            let at = |msg: String| invalid_at(line, column, format!("helm.charts[{index}]: {msg}"));
            for (key, list) in [("pullPolicy", &spec.pull_policy), ("pullSecrets", &spec.pull_secrets)] {
                for (item, values_key) in list.iter().enumerate() {
                    helm::check_values_key(values_key).map_err(|msg| {
                        let (line, column) = locate(&["helm", "charts", &index_text, key, &item.to_string()]);
                        invalid_at(line, column, msg)
                    })?;
                }
            }
            if spec.pull_policy.is_empty() && spec.pull_secrets.is_empty() {
                return Err(at(helm::MISSING_KEYS.to_string()));
            }
            if spec.version.is_none() {
                let first = helm_charts.iter().find(|chart| chart.version.is_none() && chart.name == spec.name);
                if let Some(first) = first {
                    return Err(at(helm::duplicate_message(&spec.name, first.index)));
                }
            }
            helm_charts.push(HelmChart {
                index,
                line,
                name: spec.name,
                version: spec.version,
                pull_policy: spec.pull_policy,
                pull_secrets: spec.pull_secrets,
            });
        }
        Ok(Rules {
            origin,
            default_environment,
            environments,
            images,
            workloads,
            exclude,
            provided_secrets: dedup(file.provided_secrets),
            helm_charts,
        })
    }

    /// Makes every document belong to environment `name` (`--env`).
    pub fn environment_index(&self, name: &str) -> Result<usize, RulesError> {
        self.environments.iter().position(|env| env.name == name).ok_or_else(|| RulesError::UnknownEnvironment {
            name: token(name),
            known: self.environments.iter().map(|env| token(&env.name)).collect::<Vec<_>>().join(", "),
        })
    }

    /// The environment whose `paths` match a repository-relative path.
    pub fn env_for_path(&self, path: &str) -> Result<Option<EnvChoice>, EnvConflict> {
        self.unique_match(|env| env.paths.iter().find(|p| p.is_match(path)).map(|p| EnvReason::Path(p.text.clone())))
    }

    /// The environment whose `namespaces` match a document's namespace.
    pub fn env_for_namespace(&self, namespace: &str) -> Result<Option<EnvChoice>, EnvConflict> {
        self.unique_match(|env| {
            env.namespaces.iter().find(|p| p.is_match(namespace)).map(|p| EnvReason::Namespace(p.text.clone()))
        })
    }

    fn unique_match(
        &self,
        reason_for: impl Fn(&Environment) -> Option<EnvReason>,
    ) -> Result<Option<EnvChoice>, EnvConflict> {
        // Asked of every file a run reads: the common answers (none, one)
        // allocate nothing beyond the reason.
        let mut matching = self.environments.iter().enumerate().filter_map(|(env, e)| reason_for(e).map(|r| (env, r)));
        let Some((env, reason)) = matching.next() else { return Ok(None) };
        let Some((second, _)) = matching.next() else { return Ok(Some(EnvChoice { env, reason })) };
        let names = [env, second]
            .into_iter()
            .chain(matching.map(|(env, _)| env))
            .map(|env| self.environments[env].name.clone())
            .collect();
        Err(EnvConflict { names })
    }

    /// The `helm.charts` entry for chart `name` at `version` (as the release
    /// or `Chart.yaml` writes it; `None` when it says none): the first whose
    /// name is `name` and whose `version` range, if it has one, holds
    /// `version`. An entry with a range is never picked for an unknown
    /// version or one that is not semver.
    pub fn helm_chart(&self, name: &str, version: Option<&str>) -> Option<&HelmChart> {
        self.helm_charts.iter().find(|chart| {
            chart.name == name
                && match (&chart.version, version) {
                    (None, _) => true,
                    (Some(range), Some(version)) => range.matches(version),
                    (Some(_), None) => false,
                }
        })
    }

    /// Every pull secret name the rules can give a pod (environments' and
    /// image rules'): the only names whose definitions a run looks for.
    pub fn pull_secret_names(&self) -> impl Iterator<Item = &str> {
        let of_environments = self.environments.iter().flat_map(|env| &env.secrets);
        of_environments.chain(self.images.iter().flat_map(|rule| &rule.secrets)).map(String::as_str)
    }

    /// Whether any environment looks at namespaces (else documents need no namespace lookup).
    pub fn uses_namespaces(&self) -> bool {
        self.environments.iter().any(|env| !env.namespaces.is_empty())
    }
}

fn dedup(names: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Secret names are DNS subdomains (RFC 1123, as Kubernetes checks them): at
/// most 253 characters, dot-separated labels of lower-case letters, digits
/// and `-`, each starting and ending with a letter or digit. The message says
/// which of these the name breaks.
fn check_secret_name(name: &str) -> Result<(), String> {
    let broken = if name.is_empty() {
        Some("it is empty".to_string())
    } else if name.chars().count() > 253 {
        Some(format!("it is {} characters long, more than the 253 allowed", name.chars().count()))
    } else if let Some(bad) =
        name.chars().find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'))
    {
        Some(format!("`{}` is not allowed (only lower-case letters, digits, `-` and `.`)", token(&bad.to_string())))
    } else if name.split('.').any(str::is_empty) {
        Some("it has an empty label (a leading, trailing or doubled `.`)".to_string())
    } else if name.split('.').any(|label| label.starts_with('-') || label.ends_with('-')) {
        Some("a label starts or ends with `-` (each must start and end with a letter or digit)".to_string())
    } else {
        None
    };
    match broken {
        None => Ok(()),
        Some(why) => Err(format!("`{}` is not a valid secret name: {why}", token(name))),
    }
}

/// The value our own conversion errors name, as a [`token`]: ``unknown policy `X` ``,
/// ``bad glob `X` ``, ``glob `X` is N characters long`` or ``bad version range `X` ``.
fn offending_value(message: &str) -> Option<&str> {
    ["unknown policy `", "glob `", "version range `"].iter().find_map(|prefix| {
        let start = message.find(prefix)? + prefix.len();
        let len = message[start..].find('`')?;
        Some(&message[start..start + len])
    })
}

/// Line and column of the first scalar whose [`token`] is `value`, at or after `line:column`.
fn find_scalar_after(text: &str, line: usize, column: usize, value: &str) -> Option<(usize, usize)> {
    fn walk<'a>(node: &'a crate::yaml::Node, out: &mut Vec<&'a crate::yaml::Node>) {
        match &node.kind {
            crate::yaml::NodeKind::Scalar { .. } => out.push(node),
            crate::yaml::NodeKind::Mapping { entries, .. } => entries.iter().for_each(|(k, v)| {
                walk(k, out);
                walk(v, out);
            }),
            crate::yaml::NodeKind::Sequence { items, .. } => items.iter().for_each(|item| walk(item, out)),
            crate::yaml::NodeKind::Alias => {}
        }
    }
    let documents = crate::yaml::parse(text).ok()?;
    let lines = crate::yaml::LineIndex::new(text);
    let mut scalars = Vec::new();
    documents.iter().for_each(|d| walk(&d.root, &mut scalars));
    scalars
        .into_iter()
        .map(|node| (lines.line_col(text, node.span.start), node))
        .find(|(at, node)| *at >= (line, column) && node.as_str().map(token).as_deref() == Some(value))
        .map(|(at, _)| at)
}

/// serde_yaml appends " at line L column C"; the location is printed in front instead.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

/// Line and column of the node at `path` (mapping keys or sequence indices),
/// or of the deepest part of it that exists.
fn locate(text: &str, path: &[&str]) -> (usize, usize) {
    let Ok(docs) = crate::yaml::parse(text) else {
        return (1, 1);
    };
    let Some(mut node) = docs.first().map(|d| &d.root) else {
        return (1, 1);
    };
    let mut offset = node.span.start;
    for part in path {
        if let Some((key, value)) = node.entry(part) {
            offset = key.span.start;
            node = value;
        } else if let Some(item) = part.parse::<usize>().ok().and_then(|i| node.items().get(i)) {
            offset = item.span.start;
            node = item;
        } else {
            break;
        }
    }
    crate::yaml::line_col(text, offset)
}

/// Where `.pullsmith.yaml` was found at a repository root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRules {
    /// The name as found (`root/.pullsmith.yaml`), for messages.
    pub path: PathBuf,
    /// The file to read: the same name, or where its link leads inside the
    /// repository, with no link left in the way.
    pub read_from: PathBuf,
}

/// Finds `name` in `dir`, a directory of the repository at `root`. A link
/// is followed only when it leads to a regular file inside the repository
/// and outside `.git`; a link out of it, into `.git`, to nothing, or to
/// something else than a regular file is refused, naming the link and never
/// reading what it leads to. A missing name is `Ok(None)`.
pub fn find_in_repository(dir: &Path, root: &Path, name: &str) -> Result<Option<FoundRules>, RulesError> {
    let path = dir.join(name);
    let metadata = match std::fs::symlink_metadata(&path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(RulesError::Read { path, error }),
    };
    if !metadata.file_type().is_symlink() {
        if !metadata.is_file() {
            return Err(RulesError::NotRegular { path, what: crate::fsio::kind_of(metadata.file_type()) });
        }
        return Ok(Some(FoundRules { read_from: path.clone(), path }));
    }
    let refuse = |reason: &'static str| RulesError::Refused { path: path.clone(), reason };
    let canonical_root = root.canonicalize().map_err(|error| RulesError::Read { path: root.to_path_buf(), error })?;
    let Ok(target) = path.canonicalize() else {
        return Err(refuse("a symbolic link that leads nowhere"));
    };
    let Ok(inside) = target.strip_prefix(&canonical_root) else {
        return Err(refuse("a symbolic link out of the repository"));
    };
    // `.git` is inside the root but is not the repository's content: its
    // `config` holds the checkout token.
    if inside.components().any(|part| part.as_os_str() == ".git") {
        return Err(refuse("a symbolic link into `.git`"));
    }
    match std::fs::symlink_metadata(&target) {
        Ok(target_metadata) if target_metadata.is_file() => {}
        _ => return Err(refuse("a symbolic link to something that is not a regular file")),
    }
    Ok(Some(FoundRules { path: path.clone(), read_from: canonical_root.join(inside) }))
}

/// The input `text` as a message may quote it: at most [`TOKEN_CHARS`]
/// characters (then `…`), control characters escaped, backticks made `'`
/// so that the token cannot close its own quotes.
pub fn token(text: &str) -> String {
    let mut out = String::new();
    for (n_chars, c) in text.chars().enumerate() {
        if n_chars >= TOKEN_CHARS {
            out.push('…');
            break;
        }
        match c {
            '`' => out.push('\''),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// The starts of the messages serde and our `Deserialize` impls produce,
/// after serde_yaml's `path: ` prefix.
const MESSAGE_STARTS: &[&str] = &[
    "invalid type: ",
    "invalid value: ",
    "invalid length ",
    "unknown variant ",
    "unknown field ",
    "missing field ",
    "duplicate field ",
    "unknown policy ",
    "bad glob ",
    "glob `",
    "bad version range ",
];

/// Makes a message safe to print whatever input it quotes: serde_yaml's
/// path prefix has the environment name cut to a token, every `` `…` `` or
/// `"…"` quote is cut to a token, control characters are escaped, and the
/// whole is capped at [`MESSAGE_CHARS`]. Our own messages quote tokens
/// already, so this changes nothing in them.
fn sanitize(message: &str) -> String {
    let split = MESSAGE_STARTS
        .iter()
        .filter_map(|start| message.find(&format!(": {start}")))
        .min()
        .filter(|_| !MESSAGE_STARTS.iter().any(|start| message.starts_with(start)));
    let (path, body) = match split {
        Some(at) => (Some(&message[..at]), &message[at + 2..]),
        None => (None, message),
    };
    let mut out = String::new();
    if let Some(path) = path {
        out.push_str(&sanitize_path(path));
        out.push_str(": ");
    }
    out.push_str(&truncate_quotes(body));
    if out.chars().count() > MESSAGE_CHARS {
        out = out.chars().take(MESSAGE_CHARS).collect();
        out.push('…');
    }
    out
}

/// serde_yaml's path to a value (`environments.dev.paths[0]`): only an
/// environment's name is free text.
fn sanitize_path(path: &str) -> String {
    let Some(rest) = path.strip_prefix("environments.") else {
        return token(path);
    };
    let field_at = rest.rfind('.').filter(|&dot| {
        let field = &rest[dot + 1..];
        let field = field.find('[').map_or(field, |bracket| &field[..bracket]);
        // serde_yaml names an unknown field `?`.
        field == "?" || lint::ENVIRONMENT_KEYS.contains(&field)
    });
    let (name, tail) = match field_at {
        Some(dot) => (&rest[..dot], &rest[dot..]),
        None => (rest, ""),
    };
    format!("environments.{}{}", token(name), token(tail))
}

/// Cuts the content of every `` `…` `` and `"…"` (with `\` escapes) quote to a token.
fn truncate_quotes(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find(['`', '"']) {
        out.push_str(&unquoted(&rest[..open]));
        let quote = rest.as_bytes()[open];
        let content_start = open + 1;
        let mut close = None;
        let mut escaped = false;
        for (i, b) in rest.as_bytes()[content_start..].iter().enumerate() {
            if escaped {
                escaped = false;
            } else if quote == b'"' && *b == b'\\' {
                escaped = true;
            } else if *b == quote {
                close = Some(content_start + i);
                break;
            }
        }
        let close = close.unwrap_or(rest.len());
        out.push(quote as char);
        out.push_str(&token(&rest[content_start..close]));
        out.push(quote as char);
        rest = rest.get(close + 1..).unwrap_or("");
    }
    out.push_str(&unquoted(rest));
    out
}

/// Text between quotes is the message's own wording, short; a long run can
/// only be input that slipped through (a name holding `: unknown field `),
/// so it is cut like a token, just later.
fn unquoted(text: &str) -> String {
    const UNQUOTED_CHARS: usize = 120;
    let mut out: String = text
        .chars()
        .take(UNQUOTED_CHARS)
        .flat_map(|c| if c.is_control() { c.escape_default().collect() } else { vec![c] })
        .collect();
    if text.chars().count() > UNQUOTED_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests;
