//! The Ollama client against the fake Ollama on 127.0.0.1.

use crate::support::fake_ollama;

use std::sync::Arc;
use std::time::{Duration, Instant};

use codex_orchestrator::llm::budget::{Section, fill_by_priority};
use codex_orchestrator::llm::progress::MemoryProgress;
use codex_orchestrator::llm::{
    ChatRequest, Ledger, Llm, LlmError, LlmSettings, Message, OllamaClient, Think, TimeoutPhase,
    render_markdown_table,
};
use fake_ollama::{ChatReply, FakeOllama};
use serde_json::json;

fn settings(base: &str) -> LlmSettings {
    LlmSettings {
        base_url: base.to_string(),
        connect_timeout: Duration::from_millis(300),
        first_byte_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(300),
        probe_timeout: Duration::from_millis(500),
        retry_backoff: Duration::from_millis(5),
        max_retries: 3,
        seed: Some(42),
        ..LlmSettings::default()
    }
}

fn client(fake: &FakeOllama) -> OllamaClient {
    OllamaClient::new(settings(&fake.base_url))
        .unwrap()
        .with_progress(None)
}

fn req(model: &str, text: &str) -> ChatRequest {
    ChatRequest::new(
        model,
        vec![Message::system("You are terse."), Message::user(text)],
    )
}

#[tokio::test]
async fn streams_a_reply_and_sets_options_explicitly() {
    let fake = FakeOllama::default().await;
    fake.script([ChatReply::text("Hello there, world!")]);
    let c = client(&fake);
    let mut r = req("qwen3-coder:latest", "hi");
    r.temperature = Some(0.2);
    r.max_output_tokens = Some(512);
    let reply = c.chat(&r).await.unwrap();
    assert_eq!(reply.text, "Hello there, world!");
    assert_eq!(reply.usage.output_tokens, 5);
    assert!(reply.usage.prompt_tokens > 0);
    assert!((reply.usage.tokens_per_second - 5.0).abs() < 1e-6);
    assert!((reply.usage.load_seconds - 0.5).abs() < 1e-6);
    let body = &fake.chat_requests()[0];
    assert_eq!(body["stream"], json!(true));
    // min(model context 262144, max_num_ctx 16384)
    assert_eq!(body["options"]["num_ctx"], json!(16384));
    assert_eq!(body["options"]["num_predict"], json!(512));
    assert_eq!(body["options"]["seed"], json!(42));
    assert!((body["options"]["temperature"].as_f64().unwrap() - 0.2).abs() < 1e-6);
    assert_eq!(body["keep_alive"], json!("30m"));
    assert!(
        body.get("think").is_none(),
        "coder has no thinking capability"
    );
    assert!(body.get("format").is_none());
}

#[tokio::test]
async fn lines_split_across_chunks_are_reassembled() {
    let fake = FakeOllama::default().await;
    let l1 = json!({"model":"tiny:latest","message":{"role":"assistant","content":"héllo "},"done":false}).to_string() + "\n";
    let l2 =
        json!({"model":"tiny:latest","message":{"role":"assistant","content":"wörld"},"done":false})
            .to_string() + "\n";
    let l3 = json!({"model":"tiny:latest","message":{"role":"assistant","content":""},"done":true,
        "done_reason":"stop","prompt_eval_count":20,"eval_count":2,"eval_duration":1_000_000_000u64})
    .to_string()
        + "\n";
    let all = format!("{l1}{l2}{l3}").into_bytes();
    // Cut in the middle of the first line, inside the 'é' (2 bytes), and join the rest so
    // that one chunk holds the end of line 2 and the start of line 3.
    let e = all.iter().position(|b| *b == 0xC3).unwrap();
    let cuts = [10, e + 1, l1.len() + 7, l1.len() + l2.len() + 3, all.len()];
    let mut chunks = Vec::new();
    let mut from = 0;
    for c in cuts {
        chunks.push((Duration::from_millis(5), all[from..c].to_vec()));
        from = c;
    }
    fake.script([ChatReply::Chunks(chunks)]);
    let reply = client(&fake).chat(&req("tiny:latest", "hi")).await.unwrap();
    assert_eq!(reply.text, "héllo wörld");
    assert_eq!(reply.usage.output_tokens, 2);
}

