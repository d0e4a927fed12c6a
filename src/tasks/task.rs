//! One task file: the original bytes (so writing back an unchanged task gives the same bytes) and
//! a typed view parsed from them. Edits such as `set_status` are minimal text edits of one line,
//! checked by parsing the result again.

use std::collections::BTreeMap;

use serde_json::Value;
use thiserror::Error;

use super::diagnostic::Diagnostic;
use super::frontmatter::{self, Split, SplitError};
use super::id::TaskId;
use super::priority::Priority;
use super::yaml_text::{self, ScalarStyle};

/// Largest task file we read; anything longer is reported and skipped.
pub const MAX_TASK_FILE_BYTES: usize = 1024 * 1024;

/// The keys this engine understands; every other key is kept in [`TaskMeta::extra`].
pub const KNOWN_KEYS: [&str; 12] = [
    "id",
    "title",
    "type",
    "priority",
    "depends_on",
    "status",
    "owner",
    "estimate",
    "acceptance",
    "auto_policy",
    "files",
    "out_of_scope",
];

/// The typed front matter of a task. Missing lists are empty; a missing `status` or `title` is an
/// empty string and a missing `priority` is `Priority::Other("")` (validation reports them).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TaskMeta {
    pub id: TaskId,
    pub title: String,
    /// `feature`, `bugfix`, `doc` or `chore`.
    #[serde(rename = "type")]
    pub task_type: Option<String>,
    pub priority: Priority,
    /// Ids of the tasks this one waits for, as written (validation reports ones that are not ids).
    pub depends_on: Vec<String>,
    pub status: String,
    pub owner: Option<String>,
    pub estimate: Option<String>,
    pub acceptance: Vec<String>,
    pub auto_policy: Option<String>,
    /// Paths the task is about.
    pub files: Vec<String>,
    /// What the task explicitly does not cover.
    pub out_of_scope: Vec<String>,
    /// Every key this engine does not know, kept as parsed.
    pub extra: BTreeMap<String, Value>,
}

impl TaskMeta {
    /// A new task with the template's defaults (`P2`, `queued`, `unassigned`, `review_required`).
    pub fn new(id: TaskId, title: impl Into<String>) -> TaskMeta {
        TaskMeta {
            id,
            title: title.into(),
            task_type: Some("feature".into()),
            priority: Priority::P2,
            depends_on: Vec::new(),
            status: super::QUEUED.into(),
            owner: Some("unassigned".into()),
            estimate: Some("2h".into()),
            acceptance: Vec::new(),
            auto_policy: Some("review_required".into()),
            files: Vec::new(),
            out_of_scope: Vec::new(),
            extra: BTreeMap::new(),
        }
    }
}

/// Why a task file could not be read at all (it is reported and skipped; others still load).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TaskParseError {
    #[error(
        "file is {bytes} bytes, more than the {limit} allowed for a task; split the task or move material elsewhere"
    )]
    TooLarge { bytes: usize, limit: usize },
    #[error("file is not valid UTF-8 (first bad byte on line {line}); save it as UTF-8")]
    NotUtf8 { line: usize },
    #[error(transparent)]
    Split(#[from] SplitError),
    #[error("malformed YAML front matter: {message}")]
    Yaml {
        line: Option<usize>,
        message: String,
    },
    #[error("front matter must be a mapping of `key: value` lines, found {found}")]
    NotAMapping { found: &'static str },
    #[error("front matter has no `id`; add `id: T-NNNN` matching the file name")]
    MissingId,
    #[error("`id: {value}` is not a task id; use the form T-0001 (T-, at least four digits)")]
    InvalidId { value: String, line: Option<usize> },
}

impl TaskParseError {
    /// The 1-based line of the file the problem is on, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            TaskParseError::NotUtf8 { line } => Some(*line),
            TaskParseError::Split(SplitError::NoOpening) => Some(1),
            TaskParseError::Split(SplitError::Unclosed { opened_line }) => Some(*opened_line),
            TaskParseError::Yaml { line, .. } | TaskParseError::InvalidId { line, .. } => *line,
            TaskParseError::TooLarge { .. }
            | TaskParseError::NotAMapping { .. }
            | TaskParseError::MissingId => None,
        }
    }

    /// This error as a diagnostic for `path`, saying the file was skipped.
    pub fn to_diagnostic(&self, path: &str) -> Diagnostic {
        Diagnostic::error(path, self.line(), format!("{self} (file skipped)"))
    }
}

/// Why an edit was refused (the task is left unchanged).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EditError {
    #[error(
        "cannot edit `{key}` on line {line} in place: {reason}; write it as `{key}: value` on one line"
    )]
    Unsupported {
        key: &'static str,
        line: usize,
        reason: &'static str,
    },
    #[error("the edited file would not read back correctly ({0}); nothing was changed")]
    Reparse(String),
}

