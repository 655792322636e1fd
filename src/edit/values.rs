//! Edits of Helm values mappings by key path: a HelmRelease's `spec.values`,
//! an Argo CD Application's `spec.source.helm.valuesObject`, a values file.
//!
//! [`set_scalar`] makes a path such as `image.pullPolicy` hold a plain
//! scalar, and [`set_list`] makes the list at a path hold some names
//! (`- regcred` or `- name: regcred`). Keys that are missing are created as
//! nested mappings after the last key of each level, in the neighbours'
//! style: block mappings at the indentation the file uses, flow mappings
//! (`{image: {pullPolicy: Always}}`) inside a flow mapping, the line ending
//! of the line they follow. An existing scalar is replaced keeping its
//! quotes; an existing list keeps its entries, in order. [`set_scalar_under_key`]
//! and [`set_list_under_key`] also create the values mapping itself when its
//! key (`values:`) is missing.
//!
//! Like the rest of `edit`, nothing is serialized: every change is a splice,
//! and bytes outside the changed values and inserted lines stay as they are.
//!
//! What cannot be edited exactly is refused with an [`EditRefusal`] rather
//! than guessed: a key on the path whose value is a scalar, a sequence or an
//! explicit `null`; an alias or a merge key (`<<`) on the path, since the
//! edit would then change, or be hidden by, a node written elsewhere; an
//! anchor or a tag on the path (`&a`, `!!str`), which would spread the edit
//! or change its meaning; a key written twice; a block scalar where a value
//! goes (its text cannot keep its style), or a keep-chomped one (`|+`) that
//! new lines would have to follow; and a value or name that YAML (1.1, as
//! Helm reads it, or 1.2) would not read as a plain string.
//!
//! Limits: an anchor or a tag on the values node itself is seen only when
//! it is reached from its key (the `*_under_key` functions); given the node
//! alone, an empty `values:` is taken for a flow entry only when `,`, `}` or
//! `]` follows it on its line. Keys are matched by their string, whatever
//! their quotes; explicit keys (`? …`) are refused. Replacing a scalar
//! keeps a comment after it; an existing list keeps its own item style, and
//! new items copy its last one. Each call reads the original text: the
//! splices of two calls may be applied together only when they do not both
//! create the same missing key (`image.pullPolicy` and `image.tag` with no
//! `image:` would write it twice); otherwise apply and parse between calls.

use crate::yaml::{Node, NodeKind, ScalarStyle};

use super::{block_item, flow_item, quoted, replace_scalar, EntryQuoting, ListStyle, Splice, TextStyle};

/// Why a values edit was not made: where (a byte offset of the original
/// text) and what stood in the way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EditRefusal {
    pub offset: usize,
    pub message: String,
}

/// How the entries of a list of names are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `- regcred`, as charts that take `imagePullSecrets: [regcred]` want.
    Names,
    /// `- name: regcred`, the shape of a pod's `imagePullSecrets`.
    Mappings,
}

/// Makes `path` under the values mapping `mapping` hold the plain scalar
/// `value`. `mapping` is a mapping (block or flow, possibly `{}`) or the
/// implicit null of a `values:` with nothing after it. Returns no splice
/// when the path already holds `value`.
pub fn set_scalar(
    style: &TextStyle<'_>,
    mapping: &Node,
    path: &[&str],
    value: &str,
) -> Result<Vec<Splice>, EditRefusal> {
    Editor::new(style, mapping, Leaf::Scalar(value))?.set_in(mapping, path)
}

/// [`set_scalar`] on the value of `key` in `parent` (a `spec` and its
/// `values`), writing `key:` itself after `parent`'s last key when it is missing.
pub fn set_scalar_under_key(
    style: &TextStyle<'_>,
    parent: &Node,
    key: &str,
    path: &[&str],
    value: &str,
) -> Result<Vec<Splice>, EditRefusal> {
    let full_path: Vec<&str> = std::iter::once(key).chain(path.iter().copied()).collect();
    Editor::new(style, parent, Leaf::Scalar(value))?.set_in(parent, &full_path)
}

