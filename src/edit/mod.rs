//! Edits as data: byte splices on the original text, and the few ways
//! pullsmith writes new text in the style of its neighbours.
//!
//! Nothing here serializes YAML. A replacement keeps the quotes of the value
//! it replaces; an insertion copies indentation, quoting, flow or block
//! style and line endings from the text around it.

use std::ops::Range;

pub mod block;
pub mod values;

use crate::yaml::{self, LineIndex, Node, NodeKind, ScalarStyle};

/// Replaces `range` (bytes of the original text) with `text`. An empty range inserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    pub range: Range<usize>,
    pub text: String,
}

impl Splice {
    pub fn insert_at(offset: usize, text: String) -> Splice {
        Splice { range: offset..offset, text }
    }

    pub fn replace(range: Range<usize>, text: String) -> Splice {
        debug_assert!(range.start <= range.end);
        Splice { range, text }
    }
}

/// Builds the new file in one pass. Bytes outside the splices are copied as
/// they are: this is where "the text is sacred" is kept. Splices must be
/// sorted and disjoint (insertions at one offset keep their order).
pub fn apply(original: &str, splices: &[Splice]) -> String {
    debug_assert!(splices.windows(2).all(|w| w[0].range.end <= w[1].range.start));
    let extra: usize = splices.iter().map(|s| s.text.len()).sum();
    let mut out = String::with_capacity(original.len() + extra);
    let mut copied_to = 0;
    for splice in splices {
        out.push_str(&original[copied_to..splice.range.start]);
        out.push_str(&splice.text);
        copied_to = splice.range.end;
    }
    out.push_str(&original[copied_to..]);
    out
}

/// Splices of `original` that do what `first` and then `second` do, where
/// `second` was made on the text `first` gives (`apply(original, first)`).
/// A splice of `second` that overlaps or touches one of `first` is merged
/// with it into one, so the result is again sorted and disjoint. This lets a
/// planner make edits one at a time, reparsing between them, and still hand
/// over splices of the original text.
pub fn compose(original: &str, first: &[Splice], second: &[Splice]) -> Vec<Splice> {
    let mut out: Vec<Splice> = first.to_vec();
    let mut second: Vec<&Splice> = second.iter().collect();
    second.sort_by_key(|s| s.range.start);
    // Last first: the text before a processed splice stays as `second` saw it.
    for next in second.into_iter().rev() {
        let current = apply(original, &out);
        // Where each splice of `out` stands in `current`.
        let mut delta: isize = 0;
        let mut placed: Vec<(usize, usize)> = Vec::with_capacity(out.len());
        for splice in &out {
            let start = (splice.range.start as isize + delta) as usize;
            placed.push((start, start + splice.text.len()));
            delta += splice.text.len() as isize - splice.range.len() as isize;
        }
        let group: Vec<usize> =
            (0..out.len()).filter(|&i| placed[i].0 <= next.range.end && placed[i].1 >= next.range.start).collect();
        // An offset of `current` outside every inserted text, in `original`.
        let to_original = |offset: usize| -> usize {
            let mut delta: isize = 0;
            for (i, splice) in out.iter().enumerate() {
                if placed[i].1 <= offset {
                    delta += splice.text.len() as isize - splice.range.len() as isize;
                }
            }
            (offset as isize - delta) as usize
        };
        let (Some(&first_in), Some(&last_in)) = (group.first(), group.last()) else {
            let start = to_original(next.range.start);
            let end = to_original(next.range.end);
            let at = out.partition_point(|s| s.range.start < start || (s.range.start == start && s.range.end <= start));
            out.insert(at, Splice { range: start..end, text: next.text.clone() });
            continue;
        };
        let region = placed[first_in].0.min(next.range.start)..placed[last_in].1.max(next.range.end);
        let start =
            if region.start == placed[first_in].0 { out[first_in].range.start } else { to_original(region.start) };
        let end = if region.end == placed[last_in].1 { out[last_in].range.end } else { to_original(region.end) };
        let text = format!(
            "{}{}{}",
            &current[region.start..next.range.start],
            next.text,
            &current[next.range.end..region.end]
        );
        out.splice(first_in..=last_in, [Splice { range: start..end, text }]);
    }
    out
}

