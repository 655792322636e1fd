//! The last line of defence for "the text is sacred": after a file is
//! edited, its new text is parsed again and compared with the original.
//! Outside the mappings that were meant to change (containers, pod specs,
//! ServiceAccounts), and outside `imagePullPolicy` and `imagePullSecrets`
//! inside them, the data must be identical, scalar styles included.
//!
//! The comparison is of what Kubernetes reads: an alias is compared as the
//! node it repeats, and a mapping as its entries with merge keys (`<<`)
//! resolved. So an edit of an anchored value shows wherever it is repeated
//! (`value: *p` in an env var changes with `imagePullPolicy: &p …`). Inside
//! a repeated node only what the plan declared may differ: an alias whose
//! own position is in `touched` (an aliased container, `- *c`), never a
//! value a mapping merges.
//!
//! `invariant` is the whole promise of a rewrite in one call: the output
//! parses, its data differ only where intended, and it is the input with
//! exactly its splices applied (and, when asked, a second run changes
//! nothing). Its `Violation` names the part broken and the byte where.
//!
//! It does no IO.

use crate::edit::{self, Splice};
use crate::manifest::Aliases;
use crate::yaml::{self, Document, Node, NodeKind};

/// What a rewrite was meant to do, for [`invariant`].
pub struct Intended<'a> {
    /// The input, parsed (the caller has it already: parsing it again would slow a run).
    pub documents: &'a [Document],
    /// Which data may differ.
    pub fields: IntendedFields<'a>,
    /// The splices that made the output, as ranges of the input.
    pub splices: &'a [Splice],
    /// The splices a second run would make on the output. `None` skips part
    /// (d): it needs a second plan, which the run does not pay for.
    pub replan: Option<&'a Replan<'a>>,
}

/// The splices a second run would make on a text.
pub type Replan<'a> = dyn Fn(&str) -> Vec<Splice> + 'a;

/// Which data of the input a rewrite may change.
#[derive(Debug, Clone, Copy)]
pub enum IntendedFields<'a> {
    /// `imagePullPolicy` and `imagePullSecrets` of the mappings (containers,
    /// pod specs, ServiceAccounts) that start at these offsets of the input
    /// (`FilePlan::touched`).
    PullFields { touched: &'a [usize] },
    /// A Helm values edit: the values at these key paths (a document's index
    /// and the keys from its root), as [`only_paths_changed`] reads them.
    ValuesPaths { paths: &'a [(usize, Vec<String>)] },
}

/// Which part of the [`invariant`] a rewrite breaks, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// (a) The output is not YAML; `offset` is where the parser stopped, in the output.
    #[error("the output does not parse at byte {offset} of the output: {message}")]
    Unparsable { offset: usize, message: String },
    /// (b) The output's data differ from the input's beyond the intended
    /// fields; `offset` is the start of the differing node in the input.
    #[error("data changed beyond the intended fields at byte {offset} of the input: {message}")]
    DataChanged { offset: usize, message: String },
    /// (c) The splices are not sorted and disjoint, or one does not fit the
    /// input; `offset` is that splice's start in the input.
    #[error("the splices are not sorted, disjoint ranges of the input at byte {offset} of the input")]
    BadSplices { offset: usize },
    /// (c) The output is not the input with exactly the splices applied;
    /// `offset` is the first differing byte of the output.
    #[error("the output is not the input with its splices applied, from byte {offset} of the output")]
    TextOutsideSplices { offset: usize },
    /// (d) A second run would change the output; `offset` is where its first
    /// splice starts, in the output.
    #[error("a second run would make {count} more splices, the first at byte {offset} of the output")]
    NotIdempotent { offset: usize, count: usize },
}

impl Violation {
    /// The wording the older checks return (no offset: their callers name the file).
    fn into_message(self) -> String {
        match self {
            Violation::Unparsable { message, .. } | Violation::DataChanged { message, .. } => message,
            other => other.to_string(),
        }
    }
}

/// The invariant of every rewrite, checked part by part:
/// (a) the output parses;
/// (b) its data equal the input's except the intended fields
///     ([`only_intended_fields_changed`] or [`only_paths_changed`]);
/// (c) the splices are sorted, disjoint ranges of the input, and the output
///     is exactly the input with them applied, so every byte outside them is
///     kept, in order;
/// (d) when `intended.replan` is given, a second run on the output makes no splice.
///
/// Part (c) is checked first: it is the cheapest, and a text the splices do
/// not explain would make any difference of data found later beside the point.
///
/// The run's post-edit check (`pipeline`) calls it without `replan`, so
/// with (a) to (c) only: idempotence needs a second plan of every file,
/// which would double the planning time. The property tests check (d).
pub fn invariant(input: &str, output: &str, intended: &Intended<'_>) -> Result<(), Violation> {
    splices_make(input, output, intended.splices)?;
    match intended.fields {
        IntendedFields::PullFields { touched } => fields_compared(intended.documents, input, output, touched)?,
        IntendedFields::ValuesPaths { paths } => paths_compared(intended.documents, input, output, paths)?,
    }
    if let Some(replan) = intended.replan {
        let again = replan(output);
        if let Some(first) = again.iter().map(|s| s.range.start).min() {
            return Err(Violation::NotIdempotent { offset: first, count: again.len() });
        }
    }
    Ok(())
}

