//! `commit`: one git commit holding exactly the files a run rewrote, built on
//! git2. The commit's tree is HEAD's tree with those files replaced, so
//! nothing else the user staged or changed ever slips in.
//!
//! It writes only through git2 (objects, refs, the index entries of the
//! files it committed) and, for paths whose attributes name a filter driver
//! or a working-tree encoding, `git hash-object -w` (objects only); the
//! manifests themselves are written by `fsio::write`.
//!
//! All or nothing: everything that can refuse is checked before the caller
//! writes a file. [`Checkout::open`] refuses an unfinished merge, rebase,
//! cherry-pick, revert, `git am` or bisect; [`Checkout::prepare`] refuses a
//! locked index, locks the refs it will move (held until the commit) and
//! stores every blob through the repository's attributes and filters, as
//! `git add` would. Only then are files written, and
//! [`Prepared::commit`] can fail only on IO, reported as "written but not
//! committed" (exit 3), never as a refusal.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use git2::{
    AttrCheckFlags, AttrValue, BranchType, ErrorCode, IndexEntry, IndexTime, Oid, Reference, Repository,
    RepositoryState, Signature, Status, Transaction,
};

/// Why `commit` refused, before anything was written (exit 2), or, inside
/// [`AfterWriteError`], why a commit could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// PATH is not inside a git work tree.
    #[error("{path}: not inside a git repository ({})", .error.message())]
    NoRepository { path: PathBuf, error: git2::Error },
    /// PATH is inside a bare repository.
    #[error("{0}: a bare repository has no files to rewrite")]
    Bare(PathBuf),
    /// HEAD names a branch with no commit.
    #[error("the repository has no commit yet: nothing to build on")]
    UnbornHead,
    /// An unfinished merge, rebase, cherry-pick, revert, `git am` or bisect:
    /// git's porcelain refuses to commit then, and so does pullsmith.
    #[error("{operation} is in progress: finish it or abort it first ({hint})")]
    InProgress { operation: &'static str, hint: &'static str },
    /// Nothing to change in the work tree, but HEAD's version of these files
    /// would be rewritten: the rewrite is in the work tree, not committed.
    /// A refusal (exit 2) like [`CommitError::Dirty`], whose case it is
    /// (files to rewrite at HEAD with uncommitted changes), not a success: a
    /// script that runs `apply`, `commit`, then `git push` must stop rather
    /// than push nothing. `--allow-dirty` does not commit them for the user.
    #[error("nothing to change in the working tree, but HEAD is not compliant: the working tree already holds the rewrite, not committed (after `pullsmith apply`?) in {}; commit it with `git add -- {} && git commit`, or `git stash` and re-run `pullsmith commit`", .paths.join(", "), shell_words(.paths))]
    RewriteNotCommitted { paths: Vec<String> },
    /// `--branch` names a branch that exists, HEAD is not on it, and it does
    /// not hold the commit this run would make: adding to it would build on
    /// a base other than HEAD, so pullsmith asks which one the user means.
    #[error("branch `{branch}` exists, HEAD is not on it, and it does not hold this rewrite; pass --reset-branch to rebuild it from HEAD (its commits are replaced), or `git checkout {branch}` and re-run to commit on top of it")]
    BranchElsewhere { branch: String },
    /// `--reset-branch` would move a branch that another worktree has checked out.
    #[error("branch `{branch}` is checked out in the worktree `{}`; git does not move a branch checked out elsewhere, and neither does pullsmith", .worktree.display())]
    BranchCheckedOutElsewhere { branch: String, worktree: PathBuf },
    /// `--branch` is not a name `git branch` accepts.
    #[error("`{branch}` is not a valid branch name ({reason})")]
    BadBranch { branch: String, reason: &'static str },
    /// `--message` is empty or only whitespace.
    #[error("--message is empty: give a commit message, or leave --message out for the default one")]
    EmptyMessage,
    /// A file to rewrite has uncommitted changes.
    #[error("files to rewrite have uncommitted changes (commit or stash them, or pass --allow-dirty): {}", .paths.join(", "))]
    Dirty { paths: Vec<String> },
    /// No identity anywhere.
    #[error("no commit author: pass --author \"Name <email>\", set user.name and user.email, or GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL")]
    NoAuthor,
    /// `--author` is not `Name <email>`.
    #[error("--author must look like \"Name <email>\", got `{0}`")]
    BadAuthor(String),
    /// A lock file of git's is present: another git process is at work, or one crashed.
    #[error("`{}` exists: another git process is running, or one crashed (remove the file if no git process is running)", .lock.display())]
    Locked { lock: PathBuf },
    /// A path whose attributes call for a conversion only git can do, and `git` cannot be run.
    #[error("{path}: its git attributes give it `{attribute}`, which only git can apply, and `git` cannot be run ({reason}); install git, or leave the file out with --exclude")]
    NeedsGit { path: String, attribute: String, reason: String },
    /// `git hash-object` (a filter driver, usually) failed on a path.
    #[error("{path}: `git hash-object` failed ({attribute}): {message}")]
    HashObject { path: String, attribute: String, message: String },
    /// A git2 operation failed; `action` says what was being done.
    #[error("cannot {action}: {}", .error.message())]
    Git { action: String, error: git2::Error },
}

