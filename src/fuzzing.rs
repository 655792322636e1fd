//! Entry points for the fuzz targets (`fuzz/`, cargo-fuzz) and for the
//! stable test that replays their corpus (`tests/cli/fuzz_corpus.rs`).
//! Each takes any bytes, never panics on its own account, and panics only
//! when a check of what pullsmith promises fails: that is how libFuzzer and
//! the replay test see a bug.
//!
//! It sits above the planners because it drives them like the run does,
//! with fixed rules; nothing in the crate uses it. It writes only the
//! kustomization it is given, into a scratch directory of its own, because
//! the kustomize graph resolves entries against the disk.

use std::path::{Path, PathBuf};

use arbitrary::Unstructured;

use crate::edit::{self, Splice};
use crate::kustomize::Graph;
use crate::plan::{self, PlanContext};
use crate::rules::{Rules, RulesError, RulesOrigin};
use crate::verify::{self, Intended, IntendedFields};
use crate::yaml::{self, Node};
use crate::{manifest, release};

/// The policy the fixed rules want for every container.
pub const WANTED_POLICY: &str = "Always";
/// The pull secret the fixed rules want for every pod.
pub const WANTED_SECRET: &str = "regcred";
/// Where a fuzzed manifest lives: the rules' one environment claims it.
const MANIFEST_PATH: &str = "prod/app.yaml";

/// Bytes as a manifest file: parsed, planned with fixed rules, spliced and
/// checked with `verify::invariant`, a second plan included, whenever
/// planning succeeds. Returns the output when there was one, for callers
/// that check more.
pub fn manifest(data: &[u8]) -> Option<String> {
    let input = std::str::from_utf8(data).ok()?;
    rewrite_checked(input)
}

/// A Deployment or Pod built from the bytes (containers, policies, secrets,
/// indentation, quoting, CRLF, comments), then the checks of [`manifest`],
/// and every container ends with the wanted policy and every pod spec
/// lists the wanted secret.
pub fn structured(data: &[u8]) {
    let mut bytes = Unstructured::new(data);
    let Ok(generated) = Generated::arbitrary(&mut bytes) else { return };
    let input = generated.render();
    let Some(output) = rewrite_checked(&input) else {
        panic!("a generated manifest is not planned\n--- input:\n{input}");
    };
    let documents = yaml::parse(&output).unwrap_or_else(|err| panic!("the output does not parse: {err}"));
    let spec = pod_spec(&documents).unwrap_or_else(|| panic!("no pod spec in the output\n--- output:\n{output}"));
    let lists = ["containers", "initContainers"].map(|key| spec.get(key).map(Node::items).unwrap_or_default());
    let containers = lists.concat();
    assert_eq!(containers.len(), generated.containers.len(), "containers lost\n--- output:\n{output}");
    for container in containers {
        let policy = container.get("imagePullPolicy").and_then(Node::as_str);
        assert_eq!(policy, Some(WANTED_POLICY), "a container's policy\n--- input:\n{input}\n--- output:\n{output}");
    }
    let listed = pull_secret_names(spec);
    assert!(
        listed.contains(&WANTED_SECRET),
        "the pod spec lists {listed:?}\n--- input:\n{input}\n--- output:\n{output}"
    );
}

/// The rules loader: bytes as a rules file are valid rules or an error at a
/// line and column inside the text.
pub fn rules(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Rules::parse(text, RulesOrigin::File(PathBuf::from(".pullsmith.yaml"))) {
        Ok(_) => {}
        Err(RulesError::Invalid { line, column, more, .. }) => {
            for (line, column) in std::iter::once((line, column)).chain(more.iter().map(|(l, c, _)| (*l, *c))) {
                assert!(inside(text, line, column), "an error at {line}:{column}, outside the text {text:?}");
            }
        }
        Err(other) => panic!("parsing rules text can only be invalid, not: {other}"),
    }
}

/// The kustomization loader: bytes as the one kustomization of a
/// repository are read into a graph (its entries resolved, cycles found)
/// without a panic, and every failure it reports lies inside the text.
pub fn kustomization(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let root = scratch_dir();
    let file = "kustomization.yaml";
    std::fs::write(root.join(file), text).expect("the scratch directory is writable");
    let graph = Graph::load(root, &[file.to_string()], fixed_rules(), None, &|_| false);
    for failure in &graph.failures {
        if let (Some(line), Some(column)) = (failure.diagnostic.line, failure.diagnostic.column) {
            assert!(inside(text, line, column), "a failure at {line}:{column}, outside the text {text:?}");
        }
    }
    for overlay in graph.overlays() {
        graph.reach(&overlay.dir);
    }
    graph.carriers();
}

