//! Serve mode's polling against the fake GitHub with GitHub's rate-limit headers: an idle cycle
//! costs no budget (all 304s), a rotated token keeps its ETags, a low budget slows the pace,
//! a new head queues the Reviewer once, and a merge queues the Integrator once.

use std::time::Duration;

use serde_json::{Value, json};

use crate::serve_harness::*;
use crate::support::fake_github::{Budget, FakeGitHub, Pull};

async fn poll(url: &str) -> Value {
    let (status, body) = call(admin(client().post(format!("{url}/poll/once")))).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn remaining(gh: &FakeGitHub) -> u64 {
    gh.with(|s| s.serve.rate.unwrap().remaining)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_polls_cost_nothing_even_after_the_token_rotates_and_low_budgets_slow_down() {
    let gh = FakeGitHub::start();
    let reset = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs())
        + 1800;
    gh.with(|s| {
        s.serve.rate = Some(Budget {
            limit: 5000,
            remaining: 5000,
            reset,
        })
    });
    let bench = Workbench::new();
    let mut env = bench.env(&gh.url);
    env.insert("POLL_INTERVAL_ACTIVE".into(), "30".into());
    env.insert("POLL_INTERVAL_IDLE".into(), "120".into());
    env.insert("MIN_REMAINING_BUDGET".into(), "100".into());
    let server = InProcess::start(&bench, env).await;
    let url = server.url.clone();
    register(&url, &bench.repo_body("observe")).await;

    // The first cycle reads both lists in full.
    let first = poll(&url).await;
    assert_eq!(first["requests"], 2, "{first}");
    assert_eq!(first["not_modified"], 0, "{first}");
    assert_eq!(remaining(&gh), 4998);
    assert_eq!(
        first["rate_limit"]["env:OCTO_READ_TOKEN"]["remaining"], 4998,
        "{first}"
    );
    assert_eq!(first["next_interval"], 120, "idle: {first}");

    // Idle: every request is a 304 and the budget does not move.
    let idle = poll(&url).await;
    assert_eq!(
        (idle["requests"].clone(), idle["not_modified"].clone()),
        (json!(2), json!(2)),
        "{idle}"
    );
    assert_eq!(remaining(&gh), 4998, "an idle cycle costs no budget");

    // The token rotates (same credential name): the ETags still apply.
    server.env.lock().unwrap().insert(
        "OCTO_READ_TOKEN".into(),
        "ghp_rotatedtoken000000000000000000000000".into(),
    );
    let rotated = poll(&url).await;
    assert_eq!(rotated["not_modified"], 2, "{rotated}");
    assert_eq!(
        remaining(&gh),
        4998,
        "a rotated token does not turn polls into full-cost requests"
    );
    let last_token = gh.with(|s| s.serve.tokens.last().cloned().unwrap());
    assert_eq!(
        last_token, "ghp_rotatedtoken000000000000000000000000",
        "the new token was used"
    );

    // A low budget slows the pace down to the reset.
    gh.with(|s| {
        s.serve.rate.as_mut().unwrap().remaining = 50;
        s.commit_files("feature/x", &[("x.py", "x = 1\n")], "x");
        s.pulls.push(Pull {
            number: 42,
            title: "Add x".into(),
            open: true,
            head: "feature/x".into(),
            base: "main".into(),
            ..Pull::default()
        });
    });
    let low = poll(&url).await;
    let next = low["next_interval"].as_u64().unwrap();
    assert!((1700..=1800).contains(&next), "waits for the reset: {low}");
    assert!(
        low["next_interval_reason"]
            .as_str()
            .unwrap()
            .contains("MIN_REMAINING_BUDGET"),
        "{low}"
    );

    // The new pull request was seen: one review queued, not again on the next cycle.
    let queued = low["repos"][0]["queued"].as_array().unwrap().clone();
    assert_eq!(queued.len(), 1, "{low}");
    let job = wait_job(
        &url,
        queued[0].as_i64().unwrap(),
        &["done"],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(
        (job["role"].as_str(), job["pr"].as_u64()),
        (Some("reviewer"), Some(42)),
        "{job}"
    );
    gh.with(|s| s.serve.rate.as_mut().unwrap().remaining = 4000);
    let again = poll(&url).await;
    assert_eq!(again["repos"][0]["queued"], json!([]), "{again}");

    // A new head of the same pull request is reviewed again, once.
    gh.with(|s| {
        s.commit_files("feature/x", &[("x.py", "x = 2\n")], "x2");
    });
    let newer = poll(&url).await;
    assert_eq!(
        newer["repos"][0]["queued"].as_array().unwrap().len(),
        1,
        "{newer}"
    );
    let second = newer["repos"][0]["queued"][0].as_i64().unwrap();
    wait_job(&url, second, &["done"], Duration::from_secs(60)).await;

    // Merged: the Integrator, once.
    gh.with(|s| {
        let p = s.pulls.iter_mut().find(|p| p.number == 42).unwrap();
        p.open = false;
        p.merged = true;
    });
    let merged = poll(&url).await;
    let ids = merged["repos"][0]["queued"].as_array().unwrap().clone();
    assert_eq!(ids.len(), 1, "{merged}");
    let job = wait_job(
        &url,
        ids[0].as_i64().unwrap(),
        &["done"],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(
        (job["role"].as_str(), job["pr"].as_u64()),
        (Some("integrator"), Some(42)),
        "{job}"
    );
    let after = poll(&url).await;
    assert_eq!(after["repos"][0]["queued"], json!([]), "{after}");
    assert_eq!(
        bench.records("work").len(),
        3,
        "two reviews and one integration"
    );

    let metrics = client()
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("codex_poll_not_modified_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("codex_github_rate_limit_remaining{credential=\"env:OCTO_READ_TOKEN\"}"),
        "{metrics}"
    );
    server.stop().await;
}

/// A server watching (observe mode) a fake GitHub with one open pull request, #7, after the
/// first poll has learnt the lists and its jobs (the review of #7) are done.
async fn serving_open_pull_request_7() -> (FakeGitHub, Workbench, InProcess, String) {
    let gh = with_open_pull_request_7();
    let bench = Workbench::new();
    let server = InProcess::start(&bench, bench.env(&gh.url)).await;
    let url = server.url.clone();
    register(&url, &bench.repo_body("observe")).await;
    settle(&url, &poll(&url).await).await;
    (gh, bench, server, url)
}

/// A fake GitHub with one open pull request, #7, on a branch of its own.
fn with_open_pull_request_7() -> FakeGitHub {
    let gh = FakeGitHub::start();
    gh.with(|s| {
        s.commit_files("feature/T-0001-x", &[("x.py", "x = 1\n")], "x");
        s.pulls.push(Pull {
            number: 7,
            title: "Add login".into(),
            open: true,
            head: "feature/T-0001-x".into(),
            base: "main".into(),
            ..Pull::default()
        });
    });
    gh
}

/// Waits for every job a poll queued to be done.
async fn settle(url: &str, answer: &Value) {
    for id in answer["repos"][0]["queued"].as_array().unwrap() {
        wait_job(
            url,
            id.as_i64().unwrap(),
            &["done"],
            Duration::from_secs(60),
        )
        .await;
    }
}

/// Delivers #7's `closed` event (merged or not) and waits for the job it queued; returns it.
async fn deliver_closed_7(url: &str, delivery_id: &str, merged: bool) -> Value {
    let body = crate::support::pull_request("closed", 7, merged, false).to_string();
    let (status, answer) = call(delivery(
        url,
        "pull_request",
        delivery_id,
        body.as_bytes(),
        SECRET,
    ))
    .await;
    assert_eq!(status, 202, "{answer}");
    let job = answer["jobs"][0].as_i64().expect("an integrator job");
    wait_job(url, job, &["done"], Duration::from_secs(60)).await
}

/// How many integrator runs the server started.
fn integrations(bench: &Workbench) -> usize {
    bench
        .records("work")
        .iter()
        .filter(|(argv, _)| argv.windows(2).any(|w| w == ["--role", "integrator"]))
        .count()
}

/// A merge GitHub delivered and a poll then sees closed is integrated once: the delivery's
/// integrator job and the poll's share the pull request's key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_seen_by_a_delivery_and_then_by_a_poll_is_integrated_once() {
    let (gh, bench, server, url) = serving_open_pull_request_7().await;
    gh.with(|s| {
        let p = s.pulls.iter_mut().find(|p| p.number == 7).unwrap();
        p.open = false;
        p.merged = true;
    });
    let done = deliver_closed_7(&url, "merge-7", true).await;
    assert_eq!(done["role"], "integrator", "{done}");
    let later = poll(&url).await;
    assert_eq!(later["repos"][0]["queued"], json!([]), "{later}");
    assert_eq!(integrations(&bench), 1, "integrated once");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_then_a_reopen_and_merge_are_integrated_once_each() {
    let (gh, bench, server, url) = serving_open_pull_request_7().await;

    // Closed without a merge: a delivery, then a poll that sees the same closing.
    gh.with(|s| s.pulls.iter_mut().find(|p| p.number == 7).unwrap().open = false);
    deliver_closed_7(&url, "close-7", false).await;
    let later = poll(&url).await;
    assert_eq!(later["repos"][0]["queued"], json!([]), "{later}");
    assert_eq!(integrations(&bench), 1, "the closing integrated once");

    // Reopened and merged: the merge is a closing of its own, not a repeat of the first.
    gh.with(|s| {
        let p = s.pulls.iter_mut().find(|p| p.number == 7).unwrap();
        p.merged = true;
    });
    deliver_closed_7(&url, "merge-7", true).await;
    let last = poll(&url).await;
    assert_eq!(last["repos"][0]["queued"], json!([]), "{last}");
    assert_eq!(integrations(&bench), 2, "the merge integrated once too");
    server.stop().await;
}

/// The same closings seen by polls alone (every delivery lost): a closing and then, after a
/// reopen, the merge are integrated once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_alone_integrate_a_close_and_a_later_merge_once_each() {
    let (gh, bench, server, url) = serving_open_pull_request_7().await;

    gh.with(|s| s.pulls.iter_mut().find(|p| p.number == 7).unwrap().open = false);
    settle(&url, &poll(&url).await).await;
    assert_eq!(integrations(&bench), 1, "the closing integrated once");

    gh.with(|s| s.pulls.iter_mut().find(|p| p.number == 7).unwrap().merged = true);
    let merged = poll(&url).await;
    assert_eq!(
        merged["repos"][0]["queued"].as_array().map(Vec::len),
        Some(1),
        "{merged}"
    );
    settle(&url, &merged).await;
    assert_eq!(integrations(&bench), 2, "the merge integrated once too");

    let again = poll(&url).await;
    assert_eq!(again["repos"][0]["queued"], json!([]), "{again}");
    assert_eq!(integrations(&bench), 2);
    server.stop().await;
}
