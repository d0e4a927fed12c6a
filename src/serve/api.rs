//! The HTTP API: health and readiness, the repository registry (`/repos` CRUD), per-repository
//! scan, status, work-next and run, `/poll/once`, `/jobs/{id}` and `/metrics`. Mutating
//! endpoints need `Authorization: Bearer $CODEX_ADMIN_TOKEN`; every answer is JSON (metrics
//! aside) and carries credential *names* only.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::config::Mode;
use crate::forge::RepoId;
use crate::forge::github::poll::Poller;
use crate::roles::Role;

use super::App;
use super::credentials::{self, Purpose};
use super::error::{ApiError, ApiResult, json_response};
use super::store::{AppCredential, Credential, Enqueued, NewJob, NewRepo, Repo, RepoSettings};

/// Bodies of the JSON endpoints (the webhook has its own, larger limit).
const MAX_JSON_BODY: usize = 1024 * 1024;

pub fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/health", get(health))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/repos", get(list_repos).post(create_repo))
        .route(
            "/repos/{id}",
            get(show_repo).patch(update_repo).delete(delete_repo),
        )
        .route("/repos/{id}/scan", post(scan))
        .route("/repos/{id}/status", get(status))
        .route("/repos/{id}/work-next", get(work_next))
        .route("/repos/{id}/run/{role}", post(run_role))
        .route("/jobs/{id}", get(show_job))
        .route("/poll/once", post(poll_once))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY));
    let webhook = Router::new()
        .route("/webhook", post(super::webhook::receive))
        .layer(DefaultBodyLimit::max(
            crate::event::payload::MAX_PAYLOAD_BYTES as usize,
        ));
    api.merge(webhook)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

async fn not_found() -> ApiError {
    ApiError::not_found(
        "no such endpoint: see docs/serve.md for /health, /repos, /repos/{id}/scan|status|work-next|run/{role}, \
         /poll/once, /jobs/{id}, /metrics and /webhook",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this endpoint does not take that method (see docs/serve.md)",
    )
}

/// Checks `Authorization: Bearer …` against the admin token, in constant time.
pub fn admin(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "this endpoint changes state: send Authorization: Bearer <CODEX_ADMIN_TOKEN>",
        ));
    };
    let given = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    let expected = app.settings.admin_token.expose().as_bytes();
    if given.is_empty() || !bool::from(given.as_bytes().ct_eq(expected)) {
        return Err(ApiError::unauthorized(
            "the bearer token is not the admin token (CODEX_ADMIN_TOKEN)",
        ));
    }
    Ok(())
}

/// A JSON body (empty means `{}` when `empty_ok`), with the failing field named.
fn body_json<T: DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    empty_ok: bool,
) -> Result<T, ApiError> {
    let bytes = body.map_err(|r| {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                format!("the body is larger than {} KiB", MAX_JSON_BODY / 1024),
            )
        } else {
            ApiError::new(status, format!("cannot read the body: {}", r.body_text()))
        }
    })?;
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        if !empty_ok {
            return Err(ApiError::bad_request(
                "the body is empty: send a JSON object (Content-Type: application/json)",
            ));
        }
        b"{}"
    } else {
        &bytes
    };
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let at = e.path().to_string();
        if e.inner().is_syntax() || e.inner().is_eof() {
            ApiError::bad_request(format!(
                "the body is not valid JSON: {} (send Content-Type: application/json)",
                e.inner()
            ))
        } else if at == "." || at == "?" {
            ApiError::bad_request(format!("the body is not the JSON expected: {}", e.inner()))
        } else {
            ApiError::bad_request(format!("the body's {at} is not valid: {}", e.inner()))
        }
    })
}

fn ok(value: Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, &value))
}

fn parse_id(text: &str, what: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        ApiError::bad_request(format!("{what} must be a positive number, got {text:?}"))
    })
}

fn find_repo(app: &App, id: &str) -> Result<Repo, ApiError> {
    let id = parse_id(id, "the repository id")?;
    app.store.repo(id)?.ok_or_else(|| {
        ApiError::not_found(format!(
            "no repository with id {id}: GET /repos lists them, POST /repos registers one"
        ))
    })
}

fn repo_json(repo: &Repo) -> Value {
    serde_json::to_value(repo).unwrap_or(Value::Null)
}

async fn health(State(app): State<Arc<App>>) -> Response {
    match app.store.ping() {
        Ok(()) => json_response(
            StatusCode::OK,
            &json!({"status": "ok", "database": "ok", "version": env!("CARGO_PKG_VERSION")}),
        ),
        Err(e) => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "unavailable", "database": e.to_string(), "version": env!("CARGO_PKG_VERSION")}),
        ),
    }
}

