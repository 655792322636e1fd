//! Where a manifest's text holds credential values, so that no output of
//! pullsmith (diffs, and through them the job summary and the pull-request
//! comment of the GitHub Action) ever shows one.
//!
//! What counts as a credential value, by decision:
//! - `Secret`: every value of `data` and `stringData`, and the
//!   `kubectl.kubernetes.io/last-applied-configuration` annotation (which
//!   repeats them);
//! - `SealedSecret`: every value of `spec.encryptedData` and of
//!   `spec.template.data`;
//! - a kustomization's `secretGenerator` `literals` (what follows `=`);
//! - anywhere, the `value` of a `name`/`value` pair (an environment
//!   variable) whose name says it is a credential: it holds `PASSWORD`,
//!   `PASSWD`, `SECRET`, `TOKEN`, `CREDENTIAL`, `APIKEY`/`API_KEY`,
//!   `PRIVATE_KEY` or `ACCESS_KEY`, in any case.
//!
//! ConfigMaps, Helm values and other free text are not searched: a name
//! that merely looks secret elsewhere would only cost diff context.
//!
//! It only reads: the ranges it returns are byte ranges of the text given.

use std::ops::Range;

use crate::yaml::{self, Node, NodeKind};

/// What a masked value is shown as.
pub const REDACTED: &str = "<redacted>";

/// The byte ranges of `text` that hold credential values, sorted and
/// disjoint. `None` when the text is not YAML pullsmith can parse (callers
/// then show no line of it but the changed ones).
pub fn credential_ranges(text: &str) -> Option<Vec<Range<usize>>> {
    if !mentions_credentials(text) {
        return Some(Vec::new());
    }
    let documents = yaml::parse(text).ok()?;
    let mut ranges = Vec::new();
    for document in &documents {
        collect(text, &document.root, &mut ranges);
    }
    ranges.retain(|range| !range.is_empty());
    ranges.sort_by_key(|range| (range.start, range.end));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    Some(merged)
}

/// A cheap look before parsing: a text with none of these words holds none
/// of the values above.
fn mentions_credentials(text: &str) -> bool {
    const WORDS: [&[u8]; 7] = [b"secret", b"passw", b"token", b"credential", b"apikey", b"api_key", b"_key"];
    let lower = text.as_bytes().to_ascii_lowercase();
    WORDS.iter().any(|word| lower.windows(word.len()).any(|window| window == *word))
}

fn collect(text: &str, node: &Node, out: &mut Vec<Range<usize>>) {
    match &node.kind {
        NodeKind::Mapping { entries, .. } => {
            match node.get("kind").and_then(Node::as_str) {
                Some("Secret") => {
                    for key in ["data", "stringData"] {
                        values_of(node.get(key), out);
                    }
                    let annotations = node.get("metadata").and_then(|m| m.get("annotations"));
                    if let Some(applied) =
                        annotations.and_then(|a| a.get("kubectl.kubernetes.io/last-applied-configuration"))
                    {
                        out.push(applied.span.clone());
                    }
                }
                Some("SealedSecret") => {
                    let spec = node.get("spec");
                    values_of(spec.and_then(|s| s.get("encryptedData")), out);
                    values_of(spec.and_then(|s| s.get("template")).and_then(|t| t.get("data")), out);
                }
                _ => {}
            }
            for generator in node.get("secretGenerator").map(Node::items).unwrap_or_default() {
                for literal in generator.get("literals").map(Node::items).unwrap_or_default() {
                    out.push(literal_value(text, literal));
                }
            }
            if let (Some(name), Some(value)) = (node.get("name").and_then(Node::as_str), node.get("value")) {
                if is_credential_name(name) {
                    out.push(value.span.clone());
                }
            }
            for (_, value) in entries {
                collect(text, value, out);
            }
        }
        NodeKind::Sequence { items, .. } => {
            for item in items {
                collect(text, item, out);
            }
        }
        NodeKind::Scalar { .. } | NodeKind::Alias => {}
    }
}

