//! The checkout as the developer's scratch space: model edits are written into the work tree so
//! the repository's own tests (with whatever the workflow installed) run on them, and every file
//! is put back exactly as it was when the run ends, whatever happened. What else changed (what
//! the tests wrote) is noticed and reported, never published. Nothing here decides what may be
//! written: `policy::change` has checked every path before `write` is called.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Edits applied to the work tree, undone on drop.
pub struct Workspace {
    root: PathBuf,
    /// Original bytes of every file touched (`None`: it did not exist).
    originals: BTreeMap<String, Option<Vec<u8>>>,
    /// Directories this run created, deepest last.
    created_dirs: Vec<PathBuf>,
    /// The work tree's files (size, modified time) before the first write, to tell what else
    /// changed later.
    baseline: Option<BTreeMap<String, (u64, Option<std::time::SystemTime>)>>,
}

/// At most this many files are looked at when noticing what the tests wrote.
const SNAPSHOT_FILES: usize = 100_000;

/// (size, mtime) of every file under `root` (skipping `.git`), bounded.
fn snapshot(root: &Path) -> BTreeMap<String, (u64, Option<std::time::SystemTime>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if out.len() >= SNAPSHOT_FILES {
                return out;
            }
            let name = entry.file_name().to_string_lossy().to_string();
            if prefix.is_empty() && name == ".git" {
                continue;
            }
            let rel = format!("{prefix}{name}");
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() && !entry.file_type().is_ok_and(|t| t.is_symlink()) {
                stack.push((entry.path(), format!("{rel}/")));
            } else {
                out.insert(rel, (meta.len(), meta.modified().ok()));
            }
        }
    }
    out
}

impl Workspace {
    pub fn new(root: &Path) -> Workspace {
        Workspace {
            root: root.to_path_buf(),
            originals: BTreeMap::new(),
            created_dirs: Vec::new(),
            baseline: None,
        }
    }

    /// The file's current text in the work tree (`None`: absent or not UTF-8 text).
    #[cfg(test)]
    pub fn read(&self, path: &str) -> Option<String> {
        let full = self.inside(path).ok()?;
        std::fs::read(full)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    }

    /// Writes (or, with `None`, deletes) a file, remembering the original first. Refuses any
    /// path that leaves the work tree or passes through a symlink on disk.
    pub fn write(&mut self, path: &str, content: Option<&[u8]>) -> std::io::Result<()> {
        let full = self.inside(path)?;
        if self.baseline.is_none() {
            self.baseline = Some(snapshot(&self.root));
        }
        if !self.originals.contains_key(path) {
            let before = match std::fs::read(&full) {
                Ok(b) => Some(b),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            };
            self.originals.insert(path.to_string(), before);
        }
        match content {
            Some(bytes) => {
                if let Some(parent) = full.parent() {
                    self.create_dirs(parent)?;
                }
                std::fs::write(&full, bytes)
            }
            None => match std::fs::remove_file(&full) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            },
        }
    }

    /// Puts every touched file back; returns the paths it could not restore.
    pub fn restore(&mut self) -> Vec<String> {
        let mut failed = Vec::new();
        for (path, original) in std::mem::take(&mut self.originals) {
            let full = self.root.join(&path);
            let r = match &original {
                Some(bytes) => std::fs::write(&full, bytes),
                None => match std::fs::remove_file(&full) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    other => other,
                },
            };
            if r.is_err() {
                failed.push(path);
            }
        }
        for dir in std::mem::take(&mut self.created_dirs).into_iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
        failed
    }

    /// `root/path`, after checking that no component escapes and no existing component is a
    /// symlink.
    fn inside(&self, path: &str) -> std::io::Result<PathBuf> {
        let refuse = |why: &str| {
            std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("refusing to write {path:?} in the work tree: {why}"),
            )
        };
        let rel = Path::new(path);
        if path.is_empty() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(refuse("not a plain relative path"));
        }
        let mut at = self.root.clone();
        for c in rel.components() {
            at.push(c);
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(refuse("it goes through a symlink"));
                }
                _ => {}
            }
        }
        Ok(at)
    }

    fn create_dirs(&mut self, dir: &Path) -> std::io::Result<()> {
        let mut missing = Vec::new();
        let mut at = dir.to_path_buf();
        while !at.exists() && at.starts_with(&self.root) && at != self.root {
            missing.push(at.clone());
            if !at.pop() {
                break;
            }
        }
        for d in missing.into_iter().rev() {
            std::fs::create_dir(&d)?;
            self.created_dirs.push(d);
        }
        Ok(())
    }
}

impl crate::host::Scratch for Workspace {
    fn write(&mut self, path: &str, content: Option<&[u8]>) -> std::io::Result<()> {
        Workspace::write(self, path, content)
    }

    fn strays(&self) -> Vec<String> {
        let Some(before) = &self.baseline else {
            return Vec::new();
        };
        let after = snapshot(&self.root);
        let ours = |p: &str| {
            self.originals.contains_key(p)
                || self
                    .created_dirs
                    .iter()
                    .any(|d| d.strip_prefix(&self.root).is_ok_and(|r| r == Path::new(p)))
        };
        let mut out: Vec<String> = after
            .iter()
            .filter(|(p, meta)| !ours(p) && before.get(*p) != Some(meta))
            .map(|(p, _)| p.clone())
            .chain(
                before
                    .keys()
                    .filter(|p| !after.contains_key(*p) && !ours(p))
                    .map(|p| format!("{p} (deleted)")),
            )
            .collect();
        out.truncate(50);
        out
    }

    fn restore(&mut self) -> Vec<String> {
        Workspace::restore(self)
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let failed = self.restore();
        if !failed.is_empty() {
            tracing::error!(
                "could not restore {} in the checkout; run `git checkout -- .` there",
                failed.join(", ")
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_undone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "old").unwrap();
        {
            let mut ws = Workspace::new(dir.path());
            ws.write("a.txt", Some(b"new")).unwrap();
            ws.write("deep/er/b.txt", Some(b"b")).unwrap();
            assert_eq!(ws.read("a.txt").as_deref(), Some("new"));
            assert!(ws.write("../x", Some(b"x")).is_err());
            assert!(ws.write("/etc/x", Some(b"x")).is_err());
        }
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.txt")).unwrap(),
            "old"
        );
        assert!(!dir.path().join("deep").exists());
    }

    #[test]
    fn notices_what_else_changed() {
        use crate::host::Scratch as _;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        std::fs::write(dir.path().join("b.txt"), "b").unwrap();
        let mut ws = Workspace::new(dir.path());
        ws.write("a.txt", Some(b"edited")).unwrap();
        std::fs::write(dir.path().join("b.txt"), "tests changed me").unwrap();
        std::fs::write(dir.path().join("new.log"), "x").unwrap();
        let strays = ws.strays();
        assert_eq!(strays, ["b.txt", "new.log"], "{strays:?}");
    }

    #[test]
    fn symlinks_on_disk_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        let mut ws = Workspace::new(dir.path());
        assert!(ws.write("link/x", Some(b"x")).is_err());
        assert!(!outside.path().join("x").exists());
    }
}
