//! `demo` end to end (the real binary, no network, an empty PATH so nothing is shelled out: no
//! git, no python): the loop closes with three merged pull requests (seed, developer,
//! integration), one review comment, and T-0001 `done` on main, checked with the `git` CLI on
//! the forge's bare repository. A second run resumes without writing anything; the review
//! command works on the demo's forge; a directory that is not a forge is refused.

use crate::support;
use crate::support::fake_ollama;

use std::path::Path;
use std::process::Command;

use codex_orchestrator::forge::local::LocalForge;
use fake_ollama::{ChatReply, FakeModel, FakeOllama};
use support::{cmd, run};

fn bare_git(forge: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .arg("--git-dir")
        .arg(forge.join("repo.git"))
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The demo with a setting from the shell that must not leak into its sandbox: a reviewer model
/// with no server behind it.
fn demo(tmp: &Path, forge: &Path) -> support::Run {
    let mut c = cmd(tmp);
    c.env("PATH", "")
        .env("LLM_REVIEWER_MODEL", "qwen3:32b")
        .arg("demo")
        .arg("--dir")
        .arg(forge);
    run(&mut c)
}

#[test]
fn the_demo_closes_the_loop_and_resumes_without_duplicates() {
    let tmp = tempfile::tempdir().unwrap();
    let forge = tmp.path().join("forge");
    let r = demo(tmp.path(), &forge);
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    for step in [
        "Taskmaster",
        "Developer",
        "Reviewer",
        "Integrator",
        "Merge #3",
    ] {
        assert!(
            r.stdout.contains(step),
            "{step} missing from:\n{}",
            r.stdout
        );
    }
    assert!(
        r.stdout.contains("T-0001 is `done` on `main`"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("allow_workflow_setup: true"),
        "the opt-in is explained"
    );

    let records = LocalForge::open(&forge).unwrap().pull_records().unwrap();
    let heads: Vec<(&str, bool)> = records
        .iter()
        .map(|p| (p.head_ref.as_str(), p.merged))
        .collect();
    assert_eq!(
        heads,
        [
            ("taskmaster/seed-T-0001", true),
            ("feature/T-0001-initialize-basic-ci-for-python", true),
            ("integrate/T-0001", true)
        ],
        "three pull requests, all merged"
    );
    let review: Vec<_> = records[1]
        .comments
        .iter()
        .filter(|c| c.body.contains("<!-- codex-orchestrator:reviewer -->"))
        .collect();
    assert_eq!(review.len(), 1, "one review comment on the developer's PR");

    let tasks = bare_git(&forge, &["ls-tree", "--name-only", "main", "tasks/"]);
    let task = tasks
        .lines()
        .find(|l| l.starts_with("tasks/T-0001-") && l.ends_with(".md"))
        .unwrap_or_else(|| panic!("no T-0001 file on main: {tasks}"));
    let text = bare_git(&forge, &["show", &format!("main:{task}")]);
    assert!(text.contains("\nstatus: done\n"), "{text}");
    bare_git(&forge, &["cat-file", "-e", "main:.github/workflows/ci.yml"]);
    assert_eq!(
        bare_git(&forge, &["rev-list", "--count", "main"]),
        "4",
        "the import and three squash merges"
    );
    bare_git(&forge, &["fsck", "--strict"]);

    // Again: resumes, writes nothing.
    let main = bare_git(&forge, &["rev-parse", "main"]);
    let files_before = std::fs::read_to_string(forge.join("pulls/2.json")).unwrap();
    let again = demo(tmp.path(), &forge);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(
        again.stdout.contains("Resuming the demo"),
        "{}",
        again.stdout
    );
    assert!(!again.stdout.contains("wrote: PR"), "{}", again.stdout);
    assert_eq!(
        LocalForge::open(&forge)
            .unwrap()
            .pull_records()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(bare_git(&forge, &["rev-parse", "main"]), main);
    assert_eq!(
        std::fs::read_to_string(forge.join("pulls/2.json")).unwrap(),
        files_before,
        "the review comment is not posted twice"
    );

    // The reviewer by hand, on the demo's forge.
    let mut c = cmd(tmp.path());
    c.env("PATH", "")
        .arg("--forge")
        .arg(format!("local:{}", forge.display()))
        .args(["review", "--pr", "1"]);
    let r = run(&mut c);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let pr1 = &LocalForge::open(&forge).unwrap().pull_records().unwrap()[0];
    assert_eq!(pr1.comments.len(), 1, "the review comment on #1");
}

#[test]
fn a_directory_that_is_not_a_forge_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("stuff");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine\n").unwrap();
    let r = demo(tmp.path(), &dir);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("is not empty"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine\n"
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "nothing written"
    );
}

fn ollama(models: Vec<FakeModel>) -> (tokio::runtime::Runtime, FakeOllama) {
    FakeOllama::serve(models)
}

fn demo_with_ollama(url: &str) -> (tempfile::TempDir, support::Run) {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = cmd(tmp.path());
    c.env("OLLAMA_BASE_URL", url)
        .arg("demo")
        .arg("--dir")
        .arg(tmp.path().join("forge"));
    let r = run(&mut c);
    (tmp, r)
}

#[test]
fn a_model_that_answers_reviews_and_one_that_does_not_is_skipped() {
    let (_rt, fake) = ollama(fake_ollama::default_models());
    fake.script([
        ChatReply::text(
            &serde_json::json!({"tasks": [{
                "title": "Add a command line entry point",
                "type": "feature", "priority": "P2", "depends_on": [],
                "acceptance": ["`python -m src.app Ada` prints Hello, Ada!"],
                "files": ["src/app.py"], "estimate": "2h"
            }]})
            .to_string(),
        ),
        ChatReply::text(
            &serde_json::json!({
                "summary": "Adds CI.",
                "verdict": "comment",
                "criteria": [],
                "findings": []
            })
            .to_string(),
        ),
    ]);
    let (tmp, r) = demo_with_ollama(&fake.base_url);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("answers and has qwen3:32b"),
        "{}",
        r.stdout
    );
    assert_eq!(
        fake.chat_requests().len(),
        2,
        "the planner and the reviewer asked the model once each"
    );
    let records = LocalForge::open(&tmp.path().join("forge"))
        .unwrap()
        .pull_records()
        .unwrap();
    let plan = records
        .iter()
        .find(|p| p.head_ref.starts_with("plan/"))
        .expect("the planner opened its pull request");
    assert!(!plan.merged, "the plan is a proposal: it stays open");
    assert!(
        plan.body.contains("Add a command line entry point"),
        "{}",
        plan.body
    );
    let developed = records
        .iter()
        .find(|p| p.head_ref.starts_with("feature/T-0001-"))
        .expect("the developer's pull request");
    assert!(
        developed.comments[0].body.contains("qwen3:32b"),
        "{}",
        developed.comments[0].body
    );

    // A server without the reviewer's model, and no server at all: deterministic, said why.
    let (_rt2, small) = ollama(vec![FakeModel::new(
        "tiny:latest",
        "llama",
        2048,
        &["completion"],
    )]);
    let (_tmp, r) = demo_with_ollama(&small.base_url);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("answers but has no qwen3:32b"),
        "{}",
        r.stdout
    );
    assert_eq!(small.chat_requests().len(), 0);
    let (_tmp, r) = demo_with_ollama("http://127.0.0.1:9");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("did not answer"), "{}", r.stdout);
}

