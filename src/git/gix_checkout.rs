//! The real [`Checkout`]: gix over the runner's local clone. It reads objects only (no
//! index, no work tree), so it answers for any commit the clone has, and says precisely
//! when the clone lacks one.

use std::path::Path;

use gix::ObjectId;
use gix::bstr::{BStr, ByteSlice};
use gix::object::tree::EntryKind;

use super::checkout::{Checkout, Mode, TreeEntry};
use super::diff::{ChangeKind, Diff, DiffOptions, FileDiff};
use super::error::GitError;
use super::patch::{Side, render};

/// A git repository on disk, read with gix.
pub struct GixCheckout {
    repo: gix::Repository,
    options: DiffOptions,
}

impl std::fmt::Debug for GixCheckout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GixCheckout")
            .field("git_dir", &self.repo.git_dir())
            .field("options", &self.options)
            .finish()
    }
}

impl GixCheckout {
    /// Open the repository at `path` (a work tree or a `.git`/bare directory).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, GitError> {
        let path = path.as_ref();
        let mut repo = gix::open(path).map_err(|e| GitError::Open {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        repo.object_cache_size_if_unset(32 * 1024 * 1024);
        Ok(GixCheckout {
            repo,
            options: DiffOptions::default(),
        })
    }

    pub(super) fn repo(&self) -> &gix::Repository {
        &self.repo
    }

    /// Replace the diff options.
    pub fn with_options(mut self, options: DiffOptions) -> Self {
        self.options = options;
        self
    }

    pub fn options(&self) -> &DiffOptions {
        &self.options
    }

    /// Whether the clone is shallow (history cut off, e.g. `actions/checkout` with depth 1).
    pub fn is_shallow(&self) -> Result<bool, GitError> {
        self.repo
            .is_shallow()
            .map_err(|e| GitError::backend("reading the shallow file", e))
    }

    /// Like [`Checkout::list_files`] but without blob sizes (`size: None` except where free),
    /// which skips one object-header lookup per file.
    pub fn list_files_without_sizes(&self, commit: &str) -> Result<Vec<TreeEntry>, GitError> {
        self.list(commit, false)
    }

    /// [`Checkout::read_file`] for a path given as raw bytes (names that are not UTF-8, as in
    /// [`TreeEntry::raw_path`]).
    pub fn read_file_raw(&self, commit: &str, path: &[u8]) -> Result<Option<Vec<u8>>, GitError> {
        let not_a_file = |what| GitError::NotAFile {
            commit: commit.to_owned(),
            path: path.to_str_lossy().into_owned(),
            what,
        };
        let tree = self.commit_tree(commit)?;
        let parts: Vec<&[u8]> = path
            .split(|&b| b == b'/')
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            return Err(not_a_file("directory"));
        }
        let entry = tree.lookup_entry(parts.iter().copied()).map_err(|e| {
            GitError::backend(format!("looking up {:?} in {commit}", path.as_bstr()), e)
        })?;
        let Some(entry) = entry else { return Ok(None) };
        match entry.mode().kind() {
            EntryKind::Tree => Err(not_a_file("directory")),
            EntryKind::Commit => Err(not_a_file("submodule")),
            EntryKind::Blob | EntryKind::BlobExecutable | EntryKind::Link => {
                self.blob(entry.object_id()).map(Some)
            }
        }
    }

    /// The id of `commit`'s tree (full hex): the key for caches of what a tree holds.
    pub fn tree_id(&self, commit: &str) -> Result<String, GitError> {
        Ok(self.commit_tree(commit)?.id.to_string())
    }

    /// The repository's `.git` directory (where per-repository caches may live).
    pub fn git_dir(&self) -> &Path {
        self.repo.git_dir()
    }

    /// A present commit's id, or the typed reason it is unusable.
    fn commit_id(&self, sha: &str) -> Result<ObjectId, GitError> {
        let id = parse_sha(sha)?;
        match self.repo.try_find_header(id) {
            Ok(Some(h)) if h.kind() == gix::object::Kind::Commit => Ok(id),
            Ok(Some(h)) => Err(GitError::NotACommit {
                sha: sha.to_owned(),
                kind: h.kind().to_string(),
            }),
            Ok(None) => Err(GitError::MissingCommit {
                sha: sha.to_owned(),
            }),
            Err(e) => Err(GitError::Corrupt {
                what: "object",
                sha: sha.to_owned(),
                message: e.to_string(),
            }),
        }
    }

