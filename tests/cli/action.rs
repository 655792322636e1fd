//! The GitHub Action (`action.yml`), run as GitHub runs a composite action,
//! without a network: its `run:` steps are executed with bash in order, with
//! the `${{ }}` expressions of their `env:` evaluated (inputs with their
//! defaults, `github.*`, `runner.*`, `steps.ID.outputs.*`), a fresh
//! `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, `GITHUB_PATH` and `GITHUB_ENV` per
//! step, and a stop at the first failing step. `uses:` steps (actions/cache)
//! are skipped, with their `if:`. The workspace is a clone of a local bare
//! repository (`origin`) holding `examples/plain`; a `gh` stand-in on PATH
//! records its arguments and answers the list calls from canned JSON. The
//! built pullsmith is first on PATH, so the install step must skip the
//! download and `cargo install` (tests/cli/action_install.rs tests those).
//!
//! Each mode is checked for its outputs, job summary, annotations, exit
//! code, what reached `origin`, and the `gh` calls it made.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use serde_json::{json, Value as Json};
use serde_yaml::Value as Yaml;
use tempfile::TempDir;

use crate::util::{copy_tree, describe, project_root, write};

const REPOSITORY: &str = "acme/gitops";
const TOKEN: &str = "ghs_fake_token_for_tests";
const MARKER: &str = "<!-- pullsmith-diff -->";
const BOT: &str = "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>";
const PR_NUMBER: u64 = 42;

/// Variables of the test's own environment that must not reach the steps.
const LEAKY: &[&str] = &[
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "EMAIL",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
];

/// The `gh` stand-in: records argv (NUL-separated, one file per call) and the
/// token it saw; answers `api …/comments` lists and `pr list` from canned JSON
/// (through jq when `--jq` is given, as gh does), and creations with ids/URLs.
const GH_STAND_IN: &str = r#"#!/usr/bin/env bash
set -u
dir="${GH_FAKE_DIR:?}"
n="$(find "$dir/calls" -type f -name '*.argv' | wc -l)"
call="$dir/calls/$(printf '%03d' "$n")"
printf '%s\0' "$@" > "$call.argv"
printf '%s' "${GH_TOKEN:-}" > "$call.token"
if [ -z "${GH_TOKEN:-}" ]; then
    echo "gh: set the GH_TOKEN environment variable to use gh in GitHub Actions" >&2
    exit 4
fi
filter=""
prev=""
for arg in "$@"; do
    [ "$prev" = "--jq" ] && filter="$arg"
    prev="$arg"
done
answer() {
    if [ -n "$filter" ]; then
        command -v jq >/dev/null || { echo "gh stand-in: jq is needed for --jq" >&2; exit 5; }
        jq -r "$filter"
    else
        cat
    fi
}
writes=false
for arg in "$@"; do
    case "$arg" in -X | --method | body=*) writes=true ;; esac
done
case "${1:-} ${2:-}" in
    "api "*)
        if [ "$writes" = true ]; then
            echo '{"id": 9001}' | answer
        else
            answer < "$dir/comments.json"
        fi
        ;;
    "pr list") answer < "$dir/pulls.json" ;;
    "pr create") echo "https://github.com/$GITHUB_REPOSITORY/pull/77" ;;
    "pr edit") echo "https://github.com/$GITHUB_REPOSITORY/pull/${3:-?}" ;;
    *)
        echo "gh stand-in: unexpected call: $*" >&2
        exit 1
        ;;
esac
"#;

// ---------------------------------------------------------------------------
// The world: a bare origin, a workspace clone, a runner's files

struct World {
    dir: TempDir,
    event_name: String,
    event: Json,
    inputs: BTreeMap<String, String>,
}

/// What one run of the action left.
struct Run {
    /// The exit code of the step that failed, else 0.
    code: i32,
    /// stdout of every step, in order.
    stdout: String,
    stderr: String,
    /// The action's outputs (`outputs:` of action.yml, evaluated).
    outputs: BTreeMap<String, String>,
    /// Every step's outputs, by step id.
    steps: BTreeMap<String, BTreeMap<String, String>>,
    /// The job summary: every step's summary, concatenated.
    summary: String,
    /// The names of the steps that ran (the `uses:` ones are not run).
    ran: Vec<String>,
}

impl Run {
    fn output(&self, name: &str) -> &str {
        self.outputs.get(name).map(String::as_str).unwrap_or_else(|| panic!("no output {name}: {}", self.describe()))
    }

    fn describe(&self) -> String {
        format!(
            "exit {}\noutputs {:?}\nsteps {:?}\n--- stdout\n{}\n--- stderr\n{}\n--- summary\n{}",
            self.code, self.outputs, self.steps, self.stdout, self.stderr, self.summary
        )
    }

    /// The JSON report named by the `report` output.
    fn report(&self) -> Json {
        let path = self.output("report");
        assert!(!path.is_empty(), "empty report output: {}", self.describe());
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("report {path}: {e}\n{}", self.describe()));
        let report: Json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("report is not JSON: {e}\n{text}"));
        assert_eq!(report["version"], json!(1), "report version: {text}");
        report
    }

    /// `::warning file=F,line=L…` annotations on stdout, as (file, line).
    fn annotations(&self) -> Vec<(String, usize)> {
        let mut found = Vec::new();
        for line in self.stdout.lines() {
            let Some(rest) = line.strip_prefix("::warning ").or_else(|| line.strip_prefix("::notice ")) else {
                continue;
            };
            let props = rest.split("::").next().unwrap_or("");
            let mut file = None;
            let mut number = None;
            for prop in props.split(',') {
                if let Some(value) = prop.strip_prefix("file=") {
                    file = Some(value.to_string());
                } else if let Some(value) = prop.strip_prefix("line=") {
                    number = value.parse().ok();
                }
            }
            if let (Some(file), Some(number)) = (file, number) {
                found.push((file, number));
            }
        }
        found
    }
}

/// One recorded `gh` call.
#[derive(Debug)]
struct GhCall {
    args: Vec<String>,
    token: String,
}

impl GhCall {
    /// The value after `flag` (`-f body=…` gives `body=…`).
    fn after(&self, flag: &str) -> Option<&str> {
        self.args.iter().position(|a| a == flag).and_then(|i| self.args.get(i + 1)).map(String::as_str)
    }

    fn body(&self) -> String {
        if let Some(field) = self.after("-f") {
            return field.strip_prefix("body=").expect("a body field").to_string();
        }
        self.after("--body").expect("a --body").to_string()
    }

    fn starts(&self, words: &[&str]) -> bool {
        self.args.len() >= words.len() && self.args.iter().zip(words).all(|(a, w)| a == w)
    }
}

