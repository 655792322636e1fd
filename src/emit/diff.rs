//! Unified diffs in git's format (`diff --git a/… b/…`, three lines of
//! context), which `git apply` accepts, optionally coloured.
//!
//! Lines are split at `\n` only, as git splits them, so a lone `\r` stays
//! inside its line and the diff applies byte for byte.
//!
//! Time is linear in the file for pullsmith's edits, however many. A Myers
//! diff of the whole file costs up to the product of its length and the
//! number of changed lines (20,000 Pods in one file: 20 s), so the two
//! texts are first walked side by side: equal lines are skipped, and each
//! place where they differ is diffed on its own (Myers, as `similar` runs
//! it) from where they part to where at least `RESYNC_RUN` equal lines
//! follow (where they do not meet again within `RESYNC_LIMIT` lines, the
//! rest is diffed whole). When that walk shows the whole-file Myers diff to
//! be cheap (length times changed lines at most `WHOLE_FILE_BUDGET`, every
//! ordinary file), the whole file is diffed at once instead, so the diff is
//! byte for byte the one pullsmith always printed: the walk and the whole
//! file diff can differ where a change lies next to a line identical to
//! it, which of the two lines is shown as changed.
//!
//! Credential values (`redact` says which) never appear as context: a
//! hunk's context stops short of them (and a hunk is split where they lie
//! between two changes), which keeps the diff `git apply`-able, since git
//! accepts hunks with fewer context lines. Two cases are shown masked
//! (`<redacted>`) instead, and then `git apply` rejects that hunk, loudly:
//! a changed line that itself holds such a value (a minified one-line JSON
//! List holding a Secret and a Deployment), and such a value on the line
//! right after a change, which must be context because `git apply` moves
//! a hunk without trailing context to the end of the file. No output ever
//! shows the value.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;

use similar::{Algorithm, DiffOp};

use crate::common::FileAction;
use crate::emit::{quote, redact};

/// Lines of context around a change.
const CONTEXT: usize = 3;

/// How many equal lines must follow a difference for the walk to take up
/// again after it.
const RESYNC_RUN: usize = 3;

/// How far (old plus new lines) the walk looks for the texts to meet again.
const RESYNC_LIMIT: usize = 4096;

/// Up to this many (lines times changed lines), the whole file is diffed at once.
const WHOLE_FILE_BUDGET: usize = 20_000_000;

/// The diff of one file, from `original` to `new_text`.
pub fn unified(path: &str, original: &str, new_text: &str, action: FileAction) -> String {
    let old = Text::new(original);
    let new = Text::new(new_text);
    let ops = line_ops(&old, &new);
    let hunks = group(&ops, &old.hidden);

    let a_path = quote::git_path_with_prefix("a/", path);
    let b_path = quote::git_path_with_prefix("b/", path);
    let mut out = format!("diff --git {a_path} {b_path}\n");
    let (old_name, new_name) = match action {
        FileAction::Modify => (a_path, b_path),
        FileAction::Create => {
            out.push_str("new file mode 100644\n");
            ("/dev/null".to_string(), b_path)
        }
        FileAction::Delete => {
            out.push_str("deleted file mode 100644\n");
            (a_path, "/dev/null".to_string())
        }
    };
    if hunks.is_empty() {
        return out;
    }
    // git ends a name holding a space with a tab, so that `patch` finds where it ends.
    let tab = |name: &str| if name.contains(' ') { "\t" } else { "" };
    let _ = writeln!(out, "--- {old_name}{}", tab(&old_name));
    let _ = writeln!(out, "+++ {new_name}{}", tab(&new_name));
    for hunk in &hunks {
        write_hunk(&mut out, hunk, &old, &new);
    }
    out
}

/// One side of the diff: its lines and which of them hold credential values.
struct Text<'a> {
    text: &'a str,
    /// Byte offset of each line's start, and the text's length last.
    starts: Vec<usize>,
    /// Credential values, as sorted byte ranges.
    credentials: Vec<Range<usize>>,
    /// Per line: holds (part of) a credential value, so never shown as context.
    hidden: Vec<bool>,
}

