//! Progress lines while streaming, and per-call accounting for the run report.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Accounting of one model call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub model: String,
    /// Role that made the call, when known.
    pub role: Option<String>,
    /// Prompt tokens evaluated by the server (`prompt_eval_count`; small on a cache hit).
    pub prompt_tokens: u32,
    /// Our estimate of the prompt before sending.
    pub prompt_tokens_estimated: u32,
    /// Output tokens (`eval_count`).
    pub output_tokens: u32,
    pub num_ctx: u32,
    pub load_seconds: f64,
    pub prompt_seconds: f64,
    pub eval_seconds: f64,
    pub total_seconds: f64,
    /// Output tokens per second of generation (`eval_count / eval_duration`).
    pub tokens_per_second: f64,
    pub done_reason: String,
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
        let result = match &r.error {
            Some(e) => format!("error: {}", first_chars(e, 80)),
            None => r.done_reason.clone(),
        };
        s.push_str(&format!(
            "| {} | {} | `{}` | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |\n",
            i + 1,
            r.role.as_deref().unwrap_or("-"),
            r.model,
            r.prompt_tokens,
            r.output_tokens,
            r.num_ctx,
            r.load_seconds,
            r.prompt_seconds,
            r.eval_seconds,
            r.total_seconds,
            r.tokens_per_second,
            escape_cell(&result),
        ));
    }
    s.push_str(&format!(
        "| | **total** | {} calls | {pt} | {ot} | | | | | {tt:.1} | | |\n",
        records.len()
    ));
    s
}

fn escape_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
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
    last_line: Instant,
    tokens: u64,
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

    pub(crate) fn tokens(&self) -> u64 {
        self.with(|s| s.tokens)
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    pub(crate) fn emit(&self, state: &str) {
        let Some(sink) = self.sink else { return };
        let (tokens, gen_secs) = self.with(|s| {
            (
                s.tokens,
                s.first_token
                    .map(|t| t.elapsed().as_secs_f64())
                    .unwrap_or(0.0),
            )
        });
        let rate = if gen_secs > 0.0 {
            tokens as f64 / gen_secs
        } else {
            0.0
        };
        sink.line(&format!(
            "llm {}: {} tokens, {:.1} tok/s, {:.1}s elapsed {}",
            self.label,
            tokens,
            rate,
            self.elapsed().as_secs_f64(),
            state
        ));
    }
}