/// Every value of a mapping (`data:`), or the whole node when it is not one.
fn values_of(node: Option<&Node>, out: &mut Vec<Range<usize>>) {
    let Some(node) = node else { return };
    match &node.kind {
        NodeKind::Mapping { entries, .. } => out.extend(entries.iter().map(|(_, value)| value.span.clone())),
        _ => out.push(node.span.clone()),
    }
}

/// A `secretGenerator` literal `KEY=value`: the part after `=` (the key is
/// kept, as for `data`), a closing quote left out.
fn literal_value(text: &str, literal: &Node) -> Range<usize> {
    let span = literal.span.clone();
    let raw = text.get(span.clone()).unwrap_or_default();
    let Some(equals) = raw.find('=') else { return span };
    let quoted =
        raw.len() > 1 && (raw.starts_with('"') && raw.ends_with('"') || raw.starts_with('\'') && raw.ends_with('\''));
    span.start + equals + 1..span.end - usize::from(quoted)
}

fn is_credential_name(name: &str) -> bool {
    const WORDS: [&str; 9] =
        ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "APIKEY", "API_KEY", "PRIVATE_KEY", "ACCESS_KEY"];
    let upper = name.to_ascii_uppercase().replace('-', "_");
    WORDS.iter().any(|word| upper.contains(word))
}

/// `line` (one line of the text, from byte `line_start`) with the parts that
/// `ranges` cover replaced by `<redacted>`; indentation and the line break
/// are kept. `ranges` are sorted and disjoint.
pub fn mask_line(line: &str, line_start: usize, ranges: &[Range<usize>]) -> String {
    let body_len = line.trim_end_matches(['\n', '\r']).len();
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    for range in ranges {
        let start = range.start.saturating_sub(line_start).min(body_len);
        let end = range.end.saturating_sub(line_start).min(body_len);
        // A value continued on this line (a block scalar): its indentation stays.
        let start = start + line[start..end].len() - line[start..end].trim_start_matches([' ', '\t']).len();
        if start >= end || start < copied {
            continue;
        }
        out.push_str(&line[copied..start]);
        out.push_str(REDACTED);
        copied = end;
    }
    out.push_str(&line[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> Vec<&str> {
        credential_ranges(text).expect("parses").iter().map(|range| &text[range.clone()]).collect()
    }

    #[test]
    fn finds_secret_values_and_keeps_keys() {
        let text = "kind: Secret\ndata:\n  a: QUFB\n  b: \"QkJC\"\nstringData: {c: CCC}\n---\nkind: ConfigMap\ndata:\n  d: DDD\n";
        assert_eq!(masked(text), ["QUFB", "\"QkJC\"", "CCC"]);
    }

    #[test]
    fn finds_block_scalars_sealed_secrets_literals_and_env() {
        let text = "kind: Secret\nstringData:\n  key: |\n    line1\n    line2\nmetadata: {}\n";
        let ranges = credential_ranges(text).expect("parses");
        assert!(ranges.iter().any(|r| text[r.clone()].contains("line1") && text[r.clone()].contains("line2")));
        let sealed = "kind: SealedSecret\nspec:\n  encryptedData:\n    x: AgBy\n";
        assert_eq!(masked(sealed), ["AgBy"]);
        let kustomization =
            "secretGenerator:\n  - name: db\n    literals:\n      - password=hunter2\n      - \"user=me\"\n";
        assert_eq!(masked(kustomization), ["hunter2", "me"]);
        let env = "env:\n  - name: DB_PASSWORD\n    value: hunter2\n  - name: MODE\n    value: fast\n";
        assert_eq!(masked(env), ["hunter2"]);
    }

    #[test]
    fn masks_within_a_line() {
        let line = "  data: {a: QUFB, b: QkJC}\n";
        let ranges = [12..16, 21..25];
        assert_eq!(mask_line(line, 0, &ranges), "  data: {a: <redacted>, b: <redacted>}\n");
        let block = [30..60, 70..80];
        assert_eq!(mask_line("    line2\n", 40, &block), "    <redacted>\n");
    }
}
