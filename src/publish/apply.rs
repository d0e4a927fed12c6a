//! Applying one write of a checked change set. Each write first looks for its own result (our
//! branch content, the PR from its head, our comment by marker and author, our review at the
//! commit, the journal for a dispatch) so a repeat finds it instead of writing it twice.

use std::time::Duration;

use super::Published;
use super::check::{holds, identity, our_comment, resolve};
use super::inputs::{self, Dispatchable};
use super::journal::Journal;
use super::rules::INTEGRATE_PREFIX;
use crate::changes::{BranchState, Status, Target, Write};
use crate::forge::{
    FileChange, Forge, ForgeError, ForgeRead, MergeMethod, NewCommit, NewPullRequest, NewReview,
    PrUpdate,
};
use crate::policy::Guarded;

/// The login `GITHUB_TOKEN` acts as.
const ACTIONS_BOT: &str = "github-actions[bot]";

/// How often to re-read a pull request whose `mergeable` GitHub has not computed yet.
const MERGEABLE_POLLS: u32 = 3;

pub(super) enum Failed {
    /// The repository is not as the set expected (nothing of this write was done).
    Conflict(String),
    Forge(ForgeError),
}

impl From<ForgeError> for Failed {
    fn from(e: ForgeError) -> Self {
        Failed::Forge(e)
    }
}

