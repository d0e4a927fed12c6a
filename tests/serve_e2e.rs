//! Serve mode end to end with the real binary as the role runner (no fake executable): a signed
//! `pull_request` delivery makes the server run `run --role reviewer --changes-out` and then
//! `publish`, and the fake GitHub ends with exactly one review comment, also after the same
//! review is asked for again. (The executor's side of the contract, argument by argument, is
//! checked with a stand-in binary in `serve_api` and `serve_queue`.)

use std::time::Duration;

use serde_json::json;

use crate::serve_harness::*;
use crate::support::fake_github::{FakeGitHub, Pull};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_review_is_published_once_through_the_real_binary() {
    let gh = FakeGitHub::start();
    gh.with(|s| {
        s.commit_files("feature/T-0001-ci", &[("ci.py", "print('ok')\n")], "ci");
        s.pulls.push(Pull {
            number: 1,
            title: "Set up CI".into(),
            open: true,
            head: "feature/T-0001-ci".into(),
            base: "main".into(),
            ..Pull::default()
        });
    });
    let bench = Workbench::new();
    let mut env = bench.env(&gh.url);
    env.remove("CODEX_SERVE_EXE");
    env.insert("LLM_REVIEWER_MODEL".into(), "none".into());
    let server = Binary::start(&bench, &env);
    let url = server.url.clone();
    let repo = register(&url, &bench.repo_body("pr")).await;

    let head = gh.with(|s| s.refs["feature/T-0001-ci"].clone());
    let (status, body) = call(delivery(
        &url,
        "pull_request",
        "e2e-1",
        &pr_event("opened", 1, &head),
        SECRET,
    ))
    .await;
    assert_eq!(status, 202, "{body}");
    let job = body["jobs"][0].as_i64().unwrap();
    let done = wait_job(&url, job, &["done"], Duration::from_secs(120)).await;
    assert_eq!(done["result"]["published"], true, "{done}");
    let comments = || gh.with(|s| s.comments.iter().filter(|c| c.1 == 1).count());
    assert_eq!(comments(), 1, "one review comment");

    // The same review asked for again publishes nothing new.
    let (status, again) = call(
        admin(client().post(format!("{url}/repos/{repo}/run/reviewer"))).json(&json!({"pr": 1})),
    )
    .await;
    assert_eq!(status, 202, "{again}");
    wait_job(
        &url,
        again["job"]["id"].as_i64().unwrap(),
        &["done"],
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(comments(), 1, "the comment is upserted, not duplicated");
}
