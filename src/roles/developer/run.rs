//! The Developer end to end: picks the task (the named one, else the next eligible one), looks at
//! its branch (a live claim by another run stops this one), then either takes the deterministic
//! CI-setup path (no model) or the model path (context → edits → safety → tests → fixes). The
//! result is a change set: one commit with the change and the task's flip to `in_review`, one
//! pull request (updated, never duplicated) and the hand-off to the reviewer. The one-job flow
//! also publishes a claim first and a release after a failure (`claim_changes`,
//! `release_changes`); the two-job flow writes neither (its work job cannot write).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;

use super::ci_setup::{self, WORKFLOW_PATH};
use super::claim::{self, Claim};
use super::context::{self as select, Want};
use super::session::{self, Job, Model, SessionError};
use crate::changes::{
    BranchState, ChangeSet, CommitWrite, DispatchWrite, FileWrite, PullRequestWrite, Target, Write,
};
use crate::forge::ForgeRead;
use crate::llm::{CallRecord, Ledger, LlmSettings, PromptLibrary, Route};
use crate::policy::Guard;
use crate::policy::change::{BaseTree, Limits};
use crate::policy::paths::Protected;
use crate::roles::context::{RoleContext, RoleOutput, RoundNote};
use crate::tasks::{self, NextTask, Task};
use crate::vocab::{Language, Role};

/// The model the developer talks to (absent: model `none`).
pub struct DevModel<'a> {
    pub llm: &'a dyn crate::llm::Llm,
    pub route: Route,
    pub settings: &'a LlmSettings,
    pub library: &'a PromptLibrary,
    pub ledger: &'a Ledger,
}

/// The task this run develops and where its branch stands.
#[derive(Debug, Clone)]
pub struct Picked {
    pub task: Task,
    pub branch: String,
    /// The branch's head (`None`: no branch yet).
    pub head: Option<String>,
    /// Its open pull request.
    pub open_pr: Option<u64>,
    /// Whether the branch's head is a claim this run should write (one-job flow): no branch
    /// yet, or a stale or taken-over claim.
    pub needs_claim: bool,
    /// How the branch was found, for the summary ("new", "resumed (…)").
    pub found: String,
    pub deterministic: bool,
    pub language: Language,
}

/// What picking found.
pub enum Pick {
    /// Nothing to do (no task, a task in another state, a branch another run holds, a setup
    /// that cannot run): the output says why.
    Stop(Box<RoleOutput>),
    /// The task needs a model and the developer's model is `none`.
    NeedsModel {
        task: String,
    },
    Go(Box<Picked>),
}

