//! Layering: built-in defaults < `.llm-team.yml` < environment < command-line flags (action inputs
//! arrive as flags' environment variables). Each override is recorded with its source, so
//! `config check` can say where every non-default value came from.

use super::schema::{Config, Mode};
use super::secret::Secret;
use crate::vocab::Role;

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Origin {
    pub key: String,
    pub source: String,
}

/// Flags that override the configuration.
#[derive(Debug, Clone, Default)]
pub struct CliOverrides {
    pub mode: Option<Mode>,
    /// `--dry-run` can only switch dry run on: a flag never makes a run less careful than its file.
    pub dry_run: bool,
}

/// Variables that set one text setting each: the variable, the key it sets, how.
type TextVar = (&'static str, &'static str, fn(&mut Config, String));
const TEXT_VARS: [TextVar; 5] = [
    ("GITHUB_API_URL", "github.api_url", |c, v| {
        c.github.api_url = v.trim_end_matches('/').to_string()
    }),
    ("DEFAULT_BRANCH", "project.default_branch", |c, v| {
        c.project.default_branch = Some(v)
    }),
    (
        "CODEX_DEVELOPER_WORKFLOW",
        "workflow.developer_workflow",
        |c, v| c.workflow.developer_workflow = Some(v),
    ),
    (
        "CODEX_REVIEW_WORKFLOW",
        "developer.review_workflow",
        |c, v| c.developer.review_workflow = Some(v),
    ),
    ("CODEX_BOT_LOGIN", "github.login", |c, v| {
        c.github.login = Some(v)
    }),
];

/// Applies the environment (`OLLAMA_BASE_URL`, `LLM_<ROLE>_MODEL`, `LLM_BOOST_MODEL`,
/// `GH_TOKEN`/`GITHUB_TOKEN`, `GITHUB_API_URL`, `DEFAULT_BRANCH`). Empty values count as unset,
/// as unset action inputs arrive empty.
pub fn apply_env(
    config: &mut Config,
    env: &dyn Fn(&str) -> Option<String>,
    origins: &mut Vec<Origin>,
) {
    let get = |name: &str| {
        env(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut note = |key: &str, var: &str| {
        origins.push(Origin {
            key: key.to_string(),
            source: format!("env {var}"),
        })
    };
    if let Some(v) = get("OLLAMA_BASE_URL") {
        config.llm.base_url = v.trim_end_matches('/').to_string();
        note("llm.base_url", "OLLAMA_BASE_URL");
    }
    for role in Role::ALL {
        let var = format!("LLM_{}_MODEL", role.as_str().to_ascii_uppercase());
        if let Some(v) = get(&var) {
            config.roles.get_mut(role).model = Some(v);
            note(&format!("roles.{role}.model"), &var);
        }
    }
    if let Some(v) = get("LLM_BOOST_MODEL") {
        config.llm.boost_model = v;
        note("llm.boost_model", "LLM_BOOST_MODEL");
    }
    for var in ["GH_TOKEN", "GITHUB_TOKEN"] {
        if let Some(v) = get(var) {
            config.github.token = Some(Secret::new(v));
            note("github.token", var);
            break;
        }
    }
    for (var, key, set) in TEXT_VARS {
        if let Some(v) = get(var) {
            set(config, v);
            note(key, var);
        }
    }
    if let Some(v) = get("CODEX_GITHUB_MAX_WAIT") {
        // A value that is not a number of seconds is reported by `config check`; here it keeps
        // the default rather than waiting without bound.
        if let Ok(secs) = v.trim().parse::<u64>() {
            config.github.max_wait_secs = secs;
            note("github.max_wait_secs", "CODEX_GITHUB_MAX_WAIT");
        }
    }
}

/// Applies command-line flags (or the `CODEX_*` variables clap reads for them).
pub fn apply_cli(config: &mut Config, cli: &CliOverrides, origins: &mut Vec<Origin>) {
    if let Some(mode) = cli.mode {
        config.mode = mode;
        origins.push(Origin {
            key: "mode".into(),
            source: "--mode / CODEX_MODE".into(),
        });
    }
    if cli.dry_run {
        config.workflow.dry_run = true;
        origins.push(Origin {
            key: "workflow.dry_run".into(),
            source: "--dry-run / CODEX_DRY_RUN".into(),
        });
    }
}

/// Fills what is still unset with the per-role defaults, so the effective configuration is concrete.
pub fn fill_role_defaults(config: &mut Config) {
    for role in Role::ALL {
        let default = crate::llm::ModelRouting::default_for(role);
        let settings = config.roles.get_mut(role);
        settings.model.get_or_insert(default.model);
        settings.temperature.get_or_insert(default.temperature);
    }
}
