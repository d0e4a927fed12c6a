//! The local forge: the `Forge` port backed by a directory instead of GitHub, so the whole loop
//! runs with no network and no token (the demo, or a role against a repository on disk). Same
//! semantics as `github/`: one open PR per head/base, compare-and-swap branches, fast-forward
//! only updates, merges with GitHub's three strategies; wrap it in `policy::Guarded` like GitHub.
//!
//! Layout of `DIR`: `forge.json` (marks it), `repo.git/` (bare repository, `HEAD` names the default
//! branch), `pulls/N.json` (a pull request with its comments and reviews), `dispatches.json`
//! (recorded `workflow_dispatch` calls: there are no workflows locally), `checkouts/` (snapshots
//! the CLI hands to roles), `forge.lock` (present while a process writes).

pub(crate) mod checkout;
pub(crate) mod import;
pub(crate) mod merge;
pub(crate) mod records;
pub(crate) mod store;

use std::path::{Path, PathBuf};

use gix::ObjectId;

use super::{
    Comment, Forge, ForgeError, ForgeRead, InlineComment, MergeMethod, NewCommit, NewPullRequest,
    NewReview, PrFile, PrState, PrUpdate, PullRequest, RepoInfo, Result, Review,
};
use crate::git::{ChangeKind, Checkout as _, GixCheckout};
use records::{CommentRecord, DispatchRecord, Meta, PullRecord, Records, ReviewRecord, now};
use store::{Store, local, signature};

/// Who the local forge says opened pull requests and wrote comments.
pub const LOCAL_USER: &str = "codex-orchestrator";

pub struct LocalForge {
    dir: PathBuf,
    store: Store,
    records: Records,
    meta: Meta,
}

impl LocalForge {
    /// Opens the forge in `dir` (made by `forge init` or the demo).
    pub fn open(dir: &Path) -> Result<LocalForge> {
        let records = Records::new(dir);
        let meta = records.read_meta()?;
        let store = Store::open(&dir.join(records::REPO_DIR))?;
        Ok(LocalForge {
            dir: dir.to_path_buf(),
            store,
            records,
            meta,
        })
    }

    /// Creates an empty forge in `dir` (which must not exist or be empty); `fill` writes the
    /// first commit(s). `forge.json` is written last, so a failed creation is never mistaken
    /// for a forge (the directory is removed again).
    pub fn create<T>(
        dir: &Path,
        name: &str,
        default_branch: &str,
        imported_from: &str,
        fill: impl FnOnce(&Store) -> Result<T>,
    ) -> Result<(LocalForge, T)> {
        let occupied = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
        if occupied {
            let what = if dir.join(records::META_FILE).is_file() {
                "already holds a local forge"
            } else {
                "is not empty"
            };
            return Err(ForgeError::Local {
                message: format!(
                    "{} {what}; pick a new directory (or remove it first)",
                    dir.display()
                ),
            });
        }
        let made = (|| {
            std::fs::create_dir_all(dir)
                .map_err(|e| local(format!("creating {}", dir.display()), e))?;
            let store = Store::init(&dir.join(records::REPO_DIR), default_branch)?;
            let filled = fill(&store)?;
            Records::new(dir).write_meta(&Meta {
                format: 1,
                name: name.to_string(),
                created_at: now(),
                imported_from: imported_from.to_string(),
            })?;
            Ok(filled)
        })();
        match made {
            Ok(filled) => Ok((LocalForge::open(dir)?, filled)),
            Err(e) => {
                let _ = std::fs::remove_dir_all(dir);
                Err(e)
            }
        }
    }

