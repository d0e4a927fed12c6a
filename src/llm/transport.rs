//! HTTP plumbing shared by the Ollama and OpenAI-compatible clients: retries with backoff,
//! the first-byte deadline and the idle timeout of a streamed answer, progress while waiting.

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::Instant;

use super::ndjson::LineSplitter;
use super::progress::Progress;
use super::{LlmError, LlmSettings, TimeoutPhase};

pub(crate) fn build_client(settings: &LlmSettings) -> Result<reqwest::Client, LlmError> {
    reqwest::Client::builder()
        .connect_timeout(settings.connect_timeout)
        .user_agent(concat!("codex-orchestrator/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| LlmError::Invalid(format!("cannot build the HTTP client: {e}")))
}

pub(crate) fn map_send_error(
    e: reqwest::Error,
    settings: &LlmSettings,
    model: &str,
    phase_if_timeout: TimeoutPhase,
    after: Duration,
) -> LlmError {
    if e.is_connect() && e.is_timeout() {
        return LlmError::Timeout {
            phase: TimeoutPhase::Connect,
            after: settings.connect_timeout,
            model: model.to_string(),
            base_url: settings.base().to_string(),
        };
    }
    if e.is_timeout() {
        return LlmError::Timeout {
            phase: phase_if_timeout,
            after,
            model: model.to_string(),
            base_url: settings.base().to_string(),
        };
    }
    LlmError::Unreachable {
        base_url: settings.base().to_string(),
        detail: error_chain(&e),
    }
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Awaits `fut` until `deadline`, emitting a "waiting" progress line every interval.
pub(crate) async fn wait_until<F: Future>(
    fut: F,
    deadline: Instant,
    progress: &Progress<'_>,
    interval: Duration,
    what: &str,
) -> Option<F::Output> {
    tokio::pin!(fut);
    let sleep = tokio::time::sleep_until(deadline);
    tokio::pin!(sleep);
    let mut ticker = tokio::time::interval_at(Instant::now() + interval, interval);
    loop {
        tokio::select! {
            out = &mut fut => return Some(out),
            _ = &mut sleep => return None,
            _ = ticker.tick() => progress.emit(what),
        }
    }
}

/// Outcome of a POST that returned a non-success status.
pub(crate) struct HttpFailure {
    pub status: u16,
    pub body: String,
}

/// POSTs JSON with retries on connection errors, 5xx and 429. The whole attempt (including
/// backoff) must produce response headers before `deadline` of each try. Returns the
/// response (success status) or the failure; `on_status` maps a failed status to an error
/// and decides (through [`LlmError::is_retryable`]) whether to retry.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn post_with_retry<'m, M>(
    http: &reqwest::Client,
    settings: &LlmSettings,
    url: &str,
    body: &[u8],
    model: &str,
    first_byte: Duration,
    progress: &Progress<'_>,
    map_status: M,
) -> Result<(reqwest::Response, Instant), LlmError>
where
    M: Fn(HttpFailure) -> super::BoxFuture<'m, LlmError>,
{
    let mut attempt = 0u32;
    loop {
        let deadline = Instant::now() + first_byte;
        let mut req = http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(key) = &settings.api_key {
            req = req.bearer_auth(key);
        }
        let res = wait_until(
            req.send(),
            deadline,
            progress,
            settings.progress_interval,
            "waiting for the server (model loading?)",
        )
        .await;
        let err = match res {
            None => LlmError::Timeout {
                phase: TimeoutPhase::FirstByte,
                after: first_byte,
                model: model.to_string(),
                base_url: settings.base().to_string(),
            },
            Some(Err(e)) => map_send_error(e, settings, model, TimeoutPhase::FirstByte, first_byte),
            Some(Ok(resp)) if resp.status().is_success() => return Ok((resp, deadline)),
            Some(Ok(resp)) => {
                let status = resp.status().as_u16();
                let body = match tokio::time::timeout(settings.probe_timeout, resp.text()).await {
                    Ok(Ok(t)) => t,
                    _ => String::new(),
                };
                map_status(HttpFailure {
                    status,
                    body: super::progress::first_chars(&body, 500),
                })
                .await
            }
        };
        if err.is_retryable() && attempt < settings.max_retries {
            let backoff = settings
                .retry_backoff
                .saturating_mul(1u32 << attempt.min(10));
            progress.emit(&format!(
                "retrying in {:.1}s after: {}",
                backoff.as_secs_f64(),
                super::progress::first_chars(&err.to_string(), 120)
            ));
            tokio::time::sleep(backoff).await;
            attempt += 1;
            continue;
        }
        return Err(err);
    }
}

/// Reads a streamed body line by line. The first chunk must arrive before `first_deadline`,
/// later chunks within `idle` of each other. `on_line` returns `Ok(true)` when the answer is
/// complete.
pub(crate) async fn read_lines<F>(
    resp: reqwest::Response,
    settings: &LlmSettings,
    model: &str,
    first_deadline: Instant,
    first_byte: Duration,
    progress: &Progress<'_>,
    mut on_line: F,
) -> Result<bool, LlmError>
where
    F: FnMut(&str) -> Result<bool, LlmError>,
{
    let mut stream = resp.bytes_stream();
    let mut splitter = LineSplitter::default();
    let mut got_first = false;
    loop {
        let (deadline, phase, after) = if got_first {
            (
                Instant::now() + settings.idle_timeout,
                TimeoutPhase::Idle,
                settings.idle_timeout,
            )
        } else {
            (first_deadline, TimeoutPhase::FirstByte, first_byte)
        };
        let next = wait_until(
            stream.next(),
            deadline,
            progress,
            settings.progress_interval,
            if got_first {
                "…"
            } else {
                "waiting for the first token"
            },
        )
        .await;
        let chunk = match next {
            None => {
                return Err(LlmError::Timeout {
                    phase,
                    after,
                    model: model.to_string(),
                    base_url: settings.base().to_string(),
                });
            }
            Some(None) => break,
            Some(Some(Err(e))) => {
                return Err(LlmError::StreamError {
                    model: model.to_string(),
                    message: format!("connection broke while streaming: {}", error_chain(&e)),
                });
            }
            Some(Some(Ok(b))) => b,
        };
        got_first = true;
        for line in splitter.push(&chunk) {
            if on_line(&line)? {
                return Ok(true);
            }
        }
    }
    if let Some(line) = splitter.finish() {
        return on_line(&line);
    }
    Ok(false)
}
