//! The `Store` in one embedded SQLite file (WAL, `synchronous=FULL`: an acknowledged webhook
//! survives a power cut). One connection behind a mutex: every call is one short transaction,
//! and `claim` is a single `UPDATE … RETURNING`, so two workers can never take the same job.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{
    Connection, OptionalExtension, Params, Row, Transaction, TransactionBehavior, params,
};

use super::{
    Cached, Credential, Delivery, Enqueued, Finish, Job, JobState, Millis, NewJob, NewRepo,
    Recorded, Repo, RepoSettings, Result, RunCost, Stats, Store, StoreError, now_ms,
};
use crate::config::Mode;
use crate::roles::Role;

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE repos (
    id INTEGER PRIMARY KEY,
    full_name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    mode TEXT NOT NULL,
    default_branch TEXT,
    credential TEXT NOT NULL,
    webhook_secret_env TEXT,
    clone_url TEXT,
    settings TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    repo_id INTEGER,
    received_at INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    payload BLOB
);
CREATE TABLE etags (
    credential TEXT NOT NULL,
    url TEXT NOT NULL,
    etag TEXT NOT NULL,
    body BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (credential, url)
);
CREATE TABLE reviewed_heads (
    repo_id INTEGER NOT NULL,
    pr INTEGER NOT NULL,
    head_sha TEXT NOT NULL,
    reviewed_at INTEGER NOT NULL,
    PRIMARY KEY (repo_id, pr)
);
CREATE TABLE snapshots (
    repo_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (repo_id, kind)
);
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    repo_id INTEGER NOT NULL,
    role TEXT NOT NULL,
    pr INTEGER,
    task TEXT,
    head_sha TEXT,
    boost INTEGER NOT NULL,
    delivery_id TEXT,
    event_name TEXT,
    dedupe_key TEXT UNIQUE,
    source TEXT NOT NULL,
    reason TEXT NOT NULL,
    writer INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error TEXT,
    result TEXT
);
CREATE INDEX jobs_ready ON jobs (state, run_at, id);
CREATE INDEX jobs_repo ON jobs (repo_id, state);
CREATE INDEX jobs_pr ON jobs (repo_id, pr, role, state);
CREATE TABLE job_runs (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    role TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    outcome TEXT,
    exit_code INTEGER,
    reason TEXT,
    model_tokens INTEGER NOT NULL DEFAULT 0,
    model_seconds REAL NOT NULL DEFAULT 0
);
CREATE INDEX job_runs_job ON job_runs (job_id);
";

const JOB_COLUMNS: &str = "id, repo_id, role, pr, task, head_sha, boost, delivery_id, event_name, \
    dedupe_key, source, reason, writer, state, attempts, max_attempts, run_at, created_at, \
    started_at, finished_at, lease_owner, lease_until, last_error, result";

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Database(format!("a stored value is not the JSON it should be: {e}"))
}

impl SqliteStore {
    /// Opens (or creates) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let conn = Connection::open(path).map_err(|e| {
            StoreError::Database(format!(
                "cannot open the state database {}: {e}. Check that its folder exists and is writable (--db PATH)",
                path.display()
            ))
        })?;
        Self::init(conn)
    }

    /// A database in memory (tests).
    #[cfg(test)]
    pub fn in_memory() -> Result<SqliteStore> {
        Self::init(Connection::open_in_memory().map_err(db)?)
    }

    fn init(conn: Connection) -> Result<SqliteStore> {
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF;",
        )
        .map_err(db)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db)?;
        match version {
            0 => {
                conn.execute_batch(&format!(
                    "BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))
                .map_err(db)?;
            }
            SCHEMA_VERSION => {}
            newer => {
                return Err(StoreError::Database(format!(
                    "the state database has schema version {newer}, newer than this build's {SCHEMA_VERSION}: \
                     run the newer codex-orchestrator, or start with a new --db file"
                )));
            }
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| StoreError::Database("the database lock was poisoned".into()))?;
        f(&mut conn)
    }

    /// One transaction: `f` runs inside it, and it commits only when `f` returns `Ok`.
    fn in_tx<T>(
        &self,
        behavior: TransactionBehavior,
        f: impl FnOnce(&Transaction) -> Result<T>,
    ) -> Result<T> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(behavior).map_err(db)?;
            let out = f(&tx)?;
            tx.commit().map_err(db)?;
            Ok(out)
        })
    }

    /// The one row `sql` selects, if any.
    fn optional_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        row: impl FnOnce(&Row) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        self.with(|c| c.query_row(sql, params, row).optional().map_err(db))
    }

    /// One statement that changes rows; how many it changed.
    fn execute(&self, sql: &str, params: impl Params) -> Result<usize> {
        self.with(|c| c.execute(sql, params).map_err(db))
    }
}