impl From<super::PublishError> for Failed {
    fn from(e: super::PublishError) -> Self {
        match e {
            super::PublishError::Forge(e) => Failed::Forge(e),
            other => Failed::Conflict(other.to_string()),
        }
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

/// The pull request number of a target: one this publish upserted, else the open one.
async fn number<F: ForgeRead>(forge: &F, t: &Target, out: &Published) -> Result<u64, Failed> {
    if let Target::Head(h) = t
        && let Some((n, _)) = out.pull_requests.get(h)
    {
        return Ok(*n);
    }
    resolve(forge, t).await?.ok_or_else(|| {
        Failed::Forge(ForgeError::NotFound {
            what: format!("{t} (no open pull request)"),
        })
    })
}

pub(super) async fn one<F: Forge>(
    forge: &Guarded<F>,
    index: usize,
    write: &Write,
    prepared: &super::check::Prepared,
    out: &mut Published,
    journal: &mut Journal,
) -> Result<Status, Failed> {
    match write {
        Write::Commit(c) => {
            let changes = c
                .files
                .iter()
                .map(|f| FileChange {
                    path: f.path.clone(),
                    content: f.content().map(<[u8]>::to_vec),
                    executable: f.executable || prepared.executable.contains(&f.path),
                })
                .collect();
            let sha = forge
                .create_commit(&NewCommit {
                    parent: c.parent.clone(),
                    message: c.message.clone(),
                    changes,
                    author: None,
                })
                .await?;
            let moved = match c.branch_state {
                BranchState::New => forge.create_branch(&c.branch, &sha).await,
                BranchState::Existing => forge.update_branch(&c.branch, &c.parent, &sha).await,
            };
            match moved {
                Ok(()) => {
                    out.branches.insert(c.branch.clone(), sha.clone());
                    Ok(Status::Created(format!(
                        "committed to `{}` at {} ({} file(s))",
                        c.branch,
                        short(&sha),
                        c.files.len()
                    )))
                }
                Err(ForgeError::BranchExists { sha: now, .. })
                | Err(ForgeError::BranchMoved { current: now, .. }) => {
                    if holds(forge, c, &now).await? {
                        out.branches.insert(c.branch.clone(), now.clone());
                        Ok(Status::Unchanged(format!(
                            "`{}` is at {} with these changes",
                            c.branch,
                            short(&now)
                        )))
                    } else {
                        Err(Failed::Conflict(format!(
                            "branch {} changed to {} while publishing (another run): nothing more was written to it",
                            c.branch,
                            short(&now)
                        )))
                    }
                }
                Err(e) => Err(e.into()),
            }
        }
        Write::PullRequest(p) => {
            let (pr, status) = match forge.find_pull_request(&p.head, false).await? {
                Some(existing) if existing.title == p.title && existing.body == p.body => {
                    let s =
                        Status::Unchanged(format!("#{} {}", existing.number, existing.html_url));
                    (existing, s)
                }
                Some(existing) => {
                    let update = PrUpdate {
                        title: Some(p.title.clone()),
                        body: Some(p.body.clone()),
                        state: None,
                    };
                    let pr = forge.update_pull_request(existing.number, &update).await?;
                    let s = Status::Updated(format!(
                        "updated pull request #{} {}",
                        pr.number, pr.html_url
                    ));
                    (pr, s)
                }
                None => {
                    let pr = forge
                        .create_pull_request(&NewPullRequest {
                            title: p.title.clone(),
                            head: p.head.clone(),
                            base: p.base.clone(),
                            body: p.body.clone(),
                            draft: p.draft,
                        })
                        .await?;
                    // Said once, where it happens: GitHub starts no workflow for a pull request
                    // opened with GITHUB_TOKEN.
                    let note = match forge.identity().await {
                        Ok(Some(login)) if login == ACTIONS_BOT => " (opened with GITHUB_TOKEN, so GitHub starts \
                             no workflow for it — no CI, no reviewer; give this job LLM_TEAM_TOKEN, or set \
                             developer.review_workflow / the `review-workflow` input, and allow \"GitHub Actions to \
                             create and approve pull requests\" in the repository settings)"
                            .to_string(),
                        _ => String::new(),
                    };
                    let s = Status::Created(format!(
                        "opened pull request #{} {}{note}",
                        pr.number, pr.html_url
                    ));
                    (pr, s)
                }
            };
            out.pull_requests
                .insert(p.head.clone(), (pr.number, pr.html_url.clone()));
            Ok(status)
        }
        Write::Comment(c) => {
            let n = number(forge, &c.on, out).await?;
            // Found by the check just before (the same publish), else looked up now.
            let ours = match prepared.comment {
                Some(found) => found,
                None => {
                    let login = identity(forge).await?;
                    let found = our_comment(forge, n, &login, &c.marker).await?;
                    if found.as_ref().is_some_and(|x| x.body == c.body) {
                        return Ok(Status::Unchanged(format!("our comment on #{n}")));
                    }
                    found.map(|x| x.id)
                }
            };
            match ours {
                Some(id) => {
                    forge.update_comment(id, &c.body).await?;
                    Ok(Status::Updated(format!("edited our comment on #{n}")))
                }
                None => {
                    forge.create_comment(n, &c.body).await?;
                    Ok(Status::Created(format!("commented on #{n}")))
                }
            }
        }
        Write::Review(r) => {
            let login = identity(forge).await?;
            let n = number(forge, &r.on, out).await?;
            let done = forge.reviews(n).await?.into_iter().any(|x| {
                x.author == login
                    && x.commit_id.as_deref() == Some(r.commit_id.as_str())
                    && x.body.contains(&r.marker)
            });
            if done {
                return Ok(Status::Unchanged(format!(
                    "our review of #{n} at {}",
                    short(&r.commit_id)
                )));
            }
            forge
                .create_review(
                    n,
                    &NewReview {
                        commit_id: r.commit_id.clone(),
                        body: r.body.clone(),
                        event: r.event,
                        comments: r.comments.clone(),
                    },
                )
                .await?;
            Ok(Status::Created(format!(
                "submitted a {:?} review of #{n} at {}",
                r.event,
                short(&r.commit_id)
            )))
        }
        Write::Labels(l) => {
            let n = number(forge, &l.on, out).await?;
            let have = forge.labels(n).await?;
            let missing: Vec<String> = l
                .add
                .iter()
                .filter(|a| !have.contains(a))
                .cloned()
                .collect();
            if missing.is_empty() {
                return Ok(Status::Unchanged(format!("on #{n}")));
            }
            forge.add_labels(n, &missing).await?;
            Ok(Status::Created(format!(
                "labelled #{n}: {}",
                missing.join(", ")
            )))
        }
        Write::Dispatch(d) => {
            if journal.done(index) {
                return Ok(Status::Unchanged(
                    "dispatched by an earlier publish of this change set (journal)".into(),
                ));
            }
            let mut inputs = serde_json::Map::new();
            for (k, v) in &d.inputs {
                inputs.insert(k.clone(), serde_json::Value::String(v.clone()));
            }
            if let Some(t) = &d.pr_input {
                let n = number(forge, t, out).await?;
                inputs.insert("pr".into(), serde_json::Value::String(n.to_string()));
            }
            // GitHub refuses (422) a dispatch with an input its workflow does not declare.
            let mut left_out = Vec::new();
            match declared_inputs(forge, &d.workflow, &d.git_ref).await {
                Some(Dispatchable::NoTrigger) => {
                    return Ok(Status::Skipped(format!(
                        "`{}` has no `workflow_dispatch` trigger on {}, so it cannot be started; add                          `on: workflow_dispatch` (with the inputs {}) to it, or point the hand-off at                          the workflow that has it",
                        d.workflow,
                        d.git_ref,
                        names(inputs.keys())
                    )));
                }
                Some(Dispatchable::Inputs(declared)) => inputs.retain(|k, _| {
                    let keep = declared.contains(k);
                    if !keep {
                        left_out.push(k.clone());
                    }
                    keep
                }),
                None => {}
            }
            forge
                .dispatch_workflow(&d.workflow, &d.git_ref, &serde_json::Value::Object(inputs))
                .await?;
            journal.record(index);
            Ok(Status::Created(if left_out.is_empty() {
                format!("started `{}`", d.workflow)
            } else {
                format!(
                    "started `{}` (without the inputs it does not declare: {})",
                    d.workflow,
                    names(left_out.iter())
                )
            }))
        }
        Write::Merge(m) => {
            forge.permit_merges_from(INTEGRATE_PREFIX);
            let n = number(forge, &m.on, out).await?;
            Ok(merge(forge, n, m.method, m.auto_merge_fallback).await)
        }
    }
}

/// The inputs `workflow` declares at `git_ref` (read from `.github/workflows/`); `None` when the
/// file cannot be read or parsed (a workflow id, no read access): then GitHub decides.
async fn declared_inputs<F: ForgeRead>(
    forge: &F,
    workflow: &str,
    git_ref: &str,
) -> Option<Dispatchable> {
    if workflow.is_empty() || workflow.contains('/') || workflow.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let path = format!(".github/workflows/{workflow}");
    let bytes = forge.file_at(&path, git_ref).await.ok()??;
    inputs::declared(&String::from_utf8_lossy(&bytes))
}

fn names<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let list: Vec<String> = keys.map(|k| format!("`{k}`")).collect();
    if list.is_empty() {
        "(none)".into()
    } else {
        list.join(", ")
    }
}

fn method_name(m: MergeMethod) -> &'static str {
    match m {
        MergeMethod::Merge => "merge",
        MergeMethod::Squash => "squash",
        MergeMethod::Rebase => "rebase",
    }
}

