//! `pullsmith commit` on real temporary git repositories: the commit holds
//! exactly the files pullsmith rewrote (read back with `git` and git2), its
//! parent, branch, message and author are right, unrelated changes stay as the
//! user left them, refusals write nothing, and it works on a branch, a
//! detached HEAD, a shallow clone, a linked worktree and a subdirectory.
//!
//! Every `git` and `pullsmith` process runs with an isolated git
//! configuration (`GIT_CONFIG_GLOBAL=/dev/null`, `GIT_CONFIG_NOSYSTEM=1`,
//! `HOME` and `XDG_CONFIG_HOME` in the test's temporary directory) and without
//! any `GIT_AUTHOR_*`/`GIT_COMMITTER_*`/`EMAIL` variable unless the test sets
//! one, so "no author" really means no author.

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output};

use tempfile::TempDir;

use crate::util::{copy_tree, describe, project_root, pullsmith, read_tree};

type Tree = Vec<(String, Vec<u8>)>;

/// Variables that would leak an identity or another repository into a test.
const GIT_VARIABLES: &[&str] = &[
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_COMMITTER_DATE",
    "EMAIL",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_CEILING_DIRECTORIES",
];

/// Under `dev/` the default rules insert `imagePullPolicy: Always`.
const NEEDS_POLICY: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: extra
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.25
";

const REPO_USER: (&str, &str) = ("Repo User", "repo.user@example.com");

// ---------------------------------------------------------------------------
// Sandbox: a temporary directory with its own HOME, and isolated commands

struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("home/.config")).expect("create home");
        Sandbox { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn home(&self) -> PathBuf {
        self.path("home")
    }

    /// `git` in `cwd` with an isolated configuration and no identity.
    fn git_command(&self, cwd: &Path) -> Process {
        let mut cmd = Process::new("git");
        cmd.current_dir(cwd);
        for var in GIT_VARIABLES {
            cmd.env_remove(var);
        }
        cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("GIT_TERMINAL_PROMPT", "0");
        cmd
    }

    fn git_output(&self, cwd: &Path, args: &[&str]) -> Output {
        self.git_command(cwd).args(args).output().expect("run git")
    }

    /// Runs `git`, which must succeed; its stdout, trimmed.
    fn git(&self, cwd: &Path, args: &[&str]) -> String {
        let output = self.git_output(cwd, args);
        assert!(output.status.success(), "git {args:?} in {}:\n{}", cwd.display(), describe(&output));
        String::from_utf8(output.stdout).expect("git prints UTF-8").trim().to_string()
    }

    /// `pullsmith` with the same isolation as `git`.
    fn pullsmith(&self) -> assert_cmd::Command {
        let mut cmd = pullsmith();
        for var in GIT_VARIABLES {
            cmd.env_remove(var);
        }
        cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"));
        cmd
    }

    /// Runs `pullsmith ARGS` (the last argument usually PATH).
    fn run(&self, args: &[&str]) -> Output {
        self.pullsmith().args(args).output().expect("run pullsmith")
    }

    /// A repository (branch `main`) whose first commit holds `examples/plain`.
    fn plain_repo(&self, name: &str) -> PathBuf {
        let repo = self.path(name);
        self.init(&repo);
        copy_tree(&project_root().join("examples/plain"), &repo);
        self.commit_all(&repo, "initial: plain manifests");
        repo
    }

    fn init(&self, repo: &Path) {
        std::fs::create_dir_all(repo).expect("create repo dir");
        self.git(repo, &["init", "-q", "-b", "main"]);
    }

    /// `git add -A` and a commit by a setup identity given on the command line only.
    fn commit_all(&self, repo: &Path, message: &str) -> String {
        self.git(repo, &["add", "-A"]);
        self.git(repo, &["-c", "user.name=Setup", "-c", "user.email=setup@example.com", "commit", "-q", "-m", message]);
        self.git(repo, &["rev-parse", "HEAD"])
    }

    /// Sets `user.name` and `user.email` in the repository's own configuration.
    fn configure_user(&self, repo: &Path) {
        self.git(repo, &["config", "user.name", REPO_USER.0]);
        self.git(repo, &["config", "user.email", REPO_USER.1]);
    }

    fn head(&self, repo: &Path) -> String {
        self.git(repo, &["rev-parse", "HEAD"])
    }

    fn rev(&self, repo: &Path, rev: &str) -> String {
        self.git(repo, &["rev-parse", "--verify", "-q", rev])
    }

    /// The full name of the branch HEAD is on, or `None` when detached.
    fn head_branch(&self, repo: &Path) -> Option<String> {
        let output = self.git_output(repo, &["symbolic-ref", "-q", "HEAD"]);
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// The parents of `rev`, as `git` records them.
    fn parents(&self, repo: &Path, rev: &str) -> Vec<String> {
        self.git(repo, &["log", "-1", "--format=%P", rev]).split_whitespace().map(str::to_string).collect()
    }

    /// The files `rev` changes against its parent, sorted.
    fn commit_files(&self, repo: &Path, rev: &str) -> Vec<String> {
        let mut files: Vec<String> = self
            .git(repo, &["diff-tree", "-r", "--no-commit-id", "--name-only", "--no-renames", rev])
            .lines()
            .map(str::to_string)
            .collect();
        files.sort();
        files
    }

    /// `git status --porcelain` lines, sorted.
    fn status(&self, repo: &Path) -> Vec<String> {
        let output = self.git_output(repo, &["status", "--porcelain", "--untracked-files=all"]);
        assert!(output.status.success(), "git status:\n{}", describe(&output));
        let mut lines: Vec<String> = String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect();
        lines.sort();
        lines
    }

    /// Everything a refused run must leave as it was: the work tree, HEAD, refs and index.
    fn state(&self, repo: &Path) -> RepoState {
        RepoState {
            files: work_tree(repo),
            head: self.head(repo),
            head_branch: self.head_branch(repo),
            refs: self.git(repo, &["for-each-ref", "--format=%(refname) %(objectname)"]),
            index: self.git(repo, &["ls-files", "--stage"]),
            status: self.status(repo),
        }
    }

    /// The paths `pullsmith diff PATH` would change (from its `diff --git a/…` headers), sorted.
    fn diffed_files(&self, path: &Path) -> Vec<String> {
        let output = self.run(&["diff", path_str(path)]);
        assert_eq!(output.status.code(), Some(0), "pullsmith diff:\n{}", describe(&output));
        let stdout = String::from_utf8(output.stdout).expect("diff is UTF-8");
        let mut files: Vec<String> = stdout
            .lines()
            .filter_map(|line| line.strip_prefix("diff --git a/"))
            .map(|rest| rest.split(" b/").next().expect("a/ path").to_string())
            .collect();
        files.sort();
        files.dedup();
        assert!(!files.is_empty(), "pullsmith diff lists no change:\n{stdout}");
        files
    }
}

#[derive(Debug, PartialEq)]
struct RepoState {
    files: Tree,
    head: String,
    head_branch: Option<String>,
    refs: String,
    index: String,
    status: Vec<String>,
}

/// The work tree's files, without `.git` (a directory, or a file in a linked worktree).
fn work_tree(repo: &Path) -> Tree {
    read_tree(repo).into_iter().filter(|(path, _)| path != ".git" && !path.starts_with(".git/")).collect()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create dirs");
    std::fs::write(path, text).expect("write file");
}

fn read(root: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(root.join(rel)).unwrap_or_else(|err| panic!("read {rel}: {err}"))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The commit id from `pullsmith: committed <id>`; asserts exit 0 and a 40-hex id.
fn committed_id(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(0), "pullsmith commit:\n{}", describe(output));
    let out = stdout(output);
    let id = out
        .lines()
        .find_map(|line| line.strip_prefix("pullsmith: committed "))
        .unwrap_or_else(|| panic!("no `pullsmith: committed <id>` line:\n{}", describe(output)))
        .trim()
        .to_string();
    assert!(
        id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "not a 40-hex commit id: {id:?}"
    );
    id
}

/// The blob at `path` in `rev`'s tree, read with git2.
fn committed_blob(repo: &Path, rev: &str, path: &str) -> Option<Vec<u8>> {
    let repo = git2::Repository::open(repo).expect("git2 opens the repository");
    let tree = repo.revparse_single(rev).expect("rev").peel_to_tree().expect("tree");
    let entry = tree.get_path(Path::new(path)).ok()?;
    let blob = entry.to_object(&repo).expect("object").peel_to_blob().expect("a blob");
    Some(blob.content().to_vec())
}

/// The raw message of `rev`, read with git2.
fn message(repo: &Path, rev: &str) -> String {
    let repo = git2::Repository::open(repo).expect("git2 opens the repository");
    let commit = repo.revparse_single(rev).expect("rev").peel_to_commit().expect("a commit");
    String::from_utf8(commit.message_bytes().to_vec()).expect("UTF-8 message")
}

/// Author `Name <email>` of `rev`.
fn author(sb: &Sandbox, repo: &Path, rev: &str) -> String {
    sb.git(repo, &["log", "-1", "--format=%an <%ae>", rev])
}

/// The files of `examples/plain` after `pullsmith apply` on a plain copy (no git).
fn applied_plain(sb: &Sandbox) -> PathBuf {
    let dir = sb.path("applied");
    copy_tree(&project_root().join("examples/plain"), &dir);
    let output = sb.run(&["apply", path_str(&dir)]);
    assert_eq!(output.status.code(), Some(0), "pullsmith apply:\n{}", describe(&output));
    dir
}

// ---------------------------------------------------------------------------
// The commit itself

#[test]
fn commit_holds_exactly_the_rewritten_files_on_top_of_head() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let before = sb.head(&repo);
    let expected = sb.diffed_files(&repo);

    let output = sb.run(&["commit", path_str(&repo)]);
    let id = committed_id(&output);

    assert_eq!(sb.head(&repo), id, "HEAD moves to the new commit");
    assert_eq!(sb.head_branch(&repo).as_deref(), Some("refs/heads/main"), "HEAD stays on main");
    assert_eq!(sb.parents(&repo, &id), vec![before], "the parent is the previous HEAD");
    assert_eq!(sb.commit_files(&repo, &id), expected, "the commit changes exactly what `pullsmith diff` listed");
    assert_eq!(author(&sb, &repo, &id), format!("{} <{}>", REPO_USER.0, REPO_USER.1), "author from the repo config");

    // The default message: a `pullsmith:` summary line, then environments and files.
    let text = message(&repo, &id);
    let first = text.lines().next().unwrap_or_default();
    assert!(first.starts_with("pullsmith:"), "first line: {first:?}\n{text}");
    let body = text.split_once("\n\n").map(|(_, body)| body).unwrap_or_else(|| panic!("no body:\n{text}"));
    for env in ["dev", "staging", "prod"] {
        assert!(body.lines().any(|line| line.contains(env)), "the body names environment {env}:\n{text}");
    }
    for file in &expected {
        assert!(body.contains(file.as_str()), "the body names {file}:\n{text}");
    }

    // Clean afterwards, and the work tree holds exactly what was committed.
    assert_eq!(sb.status(&repo), Vec::<String>::new(), "nothing left uncommitted");
    let tracked = sb.git(&repo, &["ls-tree", "-r", "--name-only", "HEAD"]);
    for path in tracked.lines() {
        assert_eq!(
            committed_blob(&repo, "HEAD", path).as_deref(),
            Some(read(&repo, path).as_slice()),
            "{path}: work tree equals the committed blob"
        );
    }

    // What was committed is what `pullsmith apply` writes.
    let applied = applied_plain(&sb);
    for path in &expected {
        assert_eq!(
            committed_blob(&repo, &id, path).as_deref(),
            Some(read(&applied, path).as_slice()),
            "{path}: committed content equals `pullsmith apply`"
        );
    }
}

