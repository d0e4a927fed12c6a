//! The second-class OpenAI-compatible client against the fake server's `/v1` endpoints.

use crate::support::fake_ollama;

use std::time::Duration;

use codex_orchestrator::llm::progress::MemoryProgress;
use codex_orchestrator::llm::{
    ApiKind, ChatRequest, Llm, LlmError, LlmSettings, Message, OpenAiClient, chat_json,
};
use fake_ollama::{ChatReply, FakeOllama, LlamaCpp};
use serde_json::json;

fn client(fake: &FakeOllama, num_ctx: Option<u32>) -> OpenAiClient {
    OpenAiClient::new(LlmSettings {
        base_url: format!("{}/v1", fake.base_url),
        api: ApiKind::Openai,
        first_byte_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_millis(500),
        retry_backoff: Duration::from_millis(1),
        num_ctx,
        api_key: Some("sk-test".into()),
        ..LlmSettings::default()
    })
    .unwrap()
    .with_progress(None)
}

fn req(model: &str, text: &str) -> ChatRequest {
    ChatRequest::new(model, vec![Message::user(text)])
}

#[tokio::test]
async fn happy_path_streams_sse() {
    let fake = FakeOllama::default().await;
    fake.script_openai([ChatReply::text("<think>hm</think>Hello from v1!")]);
    let c = client(&fake, Some(8192));
    let mut r = req("qwen3:32b", "hi");
    r.temperature = Some(0.5);
    r.max_output_tokens = Some(300);
    let reply = c.chat(&r).await.unwrap();
    assert_eq!(reply.text, "Hello from v1!");
    assert_eq!(reply.thinking.as_deref(), Some("hm"));
    assert!(reply.usage.prompt_tokens > 0);
    assert!(reply.usage.output_tokens > 0);
    assert_eq!(reply.usage.num_ctx, 8192);
    let body = &fake.openai_requests()[0];
    assert_eq!(body["max_tokens"], json!(300));
    assert_eq!(body["stream"], json!(true));
    assert!(body.get("options").is_none(), "no num_ctx control on /v1");
    assert_eq!(fake.hits("/api/chat"), 0);
}

