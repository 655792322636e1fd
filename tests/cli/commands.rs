//! The commands and their output: diff (applicable with `git apply`), check,
//! apply, explain, rules, the rules file lookup, path filters, JSON and
//! GitHub formats, and the README's first command.

use std::path::Path;
use std::process::{Command as Process, Output};
use std::time::Duration;

use tempfile::TempDir;

use crate::util::{copy_tree, count, describe, project_root, pullsmith, read_tree, repo, summary, write};

type Tree = Vec<(String, Vec<u8>)>;

/// Under `dev/` the default rules insert `imagePullPolicy: Always` after line 10.
const NEEDS_POLICY: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.25
";

const HAS_POLICY: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.25
        imagePullPolicy: Always
";

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|err| panic!("read {rel}: {err}"))
}

/// Every file below `root` except git's own.
fn tree(root: &Path) -> Tree {
    read_tree(root).into_iter().filter(|(path, _)| !path.starts_with(".git/")).collect()
}

fn run(root: &Path, args: &[&str]) -> Output {
    pullsmith().current_dir(root).args(args).timeout(Duration::from_secs(120)).output().expect("pullsmith runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn expect_exit(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "expected exit {code}\n{}", describe(output));
}

fn git(dir: &Path, args: &[&str]) -> Output {
    let output = Process::new("git")
        .current_dir(dir)
        .args(["-c", "core.autocrlf=false", "-c", "core.safecrlf=false"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?} failed\n{}", describe(&output));
    output
}

// ---------------------------------------------------------------- diff and git apply

/// A repository whose changes exercise CRLF, a missing final newline, an
/// insertion and a replacement on a value on its own line.
fn tricky_repo() -> TempDir {
    repo(&[
        (
            "dev/a.yaml",
            "# web tier\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: ins\n        image: nginx:1.25\n      - name: rep\n        image: redis:7\n        imagePullPolicy:\n          IfNotPresent\n",
        ),
        (
            "dev/crlf.yaml",
            "apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: c\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: nginx:1.25\r\n    imagePullPolicy: Never\r\n  - name: b\r\n    image: nginx:1.25\r\n",
        ),
        (
            "dev/no-newline-insert.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: n\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25",
        ),
        (
            "dev/no-newline-replace.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: n\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n    imagePullPolicy: Never",
        ),
        ("prod/clean.yaml", &HAS_POLICY.replace("Always", "IfNotPresent")),
    ])
}

#[test]
fn diff_is_git_style_and_git_apply_gives_the_bytes_of_apply() {
    let source = tricky_repo();
    let diff = run(source.path(), &["diff"]);
    expect_exit(&diff, 0);
    let patch = stdout(&diff);
    for path in ["dev/a.yaml", "dev/crlf.yaml", "dev/no-newline-insert.yaml", "dev/no-newline-replace.yaml"] {
        for header in [format!("diff --git a/{path} b/{path}\n"), format!("--- a/{path}\n"), format!("+++ b/{path}\n")]
        {
            assert!(patch.contains(&header), "missing `{header}` in\n{patch}");
        }
    }
    assert!(!patch.contains("prod/clean.yaml"), "{patch}");
    assert!(patch.contains("\n\\ No newline at end of file\n"), "{patch}");
    assert!(patch.contains("+    imagePullPolicy: Always\r\n"), "{patch}");

    // git apply in a git repository holding a copy of the input.
    let checkout = tempfile::tempdir().expect("temp dir");
    copy_tree(source.path(), checkout.path());
    git(checkout.path(), &["init", "-q"]);
    let patch_dir = tempfile::tempdir().expect("temp dir");
    let patch_file = patch_dir.path().join("changes.patch");
    std::fs::write(&patch_file, &patch).expect("write patch");
    let patch_arg = patch_file.to_str().expect("utf-8 path");
    git(checkout.path(), &["apply", "--check", patch_arg]);
    git(checkout.path(), &["apply", patch_arg]);

    // apply in another copy.
    let applied = tempfile::tempdir().expect("temp dir");
    copy_tree(source.path(), applied.path());
    let output = run(applied.path(), &["apply"]);
    expect_exit(&output, 0);

    assert_ne!(tree(applied.path()), tree(source.path()), "apply changed files");
    assert_eq!(
        tree(checkout.path()),
        tree(applied.path()),
        "git apply of the diff and pullsmith apply must agree byte for byte"
    );
    assert!(read(applied.path(), "dev/crlf.yaml").ends_with("    imagePullPolicy: Always\r\n"));
    assert!(read(applied.path(), "dev/no-newline-insert.yaml").ends_with("imagePullPolicy: Always"));
    assert!(read(applied.path(), "dev/no-newline-replace.yaml").ends_with("imagePullPolicy: Always"));
}

// ---------------------------------------------------------------- diff, check, apply

#[test]
fn diff_exits_0_and_writes_nothing() {
    let repo = tricky_repo();
    let before = tree(repo.path());
    let output = run(repo.path(), &["diff"]);
    expect_exit(&output, 0);
    assert!(stdout(&output).contains("diff --git"), "{}", describe(&output));
    assert_eq!(tree(repo.path()), before, "diff must not write");
    assert!(count(&summary(&stderr(&output)), "files_changed") >= 4);
}

#[test]
fn check_exits_1_with_changes_and_prints_no_diff_unless_asked() {
    let repo = tricky_repo();
    let before = tree(repo.path());

    let check = run(repo.path(), &["check"]);
    expect_exit(&check, 1);
    assert!(
        !stdout(&check).contains("diff --git") && !stdout(&check).contains("@@"),
        "check without --diff prints no diff\n{}",
        describe(&check)
    );
    assert_eq!(count(&summary(&stderr(&check)), "files_changed"), 4);

    let with_diff = run(repo.path(), &["check", "--diff"]);
    expect_exit(&with_diff, 1);
    let diff = run(repo.path(), &["diff"]);
    assert_eq!(stdout(&with_diff), stdout(&diff), "check --diff prints the diff");
    assert!(stdout(&with_diff).contains("diff --git a/dev/a.yaml b/dev/a.yaml"));

    assert_eq!(tree(repo.path()), before, "check must not write");
}

#[test]
fn check_exits_0_on_a_clean_repo() {
    let repo = repo(&[("dev/web.yaml", HAS_POLICY)]);
    let check = run(repo.path(), &["check", "--diff"]);
    expect_exit(&check, 0);
    assert_eq!(stdout(&check), "", "nothing to print\n{}", describe(&check));
    assert_eq!(count(&summary(&stderr(&check)), "files_changed"), 0);
}

#[test]
fn apply_then_check_exits_0() {
    let repo = tricky_repo();
    let apply = run(repo.path(), &["apply"]);
    expect_exit(&apply, 0);
    let applied = summary(&stdout(&apply));
    assert_eq!(count(&applied, "files_changed"), 4, "{}", describe(&apply));
    assert_eq!(count(&applied, "containers_changed"), 6, "{}", describe(&apply));
    let after = tree(repo.path());

    let check = run(repo.path(), &["check"]);
    expect_exit(&check, 0);
    assert_eq!(count(&summary(&stderr(&check)), "files_changed"), 0);
    let again = run(repo.path(), &["apply"]);
    expect_exit(&again, 0);
    assert_eq!(tree(repo.path()), after, "a second apply changes nothing");
}

#[test]
fn color_always_colours_the_diff_and_never_does_not() {
    let repo = repo(&[("dev/web.yaml", NEEDS_POLICY)]);
    let always = run(repo.path(), &["--color", "always", "diff"]);
    expect_exit(&always, 0);
    let coloured = stdout(&always);
    assert!(coloured.contains("\x1b["), "{coloured:?}");
    assert!(coloured.contains("\x1b[32m+        imagePullPolicy: Always"), "the added line is green: {coloured:?}");

    let never = run(repo.path(), &["--color", "never", "diff"]);
    expect_exit(&never, 0);
    let plain = stdout(&never);
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert!(plain.contains("+        imagePullPolicy: Always\n"), "{plain}");
}

// ---------------------------------------------------------------- parallelism

#[test]
fn output_is_the_same_for_one_and_two_jobs() {
    let repo = tempfile::tempdir().expect("temp dir");
    for i in 0..30 {
        let env = ["dev", "staging", "prod"][i % 3];
        let image = if i % 4 == 0 {
            format!("registry.example.com/app{i}:latest")
        } else {
            format!("registry.example.com/app{i}:1.{i}")
        };
        let policy = match i % 5 {
            0 => "",
            1 => "        imagePullPolicy: Never\n",
            2 => "        imagePullPolicy: IfNotPresent\n",
            _ => "        imagePullPolicy: Always\n",
        };
        write(
            repo.path(),
            &format!("{env}/team{}/app{i}.yaml", i % 4),
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\nspec:\n  template:\n    spec:\n      containers:\n      - name: main\n        image: {image}\n{policy}      - name: side\n        image: busybox\n"
            ),
        );
    }
    let before = tree(repo.path());
    for format in [&[][..], &["--format", "json"][..]] {
        let mut outputs = Vec::new();
        for jobs in ["1", "2"] {
            let mut args = vec!["-j", jobs];
            args.extend_from_slice(format);
            args.push("diff");
            let output = run(repo.path(), &args);
            expect_exit(&output, 0);
            outputs.push(output);
        }
        assert!(outputs[0].stdout.len() > 1000, "a substantial output: {}", describe(&outputs[0]));
        assert_eq!(stdout(&outputs[0]), stdout(&outputs[1]), "stdout differs between -j 1 and -j 2 ({format:?})");
        assert_eq!(stderr(&outputs[0]), stderr(&outputs[1]), "stderr differs between -j 1 and -j 2 ({format:?})");
    }
    assert_eq!(tree(repo.path()), before);
}

// ---------------------------------------------------------------- explain

const EXPLAIN_RULES: &str = "\
version: 1
defaultEnvironment: staging
environments:
  dev:
    paths: [\"dev/**\"]
    imagePullPolicy: Always
  prod:
    namespaces: [\"prod-*\"]
    imagePullPolicy: IfNotPresent
  staging:
    imagePullPolicy: IfNotPresent
images:
  - match: \"ghcr.io/acme/*\"
    imagePullPolicy: Never
";

fn explain_repo() -> TempDir {
    repo(&[
        (".pullsmith.yaml", EXPLAIN_RULES),
        (
            "dev/web.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: ghcr.io/acme/app:1.0\n      - name: side\n        image: nginx:1.25\n        imagePullPolicy: IfNotPresent\n",
        ),
        (
            "apps/api.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: prod-eu\nspec:\n  template:\n    spec:\n      containers:\n      - name: api\n        image: nginx:latest\n",
        ),
        (
            "misc/tool.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: tool\nspec:\n  containers:\n  - name: tool\n    image: busybox:1.36\n    imagePullPolicy: Always\n",
        ),
    ])
}

/// The explain line of container `name` and the policy line after it.
fn container_lines<'a>(text: &'a str, name: &str) -> (&'a str, &'a str) {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(&format!("`{name}`")) && l.contains("image `"))
        .unwrap_or_else(|| panic!("no container `{name}` in\n{text}"));
    (lines[at], lines.get(at + 1).copied().unwrap_or(""))
}

/// The document line that introduces `name`.
fn object_line<'a>(text: &'a str, kind_and_name: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(kind_and_name) && l.contains("environment"))
        .unwrap_or_else(|| panic!("no `{kind_and_name}` in\n{text}"))
}

