//! `demo`: the whole loop in one command, offline. Puts the sample repository in a local forge,
//! then runs Taskmaster → (merge) → Developer → Reviewer → (merge) → Integrator → (merge), each
//! role through the same `run` code path a workflow uses, and prints what each read and wrote.
//! The demo plays the human who clicks merge. Re-running it in the same directory resumes: every
//! step is idempotent, so a finished demo changes nothing and opens no second pull request.

mod model;
mod sample;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;

use super::Failure;
use super::args::{Global, RunArgs};
use super::context::Context;
use super::forge::{self, ForgeChoice};
use crate::actions::Runner;
use crate::config::MergeStrategy;
use crate::forge::local::LocalForge;
use crate::forge::local::records::PullRecord;
use crate::forge::{Forge, ForgeRead, MergeMethod, PrState};
use crate::policy::Guarded;
use crate::vocab::branches::SEED_PREFIX;

pub fn run(global: &Global, dir: Option<&Path>) -> Result<u8, Failure> {
    let started = Instant::now();
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => default_dir(),
    };
    let mut demo = Demo::start(global, &dir).map_err(Failure::usage)?;
    if demo.dry {
        return match demo.dry_step() {
            Ok(()) => Ok(0),
            Err(e) => Err(Failure { code: 1, error: e }),
        };
    }
    match demo.steps().and_then(|()| demo.finish(started)) {
        Ok(()) => Ok(0),
        Err(e) => {
            println!(
                "\nThe demo stopped: {e:#}\nEach role's job summary and run report are in {}.",
                demo.logs.display()
            );
            Err(Failure { code: 1, error: e })
        }
    }
}

fn default_dir() -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    std::env::temp_dir().join(format!(
        "codex-orchestrator-demo-{stamp}-{}",
        std::process::id()
    ))
}

struct Demo {
    global: Global,
    dir: PathBuf,
    /// Job summaries, step outputs and run reports, one set per role run.
    logs: PathBuf,
    step: usize,
    model: Option<(String, crate::llm::ApiKind)>,
    /// `--dry-run` or `--mode observe`: the first step is planned and printed, nothing written.
    dry: bool,
    /// The seed task the loop closes (known once the Taskmaster has proposed it).
    task: String,
}

struct State {
    pulls: Vec<PullRecord>,
    branches: Vec<(String, gix::ObjectId)>,
}

/// What a role run reported (the JSON run report `run` writes).
#[derive(serde::Deserialize)]
struct RunReport {
    outcome: String,
    error: Option<String>,
    verdict: Option<String>,
    task_id: Option<String>,
}

