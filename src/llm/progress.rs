//! Progress lines while streaming, and per-call accounting for the run report.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::vocab::markdown::table_cell;

/// Accounting of one model call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallRecord {
    pub model: String,
    /// Role that made the call, when known.
    pub role: Option<String>,
    /// The role's step the call was for (`round 2 (…)`), when the role names one.
    pub step: Option<String>,
    /// Prompt tokens evaluated by the server (`prompt_eval_count`; small on a cache hit).
    pub prompt_tokens: u32,
    /// Our estimate of the prompt before sending (uncalibrated).
    pub prompt_tokens_estimated: u32,
    /// The prompt as the server's own tokenizer counted it before sending (llama.cpp
    /// `/tokenize`), when it offers one.
    pub prompt_tokens_counted: Option<u32>,
    /// The calibration factor the prompt was checked with (server tokens per estimated token).
    pub calibration: f64,
    /// Output tokens (`eval_count`).
    pub output_tokens: u32,
    pub num_ctx: u32,
    pub load_seconds: f64,
    pub prompt_seconds: f64,
    pub eval_seconds: f64,
    pub total_seconds: f64,
    /// Output tokens per second of generation only (the server's timings: Ollama
    /// `eval_count / eval_duration`, llama.cpp `timings.predicted_per_second`; else measured
    /// from the first to the last streamed token). 0 when unknown.
    pub tokens_per_second: f64,
    pub done_reason: String,
    /// How a JSON reply was asked for: `format` (Ollama, schema), `json_schema`,
    /// `json_object` or `prompt` (schema in the prompt only, for servers that refuse both).
    pub structured_output: Option<String>,
    /// `None` on success; the error message otherwise.
    pub error: Option<String>,
}

/// Where progress lines go.
pub trait ProgressSink: Send + Sync {
    fn line(&self, line: &str);
}

/// Progress to stderr (also right inside GitHub Actions, whose log shows stderr).
#[derive(Debug, Default, Clone, Copy)]
pub struct StderrProgress;

impl ProgressSink for StderrProgress {
    fn line(&self, line: &str) {
        eprintln!("{line}");
    }
}

/// Collects progress lines in memory (tests, or a quiet mode).
#[derive(Debug, Default, Clone)]
pub struct MemoryProgress(pub Arc<Mutex<Vec<String>>>);

impl MemoryProgress {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl ProgressSink for MemoryProgress {
    fn line(&self, line: &str) {
        if let Ok(mut v) = self.0.lock() {
            v.push(line.to_string());
        }
    }
}

/// The shared list of call records of a run. Cloning shares the list.
#[derive(Debug, Default, Clone)]
pub struct Ledger(Arc<Mutex<Vec<CallRecord>>>);

impl Ledger {
    pub fn push(&self, r: CallRecord) {
        if let Ok(mut v) = self.0.lock() {
            v.push(r);
        }
    }
    /// Runs one chat call with a fresh record for `request`, notes its error if it fails,
    /// and keeps the record: every client accounts for its calls the same way.
    pub async fn recorded(
        &self,
        request: &super::ChatRequest,
        call: impl AsyncFnOnce(&mut CallRecord) -> Result<super::Reply, super::LlmError>,
    ) -> Result<super::Reply, super::LlmError> {
        let mut record = CallRecord {
            model: request.model.clone(),
            role: request.role.map(|r| r.to_string()),
            step: request.step.clone(),
            ..CallRecord::default()
        };
        let res = call(&mut record).await;
        if let Err(e) = &res {
            record.error = Some(e.to_string());
        }
        self.push(record);
        res
    }

