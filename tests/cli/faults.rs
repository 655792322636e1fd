//! Faults of the file system under a run (issue 15, item 5): read-only
//! files and directories, parts another user may not read or write, a
//! rename the kernel refuses, a full disk, a read-only file system, an
//! immutable file, a socket named `x.yaml`. Each ends the same way: a
//! per-file error naming the path, the original byte for byte as it was, no
//! temporary file left, and the rest of the tree done.
//!
//! Some need privileges: running as another user (`setpriv`, as root), and
//! mounting a small tmpfs. Where the machine refuses, the test says so and
//! stops; the write-failure path they share with `ulimit -f` is covered
//! unprivileged in `file_safety`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::util::{all_paths, describe, pullsmith, read_tree, repo, write, PLAIN_POD, PLAIN_POD_DEV};

/// The user the "another user" cases run as.
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(uid)).expect("chown");
}

fn chown_tree(root: &Path, uid: u32) {
    chown(root, uid);
    for entry in all_paths(root) {
        std::os::unix::fs::lchown(&entry, Some(uid), Some(uid)).expect("lchown");
    }
}

fn expect_exit(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{}", describe(output));
}

/// The `error:` line about `path`, which must be there.
fn error_about<'a>(output: &'a Output, path: &str) -> &'a str {
    let stderr = std::str::from_utf8(&output.stderr).expect("UTF-8 stderr");
    let prefix = format!("error: {path}: ");
    stderr
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line\n{}", describe(output)))
}

fn no_temporary_files(root: &Path) {
    let left: Vec<PathBuf> =
        all_paths(root).into_iter().filter(|p| p.to_string_lossy().contains(".pullsmith-")).collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

fn text(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).expect("read")
}

fn apply(root: &Path) -> Output {
    pullsmith().arg("apply").arg(root).output().expect("pullsmith runs")
}

// ---------------------------------------------------------------------------
// As whoever runs the tests (root in CI's containers)

#[test]
fn a_read_only_file_or_directory_is_left_alone_even_as_root() {
    let repo = repo(&[
        ("dev/locked.yaml", PLAIN_POD),
        ("dev/frozen/app.yaml", PLAIN_POD),
        ("dev/app.yaml", PLAIN_POD),
        // A generated patch would be a new file in a read-only directory.
        ("base/kustomization.yaml", "resources:\n  - web.yaml\n"),
        ("base/web.yaml", &PLAIN_POD.replace("name: app\nspec", "name: web\nspec")),
        ("overlays/dev/kustomization.yaml", "resources:\n  - ../../base\n"),
        ("overlays/prod/kustomization.yaml", "resources:\n  - ../../base\n"),
    ]);
    let root = repo.path();
    chmod(&root.join("dev/locked.yaml"), 0o444);
    chmod(&root.join("dev/frozen"), 0o555);
    chmod(&root.join("overlays/prod"), 0o555);
    let before = read_tree(root);
    let output = apply(root);
    chmod(&root.join("dev/frozen"), 0o755);
    chmod(&root.join("overlays/prod"), 0o755);
    expect_exit(&output, 3);
    assert_eq!(
        error_about(&output, "dev/locked.yaml"),
        "error: dev/locked.yaml: the file is read-only (mode 0444); left alone"
    );
    assert_eq!(
        error_about(&output, "dev/frozen/app.yaml"),
        "error: dev/frozen/app.yaml: the directory holding it is read-only (mode 0555); left alone"
    );
    let prod = error_about(&output, "overlays/prod/pullsmith.patch.yaml");
    assert!(prod.contains("the directory holding it is read-only (mode 0555)"), "{prod}");
    assert_eq!(text(root, "dev/locked.yaml"), PLAIN_POD);
    assert_eq!(text(root, "dev/frozen/app.yaml"), PLAIN_POD);
    assert_eq!(text(root, "overlays/prod/kustomization.yaml"), "resources:\n  - ../../base\n", "points at no patch");
    assert!(!root.join("overlays/prod/pullsmith.patch.yaml").exists());
    assert_eq!(std::fs::metadata(root.join("dev/locked.yaml")).unwrap().mode() & 0o777, 0o444);
    // The rest is done.
    assert_eq!(text(root, "dev/app.yaml"), PLAIN_POD_DEV);
    assert!(root.join("overlays/dev/pullsmith.patch.yaml").is_file(), "{}", describe(&output));
    assert_ne!(read_tree(root), before);
    no_temporary_files(root);
    // `check` reads, and needs no write bit.
    let check = pullsmith().arg("check").arg(root).output().expect("runs");
    expect_exit(&check, 1);
    assert!(!String::from_utf8_lossy(&check.stderr).contains("read-only"), "{}", describe(&check));
}

