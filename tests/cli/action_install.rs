//! How the GitHub Action gets its pullsmith: `action/install.sh` (with
//! `action/build.sh` and `action/cache-key.sh`) run with bash as the runner
//! runs them, offline. The release is a directory behind a `file://`
//! `PULLSMITH_RELEASE_BASE_URL`, laid out as the release workflow lays it out
//! (`v<version>/pullsmith-<version>-<target>.tar.gz` holding the leading
//! directory `pullsmith-<version>-<target>/`, beside
//! `pullsmith-<version>-<target>.sha256`), packed from the test's own
//! binary. The `cargo` first on PATH is a stand-in that records its
//! arguments and fails (or, when told to, "installs" a given binary), so a
//! test that installs the release binary also proves that nothing was built.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use serde_yaml::Value as Yaml;
use tempfile::TempDir;

use crate::util::{describe, project_root};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const TARGET: &str = "x86_64-unknown-linux-musl";
/// The sha256 of no bytes: a well-formed hash that matches no archive.
const SHA256_OF_NOTHING: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// Far above a download from a local directory, far below a build.
const NO_BUILD_BOUND: Duration = Duration::from_secs(20);

/// The `cargo` stand-in: one line per call in $FAKE_CARGO_CALLS, its
/// arguments separated by spaces. With FAKE_CARGO_BUILDS set to a binary,
/// `install … --root R …` copies it to R/bin/pullsmith, as a build would;
/// else every call fails.
const CARGO_STAND_IN: &str = r#"#!/usr/bin/env bash
echo "$*" >> "${FAKE_CARGO_CALLS:?}"
if [ -n "${FAKE_CARGO_BUILDS:-}" ] && [ "${1:-}" = install ]; then
    root=""
    prev=""
    for arg in "$@"; do
        [ "$prev" = --root ] && root="$arg"
        prev="$arg"
    done
    mkdir -p "$root/bin" && cp "$FAKE_CARGO_BUILDS" "$root/bin/pullsmith" && exit 0
fi
echo "cargo stand-in: no building in this test" >&2
exit 101
"#;

/// A runner's directories and a fake release.
struct Runner {
    dir: TempDir,
}

/// What one script run left.
struct Install {
    code: i32,
    stdout: String,
    stderr: String,
    outputs: BTreeMap<String, String>,
    summary: String,
    path_entries: Vec<String>,
    took: Duration,
}

impl Install {
    fn describe(&self) -> String {
        format!(
            "exit {} after {:?}\noutputs {:?}\n--- stdout\n{}\n--- stderr\n{}\n--- summary\n{}",
            self.code, self.took, self.outputs, self.stdout, self.stderr, self.summary
        )
    }

    fn bin(&self) -> PathBuf {
        let bin = self.outputs.get("bin").unwrap_or_else(|| panic!("no `bin` output:\n{}", self.describe()));
        PathBuf::from(bin)
    }
}

