//! The Reviewer on GitHub: gathers the pull request, its diff (from the checkout, else the API),
//! its task (from the base commit: a PR cannot rewrite the criteria it is judged by), reviews,
//! then publishes one summary comment edited in place. A re-run on an already-reviewed head
//! makes no writes at all; inline comments are never duplicated across runs.

use anyhow::Context as _;

use super::render::{head_marker, markdown};
use super::{ModelSide, ReviewInput, ReviewResult, Verdict, link, review};
use crate::forge::upsert::marker;
use crate::forge::{Forge, ForgeError, InlineComment, NewReview, ReviewEvent};
use crate::git::{Checkout, Diff, GixCheckout, parse_unified};
use crate::roles::context::{RoleContext, RoleOutput};
use crate::tasks::Task;

/// The pull request facts a review needs (from the event payload, or one API call).
#[derive(Debug, Clone)]
pub struct PrInfo {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub head_ref: String,
    pub head_sha: String,
    pub base_sha: String,
}

/// Where the diff came from, for the summary.
fn diff_from_checkout(repo_dir: &std::path::Path, base: &str, head: &str) -> Option<Diff> {
    let checkout = GixCheckout::open(repo_dir).ok()?;
    if !(checkout.has_commit(base) && checkout.has_commit(head)) {
        return None;
    }
    checkout.pr_diff(base, head).ok().map(|d| d.diff)
}

async fn diff_from_api<F: Forge>(forge: &F, number: u64) -> anyhow::Result<Diff> {
    match forge.pull_request_diff(number).await {
        Ok(text) => Ok(parse_unified(&text)),
        Err(ForgeError::DiffTooLarge { .. }) => {
            let files = forge.pull_request_files(number).await?;
            let text: String = files
                .iter()
                .map(|f| {
                    let patch = f.patch.as_deref().unwrap_or("Binary files differ");
                    format!(
                        "diff --git a/{0} b/{0}\n--- a/{0}\n+++ b/{0}\n{patch}\n",
                        f.path
                    )
                })
                .collect();
            Ok(parse_unified(&text))
        }
        Err(e) => Err(e.into()),
    }
}

/// The task file `id` as the commit `base` has it.
pub fn task_at(checkout: &dyn Checkout, base: &str, tasks_dir: &str, id: &str) -> Option<Task> {
    let dir = format!("{}/", tasks_dir.trim_end_matches('/'));
    let entry = checkout.list_files(base).ok()?.into_iter().find(|e| {
        e.path.strip_prefix(&dir).is_some_and(|name| {
            !name.contains('/')
                && name.ends_with(".md")
                && (name.starts_with(&format!("{id}-")) || name == format!("{id}.md"))
        })
    })?;
    let bytes = checkout.read_file(base, &entry.path).ok()??;
    Task::parse(&entry.path, &bytes).ok()
}

/// The verdict recorded in our comment for `head`, if that head was already reviewed.
fn already_reviewed(body: &str, head: &str) -> Option<String> {
    let m = head_marker(head);
    let at = body.find(&m)?;
    let rest = &body[at..];
    Some(
        ["request_changes", "approve", "comment"]
            .into_iter()
            .find(|v| {
                rest.lines()
                    .nth(1)
                    .is_some_and(|l| l.contains(&format!("review: {}", icon_word(v))))
            })
            .unwrap_or("comment")
            .to_string(),
    )
}

fn icon_word(v: &str) -> &'static str {
    match v {
        "approve" => "✅ approve",
        "request_changes" => "❌ request changes",
        _ => "💬 comment",
    }
}

