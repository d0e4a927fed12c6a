//! Token counts the server agrees with. Our estimate ([`super::estimate_tokens`]) knows no
//! tokenizer; each server tells us its own counts (Ollama's `prompt_eval_count`, llama.cpp's
//! `/tokenize` and `usage.prompt_tokens`), and this keeps, per model, the largest ratio of the
//! server's count to our estimate seen in the run, plus a safety margin, so that the next
//! prompt is planned in tokens the server would count.
//!
//! The factor only rises within a run: a ratio far below 1 is what a prompt-cache hit looks like
//! (Ollama then counts only the tokens it evaluated anew), and a prompt of prose says nothing
//! about the diff or the lock file that comes next. It never falls below 1.0, because the
//! estimate is itself built to over-count code, diffs and lock files (see `budget`).

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;

/// Added on top of the largest ratio seen. The spread of the server's count over our estimate
/// between kinds of text measured on one model (Qwen2.5-Coder under llama.cpp) was under 10 %
/// once the estimate over-counts digits and symbols; 10 % keeps a chunk planned by the factor
/// inside the context.
pub const SAFETY_MARGIN: f64 = 0.10;

/// Ratios below this are not evidence about the tokenizer (cache hits, tiny prompts).
const MIN_PROMPT_FOR_EVIDENCE: u32 = 64;

/// What the run learned about one model's tokenizer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ModelCalibration {
    /// Largest `server / estimate` seen.
    pub max_ratio: f64,
    /// Observations taken.
    pub samples: u32,
}

impl ModelCalibration {
    /// Multiply an estimate by this to plan in the server's tokens.
    pub fn factor(&self) -> f64 {
        if self.samples == 0 {
            return 1.0;
        }
        (self.max_ratio * (1.0 + SAFETY_MARGIN)).max(1.0)
    }
}

/// Per-model calibration, shared by every call of a client.
#[derive(Debug, Default)]
pub struct Calibration(Mutex<HashMap<String, ModelCalibration>>);

impl Calibration {
    /// Notes that the server counted `server` tokens for a prompt we estimated at `estimate`.
    pub fn observe(&self, model: &str, estimate: u32, server: u32) {
        if estimate < MIN_PROMPT_FOR_EVIDENCE || server < MIN_PROMPT_FOR_EVIDENCE {
            return;
        }
        let ratio = server as f64 / estimate as f64;
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(model.to_string()).or_default();
        entry.samples += 1;
        if ratio > entry.max_ratio {
            entry.max_ratio = ratio;
        }
    }

    pub fn get(&self, model: &str) -> ModelCalibration {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(model)
            .copied()
            .unwrap_or_default()
    }

    /// The factor for `model` (1.0 until the server has told us something).
    pub fn factor(&self, model: &str) -> f64 {
        self.get(model).factor()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_factor_rises_with_evidence_and_never_falls() {
        let c = Calibration::default();
        assert_eq!(c.factor("m"), 1.0);
        c.observe("m", 1000, 1500);
        assert!((c.factor("m") - 1.65).abs() < 1e-9);
        // A cache hit (few tokens evaluated) and a prose prompt lower nothing.
        c.observe("m", 1000, 70);
        c.observe("m", 1000, 800);
        assert!((c.factor("m") - 1.65).abs() < 1e-9);
        assert_eq!(c.get("m").samples, 3);
        // Tiny prompts are no evidence; other models are apart.
        c.observe("n", 10, 40);
        assert_eq!(c.factor("n"), 1.0);
        c.observe("n", 1000, 500);
        assert_eq!(c.factor("n"), 1.0, "never below the estimate");
    }
}