impl World {
    /// A repository holding `examples/plain` on `main`, pushed to a bare
    /// `origin`, cloned as the workspace (on `main`).
    fn new() -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let world = World { dir, event_name: "push".into(), event: json!({}), inputs: BTreeMap::new() };
        for sub in ["home/.config", "runner-temp", "bin", "gh/calls", "steps", "seed"] {
            std::fs::create_dir_all(world.path(sub)).expect("create dir");
        }
        std::fs::write(world.path("gh/comments.json"), "[]").expect("write");
        std::fs::write(world.path("gh/pulls.json"), "[]").expect("write");
        let gh = world.path("bin/gh");
        std::fs::write(&gh, GH_STAND_IN).expect("write gh");
        make_executable(&gh);

        let seed = world.path("seed");
        world.git(&seed, &["init", "-q", "-b", "main"]);
        copy_tree(&project_root().join("examples/plain"), &seed);
        world.commit_all(&seed, "initial: plain manifests");
        world.git(world.dir.path(), &["clone", "-q", "--bare", "seed", "origin.git"]);
        world.git(world.dir.path(), &["clone", "-q", "origin.git", "work"]);
        world
    }

    /// Like `new`, then a pull request: branch `feature` (one more manifest
    /// that needs a policy) pushed to origin and checked out, and a
    /// `pull_request` event payload for it.
    fn pull_request() -> World {
        let mut world = World::new();
        let work = world.work();
        world.git(&work, &["checkout", "-q", "-b", "feature"]);
        write(&work, "dev/extra.yaml", EXTRA);
        let head = world.commit_all(&work, "add the extra deployment");
        world.git(&work, &["push", "-q", "origin", "feature"]);
        world.event_name = "pull_request".into();
        world.event = json!({
            "action": "synchronize",
            "number": PR_NUMBER,
            "pull_request": {
                "number": PR_NUMBER,
                "head": {"ref": "feature", "sha": head, "repo": {"full_name": REPOSITORY}},
                "base": {"ref": "main", "repo": {"full_name": REPOSITORY}},
            },
            "repository": {"full_name": REPOSITORY, "default_branch": "main"},
        });
        world
    }

    /// Like `new`, as a scheduled run on `main`.
    fn scheduled() -> World {
        let mut world = World::new();
        world.event_name = "schedule".into();
        world.event =
            json!({"schedule": "17 3 * * 1", "repository": {"full_name": REPOSITORY, "default_branch": "main"}});
        world
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn work(&self) -> PathBuf {
        self.path("work")
    }

    fn input(mut self, name: &str, value: &str) -> World {
        self.inputs.insert(name.to_string(), value.to_string());
        self
    }

    fn comments(self, comments: Json) -> World {
        std::fs::write(self.path("gh/comments.json"), comments.to_string()).expect("write");
        self
    }

    fn pulls(self, pulls: Json) -> World {
        std::fs::write(self.path("gh/pulls.json"), pulls.to_string()).expect("write");
        self
    }

    /// `git` with an isolated configuration and no identity.
    fn git_command(&self, cwd: &Path) -> Process {
        let mut cmd = Process::new("git");
        cmd.current_dir(cwd);
        for var in LEAKY {
            cmd.env_remove(var);
        }
        cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("home/.config"))
            .env("GIT_TERMINAL_PROMPT", "0");
        cmd
    }

    fn git(&self, cwd: &Path, args: &[&str]) -> String {
        let output = self.git_command(cwd).args(args).output().expect("run git");
        assert!(output.status.success(), "git {args:?} in {}:\n{}", cwd.display(), describe(&output));
        String::from_utf8(output.stdout).expect("UTF-8").trim().to_string()
    }

    /// A ref of origin, or `None` when it does not exist.
    fn origin_ref(&self, name: &str) -> Option<String> {
        let output = self
            .git_command(self.dir.path())
            .args(["--git-dir", "origin.git", "rev-parse", "--verify", "-q", name])
            .output()
            .expect("run git");
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// `git --git-dir origin.git log -1 --format=FORMAT REV`.
    fn origin_log(&self, rev: &str, format: &str) -> String {
        self.git(self.dir.path(), &["--git-dir", "origin.git", "log", "-1", &format!("--format={format}"), rev])
    }

    fn commit_all(&self, repo: &Path, message: &str) -> String {
        self.git(repo, &["add", "-A"]);
        self.git(repo, &["-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-q", "-m", message]);
        self.git(repo, &["rev-parse", "HEAD"])
    }

    /// Makes the workspace's branch compliant (apply, commit, push); a pull
    /// request's payload then names the new head.
    fn make_compliant(&mut self) {
        let work = self.work();
        let output = self.pullsmith(&["apply", "."]).current_dir(&work).output().expect("run pullsmith");
        assert!(output.status.success(), "apply:\n{}", describe(&output));
        let head = self.commit_all(&work, "comply");
        let branch = self.git(&work, &["symbolic-ref", "--short", "HEAD"]);
        self.git(&work, &["push", "-q", "origin", &branch]);
        if self.event.get("pull_request").is_some() {
            self.event["pull_request"]["head"]["sha"] = json!(head);
        }
    }

    /// The built pullsmith with the same isolation as `git`.
    fn pullsmith(&self, args: &[&str]) -> Process {
        let mut cmd = Process::new(pullsmith_bin());
        for var in LEAKY {
            cmd.env_remove(var);
        }
        cmd.args(args)
            .env_remove("CI")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_OUTPUT")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env("NO_COLOR", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.path("home"));
        cmd
    }

    /// The JSON report pullsmith itself gives for the workspace now: the oracle.
    fn expected_report(&self) -> Json {
        let output = self.pullsmith(&["--format", "json", "diff", "."]).current_dir(self.work()).output().expect("run");
        assert!(output.status.success(), "pullsmith --format json diff:\n{}", describe(&output));
        serde_json::from_slice(&output.stdout).expect("JSON")
    }

    /// The diff pullsmith gives for the workspace now.
    fn expected_diff(&self) -> String {
        let output = self.pullsmith(&["--color", "never", "diff", "."]).current_dir(self.work()).output().expect("run");
        assert!(output.status.success(), "pullsmith diff:\n{}", describe(&output));
        String::from_utf8(output.stdout).expect("UTF-8")
    }

    /// The `gh` calls recorded so far.
    fn gh_calls(&self) -> Vec<GhCall> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.path("gh/calls"))
            .expect("read calls")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "argv"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|argv| {
                let bytes = std::fs::read(&argv).expect("read argv");
                let args =
                    bytes.split(|b| *b == 0).map(|a| String::from_utf8(a.to_vec()).expect("UTF-8")).collect::<Vec<_>>();
                let args = args[..args.len() - 1].to_vec(); // the last NUL ends the last argument
                let token = std::fs::read_to_string(argv.with_extension("token")).expect("read token");
                GhCall { args, token }
            })
            .collect()
    }

    fn forget_gh_calls(&self) {
        std::fs::remove_dir_all(self.path("gh/calls")).expect("remove");
        std::fs::create_dir_all(self.path("gh/calls")).expect("create");
    }

    // -----------------------------------------------------------------------
    // Running action.yml

    /// The environment every step starts from: a runner's variables, nothing
    /// of the test's own but PATH's system directories.
    fn runner_env(&self, run_number: usize) -> BTreeMap<String, String> {
        let event_path = self.path("event.json");
        std::fs::write(&event_path, self.event.to_string()).expect("write event");
        let bin_dir = pullsmith_bin().parent().expect("bin dir").to_path_buf();
        let system_path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
        let head_ref = self.event["pull_request"]["head"]["ref"].as_str().unwrap_or("").to_string();
        let base_ref = self.event["pull_request"]["base"]["ref"].as_str().unwrap_or("").to_string();
        let git_ref = if self.event_name == "pull_request" {
            format!("refs/pull/{PR_NUMBER}/merge")
        } else {
            "refs/heads/main".to_string()
        };
        let ref_name = if self.event_name == "pull_request" { format!("{PR_NUMBER}/merge") } else { "main".into() };
        let sha = self.git(&self.work(), &["rev-parse", "HEAD"]);
        let vars = [
            ("PATH", format!("{}:{}:{}", bin_dir.display(), self.path("bin").display(), system_path)),
            ("HOME", self.path("home").display().to_string()),
            ("XDG_CONFIG_HOME", self.path("home/.config").display().to_string()),
            ("LANG", "C.UTF-8".into()),
            ("GIT_CONFIG_GLOBAL", "/dev/null".into()),
            ("GIT_CONFIG_NOSYSTEM", "1".into()),
            ("GIT_TERMINAL_PROMPT", "0".into()),
            ("NO_COLOR", "1".into()),
            ("CI", "true".into()),
            ("GITHUB_ACTIONS", "true".into()),
            ("GITHUB_ACTION_PATH", project_root().display().to_string()),
            ("GITHUB_WORKSPACE", self.work().display().to_string()),
            ("GITHUB_REPOSITORY", REPOSITORY.into()),
            ("GITHUB_REPOSITORY_OWNER", "acme".into()),
            ("GITHUB_EVENT_NAME", self.event_name.clone()),
            ("GITHUB_EVENT_PATH", event_path.display().to_string()),
            ("GITHUB_REF", git_ref),
            ("GITHUB_REF_NAME", ref_name),
            ("GITHUB_HEAD_REF", head_ref),
            ("GITHUB_BASE_REF", base_ref),
            ("GITHUB_SHA", sha),
            ("GITHUB_SERVER_URL", "https://github.com".into()),
            ("GITHUB_API_URL", "https://api.github.com".into()),
            ("GITHUB_RUN_ID", format!("{}", 1000 + run_number)),
            ("GITHUB_RUN_NUMBER", format!("{run_number}")),
            ("GITHUB_JOB", "pullsmith".into()),
            ("RUNNER_TEMP", self.path("runner-temp").display().to_string()),
            ("RUNNER_OS", "Linux".into()),
            ("RUNNER_ARCH", "X64".into()),
            ("GH_FAKE_DIR", self.path("gh").display().to_string()),
        ];
        vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// Runs action.yml's steps as a composite action.
    fn run(&self) -> Run {
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        let run_number = RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let action = action_yml();
        let mut env = self.runner_env(run_number);
        let github = self.github_context(&env);
        let inputs = self.resolved_inputs(&action, &github);
        let runner: BTreeMap<String, String> = [("os", "Linux"), ("arch", "X64")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain([("temp".to_string(), env["RUNNER_TEMP"].clone())])
            .collect();

        let mut result = Run {
            code: 0,
            stdout: String::new(),
            stderr: String::new(),
            outputs: BTreeMap::new(),
            steps: BTreeMap::new(),
            summary: String::new(),
            ran: Vec::new(),
        };
        let steps = action["runs"]["steps"].as_sequence().expect("runs.steps");
        for (index, step) in steps.iter().enumerate() {
            // A skipped `uses:` step's `if:` does not matter; a `run:` step's would.
            if step.get("uses").is_some() {
                continue;
            }
            assert!(step.get("if").is_none(), "the harness does not evaluate `if:`; step {index} has one");
            let script = step["run"].as_str().expect("a step has `uses` or `run`");
            assert_eq!(step["shell"].as_str(), Some("bash"), "step {index}: shell bash");
            let name = step["name"].as_str().unwrap_or("").to_string();
            let files = ["output", "summary", "path", "env"].map(|kind| {
                let file = self.path(&format!("steps/{run_number}-{index}-{kind}"));
                std::fs::write(&file, "").expect("create step file");
                file
            });
            let mut step_env = env.clone();
            for (key, file) in ["GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_PATH", "GITHUB_ENV"].iter().zip(&files)
            {
                step_env.insert(key.to_string(), file.display().to_string());
            }
            if let Some(vars) = step.get("env").and_then(Yaml::as_mapping) {
                for (key, value) in vars {
                    let key = key.as_str().expect("env key").to_string();
                    let value = yaml_scalar(value);
                    let value = evaluate(&value, &inputs, &github, &runner, &result.steps);
                    step_env.insert(key, value);
                }
            }
            let output = Process::new("bash")
                .arg("-e")
                .arg("-c")
                .arg(script)
                .current_dir(self.work())
                .env_clear()
                .envs(&step_env)
                .output()
                .expect("run bash");
            result.ran.push(name);
            result.stdout.push_str(&String::from_utf8_lossy(&output.stdout));
            result.stderr.push_str(&String::from_utf8_lossy(&output.stderr));
            result.summary.push_str(&std::fs::read_to_string(&files[1]).expect("read summary"));
            let outputs = parse_command_file(&std::fs::read_to_string(&files[0]).expect("read outputs"));
            if let Some(id) = step["id"].as_str() {
                result.steps.insert(id.to_string(), outputs);
            }
            for dir in std::fs::read_to_string(&files[2]).expect("read path").lines().filter(|l| !l.is_empty()) {
                let path = format!("{dir}:{}", env["PATH"]);
                env.insert("PATH".into(), path);
            }
            env.extend(parse_command_file(&std::fs::read_to_string(&files[3]).expect("read env")));
            if !output.status.success() {
                result.code = output.status.code().unwrap_or(-1);
                break;
            }
        }
        if let Some(outputs) = action["outputs"].as_mapping() {
            for (name, spec) in outputs {
                let value = spec["value"].as_str().expect("a composite output has a value");
                let value = evaluate(value, &inputs, &github, &runner, &result.steps);
                result.outputs.insert(name.as_str().expect("name").to_string(), value);
            }
        }
        result
    }

    fn github_context(&self, env: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut github = BTreeMap::new();
        github.insert("token".to_string(), TOKEN.to_string());
        github.insert("head_ref".into(), env["GITHUB_HEAD_REF"].clone());
        github.insert("base_ref".into(), env["GITHUB_BASE_REF"].clone());
        github.insert("ref".into(), env["GITHUB_REF"].clone());
        github.insert("ref_name".into(), env["GITHUB_REF_NAME"].clone());
        github.insert("sha".into(), env["GITHUB_SHA"].clone());
        github.insert("repository".into(), REPOSITORY.into());
        github.insert("event_name".into(), self.event_name.clone());
        github.insert("event_path".into(), env["GITHUB_EVENT_PATH"].clone());
        github.insert("workspace".into(), env["GITHUB_WORKSPACE"].clone());
        github.insert("action_path".into(), env["GITHUB_ACTION_PATH"].clone());
        github.insert("run_id".into(), env["GITHUB_RUN_ID"].clone());
        github
    }

    /// The inputs as GitHub gives them to the action: the workflow's `with:`
    /// values, else the declared defaults (themselves expressions).
    fn resolved_inputs(&self, action: &Yaml, github: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let declared = action["inputs"].as_mapping().expect("inputs");
        let mut inputs = BTreeMap::new();
        for (name, spec) in declared {
            let name = name.as_str().expect("input name").to_string();
            let default = spec.get("default").map(yaml_scalar).unwrap_or_default();
            let default = evaluate(&default, &BTreeMap::new(), github, &BTreeMap::new(), &BTreeMap::new());
            inputs.insert(name, default);
        }
        for (name, value) in &self.inputs {
            assert!(inputs.contains_key(name), "action.yml has no input {name}");
            inputs.insert(name.clone(), value.clone());
        }
        inputs
    }
}

/// An extra manifest under `dev/` whose container has no policy.
const EXTRA: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: extra
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.25
";

fn pullsmith_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("pullsmith")
}

