//! The kustomize simulation: what `kubectl kustomize <dir>` renders, as far
//! as pull settings go. It follows resources, legacy `bases` and components
//! in kustomize's order, and each kustomization's transformers in the order
//! kustomize runs them (strategic-merge patches of `patchesStrategicMerge`,
//! then `patches` — files and inline, strategic merge or JSON 6902, with or
//! without `target:` — then `namespace`, `namePrefix`, `nameSuffix`, labels
//! and annotations, `patchesJson6902`, and last `images`). Objects keep their
//! original, previous and current names, as kustomize does to match patches.
//!
//! Only objects that hold a pod spec, and ServiceAccounts, are followed; of
//! a pod spec only its containers (name, image, policy, and where each is
//! written), its pull secrets and its ServiceAccount. What a patch does that
//! the simulation cannot follow marks the object `unknown`, with why, so
//! that nothing is generated for it on a guess.
//!
//! No IO: the documents of the files come in `Inputs`.

use std::collections::BTreeMap;

use crate::kustomize::value::Value;
use crate::kustomize::{is_remote, join, patch::is_generated_path, Graph, ImageOverride, Target};
use crate::manifest::{workload_shape_of, WorkloadShape, CONTAINER_LISTS};
use crate::rules::Rules;

/// Where something is written: a file and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

/// A name and namespace, as kustomize identifies objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Id {
    pub name: String,
    pub namespace: Option<String>,
}

impl Id {
    /// kustomize treats no namespace and `default` alike.
    pub fn same(&self, name: &str, namespace: Option<&str>) -> bool {
        self.name == name && effective(self.namespace.as_deref()) == effective(namespace)
    }
}

fn effective(namespace: Option<&str>) -> &str {
    namespace.unwrap_or("default")
}

#[derive(Debug, Clone)]
pub struct Container {
    pub name: Option<String>,
    pub image: Option<String>,
    pub policy: Option<String>,
    /// Where the container's mapping is written.
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Pod {
    /// (list, containers) for the lists present, in `CONTAINER_LISTS` order.
    pub lists: Vec<(&'static str, Vec<Container>)>,
    /// `None`: no `imagePullSecrets` key.
    pub secrets: Option<Vec<String>>,
    pub service_account: Option<String>,
    /// Where the pod spec mapping is written.
    pub origin: Origin,
}

impl Pod {
    pub fn list(&self, list: &str) -> &[Container] {
        self.lists.iter().find(|(l, _)| *l == list).map(|(_, c)| c.as_slice()).unwrap_or_default()
    }

    fn list_mut(&mut self, list: &'static str) -> &mut Vec<Container> {
        if let Some(i) = self.lists.iter().position(|(l, _)| *l == list) {
            return &mut self.lists[i].1;
        }
        self.lists.push((list, Vec::new()));
        self.lists.sort_by_key(|(l, _)| CONTAINER_LISTS.iter().position(|c| c == l));
        let i = self.lists.iter().position(|(l, _)| *l == list).expect("just added");
        &mut self.lists[i].1
    }

    pub fn containers(&self) -> impl Iterator<Item = (&'static str, usize, &Container)> {
        self.lists.iter().flat_map(|(list, containers)| containers.iter().enumerate().map(move |(i, c)| (*list, i, c)))
    }
}

/// One object of a render.
#[derive(Debug, Clone)]
pub struct Resource {
    /// The same object through every step of one render.
    pub uid: usize,
    pub api_version: String,
    pub kind: String,
    /// As written; then every earlier name; then the current one.
    pub org: Id,
    pub prev: Vec<Id>,
    pub cur: Id,
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    /// Empty for a ServiceAccount.
    pub pod_path: Vec<String>,
    /// A kind whose schema kustomize does not know (a custom resource, from
    /// `workloads:` or built in): strategic merge replaces its lists whole,
    /// and overlays patch it with JSON 6902.
    pub custom: bool,
    pub pod: Option<Pod>,
    /// A ServiceAccount's `imagePullSecrets`.
    pub account_secrets: Option<Vec<String>>,
    /// Where the object is written.
    pub origin: Origin,
    /// Why its pod cannot be predicted, when a patch did what the simulation does not follow.
    pub unknown: Option<String>,
}

impl Resource {
    pub fn is_service_account(&self) -> bool {
        self.kind == "ServiceAccount" && self.pod_path.is_empty()
    }

    fn group_version(&self) -> (&str, &str) {
        split_api_version(&self.api_version)
    }

    /// Whether kustomize would match a patch naming (api_version, kind, name, namespace) to this object.
    fn matches_id(&self, api_version: &str, kind: &str, name: &str, namespace: Option<&str>) -> bool {
        if kind != self.kind {
            return false;
        }
        let (group, version) = split_api_version(api_version);
        if (group, version) != self.group_version() && !api_version.is_empty() {
            return false;
        }
        self.ids().any(|id| id.same(name, namespace))
    }

    pub fn ids(&self) -> impl Iterator<Item = &Id> {
        std::iter::once(&self.org).chain(self.prev.iter()).chain(std::iter::once(&self.cur))
    }

    fn rename(&mut self, name: Option<String>, namespace: Option<Option<String>>) {
        let mut next = self.cur.clone();
        if let Some(name) = name {
            next.name = name;
        }
        if let Some(namespace) = namespace {
            next.namespace = namespace;
        }
        if next != self.cur {
            self.prev.push(std::mem::replace(&mut self.cur, next));
        }
    }

    fn mark_unknown(&mut self, why: String) {
        if self.unknown.is_none() {
            self.unknown = Some(why);
        }
    }
}

fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// A `target:` selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub label_selector: Option<String>,
    pub annotation_selector: Option<String>,
}

impl Selector {
    pub fn from_value(value: &Value) -> Selector {
        let field = |key: &str| value.get(key).and_then(Value::str).map(str::to_string);
        Selector {
            group: field("group"),
            version: field("version"),
            kind: field("kind"),
            name: field("name"),
            namespace: field("namespace"),
            label_selector: field("labelSelector"),
            annotation_selector: field("annotationSelector"),
        }
    }

