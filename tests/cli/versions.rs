//! One version everywhere: Cargo.toml's is the release, and CHANGELOG.md's
//! newest release, every pre-commit `rev: vX.Y.Z` and every
//! `pullsmith/pullsmith@vN` a user copies (README.md, docs, examples,
//! `.pre-commit-hooks.yaml`, workflows), pyproject.toml's version when it
//! writes one, and a version `action.yml` names as a default all agree with
//! it. A release that bumps one and forgets another fails here, not in a
//! user's CI.

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use crate::util::project_root;

/// What a place says about the version.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mention {
    /// A whole version, `1.0.0` (from `v1.0.0` too).
    Exact(String),
    /// A major tag, `@v1`: the action's moving tag.
    Major(u64),
}

/// A mention and where it is, `README.md:369`.
#[derive(Debug, Clone)]
struct Found {
    place: String,
    mention: Mention,
}

/// `version` of Cargo.toml's `[package]`.
fn cargo_version(cargo_toml: &str) -> Option<String> {
    table_string(cargo_toml, "package", "version")
}

/// A `key = "value"` of a TOML table, read line by line: enough for the
/// project's own files, which write both on one line.
fn table_string(toml: &str, table: &str, key: &str) -> Option<String> {
    let mut in_table = false;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_table = line == format!("[{table}]");
            continue;
        }
        if !in_table {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else { continue };
        if name.trim() == key {
            return value.trim().strip_prefix('"').and_then(|rest| rest.split_once('"')).map(|(v, _)| v.to_string());
        }
    }
    None
}

/// The newest released version of a Keep a Changelog file (the first `## [X]`
/// heading that is not `Unreleased`), and the problems of its entry: no date,
/// or no link reference to the release's tag.
fn changelog_release(path: &str, changelog: &str) -> (Option<Found>, Vec<String>) {
    let heading = regex::Regex::new(r"^## \[([^\]]+)\](.*)$").expect("a valid regex");
    let date = regex::Regex::new(r"^ - \d{4}-\d{2}-\d{2}$").expect("a valid regex");
    for (index, line) in changelog.lines().enumerate() {
        let Some(parts) = heading.captures(line) else { continue };
        if &parts[1] == "Unreleased" {
            continue;
        }
        let version = parts[1].to_string();
        let mut problems = Vec::new();
        if !date.is_match(&parts[2]) {
            problems.push(format!("{path}:{}: `{line}` has no ` - YYYY-MM-DD` date", index + 1));
        }
        let link = format!("[{version}]: https://github.com/pullsmith/pullsmith/releases/tag/v{version}");
        if !changelog.lines().any(|line| line.trim() == link) {
            problems.push(format!("{path}: no link reference `{link}`"));
        }
        let found = Found { place: format!("{path}:{}", index + 1), mention: Mention::Exact(version) };
        return (Some(found), problems);
    }
    (None, vec![format!("{path}: no released version (a `## [X.Y.Z] - YYYY-MM-DD` heading)")])
}

/// Every `rev:` of a pre-commit entry for this repository: the nearest
/// `repo:` line before it names `pullsmith/pullsmith` (commented-out
/// examples count: users copy them). Other repositories' revs are theirs.
fn pre_commit_revs(path: &str, text: &str) -> Vec<Found> {
    let rev = regex::Regex::new(r"^[#\s-]*rev:\s*['\x22]?v?([^'\x22\s]+)").expect("a valid regex");
    let mut repo_is_ours = false;
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let bare = line.trim_start_matches(|c: char| c == '#' || c == '-' || c.is_whitespace());
        if bare.starts_with("repo:") {
            repo_is_ours = bare.contains("github.com/pullsmith/pullsmith");
        } else if let Some(parts) = rev.captures(line).filter(|_| repo_is_ours) {
            found.push(Found { place: format!("{path}:{}", index + 1), mention: Mention::Exact(parts[1].to_string()) });
        }
    }
    found
}

