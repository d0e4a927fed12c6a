//! `Guard` holds the rules; `Guarded<F>` is a `Forge` that applies them to every write of the
//! forge it wraps. In `observe` mode or with `--dry-run`, writes are recorded as `PlannedWrite`s
//! and answered with placeholders, so a role runs its whole course and makes zero writes.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::PolicyError;
use super::paths::{Protected, normalise};
use crate::config::{Config, Mode};
use crate::forge::{
    Comment, FileChange, Forge, InlineComment, MergeMethod, NewCommit, NewPullRequest, NewReview,
    PrFile, PrState, PrUpdate, PullRequest, RepoInfo, Result,
};

/// Git modes agents never write.
pub const MODE_SYMLINK: u32 = 0o120000;
pub const MODE_SUBMODULE: u32 = 0o160000;

/// The placeholder a dry run answers for a commit it did not make.
pub const PLANNED_SHA: &str = "0000000000000000000000000000000000000000";

#[derive(Debug, Clone)]
pub struct Guard {
    default_branch: String,
    branch_patterns: Vec<String>,
    branches: GlobSet,
    paths: Protected,
    live: bool,
    allow_merge: bool,
    /// Exact paths this run may write although they are protected (the CI-setup workflow).
    allowed_paths: Vec<String>,
}

/// A write a dry run would have made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlannedWrite {
    pub action: String,
    pub target: String,
    pub detail: String,
}

impl Guard {
    /// Rules from the effective configuration and the repository's real default branch.
    pub fn new(
        config: &Config,
        default_branch: &str,
    ) -> std::result::Result<Guard, globset::Error> {
        let mut b = GlobSetBuilder::new();
        for p in &config.workflow.protected_branches {
            b.add(Glob::new(p)?);
        }
        Ok(Guard {
            default_branch: default_branch.to_string(),
            branch_patterns: config.workflow.protected_branches.clone(),
            branches: b.build()?,
            paths: Protected::new(&config.project.protected_paths)?,
            live: config.mode == Mode::Pr && !config.workflow.dry_run,
            allow_merge: false,
            allowed_paths: Vec::new(),
        })
    }

    /// Whether writes really happen (mode `pr` without dry run).
    pub fn live(&self) -> bool {
        self.live
    }

    /// Lets this run merge pull requests (the integrator, when the task's policy allows).
    pub fn allow_merge(mut self, allow: bool) -> Self {
        self.allow_merge = allow;
        self
    }

    /// Opens exactly these protected paths for this run.
    pub fn allow_paths(mut self, paths: &[&str]) -> Self {
        self.allowed_paths = paths.iter().map(|p| p.to_string()).collect();
        self
    }

    pub fn check_branch(&self, name: &str) -> std::result::Result<(), PolicyError> {
        let branch = name.strip_prefix("refs/heads/").unwrap_or(name);
        if branch == self.default_branch || branch.eq_ignore_ascii_case(&self.default_branch) {
            return Err(PolicyError::DefaultBranch {
                branch: branch.to_string(),
            });
        }
        if let Some(i) = self.branches.matches(branch).first() {
            return Err(PolicyError::ProtectedBranch {
                branch: branch.to_string(),
                pattern: self.branch_patterns[*i].clone(),
            });
        }
        Ok(())
    }

    /// Checks one path of a tree change (normalised, not protected) and returns it normalised.
    pub fn check_path(&self, path: &str) -> std::result::Result<String, PolicyError> {
        let clean = normalise(path)?;
        if self.allowed_paths.contains(&clean) {
            return Ok(clean);
        }
        if let Some(pattern) = self.paths.matching(&clean) {
            return Err(PolicyError::ProtectedPath {
                path: clean,
                pattern: pattern.to_string(),
            });
        }
        Ok(clean)
    }

