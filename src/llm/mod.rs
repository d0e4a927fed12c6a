//! The LLM port: the roles ask a model through a trait; Ollama is the first implementation.
//!
//! * [`Llm`] is the trait the roles hold (`&dyn Llm` or `Arc<dyn Llm>`); they never see HTTP.
//! * One chat pipeline ([`driver`]) with a small wire-format trait ([`dialect`]):
//!   [`OllamaClient`] speaks Ollama's native `/api/chat` (streaming NDJSON) and controls
//!   `num_ctx`, `think` and `format` explicitly; [`OpenAiClient`] speaks `/v1/chat/completions`
//!   (SSE), asks the server its context and counts prompts with its tokenizer where it can.
//!   Every call has a total deadline and output caps (`llm.call_deadline`,
//!   `llm.max_output_bytes`); every body read is bounded.
//! * [`budget`] estimates prompt tokens and tells roles how much room they have, calibrated by
//!   the server's own counts ([`calibrate`]); a prompt that does not fit is refused, never sent
//!   to be truncated silently.
//! * [`structured::chat_json`] gets JSON replies validated against a schema, with repair and
//!   bounded retries; [`reply_schema()`] derives that schema from the reply's Rust type.
//! * [`ScriptedLlm`] is an in-process fake for role unit tests.
//!
//! The trait returns a boxed future so that it is object safe (`dyn Llm`) without the
//! `async_trait` crate: implementors write `Box::pin(async move { … })`.

pub mod budget;
pub(crate) mod calibrate;
mod client;
mod dialect;
mod driver;
mod error;
pub(crate) mod fake;
mod lines;
pub(crate) mod ollama;
pub(crate) mod openai;
pub mod progress;
pub mod prompts;
pub(crate) mod reply_schema;
mod settings;
pub mod structured;
mod think;
mod transport;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use budget::{Budget, estimate_message_tokens, estimate_tokens};
pub use client::Client;
pub use error::{LlmError, TimeoutPhase, context_advice};
pub use fake::{Scripted, ScriptedLlm};
pub use ollama::OllamaClient;
pub use openai::OpenAiClient;
pub use progress::{CallRecord, Ledger, ProgressSink, render_markdown_table};
pub use prompts::{PromptLibrary, redact, untrusted_block};
pub use reply_schema::reply_schema;
pub use settings::{
    ApiKind, LlmSettings, ModelRouting, NO_MODEL, RoleModel, RoleName, Route, Tier,
};
pub use structured::{Structured, chat_json, extract_json};
pub use think::strip_think;

/// A boxed, sendable future (what the object-safe trait returns).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who speaks in a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    System,
    User,
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: ChatRole,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Message {
            role: ChatRole::System,
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: ChatRole::User,
            content: content.into(),
        }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Message {
            role: ChatRole::Assistant,
            content: content.into(),
        }
    }
}

/// How much a thinking model should think. Ignored for models without the `thinking`
/// capability; gpt-oss cannot switch thinking off and gets `Low` instead of `Off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Think {
    /// No thinking (the default: at ~20 tok/s thinking is expensive, and it breaks `format`).
    #[default]
    Off,
    Low,
    Medium,
    High,
}

/// One chat request, as the roles build it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    pub temperature: Option<f32>,
    /// Maximum output tokens (`num_predict`); also the room reserved in the context.
    pub max_output_tokens: Option<u32>,
    /// JSON schema the reply must follow (sent as Ollama `format`).
    pub json_schema: Option<serde_json::Value>,
    pub think: Think,
    /// Overrides the settings' first-byte timeout (boost routes use a longer one).
    pub first_byte_timeout: Option<Duration>,
    /// Overrides the settings' total deadline of the call (`llm.call_deadline`).
    pub deadline: Option<Duration>,
    /// For progress lines and the call record.
    pub role: Option<RoleName>,
    /// Which step of the role's work the call is (e.g. `round 2 (fix 1 after failing tests)`),
    /// for progress lines and the call record.
    pub step: Option<String>,
}

impl ChatRequest {
    pub fn new(model: impl Into<String>, messages: Vec<Message>) -> Self {
        ChatRequest {
            model: model.into(),
            messages,
            temperature: None,
            max_output_tokens: None,
            json_schema: None,
            think: Think::Off,
            first_byte_timeout: None,
            deadline: None,
            role: None,
            step: None,
        }
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DoneReason {
    Stop,
    Length,
    Other(String),
}

impl DoneReason {
    pub fn parse(s: &str) -> Self {
        match s {
            "stop" | "" => DoneReason::Stop,
            "length" => DoneReason::Length,
            o => DoneReason::Other(o.to_string()),
        }
    }
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The answer text (thinking removed).
    pub text: String,
    /// Separate thinking text, when the server returned it.
    pub thinking: Option<String>,
    pub done_reason: DoneReason,
    /// Accounting for this call (tokens, durations, tokens/s).
    pub usage: CallRecord,
}

/// The LLM port. Object safe: roles hold `&dyn Llm` / `Arc<dyn Llm>`.
pub trait Llm: Send + Sync {
    /// Sends one chat request and waits for the complete answer.
    ///
    /// Fails (never silently) when the prompt does not fit the context (see
    /// [`LlmError::is_context_overflow`]), when the output was cut (`done_reason: "length"` →
    /// [`LlmError::OutputTruncated`]) or ran past its caps ([`LlmError::OutputLimit`]), on
    /// stream errors, timeouts (the call's deadline included) and HTTP errors.
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<Reply, LlmError>>;

    /// The context budget for a model: how many prompt tokens a role may use.
    fn budget<'a>(
        &'a self,
        model: &'a str,
        max_output_tokens: Option<u32>,
    ) -> BoxFuture<'a, Result<Budget, LlmError>>;

    /// Checks once, at the start of a run, that the server is reachable and has every model
    /// the run may use; one error names all missing models and lists those that exist.
    fn preflight<'a>(&'a self, models: &'a [String]) -> BoxFuture<'a, Result<(), LlmError>> {
        let _ = models;
        Box::pin(async { Ok(()) })
    }
}

/// Builds the client the settings ask for (`api: ollama` or `api: openai`), recording every
/// call into `ledger`, redacting `secrets` from every message, and writing progress to stderr.
pub fn connect(
    settings: &LlmSettings,
    ledger: Ledger,
    secrets: Vec<String>,
) -> Result<std::sync::Arc<dyn Llm>, LlmError> {
    Ok(match settings.api {
        ApiKind::Ollama => std::sync::Arc::new(
            OllamaClient::new(settings.clone())?
                .with_ledger(ledger)
                .with_secrets(secrets),
        ),
        ApiKind::Openai => std::sync::Arc::new(
            OpenAiClient::new(settings.clone())?
                .with_ledger(ledger)
                .with_secrets(secrets),
        ),
    })
}
