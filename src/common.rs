//! The bottom layer: the data every stage shares. A diagnostic tied to a
//! file, what a write does to a file, which pull field a change sets and
//! its values, a document seen but not covered. No logic beyond display,
//! no IO, and no import from any other module of the crate.

/// A problem tied to a file, printed as `path:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// What kind of finding this is, for SARIF (`file-error`, `latest-if-not-present`, …).
    pub rule: &'static str,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "{}:{line}:{column}: {}", self.path, self.message)
            }
            (Some(line), None) => write!(f, "{}:{line}: {}", self.path, self.message),
            _ => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// What a change does to a file as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileAction {
    Modify,
    /// A generated overlay patch that did not exist.
    Create,
    /// A generated overlay patch no longer needed.
    Delete,
}

/// Which field a change sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    ImagePullPolicy,
    ImagePullSecrets,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::ImagePullPolicy => "imagePullPolicy",
            Field::ImagePullSecrets => "imagePullSecrets",
        }
    }
}

/// A field's value before or after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Policy(String),
    Secrets(Vec<String>),
}

impl FieldValue {
    /// A value for messages, `<unset>` when there is none.
    pub fn show(value: Option<&FieldValue>) -> String {
        value.map_or_else(|| "<unset>".to_string(), ToString::to_string)
    }
}

impl std::fmt::Display for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldValue::Policy(policy) => f.write_str(policy),
            FieldValue::Secrets(names) => write!(f, "[{}]", names.join(", ")),
        }
    }
}

/// A document pullsmith saw but did not bring under the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncovered {
    pub offset: usize,
    /// 1-based, set by `plan::FilePlan::locate`.
    pub line: usize,
    pub kind: String,
    pub name: Option<String>,
    /// Why it is not covered, for people ("unknown workload kind: …").
    pub reason: String,
}
