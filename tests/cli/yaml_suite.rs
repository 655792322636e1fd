//! Parser conformance against the YAML test suite in
//! `../shared/corpus/yaml-test-suite` (one directory per case with its
//! `in.yaml`; `INDEX.tsv` says which cases a conforming parser must reject).
//!
//! Every case goes through the real binary, batched into one temporary
//! repository per run so that 400 cases cost two or three processes:
//!
//! - no case makes `check` or `apply` panic, hang or die of a signal;
//! - every case the suite marks invalid is reported as an error with its
//!   `path:line:column` and left byte-identical, except the ones listed in
//!   [`KNOWN_DIFFERENCES`] (yaml-rust2 and libyaml are more lenient there);
//! - every valid case, embedded in a Deployment (as a literal block scalar,
//!   and as the value of a container key when it is a mapping or sequence;
//!   each after the container's `image:` and before it), gets exactly one
//!   inserted `imagePullPolicy` line and nothing else: the data only differ
//!   by that key, the input is the output minus that line, and a second
//!   `apply` changes nothing;
//! - an embedded case pullsmith accepts is one libyaml (kubectl's grammar,
//!   through serde_yaml) accepts too.
//!
//! Real pullsmith bugs found this way are listed in [`KNOWN_FAILURES`], so
//! the test passes today and notices when one is fixed. Without `../shared`
//! the tests print a note and pass.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use yaml_rust2::{Yaml, YamlLoader};

use crate::util::{describe, git_init, pullsmith, read_tree, shared_dir, write};

/// A run that takes longer than this is a hang: it is killed and the test fails.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Every container gets `imagePullPolicy: Always`, so every embedded case has one insertion.
const RULES: &str = "version: 1
defaultEnvironment: all
environments:
  all:
    imagePullPolicy: Always
";

/// Cases the suite marks invalid that pullsmith reads without an error,
/// with the reason. yaml-rust2 parses, and libyaml's grammar checks what it
/// accepts; where both are lenient the file is treated as valid YAML. The
/// table must be exact, so that a parser upgrade that changes it is noticed.
/// Today pullsmith reports every one of the suite's 94 invalid cases.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

// Why libyaml (go-yaml's grammar, so kubectl's) refuses YAML 1.2 that the suite calls valid.
// pullsmith refuses what kubectl refuses (src/yaml/strict.rs), so these are deliberate.
const TAB_IN_DETECTED_BLOCK_INDENT: &str = "libyaml refuses a tab right after the spaces of a block scalar's first \
     content line when the indentation is auto-detected (`found a tab character where an indentation space is expected`)";
const TAB_AS_SEPARATION: &str =
    "libyaml refuses a tab as the separation after `-` or `:` (`found character that cannot start any token`)";
const TAB_BEFORE_CONTENT: &str =
    "libyaml refuses a tab between a line's indentation and its content, or on a blank line";
const EMPTY_KEY: &str = "libyaml refuses an empty (null) implicit key, `: value`, in a block mapping";
const COLON_AFTER_FLOW_KEY_LINE: &str = "libyaml refuses a flow mapping's `:` on the line after its key";
const JSON_AFTER_THE_MARK: &str = "a stream starting with `{` is JSON to kubectl, not held to libyaml's grammar; \
     after the comment line this test puts first (`Case::raw_text`), kubectl reads it as YAML with libyaml, which refuses it";