/// Every `pullsmith/pullsmith@vN` (or `@vX.Y.Z`).
fn action_refs(path: &str, text: &str) -> Vec<Found> {
    let reference = regex::Regex::new(r"pullsmith/pullsmith@v(\d+)(\.\d+\.\d+)?").expect("a valid regex");
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        for parts in reference.captures_iter(line) {
            let mention = match parts.get(2) {
                Some(rest) => Mention::Exact(format!("{}{}", &parts[1], rest.as_str())),
                None => Mention::Major(parts[1].parse().expect("digits")),
            };
            found.push(Found { place: format!("{path}:{}", index + 1), mention });
        }
    }
    found
}

/// pyproject.toml's `[project]` version, when it is written there rather
/// than `dynamic` (taken from Cargo.toml at build time).
fn pyproject_version(path: &str, text: &str) -> Option<Found> {
    let version = table_string(text, "project", "version")?;
    Some(Found { place: path.to_string(), mention: Mention::Exact(version) })
}

/// A default of an `action.yml` input named like a version (`version`,
/// `pullsmith-version`) that is one: `1.0.0` or `v1.0.0`. An empty default
/// (the action's own source) names none.
fn action_default_versions(path: &str, text: &str) -> Vec<Found> {
    let documents = YamlLoader::load_from_str(text).unwrap_or_else(|err| panic!("{path}: {err}"));
    let Some(Yaml::Hash(inputs)) = documents.first().map(|doc| &doc["inputs"]) else { return Vec::new() };
    let version = regex::Regex::new(r"^v?(\d+\.\d+\.\d+\S*)$").expect("a valid regex");
    let mut found = Vec::new();
    for (name, input) in inputs {
        let (Some(name), Some(default)) = (name.as_str(), input["default"].as_str()) else { continue };
        if !name.contains("version") {
            continue;
        }
        if let Some(parts) = version.captures(default.trim()) {
            let place = format!("{path}: inputs.{name}.default");
            found.push(Found { place, mention: Mention::Exact(parts[1].to_string()) });
        }
    }
    found
}

/// What disagrees with `cargo`'s version, one line per place.
fn disagreements(cargo: &str, found: &[Found]) -> Vec<String> {
    let major: u64 = match cargo.split('.').next().and_then(|major| major.parse().ok()) {
        Some(major) => major,
        None => return vec![format!("Cargo.toml: version `{cargo}` is not X.Y.Z")],
    };
    found
        .iter()
        .filter_map(|found| match &found.mention {
            Mention::Exact(version) if version != cargo => {
                Some(format!("{}: says {version}, Cargo.toml says {cargo}", found.place))
            }
            Mention::Major(named) if *named != major => {
                Some(format!("{}: says @v{named}, Cargo.toml's major version is {major}", found.place))
            }
            _ => None,
        })
        .collect()
}

/// The files a user copies a `rev:` or an `@v` from, relative to `root`.
fn copied_from(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.map(|entry| entry.expect("dir entry")) {
            let path = entry.path();
            if entry.file_type().expect("file type").is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "md" || ext == "yml" || ext == "yaml") {
                out.push(path);
            }
        }
    }
    let mut files: Vec<PathBuf> = ["README.md", ".pre-commit-hooks.yaml", "action.yml"]
        .iter()
        .map(|name| root.join(name))
        .filter(|path| path.is_file())
        .collect();
    for dir in ["docs", "examples", ".github"] {
        walk(&root.join(dir), &mut files);
    }
    files.sort();
    files
}

