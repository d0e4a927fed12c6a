//! The tasks engine: tasks are the loop's memory, one Markdown file with YAML front matter per
//! task under `tasks/`, so every role reads and writes the same files and merges stay
//! conflict-free. This module parses them without losing a byte, validates them and picks the next.
//!
//! # Id minting rule (see also `docs/tasks.md`)
//!
//! Ids are `T-` followed by at least four decimal digits (`T-0001`, `T-12345`), written in this
//! canonical zero-padded form only. New ids never collide with an id taken anywhere the loop can
//! see: the caller collects [`Reservations`] —
//!
//! * the default branch's task files ([`Reservations::add_default_branch`]);
//! * every open agent branch (`plan/…`, `taskmaster/…`, `<branch_prefix>…`, `integrate/…`, see
//!   [`is_agent_branch`]) by name ([`Reservations::add_branch`]) and by the task files it adds
//!   ([`Reservations::add_branch_files`]);
//! * every open pull request: head branch name, title and body
//!   ([`Reservations::add_pull_request`]);
//!
//! drops its own branch ([`Reservations::without_branch`]) and mints with
//! [`Reservations::mint_ids`] (1 + the highest id that counts). The Taskmaster's CI seed takes
//! `T-0001` only when no claim takes it, else the next minted id ([`Reservations::seed_id`]).
//! Claims from branches and pull requests count up to [`reserve::MAX_AHEAD`] above the default
//! branch's highest id, so an untrusted PR title cannot use up the id space. [`mint_ids`] is the
//! older form (ids and ref names only) kept for existing callers.

pub(crate) mod auto_policy;
pub(crate) mod diagnostic;
pub(crate) mod estimate;
pub(crate) mod frontmatter;
pub mod generate;
pub(crate) mod id;
pub(crate) mod link;
pub(crate) mod load;
pub(crate) mod naming;
pub(crate) mod next;
pub(crate) mod pick;
pub(crate) mod priority;
pub(crate) mod render;
pub mod reserve;
pub(crate) mod task;
pub(crate) mod validate;
pub(crate) mod yaml_text;

pub use auto_policy::AutoPolicy;
pub use diagnostic::{Diagnostic, Severity};
pub use estimate::estimate_hours;
pub use id::{TaskId, mint_ids};
pub use link::{LinkConflict, LinkedBy, PrLink, link_pull_request};
pub use load::{TaskSet, load_dir, load_from_memory, load_repo_tasks};
pub use naming::{developer_branch, slug, task_file_name};
pub use next::{Blocked, NextTask, next_task};
pub use pick::{Pick, Skipped};
pub use priority::Priority;
pub use render::render_task;
pub use reserve::{Claim, MintError, Reservations, is_agent_branch};
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
