//! Typed views of the webhook payloads we act on, read from `GITHUB_EVENT_PATH`.
//! Every field is optional or defaulted so payloads from any GitHub version parse; what we do not
//! use is ignored. Anything that is not a JSON object we can read is a clear `PayloadError`.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

/// GitHub caps webhook payloads at 25 MB; anything larger is not an event.
pub const MAX_PAYLOAD_BYTES: u64 = 25 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error(
        "cannot read the event payload {path}: {source}. On a runner GITHUB_EVENT_PATH points at it; \
         locally pass --event-path FILE"
    )]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the event payload {path} is empty: expected the JSON object GitHub sends for the event"
    )]
    Empty { path: String },
    #[error(
        "the event payload {path} is larger than {limit} MB; GitHub never sends more, so this is not an event payload",
        limit = MAX_PAYLOAD_BYTES / 1024 / 1024
    )]
    TooLarge { path: String },
    #[error(
        "the event payload {path} is not UTF-8 text (first bad byte at offset {offset}); expected JSON"
    )]
    NotUtf8 { path: String, offset: usize },
    #[error("the event payload {path} is not valid JSON: {message}")]
    Json { path: String, message: String },
    #[error("the event payload {path} must be a JSON object, found {found}")]
    NotObject { path: String, found: &'static str },
    #[error("the {event} payload in {path} does not have the shape GitHub sends: {message}")]
    Shape {
        event: String,
        path: String,
        message: String,
    },
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct User {
    pub login: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Repository {
    pub full_name: String,
    pub default_branch: Option<String>,
}

/// A branch end of a pull request (`head` or `base`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BranchRef {
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub draft: Option<bool>,
    pub merged: Option<bool>,
    pub state: Option<String>,
    pub head: BranchRef,
    pub base: BranchRef,
    pub user: Option<User>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PullRequestEvent {
    pub action: String,
    #[serde(default)]
    pub number: Option<u64>,
    pub pull_request: PullRequest,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    /// Present (an object) only when the issue is a pull request.
    pub pull_request: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Comment {
    pub body: Option<String>,
    pub author_association: Option<String>,
    pub user: Option<User>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IssueCommentEvent {
    pub action: String,
    pub issue: Issue,
    pub comment: Comment,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PushCommit {
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub removed: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PushEvent {
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub deleted: bool,
    pub commits: Vec<PushCommit>,
    pub head_commit: Option<PushCommit>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WorkflowDispatchEvent {
    /// Inputs arrive as strings, or as booleans/numbers for typed inputs.
    pub inputs: Option<Map<String, Value>>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
}

/// The events we route on, each with its typed payload.
#[derive(Debug, Clone)]
pub enum Payload {
    PullRequest(PullRequestEvent),
    IssueComment(IssueCommentEvent),
    Push(PushEvent),
    WorkflowDispatch(WorkflowDispatchEvent),
    Schedule {
        cron: Option<String>,
    },
    /// Any other event (including the ones we refuse): only its `action` is read.
    Other {
        action: Option<String>,
    },
}

/// A GitHub event: its name (`GITHUB_EVENT_NAME`) and payload.
#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub payload: Payload,
    pub repository: Option<Repository>,
}

impl Event {
    /// Reads and parses a payload file, refusing oversized or non-JSON input before parsing.
    pub fn from_file(name: &str, path: &Path) -> Result<Event, PayloadError> {
        let shown = path.display().to_string();
        let read_err = |source| PayloadError::Read {
            path: shown.clone(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_err)?;
        let mut bytes = Vec::new();
        file.take(MAX_PAYLOAD_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
        if bytes.len() as u64 > MAX_PAYLOAD_BYTES {
            return Err(PayloadError::TooLarge { path: shown });
        }
        Event::parse(name, &bytes, &shown)
    }

    /// Parses payload bytes; `origin` names the source in errors.
    pub fn parse(name: &str, bytes: &[u8], origin: &str) -> Result<Event, PayloadError> {
        let path = origin.to_string();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(PayloadError::Empty { path });
        }
        if let Err(e) = std::str::from_utf8(bytes) {
            return Err(PayloadError::NotUtf8 {
                path,
                offset: e.valid_up_to(),
            });
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| PayloadError::Json {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let found = match &value {
            Value::Object(_) => "",
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
        };
        if !found.is_empty() {
            return Err(PayloadError::NotObject { path, found });
        }
        let repository = value
            .get("repository")
            .and_then(|r| Repository::deserialize(r).ok());
        let typed = |message: serde_json::Error| PayloadError::Shape {
            event: name.to_string(),
            path: path.clone(),
            message: message.to_string(),
        };
        let payload = match name {
            "pull_request" => {
                Payload::PullRequest(PullRequestEvent::deserialize(&value).map_err(typed)?)
            }
            "issue_comment" => {
                Payload::IssueComment(IssueCommentEvent::deserialize(&value).map_err(typed)?)
            }
            "push" => Payload::Push(PushEvent::deserialize(&value).map_err(typed)?),
            "workflow_dispatch" => Payload::WorkflowDispatch(
                WorkflowDispatchEvent::deserialize(&value).map_err(typed)?,
            ),
            "schedule" => Payload::Schedule {
                cron: value
                    .get("schedule")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            },
            _ => Payload::Other {
                action: value
                    .get("action")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            },
        };
        Ok(Event {
            name: name.to_string(),
            payload,
            repository,
        })
    }

    /// The payload's `action` field, when it has one.
    pub fn action(&self) -> Option<&str> {
        match &self.payload {
            Payload::PullRequest(e) => Some(&e.action),
            Payload::IssueComment(e) => Some(&e.action),
            Payload::Other { action } => action.as_deref(),
            _ => None,
        }
    }
}
