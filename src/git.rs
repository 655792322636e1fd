//! `commit`: one git commit holding exactly the files a run rewrote, built on
//! git2. The commit's tree is HEAD's tree with those files replaced, so
//! nothing else the user staged or changed ever slips in.
//!
//! It writes only through git2 (objects, refs, the index entries of the
//! files it committed); the manifests themselves are written by `emit::write`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::{BranchType, ErrorCode, IndexEntry, IndexTime, Oid, Repository, Signature, Status};

/// Why `commit` refused, before anything was written (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("{path}: not inside a git repository ({source})")]
    NoRepository { path: PathBuf, source: git2::Error },
    #[error("{0}: a bare repository has no files to rewrite")]
    Bare(PathBuf),
    #[error("the repository has no commit yet: nothing to build on")]
    UnbornHead,
    #[error("branch `{branch}` exists but HEAD is not on it; check it out first, or choose another --branch")]
    BranchElsewhere { branch: String },
    #[error("`{branch}` is not a valid branch name")]
    BadBranch { branch: String },
    #[error("files to rewrite have uncommitted changes (commit or stash them, or pass --allow-dirty): {}", .paths.join(", "))]
    Dirty { paths: Vec<String> },
    #[error("no commit author: pass --author \"Name <email>\", set user.name and user.email, or GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL")]
    NoAuthor,
    #[error("--author must look like \"Name <email>\", got `{0}`")]
    BadAuthor(String),
    #[error("git: {0}")]
    Git(#[from] git2::Error),
}

/// The repository around the checkout a run works on.
pub struct Checkout {
    repo: Repository,
    /// PATH relative to the work tree (`""` or `dir/`), to turn run paths into repository paths.
    prefix: String,
}

/// One file the commit holds: its path relative to PATH, and its new content (`None`: deleted).
pub struct CommitFile {
    pub path: String,
    pub content: Option<Vec<u8>>,
}

impl Checkout {
    /// Opens the repository that contains `path` (a linked worktree or a subdirectory too).
    pub fn open(path: &Path) -> Result<Checkout, CommitError> {
        let repo = Repository::discover(path)
            .map_err(|source| CommitError::NoRepository { path: path.to_path_buf(), source })?;
        let workdir = repo.workdir().ok_or_else(|| CommitError::Bare(path.to_path_buf()))?.to_path_buf();
        let canonical_workdir = workdir.canonicalize().unwrap_or(workdir);
        let canonical_path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let relative = canonical_path.strip_prefix(&canonical_workdir).unwrap_or(Path::new(""));
        let mut prefix = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        if !prefix.is_empty() {
            prefix.push('/');
        }
        match repo.head() {
            Err(err) if err.code() == ErrorCode::UnbornBranch => return Err(CommitError::UnbornHead),
            Err(err) => return Err(err.into()),
            Ok(_) => {}
        }
        Ok(Checkout { repo, prefix })
    }

