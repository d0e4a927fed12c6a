//! Connects a role to its model at the CLI edge: the route from the configuration (role model,
//! boost, `none`), the client for the configured API, the prompt library and the call ledger.
//! Secrets are handed to the client so they are redacted from everything sent to the model.

use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::llm::{self, Ledger, Llm, PromptLibrary, Route, Tier};
use crate::vocab::Role;

pub struct Models {
    pub llm: Arc<dyn Llm>,
    pub route: Route,
    pub library: PromptLibrary,
    pub ledger: Ledger,
}

/// `None` when the role's model is `none` (the deterministic path). `prompt_dir` is where
/// overrides (`.llm-team/prompts/`) are read from; `None` uses the built-in templates only.
pub fn connect(
    config: &Config,
    role: Role,
    boost: bool,
    prompt_dir: Option<&Path>,
) -> anyhow::Result<Option<Models>> {
    let route = config
        .model_routing()
        .route(role, if boost { Tier::Boost } else { Tier::Normal });
    if route.is_deterministic() {
        return Ok(None);
    }
    let mut settings = config.llm.clone();
    settings.api_key = crate::config::secret::vault("OPENAI_API_KEY");
    let mut secrets: Vec<String> = config
        .github
        .token
        .iter()
        .map(|t| t.expose().to_string())
        .collect();
    secrets.extend(settings.api_key.clone());
    let ledger = Ledger::default();
    let llm = llm::connect(&settings, ledger.clone(), secrets)?;
    let library = PromptLibrary::load(prompt_dir)?;
    Ok(Some(Models {
        llm,
        route,
        library,
        ledger,
    }))
}

impl Models {
    /// The usage rows and the Markdown table of every call made so far.
    pub fn usage(&self) -> (String, Vec<crate::roles::reviewer::Usage>) {
        let records = self.ledger.records();
        let table = if records.is_empty() {
            String::new()
        } else {
            format!("\n{}", llm::render_markdown_table(&records))
        };
        (table, records.iter().map(Into::into).collect())
    }
}
