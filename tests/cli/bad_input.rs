//! Bad input: invalid rules (exit 2, nothing read or written), files that
//! cannot be processed (exit 3, left untouched, every other file processed),
//! and odd files that are not errors at all (exit 0).

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use tempfile::TempDir;

use crate::util::{describe, pullsmith, repo, write};

/// A deployment in need of a policy: under `dev/` the default rules insert
/// `imagePullPolicy: Always` right after its `image` line.
const GOOD: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: good
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.25
";

const GOOD_FIXED: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: good
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.25
        imagePullPolicy: Always
";

fn read(root: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(root.join(rel)).unwrap_or_else(|err| panic!("read {rel}: {err}"))
}

/// Runs `pullsmith <args>` with the repository as the working directory.
fn run(root: &Path, args: &[&str]) -> Output {
    pullsmith().current_dir(root).args(args).timeout(Duration::from_secs(60)).output().expect("pullsmith runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn expect_exit(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "expected exit {code}\n{}", describe(output));
}

/// The `error:` line for `path`, which must exist.
fn error_line(output: &Output, path: &str) -> String {
    let prefix = format!("error: {path}:");
    stderr(output)
        .lines()
        .find(|l| l.starts_with(&prefix))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no `{prefix}` line\n{}", describe(output)))
}

/// Asserts that `line` is `error: <path>:<line>:<column>: ...` with a position.
fn expect_position(line: &str, path: &str) -> (usize, usize) {
    let rest =
        line.strip_prefix(&format!("error: {path}:")).unwrap_or_else(|| panic!("`{line}` is not an error for {path}"));
    let mut parts = rest.splitn(3, ':');
    let l = parts.next().and_then(|s| s.parse::<usize>().ok());
    let c = parts.next().and_then(|s| s.parse::<usize>().ok());
    match (l, c) {
        (Some(l), Some(c)) if l >= 1 && c >= 1 => (l, c),
        _ => panic!("`{line}` has no line:column"),
    }
}

fn summary_errors(text: &str) -> Option<usize> {
    let line = text.lines().find(|l| l.starts_with("pullsmith: files_scanned="))?;
    line.split_whitespace().find_map(|w| w.strip_prefix("errors=")).and_then(|n| n.parse().ok())
}

// ---------------------------------------------------------------- invalid rules

/// Runs `apply` with `rules` (written outside the repository) on a repository
/// holding a manifest that needs a change; expects exit 2, the rules file's
/// `line:column` in the message, and nothing written.
fn expect_invalid_rules(rules: &str, line: usize, column: usize, words: &[&str]) {
    let rules_dir = tempfile::tempdir().expect("temp dir");
    let rules_path = rules_dir.path().join("rules.yaml");
    std::fs::write(&rules_path, rules).expect("write rules");
    let repo = repo(&[("dev/app.yaml", GOOD)]);
    let output = run(repo.path(), &["--rules", rules_path.to_str().expect("utf-8 path"), "apply"]);
    expect_exit(&output, 2);
    let want = format!("pullsmith: {}:{line}:{column}: ", rules_path.display());
    let err = stderr(&output);
    let message = err
        .lines()
        .find(|l| l.starts_with(&format!("pullsmith: {}:", rules_path.display())))
        .unwrap_or_else(|| panic!("no message naming the rules file\n{}", describe(&output)));
    assert!(message.starts_with(&want), "expected the message at {line}:{column} (`{want}`), got `{message}`");
    for word in words {
        assert!(message.contains(word), "message `{message}` does not mention `{word}`");
    }
    assert_eq!(read(repo.path(), "dev/app.yaml"), GOOD.as_bytes());
    assert!(
        !stdout(&output).contains("files_scanned"),
        "invalid rules must stop the run before any file is read\n{}",
        describe(&output)
    );
}

#[test]
fn invalid_rules_misspelled_policy_is_located_at_the_value() {
    // `always` starts at line 5, column 22.
    expect_invalid_rules(
        "version: 1\nenvironments:\n  dev:\n    paths: [\"dev/**\"]\n    imagePullPolicy: always\n",
        5,
        22,
        &["always"],
    );
}

#[test]
fn invalid_rules_unknown_key_is_located_at_the_key() {
    expect_invalid_rules(
        "version: 1\nenvironments:\n  dev:\n    paths: [\"dev/**\"]\n    pullPolicy: Always\n",
        5,
        5,
        &["pullPolicy"],
    );
}

#[test]
fn invalid_rules_bad_glob_is_located_at_the_glob() {
    // The second path, `"dev/["`, starts at line 6, column 9.
    expect_invalid_rules(
        "version: 1\nenvironments:\n  dev:\n    paths:\n      - \"dev/**\"\n      - \"dev/[\"\n    imagePullPolicy: Always\n",
        6,
        9,
        &["dev/["],
    );
}

#[test]
fn invalid_rules_missing_version() {
    // The document's mapping starts at line 2 (after a comment).
    expect_invalid_rules(
        "# no version\nenvironments:\n  dev:\n    paths: [\"dev/**\"]\n    imagePullPolicy: Always\n",
        2,
        1,
        &["version"],
    );
}

#[test]
fn invalid_rules_version_2() {
    expect_invalid_rules(
        "# from the future\nversion: 2\nenvironments:\n  dev:\n    paths: [\"dev/**\"]\n    imagePullPolicy: Always\n",
        2,
        1,
        &["version", "2"],
    );
}

#[test]
fn invalid_rules_default_environment_names_no_environment() {
    expect_invalid_rules(
        "version: 1\nenvironments:\n  dev:\n    paths: [\"dev/**\"]\n    imagePullPolicy: Always\ndefaultEnvironment: qa\n",
        6,
        1,
        &["defaultEnvironment", "qa"],
    );
}

// ---------------------------------------------------------------- per-file errors

/// Runs `apply` on a repository of `files` plus the good manifest; expects
/// exit 3, the bad files untouched, the good one rewritten; returns the output.
fn apply_expecting_failures(files: &[(&str, &[u8])], bad: &[&str]) -> (TempDir, Output) {
    let repo = repo(&[("dev/good.yaml", GOOD)]);
    for (path, bytes) in files {
        write(repo.path(), path, bytes);
    }
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 3);
    for (path, bytes) in files {
        if bad.contains(path) {
            assert_eq!(read(repo.path(), path), *bytes, "{path} must be left untouched\n{}", describe(&output));
            error_line(&output, path);
        }
    }
    assert_eq!(
        String::from_utf8_lossy(&read(repo.path(), "dev/good.yaml")),
        GOOD_FIXED,
        "the good file beside the bad one must be rewritten\n{}",
        describe(&output)
    );
    assert_eq!(
        summary_errors(&stdout(&output)),
        Some(bad.len()),
        "summary must count {} errors\n{}",
        bad.len(),
        describe(&output)
    );
    (repo, output)
}

