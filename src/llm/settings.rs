//! Plain settings of the LLM port (`llm:` in `.llm-team.yml`) and per-role model routing.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

/// Which wire protocol the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKind {
    /// Ollama's native API (`/api/chat`): full control of `num_ctx`, `think`, `format`.
    #[default]
    Ollama,
    /// `/v1/chat/completions` (LiteLLM, vLLM, llama.cpp server). Second-class: the context
    /// size cannot be set per request, so the budget trusts `num_ctx` from the settings.
    #[serde(alias = "openai_compatible", alias = "open_ai")]
    Openai,
}

/// Settings of the LLM port. Durations are written as seconds (integers or decimals).
/// The `llm:` section of `.llm-team.yml`. Unknown keys are reported by the configuration loader
/// as warnings with a suggestion, like everywhere else in the file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct LlmSettings {
    /// Base URL of the server, without `/api` (default `http://127.0.0.1:11434`).
    pub base_url: String,
    pub api: ApiKind,
    #[serde(with = "secs")]
    pub connect_timeout: Duration,
    /// Time from sending a chat request to its first streamed byte (model load + prompt eval).
    #[serde(with = "secs")]
    pub first_byte_timeout: Duration,
    /// Same, for calls routed to the boost model (a cold 120B model loads for minutes).
    #[serde(with = "secs")]
    pub boost_first_byte_timeout: Duration,
    /// Longest silence between two streamed chunks.
    #[serde(with = "secs")]
    pub idle_timeout: Duration,
    /// Timeout of the metadata probes (`/api/version`, `/api/tags`, `/api/show`, `/props`).
    #[serde(with = "secs")]
    pub probe_timeout: Duration,
    /// Longest one model call may take in total: retries, model load, prompt, streaming. A
    /// server that ignores the output limit and streams on is stopped here.
    #[serde(with = "secs")]
    pub call_deadline: Duration,
    /// Most bytes of answer (text and thinking) one call may stream before it is stopped
    /// (default 16 MiB: above the largest change a Developer may write, 4 MiB).
    pub max_output_bytes: u64,
    /// Retries after a connection error, HTTP 429 or a 5xx that does not say the request is
    /// invalid (not counting the first try).
    pub max_retries: u32,
    /// First backoff; doubled on each retry.
    #[serde(with = "secs")]
    pub retry_backoff: Duration,
    /// Context window to use for every model (overrides the automatic choice).
    pub num_ctx: Option<u32>,
    /// Upper bound of the automatic choice: min(model's context_length, this).
    pub max_num_ctx: u32,
    /// Output tokens reserved when a request does not say (`num_predict`), at most a quarter
    /// of the context.
    pub default_max_output_tokens: u32,
    /// Ollama `keep_alive` (e.g. "30m"); `None` leaves the server's default.
    pub keep_alive: Option<String>,
    pub seed: Option<u64>,
    /// Seconds between two progress lines while streaming.
    #[serde(with = "secs")]
    pub progress_interval: Duration,
    /// Model for boosted runs (`boost: true`); `none` disables boosting.
    pub boost_model: String,
    /// Small model for tiny steps; unset uses the role's own model.
    pub fallback_model: Option<String>,
    /// Bearer token for OpenAI-compatible servers (read from the environment by the caller).
    #[serde(skip)]
    pub api_key: Option<String>,
}

impl Default for LlmSettings {
    fn default() -> Self {
        LlmSettings {
            base_url: "http://127.0.0.1:11434".to_string(),
            api: ApiKind::Ollama,
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(300),
            boost_first_byte_timeout: Duration::from_secs(600),
            idle_timeout: Duration::from_secs(120),
            probe_timeout: Duration::from_secs(30),
            call_deadline: Duration::from_secs(1800),
            max_output_bytes: 16 * 1024 * 1024,
            max_retries: 3,
            retry_backoff: Duration::from_secs(2),
            num_ctx: None,
            max_num_ctx: 16384,
            default_max_output_tokens: 2048,
            keep_alive: Some("30m".to_string()),
            seed: None,
            progress_interval: Duration::from_secs(5),
            boost_model: "gpt-oss:120b".to_string(),
            fallback_model: Some("llama3.2:latest".to_string()),
            api_key: None,
        }
    }
}

impl LlmSettings {
    /// Base URL without a trailing slash.
    pub fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }
}

mod secs {
    use super::*;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        if !(v.is_finite() && v >= 0.0) {
            return Err(serde::de::Error::custom(
                "a duration must be a non-negative number of seconds",
            ));
        }
        Ok(Duration::from_secs_f64(v))
    }
}

/// The roles, as routing names them (the crate's one role type).
pub use crate::vocab::Role as RoleName;

/// The model name meaning "no model: deterministic mode".
pub const NO_MODEL: &str = "none";