    /// Checks an entry of a final tree diff, including its git mode.
    pub fn check_entry(&self, path: &str, mode: u32) -> std::result::Result<String, PolicyError> {
        let clean = self.check_path(path)?;
        match mode {
            MODE_SYMLINK => Err(PolicyError::SpecialFile {
                path: clean,
                kind: "symlinks",
            }),
            MODE_SUBMODULE => Err(PolicyError::SpecialFile {
                path: clean,
                kind: "submodules",
            }),
            _ => Ok(clean),
        }
    }

    /// Checks every change; returns them with normalised paths.
    pub fn check_changes(
        &self,
        changes: &[FileChange],
    ) -> std::result::Result<Vec<FileChange>, PolicyError> {
        changes
            .iter()
            .map(|c| {
                Ok(FileChange {
                    path: self.check_path(&c.path)?,
                    ..c.clone()
                })
            })
            .collect()
    }
}

/// A forge whose writes pass the guard first.
pub struct Guarded<F> {
    inner: F,
    guard: Guard,
    planned: Mutex<Vec<PlannedWrite>>,
    /// Branches a dry run "created" or "moved", so later reads in the same run see them.
    planned_branches: Mutex<HashMap<String, String>>,
    /// Set once by the CLI for the integrator: merges are allowed only of pull requests from a
    /// branch starting with this prefix into the default branch (its integration PRs).
    merge_heads: OnceLock<String>,
}

impl<F: Forge> Guarded<F> {
    pub fn new(inner: F, guard: Guard) -> Self {
        Guarded {
            inner,
            guard,
            planned: Mutex::new(Vec::new()),
            planned_branches: Mutex::new(HashMap::new()),
            merge_heads: OnceLock::new(),
        }
    }

    /// Lets this run merge (or auto-merge) exactly the pull requests whose head branch starts
    /// with `head_prefix` and whose base is the default branch; every other merge stays refused.
    /// Set once per run (a second call is ignored).
    pub fn permit_merges_from(&self, head_prefix: &str) {
        let _ = self.merge_heads.set(head_prefix.to_string());
    }

    /// Refuses a merge of `number` unless the guard allows merging or the pull request is one
    /// of the permitted heads (read from the forge, not from the caller).
    async fn check_merge(&self, number: u64) -> Result<()> {
        if self.guard.allow_merge {
            return Ok(());
        }
        let refuse = || -> crate::forge::ForgeError {
            PolicyError::MergeNotAllowed {
                number,
                branch: self.guard.default_branch.clone(),
            }
            .into()
        };
        let Some(prefix) = self.merge_heads.get() else {
            return Err(refuse());
        };
        let pr = self.inner.pull_request(number).await?;
        if pr.head_ref.starts_with(prefix.as_str()) && pr.base_ref == self.guard.default_branch {
            Ok(())
        } else {
            Err(refuse())
        }
    }

    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    pub fn inner(&self) -> &F {
        &self.inner
    }

    /// The writes a dry run recorded instead of making them.
    pub fn planned(&self) -> Vec<PlannedWrite> {
        self.planned.lock().map(|p| p.clone()).unwrap_or_default()
    }

    fn plan_branch(&self, name: &str, sha: &str) {
        if let Ok(mut b) = self.planned_branches.lock() {
            b.insert(name.to_string(), sha.to_string());
        }
    }

    fn planned_branch(&self, name: &str) -> Option<String> {
        self.planned_branches
            .lock()
            .ok()
            .and_then(|b| b.get(name).cloned())
    }

    /// Records the write; returns true when it should really be made.
    fn proceed(&self, action: &str, target: String, detail: String) -> bool {
        if self.guard.live {
            return true;
        }
        tracing::info!("dry run: would {action} {target}: {detail}");
        if let Ok(mut p) = self.planned.lock() {
            p.push(PlannedWrite {
                action: action.to_string(),
                target,
                detail,
            });
        }
        false
    }
}

