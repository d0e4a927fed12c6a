//! The Developer role end to end: picks the task (the named one, else the next eligible one),
//! claims its branch (see `developer::claim`), then either takes the deterministic CI-setup path
//! (no model) or the model path (context → edits → safety → tests → fixes); the change and the
//! task's flip to `in_review` become one commit through the forge, then one pull request (updated,
//! never duplicated) and a hand-off to the reviewer.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;

use super::ci_setup::{self, WORKFLOW_PATH};
use super::context::{RoleContext, RoleOutput, planned_markdown};
use super::developer::claim::{self, Claim, RunId};
use super::developer::context::{self as select, Want};
use super::developer::safety::{BaseTree, Limits};
use super::developer::session::{self, Job, Model, SessionError};
use super::developer::workspace::Workspace;
use super::taskmaster::{self, Language};
use crate::forge::upsert;
use crate::forge::{FileChange, Forge, NewPullRequest};
use crate::git::{Checkout as _, GixCheckout};
use crate::llm::{CallRecord, Ledger, LlmSettings, PromptLibrary, Route};
use crate::policy::Guard;
use crate::policy::paths::Protected;
use crate::tasks::{self, NextTask, Task};

/// What the deterministic path did, or why it did not apply.
pub enum Outcome {
    Done(RoleOutput),
    /// The task needs a model and the developer's model is `none`.
    NeedsModel {
        task: String,
    },
}

/// The model the developer talks to (absent: model `none`).
pub struct DevModel<'a> {
    pub llm: &'a dyn crate::llm::Llm,
    pub route: Route,
    pub settings: &'a LlmSettings,
    pub library: &'a PromptLibrary,
    pub ledger: &'a Ledger,
}

