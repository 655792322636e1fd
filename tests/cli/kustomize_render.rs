//! Overlay patches computed on what an overlay really renders, checked with
//! `kubectl kustomize` (issue 8): ServiceAccount secrets kept first when a
//! pod gets its own, and a kustomization that cannot be edited failing the
//! run instead of passing a gate. Without `kubectl`, the render checks print
//! a note and pass.

use yaml_rust2::YamlLoader;

use crate::kustomize::{kubectl_available, kustomize_build};
use crate::util::{describe, pullsmith, read_tree, repo};

const RULES: &str = "version: 1
environments:
  dev:
    paths: [\"overlays/dev/**\"]
    imagePullPolicy: Always
  prod:
    paths: [\"overlays/prod/**\"]
    imagePullPolicy: IfNotPresent
    imagePullSecrets: [regcred-prod]
";

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      serviceAccountName: web
      containers:
      - name: web
        image: ghcr.io/acme/web:1.4.2
";

const SERVICE_ACCOUNT: &str = "apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
imagePullSecrets:
- name: mirror-credentials
";

/// The pull secrets of the rendered Deployment `web` of `overlay`.
fn rendered_secrets(root: &std::path::Path, overlay: &str) -> Vec<String> {
    let text = kustomize_build(&root.join(overlay)).unwrap_or_else(|err| panic!("{overlay} builds: {err}"));
    let docs = YamlLoader::load_from_str(&text).expect("kubectl output parses");
    let web = docs.iter().find(|d| d["kind"].as_str() == Some("Deployment")).expect("renders the Deployment");
    let secrets = &web["spec"]["template"]["spec"]["imagePullSecrets"];
    secrets
        .as_vec()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .map(str::to_string)
        .collect::<Vec<_>>()
}

fn tree(with_account: bool) -> tempfile::TempDir {
    let base = if with_account { "resources:\n- web.yaml\n- sa.yaml\n" } else { "resources:\n- web.yaml\n" };
    repo(&[
        (".pullsmith.yaml", RULES),
        ("base/kustomization.yaml", base),
        ("base/web.yaml", DEPLOYMENT),
        ("base/sa.yaml", SERVICE_ACCOUNT),
        ("overlays/dev/kustomization.yaml", "resources:\n- ../../base\n"),
        ("overlays/prod/kustomization.yaml", "resources:\n- ../../base\nnamespace: shop\n"),
    ])
}

#[test]
fn overlay_patch_keeps_the_service_account_secrets_first() {
    let dir = tree(true);
    let out = pullsmith().arg("apply").arg(dir.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let patch = std::fs::read_to_string(dir.path().join("overlays/prod/pullsmith.patch.yaml")).expect("prod patch");
    assert!(
        patch.contains("imagePullSecrets:\n      - name: mirror-credentials\n      - name: regcred-prod\n"),
        "the ServiceAccount's secret comes first:\n{patch}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("may inherit"), "the ServiceAccount is in the render: no warning\n{stderr}");
    if !kubectl_available() {
        return;
    }
    assert_eq!(rendered_secrets(dir.path(), "overlays/prod"), ["mirror-credentials", "regcred-prod"]);
    // dev wants no secrets: the pod keeps inheriting.
    assert!(rendered_secrets(dir.path(), "overlays/dev").is_empty());
}

#[test]
fn overlay_patch_warns_when_the_service_account_is_not_rendered() {
    let dir = tree(false);
    let out = pullsmith().arg("check").arg(dir.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("may inherit")).collect();
    assert_eq!(warnings.len(), 1, "one warning, for prod only\n{stderr}");
    assert!(warnings[0].starts_with("warning: overlays/prod/kustomization.yaml: "), "{stderr}");
    assert!(warnings[0].contains("ServiceAccount `web` in namespace `shop`"), "{stderr}");
}

#[test]
fn a_kustomization_whose_patches_cannot_be_edited_fails_the_run() {
    let dir = tree(false);
    // A comment between `patches:` and its null on the next line: kubectl reads it, but there is no
    // place to put entries that keeps the user's comment where it is, so the overlay must fail the
    // gate instead of passing as if it were patched.
    let kustomization = "resources:\n- ../../base\nnamespace: shop\npatches: # none yet\n  ~\n";
    crate::util::write(dir.path(), "overlays/prod/kustomization.yaml", kustomization);
    let before = read_tree(dir.path());
    for command in ["check", "apply"] {
        let out = pullsmith().arg(command).arg(dir.path()).output().expect("runs");
        assert_eq!(out.status.code(), Some(3), "{command}\n{}", describe(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let error = stderr.lines().find(|l| l.starts_with("error: overlays/prod/kustomization.yaml:4:"));
        assert!(error.is_some(), "{command}: an error located at `patches:` names the kustomization\n{stderr}");
        assert!(!stderr.contains("kustomization.yaml: overlays/prod"), "the path is printed once\n{stderr}");
    }
    let after = read_tree(dir.path());
    let written: Vec<&str> = after
        .iter()
        .filter(|(path, bytes)| before.iter().find(|(p, _)| p == path).map(|(_, b)| b) != Some(bytes))
        .map(|(path, _)| path.as_str())
        .collect();
    assert!(written.iter().all(|p| p.starts_with("overlays/dev/")), "nothing written for prod: {written:?}");
    assert!(!written.is_empty(), "dev is still patched: the run goes on");
}

#[test]
fn a_kustomization_with_lone_cr_line_ends_is_refused_not_edited_a_line_off() {
    let dir = tree(false);
    let kustomization = "resources:\r- ../../base\rnamespace: shop\r";
    crate::util::write(dir.path(), "overlays/prod/kustomization.yaml", kustomization);
    let out = pullsmith().arg("apply").arg(dir.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error: overlays/prod/kustomization.yaml:1:11: lines end with a lone CR"), "{stderr}");
    let after = std::fs::read_to_string(dir.path().join("overlays/prod/kustomization.yaml")).expect("read");
    assert_eq!(after, kustomization, "left as it was");
    assert!(!dir.path().join("overlays/prod/pullsmith.patch.yaml").exists());
    assert!(dir.path().join("overlays/dev/pullsmith.patch.yaml").exists(), "the run goes on for dev");
}
