//! Kustomize trees, checked against the real renderer: for every case under
//! `tests/kustomize/<case>/` (a `rules.yaml` and a `repo/`), for
//! `examples/kustomize`, and for every kustomization of `../shared/corpus`,
//! the test copies the tree, runs `pullsmith apply`, and then runs
//! `kubectl kustomize` on every overlay (a kustomization whose path matches an
//! environment of the rules). Every rendered container must have the policy,
//! and every rendered pod spec the secrets, that the rules call for — computed
//! here from the rules, independently of pullsmith: the environment from the
//! overlay's path, image rules on the *rendered* image (after the overlay's
//! `images:` transformer). Nothing else in the rendered output may change.
//!
//! On the text side: shared files (reached from several environments, or from
//! an overlay of another environment) are byte-identical; an overlay's
//! kustomization only gains lines; the only new files are the generated
//! `pullsmith*.patch.yaml` in overlays; a second `apply` changes nothing and
//! `check` then exits 0.
//!
//! Bad kustomizations (a cycle, a missing resource, invalid YAML) exit 3 with
//! `error: <path>:<line>:<column>: …` and nothing written for that overlay.
//!
//! `kubectl` (with kustomize v5) is on the CI image; without it these tests
//! print a note and pass. Without `../shared` the corpus sweep does the same.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use globset::{Glob, GlobMatcher};
use rayon::prelude::*;
use yaml_rust2::{Yaml, YamlEmitter, YamlLoader};

use crate::util::{copy_tree, describe, project_root, pullsmith, read_tree, shared_dir};

type Tree = Vec<(String, Vec<u8>)>;

const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// Problems shown when a test fails; the rest are counted.
const SHOW_PROBLEMS: usize = 40;

// ---------------------------------------------------------------------------
// The cases

/// What a good case expects beyond the checks every case gets.
struct Case {
    name: &'static str,
    /// Paths (files, or directories ending in `/`) shared by several
    /// environments: byte-identical after `apply`.
    shared: &'static [&'static str],
    /// Files reached from overlays of one environment only: edited in place.
    edited_in_place: &'static [&'static str],
    /// Overlays that reach only files of their own: no generated patch, and
    /// their kustomization is byte-identical.
    overlays_without_patch: &'static [&'static str],
    /// Custom kinds (lower case) for which every overlay holds a JSON 6902
    /// patch file `pullsmith.<kind>.<name>.patch.yaml`.
    json6902_kinds: &'static [&'static str],
    /// Remote references: each is warned about; rendering happens with the
    /// lines holding them removed.
    remote: &'static [&'static str],
    /// Kustomization files and runs of lines in them (a key, its items and the
    /// commented-out items that follow): after `apply` each run is still
    /// consecutive, and the `patches:` key comes after it, not inside it.
    kept_before_patches: &'static [(&'static str, &'static [&'static str])],
}

const NO_CASE: Case = Case {
    name: "",
    shared: &[],
    edited_in_place: &[],
    overlays_without_patch: &[],
    json6902_kinds: &[],
    remote: &[],
    kept_before_patches: &[],
};

const GOOD_CASES: &[Case] = &[
    Case {
        name: "nested-bases",
        shared: &["base/", "platform/"],
        edited_in_place: &["regions/eu/geo-proxy.yaml"],
        ..NO_CASE
    },
    Case {
        name: "component",
        shared: &["base/", "components/tracing/"],
        edited_in_place: &["components/profiler/profiler.yaml"],
        ..NO_CASE
    },
    Case { name: "existing-patches", shared: &["base/"], ..NO_CASE },
    Case { name: "names-namespaces", shared: &["apps/", "tools/"], ..NO_CASE },
    Case { name: "images-transformer", shared: &["base/"], ..NO_CASE },
    Case { name: "custom-rollout", shared: &["base/"], json6902_kinds: &["rollout"], ..NO_CASE },
    Case {
        name: "single-env-base",
        shared: &["apps/web/base/"],
        edited_in_place: &["apps/billing/base/deployment.yaml"],
        overlays_without_patch: &["apps/billing/overlays/prod"],
        ..NO_CASE
    },
    Case { name: "cross-env-directory", shared: &["base/", "overlays/prod/addons/worker.yaml"], ..NO_CASE },
    Case {
        name: "remote-resource",
        shared: &["base/"],
        remote: &[
            "https://raw.githubusercontent.com/acme/platform/v1.2.0/deploy/network-policy.yaml",
            "github.com/acme/platform//deploy/prod?ref=v1.2.0",
        ],
        ..NO_CASE
    },
    // Issue 8: overlays whose build the generated patches must follow.
    Case {
        name: "component-delete-replace",
        shared: &["base/", "components/without-loadgenerator/", "components/frontend-v2/"],
        ..NO_CASE
    },
    Case { name: "cross-env-nested", shared: &["base/", "shared/", "overlays/dev/tools/", "deploy/base/"], ..NO_CASE },
    Case {
        name: "images-disagree",
        edited_in_place: &["clusters/dev/deployment.yaml"],
        overlays_without_patch: &["clusters/dev"],
        ..NO_CASE
    },
    Case { name: "patch-added-containers", shared: &["manifests/kustomize/base/"], ..NO_CASE },
    Case {
        name: "commented-trailing-list",
        shared: &["kustomize/base/", "kustomize/components/"],
        kept_before_patches: &[
            (
                "kustomize/overlays/prod/kustomization.yaml",
                &[
                    "components:",
                    "- ../../components/non-public-frontend",
                    "# - ../../components/cymbal-branding",
                    "# - ../../components/memorystore",
                    "# These must be run last and in this order",
                    "# - ../../components/container-images-tag",
                    "# - ../../components/container-images-registry",
                ],
            ),
            (
                "kustomize/overlays/dev/kustomization.yaml",
                &["components:", "# - ../../components/cymbal-branding", "# - ../../components/non-public-frontend"],
            ),
        ],
        ..NO_CASE
    },
    Case { name: "kustomization-shapes", shared: &["base/"], ..NO_CASE },
    Case { name: "targeted-reorder", shared: &["src/ledger/k8s/base/", "src/components/"], ..NO_CASE },
    // Issue 10, item 4: custom kinds known without `workloads:`.
    Case {
        name: "builtin-rollout",
        shared: &["base/"],
        json6902_kinds: &["rollout", "statefulset", "scaledjob", "service"],
        ..NO_CASE
    },
];

/// A case whose `apply` must fail for one overlay.
struct BadCase {
    name: &'static str,
    /// The overlay whose kustomization must stay byte-identical.
    overlay_kustomization: &'static str,
    /// Any of these paths may be the one the error names.
    error_paths: &'static [&'static str],
    /// The line the error must point at, when it is known.
    error_line: Option<usize>,
    /// A plain manifest outside kustomize that is still fixed (the run goes on).
    still_fixed: &'static str,
}

const BAD_CASES: &[BadCase] = &[
    BadCase {
        name: "bad-cycle",
        overlay_kustomization: "overlays/dev/kustomization.yaml",
        error_paths: &["base-a/kustomization.yaml", "base-b/kustomization.yaml", "overlays/dev/kustomization.yaml"],
        error_line: None,
        still_fixed: "plain/app.yaml",
    },
    BadCase {
        name: "bad-missing-resource",
        overlay_kustomization: "overlays/prod/kustomization.yaml",
        error_paths: &["overlays/prod/kustomization.yaml"],
        // `  - hpa.yaml`
        error_line: Some(5),
        still_fixed: "plain/app.yaml",
    },
    BadCase {
        name: "bad-invalid-yaml",
        overlay_kustomization: "overlays/staging/kustomization.yaml",
        error_paths: &["overlays/staging/kustomization.yaml"],
        error_line: None,
        still_fixed: "plain/app.yaml",
    },
];

fn cases_root() -> PathBuf {
    project_root().join("tests/kustomize")
}

#[test]
fn kustomize_nested_bases() {
    run_good_case(&GOOD_CASES[0]);
}

#[test]
fn kustomize_component() {
    run_good_case(&GOOD_CASES[1]);
}

#[test]
fn kustomize_existing_patches() {
    run_good_case(&GOOD_CASES[2]);
}

#[test]
fn kustomize_names_namespaces() {
    run_good_case(&GOOD_CASES[3]);
}

#[test]
fn kustomize_images_transformer() {
    run_good_case(&GOOD_CASES[4]);
}

#[test]
fn kustomize_custom_rollout() {
    run_good_case(&GOOD_CASES[5]);
}

#[test]
fn kustomize_single_env_base() {
    run_good_case(&GOOD_CASES[6]);
}

#[test]
fn kustomize_cross_env_directory() {
    run_good_case(&GOOD_CASES[7]);
}

#[test]
fn kustomize_remote_resource_is_warned_about_and_skipped() {
    run_good_case(&GOOD_CASES[8]);
}

/// Issue 10, item 4: an Argo Rollout, an OpenKruise StatefulSet, a KEDA
/// ScaledJob and a Knative Service in a shared base, with no `workloads:`.
#[test]
fn kustomize_builtin_rollout() {
    run_good_case(&GOOD_CASES[16]);
}

/// `$patch: delete` and `$patch: replace` in components, a rename and
/// `namePrefix`/`nameSuffix`: patches name only what exists.
#[test]
fn kustomize_component_delete_replace() {
    run_good_case(&GOOD_CASES[9]);
}

