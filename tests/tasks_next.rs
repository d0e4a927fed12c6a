//! Next-task choice: queued with every dependency done; P0 before P3, then fewer dependencies,
//! then id; and when nothing is eligible, each blocked task names what it waits for.

use codex_orchestrator::tasks::generate::generated_task_files;
use codex_orchestrator::tasks::{
    NextTask, Task, TaskId, default_states, load_from_memory, next_task,
};

fn t(id: &str, priority: &str, status: &str, deps: &[&str]) -> Task {
    let text = format!(
        "---\nid: {id}\ntitle: Task {id}\npriority: {priority}\nstatus: {status}\ndepends_on: [{}]\nacceptance: [x]\n---\n",
        deps.join(", ")
    );
    Task::parse(format!("tasks/{id}.md"), text.as_bytes()).unwrap()
}

fn order(tasks: &[Task]) -> Vec<String> {
    match next_task(tasks) {
        NextTask::Ready { eligible, .. } => eligible.iter().map(|t| t.id().to_string()).collect(),
        NextTask::Nothing { reason, .. } => panic!("nothing eligible: {reason}"),
    }
}

#[test]
fn priority_then_fewer_dependencies_then_id() {
    let tasks = vec![
        t("T-0001", "P2", "done", &[]),
        t("T-0002", "P2", "done", &[]),
        t("T-0010", "P1", "queued", &["T-0001", "T-0002"]),
        t("T-0011", "P1", "queued", &["T-0001"]),
        t("T-0009", "P1", "queued", &["T-0002"]),
        t("T-0012", "P0", "queued", &["T-0001", "T-0002"]),
        t("T-0013", "P3", "queued", &[]),
        t("T-0014", "P9", "queued", &[]),
        t("T-0008", "P2", "queued", &[]),
    ];
    assert_eq!(
        order(&tasks),
        vec![
            "T-0012", "T-0009", "T-0011", "T-0010", "T-0008", "T-0013", "T-0014"
        ]
    );
    assert_eq!(next_task(&tasks).id(), Some(TaskId(12)));
}

#[test]
fn only_queued_tasks_with_all_dependencies_done_are_eligible() {
    let tasks = vec![
        t("T-0001", "P0", "in_review", &[]),
        t("T-0002", "P0", "queued", &["T-0001"]),
        t("T-0003", "P3", "queued", &[]),
        t("T-0004", "P0", "blocked", &[]),
        t("T-0005", "P0", "done", &[]),
    ];
    assert_eq!(order(&tasks), vec!["T-0003"]);
}

#[test]
fn why_none_names_each_wait() {
    let tasks = vec![
        t("T-0003", "P1", "in_review", &[]),
        t("T-0004", "P1", "queued", &["T-0003"]),
        t("T-0005", "P1", "queued", &["T-0004", "T-0099"]),
        t("T-0006", "P1", "done", &[]),
    ];
    let next = next_task(&tasks);
    assert_eq!(next.id(), None);
    assert_eq!(
        next.explain(),
        "none of the 2 queued tasks has all its dependencies done\n- T-0004 waits for T-0003 (in_review)\n- T-0005 waits for T-0004 (queued), T-0099 (no such task)"
    );
}

#[test]
fn why_none_when_nothing_is_queued_or_no_tasks() {
    let tasks = vec![
        t("T-0001", "P1", "done", &[]),
        t("T-0002", "P1", "done", &[]),
        t("T-0003", "P1", "in_review", &[]),
    ];
    assert_eq!(
        next_task(&tasks).explain(),
        "no task is queued (2 done, 1 in_review)"
    );
    assert_eq!(
        next_task(&[]).explain(),
        "no tasks: the tasks directory has no task files"
    );
}

#[test]
fn cycles_block_instead_of_looping() {
    let tasks = vec![
        t("T-0003", "P1", "queued", &["T-0005"]),
        t("T-0005", "P1", "queued", &["T-0003"]),
    ];
    let text = next_task(&tasks).explain();
    assert!(
        text.contains("T-0003 waits for T-0005 (queued)")
            && text.contains("T-0005 waits for T-0003 (queued)"),
        "{text}"
    );
}