/// Cases the suite marks valid that pullsmith reports as invalid YAML, with
/// the reason (the grammar kubectl uses, not a pullsmith bug). Exact, like
/// [`KNOWN_DIFFERENCES`].
const KNOWN_REJECTED_VALID: &[(&str, &str)] = &[
    (
        "2JQS",
        "pullsmith refuses duplicate keys, as kubectl does; the suite reads `: a` and `: b` as two null keys \
         and leaves uniqueness to the application",
    ),
    ("2SXE", COLON_IN_ANCHOR),
    ("4ABK", JSON_AFTER_THE_MARK),
    ("4MUZ/00", JSON_AFTER_THE_MARK),
    ("4MUZ/01", JSON_AFTER_THE_MARK),
    ("4MUZ/02", JSON_AFTER_THE_MARK),
    ("58MP", JSON_AFTER_THE_MARK),
    ("5MUD", COLON_AFTER_FLOW_KEY_LINE),
    ("5T43", COLON_IN_FLOW),
    ("6BCT", TAB_AS_SEPARATION),
    ("6CA3", TAB_BEFORE_CONTENT),
    ("6M2F", EMPTY_KEY),
    ("96NN/00", TAB_IN_DETECTED_BLOCK_INDENT),
    ("96NN/01", TAB_IN_DETECTED_BLOCK_INDENT),
    ("A2M4", TAB_AS_SEPARATION),
    ("CFD4", COLON_IN_FLOW),
    ("DBG4", COLON_IN_FLOW),
    ("DK95/00", TAB_BEFORE_CONTENT),
    ("DK95/03", TAB_BEFORE_CONTENT),
    ("DK95/04", TAB_BEFORE_CONTENT),
    ("FRK4", JSON_AFTER_THE_MARK),
    ("HM87/00", COLON_IN_FLOW),
    ("K3WX", COLON_AFTER_FLOW_KEY_LINE),
    ("M2N8/00", KEY_AFTER_DASH),
    ("NHX8", EMPTY_KEY),
    ("NKF9", EMPTY_KEY),
    ("Q5MG", JSON_AFTER_THE_MARK),
    ("R4YG", TAB_IN_DETECTED_BLOCK_INDENT),
    ("S3PD", EMPTY_KEY),
    ("SM9W/01", EMPTY_KEY),
    ("UKK6/00", KEY_AFTER_DASH),
    ("VJP3/01", COLON_AFTER_FLOW_KEY_LINE),
    ("Y79Y/001", TAB_IN_DETECTED_BLOCK_INDENT),
    ("Y79Y/010", TAB_AS_SEPARATION),
    ("W5VH", COLON_IN_ANCHOR),
];

// A stream that starts with `{` is JSON to kubectl, so pullsmith does not ask libyaml about it;
// the same text inside block YAML is libyaml's again.
const FLOW_KEY_LINE_ONCE_NOT_JSON: &str = "the case starts with `{` (JSON to kubectl, so libyaml is not asked); \
     inside the Deployment libyaml refuses the `:` on the line after the flow key, as kubectl would";
const COMPLEX_FLOW_KEY_ONCE_NOT_JSON: &str = "the case starts with `{` (JSON to kubectl, so libyaml is not asked); \
     inside the Deployment libyaml refuses `? foo :,` (`found unexpected ':'`), as kubectl would";

const TAB_BEFORE_FLOW_ONCE_NOT_JSON: &str = "the case is a tab then `{}` (JSON to kubectl, so libyaml is not asked); \
     inside the Deployment libyaml refuses the tab before the flow mapping, as kubectl would";

/// Embedded variants pullsmith reports as invalid YAML although it reads the
/// case itself: (case file stem, variant, reason). The nested variants of
/// [`KNOWN_REJECTED_VALID`] cases are expected to be refused too and are not
/// repeated here. Exact.
const KNOWN_EMBEDDED_REJECTIONS: &[(&str, &str, &str)] = &[
    ("4MUZ-00", "nested", FLOW_KEY_LINE_ONCE_NOT_JSON),
    ("4MUZ-00", "nested-before-image", FLOW_KEY_LINE_ONCE_NOT_JSON),
    ("4MUZ-01", "nested", FLOW_KEY_LINE_ONCE_NOT_JSON),
    ("4MUZ-01", "nested-before-image", FLOW_KEY_LINE_ONCE_NOT_JSON),
    ("4MUZ-02", "nested", FLOW_KEY_LINE_ONCE_NOT_JSON),
    ("4MUZ-02", "nested-before-image", FLOW_KEY_LINE_ONCE_NOT_JSON),
    ("FRK4", "nested", COMPLEX_FLOW_KEY_ONCE_NOT_JSON),
    ("FRK4", "nested-before-image", COMPLEX_FLOW_KEY_ONCE_NOT_JSON),
    ("4ABK", "nested", FLOW_MAPPING_VALUE_ONCE_NOT_JSON),
    ("4ABK", "nested-before-image", FLOW_MAPPING_VALUE_ONCE_NOT_JSON),
    ("58MP", "nested", FLOW_MAPPING_VALUE_ONCE_NOT_JSON),
    ("58MP", "nested-before-image", FLOW_MAPPING_VALUE_ONCE_NOT_JSON),
    ("Q5MG", "nested", TAB_BEFORE_FLOW_ONCE_NOT_JSON),
    ("Q5MG", "nested-before-image", TAB_BEFORE_FLOW_ONCE_NOT_JSON),
];

