//! The security sweep (issue 15, item 7): one repository that points out of
//! itself every way it can — links to files and directories outside, `..`
//! and absolute kustomize resources and patches, Helm `valueFiles`,
//! `valuesFile` and `chartHome` climbing out, links and references into
//! `.git` (where a token lives in `.git/config`) — run through every
//! command and output format, through its real path and through a linked
//! root. Outside the repository nothing is written or touched (every byte,
//! mode and mtime compared), nothing of it is printed, and inside only the
//! files the diff names change. And the rules, whatever they hold, can make
//! pullsmith write nothing but a pull policy and secret names.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{describe, pullsmith, read_tree, write, PLAIN_POD};

/// In every file outside the repository, and in `.git`: never printed.
const OUTSIDE: &str = "OUTSIDE-SENTINEL";
const TOKEN: &str = "GHTOKEN-SENTINEL-9999";

const POD: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: OUTSIDE-SENTINEL-pod
spec:
  containers:
    - name: c
      image: outside-sentinel/OUTSIDE-SENTINEL:1
";
const CHART: &str = "apiVersion: v2\nname: evil\nversion: 1.0.0\n";
const TEMPLATE: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  template:
    spec:
      imagePullSecrets: {{ toYaml .Values.imagePullSecrets | nindent 8 }}
      containers:
        - name: x
          image: x
          imagePullPolicy: {{ .Values.image.pullPolicy }}
";
const VALUES: &str = "image:\n  pullPolicy: OUTSIDE-SENTINEL\nimagePullSecrets: []\n";

fn application(name: &str, path: &str, value_files: &[&str]) -> String {
    let files: String = value_files.iter().map(|f| format!("        - {f}\n")).collect();
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: {name}, namespace: argocd}}\nspec:\n  destination: {{namespace: dev}}\n  source:\n    repoURL: https://example.com/r.git\n    path: {path}\n    helm:\n      valueFiles:\n{files}"
    )
}

fn symlink(target: &str, link: &Path) {
    std::fs::create_dir_all(link.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", describe(&output));
}

/// `top/outside` (files that must never be touched or shown) and
/// `top/repo`, a committed git repository pointing at them every way.
fn hostile() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let top = tempfile::tempdir().expect("temp dir");
    let outside = top.path().join("outside");
    let repo = top.path().join("repo");
    let abs = outside.display().to_string();
    for (rel, text) in [
        ("pod.yaml", POD),
        ("dir/pod.yaml", POD),
        ("kustomization.yaml", "resources:\n  - pod.yaml\n"),
        ("values.yaml", VALUES),
        ("chart/Chart.yaml", CHART),
        ("chart/values.yaml", VALUES),
        ("chart/templates/d.yaml", TEMPLATE),
    ] {
        write(&outside, rel, text);
    }
    let inside_pod =
        POD.replace("OUTSIDE-SENTINEL-pod", "inside").replace("outside-sentinel/OUTSIDE-SENTINEL", "nginx");
    let files: Vec<(&str, String)> = vec![
        ("dev/ok.yaml", inside_pod.clone()),
        (
            "dev/k/kustomization.yaml",
            "resources:\n  - ../../../outside\n  - ../../../outside/pod.yaml\npatches:\n  - path: ../../../outside/pod.yaml\n"
                .into(),
        ),
        ("dev/k-abs/kustomization.yaml", format!("resources:\n  - {abs}/pod.yaml\n")),
        ("dev/k-git/kustomization.yaml", "resources:\n  - ../../.git/config\n".into()),
        (
            "dev/h/kustomization.yaml",
            format!(
                "helmCharts:\n  - name: evil\n    valuesFile: ../../../outside/values.yaml\n    additionalValuesFiles: [{abs}/values.yaml]\nhelmGlobals:\n  chartHome: ../../../outside\n"
            ),
        ),
        ("dev/argo/app.yaml", application("a", "dev/chart", &["../../../outside/values.yaml", &format!("{abs}/values.yaml")])),
        ("dev/argo-git/app.yaml", application("b", "dev/chart2", &["../../.git/config"])),
        ("dev/chart/Chart.yaml", CHART.into()),
        ("dev/chart2/Chart.yaml", CHART.into()),
        ("dev/chart2/values.yaml", "image:\n  pullPolicy: IfNotPresent\n".into()),
        ("dev/chart2/templates/d.yaml", TEMPLATE.into()),
        ("prod/ok.yaml", inside_pod),
    ];
    for (rel, text) in &files {
        write(&repo, rel, text);
    }
    symlink("../../../outside/pod.yaml", &repo.join("dev/links/out.yaml"));
    symlink(&format!("{abs}/pod.yaml"), &repo.join("dev/links/abs.yaml"));
    symlink("../../../outside/dir", &repo.join("dev/links/outdir"));
    symlink("../../../outside/chart/templates", &repo.join("dev/chart/templates"));
    symlink("../../../outside/values.yaml", &repo.join("dev/chart/values.yaml"));
    symlink("../../.git/config", &repo.join("dev/links/git-config.yaml"));
    symlink("../../.git/pod.yaml", &repo.join("dev/links/git-pod.yaml"));
    git(&repo, &["init", "-q"]);
    git(&repo, &["remote", "add", "origin", &format!("https://x-access-token:{TOKEN}@github.com/a/b.git")]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "base"]);
    write(&repo, ".git/pod.yaml", POD);
    (top, repo, outside)
}

