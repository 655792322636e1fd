//! docs/rules.md, the rules reference, stays true: every rules file in it
//! validates through the binary and matches rules/schema.json, its copy of
//! the embedded default is the default, it names every key of the schema,
//! and neither it nor the README points at files a user's clone does not
//! have.

use std::process::Output;
use std::time::Duration;

use crate::util::{describe, project_root, pullsmith};

/// Marks the next ```yaml block as using keys this build may not accept yet:
/// `<!-- validate: pending key1 key2 -->`.
const PENDING_MARK: &str = "<!-- validate: pending ";

struct YamlBlock {
    /// 1-based line of the opening fence.
    line: usize,
    text: String,
    /// Keys named by a pending mark on the line before the fence.
    pending: Vec<String>,
}

fn rules_doc() -> String {
    std::fs::read_to_string(project_root().join("docs/rules.md")).expect("docs/rules.md is there")
}

fn yaml_blocks(markdown: &str) -> Vec<YamlBlock> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut blocks = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        if lines[index].trim_end() != "```yaml" {
            index += 1;
            continue;
        }
        let pending = index
            .checked_sub(1)
            .and_then(|before| lines[before].strip_prefix(PENDING_MARK))
            .and_then(|rest| rest.strip_suffix(" -->"))
            .map(|keys| keys.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        let start = index + 1;
        let end = (start..lines.len()).find(|&i| lines[i].trim_end() == "```").expect("every block is closed");
        let mut text = lines[start..end].join("\n");
        text.push('\n');
        blocks.push(YamlBlock { line: index + 1, text, pending });
        index = end + 1;
    }
    blocks
}

/// A rules file: its first line that is not blank or a comment is `version: 1`.
fn is_rules_file(text: &str) -> bool {
    text.lines().map(str::trim).find(|line| !line.is_empty() && !line.starts_with('#')) == Some("version: 1")
}

fn validate(text: &str) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("rules.yaml"), text).expect("write rules");
    pullsmith()
        .current_dir(dir.path())
        .args(["rules", "validate", "rules.yaml"])
        .timeout(Duration::from_secs(60))
        .output()
        .expect("pullsmith runs")
}

#[test]
fn every_rules_file_in_docs_rules_md_validates() {
    let blocks: Vec<YamlBlock> = yaml_blocks(&rules_doc()).into_iter().filter(|b| is_rules_file(&b.text)).collect();
    assert!(blocks.len() >= 7, "found only {} rules files in docs/rules.md", blocks.len());
    for block in blocks {
        let output = validate(&block.text);
        if output.status.success() {
            if !block.pending.is_empty() {
                // A mark that no longer marks anything is a stale promise in the docs.
                panic!("docs/rules.md:{}: validates now; its `validate: pending` mark must go", block.line);
            }
            continue;
        }
        // A block marked pending may fail only because this build does not know a key it names.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let known_gap = block.pending.iter().any(|key| stderr.contains(&format!("unknown field `{key}`")));
        assert!(
            known_gap,
            "docs/rules.md:{}: the rules file does not validate\n{}\n{}",
            block.line,
            block.text,
            describe(&output)
        );
    }
}

#[test]
fn every_rules_file_in_docs_rules_md_matches_the_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project_root().join("rules/schema.json")).expect("schema"))
            .expect("the schema is JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("rules/schema.json is a valid schema");
    let blocks = yaml_blocks(&rules_doc());
    let rules_files: Vec<&YamlBlock> =
        blocks.iter().filter(|block| is_rules_file(&block.text) && block.pending.is_empty()).collect();
    assert!(rules_files.iter().any(|block| block.text.contains("version: \"")), "no example with a chart version");
    for block in rules_files {
        let value: serde_json::Value = serde_yaml::from_str(&block.text).expect("a rules file is YAML");
        let problems: Vec<String> =
            validator.iter_errors(&value).map(|e| format!("{}: {e}", e.instance_path)).collect();
        assert!(problems.is_empty(), "docs/rules.md:{}: does not match rules/schema.json: {problems:?}", block.line);
    }
}

#[test]
fn docs_rules_md_shows_the_embedded_default_as_it_is() {
    let default = std::fs::read_to_string(project_root().join("rules/default.yaml")).expect("rules/default.yaml");
    let blocks = yaml_blocks(&rules_doc());
    assert!(blocks.iter().any(|block| block.text == default), "docs/rules.md has no exact copy of rules/default.yaml");
}

#[test]
fn docs_rules_md_names_every_key_of_the_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project_root().join("rules/schema.json")).expect("schema"))
            .expect("the schema is JSON");
    let mut keys: Vec<&str> = Vec::new();
    let properties = |value: &serde_json::Value| -> Vec<String> {
        value.get("properties").and_then(|p| p.as_object()).map(|p| p.keys().cloned().collect()).unwrap_or_default()
    };
    let mut all = properties(&schema);
    for definition in schema.get("$defs").and_then(|d| d.as_object()).into_iter().flat_map(|d| d.values()) {
        all.extend(properties(definition));
    }
    keys.extend(all.iter().map(String::as_str));
    assert!(keys.len() >= 15, "{keys:?}");
    let doc = rules_doc();
    for key in keys {
        assert!(doc.contains(&format!("`{key}`")), "docs/rules.md does not describe `{key}`");
    }
}

#[test]
fn docs_and_readme_never_point_into_the_shared_directory() {
    for file in ["README.md", "docs/rules.md"] {
        let text = std::fs::read_to_string(project_root().join(file)).expect("read");
        for pointer in ["../shared", "/work/shared", "shared/SPEC.md", "SPEC.md"] {
            assert!(!text.contains(pointer), "{file} points at `{pointer}`, which a user's clone does not have");
        }
    }
}
