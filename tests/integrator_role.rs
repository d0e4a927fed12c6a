//! The Integrator end to end (real binary, fake GitHub): a merged PR gets one integration PR on
//! `integrate/T-XXXX` that changes only the task's status line to `done`; the same event twice
//! still makes one; a PR closed unmerged puts its task back to `queued`; a task already there is
//! left alone with zero writes. A task with `auto_policy: auto_merge` gets its integration PR
//! merged once with `workflow.merge_strategy`; `review_required` never; a repository that refuses
//! the merge gets a clear summary line and the run still succeeds.

use crate::support;

use serde_json::json;
use support::fake_github::FakeGitHub;
use support::fake_github::FaultKind;
use support::{git, output, read_outputs, read_summary, run, runner_cmd, with_fake_github};

const TASK: &str = "---\nid: T-0004\ntitle: Add a greeting\ntype: feature\npriority: P1\ndepends_on: []\nstatus: in_review\nowner: unassigned\nestimate: 2h\nacceptance:\n  - \"greet() returns Hello\"\nauto_policy: review_required\n---\n\nNotes stay as they are.\n";
const NEXT: &str = "---\nid: T-0005\ntitle: Say goodbye\ntype: feature\npriority: P2\ndepends_on: [T-0004]\nstatus: queued\nowner: unassigned\nestimate: 1h\nacceptance:\n  - \"bye\"\nauto_policy: review_required\n---\n";
const PATH: &str = "tasks/T-0004-greeting.md";

fn setup(task: &str) -> (FakeGitHub, tempfile::TempDir) {
    let fake = FakeGitHub::start();
    fake.with(|s| {
        s.commit_files(
            "main",
            &[(PATH, task), ("tasks/T-0005-bye.md", NEXT)],
            "merge #7",
        )
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("repo/tasks")).unwrap();
    std::fs::write(dir.path().join("repo").join(PATH), task).unwrap();
    std::fs::write(dir.path().join("repo/tasks/T-0005-bye.md"), NEXT).unwrap();
    (fake, dir)
}

fn closed(dir: &std::path::Path, fake: &FakeGitHub, merged: bool) -> support::Run {
    closed_at(dir, fake, merged, &"b".repeat(40))
}

/// Like `setup`, with the checkout a git repository holding `config` as `.llm-team.yml` (read at
/// the pull request's base); returns the base commit.
fn setup_git(task: &str, config: &str) -> (FakeGitHub, tempfile::TempDir, String) {
    let (fake, dir) = setup(task);
    let repo = dir.path().join("repo");
    std::fs::write(repo.join(".llm-team.yml"), config).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    let base = git(&repo, &["rev-parse", "HEAD"]);
    (fake, dir, base)
}

fn merges(fake: &FakeGitHub) -> Vec<support::fake_github::Logged> {
    fake.log()
        .into_iter()
        .filter(|l| l.method == "PUT" && l.path.ends_with("/merge"))
        .collect()
}

fn closed_at(dir: &std::path::Path, fake: &FakeGitHub, merged: bool, base: &str) -> support::Run {
    let event = json!({
        "action": "closed", "number": 7,
        "pull_request": {"number": 7, "title": "Add a greeting", "body": "Task: T-0004", "merged": merged, "state": "closed",
                         "head": {"ref": "feature/T-0004-greeting", "sha": "a".repeat(40)},
                         "base": {"ref": "main", "sha": base}},
        "repository": {"full_name": "octo/app", "default_branch": "main"}
    });
    std::fs::write(dir.join("event.json"), event.to_string()).unwrap();
    let mut c = runner_cmd(dir, "pull_request");
    with_fake_github(&mut c, &fake.url);
    run(&mut c)
}

#[test]
fn a_merged_pr_gets_one_integration_pr_changing_one_line() {
    let (fake, dir) = setup(TASK);
    let main_before = fake.with(|s| s.refs["main"].clone());
    let r = closed(dir.path(), &fake, true);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after = fake.with(|s| s.file("integrate/T-0004", PATH)).unwrap();
    assert_eq!(
        after,
        TASK.replace("status: in_review", "status: done"),
        "only the status line changes"
    );
    fake.with(|s| {
        assert_eq!(
            s.refs["main"], main_before,
            "the default branch is only moved by a merge"
        );
        assert_eq!(s.pulls.len(), 1);
        assert_eq!(
            (s.pulls[0].head.as_str(), s.pulls[0].base.as_str()),
            ("integrate/T-0004", "main")
        );
    });
    assert_eq!(output(&read_outputs(dir.path()), "task-id"), Some("T-0004"));
    assert!(merges(&fake).is_empty(), "review_required: no merge");
    assert!(fake.with(|s| s.pulls[0].open));
    assert!(
        read_summary(dir.path()).contains("has `auto_policy: review_required`, so a person merges"),
        "{}",
        read_summary(dir.path())
    );
    assert!(
        read_summary(dir.path()).contains("Next eligible task once it merges: T-0005"),
        "{}",
        read_summary(dir.path())
    );

    let writes = fake.writes().len();
    let r = closed(dir.path(), &fake, true);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        fake.with(|s| s.pulls.len()),
        1,
        "the same event twice: still one PR"
    );
    assert_eq!(
        fake.writes().len(),
        writes,
        "and no new writes: {:?}",
        &fake.writes()[writes..]
    );
}

