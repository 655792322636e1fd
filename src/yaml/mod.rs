//! Positional YAML: documents as a light tree of mappings, sequences and
//! scalars, each node carrying the byte span it occupies in the original text.
//!
//! This module is the only place that turns yaml-rust2 markers into byte
//! offsets. yaml-rust2 0.13 reports `line()` 1-based and `col()` as a 0-based
//! count of *characters*; `index()` counts characters and drifts, so it is
//! never used. A BOM is not given to the parser; it counts as one more
//! character on line 1 when markers become offsets, so every offset indexes
//! the text as it is. Scalars only get a start mark, so their end is found
//! by scanning the text. Aliases are kept as alias nodes and never expanded.
//!
//! It must never edit text: it only reads.

mod line_index;
mod scan;
mod strict;

pub use line_index::{git_lines, line_break_at, line_col, line_end, split_lines_keeping_breaks, LineIndex};

use std::ops::Range;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deeper nesting than this is refused, so that recursive walks over the tree
/// can never exhaust a thread's stack.
pub const MAX_DEPTH: usize = 400;

/// An alias bomb is a document whose aliases would expand to more nodes than
/// this (and to many times the nodes actually written).
pub const MAX_EXPANDED_NODES: u64 = 1_000_000;

/// How a scalar is written. Kept so that a replacement can be written the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Scalar {
        value: String,
        style: ScalarStyle,
    },
    Mapping {
        entries: Vec<(Node, Node)>,
        flow: bool,
    },
    Sequence {
        items: Vec<Node>,
        flow: bool,
    },
    /// An alias (`*name`); the anchored node is never copied.
    Alias,
}

/// One node and where it stands in the file's bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    /// From the first byte of the node's content (after any anchor or tag) to
    /// just past its last byte. For a block collection, the end is the end of
    /// its last child; for an implicit null, the span is empty.
    pub span: Range<usize>,
}

/// A parsed YAML document.
#[derive(Debug, Clone)]
pub struct Document {
    pub root: Node,
    /// Not built (see [`parse_skipping`]): its root is an empty plain
    /// scalar spanning the document's text, which holds nothing the caller
    /// looks for.
    pub skipped: bool,
}

impl Document {
    /// A document that was not built, standing for the text at `span`
    /// (see [`Document::skipped`]).
    pub fn placeholder(span: Range<usize>) -> Document {
        let root = Node { kind: NodeKind::Scalar { value: String::new(), style: ScalarStyle::Plain }, span };
        Document { root, skipped: true }
    }
}

/// What [`parse_skipping`] asks of each document's text: whether it can
/// hold anything the caller looks for.
pub type Matters<'a> = dyn Fn(&str) -> bool + Sync + 'a;

