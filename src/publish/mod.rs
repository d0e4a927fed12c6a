//! The one place that writes. A change set is checked whole (the role's rules, every commit's
//! final content, where its branches stand) before the first write; then each write is applied
//! idempotently, so applying a set twice writes nothing the second time and a set applied
//! half-way (a crash, kill -9, a 5xx after the write) completes on the next apply. In observe
//! mode and dry runs the same checks run and nothing is written.

mod apply;
mod check;
mod journal;
pub(crate) mod rules;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::changes::{ChangeSet, Status, markdown};
use crate::config::Config;
use crate::forge::{Forge, ForgeError, ForgeRead};
use crate::policy::Guarded;

pub use rules::Rules;

/// How a publish runs.
pub struct Publish<'a> {
    /// The configuration from the default branch (never from the change set's branch).
    pub config: &'a Config,
    pub rules: Rules,
    /// Literal secrets of this run (the tokens): never written into a file.
    pub secrets: Vec<String>,
    /// Write for real (`mode: pr` without dry run); else only check and say what would happen.
    pub live: bool,
    /// Where to remember which non-idempotent writes (dispatches) are done, across re-runs.
    pub journal: Option<PathBuf>,
}

/// What a publish did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Published {
    pub digest: String,
    /// One per write of the set, in order.
    pub statuses: Vec<Status>,
    /// Pull requests upserted, by head branch: (number, url).
    pub pull_requests: BTreeMap<String, (u64, String)>,
    /// Where the branches this set commits to stand afterwards, by name.
    pub branches: BTreeMap<String, String>,
    /// Writes actually made (0 for observe, dry runs and a repeated publish).
    pub writes_made: usize,
    pub live: bool,
}

impl Published {
    /// The first pull request the set opened or updated.
    pub fn pr_number(&self) -> Option<u64> {
        self.pull_requests.values().next().map(|(n, _)| *n)
    }

    /// The change set with each write's status, for the job summary.
    pub fn markdown(&self, set: &ChangeSet) -> String {
        let mut md = String::new();
        if !self.live {
            md.push_str("**Nothing was written** (observe mode or a dry run). ");
        }
        md.push_str(&markdown(set, Some(&self.statuses)));
        md
    }
}

/// Why a change set was not (fully) published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The set breaks a rule; nothing was written.
    #[error("the change set was refused and nothing was written:\n- {}", .reasons.join("\n- "))]
    Refused { reasons: Vec<String> },
    /// The repository is not where the set expected it (another run got there first, a branch
    /// moved); nothing was written.
    #[error("the change set no longer fits the repository, so nothing was written: {reason}")]
    Conflict { reason: String },
    /// A write failed part-way; what was done stays done, and publishing again completes it.
    #[error(
        "publishing stopped at write {index} ({kind}): {source}. The writes before it are done; publishing the same change set again completes it"
    )]
    Partial {
        index: usize,
        kind: &'static str,
        done: Box<Published>,
        source: ForgeError,
    },
    #[error("{0}")]
    Forge(#[from] ForgeError),
}

/// Checks and (when live) applies `set` through the guarded forge.
pub async fn publish<F: Forge>(
    forge: &Guarded<F>,
    set: &ChangeSet,
    how: &Publish<'_>,
) -> Result<Published, PublishError> {
    let reasons = how.rules.check(set);
    if !reasons.is_empty() {
        return Err(PublishError::Refused { reasons });
    }
    let plan = check::prepare(forge, set, how).await?;
    let mut out = Published {
        digest: set.digest(),
        live: how.live,
        ..Published::default()
    };
    if !how.live {
        out.statuses = plan
            .iter()
            .map(|p| p.status.clone().unwrap_or(Status::Planned))
            .collect();
        return Ok(out);
    }
    let mut journal = journal::Journal::open(how.journal.as_deref(), &out.digest);
    for (i, (write, prepared)) in set.writes.iter().zip(plan).enumerate() {
        if let Some(done) = prepared.status {
            out.statuses.push(done);
            if let crate::changes::Write::Commit(c) = write
                && let Ok(Some(head)) = forge.branch(&c.branch).await
            {
                out.branches.insert(c.branch.clone(), head);
            }
            if let crate::changes::Write::PullRequest(p) = write
                && let Ok(Some(pr)) = forge.find_pull_request(&p.head, false).await
            {
                out.pull_requests
                    .insert(p.head.clone(), (pr.number, pr.html_url));
            }
            continue;
        }
        match apply::one(forge, i, write, &prepared, &mut out, &mut journal).await {
            Ok(status) => {
                if matches!(status, Status::Created(_) | Status::Updated(_)) {
                    out.writes_made += 1;
                }
                out.statuses.push(status);
            }
            Err(source) => {
                let kind = write.kind();
                return Err(match source {
                    apply::Failed::Conflict(reason) if out.writes_made == 0 => {
                        PublishError::Conflict { reason }
                    }
                    apply::Failed::Conflict(reason) => PublishError::Partial {
                        index: i + 1,
                        kind,
                        done: Box::new(out),
                        source: ForgeError::Refused(reason),
                    },
                    apply::Failed::Forge(e) => PublishError::Partial {
                        index: i + 1,
                        kind,
                        done: Box::new(out),
                        source: e,
                    },
                });
            }
        }
    }
    Ok(out)
}
