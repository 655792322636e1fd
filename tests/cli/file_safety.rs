//! What pullsmith reads and writes is a regular file of the repository and
//! nothing else (issue 9, items 1, 8 and 9): generated patch names taken by
//! links are refused without reading or writing through them, rewrites keep
//! owner, group and mode and never split hard links, FIFOs and devices are
//! skipped unread, and a write that fails (`ulimit -f`) leaves no
//! temporary file behind.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::util::{describe, pullsmith, read_tree, repo, PLAIN_POD, PLAIN_POD_DEV};

/// Long enough for a debug build on a busy machine; a hang is what fails.
const TIMEOUT: Duration = Duration::from_secs(60);

const BASE_KUSTOMIZATION: &str = "resources:\n  - web.yaml\n";
const BASE_WEB: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.2.3
";
const OVERLAY: &str = "resources:\n  - ../../base\n";

/// A base shared by a dev and a prod overlay: both get a generated patch.
fn shared_base_repo() -> tempfile::TempDir {
    repo(&[
        ("base/kustomization.yaml", BASE_KUSTOMIZATION),
        ("base/web.yaml", BASE_WEB),
        ("overlays/dev/kustomization.yaml", OVERLAY),
        ("overlays/prod/kustomization.yaml", OVERLAY),
    ])
}

fn run(root: &Path, args: &[&str]) -> Output {
    pullsmith().args(args).arg(root).timeout(TIMEOUT).output().expect("pullsmith runs")
}

fn expect_exit(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{}", describe(output));
}

fn stderr_line<'a>(output: &'a Output, prefix: &str) -> &'a str {
    let stderr = std::str::from_utf8(&output.stderr).expect("UTF-8 stderr");
    stderr.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no `{prefix}` line\n{}", describe(output)))
}

fn all_output(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// `pullsmith apply` with the shell's file size limit (`ulimit -f`) set to `blocks`.
fn apply_under_file_size_limit(root: &Path, blocks: u32) -> Output {
    std::process::Command::new("sh")
        .args(["-c", &format!("ulimit -f {blocks} && exec \"$0\" apply \"$1\"")])
        .arg(assert_cmd::cargo::cargo_bin("pullsmith"))
        .arg(root)
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .output()
        .expect("sh runs")
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

fn symlink(target: impl AsRef<Path>, link: impl AsRef<Path>) {
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Every name below `root` (files, links, anything), for finding leftovers.
fn all_names(root: &Path) -> Vec<String> {
    let below = |path: PathBuf| path.strip_prefix(root).expect("below root").to_string_lossy().into_owned();
    crate::util::all_paths(root).into_iter().map(below).collect()
}

// ---------------------------------------------------------------------------
// Item 1: generated patch files are never followed through a link

#[test]
fn dangling_link_out_of_the_repository_as_generated_patch_is_never_created() {
    let outside = tempfile::tempdir().expect("temp dir");
    let target = outside.path().join("anywhere");
    let repo = shared_base_repo();
    symlink(&target, repo.path().join("overlays/dev/pullsmith.patch.yaml"));
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 3);
    assert!(!target.exists(), "apply created the link's target\n{}", describe(&output));
    let line = stderr_line(&output, "error: overlays/dev/pullsmith.patch.yaml:");
    assert_eq!(output.stderr.split(|b| *b == b'\n').filter(|l| l.starts_with(b"error: ")).count(), 1, "{line}");
    assert!(is_link(&repo.path().join("overlays/dev/pullsmith.patch.yaml")));
    assert_eq!(std::fs::read_to_string(repo.path().join("overlays/dev/kustomization.yaml")).unwrap(), OVERLAY);
    // The other overlay is processed as usual.
    let prod = std::fs::read_to_string(repo.path().join("overlays/prod/pullsmith.patch.yaml")).expect("prod patch");
    assert!(prod.contains("imagePullPolicy: IfNotPresent"), "{prod}");
}

#[test]
fn dangling_link_inside_the_repository_as_generated_patch_is_refused() {
    let repo = shared_base_repo();
    let link = repo.path().join("overlays/dev/pullsmith.patch.yaml");
    symlink("../../base/not-there.yaml", &link);
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 3);
    let line = stderr_line(&output, "error: overlays/dev/pullsmith.patch.yaml:");
    assert!(line.contains("symbolic link") && line.contains("overlays/dev"), "{line}");
    assert!(!repo.path().join("base/not-there.yaml").exists(), "written through the link");
    assert!(is_link(&link));
    assert_eq!(std::fs::read_to_string(repo.path().join("overlays/dev/kustomization.yaml")).unwrap(), OVERLAY);
    assert!(repo.path().join("overlays/prod/pullsmith.patch.yaml").is_file());
}

#[test]
fn link_to_git_config_as_generated_patch_is_never_printed() {
    let repo = shared_base_repo();
    let config = "[core]\n\tbare = false\n[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic c2VjcmV0LXRva2Vu\n";
    crate::util::write(repo.path(), ".git/config", config);
    symlink("../../.git/config", repo.path().join("overlays/dev/pullsmith.patch.yaml"));
    for args in [&["check", "--diff"][..], &["diff"], &["--format", "json", "check"], &["--format", "github", "check"]]
    {
        let output = run(repo.path(), args);
        expect_exit(&output, 3);
        let printed = all_output(&output);
        assert!(!printed.contains("c2VjcmV0LXRva2Vu") && !printed.contains("extraheader"), "{args:?}: {printed}");
        assert!(!printed.contains("a/overlays/dev/pullsmith.patch.yaml"), "{args:?}: a diff of the link: {printed}");
    }
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 3);
    assert_eq!(std::fs::read_to_string(repo.path().join(".git/config")).unwrap(), config);
    assert_eq!(std::fs::read_to_string(repo.path().join("overlays/dev/kustomization.yaml")).unwrap(), OVERLAY);
}

