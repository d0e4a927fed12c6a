//! What the model answers: the typed reply it is read into and, derived from it, the JSON schema
//! sent as Ollama `format` (the schema). Everything in it is untrusted data until `plan`
//! checks it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The schema of one planning answer.
pub fn schema() -> Value {
    crate::llm::reply_schema::<PlanReply>()
}

/// One answer.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct PlanReply {
    pub tasks: Vec<Proposed>,
}

/// A task as the model proposed it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Proposed {
    pub title: String,
    #[serde(rename = "type")]
    #[schemars(extend("enum" = ["feature", "bugfix", "doc", "chore"]))]
    pub task_type: String,
    #[schemars(extend("enum" = ["P0", "P1", "P2", "P3"]))]
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::llm::reply_schema::witness;
    use crate::llm::structured::validate_schema;

    /// What the model was sent when the schema was hand-written, but for `"type": "string"` beside
    /// each `enum` and `required` in name order.
    #[test]
    fn the_schema_sent_is_the_planning_schema() {
        assert_eq!(
            schema(),
            json!({
                "type": "object",
                "required": ["tasks"],
                "properties": {
                    "tasks": {"type": "array", "items": {
                        "type": "object",
                        "required": ["acceptance", "depends_on", "estimate", "files", "priority", "title", "type"],
                        "properties": {
                            "title": {"type": "string"},
                            "type": {"type": "string", "enum": ["feature", "bugfix", "doc", "chore"]},
                            "priority": {"type": "string", "enum": ["P0", "P1", "P2", "P3"]},
                            "depends_on": {"type": "array", "items": {"type": "string"}},
                            "acceptance": {"type": "array", "items": {"type": "string"}},
                            "files": {"type": "array", "items": {"type": "string"}},
                            "estimate": {"type": "string"}
                        }
                    }}
                }
            })
        );
    }

    /// A reply with every property the schema names reads into `PlanReply` and writes back the
    /// same: a field in the type but not in the schema (`#[schemars(skip)]`, a hand-written
    /// schema again), or the other way round, fails here.
    #[test]
    fn the_schema_and_the_type_name_the_same_fields() {
        let schema = schema();
        let reply = witness(&schema);
        validate_schema(&reply, &schema).unwrap();
        let read: PlanReply = serde_json::from_value(reply.clone()).unwrap();
        assert_eq!(read.tasks[0].task_type, "feature");
        assert_eq!(serde_json::to_value(&read).unwrap(), reply);
    }
}