/// Merges `number` (waiting briefly for GitHub to compute `mergeable`), else turns on
/// auto-merge; a refusal by the repository is a status, never a failed run.
async fn merge<F: Forge>(forge: &F, number: u64, m: MergeMethod, fallback: bool) -> Status {
    let how = method_name(m);
    let mut pr = match forge.pull_request(number).await {
        Ok(pr) => pr,
        Err(e) => return Status::Skipped(format!("cannot read #{number}: {e}")),
    };
    for _ in 0..MERGEABLE_POLLS {
        if pr.mergeable.is_some() || pr.merged {
            break;
        }
        // GitHub computes `mergeable` in the background after a push.
        tokio::time::sleep(Duration::from_secs(1)).await;
        match forge.pull_request(number).await {
            Ok(again) => pr = again,
            Err(_) => break,
        }
    }
    if pr.merged {
        return Status::Unchanged(format!("#{number} is merged"));
    }
    if pr.mergeable == Some(false) {
        return Status::Skipped(format!(
            "GitHub reports #{number} cannot be merged (a conflict or a branch rule); it stays open for a person"
        ));
    }
    match forge.merge_pull_request(number, m, &pr.head_sha).await {
        Ok(sha) => Status::Created(format!("merged #{number} with `{how}`: {}", short(&sha))),
        Err(refused) if fallback => match forge.enable_auto_merge(number, m).await {
            Ok(()) => Status::Created(format!(
                "GitHub would not merge #{number} now ({}); auto-merge (`{how}`) is on, so GitHub merges it once \
                 the required checks pass",
                reason(&refused)
            )),
            Err(auto) => Status::Skipped(format!(
                "the repository does not permit merging #{number} now ({}), and auto-merge is not available ({auto}); \
                 it stays open for a person to merge",
                reason(&refused)
            )),
        },
        Err(refused) => Status::Skipped(format!(
            "the repository does not permit merging #{number} now ({}); it stays open for a person",
            reason(&refused)
        )),
    }
}

/// Why the merge endpoint refused, in words.
fn reason(e: &ForgeError) -> String {
    match e {
        ForgeError::Api {
            status: 405,
            message,
            ..
        } => format!("405, not mergeable: {message}"),
        ForgeError::Api {
            status: 409,
            message,
            ..
        } => format!("409, the head moved: {message}"),
        ForgeError::Api {
            status: 422,
            message,
            ..
        } => format!("422: {message}"),
        other => other.to_string(),
    }
}