/// A task file: its label, its exact text and the typed view of its front matter.
#[derive(Clone, Debug)]
pub struct Task {
    path: String,
    text: String,
    split: Split,
    meta: TaskMeta,
    field_diagnostics: Vec<Diagnostic>,
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Collects typed fields, reporting (not failing on) fields of the wrong shape.
struct FieldReader<'a> {
    path: &'a str,
    yaml: &'a str,
    first_line: usize,
    diagnostics: Vec<Diagnostic>,
}

impl FieldReader<'_> {
    fn line_of(&self, key: &str) -> Option<usize> {
        yaml_text::find_top_level_key(self.yaml, key).map(|(s, _)| s.number + self.first_line - 1)
    }

    fn wrong(&mut self, key: &str, expected: &str, v: &Value) {
        let line = self.line_of(key);
        self.diagnostics.push(Diagnostic::error(
            self.path,
            line,
            format!(
                "`{key}` must be {expected}, found {}; the value is ignored",
                kind_of(v)
            ),
        ));
    }

    fn string(&mut self, map: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
        let v = map.get(key)?;
        if v.is_null() {
            return None;
        }
        let s = scalar_text(v);
        if s.is_none() {
            self.wrong(key, "a single value", v);
        }
        s
    }

    fn list(&mut self, map: &serde_json::Map<String, Value>, key: &str) -> Vec<String> {
        match map.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    match scalar_text(item) {
                        Some(s) => out.push(s),
                        None => {
                            let item = item.clone();
                            self.wrong(key, "a list of single values", &item);
                        }
                    }
                }
                out
            }
            Some(v) => {
                let v = v.clone();
                self.wrong(key, "a list (`[]` or `- item` lines)", &v);
                Vec::new()
            }
        }
    }
}

impl Task {
    /// Reads a task file. `path` is the label used in diagnostics. Fields of the wrong shape do
    /// not fail the parse; they are in [`Task::field_diagnostics`].
    pub fn parse(path: impl Into<String>, bytes: &[u8]) -> Result<Task, TaskParseError> {
        let path = path.into();
        if bytes.len() > MAX_TASK_FILE_BYTES {
            return Err(TaskParseError::TooLarge {
                bytes: bytes.len(),
                limit: MAX_TASK_FILE_BYTES,
            });
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t.to_string(),
            Err(e) => {
                let line = 1 + bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count();
                return Err(TaskParseError::NotUtf8 { line });
            }
        };
        Task::parse_text(path, text)
    }

