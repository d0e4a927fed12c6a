//! Serve mode's `POST /webhook` over loopback: signatures checked before parsing (GitHub's
//! documented vector; tampering, missing and sha1-only headers and wrong secrets refused),
//! the 25 MB limit, ping and unknown events, duplicates, and a burst of 500 deliveries in which
//! every distinct delivery runs its role exactly once.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use crate::serve_harness::*;
use crate::support::fake_github::FakeGitHub;

async fn deliveries_total(url: &str) -> String {
    let text = client()
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("codex_webhook_deliveries_total")
                || l.starts_with("codex_webhook_signature_failures_total")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_checked_before_anything_is_parsed() {
    let gh = FakeGitHub::start();
    let bench = Workbench::new();
    // GitHub's documented example: this secret, this payload, this signature.
    let mut env = bench.env(&gh.url);
    env.insert(
        "GITHUB_WEBHOOK_SECRET".into(),
        "It's a Secret to Everybody".into(),
    );
    let server = InProcess::start(&bench, env).await;
    let url = server.url.clone();
    let hook = || client().post(format!("{url}/webhook"));
    let vector = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    // The documented vector verifies: the body is then parsed, and "Hello, World!" is no JSON.
    let (status, body) = call(
        hook()
            .header("x-github-event", "push")
            .header("x-github-delivery", "vector-1")
            .header("x-hub-signature-256", vector)
            .body("Hello, World!"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );

    // Every refusal comes before parsing: 401, even though none of these bodies is JSON.
    let refused = [
        ("tampered body", "Hello, World?", Some(vector), None),
        (
            "tampered signature",
            "Hello, World!",
            Some("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18"),
            None,
        ),
        ("missing header", "Hello, World!", None, None),
        (
            "sha1 only",
            "Hello, World!",
            None,
            Some("sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"),
        ),
        ("malformed", "Hello, World!", Some("sha256=zz"), None),
    ];
    for (what, payload, sig256, sig1) in refused {
        let mut req = hook()
            .header("x-github-event", "push")
            .header("x-github-delivery", format!("refused-{what}"))
            .body(payload);
        if let Some(s) = sig256 {
            req = req.header("x-hub-signature-256", s);
        }
        if let Some(s) = sig1 {
            req = req.header("x-hub-signature", s);
        }
        let (status, body) = call(req).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert!(
            !body["error"].as_str().unwrap().contains("JSON"),
            "{what}: {body}"
        );
    }
    let (status, body) = call(delivery(
        &url,
        "push",
        "wrong-secret",
        b"{}",
        "another secret",
    ))
    .await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("does not match"),
        "{body}"
    );
    let (status, body) = call(
        hook()
            .header("x-github-event", "push")
            .header("x-github-delivery", "sha1-prefix")
            .header("x-hub-signature-256", vector.replace("sha256=", "sha1="))
            .body("Hello, World!"),
    )
    .await;
    assert_eq!(status, 401, "{body}");

    // Only the vector delivery reached the store (as invalid); the refusals were counted.
    let metrics = deliveries_total(&url).await;
    assert!(
        metrics.contains("codex_webhook_deliveries_total{outcome=\"invalid\"} 1"),
        "{metrics}"
    );
    assert!(!metrics.contains("outcome=\"queued\""), "{metrics}");
    assert!(
        metrics.contains("codex_webhook_signature_failures_total 7"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limit_ping_unknown_events_and_duplicates() {
    let gh = FakeGitHub::start();
    let bench = Workbench::new();
    let server = InProcess::start(&bench, bench.env(&gh.url)).await;
    let url = server.url.clone();
    register(&url, &bench.repo_body("observe")).await;

    // 25 MB + 1 byte: 413, as JSON.
    let limit = 25 * 1024 * 1024;
    let big = vec![b' '; limit + 1];
    let (status, body) = call(delivery(&url, "push", "big", &big, SECRET)).await;
    assert_eq!(status, 413, "{body}");
    assert!(body["error"].as_str().unwrap().contains("25 MB"), "{body}");
    // Exactly 25 MB is read and verified (then it is not a payload: 400).
    let at_limit = vec![b' '; limit];
    let (status, body) = call(delivery(&url, "push", "at-limit", &at_limit, SECRET)).await;
    assert_eq!(status, 400, "{body}");

    let (status, body) = call(delivery(
        &url,
        "ping",
        "ping-1",
        br#"{"zen": "Keep it logically awesome."}"#,
        SECRET,
    ))
    .await;
    assert_eq!((status, body["pong"].clone()), (200, json!(true)), "{body}");

    let star = json!({"action": "created", "repository": {"full_name": "octo/app"}}).to_string();
    let (status, body) = call(delivery(&url, "star", "star-1", star.as_bytes(), SECRET)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["outcome"], "ignored", "{body}");
    assert_eq!(body["jobs"], json!([]), "{body}");

    let other = json!({"action": "opened", "number": 1, "pull_request": {"number": 1, "head": {"sha": "x"}, "base": {"sha": "y"}}, "repository": {"full_name": "someone/else"}}).to_string();
    let (status, body) = call(delivery(
        &url,
        "pull_request",
        "other-1",
        other.as_bytes(),
        SECRET,
    ))
    .await;
    assert_eq!(status, 202, "{body}");
    assert!(
        body["reason"].as_str().unwrap().contains("not registered"),
        "{body}"
    );

    let refused = json!({"action": "opened", "repository": {"full_name": "octo/app"}}).to_string();
    let (status, body) = call(delivery(
        &url,
        "pull_request_target",
        "prt-1",
        refused.as_bytes(),
        SECRET,
    ))
    .await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (202, Some("refused")),
        "{body}"
    );

    let pr = pr_event("opened", 4, &"c".repeat(40));
    let (status, first) = call(delivery(&url, "pull_request", "pr-4", &pr, SECRET)).await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["role"], "reviewer", "{first}");
    assert_eq!(first["jobs"].as_array().unwrap().len(), 1, "{first}");
    let (status, again) = call(delivery(&url, "pull_request", "pr-4", &pr, SECRET)).await;
    assert_eq!(
        (status, again["duplicate"].clone()),
        (200, json!(true)),
        "{again}"
    );
    let job = first["jobs"][0].as_i64().unwrap();
    let done = wait_job(&url, job, &["done"], Duration::from_secs(60)).await;
    assert_eq!(
        done["result"]["published"], false,
        "observe mode publishes nothing: {done}"
    );
    assert_eq!(bench.records("work").len(), 1);
    assert!(bench.records("publish").is_empty());

    // A missing delivery id or event name, after a valid signature, is a clear 400.
    let (status, body) = call(
        client()
            .post(format!("{url}/webhook"))
            .header("x-github-event", "push")
            .header(
                "x-hub-signature-256",
                codex_orchestrator::serve::signature::sign(SECRET.as_bytes(), b"{}"),
            )
            .body("{}"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("X-GitHub-Delivery"),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_500_deliveries_runs_each_distinct_one_exactly_once() {
    let gh = FakeGitHub::start();
    let bench = Workbench::new();
    let mut env = bench.env(&gh.url);
    env.insert("CODEX_SERVE_WORKERS".into(), "8".into());
    let server = InProcess::start(&bench, env).await;
    let url = server.url.clone();
    register(&url, &bench.repo_body("observe")).await;

    // 400 distinct deliveries (each a different pull request), 100 of them sent twice.
    let distinct = 400u64;
    let mut sends: Vec<(String, Vec<u8>)> = (1..=distinct)
        .map(|n| {
            (
                format!("burst-{n}"),
                pr_event("opened", n, &format!("{n:040x}")),
            )
        })
        .collect();
    let dups: Vec<_> = sends.iter().step_by(4).cloned().collect();
    sends.extend(dups);
    assert_eq!(sends.len(), 500);
    let mut statuses = BTreeMap::new();
    let mut jobs = Vec::new();
    for chunk in sends.chunks(25) {
        let answers = futures_util::future::join_all(
            chunk
                .iter()
                .map(|(id, body)| call(delivery(&url, "pull_request", id, body, SECRET))),
        )
        .await;
        for (status, body) in answers {
            *statuses.entry(status).or_insert(0) += 1;
            if status == 202 {
                jobs.extend(
                    body["jobs"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|j| j.as_i64().unwrap()),
                );
            }
        }
    }
    assert_eq!(
        statuses,
        BTreeMap::from([(200, 100), (202, 400)]),
        "every delivery is accepted"
    );
    assert_eq!(jobs.len(), distinct as usize);
    for id in &jobs {
        wait_job(&url, *id, &["done"], Duration::from_secs(300)).await;
    }
    let runs = bench.records("work");
    let mut per_run: BTreeMap<String, usize> = BTreeMap::new();
    for (argv, env) in &runs {
        let run = env
            .get("GITHUB_RUN_ID")
            .unwrap_or_else(|| panic!("a run without GITHUB_RUN_ID: {argv:?} {env:?}"));
        *per_run.entry(run.clone()).or_default() += 1;
    }
    assert_eq!(per_run.len(), distinct as usize, "none is lost");
    assert!(
        per_run.values().all(|n| *n == 1),
        "none runs twice: {per_run:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_s_own_secret_signs_only_its_own_deliveries() {
    let gh = FakeGitHub::start();
    let bench = Workbench::new();
    let mut env = bench.env(&gh.url);
    env.insert(
        "OCTO_HOOK_SECRET".into(),
        "octo-own-secret-0123456789".into(),
    );
    env.insert("EMPTY_SECRET".into(), "".into());
    let server = InProcess::start(&bench, env).await;
    let url = server.url.clone();
    let mut body = bench.repo_body("observe");
    body["webhook_secret_env"] = json!("EMPTY_SECRET");
    let (status, refused) = call(admin(client().post(format!("{url}/repos"))).json(&body)).await;
    assert_eq!(status, 400, "an empty secret is refused: {refused}");
    body["webhook_secret_env"] = json!("OCTO_HOOK_SECRET");
    register(&url, &body).await;

    let pr = pr_event("opened", 3, &"e".repeat(40));
    let (status, ok) = call(delivery(
        &url,
        "pull_request",
        "own-1",
        &pr,
        "octo-own-secret-0123456789",
    ))
    .await;
    assert_eq!(status, 202, "{ok}");
    assert_eq!(ok["jobs"].as_array().unwrap().len(), 1, "{ok}");

    let elsewhere = json!({"action": "opened", "number": 1, "pull_request": {"number": 1, "head": {"sha": "x"}, "base": {"sha": "y"}}, "repository": {"full_name": "someone/else"}}).to_string();
    let (status, body) = call(delivery(
        &url,
        "pull_request",
        "own-2",
        elsewhere.as_bytes(),
        "octo-own-secret-0123456789",
    ))
    .await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("names another repository"),
        "{body}"
    );
    server.stop().await;
}
