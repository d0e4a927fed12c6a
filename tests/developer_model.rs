//! The Developer's model path end to end: the real binary on a sample Python repository, the
//! fake GitHub and the fake Ollama. A scripted SEARCH/REPLACE reply becomes one commit and one
//! pull request with the task `in_review`; failing tests are fed back and fixed; unsafe replies
//! are refused and nothing is committed; concurrent and killed runs make no second PR.

use crate::support;
use crate::support::fake_ollama;

use std::path::{Path, PathBuf};

use fake_ollama::{ChatReply, FakeOllama};
use serde_json::{Value, json};
use support::fake_github::FakeGitHub;
use support::{git, output, read_outputs, read_summary, run, runner_cmd, with_fake_github};

pub const MODEL: &str = "qwen3-coder:latest";
pub const BRANCH: &str = "feature/T-0002-add-a-farewell-function";
pub const TOKEN: &str = "ghs_faketoken000000000000000000000000000";

pub const APP: &str =
    "\"\"\"The sample app.\"\"\"\n\n\ndef greet(name):\n    return f\"Hello, {name}\"\n";
pub const TEST_APP: &str = "import unittest\n\nfrom src.app import greet\n\n\nclass GreetTest(unittest.TestCase):\n    def test_greet(self):\n        self.assertEqual(greet(\"Ada\"), \"Hello, Ada\")\n";
pub const T1: &str = "---\nid: T-0001\ntitle: Initialize basic CI for Python\ntype: chore\npriority: P0\ndepends_on: []\nstatus: done\nowner: unassigned\nestimate: 2h\nacceptance:\n  - \"CI runs the tests\"\nauto_policy: review_required\n---\n";
pub const T2: &str = "---\nid: T-0002\ntitle: Add a farewell function\ntype: feature\npriority: P1\ndepends_on: [T-0001]\nstatus: queued\nowner: unassigned\nestimate: 1h\nacceptance:\n  - \"farewell(name) returns 'Goodbye, <name>'\"\n  - \"a test covers farewell\"\nfiles: [src/app.py]\nauto_policy: review_required\n---\n\nThe app says hello; it should say goodbye too.\n";

/// A job directory: `repo/` is a git checkout of the sample app, `event.json` a dispatch.
pub struct Job {
    pub dir: tempfile::TempDir,
}

impl Job {
    pub fn new(extra_config: &str) -> Job {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let files: &[(&str, &str)] = &[
            ("README.md", "# sample-python-app\n"),
            (".gitignore", "__pycache__/\n"),
            ("requirements.txt", "\n"),
            ("src/__init__.py", ""),
            ("src/app.py", APP),
            ("tests/__init__.py", ""),
            ("tests/test_app.py", TEST_APP),
            ("tasks/T-0001-ci-setup.md", T1),
            ("tasks/T-0002-add-a-farewell-function.md", T2),
        ];
        for (p, c) in files {
            let path = repo.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, c).unwrap();
        }
        let config = format!(
            "project:\n  name: sample-python-app\nchecks:\n  test_command: \"python3 -m unittest discover -s tests -t . -q && env > \\\"$RUNNER_TEMP/test-env\\\"\"\ndeveloper:\n  review_workflow: llm-team-reviewer.yml\n{extra_config}"
        );
        std::fs::write(repo.join(".llm-team.yml"), config).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", repo.join("settings.cfg")).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-qm", "sample app"]);
        std::fs::write(
            dir.path().join("event.json"),
            r#"{"inputs": {"role": "developer"}}"#,
        )
        .unwrap();
        Job { dir }
    }

    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    pub fn command(&self, github: &FakeGitHub, ollama: &str) -> std::process::Command {
        let mut c = runner_cmd(self.dir.path(), "workflow_dispatch");
        with_fake_github(&mut c, &github.url)
            .env("LLM_DEVELOPER_MODEL", MODEL)
            .env("OLLAMA_BASE_URL", ollama)
            .env("MY_SERVICE_SECRET", "hunter2-hunter2");
        c
    }

    pub fn run(&self, github: &FakeGitHub, ollama: &str) -> support::Run {
        run(&mut self.command(github, ollama))
    }

    pub fn summary(&self) -> String {
        read_summary(self.dir.path())
    }
}

