//! The forge port: everything the roles write to or read from GitHub goes through the `Forge`
//! trait, so roles never see HTTP and tests swap in a fake. `github/` implements it over reqwest,
//! `local/` with a bare git repository and JSON records in a directory (no network);
//! `policy::Guarded` wraps any forge so every write is checked first. Roles see only
//! [`ForgeRead`]; the publisher alone holds a [`Forge`].

pub(crate) mod error;
pub mod github;
pub mod local;
pub(crate) mod types;

pub use error::{ForgeError, Result};
pub use types::*;

/// What the roles may read from a forge, and no more. Roles hold only this: they return their
/// writes as a change set (`crate::changes`), and the publisher writes through [`Forge`].
#[allow(async_fn_in_trait)]
pub trait ForgeRead {
    async fn repository(&self) -> Result<RepoInfo>;

    async fn pull_request(&self, number: u64) -> Result<PullRequest>;
    /// The open (or, with `include_closed`, any) pull request from `head` branch, newest first.
    async fn find_pull_request(
        &self,
        head: &str,
        include_closed: bool,
    ) -> Result<Option<PullRequest>>;
    /// Every open pull request (id allocation and reconciliation read them), at most `limit`.
    async fn open_pull_requests(&self, limit: usize) -> Result<Vec<PullRequest>>;
    async fn pull_request_files(&self, number: u64) -> Result<Vec<PrFile>>;
    async fn pull_request_diff(&self, number: u64) -> Result<String>;

    async fn comments(&self, issue: u64) -> Result<Vec<Comment>>;
    /// Inline review comments already on the pull request.
    async fn review_comments(&self, number: u64) -> Result<Vec<InlineComment>>;
    /// The reviews submitted on the pull request.
    async fn reviews(&self, number: u64) -> Result<Vec<Review>>;
    /// The labels on an issue or pull request.
    async fn labels(&self, issue: u64) -> Result<Vec<String>>;

    /// The commit a branch points at, or `None` if there is no such branch.
    async fn branch(&self, name: &str) -> Result<Option<String>>;
    /// Branches whose name starts with `prefix`, with their heads, at most `limit`.
    async fn branches(&self, prefix: &str, limit: usize) -> Result<Vec<(String, String)>>;
    /// A file's bytes at a ref, or `None` if absent.
    async fn file_at(&self, path: &str, git_ref: &str) -> Result<Option<Vec<u8>>>;
    /// The paths of the files directly in folder `dir` at a ref (empty when there is none).
    async fn list_dir(&self, dir: &str, git_ref: &str) -> Result<Vec<String>>;
    /// The message of commit `sha`; `None` when this forge cannot tell (callers then assume
    /// nothing about who made it). The developer reads its branch claims with it.
    async fn commit_message(&self, _sha: &str) -> Result<Option<String>> {
        Ok(None)
    }
    /// The git modes (`100644`, `100755`, `120000` symlink, `160000` submodule, `040000`
    /// folder) of `paths` and of each of their parent folders in commit `sha`, for those that
    /// exist: the publisher refuses writes through the base tree's symlinks and submodules.
    async fn tree_modes(
        &self,
        sha: &str,
        paths: &[String],
    ) -> Result<std::collections::BTreeMap<String, String>>;
    /// Whether commit `ancestor` is `of` or one of its ancestors.
    async fn is_ancestor(&self, ancestor: &str, of: &str) -> Result<bool>;
    /// The login the credential acts as (a GitHub App's `name[bot]`, a token's user), so that
    /// state is read only from our own comments and reviews; `None` when it cannot be told.
    async fn identity(&self) -> Result<Option<String>>;
    /// API requests made so far (retries included), for forges that count a budget; `None` for
    /// forges that have none (the local forge).
    fn api_requests(&self) -> Option<u64> {
        None
    }
    /// `owner/name` (or the local forge's name), when known without a request.
    fn repository_name(&self) -> Option<String> {
        None
    }
    /// How many dispatched runs of `workflow` other than run `except` (the caller's own: in the
    /// one-file `llm-team.yml` the hand-off runs inside the workflow it dispatches) are queued or
    /// in progress (`None`: this forge cannot tell), so a hand-off does not start a second
    /// developer on a task one is already working on.
    async fn active_runs(&self, workflow: &str, except: &str) -> Result<Option<usize>> {
        let _ = (workflow, except);
        Ok(None)
    }
}

/// The writes, for the publisher alone. Every write must be idempotent under re-runs: creating
/// something that exists finds it instead (see `upsert` for the helpers that rely on it).
#[allow(async_fn_in_trait)]
pub trait Forge: ForgeRead {
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
    async fn create_comment(&self, issue: u64, body: &str) -> Result<Comment>;
    async fn update_comment(&self, id: u64, body: &str) -> Result<Comment>;
    async fn create_review(&self, number: u64, review: &NewReview) -> Result<u64>;
    async fn add_labels(&self, issue: u64, labels: &[String]) -> Result<()>;
    /// Creates a branch at `sha`; `BranchExists` if it exists elsewhere (same sha is success).
    async fn create_branch(&self, name: &str, sha: &str) -> Result<()>;
    /// Moves a branch from `expected` to `sha`, fast-forward only; `BranchMoved` if it moved.
    async fn update_branch(&self, name: &str, expected: &str, sha: &str) -> Result<()>;
    /// Builds a commit on `commit.parent` (blobs → tree → commit); moves no branch.
    async fn create_commit(&self, commit: &NewCommit) -> Result<String>;
    /// Whether this forge would accept writes to `branch` (the policy guard answers; a plain
    /// forge accepts). Callers ask before building anything for the branch.
    fn check_branch_write(&self, _branch: &str) -> Result<()> {
        Ok(())
    }
    /// Starts a `workflow_dispatch` run (events from GITHUB_TOKEN start no other workflows).
    async fn dispatch_workflow(
        &self,
        workflow: &str,
        git_ref: &str,
        inputs: &serde_json::Value,
    ) -> Result<()>;
}
