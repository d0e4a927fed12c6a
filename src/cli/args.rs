//! The command line, declared with clap derive. Every flag a workflow sets is also read from a
//! `CODEX_*` environment variable, which is how the composite action passes its inputs.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::config::Mode;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  done, or the event was ignored
  1  the role ran and failed
  2  usage or configuration error, unreadable event, refused event (pull_request_target,
     workflow_run), or a role that is not implemented in this build";

#[derive(Debug, Parser)]
#[command(
    name = "codex-orchestrator",
    version,
    about = "An LLM dev team (planner, taskmaster, developer, reviewer, integrator) that works \
             through pull requests, driven by GitHub events and a local Ollama server.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The target repository's checkout [default: $GITHUB_WORKSPACE, else .]
    #[arg(long, global = true, env = "CODEX_REPO_DIR", value_name = "DIR")]
    pub repo_dir: Option<PathBuf>,
    /// Configuration file, relative to the repository [default: .llm-team.yml; missing = defaults]
    #[arg(long, global = true, env = "CODEX_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Print every write instead of making it (can only switch dry run on)
    #[arg(long, global = true, env = "CODEX_DRY_RUN", action = ArgAction::SetTrue)]
    pub dry_run: bool,
    /// observe: print what would be written; pr: write through pull requests; disabled: do nothing
    #[arg(long, global = true, env = "CODEX_MODE", value_enum)]
    pub mode: Option<Mode>,
    /// Machine-readable output on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (-v, -vv)
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Where pull requests, branches and comments live: `github` (the API) or `local:DIR` (a
    /// local forge made by `forge init` or `demo`; no network) [default: github]
    #[arg(long, global = true, env = "CODEX_FORGE", value_name = "FORGE")]
    pub forge: Option<super::forge::ForgeChoice>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read GITHUB_EVENT_NAME and GITHUB_EVENT_PATH, decide the role and run it (the Action's entry point)
    Run(RunArgs),
    /// Decide which role an event calls for; runs nothing and uses no network
    Route(RouteArgs),
    /// Review a pull request (--pr N), or a unified diff file with no GitHub at all (--diff-file)
    Review(ReviewArgs),
    /// Take a task and propose it as a pull request (with --changes-out: the work phase only,
    /// writing the change set to FILE and nothing else)
    Develop {
        /// The task to take [default: the next eligible task]
        #[arg(long)]
        task: Option<String>,
        /// Use the boost model
        #[arg(long)]
        boost: bool,
        /// Take over a fresh claim by another run (instead of waiting out developer.claim_ttl_minutes)
        #[arg(long)]
        takeover: bool,
        /// Work phase: write the change set here and make no write of any kind (`publish FILE`
        /// applies it)
        #[arg(long, value_name = "FILE")]
        changes_out: Option<PathBuf>,
    },
    /// Apply a change set written by a work phase (`--changes-out`): checks it again against the
    /// default branch's configuration, runs no repository code and calls no model
    Publish(PublishArgs),
    /// Validate tasks, seed the first one (basic CI) as a pull request, report the next task
    Taskmaster,
    /// Inspect the task files: list, next, validate, show
    #[command(subcommand)]
    Tasks(super::tasks_cmd::TasksCommand),
    /// Close the loop on a closed pull request: its task becomes done (merged) or queued again
    Integrate {
        #[arg(long)]
        pr: u64,
    },
    /// Turn the PRD (project.prd_path) into task files proposed in one pull request (needs a model)
    Plan,
    /// Inspect the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage a local forge (a directory standing in for GitHub: bare repository + JSON records)
    #[command(subcommand)]
    Forge(ForgeCommand),
    /// The whole loop offline in a few seconds: a sample repository in a local forge, then
    /// taskmaster → developer → reviewer → merge → integrator → merge, with a transcript
    Demo {
        /// The local forge to create [default: a new folder under the system temp dir]
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Measure which of your models can do which role: small cases with known answers run
    /// through the real roles against your model server, each in a throw-away local forge
    /// (docs/eval.md)
    Eval(super::eval_cmd::EvalArgs),
    /// Run as a server for many repositories: signed webhooks, polling, a durable job queue
    /// (needs GITHUB_WEBHOOK_SECRET and CODEX_ADMIN_TOKEN; see docs/serve.md)
    Serve(super::serve_cmd::ServeArgs),
}

#[derive(Debug, Subcommand)]
pub enum ForgeCommand {
    /// Create a local forge in DIR holding a repository's history (its HEAD branch), or a
    /// plain folder's files as a first commit
    Init {
        /// `local:DIR`: the new forge's directory (must not exist or be empty)
        target: super::forge::ForgeChoice,
        /// The repository (or folder) to import
        #[arg(long, value_name = "PATH")]
        from: PathBuf,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ReviewArgs {
    /// The pull request to review and comment on (needs GitHub, like `run`)
    #[arg(
        long,
        conflicts_with = "diff_file",
        required_unless_present = "diff_file"
    )]
    pub pr: Option<u64>,
    /// Review this unified diff locally and print the review (no GitHub; with the reviewer model
    /// `none`, no network at all)
    #[arg(long, value_name = "FILE")]
    pub diff_file: Option<PathBuf>,
    /// The task file whose acceptance criteria the diff is judged by (with --diff-file)
    #[arg(long, value_name = "FILE", requires = "diff_file")]
    pub task_file: Option<PathBuf>,
    /// Use the boost model
    #[arg(long)]
    pub boost: bool,
}

#[derive(Debug, Clone, Args)]
pub struct PublishArgs {
    /// The change set file
    pub file: PathBuf,
    /// The role whose change set this is; the file's own word is not trusted
    #[arg(long, env = "CODEX_ROLE")]
    pub role: String,
    /// The pull request a reviewer's change set may write on
    #[arg(long, env = "CODEX_PR")]
    pub pr: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The role to run; auto routes from the event
    #[arg(long, env = "CODEX_ROLE", default_value = "auto")]
    pub role: String,
    /// Use the boost model (also `boost: true` in a workflow_dispatch)
    #[arg(long, env = "CODEX_BOOST", action = ArgAction::SetTrue)]
    pub boost: bool,
    /// Task id for the developer [default: from the event, else the next task]
    #[arg(long, env = "CODEX_TASK")]
    pub task: Option<String>,
    /// Pull request number [default: from the event]
    #[arg(long, env = "CODEX_PR")]
    pub pr: Option<u64>,
    /// Where to write the JSON run report [default: $RUNNER_TEMP/codex-orchestrator-report.json]
    #[arg(long, env = "CODEX_REPORT", value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Work phase only: write the change set to FILE and make no write of any kind
    #[arg(long, env = "CODEX_CHANGES_OUT", value_name = "FILE")]
    pub changes_out: Option<PathBuf>,
    /// Developer: take over a fresh claim by another run
    #[arg(long, env = "CODEX_TAKEOVER", action = ArgAction::SetTrue)]
    pub takeover: bool,
    /// Event name [default: $GITHUB_EVENT_NAME]
    #[arg(long, env = "GITHUB_EVENT_NAME", hide_env_values = true)]
    pub event_name: Option<String>,
    /// Event payload file [default: $GITHUB_EVENT_PATH]
    #[arg(long, env = "GITHUB_EVENT_PATH", hide_env_values = true)]
    pub event_path: Option<PathBuf>,
}

impl RunArgs {
    /// `run --role ROLE` with nothing else: what the hand-run role subcommands do.
    pub fn for_role(role: &str) -> Self {
        RunArgs {
            role: role.to_string(),
            boost: false,
            task: None,
            pr: None,
            report: None,
            changes_out: None,
            takeover: false,
            event_name: None,
            event_path: None,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct RouteArgs {
    /// Event name, as in GITHUB_EVENT_NAME (pull_request, schedule, …)
    #[arg(long, env = "GITHUB_EVENT_NAME")]
    pub event_name: String,
    /// Event payload file, as in GITHUB_EVENT_PATH
    #[arg(long, env = "GITHUB_EVENT_PATH")]
    pub event_path: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and validate the configuration; print the effective settings (secrets redacted)
    Check,
}
