//! What kubectl's YAML parser (go-yaml, a port of libyaml) refuses although
//! yaml-rust2 reads it: such a file means nothing to the cluster, so
//! pullsmith must not rewrite it as if it did.
//!
//! Two checks, run on text yaml-rust2 has accepted:
//! - characters YAML does not allow unescaped (C0 controls other than tab,
//!   LF and CR, DEL, C1 controls, U+FFFE and U+FFFF), and the three that
//!   libyaml and go-yaml read as line breaks (YAML 1.1: NEL, LS, PS) where
//!   yaml-rust2 (YAML 1.2) reads text, so the two would see different lines;
//! - libyaml's own grammar, by running its event parser over the text
//!   (unsafe-libyaml, the transpiled libyaml that serde_yaml already uses):
//!   tabs as indentation or after `-`, a block sequence on an empty key's
//!   line (`: - a`) and whatever else go-yaml's scanner refuses. Only events
//!   are pulled, one at a time: no tree, no recursion, constant memory.
//!
//! Both give a byte offset and a message naming the problem; neither reads
//! anything but the text.

use std::ffi::CStr;
use std::mem::MaybeUninit;

/// The first character of `text` that YAML does not allow unescaped, or
/// that kubectl's parser reads as a line break while yaml-rust2 does not.
pub fn forbidden_character(text: &str) -> Option<(usize, String)> {
    let bytes = text.as_bytes();
    // Every forbidden character but DEL and the C0 controls starts with a byte
    // that ASCII text never holds; skip the common case quickly.
    let candidate = |b: &u8| *b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r') || *b >= 0x7f;
    let first = bytes.iter().position(candidate)?;
    for (offset, c) in text[first..].char_indices().map(|(i, c)| (first + i, c)) {
        let code = c as u32;
        let what = match c {
            '\t' | '\n' | '\r' => continue,
            '\u{85}' => Some("NEL (next line)"),
            '\u{2028}' => Some("LS (line separator)"),
            '\u{2029}' => Some("PS (paragraph separator)"),
            _ => None,
        };
        if let Some(name) = what {
            return Some((
                offset,
                format!(
                    "`U+{code:04X}` {name} is a line break to kubectl's YAML parser (YAML 1.1) but not to \
                     pullsmith's (YAML 1.2), so the two would read this file differently; write it as `\\u{code:04X}` \
                     in a double-quoted string"
                ),
            ));
        }
        let printable = matches!(code, 0x20..=0x7e | 0xa0..=0xd7ff | 0xe000..=0xfffd | 0x10000..);
        if !printable {
            let kind = if code < 0x20 || (0x7f..0xa0).contains(&code) { "control character" } else { "character" };
            return Some((
                offset,
                format!(
                    "{kind} `U+{code:04X}` is not allowed in YAML (kubectl and libyaml refuse it); \
                     write it as an escape (`\\u{code:04X}`) in a double-quoted string"
                ),
            ));
        }
    }
    None
}

/// Whether `text` holds a shape on which yaml-rust2 is known to be more
/// lenient than libyaml, so that libyaml's pass is needed: a tab anywhere
/// but after the `#` of a line whose content starts with one (a comment
/// line, or a line of a block scalar, where both read a tab alike); a
/// `:` or `?` that starts a line's content or follows `- `, `[`, `{`, `,`
/// or another `:` (an empty or complex key, `[:x]`, `- :`, `"k"::v`); a `:`
/// right before a `,` (`omitted value:,`); an anchor or alias name holding
/// a `:` (`&a:`). Only such texts get the pass: running it on every file
/// doubled the parse time of a whole repository. The shapes come from
/// comparing the two on the YAML test suite (`tests/cli/yaml_suite.rs`) and
/// the corpus; quotes are not tracked, so a quoted `std::vector` only costs
/// a pass that accepts it.
pub fn may_diverge(text: &str) -> bool {
    let bytes = text.as_bytes();
    // Every byte of every parsed file goes through this, twice for a changed
    // one: the few bytes that can start a divergence are found by SIMD
    // searches, and each is looked at on its own.
    if memchr::memchr_iter(b'\t', bytes).any(|tab| !after_a_line_opening_hash(bytes, tab)) {
        return true;
    }
    for i in memchr::memchr2_iter(b':', b'?', bytes) {
        // The last byte before it that is not a space, on its line.
        let previous = bytes[..i].iter().rev().find(|b| **b != b' ').filter(|b| !matches!(b, b'\n' | b'\r'));
        let after_key_start = matches!(previous, None | Some(b'[' | b'{' | b',' | b'-' | b':'));
        let before_comma = bytes[i] == b':' && bytes.get(i + 1) == Some(&b',');
        if after_key_start || before_comma {
            return true;
        }
    }
    // An anchor or alias whose name holds a `:`, where a token starts.
    memchr::memchr2_iter(b'&', b'*', bytes).any(|i| {
        let starts_token = i == 0 || matches!(bytes[i - 1], b' ' | b'\n' | b'\r' | b'[' | b'{' | b',');
        starts_token
            && bytes[i + 1..]
                .iter()
                .take_while(|c| !matches!(c, b' ' | b'\n' | b'\r' | b',' | b']' | b'}'))
                .any(|c| *c == b':')
    })
}