/// Every row `sql` selects.
fn all_rows<T>(
    c: &Connection,
    sql: &str,
    params: impl Params,
    row: impl FnMut(&Row) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut st = c.prepare(sql).map_err(db)?;
    let rows = st.query_map(params, row).map_err(db)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
}

/// `SELECT key, COUNT(*) … GROUP BY key` as a map.
fn counts(c: &Connection, sql: &str) -> Result<BTreeMap<String, u64>> {
    let rows = all_rows(c, sql, [], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
    })?;
    Ok(rows.into_iter().collect())
}

fn mode_of(s: &str) -> Mode {
    match s {
        "observe" => Mode::Observe,
        "disabled" => Mode::Disabled,
        _ => Mode::Pr,
    }
}

fn repo_row(r: &Row) -> rusqlite::Result<(Repo, String, String)> {
    let mode: String = r.get(2)?;
    Ok((
        Repo {
            id: r.get(0)?,
            full_name: r.get(1)?,
            mode: mode_of(&mode),
            default_branch: r.get(3)?,
            credential: Credential {
                token_env: None,
                github_app: None,
                read_token_env: None,
            },
            webhook_secret_env: r.get(5)?,
            clone_url: r.get(6)?,
            settings: RepoSettings::default(),
            created_at: r.get(8)?,
            updated_at: r.get(9)?,
        },
        r.get(4)?,
        r.get(7)?,
    ))
}

fn finish_repo((mut repo, credential, settings): (Repo, String, String)) -> Result<Repo> {
    repo.credential = serde_json::from_str(&credential).map_err(json_err)?;
    repo.settings = serde_json::from_str(&settings).map_err(json_err)?;
    Ok(repo)
}

const REPO_COLUMNS: &str = "id, full_name, mode, default_branch, credential, webhook_secret_env, \
    clone_url, settings, created_at, updated_at";

fn job_row(r: &Row) -> rusqlite::Result<Job> {
    let role: String = r.get(2)?;
    let state: String = r.get(13)?;
    let result: Option<String> = r.get(23)?;
    let bad = |what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown {what}").into(),
        )
    };
    Ok(Job {
        id: r.get(0)?,
        repo_id: r.get(1)?,
        role: role.parse::<Role>().map_err(|_| bad("role"))?,
        pr: r.get::<_, Option<i64>>(3)?.map(|n| n as u64),
        task: r.get(4)?,
        head_sha: r.get(5)?,
        boost: r.get(6)?,
        delivery_id: r.get(7)?,
        event_name: r.get(8)?,
        dedupe_key: r.get(9)?,
        source: r.get(10)?,
        reason: r.get(11)?,
        writer: r.get(12)?,
        state: JobState::parse(&state).ok_or_else(|| bad("job state"))?,
        attempts: r.get(14)?,
        max_attempts: r.get(15)?,
        run_at: r.get(16)?,
        created_at: r.get(17)?,
        started_at: r.get(18)?,
        finished_at: r.get(19)?,
        lease_owner: r.get(20)?,
        lease_until: r.get(21)?,
        last_error: r.get(22)?,
        result: result.and_then(|t| serde_json::from_str(&t).ok()),
    })
}

