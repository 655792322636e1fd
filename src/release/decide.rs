//! From releases and the rules to the values edits each file needs, what
//! explain shows per release, and what is not covered and why.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{Field, FieldValue};
use crate::coverage::NotCovered;
use crate::edit::values::Shape as ListShape;
use crate::helm::{self, ChartKeys, Shape};
use crate::rules::{self, AttachSecretsTo, EnvChoice, EnvReason, Rules};
use crate::yaml::{self, Document, Node, NodeKind, ScalarStyle};

use super::apply::{Leaf, ValuesEdit};
use super::find::{ChartSource, Layer, LayerForm, Release};
use super::keys::{self, KeyChoice, Why};

/// What the run read for the planner: files by repository-relative path
/// (`Err` with why one could not be read), and charts in the repository by
/// directory.
#[derive(Default)]
pub struct Sources {
    pub files: BTreeMap<String, Result<SourceFile, String>>,
    pub charts: BTreeMap<String, Result<ChartFacts, String>>,
}

pub struct SourceFile {
    pub text: String,
    pub documents: Vec<Document>,
}

/// A chart in the repository, read and analysed.
pub struct ChartFacts {
    pub chart: helm::Chart,
    pub keys: ChartKeys,
    /// Its `values.yaml`, parsed (None when it has none or it does not parse).
    pub defaults: Option<Document>,
    /// Its subcharts' `values.yaml`, each with the keys its values sit under
    /// in the root chart's values (`["redis"]`, `["redis", "sentinel"]`).
    pub subchart_defaults: Vec<(Vec<String>, Document)>,
}

/// What explain and the report say about one release.
#[derive(Debug, Clone)]
pub struct ReleaseReport {
    pub file: String,
    pub offset: usize,
    /// 1-based, set by the run.
    pub line: usize,
    pub kind: String,
    pub name: Option<String>,
    /// The chart's directory in the repository, or its name.
    pub chart: String,
    pub chart_in_repository: bool,
    pub environment: Option<(String, EnvReason)>,
    /// Where its values come from, lowest first: `file (label)`.
    pub values_from: Vec<String>,
    pub keys: Vec<ValuesKeyReport>,
    /// Why (part of) it is not covered.
    pub gaps: Vec<String>,
}

/// One key of a release: what it is, why, and what happens to it.
#[derive(Debug, Clone)]
pub struct ValuesKeyReport {
    pub field: Field,
    pub key: String,
    pub why: Why,
    pub current: Option<FieldValue>,
    pub wanted: Option<FieldValue>,
    /// `set in <file> (<label>)`, `already right`, `kept (overwrite: false)`, …
    pub action: String,
    pub decided_by: Option<String>,
}

/// Everything the release planner gives the run.
#[derive(Default)]
pub struct Planned {
    /// Values edits, by the file they are made in.
    pub edits: BTreeMap<String, Vec<ValuesEdit>>,
    /// Values that overlays' generated patches set, by overlay directory.
    pub generated: BTreeMap<String, Vec<ValuesEdit>>,
    pub reports: Vec<ReleaseReport>,
    /// What is not covered, each with the byte offset in its file that the run turns into a line.
    pub not_covered: Vec<(usize, NotCovered)>,
    /// Containers whose policy the rules decided through values keys.
    pub containers_covered: usize,
}