impl<'a> Text<'a> {
    fn new(text: &'a str) -> Text<'a> {
        let mut starts = vec![0];
        starts.extend(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
        if *starts.last().expect("starts holds 0") != text.len() {
            starts.push(text.len());
        }
        let n_lines = starts.len() - 1;
        let (credentials, hidden) = match redact::credential_ranges(text) {
            Some(ranges) => {
                let mut hidden = vec![false; n_lines];
                for range in &ranges {
                    let first = starts.partition_point(|start| *start <= range.start).saturating_sub(1);
                    let last = starts.partition_point(|start| *start < range.end).saturating_sub(1);
                    for flag in hidden.iter_mut().take(last + 1).skip(first) {
                        *flag = true;
                    }
                }
                (ranges, hidden)
            }
            // Texts pullsmith changed always parse; should one not, no line of it is context.
            None => (Vec::new(), vec![true; n_lines]),
        };
        Text { text, starts, credentials, hidden }
    }

    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    fn line(&self, index: usize) -> &'a str {
        &self.text[self.starts[index]..self.starts[index + 1]]
    }

    /// The line as printed: credential values masked.
    fn shown(&self, index: usize) -> String {
        let line = self.line(index);
        if !self.hidden.get(index).copied().unwrap_or(false) || self.credentials.is_empty() {
            return line.to_string();
        }
        let start = self.starts[index];
        let end = self.starts[index + 1];
        let first = self.credentials.partition_point(|range| range.end <= start);
        let last = self.credentials.partition_point(|range| range.start < end);
        redact::mask_line(line, start, &self.credentials[first..last.max(first)])
    }
}

/// The edit script, line by line: the whole file's Myers diff when that is
/// cheap, else the walk's (see the module's documentation).
fn line_ops<'a>(old: &Text<'a>, new: &Text<'a>) -> Vec<DiffOp> {
    let (old_ids, new_ids) = line_ids(old, new);
    let walked = walk(&old_ids, &new_ids);
    let changed: usize = walked
        .iter()
        .filter(|op| !matches!(op, DiffOp::Equal { .. }))
        .map(|op| op.old_range().len() + op.new_range().len())
        .sum();
    if (old_ids.len() + new_ids.len()).saturating_mul(changed) <= WHOLE_FILE_BUDGET {
        return similar::capture_diff(Algorithm::Myers, &old_ids, 0..old_ids.len(), &new_ids, 0..new_ids.len());
    }
    walked
}

/// Every line as a number, equal lines the same number, so that comparing two costs nothing.
fn line_ids<'a>(old: &Text<'a>, new: &Text<'a>) -> (Vec<u32>, Vec<u32>) {
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let mut id_of = |line: &'a str| -> u32 {
        let next = u32::try_from(ids.len()).expect("fewer than 2^32 distinct lines");
        *ids.entry(line).or_insert(next)
    };
    let old_ids: Vec<u32> = (0..old.len()).map(|i| id_of(old.line(i))).collect();
    let new_ids: Vec<u32> = (0..new.len()).map(|i| id_of(new.line(i))).collect();
    (old_ids, new_ids)
}

/// The walk: equal runs in step, each difference diffed on its own from
/// where the texts part to where they meet again.
fn walk(old_ids: &[u32], new_ids: &[u32]) -> Vec<DiffOp> {
    let (n, m) = (old_ids.len(), new_ids.len());

    let mut ops: Vec<DiffOp> = Vec::new();
    let mut push = |op: DiffOp| match (ops.last_mut(), op) {
        (Some(DiffOp::Equal { len, .. }), DiffOp::Equal { len: more, .. }) => *len += more,
        _ => ops.push(op),
    };
    let (mut i, mut j) = (0, 0);
    loop {
        let (equal_i, equal_j) = (i, j);
        while i < n && j < m && old_ids[i] == new_ids[j] {
            i += 1;
            j += 1;
        }
        if i > equal_i {
            push(DiffOp::Equal { old_index: equal_i, new_index: equal_j, len: i - equal_i });
        }
        if i == n && j == m {
            break;
        }
        let (end_i, end_j) = resync(old_ids, new_ids, i, j);
        for op in similar::capture_diff(Algorithm::Myers, old_ids, i..end_i, new_ids, j..end_j) {
            push(op);
        }
        (i, j) = (end_i, end_j);
    }
    ops
}

/// Where the texts meet again after parting at (`i`, `j`): the nearest
/// (fewest lines skipped, old plus new) point followed by `RESYNC_RUN`
/// equal lines or by the end of both; the ends of both texts when there is
/// none within `RESYNC_LIMIT`.
fn resync(old: &[u32], new: &[u32], i: usize, j: usize) -> (usize, usize) {
    let (n, m) = (old.len(), new.len());
    let in_step = |a: usize, b: usize| {
        (0..RESYNC_RUN).all(|k| match (old.get(a + k), new.get(b + k)) {
            (Some(x), Some(y)) => x == y,
            (None, None) => true,
            _ => false,
        })
    };
    let max_distance = ((n - i) + (m - j)).min(RESYNC_LIMIT);
    for distance in 1..=max_distance {
        for skip_old in 0..=distance {
            let skip_new = distance - skip_old;
            if i + skip_old > n || j + skip_new > m {
                continue;
            }
            if in_step(i + skip_old, j + skip_new) {
                return (i + skip_old, j + skip_new);
            }
        }
    }
    (n, m)
}

