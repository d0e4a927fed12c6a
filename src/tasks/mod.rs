//! The tasks engine: tasks are the loop's memory, one Markdown file with YAML front matter per
//! task under `tasks/`, so every role reads and writes the same files and merges stay
//! conflict-free. This module parses them without losing a byte, validates them and picks the next.
//!
//! # Id minting rule (see also `docs/tasks.md`)
//!
//! Ids are `T-` followed by at least four decimal digits (`T-0001`, `T-12345`), written in this
//! canonical zero-padded form only. A planner mints new ids with [`mint_ids`]:
//!
//! * next id = 1 + the highest id *seen anywhere*, where "seen" covers the ids of task files in the
//!   tasks directory of the base branch, the ids of task files on other branches when the caller
//!   has read them, and every `T-NNNN` that appears in a ref name (open PR head branches and
//!   remote branches, e.g. `plan/T-0007-T-0009`, `feature/T-0004-x`);
//! * the Planner role names its branch after the PRD it planned (`plan/<prd-hash>`, so a re-run
//!   finds its own pull request and keeps its ids) and puts the minted range in the PR title;
//!   [`plan_branch_name`] builds range-named branches for callers that want other planners to see
//!   the range in the branch list;
//! * two plans open at the same time can mint the same id; that duplicate is never silent:
//!   `tasks validate` reports duplicate ids as errors once both branches merge.

pub mod auto_policy;
pub mod cli;
pub mod diagnostic;
pub mod estimate;
pub mod frontmatter;
pub mod generate;
pub mod id;
pub mod link;
pub mod load;
pub mod naming;
pub mod next;
pub mod pick;
pub mod priority;
pub mod render;
pub mod task;
pub mod validate;
pub mod yaml_text;

pub use auto_policy::AutoPolicy;
pub use diagnostic::{Diagnostic, Severity};
pub use estimate::estimate_hours;
pub use id::{TaskId, mint_ids, plan_branch_name};
pub use link::{LinkConflict, LinkedBy, PrLink, link_pull_request};
pub use load::{TaskSet, load_dir, load_from_memory, load_repo_tasks};
pub use naming::{developer_branch, slug, task_file_name};
pub use next::{Blocked, NextTask, next_task};
pub use pick::{Pick, Skipped};
pub use priority::Priority;
pub use render::render_task;
pub use task::{EditError, Field, Task, TaskMeta, TaskParseError};
pub use validate::validate;

/// The states used when `.llm-team.yml` does not set `tasks.states`.
pub const DEFAULT_STATES: [&str; 5] = [
    "queued",
    "in_review",
    "ready_for_integration",
    "done",
    "blocked",
];

/// The state a task must be in to be picked as the next task.
pub const QUEUED: &str = "queued";
/// The state a dependency must be in before a task that depends on it becomes eligible.
pub const DONE: &str = "done";

/// The default states as owned strings, for callers without a configuration.
pub fn default_states() -> Vec<String> {
    DEFAULT_STATES.iter().map(|s| s.to_string()).collect()
}