#[test]
fn invalid_yaml_is_reported_at_its_position_and_left_alone() {
    // `name: bad: x`: the second `:` (line 4, column 12) is not allowed.
    let bad = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad: x\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n";
    let (_repo, output) = apply_expecting_failures(&[("dev/bad.yaml", bad.as_bytes())], &["dev/bad.yaml"]);
    let line = error_line(&output, "dev/bad.yaml");
    assert_eq!(expect_position(&line, "dev/bad.yaml"), (4, 12), "{line}");
    assert!(line.contains("YAML"), "{line}");
}

/// istio's spire quickstart closes a container's `args` at the key's column:
/// kubectl takes it, yaml-rust2 (YAML 1.2) does not.
const FLOW_CLOSED_AT_KEY_COLUMN: &str = "\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: spire-agent
spec:
  template:
    spec:
      containers:
      - name: spire-agent
        image: ghcr.io/spiffe/spire-agent:1.9.6
        args: [
          \"-config\",
          \"/run/spire/config/agent.conf\"
        ]
";

#[test]
fn flow_sequence_closed_at_its_key_column_is_explained_at_the_bracket() {
    let (_repo, output) =
        apply_expecting_failures(&[("dev/spire.yaml", FLOW_CLOSED_AT_KEY_COLUMN.as_bytes())], &["dev/spire.yaml"]);
    let line = error_line(&output, "dev/spire.yaml");
    assert_eq!(
        line,
        "error: dev/spire.yaml:14:9: invalid YAML: the closing `]` of this flow sequence is not indented past \
         its key `args` (line 11, column 9); yaml-rust2 (YAML 1.2) rejects this although kubectl accepts it: \
         indent the `]` one more space than `args`, to column 10"
    );

    // The fix the message gives is enough: the file is then edited like any other.
    let fixed = FLOW_CLOSED_AT_KEY_COLUMN.replace("\n        ]", "\n         ]");
    let repo = repo(&[("dev/spire.yaml", &fixed)]);
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 0);
    let want = fixed.replace("agent:1.9.6\n", "agent:1.9.6\n        imagePullPolicy: Always\n");
    assert_eq!(String::from_utf8_lossy(&read(repo.path(), "dev/spire.yaml")), want);
}

