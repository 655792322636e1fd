//! Reading an abstract render (`walk`) as YAML lines, by indentation: its
//! documents, the pod specs in them (a mapping holding `containers:`), each
//! container's `imagePullPolicy` and each pod spec's `imagePullSecrets`,
//! and a ServiceAccount's `imagePullSecrets`. The render is not YAML a
//! parser would accept (holes stand where values go, and every branch is
//! there), so it is read line by line, as Helm's own output would be.

use std::collections::BTreeSet;

use super::walk::{Hole, Origin, Piece};

/// One output line: text parts and holes, and where its first
/// non-blank part comes from.
struct Line {
    parts: Vec<Part>,
}

enum Part {
    Text(String, Origin),
    Hole(Hole),
}

/// A line seen as YAML: `indent` is the column of its first non-blank
/// part (of the dash for `- …`); `key` the mapping key written at
/// `key_col`, and `rest` the parts after its colon.
struct Info {
    blank: bool,
    indent: usize,
    dash: bool,
    key_col: usize,
    key: Option<String>,
    rest_start: (usize, usize),
    origin: Option<Origin>,
}

/// A pod spec found in a render.
pub struct PodSpec {
    pub origin: Origin,
    pub kinds: Vec<String>,
    pub containers: Vec<ContainerSpec>,
    /// The holes of its `imagePullSecrets:` value, each with whether it is
    /// printed right after `name:` (an element used as a secret's name).
    pub secrets: Vec<(Hole, bool)>,
    /// Whether the pod spec has an `imagePullSecrets:` key at all.
    pub has_secrets_key: bool,
}

pub struct ContainerSpec {
    pub origin: Origin,
    pub init: bool,
    pub name: Option<String>,
    pub policy: PolicySpec,
}

pub enum PolicySpec {
    /// The holes after `imagePullPolicy:`.
    Holes(Vec<Hole>),
    /// Written in the template as it is.
    Fixed(String, Origin),
    Absent,
    /// The item is printed whole by these holes (`- {{ toYaml … }}`).
    Whole(Vec<Hole>),
    /// Not an item: containers printed as they are from values
    /// (`{{ toYaml .Values.extraContainers | nindent 8 }}`).
    InValues(Vec<Hole>),
}

/// A ServiceAccount whose `imagePullSecrets` the chart renders.
pub struct AccountSpec {
    pub origin: Origin,
    pub secrets: Vec<(Hole, bool)>,
}

pub struct Scanned {
    pub pods: Vec<PodSpec>,
    pub accounts: Vec<AccountSpec>,
}

/// Splits the render into lines. A text piece's own newlines advance its
/// line; those `nindent` made do not.
fn lines(pieces: Vec<Piece>) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut current = Line { parts: Vec::new() };
    for piece in pieces {
        match piece {
            Piece::Hole(hole) => current.parts.push(Part::Hole(hole)),
            Piece::Text { text, origin, counts_lines } => {
                let mut line_no = origin.line;
                for (i, chunk) in text.split('\n').enumerate() {
                    if i > 0 {
                        lines.push(std::mem::replace(&mut current, Line { parts: Vec::new() }));
                        if counts_lines {
                            line_no += 1;
                        }
                    }
                    if !chunk.is_empty() {
                        let origin = Origin { template: origin.template.clone(), line: line_no };
                        current.parts.push(Part::Text(chunk.to_string(), origin));
                    }
                }
            }
        }
    }
    lines.push(current);
    lines
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

fn info(line: &Line) -> Info {
    let mut indent = 0;
    let mut dash = false;
    let mut key_col = 0;
    let mut key = None;
    let mut rest_start = (line.parts.len(), 0);
    let mut origin = None;
    // The first part with something in it decides the shape of the line.
    for (part_idx, part) in line.parts.iter().enumerate() {
        match part {
            Part::Hole(hole) => {
                origin = Some(hole.origin.clone());
                key_col = indent;
                rest_start = (part_idx, 0);
                break;
            }
            Part::Text(text, text_origin) => {
                let trimmed = text.trim_start_matches(' ');
                if trimmed.trim().is_empty() && !trimmed.starts_with('-') {
                    indent += text.len();
                    continue;
                }
                origin = Some(text_origin.clone());
                indent += text.len() - trimmed.len();
                let mut content = trimmed;
                let mut offset = text.len() - trimmed.len();
                if content == "-" || content.starts_with("- ") {
                    dash = true;
                    let after = content[1..].trim_start_matches(' ');
                    offset += content.len() - after.len();
                    content = after;
                }
                key_col = indent + (offset - (text.len() - trimmed.len()));
                let name_len = content.find(|c: char| !is_key_char(c)).unwrap_or(content.len());
                let after_name = &content[name_len..];
                if name_len > 0 && (after_name == ":" || after_name.starts_with(": ")) {
                    key = Some(content[..name_len].to_string());
                    rest_start = (part_idx, offset + name_len + 1);
                } else {
                    rest_start = (part_idx, offset);
                }
                break;
            }
        }
    }
    Info { blank: origin.is_none(), indent, dash, key_col, key, rest_start, origin }
}