#[test]
fn a_socket_named_like_a_manifest_is_skipped_with_a_note() {
    let repo = repo(&[("dev/good.yaml", PLAIN_POD)]);
    let socket = repo.path().join("dev/x.yaml");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind a socket");
    let output = apply(repo.path());
    expect_exit(&output, 0);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("skipped: dev/x.yaml: not a regular file (a socket)"), "{stderr}");
    assert_eq!(text(repo.path(), "dev/good.yaml"), PLAIN_POD_DEV);
    assert!(std::os::unix::fs::FileTypeExt::is_socket(&std::fs::symlink_metadata(&socket).unwrap().file_type()));
}

#[test]
fn an_immutable_file_is_left_alone() {
    if !is_root() {
        eprintln!("note: not root; chattr +i needs CAP_LINUX_IMMUTABLE, skipping");
        return;
    }
    let repo = repo(&[("dev/pinned.yaml", PLAIN_POD), ("dev/app.yaml", PLAIN_POD)]);
    let pinned = repo.path().join("dev/pinned.yaml");
    if !Command::new("chattr").arg("+i").arg(&pinned).status().is_ok_and(|s| s.success()) {
        eprintln!("note: chattr +i refused here (file system or capability); skipping");
        return;
    }
    let output = apply(repo.path());
    let _ = Command::new("chattr").arg("-i").arg(&pinned).status();
    expect_exit(&output, 3);
    let line = error_about(&output, "dev/pinned.yaml");
    assert!(line.contains("the file is not writable (Operation not permitted"), "{line}");
    assert_eq!(text(repo.path(), "dev/pinned.yaml"), PLAIN_POD);
    assert_eq!(text(repo.path(), "dev/app.yaml"), PLAIN_POD_DEV);
    no_temporary_files(repo.path());
}

// ---------------------------------------------------------------------------
// On a small file system of its own

/// A tmpfs of `size` mounted on a new directory, unmounted when dropped;
/// `None` (with a note) where this machine does not let the tests mount.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        if !is_root() {
            eprintln!("note: not root; cannot mount a tmpfs, skipping");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755"), "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
        if !mounted {
            eprintln!("note: mount -t tmpfs refused on this machine; skipping");
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount_read_only(&self) {
        let status = Command::new("mount").args(["-o", "remount,ro"]).arg(self.path()).status().expect("mount runs");
        assert!(status.success(), "remount read-only");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_disk_fails_the_file_that_does_not_fit_and_no_other() {
    let Some(fs) = Tmpfs::mount("256k") else { return };
    let mut big = String::from(PLAIN_POD);
    while big.len() < 150_000 {
        big.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    write(fs.path(), "dev/big.yaml", &big);
    write(fs.path(), "dev/small.yaml", PLAIN_POD);
    // Rewriting the big file needs its size again beside it: more than is free.
    let output = apply(fs.path());
    expect_exit(&output, 3);
    let line = error_about(&output, "dev/big.yaml");
    assert!(line.contains("cannot write: No space left on device"), "{line}");
    assert_eq!(text(fs.path(), "dev/big.yaml"), big);
    assert_eq!(text(fs.path(), "dev/small.yaml"), PLAIN_POD_DEV);
    no_temporary_files(fs.path());
}

#[test]
fn a_read_only_file_system_is_an_error_per_file_and_changes_nothing() {
    let Some(fs) = Tmpfs::mount("1m") else { return };
    write(fs.path(), "dev/a.yaml", PLAIN_POD);
    write(fs.path(), "dev/b.yaml", PLAIN_POD);
    fs.remount_read_only();
    let output = apply(fs.path());
    expect_exit(&output, 3);
    for rel in ["dev/a.yaml", "dev/b.yaml"] {
        let line = error_about(&output, rel);
        assert!(line.contains("not writable (Read-only file system"), "{line}");
        assert_eq!(text(fs.path(), rel), PLAIN_POD);
    }
}

// ---------------------------------------------------------------------------
// As another user: what the kernel refuses

/// A copy of the binary that any user can run (the build directory may not be).
fn shared_binary() -> &'static Path {
    static BINARY: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = BINARY.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        chmod(dir.path(), 0o755);
        let path = dir.path().join("pullsmith");
        std::fs::copy(assert_cmd::cargo::cargo_bin("pullsmith"), &path).expect("copy the binary");
        chmod(&path, 0o755);
        (dir, path)
    });
    path
}

/// `pullsmith apply root` as user `uid`, or `None` (with a note) where
/// this machine cannot switch users.
fn apply_as(uid: u32, root: &Path) -> Option<Output> {
    if !is_root() {
        eprintln!("note: not root; cannot run as another user, skipping");
        return None;
    }
    let output = Command::new("setpriv")
        .args([format!("--reuid={uid}"), format!("--regid={uid}"), "--clear-groups".to_string()])
        .arg(shared_binary())
        .arg("apply")
        .arg(root)
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .output();
    match output {
        Ok(output) if output.status.code() != Some(127) && !output.stderr.starts_with(b"setpriv:") => Some(output),
        _ => {
            eprintln!("note: setpriv cannot switch users here; skipping");
            None
        }
    }
}

/// A repository readable and writable by `uid`, in a directory it can enter.
fn repo_owned_by(uid: u32, files: &[(&str, &str)]) -> tempfile::TempDir {
    let repo = repo(files);
    chown_tree(repo.path(), uid);
    chmod(repo.path(), 0o755);
    repo
}

