//! Running one role: the forge, the host and the run's identity are built here, the role reads
//! and returns its change set, and the change set goes to exactly one place — the publisher
//! (live, or checked and printed in observe mode and dry runs) or, with `--changes-out`, a file
//! for a separate publish job. The wrap-up every role shares (model usage, API budget, what was
//! or would be written) happens once, here.

use std::path::Path;

use anyhow::Context as _;

use super::args::RunArgs;
use super::context::Context;
use super::forge::ForgeChoice;
use super::models::{self, Models};
use crate::changes::ChangeSet;
use crate::config::{Config, Mode};
use crate::event::{Event, Payload, Routing};
use crate::forge::{Forge, ForgeRead, PrState};
use crate::host::{DiskRepo, ProcessTests, SystemClock};
use crate::policy::Guarded;
use crate::publish::{self, Publish, PublishError, Published, Rules};
use crate::roles::context::{RoleContext, RoleOutput, RunInfo};
use crate::roles::developer::{self, DevModel, Pick};
use crate::roles::integrator::{self, ClosedPr};
use crate::roles::reviewer::{self, ModelSide, run::PrInfo};
use crate::roles::{Role, RoleError, taskmaster};

/// What one role run produced.
pub struct Executed {
    pub out: RoleOutput,
    /// What the publisher did (`None` when the set went to a file).
    pub published: Option<Published>,
    /// The change set in words, with what became of each write.
    pub writes_md: String,
    pub api_calls: Option<u64>,
}

