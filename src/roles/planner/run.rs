//! Runs the Planner: PRD from the checkout → model proposals → checked plan → a change set with
//! one pull request from `plan/<prd-hash>` holding the new task files. Re-running on the same
//! PRD updates that branch and pull request (same ids), never opens a second one.

use anyhow::Context as _;

use super::model::{self, ModelSide};
use super::plan::{self, Plan, PlanContext};
use crate::changes::{BranchState, CommitWrite, FileWrite, PullRequestWrite, Write};
use crate::forge::{ForgeRead, PrState};
use crate::roles::context::{RoleContext, RoleOutput};
use crate::tasks::{self, TaskId};
use crate::vocab::Role;
use crate::vocab::markdown::inert;

/// Planning branches: `plan/<first 10 hex digits of the PRD's FNV-1a hash>`.
pub const BRANCH_PREFIX: &str = crate::vocab::branches::PLAN_PREFIX;
/// The hidden line in the PR body that remembers which files this plan wrote.
pub const MARKER: &str = "<!-- codex-orchestrator:planner";

/// A short, stable fingerprint of the PRD bytes (FNV-1a, 64 bits, first 10 hex digits).
pub fn prd_hash(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")[..10].to_string()
}

/// The task files a previous run of this plan listed in its PR body (task files directly in the
/// tasks directory only; anything else in an edited body is ignored).
fn previous_files(body: &str, tasks_dir: &str) -> Vec<String> {
    let dir = format!("{}/", tasks_dir.trim_end_matches('/'));
    let Some(start) = body.find(MARKER) else {
        return Vec::new();
    };
    let line = &body[start..];
    let line = &line[..line.find("-->").unwrap_or(line.len())];
    line.split_whitespace()
        .filter_map(|w| w.strip_prefix("files="))
        .flat_map(|list| list.split(','))
        .filter(|p| {
            p.strip_prefix(&dir).is_some_and(|name| {
                !name.contains('/')
                    && !name.contains("..")
                    && crate::tasks::load::is_task_file_name(name)
            })
        })
        .map(str::to_string)
        .collect()
}

fn range(plan: &Plan) -> String {
    match (plan.added.first(), plan.added.last()) {
        (Some(a), Some(b)) if a.id != b.id => format!("{}–{}", a.id, b.id),
        (Some(a), _) => a.id.to_string(),
        _ => String::new(),
    }
}

/// The added and skipped lists, for the PR body and the summary.
fn lists(plan: &Plan, proposals: &model::Proposals) -> String {
    let unplanned = &proposals.unplanned;
    let mut md = String::new();
    if !proposals.split.is_empty() {
        md.push_str("**Split** (estimated above one day, so the model split them):\n\n");
        for (title, n) in &proposals.split {
            md.push_str(&format!("- {} → {n} tasks\n", inert(title)));
        }
        md.push('\n');
    }
    if !plan.added.is_empty() {
        md.push_str("**Added**\n\n| Task | Title | File | From |\n|---|---|---|---|\n");
        for t in &plan.added {
            md.push_str(&format!(
                "| {} | {} | `{}` | {} |\n",
                t.id,
                inert(&t.title),
                t.path,
                inert(&t.source)
            ));
        }
        md.push('\n');
    }
    if !plan.skipped.is_empty() {
        md.push_str("**Skipped**\n\n");
        for s in &plan.skipped {
            md.push_str(&format!("- {}: {}\n", inert(&s.title), inert(&s.reason)));
        }
        md.push('\n');
    }
    if !unplanned.is_empty() {
        md.push_str(&format!(
            "**Not planned** (the PRD needs more than {} model calls; split it, or plan again after this merges): {}\n\n",
            model::MAX_PARTS,
            inert(&unplanned.join("; "))
        ));
    }
    md
}

