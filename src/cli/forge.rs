//! Builds the forge: GitHub (repository from `GITHUB_REPOSITORY` or the event, token from the
//! environment or a GitHub App) or a local forge directory (`--forge local:DIR`), wrapped in the
//! policy guard that knows the repository's real default branch. Roles read through it; only
//! the publisher writes.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::actions::Runner;
use crate::config::Config;
use crate::event::Event;
use crate::forge::github::GitHub;
use crate::forge::github::auth::resolve_token;
use crate::forge::github::client::Settings;
use crate::forge::local::LocalForge;
use crate::forge::{ForgeRead, RepoId};
use crate::policy::{Guard, Guarded};

/// The guarded GitHub forge and the default branch. Must be called inside a tokio runtime.
pub async fn github(
    config: &Config,
    event: Option<&Event>,
    runner: &Runner,
) -> anyhow::Result<(Guarded<GitHub>, String)> {
    let (gh, default_branch) = github_plain(config, event, runner).await?;
    Ok((
        Guarded::new(gh, guard(config, &default_branch)?),
        default_branch,
    ))
}

/// The GitHub forge without its guard (the publisher reads the default branch's configuration
/// through it before building the guard) and the default branch.
pub async fn github_plain(
    config: &Config,
    event: Option<&Event>,
    runner: &Runner,
) -> anyhow::Result<(GitHub, String)> {
    let full: String = std::env::var("GITHUB_REPOSITORY")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| event.and_then(|e| e.repository.as_ref()).map(|r| r.full_name.clone()))
        .context("which repository? GITHUB_REPOSITORY is not set (the runner sets it); set it to owner/name")?;
    let repo = RepoId::parse(&full)
        .with_context(|| format!("GITHUB_REPOSITORY must be owner/name, got {full:?}"))?;
    let api = &config.github.api_url;
    let token = resolve_token(
        api,
        &repo,
        config.github.token.as_ref().map(|t| t.expose()),
        &crate::config::process_env,
        &|secret: &str| runner.mask(secret),
    )
    .await?;
    let mut settings = Settings::new(api, &token);
    settings.max_rate_wait = std::time::Duration::from_secs(config.github.max_wait_secs);
    let gh = GitHub::new(repo, settings)?.with_identity(config.github.login.clone());
    // The configuration, else the event (GitHub sends the repository's default branch with
    // every payload), else one API call.
    let from_event = event
        .and_then(|e| e.repository.as_ref())
        .filter(|r| r.full_name == full)
        .and_then(|r| r.default_branch.clone())
        .filter(|b| !b.is_empty());
    let default_branch = match config.project.default_branch.clone().or(from_event) {
        Some(b) => b,
        None => {
            gh.repository()
                .await
                .context("reading the repository's default branch")?
                .default_branch
        }
    };
    Ok((gh, default_branch))
}

/// The policy guard for `default_branch`, the same for every forge.
pub fn guard(config: &Config, default_branch: &str) -> anyhow::Result<Guard> {
    let mut guard = Guard::new(config, default_branch)
        .context("compiling the protected path and branch patterns")?;
    if config.developer.allow_workflow_setup {
        // The one exception to protected paths: the CI-setup task's workflow, by explicit opt-in.
        guard = guard.allow_paths(&[crate::roles::developer::ci_setup::WORKFLOW_PATH]);
    }
    Ok(guard)
}

/// Which forge the roles write to (`--forge`, `CODEX_FORGE`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ForgeChoice {
    #[default]
    GitHub,
    /// A local forge directory.
    Local(PathBuf),
}

impl std::str::FromStr for ForgeChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("github") {
            return Ok(ForgeChoice::GitHub);
        }
        match s.strip_prefix("local:") {
            Some(dir) if !dir.trim().is_empty() => Ok(ForgeChoice::Local(PathBuf::from(dir))),
            _ => Err(format!(
                "expected `github` or `local:DIR` (a directory made by `forge init` or `demo`), got {s:?}"
            )),
        }
    }
}

/// The guarded local forge in `dir` and its default branch.
pub fn local(config: &Config, dir: &Path) -> anyhow::Result<(Guarded<LocalForge>, String)> {
    let forge = LocalForge::open(dir)?;
    let default_branch = match &config.project.default_branch {
        Some(b) => b.clone(),
        None => forge.default_branch()?,
    };
    Ok((
        Guarded::new(forge, guard(config, &default_branch)?),
        default_branch,
    ))
}

/// With a local forge and no `--repo-dir`, the roles read a snapshot of the forge's default
/// branch (see `forge::local::checkout`): the checkout `actions/checkout` would give them.
pub fn local_checkout(global: &super::args::Global) -> anyhow::Result<super::args::Global> {
    let mut global = global.clone();
    if let (Some(ForgeChoice::Local(dir)), None) = (&global.forge, &global.repo_dir) {
        let forge = LocalForge::open(dir)?;
        let branch = forge.default_branch()?;
        global.repo_dir = Some(forge.snapshot(&branch).with_context(|| {
            format!("checking out {branch} of the local forge {}", dir.display())
        })?);
    }
    Ok(global)
}