#[tokio::test]
async fn json_schema_goes_in_response_format() {
    let fake = FakeOllama::default().await;
    fake.script_openai([ChatReply::text("```json\n{\"n\": 3}\n```")]);
    #[derive(serde::Deserialize)]
    struct N {
        n: u32,
    }
    let schema = json!({"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}});
    let out = chat_json::<N>(&client(&fake, None), req("gpt-oss:20b", "count"), &schema)
        .await
        .unwrap();
    assert_eq!(out.value.n, 3);
    let body = &fake.openai_requests()[0];
    assert_eq!(body["response_format"]["type"], json!("json_schema"));
    assert_eq!(body["response_format"]["json_schema"]["schema"], schema);
}

#[tokio::test]
async fn unknown_model_and_oversized_prompt_are_refused_before_sending() {
    let fake = FakeOllama::default().await;
    let c = client(&fake, Some(1024));
    let err = c.chat(&req("mistral:7b", "hi")).await.unwrap_err();
    assert!(matches!(err, LlmError::ModelMissing { .. }), "{err:?}");
    let err = c
        .chat(&req("qwen3:32b", &"x".repeat(10_000)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LlmError::ContextTooSmall { num_ctx: 1024, .. }),
        "{err:?}"
    );
    assert!(fake.openai_requests().is_empty());
}

#[tokio::test]
async fn error_event_and_length_are_failures() {
    let fake = FakeOllama::default().await;
    fake.script_openai([
        ChatReply::Chunks(vec![
            (
                Duration::ZERO,
                b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n".to_vec(),
            ),
            (
                Duration::ZERO,
                b"data: {\"error\":{\"message\":\"upstream died\"}}\n\n".to_vec(),
            ),
        ]),
        ChatReply::text("cut").done_reason("length"),
    ]);
    let c = client(&fake, None);
    let err = c.chat(&req("qwen3:32b", "hi")).await.unwrap_err();
    assert!(
        matches!(&err, LlmError::StreamError { message, .. } if message == "upstream died"),
        "{err:?}"
    );
    let err = c.chat(&req("qwen3:32b", "hi")).await.unwrap_err();
    assert!(matches!(err, LlmError::OutputTruncated { .. }), "{err:?}");
}

fn llama(fake: &FakeOllama, n_ctx: u32, tokenize: bool, refuse: &[&str]) {
    fake.llama_cpp(LlamaCpp {
        n_ctx,
        tokenize,
        refuse_formats: refuse.iter().map(|s| s.to_string()).collect(),
        predicted_per_second: 4.4,
    });
}

#[tokio::test]
async fn the_servers_context_and_tokenizer_are_used() {
    let fake = FakeOllama::default().await;
    llama(&fake, 4096, true, &[]);
    // No llm.num_ctx: the server's own context decides.
    let c = client(&fake, None);
    let b = c.budget("qwen3:32b", Some(512)).await.unwrap();
    assert_eq!(b.num_ctx, 4096);
    let mut r = req("qwen3:32b", &"fn main() {}\n".repeat(100));
    r.max_output_tokens = Some(512);
    let reply = c.chat(&r).await.unwrap();
    let rec = &reply.usage;
    let counted = rec.prompt_tokens_counted.expect("counted by /tokenize");
    assert!(
        counted >= rec.prompt_tokens,
        "{counted} vs {}",
        rec.prompt_tokens
    );
    assert_eq!(rec.num_ctx, 4096);
    assert_eq!(fake.hits("/tokenize"), 1);
    // llm.num_ctx larger than the server has: the server wins.
    let c = client(&fake, Some(32768));
    assert_eq!(c.budget("qwen3:32b", None).await.unwrap().num_ctx, 4096);
    // A prompt the server would refuse is counted, refused and never sent.
    let sent = fake.openai_requests().len();
    fake.set_chars_per_token(1.0);
    let mut big = req("qwen3:32b", &"abcd efgh ".repeat(400));
    big.max_output_tokens = Some(512);
    let err = c.chat(&big).await.unwrap_err();
    assert!(
        matches!(err, LlmError::ContextTooSmall { prompt_tokens, .. } if prompt_tokens > 4000),
        "{err:?}"
    );
    assert!(err.is_context_overflow());
    assert_eq!(fake.openai_requests().len(), sent);
}

#[tokio::test]
async fn a_context_refusal_by_the_server_is_typed_and_not_retried() {
    let fake = FakeOllama::default().await;
    // No tokenizer, and the server's tokens are four times denser than chars/4.
    llama(&fake, 2048, false, &[]);
    fake.set_chars_per_token(1.0);
    let c = client(&fake, None);
    let mut r = req("qwen3:32b", &"abcd efgh ".repeat(400));
    r.max_output_tokens = Some(256);
    let err = c.chat(&r).await.unwrap_err();
    match &err {
        LlmError::ContextExceeded {
            prompt_tokens,
            num_ctx,
            ..
        } => {
            assert!(prompt_tokens.unwrap() > 2048);
            assert_eq!(*num_ctx, Some(2048));
        }
        e => panic!("unexpected {e:?}"),
    }
    assert!(err.is_context_overflow());
    let msg = err.to_string();
    assert!(
        msg.contains("--ctx-size") && msg.contains("llm.num_ctx"),
        "{msg}"
    );
    assert!(!msg.contains("OLLAMA_CONTEXT_LENGTH"), "{msg}");
    assert_eq!(fake.hits("/v1/chat/completions"), 1, "not retried");
}

#[tokio::test]
async fn a_long_prompt_that_fits_the_server_is_not_called_truncated() {
    let fake = FakeOllama::default().await;
    llama(&fake, 4096, false, &[]);
    // The server counts far more than our estimate, deep into the room reserved for the
    // answer, but short of its context: nothing was cut (the old check said "truncated").
    fake.script_openai([ChatReply::text("complete answer").prompt_eval_count(2400)]);
    let c = client(&fake, None);
    let mut r = req("qwen3:32b", &"word ".repeat(1000));
    r.max_output_tokens = Some(2048);
    let reply = c.chat(&r).await.unwrap();
    assert_eq!(reply.text, "complete answer");
    assert!(reply.usage.prompt_tokens_estimated < 2400);
    // The next call is planned with what the server counted.
    assert!(c.budget("qwen3:32b", None).await.unwrap().calibration > 1.8);
    // Filling the server's context is the server's own signal that it cut the prompt.
    fake.script_openai([ChatReply::text("answer to half a prompt").prompt_eval_count(4090)]);
    let err = client(&fake, None).chat(&r).await.unwrap_err();
    assert!(
        matches!(err, LlmError::PromptTruncated { num_ctx: 4096, .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains("OLLAMA_CONTEXT_LENGTH"), "{err}");
}

#[tokio::test]
async fn a_refused_json_schema_falls_back_to_json_object_then_the_prompt() {
    #[derive(serde::Deserialize, Debug)]
    struct N {
        n: u32,
    }
    let schema = json!({"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}});
    let ledger = codex_orchestrator::llm::Ledger::default();

    // Refuses json_schema only: json_object is used, and remembered for the next call.
    let fake = FakeOllama::default().await;
    llama(&fake, 8192, false, &["json_schema"]);
    fake.script_openai([ChatReply::text("{\"n\": 1}"), ChatReply::text("{\"n\": 2}")]);
    let c = client(&fake, None).with_ledger(ledger.clone());
    let out = chat_json::<N>(&c, req("qwen3:32b", "count"), &schema)
        .await
        .unwrap();
    assert_eq!(out.value.n, 1);
    assert_eq!(
        out.reply.usage.structured_output.as_deref(),
        Some("json_object")
    );
    let out = chat_json::<N>(&c, req("qwen3:32b", "count"), &schema)
        .await
        .unwrap();
    assert_eq!(out.value.n, 2);
    let bodies = fake.openai_requests();
    let kinds: Vec<&str> = bodies
        .iter()
        .map(|b| b["response_format"]["type"].as_str().unwrap_or("none"))
        .collect();
    assert_eq!(kinds, ["json_schema", "json_object", "json_object"]);
    let last = bodies[2]["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        last.contains("matches this JSON schema") && last.contains("\"n\""),
        "{last}"
    );
    let recs = ledger.records();
    assert_eq!(recs.len(), 2);
    assert!(
        recs.iter()
            .all(|r| r.structured_output.as_deref() == Some("json_object"))
    );

    // Refuses both: the schema goes in the prompt only, and the reply is repaired as usual.
    let fake = FakeOllama::default().await;
    llama(&fake, 8192, false, &["json_schema", "json_object"]);
    fake.script_openai([ChatReply::text("Here you go: {\"n\": 3,}")]);
    let c = client(&fake, None);
    let out = chat_json::<N>(&c, req("qwen3:32b", "count"), &schema)
        .await
        .unwrap();
    assert_eq!(out.value.n, 3);
    assert_eq!(out.reply.usage.structured_output.as_deref(), Some("prompt"));
    let bodies = fake.openai_requests();
    assert_eq!(bodies.len(), 3);
    assert!(bodies[2].get("response_format").is_none());
}

#[tokio::test]
async fn rates_and_timings_come_from_the_server() {
    let fake = FakeOllama::default().await;
    llama(&fake, 8192, false, &[]);
    fake.script_openai([ChatReply::text("twenty characters!!!")]);
    let mem = MemoryProgress::default();
    let c = client(&fake, None).with_progress(Some(std::sync::Arc::new(mem.clone())));
    let reply = c.chat(&req("qwen3:32b", "hi")).await.unwrap();
    let u = &reply.usage;
    assert!(
        (u.tokens_per_second - 4.4).abs() < 1e-9,
        "{}",
        u.tokens_per_second
    );
    assert!(
        (u.prompt_seconds - 1.5).abs() < 1e-9,
        "{}",
        u.prompt_seconds
    );
    assert!(
        (u.eval_seconds - 5.0 / 4.4).abs() < 1e-6,
        "{}",
        u.eval_seconds
    );
    for line in mem.lines() {
        let rate: Option<f64> = line
            .split(", ")
            .find(|p| p.ends_with("tok/s"))
            .and_then(|p| p.trim_end_matches(" tok/s").parse().ok());
        assert!(rate.is_none_or(|r| r < 100_000.0), "{line}");
    }
}

#[tokio::test]
async fn an_endless_sse_stream_ends_at_the_cap() {
    let fake = FakeOllama::default().await;
    fake.script_openai([ChatReply::endless("tok ", Duration::from_millis(1))]);
    let c = client(&fake, None);
    let mut r = req("qwen3:32b", "hi");
    r.max_output_tokens = Some(40);
    let err = c.chat(&r).await.unwrap_err();
    assert!(
        matches!(
            err,
            LlmError::OutputLimit {
                unit: "tokens",
                limit: 40,
                ..
            }
        ),
        "{err:?}"
    );
}