impl Runner {
    fn new() -> Runner {
        let runner = Runner { dir: tempfile::tempdir().expect("temp dir") };
        for sub in ["release", "tool-cache", "home", "fake-bin", "temp", "stage"] {
            std::fs::create_dir_all(runner.path(sub)).expect("create dir");
        }
        let cargo = runner.path("fake-bin/cargo");
        std::fs::write(&cargo, CARGO_STAND_IN).expect("write cargo");
        make_executable(&cargo);
        std::fs::write(runner.path("cargo-calls"), "").expect("create cargo-calls");
        runner
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Where install.sh keeps the release binary of `version` on Linux X64.
    fn cached_bin(&self, version: &str) -> PathBuf {
        self.path(&format!("tool-cache/pullsmith/{version}/{TARGET}/pullsmith"))
    }

    /// Publishes `binary` as the release asset of `version` for `TARGET`,
    /// with its `.sha256`; returns the archive's file name.
    fn publish(&self, version: &str, binary: &Path) -> String {
        let archive = format!("pullsmith-{version}-{TARGET}");
        let leading = self.path("stage").join(&archive);
        std::fs::create_dir_all(leading.join("completions")).expect("create leading dir");
        std::fs::copy(binary, leading.join("pullsmith")).expect("copy binary");
        std::fs::copy(project_root().join("README.md"), leading.join("README.md")).expect("copy README");
        let release = self.path(&format!("release/v{version}"));
        std::fs::create_dir_all(&release).expect("create release dir");
        let file = format!("{archive}.tar.gz");
        let output = Process::new("tar")
            .arg("-czf")
            .arg(release.join(&file))
            .arg("-C")
            .arg(self.path("stage"))
            .arg(&archive)
            .output()
            .expect("run tar");
        assert!(output.status.success(), "tar:\n{}", describe(&output));
        let hash = sha256_hex(&release.join(&file));
        self.write_sha256(version, &format!("{hash}  {file}\n"));
        file
    }

    fn write_sha256(&self, version: &str, text: &str) {
        std::fs::write(self.path(&format!("release/v{version}/pullsmith-{version}-{TARGET}.sha256")), text)
            .expect("write .sha256");
    }

    /// `bash action/<script>` with a runner's environment and `extra`.
    fn run(&self, script: &str, extra: &[(&str, &str)]) -> Install {
        let files = ["output", "summary", "path"].map(|kind| {
            let file = self.path(&format!("{script}.{kind}"));
            std::fs::write(&file, "").expect("create step file");
            file
        });
        let mut cmd = Process::new("bash");
        cmd.arg(project_root().join("action").join(script))
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", format!("{}:/usr/local/bin:/usr/bin:/bin", self.path("fake-bin").display()))
            .env("HOME", self.path("home"))
            .env("LANG", "C.UTF-8")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_ACTION_PATH", project_root())
            .env("GITHUB_OUTPUT", &files[0])
            .env("GITHUB_STEP_SUMMARY", &files[1])
            .env("GITHUB_PATH", &files[2])
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TEMP", self.path("temp"))
            .env("RUNNER_TOOL_CACHE", self.path("tool-cache"))
            .env("PULLSMITH_RELEASE_BASE_URL", format!("file://{}", self.path("release").display()))
            .env("FAKE_CARGO_CALLS", self.path("cargo-calls"));
        for (key, value) in extra {
            cmd.env(key, value);
        }
        let started = Instant::now();
        let output = cmd.output().expect("run bash");
        let took = started.elapsed();
        let read = |file: &PathBuf| std::fs::read_to_string(file).expect("read step file");
        Install {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            outputs: key_values(&read(&files[0])),
            summary: read(&files[1]),
            path_entries: read(&files[2]).lines().map(str::to_string).collect(),
            took,
        }
    }

    fn install(&self, extra: &[(&str, &str)]) -> Install {
        self.run("install.sh", extra)
    }

    /// The recorded `cargo` calls, one per line.
    fn cargo_calls(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.path("cargo-calls")).expect("read cargo-calls");
        text.lines().map(str::to_string).collect()
    }

    /// A stand-in pullsmith that only answers `--version` with `version`.
    fn fake_pullsmith(&self, version: &str) -> PathBuf {
        let path = self.path(&format!("fake-pullsmith-{version}"));
        std::fs::write(&path, format!("#!/bin/sh\necho 'pullsmith {version}'\n")).expect("write fake pullsmith");
        make_executable(&path);
        path
    }
}

