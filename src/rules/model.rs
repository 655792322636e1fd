//! The rules file as written (version 1): serde types that reject unknown
//! keys and misspelled policies, with globs compiled while deserializing so
//! that every mistake is reported at its line and column.

use std::collections::BTreeMap;
use std::fmt;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::de::{self, Deserializer};
use serde::Deserialize;

use super::helm::ChartVersion;

/// `imagePullPolicy`, spelled exactly as the API server accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Always,
    IfNotPresent,
    Never,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Always => "Always",
            Policy::IfNotPresent => "IfNotPresent",
            Policy::Never => "Never",
        }
    }

    pub fn parse(text: &str) -> Option<Policy> {
        // Kubernetes rejects `always`, so compare policies exactly and never normalise case.
        match text {
            "Always" => Some(Policy::Always),
            "IfNotPresent" => Some(Policy::IfNotPresent),
            "Never" => Some(Policy::Never),
            _ => None,
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Policy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Policy::parse(&text).ok_or_else(|| {
            de::Error::custom(format!(
                "unknown policy `{}` (expected `Always`, `IfNotPresent` or `Never`)",
                super::token(&text)
            ))
        })
    }
}

/// A glob as written plus its compiled matcher. The matcher is a one-glob
/// `GlobSet` because building a set reports a regex that is too large as an
/// error, where `Glob::compile_matcher` panics.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub text: String,
    pub matcher: GlobSet,
}

impl Pattern {
    pub fn is_match(&self, candidate: &str) -> bool {
        self.matcher.is_match(candidate)
    }
}

/// A glob on repository-relative paths: `*` and `?` stay inside a segment, `**` spans directories.
#[derive(Debug, Clone)]
pub struct PathPattern(pub Pattern);

/// A glob on image references or namespaces: `*` spans any characters, `/` included.
#[derive(Debug, Clone)]
pub struct TextPattern(pub Pattern);

fn compile<E: de::Error>(text: String, literal_separator: bool) -> Result<Pattern, E> {
    let n_chars = text.chars().count();
    if n_chars > super::MAX_GLOB_CHARS {
        return Err(E::custom(format!(
            "glob `{}` is {n_chars} characters long, more than the limit of {}",
            super::token(&text),
            super::MAX_GLOB_CHARS
        )));
    }
    let bad_glob = |kind: String| E::custom(format!("bad glob `{}`: {kind}", super::token(&text)));
    let glob = GlobBuilder::new(&text)
        .literal_separator(literal_separator)
        .backslash_escape(true)
        .build()
        .map_err(|err| bad_glob(err.kind().to_string()))?;
    let matcher = GlobSetBuilder::new().add(glob).build().map_err(|err| bad_glob(err.kind().to_string()))?;
    Ok(Pattern { matcher, text })
}

/// Whether `text` compiles as a glob (on paths when `paths`), with the
/// message the typed parse would give.
pub(super) fn check_glob(text: &str, paths: bool) -> Result<(), String> {
    let text = if paths { text.strip_prefix("./").unwrap_or(text) } else { text };
    compile::<serde::de::value::Error>(text.to_string(), paths).map(|_| ()).map_err(|err| err.to_string())
}

impl<'de> Deserialize<'de> for PathPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let text = text.strip_prefix("./").map(str::to_string).unwrap_or(text);
        compile(text, true).map(PathPattern)
    }
}

impl<'de> Deserialize<'de> for TextPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        compile(String::deserialize(deserializer)?, false).map(TextPattern)
    }
}

/// The top level of a rules file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RulesFile {
    pub version: u32,
    #[serde(default)]
    pub default_environment: Option<String>,
    #[serde(default)]
    pub environments: BTreeMap<String, EnvironmentSpec>,
    #[serde(default)]
    pub images: Vec<ImageRuleSpec>,
    #[serde(default)]
    pub workloads: Vec<WorkloadSpec>,
    #[serde(default)]
    pub exclude: Vec<PathPattern>,
    #[serde(default)]
    pub provided_secrets: Vec<String>,
    #[serde(default)]
    pub helm: Option<HelmSpec>,
}

/// `helm:`: which values keys carry pull settings, for charts whose
/// templates are not in the repository.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HelmSpec {
    #[serde(default)]
    pub charts: Vec<HelmChartSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HelmChartSpec {
    pub name: String,
    #[serde(default)]
    pub version: Option<ChartVersion>,
    #[serde(default)]
    pub pull_policy: Vec<String>,
    #[serde(default)]
    pub pull_secrets: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvironmentSpec {
    #[serde(default)]
    pub paths: Vec<PathPattern>,
    #[serde(default)]
    pub namespaces: Vec<TextPattern>,
    #[serde(default)]
    pub image_pull_policy: Option<Policy>,
    #[serde(default)]
    pub image_pull_secrets: Vec<String>,
    #[serde(default)]
    pub attach_secrets_to: AttachSecretsTo,
    #[serde(default = "default_true")]
    pub overwrite: bool,
}

fn default_true() -> bool {
    true
}

/// Where an environment's pull secrets go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttachSecretsTo {
    #[default]
    Pod,
    ServiceAccount,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageRuleSpec {
    #[serde(rename = "match")]
    pub patterns: ImagePatterns,
    #[serde(default)]
    pub image_pull_policy: Option<Policy>,
    #[serde(default)]
    pub image_pull_secrets: Vec<String>,
}

/// `match:` takes one glob or a list of them.
#[derive(Debug)]
pub struct ImagePatterns(pub Vec<TextPattern>);

impl<'de> Deserialize<'de> for ImagePatterns {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PatternsVisitor;
        impl<'de> de::Visitor<'de> for PatternsVisitor {
            type Value = ImagePatterns;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an image glob or a list of image globs")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<ImagePatterns, E> {
                Ok(ImagePatterns(vec![TextPattern(compile(text.to_string(), false)?)]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<ImagePatterns, A::Error> {
                let mut patterns = Vec::new();
                while let Some(pattern) = seq.next_element::<TextPattern>()? {
                    patterns.push(pattern);
                }
                Ok(ImagePatterns(patterns))
            }
        }
        deserializer.deserialize_any(PatternsVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadSpec {
    pub kind: String,
    #[serde(default)]
    pub api_version: Option<String>,
    pub pod_spec_path: String,
}
