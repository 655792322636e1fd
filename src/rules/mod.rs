//! The typed rules file: loading, validating (with the rules file's line and
//! column on every error) and resolving environments and image rules.
//!
//! Rules never touch the repository: they are data, loaded once before any
//! file is read.

mod image;
mod model;

pub use image::{image_forms, is_latest_or_untagged};
pub use model::{AttachSecretsTo, Pattern, Policy};

use std::path::{Path, PathBuf};

use model::RulesFile;

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
    /// The rules file could not be read at all.
    #[error("{path}: cannot read rules file: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// The rules file was read but says something invalid, at a known place.
    #[error("{origin}:{line}:{column}: {message}")]
    Invalid { origin: RulesOrigin, line: usize, column: usize, message: String },
    /// `--env` names no environment of the rules.
    #[error("unknown environment `{name}` (the rules define: {known})")]
    UnknownEnvironment { name: String, known: String },
}

/// One environment, validated.
#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    pub paths: Vec<Pattern>,
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

/// An extra kind that carries a pod template.
#[derive(Debug, Clone)]
pub struct Workload {
    pub kind: String,
    pub api_version: Option<String>,
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
    /// Reads rules from `path`.
    pub fn from_file(path: &Path) -> Result<Rules, RulesError> {
        // On the opened handle: a FIFO or a device is refused, not read forever (at most 1 MiB).
        let text = crate::fsio::read_regular_text(path, 1 << 20)
            .map_err(|err| RulesError::Read { path: path.to_path_buf(), source: err.into() })?;
        Rules::parse(&text, RulesOrigin::File(path.to_path_buf()))
    }

    pub fn embedded_default() -> Rules {
        Rules::parse(DEFAULT_RULES, RulesOrigin::Embedded).expect("the embedded default rules are valid")
    }

    pub fn parse(text: &str, origin: RulesOrigin) -> Result<Rules, RulesError> {
        let invalid_at = |line: usize, column: usize, message: String| RulesError::Invalid {
            origin: origin.clone(),
            line,
            column,
            message,
        };
        let file: RulesFile = serde_yaml::from_str(text).map_err(|err| {
            let message = strip_location(&err.to_string());
            let (line, column) = err.location().map_or((1, 1), |loc| (loc.line(), loc.column()));
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
        for (name, spec) in file.environments {
            for secret in &spec.image_pull_secrets {
                check_secret_name(secret).map_err(|msg| {
                    let (line, column) = locate(&["environments", &name, "imagePullSecrets"]);
                    invalid_at(line, column, msg)
                })?;
            }
            environments.push(Environment {
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
                        format!("defaultEnvironment `{name}` is not one of the environments"),
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
        Ok(Rules { origin, default_environment, environments, images, workloads })
    }

    /// Makes every document belong to environment `name` (`--env`).
    pub fn environment_index(&self, name: &str) -> Result<usize, RulesError> {
        self.environments.iter().position(|env| env.name == name).ok_or_else(|| RulesError::UnknownEnvironment {
            name: name.to_string(),
            known: self.environments.iter().map(|env| env.name.as_str()).collect::<Vec<_>>().join(", "),
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
        let mut found: Vec<EnvChoice> = self
            .environments
            .iter()
            .enumerate()
            .filter_map(|(env, e)| reason_for(e).map(|reason| EnvChoice { env, reason }))
            .collect();
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            _ => Err(EnvConflict { names: found.iter().map(|c| self.environments[c.env].name.clone()).collect() }),
        }
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

/// Secret names are DNS subdomains: lower-case alphanumerics, `-` and `.`.
fn check_secret_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!("`{name}` is not a valid secret name (lower-case letters, digits, `-` and `.`)"))
    }
}

/// The value our own conversion errors name: ``unknown policy `X` `` or ``bad glob `X` ``.
fn offending_value(message: &str) -> Option<&str> {
    ["unknown policy `", "bad glob `"].iter().find_map(|prefix| {
        let start = message.find(prefix)? + prefix.len();
        let len = message[start..].find('`')?;
        Some(&message[start..start + len])
    })
}

/// Line and column of the first scalar equal to `value` at or after `line:column`.
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
        .find(|(at, node)| *at >= (line, column) && node.as_str() == Some(value))
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

#[cfg(test)]
mod tests;
