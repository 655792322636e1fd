//! The rules file and the command line as ways in (issue 9, items 2, 13, 16
//! and 17): `.pullsmith.yaml` never leads out of the repository, a message
//! never quotes more than a short token of the rules file, unbounded inputs
//! (`-j`, glob length, rules file size) are refused, duplicate keys in the
//! rules are refused where they stand, and secret names say which rule they
//! break.
//!
//! Every test runs the real binary and checks the exit code, the message and
//! that the secret planted next to the repository never reaches the output.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use tempfile::TempDir;

use crate::util::{describe, pullsmith, repo, write};

/// A recognisable secret, longer than any token a message may quote.
const TOKEN: &str = "ghp_PULLSMITHTESTSECRET0123456789abcdefXYZ";

/// A part of [`TOKEN`] that no message may show, even cut short.
const TOKEN_CORE: &str = "PULLSMITHTESTSECRET";

/// The end of [`TOKEN`], past the 32 characters a message may quote of it.
const TOKEN_TAIL: &str = "abcdefXYZ";

/// A deployment under `dev/` without a policy: the default rules add `Always`.
const MANIFEST: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.25
";

/// Rules that give `dev/` the policy `Never`, so that their use is visible.
const NEVER_RULES: &str = "version: 1\nenvironments:\n  dev:\n    paths: [\"dev/**\"]\n    imagePullPolicy: Never\n";

