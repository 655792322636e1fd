//! Helm values written as a YAML document inside a block scalar, as an Argo
//! CD Application carries them (`spec.source.helm.values: |`), edited in
//! place.
//!
//! [`BlockText::of`] reads the block's lines as they are written, with the
//! block's indentation removed: the *literal reading*, a text of its own that
//! `values` edits like any values file. [`BlockText::outer_splices`] turns
//! the splices of that text back into splices of the file: offsets mapped,
//! new lines indented like the block and ended like the file's lines. The
//! header (`|`, `|-`, `>2`, a comment after it) is never rewritten, so the
//! chomping and indentation indicators stay; new lines at the end go after
//! the last content line, inside the block and before any trailing blank
//! lines (which a keep-chomped `|+` block keeps at its end). [`check_inner`]
//! reads an edited file again and checks that the block now holds the data
//! that was meant.
//!
//! The literal reading is used only when YAML reads the scalar the same way:
//! for a literal block (`|`) its value is the literal reading up to the final
//! line breaks; a folded block (`>`) joins lines, so it is used only when its
//! value and its lines parse to the same data (nested keys are more indented
//! and keep their breaks; two top-level keys in a row fold into one line).
//! Anything else is refused with an [`EditRefusal`]: a values string that is
//! plain or quoted, a folded block whose lines fold (before or after the
//! edit), a block whose value is not its lines, and an edit that would make
//! the block's first line more indented than the rest when no indentation
//! indicator says where the block's indentation is.
//!
//! Like the rest of `edit`, it never serializes, and it does no IO.

use crate::yaml::{self, Document, Node, NodeKind, ScalarStyle};

use super::values::EditRefusal;
use super::{apply, Splice, TextStyle};

/// The text inside a block scalar as its lines are written, indentation removed.
#[derive(Debug, Clone)]
pub struct BlockText {
    inner: String,
    /// The lines of `inner`, from the first line after the header to the
    /// last content line. Empty for a block without content.
    lines: Vec<BlockLine>,
    /// Spaces before the content of each line of the block.
    indent: usize,
    /// Where the first line goes when the block has none: the end of the
    /// header's line (after a comment on it).
    header_line_end: usize,
    /// The line break of the header's line (the file's own when it has none).
    header_eol: &'static str,
    header_start: usize,
    folded: bool,
    /// An indentation indicator (`|2`) is written: YAML does not take the
    /// indentation from the first line.
    explicit_indent: bool,
}

/// Where a scalar stands in a file: the index of its document, and the path
/// to it from the document's root. A step names a key where the node is a
/// mapping and is an index (`0`) where it is a sequence, so
/// `["spec", "sources", "0", "helm", "values"]` reaches the values of a
/// multi-source Application.
#[derive(Debug, Clone, Copy)]
pub struct ScalarAt<'a> {
    pub document: usize,
    pub path: &'a [&'a str],
}

impl BlockText {
    /// `node` must be a block scalar (literal or folded) of `text`; refusal otherwise
    /// (plain/quoted scalars: "the values string is not a block scalar (`|`): edit it by hand", etc.).
    ///
    /// Also refused: a block whose value is not its lines as written, and a
    /// folded block (`>`) whose value, once its lines fold, parses to other
    /// data than its lines do.
    pub fn of(text: &str, node: &Node) -> Result<BlockText, EditRefusal> {
        let refuse = |message: &str| EditRefusal { offset: node.span.start, message: message.to_string() };
        let value = match &node.kind {
            NodeKind::Scalar { value, style: ScalarStyle::Literal | ScalarStyle::Folded } => value,
            NodeKind::Scalar { style: ScalarStyle::Plain, .. } => {
                return Err(refuse("the values string is not a block scalar (`|`): edit it by hand"))
            }
            NodeKind::Scalar { .. } => {
                return Err(refuse("the values string is quoted, not a block scalar (`|`): edit it by hand"))
            }
            NodeKind::Mapping { .. } | NodeKind::Sequence { .. } => {
                return Err(refuse("the values are a collection, not a string in a block scalar (`|`)"))
            }
            NodeKind::Alias => return Err(refuse("the values string is an alias: edit the anchored node by hand")),
        };
        let header = Header::read(text, node.span.start)
            .ok_or_else(|| refuse("the block scalar's header is not `|` or `>` with indicators"))?;
        let block = BlockText::read(text, node.span.start, &header);
        if header.folded {
            block.check_folded_value(value)?;
        } else if value.trim_end_matches('\n') != block.inner {
            return Err(refuse("the block scalar's value is not its lines as written: edit it by hand"));
        }
        Ok(block)
    }

