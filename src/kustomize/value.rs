//! Owned YAML values for the kustomize simulation: the documents of the
//! manifests and patches an overlay pulls in, kept after their files are
//! closed, each mapping with the line it starts on so that a container can
//! be traced back to where it is written.
//!
//! Only the positional tree of `yaml` is read; nothing here does IO.

use crate::yaml::{LineIndex, Node, NodeKind, ScalarStyle};

/// A YAML value, as the simulation needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null`, or nothing after a key.
    Null,
    Scalar(String),
    Seq(Vec<Value>),
    /// Entries in order, and the 1-based line where the mapping starts.
    Map(Vec<(String, Value)>, usize),
    /// An alias, or a mapping with a key that is not a scalar: the
    /// simulation does not follow it and says so.
    Opaque,
}

impl Value {
    /// The value of `node`, lines counted in `text` (of which `lines` is the index).
    pub fn from_node(node: &Node, lines: &LineIndex) -> Value {
        match &node.kind {
            NodeKind::Scalar { value, style } => {
                let null =
                    *style == ScalarStyle::Plain && matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL");
                if null {
                    Value::Null
                } else {
                    Value::Scalar(value.clone())
                }
            }
            NodeKind::Sequence { items, .. } => Value::Seq(items.iter().map(|i| Value::from_node(i, lines)).collect()),
            NodeKind::Mapping { entries, .. } => {
                let mut out = Vec::with_capacity(entries.len());
                for (key, value) in entries {
                    let Some(key) = key.as_str() else { return Value::Opaque };
                    out.push((key.to_string(), Value::from_node(value, lines)));
                }
                Value::Map(out, lines.line_of(node.span.start))
            }
            NodeKind::Alias => Value::Opaque,
        }
    }

    /// Every document of `text`, or the parser's message.
    pub fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
        let (documents, lines) = crate::yaml::parse_with_lines(text).map_err(|err| err.message)?;
        Ok(documents.iter().map(|d| Value::from_node(&d.root, &lines)).collect())
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries().iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn str(&self) -> Option<&str> {
        match self {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn items(&self) -> &[Value] {
        match self {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn entries(&self) -> &[(String, Value)] {
        match self {
            Value::Map(entries, _) => entries,
            _ => &[],
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self, Value::Map(..))
    }

    /// The line a mapping starts on (0 for anything else).
    pub fn line(&self) -> usize {
        match self {
            Value::Map(_, line) => *line,
            _ => 0,
        }
    }

    /// The value at `path` (mapping keys) below this one.
    pub fn at<S: AsRef<str>>(&self, path: &[S]) -> Option<&Value> {
        let mut value = self;
        for key in path {
            value = value.get(key.as_ref())?;
        }
        Some(value)
    }

    /// Scalar entries of a mapping, as (key, value) pairs.
    pub fn string_pairs(&self) -> Vec<(String, String)> {
        self.entries().iter().filter_map(|(k, v)| Some((k.clone(), v.str()?.to_string()))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_lines_and_nulls() {
        let docs = Value::parse_documents("a:\n  b: ~\n  c: [x, 'y']\n---\n- k: v\n").expect("parses");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].get("a").map(Value::line), Some(2));
        assert_eq!(docs[0].at(&["a", "b"]), Some(&Value::Null));
        assert_eq!(docs[0].at(&["a", "c"]).map(|c| c.items().len()), Some(2));
        assert_eq!(docs[1].items()[0].get("k").and_then(Value::str), Some("v"));
    }
}
