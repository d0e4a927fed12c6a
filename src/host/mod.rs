//! The host port: what a role may use of the machine it runs on — the checkout on disk, the
//! repository's own tests, the clock — as traits, so roles never touch the disk, processes or
//! the environment themselves and tests hand them fakes. `DiskRepo`, `ProcessTests` and
//! `SystemClock` are the real ones, built once by the command line.

mod disk;
pub(crate) mod testrun;
pub(crate) mod workspace;

use std::time::Duration;

use crate::git::Checkout;
use crate::tasks::TaskSet;
use crate::vocab::Language;

pub use disk::{DiskRepo, ProcessTests, SystemClock};
pub use testrun::TestRun;

/// The repository checkout a role reads (the default branch, or a pull request's code).
pub trait Repo {
    /// Where it is, for messages.
    fn describe(&self) -> String;
    /// A file of the work tree by repository-relative path; `None` when it is absent, not a
    /// plain path inside the checkout, or reached through a symlink.
    fn read(&self, path: &str) -> Option<Vec<u8>>;
    /// The task files under `dir`, loaded and validated.
    fn tasks(&self, dir: &str, states: &[String]) -> TaskSet;
    /// The repository's main language.
    fn language(&self) -> Language;
    /// The git history of the checkout (`None`: not a git checkout).
    fn git(&self) -> Option<&dyn Checkout>;
    /// A scratch space over the work tree for the developer's edits, undone when dropped.
    fn scratch(&self) -> Box<dyn Scratch + '_>;
}

/// Edits written into the work tree so the repository's own tests see them.
pub trait Scratch {
    /// Writes (or, with `None`, deletes) a file, remembering the original first.
    fn write(&mut self, path: &str, content: Option<&[u8]>) -> std::io::Result<()>;
    /// Files that changed in the work tree besides our edits since the first write (what the
    /// tests wrote): never published, only reported. At most a few dozen names.
    fn strays(&self) -> Vec<String>;
    /// Puts every file back; returns the paths it could not restore.
    fn restore(&mut self) -> Vec<String>;
}

/// Runs the repository's test command on the checkout.
pub trait TestRunner {
    /// `false` when tests are switched off (serve mode without a sandbox): the PR's CI runs them.
    fn enabled(&self) -> bool {
        true
    }
    fn run(&self, command: &str, timeout: Duration, secrets: &[String]) -> TestRun;
}

/// The time, as seconds since the Unix epoch (claims are judged by age).
pub trait Clock {
    fn now(&self) -> u64;
}