/// A parse failure, with the byte offset where the parser stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The value of `key` when this node is a mapping with a plain string key of that name.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, value)| value)
    }

    pub fn entry(&self, key: &str) -> Option<&(Node, Node)> {
        match &self.kind {
            NodeKind::Mapping { entries, .. } => entries.iter().find(|(k, _)| k.as_str() == Some(key)),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.kind {
            NodeKind::Mapping { entries, .. } => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.kind {
            NodeKind::Sequence { items, .. } => items,
            _ => &[],
        }
    }

    pub fn is_mapping(&self) -> bool {
        matches!(self.kind, NodeKind::Mapping { .. })
    }

    pub fn is_flow(&self) -> bool {
        matches!(self.kind, NodeKind::Mapping { flow: true, .. } | NodeKind::Sequence { flow: true, .. })
    }

    /// An implicit null: `key:` with nothing after it.
    pub fn is_null(&self) -> bool {
        match &self.kind {
            NodeKind::Scalar { value, style } => {
                *style == ScalarStyle::Plain && (value.is_empty() || value == "null" || value == "~")
            }
            _ => false,
        }
    }

    pub fn scalar_style(&self) -> Option<ScalarStyle> {
        match &self.kind {
            NodeKind::Scalar { style, .. } => Some(*style),
            _ => None,
        }
    }

    /// Whether this is a plain scalar that YAML reads as something other than
    /// a string: a null, a boolean or a number (YAML 1.2 core schema, as
    /// yaml-rust2 resolves it). JSON never quotes such values, so they say
    /// nothing about whether a file quotes its strings.
    pub fn is_plain_non_string(&self) -> bool {
        match &self.kind {
            NodeKind::Scalar { value, style: ScalarStyle::Plain } => {
                !matches!(yaml_rust2::Yaml::from_str(value), yaml_rust2::Yaml::String(_))
            }
            _ => false,
        }
    }
}

/// Parses every document of `text`. The offsets in the result index `text`
/// itself, BOM included.
pub fn parse(text: &str) -> Result<Vec<Document>, ParseError> {
    parse_keeping_lines(text, None).map(|(documents, _)| documents)
}

/// [`parse`], building the tree of only the documents whose text `matters`
/// (issue 16): the others are parsed, so the text is checked as a whole,
/// and stand as [`Document::skipped`] placeholders. A document's text is
/// what lies between the lines that start with a document marker (`---`
/// or `...`, alone or followed by a blank), which YAML forbids inside any
/// scalar, and what `matters` is asked is that text; when the parser's
/// document runs past it (a marker it did not take as one), the whole text
/// is parsed again with every tree built.
pub fn parse_skipping(text: &str, matters: &Matters<'_>) -> Result<Vec<Document>, ParseError> {
    let sections = document_sections(text);
    if sections.len() < 2 {
        return parse(text);
    }
    // Each section is asked once, here, rather than again at its document's start.
    let kept: Vec<bool> = sections.iter().map(|section| matters(&text[section.clone()])).collect();
    if kept.iter().all(|&keep| keep) {
        return parse(text);
    }
    let skipping = Skipping { sections: &sections, kept: &kept, current: None, overran: false };
    match parse_keeping_lines(text, Some(skipping)) {
        Err(err) if err.offset == OVERRAN => parse(text),
        other => other.map(|(documents, _)| documents),
    }
}

/// Parses the text of one section of `text` (see [`document_sections`])
/// on its own, with every offset, in the documents and in an error, still
/// indexing `text`. A section's documents read the same alone as in the
/// whole text when the parser takes every marker line as a marker and no
/// directive (`%YAML`, `%TAG`, which stand before a marker and so in the
/// section before) applies to them: the caller makes sure of both.
pub fn parse_section(text: &str, section: Range<usize>) -> Result<Vec<Document>, ParseError> {
    let base = section.start;
    let mut documents = parse(&text[section]).map_err(|err| ParseError { offset: err.offset + base, ..err })?;
    if base > 0 {
        let mut open: Vec<&mut Node> = documents.iter_mut().map(|document| &mut document.root).collect();
        while let Some(node) = open.pop() {
            node.span = node.span.start + base..node.span.end + base;
            match &mut node.kind {
                NodeKind::Mapping { entries, .. } => {
                    open.extend(entries.iter_mut().flat_map(|(key, value)| [key, value]));
                }
                NodeKind::Sequence { items, .. } => open.extend(items.iter_mut()),
                NodeKind::Scalar { .. } | NodeKind::Alias => {}
            }
        }
    }
    Ok(documents)
}

/// Whether a line of `text` starts with `%`, as a directive does.
pub fn may_hold_directives(text: &str) -> bool {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    body.starts_with('%') || memchr::memmem::find(body.as_bytes(), b"\n%").is_some()
}

/// The sections of a text that document markers divide it into: each
/// starts at the beginning of the text or of a marker's line.
pub fn document_sections(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let is_marker = |line: usize| matches!(bytes.get(line + 3), None | Some(b' ' | b'\t' | b'\r' | b'\n'));
    // Two substring searches rather than a look at every line: most files have few markers.
    let mut starts: Vec<usize> = memchr::memmem::find_iter(bytes, b"\n---")
        .chain(memchr::memmem::find_iter(bytes, b"\n..."))
        .map(|at| at + 1)
        .filter(|&line| is_marker(line))
        .collect();
    starts.sort_unstable();
    starts.insert(0, 0);
    let mut sections: Vec<Range<usize>> = starts.windows(2).map(|w| w[0]..w[1]).collect();
    sections.push(starts[starts.len() - 1]..text.len());
    sections
}

/// What a parse that skips documents needs to know as it goes.
struct Skipping<'s> {
    sections: &'s [Range<usize>],
    /// Whether each section can matter, and so has its document built.
    kept: &'s [bool],
    /// The section of the document being skipped, if one is.
    current: Option<Range<usize>>,
    /// A skipped document went on past its section.
    overran: bool,
}