fn excerpt(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut s: String = first.chars().take(120).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

fn planned_pr(pr: &NewPullRequest) -> PullRequest {
    PullRequest {
        number: 0,
        title: pr.title.clone(),
        body: pr.body.clone(),
        state: PrState::Open,
        merged: false,
        draft: pr.draft,
        head_ref: pr.head.clone(),
        head_sha: PLANNED_SHA.into(),
        base_ref: pr.base.clone(),
        base_sha: PLANNED_SHA.into(),
        html_url: String::new(),
        mergeable: None,
        author: String::new(),
    }
}

impl<F: Forge> Forge for Guarded<F> {
    async fn repository(&self) -> Result<RepoInfo> {
        self.inner.repository().await
    }

    async fn pull_request(&self, number: u64) -> Result<PullRequest> {
        self.inner.pull_request(number).await
    }

    async fn find_pull_request(
        &self,
        head: &str,
        include_closed: bool,
    ) -> Result<Option<PullRequest>> {
        self.inner.find_pull_request(head, include_closed).await
    }

    async fn create_pull_request(&self, pr: &NewPullRequest) -> Result<PullRequest> {
        self.guard.check_branch(&pr.head)?;
        if self.proceed(
            "open pull request",
            format!("{} → {}", pr.head, pr.base),
            pr.title.clone(),
        ) {
            self.inner.create_pull_request(pr).await
        } else {
            Ok(planned_pr(pr))
        }
    }

    async fn update_pull_request(&self, number: u64, update: &PrUpdate) -> Result<PullRequest> {
        let detail = format!("{update:?}");
        if self.proceed(
            "update pull request",
            format!("#{number}"),
            excerpt(&detail),
        ) {
            self.inner.update_pull_request(number, update).await
        } else {
            self.inner.pull_request(number).await
        }
    }

    async fn merge_pull_request(
        &self,
        number: u64,
        method: MergeMethod,
        head_sha: &str,
    ) -> Result<String> {
        self.check_merge(number).await?;
        if self.proceed(
            "merge pull request",
            format!("#{number}"),
            format!("{method:?} at {head_sha}"),
        ) {
            self.inner
                .merge_pull_request(number, method, head_sha)
                .await
        } else {
            Ok(PLANNED_SHA.into())
        }
    }

    async fn enable_auto_merge(&self, number: u64, method: MergeMethod) -> Result<()> {
        self.check_merge(number).await?;
        if self.proceed(
            "enable auto-merge on",
            format!("#{number}"),
            format!("{method:?}"),
        ) {
            self.inner.enable_auto_merge(number, method).await
        } else {
            Ok(())
        }
    }

    async fn pull_request_files(&self, number: u64) -> Result<Vec<PrFile>> {
        self.inner.pull_request_files(number).await
    }

    async fn pull_request_diff(&self, number: u64) -> Result<String> {
        self.inner.pull_request_diff(number).await
    }

    async fn comments(&self, issue: u64) -> Result<Vec<Comment>> {
        self.inner.comments(issue).await
    }

    async fn create_comment(&self, issue: u64, body: &str) -> Result<Comment> {
        if self.proceed("comment on", format!("#{issue}"), excerpt(body)) {
            self.inner.create_comment(issue, body).await
        } else {
            Ok(Comment {
                id: 0,
                body: body.to_string(),
                author: String::new(),
            })
        }
    }

    async fn update_comment(&self, id: u64, body: &str) -> Result<Comment> {
        if self.proceed("edit comment", id.to_string(), excerpt(body)) {
            self.inner.update_comment(id, body).await
        } else {
            Ok(Comment {
                id,
                body: body.to_string(),
                author: String::new(),
            })
        }
    }

    async fn review_comments(&self, number: u64) -> Result<Vec<InlineComment>> {
        self.inner.review_comments(number).await
    }

    async fn create_review(&self, number: u64, review: &NewReview) -> Result<u64> {
        let target = format!("#{number} at {}", review.commit_id);
        let detail = format!(
            "{:?} with {} inline comments",
            review.event,
            review.comments.len()
        );
        if self.proceed("submit review on", target, detail) {
            self.inner.create_review(number, review).await
        } else {
            Ok(0)
        }
    }

    async fn branch(&self, name: &str) -> Result<Option<String>> {
        if let Some(sha) = self.planned_branch(name) {
            return Ok(Some(sha));
        }
        self.inner.branch(name).await
    }

    async fn create_branch(&self, name: &str, sha: &str) -> Result<()> {
        self.guard.check_branch(name)?;
        if self.proceed("create branch", name.to_string(), format!("at {sha}")) {
            self.inner.create_branch(name, sha).await
        } else {
            self.plan_branch(name, sha);
            Ok(())
        }
    }

    async fn update_branch(&self, name: &str, expected: &str, sha: &str) -> Result<()> {
        self.guard.check_branch(name)?;
        if self.proceed(
            "move branch",
            name.to_string(),
            format!("{expected} → {sha}"),
        ) {
            self.inner.update_branch(name, expected, sha).await
        } else {
            Ok(())
        }
    }

    async fn create_commit(&self, commit: &NewCommit) -> Result<String> {
        let changes = self.guard.check_changes(&commit.changes)?;
        let files: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        if self.proceed(
            "commit",
            format!("on {}", commit.parent),
            format!("{}: {}", excerpt(&commit.message), files.join(", ")),
        ) {
            let checked = NewCommit {
                changes,
                ..commit.clone()
            };
            self.inner.create_commit(&checked).await
        } else {
            Ok(PLANNED_SHA.into())
        }
    }

    async fn file_at(&self, path: &str, git_ref: &str) -> Result<Option<Vec<u8>>> {
        match self.planned_branch(git_ref) {
            Some(sha) if sha == PLANNED_SHA => Ok(None),
            Some(sha) => self.inner.file_at(path, &sha).await,
            None => self.inner.file_at(path, git_ref).await,
        }
    }

    async fn commit_message(&self, sha: &str) -> Result<Option<String>> {
        if sha == PLANNED_SHA {
            return Ok(None);
        }
        self.inner.commit_message(sha).await
    }

    fn check_branch_write(&self, branch: &str) -> Result<()> {
        Ok(self.guard.check_branch(branch)?)
    }

    fn api_requests(&self) -> Option<u64> {
        self.inner.api_requests()
    }

    async fn dispatch_workflow(
        &self,
        workflow: &str,
        git_ref: &str,
        inputs: &serde_json::Value,
    ) -> Result<()> {
        if self.proceed(
            "dispatch workflow",
            workflow.to_string(),
            format!("on {git_ref} with {inputs}"),
        ) {
            self.inner
                .dispatch_workflow(workflow, git_ref, inputs)
                .await
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_tree_entries_refuse_links_and_submodules() {
        let guard = Guard::new(&Config::default(), "main").unwrap();
        assert_eq!(guard.check_entry("src/a.py", 0o100644).unwrap(), "src/a.py");
        assert_eq!(guard.check_entry("bin/run", 0o100755).unwrap(), "bin/run");
        let link = guard.check_entry("src/link", MODE_SYMLINK).unwrap_err();
        assert!(link.to_string().contains("symlinks"), "{link}");
        let sub = guard.check_entry("vendor/lib", MODE_SUBMODULE).unwrap_err();
        assert!(sub.to_string().contains("submodules"), "{sub}");
        assert!(matches!(
            guard.check_entry(".github/workflows/x.yml", 0o100644),
            Err(PolicyError::ProtectedPath { .. })
        ));
        assert!(guard.live(), "mode pr without dry run writes");
        let observe = Config {
            mode: Mode::Observe,
            ..Config::default()
        };
        assert!(!Guard::new(&observe, "main").unwrap().live());
        let mut dry = Config::default();
        dry.workflow.dry_run = true;
        assert!(!Guard::new(&dry, "main").unwrap().live());
    }
}
