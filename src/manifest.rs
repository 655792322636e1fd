//! What a parsed document means to Kubernetes: which objects carry pod specs
//! (built-in kinds, `kind: List` items, `workloads:` kinds), where their
//! containers are, and which objects are ServiceAccounts or pull secrets.
//!
//! It reads the positional tree only; it never edits and does no IO.

use crate::rules::Workload;
use crate::yaml::{Node, NodeKind};

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

/// The rules' `workloads:` entry for an object's kind (and apiVersion, when the entry names one).
pub fn custom_workload<'w>(object: &Object<'_>, workloads: &'w [Workload]) -> Option<&'w Workload> {
    workloads.iter().find(|w| w.kind == object.kind && w.api_version.as_deref().is_none_or(|v| v == object.api_version))
}

/// Where an object keeps its pod spec, if it has one.
pub fn pod_spec_path<'w>(object: &Object<'_>, workloads: &'w [Workload]) -> Option<Vec<&'w str>> {
    pod_spec_path_of(object.kind, object.api_version, workloads)
}

/// Where an object of `kind` and `api_version` keeps its pod spec, if it has one.
pub fn pod_spec_path_of<'w>(kind: &str, api_version: &str, workloads: &'w [Workload]) -> Option<Vec<&'w str>> {
    // Rules' workloads come first: they may name a kind that is also built in.
    if let Some(workload) =
        workloads.iter().find(|w| w.kind == kind && w.api_version.as_deref().is_none_or(|v| v == api_version))
    {
        return Some(workload.pod_spec_path.iter().map(String::as_str).collect());
    }
    let path: &'static [&'static str] = match kind {
        "Pod" => &["spec"],
        "PodTemplate" => &["template", "spec"],
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job" => {
            &["spec", "template", "spec"]
        }
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => return None,
    };
    Some(path.to_vec())
}

/// The pod spec mapping at `path` below the object, if it is there.
pub fn pod_spec<'a>(object: &Object<'a>, path: &[&str]) -> Option<&'a Node> {
    let mut node = object.node;
    for key in path {
        node = node.get(key)?;
    }
    node.is_mapping().then_some(node)
}

/// One container entry of a pod spec.
#[derive(Debug, Clone, Copy)]
pub struct Container<'a> {
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

/// Every container of a pod spec, in list order (containers, init, ephemeral).
pub fn containers<'a>(pod_spec: &'a Node) -> Result<Vec<Container<'a>>, ShapeError> {
    let mut out = Vec::new();
    for list in CONTAINER_LISTS {
        let Some((key, value)) = pod_spec.entry(list) else {
            continue;
        };
        match &value.kind {
            NodeKind::Sequence { items, .. } => {
                for (index, item) in items.iter().enumerate() {
                    // An alias repeats a container written elsewhere, which carries the settings.
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
                return Err(ShapeError {
                    offset: key.span.start,
                    message: format!("`{list}` is not a sequence of mappings"),
                })
            }
        }
    }
    Ok(out)
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

/// The `apiVersion` of a built-in kind, for a patch that names only the kind.
pub fn builtin_api_version(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" | "PodTemplate" | "ReplicationController" => Some("v1"),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => Some("apps/v1"),
        "Job" | "CronJob" => Some("batch/v1"),
        _ => None,
    }
}
