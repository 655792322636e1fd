//! pullsmith keeps the container image pull policy and image pull secrets of
//! a GitOps repository right, per environment.
//!
//! The modules are layers, bottom first; each uses only layers below it
//! (docs/ARCHITECTURE.md, checked by `tests/cli/layers.rs`):
//! `common` (data every stage shares) → `fsio` (safe reads and atomic
//! writes) → `yaml` (positional parse) → `edit` (byte splices) → `rules`
//! (typed rules and their resolution) → `manifest` (Kubernetes objects) →
//! `coverage`, `verify`, `discover` → `plan` (a file's changes) →
//! `kustomize` (overlays) → `pipeline` (the run), `init` → `emit`, `git`
//! (output) → `fuzzing` (entry points of the fuzz targets) → this file,
//! `cli` and `main` (the edge). This file turns command-line arguments into
//! a run and a run into an exit status.

pub mod cli;
pub mod common;
pub mod coverage;
pub mod discover;
pub mod edit;
pub mod emit;
pub mod fsio;
// Entry points of the fuzz targets (`fuzz/`) and of their corpus replayed by `tests/cli/fuzz_corpus.rs`.
#[doc(hidden)]
pub mod fuzzing;
pub mod git;
pub mod helm;
pub mod init;
pub mod kustomize;
pub mod manifest;
pub mod pipeline;
pub mod plan;
pub mod release;
pub mod rules;
pub mod verify;
pub mod yaml;

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};

use clap::CommandFactory;

use cli::{Cli, ColorChoice, Command, Format, GlobalArgs, RulesCommand, Shell};
use discover::PathFilter;
use pipeline::{RunConfig, RunReport};
use rules::Rules;

/// Why the run ended. The only place where exit numbers appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to change, or changes made as asked.
    Clean,
    /// `check` found changes.
    WouldChange,
    /// Some files could not be processed; every other file was.
    SomeFilesFailed,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        match outcome {
            Outcome::Clean => ExitCode::SUCCESS,
            Outcome::WouldChange => ExitCode::from(1),
            Outcome::SomeFilesFailed => ExitCode::from(3),
        }
    }
}

/// The name of the rules file looked for at the repository root.
pub const RULES_FILE_NAME: &str = ".pullsmith.yaml";

/// Runs one command. An `Err` is a usage error or invalid rules: exit 2,
/// nothing read or written.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let global = cli.global;
    match cli.command {
        Command::Rules(command) => run_rules(command, &global),
        Command::Diff(path) => run_files(&global, &path.path, Mode::Diff),
        Command::Check { path, diff } => run_files(&global, &path.path, Mode::Check { diff }),
        Command::Apply(path) => run_files(&global, &path.path, Mode::Apply),
        Command::Explain(path) => run_files(&global, &path.path, Mode::Explain),
        Command::Init { path, stdout } => run_init(&global, &path, stdout),
        Command::Completions { shell } => run_completions(&global, shell),
        Command::Man => run_man(&global),
        Command::Commit { path, branch, reset_branch, message, author, allow_dirty } => {
            let options = CommitOptions { branch, reset_branch, message, author, allow_dirty };
            run_commit(&global, &path.path, &options)
        }
    }
}

/// `init`: infer rules for the repository holding `path` and write them at
/// its root, never over anything already there (or print them, `--stdout`).
fn run_init(global: &GlobalArgs, path: &Path, to_stdout: bool) -> anyhow::Result<Outcome> {
    // Each would change what the inferred rules mean, or what they are inferred from.
    if global.rules.is_some() || global.env.is_some() || !global.include.is_empty() || !global.exclude.is_empty() {
        bail!("`init` infers the rules from the whole repository; it takes no `--rules`, `--env`, `--include` or `--exclude`");
    }
    if let Some(jobs) = global.jobs {
        // As in `run_config`: a pool that exists already (in tests) is kept.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(usize::from(jobs)).build_global();
    }
    if !path.is_dir() {
        bail!("{}: not a directory", emit::quote::path(&path.display().to_string()));
    }
    let root = init::repository_root(path);
    let target = root.join(RULES_FILE_NAME);
    // `.pullsmith.yaml`, not `./.pullsmith.yaml`, for the usual `pullsmith init`.
    let target_name = if root == Path::new(".") { PathBuf::from(RULES_FILE_NAME) } else { target.clone() };
    let shown_target = emit::quote::path(&target_name.display().to_string()).into_owned();
    let exists = |what| init::InitError::Exists { path: shown_target.clone(), what };
    // Checked before the walk so a refusal is quick; `create_new` checks again.
    if !to_stdout {
        if let Ok(metadata) = std::fs::symlink_metadata(&target) {
            return Err(exists(fsio::kind_of(metadata.file_type())).into());
        }
    }
    let inference = init::infer(&root, global.max_file_size)?;
    let text = inference.rules_text();
    if to_stdout {
        std::io::stdout().lock().write_all(text.as_bytes())?;
        let mut stderr = std::io::stderr().lock();
        stderr.write_all(inference.summary().as_bytes())?;
        if std::fs::symlink_metadata(&target).is_ok() {
            writeln!(stderr, "pullsmith: note: {shown_target} exists and is what runs use; init never replaces it")?;
        }
        return Ok(Outcome::Clean);
    }
    if inference.is_empty() {
        let root = emit::quote::path(&root.display().to_string()).into_owned();
        return Err(init::InitError::NothingInferred { root }.into());
    }
    // A temporary file, then link(2) to the name: whatever takes the name
    // meanwhile (a file, a dangling link) is never replaced.
    if let Err(err) = fsio::write::create_new(&target, text.as_bytes()) {
        return match std::fs::symlink_metadata(&target) {
            Ok(metadata) => Err(exists(fsio::kind_of(metadata.file_type())).into()),
            Err(_) => Err(anyhow::Error::from(err).context(format!("{shown_target}: cannot write"))),
        };
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(inference.summary().as_bytes())?;
    writeln!(
        stdout,
        "pullsmith: wrote {shown_target}; no pull secrets were set (see its commented `imagePullSecrets` lines). Next: `pullsmith diff`"
    )?;
    Ok(Outcome::Clean)
}

/// `completions SHELL`: the script clap_complete writes from the same clap
/// definitions as the parser, so it never offers an option that is gone.
fn run_completions(global: &GlobalArgs, shell: Shell) -> anyhow::Result<Outcome> {
    refuse_options(global, "completions", &[])?;
    let generator = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::PowerShell => clap_complete::Shell::PowerShell,
    };
    let mut stdout = std::io::stdout().lock();
    clap_complete::generate(generator, &mut Cli::command(), "pullsmith", &mut stdout);
    stdout.flush()?;
    Ok(Outcome::Clean)
}

