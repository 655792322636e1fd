//! An abstract render of a chart's templates: each template is rendered
//! once, with every branch of every `if` taken and every `range` body
//! walked once per known element, into text and *holes*. A hole is what an
//! action prints, known only by the `.Values` paths that feed it (or as
//! unknown, with the reason). `include` and `template` are followed into
//! their `define`s with the argument they are given, so that a helper's
//! text (`imagePullSecrets:`) and its holes land in the caller's output,
//! indented as `indent`/`nindent` say.
//!
//! Paths are dotted, from the root chart's values (a subchart's keys carry
//! its name; `global.` is shared). `[]` marks an element of a list walked
//! by `range`: `global.imagePullSecrets[].name`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use super::template::{Arg, Node, Pipe};

/// How deep `include`s may nest before the walk gives up on a call.
const MAX_INCLUDE_DEPTH: usize = 40;
/// How many nodes one template's render may visit.
const MAX_STEPS: usize = 400_000;

/// Functions whose result says nothing of their input's keys.
const HASHES: &[&str] = &["sha256sum", "sha1sum", "adler32sum", "md5sum"];

/// What a value is known to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// The top-level context of a chart (`$` in a template file): its
    /// `.Values` are at this path prefix ("" for the root chart).
    Root(Rc<str>),
    /// The `.Values` of a chart whose values sit at this prefix.
    ValuesOf(Rc<str>),
    /// A value computed from these values paths (one path: the value
    /// itself). No paths: a literal, or something not from values.
    Paths(BTreeSet<String>),
    Dict(BTreeMap<String, Val>),
    List(Vec<Val>),
    Unknown(String),
}

impl Val {
    fn literal() -> Val {
        Val::Paths(BTreeSet::new())
    }

    fn path(path: String) -> Val {
        Val::Paths(BTreeSet::from([path]))
    }

    /// Every values path this value depends on; the reason it is unknown.
    fn sources(&self, out: &mut BTreeSet<String>) -> Result<(), String> {
        match self {
            // The context is passed around (`merge (dict …) .context`), not
            // printed: it consumes no key.
            Val::Root(_) => {}
            Val::ValuesOf(prefix) => {
                out.insert(prefix.to_string());
            }
            Val::Paths(paths) => out.extend(paths.iter().cloned()),
            Val::Dict(entries) => {
                for value in entries.values() {
                    value.sources(out)?;
                }
            }
            Val::List(items) => {
                for value in items {
                    value.sources(out)?;
                }
            }
            Val::Unknown(reason) => return Err(reason.clone()),
        }
        Ok(())
    }

    /// A value that stands for all of `values` (a function's result).
    fn union(values: &[Val]) -> Val {
        let mut paths = BTreeSet::new();
        for value in values {
            if let Err(reason) = value.sources(&mut paths) {
                return Val::Unknown(reason);
            }
        }
        Val::Paths(paths)
    }

    fn field(&self, name: &str) -> Val {
        match self {
            Val::Root(prefix) => match name {
                "Values" => Val::ValuesOf(prefix.clone()),
                _ => Val::literal(),
            },
            Val::ValuesOf(prefix) => {
                if name == "global" || prefix.is_empty() {
                    Val::path(name.to_string())
                } else {
                    Val::path(format!("{prefix}.{name}"))
                }
            }
            Val::Paths(paths) => Val::Paths(paths.iter().map(|p| join(p, name)).collect()),
            Val::Dict(entries) => entries.get(name).cloned().unwrap_or_else(Val::literal),
            Val::List(_) => Val::literal(),
            Val::Unknown(reason) => Val::Unknown(reason.clone()),
        }
    }