// Shapes libyaml refuses and yaml-rust2 reads, which `strict::may_diverge` sends to libyaml.
const COLON_IN_FLOW: &str = "libyaml refuses a `:` inside a flow collection (`[:x]`, `[ : key ]`, \
     `\"key\"::value`, `[ ::vector ]`), as kubectl does";
const KEY_AFTER_DASH: &str = "libyaml refuses an empty key after `- ` (`- :`, `- ? : x`), as kubectl does";
const COLON_IN_ANCHOR: &str = "libyaml refuses a `:` in an anchor name (`&a:`, `&:@*!$\"<foo>:`), as kubectl does";
const FLOW_MAPPING_VALUE_ONCE_NOT_JSON: &str = "the case starts with `{` (JSON to kubectl, so libyaml is not asked); \
     inside the Deployment libyaml refuses this flow mapping (`{x: :x}`, `omitted value:,`), as kubectl would";

/// Real pullsmith bugs: (case file stem, variant, what goes wrong). Each is a
/// FIXME for `src/`; the test asserts today's behaviour so a fix is noticed.
/// No embedded case gets a wrong edit (every byte but the inserted line is
/// kept); what is listed are manifests pullsmith edits although libyaml,
/// checked here through serde_yaml, refuses them.
const KNOWN_FAILURES: &[(&str, &str, &str)] = &[];

// ---------------------------------------------------------------------------
// Test 1: raw cases