#[test]
fn flow_mapping_closed_at_its_key_column_is_explained_and_left_alone() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {\n    \"app\": \"web\"\n  }\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n";
    let (_repo, output) = apply_expecting_failures(&[("dev/labels.yaml", text.as_bytes())], &["dev/labels.yaml"]);
    let line = error_line(&output, "dev/labels.yaml");
    assert_eq!(expect_position(&line, "dev/labels.yaml"), (7, 3), "{line}");
    assert!(line.contains("closing `}` of this flow mapping is not indented past its key `labels`"), "{line}");
    assert!(line.contains("kubectl accepts it"), "{line}");
}

#[test]
fn ordinary_bad_indentation_keeps_the_parser_message() {
    // The second item of the flow sequence, not its closing bracket, sits at the key's column.
    let text = FLOW_CLOSED_AT_KEY_COLUMN
        .replace("          \"/run/spire", "        \"/run/spire")
        .replace("\n        ]", "\n          ]");
    let (_repo, output) = apply_expecting_failures(&[("dev/spire.yaml", text.as_bytes())], &["dev/spire.yaml"]);
    let line = error_line(&output, "dev/spire.yaml");
    assert_eq!(line, "error: dev/spire.yaml:13:9: invalid YAML: invalid indentation");
}

/// In a Pod, so that the byte scan has it parsed (a ConfigMap's would not be).
fn alias_bomb() -> String {
    let mut text = String::from("apiVersion: v1\nkind: Pod\nmetadata:\n  name: lol\ndata:\n");
    text.push_str("  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    let levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
    for pair in levels.windows(2) {
        let refs = vec![format!("*{}", pair[0]); 10].join(",");
        text.push_str(&format!("  {}: &{} [{refs}]\n", pair[1], pair[1]));
    }
    text
}

#[test]
fn alias_bomb_is_refused_quickly_and_left_alone() {
    let bomb = alias_bomb();
    assert_eq!(bomb.lines().count(), 14, "9 levels of 10");
    let started = std::time::Instant::now();
    let (_repo, output) = apply_expecting_failures(&[("dev/bomb.yaml", bomb.as_bytes())], &["dev/bomb.yaml"]);
    assert!(started.elapsed() < Duration::from_secs(20), "an alias bomb must be refused, not expanded");
    let line = error_line(&output, "dev/bomb.yaml");
    let (l, _) = expect_position(&line, "dev/bomb.yaml");
    assert!((6..=14).contains(&l), "the position must be in the aliases: {line}");
    assert!(line.contains("alias"), "{line}");
}

#[test]
fn symlink_leaving_the_repository_is_reported_and_left_alone() {
    let outside = tempfile::tempdir().expect("temp dir");
    let target = outside.path().join("target.yaml");
    std::fs::write(&target, GOOD).expect("write target");
    let repo = repo(&[("dev/good.yaml", GOOD)]);
    let link = repo.path().join("dev/link.yaml");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");

    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 3);
    let line = error_line(&output, "dev/link.yaml");
    assert!(line.contains("symlink"), "{line}");
    assert!(
        std::fs::symlink_metadata(&link).expect("link is there").file_type().is_symlink(),
        "the link must stay a link"
    );
    assert_eq!(std::fs::read_link(&link).expect("read link"), target);
    assert_eq!(std::fs::read(&target).expect("read target"), GOOD.as_bytes());
    assert_eq!(read(repo.path(), "dev/good.yaml"), GOOD_FIXED.as_bytes());
}

#[test]
fn symlink_inside_the_repository_is_processed_once_at_the_target() {
    let repo = repo(&[("dev/real.yaml", GOOD)]);
    let link = repo.path().join("dev/link.yaml");
    std::os::unix::fs::symlink("real.yaml", &link).expect("symlink");

    let diff = run(repo.path(), &["diff"]);
    expect_exit(&diff, 0);
    let text = stdout(&diff);
    assert_eq!(text.matches("diff --git ").count(), 1, "the target is changed exactly once\n{}", describe(&diff));
    assert!(text.contains("diff --git a/dev/real.yaml b/dev/real.yaml"), "{text}");
    assert!(!text.contains("link.yaml"), "{text}");
    assert!(!stderr(&diff).contains("error:"), "{}", describe(&diff));

    let apply = run(repo.path(), &["apply"]);
    expect_exit(&apply, 0);
    assert!(stdout(&apply).contains("files_changed=1 "), "{}", describe(&apply));
    assert_eq!(read(repo.path(), "dev/real.yaml"), GOOD_FIXED.as_bytes());
    assert!(std::fs::symlink_metadata(&link).expect("link").file_type().is_symlink());
    assert_eq!(std::fs::read_link(&link).expect("read link"), Path::new("real.yaml"));
}