#[test]
fn a_pr_closed_unmerged_puts_its_task_back_in_the_queue() {
    let (fake, dir) = setup(TASK);
    let r = closed(dir.path(), &fake, false);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after = fake.with(|s| s.file("integrate/T-0004", PATH)).unwrap();
    assert_eq!(after, TASK.replace("status: in_review", "status: queued"));
    assert!(fake.with(|s| s.pulls[0].body.contains("closed without merging")));
}

#[test]
fn a_task_already_done_changes_nothing() {
    let (fake, dir) = setup(&TASK.replace("in_review", "done"));
    let r = closed(dir.path(), &fake, true);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    assert!(read_summary(dir.path()).contains("already `done`"));
}

#[test]
fn auto_merge_merges_the_integration_pr_once_with_the_configured_method() {
    let task = TASK.replace("auto_policy: review_required", "auto_policy: auto_merge");
    let (fake, dir, base) = setup_git(&task, "workflow:\n  merge_strategy: rebase\n");
    let r = closed_at(dir.path(), &fake, true, &base);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = merges(&fake);
    assert_eq!(m.len(), 1, "exactly one merge: {m:?}");
    assert_eq!(m[0].status, 200);
    assert_eq!(m[0].body["merge_method"], "rebase", "{:?}", m[0].body);
    fake.with(|s| {
        assert_eq!(s.pulls.len(), 1);
        assert!(s.pulls[0].merged && s.pulls[0].head == "integrate/T-0004");
        assert_eq!(
            s.file("main", PATH).unwrap(),
            task.replace("status: in_review", "status: done"),
            "the merge put the one-line flip on main"
        );
    });
    let summary = read_summary(dir.path());
    let n = fake.with(|s| s.pulls[0].number);
    assert!(
        summary.contains(&format!("merged #{n} with `rebase`")),
        "{summary}"
    );

    // The same event again: the task is done on main now; nothing is merged twice.
    let r = closed_at(dir.path(), &fake, true, &base);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(merges(&fake).len(), 1);
    assert_eq!(fake.with(|s| s.pulls.len()), 1);
}

#[test]
fn a_repository_that_refuses_the_merge_gets_a_clear_line_not_a_failed_run() {
    let task = TASK.replace("auto_policy: review_required", "auto_policy: auto");
    let (fake, dir) = setup(&task);
    fake.fault("PUT", "/merge", FaultKind::Status(405), 1);
    fake.with(|s| {
        s.graphql_error = Some("Pull request Auto merge is not allowed for this repository".into())
    });
    let r = closed(dir.path(), &fake, true);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(merges(&fake).len(), 1, "one attempt");
    assert!(fake.with(|s| s.pulls[0].open && !s.pulls[0].merged));
    let summary = read_summary(dir.path());
    let n = fake.with(|s| s.pulls[0].number);
    assert!(
        summary.contains(&format!(
            "not done: the repository does not permit merging #{n} now (405"
        )),
        "{summary}"
    );
    assert!(summary.contains("auto-merge is not available"), "{summary}");
    assert!(
        summary.contains("Auto merge is not allowed"),
        "GitHub's reason: {summary}"
    );
}