#[test]
fn as_another_user_what_it_may_not_read_or_write_is_an_error_and_the_rest_is_done() {
    if !is_root() {
        eprintln!("note: not root; cannot run as another user, skipping");
        return;
    }
    let repo = repo_owned_by(
        NOBODY,
        &[
            ("dev/app.yaml", PLAIN_POD),
            ("dev/unreadable.yaml", PLAIN_POD),
            ("dev/locked/inside.yaml", PLAIN_POD),
            ("dev/theirs.yaml", PLAIN_POD),
            ("dev/their-dir/mine.yaml", PLAIN_POD),
        ],
    );
    let root = repo.path();
    chmod(&root.join("dev/unreadable.yaml"), 0o000);
    chmod(&root.join("dev/locked"), 0o000);
    // Root's file, readable by all; and root's directory holding a file of the user's.
    chown(&root.join("dev/theirs.yaml"), 0);
    chown(&root.join("dev/their-dir"), 0);
    let Some(output) = apply_as(NOBODY, root) else { return };
    chmod(&root.join("dev/locked"), 0o755);
    expect_exit(&output, 3);
    assert_eq!(
        error_about(&output, "dev/locked"),
        "error: dev/locked: cannot read the directory: Permission denied (os error 13); not walked"
    );
    assert!(
        error_about(&output, "dev/unreadable.yaml").contains("cannot read: Permission denied"),
        "{}",
        describe(&output)
    );
    assert_eq!(
        error_about(&output, "dev/theirs.yaml"),
        "error: dev/theirs.yaml: the file is not writable (Permission denied (os error 13)); left alone"
    );
    assert_eq!(
        error_about(&output, "dev/their-dir/mine.yaml"),
        "error: dev/their-dir/mine.yaml: the directory holding it is not writable (Permission denied (os error 13)); left alone"
    );
    for rel in ["dev/locked/inside.yaml", "dev/theirs.yaml", "dev/their-dir/mine.yaml"] {
        assert_eq!(text(root, rel), PLAIN_POD, "{rel}");
    }
    assert_eq!(text(root, "dev/app.yaml"), PLAIN_POD_DEV, "the rest is done");
    no_temporary_files(root);
}

#[test]
fn a_rename_the_kernel_refuses_leaves_the_file_and_no_temporary_file() {
    // In a sticky directory (like /tmp), a file of another user may be
    // written (mode 0666) but not replaced: every check before the rename
    // passes, and the rename itself fails with EPERM.
    if !is_root() {
        eprintln!("note: not root; cannot run as another user, skipping");
        return;
    }
    let repo = repo_owned_by(NOBODY, &[("dev/app.yaml", PLAIN_POD), ("dev/shared/theirs.yaml", PLAIN_POD)]);
    let root = repo.path();
    let shared = root.join("dev/shared");
    chown_tree(&shared, 0);
    chmod(&shared, 0o1777);
    chmod(&shared.join("theirs.yaml"), 0o666);
    let Some(output) = apply_as(NOBODY, root) else { return };
    expect_exit(&output, 3);
    assert_eq!(
        error_about(&output, "dev/shared/theirs.yaml"),
        "error: dev/shared/theirs.yaml: cannot write: Operation not permitted (os error 1)"
    );
    assert_eq!(text(root, "dev/shared/theirs.yaml"), PLAIN_POD);
    assert_eq!(std::fs::metadata(shared.join("theirs.yaml")).unwrap().uid(), 0, "still root's file");
    assert_eq!(text(root, "dev/app.yaml"), PLAIN_POD_DEV);
    no_temporary_files(root);
}

// ---------------------------------------------------------------------------
// Limits (issue 15, item 6): their time and memory are in benches/run.sh.

#[test]
fn a_1_gib_file_is_refused_by_its_size_without_being_read() {
    let repo = repo(&[("dev/app.yaml", PLAIN_POD)]);
    // Sparse: a gibibyte by its size, no disk.
    let huge = std::fs::File::create(repo.path().join("dev/huge.yaml")).expect("create");
    huge.set_len(1 << 30).expect("set the size");
    drop(huge);
    // Under 768 MiB of address space a read of the file could not even be held.
    let output = Command::new("sh")
        .args(["-c", "ulimit -v 786432 && exec \"$0\" apply \"$1\""])
        .arg(assert_cmd::cargo::cargo_bin("pullsmith"))
        .arg(repo.path())
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .output()
        .expect("sh runs");
    expect_exit(&output, 3);
    assert_eq!(
        error_about(&output, "dev/huge.yaml"),
        "error: dev/huge.yaml: file is 1073741824 bytes, over the limit of 16777216 bytes (--max-file-size); left alone"
    );
    assert_eq!(text(repo.path(), "dev/app.yaml"), PLAIN_POD_DEV, "the rest is done");
    assert_eq!(std::fs::metadata(repo.path().join("dev/huge.yaml")).unwrap().len(), 1 << 30);
}
