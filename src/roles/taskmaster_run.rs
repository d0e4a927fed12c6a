//! Runs the Taskmaster: plans from the checkout (validate, seed, next task; see `taskmaster`),
//! then proposes the seed task as a pull request on `taskmaster/seed-T-0001` through the guarded
//! forge. Re-runs find the branch, the file and the PR already there and change nothing.

use anyhow::Context as _;

use super::context::{RoleContext, RoleOutput, planned_markdown};
use super::taskmaster::{self, NextChoice, SEED_BRANCH, TaskmasterInput};
use crate::forge::upsert;
use crate::forge::{FileChange, Forge, ForgeError, NewPullRequest};
use crate::tasks;

pub async fn run<F: Forge>(
    ctx: &RoleContext<'_, F>,
    planned: impl Fn() -> Vec<crate::policy::PlannedWrite>,
) -> anyhow::Result<RoleOutput> {
    let cfg = ctx.config;
    let set = tasks::load_repo_tasks(ctx.repo_dir, &cfg.tasks.dir, &cfg.tasks.states);
    let language = taskmaster::detect_language(ctx.repo_dir);
    let seed_branch = ctx
        .forge
        .branch(SEED_BRANCH)
        .await
        .context("reading the seed branch")?;
    let refs: Vec<&str> = seed_branch.iter().map(|_| SEED_BRANCH).collect();
    let plan = taskmaster::plan(&TaskmasterInput {
        tasks: &set,
        tasks_dir: &cfg.tasks.dir,
        language,
        states: &cfg.tasks.states,
        ref_names: &refs,
        dry_run: cfg.workflow.dry_run,
    });
    let mut annotations = Vec::new();
    tasks::diagnostic::emit(&plan.diagnostics, ctx.runner.in_actions, &mut annotations)?;
    eprint!("{}", String::from_utf8_lossy(&annotations));

    let mut out = RoleOutput {
        task_id: match &plan.next {
            NextChoice::Ready { id, .. } => Some(id.to_string()),
            NextChoice::Nothing { .. } => None,
        },
        summary: plan.summary_markdown.clone(),
        ..RoleOutput::default()
    };
    if let Some(seed) = &plan.seed {
        let base = ctx
            .forge
            .branch(ctx.default_branch)
            .await?
            .with_context(|| {
                format!(
                    "the default branch {} does not exist on GitHub",
                    ctx.default_branch
                )
            })?;
        match upsert::ensure_branch(ctx.forge, &seed.branch, &base).await {
            Ok(_) | Err(ForgeError::BranchExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let present = ctx.forge.file_at(&seed.path, &seed.branch).await?;
        if present.as_deref() != Some(seed.contents.as_bytes()) {
            let change = [FileChange::write(&seed.path, seed.contents.as_bytes())];
            upsert::commit_to_branch(
                ctx.forge,
                &seed.branch,
                &seed.commit_message,
                &change,
                None,
                3,
            )
            .await?;
        }
        let request = NewPullRequest {
            title: seed.pr_title.clone(),
            head: seed.branch.clone(),
            base: ctx.default_branch.to_string(),
            body: seed.pr_body.clone(),
            draft: false,
        };
        let (pr, what) = upsert::ensure_pr(ctx.forge, &request).await?;
        if pr.number > 0 {
            out.pr_number = Some(pr.number);
            let verb = what.pr_verb();
            out.summary.push_str(&format!(
                "\nSeed pull request #{} {verb}: {}\n",
                pr.number, pr.html_url
            ));
        }
    }
    out.planned = planned();
    out.summary.push_str(&planned_markdown(&out.planned));
    Ok(out)
}