pub fn ollama() -> (tokio::runtime::Runtime, FakeOllama) {
    FakeOllama::serve(fake_ollama::default_models())
}

pub fn python() -> bool {
    let ok = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var_os("CI").is_some() {
        panic!("python3 is required by the developer tests under CI");
    }
    if !ok {
        support::loud_skip("python3 not found: the developer's test loop is not exercised");
    }
    ok
}

/// The farewell function, as SEARCH/REPLACE blocks (with prose around, as models write).
pub fn farewell_reply(goodbye: &str) -> String {
    format!(
        "Here is the change.\n\nsrc/app.py\n```python\n<<<<<<< SEARCH\ndef greet(name):\n    return f\"Hello, {{name}}\"\n=======\ndef greet(name):\n    return f\"Hello, {{name}}\"\n\n\ndef farewell(name):\n    return f\"{goodbye}, {{name}}\"\n>>>>>>> REPLACE\n```\n\ntests/test_app.py\n```python\n<<<<<<< SEARCH\nfrom src.app import greet\n=======\nfrom src.app import farewell, greet\n>>>>>>> REPLACE\n```\n\ntests/test_app.py\n```python\n<<<<<<< SEARCH\n        self.assertEqual(greet(\"Ada\"), \"Hello, Ada\")\n=======\n        self.assertEqual(greet(\"Ada\"), \"Hello, Ada\")\n\n    def test_farewell(self):\n        self.assertEqual(farewell(\"Ada\"), \"Goodbye, Ada\")\n>>>>>>> REPLACE\n```\n"
    )
}

pub fn commits_posted(github: &FakeGitHub) -> usize {
    github
        .writes()
        .iter()
        .filter(|w| w.path.ends_with("/git/commits"))
        .count()
}

/// The files of a branch that differ from `main`.
pub fn changed_on(github: &FakeGitHub, branch: &str) -> Vec<String> {
    github.with(|s| {
        let Some(head) = s.refs.get(branch) else {
            return Vec::new();
        };
        let main = s.files_at(&s.refs["main"]);
        let files = s.files_at(head);
        files
            .iter()
            .filter(|(p, v)| main.get(*p) != Some(*v))
            .map(|(p, _)| p.clone())
            .collect()
    })
}

pub fn assert_checkout_restored(repo: &Path) {
    assert_eq!(
        std::fs::read_to_string(repo.join("src/app.py")).unwrap(),
        APP
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("tests/test_app.py")).unwrap(),
        TEST_APP
    );
    assert_eq!(
        git(repo, &["status", "--porcelain"]),
        "",
        "the checkout is clean"
    );
}

