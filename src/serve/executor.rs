//! Runs one job as child processes of this binary, never in the server's own process: the work
//! phase (`run --role … --changes-out FILE`: reads, calls the model, writes nothing) with a
//! read-only token, then, in `pr` mode, the publish phase (`publish FILE --json`: applies the
//! change set, runs no repository code) with the write token. Each child gets a cleared
//! environment with only what its phase needs, its own process group, and dies with the server.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use crate::config::Mode;
use crate::roles::Role;

use super::App;
use super::credentials::Purpose;
use super::store::{Finish, Job, Repo, RunCost, now_ms};

/// Output kept from a child: the tail of its log for errors, and the publish phase's answer.
const MAX_KEPT: u64 = 1024 * 1024;

/// How a child ended.
#[derive(Debug)]
struct Exit {
    code: Option<i32>,
    timed_out: bool,
    stopped: bool,
    log_tail: String,
}

/// The job's files.
struct JobFiles {
    dir: PathBuf,
    checkout: PathBuf,
    changes: PathBuf,
    report: PathBuf,
    publish_report: PathBuf,
    event: PathBuf,
}

impl JobFiles {
    fn new(dir: PathBuf) -> Self {
        JobFiles {
            checkout: dir.join("checkout"),
            changes: dir.join("changes.json"),
            report: dir.join("report.json"),
            publish_report: dir.join("publish-report.json"),
            event: dir.join("event.json"),
            dir,
        }
    }
}

/// Runs `job`; `stop` turns true when the job must end now (shutdown, lost lease).
pub async fn run(app: &App, job: &Job, stop: watch::Receiver<bool>) -> (Finish, RunCost) {
    let mut cost = RunCost::default();
    let finish = match run_inner(app, job, stop, &mut cost).await {
        Ok(f) | Err(f) => f,
    };
    let finish = match finish {
        Finish::Retry { at, reason } => Finish::Retry {
            at,
            reason: app.redactor.redact(&reason),
        },
        Finish::Dead { reason } => Finish::Dead {
            reason: app.redactor.redact(&reason),
        },
        other => other,
    };
    (finish, cost)
}

fn retry(app: &App, job: &Job, reason: String) -> Finish {
    let factor = 2u32.saturating_pow(job.attempts.saturating_sub(1).min(16));
    let delay = app.settings.retry_backoff.saturating_mul(factor);
    let delay = delay.min(Duration::from_secs(6 * 3600));
    Finish::Retry {
        at: now_ms() + delay.as_millis() as i64,
        reason,
    }
}

