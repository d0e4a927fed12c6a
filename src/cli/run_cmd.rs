//! `run`: the Action's entry point. Reads the event the runner hands us, routes it (or takes the
//! role the workflow named), reports the decision through step outputs, the job summary and the
//! JSON run report, then runs the role.

use super::Failure;
use super::args::RunArgs;
use super::context::Context;
use super::forge::ForgeChoice;
use crate::event::{
    Decision, Event, Payload, RouteSettings, Routing, route, route::apply_settings,
};
use crate::forge::Forge;
use crate::policy::Guarded;
use crate::report::{self, EventInfo, Outcome, Report};
use crate::roles::context::{RoleContext, RoleOutput};
use crate::roles::reviewer::{self, ModelSide, publish::PrInfo};
use crate::roles::{Role, RoleError, developer_run, integrator_run, taskmaster_run};

pub fn run(ctx: &Context, args: &RunArgs) -> Result<u8, Failure> {
    let event = read_event(args)?;
    let base_config;
    let effective = match event.as_ref().map(|e| &e.payload) {
        Some(Payload::PullRequest(p)) if !p.pull_request.base.sha.is_empty() => {
            base_config = ctx
                .at_base(&p.pull_request.base.sha)
                .map_err(Failure::usage)?;
            &base_config
        }
        _ => &ctx.effective,
    };
    let config = &effective.config;
    let settings = RouteSettings::from_config(config);
    let routing = decide(event.as_ref(), args, &settings)?;
    let info = event.as_ref().map(|e| EventInfo {
        name: e.name.clone(),
        action: e.action().map(str::to_string),
        repository: e.repository.as_ref().map(|r| r.full_name.clone()),
    });
    let mut report = Report::new(
        info,
        routing.clone(),
        config.mode.as_str(),
        config.workflow.dry_run,
    );
    let report_path = report::default_path(args.report.as_deref());
    let mut role_summaries = Vec::new();

    let (code, outcome, error) = match routing.decision {
        Decision::Refuse => (2, Outcome::Refused, Some(routing.reason.clone())),
        Decision::Ignore => (0, Outcome::Ignored, None),
        Decision::Run => {
            let mut result = (0, Outcome::Done, None);
            for role in routing.role.into_iter().chain(routing.then.iter().copied()) {
                let _group = ctx.runner.group(&format!("codex-orchestrator: {role}"));
                match execute(role, ctx, config, &routing, event.as_ref()) {
                    Ok(out) => {
                        report.task_id = out.task_id.or(report.task_id.take());
                        report.pr_number = out.pr_number.or(report.pr_number);
                        report.verdict = out.verdict.or(report.verdict.take());
                        report.api_calls = report.api_calls.or(out.api_calls);
                        report.llm_calls.extend(out.llm_calls);
                        role_summaries.push(format!("#### {role}\n\n{}", out.summary));
                        if let Some(failure) = out.failure {
                            result = (1, Outcome::Failed, Some(failure));
                            break;
                        }
                    }
                    Err(e) => {
                        result = match e {
                            RoleError::NotImplemented(_) | RoleError::Unsupported(_) => {
                                (2, Outcome::NotImplemented, Some(e.to_string()))
                            }
                            RoleError::Failed(err) => {
                                (1, Outcome::Failed, Some(format!("{err:#}")))
                            }
                        };
                        break;
                    }
                }
            }
            result
        }
    };
    report.outcome = outcome;
    report.error = error.clone();
    report.write(&report_path).map_err(|e| {
        Failure::usage(anyhow::anyhow!(
            "cannot write the run report {}: {e}",
            report_path.display()
        ))
    })?;
    publish(ctx, &report, &report_path.display().to_string()).map_err(Failure::usage)?;
    for summary in role_summaries {
        ctx.runner
            .append_summary(&summary)
            .map_err(Failure::usage)?;
    }
    match error {
        Some(message) if code != 0 => Err(Failure {
            code,
            error: anyhow::anyhow!(message),
        }),
        _ => Ok(code),
    }
}

