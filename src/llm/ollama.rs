//! Ollama's native API: `/api/chat` (streamed NDJSON), probed with `/api/version`,
//! `/api/tags` and `/api/show` once per run.
//!
//! What this client does that a naive one does not:
//! * sets `options.num_ctx` explicitly, choosing **one value per model per run** (so the
//!   server never reloads the model because the context changed between calls);
//! * refuses a prompt whose calibrated (over-)estimate does not fit `num_ctx` minus the output
//!   room, fails when `prompt_eval_count` filled `num_ctx` (the server cut the prompt), and
//!   calibrates the estimate from `prompt_eval_count`;
//! * sends `think` only to models with the `thinking` capability (`false` for JSON replies,
//!   `"low"`/`"medium"`/`"high"` for gpt-oss, which cannot switch thinking off);
//! * treats an `{"error": …}` line after HTTP 200 as a failure and `done_reason: "length"`
//!   as truncated output.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::budget::Budget;
use super::client::Client;
use super::dialect::{Call, Dialect, SchemaMode, Stream};
use super::driver::Plan;
use super::progress::CallRecord;
use super::transport::probe_json;
use super::{ApiKind, BoxFuture, ChatRequest, Llm, LlmError, LlmSettings, Reply, Think};

/// Context length assumed when `/api/show` does not report one.
pub const UNKNOWN_CONTEXT_LENGTH: u32 = 8192;

/// What `/api/show` told us about a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub name: String,
    /// `model_info.<arch>.context_length` (the model's maximum, not the server's default).
    pub context_length: Option<u32>,
    pub capabilities: Vec<String>,
    pub architecture: Option<String>,
    pub family: Option<String>,
    /// Named thinking levels, when `/api/show` lists them (`thinking.values`, newer servers).
    pub think_levels: Vec<String>,
}

impl ModelInfo {
    pub fn can_think(&self) -> bool {
        self.capabilities.iter().any(|c| c == "thinking")
    }

    /// gpt-oss takes a thinking level and cannot turn thinking off.
    pub fn think_takes_level(&self) -> bool {
        if !self.think_levels.is_empty() {
            return true;
        }
        let is = |s: &str| s.replace(['-', '_'], "").contains("gptoss");
        is(&self.name)
            || self.family.as_deref().is_some_and(is)
            || self.architecture.as_deref().is_some_and(is)
    }
}

#[derive(Default)]
struct Cache {
    version: Option<String>,
    tags: Option<Vec<String>>,
    models: HashMap<String, ModelInfo>,
    num_ctx: HashMap<String, u32>,
}

/// Client of Ollama's native API. One per run (it caches probes and `num_ctx` choices, and
/// calibrates token estimates per model).
pub type OllamaClient = Client<Ollama>;

/// What an Ollama client keeps per run: the probes and the `num_ctx` chosen per model.
pub struct Ollama {
    cache: Mutex<Cache>,
}

#[derive(Debug, Default, Deserialize)]
struct ChunkMessage {
    #[serde(default)]
    content: String,
    #[serde(default)]
    thinking: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Chunk {
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    message: Option<ChunkMessage>,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    done_reason: Option<String>,
    #[serde(default)]
    total_duration: Option<u64>,
    #[serde(default)]
    load_duration: Option<u64>,
    #[serde(default)]
    prompt_eval_count: Option<u32>,
    #[serde(default)]
    prompt_eval_duration: Option<u64>,
    #[serde(default)]
    eval_count: Option<u32>,
    #[serde(default)]
    eval_duration: Option<u64>,
}

/// The strings in a JSON array (none when it is not one).
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn ns(v: Option<u64>) -> f64 {
    v.unwrap_or(0) as f64 / 1e9
}

impl OllamaClient {
    pub fn new(settings: LlmSettings) -> Result<Self, LlmError> {
        Client::with_server(
            settings,
            Ollama {
                cache: Mutex::new(Cache::default()),
            },
        )
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.settings().base(), path)
    }

    async fn get_json(
        &self,
        path: &str,
        body: Option<Value>,
        model: &str,
    ) -> Result<(u16, Value), LlmError> {
        probe_json(
            &self.driver.http,
            self.settings(),
            &self.url(path),
            body.as_ref(),
            model,
        )
        .await
    }

    /// A GET of a server-wide endpoint that must answer 200.
    async fn get_ok(&self, path: &str) -> Result<Value, LlmError> {
        let (status, v) = self.get_json(path, None, "-").await?;
        if status != 200 {
            return Err(LlmError::Server {
                status,
                body: v.to_string(),
                model: "-".into(),
            });
        }
        Ok(v)
    }