    /// Whether `resource` is selected, or `Err` with what cannot be evaluated.
    fn selects(&self, resource: &Resource) -> Result<bool, String> {
        let (group, version) = resource.group_version();
        if self.group.as_deref().is_some_and(|g| g != group)
            || self.version.as_deref().is_some_and(|v| v != version)
            || self.kind.as_deref().is_some_and(|k| k != resource.kind)
        {
            return Ok(false);
        }
        if let Some(pattern) = &self.name {
            let regex = anchored(pattern)?;
            // Selectors see the original and the current name, not those in between.
            if ![&resource.org, &resource.cur].iter().any(|id| regex.is_match(&id.name)) {
                return Ok(false);
            }
        }
        if let Some(pattern) = &self.namespace {
            let regex = anchored(pattern)?;
            if ![&resource.org, &resource.cur].iter().any(|id| regex.is_match(effective(id.namespace.as_deref()))) {
                return Ok(false);
            }
        }
        if let Some(selector) = &self.label_selector {
            if !label_selector_matches(selector, &resource.labels)? {
                return Ok(false);
            }
        }
        if let Some(selector) = &self.annotation_selector {
            if !label_selector_matches(selector, &resource.annotations)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// kustomize matches names and namespaces as anchored regular expressions.
fn anchored(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|_| format!("the selector pattern `{pattern}` is not a regular expression pullsmith can read"))
}

/// Kubernetes label selector syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`.
fn label_selector_matches(selector: &str, labels: &[(String, String)]) -> Result<bool, String> {
    let value_of = |key: &str| labels.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    for term in split_terms(selector) {
        let term = term.trim();
        if term.is_empty() {
            continue;
        }
        let ok = if let Some(key) = term.strip_prefix('!') {
            value_of(key.trim()).is_none()
        } else if let Some((key, value)) = term.split_once("!=") {
            value_of(key.trim()) != Some(value.trim())
        } else if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
            value_of(key.trim()) == Some(value.trim())
        } else if let Some((key, set)) = split_set(term, " notin ") {
            value_of(key).is_none_or(|v| !set.contains(&v))
        } else if let Some((key, set)) = split_set(term, " in ") {
            value_of(key).is_some_and(|v| set.contains(&v))
        } else if term.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
            value_of(term).is_some()
        } else {
            return Err(format!("the label selector `{selector}` is not one pullsmith can read"));
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Splits on commas outside parentheses.
fn split_terms(selector: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&selector[start..]);
    out
}

fn split_set<'s>(term: &'s str, operator: &str) -> Option<(&'s str, Vec<&'s str>)> {
    let (key, rest) = term.split_once(operator)?;
    let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some((key.trim(), inner.split(',').map(str::trim).collect()))
}

/// A generated patch planned in this run, applied where the overlay's `patches:` ends.
#[derive(Debug, Clone)]
pub struct PlannedPatch {
    /// Repository-relative path of the generated file.
    pub file: String,
    pub target: Option<Selector>,
    pub documents: Vec<Value>,
}

/// What a render reads.
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    pub graph: &'a Graph,
    pub rules: &'a Rules,
    /// Documents of the files kustomizations pull in (manifests and patch files), by path.
    pub files: &'a BTreeMap<String, Vec<Value>>,
    /// Generated patches planned in this run, by kustomization directory:
    /// used instead of pullsmith's entries on disk.
    pub planned: &'a BTreeMap<String, Vec<PlannedPatch>>,
    /// The generated patches of the rendered directory itself (none: render it without).
    pub own: &'a [PlannedPatch],
}

/// What `dir` renders.
#[derive(Debug, Clone, Default)]
pub struct Render {
    pub resources: Vec<Resource>,
    /// The objects where `dir`'s own generated patches apply: after its
    /// `patchesStrategicMerge` and `patches`, before its name, label,
    /// `patchesJson6902` and `images` transformers.
    pub at_patch_point: Vec<Resource>,
    /// What the simulation could not follow, for warnings.
    pub notes: Vec<String>,
}

/// Renders `dir` as `kubectl kustomize` would, for pull settings.
pub fn render(inputs: Inputs<'_>, dir: &str) -> Render {
    let mut builder = Builder { inputs, next_uid: 0, point_dir: dir, point: None, notes: Vec::new() };
    let resources = builder.build(dir, Vec::new(), 0);
    Render { resources, at_patch_point: builder.point.unwrap_or_default(), notes: builder.notes }
}

/// Deeper kustomization nesting than this is not followed (cycles are broken by the graph already).
const MAX_NESTING: usize = 64;

struct Builder<'a> {
    inputs: Inputs<'a>,
    next_uid: usize,
    point_dir: &'a str,
    point: Option<Vec<Resource>>,
    notes: Vec<String>,
}

/// Where a patch's content is written: a file of its own, or inline in a kustomization.
#[derive(Clone, Copy)]
struct Written<'s> {
    file: &'s str,
    /// For inline content: the line of the entry in the kustomization.
    inline_line: Option<usize>,
}

impl Written<'_> {
    fn origin(&self, line: usize) -> Origin {
        Origin { file: self.file.to_string(), line: self.inline_line.unwrap_or(line) }
    }
}

