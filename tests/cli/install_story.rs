//! What an installed pullsmith offers besides its commands: shell
//! completions, the manual page, a `--version` that names the build, colour
//! that follows `NO_COLOR`, and a `--help` whose examples run as printed.

use std::path::Path;
use std::process::{Command as Process, Output};
use std::time::Duration;

use crate::util::{copy_tree, describe, project_root, pullsmith, stderr, stdout};

/// Every command a completion script must offer.
const COMMANDS: &[&str] = &["diff", "check", "apply", "commit", "explain", "init", "rules", "completions", "man"];

fn completion_script(shell: &str) -> String {
    let output = pullsmith().args(["completions", shell]).output().expect("pullsmith runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(output.stderr.is_empty(), "{}", describe(&output));
    stdout(&output)
}

fn is_installed(program: &str) -> bool {
    Process::new(program).arg("--version").output().is_ok_and(|output| output.status.success())
}

#[test]
fn completions_for_every_shell_offer_every_command() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = completion_script(shell);
        assert!(script.lines().count() > 50, "{shell}: a real script:\n{script}");
        for command in COMMANDS.iter().chain(&["validate", "schema", "default"]) {
            assert!(script.contains(command), "{shell}: `{command}` is offered");
        }
        // fish writes `-l reset-branch`, the others `--reset-branch`.
        assert!(script.contains("reset-branch") && script.contains("max-file-size"), "{shell}: options too");
    }
}

#[test]
fn completions_of_an_unknown_shell_or_with_an_option_are_refused() {
    let output = pullsmith().args(["completions", "tcsh"]).output().expect("pullsmith runs");
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr(&output).contains("[possible values: bash, zsh, fish, powershell]"), "{}", describe(&output));
    let output = pullsmith().args(["completions", "bash", "--format", "json"]).output().expect("pullsmith runs");
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr(&output).contains("`completions` takes no --format option"), "{}", describe(&output));
    assert!(output.stdout.is_empty());
}

/// The script as bash-completion loads it: sourced, then asked to complete.
#[test]
fn the_bash_completion_sources_and_completes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("pullsmith.bash");
    std::fs::write(&file, completion_script("bash")).expect("write the script");
    let bash = |body: &str| {
        let output = Process::new("bash")
            .arg("--norc")
            .arg("-c")
            .arg(format!("source \"$1\" && {body}"))
            .arg("bash")
            .arg(&file)
            .output()
            .expect("bash runs");
        assert_eq!(output.status.code(), Some(0), "{body}\n{}", describe(&output));
        assert!(output.stderr.is_empty(), "{body}\n{}", describe(&output));
        stdout(&output)
    };
    assert!(bash("complete -p pullsmith").contains("-F _pullsmith pullsmith"));
    let complete = |words: &[&str]| {
        let array: Vec<String> = words.iter().map(|word| format!("'{word}'")).collect();
        let current = words.len() - 1;
        let previous = words[current.saturating_sub(1)];
        bash(&format!(
            "COMP_WORDS=({}); COMP_CWORD={current}; _pullsmith pullsmith '{}' '{previous}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            array.join(" "),
            words[current]
        ))
    };
    assert_eq!(complete(&["pullsmith", "com"]), "commit\ncompletions\n");
    let shells = complete(&["pullsmith", "completions", ""]);
    for shell in ["bash", "zsh", "fish", "powershell"] {
        assert!(shells.lines().any(|line| line == shell), "{shells}");
    }
    assert!(complete(&["pullsmith", "commit", "--re"]).lines().any(|line| line == "--reset-branch"));
}