    /// `/api/version` (cached). Proves the server is reachable.
    pub async fn version(&self) -> Result<String, LlmError> {
        if let Some(v) = self.server.cache.lock().await.version.clone() {
            return Ok(v);
        }
        let v = self.get_ok("/api/version").await?;
        let ver = v["version"].as_str().unwrap_or("unknown").to_string();
        self.server.cache.lock().await.version = Some(ver.clone());
        Ok(ver)
    }

    /// Model names from `/api/tags` (cached).
    pub async fn models(&self) -> Result<Vec<String>, LlmError> {
        if let Some(t) = self.server.cache.lock().await.tags.clone() {
            return Ok(t);
        }
        let v = self.get_ok("/api/tags").await?;
        let mut names: Vec<String> = v["models"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| {
                        m["name"]
                            .as_str()
                            .or(m["model"].as_str())
                            .map(str::to_string)
                    })
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names.dedup();
        self.server.cache.lock().await.tags = Some(names.clone());
        Ok(names)
    }

    async fn missing(&self, model: &str) -> LlmError {
        LlmError::ModelMissing {
            model: model.to_string(),
            available: self.models().await.unwrap_or_default(),
            base_url: self.settings().base().to_string(),
        }
    }

    /// `/api/show` for a model (cached). A missing model gives [`LlmError::ModelMissing`]
    /// listing the models the server has.
    pub async fn model_info(&self, model: &str) -> Result<ModelInfo, LlmError> {
        if let Some(m) = self.server.cache.lock().await.models.get(model).cloned() {
            return Ok(m);
        }
        // Reachability first, for a clear "cannot reach" rather than a model error.
        self.version().await?;
        let (status, v) = self
            .get_json(
                "/api/show",
                Some(json!({ "model": model, "name": model })),
                model,
            )
            .await?;
        if status == 404 {
            return Err(self.missing(model).await);
        }
        if status != 200 {
            return Err(LlmError::Server {
                status,
                body: v.to_string(),
                model: model.to_string(),
            });
        }
        let mi = &v["model_info"];
        let arch = mi["general.architecture"].as_str().map(str::to_string);
        let context_length = arch
            .as_ref()
            .and_then(|a| mi[format!("{a}.context_length")].as_u64())
            .or_else(|| {
                mi.as_object().and_then(|o| {
                    o.iter()
                        .find(|(k, _)| k.ends_with(".context_length"))
                        .and_then(|(_, v)| v.as_u64())
                })
            })
            .map(|n| n.min(u32::MAX as u64) as u32);
        let info = ModelInfo {
            name: model.to_string(),
            context_length,
            capabilities: strings(&v["capabilities"]),
            architecture: arch,
            family: v["details"]["family"].as_str().map(str::to_string),
            think_levels: strings(&v["thinking"]["values"]),
        };
        self.server
            .cache
            .lock()
            .await
            .models
            .insert(model.to_string(), info.clone());
        Ok(info)
    }

    /// The context window for a model, decided once per run and then fixed.
    pub async fn num_ctx(&self, model: &str) -> Result<u32, LlmError> {
        if let Some(n) = self.server.cache.lock().await.num_ctx.get(model) {
            return Ok(*n);
        }
        let info = self.model_info(model).await?;
        let model_max = info.context_length.unwrap_or(UNKNOWN_CONTEXT_LENGTH);
        let n = match self.settings().num_ctx {
            Some(n) => n.min(model_max),
            None => model_max.min(self.settings().max_num_ctx),
        }
        .max(256);
        let mut c = self.server.cache.lock().await;
        Ok(*c.num_ctx.entry(model.to_string()).or_insert(n))
    }

    async fn budget_for(&self, model: &str, max_output: Option<u32>) -> Result<Budget, LlmError> {
        let num_ctx = self.num_ctx(model).await?;
        Ok(self.driver.budget(model, num_ctx, max_output))
    }

    fn think_value(info: &ModelInfo, req: &ChatRequest) -> Option<Value> {
        if !info.can_think() {
            return None;
        }
        if info.think_takes_level() {
            let level = match req.think {
                Think::Off | Think::Low => "low",
                Think::Medium => "medium",
                Think::High => "high",
            };
            // A server that lists its levels silently ignores others: pick one it knows.
            let level =
                if info.think_levels.is_empty() || info.think_levels.iter().any(|l| l == level) {
                    level.to_string()
                } else {
                    info.think_levels[0].clone()
                };
            return Some(json!(level));
        }
        // `format` and `think` interact badly: no thinking when we want JSON.
        Some(json!(req.json_schema.is_none() && req.think != Think::Off))
    }