/// Part (c): `output` is `input` with exactly `splices` applied.
fn splices_make(input: &str, output: &str, splices: &[Splice]) -> Result<(), Violation> {
    let mut previous_end = 0;
    for splice in splices {
        let range = &splice.range;
        let fits = previous_end <= range.start
            && range.start <= range.end
            && range.end <= input.len()
            && input.is_char_boundary(range.start)
            && input.is_char_boundary(range.end);
        if !fits {
            return Err(Violation::BadSplices { offset: range.start });
        }
        previous_end = range.end;
    }
    let expected = edit::apply(input, splices);
    if expected != output {
        let offset =
            expected.bytes().zip(output.bytes()).position(|(a, b)| a != b).unwrap_or(expected.len().min(output.len()));
        return Err(Violation::TextOutsideSplices { offset });
    }
    Ok(())
}

/// Checks that `new_text` differs from the original `documents` (parsed from
/// `original`) only in the two fields pullsmith writes. Returns what went
/// wrong otherwise.
pub fn only_intended_fields_changed(
    documents: &[Document],
    original: &str,
    new_text: &str,
    touched: &[usize],
) -> Result<(), String> {
    fields_compared(documents, original, new_text, touched).map_err(Violation::into_message)
}

/// Parts (a) and (b) for pull fields.
fn fields_compared(documents: &[Document], original: &str, new_text: &str, touched: &[usize]) -> Result<(), Violation> {
    fields_compared_reparsing(documents, original, new_text, touched, Reparse::ChangedSections)
}

/// How much of a rewrite the check parses again.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reparse {
    /// The sections that changed, when that reads as the whole (`reparse_changed_sections`).
    ChangedSections,
    /// The whole text (a kustomization's check; what the tests compare the above with).
    Whole,
}

fn fields_compared_reparsing(
    documents: &[Document],
    original: &str,
    new_text: &str,
    touched: &[usize],
    how: Reparse,
) -> Result<(), Violation> {
    let mut touched = touched.to_vec();
    touched.sort_unstable();
    let new_documents = reparse(documents, original, new_text, how)?;
    let old_aliases =
        Aliases::of(original, documents).map_err(|message| Violation::DataChanged { offset: 0, message })?;
    let new_aliases =
        Aliases::of(new_text, &new_documents).map_err(|message| Violation::DataChanged { offset: 0, message })?;
    let sides = Sides { old: &old_aliases, new: &new_aliases };
    for (index, (old, new)) in documents.iter().zip(&new_documents).enumerate() {
        if let Some(alike) = skipped_alike(old, new, original, new_text) {
            alike?;
            continue;
        }
        let mut path = Vec::new();
        same(&old.root, &new.root, &mut path, Allowed { touched: &touched, keys: &WRITTEN_KEYS }, &sides, 0).map_err(
            |difference| {
                let at: Vec<String> = path.iter().map(ToString::to_string).collect();
                let message = format!("{difference} at document {}/{}", index + 1, at.join("/"));
                Violation::DataChanged { offset: difference.offset, message }
            },
        )?;
    }
    Ok(())
}

/// The rewrite parsed, with as many documents as the original.
fn reparse(
    original: &[Document],
    original_text: &str,
    new_text: &str,
    how: Reparse,
) -> Result<Vec<Document>, Violation> {
    if how == Reparse::ChangedSections {
        if let Some(documents) = reparse_changed_sections(original, original_text, new_text) {
            return Ok(documents);
        }
    }
    // Documents the first parse did not build (`yaml::parse_skipping`) are
    // not built here either when their text is there unchanged: `skipped_alike`
    // then checks that they stand at the same place among the documents.
    let skipped: Vec<&str> =
        original.iter().filter(|d| d.skipped).filter_map(|d| original_text.get(d.root.span.clone())).collect();
    let parsed = if skipped.is_empty() {
        yaml::parse(new_text)
    } else {
        yaml::parse_skipping(new_text, &|section: &str| !skipped.contains(&section))
    };
    let new_documents = parsed.map_err(|err| Violation::Unparsable {
        offset: err.offset,
        message: format!("the rewrite does not parse: {err}"),
    })?;
    if new_documents.len() != original.len() {
        // Where the first document without a counterpart starts, in the input.
        let offset = original.get(new_documents.len()).map_or(original_text.len(), |d| d.root.span.start);
        let message = format!("the rewrite has {} documents instead of {}", new_documents.len(), original.len());
        return Err(Violation::DataChanged { offset, message });
    }
    Ok(new_documents)
}

