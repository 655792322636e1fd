//! What a parsed document means to Kubernetes: which objects carry pod specs
//! (Kubernetes' kinds, the custom kinds pullsmith knows, `kind: List` items,
//! `workloads:` kinds), where their containers are, and which objects are
//! ServiceAccounts or pull secrets.
//!
//! A workload is described by a `WorkloadShape`: where its pod specs are (a
//! path that may hold `*`) and, below each, where its containers sit (the
//! pod spec's lists, or for Argo Workflows each template's `container`,
//! `script`, `initContainers`, `sidecars` and `containerSet`).
//!
//! It reads the positional tree only; it never edits and does no IO.

use std::collections::HashMap;

use crate::rules::{Rules, Workload};
use crate::yaml::{Document, Node, NodeKind};

/// The three lists of a pod spec that hold containers.
pub const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// A Kubernetes object: a document root or an item of a `kind: List`.
#[derive(Debug, Clone, Copy)]
pub struct Object<'a> {
    pub node: &'a Node,
    pub kind: &'a str,
    pub api_version: &'a str,
}

impl<'a> Object<'a> {
    /// The object at `node`, if it has string `apiVersion` and `kind`.
    pub fn new(node: &'a Node) -> Option<Object<'a>> {
        let kind = node.get("kind")?.as_str()?;
        let api_version = node.get("apiVersion")?.as_str()?;
        Some(Object { node, kind, api_version })
    }

    pub fn name(&self) -> Option<&'a str> {
        self.node.get("metadata")?.get("name")?.as_str()
    }

    pub fn namespace(&self) -> Option<&'a str> {
        self.node.get("metadata")?.get("namespace")?.as_str()
    }

    /// This object and, for a `kind: List`, every item in it, recursively.
    pub fn flatten(self, out: &mut Vec<Object<'a>>) {
        if self.kind == "List" || self.kind.ends_with("List") && self.node.get("items").is_some() {
            for item in self.node.get("items").map(Node::items).unwrap_or_default() {
                if let Some(object) = Object::new(item) {
                    object.flatten(out);
                }
            }
        } else {
            out.push(self);
        }
    }
}

/// Every object of a file's documents, `kind: List` items flattened, in order.
pub fn objects(documents: &[Document]) -> Vec<Object<'_>> {
    let mut out = Vec::new();
    for document in documents {
        if let Some(root) = Object::new(&document.root) {
            root.flatten(&mut out);
        }
    }
    out
}

/// The rules' `workloads:` entry for an object's kind (and apiVersion, when the entry names one).
pub fn custom_workload<'w>(object: &Object<'_>, workloads: &'w [Workload]) -> Option<&'w Workload> {
    custom_workload_of(object.kind, object.api_version, workloads)
}

/// The rules' `workloads:` entry for `kind` and `api_version`.
pub fn custom_workload_of<'w>(kind: &str, api_version: &str, workloads: &'w [Workload]) -> Option<&'w Workload> {
    workloads.iter().find(|w| w.kind == kind && w.api_version.as_deref().is_none_or(|v| v == api_version))
}

/// Where containers sit in the mapping that groups them: a pod spec, or a
/// template of an Argo workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// The key (or `/`-separated keys) below the group, as reports name it.
    pub name: &'static str,
    pub path: &'static [&'static str],
    /// One container mapping (Argo's `container` and `script`), not a list of them.
    pub single: bool,
}

impl Slot {
    const fn list(name: &'static str, path: &'static [&'static str]) -> Slot {
        Slot { name, path, single: false }
    }
}

/// The container lists of a pod spec.
pub const POD_SPEC_SLOTS: &[Slot] = &[
    Slot::list("containers", &["containers"]),
    Slot::list("initContainers", &["initContainers"]),
    Slot::list("ephemeralContainers", &["ephemeralContainers"]),
];

/// Where an Argo Workflows template keeps containers: `container` and
/// `script` are one container each, the others lists.
pub const ARGO_TEMPLATE_SLOTS: &[Slot] = &[
    Slot { name: "container", path: &["container"], single: true },
    Slot { name: "script", path: &["script"], single: true },
    Slot::list("initContainers", &["initContainers"]),
    Slot::list("sidecars", &["sidecars"]),
    Slot::list("containerSet/containers", &["containerSet", "containers"]),
];

/// How an object of some kind holds its containers: where its pod specs
/// (the mappings that hold `imagePullSecrets` and `serviceAccountName`)
/// are, and below each, where the containers are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadShape<'w> {
    /// Path from the object to each pod spec; a `*` segment is every item of
    /// a sequence or every value of a mapping, so one object may hold several.
    pub pod_spec_path: Vec<&'w str>,
    /// Path from a pod spec to each mapping that holds container slots:
    /// empty for a pod spec itself, `templates/*` for an Argo workflow.
    pub group_path: &'static [&'static str],
    pub slots: &'static [Slot],
    /// A Kubernetes API kind (core, `apps`, `batch`, `extensions`), whose
    /// schema kustomize knows: strategic merge merges its container lists by
    /// name. For any other group it replaces lists whole, so overlays get
    /// JSON 6902 patches instead.
    pub schema_known: bool,
    /// From the rules' `workloads:`.
    pub configured: bool,
}

