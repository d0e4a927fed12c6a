//! What to do: the five roles of the team. Routing picks a `Role`; each role is a module that
//! talks to the ports (forge, llm, git) only through their traits, so tests swap in fakes.

pub mod ci_setup;
pub mod context;
pub mod developer;
pub mod developer_run;
pub mod integrator_merge;
pub mod integrator_run;
pub mod planner;
pub mod reviewer;
pub mod taskmaster;
pub mod taskmaster_run;

pub use crate::vocab::role::{Role, UnknownRole};

/// Why a role did not finish.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// The role's own issue has not landed in this build.
    #[error(
        "the {0} role is not implemented in this build yet. `codex-orchestrator route` shows the \
         decision without running anything; set `mode: disabled` in .llm-team.yml (or the action's \
         `mode` input) to keep the workflow green until a release ships the role"
    )]
    NotImplemented(Role),
    /// This build's role cannot do what was asked (exit 2, like `NotImplemented`).
    #[error("{0}")]
    Unsupported(String),
    /// The role ran and failed.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}
