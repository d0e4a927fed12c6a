//! Ids never collide: the Planner, a second Planner and the Taskmaster's seed each mint above
//! every id on the default branch, on every open agent branch and in every open pull request;
//! a re-run keeps its own ids; untrusted PR text cannot use up the id space.

use codex_orchestrator::tasks::reserve::MAX_AHEAD;
use codex_orchestrator::tasks::{
    Reservations, TaskId, TaskMeta, TaskSet, default_states, is_agent_branch, load_from_memory,
    render_task, task_file_name,
};

fn file(id: TaskId, title: &str) -> (String, Vec<u8>) {
    let mut meta = TaskMeta::new(id, title);
    meta.acceptance = vec!["It works".into()];
    (
        format!("tasks/{}", task_file_name(id, title)),
        render_task(&meta, "\nBody.\n").into_bytes(),
    )
}

fn set(files: &[(String, Vec<u8>)]) -> TaskSet {
    load_from_memory(files.to_vec(), &default_states())
}

fn ids(v: &[u32]) -> Vec<TaskId> {
    v.iter().map(|&n| TaskId(n)).collect()
}

/// The demo: the planning PR adds T-0001; the Taskmaster's seed must not be T-0001 too,
/// and after both merge `tasks validate` finds no duplicate.
#[test]
fn the_planning_pr_and_the_seed_never_share_an_id() {
    let main = set(&[]);
    // The Planner ran first: its PR is open.
    let plan_file = file(TaskId(1), "Add a shout flag to the CLI");
    let mut r = Reservations::new();
    r.add_default_branch(&main);
    r.add_pull_request(
        7,
        "plan/0123456789",
        "Plan: 1 task(s) from docs/PRD.md (T-0001)",
        "The planner read `docs/PRD.md` …\n<!-- codex-orchestrator:plan files=tasks/T-0001-add-a-shout-flag-to-the-cli.md -->\n",
    );
    r.add_branch_files("plan/0123456789", [plan_file.0.as_str()]);
    let seed = r.seed_id().unwrap();
    assert_eq!(seed, TaskId(2));
    let merged = set(&[
        plan_file.clone(),
        file(seed, "Initialize basic CI for Python"),
    ]);
    assert!(
        !merged
            .diagnostics
            .iter()
            .any(|d| d.message.contains("duplicate id")),
        "{:?}",
        merged.diagnostics
    );

    // The Taskmaster ran first: its seed branch is open (no PR yet: the wedged case).
    let mut r = Reservations::new();
    r.add_default_branch(&main);
    r.add_branch("taskmaster/seed-T-0001");
    assert_eq!(r.mint_ids(3).unwrap(), ids(&[2, 3, 4]));
    // ... and the Taskmaster itself, re-running, keeps T-0001 for its own seed.
    let own = r.without_branches(|b| b.starts_with("taskmaster/seed-"));
    assert_eq!(own.seed_id().unwrap(), TaskId(1));
}

#[test]
fn the_seed_takes_t_0001_only_when_it_is_free_everywhere() {
    let mut r = Reservations::new();
    assert_eq!(r.seed_id().unwrap(), TaskId(1));
    r.add_default_branch(&set(&[file(TaskId(3), "Three")]));
    assert_eq!(r.seed_id().unwrap(), TaskId(1), "T-0001 is still free");
    r.add_pull_request(
        9,
        "feature/T-0003-three",
        "Implements T-0003",
        "Task: T-0003\n",
    );
    assert_eq!(r.seed_id().unwrap(), TaskId(1));
    // A range that starts at T-0001 (a plan's title) takes it: the seed goes above the range.
    r.add_pull_request(
        10,
        "plan/abc",
        "Plan: 5 task(s) from docs/PRD.md (T-0001–T-0005)",
        "",
    );
    assert!(r.is_reserved(TaskId(4)), "inside the range");
    assert_eq!(r.seed_id().unwrap(), TaskId(6));
    // A broken file on the default branch still holds its id.
    let broken = (
        "tasks/T-0001-ci.md".to_string(),
        b"---\nid: [\n---\n".to_vec(),
    );
    let mut r = Reservations::new();
    r.add_default_branch(&set(&[broken]));
    assert_eq!(r.seed_id().unwrap(), TaskId(2));
}

