//! What the model answers: the JSON schema sent as Ollama `format` (the schema), and
//! the typed reply it is read into. Everything in it is untrusted data until `plan` checks it.

use serde::Deserialize;
use serde_json::{Value, json};

/// The schema of one planning answer.
pub fn schema() -> Value {
    json!({
        "type": "object",
        "required": ["tasks"],
        "properties": {
            "tasks": {"type": "array", "items": {
                "type": "object",
                "required": ["title", "type", "priority", "depends_on", "acceptance", "files", "estimate"],
                "properties": {
                    "title": {"type": "string"},
                    "type": {"enum": ["feature", "bugfix", "doc", "chore"]},
                    "priority": {"enum": ["P0", "P1", "P2", "P3"]},
                    "depends_on": {"type": "array", "items": {"type": "string"}},
                    "acceptance": {"type": "array", "items": {"type": "string"}},
                    "files": {"type": "array", "items": {"type": "string"}},
                    "estimate": {"type": "string"}
                }
            }}
        }
    })
}

/// One answer.
#[derive(Debug, Clone, Deserialize)]
pub struct PlanReply {
    pub tasks: Vec<Proposed>,
}

/// A task as the model proposed it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Proposed {
    pub title: String,
    #[serde(rename = "type")]
    pub task_type: String,
    pub priority: String,
    /// Titles of tasks in the same plan, or ids of existing tasks.
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub acceptance: Vec<String>,
    /// Paths the task is about: data for the task file, never written to.
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub estimate: String,
}

/// A proposal with the PRD part it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced {
    pub source: String,
    pub task: Proposed,
}