    /// The elements `range` walks: one value per known element.
    fn elements(&self) -> Vec<Val> {
        match self {
            Val::List(items) => items.clone(),
            Val::Paths(paths) if paths.is_empty() => vec![Val::literal()],
            Val::Paths(paths) => vec![Val::Paths(paths.iter().map(|p| format!("{p}[]")).collect())],
            Val::ValuesOf(prefix) => vec![Val::path(format!("{prefix}[]"))],
            Val::Dict(entries) => entries.values().cloned().collect(),
            Val::Root(_) => vec![Val::literal()],
            Val::Unknown(reason) => vec![Val::Unknown(reason.clone())],
        }
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// Where a piece of output comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub template: Rc<str>,
    pub line: usize,
}

/// What an action printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Hole {
    /// The values paths it is computed from, or why that is not known.
    pub sources: Result<BTreeSet<String>, String>,
    pub origin: Origin,
    /// The action's text, to name a container whose name is computed.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// `counts_lines`: whether its newlines are the template's own (not
    /// made by `nindent`), so that lines after it are located right.
    Text {
        text: String,
        origin: Origin,
        counts_lines: bool,
    },
    Hole(Hole),
}

/// A result of a pipeline: a value, or rendered output (`include`).
enum Out {
    Val(Val),
    Pieces(Vec<Piece>),
}

/// Something the walk could not follow, outside any hole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub origin: Origin,
    pub reason: String,
}

/// A `define`: its body and the file it is in.
pub struct Define {
    pub body: Rc<Vec<Node>>,
    pub template: Rc<str>,
}

pub struct Walker<'a> {
    pub defines: &'a HashMap<String, Define>,
    /// Every values path that an action prints or a function consumes.
    pub reads: BTreeSet<String>,
    pub gaps: Vec<Gap>,
    depth: usize,
    steps: usize,
    /// Inside a pipeline that hashes its value: what it includes cannot
    /// reach the output, so a computed name there is no gap.
    hashed: usize,
}

struct Scope {
    dot: Val,
    root: Val,
    vars: Vec<HashMap<String, Val>>,
    template: Rc<str>,
}

impl Scope {
    fn var(&self, name: &str) -> Val {
        if name.is_empty() {
            return self.root.clone();
        }
        for frame in self.vars.iter().rev() {
            if let Some(value) = frame.get(name) {
                return value.clone();
            }
        }
        Val::Unknown(format!("undefined variable `${name}`"))
    }

    fn declare(&mut self, name: &str, value: Val) {
        if let Some(frame) = self.vars.last_mut() {
            frame.insert(name.to_string(), value);
        }
    }

    /// Replaces what a variable holds (a dict changed by `set`).
    fn replace(&mut self, name: &str, value: Val) {
        if let Some(slot) = self.vars.iter_mut().rev().find_map(|frame| frame.get_mut(name)) {
            *slot = value;
        }
    }

    /// `$x = value`. Branches are all walked, so the variable stands for
    /// what it held and what it may now hold.
    fn assign(&mut self, name: &str, value: Val) {
        for frame in self.vars.iter_mut().rev() {
            if let Some(old) = frame.get_mut(name) {
                *old = match (&*old, value) {
                    (Val::List(a), Val::List(b)) => {
                        let mut items = a.clone();
                        for item in b {
                            if !items.contains(&item) {
                                items.push(item);
                            }
                        }
                        Val::List(items)
                    }
                    (_, new) => Val::union(&[old.clone(), new]),
                };
                return;
            }
        }
    }
}

impl<'a> Walker<'a> {
    pub fn new(defines: &'a HashMap<String, Define>) -> Self {
        Walker { defines, reads: BTreeSet::new(), gaps: Vec::new(), depth: 0, steps: 0, hashed: 0 }
    }

    /// Renders one template file's body with `$` and `.` the chart's context.
    pub fn render_template(&mut self, body: &[Node], template: Rc<str>, values_prefix: &str) -> Vec<Piece> {
        self.steps = 0;
        let root = Val::Root(values_prefix.into());
        let mut scope = Scope { dot: root.clone(), root, vars: vec![HashMap::new()], template };
        let mut out = Vec::new();
        self.nodes(body, &mut scope, &mut out);
        out
    }

    fn origin(&self, scope: &Scope, line: usize) -> Origin {
        Origin { template: scope.template.clone(), line }
    }