#[test]
fn message_flag_is_used_verbatim() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let text = "chore(k8s): pin pull policies\n\nScheduled maintenance run #42.";

    let output = sb.run(&["commit", "--message", text, path_str(&repo)]);
    let id = committed_id(&output);
    assert_eq!(message(&repo, &id), text);
}

#[test]
fn author_flag_wins_over_the_repository_configuration() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);

    let output = sb.run(&["commit", "--author", "Ann Author <ann@example.com>", path_str(&repo)]);
    let id = committed_id(&output);
    assert_eq!(author(&sb, &repo, &id), "Ann Author <ann@example.com>");
}

#[test]
fn author_flag_works_without_any_configuration() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");

    let output = sb.run(&["commit", "--author", "Ann Author <ann@example.com>", path_str(&repo)]);
    let id = committed_id(&output);
    assert_eq!(author(&sb, &repo, &id), "Ann Author <ann@example.com>");
}

#[test]
fn author_from_the_environment_when_nothing_is_configured() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");

    let output = sb
        .pullsmith()
        .env("GIT_AUTHOR_NAME", "Env Author")
        .env("GIT_AUTHOR_EMAIL", "env.author@example.com")
        .args(["commit", path_str(&repo)])
        .output()
        .expect("run pullsmith");
    let id = committed_id(&output);
    assert_eq!(author(&sb, &repo, &id), "Env Author <env.author@example.com>");
}

#[test]
fn committer_from_the_environment_is_recorded() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");

    let output = sb
        .pullsmith()
        .env("GIT_AUTHOR_NAME", "Env Author")
        .env("GIT_AUTHOR_EMAIL", "env.author@example.com")
        .env("GIT_COMMITTER_NAME", "Env Committer")
        .env("GIT_COMMITTER_EMAIL", "env.committer@example.com")
        .args(["commit", path_str(&repo)])
        .output()
        .expect("run pullsmith");
    let id = committed_id(&output);
    assert_eq!(author(&sb, &repo, &id), "Env Author <env.author@example.com>");
    assert_eq!(sb.git(&repo, &["log", "-1", "--format=%cn <%ce>", &id]), "Env Committer <env.committer@example.com>");
}

/// Issue 4: the identity comes from `--author`, else the repository's
/// configuration, else `GIT_AUTHOR_*`/`GIT_COMMITTER_*`: a job that only sets
/// the committer variables still gets a commit.
#[test]
fn committer_variables_alone_are_an_identity() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");

    let output = sb
        .pullsmith()
        .env("GIT_COMMITTER_NAME", "Env Committer")
        .env("GIT_COMMITTER_EMAIL", "env.committer@example.com")
        .args(["commit", path_str(&repo)])
        .output()
        .expect("run pullsmith");
    let id = committed_id(&output);
    assert_eq!(sb.git(&repo, &["log", "-1", "--format=%cn <%ce>", &id]), "Env Committer <env.committer@example.com>");
}

#[test]
fn no_author_refuses_and_writes_nothing() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    let before = sb.state(&repo);

    let output = sb.run(&["commit", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        stderr(&output).to_lowercase().contains("author"),
        "the message is about the author:\n{}",
        describe(&output)
    );
    assert!(!stdout(&output).contains("committed"), "{}", describe(&output));
    assert_eq!(sb.state(&repo), before, "nothing written, HEAD unchanged");
}

#[test]
fn badly_formed_author_is_a_usage_error() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let before = sb.state(&repo);

    for bad in ["Ann Author", "Ann Author <ann@example.com", "<ann@example.com>", "Ann Author <>", ""] {
        let output = sb.run(&["commit", "--author", bad, path_str(&repo)]);
        assert_eq!(output.status.code(), Some(2), "--author {bad:?}:\n{}", describe(&output));
        assert_eq!(sb.state(&repo), before, "--author {bad:?}: nothing written");
    }
}

// ---------------------------------------------------------------------------
// Other changes in the checkout

#[test]
fn unrelated_changes_stay_as_they_were_and_out_of_the_commit() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let expected = sb.diffed_files(&repo);
    assert!(!expected.iter().any(|f| f == "shared/debug-toolbox.yaml" || f == "README.md"), "{expected:?}");

    // A modified tracked file pullsmith does not rewrite.
    let mut toolbox = read(&repo, "shared/debug-toolbox.yaml");
    toolbox.extend_from_slice(b"# local note, not committed\n");
    std::fs::write(repo.join("shared/debug-toolbox.yaml"), &toolbox).expect("write");
    // An untracked file.
    write(&repo, "notes.txt", "scratch\n");
    // A staged change, with a further unstaged change on top of it.
    let mut readme_staged = read(&repo, "README.md");
    readme_staged.extend_from_slice(b"\nStaged line.\n");
    std::fs::write(repo.join("README.md"), &readme_staged).expect("write");
    sb.git(&repo, &["add", "README.md"]);
    let mut readme_work = readme_staged.clone();
    readme_work.extend_from_slice(b"Unstaged line.\n");
    std::fs::write(repo.join("README.md"), &readme_work).expect("write");
    let status_before = sb.status(&repo);
    assert_eq!(status_before, vec![" M shared/debug-toolbox.yaml", "?? notes.txt", "MM README.md"]);

    let id = committed_id(&sb.run(&["commit", path_str(&repo)]));

    assert_eq!(sb.commit_files(&repo, &id), expected, "only the rewritten files are committed");
    assert_eq!(sb.status(&repo), status_before, "the unrelated changes keep their state");
    assert_eq!(read(&repo, "shared/debug-toolbox.yaml"), toolbox);
    assert_eq!(read(&repo, "notes.txt"), b"scratch\n");
    assert_eq!(read(&repo, "README.md"), readme_work);
    let staged = sb.git_command(&repo).args(["show", ":README.md"]).output().expect("git show");
    assert_eq!(staged.stdout, readme_staged, "README.md keeps its staged content");
    assert_eq!(sb.git(&repo, &["diff", "--cached", "--name-only"]), "README.md", "only README.md is still staged");
}

