//! Second-class client for OpenAI-compatible servers (`/v1/chat/completions`: LiteLLM in
//! front of Ollama, vLLM, llama.cpp server).
//!
//! Limits, by design of that API: the context size cannot be set per request (Ollama's
//! `/v1` endpoint ignores `num_ctx`), so the budget trusts `llm.num_ctx` from the settings
//! (default [`UNKNOWN_CONTEXT_LENGTH`]) and the server must really have that much context;
//! thinking cannot be controlled (inline `<think>` text is stripped); truncation of the prompt
//! can only be detected through `usage.prompt_tokens`, when the server reports it.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::budget::{Budget, check_prompt_eval};
use super::ollama::UNKNOWN_CONTEXT_LENGTH;
use super::progress::{CallRecord, Ledger, Progress, ProgressSink, StderrProgress, first_chars};
use super::structured::strip_think;
use super::transport::{HttpFailure, build_client, post_with_retry, read_lines};
use super::{
    BoxFuture, ChatRequest, DoneReason, Llm, LlmError, LlmSettings, Message, Reply, prompts::redact,
};

/// Client of an OpenAI-compatible server.
pub struct OpenAiClient {
    http: reqwest::Client,
    settings: LlmSettings,
    models: Mutex<Option<Vec<String>>>,
    ledger: Ledger,
    progress: Option<Arc<dyn ProgressSink>>,
    secrets: Vec<String>,
}

impl OpenAiClient {
    pub fn new(settings: LlmSettings) -> Result<Self, LlmError> {
        Ok(OpenAiClient {
            http: build_client(&settings)?,
            settings,
            models: Mutex::new(None),
            ledger: Ledger::default(),
            progress: Some(Arc::new(StderrProgress)),
            secrets: Vec::new(),
        })
    }

    pub fn with_ledger(mut self, ledger: Ledger) -> Self {
        self.ledger = ledger;
        self
    }

    pub fn with_progress(mut self, sink: Option<Arc<dyn ProgressSink>>) -> Self {
        self.progress = sink;
        self
    }

    pub fn with_secrets(mut self, secrets: Vec<String>) -> Self {
        self.secrets = secrets;
        self
    }

    fn url(&self, path: &str) -> String {
        let base = self.settings.base();
        let base = base.strip_suffix("/v1").unwrap_or(base);
        format!("{base}{path}")
    }