/// Plans `input` with the fixed rules, splices and checks the invariant.
/// `None` when the input does not parse or is not planned (both are
/// refusals the run reports, not bugs).
fn rewrite_checked(input: &str) -> Option<String> {
    let rules = fixed_rules();
    if !manifest::worth_parsing(input, rules) {
        scanned_out_holds_nothing(input, rules);
    }
    let (documents, splices, touched) = plan_of(input, rules)?;
    let output = edit::apply(input, &splices);
    let replan = |text: &str| match plan_of(text, rules) {
        Some((_, splices, _)) => splices,
        None => panic!("the output of a planned file is not planned again\n--- input:\n{input}\n--- output:\n{text}"),
    };
    let intended = Intended {
        documents: &documents,
        fields: IntendedFields::PullFields { touched: &touched },
        splices: &splices,
        replan: Some(&replan),
    };
    if let Err(violation) = verify::invariant(input, &output, &intended) {
        panic!("{violation}\n--- input:\n{input}\n--- output:\n{output}");
    }
    Some(output)
}

/// A text the byte scan lets go unparsed (`manifest::worth_parsing`) must
/// hold nothing a run would plan, count, cover or report.
fn scanned_out_holds_nothing(input: &str, rules: &Rules) {
    let Ok(documents) = yaml::parse(input) else { return };
    let plan = plan::plan_file(input, MANIFEST_PATH, &documents, &PlanContext::of_rules(rules))
        .unwrap_or_else(|_| panic!("a text the byte scan lets go fails to plan\n--- input:\n{input}"));
    assert!(
        plan.holds_nothing(),
        "the byte scan lets go a text that matters\n--- input:\n{input}\n--- plan:\n{plan:?}"
    );
    let releases = release::find(MANIFEST_PATH, &documents);
    assert!(releases.is_empty(), "the byte scan lets go a Helm release carrier\n--- input:\n{input}");
}

/// What one run plans for a text: its documents, splices and touched mappings.
fn plan_of(text: &str, rules: &Rules) -> Option<(Vec<yaml::Document>, Vec<Splice>, Vec<usize>)> {
    let documents = yaml::parse(text).ok()?;
    let plan = plan::plan_file(text, MANIFEST_PATH, &documents, &PlanContext::of_rules(rules)).ok()?;
    Some((documents, plan.splices(), plan.touched))
}

/// One environment that claims every path, policy Always, one secret.
fn fixed_rules() -> &'static Rules {
    static RULES: std::sync::OnceLock<Rules> = std::sync::OnceLock::new();
    RULES.get_or_init(|| {
        let text = format!(
            "version: 1\nenvironments:\n  prod:\n    paths: [\"**\"]\n    imagePullPolicy: {WANTED_POLICY}\n    imagePullSecrets: [{WANTED_SECRET}]\n"
        );
        Rules::parse(&text, RulesOrigin::Embedded).expect("the fixed rules are valid")
    })
}

/// A directory of this process's own for the kustomization under test.
fn scratch_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("pullsmith-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("the scratch directory can be made");
        dir
    })
}

/// Whether a 1-based line and column lie inside `text`: the line is one of
/// its lines (or the one after a final line break), the column at most one
/// past the longest line's characters. Any of `\r\n`, `\n` and `\r` ends a
/// line here, since the parsers differ on a lone `\r`.
fn inside(text: &str, line: usize, column: usize) -> bool {
    let lines: Vec<&str> = text.split(['\n', '\r']).collect();
    let longest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    (1..=lines.len()).contains(&line) && (1..=longest + 1).contains(&column)
}

/// The pod spec of the generated document.
/// The names a pod spec's `imagePullSecrets` list (`- name: x` entries),
/// for the fuzz targets and the property tests alike.
pub fn pull_secret_names(spec: &Node) -> Vec<&str> {
    let entries = spec.get("imagePullSecrets").map(Node::items).unwrap_or_default();
    entries.iter().filter_map(|item| item.get("name").and_then(Node::as_str)).collect()
}

fn pod_spec(documents: &[yaml::Document]) -> Option<&Node> {
    let root = &documents.iter().find(|d| d.root.get("kind").is_some())?.root;
    match root.get("kind").and_then(Node::as_str)? {
        "Pod" => root.get("spec"),
        _ => root.get("spec")?.get("template")?.get("spec"),
    }
}

/// What a container may say before the run: a policy, a wrong one
/// (Kubernetes rejects `always`), or a null, written `~` or as nothing.
const WRITTEN_POLICIES: [Option<&str>; 7] =
    [None, Some("Always"), Some("IfNotPresent"), Some("Never"), Some("always"), Some("~"), Some("")];
const LISTED_SECRETS: [&str; 3] = ["regcred", "team-pull", "other"];

/// A manifest the bytes choose.
#[derive(Debug)]
struct Generated {
    deployment: bool,
    indent: usize,
    dash_indented: bool,
    flow_containers: bool,
    containers: Vec<GeneratedContainer>,
    /// `None`: no `imagePullSecrets`; else the names listed (empty: `[]`).
    secrets: Option<Vec<&'static str>>,
    flow_secrets: bool,
    crlf: bool,
    final_newline: bool,
    /// One byte per line: whether a comment line, a trailing comment or a blank line goes with it.
    decorations: Vec<u8>,
}

#[derive(Debug)]
struct GeneratedContainer {
    name: String,
    image: String,
    policy: Option<&'static str>,
    /// 0 plain, 1 single, 2 double quotes, for the image and the policy.
    quotes: [u8; 2],
    policy_first: bool,
}

