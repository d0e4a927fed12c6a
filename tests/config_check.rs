//! `config check` through the real binary: valid, invalid and hostile `.llm-team.yml` files,
//! unknown keys, layering (file < env < flags) and secret redaction.

use crate::support;

use serde_json::Value;
use support::{cmd, run};

/// The seed's `.llm-team.yml`, verbatim.
const SEED: &str = r#"project:
  name: sample-python-app
  protected_paths: [".github/", "infra/", "secrets/"]
workflow:
  branch_prefix: "feature/"
  merge_strategy: "squash"
  dry_run: false
roles:
  planner: {enabled: true}
  taskmaster: {enabled: true}
  developer: {enabled: true}
  reviewer: {enabled: true}
  integrator: {enabled: true}
tasks:
  dir: "tasks"
  states: ["queued","in_review","ready_for_integration","done","blocked"]
checks:
  require_tests: true
  coverage_min: 0
"#;

fn check(dir: &std::path::Path, yaml: Option<&str>, env: &[(&str, &str)]) -> support::Run {
    if let Some(y) = yaml {
        std::fs::write(dir.join(".llm-team.yml"), y).unwrap();
    }
    let mut c = cmd(dir);
    c.args(["config", "check", "--json"]);
    for (k, v) in env {
        c.env(k, v);
    }
    run(&mut c)
}

fn json(r: &support::Run) -> Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", r.stdout, r.stderr))
}

#[test]
fn the_seed_configuration_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let r = check(dir.path(), Some(SEED), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(v["config"]["project"]["name"], "sample-python-app");
    assert_eq!(v["config"]["workflow"]["merge_strategy"], "squash");
    assert_eq!(v["config"]["roles"]["reviewer"]["model"], "qwen3:32b");
    assert_eq!(
        v["config"]["roles"]["developer"]["model"],
        "qwen3-coder:latest"
    );
    assert_eq!(v["config"]["roles"]["integrator"]["model"], "none");
    assert_eq!(v["config"]["mode"], "pr");
    assert!(v["warnings"].as_array().unwrap().is_empty());
}

#[test]
fn missing_file_means_defaults_but_a_named_file_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let r = check(dir.path(), None, &[]);
    assert_eq!(r.code, 0);
    assert_eq!(json(&r)["file"], Value::Null);
    let r = run(cmd(dir.path()).args(["config", "check", "--config", "nope.yml"]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("nope.yml") && r.stderr.contains("cannot read"),
        "{}",
        r.stderr
    );
    for empty in ["", "# only a comment\n", "---\n...\n", "~\n"] {
        let r = check(dir.path(), Some(empty), &[]);
        assert_eq!(r.code, 0, "{empty:?}: {}", r.stderr);
    }
}

#[test]
fn wrong_types_name_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "roles:\n  reviewer:\n    temperature: hot\n",
            ".llm-team.yml:3:18: roles.reviewer.temperature: invalid floating point",
        ),
        (
            "mode: loud\n",
            ".llm-team.yml:1:7: mode: unknown variant `loud`, expected one of observe, pr, disabled",
        ),
        (
            "project:\n  protected_paths: .github/\n",
            ".llm-team.yml:2:20: project.protected_paths",
        ),
        (
            "workflow:\n  merge_strategy: fast-forward\n",
            "workflow.merge_strategy: unknown variant",
        ),
        (
            "checks:\n  require_tests: maybe\n",
            "checks.require_tests: invalid boolean",
        ),
        ("- a\n- b\n", ".llm-team.yml:1:1"),
        ("project:\n  name: x\n  name: y\n", "duplicate mapping key"),
        ("project: [unclosed\n", ".llm-team.yml:"),
    ];
    for (yaml, expect) in cases {
        let r = check(dir.path(), Some(yaml), &[]);
        assert_eq!(r.code, 2, "{yaml:?}");
        assert!(
            r.stderr.contains(expect),
            "{yaml:?}: expected {expect:?} in\n{}",
            r.stderr
        );
        assert!(r.stdout.is_empty());
    }
}

#[test]
fn semantic_errors_are_all_listed_with_lines() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "workflow:\n  branch_prefix: \"feat ure/\"\nroles:\n  developer:\n    temperature: 3.5\ntasks:\n  states: [queued, done]\nproject:\n  protected_paths: [\"../etc\", \"a/[b\"]\n";
    let r = check(dir.path(), Some(yaml), &[]);
    assert_eq!(r.code, 2);
    for expect in [
        ".llm-team.yml:2: workflow.branch_prefix",
        ".llm-team.yml:5: roles.developer.temperature: 3.5 is outside",
        ".llm-team.yml:7: tasks.states: must include \"in_review\"",
        "project.protected_paths: entry 0 (\"../etc\")",
        "entry 1 (\"a/[b\") is not a valid glob",
    ] {
        assert!(
            r.stderr.contains(expect),
            "expected {expect:?} in\n{}",
            r.stderr
        );
    }
}