#[test]
fn a_search_replace_reply_becomes_one_commit_and_one_pr_in_review() {
    if !python() {
        return;
    }
    let github = FakeGitHub::start();
    let (_rt, ollama) = ollama();
    ollama.script([ChatReply::text(&farewell_reply("Goodbye"))]);
    let job = Job::new("");
    let main_before = github.with(|s| s.refs["main"].clone());
    let r = job.run(&github, &ollama.base_url);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, job.summary());

    github.with(|s| {
        assert_eq!(
            s.refs["main"], main_before,
            "the default branch is untouched"
        );
        let app = s.file(BRANCH, "src/app.py").unwrap();
        assert!(
            app.contains("def farewell(name):\n    return f\"Goodbye, {name}\""),
            "{app}"
        );
        assert!(
            s.file(BRANCH, "tests/test_app.py")
                .unwrap()
                .contains("test_farewell")
        );
        let task = s
            .file(BRANCH, "tasks/T-0002-add-a-farewell-function.md")
            .unwrap();
        assert_eq!(task, T2.replace("status: queued", "status: in_review"));
        assert_eq!(s.pulls.len(), 1);
        let pr = &s.pulls[0];
        assert_eq!(pr.head, BRANCH);
        assert_eq!(pr.title, "T-0002: Add a farewell function");
        for needle in [
            "Task: T-0002",
            "- [ ] farewell(name) returns 'Goodbye, <name>'",
            "passed in",
            "after 0 fix round(s)",
            "**Model:** qwen3-coder:latest",
            "`src/app.py`",
        ] {
            assert!(pr.body.contains(needle), "{needle:?} in\n{}", pr.body);
        }
        assert_eq!(s.dispatches.len(), 1, "handed off to the reviewer");
        assert_eq!(s.dispatches[0]["inputs"]["pr"], pr.number.to_string());
    });
    // The claim commit, then the work commit.
    assert_eq!(commits_posted(&github), 2);
    let message = github.with(|s| s.commits[&s.refs[BRANCH]].message.clone());
    assert!(
        message.starts_with("T-0002: Add a farewell function"),
        "{message}"
    );

    // What the model saw: the task, the named file fenced as data, the map, num_ctx fixed.
    let requests = ollama.chat_requests();
    assert_eq!(requests.len(), 1);
    let prompt = requests[0]["messages"][1]["content"].as_str().unwrap();
    assert!(
        prompt.contains("File: src/app.py\n```python\n\"\"\"The sample app.\"\"\""),
        "{prompt}"
    );
    assert!(
        prompt.contains("File: tests/test_app.py\n"),
        "its test is shown: {prompt}"
    );
    // Nothing a small model would paste wrongly: no example path, and no frame line right where
    // a file's lines start (the line after each opening marker is ours, not a file's).
    assert!(!prompt.contains("path/to/"), "{prompt}");
    let lines: Vec<&str> = prompt.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("<<<UNTRUSTED-") && l.ends_with(" files>>>") {
            assert_eq!(lines[i + 1], "File: src/app.py", "{prompt}");
        }
    }
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("<<<UNTRUSTED-"))
            .count(),
        3,
        "the task, the map, one frame for all files: {prompt}"
    );
    // The format comes after the data, with the task's own file on the example's path line.
    let format_at = prompt
        .find("src/app.py\n<<<<<<< SEARCH\n")
        .expect("example with the real path");
    assert!(
        format_at > prompt.rfind("\n<<<END-UNTRUSTED-").unwrap(),
        "{prompt}"
    );
    // Other tasks' files are neither shown nor listed.
    assert!(!prompt.contains("T-0001-ci-setup"), "{prompt}");
    assert!(prompt.contains("src/app.py: greet"), "repo map: {prompt}");
    assert!(prompt.contains("<<<<<<< SEARCH"), "the format is explained");
    assert!(requests[0]["options"]["num_ctx"].as_u64().unwrap() >= 8192);
    assert!(!prompt.contains(TOKEN));

    // The tests ran without credentials, and the checkout was put back.
    let env = std::fs::read_to_string(job.dir.path().join("test-env")).unwrap();
    assert!(env.contains("PATH="));
    assert!(!env.contains(TOKEN) && !env.contains("GITHUB_TOKEN"));
    assert!(!env.contains("hunter2") && !env.contains("MY_SERVICE_SECRET"));
    assert_checkout_restored(&job.repo());
    let outputs = read_outputs(job.dir.path());
    assert_eq!(output(&outputs, "task-id"), Some("T-0002"));
    assert_eq!(
        output(&outputs, "pr-number"),
        Some(github.with(|s| s.pulls[0].number.to_string())).as_deref()
    );

    // Run again (the PR is open): it is updated, never duplicated.
    ollama.script([ChatReply::text(&farewell_reply("Goodbye"))]);
    let r = job.run(&github, &ollama.base_url);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(github.with(|s| s.pulls.len()), 1);
}