impl Generated {
    fn arbitrary(u: &mut Unstructured<'_>) -> arbitrary::Result<Generated> {
        let deployment = u.arbitrary()?;
        let indent = u.int_in_range(1..=4)?;
        let dash_indented = u.arbitrary()?;
        let flow_containers = u.ratio(1, 4)?;
        let n_containers = u.int_in_range(1..=3)?;
        let mut containers = Vec::new();
        for index in 0..n_containers {
            let tag: u8 = u.arbitrary()?;
            containers.push(GeneratedContainer {
                name: format!("c{index}"),
                image: format!("registry.example.com/app-{index}:1.{tag}"),
                policy: *u.choose(&WRITTEN_POLICIES)?,
                quotes: [u.int_in_range(0..=2)?, u.int_in_range(0..=2)?],
                policy_first: u.arbitrary()?,
            });
        }
        let secrets = if u.arbitrary()? {
            let mut names = Vec::new();
            for name in LISTED_SECRETS {
                if u.arbitrary()? {
                    names.push(name);
                }
            }
            Some(names)
        } else {
            None
        };
        let flow_secrets = u.arbitrary()?;
        let crlf = u.arbitrary()?;
        let final_newline = u.arbitrary()?;
        let n_decorations = u.int_in_range(1..=16)?;
        let decorations = (0..n_decorations).map(|_| u.arbitrary()).collect::<arbitrary::Result<_>>()?;
        Ok(Generated {
            deployment,
            indent,
            dash_indented,
            flow_containers,
            containers,
            secrets,
            flow_secrets,
            crlf,
            final_newline,
            decorations,
        })
    }

    fn render(&self) -> String {
        let pad = |level: usize| " ".repeat(level * self.indent);
        let mut lines = Vec::new();
        let level = if self.deployment {
            lines.extend(["apiVersion: apps/v1".to_string(), "kind: Deployment".to_string()]);
            lines.extend(["metadata:".to_string(), format!("{}name: web", pad(1)), "spec:".to_string()]);
            lines.extend([format!("{}template:", pad(1)), format!("{}spec:", pad(2))]);
            3
        } else {
            lines.extend(["apiVersion: v1".to_string(), "kind: Pod".to_string()]);
            lines.extend(["metadata:".to_string(), format!("{}name: web", pad(1)), "spec:".to_string()]);
            1
        };
        let column = level * self.indent;
        let dash = column + if self.dash_indented { self.indent } else { 0 };
        let quote = |style: u8, value: &str| match style {
            1 => format!("'{value}'"),
            2 => format!("\"{value}\""),
            _ => value.to_string(),
        };
        let entries = |c: &GeneratedContainer, block: bool| {
            let mut entries = vec![format!("name: {}", c.name), format!("image: {}", quote(c.quotes[0], &c.image))];
            let policy = match c.policy {
                None => None,
                Some("") if block => Some("imagePullPolicy:".to_string()),
                Some("" | "~") => Some("imagePullPolicy: ~".to_string()),
                Some(policy) => Some(format!("imagePullPolicy: {}", quote(c.quotes[1], policy))),
            };
            if let Some(policy) = policy {
                if c.policy_first {
                    entries.insert(0, policy);
                } else {
                    entries.push(policy);
                }
            }
            entries
        };
        if self.flow_containers {
            let items: Vec<String> =
                self.containers.iter().map(|c| format!("{{{}}}", entries(c, false).join(", "))).collect();
            lines.push(format!("{}containers: [{}]", " ".repeat(column), items.join(", ")));
        } else {
            lines.push(format!("{}containers:", " ".repeat(column)));
            for container in &self.containers {
                for (index, entry) in entries(container, true).into_iter().enumerate() {
                    let prefix = if index == 0 { format!("{}- ", " ".repeat(dash)) } else { " ".repeat(dash + 2) };
                    lines.push(format!("{prefix}{entry}"));
                }
            }
        }
        if let Some(names) = &self.secrets {
            if self.flow_secrets || names.is_empty() {
                let items: Vec<String> = names.iter().map(|n| format!("{{name: {n}}}")).collect();
                lines.push(format!("{}imagePullSecrets: [{}]", " ".repeat(column), items.join(", ")));
            } else {
                lines.push(format!("{}imagePullSecrets:", " ".repeat(column)));
                lines.extend(names.iter().map(|n| format!("{}- name: {n}", " ".repeat(dash))));
            }
        }
        let eol = if self.crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        for (index, line) in lines.iter().enumerate() {
            let decoration = self.decorations[index % self.decorations.len()];
            match decoration % 8 {
                0 => text.push_str(eol),
                1 => text.push_str(&format!("{}# note é ✓{eol}", " ".repeat(usize::from(decoration / 8) % 6))),
                _ => {}
            }
            text.push_str(line);
            if decoration % 8 == 2 {
                text.push_str(" # trailing ü");
            }
            text.push_str(eol);
        }
        if !self.final_newline {
            text.truncate(text.len() - eol.len());
        }
        text
    }
}
