//! GitHub's JSON shapes for what we read, reduced to the fields we use (extra fields ignored,
//! nullable fields optional) and mapped onto the forge's types.

use serde::Deserialize;

use crate::forge::{Comment, InlineComment, PrFile, PrState, PullRequest, RepoInfo};

#[derive(Deserialize)]
pub struct Repo {
    pub full_name: String,
    pub default_branch: String,
}

impl From<Repo> for RepoInfo {
    fn from(r: Repo) -> Self {
        RepoInfo {
            full_name: r.full_name,
            default_branch: r.default_branch,
        }
    }
}

#[derive(Deserialize)]
pub struct User {
    pub login: String,
}

#[derive(Deserialize)]
pub struct Branch {
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: String,
}

#[derive(Deserialize)]
pub struct Pull {
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub state: String,
    #[serde(default)]
    pub merged: Option<bool>,
    pub merged_at: Option<String>,
    #[serde(default)]
    pub draft: Option<bool>,
    pub head: Branch,
    pub base: Branch,
    pub html_url: String,
    #[serde(default)]
    pub mergeable: Option<bool>,
    pub user: Option<User>,
}

impl From<Pull> for PullRequest {
    fn from(p: Pull) -> Self {
        PullRequest {
            number: p.number,
            title: p.title,
            body: p.body.unwrap_or_default(),
            state: if p.state == "open" {
                PrState::Open
            } else {
                PrState::Closed
            },
            merged: p.merged.unwrap_or(p.merged_at.is_some()),
            draft: p.draft.unwrap_or(false),
            head_ref: p.head.name,
            head_sha: p.head.sha,
            base_ref: p.base.name,
            base_sha: p.base.sha,
            html_url: p.html_url,
            mergeable: p.mergeable,
            author: p.user.map(|u| u.login).unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
pub struct IssueComment {
    pub id: u64,
    pub body: Option<String>,
    pub user: Option<User>,
}

impl From<IssueComment> for Comment {
    fn from(c: IssueComment) -> Self {
        Comment {
            id: c.id,
            body: c.body.unwrap_or_default(),
            author: c.user.map(|u| u.login).unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
pub struct ReviewComment {
    pub path: String,
    pub line: Option<u64>,
    pub original_line: Option<u64>,
    pub body: String,
}

impl From<ReviewComment> for InlineComment {
    fn from(c: ReviewComment) -> Self {
        InlineComment {
            path: c.path,
            line: c.line.or(c.original_line).unwrap_or(0),
            body: c.body,
        }
    }
}

#[derive(Deserialize)]
pub struct File {
    pub filename: String,
    pub previous_filename: Option<String>,
    pub status: String,
    pub additions: u64,
    pub deletions: u64,
    pub patch: Option<String>,
}

impl From<File> for PrFile {
    fn from(f: File) -> Self {
        PrFile {
            path: f.filename,
            previous_path: f.previous_filename,
            status: f.status,
            additions: f.additions,
            deletions: f.deletions,
            patch: f.patch,
        }
    }
}

#[derive(Deserialize)]
pub struct Sha {
    pub sha: String,
}

#[derive(Deserialize)]
pub struct GitCommit {
    pub tree: Sha,
    #[serde(default)]
    pub message: String,
}

#[derive(Deserialize)]
pub struct Ref {
    #[serde(rename = "ref", default)]
    pub name: String,
    pub object: Sha,
}

#[derive(Deserialize)]
pub struct Id {
    pub id: u64,
}

#[derive(Deserialize)]
pub struct ReviewItem {
    pub id: u64,
    pub user: Option<User>,
    #[serde(default)]
    pub commit_id: Option<String>,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub body: Option<String>,
}

impl From<ReviewItem> for crate::forge::Review {
    fn from(r: ReviewItem) -> Self {
        crate::forge::Review {
            id: r.id,
            author: r.user.map(|u| u.login).unwrap_or_default(),
            commit_id: r.commit_id,
            state: r.state,
            body: r.body.unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
pub struct Label {
    pub name: String,
}

#[derive(Deserialize)]
pub struct TreeListing {
    #[serde(default)]
    pub truncated: bool,
    pub tree: Vec<TreeListEntry>,
}

#[derive(Deserialize)]
pub struct TreeListEntry {
    pub path: String,
    pub mode: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub sha: String,
}

#[derive(Deserialize)]
pub struct Compare {
    pub status: String,
}

#[derive(Deserialize)]
pub struct ContentEntry {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Deserialize)]
pub struct Runs {
    pub total_count: usize,
    #[serde(default)]
    pub workflow_runs: Vec<Run>,
}

#[derive(Deserialize)]
pub struct Run {
    pub id: u64,
    #[serde(default)]
    pub event: String,
}
