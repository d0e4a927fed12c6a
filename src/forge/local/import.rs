//! Filling a new local forge: `forge init --from PATH` copies the history of a git repository's
//! `HEAD` (every commit, tree and blob reachable from it, object by object with gix), or, for a
//! plain directory or a shallow clone, its current files as one first commit. The demo uses the
//! same first-commit path with files embedded in the binary.

use std::collections::HashSet;
use std::path::Path;

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::objs::Write as _;

use super::store::{Store, local, signature};
use crate::forge::{FileChange, Result};

/// What an import brought in.
#[derive(Debug, Clone)]
pub struct Imported {
    pub branch: String,
    pub head: ObjectId,
    pub commits: usize,
    /// Entries that were not imported (symlinks, special files, submodules in a plain directory).
    pub skipped: Vec<String>,
    pub how: &'static str,
}

/// The branch a source repository's `HEAD` names (`main` when detached or unreadable).
pub fn source_branch(path: &Path) -> Option<String> {
    let repo = gix::open(path).ok()?;
    let name = repo.head_name().ok()??;
    Some(name.shorten().to_str_lossy().into_owned())
}

/// Copies `HEAD`'s history from the repository at `src` into `store` and points `branch` at it.
/// Falls back to a one-commit import of the files for plain directories and shallow clones.
pub fn import(store: &Store, src: &Path, branch: &str) -> Result<Imported> {
    let source = match gix::open(src) {
        Ok(repo) => repo,
        Err(_) => return import_files(store, src, branch),
    };
    if source.is_shallow().unwrap_or(true) {
        return import_files(store, src, branch);
    }
    let head = match source.head_id() {
        Ok(id) => id.detach(),
        Err(e) => {
            return Err(local(
                format!(
                    "{} has no commit at HEAD (commit something first)",
                    src.display()
                ),
                e,
            ));
        }
    };
    let walk = source
        .rev_walk([head])
        .all()
        .map_err(|e| local(format!("walking the history of {}", src.display()), e))?;
    let mut seen = HashSet::new();
    let mut commits = 0;
    for info in walk {
        let info =
            info.map_err(|e| local(format!("walking the history of {}", src.display()), e))?;
        let commit = source
            .find_commit(info.id)
            .map_err(|e| local(format!("reading commit {}", info.id), e))?;
        let tree = commit
            .tree_id()
            .map_err(|e| local(format!("reading commit {}", info.id), e))?
            .detach();
        copy_tree(&source, store, tree, &mut seen)?;
        copy_object(&source, store, info.id)?;
        commits += 1;
    }
    store.set_branch(branch, None, head, "import")?;
    Ok(Imported {
        branch: branch.to_string(),
        head,
        commits,
        skipped: Vec::new(),
        how: "history of HEAD",
    })
}

fn copy_object(source: &gix::Repository, store: &Store, id: ObjectId) -> Result<()> {
    if store.repo().has_object(id) {
        return Ok(());
    }
    let object = source
        .find_object(id)
        .map_err(|e| local(format!("reading object {id}"), e))?;
    store
        .repo()
        .objects
        .write_buf(object.kind, &object.data)
        .map_err(|e| local(format!("writing object {id}"), e))?;
    Ok(())
}

fn copy_tree(
    source: &gix::Repository,
    store: &Store,
    tree: ObjectId,
    seen: &mut HashSet<ObjectId>,
) -> Result<()> {
    if !seen.insert(tree) {
        return Ok(());
    }
    let entries: Vec<(bool, bool, ObjectId)> = {
        let t = source
            .find_tree(tree)
            .map_err(|e| local(format!("reading tree {tree}"), e))?;
        let decoded = t
            .decode()
            .map_err(|e| local(format!("reading tree {tree}"), e))?;
        decoded
            .entries
            .iter()
            .map(|e| (e.mode.is_tree(), e.mode.is_commit(), e.oid.to_owned()))
            .collect()
    };
    for (is_tree, is_commit, id) in entries {
        if is_tree {
            copy_tree(source, store, id, seen)?;
        } else if !is_commit && seen.insert(id) {
            copy_object(source, store, id)?;
        }
    }
    copy_object(source, store, tree)
}

/// The files under `src` (without `.git/`) as one first commit on `branch`.
pub fn import_files(store: &Store, src: &Path, branch: &str) -> Result<Imported> {
    let mut changes = Vec::new();
    let mut skipped = Vec::new();
    walk(src, src, &mut changes, &mut skipped)?;
    if changes.is_empty() {
        return Err(local(
            format!("nothing to import from {}", src.display()),
            "it holds no regular files",
        ));
    }
    let message = format!(
        "Import {}",
        src.file_name()
            .map_or("files".into(), |n| n.to_string_lossy())
    );
    let head = first_commit(store, branch, &changes, &message)?;
    Ok(Imported {
        branch: branch.to_string(),
        head,
        commits: 1,
        skipped,
        how: "current files as one commit",
    })
}

/// `files` as the first commit of `branch`, which must not exist yet.
pub fn first_commit(
    store: &Store,
    branch: &str,
    files: &[FileChange],
    message: &str,
) -> Result<ObjectId> {
    let tree = store.apply_changes(None, files)?;
    let commit = store.write_commit(tree, &[], message, signature(None))?;
    store.set_branch(branch, None, commit, message)?;
    Ok(commit)
}

fn walk(
    root: &Path,
    dir: &Path,
    out: &mut Vec<FileChange>,
    skipped: &mut Vec<String>,
) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| local(format!("reading {}", dir.display()), e))?
        .collect::<std::io::Result<_>>()
        .map_err(|e| local(format!("reading {}", dir.display()), e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        if entry.file_name() == ".git" {
            continue;
        }
        let kind = entry
            .file_type()
            .map_err(|e| local(format!("reading {}", path.display()), e))?;
        if kind.is_dir() {
            walk(root, &path, out, skipped)?;
        } else if kind.is_file() && entry.file_name().to_str().is_some() {
            let bytes = std::fs::read(&path)
                .map_err(|e| local(format!("reading {}", path.display()), e))?;
            out.push(FileChange {
                path: rel,
                content: Some(bytes),
                executable: is_executable(&entry),
            });
        } else {
            skipped.push(rel);
        }
    }
    Ok(())
}

#[cfg(unix)]
fn is_executable(entry: &std::fs::DirEntry) -> bool {
    use std::os::unix::fs::PermissionsExt;
    entry
        .metadata()
        .is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::DirEntry) -> bool {
    false
}
