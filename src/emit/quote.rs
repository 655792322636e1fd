//! Paths and messages made safe to print: a path is quoted exactly as git
//! quotes it (`core.quotePath`, its default), so that a file name holding a
//! newline, a quote or a byte ≥ 0x80 can neither inject lines into a diff,
//! a log or a CI system's workflow commands, nor make a diff that `git apply`
//! reads differently from what was meant.
//!
//! It never changes what it is given in any other way: a name that git
//! prints as it is, pullsmith prints as it is.

use std::borrow::Cow;

/// How git's `quote_c_style` writes one byte inside double quotes, or `None`
/// when the byte stands for itself.
fn c_escape(byte: u8) -> Option<Cow<'static, str>> {
    let escaped = match byte {
        0x07 => "\\a",
        0x08 => "\\b",
        b'\t' => "\\t",
        b'\n' => "\\n",
        0x0b => "\\v",
        0x0c => "\\f",
        b'\r' => "\\r",
        b'"' => "\\\"",
        b'\\' => "\\\\",
        // Other control characters, DEL and (core.quotePath) every byte of a
        // non-ASCII character: three octal digits, as git writes them.
        byte if !(0x20..0x7f).contains(&byte) => return Some(Cow::Owned(format!("\\{byte:03o}"))),
        _ => return None,
    };
    Some(Cow::Borrowed(escaped))
}

/// Whether git would quote a path holding these bytes.
pub fn needs_quoting(text: &str) -> bool {
    text.bytes().any(|byte| c_escape(byte).is_some())
}

/// `prefix` and `path` as git prints them in a diff header: unchanged when
/// no byte needs quoting, else the whole in double quotes with C escapes
/// (`"a/new\nline.yaml"`, `"b/\303\251.yaml"`).
pub fn git_path_with_prefix(prefix: &str, path: &str) -> String {
    if !needs_quoting(path) && !needs_quoting(prefix) {
        return format!("{prefix}{path}");
    }
    let mut out = String::with_capacity(prefix.len() + path.len() + 8);
    out.push('"');
    for byte in prefix.bytes().chain(path.bytes()) {
        match c_escape(byte) {
            Some(escaped) => out.push_str(&escaped),
            None => out.push(char::from(byte)),
        }
    }
    out.push('"');
    out
}

/// A repository path for a message line (`error:`, `warning:`, `skipped:`,
/// `explain`), quoted as git would quote it.
pub fn path(path: &str) -> Cow<'_, str> {
    if needs_quoting(path) {
        Cow::Owned(git_path_with_prefix("", path))
    } else {
        Cow::Borrowed(path)
    }
}

/// A message made to stay on its one line: control characters (a newline
/// from a file name or a YAML value quoted in the message) are written as
/// C escapes; everything else, non-ASCII text included, is kept.
pub fn one_line(message: &str) -> Cow<'_, str> {
    if !message.bytes().any(|byte| byte < 0x20 || byte == 0x7f) {
        return Cow::Borrowed(message);
    }
    let mut out = String::with_capacity(message.len() + 8);
    for c in message.chars() {
        match u8::try_from(c) {
            Ok(byte) if byte < 0x20 || byte == 0x7f => match c_escape(byte) {
                Some(escaped) => out.push_str(&escaped),
                None => out.push(c),
            },
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_git() {
        assert_eq!(git_path_with_prefix("a/", "plain dir/x.yaml"), "a/plain dir/x.yaml");
        assert_eq!(git_path_with_prefix("a/", "new\nline.yaml"), r#""a/new\nline.yaml""#);
        assert_eq!(git_path_with_prefix("b/", "q\"uote.yaml"), r#""b/q\"uote.yaml""#);
        assert_eq!(git_path_with_prefix("b/", "t\tab\\.yaml"), r#""b/t\tab\\.yaml""#);
        assert_eq!(git_path_with_prefix("a/", "é.yaml"), r#""a/\303\251.yaml""#);
        assert_eq!(git_path_with_prefix("a/", "\u{7f}\u{1b}.yaml"), r#""a/\177\033.yaml""#);
        assert_eq!(path("dev/app.yaml"), "dev/app.yaml");
        assert_eq!(path("dev/\n::warning::x.yaml"), r#""dev/\n::warning::x.yaml""#);
    }

    #[test]
    fn one_line_keeps_text_and_escapes_breaks() {
        assert_eq!(one_line("image `café:1` is fine"), "image `café:1` is fine");
        assert_eq!(one_line("a\nb\r\tc"), r"a\nb\r\tc");
    }
}