impl WorkloadShape<'_> {
    /// A plain pod spec at one path, without `*`: what the kustomize simulation follows.
    pub fn single_pod_spec(&self) -> bool {
        self.group_path.is_empty() && !self.pod_spec_path.contains(&"*")
    }
}

/// The API group of an apiVersion (`""` for the core group).
pub fn api_group(api_version: &str) -> &str {
    api_version.split_once('/').map_or("", |(group, _)| group)
}

/// How an object holds its containers, if it is a workload.
pub fn workload_shape<'w>(object: &Object<'_>, workloads: &'w [Workload]) -> Option<WorkloadShape<'w>> {
    workload_shape_of(object.kind, object.api_version, workloads)
}

/// How an object of `kind` and `api_version` holds its containers, if it is a workload.
///
/// Kubernetes' own kinds are known by kind alone, as they always were: they
/// have lived in several groups (`extensions/v1beta1`, `apps/v1beta2`), and
/// look-alikes such as OpenKruise's Advanced StatefulSet and DaemonSet share
/// their layout. The built-in custom kinds are matched by API group as well,
/// since their names are common words: a `Service` is a Knative workload
/// only in `serving.knative.dev` (a core Service holds no pods), and another
/// project's `Rollout` or `Workflow` may keep its pods anywhere.
pub fn workload_shape_of<'w>(kind: &str, api_version: &str, workloads: &'w [Workload]) -> Option<WorkloadShape<'w>> {
    // Rules' workloads come first: they may name a kind that is also built in.
    if let Some(workload) = custom_workload_of(kind, api_version, workloads) {
        return Some(WorkloadShape {
            pod_spec_path: workload.pod_spec_path.iter().map(String::as_str).collect(),
            group_path: &[],
            slots: POD_SPEC_SLOTS,
            schema_known: is_kubernetes_group(api_group(api_version)),
            configured: true,
        });
    }
    const TEMPLATE_SPEC: &[&str] = &["spec", "template", "spec"];
    let group = api_group(api_version);
    let (path, group_path, slots): (&'static [&'static str], &'static [&'static str], _) = match (kind, group) {
        ("Pod", _) => (&["spec"], &[], POD_SPEC_SLOTS),
        ("PodTemplate", _) => (&["template", "spec"], &[], POD_SPEC_SLOTS),
        ("Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job", _) => {
            (TEMPLATE_SPEC, &[], POD_SPEC_SLOTS)
        }
        ("CronJob", _) => (&["spec", "jobTemplate", "spec", "template", "spec"], &[], POD_SPEC_SLOTS),
        ("Rollout", "argoproj.io") | ("Service", "serving.knative.dev") | ("CloneSet", "apps.kruise.io") => {
            (TEMPLATE_SPEC, &[], POD_SPEC_SLOTS)
        }
        ("ScaledJob", "keda.sh") => (&["spec", "jobTargetRef", "template", "spec"], &[], POD_SPEC_SLOTS),
        // Argo Rollouts' other pod holders: each template of an Experiment,
        // and the Job of each `job` metric of an analysis.
        ("Experiment", "argoproj.io") => (&["spec", "templates", "*", "template", "spec"], &[], POD_SPEC_SLOTS),
        ("AnalysisTemplate" | "ClusterAnalysisTemplate" | "AnalysisRun", "argoproj.io") => {
            (&["spec", "metrics", "*", "provider", "job", "spec", "template", "spec"], &[], POD_SPEC_SLOTS)
        }
        // Argo Workflows: a template has no `imagePullSecrets` of its own; the
        // workflow's spec lists them for every pod the workflow runs, so that
        // spec is the pod spec here, and the templates hold the containers.
        ("Workflow" | "WorkflowTemplate" | "ClusterWorkflowTemplate", "argoproj.io") => {
            (&["spec"], &["templates", "*"], ARGO_TEMPLATE_SLOTS)
        }
        ("CronWorkflow", "argoproj.io") => (&["spec", "workflowSpec"], &["templates", "*"], ARGO_TEMPLATE_SLOTS),
        _ => return None,
    };
    Some(WorkloadShape {
        pod_spec_path: path.to_vec(),
        group_path,
        slots,
        schema_known: is_kubernetes_group(group),
        configured: false,
    })
}