/// The rewrite's documents when only the sections of its text that differ
/// from the original's need parsing (issue 16: a large multi-document file
/// with one Deployment changed is not parsed again whole). The rest stand
/// as placeholders ([`Document::skipped`]) spanning the original
/// document's text where it now is, for `skipped_alike` to compare.
///
/// Sound because each section is parsed on its own exactly as in the whole
/// text (see `yaml::parse_section`) when: neither text holds a directive;
/// both have the same number of sections (a splice never writes a marker
/// line); and every original document lies within one section, each
/// section holding at most one, so the first parse took every marker line
/// as one. An unchanged section then reads as it did, and a changed one,
/// which must parse alone into as many documents as it held, reads alone
/// as it does in the rewrite: the parser starts each section afresh. When
/// any of that does not hold, or a changed section does not parse alone,
/// `None`: the whole rewrite is parsed, and gives the verdict.
fn reparse_changed_sections(original: &[Document], original_text: &str, new_text: &str) -> Option<Vec<Document>> {
    if yaml::may_hold_directives(original_text) || yaml::may_hold_directives(new_text) {
        return None;
    }
    let old_sections = yaml::document_sections(original_text);
    let new_sections = yaml::document_sections(new_text);
    if old_sections.len() < 2 || old_sections.len() != new_sections.len() {
        return None;
    }
    // The original document each section holds.
    let mut held: Vec<Option<&Document>> = vec![None; old_sections.len()];
    for document in original {
        let span = &document.root.span;
        let index = old_sections.partition_point(|section| section.start <= span.start).checked_sub(1)?;
        let section = &old_sections[index];
        if span.is_empty() || span.end > section.end || held[index].is_some() {
            return None;
        }
        held[index] = Some(document);
    }
    let mut documents = Vec::with_capacity(original.len());
    for ((old_section, new_section), held) in old_sections.iter().zip(&new_sections).zip(held) {
        if original_text[old_section.clone()] == new_text[new_section.clone()] {
            if let Some(document) = held {
                // Where the document's root now is: as far into its section as it was.
                let now = |offset: usize| offset - old_section.start + new_section.start;
                documents.push(Document::placeholder(now(document.root.span.start)..now(document.root.span.end)));
            }
            continue;
        }
        let parsed = yaml::parse_section(new_text, new_section.clone()).ok()?;
        if parsed.len() != usize::from(held.is_some()) {
            return None;
        }
        documents.extend(parsed);
    }
    Some(documents)
}

/// For two documents at the same place, when either was not built: that
/// both were not, with the same text (their data are then the same).
/// `None` when both were built, to be compared.
fn skipped_alike(old: &Document, new: &Document, original: &str, new_text: &str) -> Option<Result<(), Violation>> {
    if !old.skipped && !new.skipped {
        return None;
    }
    // The same text, a whole document's (or, for one that was built, its
    // root's, which `reparse_changed_sections` placed where it now is),
    // reads as the same data.
    let alike = new.skipped && original.get(old.root.span.clone()) == new_text.get(new.root.span.clone());
    Some(if alike {
        Ok(())
    } else {
        let message = "a document that was not built for the check is not where it was, or changed".to_string();
        Err(Violation::DataChanged { offset: old.root.span.start, message })
    })
}

/// The aliases of the original and of the rewrite.
struct Sides<'o, 'n> {
    old: &'o Aliases<'o>,
    new: &'n Aliases<'n>,
}

/// Deeper than this, a comparison through aliases is given up (an alias
/// inside the node it repeats, `&a [*a]`, would never end).
const MAX_COMPARE_DEPTH: usize = 1_000;

const WRITTEN_KEYS: [&str; 2] = ["imagePullPolicy", "imagePullSecrets"];

/// What differs, and where it starts in the original text.
#[derive(Debug, Clone, Copy)]
struct Difference {
    problem: &'static str,
    offset: usize,
}

impl Difference {
    fn at(old: &Node, problem: &'static str) -> Difference {
        Difference { problem, offset: old.span.start }
    }
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.problem)
    }
}

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
/// Which mappings may differ (by original offset) and in which keys.
#[derive(Clone, Copy)]
struct Allowed<'k> {
    touched: &'k [usize],
    keys: &'k [&'k str],
}

/// Nothing may differ.
const STRICT: Allowed<'static> = Allowed { touched: &[], keys: &[] };