/// `value` written in `style`: quotes kept, plain stays plain — unless a
/// plain scalar would not read back as this string (`42`, `1e3`, `true`,
/// `null`, `y`: a secret may be named so), which is then double-quoted, so
/// that an inserted name is never read as a number, a boolean or a null.
pub fn quoted(value: &str, style: Option<ScalarStyle>) -> String {
    match style {
        Some(ScalarStyle::SingleQuoted) => format!("'{}'", value.replace('\'', "''")),
        Some(ScalarStyle::DoubleQuoted) => serde_json::to_string(value).expect("strings always serialize"),
        _ if plain_reads_as_string(value) => value.to_string(),
        _ => serde_json::to_string(value).expect("strings always serialize"),
    }
}

/// Whether `text`, written as a plain scalar, is read back as that very
/// string by every YAML reader Kubernetes tooling uses (YAML 1.1 as in
/// go-yaml v2, and 1.2): it starts with a letter, `_` or `/`, holds only
/// letters, digits and `-._/`, and is no boolean or null word (`y`, `no`,
/// `On`, `NULL`, …). A leading digit is refused outright, which rules out
/// every number, timestamp and sexagesimal form at once.
pub fn plain_reads_as_string(text: &str) -> bool {
    const WORDS: [&str; 9] = ["y", "n", "yes", "no", "true", "false", "on", "off", "null"];
    text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '/')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || "-._/".contains(c))
        && !WORDS.iter().any(|word| word.eq_ignore_ascii_case(text))
}

/// The text a scalar replacement puts in place of `node`, keeping its quotes.
pub fn replace_scalar(node: &Node, value: &str) -> Splice {
    match node.scalar_style() {
        Some(ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted) => {
            Splice::replace(node.span.clone(), quoted(value, node.scalar_style()))
        }
        // An empty span is an implicit null after `key:`: give it a space first.
        _ if node.span.is_empty() => Splice::insert_at(node.span.start, format!(" {value}")),
        _ => Splice::replace(node.span.clone(), value.to_string()),
    }
}

/// Facts about the text around a position, read once per file.
///
/// Lines end where YAML ends them: at `\r\n`, `\n` or a lone `\r` (see
/// `yaml::line_break_at`); a new line is written with the break of the line
/// it follows, so a CR-only file gets `\r`, never a stray `\n`.
pub struct TextStyle<'a> {
    text: &'a str,
    default_eol: &'static str,
    /// Built on the first column asked for: a column is then found without
    /// walking back to the line's start, which on a long minified line would
    /// make many insertions quadratic.
    lines: std::cell::OnceCell<LineIndex>,
}

impl<'a> TextStyle<'a> {
    pub fn new(text: &'a str) -> TextStyle<'a> {
        let first_break = yaml::line_end(text, 0);
        let default_eol = eol_of(&text.as_bytes()[first_break..]).unwrap_or("\n");
        TextStyle { text, default_eol, lines: std::cell::OnceCell::new() }
    }

    /// Offset just before the line terminator of the line holding `pos`.
    pub fn line_end(&self, pos: usize) -> usize {
        yaml::line_end(self.text, pos)
    }

    /// The terminator of the line holding `pos`; for a last line without one,
    /// the file's own (first) line ending.
    pub fn eol_at(&self, pos: usize) -> &'static str {
        let end = self.line_end(pos);
        eol_of(&self.text.as_bytes()[end..]).unwrap_or(self.default_eol)
    }

    /// Column (in characters) of `pos` on its line. A BOM is not a column:
    /// text inserted at the column of a key on the first line must line up with it.
    /// The column of a block mapping key, taken where its properties start:
    /// a tag or an anchor before it on its line (`! containers:`, `&a
    /// image: x`), which yaml-rust2's marks leave out. The keys of a block
    /// mapping line up there, so a new key goes there too.
    pub fn key_column(&self, key: &Node) -> usize {
        self.column(self.properties_start(key.span.start))
    }

    /// `pos`, moved back over the tags and anchors that stand before it on
    /// its line, each followed by white space.
    pub fn properties_start(&self, pos: usize) -> usize {
        let bytes = self.text.as_bytes();
        let mut at = pos.min(bytes.len());
        loop {
            let mut end = at;
            while end > 0 && matches!(bytes[end - 1], b' ' | b'\t') {
                end -= 1;
            }
            if end == at {
                return at;
            }
            let mut start = end;
            while start > 0 && !matches!(bytes[start - 1], b' ' | b'\t' | b'\n' | b'\r') {
                start -= 1;
            }
            if start < end && matches!(bytes[start], b'!' | b'&') {
                at = start;
            } else {
                return at;
            }
        }
    }

