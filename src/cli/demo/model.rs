//! Whether the demo can use a model: only when `OLLAMA_BASE_URL` is set, answers within a couple
//! of seconds and has the reviewer's configured model pulled. Otherwise the demo stays on the
//! deterministic paths and says why, so it never hangs on a missing server.

use std::time::Duration;

use crate::vocab::Role;

/// What the probe found.
pub enum Probe {
    /// Use this model for the reviewer (from `LLM_REVIEWER_MODEL`, else the built-in default).
    Use {
        url: String,
        model: String,
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
    let tags = format!("{}/api/tags", url.trim_end_matches('/'));
    let names = match fetch(&tags) {
        Ok(n) => n,
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
        Probe::Use { url, model }
    } else {
        Probe::NoModel {
            why: format!("{url} answers but has no {model} (pull it with `ollama pull {model}`)"),
        }
    }
}

fn fetch(url: &str) -> anyhow::Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Tags {
        models: Vec<Tag>,
    }
    #[derive(serde::Deserialize)]
    struct Tag {
        name: String,
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .connect_timeout(Duration::from_millis(1500))
            .build()?;
        let tags: Tags = client
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(tags.models.into_iter().map(|t| t.name).collect())
    })
}
