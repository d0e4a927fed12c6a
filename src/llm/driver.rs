//! The one chat pipeline both clients run: redact → count and check the prompt → progress →
//! POST with retries → read the streamed lines (each decoded by the client's [`Dialect`]) under
//! the call's deadline and output caps → record → judge truncation by the server's own signals
//! → strip thinking → check for a cut answer. A server that refuses a JSON schema is asked again
//! with the next [`SchemaMode`].

use std::sync::Arc;

use super::budget::{Budget, check_prompt_eval, estimate_message_tokens};
use super::calibrate::Calibration;
use super::dialect::{Call, Dialect, SchemaMode, Stream};
use super::error::context_advice;
use super::progress::{CallRecord, Ledger, Progress, ProgressSink, first_chars};
use super::think::strip_think;
use super::transport::{CallDeadline, Post, post_with_retry, read_lines};
use super::{ChatRequest, DoneReason, LlmError, LlmSettings, Message, Reply, prompts::redact};

/// Chunks allowed past the requested output limit before the call is stopped: servers count
/// a little differently (a stop token, a final empty chunk), one that ignores the limit does
/// not stop at all.
fn token_cap(limit: u32) -> u64 {
    limit as u64 + (limit as u64 / 10) + 32
}

/// What a client shares with the driver: HTTP, settings, accounting, redaction, calibration.
pub(crate) struct Driver {
    pub http: reqwest::Client,
    pub settings: LlmSettings,
    pub ledger: Ledger,
    pub progress: Option<Arc<dyn ProgressSink>>,
    pub secrets: Vec<String>,
    pub calibration: Calibration,
}

/// What the client found out before the call, and where to send it.
pub(crate) struct Plan {
    /// The chat endpoint (a full URL).
    pub url: String,
    pub budget: Budget,
    /// The context the server really has (what truncation is judged against).
    pub server_ctx: u32,
    /// Counts a prompt with the server's own tokenizer, when it offers one.
    pub counter: Option<Box<dyn PromptCounter + 'static>>,
    /// For the first progress line.
    pub context_note: String,
}

/// The server's own count of a prompt (llama.cpp `/tokenize`), before sending.
pub(crate) trait PromptCounter: Send + Sync {
    fn count<'a>(&'a self, messages: &'a [Message]) -> super::BoxFuture<'a, Option<u32>>;
}

impl Driver {
    pub(crate) fn new(settings: LlmSettings) -> Result<Self, LlmError> {
        Ok(Driver {
            http: super::transport::build_client(&settings)?,
            settings,
            ledger: Ledger::default(),
            progress: Some(Arc::new(super::progress::StderrProgress)),
            secrets: Vec::new(),
            calibration: Calibration::default(),
        })
    }

    /// A budget for `model`, calibrated with what the run learned.
    pub(crate) fn budget(&self, model: &str, num_ctx: u32, max_output: Option<u32>) -> Budget {
        Budget {
            model: model.to_string(),
            num_ctx,
            reserved_output: max_output
                .unwrap_or(self.settings.default_max_output_tokens.min(num_ctx / 4)),
            calibration: self.calibration.factor(model),
        }
    }

    /// Runs one chat call through `dialect`.
    pub(crate) async fn chat(
        &self,
        dialect: &dyn Dialect,
        req: &ChatRequest,
        plan: Plan,
        record: &mut CallRecord,
    ) -> Result<Reply, LlmError> {
        let deadline = CallDeadline::new(req.deadline.unwrap_or(self.settings.call_deadline));
        let modes: Vec<Option<SchemaMode>> = match &req.json_schema {
            None => vec![None],
            Some(_) => dialect.schema_modes().into_iter().map(Some).collect(),
        };
        let mut last = None;
        for (i, mode) in modes.iter().enumerate() {
            record.structured_output = mode.map(|m| m.as_str().to_string());
            match self
                .once(dialect, req, &plan, *mode, deadline, record)
                .await
            {
                Err(e) if i + 1 < modes.len() && refuses_schema(&e) => {
                    if let Some(m) = mode {
                        dialect.schema_refused(*m);
                    }
                    last = Some(e);
                }
                other => return other,
            }
        }
        Err(last.unwrap_or(LlmError::Invalid(
            "no way to ask this server for JSON".into(),
        )))
    }

