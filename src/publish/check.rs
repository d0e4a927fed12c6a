//! Before the first write: every commit of the set is judged on its final content exactly as the
//! Developer judges the model's edits (paths, the base tree's symlinks and submodules, sizes,
//! text only, secrets), and every write is located against the repository as it is now — done
//! already (so it is skipped), still to do, or no longer possible (so nothing is written).

use std::collections::{BTreeMap, BTreeSet};

use super::{Publish, PublishError};
use crate::changes::{BranchState, ChangeSet, CommitWrite, Status, Target, Write};
use crate::forge::{Comment, Forge, ForgeError, ForgeRead};
use crate::policy::Guarded;
use crate::policy::change::{self, BaseTree, Limits};

/// What is known of one write before applying.
#[derive(Debug, Clone)]
pub(super) struct Prepared {
    /// `Some`: already done (or, in a dry run, known to be unchanged); `None`: to apply.
    pub status: Option<Status>,
    /// For commits: the paths that are executable in the parent (their mode is kept).
    pub executable: BTreeSet<String>,
    /// For comments on a pull request that exists: our comment's id (`Some(None)`: none yet).
    pub comment: Option<Option<u64>>,
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

/// Whether commit `head` already holds `c`: every file as intended, or, for a marker commit
/// (no files), the same message.
pub(super) async fn holds<F: ForgeRead>(
    forge: &F,
    c: &CommitWrite,
    head: &str,
) -> crate::forge::Result<bool> {
    if c.files.is_empty() {
        let msg = forge.commit_message(head).await?;
        return Ok(msg.is_some_and(|m| m.trim_end() == c.message.trim_end()));
    }
    for f in &c.files {
        let now = forge.file_at(&f.path, head).await?;
        if now.as_deref() != f.content() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The number of a target, when the pull request exists already.
pub(super) async fn resolve<F: ForgeRead>(
    forge: &F,
    t: &Target,
) -> crate::forge::Result<Option<u64>> {
    match t {
        Target::Pr(n) => Ok(Some(*n)),
        Target::Head(h) => Ok(forge.find_pull_request(h, false).await?.map(|p| p.number)),
    }
}

/// The login our comments and reviews are written under; required to find them again.
/// Our comment (written as `login`) carrying `marker` on issue or pull request `number`.
pub(super) async fn our_comment<F: ForgeRead>(
    forge: &F,
    number: u64,
    login: &str,
    marker: &str,
) -> Result<Option<Comment>, ForgeError> {
    Ok(forge
        .comments(number)
        .await?
        .into_iter()
        .find(|x| x.author == login && x.body.contains(marker)))
}

pub(super) async fn identity<F: ForgeRead>(forge: &F) -> Result<String, PublishError> {
    match forge.identity().await? {
        Some(login) => Ok(login),
        None => Err(PublishError::Refused {
            reasons: vec![
                "cannot tell which account the token acts as (GET /user and GraphQL `viewer` did not say), so our own \
                 comments and reviews could not be told from look-alikes; set CODEX_BOT_LOGIN to the token's login \
                 (an App's is `<app-slug>[bot]`)"
                    .into(),
            ],
        }),
    }
}

pub(super) async fn prepare<F: Forge>(
    forge: &Guarded<F>,
    set: &ChangeSet,
    how: &Publish<'_>,
) -> Result<Vec<Prepared>, PublishError> {
    let guard = forge.guard();
    let mut reasons: Vec<String> = Vec::new();
    let mut out = Vec::new();
    // Read only when a new branch must be shown to start from the default branch.
    let needs_head = set
        .writes
        .iter()
        .any(|w| matches!(w, Write::Commit(c) if c.branch_state == BranchState::New));
    let default_head = if needs_head {
        forge
            .branch(&set.default_branch)
            .await?
            .ok_or_else(|| PublishError::Conflict {
                reason: format!("the default branch {} does not exist", set.default_branch),
            })?
    } else {
        String::new()
    };
    let limits = Limits::from_config(&how.config.developer);
    let committed: BTreeSet<&str> = set
        .writes
        .iter()
        .filter_map(|w| match w {
            Write::Commit(c) => Some(c.branch.as_str()),
            _ => None,
        })
        .collect();
    let mut seen_branches = BTreeSet::new();
    let needs_identity = set
        .writes
        .iter()
        .any(|w| matches!(w, Write::Comment(_) | Write::Review(_)));
    let login = if needs_identity {
        Some(identity(forge).await?)
    } else {
        None
    };
    for (i, w) in set.writes.iter().enumerate() {
        let n = i + 1;
        let mut prepared = Prepared {
            status: None,
            executable: BTreeSet::new(),
            comment: None,
        };
        match w {
            Write::Commit(c) => {
                if !seen_branches.insert(c.branch.as_str()) {
                    reasons.push(format!(
                        "write {n}: a second commit on {}; a change set holds one per branch",
                        c.branch
                    ));
                }
                if let Err(e) = guard.check_branch(&c.branch) {
                    reasons.push(format!("write {n}: {e}"));
                    out.push(prepared);
                    continue;
                }
                let paths: Vec<String> = c.files.iter().map(|f| f.path.clone()).collect();
                let clean: Vec<String> = paths
                    .iter()
                    .filter(|p| crate::policy::paths::normalise(p).is_ok())
                    .cloned()
                    .collect();
                let modes = match forge.tree_modes(&c.parent, &clean).await {
                    Ok(m) => m,
                    Err(e) if e.is_not_found() => {
                        reasons.push(format!(
                            "write {n}: its parent commit {} does not exist in the repository",
                            c.parent
                        ));
                        out.push(prepared);
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                prepared.executable = modes
                    .iter()
                    .filter(|(_, m)| m.as_str() == "100755")
                    .map(|(p, _)| p.clone())
                    .collect();
                let base = BaseTree::from_modes(&modes);
                let mut originals: BTreeMap<String, Option<String>> = BTreeMap::new();
                for p in &clean {
                    let text = forge
                        .file_at(p, &c.parent)
                        .await
                        .ok()
                        .flatten()
                        .and_then(|b| String::from_utf8(b).ok());
                    originals.insert(p.clone(), text);
                }
                let changes: BTreeMap<String, Option<Vec<u8>>> = c
                    .files
                    .iter()
                    .map(|f| (f.path.clone(), f.content().map(<[u8]>::to_vec)))
                    .collect();
                if changes.len() != c.files.len() {
                    reasons.push(format!("write {n}: a path appears twice"));
                }
                for r in change::check(
                    guard,
                    &base,
                    &changes,
                    &|p| originals.get(p).cloned().flatten(),
                    &limits,
                    &how.secrets,
                ) {
                    reasons.push(format!("write {n}: {r}"));
                }
                let head = forge.branch(&c.branch).await?;
                prepared.status = match (c.branch_state, head) {
                    (BranchState::New, None) => {
                        if !forge.is_ancestor(&c.parent, &default_head).await? {
                            reasons.push(format!(
                                "write {n}: its parent {} is not on {} (a new branch starts from the default branch)",
                                short(&c.parent),
                                set.default_branch
                            ));
                        }
                        None
                    }
                    (BranchState::Existing, Some(h)) if h == c.parent => None,
                    (_, Some(h)) if holds(forge, c, &h).await? => Some(Status::Unchanged(format!(
                        "`{}` is at {} with these changes",
                        c.branch,
                        short(&h)
                    ))),
                    (BranchState::New, Some(h)) => {
                        return Err(PublishError::Conflict {
                            reason: format!(
                                "branch {} already exists (at {}) with other content: another run published to it after \
                                 this change set was computed. Run the role again to work from what is there",
                                c.branch,
                                short(&h)
                            ),
                        });
                    }
                    (BranchState::Existing, Some(h)) => {
                        return Err(PublishError::Conflict {
                            reason: format!(
                                "branch {} moved from {} to {} after this change set was computed; it is never \
                                 rebased silently. Run the role again",
                                c.branch,
                                short(&c.parent),
                                short(&h)
                            ),
                        });
                    }
                    (BranchState::Existing, None) => {
                        return Err(PublishError::Conflict {
                            reason: format!(
                                "branch {} no longer exists; run the role again",
                                c.branch
                            ),
                        });
                    }
                };
            }
            Write::PullRequest(p) => {
                if let Err(e) = guard.check_branch(&p.head) {
                    reasons.push(format!("write {n}: {e}"));
                }
                let open = forge.find_pull_request(&p.head, false).await?;
                if open.is_none()
                    && !committed.contains(p.head.as_str())
                    && forge.branch(&p.head).await?.is_none()
                {
                    reasons.push(format!(
                        "write {n}: branch {} does not exist and the change set does not create it",
                        p.head
                    ));
                }
                if let Some(pr) = open
                    && pr.title == p.title
                    && pr.body == p.body
                {
                    prepared.status =
                        Some(Status::Unchanged(format!("#{} {}", pr.number, pr.html_url)));
                }
            }
            Write::Comment(c) => {
                let login = login.as_deref().unwrap_or_default();
                if let Some(number) = resolve(forge, &c.on).await? {
                    let ours = our_comment(forge, number, login, &c.marker).await?;
                    if ours.as_ref().is_some_and(|x| x.body == c.body) {
                        prepared.status =
                            Some(Status::Unchanged(format!("our comment on #{number}")));
                    }
                    prepared.comment = Some(ours.map(|x| x.id));
                }
            }
            Write::Review(r) => {
                let login = login.as_deref().unwrap_or_default();
                if let Some(number) = resolve(forge, &r.on).await? {
                    let done = forge.reviews(number).await?.into_iter().any(|x| {
                        x.author == login
                            && x.commit_id.as_deref() == Some(r.commit_id.as_str())
                            && x.body.contains(&r.marker)
                    });
                    if done {
                        prepared.status = Some(Status::Unchanged(format!(
                            "our review of #{number} at {}",
                            short(&r.commit_id)
                        )));
                    }
                }
            }
            Write::Labels(l) => {
                if let Some(number) = resolve(forge, &l.on).await? {
                    let have = forge.labels(number).await?;
                    if l.add.iter().all(|a| have.contains(a)) {
                        prepared.status = Some(Status::Unchanged(format!("on #{number}")));
                    }
                }
            }
            Write::Dispatch(_) => {}
            Write::Merge(m) => {
                if let Some(number) = resolve(forge, &m.on).await? {
                    let pr = forge.pull_request(number).await?;
                    if pr.merged {
                        prepared.status = Some(Status::Unchanged(format!("#{number} is merged")));
                    }
                } else if let Target::Head(h) = &m.on
                    && let Some(pr) = forge.find_pull_request(h, true).await?
                    && pr.merged
                {
                    prepared.status = Some(Status::Unchanged(format!("#{} is merged", pr.number)));
                }
            }
        }
        out.push(prepared);
    }
    if reasons.is_empty() {
        Ok(out)
    } else {
        Err(PublishError::Refused { reasons })
    }
}
