//! The Taskmaster end to end: the real binary, a `schedule` event, the fake GitHub. On an empty
//! repository it seeds exactly one task as a pull request on `taskmaster/seed-T-0001`; run again
//! it seeds nothing more; in observe mode it writes nothing and lists what it would have done.

use crate::support;

use support::fake_github::FakeGitHub;
use support::{cmd, output, read_outputs, read_summary, run, runner_cmd, with_fake_github};

struct Job {
    dir: tempfile::TempDir,
}

impl Job {
    fn new(files: &[(&str, &str)]) -> Job {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("repo")).unwrap();
        for (path, content) in files {
            let p = dir.path().join("repo").join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        std::fs::write(
            dir.path().join("event.json"),
            r#"{"schedule": "*/30 * * * *"}"#,
        )
        .unwrap();
        Job { dir }
    }

    fn run(&self, fake: &FakeGitHub, extra: &[(&str, &str)]) -> support::Run {
        let mut c = runner_cmd(self.dir.path(), "schedule");
        with_fake_github(&mut c, &fake.url).envs(extra.iter().copied());
        run(&mut c)
    }

    fn outputs(&self) -> Vec<(String, String)> {
        read_outputs(self.dir.path())
    }

    fn summary(&self) -> String {
        read_summary(self.dir.path())
    }
}

