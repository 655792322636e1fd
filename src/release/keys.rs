//! Which values keys set a release's pull policies and pull secrets, and why.

use crate::helm::{ChartKeys, Location, Policy, Shape};
use crate::rules::HelmChart;

/// Why a key was chosen, for explain and the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// A template of the chart in the repository reads it (repository-relative file, 1-based line).
    Template { file: String, line: usize },
    /// The rules' `helm.charts` entry for the chart.
    Rules { index: usize, line: usize },
    /// The convention of `helm create` and the large chart collections, for a
    /// chart that is not in the repository and has no rules entry.
    Convention,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Template { file, line } => write!(f, "read by {file}:{line}"),
            Why::Rules { index, line } => write!(f, "rules helm.charts[{index}] (line {line})"),
            Why::Convention => {
                f.write_str("convention (the chart is not in the repository and no helm.charts entry names it)")
            }
        }
    }
}

/// A key that feeds containers' `imagePullPolicy`.
#[derive(Debug, Clone)]
pub struct PolicyKey {
    pub path: String,
    /// The containers it feeds, as the templates name them (empty when not known).
    pub containers: Vec<String>,
    pub why: Why,
}

/// A key that feeds pods' (or ServiceAccounts') `imagePullSecrets`.
#[derive(Debug, Clone)]
pub struct SecretsKey {
    pub path: String,
    /// The entries the chart accepts: names, `name:` mappings, or either.
    pub shape: Option<Shape>,
    /// What the chart's own default values hold.
    pub default_shape: Option<Shape>,
    pub why: Why,
}

/// The keys of a release and what they leave out.
#[derive(Debug, Clone, Default)]
pub struct KeyChoice {
    pub policy: Vec<PolicyKey>,
    pub secrets: Vec<SecretsKey>,
    /// Containers whose policy no values key sets: why, for the report.
    pub policy_gaps: Vec<String>,
    /// Pods whose secrets no values key sets.
    pub secrets_gaps: Vec<String>,
    /// Containers whose template writes a fixed policy: (container, policy, where).
    pub fixed: Vec<(String, String, String)>,
    /// Values keys whose entries are whole containers (`extraContainers`).
    pub in_values: Vec<String>,
    /// What the chart's analysis could not follow, and pull keys its values
    /// declare that no template reads.
    pub notes: Vec<String>,
}