/// Inserts a job inside the caller's transaction.
fn insert_job(tx: &rusqlite::Transaction, job: &NewJob, now: Millis) -> Result<Enqueued> {
    if let Some(key) = &job.dedupe_key
        && let Some(id) = tx
            .query_row("SELECT id FROM jobs WHERE dedupe_key = ?1", [key], |r| {
                r.get::<_, i64>(0)
            })
            .optional()
            .map_err(db)?
    {
        return Ok(Enqueued::Duplicate { id });
    }
    let mut superseded = 0;
    if let (Role::Reviewer, Some(pr), Some(head)) = (job.role, job.pr, &job.head_sha) {
        superseded = tx
            .execute(
                "UPDATE jobs SET state = 'superseded', finished_at = ?1, \
                 last_error = 'superseded by a review of the newer head ' || ?2 \
                 WHERE repo_id = ?3 AND pr = ?4 AND role = 'reviewer' AND state = 'queued' \
                 AND head_sha IS NOT NULL AND head_sha != ?2",
                params![now, head, job.repo_id, pr as i64],
            )
            .map_err(db)? as u64;
    }
    tx.execute(
        "INSERT INTO jobs (repo_id, role, pr, task, head_sha, boost, delivery_id, event_name, \
         dedupe_key, source, reason, writer, state, attempts, max_attempts, run_at, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'queued', 0, ?13, ?14, ?14)",
        params![
            job.repo_id,
            job.role.as_str(),
            job.pr.map(|n| n as i64),
            job.task,
            job.head_sha,
            job.boost,
            job.delivery_id,
            job.event_name,
            job.dedupe_key,
            job.source,
            job.reason,
            job.is_writer(),
            job.max_attempts.max(1),
            now,
        ],
    )
    .map_err(db)?;
    Ok(Enqueued::Created {
        id: tx.last_insert_rowid(),
        superseded,
    })
}

impl Store for SqliteStore {
    fn create_repo(&self, repo: &NewRepo) -> Result<Repo> {
        let now = now_ms();
        let credential = serde_json::to_string(&repo.credential).map_err(json_err)?;
        let settings = serde_json::to_string(&repo.settings).map_err(json_err)?;
        let id = self.in_tx(TransactionBehavior::Deferred, |tx| {
            let exists: Option<i64> = tx
                .query_row(
                    "SELECT id FROM repos WHERE full_name = ?1",
                    [&repo.full_name],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            if let Some(id) = exists {
                return Err(StoreError::Conflict(format!(
                    "{} is registered already (id {id}); change it with PATCH /repos/{id}",
                    repo.full_name
                )));
            }
            tx.execute(
                "INSERT INTO repos (full_name, mode, default_branch, credential, webhook_secret_env, \
                 clone_url, settings, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![
                    repo.full_name,
                    repo.mode.as_str(),
                    repo.default_branch,
                    credential,
                    repo.webhook_secret_env,
                    repo.clone_url,
                    settings,
                    now
                ],
            )
            .map_err(db)?;
            Ok(tx.last_insert_rowid())
        })?;
        self.repo(id)?
            .ok_or_else(|| StoreError::Database("the new repository vanished".into()))
    }

    fn repo(&self, id: i64) -> Result<Option<Repo>> {
        self.optional_row(
            &format!("SELECT {REPO_COLUMNS} FROM repos WHERE id = ?1"),
            [id],
            repo_row,
        )?
        .map(finish_repo)
        .transpose()
    }

    fn repo_by_name(&self, full_name: &str) -> Result<Option<Repo>> {
        self.optional_row(
            &format!("SELECT {REPO_COLUMNS} FROM repos WHERE full_name = ?1"),
            [full_name],
            repo_row,
        )?
        .map(finish_repo)
        .transpose()
    }

    fn repos(&self) -> Result<Vec<Repo>> {
        let sql = format!("SELECT {REPO_COLUMNS} FROM repos ORDER BY id");
        let rows = self.with(|c| all_rows(c, &sql, [], repo_row))?;
        rows.into_iter().map(finish_repo).collect()
    }

