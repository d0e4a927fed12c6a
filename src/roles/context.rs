//! What a role gets to work with (configuration, the checkout, the runner, a guarded forge) and
//! what it hands back (step outputs and a summary), so every role has the same shape and the CLI
//! stays the only place that knows about processes and runtimes.

use std::path::Path;

use crate::actions::Runner;
use crate::config::Config;
use crate::forge::Forge;
use crate::policy::PlannedWrite;

pub struct RoleContext<'a, F: Forge> {
    pub config: &'a Config,
    pub repo_dir: &'a Path,
    pub runner: &'a Runner,
    /// Always a guarded forge in production: writes are policy-checked and dry runs absorbed.
    pub forge: &'a F,
    pub default_branch: &'a str,
}

/// What a role reports back.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RoleOutput {
    pub task_id: Option<String>,
    pub pr_number: Option<u64>,
    pub verdict: Option<String>,
    /// Markdown for the job summary.
    pub summary: String,
    /// Writes a dry run recorded instead of making.
    pub planned: Vec<PlannedWrite>,
    /// GitHub API requests the role made (retries included).
    pub api_calls: Option<u64>,
    /// Set when the role published what it could but must still fail the run (exit 1).
    pub failure: Option<String>,
    /// Every model call the role made.
    pub llm_calls: Vec<crate::llm::CallRecord>,
}

/// The planned writes as a Markdown list for the summary (empty when there are none).
pub fn planned_markdown(planned: &[PlannedWrite]) -> String {
    if planned.is_empty() {
        return String::new();
    }
    let mut md =
        String::from("\n**Dry run: nothing was written.** These writes would have been made:\n\n");
    for p in planned {
        md.push_str(&format!(
            "- {} `{}`: {}\n",
            p.action,
            p.target.replace('`', "'"),
            p.detail.replace('`', "'")
        ));
    }
    md
}
