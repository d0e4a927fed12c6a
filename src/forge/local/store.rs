//! The local forge's git side: a bare repository written with gix. Objects are content-addressed,
//! so writing them is always safe; branches move only by compare-and-swap (create: must not exist;
//! update: must still be at the expected commit), the way GitHub's refs API behaves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::bstr::{BString, ByteSlice};
use gix::object::tree::EntryKind;
use gix::refs::Target;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};

use crate::forge::{FileChange, ForgeError, Result, Signature};

/// Who the local forge says made its commits and ref updates when nobody else is named.
pub const FORGE_NAME: &str = "codex-orchestrator local forge";
pub const FORGE_EMAIL: &str = "local-forge@codex-orchestrator.invalid";

/// A tree flattened to its non-directory entries: path → (kind, id).
pub type Flat = BTreeMap<BString, (EntryKind, ObjectId)>;

pub fn local(what: impl std::fmt::Display, e: impl std::fmt::Display) -> ForgeError {
    ForgeError::Local {
        message: format!("{what}: {e}"),
    }
}

/// The bare repository of a local forge.
pub struct Store {
    repo: gix::Repository,
    git_dir: PathBuf,
}

/// A signature stamped now.
pub fn signature(who: Option<&Signature>) -> gix::actor::Signature {
    let (name, email) = who.map_or((FORGE_NAME, FORGE_EMAIL), |s| {
        (s.name.as_str(), s.email.as_str())
    });
    gix::actor::Signature {
        name: name.into(),
        email: email.into(),
        time: gix::date::Time::now_utc(),
    }
}

/// A full hex id, or a local error naming what it was for.
pub fn parse_id(sha: &str) -> Result<ObjectId> {
    if sha.len() != 40 {
        return Err(ForgeError::NotFound {
            what: format!("commit {sha:?} (a full 40-hex sha is needed)"),
        });
    }
    ObjectId::from_hex(sha.as_bytes()).map_err(|_| ForgeError::NotFound {
        what: format!("commit {sha:?}"),
    })
}

fn ref_name(branch: &str) -> Result<gix::refs::FullName> {
    let full = format!(
        "refs/heads/{}",
        branch.strip_prefix("refs/heads/").unwrap_or(branch)
    );
    full.as_str()
        .try_into()
        .map_err(|e| local(format!("invalid branch name {branch:?}"), e))
}

impl Store {
    pub fn open(git_dir: &Path) -> Result<Store> {
        let repo = gix::open(git_dir).map_err(|e| {
            local(
                format!("cannot open the bare repository {}", git_dir.display()),
                e,
            )
        })?;
        Ok(Store {
            repo,
            git_dir: git_dir.to_path_buf(),
        })
    }

    /// Creates the bare repository with `HEAD` naming `default_branch` (still unborn).
    pub fn init(git_dir: &Path, default_branch: &str) -> Result<Store> {
        ref_name(default_branch)?;
        gix::init_bare(git_dir).map_err(|e| {
            local(
                format!("cannot create a bare repository at {}", git_dir.display()),
                e,
            )
        })?;
        std::fs::write(
            git_dir.join("HEAD"),
            format!("ref: refs/heads/{default_branch}\n"),
        )
        .map_err(|e| local("writing HEAD", e))?;
        Store::open(git_dir)
    }

    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    pub fn repo(&self) -> &gix::Repository {
        &self.repo
    }

    /// The branch `HEAD` names: the forge's default branch.
    pub fn default_branch(&self) -> Result<String> {
        let name = self
            .repo
            .head_name()
            .map_err(|e| local("reading HEAD", e))?
            .ok_or_else(|| {
                local(
                    "reading HEAD",
                    "HEAD is detached; it must name the default branch",
                )
            })?;
        Ok(name.shorten().to_str_lossy().into_owned())
    }

    /// Where `name` points, if the branch exists.
    pub fn branch(&self, name: &str) -> Result<Option<ObjectId>> {
        let full = ref_name(name)?;
        let found = self
            .repo
            .try_find_reference(full.as_ref())
            .map_err(|e| local(format!("reading branch {name}"), e))?;
        match found {
            None => Ok(None),
            Some(mut r) => Ok(Some(
                r.peel_to_id()
                    .map_err(|e| local(format!("reading branch {name}"), e))?
                    .detach(),
            )),
        }
    }