#[test]
fn failing_tests_are_fed_back_and_fixed_within_the_round_limit() {
    if !python() {
        return;
    }
    let github = FakeGitHub::start();
    let (_rt, ollama) = ollama();
    let fix = "src/app.py\n<<<<<<< SEARCH\n    return f\"Bye, {name}\"\n=======\n    return f\"Goodbye, {name}\"\n>>>>>>> REPLACE\n";
    ollama.script([
        ChatReply::text(&farewell_reply("Bye")),
        ChatReply::text(fix),
    ]);
    let job = Job::new("");
    let r = job.run(&github, &ollama.base_url);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, job.summary());
    let requests = ollama.chat_requests();
    assert_eq!(requests.len(), 2);
    let feedback = requests[1]["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(feedback.contains("the tests failed"), "{feedback}");
    assert!(
        feedback.contains("Goodbye, Ada"),
        "the assertion output: {feedback}"
    );
    assert!(feedback.contains("<<<UNTRUSTED-"), "test output is fenced");
    github.with(|s| {
        assert!(
            s.file(BRANCH, "src/app.py")
                .unwrap()
                .contains("Goodbye, {name}")
        );
        assert_eq!(s.pulls.len(), 1);
        assert!(
            s.pulls[0].body.contains("after 1 fix round(s)"),
            "{}",
            s.pulls[0].body
        );
    });
    assert_checkout_restored(&job.repo());
}

#[test]
fn tests_that_never_pass_commit_nothing() {
    if !python() {
        return;
    }
    let github = FakeGitHub::start();
    let (_rt, ollama) = ollama();
    ollama.script([ChatReply::text(&farewell_reply("Bye"))]);
    let job = Job::new("  max_rounds: 0\n");
    let r = job.run(&github, &ollama.base_url);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("the tests still fail after 0 fix round(s)"),
        "{}",
        r.stderr
    );
    assert!(changed_on(&github, BRANCH).is_empty(), "nothing committed");
    assert_eq!(github.with(|s| s.pulls.len()), 0);
    let summary = job.summary();
    assert!(
        summary.contains("No change is proposed") && summary.contains("Bye, {name}"),
        "{summary}"
    );
    assert_checkout_restored(&job.repo());
}

/// A reply made of a few large NDJSON lines (a 10 MB answer in 4-character pieces would take
/// minutes to stream).
fn big_reply(content: &str) -> ChatReply {
    let mut lines: Vec<Value> = content
        .as_bytes()
        .chunks(1 << 20)
        .map(|c| {
            json!({"model": MODEL, "created_at": "2025-01-01T00:00:00Z",
                   "message": {"role": "assistant", "content": String::from_utf8_lossy(c)}, "done": false})
        })
        .collect();
    lines.push(json!({"model": MODEL, "created_at": "2025-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "stop",
        "total_duration": 1_000_000_000u64, "load_duration": 1u64, "prompt_eval_count": 100,
        "prompt_eval_duration": 1u64, "eval_count": 100, "eval_duration": 1_000_000u64}));
    ChatReply::lines(&lines)
}