#[test]
fn link_to_a_generated_looking_file_is_not_rewritten_through() {
    let repo = shared_base_repo();
    // Looks like a generated patch, so it would be "updated" in place.
    let lookalike = "# Generated by pullsmith for environment `dev`: old\napiVersion: v1\nkind: ConfigMap\n";
    crate::util::write(repo.path(), "base/notes.yaml", lookalike);
    symlink("../../base/notes.yaml", repo.path().join("overlays/dev/pullsmith.patch.yaml"));
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 3);
    stderr_line(&output, "error: overlays/dev/pullsmith.patch.yaml:");
    assert_eq!(std::fs::read_to_string(repo.path().join("base/notes.yaml")).unwrap(), lookalike);
    assert!(is_link(&repo.path().join("overlays/dev/pullsmith.patch.yaml")));
}

#[test]
fn fifo_as_generated_patch_is_refused_without_waiting() {
    let repo = shared_base_repo();
    mkfifo(&repo.path().join("overlays/dev/pullsmith.patch.yaml"));
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 3);
    let line = stderr_line(&output, "error: overlays/dev/pullsmith.patch.yaml:");
    assert!(line.contains("a FIFO"), "{line}");
    assert_eq!(std::fs::read_to_string(repo.path().join("overlays/dev/kustomization.yaml")).unwrap(), OVERLAY);
}

// ---------------------------------------------------------------------------
// Item 8: owner, group and mode kept; hard links not split

#[test]
fn rewrite_keeps_owner_group_and_mode() {
    let repo = repo(&[("dev/app.yaml", PLAIN_POD)]);
    let path = repo.path().join("dev/app.yaml");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let owner = if is_root() {
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).expect("chown");
        (65534, 65534)
    } else {
        eprintln!("note: not root; the owner and group cannot be given away, only the mode is checked");
        let m = std::fs::metadata(&path).unwrap();
        (m.uid(), m.gid())
    };
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 0);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), PLAIN_POD_DEV);
    let metadata = std::fs::metadata(&path).unwrap();
    assert_eq!((metadata.uid(), metadata.gid()), owner);
    assert_eq!(metadata.mode() & 0o7777, 0o640);
}

