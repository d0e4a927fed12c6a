//! Client for OpenAI-compatible servers (`/v1/chat/completions`, streamed SSE: llama.cpp's
//! server, vLLM, LiteLLM in front of Ollama).
//!
//! The context size cannot be set per request on this API, so the client asks the server what
//! it has (llama.cpp: `meta.n_ctx` in `/v1/models`, or `/props`) and plans with the smaller of
//! that and `llm.num_ctx` (default [`UNKNOWN_CONTEXT_LENGTH`] when neither says). Where the
//! server offers its tokenizer (llama.cpp `/tokenize`) each prompt is counted exactly before it
//! is sent; truncation is judged from `usage.prompt_tokens` against the server's context.
//! Thinking cannot be controlled (inline `<think>` text is stripped). A server that refuses
//! `response_format: json_schema` is asked with `json_object`, then with the schema in the
//! prompt only, and later calls of the run start from what worked.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::budget::{Budget, MESSAGE_OVERHEAD, REQUEST_OVERHEAD};
use super::client::Client;
use super::dialect::{Call, Dialect, SchemaMode, Stream};
use super::driver::{Plan, PromptCounter};
use super::ollama::UNKNOWN_CONTEXT_LENGTH;
use super::progress::{CallRecord, first_chars};
use super::transport::probe_json;
use super::{ApiKind, BoxFuture, ChatRequest, Llm, LlmError, LlmSettings, Message, Reply};

/// The ways of asking for JSON, best first.
const SCHEMA_MODES: [SchemaMode; 3] = [
    SchemaMode::JsonSchema,
    SchemaMode::JsonObject,
    SchemaMode::Prompt,
];

/// Whether the server counts tokens for us (`/tokenize`).
const TOKENIZER_UNKNOWN: u8 = 0;
const TOKENIZER_YES: u8 = 1;
const TOKENIZER_NO: u8 = 2;

#[derive(Default)]
struct Probed {
    models: Option<Vec<String>>,
    /// The server's context size, once asked (`Some(None)`: it does not say).
    context: Option<Option<u32>>,
}

/// Client of an OpenAI-compatible server.
pub type OpenAiClient = Client<OpenAi>;

/// What an OpenAI-compatible client keeps per run: the probes, the JSON mode that works, and
/// whether the server counts tokens.
pub struct OpenAi {
    probed: Mutex<Probed>,
    /// Index into [`SCHEMA_MODES`] of the first mode worth trying.
    schema_floor: Arc<AtomicUsize>,
    tokenizer: Arc<AtomicU8>,
}

impl OpenAiClient {
    pub fn new(settings: LlmSettings) -> Result<Self, LlmError> {
        Client::with_server(
            settings,
            OpenAi {
                probed: Mutex::new(Probed::default()),
                schema_floor: Arc::new(AtomicUsize::new(0)),
                tokenizer: Arc::new(AtomicU8::new(TOKENIZER_UNKNOWN)),
            },
        )
    }

    fn url(&self, path: &str) -> String {
        let base = self.settings().base();
        let base = base.strip_suffix("/v1").unwrap_or(base);
        format!("{base}{path}")
    }

    /// `/v1/models` (cached); empty when the server does not offer the list. Notes the
    /// context size llama.cpp reports there (`meta.n_ctx`).
    pub async fn models(&self) -> Result<Vec<String>, LlmError> {
        let mut probed = self.server.probed.lock().await;
        if let Some(m) = probed.models.clone() {
            return Ok(m);
        }
        let (status, v) = probe_json(
            &self.driver.http,
            self.settings(),
            &self.url("/v1/models"),
            None,
            "-",
        )
        .await?;
        let data = v["data"].as_array().filter(|_| status == 200);
        let names: Vec<String> = data
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(n) = data
            .and_then(|a| a.iter().find_map(|m| m["meta"]["n_ctx"].as_u64()))
            .filter(|n| *n > 0)
        {
            probed.context = Some(Some(n.min(u32::MAX as u64) as u32));
        }
        probed.models = Some(names.clone());
        Ok(names)
    }

    /// The server's own context size, when it says (`/v1/models` `meta.n_ctx`, else llama.cpp
    /// `/props`); asked once per run.
    pub async fn server_context(&self) -> Option<u32> {
        let _ = self.models().await;
        let mut probed = self.server.probed.lock().await;
        if let Some(c) = probed.context {
            return c;
        }
        let ctx = match probe_json(
            &self.driver.http,
            self.settings(),
            &self.url("/props"),
            None,
            "-",
        )
        .await
        {
            Ok((200, v)) => v["default_generation_settings"]["n_ctx"]
                .as_u64()
                .or(v["n_ctx"].as_u64())
                .filter(|n| *n > 0)
                .map(|n| n.min(u32::MAX as u64) as u32),
            _ => None,
        };
        probed.context = Some(ctx);
        ctx
    }

