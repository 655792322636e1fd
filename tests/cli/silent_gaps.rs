//! Issue 9, items 14, 15 and 17 (absolute kustomize resources): inputs that
//! used to come out silently wrong. An anchored value that the rules change
//! and an alias repeats elsewhere, merge-key containers, pull fields of the
//! wrong shape and absolute kustomize resources are each either handled as
//! Kubernetes reads them or refused with a located error, never passed over.

use crate::util::{describe, read_text as read, repo, run_with_dir_rules as run, stderr};

/// dev: `Always`, staging: `IfNotPresent`, `:latest` images `Always`; pull secret `reg` in dev.
const RULES: &str = "version: 1\nenvironments:\n  dev: {paths: [\"dev/**\"], imagePullPolicy: Always, imagePullSecrets: [reg]}\n  staging: {paths: [\"staging/**\"], imagePullPolicy: IfNotPresent}\nimages:\n  - match: [\"*:latest\"]\n    imagePullPolicy: Always\n";

/// A file the rules fix in every run, to show the rest of the run is processed.
const GOOD: &str =
    "apiVersion: v1\nkind: Pod\nmetadata: {name: good}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n";

/// Applies `text` as `rel` beside a good file; expects exit 3, the file
/// untouched, the good file fixed, and the error at `rel:line:column` holding `words`.
fn expect_refused(rel: &str, text: &str, line: usize, column: usize, words: &[&str]) {
    let dir = repo(&[(rel, text), ("dev/good.yaml", GOOD), ("rules.yaml", RULES)]);
    let output = run(dir.path(), &["apply"]);
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    let err = stderr(&output);
    let located = format!("error: {rel}:{line}:{column}: ");
    let message = err.lines().find(|l| l.starts_with(&located)).unwrap_or_else(|| panic!("no `{located}`: {err}"));
    for word in words {
        assert!(message.contains(word), "`{word}` missing: {message}");
    }
    assert_eq!(read(dir.path(), rel), text, "a refused file is untouched");
    assert!(read(dir.path(), "dev/good.yaml").contains("imagePullPolicy: Always"), "the rest of the run is processed");
    // `check` cannot pass either.
    assert_eq!(run(dir.path(), &["check"]).status.code(), Some(3));
}

fn expect_applied(rel: &str, text: &str, expected: &str) {
    let dir = repo(&[(rel, text), ("rules.yaml", RULES)]);
    let output = run(dir.path(), &["apply"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(read(dir.path(), rel), expected);
    let again = run(dir.path(), &["check"]);
    assert_eq!(again.status.code(), Some(0), "idempotent: {}", describe(&again));
}

// Item 14: https://… issue 9 — an anchored policy that an alias repeats.

#[test]
fn an_anchored_policy_repeated_in_an_env_var_refuses_the_file_at_the_anchor() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n    imagePullPolicy: &p IfNotPresent\n    env:\n    - name: MODE\n      value: *p\n";
    expect_refused("dev/pod.yaml", text, 8, 22, &["`&p`", "`*p` at line 11", "write the value out"]);
}

#[test]
fn an_anchored_policy_repeated_by_a_container_that_keeps_its_value_refuses_the_file() {
    // `a` wants IfNotPresent, `b` (`:latest`) wants the Always it reads through `*p`.
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n    imagePullPolicy: &p Always\n  - name: b\n    image: example/b:latest\n    imagePullPolicy: *p\n";
    expect_refused("staging/pod.yaml", text, 8, 22, &["`&p`", "line 11", "alias"]);
}

#[test]
fn an_anchored_policy_whose_every_use_changes_alike_is_rewritten() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n    imagePullPolicy: &p Always\n  - name: b\n    image: example/b:1.0\n    imagePullPolicy: *p\n";
    let expected = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n    imagePullPolicy: &p IfNotPresent\n  - name: b\n    image: example/b:1.0\n    imagePullPolicy: IfNotPresent\n";
    expect_applied("staging/pod.yaml", text, expected);
}

#[test]
fn a_policy_read_through_an_alias_that_is_already_right_is_no_change() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n    imagePullPolicy: &p IfNotPresent\n  - name: b\n    image: example/b:1.0\n    imagePullPolicy: *p\n";
    let dir = repo(&[("staging/pod.yaml", text), ("rules.yaml", RULES)]);
    let output = run(dir.path(), &["check", "--diff"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
}

#[test]
fn an_anchored_container_merged_by_one_that_keeps_its_policy_refuses_the_file() {
    // `a` (`:latest`, Always) is merged by `b`, which overrides the image and
    // is right with the IfNotPresent it merges; giving `a` Always would change `b`.
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - &d\n    name: a\n    image: example/a:latest\n    imagePullPolicy: IfNotPresent\n  - <<: *d\n    name: b\n    image: example/b:1.0\n";
    expect_refused("staging/pod.yaml", text, 6, 5, &["`&d`", "`*d` at line 10"]);
}

#[test]
fn an_anchored_pull_secret_list_shared_by_two_pods_refuses_the_file() {
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n  spec:\n    containers: [{name: a, image: x:1, imagePullPolicy: Always}]\n    imagePullSecrets: &s [{name: other}]\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: b}\n  spec:\n    containers: [{name: b, image: y:1, imagePullPolicy: Always}]\n    imagePullSecrets: *s\n";
    expect_refused("dev/list.yaml", text, 15, 5, &["`imagePullSecrets`", "alias", "write the list out"]);
}