/// A commit that failed after its files were written (exit 3, never 2).
#[derive(Debug, thiserror::Error)]
pub enum AfterWriteError {
    /// The index and refs are as they were: the written files show as changes not staged.
    #[error("{error}; nothing was committed: the files written are left as changes not staged")]
    NotCommitted { error: CommitError },
    /// The index was updated but the ref could not be moved.
    #[error("{error}; nothing was committed: the files written are staged (as by `git add`) but not committed")]
    StagedNotCommitted { error: CommitError },
}

/// Adds to a git2 result what was being done, for a message that says it once.
trait Doing<T> {
    fn doing(self, action: &str) -> Result<T, CommitError>;
}

impl<T> Doing<T> for Result<T, git2::Error> {
    fn doing(self, action: &str) -> Result<T, CommitError> {
        self.map_err(|error| CommitError::Git { action: action.to_string(), error })
    }
}

/// The repository around the checkout a run works on.
pub struct Checkout {
    repo: Repository,
    workdir: PathBuf,
}

/// One file the commit holds: its path relative to the work tree, where it is on
/// disk, and its new content (`None`: deleted).
#[derive(Debug, Clone)]
pub struct CommitFile {
    pub path: String,
    pub abs_path: PathBuf,
    pub content: Option<Vec<u8>>,
}

impl Checkout {
    /// Opens the repository that contains `path` (a linked worktree or a
    /// subdirectory too), refusing one in the middle of a merge, rebase,
    /// cherry-pick, revert, `git am` or bisect.
    pub fn open(path: &Path) -> Result<Checkout, CommitError> {
        let repo = Repository::discover(path)
            .map_err(|error| CommitError::NoRepository { path: path.to_path_buf(), error })?;
        let workdir = repo.workdir().ok_or_else(|| CommitError::Bare(path.to_path_buf()))?.to_path_buf();
        let canonical_workdir = workdir.canonicalize().unwrap_or_else(|_| workdir.clone());
        match repo.head() {
            Err(err) if err.code() == ErrorCode::UnbornBranch => return Err(CommitError::UnbornHead),
            Err(error) => return Err(CommitError::Git { action: "read HEAD".to_string(), error }),
            Ok(_) => {}
        }
        if let Some((operation, hint)) = operation_in_progress(repo.state()) {
            return Err(CommitError::InProgress { operation, hint });
        }
        Ok(Checkout { repo, workdir: canonical_workdir })
    }

