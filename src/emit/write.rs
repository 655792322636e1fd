//! Atomic writes: a temporary file beside the target, the target's mode
//! copied, then a rename, so a crash never leaves a half-written manifest.
//! Like rustfmt and yq, the data is not fsync'd: the rename is what makes
//! the write atomic, and a sync per file would cost more than the rewrite.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::pipeline::FileAction;

pub fn atomic_write(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.pullsmith-{}.tmp", std::process::id()));
    let permissions = fs::metadata(path)?.permissions();
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&temp)?;
        file.write_all(contents)?;
        file.set_permissions(permissions)?;
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Carries out one file's change: rewrite (atomically), create or delete.
pub fn write_change(path: &Path, action: FileAction, contents: &[u8]) -> std::io::Result<()> {
    match action {
        FileAction::Modify => atomic_write(path, contents),
        FileAction::Create => fs::write(path, contents),
        FileAction::Delete => fs::remove_file(path),
    }
}
