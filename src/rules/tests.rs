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

#[test]
fn tokens_are_cut_escaped_and_cannot_close_their_quotes() {
    assert_eq!(token("dev"), "dev");
    assert_eq!(token(&"a".repeat(40)), format!("{}…", "a".repeat(TOKEN_CHARS)));
    assert_eq!(token("a`b\nc"), "a'b\\nc");
    // Cutting a cut token changes nothing: our messages pass `sanitize` too.
    let once = format!("unknown policy `{}`", token(&"x".repeat(100)));
    assert_eq!(sanitize(&once), once);
}

#[test]
fn serde_messages_keep_their_shape_but_only_tokens_of_the_input() {
    let name = "n".repeat(100);
    let message =
        format!("environments.{name}.paths[2]: invalid type: string \"{}\", expected a sequence", "s".repeat(90));
    let want = format!(
        "environments.{}….paths[2]: invalid type: string \"{}…\", expected a sequence",
        "n".repeat(TOKEN_CHARS),
        "s".repeat(TOKEN_CHARS)
    );
    assert_eq!(sanitize(&message), want);
    let message = format!("unknown field `{}`, expected one of `version`, `images`", "k".repeat(50));
    assert_eq!(
        sanitize(&message),
        format!("unknown field `{}…`, expected one of `version`, `images`", "k".repeat(TOKEN_CHARS))
    );
    // An unclosed quote is cut too, and the whole message is capped.
    assert_eq!(sanitize(&format!("x `{}", "q".repeat(50))), format!("x `{}…`", "q".repeat(TOKEN_CHARS)));
    assert!(sanitize(&"word ".repeat(200)).chars().count() <= 301);
}

#[test]
fn duplicate_environments_are_refused_at_the_second() {
    let err = error_of("version: 1\nenvironments:\n  dev: {}\n  prod: {}\n  dev: {}\n");
    assert!(err.starts_with("rules.yaml:5:3: duplicate key `dev` (first at line 3)"), "{err}");
}

#[test]
fn secret_name_length_is_its_own_rule() {
    let err = error_of(&format!("version: 1\nimages:\n- match: x\n  imagePullSecrets: [{}]\n", "a".repeat(254)));
    assert!(err.contains("is 254 characters long, more than the 253 allowed"), "{err}");
    assert!(parse(&format!("version: 1\nimages:\n- match: x\n  imagePullSecrets: [{}]\n", "a".repeat(253))).is_ok());
}