    async fn once(
        &self,
        dialect: &dyn Dialect,
        req: &ChatRequest,
        plan: &Plan,
        mode: Option<SchemaMode>,
        deadline: CallDeadline,
        record: &mut CallRecord,
    ) -> Result<Reply, LlmError> {
        let budget = &plan.budget;
        let model = req.model.as_str();
        record.num_ctx = budget.num_ctx;
        record.calibration = budget.calibration;
        let mut messages: Vec<Message> = req
            .messages
            .iter()
            .map(|m| Message {
                role: m.role,
                content: redact(&m.content, &self.secrets),
            })
            .collect();
        if let (Some(m), Some(schema)) = (mode, &req.json_schema)
            && m.schema_in_prompt()
        {
            messages.push(Message::user(format!(
                "Reply with ONLY one JSON value that matches this JSON schema, with no prose \
                 and no code fences:\n{schema}"
            )));
        }
        let estimated = estimate_message_tokens(&messages);
        record.prompt_tokens_estimated = estimated;
        let counted = match &plan.counter {
            Some(c) => c.count(&messages).await,
            None => None,
        };
        record.prompt_tokens_counted = counted;
        match counted {
            Some(n) => {
                self.calibration.observe(model, estimated, n);
                budget.check_count(n)?;
            }
            None => {
                budget.check(&messages)?;
            }
        }

        let body = dialect.body(&Call {
            request: req,
            messages: &messages,
            budget,
            seed: self.settings.seed,
            schema_mode: mode,
        });
        let body = serde_json::to_vec(&body).map_err(|e| LlmError::Invalid(e.to_string()))?;
        let label = format!(
            "{}{}{}",
            req.role.map(|r| format!("{r} ")).unwrap_or_default(),
            req.model,
            req.step
                .as_deref()
                .map(|s| format!(" {}", first_chars(s, 60)))
                .unwrap_or_default()
        );
        let progress = Progress::new(
            self.progress.as_deref(),
            label,
            self.settings.progress_interval,
        );
        let calibrated = budget.calibrated(estimated);
        progress.emit(&match counted {
            Some(n) => format!(
                "started ({n} prompt tokens by the server's count; estimated {estimated}, \
                 calibrated {calibrated}; {})",
                plan.context_note
            ),
            None => format!(
                "started (~{calibrated} prompt tokens, {})",
                plan.context_note
            ),
        });
        let post = Post {
            http: &self.http,
            settings: &self.settings,
            url: &plan.url,
            model,
            first_byte: req
                .first_byte_timeout
                .unwrap_or(self.settings.first_byte_timeout),
            deadline,
            progress: &progress,
        };
        let api = dialect.api();
        let server_ctx = plan.server_ctx;
        let map_status =
            move |status: u16, body: &str| status_error(api, model, server_ctx, status, body);
        let (resp, first_deadline) = match post_with_retry(&post, &body, &map_status).await {
            Ok(r) => r,
            Err(e) => {
                // A server that refused the prompt as too large still told us its count.
                if let LlmError::ContextExceeded {
                    prompt_tokens: Some(n),
                    ..
                } = &e
                {
                    self.calibration.observe(model, estimated, *n);
                }
                return Err(e);
            }
        };

        let mut stream = Stream::default();
        let max_bytes = self.settings.max_output_bytes;
        let max_tokens = token_cap(budget.reserved_output);
        let token_setting = if req.max_output_tokens.is_some() {
            "the role's answer size (num_predict / max_tokens of this call)".to_string()
        } else {
            "llm.default_max_output_tokens".to_string()
        };
        let done = read_lines(resp, &post, first_deadline, |line| {
            let before = stream.chunks;
            let done = dialect.decode(model, line, &mut stream)?;
            for _ in before..stream.chunks {
                progress.token();
            }
            if stream.bytes() > max_bytes {
                return Err(LlmError::OutputLimit {
                    model: model.to_string(),
                    limit: max_bytes,
                    got: stream.bytes(),
                    unit: "bytes",
                    setting: "llm.max_output_bytes".into(),
                });
            }
            if stream.chunks > max_tokens {
                return Err(LlmError::OutputLimit {
                    model: model.to_string(),
                    limit: budget.reserved_output as u64,
                    got: stream.chunks,
                    unit: "tokens",
                    setting: token_setting.clone(),
                });
            }
            Ok(done)
        })
        .await?;
        if let Some(why) = dialect.cut_short(done, &stream) {
            return Err(LlmError::StreamError {
                model: model.to_string(),
                message: why.into(),
            });
        }

        let c = &stream.counts;
        let output_tokens = c.output_tokens.unwrap_or(stream.chunks as u32);
        record.prompt_tokens = c.prompt_tokens.unwrap_or(0);
        record.output_tokens = output_tokens;
        record.load_seconds = c.load_seconds.unwrap_or(0.0);
        record.prompt_seconds = c
            .prompt_seconds
            .or_else(|| progress.until_first_token())
            .unwrap_or(0.0);
        record.eval_seconds = c.eval_seconds.unwrap_or_else(|| progress.generating());
        record.total_seconds = c
            .total_seconds
            .unwrap_or_else(|| progress.elapsed().as_secs_f64());
        record.tokens_per_second = c
            .tokens_per_second
            .or_else(|| {
                c.eval_seconds
                    .filter(|s| *s > 0.0)
                    .map(|s| output_tokens as f64 / s)
            })
            .or_else(|| progress.rate())
            .unwrap_or(0.0);
        let reason = stream.done_reason.clone().unwrap_or_else(|| "stop".into());
        record.done_reason = reason.clone();
        progress.emit(&format!(
            "done ({reason}; {} prompt tokens evaluated)",
            record.prompt_tokens
        ));
        let advice = || context_advice(api);
        if c.truncated == Some(true) {
            return Err(LlmError::PromptTruncated {
                model: model.to_string(),
                prompt_eval_count: record.prompt_tokens,
                estimated,
                num_ctx: server_ctx,
                reserved_output: budget.reserved_output,
                advice: advice(),
            });
        }
        check_prompt_eval(budget, server_ctx, estimated, c.prompt_tokens, advice)?;
        if let Some(n) = c.prompt_tokens {
            self.calibration.observe(model, estimated, n);
        }
        let (clean, inline_thinking) = strip_think(&stream.text);
        let done_reason = DoneReason::parse(&reason);
        if done_reason == DoneReason::Length {
            return Err(LlmError::OutputTruncated {
                model: model.to_string(),
                eval_count: output_tokens,
                limit: budget.reserved_output,
                partial: clean,
            });
        }
        let thinking = if stream.thinking.is_empty() {
            inline_thinking
        } else {
            Some(stream.thinking)
        };
        Ok(Reply {
            text: clean,
            thinking,
            done_reason,
            usage: record.clone(),
        })
    }
}