    /// Every branch and where it points.
    pub fn branches(&self) -> Result<Vec<(String, ObjectId)>> {
        let refs = self
            .repo
            .references()
            .map_err(|e| local("listing branches", e))?;
        let mut out = Vec::new();
        for r in refs
            .local_branches()
            .map_err(|e| local("listing branches", e))?
        {
            let mut r = r.map_err(|e| local("listing branches", e))?;
            let name = r.name().shorten().to_str_lossy().into_owned();
            let id = r
                .peel_to_id()
                .map_err(|e| local("listing branches", e))?
                .detach();
            out.push((name, id));
        }
        Ok(out)
    }

    /// Sets branch `name` to `new` if it is still at `previous` (`None`: must not exist yet).
    /// A lost race answers `BranchExists` / `BranchMoved` with the branch's current commit.
    pub fn set_branch(
        &self,
        name: &str,
        previous: Option<ObjectId>,
        new: ObjectId,
        why: &str,
    ) -> Result<()> {
        let full = ref_name(name)?;
        let edit = RefEdit {
            change: Change::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: false,
                    message: why.lines().next().unwrap_or("").into(),
                },
                expected: match previous {
                    Some(p) => PreviousValue::MustExistAndMatch(Target::Object(p)),
                    None => PreviousValue::MustNotExist,
                },
                new: Target::Object(new),
            },
            name: full,
            deref: false,
        };
        let committer = signature(None);
        let mut buf = gix::date::parse::TimeBuf::default();
        match self
            .repo
            .edit_references_as([edit], Some(committer.to_ref(&mut buf)))
        {
            Ok(_) => Ok(()),
            Err(e) => match (previous, self.branch(name)?) {
                (_, Some(now)) if now == new => Ok(()),
                (None, Some(now)) => Err(ForgeError::BranchExists {
                    branch: name.to_string(),
                    sha: now.to_string(),
                }),
                (Some(p), now) if now != Some(p) => Err(ForgeError::BranchMoved {
                    branch: name.to_string(),
                    expected: p.to_string(),
                    current: now
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "(deleted)".into()),
                }),
                _ => Err(local(format!("moving branch {name}"), e)),
            },
        }
    }

    /// `sha` as a commit id that exists here.
    pub fn commit_id(&self, sha: &str) -> Result<ObjectId> {
        let id = parse_id(sha)?;
        match self.repo.try_find_header(id) {
            Ok(Some(h)) if h.kind() == gix::object::Kind::Commit => Ok(id),
            _ => Err(ForgeError::NotFound {
                what: format!("commit {sha}"),
            }),
        }
    }

    /// A branch name (preferred) or a full commit sha, as a commit id; `None` if neither.
    pub fn resolve(&self, git_ref: &str) -> Result<Option<ObjectId>> {
        if let Ok(Some(id)) = self.branch(git_ref) {
            return Ok(Some(id));
        }
        Ok(self.commit_id(git_ref).ok())
    }

    pub fn tree_of(&self, commit: ObjectId) -> Result<ObjectId> {
        let c = self
            .repo
            .find_commit(commit)
            .map_err(|e| local(format!("reading commit {commit}"), e))?;
        Ok(c.tree_id()
            .map_err(|e| local(format!("reading commit {commit}"), e))?
            .detach())
    }

    /// The commit's parents, first parent first.
    pub fn parents(&self, commit: ObjectId) -> Result<Vec<ObjectId>> {
        let c = self
            .repo
            .find_commit(commit)
            .map_err(|e| local(format!("reading commit {commit}"), e))?;
        Ok(c.parent_ids().map(|p| p.detach()).collect())
    }

    /// The commit's message, author and committer, as stored.
    pub fn commit_object(&self, commit: ObjectId) -> Result<gix::objs::Commit> {
        let c = self
            .repo
            .find_commit(commit)
            .map_err(|e| local(format!("reading commit {commit}"), e))?;
        c.decode()
            .map_err(|e| local(format!("decoding commit {commit}"), e))?
            .try_into()
            .map_err(|e| local(format!("decoding commit {commit}"), e))
    }

    /// Writes a commit object (no branch moves).
    pub fn write_commit(
        &self,
        tree: ObjectId,
        parents: &[ObjectId],
        message: &str,
        author: gix::actor::Signature,
    ) -> Result<ObjectId> {
        let commit = gix::objs::Commit {
            tree,
            parents: parents.iter().copied().collect(),
            author,
            committer: signature(None),
            encoding: None,
            message: if message.ends_with('\n') {
                message.into()
            } else {
                format!("{message}\n").into()
            },
            extra_headers: Vec::new(),
        };
        Ok(self
            .repo
            .write_object(&commit)
            .map_err(|e| local("writing a commit", e))?
            .detach())
    }

    /// `base` (a tree, or the empty tree) with `changes` applied: blobs written, entries
    /// upserted or removed. Paths must already be clean (see `clean_path`).
    pub fn apply_changes(
        &self,
        base: Option<ObjectId>,
        changes: &[FileChange],
    ) -> Result<ObjectId> {
        let base = base.unwrap_or_else(|| ObjectId::empty_tree(self.repo.object_hash()));
        let mut editor = self
            .repo
            .edit_tree(base)
            .map_err(|e| local("reading the parent tree", e))?;
        for change in changes {
            let path = clean_path(&change.path)?;
            match &change.content {
                Some(bytes) => {
                    let blob = self
                        .repo
                        .write_blob(bytes)
                        .map_err(|e| local(format!("writing {path}"), e))?
                        .detach();
                    let kind = if change.executable {
                        EntryKind::BlobExecutable
                    } else {
                        EntryKind::Blob
                    };
                    editor
                        .upsert(path.as_str(), kind, blob)
                        .map_err(|e| local(format!("adding {path} to the tree"), e))?;
                }
                None => {
                    editor
                        .remove(path.as_str())
                        .map_err(|e| local(format!("removing {path} from the tree"), e))?;
                }
            }
        }
        Ok(editor
            .write()
            .map_err(|e| local("writing the tree", e))?
            .detach())
    }

    /// `base` with entries set (Some) or removed (None), by raw path: the merge's writer.
    pub fn edit_entries(
        &self,
        base: ObjectId,
        entries: &[(BString, Option<(EntryKind, ObjectId)>)],
    ) -> Result<ObjectId> {
        let mut editor = self
            .repo
            .edit_tree(base)
            .map_err(|e| local("reading a tree", e))?;
        for (path, entry) in entries {
            match entry {
                Some((kind, id)) => editor.upsert(path, *kind, *id),
                None => editor.remove(path),
            }
            .map_err(|e| local(format!("editing {} in a tree", path.to_str_lossy()), e))?;
        }
        Ok(editor
            .write()
            .map_err(|e| local("writing a tree", e))?
            .detach())
    }

    /// Every non-directory entry of `tree`.
    pub fn flatten(&self, tree: ObjectId) -> Result<Flat> {
        let tree = self
            .repo
            .find_tree(tree)
            .map_err(|e| local(format!("reading tree {tree}"), e))?;
        let mut recorder = gix::traverse::tree::Recorder::default();
        tree.traverse()
            .breadthfirst(&mut recorder)
            .map_err(|e| local("walking a tree", e))?;
        Ok(recorder
            .records
            .into_iter()
            .filter(|r| !r.mode.is_tree())
            .map(|r| (r.filepath, (r.mode.kind(), r.oid)))
            .collect())
    }

    pub fn merge_base(&self, a: ObjectId, b: ObjectId) -> Result<Option<ObjectId>> {
        self.repo
            .merge_base(a, b)
            .map(|id| id.map(|id| id.detach()))
            .map_err(|e| local(format!("finding the merge base of {a} and {b}"), e))
    }

    /// Whether `ancestor` is `of` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: ObjectId, of: ObjectId) -> Result<bool> {
        Ok(ancestor == of || self.merge_base(ancestor, of)? == Some(ancestor))
    }

    /// Commits reachable from `head` but not from `base`, oldest first, following first parents.
    pub fn first_parent_range(&self, base: ObjectId, head: ObjectId) -> Result<Vec<ObjectId>> {
        let stop = self.merge_base(base, head)?;
        let mut out = Vec::new();
        let mut at = Some(head);
        while let Some(c) = at {
            if Some(c) == stop {
                break;
            }
            out.push(c);
            at = self.parents(c)?.first().copied();
        }
        out.reverse();
        Ok(out)
    }
}

/// A repository path as the forge accepts it: relative, `/`-separated, no `.`/`..`/empty parts,
/// never inside `.git`. The policy guard checks the same before us; this keeps the forge itself
/// safe when used without the guard.
pub fn clean_path(path: &str) -> Result<String> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let bad = parts.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.contains('\0')
        || parts
            .iter()
            .any(|p| *p == "." || *p == ".." || p.eq_ignore_ascii_case(".git"));
    if bad {
        return Err(ForgeError::Local {
            message: format!(
                "refusing the path {path:?}: paths must be relative, without `.`, `..` or `.git` parts"
            ),
        });
    }
    Ok(parts.join("/"))
}
