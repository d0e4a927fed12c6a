//! Typed failures of the git port. Callers branch on these: a missing commit means
//! "fall back to the forge API", an unknown revision means "bad input", the rest are bugs
//! or broken checkouts worth reporting.

use std::path::PathBuf;

/// Everything the git port can fail with.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The directory is not a git repository (or cannot be read as one).
    #[error("cannot open a git repository at {path}: {message}")]
    Open { path: PathBuf, message: String },

    /// A revision (ref name, abbreviated sha, `HEAD~2`, ...) does not resolve.
    #[error("revision {rev:?} does not resolve in the checkout: {message}")]
    UnknownRevision { rev: String, message: String },

    /// A string that should be a full hex object id is not one.
    #[error("{sha:?} is not a full hexadecimal object id")]
    InvalidSha { sha: String },

    /// The commit is not in the local object database (shallow or partial clone):
    /// fall back to the API.
    #[error("commit {sha} is not in the checkout (shallow clone?)")]
    MissingCommit { sha: String },

    /// A tree or blob reachable from a present commit is missing (partial clone).
    #[error("object {sha} is not in the checkout (partial clone?)")]
    MissingObject { sha: String },

    /// The object exists but is not a commit (e.g. a blob or tree sha was given).
    #[error("object {sha} is a {kind}, not a commit")]
    NotACommit { sha: String, kind: String },

    /// `read_file` was asked for a path that is a directory or a submodule.
    #[error("{path:?} at {commit} is a {what}, not a file")]
    NotAFile {
        commit: String,
        path: String,
        what: &'static str,
    },

    /// An object could not be decoded, or the object database failed otherwise.
    #[error("cannot read {what} {sha}: {message}")]
    Corrupt {
        what: &'static str,
        sha: String,
        message: String,
    },

    /// Any other failure of the git backend, with what we were doing.
    #[error("git backend failed while {context}: {message}")]
    Backend { context: String, message: String },
}

impl GitError {
    /// True when the caller should fall back to the forge API rather than give up.
    pub fn is_missing_data(&self) -> bool {
        matches!(
            self,
            GitError::MissingCommit { .. } | GitError::MissingObject { .. }
        )
    }

    pub(crate) fn backend(context: impl Into<String>, err: impl std::fmt::Display) -> Self {
        GitError::Backend {
            context: context.into(),
            message: err.to_string(),
        }
    }
}