    /// The repository path of a path relative to PATH.
    pub fn repo_path(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    /// Whether git tracks `path` (relative to PATH) at HEAD.
    pub fn is_tracked(&self, path: &str) -> bool {
        let Ok(tree) = self.repo.head().and_then(|h| h.peel_to_tree()) else { return false };
        tree.get_path(Path::new(&self.repo_path(path))).is_ok()
    }

    /// The paths among `paths` (relative to PATH) with changes not committed at HEAD.
    pub fn dirty(&self, paths: &[String]) -> Result<Vec<String>, CommitError> {
        let mut dirty = Vec::new();
        for path in paths {
            let status = match self.repo.status_file(Path::new(&self.repo_path(path))) {
                Ok(status) => status,
                Err(err) if err.code() == ErrorCode::NotFound => continue,
                Err(err) => return Err(err.into()),
            };
            let changed = Status::INDEX_NEW
                | Status::INDEX_MODIFIED
                | Status::INDEX_DELETED
                | Status::INDEX_RENAMED
                | Status::INDEX_TYPECHANGE
                | Status::WT_MODIFIED
                | Status::WT_DELETED
                | Status::WT_RENAMED
                | Status::WT_TYPECHANGE
                | Status::CONFLICTED;
            if status.intersects(changed) {
                dirty.push(path.clone());
            }
        }
        Ok(dirty)
    }

    /// Makes `branch` current: created from HEAD when missing; refused when it
    /// exists and HEAD is elsewhere. Checked before any file is written.
    pub fn check_branch(&self, branch: &str) -> Result<(), CommitError> {
        if !git2::Branch::name_is_valid(branch)? {
            return Err(CommitError::BadBranch { branch: branch.to_string() });
        }
        match self.repo.find_branch(branch, BranchType::Local) {
            Ok(existing) if existing.is_head() => Ok(()),
            Ok(_) => Err(CommitError::BranchElsewhere { branch: branch.to_string() }),
            Err(err) if err.code() == ErrorCode::NotFound => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Creates `branch` from HEAD if needed and points HEAD at it. The work
    /// tree needs no checkout: the branch starts at HEAD's commit.
    pub fn switch_to(&self, branch: &str) -> Result<(), CommitError> {
        if self.repo.find_branch(branch, BranchType::Local).is_err() {
            let head = self.repo.head()?.peel_to_commit()?;
            self.repo.branch(branch, &head, false)?;
        }
        self.repo.set_head(&format!("refs/heads/{branch}"))?;
        Ok(())
    }

    /// The author: `--author`, else the repository's configuration, else the
    /// `GIT_AUTHOR_*` variables, else the `GIT_COMMITTER_*` ones.
    pub fn author(&self, given: Option<&str>) -> Result<Signature<'static>, CommitError> {
        if let Some(text) = given {
            let (name, rest) = text.split_once('<').ok_or_else(|| CommitError::BadAuthor(text.to_string()))?;
            let email = rest.strip_suffix('>').ok_or_else(|| CommitError::BadAuthor(text.to_string()))?;
            if name.trim().is_empty() || email.trim().is_empty() {
                return Err(CommitError::BadAuthor(text.to_string()));
            }
            return Ok(Signature::now(name.trim(), email.trim())?);
        }
        if let Ok(signature) = self.repo.signature() {
            return Ok(signature);
        }
        from_env("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL")
            .or_else(|| from_env("GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"))
            .ok_or(CommitError::NoAuthor)
    }

    /// The committer: `GIT_COMMITTER_*`, else the repository's configuration, else the author.
    fn committer(&self, author: &Signature<'static>) -> Signature<'static> {
        from_env("GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")
            .or_else(|| self.repo.signature().ok())
            .unwrap_or_else(|| author.to_owned())
    }

    /// Commits `files` on top of HEAD, and updates the index entries of
    /// those files (and only those) to match.
    pub fn commit(&self, files: &[CommitFile], message: &str, author: &Signature<'static>) -> Result<Oid, CommitError> {
        let head = self.repo.head()?.peel_to_commit()?;
        let mut tree_index = git2::Index::new()?;
        tree_index.read_tree(&head.tree()?)?;
        let mut modes: BTreeMap<String, u32> = BTreeMap::new();
        for entry in tree_index.iter() {
            modes.insert(String::from_utf8_lossy(&entry.path).into_owned(), entry.mode);
        }
        for file in files {
            let repo_path = self.repo_path(&file.path);
            match &file.content {
                Some(content) => {
                    let id = self.repo.blob(content)?;
                    let mode = modes.get(&repo_path).copied().unwrap_or(0o100644);
                    tree_index.add(&entry(&repo_path, id, mode, content.len()))?;
                }
                None => tree_index.remove_path(Path::new(&repo_path))?,
            }
        }
        let tree_id = tree_index.write_tree_to(&self.repo)?;
        let tree = self.repo.find_tree(tree_id)?;
        let committer = self.committer(author);
        let id = self.repo.commit(Some("HEAD"), author, &committer, message, &tree, &[&head])?;

        // The files just committed are clean; everything else in the index stays as the user left it.
        let mut index = self.repo.index()?;
        for file in files {
            let repo_path = self.repo_path(&file.path);
            match &file.content {
                Some(_) => index.add_path(Path::new(&repo_path))?,
                None => {
                    let _ = index.remove_path(Path::new(&repo_path));
                }
            }
        }
        index.write()?;
        Ok(id)
    }
}

fn from_env(name_var: &str, email_var: &str) -> Option<Signature<'static>> {
    let name = std::env::var(name_var).ok().filter(|v| !v.trim().is_empty())?;
    let email = std::env::var(email_var).ok().filter(|v| !v.trim().is_empty())?;
    Signature::now(&name, &email).ok()
}

fn entry(path: &str, id: Oid, mode: u32, size: usize) -> IndexEntry {
    IndexEntry {
        ctime: IndexTime::new(0, 0),
        mtime: IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode,
        uid: 0,
        gid: 0,
        file_size: u32::try_from(size).unwrap_or(u32::MAX),
        id,
        flags: u16::try_from(path.len()).unwrap_or(0xfff).min(0xfff),
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}