#[test]
fn kustomization_and_new_patch_keep_the_owner_of_the_overlay() {
    if !is_root() {
        eprintln!("note: not root; skipping a test that gives files away");
        return;
    }
    let repo = shared_base_repo();
    let dir = repo.path().join("overlays/dev");
    let kustomization = dir.join("kustomization.yaml");
    std::os::unix::fs::chown(&dir, Some(65534), Some(65533)).expect("chown");
    std::os::unix::fs::chown(&kustomization, Some(65534), Some(65533)).expect("chown");
    std::fs::set_permissions(&kustomization, std::fs::Permissions::from_mode(0o600)).unwrap();
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 0);
    let edited = std::fs::metadata(&kustomization).unwrap();
    assert_ne!(std::fs::read_to_string(&kustomization).unwrap(), OVERLAY, "the kustomization gains its patch");
    assert_eq!((edited.uid(), edited.gid(), edited.mode() & 0o7777), (65534, 65533, 0o600));
    let created = std::fs::metadata(dir.join("pullsmith.patch.yaml")).expect("the patch is created");
    assert_eq!((created.uid(), created.gid()), (65534, 65533));
}

#[test]
fn file_with_two_hard_links_is_reported_and_not_split() {
    let outside = tempfile::tempdir().expect("temp dir");
    let repo = repo(&[("dev/linked.yaml", PLAIN_POD), ("dev/good.yaml", PLAIN_POD)]);
    let inside = repo.path().join("dev/linked.yaml");
    let other = outside.path().join("other-name.yaml");
    std::fs::hard_link(&inside, &other).expect("hard link");
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 3);
    let line = stderr_line(&output, "error: dev/linked.yaml:");
    assert!(line.contains("2 hard links"), "{line}");
    let (a, b) = (std::fs::metadata(&inside).unwrap(), std::fs::metadata(&other).unwrap());
    assert_eq!((a.ino(), a.nlink()), (b.ino(), 2), "still one file with two names");
    assert_eq!(std::fs::read_to_string(&inside).unwrap(), PLAIN_POD);
    assert_eq!(std::fs::read_to_string(repo.path().join("dev/good.yaml")).unwrap(), PLAIN_POD_DEV);
}

// ---------------------------------------------------------------------------
// Item 9: FIFOs, devices, `ulimit -f`, the rules file

#[test]
fn fifo_named_yaml_is_skipped_with_a_note_and_never_opened() {
    let repo = repo(&[("dev/good.yaml", PLAIN_POD)]);
    mkfifo(&repo.path().join("dev/x.yaml"));
    mkfifo(&repo.path().join("dev/kustomization.yaml"));
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 0);
    assert_eq!(stderr_line(&output, "skipped: dev/x.yaml:"), "skipped: dev/x.yaml: not a regular file (a FIFO)");
    stderr_line(&output, "skipped: dev/kustomization.yaml: not a regular file (a FIFO)");
    assert_eq!(std::fs::read_to_string(repo.path().join("dev/good.yaml")).unwrap(), PLAIN_POD_DEV);
    assert!(std::fs::symlink_metadata(repo.path().join("dev/x.yaml")).unwrap().file_type().is_fifo());
}

#[test]
fn character_device_is_skipped_with_a_note() {
    if !is_root() {
        eprintln!("note: not root; mknod needs root, skipping the character device case");
        return;
    }
    let repo = repo(&[("dev/good.yaml", PLAIN_POD)]);
    let device = repo.path().join("dev/zero.yaml");
    let status = std::process::Command::new("mknod").arg(&device).args(["c", "1", "5"]).status().expect("mknod");
    if !status.success() {
        eprintln!("note: mknod refused (no CAP_MKNOD in this container); skipping the character device case");
        return;
    }
    let output = run(repo.path(), &["--max-file-size", "1000", "check"]);
    expect_exit(&output, 1);
    stderr_line(&output, "skipped: dev/zero.yaml: not a regular file (a character device)");
}