impl<'a> Builder<'a> {
    fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    fn build(&mut self, dir: &str, mut acc: Vec<Resource>, depth: usize) -> Vec<Resource> {
        let graph = self.inputs.graph;
        let Some(kustomization) = graph.kustomizations.get(dir) else { return acc };
        if depth > MAX_NESTING {
            self.note(format!("`{dir}` is nested more than {MAX_NESTING} kustomizations deep: not followed"));
            return acc;
        }
        let Some(value) = kustomization.value.as_ref() else { return acc };
        for target in &kustomization.targets {
            match target {
                Target::File(file) => {
                    let loaded = self.load(file);
                    acc.extend(loaded);
                }
                Target::Kustomization(child) if kustomization.components.contains(child) => {
                    acc = self.build(child, acc, depth + 1);
                }
                Target::Kustomization(child) => {
                    let built = self.build(child, Vec::new(), depth + 1);
                    acc.extend(built);
                }
            }
        }
        let file = kustomization.file.as_str();
        for entry in value.get("patchesStrategicMerge").map(Value::items).unwrap_or_default() {
            let Some(reference) = entry.str() else { continue };
            let documents = self.patch_documents(dir, file, Some(reference), None, entry.line());
            if let Some((written, documents)) = documents {
                for document in &documents {
                    self.apply_strategic(&mut acc, document, None, written);
                }
            }
        }
        for entry in value.get("patches").map(Value::items).unwrap_or_default() {
            let path = entry.get("path").and_then(Value::str);
            if path.is_some_and(is_generated_path) {
                // pullsmith's own entries: replaced by what this run plans.
                continue;
            }
            let inline = entry.get("patch").and_then(Value::str);
            let target = entry.get("target").map(Selector::from_value);
            if let Some((written, documents)) = self.patch_documents(dir, file, path, inline, entry.line()) {
                self.apply_patch(&mut acc, &documents, target.as_ref(), written);
            }
        }
        if self.point_dir == dir {
            self.point = Some(acc.clone());
        }
        let planned = if self.point_dir == dir {
            self.inputs.own
        } else {
            self.inputs.planned.get(dir).map(Vec::as_slice).unwrap_or_default()
        };
        {
            for patch in planned {
                let written = Written { file: &patch.file, inline_line: None };
                self.apply_patch(&mut acc, &patch.documents, patch.target.as_ref(), written);
            }
        }
        if let Some(namespace) = value.get("namespace").and_then(Value::str) {
            for resource in &mut acc {
                resource.rename(None, Some(Some(namespace.to_string())));
            }
        }
        let prefix = value.get("namePrefix").and_then(Value::str).unwrap_or_default();
        let suffix = value.get("nameSuffix").and_then(Value::str).unwrap_or_default();
        if !prefix.is_empty() || !suffix.is_empty() {
            for resource in &mut acc {
                let name = format!("{prefix}{}{suffix}", resource.cur.name);
                resource.rename(Some(name), None);
            }
        }
        let mut labels = value.get("commonLabels").map(Value::string_pairs).unwrap_or_default();
        for entry in value.get("labels").map(Value::items).unwrap_or_default() {
            labels.extend(entry.get("pairs").map(Value::string_pairs).unwrap_or_default());
        }
        let annotations = value.get("commonAnnotations").map(Value::string_pairs).unwrap_or_default();
        for resource in &mut acc {
            set_pairs(&mut resource.labels, &labels);
            set_pairs(&mut resource.annotations, &annotations);
        }
        for entry in value.get("patchesJson6902").map(Value::items).unwrap_or_default() {
            let path = entry.get("path").and_then(Value::str);
            let inline = entry.get("patch").and_then(Value::str);
            let target = entry.get("target").map(Selector::from_value);
            if let Some((written, documents)) = self.patch_documents(dir, file, path, inline, entry.line()) {
                self.apply_patch(&mut acc, &documents, target.as_ref(), written);
            }
        }
        let images: Vec<ImageOverride> = kustomization.images.clone();
        if !images.is_empty() {
            for resource in &mut acc {
                for (_, containers) in resource.pod.iter_mut().flat_map(|p| p.lists.iter_mut()) {
                    for container in containers {
                        if let Some(image) = &container.image {
                            container.image = Some(crate::kustomize::transform_image(image, &images));
                        }
                    }
                }
            }
        }
        self.check_unfollowed(dir, file, value);
        acc
    }

    /// `transformers:` and `replacements:` are not simulated: a note when
    /// they may touch containers (a label or namespace transformer cannot).
    fn check_unfollowed(&mut self, dir: &str, file: &str, value: &Value) {
        const HARMLESS: [&str; 5] = [
            "LabelTransformer",
            "AnnotationsTransformer",
            "NamespaceTransformer",
            "PrefixSuffixTransformer",
            "ReplicaCountTransformer",
        ];
        let mut touches_containers = false;
        for entry in value.get("transformers").map(Value::items).unwrap_or_default() {
            let documents = match entry.str() {
                Some(reference) => join(dir, reference).and_then(|path| self.inputs.files.get(&path)).cloned(),
                None => Some(vec![entry.clone()]),
            };
            touches_containers |= documents.is_none_or(|documents| {
                documents.iter().any(|d| !HARMLESS.contains(&d.get("kind").and_then(Value::str).unwrap_or_default()))
            });
        }
        for entry in value.get("replacements").map(Value::items).unwrap_or_default() {
            let documents = match entry.get("path").and_then(Value::str) {
                Some(reference) => join(dir, reference).and_then(|path| self.inputs.files.get(&path)).cloned(),
                None => Some(vec![entry.clone()]),
            };
            touches_containers |= documents.is_none_or(|documents| documents.iter().any(mentions_containers));
        }
        if touches_containers {
            self.note(format!(
                "`{file}` has `transformers:` or `replacements:` that may change containers, which pullsmith does not simulate: policies are decided on the images before them"
            ));
        }
    }

