//! What every command starts from: the repository directory, the effective configuration and the
//! runner. Built once per process, so configuration is read and validated exactly once.

use std::path::PathBuf;

use super::args::Global;
use crate::actions::{Level, Place, Runner};
use crate::config::{self, CliOverrides, ConfigError, Effective};

pub struct Context {
    pub repo_dir: PathBuf,
    pub effective: Effective,
    pub runner: Runner,
    pub json: bool,
}

/// `--repo-dir`, else `$GITHUB_WORKSPACE`, else the current directory.
pub fn repo_dir(global: &Global) -> PathBuf {
    global
        .repo_dir
        .clone()
        .or_else(|| {
            std::env::var_os("GITHUB_WORKSPACE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from("."))
}

impl Context {
    /// Resolves the configuration, masks the secrets it found and reports its warnings.
    pub fn load(global: &Global) -> Result<Context, ConfigError> {
        let repo_dir = repo_dir(global);
        let cli = CliOverrides {
            mode: global.mode,
            dry_run: global.dry_run,
        };
        let effective = config::resolve(
            &repo_dir,
            global.config.as_deref(),
            &config::process_env,
            &cli,
        )?;
        let runner = Runner::from_env();
        if let Some(token) = &effective.config.github.token {
            runner.mask(token.expose());
        }
        for w in &effective.warnings {
            let place = Place {
                file: Some(w.origin.clone()),
                line: w.line,
                title: Some("codex-orchestrator configuration".into()),
            };
            let key = w
                .key
                .as_deref()
                .map(|k| format!("{k}: "))
                .unwrap_or_default();
            runner.annotate(Level::Warning, &place, &format!("{key}{}", w.message));
        }
        Ok(Context {
            repo_dir,
            effective,
            runner,
            json: global.json,
        })
    }
}