    fn gap(&mut self, scope: &Scope, line: usize, reason: String) {
        let gap = Gap { origin: self.origin(scope, line), reason };
        if !self.gaps.contains(&gap) {
            self.gaps.push(gap);
        }
    }

    fn nodes(&mut self, nodes: &[Node], scope: &mut Scope, out: &mut Vec<Piece>) {
        for node in nodes {
            self.steps += 1;
            if self.steps == MAX_STEPS {
                let reason = format!("the render visits more than {MAX_STEPS} nodes; the rest is not followed");
                self.gap(scope, 1, reason);
            }
            if self.steps >= MAX_STEPS {
                return;
            }
            self.node(node, scope, out);
        }
    }

    fn node(&mut self, node: &Node, scope: &mut Scope, out: &mut Vec<Piece>) {
        match node {
            Node::Text { text, line } => {
                out.push(Piece::Text { text: text.clone(), origin: self.origin(scope, *line), counts_lines: true })
            }
            Node::Action { pipe, line, source } => {
                let result = self.pipe(pipe, scope, *line);
                if pipe.vars.is_empty() {
                    self.print(result, scope, *line, source, out);
                }
            }
            Node::If { branches, otherwise, .. } => {
                for (condition, body) in branches {
                    let _ = self.pipe(condition, scope, 0);
                    self.block(body, scope, None, out);
                }
                self.block(otherwise, scope, None, out);
            }
            Node::With { branches, otherwise, line } => {
                for (condition, body) in branches {
                    let value = self.pipe(condition, scope, *line);
                    let value = self.value_of(value);
                    self.block(body, scope, Some(value), out);
                }
                self.block(otherwise, scope, None, out);
            }
            Node::Range { pipe, body, otherwise, line } => {
                let mut collection = pipe.clone();
                collection.vars.clear();
                let collection = self.pipe(&collection, scope, *line);
                let collection = self.value_of(collection);
                for element in collection.elements() {
                    scope.vars.push(HashMap::new());
                    match pipe.vars.as_slice() {
                        [element_var] => scope.declare(element_var, element.clone()),
                        [key_var, element_var] => {
                            scope.declare(key_var, Val::literal());
                            scope.declare(element_var, element.clone());
                        }
                        _ => {}
                    }
                    let saved = std::mem::replace(&mut scope.dot, element);
                    self.nodes(body, scope, out);
                    scope.dot = saved;
                    scope.vars.pop();
                }
                self.block(otherwise, scope, None, out);
            }
            Node::Template { name, arg, line } => {
                let arg = match arg {
                    Some(arg) => {
                        let value = self.pipe(arg, scope, *line);
                        self.value_of(value)
                    }
                    None => Val::literal(),
                };
                let pieces = self.call(name, arg, scope, *line);
                out.extend(pieces);
            }
        }
    }

    fn block(&mut self, body: &[Node], scope: &mut Scope, dot: Option<Val>, out: &mut Vec<Piece>) {
        scope.vars.push(HashMap::new());
        let saved = dot.map(|dot| std::mem::replace(&mut scope.dot, dot));
        self.nodes(body, scope, out);
        if let Some(saved) = saved {
            scope.dot = saved;
        }
        scope.vars.pop();
    }

    fn print(&mut self, result: Out, scope: &Scope, line: usize, source: &str, out: &mut Vec<Piece>) {
        match result {
            Out::Pieces(pieces) => out.extend(pieces.into_iter().map(|piece| match piece {
                Piece::Hole(mut hole) if hole.source.is_empty() => {
                    hole.source = source.to_string();
                    Piece::Hole(hole)
                }
                piece => piece,
            })),
            Out::Val(value) => {
                let mut hole = self.hole(value, scope, line);
                if let Piece::Hole(hole) = &mut hole {
                    hole.source = source.to_string();
                }
                out.push(hole);
            }
        }
    }

