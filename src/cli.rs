//! The command line: clap structs only. `RunOptions` is built from them in
//! `lib.rs` before any work starts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The most worker threads `-j` accepts. A fixed number, not a multiple of
/// this machine's cores, so that a CI configuration means the same on every
/// runner; each thread holds a parse of one file at most, and past a few
/// hundred threads only memory grows.
pub const MAX_JOBS: u16 = 256;

/// `--max-file-size` when not given: 16 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// `pullsmith --version`: `1.0.0 (0123456789ab 2026-12-01)` when built in a
/// git checkout (` dirty` after the hash when its sources differ from the
/// commit), the plain `1.0.0` otherwise (`build.rs`).
pub const VERSION: &str = env!("PULLSMITH_VERSION");

#[derive(Debug, Parser)]
#[command(
    name = "pullsmith",
    version = VERSION,
    about = "Keeps image pull policies and pull secrets right, per environment",
    long_about = LONG_ABOUT,
    after_help = after_help()
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Rules file (default: the first .pullsmith.yaml from PATH up to the repository root, else the embedded default rules)
    #[arg(long, global = true, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Treat every manifest as environment NAME
    #[arg(long, global = true, value_name = "NAME")]
    pub env: Option<String>,
    /// Only files whose repository-relative path matches GLOB (repeatable)
    #[arg(long, global = true, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Skip files whose repository-relative path matches GLOB (repeatable)
    #[arg(long, global = true, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Worker threads, 1 to 256 (default: one per core); more is a usage error
    #[arg(short = 'j', long, global = true, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=i64::from(MAX_JOBS)))]
    pub jobs: Option<u16>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the JSON report to FILE, whatever --format says
    #[arg(long, global = true, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Colour the diff (auto: when stdout is a terminal and NO_COLOR is unset or empty)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only errors and the summary line
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Files larger than this many bytes are reported and left alone
    #[arg(long, global = true, value_name = "BYTES", default_value_t = DEFAULT_MAX_FILE_SIZE)]
    pub max_file_size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Github,
    Sarif,
    /// Reviewdog Diagnostic Format (`reviewdog -f=rdjson`), with suggested fixes
    Rdjson,
    /// GitLab Code Quality report (`artifacts:reports:codequality`)
    Gitlab,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args, Clone)]
pub struct PathArg {
    /// The repository checkout
    #[arg(default_value = ".")]
    pub path: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a unified diff (git style) of what the rules call for
    Diff(PathArg),
    /// Like diff, but exit 1 when anything would change (a CI gate)
    Check {
        #[command(flatten)]
        path: PathArg,
        /// Also print the diff
        #[arg(long)]
        diff: bool,
    },
    /// Write the changes in place
    Apply(PathArg),
    /// Apply, then make a git commit of exactly the files changed
    Commit {
        #[command(flatten)]
        path: PathArg,
        /// Commit on this branch: created from HEAD (and checked out) when missing, continued when HEAD is on it
        #[arg(long, value_name = "NAME")]
        branch: Option<String>,
        /// If --branch exists and HEAD is not on it, rebuild the branch from HEAD; HEAD and the working tree stay
        ///
        /// The new commit's parent is HEAD and the branch moves to it (its earlier commits leave it); HEAD, the index
        /// and the working tree stay exactly as they were. Without this flag that case is refused (exit 2), unless the
        /// branch already holds this exact rewrite: then nothing is done (exit 0). A branch checked out in another
        /// worktree is refused
        #[arg(long, requires = "branch")]
        reset_branch: bool,
        /// Commit message
        #[arg(long, value_name = "TEXT")]
        message: Option<String>,
        /// Commit author, "Name <email>"
        #[arg(long, value_name = "AUTHOR")]
        author: Option<String>,
        /// Rewrite files that have uncommitted changes
        #[arg(long)]
        allow_dirty: bool,
    },
    /// Show, per manifest and container, the environment, the deciding rule and the values
    Explain(PathArg),
    /// Write a first .pullsmith.yaml, inferred from the repository's directories
    #[command(long_about = INIT_ABOUT)]
    Init {
        /// A directory of the repository; the rules file goes at the root of the git work tree holding it
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Print the rules instead of writing them (nothing is written)
        #[arg(long)]
        stdout: bool,
    },
    /// Work with rules files
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Print the shell completion script for SHELL
    #[command(long_about = COMPLETIONS_ABOUT, help_template = ONE_ARGUMENT_HELP)]
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the manual page (roff; `pullsmith man | man -l -`)
    #[command(help_template = NO_OPTIONS_HELP)]
    Man,
}

/// The shells `completions` writes for: the four whose scripts the release
/// archives carry in `completions/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    #[value(name = "powershell")]
    PowerShell,
}

/// The top-level `--help` text before the commands.
const LONG_ABOUT: &str = "\
Keeps image pull policies and pull secrets right, per environment.

pullsmith reads a rules file (.pullsmith.yaml, else the embedded default
rules), walks a GitOps checkout (plain manifests, kustomize overlays, Helm
releases through their chart values) and prints a diff, fails a check,
writes the files or makes a git commit. PATH is the repository checkout,
\".\" when not given.";

