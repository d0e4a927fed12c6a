//! Context budget: a conservative token estimate, the room a role has, and the checks that
//! keep a prompt from ever being truncated silently by the server.
//!
//! ## The estimate
//! We have no tokenizer for the served models, so we over-estimate on purpose:
//!
//! * ASCII text: `ceil(ascii_chars / 3.5)` (BPE tokenizers of Qwen/Llama/gpt-oss average
//!   3.5–4.5 characters per token on English and code);
//! * every non-ASCII character counts as one token (CJK, emoji and accented text tokenize
//!   badly, often one token per character or worse);
//! * the result is at least `ceil(bytes / 4)`;
//! * each message adds [`MESSAGE_OVERHEAD`] tokens (role markers of the chat template) and
//!   every request adds [`REQUEST_OVERHEAD`] (template preamble, generation prompt).
//!
//! ## Truncation evidence
//! Before sending, `estimate + reserved_output <= num_ctx` is required, otherwise the request
//! is refused ([`crate::llm::LlmError::ContextTooSmall`]). After the reply the server's
//! `prompt_eval_count` is compared with that plan by [`check_prompt_eval`]: if the model
//! evaluated *more* tokens than estimated *and* the prompt reached into the room we reserved
//! for the answer, our estimate was too low and the server likely cut the prompt: the call
//! fails loudly. A `prompt_eval_count` far *below* the estimate is never taken as evidence,
//! because Ollama reuses its prompt cache: on a cache hit it reports only the tokens it had to
//! evaluate anew (a follow-up call sharing a long prefix may report a handful). Since a prompt
//! is never sent unless its over-estimate fits, truncation would need the real count to
//! exceed the estimate, so looking only upward has no false alarms from caching.

use serde::Serialize;

use super::{LlmError, Message};

/// Tokens added per chat message for role markers.
pub const MESSAGE_OVERHEAD: u32 = 8;
/// Tokens added per request for the chat template's preamble and generation prompt.
pub const REQUEST_OVERHEAD: u32 = 32;

/// Conservative token estimate of a text (see the module docs).
pub fn estimate_tokens(text: &str) -> u32 {
    let mut ascii = 0u64;
    let mut other = 0u64;
    for c in text.chars() {
        if c.is_ascii() {
            ascii += 1;
        } else {
            other += 1;
        }
    }
    let by_chars = (ascii * 2).div_ceil(7) + other;
    let by_bytes = (text.len() as u64).div_ceil(4);
    by_chars.max(by_bytes).min(u32::MAX as u64) as u32
}

/// Estimate of a whole prompt (messages plus overheads).
pub fn estimate_message_tokens(messages: &[Message]) -> u32 {
    messages
        .iter()
        .map(|m| estimate_tokens(&m.content).saturating_add(MESSAGE_OVERHEAD))
        .fold(REQUEST_OVERHEAD, u32::saturating_add)
}

/// How much room a model's context leaves for the prompt of one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Budget {
    pub model: String,
    /// The context window used for this model for the whole run.
    pub num_ctx: u32,
    /// Tokens kept free for the answer (`num_predict`).
    pub reserved_output: u32,
}

impl Budget {
    /// Prompt tokens (as estimated by [`estimate_tokens`]) the messages may take in total,
    /// request overhead already deducted.
    pub fn prompt_room(&self) -> u32 {
        self.num_ctx
            .saturating_sub(self.reserved_output)
            .saturating_sub(REQUEST_OVERHEAD)
    }

    /// Room left after the given messages (each with its overhead).
    pub fn room_after(&self, messages: &[Message]) -> u32 {
        let used = estimate_message_tokens(messages).saturating_sub(REQUEST_OVERHEAD);
        self.prompt_room().saturating_sub(used)
    }

    /// Refuses a prompt that does not fit; returns its estimate otherwise.
    pub fn check(&self, messages: &[Message]) -> Result<u32, LlmError> {
        let est = estimate_message_tokens(messages);
        if est.saturating_add(self.reserved_output) > self.num_ctx {
            return Err(LlmError::ContextTooSmall {
                model: self.model.clone(),
                prompt_tokens: est,
                reserved_output: self.reserved_output,
                num_ctx: self.num_ctx,
            });
        }
        Ok(est)
    }
}