#[test]
fn explain_names_environment_reason_rule_and_values() {
    let repo = explain_repo();
    let before = tree(repo.path());
    let output = run(repo.path(), &["explain"]);
    expect_exit(&output, 0);
    let text = stdout(&output);

    let web = object_line(&text, "Deployment web");
    assert!(web.contains("`dev`") && web.contains("path matches `dev/**`"), "{web}");
    let api = object_line(&text, "Deployment api");
    assert!(api.contains("`prod`") && api.contains("namespace matches `prod-*`"), "{api}");
    let tool = object_line(&text, "Pod tool");
    assert!(tool.contains("`staging`") && tool.contains("defaultEnvironment"), "{tool}");

    let (head, policy) = container_lines(&text, "app");
    assert!(head.contains("ghcr.io/acme/app:1.0"), "{head}");
    assert!(policy.contains("<unset> -> Never"), "{policy}");
    assert!(policy.contains("images[0]"), "the image rule decides: {policy}");

    let (_, policy) = container_lines(&text, "side");
    assert!(policy.contains("IfNotPresent -> Always"), "{policy}");
    assert!(policy.contains("environment `dev`") && !policy.contains("images["), "the environment decides: {policy}");

    let (head, policy) = container_lines(&text, "api");
    assert!(head.contains("(line 11)"), "the image line: {head}");
    assert!(policy.contains("<unset> -> IfNotPresent"), "{policy}");
    assert!(policy.contains("environment `prod`"), "{policy}");

    let (_, policy) = container_lines(&text, "tool");
    assert!(policy.contains("Always -> IfNotPresent"), "{policy}");
    assert!(policy.contains("environment `staging`"), "{policy}");

    let warning = text
        .lines()
        .find(|l| l.contains("warning") && l.contains("nginx:latest"))
        .unwrap_or_else(|| panic!("no :latest warning in\n{text}"));
    assert!(warning.contains("IfNotPresent"), "{warning}");
    assert!(warning.contains("line 11"), "{warning}");
    assert!(
        !text.lines().any(|l| l.contains("warning") && l.contains("busybox")),
        "no warning for a tagged image\n{text}"
    );

    assert_eq!(tree(repo.path()), before, "explain writes nothing");
}

