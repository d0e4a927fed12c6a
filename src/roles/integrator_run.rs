//! Runs the Integrator: when a pull request closes, its task must not be stranded in
//! `in_review`. Merged → one small integration PR on `integrate/T-XXXX` that flips the task's
//! status line to `done`; closed unmerged → back to `queued` (or `blocked`, per
//! `workflow.on_closed_unmerged`). Idempotent: a second delivery, or a task already there, writes nothing.

use anyhow::Context as _;

use super::context::{RoleContext, RoleOutput, planned_markdown};
use super::reviewer::link::linked_task;
use crate::config::TaskFate;
use crate::forge::upsert::{self, Upserted};
use crate::forge::{FileChange, Forge, ForgeError, NewPullRequest};
use crate::tasks::{self, NextTask, Task};

/// The closed pull request.
#[derive(Debug, Clone)]
pub struct ClosedPr {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub head_ref: String,
    pub merged: bool,
}

pub async fn run<F: Forge>(
    ctx: &RoleContext<'_, F>,
    pr: &ClosedPr,
    planned: impl Fn() -> Vec<crate::policy::PlannedWrite>,
) -> anyhow::Result<RoleOutput> {
    let cfg = ctx.config;
    // The team's own bookkeeping PRs (the seed task, plans, integration flips) name tasks they
    // create or update; merging them delivers no task.
    let bookkeeping = [
        super::taskmaster::SEED_BRANCH,
        super::planner::run::BRANCH_PREFIX,
        super::integrator_merge::BRANCH_PREFIX,
    ];
    if let Some(kind) = bookkeeping.iter().find(|p| pr.head_ref.starts_with(*p)) {
        return Ok(RoleOutput {
            pr_number: Some(pr.number),
            summary: format!(
                "PR #{} comes from `{}`, one of the team's own bookkeeping branches (`{kind}`): it creates or \
                 updates task files and delivers no task, so no status changes.\n",
                pr.number, pr.head_ref
            ),
            ..RoleOutput::default()
        });
    }
    let Some(id) = linked_task(&pr.head_ref, &pr.title, &pr.body) else {
        return Ok(RoleOutput {
            pr_number: Some(pr.number),
            summary: format!(
                "PR #{} names no task (branch, `Task:` line or title); nothing to integrate.\n",
                pr.number
            ),
            ..RoleOutput::default()
        });
    };
    let set = tasks::load_repo_tasks(ctx.repo_dir, &cfg.tasks.dir, &cfg.tasks.states);
    let path = set
        .get(&id)
        .map(|t| t.path().to_string())
        .with_context(|| {
            format!(
                "PR #{} names {id}, but the checkout has no task file for it under {}/",
                pr.number, cfg.tasks.dir
            )
        })?;
    // The default branch is the truth after a merge; the checkout may be older.
    let bytes = ctx
        .forge
        .file_at(&path, ctx.default_branch)
        .await?
        .with_context(|| format!("{path} is not on {}", ctx.default_branch))?;
    let mut task = Task::parse(path.clone(), &bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let target = match (pr.merged, cfg.workflow.on_closed_unmerged) {
        (true, _) => tasks::DONE,
        (false, TaskFate::Queued) => tasks::QUEUED,
        (false, TaskFate::Blocked) => "blocked",
    };
    let from = task.status().to_string();
    let mut out = RoleOutput {
        task_id: Some(id.clone()),
        ..RoleOutput::default()
    };
    if from == target || (!pr.merged && from == tasks::DONE) {
        out.summary = format!(
            "{id} is already `{from}` on {}; nothing to change.\n",
            ctx.default_branch
        );
        return Ok(out);
    }
    task.set_status(target)
        .with_context(|| format!("setting {id} to {target}"))?;
    let branch = format!("{}{id}", super::integrator_merge::BRANCH_PREFIX);
    let base = ctx
        .forge
        .branch(ctx.default_branch)
        .await?
        .context("the default branch does not exist on GitHub")?;
    match upsert::ensure_branch(ctx.forge, &branch, &base).await {
        Ok(_) | Err(ForgeError::BranchExists { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    if ctx.forge.file_at(&path, &branch).await?.as_deref() != Some(task.to_bytes()) {
        let change = [FileChange::write(&path, task.to_bytes().to_vec())];
        upsert::commit_to_branch(
            ctx.forge,
            &branch,
            &format!("{id}: {from} → {target} (PR #{})", pr.number),
            &change,
            None,
            3,
        )
        .await?;
    }
    let why = if pr.merged {
        "was merged"
    } else {
        "was closed without merging"
    };
    let request = NewPullRequest {
        title: format!("{id}: mark {target}"),
        head: branch.clone(),
        base: ctx.default_branch.to_string(),
        body: format!(
            "PR #{} {why}, so task {id} goes from `{from}` to `{target}`. Only its status line changes.\n\nTask: {id}\n",
            pr.number
        ),
        draft: false,
    };
    let (integration, what) = upsert::ensure_pr(ctx.forge, &request).await?;
    out.summary = format!(
        "{id}: `{from}` → `{target}` because PR #{} {why}.\n",
        pr.number
    );
    if integration.number > 0 {
        out.pr_number = Some(integration.number);
        let verb = if what == Upserted::Created {
            "opened"
        } else {
            "already open"
        };
        out.summary.push_str(&format!(
            "Integration PR #{} {verb}: {}\n",
            integration.number, integration.html_url
        ));
    }
    if pr.merged {
        // Only the merged → done flip; a closed PR's task waits for a person to look at it.
        out.summary.push_str(
            &super::integrator_merge::merge_if_allowed(
                ctx.forge,
                &task,
                integration.number,
                cfg.workflow.merge_strategy,
            )
            .await,
        );
    }
    // What becomes eligible once this lands.
    let mut after: Vec<Task> = set.tasks.clone();
    if let Some(t) = after.iter_mut().find(|t| t.id().to_string() == id) {
        *t = task.clone();
    }
    match tasks::next_task(&after) {
        NextTask::Ready { task, .. } => out.summary.push_str(&format!(
            "Next eligible task once it merges: {} ({}).\n",
            task.id(),
            task.meta().title
        )),
        nothing => out.summary.push_str(&format!(
            "No task becomes eligible: {}\n",
            nothing.explain()
        )),
    }
    out.planned = planned();
    out.summary.push_str(&planned_markdown(&out.planned));
    Ok(out)
}
