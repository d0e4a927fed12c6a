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
