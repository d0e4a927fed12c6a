//! What can go wrong talking to the forge, typed where callers branch (a moved branch is retried
//! from its new head; an existing PR is updated) and worded to say what to change when the fix
//! is the user's (a token permission, a repository setting).

#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("{what} not found")]
    NotFound { what: String },
    /// The branch is not where the caller expected: re-read, recompute, never force.
    #[error("branch {branch} moved: expected {expected}, found {current}")]
    BranchMoved {
        branch: String,
        expected: String,
        current: String,
    },
    /// The branch exists and points somewhere we did not put it.
    #[error("branch {branch} already exists at {sha}")]
    BranchExists { branch: String, sha: String },
    /// The write policy refused the write (the message starts with "refusing …").
    #[error("{0}")]
    Refused(String),
    /// The token or repository settings do not allow this; the message says which to change.
    #[error("{message}")]
    Permission { message: String },
    /// Rate limited beyond what is worth waiting for.
    #[error("GitHub rate limit: {message}")]
    RateLimited { message: String },
    /// The request may or may not have happened (5xx, timeout): look before retrying a write.
    #[error("GitHub did not answer clearly ({message}); the write may or may not have happened")]
    Ambiguous { message: String },
    #[error(
        "the pull request diff is too large for the API ({message}); read it from the checkout"
    )]
    DiffTooLarge { message: String },
    #[error("GitHub answered {status} to {method} {path}: {message}")]
    Api {
        status: u16,
        method: String,
        path: String,
        message: String,
    },
    #[error(
        "cannot reach GitHub at {url}: {message}. Check GITHUB_API_URL and the runner's network"
    )]
    Unreachable { url: String, message: String },
    /// This forge cannot do it (e.g. auto-merge needs GitHub's GraphQL API).
    #[error("{what} is not supported by this forge")]
    Unsupported { what: String },
    #[error("unexpected answer from GitHub to {what}: {message}")]
    Decode { what: String, message: String },
    /// The pull request cannot be merged as asked (closed, head moved since it was read, a
    /// conflict): re-read it, and update the branch when the reason is a conflict.
    #[error("pull request #{number} cannot be merged: {reason}")]
    NotMergeable { number: u64, reason: String },
    /// The local forge's directory or repository failed (the message names the file or object).
    #[error("local forge: {message}")]
    Local { message: String },
}

impl ForgeError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, ForgeError::NotFound { .. })
    }
}

pub type Result<T> = std::result::Result<T, ForgeError>;
