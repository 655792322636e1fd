//! Opening the files pullsmith reads to edit, and the rules file, without
//! being led elsewhere: a name that is a symbolic link is never followed
//! (`O_NOFOLLOW`), the opened handle is checked with `fstat` and anything
//! but a regular file is refused before a byte is read, and no read goes
//! past its size limit, whatever the metadata says (a character device
//! reports size 0). FIFOs are opened with `O_NONBLOCK`, so that opening one
//! never waits for a writer.
//!
//! Checking the handle rather than the name is what closes the race where
//! a file is swapped for a link or a FIFO between the walk and the read.
//! Reading is here; writing is in `write`, with the same checks.

pub mod write;

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The most a kustomization or a generated patch file may hold, read
/// without `--max-file-size` at hand (the default of that option).
pub const GENERATED_MAX_SIZE: u64 = 16 << 20;

/// Why a file was not read (or not written).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A link, FIFO, device, socket or directory where a regular file was
    /// expected. `kind` reads "a symbolic link", "a FIFO", …
    #[error("not a regular file ({kind})")]
    NotRegular { kind: &'static str },
    /// Larger than the limit, by its metadata or by what could be read.
    #[error("file is {size} bytes, over the limit of {limit} bytes{hint}; left alone")]
    TooLarge { size: u64, limit: u64, hint: &'static str },
    /// Rewriting through a rename would give this name a new file and
    /// leave the other names with the old content.
    #[error("the file has {links} hard links, which a rewrite would split; left alone")]
    HardLinks { links: u64 },
    #[error("not UTF-8 text")]
    NotUtf8,
    /// No write bit at all: made read-only on purpose, honoured even as root.
    #[error("the {what} is read-only (mode {mode:04o}); left alone")]
    ReadOnly { what: &'static str, mode: u32 },
    /// The effective user may not write it, or its file system is read-only.
    #[error("the {what} is not writable ({source}); left alone")]
    NotWritable { what: &'static str, source: io::Error },
    #[error("cannot read: {0}")]
    Read(io::Error),
    #[error("cannot write: {0}")]
    Write(io::Error),
    /// Another writer changed the file after pullsmith read it: its bytes
    /// are kept, and the rewrite is not made.
    #[error("changed or removed by another writer since pullsmith read it; left as that writer left it (run again)")]
    Changed,
}

impl FileError {
    /// Something that is not a regular file, which is a note (skipped)
    /// rather than an error, except for links (see `is_link`).
    pub fn is_special_file(&self) -> bool {
        matches!(self, FileError::NotRegular { kind } if *kind != SYMLINK)
    }

    pub fn is_link(&self) -> bool {
        matches!(self, FileError::NotRegular { kind } if *kind == SYMLINK)
    }
}

impl From<FileError> for io::Error {
    fn from(err: FileError) -> io::Error {
        match err {
            FileError::Read(source) | FileError::Write(source) => source,
            other => io::Error::other(other.to_string()),
        }
    }
}

const SYMLINK: &str = "a symbolic link";

/// What kind of file a file type is, for messages: "a FIFO", "a directory", …
pub fn kind_of(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_symlink() {
        SYMLINK
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "of an unknown kind"
    }
}

/// Opens `path` for reading if it is a regular file and not a link, and
/// returns the handle with its own metadata (from `fstat`).
pub fn open_regular(path: &Path) -> Result<(File, Metadata), FileError> {
    open_checked(path, libc::O_NOFOLLOW)
}

/// Like `open_regular`, but a link the user named is followed, as long as
/// it leads to a regular file: for `--rules FILE`.
pub fn open_regular_following(path: &Path) -> Result<(File, Metadata), FileError> {
    open_checked(path, 0)
}

fn open_checked(path: &Path, extra_flags: libc::c_int) -> Result<(File, Metadata), FileError> {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
    // writer. It changes nothing for the regular files that are read.
    let opened = OpenOptions::new().read(true).custom_flags(extra_flags | libc::O_NONBLOCK | libc::O_NOCTTY).open(path);
    let file = match opened {
        Ok(file) => file,
        // ELOOP is how O_NOFOLLOW says the name is a link.
        Err(err) if extra_flags & libc::O_NOFOLLOW != 0 && err.raw_os_error() == Some(libc::ELOOP) => {
            return Err(FileError::NotRegular { kind: SYMLINK })
        }
        Err(err) => return Err(FileError::Read(err)),
    };
    let metadata = file.metadata().map_err(FileError::Read)?;
    if !metadata.is_file() {
        return Err(FileError::NotRegular { kind: kind_of(metadata.file_type()) });
    }
    Ok((file, metadata))
}

/// Reads what an open regular file holds, at most `limit` bytes: the
/// handle's size is checked first, and then no more than `limit + 1`
/// bytes are read, so a file that grows meanwhile is caught too.
pub fn read_open(mut file: File, metadata: &Metadata, limit: u64, hint: &'static str) -> Result<Vec<u8>, FileError> {
    if metadata.len() > limit {
        return Err(FileError::TooLarge { size: metadata.len(), limit, hint });
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    (&mut file).take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(FileError::Read)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge { size: bytes.len() as u64, limit, hint });
    }
    Ok(bytes)
}

/// The first directory between `root` and `root/relative` that is a
/// symbolic link (relative to `root`), if any: a path named by a file of the
/// repository (a Helm values file, a chart directory) must not lead out of
/// it through a linked directory. The last component is not checked (the
/// opening functions here refuse a linked file themselves); a component
/// that does not exist ends the check.
pub fn linked_dir_on_path(root: &Path, relative: &str) -> Option<String> {
    let parts: Vec<&str> = relative.split('/').filter(|p| !p.is_empty()).collect();
    let mut at = root.to_path_buf();
    for (index, part) in parts.iter().enumerate().take(parts.len().saturating_sub(1)) {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(metadata) if metadata.file_type().is_symlink() => return Some(parts[..=index].join("/")),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// The bytes of a regular file that is not a link, at most `limit` of them.
pub fn read_unlinked(path: &Path, limit: u64, hint: &'static str) -> Result<Vec<u8>, FileError> {
    let (file, metadata) = open_regular(path)?;
    read_open(file, &metadata, limit, hint)
}

/// `read_unlinked` as UTF-8 text.
pub fn read_unlinked_text(path: &Path, limit: u64) -> Result<String, FileError> {
    String::from_utf8(read_unlinked(path, limit, "")?).map_err(|_| FileError::NotUtf8)
}

/// The text of a regular file that is not a link: `Ok(None)` when nothing
/// is there at all, an error when something other than a regular file is.
pub fn read_existing_text(path: &Path, limit: u64) -> Result<Option<String>, FileError> {
    match open_regular(path) {
        Ok((file, metadata)) => {
            let bytes = read_open(file, &metadata, limit, "")?;
            String::from_utf8(bytes).map(Some).map_err(|_| FileError::NotUtf8)
        }
        Err(FileError::Read(err)) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// The bytes of a file the user named (`--rules FILE`), at most `limit`:
/// a link is followed, but what it leads to must be a regular file, so a
/// FIFO or `/dev/zero` is refused instead of read forever.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let (file, metadata) = open_regular_following(path)?;
    read_open(file, &metadata, limit, "")
}

/// `read_regular` as UTF-8 text.
pub fn read_regular_text(path: &Path, limit: u64) -> Result<String, FileError> {
    String::from_utf8(read_regular(path, limit)?).map_err(|_| FileError::NotUtf8)
}

/// Makes a write past `ulimit -f` fail with `EFBIG`, which is handled (the
/// temporary file removed, the file reported), instead of killing the
/// process with `SIGXFSZ` and leaving the temporary file behind.
pub fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler
    // code, and SIGXFSZ is not used by anything else in the process.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
