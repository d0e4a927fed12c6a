//! The Taskmaster's schedule in serve mode: what the Actions example's hourly `schedule` is.
//! Every `CODEX_TASKMASTER_INTERVAL` each enabled repository gets one taskmaster job (the first
//! at once when it is registered), so the seed task is proposed and a task nobody hands over is
//! picked up. The last tick is kept in the store, so a restart does not tick again early.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use crate::config::Mode;
use crate::roles::Role;

use super::App;
use super::queue::Phase;
use super::store::{Enqueued, JobState, NewJob, now_ms};

/// How often the schedule looks at the registry (a tick is due at most this late).
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Queues the taskmaster jobs that are due now; returns their ids.
pub fn tick(app: &App, now: i64) -> Vec<i64> {
    let Some(every) = app.settings.taskmaster_interval else {
        return Vec::new();
    };
    let every_ms = every.as_millis().max(1) as i64;
    let mut queued = Vec::new();
    for repo in app
        .store
        .repos()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.mode != Mode::Disabled)
    {
        let last = app
            .store
            .snapshot(repo.id, "taskmaster_tick")
            .ok()
            .flatten()
            .and_then(|v| v["at"].as_i64());
        if last.is_some_and(|at| now - at < every_ms) {
            continue;
        }
        // A taskmaster still waiting for its turn covers this tick too.
        let waiting = app.store.jobs(Some(repo.id), 100).is_ok_and(|jobs| {
            jobs.iter()
                .any(|j| j.role == Role::Taskmaster && j.state == JobState::Queued)
        });
        if waiting {
            let _ = app
                .store
                .put_snapshot(repo.id, "taskmaster_tick", &json!({"at": now}));
            continue;
        }
        let mut job = NewJob::new(
            repo.id,
            Role::Taskmaster,
            "schedule",
            format!("schedule: the taskmaster runs every {every:?} (CODEX_TASKMASTER_INTERVAL)"),
        );
        job.dedupe_key = Some(format!("schedule:{}:{}", repo.id, now / every_ms));
        job.max_attempts = app.settings.max_attempts;
        match app.store.enqueue(&job) {
            Ok(e) => {
                if let Enqueued::Created { id, .. } = e {
                    queued.push(id);
                }
                if let Err(e) =
                    app.store
                        .put_snapshot(repo.id, "taskmaster_tick", &json!({"at": now}))
                {
                    tracing::warn!(repo = %repo.full_name, "cannot keep the taskmaster's tick: {e}");
                }
            }
            Err(e) => tracing::error!(repo = %repo.full_name, "cannot queue the taskmaster: {e}"),
        }
    }
    if !queued.is_empty() {
        app.wake.notify_waiters();
    }
    queued
}

/// The schedule's loop, until the server drains.
pub async fn run(app: Arc<App>, mut phase: watch::Receiver<Phase>) {
    loop {
        if *phase.borrow() != Phase::Running {
            return;
        }
        tick(&app, now_ms());
        tokio::select! {
            _ = tokio::time::sleep(LOOK_EVERY) => {}
            _ = phase.changed() => {}
        }
    }
}