/// Picks the task (`task_id`, else the next eligible one) and judges its branch. `takeover`
/// takes a fresh claim by another run over (a maintainer's explicit choice).
pub async fn pick<F: ForgeRead>(
    ctx: &RoleContext<'_, F>,
    task_id: Option<&str>,
    takeover: bool,
    has_model: bool,
) -> anyhow::Result<Pick> {
    let cfg = ctx.config;
    let set = ctx.repo.tasks(&cfg.tasks.dir, &cfg.tasks.states);
    let stop = |summary: String, task: Option<String>| {
        let mut out = RoleOutput::new(ctx.changes(Role::Developer)).summary(summary);
        out.task_id = task;
        Ok(Pick::Stop(Box::new(out)))
    };
    let task: Task = match task_id {
        Some(id) => {
            let task = set
                .get(id)
                .cloned()
                .with_context(|| format!("no task {id} under {}/ (or its file does not parse; run `codex-orchestrator tasks validate`)", cfg.tasks.dir))?;
            let errors = set.errors_of(&task);
            if !errors.is_empty() {
                anyhow::bail!(
                    "{id} ({}) has errors, so it is not developed: {}. Fix the task file (`codex-orchestrator tasks validate`)",
                    task.path(),
                    errors.join("; ")
                );
            }
            task
        }
        None => {
            let pick = set.next_task();
            match pick.next {
                NextTask::Ready { task, .. } => task.clone(),
                _ => return stop(format!("No task to develop: {}\n", pick.explain()), None),
            }
        }
    };
    let id = task.id().to_string();
    if task.status() != "queued" && task.status() != "in_review" {
        return stop(
            format!(
                "{id} is `{}`: the developer takes `queued` tasks (and updates `in_review` ones). Nothing done.\n",
                task.status()
            ),
            Some(id),
        );
    }
    let deterministic = ci_setup::is_ci_setup(&task);
    if !deterministic && !has_model {
        return Ok(Pick::NeedsModel { task: id });
    }
    let language = ctx.repo.language();
    if deterministic && let Some(out) = workflow_refusal(ctx, &task, language) {
        return Ok(Pick::Stop(Box::new(out)));
    }
    let branch = tasks::naming::branch_with_prefix(
        &cfg.workflow.branch_prefix,
        task.id(),
        &task.meta().title,
    );
    let head = ctx.forge.branch(&branch).await?;
    let open_pr = ctx
        .forge
        .find_pull_request(&branch, false)
        .await?
        .map(|p| p.number);
    let (needs_claim, found) = match (&head, open_pr) {
        (None, _) => (true, "new".to_string()),
        (Some(_), Some(n)) => (
            false,
            format!("resumed (its pull request #{n} is open, so this run updates it)"),
        ),
        (Some(h), None) => {
            let claimed = ctx
                .forge
                .commit_message(h)
                .await?
                .and_then(|m| claim::parse(&m));
            let ours = claimed
                .as_ref()
                .is_some_and(|(run, _)| *run == ctx.run.run_id);
            match claim::judge(
                claimed,
                &ctx.run.run_id,
                ctx.clock.now(),
                cfg.developer.claim_ttl_minutes,
            ) {
                Claim::Busy { why } if takeover => {
                    (true, format!("taken over (--takeover: {why})"))
                }
                Claim::Busy { why } => {
                    return stop(
                        format!(
                            "{id} is taken: branch `{branch}` exists and {why}. This run leaves it alone.\n"
                        ),
                        Some(id),
                    );
                }
                Claim::Resumed { why } => (!ours, format!("resumed ({why})")),
            }
        }
    };
    Ok(Pick::Go(Box::new(Picked {
        task,
        branch,
        head,
        open_pr,
        needs_claim,
        found,
        deterministic,
        language,
    })))
}

/// One-job flow: the claim commit for `picked` (a marker commit creating the branch, or on top
/// of a stale claim), or `None` when the branch is already ours to work on.
pub fn claim_changes<F: ForgeRead>(ctx: &RoleContext<'_, F>, picked: &Picked) -> Option<ChangeSet> {
    if !picked.needs_claim {
        return None;
    }
    let mut set = ctx.changes(Role::Developer);
    set.task = Some(picked.task.id().to_string());
    let id = picked.task.id().to_string();
    set.push(Write::Commit(CommitWrite {
        branch: picked.branch.clone(),
        branch_state: if picked.head.is_some() {
            BranchState::Existing
        } else {
            BranchState::New
        },
        parent: picked.head.clone().unwrap_or_else(|| ctx.base.to_string()),
        message: claim::message(&id, &ctx.run.run_id, ctx.clock.now()),
        files: Vec::new(),
    }));
    Some(set)
}

/// One-job flow: gives a claim up with an empty commit on `head` (the claim), so the next run
/// may take the task at once.
pub fn release_changes<F: ForgeRead>(
    ctx: &RoleContext<'_, F>,
    picked: &Picked,
    head: &str,
    why: &str,
) -> ChangeSet {
    let mut set = ctx.changes(Role::Developer);
    let id = picked.task.id().to_string();
    set.task = Some(id.clone());
    set.push(Write::Commit(CommitWrite {
        branch: picked.branch.clone(),
        branch_state: BranchState::Existing,
        parent: head.to_string(),
        message: claim::release_message(&id, &ctx.run.run_id, ctx.clock.now(), why),
        files: Vec::new(),
    }));
    set
}

/// What a path produced: the files to commit, a note for the PR body and the commit message.
struct Work {
    files: BTreeMap<String, Vec<u8>>,
    pr_note: String,
    commit_note: String,
    rounds: Vec<RoundNote>,
}

/// Why the work produced no change.
struct Failed {
    message: String,
    summary: String,
    rounds: Vec<RoundNote>,
}