/// Makes the list at `path` under `mapping` contain `names`: entries already
/// there are kept, in their order, and the missing names are appended in
/// the order given, each once. A missing list is created in `shape`; an
/// existing one must already have that shape. Returns no splice when
/// nothing is missing.
pub fn set_list(
    style: &TextStyle<'_>,
    mapping: &Node,
    path: &[&str],
    names: &[String],
    shape: Shape,
) -> Result<Vec<Splice>, EditRefusal> {
    Editor::new(style, mapping, Leaf::List { names, shape })?.set_in(mapping, path)
}

/// [`set_list`] on the value of `key` in `parent`, writing `key:` when it is missing.
pub fn set_list_under_key(
    style: &TextStyle<'_>,
    parent: &Node,
    key: &str,
    path: &[&str],
    names: &[String],
    shape: Shape,
) -> Result<Vec<Splice>, EditRefusal> {
    let full_path: Vec<&str> = std::iter::once(key).chain(path.iter().copied()).collect();
    Editor::new(style, parent, Leaf::List { names, shape })?.set_in(parent, &full_path)
}

/// What the end of the path must hold.
#[derive(Clone, Copy)]
enum Leaf<'a> {
    Scalar(&'a str),
    List { names: &'a [String], shape: Shape },
}

/// One edit: the text, what the path must hold, and the style learned once.
struct Editor<'s, 't, 'l> {
    style: &'s TextStyle<'t>,
    leaf: Leaf<'l>,
    /// Columns between a key and the keys of the mapping it holds.
    indent_unit: usize,
    list_style: ListStyle,
}

/// How a new key and a new scalar are quoted (only in a mapping whose keys all are).
#[derive(Clone, Copy, Default)]
struct Quoting {
    key: Option<ScalarStyle>,
    value: Option<ScalarStyle>,
}

fn refuse(offset: usize, message: String) -> EditRefusal {
    EditRefusal { offset, message }
}