#[test]
fn a_dry_run_or_observe_demo_prints_what_it_would_write_and_opens_no_pull_request() {
    for (flag, env) in [("--dry-run", None), ("", Some(("CODEX_MODE", "observe")))] {
        let tmp = tempfile::tempdir().unwrap();
        let forge = tmp.path().join("forge");
        let mut c = cmd(tmp.path());
        c.env("PATH", "").arg("demo").arg("--dir").arg(&forge);
        if !flag.is_empty() {
            c.arg(flag);
        }
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        let r = run(&mut c);
        assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
        assert!(
            r.stdout
                .contains("Pull request `taskmaster/seed-T-0001` → `main`")
                && r.stdout.contains("the demo stops here"),
            "{}",
            r.stdout
        );
        let records = LocalForge::open(&forge).unwrap().pull_records().unwrap();
        assert!(records.is_empty(), "{flag}: no pull request: {records:?}");
        let branches = bare_git(&forge, &["branch", "--format=%(refname:short)"]);
        assert_eq!(branches, "main", "{flag}: no branch besides main");
        assert!(!r.stdout.contains("0000000000"), "no placeholder shas");
    }
}

#[test]
fn an_openai_compatible_server_is_used_too() {
    let (_rt, fake) = ollama(fake_ollama::default_models());
    fake.openai_only();
    fake.llama_cpp(fake_ollama::LlamaCpp {
        n_ctx: 32768,
        tokenize: true,
        refuse_formats: Vec::new(),
        predicted_per_second: 5.0,
    });
    fake.script_openai([
        ChatReply::text(
            &serde_json::json!({"tasks": [{
                "title": "Add a command line entry point",
                "type": "feature", "priority": "P2", "depends_on": [],
                "acceptance": ["`python -m src.app Ada` prints Hello, Ada!"],
                "files": ["src/app.py"], "estimate": "2h"
            }]})
            .to_string(),
        ),
        ChatReply::text(
            &serde_json::json!({
                "summary": "Adds CI.", "verdict": "comment", "criteria": [], "findings": []
            })
            .to_string(),
        ),
    ]);
    let (_tmp, r) = demo_with_ollama(&fake.base_url);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(
            "answers and has qwen3:32b; the planner and the reviewer use it (OpenAI-compatible API)"
        ),
        "{}",
        r.stdout
    );
    assert_eq!(fake.openai_requests().len(), 2, "{}", r.stdout);
    assert_eq!(fake.hits("/api/chat"), 0);
}
