//! From parsed documents and rules to the changes one file needs: every
//! container's wanted pull policy, every pod's wanted pull secrets, each as a
//! `Change` that carries its byte splice and what a report says about it.
//!
//! `plan` does no IO. The plan of a file is the one value that diff, check,
//! apply, explain and the reports all consume.
//!
//! Decisions read values as Kubernetes does, through aliases and merge keys
//! (`- {<<: *d, name: b}` takes its image from `d`). Edits never reach
//! through them: a policy a container merges is overridden by one inserted
//! into the container itself, and an edit of a node that an alias repeats
//! elsewhere is refused for the file (see `check_aliases`) unless every
//! repetition is meant to change with it (`- *c` in a container list). A
//! container or pod spec whose pull fields cannot be brought under the
//! rules (`imagePullSecrets: {}`, `imagePullPolicy: []`) is an error for its
//! file, never a silent pass.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use crate::common::{Field, FieldValue, Uncovered};
use crate::edit::{self, ListStyle, Splice, TextStyle};
use crate::manifest::{self, Aliases, Container, Object};
use crate::rules::{self, AttachSecretsTo, EnvChoice, EnvReason, Environment, Policy, Rules};
use crate::yaml::{Document, Node, NodeKind, ScalarStyle};

impl Change {
    /// Where reports show the change: `(path, line)` of the file that holds
    /// it (`file_path`, the file the change is made in), or of the shared
    /// base for a change a generated overlay patch carries.
    pub fn location<'a>(&'a self, file_path: &'a str) -> (&'a str, usize) {
        match &self.carried {
            Some(carried) => (&carried.base_file, carried.base_line),
            None => (file_path, self.line),
        }
    }

    /// ` in overlay `o` (generated patch `p`)` for a carried change, else empty:
    /// what a message adds so that a reader knows which render changes.
    pub fn overlay_note(&self, file_path: &str) -> String {
        match &self.carried {
            Some(carried) => format!(" in overlay `{}` (generated patch `{file_path}`)", carried.overlay),
            None => String::new(),
        }
    }

    /// What a message says the change is for: a container of an object, or the object.
    pub fn subject(&self) -> String {
        let name = self.name.as_deref().unwrap_or("");
        if let Some(key) = &self.values_key {
            return match &self.name {
                Some(name) => format!("values `{key}` of {} `{name}`", self.kind),
                None => format!("values `{key}` of a {}", self.kind),
            };
        }
        match &self.container {
            Some(container) => format!("container `{container}` of {} `{name}`", self.kind),
            None => format!("{} `{name}`", self.kind),
        }
    }
}

/// One change to one field of one object, with the splice that makes it.
#[derive(Debug, Clone)]
pub struct Change {
    /// Byte offset of the line a report points at: the replaced value, the
    /// container's `image` for an inserted policy, the `imagePullSecrets` key
    /// or else the pod spec's key for secrets.
    pub offset: usize,
    /// 1-based line of `offset`, set by `FilePlan::locate`.
    pub line: usize,
    pub kind: String,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub container: Option<String>,
    pub environment: String,
    pub field: Field,
    /// `None` when the key is new.
    pub from: Option<FieldValue>,
    pub to: FieldValue,
    pub splice: Splice,
    /// For a change a generated overlay patch carries: the file that exists
    /// in the pull request, where reports locate it.
    pub carried: Option<Carried>,
    /// For a change of Helm values: the key it sets (`image.pullPolicy`),
    /// which reaches the containers or pods of `kind` `name` when the chart
    /// renders.
    pub values_key: Option<String>,
}

/// Where a change that a generated overlay patch carries is shown: the
/// generated file may not exist yet (it is created by this run), so reports
/// point at the container's (or pod spec's) line in the shared base and name
/// the overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    /// The overlay's directory, relative to the repository root.
    pub overlay: String,
    /// The shared file that holds the container or pod spec, and its 1-based line.
    pub base_file: String,
    pub base_line: usize,
}

/// A note about a file that does not stop it from being rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub offset: usize,
    /// 1-based line of `offset`, set by `FilePlan::locate`.
    pub line: usize,
    pub message: String,
    pub rule: &'static str,
}

/// What `explain` shows for one container.
#[derive(Debug, Clone)]
pub struct ContainerReport {
    pub document: usize,
    pub kind: String,
    pub name: Option<String>,
    pub list: &'static str,
    pub container: Option<String>,
    /// The image as written in the file.
    pub image: Option<String>,
    /// The image as kustomize renders it, after the `images:` transformers on
    /// the way to the overlay that owns the file, and that overlay; only when
    /// it differs from `image`. Rules, decisions and warnings see this one.
    pub rendered: Option<(String, String)>,
    pub environment: Option<(String, EnvReason)>,
    /// The rule that decided the policy, in words.
    pub decided_by: Option<String>,
    pub current: Option<String>,
    pub wanted: Option<String>,
    pub action: &'static str,
    pub offset: usize,
    /// 1-based line of `offset`, set by `FilePlan::locate`.
    pub line: usize,
}

/// What `explain` shows for one pod spec's secrets.
#[derive(Debug, Clone)]
pub struct PodReport {
    pub document: usize,
    pub kind: String,
    pub name: Option<String>,
    pub environment: Option<(String, EnvReason)>,
    pub existing: Vec<String>,
    pub wanted: Vec<String>,
    /// For a pod that had no secrets and is given some: its ServiceAccount
    /// and the secrets that ServiceAccount lists, which go first in the new list.
    pub inherited: Option<(String, Vec<String>)>,
    /// Where the secrets go: the pod, or the named ServiceAccount.
    pub target: String,
    pub offset: usize,
    /// 1-based line of `offset`, set by `FilePlan::locate`.
    pub line: usize,
}

/// Identifies a ServiceAccount within the repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceAccountKey {
    pub environment: usize,
    pub namespace: Option<String>,
    pub name: String,
}

/// Pods of an environment with `attachSecretsTo: serviceAccount` ask their
/// ServiceAccount for these secrets.
#[derive(Debug, Clone)]
pub struct ServiceAccountRequest {
    pub key: ServiceAccountKey,
    pub secrets: Vec<String>,
    pub offset: usize,
    /// 1-based line of `offset`, set by `FilePlan::locate`.
    pub line: usize,
}

/// A ServiceAccount document, with the pull secrets it lists as written.
#[derive(Debug, Clone)]
pub struct DefinedServiceAccount {
    pub key: ServiceAccountKey,
    /// What pods without secrets of their own inherit from it.
    pub secrets: Vec<String>,
}

/// A pod that had no pull secrets and is given some: from then on it stops
/// inheriting those of its ServiceAccount (the admission plugin fills in
/// only empty lists), so that ServiceAccount's secrets must go first in the
/// new list, and its absence from the repository is worth a warning.
///
/// The `default` ServiceAccount is no exception, as SPEC says. Kubernetes
/// creates it without secrets, so the warning is often a false alarm; but
/// giving `default` pull secrets out of band (`kubectl patch serviceaccount
/// default`) is the usual way to let a whole namespace pull from a private
/// registry, and exactly the setup the rewrite would break without a word.
/// The noise is bounded: one warning per environment and namespace, and only
/// on the run that gives those pods their first list (after it they inherit
/// nothing, so the next runs are silent). A pod in an environment with
/// `attachSecretsTo: serviceAccount` is never given secrets, so never
/// recorded here.
#[derive(Debug, Clone)]
pub struct SecretInheritance {
    pub key: ServiceAccountKey,
    /// The pod spec's key.
    pub offset: usize,
    /// 1-based line of `offset`, set by `FilePlan::locate`.
    pub line: usize,
}

