//! Property tests of the rewrite invariant (`verify::invariant`), in
//! process through the library for speed: generated manifests are planned,
//! spliced and checked, and planned again to show a second run changes
//! nothing. The generator varies what a file pass must keep byte for byte:
//! Pods, Deployments and CronJobs with containers and initContainers with
//! and without `imagePullPolicy` (right, wrong-case or null) and pod specs
//! with and without `imagePullSecrets` (listed, empty or null),
//! indentation 1 to 8, block lists and flow lists on one line or several,
//! plain and quoted values, plain values with a tab inside, block scalars,
//! an image repeated by an alias, containers merging an anchored mapping
//! (`<<: *m`), comments, blank lines and trailing spaces anywhere, LF, CRLF
//! or lone CR line breaks, a BOM, a final newline or not, multi-document
//! streams with `---`, `...` and an empty document, and rules wanting secret
//! names plain YAML would misread (`42`, `y`).

use proptest::prelude::*;
use pullsmith::edit::{self, Splice};
use pullsmith::plan::{self, PlanContext};
use pullsmith::rules::{Rules, RulesOrigin};
use pullsmith::verify::{self, Intended, IntendedFields};
use pullsmith::yaml::{self, Node};

const POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];
/// What a container may say before the run: a policy, a wrong one
/// (Kubernetes rejects `always`), or a null, written `~` or as nothing.
const WRITTEN_POLICIES: [&str; 6] = ["Always", "IfNotPresent", "Never", "always", "~", ""];
/// Secrets a pod may list already: one of them is also one the rules may want.
const LISTED_SECRETS: [&str; 3] = ["regcred", "team-pull", "other"];
/// `42` and `y` must be written quoted: plain, YAML reads a number and (1.1) a boolean.
const WANTED_SECRETS: [&str; 5] = ["regcred", "mirror", "ci-pull", "42", "y"];
/// Line breaks: YAML counts a lone `\r` as one too.
const LINE_BREAKS: [&str; 3] = ["\n", "\r\n", "\r"];
/// Marks a line of a block scalar while a document is rendered.
const SCALAR_LINE: char = '\u{1}';
/// Where the generated file lives: the rules' environment claims it.
const PATH: &str = "prod/app.yaml";

#[derive(Debug, Clone, Copy)]
enum Quote {
    Plain,
    Single,
    Double,
}

