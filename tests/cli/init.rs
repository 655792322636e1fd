//! `pullsmith init`: the rules it infers for the bundled examples work end
//! to end (validate, check finds work, apply, check is clean), it never
//! replaces what is there, `--stdout` writes nothing, and the file goes at
//! the repository root.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use crate::util::{copy_tree, describe, git_init, project_root, pullsmith, read_tree, write};

fn run(dir: &Path, args: &[&str]) -> Output {
    pullsmith().current_dir(dir).args(args).timeout(Duration::from_secs(120)).output().expect("pullsmith runs")
}

fn expect_exit(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{}", describe(output));
}

/// A copy of `examples/<name>` in a fresh git repository, without its rules file.
fn example_repo(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&project_root().join("examples").join(name), dir.path());
    let _ = std::fs::remove_file(dir.path().join(".pullsmith.yaml"));
    git_init(dir.path());
    dir
}

/// Every file below `root` except git's own.
fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    read_tree(root).into_iter().filter(|(path, _)| !path.starts_with(".git/")).collect()
}

/// Environment name → (paths, namespaces, policy), from a rules file's text.
fn environments(text: &str) -> Vec<(String, Vec<String>, Vec<String>, String)> {
    let rules: serde_yaml::Value = serde_yaml::from_str(text).expect("the rules are YAML");
    let strings = |value: Option<&serde_yaml::Value>| -> Vec<String> {
        value
            .and_then(serde_yaml::Value::as_sequence)
            .map(|items| items.iter().map(|item| item.as_str().expect("a string").to_string()).collect())
            .unwrap_or_default()
    };
    let Some(environments) = rules.get("environments").and_then(serde_yaml::Value::as_mapping) else {
        return Vec::new();
    };
    environments
        .iter()
        .map(|(name, env)| {
            (
                name.as_str().expect("a name").to_string(),
                strings(env.get("paths")),
                strings(env.get("namespaces")),
                env.get("imagePullPolicy").and_then(serde_yaml::Value::as_str).unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn env(name: &str, paths: &[&str], policy: &str) -> (String, Vec<String>, Vec<String>, String) {
    (name.to_string(), paths.iter().map(|p| p.to_string()).collect(), Vec::new(), policy.to_string())
}

/// init, then the whole round a user makes: validate, check (work to do), apply, check (clean).
fn init_then_apply(root: &Path) -> String {
    let init = run(root, &["init"]);
    expect_exit(&init, 0);
    let stdout = String::from_utf8_lossy(&init.stdout).into_owned();
    assert!(stdout.contains("pullsmith: wrote "), "{}", describe(&init));
    let rules = std::fs::read_to_string(root.join(".pullsmith.yaml")).expect("init wrote .pullsmith.yaml");
    assert!(rules.starts_with("# "), "comments explain the file:\n{rules}");
    expect_exit(&run(root, &["rules", "validate", ".pullsmith.yaml"]), 0);
    expect_exit(&run(root, &["check"]), 1);
    expect_exit(&run(root, &["apply"]), 0);
    expect_exit(&run(root, &["check"]), 0);
    rules
}

#[test]
fn init_on_the_plain_example_infers_dev_staging_prod_that_apply_then_satisfies() {
    let repo = example_repo("plain");
    let rules = init_then_apply(repo.path());
    assert_eq!(
        environments(&rules),
        vec![
            env("dev", &["dev/**"], "Always"),
            env("staging", &["staging/**"], "IfNotPresent"),
            env("prod", &["prod/**"], "IfNotPresent"),
        ],
        "{rules}"
    );
    assert!(rules.contains("  - match: \"*:latest\"\n    imagePullPolicy: Always\n"), "{rules}");
    assert!(rules.contains("    # imagePullSecrets: [regcred]\n"), "no secret is invented:\n{rules}");
    assert!(!rules.contains("\n    imagePullSecrets:"), "no secret is invented:\n{rules}");
    // shared/ holds a Deployment but names no environment: said, in the file and on the terminal.
    assert!(rules.contains("#   shared/debug-toolbox.yaml\n"), "{rules}");
}

#[test]
fn init_on_the_kustomize_example_infers_one_environment_per_overlay() {
    let repo = example_repo("kustomize");
    let rules = init_then_apply(repo.path());
    assert_eq!(
        environments(&rules),
        vec![
            env("dev", &["overlays/dev/**"], "Always"),
            env("staging", &["overlays/staging/**"], "IfNotPresent"),
            env("prod", &["overlays/prod/**"], "IfNotPresent"),
        ],
        "{rules}"
    );
    assert!(rules.contains("# From the kustomize overlay `overlays/prod/`"), "{rules}");
}

#[test]
fn init_summary_names_each_environment_with_its_policy() {
    let repo = example_repo("plain");
    let init = run(repo.path(), &["init"]);
    expect_exit(&init, 0);
    let stdout = String::from_utf8_lossy(&init.stdout);
    for line in [
        "pullsmith: init found 3 environments in 13 YAML files (10 with containers)\n",
        "  dev      Always        paths dev/** (3 files with containers)\n",
        "  staging  IfNotPresent  paths staging/** (3 files with containers)\n",
        "  prod     IfNotPresent  paths prod/** (3 files with containers)\n",
        "  not covered, left alone: 1 file with containers: shared/debug-toolbox.yaml\n",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
}

#[test]
fn init_refuses_an_existing_rules_file_and_leaves_it_byte_identical() {
    let repo = example_repo("plain");
    let existing = "version: 1 # mine, hand-written\r\n";
    write(repo.path(), ".pullsmith.yaml", existing);
    let before = tree(repo.path());
    let output = run(repo.path(), &["init"]);
    expect_exit(&output, 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(".pullsmith.yaml: already exists (a regular file); nothing written"), "{stderr}");
    assert_eq!(tree(repo.path()), before);
}

#[test]
fn init_refuses_a_link_or_a_directory_by_the_rules_file_name() {
    let repo = example_repo("plain");
    std::os::unix::fs::symlink("nowhere.yaml", repo.path().join(".pullsmith.yaml")).expect("symlink");
    let output = run(repo.path(), &["init"]);
    expect_exit(&output, 2);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("already exists (a symbolic link)"),
        "{}",
        describe(&output)
    );
    assert!(!repo.path().join("nowhere.yaml").exists(), "nothing is written through the link");
    assert!(std::fs::symlink_metadata(repo.path().join(".pullsmith.yaml")).expect("still there").is_symlink());

    std::fs::remove_file(repo.path().join(".pullsmith.yaml")).expect("remove link");
    std::fs::create_dir(repo.path().join(".pullsmith.yaml")).expect("mkdir");
    let output = run(repo.path(), &["init"]);
    expect_exit(&output, 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("already exists (a directory)"), "{}", describe(&output));
}

#[test]
fn init_stdout_prints_the_rules_and_writes_nothing() {
    let repo = example_repo("kustomize");
    let before = tree(repo.path());
    let output = run(repo.path(), &["init", "--stdout"]);
    expect_exit(&output, 0);
    assert_eq!(tree(repo.path()), before, "--stdout writes nothing");
    let printed = String::from_utf8(output.stdout.clone()).expect("UTF-8");
    assert_eq!(environments(&printed).len(), 3, "{printed}");
    // The summary goes to stderr, so that stdout is the file.
    assert!(String::from_utf8_lossy(&output.stderr).contains("pullsmith: init found 3 environments"));

    // What it prints is what init then writes.
    expect_exit(&run(repo.path(), &["init"]), 0);
    assert_eq!(std::fs::read_to_string(repo.path().join(".pullsmith.yaml")).expect("written"), printed);
}

#[test]
fn init_without_environment_directories_writes_nothing_and_stdout_gives_a_template() {
    let repo = tempfile::tempdir().expect("temp dir");
    write(
        repo.path(),
        "k8s/web.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: web\n    image: nginx:1.25\n",
    );
    write(repo.path(), "dev/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n");
    git_init(repo.path());
    let before = tree(repo.path());
    let output = run(repo.path(), &["init"]);
    expect_exit(&output, 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("found no environment"), "{}", describe(&output));
    assert_eq!(tree(repo.path()), before, "nothing written");

    let output = run(repo.path(), &["init", "--stdout"]);
    expect_exit(&output, 0);
    let template = String::from_utf8(output.stdout.clone()).expect("UTF-8");
    assert!(template.contains("environments: {}\n#   dev:\n"), "{template}");
    let elsewhere = tempfile::tempdir().expect("temp dir");
    write(elsewhere.path(), "rules.yaml", &template);
    expect_exit(&run(elsewhere.path(), &["rules", "validate", "rules.yaml"]), 0);
}

#[test]
fn init_in_a_subdirectory_writes_at_the_git_work_tree_root_with_root_relative_globs() {
    let repo = example_repo("plain");
    let output = run(&repo.path().join("prod"), &["init", "."]);
    expect_exit(&output, 0);
    assert!(!repo.path().join("prod/.pullsmith.yaml").exists());
    let rules = std::fs::read_to_string(repo.path().join(".pullsmith.yaml")).expect("written at the root");
    assert_eq!(environments(&rules).len(), 3, "the whole repository is looked at:\n{rules}");
    assert!(rules.contains("paths: [\"prod/**\"]"), "{rules}");
}

#[test]
fn init_outside_git_writes_in_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&project_root().join("examples/plain"), &dir.path().join("repo"));
    expect_exit(&run(dir.path(), &["init", "repo"]), 0);
    assert!(dir.path().join("repo/.pullsmith.yaml").is_file());
}

/// A Deployment, in `namespace`.
fn deployment(namespace: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: w\n  namespace: {namespace}\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: nginx:1.25\n"
    )
}

#[test]
fn init_globs_never_make_two_environments_match_one_file() {
    let repo = tempfile::tempdir().expect("temp dir");
    for path in [
        "apps/a/dev/web.yaml",
        "apps/b/dev/web.yaml",
        "other/dev/web.yaml",
        "apps/c/prod/web.yaml",
        "prod/web.yaml",
        // Under prod first: prod, although a `dev` directory is deeper.
        "prod/tools/dev/debug.yaml",
        "clusters/prod-eu/web.yaml",
        "clusters/us-development/web.yaml",
        "qa2/web.yaml",
        "pre-prod/web.yaml",
        "latest/web.yaml",
    ] {
        write(repo.path(), path, deployment("x"));
    }
    write(repo.path(), "staging/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n");
    write(repo.path(), "misc/tools.yaml", deployment("dev-tools"));
    write(repo.path(), "misc/shop.yaml", deployment("shop-dev"));
    git_init(repo.path());
    let output = run(repo.path(), &["init"]);
    expect_exit(&output, 0);
    let rules = std::fs::read_to_string(repo.path().join(".pullsmith.yaml")).expect("written");
    let dev = |paths: &[&str]| {
        let (name, paths, _, policy) = env("dev", paths, "Always");
        (name, paths, vec!["dev-tools".to_string()], policy)
    };
    assert_eq!(
        environments(&rules),
        vec![
            // `**/dev/**` would take prod/tools/dev/debug.yaml from prod.
            dev(&["apps/*/dev/**", "clusters/us-development/**", "other/dev/**"]),
            env("qa", &["qa2/**"], "IfNotPresent"),
            env("preprod", &["pre-prod/**"], "IfNotPresent"),
            env("prod", &["**/prod/**", "clusters/prod-eu/**"], "IfNotPresent"),
        ],
        "{rules}"
    );
    // staging holds no containers; `latest` is no environment word; `shop-dev` does not start with one.
    assert!(rules.contains("#   latest/web.yaml\n#   misc/shop.yaml\n"), "{rules}");
    // Every file gets one environment at most: apply processes all of them.
    let apply = run(repo.path(), &["apply"]);
    expect_exit(&apply, 0);
    let debug = std::fs::read_to_string(repo.path().join("prod/tools/dev/debug.yaml")).expect("read");
    assert!(debug.contains("imagePullPolicy: IfNotPresent"), "{debug}");
    let tools = std::fs::read_to_string(repo.path().join("misc/tools.yaml")).expect("read");
    assert!(tools.contains("imagePullPolicy: Always"), "{tools}");
}

#[test]
fn init_quotes_what_directory_names_could_break() {
    let repo = tempfile::tempdir().expect("temp dir");
    write(repo.path(), "overlays/eu\"x/kustomization.yaml", "resources:\n  - ../../base\n");
    write(repo.path(), "overlays/true/kustomization.yaml", "resources:\n  - ../../base\n");
    write(repo.path(), "base/kustomization.yaml", "resources:\n  - web.yaml\n");
    write(repo.path(), "base/web.yaml", deployment("shop"));
    write(repo.path(), "we*ird/prod/web.yaml", deployment("shop"));
    let output = run(repo.path(), &["init", "--stdout"]);
    expect_exit(&output, 0);
    let rules = String::from_utf8(output.stdout.clone()).expect("UTF-8");
    let names: Vec<(String, Vec<String>)> =
        environments(&rules).into_iter().map(|(name, paths, _, _)| (name, paths)).collect();
    assert_eq!(
        names,
        vec![
            ("prod".to_string(), vec!["we\\*ird/prod/**".to_string()]),
            ("eu\"x".to_string(), vec!["overlays/eu\"x/**".to_string()]),
            ("true".to_string(), vec!["overlays/true/**".to_string()]),
        ],
        "{rules}"
    );
    write(repo.path(), ".pullsmith.yaml", &rules);
    expect_exit(&run(repo.path(), &["rules", "validate", ".pullsmith.yaml"]), 0);
    expect_exit(&run(repo.path(), &["apply"]), 0);
}

#[test]
fn init_takes_overlays_by_their_place_in_the_kustomize_tree() {
    let repo = tempfile::tempdir().expect("temp dir");
    let overlay = "resources:\n  - ../../base\n";
    write(repo.path(), "base/kustomization.yaml", "resources:\n  - web.yaml\n");
    write(repo.path(), "base/web.yaml", deployment("shop"));
    write(repo.path(), "overlays/eu/kustomization.yaml", overlay);
    write(repo.path(), "overlays/us/kustomization.yaml", overlay);
    // Built on nothing outside: an application, not an overlay.
    write(repo.path(), "apps/tool/kustomization.yaml", "resources:\n  - tool.yaml\n");
    write(repo.path(), "apps/tool/tool.yaml", deployment("tools"));
    // No other kustomization includes it, and it builds on base: an overlay.
    write(repo.path(), "edge/kustomization.yaml", "resources:\n  - ../base\n");
    // `deploy/dev-eu` sorts between `deploy/dev` and `deploy/dev/app`.
    write(repo.path(), "deploy/dev/app/kustomization.yaml", "resources:\n  - ../../../base\n");
    write(repo.path(), "deploy/dev-eu/kustomization.yaml", "resources:\n  - ../../base\n");
    git_init(repo.path());
    let rules = init_then_apply(repo.path());
    assert_eq!(
        environments(&rules),
        vec![
            env("dev", &["deploy/dev-eu/**", "deploy/dev/**"], "Always"),
            env("edge", &["edge/**"], "IfNotPresent"),
            env("eu", &["overlays/eu/**"], "IfNotPresent"),
            env("us", &["overlays/us/**"], "IfNotPresent"),
        ],
        "{rules}"
    );
    assert!(rules.contains("#   apps/tool/tool.yaml\n"), "{rules}");
    assert!(repo.path().join("overlays/eu/pullsmith.patch.yaml").is_file(), "the shared base is patched per overlay");
}

#[test]
fn init_refuses_options_that_would_change_what_it_infers() {
    let repo = example_repo("plain");
    for args in [&["init", "--include", "dev/**"][..], &["init", "--rules", "x.yaml"], &["init", "--env", "dev"]] {
        let output = run(repo.path(), args);
        expect_exit(&output, 2);
        assert!(!repo.path().join(".pullsmith.yaml").exists(), "{args:?}");
    }
}

/// `init` is a layer of its own: it uses the walk, the kustomize graph, the
/// manifests' shapes and the rules, and only the edge (`lib.rs`) uses it.
#[test]
fn init_is_a_layer_that_only_the_edge_uses() {
    const ALLOWED: &[&str] = &["discover", "fsio", "kustomize", "manifest", "rules", "yaml"];
    let src = project_root().join("src");
    let init = std::fs::read_to_string(src.join("init.rs")).expect("src/init.rs");
    for (at, _) in init.match_indices("crate::") {
        let module: String =
            init[at + "crate::".len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        assert!(ALLOWED.contains(&module.as_str()), "src/init.rs uses `crate::{module}`");
    }
    let mut sources = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push(path);
            }
        }
    }
    for path in sources {
        let rel = path.strip_prefix(&src).expect("below src").to_string_lossy().into_owned();
        if rel == "lib.rs" || rel == "init.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        for name in ["crate::init", "super::init", "pullsmith::init"] {
            assert!(!text.contains(name), "src/{rel} uses `{name}`");
        }
    }
}
