//! A fake Ollama server for tests, on 127.0.0.1 (random port), speaking the real wire format:
//! `/api/version`, `/api/tags`, `/api/show`, `/api/chat` (streamed NDJSON or not, errors),
//! and the OpenAI-compatible `/v1/models` and `/v1/chat/completions` (SSE).
//!
//! Each test scripts the answers of `/api/chat` (and `/v1/chat/completions`) in order; once
//! the script is empty, the responder answers (see [`FakeOllama::respond_with`]: a function of
//! the request), else the server answers "ok". Every chat request body is kept for
//! assertions. Like the real Ollama, a prompt longer than the request's `num_ctx` is silently
//! truncated (the reported `prompt_eval_count` then stays just under `num_ctx`). The fake
//! "tokenizer" counts `chars_per_token` characters per token (default 4).
//!
//! [`FakeOllama::llama_cpp`] makes the `/v1` side behave like llama.cpp's `llama-server`: its
//! context in `/v1/models` (`meta.n_ctx`) and `/props`, a `/tokenize` endpoint, HTTP 400
//! `exceed_context_size_error` for a prompt that does not fit, `timings` in the last event; and
//! [`FakeOllama::openai_only`] turns the Ollama endpoints off (404), like a server that speaks
//! only the OpenAI-compatible API.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// A model the fake server has.
#[derive(Debug, Clone)]
pub struct FakeModel {
    pub name: String,
    pub arch: String,
    pub family: String,
    pub context_length: u32,
    pub capabilities: Vec<String>,
}

impl FakeModel {
    pub fn new(name: &str, arch: &str, context_length: u32, capabilities: &[&str]) -> Self {
        FakeModel {
            name: name.to_string(),
            arch: arch.to_string(),
            family: arch.to_string(),
            context_length,
            capabilities: capabilities.iter().map(|c| c.to_string()).collect(),
        }
    }
}

/// One scripted chat answer.
#[derive(Debug, Clone)]
pub enum ChatReply {
    /// A normal answer, streamed a few characters per chunk (or whole when `stream: false`).
    Text {
        content: String,
        thinking: Option<String>,
        done_reason: String,
        /// `None`: computed from the prompt by the fake tokenizer (with truncation).
        prompt_eval_count: Option<u32>,
    },
    /// Raw body chunks, each sent after its delay (HTTP 200, NDJSON or SSE content type).
    Chunks(Vec<(Duration, Vec<u8>)>),
    /// An HTTP error status with this body.
    Status(u16, String),
    /// Waits before answering at all (no headers until then).
    Delay(Duration, Box<ChatReply>),
    /// A server that ignores the output limit: streams `piece` every `every`, forever.
    Endless { piece: String, every: Duration },
}

impl ChatReply {
    pub fn text(content: &str) -> Self {
        ChatReply::Text {
            content: content.to_string(),
            thinking: None,
            done_reason: "stop".into(),
            prompt_eval_count: None,
        }
    }
    pub fn done_reason(mut self, reason: &str) -> Self {
        if let ChatReply::Text { done_reason, .. } = &mut self {
            *done_reason = reason.to_string();
        }
        self
    }
    pub fn thinking(mut self, t: &str) -> Self {
        if let ChatReply::Text { thinking, .. } = &mut self {
            *thinking = Some(t.to_string());
        }
        self
    }
    pub fn prompt_eval_count(mut self, n: u32) -> Self {
        if let ChatReply::Text {
            prompt_eval_count, ..
        } = &mut self
        {
            *prompt_eval_count = Some(n);
        }
        self
    }
    /// Raw NDJSON lines as one chunk each, no delay.
    pub fn lines(lines: &[Value]) -> Self {
        ChatReply::Chunks(
            lines
                .iter()
                .map(|l| (Duration::ZERO, format!("{l}\n").into_bytes()))
                .collect(),
        )
    }
    pub fn status(code: u16, body: &str) -> Self {
        ChatReply::Status(code, body.to_string())
    }
    pub fn delayed(self, d: Duration) -> Self {
        ChatReply::Delay(d, Box::new(self))
    }
    pub fn endless(piece: &str, every: Duration) -> Self {
        ChatReply::Endless {
            piece: piece.to_string(),
            every,
        }
    }
}

