//! Finding where a token ends by reading the text, since yaml-rust2 gives
//! only start marks for scalars and aliases.

use super::ScalarStyle;

/// End (exclusive byte offset) of the scalar starting at `start`.
pub fn scalar_end(text: &str, start: usize, style: ScalarStyle, value: &str) -> usize {
    match style {
        ScalarStyle::DoubleQuoted => double_quoted_end(text, start),
        ScalarStyle::SingleQuoted => single_quoted_end(text, start),
        ScalarStyle::Plain => plain_end(text, start, value),
        ScalarStyle::Literal | ScalarStyle::Folded => block_end(text, start),
    }
}

fn double_quoted_end(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    text.len()
}

fn single_quoted_end(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    text.len()
}

/// A plain scalar has no escapes, so its text is its value with line folds:
/// walk both, letting a run of white space and line breaks in the text stand
/// for a run of spaces or newlines in the value.
fn plain_end(text: &str, start: usize, value: &str) -> usize {
    let src = text.as_bytes();
    let val = value.as_bytes();
    let (mut i, mut j) = (start, 0);
    while j < val.len() && i < src.len() {
        // A run of white space first, even where its first space matches:
        // yaml-rust2 may fold the spaces after a lone `\r` break into one.
        // Tabs inside a line are kept in the value (`N \ts`), so they belong to its runs too.
        if matches!(src[i], b' ' | b'\t' | b'\r' | b'\n') && matches!(val[j], b' ' | b'\t' | b'\n') {
            while i < src.len() && matches!(src[i], b' ' | b'\t' | b'\r' | b'\n') {
                i += 1;
            }
            while j < val.len() && matches!(val[j], b' ' | b'\t' | b'\n') {
                j += 1;
            }
        } else if src[i] == val[j] {
            i += 1;
            j += 1;
        } else {
            break;
        }
    }
    i
}

/// A block scalar (`|` or `>`) runs from its header to its last line that
/// is content: a non-blank line indented at least as deep as its content, a
/// blank line with more than that depth of indentation (what follows the
/// depth is content: `"x\n   \n"`), and, with keep chomping (`|+`), the
/// blank lines after its last content line, which are line breaks of its
/// value. A block scalar without any content line runs over all the blank
/// lines after its header (yaml-rust2 reads their breaks as its value). An
/// insertion after the scalar then never lands inside it.
fn block_end(text: &str, start: usize) -> usize {
    let header_end = line_end(text, start);
    let header = &text[start..header_end];
    let indicators: &str = header[1..].split([' ', '\t', '#']).next().unwrap_or_default();
    let explicit_indent = indicators.chars().find_map(|c| c.to_digit(10)).map(|d| d as usize);
    let keep = indicators.contains('+');
    let header_line_indent = indent_of(text, line_start(text, start));
    let mut content_indent = explicit_indent.map(|d| header_line_indent + d);
    let mut end = header_end;
    // The end of the blank lines since the last content line.
    let mut blank_end = None;
    let mut seen_content = false;
    let mut pos = next_line(text, header_end);
    while let Some(line_begin) = pos {
        let line_stop = line_end(text, line_begin);
        let line = &text[line_begin..line_stop];
        let spaces = line.len() - line.trim_start_matches(' ').len();
        if line.trim().is_empty() {
            match content_indent {
                Some(depth) if seen_content && spaces >= depth && line.len() > depth => {
                    end = line_stop;
                    blank_end = None;
                }
                _ => blank_end = Some(line_stop),
            }
            pos = next_line(text, line_stop);
            continue;
        }
        let wanted = *content_indent.get_or_insert(spaces);
        if spaces < wanted || spaces <= header_line_indent && explicit_indent.is_none() && wanted <= header_line_indent
        {
            break;
        }
        end = line_stop;
        blank_end = None;
        seen_content = true;
        pos = next_line(text, line_stop);
    }
    match blank_end {
        Some(blank_end) if keep || !seen_content => blank_end,
        _ => end,
    }
}