    /// The inner text: each content line with the block's indentation removed, joined with "\n"
    /// (the literal reading; for a folded scalar this is NOT the scalar's value — see the module
    /// doc for when the two may stand for each other).
    ///
    /// It ends with the last line that has content: blank lines after it
    /// (part of the value only when chomping keeps them) are not in it. It is
    /// empty for a block without content.
    pub fn inner(&self) -> &str {
        &self.inner
    }

    /// Splices of `inner()` turned into splices of the outer text: offsets mapped, every line break
    /// inside an inserted text followed by the block's indentation, and "\n" written as the outer file's line ending (CRLF kept).
    ///
    /// `inner` must be sorted and disjoint, as [`super::apply`] wants them. A
    /// new line that is blank gets no indentation. In a block without
    /// content, the inserted text becomes the block's lines: its leading line
    /// breaks are dropped (the header's line break ends the header) and its
    /// lines move left together until one starts at the block's indentation,
    /// which is the key's column plus the indentation indicator, or else plus
    /// the file's indentation step. Refused: a splice out of `inner()` or out
    /// of order, a carriage return in a text, a first line starting with a
    /// space in a block without an indentation indicator, and, in a folded
    /// block, an edit whose lines would fold.
    pub fn outer_splices(&self, inner: &[Splice]) -> Result<Vec<Splice>, EditRefusal> {
        let refuse = |message: &str| EditRefusal { offset: self.header_start, message: message.to_string() };
        let mut previous_end = 0;
        for splice in inner {
            let range = &splice.range;
            if range.start < previous_end || range.start > range.end {
                return Err(refuse("edits of the values string overlap or are out of order"));
            }
            if range.end > self.inner.len()
                || !self.inner.is_char_boundary(range.start)
                || !self.inner.is_char_boundary(range.end)
            {
                return Err(refuse("an edit of the values string falls outside it"));
            }
            if splice.text.contains('\r') {
                return Err(refuse(
                    "an edit of the values string writes a carriage return: its lines must be joined with `\\n`",
                ));
            }
            previous_end = range.end;
        }
        if inner.iter().all(|splice| splice.range.is_empty() && splice.text.is_empty()) {
            return Ok(Vec::new());
        }
        if self.lines.is_empty() {
            let written: String = inner.iter().map(|splice| splice.text.as_str()).collect();
            let new_inner = block_lines_of(&written);
            if new_inner.is_empty() {
                return Ok(Vec::new());
            }
            self.check_new_inner(&new_inner)?;
            let mut text = String::new();
            for line in new_inner.split('\n') {
                text.push_str(self.header_eol);
                if !line.is_empty() {
                    text.push_str(&" ".repeat(self.indent));
                }
                text.push_str(line);
            }
            return Ok(vec![Splice::insert_at(self.header_line_end, text)]);
        }
        self.check_new_inner(&apply(&self.inner, inner))?;
        Ok(inner.iter().map(|splice| self.outer_splice(splice)).collect())
    }

    fn read(text: &str, header_start: usize, header: &Header) -> BlockText {
        let style = TextStyle::new(text);
        let header_line_end = yaml::line_end(text, header_start);
        let key_column = key_column_of_line(text, header_start);
        let indent = match header.explicit_indent {
            Some(digit) => key_column + digit,
            // The spaces before the first line with content, when it is deeper than the key.
            None => lines_after(text, header_line_end)
                .find_map(|(_, line)| (leading_spaces(line) < line.len()).then(|| leading_spaces(line)))
                .filter(|spaces| *spaces > key_column)
                .unwrap_or_else(|| key_column + indent_step_above(text, header_start, key_column)),
        };
        let mut lines = Vec::new();
        let mut n_lines_to_last_content = 0;
        let mut inner = String::new();
        for (line_begin, line) in lines_after(text, header_line_end) {
            let spaces = leading_spaces(line).min(indent);
            let content = if spaces == indent { &line[indent..] } else { &line[spaces..] };
            if spaces < indent && !content.is_empty() {
                break;
            }
            if !lines.is_empty() {
                inner.push('\n');
            }
            lines.push(BlockLine {
                inner_start: inner.len(),
                outer_start: line_begin + spaces,
                spaces,
                len: content.len(),
                eol: style.eol_at(line_begin),
            });
            inner.push_str(content);
            if !content.is_empty() {
                n_lines_to_last_content = lines.len();
            }
        }
        lines.truncate(n_lines_to_last_content);
        let inner_len = lines.last().map_or(0, |last| last.inner_start + last.len);
        inner.truncate(inner_len);
        BlockText {
            inner,
            lines,
            indent,
            header_line_end,
            header_eol: style.eol_at(header_start),
            header_start,
            folded: header.folded,
            explicit_indent: header.explicit_indent.is_some(),
        }
    }

