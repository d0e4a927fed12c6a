//! `run`, the Action's entry point, through the real binary with the runner's files:
//! step outputs, the job summary and the JSON report, for run/ignore/refuse decisions.

use crate::support;

use serde_json::Value;
use support::{cmd, git, output, parse_outputs, pull_request, run};

struct Runner {
    dir: tempfile::TempDir,
}

impl Runner {
    fn new(config: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("repo")).unwrap();
        if let Some(c) = config {
            std::fs::write(dir.path().join("repo/.llm-team.yml"), c).unwrap();
        }
        Runner { dir }
    }

    fn run(&self, event: &str, payload: &Value, extra: &[(&str, &str)]) -> support::Run {
        let d = self.dir.path();
        std::fs::write(d.join("event.json"), payload.to_string()).unwrap();
        let mut c = cmd(d);
        c.arg("run")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_EVENT_PATH", d.join("event.json"))
            .env("GITHUB_WORKSPACE", d.join("repo"))
            .env("GITHUB_OUTPUT", d.join("output"))
            .env("GITHUB_STEP_SUMMARY", d.join("summary"))
            .env("RUNNER_TEMP", d);
        for (k, v) in extra {
            c.env(k, v);
        }
        run(&mut c)
    }

    fn outputs(&self) -> Vec<(String, String)> {
        parse_outputs(&std::fs::read_to_string(self.dir.path().join("output")).unwrap_or_default())
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("summary")).unwrap_or_default()
    }

    fn report(&self) -> Value {
        let path = output(&self.outputs(), "report")
            .expect("report output")
            .to_string();
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }
}

#[test]
fn disabled_mode_routes_reports_and_succeeds() {
    let r = Runner::new(None);
    let res = r.run(
        "pull_request",
        &pull_request("opened", 12, false, false),
        &[("CODEX_MODE", "disabled")],
    );
    assert_eq!(res.code, 0, "{}", res.stderr);
    let out = r.outputs();
    assert_eq!(output(&out, "role"), Some("reviewer"));
    assert_eq!(output(&out, "decision"), Some("ignore"));
    assert_eq!(output(&out, "pr-number"), Some("12"));
    assert_eq!(output(&out, "task-id"), Some(""));
    assert_eq!(output(&out, "verdict"), Some(""));
    let summary = r.summary();
    assert!(summary.contains("| Role | reviewer |"), "{summary}");
    assert!(summary.contains("mode is disabled"), "{summary}");
    let report = r.report();
    assert_eq!(report["outcome"], "ignored");
    assert_eq!(report["routing"]["role"], "reviewer");
    assert_eq!(report["event"]["name"], "pull_request");
    assert_eq!(report["event"]["action"], "opened");
    assert_eq!(report["event"]["repository"], "octo/app");
}

#[test]
fn a_role_that_cannot_run_here_says_so_with_exit_2() {
    let r = Runner::new(None);
    let push = serde_json::json!({"ref": "refs/heads/main", "commits": [{"modified": ["docs/PRD.md"]}],
                                  "repository": {"full_name": "octo/app", "default_branch": "main"}});
    let res = r.run("push", &push, &[("LLM_PLANNER_MODEL", "none")]);
    assert_eq!(res.code, 2);
    assert!(
        res.stderr.contains("the planner needs a model")
            && res.stderr.contains("LLM_PLANNER_MODEL"),
        "{}",
        res.stderr
    );
    assert!(
        res.stderr.contains("::error::the planner needs a model"),
        "annotated in Actions: {}",
        res.stderr
    );
    assert!(res.stderr.contains("::group::codex-orchestrator: planner"));
    assert_eq!(output(&r.outputs(), "role"), Some("planner"));
    assert_eq!(output(&r.outputs(), "decision"), Some("run"));
    assert_eq!(r.report()["outcome"], "not_implemented");
}

#[test]
fn refused_events_stay_refused_even_with_an_explicit_role() {
    let r = Runner::new(None);
    let res = r.run(
        "pull_request_target",
        &pull_request("opened", 3, false, false),
        &[("CODEX_ROLE", "reviewer")],
    );
    assert_eq!(res.code, 2);
    assert!(res.stderr.contains("pull_request_target"), "{}", res.stderr);
    assert_eq!(output(&r.outputs(), "decision"), Some("refuse"));
    assert_eq!(output(&r.outputs(), "role"), Some("none"));
    assert_eq!(r.report()["outcome"], "refused");
}

#[test]
fn explicit_role_and_flags_fill_the_routing() {
    let r = Runner::new(Some("mode: disabled\n"));
    let res = r.run(
        "workflow_dispatch",
        &serde_json::json!({"inputs": {}}),
        &[
            ("CODEX_ROLE", "develop"),
            ("CODEX_TASK", "t-0007"),
            ("CODEX_BOOST", "true"),
        ],
    );
    assert_eq!(res.code, 0, "{}", res.stderr);
    assert_eq!(output(&r.outputs(), "role"), Some("developer"));
    assert_eq!(output(&r.outputs(), "task-id"), Some("T-0007"));
    assert_eq!(r.report()["routing"]["boost"], true);

    let res = r.run(
        "workflow_dispatch",
        &serde_json::json!({"inputs": {}}),
        &[("CODEX_ROLE", "deployer")],
    );
    assert_eq!(res.code, 2);
    assert!(
        res.stderr.contains("unknown role \"deployer\""),
        "{}",
        res.stderr
    );
    let res = r.run(
        "workflow_dispatch",
        &serde_json::json!({"inputs": {}}),
        &[("CODEX_TASK", "$(id)")],
    );
    assert_eq!(res.code, 2);
    assert!(res.stderr.contains("must be a task id"), "{}", res.stderr);
}