#[tokio::test]
async fn error_line_after_http_200_is_a_failure() {
    let fake = FakeOllama::default().await;
    fake.script([ChatReply::lines(&[
        json!({"model":"tiny:latest","message":{"role":"assistant","content":"partial"},"done":false}),
        json!({"error":"llama runner process has terminated: CUDA error: out of memory"}),
    ])]);
    let err = client(&fake)
        .chat(&req("tiny:latest", "hi"))
        .await
        .unwrap_err();
    match &err {
        LlmError::StreamError { message, .. } => assert!(message.contains("out of memory")),
        e => panic!("unexpected {e:?}"),
    }
    assert!(err.to_string().contains("logs"));
    assert_eq!(
        fake.hits("/api/chat"),
        1,
        "a mid-stream error is not retried"
    );
}

#[tokio::test]
async fn stream_without_done_is_a_failure() {
    let fake = FakeOllama::default().await;
    fake.script([ChatReply::lines(&[
        json!({"model":"tiny:latest","message":{"role":"assistant","content":"partial"},"done":false}),
    ])]);
    let err = client(&fake)
        .chat(&req("tiny:latest", "hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::StreamError { .. }), "{err:?}");
}

#[tokio::test]
async fn missing_model_lists_the_models_that_exist() {
    let fake = FakeOllama::default().await;
    let err = client(&fake)
        .chat(&req("qwen2.5-coder:7b", "hi"))
        .await
        .unwrap_err();
    match &err {
        LlmError::ModelMissing {
            model, available, ..
        } => {
            assert_eq!(model, "qwen2.5-coder:7b");
            assert!(available.contains(&"qwen3:32b".to_string()));
            assert!(available.contains(&"gpt-oss:20b".to_string()));
        }
        e => panic!("unexpected {e:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("ollama pull qwen2.5-coder:7b"), "{msg}");
    assert!(msg.contains("/api/tags"), "{msg}");
    assert!(msg.contains("qwen3-coder:latest"), "{msg}");
    assert_eq!(fake.hits("/api/chat"), 0);
}

#[tokio::test]
async fn a_prompt_larger_than_the_context_is_refused_not_sent() {
    let fake = FakeOllama::default().await;
    let c = client(&fake);
    let huge = "fn main() { println!(\"x\"); }\n".repeat(600); // ~18k chars vs 2048 ctx
    let err = c.chat(&req("tiny:latest", &huge)).await.unwrap_err();
    match &err {
        LlmError::ContextTooSmall {
            num_ctx,
            prompt_tokens,
            ..
        } => {
            assert_eq!(*num_ctx, 2048);
            assert!(*prompt_tokens > 2048);
        }
        e => panic!("unexpected {e:?}"),
    }
    assert!(err.to_string().contains("NOT sent"));
    assert!(fake.chat_requests().is_empty(), "never sent blind");

    // Fitted instead: ask the budget for room, fill by priority, send.
    let budget = c.budget("tiny:latest", Some(256)).await.unwrap();
    assert_eq!(budget.num_ctx, 2048);
    let system = Message::system("You are terse.");
    let room = budget.room_after(std::slice::from_ref(&system));
    let (kept, lost) = fill_by_priority(
        vec![
            Section {
                priority: 1,
                text: "Review this.".into(),
            },
            Section {
                priority: 2,
                text: huge.clone(),
            },
        ],
        room,
        50,
    );
    assert_eq!(lost, 1);
    let mut messages = vec![system];
    messages.extend(kept.into_iter().map(Message::user));
    let mut r = ChatRequest::new("tiny:latest", messages);
    r.max_output_tokens = Some(256);
    c.chat(&r).await.unwrap();
    let sent = &fake.chat_requests()[0];
    let chars: usize = sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().len())
        .sum();
    // At the fake tokenizer's 4 chars/token, the sent prompt fits with room for the answer.
    assert!(chars / 4 + 256 < 2048, "{chars}");
}

#[tokio::test]
async fn num_ctx_is_the_same_on_every_call_for_a_model() {
    let fake = FakeOllama::default().await;
    let c = client(&fake);
    for n in [1usize, 50, 2000] {
        c.chat(&req("qwen3:32b", &"word ".repeat(n))).await.unwrap();
        c.chat(&req("tiny:latest", &"w ".repeat(n / 4)))
            .await
            .unwrap();
    }
    let mut r = req("qwen3:32b", "small");
    r.max_output_tokens = Some(64);
    c.chat(&r).await.unwrap();
    let bodies = fake.chat_requests();
    let ctx_of = |model: &str| -> Vec<u64> {
        bodies
            .iter()
            .filter(|b| b["model"] == json!(model))
            .map(|b| b["options"]["num_ctx"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(ctx_of("qwen3:32b"), vec![16384; 4]);
    assert_eq!(ctx_of("tiny:latest"), vec![2048; 3]);
    // Probed once per run.
    assert_eq!(fake.hits("/api/show"), 2);
    assert_eq!(fake.hits("/api/version"), 1);
}

#[tokio::test]
async fn num_ctx_override_is_clamped_to_the_model() {
    let fake = FakeOllama::default().await;
    let mut s = settings(&fake.base_url);
    s.num_ctx = Some(32768);
    let c = OllamaClient::new(s).unwrap().with_progress(None);
    c.chat(&req("qwen3:32b", "a")).await.unwrap();
    c.chat(&req("tiny:latest", "a")).await.unwrap();
    let b = c.budget("tiny:latest", Some(100)).await.unwrap();
    assert_eq!(b.num_ctx, 2048);
    let bodies = fake.chat_requests();
    assert_eq!(bodies[0]["options"]["num_ctx"], json!(32768));
    assert_eq!(bodies[1]["options"]["num_ctx"], json!(2048));
    // Default output room: a quarter of a small context.
    assert_eq!(bodies[1]["options"]["num_predict"], json!(512));
}

#[tokio::test]
async fn truncation_by_the_server_is_detected() {
    let fake = FakeOllama::default().await;
    // The served model's tokenizer is far worse than our estimate: the fake truncates silently.
    fake.set_chars_per_token(1.0);
    let c = client(&fake);
    let mut r = req("tiny:latest", &"abcdefghij".repeat(500));
    r.max_output_tokens = Some(256);
    let err = c.chat(&r).await.unwrap_err();
    assert!(
        matches!(err, LlmError::PromptTruncated { num_ctx: 2048, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("truncated"));
}

#[tokio::test]
async fn a_prompt_cache_hit_is_not_a_false_alarm() {
    let fake = FakeOllama::default().await;
    fake.script([ChatReply::text("fine").prompt_eval_count(3)]);
    let mut r = req("tiny:latest", &"abcdefghij".repeat(500));
    r.max_output_tokens = Some(256);
    let reply = client(&fake).chat(&r).await.unwrap();
    assert_eq!(reply.usage.prompt_tokens, 3);
    assert!(reply.usage.prompt_tokens_estimated > 1000);
}

#[tokio::test]
async fn length_is_reported_as_truncated_output() {
    let fake = FakeOllama::default().await;
    fake.script([ChatReply::text("The answer is a long").done_reason("length")]);
    let mut r = req("tiny:latest", "hi");
    r.max_output_tokens = Some(5);
    let err = client(&fake).chat(&r).await.unwrap_err();
    match err {
        LlmError::OutputTruncated { partial, limit, .. } => {
            assert_eq!(partial, "The answer is a long");
            assert_eq!(limit, 5);
        }
        e => panic!("unexpected {e:?}"),
    }
}

#[tokio::test]
async fn think_is_sent_only_to_thinking_models() {
    let fake = FakeOllama::default().await;
    let c = client(&fake);
    let schema = json!({"type": "object"});
    let mut a = req("qwen3:32b", "json please");
    a.json_schema = Some(schema.clone());
    a.think = Think::High;
    c.chat(&a).await.unwrap();
    let mut b = req("qwen3:32b", "think");
    b.think = Think::Medium;
    c.chat(&b).await.unwrap();
    let mut d = req("qwen3-coder:latest", "think");
    d.think = Think::High;
    c.chat(&d).await.unwrap();
    c.chat(&req("gpt-oss:20b", "default")).await.unwrap();
    let mut e = req("gpt-oss:20b", "hard");
    e.think = Think::High;
    c.chat(&e).await.unwrap();
    let bodies = fake.chat_requests();
    assert_eq!(bodies[0]["think"], json!(false), "no thinking with format");
    assert_eq!(bodies[0]["format"], schema);
    assert_eq!(bodies[1]["think"], json!(true));
    assert!(bodies[2].get("think").is_none());
    assert_eq!(
        bodies[3]["think"],
        json!("low"),
        "gpt-oss cannot turn thinking off"
    );
    assert_eq!(bodies[4]["think"], json!("high"));
}

#[tokio::test]
async fn think_text_is_separated_from_the_answer() {
    let fake = FakeOllama::default().await;
    fake.script([
        ChatReply::text("<think>Let me see.</think>\nThe answer."),
        ChatReply::text("Plain.").thinking("separate thoughts"),
        ChatReply::text("leaked reasoning</think>Final."),
    ]);
    let c = client(&fake);
    let r1 = c.chat(&req("qwen3:32b", "q")).await.unwrap();
    assert_eq!(r1.text, "The answer.");
    assert_eq!(r1.thinking.as_deref(), Some("Let me see."));
    let r2 = c.chat(&req("qwen3:32b", "q")).await.unwrap();
    assert_eq!(r2.text, "Plain.");
    assert_eq!(r2.thinking.as_deref(), Some("separate thoughts"));
    let r3 = c.chat(&req("qwen3:32b", "q")).await.unwrap();
    assert_eq!(r3.text, "Final.");
}

#[tokio::test]
async fn retries_503_and_429_with_backoff() {
    let fake = FakeOllama::default().await;
    fake.script([
        ChatReply::status(503, r#"{"error":"server busy"}"#),
        ChatReply::status(429, r#"{"error":"too many requests"}"#),
        ChatReply::text("third time lucky"),
    ]);
    let start = Instant::now();
    let reply = client(&fake).chat(&req("tiny:latest", "hi")).await.unwrap();
    assert_eq!(reply.text, "third time lucky");
    assert_eq!(fake.hits("/api/chat"), 3);
    // Backoff 5 ms then 10 ms.
    assert!(start.elapsed() >= Duration::from_millis(15));
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn gives_up_after_max_retries() {
    let fake = FakeOllama::default().await;
    fake.script((0..5).map(|_| ChatReply::status(500, r#"{"error":"boom"}"#)));
    let mut s = settings(&fake.base_url);
    s.max_retries = 2;
    let err = OllamaClient::new(s)
        .unwrap()
        .with_progress(None)
        .chat(&req("tiny:latest", "hi"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LlmError::Server { status: 500, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("logs"));
    assert_eq!(fake.hits("/api/chat"), 3);
}

#[tokio::test]
async fn no_retry_on_400() {
    let fake = FakeOllama::default().await;
    fake.script([
        ChatReply::status(400, r#"{"error":"invalid format"}"#),
        ChatReply::text("never"),
    ]);
    let err = client(&fake)
        .chat(&req("tiny:latest", "hi"))
        .await
        .unwrap_err();
    match &err {
        LlmError::Server { status, body, .. } => {
            assert_eq!(*status, 400);
            assert!(body.contains("invalid format"));
        }
        e => panic!("unexpected {e:?}"),
    }
    assert_eq!(fake.hits("/api/chat"), 1);
}

#[tokio::test]
async fn first_byte_timeout_fires() {
    let fake = FakeOllama::default().await;
    fake.script([ChatReply::text("late").delayed(Duration::from_secs(3))]);
    let start = Instant::now();
    let err = client(&fake)
        .chat(&req("tiny:latest", "hi"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LlmError::Timeout {
                phase: TimeoutPhase::FirstByte,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(start.elapsed() < Duration::from_millis(1500));
    assert!(err.to_string().contains("first_byte_timeout"));
    assert_eq!(fake.hits("/api/chat"), 1, "a slow model is not hammered");
}

#[tokio::test]
async fn a_longer_first_byte_timeout_per_request_waits_for_a_cold_model() {
    let fake = FakeOllama::default().await;
    fake.script([ChatReply::text("loaded").delayed(Duration::from_millis(500))]);
    let mut r = req("tiny:latest", "hi");
    r.first_byte_timeout = Some(Duration::from_secs(3));
    let reply = client(&fake).chat(&r).await.unwrap();
    assert_eq!(reply.text, "loaded");
}

#[tokio::test]
async fn idle_timeout_fires_mid_stream() {
    let fake = FakeOllama::default().await;
    let l1 =
        json!({"model":"tiny:latest","message":{"role":"assistant","content":"a"},"done":false});
    let l2 = json!({"model":"tiny:latest","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"});
    fake.script([ChatReply::Chunks(vec![
        (Duration::ZERO, format!("{l1}\n").into_bytes()),
        (Duration::from_secs(3), format!("{l2}\n").into_bytes()),
    ])]);
    let start = Instant::now();
    let err = client(&fake)
        .chat(&req("tiny:latest", "hi"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LlmError::Timeout {
                phase: TimeoutPhase::Idle,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(start.elapsed() < Duration::from_millis(1500));
}

#[tokio::test]
async fn unreachable_server_says_what_to_check() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut s = settings(&format!("http://{addr}"));
    s.max_retries = 1;
    let err = OllamaClient::new(s)
        .unwrap()
        .with_progress(None)
        .chat(&req("tiny:latest", "hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Unreachable { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("curl http://{addr}/api/tags"))
    );
}

#[tokio::test]
async fn progress_lines_and_the_ledger() {
    let fake = FakeOllama::default().await;
    let mut chunks = Vec::new();
    for i in 0..8 {
        let l = json!({"model":"tiny:latest","message":{"role":"assistant","content":format!("t{i} ")},"done":false});
        chunks.push((Duration::from_millis(25), format!("{l}\n").into_bytes()));
    }
    let done = json!({"model":"tiny:latest","message":{"role":"assistant","content":""},"done":true,
        "done_reason":"stop","prompt_eval_count":30,"eval_count":8,"eval_duration":400_000_000u64,
        "total_duration":600_000_000u64,"load_duration":1_000_000u64,"prompt_eval_duration":2_000_000u64});
    chunks.push((Duration::ZERO, format!("{done}\n").into_bytes()));
    fake.script([ChatReply::Chunks(chunks)]);
    let mem = MemoryProgress::default();
    let ledger = Ledger::default();
    let mut s = settings(&fake.base_url);
    s.progress_interval = Duration::from_millis(50);
    let c = OllamaClient::new(s)
        .unwrap()
        .with_progress(Some(Arc::new(mem.clone())))
        .with_ledger(ledger.clone());
    let mut r = req("tiny:latest", "hi");
    r.role = Some(codex_orchestrator::llm::RoleName::Reviewer);
    r.max_output_tokens = Some(100);
    c.chat(&r).await.unwrap();
    c.chat(&req("nope:1b", "hi")).await.unwrap_err();
    let lines = mem.lines();
    assert!(lines.len() >= 3, "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("llm reviewer tiny:latest"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("tok/s") && !l.contains(" 0 tokens"))
    );
    let recs = ledger.records();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].output_tokens, 8);
    assert_eq!(recs[0].prompt_tokens, 30);
    assert!((recs[0].tokens_per_second - 20.0).abs() < 1e-6);
    assert_eq!(recs[0].num_ctx, 2048);
    assert!(recs[1].error.as_deref().unwrap().contains("not available"));
    let table = render_markdown_table(&recs);
    assert!(
        table.contains("| 1 | reviewer | `tiny:latest` | 30 | 8 | 2048 |"),
        "{table}"
    );
    assert!(table.contains("**total** | 2 calls | 30 | 8 |"), "{table}");
    let json = serde_json::to_value(&recs[0]).unwrap();
    assert_eq!(json["tokens_per_second"], json!(20.0));
}

#[tokio::test]
async fn secrets_never_reach_the_server() {
    let fake = FakeOllama::default().await;
    let c = client(&fake).with_secrets(vec!["ghp_abcdef123456".into()]);
    c.chat(&req("tiny:latest", "token is ghp_abcdef123456 ok"))
        .await
        .unwrap();
    let body = fake.chat_requests()[0].to_string();
    assert!(!body.contains("ghp_abcdef123456"));
    assert!(body.contains("[REDACTED]"));
}

#[tokio::test]
async fn connect_timeout_fires() {
    // A listener that never accepts: once its accept queue is full, the kernel drops new
    // SYNs and connecting hangs (loopback only).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    let mut saturated = false;
    for _ in 0..2048 {
        match tokio::time::timeout(
            Duration::from_millis(100),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(s)) => held.push(s),
            _ => {
                saturated = true;
                break;
            }
        }
    }
    if !saturated {
        eprintln!("accept queue never filled here; skipping the connect-timeout check");
        return;
    }
    let mut s = settings(&format!("http://{addr}"));
    s.connect_timeout = Duration::from_millis(200);
    s.max_retries = 0;
    let start = Instant::now();
    let err = OllamaClient::new(s)
        .unwrap()
        .with_progress(None)
        .chat(&req("tiny:latest", "hi"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LlmError::Timeout {
                phase: TimeoutPhase::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(start.elapsed() < Duration::from_millis(1500));
    drop(held);
    drop(listener);
}

#[tokio::test]
async fn preflight_names_every_missing_model_once() {
    let fake = FakeOllama::default().await;
    let c = client(&fake);
    c.preflight(&["qwen3:32b".into(), "gpt-oss:20b".into()])
        .await
        .unwrap();
    let err = c
        .preflight(&[
            "qwen3:32b".into(),
            "gpt-oss:120b".into(),
            "llama3.2:latest".into(),
        ])
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("gpt-oss:120b llama3.2:latest"), "{msg}");
    assert!(
        msg.contains("Available models: gpt-oss:20b, qwen3-coder:latest, qwen3:32b, tiny:latest"),
        "{msg}"
    );
    // Probes are cached: qwen3:32b was shown once, /api/version asked once.
    assert_eq!(fake.hits("/api/version"), 1);
    assert_eq!(fake.hits("/api/tags"), 1);
}

#[tokio::test]
async fn a_server_that_ignores_num_predict_is_stopped_at_the_token_cap() {
    let fake = FakeOllama::default().await;
    fake.script([ChatReply::endless("tok ", Duration::from_millis(1))]);
    let mut r = req("tiny:latest", "hi");
    r.max_output_tokens = Some(50);
    let start = Instant::now();
    let err = client(&fake).chat(&r).await.unwrap_err();
    match &err {
        LlmError::OutputLimit {
            unit, limit, got, ..
        } => {
            assert_eq!(*unit, "tokens");
            assert_eq!(*limit, 50);
            assert!(*got > 50 && *got < 200, "{got}");
        }
        e => panic!("unexpected {e:?}"),
    }
    assert!(
        err.to_string().contains("ignores the output limit"),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(fake.hits("/api/chat"), 1, "not retried");
}

#[tokio::test]
async fn an_endless_stream_ends_at_the_call_deadline() {
    let fake = FakeOllama::default().await;
    // One token every 20 ms: the idle timeout (300 ms) never fires.
    fake.script([ChatReply::endless("tok ", Duration::from_millis(20))]);
    let mut s = settings(&fake.base_url);
    s.call_deadline = Duration::from_millis(700);
    let c = OllamaClient::new(s).unwrap().with_progress(None);
    let mut r = req("tiny:latest", "hi");
    r.max_output_tokens = Some(1500);
    let start = Instant::now();
    let err = c.chat(&r).await.unwrap_err();
    assert!(
        matches!(
            err,
            LlmError::Timeout {
                phase: TimeoutPhase::Deadline,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("llm.call_deadline"), "{err}");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(650) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn the_buffered_answer_is_capped_in_bytes() {
    let fake = FakeOllama::default().await;
    fake.script([ChatReply::endless(&"x".repeat(10_000), Duration::ZERO)]);
    let mut s = settings(&fake.base_url);
    s.max_output_bytes = 64 * 1024;
    let c = OllamaClient::new(s).unwrap().with_progress(None);
    let err = c.chat(&req("tiny:latest", "hi")).await.unwrap_err();
    match &err {
        LlmError::OutputLimit {
            unit, limit, got, ..
        } => {
            assert_eq!((*unit, *limit), ("bytes", 64 * 1024));
            assert!(*got <= 64 * 1024 + 10_000, "{got}");
        }
        e => panic!("unexpected {e:?}"),
    }
    assert!(err.to_string().contains("llm.max_output_bytes"), "{err}");
}

#[tokio::test]
async fn metadata_answers_are_size_limited() {
    let fake = FakeOllama::default().await;
    fake.pad_probes(9 * 1024 * 1024);
    let mut s = settings(&fake.base_url);
    s.probe_timeout = Duration::from_secs(20);
    let err = OllamaClient::new(s)
        .unwrap()
        .with_progress(None)
        .chat(&req("tiny:latest", "hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::ResponseTooLarge { .. }), "{err:?}");
    assert!(err.to_string().contains("llm.base_url"), "{err}");
    assert_eq!(fake.hits("/api/chat"), 0);
}

#[tokio::test]
async fn a_request_validation_500_is_not_retried() {
    let fake = FakeOllama::default().await;
    fake.script([
        ChatReply::status(
            500,
            r#"{"error":"invalid request: options.num_ctx must be one of the supported sizes"}"#,
        ),
        ChatReply::text("never"),
    ]);
    let err = client(&fake)
        .chat(&req("tiny:latest", "hi"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LlmError::Server { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(fake.hits("/api/chat"), 1, "an invalid request is sent once");
}

#[tokio::test]
async fn prompt_eval_count_calibrates_the_budget() {
    let fake = FakeOllama::default().await;
    // The served tokenizer counts twice what chars/4 would.
    fake.set_chars_per_token(2.0);
    let c = client(&fake);
    let before = c.budget("tiny:latest", Some(256)).await.unwrap();
    assert_eq!(before.calibration, 1.0);
    // A prompt that fits by our estimate (and the server's count) teaches the ratio.
    let mut r = req("tiny:latest", &"abcd efgh ".repeat(200));
    r.max_output_tokens = Some(256);
    let reply = c.chat(&r).await.unwrap();
    let est = reply.usage.prompt_tokens_estimated;
    let ratio = reply.usage.prompt_tokens as f64 / est as f64;
    assert!(ratio > 1.5, "{} / {est}", reply.usage.prompt_tokens);
    let after = c.budget("tiny:latest", Some(256)).await.unwrap();
    assert!(
        (after.calibration - ratio * 1.10).abs() < 1e-6,
        "{} vs {ratio}",
        after.calibration
    );
    assert!(after.prompt_room() < before.prompt_room() * 2 / 3);
    // A prompt the uncalibrated estimate would have sent (the server would have cut it) is
    // now refused before sending.
    let mut big = req("tiny:latest", &"abcd efgh ".repeat(500));
    big.max_output_tokens = Some(256);
    assert!(before.check(&big.messages).is_ok());
    let sent = fake.chat_requests().len();
    let err = c.chat(&big).await.unwrap_err();
    assert!(matches!(err, LlmError::ContextTooSmall { .. }), "{err:?}");
    assert_eq!(fake.chat_requests().len(), sent, "refused, not sent");
}
