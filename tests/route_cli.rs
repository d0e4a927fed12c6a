//! `route` through the real binary: the routing table, refusals, and bad payloads as clear
//! exit-2 errors (never a crash).

use crate::support;

use serde_json::{Value, json};
use support::{cmd, pull_request, run};

fn route(dir: &std::path::Path, event: &str, payload: &[u8]) -> support::Run {
    let path = dir.join("event.json");
    std::fs::write(&path, payload).unwrap();
    run(cmd(dir)
        .args(["route", "--json", "--event-name", event, "--event-path"])
        .arg(&path))
}

fn route_json(dir: &std::path::Path, event: &str, payload: &Value) -> (i32, Value) {
    let r = route(dir, event, payload.to_string().as_bytes());
    let v: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON object ({e}): {r:?}", r = r.stdout));
    (r.code, v)
}

#[test]
fn pull_request_actions_route_to_reviewer_and_integrator() {
    let dir = tempfile::tempdir().unwrap();
    let (code, v) = route_json(
        dir.path(),
        "pull_request",
        &pull_request("opened", 12, false, false),
    );
    assert_eq!(code, 0);
    assert_eq!(
        v,
        json!({"decision": "run", "role": "reviewer", "reason": "pull_request/opened on PR #12", "pr": 12, "task": null, "boost": false})
    );

    for action in ["synchronize", "reopened", "ready_for_review"] {
        let (_, v) = route_json(
            dir.path(),
            "pull_request",
            &pull_request(action, 3, false, false),
        );
        assert_eq!(v["role"], "reviewer", "{action}");
    }

    let (code, v) = route_json(
        dir.path(),
        "pull_request",
        &pull_request("closed", 7, true, false),
    );
    assert_eq!(
        (code, &v["decision"], &v["role"], &v["merged"], &v["pr"]),
        (
            0,
            &json!("run"),
            &json!("integrator"),
            &json!(true),
            &json!(7)
        )
    );

    let (_, v) = route_json(
        dir.path(),
        "pull_request",
        &pull_request("closed", 7, false, false),
    );
    assert_eq!(
        (&v["role"], &v["merged"]),
        (&json!("integrator"), &json!(false))
    );
    assert!(v["reason"].as_str().unwrap().contains("back to queued"));

    let (code, v) = route_json(
        dir.path(),
        "pull_request",
        &pull_request("labeled", 7, false, false),
    );
    assert_eq!(
        (code, &v["decision"], &v["role"]),
        (0, &json!("ignore"), &json!("none"))
    );
    assert_eq!(v["reason"], "ignored: pull_request/labeled");
}

#[test]
fn drafts_are_skipped_unless_configured() {
    let dir = tempfile::tempdir().unwrap();
    let (_, v) = route_json(
        dir.path(),
        "pull_request",
        &pull_request("opened", 5, false, true),
    );
    assert_eq!(v["decision"], "ignore");
    assert!(v["reason"].as_str().unwrap().contains("draft"));
    std::fs::write(
        dir.path().join(".llm-team.yml"),
        "review:\n  drafts: true\n",
    )
    .unwrap();
    let (_, v) = route_json(
        dir.path(),
        "pull_request",
        &pull_request("opened", 5, false, true),
    );
    assert_eq!(v["role"], "reviewer");
}

#[test]
fn schedule_and_dispatch() {
    let dir = tempfile::tempdir().unwrap();
    let (code, v) = route_json(dir.path(), "schedule", &json!({"schedule": "*/30 * * * *"}));
    assert_eq!((code, &v["role"]), (0, &json!("taskmaster")));
    assert!(v.get("then").is_none());

    std::fs::write(
        dir.path().join(".llm-team.yml"),
        "workflow:\n  auto_develop: true\n",
    )
    .unwrap();
    let (_, v) = route_json(dir.path(), "schedule", &json!({"schedule": "0 * * * *"}));
    assert_eq!(v["then"], json!(["developer"]));

    let dispatch = json!({"inputs": {"role": "developer", "task": "t-0004", "boost": "true", "pr": ""}, "ref": "refs/heads/main"});
    let (code, v) = route_json(dir.path(), "workflow_dispatch", &dispatch);
    assert_eq!(code, 0);
    assert_eq!(
        (&v["role"], &v["task"], &v["boost"], &v["pr"]),
        (
            &json!("developer"),
            &json!("T-0004"),
            &json!(true),
            &json!(null)
        )
    );

    let (_, v) = route_json(dir.path(), "workflow_dispatch", &json!({"inputs": {}}));
    assert_eq!(v["role"], "taskmaster");

    let (code, v) = route_json(
        dir.path(),
        "workflow_dispatch",
        &json!({"inputs": {"role": "deployer"}}),
    );
    assert_eq!((code, &v["decision"]), (2, &json!("refuse")));
    let (code, _) = route_json(
        dir.path(),
        "workflow_dispatch",
        &json!({"inputs": {"role": "reviewer", "pr": "12; rm -rf /"}}),
    );
    assert_eq!(code, 2);
}