async fn run_inner(
    app: &App,
    job: &Job,
    stop: watch::Receiver<bool>,
    cost: &mut RunCost,
) -> Result<Finish, Finish> {
    let started = std::time::Instant::now();
    let dead = |reason: String| Finish::Dead { reason };
    let repo = app
        .store
        .repo(job.repo_id)
        .map_err(|e| retry(app, job, e.to_string()))?
        .ok_or_else(|| dead("the repository was removed from the registry".into()))?;
    if repo.mode == Mode::Disabled {
        return Ok(Finish::Done {
            result: Some(serde_json::json!({"skipped": "the repository's mode is disabled"})),
        });
    }
    let read = app
        .credentials
        .token(&repo, Purpose::Read)
        .await
        .map_err(dead)?;
    let files = JobFiles::new(app.workspaces.job_dir(job.id));
    prepare_dir(&files.dir).map_err(|e| retry(app, job, e))?;
    let mirror = app
        .workspaces
        .fetch(&repo, Some(&read), started)
        .await
        .map_err(|e| retry(app, job, e))?;
    let checkout = app
        .workspaces
        .checkout(
            &repo,
            &mirror,
            job.pr.map(|n| (n, Some(&read))),
            &files.checkout,
        )
        .await
        .map_err(|e| retry(app, job, e))?;

    // The work phase.
    let mut env = base_env(app, job, &repo, &checkout.default_branch, &files);
    env.push(("CODEX_REPORT".into(), path_text(&files.report)));
    env.push(("GH_TOKEN".into(), read.expose().to_string()));
    // The hand-off to the developer is a job in this server's queue, not a workflow run.
    env.push((
        "CODEX_DEVELOPER_WORKFLOW".into(),
        super::handoff::SERVE_QUEUE.into(),
    ));
    if let Some(url) = repo
        .settings
        .ollama_base_url
        .clone()
        .or_else(|| app.settings.ollama_base_url.clone())
    {
        env.push(("OLLAMA_BASE_URL".into(), url));
    }
    for role in Role::ALL {
        let var = format!("LLM_{}_MODEL", role.as_str().to_ascii_uppercase());
        if let Some(m) = repo
            .settings
            .models
            .get(&role)
            .cloned()
            .or_else(|| app.settings.var(&var))
        {
            env.push((var, m));
        }
    }
    if let Some(m) = repo
        .settings
        .boost_model
        .clone()
        .or_else(|| app.settings.var("LLM_BOOST_MODEL"))
    {
        env.push(("LLM_BOOST_MODEL".into(), m));
    }
    match &app.settings.test_sandbox {
        Some(sandbox) => env.push(("CODEX_TEST_SANDBOX".into(), sandbox.clone())),
        None => env.push(("CODEX_DEVELOPER_TESTS".into(), "off".into())),
    }
    if let Some(delivery) = &job.delivery_id
        && let Some(name) = &job.event_name
    {
        let payload = app
            .store
            .delivery_payload(delivery)
            .map_err(|e| retry(app, job, e.to_string()))?
            .ok_or_else(|| dead(format!("the payload of delivery {delivery} is gone")))?;
        std::fs::write(&files.event, payload)
            .map_err(|e| retry(app, job, format!("cannot write the event payload: {e}")))?;
        env.push(("GITHUB_EVENT_NAME".into(), name.clone()));
        env.push(("GITHUB_EVENT_PATH".into(), path_text(&files.event)));
    }
    let mut args: Vec<String> = vec![
        "--repo-dir".into(),
        path_text(&checkout.dir),
        "run".into(),
        "--role".into(),
        job.role.as_str().into(),
    ];
    if let Some(pr) = job.pr {
        args.extend(["--pr".into(), pr.to_string()]);
    }
    if let Some(task) = &job.task {
        args.extend(["--task".into(), task.clone()]);
    }
    if job.boost {
        args.push("--boost".into());
    }
    args.extend(["--changes-out".into(), path_text(&files.changes)]);
    let work = spawn(
        app,
        &args,
        &env,
        &files.dir,
        &files.dir.join("work.log"),
        None,
        app.settings.job_timeout,
        stop.clone(),
    )
    .await
    .map_err(|e| retry(app, job, e))?;
    account(&files.report, cost);
    cost.exit_code = work.code;
    if work.stopped {
        return Ok(Finish::Requeue {
            reason: "interrupted during the work phase (shutdown or lost lease)".into(),
        });
    }
    if work.timed_out {
        return Err(retry(
            app,
            job,
            format!(
                "the work phase did not finish within {:?}",
                app.settings.job_timeout
            ),
        ));
    }
    match work.code {
        Some(0) => {}
        Some(2) => {
            return Err(dead(format!(
                "the {} role refused the job (exit 2: usage, configuration or refused event): {}",
                job.role, work.log_tail
            )));
        }
        code => {
            return Err(retry(
                app,
                job,
                format!(
                    "the {} role failed ({}): {}",
                    job.role,
                    code.map_or("killed by a signal".into(), |c| format!("exit {c}")),
                    work.log_tail
                ),
            ));
        }
    }
    let changes = read_bounded(&files.changes);
    let publish = repo.mode == Mode::Pr && !repo.settings.dry_run;
    let Some(changes) = changes.filter(|c| !c.trim().is_empty()) else {
        done_review(app, job);
        cleanup(&files);
        return Ok(Finish::Done {
            result: Some(
                serde_json::json!({"published": false, "reason": "the role planned no change set"}),
            ),
        });
    };
    if !publish {
        done_review(app, job);
        cleanup(&files);
        let set: Value = serde_json::from_str(&changes).unwrap_or(Value::String(changes));
        return Ok(Finish::Done {
            result: Some(
                serde_json::json!({"published": false, "reason": format!("mode {} (dry run: {})", repo.mode.as_str(), repo.settings.dry_run), "change_set": set}),
            ),
        });
    }

    // Dispatches of the developer "workflow" become developer jobs once the rest is published.
    let handoffs = super::handoff::take_out(&files.changes).map_err(|e| retry(app, job, e))?;

    // The publish phase: the write credential, no repository code, no model.
    let write = app
        .credentials
        .token(&repo, Purpose::Write)
        .await
        .map_err(dead)?;
    let mut env = base_env(app, job, &repo, &checkout.default_branch, &files);
    env.push(("CODEX_REPORT".into(), path_text(&files.publish_report)));
    env.push(("GH_TOKEN".into(), write.expose().to_string()));
    // The role and pull request come from the job, not from the file (the publisher does not
    // trust the change set's own word for them).
    let mut args: Vec<String> = vec![
        "--repo-dir".into(),
        path_text(&checkout.dir),
        "publish".into(),
        path_text(&files.changes),
        "--role".into(),
        job.role.as_str().into(),
    ];
    if let Some(pr) = job.pr {
        args.extend(["--pr".into(), pr.to_string()]);
    }
    args.push("--json".into());
    let out_path = files.dir.join("publish.out");
    let published = spawn(
        app,
        &args,
        &env,
        &files.dir,
        &files.dir.join("publish.log"),
        Some(&out_path),
        app.settings.publish_timeout,
        stop,
    )
    .await
    .map_err(|e| retry(app, job, e))?;
    cost.exit_code = published.code;
    if published.stopped {
        return Ok(Finish::Requeue {
            reason:
                "interrupted during the publish phase; publishing is idempotent, so it runs again"
                    .into(),
        });
    }
    match published.code {
        Some(0) if !published.timed_out => {}
        Some(2) => {
            return Err(dead(format!(
                "the publisher refused the change set: {}",
                published.log_tail
            )));
        }
        code => {
            return Err(retry(
                app,
                job,
                format!(
                    "publishing failed ({}): {}",
                    if published.timed_out {
                        "timed out".to_string()
                    } else {
                        code.map_or("killed by a signal".into(), |c| format!("exit {c}"))
                    },
                    published.log_tail
                ),
            ));
        }
    }
    let stdout = read_bounded(&out_path).unwrap_or_default();
    let stdout = app.redactor.redact(&stdout);
    let result: Value = serde_json::from_str(&stdout).unwrap_or(Value::String(stdout));
    done_review(app, job);
    cleanup(&files);
    let mut result = serde_json::json!({"published": true, "publish": result});
    if !handoffs.is_empty() {
        // A set that no longer fits the repository wrote nothing; in Actions its dispatch
        // would not have gone out either.
        result["handoffs"] = if result["publish"]["conflict"].is_null() {
            super::handoff::enqueue(app, job, &handoffs)
        } else {
            serde_json::json!([{"queued": false, "tasks": handoffs,
                "reason": "the change set was not published (it no longer fits the repository)"}])
        };
    }
    Ok(Finish::Done {
        result: Some(result),
    })
}

