//! scripts/run.sh, the step of action.yml that runs the binary, tested without a runner: a
//! stand-in binary records the arguments and environment it was started with, so these tests
//! check how the action's inputs become the binary's variables (non-empty inputs win, empty ones
//! leave the job's environment alone), that bad inputs are refused before anything runs, and
//! that hostile input text is passed on as data and never executed.

use crate::action_support as support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

struct Stand {
    dir: tempfile::TempDir,
}

impl Stand {
    fn new() -> Stand {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("fake-codex-orchestrator");
        std::fs::write(
            &bin,
            "#!/bin/sh\nprintf '%s\\n' \"$@\" >\"$CO_TEST_DIR/args\"\nenv -0 >\"$CO_TEST_DIR/env\"\n",
        )
        .unwrap();
        support::output(Command::new("chmod").arg("0755").arg(&bin));
        Stand { dir }
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("fake-codex-orchestrator")
    }

    /// Runs scripts/run.sh with only PATH, the stand-in and `vars`; returns code, stderr and the
    /// environment the stand-in saw (empty when it did not run).
    fn run(&self, vars: &[(&str, &str)]) -> (i32, String, BTreeMap<String, String>) {
        let _ = std::fs::remove_file(self.dir.path().join("env"));
        let mut cmd = Command::new("bash");
        cmd.arg(support::repo().join("scripts/run.sh"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("CO_BINARY", self.bin())
            .env("CO_TEST_DIR", self.dir.path())
            .current_dir(self.dir.path());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let (code, _, stderr) = support::output(&mut cmd);
        let env = std::fs::read(self.dir.path().join("env"))
            .map(|raw| {
                String::from_utf8_lossy(&raw)
                    .split('\0')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        if code == 0 {
            let args = std::fs::read_to_string(self.dir.path().join("args")).unwrap();
            assert_eq!(args, "run\n", "run.sh must start `codex-orchestrator run`");
        }
        (code, stderr, env)
    }
}

#[test]
fn defaults_run_auto_without_boost_or_dry_run() {
    let s = Stand::new();
    let (code, stderr, env) = s.run(&[
        ("INPUT_ROLE", "auto"),
        ("INPUT_BOOST", "false"),
        ("INPUT_DRY_RUN", "false"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(env.get("CODEX_ROLE").map(String::as_str), Some("auto"));
    assert_eq!(env.get("CODEX_BOOST").map(String::as_str), Some("false"));
    for unset in [
        "CODEX_DRY_RUN",
        "CODEX_MODE",
        "CODEX_CONFIG",
        "CODEX_TASK",
        "CODEX_PR",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "OLLAMA_BASE_URL",
        "LLM_REVIEWER_MODEL",
    ] {
        assert!(!env.contains_key(unset), "{unset} should be unset: {env:?}");
    }
}

#[test]
fn inputs_map_to_the_binarys_variables() {
    let s = Stand::new();
    let (code, stderr, env) = s.run(&[
        ("INPUT_ROLE", "Reviewer"),
        ("INPUT_BOOST", "TRUE"),
        ("INPUT_DRY_RUN", "true"),
        ("INPUT_MODE", "observe"),
        ("INPUT_CONFIG", "ci/team.yml"),
        ("INPUT_TASK", "T-12"),
        ("INPUT_PR", "42"),
        ("INPUT_GITHUB_TOKEN", "ghs_example"),
        ("INPUT_OLLAMA_BASE_URL", "http://ollama.internal:11434"),
        ("INPUT_PLANNER_MODEL", "p:1"),
        ("INPUT_TASKMASTER_MODEL", "t:1"),
        ("INPUT_DEVELOPER_MODEL", "d:1"),
        ("INPUT_REVIEWER_MODEL", "r:1"),
        ("INPUT_INTEGRATOR_MODEL", "i:1"),
        ("INPUT_BOOST_MODEL", "b:1"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let want = [
        ("CODEX_ROLE", "reviewer"),
        ("CODEX_BOOST", "true"),
        ("CODEX_DRY_RUN", "true"),
        ("CODEX_MODE", "observe"),
        ("CODEX_CONFIG", "ci/team.yml"),
        ("CODEX_TASK", "T-12"),
        ("CODEX_PR", "42"),
        ("GITHUB_TOKEN", "ghs_example"),
        ("GH_TOKEN", "ghs_example"),
        ("OLLAMA_BASE_URL", "http://ollama.internal:11434"),
        ("LLM_PLANNER_MODEL", "p:1"),
        ("LLM_TASKMASTER_MODEL", "t:1"),
        ("LLM_DEVELOPER_MODEL", "d:1"),
        ("LLM_REVIEWER_MODEL", "r:1"),
        ("LLM_INTEGRATOR_MODEL", "i:1"),
        ("LLM_BOOST_MODEL", "b:1"),
    ];
    for (k, v) in want {
        assert_eq!(env.get(k).map(String::as_str), Some(v), "{k}: {env:?}");
    }
    assert!(
        !env.contains_key("INPUT_GITHUB_TOKEN"),
        "the token input must not linger under its input name"
    );
}

#[test]
fn empty_inputs_keep_the_jobs_environment_and_drop_empty_codex_variables() {
    let s = Stand::new();
    let (code, stderr, env) = s.run(&[
        ("INPUT_ROLE", "auto"),
        ("INPUT_REVIEWER_MODEL", ""),
        ("INPUT_OLLAMA_BASE_URL", ""),
        ("LLM_REVIEWER_MODEL", "from-the-job"),
        ("OLLAMA_BASE_URL", "http://from-the-job:11434"),
        ("CODEX_MODE", "disabled"),
        // Empty CODEX_* variables would read as flags without a value; they must go.
        ("CODEX_CONFIG", ""),
        ("CODEX_TASK", ""),
        ("CODEX_DRY_RUN", "true"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        env.get("LLM_REVIEWER_MODEL").map(String::as_str),
        Some("from-the-job")
    );
    assert_eq!(
        env.get("OLLAMA_BASE_URL").map(String::as_str),
        Some("http://from-the-job:11434")
    );
    assert_eq!(env.get("CODEX_MODE").map(String::as_str), Some("disabled"));
    assert_eq!(
        env.get("CODEX_DRY_RUN").map(String::as_str),
        Some("true"),
        "dry-run: false must not switch a job-level dry run off"
    );
    assert!(!env.contains_key("CODEX_CONFIG"), "{env:?}");
    assert!(!env.contains_key("CODEX_TASK"), "{env:?}");
}

#[test]
fn bad_inputs_are_refused_before_the_binary_runs() {
    let s = Stand::new();
    let cases: &[(&str, &str)] = &[
        ("INPUT_ROLE", "admin"),
        ("INPUT_ROLE", "reviewer; rm -rf /"),
        ("INPUT_BOOST", "yes"),
        ("INPUT_DRY_RUN", "1"),
        ("INPUT_MODE", "yolo"),
        ("INPUT_PR", "12 || true"),
        ("INPUT_TASK", "../../etc/passwd"),
    ];
    for &(k, v) in cases {
        let (code, stderr, env) = s.run(&[(k, v)]);
        assert_eq!(code, 2, "{k}={v:?} must be refused: {stderr}");
        assert!(stderr.contains("::error"), "{k}={v:?}: {stderr}");
        assert!(env.is_empty(), "{k}={v:?}: the binary must not run");
    }
}

#[test]
fn hostile_text_in_free_form_inputs_is_data() {
    let s = Stand::new();
    let canary = s.dir.path().join("pwned");
    let hostile = format!(
        "a\"; touch {0}; \" $(touch {0}) `touch {0}`",
        canary.display()
    );
    let (code, stderr, env) = s.run(&[
        ("INPUT_ROLE", "auto"),
        ("INPUT_REVIEWER_MODEL", &hostile),
        ("INPUT_OLLAMA_BASE_URL", &hostile),
        ("INPUT_CONFIG", &hostile),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!canary.exists(), "hostile input was executed");
    assert_eq!(env.get("LLM_REVIEWER_MODEL"), Some(&hostile));
    assert_eq!(env.get("OLLAMA_BASE_URL"), Some(&hostile));
    assert_eq!(env.get("CODEX_CONFIG"), Some(&hostile));
}

#[test]
fn a_missing_binary_is_an_error() {
    let (code, _, stderr) = support::output(
        Command::new("bash")
            .arg(support::repo().join("scripts/run.sh"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("CO_BINARY", "/nonexistent/codex-orchestrator"),
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("::error"), "{stderr}");
}

#[test]
fn an_input_cannot_smuggle_a_workflow_command_into_the_log() {
    let s = Stand::new();
    let (code, stderr, _) = s.run(&[("INPUT_ROLE", "x\n::add-mask::oops\r\n::error::injected")]);
    assert_eq!(code, 2);
    let commands: Vec<&str> = stderr.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), 1, "one ::error line expected: {stderr:?}");
    assert!(commands[0].starts_with("::error title=codex-orchestrator::"));
}
