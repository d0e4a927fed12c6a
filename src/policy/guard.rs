//! `Guard` holds the rules; `Guarded<F>` is a `Forge` that applies them to every write of the
//! forge it wraps. Only the publisher writes, and only through a `Guarded` forge: the default
//! branch, protected branches, protected paths and the team's own files are refused there even if
//! a change set (or a bug above) asks for them.

use std::sync::OnceLock;

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::PolicyError;
use super::paths::{Protected, normalise};
use crate::config::Config;
use crate::forge::{
    Comment, Forge, ForgeRead, InlineComment, MergeMethod, NewCommit, NewPullRequest, NewReview,
    PrFile, PrUpdate, PullRequest, RepoInfo, Result, Review,
};

/// Git modes agents never write.
pub const MODE_SYMLINK: u32 = 0o120000;
pub const MODE_SUBMODULE: u32 = 0o160000;

/// The files that steer the team itself: its configuration and prompt overrides. Protected
/// whatever `project.protected_paths` says (a team PR could otherwise switch its own guard
/// off); only `project.allow_self_edits: true`, committed to the default branch by a
/// maintainer, opens them.
pub const TEAM_PATHS: [&str; 2] = [".llm-team.yml", ".llm-team/"];

/// Workflow files are the team's own when they run it: a line that is not a comment names the
/// action or the binary.
pub const TEAM_WORKFLOW_DIR: &str = ".github/workflows/";
/// What a workflow file that runs the team contains outside its comments.
pub const TEAM_WORKFLOW_MARK: &str = "codex-orchestrator";

/// Whether workflow text runs the team (names it on a line that is not a YAML comment).
pub fn runs_the_team(text: &[u8]) -> bool {
    String::from_utf8_lossy(text)
        .lines()
        .any(|l| !l.trim_start().starts_with('#') && l.contains(TEAM_WORKFLOW_MARK))
}