/// A finished review records its head, so polling does not review it again.
fn done_review(app: &App, job: &Job) {
    if job.role == Role::Reviewer
        && let (Some(pr), Some(head)) = (job.pr, &job.head_sha)
        && let Err(e) = app.store.set_reviewed_head(job.repo_id, pr, head)
    {
        tracing::warn!("cannot record the reviewed head of #{pr}: {e}");
    }
}

/// The checkout goes; the change set, reports and logs stay for inspection.
fn cleanup(files: &JobFiles) {
    let _ = std::fs::remove_dir_all(&files.checkout);
}

fn prepare_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for name in [
        "changes.json",
        "report.json",
        "publish-report.json",
        "publish.out",
    ] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    Ok(())
}

fn path_text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// What both phases get: the run's identity, the repository and the mode; no secret.
fn base_env(
    app: &App,
    job: &Job,
    repo: &Repo,
    default_branch: &str,
    files: &JobFiles,
) -> Vec<(String, String)> {
    let mut env = vec![
        ("PATH".into(), app.settings.path.clone()),
        ("HOME".into(), path_text(&files.dir)),
        ("LANG".into(), "C.UTF-8".into()),
        ("GITHUB_REPOSITORY".into(), repo.full_name.clone()),
        ("GITHUB_API_URL".into(), app.settings.api_url.clone()),
        ("GITHUB_SERVER_URL".into(), app.settings.server_url.clone()),
        ("GITHUB_RUN_ID".into(), format!("serve-{}", job.id)),
        ("CODEX_MODE".into(), repo.mode.as_str().into()),
        ("DEFAULT_BRANCH".into(), default_branch.into()),
    ];
    if repo.settings.dry_run {
        env.push(("CODEX_DRY_RUN".into(), "true".into()));
    }
    env
}