/// Plans every release. `env_of_file` is a file's own environment (the
/// owning overlay, `--env`, or its path); `may_edit` says whether the run
/// may edit a file (PATH and `--include` narrow that).
pub fn plan_releases(
    releases: &[Release],
    sources: &Sources,
    rules: &Rules,
    env_of_file: &dyn Fn(&str) -> Option<EnvChoice>,
    may_edit: &dyn Fn(&str) -> bool,
) -> Planned {
    let mut planned = Planned::default();
    let environments: Vec<Option<EnvChoice>> = releases.iter().map(|r| release_env(r, rules, env_of_file)).collect();
    // Which environments use each file: a values file, or a chart's own values.yaml.
    let mut users: BTreeMap<&str, BTreeSet<Option<usize>>> = BTreeMap::new();
    let defaults_files: Vec<Option<String>> = releases.iter().map(|r| defaults_file(r, sources)).collect();
    for ((release, env), defaults) in releases.iter().zip(&environments).zip(&defaults_files) {
        let env = env.as_ref().map(|e| e.env);
        for layer in &release.layers {
            if layer.file != release.file {
                users.entry(layer.file.as_str()).or_default().insert(env);
            }
        }
        if let Some(defaults) = defaults {
            users.entry(defaults.as_str()).or_default().insert(env);
        }
    }
    let mut all_edits: Vec<ValuesEdit> = Vec::new();
    for ((release, env), defaults) in releases.iter().zip(&environments).zip(&defaults_files) {
        let editable = |layer: &Layer| -> bool {
            if layer.form != LayerForm::Generated && !may_edit(&layer.file) {
                return false;
            }
            if layer.file == release.file && layer.document == release.document {
                return release.carrier_editable;
            }
            let own = env_of_file(&layer.file).map(|e| e.env);
            let used = users.get(layer.file.as_str());
            let one_env = used.is_some_and(|u| u.len() == 1);
            let is_defaults = defaults.as_deref() == Some(layer.file.as_str()) && release.kind != "values file";
            one_env && !is_defaults && (own.is_none() || own == env.as_ref().map(|e| e.env))
        };
        let outcome = plan_one(release, env.clone(), sources, rules, &editable);
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(reason) => {
                planned.not_covered.push(not_covered(release, reason.clone()));
                let mut report = report_of(release, sources);
                report.environment = env.as_ref().map(|e| (rules.environments[e.env].name.clone(), e.reason.clone()));
                report.gaps.push(reason);
                planned.reports.push(report);
                continue;
            }
        };
        for gap in &outcome.report.gaps {
            planned.not_covered.push(not_covered(release, gap.clone()));
        }
        planned.containers_covered += outcome.containers_covered;
        all_edits.extend(outcome.edits);
        planned.reports.push(outcome.report);
    }
    // Two releases writing one key of one values file must agree.
    // (file, document, values path, key): one place a value is written.
    type Place = (String, usize, Vec<String>, Vec<String>);
    let mut by_place: BTreeMap<Place, Vec<ValuesEdit>> = BTreeMap::new();
    for edit in all_edits {
        by_place
            .entry((edit.file.clone(), edit.document, edit.layer_path.clone(), edit.key.clone()))
            .or_default()
            .push(edit);
    }
    for ((file, _, _, key), mut edits) in by_place {
        let first = edits.remove(0);
        if edits.iter().any(|e| e.leaf != first.leaf) {
            let reason = format!(
                "releases that share this values file want different values for `{}`: left alone",
                key.join(".")
            );
            planned.not_covered.push((0, NotCovered::file(&file, None, reason)));
            continue;
        }
        if first.form == LayerForm::Generated {
            planned.generated.entry(file).or_default().push(first);
        } else {
            planned.edits.entry(file).or_default().push(first);
        }
    }
    planned
}

/// A release's environment: its file's, else its destination namespace's, else the default.
fn release_env(release: &Release, rules: &Rules, env_of_file: &dyn Fn(&str) -> Option<EnvChoice>) -> Option<EnvChoice> {
    if let Some((env, overlay)) = &release.overlay {
        return Some(EnvChoice { env: *env, reason: EnvReason::Overlay(overlay.clone()) });
    }
    if let Some(env) = env_of_file(&release.file) {
        return Some(env);
    }
    if let Some(namespace) = &release.namespace {
        if let Ok(Some(env)) = rules.env_for_namespace(namespace) {
            return Some(env);
        }
    }
    rules.default_environment.map(|env| EnvChoice { env, reason: EnvReason::Default })
}

/// The chart's own values.yaml, when the chart is in the repository.
fn defaults_file(release: &Release, sources: &Sources) -> Option<String> {
    let dir = chart_dir(release, sources)?;
    let file = if dir.is_empty() { "values.yaml".to_string() } else { format!("{dir}/values.yaml") };
    Some(file)
}

/// The directory of the release's chart when it is in the repository and was read.
fn chart_dir<'s>(release: &'s Release, sources: &Sources) -> Option<&'s str> {
    release.chart_dirs().into_iter().find(|dir| matches!(sources.charts.get(*dir), Some(Ok(_))))
}

struct Outcome {
    edits: Vec<ValuesEdit>,
    report: ReleaseReport,
    containers_covered: usize,
}