/// Readiness: the database, and per repository GitHub (one conditional GET) and the model server.
async fn ready(State(app): State<Arc<App>>) -> Response {
    let database = app.store.ping().map_err(|e| e.to_string());
    let mut all_ok = database.is_ok();
    let mut repos = Vec::new();
    for repo in app.store.repos().unwrap_or_default() {
        if repo.mode == Mode::Disabled {
            continue;
        }
        let github = github_check(&app, &repo).await;
        let base = repo
            .settings
            .ollama_base_url
            .clone()
            .or_else(|| app.settings.ollama_base_url.clone())
            .unwrap_or_else(|| crate::llm::LlmSettings::default().base_url);
        let ollama = ollama_check(&base).await;
        all_ok &= github.is_ok() && ollama.is_ok();
        repos.push(json!({
            "id": repo.id,
            "full_name": repo.full_name,
            "github": github.map_or_else(|e| json!({"ok": false, "error": app.redactor.redact(&e)}), |_| json!({"ok": true})),
            "model_server": ollama.map_or_else(|e| json!({"ok": false, "url": base, "error": e}), |v| json!({"ok": true, "url": base, "version": v})),
        }));
    }
    let status = if all_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(
        status,
        &json!({
            "ready": all_ok,
            "database": database.map_or_else(|e| json!({"ok": false, "error": e}), |_| json!({"ok": true})),
            "repos": repos,
        }),
    )
}

async fn github_check(app: &App, repo: &Repo) -> Result<(), String> {
    let id = RepoId::parse(&repo.full_name).ok_or("not owner/name")?;
    let token = app.credentials.token(repo, Purpose::Read).await?;
    let path = Poller::repo_path(&id);
    let cred = repo.credential.read_key();
    let cached = app.store.cached(&cred, &path).ok().flatten();
    let a = app
        .poller
        .get(
            &path,
            token.expose(),
            cached.as_ref().map(|c| c.etag.as_str()),
        )
        .await
        .map_err(|e| e.to_string())?;
    match a.status {
        304 => Ok(()),
        200 => {
            if let Some(etag) = a.etag {
                let _ = app.store.put_cached(
                    &cred,
                    &path,
                    &super::store::Cached { etag, body: a.body },
                );
            }
            Ok(())
        }
        s => Err(format!("GET {path} answered HTTP {s}")),
    }
}

