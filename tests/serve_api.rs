//! Serve mode's API: the registry (`/repos` CRUD with the contract's body), scan, status,
//! work-next, run, jobs, health and metrics; every bad input answered with a JSON error; no
//! admin token or credential in any answer.

use std::time::Duration;

use serde_json::{Value, json};

use crate::serve_harness::*;
use crate::support::fake_github::FakeGitHub;

fn no_secrets(what: &str, text: &str) {
    for secret in [ADMIN, SECRET, READ_TOKEN, WRITE_TOKEN] {
        assert!(!text.contains(secret), "{what} leaks a secret: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_and_every_bad_input_answer_json() {
    let gh = FakeGitHub::start();
    let bench = Workbench::new();
    let server = InProcess::start(&bench, bench.env(&gh.url)).await;
    let url = server.url.clone();
    let c = client();
    let mut answers: Vec<Value> = Vec::new();

    // The contract's minimal body.
    let (status, repo) = call(
        admin(c.post(format!("{url}/repos")))
            .json(&json!({"full_name": "octo/app", "mode": "pr", "token_env": "OCTO_WRITE_TOKEN"})),
    )
    .await;
    assert_eq!(status, 201, "{repo}");
    let id = repo["id"].as_i64().unwrap();
    assert_eq!(repo["full_name"], "octo/app");
    assert_eq!(repo["credential"]["token_env"], "OCTO_WRITE_TOKEN");
    answers.push(repo.clone());

    // Mutations without the admin token, or with a wrong one.
    for req in [
        c.post(format!("{url}/repos"))
            .json(&json!({"full_name": "a/b", "token_env": "OCTO_WRITE_TOKEN"})),
        c.patch(format!("{url}/repos/{id}"))
            .json(&json!({"mode": "observe"})),
        c.delete(format!("{url}/repos/{id}")),
        c.post(format!("{url}/repos/{id}/scan")),
        c.post(format!("{url}/repos/{id}/run/developer")),
        c.post(format!("{url}/poll/once")),
        c.post(format!("{url}/repos"))
            .bearer_auth("not-the-admin-token")
            .json(&json!({})),
    ] {
        let (status, body) = call(req).await;
        assert_eq!(status, 401, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("admin token")
                || body["error"]
                    .as_str()
                    .unwrap()
                    .contains("CODEX_ADMIN_TOKEN"),
            "{body}"
        );
        answers.push(body);
    }

    // Bad inputs, each with its own message.
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (admin(c.post(format!("{url}/repos"))).body("{not json"), 400, "not valid JSON"),
        (admin(c.post(format!("{url}/repos"))), 400, "body is empty"),
        (admin(c.post(format!("{url}/repos"))).json(&json!({"full_name": "octo/app", "token_env": "OCTO_WRITE_TOKEN"})), 409, "registered already"),
        (admin(c.post(format!("{url}/repos"))).json(&json!({"full_name": "not a repo", "token_env": "OCTO_WRITE_TOKEN"})), 400, "owner/name"),
        (admin(c.post(format!("{url}/repos"))).json(&json!({"full_name": "a/b", "mode": "yolo", "token_env": "OCTO_WRITE_TOKEN"})), 400, "mode"),
        (admin(c.post(format!("{url}/repos"))).json(&json!({"full_name": "a/b", "token_env": "UNSET_TOKEN_VAR"})), 400, "not set in the server's environment"),
        (admin(c.post(format!("{url}/repos"))).json(&json!({"full_name": "a/b", "token_env": "CODEX_ADMIN_TOKEN"})), 400, "server's own secret"),
        (admin(c.post(format!("{url}/repos"))).json(&json!({"full_name": "a/b"})), 400, "name the credential"),
        (admin(c.post(format!("{url}/repos"))).json(&json!({"full_name": "a/b", "token_env": "OCTO_WRITE_TOKEN", "colour": "red"})), 400, "unknown field"),
        (admin(c.post(format!("{url}/repos"))).json(&json!({"full_name": "a/b", "token_env": "OCTO_WRITE_TOKEN", "clone_url": "https://user:pw@example.com/a/b.git"})), 400, "must not carry credentials"),
        (c.get(format!("{url}/repos/999")), 404, "no repository with id 999"),
        (c.get(format!("{url}/repos/abc")), 400, "positive number"),
        (admin(c.post(format!("{url}/repos/999/run/developer"))), 404, "no repository"),
        (admin(c.post(format!("{url}/repos/{id}/run/wizard"))), 400, "unknown role"),
        (admin(c.post(format!("{url}/repos/{id}/run/reviewer"))), 400, "needs a pull request"),
        (admin(c.post(format!("{url}/repos/{id}/run/developer"))).json(&json!({"task": "next one"})), 400, "task id"),
        (admin(c.post(format!("{url}/repos/{id}/run/developer"))).json(&json!({"pr": "seven"})), 400, "pr"),
        (c.get(format!("{url}/jobs/0")), 400, "positive number"),
        (c.get(format!("{url}/jobs/12345")), 404, "no job"),
        (c.get(format!("{url}/nowhere")), 404, "no such endpoint"),
        (c.put(format!("{url}/repos")), 405, "method"),
        (admin(c.post(format!("{url}/poll/once"))).json(&json!({"repo": 77})), 404, "no repository"),
        (admin(c.post(format!("{url}/repos"))).body(vec![b' '; 2 * 1024 * 1024]), 413, "larger than"),
    ];
    for (req, want, says) in cases {
        let (status, body) = call(req).await;
        assert_eq!(status, want, "{body}");
        let msg = body["error"].as_str().unwrap_or_default();
        assert!(msg.contains(says), "{says:?} not in {body}");
        answers.push(body);
    }

    // Update, list, show, and a job queued by hand.
    let (status, patched) = call(
        admin(c.patch(format!("{url}/repos/{id}")))
            .json(&json!({"mode": "observe", "read_token_env": "OCTO_READ_TOKEN", "clone_url": format!("file://{}", bench.bare.display()), "settings": {"models": {"developer": "qwen3-coder:latest"}}})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["mode"], "observe");
    assert_eq!(
        patched["settings"]["models"]["developer"],
        "qwen3-coder:latest"
    );
    answers.push(patched);
    let (_, list) = call(c.get(format!("{url}/repos"))).await;
    assert_eq!(list["repos"].as_array().unwrap().len(), 1);
    answers.push(list);
    let (status, queued) = call(
        admin(c.post(format!("{url}/repos/{id}/run/developer"))).json(&json!({"task": "t-0001"})),
    )
    .await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["job"]["task"], "T-0001");
    let job = wait_job(
        &url,
        queued["job"]["id"].as_i64().unwrap(),
        &["done"],
        Duration::from_secs(60),
    )
    .await;
    answers.push(job);

    // Scan reads the tasks from the repository; status and work-next report them.
    let (status, scan) = call(admin(c.post(format!("{url}/repos/{id}/scan")))).await;
    assert_eq!(status, 200, "{scan}");
    assert_eq!(scan["tasks"]["tasks_by_state"]["queued"], 1, "{scan}");
    assert_eq!(scan["tasks"]["next"]["task"], "T-0001", "{scan}");
    answers.push(scan);
    let (_, next) = call(c.get(format!("{url}/repos/{id}/work-next"))).await;
    assert_eq!(next["next"]["task"], "T-0001", "{next}");
    let (_, status_body) = call(c.get(format!("{url}/repos/{id}/status"))).await;
    assert_eq!(status_body["tasks_by_state"]["queued"], 1, "{status_body}");
    assert_eq!(
        status_body["recent_jobs"][0]["role"], "developer",
        "{status_body}"
    );
    assert_eq!(
        status_body["recent_jobs"][0]["state"], "done",
        "{status_body}"
    );
    answers.push(status_body);

    let (status, health) = call(c.get(format!("{url}/health"))).await;
    assert_eq!(
        (status, health["database"].as_str()),
        (200, Some("ok")),
        "{health}"
    );
    let metrics = c.get(format!("{url}/metrics")).send().await.unwrap();
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("codex_jobs_total{role=\"developer\",outcome=\"done\"} 1"),
        "{metrics}"
    );
    no_secrets("/metrics", &metrics);

    let (status, deleted) = call(admin(c.delete(format!("{url}/repos/{id}")))).await;
    assert_eq!(status, 200, "{deleted}");
    let (status, _) = call(c.get(format!("{url}/repos/{id}"))).await;
    assert_eq!(status, 404);

    for a in &answers {
        no_secrets("an answer", &a.to_string());
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_get_only_their_phase_s_credential_and_nothing_of_the_server_s_environment() {
    let gh = FakeGitHub::start();
    let bench = Workbench::new();
    let server = InProcess::start(&bench, bench.env(&gh.url)).await;
    let url = server.url.clone();
    let id = register(&url, &bench.repo_body("pr")).await;
    let pr = pr_event("opened", 9, &"d".repeat(40));
    let (status, body) = call(delivery(&url, "pull_request", "contract-1", &pr, SECRET)).await;
    assert_eq!(status, 202, "{body}");
    let job_id = body["jobs"][0].as_i64().unwrap();
    let job = wait_job(&url, job_id, &["done"], Duration::from_secs(60)).await;
    assert_eq!(job["result"]["published"], true, "{job}");
    assert_eq!(job["result"]["publish"]["written"][0], "comment", "{job}");

    let work = bench.records("work");
    let publish = bench.records("publish");
    assert_eq!((work.len(), publish.len()), (1, 1));
    let (argv, env) = &work[0];
    let dir = argv[1].clone();
    assert_eq!(argv[0], "--repo-dir");
    assert!(
        dir.ends_with(&format!("jobs/{job_id}/checkout")),
        "{argv:?}"
    );
    assert_eq!(
        &argv[2..8],
        ["run", "--role", "reviewer", "--pr", "9", "--changes-out"]
    );
    assert!(argv[8].ends_with("changes.json"), "{argv:?}");
    assert_eq!(env["GH_TOKEN"], READ_TOKEN, "the work phase reads");
    assert_eq!(env["GITHUB_REPOSITORY"], "octo/app");
    assert_eq!(env["GITHUB_API_URL"], gh.url);
    assert_eq!(env["GITHUB_RUN_ID"], format!("serve-{job_id}"));
    assert_eq!(env["GITHUB_EVENT_NAME"], "pull_request");
    assert_eq!(
        std::fs::read(&env["GITHUB_EVENT_PATH"]).unwrap(),
        pr,
        "the delivery's own bytes"
    );
    assert_eq!(env["CODEX_MODE"], "pr");
    assert_eq!(
        env["CODEX_DEVELOPER_TESTS"], "off",
        "no sandbox configured: tests off"
    );
    assert!(env["CODEX_REPORT"].ends_with("report.json"));

    let (argv, penv) = &publish[0];
    assert_eq!(
        argv[0..3],
        ["--repo-dir".to_string(), dir.clone(), "publish".into()]
    );
    assert!(argv[3].ends_with("changes.json"));
    assert_eq!(argv[4..], ["--role", "reviewer", "--pr", "9", "--json"]);
    assert_eq!(
        penv["GH_TOKEN"], WRITE_TOKEN,
        "only the publish phase writes"
    );
    assert!(!penv.contains_key("OLLAMA_BASE_URL") && !penv.contains_key("GITHUB_EVENT_PATH"));

    for (what, env) in [("work", env), ("publish", penv)] {
        for (k, v) in env {
            assert!(
                !v.contains(ADMIN) && !v.contains(SECRET),
                "{what} phase got a server secret in {k}"
            );
            assert!(
                !v.contains("canary-value"),
                "{what} phase got the server's environment ({k})"
            );
        }
        assert!(
            !env.contains_key("CODEX_ADMIN_TOKEN") && !env.contains_key("GITHUB_WEBHOOK_SECRET")
        );
    }
    // The mirror's git configuration holds no credential (git got it in its environment).
    let cfg = std::fs::read_to_string(
        bench
            .workdir
            .join(format!("repos/{id}-octo-app/mirror.git/config")),
    )
    .unwrap();
    assert!(
        !cfg.contains(READ_TOKEN) && !cfg.contains(WRITE_TOKEN) && !cfg.contains("extraHeader"),
        "{cfg}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_checks_github_and_the_model_server_per_repository() {
    let gh = FakeGitHub::start();
    let ollama = crate::support::fake_ollama::FakeOllama::default().await;
    let bench = Workbench::new();
    let mut env = bench.env(&gh.url);
    env.insert("OLLAMA_BASE_URL".into(), ollama.base_url.clone());
    let server = InProcess::start(&bench, env).await;
    let url = server.url.clone();
    register(&url, &bench.repo_body("pr")).await;
    let (status, body) = call(client().get(format!("{url}/health/ready"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["repos"][0]["github"]["ok"], true, "{body}");
    assert_eq!(body["repos"][0]["model_server"]["ok"], true, "{body}");

    // A repository GitHub does not know, and a model server that is down: 503, with reasons.
    let (status, _) = call(admin(client().post(format!("{url}/repos"))).json(&json!({
        "full_name": "octo/missing", "token_env": "OCTO_WRITE_TOKEN",
        "settings": {"ollama_base_url": "http://127.0.0.1:9"}
    })))
    .await;
    assert_eq!(status, 201);
    let (status, body) = call(client().get(format!("{url}/health/ready"))).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    let missing = &body["repos"][1];
    assert_eq!(missing["github"]["ok"], false, "{body}");
    assert!(
        missing["github"]["error"].as_str().unwrap().contains("404"),
        "{body}"
    );
    assert_eq!(missing["model_server"]["ok"], false, "{body}");
    no_secrets("/health/ready", &body.to_string());
    server.stop().await;
}
