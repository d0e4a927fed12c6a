//! Where one case runs: a fresh directory under the system temp dir (`TMPDIR`) holding its own
//! local forge, the forge's checkout and the finished tree the hidden tests run in. It is removed
//! when the case ends, whatever happened, so a run leaves nothing behind and writes nowhere else.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;

use super::Server;
use super::cases::{Case, Files};
use super::measure::CaseResult;
use crate::config::{CliOverrides, Config};
use crate::forge::local::LocalForge;
use crate::forge::{FileChange, Forge, ForgeRead, NewCommit, NewPullRequest};
use crate::host::{DiskRepo, ProcessTests, SystemClock};
use crate::llm::{CallRecord, Ledger, Llm, LlmSettings, PromptLibrary};
use crate::roles::context::{RoleContext, RunInfo};
use crate::tasks::{TaskId, TaskMeta};
use crate::vocab::Role;

pub const BRANCH: &str = "main";
/// The task every case is about.
pub const TASK: TaskId = TaskId(1);

/// A temp directory removed on drop.
pub struct Sandbox {
    dir: PathBuf,
}

impl Sandbox {
    pub fn new(label: &str) -> anyhow::Result<Sandbox> {
        let mut random = [0u8; 6];
        getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let safe: String = label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(40)
            .collect();
        let dir =
            std::env::temp_dir().join(format!("{}{}-{safe}", own_prefix(), hex::encode(random)));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating the case's temp directory {}", dir.display()))?;
        Ok(Sandbox { dir })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

/// The name every sandbox of this process starts with.
fn own_prefix() -> String {
    format!("codex-eval-{}-", std::process::id())
}

/// Removes every sandbox this process made that is still there (a cancelled run exits without
/// dropping them).
pub fn remove_all() {
    let prefix = own_prefix();
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The task file of a case, as `tasks/T-0001-<slug>.md` with `status`.
pub fn task_file(case: &Case, status: &str) -> (String, String) {
    let s = &case.spec;
    let mut meta = TaskMeta::new(TASK, s.title.trim());
    meta.acceptance = s.acceptance.clone();
    meta.files = s.files.clone();
    meta.status = status.to_string();
    let body = if s.body.trim().is_empty() {
        format!("{}\n", s.title.trim())
    } else {
        s.body.clone()
    };
    (
        format!(
            "tasks/{}",
            crate::tasks::task_file_name(TASK, s.title.trim())
        ),
        crate::tasks::render_task(&meta, &body),
    )
}

fn changes(files: &Files) -> Vec<FileChange> {
    files
        .iter()
        .map(|(p, b)| FileChange::write(p.as_str(), b.as_slice()))
        .collect()
}

/// A local forge in `sandbox/forge` whose `main` holds the case's repository (plus `extra`).
pub fn forge(
    sandbox: &Sandbox,
    case: &Case,
    extra: &[(String, String)],
) -> anyhow::Result<LocalForge> {
    let mut files = changes(&case.repo);
    files.extend(
        extra
            .iter()
            .map(|(p, t)| FileChange::write(p.as_str(), t.as_bytes())),
    );
    let dir = sandbox.path().join("forge");
    let (forge, _) = LocalForge::create(
        &dir,
        &case.name,
        BRANCH,
        "codex-orchestrator eval",
        |store| {
            crate::forge::local::import::first_commit(
                store,
                BRANCH,
                &files,
                "eval case: the repository",
            )
        },
    )
    .with_context(|| format!("creating the local forge for case {}", case.name))?;
    Ok(forge)
}

/// A Reviewer case's pull request: `head/` committed on the task's branch, opened against
/// `main`. Returns its number.
pub async fn open_pull_request(
    forge: &LocalForge,
    case: &Case,
    config: &Config,
) -> anyhow::Result<u64> {
    let base = forge
        .branch(BRANCH)
        .await?
        .context("the case's forge has no main branch")?;
    let sha = forge
        .create_commit(&NewCommit {
            parent: base,
            message: format!("{TASK}: {}", case.spec.title.trim()),
            changes: changes(&case.head),
            author: None,
        })
        .await?;
    let branch = crate::tasks::naming::branch_with_prefix(
        &config.workflow.branch_prefix,
        TASK,
        &case.spec.title,
    );
    forge.create_branch(&branch, &sha).await?;
    let pr = forge
        .create_pull_request(&NewPullRequest {
            title: case
                .spec
                .pr_title
                .clone()
                .unwrap_or_else(|| format!("{TASK}: {}", case.spec.title.trim())),
            head: branch,
            base: BRANCH.to_string(),
            body: case
                .spec
                .pr_body
                .clone()
                .unwrap_or_else(|| format!("Implements {TASK}.\n\nTask: {TASK}\n")),
            draft: false,
        })
        .await?;
    Ok(pr.number)
}

/// The configuration a case runs under: the case repository's own `.llm-team.yml` (no
/// environment: the case decides its rules), with the server settings of this run and `model`
/// for `role`.
pub fn config(
    checkout: &Path,
    llm: &LlmSettings,
    role: Role,
    model: &str,
) -> anyhow::Result<Config> {
    let effective = crate::config::resolve(checkout, None, &|_| None, &CliOverrides::default())
        .context("reading the case's .llm-team.yml")?;
    let mut config = effective.config;
    config.llm = llm.clone();
    config.roles.get_mut(role).model = Some(model.to_string());
    Ok(config)
}

/// Copies the checkout's files (not its `.git`) to `to`, then writes `overlay` over them.
pub fn finished_tree(
    checkout: &Path,
    to: &Path,
    overlay: &[(String, Option<Vec<u8>>)],
) -> anyhow::Result<()> {
    copy_dir(checkout, to)?;
    for (path, content) in overlay {
        let clean = crate::forge::local::store::clean_path(path)
            .map_err(|e| anyhow::anyhow!("{path:?}: {e}"))?;
        let target = to.join(&clean);
        match content {
            Some(bytes) => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&target, bytes)
                    .with_context(|| format!("writing {}", target.display()))?;
            }
            None => {
                let _ = std::fs::remove_file(&target);
            }
        }
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if entry.file_name() == ".git" || kind.is_symlink() {
            continue;
        }
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// What every case run starts from: the case, the model under test, the eval's server and the
/// case's own sandbox.
#[derive(Clone, Copy)]
pub struct CaseRun<'a> {
    pub case: &'a Case,
    pub model: &'a str,
    pub server: &'a Server,
    pub sandbox: &'a Sandbox,
}

impl CaseRun<'_> {
    /// The case's forge (its repository plus `extra` on `main`), a checkout of `main`, and the
    /// case's configuration with this run's server and model for `role`.
    pub fn prepare(
        &self,
        role: Role,
        extra: &[(String, String)],
    ) -> anyhow::Result<(LocalForge, PathBuf, Config)> {
        let forge = forge(self.sandbox, self.case, extra)?;
        let checkout = forge.snapshot(BRANCH)?;
        let config = config(&checkout, &self.server.llm, role, self.model)?;
        Ok((forge, checkout, config))
    }
}

/// The model side of a case run: the client over the eval's server, the ledger its calls are
/// recorded in, and the built-in prompts.
pub struct Models {
    pub ledger: Ledger,
    pub llm: Arc<dyn Llm>,
    pub library: PromptLibrary,
}

impl Models {
    pub fn connect(config: &Config, server: &Server) -> anyhow::Result<Models> {
        let ledger = Ledger::default();
        let llm = crate::llm::connect(&config.llm, ledger.clone(), server.secrets.clone())?;
        Ok(Models {
            ledger,
            llm,
            library: PromptLibrary::load(None)?,
        })
    }

