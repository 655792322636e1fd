//! The surgical edit of an overlay's kustomization: pullsmith's own
//! entries in its `patches:` list, added, updated or removed, every other
//! byte kept (a BOM, `---` and `...` markers, CRLF line endings, a last line
//! without a newline, comments). The result is verified to differ from the
//! original only in `patches:`, and to hold the other entries of the list
//! byte for byte.
//!
//! Where the text goes, so that the file reads as if a person had edited it:
//!
//! - A new `patches:` key goes at the end of the root mapping, at its keys'
//!   column: after the last key's value and after every comment line that
//!   follows it, so that a commented-out item (`# - ../components/x`) stays
//!   with its key and can still be uncommented; before any trailing blank
//!   lines and before a document end marker (`---` or `...`). When a blank
//!   line stands between the last key's value and the last of those
//!   comments, that comment opens a section of its own, and the new key is
//!   set apart from it by a blank line too.
//! - New entries in an existing block list go after its last entry that is
//!   not pullsmith's, and after the comment lines right below it that belong
//!   to the list (see `belongs_to_list`); when all the entries are
//!   pullsmith's, the new ones take the place of the first of them. A
//!   `patches:` with a null value (`patches:`, `patches: ~`, `patches: null`)
//!   is filled the same way, right after its line: ` ~` or ` null` is
//!   dropped, a comment on the line is kept.
//! - A flow list stays a flow list: `patches: []` becomes
//!   `patches: [{path: pullsmith.patch.yaml}]`, entries are appended after
//!   the last one that is not pullsmith's, and removing them all gives back
//!   `[]` (pullsmith never writes a flow list into a block mapping, so the
//!   key is the user's). A flow (JSON-style) kustomization gets `patches:`
//!   as a flow entry after its last one, quoted like its first key, and
//!   loses it again when it holds only pullsmith's entries and none is needed.
//! - When pullsmith's entries are the only ones of a block list and none is
//!   needed any more, the key goes with them, and with it a blank line
//!   pullsmith would have set before it. This is also what happens to a
//!   `patches: ~` pullsmith once filled: the text cannot tell a key
//!   pullsmith added from a null one it filled, and kustomize reads a
//!   missing `patches` and a null one alike. Only when the user left
//!   something in the key's lines (a comment on its line, a comment line
//!   among the entries, such as a commented-out entry) does the key stay,
//!   null (`patches:`), with those comments.
//! - A last line without a newline stays without one, whether an entry is
//!   added after it or the lines after the last newline are removed.
//!
//! No IO here: the caller reads the kustomization and writes the result.

use std::fmt::Write as _;
use std::ops::Range;

use crate::edit::{self, Splice, TextStyle};
use crate::kustomize::patch::{is_generated_name, scalar};
use crate::kustomize::Kustomization;
use crate::yaml::{self, Document, Node, NodeKind, ScalarStyle};

/// A `patches:` entry pullsmith owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub target: Option<Vec<(String, String)>>,
}

/// Why a kustomization was left unedited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditFailure {
    /// Byte offset into the kustomization's text of what blocks the edit,
    /// when one place does; the caller turns it into `path:line:column`.
    pub offset: Option<usize>,
    /// What blocks the edit, without the file's path.
    pub message: String,
}

impl EditFailure {
    fn at(offset: usize, message: impl Into<String>) -> EditFailure {
        EditFailure { offset: Some(offset), message: message.into() }
    }
}

impl std::fmt::Display for EditFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The kustomization with exactly `entries` as pullsmith's `patches:` items;
/// `None` when it has them already.
pub fn edit_kustomization(overlay: &Kustomization, entries: &[Entry]) -> Result<Option<String>, EditFailure> {
    // A lone CR is a line break in YAML, but the line logic here knows LF and
    // CRLF only: such a file is refused where it starts, never edited a line off.
    let bytes = overlay.text.as_bytes();
    if let Some(at) = (0..bytes.len()).find(|&i| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
        if edit_text(&overlay.text, overlay.document.as_ref(), entries)?.is_some() {
            return Err(EditFailure {
                offset: Some(at),
                message: "lines end with a lone CR (carriage return without line feed): pullsmith edits `patches:` only in kustomizations with LF or CRLF line ends; convert it (`tr '\\r' '\\n'`)".to_string(),
            });
        }
        return Ok(None);
    }
    edit_text(&overlay.text, overlay.document.as_ref(), entries)
}