/// `man`: the manual page (roff), from the clap definitions as `--help` is.
fn run_man(global: &GlobalArgs) -> anyhow::Result<Outcome> {
    refuse_options(global, "man", &[])?;
    std::io::stdout().lock().write_all(&man_page()?)?;
    Ok(Outcome::Clean)
}

/// The variables pullsmith reads, for the manual page's ENVIRONMENT.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("NO_COLOR", "Set and not empty: no colour with --color auto (https://no-color.org)."),
    ("CI", "Set: no progress line, even on a terminal."),
    (
        "GITHUB_OUTPUT, GITHUB_STEP_SUMMARY",
        "With --format github: the step outputs and the job summary are written there.",
    ),
    (
        "GIT_AUTHOR_NAME, GIT_AUTHOR_EMAIL, GIT_COMMITTER_NAME, GIT_COMMITTER_EMAIL",
        "commit: the author and committer when --author and the repository's configuration do not name them.",
    ),
];

/// One page for everything, as the release archives ship `man/pullsmith.1`
/// alone: clap_mangen's sections for the program and its global options,
/// then each command with its own arguments, where clap_mangen would point
/// at `pullsmith-check(1)` pages that do not exist.
fn man_page() -> std::io::Result<Vec<u8>> {
    use clap_mangen::roff::{bold, italic, roman, Roff};

    let mut command = Cli::command();
    command.build();
    // The footer names the release; the build's commit is in VERSION.
    let page = clap_mangen::Man::new(command.clone()).source(format!("pullsmith {}", env!("CARGO_PKG_VERSION")));
    let mut out = Vec::new();
    page.render_title(&mut out)?;
    page.render_name_section(&mut out)?;
    page.render_synopsis_section(&mut out)?;
    page.render_description_section(&mut out)?;
    page.render_options_section(&mut out)?;

    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    let mut commands: Vec<clap::Command> = Vec::new();
    for sub in command.get_subcommands().filter(|sub| sub.get_name() != "help") {
        if sub.has_subcommands() {
            commands.extend(sub.get_subcommands().filter(|sub| sub.get_name() != "help").cloned());
        } else {
            commands.push(sub.clone());
        }
    }
    for mut sub in commands {
        let usage = sub.render_usage().to_string();
        roff.control("SS", [usage.trim_start_matches("Usage: ")]);
        let about = sub.get_long_about().or_else(|| sub.get_about()).map(|text| text.to_string()).unwrap_or_default();
        man_paragraphs(&mut roff, &about, "PP");
        // The global options are in OPTIONS above; `-h` is everywhere.
        for arg in sub.get_arguments().filter(|arg| !arg.is_global_set() && arg.get_id() != "help") {
            let value_names: Vec<String> = if arg.get_action().takes_values() {
                arg.get_value_names().unwrap_or_default().iter().map(|name| format!("<{name}>")).collect()
            } else {
                Vec::new()
            };
            let header = match arg.get_long() {
                Some(long) if value_names.is_empty() => vec![bold(format!("--{long}"))],
                Some(long) => vec![bold(format!("--{long}")), roman(" "), italic(value_names.join(" "))],
                None => vec![italic(value_names.join(" "))],
            };
            roff.control("TP", []);
            roff.text(header);
            let help = arg.get_long_help().or_else(|| arg.get_help()).map(|text| text.to_string()).unwrap_or_default();
            man_paragraphs(&mut roff, &help, "IP");
        }
    }

    roff.control("SH", ["EXAMPLES"]);
    for (what, lines) in cli::EXAMPLES {
        roff.control("PP", []);
        roff.text([roman(*what)]);
        roff.control("RS", []);
        roff.control("nf", []);
        for line in *lines {
            roff.text([bold(*line)]);
        }
        roff.control("fi", []);
        roff.control("RE", []);
    }
    for (heading, items) in [("EXIT STATUS", cli::EXIT_STATUS), ("ENVIRONMENT", ENVIRONMENT)] {
        roff.control("SH", [heading]);
        for (name, meaning) in items {
            roff.control("TP", []);
            roff.text([bold(*name)]);
            roff.text([roman(*meaning)]);
        }
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman("README.md, and https://github.com/pullsmith/pullsmith")]);
    roff.control("SH", ["VERSION"]);
    roff.text([roman(format!("pullsmith {}", cli::VERSION))]);
    roff.to_writer(&mut out)?;
    Ok(out)
}