    /// The work tree's root (canonical).
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// The repository's git directories: its own (a linked worktree's is
    /// below the common one) and the common one.
    pub fn git_dirs(&self) -> Vec<PathBuf> {
        [self.repo.path(), self.repo.commondir()]
            .into_iter()
            .map(|dir| dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()))
            .collect()
    }

    /// The repository path of a run's path: the same, since a run's paths
    /// are relative to the work tree's root whatever PATH is.
    pub fn repo_path(&self, path: &str) -> String {
        path.to_string()
    }

    /// Whether git tracks `path` (relative to the work tree) at HEAD.
    pub fn is_tracked(&self, path: &str) -> bool {
        let Ok(tree) = self.repo.head().and_then(|h| h.peel_to_tree()) else { return false };
        tree.get_path(Path::new(&self.repo_path(path))).is_ok()
    }

    /// The paths among `paths` (relative to the work tree) with changes not committed at HEAD.
    pub fn dirty(&self, paths: &[String]) -> Result<Vec<String>, CommitError> {
        let mut dirty = Vec::new();
        for path in paths {
            let status = match self.repo.status_file(Path::new(&self.repo_path(path))) {
                Ok(status) => status,
                Err(err) if err.code() == ErrorCode::NotFound => continue,
                Err(error) => return Err(CommitError::Git { action: format!("read the status of `{path}`"), error }),
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

    /// Checks that `--branch` is a name `git branch` accepts. What the
    /// branch holds and where HEAD is are looked at later, under the ref
    /// locks, and only when there is something to commit: a run with nothing
    /// to change is exit 0 whatever state the branch is in.
    pub fn check_branch_name(&self, branch: &str) -> Result<(), CommitError> {
        match invalid_branch_reason(branch) {
            Some(reason) => Err(CommitError::BadBranch { branch: branch.to_string(), reason }),
            None => Ok(()),
        }
    }

    /// The commit `refs/heads/{branch}` points at, `None` when it does not exist.
    fn branch_tip(&self, branch: &str) -> Result<Option<git2::Commit<'_>>, CommitError> {
        match self.repo.find_branch(branch, BranchType::Local) {
            Ok(existing) => {
                existing.get().peel_to_commit().map(Some).doing(&format!("read the commit of branch `{branch}`"))
            }
            Err(err) if err.code() == ErrorCode::NotFound => Ok(None),
            Err(error) => Err(CommitError::Git { action: format!("look up branch `{branch}`"), error }),
        }
    }

    /// The other worktree (the main one, or a linked one) whose HEAD is on
    /// `refs/heads/{branch}`, if any.
    fn checked_out_elsewhere(&self, branch: &str) -> Option<PathBuf> {
        let refname = format!("refs/heads/{branch}");
        let own = self.repo.path().canonicalize().ok();
        let on_branch = |repo: &Repository| {
            let is_other = repo.path().canonicalize().ok() != own;
            let head_is_branch =
                repo.find_reference("HEAD").ok().and_then(|head| head.symbolic_target().map(str::to_string))
                    == Some(refname.clone());
            (is_other && head_is_branch).then(|| repo.workdir().unwrap_or(repo.path()).to_path_buf())
        };
        if let Some(found) = Repository::open(self.repo.commondir()).ok().as_ref().and_then(on_branch) {
            return Some(found);
        }
        let names = self.repo.worktrees().ok()?;
        names.iter().flatten().find_map(|name| {
            let worktree = self.repo.find_worktree(name).ok()?;
            let repo = Repository::open_from_worktree(&worktree).ok()?;
            on_branch(&repo)
        })
    }

    /// The tracked paths (relative to the work tree) whose index or
    /// work-tree version differs from HEAD's.
    pub fn dirty_tracked(&self) -> Result<Vec<String>, CommitError> {
        let mut options = git2::StatusOptions::new();
        options.include_untracked(false).include_ignored(false).exclude_submodules(true);
        let statuses = self.repo.statuses(Some(&mut options)).doing("read the status of the work tree")?;
        Ok(statuses.iter().filter_map(|entry| entry.path().map(str::to_string)).collect())
    }

    /// HEAD's files, as committed, in a new temporary directory that is
    /// removed when the snapshot is dropped. Blobs are written as stored
    /// (no line-ending conversion or filter), links as links; submodules are
    /// left out. This is what "HEAD is compliant" is checked against when
    /// the work tree is: running the same rules on it tells whether the
    /// rewrite is already in the work tree but not committed.
    pub fn head_snapshot(&self) -> Result<HeadSnapshot, CommitError> {
        let tree = self.repo.head().and_then(|head| head.peel_to_tree()).doing("read HEAD's tree")?;
        let dir = HeadSnapshot::create().map_err(|err| CommitError::Git {
            action: "create a temporary directory for HEAD's files".to_string(),
            error: git2::Error::from_str(&err.to_string()),
        })?;
        let mut failure = None;
        tree.walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
            let Some(name) = entry.name() else { return git2::TreeWalkResult::Skip };
            let path = dir.path.join(parent).join(name);
            let result = match entry.kind() {
                Some(git2::ObjectType::Tree) => std::fs::create_dir_all(&path),
                Some(git2::ObjectType::Blob) => match self.repo.find_blob(entry.id()) {
                    Ok(blob) if entry.filemode() == 0o120000 => {
                        let target = std::ffi::OsStr::from_bytes(blob.content());
                        std::os::unix::fs::symlink(target, &path)
                    }
                    Ok(blob) => std::fs::write(&path, blob.content()),
                    Err(err) => Err(std::io::Error::other(err.message().to_string())),
                },
                _ => return git2::TreeWalkResult::Skip,
            };
            match result {
                Ok(()) => git2::TreeWalkResult::Ok,
                Err(err) => {
                    failure = Some(format!("{}: {err}", path.display()));
                    git2::TreeWalkResult::Abort
                }
            }
        })
        .or_else(|error| if failure.is_some() { Ok(()) } else { Err(error) })
        .doing("copy HEAD's files")?;
        if let Some(message) = failure {
            return Err(CommitError::Git {
                action: "copy HEAD's files".to_string(),
                error: git2::Error::from_str(&message),
            });
        }
        Ok(dir)
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
            return Signature::now(name.trim(), email.trim()).map_err(|_| CommitError::BadAuthor(text.to_string()));
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

    /// Everything that can refuse, before the caller writes a file: the
    /// index must not be locked, the refs the commit moves are locked (and
    /// stay locked until [`Prepared::commit`] or the drop), the blobs of
    /// `files` are stored as `git add` would store them, and `--branch` is
    /// placed (see [`Placement`]). Only objects are written, which nothing
    /// refers to yet.
    ///
    /// When `branch` exists, HEAD is elsewhere and the branch's tree is
    /// already the tree this commit would have (the same rewrite of the same
    /// HEAD, committed by an earlier run), there is nothing to do:
    /// [`Preparation::AlreadyOnBranch`], so that a scheduled job re-run on an
    /// unchanged repository makes no new commit and pushes nothing. Otherwise
    /// an existing branch with HEAD elsewhere is refused, unless
    /// `reset_branch`.
    pub fn prepare(
        &self,
        branch: Option<&str>,
        reset_branch: bool,
        files: &[CommitFile],
    ) -> Result<Preparation<'_>, CommitError> {
        let mut transaction = self.repo.transaction().doing("start a ref transaction")?;
        let head = self.repo.head().doing("read HEAD")?;
        let other_branch = branch.filter(|name| head.name() != Some(format!("refs/heads/{name}").as_str()));
        let target = match other_branch {
            Some(name) => format!("refs/heads/{name}"),
            None => head.name().unwrap_or("HEAD").to_string(),
        };
        self.lock(&mut transaction, &target)?;
        if other_branch.is_some() {
            // Locked even when the branch turns out to exist: a lock that
            // sets nothing is released unchanged.
            self.lock(&mut transaction, "HEAD")?;
        }
        // Read under the locks: nobody moves HEAD or the branch between here and the commit.
        let parent = self.repo.head().and_then(|head| head.peel_to_commit()).doing("read HEAD's commit")?;
        let head_name = self.repo.head().ok().and_then(|head| head.shorthand().map(str::to_string));
        let existing_tip = match other_branch {
            Some(name) => self.branch_tip(name)?.map(|tip| (tip.id(), tip.tree_id())),
            None => None,
        };
        let placement = match (other_branch, existing_tip) {
            (None, _) => Placement::OnHead,
            (Some(name), None) => Placement::NewBranch(name.to_string()),
            (Some(name), Some(_)) => Placement::ResetBranch(name.to_string()),
        };
        if placement.touches_work_tree() {
            self.check_index_unlocked()?;
        }

        let mut blobs = BTreeMap::new();
        for file in files {
            let repo_path = self.repo_path(&file.path);
            let blob = match &file.content {
                Some(content) => Some(self.store_blob(&repo_path, content)?),
                None => None,
            };
            blobs.insert(file.path.clone(), blob);
        }
        let prepared = Prepared { checkout: self, transaction, parent, target, placement, head_name, blobs };

        if let (Some(name), Some((tip, tip_tree))) = (other_branch, existing_tip) {
            let (tree, _) = prepared.build_tree(files, false)?;
            if tree == tip_tree {
                return Ok(Preparation::AlreadyOnBranch { branch: name.to_string(), commit: tip });
            }
            if !reset_branch {
                return Err(CommitError::BranchElsewhere { branch: name.to_string() });
            }
            if let Some(worktree) = self.checked_out_elsewhere(name) {
                return Err(CommitError::BranchCheckedOutElsewhere { branch: name.to_string(), worktree });
            }
        }
        Ok(Preparation::Ready(prepared))
    }

    /// Refuses when `index.lock` exists: the commit updates the index entries of the files it wrote.
    fn check_index_unlocked(&self) -> Result<(), CommitError> {
        let index = self.repo.index().doing("open the index")?;
        if let Some(index_path) = index.path() {
            let mut lock = OsString::from(index_path.as_os_str());
            lock.push(".lock");
            let lock = PathBuf::from(lock);
            if lock.exists() {
                return Err(CommitError::Locked { lock });
            }
        }
        Ok(())
    }

    /// Locks `refname` in `transaction`; a lock file already there is a refusal that names it.
    fn lock(&self, transaction: &mut Transaction<'_>, refname: &str) -> Result<(), CommitError> {
        transaction.lock_ref(refname).map_err(|error| {
            if error.code() == ErrorCode::Locked {
                let dir = if refname == "HEAD" { self.repo.path() } else { self.repo.commondir() };
                CommitError::Locked { lock: dir.join(format!("{refname}.lock")) }
            } else {
                CommitError::Git { action: format!("lock `{refname}`"), error }
            }
        })
    }

    /// Stores `content` as the blob of `repo_path`, converted as `git add`
    /// converts it: line endings (`core.autocrlf`, `text`, `eol`) and `ident`
    /// by libgit2, filter drivers (git-crypt, sops, LFS…) and
    /// `working-tree-encoding`, which libgit2 cannot apply, by `git` itself.
    fn store_blob(&self, repo_path: &str, content: &[u8]) -> Result<Oid, CommitError> {
        if let Some(attribute) = self.git_only_attribute(repo_path)? {
            return self.hash_with_git(repo_path, content, &attribute);
        }
        let action = format!("store the blob of `{repo_path}`");
        let mut writer = self.repo.blob_writer(Some(Path::new(repo_path))).doing(&action)?;
        writer.write_all(content).map_err(|err| CommitError::Git {
            action: action.clone(),
            error: git2::Error::from_str(&err.to_string()),
        })?;
        writer.commit().doing(&action)
    }

    /// `filter=NAME` or `working-tree-encoding=NAME` when the attributes of
    /// `repo_path` give it one (a string value: `filter` alone names no driver).
    fn git_only_attribute(&self, repo_path: &str) -> Result<Option<String>, CommitError> {
        for name in ["filter", "working-tree-encoding"] {
            let value = self
                .repo
                .get_attr_bytes(Path::new(repo_path), name, AttrCheckFlags::FILE_THEN_INDEX)
                .doing(&format!("read the attributes of `{repo_path}`"))?;
            match AttrValue::from_bytes(value) {
                AttrValue::String(value) => return Ok(Some(format!("{name}={value}"))),
                AttrValue::Bytes(value) => return Ok(Some(format!("{name}={}", String::from_utf8_lossy(value)))),
                AttrValue::True | AttrValue::False | AttrValue::Unspecified => {}
            }
        }
        Ok(None)
    }

    /// `git hash-object -w --stdin --path=PATH`: the blob `git add` would
    /// store, clean filter included, run on the same repository git2 opened.
    fn hash_with_git(&self, repo_path: &str, content: &[u8], attribute: &str) -> Result<Oid, CommitError> {
        let needs_git = |reason: String| CommitError::NeedsGit {
            path: repo_path.to_string(),
            attribute: attribute.to_string(),
            reason,
        };
        let failed = |message: String| CommitError::HashObject {
            path: repo_path.to_string(),
            attribute: attribute.to_string(),
            message,
        };
        let mut child = Command::new("git")
            .args(["hash-object", "-w", "--stdin"])
            .arg(format!("--path={repo_path}"))
            .current_dir(&self.workdir)
            .env("GIT_DIR", self.repo.path())
            .env("GIT_WORK_TREE", &self.workdir)
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_OBJECT_DIRECTORY")
            .env_remove("GIT_ALTERNATE_OBJECT_DIRECTORIES")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| needs_git(err.to_string()))?;
        let mut stdin = child.stdin.take().expect("stdin was set to piped");
        // Fed from a thread: a filter may write before it has read everything.
        let output = std::thread::scope(|scope| {
            let feeder = scope.spawn(move || stdin.write_all(content));
            let output = child.wait_with_output();
            // A filter that exits without reading all of its input is git's to report.
            let _ = feeder.join();
            output
        })
        .map_err(|err| failed(err.to_string()))?;
        if !output.status.success() {
            return Err(failed(short_message(&output.stderr)));
        }
        let mut text = String::new();
        output.stdout.as_slice().read_to_string(&mut text).map_err(|err| failed(err.to_string()))?;
        let id = Oid::from_str(text.trim()).map_err(|_| failed(format!("unexpected output `{}`", text.trim())))?;
        let exists = self.repo.odb().map(|odb| odb.exists(id)).unwrap_or(false);
        if !exists {
            return Err(failed(format!("blob {id} is not in the repository pullsmith opened")));
        }
        Ok(id)
    }
}