/// Every name below `dir` with its bytes (or link target), mode and mtime.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, u32, i64, i64)> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(at) = dirs.pop() {
        for entry in std::fs::read_dir(&at).expect("read dir") {
            let entry = entry.expect("entry");
            let path = entry.path();
            let metadata = std::fs::symlink_metadata(&path).expect("stat");
            let bytes = if metadata.file_type().is_symlink() {
                std::fs::read_link(&path).expect("readlink").into_os_string().into_encoded_bytes()
            } else if metadata.is_dir() {
                dirs.push(path.clone());
                Vec::new()
            } else {
                std::fs::read(&path).expect("read")
            };
            out.push((path.display().to_string(), bytes, metadata.mode(), metadata.mtime(), metadata.mtime_nsec()));
        }
    }
    out.sort();
    out
}

fn assert_nothing_leaks(what: &str, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    for sentinel in [OUTSIDE, TOKEN, "x-access-token"] {
        assert!(!text.contains(sentinel), "{what}: `{sentinel}` was printed\n{text}");
    }
}

/// The files a `diff` names (its `+++ b/` lines).
fn diffed_files(diff: &[u8]) -> Vec<String> {
    let mut files: Vec<String> =
        String::from_utf8_lossy(diff).lines().filter_map(|l| l.strip_prefix("+++ b/")).map(str::to_string).collect();
    files.sort();
    files
}

