//! The server's state behind one trait: the repository registry, webhook deliveries seen, ETags
//! per credential, the last reviewed head per pull request, and the durable job queue with its
//! history. `sqlite` implements it in one embedded file; a server database can implement the same
//! trait so several instances share one queue (docs/serve.md says how).

pub(crate) mod sqlite;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::Mode;
use crate::roles::Role;

pub use sqlite::SqliteStore;

/// Milliseconds since the Unix epoch: every time the store keeps.
pub type Millis = i64;

pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write contradicts what is stored (a repository registered twice).
    #[error("{0}")]
    Conflict(String),
    #[error("the state database failed: {0}")]
    Database(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Which credential a repository uses, by *name*: the server reads the value from its own
/// environment when it needs it, so no secret is ever stored or answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// The environment variable holding a token (a PAT or a fine-grained token).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub token_env: Option<String>,
    /// A GitHub App: the variables holding its id and its PEM private key.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub github_app: Option<AppCredential>,
    /// A read-only token for the work phase (the role that runs the model and, sandboxed, the
    /// tests); without it the work phase gets the same token as the publish phase.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub read_token_env: Option<String>,
}

impl Credential {
    /// The name ETags and budgets are kept under: stable across token rotation.
    pub fn key(&self) -> String {
        match (&self.token_env, &self.github_app) {
            (Some(t), _) => format!("env:{t}"),
            (None, Some(app)) => format!("app:{}", app.app_id_env),
            (None, None) => "none".into(),
        }
    }

    /// The name of the credential reads (polling, the work phase) use.
    pub fn read_key(&self) -> String {
        match &self.read_token_env {
            Some(r) => format!("env:{r}"),
            None => self.key(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppCredential {
    pub app_id_env: String,
    pub private_key_env: String,
}

/// Per-repository settings that override `.llm-team.yml` (passed to the role as the
/// environment variables the configuration layer reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RepoSettings {
    /// Model per role (`LLM_<ROLE>_MODEL`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<Role, String>,
    /// `LLM_BOOST_MODEL`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boost_model: Option<String>,
    /// `OLLAMA_BASE_URL` for this repository (else the server's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ollama_base_url: Option<String>,
    /// `CODEX_DRY_RUN`: print every write instead of making it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// Review draft pull requests too (routing; `.llm-team.yml` `review.drafts`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub review_drafts: bool,
}

/// A registered repository.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Repo {
    pub id: i64,
    pub full_name: String,
    pub mode: Mode,
    pub default_branch: Option<String>,
    pub credential: Credential,
    /// The variable holding this repository's own webhook secret (else the global one).
    pub webhook_secret_env: Option<String>,
    /// Where workspaces clone from [default: the GitHub server's `https://…/owner/name.git`].
    pub clone_url: Option<String>,
    pub settings: RepoSettings,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A repository to register (validated by the API before it gets here).
#[derive(Debug, Clone)]
pub struct NewRepo {
    pub full_name: String,
    pub mode: Mode,
    pub default_branch: Option<String>,
    pub credential: Credential,
    pub webhook_secret_env: Option<String>,
    pub clone_url: Option<String>,
    pub settings: RepoSettings,
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    /// Failed for good (retries used up, or a failure retrying cannot fix): `last_error` says why.
    Dead,
    /// A newer head of the same pull request replaced this queued review.
    Superseded,
    /// Its repository was removed, or it was cancelled by hand.
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 6] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Dead,
        JobState::Superseded,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
            JobState::Superseded => "superseded",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|j| j.as_str() == s)
    }
}

/// A job to queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub repo_id: i64,
    pub role: Role,
    pub pr: Option<u64>,
    pub task: Option<String>,
    /// The pull request head this job is about (reviews): newer heads supersede older ones.
    pub head_sha: Option<String>,
    pub boost: bool,
    /// The webhook delivery whose payload the role reads (`GITHUB_EVENT_PATH`).
    pub delivery_id: Option<String>,
    pub event_name: Option<String>,
    /// At most one job ever holds a key: a second enqueue with it is a duplicate.
    pub dedupe_key: Option<String>,
    /// `webhook`, `poll` or `api`.
    pub source: String,
    /// Why the job exists (the router's reason).
    pub reason: String,
    pub max_attempts: u32,
}

