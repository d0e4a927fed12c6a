//! The second-class OpenAI-compatible client against the fake server's `/v1` endpoints.

use crate::support::fake_ollama;

use std::time::Duration;

use codex_orchestrator::llm::{
    ApiKind, ChatRequest, Llm, LlmError, LlmSettings, Message, OpenAiClient, chat_json,
};
use fake_ollama::{ChatReply, FakeOllama};
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
