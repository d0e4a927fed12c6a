//! Prompt templates (minijinja), embedded in the binary and overridable from the target
//! repository (`<repo>/.llm-team/prompts/<name>`), plus the helpers that keep untrusted text
//! (PR bodies, diffs, file contents) fenced as data, and secrets out of prompts.
//!
//! In a template, untrusted text goes through the `untrusted` filter:
//! `{{ pr_body | untrusted("pull request body") }}`. It wraps the text between
//! `<<<UNTRUSTED-<nonce> label>>>` and `<<<END-UNTRUSTED-<nonce>>>>` lines, with a random nonce
//! that does not occur in the text, so the text cannot close the block early. The system
//! template ([`SYSTEM_TEMPLATE`]) tells the model that such blocks are data, not instructions.

use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior, Value as JValue};
use serde::Serialize;

use super::LlmError;

/// Name of the system template.
pub const SYSTEM_TEMPLATE: &str = "system.md.j2";

/// Templates shipped in the binary: (name, source).
pub const DEFAULT_TEMPLATES: &[(&str, &str)] = &[
    ("system.md.j2", include_str!("../../prompts/system.md.j2")),
    ("planner.md.j2", include_str!("../../prompts/planner.md.j2")),
    (
        "taskmaster.md.j2",
        include_str!("../../prompts/taskmaster.md.j2"),
    ),
    (
        "developer.md.j2",
        include_str!("../../prompts/developer.md.j2"),
    ),
    (
        "reviewer.md.j2",
        include_str!("../../prompts/reviewer.md.j2"),
    ),
    (
        "integrator.md.j2",
        include_str!("../../prompts/integrator.md.j2"),
    ),
];

/// Folder (inside the target repository) whose files override the shipped templates.
pub const OVERRIDE_DIR: &str = ".llm-team/prompts";

/// The prompt templates of a run.
pub struct PromptLibrary {
    env: Environment<'static>,
    overridden: Vec<String>,
}

impl PromptLibrary {
    /// Shipped templates, overridden by `<repo_root>/.llm-team/prompts/<name>` where such a
    /// file exists. Fails on an override that does not parse (with the file's path).
    pub fn load(repo_root: Option<&Path>) -> Result<Self, LlmError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_filter("untrusted", |text: String, label: Option<String>| {
            untrusted_block(label.as_deref().unwrap_or("data"), &text)
        });
        let mut overridden = Vec::new();
        for (name, src) in DEFAULT_TEMPLATES {
            let path: Option<PathBuf> = repo_root.map(|r| r.join(OVERRIDE_DIR).join(name));
            let source = match path.as_ref().filter(|p| p.is_file()) {
                Some(p) => {
                    overridden.push(name.to_string());
                    std::fs::read_to_string(p).map_err(|e| {
                        LlmError::Invalid(format!(
                            "cannot read prompt override {}: {e}",
                            p.display()
                        ))
                    })?
                }
                None => src.to_string(),
            };
            env.add_template_owned(name.to_string(), source)
                .map_err(|e| {
                    LlmError::Invalid(format!(
                        "prompt template {} does not parse: {e}",
                        path.filter(|p| p.is_file())
                            .map(|p| p.display().to_string())
                            .unwrap_or_else(|| name.to_string())
                    ))
                })?;
        }
        Ok(PromptLibrary { env, overridden })
    }

    /// Names of the templates taken from the repository instead of the binary.
    pub fn overridden(&self) -> &[String] {
        &self.overridden
    }

    /// Renders a template with a serializable context.
    pub fn render<C: Serialize>(&self, name: &str, ctx: &C) -> Result<String, LlmError> {
        let t = self
            .env
            .get_template(name)
            .map_err(|e| LlmError::Invalid(format!("no prompt template {name}: {e}")))?;
        t.render(JValue::from(minijinja::value::Serde(ctx)))
            .map_err(|e| {
                LlmError::Invalid(format!("prompt template {name} failed to render: {e:#}"))
            })
    }
}

fn nonce() -> String {
    let mut b = [0u8; 6];
    if getrandom::fill(&mut b).is_err() {
        // Fall back to time-derived bytes; the check below still guarantees uniqueness.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b.copy_from_slice(&t.to_le_bytes()[..6]);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Wraps untrusted text in a block whose closing marker cannot occur in the text.
pub fn untrusted_block(label: &str, text: &str) -> String {
    let label: String = label
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '/'))
        .take(60)
        .collect();
    loop {
        let n = nonce();
        let open = format!("<<<UNTRUSTED-{n}");
        let close = format!("<<<END-UNTRUSTED-{n}>>>");
        if text.contains(&n) {
            continue;
        }
        let nl = if text.ends_with('\n') { "" } else { "\n" };
        return format!("{open} {label}>>>\n{text}{nl}{close}");
    }
}

/// Replaces every occurrence of each secret (4 characters or longer) by `[REDACTED]`.
/// Call it on anything that may contain tokens before it goes into a prompt; the clients also
/// apply it to every message given to `with_secrets`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    let mut secrets: Vec<&String> = secrets.iter().filter(|s| s.len() >= 4).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "[REDACTED]");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts() {
        let s = vec!["ghp_secret123".to_string(), "ab".to_string()];
        assert_eq!(redact("token ghp_secret123 ab", &s), "token [REDACTED] ab");
    }
}