    /// The text this is the style of.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The text's line index, built on first use and kept.
    pub fn lines(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(self.text))
    }

    pub fn column(&self, pos: usize) -> usize {
        let lines = self.lines();
        let (line, column) = lines.line_col(self.text, pos);
        let bom = usize::from(line == 1 && self.text.starts_with('\u{feff}') && pos >= 3);
        column - 1 - bom
    }

    /// The text of a node.
    pub fn slice(&self, range: Range<usize>) -> &'a str {
        &self.text[range]
    }

    /// The first non-blank byte at or after `pos` on the same line, and its offset.
    fn next_on_line(&self, pos: usize) -> Option<(u8, usize)> {
        let bytes = self.text.as_bytes();
        let mut i = pos;
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
            i += 1;
        }
        bytes.get(i).map(|b| (*b, i))
    }

    /// Whether only blanks, a comment, or the line end follow `pos` on its line.
    fn line_is_done_after(&self, pos: usize) -> bool {
        matches!(self.next_on_line(pos), None | Some((b'\r' | b'\n' | b'#', _)))
    }
}

/// The line break at the start of `bytes`, when there is one.
fn eol_of(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [b'\r', b'\n', ..] => Some("\r\n"),
        [b'\n', ..] => Some("\n"),
        [b'\r', ..] => Some("\r"),
        _ => None,
    }
}

/// How a mapping key is written: `image` or `"image"`.
fn key_like(key: &Node, name: &str) -> String {
    quoted(name, key.scalar_style())
}

/// How a new `key: value` entry of a mapping is quoted, learned from all of
/// the mapping's entries rather than from the one it goes beside.
///
/// - The key is quoted only when every key of the mapping is quoted, and then
///   with the quote character of the key it goes beside.
/// - The value is quoted only when every string value of the mapping is
///   quoted, and then with the quote character of the value it goes beside
///   (or of the first quoted value, when that one is not a quoted scalar).
///   Only the mapping's own scalar values count: plain nulls, booleans and
///   numbers count neither way, since JSON cannot quote them, and neither do
///   collections, aliases or anything nested.
/// - Otherwise both are plain. Helm renders `image: "{{ … }}"` quoted beside
///   plain keys and a plain `name`: those quotes come from the chart's
///   template, not from the file's style, so they must not spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EntryQuoting {
    key: Option<ScalarStyle>,
    value: Option<ScalarStyle>,
}

fn is_quoted(style: ScalarStyle) -> bool {
    matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted)
}

impl EntryQuoting {
    /// The quoting of an entry of `mapping` inserted beside `neighbour`.
    fn of_mapping(mapping: &Node, (neighbour_key, neighbour_value): &(Node, Node)) -> EntryQuoting {
        let entries = mapping.entries();
        let all_keys_quoted = entries.iter().all(|(key, _)| key.scalar_style().is_some_and(is_quoted));
        let key = all_keys_quoted.then(|| neighbour_key.scalar_style()).flatten();
        let string_value_styles: Vec<ScalarStyle> = entries
            .iter()
            .filter(|(_, value)| !value.is_plain_non_string())
            .filter_map(|(_, value)| value.scalar_style())
            .collect();
        let all_values_quoted = !string_value_styles.is_empty() && string_value_styles.iter().copied().all(is_quoted);
        let value = all_values_quoted
            .then(|| {
                neighbour_value
                    .scalar_style()
                    .filter(|style| is_quoted(*style))
                    .or(string_value_styles.first().copied())
            })
            .flatten();
        EntryQuoting { key, value }
    }
}