/// Reviews pull request `pr` and publishes the result.
pub async fn run<F: Forge>(
    ctx: &RoleContext<'_, F>,
    pr: PrInfo,
    model: Option<&ModelSide<'_>>,
    usage_table: impl Fn() -> (String, Vec<super::Usage>),
) -> anyhow::Result<RoleOutput> {
    let ours = marker("reviewer");
    let comments = ctx
        .forge
        .comments(pr.number)
        .await
        .context("reading the pull request's comments")?;
    let existing = comments.iter().find(|c| c.body.contains(&ours));
    if let Some(verdict) = existing.and_then(|c| already_reviewed(&c.body, &pr.head_sha)) {
        return Ok(RoleOutput {
            pr_number: Some(pr.number),
            verdict: Some(verdict),
            summary: format!(
                "Head `{}` of #{} was already reviewed; nothing to do.\n",
                pr.head_sha, pr.number
            ),
            ..RoleOutput::default()
        });
    }

    let (diff, source) = match diff_from_checkout(ctx.repo_dir, &pr.base_sha, &pr.head_sha) {
        Some(d) => (d, "the checkout"),
        None => (
            diff_from_api(ctx.forge, pr.number)
                .await
                .context("reading the pull request's diff")?,
            "the GitHub API",
        ),
    };
    let task_id = link::linked_task(&pr.head_ref, &pr.title, &pr.body);
    let task = task_id.as_deref().and_then(|id| {
        let checkout = GixCheckout::open(ctx.repo_dir).ok()?;
        task_at(&checkout, &pr.base_sha, &ctx.config.tasks.dir, id)
    });
    let repo = std::env::var("GITHUB_REPOSITORY").unwrap_or_default();
    let input = ReviewInput {
        diff: &diff,
        config: ctx.config,
        pr_number: Some(pr.number),
        title: &pr.title,
        body: &pr.body,
        task_id: task_id.clone(),
        task: task.as_ref(),
        repo: &repo,
        head_sha: Some(pr.head_sha.clone()),
    };
    let mut result = review(&input, model).await;
    let (table, usage) = usage_table();
    result.usage = usage;
    let tokens: (u32, u32) = result.usage.iter().fold((0, 0), |a, u| {
        (a.0 + u.prompt_tokens, a.1 + u.output_tokens)
    });
    let note = (!result.usage.is_empty()).then(|| {
        format!(
            "{} tokens in / {} out, diff from {source}",
            tokens.0, tokens.1
        )
    });
    let body = format!("{ours}\n{}", markdown(&result, note.as_deref()));
    match existing {
        Some(c) => ctx.forge.update_comment(c.id, &body).await.map(|_| ())?,
        None => ctx
            .forge
            .create_comment(pr.number, &body)
            .await
            .map(|_| ())?,
    }
    publish_review(ctx, &pr, &result).await?;

    let mut out = RoleOutput {
        task_id,
        pr_number: Some(pr.number),
        verdict: Some(result.verdict.as_str().to_string()),
        // The comment itself, so observe mode and dry runs show what would have been posted.
        summary: format!(
            "{}{table}\n<details><summary>Review comment</summary>\n\n{body}\n</details>\n",
            summary_table(&result, source)
        ),
        ..RoleOutput::default()
    };
    if let Some(e) = &result.model_error {
        out.summary
            .push_str(&format!("\nModel review failed: {e}\n"));
        out.failure = Some(format!(
            "model review failed (the deterministic review was posted): {e}"
        ));
    }
    Ok(out)
}

/// Inline comments (`review.inline`) and the verdict as a review (`review.submit_review`).
async fn publish_review<F: Forge>(
    ctx: &RoleContext<'_, F>,
    pr: &PrInfo,
    r: &ReviewResult,
) -> anyhow::Result<()> {
    let cfg = &ctx.config.review;
    let mut comments = Vec::new();
    if cfg.inline && !r.findings.is_empty() {
        let have = ctx.forge.review_comments(pr.number).await?;
        for f in &r.findings {
            let body = format!("**{:?}**: {}", f.severity, f.message);
            let dup = have
                .iter()
                .any(|c| c.path == f.path && c.line == f.line && c.body == body);
            if !dup {
                comments.push(InlineComment {
                    path: f.path.clone(),
                    line: f.line,
                    body,
                });
            }
        }
    }
    let event = match (cfg.submit_review, r.verdict) {
        (true, Verdict::RequestChanges) => Some(ReviewEvent::RequestChanges),
        // Never approve without a model having looked.
        (true, Verdict::Approve) if r.model.is_some() && r.model_error.is_none() => {
            Some(ReviewEvent::Approve)
        }
        (true, _) => Some(ReviewEvent::Comment),
        (false, _) => None,
    };
    if comments.is_empty() && event.is_none() {
        return Ok(());
    }
    let review = NewReview {
        commit_id: pr.head_sha.clone(),
        body: format!(
            "codex-orchestrator: {} (see the summary comment)",
            r.verdict.as_str()
        ),
        event: event.unwrap_or(ReviewEvent::Comment),
        comments,
    };
    ctx.forge.create_review(pr.number, &review).await?;
    Ok(())
}

fn summary_table(r: &ReviewResult, source: &str) -> String {
    let met = r
        .criteria
        .iter()
        .filter(|c| c.status == super::CriterionStatus::Met)
        .count();
    let (tin, tout) = r.usage.iter().fold((0, 0), |a, u| {
        (a.0 + u.prompt_tokens, a.1 + u.output_tokens)
    });
    let secs: f64 = r.usage.iter().map(|u| u.seconds).sum();
    let tps = if secs > 0.0 { tout as f64 / secs } else { 0.0 };
    format!(
        "| Verdict | Files reviewed | Files clipped | Criteria met | Tokens in / out | tok/s | Diff from |\n|---|---|---|---|---|---|---|\n| {} | {} | {} | {met}/{} | {tin} / {tout} | {tps:.1} | {source} |\n",
        r.verdict.as_str(),
        r.files_reviewed.len(),
        r.files_clipped.len(),
        r.criteria.len(),
    )
}