    fn commit_tree(&self, sha: &str) -> Result<gix::Tree<'_>, GitError> {
        let id = self.commit_id(sha)?;
        let corrupt = |e: gix::Error| GitError::Corrupt {
            what: "commit",
            sha: sha.to_owned(),
            message: e.to_string(),
        };
        let commit = self.repo.find_commit(id).map_err(corrupt)?;
        let tree_id = commit.tree_id().map_err(corrupt)?.detach();
        self.repo
            .find_tree(tree_id)
            .map_err(|e| self.missing_or_corrupt("tree", tree_id, e))
    }

    fn missing_or_corrupt(&self, what: &'static str, id: ObjectId, e: gix::Error) -> GitError {
        if self.repo.has_object(id) {
            GitError::Corrupt {
                what,
                sha: id.to_string(),
                message: e.to_string(),
            }
        } else {
            GitError::MissingObject {
                sha: id.to_string(),
            }
        }
    }

    fn blob(&self, id: ObjectId) -> Result<Vec<u8>, GitError> {
        match self.repo.find_blob(id) {
            Ok(mut blob) => Ok(blob.take_data()),
            Err(e) => Err(self.missing_or_corrupt("blob", id, e)),
        }
    }

    /// Content as git diffs it: the blob, or `Subproject commit <sha>\n` for a gitlink.
    fn content(&self, mode: Mode, id: ObjectId) -> Result<Vec<u8>, GitError> {
        match mode {
            Mode::Submodule => Ok(format!("Subproject commit {id}\n").into_bytes()),
            _ => self.blob(id),
        }
    }

    /// The id as git prints it on `index` lines (see [`DiffOptions::abbrev`]). Ids that are not
    /// in this repository (a submodule's commit) get the minimum length.
    fn short_id(&self, id: ObjectId, min_len: usize) -> String {
        let hex = id.to_string();
        if let Some(n) = self.options.abbrev {
            return hex[..n.clamp(4, hex.len())].to_owned();
        }
        let unique = gix::odb::store::prefix::disambiguate::Candidate::new(id, min_len)
            .ok()
            .and_then(|c| self.repo.objects.disambiguate_prefix(c).ok().flatten());
        unique.map_or_else(
            || hex[..min_len.min(hex.len())].to_owned(),
            |p| p.to_string(),
        )
    }

    /// git's automatic abbreviation length: `core.abbrev` if set, else about half the bits of
    /// the object count in hex digits, at least 7.
    fn min_abbrev(&self) -> usize {
        let configured = self.repo.config_snapshot().integer("core.abbrev");
        if let Some(n) = configured.and_then(|n| usize::try_from(n).ok()) {
            return n.clamp(4, 40);
        }
        let count = self.repo.objects.packed_object_count().unwrap_or(0);
        ((64 - count.leading_zeros()).div_ceil(2) as usize).max(7)
    }

    fn list(&self, commit: &str, sizes: bool) -> Result<Vec<TreeEntry>, GitError> {
        let tree = self.commit_tree(commit)?;
        let mut recorder = gix::traverse::tree::Recorder::default();
        tree.traverse()
            .breadthfirst(&mut recorder)
            .map_err(|e| GitError::backend(format!("listing the tree of {commit}"), e))?;
        let mut records: Vec<_> = recorder
            .records
            .into_iter()
            .filter(|r| !r.mode.is_tree())
            .collect();
        records.sort_unstable_by(|a, b| a.filepath.cmp(&b.filepath));
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            let Some(mode) = to_mode(r.mode.kind()) else {
                continue;
            };
            let size = if sizes && mode != Mode::Submodule {
                // A blob missing locally (partial clone) just has no known size.
                let header = self
                    .repo
                    .try_find_header(r.oid)
                    .map_err(|e| GitError::Corrupt {
                        what: "blob",
                        sha: r.oid.to_string(),
                        message: e.to_string(),
                    })?;
                header.map(|h| h.size())
            } else {
                None
            };
            out.push(TreeEntry {
                path: r.filepath.to_str_lossy().into_owned(),
                raw_path: r.filepath.into(),
                mode,
                blob_id: r.oid.to_string(),
                size,
            });
        }
        Ok(out)
    }

    /// What one side of a file diff needs besides its path and mode.
    fn load(&self, (_, mode, id): &End, min_abbrev: usize) -> Result<Loaded, GitError> {
        Ok(Loaded {
            data: self.content(*mode, *id)?,
            hex: id.to_string(),
            short: self.short_id(*id, min_abbrev),
        })
    }

    fn file_diff(
        &self,
        change: gix::object::tree::diff::ChangeDetached,
        min_abbrev: usize,
    ) -> Result<Option<FileDiff>, GitError> {
        use gix::object::tree::diff::ChangeDetached as C;
        // (kind, old (path, mode, id), new (path, mode, id), similarity)
        type Sides = (ChangeKind, Option<End>, Option<End>, Option<u8>);
        // A file only on one side: added (it is new) or deleted (it is old).
        let one_sided = |added: bool, end: End| -> Sides {
            if added {
                (ChangeKind::Added, None, Some(end), None)
            } else {
                (ChangeKind::Deleted, Some(end), None, None)
            }
        };
        let added = matches!(change, C::Addition { .. });
        let (mut kind, old, new, similarity): Sides = match change {
            C::Addition {
                location,
                entry_mode,
                id,
                ..
            }
            | C::Deletion {
                location,
                entry_mode,
                id,
                ..
            } => {
                let Some(mode) = to_mode(entry_mode.kind()) else {
                    return Ok(None);
                };
                one_sided(added, (location, mode, id))
            }
            C::Modification {
                location,
                previous_entry_mode,
                previous_id,
                entry_mode,
                id,
            } => {
                match (
                    to_mode(previous_entry_mode.kind()),
                    to_mode(entry_mode.kind()),
                ) {
                    (Some(old_mode), Some(new_mode)) => (
                        ChangeKind::Modified,
                        Some((location.clone(), old_mode, previous_id)),
                        Some((location, new_mode, id)),
                        None,
                    ),
                    // tree ↔ non-tree: the children are reported separately.
                    (Some(old_mode), None) => one_sided(false, (location, old_mode, previous_id)),
                    (None, Some(new_mode)) => one_sided(true, (location, new_mode, id)),
                    (None, None) => return Ok(None),
                }
            }
            C::Rewrite {
                source_location,
                source_entry_mode,
                source_id,
                diff,
                entry_mode,
                id,
                location,
                copy,
                ..
            } => {
                let (Some(old_mode), Some(new_mode)) = (
                    to_mode(source_entry_mode.kind()),
                    to_mode(entry_mode.kind()),
                ) else {
                    return Ok(None);
                };
                let similarity = diff.map_or(100, |d| {
                    (d.similarity * 100.0).floor().clamp(0.0, 100.0) as u8
                });
                // Copies are not tracked (Rewrites::copies is None), so `copy` is false in practice.
                let kind = if copy {
                    ChangeKind::Added
                } else {
                    ChangeKind::Renamed
                };
                let old = if copy {
                    None
                } else {
                    Some((source_location, old_mode, source_id))
                };
                (
                    kind,
                    old,
                    Some((location, new_mode, id)),
                    Some(similarity).filter(|_| !copy),
                )
            }
        };
        if let (Some(o), Some(n)) = (&old, &new)
            && kind == ChangeKind::Modified
            && kind_of(o.1) != kind_of(n.1)
        {
            kind = ChangeKind::TypeChanged;
        }
        let old_loaded = old.as_ref().map(|e| self.load(e, min_abbrev)).transpose()?;
        let new_loaded = new.as_ref().map(|e| self.load(e, min_abbrev)).transpose()?;
        let old_side = old.as_ref().zip(old_loaded.as_ref()).map(side);
        let new_side = new.as_ref().zip(new_loaded.as_ref()).map(side);
        let r = render(
            old_side.as_ref(),
            new_side.as_ref(),
            kind,
            similarity,
            &self.options,
        );
        let raw_path: Vec<u8> = new
            .as_ref()
            .or(old.as_ref())
            .map(|e| e.0.to_vec())
            .unwrap_or_default();
        Ok(Some(FileDiff {
            path: raw_path.to_str_lossy().into_owned(),
            raw_path,
            old_path: if kind == ChangeKind::Renamed {
                old.as_ref().map(|o| o.0.to_str_lossy().into_owned())
            } else {
                None
            },
            change: kind,
            old_mode: old.as_ref().map(|o| o.1),
            new_mode: new.as_ref().map(|n| n.1),
            old_id: old_loaded.map(|l| l.hex),
            new_id: new_loaded.map(|l| l.hex),
            binary: r.binary,
            additions: r.additions,
            deletions: r.deletions,
            similarity,
            hunks: r.hunks,
            patch: r.patch,
            truncated: r.truncated,
        }))
    }
}