/// The holes of `line` from `start` on, each with whether the text before
/// it on the line ends in `name:`.
fn holes_from(line: &Line, start: (usize, usize), out: &mut Vec<(Hole, bool)>) {
    let mut before = String::new();
    for (part_idx, part) in line.parts.iter().enumerate() {
        match part {
            Part::Text(text, _) => before.push_str(text),
            Part::Hole(hole) if part_idx >= start.0 => out.push((hole.clone(), before.trim_end().ends_with("name:"))),
            Part::Hole(_) => before.push('x'),
        }
    }
}

fn rest_text(line: &Line, start: (usize, usize)) -> String {
    let mut text = String::new();
    for part in &line.parts[start.0.min(line.parts.len())..] {
        if let Part::Text(chunk, _) = part {
            text.push_str(chunk);
        }
    }
    let skip = if start.0 < line.parts.len() { start.1 } else { 0 };
    text.get(skip..).unwrap_or("").trim().to_string()
}

/// The rest of a line as written, each hole as its action (`{{ .Chart.Name }}-backend`).
fn rest_written(line: &Line, start: (usize, usize)) -> String {
    let mut text = String::new();
    for (part_idx, part) in line.parts.iter().enumerate().skip(start.0) {
        match part {
            Part::Text(chunk, _) if part_idx == start.0 => text.push_str(chunk.get(start.1..).unwrap_or("")),
            Part::Text(chunk, _) => text.push_str(chunk),
            Part::Hole(hole) => {
                let action = hole.source.trim_start_matches("{{").trim_end_matches("}}");
                let action = action.trim_start_matches('-').trim_end_matches('-').trim();
                text.push_str(&format!("{{{{ {action} }}}}"));
            }
        }
    }
    text.trim().to_string()
}

/// Lines after `at` that belong to the value of the key at column `col`:
/// deeper ones, and `- ` items at the same column.
fn value_lines(infos: &[Info], at: usize, col: usize) -> std::ops::Range<usize> {
    let mut end = at + 1;
    while end < infos.len() {
        let info = &infos[end];
        if info.blank || info.indent > col || (info.indent == col && info.dash) {
            end += 1;
        } else {
            break;
        }
    }
    // Trailing blank lines belong to what follows.
    while end > at + 1 && infos[end - 1].blank {
        end -= 1;
    }
    at + 1..end
}

pub fn scan(pieces: Vec<Piece>) -> Scanned {
    let all = lines(pieces);
    let mut scanned = Scanned { pods: Vec::new(), accounts: Vec::new() };
    let mut documents: Vec<Vec<Line>> = vec![Vec::new()];
    for line in all {
        let is_separator = line.parts.iter().all(|p| matches!(p, Part::Text(..)))
            && line
                .parts
                .iter()
                .map(|p| if let Part::Text(t, _) = p { t.as_str() } else { "" })
                .collect::<String>()
                .trim()
                == "---";
        if is_separator {
            documents.push(Vec::new());
        } else if let Some(document) = documents.last_mut() {
            document.push(line);
        }
    }
    for document in &documents {
        scan_document(document, &mut scanned);
    }
    scanned
}

