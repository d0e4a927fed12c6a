//! Ollama's native API: `/api/chat` (streamed NDJSON), probed with `/api/version`,
//! `/api/tags` and `/api/show` once per run.
//!
//! What this client does that a naive one does not:
//! * sets `options.num_ctx` explicitly, choosing **one value per model per run** (so the
//!   server never reloads the model because the context changed between calls);
//! * refuses a prompt whose (over-)estimate does not fit `num_ctx` minus the output room,
//!   and fails when `prompt_eval_count` shows the server truncated it anyway;
//! * sends `think` only to models with the `thinking` capability (`false` for JSON replies,
//!   `"low"`/`"medium"`/`"high"` for gpt-oss, which cannot switch thinking off);
//! * treats an `{"error": …}` line after HTTP 200 as a failure and `done_reason: "length"`
//!   as truncated output.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::budget::{Budget, check_prompt_eval};
use super::progress::{CallRecord, Ledger, Progress, ProgressSink, StderrProgress};
use super::structured::strip_think;
use super::transport::{HttpFailure, build_client, map_send_error, post_with_retry, read_lines};
use super::{
    BoxFuture, ChatRequest, DoneReason, Llm, LlmError, LlmSettings, Message, Reply, Think,
    TimeoutPhase, prompts::redact,
};

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

/// Client of Ollama's native API. One per run (it caches probes and `num_ctx` choices).
pub struct OllamaClient {
    http: reqwest::Client,
    settings: LlmSettings,
    cache: Mutex<Cache>,
    ledger: Ledger,
    progress: Option<Arc<dyn ProgressSink>>,
    secrets: Vec<String>,
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

fn ns(v: Option<u64>) -> f64 {
    v.unwrap_or(0) as f64 / 1e9
}

impl OllamaClient {
    pub fn new(settings: LlmSettings) -> Result<Self, LlmError> {
        Ok(OllamaClient {
            http: build_client(&settings)?,
            settings,
            cache: Mutex::new(Cache::default()),
            ledger: Ledger::default(),
            progress: Some(Arc::new(StderrProgress)),
            secrets: Vec::new(),
        })
    }

    /// Records every call into this (shared) ledger.
    pub fn with_ledger(mut self, ledger: Ledger) -> Self {
        self.ledger = ledger;
        self
    }

    /// Where progress lines go (`None`: nowhere). Default: stderr.
    pub fn with_progress(mut self, sink: Option<Arc<dyn ProgressSink>>) -> Self {
        self.progress = sink;
        self
    }

    /// Secrets replaced by `[REDACTED]` in every message before it leaves the process.
    pub fn with_secrets(mut self, secrets: Vec<String>) -> Self {
        self.secrets = secrets;
        self
    }

    pub fn settings(&self) -> &LlmSettings {
        &self.settings
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.settings.base(), path)
    }

