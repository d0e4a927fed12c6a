//! The Reviewer on a pull request: gathers the diff (from the checkout, else the API), its task
//! (from the base commit: a PR cannot rewrite the criteria it is judged by), reviews, and plans
//! one summary comment edited in place (plus the review, with `review.submit_review`). What was
//! reviewed before is read only from our own comments and reviews: a look-alike written by
//! anyone else is ignored and named. A head is done only when its review is complete and every
//! intended write exists; a failed model review is redone on the next run.

use anyhow::Context as _;

use super::render::markdown;
use super::{ModelSide, ReviewInput, ReviewResult, Verdict, review};
use crate::changes::{CommentWrite, ReviewWrite, Target, Write};
use crate::forge::{Comment, ForgeError, ForgeRead, InlineComment, ReviewEvent};
use crate::git::{Checkout, Diff, parse_unified};
use crate::roles::context::{RoleContext, RoleOutput};
use crate::tasks::Task;
use crate::vocab::Role;
use crate::vocab::branches::marker;

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

/// The hidden line our comment carries about the head it reviewed.
const STATE: &str = "<!-- codex-orchestrator:reviewer-state";

/// The state line for `head`: the verdict, and whether the review was complete (a model that
/// failed leaves it incomplete, so the next run reviews the same head again).
fn state_line(head: &str, verdict: Verdict, complete: bool) -> String {
    format!(
        "{STATE} head={head} verdict={} complete={complete} -->",
        verdict.as_str()
    )
}

/// (head, verdict, complete) from our comment's state line.
fn read_state(body: &str) -> Option<(String, String, bool)> {
    let at = body.find(STATE)?;
    let line = &body[at + STATE.len()..];
    let line = &line[..line.find("-->")?];
    let mut head = None;
    let mut verdict = None;
    let mut complete = false;
    for part in line.split_whitespace() {
        if let Some(v) = part.strip_prefix("head=") {
            head = Some(v.to_string());
        } else if let Some(v) = part.strip_prefix("verdict=") {
            verdict = Some(v.to_string());
        } else if let Some(v) = part.strip_prefix("complete=") {
            complete = v == "true";
        }
    }
    Some((head?, verdict?, complete))
}

/// The marker of our review of `head`.
fn review_marker(head: &str) -> String {
    format!("<!-- codex-orchestrator:review head={head} -->")
}

fn diff_from_checkout(git: Option<&dyn Checkout>, base: &str, head: &str) -> Option<Diff> {
    let checkout = git?;
    if !(checkout.has_commit(base) && checkout.has_commit(head)) {
        return None;
    }
    checkout.pr_diff(base, head).ok().map(|d| d.diff)
}

async fn diff_from_api<F: ForgeRead>(forge: &F, number: u64) -> anyhow::Result<Diff> {
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

/// Our comment (by its marker and our login) and the look-alikes others wrote.
fn ours<'c>(
    comments: &'c [Comment],
    mark: &str,
    login: Option<&str>,
) -> (Option<&'c Comment>, usize) {
    let mut mine = None;
    let mut fakes = 0;
    for c in comments
        .iter()
        .filter(|c| c.body.contains(mark) || c.body.contains(STATE))
    {
        match login {
            Some(me) if c.author == me => {
                if mine.is_none() {
                    mine = Some(c);
                }
            }
            _ => fakes += 1,
        }
    }
    (mine, fakes)
}

fn verdict_of(word: &str) -> Verdict {
    match word {
        "approve" => Verdict::Approve,
        "request_changes" => Verdict::RequestChanges,
        _ => Verdict::Comment,
    }
}

fn review_event(submit: bool, verdict: Verdict, model_ok: bool) -> Option<ReviewEvent> {
    match (submit, verdict) {
        (false, _) => None,
        (true, Verdict::RequestChanges) => Some(ReviewEvent::RequestChanges),
        // Never approve without a model having looked.
        (true, Verdict::Approve) if model_ok => Some(ReviewEvent::Approve),
        (true, _) => Some(ReviewEvent::Comment),
    }
}