fn same<'a>(
    old: &'a Node,
    new: &Node,
    path: &mut Vec<Step<'a>>,
    touched: Allowed<'_>,
    sides: &Sides<'a, '_>,
    depth: usize,
) -> Result<(), Difference> {
    if depth > MAX_COMPARE_DEPTH {
        return Err(Difference::at(old, "aliases nest too deep to compare"));
    }
    let (old_alias, new_alias) = (old.kind == NodeKind::Alias, new.kind == NodeKind::Alias);
    if old_alias || new_alias {
        let (old_target, new_target) = (sides.old.resolve(old), sides.new.resolve(new));
        if old_target.kind == NodeKind::Alias && new_target.kind == NodeKind::Alias {
            // Neither side's anchors are known (a kustomization's check): as written.
            return Ok(());
        }
        // A repeated node may differ only where the plan said so, by the alias's own position.
        let inner = if old_alias && touched.touched.binary_search(&old.span.start).is_ok() { touched } else { STRICT };
        return same(old_target, new_target, path, inner, sides, depth + 1);
    }
    match (&old.kind, &new.kind) {
        (NodeKind::Scalar { value: a, style: sa }, NodeKind::Scalar { value: b, style: sb }) if a == b && sa == sb => {
            Ok(())
        }
        (NodeKind::Sequence { items: a, .. }, NodeKind::Sequence { items: b, .. }) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                path.push(Step::Index(i));
                same(x, y, path, touched, sides, depth + 1)?;
                path.pop();
            }
            Ok(())
        }
        (NodeKind::Mapping { entries: own_a, .. }, NodeKind::Mapping { entries: own_b, .. }) => {
            // Only the mappings the plan touched may gain or change the two keys.
            let may_differ = touched.touched.binary_search(&old.span.start).is_ok();
            let a = sides.old.effective_entries(old);
            let b = sides.new.effective_entries(new);
            // Entries a mapping merges come after its own; a merged value is never the plan's to change.
            let own =
                |entries: &[(Node, Node)]| entries.iter().filter(|(k, _)| !crate::manifest::is_merge_key(k)).count();
            let (own_a, own_b) = (own(own_a), own(own_b));
            let kept = |(_, (key, _)): &(usize, &&(Node, Node))| {
                !(may_differ && key.as_str().is_some_and(|k| touched.keys.contains(&k)))
            };
            let mut a_kept = a.iter().enumerate().filter(kept);
            let mut b_kept = b.iter().enumerate().filter(kept);
            loop {
                match (a_kept.next(), b_kept.next()) {
                    (None, None) => break,
                    (Some((ia, (ka, va))), Some((ib, (kb, vb)))) => {
                        let allowed = if ia < own_a && ib < own_b { touched } else { STRICT };
                        same(ka, kb, path, STRICT, sides, depth + 1)?;
                        path.push(Step::Key(ka.as_str().unwrap_or("?")));
                        same(va, vb, path, allowed, sides, depth + 1)?;
                        path.pop();
                    }
                    _ => return Err(Difference::at(old, "keys changed")),
                }
            }
            if may_differ && touched.keys.contains(&"imagePullSecrets") {
                secrets_extended(&a, &b, sides, depth).map_err(|problem| Difference::at(old, problem))?;
            }
            if may_differ && touched.keys.contains(&"imagePullPolicy") {
                policy_written(&a, &b, sides, depth).map_err(|problem| Difference::at(old, problem))?;
            }
            Ok(())
        }
        _ => Err(Difference::at(old, "value changed")),
    }
}

/// The original pull secrets must stay, in order, at the front of the list.
fn secrets_extended<'a>(
    old: &[&'a (Node, Node)],
    new: &[&(Node, Node)],
    sides: &Sides<'a, '_>,
    depth: usize,
) -> Result<(), &'static str> {
    let old_list = old.iter().find(|(k, _)| k.as_str() == Some("imagePullSecrets")).map(|(_, v)| sides.old.resolve(v));
    let new_list = new.iter().find(|(k, _)| k.as_str() == Some("imagePullSecrets")).map(|(_, v)| v);
    let (Some(old_list), Some(new_list)) = (old_list, new_list) else {
        return Ok(());
    };
    let new_list = sides.new.resolve(new_list);
    let (a, b) = (old_list.items(), new_list.items());
    let kept = b.len() >= a.len()
        && a.iter().zip(b).all(|(x, y)| same(x, y, &mut Vec::new(), STRICT, sides, depth + 1).is_ok());
    if !kept {
        return Err("existing imagePullSecrets changed");
    }
    // What is added is `name: <a string>`, read back as a string (not `42`, not `y`).
    let named = |item: &Node| {
        let item = sides.new.resolve(item);
        item.entries().len() == 1
            && item.get("name").is_some_and(|name| name.as_str().is_some() && !reads_as_non_string(name))
    };
    if b[a.len()..].iter().all(named) {
        Ok(())
    } else {
        Err("an added imagePullSecrets entry is not `name:` and a string")
    }
}

/// A policy that differs from the original must be one of Kubernetes'
/// three, read as a string: a splice that missed its span (`Alwayss`)
/// fails here rather than in the cluster.
fn policy_written<'a>(
    old: &[&'a (Node, Node)],
    new: &[&(Node, Node)],
    sides: &Sides<'a, '_>,
    depth: usize,
) -> Result<(), &'static str> {
    // By reference: aliases resolve by the node's address.
    fn find<'n>(entries: &[&'n (Node, Node)]) -> Option<&'n Node> {
        entries.iter().find(|(k, _)| k.as_str() == Some("imagePullPolicy")).map(|(_, v)| v)
    }
    let Some(policy) = find(new) else { return Ok(()) };
    let policy = sides.new.resolve(policy);
    let unchanged = find(old).is_some_and(|before| {
        same(sides.old.resolve(before), policy, &mut Vec::new(), STRICT, sides, depth + 1).is_ok()
    });
    let valid = policy.as_str().and_then(crate::rules::Policy::parse).is_some() && !reads_as_non_string(policy);
    if unchanged || valid {
        Ok(())
    } else {
        Err("a written imagePullPolicy is not Always, IfNotPresent or Never")
    }
}

