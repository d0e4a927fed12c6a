//! A Planner case: the PRD in the case's own local forge, planned through the role's real path
//! (`roles::planner::run`: the PRD cut to the budget, the JSON schema, repair, the plan). The
//! task files it proposes are then validated with the repository's tasks by the tasks engine
//! (schema, ids, dependencies, cycles) and held to the case's bounds (count, estimates).

use super::measure::{CaseResult, PlannerFigures};
use super::sandbox::{self, CaseRun, Models};
use crate::forge::ForgeRead;
use crate::llm::Tier;
use crate::roles::planner::{self, ModelSide};
use crate::vocab::Role;

pub async fn run(run: &CaseRun<'_>, result: &mut CaseResult) -> anyhow::Result<()> {
    let (case, model, server) = (run.case, run.model, run.server);
    let (forge, checkout, config) = run.prepare(Role::Planner, &[])?;
    let base = forge
        .branch(sandbox::BRANCH)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the case's forge has no main branch"))?;
    let host = sandbox::Host::new(
        case,
        server,
        &checkout,
        forge.identity().await.ok().flatten(),
        false,
        false,
    );
    let rc = host.context(&config, &forge, &base);
    let models = Models::connect(&config, server)?;
    let side = ModelSide {
        llm: models.llm.as_ref(),
        route: config.model_routing().route(Role::Planner, Tier::Normal),
        settings: &config.llm,
        library: &models.library,
        repo: &host.run.repository,
    };
    let started = models.preflight(model).await?;
    let out = planner::run(&rc, &side).await;
    models.record(started, result);
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            // The model's answers could not be read as a plan (or the call failed).
            result.note = format!("{e:#}");
            result.planner = Some(PlannerFigures::default());
            return Ok(());
        }
    };
    result.well_formed = true;

    let proposed: Vec<(String, Vec<u8>)> = out
        .changes
        .committed_files()
        .filter_map(|f| f.text.clone().map(|t| (f.path.clone(), t.into_bytes())))
        .collect();
    let states = &config.tasks.states;
    let existing = crate::tasks::load_repo_tasks(&checkout, &config.tasks.dir, states);
    let mut all: Vec<(String, Vec<u8>)> = existing
        .files
        .iter()
        .filter(|p| !proposed.iter().any(|(q, _)| q == *p))
        .filter_map(|p| std::fs::read(checkout.join(p)).ok().map(|b| (p.clone(), b)))
        .collect();
    all.extend(proposed.iter().cloned());
    let set = crate::tasks::load_from_memory(all, states);
    let mut problems: Vec<String> = set
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}: {}", d.path, d.message))
        .collect();
    let n = proposed.len();
    let expect = &case.spec.expect;
    if let Some(lo) = expect.min_tasks
        && n < lo
    {
        problems.push(format!(
            "{n} task(s) proposed, fewer than expect.min_tasks {lo}"
        ));
    }
    if let Some(hi) = expect.max_tasks
        && n > hi
    {
        problems.push(format!(
            "{n} task(s) proposed, more than expect.max_tasks {hi}"
        ));
    }
    if let Some(max) = expect.max_estimate_hours {
        for t in set
            .tasks
            .iter()
            .filter(|t| proposed.iter().any(|(p, _)| p == t.path()))
        {
            let hours = t
                .meta()
                .estimate
                .as_deref()
                .and_then(crate::tasks::estimate_hours);
            if let Some(h) = hours.filter(|h| *h > max) {
                problems.push(format!(
                    "{}: estimate {h} h is above expect.max_estimate_hours {max}",
                    t.path()
                ));
            }
        }
    }
    result.passed = problems.is_empty() && n > 0;
    result.note = if result.passed {
        format!("{n} task(s) proposed; they validate")
    } else if problems.is_empty() {
        "no task proposed".into()
    } else {
        format!("{n} task(s) proposed; {}", problems.join("; "))
    };
    result.planner = Some(PlannerFigures {
        tasks_proposed: n,
        problems,
    });
    Ok(())
}
