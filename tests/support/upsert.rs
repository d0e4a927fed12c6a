//! Write sequences the forge tests drive the ports with (find before create, commit then move
//! the branch): the publisher does the same through change sets; these exercise the forges'
//! own answers to repeats, races and ambiguous replies directly.
#![allow(dead_code)]

use codex_orchestrator::forge::{
    Comment, FileChange, Forge, ForgeError, NewCommit, NewPullRequest, PrUpdate, PullRequest,
    Result, Signature,
};

pub use codex_orchestrator::vocab::branches::marker;

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
    Unchanged,
}

impl Upserted {
    /// What `ensure_pr` did to a pull request, for summaries.
    pub fn pr_verb(self) -> &'static str {
        match self {
            Upserted::Created => "opened",
            Upserted::Updated => "updated",
            Upserted::Unchanged => "already open, unchanged",
        }
    }
}

/// Finds our comment on `issue` by `marker` and edits it (or leaves it if the body is the same);
/// creates it when there is none. The marker is prepended to the body when missing.
pub async fn upsert_comment<F: Forge>(
    forge: &F,
    issue: u64,
    marker: &str,
    body: &str,
) -> Result<(Comment, Upserted)> {
    let body = if body.contains(marker) {
        body.to_string()
    } else {
        format!("{marker}\n{body}")
    };
    let existing = forge
        .comments(issue)
        .await?
        .into_iter()
        .find(|c| c.body.contains(marker));
    match existing {
        Some(c) if c.body == body => Ok((c, Upserted::Unchanged)),
        Some(c) => Ok((forge.update_comment(c.id, &body).await?, Upserted::Updated)),
        None => Ok((forge.create_comment(issue, &body).await?, Upserted::Created)),
    }
}

/// Creates `branch` at `sha`, or confirms it is already there. `BranchExists` when it exists at
/// another commit (someone else's claim, or our earlier work: the caller decides).
pub async fn ensure_branch<F: Forge>(forge: &F, branch: &str, sha: &str) -> Result<Upserted> {
    match forge.branch(branch).await? {
        Some(current) if current == sha => Ok(Upserted::Unchanged),
        Some(current) => Err(ForgeError::BranchExists {
            branch: branch.to_string(),
            sha: current,
        }),
        None => {
            forge.create_branch(branch, sha).await?;
            Ok(Upserted::Created)
        }
    }
}

/// Opens the pull request for `pr.head`, or updates the open one's title and body.
pub async fn ensure_pr<F: Forge>(
    forge: &F,
    pr: &NewPullRequest,
) -> Result<(PullRequest, Upserted)> {
    if let Some(existing) = forge.find_pull_request(&pr.head, false).await? {
        if existing.title == pr.title && existing.body == pr.body {
            return Ok((existing, Upserted::Unchanged));
        }
        let update = PrUpdate {
            title: Some(pr.title.clone()),
            body: Some(pr.body.clone()),
            state: None,
        };
        return Ok((
            forge.update_pull_request(existing.number, &update).await?,
            Upserted::Updated,
        ));
    }
    Ok((forge.create_pull_request(pr).await?, Upserted::Created))
}

/// Commits `changes` on top of `branch` and moves the branch, fast-forward only. When the branch
/// moved meanwhile, the commit is rebuilt on the new head (up to `attempts` times); never forced.
pub async fn commit_to_branch<F: Forge>(
    forge: &F,
    branch: &str,
    message: &str,
    changes: &[FileChange],
    author: Option<Signature>,
    attempts: usize,
) -> Result<String> {
    forge.check_branch_write(branch)?;
    let mut last = None;
    for _ in 0..attempts.max(1) {
        let head = forge
            .branch(branch)
            .await?
            .ok_or_else(|| ForgeError::NotFound {
                what: format!("branch {branch}"),
            })?;
        let commit = NewCommit {
            parent: head.clone(),
            message: message.to_string(),
            changes: changes.to_vec(),
            author: author.clone(),
        };
        let sha = forge.create_commit(&commit).await?;
        match forge.update_branch(branch, &head, &sha).await {
            Ok(()) => return Ok(sha),
            Err(e @ ForgeError::BranchMoved { .. }) => {
                tracing::info!("{e}; rebuilding the commit on the new head");
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or(ForgeError::NotFound {
        what: format!("branch {branch}"),
    }))
}