/// A plain scalar that YAML 1.1 or 1.2 readers take for a number, a boolean or a null.
fn reads_as_non_string(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Scalar { value, style: crate::yaml::ScalarStyle::Plain } => {
            !crate::edit::plain_reads_as_string(value)
        }
        _ => false,
    }
}

/// Checks that a kustomization's new text differs from the original only in
/// the first document's root mapping's `key` (the `patches:` list pullsmith
/// maintains). Documents after the first (kustomize reads only the first;
/// a trailing `---` makes an empty one) must be kept as they are.
pub fn only_root_key_changed(original: &[Document], new_text: &str, key: &str) -> Result<(), String> {
    let new_documents = reparse(original, "", new_text, Reparse::Whole).map_err(Violation::into_message)?;
    let (old_aliases, new_aliases) = (Aliases::default(), Aliases::default());
    let sides = Sides { old: &old_aliases, new: &new_aliases };
    for (index, (old, new)) in original.iter().zip(&new_documents).enumerate() {
        let allowed = if index == 0 {
            Allowed { touched: std::slice::from_ref(&old.root.span.start), keys: &[key] }
        } else {
            Allowed { touched: &[], keys: &[] }
        };
        let mut path = Vec::new();
        same(&old.root, &new.root, &mut path, allowed, &sides, 0).map_err(|problem| {
            let at: Vec<String> = path.iter().map(ToString::to_string).collect();
            format!("{problem} at document {}/{}", index + 1, at.join("/"))
        })?;
    }
    Ok(())
}

/// Checks that `new_text` differs from the original `documents` only at the
/// given key paths (a document's index and the keys from its root; a
/// number steps into a sequence): a value there may change or be created,
/// together with the mappings that lead to it, and nothing else. A list
/// that is changed must keep its entries, in order, at its front (pull
/// secrets are added, never taken away). For Helm values edits.
pub fn only_paths_changed(
    documents: &[Document],
    original: &str,
    new_text: &str,
    allowed: &[(usize, Vec<String>)],
) -> Result<(), String> {
    paths_compared(documents, original, new_text, allowed).map_err(Violation::into_message)
}

/// Parts (a) and (b) for Helm values key paths.
fn paths_compared(
    documents: &[Document],
    original: &str,
    new_text: &str,
    allowed: &[(usize, Vec<String>)],
) -> Result<(), Violation> {
    let new_documents = reparse(documents, original, new_text, Reparse::ChangedSections)?;
    let old_aliases =
        Aliases::of(original, documents).map_err(|message| Violation::DataChanged { offset: 0, message })?;
    let new_aliases =
        Aliases::of(new_text, &new_documents).map_err(|message| Violation::DataChanged { offset: 0, message })?;
    let sides = Sides { old: &old_aliases, new: &new_aliases };
    for (index, (old, new)) in documents.iter().zip(&new_documents).enumerate() {
        if let Some(alike) = skipped_alike(old, new, original, new_text) {
            alike?;
            continue;
        }
        let paths: Vec<&[String]> =
            allowed.iter().filter(|(doc, _)| *doc == index).map(|(_, path)| path.as_slice()).collect();
        let mut at = Vec::new();
        same_off_paths(&old.root, &new.root, &paths, &mut at, &sides).map_err(|difference| {
            let message = format!("{difference} at document {}/{}", index + 1, at.join("/"));
            Violation::DataChanged { offset: difference.offset, message }
        })?;
    }
    Ok(())
}

/// `same`, except under `paths` (relative to `old`).
fn same_off_paths(
    old: &Node,
    new: &Node,
    paths: &[&[String]],
    at: &mut Vec<String>,
    sides: &Sides<'_, '_>,
) -> Result<(), Difference> {
    if paths.is_empty() {
        let mut steps = Vec::new();
        return same(old, new, &mut steps, STRICT, sides, 0);
    }
    if paths.iter().any(|path| path.is_empty()) {
        // The value itself may change; a list keeps its entries first.
        if let (NodeKind::Sequence { items: a, .. }, NodeKind::Sequence { items: b, .. }) = (&old.kind, &new.kind) {
            let kept = b.len() >= a.len()
                && a.iter().zip(b).all(|(x, y)| same(x, y, &mut Vec::new(), STRICT, sides, 0).is_ok());
            return if kept { Ok(()) } else { Err(Difference::at(old, "existing entries of a list changed")) };
        }
        return Ok(());
    }
    let below =
        |step: &str| -> Vec<&[String]> { paths.iter().filter(|path| path[0] == step).map(|path| &path[1..]).collect() };
    match (&old.kind, &new.kind) {
        (NodeKind::Mapping { entries: a, .. }, NodeKind::Mapping { entries: b, .. }) => {
            let mut b_rest: Vec<&(Node, Node)> = b.iter().collect();
            for (key, value) in a {
                let name = key.as_str().unwrap_or("?");
                let Some(found) = b_rest.iter().position(|(k, _)| k.as_str() == key.as_str()) else {
                    at.push(name.to_string());
                    return Err(Difference::at(key, "a key was removed"));
                };
                let (_, new_value) = b_rest.remove(found);
                at.push(name.to_string());
                same_off_paths(value, new_value, &below(name), at, sides)?;
                at.pop();
            }
            for (key, value) in b_rest {
                let name = key.as_str().unwrap_or("?");
                at.push(name.to_string());
                let under = below(name);
                if under.is_empty() || !only_along(value, &under) {
                    return Err(Difference::at(old, "a key was added"));
                }
                at.pop();
            }
            Ok(())
        }
        (NodeKind::Sequence { items: a, .. }, NodeKind::Sequence { items: b, .. }) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                at.push(i.to_string());
                same_off_paths(x, y, &below(&i.to_string()), at, sides)?;
                at.pop();
            }
            Ok(())
        }
        // An empty `values:` (or `{}`) that now leads to the new value.
        (NodeKind::Scalar { .. }, NodeKind::Mapping { .. }) if old.is_null() && only_along(new, paths) => Ok(()),
        _ => {
            let mut steps = Vec::new();
            same(old, new, &mut steps, STRICT, sides, 0)
        }
    }
}

