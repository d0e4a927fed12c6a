//! Builds the forge a role writes through: GitHub (repository from `GITHUB_REPOSITORY` or the
//! event, token from the environment or a GitHub App), wrapped in the policy guard that knows
//! the repository's real default branch.

use anyhow::Context as _;

use crate::actions::Runner;
use crate::config::Config;
use crate::event::Event;
use crate::forge::github::GitHub;
use crate::forge::github::auth::resolve_token;
use crate::forge::github::client::Settings;
use crate::forge::{Forge, RepoId};
use crate::policy::{Guard, Guarded};

/// The guarded GitHub forge and the default branch. Must be called inside a tokio runtime.
pub async fn github(
    config: &Config,
    event: Option<&Event>,
    runner: &Runner,
) -> anyhow::Result<(Guarded<GitHub>, String)> {
    let full = std::env::var("GITHUB_REPOSITORY")
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
        runner,
    )
    .await?;
    let gh = GitHub::new(repo, Settings::new(api, &token))?;
    let default_branch = match &config.project.default_branch {
        Some(b) => b.clone(),
        None => {
            gh.repository()
                .await
                .context("reading the repository's default branch")?
                .default_branch
        }
    };
    let mut guard = Guard::new(config, &default_branch)
        .context("compiling the protected path and branch patterns")?;
    if config.developer.allow_workflow_setup {
        // The one exception to protected paths: the CI-setup task's workflow, by explicit opt-in.
        guard = guard.allow_paths(&[crate::roles::ci_setup::WORKFLOW_PATH]);
    }
    Ok((Guarded::new(gh, guard), default_branch))
}