    /// The context to plan with: the server's, capped by `llm.num_ctx` when that is set.
    async fn context(&self) -> (u32, String) {
        let server = self.server_context().await;
        match (self.settings().num_ctx, server) {
            (Some(set), Some(has)) if set > has => (
                has,
                format!("context {has} from the server (llm.num_ctx {set} is more than it has)"),
            ),
            (Some(set), _) => (set, format!("context {set} from llm.num_ctx")),
            (None, Some(has)) => (has, format!("context {has} from the server")),
            (None, None) => (
                UNKNOWN_CONTEXT_LENGTH,
                format!(
                    "context {UNKNOWN_CONTEXT_LENGTH} assumed: the server does not say; set llm.num_ctx"
                ),
            ),
        }
    }

    async fn budget_for(&self, model: &str, max_output: Option<u32>) -> Budget {
        let (num_ctx, _) = self.context().await;
        self.driver.budget(model, num_ctx, max_output)
    }

    async fn chat_inner(
        &self,
        req: &ChatRequest,
        record: &mut CallRecord,
    ) -> Result<Reply, LlmError> {
        let models = self.models().await?;
        if !models.is_empty() && !models.iter().any(|m| m == &req.model) {
            return Err(LlmError::ModelMissing {
                model: req.model.clone(),
                available: models,
                base_url: self.settings().base().into(),
            });
        }
        let (num_ctx, note) = self.context().await;
        let budget = self
            .driver
            .budget(&req.model, num_ctx, req.max_output_tokens);
        let counter = (self.server.tokenizer.load(Ordering::Relaxed) != TOKENIZER_NO).then(|| {
            Box::new(Tokenizer {
                http: self.driver.http.clone(),
                settings: self.settings().clone(),
                url: self.url("/tokenize"),
                state: self.server.tokenizer.clone(),
            }) as Box<dyn PromptCounter>
        });
        let plan = Plan {
            url: self.url("/v1/chat/completions"),
            budget,
            server_ctx: num_ctx,
            counter,
            context_note: note,
        };
        let dialect = OpenAiChat {
            floor: self.server.schema_floor.clone(),
        };
        match self.driver.chat(&dialect, req, plan, record).await {
            Err(LlmError::Server {
                status: 404,
                body,
                model,
            }) if body.to_lowercase().contains("model") => Err(LlmError::ModelMissing {
                model,
                available: self.models().await.unwrap_or_default(),
                base_url: self.settings().base().into(),
            }),
            other => other,
        }
    }
}

/// llama.cpp's `/tokenize`: the server's own count of a prompt (the chat template's few tokens
/// per message are covered by our overheads).
struct Tokenizer {
    http: reqwest::Client,
    settings: LlmSettings,
    url: String,
    state: Arc<AtomicU8>,
}

impl PromptCounter for Tokenizer {
    fn count<'a>(&'a self, messages: &'a [Message]) -> BoxFuture<'a, Option<u32>> {
        Box::pin(async move {
            let text: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
            let body = json!({"content": text.join("\n"), "add_special": false});
            let res = probe_json(&self.http, &self.settings, &self.url, Some(&body), "-").await;
            let n = match &res {
                Ok((200, v)) => v["tokens"].as_array().map(|t| t.len() as u32),
                _ => None,
            };
            match n {
                Some(n) => {
                    self.state.store(TOKENIZER_YES, Ordering::Relaxed);
                    Some(
                        n.saturating_add(MESSAGE_OVERHEAD * messages.len() as u32)
                            .saturating_add(REQUEST_OVERHEAD),
                    )
                }
                None => {
                    // No tokenizer here (not llama.cpp, or an older one): stop asking.
                    if !matches!(res, Err(LlmError::Timeout { .. })) {
                        self.state.store(TOKENIZER_NO, Ordering::Relaxed);
                    }
                    None
                }
            }
        })
    }
}

/// The `/v1/chat/completions` wire format, for one call.
struct OpenAiChat {
    floor: Arc<AtomicUsize>,
}

impl Dialect for OpenAiChat {
    fn api(&self) -> ApiKind {
        ApiKind::Openai
    }

