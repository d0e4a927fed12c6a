//! Polling, for servers GitHub cannot reach (behind NAT) and as the periodic reconciliation
//! that catches missed webhooks: per repository, the open pull requests (the Reviewer once per
//! new head) and the recently closed ones (the Integrator once per pull request), each as a
//! conditional GET whose ETag is kept per credential name, so a token that rotates keeps
//! getting free 304s. The pace follows activity, the remaining budget and `X-Poll-Interval`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use crate::config::Mode;
use crate::event::{Decision, Event, RouteSettings, route};
use crate::forge::RepoId;
use crate::forge::github::poll::{PolledPull, Poller, RateLimit, parse_pulls};
use crate::roles::Role;

use super::App;
use super::credentials::Purpose;
use super::store::{Cached, Enqueued, JobState, NewJob, Repo, now_ms};

/// One repository's poll.
#[derive(Debug, Clone, Serialize)]
pub struct RepoPoll {
    pub id: i64,
    pub full_name: String,
    pub requests: u32,
    pub not_modified: u32,
    pub open_pulls: Option<usize>,
    pub queued: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A poll cycle over every repository.
#[derive(Debug, Clone, Serialize)]
pub struct PollSummary {
    pub repos: Vec<RepoPoll>,
    /// The last rate-limit headers seen, per credential name.
    pub rate_limit: BTreeMap<String, RateLimit>,
    pub requests: u32,
    pub not_modified: u32,
    /// When to poll again, in seconds.
    pub next_interval: u64,
    pub next_interval_reason: String,
}

/// Polls every enabled repository (or just `only`) once.
pub async fn poll_once(app: &App, only: Option<i64>) -> PollSummary {
    let repos = match app.store.repos() {
        Ok(r) => r,
        Err(e) => {
            return PollSummary {
                repos: vec![],
                rate_limit: BTreeMap::new(),
                requests: 0,
                not_modified: 0,
                next_interval: app.settings.poll_idle.as_secs(),
                next_interval_reason: format!("the state database failed: {e}"),
            };
        }
    };
    let mut summary = PollSummary {
        repos: Vec::new(),
        rate_limit: BTreeMap::new(),
        requests: 0,
        not_modified: 0,
        next_interval: 0,
        next_interval_reason: String::new(),
    };
    let mut poll_interval = 0;
    for repo in repos
        .into_iter()
        .filter(|r| only.is_none_or(|id| id == r.id) && r.mode != Mode::Disabled)
    {
        let mut one = RepoPoll {
            id: repo.id,
            full_name: repo.full_name.clone(),
            requests: 0,
            not_modified: 0,
            open_pulls: None,
            queued: Vec::new(),
            error: None,
        };
        if let Err(e) = poll_repo(
            app,
            &repo,
            &mut one,
            &mut summary.rate_limit,
            &mut poll_interval,
        )
        .await
        {
            one.error = Some(app.redactor.redact(&e));
        }
        summary.requests += one.requests;
        summary.not_modified += one.not_modified;
        summary.repos.push(one);
    }
    let (next, why) = pace(app, &summary, poll_interval);
    summary.next_interval = next;
    summary.next_interval_reason = why;
    for (cred, rate) in &summary.rate_limit {
        if let Some(r) = rate.remaining {
            app.metrics.set_rate_remaining(cred, r);
        }
    }
    summary
}

/// The next interval: active while jobs are queued or running, idle otherwise; slower when a
/// credential's remaining budget is under `MIN_REMAINING_BUDGET` (until its reset); never
/// faster than GitHub's `X-Poll-Interval`.
fn pace(app: &App, summary: &PollSummary, poll_interval: u64) -> (u64, String) {
    let s = &app.settings;
    let busy = summary.repos.iter().any(|r| !r.queued.is_empty())
        || app.store.stats().is_ok_and(|st| {
            st.queue
                .get(JobState::Queued.as_str())
                .copied()
                .unwrap_or(0)
                + st.queue
                    .get(JobState::Running.as_str())
                    .copied()
                    .unwrap_or(0)
                > 0
        });
    let (mut next, mut why) = if busy {
        (
            s.poll_active.as_secs(),
            "jobs are queued or running: POLL_INTERVAL_ACTIVE".to_string(),
        )
    } else {
        (
            s.poll_idle.as_secs(),
            "nothing to do: POLL_INTERVAL_IDLE".to_string(),
        )
    };
    let now = (now_ms() / 1000) as u64;
    for (cred, rate) in &summary.rate_limit {
        if let Some(remaining) = rate.remaining
            && remaining < s.min_remaining_budget
        {
            let until_reset = rate
                .reset
                .map_or(3600, |r| r.saturating_sub(now))
                .clamp(1, 3600);
            let slow = until_reset.max(s.poll_idle.as_secs());
            if slow > next {
                next = slow;
                why = format!(
                    "{cred} has {remaining} requests left (under MIN_REMAINING_BUDGET {}): waiting for the reset",
                    s.min_remaining_budget
                );
            }
        }
    }
    if poll_interval > next {
        next = poll_interval;
        why = format!("GitHub asks for {poll_interval}s between polls (X-Poll-Interval)");
    }
    (next.max(1), why)
}

/// A conditional GET through the ETag cache: `Some(body)` when the resource changed.
async fn get_changed(
    app: &App,
    cred: &str,
    token: &crate::config::Secret,
    path: &str,
    one: &mut RepoPoll,
    rates: &mut BTreeMap<String, RateLimit>,
    poll_interval: &mut u64,
) -> Result<Option<(Vec<u8>, Option<String>)>, String> {
    let cached = app.store.cached(cred, path).map_err(|e| e.to_string())?;
    let answer = app
        .poller
        .get(
            path,
            token.expose(),
            cached.as_ref().map(|c| c.etag.as_str()),
        )
        .await
        .map_err(|e| e.to_string())?;
    one.requests += 1;
    app.metrics.poll_request(answer.not_modified());
    if answer.rate.remaining.is_some() {
        rates.insert(cred.to_string(), answer.rate);
    }
    *poll_interval = (*poll_interval).max(answer.poll_interval.unwrap_or(0));
    match answer.status {
        304 => {
            one.not_modified += 1;
            Ok(None)
        }
        200 => Ok(Some((answer.body, answer.etag))),
        401 => Err(format!(
            "GitHub rejected the token of {} (HTTP 401): check the credential variable",
            one.full_name
        )),
        403 | 429 => Err(format!(
            "GitHub refused the poll of {path} (HTTP {}): rate limited or no access",
            answer.status
        )),
        404 => Err(format!(
            "{} was not found (HTTP 404): check full_name and that the token can read it",
            one.full_name
        )),
        s => Err(format!("polling {path} answered HTTP {s}")),
    }
}

fn remember(app: &App, cred: &str, path: &str, body: Vec<u8>, etag: Option<String>) {
    if let Some(etag) = etag
        && let Err(e) = app.store.put_cached(cred, path, &Cached { etag, body })
    {
        tracing::warn!("cannot keep the ETag of {path}: {e}");
    }
}

async fn poll_repo(
    app: &App,
    repo: &Repo,
    one: &mut RepoPoll,
    rates: &mut BTreeMap<String, RateLimit>,
    poll_interval: &mut u64,
) -> Result<(), String> {
    let id = RepoId::parse(&repo.full_name).ok_or("the registered name is not owner/name")?;
    let token = app.credentials.token(repo, Purpose::Read).await?;
    let cred = repo.credential.read_key();

    let open_path = Poller::open_pulls_path(&id);
    if let Some((body, etag)) =
        get_changed(app, &cred, &token, &open_path, one, rates, poll_interval).await?
    {
        let pulls = parse_pulls(&body, &open_path).map_err(|e| e.to_string())?;
        one.open_pulls = Some(pulls.len());
        for p in &pulls {
            if let Some(job) = review_job(app, repo, p)? {
                match app.store.enqueue(&job).map_err(|e| e.to_string())? {
                    Enqueued::Created { id, .. } => one.queued.push(id),
                    Enqueued::Duplicate { .. } => {}
                }
            }
        }
        let listed: Vec<_> = pulls
            .iter()
            .map(|p| json!({"number": p.number, "title": p.title, "head": p.head.name, "head_sha": p.head.sha, "draft": p.draft}))
            .collect();
        app.store
            .put_snapshot(repo.id, "pulls", &json!(listed))
            .map_err(|e| e.to_string())?;
        // Only once everything the answer asked for is queued: a crash before this line
        // makes the next poll read the list again.
        remember(app, &cred, &open_path, body, etag);
    }

    let closed_path = Poller::closed_pulls_path(&id);
    if let Some((body, etag)) =
        get_changed(app, &cred, &token, &closed_path, one, rates, poll_interval).await?
    {
        let pulls = parse_pulls(&body, &closed_path).map_err(|e| e.to_string())?;
        let (first, mut seen) = seen_numbers(app, repo, "closed_seen")?;
        // Merges apart: a pull request closed, reopened and then merged was seen closed first.
        let (merges_first, mut merged) = seen_numbers(app, repo, "merged_seen")?;
        for p in &pulls {
            // The first poll only learns what was closed (or merged) before the server watched.
            let new_closing = seen.insert(p.number) && !first;
            let new_merge = p.merged_at.is_some() && merged.insert(p.number) && !merges_first;
            if !(new_closing || new_merge) {
                continue;
            }
            let mut job = NewJob::new(
                repo.id,
                Role::Integrator,
                "poll",
                format!(
                    "poll: PR #{} was {}",
                    p.number,
                    if p.merged_at.is_some() {
                        "merged"
                    } else {
                        "closed"
                    }
                ),
            );
            job.pr = Some(p.number);
            job.dedupe_key = Some(NewJob::integrate_key(
                repo.id,
                p.number,
                p.merged_at.is_some(),
            ));
            job.max_attempts = app.settings.max_attempts;
            if let Enqueued::Created { id, .. } =
                app.store.enqueue(&job).map_err(|e| e.to_string())?
            {
                one.queued.push(id);
            }
        }
        for (name, numbers) in [("closed_seen", &seen), ("merged_seen", &merged)] {
            // The newest few hundred numbers: older ones are far past the closed list's window.
            let keep: BTreeSet<u64> = numbers.iter().rev().take(500).copied().collect();
            app.store
                .put_snapshot(repo.id, name, &json!(keep))
                .map_err(|e| e.to_string())?;
        }
        remember(app, &cred, &closed_path, body, etag);
    }
    if !one.queued.is_empty() {
        app.wake.notify_waiters();
    }
    Ok(())
}

/// A set of pull request numbers the poller keeps in the store, and whether it is new (none
/// stored yet: the poll that makes it only learns).
fn seen_numbers(app: &App, repo: &Repo, name: &str) -> Result<(bool, BTreeSet<u64>), String> {
    let stored = app
        .store
        .snapshot(repo.id, name)
        .map_err(|e| e.to_string())?;
    let first = stored.is_none();
    let numbers = stored
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    Ok((first, numbers))
}

/// The review a newly seen head calls for, routed like the webhook `synchronize` would be.
fn review_job(app: &App, repo: &Repo, p: &PolledPull) -> Result<Option<NewJob>, String> {
    if p.head.sha.is_empty() {
        return Ok(None);
    }
    if app
        .store
        .reviewed_head(repo.id, p.number)
        .map_err(|e| e.to_string())?
        .as_deref()
        == Some(p.head.sha.as_str())
        || app
            .store
            .has_review(repo.id, p.number, &p.head.sha)
            .map_err(|e| e.to_string())?
    {
        return Ok(None);
    }
    let payload = json!({
        "action": "synchronize",
        "number": p.number,
        "pull_request": {"number": p.number, "title": p.title, "draft": p.draft, "state": "open",
            "head": {"ref": p.head.name, "sha": p.head.sha}, "base": {"ref": p.base.name, "sha": p.base.sha}},
        "repository": {"full_name": repo.full_name},
    });
    let event = Event::parse("pull_request", payload.to_string().as_bytes(), "poll")
        .map_err(|e| e.to_string())?;
    let routing = route(&event, &route_settings(repo));
    if routing.decision != Decision::Run || routing.role != Some(Role::Reviewer) {
        return Ok(None);
    }
    let mut job = NewJob::new(
        repo.id,
        Role::Reviewer,
        "poll",
        format!("poll: new head {} of PR #{}", short(&p.head.sha), p.number),
    );
    job.pr = Some(p.number);
    job.head_sha = Some(p.head.sha.clone());
    job.dedupe_key = Some(format!("review:{}:{}:{}", repo.id, p.number, p.head.sha));
    job.max_attempts = app.settings.max_attempts;
    Ok(Some(job))
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

/// Routing settings for a registered repository: its mode, default branch and draft policy.
/// The role re-reads `.llm-team.yml` and has the last word.
pub fn route_settings(repo: &Repo) -> RouteSettings {
    let defaults = RouteSettings::default();
    RouteSettings {
        mode: repo.mode,
        review_drafts: repo.settings.review_drafts,
        default_branch: repo
            .default_branch
            .clone()
            .or(defaults.default_branch.clone()),
        ..defaults
    }
}

/// The polling loop: with `POLLING_ENABLED`, a cycle at the pace `pace` sets; without it, one
/// reconciliation cycle every `CODEX_RECONCILE_INTERVAL`.
pub async fn run(app: Arc<App>, mut phase: tokio::sync::watch::Receiver<super::queue::Phase>) {
    let mut wait = if app.settings.polling_enabled {
        Duration::from_millis(200)
    } else {
        app.settings.reconcile_interval
    };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = phase.changed() => { return; }
        }
        let summary = poll_once(&app, None).await;
        for r in &summary.repos {
            if let Some(e) = &r.error {
                tracing::warn!(repo = %r.full_name, "poll failed: {e}");
            }
        }
        wait = if app.settings.polling_enabled {
            Duration::from_secs(summary.next_interval)
        } else {
            app.settings.reconcile_interval
        };
    }
}