    /// Renders `define "name"` with `arg` as `.` and `$`.
    fn call(&mut self, name: &str, arg: Val, scope: &Scope, line: usize) -> Vec<Piece> {
        let Some(define) = self.defines.get(name) else {
            self.gap(scope, line, format!("no `define \"{name}\"` in the chart or its subcharts"));
            return vec![unknown_hole(self.origin(scope, line), format!("`{name}` is not defined"))];
        };
        if self.depth >= MAX_INCLUDE_DEPTH {
            self.gap(scope, line, format!("`{name}` nests more than {MAX_INCLUDE_DEPTH} includes deep"));
            return vec![unknown_hole(self.origin(scope, line), "includes nest too deep".to_string())];
        }
        self.depth += 1;
        let mut inner =
            Scope { dot: arg.clone(), root: arg, vars: vec![HashMap::new()], template: define.template.clone() };
        let body = define.body.clone();
        let mut out = Vec::new();
        self.nodes(&body, &mut inner, &mut out);
        self.depth -= 1;
        out
    }

    /// `dict "k1" v1 "k2" v2 …`; a key that is not a literal makes it unknown.
    fn dict(&mut self, args: &[Arg], scope: &mut Scope, line: usize) -> Val {
        let mut entries = BTreeMap::new();
        for pair in args.chunks(2) {
            let (Arg::Str(key), Some(value)) = (&pair[0], pair.get(1)) else {
                return Val::Unknown("a `dict` key computed in the template".to_string());
            };
            let value = self.arg(value, scope, line);
            entries.insert(key.clone(), value);
        }
        Val::Dict(entries)
    }

    /// A value as printed output, its paths counted as read.
    fn hole(&mut self, value: Val, scope: &Scope, line: usize) -> Piece {
        let mut paths = BTreeSet::new();
        let sources = match value {
            // `{{ . }}` at the top prints the context, not a value.
            Val::Root(_) => Ok(paths),
            value => value.sources(&mut paths).map(|()| paths),
        };
        if let Ok(paths) = &sources {
            self.reads.extend(paths.iter().cloned());
        }
        Piece::Hole(Hole { sources, origin: self.origin(scope, line), source: String::new() })
    }

    fn value_of(&mut self, out: Out) -> Val {
        match out {
            Out::Val(value) => value,
            Out::Pieces(pieces) => {
                let mut paths = BTreeSet::new();
                for piece in &pieces {
                    if let Piece::Hole(hole) = piece {
                        match &hole.sources {
                            Ok(sources) => paths.extend(sources.iter().cloned()),
                            Err(reason) => return Val::Unknown(reason.clone()),
                        }
                    }
                }
                Val::Paths(paths)
            }
        }
    }

    fn pipe(&mut self, pipe: &Pipe, scope: &mut Scope, line: usize) -> Out {
        let hashed = pipe
            .commands
            .iter()
            .skip(1)
            .any(|command| matches!(command.first(), Some(Arg::Ident(name)) if HASHES.contains(&name.as_str())));
        self.hashed += usize::from(hashed);
        let mut previous: Option<Out> = None;
        for command in &pipe.commands {
            previous = Some(self.command(command, previous, scope, line));
        }
        self.hashed -= usize::from(hashed);
        let result = previous.unwrap_or(Out::Val(Val::literal()));
        if pipe.vars.is_empty() {
            return result;
        }
        let value = self.value_of(result);
        for name in &pipe.vars {
            if pipe.assign {
                scope.assign(name, value.clone());
            } else {
                scope.declare(name, value.clone());
            }
        }
        Out::Val(value)
    }

    fn arg(&mut self, arg: &Arg, scope: &mut Scope, line: usize) -> Val {
        match arg {
            Arg::Field(path) => path.iter().fold(scope.dot.clone(), |value, name| value.field(name)),
            Arg::Var(name, path) => path.iter().fold(scope.var(name), |value, name| value.field(name)),
            Arg::Str(_) | Arg::Literal(_) => Val::literal(),
            Arg::Ident(name) => {
                let result = self.function(name, Vec::new(), None);
                self.value_of(result)
            }
            Arg::Paren(pipe, path) => {
                let result = self.pipe(pipe, scope, line);
                let value = self.value_of(result);
                path.iter().fold(value, |value, name| value.field(name))
            }
        }
    }

