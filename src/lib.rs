//! pullsmith keeps the container image pull policy and image pull secrets of
//! a GitOps repository right, per environment.
//!
//! The pipeline, one module per step: `rules` (typed rules file) →
//! `discover` (walk) → `yaml` (positional parse) → `manifest` + `plan`
//! (wanted changes as byte splices) → `edit` (apply splices) → `verify`
//! (re-parse) → `emit` (diff, report, write). `pipeline` runs the steps over
//! files in parallel; this file turns command-line arguments into a run and
//! a run into an exit status.

pub mod cli;
pub mod discover;
pub mod edit;
pub mod emit;
pub mod fsio;
pub mod git;
pub mod kustomize;
pub mod manifest;
pub mod pipeline;
pub mod plan;
pub mod rules;
pub mod verify;
pub mod yaml;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};

use cli::{Cli, ColorChoice, Command, Format, GlobalArgs, RulesCommand};
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
        Command::Commit { path, branch, message, author, allow_dirty } => {
            let options = CommitOptions { branch, message, author, allow_dirty };
            run_commit(&global, &path.path, &options)
        }
    }
}

/// `commit`'s own options.
struct CommitOptions {
    branch: Option<String>,
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
    let mut stdout = std::io::stdout().lock();
    match command {
        RulesCommand::Schema => stdout.write_all(rules::RULES_SCHEMA.as_bytes())?,
        RulesCommand::Default => stdout.write_all(rules::DEFAULT_RULES.as_bytes())?,
        RulesCommand::Validate { file } => {
            let file = file.or_else(|| global.rules.clone());
            let rules = match &file {
                Some(path) => Rules::from_file(path)?,
                None => load_rules(global, Path::new("."))?,
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

/// `--rules FILE`, else `.pullsmith.yaml` at the repository root, else the embedded default.
fn load_rules(global: &GlobalArgs, root: &Path) -> anyhow::Result<Rules> {
    if let Some(path) = &global.rules {
        return Ok(Rules::from_file(path)?);
    }
    let local = root.join(RULES_FILE_NAME);
    if local.is_file() {
        return Ok(Rules::from_file(&local)?);
    }
    Ok(Rules::embedded_default())
}

fn run_config(global: &GlobalArgs, root: &Path, mode: Mode) -> anyhow::Result<RunConfig> {
    if !root.is_dir() {
        bail!("{}: not a directory", root.display());
    }
    let rules = load_rules(global, root)?;
    let forced_environment = global.env.as_deref().map(|name| rules.environment_index(name)).transpose()?;
    let filter = PathFilter::new(&global.include, &global.exclude).map_err(anyhow::Error::msg)?;
    if let Some(jobs) = global.jobs {
        if jobs == 0 {
            bail!("--jobs must be at least 1");
        }
        // A second initialisation fails when a pool exists already (in tests); that pool is kept.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(jobs).build_global();
    }
    Ok(RunConfig {
        root: root.to_path_buf(),
        rules,
        forced_environment,
        filter,
        max_file_size: global.max_file_size,
        write: mode == Mode::Apply,
        keep_texts: matches!(mode, Mode::Diff | Mode::Check { diff: true }) || global.format == Format::Github,
        explain: mode == Mode::Explain,
    })
}

fn run_files(global: &GlobalArgs, root: &Path, mode: Mode) -> anyhow::Result<Outcome> {
    let config = run_config(global, root, mode)?;
    let progress = emit::progress::Progress::start(global.quiet);
    let report = pipeline::run(&config);
    progress.finish();
    print_report(global, mode, &report, &config.rules, None).context("cannot print the report")?;
    let has_errors = report.errors().next().is_some();
    Ok(if has_errors {
        Outcome::SomeFilesFailed
    } else if matches!(mode, Mode::Check { .. }) && report.n_changed() > 0 {
        Outcome::WouldChange
    } else {
        Outcome::Clean
    })
}

/// Prints what a run found, in the chosen format, and writes the side
/// outputs: `--report FILE`, and under `--format github` the job summary and
/// step outputs. `commit` is the new commit of `commit`, if one was made.
fn print_report(
    global: &GlobalArgs,
    mode: Mode,
    report: &RunReport,
    rules: &Rules,
    commit: Option<&str>,
) -> std::io::Result<()> {
    if let Some(path) = &global.report {
        std::fs::write(path, emit::json::render(report, commit))?;
    }
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    match global.format {
        Format::Json => {
            stdout.write_all(emit::json::render(report, commit).as_bytes())?;
            return stderr.write_all(emit::diagnostics(report, true).as_bytes());
        }
        Format::Sarif => {
            stdout.write_all(emit::sarif::render(report).as_bytes())?;
            return stderr.write_all(emit::diagnostics(report, true).as_bytes());
        }
        Format::Text | Format::Github => {}
    }
    match mode {
        Mode::Diff | Mode::Check { diff: true } => {
            let diffs = emit::diffs(report);
            let color = match global.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            };
            let diffs = if color { emit::diff::colorize(&diffs) } else { diffs };
            stdout.write_all(diffs.as_bytes())?;
        }
        Mode::Explain => stdout.write_all(emit::explain::render(report, rules).as_bytes())?,
        Mode::Commit => match commit {
            Some(id) => writeln!(stdout, "pullsmith: committed {id}")?,
            None => writeln!(stdout, "pullsmith: the repository is compliant; nothing to commit")?,
        },
        Mode::Check { diff: false } | Mode::Apply => {}
    }
    if global.format == Format::Github {
        stdout.write_all(emit::github::annotations(report).as_bytes())?;
        emit::github::write_step_files(report, rules)?;
    }
    stderr.write_all(emit::diagnostics(report, global.quiet).as_bytes())?;
    let summary = emit::summary(report);
    if matches!(mode, Mode::Apply | Mode::Commit) {
        stdout.write_all(summary.as_bytes())?;
    } else {
        stderr.write_all(summary.as_bytes())?;
    }
    Ok(())
}

/// `commit`: plan as `diff` does, refuse dirty files, write, then commit
/// exactly the files written.
fn run_commit(global: &GlobalArgs, root: &Path, options: &CommitOptions) -> anyhow::Result<Outcome> {
    let checkout = git::Checkout::open(root)?;
    if let Some(branch) = &options.branch {
        checkout.check_branch(branch)?;
    }
    let author = checkout.author(options.author.as_deref())?;
    let mut config = run_config(global, root, Mode::Diff)?;
    config.keep_texts = true;
    let progress = emit::progress::Progress::start(global.quiet);
    let mut report = pipeline::run(&config);
    progress.finish();

    // Only tracked files are rewritten (and the overlay patches pullsmith generates).
    for file in &mut report.files {
        let untracked =
            matches!(file.status, pipeline::FileStatus::Changed { action: pipeline::FileAction::Modify, .. })
                && !checkout.is_tracked(&file.path);
        if untracked {
            file.status = pipeline::FileStatus::Unchanged;
            report.warnings.push(pipeline::Diagnostic {
                path: file.path.clone(),
                line: None,
                column: None,
                message: "not tracked by git: `commit` rewrites tracked files only".to_string(),
                rule: "untracked-file",
            });
        }
    }
    let changed: Vec<(String, PathBuf, pipeline::FileAction, String)> = report
        .files
        .iter()
        .filter_map(|file| match &file.status {
            pipeline::FileStatus::Changed { new_text, action, .. } => {
                Some((file.path.clone(), file.abs_path.clone(), *action, new_text.clone()))
            }
            _ => None,
        })
        .collect();
    if !options.allow_dirty {
        let paths: Vec<String> = changed.iter().map(|(path, ..)| path.clone()).collect();
        let dirty = checkout.dirty(&paths)?;
        if !dirty.is_empty() {
            return Err(git::CommitError::Dirty { paths: dirty }.into());
        }
    }
    let mut commit_id = None;
    if !changed.is_empty() {
        if let Some(branch) = &options.branch {
            checkout.switch_to(branch)?;
        }
        let mut files = Vec::new();
        for (path, abs_path, action, new_text) in &changed {
            emit::write::write_change(abs_path, *action, new_text.as_bytes())
                .with_context(|| format!("{path}: cannot write"))?;
            let content = (*action != pipeline::FileAction::Delete).then(|| new_text.as_bytes().to_vec());
            files.push(git::CommitFile { path: path.clone(), content });
        }
        let message = options.message.clone().unwrap_or_else(|| default_message(&report));
        commit_id = Some(checkout.commit(&files, &message, &author)?.to_string());
    }
    print_report(global, Mode::Commit, &report, &config.rules, commit_id.as_deref())?;
    Ok(if report.errors().next().is_some() { Outcome::SomeFilesFailed } else { Outcome::Clean })
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