#[test]
fn explain_with_env_says_so() {
    let repo = explain_repo();
    let output = run(repo.path(), &["--env", "prod", "explain"]);
    expect_exit(&output, 0);
    let text = stdout(&output);
    for object in ["Deployment web", "Deployment api", "Pod tool"] {
        let line = object_line(&text, object);
        assert!(line.contains("`prod` (--env)"), "{line}");
    }
    let (_, policy) = container_lines(&text, "side");
    assert!(policy.contains("-> IfNotPresent"), "{policy}");
}

// ---------------------------------------------------------------- rules subcommands

#[test]
fn rules_validate_accepts_a_good_file_and_rejects_a_bad_one() {
    let dir = repo(&[
        ("good.yaml", EXPLAIN_RULES),
        ("bad.yaml", "version: 1\nenvironments:\n  dev:\n    imagePullPolicy: Sometimes\n"),
    ]);
    let good = run(dir.path(), &["rules", "validate", "good.yaml"]);
    expect_exit(&good, 0);
    assert!(stdout(&good).contains("valid"), "{}", describe(&good));

    let bad = run(dir.path(), &["rules", "validate", "bad.yaml"]);
    expect_exit(&bad, 2);
    assert!(stderr(&bad).contains("bad.yaml:"), "{}", describe(&bad));
    assert!(stderr(&bad).contains("Sometimes"), "{}", describe(&bad));
    assert!(!stdout(&bad).contains("valid"), "{}", describe(&bad));
}

