//! The Taskmaster on an empty repository seeds exactly one task (T-0001, CI setup), and run
//! again after that file exists it seeds nothing more; language detection drives the text.

use std::path::Path;

use codex_orchestrator::host::{DiskRepo, Repo};
use codex_orchestrator::roles::taskmaster::{
    Language, NextChoice, TaskmasterInput, TaskmasterPlan, plan,
};
use codex_orchestrator::vocab::language::detect_language_from_paths;

fn detect_language(repo: &Path) -> Language {
    DiskRepo::new(repo).language()
}
use codex_orchestrator::tasks::{TaskSet, default_states, load_repo_tasks};

fn run(repo: &Path, seed_declined: Option<u64>) -> (TaskSet, TaskmasterPlan) {
    let states = default_states();
    let set = load_repo_tasks(repo, "tasks", &states);
    let input = TaskmasterInput {
        tasks: &set,
        tasks_dir: "tasks",
        language: detect_language(repo),
        states: &states,
        seed_declined,
        seed_id: codex_orchestrator::roles::taskmaster::SEED_ID,
    };
    let p = plan(&input);
    (set, p)
}

fn write_seed(repo: &Path, p: &TaskmasterPlan) {
    let seed = p.seed.as_ref().unwrap();
    let path = repo.join(&seed.path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, &seed.contents).unwrap();
}

#[test]
fn empty_repo_seeds_exactly_one_then_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_, first) = run(dir.path(), None);
    let seed = first.seed.as_ref().expect("an empty repo gets a seed");
    assert_eq!(seed.id.to_string(), "T-0001");
    assert_eq!(seed.path, "tasks/T-0001-ci-setup.md");
    assert_eq!(seed.branch, "taskmaster/seed-T-0001");
    assert!(
        seed.contents
            .contains("title: Initialize basic CI for the project\n"),
        "{}",
        seed.contents
    );
    assert_eq!(first.outputs["seeded-task-id"], "T-0001");
    assert_eq!(first.outputs["task-id"], "");
    assert!(
        first
            .summary_markdown
            .contains("**Seed:** proposes a pull request from `taskmaster/seed-T-0001`"),
        "{}",
        first.summary_markdown
    );

    // Deterministic: planning again on the same input gives the same bytes.
    let (_, again) = run(dir.path(), None);
    assert_eq!(again.seed, first.seed);

    write_seed(dir.path(), &first);
    let (set, second) = run(dir.path(), None);
    assert!(second.seed.is_none(), "seeded twice");
    assert_eq!(
        second.no_seed_reason.as_deref(),
        Some("T-0001 (Initialize basic CI for the project) is already a CI task")
    );
    assert!(
        set.diagnostics.is_empty(),
        "the seed must validate: {:?}",
        set.diagnostics
    );
    assert_eq!(set.tasks.len(), 1);
    assert_eq!(second.outputs["task-id"], "T-0001");
    assert_eq!(second.outputs["seeded-task-id"], "");
    assert!(matches!(&second.next, NextChoice::Ready { id, .. } if id.to_string() == "T-0001"));
    let files = std::fs::read_dir(dir.path().join("tasks")).unwrap().count();
    assert_eq!(files, 1);
}

#[test]
fn a_declined_seed_is_not_proposed_again() {
    let dir = tempfile::tempdir().unwrap();
    let (_, p) = run(dir.path(), Some(4));
    assert!(p.seed.is_none());
    assert_eq!(
        p.no_seed_reason.unwrap(),
        "the seed pull request #4 was closed without merging (reopen it to queue the seed, or add a task yourself)"
    );
}

#[test]
fn python_repo_seed_mentions_pytest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pyproject.toml"), "[project]\nname='x'\n").unwrap();
    let (_, p) = run(dir.path(), None);
    let seed = p.seed.unwrap();
    assert!(
        seed.contents
            .contains("title: Initialize basic CI for Python\n")
    );
    assert!(seed.contents.contains("runs `pytest`"));
    assert_eq!(
        codex_orchestrator::tasks::developer_branch(seed.id, "Initialize basic CI for Python"),
        "feature/T-0001-initialize-basic-ci-for-python"
    );
    assert!(seed.contents.contains("priority: P0\n") && seed.contents.contains("status: queued\n"));
}

