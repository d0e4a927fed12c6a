//! Checks on the effective configuration that types alone cannot express (ranges, globs, branch
//! names, required task states). Each problem names the key and where its value came from.

use globset::Glob;

use super::layer::Origin;
use super::load::{ConfigError, Problem};
use super::locate::locate;
use super::schema::Config;
use crate::vocab::Role;

/// States the roles move tasks through; a custom `tasks.states` must keep them.
pub const REQUIRED_STATES: [&str; 3] = ["queued", "in_review", "done"];

/// Validates `config`. `file`/`text` locate keys set in the file; `origins` name env and flags.
pub fn validate(
    config: &Config,
    file: &str,
    text: &str,
    origins: &[Origin],
) -> Result<(), ConfigError> {
    let mut problems = Vec::new();
    let mut bad = |key: &str, message: String| {
        let origin = origins.iter().rev().find(|o| o.key == key);
        problems.push(Problem {
            origin: origin.map_or(file.to_string(), |o| o.source.clone()),
            line: if origin.is_some() {
                None
            } else {
                locate(text, key)
            },
            column: None,
            key: Some(key.to_string()),
            message,
        });
    };

    for role in Role::ALL {
        let s = config.roles.get(role);
        if let Some(t) = s.temperature
            && !(0.0..=2.0).contains(&t)
        {
            bad(
                &format!("roles.{role}.temperature"),
                format!("{t} is outside 0.0..=2.0"),
            );
        }
        if s.model
            .as_deref()
            .is_some_and(|m| m.trim().is_empty() || m.contains(char::is_whitespace))
        {
            bad(
                &format!("roles.{role}.model"),
                "must be an Ollama model name like qwen3:32b, or none".into(),
            );
        }
    }
    if let Err(why) = check_branch_prefix(&config.workflow.branch_prefix) {
        bad("workflow.branch_prefix", why);
    }
    for (i, pattern) in config.project.protected_paths.iter().enumerate() {
        if pattern.starts_with('/') || pattern.split('/').any(|c| c == "..") {
            bad(
                "project.protected_paths",
                format!(
                    "entry {i} ({pattern:?}) must be relative to the repository root, without `..`"
                ),
            );
        } else if let Err(e) = Glob::new(pattern) {
            bad(
                "project.protected_paths",
                format!("entry {i} ({pattern:?}) is not a valid glob: {e}"),
            );
        }
    }
    for pattern in &config.workflow.protected_branches {
        if let Err(e) = Glob::new(pattern) {
            bad(
                "workflow.protected_branches",
                format!("{pattern:?} is not a valid glob: {e}"),
            );
        }
    }
    let dir = &config.tasks.dir;
    if dir.is_empty() || dir.starts_with('/') || dir.split('/').any(|c| c == "..") {
        bad(
            "tasks.dir",
            format!("{dir:?} must be a folder relative to the repository root"),
        );
    }
    let states = &config.tasks.states;
    for required in REQUIRED_STATES {
        if !states.iter().any(|s| s == required) {
            bad(
                "tasks.states",
                format!("must include {required:?}: the roles move tasks through it"),
            );
        }
    }
    for (i, s) in states.iter().enumerate() {
        if states[..i].contains(s) {
            bad("tasks.states", format!("{s:?} is listed twice"));
        }
    }
    if !(0.0..=100.0).contains(&config.checks.coverage_min) {
        bad(
            "checks.coverage_min",
            format!(
                "{} is outside 0..=100 (a percentage)",
                config.checks.coverage_min
            ),
        );
    }
    let url = &config.llm.base_url;
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() <= "https://".len()
    {
        bad(
            "llm.base_url",
            format!("{url:?} must be an http:// or https:// URL, like http://aether:11434"),
        );
    }
    let api = &config.github.api_url;
    if !(api.starts_with("http://") || api.starts_with("https://")) {
        bad(
            "github.api_url",
            format!("{api:?} must be an http:// or https:// URL"),
        );
    }
    let llm = &config.llm;
    for (key, value) in [
        ("llm.connect_timeout", llm.connect_timeout),
        ("llm.first_byte_timeout", llm.first_byte_timeout),
        ("llm.boost_first_byte_timeout", llm.boost_first_byte_timeout),
        ("llm.idle_timeout", llm.idle_timeout),
        ("llm.probe_timeout", llm.probe_timeout),
        ("llm.call_deadline", llm.call_deadline),
        (
            "developer.test_timeout_secs",
            std::time::Duration::from_secs(config.developer.test_timeout_secs),
        ),
    ] {
        if value.is_zero() {
            bad(key, "must be more than 0 seconds".into());
        }
    }
    if llm.num_ctx.is_some_and(|n| n < 1024) {
        bad(
            "llm.num_ctx",
            "a context under 1024 tokens cannot hold a prompt; leave it unset for the model's own"
                .into(),
        );
    }
    if llm.max_output_bytes < 4096 {
        bad(
            "llm.max_output_bytes",
            format!(
                "{} bytes cannot hold an answer; use at least 4096 (default 16777216)",
                llm.max_output_bytes
            ),
        );
    }
    if config.developer.max_rounds > 10 {
        bad(
            "developer.max_rounds",
            format!(
                "{} rounds is too many; use 0..=10",
                config.developer.max_rounds
            ),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError { problems })
    }
}

/// A branch prefix must make valid branch names (git's check-ref-format rules that apply to a prefix).
fn check_branch_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Err("must not be empty (the seed uses \"feature/\")".into());
    }
    let bad_char = prefix
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(*c));
    if let Some(c) = bad_char {
        return Err(format!(
            "{prefix:?} contains {c:?}, which git does not allow in branch names"
        ));
    }
    if prefix.starts_with('/')
        || prefix.starts_with('-')
        || prefix.contains("..")
        || prefix.contains("//")
    {
        return Err(format!(
            "{prefix:?} is not a valid start of a git branch name"
        ));
    }
    Ok(())
}