impl NewJob {
    /// A job for `role` with nothing else set.
    pub fn new(repo_id: i64, role: Role, source: &str, reason: impl Into<String>) -> Self {
        NewJob {
            repo_id,
            role,
            pr: None,
            task: None,
            head_sha: None,
            boost: false,
            delivery_id: None,
            event_name: None,
            dedupe_key: None,
            source: source.to_string(),
            reason: reason.into(),
            max_attempts: 3,
        }
    }

    /// The key that makes one closing of a pull request integrated once, whether a delivery or
    /// a poll saw it first. Merged and closed-unmerged are different keys: a pull request that
    /// was closed, reopened and then merged still gets its merge integrated.
    pub fn integrate_key(repo_id: i64, pr: u64, merged: bool) -> String {
        let how = if merged { "merged" } else { "closed" };
        format!("integrate:{repo_id}:{pr}:{how}")
    }

    /// Roles that change branches or task files hold the repository's write slot; a review only
    /// comments on its own pull request, so reviews of different pull requests run side by side.
    pub fn is_writer(&self) -> bool {
        is_writer(self.role)
    }
}

pub fn is_writer(role: Role) -> bool {
    role != Role::Reviewer
}

/// A queued or finished job.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: i64,
    pub repo_id: i64,
    pub role: Role,
    pub pr: Option<u64>,
    pub task: Option<String>,
    pub head_sha: Option<String>,
    pub boost: bool,
    pub delivery_id: Option<String>,
    pub event_name: Option<String>,
    pub dedupe_key: Option<String>,
    pub source: String,
    pub reason: String,
    pub writer: bool,
    pub state: JobState,
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_at: Millis,
    pub created_at: Millis,
    pub started_at: Option<Millis>,
    pub finished_at: Option<Millis>,
    #[serde(skip)]
    pub lease_owner: Option<String>,
    pub lease_until: Option<Millis>,
    pub last_error: Option<String>,
    /// What the publish phase reported it wrote (its `--json` output), or the change set in
    /// observe mode.
    pub result: Option<serde_json::Value>,
}

/// The answer to an enqueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    Created {
        id: i64,
        superseded: u64,
    },
    /// A job with the same dedupe key exists already.
    Duplicate {
        id: i64,
    },
}

impl Enqueued {
    pub fn id(self) -> i64 {
        match self {
            Enqueued::Created { id, .. } | Enqueued::Duplicate { id } => id,
        }
    }
}

/// How a running job ended.
#[derive(Debug, Clone)]
pub enum Finish {
    Done {
        result: Option<serde_json::Value>,
    },
    /// A transient failure: queued again at `at` (unless the attempts are used up: then dead).
    Retry {
        at: Millis,
        reason: String,
    },
    Dead {
        reason: String,
    },
    /// Interrupted by a shutdown: queued again at once, the attempt not counted.
    Requeue {
        reason: String,
    },
}

/// What one attempt cost, for the history and `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunCost {
    pub exit_code: Option<i32>,
    pub model_tokens: u64,
    pub model_seconds: f64,
}

/// A webhook delivery as recorded.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub event: String,
    pub repo_id: Option<i64>,
    /// `queued`, `ignored`, `refused`, `invalid`, `ping`.
    pub outcome: String,
    pub reason: String,
    /// Kept only when a job will read it.
    pub payload: Option<Vec<u8>>,
}

/// The answer to recording a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    New { jobs: Vec<i64> },
    Duplicate,
}

/// A cached conditional GET: the ETag and the body it stands for.
#[derive(Debug, Clone)]
pub struct Cached {
    pub etag: String,
    pub body: Vec<u8>,
}