/// A pull secret name a pod needs, to warn when no Secret defines it.
#[derive(Debug, Clone)]
pub struct SecretUse {
    pub environment: usize,
    pub name: String,
    pub offset: usize,
    /// 1-based line of `offset`, set by `FilePlan::locate`.
    pub line: usize,
}

/// Everything planned for one file.
#[derive(Debug, Clone, Default)]
pub struct FilePlan {
    /// The environment of the file's first document that has one.
    pub environment: Option<String>,
    pub changes: Vec<Change>,
    pub warnings: Vec<Warning>,
    pub containers: Vec<ContainerReport>,
    pub pods: Vec<PodReport>,
    pub service_account_requests: Vec<ServiceAccountRequest>,
    pub service_accounts: Vec<DefinedServiceAccount>,
    pub inheritances: Vec<SecretInheritance>,
    pub defined_secrets: Vec<(usize, String)>,
    pub secret_uses: Vec<SecretUse>,
    /// Documents seen but not brought under the rules (an unknown kind that
    /// holds containers, a Helm release, …): the coverage report lists them.
    pub uncovered: Vec<Uncovered>,
    /// Containers whose policy the rules decided (they have an environment).
    pub containers_covered: usize,
    /// Containers seen that no environment claims: left alone on purpose.
    pub containers_without_environment: usize,
    pub containers_changed: usize,
    pub pod_specs_changed: usize,
    /// Original start offsets of the mappings whose two pull fields may
    /// change (containers, pod specs, ServiceAccounts), for `verify`.
    pub touched: Vec<usize>,
    /// Planned again in the second pass, once every ServiceAccount and every
    /// pod is known (see `holds_secret_targets`).
    pub deferred: bool,
}

impl FilePlan {
    /// Turns every offset into its line, so the text's line index need not
    /// be kept; `lines` is asked for the index only when there is an offset.
    pub fn locate<'l>(&mut self, lines: impl FnOnce() -> &'l crate::yaml::LineIndex) {
        if !self.has_positioned_records() {
            self.shrink();
            return;
        }
        let lines = lines();
        for change in &mut self.changes {
            change.line = lines.line_of(change.offset);
        }
        for warning in &mut self.warnings {
            warning.line = lines.line_of(warning.offset);
        }
        for report in &mut self.containers {
            report.line = lines.line_of(report.offset);
        }
        for report in &mut self.pods {
            report.line = lines.line_of(report.offset);
        }
        for request in &mut self.service_account_requests {
            request.line = lines.line_of(request.offset);
        }
        for inheritance in &mut self.inheritances {
            inheritance.line = lines.line_of(inheritance.offset);
        }
        for used in &mut self.secret_uses {
            used.line = lines.line_of(used.offset);
        }
        for uncovered in &mut self.uncovered {
            uncovered.line = lines.line_of(uncovered.offset);
        }
        self.shrink();
    }

    /// Gives back what the lists reserved beyond their length: a plan is
    /// kept until the run ends, and a first push reserves room for four
    /// changes of about 330 bytes each, for most files' one or two.
    fn shrink(&mut self) {
        self.changes.shrink_to_fit();
        self.warnings.shrink_to_fit();
        self.containers.shrink_to_fit();
        self.pods.shrink_to_fit();
        self.service_account_requests.shrink_to_fit();
        self.service_accounts.shrink_to_fit();
        self.inheritances.shrink_to_fit();
        self.defined_secrets.shrink_to_fit();
        self.secret_uses.shrink_to_fit();
        self.uncovered.shrink_to_fit();
        self.touched.shrink_to_fit();
    }

    /// Whether some record of the plan carries an offset in the text (what
    /// `locate` turns into a line).
    fn has_positioned_records(&self) -> bool {
        !(self.changes.is_empty()
            && self.warnings.is_empty()
            && self.containers.is_empty()
            && self.pods.is_empty()
            && self.service_account_requests.is_empty()
            && self.inheritances.is_empty()
            && self.secret_uses.is_empty()
            && self.uncovered.is_empty())
    }

    /// Whether the plan records nothing a run acts on, counts, covers or
    /// reports (its environment aside): such a plan need not be kept.
    pub fn holds_nothing(&self) -> bool {
        self.holds_only_counts()
            && self.containers_covered == 0
            && self.containers_without_environment == 0
            && self.containers_changed == 0
            && self.pod_specs_changed == 0
            && self.touched.is_empty()
    }

    /// Whether, once its file is written and verified, what the plan holds
    /// is only what it counts (`containers_covered`,
    /// `containers_without_environment`, `containers_changed`,
    /// `pod_specs_changed`): what a file that says nothing leaves behind,
    /// most files of a large repository. `touched` is for the post-edit
    /// check alone, done by then.
    pub fn holds_only_counts(&self) -> bool {
        !self.has_positioned_records()
            && self.service_accounts.is_empty()
            && self.defined_secrets.is_empty()
            && !self.deferred
    }

    /// The splices of all changes, sorted; insertions at one offset keep plan order.
    pub fn splices(&self) -> Vec<Splice> {
        let mut splices: Vec<Splice> = self.changes.iter().map(|c| c.splice.clone()).collect();
        splices.sort_by_key(|s| s.range.start);
        splices
    }

    /// Whether the file must wait for the second pass, which knows every pod
    /// and every ServiceAccount of the repository: it holds a ServiceAccount
    /// of an environment that attaches secrets to ServiceAccounts (its
    /// secrets come from the pods). The first pass of such a file writes
    /// nothing and keeps no text; the second reads it again. (A pod that
    /// gains its first pull secrets needs no wait: the ServiceAccounts'
    /// own lists are read before the first pass.)
    pub fn holds_secret_targets(&self, rules: &Rules) -> bool {
        self.service_accounts.iter().any(|account| {
            rules.environments[account.key.environment].attach_secrets_to == AttachSecretsTo::ServiceAccount
        })
    }
}

/// Why a file is not planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanFailure {
    /// Left alone on purpose and reported as skipped.
    Skipped(String),
    /// Could not be processed; `offset` is where, when known.
    Error { offset: Option<usize>, message: String },
}

/// What the first pass learns of the repository's ServiceAccounts, for the second.
#[derive(Debug, Clone, Default)]
pub struct ServiceAccountSecrets {
    /// Secrets each ServiceAccount must list, gathered from every pod of the
    /// environments that attach secrets to ServiceAccounts.
    pub requested: HashMap<ServiceAccountKey, Vec<String>>,
    /// The pull secrets each ServiceAccount of the repository lists, as
    /// written (every document of that key, in path order). A key that is
    /// absent is a ServiceAccount that is not in the repository.
    pub listed: HashMap<ServiceAccountKey, Vec<String>>,
}

/// What planning needs besides the file.
#[derive(Clone)]
pub struct PlanContext<'a> {
    pub rules: &'a Rules,
    /// `--env`: every document belongs to this environment.
    pub forced_environment: Option<usize>,
    /// The repository's ServiceAccounts: known after the first pass; `None` during it.
    pub service_account_secrets: Option<&'a ServiceAccountSecrets>,
    /// The environment of a file owned by one kustomize overlay.
    pub owner: Option<EnvChoice>,
    /// What kustomize's `images:` transformers do to images on the way to that overlay.
    pub image_overrides: &'a [rules::ImageOverride],
    /// A kustomize strategic-merge patch: only containers that name an image
    /// are planned, and no pull secrets (the patched workload gets those).
    pub partial: bool,
}