    /// The objects a manifest file holds.
    fn load(&mut self, file: &str) -> Vec<Resource> {
        let Some(documents) = self.inputs.files.get(file) else { return Vec::new() };
        let mut out = Vec::new();
        for document in documents {
            let mut objects = Vec::new();
            flatten(document, &mut objects);
            for object in objects {
                if let Some(resource) = self.resource_of(object, Written { file, inline_line: None }) {
                    out.push(resource);
                }
            }
        }
        out
    }

    fn resource_of(&mut self, object: &Value, written: Written<'_>) -> Option<Resource> {
        let kind = object.get("kind")?.str()?;
        let api_version = object.get("apiVersion").and_then(Value::str).unwrap_or_default();
        let shape = workload_shape_of(kind, api_version, &self.inputs.rules.workloads);
        // Pod specs under `*`, and Argo workflows' templates, are not followed
        // through patches: such an object is kept, unknown, so that an overlay
        // says its containers are left alone instead of patching them on a guess.
        let opaque = shape.as_ref().filter(|shape| !shape.single_pod_spec()).map(|shape| {
            if shape.group_path.is_empty() {
                format!(
                    "its pod specs (`{}`) are several, and pullsmith generates overlay patches for one pod spec per object only",
                    shape.pod_spec_path.join("/")
                )
            } else {
                "pullsmith does not generate overlay patches for the templates of an Argo workflow".to_string()
            }
        });
        let pod_path: Vec<String> = match &shape {
            Some(shape) if opaque.is_none() => shape.pod_spec_path.iter().map(|p| p.to_string()).collect(),
            Some(_) => Vec::new(),
            None if kind == "ServiceAccount" => Vec::new(),
            None => return None,
        };
        let custom = shape.as_ref().is_some_and(|shape| !shape.schema_known);
        let metadata = object.get("metadata");
        let id = Id {
            name: metadata.and_then(|m| m.get("name")).and_then(Value::str).unwrap_or_default().to_string(),
            namespace: metadata.and_then(|m| m.get("namespace")).and_then(Value::str).map(str::to_string),
        };
        let uid = self.next_uid;
        self.next_uid += 1;
        let mut resource = Resource {
            uid,
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            org: id.clone(),
            prev: Vec::new(),
            cur: id,
            labels: metadata.and_then(|m| m.get("labels")).map(Value::string_pairs).unwrap_or_default(),
            annotations: metadata.and_then(|m| m.get("annotations")).map(Value::string_pairs).unwrap_or_default(),
            pod_path: pod_path.clone(),
            custom,
            pod: None,
            account_secrets: None,
            origin: written.origin(object.line()),
            unknown: None,
        };
        if let (Some(why), Some(shape)) = (opaque, &shape) {
            resource.pod = Some(opaque_pod(object, shape, written));
            resource.mark_unknown(why);
        } else if resource.is_service_account() {
            resource.account_secrets = object.get("imagePullSecrets").map(secret_names);
        } else if let Some(spec) = object.at(&pod_path) {
            match pod_of(spec, written) {
                Ok(pod) => resource.pod = pod,
                Err(why) => resource.mark_unknown(why),
            }
        }
        Some(resource)
    }

    /// A patch's documents: from its file, or parsed from inline text.
    fn patch_documents<'s>(
        &mut self,
        dir: &str,
        kustomization_file: &'s str,
        path: Option<&str>,
        inline: Option<&str>,
        entry_line: usize,
    ) -> Option<(Written<'s>, Vec<Value>)>
    where
        'a: 's,
    {
        if let Some(reference) = path {
            if let Some(joined) = join(dir, reference) {
                if let Some((file, documents)) = self.inputs.files.get_key_value(&joined) {
                    return Some((Written { file: file.as_str(), inline_line: None }, documents.clone()));
                }
            }
            // `patchesStrategicMerge` entries may be inline content too.
            if !reference.contains('\n') || is_remote(reference) {
                return None;
            }
        }
        let text = inline.or(path)?;
        match Value::parse_documents(text) {
            Ok(documents) => Some((Written { file: kustomization_file, inline_line: Some(entry_line) }, documents)),
            Err(message) => {
                self.note(format!("an inline patch in `{kustomization_file}` is not valid YAML ({message})"));
                None
            }
        }
    }

    /// One `patches:` entry: JSON 6902 operations or strategic-merge documents.
    fn apply_patch(
        &mut self,
        acc: &mut Vec<Resource>,
        documents: &[Value],
        target: Option<&Selector>,
        written: Written<'_>,
    ) {
        let is_json6902 = matches!(documents.first(), Some(Value::Seq(_)));
        if is_json6902 {
            let Some(target) = target else { return };
            let operations = documents[0].items();
            for index in self.select(acc, target, written) {
                apply_operations(&mut acc[index], operations, written);
            }
            return;
        }
        for document in documents {
            self.apply_strategic(acc, document, target, written);
        }
    }

    /// Indexes of the objects `target` selects; objects it cannot evaluate are marked unknown.
    fn select(&mut self, acc: &mut [Resource], target: &Selector, written: Written<'_>) -> Vec<usize> {
        let mut out = Vec::new();
        for (index, resource) in acc.iter_mut().enumerate() {
            match target.selects(resource) {
                Ok(true) => out.push(index),
                Ok(false) => {}
                Err(why) => resource.mark_unknown(format!("the patch in `{}`: {why}", written.file)),
            }
        }
        out
    }

    fn apply_strategic(
        &mut self,
        acc: &mut Vec<Resource>,
        document: &Value,
        target: Option<&Selector>,
        written: Written<'_>,
    ) {
        if !document.is_map() {
            return;
        }
        let indexes: Vec<usize> = match target {
            Some(target) => self.select(acc, target, written),
            None => {
                let kind = document.get("kind").and_then(Value::str).unwrap_or_default();
                let api_version = document.get("apiVersion").and_then(Value::str).unwrap_or_default();
                let metadata = document.get("metadata");
                let Some(name) = metadata.and_then(|m| m.get("name")).and_then(Value::str) else { return };
                let namespace = metadata.and_then(|m| m.get("namespace")).and_then(Value::str);
                acc.iter()
                    .enumerate()
                    .filter(|(_, r)| r.matches_id(api_version, kind, name, namespace))
                    .map(|(i, _)| i)
                    .collect()
            }
        };
        let mut deleted = Vec::new();
        for index in indexes {
            if merge_strategic(&mut acc[index], document, written) == Merged::Deleted {
                deleted.push(acc[index].uid);
            }
        }
        acc.retain(|r| !deleted.contains(&r.uid));
    }
}