fn action_yml() -> Yaml {
    let text = std::fs::read_to_string(project_root().join("action.yml")).expect("read action.yml");
    serde_yaml::from_str(&text).expect("action.yml is YAML")
}

fn yaml_scalar(value: &Yaml) -> String {
    match value {
        Yaml::String(s) => s.clone(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Null => String::new(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// Replaces each `${{ expr }}` in `text`; only the few forms action.yml may use.
fn evaluate(
    text: &str,
    inputs: &BTreeMap<String, String>,
    github: &BTreeMap<String, String>,
    runner: &BTreeMap<String, String>,
    steps: &BTreeMap<String, BTreeMap<String, String>>,
) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").map(|e| start + e).unwrap_or_else(|| panic!("unclosed expression: {text}"));
        let expr = rest[start + 3..end].trim();
        let parts: Vec<&str> = expr.split('.').collect();
        let value = match parts.as_slice() {
            ["inputs", name] => inputs.get(*name).cloned().unwrap_or_else(|| panic!("unknown input in {expr}")),
            ["github", name] => github.get(*name).cloned().unwrap_or_else(|| panic!("github.{name} not known here")),
            ["runner", name] => runner.get(*name).cloned().unwrap_or_else(|| panic!("runner.{name} not known here")),
            ["steps", id, "outputs", name] => steps.get(*id).and_then(|o| o.get(*name)).cloned().unwrap_or_default(),
            _ => panic!("the harness cannot evaluate `{expr}`"),
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// `key=value` lines and `key<<DELIMITER` blocks, as GITHUB_OUTPUT holds them.
fn parse_command_file(text: &str) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((key, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for line in lines.by_ref() {
                if line == delimiter {
                    break;
                }
                value.push(line);
            }
            values.insert(key.to_string(), value.join("\n"));
        } else if let Some((key, value)) = line.split_once('=') {
            values.insert(key.to_string(), value.to_string());
        } else if !line.trim().is_empty() {
            panic!("not a command-file line: {line:?}");
        }
    }
    values
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path).expect("metadata").permissions();
    perms.set_mode(0o755);
    std::fs::set_permissions(path, perms).expect("chmod");
}

fn files_changed(report: &Json) -> u64 {
    report["summary"]["filesChanged"].as_u64().expect("summary.filesChanged")
}

/// The (file, line) of every change in a report.
fn change_lines(report: &Json) -> Vec<(String, usize)> {
    let mut lines = Vec::new();
    for file in report["files"].as_array().expect("files") {
        let path = file["path"].as_str().expect("path");
        for change in file["changes"].as_array().expect("changes") {
            // Where the change is shown: its own `path` (the base, for one a generated patch carries).
            let path = change["path"].as_str().unwrap_or(path);
            lines.push((path.to_string(), change["line"].as_u64().expect("line") as usize));
        }
    }
    lines
}

/// Checks the install step ran and skipped `cargo install`.
fn assert_installed_by_path(run: &Run) {
    assert!(run.ran.iter().any(|n| n.contains("Install")), "the install step ran: {:?}", run.ran);
    assert!(run.stdout.contains("skipping the download and cargo install"), "install skipped:\n{}", run.describe());
    let bin = run.steps.get("install").and_then(|o| o.get("bin")).cloned().unwrap_or_default();
    assert_eq!(Path::new(&bin), pullsmith_bin().as_path(), "install's bin output");
}

fn assert_output_counts(run: &Run, changed: bool, files: u64) {
    assert_eq!(run.output("changed"), changed.to_string(), "changed: {}", run.describe());
    assert_eq!(run.output("files-changed"), files.to_string(), "files-changed: {}", run.describe());
    assert_eq!(files_changed(&run.report()), files, "the report's summary.filesChanged");
}

// ---------------------------------------------------------------------------
// action.yml itself

#[test]
fn action_yml_declares_the_documented_interface() {
    let action = action_yml();
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let defaults = [
        ("mode", "check"),
        ("path", "."),
        ("rules", ""),
        ("comment", "false"),
        ("branch", "pullsmith/maintenance"),
        ("commit-message", ""),
        ("token", "${{ github.token }}"),
        ("version", ""),
    ];
    for (name, default) in defaults {
        let spec = &action["inputs"][name];
        assert!(spec.is_mapping(), "input {name}");
        assert!(spec["description"].as_str().is_some_and(|d| !d.is_empty()), "input {name} is described");
        assert_eq!(yaml_scalar(&spec["default"]), default, "default of {name}");
    }
    for name in ["changed", "files-changed", "report"] {
        let value = action["outputs"][name]["value"].as_str().unwrap_or_else(|| panic!("output {name}"));
        assert_eq!(value, format!("${{{{ steps.run.outputs.{name} }}}}"));
    }
    let steps = action["runs"]["steps"].as_sequence().expect("steps");
    let mut cached = Vec::new();
    for step in steps {
        if let Some(uses) = step["uses"].as_str() {
            assert_eq!(uses, "actions/cache@v4");
            cached.extend(step["with"]["path"].as_str().expect("cache path").lines().map(str::to_string));
            continue;
        }
        let script = step["run"].as_str().expect("run");
        assert!(!script.contains("${{"), "expressions belong in env:, not in the script: {script}");
        assert!(script.contains("$GITHUB_ACTION_PATH/action/"), "steps run the action's scripts: {script}");
        assert_eq!(step["shell"].as_str(), Some("bash"));
    }
    for path in ["~/.cargo/registry", "~/.cargo/git", "~/.cargo/bin/pullsmith"] {
        assert!(cached.iter().any(|c| c == path), "{path} is cached: {cached:?}");
    }
    let run = steps.iter().find(|s| s["id"].as_str() == Some("run")).expect("a step with id run");
    for (var, expr) in [
        ("PULLSMITH_MODE", "inputs.mode"),
        ("PULLSMITH_PATH", "inputs.path"),
        ("PULLSMITH_RULES", "inputs.rules"),
        ("PULLSMITH_COMMENT", "inputs.comment"),
        ("PULLSMITH_BRANCH", "inputs.branch"),
        ("PULLSMITH_COMMIT_MESSAGE", "inputs.commit-message"),
        ("GH_TOKEN", "inputs.token"),
    ] {
        assert_eq!(run["env"][var].as_str(), Some(format!("${{{{ {expr} }}}}").as_str()), "env {var}");
    }
}

#[test]
fn cache_keys_follow_the_lock_file_and_the_sources() {
    let world = World::new();
    let run = world.input("mode", "check").run();
    let keys = &run.steps["key"];
    let registry = &keys["registry"];
    let binary = &keys["binary"];
    assert!(registry.starts_with(&keys["registry-prefix"]), "{keys:?}");
    assert!(registry.starts_with("pullsmith-cargo-Linux-X64-"), "{keys:?}");
    let version = env!("CARGO_PKG_VERSION");
    assert!(binary.starts_with(&format!("pullsmith-bin-Linux-X64-{version}-")), "{keys:?}");
    assert_ne!(registry, binary);
}

// ---------------------------------------------------------------------------
// check

#[test]
fn check_on_a_pull_request_annotates_summarises_fails_and_comments() {
    let world = World::pull_request()
        .input("comment", "true")
        .comments(json!([{"id": 1, "body": "LGTM", "user": {"login": "octocat"}}]));
    let expected = world.expected_report();
    let expected_diff = world.expected_diff();
    let files = files_changed(&expected);
    assert!(files >= 9, "the example and the extra manifest need changes: {expected}");
    let before = world.git(&world.work(), &["status", "--porcelain"]);

    let run = world.run();
    assert_eq!(run.code, 1, "check fails on needed changes: {}", run.describe());
    assert_installed_by_path(&run);
    assert_output_counts(&run, true, files);
    assert_eq!(
        run.steps["run"].get("containers-changed").map(String::as_str),
        Some(expected["summary"]["containersChanged"].to_string().as_str())
    );
    assert_eq!(run.report()["files"], expected["files"], "the report is pullsmith's own");
    assert!(run.output("report").starts_with(world.path("runner-temp").to_str().unwrap()), "report in RUNNER_TEMP");

    // One annotation per change, at the changed line, which holds the image or its policy;
    // past the 10 warnings GitHub shows per step, one sums up the rest and the job summary lists them.
    let annotations = run.annotations();
    let n_warnings = run.stdout.lines().filter(|l| l.starts_with("::warning ")).count();
    assert!(n_warnings <= 10, "GitHub shows 10 warnings per step: {}", run.describe());
    let changes = change_lines(&expected);
    let shown = changes.iter().filter(|change| annotations.contains(change)).count();
    if changes.len() > 10 {
        assert_eq!(shown, 9, "{annotations:?}");
        let more = format!("… and {} more pullsmith warnings: see the job summary", changes.len() - 9);
        assert!(run.stdout.contains(&more), "{}", run.describe());
    }
    for change in &changes {
        let listed = run.summary.contains(&format!("- warning {}:{}: ", change.0, change.1));
        assert!(annotations.contains(change) || listed, "{change:?} annotated or in the summary:\n{}", run.summary);
        let text = std::fs::read_to_string(world.work().join(&change.0)).expect("read");
        let line = text.lines().nth(change.1 - 1).expect("the line exists");
        assert!(line.contains("image"), "{}:{} is `{line}`", change.0, change.1);
    }
    // Every file with a change shows inline: one per file before a second in the same file.
    let files: std::collections::BTreeSet<&String> = changes.iter().map(|(file, _)| file).collect();
    if files.len() <= 9 {
        assert!(files.iter().all(|file| annotations.iter().any(|(f, _)| f == *file)), "{annotations:?}");
    }

    assert!(!run.summary.trim().is_empty(), "a job summary: {}", run.describe());
    assert!(run.summary.contains("dev"), "the summary names the environments:\n{}", run.summary);

    // The comment: listed, none with the marker, so one is created with the diff.
    let calls = world.gh_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    let list = format!("repos/{REPOSITORY}/issues/{PR_NUMBER}/comments");
    assert!(calls[0].starts(&["api", &list]) && calls[0].args.contains(&"--paginate".to_string()), "{calls:?}");
    assert!(calls[1].starts(&["api", &list]), "{calls:?}");
    assert!(!calls[1].args.contains(&"PATCH".to_string()), "{calls:?}");
    let body = calls[1].body();
    assert!(body.starts_with(MARKER), "{body}");
    assert!(body.contains(&format!("```diff\n{expected_diff}")), "the diff in a diff block:\n{body}");
    assert!(calls.iter().all(|c| c.token == TOKEN), "gh gets the token input");

    // check writes nothing and pushes nothing.
    assert_eq!(world.git(&world.work(), &["status", "--porcelain"]), before);
    assert_eq!(world.origin_ref("feature"), Some(world.git(&world.work(), &["rev-parse", "HEAD"])));
}

#[test]
fn check_updates_the_comment_that_carries_the_marker() {
    let world = World::pull_request().input("comment", "true").comments(json!([
        {"id": 1, "body": "LGTM"},
        {"id": 555, "body": format!("{MARKER}\nold diff")},
        {"id": 7, "body": "another"},
    ]));
    let run = world.run();
    assert_eq!(run.code, 1, "{}", run.describe());
    let calls = world.gh_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[1].starts(&["api", "-X", "PATCH", &format!("repos/{REPOSITORY}/issues/comments/555")]), "{calls:?}");
    let body = calls[1].body();
    assert!(body.starts_with(MARKER) && body.contains("```diff\n"), "{body}");
}

#[test]
fn check_on_a_compliant_pull_request_passes_and_says_so_in_its_comment() {
    let mut world = World::pull_request().input("comment", "true").comments(json!([{"id": 555, "body": MARKER}]));
    world.make_compliant();
    let run = world.run();
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_output_counts(&run, false, 0);
    assert!(run.annotations().is_empty(), "no annotations: {}", run.describe());
    let calls = world.gh_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[1].starts(&["api", "-X", "PATCH", &format!("repos/{REPOSITORY}/issues/comments/555")]));
    let body = calls[1].body();
    assert!(body.starts_with(MARKER) && body.contains("compliant") && !body.contains("```diff"), "{body}");

    // Without an earlier comment there is nothing to update and nothing is posted.
    let world = world.comments(json!([{"id": 1, "body": "LGTM"}]));
    world.forget_gh_calls();
    let run = world.run();
    assert_eq!(run.code, 0, "{}", run.describe());
    let calls = world.gh_calls();
    assert_eq!(calls.len(), 1, "only the list: {calls:?}");
    assert!(calls[0].starts(&["api", &format!("repos/{REPOSITORY}/issues/{PR_NUMBER}/comments")]));
}

#[test]
fn check_without_comment_calls_no_api() {
    let world = World::pull_request();
    let run = world.run();
    assert_eq!(run.code, 1, "{}", run.describe());
    assert_eq!(run.output("changed"), "true");
    assert!(world.gh_calls().is_empty(), "{:?}", world.gh_calls());
}

#[test]
fn check_of_a_subdirectory_annotates_with_repository_paths() {
    let world = World::new();
    let work = world.work();
    std::fs::create_dir(work.join("deploy")).expect("create deploy/");
    world.git(&work, &["mv", "dev", "prod", "staging", "shared", "README.md", "deploy/"]);
    world.commit_all(&work, "move into deploy/");
    let world = world.input("path", "deploy");
    let run = world.run();
    assert_eq!(run.code, 1, "{}", run.describe());
    let annotations = run.annotations();
    assert!(!annotations.is_empty(), "{}", run.describe());
    for (file, line) in annotations {
        assert!(file.starts_with("deploy/"), "{file}");
        let text = std::fs::read_to_string(work.join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(text.lines().nth(line - 1).is_some_and(|l| l.contains("image")), "{file}:{line}");
    }
}

#[test]
fn check_with_a_broken_rules_file_is_a_usage_error() {
    let world = World::new();
    write(&world.work(), "broken-rules.yaml", "version: 1\nnot-a-key: true\n");
    let run = world.input("rules", "broken-rules.yaml").run();
    assert_eq!(run.code, 2, "{}", run.describe());
}

#[test]
fn unknown_mode_is_refused() {
    let run = World::new().input("mode", "yolo").run();
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(run.stdout.contains("::error"), "{}", run.describe());
}

// ---------------------------------------------------------------------------
// fix

#[test]
fn fix_commits_onto_the_pull_request_branch_and_pushes_it() {
    let world = World::pull_request().input("mode", "fix");
    let files = files_changed(&world.expected_report());
    let main_before = world.origin_ref("main");
    let head_before = world.origin_ref("feature").expect("feature");

    let run = world.run();
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_installed_by_path(&run);
    assert_output_counts(&run, true, files);
    let commit = run.output("commit").to_string();
    assert_eq!(commit.len(), 40, "{}", run.describe());
    assert_eq!(run.report()["commit"], json!(commit), "the report names the commit");

    // origin's feature branch got exactly that commit, on top of the old head, by the bot.
    assert_eq!(world.origin_ref("feature"), Some(commit.clone()));
    assert_eq!(world.origin_log(&commit, "%P"), head_before);
    assert_eq!(world.origin_log(&commit, "%an <%ae>"), BOT);
    assert_eq!(world.origin_ref("main"), main_before, "main is untouched");
    assert!(world.origin_ref("pullsmith/maintenance").is_none());
    assert!(world.gh_calls().is_empty(), "fix needs no API: {:?}", world.gh_calls());
    assert!(run.summary.contains(&commit), "{}", run.summary);

    // What was pushed is compliant; a second run commits and pushes nothing.
    let again = world.run();
    assert_eq!(again.code, 0, "{}", again.describe());
    assert_eq!(again.output("changed"), "false");
    assert_eq!(again.output("files-changed"), "0");
    assert_eq!(again.output("commit"), "");
    assert_eq!(world.origin_ref("feature"), Some(commit));
    let world = world.input("mode", "check");
    let check = world.run();
    assert_eq!(check.code, 0, "check passes after fix: {}", check.describe());
}

#[test]
fn fix_uses_the_commit_message_input() {
    let world = World::pull_request().input("mode", "fix").input("commit-message", "chore: pull policies");
    let run = world.run();
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(world.origin_log("feature", "%B").trim(), "chore: pull policies");
}

#[test]
fn fix_on_a_detached_head_at_the_pull_request_head_checks_out_the_branch() {
    let world = World::pull_request().input("mode", "fix");
    let work = world.work();
    world.git(&work, &["checkout", "-q", "--detach", "HEAD"]);
    world.git(&work, &["branch", "-q", "-D", "feature"]);
    let run = world.run();
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(world.git(&work, &["symbolic-ref", "--short", "HEAD"]), "feature");
    assert_eq!(world.origin_ref("feature"), Some(run.output("commit").to_string()));
}

#[test]
fn fix_refuses_a_detached_merge_commit_and_pushes_nothing() {
    let world = World::pull_request().input("mode", "fix");
    let work = world.work();
    // As actions/checkout leaves a pull_request run by default: the merge commit, detached.
    world.git(&work, &["checkout", "-q", "--detach", "main"]);
    world.git(
        &work,
        &[
            "-c",
            "user.name=GitHub",
            "-c",
            "user.email=noreply@github.com",
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge",
            "feature",
        ],
    );
    let before = world.origin_ref("feature");
    let run = world.run();
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(run.stdout.contains("head_ref"), "the error says how to check out: {}", run.describe());
    assert_eq!(world.origin_ref("feature"), before);
}

#[test]
fn fix_of_a_fork_pull_request_only_checks() {
    let mut world = World::pull_request().input("mode", "fix");
    world.event["pull_request"]["head"]["repo"]["full_name"] = json!("someone/gitops");
    let before = world.origin_ref("feature");
    let run = world.run();
    assert_eq!(run.code, 1, "{}", run.describe());
    assert!(run.stdout.contains("fork"), "{}", run.describe());
    assert_eq!(world.origin_ref("feature"), before);
}

// ---------------------------------------------------------------------------
// pull-request

#[test]
fn pull_request_mode_pushes_the_branch_and_opens_a_pull_request() {
    let world = World::scheduled().input("mode", "pull-request");
    let files = files_changed(&world.expected_report());
    let main = world.origin_ref("main").expect("main");

    let run = world.run();
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_installed_by_path(&run);
    assert_output_counts(&run, true, files);
    let commit = run.output("commit").to_string();
    assert_eq!(world.origin_ref("pullsmith/maintenance"), Some(commit.clone()));
    assert_eq!(world.origin_log(&commit, "%P"), main, "the branch starts from main");
    assert_eq!(world.origin_ref("main"), Some(main), "main is untouched");
    let title = world.origin_log(&commit, "%s");

    let calls = world.gh_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[0].starts(&["pr", "list"]), "{calls:?}");
    assert_eq!(calls[0].after("--head"), Some("pullsmith/maintenance"));
    assert_eq!(calls[0].after("--state"), Some("open"));
    assert!(calls[1].starts(&["pr", "create"]), "{calls:?}");
    assert_eq!(calls[1].after("--repo"), Some(REPOSITORY));
    assert_eq!(calls[1].after("--head"), Some("pullsmith/maintenance"));
    assert_eq!(calls[1].after("--base"), Some("main"));
    assert_eq!(calls[1].after("--title"), Some(title.as_str()));
    assert!(calls[1].body().contains("dev/web.yaml"), "the body lists the files: {}", calls[1].body());
    assert!(calls.iter().all(|c| c.token == TOKEN));
    assert!(run.summary.contains("pull/77"), "{}", run.summary);
}

#[test]
fn pull_request_mode_rebuilds_the_branch_and_edits_the_open_pull_request() {
    let world =
        World::scheduled().input("mode", "pull-request").input("branch", "bot/pulls").pulls(json!([{"number": 12}]));
    // An earlier run's branch, now stale, on origin.
    let work = world.work();
    world.git(&work, &["checkout", "-q", "-b", "bot/pulls"]);
    write(&work, "stale.txt", "stale\n");
    let stale = world.commit_all(&work, "stale");
    world.git(&work, &["push", "-q", "origin", "bot/pulls"]);
    world.git(&work, &["checkout", "-q", "main"]);
    let main = world.origin_ref("main").expect("main");

    let run = world.run();
    assert_eq!(run.code, 0, "{}", run.describe());
    let commit = run.output("commit").to_string();
    assert_ne!(commit, stale);
    assert_eq!(world.origin_ref("bot/pulls"), Some(commit.clone()), "force-pushed");
    assert_eq!(world.origin_log(&commit, "%P"), main);
    let calls = world.gh_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[0].starts(&["pr", "list"]) && calls[0].after("--head") == Some("bot/pulls"), "{calls:?}");
    assert!(calls[1].starts(&["pr", "edit", "12"]), "{calls:?}");
    assert!(calls[1].after("--body").is_some_and(|b| b.contains("dev/web.yaml")), "{calls:?}");
}