/// How the `/v1` side behaves like llama.cpp's server.
#[derive(Debug, Clone, Default)]
pub struct LlamaCpp {
    /// The server's context (`-c`).
    pub n_ctx: u32,
    /// Whether `/tokenize` answers.
    pub tokenize: bool,
    /// `response_format` types answered with HTTP 400.
    pub refuse_formats: Vec<String>,
    /// Generation rate reported in `timings`.
    pub predicted_per_second: f64,
}

/// Answers a chat request (its JSON body) when the script is empty.
pub type Responder = Arc<dyn Fn(&Value) -> ChatReply + Send + Sync>;

#[derive(Default)]
struct Inner {
    responder: Option<Responder>,
    models: Vec<FakeModel>,
    chat: VecDeque<ChatReply>,
    openai: VecDeque<ChatReply>,
    chat_bodies: Vec<Value>,
    openai_bodies: Vec<Value>,
    hits: Vec<String>,
    chars_per_token: f64,
    llama: Option<LlamaCpp>,
    openai_only: bool,
    /// Bytes of padding added to every metadata answer.
    probe_padding: usize,
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Inner>>);

impl Shared {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }
}

/// The running fake server. It stops when dropped.
pub struct FakeOllama {
    pub base_url: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeOllama {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The usual models: a thinking qwen3, a non-thinking coder, and gpt-oss.
pub fn default_models() -> Vec<FakeModel> {
    vec![
        FakeModel::new(
            "qwen3:32b",
            "qwen3",
            40960,
            &["completion", "tools", "thinking"],
        ),
        FakeModel::new(
            "qwen3-coder:latest",
            "qwen3moe",
            262144,
            &["completion", "tools"],
        ),
        FakeModel::new(
            "gpt-oss:20b",
            "gptoss",
            131072,
            &["completion", "tools", "thinking"],
        ),
        FakeModel::new("tiny:latest", "llama", 2048, &["completion"]),
    ]
}

impl FakeOllama {
    /// Starts a server with these models.
    pub async fn start(models: Vec<FakeModel>) -> Self {
        let shared = Shared::default();
        shared.with(|i| {
            i.models = models;
            i.chars_per_token = 4.0;
        });
        let app = Router::new()
            .route("/api/version", get(version))
            .route("/api/tags", get(tags))
            .route("/api/show", post(show))
            .route("/api/chat", post(chat))
            .route("/v1/models", get(v1_models))
            .route("/v1/chat/completions", post(v1_chat))
            .route("/props", get(props))
            .route("/tokenize", post(tokenize))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        FakeOllama {
            base_url: format!("http://{addr}"),
            shared,
            task,
        }
    }

    /// Starts a server on its own runtime, for tests that drive the binary synchronously; keep
    /// the runtime alive as long as the server is needed.
    pub fn serve(models: Vec<FakeModel>) -> (tokio::runtime::Runtime, Self) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let fake = rt.block_on(Self::start(models));
        (rt, fake)
    }

    pub async fn default() -> Self {
        Self::start(default_models()).await
    }

    /// Queues answers of `/api/chat`.
    pub fn script(&self, replies: impl IntoIterator<Item = ChatReply>) {
        self.shared.with(|i| i.chat.extend(replies));
    }

    /// Drops the answers still queued for `/api/chat`.
    pub fn clear_script(&self) {
        self.shared.with(|i| i.chat.clear());
    }

    /// Queues answers of `/v1/chat/completions`.
    pub fn script_openai(&self, replies: impl IntoIterator<Item = ChatReply>) {
        self.shared.with(|i| i.openai.extend(replies));
    }

    /// Answers every chat request the script does not (both APIs) with `f(request body)`.
    pub fn respond_with(&self, f: impl Fn(&Value) -> ChatReply + Send + Sync + 'static) {
        self.shared.with(|i| i.responder = Some(Arc::new(f)));
    }

    /// Characters per token of the fake tokenizer.
    pub fn set_chars_per_token(&self, c: f64) {
        self.shared.with(|i| i.chars_per_token = c);
    }

    /// The `/v1` side behaves like llama.cpp's server (see the module docs).
    pub fn llama_cpp(&self, l: LlamaCpp) {
        self.shared.with(|i| i.llama = Some(l));
    }

    /// Only the OpenAI-compatible API answers; `/api/*` is 404.
    pub fn openai_only(&self) {
        self.shared.with(|i| i.openai_only = true);
    }

    /// Pads every metadata answer (`/api/tags`, `/api/show`, `/v1/models`, `/props`) by this
    /// many bytes.
    pub fn pad_probes(&self, bytes: usize) {
        self.shared.with(|i| i.probe_padding = bytes);
    }

    /// Bodies of the `/api/chat` requests received.
    pub fn chat_requests(&self) -> Vec<Value> {
        self.shared.with(|i| i.chat_bodies.clone())
    }

    pub fn openai_requests(&self) -> Vec<Value> {
        self.shared.with(|i| i.openai_bodies.clone())
    }

    /// How many requests hit this path.
    pub fn hits(&self, path: &str) -> usize {
        self.shared
            .with(|i| i.hits.iter().filter(|h| *h == path).count())
    }
}

fn respond(s: &Shared, req: &Value) -> Option<ChatReply> {
    let f = s.with(|i| i.responder.clone())?;
    Some(f(req))
}

fn no_ollama(s: &Shared) -> Option<Response> {
    s.with(|i| i.openai_only)
        .then(|| (StatusCode::NOT_FOUND, "404 page not found").into_response())
}

fn padded(s: &Shared, mut v: Value) -> Response {
    let pad = s.with(|i| i.probe_padding);
    if pad > 0 {
        v["padding"] = json!("x".repeat(pad));
    }
    axum::Json(v).into_response()
}

async fn version(State(s): State<Shared>) -> Response {
    s.with(|i| i.hits.push("/api/version".into()));
    if let Some(r) = no_ollama(&s) {
        return r;
    }
    axum::Json(json!({"version": "0.12.6"})).into_response()
}

async fn tags(State(s): State<Shared>) -> Response {
    let models = s.with(|i| {
        i.hits.push("/api/tags".into());
        i.models.clone()
    });
    if let Some(r) = no_ollama(&s) {
        return r;
    }
    let list: Vec<Value> = models
        .iter()
        .map(|m| {
            json!({"name": m.name, "model": m.name, "size": 1234, "digest": "abc",
                   "details": {"family": m.family, "format": "gguf"}})
        })
        .collect();
    padded(&s, json!({ "models": list }))
}

fn not_found(model: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": format!("model '{model}' not found")})),
    )
        .into_response()
}

