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
    let start = sb.commit_all(&repo, "initial");
    sb.configure_user(&repo);

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