#[test]
fn link_to_dev_zero_is_a_link_and_never_read() {
    let repo = repo(&[("dev/good.yaml", PLAIN_POD)]);
    symlink("/dev/zero", repo.path().join("dev/zero.yaml"));
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 3);
    stderr_line(&output, "error: dev/zero.yaml:");
    assert_eq!(std::fs::read_to_string(repo.path().join("dev/good.yaml")).unwrap(), PLAIN_POD_DEV);
}

#[test]
fn rules_on_a_fifo_or_a_device_are_refused_without_reading() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let fifo = scratch.path().join("rules.yaml");
    mkfifo(&fifo);
    let repo = repo(&[("dev/good.yaml", PLAIN_POD)]);
    for rules in [fifo.to_str().unwrap(), "/dev/zero"] {
        let output = run(repo.path(), &["--rules", rules, "check"]);
        expect_exit(&output, 2);
        let printed = all_output(&output);
        assert!(printed.contains("not a regular file"), "{rules}: {printed}");
    }
    assert_eq!(std::fs::read_to_string(repo.path().join("dev/good.yaml")).unwrap(), PLAIN_POD);
}

#[test]
fn write_over_ulimit_fails_cleanly_and_leaves_no_temporary_file() {
    let mut big = String::from(PLAIN_POD);
    while big.len() < 200_000 {
        big.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let repo = repo(&[("dev/big.yaml", &big), ("dev/small.yaml", PLAIN_POD)]);
    // 100 blocks (51,200 bytes in 512-byte blocks, 102,400 in 1 KiB ones): the small file fits, the big one does not.
    let output = apply_under_file_size_limit(repo.path(), 100);
    expect_exit(&output, 3);
    let line = stderr_line(&output, "error: dev/big.yaml:");
    assert!(line.contains("cannot write") && line.contains("too large"), "{line}");
    let leftovers: Vec<String> = all_names(repo.path()).into_iter().filter(|n| n.contains(".tmp")).collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    assert_eq!(std::fs::read_to_string(repo.path().join("dev/big.yaml")).unwrap(), big);
    assert_eq!(std::fs::read_to_string(repo.path().join("dev/small.yaml")).unwrap(), PLAIN_POD_DEV);
    assert_eq!(read_tree(repo.path()).len(), 2);
}

#[test]
fn fifo_as_gitignore_stops_the_walk_of_its_directory_only() {
    let repo = repo(&[("dev/sub/app.yaml", PLAIN_POD), ("prod/app.yaml", PLAIN_POD), ("dev/good.yaml", PLAIN_POD)]);
    mkfifo(&repo.path().join("dev/sub/.gitignore"));
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 3);
    let line = stderr_line(&output, "error: dev/sub/.gitignore:");
    assert!(line.contains("a FIFO") && line.contains("`dev/sub`"), "{line}");
    assert_eq!(std::fs::read_to_string(repo.path().join("dev/sub/app.yaml")).unwrap(), PLAIN_POD);
    assert_eq!(std::fs::read_to_string(repo.path().join("dev/good.yaml")).unwrap(), PLAIN_POD_DEV);
}

// ---------------------------------------------------------------------------
// Item 4 (names): a file or directory name that is not UTF-8 cannot be shown
// or diffed faithfully, so it is reported and left alone, never processed
// under a lossy name that does not exist.

#[test]
fn names_that_are_not_utf8_are_reported_and_left_alone() {
    use std::os::unix::ffi::OsStrExt;
    let dir = repo(&[("dev/app.yaml", PLAIN_POD)]);
    let odd_file = dir.path().join("dev").join(std::ffi::OsStr::from_bytes(b"caf\xe9.yaml"));
    std::fs::write(&odd_file, PLAIN_POD).expect("write a non-UTF-8 name");
    let odd_dir = dir.path().join(std::ffi::OsStr::from_bytes(b"dev/\xff"));
    std::fs::create_dir_all(&odd_dir).expect("mkdir");
    std::fs::write(odd_dir.join("pod.yaml"), PLAIN_POD).expect("write below it");
    let out = run(dir.path(), &["apply"]);
    expect_exit(&out, 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("file name is not UTF-8").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("directory name is not UTF-8").count(), 1, "{stderr}");
    assert_eq!(std::fs::read_to_string(&odd_file).expect("still there"), PLAIN_POD, "left alone");
    assert_eq!(std::fs::read_to_string(odd_dir.join("pod.yaml")).expect("still there"), PLAIN_POD, "not walked");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("dev/app.yaml")).expect("read"),
        PLAIN_POD_DEV,
        "the rest is done"
    );
    assert!(
        stderr.contains("error: dev/caf?.yaml: file name is not UTF-8; left alone"),
        "the name is shown with `?` for what is not UTF-8\n{stderr}"
    );
    assert!(!stderr.contains("\\357\\277\\275"), "no lossy name is printed as if it existed\n{stderr}");
}