/// zsh and fish read their scripts without running them, where installed.
#[test]
fn the_zsh_and_fish_completions_parse() {
    for (shell, check) in [("zsh", "-n"), ("fish", "--no-execute")] {
        if !is_installed(shell) {
            eprintln!("note: {shell} is not installed; its completion script is not parsed");
            continue;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("completion");
        std::fs::write(&file, completion_script(shell)).expect("write the script");
        let output = Process::new(shell).arg(check).arg(&file).output().expect("the shell runs");
        assert_eq!(output.status.code(), Some(0), "{shell}\n{}", describe(&output));
        assert!(output.stderr.is_empty(), "{shell}\n{}", describe(&output));
    }
}

#[test]
fn the_man_page_renders_without_a_warning() {
    let output = pullsmith().arg("man").output().expect("pullsmith runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let page = stdout(&output);
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "roff:\n{page}");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("pullsmith.1");
    std::fs::write(&file, &page).expect("write the page");

    // groff's own warnings (-ww) first: they name the roff line at fault.
    if is_installed("groff") {
        let output =
            Process::new("groff").args(["-man", "-Tutf8", "-ww", "-z"]).arg(&file).output().expect("groff runs");
        assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
        assert!(output.stderr.is_empty(), "groff warns:\n{}", describe(&output));
    } else {
        eprintln!("note: groff is not installed; the man page is not rendered");
    }
    if !is_installed("man") {
        eprintln!("note: man is not installed; the man page is not read with it");
        return;
    }
    let output = Process::new("man")
        .args(["--warnings", "-l"])
        .arg(&file)
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .expect("man runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(output.stderr.is_empty(), "man warns:\n{}", describe(&output));
    // Tabs, not the line's own spacing: man fills and adjusts the text.
    let text: String = stdout(&output).split_whitespace().collect::<Vec<_>>().join(" ");
    for section in ["NAME", "SYNOPSIS", "OPTIONS", "COMMANDS", "EXAMPLES", "EXIT STATUS", "ENVIRONMENT", "VERSION"] {
        assert!(text.contains(section), "section {section}:\n{text}");
    }
    // One page for everything: each command with its own options, no
    // pointer to a `pullsmith-check(1)` that the archives do not carry.
    for command in ["pullsmith check [OPTIONS] [PATH]", "pullsmith rules validate", "--reset-branch", "--stdout"] {
        assert!(text.contains(command), "{command}:\n{text}");
    }
    assert!(!text.contains("pullsmith-check(1)"), "{text}");
    assert!(text.contains("pullsmith commit --branch pullsmith/maintenance --reset-branch ."), "{text}");
}

/// `pullsmith 1.0.0 (<12 hex>[ dirty] <YYYY-MM-DD>)` from a git checkout,
/// `pullsmith 1.0.0` from anything else (`tests/package.sh` builds that).
#[test]
fn version_names_the_commit_it_was_built_from() {
    let output = pullsmith().arg("--version").output().expect("pullsmith runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let line = stdout(&output);
    let shape =
        regex::Regex::new(r"^pullsmith (\d+\.\d+\.\d+)(?: \(([0-9a-f]{12,})( dirty)? (\d{4}-\d{2}-\d{2})\))?\n$")
            .expect("a valid regex");
    let parts = shape.captures(&line).unwrap_or_else(|| panic!("`--version` prints {line:?}"));
    assert_eq!(&parts[1], env!("CARGO_PKG_VERSION"));
    assert_eq!(stdout(&pullsmith().arg("-V").output().expect("pullsmith runs")), line, "-V prints the same");

    let root = project_root();
    let git = |args: &[&str]| {
        Process::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .env("TZ", "UTC")
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| stdout(&output).trim().to_string())
    };
    let head = git(&["rev-parse", "HEAD"]);
    if std::env::var_os("PULLSMITH_BUILD_COMMIT").is_some() || !root.join(".git").exists() || head.is_none() {
        eprintln!("note: not built from a git checkout here; the version's commit is not compared");
        return;
    }
    let head = head.expect("checked above");
    let hash = parts.get(2).unwrap_or_else(|| panic!("a checkout's build names its commit: {line:?}"));
    assert!(head.starts_with(hash.as_str()), "{line:?} names HEAD {head}");
    let status = git(&["status", "--porcelain", "--", "src", "rules", "build.rs", "Cargo.toml", "Cargo.lock"])
        .expect("git status runs");
    assert_eq!(
        parts.get(3).is_some(),
        !status.is_empty(),
        "` dirty` exactly when the sources differ: {line:?}\n{status}"
    );
    let date = git(&["log", "-1", "--date=format-local:%Y-%m-%d", "--format=%cd", "HEAD"]).expect("git log runs");
    assert_eq!(&parts[4], date, "the commit's date (UTC)");
}

#[test]
fn help_shows_an_example_for_each_way_of_use() {
    let output = pullsmith().arg("--help").output().expect("pullsmith runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let help = stdout(&output);
    for wanted in [
        "Pull-request gate",
        "pullsmith/pullsmith@v1",
        "    pullsmith check --format github .\n",
        "Local batch rewrite",
        "    pullsmith diff .\n    pullsmith apply .\n",
        "Scheduled maintenance job",
        "    pullsmith commit --branch pullsmith/maintenance --reset-branch .\n",
        "Exit status:",
        "NO_COLOR",
    ] {
        assert!(help.contains(wanted), "--help shows {wanted:?}:\n{help}");
    }
    let short = stdout(&pullsmith().arg("-h").output().expect("pullsmith runs"));
    assert!(short.contains("pullsmith check --format github ."), "-h too:\n{short}");
}

/// The examples of `--help` run as printed, on `examples/plain`: the gate
/// fails on it, the diff and the rewrite work, and the maintenance commit
/// lands on its branch.
#[test]
fn the_help_examples_run_as_printed() {
    let help = stdout(&pullsmith().arg("--help").output().expect("pullsmith runs"));
    let examples: Vec<Vec<String>> = help
        .lines()
        .filter_map(|line| line.strip_prefix("    pullsmith "))
        .map(|line| line.split_whitespace().map(str::to_string).collect())
        .collect();
    assert_eq!(examples.len(), 4, "{help}");
    let dir = tempfile::tempdir().expect("temp dir");
    let work = dir.path().join("work");
    copy_tree(&project_root().join("examples/plain"), &work);
    git_repository(&work);
    let run = |args: &[String]| {
        pullsmith()
            .current_dir(&work)
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "pullsmith test")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env_remove("GITHUB_OUTPUT")
            .env_remove("GITHUB_STEP_SUMMARY")
            .timeout(Duration::from_secs(120))
            .output()
            .expect("pullsmith runs")
    };
    let expect = |output: &Output, code: i32| assert_eq!(output.status.code(), Some(code), "{}", describe(output));
    let gate = run(&examples[0]);
    expect(&gate, 1);
    assert!(stdout(&gate).contains("::warning file=dev/"), "{}", describe(&gate));
    let diff = run(&examples[1]);
    expect(&diff, 0);
    assert!(stdout(&diff).contains("+        imagePullPolicy: Always"), "{}", describe(&diff));
    // The maintenance job works on the committed state, before the rewrite.
    let maintenance = run(&examples[3]);
    expect(&maintenance, 0);
    assert!(stdout(&maintenance).contains("pullsmith: committed "), "{}", describe(&maintenance));
    let apply = run(&examples[2]);
    expect(&apply, 0);
    assert!(stdout(&apply).contains("files_changed="), "{}", describe(&apply));
}

/// `git init`, and one commit of everything, by an identity given here only.
fn git_repository(dir: &Path) {
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"],
        &["-c", "user.name=setup", "-c", "user.email=setup@example.com", "commit", "-q", "-m", "initial"],
    ] {
        let output = Process::new("git")
            .current_dir(dir)
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("git runs");
        assert!(output.status.success(), "git {args:?}\n{}", describe(&output));
    }
}

/// `pullsmith ARGS examples/plain` with stdout on a terminal (`script`,
/// util-linux), stderr thrown away; what the terminal showed.
fn diff_on_a_terminal(args: &[&str], no_color: Option<&str>) -> Option<String> {
    if Process::new("script").arg("--version").output().is_err() {
        eprintln!("note: `script` (util-linux) is not installed; skipping a terminal test");
        return None;
    }
    let bin = assert_cmd::cargo::cargo_bin("pullsmith");
    let log = tempfile::NamedTempFile::new().expect("temp file");
    let command = format!(
        "'{}' {} diff '{}' 2>/dev/null",
        bin.display(),
        args.join(" "),
        project_root().join("examples/plain").display()
    );
    let mut script = Process::new("script");
    script.args(["-qec", &command]).arg(log.path()).env_remove("NO_COLOR");
    if let Some(value) = no_color {
        script.env("NO_COLOR", value);
    }
    let output = script.output().expect("script runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    Some(String::from_utf8_lossy(&std::fs::read(log.path()).expect("typescript")).into_owned())
}

const GREEN: &str = "\x1b[32m";

#[test]
fn no_color_turns_colour_off_unless_it_is_asked_for() {
    let Some(screen) = diff_on_a_terminal(&[], None) else { return };
    assert!(screen.contains(GREEN), "a terminal gets colour: {screen:?}");
    let screen = diff_on_a_terminal(&[], Some("1")).expect("script ran before");
    assert!(screen.contains("+        imagePullPolicy: Always"), "{screen:?}");
    assert!(!screen.contains('\x1b'), "NO_COLOR=1: no colour: {screen:?}");
    // https://no-color.org: only a value that is not empty counts.
    let screen = diff_on_a_terminal(&[], Some("")).expect("script ran before");
    assert!(screen.contains(GREEN), "NO_COLOR= (empty) is not set: {screen:?}");
    let screen = diff_on_a_terminal(&["--color", "always"], Some("1")).expect("script ran before");
    assert!(screen.contains(GREEN), "--color always wins over NO_COLOR: {screen:?}");
    let screen = diff_on_a_terminal(&["--color", "never"], None).expect("script ran before");
    assert!(!screen.contains('\x1b'), "--color never: {screen:?}");
}
