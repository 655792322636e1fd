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
fn an_error_at_the_end_of_a_text_without_a_final_line_break_is_on_its_last_line() {
    // Found by the `rules` fuzz target: libyaml placed it on line 2 of a one-line file.
    let err = error_of("# version: 1");
    assert!(err.starts_with("rules.yaml:1:13:"), "{err}");
    let err = error_of("# version: 1\n");
    assert!(err.starts_with("rules.yaml:2:1:"), "{err}");
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

// ---------------------------------------------------------------- helm.charts

/// Rules whose only content is `helm.charts`, one entry per `(name, version)`.
fn chart_rules(entries: &[(&str, Option<&str>)]) -> Rules {
    let mut text = "version: 1\nhelm:\n  charts:\n".to_string();
    for (name, version) in entries {
        text.push_str(&format!("    - name: {name}\n"));
        if let Some(version) = version {
            text.push_str(&format!("      version: \"{version}\"\n"));
        }
        text.push_str("      pullPolicy: [image.pullPolicy]\n");
    }
    parse(&text).unwrap_or_else(|err| panic!("{err}\n{text}"))
}

/// Whether a `helm.charts` entry with range `range` is picked for chart `redis` at `version`.
fn range_holds(range: &str, version: &str) -> bool {
    chart_rules(&[("redis", Some(range))]).helm_chart("redis", Some(version)).is_some()
}

#[test]
fn chart_ranges_read_as_helm_reads_them() {
    // (range, versions in it, versions out of it)
    let cases: &[(&str, &[&str], &[&str])] = &[
        // A bare version is that version, not `^` as Cargo would read it.
        ("1.2.3", &["1.2.3"], &["1.2.4", "1.3.0"]),
        ("=1.2.3", &["1.2.3"], &["1.2.2"]),
        ("1.2", &["1.2.0", "1.2.9"], &["1.3.0"]),
        (">=1.2.0 <2.0.0", &["1.2.0", "1.9.9"], &["1.1.9", "2.0.0"]),
        (">= 1.2.0 < 2.0.0", &["1.5.0"], &["2.0.0"]),
        (">=1.2, <2", &["1.2.0", "1.99.0"], &["1.1.0", "2.0.0"]),
        ("=>1.2 =<1.4", &["1.4.7"], &["1.5.0"]),
        (">1.2.3", &["1.2.4"], &["1.2.3"]),
        ("^1.2", &["1.2.0", "1.9.0"], &["1.1.0", "2.0.0"]),
        ("^0.2.3", &["0.2.9"], &["0.3.0"]),
        ("~1.2.3", &["1.2.3", "1.2.9"], &["1.3.0", "1.2.2"]),
        ("~>1.2", &["1.2.5"], &["1.3.0"]),
        ("1.2.x", &["1.2.0", "1.2.7"], &["1.3.0"]),
        ("1.x", &["1.0.0", "1.9.9"], &["2.0.0", "0.9.0"]),
        ("1.X.x", &["1.4.0"], &["2.0.0"]),
        ("*", &["0.0.1", "15.3.2"], &[]),
        ("x", &["3.0.0"], &[]),
        ("1.2 - 1.4.5", &["1.2.0", "1.4.5"], &["1.4.6", "1.1.9"]),
        ("^1.0 || ^3.0", &["1.5.0", "3.1.0"], &["2.0.0"]),
        ("<1.0.0||>=2.0.0 <2.1", &["0.5.0", "2.0.4"], &["1.0.0", "2.1.0"]),
        (">=v1.2.0", &["1.2.0"], &["1.1.0"]),
        // Helm leaves pre-releases out of a range that names none.
        (">=1.0.0", &["2.0.0"], &["2.0.0-rc.1"]),
        // Unlike Helm, only the pre-releases of the version a comparator names.
        (">=2.0.0-rc.1", &["2.0.0-rc.2", "2.0.0", "2.1.0"], &["2.0.0-beta.1", "2.1.0-rc.1"]),
    ];
    for (range, inside, outside) in cases {
        for version in *inside {
            assert!(range_holds(range, version), "`{range}` holds {version}");
        }
        for version in *outside {
            assert!(!range_holds(range, version), "`{range}` does not hold {version}");
        }
    }
}

#[test]
fn an_unquoted_chart_range_is_read_as_written() {
    let text = |version: &str| {
        format!("version: 1\nhelm:\n  charts:\n    - name: redis\n      version: {version}\n      pullPolicy: [x]\n")
    };
    // YAML would read `1.10` as the number 1.1; the rules keep the text.
    let rules = parse(&text("1.10")).expect("valid rules");
    assert!(rules.helm_chart("redis", Some("1.10.2")).is_some());
    assert!(rules.helm_chart("redis", Some("1.1.0")).is_none());
    let rules = parse(&text("~")).expect("valid rules");
    assert!(rules.helm_charts[0].version.is_none(), "`~` is no version");
    // Listing every mistake does not take `~` for a range.
    let mistakes = every_mistake(&format!("{}frobnicate: 1\n", text("~")));
    assert_eq!(mistakes.len(), 1, "{mistakes:?}");
    assert!(mistakes[0].starts_with("7:1: unknown field `frobnicate`"), "{mistakes:?}");
}

#[test]
fn a_chart_version_may_start_with_v() {
    assert!(range_holds("^1.2", "v1.4.0"));
    assert!(range_holds("1.2.3", "v1.2.3"));
    assert!(!range_holds("1.2.3", "vv1.2.3"));
}

#[test]
fn a_chart_entry_with_a_range_never_matches_an_unknown_or_non_semver_version() {
    let rules = chart_rules(&[("redis", Some("^1.2"))]);
    assert!(rules.helm_chart("redis", None).is_none());
    for version in ["1.2", "latest", ">=1.2.0", "1.2.*", ""] {
        assert!(rules.helm_chart("redis", Some(version)).is_none(), "{version}");
    }
    assert!(rules.helm_chart("redis", Some("1.2.0")).is_some());
    assert!(rules.helm_chart("postgresql", Some("1.2.0")).is_none(), "the name must be the same");
    assert!(rules.helm_chart("Redis", Some("1.2.0")).is_none(), "names are compared exactly");
}

#[test]
fn the_first_chart_entry_that_matches_is_picked() {
    let rules = chart_rules(&[("redis", Some("<17")), ("nginx", None), ("redis", Some(">=17")), ("redis", None)]);
    let index_of = |version: Option<&str>| rules.helm_chart("redis", version).map(|chart| chart.index);
    assert_eq!(index_of(Some("16.13.2")), Some(0));
    assert_eq!(index_of(Some("17.0.0")), Some(2));
    // No version, or one that is not semver: only the entry without a range fits.
    assert_eq!(index_of(None), Some(3));
    assert_eq!(index_of(Some("main")), Some(3));
    assert_eq!(rules.helm_chart("nginx", Some("1.0.0")).map(|chart| chart.index), Some(1));
}

#[test]
fn a_chart_entry_keeps_its_line_its_range_text_and_its_keys() {
    let text = "\
version: 1
helm:
  charts:
    - name: redis
      pullSecrets: [global.imagePullSecrets]

    - name: ingress-nginx
      version: \">=4.0.0, <5\"
      pullPolicy: [controller.image.pullPolicy]
";
    let rules = parse(text).expect("valid rules");
    let chart = rules.helm_chart("ingress-nginx", Some("4.11.3")).expect("the second entry");
    assert_eq!((chart.index, chart.line), (1, 7));
    assert_eq!(chart.version.as_ref().map(|v| v.to_string()), Some(">=4.0.0, <5".to_string()));
    assert_eq!(chart.pull_policy, vec!["controller.image.pullPolicy".to_string()]);
    assert!(chart.pull_secrets.is_empty());
    assert_eq!(rules.helm_chart("redis", None).map(|chart| chart.line), Some(4));
}

#[test]
fn a_bad_chart_range_is_refused_at_its_value() {
    let rules = |version: &str| {
        format!("version: 1\nhelm:\n  charts:\n    - name: redis\n      version: {version}\n      pullPolicy: [image.pullPolicy]\n")
    };
    for (version, why) in [
        ("\"1.2.3.4\"", "expected comma after patch version number, found '.'"),
        ("\">=1.2 !=1.3\"", "`!=` is not supported"),
        ("\"^1 ||\"", "an alternative of `||` is empty"),
        ("\"\"", "it is empty"),
        ("\">=\"", "`>=` needs a version after it"),
        ("\"1.2 -\"", "a hyphen range needs a version after `-`"),
        ("\"<*\"", "`<` needs a version, not only a wildcard"),
        ("latest", "unexpected character 'l' while parsing major version number"),
    ] {
        let err = error_of(&rules(version));
        assert!(err.starts_with("rules.yaml:5:16: helm.charts[0]: bad version range `"), "{version}: {err}");
        assert!(err.ends_with(why), "{version}: {err}");
    }
}

#[test]
fn values_keys_of_a_chart_entry_are_dotted_names() {
    let rules = |key: &str| {
        format!("version: 1\nhelm:\n  charts:\n    - name: redis\n      pullPolicy:\n        - image.pullPolicy\n        - {key}\n")
    };
    for good in ["image.pullPolicy", "controller.image.pullPolicy", "global.imagePullSecrets", "pullPolicy", "a-b_c.D1"]
    {
        assert!(parse(&rules(good)).is_ok(), "{good}");
    }
    for (bad, why) in [
        ("image..pullPolicy", "it has an empty segment (a leading, trailing or doubled `.`)"),
        (".image", "it has an empty segment"),
        ("image.", "it has an empty segment"),
        ("\"image. pullPolicy\"", "it holds whitespace"),
        ("\"images[0].pullPolicy\"", "`[` and `]` are not allowed"),
        ("\"{{ .Values.x }}\"", "it holds whitespace"),
        ("\"{{.Values.x}}\"", "`{{` is not allowed (a values key, not a template)"),
        ("\"\"", "it is empty"),
    ] {
        let err = error_of(&rules(bad));
        assert!(err.starts_with("rules.yaml:7:11: `"), "{bad}: {err}");
        assert!(err.contains("` is not a dotted values key: ") && err.contains(why), "{bad}: {err}");
    }
    // pullSecrets is checked the same way.
    let err = error_of("version: 1\nhelm:\n  charts:\n    - {name: redis, pullSecrets: [\"global..secrets\"]}\n");
    assert!(err.starts_with("rules.yaml:4:35: `global..secrets` is not a dotted values key"), "{err}");
}

#[test]
fn a_chart_entry_must_name_a_values_key() {
    for entry in ["- name: redis\n", "- name: redis\n      pullPolicy: []\n      pullSecrets: []\n"] {
        let err = error_of(&format!("version: 1\nhelm:\n  charts:\n    {entry}"));
        assert_eq!(err, "rules.yaml:4:7: helm.charts[0]: a chart entry must set `pullPolicy` or `pullSecrets`");
    }
}

#[test]
fn a_second_chart_entry_without_version_is_refused_at_the_second() {
    let text = "\
version: 1
helm:
  charts:
    - {name: redis, pullPolicy: [image.pullPolicy]}
    - {name: redis, version: \"^17\", pullPolicy: [image.pullPolicy]}
    - {name: redis, pullSecrets: [global.imagePullSecrets]}
";
    let err = error_of(text);
    assert_eq!(
        err,
        "rules.yaml:6:7: helm.charts[2]: chart `redis` is listed again without `version` (first as helm.charts[0])"
    );
    // Two entries of one name, each with its own range, are fine.
    chart_rules(&[("redis", Some("^16")), ("redis", Some("^17")), ("redis", None)]);
}

/// Every mistake of the rules, as `line:column: message`, in order.
fn every_mistake(text: &str) -> Vec<String> {
    match parse(text) {
        Err(RulesError::Invalid { line, column, message, more, .. }) => std::iter::once((line, column, message))
            .chain(more)
            .map(|(line, column, message)| format!("{line}:{column}: {message}"))
            .collect(),
        other => panic!("expected invalid rules, got {other:?}"),
    }
}

#[test]
fn every_chart_entry_mistake_is_listed_at_its_place() {
    let text = "\
version: 1
helm:
  charts:
    - name: redis
      version: \">=1.0 !=1.2\"
      pullPolicy: [image.pullPolicy]
    - name: redis
      pullPolicy: [\"image..pullPolicy\"]
    - name: nginx
    - name: nginx
      pullSecrets: [global.imagePullSecrets]
    - name: nginx
      pullSecrets: [global.imagePullSecrets]
      versions: \"1\"
";
    assert_eq!(
        every_mistake(text),
        vec![
            "5:16: helm.charts[0]: bad version range `>=1.0 !=1.2`: `!=` is not supported",
            "8:20: `image..pullPolicy` is not a dotted values key: it has an empty segment (a leading, trailing or doubled `.`)",
            "9:7: helm.charts[2]: a chart entry must set `pullPolicy` or `pullSecrets`",
            "10:7: helm.charts[3]: chart `nginx` is listed again without `version` (first as helm.charts[2])",
            "12:7: helm.charts[4]: chart `nginx` is listed again without `version` (first as helm.charts[2])",
            "14:7: helm.charts[4]: unknown field `versions`, expected one of `name`, `version`, `pullPolicy`, `pullSecrets`",
        ]
    );
}
