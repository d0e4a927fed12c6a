//! Structured (JSON) replies: through the fake Ollama and through the scripted fake.

use crate::support::fake_ollama;

use std::time::Duration;

use codex_orchestrator::llm::structured::MAX_STRUCTURED_RETRIES;
use codex_orchestrator::llm::{
    ChatRequest, LlmError, LlmSettings, Message, OllamaClient, Scripted, ScriptedLlm, chat_json,
};
use fake_ollama::{ChatReply, FakeOllama};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize, PartialEq)]
struct Verdict {
    verdict: String,
    findings: Vec<String>,
}

fn schema() -> Value {
    json!({
        "type": "object",
        "required": ["verdict", "findings"],
        "properties": {
            "verdict": {"type": "string", "enum": ["approve", "request_changes"]},
            "findings": {"type": "array", "items": {"type": "string"}}
        }
    })
}

fn client(fake: &FakeOllama) -> OllamaClient {
    OllamaClient::new(LlmSettings {
        base_url: fake.base_url.clone(),
        first_byte_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_millis(500),
        retry_backoff: Duration::from_millis(1),
        ..LlmSettings::default()
    })
    .unwrap()
    .with_progress(None)
}

fn req() -> ChatRequest {
    ChatRequest::new(
        "qwen3:32b",
        vec![Message::system("Review."), Message::user("diff here")],
    )
}

const GOOD: &str = r#"{"verdict": "approve", "findings": ["ok"]}"#;

#[tokio::test]
async fn wrapped_json_is_recovered_in_one_call() {
    let cases = [
        format!("<think>The diff looks fine. {{maybe}}</think>\n{GOOD}"),
        format!("I thought about it.</think>\n{GOOD}"),
        format!("```json\n{GOOD}\n```"),
        format!("Here is my review:\n\n{GOOD}\n\nLet me know if you need more."),
        format!("<think>hmm</think>Sure!\n```\n{GOOD}\n```\nDone."),
        r#"{"verdict": "approve", "findings": ["ok",],}"#.to_string(),
    ];
    for case in cases {
        let fake = FakeOllama::default().await;
        fake.script([ChatReply::text(&case)]);
        let out = chat_json::<Verdict>(&client(&fake), req(), &schema())
            .await
            .unwrap_or_else(|e| panic!("{case:?}: {e}"));
        assert_eq!(out.attempts, 1, "{case:?}");
        assert_eq!(
            out.value,
            Verdict {
                verdict: "approve".into(),
                findings: vec!["ok".into()]
            }
        );
        let body = &fake.chat_requests()[0];
        assert_eq!(body["format"], schema());
        assert_eq!(body["think"], json!(false), "qwen3 must not think for JSON");
    }
}

#[tokio::test]
async fn invalid_json_is_retried_with_the_error_fed_back() {
    let fake = FakeOllama::default().await;
    fake.script([
        ChatReply::text("I approve this change."),
        ChatReply::text(r#"{"verdict": "maybe", "findings": []}"#),
        ChatReply::text(GOOD),
    ]);
    let out = chat_json::<Verdict>(&client(&fake), req(), &schema())
        .await
        .unwrap();
    assert_eq!(out.attempts, 3);
    let bodies = fake.chat_requests();
    assert_eq!(bodies.len(), 3);
    let msgs = bodies[2]["messages"].as_array().unwrap();
    let last = msgs.last().unwrap()["content"].as_str().unwrap();
    assert!(last.contains("\"maybe\" is not one of"), "{last}");
    let first_fb = bodies[1]["messages"].as_array().unwrap();
    assert_eq!(first_fb[2]["role"], json!("assistant"));
    assert!(
        first_fb[3]["content"]
            .as_str()
            .unwrap()
            .contains("no JSON value found")
    );
}

#[tokio::test]
async fn invalid_json_fails_after_two_retries() {
    let fake = FakeOllama::default().await;
    fake.script([
        ChatReply::text("{\"verdict\": \"approve\", \"findings\": [\"unterminated"),
        ChatReply::text("{\"verdict\": \"approve\"}"),
        ChatReply::text("still not json"),
        ChatReply::text(GOOD), // never asked for
    ]);
    let err = chat_json::<Verdict>(&client(&fake), req(), &schema())
        .await
        .unwrap_err();
    match &err {
        LlmError::InvalidStructuredReply {
            attempts,
            last_error,
            last_reply_excerpt,
            ..
        } => {
            assert_eq!(*attempts, 1 + MAX_STRUCTURED_RETRIES);
            assert!(last_error.contains("no JSON"), "{last_error}");
            assert_eq!(last_reply_excerpt, "still not json");
        }
        e => panic!("unexpected {e:?}"),
    }
    assert_eq!(fake.chat_requests().len(), 3);
}

#[tokio::test]
async fn missing_required_key_is_not_success() {
    let llm = ScriptedLlm::with_texts(8192, [r#"{"verdict":"approve"}"#; 3]);
    let err = chat_json::<Verdict>(&llm, req(), &schema())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("missing required key \"findings\""),
        "{err}"
    );
    assert_eq!(llm.requests().len(), 3);
}

#[tokio::test]
async fn transport_errors_are_not_retried_as_invalid_json() {
    let llm = ScriptedLlm::new(
        8192,
        [Scripted::Error(LlmError::StreamError {
            model: "m".into(),
            message: "gone".into(),
        })],
    );
    let err = chat_json::<Verdict>(&llm, req(), &schema())
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::StreamError { .. }));
    assert_eq!(llm.requests().len(), 1);
}

#[tokio::test]
async fn cut_off_json_is_retried() {
    let fake = FakeOllama::default().await;
    fake.script([
        ChatReply::text("{\"verdict\": \"approve\", \"findi").done_reason("length"),
        ChatReply::text(GOOD),
    ]);
    let out = chat_json::<Verdict>(&client(&fake), req(), &schema())
        .await
        .unwrap();
    assert_eq!(out.attempts, 2);
    let last = fake.chat_requests()[1]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(last.contains("cut off"), "{last}");
}
