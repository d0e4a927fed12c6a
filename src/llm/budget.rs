//! Context budget: a conservative token estimate, the room a role has, and the checks that
//! keep a prompt from ever being truncated silently by the server.
//!
//! ## The estimate
//! We have no tokenizer for the served models, so we over-estimate on purpose, the way BPE
//! tokenizers (Qwen, Llama, gpt-oss) actually split text rather than by characters alone:
//! measured against llama.cpp's `/tokenize`, chars/4 is off by ×0.72 (source) to ×1.90 (a
//! generated diff), because digits, hashes and symbols cost a token each or nearly so. On
//! Qwen2.5-Coder's tokenizer the server counts 0.83 (Rust source), 0.85 (diffs), 0.88–0.90
//! (`Cargo.lock` and its diffs), 0.92 (prose) and 1.02 (hex hashes) of this estimate.
//!
//! * a run of ASCII letters costs `ceil(len / 8)`, split where a capital follows a small
//!   letter (camelCase); a run with almost no vowels (random identifiers, base64) `ceil(len / 2)`;
//! * every digit is one token (Qwen splits numbers into digits; hashes and versions in lock
//!   files are mostly digits and short letter runs);
//! * a run of symbols costs `ceil(len / 3)`, a run of spaces one token per 16, a line break one;
//! * a word of 20 or more characters mixing digits and both cases (base64, keys, minified
//!   code) costs at least 3 tokens per 4 characters;
//! * every non-ASCII character counts as one token (CJK, emoji and accented text tokenize
//!   badly);
//! * the result is at least `ceil(bytes / 4)`;
//! * each message adds [`MESSAGE_OVERHEAD`] tokens (role markers of the chat template) and
//!   every request adds [`REQUEST_OVERHEAD`] (template preamble, generation prompt).
//!
//! The server's own counts then calibrate it per model ([`super::calibrate`]): a [`Budget`]
//! carries the factor, plans room in estimate units already divided by it, and checks prompts
//! multiplied by it.
//!
//! ## Truncation evidence
//! Before sending, `estimate × factor + reserved_output <= num_ctx` is required (or the
//! server's exact count, where it offers one), otherwise the request is refused
//! ([`crate::llm::LlmError::ContextTooSmall`]). After the reply only the server's own signals
//! count ([`check_prompt_eval`]): a prompt count that filled the server's context means the
//! server cut the prompt. Our estimate is not evidence either way, and a count far *below* it
//! is what Ollama's prompt cache looks like (it reports only the tokens it evaluated anew).

use serde::Serialize;

use super::{LlmError, Message};

/// Tokens added per chat message for role markers.
pub const MESSAGE_OVERHEAD: u32 = 8;
/// Tokens added per request for the chat template's preamble and generation prompt.
pub const REQUEST_OVERHEAD: u32 = 32;
/// ASCII letters per token in a run of letters that reads like a word.
const LETTERS_PER_TOKEN: u64 = 8;
/// Letters per token in a run with almost no vowels (random identifiers, base64 pieces).
const DENSE_LETTERS_PER_TOKEN: u64 = 2;
/// Symbols per token in a run of symbols.
const SYMBOLS_PER_TOKEN: u64 = 3;
/// A word (no whitespace) this long mixing digits, upper and lower case is random data
/// (base64, minified code, keys): it costs at least 3 tokens per 4 characters.
const DENSE_WORD: u64 = 20;

/// Ends a word: one of [`DENSE_WORD`] characters or more that mixes digits, upper and lower
/// case costs at least 3 tokens per 4 characters.
fn close_word(tokens: &mut u64, word_len: &mut u64, kinds: &mut u8, word_start: u64) {
    if *word_len >= DENSE_WORD && *kinds == 0b111 {
        *tokens = (*tokens).max(word_start + (*word_len * 3).div_ceil(4));
    }
    *word_len = 0;
    *kinds = 0;
}