/// The event from `GITHUB_EVENT_NAME`/`GITHUB_EVENT_PATH` (or the flags), if there is one.
fn read_event(args: &RunArgs) -> Result<Option<Event>, Failure> {
    let name = args.event_name.as_deref().filter(|n| !n.is_empty());
    match (name, &args.event_path) {
        (Some(name), Some(path)) => Event::from_file(name, path)
            .map(Some)
            .map_err(Failure::usage),
        (Some(name), None) => Err(Failure::usage(anyhow::anyhow!(
            "GITHUB_EVENT_NAME is {name:?} but GITHUB_EVENT_PATH is not set; pass --event-path FILE"
        ))),
        (None, _) => Ok(None),
    }
}

/// Routes the event, or honours an explicit `--role`; either way dangerous events are refused
/// and the configuration (mode, disabled roles) has the last word. Flags fill in pr/task/boost.
fn decide(
    event: Option<&Event>,
    args: &RunArgs,
    settings: &RouteSettings,
) -> Result<Routing, Failure> {
    let role_input = args.role.trim();
    let mut routing = match (role_input, event) {
        ("auto" | "", None) => {
            return Err(Failure::usage(anyhow::anyhow!(
                "no event to route: GITHUB_EVENT_NAME is not set. Outside GitHub Actions pass \
                 --role ROLE, or --event-name NAME --event-path FILE"
            )));
        }
        ("auto" | "", Some(e)) => route(e, settings),
        (name, e) => {
            let role: Role = name.parse().map_err(Failure::usage)?;
            let from_event = e.map(|e| route(e, settings));
            match from_event {
                Some(r) if r.decision == Decision::Refuse => r,
                other => {
                    let mut r = Routing::run(
                        role,
                        format!("role {role} requested by --role / the role input"),
                    );
                    r.pr = other.as_ref().and_then(|o| o.pr);
                    r.merged = other.and_then(|o| o.merged);
                    apply_settings(r, settings)
                }
            }
        }
    };
    if routing.decision != Decision::Refuse {
        if let Some(pr) = args.pr {
            routing.pr = Some(pr);
        }
        if let Some(task) = args.task.as_deref().filter(|t| !t.trim().is_empty()) {
            if !crate::event::command::is_task_id(task.trim()) {
                return Err(Failure::usage(anyhow::anyhow!(
                    "--task / CODEX_TASK must be a task id like T-0003, got {task:?}"
                )));
            }
            routing.task = Some(task.trim().to_ascii_uppercase());
        }
        routing.boost |= args.boost;
    }
    Ok(routing)
}

/// Runs one role on a single-threaded runtime, writing through the guarded forge (GitHub, or
/// the local forge with `--forge local:DIR`).
fn execute(
    role: Role,
    ctx: &Context,
    config: &crate::config::Config,
    routing: &Routing,
    event: Option<&Event>,
) -> Result<RoleOutput, RoleError> {
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
    runtime.block_on(async {
        match &ctx.forge {
            ForgeChoice::GitHub => {
                let (forge, default_branch) =
                    super::forge::github(config, event, &ctx.runner).await?;
                execute_on(role, ctx, config, routing, event, &forge, &default_branch).await
            }
            ForgeChoice::Local(dir) => {
                let (forge, default_branch) = super::forge::local(config, dir)?;
                execute_on(role, ctx, config, routing, event, &forge, &default_branch).await
            }
        }
    })
}

/// Runs one role against `forge`, whichever forge it is.
async fn execute_on<F: Forge>(
    role: Role,
    ctx: &Context,
    config: &crate::config::Config,
    routing: &Routing,
    event: Option<&Event>,
    forge: &Guarded<F>,
    default_branch: &str,
) -> Result<RoleOutput, RoleError> {
    let rc = RoleContext {
        config,
        repo_dir: &ctx.repo_dir,
        runner: &ctx.runner,
        forge,
        default_branch,
    };
    match role {
        Role::Taskmaster => Ok(taskmaster_run::run(&rc, || forge.planned()).await?),
        Role::Reviewer => review(ctx, &rc, forge, routing, event).await,
        Role::Integrator => integrate(&rc, forge, routing, event).await,
        Role::Planner => plan(ctx, &rc, forge, routing, event).await,
        _ => develop(ctx, &rc, forge, routing, event).await,
    }
}