#[test]
fn pull_request_mode_on_a_compliant_repository_pushes_nothing_and_calls_nothing() {
    let mut world = World::scheduled().input("mode", "pull-request");
    world.make_compliant();
    let run = world.run();
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_output_counts(&run, false, 0);
    assert!(world.origin_ref("pullsmith/maintenance").is_none());
    assert!(world.gh_calls().is_empty(), "{:?}", world.gh_calls());
}

// ---------------------------------------------------------------------------
// Every mode twice, and every output declared (issue 11, item 4)

/// Where HEAD is (its branch, or `None` when detached, and its commit) and `git status`.
fn checkout_state(world: &World) -> (Option<String>, String, String) {
    let work = world.work();
    let output = world.git_command(&work).args(["symbolic-ref", "-q", "HEAD"]).output().expect("run git");
    let branch = output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_string());
    (branch, world.git(&work, &["rev-parse", "HEAD"]), world.git(&work, &["status", "--porcelain"]))
}

/// Every ref of origin with its commit.
fn origin_refs(world: &World) -> String {
    world.git(world.dir.path(), &["--git-dir", "origin.git", "for-each-ref", "--format=%(refname) %(objectname)"])
}

#[test]
fn check_twice_says_the_same_and_pushes_nothing() {
    let world = World::pull_request();
    let refs = origin_refs(&world);
    let state = checkout_state(&world);
    let first = world.run();
    let second = world.run();
    for run in [&first, &second] {
        assert_eq!(run.code, 1, "{}", run.describe());
    }
    let without_report = |run: &Run| {
        let mut outputs = run.outputs.clone();
        outputs.remove("report");
        outputs
    };
    assert_eq!(without_report(&first), without_report(&second));
    assert_eq!(first.report()["files"], second.report()["files"]);
    assert_eq!(origin_refs(&world), refs, "check pushes nothing");
    assert_eq!(checkout_state(&world), state, "check leaves the checkout as it was");
}