    /// A folded block is read line by line only when its value, with the
    /// lines folded, is the same data.
    fn check_folded_value(&self, value: &str) -> Result<(), EditRefusal> {
        let refuse = |message: String| EditRefusal { offset: self.header_start, message };
        let lines_read = yaml::parse(&self.inner)
            .map_err(|err| refuse(format!("the values string does not parse as YAML: {err}")))?;
        match yaml::parse(value) {
            Ok(folded) if same_documents(value, &folded, &self.inner, &lines_read) => Ok(()),
            Ok(_) => Err(refuse(
                "folded values string whose lines fold: `>` joins lines that are apart as written, \
                 so YAML reads other values than the lines say; write it as a literal block (`|`) to have it edited"
                    .to_string(),
            )),
            Err(err) => Err(refuse(format!(
                "folded values string whose lines fold: once `>` joins them they do not parse ({err}); \
                 write it as a literal block (`|`) to have it edited"
            ))),
        }
    }

    /// What the block's lines must still allow once they read `new_inner`.
    fn check_new_inner(&self, new_inner: &str) -> Result<(), EditRefusal> {
        let refuse = |message: String| EditRefusal { offset: self.header_start, message };
        let first_written = new_inner.split('\n').find(|line| !line.is_empty());
        if !self.explicit_indent && first_written.is_some_and(|line| line.starts_with(' ')) {
            return Err(refuse(
                "the edit would start the values string with an indented line, which YAML would take for \
                 the block's indentation; add an indentation indicator (`|2`) to have it edited"
                    .to_string(),
            ));
        }
        if !self.folded {
            return Ok(());
        }
        let lines_read = yaml::parse(new_inner)
            .map_err(|err| refuse(format!("the edited values string does not parse as YAML: {err}")))?;
        let folds_unreadable = |err: String| {
            refuse(format!(
                "folded values string whose lines fold: once `>` joins the edited lines they do not parse ({err}); \
                 write it as a literal block (`|`) to have it edited"
            ))
        };
        let folded = folded_value_of(new_inner).map_err(folds_unreadable)?;
        let folded_read = yaml::parse(&folded).map_err(|err| folds_unreadable(err.to_string()))?;
        if same_documents(&folded, &folded_read, new_inner, &lines_read) {
            Ok(())
        } else {
            Err(refuse(
                "folded values string whose lines fold: `>` would join the lines the edit writes; \
                 write it as a literal block (`|`) to have it edited"
                    .to_string(),
            ))
        }
    }

    /// One splice of a block with lines, in the outer text.
    fn outer_splice(&self, splice: &Splice) -> Splice {
        let start_line = self.line_at(splice.range.start);
        let end_line = self.line_at(splice.range.end);
        let start = self.outer_offset(start_line, splice.range.start);
        let end = self.outer_offset(end_line, splice.range.end);
        // After a splice that ends inside a line, the rest of that line follows the last written line.
        let rest_of_line_follows = splice.range.end < end_line.inner_start + end_line.len;
        let mut pieces = splice.text.split('\n');
        let first = pieces.next().unwrap_or_default();
        let n_pieces = splice.text.matches('\n').count() + 1;
        let mut text = String::new();
        // A blank line written with fewer spaces than the block's gets the rest before new content.
        let at_short_line_start = splice.range.start == start_line.inner_start && start_line.spaces < self.indent;
        if at_short_line_start && (!first.is_empty() || (n_pieces == 1 && rest_of_line_follows)) {
            text.push_str(&" ".repeat(self.indent - start_line.spaces));
        }
        text.push_str(first);
        for (index, piece) in pieces.enumerate() {
            let is_last = index + 2 == n_pieces;
            text.push_str(start_line.eol);
            if !piece.is_empty() || (is_last && rest_of_line_follows) {
                text.push_str(&" ".repeat(self.indent));
            }
            text.push_str(piece);
        }
        Splice::replace(start..end, text)
    }