/// Groups of Kubernetes' own workload kinds, whose schema kustomize knows.
fn is_kubernetes_group(group: &str) -> bool {
    matches!(group, "" | "apps" | "batch" | "extensions")
}

/// A pod spec of an object (or an Argo workflow's spec).
#[derive(Debug, Clone)]
pub struct PodSpec<'a> {
    pub node: &'a Node,
    /// Where its key starts (the item, for a sequence item): what reports point at.
    pub key_offset: usize,
    /// The concrete path from the object, `*` resolved to keys and indexes.
    pub path: Vec<String>,
}

/// What `pod_specs` finds: the pod specs, and the aliases met on the way
/// (`spec: *s`, `- *template`), which stand for pod specs written elsewhere.
#[derive(Debug, Default)]
pub struct Found<'a> {
    pub pod_specs: Vec<PodSpec<'a>>,
    pub aliases: Vec<&'a Node>,
}

/// Every pod spec of an object, in document order.
pub fn pod_specs<'a>(object: &Object<'a>, shape: &WorkloadShape<'_>) -> Found<'a> {
    let mut found = Found::default();
    let start = PodSpec { node: object.node, key_offset: object.node.span.start, path: Vec::new() };
    walk(start, &shape.pod_spec_path, &mut found);
    found
}

/// Follows `path` (with `*`) from `at`, collecting the mappings it reaches.
fn walk<'a>(at: PodSpec<'a>, path: &[&str], found: &mut Found<'a>) {
    if at.node.kind == NodeKind::Alias {
        found.aliases.push(at.node);
        return;
    }
    let Some((first, rest)) = path.split_first() else {
        if at.node.is_mapping() {
            found.pod_specs.push(at);
        }
        return;
    };
    let step = |node: &'a Node, key_offset: usize, segment: String| {
        let mut path = at.path.clone();
        path.push(segment);
        PodSpec { node, key_offset, path }
    };
    if *first == "*" {
        match &at.node.kind {
            NodeKind::Sequence { items, .. } => {
                for (index, item) in items.iter().enumerate() {
                    walk(step(item, item.span.start, index.to_string()), rest, found);
                }
            }
            NodeKind::Mapping { entries, .. } => {
                for (key, value) in entries.iter().filter(|(key, _)| !is_merge_key(key)) {
                    let Some(name) = key.as_str() else { continue };
                    walk(step(value, key.span.start, name.to_string()), rest, found);
                }
            }
            NodeKind::Scalar { .. } | NodeKind::Alias => {}
        }
    } else if let Some((key, value)) = at.node.entry(first) {
        walk(step(value, key.span.start, (*first).to_string()), rest, found);
    }
}

/// The mappings of a pod spec that hold container slots (the pod spec
/// itself, or each Argo template), and the aliases met on the way.
pub fn container_groups<'a>(pod_spec: &'a Node, shape: &WorkloadShape<'_>) -> Found<'a> {
    let mut found = Found::default();
    walk(PodSpec { node: pod_spec, key_offset: pod_spec.span.start, path: Vec::new() }, shape.group_path, &mut found);
    found
}

/// How people name a container of the slot `list`: "init container" for
/// `initContainers`, "sidecar" for Argo's `sidecars`, Argo's "script" as
/// it is, "container" otherwise.
pub fn container_word(list: &str) -> &'static str {
    match list {
        "initContainers" => "init container",
        "ephemeralContainers" => "ephemeral container",
        "sidecars" => "sidecar",
        "script" => "script",
        _ => "container",
    }
}

/// One container entry of a pod spec.
#[derive(Debug, Clone, Copy)]
pub struct Container<'a> {
    /// The slot it is in (`containers`, Argo's `container`, …).
    pub list: &'static str,
    pub index: usize,
    pub node: &'a Node,
}

impl<'a> Container<'a> {
    pub fn name(&self) -> Option<&'a str> {
        self.node.get("name")?.as_str()
    }

    pub fn image(&self) -> Option<&'a str> {
        self.node.get("image")?.as_str()
    }
}

/// A container list that is not a sequence of mappings; `offset` is where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    pub offset: usize,
    pub message: String,
}