async fn show(State(s): State<Shared>, body: String) -> Response {
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let name = v["model"]
        .as_str()
        .or(v["name"].as_str())
        .unwrap_or("")
        .to_string();
    let model = s.with(|i| {
        i.hits.push("/api/show".into());
        i.models.iter().find(|m| m.name == name).cloned()
    });
    if let Some(r) = no_ollama(&s) {
        return r;
    }
    let Some(m) = model else {
        return not_found(&name);
    };
    let mut info = serde_json::Map::new();
    info.insert("general.architecture".into(), json!(m.arch));
    info.insert("general.parameter_count".into(), json!(1_000_000));
    info.insert(
        format!("{}.context_length", m.arch),
        json!(m.context_length),
    );
    info.insert(format!("{}.embedding_length", m.arch), json!(4096));
    padded(
        &s,
        json!({
            "modelfile": "# fake",
            "parameters": "",
            "template": "{{ .Prompt }}",
            "details": {"family": m.family, "format": "gguf", "parameter_size": "32B"},
            "model_info": info,
            "capabilities": m.capabilities,
        }),
    )
}

fn body_of(chunks: Vec<(Duration, Vec<u8>)>, content_type: &'static str) -> Response {
    let stream = futures_util::stream::unfold(chunks.into_iter(), |mut it| async move {
        let (d, bytes) = it.next()?;
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
        Some((Ok::<_, std::io::Error>(bytes), it))
    });
    Response::builder()
        .status(200)
        .header("content-type", content_type)
        .body(Body::from_stream(stream))
        .unwrap()
}

/// Prompt tokens of a request by the fake tokenizer, and whether it overflowed num_ctx.
fn fake_prompt_tokens(req: &Value, chars_per_token: f64) -> u32 {
    let chars: usize = req["messages"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["content"].as_str().unwrap_or("").chars().count())
                .sum()
        })
        .unwrap_or(0);
    (chars as f64 / chars_per_token).ceil() as u32 + 10
}