pub async fn run<F: ForgeRead>(
    ctx: &RoleContext<'_, F>,
    side: &ModelSide<'_>,
) -> anyhow::Result<RoleOutput> {
    let cfg = ctx.config;
    let prd_path = cfg.project.prd_path.trim_start_matches("./");
    let prd_bytes = ctx.repo.read(prd_path).with_context(|| {
        format!(
            "cannot read the PRD {prd_path} in the checkout; write it there, or point \
             project.prd_path in .llm-team.yml at it"
        )
    })?;
    let prd_text = String::from_utf8(prd_bytes.clone())
        .map_err(|_| anyhow::anyhow!("{prd_path} is not UTF-8 text; save it as UTF-8"))?;
    if prd_text.trim().is_empty() {
        anyhow::bail!("{prd_path} is empty: write the product requirements there first");
    }
    let set = ctx.repo.tasks(&cfg.tasks.dir, &cfg.tasks.states);
    let template = ctx
        .repo
        .read(&format!(
            "{}/_template.md",
            cfg.tasks.dir.trim_end_matches('/')
        ))
        .and_then(|b| String::from_utf8(b).ok());
    let branch = format!("{BRANCH_PREFIX}{}", prd_hash(&prd_bytes));
    let mut out = RoleOutput::new(ctx.changes(Role::Planner));

    let existing_pr = ctx.forge.find_pull_request(&branch, true).await?;
    if let Some(pr) = existing_pr.as_ref().filter(|p| p.state == PrState::Closed) {
        out.summary = if pr.merged {
            format!(
                "The plan for this version of {prd_path} was merged in PR #{}; nothing to do. Change the PRD to plan again.\n",
                pr.number
            )
        } else {
            format!(
                "The plan for this version of {prd_path} (PR #{}, branch `{branch}`) was closed without merging; \
                 not proposing it again. Change the PRD, or delete the branch `{branch}`, to plan again.\n",
                pr.number
            )
        };
        return Ok(out);
    }
    // The files an earlier run listed, from its pull request's body: only when we opened it
    // (anyone with write access can edit a body).
    let previous = existing_pr
        .as_ref()
        .filter(|p| ctx.run.login.as_deref().is_none_or(|me| me == p.author))
        .map(|p| previous_files(&p.body, &cfg.tasks.dir))
        .unwrap_or_default();

    let proposals = model::propose(side, prd_path, &prd_text, &set.tasks)
        .await
        .context("asking the planner model for tasks")?;

    // Ids: above every id taken on the default branch, the proposing branches and the open
    // pull requests (not this plan's own); a re-run keeps its earlier range while it is free.
    let taken = crate::roles::ids::reservations(ctx.forge, &set, &cfg.tasks.dir)
        .await?
        .without_branch(&branch);
    let earlier: Vec<TaskId> = previous
        .iter()
        .flat_map(|p| tasks::id::ids_in_text(p))
        .collect();
    let reuse = earlier.iter().min().copied();
    let mint = |n: usize| -> Vec<TaskId> {
        if let Some(first) = reuse {
            let range: Vec<TaskId> = (0..n as u32).map(|k| TaskId(first.number() + k)).collect();
            if taken.collisions(&range).is_empty() {
                return range;
            }
        }
        match taken.mint_ids(n) {
            Ok(ids) => ids,
            Err(_) => {
                let known: Vec<TaskId> = set.tasks.iter().map(|t| t.id()).collect();
                tasks::mint_ids(n, known, &[])
            }
        }
    };
    let plan = plan::plan(
        &proposals.tasks,
        &PlanContext {
            existing: &set.tasks,
            states: &cfg.tasks.states,
            tasks_dir: &cfg.tasks.dir,
            template: template.as_deref(),
            prd_path,
        },
        mint,
    );

    out.task_id = plan.added.first().map(|t| t.id.to_string());
    out.summary = format!(
        "Planned from `{prd_path}` ({} part(s), {} model call(s)): {} task(s) added, {} skipped.\n\n",
        proposals.parts.min(model::MAX_PARTS),
        proposals.calls,
        plan.added.len(),
        plan.skipped.len()
    );
    out.summary.push_str(&lists(&plan, &proposals));
    if template.is_some() && plan.added.iter().any(|t| !t.from_template) {
        out.summary.push_str(&format!(
            "`{}/_template.md` could not be used for every file (no front matter, or the result did not read \
             back as the task); those files use the built-in layout.\n\n",
            cfg.tasks.dir
        ));
    }
    if plan.added.is_empty() {
        out.summary
            .push_str("Nothing new to add, so no pull request is proposed or changed.\n");
        return Ok(out);
    }

    let head = ctx.forge.branch(&branch).await?;
    let at = head.clone().unwrap_or_else(|| ctx.base.to_string());
    let mut changes = Vec::new();
    for t in &plan.added {
        if ctx.forge.file_at(&t.path, &at).await?.as_deref() != Some(t.contents.as_bytes()) {
            changes.push(FileWrite::text(&t.path, &t.contents));
        }
    }
    for old in previous
        .iter()
        .filter(|p| !plan.added.iter().any(|t| t.path == **p))
    {
        if ctx.forge.file_at(old, &at).await?.is_some() {
            changes.push(FileWrite::delete(old));
        }
    }
    let range = range(&plan);
    if !changes.is_empty() {
        out.changes.push(Write::Commit(CommitWrite {
            branch: branch.clone(),
            branch_state: if head.is_some() {
                BranchState::Existing
            } else {
                BranchState::New
            },
            parent: at,
            message: format!("Plan {range} from {prd_path}"),
            files: changes,
        }));
    }
    let files: Vec<&str> = plan.added.iter().map(|t| t.path.as_str()).collect();
    let body = format!(
        "The planner read `{prd_path}` and proposes {} task(s). Review them like code: merge to queue them, \
         edit the files on this branch, or close the pull request to drop the plan.\n\n{}{MARKER} files={} -->\n",
        plan.added.len(),
        lists(&plan, &proposals),
        files.join(",")
    );
    out.changes.push(Write::PullRequest(PullRequestWrite {
        title: format!(
            "Plan: {} task(s) from {prd_path} ({range})",
            plan.added.len()
        ),
        head: branch.clone(),
        base: ctx.default_branch.to_string(),
        body,
        draft: false,
    }));
    out.summary.push_str(&format!(
        "Proposes the planning pull request from `{branch}`.\n"
    ));
    out.summary
        .push_str("\n<details><summary>The task files of this plan</summary>\n");
    for t in &plan.added {
        out.summary.push_str(&format!(
            "\n`{}`\n\n````markdown\n{}````\n",
            t.path,
            t.contents.replace("````", "'''")
        ));
    }
    out.summary.push_str("</details>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_only_task_files_in_the_tasks_dir() {
        let body = format!(
            "x\n{MARKER} files=tasks/T-0010-a.md,../etc/passwd,tasks/sub/T-0011.md,src/x.md,tasks/T-0012.md -->\n"
        );
        assert_eq!(
            previous_files(&body, "tasks"),
            ["tasks/T-0010-a.md", "tasks/T-0012.md"]
        );
        assert_eq!(prd_hash(b"abc"), prd_hash(b"abc"));
        assert_ne!(prd_hash(b"abc"), prd_hash(b"abd"));
        assert_eq!(prd_hash(b"").len(), 10);
    }
}