// A generated patch that cannot be written leaves its overlay's kustomization
// as it was: it must never point at a patch file that is not there.
#[test]
fn a_patch_that_cannot_be_written_leaves_the_kustomization_alone() {
    let mut base = String::from(BASE_WEB);
    // Enough containers that the generated patch outgrows the file size limit below.
    for i in 0..120 {
        base.push_str(&format!(
            "        - name: sidecar-with-a-rather-long-name-{i}\n          image: ghcr.io/acme/sidecar:{i}\n"
        ));
    }
    let repo = repo(&[
        ("base/kustomization.yaml", BASE_KUSTOMIZATION),
        ("base/web.yaml", &base),
        ("overlays/dev/kustomization.yaml", OVERLAY),
        ("overlays/prod/kustomization.yaml", OVERLAY),
    ]);
    // 20 blocks: a kustomization fits, a patch naming 121 containers does not.
    let output = apply_under_file_size_limit(repo.path(), 20);
    expect_exit(&output, 3);
    // Every overlay either has its patch and points at it, or is as it was.
    for overlay in ["overlays/dev", "overlays/prod"] {
        let kustomization = std::fs::read_to_string(repo.path().join(overlay).join("kustomization.yaml")).unwrap();
        let patch = repo.path().join(overlay).join("pullsmith.patch.yaml");
        if kustomization.contains("pullsmith.patch.yaml") {
            assert!(patch.is_file(), "{overlay} points at a missing patch\n{}", describe(&output));
        } else {
            assert_eq!(kustomization, OVERLAY, "{overlay}");
            assert!(!patch.exists(), "{overlay}");
        }
    }
    let prod = std::fs::read_to_string(repo.path().join("overlays/prod/kustomization.yaml")).unwrap();
    assert_eq!(prod, OVERLAY, "prod's IfNotPresent patch is the one over the limit\n{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error: overlays/prod/kustomization.yaml: not written, since"), "{stderr}");
    let leftovers: Vec<String> = all_names(repo.path()).into_iter().filter(|n| n.contains(".tmp")).collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn two_apply_runs_on_one_tree_at_once_agree_and_leave_no_temporary_file() {
    let make = || {
        let dir = tempfile::tempdir().expect("temp dir");
        crate::util::copy_tree(&crate::util::project_root().join("examples/plain"), dir.path());
        crate::util::git_init(dir.path());
        dir
    };
    // What one run alone makes.
    let alone = make();
    let output = pullsmith().arg("apply").arg(alone.path()).output().expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let expected: Vec<(String, Vec<u8>)> =
        read_tree(alone.path()).into_iter().filter(|(p, _)| !p.starts_with(".git/")).collect();
    for _ in 0..5 {
        let dir = make();
        let spawn = || {
            std::process::Command::new(env!("CARGO_BIN_EXE_pullsmith"))
                .arg("apply")
                .arg(dir.path())
                .env("NO_COLOR", "1")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("pullsmith starts")
        };
        let (a, b) = (spawn(), spawn());
        for child in [a, b] {
            let output = child.wait_with_output().expect("waits");
            assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
        }
        let tree: Vec<(String, Vec<u8>)> =
            read_tree(dir.path()).into_iter().filter(|(p, _)| !p.starts_with(".git/")).collect();
        assert_eq!(tree, expected, "two runs at once end where one run ends");
    }
}
