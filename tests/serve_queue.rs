//! Serve mode's queue with the real binary as the server: kill -9 during a job and a restart
//! run the job again and publish it once; SIGTERM re-queues a running job and exits in bounded
//! time. In process: retries with backoff end in a dead letter with the reason (secrets
//! redacted), exit 2 is dead at once, and a newer head supersedes a queued review.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::serve_harness::*;
use crate::support::fake_github::FakeGitHub;

fn no_secrets(what: &str, text: &str) {
    for secret in [ADMIN, SECRET, READ_TOKEN, WRITE_TOKEN] {
        assert!(!text.contains(secret), "{what} leaks a secret");
    }
}

async fn run_developer(url: &str, repo: i64) -> i64 {
    let (status, body) = call(admin(
        client().post(format!("{url}/repos/{repo}/run/developer")),
    ))
    .await;
    assert_eq!(status, 202, "{body}");
    body["job"]["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_job_then_a_restart_runs_it_again_and_publishes_once() {
    let gh = FakeGitHub::start();
    let bench = Workbench::new();
    let env = bench.env(&gh.url);
    let first = Binary::start(&bench, &env);
    let repo = register(&first.url, &bench.repo_body("pr")).await;
    bench.control("sleep-once", "30");
    let job = run_developer(&first.url, repo).await;
    wait_for("the work phase to start", Duration::from_secs(30), || {
        !bench.records("work").is_empty()
    })
    .await;
    let mut first = first;
    first.child.kill().unwrap(); // SIGKILL
    first.child.wait().unwrap();
    let first_log = first.log();

    let second = Binary::start(&bench, &env);
    let done = wait_job(&second.url, job, &["done"], Duration::from_secs(60)).await;
    assert_eq!(done["attempts"], 2, "{done}");
    let runs = bench.records("work");
    assert_eq!(
        runs.len(),
        2,
        "the interrupted attempt and the one after the restart"
    );
    assert!(
        runs.iter()
            .all(|(_, e)| e["GITHUB_RUN_ID"] == format!("serve-{job}"))
    );
    assert_eq!(bench.records("publish").len(), 1, "published once");
    // Nothing else runs it again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(bench.records("publish").len(), 1);
    assert_eq!(bench.records("work").len(), 2);
    let log = format!("{first_log}{}", second.log());
    assert!(log.contains("queued again"), "{log}");
    no_secrets("the server's log", &log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_requeues_the_running_job_and_exits_in_bounded_time() {
    let gh = FakeGitHub::start();
    let bench = Workbench::new();
    let mut env = bench.env(&gh.url);
    env.insert("CODEX_SHUTDOWN_GRACE".into(), "1s".into());
    let mut server = Binary::start(&bench, &env);
    let repo = register(&server.url, &bench.repo_body("pr")).await;
    bench.control("sleep-once", "60");
    let job = run_developer(&server.url, repo).await;
    wait_for("the work phase to start", Duration::from_secs(30), || {
        !bench.records("work").is_empty()
    })
    .await;
    let started = Instant::now();
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) };
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}: {}", server.log());
    assert!(server.log().contains("shutting down"), "{}", server.log());

    let again = Binary::start(&bench, &env);
    let done = wait_job(&again.url, job, &["done"], Duration::from_secs(60)).await;
    assert_eq!(
        done["attempts"], 1,
        "the interrupted attempt is not counted: {done}"
    );
    assert_eq!(bench.records("publish").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_retry_with_backoff_then_dead_letter_with_the_reason() {
    let gh = FakeGitHub::start();
    let bench = Workbench::new();
    let server = InProcess::start(&bench, bench.env(&gh.url)).await;
    let url = server.url.clone();
    let repo = register(&url, &bench.repo_body("pr")).await;

    bench.control("work-exit", "1");
    let job = run_developer(&url, repo).await;
    let dead = wait_job(&url, job, &["dead"], Duration::from_secs(60)).await;
    assert_eq!(dead["attempts"], 3, "{dead}");
    let reason = dead["last_error"].as_str().unwrap();
    assert!(reason.contains("gave up after 3 attempts"), "{reason}");
    assert!(
        reason.contains("fake role failed on purpose (token ***)"),
        "the token is redacted: {reason}"
    );
    assert_eq!(bench.records("work").len(), 3);

    bench.control("work-exit", "2");
    let job = run_developer(&url, repo).await;
    let dead = wait_job(&url, job, &["dead"], Duration::from_secs(60)).await;
    assert_eq!(dead["attempts"], 1, "exit 2 is not retried: {dead}");
    assert!(
        dead["last_error"]
            .as_str()
            .unwrap()
            .contains("refused the job"),
        "{dead}"
    );

    bench.control("work-exit", "0");
    bench.control("publish-exit", "2");
    let job = run_developer(&url, repo).await;
    let dead = wait_job(&url, job, &["dead"], Duration::from_secs(60)).await;
    assert!(
        dead["last_error"]
            .as_str()
            .unwrap()
            .contains("publisher refused"),
        "{dead}"
    );
    assert_eq!(bench.records("publish").len(), 1);

    let metrics = client()
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("codex_jobs_total{role=\"developer\",outcome=\"retry\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("codex_jobs_total{role=\"developer\",outcome=\"dead\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("codex_queue_jobs{state=\"dead\"} 3"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_head_supersedes_a_queued_review_of_the_same_pull_request() {
    let gh = FakeGitHub::start();
    let bench = Workbench::new();
    let mut env = bench.env(&gh.url);
    env.insert("CODEX_SERVE_WORKERS".into(), "1".into());
    let server = InProcess::start(&bench, env).await;
    let url = server.url.clone();
    let repo = register(&url, &bench.repo_body("observe")).await;
    // The only worker is busy while two heads of PR 5 arrive.
    bench.control("sleep-once", "2");
    let busy = run_developer(&url, repo).await;
    wait_for("the developer to start", Duration::from_secs(30), || {
        !bench.records("work").is_empty()
    })
    .await;
    let (_, a) = call(delivery(
        &url,
        "pull_request",
        "head-a",
        &pr_event("opened", 5, &"a".repeat(40)),
        SECRET,
    ))
    .await;
    let (_, b) = call(delivery(
        &url,
        "pull_request",
        "head-b",
        &pr_event("synchronize", 5, &"b".repeat(40)),
        SECRET,
    ))
    .await;
    let (a, b) = (
        a["jobs"][0].as_i64().unwrap(),
        b["jobs"][0].as_i64().unwrap(),
    );
    let old = wait_job(&url, a, &["superseded"], Duration::from_secs(5)).await;
    assert!(
        old["last_error"].as_str().unwrap().contains("newer head"),
        "{old}"
    );
    wait_job(&url, busy, &["done"], Duration::from_secs(60)).await;
    let new = wait_job(&url, b, &["done"], Duration::from_secs(60)).await;
    assert_eq!(new["head_sha"], json!("b".repeat(40)));
    let reviews: Vec<_> = bench
        .records("work")
        .into_iter()
        .filter(|(argv, _)| argv.contains(&"reviewer".to_string()))
        .collect();
    assert_eq!(reviews.len(), 1, "only the newest head is reviewed");
    assert_eq!(reviews[0].1["GITHUB_RUN_ID"], format!("serve-{b}"));
    server.stop().await;
}

/// The taskmaster's and the integrator's hand-off in serve: the dispatch of the serve queue is
/// taken out of the change set before publishing and becomes a developer job for the task; a
/// second hand-off while that job is still queued queues nothing (as a dispatch is skipped in
/// Actions while a developer run is under way).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_off_becomes_one_queued_developer_job_and_no_dispatch() {
    let gh = FakeGitHub::start();
    let bench = Workbench::new();
    let mut env = bench.env(&gh.url);
    env.insert("CODEX_SERVE_WORKERS".into(), "1".into());
    let server = InProcess::start(&bench, env).await;
    let url = server.url.clone();
    let repo = register(&url, &bench.repo_body("pr")).await;
    let set = json!({"format": "codex-orchestrator/change-set", "version": 1, "role": "taskmaster",
        "repository": "octo/app", "default_branch": "main", "base": "0".repeat(40), "run_id": "serve-0",
        "writes": [
            {"kind": "comment", "on": {"pr": 1}, "marker": "<!-- m -->", "body": "picked"},
            {"kind": "dispatch", "workflow": "codex-serve-queue", "git_ref": "main",
             "inputs": {"role": "developer", "task": "T-0001"}}]});
    bench.control("changes", &set.to_string());
    // Two taskmaster runs queued before either starts (one worker, one writer at a time).
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, body) = call(admin(
            client().post(format!("{url}/repos/{repo}/run/taskmaster")),
        ))
        .await;
        assert_eq!(status, 202, "{body}");
        ids.push(body["job"]["id"].as_i64().unwrap());
    }
    let first = wait_job(&url, ids[0], &["done"], Duration::from_secs(60)).await;
    let second = wait_job(&url, ids[1], &["done"], Duration::from_secs(60)).await;
    let handed = &first["result"]["handoffs"][0];
    assert_eq!(handed["queued"], true, "{first}");
    assert_eq!(handed["task"], "T-0001", "{first}");
    let not_again = &second["result"]["handoffs"][0];
    assert_eq!(not_again["queued"], false, "{second}");
    assert!(
        not_again["reason"]
            .as_str()
            .unwrap_or("")
            .contains("already"),
        "{second}"
    );
    let developer = handed["job"].as_i64().unwrap();
    let dev = wait_job(&url, developer, &["done"], Duration::from_secs(60)).await;
    assert_eq!(dev["source"], "handoff", "{dev}");
    assert_eq!(dev["task"], "T-0001", "{dev}");
    // The developer's work phase got the task; every work phase named the serve queue as the
    // developer workflow.
    let work = bench.records("work");
    assert_eq!(work.len(), 3, "two taskmasters and one developer");
    assert!(work.iter().any(|(argv, _)| {
        argv.windows(4)
            .any(|w| w == ["--role", "developer", "--task", "T-0001"])
    }));
    assert!(
        work.iter()
            .all(|(_, e)| e["CODEX_DEVELOPER_WORKFLOW"] == "codex-serve-queue")
    );
    // What was published holds the comment and no dispatch.
    let published: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(bench.workdir.join(format!("jobs/{}/changes.json", ids[0])))
            .unwrap(),
    )
    .unwrap();
    let kinds: Vec<&str> = published["writes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["comment"], "{published}");
    assert!(gh.with(|s| s.dispatches.is_empty()));
    server.stop().await;
}