#[test]
fn generated_thousand_task_set_matches_a_brute_force_choice() {
    let set = load_from_memory(generated_task_files(1000, 7), &default_states());
    assert_eq!(set.tasks.len(), 1000);
    assert!(
        set.diagnostics.is_empty(),
        "{:?}",
        &set.diagnostics[..3.min(set.diagnostics.len())]
    );
    let chosen = next_task(&set.tasks).id().expect("some task is eligible");
    // Brute force: scan every task, recompute eligibility from scratch.
    let done = |id: &str| {
        set.tasks
            .iter()
            .any(|t| t.id().to_string() == id && t.status() == "done")
    };
    let best = set
        .tasks
        .iter()
        .filter(|t| t.status() == "queued" && t.meta().depends_on.iter().all(|d| done(d)))
        .min_by_key(|t| (t.meta().priority.rank(), t.meta().depends_on.len(), t.id()))
        .unwrap();
    assert_eq!(chosen, best.id());
    let chains = set
        .tasks
        .iter()
        .filter(|t| t.meta().depends_on.len() >= 2)
        .count();
    assert!(
        chains > 100,
        "generator should make dependency chains: {chains}"
    );
}

/// The messy task set: a file `T-0015-wrong-id.md` whose id duplicates T-0010, broken
/// front matter, a cycle through a done task, unknown dependencies and a task without status.
pub(crate) fn messy_set() -> Vec<(String, Vec<u8>)> {
    let file = |id: &str, title: &str, p: &str, status: &str, deps: &str| {
        format!(
            "---\nid: {id}\ntitle: {title}\npriority: {p}\nstatus: {status}\ndepends_on: [{deps}]\nacceptance: [x]\n---\n"
        )
    };
    let files = [
        ("T-0001-ci.md", file("T-0001", "CI", "P0", "done", "")),
        (
            "T-0010-login.md",
            file("T-0010", "Login", "P1", "queued", ""),
        ),
        (
            "T-0015-wrong-id.md",
            file("T-0010", "Wrong id", "P0", "queued", ""),
        ),
        (
            "T-0020-broken.md",
            "---\nid: T-0020\ntitle: [unclosed\n---\n".to_string(),
        ),
        ("T-0030-a.md", file("T-0030", "A", "P0", "done", "T-0031")),
        ("T-0031-b.md", file("T-0031", "B", "P0", "queued", "T-0030")),
        (
            "T-0040-unknown.md",
            file("T-0040", "Unknown dep", "P0", "queued", "T-0099"),
        ),
        (
            "T-0041-on-broken.md",
            file("T-0041", "On broken", "P0", "queued", "T-0020"),
        ),
        (
            "T-0050-ok.md",
            file("T-0050", "Valid", "P2", "queued", "T-0001"),
        ),
        (
            "T-0051-after-dup.md",
            file("T-0051", "After the duplicate", "P0", "queued", "T-0010"),
        ),
        (
            "T-0060-no-status.md",
            "---\nid: T-0060\ntitle: No status\npriority: P0\nacceptance: [x]\n---\n".to_string(),
        ),
    ];
    files
        .into_iter()
        .map(|(n, t)| (format!("tasks/{n}"), t.into_bytes()))
        .collect()
}