/// Every container of a pod spec of `shape`, group by group, in slot order.
pub fn shape_containers<'a>(pod_spec: &'a Node, shape: &WorkloadShape<'_>) -> Result<Vec<Container<'a>>, ShapeError> {
    let mut out = Vec::new();
    for group in container_groups(pod_spec, shape).pod_specs {
        out.extend(slot_containers(group.node, shape.slots)?);
    }
    Ok(out)
}

/// The containers in `slots` of one group mapping.
pub fn slot_containers<'a>(group: &'a Node, slots: &[Slot]) -> Result<Vec<Container<'a>>, ShapeError> {
    let mut out = Vec::new();
    for slot in slots {
        let Some((key, value)) = slot_entry(group, slot) else {
            continue;
        };
        let list = slot.name;
        match &value.kind {
            // An alias repeats a container written elsewhere, which carries the settings.
            NodeKind::Alias => {}
            NodeKind::Mapping { .. } if slot.single => out.push(Container { list, index: 0, node: value }),
            NodeKind::Sequence { items, .. } if !slot.single => {
                for (index, item) in items.iter().enumerate() {
                    if item.kind == NodeKind::Alias {
                        continue;
                    }
                    if !item.is_mapping() {
                        return Err(ShapeError {
                            offset: item.span.start,
                            message: format!("`{list}` item {index} is not a mapping"),
                        });
                    }
                    out.push(Container { list, index, node: item });
                }
            }
            _ if value.is_null() => {}
            _ => {
                let what = if slot.single { "a mapping" } else { "a sequence of mappings" };
                return Err(ShapeError { offset: key.span.start, message: format!("`{list}` is not {what}") });
            }
        }
    }
    Ok(out)
}

/// The key and value of a slot in a group mapping, if it is there.
fn slot_entry<'a>(group: &'a Node, slot: &Slot) -> Option<&'a (Node, Node)> {
    let (last, parents) = slot.path.split_last()?;
    let mut node = group;
    for key in parents {
        node = node.get(key)?;
    }
    node.entry(last)
}

/// Whether a file's text can hold anything a run acts on or must know
/// about, decided by a byte scan before any parse (issue 16): any container
/// list or slot (`containers`, `initContainers`, `ephemeralContainers`,
/// Argo's `container`), a built-in workload kind (`Pod` and `PodTemplate`
/// as whole words, so that a `PodDisruptionBudget` is not parsed for them;
/// `Deployment`, …, `Job`, `Rollout`, `Workflow`, whose `script` templates
/// name no container: so that one that does not parse is still reported), a
/// pull field already there (`imagePull`), a ServiceAccount, a Helm release
/// carrier (`HelmRelease`, an Argo CD `Application` or `ApplicationSet`), a
/// Flux `Kustomization`, or a Secret, SealedSecret or ExternalSecret
/// (`Secret`) that may define a pull secret the rules give: the file's
/// bytes hold one of `rules.pull_secret_names()` (a run looks for the
/// definitions of those names only, so a SealedSecret of an application's
/// own credentials, often the largest file of its directory, is not
/// parsed). A key or name spelled with escapes (`"\u0063ontainers"`, or a
/// double-quoted `"con\` line break `tainers"`, whose escaped line break
/// joins the two halves) defeats a byte scan, so any `\x`, `\u`, `\U` or
/// backslash before a line break makes the file worth parsing too; YAML's
/// other escapes stand for characters no name of these holds. Anchors and
/// merge keys cannot bring a container list from elsewhere: an anchor lives
/// in its own document.
///
/// A file that cannot matter is not parsed, so it is not validated either:
/// invalid YAML in a ConfigMap is yamllint's to find, not this run's.
pub fn worth_parsing(text: &str, rules: &Rules) -> bool {
    static NEEDLES: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let needles = NEEDLES.get_or_init(|| {
        regex::Regex::new(concat!(
            r"ontainer|\bPod(Template)?\b|Deployment|StatefulSet|DaemonSet|ReplicaSet|ReplicationController|Job",
            r"|Rollout|Workflow|imagePull|ServiceAccount|HelmRelease|Application|Kustomization"
        ))
        .expect("a valid pattern")
    });
    needles.is_match(text)
        || has_escapes(text)
        || text.contains("Secret") && rules.pull_secret_names().any(|name| text.contains(name))
}

/// Whether a file's text may hold a container list, by a byte scan: it
/// mentions `container` (`containers`, `initContainers`, …) or spells
/// something with escapes (see `worth_parsing`).
pub fn may_hold_containers(text: &str) -> bool {
    text.contains("ontainer") || has_escapes(text)
}