    async fn get_json(
        &self,
        path: &str,
        body: Option<Value>,
        model: &str,
    ) -> Result<(u16, Value), LlmError> {
        let req = match body {
            None => self.http.get(self.url(path)),
            Some(b) => self
                .http
                .post(self.url(path))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.to_string()),
        };
        let t = self.settings.probe_timeout;
        let fut = async {
            let resp = req.send().await?;
            let status = resp.status().as_u16();
            let text = resp.text().await?;
            Ok::<_, reqwest::Error>((status, text))
        };
        let (status, text) = match tokio::time::timeout(t, fut).await {
            Err(_) => {
                return Err(LlmError::Timeout {
                    phase: TimeoutPhase::Probe,
                    after: t,
                    model: model.to_string(),
                    base_url: self.settings.base().to_string(),
                });
            }
            Ok(Err(e)) => {
                return Err(map_send_error(
                    e,
                    &self.settings,
                    model,
                    TimeoutPhase::Probe,
                    t,
                ));
            }
            Ok(Ok(x)) => x,
        };
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, v))
    }

    /// `/api/version` (cached). Proves the server is reachable.
    pub async fn version(&self) -> Result<String, LlmError> {
        if let Some(v) = self.cache.lock().await.version.clone() {
            return Ok(v);
        }
        let (status, v) = self.get_json("/api/version", None, "-").await?;
        if status != 200 {
            return Err(LlmError::Server {
                status,
                body: v.to_string(),
                model: "-".into(),
            });
        }
        let ver = v["version"].as_str().unwrap_or("unknown").to_string();
        self.cache.lock().await.version = Some(ver.clone());
        Ok(ver)
    }

    /// Model names from `/api/tags` (cached).
    pub async fn models(&self) -> Result<Vec<String>, LlmError> {
        if let Some(t) = self.cache.lock().await.tags.clone() {
            return Ok(t);
        }
        let (status, v) = self.get_json("/api/tags", None, "-").await?;
        if status != 200 {
            return Err(LlmError::Server {
                status,
                body: v.to_string(),
                model: "-".into(),
            });
        }
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
        self.cache.lock().await.tags = Some(names.clone());
        Ok(names)
    }

    async fn missing(&self, model: &str) -> LlmError {
        LlmError::ModelMissing {
            model: model.to_string(),
            available: self.models().await.unwrap_or_default(),
            base_url: self.settings.base().to_string(),
        }
    }

    /// `/api/show` for a model (cached). A missing model gives [`LlmError::ModelMissing`]
    /// listing the models the server has.
    pub async fn model_info(&self, model: &str) -> Result<ModelInfo, LlmError> {
        if let Some(m) = self.cache.lock().await.models.get(model).cloned() {
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
            capabilities: v["capabilities"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            architecture: arch,
            family: v["details"]["family"].as_str().map(str::to_string),
            think_levels: v["thinking"]["values"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        };
        self.cache
            .lock()
            .await
            .models
            .insert(model.to_string(), info.clone());
        Ok(info)
    }

    /// The context window for a model, decided once per run and then fixed.
    pub async fn num_ctx(&self, model: &str) -> Result<u32, LlmError> {
        if let Some(n) = self.cache.lock().await.num_ctx.get(model) {
            return Ok(*n);
        }
        let info = self.model_info(model).await?;
        let model_max = info.context_length.unwrap_or(UNKNOWN_CONTEXT_LENGTH);
        let n = match self.settings.num_ctx {
            Some(n) => n.min(model_max),
            None => model_max.min(self.settings.max_num_ctx),
        }
        .max(256);
        let mut c = self.cache.lock().await;
        Ok(*c.num_ctx.entry(model.to_string()).or_insert(n))
    }

    async fn budget_for(&self, model: &str, max_output: Option<u32>) -> Result<Budget, LlmError> {
        let num_ctx = self.num_ctx(model).await?;
        Ok(Budget {
            model: model.to_string(),
            num_ctx,
            reserved_output: max_output
                .unwrap_or(self.settings.default_max_output_tokens.min(num_ctx / 4)),
        })
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
        record.num_ctx = budget.num_ctx;
        let messages: Vec<Message> = req
            .messages
            .iter()
            .map(|m| Message {
                role: m.role,
                content: redact(&m.content, &self.secrets),
            })
            .collect();
        let estimated = budget.check(&messages)?;
        record.prompt_tokens_estimated = estimated;

        let mut options = json!({
            "num_ctx": budget.num_ctx,
            "num_predict": budget.reserved_output,
        });
        if let Some(t) = req.temperature {
            options["temperature"] = json!(t);
        }
        if let Some(s) = self.settings.seed {
            options["seed"] = json!(s);
        }
        let mut body = json!({
            "model": req.model,
            "messages": messages,
            "stream": true,
            "options": options,
        });
        if let Some(k) = &self.settings.keep_alive {
            body["keep_alive"] = json!(k);
        }
        if let Some(schema) = &req.json_schema {
            body["format"] = schema.clone();
        }
        if let Some(t) = Self::think_value(&info, req) {
            body["think"] = t;
        }
        let body = serde_json::to_vec(&body).map_err(|e| LlmError::Invalid(e.to_string()))?;

        let label = format!(
            "{}{}",
            req.role.map(|r| format!("{r} ")).unwrap_or_default(),
            req.model
        );
        let progress = Progress::new(
            self.progress.as_deref(),
            label,
            self.settings.progress_interval,
        );
        progress.emit(&format!(
            "started (~{estimated} prompt tokens, num_ctx {})",
            budget.num_ctx
        ));
        let first_byte = req
            .first_byte_timeout
            .unwrap_or(self.settings.first_byte_timeout);
        let model = req.model.clone();
        let map_status = |f: HttpFailure| -> BoxFuture<'_, LlmError> {
            let model = model.clone();
            Box::pin(async move {
                let lower = f.body.to_lowercase();
                if f.status == 404 && lower.contains("not found") {
                    self.missing(&model).await
                } else {
                    LlmError::Server {
                        status: f.status,
                        body: f.body,
                        model,
                    }
                }
            })
        };
        let (resp, deadline) = post_with_retry(
            &self.http,
            &self.settings,
            &self.url("/api/chat"),
            &body,
            &req.model,
            first_byte,
            &progress,
            map_status,
        )
        .await?;

        let mut text = String::new();
        let mut thinking = String::new();
        let mut last = Chunk::default();
        let done = {
            let on_line = |line: &str| -> Result<bool, LlmError> {
                let chunk: Chunk =
                    serde_json::from_str(line).map_err(|e| LlmError::StreamError {
                        model: req.model.clone(),
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
                        model: req.model.clone(),
                        message,
                    });
                }
                if let Some(m) = &chunk.message {
                    if !m.content.is_empty() || m.thinking.as_deref().is_some_and(|t| !t.is_empty())
                    {
                        progress.token();
                    }
                    text.push_str(&m.content);
                    if let Some(t) = &m.thinking {
                        thinking.push_str(t);
                    }
                }
                if chunk.done {
                    last = chunk;
                    return Ok(true);
                }
                Ok(false)
            };
            read_lines(
                resp,
                &self.settings,
                &req.model,
                deadline,
                first_byte,
                &progress,
                on_line,
            )
            .await?
        };
        if !done {
            return Err(LlmError::StreamError {
                model: req.model.clone(),
                message: "the stream ended before the final `done` message (server crashed or connection cut)".into(),
            });
        }
        let prompt_eval = last.prompt_eval_count;
        let eval_count = last.eval_count.unwrap_or(progress.tokens() as u32);
        record.prompt_tokens = prompt_eval.unwrap_or(0);
        record.output_tokens = eval_count;
        record.load_seconds = ns(last.load_duration);
        record.prompt_seconds = ns(last.prompt_eval_duration);
        record.eval_seconds = ns(last.eval_duration);
        record.total_seconds = if last.total_duration.is_some() {
            ns(last.total_duration)
        } else {
            progress.elapsed().as_secs_f64()
        };
        record.tokens_per_second = if record.eval_seconds > 0.0 {
            eval_count as f64 / record.eval_seconds
        } else {
            0.0
        };
        let done_reason = DoneReason::parse(last.done_reason.as_deref().unwrap_or("stop"));
        record.done_reason = last.done_reason.clone().unwrap_or_else(|| "stop".into());
        progress.emit(&format!(
            "done ({}; {} prompt tokens evaluated)",
            record.done_reason, record.prompt_tokens
        ));
        check_prompt_eval(&budget, estimated, prompt_eval)?;
        let (clean, inline_thinking) = strip_think(&text);
        if done_reason == DoneReason::Length {
            return Err(LlmError::OutputTruncated {
                model: req.model.clone(),
                eval_count,
                limit: budget.reserved_output,
                partial: clean,
            });
        }
        let thinking = match (thinking.is_empty(), inline_thinking) {
            (true, None) => None,
            (true, Some(t)) => Some(t),
            (false, _) => Some(thinking),
        };
        Ok(Reply {
            text: clean,
            thinking,
            done_reason,
            usage: record.clone(),
        })
    }
}

impl Llm for OllamaClient {
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<Reply, LlmError>> {
        Box::pin(self.ledger.recorded(request, async |record| {
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
                base_url: self.settings.base().to_string(),
            })
        })
    }
}
