//! What the repository wants: `.llm-team.yml` layered with the environment and flags into one
//! effective `Config`, validated once, before any role runs.

pub(crate) mod layer;
pub(crate) mod load;
pub(crate) mod locate;
pub(crate) mod schema;
pub(crate) mod secret;
pub(crate) mod suggest;
pub(crate) mod validate;

use std::path::{Path, PathBuf};

pub use layer::{CliOverrides, Origin};
pub use load::{ConfigError, Problem};
pub use schema::*;
pub use secret::Secret;

/// The default configuration file name, relative to the repository.
pub const FILE_NAME: &str = ".llm-team.yml";

/// The effective configuration and how it was made.
#[derive(Debug, Clone)]
pub struct Effective {
    pub config: Config,
    /// The file read, if one existed.
    pub file: Option<PathBuf>,
    /// Unknown keys and other non-fatal findings.
    pub warnings: Vec<Problem>,
    /// Non-default values set by the environment or flags.
    pub origins: Vec<Origin>,
}

/// Loads `.llm-team.yml` (or `explicit`, which must then exist), applies the environment and
/// flags, fills role defaults and validates the result.
pub fn resolve(
    repo_dir: &Path,
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    cli: &CliOverrides,
) -> Result<Effective, ConfigError> {
    let path = match explicit {
        Some(p) if p.is_absolute() => p.to_path_buf(),
        Some(p) => repo_dir.join(p),
        None => repo_dir.join(FILE_NAME),
    };
    // Shown relative to the repository: that is how users and GitHub annotations name files.
    let shown = path
        .strip_prefix(repo_dir)
        .unwrap_or(&path)
        .display()
        .to_string();
    let parsed = load::load_file(&path, &shown, explicit.is_some())?;
    finish(parsed, &shown, env, cli)
}

/// Like `resolve`, for configuration bytes read elsewhere (the base commit of a pull request);
/// `None` means the file does not exist there, so defaults apply.
pub fn resolve_bytes(
    bytes: Option<&[u8]>,
    shown: &str,
    env: &dyn Fn(&str) -> Option<String>,
    cli: &CliOverrides,
) -> Result<Effective, ConfigError> {
    let parsed = match bytes {
        Some(b) => load::parse_bytes(b, shown)?,
        None => load::Parsed {
            config: Config::default(),
            warnings: Vec::new(),
            text: String::new(),
            path: None,
        },
    };
    finish(parsed, shown, env, cli)
}

/// Layers env and flags over a parsed file, fills role defaults and validates.
fn finish(
    parsed: load::Parsed,
    shown: &str,
    env: &dyn Fn(&str) -> Option<String>,
    cli: &CliOverrides,
) -> Result<Effective, ConfigError> {
    let mut config = parsed.config;
    let mut origins = Vec::new();
    layer::apply_env(&mut config, env, &mut origins);
    layer::apply_cli(&mut config, cli, &mut origins);
    layer::fill_role_defaults(&mut config);
    validate::validate(&config, shown, &parsed.text, &origins)?;
    Ok(Effective {
        config,
        file: parsed.path,
        warnings: parsed.warnings,
        origins,
    })
}

/// The process environment, as `resolve` reads it.
pub fn process_env(name: &str) -> Option<String> {
    if secret::is_credential_name(name) {
        return secret::vault(name);
    }
    std::env::var(name).ok()
}