/// One example for each of the three ways pullsmith is used: what it is
/// for, then the commands. `--help` and `pullsmith man` both show them.
pub const EXAMPLES: &[(&str, &[&str])] = &[
    (
        "Pull-request gate (in CI; the GitHub Action `pullsmith/pullsmith@v1` runs it):",
        &["pullsmith check --format github ."],
    ),
    ("Local batch rewrite: look at the diff, then write it:", &["pullsmith diff .", "pullsmith apply ."]),
    (
        "Scheduled maintenance job: commit the rewrite on a branch to push (see README.md):",
        &["pullsmith commit --branch pullsmith/maintenance --reset-branch ."],
    ),
];

/// The exit codes and what each means (`Outcome` in `lib.rs` picks them).
pub const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "success; for check, nothing to change"),
    ("1", "check found changes"),
    ("2", "usage error or invalid rules file; nothing read or written"),
    ("3", "some files could not be processed; every other file was"),
];

/// The top-level `--help` text after the options.
fn after_help() -> String {
    let mut text = String::from("Examples:\n");
    for (what, commands) in EXAMPLES {
        text.push_str(&format!("  {what}\n"));
        for command in *commands {
            text.push_str(&format!("    {command}\n"));
        }
        text.push('\n');
    }
    text.push_str("Exit status:\n");
    for (code, meaning) in EXIT_STATUS {
        text.push_str(&format!("  {code}  {meaning}\n"));
    }
    text
}

/// `completions --help`: where each script goes.
const COMPLETIONS_ABOUT: &str = "\
Print the shell completion script for SHELL.

  bash        pullsmith completions bash > ~/.local/share/bash-completion/completions/pullsmith
  zsh         pullsmith completions zsh > ~/.zfunc/_pullsmith  (with fpath+=~/.zfunc before compinit)
  fish        pullsmith completions fish > ~/.config/fish/completions/pullsmith.fish
  powershell  pullsmith completions powershell >> $PROFILE";

/// `init --help`: what it infers and what it never does.
const INIT_ABOUT: &str = "\
Write a first .pullsmith.yaml, inferred from the repository's directories.

The file goes at the repository root: the work tree of the git repository
that holds PATH, else PATH itself. The whole repository is looked at,
whatever PATH is, and every path glob is relative to that root.

Environments come from directories named like one (dev, development, test,
qa, stage, staging, preprod, uat, prod, production, live, or names holding
one such as prod-eu or us-dev; dev and development are one environment, as
are prod and production, stage and staging), from kustomize overlays
(overlays/<name>, envs/<name>, environments/<name>, clusters/<name>, and
kustomizations that no other includes), and from namespaces that start with
an environment word, for manifests that no path covers. Only directories
that hold (or whose overlays render) a manifest with containers count. The
globs are the narrowest that match what is there, and no file is matched by
two environments. dev gets imagePullPolicy Always, every other environment
IfNotPresent, and `*:latest` images Always everywhere. No pull secret is
guessed: each environment has a commented-out imagePullSecrets line.

An existing .pullsmith.yaml (or a link, or anything by that name) is never
replaced: init refuses, exit 2, and writes nothing. When no environment is
found it writes nothing either (exit 2), since an empty rules file would stop
the embedded default from picking up environment directories added later;
--stdout then prints a template to start from. With --stdout the rules go to
stdout and the summary to stderr, and nothing is written. --rules, --env,
--include and --exclude are refused: init looks at the whole repository.";

/// The help of a command that takes no option. The options are global
/// (`pullsmith --rules F check` and `pullsmith check --rules F` both work),
/// so clap would list every one of them in every subcommand's help; these
/// templates list only what applies, and `lib.rs` refuses the others.
const NO_OPTIONS_HELP: &str = "{about-with-newline}\n{usage-heading} {usage}\n\nOptions:\n  -h, --help  Print help\n";

/// The help of a command that takes one argument and no option.
const ONE_ARGUMENT_HELP: &str =
    "{about-with-newline}\n{usage-heading} {usage}\n\nArguments:\n{positionals}\n\nOptions:\n  -h, --help  Print help\n";

/// The help of `rules validate`: its file, `--rules` and `--env`.
const VALIDATE_HELP: &str = "{about-with-newline}\n{usage-heading} {usage}\n\nArguments:\n{positionals}\n\nOptions:\n      --rules <FILE>  Rules file to check when FILE is not given\n      --env <NAME>    Also check that the rules define environment NAME\n  -h, --help          Print help\n";

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Check a rules file (default: the one PATH would use)
    #[command(help_template = VALIDATE_HELP)]
    Validate {
        /// Rules file
        file: Option<PathBuf>,
    },
    /// Print the JSON Schema of the rules file
    #[command(help_template = NO_OPTIONS_HELP)]
    Schema,
    /// Print the embedded default rules
    #[command(help_template = NO_OPTIONS_HELP)]
    Default,
}
