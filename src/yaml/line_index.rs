//! Byte offsets of line starts, to turn a yaml-rust2 marker (1-based line,
//! 0-based character column) into a byte offset, and a byte offset into the
//! 1-based line and column printed in diagnostics.

/// The byte offset at which each line starts. A line ends after `\n`, so a
/// CRLF line keeps its `\r` at its end, as yaml-rust2 counts it.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        starts.push(0);
        starts.extend(memchr_newlines(text.as_bytes()).map(|i| i + 1));
        LineIndex { starts }
    }

    /// Byte offset of a marker. `col` counts characters, so a line with
    /// multi-byte characters is walked; an ASCII text needs no walk.
    pub fn offset_of(&self, text: &str, line: usize, col: usize, is_ascii: bool) -> usize {
        let line_idx = line.saturating_sub(1).min(self.starts.len() - 1);
        let line_start = self.starts[line_idx];
        if is_ascii {
            return (line_start + col).min(text.len());
        }
        let rest = &text[line_start..];
        rest.char_indices().nth(col).map_or(text.len(), |(i, _)| line_start + i)
    }

    /// 1-based line and 1-based character column of a byte offset.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line_idx = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let line_start = self.starts[line_idx];
        let column = text.get(line_start..offset).map_or(offset - line_start, |s| s.chars().count());
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

fn memchr_newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i)
}

/// 1-based line and column of `offset` in `text`, for a one-off diagnostic.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(text).line_col(text, offset)
}