/// Inserts `imagePullPolicy` right after a container's `image` entry, in its
/// siblings' style: indentation and flow or block from the `image` entry,
/// quoting from the whole container (see `EntryQuoting`).
pub fn insert_policy(style: &TextStyle<'_>, container: &Node, policy: &str) -> Option<Splice> {
    let image_entry = container.entry("image")?;
    let (image_key, image_value) = image_entry;
    let quoting = EntryQuoting::of_mapping(container, image_entry);
    let key = quoted("imagePullPolicy", quoting.key);
    let value = quoted(policy, quoting.value);
    let value_end = image_value.span.end.max(image_key.span.end);
    if container.is_flow() {
        // `image: x,` ending its line in a multi-line flow mapping: a line of its own.
        if let Some((b',', comma)) = style.next_on_line(value_end) {
            if style.line_is_done_after(comma + 1) {
                let indent = " ".repeat(style.key_column(image_key));
                let eol = style.eol_at(comma);
                return Some(Splice::insert_at(comma + 1, format!("{eol}{indent}{key}: {value},")));
            }
        }
        // `{image:}`: a `,` right after the colon would make libyaml (and
        // kubectl) read `image:` as a plain scalar and refuse the mapping.
        let after_colon = image_value.span.is_empty() && style.text.as_bytes()[..value_end].ends_with(b":");
        let lead = if after_colon { " " } else { "" };
        return Some(Splice::insert_at(value_end, format!("{lead}, {key}: {value}")));
    }
    let line_end = style.line_end(value_end);
    let indent = " ".repeat(style.key_column(image_key));
    let eol = style.eol_at(value_end);
    Some(Splice::insert_at(line_end, format!("{eol}{indent}{key}: {value}")))
}

/// How new secret items are written, learned from the file.
#[derive(Debug, Clone, Copy)]
pub struct ListStyle {
    /// Columns between a key and the dashes of its block sequence (0: kubectl style).
    pub dash_offset: usize,
    /// The list a new key gets is a flow sequence.
    pub flow: bool,
}

impl ListStyle {
    /// The style of a mapping's sequences, read from its `containers` list
    /// (or any other sequence value in it).
    pub fn of_mapping(style: &TextStyle<'_>, mapping: &Node) -> Option<ListStyle> {
        let preferred = mapping.entry("containers").into_iter().chain(mapping.entries().iter());
        for (key, value) in preferred {
            if let NodeKind::Sequence { flow, items } = &value.kind {
                if *flow {
                    return Some(ListStyle { dash_offset: 2, flow: true });
                }
                if !items.is_empty() {
                    return Some(ListStyle::block(style, key, value));
                }
            }
        }
        None
    }

    /// The style of the first block sequence held by a mapping key anywhere in `root`.
    pub fn of_document(style: &TextStyle<'_>, root: &Node) -> Option<ListStyle> {
        match &root.kind {
            NodeKind::Mapping { entries, .. } => entries.iter().find_map(|(key, value)| match &value.kind {
                NodeKind::Sequence { flow: false, items } if !items.is_empty() => {
                    Some(ListStyle::block(style, key, value))
                }
                _ => ListStyle::of_document(style, value),
            }),
            NodeKind::Sequence { items, .. } => items.iter().find_map(|item| ListStyle::of_document(style, item)),
            _ => None,
        }
    }

    fn block(style: &TextStyle<'_>, key: &Node, sequence: &Node) -> ListStyle {
        let dash_column = style.column(sequence.span.start);
        let key_column = style.key_column(key);
        ListStyle { dash_offset: dash_column.saturating_sub(key_column), flow: false }
    }
}

impl Default for ListStyle {
    /// Two-column indented block lists, when a file shows no style of its own.
    fn default() -> ListStyle {
        ListStyle { dash_offset: 2, flow: false }
    }
}

/// A `{name: X}` item in the style of an existing item (quotes, padding).
fn flow_item(style: &TextStyle<'_>, like: Option<&Node>, name: &str) -> String {
    let Some(like) = like.filter(|item| item.is_flow()) else {
        return format!("{{name: {}}}", quoted(name, None));
    };
    let Some((key, value)) = like.entry("name") else {
        return format!("{{name: {}}}", quoted(name, None));
    };
    let text = style.slice(like.span.clone());
    let padded = text.starts_with("{ ");
    let key = key_like(key, "name");
    let value = quoted(name, value.scalar_style());
    if padded {
        format!("{{ {key}: {value} }}")
    } else {
        format!("{{{key}: {value}}}")
    }
}

/// A block item `- name: X` (or `- {name: X}`) in the style of an existing item.
fn block_item(style: &TextStyle<'_>, like: Option<&Node>, name: &str) -> String {
    match like {
        Some(item) if item.is_flow() => format!("- {}", flow_item(style, Some(item), name)),
        Some(item) => match item.entry("name") {
            Some((key, value)) => format!("- {}: {}", key_like(key, "name"), quoted(name, value.scalar_style())),
            None => format!("- name: {}", quoted(name, None)),
        },
        None => format!("- name: {}", quoted(name, None)),
    }
}