/// `gh-<GITHUB_RUN_ID>` (a re-run of a job keeps it), `serve-…` from serve mode, else
/// `local-<pid>-<start time>`.
pub fn run_id() -> String {
    match std::env::var("GITHUB_RUN_ID") {
        Ok(id) if id.trim().starts_with("serve-") => id.trim().to_string(),
        Ok(id) if !id.trim().is_empty() => format!("gh-{}", id.trim()),
        _ => format!(
            "local-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        ),
    }
}

/// Whether writes really happen: `mode: pr` without a dry run and without `--changes-out`.
pub fn live(config: &Config, args: &RunArgs) -> bool {
    config.mode == Mode::Pr && !config.workflow.dry_run && args.changes_out.is_none()
}

/// The literal secrets of this run, which no published file may contain.
pub fn secrets(config: &Config) -> Vec<String> {
    config
        .github
        .token
        .iter()
        .map(|t| t.expose().to_string())
        .chain(crate::config::secret::vault("OPENAI_API_KEY"))
        .filter(|s| s.len() >= 8)
        .collect()
}

/// The test runner for this host: `CODEX_TEST_SANDBOX` (shell words put before `sh -c`) and
/// `CODEX_DEVELOPER_TESTS=off` come from the environment of the one who runs us.
fn tests(repo_dir: &Path) -> ProcessTests {
    let sandbox = std::env::var("CODEX_TEST_SANDBOX")
        .ok()
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let enabled =
        !std::env::var("CODEX_DEVELOPER_TESTS").is_ok_and(|v| v.trim().eq_ignore_ascii_case("off"));
    ProcessTests {
        root: repo_dir.to_path_buf(),
        sandbox,
        enabled,
    }
}

/// Runs one role on a single-threaded runtime, against GitHub or the local forge.
pub fn execute(
    role: Role,
    ctx: &Context,
    config: &Config,
    routing: &Routing,
    event: Option<&Event>,
    args: &RunArgs,
) -> Result<Executed, RoleError> {
    if role == Role::Planner {
        let route = config.model_routing().route(role, crate::llm::Tier::Normal);
        if route.is_deterministic() {
            return Err(RoleError::Unsupported(
                "the planner needs a model: it turns the PRD into tasks with an LLM, and its model is `none`. \
                 Set roles.planner.model in .llm-team.yml (or LLM_PLANNER_MODEL) to an Ollama model, e.g. qwen3:32b"
                    .into(),
            ));
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RoleError::Failed(e.into()))?;
    // The surroundings but the default branch, which only the forge knows.
    let on = On {
        ctx,
        config,
        routing,
        event,
        args,
        default_branch: "",
    };
    runtime.block_on(async {
        match &ctx.forge {
            ForgeChoice::GitHub => {
                let (forge, default_branch) =
                    super::forge::github(config, event, &ctx.runner).await?;
                On {
                    default_branch: &default_branch,
                    ..on
                }
                .role(role, &forge)
                .await
            }
            ForgeChoice::Local(dir) => {
                let (forge, default_branch) = super::forge::local(config, dir)?;
                On {
                    default_branch: &default_branch,
                    ..on
                }
                .role(role, &forge)
                .await
            }
        }
    })
}

/// One role run's surroundings.
struct On<'a> {
    ctx: &'a Context,
    config: &'a Config,
    routing: &'a Routing,
    event: Option<&'a Event>,
    args: &'a RunArgs,
    default_branch: &'a str,
}

impl On<'_> {
    fn on_pull_request(&self) -> bool {
        matches!(
            self.event.map(|e| &e.payload),
            Some(Payload::PullRequest(_))
        )
    }

    async fn role<F: Forge>(&self, role: Role, forge: &Guarded<F>) -> Result<Executed, RoleError> {
        // The reviewer computes from the pull request's own base (no extra request); every
        // other role from the default branch's head.
        let review_pr = match role {
            Role::Reviewer => Some(self.pr_info(forge, self.routing.pr).await?),
            _ => None,
        };
        let base = match &review_pr {
            Some(pr) => pr.base_sha.clone(),
            None => forge
                .branch(self.default_branch)
                .await
                .map_err(anyhow::Error::from)?
                .with_context(|| {
                    format!("the default branch {} does not exist", self.default_branch)
                })?,
        };
        let login = match role {
            Role::Reviewer | Role::Planner => forge.identity().await.ok().flatten(),
            _ => None,
        };
        let repository = match forge.repository_name() {
            Some(name) => name,
            None => std::env::var("GITHUB_REPOSITORY").unwrap_or_default(),
        };
        let run = RunInfo {
            run_id: run_id(),
            repository,
            login,
            in_actions: self.ctx.runner.in_actions,
            on_pull_request: self.on_pull_request(),
            secrets: secrets(self.config),
        };
        let repo = DiskRepo::new(&self.ctx.repo_dir);
        let tests = tests(&self.ctx.repo_dir);
        let rc = RoleContext {
            config: self.config,
            forge,
            repo: &repo,
            tests: &tests,
            clock: &SystemClock,
            run: &run,
            default_branch: self.default_branch,
            base: &base,
        };
        let mut done = match role {
            Role::Taskmaster => {
                let out = taskmaster::run(&rc).await?;
                self.finish(forge, out).await
            }
            Role::Integrator => self.integrate(&rc, forge).await?,
            Role::Planner => self.plan(&rc, forge).await?,
            Role::Reviewer => {
                let pr = review_pr.context("the reviewer's pull request")?;
                self.review(&rc, forge, pr).await?
            }
            Role::Developer => self.develop(&rc, forge).await?,
        };
        done.api_calls = forge.api_requests();
        if !done.out.diagnostics.is_empty() {
            let mut annotations = Vec::new();
            let _ = super::tasks_cmd::emit(
                &done.out.diagnostics,
                self.ctx.runner.in_actions,
                &mut annotations,
            );
            eprint!("{}", String::from_utf8_lossy(&annotations));
        }
        Ok(done)
    }

    /// The model side for `role` (`None`: model `none`). On `pull_request` events the checkout
    /// is the PR's code, so its prompt overrides are not used.
    fn models(&self, role: Role) -> Result<Option<Models>, RoleError> {
        let prompt_dir = (!self.on_pull_request()).then_some(self.ctx.repo_dir.as_path());
        Ok(models::connect(
            self.config,
            role,
            self.routing.boost,
            prompt_dir,
        )?)
    }

    /// Publishes `set` (or writes it to `--changes-out`).
    async fn publish<F: Forge>(
        &self,
        forge: &Guarded<F>,
        set: &ChangeSet,
    ) -> Result<Published, PublishError> {
        let how = Publish {
            config: self.config,
            rules: Rules::for_role(set.role, self.config, self.default_branch, self.routing.pr),
            secrets: secrets(self.config),
            live: live(self.config, self.args),
            journal: None,
        };
        publish::publish(forge, set, &how).await
    }

    /// The role's output with its change set published (or written to the file).
    async fn finish<F: Forge>(&self, forge: &Guarded<F>, mut out: RoleOutput) -> Executed {
        if let Some(path) = &self.args.changes_out {
            let writes_md = match out.changes.write(path) {
                Ok(()) => format!(
                    "**Change set written to `{}`** for the publish job; nothing was written to the repository.\n\n{}",
                    path.display(),
                    crate::changes::markdown(&out.changes, None)
                ),
                Err(e) => {
                    out.failure = Some(format!(
                        "cannot write the change set to {}: {e}",
                        path.display()
                    ));
                    String::new()
                }
            };
            return Executed {
                out,
                published: None,
                writes_md,
                api_calls: None,
            };
        }
        let (published, writes_md) = self.publish_md(forge, &mut out).await;
        Executed {
            out,
            published,
            writes_md,
            api_calls: None,
        }
    }

    /// Publishes the output's set; a refusal or a half-done publish fails the run.
    async fn publish_md<F: Forge>(
        &self,
        forge: &Guarded<F>,
        out: &mut RoleOutput,
    ) -> (Option<Published>, String) {
        let set = &out.changes;
        let live = live(self.config, self.args);
        if !live {
            print_plan(set, self.ctx.json);
        }
        match self.publish(forge, set).await {
            Ok(p) => {
                let md = p.markdown(set);
                (Some(p), md)
            }
            Err(PublishError::Conflict { reason }) => (
                None,
                format!(
                    "**Not published:** {reason}\n\n{}",
                    crate::changes::markdown(set, None)
                ),
            ),
            Err(PublishError::Partial {
                done,
                index,
                kind,
                source,
            }) => {
                let md = format!(
                    "**Published in part:** write {index} ({kind}) failed: {source}. Running the job again completes it.\n\n{}",
                    done.markdown(set)
                );
                out.failure.get_or_insert_with(|| {
                    format!("publishing stopped at write {index} ({kind}): {source}")
                });
                (Some(*done), md)
            }
            Err(e) => {
                let message = e.to_string();
                out.failure.get_or_insert(message.clone());
                (
                    None,
                    format!(
                        "**Not published:** {message}\n\n{}",
                        crate::changes::markdown(set, None)
                    ),
                )
            }
        }
    }

    async fn integrate<F: Forge>(
        &self,
        rc: &RoleContext<'_, Guarded<F>>,
        forge: &Guarded<F>,
    ) -> Result<Executed, RoleError> {
        let number = self.routing.pr.ok_or_else(|| {
            anyhow::anyhow!("which pull request? pass --pr N (or the `pr` input)")
        })?;
        let pr = match self.event.map(|e| &e.payload) {
            Some(Payload::PullRequest(p))
                if p.pull_request.number == number || p.number == Some(number) =>
            {
                let p = &p.pull_request;
                ClosedPr {
                    number,
                    title: p.title.clone(),
                    body: p.body.clone().unwrap_or_default(),
                    head_ref: p.head.name.clone(),
                    merged: p.merged == Some(true),
                }
            }
            _ => {
                let p = forge
                    .pull_request(number)
                    .await
                    .map_err(anyhow::Error::from)?;
                if p.state == PrState::Open {
                    return Err(RoleError::Unsupported(format!(
                        "PR #{number} is still open: the integrator acts on closed pull requests"
                    )));
                }
                ClosedPr {
                    number,
                    title: p.title,
                    body: p.body,
                    head_ref: p.head_ref,
                    merged: p.merged,
                }
            }
        };
        let out = integrator::run(rc, &pr).await?;
        Ok(self.finish(forge, out).await)
    }

    async fn plan<F: Forge>(
        &self,
        rc: &RoleContext<'_, Guarded<F>>,
        forge: &Guarded<F>,
    ) -> Result<Executed, RoleError> {
        let models = self
            .models(Role::Planner)?
            .ok_or_else(|| RoleError::Unsupported("the planner needs a model".into()))?;
        let side = crate::roles::planner::ModelSide {
            llm: models.llm.as_ref(),
            route: models.route.clone(),
            settings: &self.config.llm,
            library: &models.library,
            repo: &rc.run.repository,
        };
        let mut out = crate::roles::planner::run(rc, &side).await?;
        out.summary.push_str(&models.usage().0);
        out.llm_calls = models.ledger.records();
        Ok(self.finish(forge, out).await)
    }

    /// The pull request to review: from the event payload, or one API call.
    async fn pr_info<F: Forge>(
        &self,
        forge: &Guarded<F>,
        pr: Option<u64>,
    ) -> Result<PrInfo, RoleError> {
        let number = pr.ok_or_else(|| {
            anyhow::anyhow!("which pull request? pass --pr N (or the `pr` input)")
        })?;
        let from_event = match self.event.map(|e| &e.payload) {
            Some(Payload::PullRequest(p))
                if p.pull_request.number == number || p.number == Some(number) =>
            {
                Some(p.pull_request.clone())
            }
            _ => None,
        };
        Ok(match from_event {
            Some(p) => PrInfo {
                number,
                title: p.title,
                body: p.body.unwrap_or_default(),
                head_ref: p.head.name,
                head_sha: p.head.sha,
                base_sha: p.base.sha,
            },
            None => {
                let p = forge
                    .pull_request(number)
                    .await
                    .map_err(anyhow::Error::from)?;
                PrInfo {
                    number,
                    title: p.title,
                    body: p.body,
                    head_ref: p.head_ref,
                    head_sha: p.head_sha,
                    base_sha: p.base_sha,
                }
            }
        })
    }

    async fn review<F: Forge>(
        &self,
        rc: &RoleContext<'_, Guarded<F>>,
        forge: &Guarded<F>,
        info: PrInfo,
    ) -> Result<Executed, RoleError> {
        let models = self.models(Role::Reviewer)?;
        let side = models.as_ref().map(|m| ModelSide {
            llm: m.llm.as_ref(),
            route: m.route.clone(),
            settings: &self.config.llm,
            library: &m.library,
        });
        let mut out = reviewer::run::run(rc, info, side.as_ref(), || {
            models.as_ref().map(|m| m.usage()).unwrap_or_default()
        })
        .await?;
        out.llm_calls = models
            .as_ref()
            .map(|m| m.ledger.records())
            .unwrap_or_default();
        Ok(self.finish(forge, out).await)
    }

    /// The developer. In the one-job flow (live, no `--changes-out`) the model server is
    /// checked, then the claim is published, the work done, and its change set (or, after a
    /// failure or a cancel, the claim's release) published. Otherwise only the work runs.
    async fn develop<F: Forge>(
        &self,
        rc: &RoleContext<'_, Guarded<F>>,
        forge: &Guarded<F>,
    ) -> Result<Executed, RoleError> {
        let models = self.models(Role::Developer)?;
        let picked = match developer::pick(
            rc,
            self.routing.task.as_deref(),
            self.args.takeover,
            models.is_some(),
        )
        .await?
        {
            Pick::Stop(out) => return Ok(self.finish(forge, *out).await),
            Pick::NeedsModel { task } => {
                return Err(RoleError::Unsupported(format!(
                    "{task} needs a model: the developer's model is `none`, which only runs the CI-setup task. \
                     Set roles.developer.model in .llm-team.yml (or LLM_DEVELOPER_MODEL) to an Ollama model"
                )));
            }
            Pick::Go(p) => p,
        };
        let mut picked = *picked;
        let model = models.as_ref().map(|m| DevModel {
            llm: m.llm.as_ref(),
            route: m.route.clone(),
            settings: &self.config.llm,
            library: &m.library,
            ledger: &m.ledger,
        });
        // Fail fast: a model server that does not answer leaves no claim behind.
        if let Some(m) = &models
            && !picked.deterministic
        {
            let name = m.route.model.clone().unwrap_or_default();
            m.llm
                .preflight(std::slice::from_ref(&name))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("checking the model server before claiming the task")?;
        }
        let one_job = live(self.config, self.args);
        let mut claimed: Option<String> = None;
        let mut claim_md = String::new();
        if one_job && let Some(set) = developer::claim_changes(rc, &picked) {
            match self.publish(forge, &set).await {
                Ok(p) => {
                    claim_md = p.markdown(&set);
                    if let Some(head) = p.branches.get(&picked.branch) {
                        picked.head = Some(head.clone());
                        claimed = Some(head.clone());
                    }
                }
                Err(PublishError::Conflict { reason }) => {
                    let mut out = RoleOutput::new(rc.changes(Role::Developer)).summary(format!(
                        "{} is taken: {reason}. This run leaves it alone.\n",
                        picked.task.id()
                    ));
                    out.task_id = Some(picked.task.id().to_string());
                    return Ok(self.finish(forge, out).await);
                }
                Err(e) => {
                    return Err(RoleError::Failed(
                        anyhow::anyhow!("{e}").context("claiming the task"),
                    ));
                }
            }
        }
        if let Some(head) = &claimed {
            let release = developer::release_changes(rc, &picked, head, "the run was cancelled");
            let (choice, config) = (self.ctx.forge.clone(), self.config.clone());
            let default_branch = self.default_branch.to_string();
            super::cancel::arm(move || {
                release_detached(&choice, &config, &default_branch, &release)
            });
        }
        let mut out = developer::work(rc, &picked, model.as_ref()).await?;
        super::cancel::disarm();
        if let Some(m) = &models {
            out.llm_calls = m.ledger.records();
        }
        if let (Some(why), Some(head)) = (out.failure.clone(), &claimed) {
            // Give the claim up so the next run can start at once; nothing else is written.
            out.changes = developer::release_changes(rc, &picked, head, &why);
        }
        let mut done = self.finish(forge, out).await;
        if !claim_md.is_empty() {
            done.writes_md = format!("**Claim:** {claim_md}\n{}", done.writes_md);
        }
        if self.config.developer.chain_review
            && one_job
            && done.out.failure.is_none()
            && let Some(pr) = done.published.as_ref().and_then(|p| p.pr_number())
        {
            let info = self.pr_info(forge, Some(pr)).await?;
            let review = self.review(rc, forge, info).await?;
            done.writes_md.push_str(&format!(
                "\n#### reviewer (chained)\n\n{}\n{}",
                review.out.summary, review.writes_md
            ));
            done.out.verdict = review.out.verdict;
            done.out.llm_calls.extend(review.out.llm_calls);
            done.out.failure = review.out.failure;
        }
        Ok(done)
    }
}