#[test]
fn unsafe_replies_are_refused_and_nothing_is_committed() {
    let ten_mb = format!(
        "data/big.txt\n<<<<<<< SEARCH\n=======\n{}>>>>>>> REPLACE\n",
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.\n".repeat(160_000)
    );
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "path escape",
            "../../etc/passwd\n<<<<<<< SEARCH\n=======\nroot::0:0::/:/bin/sh\n>>>>>>> REPLACE\n"
                .into(),
            "leaves the repository",
        ),
        (
            "protected workflow",
            ".github/workflows/x.yml\n<<<<<<< SEARCH\n=======\non: push\n>>>>>>> REPLACE\n".into(),
            "protected_paths",
        ),
        (
            "symlink",
            "settings.cfg\n<<<<<<< SEARCH\n=======\nowned\n>>>>>>> REPLACE\n".into(),
            "is a symlink",
        ),
        ("10 MB file", ten_mb, "developer.max_file_bytes"),
        (
            "token",
            format!(
                "src/settings.py\n<<<<<<< SEARCH\n=======\nTOKEN = \"ghp_{}\"\n>>>>>>> REPLACE\n",
                "a".repeat(36)
            ),
            "looks like a GitHub token",
        ),
    ];
    let (_rt, ollama) = ollama();
    for (name, reply, why) in cases {
        let github = FakeGitHub::start();
        let job = Job::new("");
        let answer = |r: &str| {
            if r.len() > 1 << 20 {
                big_reply(r)
            } else {
                ChatReply::text(r)
            }
        };
        // Refused, told once, refused again: the run fails.
        ollama.script([answer(&reply), answer(&reply)]);
        let before = ollama.chat_requests().len();
        let r = job.run(&github, &ollama.base_url);
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        assert!(r.stderr.contains("refused"), "{name}: {}", r.stderr);
        assert!(r.stderr.contains(why), "{name}: {why:?} in {}", r.stderr);
        assert_eq!(
            ollama.chat_requests().len() - before,
            2,
            "{name}: one correction"
        );
        let second = ollama.chat_requests().last().unwrap().clone();
        let feedback = second["messages"].as_array().unwrap().last().unwrap()["content"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            feedback.contains("refused by the repository's safety rules"),
            "{name}"
        );
        assert!(
            changed_on(&github, BRANCH).is_empty(),
            "{name}: nothing committed"
        );
        assert_eq!(github.with(|s| s.pulls.len()), 0, "{name}: no PR");
        assert!(
            !job.repo().join("data").exists() && !job.repo().join("src/settings.py").exists(),
            "{name}: nothing written to the checkout"
        );
        assert_checkout_restored(&job.repo());
        assert!(
            !Path::new("/etc/passwd").exists()
                || !std::fs::read_to_string("/etc/passwd")
                    .unwrap()
                    .contains("root::0:0::/:/bin/sh")
        );
        assert_ne!(
            std::fs::read_to_string("/etc/hostname").unwrap_or_default(),
            "owned\n"
        );
    }
}

#[test]
fn two_concurrent_runs_on_one_task_make_one_pr() {
    if !python() {
        return;
    }
    let github = FakeGitHub::start();
    let (_rt, ollama) = ollama();
    ollama.script([
        ChatReply::text(&farewell_reply("Goodbye")),
        ChatReply::text(&farewell_reply("Goodbye")),
    ]);
    // Two runners, two checkouts, one repository.
    let a = Job::new("");
    let b = Job::new("");
    let mut ca = a.command(&github, &ollama.base_url);
    ca.env("GITHUB_RUN_ID", "1001");
    let mut cb = b.command(&github, &ollama.base_url);
    cb.env("GITHUB_RUN_ID", "1002");
    let ha = std::thread::spawn(move || run(&mut ca));
    let hb = std::thread::spawn(move || run(&mut cb));
    let (ra, rb) = (ha.join().unwrap(), hb.join().unwrap());
    assert_eq!(ra.code, 0, "{}", ra.stderr);
    assert_eq!(rb.code, 0, "{}", rb.stderr);
    assert_eq!(github.with(|s| s.pulls.len()), 1, "one PR");
    let summaries = [a.summary(), b.summary()];
    assert!(
        summaries.iter().any(|s| s.contains("is taken")) || ollama.chat_requests().len() == 2,
        "either the second run stood back, or it came after the first and updated its PR: {summaries:?}"
    );
}