/// Appends `names` to the `imagePullSecrets` of `holder` (a pod spec or a
/// ServiceAccount), creating the key when it is missing.
pub fn append_secrets(style: &TextStyle<'_>, holder: &Node, names: &[String], fallback: ListStyle) -> Option<Splice> {
    if names.is_empty() {
        return None;
    }
    match holder.entry("imagePullSecrets") {
        Some((key, list)) => extend_list(style, holder, key, list, names, fallback),
        None => Some(add_key(style, holder, names, fallback)),
    }
}

fn extend_list(
    style: &TextStyle<'_>,
    holder: &Node,
    key: &Node,
    list: &Node,
    names: &[String],
    fallback: ListStyle,
) -> Option<Splice> {
    match &list.kind {
        NodeKind::Sequence { items, flow: true } => {
            let last = items.last();
            let rendered: Vec<String> = names.iter().map(|n| flow_item(style, last, n)).collect();
            match last {
                Some(last) => Some(Splice::insert_at(last.span.end, format!(", {}", rendered.join(", ")))),
                None => Some(Splice::insert_at(list.span.start + 1, rendered.join(", "))),
            }
        }
        NodeKind::Sequence { items, flow: false } => {
            let last = items.last()?;
            let dash_column = style.column(list.span.start);
            let indent = " ".repeat(dash_column);
            let eol = style.eol_at(last.span.end);
            let mut text = String::new();
            for name in names {
                text.push_str(eol);
                text.push_str(&indent);
                text.push_str(&block_item(style, Some(last), name));
            }
            Some(Splice::insert_at(style.line_end(last.span.end), text))
        }
        _ if list.is_null() && list.span.is_empty() => {
            let list_style = ListStyle::of_mapping(style, holder).unwrap_or(fallback);
            let key_column = style.key_column(key);
            let after_colon = list.span.start;
            if list_style.flow || holder.is_flow() {
                let items: Vec<String> = names.iter().map(|n| flow_item(style, None, n)).collect();
                return Some(Splice::insert_at(after_colon, format!(" [{}]", items.join(", "))));
            }
            let indent = " ".repeat(key_column + list_style.dash_offset);
            let eol = style.eol_at(after_colon);
            let text: String = names.iter().map(|n| format!("{eol}{indent}- name: {}", quoted(n, None))).collect();
            Some(Splice::insert_at(style.line_end(after_colon), text))
        }
        // Anything else (a scalar, an alias) is not ours to rewrite.
        _ => None,
    }
}

fn add_key(style: &TextStyle<'_>, holder: &Node, names: &[String], fallback: ListStyle) -> Splice {
    let sample_key = holder.entries().first().map(|(k, _)| k);
    let key = sample_key.map_or_else(|| "imagePullSecrets".to_string(), |k| key_like(k, "imagePullSecrets"));
    let name_key_style = sample_key.and_then(Node::scalar_style);
    let flow_items = || -> String {
        names
            .iter()
            .map(|n| format!("{{{}: {}}}", quoted("name", name_key_style), quoted(n, name_key_style)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if holder.is_flow() {
        let last = holder.entries().last();
        let Some((last_key, last_value)) = last else {
            return Splice::insert_at(holder.span.start + 1, format!("{key}: [{}]", flow_items()));
        };
        let end = last_key.span.end.max(last_value.span.end);
        // `last: x,` ending its line: the new entry gets a line of its own, so no line is rewritten.
        if let Some((b',', comma)) = style.next_on_line(end) {
            if style.line_is_done_after(comma + 1) {
                let indent = " ".repeat(style.key_column(last_key));
                let eol = style.eol_at(comma);
                return Splice::insert_at(comma + 1, format!("{eol}{indent}{key}: [{}],", flow_items()));
            }
        }
        return Splice::insert_at(end, format!(", {key}: [{}]", flow_items()));
    }
    let list_style = ListStyle::of_mapping(style, holder).unwrap_or(fallback);
    let key_column = sample_key.map_or(0, |k| style.key_column(k));
    let indent = " ".repeat(key_column);
    let end = style.line_end(holder.span.end);
    let eol = style.eol_at(holder.span.end);
    if list_style.flow {
        return Splice::insert_at(end, format!("{eol}{indent}{key}: [{}]", flow_items()));
    }
    let dash_indent = " ".repeat(key_column + list_style.dash_offset);
    let mut text = format!("{eol}{indent}{key}:");
    for name in names {
        text.push_str(&format!("{eol}{dash_indent}- name: {}", quoted(name, None)));
    }
    Splice::insert_at(end, text)
}

#[cfg(test)]
mod tests;