/// [`edit_kustomization`] on a kustomization's text and its first document.
fn edit_text(text: &str, document: Option<&Document>, entries: &[Entry]) -> Result<Option<String>, EditFailure> {
    let root = match document {
        Some(document) if !is_null(&document.root) => &document.root,
        _ if entries.is_empty() => return Ok(None),
        _ => return Err(EditFailure { offset: None, message: "the kustomization is empty".to_string() }),
    };
    if !root.is_mapping() {
        return Err(EditFailure::at(root.span.start, "the kustomization is not a mapping"));
    }
    let patches = root.entry("patches");
    let current: Vec<(&Node, Entry)> = patches.map(|(_, list)| our_entries(list)).unwrap_or_default();
    if current.iter().map(|(_, e)| e).eq(entries.iter()) {
        return Ok(None);
    }
    let ours: Vec<&Node> = current.iter().map(|(node, _)| *node).collect();
    let file = Text::new(text);
    let mut splices = match patches {
        None if root.is_flow() => vec![file.add_flow_key(root, entries)],
        None => vec![file.add_key(root, entries)],
        Some((key, list)) => match &list.kind {
            NodeKind::Sequence { flow: false, .. } => file.update_block_list(root, key, list, &ours, entries)?,
            NodeKind::Sequence { flow: true, .. } => file.update_flow_list(root, key, list, &ours, entries)?,
            _ if is_null(list) => file.fill_null(root, key, list, entries)?,
            _ => {
                let what = match list.kind {
                    NodeKind::Mapping { .. } => "a mapping",
                    NodeKind::Alias => "an alias",
                    _ => "a scalar",
                };
                return Err(EditFailure::at(list.span.start, format!("`patches:` is {what}, not a list")));
            }
        },
    };
    // An insertion sorts before a removal that starts where it is.
    splices.sort_by_key(|s| (s.range.start, s.range.end));
    let new_text = edit::apply(text, &splices);
    check_result(text, &new_text, entries).map_err(|problem| EditFailure {
        offset: patches.map(|(key, _)| key.span.start),
        message: format!("internal error: the edit of `patches:` would change more ({problem}); left untouched"),
    })?;
    Ok(Some(new_text))
}

/// Checks the edit: only the root's `patches` differs, the entries that are
/// not pullsmith's are there with the same bytes, and pullsmith's are `entries`.
fn check_result(text: &str, new_text: &str, entries: &[Entry]) -> Result<(), String> {
    let documents = yaml::parse(text).map_err(|err| format!("the original does not parse: {err}"))?;
    crate::verify::only_root_key_changed(&documents, new_text, "patches")?;
    let new_documents = yaml::parse(new_text).map_err(|err| format!("the rewrite does not parse: {err}"))?;
    if other_entries(text, &documents) != other_entries(new_text, &new_documents) {
        return Err("the other `patches:` entries changed".to_string());
    }
    let new_ours: Vec<Entry> = new_documents
        .first()
        .and_then(|d| d.root.get("patches"))
        .map(our_entries)
        .unwrap_or_default()
        .into_iter()
        .map(|(_, entry)| entry)
        .collect();
    if new_ours != entries {
        return Err("pullsmith's entries are not the wanted ones".to_string());
    }
    Ok(())
}

/// The text of the `patches:` items that are not pullsmith's.
fn other_entries<'t>(text: &'t str, documents: &[yaml::Document]) -> Vec<&'t str> {
    let Some(list) = documents.first().and_then(|d| d.root.get("patches")) else { return Vec::new() };
    let ours = our_entries(list);
    list.items()
        .iter()
        .filter(|item| !ours.iter().any(|(node, _)| std::ptr::eq(*node, *item)))
        .map(|item| &text[item.span.clone()])
        .collect()
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

/// A null as kustomize's YAML reads it: nothing, `~` or `null` (any case YAML allows).
fn is_null(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Scalar { value, style: ScalarStyle::Plain } => {
            matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL")
        }
        _ => false,
    }
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

/// `{path: x, target: {kind: y}}`, or with every key and value double-quoted
/// (`json`) for a file written like JSON.
fn flow_entry(entry: &Entry, json: bool) -> String {
    let word = |s: &str| if json { format!("\"{s}\"") } else { s.to_string() };
    let value = |s: &str| if json { serde_json::to_string(s).expect("strings always serialize") } else { scalar(s) };
    let path = if json { value(&entry.path) } else { entry.path.clone() };
    match &entry.target {
        None => format!("{{{}: {path}}}", word("path")),
        Some(target) => {
            let fields: Vec<String> = target.iter().map(|(k, v)| format!("{}: {}", word(k), value(v))).collect();
            format!("{{{}: {path}, {}: {{{}}}}}", word("path"), word("target"), fields.join(", "))
        }
    }
}

fn flow_entries(entries: &[Entry], json: bool) -> String {
    entries.iter().map(|e| flow_entry(e, json)).collect::<Vec<_>>().join(", ")
}

/// Whether a flow collection's items are written like JSON: its first
/// mapping key (or first item's) is double-quoted.
fn written_like_json(node: &Node) -> bool {
    let first_key = match &node.kind {
        NodeKind::Mapping { entries, .. } => entries.first().map(|(k, _)| k),
        NodeKind::Sequence { items, .. } => items.iter().find_map(|item| item.entries().first().map(|(k, _)| k)),
        _ => None,
    };
    first_key.and_then(Node::scalar_style) == Some(ScalarStyle::DoubleQuoted)
}

/// Whether a comment line right below the last entry of a block list (or
/// below a null `patches:` line) belongs to the list, so that new entries go
/// after it: it is indented past the list's key, or it is a commented-out
/// item (`# - path: x`) or the continuation of one (`#   target:`, two
/// blanks or more after the `#`). A comment at the key's column that reads
/// as prose (`# Images for prod`) is taken to introduce what follows, and
/// new entries go before it.
fn belongs_to_list(hash_column: usize, after_hash: &str, key_column: usize) -> bool {
    let item = after_hash.trim_start_matches([' ', '\t']);
    let commented_item = item == "-" || item.starts_with("- ") || item.starts_with("-\t");
    hash_column > key_column || commented_item || after_hash.starts_with("  ")
}