#[test]
fn seeds_exactly_one_task_pr_and_nothing_on_a_rerun() {
    let fake = FakeGitHub::start();
    let main_before = fake.with(|s| s.refs["main"].clone());
    let job = Job::new(&[
        ("requirements.txt", "pytest\n"),
        ("src/app.py", "print('hi')\n"),
    ]);

    let r = job.run(&fake, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pulls = fake.with(|s| s.pulls.clone());
    assert_eq!(pulls.len(), 1);
    assert_eq!(
        (pulls[0].head.as_str(), pulls[0].base.as_str()),
        ("taskmaster/seed-T-0001", "main")
    );
    assert!(pulls[0].title.contains("T-0001"), "{}", pulls[0].title);
    let task = fake
        .with(|s| s.file("taskmaster/seed-T-0001", "tasks/T-0001-ci-setup.md"))
        .expect("the seed task file");
    assert!(
        task.contains("id: T-0001") && task.contains("status: queued"),
        "{task}"
    );
    assert!(
        task.to_lowercase().contains("python"),
        "fitted to the detected language: {task}"
    );
    assert_eq!(
        fake.with(|s| s.refs["main"].clone()),
        main_before,
        "the default branch is untouched"
    );
    assert_eq!(
        output(&job.outputs(), "pr-number"),
        Some(pulls[0].number.to_string().as_str())
    );
    assert_eq!(output(&job.outputs(), "role"), Some("taskmaster"));
    assert!(
        job.summary().contains("opened pull request #"),
        "{}",
        job.summary()
    );

    let writes_after_first = fake.writes().len();
    let r = job.run(&fake, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(fake.with(|s| s.pulls.len()), 1, "still one PR");
    assert_eq!(
        fake.writes().len(),
        writes_after_first,
        "the re-run wrote nothing: {:?}",
        &fake.writes()[writes_after_first..]
    );
}

/// The wedge seen in the field: one 403 on the first `POST /pulls` left the seed branch without
/// its pull request, and every later run said "already proposed" because only the branch was
/// looked at. Now the failed run says what to fix, and the re-run opens the one missing PR.
#[test]
fn a_seed_whose_pull_request_was_refused_gets_it_on_the_re_run() {
    use support::fake_github::FaultKind;
    let fake = FakeGitHub::start();
    let job = Job::new(&[
        ("requirements.txt", "pytest\n"),
        ("src/app.py", "print('hi')\n"),
    ]);
    fake.fault(
        "POST",
        "/repos/octo/app/pulls",
        FaultKind::Forbidden("Resource not accessible by integration"),
        1,
    );

    let r = job.run(&fake, &[]);
    assert_ne!(r.code, 0, "a refused PR is a failed run: {}", r.stderr);
    let said = format!("{}{}{}", r.stdout, r.stderr, job.summary());
    assert!(
        said.contains("pull-requests: write") || said.contains("Allow GitHub Actions"),
        "says what to fix: {said}"
    );
    assert!(fake.with(|s| s.pulls.is_empty()));
    assert!(
        fake.with(|s| s.refs.contains_key("taskmaster/seed-T-0001")),
        "the branch was written before the refusal"
    );

    let r = job.run(&fake, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pulls = fake.with(|s| s.pulls.clone());
    assert_eq!(pulls.len(), 1, "the re-run opened the missing PR");
    assert_eq!(pulls[0].head, "taskmaster/seed-T-0001");
    let commits_on_branch = fake.with(|s| s.refs["taskmaster/seed-T-0001"].clone());
    let r = job.run(&fake, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(fake.with(|s| s.pulls.len()), 1, "and a third run adds none");
    assert_eq!(
        fake.with(|s| s.refs["taskmaster/seed-T-0001"].clone()),
        commits_on_branch
    );
}

#[test]
fn observe_mode_writes_nothing_and_says_what_it_would_do() {
    let fake = FakeGitHub::start();
    let job = Job::new(&[("Cargo.toml", "[package]\nname = \"x\"\n")]);
    let r = job.run(&fake, &[("CODEX_MODE", "observe")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    let summary = job.summary();
    assert!(
        summary.contains("**Nothing was written** (observe mode or a dry run)"),
        "{summary}"
    );
    assert!(
        summary.contains("Pull request `taskmaster/seed-T-0001` → `main`")
            && summary.contains("would be written"),
        "{summary}"
    );
    assert!(
        !summary.contains("0000000000") && !summary.contains("opened pull request"),
        "no placeholder shas, no wording for writes that did not happen: {summary}"
    );
    assert_eq!(output(&job.outputs(), "pr-number"), Some(""));
}

#[test]
fn existing_tasks_are_validated_and_the_next_one_reported() {
    let fake = FakeGitHub::start();
    let task = |id: &str, deps: &str, prio: &str| {
        format!(
            "---\nid: {id}\ntitle: Task {id}\ntype: feature\npriority: {prio}\ndepends_on: [{deps}]\nstatus: queued\nowner: unassigned\nestimate: 2h\nacceptance:\n  - \"works\"\nauto_policy: review_required\n---\n"
        )
    };
    let job = Job::new(&[
        (
            "tasks/T-0001-ci-setup.md",
            &task("T-0001", "", "P1")
                .replace("Task T-0001", "Initialize basic CI for Python")
                .replace("queued", "done"),
        ),
        ("tasks/T-0002-a.md", &task("T-0002", "T-0001", "P2")),
        ("tasks/T-0003-b.md", &task("T-0003", "T-0009", "P0")),
    ]);
    let r = job.run(&fake, &[]);
    assert_eq!(
        r.code, 1,
        "a task set with errors fails the run: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("the task set has 1 error(s)"),
        "{}",
        r.stderr
    );
    assert!(
        job.summary().contains("T-0003") && job.summary().contains("Not eligible"),
        "the invalid task is named as skipped: {}",
        job.summary()
    );
    assert!(
        fake.writes().is_empty(),
        "nothing to seed: {:?}",
        fake.writes()
    );
    assert_eq!(output(&job.outputs(), "task-id"), Some("T-0002"));
    assert!(
        r.stderr.contains("::error file=tasks/T-0003-b.md"),
        "missing dependency annotated: {}",
        r.stderr
    );
}

#[test]
fn a_missing_token_is_a_clear_failure() {
    let fake = FakeGitHub::start();
    let job = Job::new(&[]);
    let d = job.dir.path();
    let r = run(cmd(d)
        .arg("taskmaster")
        .env("GITHUB_WORKSPACE", d.join("repo"))
        .env("GITHUB_REPOSITORY", "octo/app")
        .env("GITHUB_API_URL", &fake.url));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("no GitHub token: set GH_TOKEN or GITHUB_TOKEN"),
        "{}",
        r.stderr
    );
}