impl<'a> PlanContext<'a> {
    /// A file planned by its path and namespace alone: no `--env`, no
    /// kustomize owner or image overrides, ServiceAccounts not yet known.
    pub fn of_rules(rules: &'a Rules) -> Self {
        PlanContext {
            rules,
            forced_environment: None,
            service_account_secrets: None,
            owner: None,
            image_overrides: &[],
            partial: false,
        }
    }
}

/// Plans the changes of one file whose documents are `documents`.
pub fn plan_file(
    text: &str,
    path: &str,
    documents: &[Document],
    ctx: &PlanContext<'_>,
) -> Result<FilePlan, PlanFailure> {
    plan_file_in(&TextStyle::new(text), path, documents, ctx)
}

/// [`plan_file`] with the caller's view of the text, whose line index (built
/// when the plan first needs a column) the caller can then use too.
pub fn plan_file_in(
    style: &TextStyle<'_>,
    path: &str,
    documents: &[Document],
    ctx: &PlanContext<'_>,
) -> Result<FilePlan, PlanFailure> {
    let text = style.text();
    let rules = ctx.rules;
    let file_env = match (&ctx.owner, ctx.forced_environment) {
        (Some(owner), _) => Some(owner.clone()),
        (None, Some(env)) => Some(EnvChoice { env, reason: EnvReason::Forced }),
        (None, None) => rules.env_for_path(path).map_err(|conflict| PlanFailure::Error {
            offset: None,
            message: conflict_message("path", &conflict.names),
        })?,
    };
    let aliases = Aliases::of(text, documents).map_err(|message| PlanFailure::Error { offset: None, message })?;
    let mut checks = AliasChecks::default();
    let mut plan = FilePlan::default();
    let list_styles = ListStyles::new(style, documents);
    for (doc_index, document) in documents.iter().enumerate() {
        if ctx.partial && matches!(document.root.kind, NodeKind::Sequence { .. }) {
            // A JSON 6902 patch: the containers its operations bring get their policy.
            let object = Object { node: &document.root, kind: "JSON 6902 patch", api_version: "" };
            let mut planner = ObjectPlanner {
                style,
                rules,
                ctx,
                plan: &mut plan,
                doc_index,
                object,
                env: file_env.clone(),
                list_styles: &list_styles,
                own_list_style: LIST_STYLE_FILE,
                aliases: &aliases,
                checks: &mut checks,
            };
            planner.plan_operations()?;
            continue;
        }
        let Some(root) = Object::new(&document.root) else {
            continue;
        };
        let mut objects = Vec::new();
        root.flatten(&mut objects);
        for object in objects {
            let env = match &file_env {
                Some(choice) => Some(choice.clone()),
                None => env_by_namespace(rules, &object)?,
            };
            let mut planner = ObjectPlanner {
                style,
                rules,
                ctx,
                plan: &mut plan,
                doc_index,
                object,
                env,
                list_styles: &list_styles,
                own_list_style: LIST_STYLE_OWN,
                aliases: &aliases,
                checks: &mut checks,
            };
            planner.plan()?;
        }
    }
    if !aliases.is_empty() {
        check_aliases(text, &mut plan, &aliases, &checks)?;
    }
    if let Some(scalar) = block_scalar_at_the_end(text, documents) {
        if plan.changes.iter().any(|change| change.splice.range.start >= scalar.span.end) {
            return Err(PlanFailure::Error {
                offset: Some(scalar.span.start),
                message: "this block scalar ends the file without a line break after its last line (or holds \
                          no line at all), which YAML parsers read differently (`|` then `x` is `x` to kubectl, \
                          `x\\n` to yaml-rust2); a line written after it would change its value for one of \
                          them: end the file with a line break, or give the scalar a line"
                    .to_string(),
            });
        }
    }
    Ok(plan)
}

/// The block scalar (`|`, `>`) that is the last node of the text, when the
/// end of the text cuts it so that parsers disagree on its value: yaml-rust2
/// reads a last line without a line break as if it had one, and an empty
/// block scalar as a line break. Nothing may be inserted after it.
fn block_scalar_at_the_end<'a>(text: &str, documents: &'a [Document]) -> Option<&'a Node> {
    let mut node = &documents.last()?.root;
    loop {
        node = match &node.kind {
            NodeKind::Mapping { entries, .. } => &entries.last()?.1,
            NodeKind::Sequence { items, .. } => items.last()?,
            NodeKind::Scalar { .. } | NodeKind::Alias => break,
        };
    }
    let block = matches!(node.scalar_style(), Some(ScalarStyle::Literal | ScalarStyle::Folded));
    let tail = text.get(node.span.end..)?;
    if !block || !tail.trim().is_empty() {
        return None;
    }
    let header_line_end = text[node.span.start..].find(['\n', '\r']).map(|i| node.span.start + i);
    let has_line = header_line_end.is_some_and(|end| !text[end..node.span.end].trim().is_empty());
    let ends_with_break = text.ends_with(['\n', '\r']);
    (!ends_with_break || !has_line).then_some(node)
}

/// [`ObjectPlanner::own_list_style`]: the document's own lists show the style.
const LIST_STYLE_OWN: bool = true;
/// [`ObjectPlanner::own_list_style`]: the file's lists show it (a JSON 6902 patch).
const LIST_STYLE_FILE: bool = false;

/// How a file writes block lists, looked for only when a new list is
/// written: finding it asks for columns, so for the line index, which most
/// files never need.
/// The first block list of a document the parse did not build
/// (`yaml::parse_skipping`), from a parse of its text alone: that text
/// starts at a line's start, so its columns are the file's.
fn of_skipped_document(style: &TextStyle<'_>, document: &Document) -> Option<ListStyle> {
    let text = style.text().get(document.root.span.clone())?;
    let documents = crate::yaml::parse(text).ok()?;
    let own = TextStyle::new(text);
    documents.iter().find_map(|d| ListStyle::of_document(&own, &d.root))
}

struct ListStyles<'p, 'a> {
    style: &'p TextStyle<'a>,
    documents: &'a [Document],
    /// The first block list of the file: a document without lists of its
    /// own writes them like the rest of the file.
    file: OnceCell<ListStyle>,
    /// Each document's first block list.
    own: Vec<OnceCell<Option<ListStyle>>>,
}

impl<'p, 'a> ListStyles<'p, 'a> {
    fn new(style: &'p TextStyle<'a>, documents: &'a [Document]) -> Self {
        ListStyles { style, documents, file: OnceCell::new(), own: documents.iter().map(|_| OnceCell::new()).collect() }
    }

    /// The style of document `doc`'s own lists, else of the file's.
    fn of(&self, doc: usize, own: bool) -> ListStyle {
        let of_file = || {
            *self.file.get_or_init(|| {
                let of = |d: &Document| match d.skipped {
                    true => of_skipped_document(self.style, d),
                    false => ListStyle::of_document(self.style, &d.root),
                };
                self.documents.iter().find_map(of).unwrap_or_default()
            })
        };
        if !own {
            return of_file();
        }
        self.own[doc]
            .get_or_init(|| ListStyle::of_document(self.style, &self.documents[doc].root))
            .unwrap_or_else(of_file)
    }
}