#[test]
fn every_version_a_user_reads_is_cargo_tomls() {
    let root = project_root();
    let read = |name: &str| std::fs::read_to_string(root.join(name)).ok();
    let cargo = cargo_version(&read("Cargo.toml").expect("Cargo.toml")).expect("Cargo.toml has a [package] version");
    let mut problems = Vec::new();
    let mut found = Vec::new();

    let (release, changelog_problems) = changelog_release("CHANGELOG.md", &read("CHANGELOG.md").expect("CHANGELOG.md"));
    problems.extend(changelog_problems);
    found.extend(release);
    for path in copied_from(&root) {
        let text = std::fs::read_to_string(&path).expect("read");
        let name = path.strip_prefix(&root).expect("below the root").display().to_string();
        found.extend(pre_commit_revs(&name, &text));
        found.extend(action_refs(&name, &text));
    }
    assert!(
        found.iter().any(|f| f.place.starts_with("README.md") && matches!(f.mention, Mention::Exact(_))),
        "README.md's pre-commit `rev:` was read: {found:#?}"
    );
    assert!(found.iter().any(|f| matches!(f.mention, Mention::Major(_))), "an `@vN` was read: {found:#?}");
    if let Some(text) = read("pyproject.toml") {
        found.extend(pyproject_version("pyproject.toml", &text));
    }
    if let Some(text) = read("action.yml") {
        found.extend(action_default_versions("action.yml", &text));
    }
    problems.extend(disagreements(&cargo, &found));
    assert!(problems.is_empty(), "versions disagree with Cargo.toml's {cargo}:\n{}", problems.join("\n"));
}

/// The readers above find a wrong version: without this, a reader that
/// matches nothing would make the test above pass forever.
#[test]
fn a_wrong_version_anywhere_is_named() {
    let readme = "\
```yaml
- repo: https://github.com/pullsmith/pullsmith
  rev: v0.9.0
- repo: https://github.com/other/hooks
  rev: v3.0.0
```
- uses: pullsmith/pullsmith@v2
- uses: pullsmith/pullsmith@v1
- uses: pullsmith/pullsmith@v1.0.1
";
    let hooks = "#   - repo: https://github.com/pullsmith/pullsmith\n#     rev: 'v1.0.0'\n";
    let changelog = "# Changelog\n\n## [Unreleased]\n\n## [0.9.0]\n\n## [0.8.0] - 2026-01-01\n";
    let pyproject =
        "[build-system]\nrequires = [\"maturin>=1\"]\n\n[project]\nname = \"pullsmith\"\nversion = \"0.9.0\"\n";
    let action = "name: pullsmith\ninputs:\n  version:\n    default: v1.1.0\n  mode:\n    default: check\n";

    assert_eq!(
        cargo_version("[package]\nname = \"x\"\nversion = \"1.0.0\"\n[dependencies]\nversion = \"9\"\n"),
        Some("1.0.0".into())
    );
    let (release, problems) = changelog_release("CHANGELOG.md", changelog);
    assert_eq!(release.as_ref().map(|f| f.mention.clone()), Some(Mention::Exact("0.9.0".into())));
    assert_eq!(problems.len(), 2, "no date, no link: {problems:?}");
    let mut found: Vec<Found> = release.into_iter().collect();
    found.extend(pre_commit_revs("README.md", readme));
    found.extend(pre_commit_revs(".pre-commit-hooks.yaml", hooks));
    found.extend(action_refs("README.md", readme));
    found.extend(pyproject_version("pyproject.toml", pyproject));
    found.extend(action_default_versions("action.yml", action));
    let problems = disagreements("1.0.0", &found);
    assert_eq!(
        problems,
        vec![
            "CHANGELOG.md:5: says 0.9.0, Cargo.toml says 1.0.0",
            "README.md:3: says 0.9.0, Cargo.toml says 1.0.0",
            "README.md:7: says @v2, Cargo.toml's major version is 1",
            "README.md:9: says 1.0.1, Cargo.toml says 1.0.0",
            "pyproject.toml: says 0.9.0, Cargo.toml says 1.0.0",
            "action.yml: inputs.version.default: says 1.1.0, Cargo.toml says 1.0.0",
        ],
        "{found:#?}"
    );
    // Another repository's rev, the right ones and a dynamic version are no problem.
    assert_eq!(found.iter().filter(|f| f.place.starts_with(".pre-commit-hooks.yaml")).count(), 1);
    let dynamic = "[project]\nname = \"pullsmith\"\ndynamic = [\"version\"]\n";
    assert!(pyproject_version("pyproject.toml", dynamic).is_none());
}