#[test]
fn the_messy_set_never_yields_an_invalid_task() {
    let set = load_from_memory(messy_set(), &default_states());
    // The tasks-only choice (kept for old callers) takes the wrong-id file: this is the bug.
    match next_task(&set.tasks) {
        NextTask::Ready { task, .. } => assert_eq!(task.path(), "tasks/T-0015-wrong-id.md"),
        other => panic!("{other:?}"),
    }
    let pick = set.next_task();
    match &pick.next {
        NextTask::Ready { task, eligible } => {
            assert_eq!(task.path(), "tasks/T-0050-ok.md");
            let ids: Vec<String> = eligible.iter().map(|t| t.id().to_string()).collect();
            assert_eq!(ids, vec!["T-0050"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(pick.has_errors());
    assert_eq!(
        pick.errors,
        set.diagnostics.iter().filter(|d| d.is_error()).count()
    );
    let skipped: Vec<(&str, Option<String>)> = pick
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.id.map(|i| i.to_string())))
        .collect();
    let some = |s: &str| Some(s.to_string());
    assert_eq!(
        skipped,
        vec![
            ("tasks/T-0010-login.md", some("T-0010")),
            ("tasks/T-0015-wrong-id.md", some("T-0010")),
            ("tasks/T-0020-broken.md", some("T-0020")),
            ("tasks/T-0031-b.md", some("T-0031")),
            ("tasks/T-0040-unknown.md", some("T-0040")),
            ("tasks/T-0041-on-broken.md", some("T-0041")),
            ("tasks/T-0060-no-status.md", some("T-0060")),
        ]
    );
    let wrong = &pick.skipped[1];
    assert_eq!(wrong.reasons.len(), 2, "{:?}", wrong.reasons);
    assert!(
        wrong
            .reasons
            .iter()
            .any(|r| r.starts_with("duplicate id T-0010, also used by tasks/T-0010-login.md"))
    );
    assert!(
        wrong
            .reasons
            .iter()
            .any(|r| r.starts_with("id T-0010 does not match the file name `T-0015-wrong-id.md`"))
    );
    assert_eq!(pick.skipped[2].status, None);
    assert_eq!(
        pick.skipped[3].reasons,
        vec!["in the dependency cycle T-0030 → T-0031 → T-0030"]
    );
    let by_path = |p: &str| set.tasks.iter().find(|t| t.path() == p).unwrap();
    assert_eq!(
        set.errors_of(by_path("tasks/T-0015-wrong-id.md")),
        wrong.reasons
    );
    assert_eq!(set.errors_of(by_path("tasks/T-0030-a.md")).len(), 1);
    assert!(set.errors_of(by_path("tasks/T-0050-ok.md")).is_empty());
    let text = pick.explain();
    assert!(text.starts_with("next: T-0050 Valid (P2; 1 eligible)\nskipped 7 task file(s) with errors:\n- tasks/T-0010-login.md (T-0010): duplicate id T-0010"), "{text}");
    assert!(
        text.contains(
            "\n- tasks/T-0031-b.md (T-0031): in the dependency cycle T-0030 → T-0031 → T-0030\n"
        ),
        "{text}"
    );
    assert!(
        text.ends_with(&format!(
            "\nthe task set has {} error(s); fix them (`tasks validate` names each file and line)",
            pick.errors
        )),
        "{text}"
    );
}

#[test]
fn when_every_queued_task_is_invalid_nothing_is_picked() {
    let files: Vec<(String, Vec<u8>)> = messy_set()
        .into_iter()
        .filter(|(p, _)| !p.ends_with("T-0050-ok.md") && !p.ends_with("T-0051-after-dup.md"))
        .collect();
    let set = load_from_memory(files, &default_states());
    let pick = set.next_task();
    assert_eq!(pick.id(), None);
    assert_eq!(pick.next.explain(), "no valid task is queued (1 done)");
    assert_eq!(pick.skipped.len(), 7);

    // Blocked valid tasks still say what they wait for, and say "valid".
    let mut files = messy_set();
    files.retain(|(p, _)| !p.ends_with("T-0050-ok.md"));
    let set = load_from_memory(files, &default_states());
    assert_eq!(
        set.next_task().next.explain(),
        "none of the 1 valid queued tasks has all its dependencies done\n- T-0051 waits for T-0010 (queued)"
    );
}

#[test]
fn a_valid_set_picks_as_before_with_no_skips() {
    let set = load_from_memory(generated_task_files(200, 3), &default_states());
    assert!(set.diagnostics.is_empty());
    let pick = set.next_task();
    assert_eq!(pick.id(), next_task(&set.tasks).id());
    assert!(pick.skipped.is_empty() && !pick.has_errors());
    assert_eq!(pick.explain(), next_task(&set.tasks).explain());
}