/// What planning a file records for `check_aliases`.
#[derive(Default)]
struct AliasChecks<'a> {
    /// Containers and pod specs planned where they are written (by node
    /// address), with their environment.
    holders: HashMap<usize, Option<usize>>,
    /// Aliases that stand for a container (`- *c`) or for a pod spec (or a
    /// node on the way to it, `spec: *s`), with the environment of their object.
    copies: Vec<(&'a Node, Option<usize>)>,
    /// Aliases a planned container merges (`<<: *d`), by address, with that container.
    merges: HashMap<usize, &'a Node>,
    /// Every planned edit.
    edits: Vec<Edit<'a>>,
}

/// One planned edit: the container, pod spec or ServiceAccount it is for,
/// and the node whose text it changes (the holder itself for an insertion).
struct Edit<'a> {
    field: Field,
    holder: &'a Node,
    target: &'a Node,
    /// The bytes the splice replaces (empty for an insertion).
    replaced: Range<usize>,
}

fn address(node: &Node) -> usize {
    std::ptr::from_ref(node) as usize
}

fn contains(outer: &Node, inner: &Node) -> bool {
    outer.span.start <= inner.span.start && inner.span.end <= outer.span.end
}

/// Refuses the file when an edit would change a node that an alias repeats
/// somewhere the plan does not mean to change: `imagePullPolicy: &p Always`
/// with `value: *p` in an env var, an anchored container merged by another
/// container that keeps its policy from it, a list of pull secrets two pod
/// specs share. Writing the value out instead of the alias makes such a file
/// editable. A repetition is meant to change when it is
/// - replaced by the plan itself (`imagePullPolicy: *p` given its own value);
/// - a container (`- *c`) or pod spec alias repeating one planned here, in
///   the same environment: it wants what its original gets;
/// - a merge (`<<: *d`) into a planned container that has, or is given, its
///   own `imagePullPolicy`, when the edit is the policy of `d` itself.
///
/// Aliases standing for a container or a pod spec that is not planned here
/// (in the same environment) are refused too: their pull settings could be
/// neither checked nor edited.
fn check_aliases(
    text: &str,
    plan: &mut FilePlan,
    aliases: &Aliases<'_>,
    checks: &AliasChecks<'_>,
) -> Result<(), PlanFailure> {
    let line_of = |offset: usize| crate::yaml::line_col(text, offset).0;
    let mut covered_copies = HashSet::new();
    for (alias, env) in &checks.copies {
        let target = aliases.resolve(alias);
        if checks.holders.get(&address(target)) == Some(env) {
            covered_copies.insert(address(alias));
            plan.touched.push(alias.span.start);
            continue;
        }
        let name = alias_name(text, alias);
        return Err(PlanFailure::Error {
            offset: Some(alias.span.start),
            message: format!(
                "`*{name}` repeats a node (anchored at line {}) that is not a container or pod spec planned here in the \
                 same environment, so its pull settings can be neither checked nor edited; write it out instead of the alias",
                line_of(target.span.start)
            ),
        });
    }
    // Sorted once, so that a file with many anchors and many edits stays linear-logarithmic.
    let mut by_target: Vec<&Edit<'_>> = checks.edits.iter().collect();
    by_target.sort_by_key(|edit| edit.target.span.start);
    let mut replacements: Vec<&Range<usize>> =
        checks.edits.iter().map(|edit| &edit.replaced).filter(|range| !range.is_empty()).collect();
    replacements.sort_by_key(|range| range.start);
    let policy_holders: HashSet<usize> = checks
        .edits
        .iter()
        .filter(|edit| edit.field == Field::ImagePullPolicy)
        .map(|edit| address(edit.holder))
        .collect();
    for anchored in aliases.aliased() {
        let first = by_target.partition_point(|edit| edit.target.span.start < anchored.span.start);
        let inside: Vec<&Edit<'_>> = by_target[first..]
            .iter()
            .take_while(|edit| edit.target.span.start <= anchored.span.end)
            .filter(|edit| contains(anchored, edit.target))
            .copied()
            .collect();
        if inside.is_empty() {
            continue;
        }
        for alias in aliases.uses_of(anchored) {
            // Replacements never overlap: only the last one starting at or before the alias can hold it.
            let before = replacements.partition_point(|range| range.start <= alias.span.start);
            let replaced = before > 0 && contains_range(replacements[before - 1], alias);
            let copy = covered_copies.contains(&address(alias));
            let merged_and_overridden = checks.merges.get(&address(alias)).is_some_and(|container| {
                let own_policy_of_anchored = inside.iter().all(|edit| {
                    edit.field == Field::ImagePullPolicy
                        && std::ptr::eq(edit.holder, *anchored)
                        && (std::ptr::eq(edit.target, *anchored)
                            || anchored.get("imagePullPolicy").is_some_and(|own| std::ptr::eq(own, edit.target)))
                });
                let has_own = container
                    .entries()
                    .iter()
                    .any(|(k, _)| k.as_str() == Some("imagePullPolicy") && !manifest::is_merge_key(k))
                    || policy_holders.contains(&address(container));
                own_policy_of_anchored && has_own
            });
            if replaced || copy || merged_and_overridden {
                continue;
            }
            let name = alias_name(text, alias);
            let anchor = text[..anchored.span.start].rfind(&format!("&{name}")).unwrap_or(anchored.span.start);
            let what = inside.first().map_or("a value", |edit| edit.field.as_str());
            return Err(PlanFailure::Error {
                offset: Some(anchor),
                message: format!(
                    "`&{name}` anchors a node holding `{what}`, which the rules change, and `*{name}` at line {} repeats it: \
                     the change would reach that use too; write the value out there instead of the alias",
                    line_of(alias.span.start)
                ),
            });
        }
    }
    Ok(())
}

fn contains_range(range: &Range<usize>, node: &Node) -> bool {
    range.start <= node.span.start && node.span.end <= range.end
}

/// The name of an alias (`*name`), from its text.
fn alias_name<'t>(text: &'t str, alias: &Node) -> &'t str {
    text.get(alias.span.clone()).map_or("", |t| t.trim_start_matches('*'))
}

/// A plain null as Kubernetes' YAML reads it (`~`, `null`, `Null`, `NULL` or nothing).
fn is_null_value(node: &Node) -> bool {
    matches!(&node.kind, NodeKind::Scalar { value, style: crate::yaml::ScalarStyle::Plain }
        if matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL"))
}

/// What a node is, for messages.
fn shape_of(node: &Node) -> &'static str {
    match &node.kind {
        NodeKind::Mapping { .. } => "a mapping",
        NodeKind::Sequence { .. } => "a sequence",
        NodeKind::Alias => "an alias",
        NodeKind::Scalar { .. } => "a scalar",
    }
}