/// Help text as roff paragraphs, each after a `separator` request (`PP`, or
/// `IP` to stay under a `.TP` item) but the first. A paragraph whose lines
/// are indented is a table (`completions`) and keeps its lines.
fn man_paragraphs(roff: &mut clap_mangen::roff::Roff, text: &str, separator: &str) {
    use clap_mangen::roff::roman;
    for (index, paragraph) in text.split("\n\n").enumerate() {
        if index > 0 {
            roff.control(separator, []);
        }
        if paragraph.lines().all(|line| line.starts_with("  ")) {
            roff.control("nf", []);
            for line in paragraph.lines() {
                roff.text([roman(line.trim_start())]);
            }
            roff.control("fi", []);
        } else {
            roff.text([roman(paragraph.replace('\n', " "))]);
        }
    }
}

/// Whether the diff is coloured. `auto` colours only a terminal, and not
/// when `NO_COLOR` is set to anything but the empty string
/// (https://no-color.org); `always` and `never` are never overridden.
fn diff_in_colour(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        }
    }
}

/// `commit`'s own options.
struct CommitOptions {
    branch: Option<String>,
    /// Rebuild an existing `--branch` that HEAD is not on from HEAD.
    reset_branch: bool,
    message: Option<String>,
    author: Option<String>,
    allow_dirty: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Diff,
    Check { diff: bool },
    Apply,
    Explain,
    Commit,
}

fn run_rules(command: RulesCommand, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let (name, allowed): (&str, &[&str]) = match &command {
        RulesCommand::Schema => ("rules schema", &[]),
        RulesCommand::Default => ("rules default", &[]),
        RulesCommand::Validate { .. } => ("rules validate", &["--rules", "--env"]),
    };
    refuse_options(global, name, allowed)?;
    let mut stdout = std::io::stdout().lock();
    match command {
        RulesCommand::Schema => stdout.write_all(rules::RULES_SCHEMA.as_bytes())?,
        RulesCommand::Default => stdout.write_all(rules::DEFAULT_RULES.as_bytes())?,
        RulesCommand::Validate { file } => {
            let file = file.or_else(|| global.rules.clone());
            let rules = match &file {
                Some(path) => Rules::from_file(path)?,
                None => load_rules(global, &Repository::locate(Path::new(".")))?,
            };
            if let Some(name) = &global.env {
                rules.environment_index(name)?;
            }
            writeln!(
                stdout,
                "{}: valid ({} environments, {} image rules, {} workloads)",
                rules.origin,
                rules.environments.len(),
                rules.images.len(),
                rules.workloads.len()
            )?;
        }
    }
    Ok(Outcome::Clean)
}

/// Refuses (exit 2) a global option that `command` does not take, rather
/// than ignoring it: `rules schema --format json` would otherwise print
/// YAML-looking JSON Schema text and let the user think the option worked.
fn refuse_options(global: &GlobalArgs, command: &str, allowed: &[&str]) -> anyhow::Result<()> {
    let given = [
        ("--rules", global.rules.is_some()),
        ("--env", global.env.is_some()),
        ("--include", !global.include.is_empty()),
        ("--exclude", !global.exclude.is_empty()),
        ("--jobs", global.jobs.is_some()),
        ("--format", global.format != Format::Text),
        ("--report", global.report.is_some()),
        ("--color", global.color != ColorChoice::Auto),
        ("--quiet", global.quiet),
        ("--max-file-size", global.max_file_size != cli::DEFAULT_MAX_FILE_SIZE),
    ];
    let refused: Vec<&str> =
        given.iter().filter(|(name, on)| *on && !allowed.contains(name)).map(|(n, _)| *n).collect();
    if !refused.is_empty() {
        bail!("`{command}` takes no {} option", refused.join(", "));
    }
    Ok(())
}