/// The offset of the error that says the parse gave up skipping: a
/// document ran past its section.
const OVERRAN: usize = usize::MAX;

/// Parses every document of `text`, and hands back its line index (built on
/// the way for text that is not ASCII, so that a caller need not build it again).
pub fn parse_with_lines(text: &str) -> Result<(Vec<Document>, LineIndex), ParseError> {
    parse_keeping_lines(text, None).map(|(documents, lines)| (documents, lines.unwrap_or_else(|| LineIndex::new(text))))
}

/// The documents, and the line index when parsing needed one.
fn parse_keeping_lines<'a>(
    text: &'a str,
    skipping: Option<Skipping<'a>>,
) -> Result<(Vec<Document>, Option<LineIndex>), ParseError> {
    // Characters YAML forbids are refused before either parser sees them, so
    // the message names the character rather than what it broke.
    if let Some((offset, message)) = strict::forbidden_character(text) {
        return Err(ParseError { offset, message });
    }
    // yaml-rust2 does not skip a BOM: parse what follows it, and count it as
    // one more character on line 1 when turning markers into offsets.
    let bom_len = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut builder = TreeBuilder {
        text,
        lines: std::cell::OnceCell::new(),
        is_ascii: text.is_ascii(),
        bom_chars: usize::from(bom_len > 0),
        stack: Vec::new(),
        documents: Vec::new(),
        anchors: Vec::new(),
        error: None,
        skipping,
        entries: Vec::new(),
        items: Vec::new(),
    };
    let mut parser = Parser::new_from_str(&text[bom_len..]);
    // The events are pulled one by one rather than through `Parser::load`,
    // which recurses once per nesting level and so overflows a thread's stack
    // on deep input (4,000 levels) before any limit could be checked. The
    // parser's own state lives on the heap; `MAX_DEPTH` is enforced here, on
    // the events, before the tree grows one level too deep.
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(next) => next,
            Err(err) => {
                let offset = builder.offset(err.marker());
                let message =
                    builder.flow_close_not_past_its_key(offset, err.info()).unwrap_or_else(|| err.info().to_string());
                return Err(ParseError { offset, message });
            }
        };
        let end = matches!(event, Event::StreamEnd);
        builder.on_event(event, mark);
        if let Some(err) = builder.error {
            return Err(err);
        }
        if builder.skipping.as_ref().is_some_and(|skipping| skipping.overran) {
            return Err(ParseError { offset: OVERRAN, message: String::new() });
        }
        if end {
            break;
        }
    }
    // What yaml-rust2 took but kubectl's parser would refuse (see `strict`).
    if let Some((offset, message)) = strict::may_diverge(text).then(|| strict::libyaml_refusal(text)).flatten() {
        return Err(ParseError { offset, message });
    }
    Ok((builder.documents, builder.lines.into_inner()))
}