/// After the reply: fails when `prompt_eval_count` shows the prompt was likely truncated
/// (see the module docs for why a low count is not evidence).
pub fn check_prompt_eval(
    budget: &Budget,
    estimated: u32,
    prompt_eval_count: Option<u32>,
) -> Result<(), LlmError> {
    let Some(actual) = prompt_eval_count else {
        return Ok(());
    };
    let limit = budget.num_ctx.saturating_sub(budget.reserved_output);
    if actual > estimated && actual >= limit {
        return Err(LlmError::PromptTruncated {
            model: budget.model.clone(),
            prompt_eval_count: actual,
            estimated,
            num_ctx: budget.num_ctx,
            reserved_output: budget.reserved_output,
        });
    }
    Ok(())
}

/// One piece of material a role would like in its prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Lower numbers are more important and are placed first.
    pub priority: u32,
    pub text: String,
}

/// Fills `room` tokens with sections by priority (lowest number first). A section that does
/// not fit whole is cut at a line boundary with a visible marker, once at least
/// `min_partial` tokens of it fit; sections after that are dropped. Returns the kept texts in
/// priority order and how many sections were cut or dropped.
pub fn fill_by_priority(
    mut sections: Vec<Section>,
    room: u32,
    min_partial: u32,
) -> (Vec<String>, usize) {
    sections.sort_by_key(|s| s.priority);
    let mut left = room;
    let mut out = Vec::new();
    let mut lost = 0;
    let mut full = false;
    for s in sections {
        let need = estimate_tokens(&s.text) + MESSAGE_OVERHEAD;
        if !full && need <= left {
            left -= need;
            out.push(s.text);
            continue;
        }
        lost += 1;
        if full {
            continue;
        }
        full = true;
        let marker = "\n[… cut to fit the context window …]\n";
        let avail = left.saturating_sub(MESSAGE_OVERHEAD + estimate_tokens(marker));
        if avail >= min_partial && avail > 0 {
            let cut = truncate_to_tokens(&s.text, avail);
            out.push(format!("{cut}{marker}"));
        }
    }
    (out, lost)
}

/// The longest prefix (cut at a line end when possible) estimated at most `tokens` tokens.
pub fn truncate_to_tokens(text: &str, tokens: u32) -> &str {
    if estimate_tokens(text) <= tokens {
        return text;
    }
    // Binary search on char boundaries.
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let (mut lo, mut hi) = (0usize, bounds.len() - 1);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if estimate_tokens(&text[..bounds[mid]]) <= tokens {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let prefix = &text[..bounds[lo]];
    match prefix.rfind('\n') {
        Some(nl) if nl > prefix.len() / 2 => &prefix[..=nl],
        _ => prefix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_is_conservative() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcdefg"), 2);
        // 1000 ASCII chars: 286 tokens.
        assert_eq!(estimate_tokens(&"a".repeat(1000)), 286);
        // CJK: one token per char at least.
        assert_eq!(estimate_tokens("漢字漢字"), 4);
    }

    #[test]
    fn fill_cuts_the_least_important() {
        let secs = vec![
            Section {
                priority: 2,
                text: "low\n".repeat(400),
            },
            Section {
                priority: 1,
                text: "high".into(),
            },
        ];
        let (kept, lost) = fill_by_priority(secs, 200, 20);
        assert_eq!(lost, 1);
        assert_eq!(kept[0], "high");
        assert!(kept[1].contains("cut to fit"));
        let total: u32 = kept
            .iter()
            .map(|t| estimate_tokens(t) + MESSAGE_OVERHEAD)
            .sum();
        assert!(total <= 200, "{total}");
    }

    #[test]
    fn truncation_evidence_only_upward() {
        let b = Budget {
            model: "m".into(),
            num_ctx: 4096,
            reserved_output: 1024,
        };
        // Cache hit: tiny count is fine.
        assert!(check_prompt_eval(&b, 2000, Some(12)).is_ok());
        // Larger than estimate but well inside: fine.
        assert!(check_prompt_eval(&b, 2000, Some(2500)).is_ok());
        // Reaching into the output room: truncated.
        assert!(matches!(
            check_prompt_eval(&b, 2000, Some(4090)),
            Err(LlmError::PromptTruncated { .. })
        ));
    }
}
