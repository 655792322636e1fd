//! What a `helm.charts[]` entry says, checked: the chart version range it
//! applies to, read as Helm reads ranges (the Masterminds constraints of
//! `helm install --version`, a HelmRelease's `spec.chart.spec.version`) and
//! kept as `semver` requirements, and the dotted values keys it names.
//!
//! Nothing here knows a repository or a release: the Helm planner asks
//! [`super::Rules::helm_chart`] with the name and version it has found.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::Deserialize;

/// A `helm.charts[].version` range: the text as written (for messages) and
/// one requirement per `||` alternative.
#[derive(Debug, Clone)]
pub struct ChartVersion {
    pub text: String,
    pub alternatives: Vec<semver::VersionReq>,
}

impl ChartVersion {
    /// Reads a range as Helm users write it: `1.2.3` (exactly that version),
    /// `>=1.2.0 <2.0.0` and `>=1.2, <2` (both must hold), `^1.2`, `~1.2.3`,
    /// `1.2.x`, `1.x`, `*`, `1.2 - 1.4.5`, and alternatives joined by `||`.
    /// The error says what is wrong, without the text (the caller quotes it).
    pub fn parse(text: &str) -> Result<ChartVersion, String> {
        if text.trim().is_empty() {
            return Err("it is empty".to_string());
        }
        let alternatives = text
            .split("||")
            .map(|alternative| {
                let comparators = comparators(alternative)?;
                semver::VersionReq::parse(&comparators.join(", ")).map_err(|err| err.to_string())
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(ChartVersion { text: text.to_string(), alternatives })
    }

    /// Whether the chart version `version` (`1.2.3`, or `v1.2.3` as some
    /// charts are tagged) is in the range. A version that is not semver, a
    /// range among them (a HelmRelease may ask for `>=1.0.0`), is never in it.
    pub fn matches(&self, version: &str) -> bool {
        let version = version.strip_prefix('v').unwrap_or(version);
        match semver::Version::parse(version) {
            Ok(version) => self.alternatives.iter().any(|req| req.matches(&version)),
            Err(_) => false,
        }
    }
}

impl fmt::Display for ChartVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for ChartVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ChartVersion::parse(&text).map_err(|why| de::Error::custom(bad_range_message(&text, &why)))
    }
}

/// The message of a range that does not parse; the lint and the typed parse say the same.
pub(super) fn bad_range_message(text: &str, why: &str) -> String {
    format!("bad version range `{}`: {why}", super::token(text))
}

/// Masterminds' operators, longest first, with the `semver` operator each
/// one means. A missing operator means `=` in Helm, where `semver` would
/// read `^`.
const OPERATORS: &[(&str, &str)] = &[
    (">=", ">="),
    ("=>", ">="),
    ("<=", "<="),
    ("=<", "<="),
    ("~>", "~"),
    (">", ">"),
    ("<", "<"),
    ("=", "="),
    ("~", "~"),
    ("^", "^"),
];

/// The `semver` comparators of one `||` alternative. Comparators are
/// separated by commas or spaces, and an operator may stand apart from its
/// version (`>= 1.2`).
fn comparators(alternative: &str) -> Result<Vec<String>, String> {
    let words: Vec<&str> =
        alternative.split(|c: char| c == ',' || c.is_whitespace()).filter(|word| !word.is_empty()).collect();
    if words.is_empty() {
        return Err("an alternative of `||` is empty".to_string());
    }
    let mut out = Vec::new();
    let mut index = 0;
    while index < words.len() {
        let word = words[index];
        if word.starts_with("!=") {
            return Err("`!=` is not supported".to_string());
        }
        if words.get(index + 1) == Some(&"-") {
            // A hyphen range: `1.2 - 1.4.5` is `>=1.2 <=1.4.5`.
            let Some(upper) = words.get(index + 2) else {
                return Err("a hyphen range needs a version after `-`".to_string());
            };
            out.push(comparator(">=", word)?);
            out.push(comparator("<=", upper)?);
            index += 3;
            continue;
        }
        let (operator, version) = match OPERATORS.iter().find(|(written, _)| word.starts_with(written)) {
            Some((written, meant)) => (*meant, &word[written.len()..]),
            None => ("=", word),
        };
        if version.is_empty() {
            let Some(version) = words.get(index + 1) else {
                return Err(format!("`{operator}` needs a version after it"));
            };
            out.push(comparator(operator, version)?);
            index += 2;
        } else {
            out.push(comparator(operator, version)?);
            index += 1;
        }
    }
    Ok(out)
}

/// One `semver` comparator: `operator` (already `semver`'s) and `version`,
/// whose leading `v` Helm allows. A version of wildcards only (`*`, `x`,
/// `x.x`) is any release.
fn comparator(operator: &str, version: &str) -> Result<String, String> {
    let version = version.strip_prefix('v').unwrap_or(version);
    let all_wildcards = version.split('.').all(|part| matches!(part, "*" | "x" | "X"));
    if all_wildcards {
        if operator != "=" {
            return Err(format!("`{operator}` needs a version, not only a wildcard"));
        }
        // `*` must stand alone in a `semver` requirement; this bound means the same.
        return Ok(">=0.0.0".to_string());
    }
    Ok(format!("{operator}{version}"))
}

/// Helm values keys are dotted names (`image.pullPolicy`,
/// `global.imagePullSecrets`): no empty segment, no whitespace, no list
/// index and no template. The message says which of these the key breaks.
pub(super) fn check_values_key(key: &str) -> Result<(), String> {
    let broken = if key.is_empty() {
        Some("it is empty")
    } else if key.chars().any(char::is_whitespace) {
        Some("it holds whitespace")
    } else if key.contains("{{") {
        Some("`{{` is not allowed (a values key, not a template)")
    } else if key.contains(['[', ']']) {
        Some("`[` and `]` are not allowed (dotted names only, no list index)")
    } else if key.split('.').any(str::is_empty) {
        Some("it has an empty segment (a leading, trailing or doubled `.`)")
    } else if let Some(odd) = key.chars().find(|c| !(c.is_ascii_alphanumeric() || "._-".contains(*c))) {
        // The key is written into values files: a `*`, `&`, `!`, `#`, `:` or quote
        // would make it an alias, an anchor, a tag, a comment or another key.
        return Err(format!(
            "`{}` is not a dotted values key: `{odd}` is not allowed (letters, digits, `_` and `-` between the dots)",
            super::token(key)
        ));
    } else {
        None
    };
    match broken {
        None => Ok(()),
        Some(why) => Err(format!("`{}` is not a dotted values key: {why}", super::token(key))),
    }
}

/// An entry that names no values key would never change anything.
pub(super) const MISSING_KEYS: &str = "a chart entry must set `pullPolicy` or `pullSecrets`";

/// A second entry for `name` without `version`: [`super::Rules::helm_chart`] would never pick it.
pub(super) fn duplicate_message(name: &str, first_index: usize) -> String {
    format!("chart `{}` is listed again without `version` (first as helm.charts[{first_index}])", super::token(name))
}
