//! Which documents and files carry a Helm release's values, and in which
//! order Helm merges them.

use crate::manifest::{self, Object};
use crate::yaml::{Document, Node};

/// Why a values file named by a release could not be read, when it does not exist.
pub const NOT_IN_REPOSITORY: &str = "not in the repository";

/// A Helm release as its carrier describes it.
#[derive(Debug, Clone)]
pub struct Release {
    /// The file that holds it, relative to the repository root.
    pub file: String,
    pub document: usize,
    /// Where reports point: the object (or `helmCharts` entry).
    pub offset: usize,
    /// `HelmRelease`, `Application`, `ApplicationSet`, `Kustomization`, or
    /// `values file` for a chart's values file that an environment's path claims.
    pub kind: String,
    pub api_version: String,
    pub name: Option<String>,
    /// The namespace it deploys to, when the carrier says.
    pub namespace: Option<String>,
    pub chart: ChartSource,
    /// Values documents over the chart's defaults, lowest first.
    pub layers: Vec<Layer>,
    /// Where values are written when no layer can be: the inline mapping a
    /// carrier may have (a HelmRelease's `spec.values`, an Application's
    /// `helm.valuesObject`), created with the keys.
    pub create: Option<Layer>,
    /// Why pullsmith cannot tell what the release gets (`{{ }}` in an
    /// ApplicationSet template, a `$ref` to another repository, …): the
    /// release is not covered, with these reasons.
    pub blockers: Vec<(usize, String)>,
    /// Values that pullsmith cannot see are merged too (`valuesFrom`):
    /// writing a list would replace theirs.
    pub hidden_values: Option<String>,
    /// Keys set above every layer (Argo CD `helm.parameters`).
    pub set_keys: Vec<String>,
    /// For a HelmRelease as one kustomize overlay renders it (its values
    /// patched by the overlay): that overlay's environment and directory.
    /// The carrier's own values are then editable only when `carrier_editable`.
    pub overlay: Option<(usize, String)>,
    pub carrier_editable: bool,
}

/// Where a release's chart comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartSource {
    /// A chart directory in the repository, relative to its root (Argo CD
    /// `source.path`, a HelmRelease's chart from a `GitRepository`).
    Dir(String),
    /// A chart by name from a chart repository or registry; `local` lists
    /// where a copy of it may sit in the repository (kustomize's `chartHome`).
    Named { name: String, version: Option<String>, local: Vec<String> },
}

/// One values document of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub file: String,
    pub document: usize,
    /// Keys (and sequence indexes) from the document's root to the values
    /// mapping; empty for a whole values file.
    pub path: Vec<String>,
    pub form: LayerForm,
    /// A values file that may be missing (Argo CD's `ignoreMissingValueFiles`).
    pub optional: bool,
    /// For people: `spec.values`, `valueFiles envs/prod/values.yaml`.
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerForm {
    /// A mapping, or the empty value of its key.
    Mapping,
    /// A YAML document inside a block scalar (Argo CD's `values: |`).
    Block,
    /// The `spec.values` of an overlay's generated patch (`file` is the
    /// overlay's directory): made by the overlay pass, not edited here.
    Generated,
}

impl Release {
    /// The files whose texts the planner needs: every layer's, the carrier's.
    pub fn files(&self) -> Vec<&str> {
        let mut files: Vec<&str> =
            std::iter::once(self.file.as_str()).chain(self.layers.iter().map(|l| l.file.as_str())).collect();
        files.sort_unstable();
        files.dedup();
        files
    }

    /// The chart directories it may use, for the run to load.
    pub fn chart_dirs(&self) -> Vec<&str> {
        match &self.chart {
            ChartSource::Dir(dir) => vec![dir.as_str()],
            ChartSource::Named { local, .. } => local.iter().map(String::as_str).collect(),
        }
    }

    /// The chart's name as reports show it.
    pub fn chart_name(&self) -> &str {
        match &self.chart {
            ChartSource::Dir(dir) => dir,
            ChartSource::Named { name, .. } => name,
        }
    }

    fn new(file: &str, document: usize, object: &Object<'_>, chart: ChartSource) -> Release {
        let mut release = Release::bare(file, object.node.span.start, object.kind, chart);
        release.document = document;
        release.api_version = object.api_version.to_string();
        release.name = object.name().map(str::to_string);
        release
    }

