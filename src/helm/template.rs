//! Go's `text/template` syntax, as far as Helm charts use it: a lexer for
//! the text between actions and the tokens inside `{{ … }}` (trim markers,
//! comments, strings, raw strings, parentheses, pipelines), and a parser
//! into a tree of text, actions and the control structures (`if`/`else
//! if`/`else`, `with`, `range`, `define`, `template`, `block`). No values
//! are known here: `walk` gives the tree its meaning.

use std::fmt;

/// A template that cannot be read, at a 1-based line of its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// One operand of a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// `.a.b` (an empty list is `.` itself).
    Field(Vec<String>),
    /// `$name.a.b`; `$` alone is the name "".
    Var(String, Vec<String>),
    /// A string literal, its value unquoted.
    Str(String),
    /// A number, `true`, `false`, `nil` or a character literal.
    Literal(String),
    /// A function name (or `and`, `or`, … ).
    Ident(String),
    /// `( pipeline )` followed by `.a.b` when written right after it.
    Paren(Box<Pipe>, Vec<String>),
}

/// A pipeline: `$x := cmd1 arg | cmd2 | …`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipe {
    /// Variables declared (`:=`) or assigned (`=`).
    pub vars: Vec<String>,
    pub assign: bool,
    pub commands: Vec<Vec<Arg>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Text as it is output (trim markers already applied); `line` is the
    /// line of its first byte.
    Text {
        text: String,
        line: usize,
    },
    /// `{{ pipeline }}`; `source` is the action's text, for reports.
    Action {
        pipe: Pipe,
        line: usize,
        source: String,
    },
    /// `if` / `else if` chains; each branch with its condition.
    If {
        branches: Vec<(Pipe, Vec<Node>)>,
        otherwise: Vec<Node>,
        line: usize,
    },
    With {
        branches: Vec<(Pipe, Vec<Node>)>,
        otherwise: Vec<Node>,
        line: usize,
    },
    Range {
        pipe: Pipe,
        body: Vec<Node>,
        otherwise: Vec<Node>,
        line: usize,
    },
    /// `template "name" pipeline`, and the call half of `block`.
    Template {
        name: String,
        arg: Option<Pipe>,
        line: usize,
    },
}

/// A parsed template file: its body and the `define`s (and `block`s) it holds.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub body: Vec<Node>,
    pub defines: Vec<(String, Vec<Node>)>,
}

/// Parses one template file.
pub fn parse(text: &str) -> Result<Parsed, SyntaxError> {
    let items = lex(text)?;
    let mut parser = Parser { items, at: 0, defines: Vec::new() };
    let (body, end) = parser.nodes()?;
    if let Some(end) = end {
        return Err(SyntaxError { line: end.line, message: format!("unexpected `{}`", end.keyword) });
    }
    Ok(Parsed { body, defines: parser.defines })
}

// ---------------------------------------------------------------- lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(String, bool),
    Var(String),
    Str(String),
    Literal(String),
    Ident(String),
    LParen,
    RParen,
    Pipe,
    Declare,
    Assign,
    Comma,
}

#[derive(Debug)]
enum Item {
    Text { text: String, line: usize },
    Action { tokens: Vec<Tok>, line: usize, source: String },
}