/// Whether an error is the server refusing the way we asked for JSON.
fn refuses_schema(e: &LlmError) -> bool {
    match e {
        LlmError::Server { status, body, .. } => {
            let b = body.to_ascii_lowercase();
            matches!(status, 400 | 422 | 500 | 501)
                && [
                    "response_format",
                    "json_schema",
                    "schema",
                    "grammar",
                    "json_object",
                ]
                .iter()
                .any(|k| b.contains(k))
        }
        _ => false,
    }
}

/// The error for a failed status: a prompt the server says does not fit its context becomes
/// [`LlmError::ContextExceeded`] (with the server's counts when it gives them), the rest
/// [`LlmError::Server`].
pub(crate) fn status_error(
    api: super::ApiKind,
    model: &str,
    server_ctx: u32,
    status: u16,
    body: &str,
) -> LlmError {
    let lower = body.to_ascii_lowercase();
    let overflow = lower.contains("exceed_context_size")
        || lower.contains("context_length_exceeded")
        || (lower.contains("context")
            && [
                "exceed",
                "larger than",
                "too long",
                "maximum context",
                "too large",
            ]
            .iter()
            .any(|k| lower.contains(k)));
    if !overflow {
        return LlmError::Server {
            status,
            body: first_chars(body, 500),
            model: model.to_string(),
        };
    }
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let err = if v["error"].is_object() {
        &v["error"]
    } else {
        &v
    };
    let num = |k: &str| err[k].as_u64().map(|n| n.min(u32::MAX as u64) as u32);
    let message = err["message"]
        .as_str()
        .or(err.as_str())
        .or(v["error"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| first_chars(body, 300));
    LlmError::ContextExceeded {
        model: model.to_string(),
        prompt_tokens: num("n_prompt_tokens"),
        num_ctx: num("n_ctx").or(Some(server_ctx).filter(|n| *n > 0)),
        detail: format!("HTTP {status}: {}", first_chars(&message, 300)),
        advice: context_advice(api),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_refusal_is_typed_with_the_servers_counts() {
        let body = r#"{"error":{"code":400,"message":"request (11336 tokens) exceeds the available context size (8192 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":11336,"n_ctx":8192}}"#;
        let e = status_error(super::super::ApiKind::Openai, "m", 4096, 400, body);
        match &e {
            LlmError::ContextExceeded {
                prompt_tokens,
                num_ctx,
                advice,
                ..
            } => {
                assert_eq!(*prompt_tokens, Some(11336));
                assert_eq!(*num_ctx, Some(8192));
                assert!(advice.contains("--ctx-size"), "{advice}");
                assert!(!advice.contains("OLLAMA_CONTEXT_LENGTH"), "{advice}");
            }
            e => panic!("{e:?}"),
        }
        assert!(e.is_context_overflow());
        assert!(!e.is_retryable());
        let e = status_error(
            super::super::ApiKind::Ollama,
            "m",
            4096,
            500,
            r#"{"error":"boom"}"#,
        );
        assert!(matches!(e, LlmError::Server { status: 500, .. }));
        assert!(e.is_retryable());
    }

    #[test]
    fn schema_refusals_are_told_apart() {
        let server = |status, body: &str| LlmError::Server {
            status,
            body: body.into(),
            model: "m".into(),
        };
        assert!(refuses_schema(&server(
            400,
            "response_format type json_schema is not supported"
        )));
        assert!(refuses_schema(&server(500, "Failed to parse grammar")));
        assert!(!refuses_schema(&server(503, "busy")));
        assert!(!refuses_schema(&server(400, "bad model name")));
    }
}