    /// A release of `kind` at `offset` of `file` (document 0), with nothing known yet.
    fn bare(file: &str, offset: usize, kind: &str, chart: ChartSource) -> Release {
        Release {
            file: file.to_string(),
            document: 0,
            offset,
            kind: kind.to_string(),
            api_version: String::new(),
            name: None,
            namespace: None,
            chart,
            layers: Vec::new(),
            create: None,
            blockers: Vec::new(),
            hidden_values: None,
            set_keys: Vec::new(),
            overlay: None,
            carrier_editable: true,
        }
    }
}

/// The Flux HelmReleases and Argo CD Applications (and ApplicationSet
/// templates) of a Helm chart among a file's documents.
pub fn find(file: &str, documents: &[Document]) -> Vec<Release> {
    let mut out = Vec::new();
    for (document, doc) in documents.iter().enumerate() {
        for object in manifest::objects(std::slice::from_ref(doc)) {
            let group = object.api_version.split('/').next().unwrap_or_default();
            match object.kind {
                "HelmRelease" if group.ends_with("fluxcd.io") => out.push(flux(file, document, &object)),
                "Application" if group == "argoproj.io" => {
                    out.extend(argo(file, document, &object, &["spec"]));
                }
                "ApplicationSet" if group == "argoproj.io" => {
                    out.extend(argo(file, document, &object, &["spec", "template", "spec"]));
                }
                _ => {}
            }
        }
    }
    out
}

fn flux(file: &str, document: usize, object: &Object<'_>) -> Release {
    let spec = object.node.get("spec");
    let chart_spec = spec.and_then(|s| s.get("chart")).and_then(|c| c.get("spec"));
    let chart_name = chart_spec.and_then(|c| c.get("chart")).and_then(Node::as_str);
    let source_kind = chart_spec.and_then(|c| c.get("sourceRef")).and_then(|r| r.get("kind")).and_then(Node::as_str);
    let version = chart_spec.and_then(|c| c.get("version")).and_then(Node::as_str).map(str::to_string);
    let mut blockers = Vec::new();
    let chart = match (chart_name, source_kind) {
        (Some(path), Some("GitRepository" | "Bucket")) => ChartSource::Dir(clean(path)),
        (Some(name), _) => ChartSource::Named { name: name.to_string(), version, local: Vec::new() },
        (None, _) => {
            let chart_ref = spec.and_then(|s| s.get("chartRef"));
            let name = chart_ref.and_then(|r| r.get("name")).and_then(Node::as_str).unwrap_or_default();
            if chart_ref.is_none() {
                blockers.push((object.node.span.start, "names no chart (`spec.chart` or `spec.chartRef`)".to_string()));
            }
            // An OCIRepository or HelmChart object: its chart's name is not here.
            ChartSource::Named { name: name.to_string(), version: None, local: Vec::new() }
        }
    };
    let mut release = Release::new(file, document, object, chart);
    release.blockers = blockers;
    release.namespace = spec
        .and_then(|s| s.get("targetNamespace"))
        .and_then(Node::as_str)
        .or_else(|| object.namespace())
        .map(str::to_string);
    let values_path: Vec<String> = vec!["spec".to_string(), "values".to_string()];
    let layer = Layer {
        file: file.to_string(),
        document,
        path: values_path,
        form: LayerForm::Mapping,
        optional: false,
        label: "spec.values".to_string(),
    };
    if spec.and_then(|s| s.get("values")).is_some() {
        release.layers.push(layer);
    } else if spec.is_some_and(Node::is_mapping) {
        release.create = Some(layer);
    }
    if spec.and_then(|s| s.get("valuesFrom")).is_some_and(|v| !v.items().is_empty()) {
        release.hidden_values = Some("its `valuesFrom` merges values pullsmith cannot see".to_string());
    }
    release
}

