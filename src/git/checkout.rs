//! The port the roles use to read the local checkout. A trait so role tests can fake it;
//! shas cross it as full hex strings because that is what the forge and the roles speak.

use super::diff::Diff;
use super::error::GitError;

/// What a tree entry is. The policy layer refuses `Symlink` and `Submodule` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// 100644
    File,
    /// 100755
    Executable,
    /// 120000
    Symlink,
    /// 160000 (a gitlink: a commit of another repository)
    Submodule,
}

impl Mode {
    /// The octal mode string git prints (`100644`, `100755`, `120000`, `160000`).
    pub fn as_octal(self) -> &'static str {
        match self {
            Mode::File => "100644",
            Mode::Executable => "100755",
            Mode::Symlink => "120000",
            Mode::Submodule => "160000",
        }
    }

    /// A regular file, executable or not (the kinds a role may edit).
    pub fn is_regular(self) -> bool {
        matches!(self, Mode::File | Mode::Executable)
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_octal())
    }
}

/// One tracked, non-directory entry of a commit's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// Path relative to the repository root, `/`-separated; lossy (U+FFFD) if not UTF-8.
    pub path: String,
    /// The exact path bytes as stored in git.
    pub raw_path: Vec<u8>,
    pub mode: Mode,
    /// Blob id (or, for a submodule, the commit id it points at), full hex.
    pub blob_id: String,
    /// Blob size in bytes; `None` for submodules, for blobs a partial clone does not have,
    /// and when sizes were not requested.
    pub size: Option<u64>,
}

impl TreeEntry {
    /// False when `path` had to be lossily converted from non-UTF-8 bytes.
    pub fn path_is_utf8(&self) -> bool {
        self.path.as_bytes() == self.raw_path.as_slice()
    }
}

/// Which commit a PR diff was taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrDiffBase {
    /// `merge-base(base, head)` → head: what GitHub shows (`base...head`).
    MergeBase { sha: String },
    /// The merge base was not available (shallow history, unrelated histories), so the
    /// diff is `base` → `head` (`base..head`), which also shows changes made on the base branch.
    Base { sha: String },
}

impl PrDiffBase {
    /// The commit the diff starts from.
    pub fn sha(&self) -> &str {
        match self {
            PrDiffBase::MergeBase { sha } | PrDiffBase::Base { sha } => sha,
        }
    }
}

/// A pull request's diff together with what it was computed from.
#[derive(Debug, Clone)]
pub struct PrDiff {
    pub from: PrDiffBase,
    pub head: String,
    pub diff: Diff,
}

/// Read access to the checked-out repository.
pub trait Checkout {
    /// Whether `sha` (full hex) names a commit present in the local object database.
    /// False for malformed shas, missing objects and non-commits; use it for the API fallback.
    fn has_commit(&self, sha: &str) -> bool;

    /// Resolve a revision (`HEAD`, `main`, `refs/remotes/origin/main`, a full or abbreviated sha,
    /// `HEAD~1`) to the full hex id of the commit it names (tags are peeled).
    fn resolve(&self, rev: &str) -> Result<String, GitError>;

    /// Content of the file at `path` in `commit`; `Ok(None)` when the path does not exist.
    /// Symlinks yield their target; directories and submodules are [`GitError::NotAFile`].
    fn read_file(&self, commit: &str, path: &str) -> Result<Option<Vec<u8>>, GitError>;

    /// Every tracked non-directory entry of `commit`'s tree, sorted by path bytes.
    fn list_files(&self, commit: &str) -> Result<Vec<TreeEntry>, GitError>;

    /// Tree-to-tree diff `base` → `head` (both commits), like `git diff base head`.
    fn diff(&self, base: &str, head: &str) -> Result<Diff, GitError>;

    /// The best common ancestor of `a` and `b`; `Ok(None)` when there is none in the
    /// local history (unrelated, or cut off by a shallow clone).
    fn merge_base(&self, a: &str, b: &str) -> Result<Option<String>, GitError>;

    /// The id of `commit`'s tree (full hex).
    fn tree_id(&self, commit: &str) -> Result<String, GitError>;

    /// [`Checkout::list_files`] without blob sizes (faster: no object reads).
    fn list_files_without_sizes(&self, commit: &str) -> Result<Vec<TreeEntry>, GitError> {
        self.list_files(commit)
    }

    /// A directory this checkout keeps caches in (the developer's per-tree index), if any.
    fn cache_dir(&self) -> Option<std::path::PathBuf> {
        None
    }

    /// The pull request diff as GitHub shows it (`base...head`): from the merge base when
    /// it can be found, else from `base` itself, saying which. Fails with
    /// [`GitError::MissingCommit`] when either commit is absent (fall back to the API).
    fn pr_diff(&self, base: &str, head: &str) -> Result<PrDiff, GitError> {
        for sha in [base, head] {
            if !self.has_commit(sha) {
                return Err(GitError::MissingCommit {
                    sha: sha.to_owned(),
                });
            }
        }
        let from = match self.merge_base(base, head) {
            Ok(Some(sha)) => PrDiffBase::MergeBase { sha },
            // A shallow boundary can make the walk fail; the plain diff is still honest.
            Ok(None) | Err(_) => PrDiffBase::Base {
                sha: base.to_owned(),
            },
        };
        let diff = self.diff(from.sha(), head)?;
        Ok(PrDiff {
            from,
            head: head.to_owned(),
            diff,
        })
    }
}
