//! The checkout a role reads when the forge is local: roles read task files, the README and the
//! configuration from a directory, as they do from `actions/checkout` on a runner. A snapshot is
//! one commit's files under `DIR/checkouts/<sha>/`, plus a `.git` whose object store borrows the
//! forge's (git alternates), so the reviewer's diffs and base-commit reads work there too.
//! Snapshots are immutable and made once per commit (safe to delete); the forge is never written
//! through them.

use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::object::tree::EntryKind;

use super::store::{Store, clean_path, local};
use crate::forge::Result;

pub const CHECKOUTS_DIR: &str = "checkouts";
const DONE_MARKER: &str = "codex-orchestrator-snapshot";

/// The snapshot of `commit`, made now if it does not exist yet.
pub fn snapshot(forge_dir: &Path, store: &Store, commit: ObjectId) -> Result<PathBuf> {
    let root = forge_dir.join(CHECKOUTS_DIR);
    let dest = root.join(commit.to_string());
    if dest.join(".git").join(DONE_MARKER).is_file() {
        return Ok(dest);
    }
    let tmp = root.join(format!(".tmp-{commit}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let made = write_snapshot(&tmp, store, commit);
    let made = made.and_then(|()| match std::fs::rename(&tmp, &dest) {
        Ok(()) => Ok(()),
        // Another process made the same snapshot first: theirs is identical.
        Err(_) if dest.join(".git").join(DONE_MARKER).is_file() => Ok(()),
        Err(e) => Err(local(
            format!("creating the checkout {}", dest.display()),
            e,
        )),
    });
    if made.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    made.map(|()| dest)
}

fn write_snapshot(dir: &Path, store: &Store, commit: ObjectId) -> Result<()> {
    let io = |what: &Path, e: std::io::Error| local(format!("writing {}", what.display()), e);
    let git = dir.join(".git");
    for sub in ["objects/info", "refs/heads", "refs/tags"] {
        std::fs::create_dir_all(git.join(sub)).map_err(|e| io(&git, e))?;
    }
    let objects = std::path::absolute(store.git_dir().join("objects")).map_err(|e| io(&git, e))?;
    let files = [
        ("HEAD", format!("{commit}\n")),
        (
            "config",
            "[core]\n\trepositoryformatversion = 0\n\tbare = false\n".to_string(),
        ),
        (
            "objects/info/alternates",
            format!("{}\n", objects.display()),
        ),
        (
            "description",
            "A read-only snapshot of a local forge commit; changes here go nowhere.\n".to_string(),
        ),
    ];
    for (name, text) in files {
        std::fs::write(git.join(name), text).map_err(|e| io(&git.join(name), e))?;
    }
    let tree = store.tree_of(commit)?;
    for (path, (kind, id)) in store.flatten(tree)? {
        let Ok(rel) = clean_path(&path.to_str_lossy()) else {
            continue;
        };
        if !matches!(kind, EntryKind::Blob | EntryKind::BlobExecutable) {
            continue; // symlinks and submodules are not materialised
        }
        let target = dir.join(&rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        let mut blob = store
            .repo()
            .find_blob(id)
            .map_err(|e| local(format!("reading {rel}"), e))?;
        std::fs::write(&target, blob.take_data()).map_err(|e| io(&target, e))?;
        #[cfg(unix)]
        if kind == EntryKind::BlobExecutable {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755));
        }
    }
    std::fs::write(git.join(DONE_MARKER), format!("{commit}\n")).map_err(|e| io(&git, e))
}
