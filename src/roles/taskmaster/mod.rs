//! The Taskmaster: validates the task files, proposes the first task (basic CI) when there is
//! nothing to do, and picks the next task. Its change set holds the seed's branch commit and pull
//! request; planned again after a failure half-way, it completes them (a branch without its pull
//! request gets the pull request) and otherwise plans nothing.

pub(crate) mod decide;

use super::context::{RoleContext, RoleOutput};
use crate::changes::{BranchState, CommitWrite, FileWrite, PullRequestWrite, Write};
use crate::forge::{ForgeRead, PrState};
use crate::vocab::Role;
pub use decide::{
    Language, NextChoice, SEED_ID, SeedTask, TaskmasterInput, TaskmasterPlan, plan, seed_branch,
    seed_file_name, seed_task,
};

pub async fn run<F: ForgeRead>(ctx: &RoleContext<'_, F>) -> anyhow::Result<RoleOutput> {
    let cfg = ctx.config;
    let set = ctx.repo.tasks(&cfg.tasks.dir, &cfg.tasks.states);
    let language = ctx.repo.language();
    // The seed's id is T-0001 unless a plan (or anything open) already took it; the seed's own
    // branches do not count against it.
    let taken = crate::roles::ids::reservations(ctx.forge, &set, &cfg.tasks.dir).await?;
    let seed_id = taken
        .without_branches(|b| b.starts_with(crate::vocab::branches::SEED_PREFIX))
        .seed_id()?;
    let seed_pr = ctx
        .forge
        .find_pull_request(&seed_branch(seed_id), true)
        .await?;
    let seed_declined = seed_pr
        .as_ref()
        .filter(|p| p.state == PrState::Closed && !p.merged)
        .map(|p| p.number);
    let plan = plan(&TaskmasterInput {
        tasks: &set,
        tasks_dir: &cfg.tasks.dir,
        language,
        states: &cfg.tasks.states,
        seed_declined,
        seed_id,
    });
    let mut out = RoleOutput::new(ctx.changes(Role::Taskmaster));
    out.task_id = match &plan.next {
        NextChoice::Ready { id, .. } => Some(id.to_string()),
        NextChoice::Nothing { .. } => None,
    };
    out.summary = plan.summary_markdown.clone();
    out.diagnostics = plan.diagnostics.clone();
    if plan.errors > 0 {
        out.failure = Some(format!(
            "the task set has {} error(s) (see the annotations, or run `codex-orchestrator tasks validate`); tasks with \
             errors are never picked",
            plan.errors
        ));
    }
    if let Some(seed) = &plan.seed {
        propose_seed(ctx, seed, &mut out).await?;
    }
    // The next task goes to the developer (its own workflow; GITHUB_TOKEN may dispatch it).
    if let NextChoice::Ready { id, .. } = &plan.next
        && let Some(task) = set.get(&id.to_string())
    {
        match crate::roles::handoff::developer_dispatch(ctx, task).await? {
            Ok(dispatch) => {
                out.summary.push_str(&format!(
                    "\nHands {id} to the developer (workflow_dispatch).\n"
                ));
                out.changes.push(dispatch);
            }
            Err(why) => out.summary.push_str(&format!("\n{why}.\n")),
        }
    }
    Ok(out)
}

/// The seed's commit (unless its branch already holds the file) and its pull request.
async fn propose_seed<F: ForgeRead>(
    ctx: &RoleContext<'_, F>,
    seed: &SeedTask,
    out: &mut RoleOutput,
) -> anyhow::Result<()> {
    let file = FileWrite::text(&seed.path, &seed.contents);
    match ctx.forge.branch(&seed.branch).await? {
        None => out.changes.push(Write::Commit(CommitWrite {
            branch: seed.branch.clone(),
            branch_state: BranchState::New,
            parent: ctx.base.to_string(),
            message: seed.commit_message.clone(),
            files: vec![file],
        })),
        Some(head) => {
            let present = ctx.forge.file_at(&seed.path, &head).await?;
            if present.as_deref() != Some(seed.contents.as_bytes()) {
                out.changes.push(Write::Commit(CommitWrite {
                    branch: seed.branch.clone(),
                    branch_state: BranchState::Existing,
                    parent: head,
                    message: seed.commit_message.clone(),
                    files: vec![file],
                }));
            }
        }
    }
    out.changes.push(Write::PullRequest(PullRequestWrite {
        head: seed.branch.clone(),
        base: ctx.default_branch.to_string(),
        title: seed.pr_title.clone(),
        body: seed.pr_body.clone(),
        draft: false,
    }));
    Ok(())
}