impl Demo {
    fn start(global: &Global, dir: &Path) -> anyhow::Result<Demo> {
        let resumed = dir.join(crate::forge::local::records::META_FILE).is_file();
        if resumed {
            LocalForge::open(dir)?;
            println!(
                "Resuming the demo in {} (every step is idempotent: finished steps change nothing).",
                dir.display()
            );
        } else {
            LocalForge::create(
                dir,
                sample::NAME,
                sample::BRANCH,
                "codex-orchestrator demo",
                |store| {
                    crate::forge::local::import::first_commit(
                        store,
                        sample::BRANCH,
                        &sample::changes(),
                        "Initial commit: sample-python-app",
                    )
                },
            )?;
            println!("codex-orchestrator demo: the whole loop on a local forge, no GitHub.\n");
            println!(
                "Local forge {}: {} on `{}` ({} files: {}).",
                dir.display(),
                sample::NAME,
                sample::BRANCH,
                sample::FILES.len(),
                sample::FILES
                    .iter()
                    .map(|(p, _)| *p)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!(
                "  Its .llm-team.yml sets `developer.allow_workflow_setup: true`: .github/ is protected, and the\n  \
                 first task (basic CI) must add .github/workflows/ci.yml; the opt-in opens exactly that file."
            );
        }
        let model = match model::probe() {
            model::Probe::Use { url, model, api } => {
                println!(
                    "Model: {url} answers and has {model}; the planner and the reviewer use it{}.",
                    match api {
                        crate::llm::ApiKind::Ollama => "",
                        crate::llm::ApiKind::Openai => " (OpenAI-compatible API)",
                    }
                );
                Some((model, api))
            }
            model::Probe::NoModel { why } => {
                println!("Model: none ({why}); every role takes its deterministic path.");
                None
            }
        };
        let logs = dir.join("demo");
        std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
        Ok(Demo {
            global: global.clone(),
            dir: dir.to_path_buf(),
            logs,
            step: 0,
            model,
            dry: global.dry_run || global.mode == Some(crate::config::Mode::Observe),
            task: "T-0001".into(),
        })
    }

    /// The global flags for a step: this forge, its own checkout and configuration, and real
    /// writes only inside the demo's directory — none at all with `--dry-run`/`--mode observe`.
    fn sandbox(&self) -> Global {
        Global {
            forge: Some(ForgeChoice::Local(self.dir.clone())),
            repo_dir: None,
            config: None,
            mode: Some(if self.dry {
                crate::config::Mode::Observe
            } else {
                crate::config::Mode::Pr
            }),
            dry_run: self.dry,
            ..self.global.clone()
        }
    }

    /// `--dry-run`/`--mode observe`: the Taskmaster's change set is planned and printed; every
    /// later step needs that pull request merged, so the demo stops there.
    fn dry_step(&mut self) -> anyhow::Result<()> {
        println!("Dry run: each step prints the change set it would publish and writes nothing.");
        self.role("taskmaster", None)?;
        println!(
            "
The later steps (developer, reviewer, integrator) need the Taskmaster's pull request merged, which a
             dry run does not do, so the demo stops here. Run `codex-orchestrator demo` without --dry-run to play the
             whole loop in {}.",
            self.dir.display()
        );
        Ok(())
    }

    fn forge(&self) -> anyhow::Result<LocalForge> {
        Ok(LocalForge::open(&self.dir)?)
    }

    fn steps(&mut self) -> anyhow::Result<()> {
        // Pull requests are found by their branches, so a resumed demo finds the first run's.
        self.role("taskmaster", None)?;
        let seed_pr = self
            .find_pr(|p| p.head_ref.starts_with(SEED_PREFIX))?
            .context("the taskmaster opened no seed pull request")?;
        // The seed's id is T-0001 unless something else already took it.
        self.task = seed_pr
            .head_ref
            .strip_prefix(SEED_PREFIX)
            .unwrap_or("T-0001")
            .to_string();
        if self.model.is_some() {
            // The planner's pull request stays open: its tasks are proposals for a person to
            // merge, and the loop below runs on the seed task either way. Its ids never
            // collide with the seed's.
            if let Err(e) = self.role("planner", None) {
                println!(
                    "  note:  the planner did not finish ({e:#}); the loop goes on without it"
                );
            }
        } else {
            self.heading(
                "Planner",
                "skipped: it needs a model (docs/PRD.md is there for it when one answers)",
            );
        }
        self.merge(seed_pr.number)?;
        self.role("developer", None)?;
        let task = self.task.clone();
        let dev_pr = self
            .find_pr(|p| {
                p.head_ref.contains(&format!("{task}-")) && !p.head_ref.starts_with(SEED_PREFIX)
            })?
            .context("the developer opened no pull request")?;
        self.role("reviewer", Some(dev_pr.number))?;
        self.merge(dev_pr.number)?;
        self.role("integrator", Some(dev_pr.number))?;
        let integration_pr = self
            .find_pr(|p| p.head_ref == format!("integrate/{task}"))?
            .context("the integrator opened no integration pull request")?;
        self.merge(integration_pr.number)?;
        Ok(())
    }

    fn heading(&mut self, what: &str, note: &str) {
        self.step += 1;
        println!("\n[{}] {what}: {note}", self.step);
    }

    fn find_pr(&self, pick: impl Fn(&PullRecord) -> bool) -> anyhow::Result<Option<PullRecord>> {
        Ok(self
            .forge()?
            .pull_records()?
            .into_iter()
            .filter(|p| pick(p))
            .max_by_key(|p| p.number))
    }

    /// Runs `role` exactly as `codex-orchestrator --forge local:DIR run --role ROLE` does.
    fn role(&mut self, role: &str, pr: Option<u64>) -> anyhow::Result<()> {
        let n = self.step + 1;
        let global = forge::local_checkout(&self.sandbox())?;
        let checkout = global.repo_dir.clone().unwrap_or_default();
        let mut ctx = Context::load(&global)?;
        let base = |name: &str| self.logs.join(format!("{n}-{role}.{name}"));
        let _ = std::fs::remove_file(base("summary.md"));
        ctx.runner = Runner {
            in_actions: false,
            output_file: Some(base("outputs")),
            summary_file: Some(base("summary.md")),
        };
        // What the probe found wins over the environment (LLM_*_MODEL), so the transcript's
        // "no model" is true and a model that is not there cannot fail the run.
        let roles = &mut ctx.effective.config.roles;
        for r in [
            &mut roles.planner,
            &mut roles.taskmaster,
            &mut roles.developer,
            &mut roles.reviewer,
        ] {
            r.model = Some(crate::llm::NO_MODEL.to_string());
        }
        if let Some((m, api)) = &self.model {
            ctx.effective.config.llm.api = *api;
            let roles = &mut ctx.effective.config.roles;
            roles.reviewer.model = Some(m.clone());
            roles.planner.model = Some(m.clone());
        }
        let mut args = RunArgs::for_role(role);
        args.pr = pr;
        args.report = Some(base("report.json"));
        let before = self.state()?;
        let clock = Instant::now();
        let result = super::run_cmd::run(&ctx, &args);
        let took = clock.elapsed();
        let report: RunReport = serde_json::from_slice(
            &std::fs::read(base("report.json"))
                .with_context(|| format!("reading the {role} run report"))?,
        )
        .with_context(|| format!("reading the {role} run report"))?;
        let mut title = role.to_string();
        title[..1].make_ascii_uppercase();
        self.heading(
            &title,
            &format!("{} in {} ms", report.outcome, took.as_millis()),
        );
        let commit = checkout
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "  read:  the checkout of `{}` at {} ({})",
            sample::BRANCH,
            short(&commit),
            read_what(role)
        );
        if let Err(f) = result {
            anyhow::bail!(
                "{role} failed: {:#}{}",
                f.error,
                report.error.map(|e| format!(" ({e})")).unwrap_or_default()
            );
        }
        let wrote = self.describe(&before, &report)?;
        if wrote && role == "reviewer" && report.verdict.as_deref() == Some("request_changes") {
            println!(
                "  note:  a person decides on a blocking verdict (here: the workflow file under the protected .github/);\n         \
                 the demo plays that maintainer and merges"
            );
        }
        Ok(())
    }