#[test]
fn binary_file_with_nul_bytes_is_reported_and_left_alone() {
    let bytes: &[u8] = b"apiVersion: v1\nkin\0d: Pod\nmetadata:\n  name: x\n";
    let (_repo, output) = apply_expecting_failures(&[("dev/x.yaml", bytes)], &["dev/x.yaml"]);
    let line = error_line(&output, "dev/x.yaml");
    assert_eq!(expect_position(&line, "dev/x.yaml"), (2, 4), "{line}");
}

#[test]
fn non_utf8_file_is_reported_and_left_alone() {
    let bytes: &[u8] = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n";
    let (_repo, output) = apply_expecting_failures(&[("dev/latin.yaml", bytes)], &["dev/latin.yaml"]);
    let line = error_line(&output, "dev/latin.yaml");
    assert_eq!(expect_position(&line, "dev/latin.yaml"), (4, 12), "{line}");
    assert!(line.contains("UTF-8"), "{line}");
}

#[test]
fn file_over_max_file_size_is_reported_and_others_processed() {
    let mut big = String::from(GOOD);
    while big.len() <= 4096 {
        big.push_str("# padding padding padding padding padding padding padding\n");
    }
    let repo = repo(&[("dev/good.yaml", GOOD), ("dev/big.yaml", &big)]);
    let output = run(repo.path(), &["--max-file-size", "4096", "apply"]);
    expect_exit(&output, 3);
    let line = error_line(&output, "dev/big.yaml");
    assert!(
        line.contains(&big.len().to_string()) && line.contains("4096"),
        "the message gives the size and the limit: {line}"
    );
    assert_eq!(read(repo.path(), "dev/big.yaml"), big.as_bytes());
    assert_eq!(read(repo.path(), "dev/good.yaml"), GOOD_FIXED.as_bytes());
}

#[test]
fn file_matching_two_environments_names_both() {
    let rules = "\
version: 1
environments:
  blue:
    paths: [\"apps/**\"]
    imagePullPolicy: Always
  green:
    paths: [\"**/web.yaml\"]
    imagePullPolicy: Never
";
    let repo = repo(&[(".pullsmith.yaml", rules), ("apps/web.yaml", GOOD), ("apps/good.yaml", GOOD)]);
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 3);
    let line = error_line(&output, "apps/web.yaml");
    assert!(line.contains("blue") && line.contains("green"), "the message names both environments: {line}");
    assert_eq!(read(repo.path(), "apps/web.yaml"), GOOD.as_bytes());
    assert_eq!(read(repo.path(), "apps/good.yaml"), GOOD_FIXED.as_bytes());
}

#[test]
fn containers_as_a_mapping_or_scalar_is_reported_with_position() {
    let mapping =
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: m\nspec:\n  containers:\n    name: a\n    image: nginx:1.25\n";
    let scalar = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: s\nspec:\n  initContainers:\n  - name: i\n    image: busybox:1.36\n  containers: nginx\n";
    let (_repo, output) = apply_expecting_failures(
        &[("dev/mapping.yaml", mapping.as_bytes()), ("dev/scalar.yaml", scalar.as_bytes())],
        &["dev/mapping.yaml", "dev/scalar.yaml"],
    );
    let line = error_line(&output, "dev/mapping.yaml");
    assert_eq!(expect_position(&line, "dev/mapping.yaml"), (6, 3), "{line}");
    assert!(line.contains("containers"), "{line}");
    let line = error_line(&output, "dev/scalar.yaml");
    let (l, _) = expect_position(&line, "dev/scalar.yaml");
    assert_eq!(l, 9, "the position of `containers: nginx`: {line}");
    assert!(line.contains("containers"), "{line}");
}

// ---------------------------------------------------------------- not errors

/// Runs `apply` on the good manifest plus `files`; expects exit 0, no
/// `error:`, the good file rewritten and every one of `files` untouched.
fn apply_expecting_untouched(files: &[(&str, &str)]) -> Output {
    let repo = repo(&[("dev/good.yaml", GOOD)]);
    for (path, text) in files {
        write(repo.path(), path, text.as_bytes());
    }
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 0);
    assert!(!stderr(&output).contains("error:"), "{}", describe(&output));
    assert_eq!(summary_errors(&stdout(&output)), Some(0), "{}", describe(&output));
    for (path, text) in files {
        assert_eq!(String::from_utf8_lossy(&read(repo.path(), path)), *text, "{path} must be untouched");
    }
    assert_eq!(read(repo.path(), "dev/good.yaml"), GOOD_FIXED.as_bytes());
    output
}