fn report_of(release: &Release, sources: &Sources) -> ReleaseReport {
    ReleaseReport {
        file: release.file.clone(),
        offset: release.offset,
        line: 0,
        kind: release.kind.clone(),
        name: release.name.clone(),
        chart: chart_dir(release, sources).unwrap_or(release.chart_name()).to_string(),
        chart_in_repository: chart_dir(release, sources).is_some(),
        environment: None,
        values_from: release.layers.iter().map(|l| format!("{} ({})", l.file, l.label)).collect(),
        keys: Vec::new(),
        gaps: Vec::new(),
    }
}

impl ReleaseReport {
    /// A key that is not covered: its line says `action`, the release's gaps say why.
    fn refuse(&mut self, mut line: ValuesKeyReport, action: &str, why: String) {
        line.action = action.to_string();
        self.keys.push(line);
        self.gaps.push(why);
    }
}

/// Why a key cannot be set: a key on its way (`at`) in layer `index` (None: the chart's defaults).
fn blocked(release: &Release, index: Option<usize>, at: &str, key: &str) -> String {
    let place = index.map_or("the chart's defaults".to_string(), |i| release.layers[i].label.clone());
    format!("{at} in {place}: `{key}` cannot be set")
}

fn not_covered(release: &Release, reason: String) -> (usize, NotCovered) {
    let item = NotCovered {
        path: release.file.clone(),
        line: None,
        kind: Some(release.kind.clone()),
        name: release.name.clone(),
        reason,
    };
    (release.offset, item)
}

/// The values a layer holds, parsed when it is a string.
enum LayerValues<'s> {
    Node(&'s Node),
    Parsed(Document),
    Absent,
}

impl LayerValues<'_> {
    fn root(&self) -> Option<&Node> {
        match self {
            LayerValues::Node(node) => Some(node),
            LayerValues::Parsed(document) => Some(&document.root),
            LayerValues::Absent => None,
        }
    }
}

/// What one values document holds at a key path.
enum Walk<'n> {
    Found(&'n Node),
    Missing,
    /// A key on the way (these keys, joined) is a scalar or a list.
    Blocked(String),
}

fn walk<'n>(root: &'n Node, path: &[&str]) -> Walk<'n> {
    let mut node = root;
    for (depth, key) in path.iter().enumerate() {
        if node.is_null() {
            return Walk::Missing;
        }
        if node.kind == NodeKind::Alias {
            return Walk::Blocked(format!("`{}` is an alias", path[..depth].join(".")));
        }
        if !node.is_mapping() {
            return Walk::Blocked(format!("`{}` is not a mapping", path[..depth].join(".")));
        }
        match node.get(key) {
            Some(next) => node = next,
            None => return Walk::Missing,
        }
    }
    if node.is_null() {
        Walk::Missing
    } else {
        Walk::Found(node)
    }
}

/// What a key holds through the layers.
enum Lookup<'a> {
    /// Set by layer `i` (None: the chart's defaults) to this node.
    Set(Option<usize>, &'a Node),
    /// Set nowhere.
    Unset,
    /// A key on its way is not a mapping in layer `i` (None: defaults).
    Blocked(Option<usize>, String),
}

struct Values<'a> {
    layers: Vec<LayerValues<'a>>,
    defaults: Option<&'a Node>,
    /// Subcharts' defaults, under their keys; below the root chart's, as Helm coalesces them.
    subchart_defaults: &'a [(Vec<String>, Document)],
}