/// Whether a value names container fields anywhere (a replacement's `fieldPaths`).
fn mentions_containers(value: &Value) -> bool {
    match value {
        Value::Scalar(text) => ["image", "containers", "imagePull"].iter().any(|word| text.contains(word)),
        Value::Seq(items) => items.iter().any(mentions_containers),
        Value::Map(entries, _) => {
            entries.iter().any(|(k, v)| mentions_containers(&Value::Scalar(k.clone())) || mentions_containers(v))
        }
        Value::Null | Value::Opaque => false,
    }
}

/// A document's objects: itself, or the items of a `kind: List`, recursively.
fn flatten<'v>(value: &'v Value, out: &mut Vec<&'v Value>) {
    let kind = value.get("kind").and_then(Value::str).unwrap_or_default();
    if kind.ends_with("List") && value.get("items").is_some() {
        for item in value.get("items").map(Value::items).unwrap_or_default() {
            flatten(item, out);
        }
    } else if value.is_map() {
        out.push(value);
    }
}

fn set_pairs(pairs: &mut Vec<(String, String)>, new: &[(String, String)]) {
    for (key, value) in new {
        match pairs.iter_mut().find(|(k, _)| k == key) {
            Some(pair) => pair.1 = value.clone(),
            None => pairs.push((key.clone(), value.clone())),
        }
    }
}

fn secret_names(list: &Value) -> Vec<String> {
    list.items().iter().filter_map(|item| item.get("name").and_then(Value::str).map(str::to_string)).collect()
}

fn container_of(value: &Value, written: Written<'_>) -> Result<Container, String> {
    if !value.is_map() {
        return Err(format!("a container in `{}` is not a mapping pullsmith can follow", written.file));
    }
    Ok(Container {
        name: value.get("name").and_then(Value::str).map(str::to_string),
        image: value.get("image").and_then(Value::str).map(str::to_string),
        policy: value.get("imagePullPolicy").and_then(Value::str).map(str::to_string),
        origin: written.origin(value.line()),
    })
}

/// The pod spec at `spec`, `None` when it is null.
fn pod_of(spec: &Value, written: Written<'_>) -> Result<Option<Pod>, String> {
    match spec {
        Value::Null => return Ok(None),
        Value::Map(..) => {}
        _ => return Err(format!("a pod spec in `{}` is not a mapping pullsmith can follow", written.file)),
    }
    let mut pod = Pod { lists: Vec::new(), secrets: None, service_account: None, origin: written.origin(spec.line()) };
    for list in CONTAINER_LISTS {
        match spec.get(list) {
            None | Some(Value::Null) => {}
            Some(Value::Seq(items)) => {
                let containers = items.iter().map(|item| container_of(item, written)).collect::<Result<Vec<_>, _>>()?;
                pod.lists.push((list, containers));
            }
            Some(_) => return Err(format!("`{list}` in `{}` is not a list pullsmith can follow", written.file)),
        }
    }
    pod.secrets = match spec.get("imagePullSecrets") {
        None | Some(Value::Null) => None,
        Some(list) => Some(secret_names(list)),
    };
    pod.service_account = service_account_of(spec);
    Ok(Some(pod))
}

/// Every container of an object the simulation does not follow (see
/// `resource_of`), gathered into one pod so that an overlay can tell whether
/// any of them needs a change it cannot make.
fn opaque_pod(object: &Value, shape: &WorkloadShape<'_>, written: Written<'_>) -> Pod {
    let mut pod =
        Pod { lists: Vec::new(), secrets: None, service_account: None, origin: written.origin(object.line()) };
    let mut groups = Vec::new();
    for spec in values_at(object, &shape.pod_spec_path) {
        groups.extend(values_at(spec, shape.group_path));
    }
    for group in groups {
        for slot in shape.slots {
            let Some(value) = group.at(slot.path) else { continue };
            let items = if slot.single { std::slice::from_ref(value) } else { value.items() };
            let containers: Vec<Container> = items.iter().filter_map(|item| container_of(item, written).ok()).collect();
            if !containers.is_empty() {
                pod.lists.push((slot.name, containers));
            }
        }
    }
    pod
}