    /// The line holding an offset of `inner` (at a line's end: that line).
    fn line_at(&self, inner_offset: usize) -> BlockLine {
        let index = self.lines.partition_point(|line| line.inner_start <= inner_offset);
        self.lines[index.saturating_sub(1)]
    }

    fn outer_offset(&self, line: BlockLine, inner_offset: usize) -> usize {
        line.outer_start + (inner_offset - line.inner_start)
    }
}

/// Checks an edited outer text: the block scalar at `at` in `edited` now
/// holds, as YAML, the same data as `expected_inner` parsed as YAML, and
/// before the edit (in `original`) it held the same data as its literal
/// reading did. The edited scalar must also still be a block scalar with the
/// same header (`|-` stays `|-`). Returns what differs otherwise.
///
/// "The same data" is what a YAML reader gets, positions aside: a plain
/// scalar equals a plain scalar of the same text (its type comes from the
/// text), a quoted or block scalar any other non-plain scalar of the same
/// value, an alias an alias of the same name; flow and block collections
/// compare by their entries, in order. Anchors are not compared (the tree keeps none).
pub fn check_inner(original: &str, edited: &str, at: ScalarAt<'_>, expected_inner: &str) -> Result<(), String> {
    let before = yaml::parse(original).map_err(|err| format!("the original does not parse: {err}"))?;
    let before_node = at.node_in(&before)?;
    let before_block = BlockText::of(original, before_node).map_err(|refusal| refusal.message)?;
    let before_value = before_node.as_str().unwrap_or_default();
    if !same_yaml(before_value, before_block.inner())? {
        return Err(format!("before the edit, the values string at {at} held other data than its lines"));
    }
    let after = yaml::parse(edited).map_err(|err| format!("the edited text does not parse: {err}"))?;
    let after_node = at.node_in(&after)?;
    let header_text =
        |text: &str, node: &Node| Header::read(text, node.span.start).map(|header| text[header.range].to_string());
    let after_header = match after_node.scalar_style() {
        Some(ScalarStyle::Literal | ScalarStyle::Folded) => header_text(edited, after_node),
        _ => None,
    };
    if after_header != header_text(original, before_node) {
        return Err(format!("the values string at {at} is no longer a block scalar with the same header"));
    }
    let after_value = after_node.as_str().unwrap_or_default();
    if !same_yaml(after_value, expected_inner)? {
        return Err(format!("after the edit, the values string at {at} holds other data than the edit meant"));
    }
    Ok(())
}

impl ScalarAt<'_> {
    /// The node at this place in `documents`.
    pub fn node_in<'d>(&self, documents: &'d [Document]) -> Result<&'d Node, String> {
        let document =
            documents.get(self.document).ok_or_else(|| format!("there is no document {}", self.document + 1))?;
        let mut node = &document.root;
        for step in self.path {
            let next = match &node.kind {
                NodeKind::Mapping { .. } => node.get(step),
                NodeKind::Sequence { items, .. } => step.parse::<usize>().ok().and_then(|index| items.get(index)),
                _ => None,
            };
            node = next.ok_or_else(|| format!("`{step}` of {self} is not there"))?;
        }
        Ok(node)
    }
}

impl std::fmt::Display for ScalarAt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "document {}/{}", self.document + 1, self.path.join("/"))
    }
}

/// One line of a block scalar, in the inner text and in the outer text.
#[derive(Debug, Clone, Copy)]
struct BlockLine {
    inner_start: usize,
    /// Where the line's content starts in the outer text: after the block's
    /// indentation, or after the spaces of a blank line written with fewer.
    outer_start: usize,
    /// Spaces written before `outer_start` on this line.
    spaces: usize,
    len: usize,
    /// The line break after this line (the file's own for a last line without one).
    eol: &'static str,
}

/// A block scalar's header: `|` or `>`, then its indicators in either order.
struct Header {
    folded: bool,
    explicit_indent: Option<usize>,
    /// The indicator and its chomping and indentation indicators, in the text.
    range: std::ops::Range<usize>,
}

impl Header {
    fn read(text: &str, start: usize) -> Option<Header> {
        let bytes = text.as_bytes();
        let folded = match bytes.get(start)? {
            b'|' => false,
            b'>' => true,
            _ => return None,
        };
        let n_indicators =
            bytes[start + 1..].iter().take_while(|b| matches!(b, b'+' | b'-' | b'1'..=b'9')).count().min(2);
        let indicators = &text[start + 1..start + 1 + n_indicators];
        let explicit_indent = indicators.chars().find_map(|c| c.to_digit(10)).map(|digit| digit as usize);
        Some(Header { folded, explicit_indent, range: start..start + 1 + n_indicators })
    }
}

