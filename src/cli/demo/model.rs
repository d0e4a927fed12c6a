//! Whether the demo can use a model: only when `OLLAMA_BASE_URL` is set, answers within a couple
//! of seconds (as Ollama's `/api/tags`, else as an OpenAI-compatible `/v1/models`, e.g. llama.cpp's
//! server) and has the reviewer's configured model. Otherwise the demo stays on the deterministic
//! paths and says why, so it never hangs on a missing server.

use std::time::Duration;

use crate::llm::{ApiKind, LlmSettings, OllamaClient, OpenAiClient};
use crate::vocab::Role;

/// What the probe found.
pub enum Probe {
    /// Use this model for the reviewer (from `LLM_REVIEWER_MODEL`, else the built-in default),
    /// over this API.
    Use {
        url: String,
        model: String,
        api: ApiKind,
    },
    NoModel {
        why: String,
    },
}

/// The reviewer's model as configured outside the sample file: the environment, else the default.
fn wanted_model() -> String {
    std::env::var("LLM_REVIEWER_MODEL")
        .ok()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| crate::llm::ModelRouting::default_for(Role::Reviewer).model)
}

pub fn probe() -> Probe {
    let Some(url) = std::env::var("OLLAMA_BASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        return Probe::NoModel {
            why: "OLLAMA_BASE_URL is not set".into(),
        };
    };
    let model = wanted_model();
    if model == crate::llm::NO_MODEL {
        return Probe::NoModel {
            why: "LLM_REVIEWER_MODEL is `none`".into(),
        };
    }
    let (api, names) = match list(&url) {
        Ok(found) => found,
        Err(e) => {
            return Probe::NoModel {
                why: format!("{url} did not answer ({e})"),
            };
        }
    };
    if names
        .iter()
        .any(|n| n == &model || n.strip_suffix(":latest") == Some(&model))
    {
        return Probe::Use { url, model, api };
    }
    let why = match api {
        ApiKind::Ollama => {
            format!("{url} answers but has no {model} (pull it with `ollama pull {model}`)")
        }
        ApiKind::Openai => format!(
            "{url} answers as an OpenAI-compatible server but has no {model} (it has {}; set \
             LLM_REVIEWER_MODEL to one of them)",
            names.join(", ")
        ),
    };
    Probe::NoModel { why }
}

/// The models the server has and the API it speaks: Ollama's first, then OpenAI-compatible.
/// The clients' own probes are used, so every answer is size-limited and time-bounded.
fn list(url: &str) -> anyhow::Result<(ApiKind, Vec<String>)> {
    let settings = |api| LlmSettings {
        base_url: url.to_string(),
        api,
        connect_timeout: Duration::from_millis(1500),
        probe_timeout: Duration::from_secs(2),
        ..LlmSettings::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let ollama = OllamaClient::new(settings(ApiKind::Ollama))?.with_progress(None);
        let ollama_error = match ollama.models().await {
            Ok(names) => return Ok((ApiKind::Ollama, names)),
            Err(e) => e,
        };
        let openai = OpenAiClient::new(settings(ApiKind::Openai))?.with_progress(None);
        match openai.models().await {
            Ok(names) if !names.is_empty() => Ok((ApiKind::Openai, names)),
            _ => Err(ollama_error.into()),
        }
    })
}