#[test]
fn hostile_files_are_refused_not_expanded() {
    let dir = tempfile::tempdir().unwrap();
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
        .iter()
        .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
    {
        let refs = vec![format!("*{prev}"); 9].join(",");
        bomb.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    let started = std::time::Instant::now();
    let r = check(dir.path(), Some(&bomb), &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("budget breached"), "{}", r.stderr);
    assert!(r.stderr.contains("alias/anchor bomb"), "{}", r.stderr);
    // Not a timing target: only a guard that the bomb was not expanded (9^9 nodes would take minutes).
    assert!(started.elapsed().as_secs() < 30);

    let big = format!("project:\n  name: x\n#{}\n", "x".repeat(10 * 1024 * 1024));
    let r = check(dir.path(), Some(&big), &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("must be under 1 MiB"), "{}", r.stderr);

    let deep = format!("{}1{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let r = check(dir.path(), Some(&deep), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stderr.contains("overflow"), "{}", r.stderr);

    std::fs::write(
        dir.path().join(".llm-team.yml"),
        b"project:\n  name: \xff\n",
    )
    .unwrap();
    let r = run(cmd(dir.path()).args(["config", "check"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not UTF-8"), "{}", r.stderr);
}

#[test]
fn unknown_keys_warn_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "roles:\n  reviewer:\n    enabeld: false\nworkflow:\n  branch_prefx: x/\nextra: 1\nllm:\n  base_ur: http://x:11434\n";
    let r = check(dir.path(), Some(yaml), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let warnings: Vec<String> = json(&r)["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect();
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    assert!(
        warnings[0].starts_with(".llm-team.yml:3: roles.reviewer.enabeld: unknown key"),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("did you mean `roles.reviewer.enabled`?"));
    assert!(warnings[1].contains("did you mean `workflow.branch_prefix`?"));
    assert!(warnings[2].contains("known keys here: "), "{warnings:?}");
    assert!(
        warnings[3].starts_with(".llm-team.yml:8: llm.base_ur"),
        "{warnings:?}"
    );
    assert!(
        warnings[3].contains("did you mean `llm.base_url`?"),
        "{warnings:?}"
    );

    // In Actions the warnings become annotations on the file and line.
    let mut c = cmd(dir.path());
    c.args(["config", "check"]).env("GITHUB_ACTIONS", "true");
    let r = run(&mut c);
    assert!(r.stderr.contains("::warning file=.llm-team.yml,line=3,title=codex-orchestrator configuration::roles.reviewer.enabeld"), "{}", r.stderr);
}

#[test]
fn env_and_flags_override_the_file_and_secrets_stay_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "mode: observe\nroles:\n  reviewer:\n    model: llama3.2:latest\nllm:\n  base_url: http://file:11434\n";
    let token = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
    let env = [
        ("OLLAMA_BASE_URL", "http://aether:11434/"),
        ("LLM_REVIEWER_MODEL", "qwen3:32b"),
        ("LLM_BOOST_MODEL", "gpt-oss:20b"),
        ("LLM_DEVELOPER_MODEL", ""),
        ("GITHUB_TOKEN", token),
        ("DEFAULT_BRANCH", "trunk"),
        ("CODEX_MODE", "pr"),
    ];
    let r = check(dir.path(), Some(yaml), &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(v["config"]["llm"]["base_url"], "http://aether:11434");
    assert_eq!(v["config"]["roles"]["reviewer"]["model"], "qwen3:32b");
    assert_eq!(
        v["config"]["roles"]["developer"]["model"], "qwen3-coder:latest",
        "empty env = unset"
    );
    assert_eq!(v["config"]["llm"]["boost_model"], "gpt-oss:20b");
    assert_eq!(v["config"]["project"]["default_branch"], "trunk");
    assert_eq!(v["config"]["mode"], "pr", "the flag's env beats the file");
    assert_eq!(v["config"]["github"]["token"], "***");
    assert!(
        v["origins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["key"] == "llm.base_url" && o["source"] == "env OLLAMA_BASE_URL")
    );

    let mut c = cmd(dir.path());
    c.args(["config", "check", "--mode", "disabled", "--dry-run"])
        .env("GITHUB_ACTIONS", "true");
    for (k, val) in env {
        c.env(k, val);
    }
    let r = run(&mut c);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("mode: disabled") && r.stdout.contains("dry_run: true"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains(token), "the token must never be printed");
    assert!(
        r.stderr.contains(&format!("::add-mask::{token}")),
        "the token is masked in Actions"
    );

    let r = check(
        dir.path(),
        Some(yaml),
        &[("OLLAMA_BASE_URL", "aether:11434")],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(
            "env OLLAMA_BASE_URL: llm.base_url: \"aether:11434\" must be an http:// or https:// URL"
        ),
        "{}",
        r.stderr
    );
}