    fn command(&mut self, command: &[Arg], previous: Option<Out>, scope: &mut Scope, line: usize) -> Out {
        match command.first() {
            Some(Arg::Ident(name)) => {
                if name == "include" {
                    let Some(Arg::Str(template)) = command.get(1) else {
                        let reason = "`include` of a name computed in the template".to_string();
                        if self.hashed == 0 {
                            self.gap(scope, line, reason.clone());
                        }
                        return Out::Val(Val::Unknown(reason));
                    };
                    let arg = match command.get(2) {
                        Some(arg) => self.arg(arg, scope, line),
                        None => match previous {
                            Some(previous) => self.value_of(previous),
                            None => Val::literal(),
                        },
                    };
                    return Out::Pieces(self.call(template, arg, scope, line));
                }
                if name == "dict" {
                    return Out::Val(self.dict(&command[1..], scope, line));
                }
                if name == "set" && command.len() == 4 {
                    // `set $ctx "key" value` changes a dict that later calls read.
                    if let (Arg::Var(var, path), Arg::Str(key)) = (&command[1], &command[2]) {
                        let value = self.arg(&command[3], scope, line);
                        if path.is_empty() {
                            if let Val::Dict(mut entries) = scope.var(var) {
                                entries.insert(key.clone(), value);
                                scope.replace(var, Val::Dict(entries.clone()));
                                return Out::Val(Val::Dict(entries));
                            }
                        }
                    }
                }
                if name == "dig" && command.len() >= 4 && previous.is_none() {
                    // `dig "a" "b" default map`: the keys are literals, the default a fallback.
                    let base = self.arg(&command[command.len() - 1], scope, line);
                    let fallback = self.arg(&command[command.len() - 2], scope, line);
                    let found = command[1..command.len() - 2].iter().fold(base, |value, key| match key {
                        Arg::Str(key) => value.field(key),
                        _ => Val::Unknown("a key computed in the template (`dig`)".to_string()),
                    });
                    return Out::Val(Val::union(&[found, fallback]));
                }
                if (name == "index" || name == "get") && command.len() >= 3 && previous.is_none() {
                    let base = self.arg(&command[1], scope, line);
                    return Out::Val(command[2..].iter().fold(base, |value, key| match key {
                        Arg::Str(key) => value.field(key),
                        Arg::Literal(number) if number.chars().all(|c| c.is_ascii_digit()) => {
                            value.elements().into_iter().next().unwrap_or(Val::literal())
                        }
                        _ => Val::Unknown(format!("a key computed in the template (`{name}`)")),
                    }));
                }
                if name == "indent" || name == "nindent" {
                    let width = match command.get(1) {
                        Some(Arg::Literal(width)) => width.parse::<usize>().ok(),
                        _ => None,
                    };
                    let pieces = match previous {
                        Some(Out::Pieces(pieces)) => pieces,
                        Some(Out::Val(value)) => vec![self.hole(value, scope, line)],
                        None => match command.get(2) {
                            Some(arg) => {
                                let value = self.arg(arg, scope, line);
                                vec![self.hole(value, scope, line)]
                            }
                            None => Vec::new(),
                        },
                    };
                    let origin = self.origin(scope, line);
                    return Out::Pieces(indent(pieces, width.unwrap_or(0), name == "nindent", origin));
                }
                let args: Vec<Val> = command[1..].iter().map(|arg| self.arg(arg, scope, line)).collect();
                self.function(name, args, previous)
            }
            Some(first) => {
                let value = self.arg(first, scope, line);
                if command.len() > 1 {
                    // Calling a method of a value: not a chart's way.
                    return Out::Val(Val::Unknown("a value called with arguments".to_string()));
                }
                Out::Val(value)
            }
            None => Out::Val(Val::literal()),
        }
    }

