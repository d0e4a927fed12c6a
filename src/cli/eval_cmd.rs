//! `eval`: measures the configured models on the eval cases (built in, or `--cases DIR`) through
//! the roles' real code paths, each case in a throw-away local forge, and prints the table (or
//! `--json`), writes `--report FILE` and, inside Actions, the job summary.

use std::path::PathBuf;

use clap::Args;

use super::Failure;
use super::context::Context;
use crate::eval::{self, Plan, Server};
use crate::llm::{ApiKind, Tier};
use crate::vocab::Role;

#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Models to measure on every role, comma-separated [default: each role's configured model]
    #[arg(long, value_delimiter = ',', value_name = "A,B,…")]
    pub models: Vec<String>,
    /// Roles to measure, comma-separated
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "developer,reviewer,planner",
        value_name = "ROLES"
    )]
    pub roles: Vec<String>,
    /// A folder of your own cases (format: docs/eval.md) [default: the built-in cases]
    #[arg(long, value_name = "DIR")]
    pub cases: Option<PathBuf>,
    /// Write a self-contained report: Markdown (.md) or HTML (.html), with a chart
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// The pass rate a model needs to be recommended for a role (0..1)
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f64,
    /// The server's API, overriding llm.api: ollama or openai (OpenAI-compatible, e.g. llama.cpp)
    #[arg(long, value_name = "API")]
    pub api: Option<String>,
}

pub fn run(ctx: &Context, args: &EvalArgs) -> Result<u8, Failure> {
    let config = &ctx.effective.config;
    if !(0.0..=1.0).contains(&args.threshold) {
        return Err(usage(format!(
            "--threshold {} is outside 0..1; give the pass rate as a fraction, e.g. 0.5",
            args.threshold
        )));
    }
    let mut roles = Vec::new();
    for r in args
        .roles
        .iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
    {
        let role = match r {
            "developer" => Role::Developer,
            "reviewer" => Role::Reviewer,
            "planner" => Role::Planner,
            other => {
                return Err(usage(format!(
                    "--roles: {other:?} is not a role eval measures; use developer, reviewer, planner"
                )));
            }
        };
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    let wanted: Vec<String> = args
        .models
        .iter()
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    let mut models = Vec::new();
    let mut skipped = Vec::new();
    for role in &roles {
        if !wanted.is_empty() {
            models.push((*role, wanted.clone()));
            continue;
        }
        match config.model_routing().route(*role, Tier::Normal).model {
            Some(m) => models.push((*role, vec![m])),
            None => skipped.push(role.as_str()),
        }
    }
    if models.is_empty() {
        return Err(usage(format!(
            "no model to measure: the {} model is `none`; pass --models a,b or set roles.<role>.model",
            skipped.join(" and ")
        )));
    }
    for role in &skipped {
        eprintln!("eval: {role} skipped: its model is `none` (pass --models to measure one)");
    }
    let cases = match &args.cases {
        Some(dir) => eval::cases::load_dir(dir).map_err(Failure::usage)?,
        None => eval::cases::builtin(),
    };
    let mut llm = config.llm.clone();
    if let Some(api) = &args.api {
        llm.api = match api.trim() {
            "ollama" => ApiKind::Ollama,
            "openai" | "openai_compatible" => ApiKind::Openai,
            other => {
                return Err(usage(format!("--api {other:?}: use ollama or openai")));
            }
        };
    }
    llm.api_key = crate::config::secret::vault("OPENAI_API_KEY");
    let mut secrets = super::execute::secrets(config);
    secrets.extend(llm.api_key.clone());
    let test_sandbox = std::env::var("CODEX_TEST_SANDBOX")
        .ok()
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let plan = Plan {
        server: Server {
            llm,
            test_sandbox,
            secrets,
        },
        models,
        cases,
        threshold: args.threshold,
    };
    let progress = |line: &str| eprintln!("{line}");
    // A cancelled run exits at once: its case's temp directory goes with it.
    super::cancel::arm(eval::sandbox::remove_all);
    let report = eval::run(&plan, &progress);
    super::cancel::disarm();
    let report = report.map_err(Failure::usage)?;

    if let Some(path) = &args.report {
        let text = match path.extension().and_then(|e| e.to_str()) {
            Some("html" | "htm") => eval::render::html_report(&report),
            Some("md" | "markdown") => eval::render::markdown_report(&report),
            _ => {
                return Err(usage(format!(
                    "--report {}: name it .md (Markdown) or .html",
                    path.display()
                )));
            }
        };
        std::fs::write(path, text).map_err(|e| {
            Failure::usage(anyhow::anyhow!(
                "cannot write the report {}: {e}",
                path.display()
            ))
        })?;
    }
    if ctx.runner.summary_file.is_some() {
        ctx.runner
            .append_summary(&eval::render::markdown(&report))
            .map_err(Failure::usage)?;
    }
    if ctx.json {
        let text = serde_json::to_string(&report).map_err(Failure::usage)?;
        println!("{text}");
    } else {
        print!("{}", eval::render::table(&report));
    }
    Ok(0)
}

fn usage(message: String) -> Failure {
    Failure::usage(anyhow::anyhow!(message))
}