/// Whether the byte at `at` follows a `#` that only spaces precede on its line.
fn after_a_line_opening_hash(bytes: &[u8], at: usize) -> bool {
    let line_start = bytes[..at].iter().rposition(|b| matches!(b, b'\n' | b'\r')).map_or(0, |i| i + 1);
    let content = bytes[line_start..at].iter().position(|b| *b != b' ').map(|i| line_start + i);
    content.is_some_and(|i| bytes[i] == b'#')
}

/// Where and why libyaml's parser refuses `text`, when it does.
pub fn libyaml_refusal(text: &str) -> Option<(usize, String)> {
    use unsafe_libyaml as unsafe_sys;
    // Like yaml-rust2, libyaml is given what follows a BOM; offsets count it again.
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bom = text.len() - body.len();
    // kubectl reads a stream that starts with `{` as JSON, not YAML (its
    // YAML-or-JSON decoder sniffs the first byte): libyaml's grammar is not
    // what decides there, and JSON allows what it refuses (tabs before the
    // `{`, a `:` on the line after its key).
    if body.trim_start().starts_with('{') {
        return None;
    }
    // SAFETY: the parser is initialised before use and deleted once, on every
    // path; its input is `text`, which outlives it; each event it hands out
    // is deleted before the next is asked for; the problem strings it sets
    // are static C strings. `body` outlives the parser.
    unsafe {
        let mut parser = MaybeUninit::<unsafe_sys::yaml_parser_t>::uninit();
        let parser = parser.as_mut_ptr();
        if unsafe_sys::yaml_parser_initialize(parser).fail {
            return None;
        }
        unsafe_sys::yaml_parser_set_encoding(parser, unsafe_sys::YAML_UTF8_ENCODING);
        unsafe_sys::yaml_parser_set_input_string(parser, body.as_ptr(), body.len() as u64);
        let mut event = MaybeUninit::<unsafe_sys::yaml_event_t>::uninit();
        let refusal = loop {
            if unsafe_sys::yaml_parser_parse(parser, event.as_mut_ptr()).fail {
                let message = |ptr: *const std::ffi::c_char| {
                    (!ptr.is_null()).then(|| CStr::from_ptr(ptr).to_string_lossy().into_owned())
                };
                // The error fields are read through the parser's `Deref` to its public prefix.
                let state: &unsafe_sys::yaml_parser_t = &*parser;
                let problem = message(state.problem).unwrap_or_else(|| "invalid YAML".to_string());
                let context = message(state.context);
                let offset = if state.error == unsafe_sys::YAML_READER_ERROR {
                    state.problem_offset as usize
                } else {
                    state.problem_mark.index as usize
                };
                break Some((offset, problem, context));
            }
            let done = (*event.as_ptr()).type_ == unsafe_sys::YAML_STREAM_END_EVENT;
            unsafe_sys::yaml_event_delete(event.as_mut_ptr());
            if done {
                break None;
            }
        };
        unsafe_sys::yaml_parser_delete(parser);
        let (offset, problem, context) = refusal?;
        Some(explain(text, offset + bom, &problem, context.as_deref()))
    }
}