/// Adds the model tokens and seconds of the run report, when there is one.
fn account(report: &Path, cost: &mut RunCost) {
    let Some(text) = read_bounded(report) else {
        return;
    };
    let Ok(v) = serde_json::from_str::<Value>(&text) else {
        return;
    };
    for call in v["llm_calls"].as_array().into_iter().flatten() {
        cost.model_tokens += call["prompt_tokens"].as_u64().unwrap_or(0)
            + call["output_tokens"].as_u64().unwrap_or(0);
        cost.model_seconds += call["total_seconds"].as_f64().unwrap_or(0.0);
    }
}

fn read_bounded(path: &Path) -> Option<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_KEPT).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The last lines of a log, redacted, for the job's error.
fn tail(app: &App, log: &Path) -> String {
    let text = read_bounded(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(8);
    let joined = lines[start..].join(" | ");
    let cut: String = joined
        .chars()
        .rev()
        .take(2000)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    app.redactor.redact(&cut)
}

/// Runs one phase. Its stderr (and its stdout too, unless `stdout` names a file of its own)
/// goes to `log`.
#[allow(clippy::too_many_arguments)]
async fn spawn(
    app: &App,
    args: &[String],
    env: &[(String, String)],
    cwd: &Path,
    log: &Path,
    stdout: Option<&Path>,
    timeout: Duration,
    stop: watch::Receiver<bool>,
) -> Result<Exit, String> {
    let create = |p: &Path| {
        std::fs::File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()))
    };
    let err = create(log)?;
    let out = match stdout {
        Some(path) => create(path)?,
        None => err.try_clone().map_err(|e| e.to_string())?,
    };
    run_child(
        app,
        args,
        env,
        cwd,
        Stdio::from(out),
        Stdio::from(err),
        log,
        timeout,
        stop,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn run_child(
    app: &App,
    args: &[String],
    env: &[(String, String)],
    cwd: &Path,
    stdout: Stdio,
    stderr: Stdio,
    log: &Path,
    timeout: Duration,
    mut stop: watch::Receiver<bool>,
) -> Result<Exit, String> {
    let mut cmd = tokio::process::Command::new(&app.settings.exe);
    cmd.args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .kill_on_drop(true);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            // Its own process group, so a timeout ends its children too; and it dies with us.
            if libc::setpgid(0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| {
        format!(
            "cannot start {} ({e}); set CODEX_SERVE_EXE to the codex-orchestrator binary",
            app.settings.exe.display()
        )
    })?;
    let pid = child.id().map(|p| p as i32);
    let (mut timed_out, mut stopped) = (false, false);
    let status = tokio::select! {
        s = child.wait() => Some(s),
        _ = tokio::time::sleep(timeout) => { timed_out = true; None }
        _ = stop.wait_for(|s| *s) => { stopped = true; None }
    };
    let status = match status {
        Some(s) => s.map_err(|e| e.to_string())?,
        None => {
            if let Some(pid) = pid {
                // SAFETY: signalling our own child's process group.
                unsafe { libc::kill(-pid, libc::SIGTERM) };
                let graceful = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
                if graceful.is_err() {
                    // SAFETY: as above; kill(2) takes plain integers and touches no memory.
                    unsafe { libc::kill(-pid, libc::SIGKILL) };
                }
            }
            child.wait().await.map_err(|e| e.to_string())?
        }
    };
    if let Some(pid) = pid {
        // Whatever the child left running in its group goes with it.
        // SAFETY: signalling our own child's process group; kill(2) touches no memory.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
    Ok(Exit {
        code: status.code(),
        timed_out,
        stopped,
        log_tail: tail(app, log),
    })
}
