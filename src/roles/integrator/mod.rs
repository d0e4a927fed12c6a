//! The Integrator: when a pull request closes, its task must not be stranded in `in_review`.
//! Merged → one small integration PR on `integrate/T-XXXX` that flips the task's status line to
//! `done` (merged by the publisher itself when the task's `auto_policy` allows); closed unmerged
//! → back to `queued` (or `blocked`). Only a pull request linked to the task explicitly, and only
//! a task under review, is touched; a second delivery, or a task already there, plans nothing.

pub(crate) mod decide;

use anyhow::Context as _;

use super::context::{RoleContext, RoleOutput};
use crate::changes::{
    BranchState, CommitWrite, FileWrite, MergeWrite, PullRequestWrite, Target, Write,
};
use crate::forge::ForgeRead;
use crate::tasks::{self, NextTask, Task};
use crate::vocab::Role;
use crate::vocab::branches::{INTEGRATE_PREFIX, PLAN_PREFIX, TASKMASTER_PREFIX};
use decide::Move;

/// The closed pull request.
#[derive(Debug, Clone)]
pub struct ClosedPr {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub head_ref: String,
    pub merged: bool,
}

pub async fn run<F: ForgeRead>(
    ctx: &RoleContext<'_, F>,
    pr: &ClosedPr,
) -> anyhow::Result<RoleOutput> {
    let cfg = ctx.config;
    let mut out = RoleOutput::new(ctx.changes(Role::Integrator));
    out.pr_number = Some(pr.number);
    // The team's own bookkeeping PRs (the seed task, plans, integration flips) name tasks they
    // create or update; merging them delivers no task.
    let bookkeeping = [TASKMASTER_PREFIX, PLAN_PREFIX, INTEGRATE_PREFIX];
    if let Some(kind) = bookkeeping.iter().find(|p| pr.head_ref.starts_with(*p)) {
        out.summary = format!(
            "PR #{} comes from `{}`, one of the team's own bookkeeping branches (`{kind}`): it creates or \
             updates task files and delivers no task, so no status changes.\n",
            pr.number, pr.head_ref
        );
        // A merged bookkeeping PR (a task done, a plan or the seed queued) may free the next
        // task: hand it to the developer.
        if pr.merged {
            let set = ctx.repo.tasks(&cfg.tasks.dir, &cfg.tasks.states);
            let pick = set.next_task();
            match pick.next {
                NextTask::Ready { task, .. } => {
                    match crate::roles::handoff::developer_dispatch(ctx, task).await? {
                        Ok(dispatch) => {
                            out.summary.push_str(&format!(
                                "The next task, {} ({}), goes to the developer (workflow_dispatch).\n",
                                task.id(),
                                task.meta().title
                            ));
                            out.changes.push(dispatch);
                        }
                        Err(why) => out.summary.push_str(&format!("{why}.\n")),
                    }
                }
                _ => out
                    .summary
                    .push_str(&format!("No task to hand over: {}\n", pick.explain())),
            }
        }
        return Ok(out);
    }
    // Only an explicit link counts: the `Task:` line the Developer writes, or its branch name.
    let link = match tasks::link_pull_request(
        &cfg.workflow.branch_prefix,
        &pr.head_ref,
        &pr.title,
        &pr.body,
    ) {
        Ok(link) => link,
        Err(conflict) => {
            out.summary = format!("PR #{}: {conflict}; nothing to integrate.\n", pr.number);
            return Ok(out);
        }
    };
    let ignored: String = link.ignored.iter().map(|i| format!("- {i}\n")).collect();
    let Some(id) = link.task.map(|t| t.to_string()) else {
        out.summary = format!(
            "PR #{} names no task (a `Task: T-XXXX` line or a `{}T-XXXX-…` branch); nothing to integrate.\n{}",
            pr.number,
            cfg.workflow.branch_prefix,
            if ignored.is_empty() {
                String::new()
            } else {
                format!("Ignored (not a link):\n{ignored}")
            }
        );
        return Ok(out);
    };
    let set = ctx.repo.tasks(&cfg.tasks.dir, &cfg.tasks.states);
    let path = set
        .get(&id)
        .map(|t| t.path().to_string())
        .with_context(|| {
            format!(
                "PR #{} names {id}, but the checkout has no task file for it under {}/",
                pr.number, cfg.tasks.dir
            )
        })?;
    out.task_id = Some(id.clone());
    // The default branch is the truth after a merge; the checkout may be older.
    let bytes = ctx
        .forge
        .file_at(&path, ctx.base)
        .await?
        .with_context(|| format!("{path} is not on {}", ctx.default_branch))?;
    let mut task = Task::parse(path.clone(), &bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (from, to) = match decide::target(
        &task,
        pr.merged,
        cfg.workflow.on_closed_unmerged,
        ctx.default_branch,
    ) {
        Move::To { from, to } => (from, to),
        Move::Leave(why) => {
            out.summary = format!("{why}\n");
            return Ok(out);
        }
    };
    task.set_status(to)
        .with_context(|| format!("setting {id} to {to}"))?;
    let branch = format!("{INTEGRATE_PREFIX}{id}");
    let message = format!("{id}: {from} → {to} (PR #{})", pr.number);
    let file = FileWrite::text(
        &path,
        String::from_utf8(task.to_bytes().to_vec()).context("the task file is not UTF-8")?,
    );
    match ctx.forge.branch(&branch).await? {
        None => out.changes.push(Write::Commit(CommitWrite {
            branch: branch.clone(),
            branch_state: BranchState::New,
            parent: ctx.base.to_string(),
            message,
            files: vec![file],
        })),
        Some(head) => {
            if ctx.forge.file_at(&path, &head).await?.as_deref() != Some(task.to_bytes()) {
                out.changes.push(Write::Commit(CommitWrite {
                    branch: branch.clone(),
                    branch_state: BranchState::Existing,
                    parent: head,
                    message,
                    files: vec![file],
                }));
            }
        }
    }
    let why = if pr.merged {
        "was merged"
    } else {
        "was closed without merging"
    };
    out.changes.push(Write::PullRequest(PullRequestWrite {
        head: branch.clone(),
        base: ctx.default_branch.to_string(),
        title: format!("{id}: mark {to}"),
        body: format!(
            "PR #{} {why}, so task {id} goes from `{from}` to `{to}`. Only its status line changes.\n\nTask: {id}\n",
            pr.number
        ),
        draft: false,
    }));
    out.summary = format!("{id}: `{from}` → `{to}` because PR #{} {why}.\n", pr.number);
    if pr.merged {
        // Only the merged → done flip; a closed PR's task waits for a person to look at it.
        match decide::may_merge(&task) {
            Ok(()) => {
                let method = decide::method(cfg.workflow.merge_strategy);
                out.changes.push(Write::Merge(MergeWrite {
                    on: Target::Head(branch.clone()),
                    method,
                    reason: format!("{id} has `auto_policy: auto_merge`"),
                    auto_merge_fallback: true,
                }));
            }
            Err(line) => out.summary.push_str(&line),
        }
    }
    // What becomes eligible once this lands.
    if !ignored.is_empty() {
        out.summary
            .push_str(&format!("Ignored (not a link to a task):\n{ignored}"));
    }
    let mut after: Vec<Task> = set.tasks.clone();
    if let Some(t) = after.iter_mut().find(|t| t.id().to_string() == id) {
        *t = task.clone();
    }
    let after = tasks::load_from_memory(
        after
            .iter()
            .map(|t| (t.path().to_string(), t.to_bytes().to_vec())),
        &cfg.tasks.states,
    );
    match after.next_task().next {
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
    Ok(out)
}