/// Column of the key on the line holding `pos`, past indentation and
/// sequence dashes: where the block's parent stands.
fn key_column_of_line(text: &str, pos: usize) -> usize {
    super::values::key_column_of_line(&TextStyle::new(text), pos)
}

fn leading_spaces(line: &str) -> usize {
    line.bytes().take_while(|b| *b == b' ').count()
}

/// The lines after the one that ends at `line_end` (before its line
/// break), to the end of the text, each with the offset where it starts.
fn lines_after(text: &str, line_end: usize) -> impl Iterator<Item = (usize, &str)> {
    let first = yaml::next_line_start(text, line_end);
    let mut next = (first > line_end).then_some(first);
    std::iter::from_fn(move || {
        let line_begin = next?;
        let line_stop = yaml::line_end(text, line_begin);
        let after = yaml::next_line_start(text, line_stop);
        next = (after > line_stop).then_some(after);
        Some((line_begin, &text[line_begin..line_stop]))
    })
}

/// The file's indentation step at the block's key: the columns between the
/// key (at `key_column`) and the nearest less indented line above it that is
/// not blank or a comment; 2 when there is none.
fn indent_step_above(text: &str, pos: usize, key_column: usize) -> usize {
    let mut line_begin = yaml::line_start_of(text, pos);
    while line_begin > 0 {
        line_begin = yaml::line_start_of(text, line_begin - 1);
        let line = &text[line_begin..yaml::line_end(text, line_begin)];
        let content = line.trim_start_matches(' ');
        if content.trim().is_empty() || content.starts_with('#') {
            continue;
        }
        let column = line.len() - content.len();
        if column < key_column {
            return key_column - column;
        }
    }
    2
}

/// The lines an inserted text gives a block without content: leading line
/// breaks dropped, and moved left together until one starts at column 0.
fn block_lines_of(written: &str) -> String {
    let written = written.trim_start_matches('\n');
    let common_spaces =
        written.split('\n').filter(|line| !line.trim().is_empty()).map(leading_spaces).min().unwrap_or(0);
    let lines: Vec<&str> = written
        .split('\n')
        .map(|line| line.get(common_spaces..).unwrap_or_else(|| line.trim_start_matches(' ')))
        .collect();
    lines.join("\n")
}

/// The value YAML reads from `inner`'s lines written as a folded block.
fn folded_value_of(inner: &str) -> Result<String, String> {
    let mut document = String::from("v: >2\n");
    for line in inner.split('\n') {
        if !line.is_empty() {
            document.push_str("  ");
            document.push_str(line);
        }
        document.push('\n');
    }
    let documents = yaml::parse(&document).map_err(|err| err.to_string())?;
    let value = documents.first().and_then(|document| document.root.get("v")).and_then(Node::as_str);
    value.map(str::to_string).ok_or_else(|| "the folded lines are not one string".to_string())
}

/// Whether two texts parse to the same data (see [`check_inner`]).
fn same_yaml(a: &str, b: &str) -> Result<bool, String> {
    let a_documents = yaml::parse(a).map_err(|err| format!("a values string does not parse as YAML: {err}"))?;
    let b_documents = yaml::parse(b).map_err(|err| format!("a values string does not parse as YAML: {err}"))?;
    Ok(same_documents(a, &a_documents, b, &b_documents))
}

fn same_documents(a_text: &str, a: &[Document], b_text: &str, b: &[Document]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_node(a_text, &x.root, b_text, &y.root))
}

fn same_node(a_text: &str, a: &Node, b_text: &str, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (NodeKind::Scalar { value: x, style: sx }, NodeKind::Scalar { value: y, style: sy }) => {
            x == y && (*sx == ScalarStyle::Plain) == (*sy == ScalarStyle::Plain)
        }
        (NodeKind::Mapping { entries: x, .. }, NodeKind::Mapping { entries: y, .. }) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, vx), (ky, vy))| same_node(a_text, kx, b_text, ky) && same_node(a_text, vx, b_text, vy))
        }
        (NodeKind::Sequence { items: x, .. }, NodeKind::Sequence { items: y, .. }) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_node(a_text, p, b_text, q))
        }
        (NodeKind::Alias, NodeKind::Alias) => a_text[a.span.clone()] == b_text[b.span.clone()],
        _ => false,
    }
}

#[cfg(test)]
#[path = "block_tests.rs"]
mod block_tests;
