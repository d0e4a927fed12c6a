//! What to do: the five roles of the team, one folder each with the same shape — a `run` that
//! reads through the ports in its `RoleContext`, decides (the pure decisions apart from the
//! model calls) and returns the writes it wants as a change set. No role writes; the command line
//! hands the change set to the publisher.

pub mod context;
pub mod developer;
#[cfg(test)]
pub(crate) mod fakes;
pub(crate) mod handoff;
pub(crate) mod ids;
pub(crate) mod integrator;
pub(crate) mod planner;
pub(crate) mod reviewer;
pub mod taskmaster;

pub use crate::vocab::role::{Role, UnknownRole};

/// Why a role did not finish.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// This build's role cannot do what was asked (exit 2).
    #[error("{0}")]
    Unsupported(String),
    /// The role ran and failed.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}