/// What [`Checkout::prepare`] found.
pub enum Preparation<'a> {
    /// Refs locked, blobs stored: write the files (when
    /// [`Prepared::writes_work_tree`]), then [`Prepared::commit`].
    Ready(Prepared<'a>),
    /// `--branch` exists, HEAD is elsewhere, and the branch's tip `commit`
    /// already has the tree this commit would have: nothing to write or commit.
    AlreadyOnBranch { branch: String, commit: Oid },
}

/// Where the commit goes, and so what it touches besides objects and one ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// On the branch HEAD is on (or on HEAD itself, detached): the files are
    /// written and their index entries updated, as `git commit` leaves them.
    OnHead,
    /// On a new branch created from HEAD; HEAD moves onto it, as with
    /// `git checkout -b`, and the files are written as for [`Placement::OnHead`].
    NewBranch(String),
    /// `--reset-branch` of an existing branch HEAD is not on: the branch is
    /// rebuilt from HEAD (the commit's parent is HEAD, the branch ref moves
    /// to it, its earlier commits are no longer on it). HEAD, the index and
    /// the work tree stay exactly as they were: they belong to HEAD's
    /// branch, and writing the rewrite into them would leave HEAD's branch
    /// with uncommitted changes. `git checkout BRANCH` shows the result.
    ResetBranch(String),
}