/// Reviews pull request `pr` and returns the comment (and review) to publish.
pub async fn run<F: ForgeRead>(
    ctx: &RoleContext<'_, F>,
    pr: PrInfo,
    model: Option<&ModelSide<'_>>,
    usage_table: impl Fn() -> (String, Vec<super::Usage>),
) -> anyhow::Result<RoleOutput> {
    let mark = marker("reviewer");
    let login = ctx.run.login.as_deref();
    let comments = ctx
        .forge
        .comments(pr.number)
        .await
        .context("reading the pull request's comments")?;
    let (mine, fakes) = ours(&comments, &mark, login);
    let mut out = RoleOutput::new(ctx.changes(Role::Reviewer));
    out.pr_number = Some(pr.number);
    let mut notes = String::new();
    if fakes > 0 {
        notes.push_str(&format!(
            "\n**Note:** {fakes} comment(s) on #{} carry the reviewer's marker but were not written by {}; they were \
             ignored (a look-alike cannot mark a head as reviewed).\n",
            pr.number,
            login.unwrap_or("this run's account")
        ));
    }
    if login.is_none() {
        notes.push_str(
            "\n**Note:** the account this token acts as is unknown, so no earlier review is trusted; set CODEX_BOT_LOGIN.\n",
        );
    }
    let submit = ctx.config.review.submit_review;
    if let Some((head, verdict, true)) = mine.and_then(|c| read_state(&c.body))
        && head == pr.head_sha
    {
        let verdict = verdict_of(&verdict);
        let need_review = match review_event(submit, verdict, true) {
            Some(event) => {
                let m = review_marker(&pr.head_sha);
                let done = ctx.forge.reviews(pr.number).await?.into_iter().any(|r| {
                    login.is_some_and(|me| r.author == me)
                        && r.commit_id.as_deref() == Some(pr.head_sha.as_str())
                        && r.body.contains(&m)
                });
                (!done).then_some((event, m))
            }
            None => None,
        };
        out.verdict = Some(verdict.as_str().to_string());
        match need_review {
            None => {
                out.summary = format!(
                    "Head `{}` of #{} was already reviewed ({}); nothing to do.\n{notes}",
                    pr.head_sha,
                    pr.number,
                    verdict.as_str()
                );
            }
            Some((event, m)) => {
                out.summary = format!(
                    "Head `{}` of #{} was already reviewed ({}), but its review was not submitted; submitting it.\n{notes}",
                    pr.head_sha,
                    pr.number,
                    verdict.as_str()
                );
                out.changes.push(Write::Review(ReviewWrite {
                    on: Target::Pr(pr.number),
                    commit_id: pr.head_sha.clone(),
                    event,
                    body: format!(
                        "{m}\ncodex-orchestrator: {} (see the summary comment)",
                        verdict.as_str()
                    ),
                    marker: m,
                    comments: Vec::new(),
                }));
            }
        }
        return Ok(out);
    }

    let (diff, source) = match diff_from_checkout(ctx.repo.git(), &pr.base_sha, &pr.head_sha) {
        Some(d) => (d, "the checkout"),
        None => (
            diff_from_api(ctx.forge, pr.number)
                .await
                .context("reading the pull request's diff")?,
            "the GitHub API",
        ),
    };
    let task_id = crate::tasks::link_pull_request(
        &ctx.config.workflow.branch_prefix,
        &pr.head_ref,
        &pr.title,
        &pr.body,
    )
    .ok()
    .and_then(|l| l.task)
    .map(|t| t.to_string());
    let task = task_id
        .as_deref()
        .and_then(|id| task_at(ctx.repo.git()?, &pr.base_sha, &ctx.config.tasks.dir, id));
    let input = ReviewInput {
        diff: &diff,
        config: ctx.config,
        pr_number: Some(pr.number),
        title: &pr.title,
        body: &pr.body,
        task_id: task_id.clone(),
        task: task.as_ref(),
        repo: &ctx.run.repository,
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
    let complete = result.model_error.is_none();
    let body = format!(
        "{mark}\n{}\n{}",
        state_line(&pr.head_sha, result.verdict, complete),
        markdown(&result, note.as_deref())
    );
    out.changes.push(Write::Comment(CommentWrite {
        on: Target::Pr(pr.number),
        marker: mark.clone(),
        body: body.clone(),
    }));
    if let Some(w) = review_write(ctx, &pr, &result).await? {
        out.changes.push(w);
    }
    out.task_id = task_id;
    out.verdict = Some(result.verdict.as_str().to_string());
    out.detail = serde_json::to_value(&result).ok();
    // The comment itself, so observe mode and dry runs show what would be posted.
    out.summary = format!(
        "{}{table}\n<details><summary>Review comment</summary>\n\n{body}\n</details>\n{notes}",
        summary_table(&result, source)
    );
    if let Some(e) = &result.model_error {
        out.summary
            .push_str(&format!("\nModel review failed: {e}\n"));
        out.failure = Some(format!(
            "model review failed (the deterministic review is published; the next run on this head reviews it again): {e}"
        ));
    }
    Ok(out)
}

/// Inline comments (`review.inline`) and the verdict as a review (`review.submit_review`).
async fn review_write<F: ForgeRead>(
    ctx: &RoleContext<'_, F>,
    pr: &PrInfo,
    r: &ReviewResult,
) -> anyhow::Result<Option<Write>> {
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
    let model_ok = r.model.is_some() && r.model_error.is_none();
    let event = review_event(cfg.submit_review, r.verdict, model_ok);
    if comments.is_empty() && event.is_none() {
        return Ok(None);
    }
    let m = review_marker(&pr.head_sha);
    Ok(Some(Write::Review(ReviewWrite {
        on: Target::Pr(pr.number),
        commit_id: pr.head_sha.clone(),
        event: event.unwrap_or(ReviewEvent::Comment),
        body: format!(
            "{m}\ncodex-orchestrator: {} (see the summary comment)",
            r.verdict.as_str()
        ),
        marker: m,
        comments,
    })))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_line_round_trips_and_only_ours_counts() {
        let line = state_line(&"a".repeat(40), Verdict::Approve, false);
        assert_eq!(
            read_state(&format!("x\n{line}\n")),
            Some(("a".repeat(40), "approve".into(), false))
        );
        let mark = marker("reviewer");
        let comments = vec![
            Comment {
                id: 1,
                body: format!("{mark}\n{line}"),
                author: "mallory".into(),
            },
            Comment {
                id: 2,
                body: format!("{mark}\nours"),
                author: "codex-bot".into(),
            },
        ];
        let (mine, fakes) = ours(&comments, &mark, Some("codex-bot"));
        assert_eq!(mine.map(|c| c.id), Some(2));
        assert_eq!(fakes, 1);
        let (none, fakes) = ours(&comments, &mark, None);
        assert!(none.is_none());
        assert_eq!(fakes, 2);
    }
}
