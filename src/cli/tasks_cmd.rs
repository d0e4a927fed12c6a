//! The `tasks` subcommands (`list`, `next`, `validate`, `show`) over a repository checkout, for
//! people at a terminal and for workflows (JSON output, Actions annotations, exit codes).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use serde::Serialize;

use crate::actions::{Level, Place, Runner, annotation};
use crate::tasks::diagnostic::{Diagnostic, Severity};
use crate::tasks::load::{TaskSet, load_repo_tasks};
use crate::tasks::next::{Blocked, NextTask};
use crate::tasks::pick::Skipped;
use crate::tasks::task::{Task, TaskMeta};

/// `codex-orchestrator tasks …`
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum TasksCommand {
    /// List tasks (sorted by file name).
    List {
        /// Only tasks with this status.
        #[arg(long)]
        status: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show the next task to work on, or why there is none; tasks with errors are skipped
    /// (listed with the reason) and the exit code is 1 when any task file has errors.
    Next {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check every task file; exit 1 on errors (annotations in GitHub Actions).
    Validate,
    /// Print one task file as it is on disk.
    Show {
        /// The task id, e.g. T-0001.
        id: String,
    },
}

/// Where the tasks are and how to print.
#[derive(Debug, Clone)]
pub struct TasksContext {
    pub repo_dir: PathBuf,
    /// Relative to `repo_dir`; default `tasks`.
    pub tasks_dir: String,
    /// Allowed statuses (`.llm-team.yml` `tasks.states`).
    pub states: Vec<String>,
    /// Global `--json`.
    pub json: bool,
}

impl TasksContext {
    /// A context with the default tasks directory and states.
    pub fn new(repo_dir: impl Into<PathBuf>) -> TasksContext {
        TasksContext {
            repo_dir: repo_dir.into(),
            tasks_dir: "tasks".into(),
            states: crate::tasks::default_states(),
            json: false,
        }
    }
}

#[derive(Serialize)]
struct TaskView<'a> {
    path: &'a str,
    #[serde(flatten)]
    meta: &'a TaskMeta,
}

fn view(t: &Task) -> TaskView<'_> {
    TaskView {
        path: t.path(),
        meta: t.meta(),
    }
}

#[derive(Serialize)]
struct NextView<'a> {
    next: Option<TaskView<'a>>,
    reason: Option<&'a str>,
    blocked: &'a [Blocked],
    eligible: Vec<String>,
    skipped: &'a [Skipped],
    errors: usize,
}

/// Runs one `tasks` subcommand, writing to `out`; returns the process exit code
/// (0 ok, 1 validation errors — also for `next` — or task not found). An unknown `--status`
/// is an `Err` naming the valid states (the binary exits 2).
pub fn run(cmd: &TasksCommand, ctx: &TasksContext, out: &mut dyn Write) -> Result<i32> {
    let set = load_repo_tasks(&ctx.repo_dir, &ctx.tasks_dir, &ctx.states);
    run_on(cmd, ctx, &set, Runner::from_env().in_actions, out)
}