impl<'a> Values<'a> {
    fn lookup(&'a self, path: &[&str]) -> Lookup<'a> {
        let sources =
            self.layers.iter().enumerate().rev().map(|(i, l)| (Some(i), l.root())).chain([(None, self.defaults)]);
        for (index, root) in sources {
            match root.map(|root| walk(root, path)) {
                Some(Walk::Found(node)) => return Lookup::Set(index, node),
                Some(Walk::Blocked(at)) => return Lookup::Blocked(index, at),
                Some(Walk::Missing) | None => {}
            }
        }
        for (prefix, document) in self.subchart_defaults {
            let under = path.len() > prefix.len() && path.iter().zip(prefix).all(|(a, b)| a == b);
            let rest: &[&str] = if under {
                &path[prefix.len()..]
            } else if path.first() == Some(&"global") {
                path
            } else {
                continue;
            };
            if let Walk::Found(node) = walk(&document.root, rest) {
                return Lookup::Set(None, node);
            }
        }
        Lookup::Unset
    }

    fn string(&'a self, path: &[&str]) -> Option<String> {
        match self.lookup(path) {
            Lookup::Set(_, node) => node.as_str().map(str::to_string),
            _ => None,
        }
    }
}

fn plan_one(
    release: &Release,
    env: Option<EnvChoice>,
    sources: &Sources,
    rules: &Rules,
    editable: &dyn Fn(&Layer) -> bool,
) -> Result<Outcome, String> {
    let mut report = report_of(release, sources);
    if !release.blockers.is_empty() {
        let reasons: Vec<&str> = release.blockers.iter().map(|(_, r)| r.as_str()).collect();
        return Err(reasons.join("; "));
    }
    let Some(choice) = env.clone() else {
        return Ok(Outcome { edits: Vec::new(), report, containers_covered: 0 });
    };
    let environment = &rules.environments[choice.env];
    report.environment = Some((environment.name.clone(), choice.reason.clone()));
    let facts = chart_dir(release, sources).and_then(|dir| match sources.charts.get(dir) {
        Some(Ok(facts)) => Some((dir, facts)),
        _ => None,
    });
    if let ChartSource::Dir(dir) = &release.chart {
        match sources.charts.get(dir) {
            Some(Err(message)) => return Err(format!("chart `{dir}` cannot be read: {message}")),
            None => return Err(format!("chart directory `{dir}` is not in the repository")),
            Some(Ok(_)) => {}
        }
    }
    // The layers' values.
    let mut layers = Vec::new();
    for layer in &release.layers {
        layers.push(layer_values(layer, sources)?);
    }
    let values = Values {
        layers,
        defaults: facts.and_then(|(_, f)| f.defaults.as_ref()).map(|d| &d.root),
        subchart_defaults: facts.map_or(&[][..], |(_, f)| f.subchart_defaults.as_slice()),
    };
    let accounts = environment.attach_secrets_to == AttachSecretsTo::ServiceAccount;
    let (name, version) = match &release.chart {
        ChartSource::Named { name, version, .. } => (name.as_str(), version.as_deref()),
        ChartSource::Dir(_) => {
            (facts.map_or("", |(_, f)| f.chart.name.as_str()), facts.and_then(|(_, f)| f.chart.version.as_deref()))
        }
    };
    let rules_entry = rules.helm_chart(name, version).map(keys::from_rules);
    let choice_of_keys: KeyChoice = match (facts, rules_entry) {
        (Some((dir, facts)), entry) => {
            let found = keys::from_chart(&facts.keys, dir, accounts);
            match entry {
                // The templates could not be read for keys: the rules say which.
                Some(entry) if found.policy.is_empty() && found.secrets.is_empty() => entry,
                _ => found,
            }
        }
        (None, Some(entry)) => entry,
        (None, None) => keys::conventions(&components(&values)),
    };
    let app_version = facts.and_then(|(_, f)| f.chart.app_version.clone());
    let mut edits = Vec::new();
    let mut containers_covered = 0;
    let mut images: Vec<Option<[String; 2]>> = Vec::new();
    let wants_policy = environment.policy.is_some() || rules.images.iter().any(|r| r.policy.is_some());
    let target = |decider: Option<usize>| -> Result<(Layer, bool), String> {
        if let Some(i) = decider {
            if editable(&release.layers[i]) {
                return Ok((release.layers[i].clone(), true));
            }
        }
        let above = decider.map_or(0, |i| i + 1);
        if let Some(layer) = (above..release.layers.len()).rev().map(|i| &release.layers[i]).find(|l| editable(l)) {
            return Ok((layer.clone(), true));
        }
        if let Some(create) = &release.create {
            return Ok((create.clone(), false));
        }
        let shared = decider.map(|i| format!("`{}` ({})", release.layers[i].file, release.layers[i].label));
        Err(match shared {
            Some(shared) => format!("the value is set in {shared}, which other environments use too, and no values of environment `{}` alone come after it", environment.name),
            None => format!("no values of environment `{}` alone reach the chart (its values files are shared)", environment.name),
        })
    };
    if wants_policy {
        for key in &choice_of_keys.policy {
            let path: Vec<&str> = key.path.split('.').collect();
            let image = image_of(&values, &path, app_version.as_deref());
            let forms = image.as_deref().map(rules::image_forms);
            images.push(forms.clone());
            let (wanted, decided_by) = rules::decide_policy(rules, environment, forms.as_ref());
            let Some(wanted) = wanted else { continue };
            containers_covered += key.containers.len().max(1);
            let mut line = ValuesKeyReport {
                field: Field::ImagePullPolicy,
                key: key.path.clone(),
                why: key.why.clone(),
                current: None,
                wanted: Some(FieldValue::Policy(wanted.as_str().to_string())),
                action: String::new(),
                decided_by,
            };
            if key.path.contains("[]") {
                let why = format!("`{}` is a key of each entry of a list: not set by pullsmith", key.path);
                report.refuse(line, "not covered (inside a list)", why);
                continue;
            }
            if release.set_keys.iter().any(|k| k == &key.path) {
                report.refuse(
                    line,
                    "not covered (set by helm.parameters)",
                    format!("`{}` is set by `helm.parameters`: change it there", key.path),
                );
                continue;
            }
            let (decider, current) = match values.lookup(&path) {
                Lookup::Set(index, node) => (index, node.as_str().map(str::to_string)),
                Lookup::Unset => (None, None),
                Lookup::Blocked(index, at) => {
                    report.refuse(line, "not covered", blocked(release, index, &at, &key.path));
                    continue;
                }
            };
            line.current = current.clone().map(FieldValue::Policy);
            if current.as_deref() == Some(wanted.as_str()) {
                line.action = "already right".to_string();
                report.keys.push(line);
                continue;
            }
            if !environment.overwrite && current.is_some() && decider.is_some() {
                line.action = "kept (overwrite: false)".to_string();
                report.keys.push(line);
                continue;
            }
            match target(decider) {
                Ok((layer, _)) => {
                    line.action = format!("set in {} ({})", layer.file, layer.label);
                    edits.push(edit_for(
                        release,
                        &layer,
                        &path,
                        Leaf::Scalar(wanted.as_str().to_string()),
                        &environment.name,
                        Field::ImagePullPolicy,
                        line.current.clone(),
                        line.wanted.clone().expect("wanted"),
                        &key.path,
                    ));
                }
                Err(reason) => {
                    report.gaps.push(format!("`{}`: {reason}", key.path));
                    line.action = "not covered".to_string();
                }
            }
            report.keys.push(line);
        }
        for (container, value, at) in &choice_of_keys.fixed {
            if let Some(policy) = environment.policy {
                if policy.as_str() != value {
                    report.gaps.push(format!("container `{container}`: the chart writes `imagePullPolicy: {value}` ({at}), which no value changes"));
                }
            }
        }
        report.gaps.extend(choice_of_keys.policy_gaps.iter().cloned());
    }
    let wanted_secrets = rules::wanted_secrets(rules, environment, &images);
    if !wanted_secrets.is_empty() {
        if choice_of_keys.secrets.is_empty() && choice_of_keys.secrets_gaps.is_empty() {
            report.gaps.push("no values key of the chart sets imagePullSecrets".to_string());
        }
        report.gaps.extend(choice_of_keys.secrets_gaps.iter().cloned());
        for key in &choice_of_keys.secrets {
            let path: Vec<&str> = key.path.split('.').collect();
            let mut line = ValuesKeyReport {
                field: Field::ImagePullSecrets,
                key: key.path.clone(),
                why: key.why.clone(),
                current: None,
                wanted: None,
                action: String::new(),
                decided_by: Some(format!("environment `{}` imagePullSecrets", environment.name)),
            };
            let (decider, existing) = match values.lookup(&path) {
                Lookup::Set(index, node) => match names_of(node) {
                    Some(names) => (index, names),
                    None => {
                        report.refuse(
                            line,
                            "not covered",
                            format!("`{}` is not a list of secret names: left alone", key.path),
                        );
                        continue;
                    }
                },
                Lookup::Unset => (None, (Vec::new(), None)),
                Lookup::Blocked(index, at) => {
                    report.refuse(line, "not covered", blocked(release, index, &at, &key.path));
                    continue;
                }
            };
            let (current, current_shape) = existing;
            let mut new_list = current.clone();
            for name in &wanted_secrets {
                if !new_list.contains(name) {
                    new_list.push(name.clone());
                }
            }
            line.current = Some(FieldValue::Secrets(current.clone()));
            line.wanted = Some(FieldValue::Secrets(new_list.clone()));
            if new_list == current {
                line.action = "already right".to_string();
                report.keys.push(line);
                continue;
            }
            if release.set_keys.iter().any(|k| k == &key.path || k.starts_with(&format!("{}[", key.path))) {
                report.refuse(
                    line,
                    "not covered (set by helm.parameters)",
                    format!("`{}` is set by `helm.parameters`: change it there", key.path),
                );
                continue;
            }
            let shape = current_shape.unwrap_or(match (key.shape, key.default_shape) {
                (Some(Shape::Names), _) => ListShape::Names,
                (Some(Shape::Either), Some(Shape::Names)) => ListShape::Names,
                _ => ListShape::Mappings,
            });
            match target(decider) {
                Ok((layer, _)) => {
                    let writes_elsewhere = decider.is_none_or(|d| release.layers[d] != layer);
                    if let (Some(hidden), true) = (&release.hidden_values, writes_elsewhere) {
                        report.gaps.push(format!(
                            "`{}`: {hidden}, and a list written in `spec.values` would replace theirs",
                            key.path
                        ));
                        line.action = "not covered".to_string();
                        report.keys.push(line);
                        continue;
                    }
                    line.action = format!("set in {} ({})", layer.file, layer.label);
                    edits.push(edit_for(
                        release,
                        &layer,
                        &path,
                        Leaf::Names { names: new_list.clone(), shape },
                        &environment.name,
                        Field::ImagePullSecrets,
                        line.current.clone(),
                        FieldValue::Secrets(new_list),
                        &key.path,
                    ));
                }
                Err(reason) => {
                    report.gaps.push(format!("`{}`: {reason}", key.path));
                    line.action = "not covered".to_string();
                }
            }
            report.keys.push(line);
        }
    }
    for values_key in &choice_of_keys.in_values {
        let path: Vec<&str> = values_key.split('.').collect();
        if let Lookup::Set(_, node) = values.lookup(&path) {
            if !node.items().is_empty() {
                report.gaps.push(format!(
                    "containers given whole in `{values_key}`: their imagePullPolicy is not set by pullsmith"
                ));
            }
        }
    }
    if wants_policy || !wanted_secrets.is_empty() {
        report.gaps.extend(choice_of_keys.notes.iter().cloned());
    }
    // A template that renders several pods (a `range` over a literal) says each gap once.
    let mut seen: BTreeSet<String> = BTreeSet::new();
    report.gaps.retain(|gap| seen.insert(gap.clone()));
    Ok(Outcome { edits, report, containers_covered })
}

#[allow(clippy::too_many_arguments)]
fn edit_for(
    release: &Release,
    layer: &Layer,
    key: &[&str],
    leaf: Leaf,
    environment: &str,
    field: Field,
    from: Option<FieldValue>,
    to: FieldValue,
    values_key: &str,
) -> ValuesEdit {
    ValuesEdit {
        file: layer.file.clone(),
        document: layer.document,
        layer_path: layer.path.clone(),
        form: layer.form,
        key: key.iter().map(|k| k.to_string()).collect(),
        leaf,
        kind: release.kind.clone(),
        api_version: release.api_version.clone(),
        release_file: release.file.clone(),
        release_offset: release.offset,
        name: release.name.clone(),
        namespace: release.namespace.clone(),
        environment: environment.to_string(),
        field,
        from,
        to,
        values_key: values_key.to_string(),
    }
}

fn layer_values<'s>(layer: &Layer, sources: &'s Sources) -> Result<LayerValues<'s>, String> {
    if layer.form == LayerForm::Generated {
        return Ok(LayerValues::Absent);
    }
    let file = match sources.files.get(&layer.file) {
        Some(Err(message)) if layer.optional && message == super::find::NOT_IN_REPOSITORY => {
            return Ok(LayerValues::Absent);
        }
        Some(Ok(file)) => file,
        Some(Err(message)) => return Err(format!("{} ({}): {message}", layer.file, layer.label)),
        None => return Err(format!("values file `{}` ({}) is not in the repository", layer.file, layer.label)),
    };
    let Some(document) = file.documents.get(layer.document) else {
        if layer.path.is_empty() && file.documents.is_empty() {
            return Ok(LayerValues::Absent);
        }
        return Err(format!("{}: no document {}", layer.file, layer.document + 1));
    };
    let Some(node) = node_at(&document.root, &layer.path) else { return Ok(LayerValues::Absent) };
    match layer.form {
        LayerForm::Mapping if node.is_mapping() || node.is_null() => Ok(LayerValues::Node(node)),
        LayerForm::Mapping => Err(format!("{} ({}) is not a mapping of values", layer.file, layer.label)),
        LayerForm::Generated => Ok(LayerValues::Absent),
        LayerForm::Block => match &node.kind {
            NodeKind::Scalar { value, style: ScalarStyle::Literal | ScalarStyle::Folded } => {
                let documents = yaml::parse(value)
                    .map_err(|e| format!("{} ({}) does not parse as YAML: {e}", layer.file, layer.label))?;
                match documents.into_iter().next() {
                    Some(document) if document.root.is_mapping() || document.root.is_null() => {
                        Ok(LayerValues::Parsed(document))
                    }
                    Some(_) => Err(format!("{} ({}) is not a mapping of values", layer.file, layer.label)),
                    None => Ok(LayerValues::Absent),
                }
            }
            _ if node.is_null() => Ok(LayerValues::Absent),
            _ => Err(format!("{} ({}) is not a block scalar (`|`): edit it by hand", layer.file, layer.label)),
        },
    }
}