/// Start of the `|` or `>` header of the block scalar whose content
/// starts at `content`: on the nearest non-blank line at or above it.
pub fn block_header(text: &str, content: usize) -> usize {
    let content = content.min(text.len());
    let first_line = line_start(text, content);
    if let Some(at) = header_indicator(&text[first_line..content]) {
        return first_line + at;
    }
    // Only blank lines stand between a header and its content.
    let mut line_begin = first_line;
    while line_begin > 0 {
        line_begin = line_start(text, line_begin - 1);
        let line = &text[line_begin..line_end(text, line_begin)];
        if let Some(at) = header_indicator(line) {
            return line_begin + at;
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    content
}

/// Position of a block scalar indicator on a line: `|` or `>` after a blank
/// (or at the line start), followed only by chomping and indentation
/// indicators, then blanks or a comment.
fn header_indicator(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if !matches!(b, b'|' | b'>') || (i > 0 && !matches!(bytes[i - 1], b' ' | b'\t')) {
            continue;
        }
        let n_indicators = bytes[i + 1..].iter().take_while(|c| matches!(c, b'+' | b'-' | b'0'..=b'9')).count();
        let after = &line[i + 1 + n_indicators..];
        let after_trimmed = after.trim_start();
        if after_trimmed.is_empty() || (after_trimmed.starts_with('#') && after.len() > after_trimmed.len()) {
            return Some(i);
        }
    }
    None
}

/// The `-` of a block sequence entry at or before `pos` (only blanks between).
pub fn dash_before(text: &str, pos: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = pos.min(bytes.len());
    if bytes.get(i) == Some(&b'-') {
        return i;
    }
    while i > 0 && matches!(bytes[i - 1], b' ' | b'\t') {
        i -= 1;
    }
    if i > 0 && bytes[i - 1] == b'-' {
        i - 1
    } else {
        pos
    }
}

/// End of an alias token `*name`.
pub fn alias_end(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n' | b',' | b']' | b'}') {
        i += 1;
    }
    i
}

/// The `:` that follows a mapping key ending at `key_end`, skipping blanks.
pub fn colon_after(text: &str, key_end: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = key_end;
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
        i += 1;
    }
    (bytes.get(i) == Some(&b':')).then_some(i)
}

/// The first byte of the node that follows `pos` (just after a key's `:`),
/// skipping blanks, line breaks, comments, an anchor and a tag.
pub fn node_start_after(text: &str, pos: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = pos;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' => i = line_end(text, i),
            b'&' | b'!' => {
                while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
                    i += 1;
                }
            }
            _ => return Some(i),
        }
    }
    None
}

/// The opening bracket matched by the closing bracket at `close`, found by
/// reading the flow collection that starts at `open` (a `[` or `{`) up to
/// `close`, past quoted scalars and comments. `None` when `open` is not a
/// bracket, or `close` is not a closing bracket of that collection.
pub fn opening_bracket_of(text: &str, open: usize, close: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    if !matches!(bytes.get(open), Some(b'[' | b'{')) || close >= bytes.len() {
        return None;
    }
    let mut open_brackets = Vec::new();
    let mut i = open;
    while i <= close {
        // A quote or a comment sign only counts where a token may start.
        let token_start = i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\r' | b'\n' | b'[' | b'{' | b',' | b':');
        match bytes[i] {
            b'[' | b'{' => open_brackets.push(i),
            b']' | b'}' => {
                let opening = open_brackets.pop()?;
                if i == close {
                    return Some(opening);
                }
                if open_brackets.is_empty() {
                    return None;
                }
            }
            b'"' if token_start => {
                i = double_quoted_end(text, i);
                continue;
            }
            b'\'' if token_start => {
                i = single_quoted_end(text, i);
                continue;
            }
            b'#' if token_start => {
                i = line_end(text, i);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

pub use super::line_index::{line_end, line_start};

/// Start of the line after the one whose terminator starts at `line_stop`.
fn next_line(text: &str, line_stop: usize) -> Option<usize> {
    match super::line_index::line_break_at(text.as_bytes(), line_stop) {
        0 => None,
        len => Some(line_stop + len),
    }
}

fn indent_of(text: &str, line_begin: usize) -> usize {
    text.as_bytes()[line_begin..].iter().take_while(|b| **b == b' ').count()
}

/// The properties (`!tag`, `&anchor`) of an empty node written from `pos`
/// on, past spaces, line breaks and comments before them: their range, or
/// `None` when none is there.
pub fn properties_from(text: &str, pos: usize) -> Option<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let mut i = pos;
    let mut found: Option<std::ops::Range<usize>> = None;
    loop {
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        match bytes.get(i) {
            Some(b'#') if found.is_none() => {
                while i < bytes.len() && !matches!(bytes[i], b'\r' | b'\n') {
                    i += 1;
                }
            }
            Some(b'!' | b'&') => {
                let start = i;
                while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n' | b',' | b']' | b'}') {
                    i += 1;
                }
                found = Some(found.map_or(start, |f| f.start)..i);
            }
            _ => return found,
        }
    }
}

/// Where an empty plain scalar whose event stands at `mark` is: at `mark`
/// when something precedes it on its line, else at the end of the nearest
/// line above that is not blank (trailing spaces left out).
pub fn empty_value_at(text: &str, mark: usize) -> usize {
    let bytes = text.as_bytes();
    let mark = mark.min(bytes.len());
    let mut at = mark;
    while at > 0 && matches!(bytes[at - 1], b' ' | b'\t') {
        at -= 1;
    }
    if at == 0 || !matches!(bytes[at - 1], b'\n' | b'\r') {
        return mark;
    }
    while at > 0 && matches!(bytes[at - 1], b' ' | b'\t' | b'\n' | b'\r') {
        at -= 1;
    }
    at
}
