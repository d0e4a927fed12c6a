//! `POST /repos/{id}/scan`: reads the repository's tasks now (its default branch, fetched into
//! the mirror and checked out under `WORKDIR_ROOT`) and stores what they say — tasks by state,
//! the next eligible task or why none — for `/status` and `/work-next`. Runs no repository code.

use serde_json::{Value, json};

use crate::config::{self, CliOverrides};
use crate::tasks::{load, next};

use super::App;
use super::credentials::Purpose;
use super::store::Repo;

/// Scans `repo`; the stored snapshot is also the answer.
pub async fn scan(app: &App, repo: &Repo) -> Result<Value, String> {
    let token = app.credentials.token(repo, Purpose::Read).await?;
    let mirror = app
        .workspaces
        .fetch(repo, Some(&token), std::time::Instant::now())
        .await?;
    let dir = app
        .workspaces
        .root()
        .join("scans")
        .join(repo.id.to_string());
    let checkout = app.workspaces.checkout(repo, &mirror, None, &dir).await?;
    // Only the file's settings: the server's own environment is not the repository's.
    let no_env = |_: &str| None;
    let effective = config::resolve(&checkout.dir, None, &no_env, &CliOverrides::default())
        .map_err(|e| format!("the repository's .llm-team.yml is not valid: {e}"))?;
    let cfg = &effective.config;
    let set = load::load_repo_tasks(&checkout.dir, &cfg.tasks.dir, &cfg.tasks.states);
    let mut by_state = serde_json::Map::new();
    for state in &cfg.tasks.states {
        by_state.insert(state.clone(), json!(0));
    }
    let mut tasks = Vec::new();
    for t in &set.tasks {
        let n = by_state
            .get(t.status())
            .and_then(Value::as_u64)
            .unwrap_or(0);
        by_state.insert(t.status().to_string(), json!(n + 1));
        tasks.push(json!({
            "id": t.id().to_string(),
            "title": t.meta().title,
            "status": t.status(),
            "priority": t.meta().priority.to_string(),
        }));
    }
    let chosen = next::next_task(&set.tasks);
    let next = match &chosen {
        next::NextTask::Ready { task, eligible } => json!({
            "task": task.id().to_string(),
            "title": task.meta().title,
            "eligible": eligible.iter().map(|t| t.id().to_string()).collect::<Vec<_>>(),
            "explain": chosen.explain(),
        }),
        next::NextTask::Nothing { reason, blocked } => json!({
            "task": null,
            "reason": reason,
            "blocked": blocked.iter().map(next::Blocked::describe).collect::<Vec<_>>(),
        }),
    };
    let snapshot = json!({
        "commit": checkout.head,
        "default_branch": checkout.default_branch,
        "tasks_dir": cfg.tasks.dir,
        "branch_prefix": cfg.workflow.branch_prefix,
        "tasks_by_state": by_state,
        "tasks": tasks,
        "problems": set.diagnostics.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        "next": next,
        "scanned_at": super::store::now_ms(),
    });
    app.store
        .put_snapshot(repo.id, "tasks", &snapshot)
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(snapshot)
}