impl Quote {
    fn write(self, value: &str) -> String {
        match self {
            Quote::Plain => value.to_string(),
            Quote::Single => format!("'{value}'"),
            Quote::Double => format!("\"{value}\""),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Pod,
    Deployment,
    CronJob,
}

/// How a list is written: block items, block items of flow mappings, one
/// flow sequence on the key's line, or one over several lines.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ListForm {
    Block,
    BlockOfFlow,
    Flow,
    FlowLines,
}

#[derive(Debug, Clone)]
struct Container {
    name: String,
    image: String,
    policy: Option<&'static str>,
    /// An `args:` entry: a block scalar with this header (`|`, `|-`, `>`) in
    /// a block mapping, where yaml-rust2's markers drift, else a flow list.
    args: Option<&'static str>,
    /// The order of `name`, `image`, `imagePullPolicy` and `args` (0 to 3) in the mapping.
    key_order: Vec<usize>,
    quotes: [Quote; 3],
    /// A block item's keys start on the line after its `-`.
    nested: bool,
    /// `&img` or `*img` before the image: the last container repeats the first one's.
    image_anchor: Option<&'static str>,
    /// A first entry `<<: *m`, merging the document's anchored labels.
    merge: bool,
    /// A tab inside the name (`c1 \tx`), which stays in a plain value.
    tab: bool,
}

#[derive(Debug, Clone)]
struct Document {
    kind: Kind,
    /// Spaces per level, the same throughout the document.
    indent: usize,
    /// Block sequence items indented under their key, or at its column.
    dash_indented: bool,
    containers: Vec<Container>,
    /// `initContainers`, written after `containers` in the same form, when there are any.
    init_containers: Vec<Container>,
    container_form: ListForm,
    secrets: Option<Vec<&'static str>>,
    secrets_form: ListForm,
    secrets_first: bool,
    restart_policy: bool,
    /// The last container's image is an alias of the first one's (when there are two or more).
    alias_image: bool,
}

#[derive(Debug, Clone)]
struct File {
    documents: Vec<Document>,
    eol: &'static str,
    bom: bool,
    final_newline: bool,
    leading_separator: bool,
    /// An empty document (only a comment) stands before the second one.
    empty_document: bool,
    /// After which documents an end marker `...` stands.
    end_markers: Vec<bool>,
    /// Per line, whether a blank line, a comment line or a trailing comment goes with it.
    decorations: Vec<u8>,
    policy: &'static str,
    wanted_secrets: Vec<&'static str>,
}

fn quote() -> impl Strategy<Value = Quote> {
    prop_oneof![Just(Quote::Plain), Just(Quote::Single), Just(Quote::Double)]
}

fn list_form() -> impl Strategy<Value = ListForm> {
    prop_oneof![Just(ListForm::Block), Just(ListForm::BlockOfFlow), Just(ListForm::Flow), Just(ListForm::FlowLines)]
}

fn container() -> impl Strategy<Value = Container> {
    (
        0..100u32,
        prop::option::of(prop::sample::select(&WRITTEN_POLICIES[..])),
        prop::option::of(prop::sample::select(&["|", "|-", ">"][..])),
        Just(vec![0, 1, 2, 3]).prop_shuffle(),
        [quote(), quote(), quote()],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(n, policy, args, key_order, quotes, nested, merge, tab)| Container {
            name: if tab { format!("c{n} \tx") } else { format!("c{n}") },
            image: format!("registry.example.com/app-{n}:1.{n}"),
            policy,
            args,
            key_order,
            quotes,
            nested,
            image_anchor: None,
            merge,
            tab,
        })
}

fn document() -> impl Strategy<Value = Document> {
    (
        prop_oneof![Just(Kind::Pod), Just(Kind::Deployment), Just(Kind::CronJob)],
        1..=8usize,
        any::<bool>(),
        prop::collection::vec(container(), 1..=3),
        prop::collection::vec(container(), 0..=1),
        list_form(),
        prop::option::of(prop::sample::subsequence(&LISTED_SECRETS[..], 0..=2)),
        list_form(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                kind,
                indent,
                dash_indented,
                containers,
                init_containers,
                container_form,
                secrets,
                secrets_form,
                secrets_first,
                restart_policy,
                alias_image,
            )| {
                Document {
                    kind,
                    indent,
                    dash_indented,
                    containers,
                    init_containers,
                    container_form,
                    secrets,
                    secrets_form,
                    secrets_first,
                    restart_policy,
                    alias_image,
                }
            },
        )
}

fn file() -> impl Strategy<Value = File> {
    (
        prop::collection::vec(document(), 1..=3),
        prop::sample::select(&LINE_BREAKS[..]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(any::<bool>(), 3),
        prop::collection::vec(any::<u8>(), 1..64),
        prop::sample::select(&POLICIES[..]),
        prop::sample::subsequence(&WANTED_SECRETS[..], 0..=2),
    )
        .prop_map(
            |(
                documents,
                eol,
                bom,
                final_newline,
                leading_separator,
                empty_document,
                end_markers,
                decorations,
                policy,
                wanted_secrets,
            )| {
                File {
                    documents,
                    eol,
                    bom,
                    final_newline,
                    leading_separator,
                    empty_document,
                    end_markers,
                    decorations,
                    policy,
                    wanted_secrets,
                }
            },
        )
}

/// The container's entries in its key order, each as its first line and
/// the lines that continue it (a block scalar's, one level deeper) when
/// `block` is true; a flow mapping gets one line per entry.
fn container_entries(container: &Container, block: bool, indent: usize) -> Vec<(String, Vec<String>)> {
    let mut entries = Vec::new();
    if container.merge {
        entries.push(("<<: *m".to_string(), Vec::new()));
    }
    for &key in &container.key_order {
        match key {
            // A tab stays in a plain value only; quoted, it would be the same text anyway.
            0 if container.tab => entries.push((format!("name: {}", container.name), Vec::new())),
            0 => entries.push((format!("name: {}", container.quotes[0].write(&container.name)), Vec::new())),
            1 => {
                let image = match container.image_anchor {
                    Some(alias) if alias.starts_with('*') => alias.to_string(),
                    Some(anchor) => format!("{anchor} {}", container.quotes[1].write(&container.image)),
                    None => container.quotes[1].write(&container.image),
                };
                entries.push((format!("image: {image}"), Vec::new()));
            }
            2 => {
                let policy = match container.policy {
                    // An empty value in a flow mapping is written `~`, to keep the mapping readable.
                    Some("") if block => "imagePullPolicy:".to_string(),
                    Some("" | "~") => "imagePullPolicy: ~".to_string(),
                    Some(policy) => format!("imagePullPolicy: {}", container.quotes[2].write(policy)),
                    None => continue,
                };
                entries.push((policy, Vec::new()));
            }
            _ => match container.args {
                Some(header) if block => {
                    let deeper = " ".repeat(indent);
                    let script = ["echo start", "", "  echo more # not a comment", "echo done"];
                    let lines =
                        script.iter().map(|l| if l.is_empty() { String::new() } else { format!("{deeper}{l}") });
                    entries.push((format!("args: {header}"), lines.collect()));
                }
                Some(_) => entries.push(("args: [sh, -c, 'echo x']".to_string(), Vec::new())),
                None => {}
            },
        }
    }
    entries
}

/// A container as one flow mapping.
fn flow_container(container: &Container) -> String {
    let entries: Vec<String> = container_entries(container, false, 0).into_iter().map(|(line, _)| line).collect();
    format!("{{{}}}", entries.join(", "))
}

/// The lines of a list of containers under `key`, whose key stands at `column`.
fn container_list_lines(
    document: &Document,
    key: &str,
    list: &[Container],
    column: usize,
    containers: &mut Vec<String>,
) {
    let pad = |n: usize| " ".repeat(n);
    let dash = column + if document.dash_indented { document.indent } else { 0 };
    match document.container_form {
        ListForm::Flow => {
            let items: Vec<String> = list.iter().map(flow_container).collect();
            containers.push(format!("{}{key}: [{}]", pad(column), items.join(", ")));
        }
        ListForm::FlowLines => {
            flow_lines(key, list.iter().map(flow_container).collect(), column, document.indent, containers);
        }
        ListForm::BlockOfFlow => {
            containers.push(format!("{}{key}:", pad(column)));
            for c in list {
                containers.push(format!("{}- {}", pad(dash), flow_container(c)));
            }
        }
        ListForm::Block => {
            containers.push(format!("{}{key}:", pad(column)));
            for c in list {
                let column = if c.nested { dash + document.indent } else { dash + 2 };
                if c.nested {
                    containers.push(format!("{}-", pad(dash)));
                }
                for (index, (line, continued)) in container_entries(c, true, document.indent).into_iter().enumerate() {
                    if index == 0 && !c.nested {
                        containers.push(format!("{}- {line}", pad(dash)));
                    } else {
                        containers.push(format!("{}{line}", pad(column)));
                    }
                    // A block scalar's lines are marked: a comment among them would end it or be its text.
                    containers.extend(continued.into_iter().map(|l| {
                        if l.is_empty() {
                            format!("{SCALAR_LINE}")
                        } else {
                            format!("{SCALAR_LINE}{}{l}", pad(column))
                        }
                    }));
                }
            }
        }
    }
}

/// A flow sequence over several lines: `key: [`, one item a line, `]`,
/// every line after the key's deeper than it.
fn flow_lines(key: &str, items: Vec<String>, column: usize, indent: usize, lines: &mut Vec<String>) {
    let pad = " ".repeat(column + indent);
    lines.push(format!("{}{key}: [", " ".repeat(column)));
    let n_items = items.len();
    for (index, item) in items.into_iter().enumerate() {
        let comma = if index + 1 < n_items { "," } else { "" };
        lines.push(format!("{pad}{item}{comma}"));
    }
    lines.push(format!("{pad}]"));
}

/// The lines of a pod spec whose keys stand at `column`.
fn pod_spec_lines(document: &Document, column: usize, lines: &mut Vec<String>) {
    let pad = |n: usize| " ".repeat(n);
    let dash = column + if document.dash_indented { document.indent } else { 0 };
    let mut containers = Vec::new();
    let mut listed = document.containers.clone();
    if document.alias_image && listed.len() > 1 {
        let last = listed.len() - 1;
        listed[0].image_anchor = Some("&img");
        listed[last].image_anchor = Some("*img");
        listed[last].image = listed[0].image.clone();
    }
    container_list_lines(document, "containers", &listed, column, &mut containers);
    if !document.init_containers.is_empty() {
        container_list_lines(document, "initContainers", &document.init_containers, column, &mut containers);
    }
    let mut secrets = Vec::new();
    if let Some(names) = &document.secrets {
        let items: Vec<String> = names.iter().map(|n| format!("{{name: {n}}}")).collect();
        if names.is_empty() && document.secrets_form == ListForm::Block {
            // A null list, as nothing or `~`.
            secrets.push(format!("{}imagePullSecrets:", pad(column)));
        } else if names.is_empty() && document.secrets_form == ListForm::BlockOfFlow {
            secrets.push(format!("{}imagePullSecrets: ~", pad(column)));
        } else if document.secrets_form == ListForm::FlowLines {
            flow_lines("imagePullSecrets", items, column, document.indent, &mut secrets);
        } else if names.is_empty() || document.secrets_form == ListForm::Flow {
            secrets.push(format!("{}imagePullSecrets: [{}]", pad(column), items.join(", ")));
        } else {
            secrets.push(format!("{}imagePullSecrets:", pad(column)));
            for name in names {
                if document.secrets_form == ListForm::BlockOfFlow {
                    secrets.push(format!("{}- {{name: {name}}}", pad(dash)));
                } else {
                    secrets.push(format!("{}- name: {name}", pad(dash)));
                }
            }
        }
    }
    if document.secrets_first {
        lines.append(&mut secrets);
        lines.append(&mut containers);
    } else {
        lines.append(&mut containers);
        lines.append(&mut secrets);
    }
    if document.restart_policy {
        let value = if document.kind == Kind::Pod { "Always" } else { "OnFailure" };
        lines.push(format!("{}restartPolicy: {value}", pad(column)));
    }
}

fn document_lines(document: &Document, index: usize, lines: &mut Vec<String>) {
    let pad = |level: usize| " ".repeat(level * document.indent);
    let (api_version, kind) = match document.kind {
        Kind::Pod => ("v1", "Pod"),
        Kind::Deployment => ("apps/v1", "Deployment"),
        Kind::CronJob => ("batch/v1", "CronJob"),
    };
    lines.push(format!("apiVersion: {api_version}"));
    lines.push(format!("kind: {kind}"));
    lines.push("metadata:".to_string());
    lines.push(format!("{}name: w{index}", pad(1)));
    lines.push(format!("{}labels: &m {{tier: web}}", pad(1)));
    lines.push("spec:".to_string());
    let level = match document.kind {
        Kind::Pod => 1,
        Kind::Deployment => {
            lines.push(format!("{}replicas: 1", pad(1)));
            lines.push(format!("{}template:", pad(1)));
            lines.push(format!("{}spec:", pad(2)));
            3
        }
        Kind::CronJob => {
            lines.push(format!("{}schedule: \"0 * * * *\"", pad(1)));
            lines.push(format!("{}jobTemplate:", pad(1)));
            lines.push(format!("{}spec:", pad(2)));
            lines.push(format!("{}template:", pad(3)));
            lines.push(format!("{}spec:", pad(4)));
            5
        }
    };
    pod_spec_lines(document, level * document.indent, lines);
}

/// The file's text.
fn render(file: &File) -> String {
    let mut lines = Vec::new();
    if file.leading_separator {
        lines.push("---".to_string());
    }
    for (index, document) in file.documents.iter().enumerate() {
        if index > 0 {
            if file.end_markers[index - 1] {
                lines.push("...".to_string());
            }
            lines.push("---".to_string());
        }
        if index == 1 && file.empty_document {
            lines.push("# a document of nothing but a comment".to_string());
            lines.push("---".to_string());
        }
        document_lines(document, index, &mut lines);
    }
    if file.end_markers[file.documents.len() - 1] {
        lines.push("...".to_string());
    }
    let eol = file.eol;
    let mut text = String::new();
    if file.bom {
        text.push('\u{feff}');
    }
    for (index, line) in lines.iter().enumerate() {
        let decoration = file.decorations[index % file.decorations.len()].wrapping_add(index as u8);
        let (line, in_scalar) = match line.strip_prefix(SCALAR_LINE) {
            Some(line) => (line, true),
            None => (line.as_str(), false),
        };
        match decoration % 16 {
            0 => text.push_str(eol),
            1 if !in_scalar => {
                text.push_str(&format!("{}# note {index} é ✓{eol}", " ".repeat(usize::from(decoration / 16) % 9)))
            }
            _ => {}
        }
        text.push_str(line);
        match decoration % 16 {
            2 if !in_scalar => text.push_str(&format!(" # trailing {index} ü")),
            3 => text.push_str("  "),
            _ => {}
        }
        text.push_str(eol);
    }
    if !file.final_newline {
        text.truncate(text.len() - eol.len());
    }
    text
}

fn rules_of(file: &File) -> Rules {
    let mut text =
        format!("version: 1\nenvironments:\n  prod:\n    paths: [\"prod/**\"]\n    imagePullPolicy: {}\n", file.policy);
    if !file.wanted_secrets.is_empty() {
        let quoted: Vec<String> = file.wanted_secrets.iter().map(|name| format!("\"{name}\"")).collect();
        text.push_str(&format!("    imagePullSecrets: [{}]\n", quoted.join(", ")));
    }
    Rules::parse(&text, RulesOrigin::Embedded).expect("the generated rules are valid")
}

/// What one run plans for a text.
struct Planned {
    documents: Vec<yaml::Document>,
    splices: Vec<Splice>,
    /// The mappings whose pull fields may change (`FilePlan::touched`).
    touched: Vec<usize>,
}

/// The splices one run makes on `text`, with the plan's touched mappings.
fn plan_of(text: &str, rules: &Rules) -> Result<Planned, String> {
    let documents = yaml::parse(text).map_err(|err| format!("the text does not parse: {err}"))?;
    let ctx = PlanContext::of_rules(rules);
    let plan = plan::plan_file(text, PATH, &documents, &ctx).map_err(|failure| format!("not planned: {failure:?}"))?;
    Ok(Planned { splices: plan.splices(), touched: plan.touched, documents })
}

/// Every pod spec of the documents (the same paths the generator writes).
fn pod_specs(documents: &[yaml::Document]) -> Vec<&Node> {
    let mut specs = Vec::new();
    for document in documents {
        let root = &document.root;
        let at = |path: &[&str]| path.iter().try_fold(root, |node, key| node.get(key));
        let spec = match root.get("kind").and_then(Node::as_str) {
            Some("Pod") => at(&["spec"]),
            Some("Deployment") => at(&["spec", "template", "spec"]),
            Some("CronJob") => at(&["spec", "jobTemplate", "spec", "template", "spec"]),
            _ => None,
        };
        specs.extend(spec);
    }
    specs
}

/// The whole property for one generated file; `Err` says what broke.
fn check(file: &File) -> Result<(), String> {
    let input = render(file);
    let rules = rules_of(file);
    let planned = plan_of(&input, &rules);
    if planned.as_ref().is_err_and(|err| err.contains("this block scalar ends the file")) {
        // Refused on purpose when the file's end cuts its last block scalar:
        // it must then be one, with no line break after its last line.
        let last_block = input.split(['\n', '\r']).rev().skip_while(|line| line.trim().is_empty()).find(|line| {
            let code = line.split(" #").next().unwrap_or_default().trim_end();
            code.trim_end_matches(['-', '+', '1', '2', '3', '4', '5', '6', '7', '8', '9']).ends_with(['|', '>'])
        });
        let cut = !input.ends_with(['\n', '\r']) || input.trim_end().ends_with(['|', '>']);
        return if last_block.is_some() && cut { Ok(()) } else { Err(planned.err().unwrap_or_default()) };
    }
    let Planned { documents, splices, touched } = planned?;
    let output = edit::apply(&input, &splices);
    let replan =
        |text: &str| plan_of(text, &rules).map(|planned| planned.splices).unwrap_or_else(|err| panic!("{err}"));
    let intended = Intended {
        documents: &documents,
        fields: IntendedFields::PullFields { touched: &touched },
        splices: &splices,
        replan: Some(&replan),
    };
    verify::invariant(&input, &output, &intended).map_err(|violation| format!("{violation}\n--- output:\n{output}"))?;
    // What the rules ask for is what the output says.
    let new_documents = yaml::parse(&output).map_err(|err| err.to_string())?;
    let specs = pod_specs(&new_documents);
    if specs.len() != file.documents.len() {
        return Err(format!("{} pod specs instead of {}", specs.len(), file.documents.len()));
    }
    for spec in specs {
        let lists = ["containers", "initContainers"].map(|key| spec.get(key).map(Node::items).unwrap_or_default());
        for container in lists.concat() {
            let policy = container.get("imagePullPolicy").and_then(Node::as_str);
            if policy != Some(file.policy) {
                return Err(format!("a container has policy {policy:?}, not {}\n--- output:\n{output}", file.policy));
            }
        }
        let listed = pullsmith::fuzzing::pull_secret_names(spec);
        if let Some(missing) = file.wanted_secrets.iter().find(|wanted| !listed.contains(wanted)) {
            return Err(format!("a pod spec lacks the secret {missing} (lists {listed:?})\n--- output:\n{output}"));
        }
    }
    Ok(())
}

/// How many files to generate: 2000 unless PROPTEST_CASES says otherwise.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(2000)
}

proptest! {
    // 2000 cases take about 5 s in a debug build; PROPTEST_CASES=40000 is a deeper run.
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn every_rewrite_keeps_the_invariant_and_does_what_the_rules_say(file in file()) {
        if let Err(problem) = check(&file) {
            return Err(TestCaseError::fail(format!("{problem}\n--- input:\n{}", render(&file))));
        }
    }
}

/// The pull fields of the mappings at `touched` may change, through `splices`.
fn pull_fields<'a>(documents: &'a [yaml::Document], touched: &'a [usize], splices: &'a [Splice]) -> Intended<'a> {
    Intended { documents, fields: IntendedFields::PullFields { touched }, splices, replan: None }
}