/// The values at `path` below `value`, a `*` segment standing for every item or value.
fn values_at<'v>(value: &'v Value, path: &[&str]) -> Vec<&'v Value> {
    let Some((first, rest)) = path.split_first() else { return vec![value] };
    let next: Vec<&Value> = match (*first, value) {
        ("*", Value::Seq(items)) => items.iter().collect(),
        ("*", Value::Map(entries, _)) => entries.iter().map(|(_, v)| v).collect(),
        ("*", _) => Vec::new(),
        (key, _) => value.get(key).into_iter().collect(),
    };
    next.into_iter().flat_map(|v| values_at(v, rest)).collect()
}

fn service_account_of(spec: &Value) -> Option<String> {
    spec.get("serviceAccountName").or_else(|| spec.get("serviceAccount")).and_then(Value::str).map(str::to_string)
}

#[derive(Debug, PartialEq, Eq)]
enum Merged {
    Kept,
    Deleted,
}

/// A strategic-merge patch document on one object, as kustomize merges it
/// for the fields the simulation follows.
fn merge_strategic(resource: &mut Resource, patch: &Value, written: Written<'_>) -> Merged {
    match patch.get("$patch").and_then(Value::str) {
        Some("delete") => return Merged::Deleted,
        // kustomize (v5) leaves the object as it is for a `$patch: replace` at the top.
        Some("replace") => {
            return Merged::Kept;
        }
        _ => {}
    }
    if let Some(metadata) = patch.get("metadata") {
        merge_pairs(&mut resource.labels, metadata.get("labels"));
        merge_pairs(&mut resource.annotations, metadata.get("annotations"));
    }
    if resource.is_service_account() {
        if let Some(list) = patch.get("imagePullSecrets") {
            let mut current = resource.account_secrets.take().unwrap_or_default();
            match list {
                Value::Null => resource.account_secrets = None,
                _ => {
                    merge_secrets(&mut current, list);
                    resource.account_secrets = Some(current);
                }
            }
        }
        return Merged::Kept;
    }
    if resource.pod_path.is_empty() {
        // An object whose pods are not followed (see `resource_of`): it stays unknown.
        return Merged::Kept;
    }
    // Down the pod spec path: a null or a `$patch` directive on the way replaces what is below.
    let mut node = patch;
    for (depth, key) in resource.pod_path.clone().iter().enumerate() {
        let Some(next) = node.get(key) else { return Merged::Kept };
        match next {
            Value::Null => {
                resource.pod = None;
                return Merged::Kept;
            }
            Value::Map(..) => {}
            _ => {
                resource
                    .mark_unknown(format!("the patch in `{}` sets `{key}` to something not a mapping", written.file));
                return Merged::Kept;
            }
        }
        match next.get("$patch").and_then(Value::str) {
            Some("delete") => {
                resource.pod = None;
                return Merged::Kept;
            }
            Some("replace") => {
                let rest = &resource.pod_path[depth + 1..];
                match next.at(rest).map(|spec| pod_of(spec, written)).unwrap_or(Ok(None)) {
                    Ok(pod) => resource.pod = pod,
                    Err(why) => resource.mark_unknown(why),
                }
                return Merged::Kept;
            }
            _ => {}
        }
        node = next;
    }
    if node.entries().iter().any(|(k, _)| k.starts_with("$setElementOrder/") || k.starts_with("$retainKeys")) {
        resource.mark_unknown(format!("the patch in `{}` reorders lists with directives", written.file));
        return Merged::Kept;
    }
    let origin = written.origin(node.line());
    let pod =
        resource.pod.get_or_insert_with(|| Pod { lists: Vec::new(), secrets: None, service_account: None, origin });
    for list in CONTAINER_LISTS {
        match node.get(list) {
            None => {}
            Some(Value::Null) => pod.lists.retain(|(l, _)| *l != list),
            // kustomize knows no merge keys for custom kinds: their lists are replaced whole.
            Some(Value::Seq(items)) if resource.custom => {
                if items.iter().any(|item| item.get("$patch").is_some()) {
                    resource.mark_unknown(format!(
                        "the patch in `{}` has `$patch` directives in `{list}` of a custom kind",
                        written.file
                    ));
                    return Merged::Kept;
                }
                match items.iter().map(|item| container_of(item, written)).collect::<Result<Vec<_>, _>>() {
                    Ok(containers) => *pod.list_mut(list) = containers,
                    Err(why) => {
                        resource.mark_unknown(why);
                        return Merged::Kept;
                    }
                }
            }
            Some(Value::Seq(items)) => {
                if let Err(why) = merge_containers(pod.list_mut(list), items, written) {
                    resource.mark_unknown(why);
                    return Merged::Kept;
                }
            }
            Some(_) => {
                resource.mark_unknown(format!("the patch in `{}` sets `{list}` to something not a list", written.file));
                return Merged::Kept;
            }
        }
    }
    match node.get("imagePullSecrets") {
        None => {}
        Some(Value::Null) => pod.secrets = None,
        Some(list) if resource.custom => pod.secrets = Some(secret_names(list)),
        Some(list) => {
            let mut current = pod.secrets.take().unwrap_or_default();
            merge_secrets(&mut current, list);
            pod.secrets = Some(current);
        }
    }
    if node.get("serviceAccountName").is_some() || node.get("serviceAccount").is_some() {
        pod.service_account = service_account_of(node);
    }
    Merged::Kept
}

fn merge_pairs(pairs: &mut Vec<(String, String)>, patch: Option<&Value>) {
    for (key, value) in patch.map(Value::entries).unwrap_or_default() {
        match value {
            Value::Null => pairs.retain(|(k, _)| k != key),
            _ => {
                if let Some(value) = value.str() {
                    set_pairs(pairs, &[(key.clone(), value.to_string())]);
                }
            }
        }
    }
}