/// A shared dev kustomization inside prod's overlay, and a dev overlay built
/// on top of the prod overlay.
#[test]
fn kustomize_cross_env_nested() {
    run_good_case(&GOOD_CASES[10]);
}

/// One manifest, two overlays of one environment, `images:` that disagree.
#[test]
fn kustomize_images_disagree() {
    run_good_case(&GOOD_CASES[11]);
}

/// Containers that strategic-merge and JSON 6902 patches (files and inline) bring.
#[test]
fn kustomize_patch_added_containers() {
    run_good_case(&GOOD_CASES[12]);
}

/// `patches:` goes after the commented-out items that end a `components:` list.
#[test]
fn kustomize_commented_trailing_list() {
    run_good_case(&GOOD_CASES[13]);
}

/// Kustomizations with a BOM, `patches: ~`, `patches: []` and a trailing `---`.
#[test]
fn kustomize_kustomization_shapes() {
    run_good_case(&GOOD_CASES[14]);
}

/// Targeted and inline strategic-merge patches that move a container first.
#[test]
fn kustomize_targeted_reorder() {
    run_good_case(&GOOD_CASES[15]);
}

#[test]
fn kustomize_bad_cycle() {
    run_bad_case(&BAD_CASES[0]);
}

#[test]
fn kustomize_bad_missing_resource() {
    run_bad_case(&BAD_CASES[1]);
}

#[test]
fn kustomize_bad_invalid_yaml() {
    run_bad_case(&BAD_CASES[2]);
}