    fn update_repo(&self, repo: &Repo) -> Result<Option<Repo>> {
        let credential = serde_json::to_string(&repo.credential).map_err(json_err)?;
        let settings = serde_json::to_string(&repo.settings).map_err(json_err)?;
        let changed = self.execute(
            "UPDATE repos SET mode = ?2, default_branch = ?3, credential = ?4, webhook_secret_env = ?5, \
             clone_url = ?6, settings = ?7, updated_at = ?8 WHERE id = ?1",
            params![
                repo.id,
                repo.mode.as_str(),
                repo.default_branch,
                credential,
                repo.webhook_secret_env,
                repo.clone_url,
                settings,
                now_ms()
            ],
        )?;
        if changed == 0 {
            return Ok(None);
        }
        self.repo(repo.id)
    }

    fn delete_repo(&self, id: i64) -> Result<bool> {
        self.in_tx(TransactionBehavior::Deferred, |tx| {
            let n = tx
                .execute("DELETE FROM repos WHERE id = ?1", [id])
                .map_err(db)?;
            tx.execute(
                "UPDATE jobs SET state = 'cancelled', finished_at = ?2, \
                 last_error = 'the repository was removed from the registry' \
                 WHERE repo_id = ?1 AND state = 'queued'",
                params![id, now_ms()],
            )
            .map_err(db)?;
            for table in ["reviewed_heads", "snapshots"] {
                tx.execute(&format!("DELETE FROM {table} WHERE repo_id = ?1"), [id])
                    .map_err(db)?;
            }
            Ok(n > 0)
        })
    }

    fn record_delivery(&self, d: &Delivery, jobs: &[NewJob]) -> Result<Recorded> {
        let now = now_ms();
        self.in_tx(TransactionBehavior::Deferred, |tx| {
            let inserted = tx
                .execute(
                    "INSERT OR IGNORE INTO deliveries (id, event, repo_id, received_at, outcome, reason, payload) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![d.id, d.event, d.repo_id, now, d.outcome, d.reason, d.payload],
                )
                .map_err(db)?;
            if inserted == 0 {
                return Ok(Recorded::Duplicate);
            }
            let mut ids = Vec::new();
            for job in jobs {
                ids.push(insert_job(tx, job, now)?.id());
            }
            Ok(Recorded::New { jobs: ids })
        })
    }

    fn delivery_payload(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.optional_row("SELECT payload FROM deliveries WHERE id = ?1", [id], |r| {
            r.get::<_, Option<Vec<u8>>>(0)
        })
        .map(Option::flatten)
    }

    fn cached(&self, credential: &str, url: &str) -> Result<Option<Cached>> {
        self.optional_row(
            "SELECT etag, body FROM etags WHERE credential = ?1 AND url = ?2",
            [credential, url],
            |r| {
                Ok(Cached {
                    etag: r.get(0)?,
                    body: r.get(1)?,
                })
            },
        )
    }

    fn put_cached(&self, credential: &str, url: &str, cached: &Cached) -> Result<()> {
        self.execute(
            "INSERT INTO etags (credential, url, etag, body, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (credential, url) DO UPDATE SET etag = ?3, body = ?4, updated_at = ?5",
            params![credential, url, cached.etag, cached.body, now_ms()],
        )
        .map(|_| ())
    }

    fn reviewed_head(&self, repo_id: i64, pr: u64) -> Result<Option<String>> {
        self.optional_row(
            "SELECT head_sha FROM reviewed_heads WHERE repo_id = ?1 AND pr = ?2",
            params![repo_id, pr as i64],
            |r| r.get(0),
        )
    }

    fn set_reviewed_head(&self, repo_id: i64, pr: u64, sha: &str) -> Result<()> {
        self.execute(
            "INSERT INTO reviewed_heads (repo_id, pr, head_sha, reviewed_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (repo_id, pr) DO UPDATE SET head_sha = ?3, reviewed_at = ?4",
            params![repo_id, pr as i64, sha, now_ms()],
        )
        .map(|_| ())
    }