#[test]
fn an_aliased_container_that_repeats_no_planned_container_is_an_error() {
    // The anchored mapping is a pod's annotation value, not a container: `- *c` cannot be checked.
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: &c {name: a, image: nginx:1.25}\nspec:\n  containers:\n  - *c\n";
    expect_refused("dev/pod.yaml", text, 8, 5, &["`*c`", "line 5", "write it out"]);
}

// Item 15: merge-key containers, pull fields of the wrong shape.

#[test]
fn merge_key_containers_take_their_image_from_the_merge_and_get_their_own_policy() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - &d {name: a, image: example/a:latest}\n  - {<<: *d, name: b}\n  - <<: *d\n    name: c\n    image: example/c:1.0\n";
    let expected = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - &d {name: a, image: example/a:latest, imagePullPolicy: Always}\n  - {<<: *d, imagePullPolicy: Always, name: b}\n  - <<: *d\n    name: c\n    image: example/c:1.0\n    imagePullPolicy: IfNotPresent\n";
    expect_applied("staging/pod.yaml", text, expected);
}

#[test]
fn merge_key_container_without_an_image_of_its_own_gets_the_policy_after_the_merge() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - &d\n    name: a\n    image: example/a:1.0\n    imagePullPolicy: IfNotPresent\n  - <<: *d\n    name: b\n";
    let expected = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - &d\n    name: a\n    image: example/a:1.0\n    imagePullPolicy: Always\n  - <<: *d\n    imagePullPolicy: Always\n    name: b\n  imagePullSecrets:\n  - name: reg\n";
    expect_applied("dev/pod.yaml", text, expected);
}

/// kubectl reads the rewritten merge-key containers as intended (when kubectl
/// is installed). `kubectl create --dry-run=client` needs an API server for
/// its discovery, so the file goes through `kubectl kustomize`, whose YAML
/// reader resolves merge keys the same way. The merging container is in
/// another environment than the one it merges: it needs a policy of its own.
#[test]
fn kubectl_reads_merge_key_containers_as_rewritten() {
    let rules = "version: 1\nenvironments:\n  dev: {namespaces: [dev], imagePullPolicy: Always}\n  prod: {namespaces: [prod], imagePullPolicy: IfNotPresent}\n";
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a, namespace: prod}\n  spec:\n    containers:\n    - &d {name: a, image: example/a:1.0}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: b, namespace: dev}\n  spec:\n    containers:\n    - {<<: *d, name: b}\n    - <<: *d\n      name: c\n";
    let dir = repo(&[("pods.yaml", text), ("rules.yaml", rules)]);
    let output = run(dir.path(), &["apply"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let rewritten = read(dir.path(), "pods.yaml");
    let oracle = repo(&[("kustomization.yaml", "resources: [pods.yaml]\n"), ("pods.yaml", &rewritten)]);
    let rendered = match std::process::Command::new("kubectl").arg("kustomize").arg(oracle.path()).output() {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout).into_owned(),
        Ok(output) => panic!("kubectl refuses the rewrite: {}", describe(&output)),
        Err(_) => {
            eprintln!("note: kubectl is not installed; skipping the kubectl check");
            return;
        }
    };
    // Per pod (kustomize sorts its output), the images and policies of its containers.
    let field = |pod: &str, name: &str| -> Vec<String> {
        let document = rendered.split("\n---\n").find(|d| d.contains(&format!("name: {pod}\n"))).unwrap_or("");
        let prefix = format!("{name}: ");
        document
            .lines()
            .filter_map(|l| l.trim().trim_start_matches("- ").strip_prefix(prefix.as_str()).map(str::to_string))
            .collect()
    };
    assert_eq!(field("a", "image"), ["example/a:1.0"], "{rendered}");
    assert_eq!(field("b", "image"), ["example/a:1.0", "example/a:1.0"], "{rendered}");
    assert_eq!(field("a", "imagePullPolicy"), ["IfNotPresent"], "{rendered}\n{rewritten}");
    assert_eq!(field("b", "imagePullPolicy"), ["Always", "Always"], "{rendered}\n{rewritten}");
}

#[test]
fn null_pull_secrets_are_replaced_by_the_list() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  imagePullSecrets: ~ # none yet\n  containers:\n  - name: a\n    image: nginx:1.25\n    imagePullPolicy: Always\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: q}\nspec: {imagePullSecrets: null, containers: [{name: a, image: nginx:1.25, imagePullPolicy: Always}]}\n";
    let expected = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  imagePullSecrets: # none yet\n  - name: reg\n  containers:\n  - name: a\n    image: nginx:1.25\n    imagePullPolicy: Always\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: q}\nspec: {imagePullSecrets: [{name: reg}], containers: [{name: a, image: nginx:1.25, imagePullPolicy: Always}]}\n";
    expect_applied("dev/pod.yaml", text, expected);
}