    fn schema_modes(&self) -> Vec<SchemaMode> {
        let floor = self
            .floor
            .load(Ordering::Relaxed)
            .min(SCHEMA_MODES.len() - 1);
        SCHEMA_MODES[floor..].to_vec()
    }

    fn schema_refused(&self, mode: SchemaMode) {
        if let Some(i) = SCHEMA_MODES.iter().position(|m| *m == mode) {
            self.floor.fetch_max(i + 1, Ordering::Relaxed);
        }
    }

    fn body(&self, call: &Call<'_>) -> Value {
        let req = call.request;
        let mut body = json!({
            "model": req.model,
            "messages": call.messages,
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": call.budget.reserved_output,
        });
        if let Some(t) = req.temperature {
            body["temperature"] = json!(t);
        }
        if let Some(s) = call.seed {
            body["seed"] = json!(s);
        }
        match (call.schema_mode, &req.json_schema) {
            (Some(SchemaMode::JsonSchema), Some(schema)) => {
                body["response_format"] = json!({
                    "type": "json_schema",
                    "json_schema": {"name": "reply", "schema": schema},
                });
            }
            (Some(SchemaMode::JsonObject), Some(_)) => {
                body["response_format"] = json!({"type": "json_object"});
            }
            _ => {}
        }
        body
    }

    fn decode(&self, model: &str, line: &str, stream: &mut Stream) -> Result<bool, LlmError> {
        let Some(data) = line.strip_prefix("data:") else {
            return Ok(false); // SSE comments, `event:` lines
        };
        let data = data.trim();
        if data == "[DONE]" {
            return Ok(true);
        }
        let v: Value = serde_json::from_str(data).map_err(|e| LlmError::StreamError {
            model: model.to_string(),
            message: format!("unreadable event ({e}): {}", first_chars(data, 200)),
        })?;
        if let Some(err) = v.get("error") {
            return Err(LlmError::StreamError {
                model: model.to_string(),
                message: err["message"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| err.to_string()),
            });
        }
        if let Some(choice) = v["choices"].get(0) {
            let delta = &choice["delta"];
            stream.push(
                delta["content"].as_str().unwrap_or(""),
                delta["reasoning_content"]
                    .as_str()
                    .or(delta["reasoning"].as_str()),
            );
            if let Some(f) = choice["finish_reason"].as_str() {
                stream.done_reason = Some(f.to_string());
            }
        }
        let c = &mut stream.counts;
        let num = |v: &Value| v.as_u64().map(|n| n.min(u32::MAX as u64) as u32);
        if v["usage"].is_object() {
            c.prompt_tokens = num(&v["usage"]["prompt_tokens"]).or(c.prompt_tokens);
            c.output_tokens = num(&v["usage"]["completion_tokens"]).or(c.output_tokens);
        }
        let t = &v["timings"];
        if t.is_object() {
            let secs = |k: &str| t[k].as_f64().map(|ms| ms / 1000.0);
            c.prompt_seconds = secs("prompt_ms").or(c.prompt_seconds);
            c.eval_seconds = secs("predicted_ms").or(c.eval_seconds);
            c.tokens_per_second = t["predicted_per_second"]
                .as_f64()
                .filter(|r| r.is_finite() && *r > 0.0)
                .or(c.tokens_per_second);
        }
        if let Some(b) = v["truncated"].as_bool() {
            c.truncated = Some(b);
        }
        Ok(false)
    }

    fn cut_short(&self, done: bool, stream: &Stream) -> Option<&'static str> {
        (!done && stream.done_reason.is_none())
            .then_some("the stream ended before the answer was finished")
    }
}

impl Llm for OpenAiClient {
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<Reply, LlmError>> {
        Box::pin(self.driver.ledger.recorded(request, async |record| {
            self.chat_inner(request, record).await
        }))
    }

    fn budget<'a>(
        &'a self,
        model: &'a str,
        max_output_tokens: Option<u32>,
    ) -> BoxFuture<'a, Result<Budget, LlmError>> {
        Box::pin(async move { Ok(self.budget_for(model, max_output_tokens).await) })
    }

    fn preflight<'a>(&'a self, models: &'a [String]) -> BoxFuture<'a, Result<(), LlmError>> {
        Box::pin(async move {
            let available = self.models().await?;
            let missing: Vec<&str> = models
                .iter()
                .filter(|m| !available.is_empty() && !available.contains(m))
                .map(String::as_str)
                .collect();
            if missing.is_empty() {
                return Ok(());
            }
            Err(LlmError::ModelMissing {
                model: missing.join(" "),
                available,
                base_url: self.settings().base().into(),
            })
        })
    }
}