    /// The forge's pull requests and branches, to tell what a step wrote.
    fn state(&self) -> anyhow::Result<State> {
        let forge = self.forge()?;
        let branches = forge.branches()?;
        Ok(State {
            pulls: forge.pull_records()?,
            branches,
        })
    }

    /// What the role wrote: the difference between the forge before and after it.
    fn describe(&self, before: &State, report: &RunReport) -> anyhow::Result<bool> {
        let after = self.state()?;
        let forge = self.forge()?;
        let rt = runtime()?;
        let mut wrote = false;
        for (name, sha) in &after.branches {
            if !before.branches.iter().any(|(n, s)| n == name && s == sha) {
                let verb = if before.branches.iter().any(|(n, _)| n == name) {
                    "moved"
                } else {
                    "created"
                };
                println!(
                    "  wrote: branch `{name}` {verb} → {}",
                    short(&sha.to_string())
                );
                wrote = true;
            }
        }
        for pr in &after.pulls {
            let old = before.pulls.iter().find(|p| p.number == pr.number);
            if old.is_none() {
                println!(
                    "  wrote: PR #{} \"{}\" ({} → {}){}",
                    pr.number,
                    pr.title,
                    pr.head_ref,
                    pr.base_ref,
                    report
                        .task_id
                        .as_deref()
                        .map(|t| format!(", task {t}"))
                        .unwrap_or_default()
                );
                for f in rt.block_on(forge.pull_request_files(pr.number))? {
                    println!(
                        "         {} {} (+{} -{})",
                        f.status, f.path, f.additions, f.deletions
                    );
                }
                wrote = true;
            }
            for c in &pr.comments {
                let was = old.and_then(|o| o.comments.iter().find(|x| x.id == c.id));
                if was.is_some_and(|w| w.body == c.body) {
                    continue;
                }
                let verb = if was.is_some() { "edited" } else { "posted" };
                println!(
                    "  wrote: comment {} {verb} on PR #{}{}",
                    c.id,
                    pr.number,
                    report
                        .verdict
                        .as_deref()
                        .map(|v| format!("; verdict: {v}"))
                        .unwrap_or_default()
                );
                for line in excerpt(&c.body) {
                    println!("         │ {line}");
                }
                wrote = true;
            }
        }
        if !wrote {
            println!("  wrote: nothing (already done)");
        }
        Ok(wrote)
    }