    /// Checks that the server has `model`, then starts the case's clock.
    pub async fn preflight(&self, model: &str) -> anyhow::Result<Instant> {
        let started = Instant::now();
        self.llm
            .preflight(&[model.to_string()])
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(started)
    }

    /// Stops the clock into `result` and adds the calls made so far; returns those calls.
    pub fn record(&self, started: Instant, result: &mut CaseResult) -> Vec<CallRecord> {
        result.seconds = started.elapsed().as_secs_f64();
        let calls = self.ledger.records();
        result.add_calls(&calls);
        calls
    }
}

/// What a role run in a case's forge gets besides the forge and the configuration: the run's
/// identity, the case's checkout as the repository, and a test runner over it.
pub struct Host {
    pub run: RunInfo,
    pub repo: DiskRepo,
    pub tests: ProcessTests,
}

impl Host {
    /// `login` is the identity the role acts as; `tests` whether the role may run the tests.
    pub fn new(
        case: &Case,
        server: &Server,
        checkout: &Path,
        login: Option<String>,
        on_pull_request: bool,
        tests: bool,
    ) -> Host {
        Host {
            run: RunInfo {
                run_id: format!("eval-{}", std::process::id()),
                repository: case.name.clone(),
                login,
                in_actions: false,
                on_pull_request,
                secrets: server.secrets.clone(),
            },
            repo: DiskRepo::new(checkout),
            tests: ProcessTests {
                root: checkout.to_path_buf(),
                sandbox: server.test_sandbox.clone(),
                enabled: tests,
            },
        }
    }

    /// The role context over the case's forge, computed from `base`.
    pub fn context<'a, F: ForgeRead>(
        &'a self,
        config: &'a Config,
        forge: &'a F,
        base: &'a str,
    ) -> RoleContext<'a, F> {
        RoleContext {
            config,
            forge,
            repo: &self.repo,
            tests: &self.tests,
            clock: &SystemClock,
            run: &self.run,
            default_branch: BRANCH,
            base,
        }
    }
}