fn run(root: &Path, args: &[&str]) -> Output {
    pullsmith().current_dir(root).args(args).timeout(Duration::from_secs(60)).output().expect("pullsmith runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn expect_exit(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "expected exit {code}\n{}", describe(output));
}

/// Neither stdout nor stderr holds the secret, whole or cut.
fn expect_no_secret(output: &Output) {
    for (name, text) in [("stdout", stdout(output)), ("stderr", stderr(output))] {
        assert!(!text.contains(TOKEN_CORE), "the secret reached {name}\n{}", describe(output));
    }
}

/// Neither stdout nor stderr holds more of the secret than a short token.
fn expect_secret_cut(output: &Output) {
    for (name, text) in [("stdout", stdout(output)), ("stderr", stderr(output))] {
        assert!(!text.contains(TOKEN_TAIL), "more than a token of the secret reached {name}\n{}", describe(output));
    }
}

/// A directory outside every repository holding a git-credentials file with [`TOKEN`].
fn credentials() -> (TempDir, std::path::PathBuf) {
    let home = tempfile::tempdir().expect("temp dir");
    let path = home.path().join(".git-credentials");
    std::fs::write(&path, format!("https://x-access-token:{TOKEN}@github.com\n")).expect("write credentials");
    (home, path)
}

/// A repository with the manifest, and a `.git/config` holding [`TOKEN`].
fn repository() -> TempDir {
    let repo = repo(&[("dev/app.yaml", MANIFEST)]);
    write(
        repo.path(),
        ".git/config",
        format!("[remote \"origin\"]\n\turl = https://x-access-token:{TOKEN}@github.com/o/r\n"),
    );
    repo
}

fn manifest_of(repo: &TempDir) -> String {
    std::fs::read_to_string(repo.path().join("dev/app.yaml")).expect("read manifest")
}

/// The one `pullsmith: ` line of stderr.
fn message(output: &Output) -> String {
    let err = stderr(output);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line of stderr\n{}", describe(output));
    assert!(lines[0].starts_with("pullsmith: "), "{}", describe(output));
    lines[0].to_string()
}

/// A `.pullsmith.yaml` that refuses to be read: exit 2 from every command
/// that loads rules, a message naming the link, the secret never printed,
/// nothing written.
fn expect_refused_link(repo: &TempDir, reason: &str) {
    for args in
        [&["check"][..], &["diff"], &["apply"], &["explain"], &["rules", "validate"], &["check", "--format", "json"]]
    {
        let output = run(repo.path(), args);
        expect_exit(&output, 2);
        expect_no_secret(&output);
        let line = message(&output);
        assert!(line.starts_with("pullsmith: ./.pullsmith.yaml: refused as rules file: "), "{args:?}: {line}");
        assert!(line.contains(reason), "{args:?}: `{line}` does not say `{reason}`");
        assert!(stdout(&output).is_empty(), "{args:?}\n{}", describe(&output));
    }
    assert_eq!(manifest_of(repo), MANIFEST, "nothing may be written");
}

// ------------------------------------------------------------- item 2: links

#[test]
fn rules_link_to_credentials_outside_the_repository_is_refused_unread() {
    let (_home, creds) = credentials();
    let repo = repository();
    std::os::unix::fs::symlink(&creds, repo.path().join(".pullsmith.yaml")).expect("symlink");
    expect_refused_link(&repo, "a symbolic link out of the repository");
}

#[test]
fn rules_link_out_through_a_relative_path_and_a_second_link_is_refused() {
    let (home, _creds) = credentials();
    let repo = repository();
    // An in-repository link that itself leads out: the whole chain counts.
    std::os::unix::fs::symlink(home.path().join(".git-credentials"), repo.path().join("hop")).expect("symlink");
    std::os::unix::fs::symlink("hop", repo.path().join(".pullsmith.yaml")).expect("symlink");
    expect_refused_link(&repo, "out of the repository");
    std::fs::remove_file(repo.path().join(".pullsmith.yaml")).expect("remove link");
    let up = format!("../{}/.git-credentials", home.path().file_name().expect("name").to_string_lossy());
    std::os::unix::fs::symlink(up, repo.path().join(".pullsmith.yaml")).expect("symlink");
    expect_refused_link(&repo, "out of the repository");
}

#[test]
fn rules_link_into_dot_git_is_refused_unread() {
    let repo = repository();
    std::os::unix::fs::symlink(".git/config", repo.path().join(".pullsmith.yaml")).expect("symlink");
    expect_refused_link(&repo, "into `.git`");
}

#[test]
fn rules_link_to_nothing_or_to_a_directory_is_refused() {
    let repo = repository();
    std::os::unix::fs::symlink("/nonexistent/pullsmith/rules.yaml", repo.path().join(".pullsmith.yaml"))
        .expect("symlink");
    expect_refused_link(&repo, "leads nowhere");
    std::fs::remove_file(repo.path().join(".pullsmith.yaml")).expect("remove link");
    std::os::unix::fs::symlink("dev", repo.path().join(".pullsmith.yaml")).expect("symlink");
    expect_refused_link(&repo, "not a regular file");
}

#[test]
fn rules_file_that_is_a_directory_is_refused_not_replaced_by_the_default() {
    let repo = repository();
    std::fs::create_dir(repo.path().join(".pullsmith.yaml")).expect("mkdir");
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 2);
    let line = message(&output);
    assert!(line.contains("./.pullsmith.yaml: cannot read rules file: not a regular file (a directory)"), "{line}");
    assert_eq!(manifest_of(&repo), MANIFEST);
}

#[test]
fn rules_link_inside_the_repository_is_followed() {
    let repo = repository();
    write(repo.path(), "config/rules.yaml", NEVER_RULES);
    std::os::unix::fs::symlink("config/rules.yaml", repo.path().join(".pullsmith.yaml")).expect("symlink");
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 0);
    assert!(manifest_of(&repo).contains("imagePullPolicy: Never"), "{}", describe(&output));
    // Errors in it are reported under the name the repository uses.
    write(repo.path(), "config/rules.yaml", "version: 1\nenvironments:\n  dev:\n    imagePullPolicy: never\n");
    let output = run(repo.path(), &["check"]);
    expect_exit(&output, 2);
    let line = message(&output);
    assert!(
        line.starts_with("pullsmith: ./.pullsmith.yaml:4:22: ") && line.contains("unknown policy `never`"),
        "{line}"
    );
}

