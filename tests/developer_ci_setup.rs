//! The Developer's deterministic CI-setup path end to end (real binary, fake GitHub, model
//! `none`): refused with a clear message while `.github/` is protected; with the opt-in, one
//! branch, one commit (workflow, smoke test, README note, task → in_review), one PR and a
//! hand-off to the reviewer; a re-run makes no second PR; other tasks say they need a model.

use crate::support;

use support::fake_github::FakeGitHub;
use support::{output, read_outputs, run, runner_cmd, with_fake_github};

const T1: &str = "---\nid: T-0001\ntitle: Initialize basic CI for Python\ntype: chore\npriority: P0\ndepends_on: []\nstatus: queued\nowner: unassigned\nestimate: 2h\nacceptance:\n  - \"A workflow runs pytest\"\nauto_policy: review_required\n---\n\nBody.\n";
const T2: &str = "---\nid: T-0002\ntitle: Add login\ntype: feature\npriority: P1\ndepends_on: []\nstatus: queued\nowner: unassigned\nestimate: 2h\nacceptance:\n  - \"login works\"\nauto_policy: review_required\n---\n";

struct Job {
    dir: tempfile::TempDir,
}

impl Job {
    fn new(config: &str, tasks: &[(&str, &str)]) -> Job {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join("tasks")).unwrap();
        std::fs::write(repo.join("requirements.txt"), "pytest\n").unwrap();
        std::fs::write(repo.join("README.md"), "# app\n").unwrap();
        std::fs::write(repo.join(".llm-team.yml"), config).unwrap();
        for (name, text) in tasks {
            std::fs::write(repo.join("tasks").join(name), text).unwrap();
        }
        std::fs::write(
            dir.path().join("event.json"),
            r#"{"inputs": {"role": "developer"}}"#,
        )
        .unwrap();
        Job { dir }
    }

    fn run(&self, fake: &FakeGitHub, extra: &[(&str, &str)]) -> support::Run {
        let mut c = runner_cmd(self.dir.path(), "workflow_dispatch");
        with_fake_github(&mut c, &fake.url)
            .env("LLM_DEVELOPER_MODEL", "none")
            .envs(extra.iter().copied());
        run(&mut c)
    }

    fn outputs(&self) -> Vec<(String, String)> {
        read_outputs(self.dir.path())
    }
}

const BRANCH: &str = "feature/T-0001-initialize-basic-ci-for-python";

#[test]
fn protected_github_folder_stops_it_with_what_to_do() {
    let fake = FakeGitHub::start();
    let job = Job::new("project:\n  name: app\n", &[("T-0001-ci-setup.md", T1)]);
    let r = job.run(&fake, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("developer.allow_workflow_setup: true"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("workflows` permission"), "{}", r.stderr);
    assert!(
        fake.writes().is_empty(),
        "nothing written: {:?}",
        fake.writes()
    );
    let summary = std::fs::read_to_string(job.dir.path().join("summary")).unwrap();
    assert!(
        summary.contains("commit this as `.github/workflows/ci.yml`")
            && summary.contains("python3 -m pytest -q"),
        "{summary}"
    );
    assert_eq!(output(&job.outputs(), "task-id"), Some("T-0001"));
}

#[test]
fn with_the_opt_in_it_opens_one_pr_and_hands_off_to_the_reviewer() {
    let fake = FakeGitHub::start();
    let config =
        "developer:\n  allow_workflow_setup: true\n  review_workflow: llm-team-reviewer.yml\n";
    let job = Job::new(config, &[("T-0001-ci-setup.md", T1)]);
    let main_before = fake.with(|s| s.refs["main"].clone());
    let r = job.run(&fake, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    fake.with(|s| {
        assert_eq!(
            s.refs["main"], main_before,
            "the default branch is untouched"
        );
        assert!(
            s.file(BRANCH, ".github/workflows/ci.yml")
                .unwrap()
                .contains("python3 -m pytest -q")
        );
        assert!(
            s.file(BRANCH, "tests/test_smoke.py")
                .unwrap()
                .contains("py_compile")
        );
        assert!(
            s.file(BRANCH, "README.md")
                .unwrap()
                .contains("## Running the checks locally")
        );
        let task = s.file(BRANCH, "tasks/T-0001-ci-setup.md").unwrap();
        assert_eq!(
            task,
            T1.replace("status: queued", "status: in_review"),
            "only the status line changed"
        );
        assert_eq!(s.pulls.len(), 1);
        assert_eq!(s.pulls[0].head, BRANCH);
        assert!(
            s.pulls[0].body.contains("Task: T-0001")
                && s.pulls[0].body.contains("- [ ] A workflow runs pytest")
        );
        assert_eq!(s.dispatches.len(), 1);
        assert_eq!(s.dispatches[0]["inputs"]["role"], "reviewer");
        assert_eq!(s.dispatches[0]["ref"], BRANCH);
    });
    let commits_on_branch = fake
        .writes()
        .iter()
        .filter(|w| w.path.ends_with("/git/commits"))
        .count();
    assert_eq!(
        commits_on_branch, 2,
        "the claim commit, then one commit with the work"
    );
    assert_eq!(
        output(&job.outputs(), "pr-number"),
        Some(fake.with(|s| s.pulls[0].number.to_string())).as_deref()
    );

    // A second run (a re-delivery, or a run killed after the branch was created) resumes: no
    // second PR, no second commit.
    let r = job.run(&fake, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(fake.with(|s| s.pulls.len()), 1);
    assert_eq!(
        fake.writes()
            .iter()
            .filter(|w| w.path.ends_with("/git/commits"))
            .count(),
        2
    );
}

#[test]
fn other_tasks_need_a_model() {
    let fake = FakeGitHub::start();
    let job = Job::new(
        "developer:\n  allow_workflow_setup: true\n",
        &[("T-0002-login.md", T2)],
    );
    let r = job.run(&fake, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("T-0002 needs a model") && r.stderr.contains("roles.developer.model"),
        "{}",
        r.stderr
    );
    assert!(fake.writes().is_empty());
}