impl<'s, 't, 'l> Editor<'s, 't, 'l> {
    fn new(style: &'s TextStyle<'t>, top: &Node, leaf: Leaf<'l>) -> Result<Editor<'s, 't, 'l>, EditRefusal> {
        let check = |value: &str| {
            plain_string_problem(value).map_or(Ok(()), |why| Err(refuse(top.span.start, format!("`{value}` {why}"))))
        };
        match leaf {
            Leaf::Scalar(value) => check(value)?,
            Leaf::List { names, .. } => names.iter().try_for_each(|name| check(name))?,
        }
        let indent_unit = indent_unit_of(style, top).unwrap_or_else(|| indent_unit_of_text(style.text));
        let list_style = ListStyle::of_document(style, top).unwrap_or_default();
        Ok(Editor { style, leaf, indent_unit, list_style })
    }

    /// Sets `path` under `node`, the values mapping or a mapping on the path.
    fn set_in(&self, node: &Node, path: &[&str]) -> Result<Vec<Splice>, EditRefusal> {
        let Some((first, rest)) = path.split_first() else {
            return Err(refuse(node.span.start, "an empty values path names nothing to set".to_string()));
        };
        match &node.kind {
            NodeKind::Mapping { entries, flow } => {
                if let Some((merge, _)) = entries
                    .iter()
                    .find(|(k, _)| k.scalar_style() == Some(ScalarStyle::Plain) && k.as_str() == Some("<<"))
                {
                    return Err(refuse(
                        merge.span.start,
                        "a merge key (`<<`) in a values mapping on the path: the edit could be hidden by, or change, the merged mapping".to_string(),
                    ));
                }
                let mut matching = entries.iter().filter(|(k, _)| k.as_str() == Some(*first));
                let Some(entry) = matching.next() else {
                    return self.insert_entry(node, path);
                };
                if let Some((again, _)) = matching.next() {
                    return Err(refuse(again.span.start, format!("duplicate key `{first}`")));
                }
                let (key, value) = entry;
                self.check_no_properties(key, value)?;
                if rest.is_empty() {
                    return self.set_leaf(node, key, value, *flow);
                }
                match &value.kind {
                    NodeKind::Mapping { .. } => self.set_in(value, rest),
                    _ if is_implicit_null(value) => {
                        Ok(vec![self.fill_null(value, self.style.key_column(key), *flow, rest)])
                    }
                    _ => Err(self.not_a_mapping(first, value)),
                }
            }
            // `values:` with nothing after it.
            _ if is_implicit_null(node) => {
                self.check_no_properties_in(node.span.start, self.end_of_empty_value(node))?;
                let key_column = key_column_of_line(self.style, node.span.start);
                let in_flow = matches!(self.style.next_on_line(node.span.start), Some((b',' | b'}' | b']', _)));
                Ok(vec![self.fill_null(node, key_column, in_flow, path)])
            }
            _ => Err(self.not_a_mapping("values", node)),
        }
    }

    fn not_a_mapping(&self, key: &str, value: &Node) -> EditRefusal {
        let what = match &value.kind {
            NodeKind::Alias => "an alias",
            NodeKind::Sequence { .. } => "a sequence",
            NodeKind::Scalar { .. } if value.is_null() => "an explicit `null` (write nothing or `{}`)",
            NodeKind::Scalar { .. } => "a scalar",
            NodeKind::Mapping { .. } => "a mapping",
        };
        refuse(value.span.start, format!("`{key}` is {what}, not a mapping the values path can go through"))
    }

    /// Refuses a key or value on the path written with an anchor or a tag.
    /// The tree keeps neither, so they are read from the text around the entry.
    fn check_no_properties(&self, key: &Node, value: &Node) -> Result<(), EditRefusal> {
        let text = self.style.text.as_bytes();
        // Before the key, only indentation, a sequence dash, an opening brace or a comma.
        let mut i = key.span.start;
        while i > 0 && matches!(text[i - 1], b' ' | b'\t') {
            i -= 1;
        }
        let after_bom = i == 3 && self.style.text.starts_with('\u{feff}');
        if i > 0 && !after_bom && !matches!(text[i - 1], b'\n' | b'\r' | b'-' | b'{' | b',') {
            return Err(refuse(
                i - 1,
                format!(
                    "`{}` is written with an anchor, a tag or as an explicit key (`?`); it is not edited",
                    key.as_str().unwrap_or_default()
                ),
            ));
        }
        // An empty value's span stands just after the colon: an anchor or a
        // tag written for it follows on the line.
        let end = if is_implicit_null(value) { self.end_of_empty_value(value) } else { value.span.start };
        self.check_no_properties_in(key.span.end, end)
    }

    /// Refuses an anchor or a tag between `from` and `to`, outside comments.
    fn check_no_properties_in(&self, from: usize, to: usize) -> Result<(), EditRefusal> {
        let text = self.style.text.as_bytes();
        let mut i = from;
        while i < to.min(text.len()) {
            match text[i] {
                b'#' => i = self.style.line_end(i),
                b'&' => {
                    return Err(refuse(
                        i,
                        "an anchor on the values path: the edit would show wherever it is repeated".to_string(),
                    ))
                }
                b'!' => {
                    return Err(refuse(
                        i,
                        "a tag on the values path: what the edit means would depend on it".to_string(),
                    ))
                }
                _ => i += 1,
            }
        }
        Ok(())
    }

    /// Where the text that could belong to an empty value ends: at a comment,
    /// a flow indicator or the line's end.
    fn end_of_empty_value(&self, value: &Node) -> usize {
        let line_end = self.style.line_end(value.span.start);
        let rest = &self.style.text.as_bytes()[value.span.start..line_end];
        rest.iter().position(|b| matches!(b, b'#' | b',' | b'}' | b']')).map_or(line_end, |at| value.span.start + at)
    }

    /// The last key of the path is there: its value becomes the leaf.
    fn set_leaf(&self, holder: &Node, key: &Node, value: &Node, in_flow: bool) -> Result<Vec<Splice>, EditRefusal> {
        let name = key.as_str().unwrap_or_default();
        match self.leaf {
            Leaf::Scalar(wanted) => match value.scalar_style() {
                Some(ScalarStyle::Literal | ScalarStyle::Folded) => {
                    Err(refuse(value.span.start, format!("`{name}` is a block scalar; it is not rewritten")))
                }
                Some(_) if value.as_str() == Some(wanted) => Ok(Vec::new()),
                Some(_) => Ok(vec![replace_scalar(value, wanted)]),
                None => Err(refuse(value.span.start, format!("`{name}` holds a collection or an alias, not a scalar"))),
            },
            Leaf::List { names, shape } => match &value.kind {
                NodeKind::Sequence { .. } => self.extend_list(name, value, names, shape),
                _ if is_implicit_null(value) => {
                    let quoting = self.quoting_of(holder);
                    if in_flow || self.list_style.flow {
                        let list = self.flow_list(names, shape, quoting);
                        return Ok(vec![Splice::insert_at(value.span.start, format!(" {list}"))]);
                    }
                    let dash_column = self.style.key_column(key) + self.list_style.dash_offset;
                    let eol = self.style.eol_at(value.span.start);
                    let text = self.block_list(dash_column, names, shape, quoting, eol);
                    Ok(vec![Splice::insert_at(self.style.line_end(value.span.start), text)])
                }
                _ => Err(refuse(value.span.start, format!("`{name}` is not a list (or an empty key)"))),
            },
        }
    }

    fn extend_list(&self, name: &str, list: &Node, names: &[String], shape: Shape) -> Result<Vec<Splice>, EditRefusal> {
        let mut present = Vec::new();
        for item in list.items() {
            let item_name = match (shape, &item.kind) {
                (
                    Shape::Names,
                    NodeKind::Scalar {
                        style: ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted,
                        value,
                    },
                ) => value.as_str(),
                (Shape::Mappings, NodeKind::Mapping { .. }) => match item.get("name") {
                    Some(Node {
                        kind:
                            NodeKind::Scalar {
                                value,
                                style: ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted,
                            },
                        ..
                    }) => value.as_str(),
                    _ => return Err(refuse(item.span.start, format!("an entry of `{name}` has no plain `name`"))),
                },
                (_, NodeKind::Alias) => {
                    return Err(refuse(item.span.start, format!("an entry of `{name}` is an alias")))
                }
                (Shape::Names, _) => {
                    return Err(refuse(
                        item.span.start,
                        format!("an entry of `{name}` is not a plain name, as this chart wants"),
                    ))
                }
                (Shape::Mappings, _) => {
                    return Err(refuse(
                        item.span.start,
                        format!("an entry of `{name}` is not a `name:` mapping, as this chart wants"),
                    ))
                }
            };
            present.push(item_name);
        }
        let mut missing: Vec<&String> = Vec::new();
        for wanted in names {
            if !present.contains(&wanted.as_str()) && !missing.contains(&wanted) {
                missing.push(wanted);
            }
        }
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        let last = list.items().last();
        let render = |like: Option<&Node>, wanted: &str, flow: bool| match shape {
            Shape::Names => quoted(wanted, like.and_then(Node::scalar_style)),
            Shape::Mappings if flow => flow_item(self.style, like, wanted),
            Shape::Mappings => block_item(self.style, like, wanted).trim_start_matches("- ").to_string(),
        };
        if list.is_flow() {
            let rendered: Vec<String> = missing.iter().map(|n| render(last, n, true)).collect();
            return Ok(vec![match last {
                Some(last) => Splice::insert_at(last.span.end, format!(", {}", rendered.join(", "))),
                None => Splice::insert_at(list.span.start + 1, rendered.join(", ")),
            }]);
        }
        let last = last.expect("a block sequence has an entry");
        let indent = " ".repeat(self.style.column(list.span.start));
        let eol = self.style.eol_at(last.span.end);
        let text: String = missing.iter().map(|n| format!("{eol}{indent}- {}", render(Some(last), n, false))).collect();
        Ok(vec![Splice::insert_at(self.style.line_end(last.span.end), text)])
    }

    /// Writes `path` (and the leaf) as the value of a key that has none yet.
    fn fill_null(&self, null: &Node, key_column: usize, in_flow: bool, path: &[&str]) -> Splice {
        let quoting = Quoting::default();
        if in_flow {
            return Splice::insert_at(null.span.start, format!(" {{{}}}", self.flow_chain(path, quoting, false)));
        }
        let eol = self.style.eol_at(null.span.start);
        let text = self.block_chain(key_column + self.indent_unit, path, quoting, eol);
        Splice::insert_at(self.style.line_end(null.span.start), text)
    }

    /// Writes `path` as a new entry after the last one of `mapping`.
    fn insert_entry(&self, mapping: &Node, path: &[&str]) -> Result<Vec<Splice>, EditRefusal> {
        let quoting = self.quoting_of(mapping);
        let Some((last_key, last_value)) = mapping.entries().last() else {
            // `{}` (or `{ }`): the entry goes just inside the brace.
            let padded = self.style.slice(mapping.span.clone()).starts_with("{ ");
            let chain = self.flow_chain(path, quoting, padded);
            return Ok(vec![Splice::insert_at(
                mapping.span.start + 1,
                if padded { format!(" {chain}") } else { chain },
            )]);
        };
        if mapping.is_flow() {
            let padded = self.style.slice(mapping.span.clone()).starts_with("{ ");
            let chain = self.flow_chain(path, quoting, padded);
            let end = last_key.span.end.max(last_value.span.end);
            // `last: x,` ending its line: the new entry gets a line of its own, so no line is rewritten.
            if let Some((b',', comma)) = self.style.next_on_line(end) {
                if self.style.line_is_done_after(comma + 1) {
                    let indent = " ".repeat(self.style.key_column(last_key));
                    let eol = self.style.eol_at(comma);
                    return Ok(vec![Splice::insert_at(comma + 1, format!("{eol}{indent}{chain},"))]);
                }
            }
            return Ok(vec![Splice::insert_at(end, format!(", {chain}"))]);
        }
        if matches!(last_value.scalar_style(), Some(ScalarStyle::Literal | ScalarStyle::Folded)) {
            let header = self.style.slice(last_value.span.start..self.style.line_end(last_value.span.start));
            if header.split('#').next().unwrap_or_default().contains('+') {
                return Err(refuse(
                    last_value.span.start,
                    "the last key before the new one holds a keep-chomped block scalar (`|+`): a new line would change it".to_string(),
                ));
            }
        }
        let first_key = &mapping.entries()[0].0;
        let key_column = self.style.key_column(first_key);
        // `? key` puts the key right of the mapping's column: where new keys go is not known.
        if key_column_of_line(self.style, first_key.span.start) != key_column {
            return Err(refuse(
                first_key.span.start,
                "the mapping's first key is not at the start of its line (an explicit key?)".to_string(),
            ));
        }
        let eol = self.style.eol_at(mapping.span.end);
        let text = self.block_chain(key_column, path, quoting, eol);
        Ok(vec![Splice::insert_at(self.style.line_end(mapping.span.end), text)])
    }

    fn quoting_of(&self, mapping: &Node) -> Quoting {
        match mapping.entries().last() {
            Some(last) => {
                let quoting = EntryQuoting::of_mapping(mapping, last);
                Quoting { key: quoting.key, value: quoting.value }
            }
            None => Quoting::default(),
        }
    }

    /// `key:` lines from `column` on, one level deeper each, ending with the leaf.
    fn block_chain(&self, column: usize, path: &[&str], quoting: Quoting, eol: &str) -> String {
        let mut text = String::new();
        for (depth, key) in path.iter().enumerate() {
            let key_column = column + depth * self.indent_unit;
            text.push_str(eol);
            text.push_str(&" ".repeat(key_column));
            text.push_str(&quoted(key, quoting.key));
            text.push(':');
            if depth + 1 < path.len() {
                continue;
            }
            match self.leaf {
                Leaf::Scalar(value) => {
                    text.push(' ');
                    text.push_str(&quoted(value, quoting.value));
                }
                Leaf::List { names, shape } if self.list_style.flow => {
                    text.push(' ');
                    text.push_str(&self.flow_list(names, shape, quoting));
                }
                Leaf::List { names, shape } => {
                    let dash_column = key_column + self.list_style.dash_offset;
                    text.push_str(&self.block_list(dash_column, names, shape, quoting, eol));
                }
            }
        }
        text
    }

    /// `a: {b: {c: value}}`, without outer braces.
    fn flow_chain(&self, path: &[&str], quoting: Quoting, padded: bool) -> String {
        let leaf = match self.leaf {
            Leaf::Scalar(value) => quoted(value, quoting.value),
            Leaf::List { names, shape } => self.flow_list(names, shape, quoting),
        };
        let (open, close) = if padded { ("{ ", " }") } else { ("{", "}") };
        let mut text = leaf;
        for (depth, key) in path.iter().enumerate().rev() {
            let entry = format!("{}: {text}", quoted(key, quoting.key));
            text = if depth == 0 { entry } else { format!("{open}{entry}{close}") };
        }
        text
    }

    fn flow_list(&self, names: &[String], shape: Shape, quoting: Quoting) -> String {
        let items: Vec<String> = unique(names)
            .map(|name| match shape {
                Shape::Names => quoted(name, quoting.value),
                Shape::Mappings => format!("{{{}: {}}}", quoted("name", quoting.key), quoted(name, quoting.value)),
            })
            .collect();
        format!("[{}]", items.join(", "))
    }

    fn block_list(&self, dash_column: usize, names: &[String], shape: Shape, quoting: Quoting, eol: &str) -> String {
        let indent = " ".repeat(dash_column);
        unique(names)
            .map(|name| match shape {
                Shape::Names => format!("{eol}{indent}- {}", quoted(name, quoting.value)),
                Shape::Mappings => {
                    format!("{eol}{indent}- {}: {}", quoted("name", quoting.key), quoted(name, quoting.value))
                }
            })
            .collect()
    }
}

/// `names` without repeats, in their order.
fn unique(names: &[String]) -> impl Iterator<Item = &String> {
    names.iter().enumerate().filter(|(i, name)| !names[..*i].contains(name)).map(|(_, name)| name)
}

fn is_implicit_null(node: &Node) -> bool {
    node.is_null() && node.span.is_empty()
}

/// Why `value` cannot be written as a plain scalar that every reader takes
/// for the same string, if it cannot.
fn plain_string_problem(value: &str) -> Option<&'static str> {
    let simple = value.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "-._/@+".contains(c));
    if !simple {
        return Some(
            "cannot be written as a plain scalar (only letters, digits and `-._/@+`, starting with a letter or digit)",
        );
    }
    let as_node = Node { kind: NodeKind::Scalar { value: value.to_string(), style: ScalarStyle::Plain }, span: 0..0 };
    // Helm reads values as YAML 1.1, where these are booleans too.
    let yaml_1_1_boolean = ["y", "yes", "n", "no", "on", "off"].contains(&value.to_ascii_lowercase().as_str());
    (as_node.is_plain_non_string() || yaml_1_1_boolean).then_some("would not be read as a string")
}

