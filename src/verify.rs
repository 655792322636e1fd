//! The last line of defence for "the text is sacred": after a file is
//! edited, its new text is parsed again and compared with the original.
//! Outside the mappings that were meant to change (containers, pod specs,
//! ServiceAccounts), and outside `imagePullPolicy` and `imagePullSecrets`
//! inside them, the data must be identical, scalar styles included.
//!
//! The comparison is of what Kubernetes reads: an alias is compared as the
//! node it repeats, and a mapping as its entries with merge keys (`<<`)
//! resolved. So an edit of an anchored value shows wherever it is repeated
//! (`value: *p` in an env var changes with `imagePullPolicy: &p …`). Inside
//! a repeated node only what the plan declared may differ: an alias whose
//! own position is in `touched` (an aliased container, `- *c`), never a
//! value a mapping merges.
//!
//! It does no IO.

use crate::manifest::Aliases;
use crate::yaml::{self, Document, Node, NodeKind};

/// Checks that `new_text` differs from the original `documents` (parsed from
/// `original`) only in the two fields pullsmith writes. Returns what went
/// wrong otherwise.
pub fn only_intended_fields_changed(
    documents: &[Document],
    original: &str,
    new_text: &str,
    touched: &[usize],
) -> Result<(), String> {
    let mut touched = touched.to_vec();
    touched.sort_unstable();
    let new_documents = reparse(documents, new_text)?;
    let old_aliases = Aliases::of(original, documents)?;
    let new_aliases = Aliases::of(new_text, &new_documents)?;
    let sides = Sides { old: &old_aliases, new: &new_aliases };
    for (index, (old, new)) in documents.iter().zip(&new_documents).enumerate() {
        let mut path = Vec::new();
        same(&old.root, &new.root, &mut path, Allowed { touched: &touched, keys: &WRITTEN_KEYS }, &sides, 0).map_err(
            |problem| {
                let at: Vec<String> = path.iter().map(ToString::to_string).collect();
                format!("{problem} at document {}/{}", index + 1, at.join("/"))
            },
        )?;
    }
    Ok(())
}

/// The rewrite parsed, with as many documents as the original.
fn reparse(original: &[Document], new_text: &str) -> Result<Vec<Document>, String> {
    let new_documents = yaml::parse(new_text).map_err(|err| format!("the rewrite does not parse: {err}"))?;
    if new_documents.len() != original.len() {
        return Err(format!("the rewrite has {} documents instead of {}", new_documents.len(), original.len()));
    }
    Ok(new_documents)
}

/// The aliases of the original and of the rewrite.
struct Sides<'o, 'n> {
    old: &'o Aliases<'o>,
    new: &'n Aliases<'n>,
}

/// Deeper than this, a comparison through aliases is given up (an alias
/// inside the node it repeats, `&a [*a]`, would never end).
const MAX_COMPARE_DEPTH: usize = 1_000;

const WRITTEN_KEYS: [&str; 2] = ["imagePullPolicy", "imagePullSecrets"];

/// One step of the path to a difference, kept only to name it.
#[derive(Debug, Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl std::fmt::Display for Step<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Key(key) => f.write_str(key),
            Step::Index(index) => write!(f, "{index}"),
        }
    }
}

/// Compares two trees; on a difference, `path` is left pointing at it.
/// Which mappings may differ (by original offset) and in which keys.
#[derive(Clone, Copy)]
struct Allowed<'k> {
    touched: &'k [usize],
    keys: &'k [&'k str],
}

/// Nothing may differ.
const STRICT: Allowed<'static> = Allowed { touched: &[], keys: &[] };

