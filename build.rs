//! Puts the git commit in `pullsmith --version`: `pullsmith 1.0.0
//! (0123456789ab 2026-12-01)`, with ` dirty` after the hash when what is built
//! differs from that commit. It only ever adds information: without git, or
//! outside a checkout (a crates.io package, a release tarball), the version is
//! the plain `1.0.0`, and nothing here fails the build.
//!
//! Packagers building from a tarball can name the commit themselves:
//! `PULLSMITH_BUILD_COMMIT=<hash>` (and optionally `PULLSMITH_BUILD_DATE=
//! YYYY-MM-DD`) is used instead of git; `PULLSMITH_BUILD_COMMIT=` (set, empty)
//! gives the plain version even in a checkout.
//!
//! Sets `PULLSMITH_VERSION` for `src/cli.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The files and directories the binary is built from. "dirty" means one of
/// them differs from the commit (an edited README does not make the binary
/// differ), and they are what makes this script run again.
const BUILD_INPUTS: &[&str] = &["src", "rules", "build.rs", "Cargo.toml", "Cargo.lock"];

/// Variables that would point git at another repository than this
/// directory's, for example when the build runs inside a git hook (pre-commit
/// installs the hooks' `language: rust` build from one).
const GIT_LOCATION_VARIABLES: &[&str] =
    &["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE"];

fn main() {
    // Without any rerun-if-changed line cargo would run this again on every
    // change to any file of the package, tests included.
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PULLSMITH_BUILD_COMMIT");
    println!("cargo:rerun-if-env-changed=PULLSMITH_BUILD_DATE");
    let version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION for build scripts");
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR for build scripts"));
    let build = match std::env::var("PULLSMITH_BUILD_COMMIT") {
        Ok(commit) => from_environment(&commit),
        Err(_) => from_git(&manifest_dir),
    };
    let full = match build {
        Some(build) => format!("{version} ({build})"),
        None => version,
    };
    println!("cargo:rustc-env=PULLSMITH_VERSION={full}");
}

/// `PULLSMITH_BUILD_COMMIT` (and `PULLSMITH_BUILD_DATE`) as the packager gave
/// them. A value that would break the version line's shape is left out with a
/// warning rather than failing the build.
fn from_environment(commit: &str) -> Option<String> {
    let commit = commit.trim();
    if commit.is_empty() {
        return None;
    }
    if !is_word(commit) {
        println!("cargo:warning=PULLSMITH_BUILD_COMMIT `{commit}` is not a single word; `--version` leaves it out");
        return None;
    }
    match std::env::var("PULLSMITH_BUILD_DATE").map(|date| date.trim().to_string()) {
        Ok(date) if is_word(&date) => Some(format!("{commit} {date}")),
        Ok(date) if !date.is_empty() => {
            println!("cargo:warning=PULLSMITH_BUILD_DATE `{date}` is not a single word; `--version` leaves it out");
            Some(commit.to_string())
        }
        _ => Some(commit.to_string()),
    }
}

/// Letters, digits, `.`, `-`, `_` and `+` only: nothing that could end the
/// parenthesis or the line.
fn is_word(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
}

/// `<hash>[ dirty] <date>` of the checkout this crate is built in, or `None`
/// when it is not a checkout's root or git cannot tell.
fn from_git(manifest_dir: &Path) -> Option<String> {
    // Only this directory's own `.git` (a directory, or a file in a linked
    // worktree) counts: a crates.io package unpacked inside some other
    // repository (a home directory kept in git, `target/package/` of this one)
    // must not report that repository's commit.
    if !manifest_dir.join(".git").exists() {
        return None;
    }
    let hash = git(manifest_dir, &["rev-parse", "--short=12", "HEAD"])?;
    watch_git_files(manifest_dir);
    for input in BUILD_INPUTS {
        println!("cargo:rerun-if-changed={input}");
    }
    // The commit's date in UTC, so that every builder of a commit prints the same.
    let date = git(manifest_dir, &["log", "-1", "--date=format-local:%Y-%m-%d", "--format=%cd", "HEAD"])?;
    // `--no-optional-locks`: a plain `git status` may rewrite the index, which
    // would only be noise for whoever watches it.
    let mut status = vec!["--no-optional-locks", "status", "--porcelain", "--"];
    status.extend_from_slice(BUILD_INPUTS);
    let dirty = !git(manifest_dir, &status)?.is_empty();
    Some(if dirty { format!("{hash} dirty {date}") } else { format!("{hash} {date}") })
}

/// `cargo:rerun-if-changed` on HEAD and what it points to, so that a commit, a
/// checkout or a reset makes this script run again. Only files that exist are
/// named: cargo treats a missing one as always changed, which would rebuild
/// the crate on every `cargo build`.
fn watch_git_files(manifest_dir: &Path) {
    let mut files = vec![git(manifest_dir, &["rev-parse", "--git-path", "HEAD"])];
    if let Some(reference) = git(manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
        files.push(git(manifest_dir, &["rev-parse", "--git-path", &reference]));
        // A ref that `git pack-refs` (or `git gc`) moved is read from here.
        files.push(git(manifest_dir, &["rev-parse", "--git-path", "packed-refs"]));
    }
    for file in files.into_iter().flatten() {
        let path = manifest_dir.join(file);
        if path.is_file() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// The trimmed stdout of a successful `git ARGS` in `dir`; `None` when git
/// is missing or fails (not a repository, a repository git does not trust).
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let mut command = Command::new("git");
    command.arg("-C").arg(dir).args(args).env("TZ", "UTC");
    for variable in GIT_LOCATION_VARIABLES {
        command.env_remove(variable);
    }
    let output = command.output().ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8(output.stdout).ok()?.trim().to_string())
}
