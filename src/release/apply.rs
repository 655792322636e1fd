//! Values edits made in a file's text: one key at a time with
//! `crate::edit::values`, reparsing between, composed into splices of the
//! original text, then checked.

use crate::common::{Field, FieldValue};
use crate::edit::block::BlockText;
use crate::edit::values::{self, Shape};
use crate::edit::{self, Splice, TextStyle};
use crate::plan::Change;
use crate::verify;
use crate::yaml::{self, Document, Node, NodeKind, ScalarStyle};

use super::decide::node_at;
use super::find::LayerForm;

/// One key to set in one values layer of one file.
#[derive(Debug, Clone)]
pub struct ValuesEdit {
    pub file: String,
    pub document: usize,
    /// Keys from the document's root to the values (a mapping that may not
    /// exist yet, or a block scalar).
    pub layer_path: Vec<String>,
    pub form: LayerForm,
    /// The key under the values.
    pub key: Vec<String>,
    pub leaf: Leaf,
    /// For the report's change: the release, its environment, the field.
    pub kind: String,
    pub api_version: String,
    /// The release's own file and the byte offset of its object there.
    pub release_file: String,
    pub release_offset: usize,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub environment: String,
    pub field: Field,
    pub from: Option<FieldValue>,
    pub to: FieldValue,
    pub values_key: String,
}

/// What a key must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leaf {
    Scalar(String),
    /// A secrets list holding these names (those it has first), in this shape when it is new.
    Names {
        names: Vec<String>,
        shape: Shape,
    },
}

/// Makes `edits` in `text` (whose documents are `documents`). Returns the
/// changes, each with its share of the splices, or where and why an edit
/// cannot be made exactly.
pub fn apply_edits(text: &str, documents: &[Document], edits: &[ValuesEdit]) -> Result<Vec<Change>, (usize, String)> {
    let mut composed: Vec<Splice> = Vec::new();
    let mut current = text.to_string();
    let mut current_documents: Option<Vec<Document>> = None;
    let mut offsets = Vec::with_capacity(edits.len());
    for edit in edits {
        let docs = current_documents.as_deref().unwrap_or(documents);
        let Some(document) = docs.get(edit.document) else {
            return Err((0, format!("no document {} to hold values", edit.document + 1)));
        };
        let splices = splices_for(&current, &document.root, edit)?;
        offsets.push(report_offset(&documents[edit.document].root, edit));
        if splices.is_empty() {
            continue;
        }
        composed = edit::compose(text, &composed, &splices);
        current = edit::apply(&current, &splices);
        let reparsed =
            yaml::parse(&current).map_err(|e| (0, format!("internal error: a values edit does not parse: {e}")))?;
        current_documents = Some(reparsed);
    }
    check(text, documents, &current, edits)?;
    Ok(changes(text, edits, &offsets, composed))
}

/// The splices of one edit in `text`, whose document root is `root`.
fn splices_for(text: &str, root: &Node, edit: &ValuesEdit) -> Result<Vec<Splice>, (usize, String)> {
    let refused =
        |e: values::EditRefusal| (e.offset, format!("cannot set `{}` exactly: {}", edit.values_key, e.message));
    let keys: Vec<&str> = edit.key.iter().map(String::as_str).collect();
    match edit.form {
        LayerForm::Mapping => {
            // The deepest node of the layer's path that exists; the rest is created with the key.
            let mut base = root;
            let mut depth = 0;
            for step in &edit.layer_path {
                match node_at(base, std::slice::from_ref(step)) {
                    Some(next) if !next.is_null() || depth + 1 == edit.layer_path.len() => {
                        base = next;
                        depth += 1;
                    }
                    _ => break,
                }
            }
            let path: Vec<&str> =
                edit.layer_path[depth..].iter().map(String::as_str).chain(keys.iter().copied()).collect();
            let style = TextStyle::new(text);
            set(&style, base, &path, &edit.leaf).map_err(refused)
        }
        LayerForm::Generated => Err((0, "internal error: a generated patch is made by the overlay pass".to_string())),
        LayerForm::Block => {
            let node = node_at(root, &edit.layer_path).ok_or((0, "the values string is gone".to_string()))?;
            let block = BlockText::of(text, node)
                .map_err(|e| (e.offset, format!("`{}`: {}", edit.layer_path.join("."), e.message)))?;
            let inner = block.inner();
            let inner_documents =
                yaml::parse(inner).map_err(|e| (node.span.start, format!("the values string does not parse: {e}")))?;
            let empty = Node { kind: NodeKind::Scalar { value: String::new(), style: ScalarStyle::Plain }, span: 0..0 };
            let inner_root = inner_documents.first().map_or(&empty, |d| &d.root);
            let style = TextStyle::new(inner);
            let inner_splices = set(&style, inner_root, &keys, &edit.leaf).map_err(|e| {
                (
                    node.span.start,
                    format!("cannot set `{}` in the values string exactly: {}", edit.values_key, e.message),
                )
            })?;
            block.outer_splices(&inner_splices).map_err(|e| (node.span.start, e.message))
        }
    }
}

