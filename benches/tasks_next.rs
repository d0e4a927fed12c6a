//! Times `tasks next` on a generated 1,000-task set with dependency chains: the choice alone, the
//! load (parse + validate), and the whole `tasks next` command over files on disk.
//! Run: `cargo bench --bench tasks_next` (plain main, no harness).

use std::time::{Duration, Instant};

use codex_orchestrator::cli::tasks_cmd::{TasksCommand, TasksContext, run};
use codex_orchestrator::tasks::generate::generated_task_files;
use codex_orchestrator::tasks::{default_states, load_from_memory, next_task};

fn stats(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let total: Duration = samples.iter().sum();
    let mean = total / samples.len() as u32;
    println!(
        "{name:<42} n={:<5} min {:>10.3?}  median {:>10.3?}  mean {:>10.3?}  max {:>10.3?}",
        samples.len(),
        samples[0],
        samples[samples.len() / 2],
        mean,
        samples[samples.len() - 1]
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

    let samples = (0..2000)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(next_task(std::hint::black_box(&set.tasks)).id());
            t.elapsed()
        })
        .collect();
    stats("next_task (choice only)", samples);

    let samples = (0..30)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(load_from_memory(files.clone(), &states));
            t.elapsed()
        })
        .collect();
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
            let t = Instant::now();
            let code = run(&cmd, &ctx, &mut out).unwrap();
            let e = t.elapsed();
            assert_eq!(code, 0);
            e
        })
        .collect();
    stats("`tasks next --json` (read dir + all)", samples);
    std::fs::remove_dir_all(&dir).unwrap();
}
