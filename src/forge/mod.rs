//! The forge port: everything the roles write to or read from GitHub goes through the `Forge`
//! trait, so roles never see HTTP and tests swap in a fake. `github/` implements it with octocrab,
//! `local/` with a bare git repository and JSON records in a directory (no network);
//! `policy::Guarded` wraps any forge so every write is checked first.

pub mod error;
pub mod github;
pub mod local;
pub mod types;
pub mod upsert;

pub use error::{ForgeError, Result};
pub use types::*;

/// What the roles need from a forge, and no more. Writes must be idempotent under re-runs:
/// creating something that exists finds it instead (see `upsert` for the helpers that rely on it).
#[allow(async_fn_in_trait)]
pub trait Forge {
    async fn repository(&self) -> Result<RepoInfo>;

    async fn pull_request(&self, number: u64) -> Result<PullRequest>;
    /// The open (or, with `include_closed`, any) pull request from `head` branch, newest first.
    async fn find_pull_request(
        &self,
        head: &str,
        include_closed: bool,
    ) -> Result<Option<PullRequest>>;
    /// Opens a pull request; if one already exists for the head branch, returns that one.
    async fn create_pull_request(&self, pr: &NewPullRequest) -> Result<PullRequest>;
    async fn update_pull_request(&self, number: u64, update: &PrUpdate) -> Result<PullRequest>;
    async fn merge_pull_request(
        &self,
        number: u64,
        method: MergeMethod,
        head_sha: &str,
    ) -> Result<String>;
    /// Turns on auto-merge for the pull request, so GitHub merges it with `method` once its
    /// required checks pass. Not every forge can (GitHub needs GraphQL): the default says so.
    async fn enable_auto_merge(&self, number: u64, method: MergeMethod) -> Result<()> {
        let _ = method;
        Err(ForgeError::Unsupported {
            what: format!("enabling auto-merge on pull request #{number}"),
        })
    }
    async fn pull_request_files(&self, number: u64) -> Result<Vec<PrFile>>;
    async fn pull_request_diff(&self, number: u64) -> Result<String>;

    async fn comments(&self, issue: u64) -> Result<Vec<Comment>>;
    async fn create_comment(&self, issue: u64, body: &str) -> Result<Comment>;
    async fn update_comment(&self, id: u64, body: &str) -> Result<Comment>;
    /// Inline review comments already on the pull request.
    async fn review_comments(&self, number: u64) -> Result<Vec<InlineComment>>;
    async fn create_review(&self, number: u64, review: &NewReview) -> Result<u64>;

    /// The commit a branch points at, or `None` if there is no such branch.
    async fn branch(&self, name: &str) -> Result<Option<String>>;
    /// Creates a branch at `sha`; `BranchExists` if it exists elsewhere (same sha is success).
    async fn create_branch(&self, name: &str, sha: &str) -> Result<()>;
    /// Moves a branch from `expected` to `sha`, fast-forward only; `BranchMoved` if it moved.
    async fn update_branch(&self, name: &str, expected: &str, sha: &str) -> Result<()>;
    /// Builds a commit on `commit.parent` (blobs → tree → commit); moves no branch.
    async fn create_commit(&self, commit: &NewCommit) -> Result<String>;
    /// A file's bytes at a ref, or `None` if absent.
    async fn file_at(&self, path: &str, git_ref: &str) -> Result<Option<Vec<u8>>>;
    /// The message of commit `sha`; `None` when this forge cannot tell (callers then assume
    /// nothing about who made it). The developer reads its branch claims with it.
    async fn commit_message(&self, _sha: &str) -> Result<Option<String>> {
        Ok(None)
    }
    /// Whether this forge would accept writes to `branch` (the policy guard answers; a plain
    /// forge accepts). Callers ask before building anything for the branch.
    fn check_branch_write(&self, _branch: &str) -> Result<()> {
        Ok(())
    }
    /// API requests made so far (retries included), for forges that count a budget; `None` for
    /// forges that have none (the local forge).
    fn api_requests(&self) -> Option<u64> {
        None
    }
    /// Starts a `workflow_dispatch` run (events from GITHUB_TOKEN start no other workflows).
    async fn dispatch_workflow(
        &self,
        workflow: &str,
        git_ref: &str,
        inputs: &serde_json::Value,
    ) -> Result<()>;
}
