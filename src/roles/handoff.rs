//! Handing the next task to the developer: a `workflow_dispatch` of `workflow.developer_workflow`
//! naming the task, unless someone already works on it (its branch or pull request exists, or a
//! developer run is queued or in progress). The taskmaster and the integrator both hand off.

use crate::changes::{DispatchWrite, Write};
use crate::forge::ForgeRead;
use crate::roles::context::RoleContext;
use crate::tasks::{Task, naming};

/// The `workflow.developer_workflow` serve mode sets: no workflow at all, but the server's own
/// queue. Serve takes these dispatches out of the change set before publishing and queues a
/// developer job for the task instead; it also knows (better than GitHub's run list) whether a
/// developer job is queued or running, so the Actions run check is skipped for it.
pub const SERVE_QUEUE: &str = "codex-serve-queue";

/// The dispatch for `task`, or why there is none (one line for the summary).
pub async fn developer_dispatch<F: ForgeRead>(
    ctx: &RoleContext<'_, F>,
    task: &Task,
) -> crate::forge::Result<Result<Write, String>> {
    let cfg = ctx.config;
    let id = task.id();
    let Some(workflow) = cfg.workflow.developer_workflow.clone() else {
        return Ok(Err(format!(
            "{id} is not handed to the developer: set workflow.developer_workflow (the action's `developer-workflow` \
             input) to the developer's workflow file, e.g. llm-team-developer.yml"
        )));
    };
    let branch = naming::branch_with_prefix(&cfg.workflow.branch_prefix, id, &task.meta().title);
    if ctx.forge.find_pull_request(&branch, false).await?.is_some()
        || ctx.forge.branch(&branch).await?.is_some()
    {
        return Ok(Err(format!(
            "{id} is under way (branch `{branch}` exists), so the developer is not started again"
        )));
    }
    // Our own run (GitHub's run id, `gh-<id>` in the run's id) is no other developer.
    let own = ctx.run.run_id.strip_prefix("gh-").unwrap_or_default();
    if workflow != SERVE_QUEUE
        && let Some(n) = ctx.forge.active_runs(&workflow, own).await?
        && n > 0
    {
        return Ok(Err(format!(
            "a developer run of `{workflow}` is already queued or in progress ({n}); {id} is handed over next time"
        )));
    }
    Ok(Ok(Write::Dispatch(DispatchWrite {
        workflow,
        git_ref: ctx.default_branch.to_string(),
        inputs: [
            ("role".to_string(), "developer".to_string()),
            ("task".to_string(), id.to_string()),
        ]
        .into(),
        pr_input: None,
    })))
}