#[test]
fn fix_twice_pushes_once_and_stays_on_the_pull_request_branch() {
    let world = World::pull_request().input("mode", "fix");
    let first = world.run();
    assert_eq!(first.code, 0, "{}", first.describe());
    let commit = first.output("commit").to_string();
    let refs = origin_refs(&world);
    let state = checkout_state(&world);
    assert_eq!(state, (Some("refs/heads/feature".to_string()), commit.clone(), String::new()));

    let second = world.run();
    assert_eq!(second.code, 0, "{}", second.describe());
    assert_eq!(second.output("changed"), "false");
    assert_eq!(second.output("commit"), "");
    assert_eq!(origin_refs(&world), refs, "the second fix pushes nothing");
    assert_eq!(checkout_state(&world), state);
    assert!(world.gh_calls().is_empty(), "{:?}", world.gh_calls());
}

#[test]
fn pull_request_mode_twice_pushes_once_and_leaves_the_open_pull_request_alone() {
    let world = World::scheduled().input("mode", "pull-request");
    let files = files_changed(&world.expected_report());
    let state = checkout_state(&world);
    assert_eq!(state.0.as_deref(), Some("refs/heads/main"));

    let first = world.run();
    assert_eq!(first.code, 0, "{}", first.describe());
    assert_output_counts(&first, true, files);
    let commit = first.output("commit").to_string();
    assert_eq!(world.origin_ref("pullsmith/maintenance"), Some(commit.clone()));
    assert_eq!(first.output("pull-request"), "https://github.com/acme/gitops/pull/77");
    assert_eq!(checkout_state(&world), state, "HEAD, its commit and the work tree are as the workflow left them");

    // The pull request is open now; nothing changed since.
    let url = "https://github.com/acme/gitops/pull/77";
    let world = world.pulls(json!([{"number": 77, "url": url}]));
    world.forget_gh_calls();
    let refs = origin_refs(&world);
    let second = world.run();
    assert_eq!(second.code, 0, "{}", second.describe());
    assert_eq!(origin_refs(&world), refs, "the second run pushes nothing");
    let calls = world.gh_calls();
    assert_eq!(calls.len(), 1, "only the list, no edit or create: {calls:?}");
    assert!(calls[0].starts(&["pr", "list"]), "{calls:?}");
    assert_eq!(second.output("changed"), "false");
    assert_eq!(second.output("commit"), "");
    assert_eq!(second.output("files-changed"), files.to_string(), "the files the branch holds changes for");
    assert_eq!(second.output("pull-request"), url);
    assert!(second.summary.contains("nothing pushed"), "{}", second.summary);
    assert_eq!(checkout_state(&world), state);

    // main moves on with a manifest that needs a policy: the branch is rebuilt on it, pushed, the PR edited.
    let server = world.path("server");
    world.git(world.dir.path(), &["clone", "-q", "origin.git", "server"]);
    write(&server, "dev/extra.yaml", EXTRA);
    world.commit_all(&server, "add extra");
    world.git(&server, &["push", "-q", "origin", "main"]);
    world.git(&world.work(), &["pull", "-q", "--ff-only"]);
    let state = checkout_state(&world);
    world.forget_gh_calls();
    let third = world.run();
    assert_eq!(third.code, 0, "{}", third.describe());
    let rebuilt = third.output("commit").to_string();
    assert_eq!(world.origin_ref("pullsmith/maintenance"), Some(rebuilt.clone()));
    assert_eq!(world.origin_log(&rebuilt, "%P"), world.origin_ref("main").expect("main"));
    let calls = world.gh_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[1].starts(&["pr", "edit", "77"]), "{calls:?}");
    assert_eq!(checkout_state(&world), state);
}