    fn snapshot(&self, repo_id: i64, kind: &str) -> Result<Option<serde_json::Value>> {
        let text: Option<String> = self.optional_row(
            "SELECT data FROM snapshots WHERE repo_id = ?1 AND kind = ?2",
            params![repo_id, kind],
            |r| r.get(0),
        )?;
        text.map(|t| serde_json::from_str(&t).map_err(json_err))
            .transpose()
    }

    fn put_snapshot(&self, repo_id: i64, kind: &str, value: &serde_json::Value) -> Result<()> {
        self.execute(
            "INSERT INTO snapshots (repo_id, kind, data, updated_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (repo_id, kind) DO UPDATE SET data = ?3, updated_at = ?4",
            params![repo_id, kind, value.to_string(), now_ms()],
        )
        .map(|_| ())
    }

    fn enqueue(&self, job: &NewJob) -> Result<Enqueued> {
        self.in_tx(TransactionBehavior::Deferred, |tx| {
            insert_job(tx, job, now_ms())
        })
    }

    fn has_review(&self, repo_id: i64, pr: u64, head_sha: &str) -> Result<bool> {
        self.optional_row(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE repo_id = ?1 AND pr = ?2 AND role = 'reviewer' \
             AND head_sha = ?3 AND state IN ('queued', 'running', 'done'))",
            params![repo_id, pr as i64, head_sha],
            |r| r.get(0),
        )
        .map(|exists| exists.unwrap_or(false))
    }

    fn claim(&self, owner: &str, now: Millis, lease_until: Millis) -> Result<Option<Job>> {
        self.in_tx(TransactionBehavior::Immediate, |tx| {
            let job = tx
                .query_row(
                    &format!(
                        "UPDATE jobs SET state = 'running', lease_owner = ?1, lease_until = ?3, \
                         attempts = attempts + 1, started_at = ?2 \
                         WHERE id = (SELECT q.id FROM jobs q WHERE q.state = 'queued' AND q.run_at <= ?2 \
                           AND NOT (q.writer AND EXISTS (SELECT 1 FROM jobs r WHERE r.state = 'running' \
                                 AND r.repo_id = q.repo_id AND r.writer)) \
                           AND NOT (q.role = 'reviewer' AND EXISTS (SELECT 1 FROM jobs r WHERE r.state = 'running' \
                                 AND r.repo_id = q.repo_id AND r.role = 'reviewer' AND r.pr IS q.pr)) \
                           ORDER BY q.run_at, q.id LIMIT 1) \
                         RETURNING {JOB_COLUMNS}"
                    ),
                    params![owner, now, lease_until],
                    job_row,
                )
                .optional()
                .map_err(db)?;
            if let Some(j) = &job {
                tx.execute(
                    "INSERT INTO job_runs (job_id, attempt, role, started_at) VALUES (?1, ?2, ?3, ?4)",
                    params![j.id, j.attempts, j.role.as_str(), now],
                )
                .map_err(db)?;
            }
            Ok(job)
        })
    }

    fn renew(&self, job_id: i64, owner: &str, lease_until: Millis) -> Result<bool> {
        self.execute(
            "UPDATE jobs SET lease_until = ?3 WHERE id = ?1 AND lease_owner = ?2 AND state = 'running'",
            params![job_id, owner, lease_until],
        )
        .map(|n| n > 0)
    }

    fn finish(&self, job_id: i64, owner: &str, finish: &Finish, cost: &RunCost) -> Result<bool> {
        let now = now_ms();
        self.in_tx(TransactionBehavior::Deferred, |tx| {
            let held: Option<(u32, u32)> = tx
                .query_row(
                    "SELECT attempts, max_attempts FROM jobs WHERE id = ?1 AND lease_owner = ?2 AND state = 'running'",
                    params![job_id, owner],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db)?;
            let Some((attempts, max_attempts)) = held else {
                return Ok(false);
            };
            let (state, run_at, error, result, outcome, attempts) = match finish {
                Finish::Done { result } => (
                    JobState::Done,
                    None,
                    None,
                    result.as_ref().map(|v| v.to_string()),
                    "done",
                    attempts,
                ),
                Finish::Retry { at, reason } if attempts < max_attempts => (
                    JobState::Queued,
                    Some(*at),
                    Some(reason.clone()),
                    None,
                    "retry",
                    attempts,
                ),
                Finish::Retry { reason, .. } => (
                    JobState::Dead,
                    None,
                    Some(format!("{reason} (gave up after {attempts} attempts)")),
                    None,
                    "dead",
                    attempts,
                ),
                Finish::Dead { reason } => (
                    JobState::Dead,
                    None,
                    Some(reason.clone()),
                    None,
                    "dead",
                    attempts,
                ),
                Finish::Requeue { reason } => (
                    JobState::Queued,
                    Some(now),
                    Some(reason.clone()),
                    None,
                    "interrupted",
                    attempts.saturating_sub(1),
                ),
            };
            let finished = matches!(state, JobState::Done | JobState::Dead).then_some(now);
            tx.execute(
                "UPDATE jobs SET state = ?2, run_at = COALESCE(?3, run_at), last_error = COALESCE(?4, last_error), \
                 result = COALESCE(?5, result), finished_at = ?6, attempts = ?7, lease_owner = NULL, lease_until = NULL \
                 WHERE id = ?1",
                params![job_id, state.as_str(), run_at, error, result, finished, attempts],
            )
            .map_err(db)?;
            tx.execute(
                "UPDATE job_runs SET finished_at = ?2, outcome = ?3, exit_code = ?4, reason = ?5, \
                 model_tokens = ?6, model_seconds = ?7 WHERE job_id = ?1 AND finished_at IS NULL",
                params![
                    job_id,
                    now,
                    outcome,
                    cost.exit_code,
                    error,
                    cost.model_tokens as i64,
                    cost.model_seconds
                ],
            )
            .map_err(db)?;
            Ok(true)
        })
    }

    fn recover(&self, expired_before: Millis, now: Millis, spare: Option<&str>) -> Result<u64> {
        let spare = spare.unwrap_or("");
        self.in_tx(TransactionBehavior::Deferred, |tx| {
            tx.execute(
                "UPDATE job_runs SET finished_at = ?2, outcome = 'lost', \
                 reason = 'the worker stopped without finishing (the server was killed or lost its lease)' \
                 WHERE finished_at IS NULL AND job_id IN \
                 (SELECT id FROM jobs WHERE state = 'running' AND lease_until < ?1 AND NOT (?3 != '' AND substr(lease_owner, 1, length(?3)) = ?3))",
                params![expired_before, now, spare],
            )
            .map_err(db)?;
            tx.execute(
                "UPDATE jobs SET state = 'dead', finished_at = ?2, lease_owner = NULL, lease_until = NULL, \
                 last_error = 'the server stopped during this job on each of its ' || attempts || ' attempts' \
                 WHERE state = 'running' AND lease_until < ?1 AND attempts >= max_attempts \
                 AND NOT (?3 != '' AND substr(lease_owner, 1, length(?3)) = ?3)",
                params![expired_before, now, spare],
            )
            .map_err(db)?;
            let n = tx
                .execute(
                    "UPDATE jobs SET state = 'queued', run_at = ?2, lease_owner = NULL, lease_until = NULL, \
                     last_error = 'queued again: the worker running it stopped (the server was killed or lost its lease)' \
                     WHERE state = 'running' AND lease_until < ?1 \
                     AND NOT (?3 != '' AND substr(lease_owner, 1, length(?3)) = ?3)",
                    params![expired_before, now, spare],
                )
                .map_err(db)?;
            Ok(n as u64)
        })
    }

    fn job(&self, id: i64) -> Result<Option<Job>> {
        self.optional_row(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
            [id],
            job_row,
        )
    }

    fn jobs(&self, repo_id: Option<i64>, limit: u32) -> Result<Vec<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ?1 IS NULL OR repo_id = ?1 ORDER BY id DESC LIMIT ?2"
        );
        self.with(|c| all_rows(c, &sql, params![repo_id, limit], job_row))
    }

    fn next_run_at(&self) -> Result<Option<Millis>> {
        self.optional_row(
            "SELECT MIN(run_at) FROM jobs WHERE state = 'queued'",
            [],
            |r| r.get(0),
        )
        .map(Option::flatten)
    }

    fn stats(&self) -> Result<Stats> {
        self.with(|c| {
            let runs = all_rows(
                c,
                "SELECT role, outcome, COUNT(*), SUM(model_tokens), SUM(model_seconds) FROM job_runs \
                 WHERE outcome IS NOT NULL GROUP BY role, outcome",
                [],
                |r| {
                    Ok((
                        (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                        (
                            r.get::<_, i64>(2)? as u64,
                            r.get::<_, i64>(3)? as u64,
                            r.get::<_, f64>(4)?,
                        ),
                    ))
                },
            )?;
            Ok(Stats {
                runs: runs.into_iter().collect(),
                queue: counts(c, "SELECT state, COUNT(*) FROM jobs GROUP BY state")?,
                deliveries: counts(c, "SELECT outcome, COUNT(*) FROM deliveries GROUP BY outcome")?,
            })
        })
    }

    fn ping(&self) -> Result<()> {
        self.optional_row("SELECT 1", [], |r| r.get::<_, i64>(0))
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `octo/app` in pull-request mode with `credential`.
    fn new_repo(credential: Credential) -> NewRepo {
        NewRepo {
            full_name: "octo/app".into(),
            mode: Mode::Pr,
            default_branch: None,
            credential,
            webhook_secret_env: None,
            clone_url: None,
            settings: RepoSettings::default(),
        }
    }

    fn repo(store: &SqliteStore) -> Repo {
        store
            .create_repo(&new_repo(Credential {
                token_env: Some("OCTO_TOKEN".into()),
                github_app: None,
                read_token_env: None,
            }))
            .unwrap()
    }

    fn review(repo: i64, pr: u64, head: &str) -> NewJob {
        let mut j = NewJob::new(repo, Role::Reviewer, "poll", "test");
        j.pr = Some(pr);
        j.head_sha = Some(head.into());
        j
    }

    #[test]
    fn registry_round_trips_and_refuses_duplicates() {
        let s = SqliteStore::in_memory().unwrap();
        let r = repo(&s);
        assert_eq!(s.repo_by_name("OCTO/app").unwrap().unwrap().id, r.id);
        let again = s.create_repo(&new_repo(r.credential.clone()));
        assert!(matches!(again, Err(StoreError::Conflict(_))));
        let mut changed = r.clone();
        changed.mode = Mode::Observe;
        assert_eq!(
            s.update_repo(&changed).unwrap().unwrap().mode,
            Mode::Observe
        );
        assert!(s.delete_repo(r.id).unwrap());
        assert!(s.repo(r.id).unwrap().is_none());
    }

    #[test]
    fn a_newer_head_supersedes_a_queued_review_and_dedupe_keys_hold() {
        let s = SqliteStore::in_memory().unwrap();
        let r = repo(&s);
        let first = s.enqueue(&review(r.id, 7, "aaa")).unwrap().id();
        let other_pr = s.enqueue(&review(r.id, 8, "ccc")).unwrap().id();
        let second = s.enqueue(&review(r.id, 7, "bbb")).unwrap();
        assert_eq!(
            second,
            Enqueued::Created {
                id: second.id(),
                superseded: 1
            }
        );
        assert_eq!(s.job(first).unwrap().unwrap().state, JobState::Superseded);
        assert_eq!(s.job(other_pr).unwrap().unwrap().state, JobState::Queued);
        let mut keyed = NewJob::new(r.id, Role::Integrator, "poll", "merged");
        keyed.dedupe_key = Some("integrate:1:9".into());
        let a = s.enqueue(&keyed).unwrap();
        assert_eq!(
            s.enqueue(&keyed).unwrap(),
            Enqueued::Duplicate { id: a.id() }
        );
    }

    #[test]
    fn one_writer_per_repository_and_one_review_per_pull_request() {
        let s = SqliteStore::in_memory().unwrap();
        let r = repo(&s);
        // Claims look a little ahead: jobs queued in this test are runnable by then.
        let t = now_ms() + 10_000;
        s.enqueue(&NewJob::new(r.id, Role::Developer, "api", "a"))
            .unwrap();
        s.enqueue(&NewJob::new(r.id, Role::Taskmaster, "api", "b"))
            .unwrap();
        s.enqueue(&review(r.id, 1, "x")).unwrap();
        let mut same_pr = review(r.id, 1, "x");
        same_pr.dedupe_key = Some("again".into());
        s.enqueue(&same_pr).unwrap();
        let a = s.claim("w1", t, t + 1000).unwrap().unwrap();
        assert_eq!(a.role, Role::Developer);
        let b = s.claim("w2", t, t + 1000).unwrap().unwrap();
        assert_eq!(
            b.role,
            Role::Reviewer,
            "the taskmaster waits for the developer"
        );
        assert!(s.claim("w3", t, t + 1000).unwrap().is_none());
        assert!(
            s.finish(
                a.id,
                "w1",
                &Finish::Done { result: None },
                &RunCost::default()
            )
            .unwrap()
        );
        assert!(
            !s.finish(
                a.id,
                "w1",
                &Finish::Done { result: None },
                &RunCost::default()
            )
            .unwrap()
        );
        assert_eq!(
            s.claim("w3", t, t + 1000).unwrap().unwrap().role,
            Role::Taskmaster
        );
    }

    #[test]
    fn expired_leases_are_recovered_and_retries_end_dead() {
        let s = SqliteStore::in_memory().unwrap();
        let r = repo(&s);
        // Claims look a little ahead: jobs queued in this test are runnable by then.
        let t = now_ms() + 10_000;
        let mut j = NewJob::new(r.id, Role::Developer, "api", "a");
        j.max_attempts = 2;
        let id = s.enqueue(&j).unwrap().id();
        s.claim("dead-worker", t, t + 10).unwrap().unwrap();
        assert_eq!(
            s.recover(t + 5, t + 5, None).unwrap(),
            0,
            "the lease still holds"
        );
        assert_eq!(
            s.recover(t + 11, t + 11, Some("dead")).unwrap(),
            0,
            "our own live workers are spared"
        );
        assert_eq!(
            s.recover(t + 11, t + 11, Some("other-instance")).unwrap(),
            1
        );
        assert!(!s.renew(id, "dead-worker", t + 100).unwrap());
        let again = s.claim("w", t + 12, t + 1000).unwrap().unwrap();
        assert_eq!((again.id, again.attempts), (id, 2));
        let retry = Finish::Retry {
            at: t,
            reason: "model timed out".into(),
        };
        assert!(s.finish(id, "w", &retry, &RunCost::default()).unwrap());
        let job = s.job(id).unwrap().unwrap();
        assert_eq!(job.state, JobState::Dead);
        assert!(job.last_error.unwrap().contains("gave up after 2 attempts"));
    }

    #[test]
    fn deliveries_are_recorded_once_with_their_jobs() {
        let s = SqliteStore::in_memory().unwrap();
        let r = repo(&s);
        let d = Delivery {
            id: "d-1".into(),
            event: "pull_request".into(),
            repo_id: Some(r.id),
            outcome: "queued".into(),
            reason: "test".into(),
            payload: Some(b"{}".to_vec()),
        };
        let jobs = [review(r.id, 3, "abc")];
        assert!(
            matches!(s.record_delivery(&d, &jobs).unwrap(), Recorded::New { jobs } if jobs.len() == 1)
        );
        assert_eq!(s.record_delivery(&d, &jobs).unwrap(), Recorded::Duplicate);
        assert_eq!(s.jobs(Some(r.id), 10).unwrap().len(), 1);
        assert_eq!(s.delivery_payload("d-1").unwrap().unwrap(), b"{}");
    }
}