/// The developer: the model (unless `none`), then the role; with `developer.chain_review`, the
/// reviewer runs on the new pull request in the same job.
async fn develop<F: Forge>(
    ctx: &Context,
    rc: &RoleContext<'_, Guarded<F>>,
    forge: &Guarded<F>,
    routing: &Routing,
    event: Option<&Event>,
) -> Result<RoleOutput, RoleError> {
    let models = super::models::connect(
        rc.config,
        Role::Developer,
        routing.boost,
        Some(ctx.repo_dir.as_path()),
    )?;
    let model = models.as_ref().map(|m| developer_run::DevModel {
        llm: m.llm.as_ref(),
        route: m.route.clone(),
        settings: &rc.config.llm,
        library: &m.library,
        ledger: &m.ledger,
    });
    let mut out = match developer_run::run(rc, routing.task.as_deref(), model.as_ref(), || {
        forge.planned()
    })
    .await?
    {
        developer_run::Outcome::Done(out) => out,
        developer_run::Outcome::NeedsModel { task } => {
            return Err(RoleError::Unsupported(format!(
                "{task} needs a model: the developer's model is `none`, which only runs the CI-setup task. \
                 Set roles.developer.model in .llm-team.yml (or LLM_DEVELOPER_MODEL) to an Ollama model"
            )));
        }
    };
    out.llm_calls = models
        .as_ref()
        .map(|m| m.ledger.records())
        .unwrap_or_default();
    if rc.config.developer.chain_review
        && out.failure.is_none()
        && let Some(pr) = out.pr_number
    {
        let mut r = routing.clone();
        r.pr = Some(pr);
        let review = review(ctx, rc, forge, &r, event).await?;
        out.summary
            .push_str(&format!("\n#### reviewer (chained)\n\n{}", review.summary));
        out.verdict = review.verdict;
        out.llm_calls.extend(review.llm_calls);
        out.failure = review.failure;
    }
    Ok(out)
}