/// `--rules FILE`, else the first `.pullsmith.yaml` from `path` up to the
/// repository root, else the embedded default. The repository's own file is
/// read only when it is a regular file or a link to one inside the
/// repository (not into `.git`): anything else is refused, exit 2, naming
/// the link and reading nothing.
fn load_rules(global: &GlobalArgs, repository: &Repository) -> anyhow::Result<Rules> {
    if let Some(path) = &global.rules {
        return Ok(Rules::from_file(path)?);
    }
    for dir in repository.lookup_dirs() {
        if let Some(found) = rules::find_in_repository(&dir, &repository.root, RULES_FILE_NAME)? {
            return Ok(Rules::from_repository_file(&found)?);
        }
    }
    Ok(Rules::embedded_default())
}

/// Where a run works: the repository root (the git work tree that holds
/// PATH, else PATH itself) and PATH below it.
///
/// Why the root and not PATH: the rules' globs mean the same whatever
/// directory a run is pointed at (`pullsmith diff deploy` and `pullsmith
/// diff .` agree on every file of `deploy/`), paths in diffs, reports and
/// annotations are relative to the root as git and GitHub expect them, and
/// a kustomization in PATH may build on a base beside it.
#[derive(Debug, Clone)]
pub struct Repository {
    pub root: PathBuf,
    /// PATH relative to `root`, `/`-separated; empty when PATH is the root.
    pub scope: String,
    /// PATH as given, for lookups between it and the root.
    path: PathBuf,
}

impl Repository {
    pub fn locate(path: &Path) -> Repository {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let repo = git2::Repository::discover(&canonical).ok();
        let workdir = repo.as_ref().and_then(|repo| repo.workdir().and_then(|dir| dir.canonicalize().ok()));
        let in_work_tree = |root: &Path| -> Option<String> {
            let relative = canonical.strip_prefix(root).ok()?;
            // A PATH that the work tree ignores (a checkout kept in another
            // repository's `vendor/` or `.cache/`) is not part of it: the
            // walk of that work tree would skip it whole.
            if !relative.as_os_str().is_empty() && repo.as_ref()?.is_path_ignored(relative).unwrap_or(false) {
                return None;
            }
            Some(relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
        };
        match workdir.and_then(|root| in_work_tree(&root).map(|scope| (root, scope))) {
            Some((root, scope)) => Repository { root, scope, path: canonical },
            None => Repository { root: path.to_path_buf(), scope: String::new(), path: path.to_path_buf() },
        }
    }

    /// PATH, then each directory above it up to the root.
    fn lookup_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = vec![self.path.clone()];
        let mut dir = self.path.as_path();
        while dir != self.root {
            match dir.parent() {
                Some(parent) if parent.starts_with(&self.root) => {
                    dirs.push(parent.to_path_buf());
                    dir = parent;
                }
                _ => break,
            }
        }
        dirs
    }
}

fn run_config(global: &GlobalArgs, path: &Path, mode: Mode) -> anyhow::Result<RunConfig> {
    if !path.is_dir() {
        bail!("{}: not a directory", path.display());
    }
    let repository = Repository::locate(path);
    let rules = load_rules(global, &repository)?;
    let forced_environment = global.env.as_deref().map(|name| rules.environment_index(name)).transpose()?;
    // A glob past the limit makes globset build a regex too large, and is
    // never what a user means; the message names the option, not the glob.
    for (option, globs) in [("--include", &global.include), ("--exclude", &global.exclude)] {
        for glob in globs.iter() {
            let n_chars = glob.chars().count();
            if n_chars > rules::MAX_GLOB_CHARS {
                bail!(
                    "`{option}` glob `{}` is {n_chars} characters long, more than the limit of {}",
                    rules::token(glob),
                    rules::MAX_GLOB_CHARS
                );
            }
        }
    }
    let mut exclude = global.exclude.clone();
    exclude.extend(rules.exclude.iter().map(|(pattern, _)| pattern.text.clone()));
    let filter = PathFilter::new(&global.include, &exclude).map_err(anyhow::Error::msg)?.with_scope(&repository.scope);
    if let Some(jobs) = global.jobs {
        // clap has checked 1..=cli::MAX_JOBS.
        // A second initialisation fails when a pool exists already (in tests); that pool is kept.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(usize::from(jobs)).build_global();
    }
    Ok(RunConfig {
        root: repository.root,
        rules,
        forced_environment,
        filter,
        max_file_size: global.max_file_size,
        write: mode == Mode::Apply,
        // rdjson suggests each fix as the new text of its lines, so it needs the old.
        keep_texts: matches!(mode, Mode::Diff | Mode::Check { diff: true })
            || matches!(global.format, Format::Github | Format::Rdjson),
        explain: mode == Mode::Explain,
        // The text format lists no change (its diffs are kept texts).
        keep_changes: global.format != Format::Text
            || global.report.is_some()
            || matches!(mode, Mode::Diff | Mode::Check { diff: true } | Mode::Explain | Mode::Commit),
    })
}