/// The message for a libyaml refusal at `offset`: the tab it stopped on
/// named as such, else libyaml's own words.
fn explain(text: &str, offset: usize, problem: &str, context: Option<&str>) -> (usize, String) {
    let offset = offset.min(text.len());
    let libyaml = match context {
        Some(context) => format!("{context}, {problem}"),
        None => problem.to_string(),
    };
    let line_start = super::line_index::line_start(text, offset);
    let tab_in_indentation = text[line_start..offset].bytes().all(|b| b == b' ' || b == b'\t')
        && text[line_start..].bytes().take_while(|b| *b == b' ' || *b == b'\t').any(|b| b == b'\t');
    if text.as_bytes().get(offset) == Some(&b'\t') || tab_in_indentation {
        let tab = if tab_in_indentation { line_start + text[line_start..].find('\t').unwrap_or(0) } else { offset };
        return (
            tab,
            format!(
                "a tab where YAML allows only spaces (indentation, or after `-`, `?` or `:` before a key); \
                 kubectl and libyaml refuse it ({libyaml}): use spaces"
            ),
        );
    }
    if text.as_bytes().get(offset) == Some(&b':') && problem == "did not find expected key" {
        return (
            offset,
            format!(
                "a `:` with no key before it (an empty key) in a block mapping; kubectl and libyaml refuse it \
                 although yaml-rust2 reads it ({libyaml})"
            ),
        );
    }
    (offset, format!("kubectl and libyaml refuse this although yaml-rust2 reads it: {libyaml}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-by-byte scan `may_diverge` replaced: the same answer on every text.
    fn may_diverge_reference(text: &str) -> bool {
        let bytes = text.as_bytes();
        let mut tabs = bytes.iter().enumerate().filter(|(_, b)| **b == b'\t').map(|(i, _)| i);
        if tabs.any(|tab| !after_a_line_opening_hash(bytes, tab)) {
            return true;
        }
        let mut previous: Option<u8> = None;
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'\n' | b'\r' => {
                    previous = None;
                    continue;
                }
                b' ' => continue,
                b':' | b'?' => {
                    let after_key_start = matches!(previous, None | Some(b'[' | b'{' | b',' | b'-' | b':'));
                    let before_comma = b == b':' && bytes.get(i + 1) == Some(&b',');
                    if after_key_start || before_comma {
                        return true;
                    }
                }
                b'&' | b'*' if i == 0 || matches!(bytes[i - 1], b' ' | b'\n' | b'\r' | b'[' | b'{' | b',') => {
                    let name =
                        bytes[i + 1..].iter().take_while(|c| !matches!(c, b' ' | b'\n' | b'\r' | b',' | b']' | b'}'));
                    if name.clone().any(|c| *c == b':') {
                        return true;
                    }
                }
                _ => {}
            }
            previous = Some(b);
        }
        false
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]
        #[test]
        fn may_diverge_answers_as_the_byte_by_byte_scan(text in "([a-z:?&*#,\\[\\]{}\\- \t\r\n]|: |\n  ){0,40}") {
            proptest::prop_assert_eq!(may_diverge(&text), may_diverge_reference(&text), "{:?}", text);
        }
    }

    #[test]
    fn the_shapes_on_which_the_parsers_differ_get_libyamls_pass() {
        // Known before: a tab, an empty or complex key at a line's start.
        for text in ["- \tb\n", ": v\n", "  ? k\n", "a: b #\tc\n", "\t# c\n", "a: |\n  x\t#\n"] {
            assert!(may_diverge(text), "{text:?} must be checked");
        }
        // Found on the YAML test suite: shapes yaml-rust2 reads and libyaml refuses.
        for text in [
            "x: [:x]\n",
            "x: [ : k ]\n",
            "- { \"key\"::value }\n",
            "- :\n",
            "- ? : x\n",
            "{x: :x}\n",
            "{omitted value:,}\n",
            "&a: key: &a value\n",
            "b: *:@*!$\"<foo>:\n",
        ] {
            assert!(may_diverge(text), "{text:?} must be checked");
            let wrapped = format!("spec:\n  x:\n{}", text.lines().map(|l| format!("    {l}\n")).collect::<String>());
            assert!(
                libyaml_refusal(text).is_some() || libyaml_refusal(&wrapped).is_some(),
                "{text:?}: libyaml refuses it (alone or inside a manifest)"
            );
        }
        // What manifests hold every day is left to yaml-rust2 alone.
        for text in [
            "image: nginx:1.25\n",
            "- name: web\n  image: ghcr.io/a/b@sha256:0a\n",
            "url: http://example.com:8080/x\n",
            "env: [{name: A, value: \"10:00\"}]\n",
            "anchors: &base {a: 1}\nother: *base\n",
            "{\"kind\": \"Pod\", \"spec\": {\"containers\": []}}\n",
            // A tab after a line's opening `#`: in a comment, or in a block scalar.
            "a: 1\n    #\tlegacy: tab in a comment\n#\t\n",
            "a: |\n  #\tnot a comment\n",
        ] {
            assert!(!may_diverge(text), "{text:?} needs no second parse");
        }
    }
}
