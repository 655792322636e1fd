//! Golden fixtures: every directory under `tests/fixtures/` is one case, run
//! against the real binary.
//!
//! A case holds `in/` (the repository before), `out/` (every file after
//! `apply`, byte for byte), and optionally `rules.yaml` (passed as `--rules`;
//! absent means the embedded default rules), `args` (extra CLI arguments, one
//! per line), `exit` (the expected exit code of `apply`, default 0) and a
//! one-line `README`.
//!
//! For each case the harness copies `in/` into a fresh git repository (so
//! `.gitignore` applies as in a real checkout), then:
//! 1. when the expected exit code is 0, runs `check` on the input and expects 1
//!    if `in/` and `out/` differ, else 0, with nothing written;
//! 2. runs `apply` and compares the whole tree with `out/`;
//! 3. runs `apply` again and expects nothing to change (idempotence);
//! 4. runs `check` and expects 0 (or the fixture's non-zero exit code, e.g. 3).
//!
//! A `.gitignore` inside a fixture would hide the fixture's own files from the
//! project's git, so fixtures store it as `_gitignore`; the harness renames it
//! on the way in and back when comparing.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::util::{copy_tree, describe, project_root, pullsmith, read_tree};

/// How a fixture stores a `.gitignore` (see the module docs).
const GITIGNORE_STAND_IN: &str = "_gitignore";

/// The files a fixture directory may hold beside `in/` and `out/`.
const FIXTURE_ENTRIES: &[&str] = &["in", "out", "rules.yaml", "args", "exit", "README"];

type Tree = Vec<(String, Vec<u8>)>;

fn fixtures_root() -> PathBuf {
    project_root().join("tests/fixtures")
}

struct Fixture {
    name: String,
    dir: PathBuf,
    rules: Option<PathBuf>,
    args: Vec<String>,
    exit: i32,
}

impl Fixture {
    fn load(name: &str) -> Fixture {
        let dir = fixtures_root().join(name);
        assert!(dir.is_dir(), "fixture {name}: {} is not a directory", dir.display());
        for side in ["in", "out"] {
            assert!(dir.join(side).is_dir(), "fixture {name}: {side}/ is missing");
        }
        let rules = dir.join("rules.yaml");
        let rules = rules.is_file().then(|| rules.canonicalize().expect("absolute rules path"));
        let args = match std::fs::read_to_string(dir.join("args")) {
            Ok(text) => text.lines().filter(|line| !line.is_empty()).map(str::to_owned).collect(),
            Err(_) => Vec::new(),
        };
        let exit = match std::fs::read_to_string(dir.join("exit")) {
            Ok(text) => text
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("fixture {name}: `exit` must hold an integer, not {text:?}")),
            Err(_) => 0,
        };
        Fixture { name: name.to_owned(), dir, rules, args, exit }
    }

    /// A fresh git repository holding a copy of `in/`; the repository is `<tempdir>/repo`.
    fn checkout(&self) -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().expect("temp dir");
        let repo = tmp.path().join("repo");
        copy_tree(&self.dir.join("in"), &repo);
        restore_gitignores(&repo);
        git2::Repository::init(&repo).expect("git init");
        (tmp, repo)
    }

    /// `pullsmith <subcommand> [--rules FILE] <args...> <repo>`.
    fn run(&self, subcommand: &str, repo: &Path) -> Output {
        let mut cmd = pullsmith();
        cmd.current_dir(repo.parent().expect("repo has a parent")).arg(subcommand);
        if let Some(rules) = &self.rules {
            cmd.arg("--rules").arg(rules);
        }
        cmd.args(&self.args).arg(repo).timeout(Duration::from_secs(120));
        cmd.output().expect("run pullsmith")
    }

    fn command_line(&self, subcommand: &str) -> String {
        let mut words = vec!["pullsmith".to_owned(), subcommand.to_owned()];
        if self.rules.is_some() {
            words.push("--rules".into());
            words.push(format!("tests/fixtures/{}/rules.yaml", self.name));
        }
        words.extend(self.args.iter().cloned());
        words.push("<copy of in/>".into());
        words.join(" ")
    }

    fn expect_exit(&self, step: &str, subcommand: &str, output: &Output, want: i32) {
        assert_eq!(
            output.status.code(),
            Some(want),
            "fixture {}: {step}: `{}` should exit {want}\n{}",
            self.name,
            self.command_line(subcommand),
            describe(output)
        );
    }

    fn expect_tree(&self, step: &str, subcommand: &str, expected: &Tree, repo: &Path, output: &Output) {
        let actual = snapshot(repo);
        if let Some(problem) = tree_difference(expected, &actual) {
            panic!(
                "fixture {}: {step}: after `{}` the tree differs from the expected one\n{problem}\n{}",
                self.name,
                self.command_line(subcommand),
                describe(output)
            );
        }
    }
}