#[test]
fn a_merge_waiting_for_checks_turns_on_auto_merge() {
    let task = TASK.replace("auto_policy: review_required", "auto_policy: auto_merge");
    let (fake, dir) = setup(&task);
    // What GitHub answers while required checks are pending.
    fake.fault("PUT", "/merge", FaultKind::Status(405), 1);
    let r = closed(dir.path(), &fake, true);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let n = fake.with(|s| s.pulls[0].number);
    assert_eq!(
        fake.with(|s| s.auto_merges.clone()),
        [(n, "SQUASH".to_string())]
    );
    assert!(
        fake.with(|s| s.pulls[0].open),
        "GitHub merges it later, not now"
    );
    let summary = read_summary(dir.path());
    assert!(summary.contains("auto-merge (`squash`) is on"), "{summary}");
}

#[test]
fn an_unknown_auto_policy_is_not_a_merge() {
    let task = TASK.replace("auto_policy: review_required", "auto_policy: whenever");
    let (fake, dir) = setup(&task);
    let r = closed(dir.path(), &fake, true);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(merges(&fake).is_empty());
    assert!(
        read_summary(dir.path()).contains("`auto_policy: whenever`, which is not a known value")
    );
}

#[test]
fn the_teams_own_bookkeeping_prs_deliver_no_task() {
    // The merged seed PR names T-0004 in its title, but it only created the task file.
    for head in [
        "taskmaster/seed-T-0001",
        "plan/0123456789",
        "integrate/T-0004",
    ] {
        let (fake, dir) = setup(&TASK.replace("in_review", "queued"));
        let event = json!({
            "action": "closed", "number": 7,
            "pull_request": {"number": 7, "title": "Seed T-0004: Add a greeting", "body": "Task: T-0004", "merged": true, "state": "closed",
                             "head": {"ref": head, "sha": "a".repeat(40)},
                             "base": {"ref": "main", "sha": "b".repeat(40)}},
            "repository": {"full_name": "octo/app", "default_branch": "main"}
        });
        std::fs::write(dir.path().join("event.json"), event.to_string()).unwrap();
        let mut c = runner_cmd(dir.path(), "pull_request");
        with_fake_github(&mut c, &fake.url);
        let r = run(&mut c);
        assert_eq!(r.code, 0, "{head}: {}", r.stderr);
        assert!(fake.writes().is_empty(), "{head}: {:?}", fake.writes());
        assert!(
            read_summary(dir.path()).contains("bookkeeping branches"),
            "{head}: {}",
            read_summary(dir.path())
        );
    }
}

/// The field case: a human PR "Fix a typo in the README" whose body mentions T-3 in passing
/// flipped T-0003 from `queued` to `done`. Only a `Task:` line or the branch name links a PR,
/// and only a task `in_review` is completed; what was ignored is said in the summary.
#[test]
fn a_readme_pr_that_mentions_a_task_in_passing_leaves_the_task_alone() {
    for (status, body, why) in [
        (
            "queued",
            "Fixes a typo. Related to T-3 and T-0004, see there.",
            "mentions T-0003 in passing",
        ),
        // Even an explicit line does not complete a task that is not under review.
        ("queued", "Fixes a typo.\nTask: T-0004", "left alone"),
    ] {
        let (fake, dir) = setup(&TASK.replace("in_review", status));
        let event = json!({
            "action": "closed", "number": 9,
            "pull_request": {"number": 9, "title": "Fix a typo in the README", "body": body, "merged": true, "state": "closed",
                             "head": {"ref": "readme-typo", "sha": "a".repeat(40)},
                             "base": {"ref": "main", "sha": "b".repeat(40)}},
            "repository": {"full_name": "octo/app", "default_branch": "main"}
        });
        std::fs::write(dir.path().join("event.json"), event.to_string()).unwrap();
        let mut c = runner_cmd(dir.path(), "pull_request");
        with_fake_github(&mut c, &fake.url);
        let r = run(&mut c);
        assert_eq!(r.code, 0, "{body}: {}", r.stderr);
        assert!(
            fake.writes().is_empty(),
            "{body}: no task flipped, nothing merged: {:?}",
            fake.writes()
        );
        assert!(
            fake.with(|s| s.file("main", PATH))
                .unwrap()
                .contains(&format!("status: {status}")),
            "{body}"
        );
        let summary = read_summary(dir.path());
        assert!(
            summary.contains(why),
            "{body}: the summary says what was ignored and why: {summary}"
        );
    }
}