#[test]
fn pull_request_mode_opens_a_pull_request_for_a_branch_that_holds_the_rewrite_without_pushing() {
    let world = World::scheduled().input("mode", "pull-request");
    let first = world.run();
    assert_eq!(first.code, 0, "{}", first.describe());
    // The pull request was closed (or its creation failed); the branch is still on origin.
    world.forget_gh_calls();
    let refs = origin_refs(&world);
    let second = world.run();
    assert_eq!(second.code, 0, "{}", second.describe());
    assert_eq!(origin_refs(&world), refs, "nothing pushed");
    let calls = world.gh_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[1].starts(&["pr", "create"]), "{calls:?}");
    assert_eq!(calls[1].after("--head"), Some("pullsmith/maintenance"));
    assert_eq!(second.output("pull-request"), "https://github.com/acme/gitops/pull/77");
}

/// The keys `KEY` of `set_output KEY …` and `echo "KEY=…"` lines of a script.
fn keys_written_by(script: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for line in script.lines().map(str::trim) {
        let rest = line
            .strip_prefix("set_output ")
            .map(|rest| rest.split_whitespace().next().unwrap_or("").to_string())
            .or_else(|| line.strip_prefix("echo \"").and_then(|rest| rest.split_once('=')).map(|(k, _)| k.to_string()));
        if let Some(key) = rest.filter(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')) {
            keys.push(key);
        }
    }
    keys
}