fn notes(rounds: &[session::Round]) -> Vec<RoundNote> {
    rounds
        .iter()
        .map(|r| RoundNote {
            round: r.round,
            outcome: r.outcome.clone(),
            tests_passed: r.tests_passed,
        })
        .collect()
}

/// Develops `picked` on top of its branch's head (or the base): the change set of the work, or
/// a failure (nothing to publish) with the reason in the summary.
pub async fn work<F: ForgeRead>(
    ctx: &RoleContext<'_, F>,
    picked: &Picked,
    model: Option<&DevModel<'_>>,
) -> anyhow::Result<RoleOutput> {
    let cfg = ctx.config;
    let task = &picked.task;
    let id = task.id().to_string();
    let branch = &picked.branch;
    let mut out = RoleOutput::new(ctx.changes(Role::Developer));
    out.changes.task = Some(id.clone());
    out.task_id = Some(id.clone());
    let work = if picked.deterministic {
        Ok(deterministic_work(ctx, picked.language))
    } else {
        let model = model.context("the developer's model path needs a model")?;
        let w = model_work(ctx, task, model, picked.language).await;
        out.llm_calls = model.ledger.records();
        w
    };
    let work = match work {
        Ok(w) => w,
        Err(failed) => {
            out.summary = format!(
                "Task {id}: branch `{branch}` {}.\n\n{}",
                picked.found, failed.summary
            );
            out.failure = Some(failed.message);
            out.rounds = failed.rounds;
            return Ok(out);
        }
    };
    out.rounds = work.rounds.clone();

    // The change and the task's flip to in_review, in one commit (only what differs from the
    // branch as it stands).
    let mut task_file = task.clone();
    task_file
        .set_status("in_review")
        .with_context(|| format!("setting {id} to in_review"))?;
    let parent = picked.head.clone().unwrap_or_else(|| ctx.base.to_string());
    let mut files = Vec::new();
    let wanted = work
        .files
        .iter()
        .map(|(p, c)| (p.clone(), c.clone()))
        .chain([(task.path().to_string(), task_file.to_bytes().to_vec())]);
    for (path, content) in wanted {
        if ctx.forge.file_at(&path, &parent).await?.as_deref() != Some(content.as_slice()) {
            let text =
                String::from_utf8(content).with_context(|| format!("{path} is not UTF-8 text"))?;
            files.push(FileWrite::text(path, text));
        }
    }
    let title = &task.meta().title;
    let changed = files.len();
    if !files.is_empty() {
        out.changes.push(Write::Commit(CommitWrite {
            branch: branch.clone(),
            branch_state: if picked.head.is_some() {
                BranchState::Existing
            } else {
                BranchState::New
            },
            parent,
            message: format!("{id}: {title}\n\n{}", work.commit_note),
            files,
        }));
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
    out.changes.push(Write::PullRequest(PullRequestWrite {
        title: format!("{id}: {title}"),
        head: branch.clone(),
        base: ctx.default_branch.to_string(),
        body,
        draft: false,
    }));
    out.summary = format!(
        "Task {id} ({title}): branch `{branch}` {}; the change touches {changed} file(s).\n\n{}\n",
        picked.found, work.pr_note
    );
    if let Some(workflow) = &cfg.developer.review_workflow {
        out.changes.push(Write::Dispatch(DispatchWrite {
            workflow: workflow.clone(),
            git_ref: branch.clone(),
            inputs: [("role".to_string(), "reviewer".to_string())].into(),
            pr_input: Some(Target::Head(branch.clone())),
        }));
        out.summary.push_str(&format!(
            "Hands the pull request to the reviewer through `{workflow}` (workflow_dispatch).\n"
        ));
    }
    Ok(out)
}

/// The CI-setup task needs `.github/workflows/ci.yml`, which is protected unless opted in.
fn workflow_refusal<F: ForgeRead>(
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
    let mut out = RoleOutput::new(ctx.changes(Role::Developer)).summary(format!(
        "To add it by hand, commit this as `{WORKFLOW_PATH}`:\n\n```yaml\n{workflow}```\n"
    ));
    out.task_id = Some(id.clone());
    out.failure = Some(format!(
        "{id} must write {WORKFLOW_PATH}, which is under the protected path {pattern:?}. Either add it by hand \
         (the job summary has the file), or opt in for this one file with `developer.allow_workflow_setup: true` \
         in .llm-team.yml and give the action a PAT or GitHub App token with the `workflows` permission \
         (GITHUB_TOKEN cannot push workflow files)"
    ));
    Some(out)
}

fn ci_files<F: ForgeRead>(ctx: &RoleContext<'_, F>, language: Language) -> Vec<(String, String)> {
    let readme = ctx
        .repo
        .read("README.md")
        .and_then(|b| String::from_utf8(b).ok());
    ci_setup::files(
        language,
        ctx.default_branch,
        ctx.config.checks.test_command.as_deref(),
        readme.as_deref(),
    )
}

fn deterministic_work<F: ForgeRead>(ctx: &RoleContext<'_, F>, language: Language) -> Work {
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
        rounds: Vec::new(),
    }
}