#[test]
fn pull_secrets_that_are_not_a_list_are_a_located_error() {
    for value in ["{}", "reg", "{name: reg}", "\"\""] {
        let text = format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n    imagePullPolicy: Always\n  imagePullSecrets: {value}\n");
        expect_refused("dev/pod.yaml", &text, 9, 3, &["`imagePullSecrets`", "not a list", "`reg`"]);
    }
}

#[test]
fn pull_secret_entries_that_are_not_name_mappings_are_a_located_error() {
    // Found by the `manifest` fuzz target (`- -`): kubectl refuses such entries, and
    // extending the list after one would bury it under a list that looks fixed.
    for (entries, what) in
        [("\n  - regcred", "a scalar"), ("\n  - -", "a sequence"), (" [{name: a}, [b]]", "a sequence")]
    {
        let text = format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n    imagePullPolicy: Always\n  imagePullSecrets:{entries}\n");
        let column = if entries.starts_with(' ') { 33 } else { 5 };
        let line = if entries.starts_with(' ') { 9 } else { 10 };
        expect_refused(
            "dev/pod.yaml",
            &text,
            line,
            column,
            &["an entry of `imagePullSecrets`", what, "`reg`", "- name:"],
        );
    }
}

#[test]
fn a_policy_that_is_not_a_scalar_is_a_located_error() {
    for value in ["[]", "{}", "[Always]"] {
        let text = format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n    imagePullPolicy: {value}\n  imagePullSecrets: [{{name: reg}}]\n");
        expect_refused("dev/pod.yaml", &text, 8, 22, &["`imagePullPolicy`", "container `a`", "scalar"]);
    }
}

// Item 17 (part): an absolute kustomize resource is an error, never read.

#[test]
fn an_absolute_kustomize_resource_is_a_located_error_and_never_read() {
    let outside = repo(&[("secret.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: outside-token-abc}\nspec:\n  containers:\n  - {name: a, image: nginx:1.25}\n")]);
    let absolute = outside.path().join("secret.yaml");
    let kustomization = format!("resources:\n- deploy.yaml\n- {}\n", absolute.display());
    // In an environment's overlay (`dev/**`) it is an error; in a
    // kustomization no environment builds, a warning and "not covered".
    let dir = repo(&[
        ("dev/app/kustomization.yaml", &kustomization),
        ("dev/app/deploy.yaml", GOOD),
        ("plugins/x/kustomization.yaml", &kustomization),
        ("plugins/x/deploy.yaml", GOOD),
        ("dev/good.yaml", GOOD),
        ("rules.yaml", RULES),
    ]);
    for args in [&["apply"][..], &["check", "--diff"][..], &["explain"][..]] {
        let output = run(dir.path(), args);
        assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
        let err = stderr(&output);
        assert!(
            err.contains("error: dev/app/kustomization.yaml:3:3: ") && err.contains("absolute paths are not portable"),
            "{err}"
        );
        assert!(
            err.contains("warning: plugins/x/kustomization.yaml:3:3: ")
                && err
                    .contains("not covered: plugins/x/kustomization.yaml:3: Kustomization `plugins/x`: does not build"),
            "{err}"
        );
        let all = format!("{}{err}", String::from_utf8_lossy(&output.stdout));
        assert!(!all.contains("outside-token-abc"), "nothing of the absolute resource is read: {all}");
    }
    assert!(!std::fs::read_to_string(&absolute).unwrap().contains("imagePullPolicy"), "nothing outside is written");
    assert!(read(dir.path(), "dev/good.yaml").contains("imagePullPolicy: Always"));
}

// ---------------------------------------------------------------------------
// Item 15: a file git tracks although `.gitignore` matches it is still a
// manifest (git commits its changes); an untracked ignored file stays out.

#[test]
fn a_tracked_file_that_gitignore_matches_is_still_processed() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n  - name: app\n    image: nginx:1.27\n";
    let dir = repo(&[
        ("rules.yaml", RULES),
        (".gitignore", "dev/generated/\n"),
        ("dev/generated/tracked.yaml", pod),
        ("dev/generated/untracked.yaml", pod),
    ]);
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git").args(args).current_dir(dir.path()).output().expect("git runs");
        assert!(out.status.success(), "git {args:?}\n{}", describe(&out));
    };
    git(&["init", "-q"]);
    git(&["add", "-f", ".gitignore", "rules.yaml", "dev/generated/tracked.yaml"]);
    let out = run(dir.path(), &["apply"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(read(dir.path(), "dev/generated/tracked.yaml").contains("imagePullPolicy: Always"), "{}", describe(&out));
    assert_eq!(read(dir.path(), "dev/generated/untracked.yaml"), pod, "an untracked ignored file stays untouched");
}
