//! The JSON run report: one file per run saying what happened (event, decision, role, outcome,
//! model calls), written for the Action's `report` output and for anyone scripting around us.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::event::Routing;

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Done,
    Ignored,
    Refused,
    Failed,
    NotImplemented,
}

/// What a role's change set was and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeSetInfo {
    pub role: crate::vocab::Role,
    pub digest: String,
    pub writes: usize,
    /// Empty when the set went to a file (`--changes-out`).
    pub statuses: Vec<crate::changes::Status>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventInfo {
    pub name: String,
    pub action: Option<String>,
    pub repository: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub version: &'static str,
    pub event: Option<EventInfo>,
    pub routing: Routing,
    pub mode: &'static str,
    pub dry_run: bool,
    pub outcome: Outcome,
    pub error: Option<String>,
    pub verdict: Option<String>,
    pub task_id: Option<String>,
    pub pr_number: Option<u64>,
    /// GitHub API requests made (the budget a run used).
    pub api_calls: Option<u64>,
    /// One record per model call (model, tokens, durations, tok/s), from the roles that use one.
    pub llm_calls: Vec<crate::llm::CallRecord>,
    /// Each role's change set: its digest, its size and what became of each write.
    pub change_sets: Vec<ChangeSetInfo>,
    /// Where the work phase wrote its change set (`--changes-out`).
    pub changes_out: Option<String>,
    pub duration_ms: u128,
    #[serde(skip)]
    started: Option<Instant>,
}

impl Report {
    pub fn new(
        event: Option<EventInfo>,
        routing: Routing,
        mode: &'static str,
        dry_run: bool,
    ) -> Self {
        Report {
            tool: "codex-orchestrator",
            version: env!("CARGO_PKG_VERSION"),
            event,
            pr_number: routing.pr,
            task_id: routing.task.clone(),
            routing,
            mode,
            dry_run,
            outcome: Outcome::Ignored,
            error: None,
            verdict: None,
            api_calls: None,
            llm_calls: Vec::new(),
            change_sets: Vec::new(),
            changes_out: None,
            duration_ms: 0,
            started: Some(Instant::now()),
        }
    }

    /// Stops the clock and writes the report as pretty JSON.
    pub fn write(&mut self, path: &Path) -> std::io::Result<()> {
        if let Some(start) = self.started {
            self.duration_ms = start.elapsed().as_millis();
        }
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, json + "\n")
    }
}

/// `--report`, else `$RUNNER_TEMP/codex-orchestrator-report.json`, else the current directory.
pub fn default_path(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    let dir = std::env::var_os("RUNNER_TEMP")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    dir.join("codex-orchestrator-report.json")
}
