//! The Integrator end to end (real binary, fake GitHub): a merged PR gets one integration PR on
//! `integrate/T-XXXX` that changes only the task's status line to `done`; the same event twice
//! still makes one; a PR closed unmerged puts its task back to `queued`; a task already there is
//! left alone with zero writes.

mod support;

use serde_json::json;
use support::fake_github::FakeGitHub;
use support::{output, read_outputs, read_summary, run, runner_cmd, with_fake_github};

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
    let event = json!({
        "action": "closed", "number": 7,
        "pull_request": {"number": 7, "title": "Add a greeting", "body": "Task: T-0004", "merged": merged, "state": "closed",
                         "head": {"ref": "feature/T-0004-greeting", "sha": "a".repeat(40)},
                         "base": {"ref": "main", "sha": "b".repeat(40)}},
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