/// Like [`run`] over an already loaded set (e.g. read from a git tree); `annotations` selects
/// GitHub Actions workflow commands for `validate` output.
pub fn run_on(
    cmd: &TasksCommand,
    ctx: &TasksContext,
    set: &TaskSet,
    annotations: bool,
    out: &mut dyn Write,
) -> Result<i32> {
    match cmd {
        TasksCommand::List { status, json } => {
            if let Some(s) = status.as_deref()
                && !ctx.states.iter().any(|k| k == s)
            {
                anyhow::bail!(
                    "unknown status `{s}` for --status; use one of: {} (tasks.states in .llm-team.yml)",
                    ctx.states.join(", ")
                );
            }
            let tasks: Vec<&Task> = set
                .tasks
                .iter()
                .filter(|t| status.as_deref().is_none_or(|s| t.status() == s))
                .collect();
            if *json || ctx.json {
                let views: Vec<TaskView> = tasks.iter().map(|t| view(t)).collect();
                serde_json::to_writer_pretty(&mut *out, &views)?;
                writeln!(out)?;
            } else {
                for t in tasks {
                    let m = t.meta();
                    writeln!(
                        out,
                        "{}  {:<22} {:<3} {}",
                        m.id,
                        m.status,
                        m.priority.as_str(),
                        m.title
                    )?;
                }
                let errors = set.diagnostics.iter().filter(|d| d.is_error()).count();
                if errors > 0 {
                    writeln!(out, "({errors} validation errors; run `tasks validate`)")?;
                }
            }
            Ok(0)
        }
        TasksCommand::Next { json } => {
            let pick = set.next_task();
            if *json || ctx.json {
                let v = match &pick.next {
                    NextTask::Ready { task, eligible } => NextView {
                        next: Some(view(task)),
                        reason: None,
                        blocked: &[],
                        eligible: eligible.iter().map(|t| t.id().to_string()).collect(),
                        skipped: &pick.skipped,
                        errors: pick.errors,
                    },
                    NextTask::Nothing { reason, blocked } => NextView {
                        next: None,
                        reason: Some(reason),
                        blocked,
                        eligible: Vec::new(),
                        skipped: &pick.skipped,
                        errors: pick.errors,
                    },
                };
                serde_json::to_writer_pretty(&mut *out, &v)?;
                writeln!(out)?;
            } else {
                writeln!(out, "{}", pick.explain())?;
            }
            Ok(if pick.has_errors() { 1 } else { 0 })
        }
        TasksCommand::Validate => {
            if ctx.json {
                serde_json::to_writer_pretty(&mut *out, &set.diagnostics)?;
                writeln!(out)?;
            } else {
                emit(&set.diagnostics, annotations, out)?;
                let errors = set.diagnostics.iter().filter(|d| d.is_error()).count();
                let warnings = set.diagnostics.len() - errors;
                writeln!(
                    out,
                    "{} task files, {} loaded: {errors} errors, {warnings} warnings",
                    set.files.len(),
                    set.tasks.len()
                )?;
            }
            Ok(if set.has_errors() { 1 } else { 0 })
        }
        TasksCommand::Show { id } => match set.get(id) {
            Some(t) => {
                if ctx.json {
                    serde_json::to_writer_pretty(&mut *out, &view(t))?;
                    writeln!(out)?;
                } else {
                    out.write_all(t.to_bytes())?;
                }
                Ok(0)
            }
            None => {
                writeln!(out, "no task with id {id} in {}/", ctx.tasks_dir)?;
                Ok(1)
            }
        },
    }
}

/// The GitHub Actions workflow command for a problem: `::error file=PATH,line=N::MESSAGE`.
pub fn to_annotation(d: &Diagnostic) -> String {
    let level = match d.severity {
        Severity::Error => Level::Error,
        Severity::Warning => Level::Warning,
    };
    let place = Place {
        file: Some(d.path.clone()),
        line: d.line,
        title: None,
    };
    annotation(level, &place, &d.message)
}

/// Writes diagnostics one per line: as workflow commands when `annotations` is true (inside
/// GitHub Actions), otherwise as `path:line: severity: message`.
pub fn emit(
    diagnostics: &[Diagnostic],
    annotations: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for d in diagnostics {
        if annotations {
            writeln!(out, "{}", to_annotation(d))?;
        } else {
            writeln!(out, "{d}")?;
        }
    }
    Ok(())
}

/// Prints diagnostics: GitHub Actions annotations when `GITHUB_ACTIONS=true`, else plain lines.
pub fn emit_diagnostics(diagnostics: &[Diagnostic], out: &mut dyn Write) -> std::io::Result<()> {
    emit(diagnostics, Runner::from_env().in_actions, out)
}
