//! Documents that cannot matter are parsed but not built
//! (`yaml::parse_skipping`, issue 16): the documents that are built are
//! exactly those a whole parse gives, every other one stands where its
//! document stands, and a run's output is what it would be with every
//! document built.
//!
//! The library is called directly on every YAML file of the corpus and the
//! YAML test suite (the cases with several documents are the hard ones);
//! the run's output is checked through the binary.

use std::path::{Path, PathBuf};

use pullsmith::yaml::{self, Document};

use crate::util::{describe, pullsmith, shared_dir, stderr, write};

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            yaml_files(&path, out);
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// A skipping parse agrees with a whole parse: the same errors, as many
/// documents, the built ones identical, each skipped one spanning the text
/// of its section, which holds the start of the document at its place.
fn agrees(text: &str, matters: &yaml::Matters<'_>, what: &str) -> bool {
    let whole = yaml::parse(text);
    let skipping = yaml::parse_skipping(text, matters);
    let (whole, skipping) = match (whole, skipping) {
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "{what}: the two parses fail differently");
            return false;
        }
        (Ok(whole), Ok(skipping)) => (whole, skipping),
        (whole, skipping) => panic!("{what}: one parse fails: whole {whole:?}, skipping {skipping:?}"),
    };
    assert_eq!(whole.len(), skipping.len(), "{what}: document count");
    let sections = yaml::document_sections(text);
    let mut any_skipped = false;
    for (index, (built, maybe)) in whole.iter().zip(&skipping).enumerate() {
        if maybe.skipped {
            any_skipped = true;
            assert!(sections.contains(&maybe.root.span), "{what}: document {index} skipped off a section");
            assert!(!matters(&text[maybe.root.span.clone()]), "{what}: document {index} matters and was skipped");
            assert!(
                built.root.span.is_empty()
                    || maybe.root.span.start <= built.root.span.start && built.root.span.end <= maybe.root.span.end,
                "{what}: document {index} is not inside its section"
            );
        } else {
            assert_eq!(built.root, maybe.root, "{what}: document {index} differs");
        }
    }
    any_skipped
}

#[test]
fn a_skipping_parse_builds_exactly_what_a_whole_parse_builds() {
    let Some(shared) = shared_dir() else { return };
    let mut files = Vec::new();
    yaml_files(&shared.join("corpus"), &mut files);
    // The suite's cases are `in.yaml`; they hold the odd markers.
    files.sort();
    assert!(files.len() > 1000, "the corpus has its YAML files: {}", files.len());
    let (mut n_multi, mut n_skipped) = (0, 0);
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        if yaml::document_sections(&text).len() < 2 {
            continue;
        }
        n_multi += 1;
        let what = path.display().to_string();
        // Every other section matters, either way round, and none does.
        for parity in [0, 1] {
            let matters = move |section: &str| section.len() % 2 == parity;
            n_skipped += usize::from(agrees(&text, &matters, &what));
        }
        agrees(&text, &|_: &str| false, &what);
    }
    assert!(n_multi > 100 && n_skipped > 100, "multi-document files: {n_multi}, with skipped documents: {n_skipped}");
}

#[test]
fn sections_start_at_document_markers_only() {
    let text = "a: 1\n---\nb: 2\n...\n--- # c\nc: |\n  ---x\n----\n--- |\n  d\n";
    let starts: Vec<usize> = yaml::document_sections(text).iter().map(|s| s.start).collect();
    let at = |needle: &str| text.find(needle).unwrap();
    assert_eq!(starts, [0, at("---\nb"), at("...\n"), at("--- # c"), at("--- |")]);
    let one: Vec<Document> = yaml::parse_skipping("a: 1\n", &|_: &str| false).unwrap();
    assert!(!one[0].skipped, "a single document is always built");
}

const RULES: &str = "version: 1\nenvironments:\n  prod:\n    paths: [\"prod/**\"]\n    imagePullPolicy: IfNotPresent\n    imagePullSecrets: [regcred]\n    attachSecretsTo: serviceAccount\n";

/// A Service (skipped) writes its lists kubectl-style, and the
/// ServiceAccount after it, which gets the pods' secrets, has no list of
/// its own: the new list follows the skipped document's style, as it would
/// with every document built (the default indents the dash).
#[test]
fn a_skipped_document_still_gives_the_file_its_list_style() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n";
    let account = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n";
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      serviceAccountName: web\n      containers:\n        - name: web\n          image: nginx:1.25\n";
    let broken_config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {a: [1}\n";
    write(dir.path(), ".pullsmith.yaml", RULES);
    write(dir.path(), "prod/account.yaml", format!("{service}---\n{account}"));
    write(dir.path(), "prod/web.yaml", deployment);
    write(dir.path(), "prod/broken.yaml", format!("{deployment}---\n{broken_config}"));
    let output = pullsmith().args(["apply", "."]).current_dir(dir.path()).output().expect("runs");
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    let written = std::fs::read_to_string(dir.path().join("prod/account.yaml")).unwrap();
    assert_eq!(
        written,
        format!("{service}---\n{account}imagePullSecrets:\n- name: regcred\n"),
        "{}",
        describe(&output)
    );
    // A document that is not built is still parsed: its invalid YAML is reported, and the file left alone.
    assert!(stderr(&output).contains("error: prod/broken.yaml:"), "{}", describe(&output));
    let broken = std::fs::read_to_string(dir.path().join("prod/broken.yaml")).unwrap();
    assert_eq!(broken, format!("{deployment}---\n{broken_config}"));
}

/// Anchors and aliases in a document that is built, after one that is not
/// (which has anchors of its own): the aliases are resolved in the built
/// document alone, as YAML scopes anchors, and the document gets exactly
/// what it gets in a file of its own.
#[test]
fn aliases_after_a_skipped_document_are_resolved_in_their_own_document() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata:\n  a: &x one\n  b: *x\n  list:\n  - &y [1, 2]\n  - *y\n";
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - &web\n        name: web\n        image: nginx:1.25\n      initContainers:\n      - <<: *web\n        name: init\n";
    write(dir.path(), ".pullsmith.yaml", RULES.replace("    attachSecretsTo: serviceAccount\n", ""));
    write(dir.path(), "prod/web.yaml", format!("{config}---\n{deployment}"));
    write(dir.path(), "prod/alone.yaml", deployment);
    let output = pullsmith().args(["apply", "."]).current_dir(dir.path()).output().expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let written = std::fs::read_to_string(dir.path().join("prod/web.yaml")).unwrap();
    let alone = std::fs::read_to_string(dir.path().join("prod/alone.yaml")).unwrap();
    assert_ne!(alone, deployment, "the Deployment is changed");
    assert_eq!(written, format!("{config}---\n{alone}"));
}