#[test]
fn dirty_file_to_rewrite_refuses_unless_allow_dirty() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let expected = sb.diffed_files(&repo);
    assert!(expected.iter().any(|f| f == "dev/web.yaml"), "{expected:?}");

    let mut edited = b"# edited by hand, not committed yet\n".to_vec();
    edited.extend_from_slice(&read(&repo, "dev/web.yaml"));
    std::fs::write(repo.join("dev/web.yaml"), &edited).expect("write");

    // Unstaged, then staged: both refused, with the file named and nothing written.
    for stage in [false, true] {
        if stage {
            sb.git(&repo, &["add", "dev/web.yaml"]);
        }
        let before = sb.state(&repo);
        let output = sb.run(&["commit", path_str(&repo)]);
        assert_eq!(output.status.code(), Some(2), "staged={stage}:\n{}", describe(&output));
        assert!(
            stderr(&output).contains("dev/web.yaml"),
            "staged={stage}: the message names the file:\n{}",
            describe(&output)
        );
        assert_eq!(sb.state(&repo), before, "staged={stage}: nothing written, no commit");
    }

    let before = sb.head(&repo);
    let id = committed_id(&sb.run(&["commit", "--allow-dirty", path_str(&repo)]));
    assert_eq!(sb.parents(&repo, &id), vec![before]);
    assert_eq!(sb.commit_files(&repo, &id), expected, "the dirty file is committed with the others");
    let committed = String::from_utf8(committed_blob(&repo, &id, "dev/web.yaml").expect("committed")).expect("UTF-8");
    assert!(committed.starts_with("# edited by hand"), "the user's edit is committed:\n{committed}");
    assert_eq!(committed.as_bytes(), read(&repo, "dev/web.yaml").as_slice(), "work tree equals the commit");
    assert!(
        !committed.contains("imagePullPolicy: IfNotPresent   # wrong for dev"),
        "the rewrite is committed:\n{committed}"
    );
    assert_eq!(sb.status(&repo), Vec::<String>::new());
}

#[test]
fn untracked_manifest_is_neither_rewritten_nor_committed() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let expected = sb.diffed_files(&repo);
    write(&repo, "dev/extra.yaml", NEEDS_POLICY);

    let output = sb.run(&["commit", path_str(&repo)]);
    let id = committed_id(&output);
    assert!(stderr(&output).contains("dev/extra.yaml"), "a warning names the untracked file:\n{}", describe(&output));
    assert_eq!(sb.commit_files(&repo, &id), expected);
    assert_eq!(read(&repo, "dev/extra.yaml"), NEEDS_POLICY.as_bytes(), "the untracked file is not rewritten");
    assert_eq!(sb.status(&repo), vec!["?? dev/extra.yaml"]);
}

#[test]
fn second_run_commits_nothing() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    committed_id(&sb.run(&["commit", path_str(&repo)]));
    let before = sb.state(&repo);

    let output = sb.run(&["commit", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(stdout(&output).contains("compliant"), "stdout says the repository is compliant:\n{}", describe(&output));
    assert!(!stdout(&output).contains("committed "), "{}", describe(&output));
    assert_eq!(sb.state(&repo), before, "no commit, nothing written");
}

// ---------------------------------------------------------------------------
// Where HEAD is

#[test]
fn branch_is_created_from_head_then_continued_and_refused_when_elsewhere() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let start = sb.head(&repo);

    // Created from HEAD and checked out.
    let first = committed_id(&sb.run(&["commit", "--branch", "feature/x", path_str(&repo)]));
    assert_eq!(sb.head_branch(&repo).as_deref(), Some("refs/heads/feature/x"));
    assert_eq!(sb.rev(&repo, "refs/heads/feature/x"), first);
    assert_eq!(sb.parents(&repo, &first), vec![start.clone()]);
    assert_eq!(sb.rev(&repo, "refs/heads/main"), start, "the original branch is unchanged");
    assert_eq!(sb.status(&repo), Vec::<String>::new());

    // HEAD already on it, with a new change: committed onto it.
    write(&repo, "dev/extra.yaml", NEEDS_POLICY);
    let added = sb.commit_all(&repo, "add extra");
    let second = committed_id(&sb.run(&["commit", "--branch", "feature/x", path_str(&repo)]));
    assert_eq!(sb.head_branch(&repo).as_deref(), Some("refs/heads/feature/x"));
    assert_eq!(sb.rev(&repo, "refs/heads/feature/x"), second);
    assert_eq!(sb.parents(&repo, &second), vec![added]);
    assert_eq!(sb.commit_files(&repo, &second), vec!["dev/extra.yaml"]);
    assert_eq!(sb.rev(&repo, "refs/heads/main"), start);

    // The branch exists and HEAD is elsewhere (main, which needs changes): refused.
    sb.git(&repo, &["checkout", "-q", "main"]);
    let before = sb.state(&repo);
    let output = sb.run(&["commit", "--branch", "feature/x", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr(&output).contains("feature/x"), "the message names the branch:\n{}", describe(&output));
    assert_eq!(sb.state(&repo), before, "nothing written");
}

#[test]
fn invalid_branch_name_is_refused() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let before = sb.state(&repo);

    let output = sb.run(&["commit", "--branch", "bad..name", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert_eq!(sb.state(&repo), before, "nothing written");
}

#[test]
fn detached_head_stays_detached_and_moves() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let start = sb.head(&repo);
    sb.git(&repo, &["checkout", "-q", "--detach"]);

    let id = committed_id(&sb.run(&["commit", path_str(&repo)]));
    assert_eq!(sb.head_branch(&repo), None, "HEAD stays detached");
    assert_eq!(sb.head(&repo), id);
    assert_eq!(sb.parents(&repo, &id), vec![start.clone()]);
    assert_eq!(sb.rev(&repo, "refs/heads/main"), start, "main is unchanged");
    assert_eq!(sb.status(&repo), Vec::<String>::new());
}

#[test]
fn shallow_clone_commits_on_the_shallow_head() {
    let sb = Sandbox::new();
    let source = sb.path("source");
    sb.init(&source);
    write(&source, "README.md", "# deployments\n");
    sb.commit_all(&source, "first");
    copy_tree(&project_root().join("examples/plain"), &source);
    sb.commit_all(&source, "second: manifests");

    let url = format!("file://{}", path_str(&source));
    sb.git(sb.dir.path(), &["clone", "-q", "--depth", "1", &url, "clone"]);
    let clone = sb.path("clone");
    assert_eq!(sb.git(&clone, &["rev-parse", "--is-shallow-repository"]), "true");
    sb.configure_user(&clone);
    let shallow_head = sb.head(&clone);
    let expected = sb.diffed_files(&clone);

    let id = committed_id(&sb.run(&["commit", path_str(&clone)]));
    assert_eq!(sb.head(&clone), id);
    assert_eq!(sb.head_branch(&clone).as_deref(), Some("refs/heads/main"));
    assert_eq!(sb.parents(&clone, &id), vec![shallow_head.clone()]);
    assert_eq!(sb.commit_files(&clone, &id), expected);
    let log = sb.git(&clone, &["log", "--format=%H"]);
    assert_eq!(log.lines().collect::<Vec<_>>(), vec![id.as_str(), shallow_head.as_str()], "git log works");
    assert_eq!(sb.status(&clone), Vec::<String>::new());
}

#[test]
fn linked_worktree_commits_on_its_own_branch() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let start = sb.head(&repo);
    let wt = sb.path("wt");
    sb.git(&repo, &["worktree", "add", "-q", "-b", "wt", path_str(&wt)]);
    let main_before = work_tree(&repo);
    let expected = sb.diffed_files(&wt);

    // From inside the worktree, PATH defaulting to ".".
    let output = sb.pullsmith().current_dir(&wt).arg("commit").output().expect("run pullsmith");
    let id = committed_id(&output);

    assert_eq!(sb.head_branch(&wt).as_deref(), Some("refs/heads/wt"));
    assert_eq!(sb.head(&wt), id);
    assert_eq!(sb.rev(&repo, "refs/heads/wt"), id);
    assert_eq!(sb.parents(&repo, &id), vec![start.clone()]);
    assert_eq!(sb.commit_files(&repo, &id), expected);
    assert_eq!(sb.status(&wt), Vec::<String>::new());

    assert_eq!(sb.head_branch(&repo).as_deref(), Some("refs/heads/main"), "the main worktree stays on main");
    assert_eq!(sb.head(&repo), start, "main is unchanged");
    assert_eq!(work_tree(&repo), main_before, "the main worktree's files are unchanged");
    assert_eq!(sb.status(&repo), Vec::<String>::new());
}