#[derive(Debug, Clone)]
pub struct Guard {
    default_branch: String,
    branch_patterns: Vec<String>,
    branches: GlobSet,
    paths: Protected,
    /// The team's own files (`TEAM_PATHS` and the configuration file in use), unless opened.
    team: Option<Protected>,
    allow_merge: bool,
    /// Exact paths this run may write although they are protected (the CI-setup workflow).
    allowed_paths: Vec<String>,
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
        let team = if config.project.allow_self_edits {
            None
        } else {
            let mut team: Vec<String> = TEAM_PATHS.iter().map(|p| p.to_string()).collect();
            if let Some(file) = &config.project.config_file {
                team.push(file.clone());
            }
            Some(Protected::new(&team)?)
        };
        Ok(Guard {
            default_branch: default_branch.to_string(),
            branch_patterns: config.workflow.protected_branches.clone(),
            branches: b.build()?,
            paths: Protected::new(&config.project.protected_paths)?,
            team,
            allow_merge: false,
            allowed_paths: Vec::new(),
        })
    }

    pub fn default_branch(&self) -> &str {
        &self.default_branch
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

    /// Whether the team's own files are protected (see [`TEAM_PATHS`]).
    pub fn guards_team_files(&self) -> bool {
        self.team.is_some()
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
        if let Some(pattern) = self.team.as_ref().and_then(|t| t.matching(&clean)) {
            return Err(PolicyError::TeamFile {
                path: clean.clone(),
                pattern: pattern.to_string(),
            });
        }
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

    /// A workflow file whose old or new text runs the team (names the action) is the team's
    /// own, and protected like [`TEAM_PATHS`].
    pub fn check_team_workflow(
        &self,
        path: &str,
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> std::result::Result<(), PolicyError> {
        if self.team.is_none() || !is_workflow_path(path) {
            return Ok(());
        }
        if old.is_some_and(runs_the_team) || new.is_some_and(runs_the_team) {
            return Err(PolicyError::TeamFile {
                path: path.to_string(),
                pattern: format!("{TEAM_WORKFLOW_DIR} files that run {TEAM_WORKFLOW_MARK}"),
            });
        }
        Ok(())
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
}

/// Whether `path` is a workflow file (`.github/workflows/*.yml` or `.yaml`, any case).
pub fn is_workflow_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.starts_with(TEAM_WORKFLOW_DIR) && (lower.ends_with(".yml") || lower.ends_with(".yaml"))
}

/// A forge whose writes pass the guard first.
pub struct Guarded<F> {
    inner: F,
    guard: Guard,
    /// Set once by the publisher for the integrator: merges are allowed only of pull requests
    /// from a branch starting with this prefix into the default branch (its integration PRs).
    merge_heads: OnceLock<String>,
}

impl<F: Forge> Guarded<F> {
    pub fn new(inner: F, guard: Guard) -> Self {
        Guarded {
            inner,
            guard,
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
}

impl<F: Forge> ForgeRead for Guarded<F> {
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

    async fn open_pull_requests(&self, limit: usize) -> Result<Vec<PullRequest>> {
        self.inner.open_pull_requests(limit).await
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

    async fn review_comments(&self, number: u64) -> Result<Vec<InlineComment>> {
        self.inner.review_comments(number).await
    }

    async fn reviews(&self, number: u64) -> Result<Vec<Review>> {
        self.inner.reviews(number).await
    }

    async fn labels(&self, issue: u64) -> Result<Vec<String>> {
        self.inner.labels(issue).await
    }

    async fn branch(&self, name: &str) -> Result<Option<String>> {
        self.inner.branch(name).await
    }

    async fn branches(&self, prefix: &str, limit: usize) -> Result<Vec<(String, String)>> {
        self.inner.branches(prefix, limit).await
    }

    async fn file_at(&self, path: &str, git_ref: &str) -> Result<Option<Vec<u8>>> {
        self.inner.file_at(path, git_ref).await
    }

    async fn commit_message(&self, sha: &str) -> Result<Option<String>> {
        self.inner.commit_message(sha).await
    }

    async fn list_dir(&self, dir: &str, git_ref: &str) -> Result<Vec<String>> {
        self.inner.list_dir(dir, git_ref).await
    }

    async fn tree_modes(
        &self,
        sha: &str,
        paths: &[String],
    ) -> Result<std::collections::BTreeMap<String, String>> {
        self.inner.tree_modes(sha, paths).await
    }

    async fn is_ancestor(&self, ancestor: &str, of: &str) -> Result<bool> {
        self.inner.is_ancestor(ancestor, of).await
    }

    async fn identity(&self) -> Result<Option<String>> {
        self.inner.identity().await
    }

    fn api_requests(&self) -> Option<u64> {
        self.inner.api_requests()
    }

    fn repository_name(&self) -> Option<String> {
        self.inner.repository_name()
    }

    async fn active_runs(&self, workflow: &str, except: &str) -> Result<Option<usize>> {
        self.inner.active_runs(workflow, except).await
    }
}

impl<F: Forge> Forge for Guarded<F> {
    async fn create_pull_request(&self, pr: &NewPullRequest) -> Result<PullRequest> {
        self.guard.check_branch(&pr.head)?;
        self.inner.create_pull_request(pr).await
    }

    async fn update_pull_request(&self, number: u64, update: &PrUpdate) -> Result<PullRequest> {
        self.inner.update_pull_request(number, update).await
    }

    async fn merge_pull_request(
        &self,
        number: u64,
        method: MergeMethod,
        head_sha: &str,
    ) -> Result<String> {
        self.check_merge(number).await?;
        self.inner
            .merge_pull_request(number, method, head_sha)
            .await
    }

    async fn enable_auto_merge(&self, number: u64, method: MergeMethod) -> Result<()> {
        self.check_merge(number).await?;
        self.inner.enable_auto_merge(number, method).await
    }

    async fn create_comment(&self, issue: u64, body: &str) -> Result<Comment> {
        self.inner.create_comment(issue, body).await
    }

    async fn update_comment(&self, id: u64, body: &str) -> Result<Comment> {
        self.inner.update_comment(id, body).await
    }

    async fn create_review(&self, number: u64, review: &NewReview) -> Result<u64> {
        self.inner.create_review(number, review).await
    }

    async fn add_labels(&self, issue: u64, labels: &[String]) -> Result<()> {
        self.inner.add_labels(issue, labels).await
    }

    async fn create_branch(&self, name: &str, sha: &str) -> Result<()> {
        self.guard.check_branch(name)?;
        self.inner.create_branch(name, sha).await
    }

    async fn update_branch(&self, name: &str, expected: &str, sha: &str) -> Result<()> {
        self.guard.check_branch(name)?;
        self.inner.update_branch(name, expected, sha).await
    }

    async fn create_commit(&self, commit: &NewCommit) -> Result<String> {
        let changes = commit
            .changes
            .iter()
            .map(|c| {
                Ok(crate::forge::FileChange {
                    path: self.guard.check_path(&c.path)?,
                    ..c.clone()
                })
            })
            .collect::<std::result::Result<Vec<_>, PolicyError>>()?;
        let checked = NewCommit {
            changes,
            ..commit.clone()
        };
        self.inner.create_commit(&checked).await
    }

    fn check_branch_write(&self, branch: &str) -> Result<()> {
        Ok(self.guard.check_branch(branch)?)
    }

    async fn dispatch_workflow(
        &self,
        workflow: &str,
        git_ref: &str,
        inputs: &serde_json::Value,
    ) -> Result<()> {
        self.inner
            .dispatch_workflow(workflow, git_ref, inputs)
            .await
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
    }

    #[test]
    fn the_team_files_stay_protected_whatever_protected_paths_says() {
        let mut config = Config::default();
        config.project.protected_paths = Vec::new();
        let guard = Guard::new(&config, "main").unwrap();
        for p in [
            ".llm-team.yml",
            ".llm-team/prompts/developer.md.j2",
            ".LLM-Team.yml",
        ] {
            assert!(
                matches!(guard.check_path(p), Err(PolicyError::TeamFile { .. })),
                "{p}"
            );
        }
        assert!(guard.check_path(".github/workflows/ci.yml").is_ok());
        let team =
            b"jobs:\n  x:\n    steps:\n      - uses: codex-orchestrator/codex-orchestrator@abc\n";
        assert!(
            guard
                .check_team_workflow(".github/workflows/llm-team.yml", Some(team), None)
                .is_err()
        );
        assert!(
            guard
                .check_team_workflow(".github/workflows/new.yaml", None, Some(team))
                .is_err()
        );
        assert!(
            guard
                .check_team_workflow(".github/workflows/ci.yml", Some(b"name: CI\n"), Some(b"x"))
                .is_ok()
        );
        let ci = b"# Added by codex-orchestrator (task T-0001)\nname: CI\n";
        assert!(
            guard
                .check_team_workflow(".github/workflows/ci.yml", None, Some(ci))
                .is_ok()
        );
        config.project.allow_self_edits = true;
        let open = Guard::new(&config, "main").unwrap();
        assert!(open.check_path(".llm-team.yml").is_ok());
        assert!(
            open.check_team_workflow(".github/workflows/llm-team.yml", Some(team), None)
                .is_ok()
        );
    }
}