fn env_by_namespace(rules: &Rules, object: &Object<'_>) -> Result<Option<EnvChoice>, PlanFailure> {
    if let Some(namespace) = object.namespace() {
        let found = rules.env_for_namespace(namespace).map_err(|conflict| PlanFailure::Error {
            offset: object.node.get("metadata").and_then(|m| m.get("namespace")).map(|n| n.span.start),
            message: conflict_message("namespace", &conflict.names),
        })?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(rules.default_environment.map(|env| EnvChoice { env, reason: EnvReason::Default }))
}

fn conflict_message(what: &str, names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    format!("{what} matches more than one environment: {}", quoted.join(" and "))
}

/// A container's pull policy as it is, with the image rules are matched against.
struct SeenPolicy<'a, 'r> {
    /// The image as rendered (after the owning overlay's `images:`), and its two forms.
    rendered: Option<&'r str>,
    forms: Option<[String; 2]>,
    /// The image as written, and the rendered one when it differs.
    written: Option<&'a str>,
    renamed: Option<&'r str>,
    /// Where a report points: the `image` line (or the container).
    offset: usize,
    /// The container's own `imagePullPolicy` value, what an edit replaces.
    own_node: Option<&'a Node>,
    /// The value Kubernetes reads (its own, or a merged one).
    current_value: Option<&'a Node>,
    current: Option<String>,
}

struct ObjectPlanner<'p, 'a> {
    style: &'p TextStyle<'a>,
    rules: &'p Rules,
    ctx: &'p PlanContext<'p>,
    plan: &'p mut FilePlan,
    doc_index: usize,
    object: Object<'a>,
    env: Option<EnvChoice>,
    /// How this document writes block lists, for a new list in a mapping
    /// that has none (`LIST_STYLE_OWN`: the document's own, else the file's).
    list_styles: &'p ListStyles<'p, 'a>,
    own_list_style: bool,
    aliases: &'p Aliases<'a>,
    checks: &'p mut AliasChecks<'a>,
}

impl<'p, 'a> ObjectPlanner<'p, 'a> {
    fn list_style(&self) -> ListStyle {
        self.list_styles.of(self.doc_index, self.own_list_style)
    }

    fn plan(&mut self) -> Result<(), PlanFailure> {
        let object = self.object;
        // Only the definitions of names the rules give matter (the warning
        // about a pull secret no Secret defines is about those).
        if let (Some(env), Some(name)) = (&self.env, manifest::defined_secret_name(&object)) {
            if self.rules.pull_secret_names().any(|wanted| wanted == name) {
                self.plan.defined_secrets.push((env.env, name.to_string()));
            }
        }
        if object.kind == "ServiceAccount" && !self.ctx.partial {
            self.plan_service_account()?;
        }
        let Some(shape) = manifest::workload_shape(&object, &self.rules.workloads) else {
            if !self.ctx.partial && !manifest::never_uncovered(object.kind) && manifest::holds_containers(object.node) {
                self.plan.uncovered.push(Uncovered {
                    offset: object.node.span.start,
                    line: 0,
                    kind: object.kind.to_string(),
                    name: object.name().map(str::to_string),
                    reason: format!(
                        "unknown workload kind `{} {}` holding containers; add it under `workloads:` to cover it",
                        object.api_version, object.kind
                    ),
                });
            }
            return Ok(());
        };
        let env_index = self.env.as_ref().map(|c| c.env);
        let found = manifest::pod_specs(&object, &shape);
        for alias in found.aliases {
            self.checks.copies.push((alias, env_index));
        }
        // Every pod spec is a pod of its own: policies per container, secrets per pod spec.
        for pod_spec in &found.pod_specs {
            self.plan_pod_spec(pod_spec, &shape)?;
        }
        Ok(())
    }

    /// Plans one pod spec of the object (for an Argo workflow, its spec and
    /// the containers of all its templates).
    fn plan_pod_spec(
        &mut self,
        pod_spec: &manifest::PodSpec<'a>,
        shape: &manifest::WorkloadShape<'_>,
    ) -> Result<(), PlanFailure> {
        let env_index = self.env.as_ref().map(|c| c.env);
        let groups = manifest::container_groups(pod_spec.node, shape);
        for alias in &groups.aliases {
            self.checks.copies.push((alias, env_index));
        }
        let mut containers = Vec::new();
        for group in &groups.pod_specs {
            let found = manifest::slot_containers(group.node, shape.slots)
                .map_err(|err| PlanFailure::Error { offset: Some(err.offset), message: err.message })?;
            for alias in manifest::aliased_containers(group.node, shape.slots) {
                self.checks.copies.push((alias, env_index));
            }
            containers.extend(found);
        }
        self.checks.holders.insert(address(pod_spec.node), env_index);
        for container in &containers {
            self.checks.holders.insert(address(container.node), env_index);
            if let Some((_, merged)) = container.node.entries().iter().find(|(k, _)| manifest::is_merge_key(k)) {
                let items = if merged.kind == NodeKind::Alias { std::slice::from_ref(merged) } else { merged.items() };
                for item in items.iter().filter(|item| item.kind == NodeKind::Alias) {
                    self.checks.merges.insert(address(item), container.node);
                }
            }
            if let Some(image) = self.image_of(container) {
                if image.contains("{{") {
                    return Err(PlanFailure::Skipped("Helm template (an image reference holds `{{`)".to_string()));
                }
            }
        }
        if self.plan.environment.is_none() {
            self.plan.environment = self.env.as_ref().map(|c| self.rules.environments[c.env].name.clone());
        }
        let rendered: Vec<Option<String>> = containers.iter().map(|c| self.rendered_image(c)).collect();
        let images: Vec<Option<[String; 2]>> =
            rendered.iter().map(|image| image.as_deref().map(rules::image_forms)).collect();
        for (container, image) in containers.iter().zip(&rendered) {
            if self.ctx.partial && self.image_of(container).is_none() {
                continue;
            }
            self.plan_container(container, image.as_deref())?;
        }
        // A pod spec without a single container is not a pod anyone runs: no
        // secrets for it. Nor for a strategic-merge patch of a kind kustomize
        // has no schema for: its list would replace the patched pod's whole
        // (dropping the secrets it has), so the overlay's generated JSON 6902
        // patch appends them instead.
        let replaces_lists = self.ctx.partial && !shape.schema_known;
        if !containers.is_empty() && !replaces_lists {
            self.plan_pod_secrets(pod_spec.node, pod_spec.key_offset, &images)?;
        }
        Ok(())
    }

    fn plan_operations(&mut self) -> Result<(), PlanFailure> {
        for (index, operation) in manifest::operation_containers(self.object.node).into_iter().enumerate() {
            let container = Container { list: operation.list, index, node: operation.node };
            let rendered = self.rendered_image(&container);
            self.plan_container(&container, rendered.as_deref())?;
        }
        Ok(())
    }

    /// The container's image as Kubernetes reads it: its own, else the one
    /// a merge key brings, aliases resolved.
    fn image_of(&self, container: &Container<'a>) -> Option<&'a str> {
        self.aliases.get(container.node, "image").and_then(Node::as_str)
    }

    /// The container's image as kustomize renders it for the overlay that owns
    /// the file (as written for every other file): what rules and warnings see.
    fn rendered_image(&self, container: &Container<'a>) -> Option<String> {
        self.image_of(container).map(|image| rules::transform_image(image, self.ctx.image_overrides))
    }

    /// The overlay whose build renders this file, when the file is owned by one.
    fn owning_overlay(&self) -> Option<&'p str> {
        match self.ctx.owner.as_ref().map(|owner| &owner.reason) {
            Some(EnvReason::Overlay(overlay)) => Some(overlay.as_str()),
            _ => None,
        }
    }

    fn environment(&self) -> Option<&'p Environment> {
        self.env.as_ref().map(|c| &self.rules.environments[c.env])
    }

    fn env_label(&self) -> Option<(String, EnvReason)> {
        self.env.as_ref().map(|c| (self.rules.environments[c.env].name.clone(), c.reason.clone()))
    }

    fn change(
        &self,
        offset: usize,
        container: Option<&str>,
        field: Field,
        from: Option<FieldValue>,
        to: FieldValue,
        splice: Splice,
    ) -> Change {
        Change {
            offset,
            line: 0,
            kind: self.object.kind.to_string(),
            name: self.object.name().map(str::to_string),
            namespace: self.object.namespace().map(str::to_string),
            container: container.map(str::to_string),
            environment: self.environment().map(|e| e.name.clone()).unwrap_or_default(),
            field,
            from,
            to,
            splice,
            carried: None,
            values_key: None,
        }
    }

    /// Plans one container's policy; `rendered` is its image as kustomize renders it.
    /// A container's pull policy: what it has, what the rules want, the edit
    /// that gets it there, and a warning when the result may run a stale build.
    fn plan_container(&mut self, container: &Container<'a>, rendered: Option<&str>) -> Result<(), PlanFailure> {
        let seen = self.seen_policy(container, rendered);
        let mut report = self.container_report(container, &seen);
        let Some(env) = self.environment() else {
            self.plan.containers_without_environment += 1;
            self.plan.containers.push(report);
            return Ok(());
        };
        self.plan.containers_covered += 1;
        let (wanted, decided_by) = rules::decide_policy(self.rules, env, seen.forms.as_ref());
        if wanted.is_some() {
            self.check_policy_is_scalar(container, &seen)?;
        }
        report.decided_by = decided_by;
        report.wanted = wanted.map(|p| p.to_string());
        let final_policy = self.set_policy(container, &seen, wanted, env.overwrite, &mut report);
        self.warn_if_stale_latest(final_policy.as_deref(), &seen);
        self.plan.containers.push(report);
        Ok(())
    }

    /// What a container's policy is now, read as Kubernetes reads it.
    fn seen_policy<'r>(&self, container: &Container<'a>, rendered: Option<&'r str>) -> SeenPolicy<'a, 'r> {
        let written = self.image_of(container);
        let renamed = match (written, rendered) {
            (Some(written), Some(rendered)) if written != rendered => Some(rendered),
            _ => None,
        };
        let image_node = container.node.get("image").or_else(|| self.merge_entry(container.node).map(|(key, _)| key));
        let current_value = self.aliases.get(container.node, "imagePullPolicy");
        SeenPolicy {
            forms: rendered.map(rules::image_forms),
            rendered,
            written,
            renamed,
            offset: image_node.map_or(container.node.span.start, |n| n.span.start),
            // The container's own key is what an edit replaces; its value (or a
            // merged one, when it has none) is what Kubernetes reads.
            own_node: container
                .node
                .entries()
                .iter()
                .find(|(k, _)| k.as_str() == Some("imagePullPolicy") && !manifest::is_merge_key(k))
                .map(|(_, v)| v),
            current_value,
            current: current_value.and_then(Node::as_str).filter(|v| !v.is_empty()).map(str::to_string),
        }
    }

    fn container_report(&self, container: &Container<'a>, seen: &SeenPolicy<'a, '_>) -> ContainerReport {
        ContainerReport {
            document: self.doc_index,
            kind: self.object.kind.to_string(),
            name: self.object.name().map(str::to_string),
            list: container.list,
            container: container.name().map(str::to_string),
            image: seen.written.map(str::to_string),
            rendered: seen
                .renamed
                .map(|image| (image.to_string(), self.owning_overlay().unwrap_or("its overlay").to_string())),
            environment: self.env_label(),
            decided_by: None,
            current: seen.current.clone(),
            wanted: None,
            action: "no environment: left alone",
            offset: seen.offset,
            line: 0,
        }
    }

    /// A policy the rules would set but that is written as a list or a
    /// mapping is an error for the file, never a silent pass.
    fn check_policy_is_scalar(&self, container: &Container<'a>, seen: &SeenPolicy<'a, '_>) -> Result<(), PlanFailure> {
        let Some(value) = seen.current_value else { return Ok(()) };
        if matches!(value.kind, NodeKind::Scalar { .. }) {
            return Ok(());
        }
        Err(PlanFailure::Error {
            offset: Some(seen.own_node.unwrap_or(value).span.start),
            message: format!(
                "`imagePullPolicy` of {} is {}, not one of `Always`, `IfNotPresent` or `Never`; write the policy as a scalar",
                container_subject(container, self.object.kind, self.object.name()),
                shape_of(value)
            ),
        })
    }

    /// Plans the edit that gives the container the `wanted` policy, and says
    /// in `report` what was done; returns the policy the container ends with.
    fn set_policy(
        &mut self,
        container: &Container<'a>,
        seen: &SeenPolicy<'a, '_>,
        wanted: Option<Policy>,
        overwrite: bool,
        report: &mut ContainerReport,
    ) -> Option<String> {
        let current = seen.current.clone();
        let Some(wanted) = wanted else {
            report.action = "no rule sets a policy: left alone";
            return current;
        };
        let wanted_text = wanted.as_str();
        match seen.own_node {
            _ if current.as_deref() == Some(wanted_text) => {
                report.action = "already right";
                current
            }
            _ if seen.current_value.is_some() && !overwrite => {
                report.action = "kept (overwrite: false)";
                current
            }
            None => match self.insert_policy(container.node, wanted_text) {
                Some(splice) => {
                    report.action = "insert";
                    let from = current.map(FieldValue::Policy);
                    self.push_policy_change(seen.offset, container, from, wanted, splice, container.node);
                    Some(wanted_text.to_string())
                }
                None => {
                    report.action = "no `image` key: left alone";
                    None
                }
            },
            Some(node) if matches!(node.kind, NodeKind::Scalar { .. } | NodeKind::Alias) => {
                report.action = "replace";
                let splice = edit::replace_scalar(node, wanted_text);
                let from = current.map(FieldValue::Policy);
                self.push_policy_change(node.span.start, container, from, wanted, splice, node);
                Some(wanted_text.to_string())
            }
            Some(_) => {
                report.action = "existing value is not a scalar: left alone";
                current
            }
        }
    }

    /// What nodes pull is the rendered image: a `:latest` that an overlay's
    /// `images:` retags is no stale-build risk, and a tag retagged to `:latest` is one.
    fn warn_if_stale_latest(&mut self, final_policy: Option<&str>, seen: &SeenPolicy<'a, '_>) {
        let (Some("IfNotPresent"), Some(image)) = (final_policy, seen.rendered) else { return };
        if !rules::is_latest_or_untagged(image) {
            return;
        }
        let shown = match (seen.written, seen.renamed) {
            (Some(written), Some(_)) => match self.owning_overlay() {
                Some(overlay) => format!("`{image}` (written `{written}`, retagged by `{overlay}`)"),
                None => format!("`{image}` (written `{written}`)"),
            },
            _ => format!("`{image}`"),
        };
        self.plan.warnings.push(Warning {
            offset: seen.offset,
            line: 0,
            message: format!(
                "image {shown} is `:latest` or untagged but pulled `IfNotPresent`: nodes may run a stale build"
            ),
            rule: "latest-if-not-present",
        });
    }

    /// The container's `<<` entry, when it merges another mapping.
    fn merge_entry(&self, mapping: &'a Node) -> Option<&'a (Node, Node)> {
        mapping.entries().iter().find(|(k, _)| manifest::is_merge_key(k))
    }

    /// Inserts `imagePullPolicy` into the container itself: after its
    /// `image`, else (the image comes from a merge key) right after its `<<`
    /// entry, at that key's column, so that the merged mapping, which other
    /// containers may merge too, is never edited.
    fn insert_policy(&self, container: &'a Node, policy: &str) -> Option<Splice> {
        if container.get("image").is_some() {
            return edit::insert_policy(self.style, container, policy);
        }
        let (merge_key, merged) = self.merge_entry(container)?;
        self.aliases.get(container, "image")?;
        let end = merged.span.end.max(merge_key.span.end);
        if container.is_flow() {
            return Some(Splice::insert_at(end, format!(", imagePullPolicy: {policy}")));
        }
        let indent = " ".repeat(self.style.key_column(merge_key));
        let eol = self.style.eol_at(end);
        Some(Splice::insert_at(self.style.line_end(end), format!("{eol}{indent}imagePullPolicy: {policy}")))
    }

    fn push_policy_change(
        &mut self,
        offset: usize,
        container: &Container<'a>,
        from: Option<FieldValue>,
        to: Policy,
        splice: Splice,
        target: &'a Node,
    ) {
        self.checks.edits.push(Edit {
            field: Field::ImagePullPolicy,
            holder: container.node,
            target,
            replaced: splice.range.clone(),
        });
        let change = self.change(
            offset,
            container.name(),
            Field::ImagePullPolicy,
            from,
            FieldValue::Policy(to.to_string()),
            splice,
        );
        self.plan.changes.push(change);
        self.plan.touched.push(container.node.span.start);
        self.plan.containers_changed += 1;
    }

    fn plan_pod_secrets(
        &mut self,
        pod_spec: &'a Node,
        key_offset: usize,
        images: &[Option<[String; 2]>],
    ) -> Result<(), PlanFailure> {
        let Some(env) = self.environment() else {
            return Ok(());
        };
        let env_index = self.env.as_ref().map_or(0, |c| c.env);
        let mut wanted = rules::wanted_secrets(self.rules, env, images);
        if self.ctx.partial {
            // A patch brings only the secrets its own images call for; the
            // patched workload gets the environment's.
            if env.attach_secrets_to == AttachSecretsTo::ServiceAccount {
                return Ok(());
            }
            wanted.retain(|name| !env.secrets.contains(name));
        }
        let offset = key_offset;
        let existing = self.listed_secrets(pod_spec);
        let mut report = PodReport {
            document: self.doc_index,
            kind: self.object.kind.to_string(),
            name: self.object.name().map(str::to_string),
            environment: self.env_label(),
            existing: existing.clone(),
            wanted: wanted.clone(),
            inherited: None,
            target: "pod".to_string(),
            offset,
            line: 0,
        };
        for name in &wanted {
            self.plan.secret_uses.push(SecretUse { environment: env_index, name: name.clone(), offset, line: 0 });
        }
        let account = manifest::service_account_name(pod_spec);
        let account_key = ServiceAccountKey {
            environment: env_index,
            namespace: self.object.namespace().map(str::to_string),
            name: account.to_string(),
        };
        if env.attach_secrets_to == AttachSecretsTo::ServiceAccount {
            report.target = format!("ServiceAccount `{account}`");
            self.plan.pods.push(report);
            if !wanted.is_empty() {
                self.plan.service_account_requests.push(ServiceAccountRequest {
                    key: account_key,
                    secrets: wanted,
                    offset,
                    line: 0,
                });
            }
            return Ok(());
        }
        let mut missing: Vec<String> = wanted.into_iter().filter(|name| !existing.contains(name)).collect();
        // A pod with no list of its own pulls with its ServiceAccount's secrets;
        // the list pullsmith gives it replaces those, so they go first. A
        // strategic-merge patch is no pod: the workload it patches is planned
        // from its own file.
        let had_none = self.aliases.get(pod_spec, "imagePullSecrets").is_none_or(|list| list.items().is_empty());
        if had_none && !missing.is_empty() && !self.ctx.partial {
            self.plan.inheritances.push(SecretInheritance { key: account_key.clone(), offset, line: 0 });
            let inherited = self
                .ctx
                .service_account_secrets
                .and_then(|accounts| accounts.listed.get(&account_key))
                .cloned()
                .unwrap_or_default();
            if !inherited.is_empty() {
                missing.retain(|name| !inherited.contains(name));
                report.inherited = Some((account.to_string(), inherited.clone()));
                missing.splice(0..0, inherited);
            }
        }
        self.plan.pods.push(report);
        let line = pod_spec.entry("imagePullSecrets").map_or(offset, |(key, _)| key.span.start);
        if let Some(splice) = self.secrets_splice(pod_spec, &missing)? {
            let from = pod_spec
                .get("imagePullSecrets")
                .filter(|l| !is_null_value(l))
                .map(|_| FieldValue::Secrets(existing.clone()));
            let mut to = existing;
            to.extend(missing);
            let change = self.change(line, None, Field::ImagePullSecrets, from, FieldValue::Secrets(to), splice);
            self.plan.changes.push(change);
            self.plan.touched.push(pod_spec.span.start);
            self.plan.pod_specs_changed += 1;
        }
        Ok(())
    }

    /// Names of the pull secrets a pod spec or ServiceAccount lists, as Kubernetes reads them.
    fn listed_secrets(&self, holder: &'a Node) -> Vec<String> {
        self.aliases
            .get(holder, "imagePullSecrets")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|item| self.aliases.get(item, "name").and_then(Node::as_str))
            .map(str::to_string)
            .collect()
    }

    /// The splice that adds `names` to the holder's own `imagePullSecrets`,
    /// recorded for `check_aliases`. A null (`~`, `null`) becomes the list; a
    /// value that is no list (`{}`, a scalar, an alias) is an error, since
    /// the pod could not be given what the rules want.
    fn secrets_splice(&mut self, holder: &'a Node, names: &[String]) -> Result<Option<Splice>, PlanFailure> {
        if names.is_empty() {
            return Ok(None);
        }
        let own =
            holder.entries().iter().find(|(k, _)| k.as_str() == Some("imagePullSecrets") && !manifest::is_merge_key(k));
        let (splice, target) = match own {
            None => (edit::append_secrets(self.style, holder, names, self.list_style()), holder),
            Some((_, value)) if matches!(value.kind, NodeKind::Sequence { .. }) || value.span.is_empty() => {
                // Kubernetes takes only `name:` mappings there (`- regcred` or `- -` it refuses):
                // the list is not extended past an entry that is not one.
                if let Some(entry) = value.items().iter().find(|item| !self.aliases.resolve(item).is_mapping()) {
                    return Err(PlanFailure::Error {
                        offset: Some(entry.span.start),
                        message: format!(
                            "an entry of `imagePullSecrets` of {} `{}` is {}, not a `name:` mapping, and the rules want {}; write it as `- name: <secret>`",
                            self.object.kind,
                            self.object.name().unwrap_or(""),
                            shape_of(self.aliases.resolve(entry)),
                            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                        ),
                    });
                }
                (edit::append_secrets(self.style, holder, names, self.list_style()), value)
            }
            Some((key, value)) if is_null_value(value) => {
                (Some(self.replace_null_with_list(holder, key, value, names)), value)
            }
            Some((key, value)) => {
                let fix = if value.kind == NodeKind::Alias {
                    "write the list out instead of the alias"
                } else {
                    "write it as a list of `name:` items"
                };
                return Err(PlanFailure::Error {
                    offset: Some(key.span.start),
                    message: format!(
                        "`imagePullSecrets` of {} `{}` is {}, not a list, and the rules want {}; {fix}",
                        self.object.kind,
                        self.object.name().unwrap_or(""),
                        shape_of(value),
                        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        };
        if let Some(splice) = &splice {
            self.checks.edits.push(Edit {
                field: Field::ImagePullSecrets,
                holder,
                target,
                replaced: splice.range.clone(),
            });
        }
        Ok(splice)
    }

    /// `imagePullSecrets: ~` (or `null`) replaced by the list: a flow list in
    /// a flow context, else block items on the lines after the key, the null
    /// and nothing else of the line removed (a comment stays).
    fn replace_null_with_list(&self, holder: &Node, key: &Node, null: &Node, names: &[String]) -> Splice {
        let list_style = ListStyle::of_mapping(self.style, holder).unwrap_or_else(|| self.list_style());
        if list_style.flow || holder.is_flow() {
            let items: Vec<String> = names.iter().map(|n| format!("{{name: {}}}", edit::quoted(n, None))).collect();
            return Splice::replace(null.span.clone(), format!("[{}]", items.join(", ")));
        }
        let colon =
            self.style.slice(key.span.end..null.span.start).find(':').map_or(key.span.end, |i| key.span.end + i + 1);
        let line_end = self.style.line_end(null.span.end);
        let rest = self.style.slice(null.span.end..line_end);
        let mut text = if rest.trim().is_empty() { String::new() } else { rest.to_string() };
        let eol = self.style.eol_at(null.span.end);
        let indent = " ".repeat(self.style.key_column(key) + list_style.dash_offset);
        for name in names {
            text.push_str(&format!("{eol}{indent}- name: {}", edit::quoted(name, None)));
        }
        Splice::replace(colon..line_end, text)
    }

    fn plan_service_account(&mut self) -> Result<(), PlanFailure> {
        let Some(env) = &self.env else { return Ok(()) };
        let Some(name) = self.object.name() else {
            return Ok(());
        };
        let key = ServiceAccountKey {
            environment: env.env,
            namespace: self.object.namespace().map(str::to_string),
            name: name.to_string(),
        };
        let holder = self.object.node;
        let listed = self.listed_secrets(holder);
        self.plan.service_accounts.push(DefinedServiceAccount { key: key.clone(), secrets: listed });
        let Some(all) = self.ctx.service_account_secrets else {
            return Ok(());
        };
        let Some(wanted) = all.requested.get(&key) else { return Ok(()) };
        let existing = self.listed_secrets(holder);
        let missing: Vec<String> = wanted.iter().filter(|n| !existing.contains(n)).cloned().collect();
        let line = holder.entry("imagePullSecrets").map_or_else(
            || holder.entry("metadata").map_or(holder.span.start, |(k, _)| k.span.start),
            |(k, _)| k.span.start,
        );
        if let Some(splice) = self.secrets_splice(holder, &missing)? {
            let from = holder
                .get("imagePullSecrets")
                .filter(|l| !is_null_value(l))
                .map(|_| FieldValue::Secrets(existing.clone()));
            let mut to = existing;
            to.extend(missing);
            let change = self.change(line, None, Field::ImagePullSecrets, from, FieldValue::Secrets(to), splice);
            self.plan.changes.push(change);
            self.plan.touched.push(holder.span.start);
            self.plan.pod_specs_changed += 1;
        }
        Ok(())
    }
}

/// A container, for messages: `container `a` of Deployment `web``.
fn container_subject(container: &Container<'_>, kind: &str, name: Option<&str>) -> String {
    match container.name() {
        Some(container_name) => format!("container `{container_name}` of {kind} `{}`", name.unwrap_or("")),
        None => format!("container {} of `{}` of {kind} `{}`", container.index, container.list, name.unwrap_or("")),
    }
}

/// Names of the Secrets (Secret, SealedSecret, ExternalSecret) a file defines.
pub fn defined_secret_names(documents: &[Document]) -> Vec<String> {
    manifest::objects(documents).iter().filter_map(manifest::defined_secret_name).map(str::to_string).collect()
}

/// The ServiceAccounts a file defines, as (namespace, name).
pub fn service_account_names(documents: &[Document]) -> Vec<(Option<String>, String)> {
    manifest::objects(documents)
        .iter()
        .filter(|o| o.kind == "ServiceAccount")
        .filter_map(|object| Some((object.namespace().map(str::to_string), object.name()?.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RulesOrigin;

    const RULES: &str =
        "version: 1\nenvironments:\n  prod:\n    paths: [\"prod/**\"]\n    imagePullPolicy: IfNotPresent\n";

    fn plan_of(text: &str) -> FilePlan {
        let rules = Rules::parse(RULES, RulesOrigin::File("rules.yaml".into())).expect("valid rules");
        let (documents, lines) = crate::yaml::parse_with_lines(text).expect("valid YAML");
        let ctx = PlanContext {
            rules: &rules,
            forced_environment: None,
            service_account_secrets: None,
            owner: None,
            image_overrides: &[],
            partial: false,
        };
        let mut plan = plan_file(text, "prod/a.yaml", &documents, &ctx).expect("planned");
        plan.locate(|| &lines);
        plan
    }

    #[test]
    fn an_unknown_kind_holding_containers_is_uncovered_and_not_edited() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n---\n\
                    apiVersion: apps.example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  runner:\n    pod:\n      containers:\n        - name: a\n          image: a:1.0\n";
        let plan = plan_of(text);
        assert!(plan.changes.is_empty(), "{:?}", plan.changes);
        assert_eq!(
            plan.uncovered,
            [Uncovered {
                offset: text.find("apiVersion: apps").expect("there"),
                line: 6,
                kind: "Widget".to_string(),
                name: Some("w".to_string()),
                reason: "unknown workload kind `apps.example.com/v1 Widget` holding containers; add it under `workloads:` to cover it"
                    .to_string(),
            }]
        );
    }

    #[test]
    fn schemas_helm_releases_and_known_workloads_are_not_uncovered() {
        let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: w}\nspec:\n  x:\n    containers:\n      - {image: a}\n";
        let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: r}\nspec:\n  values:\n    containers:\n      - {image: a}\n";
        let application = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: r}\nspec:\n  containers:\n    - {image: a}\n";
        let rollout = "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  template:\n    spec:\n      containers:\n        - {name: a, image: a}\n";
        let no_image =
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  containers:\n    - {name: a}\n";
        for text in [crd, release, application, rollout, no_image] {
            assert!(plan_of(text).uncovered.is_empty(), "{text}");
        }
    }

    #[test]
    fn a_containers_list_deeper_than_the_search_is_not_seen() {
        let mut text = "apiVersion: example.com/v1\nkind: Deep\nmetadata: {name: d}\nspec:\n".to_string();
        let mut indent = 2;
        for level in 0..14 {
            text.push_str(&format!("{}l{level}:\n", " ".repeat(indent)));
            indent += 2;
        }
        text.push_str(&format!("{}containers:\n{}- {{image: a}}\n", " ".repeat(indent), " ".repeat(indent)));
        assert!(plan_of(&text).uncovered.is_empty());
    }
}