#[test]
fn manifests_in_a_subdirectory_are_committed_with_repository_paths() {
    let sb = Sandbox::new();
    let repo = sb.path("repo");
    sb.init(&repo);
    write(&repo, "README.md", "# platform repository\n");
    copy_tree(&project_root().join("examples/plain"), &repo.join("deploy"));
    sb.commit_all(&repo, "initial");
    sb.configure_user(&repo);
    let deploy = repo.join("deploy");
    let start = sb.head(&repo);
    let expected: Vec<String> = sb
        .diffed_files(&deploy)
        .into_iter()
        .map(|path| if path.starts_with("deploy/") { path } else { format!("deploy/{path}") })
        .collect();

    let id = committed_id(&sb.run(&["commit", path_str(&deploy)]));
    assert_eq!(sb.parents(&repo, &id), vec![start]);
    let files = sb.commit_files(&repo, &id);
    assert_eq!(files, expected);
    assert!(files.iter().any(|f| f == "deploy/dev/web.yaml"), "{files:?}");
    assert_eq!(sb.status(&repo), Vec::<String>::new());
    for path in &files {
        assert_eq!(committed_blob(&repo, &id, path).as_deref(), Some(read(&repo, path).as_slice()), "{path}");
    }
}

// ---------------------------------------------------------------------------
// Reports and refusals

