//! Claiming a task: the developer creates its branch pointing at an empty "claim" commit that
//! names the run and the time. Creating the ref is the lock (GitHub creates a ref once), and the
//! claim commit lets a later run tell a live competitor (stop) from a dead one (take over).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::forge::{Forge, ForgeError, NewCommit};

/// The trailer that marks a claim commit.
const TRAILER: &str = "Codex-Claim:";

/// Who is running: the Actions run id (kept across re-runs of the same run) or a local id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunId(pub String);

impl RunId {
    /// `GITHUB_RUN_ID` (a re-run of a job keeps it, so it resumes its own claim), else
    /// `local-<pid>-<start time>`.
    pub fn from_env() -> RunId {
        match std::env::var("GITHUB_RUN_ID") {
            Ok(id) if !id.trim().is_empty() => RunId(format!("gh-{}", id.trim())),
            _ => RunId(format!("local-{}-{}", std::process::id(), now())),
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The message of a claim commit.
pub fn message(task: &str, run: &RunId, at: u64) -> String {
    format!(
        "{task}: claimed by the developer\n\nThe developer works on {task} on this branch; a second run leaves it alone.\n\n{TRAILER} run={} at={at}\n",
        run.0
    )
}

/// The message of the empty commit that gives a claim up (a run that failed): the next run
/// may take the task at once.
pub fn release_message(task: &str, run: &RunId, why: &str) -> String {
    let why: String = why.lines().next().unwrap_or("").chars().take(200).collect();
    format!(
        "{task}: claim released\n\nThe developer run stopped without a pull request: {why}\n\n{TRAILER} run={} at={} released\n",
        run.0,
        now()
    )
}

/// Gives the claim on `branch` up with an empty commit (nothing else changes on the branch).
pub async fn release<F: Forge>(
    forge: &F,
    branch: &str,
    task: &str,
    run: &RunId,
    why: &str,
) -> crate::forge::Result<()> {
    crate::forge::upsert::commit_to_branch(
        forge,
        branch,
        &release_message(task, run, why),
        &[],
        None,
        3,
    )
    .await
    .map(|_| ())
}

/// Reads a claim commit's message back: (run, unix time); `None` for other commits and for
/// released claims.
pub fn parse(message: &str) -> Option<(String, u64)> {
    let line = message
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with(TRAILER))?;
    let mut run = None;
    let mut at = None;
    for part in line.trim_start()[TRAILER.len()..].split_whitespace() {
        if part == "released" {
            return None;
        }
        if let Some(v) = part.strip_prefix("run=") {
            run = Some(v.to_string());
        } else if let Some(v) = part.strip_prefix("at=") {
            at = v.parse().ok();
        }
    }
    Some((run?, at?))
}

/// What claiming found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// We created the branch.
    Claimed,
    /// The branch exists and may be worked on: our own claim (a re-run), an expired claim,
    /// earlier work of a run that died, or an open pull request to update.
    Resumed { why: String },
    /// Another run claimed it recently and has not opened its pull request yet.
    Busy { why: String },
}

/// Claims `branch` for `task`, starting from `base` (the default branch's head).
///
/// `has_pr`: an open pull request from the branch exists (then the branch is always resumed:
/// the run updates it, never opens a second one).
pub async fn claim<F: Forge>(
    forge: &F,
    branch: &str,
    base: &str,
    task: &str,
    run: &RunId,
    ttl_minutes: u64,
    has_pr: bool,
) -> crate::forge::Result<Claim> {
    forge.check_branch_write(branch)?;
    if forge.branch(branch).await?.is_none() {
        let sha = forge
            .create_commit(&NewCommit {
                parent: base.to_string(),
                message: message(task, run, now()),
                changes: Vec::new(),
                author: None,
            })
            .await?;
        match forge.create_branch(branch, &sha).await {
            Ok(()) => return Ok(Claim::Claimed),
            // Someone created it between our look and our create: judge their claim below.
            Err(ForgeError::BranchExists { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    if has_pr {
        return Ok(Claim::Resumed {
            why: "its pull request is open, so this run updates it".into(),
        });
    }
    let head = forge
        .branch(branch)
        .await?
        .ok_or_else(|| ForgeError::NotFound {
            what: format!("branch {branch}"),
        })?;
    let claimed = forge.commit_message(&head).await?.and_then(|m| parse(&m));
    Ok(judge(claimed, run, now(), ttl_minutes))
}

/// The decision on an existing branch without a pull request, from its head's claim (if any).
pub fn judge(claimed: Option<(String, u64)>, run: &RunId, now: u64, ttl_minutes: u64) -> Claim {
    match claimed {
        Some((other, _)) if other == run.0 => Claim::Resumed {
            why: "this run claimed it before (a re-run)".into(),
        },
        Some((other, at)) => {
            let age = now.saturating_sub(at);
            if age < ttl_minutes.saturating_mul(60) {
                Claim::Busy {
                    why: format!(
                        "run {other} claimed it {} ago and is presumably still working on it; it is taken over \
                         after developer.claim_ttl_minutes ({ttl_minutes} min)",
                        human(age)
                    ),
                }
            } else {
                Claim::Resumed {
                    why: format!(
                        "the claim of run {other} is {} old (older than developer.claim_ttl_minutes), so it is taken over",
                        human(age)
                    ),
                }
            }
        }
        None => Claim::Resumed {
            why: "the branch holds earlier work and no pull request yet (a run that stopped before opening it)"
                .into(),
        },
    }
}

fn human(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_messages_round_trip() {
        let run = RunId("gh-42".into());
        let m = message("T-0003", &run, 1_700_000_000);
        assert_eq!(parse(&m), Some(("gh-42".into(), 1_700_000_000)));
        assert_eq!(parse("T-0003: add login\n\nbody"), None);
        assert_eq!(parse("Codex-Claim: run=x"), None);
        assert_eq!(parse(&release_message("T-0003", &run, "tests fail")), None);
    }

    #[test]
    fn judging_a_claim() {
        let me = RunId("gh-1".into());
        let now = 10_000;
        assert!(matches!(
            judge(Some(("gh-1".into(), now - 5)), &me, now, 120),
            Claim::Resumed { .. }
        ));
        assert!(matches!(
            judge(Some(("gh-2".into(), now - 60)), &me, now, 120),
            Claim::Busy { .. }
        ));
        assert!(matches!(
            judge(Some(("gh-2".into(), now - 121 * 60)), &me, now, 120),
            Claim::Resumed { .. }
        ));
        assert!(matches!(judge(None, &me, now, 120), Claim::Resumed { .. }));
    }
}