#[test]
fn explicit_rules_file_that_is_no_rules_file_is_not_quoted() {
    let (home, creds) = credentials();
    let repo = repository();
    let output = run(repo.path(), &["--rules", creds.to_str().expect("utf-8"), "check"]);
    expect_exit(&output, 2);
    expect_no_secret(&output);
    let line = message(&output);
    assert!(line.contains(".git-credentials:1:1: not a rules file: the top level is a scalar"), "{line}");

    // A shadow line: a mapping key of one long plain scalar.
    let hash = format!("$6$saltsalt${TOKEN}{TOKEN}");
    let shadow = home.path().join("shadow");
    std::fs::write(&shadow, format!("root:{hash}:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"))
        .expect("write shadow");
    let output = run(repo.path(), &["--rules", shadow.to_str().expect("utf-8"), "check"]);
    expect_exit(&output, 2);
    expect_no_secret(&output);
    let line = message(&output);
    assert!(line.contains("shadow:1:1: unknown field `root:$6$saltsalt$ghp_PULLSMITHTE…`"), "{line}");
    assert!(!line.contains(":19000:"), "a whole line was quoted: {line}");
}

#[test]
fn rules_messages_quote_only_a_short_token_wherever_the_input_is() {
    let long_name = format!("env-{TOKEN}");
    let cases: Vec<(String, &str)> = vec![
        // serde_yaml's path prefix holds the environment name.
        (format!("version: 1\nenvironments:\n  {long_name}:\n    attachSecretsTo: pods\n"), "4:22"),
        (format!("version: 1\nenvironments:\n  \"{long_name}\\nline two\":\n    overwrite: 3\n"), "4:16"),
        (format!("version: 1\n{TOKEN}: 1\n"), "2:1"),
        (format!("version: 1\nenvironments:\n  dev:\n    {TOKEN}: 1\n"), "4:5"),
        (format!("version: \"{TOKEN}\"\n"), "1:10"),
        (format!("version: 1\nenvironments:\n  dev:\n    imagePullPolicy: {TOKEN}\n"), "4:22"),
        (format!("version: 1\nenvironments:\n  dev:\n    paths: [\"[{TOKEN}\"]\n"), "4:13"),
        (format!("version: 1\nimages:\n- match: \"{{{TOKEN}\"\n  imagePullPolicy: Always\n"), "3:10"),
        (format!("version: 1\nenvironments:\n  dev:\n    imagePullSecrets: [\"{TOKEN}\"]\n"), "4:5"),
        (format!("version: 1\ndefaultEnvironment: {TOKEN}\n"), "2:1"),
        (format!("version: 1\nenvironments:\n  {TOKEN}: {{}}\n  {TOKEN}: {{}}\n"), "4:3"),
        (format!("version: 1\nworkloads:\n- kind: [{TOKEN}]\n  podSpecPath: spec\n"), "3:9"),
        (format!("version: 1\nenvironments:\n  dev:\n    paths: `{TOKEN}`\n"), "4:12"),
    ];
    let repo = repository();
    for (rules, at) in &cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("rules.yaml");
        std::fs::write(&path, rules).expect("write rules");
        let output = run(repo.path(), &["--rules", path.to_str().expect("utf-8"), "apply"]);
        expect_exit(&output, 2);
        expect_secret_cut(&output);
        let line = message(&output);
        let want = format!("pullsmith: {}:{at}: ", path.display());
        assert!(line.starts_with(&want), "rules:\n{rules}\nexpected `{want}`, got `{line}`");
        assert!(line.chars().count() < 400, "{line}");
        assert_eq!(manifest_of(&repo), MANIFEST);
    }
    // `--env` lists the environments the rules define, as tokens too.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rules.yaml");
    std::fs::write(&path, format!("version: 1\nenvironments:\n  {TOKEN}: {{}}\n")).expect("write rules");
    let output = run(repo.path(), &["--rules", path.to_str().expect("utf-8"), "--env", "prod", "check"]);
    expect_exit(&output, 2);
    expect_secret_cut(&output);
    assert!(
        message(&output).contains("unknown environment `prod` (the rules define: ghp_PULLSMITH"),
        "{}",
        describe(&output)
    );
}

#[test]
fn a_rules_read_error_is_printed_once() {
    let repo = repository();
    let output = run(repo.path(), &["--rules", "missing.yaml", "check"]);
    expect_exit(&output, 2);
    let line = message(&output);
    assert_eq!(line.matches("missing.yaml").count(), 1, "{line}");
    assert_eq!(line.matches("No such file").count(), 1, "{line}");
}