fn is_vowel(c: u8) -> bool {
    matches!(c | 0x20, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// Conservative token estimate of a text (see the module docs). One pass over the bytes; a
/// "word" is a run without whitespace (for the dense-word floor).
pub fn estimate_tokens(text: &str) -> u32 {
    let b = text.as_bytes();
    let n = b.len();
    let mut tokens = 0u64;
    let (mut word_len, mut word_start, mut kinds) = (0u64, 0u64, 0u8);
    let mut i = 0;
    while i < n {
        let c = b[i];
        if c.is_ascii_alphabetic() {
            if word_len == 0 {
                word_start = tokens;
            }
            // One run of letters, split where a capital follows a small letter.
            let start = i;
            let mut vowels = 0u64;
            let mut prev_lower = false;
            while i < n && b[i].is_ascii_alphabetic() {
                let d = b[i];
                if d.is_ascii_uppercase() {
                    if prev_lower {
                        break;
                    }
                    kinds |= 0b010;
                } else {
                    kinds |= 0b100;
                }
                prev_lower = d.is_ascii_lowercase();
                vowels += is_vowel(d) as u64;
                i += 1;
            }
            let len = (i - start) as u64;
            tokens += if len >= 4 && vowels * 5 < len {
                len.div_ceil(DENSE_LETTERS_PER_TOKEN)
            } else {
                len.div_ceil(LETTERS_PER_TOKEN)
            };
            word_len += len;
        } else if c == b' ' || c == b'\t' {
            let start = i;
            while i < n && (b[i] == b' ' || b[i] == b'\t') {
                i += 1;
            }
            close_word(&mut tokens, &mut word_len, &mut kinds, word_start);
            let len = (i - start) as u64;
            if len > 1 {
                tokens += len.div_ceil(16);
            }
        } else if c.is_ascii_punctuation() {
            if word_len == 0 {
                word_start = tokens;
            }
            let start = i;
            while i < n && b[i].is_ascii_punctuation() {
                i += 1;
            }
            let len = (i - start) as u64;
            tokens += len.div_ceil(SYMBOLS_PER_TOKEN);
            word_len += len;
        } else if c < 0x80 {
            // Digits, line breaks and control characters: one token each.
            if c.is_ascii_whitespace() {
                close_word(&mut tokens, &mut word_len, &mut kinds, word_start);
            } else {
                if word_len == 0 {
                    word_start = tokens;
                }
                word_len += 1;
                if c.is_ascii_digit() {
                    kinds |= 0b001;
                }
            }
            tokens += 1;
            i += 1;
        } else {
            // Non-ASCII characters: one token each.
            let ch = text[i..].chars().next().unwrap_or(' ');
            let w = ch.len_utf8();
            if ch.is_whitespace() {
                close_word(&mut tokens, &mut word_len, &mut kinds, word_start);
                tokens += 1;
            } else {
                if word_len == 0 {
                    word_start = tokens;
                }
                tokens += 1;
                word_len += 1;
                if ch.is_ascii_digit() {
                    kinds |= 0b001;
                }
            }
            i += w;
        }
    }
    close_word(&mut tokens, &mut word_len, &mut kinds, word_start);
    let by_bytes = (n as u64).div_ceil(4);
    tokens.max(by_bytes).min(u32::MAX as u64) as u32
}

/// Estimate of a whole prompt (messages plus overheads).
pub fn estimate_message_tokens(messages: &[Message]) -> u32 {
    messages
        .iter()
        .map(|m| estimate_tokens(&m.content).saturating_add(MESSAGE_OVERHEAD))
        .fold(REQUEST_OVERHEAD, u32::saturating_add)
}

/// How much room a model's context leaves for the prompt of one call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    pub model: String,
    /// The context window used for this model for the whole run.
    pub num_ctx: u32,
    /// Tokens kept free for the answer (`num_predict`).
    pub reserved_output: u32,
    /// Server tokens per estimated token, safety margin included ([`super::calibrate`]);
    /// 1.0 until the server has counted a prompt.
    pub calibration: f64,
}

impl Budget {
    /// A budget with no calibration yet.
    pub fn new(model: impl Into<String>, num_ctx: u32, reserved_output: u32) -> Self {
        Budget {
            model: model.into(),
            num_ctx,
            reserved_output,
            calibration: 1.0,
        }
    }

    fn factor(&self) -> f64 {
        if self.calibration.is_finite() && self.calibration > 1.0 {
            self.calibration
        } else {
            1.0
        }
    }

    /// An estimate in the server's tokens (estimate × calibration, rounded up).
    pub fn calibrated(&self, estimate: u32) -> u32 {
        (estimate as f64 * self.factor())
            .ceil()
            .min(u32::MAX as f64) as u32
    }

    /// Prompt tokens (as estimated by [`estimate_tokens`]) the messages may take in total,
    /// request overhead already deducted; divided by the calibration, so that what fits here
    /// fits the server.
    pub fn prompt_room(&self) -> u32 {
        let room = self
            .num_ctx
            .saturating_sub(self.reserved_output)
            .saturating_sub(REQUEST_OVERHEAD);
        (room as f64 / self.factor()).floor() as u32
    }

    /// Room left after the given messages (each with its overhead).
    pub fn room_after(&self, messages: &[Message]) -> u32 {
        let used = estimate_message_tokens(messages).saturating_sub(REQUEST_OVERHEAD);
        self.prompt_room().saturating_sub(used)
    }

    /// Refuses a prompt that does not fit; returns its (uncalibrated) estimate otherwise.
    pub fn check(&self, messages: &[Message]) -> Result<u32, LlmError> {
        let est = estimate_message_tokens(messages);
        self.check_count(self.calibrated(est))?;
        Ok(est)
    }

    /// Refuses a prompt of `tokens` (server tokens: calibrated, or counted by the server).
    pub fn check_count(&self, tokens: u32) -> Result<(), LlmError> {
        if tokens.saturating_add(self.reserved_output) > self.num_ctx {
            return Err(LlmError::ContextTooSmall {
                model: self.model.clone(),
                prompt_tokens: tokens,
                reserved_output: self.reserved_output,
                num_ctx: self.num_ctx,
            });
        }
        Ok(())
    }
}

/// Tokens short of the context that still count as "filled": a server that cuts a prompt keeps
/// what fits, so its count lands at (or a few tokens under) its context.
pub fn truncation_slack(num_ctx: u32) -> u32 {
    (num_ctx / 64).max(16)
}

/// After the reply: fails when the server's own prompt count shows it cut the prompt, that is
/// when the count filled the server's context `server_ctx` (see the module docs). Our estimate
/// only appears in the message.
pub fn check_prompt_eval(
    budget: &Budget,
    server_ctx: u32,
    estimated: u32,
    prompt_eval_count: Option<u32>,
    advice: impl FnOnce() -> String,
) -> Result<(), LlmError> {
    let Some(actual) = prompt_eval_count else {
        return Ok(());
    };
    if actual.saturating_add(truncation_slack(server_ctx)) >= server_ctx {
        return Err(LlmError::PromptTruncated {
            model: budget.model.clone(),
            prompt_eval_count: actual,
            estimated,
            num_ctx: server_ctx,
            reserved_output: budget.reserved_output,
            advice: advice(),
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
        assert_eq!(
            estimate_tokens(&"a".repeat(1000)),
            250,
            "never under bytes / 4"
        );
        assert_eq!(estimate_tokens(&"x".repeat(1000)), 500, "no vowels: dense");
        assert_eq!(
            estimate_tokens(&"banana ".repeat(100)),
            175,
            "words: bytes / 4"
        );
        // CJK: one token per char at least.
        assert_eq!(estimate_tokens("漢字漢字"), 4);
        // Digits and hashes cost a token each; never under bytes / 4.
        assert_eq!(estimate_tokens("1234567890"), 10);
        assert!(estimate_tokens("sha256:9f86d081884c7d659a2feaa0c55ad015") >= 30);
        assert!(estimate_tokens("getUserName") >= 3, "camelCase splits");
        let b64 = "aGVsbG8gd29ybGQsIHRoaXMgaXMgYmFzZTY0IGRhdGEK";
        assert!(estimate_tokens(b64) >= 33, "{}", estimate_tokens(b64));
        assert!(estimate_tokens(&" ".repeat(100)) >= 25);
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
    fn calibration_shrinks_the_room_and_grows_the_check() {
        let mut b = Budget::new("m", 4096, 1024);
        assert_eq!(b.prompt_room(), 4096 - 1024 - REQUEST_OVERHEAD);
        b.calibration = 2.0;
        assert_eq!(b.prompt_room(), (4096 - 1024 - REQUEST_OVERHEAD) / 2);
        let msg = [Message::user("abcd".repeat(2000))];
        // 2000 estimated, 4000 calibrated: over 4096 - 1024.
        assert!(matches!(
            b.check(&msg),
            Err(LlmError::ContextTooSmall { prompt_tokens, .. }) if prompt_tokens > 4000
        ));
        b.calibration = 1.0;
        assert!(b.check(&msg).is_ok());
    }

    #[test]
    fn truncation_is_judged_by_the_servers_count_against_its_context() {
        let b = Budget::new("m", 4096, 1024);
        let advice = || "knob".to_string();
        // Cache hit: tiny count is fine.
        assert!(check_prompt_eval(&b, 4096, 2000, Some(12), advice).is_ok());
        // Far above our estimate, into the room reserved for the answer, yet short of the
        // server's context: nothing was cut.
        assert!(check_prompt_eval(&b, 4096, 1394, Some(3500), advice).is_ok());
        // The count filled the server's context: cut.
        let e = check_prompt_eval(&b, 4096, 2000, Some(4090), advice).unwrap_err();
        assert!(matches!(e, LlmError::PromptTruncated { num_ctx: 4096, .. }));
        assert!(e.to_string().contains("knob"), "{e}");
        // The server's own context decides, not ours.
        assert!(check_prompt_eval(&b, 8192, 2000, Some(4090), advice).is_ok());
    }
}