/// The keys a chart in the repository (at `dir`) reads, from its analysis.
/// With `accounts`, secrets go to the ServiceAccounts the chart renders.
pub fn from_chart(keys: &ChartKeys, dir: &str, accounts: bool) -> KeyChoice {
    let at = |location: &Location| Why::Template { file: join(dir, &location.file), line: location.line };
    let place = |location: &Location| format!("{}:{}", join(dir, &location.file), location.line);
    let mut choice = KeyChoice::default();
    for pod in &keys.pods {
        for container in &pod.containers {
            let name = if container.name.is_empty() { "?".to_string() } else { container.name.clone() };
            match &container.policy {
                Policy::Keys(found) => {
                    for key in found {
                        match choice.policy.iter_mut().find(|k| k.path == key.path) {
                            Some(existing) => existing.containers.push(name.clone()),
                            None => choice.policy.push(PolicyKey {
                                path: key.path.clone(),
                                containers: vec![name.clone()],
                                why: at(&key.at),
                            }),
                        }
                    }
                }
                Policy::Fixed { value, at } => choice.fixed.push((name, value.clone(), place(at))),
                Policy::Absent => choice.policy_gaps.push(format!(
                    "container `{name}` ({}): the chart writes no imagePullPolicy, so no value sets it",
                    place(&container.at)
                )),
                Policy::InValues(found) => choice.in_values.extend(found.iter().map(|k| k.path.clone())),
                Policy::Unknown(unknown) => choice.policy_gaps.push(format!(
                    "container `{name}` ({}:{}): {}",
                    join(dir, &unknown.template),
                    unknown.line,
                    unknown.reason
                )),
            }
        }
    }
    // Secrets: the fewest keys that reach every pod (or ServiceAccount), a
    // key that reaches more of them first.
    let holders: Vec<(&[crate::helm::SecretsKey], &[crate::helm::Unknown], &Location)> = if accounts {
        keys.service_accounts.iter().map(|a| (a.secrets.as_slice(), a.secrets_unknown.as_slice(), &a.at)).collect()
    } else {
        keys.pods.iter().map(|p| (p.secrets.as_slice(), p.secrets_unknown.as_slice(), &p.at)).collect()
    };
    let holder = if accounts { "ServiceAccount" } else { "pod" };
    let mut uncovered: Vec<usize> = Vec::new();
    for (index, (secrets, unknown, location)) in holders.iter().enumerate() {
        if secrets.is_empty() {
            let why = match unknown.first() {
                Some(u) => format!("{}:{}: {}", join(dir, &u.template), u.line, u.reason),
                None => "the chart renders no imagePullSecrets from values for it".to_string(),
            };
            choice.secrets_gaps.push(format!("{holder} at {}: {why}", place(location)));
        } else {
            uncovered.push(index);
        }
    }
    while !uncovered.is_empty() {
        let mut best: Option<(&crate::helm::SecretsKey, usize)> = None;
        for &index in &uncovered {
            for key in holders[index].0 {
                let reach = uncovered.iter().filter(|&&i| holders[i].0.iter().any(|k| k.path == key.path)).count();
                let better = match best {
                    None => true,
                    Some((b, r)) => reach > r || (reach == r && key.path.len() < b.path.len()),
                };
                if better {
                    best = Some((key, reach));
                }
            }
        }
        let Some((key, _)) = best else { break };
        uncovered.retain(|&i| !holders[i].0.iter().any(|k| k.path == key.path));
        choice.secrets.push(SecretsKey {
            path: key.path.clone(),
            shape: Some(key.shape),
            default_shape: key.default_shape,
            why: at(&key.at),
        });
    }
    if accounts && keys.service_accounts.is_empty() {
        choice.secrets_gaps.push("the chart renders no ServiceAccount with imagePullSecrets".to_string());
    }
    for unknown in &keys.unknowns {
        choice.notes.push(format!("{}:{}: {}", join(dir, &unknown.template), unknown.line, unknown.reason));
    }
    for declared in &keys.unread {
        choice.notes.push(format!(
            "`{}` is declared in {}:{} but no template reads it: setting it changes nothing",
            declared.path,
            join(dir, &declared.at.file),
            declared.at.line
        ));
    }
    if keys.pods.is_empty() {
        choice.notes.push("the chart's templates render no pod".to_string());
    }
    choice
}

/// The keys a rules entry names.
pub fn from_rules(chart: &HelmChart) -> KeyChoice {
    let why = Why::Rules { index: chart.index, line: chart.line };
    KeyChoice {
        policy: chart
            .pull_policy
            .iter()
            .map(|path| PolicyKey { path: path.clone(), containers: Vec::new(), why: why.clone() })
            .collect(),
        secrets: chart
            .pull_secrets
            .iter()
            .map(|path| SecretsKey { path: path.clone(), shape: None, default_shape: None, why: why.clone() })
            .collect(),
        ..KeyChoice::default()
    }
}

/// The conventions, for a chart that is neither in the repository nor
/// named by the rules: `image.pullPolicy`, and `<component>.image.pullPolicy`
/// for each top-level block of the release's values that has an `image`
/// mapping (`components`); `imagePullSecrets` and `global.imagePullSecrets`.
pub fn conventions(components: &[String]) -> KeyChoice {
    let mut policy =
        vec![PolicyKey { path: "image.pullPolicy".to_string(), containers: Vec::new(), why: Why::Convention }];
    for component in components {
        let path = format!("{component}.image.pullPolicy");
        if !policy.iter().any(|k| k.path == path) {
            policy.push(PolicyKey { path, containers: Vec::new(), why: Why::Convention });
        }
    }
    let secrets = ["imagePullSecrets", "global.imagePullSecrets"]
        .iter()
        .map(|path| SecretsKey { path: path.to_string(), shape: None, default_shape: None, why: Why::Convention })
        .collect();
    KeyChoice { policy, secrets, ..KeyChoice::default() }
}

fn join(dir: &str, file: &str) -> String {
    if dir.is_empty() {
        file.to_string()
    } else {
        format!("{dir}/{file}")
    }
}
