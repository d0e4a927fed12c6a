//! The write policy: every write passes a check first. The default branch and protected branch
//! patterns are never written; tree changes under protected paths or the team's own files,
//! escaping the repository, or through symlinks/submodules are refused (`guard`); a whole change
//! is judged on its final content (`change`). `Guarded` wraps the publisher's `Forge`.

pub(crate) mod change;
pub(crate) mod guard;
pub(crate) mod paths;
pub(crate) mod secrets;

pub use guard::{Guard, Guarded};

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
    #[error(
        "refusing to change {path}: it is one of the team's own files ({pattern}), which steer and \
         guard the team. A maintainer changes it on the default branch (or sets \
         project.allow_self_edits: true there)"
    )]
    TeamFile { path: String, pattern: String },
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

impl From<PolicyError> for crate::forge::ForgeError {
    fn from(e: PolicyError) -> Self {
        crate::forge::ForgeError::Refused(e.to_string())
    }
}
