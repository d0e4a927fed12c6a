//! What differs between the wire formats of the chat driver ([`super::driver`]): how a request
//! body is built, how one streamed line is decoded, and what the end of the stream means. The
//! Ollama (`/api/chat`, NDJSON) and OpenAI-compatible (`/v1/chat/completions`, SSE) clients each
//! implement it; everything else about a call exists once, in the driver.

use serde_json::Value;

use super::{ApiKind, Budget, ChatRequest, LlmError, Message};

/// How a JSON reply is asked for, best first. A server that refuses one gets the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SchemaMode {
    /// Ollama's `format` with the schema.
    Format,
    /// `response_format: {type: json_schema}`.
    JsonSchema,
    /// `response_format: {type: json_object}`, the schema in the prompt.
    JsonObject,
    /// The schema in the prompt only; the reply is repaired and validated by the caller.
    Prompt,
}

impl SchemaMode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SchemaMode::Format => "format",
            SchemaMode::JsonSchema => "json_schema",
            SchemaMode::JsonObject => "json_object",
            SchemaMode::Prompt => "prompt",
        }
    }

    /// Whether the schema must also be written into the prompt.
    pub(crate) fn schema_in_prompt(self) -> bool {
        matches!(self, SchemaMode::JsonObject | SchemaMode::Prompt)
    }
}

/// One call as the dialect builds it.
pub(crate) struct Call<'a> {
    pub request: &'a ChatRequest,
    /// Redacted messages (with the schema appended when the mode needs it).
    pub messages: &'a [Message],
    pub budget: &'a Budget,
    pub seed: Option<u64>,
    /// `None` when the request wants no JSON.
    pub schema_mode: Option<SchemaMode>,
}

/// What the server said about the call (everything optional: servers differ).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ServerCounts {
    pub prompt_tokens: Option<u32>,
    pub output_tokens: Option<u32>,
    pub load_seconds: Option<f64>,
    pub prompt_seconds: Option<f64>,
    pub eval_seconds: Option<f64>,
    pub total_seconds: Option<f64>,
    /// Generation rate as the server measured it.
    pub tokens_per_second: Option<f64>,
    /// The server says it cut the prompt (llama.cpp `truncated`).
    pub truncated: Option<bool>,
}

/// The answer as it streams in.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    pub text: String,
    pub thinking: String,
    /// Chunks that carried text or thinking (one token each on Ollama and llama.cpp).
    pub chunks: u64,
    pub done_reason: Option<String>,
    pub counts: ServerCounts,
}

impl Stream {
    pub(crate) fn bytes(&self) -> u64 {
        (self.text.len() + self.thinking.len()) as u64
    }

    /// Appends streamed text; counts the chunk when it carried any.
    pub(crate) fn push(&mut self, text: &str, thinking: Option<&str>) {
        let thinking = thinking.unwrap_or("");
        if !text.is_empty() || !thinking.is_empty() {
            self.chunks += 1;
        }
        self.text.push_str(text);
        self.thinking.push_str(thinking);
    }
}

/// One wire format.
pub(crate) trait Dialect: Send + Sync {
    fn api(&self) -> ApiKind;

    /// The ways this server may be asked for JSON, best first, starting with the one known to
    /// work when an earlier call found out.
    fn schema_modes(&self) -> Vec<SchemaMode>;

    /// Notes that the server refused `mode` (later calls start further down the list).
    fn schema_refused(&self, mode: SchemaMode) {
        let _ = mode;
    }

    /// Builds the request body.
    fn body(&self, call: &Call<'_>) -> Value;

    /// Decodes one line of the stream into `stream`; `Ok(true)` when the answer is complete.
    fn decode(&self, model: &str, line: &str, stream: &mut Stream) -> Result<bool, LlmError>;

    /// Why the stream ended before the answer did, if it did: `done` tells whether
    /// [`Dialect::decode`] saw the end.
    fn cut_short(&self, done: bool, stream: &Stream) -> Option<&'static str>;
}