fn endless(piece: String, every: Duration, openai: bool, model: String) -> Response {
    let line = if openai {
        let ev = json!({"id": "x", "object": "chat.completion.chunk", "model": model,
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
        format!("data: {ev}\n\n")
    } else {
        let l = json!({"model": model, "created_at": "2025-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": piece}, "done": false});
        format!("{l}\n")
    };
    let stream = futures_util::stream::unfold(line, move |line| async move {
        if !every.is_zero() {
            tokio::time::sleep(every).await;
        }
        Some((Ok::<_, std::io::Error>(line.clone().into_bytes()), line))
    });
    Response::builder()
        .status(200)
        .header(
            "content-type",
            if openai {
                "text/event-stream"
            } else {
                "application/x-ndjson"
            },
        )
        .body(Body::from_stream(stream))
        .unwrap()
}

async fn play(
    reply: ChatReply,
    req: Value,
    chars_per_token: f64,
    openai: bool,
    llama: Option<LlamaCpp>,
) -> Response {
    let mut reply = reply;
    while let ChatReply::Delay(d, inner) = reply {
        tokio::time::sleep(d).await;
        reply = *inner;
    }
    match reply {
        ChatReply::Delay(..) => unreachable!(),
        ChatReply::Endless { piece, every } => endless(
            piece,
            every,
            openai,
            req["model"].as_str().unwrap_or("").to_string(),
        ),
        ChatReply::Status(code, body) => (
            StatusCode::from_u16(code).unwrap(),
            [("content-type", "application/json")],
            body,
        )
            .into_response(),
        ChatReply::Chunks(chunks) => body_of(
            chunks,
            if openai {
                "text/event-stream"
            } else {
                "application/x-ndjson"
            },
        ),
        ChatReply::Text {
            content,
            thinking,
            done_reason,
            prompt_eval_count,
        } => {
            let model = req["model"].as_str().unwrap_or("").to_string();
            let num_ctx = match &llama {
                Some(l) => l.n_ctx,
                None => req["options"]["num_ctx"].as_u64().unwrap_or(4096) as u32,
            };
            let prompt = prompt_eval_count.unwrap_or_else(|| {
                // Like Ollama: silently keep only what fits.
                fake_prompt_tokens(&req, chars_per_token).min(num_ctx.saturating_sub(4))
            });
            let pieces: Vec<String> = content
                .chars()
                .collect::<Vec<_>>()
                .chunks(4)
                .map(|c| c.iter().collect())
                .collect();
            let eval_count = pieces.len().max(1) as u32;
            if openai {
                let mut chunks = Vec::new();
                for p in &pieces {
                    let ev = json!({"id": "x", "object": "chat.completion.chunk", "model": model,
                        "choices": [{"index": 0, "delta": {"role": "assistant", "content": p}, "finish_reason": null}]});
                    chunks.push((Duration::ZERO, format!("data: {ev}\n\n").into_bytes()));
                }
                let fin = json!({"id": "x", "object": "chat.completion.chunk", "model": model,
                    "choices": [{"index": 0, "delta": {}, "finish_reason": done_reason}]});
                chunks.push((Duration::ZERO, format!("data: {fin}\n\n").into_bytes()));
                let mut usage = json!({"id": "x", "object": "chat.completion.chunk", "model": model, "choices": [],
                    "usage": {"prompt_tokens": prompt, "completion_tokens": eval_count, "total_tokens": prompt + eval_count}});
                if let Some(l) = &llama {
                    let rate = l.predicted_per_second;
                    usage["timings"] = json!({
                        "prompt_n": prompt, "prompt_ms": 1500.0,
                        "predicted_n": eval_count,
                        "predicted_ms": eval_count as f64 * 1000.0 / rate,
                        "predicted_per_second": rate,
                    });
                }
                chunks.push((Duration::ZERO, format!("data: {usage}\n\n").into_bytes()));
                chunks.push((Duration::ZERO, b"data: [DONE]\n\n".to_vec()));
                return body_of(chunks, "text/event-stream");
            }
            let done = json!({
                "model": model, "created_at": "2025-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": ""},
                "done": true, "done_reason": done_reason,
                "total_duration": 2_000_000_000u64, "load_duration": 500_000_000u64,
                "prompt_eval_count": prompt, "prompt_eval_duration": 250_000_000u64,
                "eval_count": eval_count, "eval_duration": 1_000_000_000u64,
            });
            if req["stream"] == json!(false) {
                let mut whole = done.clone();
                whole["message"]["content"] = json!(content);
                if let Some(t) = thinking {
                    whole["message"]["thinking"] = json!(t);
                }
                return axum::Json(whole).into_response();
            }
            let mut lines = Vec::new();
            if let Some(t) = thinking {
                lines.push(json!({"model": model, "created_at": "2025-01-01T00:00:00Z",
                    "message": {"role": "assistant", "content": "", "thinking": t}, "done": false}));
            }
            for p in pieces {
                lines.push(json!({"model": model, "created_at": "2025-01-01T00:00:00Z",
                    "message": {"role": "assistant", "content": p}, "done": false}));
            }
            lines.push(done);
            body_of(
                lines
                    .iter()
                    .map(|l| (Duration::ZERO, format!("{l}\n").into_bytes()))
                    .collect(),
                "application/x-ndjson",
            )
        }
    }
}

