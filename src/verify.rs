//! The last line of defence for "the text is sacred": after a file is
//! edited, its new text is parsed again and compared with the original.
//! Outside the mappings that were meant to change (containers, pod specs,
//! ServiceAccounts), and outside `imagePullPolicy` and `imagePullSecrets`
//! inside them, the data must be identical, scalar styles included.
//!
//! It does no IO.

use crate::yaml::{self, Document, Node, NodeKind};

/// Checks that `new_text` differs from the original `documents` only in the
/// two fields pullsmith writes. Returns what went wrong otherwise.
pub fn only_intended_fields_changed(documents: &[Document], new_text: &str, touched: &[usize]) -> Result<(), String> {
    let mut touched = touched.to_vec();
    touched.sort_unstable();
    let new_documents = yaml::parse(new_text).map_err(|err| format!("the rewrite does not parse: {err}"))?;
    if new_documents.len() != documents.len() {
        return Err(format!("the rewrite has {} documents instead of {}", new_documents.len(), documents.len()));
    }
    for (index, (old, new)) in documents.iter().zip(&new_documents).enumerate() {
        let mut path = Vec::new();
        same(&old.root, &new.root, &mut path, Allowed { touched: &touched, keys: &WRITTEN_KEYS }).map_err(
            |problem| {
                let at: Vec<String> = path.iter().map(ToString::to_string).collect();
                format!("{problem} at document {}/{}", index + 1, at.join("/"))
            },
        )?;
    }
    Ok(())
}

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

fn same<'a>(old: &'a Node, new: &Node, path: &mut Vec<Step<'a>>, touched: Allowed<'_>) -> Result<(), &'static str> {
    match (&old.kind, &new.kind) {
        (NodeKind::Scalar { value: a, style: sa }, NodeKind::Scalar { value: b, style: sb }) if a == b && sa == sb => {
            Ok(())
        }
        (NodeKind::Alias, NodeKind::Alias) => Ok(()),
        (NodeKind::Sequence { items: a, .. }, NodeKind::Sequence { items: b, .. }) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                path.push(Step::Index(i));
                same(x, y, path, touched)?;
                path.pop();
            }
            Ok(())
        }
        (NodeKind::Mapping { entries: a, .. }, NodeKind::Mapping { entries: b, .. }) => {
            // Only the mappings the plan touched may gain or change the two keys.
            let may_differ = touched.touched.binary_search(&old.span.start).is_ok();
            let kept =
                |(key, _): &&(Node, Node)| !(may_differ && key.as_str().is_some_and(|k| touched.keys.contains(&k)));
            let mut a_kept = a.iter().filter(kept);
            let mut b_kept = b.iter().filter(kept);
            loop {
                match (a_kept.next(), b_kept.next()) {
                    (None, None) => break,
                    (Some((ka, va)), Some((kb, vb))) => {
                        same(ka, kb, path, touched)?;
                        path.push(Step::Key(ka.as_str().unwrap_or("?")));
                        same(va, vb, path, touched)?;
                        path.pop();
                    }
                    _ => return Err("keys changed"),
                }
            }
            if may_differ && touched.keys.contains(&"imagePullSecrets") {
                secrets_extended(a, b)?;
            }
            Ok(())
        }
        _ => Err("value changed"),
    }
}

/// The original pull secrets must stay, in order, at the front of the list.
fn secrets_extended(old: &[(Node, Node)], new: &[(Node, Node)]) -> Result<(), &'static str> {
    let old_list = old.iter().find(|(k, _)| k.as_str() == Some("imagePullSecrets")).map(|(_, v)| v);
    let new_list = new.iter().find(|(k, _)| k.as_str() == Some("imagePullSecrets")).map(|(_, v)| v);
    let (Some(old_list), Some(new_list)) = (old_list, new_list) else {
        return Ok(());
    };
    let (a, b) = (old_list.items(), new_list.items());
    let kept = b.len() >= a.len()
        && a.iter().zip(b).all(|(x, y)| same(x, y, &mut Vec::new(), Allowed { touched: &[], keys: &[] }).is_ok());
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
    let new_documents = yaml::parse(new_text).map_err(|err| format!("the rewrite does not parse: {err}"))?;
    if new_documents.len() != original.len() {
        return Err(format!("the rewrite has {} documents instead of {}", new_documents.len(), original.len()));
    }
    for (index, (old, new)) in original.iter().zip(&new_documents).enumerate() {
        let allowed = if index == 0 {
            Allowed { touched: std::slice::from_ref(&old.root.span.start), keys: &[key] }
        } else {
            Allowed { touched: &[], keys: &[] }
        };
        let mut path = Vec::new();
        same(&old.root, &new.root, &mut path, allowed).map_err(|problem| {
            let at: Vec<String> = path.iter().map(ToString::to_string).collect();
            format!("{problem} at document {}/{}", index + 1, at.join("/"))
        })?;
    }
    Ok(())
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
    fn manifests_may_change_only_the_two_pull_fields_of_touched_mappings() {
        let text = "spec:\n  containers:\n  - image: a\n  x: 1\n";
        let documents = yaml::parse(text).unwrap();
        let container = documents[0].root.get("spec").unwrap().get("containers").unwrap().items()[0].span.start;
        let good = "spec:\n  containers:\n  - image: a\n    imagePullPolicy: Always\n  x: 1\n";
        assert_eq!(only_intended_fields_changed(&documents, good, &[container]), Ok(()));
        // The same key in a mapping the plan did not touch is a difference.
        let untouched = "spec:\n  containers:\n  - image: a\n  imagePullPolicy: Always\n  x: 1\n";
        assert!(only_intended_fields_changed(&documents, untouched, &[container]).is_err());
        let changed = "spec:\n  containers:\n  - image: b\n    imagePullPolicy: Always\n  x: 1\n";
        assert!(only_intended_fields_changed(&documents, changed, &[container]).is_err());
    }
}
