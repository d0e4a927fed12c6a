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
    /// A short metadata request (`/api/version`, `/api/tags`, `/api/show`, `/props`).
    Probe,
    /// The whole call (retries, load, prompt, streaming) ran past `llm.call_deadline`.
    Deadline,
}

impl std::fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connect",
            TimeoutPhase::FirstByte => "first-byte",
            TimeoutPhase::Idle => "idle",
            TimeoutPhase::Probe => "probe",
            TimeoutPhase::Deadline => "call deadline",
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
         NOT sent (the server would have cut or refused it). Give the role less material (ask \
         the budget for room), lower max output tokens, or give the model a larger context \
         (`llm.num_ctx`; the server must really have it)"
    )]
    ContextTooSmall {
        model: String,
        prompt_tokens: u32,
        reserved_output: u32,
        num_ctx: u32,
    },

    #[error(
        "the prompt sent to `{model}` was truncated by the server: it evaluated {prompt_eval_count} \
         prompt tokens, filling its context of {num_ctx} (our estimate was {estimated}), so the \
         start of the prompt was dropped and the answer cannot be trusted. {advice}"
    )]
    PromptTruncated {
        model: String,
        prompt_eval_count: u32,
        estimated: u32,
        num_ctx: u32,
        reserved_output: u32,
        /// The knob for the API in use (see [`context_advice`]).
        advice: String,
    },

    #[error(
        "the prompt for `{model}` does not fit the server's context{}: {detail}. {advice}",
        match (prompt_tokens, num_ctx) {
            (Some(p), Some(c)) => format!(" ({p} prompt tokens, context {c})"),
            (Some(p), None) => format!(" ({p} prompt tokens)"),
            (None, Some(c)) => format!(" (context {c})"),
            (None, None) => String::new(),
        }
    )]
    ContextExceeded {
        model: String,
        /// The prompt size as the server counted it, when it said.
        prompt_tokens: Option<u32>,
        /// The server's context size, when known.
        num_ctx: Option<u32>,
        /// What the server said (or what we counted).
        detail: String,
        advice: String,
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
        "the answer of `{model}` passed the output cap of {limit} {unit} (`{setting}`) and was \
         stopped after {got} {unit}: the server ignores the output limit (num_predict / \
         max_tokens) or the model repeats itself. Raise `{setting}` only if an answer really \
         needs that much; otherwise check the server and the model"
    )]
    OutputLimit {
        model: String,
        limit: u64,
        got: u64,
        /// `bytes` or `tokens`.
        unit: &'static str,
        /// The setting that sets the cap.
        setting: String,
    },

    #[error(
        "the answer of the LLM server at {url} is larger than {limit} bytes and was not read \
         further. Check that `llm.base_url` points at an Ollama or OpenAI-compatible server"
    )]
    ResponseTooLarge { url: String, limit: u64 },

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
            TimeoutPhase::Deadline => "The call was stopped at `llm.call_deadline`: the server \
                may ignore the output limit or be overloaded. Raise `llm.call_deadline` if \
                calls this long are expected on your hardware.",
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
    /// True for faults worth retrying the same request for (connection trouble, 429, and a
    /// 5xx whose body does not say the request itself is invalid: sending an invalid request
    /// again only fails again).
    pub fn is_retryable(&self) -> bool {
        match self {
            LlmError::Unreachable { .. } => true,
            LlmError::Timeout { phase, .. } => *phase == TimeoutPhase::Connect,
            LlmError::Server { status, body, .. } => {
                *status == 429 || ((500..=599).contains(status) && !says_invalid_request(body))
            }
            _ => false,
        }
    }

    /// True when the prompt did not fit the context: refused before sending
    /// ([`LlmError::ContextTooSmall`]), rejected by the server ([`LlmError::ContextExceeded`])
    /// or cut by it ([`LlmError::PromptTruncated`]). A caller can send less and try again.
    pub fn is_context_overflow(&self) -> bool {
        matches!(
            self,
            LlmError::ContextTooSmall { .. }
                | LlmError::ContextExceeded { .. }
                | LlmError::PromptTruncated { .. }
        )
    }
}

/// Whether an error body says the request is invalid (so retrying it is pointless), whatever
/// the status: llama.cpp marks them `invalid_request_error`, llama-cpp-python and LiteLLM
/// answer validation failures with a 500 and a message.
pub(crate) fn says_invalid_request(body: &str) -> bool {
    let b = body.to_ascii_lowercase();
    [
        "invalid_request",
        "invalid request",
        "validation error",
        "validationerror",
        "unprocessable",
        "exceed_context_size",
        "exceeds the available context",
        "larger than the max context",
        "context length",
        "context_length_exceeded",
        "maximum context",
        "not supported",
        "unsupported",
        "failed to parse",
        "must be one of",
        "json_schema",
        "response_format",
        "grammar",
    ]
    .iter()
    .any(|k| b.contains(k))
}

/// What to change when a prompt does not fit, for the API in use: Ollama takes our `num_ctx`
/// on every request; an OpenAI-compatible server has its own context, set where it starts.
pub fn context_advice(api: super::ApiKind) -> String {
    match api {
        super::ApiKind::Ollama => "Send less material, or raise `llm.num_ctx` / \
            `llm.max_num_ctx` (sent to Ollama as options.num_ctx on every request) if the model \
            and the GPU memory allow it"
            .into(),
        super::ApiKind::Openai => "Send less material, or give the server a larger context \
            where it starts (llama.cpp `--ctx-size`, vLLM `--max-model-len`, the backend behind \
            LiteLLM) and set `llm.num_ctx` to what it really has; `num_ctx` cannot be set per \
            request on this API"
            .into(),
    }
}