#[test]
fn rules_validate_reports_a_bad_chart_version_range_at_its_place() {
    let rules = "\
version: 1
helm:
  charts:
    - name: ingress-nginx
      version: \">=4.0.0 <5\"
      pullPolicy: [controller.image.pullPolicy]
    - name: redis
      version: \">=1.2 <two\"
      pullPolicy: [image.pullPolicy]
";
    let dir = repo(&[("charts.yaml", rules)]);
    let output = run(dir.path(), &["rules", "validate", "charts.yaml"]);
    expect_exit(&output, 2);
    assert_eq!(
        stderr(&output),
        "pullsmith: charts.yaml:8:16: helm.charts[1]: bad version range `>=1.2 <two`: unexpected character 't' while parsing major version number\n",
        "{}",
        describe(&output)
    );
    assert!(stdout(&output).is_empty(), "{}", describe(&output));

    write(dir.path(), "charts.yaml", rules.replace("<two", "<2"));
    let output = run(dir.path(), &["rules", "validate", "charts.yaml"]);
    expect_exit(&output, 0);
}

#[test]
fn rules_schema_takes_chart_versions_and_dotted_values_keys() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(dir.path(), &["rules", "schema"]);
    expect_exit(&output, 0);
    let schema: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("the schema is JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("a valid schema");
    let charts = |entry: serde_json::Value| serde_json::json!({"version": 1, "helm": {"charts": [entry]}});
    let good = charts(serde_json::json!({
        "name": "redis",
        "version": ">=17.0.0 <18 || ^19.1",
        "pullPolicy": ["image.pullPolicy", "sentinel.image.pullPolicy"],
        "pullSecrets": ["global.imagePullSecrets"]
    }));
    let problems: Vec<String> = validator.iter_errors(&good).map(|e| format!("{}: {e}", e.instance_path)).collect();
    assert!(problems.is_empty(), "{problems:?}");
    for bad in [
        serde_json::json!({"name": "redis", "version": 17, "pullPolicy": ["image.pullPolicy"]}),
        serde_json::json!({"name": "redis", "version": "^17"}),
        serde_json::json!({"name": "redis", "pullPolicy": ["image..pullPolicy"]}),
        serde_json::json!({"name": "redis", "pullPolicy": ["images[0].pullPolicy"]}),
        serde_json::json!({"name": "redis", "pullSecrets": ["{{.Values.secrets}}"]}),
    ] {
        assert!(!validator.is_valid(&charts(bad.clone())), "the schema takes {bad}");
    }
}

