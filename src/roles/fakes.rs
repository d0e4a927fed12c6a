//! In-memory ports for role unit tests: a read-only forge over a map of branches and files, a
//! checkout of (path, bytes) pairs, tests that never run and a fixed clock. A role run against
//! them touches no disk, process, network or environment — which is the point of the ports.

use std::collections::BTreeMap;

use super::context::{RoleContext, RunInfo};
use crate::config::Config;
use crate::forge::{
    Comment, ForgeRead, InlineComment, PrFile, PullRequest, RepoInfo, Result, Review,
};
use crate::git::Checkout;
use crate::host::{Clock, Repo, Scratch, TestRun, TestRunner};
use crate::tasks::TaskSet;
use crate::vocab::Language;

/// Branches (name → head) and the files each head holds.
#[derive(Default)]
pub struct FakeForge {
    pub branches: BTreeMap<String, String>,
    pub files: BTreeMap<(String, String), Vec<u8>>,
    pub pulls: Vec<PullRequest>,
}

impl FakeForge {
    /// A forge whose `main` is at `sha` holding `files`.
    pub fn with_main(sha: &str, files: &[(&str, &str)]) -> FakeForge {
        let mut f = FakeForge::default();
        f.branches.insert("main".into(), sha.into());
        for (p, c) in files {
            f.files
                .insert((sha.to_string(), p.to_string()), c.as_bytes().to_vec());
        }
        f
    }
}

impl ForgeRead for FakeForge {
    async fn repository(&self) -> Result<RepoInfo> {
        Ok(RepoInfo {
            full_name: "octo/app".into(),
            default_branch: "main".into(),
        })
    }
    async fn pull_request(&self, number: u64) -> Result<PullRequest> {
        self.pulls
            .iter()
            .find(|p| p.number == number)
            .cloned()
            .ok_or(crate::forge::ForgeError::NotFound {
                what: format!("pull request #{number}"),
            })
    }
    async fn find_pull_request(&self, head: &str, _all: bool) -> Result<Option<PullRequest>> {
        Ok(self.pulls.iter().find(|p| p.head_ref == head).cloned())
    }
    async fn open_pull_requests(&self, _limit: usize) -> Result<Vec<PullRequest>> {
        Ok(self.pulls.clone())
    }
    async fn pull_request_files(&self, _number: u64) -> Result<Vec<PrFile>> {
        Ok(Vec::new())
    }
    async fn pull_request_diff(&self, _number: u64) -> Result<String> {
        Ok(String::new())
    }
    async fn comments(&self, _issue: u64) -> Result<Vec<Comment>> {
        Ok(Vec::new())
    }
    async fn review_comments(&self, _number: u64) -> Result<Vec<InlineComment>> {
        Ok(Vec::new())
    }
    async fn reviews(&self, _number: u64) -> Result<Vec<Review>> {
        Ok(Vec::new())
    }
    async fn labels(&self, _issue: u64) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    async fn branch(&self, name: &str) -> Result<Option<String>> {
        Ok(self.branches.get(name).cloned())
    }
    async fn branches(&self, prefix: &str, _limit: usize) -> Result<Vec<(String, String)>> {
        Ok(self
            .branches
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .map(|(n, s)| (n.clone(), s.clone()))
            .collect())
    }
    async fn file_at(&self, path: &str, git_ref: &str) -> Result<Option<Vec<u8>>> {
        let sha = self
            .branches
            .get(git_ref)
            .cloned()
            .unwrap_or(git_ref.into());
        Ok(self.files.get(&(sha, path.to_string())).cloned())
    }
    async fn list_dir(&self, dir: &str, git_ref: &str) -> Result<Vec<String>> {
        let sha = self
            .branches
            .get(git_ref)
            .cloned()
            .unwrap_or(git_ref.into());
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        Ok(self
            .files
            .keys()
            .filter(|(s, p)| *s == sha && p.strip_prefix(&prefix).is_some_and(|r| !r.contains('/')))
            .map(|(_, p)| p.clone())
            .collect())
    }
    async fn tree_modes(&self, _sha: &str, _paths: &[String]) -> Result<BTreeMap<String, String>> {
        Ok(BTreeMap::new())
    }
    async fn is_ancestor(&self, ancestor: &str, of: &str) -> Result<bool> {
        Ok(ancestor == of)
    }
    async fn identity(&self) -> Result<Option<String>> {
        Ok(Some("codex-bot".into()))
    }
}