/// One release per Helm source of an Application spec at `spec_path`.
fn argo(file: &str, document: usize, object: &Object<'_>, spec_path: &[&str]) -> Vec<Release> {
    let mut spec = Some(object.node);
    for key in spec_path {
        spec = spec.and_then(|node| node.get(key));
    }
    let Some(spec) = spec else { return Vec::new() };
    let namespace = spec.get("destination").and_then(|d| d.get("namespace")).and_then(Node::as_str);
    let prefix: Vec<String> = spec_path.iter().map(|s| s.to_string()).collect();
    let mut sources: Vec<(Vec<String>, &Node)> = Vec::new();
    if let Some(source) = spec.get("source") {
        sources.push((with(&prefix, &["source"]), source));
    }
    let all_sources = spec.get("sources").map(Node::items).unwrap_or_default();
    for (index, source) in all_sources.iter().enumerate() {
        sources.push((with(&prefix, &["sources", &index.to_string()]), source));
    }
    // `$name/…` in valueFiles names the root of the source with `ref: name`.
    let refs: Vec<&str> = all_sources.iter().filter_map(|s| s.get("ref").and_then(Node::as_str)).collect();
    let mut out = Vec::new();
    for (path, source) in sources {
        let helm = source.get("helm");
        let chart_name = source.get("chart").and_then(Node::as_str);
        if helm.is_none() && chart_name.is_none() {
            continue;
        }
        let source_path = source.get("path").and_then(Node::as_str);
        let version = source.get("targetRevision").and_then(Node::as_str).map(str::to_string);
        let chart = match (chart_name, source_path) {
            (Some(name), _) => ChartSource::Named { name: name.to_string(), version, local: Vec::new() },
            (None, Some(dir)) => ChartSource::Dir(clean(dir)),
            (None, None) => continue,
        };
        let mut release = Release::new(file, document, object, chart);
        release.namespace = namespace.map(str::to_string);
        if object.kind == "ApplicationSet" && holds_template(source) {
            release.blockers.push((
                source.span.start,
                "its template's source is computed per generated Application (`{{ }}`): which chart and values each gets is not known here"
                    .to_string(),
            ));
        }
        let helm_path = with(&path, &["helm"]);
        let ignore_missing = helm.and_then(|h| h.get("ignoreMissingValueFiles")).and_then(Node::as_str) == Some("true");
        for (index, entry) in
            helm.and_then(|h| h.get("valueFiles")).map(Node::items).unwrap_or_default().iter().enumerate()
        {
            let Some(name) = entry.as_str() else { continue };
            if name.contains("://") {
                release.blockers.push((
                    entry.span.start,
                    format!("values file `{name}` is fetched from a URL, not read from this repository"),
                ));
                continue;
            }
            let resolved = match name.strip_prefix('$') {
                Some(rest) => {
                    let (reference, inside) = rest.split_once('/').unwrap_or((rest, ""));
                    if !refs.contains(&reference) {
                        release.blockers.push((
                            entry.span.start,
                            format!("values file `{name}` names no source `ref: {reference}`"),
                        ));
                        continue;
                    }
                    // The referenced source is taken to be this repository.
                    join("", inside)
                }
                None => match source_path {
                    Some(dir) => join(&clean(dir), name),
                    None => {
                        release.blockers.push((
                            entry.span.start,
                            format!("values file `{name}` of a chart from a chart repository is read from the chart, not from this repository"),
                        ));
                        continue;
                    }
                },
            };
            match resolved {
                Some(file) => release.layers.push(Layer {
                    file,
                    document: 0,
                    path: Vec::new(),
                    form: LayerForm::Mapping,
                    optional: ignore_missing,
                    label: format!("valueFiles[{index}] `{name}`"),
                }),
                None => release
                    .blockers
                    .push((entry.span.start, format!("values file `{name}` lies outside the repository"))),
            }
        }
        // Argo CD ignores the `values` string when `valuesObject` is set.
        let has_object = helm.and_then(|h| h.get("valuesObject")).is_some();
        if let Some(values) = helm.and_then(|h| h.get("values")).filter(|_| !has_object) {
            let form = if values.is_mapping() { LayerForm::Mapping } else { LayerForm::Block };
            release.layers.push(Layer {
                file: file.to_string(),
                document,
                path: with(&helm_path, &["values"]),
                form,
                optional: false,
                label: "helm.values".to_string(),
            });
        }
        let object_layer = Layer {
            file: file.to_string(),
            document,
            path: with(&helm_path, &["valuesObject"]),
            form: LayerForm::Mapping,
            optional: false,
            label: "helm.valuesObject".to_string(),
        };
        if helm.and_then(|h| h.get("valuesObject")).is_some() {
            release.layers.push(object_layer);
        } else if source.is_mapping() && helm.is_none_or(Node::is_mapping) {
            release.create = Some(object_layer);
        }
        for parameter in helm.and_then(|h| h.get("parameters")).map(Node::items).unwrap_or_default() {
            if let Some(name) = parameter.get("name").and_then(Node::as_str) {
                release.set_keys.push(name.to_string());
            }
        }
        out.push(release);
    }
    out
}