#[test]
fn no_seed_when_queued_tasks_or_a_ci_task_or_a_broken_t0001_exist() {
    let cases: [(&str, &str, &str); 3] = [
        (
            "T-0002-x.md",
            "---\nid: T-0002\ntitle: Other work\npriority: P1\nstatus: queued\nacceptance: [x]\n---\n",
            "1 tasks are queued",
        ),
        (
            "T-0007-ci.md",
            "---\nid: T-0007\ntitle: Set up CI (GitHub Actions)\npriority: P1\nstatus: done\nacceptance: [x]\n---\n",
            "T-0007 (Set up CI (GitHub Actions)) is already a CI task",
        ),
        (
            "T-0001-ci-setup.md",
            "---\nid: T-0001\ntitle: [broken\n---\n",
            "tasks/T-0001-ci-setup.md exists (it does not load; see the validation errors)",
        ),
    ];
    for (name, text, reason) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tasks")).unwrap();
        std::fs::write(dir.path().join("tasks").join(name), text).unwrap();
        let (_, p) = run(dir.path(), None);
        assert!(p.seed.is_none(), "{name}");
        assert_eq!(p.no_seed_reason.as_deref(), Some(reason));
        assert!(
            p.summary_markdown
                .contains(&format!("**Seed:** none needed: {reason}."))
        );
    }
}

#[test]
fn done_tasks_without_ci_still_get_a_seed_and_the_summary_says_why_no_next() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tasks")).unwrap();
    std::fs::write(
        dir.path().join("tasks/T-0002-docs.md"),
        "---\nid: T-0002\ntitle: Write docs\npriority: P2\nstatus: done\nacceptance: [x]\n---\n",
    )
    .unwrap();
    let (_, p) = run(dir.path(), None);
    assert!(p.seed.is_some());
    assert!(
        p.summary_markdown
            .contains("**Next task:** none — no task is queued (1 done)."),
        "{}",
        p.summary_markdown
    );
}

#[test]
fn language_detection() {
    assert_eq!(
        detect_language_from_paths(["Cargo.toml", "src/main.rs"]),
        Language::Rust
    );
    assert_eq!(detect_language_from_paths(["package.json"]), Language::Node);
    assert_eq!(detect_language_from_paths(["go.mod"]), Language::Go);
    assert_eq!(
        detect_language_from_paths(["requirements.txt", "package.json"]),
        Language::Python
    );
    assert_eq!(
        detect_language_from_paths(["app/main.py"]),
        Language::Python
    );
    assert_eq!(
        detect_language_from_paths(["node_modules/x/y.py", ".venv/a.py"]),
        Language::Generic
    );
    assert_eq!(detect_language_from_paths(["README.md"]), Language::Generic);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pkg/sub")).unwrap();
    std::fs::write(dir.path().join("pkg/sub/tool.py"), "").unwrap();
    assert_eq!(detect_language(dir.path()), Language::Python);
}

#[test]
fn large_tasks_are_flagged_for_splitting() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tasks")).unwrap();
    for (id, est, status) in [
        ("T-0002", "3 days", "queued"),
        ("T-0003", "1d", "queued"),
        ("T-0004", "1.5d", "done"),
    ] {
        std::fs::write(
            dir.path().join(format!("tasks/{id}-x.md")),
            format!("---\nid: {id}\ntitle: t\npriority: P2\nstatus: {status}\nestimate: {est}\nacceptance: [x]\n---\n"),
        )
        .unwrap();
    }
    let (_, p) = run(dir.path(), None);
    assert_eq!(
        p.too_large
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>(),
        vec!["T-0002"]
    );
    assert!(
        p.summary_markdown
            .contains("**Larger than a day (consider splitting):** `T-0002`"),
        "{}",
        p.summary_markdown
    );
}
