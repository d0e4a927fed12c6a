//! Times `tasks next` on a generated 1,000-task set with dependency chains: the choice alone, the
//! load (parse + validate), and the whole `tasks next` command over files on disk.
//! Run: `cargo bench --bench tasks_next` (plain main, no harness).

use std::time::Duration;

use codex_orchestrator::cli::tasks_cmd::{TasksCommand, TasksContext, run};
use codex_orchestrator::tasks::generate::generated_task_files;
use codex_orchestrator::tasks::{default_states, load_from_memory, next_task};

mod support;

use support::Spread;

fn stats(name: &str, samples: Vec<Duration>) {
    let s = Spread::of(samples);
    println!(
        "{name:<42} n={:<5} min {:>10.3?}  median {:>10.3?}  mean {:>10.3?}  max {:>10.3?}",
        s.n, s.min, s.median, s.mean, s.max
    );
}

fn main() {
    let states = default_states();
    let files = generated_task_files(1000, 7);
    let set = load_from_memory(files.clone(), &states);
    assert_eq!(set.tasks.len(), 1000);
    assert!(set.diagnostics.is_empty());
    let chosen = next_task(&set.tasks).id();
    println!("1,000 generated tasks; next = {chosen:?}");

    let samples = support::samples(2000, || next_task(std::hint::black_box(&set.tasks)).id());
    stats("next_task (choice only)", samples);

    let samples = support::samples(30, || load_from_memory(files.clone(), &states));
    stats("load_from_memory (parse + validate)", samples);

    let dir = std::env::temp_dir().join(format!("tasks-bench-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("tasks")).unwrap();
    for (path, bytes) in &files {
        std::fs::write(dir.join(path), bytes).unwrap();
    }
    let ctx = TasksContext::new(&dir);
    let cmd = TasksCommand::Next { json: true };
    let samples = (0..30)
        .map(|_| {
            let mut out = Vec::new();
            let (code, e) = support::timed(|| run(&cmd, &ctx, &mut out).unwrap());
            assert_eq!(code, 0);
            e
        })
        .collect();
    stats("`tasks next --json` (read dir + all)", samples);
    std::fs::remove_dir_all(&dir).unwrap();
}