/// Whether a file's text may give a document a namespace, by a byte scan:
/// a namespace is only ever the value of a `namespace` key (in
/// `metadata`, or in a `kind: List`'s items), unless escapes spell it.
pub fn may_name_namespace(text: &str) -> bool {
    text.contains("namespace") || has_escapes(text)
}

/// Whether the text holds a YAML escape that could spell a key's letters
/// (`\x`, `\u`, `\U`), or a backslash before a line break, which joins
/// a double-quoted scalar's two lines.
fn has_escapes(text: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices('\\').any(|(at, _)| matches!(bytes.get(at + 1), Some(b'x' | b'u' | b'U' | b'\r' | b'\n')))
}

/// Whether a document of a kind pullsmith does not know holds containers:
/// somewhere below it (at most `MAX_CONTAINER_SEARCH_DEPTH` levels deep), a
/// `containers` sequence with a mapping item that has an `image` key.
pub fn holds_containers(node: &Node) -> bool {
    holds_containers_at(node, 0)
}

/// How deep `holds_containers` looks; pod specs of real custom resources sit well above it.
const MAX_CONTAINER_SEARCH_DEPTH: usize = 12;

fn holds_containers_at(node: &Node, depth: usize) -> bool {
    if depth > MAX_CONTAINER_SEARCH_DEPTH {
        return false;
    }
    match &node.kind {
        NodeKind::Mapping { entries, .. } => entries.iter().any(|(key, value)| {
            (key.as_str() == Some("containers")
                && value.items().iter().any(|item| item.is_mapping() && item.get("image").is_some()))
                || holds_containers_at(value, depth + 1)
        }),
        NodeKind::Sequence { items, .. } => items.iter().any(|item| holds_containers_at(item, depth + 1)),
        NodeKind::Scalar { .. } | NodeKind::Alias => false,
    }
}

/// Kinds that may hold container-like mappings but are not workloads to
/// report as not covered: a CRD holds schemas, and Helm releases (Flux
/// `HelmRelease`, Argo CD `Application`/`ApplicationSet`) are covered, or
/// reported, through their values.
pub fn never_uncovered(kind: &str) -> bool {
    matches!(kind, "CustomResourceDefinition" | "HelmRelease" | "Application" | "ApplicationSet")
}

/// Names of the pull secrets a pod spec or ServiceAccount already lists.
pub fn listed_secrets(holder: &Node) -> Vec<&str> {
    holder
        .get("imagePullSecrets")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|item| item.get("name").and_then(Node::as_str))
        .collect()
}

/// The ServiceAccount a pod spec runs as: `serviceAccountName`, else the
/// deprecated `serviceAccount`, else `default`.
pub fn service_account_name(pod_spec: &Node) -> &str {
    // The API server fills an empty `serviceAccountName` from `serviceAccount`,
    // so an empty string counts as absent, not as a name.
    ["serviceAccountName", "serviceAccount"]
        .into_iter()
        .find_map(|key| pod_spec.get(key).and_then(Node::as_str).filter(|name| !name.is_empty()))
        .unwrap_or("default")
}

/// The name of the Kubernetes Secret an object defines, if it defines one
/// (Secret, SealedSecret, ExternalSecret).
pub fn defined_secret_name<'a>(object: &Object<'a>) -> Option<&'a str> {
    match object.kind {
        "Secret" | "SealedSecret" => object.name(),
        "ExternalSecret" => object
            .node
            .get("spec")
            .and_then(|spec| spec.get("target"))
            .and_then(|target| target.get("name"))
            .and_then(Node::as_str)
            .or_else(|| object.name()),
        _ => None,
    }
}

/// A container that a JSON 6902 patch adds or replaces: `value` of an `add`
/// or `replace` operation whose path ends in a container list (and index).
#[derive(Debug, Clone, Copy)]
pub struct OperationContainer<'a> {
    /// The path up to the pod spec, without the leading `/`.
    pub pod_spec_path: &'a str,
    pub list: &'static str,
    pub node: &'a Node,
}

/// The containers a JSON 6902 operation list brings, in order.
pub fn operation_containers(operations: &Node) -> Vec<OperationContainer<'_>> {
    operations
        .items()
        .iter()
        .filter_map(|op| {
            let kind = op.get("op")?.as_str()?;
            if kind != "add" && kind != "replace" {
                return None;
            }
            let path = op.get("path")?.as_str()?;
            let value = op.get("value")?;
            if !value.is_mapping() || value.get("image").is_none() {
                return None;
            }
            let (head, last) = path.rsplit_once('/')?;
            let (head, list) = if last == "-" || last.parse::<usize>().is_ok() {
                let (head, list) = head.rsplit_once('/')?;
                (head, list)
            } else {
                return None;
            };
            let list = CONTAINER_LISTS.into_iter().find(|l| *l == list)?;
            Some(OperationContainer { pod_spec_path: head.trim_start_matches('/'), list, node: value })
        })
        .collect()
}

