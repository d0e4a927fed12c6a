//! The write guard: every write a role makes passes a policy check first. The default branch
//! and protected branch patterns are never written; tree changes under protected paths, escaping
//! the repository, or adding symlinks/submodules are refused; `observe` and `--dry-run` turn
//! writes into log lines. `Guarded` wraps any `Forge`, so roles cannot bypass it.

pub mod guard;
pub mod paths;
pub mod secrets;

pub use guard::{Guard, Guarded, PlannedWrite};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "refusing to write branch {branch}: it is the default branch. Agents only write their own \
         branches and open pull requests"
    )]
    DefaultBranch { branch: String },
    #[error(
        "refusing to write branch {branch}: it matches workflow.protected_branches pattern {pattern:?}"
    )]
    ProtectedBranch { branch: String, pattern: String },
    #[error(
        "refusing to change {path}: it is under project.protected_paths entry {pattern:?}. \
         A human must make this change, or remove the entry from .llm-team.yml"
    )]
    ProtectedPath { path: String, pattern: String },
    #[error("refusing path {path:?}: {why}")]
    UnsafePath { path: String, why: String },
    #[error("refusing {path}: {kind} are never written by agents")]
    SpecialFile { path: String, kind: &'static str },
    #[error(
        "refusing to merge pull request #{number}: merging writes {branch}, and this run is not \
         allowed to merge (the task's auto_policy and workflow settings decide)"
    )]
    MergeNotAllowed { number: u64, branch: String },
}