/// Strategic merge of a list keyed by `name`: the items the patch names come
/// first, in its order (merged into the existing ones), then the others in
/// their order. `$patch: delete` removes an item, `$patch: replace` replaces
/// it, and a `{$patch: replace}` item replaces the whole list.
fn merge_containers(current: &mut Vec<Container>, items: &[Value], written: Written<'_>) -> Result<(), String> {
    let replace_all =
        items.iter().any(|i| i.get("$patch").and_then(Value::str) == Some("replace") && i.get("name").is_none());
    let mut rest: Vec<Container> = if replace_all { Vec::new() } else { std::mem::take(current) };
    let mut named: Vec<Container> = Vec::new();
    for item in items {
        let directive = item.get("$patch").and_then(Value::str);
        let Some(name) = item.get("name").and_then(Value::str) else {
            if directive.is_some() {
                continue;
            }
            return Err(format!("a container in the patch `{}` has no name", written.file));
        };
        let existing = rest.iter().position(|c| c.name.as_deref() == Some(name));
        match (directive, existing) {
            (Some("delete"), Some(i)) => {
                rest.remove(i);
            }
            (Some("delete"), None) => {}
            (Some("replace"), existing) => {
                if let Some(i) = existing {
                    rest.remove(i);
                }
                named.push(container_of(item, written)?);
            }
            (_, Some(i)) => {
                let mut container = rest.remove(i);
                match item.get("image") {
                    Some(Value::Null) => container.image = None,
                    Some(image) => container.image = image.str().map(str::to_string).or(container.image),
                    None => {}
                }
                match item.get("imagePullPolicy") {
                    Some(Value::Null) => container.policy = None,
                    Some(policy) => container.policy = policy.str().map(str::to_string).or(container.policy),
                    None => {}
                }
                named.push(container);
            }
            (_, None) => named.push(container_of(item, written)?),
        }
    }
    named.extend(rest);
    *current = named;
    Ok(())
}

/// Strategic merge of `imagePullSecrets` (keyed by `name`), in the same order rule as containers.
fn merge_secrets(current: &mut Vec<String>, list: &Value) {
    let items = list.items();
    let replace_all =
        items.iter().any(|i| i.get("$patch").and_then(Value::str) == Some("replace") && i.get("name").is_none());
    let mut rest: Vec<String> = if replace_all { Vec::new() } else { std::mem::take(current) };
    let mut named = Vec::new();
    for item in items {
        let Some(name) = item.get("name").and_then(Value::str) else { continue };
        rest.retain(|n| n != name);
        if item.get("$patch").and_then(Value::str) != Some("delete") && !named.iter().any(|n: &String| n == name) {
            named.push(name.to_string());
        }
    }
    named.extend(rest);
    *current = named;
}

/// A JSON pointer's segments, `~1` and `~0` unescaped.
fn pointer(path: &str) -> Vec<String> {
    path.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect()
}

/// JSON 6902 operations on one object, for the fields the simulation follows.
fn apply_operations(resource: &mut Resource, operations: &[Value], written: Written<'_>) {
    for operation in operations {
        let op = operation.get("op").and_then(Value::str).unwrap_or_default();
        let Some(path) = operation.get("path").and_then(Value::str) else { continue };
        let path = pointer(path);
        let value = operation.get("value");
        let set = matches!(op, "add" | "replace");
        if let Err(why) = apply_operation(resource, op, &path, value, set, written) {
            resource.mark_unknown(format!("the JSON 6902 patch in `{}` {why}", written.file));
        }
        if matches!(op, "move" | "copy") {
            let from = operation.get("from").and_then(Value::str).map(pointer).unwrap_or_default();
            if touches(resource, &from) || touches(resource, &path) {
                resource.mark_unknown(format!("the JSON 6902 patch in `{}` moves or copies pod fields", written.file));
            }
        }
    }
}

/// Whether `path` is at, above or below the pod spec or the metadata.
fn touches(resource: &Resource, path: &[String]) -> bool {
    let pod = &resource.pod_path;
    let n = pod.len().min(path.len());
    pod[..n] == path[..n] || path.first().is_some_and(|p| p == "metadata")
}