fn same<'a>(
    old: &'a Node,
    new: &Node,
    path: &mut Vec<Step<'a>>,
    touched: Allowed<'_>,
    sides: &Sides<'a, '_>,
    depth: usize,
) -> Result<(), &'static str> {
    if depth > MAX_COMPARE_DEPTH {
        return Err("aliases nest too deep to compare");
    }
    let (old_alias, new_alias) = (old.kind == NodeKind::Alias, new.kind == NodeKind::Alias);
    if old_alias || new_alias {
        let (old_target, new_target) = (sides.old.resolve(old), sides.new.resolve(new));
        if old_target.kind == NodeKind::Alias && new_target.kind == NodeKind::Alias {
            // Neither side's anchors are known (a kustomization's check): as written.
            return Ok(());
        }
        // A repeated node may differ only where the plan said so, by the alias's own position.
        let inner = if old_alias && touched.touched.binary_search(&old.span.start).is_ok() { touched } else { STRICT };
        return same(old_target, new_target, path, inner, sides, depth + 1);
    }
    match (&old.kind, &new.kind) {
        (NodeKind::Scalar { value: a, style: sa }, NodeKind::Scalar { value: b, style: sb }) if a == b && sa == sb => {
            Ok(())
        }
        (NodeKind::Sequence { items: a, .. }, NodeKind::Sequence { items: b, .. }) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                path.push(Step::Index(i));
                same(x, y, path, touched, sides, depth + 1)?;
                path.pop();
            }
            Ok(())
        }
        (NodeKind::Mapping { entries: own_a, .. }, NodeKind::Mapping { entries: own_b, .. }) => {
            // Only the mappings the plan touched may gain or change the two keys.
            let may_differ = touched.touched.binary_search(&old.span.start).is_ok();
            let a = sides.old.effective_entries(old);
            let b = sides.new.effective_entries(new);
            // Entries a mapping merges come after its own; a merged value is never the plan's to change.
            let own =
                |entries: &[(Node, Node)]| entries.iter().filter(|(k, _)| !crate::manifest::is_merge_key(k)).count();
            let (own_a, own_b) = (own(own_a), own(own_b));
            let kept = |(_, (key, _)): &(usize, &&(Node, Node))| {
                !(may_differ && key.as_str().is_some_and(|k| touched.keys.contains(&k)))
            };
            let mut a_kept = a.iter().enumerate().filter(kept);
            let mut b_kept = b.iter().enumerate().filter(kept);
            loop {
                match (a_kept.next(), b_kept.next()) {
                    (None, None) => break,
                    (Some((ia, (ka, va))), Some((ib, (kb, vb)))) => {
                        let allowed = if ia < own_a && ib < own_b { touched } else { STRICT };
                        same(ka, kb, path, STRICT, sides, depth + 1)?;
                        path.push(Step::Key(ka.as_str().unwrap_or("?")));
                        same(va, vb, path, allowed, sides, depth + 1)?;
                        path.pop();
                    }
                    _ => return Err("keys changed"),
                }
            }
            if may_differ && touched.keys.contains(&"imagePullSecrets") {
                secrets_extended(&a, &b, sides, depth)?;
            }
            Ok(())
        }
        _ => Err("value changed"),
    }
}

/// The original pull secrets must stay, in order, at the front of the list.
fn secrets_extended<'a>(
    old: &[&'a (Node, Node)],
    new: &[&(Node, Node)],
    sides: &Sides<'a, '_>,
    depth: usize,
) -> Result<(), &'static str> {
    let old_list = old.iter().find(|(k, _)| k.as_str() == Some("imagePullSecrets")).map(|(_, v)| sides.old.resolve(v));
    let new_list = new.iter().find(|(k, _)| k.as_str() == Some("imagePullSecrets")).map(|(_, v)| v);
    let (Some(old_list), Some(new_list)) = (old_list, new_list) else {
        return Ok(());
    };
    let new_list = sides.new.resolve(new_list);
    let (a, b) = (old_list.items(), new_list.items());
    let kept = b.len() >= a.len()
        && a.iter().zip(b).all(|(x, y)| same(x, y, &mut Vec::new(), STRICT, sides, depth + 1).is_ok());
    if kept {
        Ok(())
    } else {
        Err("existing imagePullSecrets changed")
    }
}