/// Every directory under `tests/kustomize/` is run by one of the tests above.
#[test]
fn kustomize_every_case_directory_is_tested() {
    let mut listed: BTreeSet<&str> = GOOD_CASES.iter().map(|c| c.name).collect();
    listed.extend(BAD_CASES.iter().map(|c| c.name));
    for (i, case) in GOOD_CASES.iter().enumerate() {
        assert!(!GOOD_CASES[..i].iter().any(|c| c.name == case.name), "case {} listed twice", case.name);
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(cases_root())
        .expect("tests/kustomize exists")
        .map(|e| e.expect("dir entry"))
        .filter(|e| e.file_type().expect("file type").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let on_disk: BTreeSet<&str> = on_disk.iter().map(String::as_str).collect();
    assert_eq!(on_disk, listed, "tests/kustomize/ and the case tables in tests/cli/kustomize.rs disagree");
    for name in &on_disk {
        let dir = cases_root().join(name);
        assert!(dir.join("rules.yaml").is_file(), "{name}: rules.yaml is missing");
        assert!(dir.join("repo").is_dir(), "{name}: repo/ is missing");
    }
}

// ---------------------------------------------------------------------------
// examples/kustomize

const EXAMPLE_CASE: Case = Case {
    name: "examples/kustomize",
    shared: &["base/", "components/"],
    edited_in_place: &["overlays/dev/debug-toolbox.yaml"],
    ..NO_CASE
};

/// The example as the README uses it: `pullsmith apply examples/kustomize`,
/// with the `.pullsmith.yaml` inside it picked up (no `--rules`).
#[test]
fn kustomize_examples_tree() {
    if !kubectl_available() {
        return;
    }
    let input = project_root().join("examples/kustomize");
    let rules_path = input.join(".pullsmith.yaml");
    let rules = Rules::load(&rules_path);
    let overlays = overlays(&input, &rules);
    let names: Vec<&str> = overlays.iter().map(|o| o.dir.as_str()).collect();
    assert_eq!(names, ["overlays/dev", "overlays/prod", "overlays/staging"], "the example's overlays");
    check_good_tree(&EXAMPLE_CASE, &input, &rules, None);
}

/// Changing the rules rewrites the generated patches in place: the
/// kustomizations keep their one reference and the render follows the new rules.
#[test]
fn kustomize_examples_rules_change_rewrites_patches_in_place() {
    if !kubectl_available() {
        return;
    }
    let input = project_root().join("examples/kustomize");
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("repo");
    copy_tree(&input, &repo);
    let first = Rules::load(&input.join(".pullsmith.yaml"));
    let out = run_pullsmith(&repo, Some(&input.join(".pullsmith.yaml")), "apply");
    assert_eq!(out.status.code(), Some(0), "first apply\n{}", describe(&out));
    let after_first = read_tree(&repo);

    let second_text = RULES_CHANGED;
    let second_path = tmp.path().join("rules-changed.yaml");
    std::fs::write(&second_path, second_text).expect("write rules");
    let second = Rules::parse(second_text, &second_path);
    let out = run_pullsmith(&repo, Some(&second_path), "apply");
    assert_eq!(out.status.code(), Some(0), "apply with changed rules\n{}", describe(&out));
    let after_second = read_tree(&repo);

    let mut problems = Vec::new();
    for overlay in overlays(&repo, &first) {
        let kustomization = format!("{}/{}", overlay.dir, overlay.file);
        if file(&after_first, &kustomization) != file(&after_second, &kustomization) {
            problems.push(format!("{kustomization}: changed again although its patch reference was already there"));
        }
    }
    let names_first: BTreeSet<&str> = after_first.iter().map(|(p, _)| p.as_str()).collect();
    let names_second: BTreeSet<&str> = after_second.iter().map(|(p, _)| p.as_str()).collect();
    if names_first != names_second {
        let differ: Vec<&&str> = names_first.symmetric_difference(&names_second).collect();
        problems.push(format!("files appeared or disappeared when only the rules changed: {differ:?}"));
    }
    for overlay in overlays(&repo, &second) {
        match kustomize_build(&repo.join(&overlay.dir)) {
            Ok(text) => {
                let docs = load_docs(&text, &overlay.dir);
                check_rendered(&overlay, &docs, &second, &mut problems);
            }
            Err(err) => {
                problems.push(format!("{}: kubectl kustomize failed after the rules changed: {err}", overlay.dir))
            }
        }
    }
    assert_no_problems("examples/kustomize with changed rules", &problems);
}

/// Rules that change prod's policy and secret, and drop the image secret.
const RULES_CHANGED: &str = r#"version: 1
environments:
  dev:
    paths: ["overlays/dev/**"]
    imagePullPolicy: Always
  staging:
    paths: ["overlays/staging/**"]
    imagePullPolicy: Always
  prod:
    paths: ["overlays/prod/**"]
    imagePullPolicy: Never
    imagePullSecrets: [regcred-prod-2025]
images:
  - match: "*:latest"
    imagePullPolicy: Always
"#;

/// Rules under which nothing is needed: environments without a policy or secrets.
const RULES_NOTHING_NEEDED: &str = r#"version: 1
environments:
  dev:
    paths: ["overlays/dev/**"]
  staging:
    paths: ["overlays/staging/**"]
  prod:
    paths: ["overlays/prod/**"]
"#;

/// When nothing is needed any more, the generated files and their references
/// go away: every kustomization is back to its original bytes.
#[test]
fn kustomize_examples_patches_removed_when_no_longer_needed() {
    if !kubectl_available() {
        return;
    }
    let input = project_root().join("examples/kustomize");
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("repo");
    copy_tree(&input, &repo);
    let before = read_tree(&repo);
    let out = run_pullsmith(&repo, Some(&input.join(".pullsmith.yaml")), "apply");
    assert_eq!(out.status.code(), Some(0), "first apply\n{}", describe(&out));
    assert!(
        read_tree(&repo).iter().any(|(p, _)| is_generated_patch(p)),
        "the first apply generates patches (checked in detail by kustomize_examples_tree)"
    );

    let rules_path = tmp.path().join("rules-nothing.yaml");
    std::fs::write(&rules_path, RULES_NOTHING_NEEDED).expect("write rules");
    let out = run_pullsmith(&repo, Some(&rules_path), "apply");
    assert_eq!(out.status.code(), Some(0), "apply with rules needing nothing\n{}", describe(&out));
    let after = read_tree(&repo);

    let mut problems = Vec::new();
    for (path, _) in after.iter().filter(|(p, _)| is_generated_patch(p)) {
        problems.push(format!("{path}: generated patch still there although nothing is needed"));
    }
    for (path, bytes) in before.iter().filter(|(p, _)| is_kustomization_file(p)) {
        if file(&after, path) != Some(bytes.as_slice()) {
            problems.push(format!("{path}: not back to its original bytes\n{}", line_diff(bytes, file(&after, path))));
        }
    }
    for overlay in overlays(&repo, &Rules::load(&input.join(".pullsmith.yaml"))) {
        if let Err(err) = kustomize_build(&repo.join(&overlay.dir)) {
            problems.push(format!("{}: kubectl kustomize failed: {err}", overlay.dir));
        }
    }
    assert_no_problems("examples/kustomize after removing every need", &problems);
}

// ---------------------------------------------------------------------------
// Running a good case

fn run_good_case(case: &Case) {
    if !kubectl_available() {
        return;
    }
    let dir = cases_root().join(case.name);
    let rules_path = dir.join("rules.yaml");
    let rules = Rules::load(&rules_path);
    check_good_tree(case, &dir.join("repo"), &rules, Some(&rules_path));
}

/// One overlay: its directory and kustomization file name (repo-relative) and environment.
struct Overlay {
    dir: String,
    file: String,
    env: Environment,
    /// Another kustomization of the same environment that pulls this one in
    /// (directly or not). Then this one carries no generated patch (SPEC,
    /// "Kustomize": only the overlays no other kustomization of their
    /// environment includes do), so its own render is not checked against the
    /// rules: the including overlay's is.
    included_by: Option<String>,
}

/// The whole set of checks on a copy of `input`.
fn check_good_tree(case: &Case, input: &Path, rules: &Rules, rules_path: Option<&Path>) {
    let name = case.name;
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("repo");
    copy_tree(input, &repo);
    let before = read_tree(&repo);
    let overlays = overlays(&repo, rules);
    assert!(!overlays.is_empty(), "{name}: no kustomization matches an environment of the rules");

    // The input must render, or the case itself is broken.
    let render_dir = tmp.path().join("render");
    let mut rendered_before = BTreeMap::new();
    for overlay in &overlays {
        let text = render(&repo, &render_dir, &overlay.dir, case.remote)
            .unwrap_or_else(|err| panic!("{name}: the input of {} does not build: {err}", overlay.dir));
        rendered_before.insert(overlay.dir.clone(), load_docs(&text, &overlay.dir));
    }

    // `check` on the input: changes are needed, and nothing is written.
    let out = run_pullsmith(&repo, rules_path, "check");
    assert_eq!(out.status.code(), Some(1), "{name}: `check` before `apply` must find changes\n{}", describe(&out));
    assert!(read_tree(&repo) == before, "{name}: `check` wrote files");

    // The first apply.
    let out = run_pullsmith(&repo, rules_path, "apply");
    assert_eq!(out.status.code(), Some(0), "{name}: first apply\n{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{name}: apply panicked\n{}", describe(&out));
    let after = read_tree(&repo);

    let mut problems = Vec::new();
    for url in case.remote {
        if !stderr.lines().any(|l| l.contains("warning") && l.contains(url)) {
            problems.push(format!("remote resource `{url}`: no `warning:` line names it"));
        }
    }
    check_text(case, &overlays, &before, &after, &mut problems);
    for overlay in &overlays {
        match render(&repo, &render_dir, &overlay.dir, case.remote) {
            Ok(text) => {
                let docs = load_docs(&text, &overlay.dir);
                if check_rendered(overlay, &docs, rules, &mut problems) == 0 {
                    problems.push(format!("{}: renders no container, so the case checks nothing", overlay.dir));
                }
                check_only_pull_settings_changed(overlay, &rendered_before[&overlay.dir], &docs, rules, &mut problems);
            }
            Err(err) => problems.push(format!("{}: kubectl kustomize fails after apply: {err}", overlay.dir)),
        }
    }

    // Idempotence, then a clean `check`.
    let out = run_pullsmith(&repo, rules_path, "apply");
    if out.status.code() != Some(0) {
        problems.push(format!("second apply: want exit 0\n{}", describe(&out)));
    }
    let again = read_tree(&repo);
    for (path, bytes) in &again {
        match file(&after, path) {
            Some(first) if first == bytes.as_slice() => {}
            Some(first) => {
                problems.push(format!("{path}: changed by the second apply\n{}", line_diff(first, Some(bytes))))
            }
            None => problems.push(format!("{path}: created by the second apply")),
        }
    }
    for (path, _) in &after {
        if file(&again, path).is_none() {
            problems.push(format!("{path}: removed by the second apply"));
        }
    }
    let out = run_pullsmith(&repo, rules_path, "check");
    if out.status.code() != Some(0) {
        problems.push(format!("`check` after apply: want exit 0\n{}", describe(&out)));
    }
    assert_no_problems(name, &problems);
}

/// Text-side checks of the first apply.
fn check_text(case: &Case, overlays: &[Overlay], before: &Tree, after: &Tree, problems: &mut Vec<String>) {
    let carriers = overlays.iter().filter(|o| o.included_by.is_none());
    let overlay_dirs: BTreeSet<&str> = carriers.clone().map(|o| o.dir.as_str()).collect();
    let overlay_files: BTreeSet<String> = carriers.map(|o| format!("{}/{}", o.dir, o.file)).collect();
    let included: BTreeMap<String, &str> =
        overlays.iter().filter_map(|o| Some((format!("{}/{}", o.dir, o.file), o.included_by.as_deref()?))).collect();

    for (path, old) in before {
        let Some(new) = file(after, path) else {
            problems.push(format!("{path}: removed by apply"));
            continue;
        };
        let shared = case.shared.iter().any(|s| if s.ends_with('/') { path.starts_with(s) } else { path == s });
        if shared && new != old.as_slice() {
            problems.push(format!("{path}: shared, but edited\n{}", line_diff(old, Some(new))));
        }
        if case.edited_in_place.contains(&path.as_str()) && new == old.as_slice() {
            problems.push(format!("{path}: owned by one environment, but not edited in place"));
        }
        if is_kustomization_file(path) {
            if overlay_files.contains(path) {
                if let Some(missing) = lost_line(old, new) {
                    problems.push(format!(
                        "{path}: the overlay's kustomization may only gain lines; `{missing}` is gone or moved\n{}",
                        line_diff(old, Some(new))
                    ));
                }
                check_kustomization_shape(path, old, new, problems);
            } else if let (Some(by), true) = (included.get(path), new != old.as_slice() && !shared) {
                problems.push(format!(
                    "{path}: `{by}` of the same environment includes this overlay, so only `{by}` carries \
                     patches; edited\n{}",
                    line_diff(old, Some(new))
                ));
            } else if new != old.as_slice() {
                problems
                    .push(format!("{path}: not an overlay's kustomization, but edited\n{}", line_diff(old, Some(new))));
            }
        }
    }
    for overlay in case.overlays_without_patch {
        let Some(o) = overlays.iter().find(|o| o.dir == *overlay) else {
            problems.push(format!("{overlay}: listed as an overlay, but it is none"));
            continue;
        };
        let path = format!("{}/{}", o.dir, o.file);
        if file(before, &path) != file(after, &path) {
            problems
                .push(format!("{path}: everything this overlay reaches is its own, so it needs no patch reference"));
        }
    }
    for (path, bytes) in after {
        if file(before, path).is_some() {
            continue;
        }
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        if let Some(o) = overlays.iter().find(|o| o.dir == dir && o.included_by.is_some()) {
            let by = o.included_by.as_deref().unwrap_or_default();
            problems.push(format!(
                "{path}: new file in an overlay that `{by}` of the same environment includes: \
                 only `{by}` carries patches"
            ));
            continue;
        }
        if !is_generated_patch(name) || !overlay_dirs.contains(dir) {
            problems.push(format!("{path}: new file, but not a generated patch in an overlay"));
            continue;
        }
        if case.overlays_without_patch.contains(&dir) {
            problems.push(format!("{path}: this overlay needs no generated patch"));
        }
        if !bytes.starts_with(b"#") {
            problems.push(format!("{path}: a generated patch starts with a comment saying it is generated"));
        }
        let text = String::from_utf8_lossy(bytes);
        if YamlLoader::load_from_str(&text).is_err() {
            problems.push(format!("{path}: not valid YAML"));
        }
        let kustomization = overlays.iter().find(|o| o.dir == dir).map(|o| format!("{}/{}", o.dir, o.file));
        let referenced = kustomization
            .as_deref()
            .and_then(|k| file(after, k))
            .is_some_and(|k| String::from_utf8_lossy(k).contains(name));
        if !referenced {
            problems.push(format!("{path}: not referenced from the overlay's kustomization"));
        }
    }
    for (path, lines) in case.kept_before_patches {
        check_kept_before_patches(path, lines, before, after, problems);
    }
    for kind in case.json6902_kinds {
        for overlay in overlays.iter().filter(|o| o.included_by.is_none()) {
            let prefix = format!("{}/pullsmith.{kind}.", overlay.dir);
            if !after.iter().any(|(p, _)| p.starts_with(&prefix) && p.ends_with(".patch.yaml")) {
                problems.push(format!("{}: no JSON 6902 patch file `pullsmith.{kind}.<name>.patch.yaml`", overlay.dir));
            }
        }
    }
}

/// An overlay's kustomization keeps its shape: a byte order mark stays first,
/// and a closing `---` stays last (nothing is appended after it, where it
/// would be a second document).
fn check_kustomization_shape(path: &str, old: &[u8], new: &[u8], problems: &mut Vec<String>) {
    const BOM: &[u8] = b"\xef\xbb\xbf";
    if old.starts_with(BOM) && !new.starts_with(BOM) {
        problems.push(format!("{path}: its byte order mark is gone"));
    }
    let last_line =
        |b: &[u8]| String::from_utf8_lossy(b).lines().rev().find(|l| !l.trim().is_empty()).map(str::to_string);
    if last_line(old).is_some_and(|l| l.trim_end() == "---") && last_line(new) != last_line(old) {
        problems.push(format!("{path}: ended with `---`, which no longer comes last\n{}", line_diff(old, Some(new))));
    }
}

/// `lines` run consecutively in `path` before and after `apply`, and the
/// `patches:` key comes after them after `apply`.
fn check_kept_before_patches(path: &str, lines: &[&str], before: &Tree, after: &Tree, problems: &mut Vec<String>) {
    let find = |tree: &Tree| -> Option<(Vec<String>, Option<usize>)> {
        let text: Vec<String> = String::from_utf8_lossy(file(tree, path)?).lines().map(str::to_string).collect();
        let at = text.windows(lines.len()).position(|w| w.iter().zip(lines).all(|(a, b)| a == b));
        Some((text, at))
    };
    let Some((_, Some(_))) = find(before) else {
        panic!("{path}: the case's input does not hold these lines together: {lines:#?}");
    };
    let Some((text, at)) = find(after) else {
        problems.push(format!("{path}: removed by apply"));
        return;
    };
    let Some(at) = at else {
        problems.push(format!(
            "{path}: these lines no longer follow each other (a `patches:` key went between them?):\n    \
             {}\n  the file now:\n    {}",
            lines.join("\n    "),
            text.join("\n    ")
        ));
        return;
    };
    let end = at + lines.len();
    let patches = text.iter().position(|l| l.starts_with("patches:"));
    if patches.is_some_and(|p| p < end) || patches.is_none() {
        problems.push(format!(
            "{path}: `patches:` should come after the lines ending with `{}`; the file now:\n    {}",
            lines.last().unwrap_or(&""),
            text.join("\n    ")
        ));
    }
}

// ---------------------------------------------------------------------------
// Running a bad case

fn run_bad_case(case: &BadCase) {
    let name = case.name;
    let dir = cases_root().join(name);
    let rules_path = dir.join("rules.yaml");
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("repo");
    copy_tree(&dir.join("repo"), &repo);
    let before = read_tree(&repo);
    if kubectl_available() {
        let overlay_dir = case.overlay_kustomization.rsplit_once('/').expect("in a directory").0;
        assert!(kustomize_build(&repo.join(overlay_dir)).is_err(), "{name}: kubectl kustomize builds the bad input");
    }

    let out = run_pullsmith(&repo, Some(&rules_path), "apply");
    assert_eq!(out.status.code(), Some(3), "{name}: want exit 3\n{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{name}: apply panicked\n{}", describe(&out));

    // `error: <path>:<line>:<column>: …`, the path one of the expected ones.
    let located = stderr.lines().filter(|l| l.starts_with("error: ")).find_map(|l| {
        case.error_paths.iter().find_map(|p| {
            let at = l.find(&format!("{p}:"))?;
            let mut rest = l[at + p.len() + 1..].splitn(3, ':');
            let line = rest.next()?.parse::<usize>().ok()?;
            let column = rest.next()?.parse::<usize>().ok()?;
            (line >= 1 && column >= 1).then(|| (p.to_string(), line, column, l.to_string()))
        })
    });
    let Some((path, line, _column, message)) = located else {
        panic!(
            "{name}: no `error: <path>:<line>:<column>: …` line naming one of {:?}\n{}",
            case.error_paths,
            describe(&out)
        );
    };
    if let Some(want) = case.error_line {
        assert_eq!(line, want, "{name}: the error should point at line {want} of {path}: `{message}`");
    }

    // Nothing written for the overlay: its kustomization, the files it reaches
    // (whose sharing cannot be known from a broken graph) and no generated patch
    // anywhere. The plain manifest elsewhere is still fixed.
    let after = read_tree(&repo);
    let mut problems = Vec::new();
    for (path, old) in &before {
        let new = file(&after, path);
        if path == case.still_fixed {
            if new == Some(old.as_slice()) {
                problems.push(format!(
                    "{path}: outside kustomize, must still be fixed (one bad overlay never stops the run)"
                ));
            }
        } else if new != Some(old.as_slice()) {
            problems.push(format!("{path}: written although its overlay is broken\n{}", line_diff(old, new)));
        }
    }
    for (path, _) in &after {
        if file(&before, path).is_none() {
            problems.push(format!("{path}: created although the overlay is broken"));
        }
    }
    assert!(
        problems.iter().all(|p| !p.starts_with(case.overlay_kustomization)),
        "{name}: the broken overlay's kustomization must stay byte-identical\n{}",
        problems.join("\n")
    );
    assert_no_problems(name, &problems);
}

// ---------------------------------------------------------------------------
// The corpus sweep

const SWEEP_RULES: &str = r#"version: 1
environments:
  dev:
    paths: ["**/dev/**", "**/development/**"]
    imagePullPolicy: Always
  staging:
    paths: ["**/staging/**", "**/stage/**"]
    imagePullPolicy: IfNotPresent
    imagePullSecrets: [reg-staging]
  prod:
    paths: ["**/prod/**", "**/production/**"]
    imagePullPolicy: IfNotPresent
    imagePullSecrets: [reg-prod]
images:
  - match: "*:latest"
    imagePullPolicy: Always
workloads:
  - kind: Rollout
    apiVersion: argoproj.io/v1alpha1
    podSpecPath: spec/template/spec
"#;

#[test]
fn kustomize_corpus_sweep_overlays_still_build_and_render_their_environment() {
    if !kubectl_available() {
        return;
    }
    let Some(shared) = shared_dir() else { return };
    let corpus = shared.join("corpus");
    if !corpus.is_dir() {
        eprintln!("note: {} is absent; skipping the kustomize corpus sweep", corpus.display());
        return;
    }
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("repo");
    copy_tree(&corpus, &repo);
    let rules_path = tmp.path().join("sweep-rules.yaml");
    std::fs::write(&rules_path, SWEEP_RULES).expect("write rules");
    let rules = Rules::parse(SWEEP_RULES, &rules_path);

    // Every kustomization that builds before the rewrite.
    let all = kustomizations(&repo);
    let reached = reached_kustomizations(&repo, &all);
    let built: Vec<(String, String, Result<String, String>)> =
        all.par_iter().map(|(dir, file)| (dir.clone(), file.clone(), kustomize_build(&repo.join(dir)))).collect();
    let n_failing_before = built.iter().filter(|(_, _, r)| r.is_err()).count();
    let builders: Vec<(String, String, Vec<Yaml>)> = built
        .into_iter()
        .filter_map(|(dir, file, r)| r.ok().map(|text| (dir.clone(), file, load_docs(&text, &dir))))
        .collect();

    let out = run_pullsmith(&repo, Some(&rules_path), "apply");
    assert!(matches!(out.status.code(), Some(0) | Some(3)), "corpus apply: want exit 0 or 3\n{}", describe(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "corpus apply panicked\n{}", describe(&out));
    let after_first = read_tree(&repo);

    #[derive(Default)]
    struct Row {
        overlays: usize,
        containers: usize,
    }
    let results: Vec<(String, Option<String>, usize, Vec<String>)> = builders
        .par_iter()
        .map(|(dir, file, docs_before)| {
            let mut problems = Vec::new();
            let envs = rules.environments_of(&format!("{dir}/{file}"));
            let rendered = match kustomize_build(&repo.join(dir)) {
                Ok(text) => load_docs(&text, dir),
                Err(err) => {
                    problems.push(format!("{dir}: built before the rewrite, fails after: {err}"));
                    return (dir.clone(), None, 0, problems);
                }
            };
            match envs.as_slice() {
                [env] => {
                    let included_by = included_by_same_environment(dir, env, &all, &reached, &rules);
                    let overlay = Overlay { dir: dir.clone(), file: file.clone(), env: env.clone(), included_by };
                    let n = check_rendered(&overlay, &rendered, &rules, &mut problems);
                    check_only_pull_settings_changed(&overlay, docs_before, &rendered, &rules, &mut problems);
                    (dir.clone(), Some(env.name.clone()), n, problems)
                }
                _ => (dir.clone(), None, 0, problems),
            }
        })
        .collect();

    // Idempotence over the whole corpus.
    let out = run_pullsmith(&repo, Some(&rules_path), "apply");
    let mut problems: Vec<String> = Vec::new();
    if !matches!(out.status.code(), Some(0) | Some(3)) {
        problems.push(format!("second corpus apply: want exit 0 or 3\n{}", describe(&out)));
    }
    let again = read_tree(&repo);
    if again != after_first {
        let changed: Vec<&str> = again
            .iter()
            .filter(|(p, b)| file(&after_first, p) != Some(b.as_slice()))
            .map(|(p, _)| p.as_str())
            .chain(after_first.iter().filter(|(p, _)| file(&again, p).is_none()).map(|(p, _)| p.as_str()))
            .collect();
        problems.push(format!("the second apply changed {} files: {:?}", changed.len(), changed));
    }

    let mut table: BTreeMap<String, Row> = BTreeMap::new();
    let mut n_just_built = 0;
    for (_, env, containers, p) in results {
        problems.extend(p);
        match env {
            Some(env) => {
                let row = table.entry(env).or_default();
                row.overlays += 1;
                row.containers += containers;
            }
            None => n_just_built += 1,
        }
    }
    eprintln!("kustomize corpus sweep ({:.1}s):", started.elapsed().as_secs_f64());
    eprintln!("  {:<10} {:>8} {:>11}", "env", "overlays", "containers");
    for (env, row) in &table {
        eprintln!("  {env:<10} {:>8} {:>11}", row.overlays, row.containers);
    }
    eprintln!(
        "  {} other kustomizations checked to still build; {} did not build before (skipped)",
        n_just_built, n_failing_before
    );
    let n_included = builders
        .iter()
        .filter(|(dir, file, _)| match rules.environments_of(&format!("{dir}/{file}")).as_slice() {
            [env] => included_by_same_environment(dir, env, &all, &reached, &rules).is_some(),
            _ => false,
        })
        .count();
    eprintln!(
        "  of the overlays, {n_included} are included by another of their environment: their renders are \
         checked to build, keep their containers in order and change only pull settings, not against the rules"
    );
    assert!(!table.is_empty(), "the corpus has overlays of dev, staging or prod");
    assert_no_problems("kustomize corpus sweep", &problems);
}

// ---------------------------------------------------------------------------
// Which overlays carry patches, read independently of pullsmith

/// For every kustomization directory, the kustomization directories it pulls
/// in through `resources`, legacy `bases` and `components`, transitively.
fn reached_kustomizations(root: &Path, all: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let dirs: BTreeSet<&str> = all.iter().map(|(d, _)| d.as_str()).collect();
    let mut direct: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (dir, file) in all {
        let text = std::fs::read_to_string(root.join(dir).join(file)).unwrap_or_default();
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let docs = YamlLoader::load_from_str(text).unwrap_or_default();
        let mut children = Vec::new();
        if let Some(doc) = docs.first() {
            for key in ["resources", "bases", "components"] {
                for entry in doc[key].as_vec().map(Vec::as_slice).unwrap_or_default() {
                    let Some(child) = entry.as_str().and_then(|e| join_relative(dir, e)) else { continue };
                    if dirs.contains(child.as_str()) && !children.contains(&child) {
                        children.push(child);
                    }
                }
            }
        }
        direct.insert(dir.as_str(), children);
    }
    let mut out = BTreeMap::new();
    for dir in &dirs {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut todo: Vec<&str> = direct.get(dir).map(|c| c.iter().map(String::as_str).collect()).unwrap_or_default();
        while let Some(next) = todo.pop() {
            if seen.insert(next.to_string()) {
                todo.extend(
                    direct.get(next).map(|c| c.iter().map(String::as_str).collect::<Vec<_>>()).unwrap_or_default(),
                );
            }
        }
        out.insert(dir.to_string(), seen);
    }
    out
}

/// `reference` (a kustomization entry) relative to the repo-relative `dir`;
/// `None` for a remote reference or one leaving the repository.
fn join_relative(dir: &str, reference: &str) -> Option<String> {
    if reference.contains("://") || reference.contains("?ref=") || reference.starts_with("github.com/") {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in reference.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// Another kustomization of `env` that pulls `dir` in, if any.
fn included_by_same_environment(
    dir: &str,
    env: &Environment,
    all: &[(String, String)],
    reached: &BTreeMap<String, BTreeSet<String>>,
    rules: &Rules,
) -> Option<String> {
    all.iter()
        .filter(|(other, _)| other != dir && reached.get(other).is_some_and(|r| r.contains(dir)))
        .find(|(other, file)| rules.environments_of(&format!("{other}/{file}")).iter().any(|e| e.name == env.name))
        .map(|(other, _)| other.clone())
}

// ---------------------------------------------------------------------------
// Rules, read independently of pullsmith

#[derive(Clone, Debug)]
struct Environment {
    name: String,
    policy: Option<String>,
    secrets: Vec<String>,
}

struct ImageRule {
    patterns: Vec<String>,
    policy: Option<String>,
    secrets: Vec<String>,
}

struct Workload {
    kind: String,
    api_version: Option<String>,
    pod_spec_path: Vec<String>,
}

struct Rules {
    environments: Vec<(Environment, Vec<GlobMatcher>)>,
    images: Vec<ImageRule>,
    workloads: Vec<Workload>,
}

impl Rules {
    fn load(path: &Path) -> Rules {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        Rules::parse(&text, path)
    }

    fn parse(text: &str, path: &Path) -> Rules {
        let docs = YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc = &docs[0];
        let strings = |y: &Yaml| -> Vec<String> {
            match y {
                Yaml::String(s) => vec![s.clone()],
                Yaml::Array(a) => a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect(),
                _ => Vec::new(),
            }
        };
        let mut environments = Vec::new();
        if let Some(h) = doc["environments"].as_hash() {
            for (name, env) in h {
                let paths = strings(&env["paths"]);
                let matchers = paths
                    .iter()
                    .map(|p| {
                        Glob::new(p).unwrap_or_else(|e| panic!("{}: glob {p}: {e}", path.display())).compile_matcher()
                    })
                    .collect();
                let environment = Environment {
                    name: name.as_str().expect("environment names are strings").to_string(),
                    policy: env["imagePullPolicy"].as_str().map(str::to_string),
                    secrets: strings(&env["imagePullSecrets"]),
                };
                environments.push((environment, matchers));
            }
        }
        let images = doc["images"]
            .as_vec()
            .map(|v| {
                v.iter()
                    .map(|r| ImageRule {
                        patterns: strings(&r["match"]),
                        policy: r["imagePullPolicy"].as_str().map(str::to_string),
                        secrets: strings(&r["imagePullSecrets"]),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let workloads = doc["workloads"]
            .as_vec()
            .map(|v| {
                v.iter()
                    .map(|w| Workload {
                        kind: w["kind"].as_str().expect("workload kind").to_string(),
                        api_version: w["apiVersion"].as_str().map(str::to_string),
                        pod_spec_path: w["podSpecPath"]
                            .as_str()
                            .expect("podSpecPath")
                            .split('/')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Rules { environments, images, workloads }
    }

    /// The environments whose `paths` match a repo-relative path.
    fn environments_of(&self, rel: &str) -> Vec<Environment> {
        self.environments.iter().filter(|(_, m)| m.iter().any(|g| g.is_match(rel))).map(|(e, _)| e.clone()).collect()
    }

    /// The policy a container with the rendered `image` must have, if any.
    fn wanted_policy<'a>(&'a self, env: &'a Environment, image: &str) -> Option<&'a str> {
        self.images
            .iter()
            .find(|r| r.policy.is_some() && image_matches(&r.patterns, image))
            .and_then(|r| r.policy.as_deref())
            .or(env.policy.as_deref())
    }

    /// The secrets a pod spec whose containers run `images` must have.
    fn wanted_secrets(&self, env: &Environment, images: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let from_images = self.images.iter().filter(|r| images.iter().any(|i| image_matches(&r.patterns, i)));
        for s in env.secrets.iter().chain(from_images.flat_map(|r| r.secrets.iter())) {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }
}

/// The forms an image reference is matched in: as written, with an implied
/// `:latest` when it has neither tag nor digest, and fully qualified.
fn image_forms(image: &str) -> Vec<String> {
    let last = image.rsplit('/').next().unwrap_or(image);
    let tagged = if image.contains('@') || last.contains(':') { image.to_string() } else { format!("{image}:latest") };
    let qualified = match tagged.split_once('/') {
        Some((first, rest)) if first == "docker.io" && !rest.contains('/') => format!("docker.io/library/{rest}"),
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => tagged.clone(),
        Some(_) => format!("docker.io/{tagged}"),
        None => format!("docker.io/library/{tagged}"),
    };
    vec![image.to_string(), tagged, qualified]
}

fn image_matches(patterns: &[String], image: &str) -> bool {
    let forms = image_forms(image);
    patterns.iter().any(|p| forms.iter().any(|f| wildcard(p.as_bytes(), f.as_bytes())))
}

/// `*` spans any characters (slashes included), `?` one; the rest is literal.
fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| wildcard(rest, &text[i..])),
        Some((b'?', rest)) => !text.is_empty() && wildcard(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && wildcard(rest, &text[1..]),
    }
}

// ---------------------------------------------------------------------------
// Overlays and rendering

/// Every kustomization below `root`: (repo-relative directory, file name).
fn kustomizations(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, _) in read_tree(root) {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        if KUSTOMIZATION_FILES.contains(&name) && !out.iter().any(|(d, _): &(String, String)| d == dir) {
            out.push((dir.to_string(), name.to_string()));
        }
    }
    out
}

/// The kustomizations whose path matches exactly one environment.
fn overlays(root: &Path, rules: &Rules) -> Vec<Overlay> {
    let all = kustomizations(root);
    let reached = reached_kustomizations(root, &all);
    let mut out: Vec<Overlay> = all
        .iter()
        .filter_map(|(dir, file)| {
            let envs = rules.environments_of(&format!("{dir}/{file}"));
            assert!(envs.len() <= 1, "{dir}: matches several environments: {envs:?}");
            let env = envs.into_iter().next()?;
            let included_by = included_by_same_environment(dir, &env, &all, &reached, rules);
            Some(Overlay { dir: dir.clone(), file: file.clone(), env, included_by })
        })
        .collect();
    out.sort_by(|a, b| a.dir.cmp(&b.dir));
    out
}

pub(crate) fn kubectl_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    let available = *AVAILABLE.get_or_init(|| {
        std::process::Command::new("kubectl").args(["version", "--client"]).output().is_ok_and(|o| o.status.success())
    });
    if !available {
        eprintln!("note: kubectl is not installed; skipping a kustomize test");
    }
    available
}

pub(crate) fn kustomize_build(dir: &Path) -> Result<String, String> {
    let out = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run kubectl: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err.lines().filter(|l| !l.starts_with("# Warning")).collect::<Vec<_>>().join("\n"))
    }
}

/// Renders `overlay` of `repo`. With remote references, renders a scratch
/// copy (in `scratch`) whose kustomizations lack the lines holding them.
fn render(repo: &Path, scratch: &Path, overlay: &str, remote: &[&str]) -> Result<String, String> {
    if remote.is_empty() {
        return kustomize_build(&repo.join(overlay));
    }
    if scratch.exists() {
        std::fs::remove_dir_all(scratch).expect("clear scratch dir");
    }
    copy_tree(repo, scratch);
    for (dir, file) in kustomizations(scratch) {
        let path = scratch.join(&dir).join(&file);
        let text = std::fs::read_to_string(&path).expect("read kustomization");
        let kept: String = text.split_inclusive('\n').filter(|l| !remote.iter().any(|r| l.contains(r))).collect();
        std::fs::write(&path, kept).expect("write kustomization");
    }
    kustomize_build(&scratch.join(overlay))
}

fn load_docs(text: &str, what: &str) -> Vec<Yaml> {
    let docs = YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("{what}: kubectl output is not YAML: {e}"));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// `kind namespace/name` of a rendered document.
fn doc_key(doc: &Yaml) -> String {
    format!(
        "{} {} {}/{}",
        doc["apiVersion"].as_str().unwrap_or("?"),
        doc["kind"].as_str().unwrap_or("?"),
        doc["metadata"]["namespace"].as_str().unwrap_or(""),
        doc["metadata"]["name"].as_str().unwrap_or("?")
    )
}

/// Paths (from the document) of the pod specs a document carries.
fn pod_spec_paths(doc: &Yaml, rules: &Rules) -> Vec<Vec<String>> {
    let kind = doc["kind"].as_str().unwrap_or("");
    let api_version = doc["apiVersion"].as_str().unwrap_or("");
    let builtin: Option<&[&str]> = match kind {
        "Pod" if api_version == "v1" => Some(&["spec"]),
        "PodTemplate" if api_version == "v1" => Some(&["template", "spec"]),
        "ReplicationController" if api_version == "v1" => Some(&["spec", "template", "spec"]),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" if api_version.starts_with("apps/") => {
            Some(&["spec", "template", "spec"])
        }
        "Job" if api_version.starts_with("batch/") => Some(&["spec", "template", "spec"]),
        "CronJob" if api_version.starts_with("batch/") => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        // Custom kinds pullsmith knows without `workloads:` (SPEC, "Built-in workloads").
        "Rollout" if api_version.starts_with("argoproj.io/") => Some(&["spec", "template", "spec"]),
        "Service" if api_version.starts_with("serving.knative.dev/") => Some(&["spec", "template", "spec"]),
        "CloneSet" | "StatefulSet" | "DaemonSet" if api_version.starts_with("apps.kruise.io/") => {
            Some(&["spec", "template", "spec"])
        }
        "ScaledJob" if api_version.starts_with("keda.sh/") => Some(&["spec", "jobTargetRef", "template", "spec"]),
        _ => None,
    };
    // A `workloads:` entry replaces the built-in path of its kind.
    let configured =
        rules.workloads.iter().any(|w| w.kind == kind && w.api_version.as_deref().is_none_or(|a| a == api_version));
    let builtin = builtin.filter(|_| !configured);
    let mut out = Vec::new();
    if let Some(path) = builtin {
        out.push(path.iter().map(|s| s.to_string()).collect());
    }
    for w in &rules.workloads {
        if w.kind == kind && w.api_version.as_deref().is_none_or(|a| a == api_version) {
            out.push(w.pod_spec_path.clone());
        }
    }
    if kind == "List" {
        if let Some(items) = doc["items"].as_vec() {
            for (i, item) in items.iter().enumerate() {
                for p in pod_spec_paths(item, rules) {
                    let mut full = vec!["items".to_string(), i.to_string()];
                    full.extend(p);
                    out.push(full);
                }
            }
        }
    }
    out
}

fn at<'a>(mut y: &'a Yaml, path: &[String]) -> &'a Yaml {
    for seg in path {
        y = match (y, seg.parse::<usize>()) {
            (Yaml::Array(a), Ok(i)) => a.get(i).unwrap_or(&Yaml::BadValue),
            _ => &y[seg.as_str()],
        };
    }
    y
}

fn at_mut<'a>(mut y: &'a mut Yaml, path: &[String]) -> Option<&'a mut Yaml> {
    for seg in path {
        y = match y {
            Yaml::Array(a) => a.get_mut(seg.parse::<usize>().ok()?)?,
            Yaml::Hash(h) => h.get_mut(&Yaml::String(seg.clone()))?,
            _ => return None,
        };
    }
    Some(y)
}

fn secret_names(spec: &Yaml) -> Vec<String> {
    spec["imagePullSecrets"]
        .as_vec()
        .map(|v| v.iter().filter_map(|s| s["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// Checks every container and pod spec of a rendered overlay; returns the
/// number of containers checked. Every container must have an image (a patch
/// that names a container that is not there makes kustomize add one without).
/// The policy and secrets are checked for the overlays that carry patches;
/// an overlay that another of its environment includes is checked through
/// that one.
fn check_rendered(overlay: &Overlay, docs: &[Yaml], rules: &Rules, problems: &mut Vec<String>) -> usize {
    let mut n_containers = 0;
    for doc in docs {
        for path in pod_spec_paths(doc, rules) {
            let spec = at(doc, &path);
            if spec.as_hash().is_none() {
                continue;
            }
            let where_ = format!("{}: {} {}", overlay.dir, doc_key(doc), path.join("/"));
            let mut images = Vec::new();
            for list in CONTAINER_LISTS {
                for container in spec[list].as_vec().map(Vec::as_slice).unwrap_or_default() {
                    let name = container["name"].as_str().unwrap_or("?");
                    let Some(image) = container["image"].as_str() else {
                        problems.push(format!(
                            "{where_}: {list} `{name}` has no image: a patch names a container that is not there, \
                             so kustomize added an empty one"
                        ));
                        continue;
                    };
                    images.push(image.to_string());
                    n_containers += 1;
                    if overlay.included_by.is_some() {
                        continue;
                    }
                    let Some(want) = rules.wanted_policy(&overlay.env, image) else { continue };
                    let got = container["imagePullPolicy"].as_str();
                    if got != Some(want) {
                        problems.push(format!(
                            "{where_}: {list} `{name}` ({image}): imagePullPolicy {got:?}, want {want:?} (env {})",
                            overlay.env.name
                        ));
                    }
                }
            }
            if images.is_empty() || overlay.included_by.is_some() {
                continue;
            }
            let got = secret_names(spec);
            for want in rules.wanted_secrets(&overlay.env, &images) {
                if !got.contains(&want) {
                    problems
                        .push(format!("{where_}: imagePullSecrets {got:?} lacks `{want}` (env {})", overlay.env.name));
                }
            }
            let unique: BTreeSet<&String> = got.iter().collect();
            if unique.len() != got.len() {
                problems.push(format!("{where_}: imagePullSecrets has duplicates: {got:?}"));
            }
        }
    }
    n_containers
}

/// The rendered output differs from the one before `apply` only in container
/// `imagePullPolicy` and pod `imagePullSecrets`; existing secrets are kept,
/// and every container list keeps its names in their order.
fn check_only_pull_settings_changed(
    overlay: &Overlay,
    before: &[Yaml],
    after: &[Yaml],
    rules: &Rules,
    problems: &mut Vec<String>,
) {
    // The stripped document, its secrets, its container names per list, and
    // the stripped document with every container list sorted by name.
    type Stripped = (Yaml, Vec<Vec<String>>, Vec<(String, Vec<String>)>, Yaml);
    let strip = |docs: &[Yaml]| -> BTreeMap<String, Stripped> {
        let mut out = BTreeMap::new();
        for doc in docs {
            let mut d = doc.clone();
            let mut secrets = Vec::new();
            let mut orders = Vec::new();
            for path in pod_spec_paths(doc, rules) {
                secrets.push(secret_names(at(doc, &path)));
                for list in CONTAINER_LISTS {
                    let names = at(doc, &path)[list]
                        .as_vec()
                        .map(|v| v.iter().map(|c| c["name"].as_str().unwrap_or("?").to_string()).collect())
                        .unwrap_or_default();
                    orders.push((format!("{}/{list}", path.join("/")), names));
                }
                let Some(Yaml::Hash(spec)) = at_mut(&mut d, &path) else { continue };
                spec.remove(&Yaml::String("imagePullSecrets".into()));
                for list in CONTAINER_LISTS {
                    if let Some(Yaml::Array(items)) = spec.get_mut(&Yaml::String(list.into())) {
                        for item in items {
                            if let Yaml::Hash(c) = item {
                                c.remove(&Yaml::String("imagePullPolicy".into()));
                            }
                        }
                    }
                }
            }
            // A HelmRelease's values may gain the pull keys of its chart.
            crate::util::strip_helm_pull_values(&mut d);
            let mut sorted = d.clone();
            for path in pod_spec_paths(doc, rules) {
                let Some(Yaml::Hash(spec)) = at_mut(&mut sorted, &path) else { continue };
                for list in CONTAINER_LISTS {
                    if let Some(Yaml::Array(items)) = spec.get_mut(&Yaml::String(list.into())) {
                        items.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
                    }
                }
            }
            out.insert(doc_key(doc), (d, secrets, orders, sorted));
        }
        out
    };
    let old = strip(before);
    let new = strip(after);
    for key in old.keys().filter(|k| !new.contains_key(*k)) {
        problems.push(format!("{}: `{key}` is no longer rendered", overlay.dir));
    }
    for key in new.keys().filter(|k| !old.contains_key(*k)) {
        problems.push(format!("{}: `{key}` is rendered now but was not before", overlay.dir));
    }
    for (key, (old_doc, old_secrets, old_orders, old_sorted)) in &old {
        let Some((new_doc, new_secrets, new_orders, new_sorted)) = new.get(key) else { continue };
        for ((list, old_names), (_, new_names)) in old_orders.iter().zip(new_orders) {
            if old_names != new_names {
                let what = if old_names.iter().collect::<BTreeSet<_>>() == new_names.iter().collect::<BTreeSet<_>>() {
                    "container order changed"
                } else {
                    "containers changed"
                };
                problems.push(format!(
                    "{}: `{key}` {list}: {what}: [{}] -> [{}]",
                    overlay.dir,
                    old_names.join(", "),
                    new_names.join(", ")
                ));
            }
        }
        // Only reordered: the message above says it all.
        if old_doc != new_doc && old_sorted != new_sorted {
            let (old_text, new_text) = (emit(old_doc), emit(new_doc));
            problems.push(format!(
                "{}: `{key}` changed beyond imagePullPolicy/imagePullSecrets (both removed here):\n{}",
                overlay.dir,
                line_diff(old_text.as_bytes(), Some(new_text.as_bytes()))
            ));
        }
        for (old_names, new_names) in old_secrets.iter().zip(new_secrets) {
            let kept: Vec<&String> = new_names.iter().filter(|n| old_names.contains(n)).collect();
            if kept != old_names.iter().collect::<Vec<_>>() {
                problems.push(format!(
                    "{}: `{key}`: existing imagePullSecrets {old_names:?} not kept in order: {new_names:?}",
                    overlay.dir
                ));
            }
        }
    }
}

fn emit(doc: &Yaml) -> String {
    let mut out = String::new();
    YamlEmitter::new(&mut out).dump(doc).expect("emit YAML");
    out
}

// ---------------------------------------------------------------------------
// Small helpers

fn run_pullsmith(repo: &Path, rules: Option<&Path>, command: &str) -> Output {
    let mut cmd = pullsmith();
    cmd.current_dir(repo).timeout(Duration::from_secs(120));
    if let Some(rules) = rules {
        cmd.arg("--rules").arg(rules);
    }
    cmd.arg(command).output().expect("pullsmith runs")
}

fn file<'a>(tree: &'a Tree, path: &str) -> Option<&'a [u8]> {
    tree.iter().find(|(p, _)| p == path).map(|(_, b)| b.as_slice())
}

fn is_kustomization_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    KUSTOMIZATION_FILES.contains(&name)
}

/// `pullsmith.patch.yaml` or `pullsmith.<kind>.<name>.patch.yaml`.
fn is_generated_patch(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.starts_with("pullsmith.") && name.ends_with(".patch.yaml")
}

/// The first line of `old` that is not found, in order, in `new`: `None`
/// when `new` is `old` with lines added. A `patches:` key with a null or
/// empty value (`patches: ~`, `patches: []`) may become a list.
fn lost_line(old: &[u8], new: &[u8]) -> Option<String> {
    let old = String::from_utf8_lossy(old);
    let new = String::from_utf8_lossy(new);
    let mut new_lines = new.lines();
    for line in old.lines() {
        let empty_patches = line
            .strip_prefix("patches:")
            .map(|v| v.split('#').next().unwrap_or("").trim())
            .filter(|v| ["", "~", "null", "Null", "NULL", "[]"].contains(v));
        let found = match empty_patches {
            Some(_) => new_lines.any(|n| n.starts_with("patches:")),
            None => new_lines.any(|n| n == line),
        };
        if !found {
            return Some(line.to_string());
        }
    }
    None
}

/// A short line diff for failure messages.
fn line_diff(old: &[u8], new: Option<&[u8]>) -> String {
    let Some(new) = new else { return "    (file removed)".to_string() };
    let old = String::from_utf8_lossy(old);
    let new = String::from_utf8_lossy(new);
    similar::TextDiff::from_lines(old.as_ref(), new.as_ref())
        .unified_diff()
        .context_radius(2)
        .to_string()
        .lines()
        .take(40)
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_no_problems(what: &str, problems: &[String]) {
    if problems.is_empty() {
        return;
    }
    let shown: Vec<&str> = problems.iter().take(SHOW_PROBLEMS).map(String::as_str).collect();
    let more = problems.len().saturating_sub(SHOW_PROBLEMS);
    panic!(
        "{what}: {} problems\n{}{}",
        problems.len(),
        shown.join("\n"),
        if more > 0 { format!("\n… and {more} more") } else { String::new() }
    );
}

#[test]
fn kustomize_explain_shows_what_overlays_pull_in_and_patch() {
    // A copy outside any git repository: paths are relative to the tree itself.
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&project_root().join("examples/kustomize"), dir.path());
    let output = pullsmith().arg("explain").arg(dir.path()).output().expect("pullsmith runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("overlay overlays/prod (environment `prod`)"), "{text}");
    assert!(text.contains("pulls in base/web.yaml: shared with other environments, patched here"), "{text}");
    assert!(
        text.lines().any(|l| l.contains("Deployment web container `envoy`")
            && l.contains("-> IfNotPresent in overlays/prod/pullsmith.patch.yaml")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains("Deployment web init container `migrate`")),
        "an init container is called one\n{text}"
    );
    assert!(text.contains("patched here (Deployment web)"), "the objects patched are named\n{text}");
    assert!(text.lines().any(|l| l.starts_with("base/web.yaml")), "a shared file has its own entry\n{text}");
    assert!(text.contains("shared by the overlays `overlays/dev`, `overlays/prod`, `overlays/staging`"), "{text}");
}

#[test]
fn kustomize_secret_generators_define_pull_secrets() {
    let dir = crate::util::repo(&[
        ("base/kustomization.yaml", "resources:\n- app.yaml\n"),
        (
            "base/app.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.25\n",
        ),
        (
            "overlays/prod/kustomization.yaml",
            "resources:\n- ../../base\nsecretGenerator:\n- name: regcred-prod\n  type: kubernetes.io/dockerconfigjson\n  files:\n  - .dockerconfigjson=config.json\n",
        ),
        ("overlays/prod/config.json", "{}\n"),
        ("overlays/dev/kustomization.yaml", "resources:\n- ../../base\n"),
        (
            "rules.yaml",
            "version: 1\nenvironments:\n  prod: {paths: [\"overlays/prod/**\"], imagePullPolicy: IfNotPresent, imagePullSecrets: [regcred-prod]}\n  dev: {paths: [\"overlays/dev/**\"], imagePullPolicy: Always, imagePullSecrets: [regcred-dev]}\n",
        ),
    ]);
    let root = dir.path();
    let output = pullsmith().arg("--rules").arg(root.join("rules.yaml")).arg("check").arg(root).output().expect("runs");
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("`regcred-prod` is not defined"), "a secretGenerator defines it\n{stderr}");
    assert!(stderr.contains("`regcred-dev` is not defined"), "nothing defines the dev secret\n{stderr}");
}

/// A change a generated patch carries is located at the shared base (the
/// file a pull request holds) and names its overlay; `patchLine` still
/// points into the generated patch, as written.
#[test]
fn kustomize_json_changes_are_located_in_the_base_and_point_into_the_generated_patches() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&project_root().join("examples/kustomize"), dir.path());
    let output = pullsmith().args(["apply", "--format", "json"]).arg(dir.path()).output().expect("pullsmith runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let mut checked = 0;
    for file in report["files"].as_array().expect("files") {
        let path = file["path"].as_str().expect("path");
        if !path.ends_with("pullsmith.patch.yaml") {
            continue;
        }
        let text = std::fs::read_to_string(dir.path().join(path)).expect("generated file written");
        let overlay = path.trim_end_matches("/pullsmith.patch.yaml");
        for change in file["changes"].as_array().expect("changes") {
            assert_eq!(change["overlay"], overlay, "{change}");
            let base = change["path"].as_str().expect("a located change names its file");
            assert!(!base.contains("pullsmith.") && base != path, "{change}");
            let base_text = std::fs::read_to_string(dir.path().join(base)).expect("the base exists");
            let base_line = change["line"].as_u64().expect("line") as usize;
            assert!(base_line >= 1 && base_text.lines().nth(base_line - 1).is_some(), "{base}:{base_line}");
            let line = change["patchLine"].as_u64().expect("patchLine") as usize;
            let field = change["field"].as_str().expect("field");
            let at = text.lines().nth(line - 1).expect("line exists");
            assert!(at.contains(field), "{path}:{line} `{at}` should set {field}");
            if let Some(container) = change["container"].as_str() {
                let before: Vec<&str> = text.lines().take(line - 1).collect();
                let entry = before.iter().rev().find(|l| l.trim_start().starts_with("- name: "));
                assert_eq!(
                    entry.map(|l| l.trim_start().trim_start_matches("- name: ")),
                    Some(container),
                    "{path}:{line} belongs to container `{container}`"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 5, "generated patches carry changes: {checked}");
}

#[test]
fn kustomize_service_account_in_a_shared_base_is_named_in_the_warning() {
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: extra\nspec:\n  template:\n    spec:\n      serviceAccountName: runner\n      containers:\n      - name: app\n        image: nginx:1.25\n";
    let dir = crate::util::repo(&[
        ("base/kustomization.yaml", "resources:\n- sa.yaml\n"),
        ("base/sa.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: runner\n"),
        ("overlays/prod/kustomization.yaml", "resources:\n- ../../base\n- extra.yaml\n"),
        ("overlays/prod/extra.yaml", deployment),
        ("overlays/dev/kustomization.yaml", "resources:\n- ../../base\n"),
        (
            "rules.yaml",
            "version: 1\nenvironments:\n  prod: {paths: [\"overlays/prod/**\"], imagePullPolicy: IfNotPresent, imagePullSecrets: [regcred-prod], attachSecretsTo: serviceAccount}\n  dev: {paths: [\"overlays/dev/**\"], imagePullPolicy: Always}\n",
        ),
    ]);
    let root = dir.path();
    let output = pullsmith().arg("--rules").arg(root.join("rules.yaml")).arg("apply").arg(root).output().expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .contains("ServiceAccount `runner` is in `base/sa.yaml`, a kustomize base shared by several environments"),
        "{stderr}"
    );
    assert!(!stderr.contains("is not in the repository"), "{stderr}");
    let sa = std::fs::read_to_string(root.join("base/sa.yaml")).expect("read");
    assert_eq!(
        sa, "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: runner\n",
        "a shared base is never edited"
    );
}

// ---------------------------------------------------------------------------
// Issue 8, item 10: warnings and explain see the image as the overlay renders it.

/// Rules of the `images:` retag cases: `:latest` is pulled `Always`, prod `IfNotPresent`.
const RETAG_RULES: &str = "version: 1\nenvironments:\n  prod: {paths: [\"overlays/prod/**\"], imagePullPolicy: IfNotPresent}\n  dev: {paths: [\"overlays/dev/**\"], imagePullPolicy: Always}\nimages:\n  - match: \"*:latest\"\n    imagePullPolicy: Always\n";

/// A Deployment `name` whose one container runs `image`; `policy` is its
/// `imagePullPolicy` line, or empty.
fn retag_deployment(name: &str, image: &str, policy: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: {image}\n{policy}"
    )
}

fn run_with_rules(root: &Path, command: &str) -> Output {
    pullsmith().arg("--rules").arg(root.join("rules.yaml")).arg(command).arg(root).output().expect("pullsmith runs")
}

/// `base/` holds an app whose `:latest` image prod's overlay retags to
/// `v1.2.3`, and a ConfigMap; only prod pulls it in, so it is edited in place.
fn retag_repo(app_policy: &str) -> tempfile::TempDir {
    crate::util::repo(&[
        ("rules.yaml", RETAG_RULES),
        ("base/kustomization.yaml", "resources:\n- app.yaml\n- settings.yaml\n"),
        ("base/app.yaml", &retag_deployment("app", "registry.example/app:latest", app_policy)),
        ("base/settings.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  level: info\n"),
        (
            "overlays/prod/kustomization.yaml",
            "resources:\n- ../../base\nimages:\n- name: registry.example/app\n  newTag: v1.2.3\n",
        ),
    ])
}

#[test]
fn kustomize_explain_shows_the_rendered_image_and_warns_about_no_retagged_latest() {
    let dir = retag_repo("");
    let root = dir.path();
    let output = run_with_rules(root, "explain");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("pulled `IfNotPresent`"), "prod renders `v1.2.3`, not `:latest`\n{stderr}");
    assert!(!text.contains("warning"), "{text}");
    assert!(
        text.contains(
            "    container `app` (line 10): image `registry.example/app:latest` (rendered as `registry.example/app:v1.2.3` by `overlays/prod`)\n      imagePullPolicy: <unset> -> IfNotPresent: insert (decided by environment `prod` imagePullPolicy)\n"
        ),
        "{text}"
    );
    assert!(text.contains("  pulls in base/app.yaml: edited in place for `prod`\n"), "{text}");
    assert!(text.contains("  pulls in base/settings.yaml: no containers: nothing to set\n"), "{text}");

    // `apply` agrees with what explain said, and gives no warning either.
    let output = run_with_rules(root, "apply");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(!warns_beyond_unused_globs(&output), "{}", describe(&output));
    let app = std::fs::read_to_string(root.join("base/app.yaml")).expect("read");
    assert_eq!(app, retag_deployment("app", "registry.example/app:latest", "        imagePullPolicy: IfNotPresent\n"));
}

/// Whether stderr holds a warning other than RETAG_RULES' dev glob matching
/// no file (these trees have no dev overlay; that warning is tested elsewhere).
fn warns_beyond_unused_globs(output: &Output) -> bool {
    String::from_utf8_lossy(&output.stderr).lines().any(|l| l.contains("warning") && !l.contains("matches no file"))
}

#[test]
fn kustomize_explain_says_already_right_for_a_file_it_does_not_edit() {
    let dir = retag_repo("        imagePullPolicy: IfNotPresent\n");
    let output = run_with_rules(dir.path(), "explain");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("  pulls in base/app.yaml: already right for `prod`\n"), "{text}");
    assert!(!text.contains("edited in place"), "nothing is edited\n{text}");
    assert!(text.contains("      imagePullPolicy: IfNotPresent -> IfNotPresent: already right"), "{text}");
    assert!(!warns_beyond_unused_globs(&output), "{}", describe(&output));
}

#[test]
fn kustomize_explain_warns_about_an_image_an_overlay_retags_to_latest() {
    // `overwrite: false` keeps the written `IfNotPresent`, and prod renders `:latest`.
    let rules =
        RETAG_RULES.replace("imagePullPolicy: IfNotPresent}", "imagePullPolicy: IfNotPresent, overwrite: false}");
    let dir = crate::util::repo(&[
        ("rules.yaml", &rules),
        ("base/kustomization.yaml", "resources:\n- app.yaml\n"),
        (
            "base/app.yaml",
            &retag_deployment("app", "registry.example/app:1.0", "        imagePullPolicy: IfNotPresent\n"),
        ),
        (
            "overlays/prod/kustomization.yaml",
            "resources:\n- ../../base\nimages:\n- name: registry.example/app\n  newTag: latest\n",
        ),
    ]);
    let output = run_with_rules(dir.path(), "explain");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("  warning (line 10): image `registry.example/app:latest` (written `registry.example/app:1.0`, retagged by `overlays/prod`) is `:latest` or untagged but pulled `IfNotPresent`: nodes may run a stale build\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "image `registry.example/app:1.0` (rendered as `registry.example/app:latest` by `overlays/prod`)"
        ),
        "{text}"
    );
}

#[test]
fn kustomize_explain_says_patched_here_only_for_shared_files_it_patches() {
    let dir = crate::util::repo(&[
        ("rules.yaml", RETAG_RULES),
        ("base/kustomization.yaml", "resources:\n- app.yaml\n- service.yaml\n"),
        ("base/app.yaml", &retag_deployment("app", "registry.example/app:latest", "")),
        ("base/service.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: app\nspec:\n  ports:\n  - port: 80\n"),
        (
            "overlays/prod/kustomization.yaml",
            "resources:\n- ../../base\nimages:\n- name: registry.example/app\n  newTag: v1.2.3\n",
        ),
        ("overlays/dev/kustomization.yaml", "resources:\n- ../../base\n"),
    ]);
    let output = run_with_rules(dir.path(), "explain");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("pulled `IfNotPresent`"), "{}", describe(&output));
    for overlay in ["dev", "prod"] {
        let section: String = text
            .split("\n\n")
            .find(|s| s.starts_with(&format!("overlay overlays/{overlay} ")))
            .unwrap_or_else(|| panic!("a section for overlays/{overlay}\n{text}"))
            .to_string();
        assert!(
            section
                .contains("  pulls in base/app.yaml: shared with other environments, patched here (Deployment app)\n"),
            "{section}"
        );
        assert!(
            section.contains("  pulls in base/service.yaml: shared with other environments, nothing to patch here\n"),
            "{section}"
        );
    }
    assert!(
        text.contains("base/service.yaml\n  shared by the overlays `overlays/dev`, `overlays/prod`: never edited; no overlay needs to patch it\n"),
        "{text}"
    );
    assert!(
        text.contains("base/app.yaml\n  shared by the overlays `overlays/dev`, `overlays/prod`: never edited; the generated patches of `overlays/dev`, `overlays/prod` carry its settings\n"),
        "{text}"
    );
}