impl Placement {
    /// Whether the files are written in the work tree and the index updated.
    pub fn touches_work_tree(&self) -> bool {
        !matches!(self, Placement::ResetBranch(_))
    }
}

/// A commit made ready by [`Checkout::prepare`]: refs locked, blobs stored.
/// Dropped without [`Prepared::commit`], it unlocks the refs and leaves
/// nothing behind but unreferenced objects.
pub struct Prepared<'a> {
    checkout: &'a Checkout,
    transaction: Transaction<'a>,
    parent: git2::Commit<'a>,
    /// The ref the commit moves: `refs/heads/…`, or `HEAD` when detached.
    target: String,
    placement: Placement,
    /// HEAD's branch (or `HEAD`) before, for the reflog.
    head_name: Option<String>,
    /// Per file (relative to the work tree): its blob, `None` when deleted.
    blobs: BTreeMap<String, Option<Oid>>,
}

/// An index entry for a committed file (`None`: the file was deleted).
type CommittedEntry = (String, Option<IndexEntry>);

impl Prepared<'_> {
    /// Whether the caller writes the files before [`Prepared::commit`]
    /// (not for [`Placement::ResetBranch`], which commits objects only).
    pub fn writes_work_tree(&self) -> bool {
        self.placement.touches_work_tree()
    }

    /// HEAD's tree with `files` replaced (those [`Checkout::prepare`] was
    /// given; others are not committed), written as tree objects; and the
    /// index entries of the files, with the work-tree files' stat data when
    /// `with_stat`.
    fn build_tree(&self, files: &[CommitFile], with_stat: bool) -> Result<(Oid, Vec<CommittedEntry>), CommitError> {
        let repo = &self.checkout.repo;
        let mut tree_index = git2::Index::new().doing("create an index")?;
        let parent_tree = self.parent.tree().doing("read HEAD's tree")?;
        tree_index.read_tree(&parent_tree).doing("read HEAD's tree")?;
        let modes: BTreeMap<Vec<u8>, u32> = tree_index.iter().map(|entry| (entry.path, entry.mode)).collect();

        let mut entries = Vec::new();
        for file in files {
            let repo_path = self.checkout.repo_path(&file.path);
            // A file `prepare` was not given has no blob: it is not committed.
            let Some(blob) = self.blobs.get(&file.path).copied() else { continue };
            match blob {
                Some(id) => {
                    let mode = modes.get(repo_path.as_bytes()).copied().unwrap_or(0o100644);
                    let metadata = if with_stat { std::fs::symlink_metadata(&file.abs_path).ok() } else { None };
                    let entry = entry(&repo_path, id, mode, metadata.as_ref());
                    tree_index.add(&entry).doing(&format!("add `{repo_path}` to the tree"))?;
                    entries.push((repo_path, Some(entry)));
                }
                None => {
                    tree_index
                        .remove_path(Path::new(&repo_path))
                        .doing(&format!("remove `{repo_path}` from the tree"))?;
                    entries.push((repo_path, None));
                }
            }
        }
        let tree_id = tree_index.write_tree_to(repo).doing("write the tree")?;
        Ok((tree_id, entries))
    }

    /// Commits `files` (those of [`Checkout::prepare`] that were written,
    /// or all of them for [`Placement::ResetBranch`]) on top of HEAD, then
    /// updates the index entries of those files, and only those (not for
    /// [`Placement::ResetBranch`]), then moves the ref. The files are
    /// already written: any failure is an [`AfterWriteError`].
    pub fn commit(
        self,
        files: &[CommitFile],
        message: &str,
        author: &Signature<'static>,
    ) -> Result<Oid, AfterWriteError> {
        let not_committed = |error| AfterWriteError::NotCommitted { error };
        let repo = &self.checkout.repo;
        let (tree_id, entries) = self.build_tree(files, true).map_err(not_committed)?;
        let tree = repo.find_tree(tree_id).doing("read the tree").map_err(not_committed)?;
        let committer = self.checkout.committer(author);
        let id = repo
            .commit(None, author, &committer, message, &tree, &[&self.parent])
            .doing("write the commit")
            .map_err(not_committed)?;

        if self.placement.touches_work_tree() {
            // The files just committed are clean; everything else in the index stays as the user left it.
            let mut index = repo.index().doing("open the index").map_err(not_committed)?;
            index.read(false).doing("read the index").map_err(not_committed)?;
            for (repo_path, entry) in &entries {
                match entry {
                    Some(entry) => {
                        index.add(entry).doing(&format!("update `{repo_path}` in the index")).map_err(not_committed)?
                    }
                    // Not in the index (never added, or already removed): nothing to do.
                    None => {
                        let _ = index.remove_path(Path::new(repo_path));
                    }
                }
            }
            index.write().doing("write the index").map_err(not_committed)?;
        }

        let staged = |error| AfterWriteError::StagedNotCommitted { error };
        let subject = message.lines().next().unwrap_or_default();
        let from = self.head_name.as_deref().unwrap_or("HEAD");
        let reflog = match &self.placement {
            Placement::ResetBranch(_) => format!("pullsmith commit --reset-branch: rebuilt from {from}: {subject}"),
            Placement::OnHead | Placement::NewBranch(_) => format!("commit: {subject}"),
        };
        let mut transaction = self.transaction;
        transaction
            .set_target(&self.target, id, Some(&committer), &reflog)
            .doing(&format!("move `{}`", self.target))
            .map_err(staged)?;
        if let Placement::NewBranch(branch) = &self.placement {
            transaction
                .set_symbolic_target(
                    "HEAD",
                    &self.target,
                    Some(&committer),
                    &format!("checkout: moving from {from} to {branch}"),
                )
                .doing("move HEAD")
                .map_err(staged)?;
        }
        transaction.commit().doing(&format!("move `{}`", self.target)).map_err(staged)?;
        Ok(id)
    }
}