/// Whether a new node holds nothing but mappings that lead to `paths`.
fn only_along(node: &Node, paths: &[&[String]]) -> bool {
    if paths.iter().any(|path| path.is_empty()) {
        return true;
    }
    node.entries().iter().all(|(key, value)| {
        let Some(name) = key.as_str() else { return false };
        let under: Vec<&[String]> = paths.iter().filter(|path| path[0] == name).map(|path| &path[1..]).collect();
        !under.is_empty() && only_along(value, &under)
    }) && node.is_mapping()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invariant_checks_values_paths_and_splices_that_fit() {
        let input = "values:\n  image: {tag: 1}\nother: 1\n";
        let documents = yaml::parse(input).unwrap();
        let paths = [(0, vec!["values".to_string(), "image".to_string(), "pullPolicy".to_string()])];
        let at = input.find('}').unwrap();
        let splices = [Splice::insert_at(at, ", pullPolicy: Never".to_string())];
        let intended = |splices| Intended {
            documents: &documents,
            fields: IntendedFields::ValuesPaths { paths: &paths },
            splices,
            replan: None,
        };
        let output = edit::apply(input, &splices);
        assert_eq!(invariant(input, &output, &intended(&splices)), Ok(()));
        // Another key at the same place is data the paths do not allow.
        let other = [Splice::insert_at(at, ", x: 1".to_string())];
        let output = edit::apply(input, &other);
        let Err(Violation::DataChanged { offset, message }) = invariant(input, &output, &intended(&other)) else {
            panic!("refused");
        };
        // The offset is the mapping's that gained the key.
        assert_eq!(
            (offset, message.as_str()),
            (input.find('{').unwrap(), "a key was added at document 1/values/image/x")
        );
        // A splice past the end, or inside a character, is refused before it is applied.
        let past = [Splice::insert_at(input.len() + 1, String::new())];
        assert_eq!(invariant(input, input, &intended(&past)), Err(Violation::BadSplices { offset: input.len() + 1 }));
    }

    /// Multi-document texts of the shapes the section reparse must read as
    /// the whole does: anchors, block scalars, comments, `...`, CRLF, a BOM,
    /// a leading comment-only section, a document without `---`.
    const MULTI: [&str; 6] = [
        "# head\n---\na: &x 1\nb: *x\n---\nkind: Pod\nspec:\n  containers:\n  - image: a\n---\nc: |\n  line\n\n  more\n---\nd: [1, 2]\n",
        "\u{feff}a: 1\n---\nb: 'two\n  lines'\n...\n---\nc: \"q\"\n",
        "a: 1\r\n---\r\nb:\r\n  - x\r\n  - y\r\n---\r\nc: 3\r\n",
        "---\nx: >-\n  folded\n  text\n---\n# only a comment here, then data\ny: {k: v}\n---\nz: last",
        "a:\n  b: c\n...\nd: e\n---\nf: g # trailing\n",
        "---\nk: v\n---\nlist:\n- a\n- b\n---\nm:\n  n:\n    o: p\n",
    ];

    #[test]
    fn only_the_changed_sections_are_parsed_again_and_read_as_the_whole() {
        for text in MULTI {
            let documents = yaml::parse(text).unwrap();
            // A comment added at the end of the second section's first line: that section changes, its data do not.
            let second = yaml::document_sections(text)[1].clone();
            let eol = second.start + text[second.clone()].find(['\r', '\n']).unwrap();
            let new_text = format!("{} # added{}", &text[..eol], &text[eol..]);
            let fast = reparse_changed_sections(&documents, text, &new_text).expect("the section reparse applies");
            let whole = yaml::parse(&new_text).unwrap();
            assert_eq!(fast.len(), whole.len(), "{text:?}");
            for (fast, whole) in fast.iter().zip(&whole) {
                if fast.skipped {
                    // A placeholder spans the text of the root it stands for, where it now is.
                    assert_eq!(&new_text[fast.root.span.clone()], &new_text[whole.root.span.clone()], "{text:?}");
                } else {
                    assert_eq!(fast.root, whole.root, "{text:?}");
                }
            }
            assert!(fast.iter().any(|d| !d.skipped) && fast.iter().any(|d| d.skipped), "{text:?}");
            assert_eq!(fields_compared(&documents, text, &new_text, &[]), Ok(()));
        }
    }

    #[test]
    fn the_section_reparse_gives_the_verdict_the_whole_reparse_gives() {
        // Every one-byte edit (insert, replace, delete) of the bytes that matter to YAML's
        // structure, at every offset: the check must accept and refuse the same rewrites.
        let bytes = ["", "\"", "'", "-", "\n", ":", "#", " ", "|", "%", "[", "{", "&", "*", "x", "."];
        let mut compared = 0;
        for text in MULTI {
            let documents = yaml::parse(text).unwrap();
            for at in (0..=text.len()).filter(|&at| text.is_char_boundary(at)) {
                for insert in bytes {
                    for removed in [0, 1] {
                        let end = (at + removed).min(text.len());
                        if !text.is_char_boundary(end) {
                            continue;
                        }
                        let new_text = format!("{}{insert}{}", &text[..at], &text[end..]);
                        let by_sections = fields_compared(&documents, text, &new_text, &[]).is_ok();
                        let whole = fields_compared_reparsing(&documents, text, &new_text, &[], Reparse::Whole).is_ok();
                        assert_eq!(by_sections, whole, "{text:?} -> {new_text:?}");
                        compared += 1;
                    }
                }
            }
        }
        assert!(compared > 5_000, "{compared}");
    }

    #[test]
    fn the_whole_rewrite_is_parsed_when_sections_cannot_be_read_alone() {
        let text = "a: 1\n---\nb: 2\n---\nc: 3\n";
        let documents = yaml::parse(text).unwrap();
        // A directive, a new marker line, a section that no longer parses alone.
        // The whole parse's verdict stands: the directive changes no data, the others do.
        for (new_text, accepted) in [
            ("%YAML 1.2\n---\na: 1\n---\nb: 2\n---\nc: 3\n", true),
            ("a: 1\n---\nb: 2\n---\n---\nc: 3\n", false),
            ("a: 1\n---\nb: \"2\n---\nc: 3\"\n", false),
        ] {
            assert!(reparse_changed_sections(&documents, text, new_text).is_none(), "{new_text:?}");
            assert_eq!(fields_compared(&documents, text, new_text, &[]).is_ok(), accepted, "{new_text:?}");
        }
        // An original document that is empty (a trailing `---`) or runs past its section.
        let empty = "a: 1\n---\n";
        assert!(reparse_changed_sections(&yaml::parse(empty).unwrap(), empty, "a: 2\n---\n").is_none());
    }

    #[test]
    fn kustomization_may_change_only_its_patches() {
        let original = yaml::parse("resources:\n- ../base\npatches:\n- path: a.yaml\n").unwrap();
        let good = "resources:\n- ../base\npatches:\n- path: a.yaml\n- path: pullsmith.patch.yaml\n";
        assert_eq!(only_root_key_changed(&original, good, "patches"), Ok(()));
        let bad = "resources:\n- ../other\npatches:\n- path: a.yaml\n";
        assert!(only_root_key_changed(&original, bad, "patches").is_err());
        // A later document is kept as it is, even its `patches:`.
        let two = yaml::parse("resources:\n- ../base\n---\npatches: []\n").unwrap();
        let later = "resources:\n- ../base\n---\npatches: [x]\n";
        assert!(only_root_key_changed(&two, later, "patches").is_err());
        let first = "resources:\n- ../base\npatches: [x]\n---\npatches: []\n";
        assert_eq!(only_root_key_changed(&two, first, "patches"), Ok(()));
    }

    #[test]
    fn values_may_change_only_at_their_key_paths() {
        let text = "spec:\n  values:\n    image: {tag: 1}\n    secrets: [a]\n  other: 1\n";
        let documents = yaml::parse(text).unwrap();
        let path = |p: &str| (0, p.split('.').map(str::to_string).collect::<Vec<_>>());
        let allowed = [path("spec.values.image.pullPolicy"), path("spec.values.secrets")];
        let good = "spec:\n  values:\n    image: {tag: 1, pullPolicy: Always}\n    secrets: [a, b]\n  other: 1\n";
        assert_eq!(only_paths_changed(&documents, text, good, &allowed), Ok(()));
        let created = "spec:\n  values:\n    image: {tag: 1}\n    secrets: [a]\n  other: 1\n";
        assert_eq!(only_paths_changed(&documents, text, created, &allowed), Ok(()));
        for bad in [
            "spec:\n  values:\n    image: {tag: 2, pullPolicy: Always}\n    secrets: [a]\n  other: 1\n",
            "spec:\n  values:\n    image: {tag: 1}\n    secrets: [b]\n  other: 1\n",
            "spec:\n  values:\n    image: {tag: 1, x: 1}\n    secrets: [a]\n  other: 1\n",
            "spec:\n  values:\n    image: {tag: 1}\n    secrets: [a]\n  other: 2\n",
        ] {
            assert!(only_paths_changed(&documents, text, bad, &allowed).is_err(), "{bad}");
        }
        // A missing `values:` may be created, holding only the path.
        let bare = "spec:\n  other: 1\n";
        let documents = yaml::parse(bare).unwrap();
        let new = "spec:\n  other: 1\n  values:\n    image:\n      pullPolicy: Always\n";
        assert_eq!(only_paths_changed(&documents, bare, new, &allowed), Ok(()));
        let more = "spec:\n  other: 1\n  values:\n    image:\n      pullPolicy: Always\n    x: 1\n";
        assert!(only_paths_changed(&documents, bare, more, &allowed).is_err());
    }

    #[test]
    fn manifests_may_change_only_the_two_pull_fields_of_touched_mappings() {
        let text = "spec:\n  containers:\n  - image: a\n  x: 1\n";
        let documents = yaml::parse(text).unwrap();
        let container = documents[0].root.get("spec").unwrap().get("containers").unwrap().items()[0].span.start;
        let good = "spec:\n  containers:\n  - image: a\n    imagePullPolicy: Always\n  x: 1\n";
        assert_eq!(only_intended_fields_changed(&documents, text, good, &[container]), Ok(()));
        // The same key in a mapping the plan did not touch is a difference.
        let untouched = "spec:\n  containers:\n  - image: a\n  imagePullPolicy: Always\n  x: 1\n";
        assert!(only_intended_fields_changed(&documents, text, untouched, &[container]).is_err());
        let changed = "spec:\n  containers:\n  - image: b\n    imagePullPolicy: Always\n  x: 1\n";
        assert!(only_intended_fields_changed(&documents, text, changed, &[container]).is_err());
    }

    #[test]
    fn what_is_written_must_be_a_policy_and_string_names() {
        let text = "spec:\n  imagePullSecrets:\n  - name: a\n  containers:\n  - image: a\n    imagePullPolicy: N \ts\n";
        let documents = yaml::parse(text).unwrap();
        let spec = documents[0].root.get("spec").unwrap();
        let touched = [spec.span.start, spec.get("containers").unwrap().items()[0].span.start];
        let check = |new: &str| only_intended_fields_changed(&documents, text, new, &touched);
        let written = |policy: &str, added: &str| {
            format!("spec:\n  imagePullSecrets:\n  - name: a\n{added}  containers:\n  - image: a\n    imagePullPolicy: {policy}\n")
        };
        assert_eq!(check(&written("Always", "  - name: b\n")), Ok(()));
        assert_eq!(check(&written("'Never'", "  - name: \"42\"\n")), Ok(()));
        // A splice that missed the end of the old value, a name read as a number or a boolean, a second key.
        for (policy, added) in [
            ("Alwayss", ""),
            ("always", ""),
            ("Always", "  - name: 42\n"),
            ("Always", "  - name: y\n"),
            ("Always", "  - name: b\n    x: 1\n"),
            ("Always", "  - b\n"),
        ] {
            let new = written(policy, added);
            let err = check(&new).expect_err(&new);
            assert!(err.contains("imagePull"), "{err}");
        }
        // A policy left as it was is not the check's business.
        assert_eq!(check(&written("N \ts", "")), Ok(()));
    }

    #[test]
    fn an_anchored_value_changes_wherever_it_is_repeated() {
        let text = "c:\n  imagePullPolicy: &p Always\n  env:\n  - value: *p\n";
        let documents = yaml::parse(text).unwrap();
        let container = documents[0].root.get("c").unwrap().span.start;
        let new = "c:\n  imagePullPolicy: &p Never\n  env:\n  - value: *p\n";
        let problem = only_intended_fields_changed(&documents, text, new, &[container]).unwrap_err();
        assert!(problem.contains("c/env/0/value"), "{problem}");
        // Written out, the env var keeps its value and only the policy changes.
        let text = "c:\n  imagePullPolicy: &p Always\n  env:\n  - value: Always\n";
        let documents = yaml::parse(text).unwrap();
        let new = "c:\n  imagePullPolicy: &p Never\n  env:\n  - value: Always\n";
        assert_eq!(only_intended_fields_changed(&documents, text, new, &[container]), Ok(()));
    }

    #[test]
    fn a_merged_mapping_is_compared_as_kubernetes_reads_it() {
        let text = "a: &d {image: x}\nb: {<<: *d, name: b}\n";
        let documents = yaml::parse(text).unwrap();
        let a = documents[0].root.get("a").unwrap().span.start;
        let b = documents[0].root.get("b").unwrap().span.start;
        // The policy given to `a` reaches `b` through the merge, unless `b` has its own.
        let leaks = "a: &d {image: x, imagePullPolicy: Always}\nb: {<<: *d, name: b}\n";
        assert!(only_intended_fields_changed(&documents, text, leaks, &[a]).is_err());
        let own = "a: &d {image: x, imagePullPolicy: Always}\nb: {<<: *d, imagePullPolicy: Never, name: b}\n";
        assert_eq!(only_intended_fields_changed(&documents, text, own, &[a, b]), Ok(()));
    }
}