#[test]
fn the_invariant_names_the_part_that_fails_and_where() {
    use verify::Violation;
    let input = "kind: Pod\nspec:\n  containers:\n  - image: a:1\n";
    let documents = yaml::parse(input).expect("valid YAML");
    let touched = [input.find("image").expect("there")];
    let check = |output: &str, splices: &[Splice]| {
        verify::invariant(input, output, &pull_fields(&documents, &touched, splices))
    };
    let good = [Splice::insert_at(input.len(), "    imagePullPolicy: Never\n".to_string())];
    assert_eq!(check(&edit::apply(input, &good), &good), Ok(()));
    // (a) The output does not parse: where the parser stopped, in the output.
    let broken = [Splice::insert_at(input.len(), "  - [\n".to_string())];
    assert!(matches!(check(&edit::apply(input, &broken), &broken), Err(Violation::Unparsable { .. })));
    // (b) A splice that changes the image: the image's offset in the input.
    let image_at = input.find("a:1").expect("there");
    let retag = [Splice::replace(image_at..image_at + 3, "a:2".to_string())];
    let message = "value changed at document 1/spec/containers/0/image".to_string();
    assert_eq!(check(&edit::apply(input, &retag), &retag), Err(Violation::DataChanged { offset: image_at, message }));
    // (c) Splices out of order; a byte changed outside them; a splice that was not made.
    let unordered = [Splice::insert_at(9, String::new()), Splice::insert_at(3, String::new())];
    assert_eq!(check(input, &unordered), Err(Violation::BadSplices { offset: 3 }));
    assert_eq!(check(&input.replacen("Pod", "Pot", 1), &[]), Err(Violation::TextOutsideSplices { offset: 8 }));
    assert_eq!(check(input, &good), Err(Violation::TextOutsideSplices { offset: input.len() }));
    // (d) A second run that would still change something: where, in the output.
    let again = |_: &str| vec![Splice::insert_at(3, "x".to_string())];
    let repeating = Intended { replan: Some(&again), ..pull_fields(&documents, &touched, &[]) };
    assert_eq!(verify::invariant(input, input, &repeating), Err(Violation::NotIdempotent { offset: 3, count: 1 }));
}