async fn chat(State(s): State<Shared>, body: String) -> Response {
    let req: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let name = req["model"].as_str().unwrap_or("").to_string();
    let (known, next, cpt) = s.with(|i| {
        i.hits.push("/api/chat".into());
        i.chat_bodies.push(req.clone());
        (
            i.models.iter().any(|m| m.name == name),
            i.chat.pop_front(),
            i.chars_per_token,
        )
    });
    if !known {
        return not_found(&name);
    }
    let next = next.or_else(|| respond(&s, &req));
    play(
        next.unwrap_or_else(|| ChatReply::text("ok")),
        req,
        cpt,
        false,
        None,
    )
    .await
}

async fn v1_models(State(s): State<Shared>) -> Response {
    let (models, llama) = s.with(|i| {
        i.hits.push("/v1/models".into());
        (i.models.clone(), i.llama.clone())
    });
    let data: Vec<Value> = models
        .iter()
        .map(|m| {
            let mut v = json!({"id": m.name, "object": "model", "owned_by": "library"});
            if let Some(l) = &llama {
                v["meta"] = json!({"n_ctx": l.n_ctx, "n_ctx_train": m.context_length});
            }
            v
        })
        .collect();
    padded(&s, json!({"object": "list", "data": data}))
}

async fn props(State(s): State<Shared>) -> Response {
    let llama = s.with(|i| {
        i.hits.push("/props".into());
        i.llama.clone()
    });
    match llama {
        Some(l) => padded(
            &s,
            json!({"default_generation_settings": {"n_ctx": l.n_ctx}, "total_slots": 1}),
        ),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

async fn tokenize(State(s): State<Shared>, body: String) -> Response {
    let (llama, cpt) = s.with(|i| {
        i.hits.push("/tokenize".into());
        (i.llama.clone(), i.chars_per_token)
    });
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    match llama {
        Some(l) if l.tokenize => {
            let chars = v["content"].as_str().unwrap_or("").chars().count();
            let n = (chars as f64 / cpt).ceil() as usize;
            axum::Json(json!({"tokens": (0..n).map(|i| i % 1000).collect::<Vec<_>>()}))
                .into_response()
        }
        _ => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// llama.cpp's error body.
fn llama_error(code: u16, kind: &str, message: &str, extra: Value) -> Response {
    let mut e = json!({"code": code, "message": message, "type": kind});
    if let (Some(o), Some(x)) = (e.as_object_mut(), extra.as_object()) {
        o.extend(x.clone());
    }
    (
        StatusCode::from_u16(code).unwrap(),
        [("content-type", "application/json")],
        json!({ "error": e }).to_string(),
    )
        .into_response()
}

async fn v1_chat(State(s): State<Shared>, body: String) -> Response {
    let req: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let (llama, cpt) = s.with(|i| {
        i.hits.push("/v1/chat/completions".into());
        i.openai_bodies.push(req.clone());
        (i.llama.clone(), i.chars_per_token)
    });
    if let Some(l) = &llama {
        let format = req["response_format"]["type"].as_str().unwrap_or("");
        if l.refuse_formats.iter().any(|f| f == format) {
            return llama_error(
                400,
                "invalid_request_error",
                &format!("response_format type {format} is not supported by this server"),
                json!({}),
            );
        }
        let n = fake_prompt_tokens(&req, cpt);
        if n >= l.n_ctx {
            return llama_error(
                400,
                "exceed_context_size_error",
                &format!(
                    "request ({n} tokens) exceeds the available context size ({} tokens), try increasing it",
                    l.n_ctx
                ),
                json!({"n_prompt_tokens": n, "n_ctx": l.n_ctx}),
            );
        }
    }
    let next = s
        .with(|i| i.openai.pop_front())
        .or_else(|| respond(&s, &req));
    play(
        next.unwrap_or_else(|| ChatReply::text("ok")),
        req,
        cpt,
        true,
        llama,
    )
    .await
}