#[test]
fn json_report_carries_the_commit_id() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);

    let output = sb.run(&["--format", "json", "commit", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("stdout is one JSON document ({err}):\n{}", describe(&output)));
    let head = sb.head(&repo);
    assert_eq!(json["commit"], serde_json::Value::String(head.clone()), "{json:#}");
    assert_ne!(sb.parents(&repo, &head), Vec::<String>::new());
    let mut paths: Vec<String> = json["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().expect("path").to_string())
        .collect();
    paths.sort();
    assert_eq!(paths, sb.commit_files(&repo, &head), "the report lists the committed files");

    let output = sb.run(&["--format", "json", "commit", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(
        json.get("commit").is_some_and(serde_json::Value::is_null),
        "\"commit\": null when nothing is committed: {json:#}"
    );
    assert_eq!(sb.head(&repo), head);
}

#[test]
fn outside_a_git_repository_is_refused() {
    let sb = Sandbox::new();
    let dir = sb.path("not-a-repo");
    copy_tree(&project_root().join("examples/plain"), &dir);
    if sb.git_output(&dir, &["rev-parse", "--git-dir"]).status.success() {
        eprintln!("note: {} is inside a git repository; skipping", dir.display());
        return;
    }
    let before = read_tree(&dir);

    let output = sb.run(&["commit", "--author", "Ann Author <ann@example.com>", path_str(&dir)]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr(&output).contains("git"), "{}", describe(&output));
    assert_eq!(read_tree(&dir), before, "nothing written");
}

// ---------------------------------------------------------------------------
// Kustomize

const KUSTOMIZE_RULES: &str = "\
version: 1
environments:
  dev:
    paths: [\"overlays/dev/**\"]
    imagePullPolicy: Always
  prod:
    paths: [\"overlays/prod/**\"]
    imagePullPolicy: IfNotPresent
    imagePullSecrets: [regcred-prod]
";

const BASE_WEB: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.2.3
";

#[test]
fn kustomize_commit_holds_the_overlay_patches_and_kustomizations_only() {
    let sb = Sandbox::new();
    let repo = shared_base_repo(&sb);
    let start = sb.head(&repo);

    let id = committed_id(&sb.run(&["commit", path_str(&repo)]));
    assert_eq!(sb.parents(&repo, &id), vec![start]);
    let name_status = sb.git(&repo, &["diff-tree", "-r", "--no-commit-id", "--name-status", "--no-renames", &id]);
    let mut changes: Vec<&str> = name_status.lines().collect();
    changes.sort();
    assert_eq!(
        changes,
        vec![
            "A\toverlays/dev/pullsmith.patch.yaml",
            "A\toverlays/prod/pullsmith.patch.yaml",
            "M\toverlays/dev/kustomization.yaml",
            "M\toverlays/prod/kustomization.yaml",
        ]
    );
    assert_eq!(read(&repo, "base/web.yaml"), BASE_WEB.as_bytes(), "the shared base is not edited");
    let prod_patch =
        String::from_utf8(committed_blob(&repo, &id, "overlays/prod/pullsmith.patch.yaml").expect("committed"))
            .expect("UTF-8");
    assert!(prod_patch.contains("regcred-prod"), "{prod_patch}");
    for overlay in ["dev", "prod"] {
        let kustomization =
            String::from_utf8(read(&repo, &format!("overlays/{overlay}/kustomization.yaml"))).expect("UTF-8");
        assert!(kustomization.contains("pullsmith.patch.yaml"), "{overlay}: {kustomization}");
    }
    assert_eq!(sb.status(&repo), Vec::<String>::new(), "the new patch files are tracked and clean");

    // Nothing more to do the second time.
    let output = sb.run(&["commit", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(stdout(&output).contains("compliant"), "{}", describe(&output));
    assert_eq!(sb.head(&repo), id);
}

// ---------------------------------------------------------------------------
// Issue 9, item 5: the commit stores what `git add` would store
// (https://github.com/pullsmith/pullsmith/issues/9)

impl Sandbox {
    /// Replaces every tracked file of the work tree by a fresh checkout, so
    /// that the files are converted as git writes them (CRLF, smudge).
    fn checkout_again(&self, repo: &Path) {
        for path in self.git(repo, &["ls-files"]).lines() {
            std::fs::remove_file(repo.join(path)).expect("remove a tracked file");
        }
        self.git(repo, &["checkout", "-q", "--", "."]);
        assert_eq!(self.status(repo), Vec::<String>::new(), "a fresh checkout is clean");
    }

    /// `git diff --numstat` of `rev` against its parent: (added, deleted, path), sorted.
    fn numstat(&self, repo: &Path, rev: &str) -> Vec<String> {
        let mut lines: Vec<String> =
            self.git(repo, &["diff", "--numstat", &format!("{rev}~1"), rev]).lines().map(str::to_string).collect();
        lines.sort();
        lines
    }

    /// Asserts that every file `rev` changes holds what `git add` stores for
    /// the work-tree file (`git hash-object --path`, attributes and filters
    /// applied), and that `git status` is clean: no staged revert.
    fn assert_committed_as_git_add(&self, repo: &Path, rev: &str) {
        let files = self.commit_files(repo, rev);
        assert!(!files.is_empty(), "{rev} changes no file");
        for path in &files {
            if !repo.join(path).exists() {
                continue;
            }
            let would_add = self.git(repo, &["hash-object", &format!("--path={path}"), path]);
            let committed = self.git(repo, &["rev-parse", &format!("{rev}:{path}")]);
            assert_eq!(committed, would_add, "{path}: the committed blob is what `git add` would store");
        }
        assert_eq!(self.status(repo), Vec::<String>::new(), "clean after the commit: no staged revert");
        let cached = self.git_output(repo, &["diff", "--cached", "--quiet"]);
        assert!(cached.status.success(), "the index equals HEAD:\n{}", describe(&cached));
    }
}

/// The numstat of committing `examples/plain` with no attributes at all: what
/// a commit touches when line endings play no part.
fn plain_numstat(sb: &Sandbox) -> Vec<String> {
    let repo = sb.plain_repo("plain-lf");
    sb.configure_user(&repo);
    let id = committed_id(&sb.run(&["commit", path_str(&repo)]));
    sb.numstat(&repo, &id)
}

#[test]
fn crlf_conversions_commit_what_git_add_stores() {
    let sb = Sandbox::new();
    let expected_numstat = plain_numstat(&sb);
    type Setup = fn(&Sandbox, &Path);
    let setups: [(&str, Setup); 3] = [
        ("core.autocrlf=true", |sb, repo| sb.git(repo, &["config", "core.autocrlf", "true"]).truncate(0)),
        ("eol=crlf", |sb, repo| {
            write(repo, ".gitattributes", "*.yaml text eol=crlf\n");
            sb.commit_all(repo, "attributes");
        }),
        ("text=auto with core.eol=crlf", |sb, repo| {
            write(repo, ".gitattributes", "* text=auto\n");
            sb.commit_all(repo, "attributes");
            sb.git(repo, &["config", "core.eol", "crlf"]);
        }),
    ];
    for (name, setup) in setups {
        let repo = sb.plain_repo(&name.replace([' ', '=', '.'], "-"));
        sb.configure_user(&repo);
        setup(&sb, &repo);
        sb.checkout_again(&repo);
        assert!(read(&repo, "dev/web.yaml").windows(2).any(|w| w == b"\r\n"), "{name}: the work tree has CRLF");

        let id = committed_id(&sb.run(&["commit", path_str(&repo)]));
        sb.assert_committed_as_git_add(&repo, &id);
        assert_eq!(sb.numstat(&repo, &id), expected_numstat, "{name}: only the rewritten lines change");
        for path in sb.commit_files(&repo, &id) {
            let blob = committed_blob(&repo, &id, &path).expect("committed");
            assert!(!blob.contains(&b'\r'), "{name}: {path} is committed with LF, as git stores it");
        }
    }
}

/// A "cipher" clean/smudge pair: rot13 on letters, so the committed blob of
/// a manifest shows `vzntrChyyCbyvpl` where the plaintext says `imagePullPolicy`.
const ROT13: &str = "tr A-Za-z N-ZA-Mn-za-m";

#[test]
fn clean_filter_output_is_committed_never_the_plaintext() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    sb.git(&repo, &["config", "filter.rot13.clean", ROT13]);
    sb.git(&repo, &["config", "filter.rot13.smudge", ROT13]);
    sb.git(&repo, &["config", "filter.rot13.required", "true"]);
    write(&repo, ".gitattributes", "dev/*.yaml filter=rot13\n");
    // Stored through the filter: the blobs are "encrypted", the work tree is plaintext.
    sb.git(&repo, &["add", "--renormalize", "."]);
    sb.commit_all(&repo, "encrypt dev");
    sb.checkout_again(&repo);
    let stored = committed_blob(&repo, "HEAD", "dev/web.yaml").expect("tracked");
    assert!(!String::from_utf8_lossy(&stored).contains("image"), "the setup stores the cleaned form");
    assert!(String::from_utf8_lossy(&read(&repo, "dev/web.yaml")).contains("image"), "the work tree is plaintext");

    let id = committed_id(&sb.run(&["commit", path_str(&repo)]));
    let files = sb.commit_files(&repo, &id);
    assert!(files.iter().any(|f| f == "dev/web.yaml"), "{files:?}");
    sb.assert_committed_as_git_add(&repo, &id);
    for path in files.iter().filter(|f| f.starts_with("dev/")) {
        let blob = String::from_utf8(committed_blob(&repo, &id, path).expect("committed")).expect("UTF-8");
        assert!(!blob.contains("imagePullPolicy"), "{path}: no plaintext committed:\n{blob}");
        assert!(blob.contains("vzntrChyyCbyvpl: Nyjnlf"), "{path}: the cleaned rewrite is committed:\n{blob}");
    }
    // Paths without the attribute are committed as they are.
    let prod = String::from_utf8(committed_blob(&repo, &id, "prod/web.yaml").expect("committed")).expect("UTF-8");
    assert!(prod.contains("imagePullPolicy"), "{prod}");
}

#[test]
fn lfs_style_filter_commits_the_pointer() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    // A stand-in for `git-lfs clean`: a pointer naming the content's hash.
    let clean = "sh -c 'printf \"version https://git-lfs.github.com/spec/v1\\noid sha256:%s\\n\" \"$(sha256sum | cut -c1-64)\"'";
    sb.git(&repo, &["config", "filter.lfs.clean", clean]);
    sb.git(&repo, &["config", "filter.lfs.smudge", "cat"]);
    sb.git(&repo, &["config", "filter.lfs.required", "true"]);
    write(&repo, ".gitattributes", "staging/*.yaml filter=lfs diff=lfs merge=lfs -text\n");
    sb.git(&repo, &["add", "--renormalize", "."]);
    sb.commit_all(&repo, "staging in lfs");
    let before = String::from_utf8(committed_blob(&repo, "HEAD", "staging/web.yaml").expect("tracked")).expect("UTF-8");
    assert!(before.starts_with("version https://git-lfs"), "the setup stores a pointer:\n{before}");

    let id = committed_id(&sb.run(&["commit", path_str(&repo)]));
    assert!(sb.commit_files(&repo, &id).iter().any(|f| f == "staging/web.yaml"));
    sb.assert_committed_as_git_add(&repo, &id);
    let after = String::from_utf8(committed_blob(&repo, &id, "staging/web.yaml").expect("committed")).expect("UTF-8");
    assert!(after.starts_with("version https://git-lfs"), "a pointer is committed, not the manifest:\n{after}");
    assert_ne!(after, before, "the pointer names the rewritten content");
}

#[test]
fn filter_driver_without_git_is_refused_before_writing() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    sb.git(&repo, &["config", "filter.rot13.clean", ROT13]);
    sb.git(&repo, &["config", "filter.rot13.smudge", ROT13]);
    write(&repo, ".gitattributes", "prod/web.yaml filter=rot13\n");
    sb.git(&repo, &["add", "--renormalize", "."]);
    sb.commit_all(&repo, "encrypt prod/web.yaml");
    let before = sb.state(&repo);

    let no_git = sb.path("no-git-bin");
    std::fs::create_dir_all(&no_git).expect("create an empty PATH directory");
    let output = sb.pullsmith().env("PATH", &no_git).args(["commit", path_str(&repo)]).output().expect("run");
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let err = stderr(&output);
    assert!(err.contains("prod/web.yaml") && err.contains("filter=rot13"), "names the file and filter:\n{err}");
    assert_eq!(sb.state(&repo), before, "nothing written, nothing committed");
}

#[test]
fn failing_clean_filter_is_refused_before_writing() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    sb.git(&repo, &["config", "filter.crypt.clean", "cat"]);
    sb.git(&repo, &["config", "filter.crypt.smudge", "cat"]);
    sb.git(&repo, &["config", "filter.crypt.required", "true"]);
    write(&repo, ".gitattributes", "prod/*.yaml filter=crypt\n");
    sb.commit_all(&repo, "attributes");
    // Without its key (here: when `NO_KEY` is set) the clean filter fails, and so would `git add`.
    let clean = "sh -c 'if [ -n \"$NO_KEY\" ]; then echo no key >&2; exit 1; fi; cat'";
    sb.git(&repo, &["config", "filter.crypt.clean", clean]);
    let before = sb.state(&repo);

    let output = sb.pullsmith().env("NO_KEY", "1").args(["commit", path_str(&repo)]).output().expect("run");
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr(&output).contains("prod/"), "{}", describe(&output));
    assert_eq!(sb.state(&repo), before, "nothing written, nothing committed");
}

// ---------------------------------------------------------------------------
// Issue 9, item 6: all or nothing

#[test]
fn locked_index_is_refused_before_writing() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    std::fs::write(repo.join(".git/index.lock"), b"").expect("lock the index");
    let before = sb.state(&repo);

    let output = sb.run(&["commit", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr(&output).contains("index.lock"), "{}", describe(&output));
    assert_eq!(sb.state(&repo), before, "nothing written, nothing committed");

    std::fs::remove_file(repo.join(".git/index.lock")).expect("unlock");
    let id = committed_id(&sb.run(&["commit", path_str(&repo)]));
    sb.assert_committed_as_git_add(&repo, &id);
}

#[test]
fn locked_refs_are_refused_before_writing_and_the_next_run_commits() {
    let sb = Sandbox::new();
    for (lock, branch) in
        [("refs/heads/main.lock", None), ("refs/heads/maint.lock", Some("maint")), ("HEAD.lock", Some("maint"))]
    {
        let repo = sb.plain_repo(&format!("repo-{}", lock.replace('/', "-")));
        sb.configure_user(&repo);
        std::fs::write(repo.join(".git").join(lock), b"").expect("lock a ref");
        let before = sb.state(&repo);
        let mut args = vec!["commit"];
        if let Some(branch) = branch {
            args.extend(["--branch", branch]);
        }
        args.push(path_str(&repo));

        let output = sb.run(&args);
        assert_eq!(output.status.code(), Some(2), "{lock}: {}", describe(&output));
        assert!(stderr(&output).contains(lock), "{lock}: the message names the lock:\n{}", describe(&output));
        assert_eq!(sb.state(&repo), before, "{lock}: nothing written, nothing committed");

        std::fs::remove_file(repo.join(".git").join(lock)).expect("unlock");
        let id = committed_id(&sb.run(&args));
        assert_eq!(sb.head(&repo), id, "{lock}: the next run commits");
        sb.assert_committed_as_git_add(&repo, &id);
    }
}

#[test]
fn bad_report_paths_are_refused_before_writing() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    std::os::unix::fs::symlink("dev/web.yaml", repo.join("report-link.json")).expect("symlink");
    sb.commit_all(&repo, "a link");
    let outside = sb.path("outside.json");
    std::fs::write(&outside, b"{}").expect("write");
    std::fs::hard_link(&outside, sb.path("outside-2.json")).expect("hard link");
    let before = sb.state(&repo);

    let missing_dir = sb.path("no-such-dir/report.json");
    let in_repo = |rel: &str| path_str(&repo.join(rel)).to_string();
    let cases = [
        path_str(&missing_dir).to_string(),
        in_repo("dev/web.yaml"),
        in_repo("dev/new-report.yaml"),
        in_repo(".git/config"),
        in_repo(".git/report.json"),
        in_repo("report-link.json"),
        path_str(&outside).to_string(),
        in_repo("dev"),
    ];
    for report in &cases {
        for command in ["commit", "apply"] {
            let output = sb.run(&["--report", report, command, path_str(&repo)]);
            assert_eq!(output.status.code(), Some(2), "{command} --report {report}:\n{}", describe(&output));
            assert!(stderr(&output).contains(report.as_str()), "the message names the path:\n{}", describe(&output));
            assert_eq!(sb.state(&repo), before, "{command} --report {report}: nothing written");
        }
    }
    assert_eq!(std::fs::read(&outside).expect("read"), b"{}", "the hard-linked file is untouched");
    assert!(!missing_dir.parent().expect("parent").exists());

    // A good path: written, and the commit made.
    let good = sb.path("report.json");
    let output = sb.run(&["--report", path_str(&good), "commit", path_str(&repo)]);
    let id = committed_id(&output);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&good).expect("report")).expect("JSON");
    assert_eq!(json["commit"], serde_json::Value::String(id));
}

