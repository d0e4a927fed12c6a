//! `review`: `--pr N` reviews a pull request on GitHub (the same path as `run`); `--diff-file`
//! reviews a unified diff with no GitHub at all and prints the review as Markdown or, with
//! `--json`, as one object (verdict, criteria, findings, files, deterministic checks, usage).

use anyhow::Context as _;

use super::args::{ReviewArgs, RunArgs};
use super::context::Context;
use super::{Failure, models, run_cmd};
use crate::git::parse_unified;
use crate::roles::reviewer::{ModelSide, ReviewInput, render, review};
use crate::tasks::Task;
use crate::vocab::Role;

/// A diff to review by hand is text; anything larger than this is not a pull request.
const MAX_DIFF_BYTES: u64 = 64 * 1024 * 1024;

pub fn run(ctx: &Context, args: &ReviewArgs) -> Result<u8, Failure> {
    if let Some(pr) = args.pr {
        let mut run = RunArgs::for_role("reviewer");
        run.pr = Some(pr);
        run.boost = args.boost;
        return run_cmd::run(ctx, &run);
    }
    let path = args
        .diff_file
        .as_deref()
        .ok_or_else(|| Failure::usage(anyhow::anyhow!("pass --pr N or --diff-file FILE")))?;
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read the diff file {}", path.display()))
        .map_err(Failure::usage)?
        .len();
    if size > MAX_DIFF_BYTES {
        return Err(Failure::usage(anyhow::anyhow!(
            "{} is {size} bytes; a diff to review must be under 64 MiB",
            path.display()
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::usage(anyhow::anyhow!("cannot read {}: {e}", path.display())))?;
    let diff = parse_unified(&String::from_utf8_lossy(&bytes));
    if diff.files.is_empty() {
        return Err(Failure::usage(anyhow::anyhow!(
            "{} contains no unified diff (expected `diff --git` or `---`/`+++` file headers); make one with `git diff base...head > FILE`",
            path.display()
        )));
    }
    let task = match &args.task_file {
        None => None,
        Some(t) => {
            let bytes = std::fs::read(t).map_err(|e| {
                Failure::usage(anyhow::anyhow!(
                    "cannot read the task file {}: {e}",
                    t.display()
                ))
            })?;
            Some(
                Task::parse(t.display().to_string(), &bytes)
                    .map_err(|e| Failure::usage(anyhow::anyhow!("{e}")))?,
            )
        }
    };
    let config = &ctx.effective.config;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::usage)?;
    let (result, usage_table) = runtime
        .block_on(async {
            let models = models::connect(config, Role::Reviewer, args.boost, Some(&ctx.repo_dir))?;
            let side = models.as_ref().map(|m| ModelSide {
                llm: m.llm.as_ref(),
                route: m.route.clone(),
                settings: &config.llm,
                library: &m.library,
            });
            let input = ReviewInput {
                diff: &diff,
                config,
                pr_number: None,
                title: "",
                body: "",
                task_id: task.as_ref().map(|t| t.id().to_string()),
                task: task.as_ref(),
                repo: "",
                head_sha: None,
            };
            let mut result = review(&input, side.as_ref()).await;
            let (table, usage) = models.as_ref().map(|m| m.usage()).unwrap_or_default();
            result.usage = usage;
            anyhow::Ok((result, table))
        })
        .map_err(|e| Failure { code: 1, error: e })?;
    if ctx.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).map_err(Failure::usage)?
        );
    } else {
        print!("{}{usage_table}", render::markdown(&result, None));
    }
    match &result.model_error {
        Some(e) => Err(Failure {
            code: 1,
            error: anyhow::anyhow!(
                "the model review failed (the deterministic review is above): {e}"
            ),
        }),
        None => Ok(0),
    }
}