fn run_files(global: &GlobalArgs, root: &Path, mode: Mode) -> anyhow::Result<Outcome> {
    let config = run_config(global, root, mode)?;
    check_report_path(global, &config.root, &[])?;
    let progress = emit::progress::Progress::start(global.quiet);
    let report = pipeline::run(&config);
    progress.finish();
    let has_errors = report.errors().next().is_some();
    if let Err(err) = print_report(global, mode, &report, &config.rules, None, None) {
        // Files written are written: a failure now is not a refusal (exit 2).
        let n_written = report.n_written();
        if n_written == 0 {
            return Err(err).context("cannot print the report");
        }
        eprintln!("pullsmith: error: cannot print the report: {err}; {n_written} files were written");
        return Ok(Outcome::SomeFilesFailed);
    }
    Ok(if has_errors {
        Outcome::SomeFilesFailed
    } else if matches!(mode, Mode::Check { .. }) && report.n_changed() > 0 {
        Outcome::WouldChange
    } else {
        Outcome::Clean
    })
}

/// Refuses, before anything is read or written, a `--report FILE` that
/// could not be written, or that would overwrite a file pullsmith reads or
/// edits: a manifest or kustomization below `root` (any `.yaml`/`.yml`, a
/// `Kustomization`, a `.gitignore`), anything in a `.git` directory or in
/// `git_dirs`, the rules file; and never through a link or onto a file with
/// several hard links. Found after the run, a bad report path would turn a
/// finished write or commit into a failure.
fn check_report_path(global: &GlobalArgs, root: &Path, git_dirs: &[PathBuf]) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;

    let Some(path) = &global.report else { return Ok(()) };
    let shown = path.display();
    let Some(name) = path.file_name() else { bail!("--report `{shown}`: not a file name") };
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let dir = parent
        .canonicalize()
        .with_context(|| format!("--report `{shown}`: cannot use directory `{}`", parent.display()))?;
    if !dir.is_dir() {
        bail!("--report `{shown}`: `{}` is not a directory", parent.display());
    }
    let target = dir.join(name);

    let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let name_text = name.to_string_lossy();
    let read_below_root = target.strip_prefix(&canonical_root).is_ok_and(|rel| {
        discover::is_yaml_name(&name_text)
            || name_text == "Kustomization"
            || name_text == ".gitignore"
            || rel.components().any(|c| c.as_os_str() == ".git")
    });
    let in_git_dir = git_dirs.iter().any(|git_dir| target.starts_with(git_dir));
    let is_rules =
        global.rules.as_ref().and_then(|rules| rules.canonicalize().ok()).is_some_and(|rules| rules == target);
    if read_below_root || in_git_dir || is_rules {
        bail!("--report `{shown}`: pullsmith reads that file; write the report outside the repository's manifests");
    }

    match std::fs::symlink_metadata(&target) {
        Ok(metadata) if metadata.file_type().is_symlink() => {
            bail!("--report `{shown}`: is a symbolic link; pullsmith does not write through links")
        }
        Ok(metadata) if !metadata.is_file() => bail!("--report `{shown}`: not a regular file"),
        Ok(metadata) if metadata.nlink() > 1 => {
            bail!(
                "--report `{shown}`: has {} hard links; writing it would change the other names too",
                metadata.nlink()
            )
        }
        // Opened for writing without truncating: the permission is checked and nothing changes.
        Ok(_) => {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&target)
                .with_context(|| format!("--report `{shown}`: cannot write"))?;
        }
        // Created empty and removed again: the directory takes new files.
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&target)
                .with_context(|| format!("--report `{shown}`: cannot create"))?;
            let _ = std::fs::remove_file(&target);
        }
        Err(err) => return Err(err).with_context(|| format!("--report `{shown}`: cannot use")),
    }
    Ok(())
}