/// What one line holds, for the scans after a mapping or a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line<'a> {
    Blank,
    Comment {
        hash_column: usize,
        after_hash: &'a str,
    },
    /// `---` or `...` at the start of the line: the document ends.
    Marker,
    Other,
}

/// The kustomization's text, with line arithmetic that keeps a BOM out of
/// columns and out of the first line's removable bytes.
struct Text<'a> {
    text: &'a str,
    style: TextStyle<'a>,
    bom_len: usize,
}

impl<'a> Text<'a> {
    fn new(text: &'a str) -> Text<'a> {
        let bom_len = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
        Text { text, style: TextStyle::new(text), bom_len }
    }

    /// Start of the line holding `pos` (after the BOM on the first line).
    fn line_start(&self, pos: usize) -> usize {
        yaml::line_start_of(self.text, pos).max(self.bom_len.min(pos))
    }

    /// Offset of the terminator of the line holding `pos` (its `\r` in a
    /// CRLF file), or the text's end.
    fn line_end(&self, pos: usize) -> usize {
        let bytes = self.text.as_bytes();
        match bytes[pos..].iter().position(|b| *b == b'\n') {
            Some(i) if i > 0 && bytes[pos + i - 1] == b'\r' => pos + i - 1,
            Some(i) => pos + i,
            None => bytes.len(),
        }
    }

    /// Start of the line after the one ending at `line_end`, if there is one.
    fn next_line(&self, line_end: usize) -> Option<usize> {
        let next = yaml::next_line_start(self.text, line_end);
        (next > line_end && next < self.text.len()).then_some(next)
    }

    /// End of the line before the one starting at `line_start`.
    fn previous_line_end(&self, line_start: usize) -> usize {
        let bytes = self.text.as_bytes();
        let mut end = line_start.saturating_sub(1);
        if end > 0 && bytes[end - 1] == b'\r' {
            end -= 1;
        }
        end
    }

    /// Column (in characters) of `pos` on its line.
    fn column(&self, pos: usize) -> usize {
        self.text[self.line_start(pos)..pos].chars().count()
    }

    fn eol_at(&self, pos: usize) -> &'static str {
        self.style.eol_at(pos)
    }