/// Runs one fixture case; see the module docs.
fn run_fixture(name: &str) {
    let fixture = Fixture::load(name);
    let input = fixture_tree(&fixture.dir.join("in"));
    let expected = fixture_tree(&fixture.dir.join("out"));
    assert!(!input.is_empty(), "fixture {name}: in/ holds no file");
    assert!(!expected.is_empty(), "fixture {name}: out/ holds no file");

    // 0. The JSON report of the input validates against docs/report.schema.json.
    {
        let (_tmp, repo) = fixture.checkout();
        let mut cmd = pullsmith();
        cmd.current_dir(repo.parent().expect("repo has a parent")).args(["--format", "json", "check"]);
        if let Some(rules) = &fixture.rules {
            cmd.arg("--rules").arg(rules);
        }
        let output = cmd.args(&fixture.args).arg(&repo).timeout(Duration::from_secs(120)).output().expect("runs");
        // An invalid rules file is exit 2 before any report: nothing to validate.
        if output.status.code() != Some(2) {
            let report: serde_json::Value = serde_json::from_slice(&output.stdout)
                .unwrap_or_else(|err| panic!("fixture {name}: JSON report ({err})\n{}", describe(&output)));
            let problems = crate::formats::schema_problems(&report);
            assert!(problems.is_empty(), "fixture {name}: the JSON report breaks its schema: {problems:?}\n{report:#}");
        }
    }

    // 1. `check` on the input reports whether anything would change, and writes nothing.
    if fixture.exit == 0 {
        let (_tmp, repo) = fixture.checkout();
        let output = fixture.run("check", &repo);
        let want = if input == expected { 0 } else { 1 };
        fixture.expect_exit("check before apply", "check", &output, want);
        fixture.expect_tree("check before apply (must not write)", "check", &input, &repo, &output);
    }

    let (_tmp, repo) = fixture.checkout();

    // 2. `apply` produces exactly `out/`.
    let output = fixture.run("apply", &repo);
    fixture.expect_exit("apply", "apply", &output, fixture.exit);
    fixture.expect_tree("apply", "apply", &expected, &repo, &output);

    // 3. A second `apply` changes nothing.
    let output = fixture.run("apply", &repo);
    fixture.expect_exit("second apply", "apply", &output, fixture.exit);
    fixture.expect_tree("second apply (idempotence)", "apply", &expected, &repo, &output);

    // 4. `check` on the result finds nothing to change.
    let output = fixture.run("check", &repo);
    fixture.expect_exit("check after apply", "check", &output, fixture.exit);
    fixture.expect_tree("check after apply (must not write)", "check", &expected, &repo, &output);
}

/// Renames every `_gitignore` below `root` to `.gitignore`.
fn restore_gitignores(root: &Path) {
    for entry in std::fs::read_dir(root).expect("read dir") {
        let entry = entry.expect("dir entry");
        let path = entry.path();
        let file_type = entry.file_type().expect("file type");
        if file_type.is_dir() {
            restore_gitignores(&path);
        } else if entry.file_name() == GITIGNORE_STAND_IN {
            std::fs::rename(&path, path.with_file_name(".gitignore")).expect("rename _gitignore");
        }
    }
}

