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
