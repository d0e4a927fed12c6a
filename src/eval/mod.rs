//! `eval`: which of the team's models can do which role, measured on its own server. Small,
//! self-contained cases (`cases`) each run in a throw-away local forge (`sandbox`) through the
//! roles' real code paths (`developer`, `reviewer`, `planner`); the figures (`measure`) become a
//! table, a recommendation per role and a report (`render`). Nothing is written outside the
//! temp directory of the case under way, and nothing talks to GitHub.

pub mod builtin;
pub mod cases;
pub mod developer;
pub mod measure;
pub mod planner;
pub mod render;
pub mod reviewer;
pub mod sandbox;

use std::time::Instant;

use serde::Serialize;

use crate::llm::LlmSettings;
use crate::vocab::Role;
pub use cases::Case;
pub use measure::{CaseResult, Summary};

/// The roles eval measures, in the order they run.
pub const ROLES: [Role; 3] = [Role::Developer, Role::Reviewer, Role::Planner];

/// The model server and the host rules every case shares.
#[derive(Clone)]
pub struct Server {
    /// The team's `llm:` settings (the API key filled in by the caller).
    pub llm: LlmSettings,
    /// Words put before `sh -c` for every test run (`CODEX_TEST_SANDBOX`).
    pub test_sandbox: Vec<String>,
    /// Redacted from every prompt and test output.
    pub secrets: Vec<String>,
}

/// One eval run.
pub struct Plan {
    pub server: Server,
    /// Per role, the models to measure on it.
    pub models: Vec<(Role, Vec<String>)>,
    pub cases: Vec<Case>,
    /// The pass rate a model needs to be recommended.
    pub threshold: f64,
}

/// Everything `--json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub results: Vec<CaseResult>,
    pub summary: Vec<Summary>,
    /// Per role: the recommended model, or `null`.
    pub recommendation: Recommendation,
    /// Per role: the numbers behind the recommendation, in a sentence.
    pub recommendation_notes: Vec<String>,
    pub threshold: f64,
    pub api: String,
    pub base_url: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Recommendation {
    pub developer: Option<String>,
    pub reviewer: Option<String>,
    pub planner: Option<String>,
}

/// Where progress lines go (stderr in the command).
pub trait Progress {
    fn line(&self, text: &str);
}

impl<F: Fn(&str)> Progress for F {
    fn line(&self, text: &str) {
        self(text)
    }
}

/// Runs every (role, model, case) of `plan`, one at a time, and sums them up.
pub fn run(plan: &Plan, progress: &dyn Progress) -> anyhow::Result<Report> {
    let mut jobs: Vec<(&str, &Case)> = Vec::new();
    for role in ROLES {
        let Some((_, models)) = plan.models.iter().find(|(r, _)| *r == role) else {
            continue;
        };
        for model in models {
            for case in plan.cases.iter().filter(|c| c.role == role) {
                jobs.push((model.as_str(), case));
            }
        }
    }
    if jobs.is_empty() {
        anyhow::bail!(
            "nothing to run: no case for the roles and models asked for (roles with cases: {})",
            ROLES
                .iter()
                .filter(|r| plan.cases.iter().any(|c| c.role == **r))
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let mut results = Vec::new();
    let (mut tokens, mut gen_secs) = (0u64, 0f64);
    let n = jobs.len();
    for (i, (model, case)) in jobs.into_iter().enumerate() {
        progress.line(&format!(
            "eval: case {} of {n}: {} {} on {model}",
            i + 1,
            case.role,
            case.name
        ));
        let r = runtime.block_on(one(&plan.server, model, case));
        tokens += r.prompt_tokens + r.output_tokens;
        if r.tokens_per_second > 0.0 {
            gen_secs += r.output_tokens as f64 / r.tokens_per_second;
        }
        let out_so_far: u64 = results
            .iter()
            .map(|x: &CaseResult| x.output_tokens)
            .sum::<u64>()
            + r.output_tokens;
        progress.line(&format!(
            "eval: case {} of {n}: {} in {:.1} s ({}); {tokens} tokens so far, {} — {:.0} s elapsed",
            i + 1,
            if r.passed { "passed" } else { "failed" },
            r.seconds,
            r.error.as_deref().unwrap_or(&r.note),
            if gen_secs > 0.0 {
                format!("{:.1} tok/s", out_so_far as f64 / gen_secs)
            } else {
                "no rate yet".to_string()
            },
            started.elapsed().as_secs_f64()
        ));
        results.push(r);
    }
    Ok(report(results, plan))
}

fn report(results: Vec<CaseResult>, plan: &Plan) -> Report {
    let summary = measure::summarize(&results);
    let mut recommendation = Recommendation::default();
    let mut notes = Vec::new();
    for role in ROLES {
        let (model, note) = measure::recommend(&summary, role.as_str(), plan.threshold);
        notes.extend(note);
        match role {
            Role::Developer => recommendation.developer = model,
            Role::Reviewer => recommendation.reviewer = model,
            _ => recommendation.planner = model,
        }
    }
    Report {
        results,
        summary,
        recommendation,
        recommendation_notes: notes,
        threshold: plan.threshold,
        api: match plan.server.llm.api {
            crate::llm::ApiKind::Ollama => "ollama".into(),
            crate::llm::ApiKind::Openai => "openai".into(),
        },
        base_url: plan.server.llm.base().to_string(),
    }
}

/// One case on one model, in its own sandbox (removed before this returns).
async fn one(server: &Server, model: &str, case: &Case) -> CaseResult {
    let mut result = CaseResult {
        model: model.to_string(),
        role: case.role.as_str().to_string(),
        case: case.name.clone(),
        ..CaseResult::default()
    };
    let sandbox = match sandbox::Sandbox::new(&case.name) {
        Ok(s) => s,
        Err(e) => {
            result.error = Some(format!("{e:#}"));
            return result;
        }
    };
    result.workdir = sandbox.path().display().to_string();
    let run = sandbox::CaseRun {
        case,
        model,
        server,
        sandbox: &sandbox,
    };
    let done = match case.role {
        Role::Developer => developer::run(&run, &mut result).await,
        Role::Reviewer => reviewer::run(&run, &mut result).await,
        _ => planner::run(&run, &mut result).await,
    };
    if let Err(e) = done {
        result.passed = false;
        result.error = Some(format!("{e:#}"));
        if result.note.is_empty() {
            result.note = "not judged: the run failed".into();
        }
    }
    drop(sandbox);
    result
}