#[test]
fn a_file_that_cannot_be_written_is_a_file_error_and_the_rest_is_committed() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let expected = sb.diffed_files(&repo);
    assert!(expected.iter().any(|f| f == "prod/web.yaml"), "{expected:?}");
    // A second name for prod/web.yaml: a rename would split it, so it is not rewritten.
    std::fs::hard_link(repo.join("prod/web.yaml"), sb.path("second-name.yaml")).expect("hard link");
    let original = read(&repo, "prod/web.yaml");

    let output = sb.run(&["commit", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    assert!(stderr(&output).contains("prod/web.yaml"), "{}", describe(&output));
    assert_eq!(read(&repo, "prod/web.yaml"), original, "the file is untouched");
    let id = sb.head(&repo);
    let files = sb.commit_files(&repo, &id);
    let rest: Vec<String> = expected.into_iter().filter(|f| f != "prod/web.yaml").collect();
    assert_eq!(files, rest, "every other rewritten file is committed");
    sb.assert_committed_as_git_add(&repo, &id);
}

// ---------------------------------------------------------------------------
// Issue 9, item 7: refusals git's porcelain makes too

/// A repository with `notes.txt` changed on `main` and on `other`, so that
/// merging, cherry-picking or rebasing one onto the other stops on a conflict.
fn conflicting_repo(sb: &Sandbox, name: &str) -> PathBuf {
    let repo = sb.plain_repo(name);
    sb.configure_user(&repo);
    write(&repo, "notes.txt", "base\n");
    sb.commit_all(&repo, "notes");
    sb.git(&repo, &["branch", "other"]);
    write(&repo, "notes.txt", "main 1\n");
    sb.commit_all(&repo, "main 1");
    write(&repo, "notes.txt", "main 2\n");
    sb.commit_all(&repo, "main 2");
    sb.git(&repo, &["checkout", "-q", "other"]);
    write(&repo, "notes.txt", "other\n");
    sb.commit_all(&repo, "other");
    sb.git(&repo, &["checkout", "-q", "main"]);
    repo
}

#[test]
fn unfinished_merge_rebase_cherry_pick_revert_or_bisect_is_refused() {
    let sb = Sandbox::new();
    let operations: [(&str, &[&str]); 5] = [
        ("merge", &["merge", "-q", "other"]),
        ("cherry-pick", &["cherry-pick", "other"]),
        ("revert", &["revert", "--no-edit", "HEAD~1"]),
        ("rebase", &["rebase", "-q", "other"]),
        ("bisect", &["bisect", "start"]),
    ];
    for (operation, args) in operations {
        let repo = conflicting_repo(&sb, operation);
        let started = sb.git_output(&repo, args);
        if operation == "bisect" {
            assert!(started.status.success(), "{}", describe(&started));
        } else {
            assert!(!started.status.success(), "{operation} stops on a conflict:\n{}", describe(&started));
        }
        let before = sb.state(&repo);

        let output = sb.run(&["commit", path_str(&repo)]);
        assert_eq!(output.status.code(), Some(2), "{operation}: {}", describe(&output));
        assert!(stderr(&output).contains(operation), "{operation}: the message names it:\n{}", describe(&output));
        assert_eq!(sb.state(&repo), before, "{operation}: nothing written, nothing committed");
    }
}

#[test]
fn branch_names_git_refuses_are_refused() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let before = sb.state(&repo);
    let refused_by_git = ["-x", "HEAD", "a..b", "x.lock", "a b", "foo@{1}", "", "/x", "x/", "x~1", "a/.b", "@{-1}"];
    for name in refused_by_git {
        let check = sb.git_output(&repo, &["check-ref-format", "--branch", name]);
        assert!(!check.status.success(), "git refuses `{name}` too:\n{}", describe(&check));
    }
    // `@` is HEAD to git, and `refs/heads/x` would become refs/heads/refs/heads/x.
    for name in refused_by_git.iter().chain(&["@", "refs/heads/x", "refs/x"]) {
        let output = sb.run(&["commit", "--branch", name, path_str(&repo)]);
        assert_eq!(output.status.code(), Some(2), "--branch {name:?}: {}", describe(&output));
        assert_eq!(sb.state(&repo), before, "--branch {name:?}: nothing written, no branch");
    }
}

#[test]
fn empty_message_is_refused() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let before = sb.state(&repo);
    for message in ["", "   ", "\n\n", " \t\n"] {
        let output = sb.run(&["commit", "--message", message, path_str(&repo)]);
        assert_eq!(output.status.code(), Some(2), "--message {message:?}: {}", describe(&output));
        assert!(stderr(&output).contains("--message"), "{}", describe(&output));
        assert_eq!(sb.state(&repo), before, "--message {message:?}: nothing written");
    }
}

// ---------------------------------------------------------------------------
// Issue 9, item 17: a git error is printed once, with what was being done