/// The model path. On failure returns the role output to report (with `failure` set); nothing
/// has been written to the forge then.
async fn model_work<F: ForgeRead>(
    ctx: &RoleContext<'_, F>,
    task: &Task,
    model: &DevModel<'_>,
    language: Language,
) -> Result<Work, Failed> {
    let cfg = ctx.config;
    let id = task.id().to_string();
    let fail = |msg: String, summary: String| Failed {
        message: msg,
        summary,
        rounds: Vec::new(),
    };
    let checkout = ctx.repo.git().ok_or_else(|| {
        fail(
            format!(
                "the developer needs the repository's git checkout at {} (actions/checkout with fetch-depth: 0)",
                ctx.repo.describe()
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
    let (index, cached) = select::index(checkout, &head)
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
    let secrets = ctx.run.secrets.clone();
    let test_command = match cfg.checks.test_command.as_deref() {
        _ if !ctx.tests.enabled() => None,
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
        tests: ctx.tests,
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
            tasks_dir: &cfg.tasks.dir,
            own_task: task.path(),
        },
        room,
        &read,
    );
    let context_ms = started.elapsed().as_millis();
    let job = Job {
        selection: &selection,
        ..sizing
    };
    let mut ws = ctx.repo.scratch();
    let result = session::run(&m, &job, ws.as_mut()).await;
    let strays = ws.strays();
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
    if !strays.is_empty() {
        context_note.push_str(&format!(
            "The tests changed {} file(s) in the checkout besides the edits (not published: only the model's edits are): {}.\n",
            strays.len(),
            strays.iter().map(|s| format!("`{}`", s.replace('`', "'"))).collect::<Vec<_>>().join(", ")
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
            .map(|r| {
                format!(
                    "- round {} ({}): {}\n",
                    r.round,
                    r.purpose.replace('`', "'"),
                    r.outcome.replace('`', "'")
                )
            })
            .collect()
    };
    match result {
        Ok(outcome) => {
            let tests = match &outcome.tests {
                None if !ctx.tests.enabled() => "**Tests:** not run here (tests are off on this host; the pull request's CI runs them).".into(),
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
                    outcome.rounds.len()
                ),
                pr_note,
                rounds: notes(&outcome.rounds),
            })
        }
        Err(e) => {
            let mut summary = format!(
                "**No change is proposed.** {e}\n\n{usage}\n{context_note}\n**Rounds:**\n\n{}",
                rounds_md(e.rounds())
            );
            if let SessionError::TestEnvironment { last, .. } = &e {
                summary.push_str(&format!(
                    "\nThe test run's output (end):\n\n```text\n{}\n```\n",
                    last.output.replace("```", "'''")
                ));
            }
            if let SessionError::TestsFail { last, changes, .. } = &e {
                summary.push_str(&format!(
                    "\nLast test output (end):\n\n```text\n{}\n```\n",
                    last.output.replace("```", "'''")
                ));
                summary.push_str("\nThe last attempt (not proposed):\n\n");
                for (path, content) in changes {
                    summary.push_str(&format!(
                        "`{path}`:\n\n```\n{}\n```\n",
                        String::from_utf8_lossy(content).replace("```", "'''")
                    ));
                }
            }
            Err(Failed {
                message: format!("{id}: {e}"),
                summary,
                rounds: notes(e.rounds()),
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