fn apply_operation(
    resource: &mut Resource,
    op: &str,
    path: &[String],
    value: Option<&Value>,
    set: bool,
    written: Written<'_>,
) -> Result<(), String> {
    let text = |v: Option<&Value>| v.and_then(Value::str).map(str::to_string);
    match path {
        [m, name] if m == "metadata" && name == "name" && set => {
            resource.rename(text(value), None);
            return Ok(());
        }
        [m, namespace] if m == "metadata" && namespace == "namespace" => {
            resource.rename(None, Some(if set { text(value) } else { None }));
            return Ok(());
        }
        [m, labels] if m == "metadata" && (labels == "labels" || labels == "annotations") => {
            let pairs = if labels == "labels" { &mut resource.labels } else { &mut resource.annotations };
            *pairs = if set { value.map(Value::string_pairs).unwrap_or_default() } else { Vec::new() };
            return Ok(());
        }
        [m, labels, key] if m == "metadata" && (labels == "labels" || labels == "annotations") => {
            let pairs = if labels == "labels" { &mut resource.labels } else { &mut resource.annotations };
            pairs.retain(|(k, _)| k != key);
            if let (true, Some(v)) = (set, text(value)) {
                pairs.push((key.clone(), v));
            }
            return Ok(());
        }
        _ => {}
    }
    if resource.is_service_account() {
        if path.first().is_some_and(|p| p == "imagePullSecrets") {
            return Err("changes a ServiceAccount's pull secrets".to_string());
        }
        return Ok(());
    }
    if resource.pod_path.is_empty() {
        return Ok(());
    }
    let pod_path = resource.pod_path.clone();
    if path.len() < pod_path.len() {
        if pod_path[..path.len()] != *path || op == "test" {
            return Ok(());
        }
        // Above the pod spec: the value holds (or is) a new one.
        resource.pod = match (set, value) {
            (true, Some(value)) => match value.at(&pod_path[path.len()..]) {
                Some(spec) => pod_of(spec, written)?,
                None => None,
            },
            _ => None,
        };
        return Ok(());
    }
    if pod_path[..] != path[..pod_path.len()] || op == "test" {
        return Ok(());
    }
    let rest = &path[pod_path.len()..];
    if rest.is_empty() {
        resource.pod = match (set, value) {
            (true, Some(spec)) => pod_of(spec, written)?,
            _ => None,
        };
        return Ok(());
    }
    let origin = Origin { file: written.file.to_string(), line: written.inline_line.unwrap_or(0) };
    let pod =
        resource.pod.get_or_insert_with(|| Pod { lists: Vec::new(), secrets: None, service_account: None, origin });
    let list = CONTAINER_LISTS.into_iter().find(|l| *l == rest[0]);
    match (list, rest.len()) {
        (Some(list), 1) => {
            pod.lists.retain(|(l, _)| *l != list);
            if set {
                let items = value.map(Value::items).unwrap_or_default();
                let containers = items.iter().map(|item| container_of(item, written)).collect::<Result<Vec<_>, _>>()?;
                *pod.list_mut(list) = containers;
            }
        }
        (Some(list), _) => {
            let containers = pod.list_mut(list);
            let index = match rest[1].as_str() {
                "-" if op == "add" && rest.len() == 2 => containers.len(),
                index => index.parse::<usize>().map_err(|_| format!("addresses `{list}/{index}`"))?,
            };
            if rest.len() == 2 {
                match op {
                    "add" if index <= containers.len() => {
                        containers.insert(index, container_of(value.unwrap_or(&Value::Null), written)?)
                    }
                    "replace" if index < containers.len() => {
                        containers[index] = container_of(value.unwrap_or(&Value::Null), written)?
                    }
                    "remove" if index < containers.len() => {
                        containers.remove(index);
                    }
                    _ => return Err(format!("addresses `{list}/{index}`, which is not there")),
                }
                return Ok(());
            }
            let Some(container) = containers.get_mut(index) else {
                return Err(format!("addresses `{list}/{index}`, which is not there"));
            };
            let field = if set { text(value) } else { None };
            match rest[2].as_str() {
                "imagePullPolicy" if rest.len() == 3 => container.policy = field,
                "image" if rest.len() == 3 => container.image = field,
                "name" if rest.len() == 3 => container.name = field,
                _ => {}
            }
        }
        (None, _) if rest[0] == "imagePullSecrets" => match rest.len() {
            1 => pod.secrets = if set { value.map(secret_names) } else { None },
            2 => {
                let secrets = pod.secrets.get_or_insert_with(Vec::new);
                let name = value.and_then(|v| v.get("name")).and_then(Value::str).map(str::to_string);
                let index = match rest[1].as_str() {
                    "-" => secrets.len(),
                    index => index.parse::<usize>().map_err(|_| format!("addresses `imagePullSecrets/{index}`"))?,
                };
                match (op, name) {
                    ("add", Some(name)) if index <= secrets.len() => secrets.insert(index, name),
                    ("replace", Some(name)) if index < secrets.len() => secrets[index] = name,
                    ("remove", _) if index < secrets.len() => {
                        secrets.remove(index);
                    }
                    _ => return Err(format!("addresses `imagePullSecrets/{index}` in a way pullsmith cannot follow")),
                }
            }
            _ => return Err("changes a pull secret entry in a way pullsmith cannot follow".to_string()),
        },
        (None, 1) if rest[0] == "serviceAccountName" || rest[0] == "serviceAccount" => {
            pod.service_account = if set { text(value) } else { None };
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_selectors() {
        let labels = vec![("app".to_string(), "web".to_string()), ("tier".to_string(), "front".to_string())];
        assert_eq!(label_selector_matches("app=web,tier==front", &labels), Ok(true));
        assert_eq!(label_selector_matches("app!=web", &labels), Ok(false));
        assert_eq!(label_selector_matches("app in (api, web)", &labels), Ok(true));
        assert_eq!(label_selector_matches("tier notin (front)", &labels), Ok(false));
        assert_eq!(label_selector_matches("app,!missing", &labels), Ok(true));
        assert!(label_selector_matches("app ~ x", &labels).is_err());
    }

    #[test]
    fn strategic_lists_put_named_items_first() {
        let written = Written { file: "p.yaml", inline_line: None };
        let container = |name: &str| Container {
            name: Some(name.to_string()),
            image: Some(name.to_string()),
            policy: None,
            origin: Origin { file: "base.yaml".to_string(), line: 1 },
        };
        let mut current = vec![container("a"), container("b"), container("c")];
        let patch = Value::parse_documents(
            "- name: c\n  imagePullPolicy: Always\n- name: d\n  image: d\n- name: a\n  $patch: delete\n",
        )
        .expect("parses")
        .remove(0);
        merge_containers(&mut current, patch.items(), written).expect("merges");
        let names: Vec<&str> = current.iter().filter_map(|c| c.name.as_deref()).collect();
        assert_eq!(names, ["c", "d", "b"]);
        assert_eq!(current[0].policy.as_deref(), Some("Always"));
        assert_eq!(current[1].origin.file, "p.yaml");
    }

    #[test]
    fn json_pointers_unescape() {
        assert_eq!(pointer("/metadata/annotations/a~1b~0c"), ["metadata", "annotations", "a/b~c"]);
    }
}