#[test]
fn comment_commands_need_a_trusted_author() {
    let dir = tempfile::tempdir().unwrap();
    let comment = |body: &str, assoc: &str, on_pr: bool| {
        let mut issue = json!({"number": 9, "title": "x"});
        if on_pr {
            issue["pull_request"] = json!({"url": "https://api.github.com/repos/o/r/pulls/9"});
        }
        json!({"action": "created", "issue": issue,
               "comment": {"body": body, "author_association": assoc, "user": {"login": "mona", "type": "User"}}})
    };
    let (code, v) = route_json(
        dir.path(),
        "issue_comment",
        &comment("/codex review", "MEMBER", true),
    );
    assert_eq!(
        (code, &v["role"], &v["pr"]),
        (0, &json!("reviewer"), &json!(9))
    );
    let (_, v) = route_json(
        dir.path(),
        "issue_comment",
        &comment("/codex develop T-0002 boost", "OWNER", true),
    );
    assert_eq!(
        (&v["role"], &v["task"], &v["boost"]),
        (&json!("developer"), &json!("T-0002"), &json!(true))
    );
    let (code, v) = route_json(
        dir.path(),
        "issue_comment",
        &comment("/codex review", "NONE", true),
    );
    assert_eq!((code, &v["decision"]), (0, &json!("ignore")));
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("only owners, members and collaborators")
    );
    let (_, v) = route_json(
        dir.path(),
        "issue_comment",
        &comment("/codex review", "OWNER", false),
    );
    assert_eq!(v["decision"], "ignore");
    let (_, v) = route_json(
        dir.path(),
        "issue_comment",
        &comment("nice work", "OWNER", true),
    );
    assert_eq!(v["decision"], "ignore");
}

#[test]
fn push_to_default_branch_changing_the_prd_runs_the_planner() {
    let dir = tempfile::tempdir().unwrap();
    let push = |r#ref: &str, file: &str| {
        json!({
            "ref": r#ref, "deleted": false,
            "commits": [{"added": [], "modified": [file], "removed": []}],
            "repository": {"full_name": "o/r", "default_branch": "main"}
        })
    };
    let (_, v) = route_json(dir.path(), "push", &push("refs/heads/main", "docs/PRD.md"));
    assert_eq!(v["role"], "planner");
    let (_, v) = route_json(dir.path(), "push", &push("refs/heads/main", "src/app.py"));
    assert_eq!(v["decision"], "ignore");
    let (_, v) = route_json(
        dir.path(),
        "push",
        &push("refs/heads/feature/x", "docs/PRD.md"),
    );
    assert_eq!(v["decision"], "ignore");
    std::fs::write(
        dir.path().join(".llm-team.yml"),
        "roles:\n  planner:\n    enabled: false\n",
    )
    .unwrap();
    let (code, v) = route_json(dir.path(), "push", &push("refs/heads/main", "docs/PRD.md"));
    assert_eq!(
        (code, &v["decision"], &v["role"]),
        (0, &json!("ignore"), &json!("planner"))
    );
}

#[test]
fn dangerous_events_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for event in ["pull_request_target", "workflow_run"] {
        let (code, v) = route_json(dir.path(), event, &pull_request("opened", 1, false, false));
        assert_eq!(
            (code, &v["decision"], &v["role"]),
            (2, &json!("refuse"), &json!("none")),
            "{event}"
        );
        assert!(v["reason"].as_str().unwrap().contains("refuses"));
    }
}

#[test]
fn unknown_events_are_ignored_with_their_action() {
    let dir = tempfile::tempdir().unwrap();
    let (code, v) = route_json(dir.path(), "star", &json!({"action": "created"}));
    assert_eq!((code, &v["reason"]), (0, &json!("ignored: star/created")));
    let (_, v) = route_json(
        dir.path(),
        "ping",
        &json!({"zen": "Keep it logically awesome."}),
    );
    assert_eq!(v["reason"], "ignored: ping");
}

#[test]
fn bad_payloads_are_clear_errors_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "is empty"),
        ("whitespace", b"  \n".to_vec(), "is empty"),
        ("invalid JSON", b"{\"action\": ".to_vec(), "not valid JSON"),
        (
            "null",
            b"null".to_vec(),
            "must be a JSON object, found null",
        ),
        (
            "array",
            b"[1]".to_vec(),
            "must be a JSON object, found an array",
        ),
        (
            "invalid UTF-8",
            b"{\"a\": \"\xff\xfe\"}".to_vec(),
            "not UTF-8",
        ),
        (
            "30 MB",
            {
                let mut v = b"{\"pad\": \"".to_vec();
                v.resize(30 * 1024 * 1024, b'a');
                v.extend_from_slice(b"\"}");
                v
            },
            "larger than 25 MB",
        ),
        (
            "wrong shape",
            br#"{"action": "opened", "pull_request": "nope"}"#.to_vec(),
            "does not have the shape",
        ),
    ];
    for (name, bytes, expect) in cases {
        let r = route(dir.path(), "pull_request", &bytes);
        assert_eq!(r.code, 2, "{name}: {}", r.stderr);
        assert!(
            r.stderr.contains(expect),
            "{name}: stderr was {:?}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{name}");
        assert!(r.stdout.is_empty(), "{name}: nothing on stdout");
    }
    let r = run(cmd(dir.path()).args([
        "route",
        "--event-name",
        "push",
        "--event-path",
        "missing.json",
    ]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("cannot read the event payload missing.json"),
        "{}",
        r.stderr
    );
}