#[test]
fn yaml_suite_cases_never_crash_and_invalid_ones_are_reported_and_untouched() {
    let Some(cases) = load_suite() else { return };
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path();
    git_init(repo);
    write(repo, "rules.yaml", RULES);
    for case in &cases {
        write(repo, &case.raw_path(), case.raw_text());
    }
    let before = read_tree(repo);

    let check = run_bounded(repo, &["--format", "json", "check"]);
    assert_exited_normally(&check, "check over the raw cases");
    let errors = json_errors(&check);
    let apply = run_bounded(repo, &["apply"]);
    assert_exited_normally(&apply, "apply over the raw cases");
    let apply_stderr = String::from_utf8_lossy(&apply.stderr).into_owned();
    let after: BTreeMap<String, Vec<u8>> = read_tree(repo).into_iter().collect();

    let mut problems: Vec<String> = Vec::new();
    // Nothing in the suite is a Kubernetes object, so apply must not change one byte of any case.
    for (path, bytes) in &before {
        if after.get(path) != Some(bytes) {
            problems.push(format!("{path}: changed by apply"));
        }
    }
    let mut accepted_invalid: BTreeSet<String> = BTreeSet::new();
    let mut rejected_valid: BTreeSet<String> = BTreeSet::new();
    let mut n_reported = 0;
    for case in &cases {
        let path = case.raw_path();
        match (case.expect_error, errors.get(&path)) {
            (true, None) => {
                accepted_invalid.insert(case.id.clone());
            }
            (false, Some(error)) => {
                rejected_valid.insert(case.id.clone());
                eprintln!("note: valid {path} rejected at {}:{}: {}", error.line, error.column, error.message);
            }
            (false, None) => {}
            (true, Some(&ReportedError { line, column, .. })) => {
                n_reported += 1;
                let n_lines = case.raw_text().split(|&b| b == b'\n').count();
                if line == 0 || column == 0 || line > n_lines {
                    problems.push(format!("{path}: error position {line}:{column} outside the file ({n_lines} lines)"));
                }
                let located = format!("{path}:{line}:{column}: ");
                if !apply_stderr.contains(&located) {
                    problems.push(format!("{path}: apply's stderr lacks `{located}`"));
                }
            }
        }
    }
    compare_table("KNOWN_DIFFERENCES (invalid, accepted)", KNOWN_DIFFERENCES, &accepted_invalid, &mut problems);
    compare_table("KNOWN_REJECTED_VALID (valid, rejected)", KNOWN_REJECTED_VALID, &rejected_valid, &mut problems);

    let n_invalid = cases.iter().filter(|c| c.expect_error).count();
    eprintln!(
        "yaml-test-suite raw: {} cases, {} valid, {} invalid ({} reported with a position, {} accepted), {} valid rejected, {} problems, {:.1?}",
        cases.len(),
        cases.len() - n_invalid,
        n_invalid,
        n_reported,
        accepted_invalid.len(),
        rejected_valid.len(),
        problems.len(),
        started.elapsed()
    );
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

// ---------------------------------------------------------------------------
// Test 2: valid cases embedded in a Deployment

#[test]
fn yaml_suite_valid_cases_embedded_in_a_deployment_get_only_the_pull_policy() {
    let Some(cases) = load_suite() else { return };
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path();
    git_init(repo);
    write(repo, "rules.yaml", RULES);

    let mut skipped: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut embedded: Vec<Embedded> = Vec::new();
    for case in cases.iter().filter(|c| !c.expect_error) {
        let Ok(text) = std::str::from_utf8(&case.text) else {
            skipped.entry("not UTF-8").or_default().push(case.id.clone());
            continue;
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let Ok(docs) = YamlLoader::load_from_str(text) else {
            skipped.entry("yaml-rust2 rejects the case").or_default().push(case.id.clone());
            continue;
        };
        for place in Place::ALL {
            match literal_variant(case, text, place) {
                Some(manifest) => embedded.push(manifest),
                None => skipped.entry(place.variant("literal")).or_default().push(case.id.clone()),
            }
            match nested_variant(case, text, &docs, place) {
                Some(manifest) => embedded.push(manifest),
                None => skipped.entry(place.variant("nested")).or_default().push(case.id.clone()),
            }
        }
    }
    for manifest in &embedded {
        write(repo, &manifest.path, &manifest.text);
    }
    let before: BTreeMap<String, Vec<u8>> = read_tree(repo).into_iter().collect();

    let first = run_bounded(repo, &["--format", "json", "apply"]);
    assert_exited_normally(&first, "first apply over the embedded cases");
    let errors = json_errors(&first);
    let after_first: BTreeMap<String, Vec<u8>> = read_tree(repo).into_iter().collect();
    let second = run_bounded(repo, &["--format", "json", "apply"]);
    assert_exited_normally(&second, "second apply over the embedded cases");
    let after_second: BTreeMap<String, Vec<u8>> = read_tree(repo).into_iter().collect();

    let rejected_raw: BTreeSet<String> = KNOWN_REJECTED_VALID.iter().map(|(id, _)| id.replace('/', "-")).collect();
    let mut expected_rejections: BTreeSet<(String, String)> =
        KNOWN_EMBEDDED_REJECTIONS.iter().map(|(stem, variant, _)| (stem.to_string(), variant.to_string())).collect();
    // The nested variant puts the same text in block context, so libyaml refuses it there too.
    expected_rejections.extend(
        embedded
            .iter()
            .filter(|m| m.variant.starts_with("nested") && rejected_raw.contains(&m.stem))
            .map(|m| (m.stem.clone(), m.variant.to_string())),
    );
    let mut rejections: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut failures: BTreeMap<(String, String), String> = BTreeMap::new();
    for manifest in &embedded {
        let key = (manifest.stem.clone(), manifest.variant.to_string());
        if let Some(error) = errors.get(&manifest.path) {
            let message = format!("reported as an error at {}:{}: {}", error.line, error.column, error.message);
            rejections.insert(key.clone(), message);
            if before.get(&manifest.path) != after_first.get(&manifest.path) {
                failures.insert(key, "reported as an error, yet changed".to_string());
            }
            continue;
        }
        let output = after_first.get(&manifest.path).expect("the file is still there");
        // pullsmith promises to refuse what kubectl refuses; serde_yaml parses with libyaml, kubectl's grammar.
        // `IgnoredAny` keeps serde_yaml's own checks (a tag against its value) out of it.
        let libyaml_refusal = serde_yaml::from_str::<serde::de::IgnoredAny>(&manifest.text)
            .err()
            .map(|err| format!("accepted and edited, but libyaml (kubectl's grammar) refuses it: {err}"));
        let problem = libyaml_refusal.or_else(|| faithfulness_problem(&manifest.text, output)).or_else(|| {
            (after_second.get(&manifest.path) != Some(output)).then(|| "the second apply changed the file".to_string())
        });
        if let Some(problem) = problem {
            failures.insert(key, problem);
        }
    }
    let mut problems: Vec<String> = Vec::new();
    if before.get("rules.yaml") != after_first.get("rules.yaml") {
        problems.push("rules.yaml changed".to_string());
    }
    for (key, message) in &rejections {
        if !expected_rejections.contains(key) {
            problems
                .push(format!("KNOWN_EMBEDDED_REJECTIONS: not listed: (\"{}\", \"{}\", \"{message}\"),", key.0, key.1));
        }
    }
    for key in &expected_rejections {
        if !rejections.contains_key(key) {
            problems.push(format!("expected to be refused but accepted now: {} {}", key.0, key.1));
        }
    }
    let known: BTreeSet<(String, String)> =
        KNOWN_FAILURES.iter().map(|(stem, variant, _)| (stem.to_string(), variant.to_string())).collect();
    for (key, reason) in &failures {
        if !known.contains(key) {
            problems.push(format!("KNOWN_FAILURES: new: (\"{}\", \"{}\", \"{reason}\"),", key.0, key.1));
        }
    }
    for key in &known {
        if !failures.contains_key(key) {
            problems.push(format!("KNOWN_FAILURES: listed but passes now: {} {}", key.0, key.1));
        }
    }

    // The short lists name their cases; the long one (multi-document or scalar cases) is only counted.
    let skipped: Vec<String> = skipped
        .iter()
        .map(
            |(why, ids)| {
                if ids.len() <= 5 {
                    format!("{why}: {}", ids.join(" "))
                } else {
                    format!("{why}: {}", ids.len())
                }
            },
        )
        .collect();
    let n_literal = embedded.iter().filter(|m| m.variant.starts_with("literal")).count();
    eprintln!(
        "yaml-test-suite embedded: {} manifests ({} literal, {} nested), skipped as not embeddable {:?}, {} refused as invalid YAML, \
         {} failures ({} known), {:.1?}",
        embedded.len(),
        n_literal,
        embedded.len() - n_literal,
        skipped,
        rejections.len(),
        failures.len(),
        KNOWN_FAILURES.len(),
        started.elapsed()
    );
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

// ---------------------------------------------------------------------------
// The suite

/// One case of the suite: `229Q` or `2G84/02` for a case with several parts.
struct Case {
    id: String,
    expect_error: bool,
    text: Vec<u8>,
}

impl Case {
    /// `2G84/02` → `2G84-02`, a file name.
    fn stem(&self) -> String {
        self.id.replace('/', "-")
    }

    fn raw_path(&self) -> String {
        format!("cases/{}.yaml", self.stem())
    }

    /// The case after a comment line that names a `Pod`: pullsmith parses
    /// only files whose bytes could hold something it acts on
    /// (`manifest::worth_parsing`), and a suite case holds nothing of the
    /// kind. A comment line may precede anything, directives included; it
    /// goes after a BOM.
    fn raw_text(&self) -> Vec<u8> {
        const MARK: &[u8] = b"# parsed as if it were a Pod\n";
        let bom = if self.text.starts_with("\u{feff}".as_bytes()) { 3 } else { 0 };
        [&self.text[..bom], MARK, &self.text[bom..]].concat()
    }
}

/// The suite's cases in `INDEX.tsv` order, or `None` (with a note) when it is absent.
fn load_suite() -> Option<Vec<Case>> {
    let suite: PathBuf = shared_dir()?.join("corpus/yaml-test-suite");
    let index = match std::fs::read_to_string(suite.join("INDEX.tsv")) {
        Ok(index) => index,
        Err(_) => {
            eprintln!("note: {} is absent; skipping the YAML test suite", suite.display());
            return None;
        }
    };
    let cases = index
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let mut fields = line.split('\t');
            let id = fields.next().expect("a case id").to_string();
            let expect = fields.next().expect("an expectation");
            assert!(matches!(expect, "ok" | "error"), "INDEX.tsv: unknown expectation `{expect}` for {id}");
            let text = std::fs::read(suite.join(&id).join("in.yaml")).expect("the case's in.yaml");
            Case { id, expect_error: expect == "error", text }
        })
        .collect();
    Some(cases)
}

// ---------------------------------------------------------------------------
// Embedding

/// A Deployment with a suite case inside its one container.
struct Embedded {
    stem: String,
    variant: &'static str,
    path: String,
    text: String,
}

/// A Deployment whose one container holds `embedding` (container keys at
/// column 10), before its `image:` line or after it. Before it, pullsmith's
/// insertion after `image:` comes after the case, so every byte offset the
/// parser gives past the case's end is put to the test.
fn deployment(stem: &str, embedding: &str, place: Place) -> String {
    let head = format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: yaml-suite-{name}
spec:
  selector:
    matchLabels:
      app: yaml-suite
  template:
    metadata:
      labels:
        app: yaml-suite
    spec:
      containers:
        - name: case
",
        name = stem.to_lowercase()
    );
    let image = "          image: registry.example/yaml-suite:1.0\n";
    match place {
        Place::AfterImage => format!("{head}{image}{embedding}"),
        Place::BeforeImage => format!("{head}{embedding}{image}"),
    }
}