#[test]
fn a_run_killed_after_claiming_resumes_and_a_live_claim_is_left_alone() {
    if !python() {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claim = |run: &str, at: u64| {
        format!("T-0002: claimed by the developer\n\nCodex-Claim: run={run} at={at}\n")
    };
    let (_rt, ollama) = ollama();

    // Another run claimed it a minute ago: this run stands back without asking the model.
    let github = FakeGitHub::start();
    github.with(|s| {
        let main = s.refs["main"].clone();
        s.refs.insert(BRANCH.into(), main);
        s.commit_files(BRANCH, &[], &claim("gh-777", now - 60));
    });
    let job = Job::new("");
    let before = ollama.chat_requests().len();
    let r = job.run(&github, &ollama.base_url);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        job.summary().contains("run gh-777 claimed it"),
        "{}",
        job.summary()
    );
    assert_eq!(ollama.chat_requests().len(), before, "no model call");
    assert_eq!(github.with(|s| s.pulls.len()), 0);

    // The same run re-run (Actions keeps GITHUB_RUN_ID): it resumes and opens the one PR.
    ollama.script([ChatReply::text(&farewell_reply("Goodbye"))]);
    let mut c = job.command(&github, &ollama.base_url);
    c.env("GITHUB_RUN_ID", "777");
    let r = run(&mut c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        job.summary()
            .contains("resumed (this run claimed it before"),
        "{}",
        job.summary()
    );
    assert_eq!(github.with(|s| s.pulls.len()), 1);

    // A stale claim of a dead run is taken over.
    let github = FakeGitHub::start();
    github.with(|s| {
        let main = s.refs["main"].clone();
        s.refs.insert(BRANCH.into(), main);
        s.commit_files(BRANCH, &[], &claim("gh-555", now - 3 * 3600));
    });
    ollama.script([ChatReply::text(&farewell_reply("Goodbye"))]);
    let r = job.run(&github, &ollama.base_url);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(job.summary().contains("is taken over"), "{}", job.summary());
    assert_eq!(github.with(|s| s.pulls.len()), 1);
}

#[test]
fn boost_uses_the_boost_model() {
    if !python() {
        return;
    }
    let github = FakeGitHub::start();
    let (_rt, ollama) = ollama();
    ollama.script([ChatReply::text(&farewell_reply("Goodbye"))]);
    let job = Job::new("llm:\n  boost_model: \"gpt-oss:20b\"\n");
    std::fs::write(
        job.dir.path().join("event.json"),
        r#"{"inputs": {"role": "developer", "boost": "true"}}"#,
    )
    .unwrap();
    let r = job.run(&github, &ollama.base_url);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, job.summary());
    assert_eq!(ollama.chat_requests()[0]["model"], "gpt-oss:20b");
    assert!(github.with(|s| s.pulls[0].body.contains("gpt-oss:20b (boost)")));
}

#[test]
fn require_tests_asks_for_a_test_once() {
    if !python() {
        return;
    }
    let github = FakeGitHub::start();
    let (_rt, ollama) = ollama();
    let code_only = "src/app.py\n<<<<<<< SEARCH\ndef greet(name):\n    return f\"Hello, {name}\"\n=======\ndef greet(name):\n    return f\"Hello, {name}\"\n\n\ndef farewell(name):\n    return f\"Goodbye, {name}\"\n>>>>>>> REPLACE\n";
    let test_only = "tests/test_farewell.py\n<<<<<<< SEARCH\n=======\nimport unittest\n\nfrom src.app import farewell\n\n\nclass FarewellTest(unittest.TestCase):\n    def test_farewell(self):\n        self.assertEqual(farewell(\"Ada\"), \"Goodbye, Ada\")\n>>>>>>> REPLACE\n";
    ollama.script([ChatReply::text(code_only), ChatReply::text(test_only)]);
    let job = Job::new("");
    let r = job.run(&github, &ollama.base_url);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, job.summary());
    let requests = ollama.chat_requests();
    assert_eq!(requests.len(), 2);
    let ask = requests[1]["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ask.contains("checks.require_tests"), "{ask}");
    assert!(
        ask.contains("def farewell"),
        "the current file is shown: {ask}"
    );
    let changed = changed_on(&github, BRANCH);
    assert!(
        changed.contains(&"src/app.py".to_string())
            && changed.contains(&"tests/test_farewell.py".to_string()),
        "{changed:?}"
    );
    assert!(
        !job.repo().join("tests/test_farewell.py").exists(),
        "the checkout is restored"
    );
}

