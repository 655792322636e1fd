//! Issue 10, item 4: workloads beyond Kubernetes' own kinds. `*` segments in
//! a rules `podSpecPath`, Argo Workflows' container slots, and what the
//! generated kustomize patches do (and refuse to do) with these kinds. The
//! built-in kinds themselves are golden fixtures (`builtin-*`, `argo-*`).

use std::path::Path;

use crate::util::{describe, pullsmith, read_text as read, repo, run_with_dir_rules as run, stderr};

/// prod: `IfNotPresent` and pull secret `regcred`.
const PROD: &str = "version: 1\nenvironments:\n  prod:\n    paths: [\"prod/**\"]\n    imagePullPolicy: IfNotPresent\n    imagePullSecrets: [regcred]\n";

/// Rules `PROD` plus one workload of kind `Widget` at `path`.
fn widget_rules(path: &str) -> String {
    format!("{PROD}workloads:\n  - kind: Widget\n    podSpecPath: \"{path}\"\n")
}

/// Applies `widget` as `prod/widget.yaml` with a Widget workload at `path`; expects `expected`, then a clean check.
fn expect_widget(path: &str, widget: &str, expected: &str) {
    let rules = widget_rules(path);
    let dir = repo(&[("rules.yaml", rules.as_str()), ("prod/widget.yaml", widget)]);
    let output = run(dir.path(), &["apply"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(read(dir.path(), "prod/widget.yaml"), expected);
    let again = run(dir.path(), &["check"]);
    assert_eq!(again.status.code(), Some(0), "idempotent: {}", describe(&again));
}

#[test]
fn rules_validate_accepts_star_segments() {
    for path in ["spec/templates/*/template/spec", "*/template/spec", "*", "spec//template/spec/"] {
        let rules = widget_rules(path);
        let dir = repo(&[("rules.yaml", rules.as_str())]);
        let output =
            pullsmith().current_dir(dir.path()).args(["rules", "validate", "rules.yaml"]).output().expect("runs");
        assert_eq!(output.status.code(), Some(0), "`{path}`: {}", describe(&output));
    }
}

#[test]
fn star_as_the_first_segment_is_every_value_of_the_object() {
    expect_widget(
        "*/template/spec",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: a:1.0\n",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: a:1.0\n          imagePullPolicy: IfNotPresent\n      imagePullSecrets:\n        - name: regcred\n",
    );
}

#[test]
fn star_over_a_mapping_reaches_every_value() {
    expect_widget(
        "spec/variants/*/spec",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  variants:\n    blue:\n      spec:\n        containers:\n          - {name: a, image: a:1.0}\n    green:\n      spec:\n        containers:\n          - {name: a, image: a:2.0, imagePullPolicy: Always}\n",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  variants:\n    blue:\n      spec:\n        containers:\n          - {name: a, image: a:1.0, imagePullPolicy: IfNotPresent}\n        imagePullSecrets:\n          - name: regcred\n    green:\n      spec:\n        containers:\n          - {name: a, image: a:2.0, imagePullPolicy: IfNotPresent}\n        imagePullSecrets:\n          - name: regcred\n",
    );
}

#[test]
fn empty_segments_are_skipped() {
    expect_widget(
        "/spec//pod/",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  pod:\n    containers:\n      - name: a\n        image: a:1.0\n",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  pod:\n    containers:\n      - name: a\n        image: a:1.0\n        imagePullPolicy: IfNotPresent\n    imagePullSecrets:\n      - name: regcred\n",
    );
}

#[test]
fn star_over_a_scalar_or_missing_key_reaches_nothing() {
    let widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  templates: none\n";
    expect_widget("spec/templates/*/spec", widget, widget);
    expect_widget("spec/absent/*/spec", widget, widget);
}

#[test]
fn an_argo_container_that_is_a_list_is_an_error_for_its_file() {
    let text = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  templates:\n    - name: main\n      container:\n        - image: a:1.0\n";
    let dir = repo(&[("rules.yaml", PROD), ("prod/wf.yaml", text)]);
    let output = run(dir.path(), &["apply"]);
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    let err = stderr(&output);
    assert!(err.contains("error: prod/wf.yaml:7:7: `container` is not a mapping"), "{err}");
    assert_eq!(read(dir.path(), "prod/wf.yaml"), text);
}

#[test]
fn explain_names_the_argo_slot_of_each_container() {
    let text = "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: t}\nspec:\n  templates:\n    - name: a\n      container: {image: a:1.0}\n    - name: b\n      script: {image: b:1.0, source: echo}\n";
    let dir = repo(&[("rules.yaml", PROD), ("prod/t.yaml", text)]);
    let output = run(dir.path(), &["explain"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.contains("WorkflowTemplate t"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    for slot in ["container", "script"] {
        let at = lines.iter().position(|l| l.trim_start().starts_with(&format!("{slot} `"))).expect(slot);
        assert!(lines[at + 1].contains("<unset> -> IfNotPresent: insert"), "`{slot}`: {out}");
    }
}

/// A shared kustomize base holding `base` (file `base/app.yaml`), used by a dev and a prod overlay.
fn shared_base(base: &str, rules_extra: &str) -> tempfile::TempDir {
    let rules = format!(
        "version: 1\nenvironments:\n  dev:\n    paths: [\"overlays/dev/**\"]\n    imagePullPolicy: Always\n  prod:\n    paths: [\"overlays/prod/**\"]\n    imagePullPolicy: IfNotPresent\n{rules_extra}"
    );
    let overlay = "resources:\n  - ../../base\n";
    let dir = repo(&[
        ("rules.yaml", rules.as_str()),
        ("base/kustomization.yaml", "resources:\n  - app.yaml\n"),
        ("base/app.yaml", base),
        ("overlays/dev/kustomization.yaml", overlay),
        ("overlays/prod/kustomization.yaml", overlay),
    ]);
    dir
}

/// `apply` leaves the shared base and both overlays alone and warns, per overlay, with `why`.
fn expect_left_alone_with_warning(dir: &Path, base: &str, why: &str) {
    let output = run(dir, &["apply"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let err = stderr(&output);
    for overlay in ["overlays/dev", "overlays/prod"] {
        assert!(
            err.lines().any(|l| l.starts_with("warning:") && l.contains(overlay) && l.contains(why)),
            "no warning for {overlay} saying `{why}`:\n{err}"
        );
        assert_eq!(read(dir, &format!("{overlay}/kustomization.yaml")), "resources:\n  - ../../base\n");
        assert!(!dir.join(overlay).join("pullsmith.patch.yaml").exists(), "{overlay}: no patch on a guess");
    }
    assert_eq!(read(dir, "base/app.yaml"), base, "a shared base is never edited");
}

#[test]
fn a_shared_argo_workflow_template_is_warned_about_not_patched() {
    let base = "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata:\n  name: build\nspec:\n  templates:\n    - name: main\n      container:\n        image: ghcr.io/acme/build:1.0\n";
    let dir = shared_base(base, "");
    expect_left_alone_with_warning(
        dir.path(),
        base,
        "pullsmith does not generate overlay patches for the templates of an Argo workflow; its containers are left alone",
    );
}

#[test]
fn a_shared_object_with_several_pod_specs_is_warned_about_not_patched() {
    let base = "apiVersion: argoproj.io/v1alpha1\nkind: Experiment\nmetadata:\n  name: ab\nspec:\n  templates:\n    - name: a\n      template:\n        spec:\n          containers:\n            - name: a\n              image: a:1.0\n";
    let dir = shared_base(base, "workloads:\n  - kind: Experiment\n    podSpecPath: spec/templates/*/template/spec\n");
    expect_left_alone_with_warning(dir.path(), base, "generates overlay patches for one pod spec per object only");
}

/// The byte scan that decides which files are parsed (`manifest::worth_parsing`)
/// must not be fooled by a name YAML joins from two lines: in a
/// double-quoted scalar an escaped line break joins the halves with nothing
/// between them. Here a Secret so spelled defines the pull secret.
#[test]
fn kinds_joined_by_escaped_line_breaks_are_seen() {
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: a:1.0\n";
    let secret = "apiVersion: v1\nkind: \"Sec\\\n  ret\"\nmetadata: {name: regcred}\ntype: kubernetes.io/dockerconfigjson\ndata: {.dockerconfigjson: e30=}\n";
    let undefined = "pull secret `regcred` is not defined";
    let without = repo(&[("rules.yaml", PROD), ("prod/d.yaml", deployment)]);
    let output = run(without.path(), &["check"]);
    assert!(stderr(&output).contains(undefined), "{}", describe(&output));
    for newline in ["\n", "\r\n"] {
        let secret = secret.replace('\n', newline);
        let dir = repo(&[("rules.yaml", PROD), ("prod/d.yaml", deployment), ("prod/secret.yaml", &secret)]);
        let output = run(dir.path(), &["check"]);
        assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
        assert!(!stderr(&output).contains(undefined), "{newline:?}: {}", describe(&output));
    }
}
