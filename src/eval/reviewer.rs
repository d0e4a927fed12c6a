//! A Reviewer case: the base in `main`, the task file on it, `head/` as a pull request on the
//! task's branch, all in the case's own local forge; reviewed through the role's real path
//! (`roles::reviewer::run`: the diff from the checkout, the task at the base, the deterministic
//! checks, the model's chunks and the verdict's settling). Its result is compared with the case's
//! expected verdict and criterion statuses.

use anyhow::Context as _;
use serde::Deserialize;

use super::cases::OneOrMany;
use super::measure::{CaseResult, ReviewerFigures};
use super::sandbox::{self, CaseRun, Models};
use crate::forge::ForgeRead;
use crate::llm::Tier;
use crate::roles::reviewer::{self, ModelSide, run::PrInfo};
use crate::vocab::Role;

/// The parts of the Reviewer's result eval reads (`RoleOutput::detail`).
#[derive(Deserialize)]
struct Detail {
    verdict: String,
    criteria: Vec<Criterion>,
    findings: Vec<serde_json::Value>,
    general_findings: Vec<serde_json::Value>,
    files_reviewed: Vec<String>,
    files_clipped: Vec<String>,
    model_error: Option<String>,
}

#[derive(Deserialize)]
struct Criterion {
    status: String,
}

pub async fn run(run: &CaseRun<'_>, result: &mut CaseResult) -> anyhow::Result<()> {
    let (case, model, server) = (run.case, run.model, run.server);
    let task = sandbox::task_file(case, "in_review");
    let (forge, checkout, config) = run.prepare(Role::Reviewer, std::slice::from_ref(&task))?;
    let number = sandbox::open_pull_request(&forge, case, &config).await?;
    let pr = forge.pull_request(number).await?;
    let host = sandbox::Host::new(
        case,
        server,
        &checkout,
        forge.identity().await.ok().flatten(),
        true,
        false,
    );
    let rc = host.context(&config, &forge, &pr.base_sha);
    let models = Models::connect(&config, server)?;
    let side = ModelSide {
        llm: models.llm.as_ref(),
        route: config.model_routing().route(Role::Reviewer, Tier::Normal),
        settings: &config.llm,
        library: &models.library,
    };
    let info = PrInfo {
        number,
        title: pr.title.clone(),
        body: pr.body.clone(),
        head_ref: pr.head_ref.clone(),
        head_sha: pr.head_sha.clone(),
        base_sha: pr.base_sha.clone(),
    };
    let started = models.preflight(model).await?;
    let usage = || {
        let records = models.ledger.records();
        (
            String::new(),
            records
                .iter()
                .map(Into::into)
                .collect::<Vec<reviewer::Usage>>(),
        )
    };
    let out = reviewer::run::run(&rc, info, Some(&side), usage).await;
    let calls = models.record(started, result);
    let out = out?;
    let detail: Detail = serde_json::from_value(
        out.detail
            .clone()
            .context("the reviewer returned no structured result")?,
    )
    .context("reading the reviewer's result")?;

    let expect = &case.spec.expect;
    let expected_verdict = expect
        .verdict
        .as_ref()
        .map(OneOrMany::list)
        .unwrap_or_default();
    let verdict_right = expected_verdict.contains(&detail.verdict);
    let mut criteria_right = true;
    let mut criteria = Vec::new();
    for (i, want) in expect.criteria.iter().enumerate() {
        let got = detail
            .criteria
            .get(i)
            .map_or("missing", |c| c.status.as_str());
        let right = want == "any" || want == got;
        criteria_right &= right;
        criteria.push(format!(
            "{}: {got}{}",
            i + 1,
            if right {
                String::new()
            } else {
                format!(" (expected {want})")
            }
        ));
    }
    let findings = detail.findings.len() + detail.general_findings.len();
    let figures = ReviewerFigures {
        verdict: detail.verdict.clone(),
        expected_verdict: expected_verdict.clone(),
        verdict_right,
        criteria,
        criteria_right,
        false_alarms: if expect.clean { findings } else { 0 },
        findings,
        json_first_try: calls.len() == 1 && calls[0].error.is_none(),
        files_reviewed: detail.files_reviewed.len(),
        files_clipped: detail.files_clipped.len(),
    };
    result.well_formed = detail.model_error.is_none() && !calls.is_empty();
    result.passed = result.well_formed && verdict_right && criteria_right;
    result.note = match &detail.model_error {
        Some(e) => format!("the model review failed: {e}"),
        None => format!(
            "verdict {} (expected {}){}",
            detail.verdict,
            expected_verdict.join(" or "),
            if criteria_right {
                String::new()
            } else {
                format!("; criteria {}", figures.criteria.join(", "))
            }
        ),
    };
    result.reviewer = Some(figures);
    Ok(())
}
