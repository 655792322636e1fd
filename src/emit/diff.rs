//! Unified diffs in git's format (`diff --git a/… b/…`, three lines of
//! context), which `git apply` accepts, optionally coloured.

use similar::TextDiff;

use crate::pipeline::FileAction;

/// The diff of one file, from `original` to `new_text`.
pub fn unified(path: &str, original: &str, new_text: &str, action: FileAction) -> String {
    let diff = TextDiff::from_lines(original, new_text);
    let mut out = format!("diff --git a/{path} b/{path}\n");
    let (old_name, new_name) = match action {
        FileAction::Modify => (format!("a/{path}"), format!("b/{path}")),
        FileAction::Create => {
            out.push_str("new file mode 100644\n");
            ("/dev/null".to_string(), format!("b/{path}"))
        }
        FileAction::Delete => {
            out.push_str("deleted file mode 100644\n");
            (format!("a/{path}"), "/dev/null".to_string())
        }
    };
    let body =
        diff.unified_diff().context_radius(3).missing_newline_hint(true).header(&old_name, &new_name).to_string();
    out.push_str(&body);
    out
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
