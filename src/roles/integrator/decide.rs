//! The Integrator's decisions, kept pure: which state a closed pull request moves its task to,
//! whether the task may be moved at all, and whether the integration pull request may be merged
//! without a person (the task's `auto_policy`).

use crate::config::{MergeStrategy, TaskFate};
use crate::forge::MergeMethod;
use crate::tasks::{self, AutoPolicy, Task};

/// The states a task may be in for a merged pull request to complete it: the Developer sets
/// `in_review` when it opens its PR; `ready_for_integration` is the optional step after review.
pub const COMPLETABLE: [&str; 2] = ["in_review", "ready_for_integration"];

/// What to do with the task of a closed pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// Flip `from` → `to`.
    To { from: String, to: &'static str },
    /// Leave it, for the reason given.
    Leave(String),
}

pub fn target(task: &Task, merged: bool, fate: TaskFate, default_branch: &str) -> Move {
    let id = task.id();
    let from = task.status().to_string();
    let to = match (merged, fate) {
        (true, _) => tasks::DONE,
        (false, TaskFate::Queued) => tasks::QUEUED,
        (false, TaskFate::Blocked) => "blocked",
    };
    if from == to || (!merged && from == tasks::DONE) {
        return Move::Leave(format!(
            "{id} is already `{from}` on {default_branch}; nothing to change."
        ));
    }
    if merged && !COMPLETABLE.contains(&from.as_str()) {
        return Move::Leave(format!(
            "{id} is `{from}` on {default_branch}, not `in_review` or `ready_for_integration`: a merged pull request \
             completes only a task under review, so it is left alone."
        ));
    }
    if !merged && !COMPLETABLE.contains(&from.as_str()) {
        return Move::Leave(format!(
            "{id} is `{from}` on {default_branch}, not under review: closing the pull request does not change it."
        ));
    }
    Move::To { from, to }
}

pub fn method(strategy: MergeStrategy) -> MergeMethod {
    match strategy {
        MergeStrategy::Merge => MergeMethod::Merge,
        MergeStrategy::Squash => MergeMethod::Squash,
        MergeStrategy::Rebase => MergeMethod::Rebase,
    }
}

/// Whether the integration PR for `task` may be merged by the Integrator itself; the `Err` is
/// the summary line saying why not.
pub fn may_merge(task: &Task) -> Result<(), String> {
    let id = task.id();
    match AutoPolicy::parse(task.meta().auto_policy.as_deref()) {
        AutoPolicy::AutoMerge => Ok(()),
        AutoPolicy::ReviewRequired => Err(format!(
            "Not merged automatically: {id} has `auto_policy: review_required`, so a person merges the integration PR.\n"
        )),
        AutoPolicy::Unknown(v) => Err(format!(
            "Not merged automatically: {id} has `auto_policy: {v}`, which is not a known value \
             (review_required, auto_merge), so it counts as review_required.\n"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(status: &str) -> Task {
        let text = format!(
            "---\nid: T-0003\ntitle: x\ntype: feature\npriority: P1\ndepends_on: []\nstatus: {status}\nowner: unassigned\nestimate: 1h\nacceptance:\n  - a\nauto_policy: auto_merge\n---\n"
        );
        Task::parse("tasks/T-0003-x.md", text.as_bytes()).unwrap()
    }

    #[test]
    fn only_a_task_under_review_is_completed() {
        assert!(matches!(
            target(&task("in_review"), true, TaskFate::Queued, "main"),
            Move::To { to: "done", .. }
        ));
        assert!(matches!(
            target(
                &task("ready_for_integration"),
                true,
                TaskFate::Queued,
                "main"
            ),
            Move::To { to: "done", .. }
        ));
        let Move::Leave(why) = target(&task("queued"), true, TaskFate::Queued, "main") else {
            panic!("a queued task is never completed by a merge");
        };
        assert!(why.contains("not `in_review`"), "{why}");
        assert!(matches!(
            target(&task("in_review"), false, TaskFate::Blocked, "main"),
            Move::To { to: "blocked", .. }
        ));
        assert!(matches!(
            target(&task("done"), true, TaskFate::Queued, "main"),
            Move::Leave(_)
        ));
        assert!(may_merge(&task("in_review")).is_ok());
    }
}
