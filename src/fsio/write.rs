//! Atomic writes: a temporary file beside the target, the target's mode,
//! owner and group given to it, then a rename, so a crash never leaves a
//! half-written manifest. Like rustfmt and yq, the data is not fsync'd: the
//! rename is what makes the write atomic, and a sync per file would cost
//! more than the rewrite.
//!
//! Nothing is ever written through a link: the file replaced must be a
//! regular file (checked on an `O_NOFOLLOW` handle) with a single name, a
//! new file is created under a temporary name with `O_EXCL` and then linked
//! to its name, which fails if anything (a dangling link included) took
//! that name meanwhile. The temporary file is removed on every error.
//!
//! pullsmith writes only where its user could: the file it replaces, and
//! the directory that holds it or gets a new file, must be writable by the
//! effective user (`faccessat` with `AT_EACCESS`, which also tells a
//! read-only file system). And since root may write anywhere, a file or
//! directory without any write bit (`chmod a-w`) is refused even as root:
//! someone made it read-only on purpose, which `rm` and editors honour by
//! asking, and an unattended run cannot ask. Without this, a rename would
//! replace a read-only file, since rename(2) asks only for the directory.

use std::fs::{self, Metadata, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::FileAction;
use crate::fsio::{self, FileError};

/// Replaces the regular file at `path` with `contents`, keeping its mode,
/// owner and group (as `sed -i` does). A link, a FIFO or any other
/// non-regular file is refused, and so is a file with several hard links:
/// the rename would give this name a new file and leave the others behind.
pub fn atomic_write(path: &Path, contents: &[u8]) -> Result<(), FileError> {
    let metadata = replaceable(path)?;
    let like = Like { mode: Some(metadata.mode() & 0o7777), owner: (metadata.uid(), metadata.gid()) };
    with_temp(path, contents, &like, |temp| fs::rename(temp, path))
}

/// [`atomic_write`] of a file pullsmith read as `original`: when the file
/// no longer holds exactly those bytes (another writer, an editor, a second
/// run), nothing is written and [`FileError::Changed`] says so, unless it
/// already holds `contents` (two runs at once agree). The check is
/// made on the temporary file's side, right before the rename, so the
/// window in which another write is lost is that of one `read` and one
/// `rename`, not the whole run.
pub fn atomic_write_over(path: &Path, original: &[u8], contents: &[u8]) -> Result<(), FileError> {
    let metadata = replaceable(path)?;
    let like = Like { mode: Some(metadata.mode() & 0o7777), owner: (metadata.uid(), metadata.gid()) };
    let limit = original.len().max(contents.len()) as u64 + 1;
    let changed = std::cell::Cell::new(false);
    let result = with_temp(path, contents, &like, |temp| match fsio::read_unlinked(path, limit, "") {
        Ok(now) if now == original => fs::rename(temp, path),
        // Already what this write makes (a second run at the same time): nothing to do.
        Ok(now) if now == contents => Ok(()),
        // Other bytes, grown past them, gone, or no longer a regular file.
        _ => {
            changed.set(true);
            Err(io::Error::other("changed since read"))
        }
    });
    if changed.get() {
        return Err(FileError::Changed);
    }
    result
}

/// Creates `path`, which must not exist, not even as a dangling link. The
/// new file gets the default mode (0666 less the umask) and the owner and
/// group of its directory, so that a run as root in a container leaves the
/// repository's owner able to edit it.
pub fn create_new(path: &Path, contents: &[u8]) -> Result<(), FileError> {
    let dir = parent_dir(path);
    let dir_metadata = fs::metadata(dir).map_err(FileError::Write)?;
    writable(dir, &dir_metadata, Written::Directory)?;
    let like = Like { mode: None, owner: (dir_metadata.uid(), dir_metadata.gid()) };
    // link(2) never follows a link at its target name and never replaces
    // anything, unlike rename(2) and open(2) without O_EXCL.
    with_temp(path, contents, &like, |temp| fs::hard_link(temp, path)).map_err(|err| match err {
        FileError::Write(io) if io.kind() == io::ErrorKind::AlreadyExists => match fs::symlink_metadata(path) {
            Ok(found) if !found.is_file() => FileError::NotRegular { kind: fsio::kind_of(found.file_type()) },
            _ => FileError::Write(io),
        },
        other => other,
    })
}

/// Removes a generated file; a link or anything else that is not a regular
/// file is refused (unlinking never follows a link, but it would remove
/// something pullsmith did not make).
pub fn remove_generated(path: &Path) -> Result<(), FileError> {
    let metadata = fs::symlink_metadata(path).map_err(FileError::Write)?;
    if !metadata.is_file() {
        return Err(FileError::NotRegular { kind: fsio::kind_of(metadata.file_type()) });
    }
    fs::remove_file(path).map_err(FileError::Write)
}

/// Carries out one file's change: rewrite (atomically), create or delete.
pub fn write_change(path: &Path, action: FileAction, contents: &[u8]) -> Result<(), FileError> {
    match action {
        FileAction::Modify => atomic_write(path, contents),
        FileAction::Create => create_new(path, contents),
        FileAction::Delete => remove_generated(path),
    }
}

/// The metadata of the regular file at `path` if pullsmith may replace it:
/// not a link, a single name, and it and its directory writable.
fn replaceable(path: &Path) -> Result<Metadata, FileError> {
    let (file, metadata) = fsio::open_regular(path)?;
    drop(file);
    if metadata.nlink() > 1 {
        return Err(FileError::HardLinks { links: metadata.nlink() });
    }
    writable(path, &metadata, Written::File)?;
    let dir = parent_dir(path);
    let dir_metadata = fs::metadata(dir).map_err(FileError::Write)?;
    writable(dir, &dir_metadata, Written::Directory)?;
    Ok(metadata)
}

/// Refuses a file or directory the effective user may not write, and one
/// that has no write bit at all (see the module documentation).
fn writable(path: &Path, metadata: &Metadata, what: Written) -> Result<(), FileError> {
    let mode = metadata.mode() & 0o7777;
    if mode & 0o222 == 0 {
        return Err(FileError::ReadOnly { what: what.name(), mode });
    }
    let name = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
        .map_err(|_| FileError::Write(io::Error::other("a name with a NUL byte")))?;
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call.
    let denied = unsafe { libc::faccessat(libc::AT_FDCWD, name.as_ptr(), libc::W_OK, libc::AT_EACCESS) } != 0;
    if denied {
        return Err(FileError::NotWritable { what: what.name(), source: io::Error::last_os_error() });
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Written {
    File,
    Directory,
}

impl Written {
    fn name(self) -> &'static str {
        match self {
            Written::File => "file",
            Written::Directory => "directory holding it",
        }
    }
}

/// What the temporary file is made like: `mode` (else the default mode
/// under the umask) and owner and group.
struct Like {
    mode: Option<u32>,
    owner: (u32, u32),
}

/// Writes `contents` to a new temporary file beside `path`, made like
/// `like`, then runs `publish` on it; the temporary name is removed
/// whatever happens (after a rename it no longer exists).
fn with_temp(
    path: &Path,
    contents: &[u8],
    like: &Like,
    publish: impl FnOnce(&Path) -> io::Result<()>,
) -> Result<(), FileError> {
    let (temp, mut file) = create_temp(path, like)?;
    let result = (|| {
        file.write_all(contents).map_err(FileError::Write)?;
        give_owner(&file, like.owner)?;
        // After the chown, which clears set-user-ID and set-group-ID bits.
        if let Some(mode) = like.mode {
            file.set_permissions(Permissions::from_mode(mode)).map_err(FileError::Write)?;
        }
        drop(file);
        publish(&temp).map_err(FileError::Write)
    })();
    if result.is_err() || fs::symlink_metadata(&temp).is_ok() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Distinguishes the temporary files of one process.
static TEMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// `.<name>.pullsmith-<pid>-<n>.tmp` beside `path`, created with `O_EXCL`.
/// A name left by a killed run (containers reuse pids) is skipped, not
/// reused.
fn create_temp(path: &Path, like: &Like) -> Result<(PathBuf, fs::File), FileError> {
    let dir = parent_dir(path);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // Room for the suffix within the 255 bytes a name may have.
    let mut cut = name.len().min(200);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut last_error = None;
    for _ in 0..64 {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{}.pullsmith-{}-{n}.tmp", &name[..cut], std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true).custom_flags(libc::O_NOFOLLOW);
        options.mode(if like.mode.is_some() { 0o600 } else { 0o666 });
        match options.open(&temp) {
            Ok(file) => return Ok((temp, file)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => last_error = Some(err),
            Err(err) => return Err(FileError::Write(err)),
        }
    }
    Err(FileError::Write(last_error.unwrap_or_else(|| io::Error::other("no free temporary file name"))))
}

/// Gives the temporary file the original's owner and group. Without the
/// privilege to (not root), the file stays the writer's, as with `sed -i`,
/// keeping the group when the writer belongs to it; as root a failure is an
/// error, since the owner would otherwise silently change.
fn give_owner(file: &fs::File, (uid, gid): (u32, u32)) -> Result<(), FileError> {
    let current: Metadata = file.metadata().map_err(FileError::Write)?;
    if (current.uid(), current.gid()) == (uid, gid) {
        return Ok(());
    }
    match std::os::unix::fs::fchown(file, Some(uid), Some(gid)) {
        Ok(()) => Ok(()),
        Err(err) if err.raw_os_error() == Some(libc::EPERM) && !is_root() => {
            let _ = std::os::unix::fs::fchown(file, None, Some(gid));
            Ok(())
        }
        Err(err) => Err(FileError::Write(io::Error::new(
            err.kind(),
            format!("cannot give the new file the owner {uid}:{gid} of the old one ({err})"),
        ))),
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_another_writer_changed_or_removed_is_never_overwritten() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("web.yaml");
        fs::write(&path, "image: a\n").unwrap();
        // As read: written.
        atomic_write_over(&path, b"image: a\n", b"image: a\nimagePullPolicy: Always\n").expect("unchanged file");
        assert_eq!(fs::read(&path).unwrap(), b"image: a\nimagePullPolicy: Always\n");
        // Changed since: the other writer's bytes stay, and no temporary file is left.
        fs::write(&path, "image: b\n").unwrap();
        let err = atomic_write_over(&path, b"image: a\n", b"rewrite\n").unwrap_err();
        assert!(matches!(err, FileError::Changed), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"image: b\n");
        // Grown past what was read, or the same bytes plus more.
        fs::write(&path, "image: a\nmore: 1\n").unwrap();
        assert!(matches!(atomic_write_over(&path, b"image: a\n", b"x\n"), Err(FileError::Changed)));
        assert_eq!(fs::read(&path).unwrap(), b"image: a\nmore: 1\n");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "no temporary file is left: {names:?}");
        // Already rewritten the same way by a run at the same time: fine, nothing to do.
        fs::write(&path, "rewrite\n").unwrap();
        atomic_write_over(&path, b"image: b\n", b"rewrite\n").expect("the same rewrite");
        assert_eq!(fs::read(&path).unwrap(), b"rewrite\n");
        // Removed: nothing is created in its place.
        fs::remove_file(&path).unwrap();
        assert!(atomic_write_over(&path, b"image: a\n", b"x\n").is_err());
        assert!(!path.exists());
    }
}