async fn ollama_check(base: &str) -> Result<String, String> {
    let settings = crate::llm::LlmSettings {
        base_url: base.trim_end_matches('/').to_string(),
        probe_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let client = crate::llm::ollama::OllamaClient::new(settings).map_err(|e| e.to_string())?;
    client.version().await.map_err(|e| e.to_string())
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let stats = match app.store.stats() {
        Ok(s) => s,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut r = (StatusCode::OK, app.metrics.render(&stats)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// The body of `POST /repos` and `PATCH /repos/{id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RepoInput {
    full_name: Option<String>,
    mode: Option<Mode>,
    default_branch: Option<String>,
    token_env: Option<String>,
    github_app: Option<AppCredential>,
    read_token_env: Option<String>,
    webhook_secret_env: Option<String>,
    clone_url: Option<String>,
    settings: Option<RepoSettings>,
}

fn blank_is_none(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn check_repo_fields(app: &App, repo: &Repo) -> Result<(), ApiError> {
    credentials::check(&repo.credential, &app.settings).map_err(ApiError::bad_request)?;
    if let Some(name) = &repo.webhook_secret_env {
        if !credentials::valid_env_name(name) {
            return Err(ApiError::bad_request(format!(
                "webhook_secret_env must name an environment variable, got {name:?}"
            )));
        }
        if app.settings.var(name).is_none() {
            return Err(ApiError::bad_request(format!(
                "webhook_secret_env names {name}, which is not set (or empty) in the server's environment: \
                 an empty webhook secret is refused"
            )));
        }
    }
    if let Some(url) = &repo.clone_url
        && !["https://", "http://", "file://", "/"]
            .iter()
            .any(|p| url.starts_with(p))
    {
        return Err(ApiError::bad_request(format!(
            "clone_url must be an https://, http:// or file:// URL or an absolute path, got {url:?}"
        )));
    }
    if let Some(url) = &repo.clone_url
        && url.contains('@')
        && url.starts_with("http")
    {
        return Err(ApiError::bad_request(
            "clone_url must not carry credentials: name the token with token_env instead",
        ));
    }
    if let Some(b) = &repo.default_branch
        && (b.starts_with('-') || b.contains("..") || b.contains(char::is_whitespace))
    {
        return Err(ApiError::bad_request(format!(
            "default_branch is not a branch name: {b:?}"
        )));
    }
    if let Some(u) = &repo.settings.ollama_base_url
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        return Err(ApiError::bad_request(format!(
            "settings.ollama_base_url must be an http(s) URL, got {u:?}"
        )));
    }
    Ok(())
}

async fn list_repos(State(app): State<Arc<App>>) -> ApiResult {
    let repos: Vec<Value> = app.store.repos()?.iter().map(repo_json).collect();
    ok(json!({"repos": repos}))
}

async fn create_repo(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    admin(&app, &headers)?;
    let input: RepoInput = body_json(body, false)?;
    let full_name = blank_is_none(input.full_name).ok_or_else(|| {
        ApiError::bad_request("full_name is required: the repository as owner/name")
    })?;
    if RepoId::parse(&full_name).is_none() {
        return Err(ApiError::bad_request(format!(
            "full_name must be owner/name (letters, digits, - _ .), got {full_name:?}"
        )));
    }
    let credential = Credential {
        token_env: blank_is_none(input.token_env),
        github_app: input.github_app,
        read_token_env: blank_is_none(input.read_token_env),
    };
    let candidate = Repo {
        id: 0,
        full_name: full_name.clone(),
        mode: input.mode.unwrap_or_default(),
        default_branch: blank_is_none(input.default_branch),
        credential,
        webhook_secret_env: blank_is_none(input.webhook_secret_env),
        clone_url: blank_is_none(input.clone_url),
        settings: input.settings.unwrap_or_default(),
        created_at: 0,
        updated_at: 0,
    };
    check_repo_fields(&app, &candidate)?;
    let repo = app.store.create_repo(&NewRepo {
        full_name,
        mode: candidate.mode,
        default_branch: candidate.default_branch,
        credential: candidate.credential,
        webhook_secret_env: candidate.webhook_secret_env,
        clone_url: candidate.clone_url,
        settings: candidate.settings,
    })?;
    tracing::info!(repo = %repo.full_name, id = repo.id, "repository registered");
    Ok(json_response(StatusCode::CREATED, &repo_json(&repo)))
}

async fn show_repo(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    ok(repo_json(&find_repo(&app, &id)?))
}

async fn update_repo(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    admin(&app, &headers)?;
    let mut repo = find_repo(&app, &id)?;
    let input: RepoInput = body_json(body, false)?;
    if let Some(name) = blank_is_none(input.full_name)
        && !name.eq_ignore_ascii_case(&repo.full_name)
    {
        return Err(ApiError::bad_request(
            "full_name cannot change: register the other repository with POST /repos",
        ));
    }
    if let Some(m) = input.mode {
        repo.mode = m;
    }
    if let Some(b) = input.default_branch {
        repo.default_branch = blank_is_none(Some(b));
    }
    if input.token_env.is_some() || input.github_app.is_some() {
        repo.credential.token_env = blank_is_none(input.token_env);
        repo.credential.github_app = input.github_app;
    }
    if let Some(r) = input.read_token_env {
        repo.credential.read_token_env = blank_is_none(Some(r));
    }
    if let Some(w) = input.webhook_secret_env {
        repo.webhook_secret_env = blank_is_none(Some(w));
    }
    if let Some(c) = input.clone_url {
        repo.clone_url = blank_is_none(Some(c));
    }
    if let Some(s) = input.settings {
        repo.settings = s;
    }
    check_repo_fields(&app, &repo)?;
    let repo = app
        .store
        .update_repo(&repo)?
        .ok_or_else(|| ApiError::not_found(format!("no repository with id {id}")))?;
    ok(repo_json(&repo))
}

async fn delete_repo(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    admin(&app, &headers)?;
    let repo = find_repo(&app, &id)?;
    app.store.delete_repo(repo.id)?;
    ok(json!({"deleted": repo.id, "full_name": repo.full_name}))
}

async fn scan(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    admin(&app, &headers)?;
    let repo = find_repo(&app, &id)?;
    let tasks = super::scan::scan(&app, &repo)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, app.redactor.redact(&e)))?;
    let poll = super::poller::poll_once(&app, Some(repo.id)).await;
    ok(json!({"id": repo.id, "full_name": repo.full_name, "tasks": tasks, "poll": poll}))
}

async fn status(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let repo = find_repo(&app, &id)?;
    let tasks = app.store.snapshot(repo.id, "tasks")?;
    let prefix = tasks
        .as_ref()
        .and_then(|t| t["branch_prefix"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| crate::config::Config::default().workflow.branch_prefix);
    let pulls = app.store.snapshot(repo.id, "pulls")?;
    let agent_pulls: Vec<Value> = pulls
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| {
            p["head"].as_str().is_some_and(|h| {
                h.starts_with(&prefix)
                    || h.starts_with(crate::vocab::branches::PLAN_PREFIX)
                    || h.starts_with(crate::vocab::branches::INTEGRATE_PREFIX)
            })
        })
        .cloned()
        .collect();
    let jobs: Vec<Value> = app
        .store
        .jobs(Some(repo.id), 20)?
        .iter()
        .map(|j| {
            json!({"id": j.id, "role": j.role, "state": j.state, "pr": j.pr, "task": j.task, "source": j.source,
                   "attempts": j.attempts, "created_at": j.created_at, "finished_at": j.finished_at,
                   "reason": j.reason, "error": j.last_error})
        })
        .collect();
    ok(json!({
        "id": repo.id,
        "full_name": repo.full_name,
        "mode": repo.mode,
        "tasks_by_state": tasks.as_ref().map(|t| t["tasks_by_state"].clone()),
        "scanned_at": tasks.as_ref().map(|t| t["scanned_at"].clone()),
        "open_agent_pulls": agent_pulls,
        "open_pulls": pulls.as_ref().and_then(Value::as_array).map(Vec::len),
        "recent_jobs": jobs,
    }))
}

async fn work_next(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let repo = find_repo(&app, &id)?;
    let tasks = match app.store.snapshot(repo.id, "tasks")? {
        Some(t) => t,
        None => super::scan::scan(&app, &repo)
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, app.redactor.redact(&e)))?,
    };
    ok(json!({
        "id": repo.id,
        "full_name": repo.full_name,
        "next": tasks["next"],
        "commit": tasks["commit"],
        "scanned_at": tasks["scanned_at"],
    }))
}

