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
        let mut path = vec![format!("document {}", index + 1)];
        same(&old.root, &new.root, &mut path, &touched)?;
    }
    Ok(())
}

const WRITTEN_KEYS: [&str; 2] = ["imagePullPolicy", "imagePullSecrets"];

fn same(old: &Node, new: &Node, path: &mut Vec<String>, touched: &[usize]) -> Result<(), String> {
    match (&old.kind, &new.kind) {
        (NodeKind::Scalar { value: a, style: sa }, NodeKind::Scalar { value: b, style: sb }) if a == b && sa == sb => {
            Ok(())
        }
        (NodeKind::Alias, NodeKind::Alias) => Ok(()),
        (NodeKind::Sequence { items: a, .. }, NodeKind::Sequence { items: b, .. }) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                path.push(i.to_string());
                same(x, y, path, touched)?;
                path.pop();
            }
            Ok(())
        }
        (NodeKind::Mapping { entries: a, .. }, NodeKind::Mapping { entries: b, .. }) => {
            // Only the mappings the plan touched may gain or change the two keys.
            let may_differ = touched.binary_search(&old.span.start).is_ok();
            let keep = |entries: &'_ [(Node, Node)]| -> Vec<(Node, Node)> {
                entries
                    .iter()
                    .filter(|(k, _)| !(may_differ && k.as_str().is_some_and(|k| WRITTEN_KEYS.contains(&k))))
                    .cloned()
                    .collect()
            };
            let (a_kept, b_kept) = (keep(a), keep(b));
            if a_kept.len() != b_kept.len() {
                return Err(format!("keys changed at {}", path.join("/")));
            }
            for ((ka, va), (kb, vb)) in a_kept.iter().zip(&b_kept) {
                same(ka, kb, path, touched)?;
                path.push(ka.as_str().unwrap_or("?").to_string());
                same(va, vb, path, touched)?;
                path.pop();
            }
            if may_differ {
                secrets_extended(a, b, path)?;
            }
            Ok(())
        }
        _ => Err(format!("value changed at {}", path.join("/"))),
    }
}

/// The original pull secrets must stay, in order, at the front of the list.
fn secrets_extended(old: &[(Node, Node)], new: &[(Node, Node)], path: &[String]) -> Result<(), String> {
    let find = |entries: &[(Node, Node)]| {
        entries.iter().find(|(k, _)| k.as_str() == Some("imagePullSecrets")).map(|(_, v)| v.clone())
    };
    let (Some(old_list), Some(new_list)) = (find(old), find(new)) else {
        return Ok(());
    };
    let (a, b) = (old_list.items(), new_list.items());
    if b.len() < a.len() || a.iter().zip(b).any(|(x, y)| !same_shallow(x, y)) {
        return Err(format!("existing imagePullSecrets changed at {}", path.join("/")));
    }
    Ok(())
}

fn same_shallow(a: &Node, b: &Node) -> bool {
    let mut path = Vec::new();
    same(a, b, &mut path, &[]).is_ok()
}
