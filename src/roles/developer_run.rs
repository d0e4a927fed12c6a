//! The Developer's deterministic path (no model): takes the CI-setup task, claims its branch
//! (creating the ref is the lock; an existing branch is resumed, never duplicated), writes the CI
//! workflow, a smoke test and the README note, flips the task to `in_review` in the same commit,
//! opens (or updates) the pull request and hands off to the reviewer by `workflow_dispatch`.

use anyhow::Context as _;

use super::ci_setup::{self, WORKFLOW_PATH};
use super::context::{RoleContext, RoleOutput, planned_markdown};
use super::taskmaster;
use crate::forge::upsert::{self, Upserted};
use crate::forge::{FileChange, Forge, ForgeError, NewPullRequest};
use crate::policy::paths::Protected;
use crate::tasks::{self, NextTask, Task};

/// What the deterministic path did, or why it did not apply.
pub enum Outcome {
    Done(RoleOutput),
    /// The task needs the model-driven developer, which this build does not have.
    NeedsModel {
        task: String,
    },
}

/// Picks the task (`task_id`, else the next eligible one) and runs the CI-setup path on it.
pub async fn run<F: Forge>(
    ctx: &RoleContext<'_, F>,
    task_id: Option<&str>,
    planned: impl Fn() -> Vec<crate::policy::PlannedWrite>,
) -> anyhow::Result<Outcome> {
    let cfg = ctx.config;
    let set = tasks::load_repo_tasks(ctx.repo_dir, &cfg.tasks.dir, &cfg.tasks.states);
    let task: Task = match task_id {
        Some(id) => set
            .get(id)
            .cloned()
            .with_context(|| format!("no task {id} under {}/ (or its file does not parse; run `codex-orchestrator tasks validate`)", cfg.tasks.dir))?,
        None => match tasks::next_task(&set.tasks) {
            NextTask::Ready { task, .. } => task.clone(),
            nothing => {
                return Ok(Outcome::Done(RoleOutput {
                    summary: format!("No task to develop: {}\n", nothing.explain()),
                    ..RoleOutput::default()
                }));
            }
        },
    };
    let id = task.id().to_string();
    if !ci_setup::is_ci_setup(&task) {
        return Ok(Outcome::NeedsModel { task: id });
    }
    let language = taskmaster::detect_language(ctx.repo_dir);
    let readme = std::fs::read_to_string(ctx.repo_dir.join("README.md")).ok();
    let files = ci_setup::files(
        language,
        ctx.default_branch,
        cfg.checks.test_command.as_deref(),
        readme.as_deref(),
    );
    let workflow = &files[0].1;
    if let Ok(p) = Protected::new(&cfg.project.protected_paths)
        && let Some(pattern) = p.matching(WORKFLOW_PATH)
        && !cfg.developer.allow_workflow_setup
    {
        let mut out = RoleOutput {
            task_id: Some(id.clone()),
            summary: format!(
                "To add it by hand, commit this as `{WORKFLOW_PATH}`:\n\n```yaml\n{workflow}```\n"
            ),
            ..RoleOutput::default()
        };
        out.failure = Some(format!(
            "{id} must write {WORKFLOW_PATH}, which is under the protected path {pattern:?}. Either add it by hand \
             (the job summary has the file), or opt in for this one file with `developer.allow_workflow_setup: true` \
             in .llm-team.yml and give the action a PAT or GitHub App token with the `workflows` permission \
             (GITHUB_TOKEN cannot push workflow files)"
        ));
        return Ok(Outcome::Done(out));
    }

    let mut task_file = task.clone();
    task_file
        .set_status("in_review")
        .with_context(|| format!("setting {id} to in_review"))?;
    let branch = format!(
        "{}{}",
        cfg.workflow.branch_prefix,
        tasks::developer_branch(task.id(), &task.meta().title).trim_start_matches("feature/")
    );
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
    let claim = match upsert::ensure_branch(ctx.forge, &branch, &base).await {
        Ok(Upserted::Created) => "claimed",
        Ok(_) | Err(ForgeError::BranchExists { .. }) => "resumed (the branch already existed)",
        Err(e) => return Err(e.into()),
    };
    let mut changes = Vec::new();
    let wanted = files
        .iter()
        .map(|(p, c)| (p.clone(), c.clone().into_bytes()))
        .chain([(task.path().to_string(), task_file.to_bytes().to_vec())]);
    for (path, content) in wanted {
        if ctx.forge.file_at(&path, &branch).await?.as_deref() != Some(content.as_slice()) {
            changes.push(FileChange::write(path, content));
        }
    }
    let title = &task.meta().title;
    if !changes.is_empty() {
        upsert::commit_to_branch(
            ctx.forge,
            &branch,
            &format!("{id}: {title}"),
            &changes,
            None,
            3,
        )
        .await?;
    }
    let test = ci_setup::test_command(language, cfg.checks.test_command.as_deref());
    let checklist: String = task
        .meta()
        .acceptance
        .iter()
        .map(|a| format!("- [ ] {a}\n"))
        .collect();
    let body = format!(
        "{checklist}\n**Tests:** not run by the deterministic path; the new CI workflow runs `{test}` on this pull request.\n\
         **Model:** none (deterministic CI-setup path). **Rounds:** 0.\n\n\
         Writing `{WORKFLOW_PATH}` needs a token with the `workflows` permission; `.github/` was opened for this one file by \
         `developer.allow_workflow_setup`.\n\nTask: {id}\n"
    );
    let request = NewPullRequest {
        title: format!("{id}: {title}"),
        head: branch.clone(),
        base: ctx.default_branch.to_string(),
        body,
        draft: false,
    };
    let (pr, what) = upsert::ensure_pr(ctx.forge, &request).await?;
    let mut summary = format!(
        "Task {id} ({title}): branch `{branch}` {claim}; {} file(s) committed.\n",
        changes.len()
    );
    if pr.number > 0 {
        summary.push_str(&format!(
            "Pull request #{} {}: {}\n",
            pr.number,
            match what {
                Upserted::Created => "opened",
                Upserted::Updated => "updated",
                Upserted::Unchanged => "unchanged",
            },
            pr.html_url
        ));
        if let Some(workflow) = &cfg.developer.review_workflow {
            let inputs = serde_json::json!({"role": "reviewer", "pr": pr.number.to_string()});
            ctx.forge
                .dispatch_workflow(workflow, &branch, &inputs)
                .await?;
            summary.push_str(&format!(
                "Handed off to the reviewer through `{workflow}` (workflow_dispatch).\n"
            ));
        }
    }
    let planned = planned();
    summary.push_str(&planned_markdown(&planned));
    Ok(Outcome::Done(RoleOutput {
        task_id: Some(id),
        pr_number: (pr.number > 0).then_some(pr.number),
        summary,
        planned,
        ..RoleOutput::default()
    }))
}