    /// The demo plays the human who reviews and clicks merge, through the same guard the roles use.
    fn merge(&mut self, number: u64) -> anyhow::Result<()> {
        let clock = Instant::now();
        let global = forge::local_checkout(&self.sandbox())?;
        let ctx = Context::load(&global)?;
        let config = &ctx.effective.config;
        let inner = self.forge()?;
        let default_branch = inner.default_branch()?;
        let guard = forge::guard(config, &default_branch)?.allow_merge(true);
        let forge = Guarded::new(inner, guard);
        let method = match config.workflow.merge_strategy {
            MergeStrategy::Squash => MergeMethod::Squash,
            MergeStrategy::Merge => MergeMethod::Merge,
            MergeStrategy::Rebase => MergeMethod::Rebase,
        };
        let rt = runtime()?;
        let pr = rt.block_on(forge.pull_request(number))?;
        let note = if pr.merged {
            "already merged".to_string()
        } else if pr.state == PrState::Closed {
            anyhow::bail!(
                "PR #{number} was closed without merging; start again in a new directory"
            );
        } else {
            let sha = rt.block_on(forge.merge_pull_request(number, method, &pr.head_sha))?;
            format!("{method:?} into `{default_branch}` → {}", short(&sha)).to_lowercase()
        };
        self.heading(
            &format!("Merge #{number}"),
            &format!("you, clicking merge ({} ms)", clock.elapsed().as_millis()),
        );
        println!("  \"{}\": {note}", pr.title);
        Ok(())
    }

    fn finish(&self, started: Instant) -> anyhow::Result<()> {
        let dir = self.dir.display();
        let git = self.dir.join(crate::forge::local::records::REPO_DIR);
        let git = git.display();
        let (status, state) = self.final_state()?;
        if status != crate::tasks::DONE {
            anyhow::bail!("the loop did not close: {state}");
        }
        let merged = self
            .forge()
            .and_then(|f| Ok(f.pull_records()?))
            .map(|p| p.iter().filter(|p| p.merged).count())
            .unwrap_or(0);
        println!(
            "\nDone in {:.2} s: {merged} pull requests merged; {state}.",
            started.elapsed().as_secs_f64()
        );
        println!(
            "\nWhere to look:\n  \
             git --git-dir {git} log --oneline --graph --all\n  \
             git --git-dir {git} show {branch}:tasks/   (then any task file)\n  \
             {dir}/pulls/N.json       each pull request with its comments and reviews\n  \
             {dir}/demo/              each role's job summary and run report\n  \
             codex-orchestrator --forge local:{dir} review --pr 2    (run any role yourself)",
            branch = sample::BRANCH
        );
        println!(
            "\nNext, on GitHub: copy examples/workflows/llm-team.yml into your repository's .github/workflows/,\n\
             pin the action to a commit, start with LLM_TEAM_MODE=observe, and point OLLAMA_BASE_URL at your\n\
             server (README: \"Install in your repository\")."
        );
        Ok(())
    }

    /// T-0001's status on the default branch, and a sentence saying so.
    fn final_state(&self) -> anyhow::Result<(String, String)> {
        let checkout = self.forge()?.snapshot(sample::BRANCH)?;
        let states: Vec<String> = crate::config::Config::default().tasks.states;
        let set = crate::tasks::load_repo_tasks(&checkout, "tasks", &states);
        let task = set
            .get(&self.task)
            .with_context(|| format!("{} is not on {}", self.task, sample::BRANCH))?;
        Ok((
            task.status().to_string(),
            format!(
                "{} is `{}` on `{}` ({})",
                self.task,
                task.status(),
                sample::BRANCH,
                task.path()
            ),
        ))
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(10)]
}

fn read_what(role: &str) -> &'static str {
    match role {
        "taskmaster" => "tasks/, the language of the code, .llm-team.yml",
        "developer" => "tasks/ for the next task, README.md, .llm-team.yml",
        "reviewer" => "the PR's diff and its task's acceptance criteria at the base commit",
        "integrator" => "the merged PR's task file on the default branch",
        _ => ".llm-team.yml",
    }
}

/// The lines of a review comment worth showing: its verdict heading and its check findings.
fn excerpt(body: &str) -> Vec<String> {
    body.lines()
        .filter(|l| l.starts_with("### ") || l.starts_with("- "))
        .take(5)
        .map(|l| {
            let mut line: String = l.chars().take(110).collect();
            if line.len() < l.len() {
                line.push('…');
            }
            line
        })
        .collect()
}
