//! Listing the files of the work tree as git sees them: tracked files plus untracked files
//! that `.gitignore` (and `.git/info/exclude`, `core.excludesFile`) does not exclude.
//! For context gathering when the developer role has written files that are not committed.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use gix::bstr::ByteSlice;

use super::error::GitError;
use super::gix_checkout::GixCheckout;

/// One file present in the work tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkTreeFile {
    /// Path relative to the work tree root, `/`-separated; lossy if not UTF-8.
    pub path: String,
    pub raw_path: Vec<u8>,
    /// In the index (tracked); false for untracked, not ignored files.
    pub tracked: bool,
}

impl GixCheckout {
    /// Tracked files that exist on disk plus untracked files not ignored, sorted by path
    /// (like `git ls-files --cached --others --exclude-standard`, minus deleted files).
    /// Nested repositories are not entered; symlinks are listed, not followed.
    pub fn list_worktree_files(&self) -> Result<Vec<WorkTreeFile>, GitError> {
        let repo = self.repo();
        let root = repo
            .workdir()
            .ok_or_else(|| GitError::backend("listing the work tree", "the repository is bare"))?
            .to_owned();
        let index = repo
            .index_or_empty()
            .map_err(|e| GitError::backend("reading the index", e))?;
        let mut excludes = repo
            .excludes(&index, None, Default::default())
            .map_err(|e| GitError::backend("reading .gitignore files", e))?;

        let tracked: std::collections::BTreeSet<Vec<u8>> = index
            .entries()
            .iter()
            .map(|e| e.path(&index).to_vec())
            .collect();
        let mut out: Vec<WorkTreeFile> = Vec::new();
        for path in &tracked {
            if std::fs::symlink_metadata(root.join(path.to_path_lossy())).is_ok() {
                out.push(file(path.clone(), true));
            }
        }

        let mut stack: Vec<Vec<u8>> = vec![Vec::new()];
        while let Some(dir) = stack.pop() {
            let abs = root.join(Path::new(std::ffi::OsStr::from_bytes(&dir)));
            let entries = std::fs::read_dir(&abs)
                .map_err(|e| GitError::backend(format!("reading {}", abs.display()), e))?;
            for entry in entries {
                let entry = entry
                    .map_err(|e| GitError::backend(format!("reading {}", abs.display()), e))?;
                let name = entry.file_name();
                if name.as_bytes() == b".git" {
                    continue;
                }
                let mut rel = dir.clone();
                if !rel.is_empty() {
                    rel.push(b'/');
                }
                rel.extend_from_slice(name.as_bytes());
                let file_type = entry
                    .file_type()
                    .map_err(|e| GitError::backend(format!("reading {}", abs.display()), e))?;
                let is_dir = file_type.is_dir();
                if tracked.contains(&rel) {
                    continue; // already listed (files and gitlinks)
                }
                let mode = if is_dir {
                    gix::index::entry::Mode::DIR
                } else if file_type.is_symlink() {
                    gix::index::entry::Mode::SYMLINK
                } else {
                    gix::index::entry::Mode::FILE
                };
                let excluded = excludes
                    .at_entry(rel.as_bstr(), Some(mode))
                    .map_err(|e| GitError::backend("matching .gitignore patterns", e))?
                    .is_excluded();
                if excluded {
                    continue;
                }
                if is_dir {
                    if !entry.path().join(".git").exists() {
                        stack.push(rel);
                    }
                } else {
                    out.push(file(rel, false));
                }
            }
        }
        out.sort_by(|a, b| a.raw_path.cmp(&b.raw_path));
        Ok(out)
    }
}

fn file(raw_path: Vec<u8>, tracked: bool) -> WorkTreeFile {
    WorkTreeFile {
        path: raw_path.to_str_lossy().into_owned(),
        raw_path,
        tracked,
    }
}