    pub fn records(&self) -> Vec<CallRecord> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// A Markdown table of the calls (for the step summary), with a total line.
pub fn render_markdown_table(records: &[CallRecord]) -> String {
    let mut s = String::from(
        "| # | role | model | prompt tokens | output tokens | num_ctx | load s | prompt s | eval s | total s | tok/s | result |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    let (mut pt, mut ot, mut tt) = (0u64, 0u64, 0f64);
    for (i, r) in records.iter().enumerate() {
        pt += r.prompt_tokens as u64;
        ot += r.output_tokens as u64;
        tt += r.total_seconds;
        let result = match (&r.error, r.structured_output.as_deref()) {
            (Some(e), _) => format!("error: {}", first_chars(e, 80)),
            // The server refused a JSON schema: say how the JSON was asked for instead.
            (None, Some(m @ ("json_object" | "prompt"))) => {
                format!("{} (JSON via {m})", r.done_reason)
            }
            (None, _) => r.done_reason.clone(),
        };
        s.push_str(&format!(
            "| {} | {} | `{}` | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |\n",
            i + 1,
            match (&r.role, &r.step) {
                (Some(role), Some(step)) => table_cell(&format!("{role} {step}")),
                (role, _) => role.clone().unwrap_or_else(|| "-".into()),
            },
            r.model,
            r.prompt_tokens,
            r.output_tokens,
            r.num_ctx,
            r.load_seconds,
            r.prompt_seconds,
            r.eval_seconds,
            r.total_seconds,
            r.tokens_per_second,
            table_cell(&result),
        ));
    }
    s.push_str(&format!(
        "| | **total** | {} calls | {pt} | {ot} | | | | | {tt:.1} | | |\n",
        records.len()
    ));
    s
}

pub(crate) fn first_chars(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        out.push('…');
    }
    out
}

/// Tracks one streaming call and emits a line every `interval`. `Sync` (the futures holding
/// a reference to it must be `Send`).
pub(crate) struct Progress<'a> {
    sink: Option<&'a dyn ProgressSink>,
    label: String,
    interval: Duration,
    start: Instant,
    state: Mutex<ProgressState>,
}

struct ProgressState {
    first_token: Option<Instant>,
    last_token: Option<Instant>,
    last_line: Instant,
    tokens: u64,
}

impl ProgressState {
    /// Tokens per second between the first and the last token; none before the second token.
    fn rate(&self) -> Option<f64> {
        let (first, last) = (self.first_token?, self.last_token?);
        let secs = last.duration_since(first).as_secs_f64();
        (self.tokens >= 2 && secs > 0.0).then(|| (self.tokens - 1) as f64 / secs)
    }
}

impl<'a> Progress<'a> {
    pub(crate) fn new(
        sink: Option<&'a dyn ProgressSink>,
        label: String,
        interval: Duration,
    ) -> Self {
        let now = Instant::now();
        Progress {
            sink,
            label,
            interval,
            start: now,
            state: Mutex::new(ProgressState {
                first_token: None,
                last_token: None,
                last_line: now,
                tokens: 0,
            }),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut ProgressState) -> R) -> R {
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    pub(crate) fn token(&self) {
        let due = self.with(|s| {
            s.tokens += 1;
            let now = Instant::now();
            if s.first_token.is_none() {
                s.first_token = Some(now);
            }
            s.last_token = Some(now);
            if now.duration_since(s.last_line) >= self.interval {
                s.last_line = now;
                true
            } else {
                false
            }
        });
        if due {
            self.emit("…");
        }
    }

    /// Generation rate measured on the stream (first to last token), when there were two.
    pub(crate) fn rate(&self) -> Option<f64> {
        self.with(|s| s.rate())
    }

    /// Seconds from the start of the call to the first token (load and prompt evaluation).
    pub(crate) fn until_first_token(&self) -> Option<f64> {
        self.with(|s| s.first_token)
            .map(|t| t.duration_since(self.start).as_secs_f64())
    }

    /// Seconds from the first to the last token.
    pub(crate) fn generating(&self) -> f64 {
        self.with(|s| match (s.first_token, s.last_token) {
            (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
            _ => 0.0,
        })
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    pub(crate) fn emit(&self, state: &str) {
        let Some(sink) = self.sink else { return };
        let (tokens, rate) = self.with(|s| (s.tokens, s.rate()));
        let rate = match rate {
            Some(r) => format!("{r:.1} tok/s"),
            None => "- tok/s".to_string(),
        };
        sink.line(&format!(
            "llm {}: {} tokens, {rate}, {:.1}s elapsed {}",
            self.label,
            tokens,
            self.elapsed().as_secs_f64(),
            state
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rate_before_the_second_token() {
        let mem = MemoryProgress::default();
        let p = Progress::new(Some(&mem), "m".into(), Duration::from_secs(3600));
        p.emit("started");
        p.token();
        p.emit("one");
        std::thread::sleep(Duration::from_millis(20));
        p.token();
        p.emit("two");
        let lines = mem.lines();
        assert!(lines[0].contains("0 tokens, - tok/s"), "{lines:?}");
        assert!(lines[1].contains("1 tokens, - tok/s"), "{lines:?}");
        // One token in ≥ 20 ms: at most 50 tok/s, never the 838926.2 of a division by ~0.
        let rate = p.rate().unwrap();
        assert!(rate > 0.0 && rate <= 50.0, "{rate}");
        assert!(!lines[2].contains("- tok/s"), "{lines:?}");
    }
}