/// Hunks as runs of ops, each with at most `CONTEXT` lines of context
/// around its changes, as git groups them; context stops short of hidden
/// (credential) lines, and a hidden line between two changes splits their hunk.
fn group(ops: &[DiffOp], hidden: &[bool]) -> Vec<Vec<DiffOp>> {
    let is_hidden = |line: usize| hidden.get(line).copied().unwrap_or(false);
    let last_change = ops.iter().rposition(|op| !matches!(op, DiffOp::Equal { .. }));
    let Some(last_change) = last_change else { return Vec::new() };
    let mut hunks = Vec::new();
    let mut current: Vec<DiffOp> = Vec::new();
    let mut has_change = false;
    // The first `count` lines of an equal run that can be context, from its start.
    let head = |old_index: usize, len: usize| (0..len.min(CONTEXT)).take_while(|k| !is_hidden(old_index + k)).count();
    // The same from its end.
    let tail = |old_index: usize, len: usize| {
        (0..len.min(CONTEXT)).take_while(|k| !is_hidden(old_index + len - 1 - k)).count()
    };
    // A hunk's trailing context, which is never empty before the end of the
    // file: `git apply` places a hunk without trailing context at the end
    // of the file (silently so, when it has no context at all). When a
    // hidden line follows the change right away, it is the context, shown
    // masked, and `git apply` rejects the hunk instead of misplacing it.
    let trailing = |old_index: usize, len: usize| head(old_index, len).max(1);
    for (index, op) in ops.iter().enumerate() {
        let DiffOp::Equal { old_index, new_index, len } = *op else {
            current.push(*op);
            has_change = true;
            continue;
        };
        let equal = |from: usize, count: usize| DiffOp::Equal {
            old_index: old_index + from,
            new_index: new_index + from,
            len: count,
        };
        if !has_change {
            // Leading context of the first hunk.
            let count = tail(old_index, len);
            if count > 0 {
                current.push(equal(len - count, count));
            }
        } else if index > last_change {
            // Trailing context of the last hunk.
            current.push(equal(0, trailing(old_index, len)));
        } else if len <= 2 * CONTEXT && !(old_index..old_index + len).any(is_hidden) {
            current.push(*op);
        } else {
            current.push(equal(0, trailing(old_index, len)));
            hunks.push(std::mem::take(&mut current));
            let count = tail(old_index, len);
            if count > 0 {
                current.push(equal(len - count, count));
            }
        }
    }
    hunks.push(current);
    hunks
}

/// `@@ -a,b +c,d @@` and the hunk's lines, as `similar` and git write them.
fn write_hunk(out: &mut String, hunk: &[DiffOp], old: &Text<'_>, new: &Text<'_>) {
    let (Some(first), Some(last)) = (hunk.first(), hunk.last()) else { return };
    let range = |start: usize, end: usize| {
        let len = end - start;
        match len {
            1 => format!("{}", start + 1),
            // An empty range names the line before it.
            0 => format!("{start},0"),
            _ => format!("{},{len}", start + 1),
        }
    };
    let _ = writeln!(
        out,
        "@@ -{} +{} @@",
        range(first.old_range().start, last.old_range().end),
        range(first.new_range().start, last.new_range().end)
    );
    let mut line = |tag: char, text: String| {
        out.push(tag);
        out.push_str(&text);
        if !text.ends_with('\n') {
            out.push_str("\n\\ No newline at end of file\n");
        }
    };
    for op in hunk {
        match *op {
            DiffOp::Equal { old_index, len, .. } => {
                (old_index..old_index + len).for_each(|i| line(' ', old.shown(i)));
            }
            DiffOp::Delete { old_index, old_len, .. } => {
                (old_index..old_index + old_len).for_each(|i| line('-', old.shown(i)));
            }
            DiffOp::Insert { new_index, new_len, .. } => {
                (new_index..new_index + new_len).for_each(|i| line('+', new.shown(i)));
            }
            DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                (old_index..old_index + old_len).for_each(|i| line('-', old.shown(i)));
                (new_index..new_index + new_len).for_each(|i| line('+', new.shown(i)));
            }
        }
    }
}

