//! A Developer case: the task is queued in the case's own local forge and developed through the
//! role's real work phase (`roles::developer::pick` and `work`: its context selection, prompts,
//! budget, edit parser and applier, safety rules and test-and-fix loop). Its change set is then
//! written over a copy of the repository, the hidden tests are copied in, and they decide.

use std::time::Duration;

use anyhow::Context as _;

use super::measure::{CaseResult, DeveloperFigures};
use super::sandbox::{self, CaseRun, Models};
use crate::forge::ForgeRead;
use crate::llm::Tier;
use crate::roles::developer::{self, DevModel, Pick};
use crate::vocab::Role;

/// Longest the hidden tests may run.
const HIDDEN_TIMEOUT: Duration = Duration::from_secs(300);

/// What a round's outcome says (the session's own words, see `roles::developer::session`).
#[derive(Debug, PartialEq, Eq)]
enum Said {
    Unparsed,
    NotApplied,
    Refused,
    Applied,
    Other,
}

fn said(outcome: &str) -> Said {
    if outcome.starts_with("answer not usable") || outcome.starts_with("the answer was cut off") {
        Said::Unparsed
    } else if outcome.contains("did not apply") {
        Said::NotApplied
    } else if outcome.starts_with("refused") {
        Said::Refused
    } else if outcome.contains("file(s) edited") || outcome.starts_with("no test added") {
        Said::Applied
    } else {
        Said::Other
    }
}

pub async fn run(run: &CaseRun<'_>, result: &mut CaseResult) -> anyhow::Result<()> {
    let (case, model, server, sandbox) = (run.case, run.model, run.server, run.sandbox);
    let task = sandbox::task_file(case, crate::tasks::QUEUED);
    let (forge, checkout, config) = run.prepare(Role::Developer, std::slice::from_ref(&task))?;
    let base = forge
        .branch(sandbox::BRANCH)
        .await?
        .context("the case's forge has no main branch")?;
    let host = sandbox::Host::new(case, server, &checkout, None, false, true);
    let rc = host.context(&config, &forge, &base);
    let models = Models::connect(&config, server)?;
    let route = config.model_routing().route(Role::Developer, Tier::Normal);
    let started = models.preflight(model).await?;
    let picked = match developer::pick(&rc, Some(&sandbox::TASK.to_string()), false, true).await? {
        Pick::Go(p) => *p,
        Pick::Stop(out) => anyhow::bail!(
            "the developer did not take the task: {}",
            out.summary.trim()
        ),
        Pick::NeedsModel { task } => anyhow::bail!("{task} needs a model"),
    };
    let dev = DevModel {
        llm: models.llm.as_ref(),
        route,
        settings: &config.llm,
        library: &models.library,
        ledger: &models.ledger,
    };
    let out = developer::work(&rc, &picked, Some(&dev)).await;
    models.record(started, result);
    let out = out?;

    let mut figures = DeveloperFigures {
        replies: out.rounds.len(),
        ..DeveloperFigures::default()
    };
    for r in &out.rounds {
        match said(&r.outcome) {
            Said::Unparsed => {}
            Said::Refused => {
                figures.replies_parsed += 1;
                figures.safety_refusals += 1;
            }
            Said::Applied => {
                figures.replies_parsed += 1;
                figures.edits_applied += 1;
            }
            Said::NotApplied | Said::Other => figures.replies_parsed += 1,
        }
        figures
            .rounds
            .push(format!("round {}: {}", r.round, r.outcome));
    }
    // Every test run but the first followed a fix (corrections of unusable answers are not fixes).
    let test_runs = out
        .rounds
        .iter()
        .filter(|r| r.tests_passed.is_some())
        .count();
    figures.fix_rounds = u32::try_from(test_runs.saturating_sub(1)).unwrap_or(u32::MAX);
    result.well_formed = figures.replies > 0 && figures.replies_parsed == figures.replies;

    // The change the role proposes: its commit's files, minus the task file's status flip.
    let task_path = task.0.clone();
    let overlay: Vec<(String, Option<Vec<u8>>)> = out
        .changes
        .committed_files()
        .filter(|f| f.path != task_path)
        .map(|f| {
            (
                f.path.clone(),
                if f.delete {
                    None
                } else {
                    f.text.clone().map(String::into_bytes)
                },
            )
        })
        .collect();
    figures.files_changed = overlay.len();
    figures.change_proposed = out.failure.is_none() && !overlay.is_empty();
    if !figures.change_proposed {
        result.note = out
            .failure
            .clone()
            .unwrap_or_else(|| "the developer proposed no change".into());
        result.developer = Some(figures);
        return Ok(());
    }
    let finished = sandbox.path().join("finished");
    let mut all = overlay;
    all.extend(
        case.hidden
            .iter()
            .map(|(p, b)| (p.clone(), Some(b.clone()))),
    );
    sandbox::finished_tree(&checkout, &finished, &all)?;
    let command = case.spec.hidden_tests.clone().unwrap_or_default();
    let hidden = crate::host::testrun::run(
        &command,
        &finished,
        HIDDEN_TIMEOUT,
        &server.secrets,
        &server.test_sandbox,
    );
    figures.hidden_tests_passed = Some(hidden.passed);
    result.passed = hidden.passed;
    result.note = if hidden.passed {
        format!(
            "hidden tests passed after {} fix round(s)",
            figures.fix_rounds
        )
    } else {
        let tail: String = hidden
            .output
            .lines()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" | ");
        format!("hidden tests failed (`{command}`): {tail}")
    };
    result.developer = Some(figures);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_outcomes_are_read_as_the_session_words_them() {
        assert_eq!(
            said("answer not usable: the answer contains no SEARCH/REPLACE blocks"),
            Said::Unparsed
        );
        assert_eq!(
            said("the answer was cut off at 4096 tokens; make fewer, smaller edits"),
            Said::Unparsed
        );
        assert_eq!(said("2 edit block(s) did not apply"), Said::NotApplied);
        assert_eq!(said("refused: .github/x is protected"), Said::Refused);
        assert_eq!(
            said("1 file(s) edited; `make test` passed in 0.1 s"),
            Said::Applied
        );
    }
}
