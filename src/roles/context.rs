//! What a role gets to work with and what it hands back. Every role has the same shape: it reads
//! through the ports in its context (configuration, the read-only forge, the checkout, the test
//! runner, the clock, the run's identity), decides, and returns the writes it wants as a change
//! set. Only the command line publishes, so no role can write on its own.

use crate::changes::ChangeSet;
use crate::config::Config;
use crate::forge::ForgeRead;
use crate::host::{Clock, Repo, TestRunner};
use crate::vocab::Role;

/// Who and where this run is.
#[derive(Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// `gh-<GITHUB_RUN_ID>` (kept across re-runs of one Actions run), `serve-<job>`, `local-…`.
    pub run_id: String,
    /// `owner/name`, or the local forge's name.
    pub repository: String,
    /// The login the token acts as: our own comments and reviews are the ones it wrote.
    pub login: Option<String>,
    /// Running inside GitHub Actions (annotations are understood).
    pub in_actions: bool,
    /// The `pull_request` event's checkout is the PR's code: its prompt overrides are not ours.
    pub on_pull_request: bool,
    /// The literal secrets of this run (its tokens): never written into a file, redacted from
    /// what the tests print.
    pub secrets: Vec<String>,
}

pub struct RoleContext<'a, F: ForgeRead> {
    pub config: &'a Config,
    /// The forge, read-only: roles return their writes instead of making them.
    pub forge: &'a F,
    pub repo: &'a dyn Repo,
    pub tests: &'a dyn TestRunner,
    pub clock: &'a dyn Clock,
    pub run: &'a RunInfo,
    pub default_branch: &'a str,
    /// The default branch's head, read once at the start: change sets are computed from it.
    pub base: &'a str,
}

impl<F: ForgeRead> RoleContext<'_, F> {
    /// An empty change set for `role`, from this run's base.
    pub fn changes(&self, role: Role) -> ChangeSet {
        ChangeSet::new(
            role,
            &self.run.repository,
            self.default_branch,
            self.base,
            &self.run.run_id,
        )
    }
}

/// What a role reports back.
#[derive(Debug, Clone)]
pub struct RoleOutput {
    /// The writes it wants (possibly none).
    pub changes: ChangeSet,
    pub task_id: Option<String>,
    /// The pull request the run was about (the reviewer's, the integrator's closed one); the
    /// ones the change set opens are known after publishing.
    pub pr_number: Option<u64>,
    pub verdict: Option<String>,
    /// Markdown for the job summary (what was read and decided; the writes are listed by the
    /// publisher).
    pub summary: String,
    /// Set when the role must fail the run (exit 1) after its change set is published.
    pub failure: Option<String>,
    /// Every model call the role made.
    pub llm_calls: Vec<crate::llm::CallRecord>,
    /// Validation findings to show as annotations (the taskmaster's).
    pub diagnostics: Vec<crate::tasks::Diagnostic>,
    /// Each model answer of the conversation and what became of it (the Developer's rounds),
    /// for the job summary's readers and `eval`'s measurements.
    pub rounds: Vec<RoundNote>,
    /// The role's structured result as JSON, when it has one (the Reviewer's verdict, criteria
    /// and findings), for `eval` and machine readers; the summary says the same in words.
    pub detail: Option<serde_json::Value>,
}

/// One model answer in a role's conversation and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoundNote {
    /// 1 = the first edit; later numbers are fixes after failing tests.
    pub round: u32,
    pub outcome: String,
    /// Whether the tests passed after this answer (`None`: not run).
    pub tests_passed: Option<bool>,
}

impl RoleOutput {
    pub fn new(changes: ChangeSet) -> RoleOutput {
        RoleOutput {
            changes,
            task_id: None,
            pr_number: None,
            verdict: None,
            summary: String::new(),
            failure: None,
            llm_calls: Vec::new(),
            diagnostics: Vec::new(),
            rounds: Vec::new(),
            detail: None,
        }
    }

    pub fn summary(mut self, text: impl Into<String>) -> RoleOutput {
        self.summary = text.into();
        self
    }
}