/// A collection being built, with the expanded size of what it holds so far.
struct Open {
    node: Node,
    /// Where its entries (or items) start in the builder's scratch list.
    scratch_start: usize,
    /// For a mapping: a key waiting for its value.
    pending_key: Option<Node>,
    anchor_id: usize,
    expanded: u64,
}

struct TreeBuilder<'a> {
    text: &'a str,
    /// Built on first use: ASCII text needs it only for a message.
    lines: std::cell::OnceCell<LineIndex>,
    is_ascii: bool,
    /// 1 when the text starts with a BOM, which the parser does not see.
    bom_chars: usize,
    stack: Vec<Open>,
    documents: Vec<Document>,
    /// Expanded node count per anchor id (ids are small consecutive numbers).
    anchors: Vec<u64>,
    error: Option<ParseError>,
    skipping: Option<Skipping<'a>>,
    /// The entries of the open mappings and the items of the open
    /// sequences, innermost last: a collection's children are gathered here
    /// and moved into a vector of their exact length when it closes, rather
    /// than grown by doubling and shrunk (allocations the run paid per node).
    entries: Vec<(Node, Node)>,
    items: Vec<Node>,
}

impl TreeBuilder<'_> {
    /// At a document's start: whether to skip it, and then its section.
    fn start_document(&mut self, mark: &Marker) {
        let offset = self.offset(mark);
        let Some(skipping) = &mut self.skipping else { return };
        let index = skipping.sections.partition_point(|section| section.start <= offset).saturating_sub(1);
        skipping.current = (!skipping.kept[index]).then(|| skipping.sections[index].clone());
    }

    /// At a document's end: a skipped document becomes its placeholder.
    fn end_document(&mut self, mark: &Marker) {
        let offset = self.offset(mark);
        let Some(skipping) = &mut self.skipping else { return };
        let Some(section) = skipping.current.take() else { return };
        if offset > section.end {
            skipping.overran = true;
            return;
        }
        self.documents.push(Document::placeholder(section));
    }

    fn is_skipping(&self) -> bool {
        self.skipping.as_ref().is_some_and(|skipping| skipping.current.is_some())
    }

    fn lines(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(self.text))
    }

    fn offset(&self, mark: &Marker) -> usize {
        // In ASCII text (no BOM either), a marker's character index is its byte offset.
        if self.is_ascii {
            return mark.index().min(self.text.len());
        }
        let col = if mark.line() <= 1 { mark.col() + self.bom_chars } else { mark.col() };
        self.lines().offset_of(self.text, mark.line(), col, self.is_ascii)
    }

    /// A clearer message for one shape yaml-rust2 refuses with a bare
    /// "invalid indentation": a multi-line flow collection, the value of a
    /// block mapping's key, whose closing bracket starts a line at (or left
    /// of) the key's column, as in istio's spire quickstart:
    ///
    /// ```yaml
    ///         args: [
    ///           "--a"
    ///         ]
    /// ```
    ///
    /// YAML 1.2 wants the bracket indented past the key (yaml-rust2 lets one
    /// at the key's column pass only after a plain scalar), but kubectl's
    /// parser accepts it, so the user needs to hear what is wrong and how to fix it.
    /// Only that shape is explained: the scanner's message, a closing bracket
    /// first on its line that closes (part of) the flow collection written as
    /// the value of the key being read, at or left of that key's column.
    /// Anything else keeps the scanner's own message.
    fn flow_close_not_past_its_key(&self, offset: usize, scanner_message: &str) -> Option<String> {
        if scanner_message != "invalid indentation" {
            return None;
        }
        let bytes = self.text.as_bytes();
        let line_start = scan::line_start(self.text, offset);
        if !bytes[line_start..offset].iter().all(|b| matches!(b, b' ' | b'\t')) {
            return None;
        }
        // The parser may hold the collection's start back (a `[` that could
        // still be a key), so the collection is found from the key, in the text.
        let holder = self.stack.iter().rev().find(|open| !open.node.is_flow())?;
        let key = holder.pending_key.as_ref()?;
        let key_name = key.as_str()?;
        let colon = scan::colon_after(self.text, key.span.end)?;
        let value_start = scan::node_start_after(self.text, colon + 1)?;
        let opening = scan::opening_bracket_of(self.text, value_start, offset)?;
        let (bracket, what) = match (bytes[opening], bytes[offset]) {
            (b'[', b']') => ("]", "flow sequence"),
            (b'{', b'}') => ("}", "flow mapping"),
            _ => return None,
        };
        let (key_line, key_column) = self.lines().line_col(self.text, key.span.start);
        let (_, bracket_column) = self.lines().line_col(self.text, offset);
        if bracket_column > key_column {
            return None;
        }
        Some(format!(
            "the closing `{bracket}` of this {what} is not indented past its key `{key_name}` \
             (line {key_line}, column {key_column}); yaml-rust2 (YAML 1.2) rejects this although kubectl \
             accepts it: indent the `{bracket}` one more space than `{key_name}`, to column {}",
            key_column + 1
        ))
    }

    fn fail(&mut self, offset: usize, message: String) {
        if self.error.is_none() {
            self.error = Some(ParseError { offset, message });
        }
    }

    fn remember_anchor(&mut self, anchor_id: usize, expanded: u64) {
        if anchor_id == 0 {
            return;
        }
        if self.anchors.len() <= anchor_id {
            self.anchors.resize(anchor_id + 1, 1);
        }
        self.anchors[anchor_id] = expanded;
    }

    /// Hands a finished node to its parent (or makes it a document root).
    fn push_node(&mut self, mut node: Node, expanded: u64) {
        let Some(parent) = self.stack.last_mut() else {
            self.documents.push(Document { root: node, skipped: false });
            return;
        };
        parent.expanded = parent.expanded.saturating_add(expanded);
        let parent_expanded = parent.expanded;
        match &mut parent.node.kind {
            NodeKind::Mapping { .. } => match parent.pending_key.take() {
                None => parent.pending_key = Some(node),
                Some(key) => {
                    if node.is_null() && node.as_str() == Some("") && node.span.is_empty() {
                        // An implicit null has no text; put its empty span right after the colon.
                        let after_key =
                            scan::colon_after(self.text, key.span.end).map_or(key.span.end, |colon| colon + 1);
                        node.span = after_key..after_key;
                    }
                    self.entries.push((key, node));
                }
            },
            NodeKind::Sequence { .. } => self.items.push(node),
            NodeKind::Scalar { .. } | NodeKind::Alias => {
                unreachable!("only collections are pushed on the builder stack")
            }
        }
        if parent_expanded > MAX_EXPANDED_NODES {
            let offset = self.stack.last().map_or(0, |open| open.node.span.start);
            self.fail(
                offset,
                format!(
                    "aliases expand to more than {MAX_EXPANDED_NODES} nodes (alias bomb); refusing to read this file"
                ),
            );
        }
    }

    /// Kubernetes rejects a mapping that names a key twice, and which value
    /// counts would be a guess: such a file is refused.
    fn duplicate_key(&self, entries: &[(Node, Node)]) -> Option<(usize, String)> {
        if entries.len() < 2 {
            return None;
        }
        if entries.len() <= 8 {
            // Most mappings are small: compared pairwise, without a vector to
            // sort. The repeat read first is reported.
            let name = |i: usize| entries[i].0.as_str();
            let (first, second) = (1..entries.len())
                .find_map(|j| (0..j).find(|&i| name(i).is_some() && name(i) == name(j)).map(|i| (i, j)))?;
            let (first_key, second_key) = (&entries[first].0, &entries[second].0);
            let first_line = self.lines().line_of(first_key.span.start);
            let key = second_key.as_str().unwrap_or_default();
            return Some((second_key.span.start, format!("duplicate key `{key}` (first at line {first_line})")));
        }
        let mut keys: Vec<(&str, usize)> =
            entries.iter().filter_map(|(k, _)| k.as_str().map(|name| (name, k.span.start))).collect();
        keys.sort_unstable();
        // Sorted by name, then offset: the repeat read first is reported, as above.
        keys.windows(2).filter(|pair| pair[0].0 == pair[1].0).min_by_key(|pair| pair[1].1).map(|pair| {
            let (first, second) = (pair[0], pair[1]);
            let first_line = self.lines().line_of(first.1);
            (second.1, format!("duplicate key `{}` (first at line {first_line})", second.0))
        })
    }

    fn open(&mut self, node: Node, anchor_id: usize) {
        if self.stack.len() >= MAX_DEPTH {
            self.fail(node.span.start, format!("nesting deeper than {MAX_DEPTH} levels"));
            return;
        }
        let scratch_start = if node.is_mapping() { self.entries.len() } else { self.items.len() };
        self.stack.push(Open { node, scratch_start, pending_key: None, anchor_id, expanded: 1 });
    }

    fn close(&mut self, end_mark: &Marker) {
        let Some(mut open) = self.stack.pop() else {
            return;
        };
        // Exactly as long as it needs to be: most Kubernetes mappings hold
        // one to three entries, and vectors grown by doubling from four took
        // several times the memory the nodes need (a 100 MB file: gigabytes).
        match &mut open.node.kind {
            NodeKind::Mapping { entries, .. } => {
                if let Some((offset, message)) = self.duplicate_key(&self.entries[open.scratch_start..]) {
                    self.fail(offset, message);
                    return;
                }
                *entries = self.entries.drain(open.scratch_start..).collect();
            }
            NodeKind::Sequence { items, .. } => *items = self.items.drain(open.scratch_start..).collect(),
            NodeKind::Scalar { .. } | NodeKind::Alias => {}
        }
        let flow = open.node.is_flow();
        if let NodeKind::Mapping { entries, flow: false } = &open.node.kind {
            // A block mapping's start event stands after its first key, not on it.
            if let Some((first_key, _)) = entries.first() {
                open.node.span.start = first_key.span.start;
            }
        }
        open.node.span.end = if flow {
            // The end event of a flow collection stands on its closing bracket.
            self.offset(end_mark) + 1
        } else {
            let last_end = match &open.node.kind {
                NodeKind::Mapping { entries, .. } => entries.last().map(|(k, v)| k.span.end.max(v.span.end)),
                NodeKind::Sequence { items, .. } => items.last().map(|item| item.span.end),
                _ => None,
            };
            last_end.unwrap_or(open.node.span.start)
        };
        self.remember_anchor(open.anchor_id, open.expanded);
        self.push_node(open.node, open.expanded);
    }
}