/// The integrator: the closed pull request from the event (or one API call).
async fn integrate<F: Forge>(
    rc: &RoleContext<'_, Guarded<F>>,
    forge: &Guarded<F>,
    routing: &Routing,
    event: Option<&Event>,
) -> Result<RoleOutput, RoleError> {
    let number = routing
        .pr
        .ok_or_else(|| anyhow::anyhow!("which pull request? pass --pr N (or the `pr` input)"))?;
    let pr = match event.map(|e| &e.payload) {
        Some(Payload::PullRequest(p))
            if p.pull_request.number == number || p.number == Some(number) =>
        {
            let p = &p.pull_request;
            integrator_run::ClosedPr {
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
            if p.state == crate::forge::PrState::Open {
                return Err(RoleError::Unsupported(format!(
                    "PR #{number} is still open: the integrator acts on closed pull requests"
                )));
            }
            integrator_run::ClosedPr {
                number,
                title: p.title,
                body: p.body,
                head_ref: p.head_ref,
                merged: p.merged,
            }
        }
    };
    // Narrowly: this run may merge its own integration PRs, and nothing else.
    forge.permit_merges_from(crate::roles::integrator_merge::BRANCH_PREFIX);
    Ok(integrator_run::run(rc, &pr, || forge.planned()).await?)
}

/// The planner: the model side (built-in prompts when the checkout is a pull request's code).
async fn plan<F: Forge>(
    ctx: &Context,
    rc: &RoleContext<'_, Guarded<F>>,
    forge: &Guarded<F>,
    routing: &Routing,
    event: Option<&Event>,
) -> Result<RoleOutput, RoleError> {
    let config = rc.config;
    let on_pr = matches!(event.map(|e| &e.payload), Some(Payload::PullRequest(_)));
    let prompt_dir = (!on_pr).then_some(ctx.repo_dir.as_path());
    let models = super::models::connect(config, Role::Planner, routing.boost, prompt_dir)?
        .ok_or_else(|| RoleError::Unsupported("the planner needs a model".into()))?;
    let repo = std::env::var("GITHUB_REPOSITORY").unwrap_or_default();
    let side = crate::roles::planner::ModelSide {
        llm: models.llm.as_ref(),
        route: models.route.clone(),
        settings: &config.llm,
        library: &models.library,
        repo: &repo,
    };
    let mut out = crate::roles::planner::run(rc, &side, || forge.planned()).await?;
    out.summary.push_str(&models.usage().0);
    out.api_calls = forge.api_requests();
    out.llm_calls = models.ledger.records();
    Ok(out)
}

/// The reviewer: the pull request from the event (or one API call), the model side, publishing.
async fn review<F: Forge>(
    ctx: &Context,
    rc: &RoleContext<'_, Guarded<F>>,
    forge: &Guarded<F>,
    routing: &Routing,
    event: Option<&Event>,
) -> Result<RoleOutput, RoleError> {
    let config = rc.config;
    let number = routing
        .pr
        .ok_or_else(|| anyhow::anyhow!("which pull request? pass --pr N (or the `pr` input)"))?;
    let from_event = match event.map(|e| &e.payload) {
        Some(Payload::PullRequest(p))
            if p.pull_request.number == number || p.number == Some(number) =>
        {
            Some(p.pull_request.clone())
        }
        _ => None,
    };
    let info = match from_event {
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
    };
    // On pull_request events the checkout is the PR's code: its prompt overrides are not
    // trusted, so the built-in templates are used.
    let on_pr = matches!(event.map(|e| &e.payload), Some(Payload::PullRequest(_)));
    let prompt_dir = (!on_pr).then_some(ctx.repo_dir.as_path());
    let models = super::models::connect(config, Role::Reviewer, routing.boost, prompt_dir)?;
    let side = models.as_ref().map(|m| ModelSide {
        llm: m.llm.as_ref(),
        route: m.route.clone(),
        settings: &config.llm,
        library: &m.library,
    });
    let mut out = reviewer::publish::run(rc, info, side.as_ref(), || {
        models.as_ref().map(|m| m.usage()).unwrap_or_default()
    })
    .await?;
    out.planned = forge.planned();
    out.summary
        .push_str(&crate::roles::context::planned_markdown(&out.planned));
    out.api_calls = forge.api_requests();
    out.llm_calls = models
        .as_ref()
        .map(|m| m.ledger.records())
        .unwrap_or_default();
    Ok(out)
}

/// Step outputs and the job summary.
fn publish(ctx: &Context, report: &Report, report_path: &str) -> std::io::Result<()> {
    let r = &report.routing;
    let runner = &ctx.runner;
    let role = r.role.map_or("none", Role::as_str);
    let decision = match r.decision {
        Decision::Run => "run",
        Decision::Ignore => "ignore",
        Decision::Refuse => "refuse",
    };
    runner.set_output("role", role)?;
    runner.set_output("decision", decision)?;
    runner.set_output("task-id", report.task_id.as_deref().unwrap_or(""))?;
    runner.set_output(
        "pr-number",
        &report.pr_number.map(|n| n.to_string()).unwrap_or_default(),
    )?;
    runner.set_output("verdict", report.verdict.as_deref().unwrap_or(""))?;
    runner.set_output("report", report_path)?;

    let event = report
        .event
        .as_ref()
        .map_or("(none)".to_string(), |e| match &e.action {
            Some(a) => format!("{}/{a}", e.name),
            None => e.name.clone(),
        });
    let mut md = String::from("### codex-orchestrator\n\n| | |\n|---|---|\n");
    let mut row = |k: &str, v: &str| md.push_str(&format!("| {k} | {} |\n", cell(v)));
    row("Event", &event);
    row("Decision", decision);
    row("Role", role);
    row("Reason", &r.reason);
    if let Some(pr) = report.pr_number {
        row("Pull request", &format!("#{pr}"));
    }
    if let Some(task) = &report.task_id {
        row("Task", task);
    }
    row(
        "Mode",
        &format!(
            "{}{}",
            report.mode,
            if report.dry_run { " (dry run)" } else { "" }
        ),
    );
    row("Outcome", &format!("{:?}", report.outcome));
    if let Some(e) = &report.error {
        row("Error", e);
    }
    runner.append_summary(&md)
}

/// Makes text safe inside a Markdown table cell: no pipes, no HTML, one line.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' => out.push('\''),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\n<img src=x>`c`"), "a\\|b &lt;img src=x&gt;'c'");
    }
}