#[test]
fn nothing_outside_the_repository_is_written_followed_or_printed() {
    let (top, repo, outside) = hostile();
    let linked_root = top.path().join("linked-root");
    std::os::unix::fs::symlink(&repo, &linked_root).expect("link the root");
    let reports = tempfile::tempdir().expect("reports dir");
    let outside_before = snapshot(&outside);
    let git_before: Vec<_> =
        [".git/config", ".git/pod.yaml"].iter().map(|rel| std::fs::read(repo.join(rel)).expect("read")).collect();
    let tree_before = read_tree(&repo);

    let diff = pullsmith().arg("diff").arg(&repo).output().expect("runs");
    assert_eq!(diff.status.code(), Some(3), "errors for what points out: {}", describe(&diff));
    let expected_files = diffed_files(&diff.stdout);
    assert_eq!(expected_files, ["dev/ok.yaml", "prod/ok.yaml"], "{}", describe(&diff));
    let stderr = String::from_utf8_lossy(&diff.stderr);
    for (path, why) in [
        ("dev/links/out.yaml", "symlink leaves the repository"),
        ("dev/links/abs.yaml", "symlink leaves the repository"),
        ("dev/links/outdir", "linked directory leaves the repository"),
        ("dev/chart/templates", "linked directory leaves the repository"),
        ("dev/chart/values.yaml", "symlink leaves the repository"),
        ("dev/k/kustomization.yaml", "leaves the repository"),
        ("dev/k-abs/kustomization.yaml", "absolute paths are not portable"),
        ("dev/k-git/kustomization.yaml", "`../../.git/config` leaves the repository"),
        ("dev/h/kustomization.yaml", "lies outside the repository"),
        ("dev/argo/app.yaml", "lies outside the repository"),
        ("dev/argo-git/app.yaml", "values file `../../.git/config` lies outside the repository"),
    ] {
        assert!(
            stderr.lines().any(|l| l.contains(&format!(" {path}")) && l.contains(why)),
            "`{path}`: no line saying `{why}`\n{stderr}"
        );
    }

    // Through its real path and through a linked root, every command and format.
    for root in [&repo, &linked_root] {
        for format in ["text", "json", "github", "sarif", "rdjson", "gitlab"] {
            let report = reports.path().join(format!("{format}.json"));
            let summary = reports.path().join("summary.md");
            let output = pullsmith()
                .args(["--format", format, "--report"])
                .arg(&report)
                .args(["check", "--diff"])
                .arg(root)
                .env("GITHUB_STEP_SUMMARY", &summary)
                .output()
                .expect("runs");
            assert_eq!(output.status.code(), Some(3), "{format}: {}", describe(&output));
            assert_nothing_leaks(&format!("check --format {format}"), &[output.stdout, output.stderr].concat());
            assert_nothing_leaks("--report", &std::fs::read(&report).expect("the report is written"));
            if let Ok(summary) = std::fs::read(&summary) {
                assert_nothing_leaks("the job summary", &summary);
            }
        }
        for args in [&["explain"][..], &["--format", "json", "explain"], &["diff"]] {
            let output = pullsmith().args(args).arg(root).output().expect("runs");
            assert_nothing_leaks(&format!("{args:?}"), &[output.stdout, output.stderr].concat());
        }
    }
    let through_link = pullsmith().arg("diff").arg(&linked_root).output().expect("runs");
    assert_eq!(through_link.stdout, diff.stdout, "a linked root is the repository it leads to");
    assert_eq!(through_link.stderr, diff.stderr);

    // Writing: through the linked root, then a commit from the real one.
    let apply = pullsmith().arg("apply").arg(&linked_root).output().expect("runs");
    assert_eq!(apply.status.code(), Some(3), "{}", describe(&apply));
    assert_nothing_leaks("apply", &[apply.stdout, apply.stderr].concat());
    let tree_after = read_tree(&repo);
    let mut changed: Vec<String> = tree_after
        .iter()
        .filter(|(path, bytes)| {
            !path.starts_with(".git/") && tree_before.iter().find(|(p, _)| p == path).map(|(_, b)| b) != Some(bytes)
        })
        .map(|(path, _)| path.clone())
        .collect();
    changed.sort();
    assert_eq!(changed, expected_files, "apply writes exactly the files the diff names");
    git(&repo, &["checkout", "-q", "--", "."]);
    let commit = pullsmith().arg("commit").arg(&repo).output().expect("runs");
    assert_nothing_leaks("commit", &[commit.stdout, commit.stderr].concat());
    assert_eq!(
        std::fs::symlink_metadata(&linked_root).map(|m| m.file_type().is_symlink()).ok(),
        Some(true),
        "the linked root is still a link"
    );

    assert_eq!(snapshot(&outside), outside_before, "outside the repository, nothing changed");
    let git_after: Vec<_> =
        [".git/config", ".git/pod.yaml"].iter().map(|rel| std::fs::read(repo.join(rel)).expect("read")).collect();
    assert_eq!(git_after, git_before, "git's files are not the repository's manifests");
}

// ---------------------------------------------------------------------------
// What the rules can make pullsmith write

fn rules_repo(rules: &str) -> tempfile::TempDir {
    crate::util::repo(&[(".pullsmith.yaml", rules), ("dev/app.yaml", PLAIN_POD)])
}

fn rules_with_secret(secret: &str) -> String {
    format!(
        "version: 1\nenvironments:\n  dev:\n    paths: [\"dev/**\"]\n    imagePullPolicy: Always\n    imagePullSecrets: [{secret}]\n"
    )
}