/// Model and temperature of one role.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoleModel {
    /// Model name as the server knows it, or `none` for deterministic mode.
    pub model: String,
    #[serde(default)]
    pub temperature: f32,
}

impl RoleModel {
    pub fn new(model: &str, temperature: f32) -> Self {
        RoleModel {
            model: model.to_string(),
            temperature,
        }
    }
}

/// Which models the roles use.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelRouting {
    /// Roles missing from the map keep their defaults.
    pub roles: BTreeMap<RoleName, RoleModel>,
    /// Model used when a run is boosted (`boost`); `None` disables boosting.
    pub boost_model: Option<String>,
    /// Small model for tiny steps (titles, labels); `None` uses the role's model.
    pub fallback_model: Option<String>,
}

impl ModelRouting {
    /// The seed's defaults for one role.
    pub fn default_for(role: RoleName) -> RoleModel {
        match role {
            RoleName::Planner => RoleModel::new("qwen3:32b", 0.5),
            RoleName::Taskmaster => RoleModel::new("qwen3:32b", 0.3),
            RoleName::Developer => RoleModel::new("qwen3-coder:latest", 0.2),
            RoleName::Reviewer => RoleModel::new("qwen3:32b", 0.2),
            RoleName::Integrator => RoleModel::new(NO_MODEL, 0.0),
        }
    }

    /// Which model (if any) a role uses for a step.
    ///
    /// * `Tier::Normal`: the role's model.
    /// * `Tier::Boost`: the boost model (with the role's temperature and the longer boost
    ///   first-byte timeout); a role set to `none` stays deterministic.
    /// * `Tier::Small`: the fallback model if set, else the role's model.
    pub fn route(&self, role: RoleName, tier: Tier) -> Route {
        let rm = self
            .roles
            .get(&role)
            .cloned()
            .unwrap_or_else(|| Self::default_for(role));
        let temperature = rm.temperature.clamp(0.0, 2.0);
        let own = (!rm.model.trim().is_empty() && rm.model != NO_MODEL).then(|| rm.model.clone());
        let (model, boosted) = match (tier, own) {
            (_, None) => (None, false),
            (Tier::Normal, Some(m)) => (Some(m), false),
            (Tier::Boost, Some(m)) => match self.boost_model.as_deref() {
                Some(b) if !b.is_empty() && b != NO_MODEL => (Some(b.to_string()), true),
                _ => (Some(m), false),
            },
            (Tier::Small, Some(m)) => match self.fallback_model.as_deref() {
                Some(f) if !f.is_empty() && f != NO_MODEL => (Some(f.to_string()), false),
                _ => (Some(m), false),
            },
        };
        Route {
            role,
            model,
            temperature,
            boosted,
        }
    }

    /// Human-readable warnings about questionable choices (e.g. a hot developer).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (role, rm) in &self.roles {
            if matches!(role, RoleName::Developer | RoleName::Reviewer) && rm.temperature > 0.2 {
                out.push(format!(
                    "{role} temperature {} is above 0.2: code and reviews get less reliable",
                    rm.temperature
                ));
            }
            if !(0.0..=2.0).contains(&rm.temperature) {
                out.push(format!(
                    "{role} temperature {} is outside 0..2 and is clamped",
                    rm.temperature
                ));
            }
        }
        out
    }
}

impl Default for ModelRouting {
    fn default() -> Self {
        ModelRouting {
            roles: RoleName::ALL
                .iter()
                .map(|r| (*r, Self::default_for(*r)))
                .collect(),
            boost_model: Some("gpt-oss:120b".to_string()),
            fallback_model: Some("llama3.2:latest".to_string()),
        }
    }
}

/// How much model a step deserves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tier {
    #[default]
    Normal,
    /// The run is boosted: use the boost model.
    Boost,
    /// A tiny step: the fallback model is enough.
    Small,
}

/// The routing decision for one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub role: RoleName,
    /// `None` = deterministic mode: the role must do without a model.
    pub model: Option<String>,
    pub temperature: f32,
    /// True when the boost model was chosen (longer first-byte timeout applies).
    pub boosted: bool,
}

impl Route {
    pub fn is_deterministic(&self) -> bool {
        self.model.is_none()
    }

    /// A request skeleton for this route, or `None` in deterministic mode.
    pub fn request(
        &self,
        settings: &LlmSettings,
        messages: Vec<super::Message>,
    ) -> Option<super::ChatRequest> {
        let model = self.model.clone()?;
        let mut req = super::ChatRequest::new(model, messages);
        req.temperature = Some(self.temperature);
        req.role = Some(self.role);
        if self.boosted {
            req.first_byte_timeout = Some(settings.boost_first_byte_timeout);
        }
        Some(req)
    }
}