    fn line(&self, start: usize) -> Line<'a> {
        let content = &self.text[start..self.line_end(start)];
        let trimmed = content.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() {
            return Line::Blank;
        }
        if let Some(after_hash) = trimmed.strip_prefix('#') {
            let hash_column = content[..content.len() - trimmed.len()].chars().count();
            return Line::Comment { hash_column, after_hash };
        }
        let marker =
            |m: &str| content.strip_prefix(m).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']));
        if marker("---") || marker("...") {
            Line::Marker
        } else {
            Line::Other
        }
    }

    /// Where a new key goes in the root mapping, and whether it is to be set
    /// apart by a blank line (the rule is in the module's documentation).
    fn end_of_mapping(&self, root: &Node) -> (usize, bool) {
        let mut at = self.line_end(root.span.end);
        let mut blank_seen = false;
        let mut separated = false;
        let mut next = self.next_line(at);
        while let Some(start) = next {
            match self.line(start) {
                Line::Blank => blank_seen = true,
                Line::Comment { .. } => {
                    at = self.line_end(start);
                    separated = blank_seen;
                }
                Line::Marker | Line::Other => break,
            }
            next = self.next_line(self.line_end(start));
        }
        (at, separated)
    }

    /// The end of the line ending at `line_end`, or of the last comment line
    /// right below it that belongs to the list of a key at `key_column`.
    fn after_list_comments(&self, line_end: usize, key_column: usize) -> usize {
        let mut at = line_end;
        while let Some(start) = self.next_line(at) {
            match self.line(start) {
                Line::Comment { hash_column, after_hash } if belongs_to_list(hash_column, after_hash, key_column) => {
                    at = self.line_end(start);
                }
                _ => break,
            }
        }
        at
    }

    /// Columns between a root key and the dashes of its block lists, read
    /// from the first block list of the file; kustomize's own style (dashes
    /// at the key's column) when there is none.
    fn dash_offset(&self, node: &Node) -> Option<usize> {
        match &node.kind {
            NodeKind::Mapping { entries, .. } => entries.iter().find_map(|(key, value)| match &value.kind {
                NodeKind::Sequence { flow: false, items } if !items.is_empty() => {
                    Some(self.column(value.span.start).saturating_sub(self.column(key.span.start)))
                }
                _ => self.dash_offset(value),
            }),
            NodeKind::Sequence { items, .. } => items.iter().find_map(|item| self.dash_offset(item)),
            _ => None,
        }
    }

    /// The bytes of the lines holding `span`, their terminator included.
    fn lines_of(&self, span: Range<usize>) -> Range<usize> {
        let end = self.line_end(span.end);
        self.line_start(span.start)..self.next_line(end).unwrap_or(self.text.len())
    }

    /// Splices that remove whole lines: touching ranges are merged, and
    /// lines that run to the end of a text without a final newline take the
    /// terminator before them instead, so that it still ends without one.
    fn remove_lines(&self, mut ranges: Vec<Range<usize>>) -> Vec<Splice> {
        ranges.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<usize>> = Vec::new();
        for range in ranges {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        let no_final_newline = !self.text.ends_with('\n');
        if let Some(last) = merged.last_mut() {
            if no_final_newline && last.end == self.text.len() && last.start > self.bom_len {
                last.start = self.previous_line_end(last.start);
            }
        }
        merged.into_iter().map(|range| Splice::replace(range, String::new())).collect()
    }

    /// A new `patches:` key at the end of a block root mapping.
    fn add_key(&self, root: &Node, entries: &[Entry]) -> Splice {
        let first_key = root.entries().first().map(|(key, _)| key);
        let key_column = first_key.map_or(0, |key| self.column(key.span.start));
        let key = edit::quoted("patches", first_key.and_then(Node::scalar_style));
        let dash_indent = " ".repeat(key_column + self.dash_offset(root).unwrap_or(0));
        let (at, separated) = self.end_of_mapping(root);
        let eol = self.eol_at(at);
        let mut out = String::new();
        if separated {
            out.push_str(eol);
        }
        let _ = write!(out, "{eol}{}{key}:", " ".repeat(key_column));
        for entry in entries {
            out.push_str(&block_entry(entry, &dash_indent, eol));
        }
        Splice::insert_at(at, out)
    }

    /// A new `patches:` entry after the last one of a flow root mapping: on a
    /// line of its own when the mapping's entries are on lines of their own.
    fn add_flow_key(&self, root: &Node, entries: &[Entry]) -> Splice {
        let json = written_like_json(root);
        let key = if json { "\"patches\"" } else { "patches" };
        let new_entry = format!("{key}: [{}]", flow_entries(entries, json));
        let Some((last_key, last_value)) = root.entries().last() else {
            return Splice::insert_at(root.span.start + 1, new_entry);
        };
        let end = last_key.span.end.max(last_value.span.end);
        let own_lines = self.text[root.span.start..last_key.span.start].contains('\n');
        let separator = if own_lines {
            format!("{}{}", self.eol_at(end), " ".repeat(self.column(last_key.span.start)))
        } else {
            " ".to_string()
        };
        // A trailing comma stays the last thing before the closing brace.
        let after = self.text[end..].trim_start_matches([' ', '\t']);
        if after.starts_with(',') {
            let comma = self.text.len() - after.len();
            return Splice::insert_at(comma + 1, format!("{separator}{new_entry},"));
        }
        Splice::insert_at(end, format!(",{separator}{new_entry}"))
    }

    /// Fills a null `patches:` with a block list.
    fn fill_null(&self, root: &Node, key: &Node, value: &Node, entries: &[Entry]) -> Result<Vec<Splice>, EditFailure> {
        if root.is_flow() {
            let list = format!("[{}]", flow_entries(entries, written_like_json(root)));
            return Ok(vec![if value.span.is_empty() {
                Splice::insert_at(value.span.start, format!(" {list}"))
            } else {
                Splice::replace(value.span.clone(), list)
            }]);
        }
        let mut splices = Vec::new();
        if !value.span.is_empty() {
            let colon = key.span.end + self.text[key.span.end..value.span.start].find(':').unwrap_or(0);
            let dropped = colon + 1..value.span.end;
            if let Some(hash) = self.text[dropped.clone()].find('#') {
                return Err(EditFailure::at(
                    dropped.start + hash,
                    "a comment stands between `patches:` and its null value; remove the value to let pullsmith fill it",
                ));
            }
            splices.push(Splice::replace(dropped, String::new()));
        }
        let key_column = self.column(key.span.start);
        let dash_indent = " ".repeat(key_column + self.dash_offset(root).unwrap_or(0));
        let at = self.after_list_comments(self.line_end(value.span.end.max(key.span.end)), key_column);
        let eol = self.eol_at(at);
        let text: String = entries.iter().map(|e| block_entry(e, &dash_indent, eol)).collect();
        splices.push(Splice::insert_at(at, text));
        Ok(splices)
    }

    /// Replaces `ours` in a block list with `entries`.
    fn update_block_list(
        &self,
        root: &Node,
        key: &Node,
        list: &Node,
        ours: &[&Node],
        entries: &[Entry],
    ) -> Result<Vec<Splice>, EditFailure> {
        let others: Vec<&Node> =
            list.items().iter().filter(|item| !ours.iter().any(|o| std::ptr::eq(*o, *item))).collect();
        if others.is_empty() && entries.is_empty() && !self.holds_comments(key, list, ours) {
            return self.remove_key(root, key, list);
        }
        let ranges =
            ours.iter().map(|item| self.lines_of(yaml::dash_before(self.text, item.span.start)..item.span.end));
        let mut splices = self.remove_lines(ranges.collect());
        if entries.is_empty() {
            return Ok(splices);
        }
        let at = match (others.last(), ours.first()) {
            (Some(last), _) => self.after_list_comments(self.line_end(last.span.end), self.column(key.span.start)),
            (None, Some(first)) => {
                self.previous_line_end(self.line_start(yaml::dash_before(self.text, first.span.start)))
            }
            (None, None) => return Err(EditFailure::at(list.span.start, "internal error: an empty block list")),
        };
        let indent = " ".repeat(self.column(list.span.start));
        let eol = self.eol_at(at);
        let text: String = entries.iter().map(|e| block_entry(e, &indent, eol)).collect();
        splices.push(Splice::insert_at(at, text));
        Ok(splices)
    }

    /// Whether a comment of the user's is on the key's line or on a line of
    /// its own among the entries (outside `ours`, which go with their lines).
    fn holds_comments(&self, key: &Node, list: &Node, ours: &[&Node]) -> bool {
        let key_line_end = self.line_end(key.span.end);
        if self.text[key.span.end..key_line_end].contains('#') {
            return true;
        }
        let in_ours = |pos: usize| {
            ours.iter().any(|item| (yaml::dash_before(self.text, item.span.start)..item.span.end).contains(&pos))
        };
        let mut next = self.next_line(key_line_end);
        while let Some(start) = next.filter(|start| *start < list.span.end) {
            if matches!(self.line(start), Line::Comment { .. }) && !in_ours(start) {
                return true;
            }
            next = self.next_line(self.line_end(start));
        }
        false
    }

    /// Removes the `patches:` key and its list from the root mapping.
    fn remove_key(&self, root: &Node, key: &Node, list: &Node) -> Result<Vec<Splice>, EditFailure> {
        let index = root.entries().iter().position(|(k, _)| std::ptr::eq(k, key)).unwrap_or(0);
        if root.is_flow() {
            let spans: Vec<Range<usize>> =
                root.entries().iter().map(|(k, v)| k.span.start..v.span.end.max(k.span.end)).collect();
            return self.flow_removals(&spans, &[index]);
        }
        let mut lines = self.lines_of(key.span.start..list.span.end.max(key.span.end));
        if index + 1 == root.entries().len() && index > 0 {
            let (previous_key, previous_value) = &root.entries()[index - 1];
            let previous_end = self.line_end(previous_value.span.end.max(previous_key.span.end));
            if let Some(blank) = self.blank_set_before_key(previous_end, lines.start) {
                lines.start = blank;
            }
        }
        Ok(self.remove_lines(vec![lines]))
    }

    /// The start of the blank line right above a last key starting its line
    /// at `key_line`, when [`Text::add_key`] would have put it there: the
    /// lines between the previous key's value (ending at `previous_end`) and
    /// it are comments and blanks, end with a comment then that one blank
    /// line, and hold a blank line before that comment.
    fn blank_set_before_key(&self, previous_end: usize, key_line: usize) -> Option<usize> {
        let mut gap = Vec::new();
        let mut next = self.next_line(previous_end);
        while let Some(start) = next.filter(|start| *start < key_line) {
            gap.push((start, self.line(start)));
            next = self.next_line(self.line_end(start));
        }
        let (&(blank, Line::Blank), rest) = gap.split_last()? else { return None };
        let (&(_, Line::Comment { .. }), before) = rest.split_last()? else { return None };
        let only_comments_and_blanks =
            before.iter().all(|(_, line)| matches!(line, Line::Blank | Line::Comment { .. }));
        let separated = before.iter().any(|(_, line)| *line == Line::Blank);
        (only_comments_and_blanks && separated).then_some(blank)
    }

    /// Replaces `ours` in a flow list with `entries`, after its last other
    /// entry. The list is pullsmith's own in a flow root mapping: the key goes
    /// when it holds nothing else. In a block mapping it is the user's: it
    /// stays, `[]` when emptied.
    fn update_flow_list(
        &self,
        root: &Node,
        key: &Node,
        list: &Node,
        ours: &[&Node],
        entries: &[Entry],
    ) -> Result<Vec<Splice>, EditFailure> {
        let items = list.items();
        let is_ours = |item: &Node| ours.iter().any(|o| std::ptr::eq(*o, item));
        let new_items = flow_entries(entries, written_like_json(list) || written_like_json(root));
        let Some(last_other) = items.iter().rev().find(|item| !is_ours(item)) else {
            if entries.is_empty() && root.is_flow() {
                return self.remove_key(root, key, list);
            }
            return Ok(match (items.first(), items.last()) {
                (Some(first), Some(last)) => vec![Splice::replace(first.span.start..last.span.end, new_items)],
                _ => vec![Splice::insert_at(list.span.start + 1, new_items)],
            });
        };
        let spans: Vec<Range<usize>> = items.iter().map(|item| item.span.clone()).collect();
        let removed: Vec<usize> = (0..items.len()).filter(|i| is_ours(&items[*i])).collect();
        let mut splices = self.flow_removals(&spans, &removed)?;
        if !entries.is_empty() {
            splices.push(Splice::insert_at(last_other.span.end, format!(", {new_items}")));
        }
        Ok(splices)
    }

    /// Splices that take the elements at `removed` (sorted indexes) out of a
    /// flow collection whose elements span `spans`, with one separator per
    /// element: a run of removed elements goes with the separator before it,
    /// or after it when it leads the collection. A comment in the way is
    /// refused, as it would go with them.
    fn flow_removals(&self, spans: &[Range<usize>], removed: &[usize]) -> Result<Vec<Splice>, EditFailure> {
        let mut splices = Vec::new();
        let mut i = 0;
        while i < removed.len() {
            let first = removed[i];
            let mut last = first;
            while i + 1 < removed.len() && removed[i + 1] == last + 1 {
                i += 1;
                last += 1;
            }
            let range = if first > 0 {
                spans[first - 1].end..spans[last].end
            } else if last + 1 < spans.len() {
                spans[first].start..spans[last + 1].start
            } else {
                spans[first].start..spans[last].end
            };
            if let Some(hash) = self.text[range.clone()].find('#') {
                return Err(EditFailure::at(
                    range.start + hash,
                    "a comment stands next to pullsmith's `patches:` entries in a flow collection; \
                     write `patches:` as a block list to let pullsmith update it",
                ));
            }
            splices.push(Splice::replace(range, String::new()));
            i += 1;
        }
        Ok(splices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `edit_kustomization` on `text`, with its first document parsed as
    /// `Graph::load` keeps it. (The `Kustomization` itself is not built here,
    /// so that these cases do not depend on the graph's other fields.)
    fn edit_kustomization_text(text: &str, entries: &[Entry]) -> Result<Option<String>, EditFailure> {
        let document = yaml::parse(text).expect("the test kustomization parses").into_iter().next();
        edit_text(text, document.as_ref(), entries)
    }

    fn smp() -> Entry {
        Entry { path: "pullsmith.patch.yaml".to_string(), target: None }
    }

    fn json6902() -> Entry {
        let target = vec![("kind".to_string(), "Rollout".to_string()), ("name".to_string(), "web".to_string())];
        Entry { path: "pullsmith.rollout.web.patch.yaml".to_string(), target: Some(target) }
    }

    /// `text` edited to hold `entries`: checked to parse, to differ only in
    /// `patches:`, and to need no second edit.
    fn edit(text: &str, entries: &[Entry]) -> String {
        let out = edit_kustomization_text(text, entries).expect("the edit succeeds").expect("a change");
        let documents = yaml::parse(text).expect("parses");
        assert_eq!(crate::verify::only_root_key_changed(&documents, &out, "patches"), Ok(()));
        assert_eq!(edit_kustomization_text(&out, entries), Ok(None), "a second edit changes:\n{out}");
        out
    }

    /// `text` edited to hold `entries`, then edited back to none: the original again.
    fn added_and_removed(text: &str, entries: &[Entry]) -> String {
        let out = edit(text, entries);
        assert_eq!(edit(&out, &[]), text, "removing the entries from:\n{out}");
        out
    }

    fn crlf(text: &str) -> String {
        text.replace('\n', "\r\n")
    }

    fn failure(text: &str, entries: &[Entry]) -> (Option<String>, String) {
        let failure = edit_kustomization_text(text, entries).expect_err("the edit fails");
        (failure.offset.map(|offset| text[offset..].chars().take(12).collect()), failure.message)
    }

    // Issue 8, item 5: microservices-demo's commented-out components stay with `components:`.
    #[test]
    fn new_key_goes_after_the_comments_of_the_last_key() {
        let text = r"resources:
- ../base
components:
- ../components/a
# - ../components/cymbal-branding
# - ../components/google-cloud-operations
";
        let out = added_and_removed(text, &[smp()]);
        assert_eq!(
            out,
            r"resources:
- ../base
components:
- ../components/a
# - ../components/cymbal-branding
# - ../components/google-cloud-operations
patches:
- path: pullsmith.patch.yaml
"
        );
    }

    #[test]
    fn new_key_after_a_comment_section_is_set_apart_by_a_blank_line() {
        let text = r"resources:
  - ../base # é
  # - ../extra

# Uncomment for monitoring ☕:
# components:
#   - ../monitoring


";
        let out = added_and_removed(text, &[smp(), json6902()]);
        assert_eq!(
            out,
            r"resources:
  - ../base # é
  # - ../extra

# Uncomment for monitoring ☕:
# components:
#   - ../monitoring

patches:
  - path: pullsmith.patch.yaml
  - path: pullsmith.rollout.web.patch.yaml
    target:
      kind: Rollout
      name: web


"
        );
    }

    #[test]
    fn new_key_goes_before_document_end_markers() {
        for marker in ["---\n", "...\n", "--- # é\nnamePrefix: ignored-\n"] {
            let text = format!("---\nresources:\n- ../base\n# - ../more\n{marker}");
            let out = added_and_removed(&text, &[smp()]);
            assert_eq!(
                out,
                format!("---\nresources:\n- ../base\n# - ../more\npatches:\n- path: pullsmith.patch.yaml\n{marker}")
            );
        }
    }

    #[test]
    fn crlf_is_kept_when_adding_updating_and_removing() {
        let text = crlf("resources:\n- ../base\n");
        let added = added_and_removed(&text, &[smp()]);
        assert_eq!(added, crlf("resources:\n- ../base\npatches:\n- path: pullsmith.patch.yaml\n"));
        let updated = edit(&added, &[smp(), json6902()]);
        assert_eq!(
            updated,
            crlf(
                "resources:\n- ../base\npatches:\n- path: pullsmith.patch.yaml\n\
                 - path: pullsmith.rollout.web.patch.yaml\n  target:\n    kind: Rollout\n    name: web\n"
            )
        );
        assert_eq!(edit(&updated, &[]), text);
    }

    #[test]
    fn bom_is_kept_and_not_counted_as_a_column() {
        let text = "\u{feff}resources:\n  - ../base\n";
        let out = added_and_removed(text, &[smp()]);
        assert_eq!(out, "\u{feff}resources:\n  - ../base\npatches:\n  - path: pullsmith.patch.yaml\n");
        // The key on the BOM's line goes without the BOM.
        let first = "\u{feff}patches:\n- path: pullsmith.patch.yaml\nresources:\n- ../base\n";
        assert_eq!(edit(first, &[]), "\u{feff}resources:\n- ../base\n");
        let bom_crlf = format!("\u{feff}{}", crlf("resources:\n- ../base\n"));
        assert_eq!(
            added_and_removed(&bom_crlf, &[smp()]),
            format!("\u{feff}{}", crlf("resources:\n- ../base\npatches:\n- path: pullsmith.patch.yaml\n"))
        );
    }

    #[test]
    fn a_last_line_without_newline_stays_without_one() {
        let text = "resources:\n- ../base\n# the end";
        let out = added_and_removed(text, &[smp()]);
        assert_eq!(out, "resources:\n- ../base\n# the end\npatches:\n- path: pullsmith.patch.yaml");
        let crlf_text = "resources:\r\n- ../base";
        let out = added_and_removed(crlf_text, &[smp(), json6902()]);
        assert_eq!(edit(&out, &[json6902()]), crlf("resources:\n- ../base\npatches:\n- path: pullsmith.rollout.web.patch.yaml\n  target:\n    kind: Rollout\n    name: web").trim_end());
    }

    #[test]
    fn indented_root_keys() {
        let text = "  resources:\n  - ../base\n  # - ../other\n";
        let out = added_and_removed(text, &[smp()]);
        assert_eq!(out, "  resources:\n  - ../base\n  # - ../other\n  patches:\n  - path: pullsmith.patch.yaml\n");
    }

    #[test]
    fn null_patches_are_filled_in_place() {
        // In, filled, and what removing pullsmith's entries leaves.
        let cases = [
            (
                "patches: ~\nresources:\n- ../base\n",
                "patches:\n- path: pullsmith.patch.yaml\nresources:\n- ../base\n",
                // pullsmith cannot tell a null it filled from a key it added: the key goes.
                "resources:\n- ../base\n",
            ),
            (
                "resources:\n- ../base\npatches: null # none yet ☕\nimages: []\n",
                "resources:\n- ../base\npatches: # none yet ☕\n- path: pullsmith.patch.yaml\nimages: []\n",
                "resources:\n- ../base\npatches: # none yet ☕\nimages: []\n",
            ),
            (
                "resources:\n  - ../base\npatches:\n# - path: x.yaml # é\n# Images for prod\nimages: []\n",
                "resources:\n  - ../base\npatches:\n# - path: x.yaml # é\n  - path: pullsmith.patch.yaml\n\
                 # Images for prod\nimages: []\n",
                "resources:\n  - ../base\npatches:\n# - path: x.yaml # é\n# Images for prod\nimages: []\n",
            ),
            (
                "resources: [../base]\npatches: NULL",
                "resources: [../base]\npatches:\n- path: pullsmith.patch.yaml",
                "resources: [../base]",
            ),
        ];
        for (text, filled, emptied) in cases {
            let out = edit(text, &[smp()]);
            assert_eq!(out, filled);
            assert_eq!(edit(&out, &[]), emptied, "from {text:?}");
        }
    }

    #[test]
    fn empty_flow_list_is_filled_and_emptied_again() {
        let text = "resources: [../base]\npatches: [] # é\n";
        let out = added_and_removed(text, &[smp(), json6902()]);
        assert_eq!(
            out,
            "resources: [../base]\npatches: [{path: pullsmith.patch.yaml}, \
             {path: pullsmith.rollout.web.patch.yaml, target: {kind: Rollout, name: web}}] # é\n"
        );
        assert_eq!(edit(&out, &[json6902()]), "resources: [../base]\npatches: [{path: pullsmith.rollout.web.patch.yaml, target: {kind: Rollout, name: web}}] # é\n");
    }

    #[test]
    fn flow_list_with_the_users_entries() {
        let text = "resources: [../base]\npatches: [{path: mine.yaml}, other.yaml]\n";
        let out = added_and_removed(text, &[smp()]);
        assert_eq!(
            out,
            "resources: [../base]\npatches: [{path: mine.yaml}, other.yaml, {path: pullsmith.patch.yaml}]\n"
        );
        // pullsmith's entries ahead of the user's: they go with the separator after them.
        let ahead = "patches: [{path: pullsmith.patch.yaml}, {path: mine.yaml}]\n";
        assert_eq!(edit(ahead, &[]), "patches: [{path: mine.yaml}]\n");
        assert_eq!(edit(ahead, &[json6902()]), "patches: [{path: mine.yaml}, {path: pullsmith.rollout.web.patch.yaml, target: {kind: Rollout, name: web}}]\n");
    }

    #[test]
    fn json_kustomization() {
        let text = "{\n  \"resources\": [\n    \"../base\"\n  ]\n}\n";
        let out = added_and_removed(text, &[smp()]);
        assert_eq!(
            out,
            "{\n  \"resources\": [\n    \"../base\"\n  ],\n  \"patches\": [{\"path\": \"pullsmith.patch.yaml\"}]\n}\n"
        );
        let one_line = "{\"resources\": [\"../base\"], \"patches\": null}";
        assert_eq!(
            edit(one_line, &[json6902()]),
            "{\"resources\": [\"../base\"], \"patches\": [{\"path\": \"pullsmith.rollout.web.patch.yaml\", \"target\": {\"kind\": \"Rollout\", \"name\": \"web\"}}]}"
        );
    }

    #[test]
    fn block_list_gets_entries_after_the_users_and_their_commented_out_items() {
        let text = r"resources:
- ../base
patches:
- path: mine.yaml # é
# - path: disabled.yaml
#   target:
#     kind: Deployment
# Images for prod
images:
- name: web
";
        let out = added_and_removed(text, &[smp()]);
        assert_eq!(
            out,
            r"resources:
- ../base
patches:
- path: mine.yaml # é
# - path: disabled.yaml
#   target:
#     kind: Deployment
- path: pullsmith.patch.yaml
# Images for prod
images:
- name: web
"
        );
        let updated = edit(&out, &[json6902(), smp()]);
        assert_eq!(
            updated,
            r"resources:
- ../base
patches:
- path: mine.yaml # é
# - path: disabled.yaml
#   target:
#     kind: Deployment
- path: pullsmith.rollout.web.patch.yaml
  target:
    kind: Rollout
    name: web
- path: pullsmith.patch.yaml
# Images for prod
images:
- name: web
"
        );
        assert_eq!(edit(&updated, &[]), text);
    }

    #[test]
    fn entries_of_the_user_after_pullsmiths_keep_their_place() {
        let text = "patches:\n- path: pullsmith.patch.yaml\n- path: mine.yaml\nresources:\n- ../base\n";
        assert_eq!(
            edit(text, &[json6902()]),
            "patches:\n- path: mine.yaml\n- path: pullsmith.rollout.web.patch.yaml\n  target:\n    kind: Rollout\n    name: web\nresources:\n- ../base\n"
        );
        assert_eq!(edit(text, &[]), "patches:\n- path: mine.yaml\nresources:\n- ../base\n");
    }

    #[test]
    fn only_pullsmiths_entries_are_replaced_in_place_and_removed_with_a_bare_key() {
        let text = "resources:\n- ../base\npatches:\n  # generated ☕\n  - path: pullsmith.patch.yaml\nimages: []\n";
        assert_eq!(
            edit(text, &[json6902()]),
            "resources:\n- ../base\npatches:\n  # generated ☕\n  - path: pullsmith.rollout.web.patch.yaml\n    target:\n      kind: Rollout\n      name: web\nimages: []\n"
        );
        // The user's comment stays, and the key with it.
        assert_eq!(edit(text, &[]), "resources:\n- ../base\npatches:\n  # generated ☕\nimages: []\n");
        let bare = "resources:\n- ../base\npatches:\n  - path: pullsmith.patch.yaml # é\nimages: []\n";
        assert_eq!(edit(bare, &[]), "resources:\n- ../base\nimages: []\n");
    }

    #[test]
    fn a_blank_line_of_the_user_before_a_last_key_is_kept() {
        let text = "resources:\n- ../base\n\npatches:\n- path: pullsmith.patch.yaml\n";
        assert_eq!(edit(text, &[]), "resources:\n- ../base\n\n");
        let after_comment = "resources:\n- ../base\n# note\n\npatches:\n- path: pullsmith.patch.yaml\n";
        assert_eq!(edit(after_comment, &[]), "resources:\n- ../base\n# note\n\n");
    }

    #[test]
    fn what_cannot_be_edited_is_a_located_failure() {
        let message = |s: &str| s.to_string();
        assert_eq!(failure("", &[smp()]), (None, message("the kustomization is empty")));
        assert_eq!(failure("# only a comment\n", &[smp()]), (None, message("the kustomization is empty")));
        assert_eq!(edit_kustomization_text("", &[]), Ok(None));
        assert_eq!(
            failure("- ../base\n", &[smp()]),
            (Some(message("- ../base\n")), message("the kustomization is not a mapping"))
        );
        assert_eq!(
            failure("resources: [../base]\npatches: patch.yaml\n", &[smp()]),
            (Some(message("patch.yaml\n")), message("`patches:` is a scalar, not a list"))
        );
        assert_eq!(
            failure("patches: {path: x.yaml}\n", &[smp()]),
            (Some(message("{path: x.yam")), message("`patches:` is a mapping, not a list"))
        );
        let (at, text) = failure("patches: [\n  a.yaml, # é\n  {path: pullsmith.patch.yaml}\n]\n", &[]);
        assert_eq!(at.as_deref(), Some("# é\n  {path:"));
        assert!(text.starts_with("a comment stands next to pullsmith's `patches:` entries"), "{text}");
        assert_eq!(
            failure("patches: # x\n  ~\n", &[smp()]),
            (
                Some(message("# x\n  ~\n")),
                message(
                    "a comment stands between `patches:` and its null value; remove the value to let pullsmith fill it"
                )
            )
        );
    }
}