#[test]
fn rules_schema_is_json_with_a_schema_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(dir.path(), &["rules", "schema"]);
    expect_exit(&output, 0);
    let schema: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("the schema is JSON");
    assert!(schema.get("$schema").and_then(|v| v.as_str()).is_some(), "no \"$schema\" in {schema}");
}

#[test]
fn rules_default_prints_the_shipped_default_which_validates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(dir.path(), &["rules", "default"]);
    expect_exit(&output, 0);
    let shipped = std::fs::read_to_string(project_root().join("rules/default.yaml")).expect("default rules");
    assert_eq!(stdout(&output), shipped);

    std::fs::write(dir.path().join("default.yaml"), &output.stdout).expect("write");
    let validate = run(dir.path(), &["rules", "validate", "default.yaml"]);
    expect_exit(&validate, 0);
    assert!(stdout(&validate).contains("valid"), "{}", describe(&validate));
}

// ---------------------------------------------------------------- which rules

#[test]
fn pullsmith_yaml_at_the_root_is_used_without_rules_flag() {
    let rules = "version: 1\nenvironments:\n  blue:\n    paths: [\"apps/**\"]\n    imagePullPolicy: Never\n";
    let repo = repo(&[(".pullsmith.yaml", rules), ("apps/web.yaml", NEEDS_POLICY), ("dev/web.yaml", NEEDS_POLICY)]);
    // Run from elsewhere: the file is looked for in PATH, not the working directory.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let output = run(elsewhere.path(), &["apply", repo.path().to_str().expect("utf-8 path")]);
    expect_exit(&output, 0);
    assert_eq!(read(repo.path(), "apps/web.yaml"), HAS_POLICY.replace("Always", "Never"));
    assert_eq!(
        read(repo.path(), "dev/web.yaml"),
        NEEDS_POLICY,
        "the default rules are not used when .pullsmith.yaml is there"
    );
    assert_eq!(read(repo.path(), ".pullsmith.yaml"), rules);
}

#[test]
fn embedded_default_is_used_without_any_rules_file() {
    let repo =
        repo(&[("dev/web.yaml", NEEDS_POLICY), ("apps/web.yaml", NEEDS_POLICY), ("production/web.yaml", NEEDS_POLICY)]);
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 0);
    assert_eq!(read(repo.path(), "dev/web.yaml"), HAS_POLICY);
    assert_eq!(read(repo.path(), "production/web.yaml"), HAS_POLICY.replace("Always", "IfNotPresent"));
    assert_eq!(read(repo.path(), "apps/web.yaml"), NEEDS_POLICY);
}

// ---------------------------------------------------------------- include / exclude

#[test]
fn include_and_exclude_limit_the_files() {
    let files = [("dev/a.yaml", NEEDS_POLICY), ("dev/b.yaml", NEEDS_POLICY), ("dev/sub/c.yaml", NEEDS_POLICY)];
    let changed = |repo: &TempDir| -> Vec<&str> {
        files.iter().map(|(path, _)| *path).filter(|path| read(repo.path(), path) != NEEDS_POLICY).collect()
    };

    let included = repo(&files);
    let output = run(included.path(), &["--include", "dev/sub/**", "apply"]);
    expect_exit(&output, 0);
    assert_eq!(changed(&included), ["dev/sub/c.yaml"], "{}", describe(&output));
    assert_eq!(count(&summary(&stdout(&output)), "files_scanned"), 1);

    let excluded = repo(&files);
    let output = run(excluded.path(), &["--exclude", "dev/a.yaml", "apply"]);
    expect_exit(&output, 0);
    assert_eq!(changed(&excluded), ["dev/b.yaml", "dev/sub/c.yaml"]);

    let both = repo(&files);
    let output =
        run(both.path(), &["--include", "dev/*.yaml", "--include", "dev/sub/**", "--exclude", "dev/b.yaml", "apply"]);
    expect_exit(&output, 0);
    assert_eq!(changed(&both), ["dev/a.yaml", "dev/sub/c.yaml"]);
}

