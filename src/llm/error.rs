//! The one error type of the LLM port. Every message says what to check next.

use std::time::Duration;

/// Which wait ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// TCP/TLS connection to the server.
    Connect,
    /// From sending the request to the first byte of the answer (includes model load and
    /// prompt evaluation: a cold 120B model may take minutes).
    FirstByte,
    /// Silence between two chunks of a streamed answer.
    Idle,
    /// A short metadata request (`/api/version`, `/api/tags`, `/api/show`).
    Probe,
}

impl std::fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connect",
            TimeoutPhase::FirstByte => "first-byte",
            TimeoutPhase::Idle => "idle",
            TimeoutPhase::Probe => "probe",
        })
    }
}

/// Errors of the LLM port. Callers branch on the variant; the message is for humans.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error(
        "cannot reach the LLM server at {base_url}: {detail}. Check that the server runs and \
         that OLLAMA_BASE_URL is right: `curl {base_url}/api/tags` should list your models"
    )]
    Unreachable { base_url: String, detail: String },

    #[error(
        "model `{model}` is not available on {base_url}. Available models: {}. Pull it on the \
         server ({}), or fix the model name in .llm-team.yml (`curl {base_url}/api/tags` lists \
         what the server has)",
        if available.is_empty() { "(none)".to_string() } else { available.join(", ") },
        model.split(' ').map(|m| format!("`ollama pull {m}`")).collect::<Vec<_>>().join(", ")
    )]
    ModelMissing {
        /// The missing model (several, space-separated, from a preflight).
        model: String,
        available: Vec<String>,
        base_url: String,
    },

    #[error(
        "prompt for `{model}` is too large: about {prompt_tokens} tokens plus {reserved_output} \
         reserved for the answer exceed the context window num_ctx={num_ctx}. The prompt was \
         NOT sent (Ollama would have truncated it silently). Give the role less material (ask \
         the budget for room), lower max output tokens, or raise `llm.num_ctx` if the model and \
         the GPU memory allow it"
    )]
    ContextTooSmall {
        model: String,
        prompt_tokens: u32,
        reserved_output: u32,
        num_ctx: u32,
    },

    #[error(
        "the prompt sent to `{model}` was probably truncated by the server: it evaluated \
         {prompt_eval_count} prompt tokens (estimate {estimated} tokens) against num_ctx={num_ctx}, \
         leaving no room for the {reserved_output} output tokens reserved. The answer cannot be \
         trusted. Check the server's context setting (OLLAMA_CONTEXT_LENGTH), raise `llm.num_ctx`, \
         or send less material"
    )]
    PromptTruncated {
        model: String,
        prompt_eval_count: u32,
        estimated: u32,
        num_ctx: u32,
        reserved_output: u32,
    },

    #[error(
        "the answer of `{model}` was cut off after {eval_count} tokens (done_reason \"length\", \
         limit {limit} tokens). Raise the role's max output tokens, or ask for a shorter answer"
    )]
    OutputTruncated {
        model: String,
        eval_count: u32,
        limit: u32,
        /// What had arrived before the cut.
        partial: String,
    },

    #[error(
        "timed out after {after:?} waiting for `{model}` ({phase} timeout) at {base_url}. {}",
        match phase {
            TimeoutPhase::Connect => "Check that the server is up and reachable from this runner.",
            TimeoutPhase::FirstByte => "A large model may take minutes to load: raise \
                `llm.first_byte_timeout` (or `llm.boost_first_byte_timeout`), or check the \
                server's load (`ollama ps`).",
            TimeoutPhase::Idle => "The server stopped sending tokens: check its logs and \
                GPU memory (`ollama ps`), or raise `llm.idle_timeout`.",
            TimeoutPhase::Probe => "Check that the server answers `curl <base_url>/api/version` quickly.",
        }
    )]
    Timeout {
        phase: TimeoutPhase,
        after: Duration,
        model: String,
        base_url: String,
    },

    #[error(
        "the LLM server answered HTTP {status} for `{model}`: {body}. {}",
        match status {
            404 => "Is the model pulled (`curl <base_url>/api/tags`) and the URL right?",
            400 => "The request was refused: check the model name and options (context, format).",
            429 => "The server is overloaded: retries were exhausted; lower concurrency or try later.",
            500..=599 => "The server failed: check its logs (out of GPU memory? model load failed?).",
            _ => "Check the server's logs.",
        }
    )]
    Server {
        status: u16,
        body: String,
        model: String,
    },

    #[error(
        "the stream from `{model}` failed: {message}. The server reported the error after \
         starting the answer (HTTP 200): check the server's logs (out of memory? model crashed?)"
    )]
    StreamError { model: String, message: String },

    #[error(
        "`{model}` gave no valid structured reply after {attempts} attempt(s): {last_error}. \
         Last reply (start): {last_reply_excerpt:?}. Try a stronger model (boost), a lower \
         temperature, or a simpler schema"
    )]
    InvalidStructuredReply {
        model: String,
        attempts: u32,
        last_error: String,
        last_reply_excerpt: String,
    },

    #[error("no model is configured for this step (deterministic mode `none`)")]
    NoModel,

    #[error("bad LLM request or configuration: {0}")]
    Invalid(String),
}

impl LlmError {
    /// True for faults worth retrying the same request for (connection trouble, 5xx, 429).
    pub fn is_retryable(&self) -> bool {
        match self {
            LlmError::Unreachable { .. } => true,
            LlmError::Timeout { phase, .. } => *phase == TimeoutPhase::Connect,
            LlmError::Server { status, .. } => *status == 429 || (500..=599).contains(status),
            _ => false,
        }
    }
}