impl Checkout for GixCheckout {
    fn has_commit(&self, sha: &str) -> bool {
        self.commit_id(sha).is_ok()
    }

    fn tree_id(&self, commit: &str) -> Result<String, GitError> {
        GixCheckout::tree_id(self, commit)
    }

    fn list_files_without_sizes(&self, commit: &str) -> Result<Vec<TreeEntry>, GitError> {
        GixCheckout::list_files_without_sizes(self, commit)
    }

    fn cache_dir(&self) -> Option<std::path::PathBuf> {
        Some(self.git_dir().join("codex-orchestrator"))
    }

    fn resolve(&self, rev: &str) -> Result<String, GitError> {
        let unknown = |message: String| GitError::UnknownRevision {
            rev: rev.to_owned(),
            message,
        };
        let id = self
            .repo
            .rev_parse_single(BStr::new(rev))
            .map_err(|e| unknown(e.to_string()))?;
        let id = id.detach();
        let Some(header) = self
            .repo
            .try_find_header(id)
            .map_err(|e| unknown(e.to_string()))?
        else {
            return Err(GitError::MissingCommit {
                sha: id.to_string(),
            });
        };
        let commit_id = match header.kind() {
            gix::object::Kind::Commit => id,
            gix::object::Kind::Tag => {
                let object = self
                    .repo
                    .find_object(id)
                    .map_err(|e| unknown(e.to_string()))?;
                object
                    .peel_to_commit()
                    .map_err(|e| unknown(e.to_string()))?
                    .id
            }
            other => {
                return Err(GitError::NotACommit {
                    sha: id.to_string(),
                    kind: other.to_string(),
                });
            }
        };
        Ok(commit_id.to_string())
    }