#[test]
fn empty_and_comment_only_files_are_not_errors() {
    apply_expecting_untouched(&[
        ("dev/empty.yaml", ""),
        ("dev/comments.yaml", "# nothing here yet\n\n   # indented comment\n"),
        ("dev/just-markers.yaml", "---\n# a comment\n---\n"),
    ]);
}

#[test]
fn directory_named_like_a_yaml_file_is_not_an_error() {
    let output = apply_expecting_untouched(&[("dev/x.yaml/notes.txt", "not yaml\n")]);
    assert!(!stderr(&output).contains("dev/x.yaml"), "{}", describe(&output));
}

#[test]
fn helm_chart_templates_are_skipped() {
    // Valid YAML with a plain image: only its place in a chart makes it a template.
    let template = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: \"{{ .Release.Name }}-web\"
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.25
";
    let output = apply_expecting_untouched(&[
        ("dev/chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n"),
        ("dev/chart/values.yaml", "image:\n  repository: nginx\n  tag: \"1.25\"\n"),
        ("dev/chart/templates/d.yaml", template),
        ("dev/chart/templates/sub/e.yaml", template),
    ]);
    // One line per chart, however many templates. Its values file, which the
    // dev path claims, cannot set a policy the templates never write.
    assert!(
        stderr(&output)
            .lines()
            .any(|l| l == "skipped: dev/chart: Helm chart: 2 templates not read (Helm renders them)"),
        "{}",
        describe(&output)
    );
    assert!(
        stderr(&output).lines().any(|l| l.starts_with("not covered: dev/chart/values.yaml:1: values file: container `web` (dev/chart/templates/d.yaml:9): the chart writes no imagePullPolicy")),
        "{}",
        describe(&output)
    );
    assert!(stdout(&output).contains("skipped=1 "), "{}", describe(&output));
}

#[test]
fn file_with_braces_that_does_not_parse_is_skipped() {
    let template = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
{{- if .Values.replicas }}
spec:
  replicas: {{ .Values.replicas }}
{{- end }}
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.25
";
    let output = apply_expecting_untouched(&[("dev/tpl.yaml", template)]);
    assert!(stderr(&output).lines().any(|l| l.starts_with("skipped: dev/tpl.yaml: ")), "{}", describe(&output));
}

#[test]
fn manifest_whose_image_holds_braces_is_skipped() {
    let template = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: \"nginx:{{ .Values.tag }}\"
";
    let output = apply_expecting_untouched(&[("dev/tpl.yaml", template)]);
    assert!(stderr(&output).lines().any(|l| l.starts_with("skipped: dev/tpl.yaml: ")), "{}", describe(&output));
}