// ---------------------------------------------------------------- JSON

const JSON_RULES: &str = "\
version: 1
environments:
  dev:
    paths: [\"dev/**\"]
    imagePullPolicy: Always
    imagePullSecrets: [regcred]
";

/// Line 11: the `image` of `ins` (insert after it); line 15: the value of
/// `rep`'s policy, on its own line; line 8: the pod spec's `spec:` key.
const JSON_MANIFEST: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
      - name: ins
        image: nginx:1.25
      - name: rep
        image: redis:7
        imagePullPolicy:
          IfNotPresent
";

fn json_repo() -> TempDir {
    repo(&[
        ("rules.yaml", JSON_RULES),
        ("dev/web.yaml", JSON_MANIFEST),
        (
            "dev/ok.yaml",
            &HAS_POLICY
                .replace("      containers:", "      imagePullSecrets:\n      - name: regcred\n      containers:"),
        ),
        (
            "dev/secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\ntype: kubernetes.io/dockerconfigjson\n",
        ),
    ])
}

#[test]
fn json_report_has_changes_with_lines_and_matching_summary() {
    let repo = json_repo();
    let output = run(repo.path(), &["--rules", "rules.yaml", "--format", "json", "diff"]);
    expect_exit(&output, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("stdout is one JSON document");
    assert_eq!(report["version"], 1);

    let files = report["files"].as_array().expect("files");
    assert_eq!(files.len(), 1, "only dev/web.yaml changes: {report:#}");
    let file = &files[0];
    assert_eq!(file["path"], "dev/web.yaml");
    assert_eq!(file["environment"], "dev");
    let changes = file["changes"].as_array().expect("changes");
    let find = |container: Option<&str>, field: &str| {
        changes
            .iter()
            .find(|c| c["field"] == field && c["container"].as_str() == container)
            .unwrap_or_else(|| panic!("no {field} change for {container:?} in {report:#}"))
    };

    let ins = find(Some("ins"), "imagePullPolicy");
    assert_eq!(ins["line"], 11, "an inserted policy points at `image`");
    assert_eq!(ins["kind"], "Deployment");
    assert_eq!(ins["name"], "web");
    assert_eq!(ins["namespace"], "shop");
    assert!(ins["from"].is_null(), "a new key has from null: {ins}");
    assert_eq!(ins["to"], "Always");

    let rep = find(Some("rep"), "imagePullPolicy");
    assert_eq!(rep["line"], 15, "a replaced policy points at its value");
    assert_eq!(rep["from"], "IfNotPresent");
    assert_eq!(rep["to"], "Always");

    let secrets = find(None, "imagePullSecrets");
    assert_eq!(secrets["line"], 8, "new secrets point at the pod spec's key");
    assert!(secrets["from"].is_null(), "{secrets}");
    assert_eq!(secrets["to"], serde_json::json!(["regcred"]));
    assert_eq!(changes.len(), 3, "{report:#}");

    // The summary agrees with the text summary of the same run.
    let text = run(repo.path(), &["--rules", "rules.yaml", "diff"]);
    expect_exit(&text, 0);
    let text_summary = summary(&stderr(&text));
    let json_summary = &report["summary"];
    for (json_key, text_key) in [
        ("filesScanned", "files_scanned"),
        ("filesChanged", "files_changed"),
        ("containersChanged", "containers_changed"),
        ("podSpecsChanged", "podspecs_changed"),
        ("errors", "errors"),
    ] {
        assert_eq!(
            json_summary[json_key].as_u64(),
            Some(count(&text_summary, text_key) as u64),
            "{json_key} vs {text_key}: {json_summary}"
        );
    }
    assert_eq!(json_summary["filesChanged"], 1);
    assert_eq!(json_summary["containersChanged"], 2);
    assert_eq!(json_summary["podSpecsChanged"], 1);
    assert!(report["errors"].as_array().expect("errors").is_empty());
    assert!(report["warnings"].is_array() && report["skipped"].is_array());
}

// ---------------------------------------------------------------- GitHub

#[test]
fn github_annotations_point_at_the_lines_to_change() {
    let repo = json_repo();
    let output = run(repo.path(), &["--rules", "rules.yaml", "--format", "github", "check"]);
    expect_exit(&output, 1);
    let mut lines: Vec<(String, usize)> = stdout(&output)
        .lines()
        .filter_map(|l| l.strip_prefix("::warning file="))
        .map(|rest| {
            let (file, rest) = rest.split_once(",line=").expect("line=");
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            (file.to_string(), digits.parse().expect("a line number"))
        })
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [("dev/web.yaml".to_string(), 8), ("dev/web.yaml".to_string(), 11), ("dev/web.yaml".to_string(), 15)],
        "{}",
        describe(&output)
    );
}

// ---------------------------------------------------------------- README

#[test]
fn readme_first_command_diffs_examples_plain() {
    let root = project_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md exists");
    assert!(readme.contains("cargo run --release -- diff examples/plain"), "the README names the command tested here");
    let examples = root.join("examples/plain");
    let before = tree(&examples);
    let output = pullsmith()
        .current_dir(&root)
        .args(["diff", "examples/plain"])
        .timeout(Duration::from_secs(120))
        .output()
        .expect("pullsmith runs");
    expect_exit(&output, 0);
    let diff = stdout(&output);
    let headers: Vec<&str> = diff.lines().filter(|l| l.starts_with("diff --git ")).collect();
    assert!(!headers.is_empty(), "{}", describe(&output));
    // Paths are relative to the repository root: the project's own git work
    // tree when it is one (a clone), else the example itself (a tarball).
    let in_git = std::process::Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .current_dir(&root)
        .output()
        .is_ok_and(|o| o.status.success());
    let prefix = if in_git { "examples/plain/" } else { "" };
    for dir in ["dev/", "staging/", "prod/"] {
        assert!(
            headers.iter().any(|h| h.starts_with(&format!("diff --git a/{prefix}{dir}"))),
            "no change under {prefix}{dir}\n{diff}"
        );
    }
    assert!(!diff.contains("shared/"), "shared/ is never touched\n{diff}");
    assert_eq!(tree(&examples), before, "diff writes nothing");
}

/// Runs `pullsmith check examples/plain` under `script`, so that stderr is a terminal.
fn check_on_a_terminal(extra_env: &[(&str, &str)], quiet: bool) -> Option<String> {
    if std::process::Command::new("script").arg("--version").output().is_err() {
        eprintln!("note: `script` (util-linux) is not installed; skipping a terminal test");
        return None;
    }
    let bin = assert_cmd::cargo::cargo_bin("pullsmith");
    let log = tempfile::NamedTempFile::new().expect("temp file");
    let command = format!(
        "{} check {} {} > /dev/null",
        bin.display(),
        if quiet { "-q" } else { "" },
        project_root().join("examples/plain").display()
    );
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &command]).arg(log.path()).env_remove("CI").env("PULLSMITH_PROGRESS_AFTER_MS", "0");
    for (key, value) in extra_env {
        script.env(key, value);
    }
    let output = script.output().expect("script runs");
    assert!(output.status.code().is_some(), "script ran to its end");
    Some(String::from_utf8_lossy(&std::fs::read(log.path()).expect("typescript")).into_owned())
}

#[test]
fn progress_shows_on_a_terminal_and_is_cleared() {
    let Some(screen) = check_on_a_terminal(&[], false) else { return };
    assert!(screen.contains("\rpullsmith: "), "{screen:?}");
    assert!(screen.contains(" files"), "{screen:?}");
    assert!(screen.contains("\r\x1b[K"), "the progress line is cleared before the summary\n{screen:?}");
    assert!(screen.contains("files_scanned="), "{screen:?}");
}

#[test]
fn progress_is_silent_in_ci_and_with_quiet() {
    let Some(screen) = check_on_a_terminal(&[("CI", "true")], false) else { return };
    assert!(!screen.contains("\x1b[K") && !screen.contains("/13 files"), "{screen:?}");
    assert!(screen.contains("files_scanned="), "{screen:?}");
    let Some(screen) = check_on_a_terminal(&[], true) else { return };
    assert!(!screen.contains("\x1b[K") && !screen.contains("/13 files"), "{screen:?}");
}