    fn read_file(&self, commit: &str, path: &str) -> Result<Option<Vec<u8>>, GitError> {
        self.read_file_raw(commit, path.as_bytes())
    }

    fn list_files(&self, commit: &str) -> Result<Vec<TreeEntry>, GitError> {
        self.list(commit, true)
    }

    fn diff(&self, base: &str, head: &str) -> Result<Diff, GitError> {
        let old_tree = self.commit_tree(base)?;
        let new_tree = self.commit_tree(head)?;
        let mut opts = gix::diff::Options::default();
        opts.track_path();
        opts.track_rewrites(
            self.options
                .detect_renames
                .then(gix::diff::Rewrites::default),
        );
        let changes = self
            .repo
            .diff_tree_to_tree(Some(&old_tree), Some(&new_tree), Some(opts))
            .map_err(|e| GitError::backend(format!("diffing {base}..{head}"), e))?;
        let min_abbrev = self.min_abbrev();
        let mut files = Vec::with_capacity(changes.len());
        for change in changes {
            if let Some(file) = self.file_diff(change, min_abbrev)? {
                files.push(file);
            }
        }
        files.sort_by(|a, b| a.raw_path.cmp(&b.raw_path));
        Ok(Diff { files })
    }

    fn merge_base(&self, a: &str, b: &str) -> Result<Option<String>, GitError> {
        let a_id = self.commit_id(a)?;
        let b_id = self.commit_id(b)?;
        self.repo
            .merge_base(a_id, b_id)
            .map(|id| id.map(|id| id.to_string()))
            .map_err(|e| GitError::backend(format!("finding the merge base of {a} and {b}"), e))
    }
}

fn parse_sha(sha: &str) -> Result<ObjectId, GitError> {
    if sha.len() != 40 {
        return Err(GitError::InvalidSha {
            sha: sha.to_owned(),
        });
    }
    ObjectId::from_hex(sha.as_bytes()).map_err(|_| GitError::InvalidSha {
        sha: sha.to_owned(),
    })
}

fn to_mode(kind: EntryKind) -> Option<Mode> {
    match kind {
        EntryKind::Blob => Some(Mode::File),
        EntryKind::BlobExecutable => Some(Mode::Executable),
        EntryKind::Link => Some(Mode::Symlink),
        EntryKind::Commit => Some(Mode::Submodule),
        EntryKind::Tree => None,
    }
}

/// Regular files (executable or not) are one kind; a mode flip is a modification.
fn kind_of(mode: Mode) -> u8 {
    match mode {
        Mode::File | Mode::Executable => 0,
        Mode::Symlink => 1,
        Mode::Submodule => 2,
    }
}

/// One side of a changed file: its path, mode and blob (or submodule commit).
type End = (gix::bstr::BString, Mode, ObjectId);

/// A side's content and ids, loaded once for the patch renderer to borrow.
struct Loaded {
    data: Vec<u8>,
    hex: String,
    short: String,
}

fn side<'a>(((path, mode, _), loaded): (&'a End, &'a Loaded)) -> Side<'a> {
    Side {
        path: path.as_slice(),
        mode: *mode,
        id: &loaded.hex,
        short_id: &loaded.short,
        data: &loaded.data,
    }
}