/// Column of the key on the line holding `pos`, past indentation and sequence dashes.
pub(super) fn key_column_of_line(style: &TextStyle<'_>, pos: usize) -> usize {
    let bytes = style.text.as_bytes();
    let mut i = crate::yaml::line_start_of(style.text, pos);
    loop {
        while i < pos && bytes[i] == b' ' {
            i += 1;
        }
        if i + 1 < pos && bytes[i] == b'-' && matches!(bytes[i + 1], b' ' | b'\t') {
            i += 1;
            continue;
        }
        return style.column(i);
    }
}

/// The indentation step of the block mappings inside `node`: the columns
/// between a key and the first key of the block mapping it holds.
fn indent_unit_of(style: &TextStyle<'_>, node: &Node) -> Option<usize> {
    match &node.kind {
        NodeKind::Mapping { entries, flow: false } => entries.iter().find_map(|(key, value)| match &value.kind {
            NodeKind::Mapping { entries: inner, flow: false } if !inner.is_empty() => {
                let step = style.key_column(&inner[0].0).checked_sub(style.key_column(key))?;
                (step > 0).then_some(step).or_else(|| indent_unit_of(style, value))
            }
            _ => indent_unit_of(style, value),
        }),
        NodeKind::Sequence { items, .. } => items.iter().find_map(|item| indent_unit_of(style, item)),
        _ => None,
    }
}

/// The indentation step of the file, when the values show none: the first
/// line indented past a line that ends with `:` and is not a list entry; 2
/// when there is no such line.
fn indent_unit_of_text(text: &str) -> usize {
    let mut previous: Option<(usize, bool)> = None;
    for line in text.split(['\n', '\r']) {
        let content = line.trim_start_matches(' ');
        if content.trim().is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        if let Some((previous_indent, opens)) = previous {
            if opens && indent > previous_indent && !content.starts_with('-') {
                return indent - previous_indent;
            }
        }
        let code = content.split(" #").next().unwrap_or_default().trim_end();
        previous = Some((indent, code.ends_with(':') && !code.starts_with('-')));
    }
    2
}

#[cfg(test)]
#[path = "values_tests.rs"]
mod tests;
