//! The Planner: turns the PRD (`project.prd_path`) into task files proposed in one pull request.
//! `prd` cuts the PRD to the model's budget, `model` asks for tasks in a JSON schema, `plan`
//! decides what is added or skipped (pure), `template` shapes the files, `run` writes the PR.

pub(crate) mod model;
pub(crate) mod plan;
pub(crate) mod prd;
pub(crate) mod reply;
pub(crate) mod run;
pub(crate) mod template;

pub use model::ModelSide;
pub use run::run;
