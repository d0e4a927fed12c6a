//! The command line: parses arguments, builds the context once, runs the command and turns the
//! result into the documented exit code (0 done/ignored, 1 role failed, 2 usage/config/refused).

pub(crate) mod args;
pub(crate) mod cancel;
pub(crate) mod config_cmd;
pub mod context;
pub(crate) mod demo;
pub(crate) mod eval_cmd;
pub(crate) mod execute;
pub mod forge;
pub(crate) mod forge_cmd;
pub(crate) mod models;
pub(crate) mod publish_cmd;
pub(crate) mod review_cmd;
pub(crate) mod route_cmd;
pub(crate) mod run_cmd;
pub(crate) mod serve_cmd;
pub mod tasks_cmd;

use std::process::ExitCode;

use clap::Parser;

use crate::actions::{Level, Place, Runner};
use crate::config::ConfigError;
use args::{Cli, Command, ConfigCommand};
use context::Context;

/// A command that did not succeed, with its exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    /// Exit 2: bad input, configuration or usage.
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: 2,
            error: error.into(),
        }
    }
}

/// The binary's `main`.
pub fn main() -> ExitCode {
    drop_empty_codex_vars();
    // Before anything else starts a thread or a child: credentials leave the environment and
    // the process becomes non-dumpable (see `config::secret::seal`).
    crate::config::secret::seal();
    let cli = Cli::parse();
    init_logging(cli.global.verbose);
    let code = match dispatch(&cli) {
        Ok(code) => code,
        Err(failure) => {
            report_failure(&failure);
            failure.code
        }
    };
    ExitCode::from(code)
}

/// An unset action input arrives as an empty `CODEX_*` variable; clap would read it as a flag
/// given without its value. Empty means unset, so those variables are removed before parsing.
fn drop_empty_codex_vars() {
    let empty: Vec<std::ffi::OsString> = std::env::vars_os()
        .filter(|(k, v)| v.is_empty() && k.to_str().is_some_and(|k| k.starts_with("CODEX_")))
        .map(|(k, _)| k)
        .collect();
    for key in empty {
        // SAFETY: called first thing in `main`, before this process starts any other thread.
        unsafe { std::env::remove_var(key) };
    }
}

fn dispatch(cli: &Cli) -> Result<u8, Failure> {
    // Serve mode handles SIGTERM itself: it drains and re-queues its jobs before it exits.
    if let Command::Serve(args) = &cli.command {
        return serve_cmd::run(args);
    }
    // Cancelling a run (SIGINT, SIGTERM) stops it with a bounded clean-up, whatever it does.
    // The read-only commands hold nothing to give up: they keep the default (they die at once)
    // and start no signal thread, which is most of their start-up time.
    if !matches!(
        cli.command,
        Command::Route(_) | Command::Config(_) | Command::Tasks(_)
    ) {
        cancel::install();
    }
    // These two make a forge rather than read a repository: no configuration to load first.
    match &cli.command {
        Command::Forge(cmd) => return forge_cmd::run(cmd, cli.global.json),
        Command::Demo { dir } => return demo::run(&cli.global, dir.as_deref()),
        _ => {}
    }
    let global = forge::local_checkout(&cli.global).map_err(Failure::usage)?;
    let ctx = Context::load(&global).map_err(Failure::usage)?;
    tracing::debug!(file = ?ctx.effective.file, "configuration loaded");
    match &cli.command {
        Command::Run(args) => run_cmd::run(&ctx, args),
        Command::Route(args) => route_cmd::run(&ctx, args),
        Command::Config(ConfigCommand::Check) => config_cmd::check(&ctx),
        Command::Review(args) => review_cmd::run(&ctx, args),
        Command::Develop {
            task,
            boost,
            takeover,
            changes_out,
        } => {
            let mut run = args::RunArgs::for_role("developer");
            run.task = task.clone();
            run.boost = *boost;
            run.takeover = *takeover;
            run.changes_out = changes_out.clone();
            run_cmd::run(&ctx, &run)
        }
        Command::Publish(args) => publish_cmd::run(&ctx, args),
        Command::Taskmaster => run_cmd::run(&ctx, &args::RunArgs::for_role("taskmaster")),
        Command::Tasks(cmd) => tasks_cmd(&ctx, cmd),
        Command::Integrate { pr } => {
            let mut run = args::RunArgs::for_role("integrator");
            run.pr = Some(*pr);
            run_cmd::run(&ctx, &run)
        }
        Command::Plan => run_cmd::run(&ctx, &args::RunArgs::for_role("planner")),
        Command::Forge(cmd) => forge_cmd::run(cmd, ctx.json),
        Command::Demo { dir } => demo::run(&cli.global, dir.as_deref()),
        Command::Eval(args) => eval_cmd::run(&ctx, args),
        Command::Serve(args) => serve_cmd::run(args),
    }
}

/// `tasks …`: the tasks engine's own command, fed from the effective configuration.
fn tasks_cmd(ctx: &Context, cmd: &tasks_cmd::TasksCommand) -> Result<u8, Failure> {
    let tctx = tasks_cmd::TasksContext {
        repo_dir: ctx.repo_dir.clone(),
        tasks_dir: ctx.effective.config.tasks.dir.clone(),
        states: ctx.effective.config.tasks.states.clone(),
        json: ctx.json,
    };
    let mut out = std::io::stdout();
    let code = tasks_cmd::run(cmd, &tctx, &mut out).map_err(Failure::usage)?;
    Ok(u8::try_from(code).unwrap_or(1))
}

/// Prints the error; in Actions also as annotations, one per configuration problem.
fn report_failure(failure: &Failure) {
    let runner = Runner::from_env();
    if let Some(config) = failure.error.downcast_ref::<ConfigError>() {
        for p in &config.problems {
            if runner.in_actions {
                context::annotate_problem(&runner, Level::Error, p);
            }
        }
    } else if runner.in_actions {
        runner.annotate(
            Level::Error,
            &Place::default(),
            &format!("{:#}", failure.error),
        );
    }
    eprintln!("error: {:#}", failure.error);
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .try_init();
}
