use super::*;

fn parse(text: &str) -> Result<Rules, RulesError> {
    Rules::parse(text, RulesOrigin::File("rules.yaml".into()))
}

fn error_of(text: &str) -> String {
    parse(text).expect_err("invalid rules").to_string()
}

#[test]
fn embedded_default_is_valid() {
    let rules = Rules::embedded_default();
    assert_eq!(rules.environments.len(), 3);
    assert_eq!(rules.env_for_path("apps/x/overlays/dev/a.yaml").unwrap().unwrap().env, 0);
    assert!(rules.env_for_path("base/a.yaml").unwrap().is_none());
}

#[test]
fn misspelled_policy_names_line_and_column() {
    let err = error_of("version: 1\nenvironments:\n  dev:\n    imagePullPolicy: always\n");
    assert!(err.starts_with("rules.yaml:4:22:"), "{err}");
    assert!(err.contains("unknown policy `always`"), "{err}");
}

#[test]
fn unknown_key_missing_version_bad_glob_and_version() {
    let err = error_of("version: 1\nenvironments:\n  dev:\n    path: [x]\n");
    assert!(err.starts_with("rules.yaml:4:") && err.contains("unknown field `path`"), "{err}");
    let err = error_of("environments: {}\n");
    assert!(err.contains("missing field `version`"), "{err}");
    let err = error_of("version: 1\nenvironments:\n  dev:\n    paths: [\"a/[\"]\n");
    assert!(err.starts_with("rules.yaml:4:") && err.contains("bad glob"), "{err}");
    let err = error_of("version: 2\n");
    assert!(err.starts_with("rules.yaml:1:1:") && err.contains("unsupported version 2"), "{err}");
    let err = error_of("version: 1\ndefaultEnvironment: nope\n");
    assert!(err.starts_with("rules.yaml:2:1:") && err.contains("`nope`"), "{err}");
}

#[test]
fn two_environments_conflict() {
    let rules = parse("version: 1\nenvironments:\n  a: {paths: [\"x/**\"]}\n  b: {paths: [\"**/y/**\"]}\n").unwrap();
    let conflict = rules.env_for_path("x/y/z.yaml").unwrap_err();
    assert_eq!(conflict.names, vec!["a".to_string(), "b".to_string()]);
}

#[test]
fn path_globs_stay_in_a_segment() {
    let rules = parse("version: 1\nenvironments:\n  a: {paths: [\"apps/*/dev/**\"]}\n").unwrap();
    assert!(rules.env_for_path("apps/web/dev/d.yaml").unwrap().is_some());
    assert!(rules.env_for_path("apps/web/x/dev/d.yaml").unwrap().is_none());
}