    /// `/v1/models` (cached); empty when the server does not offer the list.
    pub async fn models(&self) -> Result<Vec<String>, LlmError> {
        let mut cache = self.models.lock().await;
        if let Some(m) = cache.clone() {
            return Ok(m);
        }
        let mut req = self.http.get(self.url("/v1/models"));
        if let Some(k) = &self.settings.api_key {
            req = req.bearer_auth(k);
        }
        let t = self.settings.probe_timeout;
        let res = tokio::time::timeout(t, async {
            let r = req.send().await?;
            let ok = r.status().is_success();
            Ok::<_, reqwest::Error>((ok, r.text().await?))
        })
        .await;
        let names = match res {
            Err(_) => {
                return Err(LlmError::Timeout {
                    phase: super::TimeoutPhase::Probe,
                    after: t,
                    model: "-".into(),
                    base_url: self.settings.base().into(),
                });
            }
            Ok(Err(e)) => {
                return Err(super::transport::map_send_error(
                    e,
                    &self.settings,
                    "-",
                    super::TimeoutPhase::Probe,
                    t,
                ));
            }
            Ok(Ok((true, text))) => serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| {
                    v["data"].as_array().map(|a| {
                        a.iter()
                            .filter_map(|m| m["id"].as_str().map(str::to_string))
                            .collect::<Vec<_>>()
                    })
                })
                .unwrap_or_default(),
            Ok(Ok((false, _))) => Vec::new(),
        };
        *cache = Some(names.clone());
        Ok(names)
    }

    fn budget_for(&self, model: &str, max_output: Option<u32>) -> Budget {
        let num_ctx = self.settings.num_ctx.unwrap_or(UNKNOWN_CONTEXT_LENGTH);
        Budget {
            model: model.to_string(),
            num_ctx,
            reserved_output: max_output
                .unwrap_or(self.settings.default_max_output_tokens.min(num_ctx / 4)),
        }
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
                base_url: self.settings.base().into(),
            });
        }
        let budget = self.budget_for(&req.model, req.max_output_tokens);
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
        let mut body = json!({
            "model": req.model,
            "messages": messages,
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": budget.reserved_output,
        });
        if let Some(t) = req.temperature {
            body["temperature"] = json!(t);
        }
        if let Some(s) = self.settings.seed {
            body["seed"] = json!(s);
        }
        if let Some(schema) = &req.json_schema {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": schema},
            });
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
            "started (~{estimated} prompt tokens; context not controllable)"
        ));
        let first_byte = req
            .first_byte_timeout
            .unwrap_or(self.settings.first_byte_timeout);
        let model = req.model.clone();
        let map_status = |f: HttpFailure| -> BoxFuture<'_, LlmError> {
            let model = model.clone();
            Box::pin(async move {
                if f.status == 404 && f.body.to_lowercase().contains("model") {
                    LlmError::ModelMissing {
                        model,
                        available: self.models().await.unwrap_or_default(),
                        base_url: self.settings.base().into(),
                    }
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
            &self.url("/v1/chat/completions"),
            &body,
            &req.model,
            first_byte,
            &progress,
            map_status,
        )
        .await?;
        let mut text = String::new();
        let mut finish: Option<String> = None;
        let mut usage = Value::Null;
        let on_line = |line: &str| -> Result<bool, LlmError> {
            let Some(data) = line.strip_prefix("data:") else {
                return Ok(false); // SSE comments, `event:` lines
            };
            let data = data.trim();
            if data == "[DONE]" {
                return Ok(true);
            }
            let v: Value = serde_json::from_str(data).map_err(|e| LlmError::StreamError {
                model: req.model.clone(),
                message: format!("unreadable event ({e}): {}", first_chars(data, 200)),
            })?;
            if let Some(err) = v.get("error") {
                return Err(LlmError::StreamError {
                    model: req.model.clone(),
                    message: err["message"]
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| err.to_string()),
                });
            }
            if let Some(choice) = v["choices"].get(0) {
                if let Some(c) = choice["delta"]["content"].as_str() {
                    if !c.is_empty() {
                        progress.token();
                    }
                    text.push_str(c);
                }
                if let Some(f) = choice["finish_reason"].as_str() {
                    finish = Some(f.to_string());
                }
            }
            if v["usage"].is_object() {
                usage = v["usage"].clone();
            }
            Ok(false)
        };
        let done = read_lines(
            resp,
            &self.settings,
            &req.model,
            deadline,
            first_byte,
            &progress,
            on_line,
        )
        .await?;
        if !done && finish.is_none() {
            return Err(LlmError::StreamError {
                model: req.model.clone(),
                message: "the stream ended before the answer was finished".into(),
            });
        }
        let prompt_tokens = usage["prompt_tokens"].as_u64().map(|n| n as u32);
        let output_tokens = usage["completion_tokens"]
            .as_u64()
            .map(|n| n as u32)
            .unwrap_or(progress.tokens() as u32);
        let secs = progress.elapsed().as_secs_f64();
        record.prompt_tokens = prompt_tokens.unwrap_or(0);
        record.output_tokens = output_tokens;
        record.total_seconds = secs;
        record.eval_seconds = secs;
        record.tokens_per_second = if secs > 0.0 {
            output_tokens as f64 / secs
        } else {
            0.0
        };
        let reason = finish.unwrap_or_else(|| "stop".into());
        record.done_reason = reason.clone();
        progress.emit(&format!("done ({reason})"));
        check_prompt_eval(&budget, estimated, prompt_tokens)?;
        let (clean, thinking) = strip_think(&text);
        let done_reason = DoneReason::parse(&reason);
        if done_reason == DoneReason::Length {
            return Err(LlmError::OutputTruncated {
                model: req.model.clone(),
                eval_count: output_tokens,
                limit: budget.reserved_output,
                partial: clean,
            });
        }
        Ok(Reply {
            text: clean,
            thinking,
            done_reason,
            usage: record.clone(),
        })
    }
}

impl Llm for OpenAiClient {
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
        Box::pin(async move { Ok(self.budget_for(model, max_output_tokens)) })
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
                base_url: self.settings.base().into(),
            })
        })
    }
}