/// A temporary directory holding HEAD's files ([`Checkout::head_snapshot`]),
/// removed on drop.
pub struct HeadSnapshot {
    path: PathBuf,
}

impl HeadSnapshot {
    fn create() -> std::io::Result<HeadSnapshot> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        for attempt in 0..100u32 {
            let name = format!("pullsmith-head-{}-{nanos}-{attempt}", std::process::id());
            let path = std::env::temp_dir().join(name);
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(HeadSnapshot { path }),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(err),
            }
        }
        Err(std::io::Error::other("no free temporary directory name"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for HeadSnapshot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// `paths` as words a POSIX shell reads back as they are: plain when made
/// of safe characters only, else in single quotes.
fn shell_words(paths: &[String]) -> String {
    let word = |path: &String| {
        let safe = !path.is_empty()
            && path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-' | b'+' | b'@' | b':'));
        if safe {
            path.clone()
        } else {
            format!("'{}'", path.replace('\'', "'\\''"))
        }
    };
    paths.iter().map(word).collect::<Vec<_>>().join(" ")
}

/// Why `--message` cannot be a commit message: empty or only whitespace.
pub fn check_message(message: &str) -> Result<(), CommitError> {
    if message.trim().is_empty() {
        return Err(CommitError::EmptyMessage);
    }
    Ok(())
}

/// Why `git branch NAME` would refuse `name`, or `None`. git's own rules
/// (`git check-ref-format --branch`): a valid `refs/heads/NAME`, not
/// starting with `-`, not `HEAD`; and `@` (which git reads as HEAD) and
/// `refs/…` (which would become `refs/heads/refs/…`) are refused too.
fn invalid_branch_reason(name: &str) -> Option<&'static str> {
    if name.trim().is_empty() {
        Some("empty")
    } else if name == "@" || name == "HEAD" {
        Some("git reads it as HEAD")
    } else if name.starts_with('-') {
        Some("it starts with `-`")
    } else if name.starts_with("refs/") {
        Some("give the name without `refs/heads/`")
    } else if name.contains('\0') || !Reference::is_valid_name(&format!("refs/heads/{name}")) {
        Some("see `git check-ref-format --branch`")
    } else {
        None
    }
}

/// The operation git is in the middle of, and how to end it.
fn operation_in_progress(state: RepositoryState) -> Option<(&'static str, &'static str)> {
    match state {
        RepositoryState::Clean => None,
        RepositoryState::Merge => Some(("a merge", "`git merge --continue` or `git merge --abort`")),
        RepositoryState::Revert | RepositoryState::RevertSequence => {
            Some(("a revert", "`git revert --continue` or `git revert --abort`"))
        }
        RepositoryState::CherryPick | RepositoryState::CherryPickSequence => {
            Some(("a cherry-pick", "`git cherry-pick --continue` or `git cherry-pick --abort`"))
        }
        RepositoryState::Bisect => Some(("a bisect", "`git bisect reset`")),
        RepositoryState::Rebase | RepositoryState::RebaseInteractive | RepositoryState::RebaseMerge => {
            Some(("a rebase", "`git rebase --continue` or `git rebase --abort`"))
        }
        RepositoryState::ApplyMailbox | RepositoryState::ApplyMailboxOrRebase => {
            Some(("a `git am`", "`git am --continue` or `git am --abort`"))
        }
    }
}

/// The first lines of a child's stderr, at most 400 characters: enough to
/// say what failed, short enough not to flood a log.
fn short_message(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let joined = text.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join("; ");
    if joined.is_empty() {
        return "no message".to_string();
    }
    match joined.char_indices().nth(400) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

fn from_env(name_var: &str, email_var: &str) -> Option<Signature<'static>> {
    let name = std::env::var(name_var).ok().filter(|v| !v.trim().is_empty())?;
    let email = std::env::var(email_var).ok().filter(|v| !v.trim().is_empty())?;
    Signature::now(&name, &email).ok()
}

/// An index entry for `path`, with the work-tree file's stat data when
/// given, so that `git status` trusts it without hashing the file again.
fn entry(path: &str, id: Oid, mode: u32, metadata: Option<&std::fs::Metadata>) -> IndexEntry {
    // git keeps the low 32 bits of these, and so does the index format.
    let low = |value: i64| value as u32;
    let time = |secs: i64, nanos: i64| IndexTime::new(low(secs) as i32, low(nanos));
    IndexEntry {
        ctime: metadata.map_or(IndexTime::new(0, 0), |m| time(m.ctime(), m.ctime_nsec())),
        mtime: metadata.map_or(IndexTime::new(0, 0), |m| time(m.mtime(), m.mtime_nsec())),
        dev: metadata.map_or(0, |m| m.dev() as u32),
        ino: metadata.map_or(0, |m| m.ino() as u32),
        mode,
        uid: metadata.map_or(0, |m| m.uid()),
        gid: metadata.map_or(0, |m| m.gid()),
        file_size: metadata.map_or(0, |m| m.size() as u32),
        id,
        flags: u16::try_from(path.len()).unwrap_or(0xfff).min(0xfff),
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}
