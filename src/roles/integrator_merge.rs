//! The Integrator's last step: merge the integration pull request itself when the task's
//! `auto_policy` allows it and GitHub permits it now (else turn on auto-merge if the forge can).
//! Every outcome is one summary line; a refusal by the repository never fails the run.

use std::time::Duration;

use crate::config::MergeStrategy;
use crate::forge::{Forge, ForgeError, MergeMethod};
use crate::tasks::{AutoPolicy, Task};

/// The head-branch prefix of integration pull requests: the only ones the Integrator may merge.
pub const BRANCH_PREFIX: &str = "integrate/";

/// How often to re-read a pull request whose `mergeable` GitHub has not computed yet.
const MERGEABLE_POLLS: u32 = 3;

pub fn method(strategy: MergeStrategy) -> MergeMethod {
    match strategy {
        MergeStrategy::Merge => MergeMethod::Merge,
        MergeStrategy::Squash => MergeMethod::Squash,
        MergeStrategy::Rebase => MergeMethod::Rebase,
    }
}

fn method_name(m: MergeMethod) -> &'static str {
    match m {
        MergeMethod::Merge => "merge",
        MergeMethod::Squash => "squash",
        MergeMethod::Rebase => "rebase",
    }
}

/// Merges integration PR `number` (0: a dry run's placeholder) for `task` when its policy
/// allows; returns the summary line saying what happened and why.
pub async fn merge_if_allowed<F: Forge>(
    forge: &F,
    task: &Task,
    number: u64,
    strategy: MergeStrategy,
) -> String {
    let id = task.id();
    match AutoPolicy::parse(task.meta().auto_policy.as_deref()) {
        AutoPolicy::AutoMerge => {}
        AutoPolicy::ReviewRequired => {
            return format!(
                "Not merged automatically: {id} has `auto_policy: review_required`, so a person merges the integration PR.\n"
            );
        }
        AutoPolicy::Unknown(v) => {
            return format!(
                "Not merged automatically: {id} has `auto_policy: {v}`, which is not a known value \
                 (review_required, auto_merge), so it counts as review_required.\n"
            );
        }
    }
    let m = method(strategy);
    let how = method_name(m);
    if number == 0 {
        return format!(
            "Would merge the integration PR with `{how}` ({id} has `auto_policy: auto_merge`).\n"
        );
    }
    let mut pr = match forge.pull_request(number).await {
        Ok(pr) => pr,
        Err(e) => return format!("Not merged: cannot read integration PR #{number}: {e}.\n"),
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
        return format!("Integration PR #{number} is already merged.\n");
    }
    if pr.mergeable == Some(false) {
        return format!(
            "Not merged: GitHub reports integration PR #{number} cannot be merged (a conflict or a \
             branch rule); it stays open for a person.\n"
        );
    }
    match forge.merge_pull_request(number, m, &pr.head_sha).await {
        Ok(sha) if sha == crate::policy::guard::PLANNED_SHA => format!(
            "Would merge integration PR #{number} with `{how}` ({id} has `auto_policy: auto_merge`).\n"
        ),
        Ok(sha) => format!(
            "Integration PR #{number} merged with `{how}` ({id} has `auto_policy: auto_merge`): {sha}.\n"
        ),
        Err(refused) => match forge.enable_auto_merge(number, m).await {
            Ok(()) => format!(
                "GitHub would not merge integration PR #{number} now ({}); auto-merge (`{how}`) is on, \
                 so GitHub merges it once the required checks pass.\n",
                reason(&refused)
            ),
            Err(auto) => format!(
                "Not merged: the repository does not permit merging integration PR #{number} now ({}), \
                 and auto-merge is not available ({auto}). It stays open for a person to merge.\n",
                reason(&refused)
            ),
        },
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
