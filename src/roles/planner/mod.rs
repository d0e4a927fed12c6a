//! The Planner: turns the PRD (`project.prd_path`) into task files proposed in one pull request.
//! `prd` cuts the PRD to the model's budget, `model` asks for tasks in a JSON schema, `plan`
//! decides what is added or skipped (pure), `template` shapes the files, `run` writes the PR.

pub mod model;
pub mod plan;
pub mod prd;
pub mod reply;
pub mod run;
pub mod template;

pub use model::ModelSide;
pub use plan::{ACCEPTANCE_SIMILARITY, Plan, Skipped};
pub use run::{BRANCH_PREFIX, run};
