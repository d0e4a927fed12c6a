//! `publish FILE --role ROLE`: the publish job of the two-job flow. It holds the write token, runs
//! no repository code and calls no model: it reads the change set the work job left, checks it
//! again against the default branch's own configuration (the work job's file is untrusted: the
//! tests that ran there could have rewritten it), and applies it. A refused set writes nothing.

use std::path::PathBuf;

use anyhow::Context as _;

use super::Failure;
use super::args::PublishArgs;
use super::context::Context;
use super::execute::secrets;
use super::forge::ForgeChoice;
use crate::changes::ChangeSet;
use crate::config::{Config, Mode};
use crate::forge::{Forge, ForgeRead};
use crate::policy::Guarded;
use crate::publish::{self, Publish, PublishError, Published, Rules};
use crate::vocab::Role;

pub fn run(ctx: &Context, args: &PublishArgs) -> Result<u8, Failure> {
    let set = ChangeSet::read(&args.file).map_err(Failure::usage)?;
    let role: Role = args.role.parse().map_err(Failure::usage)?;
    ctx.runner
        .set_output("role", role.as_str())
        .map_err(Failure::usage)?;
    // Nothing to write needs no forge and no token (an ignored event, a disabled team).
    let disabled = ctx.effective.config.mode == Mode::Disabled;
    if set.writes.is_empty() || disabled {
        let why = if disabled {
            "mode is disabled, so nothing is published"
        } else {
            "the change set holds no write; nothing to publish"
        };
        ctx.runner
            .append_summary(&format!(
                "### codex-orchestrator publish\n\nChange set `{}` ({}): {why}.\n",
                args.file.display(),
                set.role
            ))
            .map_err(Failure::usage)?;
        if ctx.json {
            println!("{}", serde_json::json!({"published": false, "reason": why}));
        } else {
            println!("{why}");
        }
        return Ok(0);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::usage(anyhow::Error::from(e)))?;
    let journal = journal_path(&args.file);
    let result = runtime.block_on(async {
        match &ctx.forge {
            ForgeChoice::GitHub => {
                let (gh, default_branch) =
                    super::forge::github_plain(&ctx.effective.config, None, &ctx.runner).await?;
                apply(ctx, args, role, &set, gh, &default_branch, journal).await
            }
            ForgeChoice::Local(dir) => {
                let forge = crate::forge::local::LocalForge::open(dir)?;
                let default_branch = match &ctx.effective.config.project.default_branch {
                    Some(b) => b.clone(),
                    None => forge.default_branch()?,
                };
                apply(ctx, args, role, &set, forge, &default_branch, journal).await
            }
        }
    });
    let (config, outcome) = result.map_err(|e| Failure { code: 1, error: e })?;
    report(ctx, args, &set, &config, outcome)
}

fn journal_path(file: &std::path::Path) -> Option<PathBuf> {
    let mut name = file.file_name()?.to_os_string();
    name.push(".journal");
    Some(file.with_file_name(name))
}

/// The configuration as the default branch has it now (never the work job's checkout).
async fn default_branch_config<F: ForgeRead>(
    ctx: &Context,
    forge: &F,
    default_branch: &str,
) -> anyhow::Result<Config> {
    let path = ctx.config_path.display().to_string();
    let bytes = if ctx.config_path.is_absolute() {
        std::fs::read(&ctx.config_path).ok()
    } else {
        forge
            .file_at(&path, default_branch)
            .await
            .with_context(|| format!("reading {path} on {default_branch}"))?
    };
    let origin = format!("{path} (on {default_branch})");
    let mut config = crate::config::resolve_bytes(
        bytes.as_deref(),
        &origin,
        &crate::config::process_env,
        &ctx.cli,
    )?
    .config;
    config.project.config_file = Some(path);
    Ok(config)
}

async fn apply<F: Forge>(
    ctx: &Context,
    args: &PublishArgs,
    role: Role,
    set: &ChangeSet,
    inner: F,
    default_branch: &str,
    journal: Option<PathBuf>,
) -> anyhow::Result<(Config, Result<Published, PublishError>)> {
    let config = default_branch_config(ctx, &inner, default_branch).await?;
    let forge = Guarded::new(inner, super::forge::guard(&config, default_branch)?);
    let how = Publish {
        config: &config,
        rules: Rules::for_role(role, &config, default_branch, args.pr),
        secrets: secrets(&config),
        live: config.mode == Mode::Pr && !config.workflow.dry_run,
        journal,
    };
    let outcome = publish::publish(&forge, set, &how).await;
    Ok((config, outcome))
}

fn report(
    ctx: &Context,
    args: &PublishArgs,
    set: &ChangeSet,
    config: &Config,
    outcome: Result<Published, PublishError>,
) -> Result<u8, Failure> {
    let runner = &ctx.runner;
    let write = |md: &str| runner.append_summary(md).map_err(Failure::usage);
    let head = format!(
        "### codex-orchestrator publish\n\nChange set `{}` ({}, {} write(s)), digest `{}`.\n\n",
        args.file.display(),
        set.role,
        set.writes.len(),
        &set.digest()[..16]
    );
    match outcome {
        Ok(p) => {
            let pr = p.pr_number().map(|n| n.to_string()).unwrap_or_default();
            runner
                .set_output("pr-number", &pr)
                .map_err(Failure::usage)?;
            runner
                .set_output("task-id", set.task.as_deref().unwrap_or(""))
                .map_err(Failure::usage)?;
            let md = p.markdown(set);
            write(&format!("{head}{md}"))?;
            if ctx.json {
                let json = serde_json::json!({
                    "digest": p.digest,
                    "live": p.live,
                    "writes_made": p.writes_made,
                    "statuses": p.statuses,
                    "pull_requests": p.pull_requests,
                    "mode": config.mode.as_str(),
                });
                println!("{json}");
            } else {
                println!("{md}");
            }
            Ok(0)
        }
        Err(PublishError::Conflict { reason }) => {
            let md = format!("**Not published:** {reason}\n");
            write(&format!("{head}{md}"))?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({"published": false, "conflict": reason})
                );
            } else {
                println!("{md}");
            }
            Ok(0)
        }
        Err(PublishError::Partial {
            index,
            kind,
            done,
            source,
        }) => {
            write(&format!(
                "{head}**Published in part:** write {index} ({kind}) failed: {source}. Run the publish job again to complete it.\n\n{}",
                done.markdown(set)
            ))?;
            Err(Failure {
                code: 1,
                error: anyhow::anyhow!(
                    "publishing stopped at write {index} ({kind}): {source}; run the publish job again to complete it"
                ),
            })
        }
        Err(e) => {
            write(&format!("{head}**Refused:** {e}\n"))?;
            Err(Failure {
                code: 1,
                error: anyhow::anyhow!("{e}"),
            })
        }
    }
}
