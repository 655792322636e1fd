//! What pullsmith prints is safe to print (issue 9, items 3, 4, 12 and 17):
//! no credential value of a Secret, SealedSecret, `secretGenerator` or
//! credential-named environment variable reaches any output (diffs, the
//! job summary, JSON, SARIF, annotations, `explain`), while the diff still
//! applies with `git apply`; paths are quoted as git quotes them, in diff
//! headers and in every message, so a file name cannot inject lines or
//! GitHub workflow commands; a diff of many changes in one file is right
//! (it is built in linear time); messages name a file and a cause once;
//! UTF-16 is called UTF-16.
//!
//! https://github.com/pullsmith/pullsmith/issues/9

use std::path::Path;
use std::process::{Command, Output};

use crate::util::{copy_tree, describe, pullsmith, read_tree, repo, write};

/// Rules giving dev pods a pull secret, so that pod specs get lines inserted
/// at their end, right before the next document.
const RULES: &str = "version: 1
environments:
  dev:
    paths: [\"**/dev/**\"]
    imagePullPolicy: Always
    imagePullSecrets: [regcred]
  prod:
    paths: [\"**/prod/**\"]
    imagePullPolicy: IfNotPresent
";

/// Recognisable credential values, each placed where a diff's context
/// would show it if nothing stopped it.
const TOKENS: [&str; 8] = [
    "UEFTU1dPUkQtREFUQS0xMTEx",
    "TOKEN-STRING-2222",
    "KEYLINE-3333",
    "APPLIED-4444",
    "ENV-VALUE-5555",
    "LITERAL-6666",
    "AgSEALED7777",
    "FLOW-8888",
];

/// Secrets of every kind, each value within three lines of a changed line
/// (flow-style Pods change on their one line), and a Deployment whose
/// container has a password variable right above its image.
const APP: &str = r#"apiVersion: v1
kind: Secret
metadata: {name: db, annotations: {kubectl.kubernetes.io/last-applied-configuration: '{"data":{"password":"APPLIED-4444"}}'}}
data: {password: UEFTU1dPUkQtREFUQS0xMTEx}
---
{apiVersion: v1, kind: Pod, metadata: {name: f1}, spec: {containers: [{name: a, image: "nginx:1.25"}]}}
---
kind: Secret
stringData: {token: TOKEN-STRING-2222}
apiVersion: v1
metadata:
  name: token
---
apiVersion: v1
kind: Secret
metadata:
  name: tls
stringData:
  tls.key: |
    -----BEGIN PRIVATE KEY-----
    KEYLINE-3333
---
{apiVersion: v1, kind: Pod, metadata: {name: f2}, spec: {containers: [{name: a, image: "nginx:1.25"}]}}
---
kind: Secret
data: {other: FLOW-8888}
apiVersion: v1
metadata:
  name: other
---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: sealed
spec:
  encryptedData:
    password: AgSEALED7777
---
{apiVersion: v1, kind: Pod, metadata: {name: f3}, spec: {containers: [{name: a, image: "nginx:1.25"}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          env:
            - name: DB_PASSWORD
              value: ENV-VALUE-5555
          image: nginx:1.25
"#;

/// A base shared by dev and prod, so the dev overlay gets a generated patch
/// and a `patches:` entry appended after its `secretGenerator`.
fn secret_repo() -> tempfile::TempDir {
    repo(&[
        (".pullsmith.yaml", RULES),
        ("apps/dev/app.yaml", APP),
        (
            "base/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: api:1.0\n",
        ),
        ("base/kustomization.yaml", "resources:\n  - deployment.yaml\n"),
        (
            "overlays/dev/kustomization.yaml",
            "resources:\n  - ../../base\nsecretGenerator:\n  - name: db\n    literals:\n      - password=LITERAL-6666\n",
        ),
        ("overlays/prod/kustomization.yaml", "resources:\n  - ../../base\n"),
    ])
}

fn run(dir: &Path, args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut cmd = pullsmith();
    cmd.current_dir(dir).args(args);
    for (key, value) in envs {
        cmd.env(key, value);
    }
    cmd.output().expect("pullsmith runs")
}

fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "core.autocrlf=false"])
        .args(args)
        .output()
        .expect("git runs")
}

fn git_ok(dir: &Path, args: &[&str]) -> Output {
    let output = git(dir, args);
    assert!(output.status.success(), "git {args:?}: {}", describe(&output));
    output
}

fn assert_no_token(what: &str, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    for token in TOKENS {
        assert!(!text.contains(token), "{what} shows `{token}`:\n{text}");
    }
}

/// `git apply` of `diff` on a copy of `dir` gives what `pullsmith apply` writes.
fn assert_diff_applies(dir: &Path, diff: &[u8]) {
    let patched = tempfile::tempdir().expect("temp dir");
    copy_tree(dir, patched.path());
    let patch_file = patched.path().join("../pullsmith-test.patch");
    std::fs::write(&patch_file, diff).expect("write patch");
    let applied = git(patched.path(), &["apply", "--verbose", &patch_file.to_string_lossy()]);
    let _ = std::fs::remove_file(&patch_file);
    assert!(applied.status.success(), "git apply: {}\n--- diff\n{}", describe(&applied), String::from_utf8_lossy(diff));
    let written = tempfile::tempdir().expect("temp dir");
    copy_tree(dir, written.path());
    let output = run(written.path(), &["apply", "."], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(read_tree(patched.path()), read_tree(written.path()), "git apply of the diff differs from `apply`");
}

#[test]
fn secret_values_reach_no_output_and_the_diff_still_applies() {
    let dir = secret_repo();
    let root = dir.path();
    let diff = run(root, &["diff", "."], &[]);
    assert_eq!(diff.status.code(), Some(0), "{}", describe(&diff));
    assert!(!diff.stdout.is_empty(), "a diff is printed");
    for file in ["apps/dev/app.yaml", "overlays/dev/kustomization.yaml", "overlays/dev/pullsmith.patch.yaml"] {
        assert!(String::from_utf8_lossy(&diff.stdout).contains(&format!("+++ b/{file}\n")), "{}", describe(&diff));
    }
    assert_no_token("diff", &diff.stdout);
    assert_no_token("diff (stderr)", &diff.stderr);
    assert_diff_applies(root, &diff.stdout);

    let check = run(root, &["check", "--diff", "."], &[]);
    assert_eq!(check.status.code(), Some(1), "{}", describe(&check));
    assert_eq!(check.stdout, diff.stdout, "check --diff prints the diff of `diff`");
    assert_no_token("check --diff (stderr)", &check.stderr);

    let side = tempfile::tempdir().expect("temp dir");
    let summary = side.path().join("summary.md");
    let outputs = side.path().join("outputs");
    let github = run(
        root,
        &["--format", "github", "check", "."],
        &[("GITHUB_STEP_SUMMARY", &summary), ("GITHUB_OUTPUT", &outputs)],
    );
    assert_eq!(github.status.code(), Some(1), "{}", describe(&github));
    let summary_text = std::fs::read(&summary).expect("the job summary is written");
    assert!(String::from_utf8_lossy(&summary_text).contains("```diff\n"), "the summary holds the diff");
    for (what, text) in
        [("github", &github.stdout), ("github (stderr)", &github.stderr), ("job summary", &summary_text)]
    {
        assert_no_token(what, text);
    }

    let report = side.path().join("report.json");
    let report_arg = report.to_str().expect("UTF-8 temp path");
    for args in [
        &["--format", "json", "check", "."][..],
        &["--format", "sarif", "check", "."],
        &["--format", "rdjson", "check", "."],
        &["--format", "gitlab", "check", "."],
        &["--report", report_arg, "check", "."],
        &["-q", "check", "."],
        &["explain", "."],
        &["--format", "json", "explain", "."],
    ] {
        let output = run(root, args, &[]);
        assert!(matches!(output.status.code(), Some(0 | 1)), "{args:?}: {}", describe(&output));
        assert_no_token(&format!("{args:?}"), &output.stdout);
        assert_no_token(&format!("{args:?} (stderr)"), &output.stderr);
    }
    assert_no_token("--report", &std::fs::read(&report).expect("the report is written"));
}

#[test]
fn a_secret_on_a_changed_line_is_shown_masked() {
    // One minified line holds both the Deployment that changes and a Secret.
    let list = r#"{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"token": "FLOW-8888"}}, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}}]}
"#;
    let dir = repo(&[(".pullsmith.yaml", RULES), ("dev/list.json.yaml", list)]);
    let diff = run(dir.path(), &["diff", "."], &[]);
    assert_eq!(diff.status.code(), Some(0), "{}", describe(&diff));
    let text = String::from_utf8_lossy(&diff.stdout);
    assert!(text.contains(r#""data": {"token": <redacted>}"#), "{text}");
    assert!(text.contains("+{") && text.contains("imagePullPolicy"), "{text}");
    assert_no_token("diff", &diff.stdout);
}

/// The names the test gives files, each in its own dev directory file.
const ODD_NAMES: [&str; 6] =
    ["new\nline.yaml", "q\"uote.yaml", "t\tab.yaml", "é.yaml", "sp ace.yaml", "back\\slash.yaml"];

const POD: &str =
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: nginx:1.25\n";

/// The `diff --git`, `---` and `+++` lines of a diff, in order.
fn header_lines(diff: &[u8]) -> Vec<Vec<u8>> {
    diff.split_inclusive(|b| *b == b'\n')
        .filter(|line| line.starts_with(b"diff --git ") || line.starts_with(b"--- ") || line.starts_with(b"+++ "))
        .map(<[u8]>::to_vec)
        .collect()
}

#[test]
fn diff_headers_quote_paths_byte_for_byte_as_git_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    for name in ODD_NAMES {
        write(root, &format!("dev/{name}"), POD);
    }
    git_ok(root, &["init", "-q", "."]);
    git_ok(root, &["add", "."]);
    git_ok(root, &["commit", "-q", "-m", "pods"]);

    let diff = run(root, &["diff", "."], &[]);
    assert_eq!(diff.status.code(), Some(0), "{}", describe(&diff));
    assert_eq!(diff.stdout.split(|b| *b == b'\n').filter(|l| l.starts_with(b"diff --git ")).count(), ODD_NAMES.len());

    // What git prints for the same change, with its default core.quotePath.
    let written = tempfile::tempdir().expect("temp dir");
    copy_tree(root, written.path());
    let applied = run(written.path(), &["apply", "."], &[]);
    assert_eq!(applied.status.code(), Some(0), "{}", describe(&applied));
    let git_diff = git_ok(written.path(), &["diff", "--no-color", "--no-ext-diff"]);
    assert_eq!(
        header_lines(&diff.stdout),
        header_lines(&git_diff.stdout),
        "pullsmith:\n{}\ngit:\n{}",
        String::from_utf8_lossy(&diff.stdout),
        String::from_utf8_lossy(&git_diff.stdout)
    );
    // And the same hunks: git's diff without its `index` lines and the
    // function names after its hunk headers (`@@ -6,3 +6,4 @@ spec:`) is pullsmith's.
    let without_index: Vec<u8> = git_diff
        .stdout
        .split_inclusive(|b| *b == b'\n')
        .filter(|line| !line.starts_with(b"index "))
        .flat_map(|line| match line.strip_prefix(b"@@ ") {
            Some(rest) => {
                let end = rest.windows(3).position(|w| w == b" @@").expect("a hunk header ends with @@") + 3;
                [b"@@ ", &rest[..end], b"\n"].concat()
            }
            None => line.to_vec(),
        })
        .collect();
    assert_eq!(String::from_utf8_lossy(&diff.stdout), String::from_utf8_lossy(&without_index));

    let root_copy = tempfile::tempdir().expect("temp dir");
    copy_tree(root, root_copy.path());
    std::fs::remove_dir_all(root_copy.path().join(".git")).expect("remove .git");
    assert_diff_applies(root_copy.path(), &diff.stdout);
}

#[test]
fn file_names_cannot_inject_lines_or_workflow_commands() {
    let injected = "x\n::error title=pwned::injected\n.yaml";
    let dir = repo(&[
        (&format!("dev/{injected}"), "kind: Pod\nspec: [\n"),
        (&format!("dev/ok{injected}"), POD),
        ("dev/q\"uote\\.yaml", "kind: Pod\nspec: [\n"),
    ]);
    let root = dir.path();
    let text = run(root, &["check", "--diff", "."], &[]);
    assert_eq!(text.status.code(), Some(3), "{}", describe(&text));
    let stderr = String::from_utf8_lossy(&text.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(
        errors,
        [
            r#"error: "dev/q\"uote\\.yaml":3:1: invalid YAML: while parsing a node, did not find expected node content"#,
            r#"error: "dev/x\n::error title=pwned::injected\n.yaml":3:1: invalid YAML: while parsing a node, did not find expected node content"#,
        ],
        "{stderr}"
    );
    for output in [&text.stdout, &text.stderr] {
        let output = String::from_utf8_lossy(output);
        assert!(!output.lines().any(|l| l.starts_with("::") || l.starts_with("injected")), "{output}");
    }
    assert!(String::from_utf8_lossy(&text.stdout).contains(r#"+++ "b/dev/okx\n::error title=pwned::injected\n.yaml""#));

    let side = tempfile::tempdir().expect("temp dir");
    let summary = side.path().join("summary.md");
    let github = run(root, &["--format", "github", "check", "."], &[("GITHUB_STEP_SUMMARY", &summary)]);
    assert_eq!(github.status.code(), Some(3), "{}", describe(&github));
    for output in [&github.stdout, &github.stderr] {
        let output = String::from_utf8_lossy(output);
        for line in output.lines() {
            // Every workflow command is one of pullsmith's, its values escaped.
            if line.starts_with("::") {
                assert!(
                    line.starts_with("::warning file=dev/okx%0A%3A%3Aerror title=pwned%3A%3Ainjected%0A.yaml,")
                        || line.starts_with("::error file=dev/x%0A%3A%3Aerror title=pwned%3A%3Ainjected%0A.yaml,")
                        || line.starts_with("::error file=dev/q\"uote\\.yaml,"),
                    "{line}"
                );
            }
            assert!(!line.starts_with("injected"), "{output}");
        }
    }
}

#[test]
fn many_changes_in_one_file_make_a_diff_that_applies() {
    // Enough Pods that the diff is built by the linear walk, not a whole-file diff.
    let mut text = String::new();
    for pod in 0..3000 {
        let policy = if pod % 3 == 0 { "      imagePullPolicy: Never\n" } else { "" };
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p{pod}\nspec:\n  containers:\n    - name: c\n      image: nginx:1.{}\n{policy}",
            pod % 5
        ));
    }
    let dir = repo(&[(".pullsmith.yaml", RULES), ("dev/pods.yaml", &text)]);
    let diff = run(dir.path(), &["diff", "."], &[]);
    assert_eq!(diff.status.code(), Some(0), "{}", describe(&diff));
    let printed = String::from_utf8_lossy(&diff.stdout);
    assert_eq!(printed.lines().filter(|l| l.starts_with("@@ ")).count(), 3000, "one hunk per Pod");
    assert_eq!(printed.lines().filter(|l| *l == "+      imagePullPolicy: Always").count(), 3000);
    assert_eq!(printed.lines().filter(|l| *l == "-      imagePullPolicy: Never").count(), 1000);
    assert_diff_applies(dir.path(), &diff.stdout);
}

#[test]
fn a_utf16_file_is_called_utf16_not_binary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let utf16: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain("kind: Pod\n".encode_utf16().flat_map(u16::to_le_bytes)).collect();
    write(dir.path(), "dev/utf16.yaml", &utf16);
    write(dir.path(), "dev/pod.yaml", POD);
    let output = run(dir.path(), &["check", "."], &[]);
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "error: dev/utf16.yaml:1:1: UTF-16 text; pullsmith reads UTF-8 only (convert with iconv: `iconv -f UTF-16 -t UTF-8`); left alone\n"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("binary"), "{stderr}");
    assert!(stderr.contains("files_changed=1"), "the rest is processed: {stderr}");
}

#[test]
fn an_error_that_ends_the_run_says_each_cause_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = run(dir.path(), &["--rules", "missing.yaml", "diff", "."], &[]);
    assert_eq!(missing.status.code(), Some(2), "{}", describe(&missing));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(stderr.matches("No such file or directory").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("missing.yaml").count(), 1, "{stderr}");

    let outside = run(dir.path(), &["commit", "."], &[("GIT_CEILING_DIRECTORIES", dir.path())]);
    assert_eq!(outside.status.code(), Some(2), "{}", describe(&outside));
    let stderr = String::from_utf8_lossy(&outside.stderr);
    assert_eq!(stderr.matches("could not find repository").count(), 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