    async fn chat_inner(
        &self,
        req: &ChatRequest,
        record: &mut CallRecord,
    ) -> Result<Reply, LlmError> {
        let info = self.model_info(&req.model).await?;
        let budget = self.budget_for(&req.model, req.max_output_tokens).await?;
        let dialect = OllamaChat {
            think: Self::think_value(&info, req),
            keep_alive: self.settings().keep_alive.clone(),
        };
        let plan = Plan {
            url: self.url("/api/chat"),
            server_ctx: budget.num_ctx,
            context_note: format!("num_ctx {}", budget.num_ctx),
            budget,
            counter: None,
        };
        match self.driver.chat(&dialect, req, plan, record).await {
            Err(LlmError::Server {
                status: 404,
                body,
                model,
            }) if body.to_lowercase().contains("not found") => {
                let _ = body;
                Err(self.missing(&model).await)
            }
            other => other,
        }
    }
}

/// Ollama's `/api/chat` wire format, for one call.
struct OllamaChat {
    think: Option<Value>,
    keep_alive: Option<String>,
}

impl Dialect for OllamaChat {
    fn api(&self) -> ApiKind {
        ApiKind::Ollama
    }

    fn schema_modes(&self) -> Vec<SchemaMode> {
        vec![SchemaMode::Format]
    }

    fn body(&self, call: &Call<'_>) -> Value {
        let req = call.request;
        let mut options = json!({
            "num_ctx": call.budget.num_ctx,
            "num_predict": call.budget.reserved_output,
        });
        if let Some(t) = req.temperature {
            options["temperature"] = json!(t);
        }
        if let Some(s) = call.seed {
            options["seed"] = json!(s);
        }
        let mut body = json!({
            "model": req.model,
            "messages": call.messages,
            "stream": true,
            "options": options,
        });
        if let Some(k) = &self.keep_alive {
            body["keep_alive"] = json!(k);
        }
        if let (Some(SchemaMode::Format), Some(schema)) = (call.schema_mode, &req.json_schema) {
            body["format"] = schema.clone();
        }
        if let Some(t) = &self.think {
            body["think"] = t.clone();
        }
        body
    }

    fn decode(&self, model: &str, line: &str, stream: &mut Stream) -> Result<bool, LlmError> {
        let chunk: Chunk = serde_json::from_str(line).map_err(|e| LlmError::StreamError {
            model: model.to_string(),
            message: format!(
                "unreadable line from the server ({e}): {}",
                super::progress::first_chars(line, 200)
            ),
        })?;
        if let Some(err) = &chunk.error {
            let message = err
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| err.to_string());
            return Err(LlmError::StreamError {
                model: model.to_string(),
                message,
            });
        }
        if let Some(m) = &chunk.message {
            stream.push(&m.content, m.thinking.as_deref());
        }
        if !chunk.done {
            return Ok(false);
        }
        stream.done_reason = Some(chunk.done_reason.unwrap_or_else(|| "stop".into()));
        let c = &mut stream.counts;
        c.prompt_tokens = chunk.prompt_eval_count;
        c.output_tokens = chunk.eval_count;
        c.load_seconds = chunk.load_duration.map(|_| ns(chunk.load_duration));
        c.prompt_seconds = chunk
            .prompt_eval_duration
            .map(|_| ns(chunk.prompt_eval_duration));
        c.eval_seconds = chunk.eval_duration.map(|_| ns(chunk.eval_duration));
        c.total_seconds = chunk.total_duration.map(|_| ns(chunk.total_duration));
        c.tokens_per_second = match (chunk.eval_count, chunk.eval_duration) {
            (Some(n), Some(d)) if d > 0 => Some(n as f64 / ns(Some(d))),
            _ => None,
        };
        Ok(true)
    }

    fn cut_short(&self, done: bool, _stream: &Stream) -> Option<&'static str> {
        (!done).then_some(
            "the stream ended before the final `done` message (server crashed or connection cut)",
        )
    }
}

impl Llm for OllamaClient {
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
        Box::pin(self.budget_for(model, max_output_tokens))
    }

    fn preflight<'a>(&'a self, models: &'a [String]) -> BoxFuture<'a, Result<(), LlmError>> {
        Box::pin(async move {
            self.version().await?;
            let mut missing = Vec::new();
            for m in models {
                match self.model_info(m).await {
                    Ok(_) => {}
                    Err(LlmError::ModelMissing { model, .. }) => missing.push(model),
                    Err(e) => return Err(e),
                }
            }
            if missing.is_empty() {
                return Ok(());
            }
            Err(LlmError::ModelMissing {
                model: missing.join(" "),
                available: self.models().await.unwrap_or_default(),
                base_url: self.settings().base().to_string(),
            })
        })
    }
}