/// Checks that a kustomization's new text differs from the original only in
/// the first document's root mapping's `key` (the `patches:` list pullsmith
/// maintains). Documents after the first (kustomize reads only the first;
/// a trailing `---` makes an empty one) must be kept as they are.
pub fn only_root_key_changed(original: &[Document], new_text: &str, key: &str) -> Result<(), String> {
    let new_documents = reparse(original, new_text)?;
    let (old_aliases, new_aliases) = (Aliases::default(), Aliases::default());
    let sides = Sides { old: &old_aliases, new: &new_aliases };
    for (index, (old, new)) in original.iter().zip(&new_documents).enumerate() {
        let allowed = if index == 0 {
            Allowed { touched: std::slice::from_ref(&old.root.span.start), keys: &[key] }
        } else {
            Allowed { touched: &[], keys: &[] }
        };
        let mut path = Vec::new();
        same(&old.root, &new.root, &mut path, allowed, &sides, 0).map_err(|problem| {
            let at: Vec<String> = path.iter().map(ToString::to_string).collect();
            format!("{problem} at document {}/{}", index + 1, at.join("/"))
        })?;
    }
    Ok(())
}

/// Checks that `new_text` differs from the original `documents` only at the
/// given key paths (a document's index and the keys from its root; a
/// number steps into a sequence): a value there may change or be created,
/// together with the mappings that lead to it, and nothing else. A list
/// that is changed must keep its entries, in order, at its front (pull
/// secrets are added, never taken away). For Helm values edits.
pub fn only_paths_changed(
    documents: &[Document],
    original: &str,
    new_text: &str,
    allowed: &[(usize, Vec<String>)],
) -> Result<(), String> {
    let new_documents = reparse(documents, new_text)?;
    let old_aliases = Aliases::of(original, documents)?;
    let new_aliases = Aliases::of(new_text, &new_documents)?;
    let sides = Sides { old: &old_aliases, new: &new_aliases };
    for (index, (old, new)) in documents.iter().zip(&new_documents).enumerate() {
        let paths: Vec<&[String]> =
            allowed.iter().filter(|(doc, _)| *doc == index).map(|(_, path)| path.as_slice()).collect();
        let mut at = Vec::new();
        same_off_paths(&old.root, &new.root, &paths, &mut at, &sides)
            .map_err(|problem| format!("{problem} at document {}/{}", index + 1, at.join("/")))?;
    }
    Ok(())
}

/// `same`, except under `paths` (relative to `old`).
fn same_off_paths(
    old: &Node,
    new: &Node,
    paths: &[&[String]],
    at: &mut Vec<String>,
    sides: &Sides<'_, '_>,
) -> Result<(), &'static str> {
    if paths.is_empty() {
        let mut steps = Vec::new();
        return same(old, new, &mut steps, STRICT, sides, 0);
    }
    if paths.iter().any(|path| path.is_empty()) {
        // The value itself may change; a list keeps its entries first.
        if let (NodeKind::Sequence { items: a, .. }, NodeKind::Sequence { items: b, .. }) = (&old.kind, &new.kind) {
            let kept = b.len() >= a.len()
                && a.iter().zip(b).all(|(x, y)| same(x, y, &mut Vec::new(), STRICT, sides, 0).is_ok());
            return if kept { Ok(()) } else { Err("existing entries of a list changed") };
        }
        return Ok(());
    }
    let below =
        |step: &str| -> Vec<&[String]> { paths.iter().filter(|path| path[0] == step).map(|path| &path[1..]).collect() };
    match (&old.kind, &new.kind) {
        (NodeKind::Mapping { entries: a, .. }, NodeKind::Mapping { entries: b, .. }) => {
            let mut b_rest: Vec<&(Node, Node)> = b.iter().collect();
            for (key, value) in a {
                let name = key.as_str().unwrap_or("?");
                let Some(found) = b_rest.iter().position(|(k, _)| k.as_str() == key.as_str()) else {
                    at.push(name.to_string());
                    return Err("a key was removed");
                };
                let (_, new_value) = b_rest.remove(found);
                at.push(name.to_string());
                same_off_paths(value, new_value, &below(name), at, sides)?;
                at.pop();
            }
            for (key, value) in b_rest {
                let name = key.as_str().unwrap_or("?");
                at.push(name.to_string());
                let under = below(name);
                if under.is_empty() || !only_along(value, &under) {
                    return Err("a key was added");
                }
                at.pop();
            }
            Ok(())
        }
        (NodeKind::Sequence { items: a, .. }, NodeKind::Sequence { items: b, .. }) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                at.push(i.to_string());
                same_off_paths(x, y, &below(&i.to_string()), at, sides)?;
                at.pop();
            }
            Ok(())
        }
        // An empty `values:` (or `{}`) that now leads to the new value.
        (NodeKind::Scalar { .. }, NodeKind::Mapping { .. }) if old.is_null() && only_along(new, paths) => Ok(()),
        _ => {
            let mut steps = Vec::new();
            same(old, new, &mut steps, STRICT, sides, 0)
        }
    }
}