/// The node at a path of keys and sequence indexes.
pub(crate) fn node_at<'n>(root: &'n Node, path: &[String]) -> Option<&'n Node> {
    let mut node = root;
    for step in path {
        node = match &node.kind {
            NodeKind::Sequence { items, .. } => items.get(step.parse::<usize>().ok()?)?,
            _ => node.get(step)?,
        };
    }
    Some(node)
}

/// The image a policy key's block names by the conventions (`registry`,
/// `repository` or `image`, `tag`, `digest` beside `pullPolicy`), the
/// chart's appVersion standing in for an empty tag.
fn image_of(values: &Values<'_>, key: &[&str], app_version: Option<&str>) -> Option<String> {
    let parent = &key[..key.len().saturating_sub(1)];
    let field = |name: &str| {
        let path: Vec<&str> = parent.iter().copied().chain([name]).collect();
        values.string(&path).filter(|v| !v.is_empty())
    };
    let repository = field("repository").or_else(|| field("image"))?;
    let mut image = match field("registry") {
        Some(registry) => format!("{registry}/{repository}"),
        None => repository,
    };
    if let Some(tag) = field("tag").or_else(|| app_version.map(str::to_string)) {
        image = format!("{image}:{tag}");
    }
    if let Some(digest) = field("digest") {
        image = format!("{image}@{digest}");
    }
    Some(image)
}

/// The names of a secrets list and the shape of its entries.
fn names_of(node: &Node) -> Option<(Vec<String>, Option<ListShape>)> {
    if node.is_null() {
        return Some((Vec::new(), None));
    }
    let NodeKind::Sequence { items, .. } = &node.kind else { return None };
    let mut names = Vec::new();
    let mut shape = None;
    for item in items {
        let (name, this) = match item.as_str() {
            Some(name) => (name, ListShape::Names),
            None => (item.get("name")?.as_str()?, ListShape::Mappings),
        };
        if shape.is_some_and(|s| s != this) {
            return None;
        }
        shape = Some(this);
        names.push(name.to_string());
    }
    Some((names, shape))
}

/// Top-level blocks of the release's own values that have an `image` mapping.
fn components(values: &Values<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for layer in &values.layers {
        let Some(root) = layer.root() else { continue };
        for (key, value) in root.entries() {
            let Some(name) = key.as_str() else { continue };
            if name != "image"
                && name != "global"
                && value.get("image").is_some_and(Node::is_mapping)
                && !out.iter().any(|o| o == name)
            {
                out.push(name.to_string());
            }
        }
    }
    out
}