#[test]
fn kustomize_explain_says_not_written_for_an_overlay_with_an_error() {
    let dir = crate::util::repo(&[
        ("rules.yaml", RETAG_RULES),
        ("base/kustomization.yaml", "resources:\n- app.yaml\n"),
        ("base/app.yaml", &retag_deployment("app", "nginx:1.25", "")),
        // pullsmith cannot add its entry to a `patches:` that is not a list: nothing is written for prod.
        ("overlays/prod/kustomization.yaml", "resources:\n- ../../base\npatches: {}\n"),
        ("overlays/dev/kustomization.yaml", "resources:\n- ../../base\n"),
    ]);
    let output = run_with_rules(dir.path(), "explain");
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(
            "overlay overlays/prod (environment `prod`)\n  error: `patches:` is a mapping, not a list: no patch is written for this overlay\n  pulls in base/app.yaml: shared with other environments, needs a patch here (Deployment app), not written\n    Deployment app container `app` (base/app.yaml:9, image `nginx:1.25` as rendered): imagePullPolicy <unset> -> IfNotPresent in overlays/prod/pullsmith.patch.yaml (not written)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  pulls in base/app.yaml: shared with other environments, patched here (Deployment app)\n"),
        "dev is patched\n{text}"
    );
    assert!(
        text.contains("never edited; the generated patches of `overlays/dev` carry its settings (`overlays/prod` would need one, but an error keeps it from being written)\n"),
        "{text}"
    );
}