/// Whether a new node holds nothing but mappings that lead to `paths`.
fn only_along(node: &Node, paths: &[&[String]]) -> bool {
    if paths.iter().any(|path| path.is_empty()) {
        return true;
    }
    node.entries().iter().all(|(key, value)| {
        let Some(name) = key.as_str() else { return false };
        let under: Vec<&[String]> = paths.iter().filter(|path| path[0] == name).map(|path| &path[1..]).collect();
        !under.is_empty() && only_along(value, &under)
    }) && node.is_mapping()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kustomization_may_change_only_its_patches() {
        let original = yaml::parse("resources:\n- ../base\npatches:\n- path: a.yaml\n").unwrap();
        let good = "resources:\n- ../base\npatches:\n- path: a.yaml\n- path: pullsmith.patch.yaml\n";
        assert_eq!(only_root_key_changed(&original, good, "patches"), Ok(()));
        let bad = "resources:\n- ../other\npatches:\n- path: a.yaml\n";
        assert!(only_root_key_changed(&original, bad, "patches").is_err());
        // A later document is kept as it is, even its `patches:`.
        let two = yaml::parse("resources:\n- ../base\n---\npatches: []\n").unwrap();
        let later = "resources:\n- ../base\n---\npatches: [x]\n";
        assert!(only_root_key_changed(&two, later, "patches").is_err());
        let first = "resources:\n- ../base\npatches: [x]\n---\npatches: []\n";
        assert_eq!(only_root_key_changed(&two, first, "patches"), Ok(()));
    }

    #[test]
    fn values_may_change_only_at_their_key_paths() {
        let text = "spec:\n  values:\n    image: {tag: 1}\n    secrets: [a]\n  other: 1\n";
        let documents = yaml::parse(text).unwrap();
        let path = |p: &str| (0, p.split('.').map(str::to_string).collect::<Vec<_>>());
        let allowed = [path("spec.values.image.pullPolicy"), path("spec.values.secrets")];
        let good = "spec:\n  values:\n    image: {tag: 1, pullPolicy: Always}\n    secrets: [a, b]\n  other: 1\n";
        assert_eq!(only_paths_changed(&documents, text, good, &allowed), Ok(()));
        let created = "spec:\n  values:\n    image: {tag: 1}\n    secrets: [a]\n  other: 1\n";
        assert_eq!(only_paths_changed(&documents, text, created, &allowed), Ok(()));
        for bad in [
            "spec:\n  values:\n    image: {tag: 2, pullPolicy: Always}\n    secrets: [a]\n  other: 1\n",
            "spec:\n  values:\n    image: {tag: 1}\n    secrets: [b]\n  other: 1\n",
            "spec:\n  values:\n    image: {tag: 1, x: 1}\n    secrets: [a]\n  other: 1\n",
            "spec:\n  values:\n    image: {tag: 1}\n    secrets: [a]\n  other: 2\n",
        ] {
            assert!(only_paths_changed(&documents, text, bad, &allowed).is_err(), "{bad}");
        }
        // A missing `values:` may be created, holding only the path.
        let bare = "spec:\n  other: 1\n";
        let documents = yaml::parse(bare).unwrap();
        let new = "spec:\n  other: 1\n  values:\n    image:\n      pullPolicy: Always\n";
        assert_eq!(only_paths_changed(&documents, bare, new, &allowed), Ok(()));
        let more = "spec:\n  other: 1\n  values:\n    image:\n      pullPolicy: Always\n    x: 1\n";
        assert!(only_paths_changed(&documents, bare, more, &allowed).is_err());
    }

    #[test]
    fn manifests_may_change_only_the_two_pull_fields_of_touched_mappings() {
        let text = "spec:\n  containers:\n  - image: a\n  x: 1\n";
        let documents = yaml::parse(text).unwrap();
        let container = documents[0].root.get("spec").unwrap().get("containers").unwrap().items()[0].span.start;
        let good = "spec:\n  containers:\n  - image: a\n    imagePullPolicy: Always\n  x: 1\n";
        assert_eq!(only_intended_fields_changed(&documents, text, good, &[container]), Ok(()));
        // The same key in a mapping the plan did not touch is a difference.
        let untouched = "spec:\n  containers:\n  - image: a\n  imagePullPolicy: Always\n  x: 1\n";
        assert!(only_intended_fields_changed(&documents, text, untouched, &[container]).is_err());
        let changed = "spec:\n  containers:\n  - image: b\n    imagePullPolicy: Always\n  x: 1\n";
        assert!(only_intended_fields_changed(&documents, text, changed, &[container]).is_err());
    }

    #[test]
    fn an_anchored_value_changes_wherever_it_is_repeated() {
        let text = "c:\n  imagePullPolicy: &p Always\n  env:\n  - value: *p\n";
        let documents = yaml::parse(text).unwrap();
        let container = documents[0].root.get("c").unwrap().span.start;
        let new = "c:\n  imagePullPolicy: &p Never\n  env:\n  - value: *p\n";
        let problem = only_intended_fields_changed(&documents, text, new, &[container]).unwrap_err();
        assert!(problem.contains("c/env/0/value"), "{problem}");
        // Written out, the env var keeps its value and only the policy changes.
        let text = "c:\n  imagePullPolicy: &p Always\n  env:\n  - value: Always\n";
        let documents = yaml::parse(text).unwrap();
        let new = "c:\n  imagePullPolicy: &p Never\n  env:\n  - value: Always\n";
        assert_eq!(only_intended_fields_changed(&documents, text, new, &[container]), Ok(()));
    }

    #[test]
    fn a_merged_mapping_is_compared_as_kubernetes_reads_it() {
        let text = "a: &d {image: x}\nb: {<<: *d, name: b}\n";
        let documents = yaml::parse(text).unwrap();
        let a = documents[0].root.get("a").unwrap().span.start;
        let b = documents[0].root.get("b").unwrap().span.start;
        // The policy given to `a` reaches `b` through the merge, unless `b` has its own.
        let leaks = "a: &d {image: x, imagePullPolicy: Always}\nb: {<<: *d, name: b}\n";
        assert!(only_intended_fields_changed(&documents, text, leaks, &[a]).is_err());
        let own = "a: &d {image: x, imagePullPolicy: Always}\nb: {<<: *d, imagePullPolicy: Never, name: b}\n";
        assert_eq!(only_intended_fields_changed(&documents, text, own, &[a, b]), Ok(()));
    }
}