/// Prints what a run found, in the chosen format, and writes the side
/// outputs: `--report FILE`, and under `--format github` the job summary and
/// step outputs. `commit` is the new commit of `commit`, if one was made;
/// `note`, a line `commit` prints after it (or instead of "compliant").
fn print_report(
    global: &GlobalArgs,
    mode: Mode,
    report: &RunReport,
    rules: &Rules,
    commit: Option<&str>,
    note: Option<&str>,
) -> std::io::Result<()> {
    if let Some(path) = &global.report {
        std::fs::write(path, emit::json::render(report, commit))?;
    }
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    match global.format {
        Format::Json if mode == Mode::Explain => {
            stdout.write_all(emit::explain::render_json(report, rules).as_bytes())?;
            return stderr.write_all(emit::diagnostics(report, true).as_bytes());
        }
        Format::Json => {
            stdout.write_all(emit::json::render(report, commit).as_bytes())?;
            return stderr.write_all(emit::diagnostics(report, true).as_bytes());
        }
        Format::Sarif => {
            stdout.write_all(emit::sarif::render(report).as_bytes())?;
            return stderr.write_all(emit::diagnostics(report, true).as_bytes());
        }
        Format::Rdjson => {
            stdout.write_all(emit::rdjson::render(report).as_bytes())?;
            return stderr.write_all(emit::diagnostics(report, true).as_bytes());
        }
        Format::Gitlab => {
            stdout.write_all(emit::gitlab::render(report).as_bytes())?;
            return stderr.write_all(emit::diagnostics(report, true).as_bytes());
        }
        Format::Text | Format::Github => {}
    }
    match mode {
        Mode::Diff | Mode::Check { diff: true } => {
            let diffs = emit::diffs(report);
            let diffs = if diff_in_colour(global.color) { emit::diff::colorize(&diffs) } else { diffs };
            stdout.write_all(diffs.as_bytes())?;
        }
        Mode::Explain => stdout.write_all(emit::explain::render(report, rules).as_bytes())?,
        Mode::Commit => {
            if let Some(id) = commit {
                writeln!(stdout, "pullsmith: committed {id}")?;
            }
            match note {
                Some(note) => writeln!(stdout, "{note}")?,
                // "Compliant" only about what was covered (see `emit::coverage_verdict`).
                None if commit.is_none() && report.containers_covered == 0 => writeln!(
                    stdout,
                    "pullsmith: nothing to commit, and nothing covered: no container is under the rules"
                )?,
                None if commit.is_none() => {
                    writeln!(stdout, "pullsmith: the repository is compliant; nothing to commit")?
                }
                None => {}
            }
        }
        Mode::Check { diff: false } | Mode::Apply => {}
    }
    if global.format == Format::Github {
        stdout.write_all(emit::github::annotations(report).as_bytes())?;
        emit::github::write_step_files(report, rules)?;
    }
    // The rules line even under -q: which rules decided is part of the verdict.
    stderr.write_all(emit::rules_line(report).as_bytes())?;
    stderr.write_all(emit::diagnostics(report, global.quiet).as_bytes())?;
    if matches!(mode, Mode::Check { .. }) && report.n_changed() == 0 && report.errors().next().is_none() {
        stderr.write_all(emit::coverage_verdict(report).as_bytes())?;
    }
    let summary = emit::summary(report);
    if matches!(mode, Mode::Apply | Mode::Commit) {
        stdout.write_all(summary.as_bytes())?;
    } else {
        stderr.write_all(summary.as_bytes())?;
    }
    Ok(())
}

/// The lines of an error that ends the run (exit 2): the error, then, for
/// invalid rules, every other mistake of the file at its own line and column.
pub fn error_lines(err: &anyhow::Error) -> Vec<String> {
    let mut lines = vec![error_message(err)];
    if let Some(rules::RulesError::Invalid { origin, more, .. }) = err.downcast_ref::<rules::RulesError>() {
        for (line, column, message) in more {
            lines.push(emit::quote::one_line(&format!("{origin}:{line}:{column}: {message}")).into_owned());
        }
    }
    lines
}

/// The text of an error that ends the run (exit 2), on one line: the error
/// and its causes joined by `: `, each said once. Layers that already print their
/// cause (`git: {0}` over a `#[from]` source) or that add a context the
/// cause repeats (`x.yaml: cannot write` and `cannot write: …`) would
/// otherwise print it twice.
pub fn error_message(err: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || message.contains(&text) {
            continue;
        }
        if message.is_empty() {
            message = text;
            continue;
        }
        // Drop the cause's first segments that the message already ends with.
        let cause_parts: Vec<&str> = text.split(": ").collect();
        let overlap =
            (1..cause_parts.len()).rev().find(|n| message.ends_with(&cause_parts[..*n].join(": "))).unwrap_or(0);
        message.push_str(": ");
        message.push_str(&cause_parts[overlap..].join(": "));
    }
    // One line, whatever a path or a git message in it holds.
    emit::quote::one_line(&message).into_owned()
}