// ------------------------------------------------------ item 13: unbounded inputs

#[test]
fn jobs_past_the_maximum_is_a_usage_error() {
    let repo = repository();
    for jobs in ["99999999999", "257", "0"] {
        let output = run(repo.path(), &["-j", jobs, "check"]);
        expect_exit(&output, 2);
        let err = stderr(&output);
        assert!(err.contains("--jobs") && err.contains("1..=256"), "-j {jobs}\n{}", describe(&output));
    }
    let output = run(repo.path(), &["-j", "256", "check"]);
    expect_exit(&output, 1);
    let help = run(repo.path(), &["--help"]);
    assert!(stdout(&help).contains("1 to 256"), "{}", describe(&help));
}

#[test]
fn a_million_character_glob_in_the_rules_is_a_located_error() {
    let repo = repository();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rules.yaml");
    let glob = "a".repeat(1_000_000);
    for (rules, at) in [
        (format!("version: 1\nenvironments:\n  dev:\n    paths:\n    - \"{glob}\"\n"), "5:7"),
        (format!("version: 1\nenvironments:\n  dev:\n    namespaces: [x, {glob}]\n"), "4:21"),
        (format!("version: 1\nimages:\n- match: {glob}\n  imagePullPolicy: Always\n"), "3:10"),
        (format!("version: 1\nimages:\n- match: \"{}\"\n  imagePullPolicy: Always\n", "*".repeat(1025)), "3:10"),
    ] {
        std::fs::write(&path, rules).expect("write rules");
        let output = run(repo.path(), &["--rules", path.to_str().expect("utf-8"), "check"]);
        expect_exit(&output, 2);
        let line = message(&output);
        assert!(line.starts_with(&format!("pullsmith: {}:{at}: ", path.display())), "{line}");
        assert!(line.contains(": glob `aaaaaaaaaaaaaaaa") || line.contains(": glob `****"), "{line}");
        assert!(line.contains("characters long, more than the limit of 1024"), "{line}");
        assert!(line.len() < 300, "{line}");
    }
    // At the limit, a glob still works.
    let glob = format!("dev/{}", "*".repeat(1020));
    std::fs::write(
        &path,
        format!("version: 1\nenvironments:\n  dev:\n    paths: [\"{glob}\"]\n    imagePullPolicy: Never\n"),
    )
    .expect("write rules");
    let output = run(repo.path(), &["--rules", path.to_str().expect("utf-8"), "check"]);
    expect_exit(&output, 1);
}

#[test]
fn a_huge_include_or_exclude_glob_is_refused() {
    let repo = repository();
    let glob = "a".repeat(100_000);
    for option in ["--include", "--exclude"] {
        let output = run(repo.path(), &[option, &glob, "check"]);
        expect_exit(&output, 2);
        let line = message(&output);
        assert!(line.contains(&format!("`{option}` glob `aaaa")), "{line}");
        assert!(line.contains("100000 characters long, more than the limit of 1024"), "{line}");
        assert!(line.len() < 300, "{line}");
    }
}

#[test]
fn a_rules_file_over_one_mebibyte_is_refused() {
    let repo = repository();
    let dir = tempfile::tempdir().expect("temp dir");
    // 2 MiB of valid rules (comments), and a sparse 62 MB file.
    let big = dir.path().join("big.yaml");
    let padding = "# padding padding padding padding padding padding padding padding padding\n".repeat(30_000);
    std::fs::write(&big, format!("{NEVER_RULES}{padding}")).expect("write rules");
    let sparse = dir.path().join("sparse.yaml");
    std::fs::File::create(&sparse).expect("create").set_len(62_000_000).expect("set_len");
    for path in [&big, &sparse] {
        let output = run(repo.path(), &["--rules", path.to_str().expect("utf-8"), "check"]);
        expect_exit(&output, 2);
        let line = message(&output);
        assert!(line.contains("bytes is larger than the limit of 1048576 bytes (1 MiB)"), "{line}");
    }
    // The repository's own `.pullsmith.yaml` too.
    std::fs::copy(&big, repo.path().join(".pullsmith.yaml")).expect("copy");
    let output = run(repo.path(), &["apply"]);
    expect_exit(&output, 2);
    assert!(message(&output).starts_with("pullsmith: ./.pullsmith.yaml: rules file of "), "{}", describe(&output));
    assert_eq!(manifest_of(&repo), MANIFEST);
}