#[test]
fn git_errors_are_printed_once() {
    let sb = Sandbox::new();
    let dir = sb.path("not-a-repo");
    copy_tree(&project_root().join("examples/plain"), &dir);
    if sb.git_output(&dir, &["rev-parse", "--git-dir"]).status.success() {
        eprintln!("note: {} is inside a git repository; skipping", dir.display());
        return;
    }
    let output = sb.run(&["commit", "--author", "Ann Author <ann@example.com>", path_str(&dir)]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let err = stderr(&output);
    assert_eq!(err.matches("could not find repository").count(), 1, "once:\n{err}");
    assert!(!err.contains("class="), "git2's error codes are not part of the message:\n{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    std::fs::write(repo.join(".git/index.lock"), b"").expect("lock the index");
    let output = sb.run(&["commit", path_str(&repo)]);
    let err = stderr(&output);
    assert_eq!(err.matches("index.lock").count(), 1, "once:\n{err}");
}

// ---------------------------------------------------------------------------
// Re-runs: `--branch` in every state, `--reset-branch`, and `apply` then `commit`
// (issue 11, items 3 and 5)

/// The branch's tip and tree, and what HEAD, the index and the work tree are: `--reset-branch` beside HEAD
/// changes the first only.
fn head_index_work_tree(sb: &Sandbox, repo: &Path) -> (String, Option<String>, String, Vec<String>, Tree) {
    (sb.head(repo), sb.head_branch(repo), sb.git(repo, &["ls-files", "--stage"]), sb.status(repo), work_tree(repo))
}

#[test]
fn nothing_to_change_is_exit_0_whatever_state_the_branch_is_in() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let first = committed_id(&sb.run(&["commit", "--branch", "weekly", path_str(&repo)]));

    // HEAD on the branch, the branch compliant.
    let output = sb.run(&["commit", "--branch", "weekly", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(stdout(&output).contains("compliant"), "{}", describe(&output));

    // The branch merged into main, HEAD on main: compliant, the branch exists elsewhere.
    sb.git(&repo, &["checkout", "-q", "main"]);
    sb.git(&repo, &["merge", "-q", "--ff-only", "weekly"]);
    for reset in [false, true] {
        let before = sb.state(&repo);
        let mut args = vec!["commit", "--branch", "weekly"];
        if reset {
            args.push("--reset-branch");
        }
        args.push(path_str(&repo));
        let output = sb.run(&args);
        assert_eq!(output.status.code(), Some(0), "reset={reset}: {}", describe(&output));
        assert!(stdout(&output).contains("compliant"), "{}", describe(&output));
        assert_eq!(sb.state(&repo), before, "reset={reset}: nothing written or committed");
        assert_eq!(sb.rev(&repo, "refs/heads/weekly"), first);
    }

    // A branch that never held the rewrite, HEAD elsewhere and compliant: still exit 0.
    sb.git(&repo, &["branch", "-q", "-f", "weekly", "main~1"]);
    let before = sb.state(&repo);
    let output = sb.run(&["commit", "--branch", "weekly", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(sb.state(&repo), before);
}

#[test]
fn a_branch_that_already_holds_the_rewrite_is_left_alone() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let first = committed_id(&sb.run(&["commit", "--branch", "weekly", path_str(&repo)]));
    sb.git(&repo, &["checkout", "-q", "main"]);
    // An unrelated uncommitted change, to show it is not in the way and stays.
    write(&repo, "notes.txt", "scratch\n");

    for reset in [false, true] {
        let before = sb.state(&repo);
        let mut args = vec!["commit", "--branch", "weekly"];
        if reset {
            args.push("--reset-branch");
        }
        args.push(path_str(&repo));
        let output = sb.run(&args);
        assert_eq!(output.status.code(), Some(0), "reset={reset}: {}", describe(&output));
        let out = stdout(&output);
        assert!(
            out.contains("branch `weekly` already holds this rewrite") && out.contains(&first[..12]),
            "reset={reset}: says the branch holds it: {}",
            describe(&output)
        );
        assert!(!out.contains("committed "), "{}", describe(&output));
        assert_eq!(sb.state(&repo), before, "reset={reset}: nothing written, no commit, the branch unmoved");
        assert_eq!(sb.rev(&repo, "refs/heads/weekly"), first);
    }
}

#[test]
fn a_branch_elsewhere_that_holds_something_else_is_refused_with_what_to_do() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    committed_id(&sb.run(&["commit", "--branch", "weekly", path_str(&repo)]));
    sb.git(&repo, &["checkout", "-q", "main"]);
    write(&repo, "dev/extra.yaml", NEEDS_POLICY);
    sb.commit_all(&repo, "add extra");

    let before = sb.state(&repo);
    let output = sb.run(&["commit", "--branch", "weekly", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let err = stderr(&output);
    assert!(
        err.contains("`weekly` exists, HEAD is not on it")
            && err.contains("--reset-branch")
            && err.contains("git checkout weekly"),
        "the message says what to do:\n{err}"
    );
    assert_eq!(sb.state(&repo), before, "nothing written");
}

#[test]
fn reset_branch_rebuilds_the_branch_from_head_and_leaves_head_index_and_work_tree() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let old = committed_id(&sb.run(&["commit", "--branch", "weekly", path_str(&repo)]));
    sb.git(&repo, &["checkout", "-q", "main"]);
    write(&repo, "dev/extra.yaml", NEEDS_POLICY);
    let main = sb.commit_all(&repo, "add extra");
    let expected = sb.diffed_files(&repo);
    // Uncommitted work of every kind: it must survive, untouched.
    write(&repo, "notes.txt", "scratch\n");
    let mut readme = read(&repo, "README.md");
    readme.extend_from_slice(b"\nStaged line.\n");
    std::fs::write(repo.join("README.md"), &readme).expect("write");
    sb.git(&repo, &["add", "README.md"]);
    let mut toolbox = read(&repo, "shared/debug-toolbox.yaml");
    toolbox.extend_from_slice(b"# local note\n");
    std::fs::write(repo.join("shared/debug-toolbox.yaml"), &toolbox).expect("write");
    let before = head_index_work_tree(&sb, &repo);

    let output = sb.run(&["commit", "--branch", "weekly", "--reset-branch", path_str(&repo)]);
    let id = committed_id(&output);
    assert!(stdout(&output).contains("rebuilt from HEAD"), "{}", describe(&output));

    assert_eq!(sb.rev(&repo, "refs/heads/weekly"), id, "the branch moved to the new commit");
    assert_eq!(sb.parents(&repo, &id), vec![main.clone()], "its parent is HEAD, not the old branch");
    assert_ne!(id, old);
    assert_eq!(sb.commit_files(&repo, &id), expected, "exactly the rewrite of HEAD");
    assert_eq!(
        committed_blob(&repo, &id, "README.md"),
        committed_blob(&repo, &main, "README.md"),
        "nothing staged slips in"
    );
    assert_eq!(head_index_work_tree(&sb, &repo), before, "HEAD, the index and the work tree are as they were");
    assert_eq!(sb.rev(&repo, "refs/heads/main"), main);

    // Checked out, the branch is the rewrite: nothing left to commit there.
    sb.git(&repo, &["stash", "-q", "-u"]);
    sb.git(&repo, &["checkout", "-q", "weekly"]);
    let output = sb.run(&["commit", "--branch", "weekly", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(stdout(&output).contains("compliant"), "{}", describe(&output));
}

#[test]
fn reset_branch_with_head_on_the_branch_commits_on_top_and_when_missing_creates_it() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let start = sb.head(&repo);
    // Missing: created from HEAD and checked out, as without --reset-branch.
    let first = committed_id(&sb.run(&["commit", "--branch", "weekly", "--reset-branch", path_str(&repo)]));
    assert_eq!(sb.head_branch(&repo).as_deref(), Some("refs/heads/weekly"));
    assert_eq!(sb.parents(&repo, &first), vec![start]);
    assert_eq!(sb.status(&repo), Vec::<String>::new());

    // HEAD on it: on top of it (HEAD is the base to rebuild from).
    write(&repo, "dev/extra.yaml", NEEDS_POLICY);
    let added = sb.commit_all(&repo, "add extra");
    let second = committed_id(&sb.run(&["commit", "--branch", "weekly", "--reset-branch", path_str(&repo)]));
    assert_eq!(sb.parents(&repo, &second), vec![added]);
    assert_eq!(sb.head(&repo), second);
    assert_eq!(sb.status(&repo), Vec::<String>::new());
}

#[test]
fn reset_branch_refuses_a_branch_checked_out_in_another_worktree() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let wt = sb.path("wt");
    sb.git(&repo, &["worktree", "add", "-q", "-b", "weekly", path_str(&wt)]);
    let tip = sb.rev(&repo, "refs/heads/weekly");
    let before = sb.state(&repo);

    let output = sb.run(&["commit", "--branch", "weekly", "--reset-branch", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr(&output).contains("checked out in the worktree"), "{}", describe(&output));
    assert_eq!(sb.state(&repo), before);
    assert_eq!(sb.rev(&repo, "refs/heads/weekly"), tip);
}

#[test]
fn reset_branch_needs_branch() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let before = sb.state(&repo);
    let output = sb.run(&["commit", "--reset-branch", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr(&output).contains("--branch"), "{}", describe(&output));
    assert_eq!(sb.state(&repo), before);
}

#[test]
fn apply_then_commit_says_the_working_tree_holds_the_rewrite_and_how_to_commit_it() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    let expected = sb.diffed_files(&repo);
    let output = sb.run(&["apply", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));

    for extra in [&[][..], &["--allow-dirty"][..], &["--branch", "weekly"][..]] {
        let before = sb.state(&repo);
        let mut args = vec!["commit"];
        args.extend_from_slice(extra);
        args.push(path_str(&repo));
        let output = sb.run(&args);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: refused, nothing committed: {}", describe(&output));
        let err = stderr(&output);
        assert!(!stdout(&output).contains("compliant"), "{extra:?}: {}", describe(&output));
        assert!(err.contains("the working tree already holds the rewrite"), "{extra:?}:\n{err}");
        assert!(
            err.contains(&format!("git add -- {} && git commit", expected.join(" "))),
            "{extra:?}: the files:\n{err}"
        );
        assert!(err.contains("git stash"), "{err}");
        assert_eq!(sb.state(&repo), before, "{extra:?}: nothing written");
    }

    // Doing what it says works both ways.
    sb.git(&repo, &["stash", "-q"]);
    let id = committed_id(&sb.run(&["commit", path_str(&repo)]));
    assert_eq!(sb.commit_files(&repo, &id), expected);
    sb.git(&repo, &["reset", "-q", "--hard", "HEAD~1"]);
    sb.git(&repo, &["stash", "pop", "-q"]);
    let mut add = vec!["add", "--"];
    add.extend(expected.iter().map(String::as_str));
    sb.git(&repo, &add);
    sb.git(&repo, &["commit", "-q", "-m", "comply"]);
    let output = sb.run(&["commit", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(stdout(&output).contains("compliant"), "{}", describe(&output));
}

/// A base shared by a dev and a prod overlay: the rewrite is two generated patches and two kustomizations.
fn shared_base_repo(sb: &Sandbox) -> PathBuf {
    let repo = sb.path("repo");
    sb.init(&repo);
    write(&repo, ".pullsmith.yaml", KUSTOMIZE_RULES);
    write(
        &repo,
        "base/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - web.yaml\n",
    );
    write(&repo, "base/web.yaml", BASE_WEB);
    for env in ["dev", "prod"] {
        write(
            &repo,
            &format!("overlays/{env}/kustomization.yaml"),
            &format!(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: {env}\nresources:\n  - ../../base\n"
            ),
        );
    }
    sb.commit_all(&repo, "initial");
    sb.configure_user(&repo);
    repo
}

#[test]
fn apply_then_commit_of_kustomize_patches_names_them_and_stash_then_commit_holds_them() {
    let sb = Sandbox::new();
    let repo = shared_base_repo(&sb);
    let output = sb.run(&["apply", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let applied = work_tree(&repo);

    let before = sb.state(&repo);
    let output = sb.run(&["commit", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let files = "overlays/dev/kustomization.yaml overlays/dev/pullsmith.patch.yaml \
                 overlays/prod/kustomization.yaml overlays/prod/pullsmith.patch.yaml";
    let files = files.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(stderr(&output).contains(&format!("git add -- {files} && git commit")), "{}", describe(&output));
    assert_eq!(sb.state(&repo), before);

    // `git stash` leaves the untracked patches behind; the commit holds them with the kustomizations
    // that name them, never a kustomization naming a file it does not hold.
    sb.git(&repo, &["stash", "-q"]);
    let id = committed_id(&sb.run(&["commit", path_str(&repo)]));
    let mut expected: Vec<String> = files.split(' ').map(str::to_string).collect();
    expected.sort();
    assert_eq!(sb.commit_files(&repo, &id), expected);
    assert_eq!(work_tree(&repo), applied, "the same rewrite as `apply`");
    assert_eq!(sb.status(&repo), Vec::<String>::new());
}

#[test]
fn an_unrelated_uncommitted_edit_of_a_compliant_manifest_is_still_compliant() {
    let sb = Sandbox::new();
    let repo = sb.plain_repo("repo");
    sb.configure_user(&repo);
    committed_id(&sb.run(&["commit", path_str(&repo)]));
    let mut web = read(&repo, "dev/web.yaml");
    web.extend_from_slice(b"# a local note\n");
    std::fs::write(repo.join("dev/web.yaml"), &web).expect("write");
    let before = sb.state(&repo);

    let output = sb.run(&["commit", path_str(&repo)]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(stdout(&output).contains("the repository is compliant"), "{}", describe(&output));
    assert_eq!(sb.state(&repo), before);
}

// ---------------------------------------------------------------------------
// The README's scheduled maintenance script, as written (issue 11, item 3)

/// The script of README.md's "Commit mode and scheduled maintenance"
/// section: its `sh` block that starts with `#!/bin/sh`.
fn readme_maintenance_script() -> String {
    let readme = std::fs::read_to_string(project_root().join("README.md")).expect("read README.md");
    let section = readme
        .split("\n## ")
        .find(|section| section.starts_with("Commit mode and scheduled maintenance"))
        .expect("README.md has the section");
    let start = section.find("```sh\n#!/bin/sh\n").expect("a ```sh block starting with #!/bin/sh") + "```sh\n".len();
    let end = start + section[start..].find("\n```").expect("the block ends");
    section[start..end].to_string() + "\n"
}

impl Sandbox {
    /// Runs `script` with `sh`, with the same isolation as `git`, and the
    /// built pullsmith first on PATH.
    fn sh(&self, script: &str) -> Output {
        let bin_dir = assert_cmd::cargo::cargo_bin("pullsmith").parent().expect("bin dir").to_path_buf();
        let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
        let mut sh = Process::new("sh");
        for var in GIT_VARIABLES {
            sh.env_remove(var);
        }
        sh.arg("-c")
            .arg(script)
            .current_dir(self.dir.path())
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("GIT_TERMINAL_PROMPT", "0");
        sh.output().expect("run sh")
    }
}

#[test]
fn readme_maintenance_script_runs_again_and_again_and_pushes_once() {
    let sb = Sandbox::new();
    let script = readme_maintenance_script();
    assert!(script.contains("cd /srv/gitops\n"), "the script starts in /srv/gitops:\n{script}");
    assert!(script.contains("pullsmith commit --branch"), "{script}");
    sb.plain_repo("seed");
    sb.git(sb.dir.path(), &["clone", "-q", "--bare", "seed", "origin.git"]);
    sb.git(sb.dir.path(), &["clone", "-q", "origin.git", "gitops"]);
    let origin = sb.path("origin.git");
    let clone = sb.path("gitops");
    // Only the directory changes; `pullsmith` is found on PATH, as on the host.
    let script = script.replace("cd /srv/gitops\n", &format!("cd '{}'\n", path_str(&clone)));
    let origin_refs = || sb.git(&origin, &["for-each-ref", "--format=%(refname) %(objectname)"]);
    let bot_commits = || {
        let log = sb.git(&origin, &["log", "--all", "--format=%an <%ae>"]);
        log.lines().filter(|line| *line == "pullsmith bot <pullsmith@example.com>").count()
    };

    // First run: the week's branch, committed and pushed.
    let before = origin_refs();
    let output = sb.sh(&script);
    assert_eq!(output.status.code(), Some(0), "first run:\n{}", describe(&output));
    let after_first = origin_refs();
    assert_ne!(after_first, before, "the first run pushes the branch");
    let branch_line = after_first
        .lines()
        .find(|line| line.starts_with("refs/heads/pullsmith/maintenance-"))
        .unwrap_or_else(|| panic!("a maintenance branch on origin:\n{after_first}"))
        .to_string();
    let branch = branch_line.split(' ').next().expect("refname").to_string();
    assert_eq!(bot_commits(), 1);

    // Second run, same week, nothing new: exit 0, nothing pushed.
    let output = sb.sh(&script);
    assert_eq!(output.status.code(), Some(0), "second run:\n{}", describe(&output));
    assert!(stdout(&output).contains("already holds this rewrite"), "{}", describe(&output));
    assert_eq!(origin_refs(), after_first, "the second run pushes nothing");

    // The pull request is merged on the server, and its branch deleted there; the host pulls.
    let server = sb.path("server");
    sb.git(sb.dir.path(), &["clone", "-q", "origin.git", "server"]);
    let short = branch.trim_start_matches("refs/heads/");
    sb.git(
        &server,
        &[
            "-c",
            "user.name=Reviewer",
            "-c",
            "user.email=r@example.com",
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge",
            &format!("origin/{short}"),
        ],
    );
    sb.git(&server, &["push", "-q", "origin", "main", &format!(":{branch}")]);
    sb.git(&clone, &["checkout", "-q", "main"]);
    sb.git(&clone, &["pull", "-q", "--ff-only"]);
    let merged = origin_refs();

    // Third run: compliant, exit 0, nothing pushed (the deleted branch is not pushed again).
    let output = sb.sh(&script);
    assert_eq!(output.status.code(), Some(0), "third run:\n{}", describe(&output));
    assert!(stdout(&output).contains("compliant"), "{}", describe(&output));
    assert_eq!(origin_refs(), merged, "the third run pushes nothing");
    assert_eq!(bot_commits(), 1, "exactly one pullsmith commit in all");

    // main moves on with a manifest that needs a policy: the branch is rebuilt on it and pushed again.
    write(&server, "dev/extra.yaml", NEEDS_POLICY);
    sb.commit_all(&server, "add extra");
    sb.git(&server, &["push", "-q", "origin", "main"]);
    let main = sb.git(&origin, &["rev-parse", "refs/heads/main"]);
    let output = sb.sh(&script);
    assert_eq!(output.status.code(), Some(0), "fourth run:\n{}", describe(&output));
    let rebuilt = sb.git(&origin, &["rev-parse", "--verify", &branch]);
    assert_eq!(sb.parents(&origin, &rebuilt), vec![main], "rebuilt on the new main");
    assert_eq!(sb.commit_files(&origin, &rebuilt), vec!["dev/extra.yaml"]);
    assert_eq!(bot_commits(), 2);
    let pushed = origin_refs();
    let output = sb.sh(&script);
    assert_eq!(output.status.code(), Some(0), "fifth run:\n{}", describe(&output));
    assert_eq!(origin_refs(), pushed, "the fifth run pushes nothing");
}