/// `commit`: plan as `diff` does, refuse dirty files, prepare the commit
/// (locks, blobs, where `--branch` stands), write, then commit exactly the
/// files written. Every refusal (exit 2) comes before the first write; after
/// it, a failure is exit 3 with a message saying what was written.
///
/// Re-runnable on a schedule: nothing to change is exit 0 whatever state
/// `--branch` is in, and an existing `--branch` that HEAD is not on and that
/// already holds this rewrite is exit 0 with nothing done (see
/// [`git::Checkout::prepare`]). With `--reset-branch` such a branch that does
/// not hold it is rebuilt from HEAD without touching HEAD, the index or the
/// work tree ([`git::Placement::ResetBranch`]).
fn run_commit(global: &GlobalArgs, root: &Path, options: &CommitOptions) -> anyhow::Result<Outcome> {
    let checkout = git::Checkout::open(root)?;
    if let Some(message) = &options.message {
        git::check_message(message)?;
    }
    if let Some(branch) = &options.branch {
        checkout.check_branch_name(branch)?;
    }
    let author = checkout.author(options.author.as_deref())?;
    let mut config = run_config(global, root, Mode::Diff)?;
    check_report_path(global, checkout.workdir(), &checkout.git_dirs())?;
    config.keep_texts = true;
    let progress = emit::progress::Progress::start(global.quiet);
    let mut report = pipeline::run(&config);
    progress.finish();

    // Only tracked files are rewritten, and the overlay patches pullsmith
    // generates, which are part of the rewrite even while untracked (left by
    // an earlier `apply`, say): a kustomization is never committed naming a
    // patch file that the commit does not hold.
    let generated: BTreeSet<String> = report
        .overlays
        .iter()
        .filter(|plan| plan.errors.is_empty())
        .flat_map(|plan| {
            let planned = plan.planned.iter().map(|patch| patch.file.clone());
            planned.chain(plan.files.iter().filter(|(_, content)| content.is_some()).map(|(path, _)| path.clone()))
        })
        .collect();
    for file in &mut report.files {
        let untracked =
            matches!(file.status, pipeline::FileStatus::Changed { action: crate::common::FileAction::Modify, .. })
                && !generated.contains(&file.path)
                && !checkout.is_tracked(&file.path);
        if untracked {
            file.status = pipeline::FileStatus::Unchanged;
            report.warnings.push(crate::common::Diagnostic {
                path: file.path.clone(),
                line: None,
                column: None,
                message: "not tracked by git: `commit` rewrites tracked files only".to_string(),
                rule: "untracked-file",
            });
        }
    }
    let changed: Vec<(git::CommitFile, crate::common::FileAction)> = report
        .files
        .iter()
        .filter_map(|file| match &file.status {
            pipeline::FileStatus::Changed { new_text, action, .. } => {
                let content = (*action != crate::common::FileAction::Delete).then(|| new_text.as_bytes().to_vec());
                Some((
                    git::CommitFile { path: file.path.clone(), abs_path: config.root.join(&file.path), content },
                    *action,
                ))
            }
            _ => None,
        })
        .collect();
    if !options.allow_dirty {
        let paths: Vec<String> = changed.iter().map(|(file, _)| file.path.clone()).collect();
        let dirty = checkout.dirty(&paths)?;
        if !dirty.is_empty() {
            return Err(git::CommitError::Dirty { paths: dirty }.into());
        }
    }
    if changed.is_empty() {
        let not_committed = rewrite_not_committed(&checkout, &config, &report)?;
        if !not_committed.is_empty() {
            return Err(git::CommitError::RewriteNotCommitted { paths: not_committed }.into());
        }
        print_report(global, Mode::Commit, &report, &config.rules, None, None)?;
        return Ok(if report.errors().next().is_some() { Outcome::SomeFilesFailed } else { Outcome::Clean });
    }
    let mut changed = changed;
    for path in &generated {
        if changed.iter().any(|(file, _)| &file.path == path) || checkout.is_tracked(path) {
            continue;
        }
        // Not planned, so on disk already as the rewrite wants it: committed,
        // and written again unchanged.
        let abs_path = config.root.join(path);
        let Ok(Some(text)) = fsio::read_existing_text(&abs_path, config.max_file_size) else { continue };
        let file = git::CommitFile { path: path.clone(), abs_path, content: Some(text.into_bytes()) };
        changed.push((file, crate::common::FileAction::Modify));
    }
    let files: Vec<git::CommitFile> = changed.iter().map(|(file, _)| file.clone()).collect();
    let prepared = match checkout.prepare(options.branch.as_deref(), options.reset_branch, &files)? {
        git::Preparation::Ready(prepared) => prepared,
        git::Preparation::AlreadyOnBranch { branch, commit } => {
            let short = &commit.to_string()[..12];
            let note = format!(
                "pullsmith: branch `{branch}` already holds this rewrite of HEAD (commit {short}); nothing to commit"
            );
            print_report(global, Mode::Commit, &report, &config.rules, None, Some(&note))?;
            return Ok(if report.errors().next().is_some() { Outcome::SomeFilesFailed } else { Outcome::Clean });
        }
    };

    // From the first write on, nothing is a refusal: a file that cannot be
    // written is a per-file error (it is untouched, the others go on), and
    // a commit that cannot be completed is exit 3 naming what was written.
    // A branch rebuilt beside HEAD (`--reset-branch`) is made of objects
    // only: no file is written.
    let writes_work_tree = prepared.writes_work_tree();
    let mut written = Vec::new();
    for (file, action) in changed {
        if !writes_work_tree {
            written.push(file);
            continue;
        }
        let contents = file.content.as_deref().unwrap_or_default();
        match fsio::write::write_change(&file.abs_path, action, contents) {
            Ok(()) => written.push(file),
            Err(err) => {
                if let Some(result) = report.files.iter_mut().find(|result| result.path == file.path) {
                    result.status = pipeline::FileStatus::Failed(crate::common::Diagnostic {
                        path: file.path.clone(),
                        line: None,
                        column: None,
                        message: format!("cannot write: {err}; left as it was and not committed"),
                        rule: "file-error",
                    });
                }
            }
        }
    }
    let mut failed_after_write = false;
    let mut commit_id = None;
    if written.is_empty() {
        drop(prepared);
    } else {
        let message = options.message.clone().unwrap_or_else(|| default_message(&report));
        match prepared.commit(&written, &message, &author) {
            Ok(id) => commit_id = Some(id.to_string()),
            Err(err) if !writes_work_tree => {
                eprintln!("pullsmith: error: nothing was written or committed: {err}");
                failed_after_write = true;
            }
            Err(err) => {
                let paths: Vec<&str> = written.iter().map(|file| file.path.as_str()).collect();
                eprintln!("pullsmith: error: wrote {}, but {err}", paths.join(", "));
                failed_after_write = true;
            }
        }
    }
    let note = match (&options.branch, writes_work_tree, &commit_id) {
        (Some(branch), false, Some(_)) => Some(format!(
            "pullsmith: branch `{branch}` rebuilt from HEAD (--reset-branch); HEAD, the index and the working tree are unchanged"
        )),
        _ => None,
    };
    // Not "compliant, nothing to commit" when the commit failed: printed as `apply` would.
    let shown_mode = if failed_after_write { Mode::Apply } else { Mode::Commit };
    if let Err(err) = print_report(global, shown_mode, &report, &config.rules, commit_id.as_deref(), note.as_deref()) {
        match &commit_id {
            Some(id) => eprintln!("pullsmith: error: committed {id}, but cannot print the report: {err}"),
            None => eprintln!("pullsmith: error: files were written, but cannot print the report: {err}"),
        }
        return Ok(Outcome::SomeFilesFailed);
    }
    Ok(if failed_after_write || report.errors().next().is_some() { Outcome::SomeFilesFailed } else { Outcome::Clean })
}