fn scan_document(lines: &[Line], scanned: &mut Scanned) {
    let infos: Vec<Info> = lines.iter().map(info).collect();
    let mut kinds: Vec<String> = Vec::new();
    for (info, line) in infos.iter().zip(lines) {
        if info.indent == 0 && !info.dash && info.key.as_deref() == Some("kind") {
            let kind = rest_written(line, info.rest_start);
            if !kind.is_empty() && !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
    }
    if kinds.iter().any(|kind| kind == "ServiceAccount") {
        for (i, info) in infos.iter().enumerate() {
            if info.indent == 0 && !info.dash && info.key.as_deref() == Some("imagePullSecrets") {
                let mut secrets = Vec::new();
                holes_from(&lines[i], info.rest_start, &mut secrets);
                for j in value_lines(&infos, i, 0) {
                    holes_from(&lines[j], (0, 0), &mut secrets);
                }
                let origin = info.origin.clone().expect("a key line is not blank");
                scanned.accounts.push(AccountSpec { origin, secrets });
            }
        }
        return;
    }
    let mut seen_regions = BTreeSet::new();
    for (i, info) in infos.iter().enumerate() {
        let is_containers = matches!(info.key.as_deref(), Some("containers" | "initContainers"));
        if !is_containers || info.dash {
            continue;
        }
        let col = info.indent;
        let mut start = i;
        while start > 0 && (infos[start - 1].blank || infos[start - 1].indent >= col) {
            start -= 1;
        }
        if !seen_regions.insert(start) {
            continue;
        }
        let mut end = i + 1;
        while end < infos.len() && (infos[end].blank || infos[end].indent >= col) {
            end += 1;
        }
        let mut pod = PodSpec {
            origin: info.origin.clone().expect("a key line is not blank"),
            kinds: kinds.clone(),
            containers: Vec::new(),
            secrets: Vec::new(),
            has_secrets_key: false,
        };
        for j in start..end {
            let sibling = &infos[j];
            if sibling.blank || sibling.dash || sibling.indent != col {
                continue;
            }
            match sibling.key.as_deref() {
                Some(key @ ("containers" | "initContainers")) => {
                    containers(lines, &infos, j, key == "initContainers", &mut pod.containers)
                }
                Some("imagePullSecrets") => {
                    pod.has_secrets_key = true;
                    holes_from(&lines[j], sibling.rest_start, &mut pod.secrets);
                    for k in value_lines(&infos, j, col) {
                        holes_from(&lines[k], (0, 0), &mut pod.secrets);
                    }
                }
                _ => {}
            }
        }
        scanned.pods.push(pod);
    }
}

/// The containers listed under the key at line `at`.
fn containers(lines: &[Line], infos: &[Info], at: usize, init: bool, out: &mut Vec<ContainerSpec>) {
    let range = value_lines(infos, at, infos[at].indent);
    let item_col = range.clone().filter(|j| infos[*j].dash).map(|j| infos[j].indent).min();
    let starts: Vec<usize> = range.clone().filter(|j| infos[*j].dash && Some(infos[*j].indent) == item_col).collect();
    let mut items = Vec::new();
    for (n, &first) in starts.iter().enumerate() {
        let mut end = starts.get(n + 1).copied().unwrap_or(range.end);
        // Lines at the item's column that are not items (`{{ toYaml .Values.extraContainers }}`) end it.
        if let Some(stop) = (first + 1..end).find(|j| !infos[*j].blank && Some(infos[*j].indent) <= item_col) {
            end = stop;
        }
        items.push(first..end);
    }
    // Holes outside every item print containers given whole in values.
    let mut from_values: Vec<ContainerSpec> = Vec::new();
    for j in range.clone() {
        let info = &infos[j];
        if info.blank || info.key.is_some() || items.iter().any(|item| item.contains(&j)) {
            continue;
        }
        let mut holes = Vec::new();
        holes_from(&lines[j], info.rest_start, &mut holes);
        if holes.is_empty() {
            continue;
        }
        let origin = info.origin.clone().expect("a line with a hole is not blank");
        let holes = holes.into_iter().map(|(hole, _)| hole).collect();
        from_values.push(ContainerSpec { origin, init, name: None, policy: PolicySpec::InValues(holes) });
    }
    for item in items {
        let (first, end) = (item.start, item.end);
        let head = &infos[first];
        let mut head_holes = Vec::new();
        holes_from(&lines[first], head.rest_start, &mut head_holes);
        let bare_dash =
            head.key.is_none() && head_holes.is_empty() && rest_text(&lines[first], head.rest_start).is_empty();
        let key_col = if bare_dash {
            (first + 1..end).find(|j| !infos[*j].blank).map(|j| infos[j].indent).unwrap_or(head.key_col)
        } else {
            head.key_col
        };
        let mut name = None;
        let mut policy = PolicySpec::Absent;
        let mut has_keys = false;
        let mut whole = Vec::new();
        for j in first..end {
            let info = &infos[j];
            let at_item_level = j == first || (!info.dash && info.indent == key_col);
            if info.blank || !at_item_level {
                continue;
            }
            let Some(key) = info.key.as_deref() else {
                let mut holes = Vec::new();
                holes_from(&lines[j], info.rest_start, &mut holes);
                whole.extend(holes.into_iter().map(|(hole, _)| hole));
                continue;
            };
            has_keys = true;
            match key {
                "name" => name = Some(rest_written(&lines[j], info.rest_start)),
                "imagePullPolicy" => {
                    let mut holes = Vec::new();
                    holes_from(&lines[j], info.rest_start, &mut holes);
                    // Branches may each write the key: values-fed ones are
                    // merged, and win over a fixed one.
                    let holes: Vec<Hole> = holes.into_iter().map(|(hole, _)| hole).collect();
                    policy = match (policy, holes.is_empty()) {
                        (PolicySpec::Holes(mut before), _) => {
                            before.extend(holes);
                            PolicySpec::Holes(before)
                        }
                        (_, false) => PolicySpec::Holes(holes),
                        (before @ PolicySpec::Fixed(..), true) => before,
                        (_, true) => {
                            let origin = info.origin.clone().expect("a key line is not blank");
                            PolicySpec::Fixed(rest_text(&lines[j], info.rest_start), origin)
                        }
                    };
                }
                _ => {}
            }
        }
        if !has_keys {
            policy = PolicySpec::Whole(whole);
        }
        let origin = head.origin.clone().expect("an item line is not blank");
        out.push(ContainerSpec { origin, init, name, policy });
    }
    out.extend(from_values);
}