impl MarkedEventReceiver for TreeBuilder<'_> {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match event {
            Event::DocumentStart => {
                self.anchors.clear();
                self.start_document(&mark);
                return;
            }
            Event::DocumentEnd => {
                self.end_document(&mark);
                return;
            }
            _ if self.is_skipping() => return,
            _ => {}
        }
        match event {
            Event::Scalar(value, style, anchor_id, tag) => {
                let start = self.offset(&mark);
                let style = match style {
                    TScalarStyle::Plain => ScalarStyle::Plain,
                    TScalarStyle::SingleQuoted => ScalarStyle::SingleQuoted,
                    TScalarStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
                    TScalarStyle::Literal => ScalarStyle::Literal,
                    TScalarStyle::Folded => ScalarStyle::Folded,
                };
                let start = match style {
                    // The event stands on the content; the node starts at its `|` or `>` header.
                    ScalarStyle::Literal | ScalarStyle::Folded => scan::block_header(self.text, start),
                    _ => start,
                };
                // An empty value's event stands on the next token, which may be
                // lines further (`- ?` then `---`): it belongs at the end of the line
                // before, so that a collection it ends does not end past a `---`.
                let start = if style == ScalarStyle::Plain && value.is_empty() && anchor_id == 0 && tag.is_none() {
                    scan::empty_value_at(self.text, start)
                } else {
                    start
                };
                let end = if style == ScalarStyle::Plain && value.is_empty() {
                    start
                } else {
                    scan::scalar_end(self.text, start, style, &value)
                };
                // An empty value with a tag or an anchor (`key: !t`, maybe on the
                // next line) is written: its span covers them, so that what is
                // inserted after it never lands between the key and them.
                let mut span = start..end;
                if style == ScalarStyle::Plain && value.is_empty() && (anchor_id != 0 || tag.is_some()) {
                    let key_end = self.stack.last().and_then(|open| open.pending_key.as_ref()).map(|key| key.span.end);
                    let after_key = key_end.and_then(|end| scan::colon_after(self.text, end)).map(|colon| colon + 1);
                    if let Some(properties) = after_key.and_then(|at| scan::properties_from(self.text, at)) {
                        span = properties;
                    }
                }
                self.remember_anchor(anchor_id, 1);
                self.push_node(Node { kind: NodeKind::Scalar { value, style }, span }, 1);
            }
            Event::MappingStart(anchor_id, _tag) => {
                let start = self.offset(&mark);
                let flow = self.text.as_bytes().get(start) == Some(&b'{');
                let node = Node { kind: NodeKind::Mapping { entries: Vec::new(), flow }, span: start..start };
                self.open(node, anchor_id);
            }
            Event::SequenceStart(anchor_id, _tag) => {
                let start = self.offset(&mark);
                // An indentless (kubectl-style) sequence's event stands on its first item, after the
                // dash: on a `[` when that item is a flow sequence. Only such a sequence can be the
                // value of a block mapping's key and still follow a dash.
                let indentless =
                    self.stack.last().is_some_and(|open| {
                        open.pending_key.is_some() && !open.node.is_flow() && open.node.is_mapping()
                    }) && scan::dash_before(self.text, start) != start;
                let flow = !indentless && self.text.as_bytes().get(start) == Some(&b'[');
                let start = if flow { start } else { scan::dash_before(self.text, start) };
                let node = Node { kind: NodeKind::Sequence { items: Vec::new(), flow }, span: start..start };
                self.open(node, anchor_id);
            }
            Event::MappingEnd | Event::SequenceEnd => self.close(&mark),
            Event::Alias(anchor_id) => {
                let start = self.offset(&mark);
                let end = scan::alias_end(self.text, start);
                // An alias inside the node its anchor names makes the data
                // infinite: kubectl refuses it ("anchor value contains
                // itself"), and no walk of the tree could end.
                if anchor_id != 0 && self.stack.iter().any(|open| open.anchor_id == anchor_id) {
                    self.fail(
                        start,
                        "an alias inside the node its anchor names (the anchor's value contains itself)".to_string(),
                    );
                }
                let expanded = self.anchors.get(anchor_id).copied().unwrap_or(1);
                self.push_node(Node { kind: NodeKind::Alias, span: start..end }, expanded);
            }
            Event::DocumentStart | Event::DocumentEnd | Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
    }
}

#[cfg(test)]
mod tests;

/// Start of the line holding `pos`.
pub fn line_start_of(text: &str, pos: usize) -> usize {
    scan::line_start(text, pos)
}

/// Start of the line after the one whose terminator starts at `line_end`,
/// or the text's end.
pub fn next_line_start(text: &str, line_end: usize) -> usize {
    match line_index::line_break_at(text.as_bytes(), line_end) {
        0 => text.len(),
        len => line_end + len,
    }
}

/// The `-` of the block sequence entry whose content starts at `pos`.
pub fn dash_before(text: &str, pos: usize) -> usize {
    scan::dash_before(text, pos)
}