/// The change set as the observe mode and dry runs print it on stdout (JSON with `--json`).
fn print_plan(set: &ChangeSet, json: bool) {
    if json {
        println!("{}", set.to_json());
    } else {
        println!("{}", crate::changes::markdown(set, None));
    }
}

/// Publishes `set` from the cancel hook's own thread: a fresh runtime and forge, bounded by the
/// hook's deadline.
fn release_detached(choice: &ForgeChoice, config: &Config, default_branch: &str, set: &ChangeSet) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let how = Publish {
        config,
        rules: Rules::for_role(Role::Developer, config, default_branch, None),
        secrets: secrets(config),
        live: true,
        journal: None,
    };
    let result = rt.block_on(async {
        match choice {
            ForgeChoice::GitHub => {
                let runner = crate::actions::Runner::from_env();
                let (forge, _) = super::forge::github(config, None, &runner).await?;
                publish::publish(&forge, set, &how)
                    .await
                    .map_err(anyhow::Error::from)
            }
            ForgeChoice::Local(dir) => {
                let (forge, _) = super::forge::local(config, dir)?;
                publish::publish(&forge, set, &how)
                    .await
                    .map_err(anyhow::Error::from)
            }
        }
    });
    match result {
        Ok(_) => eprintln!("codex-orchestrator: the claim was released"),
        Err(e) => eprintln!("codex-orchestrator: could not release the claim: {e:#}"),
    }
}