/// Where the case goes in its container, relative to `image:`.
#[derive(Clone, Copy)]
enum Place {
    AfterImage,
    BeforeImage,
}

impl Place {
    const ALL: [Place; 2] = [Place::AfterImage, Place::BeforeImage];

    /// The variant's name: `literal` or `literal-before-image`, say.
    fn variant(self, kind: &'static str) -> &'static str {
        match (kind, self) {
            ("literal", Place::AfterImage) => "literal",
            ("literal", Place::BeforeImage) => "literal-before-image",
            (_, Place::AfterImage) => "nested",
            (_, Place::BeforeImage) => "nested-before-image",
        }
    }
}

/// Prefixes every non-empty line with `indent` spaces; empty lines stay empty.
fn indent_lines(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::with_capacity(text.len() * 2);
    for line in text.split_inclusive('\n') {
        if line != "\n" {
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The case as an env var's literal block scalar (`value: |+`), when
/// yaml-rust2 reads back exactly the case's text from it.
fn literal_variant(case: &Case, text: &str, place: Place) -> Option<Embedded> {
    let stem = case.stem();
    let first_content_line = text.lines().find(|line| !line.is_empty()).unwrap_or("");
    // A leading space or an all-space line would change the detected indentation, and libyaml
    // refuses a tab right after a detected indentation: an explicit indicator avoids both.
    let needs_indicator = first_content_line.starts_with([' ', '\t']) || first_content_line.trim().is_empty();
    let indicator = if needs_indicator { "2" } else { "" };
    let embedding = format!(
        "          env:\n            - name: YAML_SUITE_CASE\n              value: |{indicator}+\n{body}",
        body = indent_lines(text, 16)
    );
    let manifest = deployment(&stem, &embedding, place);
    let mut expected = text.to_string();
    if !expected.is_empty() && !expected.ends_with('\n') {
        expected.push('\n');
    }
    let docs = YamlLoader::load_from_str(&manifest).ok()?;
    let value = &docs.first()?["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"];
    let variant = place.variant("literal");
    (value.as_str() == Some(expected.as_str())).then(|| Embedded {
        path: format!("{variant}/{stem}.yaml"),
        stem,
        variant,
        text: manifest,
    })
}

/// The case's one document as the value of a container key (`args:` for a
/// sequence, `yamlSuiteCase:` for a mapping), when yaml-rust2 reads back the
/// same data from it.
fn nested_variant(case: &Case, text: &str, docs: &[Yaml], place: Place) -> Option<Embedded> {
    let [doc] = docs else { return None };
    let key = match doc {
        Yaml::Array(_) => "args",
        Yaml::Hash(_) => "yamlSuiteCase",
        _ => return None,
    };
    // Directives and document markers only mean something at the top of a stream.
    if text.lines().any(|line| line.starts_with("---") || line.starts_with("...") || line.starts_with('%')) {
        return None;
    }
    let stem = case.stem();
    let manifest = deployment(&stem, &format!("          {key}:\n{}", indent_lines(text, 12)), place);
    let parsed = YamlLoader::load_from_str(&manifest).ok()?;
    let value = &parsed.first()?["spec"]["template"]["spec"]["containers"][0][key];
    let variant = place.variant("nested");
    (value == doc).then(|| Embedded { path: format!("{variant}/{stem}.yaml"), stem, variant, text: manifest })
}

// ---------------------------------------------------------------------------
// Checks

/// Why `output` is not `input` plus one `imagePullPolicy: Always` line in its
/// container, or `None` when it is.
fn faithfulness_problem(input: &str, output: &[u8]) -> Option<String> {
    let Ok(output) = std::str::from_utf8(output) else { return Some("output is not UTF-8".to_string()) };
    // The input must be a subsequence of the output's lines, and what is left over the added policy.
    let mut input_lines = input.split_inclusive('\n').peekable();
    let mut added: Vec<&str> = Vec::new();
    for line in output.split_inclusive('\n') {
        if input_lines.peek() == Some(&line) {
            input_lines.next();
        } else {
            added.push(line);
        }
    }
    if input_lines.next().is_some() {
        return Some("the input is not a subsequence of the output's lines".to_string());
    }
    if added != ["          imagePullPolicy: Always\n"] {
        return Some(format!("added lines {added:?}, want one `imagePullPolicy: Always` in the container"));
    }
    let Ok(mut after) = YamlLoader::load_from_str(output) else { return Some("the output does not parse".to_string()) };
    let before = YamlLoader::load_from_str(input).expect("the embedded manifest parsed when it was built");
    let Some(Yaml::Hash(container)) = after.first_mut().and_then(|doc| container_mut(doc)) else {
        return Some("the output has no container".to_string());
    };
    let policy = container.remove(&Yaml::String("imagePullPolicy".to_string()));
    if policy != Some(Yaml::String("Always".to_string())) {
        return Some(format!("imagePullPolicy is {policy:?}, want Always"));
    }
    (after != before).then(|| "the data differ by more than imagePullPolicy".to_string())
}

fn container_mut(doc: &mut Yaml) -> Option<&mut Yaml> {
    let Yaml::Hash(root) = doc else { return None };
    let mut node = root.get_mut(&Yaml::String("spec".to_string()))?;
    for key in ["template", "spec", "containers"] {
        let Yaml::Hash(map) = node else { return None };
        node = map.get_mut(&Yaml::String(key.to_string()))?;
    }
    let Yaml::Array(containers) = node else { return None };
    containers.first_mut()
}

/// Runs pullsmith on `repo` with its `rules.yaml`, killed after [`TIMEOUT`].
fn run_bounded(repo: &Path, args: &[&str]) -> Output {
    let started = Instant::now();
    let output = pullsmith()
        .arg("--rules")
        .arg(repo.join("rules.yaml"))
        .args(args)
        .arg(repo)
        .timeout(TIMEOUT)
        .output()
        .expect("pullsmith runs");
    assert!(started.elapsed() < TIMEOUT, "pullsmith {args:?} hung and was killed after {TIMEOUT:?}");
    output
}

/// Exit 0, 1 or 3: never a signal (a kill after the timeout), never 101 (a panic).
fn assert_exited_normally(output: &Output, what: &str) {
    assert!(matches!(output.status.code(), Some(0 | 1 | 3)), "{what}: want exit 0, 1 or 3\n{}", describe(output));
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"), "{what}: panicked\n{}", describe(output));
}

/// An error of the JSON report, where it is and what it says.
struct ReportedError {
    line: usize,
    column: usize,
    message: String,
}

/// The JSON report's `errors[]`: repository path → its first error.
fn json_errors(output: &Output) -> BTreeMap<String, ReportedError> {
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("stdout is the JSON report");
    let errors = report["errors"].as_array().expect("the report has errors[]");
    let mut by_path = BTreeMap::new();
    for error in errors {
        let path = error["path"].as_str().expect("an error's path").to_string();
        // A missing position reads as 0, which the callers reject.
        let position = |field: &str| error[field].as_u64().unwrap_or(0) as usize;
        let message = error["message"].as_str().unwrap_or("").to_string();
        by_path.entry(path).or_insert(ReportedError { line: position("line"), column: position("column"), message });
    }
    by_path
}

/// Adds to `problems` every difference between a known-differences table and what was seen.
fn compare_table(name: &str, table: &[(&str, &str)], seen: &BTreeSet<String>, problems: &mut Vec<String>) {
    let listed: BTreeSet<String> = table.iter().map(|(id, _)| id.to_string()).collect();
    for id in seen.difference(&listed) {
        problems.push(format!("{name}: not listed: (\"{id}\", \"…\"),"));
    }
    for id in listed.difference(seen) {
        problems.push(format!("{name}: listed but no longer true: {id}"));
    }
}