// ------------------------------------------------------ item 16: duplicate keys

#[test]
fn a_duplicate_environment_is_refused_at_its_second_key() {
    let repo = repository();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rules.yaml");
    for (rules, at, key) in [
        (
            "version: 1\nenvironments:\n  dev:\n    paths: [\"dev/**\"]\n    imagePullPolicy: Never\n  dev:\n    paths: [\"x/**\"]\n",
            "6:3",
            "dev",
        ),
        ("version: 1\nenvironments:\n  dev: {paths: [\"dev/**\"]}\n  \"dev\": {paths: [\"x/**\"]}\n", "4:3", "dev"),
        ("version: 1\nenvironments: {a: {}, b: {}, a: {}}\n", "2:30", "a"),
        ("version: 1\nenvironments:\n  dev:\n    paths: [\"dev/**\"]\n    paths: [\"x/**\"]\n", "5:5", "paths"),
        ("version: 1\nimages:\n- match: nginx\n  imagePullPolicy: Never\n  imagePullPolicy: Always\n", "5:3", "imagePullPolicy"),
        ("version: 1\nversion: 1\n", "2:1", "version"),
    ] {
        std::fs::write(&path, rules).expect("write rules");
        for command in ["apply", "check"] {
            let output = run(repo.path(), &["--rules", path.to_str().expect("utf-8"), command]);
            expect_exit(&output, 2);
            let line = message(&output);
            let want = format!("pullsmith: {}:{at}: duplicate key `{key}`", path.display());
            assert!(line.starts_with(&want), "rules:\n{rules}\nexpected `{want}`, got `{line}`");
        }
        let output = run(repo.path(), &["rules", "validate", path.to_str().expect("utf-8")]);
        expect_exit(&output, 2);
        assert_eq!(manifest_of(&repo), MANIFEST);
    }
}

// ------------------------------------------------------ item 17: secret names

fn secret_rules_message(repo: &TempDir, secret: &str) -> (Output, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rules.yaml");
    std::fs::write(
        &path,
        format!("version: 1\nenvironments:\n  dev:\n    paths: [\"dev/**\"]\n    imagePullSecrets: [\"{secret}\"]\n"),
    )
    .expect("write rules");
    let output = run(repo.path(), &["--rules", path.to_str().expect("utf-8"), "check"]);
    let line = stderr(&output).lines().next().unwrap_or_default().to_string();
    (output, line)
}

#[test]
fn a_secret_name_says_which_rule_it_breaks() {
    let repo = repository();
    for (secret, why) in [
        ("a".repeat(254), "is 254 characters long, more than the 253 allowed"),
        (format!("{}.b", "a".repeat(300)), "is 302 characters long, more than the 253 allowed"),
        ("Registry".to_string(), "`R` is not allowed (only lower-case letters, digits, `-` and `.`)"),
        ("reg_cred".to_string(), "`_` is not allowed"),
        ("reg..cred".to_string(), "an empty label"),
        (".reg".to_string(), "an empty label"),
        ("reg.-cred".to_string(), "a label starts or ends with `-`"),
        ("reg-".to_string(), "a label starts or ends with `-`"),
        (String::new(), "it is empty"),
    ] {
        let (output, line) = secret_rules_message(&repo, &secret);
        expect_exit(&output, 2);
        assert!(line.contains(":5:5: `") && line.contains("` is not a valid secret name: "), "{secret}: {line}");
        assert!(line.contains(why), "{secret}: `{line}` does not say `{why}`");
        assert!(line.len() < 300, "{line}");
    }
    for secret in ["a".repeat(253), "reg-cred.example.com".to_string(), "0".to_string()] {
        let (output, _) = secret_rules_message(&repo, &secret);
        expect_exit(&output, 1);
    }
}
