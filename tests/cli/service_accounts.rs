//! Pods and the pull secrets they inherit from their ServiceAccount (issue 8,
//! item 7). A pod without `imagePullSecrets` gets its ServiceAccount's from
//! the admission plugin; the moment it has a list of its own, it gets nothing
//! more. So when pullsmith gives a pod without secrets a list, the names its
//! ServiceAccount lists (`serviceAccountName`, else the deprecated
//! `serviceAccount`, else `default`, in the pod's environment and namespace)
//! come first, and a ServiceAccount that is not in the repository is warned
//! about once per environment, namespace and name.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::util::{describe, pullsmith, read_tree, repo};

const RULES: &str = "\
version: 1
environments:
  prod:
    paths: [\"prod/**\", \"overlays/prod/**\"]
    imagePullPolicy: IfNotPresent
    imagePullSecrets: [regcred-prod]
  staging:
    paths: [\"staging/**\"]
    imagePullPolicy: IfNotPresent
    imagePullSecrets: [regcred-staging]
  accounts:
    paths: [\"accounts/**\"]
    imagePullPolicy: IfNotPresent
    imagePullSecrets: [regcred-accounts]
    attachSecretsTo: serviceAccount
";

/// Every pull secret the tests name, so that no "not defined" warning is in the way.
const SECRETS: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: regcred-prod
---
apiVersion: v1
kind: Secret
metadata:
  name: other-reg
---
apiVersion: v1
kind: Secret
metadata:
  name: legacy-reg
---
apiVersion: v1
kind: Secret
metadata:
  name: default-reg
---
apiVersion: v1
kind: Secret
metadata:
  name: mine
";

const RUNNER: &str = "\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: runner
  namespace: shop
imagePullSecrets:
- name: other-reg
";

/// A Deployment in namespace `shop`; `pod_keys` are the pod spec's lines before `containers:`.
fn deployment(name: &str, namespace: &str, pod_keys: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {namespace}
spec:
  template:
    spec:
{pod_keys}      containers:
      - name: app
        image: nginx:1.25
"
    )
}

fn run(root: &Path, args: &[&str]) -> Output {
    pullsmith().arg("--rules").arg(root.join("rules.yaml")).args(args).arg(root).output().expect("pullsmith runs")
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|err| panic!("read {rel}: {err}"))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The warnings about ServiceAccounts and secrets: the shared rules name
/// environments that a given tree may not have, and "matches no file" for
/// those is another test's business.
fn warnings(output: &Output) -> Vec<String> {
    stderr(output)
        .lines()
        .filter(|l| l.starts_with("warning: ") && !l.contains("matches no file"))
        .map(str::to_string)
        .collect()
}

/// Runs `apply`, expects success, and checks that a second `apply` changes nothing.
fn apply_twice(root: &Path) -> Output {
    let first = run(root, &["apply"]);
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    let after_first = read_tree(root);
    let second = run(root, &["apply"]);
    assert_eq!(second.status.code(), Some(0), "{}", describe(&second));
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("files_changed=0 "),
        "the second apply changes nothing\n{}",
        describe(&second)
    );
    assert_eq!(read_tree(root), after_first, "apply is idempotent");
    first
}

#[test]
fn service_accounts_pod_without_secrets_keeps_what_it_inherited_first() {
    let app = deployment("web", "shop", "      serviceAccountName: runner\n");
    let dir = repo(&[
        ("rules.yaml", RULES),
        ("prod/secrets.yaml", SECRETS),
        ("prod/sa.yaml", RUNNER),
        ("prod/app.yaml", &app),
    ]);
    let root = dir.path();
    let output = apply_twice(root);
    assert_eq!(
        read(root, "prod/app.yaml"),
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      serviceAccountName: runner
      containers:
      - name: app
        image: nginx:1.25
        imagePullPolicy: IfNotPresent
      imagePullSecrets:
      - name: other-reg
      - name: regcred-prod
"
    );
    assert_eq!(read(root, "prod/sa.yaml"), RUNNER, "the ServiceAccount itself is not touched");
    assert_eq!(warnings(&output), Vec::<String>::new());
}

#[test]
fn service_accounts_pod_with_its_own_secrets_inherits_nothing() {
    let app =
        deployment("web", "shop", "      serviceAccountName: runner\n      imagePullSecrets:\n      - name: mine\n");
    let lonely = deployment(
        "lonely",
        "shop",
        "      serviceAccountName: nowhere\n      imagePullSecrets:\n      - name: mine\n",
    );
    let dir = repo(&[
        ("rules.yaml", RULES),
        ("prod/secrets.yaml", SECRETS),
        ("prod/sa.yaml", RUNNER),
        ("prod/app.yaml", &app),
        ("prod/lonely.yaml", &lonely),
    ]);
    let root = dir.path();
    let output = apply_twice(root);
    let text = read(root, "prod/app.yaml");
    assert!(text.contains("      imagePullSecrets:\n      - name: mine\n      - name: regcred-prod\n"), "{text}");
    assert!(!text.contains("other-reg"), "{text}");
    assert_eq!(warnings(&output), Vec::<String>::new(), "a pod with its own secrets inherited nothing");
}

#[test]
fn service_accounts_absent_one_is_warned_about_once() {
    let first = deployment("a", "shop", "      serviceAccountName: builder\n");
    let second = deployment("b", "shop", "      serviceAccountName: builder\n");
    let dir = repo(&[
        ("rules.yaml", RULES),
        ("prod/secrets.yaml", SECRETS),
        ("prod/a.yaml", &first),
        ("prod/b.yaml", &second),
    ]);
    let root = dir.path();
    let output = apply_twice(root);
    assert_eq!(
        warnings(&output),
        vec![
            "warning: prod/a.yaml:8: ServiceAccount `builder` in namespace `shop` of environment `prod` is not in the repository: the pods pullsmith gives pull secrets of their own stop inheriting its pull secrets and may lose some"
                .to_string()
        ]
    );
    for file in ["prod/a.yaml", "prod/b.yaml"] {
        let text = read(root, file);
        assert!(text.ends_with("      imagePullSecrets:\n      - name: regcred-prod\n"), "{file}\n{text}");
    }
    // Once the pods have secrets of their own, nothing is inherited any more: no warning.
    let again = run(root, &["check"]);
    assert_eq!(again.status.code(), Some(0), "{}", describe(&again));
    assert_eq!(warnings(&again), Vec::<String>::new());
}

#[test]
fn service_accounts_of_another_namespace_or_environment_do_not_count() {
    let elsewhere = RUNNER.replace("namespace: shop", "namespace: other");
    let app = deployment("web", "shop", "      serviceAccountName: runner\n");
    let dir = repo(&[
        ("rules.yaml", RULES),
        ("prod/secrets.yaml", SECRETS),
        ("prod/sa.yaml", &elsewhere),
        // The same name and namespace, in another environment.
        ("staging/sa.yaml", RUNNER),
        ("prod/app.yaml", &app),
    ]);
    let root = dir.path();
    let output = run(root, &["apply"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = read(root, "prod/app.yaml");
    assert!(text.ends_with("      imagePullSecrets:\n      - name: regcred-prod\n"), "{text}");
    let warned = warnings(&output);
    assert_eq!(
        warned
            .iter()
            .filter(|w| w
                .contains("ServiceAccount `runner` in namespace `shop` of environment `prod` is not in the repository"))
            .count(),
        1,
        "{warned:?}"
    );
    assert!(!stderr(&output).contains("`other`"), "{warned:?}");
}

#[test]
fn service_accounts_name_then_deprecated_field_then_default() {
    let account = |name: &str, secret: &str| {
        format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: shop\nimagePullSecrets:\n- name: {secret}\n")
    };
    let accounts = [account("runner", "other-reg"), account("legacy", "legacy-reg"), account("default", "default-reg")]
        .join("---\n");
    let named = deployment("named", "shop", "      serviceAccountName: runner\n      serviceAccount: legacy\n");
    let deprecated = deployment("deprecated", "shop", "      serviceAccount: legacy\n");
    let empty_name = deployment("empty-name", "shop", "      serviceAccountName: \"\"\n      serviceAccount: legacy\n");
    let unnamed = deployment("unnamed", "shop", "");
    let dir = repo(&[
        ("rules.yaml", RULES),
        ("prod/secrets.yaml", SECRETS),
        ("prod/accounts.yaml", &accounts),
        ("prod/named.yaml", &named),
        ("prod/deprecated.yaml", &deprecated),
        ("prod/empty-name.yaml", &empty_name),
        ("prod/unnamed.yaml", &unnamed),
    ]);
    let root = dir.path();
    let output = apply_twice(root);
    assert_eq!(warnings(&output), Vec::<String>::new());
    for (file, inherited) in [
        ("prod/named.yaml", "other-reg"),
        ("prod/deprecated.yaml", "legacy-reg"),
        ("prod/empty-name.yaml", "legacy-reg"),
        ("prod/unnamed.yaml", "default-reg"),
    ] {
        let text = read(root, file);
        let wanted = format!("      imagePullSecrets:\n      - name: {inherited}\n      - name: regcred-prod\n");
        assert!(text.ends_with(&wanted), "{file} should start its list with `{inherited}`\n{text}");
    }
}

#[test]
fn service_accounts_default_absent_is_warned_about_per_namespace() {
    let dir = repo(&[
        ("rules.yaml", RULES),
        ("prod/secrets.yaml", SECRETS),
        ("prod/a.yaml", &deployment("a", "shop", "")),
        ("prod/b.yaml", &deployment("b", "shop", "")),
        ("prod/c.yaml", &deployment("c", "web", "")),
    ]);
    let root = dir.path();
    let output = run(root, &["diff"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let warned = warnings(&output);
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert!(warned[0].starts_with("warning: prod/a.yaml:8: ServiceAccount `default` in namespace `shop` of environment `prod` is not in the repository"), "{warned:?}");
    assert!(warned[1].starts_with("warning: prod/c.yaml:8: ServiceAccount `default` in namespace `web` of environment `prod` is not in the repository"), "{warned:?}");
    // Nothing was written by `diff`.
    assert_eq!(read(root, "prod/a.yaml"), deployment("a", "shop", ""));
}

#[test]
fn service_accounts_kustomize_owned_pods_inherit_too() {
    let app = deployment("web", "shop", "      serviceAccountName: runner\n");
    let dir = repo(&[
        ("rules.yaml", RULES),
        ("apps/billing/kustomization.yaml", "resources:\n- app.yaml\n- sa.yaml\n- secrets.yaml\n"),
        ("apps/billing/app.yaml", &app),
        ("apps/billing/sa.yaml", RUNNER),
        ("apps/billing/secrets.yaml", SECRETS),
        ("overlays/prod/kustomization.yaml", "resources:\n- ../../apps/billing\n"),
    ]);
    let root = dir.path();
    let output = apply_twice(root);
    assert_eq!(warnings(&output), Vec::<String>::new());
    let text = read(root, "apps/billing/app.yaml");
    assert!(text.ends_with("      imagePullSecrets:\n      - name: other-reg\n      - name: regcred-prod\n"), "{text}");
}

#[test]
fn service_accounts_that_receive_secrets_are_unaffected() {
    let account = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: runner\n  namespace: shop\nimagePullSecrets:\n- name: other-reg\n";
    let app = deployment("web", "shop", "      serviceAccountName: runner\n");
    let dir = repo(&[
        ("rules.yaml", RULES),
        ("accounts/secrets.yaml", &SECRETS.replace("regcred-prod", "regcred-accounts")),
        ("accounts/sa.yaml", account),
        ("accounts/app.yaml", &app),
        ("accounts/other.yaml", &deployment("other", "shop", "      serviceAccountName: absent\n")),
    ]);
    let root = dir.path();
    let output = apply_twice(root);
    assert_eq!(
        read(root, "accounts/sa.yaml"),
        format!("{account}- name: regcred-accounts\n"),
        "the ServiceAccount gets the environment's secrets after its own"
    );
    assert!(!read(root, "accounts/app.yaml").contains("imagePullSecrets"), "pods get no secrets");
    let warned = warnings(&output);
    assert!(warned.iter().all(|w| !w.contains("stop inheriting")), "{warned:?}");
    assert!(warned.iter().any(|w| w.contains("ServiceAccount `absent`")), "{warned:?}");
}

#[test]
fn service_accounts_json_report_validates_and_names_the_rule_in_sarif() {
    let app = deployment("web", "shop", "      serviceAccountName: runner\n");
    let dir = repo(&[
        ("rules.yaml", RULES),
        ("prod/secrets.yaml", SECRETS),
        ("prod/sa.yaml", RUNNER),
        ("prod/app.yaml", &app),
        ("prod/other.yaml", &deployment("other", "shop", "      serviceAccountName: builder\n")),
    ]);
    let root = dir.path();
    let output = run(root, &["check", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let report: Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    crate::formats::assert_valid(&report);
    let app_file =
        report["files"].as_array().expect("files").iter().find(|f| f["path"] == "prod/app.yaml").expect("app changes");
    let secrets = app_file["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["field"] == "imagePullSecrets")
        .expect("a secrets change");
    assert_eq!(secrets["from"], Value::Null);
    assert_eq!(secrets["to"], serde_json::json!(["other-reg", "regcred-prod"]));
    assert_eq!(secrets["line"], 8);
    let warnings: Vec<&Value> = report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter(|w| !w["message"].as_str().unwrap_or_default().contains("matches no file"))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["path"], "prod/other.yaml");
    assert_eq!(warnings[0]["line"], 8);

    let output = run(root, &["check", "--format", "sarif"]);
    let sarif: Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let result = run["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["ruleId"] == "inherited-secrets")
        .expect("an inherited-secrets result");
    let index = result["ruleIndex"].as_u64().expect("index") as usize;
    assert_eq!(rules[index]["id"], "inherited-secrets");
}

#[test]
fn service_accounts_explain_names_what_is_inherited() {
    let app = deployment("web", "shop", "      serviceAccountName: runner\n");
    let dir = repo(&[
        ("rules.yaml", RULES),
        ("prod/secrets.yaml", SECRETS),
        ("prod/sa.yaml", RUNNER),
        ("prod/app.yaml", &app),
    ]);
    let root = dir.path();
    let output = run(root, &["explain"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(
            "    pull secrets (line 8): existing [], wanted [regcred-prod] -> pod, after [other-reg] inherited from ServiceAccount `runner`\n"
        ),
        "{text}"
    );
}