    /// The value of a function applied to `args` (and the pipeline's
    /// previous result as the last argument).
    fn function(&mut self, name: &str, mut args: Vec<Val>, previous: Option<Out>) -> Out {
        // Text through `indent`, `nindent` and trimming keeps its lines.
        if let Some(Out::Pieces(pieces)) = previous {
            match name {
                "trim" | "trimSuffix" | "trimPrefix" | "trimAll" => return Out::Pieces(trim(pieces)),
                _ => {
                    let value = self.value_of(Out::Pieces(pieces));
                    args.push(value);
                }
            }
        } else if let Some(Out::Val(value)) = previous {
            args.push(value);
        }
        let value = match name {
            "list" | "tuple" => Val::List(args),
            "concat" | "mustConcat" => {
                let mut items = Vec::new();
                for arg in &args {
                    for element in arg.elements() {
                        if !items.contains(&element) {
                            items.push(element);
                        }
                    }
                }
                Val::List(items)
            }
            "append" | "mustAppend" | "prepend" | "mustPrepend" if args.len() == 2 => {
                let mut items = args[0].elements();
                items.push(args[1].clone());
                Val::List(items)
            }
            "uniq" | "mustUniq" | "compact" | "mustCompact" | "reverse" | "sortAlpha" if args.len() == 1 => {
                args.remove(0)
            }
            "tpl" => {
                let template = args.first().cloned().unwrap_or_else(Val::literal);
                match template {
                    // Which keys the string reads is known only once it is
                    // rendered; it matters only where it is printed.
                    Val::Paths(paths) if paths.is_empty() => {
                        Val::Unknown("`tpl` of a string built in the template".to_string())
                    }
                    template => Val::union(&[template]),
                }
            }
            "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "not" | "empty" | "kindIs" | "typeIs" | "typeOf" | "kindOf"
            | "len" | "contains" | "hasPrefix" | "hasSuffix" | "semverCompare" | "regexMatch" | "lookup" | "fail"
            | "now" | "randAlphaNum" | "uuidv4" => Val::literal(),
            _ if HASHES.contains(&name) => Val::literal(),
            _ => {
                let value = Val::union(&args);
                if let Val::Paths(paths) = &value {
                    self.reads.extend(paths.iter().cloned());
                }
                value
            }
        };
        Out::Val(value)
    }
}

/// `indent`/`nindent` of rendered output: every line shifted by `width`.
fn indent(pieces: Vec<Piece>, width: usize, newline_first: bool, origin: Origin) -> Vec<Piece> {
    let spaces = " ".repeat(width);
    let mut out = Vec::with_capacity(pieces.len() + 1);
    let lead = if newline_first { format!("\n{spaces}") } else { spaces.clone() };
    out.push(Piece::Text { text: lead, origin, counts_lines: false });
    for piece in pieces {
        match piece {
            Piece::Text { text, origin, counts_lines } => {
                out.push(Piece::Text { text: text.replace('\n', &format!("\n{spaces}")), origin, counts_lines })
            }
            hole => out.push(hole),
        }
    }
    out
}

/// `trim` of rendered output: white space off both ends.
fn trim(mut pieces: Vec<Piece>) -> Vec<Piece> {
    while let Some(Piece::Text { text, .. }) = pieces.first_mut() {
        let trimmed = text.trim_start().to_string();
        if trimmed.is_empty() {
            pieces.remove(0);
        } else {
            *text = trimmed;
            break;
        }
    }
    while let Some(Piece::Text { text, .. }) = pieces.last_mut() {
        let trimmed = text.trim_end().to_string();
        if trimmed.is_empty() {
            pieces.pop();
        } else {
            *text = trimmed;
            break;
        }
    }
    pieces
}

pub fn unknown_hole(origin: Origin, reason: String) -> Piece {
    Piece::Hole(Hole { sources: Err(reason), origin, source: String::new() })
}