    /// `forge init local:DIR --from PATH`: a new forge holding `src`'s history (see `import`).
    pub fn init_from(dir: &Path, src: &Path) -> Result<(LocalForge, import::Imported)> {
        let src =
            std::path::absolute(src).map_err(|e| local(format!("reading {}", src.display()), e))?;
        if !src.is_dir() {
            return Err(ForgeError::Local {
                message: format!(
                    "{} is not a directory; pass a repository or a folder to import",
                    src.display()
                ),
            });
        }
        let branch = import::source_branch(&src).unwrap_or_else(|| "main".to_string());
        let name = src
            .file_name()
            .map_or("repo".into(), |n| n.to_string_lossy().into_owned());
        LocalForge::create(dir, &name, &branch, &src.display().to_string(), |store| {
            import::import(store, &src, &branch)
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn git_dir(&self) -> &Path {
        self.store.git_dir()
    }

    pub fn name(&self) -> &str {
        &self.meta.name
    }

    pub fn default_branch(&self) -> Result<String> {
        self.store.default_branch()
    }

    /// Every pull request record, by number (for transcripts and tests).
    pub fn pull_records(&self) -> Result<Vec<PullRecord>> {
        self.records.pulls()
    }

    pub fn pull_record_path(&self, number: u64) -> PathBuf {
        self.records.pull_path(number)
    }

    /// Every branch and its commit.
    pub fn branches(&self) -> Result<Vec<(String, ObjectId)>> {
        self.store.branches()
    }

    pub fn dispatches(&self) -> Result<Vec<DispatchRecord>> {
        self.records.dispatches()
    }

    /// A read-only directory holding `git_ref`'s files (see `checkout`), for roles to read.
    pub fn snapshot(&self, git_ref: &str) -> Result<PathBuf> {
        let commit = self
            .store
            .resolve(git_ref)?
            .ok_or_else(|| ForgeError::NotFound {
                what: format!("branch or commit {git_ref}"),
            })?;
        let _lock = self.records.lock()?;
        checkout::snapshot(&self.dir, &self.store, commit)
    }

    fn url(&self, number: u64) -> String {
        self.records.pull_path(number).display().to_string()
    }

    /// An open PR follows its branches: head is the head branch's commit, base the base's.
    fn live(&self, mut pr: PullRecord) -> Result<PullRecord> {
        if pr.state == PrState::Open {
            if let Some(head) = self.store.branch(&pr.head_ref)? {
                pr.head_sha = head.to_string();
            }
            if let Some(base) = self.store.branch(&pr.base_ref)? {
                pr.base_sha = base.to_string();
            }
        }
        Ok(pr)
    }

    fn branch_or_missing(&self, name: &str, role: &str) -> Result<ObjectId> {
        self.store.branch(name)?.ok_or_else(|| ForgeError::Local {
            message: format!(
                "the {role} branch {name} does not exist; create it before opening a pull request"
            ),
        })
    }

    /// The forge's bare repository, read through the git port.
    fn checkout(&self) -> Result<GixCheckout> {
        GixCheckout::open(self.store.git_dir()).map_err(|e| local("opening the bare repository", e))
    }

    /// The diff a pull request shows: merge base of (base, head) → head. A merged PR keeps
    /// the base commit it was merged onto, so it still shows what it brought.
    fn diff(&self, number: u64) -> Result<crate::git::Diff> {
        let pr = self.live(self.records.pull(number)?)?;
        let checkout = self.checkout()?;
        checkout
            .pr_diff(&pr.base_sha, &pr.head_sha)
            .map(|d| d.diff)
            .map_err(|e| local(format!("diffing pull request #{number}"), e))
    }
}

fn not_mergeable(number: u64, reason: impl Into<String>) -> ForgeError {
    ForgeError::NotMergeable {
        number,
        reason: reason.into(),
    }
}

impl ForgeRead for LocalForge {
    fn repository_name(&self) -> Option<String> {
        Some(format!("local/{}", self.meta.name))
    }

    async fn repository(&self) -> Result<RepoInfo> {
        Ok(RepoInfo {
            full_name: format!("local/{}", self.meta.name),
            default_branch: self.store.default_branch()?,
        })
    }

    async fn pull_request(&self, number: u64) -> Result<PullRequest> {
        let pr = self.live(self.records.pull(number)?)?;
        Ok(pr.to_pull(self.url(number)))
    }

    async fn find_pull_request(
        &self,
        head: &str,
        include_closed: bool,
    ) -> Result<Option<PullRequest>> {
        let found = self
            .records
            .pulls()?
            .into_iter()
            .filter(|p| p.head_ref == head && (include_closed || p.state == PrState::Open))
            .max_by_key(|p| p.number);
        match found {
            Some(p) => {
                let url = self.url(p.number);
                Ok(Some(self.live(p)?.to_pull(url)))
            }
            None => Ok(None),
        }
    }

    async fn pull_request_files(&self, number: u64) -> Result<Vec<PrFile>> {
        Ok(self
            .diff(number)?
            .files
            .into_iter()
            .map(|f| {
                let status = match f.change {
                    ChangeKind::Added => "added",
                    ChangeKind::Deleted => "removed",
                    ChangeKind::Modified => "modified",
                    ChangeKind::Renamed => "renamed",
                    ChangeKind::TypeChanged => "changed",
                };
                // GitHub's `patch` is the hunks only, without the file headers.
                let patch = (!f.binary).then(|| {
                    f.hunks
                        .iter()
                        .flat_map(|h| {
                            std::iter::once(h.header.clone()).chain(h.lines.iter().cloned())
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                });
                PrFile {
                    path: f.path,
                    previous_path: f.old_path,
                    status: status.into(),
                    additions: f.additions.into(),
                    deletions: f.deletions.into(),
                    patch,
                }
            })
            .collect())
    }

    async fn pull_request_diff(&self, number: u64) -> Result<String> {
        Ok(self.diff(number)?.unified())
    }

    async fn comments(&self, issue: u64) -> Result<Vec<Comment>> {
        Ok(self
            .records
            .pull(issue)?
            .comments
            .iter()
            .map(CommentRecord::to_comment)
            .collect())
    }

    async fn review_comments(&self, number: u64) -> Result<Vec<InlineComment>> {
        Ok(self
            .records
            .pull(number)?
            .reviews
            .into_iter()
            .flat_map(|r| r.comments)
            .collect())
    }

    async fn branch(&self, name: &str) -> Result<Option<String>> {
        Ok(self.store.branch(name)?.map(|id| id.to_string()))
    }

    async fn commit_message(&self, sha: &str) -> Result<Option<String>> {
        let commit = self.store.commit_object(self.store.commit_id(sha)?)?;
        Ok(Some(String::from_utf8_lossy(&commit.message).into_owned()))
    }

    async fn file_at(&self, path: &str, git_ref: &str) -> Result<Option<Vec<u8>>> {
        let Some(commit) = self.store.resolve(git_ref)? else {
            return Ok(None);
        };
        let checkout = self.checkout()?;
        match checkout.read_file(&commit.to_string(), path) {
            Ok(bytes) => Ok(bytes),
            Err(crate::git::GitError::NotAFile { .. }) => Ok(None),
            Err(e) => Err(local(format!("reading {path} at {git_ref}"), e)),
        }
    }
    async fn open_pull_requests(&self, limit: usize) -> Result<Vec<PullRequest>> {
        let mut out = Vec::new();
        for pr in self.records.pulls()? {
            if pr.state == PrState::Open && out.len() < limit {
                let number = pr.number;
                out.push(self.live(pr)?.to_pull(self.url(number)));
            }
        }
        out.sort_by_key(|p| std::cmp::Reverse(p.number));
        Ok(out)
    }

    async fn reviews(&self, number: u64) -> Result<Vec<Review>> {
        Ok(self
            .records
            .pull(number)?
            .reviews
            .iter()
            .map(ReviewRecord::to_review)
            .collect())
    }

    async fn labels(&self, issue: u64) -> Result<Vec<String>> {
        Ok(self.records.pull(issue)?.labels)
    }

    async fn branches(&self, prefix: &str, limit: usize) -> Result<Vec<(String, String)>> {
        Ok(self
            .store
            .branches()?
            .into_iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .take(limit)
            .map(|(n, id)| (n, id.to_string()))
            .collect())
    }

    async fn tree_modes(
        &self,
        sha: &str,
        paths: &[String],
    ) -> Result<std::collections::BTreeMap<String, String>> {
        let checkout = self.checkout()?;
        let entries = checkout
            .list_files(sha)
            .map_err(|e| local(format!("listing the tree of {sha}"), e))?;
        let wanted: std::collections::BTreeSet<String> = paths
            .iter()
            .flat_map(|p| {
                let parts: Vec<&str> = p.split('/').collect();
                (1..=parts.len()).map(move |n| parts[..n].join("/"))
            })
            .collect();
        Ok(entries
            .into_iter()
            .filter(|e| wanted.contains(&e.path))
            .map(|e| (e.path, e.mode.as_octal().to_string()))
            .collect())
    }

    async fn list_dir(&self, dir: &str, git_ref: &str) -> Result<Vec<String>> {
        let Some(commit) = self.store.resolve(git_ref)? else {
            return Ok(Vec::new());
        };
        let checkout = self.checkout()?;
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        Ok(checkout
            .list_files_without_sizes(&commit.to_string())
            .map_err(|e| local(format!("listing {dir} at {git_ref}"), e))?
            .into_iter()
            .filter(|e| {
                e.path
                    .strip_prefix(&prefix)
                    .is_some_and(|rest| !rest.contains('/'))
            })
            .map(|e| e.path)
            .collect())
    }

    async fn is_ancestor(&self, ancestor: &str, of: &str) -> Result<bool> {
        let (Ok(a), Ok(b)) = (self.store.commit_id(ancestor), self.store.commit_id(of)) else {
            return Ok(false);
        };
        self.store.is_ancestor(a, b)
    }

    async fn identity(&self) -> Result<Option<String>> {
        Ok(Some(LOCAL_USER.to_string()))
    }
}

impl Forge for LocalForge {
    async fn add_labels(&self, issue: u64, labels: &[String]) -> Result<()> {
        let _lock = self.records.lock()?;
        let mut pr = self.records.pull(issue)?;
        for l in labels {
            if !pr.labels.contains(l) {
                pr.labels.push(l.clone());
            }
        }
        self.records.save_pull(&pr)
    }

    async fn create_pull_request(&self, pr: &NewPullRequest) -> Result<PullRequest> {
        let _lock = self.records.lock()?;
        let pulls = self.records.pulls()?;
        if let Some(existing) = pulls
            .iter()
            .find(|p| p.state == PrState::Open && p.head_ref == pr.head && p.base_ref == pr.base)
        {
            // As on GitHub ("a pull request already exists"): the open one, brought up to date.
            let mut existing = existing.clone();
            existing.title = pr.title.clone();
            existing.body = pr.body.clone();
            existing.updated_at = now();
            self.records.save_pull(&existing)?;
            let url = self.url(existing.number);
            return Ok(self.live(existing)?.to_pull(url));
        }
        if pr.head == pr.base {
            return Err(ForgeError::Local {
                message: format!(
                    "a pull request needs two branches; head and base are both {}",
                    pr.head
                ),
            });
        }
        let head = self.branch_or_missing(&pr.head, "head")?;
        let base = self.branch_or_missing(&pr.base, "base")?;
        if self.store.is_ancestor(head, base)? {
            return Err(ForgeError::Local {
                message: format!(
                    "no commits between {} and {}: nothing to open a pull request for",
                    pr.base, pr.head
                ),
            });
        }
        let number = pulls.iter().map(|p| p.number).max().unwrap_or(0) + 1;
        let at = now();
        let record = PullRecord {
            number,
            title: pr.title.clone(),
            body: pr.body.clone(),
            state: PrState::Open,
            merged: false,
            draft: pr.draft,
            head_ref: pr.head.clone(),
            head_sha: head.to_string(),
            base_ref: pr.base.clone(),
            base_sha: base.to_string(),
            author: LOCAL_USER.into(),
            created_at: at,
            updated_at: at,
            merged_at: None,
            merge_method: None,
            merge_commit_sha: None,
            comments: Vec::new(),
            reviews: Vec::new(),
            labels: Vec::new(),
        };
        self.records.save_pull(&record)?;
        Ok(record.to_pull(self.url(number)))
    }

    async fn update_pull_request(&self, number: u64, update: &PrUpdate) -> Result<PullRequest> {
        let _lock = self.records.lock()?;
        let mut pr = self.live(self.records.pull(number)?)?;
        if let Some(t) = &update.title {
            pr.title = t.clone();
        }
        if let Some(b) = &update.body {
            pr.body = b.clone();
        }
        match update.state {
            Some(PrState::Open) if pr.merged => {
                return Err(not_mergeable(
                    number,
                    "it is merged; a merged pull request cannot be reopened",
                ));
            }
            Some(PrState::Open) if pr.state == PrState::Closed => {
                self.branch_or_missing(&pr.head_ref, "head")?;
                pr.state = PrState::Open;
            }
            Some(s) => pr.state = s,
            None => {}
        }
        pr.updated_at = now();
        self.records.save_pull(&pr)?;
        Ok(pr.to_pull(self.url(number)))
    }

    async fn merge_pull_request(
        &self,
        number: u64,
        method: MergeMethod,
        head_sha: &str,
    ) -> Result<String> {
        let _lock = self.records.lock()?;
        let mut pr = self.records.pull(number)?;
        if pr.merged {
            return Err(not_mergeable(number, "it is already merged"));
        }
        if pr.state == PrState::Closed {
            return Err(not_mergeable(number, "it is closed; reopen it first"));
        }
        if pr.draft {
            return Err(not_mergeable(
                number,
                "it is still a draft; mark it ready for review first",
            ));
        }
        let head = self.store.branch(&pr.head_ref)?.ok_or_else(|| {
            not_mergeable(
                number,
                format!("its head branch {} was deleted", pr.head_ref),
            )
        })?;
        if ObjectId::from_hex(head_sha.as_bytes()).ok() != Some(head) {
            // GitHub answers 409 here: the caller must re-read what it is merging.
            return Err(not_mergeable(
                number,
                format!(
                    "the head branch was modified (expected {head_sha}, found {head}); review the new head and try again"
                ),
            ));
        }
        let base_tip = self.branch_or_missing(&pr.base_ref, "base")?;
        let merging = merge::Merging {
            number,
            title: &pr.title,
            head_ref: &pr.head_ref,
            base_tip,
            head,
        };
        let commit = match merge::merge_commit(&self.store, &merging, method) {
            Ok(c) => c,
            Err(merge::Refusal::Conflict(paths)) => {
                return Err(not_mergeable(
                    number,
                    format!(
                        "merge conflict in {}; update {} from {} first",
                        paths.join(", "),
                        pr.head_ref,
                        pr.base_ref
                    ),
                ));
            }
            Err(merge::Refusal::Other(e)) => return Err(e),
        };
        if commit == base_tip {
            return Err(not_mergeable(
                number,
                format!("{} already contains every change of it", pr.base_ref),
            ));
        }
        let why = format!("merge pull request #{number} ({method:?})");
        self.store
            .set_branch(&pr.base_ref, Some(base_tip), commit, &why)?;
        let at = now();
        pr.state = PrState::Closed;
        pr.merged = true;
        pr.head_sha = head.to_string();
        pr.base_sha = base_tip.to_string();
        pr.merged_at = Some(at);
        pr.updated_at = at;
        pr.merge_method = Some(method);
        pr.merge_commit_sha = Some(commit.to_string());
        self.records.save_pull(&pr)?;
        Ok(commit.to_string())
    }

    async fn create_comment(&self, issue: u64, body: &str) -> Result<Comment> {
        let _lock = self.records.lock()?;
        let mut pr = self.records.pull(issue)?;
        let at = now();
        let comment = CommentRecord {
            id: self.records.next_note_id()?,
            body: body.to_string(),
            author: LOCAL_USER.into(),
            created_at: at,
            updated_at: at,
        };
        pr.comments.push(comment.clone());
        self.records.save_pull(&pr)?;
        Ok(comment.to_comment())
    }

    async fn update_comment(&self, id: u64, body: &str) -> Result<Comment> {
        let _lock = self.records.lock()?;
        for mut pr in self.records.pulls()? {
            if let Some(c) = pr.comments.iter_mut().find(|c| c.id == id) {
                c.body = body.to_string();
                c.updated_at = now();
                let out = c.to_comment();
                self.records.save_pull(&pr)?;
                return Ok(out);
            }
        }
        Err(ForgeError::NotFound {
            what: format!("comment {id}"),
        })
    }

    async fn create_review(&self, number: u64, review: &NewReview) -> Result<u64> {
        let _lock = self.records.lock()?;
        let mut pr = self.records.pull(number)?;
        let id = self.records.next_note_id()?;
        pr.reviews.push(ReviewRecord {
            id,
            commit_id: review.commit_id.clone(),
            body: review.body.clone(),
            event: review.event,
            comments: review.comments.clone(),
            author: LOCAL_USER.into(),
            created_at: now(),
        });
        self.records.save_pull(&pr)?;
        Ok(id)
    }

    async fn create_branch(&self, name: &str, sha: &str) -> Result<()> {
        let id = self.store.commit_id(sha)?;
        self.store.set_branch(name, None, id, "create branch")
    }

    async fn update_branch(&self, name: &str, expected: &str, sha: &str) -> Result<()> {
        let current = self
            .store
            .branch(name)?
            .ok_or_else(|| ForgeError::NotFound {
                what: format!("branch {name}"),
            })?;
        let new = self.store.commit_id(sha)?;
        if current == new {
            return Ok(());
        }
        if ObjectId::from_hex(expected.as_bytes()).ok() != Some(current) {
            return Err(ForgeError::BranchMoved {
                branch: name.to_string(),
                expected: expected.to_string(),
                current: current.to_string(),
            });
        }
        if !self.store.is_ancestor(current, new)? {
            return Err(ForgeError::Local {
                message: format!(
                    "moving {name} to {sha} is not a fast-forward (it does not contain {current}); branches are never forced"
                ),
            });
        }
        self.store
            .set_branch(name, Some(current), new, "fast-forward")
    }

    async fn create_commit(&self, commit: &NewCommit) -> Result<String> {
        let parent = self.store.commit_id(&commit.parent)?;
        let tree = self
            .store
            .apply_changes(Some(self.store.tree_of(parent)?), &commit.changes)?;
        let id = self.store.write_commit(
            tree,
            &[parent],
            &commit.message,
            signature(commit.author.as_ref()),
        )?;
        Ok(id.to_string())
    }

    async fn dispatch_workflow(
        &self,
        workflow: &str,
        git_ref: &str,
        inputs: &serde_json::Value,
    ) -> Result<()> {
        // No workflows run locally: the dispatch is recorded so a caller (or person) can see it.
        let _lock = self.records.lock()?;
        let mut list = self.records.dispatches()?;
        list.push(DispatchRecord {
            workflow: workflow.to_string(),
            git_ref: git_ref.to_string(),
            inputs: inputs.clone(),
            at: now(),
        });
        self.records.save_dispatches(&list)?;
        tracing::info!(
            "local forge: recorded workflow_dispatch of {workflow} on {git_ref} (no workflows run locally)"
        );
        Ok(())
    }
}
