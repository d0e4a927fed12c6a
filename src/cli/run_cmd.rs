//! `run`: the Action's entry point. Reads the event the runner hands us, routes it (or takes the
//! role the workflow named), reports the decision through step outputs, the job summary and the
//! JSON run report, then runs the role and hands its change set to the publisher (or, with
//! `--changes-out`, writes it to a file and writes nothing else).

use super::Failure;
use super::args::RunArgs;
use super::context::Context;
use super::execute::{Executed, execute};
use crate::event::{
    Decision, Event, Payload, RouteSettings, Routing, route, route::apply_settings,
};
use crate::report::{self, EventInfo, Outcome, Report};
use crate::roles::{Role, RoleError};
use crate::vocab::markdown::table_cell as cell;

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
    report.changes_out = args.changes_out.as_ref().map(|p| p.display().to_string());
    let mut role_summaries = Vec::new();

    let (code, outcome, error) = match routing.decision {
        Decision::Refuse => (2, Outcome::Refused, Some(routing.reason.clone())),
        Decision::Ignore => (0, Outcome::Ignored, None),
        Decision::Run => {
            let mut result = (0, Outcome::Done, None);
            for role in routing.role.into_iter().chain(routing.then.iter().copied()) {
                let _group = ctx.runner.group(&format!("codex-orchestrator: {role}"));
                match execute(role, ctx, config, &routing, event.as_ref(), args) {
                    Ok(Executed {
                        out,
                        published,
                        writes_md,
                        api_calls,
                    }) => {
                        let opened = published.as_ref().and_then(|p| p.pr_number());
                        report.task_id = out.task_id.or(report.task_id.take());
                        report.pr_number = out.pr_number.or(opened).or(report.pr_number);
                        report.verdict = out.verdict.or(report.verdict.take());
                        report.api_calls = report.api_calls.or(api_calls);
                        report.llm_calls.extend(out.llm_calls);
                        report.change_sets.push(report::ChangeSetInfo {
                            role,
                            digest: out.changes.digest(),
                            writes: out.changes.writes.len(),
                            statuses: published.map(|p| p.statuses).unwrap_or_default(),
                        });
                        role_summaries.push(format!("#### {role}\n\n{}\n{writes_md}", out.summary));
                        if let Some(failure) = out.failure {
                            result = (1, Outcome::Failed, Some(failure));
                            break;
                        }
                    }
                    Err(e) => {
                        result = match e {
                            RoleError::Unsupported(_) => {
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
    // A work phase leaves a change set whatever happened (an ignored event, a disabled role, a
    // failure: then it holds no write), so the publish job always finds one.
    if let Some(path) = &args.changes_out
        && !path.exists()
    {
        let role = routing.role.unwrap_or(Role::Developer);
        let repository = std::env::var("GITHUB_REPOSITORY").unwrap_or_default();
        let empty =
            crate::changes::ChangeSet::new(role, repository, "", "", super::execute::run_id());
        empty.write(path).map_err(|e| {
            Failure::usage(anyhow::anyhow!(
                "cannot write the change set {}: {e}",
                path.display()
            ))
        })?;
    }
    report.outcome = outcome;
    report.error = error.clone();
    report.write(&report_path).map_err(|e| {
        Failure::usage(anyhow::anyhow!(
            "cannot write the run report {}: {e}",
            report_path.display()
        ))
    })?;
    outputs(ctx, &report, &report_path.display().to_string()).map_err(Failure::usage)?;
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

/// Step outputs and the job summary.
fn outputs(ctx: &Context, report: &Report, report_path: &str) -> std::io::Result<()> {
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
    if let Some(path) = &report.changes_out {
        runner.set_output("changes", path)?;
    }

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
