//! An in-process, scripted [`Llm`] for role unit tests: no HTTP, answers from a queue, and
//! every request kept for assertions. It applies the same context check as the real clients.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::budget::{Budget, estimate_message_tokens};
use super::progress::{CallRecord, Ledger};
use super::{BoxFuture, ChatRequest, DoneReason, Llm, LlmError, Reply};

/// Computes an answer from the request.
pub type AnswerFn = Box<dyn Fn(&ChatRequest) -> Result<String, LlmError> + Send + Sync>;

/// One scripted answer.
pub enum Scripted {
    /// Reply with this text (`done_reason: "stop"`).
    Text(String),
    /// Fail with this error.
    Error(LlmError),
    /// Compute the answer from the request.
    With(AnswerFn),
}

/// A scripted fake model.
pub struct ScriptedLlm {
    script: Mutex<VecDeque<Scripted>>,
    requests: Mutex<Vec<ChatRequest>>,
    num_ctx: u32,
    default_max_output: u32,
    ledger: Ledger,
}

impl ScriptedLlm {
    /// A fake with a context of `num_ctx` tokens and these answers, in order.
    pub fn new(num_ctx: u32, script: impl IntoIterator<Item = Scripted>) -> Self {
        ScriptedLlm {
            script: Mutex::new(script.into_iter().collect()),
            requests: Mutex::new(Vec::new()),
            num_ctx,
            default_max_output: 2048.min(num_ctx / 2),
            ledger: Ledger::default(),
        }
    }

    /// Convenience: text answers only.
    pub fn with_texts<S: Into<String>>(num_ctx: u32, texts: impl IntoIterator<Item = S>) -> Self {
        Self::new(num_ctx, texts.into_iter().map(|t| Scripted::Text(t.into())))
    }

    pub fn push(&self, s: Scripted) {
        self.script
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(s);
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }
}

impl Llm for ScriptedLlm {
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<Reply, LlmError>> {
        Box::pin(async move {
            self.requests
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(request.clone());
            let budget = Budget::new(
                request.model.clone(),
                self.num_ctx,
                request.max_output_tokens.unwrap_or(self.default_max_output),
            );
            let estimated = budget.check(&request.messages)?;
            let next = self
                .script
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front();
            let text = match next {
                None => {
                    return Err(LlmError::Invalid(
                        "ScriptedLlm: no scripted answer left".into(),
                    ));
                }
                Some(Scripted::Text(t)) => t,
                Some(Scripted::Error(e)) => return Err(e),
                Some(Scripted::With(f)) => f(request)?,
            };
            let (text, thinking) = super::strip_think(&text);
            let usage = CallRecord {
                model: request.model.clone(),
                role: request.role.map(|r| r.to_string()),
                step: request.step.clone(),
                prompt_tokens: estimate_message_tokens(&request.messages),
                prompt_tokens_estimated: estimated,
                output_tokens: super::estimate_tokens(&text),
                num_ctx: self.num_ctx,
                done_reason: "stop".into(),
                ..CallRecord::default()
            };
            self.ledger.push(usage.clone());
            Ok(Reply {
                text,
                thinking,
                done_reason: DoneReason::Stop,
                usage,
            })
        })
    }

    fn budget<'a>(
        &'a self,
        model: &'a str,
        max_output_tokens: Option<u32>,
    ) -> BoxFuture<'a, Result<Budget, LlmError>> {
        Box::pin(async move {
            Ok(Budget::new(
                model,
                self.num_ctx,
                max_output_tokens.unwrap_or(self.default_max_output),
            ))
        })
    }
}
