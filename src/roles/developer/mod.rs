//! The Developer: from a task to a tested change proposed as a pull request. `run` picks the
//! task and builds the change set; the model path's parts are context selection (`context`), the
//! SEARCH/REPLACE edit protocol (`edits`), the model conversation with its test-and-fix rounds
//! (`session`); `ci_setup` is the deterministic first task; `claim` the one-job flow's lock.

pub(crate) mod ci_setup;
pub(crate) mod claim;
pub mod context;
pub mod edits;
pub(crate) mod run;
pub(crate) mod session;

pub use run::{DevModel, Pick, Picked, claim_changes, pick, release_changes, work};