/// ANSI colours for a terminal: headers bold, hunks cyan, removals red, additions green.
pub fn colorize(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() + diff.len() / 8);
    for line in diff.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let color = if body.starts_with("diff --git") || body.starts_with("--- ") || body.starts_with("+++ ") {
            "\x1b[1m"
        } else if body.starts_with("@@") {
            "\x1b[36m"
        } else if body.starts_with('+') {
            "\x1b[32m"
        } else if body.starts_with('-') {
            "\x1b[31m"
        } else {
            ""
        };
        if color.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(color);
            out.push_str(body);
            out.push_str("\x1b[0m");
            out.push_str(newline);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the whole-file Myers diff of `similar` printed before, for comparison.
    fn whole_file(original: &str, new_text: &str) -> String {
        let diff = similar::TextDiff::from_lines(original, new_text);
        let mut out = "diff --git a/x.yaml b/x.yaml\n".to_string();
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .missing_newline_hint(true)
                .header("a/x.yaml", "b/x.yaml")
                .to_string(),
        );
        out
    }

    /// A file of `pods` Pods, every `every`-th one edited the way pullsmith
    /// edits (a value replaced, a line inserted, a list appended to a pod spec).
    fn pods(pods: usize, every: usize, seed: usize) -> (String, String) {
        let (mut original, mut new_text) = (String::new(), String::new());
        for pod in 0..pods {
            let doc = format!(
                "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p{}\nspec:\n  containers:\n    - name: app\n      image: nginx:1.{}\n",
                pod % 7,
                (pod * seed) % 3
            );
            original.push_str(&doc);
            new_text.push_str(&doc);
            let edited = (pod + seed) % every == 0;
            match (pod + seed) % 3 {
                0 => {
                    original.push_str("      imagePullPolicy: Never\n");
                    new_text.push_str(if edited {
                        "      imagePullPolicy: Always\n"
                    } else {
                        "      imagePullPolicy: Never\n"
                    });
                }
                1 if edited => new_text.push_str("      imagePullPolicy: Always\n"),
                _ if edited => new_text.push_str("  imagePullSecrets:\n    - name: regcred\n"),
                _ => {}
            }
        }
        (original, new_text)
    }

    #[test]
    fn same_as_a_whole_file_myers_diff_for_pullsmith_edits() {
        for seed in 0..6 {
            for every in [1, 2, 3, 5, 11] {
                let (original, new_text) = pods(40, every, seed);
                assert_eq!(
                    unified("x.yaml", &original, &new_text, FileAction::Modify),
                    whole_file(&original, &new_text),
                    "seed {seed}, every {every}"
                );
            }
        }
        let cases = [
            ("a\nb\nc\n", "a\nb\nc\nd"),
            ("a\nb\nc", "a\nB\nc"),
            ("", "a\n"),
            ("a\n", ""),
            ("x\na\na\na\ny\n", "x\na\na\na\na\ny\n"),
            ("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\n2\n3\nX\n5\n6\n7\n8\n9\nY\n"),
        ];
        for (original, new_text) in cases {
            assert_eq!(unified("x.yaml", original, new_text, FileAction::Modify), whole_file(original, new_text));
        }
    }

    #[test]
    fn the_walk_finds_the_whole_file_diff_for_pullsmith_edits() {
        for seed in 0..6 {
            for every in [1, 2, 3, 5, 11] {
                let (original, new_text) = pods(60, every, seed);
                let (old, new) = (Text::new(&original), Text::new(&new_text));
                let (old_ids, new_ids) = line_ids(&old, &new);
                let whole =
                    similar::capture_diff(Algorithm::Myers, &old_ids, 0..old_ids.len(), &new_ids, 0..new_ids.len());
                assert_eq!(walk(&old_ids, &new_ids), whole, "seed {seed}, every {every}");
            }
        }
    }

    #[test]
    fn a_secret_value_right_after_a_change_is_masked_context() {
        let original = "kind: Pod\nspec: {}\n---\nkind: Secret\ndata:\n  a: QUFB\n";
        let new_text =
            original.replace("spec: {}\n---\nkind: Secret\ndata:\n", "spec: {}\n---\nkind: Secret\ndata: # x\n");
        let diff = unified("x.yaml", original, &new_text, FileAction::Modify);
        assert!(diff.ends_with("-data:\n+data: # x\n   a: <redacted>\n"), "{diff}");
    }

    #[test]
    fn context_stops_short_of_secret_values() {
        let original = "kind: Secret\ndata:\n  token: VE9LRU4=\n---\nkind: Pod\nspec:\n  containers:\n    - name: a\n      image: b\n";
        let new_text = original.replace("spec:\n", "spec: # edited\n");
        let diff = unified("x.yaml", original, &new_text, FileAction::Modify);
        assert!(!diff.contains("VE9LRU4"), "{diff}");
        assert!(diff.contains("@@ -4,6 +4,6 @@\n ---\n kind: Pod\n-spec:\n"), "{diff}");
    }
}