#[test]
fn outputs_survive_values_with_eof_and_newlines() {
    let r = Runner::new(None);
    let weird = r.dir.path().join("EOF\nrole<<EOF\nplanner\nEOF\n.json");
    let res = r.run(
        "pull_request",
        &pull_request("opened", 1, false, false),
        &[
            ("CODEX_REPORT", weird.to_str().unwrap()),
            ("CODEX_MODE", "disabled"),
        ],
    );
    assert_eq!(res.code, 0, "{}", res.stderr);
    let out = r.outputs();
    assert_eq!(output(&out, "role"), Some("reviewer"), "{out:?}");
    assert_eq!(output(&out, "report"), Some(weird.to_str().unwrap()));
    assert_eq!(out.len(), 6, "exactly the six outputs: {out:?}");
    assert!(weird.exists());
}

#[test]
fn no_event_outside_actions_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let res = run(cmd(dir.path()).arg("run"));
    assert_eq!(res.code, 2);
    assert!(
        res.stderr.contains("GITHUB_EVENT_NAME is not set"),
        "{}",
        res.stderr
    );
}

#[test]
fn version_and_help_document_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let v = run(cmd(dir.path()).arg("--version"));
    assert_eq!(
        (v.code, v.stdout.trim()),
        (0, concat!("codex-orchestrator ", env!("CARGO_PKG_VERSION")))
    );
    let h = run(cmd(dir.path()).arg("--help"));
    assert!(
        h.stdout.contains("Exit codes:") && h.stdout.contains("2  usage or configuration error")
    );
    assert!(
        h.stdout
            .contains("Turn the PRD (project.prd_path) into task files")
    );
    let bad = run(cmd(dir.path()).arg("--frobnicate"));
    assert_eq!(bad.code, 2);
}

#[test]
fn empty_codex_variables_count_as_unset() {
    let r = Runner::new(Some("mode: disabled\n"));
    let empty: Vec<(&str, &str)> = [
        "CODEX_BOOST",
        "CODEX_DRY_RUN",
        "CODEX_MODE",
        "CODEX_TASK",
        "CODEX_PR",
        "CODEX_ROLE",
        "CODEX_CONFIG",
        "CODEX_REPO_DIR",
        "CODEX_REPORT",
    ]
    .into_iter()
    .map(|k| (k, ""))
    .collect();
    let dispatch = serde_json::json!({"inputs": {"role": "reviewer", "pr": "4"}});
    let res = r.run("workflow_dispatch", &dispatch, &empty);
    assert_eq!(res.code, 0, "{}", res.stderr);
    assert_eq!(output(&r.outputs(), "role"), Some("reviewer"));
    assert_eq!(
        output(&r.outputs(), "decision"),
        Some("ignore"),
        "the file's mode: disabled still applies"
    );
}

#[test]
fn a_pull_request_cannot_change_the_configuration_it_is_routed_by() {
    let r = Runner::new(None);
    let repo = r.dir.path().join("repo");
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join(".llm-team.yml"), "project:\n  name: app\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    let base = git(&repo, &["rev-parse", "HEAD"]);
    // The PR's head (what the runner checked out) turns the team off for itself.
    std::fs::write(
        repo.join(".llm-team.yml"),
        "mode: disabled\nroles:\n  reviewer:\n    enabled: false\n",
    )
    .unwrap();
    git(&repo, &["commit", "-q", "-am", "disable the reviewer"]);
    let mut payload = pull_request("synchronize", 9, false, false);
    payload["pull_request"]["base"]["sha"] = serde_json::json!(base);

    let res = r.run("pull_request", &payload, &[("CODEX_MODE", "")]);
    assert_eq!(
        output(&r.outputs(), "role"),
        Some("reviewer"),
        "{}",
        res.stderr
    );
    assert_eq!(
        output(&r.outputs(), "decision"),
        Some("run"),
        "the base config decides: {}",
        res.stderr
    );

    // Without the base commit in the checkout, the PR's copy is not trusted either.
    let mut unknown = payload.clone();
    unknown["pull_request"]["base"]["sha"] = serde_json::json!("f".repeat(40));
    let res = r.run("pull_request", &unknown, &[]);
    assert_eq!(
        output(&r.outputs(), "decision"),
        Some("run"),
        "{}",
        res.stderr
    );
    assert!(
        res.stderr
            .contains("::warning::cannot read .llm-team.yml at the pull request's base"),
        "{}",
        res.stderr
    );

    // Other events read the checkout as it is (on schedule it is the default branch).
    let res = r.run(
        "workflow_dispatch",
        &serde_json::json!({"inputs": {"role": "reviewer", "pr": "9"}}),
        &[],
    );
    assert_eq!(
        output(&r.outputs(), "decision"),
        Some("ignore"),
        "{}",
        res.stderr
    );
}