/// Counts for `/metrics`: (role, outcome) → (runs, model tokens, model seconds).
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub runs: BTreeMap<(String, String), (u64, u64, f64)>,
    pub queue: BTreeMap<String, u64>,
    pub deliveries: BTreeMap<String, u64>,
}

/// The server's state. Every method is one transaction: a crash between two calls leaves
/// each call either done or not done.
pub trait Store: Send + Sync {
    // The registry.
    fn create_repo(&self, repo: &NewRepo) -> Result<Repo>;
    fn repo(&self, id: i64) -> Result<Option<Repo>>;
    fn repo_by_name(&self, full_name: &str) -> Result<Option<Repo>>;
    fn repos(&self) -> Result<Vec<Repo>>;
    /// Replaces the stored repository (same id); `None` if there is none.
    fn update_repo(&self, repo: &Repo) -> Result<Option<Repo>>;
    /// Removes the repository and cancels its queued jobs; false if there was none.
    fn delete_repo(&self, id: i64) -> Result<bool>;

    // Webhook deliveries: recorded with their jobs in one transaction, so an acknowledged
    // delivery is never lost and a redelivered one is never run twice.
    fn record_delivery(&self, delivery: &Delivery, jobs: &[NewJob]) -> Result<Recorded>;
    fn delivery_payload(&self, id: &str) -> Result<Option<Vec<u8>>>;

    // ETags, per credential name and URL.
    fn cached(&self, credential: &str, url: &str) -> Result<Option<Cached>>;
    fn put_cached(&self, credential: &str, url: &str, cached: &Cached) -> Result<()>;

    // The last head each pull request was reviewed at.
    fn reviewed_head(&self, repo_id: i64, pr: u64) -> Result<Option<String>>;
    fn set_reviewed_head(&self, repo_id: i64, pr: u64, sha: &str) -> Result<()>;

    // Snapshots of what a scan or a poll read (tasks, open pull requests), as JSON.
    fn snapshot(&self, repo_id: i64, kind: &str) -> Result<Option<serde_json::Value>>;
    fn put_snapshot(&self, repo_id: i64, kind: &str, value: &serde_json::Value) -> Result<()>;

    // The queue.
    /// Queues a job; a newer review head supersedes queued reviews of older heads of the same PR.
    fn enqueue(&self, job: &NewJob) -> Result<Enqueued>;
    /// Whether a job (in any state but superseded, dead or cancelled) reviews this head.
    fn has_review(&self, repo_id: i64, pr: u64, head_sha: &str) -> Result<bool>;
    /// Takes the oldest runnable job and leases it to `owner` until `lease_until`: never a
    /// second writer of one repository, never a second review of one pull request.
    fn claim(&self, owner: &str, now: Millis, lease_until: Millis) -> Result<Option<Job>>;
    /// Extends a lease; false if `owner` no longer holds the job.
    fn renew(&self, job_id: i64, owner: &str, lease_until: Millis) -> Result<bool>;
    /// Ends an attempt; false if `owner` no longer held the job (nothing was changed).
    fn finish(&self, job_id: i64, owner: &str, finish: &Finish, cost: &RunCost) -> Result<bool>;
    /// Queues again (runnable at `now`) every running job whose lease ended before
    /// `expired_before` (its worker died); a job that used up its attempts this way is dead.
    /// Leases held by owners whose name starts with `spare` (this instance's own live
    /// workers, which renew late at worst) are left alone. Returns how many were queued again.
    fn recover(&self, expired_before: Millis, now: Millis, spare: Option<&str>) -> Result<u64>;
    fn job(&self, id: i64) -> Result<Option<Job>>;
    fn jobs(&self, repo_id: Option<i64>, limit: u32) -> Result<Vec<Job>>;
    /// When the next queued job becomes runnable, if any job is queued.
    fn next_run_at(&self) -> Result<Option<Millis>>;
    fn stats(&self) -> Result<Stats>;
    /// Whether the database answers.
    fn ping(&self) -> Result<()>;
}
