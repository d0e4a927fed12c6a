//! HTTP plumbing shared by the Ollama and OpenAI-compatible clients: retries with backoff for
//! transient faults only, the first-byte deadline, the idle timeout and the total deadline of a
//! streamed answer, progress while waiting, and a size limit on every body read.

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::time::Instant;

use super::lines::{LineSplitter, LineTooLong};
use super::progress::{Progress, first_chars};
use super::{LlmError, LlmSettings, TimeoutPhase};

/// Largest JSON answer of a metadata request (`/api/show` of a big model is tens of KB).
pub(crate) const PROBE_BODY_LIMIT: u64 = 8 * 1024 * 1024;
/// Largest error body read (the rest is dropped; the message shows the first 500 characters).
pub(crate) const ERROR_BODY_LIMIT: u64 = 64 * 1024;

pub(crate) fn build_client(settings: &LlmSettings) -> Result<reqwest::Client, LlmError> {
    crate::crypto::install();
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

/// Reads a whole body, failing once it passes `limit` bytes (nothing more is buffered).
pub(crate) async fn read_limited(
    resp: reqwest::Response,
    limit: u64,
) -> Result<Result<Vec<u8>, LlmError>, reqwest::Error> {
    let url = resp.url().to_string();
    if resp.content_length().is_some_and(|n| n > limit) {
        return Ok(Err(LlmError::ResponseTooLarge { url, limit }));
    }
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if out.len() as u64 + chunk.len() as u64 > limit {
            return Ok(Err(LlmError::ResponseTooLarge { url, limit }));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Ok(out))
}

/// Reads at most `limit` bytes of a body and drops the rest (for error bodies).
async fn read_prefix(resp: reqwest::Response, limit: usize) -> String {
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        let take = chunk.len().min(limit - out.len());
        out.extend_from_slice(&chunk[..take]);
        if out.len() >= limit {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One metadata request (GET, or POST with a JSON body) within the probe timeout, its answer
/// limited to [`PROBE_BODY_LIMIT`]. Returns the status and the body as JSON (a body that is not
/// JSON comes back as a JSON string).
pub(crate) async fn probe_json(
    http: &reqwest::Client,
    settings: &LlmSettings,
    url: &str,
    body: Option<&Value>,
    model: &str,
) -> Result<(u16, Value), LlmError> {
    let mut req = match body {
        None => http.get(url),
        Some(b) => http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(b.to_string()),
    };
    if let Some(key) = &settings.api_key {
        req = req.bearer_auth(key);
    }
    let t = settings.probe_timeout;
    let fut = async {
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let bytes = read_limited(resp, PROBE_BODY_LIMIT).await?;
        Ok::<_, reqwest::Error>((status, bytes))
    };
    let (status, bytes) = match tokio::time::timeout(t, fut).await {
        Err(_) => {
            return Err(LlmError::Timeout {
                phase: TimeoutPhase::Probe,
                after: t,
                model: model.to_string(),
                base_url: settings.base().to_string(),
            });
        }
        Ok(Err(e)) => return Err(map_send_error(e, settings, model, TimeoutPhase::Probe, t)),
        Ok(Ok((status, bytes))) => (status, bytes?),
    };
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Ok((status, v))
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

/// The total deadline of one call: every wait below is cut at it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallDeadline {
    pub at: Instant,
    pub limit: Duration,
}

impl CallDeadline {
    pub(crate) fn new(limit: Duration) -> Self {
        CallDeadline {
            at: Instant::now() + limit,
            limit,
        }
    }

    /// `local` (a first-byte or idle wait of `after`) or the total deadline, whichever comes
    /// first, with the phase to report when it runs out.
    fn cut(
        &self,
        local: Instant,
        phase: TimeoutPhase,
        after: Duration,
    ) -> (Instant, TimeoutPhase, Duration) {
        if self.at < local {
            (self.at, TimeoutPhase::Deadline, self.limit)
        } else {
            (local, phase, after)
        }
    }

    pub(crate) fn error(&self, settings: &LlmSettings, model: &str) -> LlmError {
        timeout(settings, model, TimeoutPhase::Deadline, self.limit)
    }
}

fn timeout(settings: &LlmSettings, model: &str, phase: TimeoutPhase, after: Duration) -> LlmError {
    LlmError::Timeout {
        phase,
        after,
        model: model.to_string(),
        base_url: settings.base().to_string(),
    }
}

/// What a POST needs besides its body.
pub(crate) struct Post<'a> {
    pub http: &'a reqwest::Client,
    pub settings: &'a LlmSettings,
    pub url: &'a str,
    pub model: &'a str,
    pub first_byte: Duration,
    pub deadline: CallDeadline,
    pub progress: &'a Progress<'a>,
}

/// POSTs JSON with retries on transient faults (connection errors, 429, a 5xx that does not
/// say the request is invalid). Each try must produce response headers within `first_byte`,
/// and no try or backoff runs past the call's deadline. Returns the response (success status)
/// and the first-byte deadline of the try that got it; a failed status becomes the error
/// `map_status` makes of it (status and the first [`ERROR_BODY_LIMIT`] bytes of the body).
pub(crate) async fn post_with_retry(
    post: &Post<'_>,
    body: &[u8],
    map_status: &(dyn Fn(u16, &str) -> LlmError + Sync),
) -> Result<(reqwest::Response, Instant), LlmError> {
    let settings = post.settings;
    let mut attempt = 0u32;
    loop {
        let (deadline, phase, after) = post.deadline.cut(
            Instant::now() + post.first_byte,
            TimeoutPhase::FirstByte,
            post.first_byte,
        );
        let mut req = post
            .http
            .post(post.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(key) = &settings.api_key {
            req = req.bearer_auth(key);
        }
        let res = wait_until(
            req.send(),
            deadline,
            post.progress,
            settings.progress_interval,
            "waiting for the server (model loading?)",
        )
        .await;
        let err = match res {
            None => timeout(settings, post.model, phase, after),
            Some(Err(e)) => map_send_error(e, settings, post.model, phase, after),
            Some(Ok(resp)) if resp.status().is_success() => return Ok((resp, deadline)),
            Some(Ok(resp)) => {
                let status = resp.status().as_u16();
                let body = tokio::time::timeout(
                    settings.probe_timeout,
                    read_prefix(resp, ERROR_BODY_LIMIT as usize),
                )
                .await
                .unwrap_or_default();
                map_status(status, &body)
            }
        };
        if err.is_retryable() && attempt < settings.max_retries {
            let backoff = settings
                .retry_backoff
                .saturating_mul(1u32 << attempt.min(10));
            if Instant::now() + backoff >= post.deadline.at {
                return Err(post.deadline.error(settings, post.model));
            }
            post.progress.emit(&format!(
                "retrying in {:.1}s after: {}",
                backoff.as_secs_f64(),
                first_chars(&err.to_string(), 120)
            ));
            tokio::time::sleep(backoff).await;
            attempt += 1;
            continue;
        }
        return Err(err);
    }
}

/// Reads a streamed body line by line. The first chunk must arrive before `first_deadline`,
/// later chunks within the idle timeout of each other, and all of it before the call's
/// deadline. `on_line` returns `Ok(true)` when the answer is complete.
pub(crate) async fn read_lines<F>(
    resp: reqwest::Response,
    post: &Post<'_>,
    first_deadline: Instant,
    mut on_line: F,
) -> Result<bool, LlmError>
where
    F: FnMut(&str) -> Result<bool, LlmError>,
{
    let settings = post.settings;
    let model = post.model;
    let mut stream = resp.bytes_stream();
    let mut splitter = LineSplitter::default();
    let mut got_first = false;
    let too_long = |LineTooLong(n): LineTooLong| LlmError::StreamError {
        model: model.to_string(),
        message: format!("the server sent a line longer than {n} bytes without ending it"),
    };
    loop {
        let (deadline, phase, after) = if got_first {
            post.deadline.cut(
                Instant::now() + settings.idle_timeout,
                TimeoutPhase::Idle,
                settings.idle_timeout,
            )
        } else {
            post.deadline
                .cut(first_deadline, TimeoutPhase::FirstByte, post.first_byte)
        };
        let next = wait_until(
            stream.next(),
            deadline,
            post.progress,
            settings.progress_interval,
            if got_first {
                "…"
            } else {
                "waiting for the first token"
            },
        )
        .await;
        let chunk = match next {
            None => return Err(timeout(settings, model, phase, after)),
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
        for line in splitter.push(&chunk).map_err(too_long)? {
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
