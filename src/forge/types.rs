//! The forge's vocabulary: pull requests, comments, reviews, branches and commits, as the roles
//! need them. GitHub's JSON maps onto these in `github/`; the fakes build them directly.

use serde::{Deserialize, Serialize};

/// `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoId {
    pub owner: String,
    pub name: String,
}

impl RepoId {
    /// Parses `owner/name` (as in `GITHUB_REPOSITORY`).
    pub fn parse(full: &str) -> Option<RepoId> {
        let (owner, name) = full.trim().split_once('/')?;
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        (ok(owner) && ok(name) && name != "." && name != "..").then(|| RepoId {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }
}

impl std::fmt::Display for RepoId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoInfo {
    pub full_name: String,
    pub default_branch: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrState {
    Open,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub state: PrState,
    pub merged: bool,
    pub draft: bool,
    pub head_ref: String,
    pub head_sha: String,
    pub base_ref: String,
    pub base_sha: String,
    pub html_url: String,
    /// GitHub computes this lazily: `None` until it knows.
    pub mergeable: Option<bool>,
    pub author: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPullRequest {
    pub title: String,
    pub head: String,
    pub base: String,
    pub body: String,
    pub draft: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrUpdate {
    pub title: Option<String>,
    pub body: Option<String>,
    pub state: Option<PrState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    pub author: String,
}

/// A file of a pull request as the API lists it (the fallback when the checkout lacks commits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrFile {
    pub path: String,
    pub previous_path: Option<String>,
    pub status: String,
    pub additions: u64,
    pub deletions: u64,
    /// Absent for binary or very large files.
    pub patch: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewEvent {
    Comment,
    RequestChanges,
    Approve,
}

/// An inline comment on the new side of a diff line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineComment {
    pub path: String,
    pub line: u64,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReview {
    pub commit_id: String,
    pub body: String,
    pub event: ReviewEvent,
    pub comments: Vec<InlineComment>,
}

/// One file of a commit: new content, or `None` to delete it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    pub content: Option<Vec<u8>>,
    pub executable: bool,
}

impl FileChange {
    pub fn write(path: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        FileChange {
            path: path.into(),
            content: Some(content.into()),
            executable: false,
        }
    }

    pub fn delete(path: impl Into<String>) -> Self {
        FileChange {
            path: path.into(),
            content: None,
            executable: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub name: String,
    pub email: String,
}

/// A commit to build on `parent` through the Git Data API (blobs → tree → commit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCommit {
    pub parent: String,
    pub message: String,
    pub changes: Vec<FileChange>,
    pub author: Option<Signature>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MergeMethod {
    Merge,
    Squash,
    Rebase,
}

/// A submitted pull request review, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub id: u64,
    pub author: String,
    /// The commit it was submitted on (absent on very old reviews).
    pub commit_id: Option<String>,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`, `PENDING`.
    pub state: String,
    pub body: String,
}

/// One entry of a commit's tree: the publisher checks writes against the base tree's modes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeItem {
    pub path: String,
    /// The git mode as octal text: `100644`, `100755`, `120000` (symlink), `160000` (submodule).
    pub mode: String,
}