/// Two Planners on two branches (two PRD versions): the second sees the first's open PR and its
/// files, and mints above them; each keeps its own ids on a re-run.
#[test]
fn two_planners_on_two_branches() {
    let main: Vec<_> = (1..=4)
        .map(|n| file(TaskId(n), &format!("Task {n}")))
        .collect();
    let main = set(&main);
    let mut all = Reservations::new();
    all.add_default_branch(&main);
    // Planner A: nothing open yet.
    let a_ids = all.without_branch("plan/aaaa").mint_ids(3).unwrap();
    assert_eq!(a_ids, ids(&[5, 6, 7]));
    // A's PR is open; Planner B (a newer PRD) runs on its own branch.
    let a_files: Vec<String> = a_ids.iter().map(|id| format!("tasks/{id}-a.md")).collect();
    all.add_branch("plan/aaaa");
    all.add_branch_files("plan/aaaa", a_files.iter().map(String::as_str));
    all.add_pull_request(
        11,
        "plan/aaaa",
        "Plan: 3 task(s) from docs/PRD.md (T-0005–T-0007)",
        "",
    );
    let b = all.without_branch("plan/bbbb");
    let b_ids = b.mint_ids(2).unwrap();
    assert_eq!(b_ids, ids(&[8, 9]));
    assert!(b.collisions(&b_ids).is_empty());
    all.add_pull_request(
        12,
        "refs/heads/plan/bbbb",
        "Plan: 2 task(s) from docs/PRD.md (T-0008–T-0009)",
        "",
    );
    // A re-runs: its own ids are free for it (only its own branch claims them) …
    let a_again = all.without_branch("plan/aaaa");
    assert!(a_again.collisions(&a_ids).is_empty());
    // … but not for B, whose claim list names where they are taken.
    let taken: Vec<String> = all
        .without_branch("plan/bbbb")
        .collisions(&a_ids)
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert!(
        taken.contains(&"T-0005–T-0007 (PR #11 title)".to_string()),
        "{taken:?}"
    );
    assert!(taken.contains(&"T-0005 (tasks/T-0005-a.md on branch plan/aaaa)".to_string()));
    // Had A and B raced to the same ids, the one that looks after writing sees the other.
    all.add_branch_files("plan/cccc", ["tasks/T-0008-c.md"]);
    let for_b = all.without_branch("plan/bbbb");
    let clash = for_b.collisions(&b_ids);
    assert_eq!(clash.len(), 1);
    assert_eq!(clash[0].branch.as_deref(), Some("plan/cccc"));
    // Every agent branch and the developer's and integrator's branches count too.
    all.add_branch("feature/T-0012-x");
    all.add_branch("integrate/T-0010");
    assert_eq!(all.mint_ids(1).unwrap(), ids(&[13]));
}

#[test]
fn untrusted_text_cannot_use_up_the_id_space() {
    let main = set(&[file(TaskId(4), "Four")]);
    let mut r = Reservations::new();
    r.add_default_branch(&main);
    r.add_pull_request(66, "fix/typo", "Fix T-999999999", "see T-500000");
    assert_eq!(r.mint_ids(1).unwrap(), ids(&[5]));
    let ignored: Vec<String> = r.ignored().iter().map(|c| c.to_string()).collect();
    assert_eq!(
        ignored,
        vec!["T-999999999 (PR #66 title)", "T-500000 (PR #66 body)"]
    );
    // Up to MAX_AHEAD above the default branch's highest id still counts.
    let near = 4 + MAX_AHEAD;
    r.add_branch(&format!("plan/T-{near:04}"));
    assert_eq!(r.mint_ids(1).unwrap(), ids(&[near + 1]));
    r.add_branch(&format!("plan/T-{:04}", near + 1));
    assert_eq!(r.mint_ids(1).unwrap(), ids(&[near + 1]));
    // The default branch's own files are trusted, however high.
    let high = set(&[file(TaskId(999_999_999), "Last")]);
    let mut r = Reservations::new();
    r.add_default_branch(&high);
    let err = r.mint_ids(1).unwrap_err();
    assert!(
        err.to_string().contains("the largest id is T-999999999"),
        "{err}"
    );
}

#[test]
fn which_branches_a_caller_collects() {
    let open = [
        "main",
        "plan/0123456789",
        "taskmaster/seed-T-0001",
        "feature/T-0004-add-login",
        "integrate/T-0003",
        "release/T-2024",
        "docs/readme",
    ];
    let agent: Vec<&str> = open
        .iter()
        .copied()
        .filter(|b| is_agent_branch(b, "feature/"))
        .collect();
    assert_eq!(
        agent,
        vec![
            "plan/0123456789",
            "taskmaster/seed-T-0001",
            "feature/T-0004-add-login",
            "integrate/T-0003"
        ]
    );
    let mut r = Reservations::new();
    for b in &agent {
        r.add_branch(b);
    }
    assert_eq!(r.highest(), Some(TaskId(4)));
}