    fn parse_text(path: String, text: String) -> Result<Task, TaskParseError> {
        let split = frontmatter::split(&text)?;
        let yaml = &text[split.yaml_start..split.yaml_end];
        let first_line = split.yaml_first_line;
        let value = yaml_text::parse_value(yaml).map_err(|e| TaskParseError::Yaml {
            line: e.line.map(|l| l + first_line - 1),
            message: e.message,
        })?;
        let map = match value {
            Value::Object(map) => map,
            other => {
                return Err(TaskParseError::NotAMapping {
                    found: kind_of(&other),
                });
            }
        };
        let mut r = FieldReader {
            path: &path,
            yaml,
            first_line,
            diagnostics: Vec::new(),
        };
        let id = match map.get("id") {
            None | Some(Value::Null) => return Err(TaskParseError::MissingId),
            Some(v) => {
                let value = scalar_text(v).unwrap_or_else(|| v.to_string());
                TaskId::parse(&value).ok_or_else(|| TaskParseError::InvalidId {
                    value,
                    line: r.line_of("id"),
                })?
            }
        };
        let meta = TaskMeta {
            id,
            title: r.string(&map, "title").unwrap_or_default(),
            task_type: r.string(&map, "type"),
            priority: Priority::parse(&r.string(&map, "priority").unwrap_or_default()),
            depends_on: r.list(&map, "depends_on"),
            status: r.string(&map, "status").unwrap_or_default(),
            owner: r.string(&map, "owner"),
            estimate: r.string(&map, "estimate"),
            acceptance: r.list(&map, "acceptance"),
            auto_policy: r.string(&map, "auto_policy"),
            files: r.list(&map, "files"),
            out_of_scope: r.list(&map, "out_of_scope"),
            extra: map
                .iter()
                .filter(|(k, _)| !KNOWN_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let field_diagnostics = r.diagnostics;
        Ok(Task {
            path,
            text,
            split,
            meta,
            field_diagnostics,
        })
    }

    /// The label given when loading (e.g. `tasks/T-0001-ci-setup.md`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The file name part of [`Task::path`].
    pub fn file_name(&self) -> &str {
        self.path.rsplit(['/', '\\']).next().unwrap_or(&self.path)
    }

    /// The typed front matter.
    pub fn meta(&self) -> &TaskMeta {
        &self.meta
    }

    pub fn id(&self) -> TaskId {
        self.meta.id
    }

    pub fn status(&self) -> &str {
        &self.meta.status
    }

    /// The exact file bytes: unchanged tasks serialise to exactly what was read.
    pub fn to_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// The exact file text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The YAML between the `---` lines.
    pub fn front_matter(&self) -> &str {
        &self.text[self.split.yaml_start..self.split.yaml_end]
    }

    /// The Markdown after the closing `---` line.
    pub fn body(&self) -> &str {
        &self.text[self.split.body_start..]
    }

    /// Problems with individual fields found while reading (the task still loaded).
    pub fn field_diagnostics(&self) -> &[Diagnostic] {
        &self.field_diagnostics
    }

    /// The 1-based file line of a top-level front matter key, when present.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        yaml_text::find_top_level_key(self.front_matter(), key)
            .map(|(s, _)| s.number + self.split.yaml_first_line - 1)
    }

    /// Sets `status` by rewriting only the value on the `status:` line, keeping its quoting
    /// style, comment, trailing spaces and line ending; adds a `status:` line before the closing
    /// `---` if there is none. The caller checks `status` against the configured states.
    pub fn set_status(&mut self, status: &str) -> Result<(), EditError> {
        self.set_field(Field::Status, status)
    }

    /// Sets a one-line scalar field the same way as [`Task::set_status`]. The edit is accepted
    /// only if the file then reads back with exactly this change and nothing else.
    pub fn set_field(&mut self, field: Field, value: &str) -> Result<(), EditError> {
        let key = field.key();
        let yaml_start = self.split.yaml_start;
        let new_text = match yaml_text::find_top_level_key(self.front_matter(), key) {
            Some((span, colon)) => {
                let line = &self.text[yaml_start + span.start..yaml_start + span.end];
                let file_line = span.number + self.split.yaml_first_line - 1;
                let (vs, ve, style) =
                    yaml_text::scalar_value_span(line, colon).ok_or(EditError::Unsupported {
                        key,
                        line: file_line,
                        reason: "the value is empty, multi-line, anchored, tagged or a collection",
                    })?;
                let replacement = match style {
                    ScalarStyle::Plain => yaml_text::quote(value),
                    ScalarStyle::DoubleQuoted => yaml_text::double_quoted(value),
                    ScalarStyle::SingleQuoted => yaml_text::single_quoted(value)
                        .unwrap_or_else(|| yaml_text::double_quoted(value)),
                };
                let abs = yaml_start + span.start;
                format!(
                    "{}{}{}",
                    &self.text[..abs + vs],
                    replacement,
                    &self.text[abs + ve..]
                )
            }
            None if field.is_set(&self.meta) => {
                return Err(EditError::Unsupported {
                    key,
                    line: self.split.yaml_first_line,
                    reason: "the key is not on a top-level line of its own (flow-style front matter?)",
                });
            }
            None => {
                let opening = &self.text[..yaml_start];
                let eol = if opening.ends_with("\r\n") {
                    "\r\n"
                } else {
                    "\n"
                };
                let at = self.split.yaml_end;
                format!(
                    "{}{key}: {}{}{}",
                    &self.text[..at],
                    yaml_text::quote(value),
                    eol,
                    &self.text[at..]
                )
            }
        };
        let reparsed = Task::parse_text(self.path.clone(), new_text)
            .map_err(|e| EditError::Reparse(e.to_string()))?;
        let mut expected = self.meta.clone();
        field.apply(&mut expected, value);
        if reparsed.meta != expected {
            return Err(EditError::Reparse(format!(
                "`{key}` did not read back as `{value}` or another field changed"
            )));
        }
        *self = reparsed;
        Ok(())
    }
}

/// The one-line scalar fields that can be edited in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Status,
    Title,
    Type,
    Priority,
    Owner,
    Estimate,
    AutoPolicy,
}

impl Field {
    /// The front matter key.
    pub fn key(self) -> &'static str {
        match self {
            Field::Status => "status",
            Field::Title => "title",
            Field::Type => "type",
            Field::Priority => "priority",
            Field::Owner => "owner",
            Field::Estimate => "estimate",
            Field::AutoPolicy => "auto_policy",
        }
    }

    fn is_set(self, m: &TaskMeta) -> bool {
        match self {
            Field::Status => !m.status.is_empty(),
            Field::Title => !m.title.is_empty(),
            Field::Type => m.task_type.is_some(),
            Field::Priority => m.priority != Priority::Other(String::new()),
            Field::Owner => m.owner.is_some(),
            Field::Estimate => m.estimate.is_some(),
            Field::AutoPolicy => m.auto_policy.is_some(),
        }
    }

    fn apply(self, m: &mut TaskMeta, value: &str) {
        let v = value.to_string();
        match self {
            Field::Status => m.status = v,
            Field::Title => m.title = v,
            Field::Type => m.task_type = Some(v),
            Field::Priority => m.priority = Priority::parse(value),
            Field::Owner => m.owner = Some(v),
            Field::Estimate => m.estimate = Some(v),
            Field::AutoPolicy => m.auto_policy = Some(v),
        }
    }
}