/// The `helmCharts` of a kustomization (`root`, its first document) in
/// directory `dir`.
pub fn find_in_kustomization(file: &str, dir: &str, root: &Node) -> Vec<Release> {
    let chart_home =
        root.get("helmGlobals").and_then(|g| g.get("chartHome")).and_then(Node::as_str).unwrap_or("charts");
    let mut out = Vec::new();
    for (index, entry) in root.get("helmCharts").map(Node::items).unwrap_or_default().iter().enumerate() {
        let field = |key: &str| entry.get(key).and_then(Node::as_str);
        let Some(name) = field("name") else { continue };
        let version = field("version").map(str::to_string);
        let home = join(dir, chart_home);
        let mut local: Vec<String> = home.iter().filter_map(|home| join(home, name)).collect();
        if let (Some(home), Some(version)) = (&home, &version) {
            local.extend(join(home, &format!("{name}-{version}/{name}")));
        }
        let chart = ChartSource::Named { name: name.to_string(), version, local };
        let entry_path = vec!["helmCharts".to_string(), index.to_string()];
        let mut release = Release::bare(file, entry.span.start, "Kustomization", chart);
        release.name = Some(field("releaseName").unwrap_or(name).to_string());
        release.namespace = field("namespace").map(str::to_string);
        if home.is_none() {
            release
                .blockers
                .push((entry.span.start, format!("`chartHome` `{chart_home}` lies outside the repository")));
        }
        let mut files: Vec<(String, String)> = Vec::new();
        if let Some(values_file) = field("valuesFile") {
            files.push((values_file.to_string(), "valuesFile".to_string()));
        }
        for (i, extra) in entry.get("additionalValuesFiles").map(Node::items).unwrap_or_default().iter().enumerate() {
            if let Some(extra) = extra.as_str() {
                files.push((extra.to_string(), format!("additionalValuesFiles[{i}]")));
            }
        }
        for (name, label) in files {
            if name.contains("://") {
                release
                    .blockers
                    .push((entry.span.start, format!("{label} `{name}` is fetched, not read from this repository")));
                continue;
            }
            match join(dir, &name) {
                Some(path) => release.layers.push(Layer {
                    file: path,
                    document: 0,
                    path: Vec::new(),
                    form: LayerForm::Mapping,
                    optional: false,
                    label: format!("{label} `{name}`"),
                }),
                None => {
                    release.blockers.push((entry.span.start, format!("{label} `{name}` lies outside the repository")))
                }
            }
        }
        let inline = Layer {
            file: file.to_string(),
            document: 0,
            path: [entry_path.clone(), vec!["valuesInline".to_string()]].concat(),
            form: LayerForm::Mapping,
            optional: false,
            label: "valuesInline".to_string(),
        };
        match field("valuesMerge").unwrap_or("override") {
            "override" => {}
            "replace" => release.layers.clear(),
            other => release.blockers.push((
                entry.span.start,
                format!("`valuesMerge: {other}`: how kustomize merges `valuesInline` then is not modelled"),
            )),
        }
        if entry.get("valuesInline").is_some() {
            release.layers.push(inline);
        } else {
            release.create = Some(inline);
        }
        out.push(release);
    }
    out
}

/// A values file of the chart in `chart_dir`, which an environment's path
/// glob claims: a release of that chart with this file as its one layer.
pub fn values_file_release(file: &str, chart_dir: &str) -> Release {
    let mut release = Release::bare(file, 0, "values file", ChartSource::Dir(chart_dir.to_string()));
    release.layers.push(Layer {
        file: file.to_string(),
        document: 0,
        path: Vec::new(),
        form: LayerForm::Mapping,
        optional: false,
        label: "values file".to_string(),
    });
    release
}

fn holds_template(node: &Node) -> bool {
    match node.as_str() {
        Some(value) => value.contains("{{"),
        None => {
            node.entries().iter().any(|(k, v)| holds_template(k) || holds_template(v))
                || node.items().iter().any(holds_template)
        }
    }
}

fn with(prefix: &[String], more: &[&str]) -> Vec<String> {
    prefix.iter().cloned().chain(more.iter().map(|s| s.to_string())).collect()
}

/// A repository-relative path without `./`, a leading `/` or a trailing `/`.
fn clean(path: &str) -> String {
    join("", path).unwrap_or_else(|| path.to_string())
}

/// `relative` resolved against the repository-relative directory `dir`;
/// `None` when `..` would climb out of the repository, or when the path
/// leads into `.git`, which is git's store (a token in `.git/config`), not
/// a file of the repository's tree.
pub fn join(dir: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> =
        if relative.starts_with('/') { Vec::new() } else { dir.split('/').filter(|p| !p.is_empty()).collect() };
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    if parts.contains(&".git") {
        return None;
    }
    Some(parts.join("/"))
}