#[test]
fn rules_that_would_write_more_than_a_secret_name_are_refused_and_write_nothing() {
    // Each would, written as is, add YAML beyond one secret name: a second
    // key, a document, an anchor or alias, a tag, a comment, a flow
    // collection, a line break, or a name Kubernetes refuses.
    let hostile = [
        r#""regcred\nkind: Secret""#,
        r#""a: b""#,
        r#""---""#,
        r#""*alias""#,
        r#""&anchor x""#,
        r#""!!str x""#,
        r#""x # comment""#,
        r#""{a: b}""#,
        r#""[a]""#,
        r#""Regcred""#,
        r#""reg_cred""#,
        r#""-leading-dash""#,
        r#""""#,
        r#""a..b""#,
        r#""é""#,
        "[nested]",
        "{name: x}",
        "~",
    ];
    let long = "a".repeat(254);
    for secret in hostile.iter().copied().chain([long.as_str()]) {
        let repo = rules_repo(&rules_with_secret(secret));
        let before = read_tree(repo.path());
        let output = pullsmith().arg("apply").arg(repo.path()).output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "`{secret}` is refused: {}", describe(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(".pullsmith.yaml:6:"), "`{secret}`: located at its line\n{stderr}");
        assert_eq!(read_tree(repo.path()), before, "`{secret}`: nothing written");
    }
    // Helm values keys named by the rules are checked as strictly.
    for key in [r#""image.pullPolicy\nevil: 1""#, r#""a..b""#, r#""a: b""#, r#""""#, r#""*x""#] {
        let rules = format!(
            "version: 1\nenvironments:\n  dev:\n    paths: [\"dev/**\"]\n    imagePullPolicy: Always\nhelm:\n  charts:\n    - name: web\n      pullPolicy: [{key}]\n"
        );
        let repo = rules_repo(&rules);
        let output = pullsmith().arg("apply").arg(repo.path()).output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "values key `{key}` is refused: {}", describe(&output));
        assert_eq!(crate::util::read_text(repo.path(), "dev/app.yaml"), PLAIN_POD);
    }
}

#[test]
fn the_lines_any_valid_rules_add_are_a_policy_and_secret_names() {
    // The longest and oddest names Kubernetes takes (DNS subdomains),
    // some of which plain YAML reads as a number, a boolean or a null.
    let long = format!("{}.{}.{}.{}", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61));
    assert_eq!(long.len(), 253);
    let names = ["regcred", "0", "42", "1e3", "1.5", "y", "on", "true", "null", "a-b.c-d", long.as_str()];
    let rules = format!(
        "version: 1\nenvironments:\n  dev:\n    paths: [\"dev/**\"]\n    imagePullPolicy: Never\n    imagePullSecrets: [{}]\n",
        names.map(|n| format!("\"{n}\"")).join(", ")
    );
    let repo = rules_repo(&rules);
    let output = pullsmith().arg("diff").arg(repo.path()).output().expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let diff = String::from_utf8_lossy(&output.stdout);
    let added: Vec<&str> =
        diff.lines().filter(|l| l.starts_with('+') && !l.starts_with("+++")).map(|l| l[1..].trim()).collect();
    assert!(!added.is_empty(), "{diff}");
    for line in &added {
        let named = line.strip_prefix("- name: ").map(|name| name.trim_matches('"'));
        let allowed = *line == "imagePullPolicy: Never"
            || *line == "imagePullSecrets:"
            || named.is_some_and(|name| names.contains(&name));
        assert!(allowed, "an added line that is neither a policy nor a secret name: `{line}`\n{diff}");
    }
    assert!(diff.lines().all(|l| !l.starts_with('-') || l.starts_with("---")), "nothing removed\n{diff}");
    // Written, each name reads back as that string, not as a number, a boolean or a null.
    let applied = pullsmith().arg("apply").arg(repo.path()).output().expect("runs");
    assert_eq!(applied.status.code(), Some(0), "{}", describe(&applied));
    let text = crate::util::read_text(repo.path(), "dev/app.yaml");
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("parses");
    let secrets = docs[0]["spec"]["imagePullSecrets"].as_vec().expect("a list").clone();
    let read: Vec<Option<&str>> = secrets.iter().map(|s| s["name"].as_str()).collect();
    assert_eq!(read, names.map(Some), "{text}");
}