#[test]
fn argo_rollout_with_template_strings_is_edited() {
    let rules = "\
version: 1
environments:
  dev:
    paths: [\"dev/**\"]
    imagePullPolicy: Always
workloads:
  - kind: Rollout
    apiVersion: argoproj.io/v1alpha1
    podSpecPath: spec/template/spec
";
    let rollout = "\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  strategy:
    canary:
      analysis:
        templates:
        - templateName: success-rate
        args:
        - name: service-name
          value: \"{{args.service-name}}\"
  template:
    spec:
      containers:
      - name: web
        image: ghcr.io/acme/web:1.2.3
        args: [\"--name={{args.name}}\"]
";
    let want = rollout.replace(
        "        image: ghcr.io/acme/web:1.2.3\n",
        "        image: ghcr.io/acme/web:1.2.3\n        imagePullPolicy: Always\n",
    );
    let repo = repo(&[(".pullsmith.yaml", rules), ("dev/rollout.yaml", rollout)]);
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 0);
    assert!(!stderr(&output).contains("skipped:"), "{}", describe(&output));
    assert_eq!(String::from_utf8_lossy(&read(repo.path(), "dev/rollout.yaml")), want, "{}", describe(&output));
}

#[test]
fn non_kubernetes_yaml_is_left_alone() {
    apply_expecting_untouched(&[(
        "dev/compose.yaml",
        "services:\n  web:\n    image: nginx:latest\ncontainers:\n- name: web\n  image: nginx:latest\n",
    )]);
}

#[test]
fn gitignored_manifest_is_left_alone() {
    let output = apply_expecting_untouched(&[(".gitignore", "dev/ignored.yaml\n"), ("dev/ignored.yaml", GOOD)]);
    assert!(
        stdout(&output).contains("files_scanned=1 "),
        "the ignored file is not even scanned\n{}",
        describe(&output)
    );
}

// ---------------------------------------------------------------- usage errors

#[test]
fn unknown_env_names_the_known_environments() {
    let repo = repo(&[("dev/good.yaml", GOOD)]);
    let output = run(repo.path(), &["--env", "nope", "apply"]);
    expect_exit(&output, 2);
    let err = stderr(&output);
    assert!(err.contains("nope"), "{err}");
    for known in ["dev", "staging", "prod"] {
        assert!(err.contains(known), "`{known}` is not named: {err}");
    }
    assert_eq!(read(repo.path(), "dev/good.yaml"), GOOD.as_bytes());
}

#[test]
fn missing_path_is_a_usage_error() {
    let repo = repo(&[("dev/good.yaml", GOOD)]);
    let output = run(repo.path(), &["apply", "no/such/dir"]);
    expect_exit(&output, 2);
    assert!(stderr(&output).contains("no/such/dir"), "{}", describe(&output));
    assert!(!stdout(&output).contains("files_scanned"), "{}", describe(&output));
    assert_eq!(read(repo.path(), "dev/good.yaml"), GOOD.as_bytes());
}

#[test]
fn an_aliased_container_is_not_an_error_and_its_anchor_gets_the_policy() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - &c\n    name: a\n    image: nginx:1\n  - *c\n";
    let dir = repo(&[("dev/pod.yaml", text)]);
    let output = pullsmith().arg("apply").arg(dir.path()).output().expect("pullsmith runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let expected = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - &c\n    name: a\n    image: nginx:1\n    imagePullPolicy: Always\n  - *c\n";
    assert_eq!(String::from_utf8(read(dir.path(), "dev/pod.yaml")).unwrap(), expected);
}

#[test]
fn a_pod_spec_without_containers_gets_no_secrets() {
    let rules =
        "version: 1\nenvironments:\n  dev: {paths: [\"dev/**\"], imagePullPolicy: Always, imagePullSecrets: [reg]}\n";
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\nspec:\n  template:\n    spec:\n      containers:\n";
    let dir = repo(&[("dev/deploy.yaml", text), ("rules.yaml", rules)]);
    let output = pullsmith()
        .arg("--rules")
        .arg(dir.path().join("rules.yaml"))
        .arg("apply")
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(read(dir.path(), "dev/deploy.yaml"), text.as_bytes());
}

#[test]
fn linked_directory_leaving_the_repository_is_warned_about_and_not_followed() {
    let outside = repo(&[("dev/outside.yaml", GOOD)]);
    let dir = repo(&[("dev/good.yaml", GOOD)]);
    std::os::unix::fs::symlink(outside.path().join("dev"), dir.path().join("linked")).expect("symlink");
    let output = pullsmith().arg("apply").arg(dir.path()).output().expect("pullsmith runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("warning: linked: linked directory leaves the repository"), "{stderr}");
    assert_eq!(read(outside.path(), "dev/outside.yaml"), GOOD.as_bytes(), "nothing outside PATH is written");
    assert_eq!(read(dir.path(), "dev/good.yaml"), GOOD_FIXED.as_bytes());
}

// ---------------------------------------------------------------- issue 9: deep nesting (item 10)

/// Nesting far past the 400-level limit, in every shape: the parser once
/// recursed per level and overflowed its thread's stack (the process died)
/// before the limit was checked.
fn deep_nesting_shapes(levels: usize) -> Vec<(&'static str, String)> {
    // The first line names a Pod, so that the byte scan has each parsed.
    let shapes = nesting_shapes(levels);
    shapes.into_iter().map(|(path, text)| (path, format!("# a Pod's containers, nested too deep\n{text}"))).collect()
}

fn nesting_shapes(levels: usize) -> Vec<(&'static str, String)> {
    let mut shapes = vec![
        ("dev/sequences.yaml", format!("{}x\n", "- ".repeat(levels))),
        ("dev/flow.yaml", format!("data: {}{}\n", "[".repeat(levels), "]".repeat(levels))),
        ("dev/mixed-flow.yaml", format!("data: {}1{}\n", "{a: [".repeat(levels / 2), "]}".repeat(levels / 2))),
    ];
    // Indentation nesting needs a column per level: 4,000 levels are 8 MB.
    let block_levels = levels.min(4_000);
    let mappings: String = (0..block_levels).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
    shapes.push(("dev/mappings.yaml", format!("{mappings}{}x\n", " ".repeat(block_levels))));
    let mixed: String = (0..block_levels / 2).map(|i| format!("{0}- k:\n{0}  ", " ".repeat(i * 2))).collect();
    shapes.push(("dev/mixed-block.yaml", format!("{mixed}x\n")));
    shapes
}

fn expect_deep_nesting_refused(levels: usize) {
    let shapes = deep_nesting_shapes(levels);
    let files: Vec<(&str, &[u8])> = shapes.iter().map(|(path, text)| (*path, text.as_bytes())).collect();
    let bad: Vec<&str> = shapes.iter().map(|(path, _)| *path).collect();
    let (_repo, output) = apply_expecting_failures(&files, &bad);
    for (path, text) in &shapes {
        let line = error_line(&output, path);
        let (l, _) = expect_position(&line, path);
        assert!(l <= text.lines().count(), "{line}");
        assert!(line.contains("nesting deeper than") || line.contains("recursion limit"), "{line}");
    }
}

#[test]
fn a_bomb_or_deep_nesting_in_a_file_that_cannot_matter_is_not_parsed_at_all() {
    // Without a word of a container, a workload, a pull field, a Secret or a
    // release, the byte scan lets the file go unparsed: nothing to expand.
    let mut files: Vec<(&str, String)> = nesting_shapes(100_000);
    files.push(("dev/bomb.yaml", alias_bomb().replace("kind: Pod", "kind: ConfigMap")));
    let dir = crate::util::repo(&files.iter().map(|(p, t)| (*p, t.as_str())).collect::<Vec<_>>());
    let output = run(dir.path(), &["apply"]);
    expect_exit(&output, 0);
    for (path, text) in &files {
        assert_eq!(read(dir.path(), path), text.as_bytes(), "{path}");
    }
    assert!(!stderr(&output).contains("error"), "{}", stderr(&output));
}

#[test]
fn nesting_of_4000_levels_is_refused_located_and_the_run_goes_on() {
    expect_deep_nesting_refused(4_000);
}

#[test]
fn nesting_of_100000_levels_is_refused_located_and_the_run_goes_on() {
    expect_deep_nesting_refused(100_000);
}

#[test]
fn deeply_nested_kustomization_is_refused_located_and_the_run_goes_on() {
    // Kustomizations are parsed on the main thread: 100,000 levels overflowed even its stack.
    let kustomization = format!("resources:\n- app.yaml\nx:\n{}y\n", "- ".repeat(100_000));
    let (_repo, output) = apply_expecting_failures(
        &[("overlays/dev/kustomization.yaml", kustomization.as_bytes()), ("overlays/dev/app.yaml", GOOD.as_bytes())],
        &["overlays/dev/kustomization.yaml"],
    );
    let line = error_line(&output, "overlays/dev/kustomization.yaml");
    expect_position(&line, "overlays/dev/kustomization.yaml");
    assert!(line.contains("nesting deeper than 400 levels"), "{line}");
}

// ---------------------------------------------------------------- issue 9: what kubectl refuses (item 16)

/// A pod whose `metadata` block is replaced by `metadata` (so a shape can be
/// put in it); under `dev/` it would get a policy.
fn pod_with_metadata(metadata: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n{metadata}spec:\n  containers:\n  - name: a\n    image: nginx:1.25\n"
    )
}

#[test]
fn yaml_kubectl_and_libyaml_refuse_is_refused_located_and_named() {
    // (file, text, what the message must name, the byte the position must point at)
    let cases: Vec<(&str, String, &str, u8)> = vec![
        (
            "dev/tab-after-dash.yaml",
            pod_with_metadata("  name: p\n  labels:\n    a: b\n").replace("  - name: a", "  -\tname: a"),
            "a tab",
            b'\t',
        ),
        ("dev/tab-line.yaml", pod_with_metadata("  name: p\n\t\n"), "a tab", b'\t'),
        ("dev/tab-comment.yaml", pod_with_metadata("  name: p\n\t# note\n"), "a tab", b'\t'),
        ("dev/tab-indent.yaml", pod_with_metadata("  labels:\n    a:\n     \tb\n"), "a tab", b'\t'),
        ("dev/empty-key-sequence.yaml", pod_with_metadata("  name: p\n  : - b\n"), "no key before it", b':'),
        ("dev/empty-key-line.yaml", pod_with_metadata("  name: p\n  :\n  - b\n"), "no key before it", b':'),
        ("dev/control.yaml", pod_with_metadata("  name: p\u{1}q\n"), "control character `U+0001`", 0x01),
        ("dev/del.yaml", pod_with_metadata("  name: \"p\u{7f}q\"\n"), "control character `U+007F`", 0x7f),
        ("dev/c1.yaml", pod_with_metadata("  # \u{9b}\n  name: p\n"), "control character `U+009B`", 0xc2),
        ("dev/nel.yaml", pod_with_metadata("  name: p\u{85}q\n"), "`U+0085` NEL", 0xc2),
        ("dev/line-separator.yaml", pod_with_metadata("  name: 'p\u{2028}q'\n"), "`U+2028` LS", 0xe2),
    ];
    let files: Vec<(&str, &[u8])> = cases.iter().map(|(path, text, _, _)| (*path, text.as_bytes())).collect();
    let bad: Vec<&str> = cases.iter().map(|(path, ..)| *path).collect();
    let (_repo, output) = apply_expecting_failures(&files, &bad);
    for (path, text, words, byte) in &cases {
        let line = error_line(&output, path);
        let (l, c) = expect_position(&line, path);
        assert!(line.contains(words), "{path}: `{line}` should name `{words}`");
        let text_line = text.split('\n').nth(l - 1).expect("the line exists");
        let at = text_line.char_indices().nth(c - 1).map(|(i, _)| i).expect("the column exists");
        assert_eq!(text_line.as_bytes()[at], *byte, "{path}: `{line}` must point at the offending character");
    }
}

#[test]
fn tabs_kubectl_accepts_stay_accepted() {
    // A tab in a block scalar's content, trailing a value, before a colon and after a comment sign.
    let text =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c # note\t\ndata:\n  a\t: b\t\n  s: |\n    x\n    \ty\n";
    let repo = repo(&[("dev/config.yaml", text), ("dev/good.yaml", GOOD)]);
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 0);
    assert_eq!(read(repo.path(), "dev/config.yaml"), text.as_bytes());
    assert_eq!(String::from_utf8_lossy(&read(repo.path(), "dev/good.yaml")), GOOD_FIXED);
}