#[test]
fn chain_review_reviews_the_new_pr_in_the_same_job() {
    if !python() {
        return;
    }
    let github = FakeGitHub::start();
    let (_rt, ollama) = ollama();
    ollama.script([ChatReply::text(&farewell_reply("Goodbye"))]);
    let job = Job::new("  chain_review: true\n");
    let mut c = job.command(&github, &ollama.base_url);
    c.env("LLM_REVIEWER_MODEL", "none");
    let r = run(&mut c);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, job.summary());
    github.with(|s| {
        assert_eq!(s.pulls.len(), 1);
        let number = s.pulls[0].number;
        let reviews: Vec<&String> = s
            .comments
            .iter()
            .filter(|c| c.1 == number && c.2.contains("<!-- codex-orchestrator:reviewer -->"))
            .map(|c| &c.2)
            .collect();
        assert_eq!(reviews.len(), 1, "one review comment on the new PR");
    });
    assert!(
        job.summary().contains("reviewer (chained)"),
        "{}",
        job.summary()
    );
    assert!(output(&read_outputs(job.dir.path()), "verdict").is_some_and(|v| !v.is_empty()));
}

/// The `llm …` progress lines of a run's stderr.
fn progress_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("llm developer"))
        .collect()
}

/// The `step` of every model call in the run report.
fn report_steps(job: &Job) -> Vec<String> {
    let path = job.dir.path().join("codex-orchestrator-report.json");
    let report: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    report["llm_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["step"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn rounds_are_numbered_in_order_in_progress_report_and_summary() {
    if !python() {
        return;
    }
    let github = FakeGitHub::start();
    let (_rt, ollama) = ollama();
    let fix = "src/app.py\n<<<<<<< SEARCH\n    return f\"Bye, {name}\"\n=======\n    return f\"Goodbye, {name}\"\n>>>>>>> REPLACE\n";
    ollama.script([
        ChatReply::text("I would add a farewell function."),
        ChatReply::text(&farewell_reply("Bye")),
        ChatReply::text(fix),
    ]);
    let job = Job::new("");
    let r = job.run(&github, &ollama.base_url);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, job.summary());
    let want = [
        "round 1 (first edit)",
        "round 2 (correction 1: the answer was not usable)",
        "round 3 (fix 1 after failing tests)",
    ];
    let body = github.with(|s| s.pulls[0].body.clone());
    for w in want {
        assert!(body.contains(&format!("- {w}: ")), "{w:?} in\n{body}");
        assert!(
            progress_lines(&r.stderr).iter().any(|l| l.contains(w)),
            "{w:?} in the progress lines:\n{}",
            r.stderr
        );
    }
    assert!(!body.contains("round 1 (fix"), "{body}");
    assert_eq!(report_steps(&job), want);
    let message = github.with(|s| s.commits[&s.refs[BRANCH]].message.clone());
    assert!(message.contains("in 3 round(s)"), "{message}");
}

#[test]
fn unusable_answers_are_numbered_rounds_too() {
    let github = FakeGitHub::start();
    let (_rt, ollama) = ollama();
    ollama.script((0..4).map(|_| ChatReply::text("Sure, I can do that.")));
    let job = Job::new("");
    let r = job.run(&github, &ollama.base_url);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let summary = job.summary();
    for n in 1..=4 {
        assert_eq!(
            summary.matches(&format!("- round {n} (")).count(),
            1,
            "round {n} once in\n{summary}"
        );
    }
    assert_eq!(report_steps(&job).len(), 4);
}