/// A checkout made of (path, bytes) pairs.
pub struct FakeRepo {
    pub files: BTreeMap<String, Vec<u8>>,
    pub language: Language,
}

impl Repo for FakeRepo {
    fn describe(&self) -> String {
        "a fake checkout".into()
    }
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.files.get(path).cloned()
    }
    fn tasks(&self, dir: &str, states: &[String]) -> TaskSet {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        crate::tasks::load_from_memory(
            self.files
                .iter()
                .filter(|(p, _)| p.starts_with(&prefix))
                .map(|(p, b)| (p.clone(), b.clone())),
            states,
        )
    }
    fn language(&self) -> Language {
        self.language
    }
    fn git(&self) -> Option<&dyn Checkout> {
        None
    }
    fn scratch(&self) -> Box<dyn Scratch + '_> {
        panic!("the fake checkout is read-only")
    }
}

/// Tests that are switched off.
pub struct NoTests;

impl TestRunner for NoTests {
    fn enabled(&self) -> bool {
        false
    }
    fn run(&self, command: &str, _: std::time::Duration, _: &[String]) -> TestRun {
        panic!("no test may run here, yet `{command}` was asked for")
    }
}

pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now(&self) -> u64 {
        self.0
    }
}

pub fn run_info() -> RunInfo {
    RunInfo {
        run_id: "gh-1".into(),
        repository: "octo/app".into(),
        login: Some("codex-bot".into()),
        in_actions: false,
        on_pull_request: false,
        secrets: Vec::new(),
    }
}

/// Runs `f` with a context over the fakes.
pub fn with_context<T>(
    forge: &FakeForge,
    repo: &FakeRepo,
    config: &Config,
    f: impl AsyncFnOnce(&RoleContext<'_, FakeForge>) -> T,
) -> T {
    let run = run_info();
    let base = forge.branches["main"].clone();
    let ctx = RoleContext {
        config,
        forge,
        repo,
        tests: &NoTests,
        clock: &FixedClock(1_700_000_000),
        run: &run,
        default_branch: "main",
        base: &base,
    };
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f(&ctx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::{BranchState, Write};

    const SHA: &str = "1111111111111111111111111111111111111111";

    #[test]
    fn the_taskmaster_proposes_the_seed_as_a_change_set_on_fakes() {
        let forge = FakeForge::with_main(SHA, &[("README.md", "# app\n")]);
        let repo = FakeRepo {
            files: BTreeMap::new(),
            language: Language::Python,
        };
        let out = with_context(&forge, &repo, &Config::default(), async |ctx| {
            super::super::taskmaster::run(ctx).await.unwrap()
        });
        let writes = &out.changes.writes;
        assert_eq!(writes.len(), 2, "{writes:?}");
        let Write::Commit(c) = &writes[0] else {
            panic!("{writes:?}")
        };
        assert_eq!(
            (c.branch.as_str(), c.branch_state, c.parent.as_str()),
            ("taskmaster/seed-T-0001", BranchState::New, SHA)
        );
        assert_eq!(c.files[0].path, "tasks/T-0001-ci-setup.md");
        assert!(matches!(&writes[1], Write::PullRequest(p) if p.base == "main"));
    }

    #[test]
    fn the_integrator_ignores_a_task_mentioned_in_passing() {
        let task = "---\nid: T-0003\ntitle: x\ntype: feature\npriority: P1\ndepends_on: []\nstatus: queued\nowner: unassigned\nestimate: 1h\nacceptance:\n  - a\nauto_policy: auto_merge\n---\n";
        let forge = FakeForge::with_main(SHA, &[("tasks/T-0003-x.md", task)]);
        let repo = FakeRepo {
            files: [("tasks/T-0003-x.md".to_string(), task.as_bytes().to_vec())].into(),
            language: Language::Generic,
        };
        let pr = super::super::integrator::ClosedPr {
            number: 9,
            title: "Fix a typo in the README".into(),
            body: "Unrelated to T-3 and T-0003.".into(),
            head_ref: "docs/typo".into(),
            merged: true,
        };
        let out = with_context(&forge, &repo, &Config::default(), async |ctx| {
            super::super::integrator::run(ctx, &pr).await.unwrap()
        });
        assert!(out.changes.is_empty(), "{:?}", out.changes.writes);
        assert!(out.summary.contains("names no task"), "{}", out.summary);
    }
}