/// The optional body of `POST /repos/{id}/run/{role}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunInput {
    pr: Option<u64>,
    task: Option<String>,
    #[serde(default)]
    boost: bool,
}

async fn run_role(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((id, role)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    admin(&app, &headers)?;
    let repo = find_repo(&app, &id)?;
    let role: Role = role
        .parse()
        .map_err(|e: crate::roles::UnknownRole| ApiError::bad_request(e.to_string()))?;
    let input: RunInput = body_json(body, true)?;
    if matches!(role, Role::Reviewer | Role::Integrator) && input.pr.is_none() {
        return Err(ApiError::bad_request(format!(
            "the {role} needs a pull request: send {{\"pr\": N}}"
        )));
    }
    if input.pr == Some(0) {
        return Err(ApiError::bad_request("pr must be a pull request number"));
    }
    let task = match input.task.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) if crate::event::command::is_task_id(t) => Some(t.to_ascii_uppercase()),
        Some(t) => {
            return Err(ApiError::bad_request(format!(
                "task must be a task id like T-0003, got {t:?}"
            )));
        }
    };
    if repo.mode == Mode::Disabled {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "{} is in mode disabled: nothing runs (PATCH its mode first)",
                repo.full_name
            ),
        ));
    }
    let mut job = NewJob::new(
        repo.id,
        role,
        "api",
        format!("POST /repos/{}/run/{role}", repo.id),
    );
    job.pr = input.pr;
    job.task = task;
    job.boost = input.boost;
    job.max_attempts = app.settings.max_attempts;
    let queued = app.store.enqueue(&job)?;
    app.wake.notify_waiters();
    let job = app.store.job(queued.id())?;
    let status = match queued {
        Enqueued::Created { .. } => StatusCode::ACCEPTED,
        Enqueued::Duplicate { .. } => StatusCode::OK,
    };
    Ok(json_response(status, &json!({"job": job})))
}

async fn show_job(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id, "the job id")?;
    let job = app
        .store
        .job(id)?
        .ok_or_else(|| ApiError::not_found(format!("no job with id {id}")))?;
    ok(json!({"job": job}))
}

async fn poll_once(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    admin(&app, &headers)?;
    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct PollInput {
        repo: Option<i64>,
    }
    let input: PollInput = body_json(body, true)?;
    if let Some(id) = input.repo {
        find_repo(&app, &id.to_string())?;
    }
    let summary = super::poller::poll_once(&app, input.repo).await;
    ok(serde_json::to_value(summary).unwrap_or(Value::Null))
}