#[test]
fn action_yml_declares_every_output_the_scripts_and_pullsmith_write() {
    let action = action_yml();
    let steps = action["runs"]["steps"].as_sequence().expect("steps");
    // Which step runs which script.
    let mut step_of_script = BTreeMap::new();
    for step in steps {
        if let (Some(id), Some(run)) = (step["id"].as_str(), step["run"].as_str()) {
            let script = run.split("/action/").nth(1).and_then(|rest| rest.split('"').next()).expect("a script");
            step_of_script.insert(script.to_string(), id.to_string());
        }
    }

    // Written, by step: what the scripts say they write, and what each mode really wrote.
    let mut written: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(project_root().join("action")).expect("read action/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "sh") {
            let name = path.file_name().expect("name").to_string_lossy().into_owned();
            let id = step_of_script.get(&name).unwrap_or_else(|| panic!("no step runs action/{name}"));
            let text = std::fs::read_to_string(&path).expect("read script");
            written.entry(id.clone()).or_default().extend(keys_written_by(&text));
        }
    }
    let runs = [
        World::pull_request().run(),
        World::pull_request().input("mode", "fix").run(),
        World::scheduled().input("mode", "pull-request").run(),
    ];
    for run in &runs {
        assert!(run.code <= 1, "{}", run.describe());
        for (id, outputs) in &run.steps {
            written.entry(id.clone()).or_default().extend(outputs.keys().cloned());
        }
    }
    // pullsmith's own, under --format github.
    let world = World::new();
    let github_output = world.path("pullsmith-output");
    let output = world
        .pullsmith(&["--format", "github", "diff", "."])
        .current_dir(world.work())
        .env("GITHUB_OUTPUT", &github_output)
        .output()
        .expect("run pullsmith");
    assert!(output.status.success(), "{}", describe(&output));
    let pullsmith_keys = parse_command_file(&std::fs::read_to_string(&github_output).expect("read outputs"));
    assert!(pullsmith_keys.contains_key("pod-specs-changed"), "{pullsmith_keys:?}");
    written.entry("run".to_string()).or_default().extend(pullsmith_keys.keys().cloned());

    // The run step's keys are the action's outputs, one for one.
    let declared: std::collections::BTreeSet<String> = action["outputs"]
        .as_mapping()
        .expect("outputs")
        .iter()
        .map(|(name, spec)| {
            let name = name.as_str().expect("name").to_string();
            let value = spec["value"].as_str().unwrap_or_else(|| panic!("output {name} has a value"));
            assert_eq!(value, format!("${{{{ steps.run.outputs.{name} }}}}"), "output {name}");
            assert!(spec["description"].as_str().is_some_and(|d| !d.is_empty()), "output {name} is described");
            name
        })
        .collect();
    assert_eq!(declared, written["run"], "action.yml's outputs are exactly what the run step writes");
    for name in
        ["changed", "files-changed", "report", "commit", "pull-request", "containers-changed", "pod-specs-changed"]
    {
        assert!(declared.contains(name), "{name} is declared");
    }
    // The other steps' outputs are for later steps of the action: each one is used.
    let text = std::fs::read_to_string(project_root().join("action.yml")).expect("read action.yml");
    for (id, keys) in written.iter().filter(|(id, _)| id.as_str() != "run") {
        for key in keys {
            assert!(text.contains(&format!("steps.{id}.outputs.{key} }}}}")), "steps.{id}.outputs.{key} is used");
        }
    }
}
