//! Byte offsets of line starts, to turn a yaml-rust2 marker (1-based line,
//! 0-based character column) into a byte offset, and a byte offset into the
//! 1-based line and column printed in diagnostics.
//!
//! A line break is what YAML calls one: `\r\n`, `\n`, or a `\r` alone (old
//! Mac files, and what yaml-rust2 counts). Every line-based helper of the
//! YAML and edit layers goes through [`line_break_at`] so that all of them
//! agree; a lone `\r` that one helper counted and another did not would put
//! every later offset a line off.
//!
//! Conversions are linear overall: a line holding multi-byte characters gets
//! a checkpoint every [`CHECKPOINT_CHARS`] characters, so a column is found
//! from the nearest checkpoint instead of by walking the line from its start
//! for every marker (a 235 KB minified line with one `é` made that quadratic).

/// Characters between two checkpoints on a line holding multi-byte characters.
const CHECKPOINT_CHARS: usize = 64;

/// The byte offset at which each line starts, and checkpoints on the lines
/// that are not ASCII. A CRLF line keeps its `\r` at its end, as yaml-rust2
/// counts it (one more column).
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
    /// The lines holding multi-byte characters: (0-based line, index of its
    /// first checkpoint in `checkpoints`), sorted by line.
    wide_lines: Vec<(usize, usize)>,
    /// Byte offsets of characters 0, 64, 128, … of each wide line, line after line.
    checkpoints: Vec<usize>,
}

/// The length of the line break starting at `pos` (`\r\n`: 2, `\n` or a lone
/// `\r`: 1), or 0 when none starts there.
pub fn line_break_at(bytes: &[u8], pos: usize) -> usize {
    match bytes.get(pos..) {
        Some([b'\r', b'\n', ..]) => 2,
        Some([b'\n' | b'\r', ..]) => 1,
        _ => 0,
    }
}

/// Offset of the line break ending the line that holds `pos` (or the text's
/// end): the first `\n` or `\r` at or after `pos`.
pub fn line_end(text: &str, pos: usize) -> usize {
    let bytes = text.as_bytes();
    let pos = pos.min(bytes.len());
    bytes[pos..].iter().position(|b| matches!(b, b'\n' | b'\r')).map_or(bytes.len(), |i| pos + i)
}

/// Start of the line holding `pos`: just past the last line break before it.
/// A `\r` right before `pos` where `pos` holds its `\n` is not a break of its own.
pub fn line_start(text: &str, pos: usize) -> usize {
    let bytes = text.as_bytes();
    let pos = pos.min(bytes.len());
    let mut i = pos;
    while i > 0 {
        match bytes[i - 1] {
            b'\n' => return i,
            b'\r' if bytes.get(i) != Some(&b'\n') => return i,
            _ => i -= 1,
        }
    }
    0
}

/// The lines of `text`, each with its line break (`\r\n`, `\n` or a lone
/// `\r`), as YAML splits them; the last one has none when the text does not
/// end with a break. Joined again they give the text back.
///
/// Not for diffs: git splits only at `\n` (a CR-only file is one long line to
/// it), and a diff `git apply` takes must split the same way; see [`git_lines`].
pub fn split_lines_keeping_breaks(text: &str) -> impl Iterator<Item = &str> + '_ {
    let bytes = text.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let end = line_end(text, start);
        let stop = end + line_break_at(bytes, end);
        let line = &text[start..stop];
        start = stop;
        Some(line)
    })
}

/// The lines of `text` as git counts them, each with its `\n`: a `\r` (lone or
/// before `\n`) stays inside its line. This is what a unified diff must be
/// made of for `git apply` to take it; a file whose only breaks are lone `\r`
/// is then one long line, which is how git itself diffs it.
pub fn git_lines(text: &str) -> impl Iterator<Item = &str> + '_ {
    text.split_inclusive('\n')
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        let mut wide_lines = Vec::new();
        let mut checkpoints = Vec::new();
        let mut line_start = 0;
        loop {
            let end = line_end(text, line_start);
            if !bytes[line_start..end].is_ascii() {
                wide_lines.push((starts.len(), checkpoints.len()));
                checkpoints.extend(
                    text[line_start..end].char_indices().step_by(CHECKPOINT_CHARS).map(|(i, _)| line_start + i),
                );
            }
            starts.push(line_start);
            let break_len = line_break_at(bytes, end);
            if break_len == 0 {
                break;
            }
            line_start = end + break_len;
        }
        starts.shrink_to_fit();
        LineIndex { starts, wide_lines, checkpoints }
    }

    /// The checkpoints of the 0-based line `line_idx`, when it holds multi-byte characters.
    fn checkpoints_of(&self, line_idx: usize) -> Option<&[usize]> {
        let at = self.wide_lines.binary_search_by_key(&line_idx, |(line, _)| *line).ok()?;
        let first = self.wide_lines[at].1;
        let end = self.wide_lines.get(at + 1).map_or(self.checkpoints.len(), |(_, next)| *next);
        Some(&self.checkpoints[first..end])
    }

    /// Byte offset of a marker. `col` counts characters: on a line with
    /// multi-byte characters it is found from the nearest checkpoint, so each
    /// conversion walks at most `CHECKPOINT_CHARS` characters.
    pub fn offset_of(&self, text: &str, line: usize, col: usize, is_ascii: bool) -> usize {
        let line_idx = line.saturating_sub(1).min(self.starts.len() - 1);
        let line_start = self.starts[line_idx];
        if is_ascii {
            return (line_start + col).min(text.len());
        }
        let Some(checkpoints) = self.checkpoints_of(line_idx) else {
            // An ASCII line: a column is a byte, up to the line's end; past
            // it (a marker on the break) the text is walked as before.
            let end = line_end(text, line_start);
            if line_start + col <= end {
                return line_start + col;
            }
            return text[end..].char_indices().nth(line_start + col - end).map_or(text.len(), |(i, _)| end + i);
        };
        let k = (col / CHECKPOINT_CHARS).min(checkpoints.len() - 1);
        let from = checkpoints[k];
        text[from..].char_indices().nth(col - k * CHECKPOINT_CHARS).map_or(text.len(), |(i, _)| from + i)
    }

    /// 1-based line and 1-based character column of a byte offset.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line_idx = self.line_of(offset) - 1;
        let line_start = self.starts[line_idx];
        let (from, chars_before) = match self.checkpoints_of(line_idx) {
            Some(checkpoints) => {
                let k = checkpoints.partition_point(|at| *at <= offset).saturating_sub(1);
                (checkpoints[k].max(line_start), k * CHECKPOINT_CHARS)
            }
            None => (line_start, 0),
        };
        // Counting the bytes that start a character also works on an offset
        // that is not on a character boundary.
        let column = chars_before + text.as_bytes()[from..offset].iter().filter(|b| (**b & 0xC0) != 0x80).count();
        (line_idx + 1, column + 1)
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// Byte offset where the 0-based line `line_idx` starts.
    pub fn line_start(&self, line_idx: usize) -> usize {
        self.starts[line_idx.min(self.starts.len() - 1)]
    }
}

/// 1-based line and column of `offset` in `text`, for a one-off diagnostic.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(text).line_col(text, offset)
}
