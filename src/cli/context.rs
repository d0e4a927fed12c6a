//! What every command starts from: the repository directory, the effective configuration and the
//! runner. Built once per process, so configuration is read and validated exactly once.

use std::path::PathBuf;

use super::args::Global;
use crate::actions::{Level, Place, Runner};
use crate::config::{self, CliOverrides, ConfigError, Effective, Problem};
use crate::git::{Checkout, GixCheckout};

pub struct Context {
    pub repo_dir: PathBuf,
    /// The configuration file, relative to the repository unless absolute.
    pub config_path: PathBuf,
    pub cli: CliOverrides,
    pub effective: Effective,
    pub runner: Runner,
    pub json: bool,
    /// Where the roles write: GitHub, or a local forge directory.
    pub forge: super::forge::ForgeChoice,
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
        let mut effective = config::resolve(
            &repo_dir,
            global.config.as_deref(),
            &config::process_env,
            &cli,
        )?;
        let config_path = global
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from(config::FILE_NAME));
        if config_path.is_relative() {
            effective.config.project.config_file = Some(config_path.display().to_string());
        }
        let runner = Runner::from_env();
        if let Some(token) = &effective.config.github.token {
            runner.mask(token.expose());
        }
        for w in &effective.warnings {
            annotate_problem(&runner, Level::Warning, w);
        }
        Ok(Context {
            config_path,
            cli,
            repo_dir,
            effective,
            runner,
            json: global.json,
            forge: global.forge.clone().unwrap_or_default(),
        })
    }
}

impl Context {
    /// The configuration as the pull request's base commit has it: a pull request must not
    /// change the rules it is routed and reviewed by (mode, protected paths, model URL). Read
    /// from the checkout; when the base commit is not there (a shallow clone), the PR's copy is
    /// not trusted either: built-in defaults (plus environment and flags) apply, with a warning.
    pub fn at_base(&self, base_sha: &str) -> Result<Effective, ConfigError> {
        if self.config_path.is_absolute() {
            // A file outside the repository came from the workflow, not from the pull request.
            return Ok(self.effective.clone());
        }
        let shown = self.config_path.display().to_string();
        let short = &base_sha[..base_sha.len().min(12)];
        let read = GixCheckout::open(&self.repo_dir)
            .ok()
            .filter(|c| c.has_commit(base_sha))
            .map(|c| c.read_file(base_sha, &shown));
        let origin = format!("{shown} (at base {short})");
        let set_file = |mut e: Effective| {
            e.config.project.config_file = Some(shown.clone());
            e
        };
        match read {
            Some(Ok(bytes)) => {
                config::resolve_bytes(bytes.as_deref(), &origin, &config::process_env, &self.cli)
                    .map(set_file)
            }
            other => {
                let why = match other {
                    Some(Err(e)) => e.to_string(),
                    _ => format!("the checkout does not contain the base commit {short}"),
                };
                self.runner.annotate(
                    Level::Warning,
                    &Place::default(),
                    &format!(
                        "cannot read {shown} at the pull request's base ({why}); using built-in defaults \
                         instead of the pull request's copy. Check out with fetch-depth: 0"
                    ),
                );
                config::resolve_bytes(None, &origin, &config::process_env, &self.cli).map(set_file)
            }
        }
    }
}

/// A configuration problem as an annotation on its file and line.
pub(super) fn annotate_problem(runner: &Runner, level: Level, p: &Problem) {
    let place = Place {
        file: Some(p.origin.clone()),
        line: p.line,
        title: Some("codex-orchestrator configuration".into()),
    };
    let key = p
        .key
        .as_deref()
        .map(|k| format!("{k}: "))
        .unwrap_or_default();
    runner.annotate(level, &place, &format!("{key}{}", p.message));
}
