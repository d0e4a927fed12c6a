//! The workers: a fixed number of loops (bounded concurrency), each taking the oldest runnable
//! job from the store under a lease, renewing the lease while the job runs and recording how
//! it ended. A job whose worker died is queued again when its lease runs out (or at start-up).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::App;
use super::store::{Finish, Job, now_ms};

/// Where the server is in its life: workers stop taking jobs when draining, and stop the jobs
/// they run when `Stop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Running,
    Draining,
    Stop,
}

/// One worker loop.
pub async fn worker(app: Arc<App>, name: String, mut phase: watch::Receiver<Phase>) {
    loop {
        if *phase.borrow() != Phase::Running {
            return;
        }
        let now = now_ms();
        let lease_until = now + app.settings.lease.as_millis() as i64;
        let claimed = app.store.claim(&name, now, lease_until);
        match claimed {
            Ok(Some(job)) => {
                run_one(&app, &name, job, phase.clone()).await;
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::error!("taking a job failed: {e}"),
        }
        // Sleep until something is queued, a retry is due, or a second passes.
        let due = app
            .store
            .next_run_at()
            .ok()
            .flatten()
            .map(|at| Duration::from_millis((at - now_ms()).clamp(5, 1000) as u64))
            .unwrap_or(Duration::from_secs(1));
        tokio::select! {
            _ = app.wake.notified() => {}
            _ = tokio::time::sleep(due) => {}
            _ = phase.changed() => {}
        }
    }
}

async fn run_one(app: &Arc<App>, owner: &str, job: Job, mut phase: watch::Receiver<Phase>) {
    tracing::info!(
        job = job.id,
        role = %job.role,
        repo = job.repo_id,
        attempt = job.attempts,
        "job started"
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let run = super::executor::run(app, &job, stop_rx);
    tokio::pin!(run);
    let beat = app.settings.lease / 3;
    let mut lost = false;
    let (finish, cost) = loop {
        tokio::select! {
            out = &mut run => break out,
            _ = tokio::time::sleep(beat) => {
                let until = now_ms() + app.settings.lease.as_millis() as i64;
                match app.store.renew(job.id, owner, until) {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = job.id, "lost the lease on the job; stopping it");
                        lost = true;
                        let _ = stop_tx.send(true);
                    }
                    Err(e) => tracing::warn!(job = job.id, "renewing the lease failed: {e}"),
                }
            }
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow() == Phase::Stop {
                    let _ = stop_tx.send(true);
                }
            }
        }
    };
    if lost {
        return;
    }
    let outcome = match &finish {
        Finish::Done { .. } => "done".to_string(),
        Finish::Retry { reason, .. } => format!("retry: {reason}"),
        Finish::Dead { reason } => format!("dead: {reason}"),
        Finish::Requeue { reason } => format!("requeued: {reason}"),
    };
    match app.store.finish(job.id, owner, &finish, &cost) {
        Ok(true) if matches!(finish, Finish::Dead { .. }) => {
            tracing::warn!(job = job.id, role = %job.role, "job ended: {outcome}")
        }
        Ok(true) => tracing::info!(job = job.id, role = %job.role, "job ended: {outcome}"),
        Ok(false) => tracing::warn!(job = job.id, "the job's lease had passed to another worker"),
        Err(e) => tracing::error!(job = job.id, "recording the job's end failed: {e}"),
    }
    app.wake.notify_waiters();
}

/// Queues again the jobs of workers that died (their leases ran out): another instance's, as
/// this instance's own were recovered at start-up and its live workers are spared.
pub async fn reaper(app: Arc<App>, instance: String, mut phase: watch::Receiver<Phase>) {
    let every = app.settings.lease.max(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = phase.changed() => { return; }
        }
        let now = now_ms();
        match app.store.recover(now, now, Some(&instance)) {
            Ok(0) => {}
            Ok(n) => {
                tracing::warn!("{n} job(s) queued again: their worker stopped");
                app.wake.notify_waiters();
            }
            Err(e) => tracing::error!("recovering jobs failed: {e}"),
        }
    }
}