/// Picks the task (`task_id`, else the next eligible one) and develops it.
pub async fn run<F: Forge>(
    ctx: &RoleContext<'_, F>,
    task_id: Option<&str>,
    model: Option<&DevModel<'_>>,
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
    if task.status() != "queued" && task.status() != "in_review" {
        return Ok(Outcome::Done(RoleOutput {
            task_id: Some(id.clone()),
            summary: format!(
                "{id} is `{}`: the developer takes `queued` tasks (and updates `in_review` ones). Nothing done.\n",
                task.status()
            ),
            ..RoleOutput::default()
        }));
    }
    let deterministic = ci_setup::is_ci_setup(&task);
    if !deterministic && model.is_none() {
        return Ok(Outcome::NeedsModel { task: id });
    }
    // Read once: the CI files and the model path's test command both depend on it.
    let language = taskmaster::detect_language(ctx.repo_dir);
    if deterministic && let Some(out) = workflow_refusal(ctx, &task, language) {
        return Ok(Outcome::Done(out));
    }

    let branch = format!(
        "{}{}",
        cfg.workflow.branch_prefix,
        tasks::developer_branch(task.id(), &task.meta().title).trim_start_matches("feature/")
    );
    let base = ctx
        .forge
        .branch(ctx.default_branch)
        .await?
        .with_context(|| format!("the default branch {} does not exist", ctx.default_branch))?;
    let open_pr = ctx.forge.find_pull_request(&branch, false).await?;
    let run_id = RunId::from_env();
    let claimed = claim::claim(
        ctx.forge,
        &branch,
        &base,
        &id,
        &run_id,
        cfg.developer.claim_ttl_minutes,
        open_pr.is_some(),
    )
    .await?;
    let claim_line = match &claimed {
        Claim::Claimed => "claimed".to_string(),
        Claim::Resumed { why } => format!("resumed ({why})"),
        Claim::Busy { why } => {
            return Ok(Outcome::Done(RoleOutput {
                task_id: Some(id.clone()),
                summary: format!(
                    "{id} is taken: branch `{branch}` exists and {why}. This run leaves it alone.\n"
                ),
                ..RoleOutput::default()
            }));
        }
    };

    let work = if deterministic {
        deterministic_work(ctx, language)
    } else {
        let model = model.expect("checked above");
        match model_work(ctx, &task, model, language).await {
            Ok(w) => w,
            Err(failed) => {
                // Give the claim up so the next run can start at once; nothing else is written.
                let why = failed.failure.clone().unwrap_or_default();
                if let Err(e) = claim::release(ctx.forge, &branch, &id, &run_id, &why).await {
                    tracing::warn!("could not release the claim on {branch}: {e}");
                }
                let mut out = failed;
                out.summary = format!(
                    "Task {id}: branch `{branch}` {claim_line}.\n\n{}",
                    out.summary
                );
                let planned = planned();
                out.summary.push_str(&planned_markdown(&planned));
                out.planned = planned;
                return Ok(Outcome::Done(out));
            }
        }
    };

    // The change and the task's flip to in_review, in one commit (only what differs).
    let mut task_file = task.clone();
    task_file
        .set_status("in_review")
        .with_context(|| format!("setting {id} to in_review"))?;
    let mut changes = Vec::new();
    let wanted = work
        .files
        .iter()
        .map(|(p, c)| (p.clone(), c.clone()))
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
            &format!("{id}: {title}\n\n{}", work.commit_note),
            &changes,
            None,
            3,
        )
        .await?;
    }
    let checklist: String = task
        .meta()
        .acceptance
        .iter()
        .map(|a| format!("- [ ] {a}\n"))
        .collect();
    let files_list: String = work
        .files
        .keys()
        .map(|p| format!("- `{}`\n", p.replace('`', "'")))
        .collect();
    let body = format!(
        "Implements {id}: {title}\n\n### Acceptance criteria\n\n{checklist}\n### Result\n\n{}\n### Files\n\n{files_list}\nTask: {id}\n",
        work.pr_note
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
        "Task {id} ({title}): branch `{branch}` {claim_line}; {} file(s) committed.\n\n{}\n",
        changes.len(),
        work.pr_note
    );
    if pr.number > 0 {
        summary.push_str(&format!(
            "Pull request #{} {}: {}\n",
            pr.number,
            what.pr_verb(),
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

/// What a path produced: the files to commit, a note for the PR body and the commit message.
struct Work {
    files: BTreeMap<String, Vec<u8>>,
    pr_note: String,
    commit_note: String,
}

/// The CI-setup task needs `.github/workflows/ci.yml`, which is protected unless opted in.
fn workflow_refusal<F: Forge>(
    ctx: &RoleContext<'_, F>,
    task: &Task,
    language: Language,
) -> Option<RoleOutput> {
    let cfg = ctx.config;
    let id = task.id().to_string();
    let p = Protected::new(&cfg.project.protected_paths).ok()?;
    let pattern = p.matching(WORKFLOW_PATH)?;
    if cfg.developer.allow_workflow_setup {
        return None;
    }
    let (_, workflow) = ci_files(ctx, language).into_iter().next()?;
    Some(RoleOutput {
        task_id: Some(id.clone()),
        summary: format!(
            "To add it by hand, commit this as `{WORKFLOW_PATH}`:\n\n```yaml\n{workflow}```\n"
        ),
        failure: Some(format!(
            "{id} must write {WORKFLOW_PATH}, which is under the protected path {pattern:?}. Either add it by hand \
             (the job summary has the file), or opt in for this one file with `developer.allow_workflow_setup: true` \
             in .llm-team.yml and give the action a PAT or GitHub App token with the `workflows` permission \
             (GITHUB_TOKEN cannot push workflow files)"
        )),
        ..RoleOutput::default()
    })
}

fn ci_files<F: Forge>(ctx: &RoleContext<'_, F>, language: Language) -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(ctx.repo_dir.join("README.md")).ok();
    ci_setup::files(
        language,
        ctx.default_branch,
        ctx.config.checks.test_command.as_deref(),
        readme.as_deref(),
    )
}

fn deterministic_work<F: Forge>(ctx: &RoleContext<'_, F>, language: Language) -> Work {
    let test = ci_setup::test_command(language, ctx.config.checks.test_command.as_deref());
    Work {
        files: ci_files(ctx, language)
            .into_iter()
            .map(|(p, c)| (p, c.into_bytes()))
            .collect(),
        pr_note: format!(
            "**Tests:** not run by the deterministic path; the new CI workflow runs `{test}` on this pull request.\n\
             **Model:** none (deterministic CI-setup path). **Rounds:** 0.\n\n\
             Writing `{WORKFLOW_PATH}` needs a token with the `workflows` permission; `.github/` was opened for this one file by \
             `developer.allow_workflow_setup`.\n"
        ),
        commit_note: "Deterministic CI setup by codex-orchestrator (no model).".into(),
    }
}

/// The model path. On failure returns the role output to report (with `failure` set); nothing
/// has been written to the forge then.
async fn model_work<F: Forge>(
    ctx: &RoleContext<'_, F>,
    task: &Task,
    model: &DevModel<'_>,
    language: Language,
) -> Result<Work, RoleOutput> {
    let cfg = ctx.config;
    let id = task.id().to_string();
    let fail = |msg: String, summary: String| RoleOutput {
        task_id: Some(id.clone()),
        summary,
        failure: Some(msg),
        llm_calls: model.ledger.records(),
        ..RoleOutput::default()
    };
    let checkout = GixCheckout::open(ctx.repo_dir).map_err(|e| {
        fail(
            format!(
                "the developer needs the repository's git checkout at {}: {e}",
                ctx.repo_dir.display()
            ),
            String::new(),
        )
    })?;
    let head = checkout.resolve("HEAD").map_err(|e| {
        fail(
            format!("cannot read HEAD of the checkout: {e}"),
            String::new(),
        )
    })?;
    let started = std::time::Instant::now();
    let (index, cached) = select::index(&checkout, &head)
        .map_err(|e| fail(format!("cannot index the checkout: {e:#}"), String::new()))?;
    let entries = checkout
        .list_files_without_sizes(&head)
        .map_err(|e| fail(format!("cannot list the checkout: {e}"), String::new()))?;
    let read = |p: &str| -> Option<String> {
        checkout
            .read_file(&head, p)
            .ok()
            .flatten()
            .and_then(|b| String::from_utf8(b).ok())
    };
    let model_name = model.route.model.clone().unwrap_or_default();
    let budget = model
        .llm
        .budget(&model_name, Some(session::ANSWER_TOKENS))
        .await
        .map_err(|e| fail(format!("{e}"), String::new()))?;
    let answer = session::ANSWER_TOKENS.min(budget.num_ctx / 4);
    let prompt_room = budget.prompt_room() + budget.reserved_output.saturating_sub(answer);
    let meta = task.meta();
    let want_text = format!(
        "{}\n{}\n{}",
        meta.title,
        meta.acceptance.join("\n"),
        task.body()
    );
    let guard = Guard::new(cfg, ctx.default_branch)
        .map_err(|e| fail(format!("bad protected path pattern: {e}"), String::new()))?;
    let base = BaseTree::new(&entries);
    let limits = Limits::from_config(&cfg.developer);
    let secrets: Vec<String> = cfg
        .github
        .token
        .iter()
        .map(|t| t.expose().to_string())
        .chain(
            std::env::var("OPENAI_API_KEY")
                .ok()
                .filter(|k| !k.is_empty()),
        )
        .collect();
    let test_command = match cfg.checks.test_command.as_deref() {
        Some(c) if !c.trim().is_empty() => Some(c.to_string()),
        _ if language == Language::Generic => None,
        _ => Some(ci_setup::test_command(language, None)),
    };
    let empty = select::Selection::default();
    let sizing = Job {
        task,
        selection: &empty,
        test_command: test_command.clone(),
        test_timeout: Duration::from_secs(cfg.developer.test_timeout_secs),
        max_rounds: cfg.developer.max_rounds,
        require_tests: cfg.checks.require_tests,
        guard: &guard,
        base: &base,
        limits: &limits,
        secrets: &secrets,
        original: &read,
    };
    let m = Model {
        llm: model.llm,
        route: &model.route,
        settings: model.settings,
        library: model.library,
        repo: &cfg.project.name,
        answer_tokens: answer,
    };
    let fixed =
        session::prompt_tokens(&m, &sizing).map_err(|e| fail(e.to_string(), String::new()))?;
    // The conversation keeps the last answer and one feedback message besides the first prompt.
    let history = answer + 1800;
    let room = prompt_room.saturating_sub(fixed + history);
    if room < 300 {
        return Err(fail(
            format!(
                "the model {model_name} has a context of {} tokens, too small for the developer (the prompt needs {} \
                 before any file); use a model with a larger context (llm.num_ctx) or `--boost`",
                budget.num_ctx,
                fixed + history + 300
            ),
            String::new(),
        ));
    }
    let selection = select::select(
        &index,
        &Want {
            text: want_text,
            named: &meta.files,
        },
        room,
        &read,
    );
    let context_ms = started.elapsed().as_millis();
    let job = Job {
        selection: &selection,
        ..sizing
    };
    let mut ws = Workspace::new(ctx.repo_dir);
    let result = session::run(&m, &job, &mut ws).await;
    let restore_failed = ws.restore();
    drop(ws);
    let shown: Vec<String> = selection
        .files
        .iter()
        .map(|f| format!("`{}` ({})", f.path, f.why))
        .collect();
    let mut context_note = format!(
        "**Context:** {} file(s) shown ({}), a map of {} tracked file(s); chosen in {context_ms} ms{}.\n",
        selection.files.len(),
        if shown.is_empty() {
            "none".into()
        } else {
            shown.join(", ")
        },
        index.files.len(),
        if cached { ", index from the cache" } else { "" }
    );
    if !selection.left_out.is_empty() {
        context_note.push_str(&format!(
            "Not shown (did not fit): {}.\n",
            selection.left_out.join(", ")
        ));
    }
    if !restore_failed.is_empty() {
        context_note.push_str(&format!(
            "Warning: could not restore {} in the checkout.\n",
            restore_failed.join(", ")
        ));
    }
    let calls = model.ledger.records();
    let usage = usage_line(&model_name, model.route.boosted, &calls);
    let rounds_md = |rounds: &[session::Round]| -> String {
        rounds
            .iter()
            .enumerate()
            .map(|(i, r)| {
                format!(
                    "{}. round {}: {}\n",
                    i + 1,
                    r.round,
                    r.outcome.replace('`', "'")
                )
            })
            .collect()
    };
    match result {
        Ok(outcome) => {
            let tests = match &outcome.tests {
                Some(t) => format!(
                    "**Tests:** `{}` passed in {:.1} s after {} fix round(s) (at most {}).",
                    t.command,
                    t.duration.as_secs_f64(),
                    outcome.fix_rounds,
                    cfg.developer.max_rounds
                ),
                None => "**Tests:** none run: no test command (set `checks.test_command`).".into(),
            };
            let pr_note = format!(
                "{tests}\n{usage}\n{context_note}\n**Rounds:**\n\n{}",
                rounds_md(&outcome.rounds)
            );
            Ok(Work {
                files: outcome.changes,
                commit_note: format!(
                    "Developed by codex-orchestrator with {model_name} in {} round(s).",
                    outcome.fix_rounds + 1
                ),
                pr_note,
            })
        }
        Err(e) => {
            let mut summary = format!(
                "**Nothing was committed.** {e}\n\n{usage}\n{context_note}\n**Rounds:**\n\n{}",
                rounds_md(e.rounds())
            );
            if let SessionError::TestsFail { last, changes, .. } = &e {
                summary.push_str(&format!(
                    "\nLast test output (end):\n\n```text\n{}\n```\n",
                    last.output.replace("```", "'''")
                ));
                summary.push_str("\nThe last attempt (not committed):\n\n");
                for (path, content) in changes {
                    summary.push_str(&format!(
                        "`{path}`:\n\n```\n{}\n```\n",
                        String::from_utf8_lossy(content).replace("```", "'''")
                    ));
                }
            }
            Err(RoleOutput {
                task_id: Some(id.clone()),
                summary,
                failure: Some(format!("{id}: {e}")),
                llm_calls: calls,
                ..RoleOutput::default()
            })
        }
    }
}

fn usage_line(model: &str, boosted: bool, calls: &[CallRecord]) -> String {
    let prompt: u64 = calls.iter().map(|c| u64::from(c.prompt_tokens)).sum();
    let output: u64 = calls.iter().map(|c| u64::from(c.output_tokens)).sum();
    let secs: f64 = calls.iter().map(|c| c.total_seconds).sum();
    format!(
        "**Model:** {model}{} — {} call(s), {prompt} prompt + {output} output tokens, {secs:.1} s.",
        if boosted { " (boost)" } else { "" },
        calls.len()
    )
}