/// Anchors, aliases and merge keys of a file's documents, as Kubernetes
/// reads them (go-yaml resolves `*name` to the anchored node and `<<: *name`
/// into the mapping). The positional tree keeps aliases as alias nodes; this
/// index says which node each one repeats, so that decisions see what the
/// API server sees and edits can be checked for what else they change.
///
/// It is built from a second pass of the parser's events (which carry the
/// anchor ids the tree drops), matched one by one with the tree's nodes in
/// document order, and only for files that hold an alias at all.
#[derive(Debug, Default)]
pub struct Aliases<'a> {
    /// Alias node (by address) → the anchored node it repeats.
    targets: HashMap<usize, &'a Node>,
    /// Anchored node (by address) → the aliases that repeat it, in order.
    uses: HashMap<usize, Vec<&'a Node>>,
    /// Anchored nodes that some alias repeats, in document order.
    aliased: Vec<&'a Node>,
}

/// How deep merge keys are followed (`<<` of a mapping that merges another).
const MAX_MERGE_DEPTH: usize = 16;

fn address(node: &Node) -> usize {
    std::ptr::from_ref(node) as usize
}

impl<'a> Aliases<'a> {
    /// The index of `documents`, parsed from `text`. An `Err` means the
    /// parser's events and the tree did not match, which is a bug.
    pub fn of(text: &str, documents: &'a [Document]) -> Result<Aliases<'a>, String> {
        let mut index = Aliases::default();
        if !documents.iter().any(|d| holds_alias(&d.root)) {
            return Ok(index);
        }
        let mut events = NodeEvents(Vec::new());
        let body = text.strip_prefix('\u{feff}').unwrap_or(text);
        yaml_rust2::parser::Parser::new_from_str(body)
            .load(&mut events, true)
            .map_err(|err| format!("internal error: the file parses once but not twice ({})", err.info()))?;
        // A document that was not built (`yaml::parse_skipping`) holds no
        // node to resolve, and its anchors are its own.
        let mut nodes = Vec::new();
        let mut node_events = Vec::new();
        if events.0.len() != documents.len() {
            return Err(format!(
                "internal error: {} documents but {} in the parser's events; aliases cannot be resolved",
                documents.len(),
                events.0.len()
            ));
        }
        for (document, document_events) in documents.iter().zip(events.0) {
            if !document.skipped {
                preorder(&document.root, &mut nodes);
                node_events.extend(document_events);
            }
        }
        if nodes.len() != node_events.len() {
            return Err(format!(
                "internal error: {} nodes but {} parser events; aliases cannot be resolved",
                nodes.len(),
                node_events.len()
            ));
        }
        let mut anchored: HashMap<usize, &'a Node> = HashMap::new();
        for (node, (anchor_id, alias_of)) in nodes.into_iter().zip(node_events) {
            if anchor_id > 0 {
                anchored.insert(anchor_id, node);
            }
            if let Some(target) = alias_of.and_then(|id| anchored.get(&id).copied()) {
                index.targets.insert(address(node), target);
                let uses = index.uses.entry(address(target)).or_default();
                if uses.is_empty() {
                    index.aliased.push(target);
                }
                uses.push(node);
            }
        }
        Ok(index)
    }

    /// Whether the file holds no alias at all.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The node an alias repeats; any other node is itself.
    pub fn resolve(&self, node: &'a Node) -> &'a Node {
        self.targets.get(&address(node)).copied().unwrap_or(node)
    }

    /// The aliases that repeat `node` (empty when it is not anchored or never repeated).
    pub fn uses_of(&self, node: &Node) -> &[&'a Node] {
        self.uses.get(&address(node)).map_or(&[], Vec::as_slice)
    }

    /// Every anchored node that an alias repeats, in document order.
    pub fn aliased(&self) -> &[&'a Node] {
        &self.aliased
    }

    /// The value of `key` in `mapping` as Kubernetes reads it: its own entry,
    /// else the first merged mapping (`<<: *a` or `<<: [*a, *b]`) that has
    /// one; aliases resolved on the way.
    pub fn get(&self, mapping: &'a Node, key: &str) -> Option<&'a Node> {
        self.get_at_depth(self.resolve(mapping), key, 0).map(|value| self.resolve(value))
    }

    fn get_at_depth(&self, mapping: &'a Node, key: &str, depth: usize) -> Option<&'a Node> {
        if let Some(value) = mapping.entries().iter().find(|(k, _)| k.as_str() == Some(key) && !is_merge_key(k)) {
            return Some(&value.1);
        }
        if depth >= MAX_MERGE_DEPTH {
            return None;
        }
        self.merged(mapping).into_iter().find_map(|source| self.get_at_depth(source, key, depth + 1))
    }

    /// The mappings `mapping` merges, in the order they take precedence.
    pub fn merged(&self, mapping: &'a Node) -> Vec<&'a Node> {
        let Some((_, value)) = mapping.entries().iter().find(|(k, _)| is_merge_key(k)) else {
            return Vec::new();
        };
        let value = self.resolve(value);
        match &value.kind {
            NodeKind::Sequence { items, .. } => {
                items.iter().map(|item| self.resolve(item)).filter(|item| item.is_mapping()).collect()
            }
            NodeKind::Mapping { .. } => vec![value],
            _ => Vec::new(),
        }
    }

    /// The entries of `mapping` as Kubernetes reads them: its own (merge
    /// keys left out), then those its merged mappings bring that it does not
    /// name itself, the first merged mapping first.
    pub fn effective_entries(&self, mapping: &'a Node) -> Vec<&'a (Node, Node)> {
        let mut out: Vec<&'a (Node, Node)> = Vec::new();
        self.collect_entries(mapping, &mut out, 0);
        out
    }

    fn collect_entries(&self, mapping: &'a Node, out: &mut Vec<&'a (Node, Node)>, depth: usize) {
        let shadowed = |out: &Vec<&'a (Node, Node)>, key: &Node| {
            key.as_str().is_some_and(|name| out.iter().any(|(k, _)| k.as_str() == Some(name)))
        };
        for entry in mapping.entries() {
            if !is_merge_key(&entry.0) && (depth == 0 || !shadowed(out, &entry.0)) {
                out.push(entry);
            }
        }
        if depth < MAX_MERGE_DEPTH {
            for source in self.merged(mapping) {
                let mut below = Vec::new();
                self.collect_entries(source, &mut below, depth + 1);
                for entry in below {
                    if !shadowed(out, &entry.0) {
                        out.push(entry);
                    }
                }
            }
        }
    }
}

/// A plain `<<` key: YAML 1.1's merge key, which go-yaml (and so kubectl) honours.
pub fn is_merge_key(key: &Node) -> bool {
    matches!(&key.kind, NodeKind::Scalar { value, style: crate::yaml::ScalarStyle::Plain } if value == "<<")
}

fn holds_alias(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Alias => true,
        NodeKind::Mapping { entries, .. } => entries.iter().any(|(k, v)| holds_alias(k) || holds_alias(v)),
        NodeKind::Sequence { items, .. } => items.iter().any(holds_alias),
        NodeKind::Scalar { .. } => false,
    }
}

/// Nodes in the order the parser reports them: a collection, then its
/// children (a mapping's key before its value).
fn preorder<'a>(node: &'a Node, out: &mut Vec<&'a Node>) {
    out.push(node);
    match &node.kind {
        NodeKind::Mapping { entries, .. } => {
            for (key, value) in entries {
                preorder(key, out);
                preorder(value, out);
            }
        }
        NodeKind::Sequence { items, .. } => items.iter().for_each(|item| preorder(item, out)),
        NodeKind::Scalar { .. } | NodeKind::Alias => {}
    }
}

/// Per node event: its anchor id (0: none) and, for an alias, the id it repeats.
/// Each node's anchor id and, for an alias, the id it repeats, in order,
/// document by document.
struct NodeEvents(Vec<Vec<(usize, Option<usize>)>>);

impl NodeEvents {
    fn push(&mut self, event: (usize, Option<usize>)) {
        if self.0.is_empty() {
            self.0.push(Vec::new());
        }
        self.0.last_mut().expect("a document is open").push(event);
    }
}

impl yaml_rust2::parser::MarkedEventReceiver for NodeEvents {
    fn on_event(&mut self, event: yaml_rust2::Event, _mark: yaml_rust2::scanner::Marker) {
        use yaml_rust2::Event;
        match event {
            Event::DocumentStart => self.0.push(Vec::new()),
            Event::Scalar(_, _, anchor_id, _)
            | Event::MappingStart(anchor_id, _)
            | Event::SequenceStart(anchor_id, _) => {
                self.push((anchor_id, None));
            }
            Event::Alias(id) => self.push((0, Some(id))),
            _ => {}
        }
    }
}

/// The alias items of a group's container slots (`- *c`, `container: *c`):
/// copies of a container written elsewhere.
pub fn aliased_containers<'a>(group: &'a Node, slots: &[Slot]) -> Vec<&'a Node> {
    let mut out = Vec::new();
    for slot in slots {
        let Some((_, value)) = slot_entry(group, slot) else { continue };
        if value.kind == NodeKind::Alias {
            out.push(value);
        } else if !slot.single {
            out.extend(value.items().iter().filter(|item| item.kind == NodeKind::Alias));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        let text = "version: 1\nenvironments:\n  prod:\n    imagePullSecrets: [regcred]\nimages:\n  - match: \"ghcr.io/*\"\n    imagePullSecrets: [ghcr-pull]\n";
        Rules::parse(text, crate::rules::RulesOrigin::Embedded).expect("valid rules")
    }

    #[test]
    fn the_byte_scan_keeps_every_way_of_spelling_what_matters() {
        let rules = rules();
        for text in [
            "spec:\n  containers: []\n",
            "initContainers: []",
            "kind: Pod\n",
            "kind: \"Pod\"",
            "{kind: Pod}",
            "kind: PodTemplate # of a pod",
            "kind: CronJob",
            "kind: ScaledJob",
            "kind: Workflow",
            "imagePullSecrets: []",
            "kind: SealedSecret\nmetadata: {name: regcred}",
            "kind: Secret\nmetadata:\n  name: ghcr-pull\n",
            "kind: ExternalSecret\nspec: {target: {name: regcred}}",
            "kind: ApplicationSet",
            "kind: \"\\u0050od\"",
            "kind: \"\\x50od\"",
            // An escaped line break joins the halves: `Deployment`, `containers`.
            "kind: \"Deploy\\\n  ment\"\nspec: {template: {spec: {\"con\\\r\n  tainers\": []}}}",
        ] {
            assert!(worth_parsing(text, &rules), "{text:?} can matter");
        }
    }

    #[test]
    fn the_byte_scan_lets_go_what_cannot_matter() {
        let rules = rules();
        for text in [
            "kind: ConfigMap\ndata:\n  a: \"b\\tc\"\n",
            // A Secret of a name no rule gives: nothing looks for its definition.
            "kind: SealedSecret\nmetadata: {name: web-credentials}\nspec: {encryptedData: {token: AgB4}}\n",
            "kind: PodDisruptionBudget\n",
            "kind: PodMonitor\n",
            "alert: KubePodCrashLooping\n",
            "kind: Service\n",
        ] {
            assert!(!worth_parsing(text, &rules), "{text:?} cannot matter");
        }
    }

    #[test]
    fn built_in_custom_kinds_match_their_api_group() {
        let shape = |kind, api_version| workload_shape_of(kind, api_version, &[]);
        assert!(shape("Service", "v1").is_none(), "a core Service is no workload");
        assert!(shape("Service", "serving.knative.dev/v1").is_some());
        assert!(shape("Rollout", "rollouts.example.com/v1").is_none());
        let rollout = shape("Rollout", "argoproj.io/v1alpha1").expect("built in");
        assert_eq!(rollout.pod_spec_path, ["spec", "template", "spec"]);
        assert!(!rollout.schema_known && !rollout.configured);
        let kruise = shape("StatefulSet", "apps.kruise.io/v1beta1").expect("built in");
        assert!(!kruise.schema_known, "kustomize has no schema for OpenKruise's StatefulSet");
        assert!(shape("StatefulSet", "apps/v1").expect("built in").schema_known);
        let cron = shape("CronWorkflow", "argoproj.io/v1alpha1").expect("built in");
        assert_eq!(
            (cron.pod_spec_path.as_slice(), cron.group_path),
            (&["spec", "workflowSpec"][..], &["templates", "*"][..])
        );
    }

    #[test]
    fn a_rules_entry_replaces_the_built_in_one() {
        let workloads = [Workload {
            kind: "Rollout".to_string(),
            api_version: Some("argoproj.io/v1alpha1".to_string()),
            pod_spec_path: vec!["spec".to_string(), "pod".to_string()],
        }];
        let shape = workload_shape_of("Rollout", "argoproj.io/v1alpha1", &workloads).expect("configured");
        assert_eq!((shape.pod_spec_path.as_slice(), shape.configured), (&["spec", "pod"][..], true));
        let other = workload_shape_of("Rollout", "argoproj.io/v1", &workloads).expect("built in");
        assert_eq!((other.pod_spec_path.len(), other.configured), (3, false));
    }
}
