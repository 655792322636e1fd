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
        same(&old.root, &new.root, &mut path, &touched).map_err(|problem| {
            let at: Vec<String> = path.iter().map(ToString::to_string).collect();
            format!("{problem} at document {}/{}", index + 1, at.join("/"))
        })?;
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
fn same<'a>(old: &'a Node, new: &Node, path: &mut Vec<Step<'a>>, touched: &[usize]) -> Result<(), &'static str> {
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
            let may_differ = touched.binary_search(&old.span.start).is_ok();
            let kept =
                |(key, _): &&(Node, Node)| !(may_differ && key.as_str().is_some_and(|k| WRITTEN_KEYS.contains(&k)));
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
            if may_differ {
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
    let kept = b.len() >= a.len() && a.iter().zip(b).all(|(x, y)| same(x, y, &mut Vec::new(), &[]).is_ok());
    if kept {
        Ok(())
    } else {
        Err("existing imagePullSecrets changed")
    }
}
