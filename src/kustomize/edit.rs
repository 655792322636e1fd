//! The surgical edit of an overlay's kustomization: pullsmith's own
//! entries in its `patches:` list, added, updated or removed, every other
//! byte kept. The result is verified to differ from the original only in
//! `patches:`.
//!
//! No IO here: the caller reads the kustomization and writes the result.

use std::fmt::Write as _;

use crate::edit::{self, ListStyle, Splice, TextStyle};
use crate::kustomize::patch::{is_generated_name, scalar};
use crate::kustomize::Kustomization;
use crate::yaml::{Node, NodeKind};

/// A `patches:` entry pullsmith owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub target: Option<Vec<(String, String)>>,
}

/// Our entries among the overlay's `patches:` items, with their nodes.
fn our_entries(list: &Node) -> Vec<(&Node, Entry)> {
    list.items()
        .iter()
        .filter_map(|item| {
            let path = item.get("path")?.as_str()?;
            if !is_generated_name(path) {
                return None;
            }
            let target = item.get("target").map(|t| {
                t.entries()
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
                    .collect()
            });
            Some((item, Entry { path: path.to_string(), target }))
        })
        .collect()
}

fn block_entry(entry: &Entry, indent: &str, eol: &str) -> String {
    let mut out = format!("{eol}{indent}- path: {}", entry.path);
    if let Some(target) = &entry.target {
        let _ = write!(out, "{eol}{indent}  target:");
        for (key, value) in target {
            let _ = write!(out, "{eol}{indent}    {key}: {}", scalar(value));
        }
    }
    out
}

fn flow_entry(entry: &Entry) -> String {
    match &entry.target {
        None => format!("{{path: {}}}", entry.path),
        Some(target) => {
            let fields: Vec<String> = target.iter().map(|(k, v)| format!("{k}: {}", scalar(v))).collect();
            format!("{{path: {}, target: {{{}}}}}", entry.path, fields.join(", "))
        }
    }
}

/// The kustomization with exactly `entries` as pullsmith's `patches:` items;
/// `None` when it has them already.
pub fn edit_kustomization(overlay: &Kustomization, entries: &[Entry]) -> Result<Option<String>, String> {
    let text = &overlay.text;
    let Some(document) = &overlay.document else {
        return if entries.is_empty() { Ok(None) } else { Err(format!("{}: empty kustomization", overlay.file)) };
    };
    let root = &document.root;
    let style = TextStyle::new(text);
    let patches = root.entry("patches");
    let current: Vec<(&Node, Entry)> = patches.map(|(_, list)| our_entries(list)).unwrap_or_default();
    if current.iter().map(|(_, e)| e).eq(entries.iter()) {
        return Ok(None);
    }
    let mut splices: Vec<Splice> = Vec::new();
    match patches {
        Some((key, list)) if matches!(list.kind, NodeKind::Sequence { flow: true, .. }) => {
            if !current.is_empty() {
                return Err(format!(
                    "{}: `patches:` is a flow list holding pullsmith's entries; rewrite it as a block list to let pullsmith update it",
                    overlay.file
                ));
            }
            let items: Vec<String> = entries.iter().map(flow_entry).collect();
            match list.items().last() {
                Some(last) => splices.push(Splice::insert_at(last.span.end, format!(", {}", items.join(", ")))),
                None => splices.push(Splice::insert_at(list.span.start + 1, items.join(", "))),
            }
            let _ = key;
        }
        Some((key, list)) => {
            let all_ours = current.len() == list.items().len();
            let key_line_end = style.line_end(key.span.end);
            if all_ours && entries.is_empty() {
                // Only our entries were there: the key goes with them.
                let start = crate::yaml::line_start_of(text, key.span.start);
                let end = crate::yaml::next_line_start(text, style.line_end(list.span.end.max(key.span.end)));
                splices.push(Splice::replace(start..end, String::new()));
            } else {
                for (item, _) in &current {
                    let dash = crate::yaml::dash_before(text, item.span.start);
                    let start = crate::yaml::line_start_of(text, dash);
                    let end = crate::yaml::next_line_start(text, style.line_end(item.span.end));
                    splices.push(Splice::replace(start..end, String::new()));
                }
                if !entries.is_empty() {
                    let others: Vec<&Node> = list
                        .items()
                        .iter()
                        .filter(|item| !current.iter().any(|(ours, _)| std::ptr::eq(*ours, *item)))
                        .collect();
                    let (at, dash_column) = match (others.last(), list.items().first()) {
                        (Some(last), _) => (style.line_end(last.span.end), style.column(list.span.start)),
                        (None, Some(_)) => (key_line_end, style.column(list.span.start)),
                        (None, None) => {
                            let list_style = ListStyle::of_document(&style, root).unwrap_or_default();
                            (key_line_end, style.column(key.span.start) + list_style.dash_offset)
                        }
                    };
                    let indent = " ".repeat(dash_column);
                    let eol = style.eol_at(at);
                    let text: String = entries.iter().map(|e| block_entry(e, &indent, eol)).collect();
                    splices.push(Splice::insert_at(at, text));
                }
            }
        }
        None => {
            if entries.is_empty() {
                return Ok(None);
            }
            let list_style = ListStyle::of_document(&style, root).unwrap_or_default();
            let key_column = root.entries().first().map_or(0, |(k, _)| style.column(k.span.start));
            let at = style.line_end(root.span.end);
            let eol = style.eol_at(root.span.end);
            let indent = " ".repeat(key_column + list_style.dash_offset);
            let mut text = format!("{eol}{}patches:", " ".repeat(key_column));
            for entry in entries {
                text.push_str(&block_entry(entry, &indent, eol));
            }
            splices.push(Splice::insert_at(at, text));
        }
    }
    splices.sort_by_key(|s| s.range.start);
    let new_text = edit::apply(text, &splices);
    crate::verify::only_root_key_changed(document, &new_text, "patches").map_err(|problem| {
        format!(
            "{}: internal error: the edit of `patches:` would change more ({problem}); left untouched",
            overlay.file
        )
    })?;
    Ok(Some(new_text))
}