fn set(style: &TextStyle<'_>, base: &Node, path: &[&str], leaf: &Leaf) -> Result<Vec<Splice>, values::EditRefusal> {
    match leaf {
        Leaf::Scalar(value) => values::set_scalar(style, base, path, value),
        Leaf::Names { names, shape } => values::set_list(style, base, path, names, *shape),
    }
}

/// Where a report points for an edit: the value it replaces or extends,
/// else the deepest key of its path that exists.
fn report_offset(root: &Node, edit: &ValuesEdit) -> usize {
    let mut node = root;
    for step in &edit.layer_path {
        match node_at(node, std::slice::from_ref(step)) {
            Some(next) => node = next,
            None => return node.span.start,
        }
    }
    if edit.form == LayerForm::Block {
        return node.span.start;
    }
    for step in &edit.key {
        match node.get(step) {
            Some(next) => node = next,
            None => return node.span.start,
        }
    }
    node.span.start
}

/// The last line of defence: the new text differs only at the edited keys,
/// and a values string's data only at its keys.
fn check(original: &str, documents: &[Document], new_text: &str, edits: &[ValuesEdit]) -> Result<(), (usize, String)> {
    let internal = |problem: String| {
        (0, format!("internal error: the planned values edit would change more than intended ({problem}); file left untouched"))
    };
    let mut allowed: Vec<(usize, Vec<String>)> = Vec::new();
    for edit in edits {
        match edit.form {
            LayerForm::Mapping => allowed.push((edit.document, [edit.layer_path.clone(), edit.key.clone()].concat())),
            LayerForm::Block | LayerForm::Generated => allowed.push((edit.document, edit.layer_path.clone())),
        }
    }
    verify::only_paths_changed(documents, original, new_text, &allowed).map_err(internal)?;
    let new_documents = yaml::parse(new_text).map_err(|e| internal(e.to_string()))?;
    let mut strings: Vec<(usize, &Vec<String>)> =
        edits.iter().filter(|e| e.form == LayerForm::Block).map(|e| (e.document, &e.layer_path)).collect();
    strings.dedup();
    for (document, path) in strings {
        let old = node_at(&documents[document].root, path).and_then(Node::as_str).unwrap_or_default();
        let new = new_documents.get(document).and_then(|d| node_at(&d.root, path)).and_then(Node::as_str);
        let Some(new) = new else { return Err(internal("the values string is no longer a string".to_string())) };
        let old_documents = yaml::parse(old).map_err(|e| internal(e.to_string()))?;
        let keys: Vec<(usize, Vec<String>)> = edits
            .iter()
            .filter(|e| e.form == LayerForm::Block && &e.layer_path == path)
            .map(|e| (0, e.key.clone()))
            .collect();
        if old_documents.is_empty() {
            // An empty values string: the new one holds only the keys.
            let stub = yaml::parse("{}").map_err(|e| internal(e.to_string()))?;
            let new_documents =
                yaml::parse(new).map_err(|e| internal(format!("the values string does not parse: {e}")))?;
            if new_documents.len() != 1 {
                return Err(internal("the values string is not one document".to_string()));
            }
            verify::only_paths_changed(&stub, "{}", new, &keys)
                .map_err(|p| internal(format!("in the values string: {p}")))?;
            continue;
        }
        verify::only_paths_changed(&old_documents, old, new, &keys)
            .map_err(|p| internal(format!("in the values string: {p}")))?;
    }
    Ok(())
}

/// One change per edit; the splices go to the changes in order, and when an
/// edit needed more than one (or two were merged), the first change holds
/// them all as one and the others hold none.
fn changes(original: &str, edits: &[ValuesEdit], offsets: &[usize], composed: Vec<Splice>) -> Vec<Change> {
    let n = edits.len();
    let mut splices: Vec<Splice> = if composed.len() == n || composed.is_empty() {
        composed
    } else {
        let start = composed[0].range.start;
        let end = composed.last().expect("not empty").range.end;
        // One splice over the whole region, made of the pieces and the text between them.
        vec![merge(original, start, end, &composed)]
    };
    let fill_at = splices.last().map_or(0, |s| s.range.end);
    while splices.len() < n {
        splices.push(Splice::insert_at(fill_at, String::new()));
    }
    edits
        .iter()
        .zip(offsets)
        .zip(splices)
        .map(|((edit, offset), splice)| Change {
            offset: *offset,
            line: 0,
            kind: edit.kind.clone(),
            name: edit.name.clone(),
            namespace: edit.namespace.clone(),
            container: None,
            environment: edit.environment.clone(),
            field: edit.field,
            from: edit.from.clone(),
            to: edit.to.clone(),
            splice,
            carried: None,
            values_key: Some(edit.values_key.clone()),
        })
        .collect()
}

/// One splice of `original[start..end]` that does what the sorted, disjoint `pieces` do.
fn merge(original: &str, start: usize, end: usize, pieces: &[Splice]) -> Splice {
    let shifted: Vec<Splice> = pieces
        .iter()
        .map(|p| Splice { range: p.range.start - start..p.range.end - start, text: p.text.clone() })
        .collect();
    Splice { range: start..end, text: edit::apply(&original[start..end], &shifted) }
}
