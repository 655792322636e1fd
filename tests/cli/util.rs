//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use yaml_rust2::Yaml;

/// A `pullsmith` command with a clean environment: no colour, not in CI mode.
pub fn pullsmith() -> Command {
    let mut cmd = Command::cargo_bin("pullsmith").expect("the pullsmith binary is built");
    cmd.env_remove("CI").env_remove("GITHUB_ACTIONS").env("NO_COLOR", "1");
    cmd
}

/// The project's root directory.
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the project, when it is there (it is not in a user's clone).
pub fn shared_dir() -> Option<PathBuf> {
    let dir = project_root().join("../shared");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("note: {} is absent; skipping a test that reads it", dir.display());
        None
    }
}

/// Copies a directory tree (files, directories and symlinks as links), as
/// a git checkout would make it: files 0644 (0755 when executable), since
/// the shared corpus is read-only and pullsmith leaves read-only files alone.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create target dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let file_type = entry.file_type().expect("file type");
        let target = to.join(entry.file_name());
        if file_type.is_symlink() {
            let link = std::fs::read_link(entry.path()).expect("read link");
            std::os::unix::fs::symlink(link, &target).expect("symlink");
        } else if file_type.is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
            let executable =
                std::os::unix::fs::PermissionsExt::mode(&entry.metadata().expect("stat").permissions()) & 0o111 != 0;
            let mode = if executable { 0o755 } else { 0o644 };
            std::fs::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(mode)).expect("chmod");
        }
    }
}

/// Every regular file below `root`, as sorted relative paths with their bytes.
pub fn read_tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read dir").map(|e| e.expect("entry")).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let file_type = entry.file_type().expect("file type");
            if file_type.is_dir() {
                walk(root, &path, out);
            } else if file_type.is_file() {
                let rel = path.strip_prefix(root).expect("below root").to_string_lossy().replace('\\', "/");
                out.push((rel, std::fs::read(&path).expect("read file")));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out
}

/// stdout, stderr and exit code of a finished command, for messages.
pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Writes `contents` at `rel` below `root`, creating directories.
pub fn write(root: &Path, rel: &str, contents: impl AsRef<[u8]>) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create dirs");
    std::fs::write(path, contents).expect("write file");
}

/// `git init -q` in `dir`: a repository with nothing committed, so that
/// `dir` is the repository root pullsmith's globs are relative to.
pub fn git_init(dir: &Path) {
    let output = std::process::Command::new("git").current_dir(dir).args(["init", "-q"]).output().expect("git runs");
    assert!(output.status.success(), "git init failed\n{}", describe(&output));
}

/// A temporary repository holding `files` (repository-relative path, text).
pub fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        write(dir.path(), path, text);
    }
    dir
}

/// A run's stdout, as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A run's stderr, as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs pullsmith on `dir` with the rules file `dir/rules.yaml`.
pub fn run_with_dir_rules(dir: &Path, args: &[&str]) -> Output {
    pullsmith().arg("--rules").arg(dir.join("rules.yaml")).args(args).arg(dir).output().expect("pullsmith runs")
}

/// The text of `rel` below `dir`.
pub fn read_text(dir: &Path, rel: &str) -> String {
    String::from_utf8(std::fs::read(dir.join(rel)).expect("read")).expect("utf-8")
}

/// A Flux HelmRelease or an Argo CD application: pullsmith sets its chart values.
pub(crate) fn is_helm_carrier(doc: &Yaml) -> bool {
    matches!(&doc["kind"], Yaml::String(k) if ["HelmRelease", "Application", "ApplicationSet"].contains(&k.as_str()))
}

/// A Helm carrier without the values keys pullsmith writes, and without the
/// mappings that hold nothing else.
pub(crate) fn strip_helm_pull_values(doc: &mut Yaml) {
    fn prune(node: &mut Yaml, depth: usize) {
        let Yaml::Hash(map) = node else { return };
        for k in ["imagePullSecrets", "pullSecrets"] {
            map.remove(&Yaml::String(k.to_string()));
        }
        if depth > 0 {
            map.remove(&Yaml::String("pullPolicy".to_string()));
        }
        let keys: Vec<Yaml> = map.keys().cloned().collect();
        for k in keys {
            let value = map.get_mut(&k).expect("key");
            prune(value, depth + 1);
            if matches!(value, Yaml::Hash(h) if h.is_empty()) {
                map.remove(&k);
            }
        }
    }
    if !is_helm_carrier(doc) {
        return;
    }
    let Yaml::Hash(root) = doc else { return };
    if let Some(Yaml::Hash(spec)) = root.get_mut(&Yaml::String("spec".to_string())) {
        if let Some(values) = spec.get_mut(&Yaml::String("values".to_string())) {
            prune(values, 0);
            if matches!(values, Yaml::Hash(h) if h.is_empty()) {
                spec.remove(&Yaml::String("values".to_string()));
            }
        }
    }
}

/// Every path below `root` (files, links, directories, anything), found
/// without following links.
pub fn all_paths(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let entry = entry.expect("entry");
            if entry.file_type().expect("file type").is_dir() {
                dirs.push(entry.path());
            }
            out.push(entry.path());
        }
    }
    out
}

/// A Pod with one container and no pull fields: what most file-system and
/// security tests rewrite; with `imagePullPolicy: Always` as rules giving
/// `dev/**` that policy write it.
macro_rules! plain_pod {
    ($($after_image:literal)?) => {
        concat!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n    - name: app\n      image: nginx:1.27\n"
            $(, $after_image)?
        )
    };
}
pub const PLAIN_POD: &str = plain_pod!();
pub const PLAIN_POD_DEV: &str = plain_pod!("      imagePullPolicy: Always\n");

/// The summary line's `key=value` pairs.
pub fn summary(text: &str) -> Vec<(String, usize)> {
    let line = text
        .lines()
        .find(|l| l.starts_with("pullsmith: files_scanned="))
        .unwrap_or_else(|| panic!("no summary line in:\n{text}"));
    line.trim_start_matches("pullsmith: ")
        .split_whitespace()
        .map(|pair| {
            let (key, value) = pair.split_once('=').expect("key=value");
            (key.to_string(), value.parse().expect("a count"))
        })
        .collect()
}

/// The count `key` of a summary line's pairs.
pub fn count(summary: &[(String, usize)], key: &str) -> usize {
    summary.iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("no {key} in the summary")).1
}
