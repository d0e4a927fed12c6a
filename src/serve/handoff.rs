//! The hand-off to the Developer in serve mode. In Actions the Taskmaster and the Integrator
//! start the Developer with a `workflow_dispatch`; serve runs no workflows, so its roles name
//! `SERVE_QUEUE` as the developer workflow, and this module takes those dispatches out of the
//! change set before it is published and queues a developer job for the task instead.

use serde_json::{Value, json};

use crate::changes::{ChangeSet, Write};
use crate::roles::Role;
pub use crate::roles::handoff::SERVE_QUEUE;

use super::App;
use super::store::{Enqueued, Job, JobState, NewJob};

/// Removes the dispatches of `SERVE_QUEUE` from the change set at `path` (rewriting it) and
/// returns the tasks they hand over. A file that does not parse is left for the publisher to
/// refuse.
pub fn take_out(path: &std::path::Path) -> Result<Vec<String>, String> {
    let Ok(mut set) = ChangeSet::read(path) else {
        return Ok(Vec::new());
    };
    let mut tasks = Vec::new();
    let before = set.writes.len();
    set.writes.retain(|w| match w {
        Write::Dispatch(d) if d.workflow == SERVE_QUEUE => {
            if d.inputs.get("role").map(String::as_str) == Some("developer")
                && let Some(task) = d.inputs.get("task")
                && crate::event::command::is_task_id(task)
            {
                tasks.push(task.to_ascii_uppercase());
            }
            false
        }
        _ => true,
    });
    if set.writes.len() == before {
        return Ok(tasks);
    }
    let text = serde_json::to_string_pretty(&set)
        .map_err(|e| format!("cannot write the change set back: {e}"))?;
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(tasks)
}

/// Queues a developer job per handed-over task, unless a developer job of the repository is
/// queued or running already (the Actions hand-off's "a developer run is under way" rule: the
/// next Taskmaster or Integrator hands the task over then). The job is keyed by the job that
/// handed over, so finishing that job twice queues nothing twice.
pub fn enqueue(app: &App, from: &Job, tasks: &[String]) -> Value {
    let mut out = Vec::new();
    for task in tasks {
        let busy = app
            .store
            .jobs(Some(from.repo_id), 200)
            .map(|jobs| {
                jobs.into_iter().find(|j| {
                    j.role == Role::Developer
                        && j.id != from.id
                        && matches!(j.state, JobState::Queued | JobState::Running)
                })
            })
            .map_err(|e| e.to_string());
        match busy {
            Ok(Some(j)) => {
                out.push(json!({"task": task, "queued": false,
                    "reason": format!("developer job {} ({}) is {} already; {task} is handed over next time",
                        j.id, j.task.as_deref().unwrap_or("no task"), j.state.as_str())}));
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                out.push(json!({"task": task, "queued": false, "reason": e}));
                continue;
            }
        }
        let mut job = NewJob::new(
            from.repo_id,
            Role::Developer,
            "handoff",
            format!(
                "{} job {} handed {task} to the developer",
                from.role, from.id
            ),
        );
        job.task = Some(task.clone());
        job.dedupe_key = Some(format!("handoff:{}:{task}", from.id));
        job.max_attempts = app.settings.max_attempts;
        match app.store.enqueue(&job) {
            Ok(Enqueued::Created { id, .. }) => {
                tracing::info!(job = id, task = %task, from = from.id, "developer job queued");
                out.push(json!({"task": task, "queued": true, "job": id}));
            }
            Ok(Enqueued::Duplicate { id }) => {
                out.push(json!({"task": task, "queued": false, "job": id,
                    "reason": "queued before by this job"}));
            }
            Err(e) => {
                tracing::error!(task = %task, "cannot queue the developer job: {e}");
                out.push(json!({"task": task, "queued": false, "reason": e.to_string()}));
            }
        }
    }
    if !out.is_empty() {
        app.wake.notify_waiters();
    }
    Value::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::{CommentWrite, DispatchWrite, Target};

    fn dispatch(workflow: &str, task: &str) -> Write {
        Write::Dispatch(DispatchWrite {
            workflow: workflow.into(),
            git_ref: "main".into(),
            inputs: [
                ("role".to_string(), "developer".to_string()),
                ("task".to_string(), task.to_string()),
            ]
            .into(),
            pr_input: None,
        })
    }

    fn set(writes: Vec<Write>) -> ChangeSet {
        ChangeSet {
            format: crate::changes::FORMAT.into(),
            version: crate::changes::VERSION,
            role: Role::Integrator,
            repository: "octo/app".into(),
            default_branch: "main".into(),
            base: "0".repeat(40),
            run_id: "serve-7".into(),
            task: None,
            pr: Some(3),
            writes,
        }
    }

    #[test]
    fn the_serve_queue_dispatch_leaves_the_change_set_and_names_its_task() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("changes.json");
        let comment = Write::Comment(CommentWrite {
            on: Target::Pr(3),
            marker: "<!-- m -->".into(),
            body: "done".into(),
        });
        let other = dispatch("llm-team-reviewer.yml", "T-0009");
        let written = set(vec![
            comment.clone(),
            dispatch(SERVE_QUEUE, "t-0002"),
            other.clone(),
        ]);
        std::fs::write(&path, serde_json::to_string(&written).unwrap()).unwrap();
        assert_eq!(take_out(&path).unwrap(), vec!["T-0002".to_string()]);
        // What is published: the comment, and a dispatch of a workflow the operator named.
        let left = ChangeSet::read(&path).unwrap();
        assert_eq!(left.writes, vec![comment, other]);
        // Taken out once: the rewritten file hands nothing over again.
        assert!(take_out(&path).unwrap().is_empty());
    }

    #[test]
    fn a_hand_off_without_a_valid_task_queues_nothing_but_is_still_not_dispatched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("changes.json");
        let written = set(vec![dispatch(SERVE_QUEUE, "../etc")]);
        std::fs::write(&path, serde_json::to_string(&written).unwrap()).unwrap();
        assert!(take_out(&path).unwrap().is_empty());
        assert!(ChangeSet::read(&path).unwrap().writes.is_empty());
        // A file that is not a change set is left for the publisher to refuse.
        std::fs::write(&path, "{not json").unwrap();
        assert!(take_out(&path).unwrap().is_empty());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{not json");
    }
}