struct LineCounter<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl LineCounter<'_> {
    fn line_at(&mut self, pos: usize) -> usize {
        if pos < self.pos {
            self.pos = 0;
            self.line = 1;
        }
        self.line += self.text.as_bytes()[self.pos..pos].iter().filter(|b| **b == b'\n').count();
        self.pos = pos;
        self.line
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn lex(text: &str) -> Result<Vec<Item>, SyntaxError> {
    let bytes = text.as_bytes();
    let mut lines = LineCounter { text, pos: 0, line: 1 };
    let mut items = Vec::new();
    let mut pos = 0;
    let mut trim_next_text = false;
    loop {
        let open = text[pos..].find("{{").map(|at| pos + at);
        let text_end = open.unwrap_or(text.len());
        let mut text_start = pos;
        if trim_next_text {
            while text_start < text_end && is_space(bytes[text_start]) {
                text_start += 1;
            }
        }
        let mut kept_end = text_end;
        let left_trim =
            open.is_some_and(|o| bytes.get(o + 2) == Some(&b'-') && bytes.get(o + 3).is_some_and(|b| is_space(*b)));
        if left_trim {
            while kept_end > text_start && is_space(bytes[kept_end - 1]) {
                kept_end -= 1;
            }
        }
        if kept_end > text_start {
            let line = lines.line_at(text_start);
            items.push(Item::Text { text: text[text_start..kept_end].to_string(), line });
        }
        let Some(open) = open else { break };
        let line = lines.line_at(open);
        let mut inner = open + 2;
        if left_trim {
            inner += 2;
        }
        let (tokens, close, right_trim) = lex_action(text, inner, line)?;
        let source = text[open..close].to_string();
        if !tokens.is_empty() {
            items.push(Item::Action { tokens, line, source });
        }
        pos = close;
        trim_next_text = right_trim;
    }
    Ok(items)
}

/// The tokens of one action starting at `pos` (after `{{` and any `- `),
/// the offset just past its `}}`, and whether it ends with ` -}}`.
fn lex_action(text: &str, mut pos: usize, line: usize) -> Result<(Vec<Tok>, usize, bool), SyntaxError> {
    let bytes = text.as_bytes();
    let error = |message: &str| SyntaxError { line, message: message.to_string() };
    let mut tokens = Vec::new();
    let mut after_space = true;
    while pos < bytes.len() && is_space(bytes[pos]) {
        pos += 1;
    }
    if text[pos..].starts_with("/*") {
        let end = text[pos..].find("*/").ok_or_else(|| error("unclosed comment"))? + pos + 2;
        let mut rest = end;
        while rest < bytes.len() && is_space(bytes[rest]) {
            rest += 1;
        }
        if text[rest..].starts_with("-}}") && rest > end {
            return Ok((tokens, rest + 3, true));
        }
        if text[rest..].starts_with("}}") {
            return Ok((tokens, rest + 2, false));
        }
        return Err(error("a comment must end the action"));
    }
    loop {
        let Some(&b) = bytes.get(pos) else { return Err(error("unclosed action")) };
        if is_space(b) {
            pos += 1;
            after_space = true;
            continue;
        }
        if after_space && text[pos..].starts_with("-}}") {
            return Ok((tokens, pos + 3, true));
        }
        if text[pos..].starts_with("}}") {
            return Ok((tokens, pos + 2, false));
        }
        let start = pos;
        match b {
            b'(' => {
                tokens.push(Tok::LParen);
                pos += 1;
            }
            b')' => {
                tokens.push(Tok::RParen);
                pos += 1;
            }
            b'|' => {
                tokens.push(Tok::Pipe);
                pos += 1;
            }
            b',' => {
                tokens.push(Tok::Comma);
                pos += 1;
            }
            b'=' => {
                tokens.push(Tok::Assign);
                pos += 1;
            }
            b':' if bytes.get(pos + 1) == Some(&b'=') => {
                tokens.push(Tok::Declare);
                pos += 2;
            }
            b'"' => {
                let mut value = String::new();
                pos += 1;
                loop {
                    let Some(c) = text[pos..].chars().next() else { return Err(error("unclosed string")) };
                    pos += c.len_utf8();
                    match c {
                        '"' => break,
                        '\n' => return Err(error("newline in string")),
                        '\\' => {
                            let Some(escaped) = text[pos..].chars().next() else {
                                return Err(error("unclosed string"));
                            };
                            pos += escaped.len_utf8();
                            value.push(match escaped {
                                'n' => '\n',
                                't' => '\t',
                                other => other,
                            });
                        }
                        other => value.push(other),
                    }
                }
                tokens.push(Tok::Str(value));
            }
            b'`' => {
                let end = text[pos + 1..].find('`').ok_or_else(|| error("unclosed raw string"))? + pos + 1;
                tokens.push(Tok::Str(text[pos + 1..end].to_string()));
                pos = end + 1;
            }
            b'\'' => {
                let end = text[pos + 1..].find('\'').ok_or_else(|| error("unclosed character"))? + pos + 1;
                tokens.push(Tok::Literal(text[pos..=end].to_string()));
                pos = end + 1;
            }
            b'.' | b'$' => {
                pos += 1;
                while pos < bytes.len() && (bytes[pos].is_ascii_alphanumeric() || matches!(bytes[pos], b'_' | b'.')) {
                    pos += 1;
                }
                let word = &text[start..pos];
                if b == b'$' {
                    tokens.push(Tok::Var(word.to_string()));
                } else {
                    tokens.push(Tok::Field(word.to_string(), !after_space));
                }
            }
            _ if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'+' => {
                pos += 1;
                while pos < bytes.len() && (bytes[pos].is_ascii_alphanumeric() || matches!(bytes[pos], b'_' | b'.')) {
                    pos += 1;
                }
                let word = &text[start..pos];
                let numeric = word.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+');
                if numeric || matches!(word, "true" | "false" | "nil") {
                    tokens.push(Tok::Literal(word.to_string()));
                } else {
                    tokens.push(Tok::Ident(word.to_string()));
                }
            }
            _ => return Err(error(&format!("unexpected character `{}` in an action", b as char))),
        }
        after_space = false;
    }
}

// ---------------------------------------------------------------- parser

struct Parser {
    items: Vec<Item>,
    at: usize,
    defines: Vec<(String, Vec<Node>)>,
}

/// The keyword that ended a list of nodes (`else …` or `end`).
struct End {
    keyword: &'static str,
    /// For `else`: what follows it (`if …`, `with …`, or nothing).
    rest: Vec<Tok>,
    line: usize,
}

fn fields(path: &str) -> Vec<String> {
    path.split('.').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

impl Parser {
    /// Nodes up to an `else` or `end` (returned) or the end of the file.
    fn nodes(&mut self) -> Result<(Vec<Node>, Option<End>), SyntaxError> {
        let mut nodes = Vec::new();
        while self.at < self.items.len() {
            let at = self.at;
            self.at += 1;
            let (tokens, line, source) = match &self.items[at] {
                Item::Text { text, line } => {
                    nodes.push(Node::Text { text: text.clone(), line: *line });
                    continue;
                }
                Item::Action { tokens, line, source } => (tokens.clone(), *line, source.clone()),
            };
            let keyword = match tokens.first() {
                Some(Tok::Ident(word)) => word.as_str(),
                _ => "",
            };
            match keyword {
                "end" => return Ok((nodes, Some(End { keyword: "end", rest: Vec::new(), line }))),
                "else" => return Ok((nodes, Some(End { keyword: "else", rest: tokens[1..].to_vec(), line }))),
                "if" | "with" => {
                    let is_if = keyword == "if";
                    let mut branches = Vec::new();
                    let mut condition = pipe(&tokens[1..], line)?;
                    let otherwise;
                    loop {
                        let (body, end) = self.nodes()?;
                        branches.push((condition, body));
                        let end =
                            end.ok_or_else(|| SyntaxError { line, message: format!("`{keyword}` without `end`") })?;
                        if end.keyword == "end" {
                            otherwise = Vec::new();
                            break;
                        }
                        match end.rest.first() {
                            Some(Tok::Ident(word)) if word == keyword => condition = pipe(&end.rest[1..], end.line)?,
                            None => {
                                let (body, end) = self.nodes()?;
                                match end {
                                    Some(End { keyword: "end", .. }) => {}
                                    _ => {
                                        return Err(SyntaxError { line, message: format!("`{keyword}` without `end`") })
                                    }
                                }
                                otherwise = body;
                                break;
                            }
                            Some(_) => {
                                return Err(SyntaxError {
                                    line: end.line,
                                    message: "unsupported `else` form".to_string(),
                                })
                            }
                        }
                    }
                    nodes.push(if is_if {
                        Node::If { branches, otherwise, line }
                    } else {
                        Node::With { branches, otherwise, line }
                    });
                }
                "range" => {
                    let pipe = pipe(&tokens[1..], line)?;
                    let (body, end) = self.nodes()?;
                    let end = end.ok_or_else(|| SyntaxError { line, message: "`range` without `end`".to_string() })?;
                    let otherwise = if end.keyword == "else" {
                        let (body, end) = self.nodes()?;
                        if !matches!(end, Some(End { keyword: "end", .. })) {
                            return Err(SyntaxError { line, message: "`range` without `end`".to_string() });
                        }
                        body
                    } else {
                        Vec::new()
                    };
                    nodes.push(Node::Range { pipe, body, otherwise, line });
                }
                "define" | "block" => {
                    let Some(Tok::Str(name)) = tokens.get(1) else {
                        return Err(SyntaxError { line, message: format!("`{keyword}` needs a quoted name") });
                    };
                    let name = name.clone();
                    let arg = if tokens.len() > 2 { Some(pipe(&tokens[2..], line)?) } else { None };
                    let (body, end) = self.nodes()?;
                    if !matches!(end, Some(End { keyword: "end", .. })) {
                        return Err(SyntaxError { line, message: format!("`{keyword} \"{name}\"` without `end`") });
                    }
                    self.defines.push((name.clone(), body));
                    if keyword == "block" {
                        nodes.push(Node::Template { name, arg, line });
                    }
                }
                "template" => {
                    let Some(Tok::Str(name)) = tokens.get(1) else {
                        return Err(SyntaxError { line, message: "`template` needs a quoted name".to_string() });
                    };
                    let arg = if tokens.len() > 2 { Some(pipe(&tokens[2..], line)?) } else { None };
                    nodes.push(Node::Template { name: name.clone(), arg, line });
                }
                "break" | "continue" => {}
                _ => nodes.push(Node::Action { pipe: pipe(&tokens, line)?, line, source }),
            }
        }
        Ok((nodes, None))
    }
}

/// A pipeline from an action's tokens.
fn pipe(tokens: &[Tok], line: usize) -> Result<Pipe, SyntaxError> {
    let mut at = 0;
    let result = pipe_at(tokens, &mut at, line)?;
    if at != tokens.len() {
        return Err(SyntaxError { line, message: "unexpected `)`".to_string() });
    }
    Ok(result)
}

fn pipe_at(tokens: &[Tok], at: &mut usize, line: usize) -> Result<Pipe, SyntaxError> {
    let error = |message: &str| SyntaxError { line, message: message.to_string() };
    let mut vars = Vec::new();
    let mut assign = false;
    // `$a := …`, `$a = …`, `$i, $e := …`
    let mut probe = *at;
    let mut names = Vec::new();
    while let Some(Tok::Var(name)) = tokens.get(probe) {
        names.push(name.trim_start_matches('$').to_string());
        probe += 1;
        if tokens.get(probe) == Some(&Tok::Comma) {
            probe += 1;
        } else {
            break;
        }
    }
    if !names.is_empty() && matches!(tokens.get(probe), Some(Tok::Declare | Tok::Assign)) {
        assign = tokens[probe] == Tok::Assign;
        vars = names;
        *at = probe + 1;
    }
    let mut commands = Vec::new();
    let mut command = Vec::new();
    while let Some(token) = tokens.get(*at) {
        *at += 1;
        let arg = match token {
            Tok::RParen => {
                *at -= 1;
                break;
            }
            Tok::Pipe => {
                if command.is_empty() {
                    return Err(error("empty command in a pipeline"));
                }
                commands.push(std::mem::take(&mut command));
                continue;
            }
            Tok::LParen => {
                let inner = pipe_at(tokens, at, line)?;
                if tokens.get(*at) != Some(&Tok::RParen) {
                    return Err(error("unclosed `(`"));
                }
                *at += 1;
                let mut chain = Vec::new();
                while let Some(Tok::Field(path, true)) = tokens.get(*at) {
                    chain.extend(fields(path));
                    *at += 1;
                }
                Arg::Paren(Box::new(inner), chain)
            }
            Tok::Field(path, _) => Arg::Field(fields(path)),
            Tok::Var(word) => {
                let (name, rest) = match word[1..].find('.') {
                    Some(dot) => (&word[..dot + 1], &word[dot + 1..]),
                    None => (word.as_str(), ""),
                };
                Arg::Var(name.trim_start_matches('$').to_string(), fields(rest))
            }
            Tok::Str(value) => Arg::Str(value.clone()),
            Tok::Literal(value) => Arg::Literal(value.clone()),
            Tok::Ident(name) => Arg::Ident(name.clone()),
            Tok::Comma | Tok::Declare | Tok::Assign => return Err(error("unexpected `,`, `:=` or `=`")),
        };
        command.push(arg);
    }
    if !command.is_empty() {
        commands.push(command);
    }
    if commands.is_empty() {
        return Err(error("empty pipeline"));
    }
    Ok(Pipe { vars, assign, commands })
}