/// When the work tree needs no change: the files pullsmith would rewrite in
/// HEAD's version of the repository, if the work tree holds their rewrite
/// uncommitted (`pullsmith apply`, then `pullsmith commit`). Empty when HEAD
/// is compliant too.
///
/// How: only when some tracked file that the run read differs from HEAD (a
/// clean work tree is HEAD, and it was just found compliant), the same run
/// (rules, PATH, `--include`/`--exclude`, `--env`) is made on a temporary
/// copy of HEAD's files. That is exact, kustomize overlays and shared bases
/// included, and costs nothing in the usual case of a clean tree.
fn rewrite_not_committed(
    checkout: &git::Checkout,
    config: &RunConfig,
    report: &RunReport,
) -> anyhow::Result<Vec<String>> {
    let dirty = checkout.dirty_tracked()?;
    // A dirty file that the run may have read (a quiet one is not listed).
    let may_have_read =
        |path: &str| report.files.iter().any(|f| f.path == path) || discover::may_read(&config.filter, path);
    if !dirty.iter().any(|path| may_have_read(path)) {
        return Ok(Vec::new());
    }
    let snapshot = checkout.head_snapshot()?;
    let mut head_config = config.clone();
    head_config.root = snapshot.path().to_path_buf();
    head_config.write = false;
    head_config.keep_texts = false;
    head_config.explain = false;
    let head_report = pipeline::run(&head_config);
    Ok(head_report
        .files
        .iter()
        .filter(|file| matches!(file.status, pipeline::FileStatus::Changed { .. }))
        .map(|file| file.path.clone())
        .collect())
}

/// A one-line summary, then per environment the containers and pod specs
/// changed and the files.
fn default_message(report: &RunReport) -> String {
    let mut by_env: std::collections::BTreeMap<String, (usize, usize, Vec<&str>)> = Default::default();
    for file in &report.files {
        if !matches!(file.status, pipeline::FileStatus::Changed { .. }) {
            continue;
        }
        let plan = file.plan.as_ref();
        let env = plan.and_then(|p| p.environment.clone()).unwrap_or_else(|| "(kustomize)".to_string());
        let entry = by_env.entry(env).or_default();
        entry.0 += plan.map_or(0, |p| p.containers_changed);
        entry.1 += plan.map_or(0, |p| p.pod_specs_changed);
        entry.2.push(&file.path);
    }
    let n_files: usize = by_env.values().map(|(_, _, files)| files.len()).sum();
    let mut message = format!(
        "pullsmith: set image pull policies and secrets in {n_files} file{}\n",
        if n_files == 1 { "" } else { "s" }
    );
    for (env, (containers, pods, files)) in by_env {
        message.push_str(&format!("\n{env}: {containers} containers, {pods} pod specs\n"));
        for file in files {
            message.push_str(&format!("  {file}\n"));
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::error_message;

    fn is_a_directory() -> std::io::Error {
        std::io::Error::from_raw_os_error(21)
    }

    #[test]
    fn an_error_message_says_each_cause_once() {
        let cause = is_a_directory().to_string();
        // A context that already quotes its cause.
        let err = anyhow::Error::from(is_a_directory()).context(format!("cannot read rules file: {cause}"));
        assert_eq!(error_message(&err), format!("cannot read rules file: {cause}"));
        // A cause that repeats the context's last part.
        let err = anyhow::Error::from(is_a_directory()).context(format!("x.yaml: {cause}"));
        assert_eq!(error_message(&err), format!("x.yaml: {cause}"));
        // Nested contexts, each adding something new, are all kept, once each.
        let err = anyhow::Error::from(is_a_directory()).context("cannot write").context("x.yaml");
        assert_eq!(error_message(&err), format!("x.yaml: cannot write: {cause}"));
        assert_eq!(error_message(&err).matches(&cause).count(), 1);
    }

    #[test]
    fn an_error_message_is_one_line() {
        let err = anyhow::anyhow!("two\nlines");
        assert!(!error_message(&err).contains('\n'));
    }
}