/// yaml-rust2 reads a block scalar's last line without a line break as if
/// it had one (`|` then `echo hi` is `"echo hi\n"`), kubectl as it is
/// (`"echo hi"`); a line written after it would add the break and change
/// the value for kubectl. Such a file is refused at the scalar; with a
/// final line break it is edited.
#[test]
fn a_block_scalar_cut_by_the_end_of_the_file_is_not_written_after() {
    let rules = "version: 1\nenvironments:\n  prod:\n    paths: [\"prod/**\"]\n    imagePullPolicy: Always\n    imagePullSecrets: [regcred]\n";
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: a\n      image: a:1\n      command: [sh, -c]\n      args:\n        - |\n          echo hi";
    for (ending, refused) in [("", true), ("\n  ", true), ("\n", false)] {
        let text = format!("{pod}{ending}");
        let dir = repo(&[(".pullsmith.yaml", rules), ("prod/pod.yaml", &text)]);
        let output = pullsmith().current_dir(dir.path()).args(["apply", "."]).output().expect("runs");
        let written = std::fs::read_to_string(dir.path().join("prod/pod.yaml")).expect("readable");
        if refused {
            assert_eq!(output.status.code(), Some(3), "{ending:?}: {}", describe(&output));
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains("error: prod/pod.yaml:10:11: this block scalar ends the file"), "{stderr}");
            assert_eq!(written, text, "left untouched");
        } else {
            assert_eq!(output.status.code(), Some(0), "{ending:?}: {}", describe(&output));
            assert!(written.ends_with("          echo hi\n  imagePullSecrets:\n    - name: regcred\n"), "{written}");
        }
    }
}
