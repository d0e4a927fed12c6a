//! The real host: a checkout directory on disk (read without following symlinks out of it, its
//! git history through gix), the test command as a child process, and the system clock.

use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use super::testrun::{self, TestRun};
use super::workspace::Workspace;
use super::{Clock, Repo, Scratch, TestRunner};
use crate::git::{Checkout, GixCheckout};
use crate::tasks::TaskSet;
use crate::vocab::language::{Language, SKIP_DIRS, detect_language_from_paths};

pub struct DiskRepo {
    root: PathBuf,
    git: OnceLock<Option<GixCheckout>>,
}

impl DiskRepo {
    pub fn new(root: &Path) -> DiskRepo {
        DiskRepo {
            root: root.to_path_buf(),
            git: OnceLock::new(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// `root/path` when `path` is plain, relative and reaches no symlink on disk.
fn inside(root: &Path, path: &str) -> Option<PathBuf> {
    let rel = Path::new(path.trim_start_matches("./"));
    if path.is_empty() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let mut at = root.to_path_buf();
    for c in rel.components() {
        at.push(c);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return None;
        }
    }
    Some(at)
}

impl Repo for DiskRepo {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn read(&self, path: &str) -> Option<Vec<u8>> {
        std::fs::read(inside(&self.root, path)?).ok()
    }

    fn tasks(&self, dir: &str, states: &[String]) -> TaskSet {
        crate::tasks::load_repo_tasks(&self.root, dir, states)
    }

    fn language(&self) -> Language {
        detect_language(&self.root)
    }

    fn git(&self) -> Option<&dyn Checkout> {
        self.git
            .get_or_init(|| GixCheckout::open(&self.root).ok())
            .as_ref()
            .map(|c| c as &dyn Checkout)
    }

    fn scratch(&self) -> Box<dyn Scratch + '_> {
        Box::new(Workspace::new(&self.root))
    }
}

/// Detects the language of a checkout on disk (see [`detect_language_from_paths`]); looks at
/// most three directories deep and at most 10,000 entries, skipping hidden and vendored folders.
pub fn detect_language(repo_dir: &Path) -> Language {
    let mut paths = Vec::new();
    let mut stack = vec![(repo_dir.to_path_buf(), String::new(), 0)];
    while let Some((dir, prefix, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if paths.len() >= 10_000 {
                break;
            }
            let name = entry.file_name().to_string_lossy().to_string();
            let rel = format!("{prefix}{name}");
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                if depth < 3 && !name.starts_with('.') && !SKIP_DIRS.contains(&name.as_str()) {
                    stack.push((entry.path(), format!("{rel}/"), depth + 1));
                }
            } else {
                paths.push(rel);
            }
        }
    }
    detect_language_from_paths(paths)
}

/// The repository's test command as a child process in the checkout (see `testrun`), optionally
/// inside the operator's sandbox command, or switched off.
pub struct ProcessTests {
    pub root: PathBuf,
    /// Words put before `sh -c <command>` (e.g. `bwrap … --`): `CODEX_TEST_SANDBOX`.
    pub sandbox: Vec<String>,
    /// `CODEX_DEVELOPER_TESTS=off`: no test runs here.
    pub enabled: bool,
}

impl TestRunner for ProcessTests {
    fn enabled(&self) -> bool {
        self.enabled
    }

    fn run(&self, command: &str, timeout: Duration, secrets: &[String]) -> TestRun {
        testrun::run(command, &self.root, timeout, secrets, &self.sandbox)
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}