/// `key=value` lines, as GITHUB_OUTPUT holds them from these scripts.
fn key_values(text: &str) -> BTreeMap<String, String> {
    text.lines().filter_map(|line| line.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn sha256_hex(path: &Path) -> String {
    let output = Process::new("sha256sum").arg(path).output().expect("run sha256sum");
    assert!(output.status.success(), "sha256sum:\n{}", describe(&output));
    String::from_utf8(output.stdout).expect("UTF-8").split_whitespace().next().expect("a hash").to_string()
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path).expect("metadata").permissions();
    perms.set_mode(0o755);
    std::fs::set_permissions(path, perms).expect("chmod");
}

/// `bin --version`, which must succeed.
fn version_output(bin: &Path) -> String {
    let output = Process::new(bin).arg("--version").output().expect("run the installed pullsmith");
    assert!(output.status.success(), "{} --version:\n{}", bin.display(), describe(&output));
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn pullsmith_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pullsmith"))
}

// ---------------------------------------------------------------------------
// The release binary

#[test]
fn install_downloads_checks_and_unpacks_the_release_binary_without_building() {
    let runner = Runner::new();
    runner.publish(VERSION, &pullsmith_bin());

    let install = runner.install(&[]);

    assert_eq!(install.code, 0, "{}", install.describe());
    assert_eq!(install.bin(), runner.cached_bin(VERSION), "{}", install.describe());
    assert!(version_output(&install.bin()).starts_with(&format!("pullsmith {VERSION}")));
    assert_eq!(runner.cargo_calls(), Vec::<String>::new(), "no cargo call: {}", install.describe());
    assert!(install.took < NO_BUILD_BOUND, "installed in {:?}: {}", install.took, install.describe());
    let summary_start = format!("pullsmith {VERSION}: release binary {TARGET}, verified sha256, ");
    assert!(install.summary.starts_with(&summary_start), "{}", install.describe());
    assert!(install.summary.trim_end().ends_with(" s"), "the summary says how long: {}", install.describe());
    let bin_dir = install.bin().parent().expect("bin dir").display().to_string();
    assert_eq!(install.path_entries, [bin_dir], "later steps find it on PATH");
    assert!(install.stdout.contains("matches"), "the log says the checksum matched: {}", install.describe());
    let leftovers: Vec<_> = std::fs::read_dir(runner.path("temp")).expect("read temp").collect();
    assert!(leftovers.is_empty(), "the download is cleaned up: {leftovers:?}");
}

#[test]
fn a_cached_release_binary_is_used_without_downloading_again() {
    let runner = Runner::new();
    runner.publish(VERSION, &pullsmith_bin());
    let first = runner.install(&[]);
    assert_eq!(first.code, 0, "{}", first.describe());
    // What actions/cache restores is all there is now.
    std::fs::remove_dir_all(runner.path("release")).expect("remove the release");

    let second = runner.install(&[]);

    assert_eq!(second.code, 0, "{}", second.describe());
    assert_eq!(second.bin(), first.bin());
    assert!(second.summary.starts_with(&format!("pullsmith {VERSION}: release binary {TARGET} from the cache, ")));
    assert!(!second.stdout.contains("downloading"), "{}", second.describe());
    assert_eq!(runner.cargo_calls(), Vec::<String>::new());
}

#[test]
fn a_release_binary_whose_sha256_does_not_match_is_refused_and_nothing_installed() {
    let runner = Runner::new();
    let file = runner.publish(VERSION, &pullsmith_bin());
    let real = sha256_hex(&runner.path(&format!("release/v{VERSION}/{file}")));
    runner.write_sha256(VERSION, &format!("{SHA256_OF_NOTHING}  {file}\n"));

    let install = runner.install(&[]);

    assert_eq!(install.code, 1, "{}", install.describe());
    let error =
        install.stdout.lines().find(|l| l.starts_with("::error")).unwrap_or_else(|| panic!("{}", install.describe()));
    assert!(error.contains(&format!("sha256 mismatch for {file}")), "{error}");
    assert!(error.contains(SHA256_OF_NOTHING), "names the expected hash: {error}");
    assert!(error.contains(&real), "names the download's hash: {error}");
    assert!(error.contains("nothing was installed"), "{error}");
    assert!(!install.outputs.contains_key("bin"), "{}", install.describe());
    assert!(!runner.cached_bin(VERSION).exists(), "nothing at the binary's path");
    assert!(!runner.path(&format!("tool-cache/pullsmith/{VERSION}")).exists(), "no cache directory either");
    assert_eq!(runner.cargo_calls(), Vec::<String>::new(), "a bad checksum is no reason to build");
    assert!(install.path_entries.is_empty());
}

#[test]
fn a_sha256_file_that_names_another_archive_is_refused() {
    let runner = Runner::new();
    let file = runner.publish(VERSION, &pullsmith_bin());
    let hash = sha256_hex(&runner.path(&format!("release/v{VERSION}/{file}")));
    runner.write_sha256(VERSION, &format!("{hash}  pullsmith-{VERSION}-aarch64-apple-darwin.tar.gz\n"));

    let install = runner.install(&[]);

    assert_eq!(install.code, 1, "{}", install.describe());
    assert!(install.stdout.contains(&format!("holds no sha256 for {file}")), "{}", install.describe());
    assert!(!runner.cached_bin(VERSION).exists());
}

#[test]
fn an_archive_without_its_sha256_is_refused_not_built() {
    let runner = Runner::new();
    runner.publish(VERSION, &pullsmith_bin());
    std::fs::remove_file(runner.path(&format!("release/v{VERSION}/pullsmith-{VERSION}-{TARGET}.sha256")))
        .expect("remove .sha256");

    let install = runner.install(&[]);

    assert_eq!(install.code, 1, "{}", install.describe());
    assert!(install.stdout.contains("no pullsmith-"), "{}", install.describe());
    assert!(!runner.cached_bin(VERSION).exists());
    assert_eq!(runner.cargo_calls(), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// The `version` input

#[test]
fn the_version_input_pins_another_release() {
    let runner = Runner::new();
    runner.publish(VERSION, &pullsmith_bin());
    runner.publish("0.9.0", &runner.fake_pullsmith("0.9.0"));

    let install = runner.install(&[("PULLSMITH_VERSION", "v0.9.0")]);

    assert_eq!(install.code, 0, "{}", install.describe());
    assert_eq!(install.bin(), runner.cached_bin("0.9.0"));
    assert_eq!(version_output(&install.bin()).trim(), "pullsmith 0.9.0");
    assert!(install.summary.starts_with(&format!("pullsmith 0.9.0: release binary {TARGET}, verified sha256, ")));
    assert!(!runner.cached_bin(VERSION).exists(), "the action's own version is not installed");
    assert_eq!(runner.cargo_calls(), Vec::<String>::new());
}

#[test]
fn a_pinned_version_without_a_release_asset_is_refused_rather_than_built_from_other_sources() {
    let runner = Runner::new();
    runner.publish(VERSION, &pullsmith_bin());

    let install = runner.install(&[("PULLSMITH_VERSION", "0.9.0")]);

    assert_eq!(install.code, 1, "{}", install.describe());
    assert!(install.stdout.contains("pullsmith 0.9.0 cannot be installed: no release asset"), "{}", install.describe());
    assert!(install.stdout.contains(&format!("the action's source is version {VERSION}")), "{}", install.describe());
    assert_eq!(runner.cargo_calls(), Vec::<String>::new());
}

#[test]
fn a_version_input_that_is_not_a_version_is_refused() {
    let runner = Runner::new();
    let install = runner.install(&[("PULLSMITH_VERSION", "../../etc")]);
    assert_eq!(install.code, 1, "{}", install.describe());
    assert!(
        install.stdout.contains("::error title=pullsmith::version '../../etc' is not a version"),
        "{}",
        install.describe()
    );
    assert_eq!(runner.cargo_calls(), Vec::<String>::new());
}

/// pullsmith's own CI runs `uses: ./` with `version: source`, to test its
/// sources rather than the release of the version they carry.
#[test]
fn the_version_input_source_builds_the_action_even_when_its_version_is_released() {
    let runner = Runner::new();
    runner.publish(VERSION, &pullsmith_bin());
    let source = [("PULLSMITH_VERSION", "source"), ("PULLSMITH_DEFER_BUILD", "true")];

    let keys = runner.run("cache-key.sh", &source);
    assert_eq!(keys.code, 0, "{}", keys.describe());
    assert_eq!(keys.outputs["release"], "", "no release binary to cache");
    let install = runner.install(&source);

    assert_eq!(install.code, 0, "{}", install.describe());
    assert_eq!(
        install.outputs.get("build").map(String::as_str),
        Some("the `version` input asks for a build of the action's source")
    );
    assert!(!install.stdout.contains("downloading"), "{}", install.describe());
    assert!(!runner.cached_bin(VERSION).exists());
}

// ---------------------------------------------------------------------------
// No release asset: cargo install of the action's source

#[test]
fn without_a_release_asset_it_falls_back_to_cargo_install_of_the_action() {
    let runner = Runner::new();
    let root = project_root().display().to_string();

    // The stand-in fails, as a build that is not wanted should.
    let failed = runner.install(&[]);
    assert_ne!(failed.code, 0, "{}", failed.describe());
    assert!(failed.stdout.contains(&format!("no release asset for {TARGET} at file://")), "{}", failed.describe());
    assert!(failed.stdout.contains("building pullsmith"), "{}", failed.describe());
    let calls = runner.cargo_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].starts_with("install --locked "), "{calls:?}");
    assert!(calls[0].ends_with(&format!("--path {root}")), "{calls:?}");
    assert!(!failed.outputs.contains_key("bin"), "{}", failed.describe());

    // A build that works: its binary, and a summary that says how it was had.
    let built = runner.install(&[("FAKE_CARGO_BUILDS", &pullsmith_bin().display().to_string())]);
    assert_eq!(built.code, 0, "{}", built.describe());
    assert_eq!(built.bin(), runner.path("home/.cargo/bin/pullsmith"));
    assert!(version_output(&built.bin()).starts_with(&format!("pullsmith {VERSION}")));
    let summary_start = format!("pullsmith {VERSION}: built from source with cargo install --locked, ");
    assert!(built.summary.starts_with(&summary_start), "{}", built.describe());
    assert!(built.summary.contains(&format!("s (no release asset for {TARGET} at file://")), "{}", built.describe());
    assert_eq!(runner.cargo_calls().len(), 2);
}

#[test]
fn a_runner_without_a_release_target_builds_from_source() {
    let runner = Runner::new();
    let install = runner.install(&[("RUNNER_ARCH", "ARM"), ("PULLSMITH_DEFER_BUILD", "true")]);
    assert_eq!(install.code, 0, "{}", install.describe());
    assert_eq!(install.outputs.get("build").map(String::as_str), Some("no release binary is built for Linux ARM"));
    assert_eq!(runner.cargo_calls(), Vec::<String>::new(), "deferred to the build step");
}

/// In action.yml the install step only says why a build is needed, the
/// cargo caches are restored on that condition, and build.sh builds.
#[test]
fn in_the_action_the_build_is_left_to_the_step_after_the_cargo_caches() {
    let runner = Runner::new();

    let install = runner.install(&[("PULLSMITH_DEFER_BUILD", "true")]);
    assert_eq!(install.code, 0, "{}", install.describe());
    let reason = install.outputs.get("build").cloned().unwrap_or_else(|| panic!("{}", install.describe()));
    assert!(reason.starts_with(&format!("no release asset for {TARGET} at file://")), "{reason}");
    assert!(!install.outputs.contains_key("bin"), "{}", install.describe());
    assert_eq!(runner.cargo_calls(), Vec::<String>::new(), "nothing built before the caches are restored");

    let fake = pullsmith_bin().display().to_string();
    let build = runner.run("build.sh", &[("PULLSMITH_BUILD_REASON", &reason), ("FAKE_CARGO_BUILDS", &fake)]);
    assert_eq!(build.code, 0, "{}", build.describe());
    assert_eq!(build.bin(), runner.path("home/.cargo/bin/pullsmith"));
    assert_eq!(runner.cargo_calls().len(), 1);

    // The source build's binary restored by actions/cache: no cargo call.
    let again = runner.run("build.sh", &[("PULLSMITH_BUILD_REASON", &reason)]);
    assert_eq!(again.code, 0, "{}", again.describe());
    assert!(again.summary.contains("built from source earlier, restored from the cache"), "{}", again.describe());
    assert_eq!(runner.cargo_calls().len(), 1);

    // With a release binary, build.sh only passes it on.
    let passed = runner.run("build.sh", &[("PULLSMITH_INSTALLED_BIN", "/opt/pullsmith/bin/pullsmith")]);
    assert_eq!(passed.code, 0, "{}", passed.describe());
    assert_eq!(passed.bin(), Path::new("/opt/pullsmith/bin/pullsmith"));
    assert!(passed.summary.is_empty() && passed.path_entries.is_empty(), "{}", passed.describe());
}

// ---------------------------------------------------------------------------
// Cache keys and action.yml

#[test]
fn the_release_cache_key_and_directory_are_where_install_puts_the_binary() {
    let runner = Runner::new();
    runner.publish(VERSION, &pullsmith_bin());
    let keys = runner.run("cache-key.sh", &[]);
    assert_eq!(keys.code, 0, "{}", keys.describe());
    let install = runner.install(&[]);
    assert_eq!(install.code, 0, "{}", install.describe());

    assert_eq!(keys.outputs["release"], format!("pullsmith-release-{VERSION}-{TARGET}"));
    assert_eq!(Path::new(&keys.outputs["release-dir"]), install.bin().parent().expect("bin dir"));

    let pinned = runner.run("cache-key.sh", &[("PULLSMITH_VERSION", "0.9.0")]);
    assert_eq!(pinned.outputs["release"], format!("pullsmith-release-0.9.0-{TARGET}"));
}

#[test]
fn the_runner_os_and_arch_choose_the_release_target() {
    let runner = Runner::new();
    let cases = [
        ("Linux", "X64", "x86_64-unknown-linux-musl"),
        ("Linux", "ARM64", "aarch64-unknown-linux-musl"),
        ("macOS", "X64", "x86_64-apple-darwin"),
        ("macOS", "ARM64", "aarch64-apple-darwin"),
        ("Windows", "X64", "x86_64-pc-windows-msvc"),
        ("Windows", "ARM64", ""),
        ("Linux", "ARM", ""),
    ];
    for (os, arch, target) in cases {
        let keys = runner.run("cache-key.sh", &[("RUNNER_OS", os), ("RUNNER_ARCH", arch)]);
        assert_eq!(keys.code, 0, "{}", keys.describe());
        let expected = if target.is_empty() { String::new() } else { format!("pullsmith-release-{VERSION}-{target}") };
        assert_eq!(keys.outputs["release"], expected, "{os} {arch}");
        assert_eq!(keys.outputs["release-dir"].is_empty(), target.is_empty(), "{os} {arch}");
    }
}

#[test]
fn action_yml_caches_the_release_binary_and_restores_the_cargo_caches_only_for_a_build() {
    let text = std::fs::read_to_string(project_root().join("action.yml")).expect("read action.yml");
    let action: Yaml = serde_yaml::from_str(&text).expect("action.yml is YAML");
    let steps = action["runs"]["steps"].as_sequence().expect("steps");
    let cache_of = |path: &str| {
        steps
            .iter()
            .find(|s| s["with"]["path"].as_str().is_some_and(|p| p.lines().any(|l| l == path)))
            .unwrap_or_else(|| panic!("a cache step for {path}"))
    };
    let release = cache_of("${{ steps.key.outputs.release-dir }}");
    assert_eq!(release["with"]["key"].as_str(), Some("${{ steps.key.outputs.release }}"));
    assert_eq!(release["if"].as_str(), Some("steps.key.outputs.release != ''"));
    for path in ["~/.cargo/registry", "~/.cargo/bin/pullsmith"] {
        assert_eq!(cache_of(path)["if"].as_str(), Some("steps.install.outputs.build != ''"), "{path}");
    }
    let position = |id: &str| steps.iter().position(|s| s["id"].as_str() == Some(id)).expect("step");
    let position_of = |step: &Yaml| steps.iter().position(|s| s == step).expect("step");
    assert!(position("key") < position_of(release) && position_of(release) < position("install"));
    assert!(position("install") < position_of(cache_of("~/.cargo/registry")));
    assert!(position_of(cache_of("~/.cargo/bin/pullsmith")) < position("build"));
    assert!(position("build") < position("run"));

    let env = |id: &str, var: &str| steps[position(id)]["env"][var].as_str().map(str::to_string);
    assert_eq!(env("key", "PULLSMITH_VERSION").as_deref(), Some("${{ inputs.version }}"));
    assert_eq!(env("install", "PULLSMITH_VERSION").as_deref(), Some("${{ inputs.version }}"));
    assert_eq!(env("install", "PULLSMITH_DEFER_BUILD").as_deref(), Some("true"));
    assert_eq!(env("build", "PULLSMITH_BUILD_REASON").as_deref(), Some("${{ steps.install.outputs.build }}"));
    assert_eq!(env("build", "PULLSMITH_INSTALLED_BIN").as_deref(), Some("${{ steps.install.outputs.bin }}"));
    assert_eq!(env("run", "PULLSMITH_BIN").as_deref(), Some("${{ steps.build.outputs.bin }}"));
}
