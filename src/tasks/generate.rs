//! Synthetic task sets (valid, acyclic, with dependency chains) for benchmarks and tests, so the
//! next-task and validation costs can be measured on realistic sizes without fixture files.

use super::id::TaskId;
use super::priority::Priority;
use super::render::render_task;
use super::task::TaskMeta;

/// `n` rendered task files `(tasks/T-NNNN-generated.md, bytes)`, deterministic for a `seed`.
/// Every task depends on up to three earlier tasks (the previous one half the time, so long
/// chains form); about 40% are done, 40% queued, the rest in review or blocked.
pub fn generated_task_files(n: u32, seed: u64) -> Vec<(String, Vec<u8>)> {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (1..=n)
        .map(|i| {
            let id = TaskId(i);
            let mut meta = TaskMeta::new(id, format!("Generated task {i}"));
            meta.priority = match next() % 4 {
                0 => Priority::P0,
                1 => Priority::P1,
                2 => Priority::P2,
                _ => Priority::P3,
            };
            meta.status = match next() % 10 {
                0..=3 => "done",
                4..=7 => "queued",
                8 => "in_review",
                _ => "blocked",
            }
            .to_string();
            if i > 1 && next() % 2 == 0 {
                meta.depends_on.push(TaskId(i - 1).to_string());
            }
            for _ in 0..next() % 3 {
                if i > 1 {
                    let dep = TaskId(1 + (next() % u64::from(i - 1)) as u32).to_string();
                    if !meta.depends_on.contains(&dep) {
                        meta.depends_on.push(dep);
                    }
                }
            }
            meta.acceptance = vec![format!("Generated criterion for {id}")];
            let text = render_task(&meta, "Generated body.\n");
            (format!("tasks/{id}-generated.md"), text.into_bytes())
        })
        .collect()
}
