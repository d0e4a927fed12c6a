//! Picks the next task: queued, every dependency done; ordered by priority (P0 first), then fewer
//! dependencies, then id. When nothing is eligible it says why, naming what each task waits for.

use std::collections::HashMap;

use super::id::TaskId;
use super::task::Task;
use super::{DONE, QUEUED};

/// A dependency a queued task is waiting for.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Waiting {
    /// The dependency as written in `depends_on`.
    pub id: String,
    /// Its current status; `None` when no task has that id.
    pub status: Option<String>,
}

/// A queued task that cannot start yet.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Blocked {
    pub id: TaskId,
    pub title: String,
    pub waiting_for: Vec<Waiting>,
}

impl Blocked {
    /// `T-0004 waits for T-0003 (in_review), T-0009 (no such task)`.
    pub fn describe(&self) -> String {
        let waits: Vec<String> = self
            .waiting_for
            .iter()
            .map(|w| match &w.status {
                Some(s) => format!("{} ({s})", w.id),
                None => format!("{} (no such task)", w.id),
            })
            .collect();
        format!("{} waits for {}", self.id, waits.join(", "))
    }
}

/// The outcome of choosing the next task.
#[derive(Clone, Debug)]
pub enum NextTask<'a> {
    /// The task to work on, and every eligible task in order (the first is `task`).
    Ready {
        task: &'a Task,
        eligible: Vec<&'a Task>,
    },
    /// Nothing can start; `reason` is one human sentence, `blocked` the queued tasks' waits.
    Nothing {
        reason: String,
        blocked: Vec<Blocked>,
    },
}

impl NextTask<'_> {
    /// The chosen task's id, if any.
    pub fn id(&self) -> Option<TaskId> {
        match self {
            NextTask::Ready { task, .. } => Some(task.id()),
            NextTask::Nothing { .. } => None,
        }
    }

    /// A human explanation: the chosen task, or why none, one blocked task per line.
    pub fn explain(&self) -> String {
        match self {
            NextTask::Ready { task, eligible } => format!(
                "next: {} {} ({}; {} eligible)",
                task.id(),
                task.meta().title,
                task.meta().priority,
                eligible.len()
            ),
            NextTask::Nothing { reason, blocked } => {
                let mut s = reason.clone();
                for b in blocked {
                    s.push_str("\n- ");
                    s.push_str(&b.describe());
                }
                s
            }
        }
    }
}

/// Chooses the next task among `tasks`. A dependency counts as done only when every task with
/// that id is `done` (duplicates are a validation error anyway).
///
/// This looks at the tasks only, not at their validation errors: a task with a duplicate id or a
/// file name that does not match can be chosen. Callers that act on the choice use
/// [`TaskSet::next_task`](super::TaskSet::next_task), which never picks a task with errors.
pub fn next_task(tasks: &[Task]) -> NextTask<'_> {
    next_among(tasks, |_| false)
}

/// Like [`next_task`], but a task for which `excluded(index)` is true is never eligible and is
/// not counted as queued or blocked; it still counts as a dependency (by its status).
pub(crate) fn next_among(tasks: &[Task], excluded: impl Fn(usize) -> bool) -> NextTask<'_> {
    let mut status: HashMap<String, &str> = HashMap::with_capacity(tasks.len());
    for t in tasks {
        let key = t.id().to_string();
        match status.get(&key) {
            Some(&s) if s != DONE => {}
            _ => {
                status.insert(key, t.status());
            }
        }
    }
    let mut eligible = Vec::new();
    let mut blocked = Vec::new();
    let candidates = tasks
        .iter()
        .enumerate()
        .filter(|(i, t)| !excluded(*i) && t.status() == QUEUED)
        .map(|(_, t)| t);
    for t in candidates {
        let waiting_for: Vec<Waiting> = t
            .meta()
            .depends_on
            .iter()
            .filter_map(|d| match status.get(d.as_str()) {
                Some(&s) if s == DONE => None,
                Some(&s) => Some(Waiting {
                    id: d.clone(),
                    status: Some(s.to_string()),
                }),
                None => Some(Waiting {
                    id: d.clone(),
                    status: None,
                }),
            })
            .collect();
        if waiting_for.is_empty() {
            eligible.push(t);
        } else {
            blocked.push(Blocked {
                id: t.id(),
                title: t.meta().title.clone(),
                waiting_for,
            });
        }
    }
    eligible.sort_by_key(|t| (t.meta().priority.rank(), t.meta().depends_on.len(), t.id()));
    if let Some(&task) = eligible.first() {
        return NextTask::Ready { task, eligible };
    }
    blocked.sort_by_key(|b| b.id);
    let considered: Vec<&Task> = tasks
        .iter()
        .enumerate()
        .filter(|(i, _)| !excluded(*i))
        .map(|(_, t)| t)
        .collect();
    let valid = if considered.len() < tasks.len() {
        "valid "
    } else {
        ""
    };
    let reason = if tasks.is_empty() {
        "no tasks: the tasks directory has no task files".to_string()
    } else if considered.is_empty() {
        "no valid task: every task has errors".to_string()
    } else if blocked.is_empty() {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for t in considered {
            match counts.iter_mut().find(|(s, _)| s == t.status()) {
                Some((_, n)) => *n += 1,
                None => counts.push((t.status().to_string(), 1)),
            }
        }
        counts.sort();
        let parts: Vec<String> = counts
            .iter()
            .map(|(s, n)| format!("{n} {}", if s.is_empty() { "without status" } else { s }))
            .collect();
        format!("no {valid}task is queued ({})", parts.join(", "))
    } else {
        format!(
            "none of the {} {valid}queued tasks has all its dependencies done",
            blocked.len()
        )
    };
    NextTask::Nothing { reason, blocked }
}