/// Runs the farewell task with `test_command`; returns the run, the job and how many chat
/// requests the model got.
fn run_with_tests(test_command: &str, replies: Vec<ChatReply>) -> (support::Run, Job, usize) {
    let github = FakeGitHub::start();
    let (_rt, ollama) = ollama();
    ollama.script(replies);
    let job = Job::new("");
    let config = std::fs::read_to_string(job.repo().join(".llm-team.yml")).unwrap();
    let config = config
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("test_command:") {
                format!("  test_command: {test_command:?}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(job.repo().join(".llm-team.yml"), config + "\n").unwrap();
    git(&job.repo(), &["commit", "-qam", "test command"]);
    let r = job.run(&github, &ollama.base_url);
    assert!(
        changed_on(&github, BRANCH).is_empty(),
        "nothing committed: {}",
        r.stderr
    );
    assert_eq!(github.with(|s| s.pulls.len()), 0, "no PR");
    assert_checkout_restored(&job.repo());
    let n = ollama.chat_requests().len();
    (r, job, n)
}

#[test]
fn a_missing_pytest_costs_no_model_call_after_the_first_test_run() {
    if !python() {
        return;
    }
    // `-S`: no site-packages, so pytest is missing even where it is installed.
    let replies = (0..4)
        .map(|_| ChatReply::text(&farewell_reply("Goodbye")))
        .collect();
    let (r, job, requests) = run_with_tests("python3 -S -m pytest -q", replies);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        requests, 1,
        "only the first edit was asked for: {}",
        r.stderr
    );
    for needle in [
        "the tests cannot run here",
        "`pytest` is not installed",
        "python3 -m pip install pytest",
        "checks.test_command",
        "No fix round was asked of the model",
    ] {
        assert!(r.stderr.contains(needle), "{needle:?} in {}", r.stderr);
    }
    let summary = job.summary();
    assert!(summary.contains("No module named pytest"), "{summary}");
    assert!(summary.contains("- round 1 (first edit)"), "{summary}");
}

#[test]
fn a_missing_test_command_costs_no_model_call_after_the_first_test_run() {
    if !python() {
        return;
    }
    let replies = (0..4)
        .map(|_| ChatReply::text(&farewell_reply("Goodbye")))
        .collect();
    let (r, _job, requests) = run_with_tests("no-such-test-runner-xyz --all", replies);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(requests, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("the command `no-such-test-runner-xyz` is not installed"),
        "{}",
        r.stderr
    );
}

#[test]
fn code_that_imports_a_missing_module_still_gets_fix_rounds() {
    if !python() {
        return;
    }
    // The model's own edit imports a module that does not exist: the code is wrong, not the
    // environment, so the model is asked to fix it (and fails again here: max_rounds 3).
    let broken = farewell_reply("Goodbye").replace(
        "def farewell(name):",
        "import no_such_module_xyz\n\n\ndef farewell(name):",
    );
    let replies = (0..4).map(|_| ChatReply::text(&broken)).collect();
    let (r, _job, requests) =
        run_with_tests("python3 -m unittest discover -s tests -t . -q", replies);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        requests >= 2,
        "a fix round was asked for: {requests}\n{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("the tests cannot run here"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_dead_model_server_leaves_no_claim() {
    let github = FakeGitHub::start();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let job = Job::new("");
    let r = job.run(&github, &format!("http://127.0.0.1:{port}"));
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("before claiming the task"),
        "{}",
        r.stderr
    );
    assert!(
        github.with(|s| !s.refs.contains_key(BRANCH)),
        "no branch was created"
    );
    assert_eq!(commits_posted(&github), 0, "no claim commit");
    assert_eq!(github.with(|s| s.pulls.len()), 0);
}