/// A fixture's `in/` or `out/` tree, as stored.
fn fixture_tree(dir: &Path) -> Tree {
    read_tree(dir)
}

/// A working repository's files as a fixture stores them: without `.git/`,
/// `.gitignore` named `_gitignore`, sorted by path.
fn snapshot(repo: &Path) -> Tree {
    let mut tree: Tree = read_tree(repo)
        .into_iter()
        .filter(|(path, _)| path != ".git" && !path.starts_with(".git/"))
        .map(|(path, bytes)| {
            let path = match path.rsplit_once('/') {
                Some((dir, ".gitignore")) => format!("{dir}/{GITIGNORE_STAND_IN}"),
                None if path == ".gitignore" => GITIGNORE_STAND_IN.to_owned(),
                _ => path,
            };
            (path, bytes)
        })
        .collect();
    tree.sort();
    tree
}

/// `None` when the trees are equal, else a readable account of the first difference.
fn tree_difference(expected: &Tree, actual: &Tree) -> Option<String> {
    if expected == actual {
        return None;
    }
    let names = |tree: &Tree| tree.iter().map(|(path, _)| path.clone()).collect::<Vec<_>>();
    let (expected_names, actual_names) = (names(expected), names(actual));
    let missing: Vec<_> = expected_names.iter().filter(|p| !actual_names.contains(p)).collect();
    let extra: Vec<_> = actual_names.iter().filter(|p| !expected_names.contains(p)).collect();
    let mut report = String::new();
    if !missing.is_empty() {
        report.push_str(&format!("missing files: {missing:?}\n"));
    }
    if !extra.is_empty() {
        report.push_str(&format!("unexpected files: {extra:?}\n"));
    }
    let differing: Vec<_> = expected
        .iter()
        .filter_map(|(path, want)| {
            let got = &actual.iter().find(|(p, _)| p == path)?.1;
            (got != want).then_some((path, want, got))
        })
        .collect();
    if let Some((path, want, got)) = differing.first() {
        let others: Vec<_> = differing.iter().skip(1).map(|(p, _, _)| p).collect();
        report.push_str(&format!("files that differ: {:?}\n", differing.iter().map(|(p, _, _)| p).collect::<Vec<_>>()));
        report.push_str(&format!(
            "--- first difference: {path} (<CR> = carriage return, <TAB> = tab, · = trailing space)\n"
        ));
        report.push_str(&readable_diff(want, got));
        if !others.is_empty() {
            report.push_str(&format!("(and {} more differing files)\n", others.len()));
        }
    }
    Some(report)
}

/// A unified diff of expected vs actual bytes, with invisible differences made visible.
fn readable_diff(want: &[u8], got: &[u8]) -> String {
    let (want_text, got_text) = (visible(want), visible(got));
    if want_text == got_text {
        let at = want.iter().zip(got).position(|(a, b)| a != b).unwrap_or(want.len().min(got.len()));
        return format!(
            "the texts look alike but their bytes differ from offset {at} (expected {} bytes, got {})\n",
            want.len(),
            got.len()
        );
    }
    similar::TextDiff::from_lines(&want_text, &got_text)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}

/// Text with a BOM, CR, tabs, trailing spaces and a missing final newline spelled out.
fn visible(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => {
            out.push_str("<BOM>");
            rest.to_owned()
        }
        None => text.into_owned(),
    };
    for line in text.split_inclusive('\n') {
        let (body, ending) = if let Some(body) = line.strip_suffix("\r\n") {
            (body, "<CR>\n")
        } else if let Some(body) = line.strip_suffix('\n') {
            (body, "\n")
        } else {
            (line, "<no final newline>\n")
        };
        let trimmed = body.trim_end_matches(' ');
        out.push_str(&trimmed.replace('\t', "<TAB>"));
        out.push_str(&"·".repeat(body.len() - trimmed.len()));
        out.push_str(ending);
    }
    out
}

/// Every directory under tests/fixtures has a test below that calls `run_fixture` with its name,
/// every such test names an existing directory, and every fixture is well formed.
#[test]
fn every_fixture_has_a_test() {
    let source = include_str!("fixtures.rs");
    let marker = concat!("run_fixture", "(\"");
    let tested: Vec<&str> = source
        .match_indices(marker)
        .map(|(at, _)| {
            let rest = &source[at + marker.len()..];
            &rest[..rest.find('"').expect("closing quote")]
        })
        .collect();

    let mut dirs: Vec<String> = std::fs::read_dir(fixtures_root())
        .expect("tests/fixtures exists")
        .map(|entry| entry.expect("dir entry"))
        .filter(|entry| entry.file_type().expect("file type").is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();

    let untested: Vec<_> = dirs.iter().filter(|dir| !tested.contains(&dir.as_str())).collect();
    assert!(untested.is_empty(), "fixtures without a `run_fixture(..)` test in tests/cli/fixtures.rs: {untested:?}");
    let unknown: Vec<_> = tested.iter().filter(|name| !dirs.iter().any(|dir| dir == *name)).collect();
    assert!(unknown.is_empty(), "tests naming fixtures that do not exist: {unknown:?}");
    let mut seen = std::collections::BTreeSet::new();
    let doubled: Vec<_> = tested.iter().filter(|name| !seen.insert(**name)).collect();
    assert!(doubled.is_empty(), "fixtures tested twice: {doubled:?}");

    for dir in &dirs {
        let path = fixtures_root().join(dir);
        for entry in std::fs::read_dir(&path).expect("read fixture dir") {
            let file_name = entry.expect("dir entry").file_name().to_string_lossy().into_owned();
            assert!(
                FIXTURE_ENTRIES.contains(&file_name.as_str()),
                "fixture {dir}: unexpected entry {file_name:?} (allowed: {FIXTURE_ENTRIES:?})"
            );
        }
        for side in ["in", "out"] {
            assert!(!read_tree(&path.join(side)).is_empty(), "fixture {dir}: {side}/ must hold at least one file");
        }
        let _ = Fixture::load(dir);
    }
}

// One test per fixture case, named after its directory.

#[test]
fn anchors_aliases_kept() {
    run_fixture("anchors-aliases-kept");
}

#[test]
fn argo_cronworkflow() {
    run_fixture("argo-cronworkflow");
}

#[test]
fn argo_experiment_wildcard() {
    run_fixture("argo-experiment-wildcard");
}

#[test]
fn argo_template_strings() {
    run_fixture("argo-template-strings");
}

#[test]
fn argo_workflowtemplate() {
    run_fixture("argo-workflowtemplate");
}

#[test]
fn bare_pod() {
    run_fixture("bare-pod");
}

#[test]
fn block_scalar_before_edit() {
    run_fixture("block-scalar-before-edit");
}

#[test]
fn bom_file() {
    run_fixture("bom-file");
}

#[test]
fn builtin_keda_scaledjob() {
    run_fixture("builtin-keda-scaledjob");
}

#[test]
fn builtin_knative_service() {
    run_fixture("builtin-knative-service");
}

#[test]
fn builtin_kruise_cloneset() {
    run_fixture("builtin-kruise-cloneset");
}

#[test]
fn builtin_rollout() {
    run_fixture("builtin-rollout");
}

#[test]
fn comments_everywhere() {
    run_fixture("comments-everywhere");
}

#[test]
fn crd_schema_untouched() {
    run_fixture("crd-schema-untouched");
}

#[test]
fn crlf_line_endings() {
    run_fixture("crlf-line-endings");
}

#[test]
fn cronjob() {
    run_fixture("cronjob");
}

#[test]
fn custom_workload_rollout() {
    run_fixture("custom-workload-rollout");
}

#[test]
fn daemonset() {
    run_fixture("daemonset");
}

#[test]
fn default_environment() {
    run_fixture("default-environment");
}

#[test]
fn default_rules_dev_staging_prod() {
    run_fixture("default-rules-dev-staging-prod");
}

#[test]
fn directory_named_yaml() {
    run_fixture("directory-named-yaml");
}

#[test]
fn env_flag() {
    run_fixture("env-flag");
}

#[test]
fn env_without_policy() {
    run_fixture("env-without-policy");
}

#[test]
fn ephemeral_containers() {
    run_fixture("ephemeral-containers");
}

#[test]
fn existing_policy_positions() {
    run_fixture("existing-policy-positions");
}

#[test]
fn flow_container_all_quoted() {
    run_fixture("flow-container-all-quoted");
}

#[test]
fn flow_containers_sequence() {
    run_fixture("flow-containers-sequence");
}

#[test]
fn flow_pod_spec() {
    run_fixture("flow-pod-spec");
}

#[test]
fn flow_style_container() {
    run_fixture("flow-style-container");
}

#[test]
fn gitignored_file_untouched() {
    run_fixture("gitignored-file-untouched");
}

#[test]
fn helm_rendered_quoted_image() {
    run_fixture("helm-rendered-quoted-image");
}

#[test]
fn helm_argo_value_files() {
    run_fixture("helm-argo-value-files");
}

#[test]
fn helm_argo_values_folded() {
    run_fixture("helm-argo-values-folded");
}

#[test]
fn helm_argo_values_literal() {
    run_fixture("helm-argo-values-literal");
}

#[test]
fn helm_argo_values_object() {
    run_fixture("helm-argo-values-object");
}

#[test]
fn helm_flux_overlay_generated_patch() {
    run_fixture("helm-flux-overlay-generated-patch");
}

#[test]
fn helm_flux_overlay_values_patch() {
    run_fixture("helm-flux-overlay-values-patch");
}

#[test]
fn helm_flux_release_with_values() {
    run_fixture("helm-flux-release-with-values");
}

#[test]
fn helm_flux_release_without_values() {
    run_fixture("helm-flux-release-without-values");
}

#[test]
fn helm_kustomize_helm_charts() {
    run_fixture("helm-kustomize-helm-charts");
}

#[test]
fn helm_chart_templates_skipped() {
    run_fixture("helm-chart-templates-skipped");
}

#[test]
fn image_first_in_container() {
    run_fixture("image-first-in-container");
}

#[test]
fn image_volume_untouched() {
    run_fixture("image-volume-untouched");
}

#[test]
fn images_digest() {
    run_fixture("images-digest");
}

#[test]
fn images_docker_io_qualified() {
    run_fixture("images-docker-io-qualified");
}

#[test]
fn images_latest_rule() {
    run_fixture("images-latest-rule");
}

#[test]
fn images_match_list() {
    run_fixture("images-match-list");
}

#[test]
fn images_prefix_not_sibling() {
    run_fixture("images-prefix-not-sibling");
}

#[test]
fn indent_4() {
    run_fixture("indent-4");
}

#[test]
fn init_containers_block_scalar() {
    run_fixture("init-containers-block-scalar");
}

#[test]
fn init_containers_secrets_only() {
    run_fixture("init-containers-secrets-only");
}

#[test]
fn invalid_rules_file() {
    run_fixture("invalid-rules-file");
}

#[test]
fn job() {
    run_fixture("job");
}

#[test]
fn json_style_pod() {
    run_fixture("json-style-pod");
}

#[test]
fn json_style_quoted_block_container() {
    run_fixture("json-style-quoted-block-container");
}

#[test]
fn keys_in_unusual_order() {
    run_fixture("keys-in-unusual-order");
}

#[test]
fn kind_list() {
    run_fixture("kind-list");
}

#[test]
fn kubectl_style_sequences() {
    run_fixture("kubectl-style-sequences");
}

// Issue 9, item 11: a lone `\r` is a YAML line break; offsets once drifted a
// line per `\r` (a panic in the secrets splice, lost final line, collateral lines).
#[test]
fn lone_cr_container_policy() {
    run_fixture("lone-cr-container-policy");
}

#[test]
fn lone_cr_no_final_newline() {
    run_fixture("lone-cr-no-final-newline");
}

#[test]
fn lone_cr_pod_secrets() {
    run_fixture("lone-cr-pod-secrets");
}

/// The printed diff of a CR-only file is taken by `git apply` and gives `out/`
/// byte for byte. git splits lines at `\n` only, so to git (and in the diff)
/// such a file is one long line with its `\r`s inside.
#[test]
fn lone_cr_diffs_apply_with_git() {
    for name in ["lone-cr-container-policy", "lone-cr-no-final-newline", "lone-cr-pod-secrets"] {
        let fixture = Fixture::load(name);
        let expected = fixture_tree(&fixture.dir.join("out"));
        let (_tmp, repo) = fixture.checkout();
        let output = fixture.run("diff", &repo);
        fixture.expect_exit("diff", "diff", &output, 0);
        let patch = repo.parent().expect("repo has a parent").join("changes.patch");
        std::fs::write(&patch, &output.stdout).expect("write the patch");
        let applied =
            std::process::Command::new("git").current_dir(&repo).arg("apply").arg(&patch).output().expect("git runs");
        assert!(
            applied.status.success(),
            "fixture {name}: `git apply` refuses the printed diff\n{}\npatch:\n{}",
            describe(&applied),
            String::from_utf8_lossy(&output.stdout)
        );
        fixture.expect_tree("git apply of the diff", "diff", &expected, &repo, &output);
    }
}

#[test]
fn misspelled_policy_fixed() {
    run_fixture("misspelled-policy-fixed");
}

#[test]
fn multi_document() {
    run_fixture("multi-document");
}

#[test]
fn multibyte_characters() {
    run_fixture("multibyte-characters");
}

#[test]
fn namespace_match() {
    run_fixture("namespace-match");
}

#[test]
fn no_final_newline_policy() {
    run_fixture("no-final-newline-policy");
}

#[test]
fn no_final_newline_secrets() {
    run_fixture("no-final-newline-secrets");
}

#[test]
fn non_manifest_untouched() {
    run_fixture("non-manifest-untouched");
}

#[test]
fn nothing_to_change() {
    run_fixture("nothing-to-change");
}

#[test]
fn overwrite_false() {
    run_fixture("overwrite-false");
}

#[test]
fn per_file_errors() {
    run_fixture("per-file-errors");
}

#[test]
fn podtemplate() {
    run_fixture("podtemplate");
}

#[test]
fn pullsmith_yaml_in_repo() {
    run_fixture("pullsmith-yaml-in-repo");
}

#[test]
fn quoting_styles() {
    run_fixture("quoting-styles");
}

#[test]
fn replicaset() {
    run_fixture("replicaset");
}

#[test]
fn replicationcontroller() {
    run_fixture("replicationcontroller");
}

#[test]
fn secrets_already_present() {
    run_fixture("secrets-already-present");
}

#[test]
fn secrets_empty_flow_list() {
    run_fixture("secrets-empty-flow-list");
}

#[test]
fn secrets_existing_block_list() {
    run_fixture("secrets-existing-block-list");
}

#[test]
fn secrets_existing_flow_list() {
    run_fixture("secrets-existing-flow-list");
}

#[test]
fn secrets_null_key() {
    run_fixture("secrets-null-key");
}

#[test]
fn secrets_order_env_and_images() {
    run_fixture("secrets-order-env-and-images");
}

#[test]
fn bom_service_account() {
    run_fixture("bom-service-account");
}

#[test]
fn service_account_attachment() {
    run_fixture("service-account-attachment");
}

#[test]
fn single_quoted_container() {
    run_fixture("single-quoted-container");
}

#[test]
fn statefulset() {
    run_fixture("statefulset");
}

#[test]
fn trailing_blank_lines_and_comments() {
    run_fixture("trailing-blank-lines-and-comments");
}

#[test]
fn two_environments_error() {
    run_fixture("two-environments-error");
}

#[test]
fn yaml_directive_and_empty_documents() {
    run_fixture("yaml-directive-and-empty-documents");
}

#[test]
fn yml_extension() {
    run_fixture("yml-extension");
}

#[test]
fn merge_key_containers() {
    run_fixture("merge-key-containers");
}
