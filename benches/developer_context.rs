//! Timing of the developer's context selection on a big generated repository (100k files):
//! indexing the tree (listing plus definitions of up to 4,000 source files) without and with the
//! per-tree cache, then choosing the files and the map for a task. The goal is under 1 s.
//! Run: `cargo bench --bench developer_context` (DEV_BENCH_FILES=N to change the tree size).

use std::io::Write;
use std::path::Path;

use codex_orchestrator::git::{Checkout, GixCheckout};
use codex_orchestrator::roles::developer::context::{Want, index, select};

mod support;

const RUNS: usize = 5;

fn path_of(i: usize) -> String {
    let ext = ["py", "rs", "ts", "go", "md"][i % 5];
    format!("pkg{:03}/mod{}/file_{i:06}.{ext}", i / 1000, (i / 100) % 10)
}

fn body(i: usize) -> String {
    let mut s = String::new();
    for k in 0..3 {
        match i % 5 {
            0 => s.push_str(&format!("def handler_{i}_{k}(x):\n    return x\n\n")),
            1 => s.push_str(&format!("pub fn handler_{i}_{k}() {{}}\n")),
            2 => s.push_str(&format!("export function handler{i}x{k}() {{}}\n")),
            3 => s.push_str(&format!("func Handler{i}x{k}() {{}}\n")),
            _ => s.push_str(&format!("Notes {i} {k}\n")),
        }
    }
    s
}

fn generate(dir: &Path, files: usize) -> String {
    support::fast_import(dir, |s| {
        for i in 0..files {
            support::blob(s, i + 1, &body(i));
        }
        let special = "def create_app():\n    pass\n\n\ndef health_check():\n    return 'ok'\n";
        support::blob(s, files + 1, special);
        write!(
            s,
            "commit refs/heads/main\ncommitter Bench <b@example.com> 1700000000 +0000\ndata 4\nbase\n"
        )
        .unwrap();
        for i in 0..files {
            writeln!(s, "M 100644 :{} {}", i + 1, path_of(i)).unwrap();
        }
        writeln!(s, "M 100644 :{} service/web/app.py", files + 1).unwrap();
    });
    support::run(dir, &["rev-parse", "main"]).trim().to_string()
}

fn main() {
    let files: usize = std::env::var("DEV_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let (head, took) = support::timed(|| generate(dir.path(), files));
    eprintln!("generated {files} files in {:.1} s", took.as_secs_f64());
    let checkout = GixCheckout::open(dir.path()).unwrap();
    let cache = checkout.git_dir().join("codex-orchestrator");
    let want_text =
        "Add a health check endpoint to the web app\nGET /health returns ok".to_string();
    let named: Vec<String> = Vec::new();
    let read = |p: &str| {
        checkout
            .read_file(&head, p)
            .ok()
            .flatten()
            .and_then(|b| String::from_utf8(b).ok())
    };

    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut chosen = Vec::new();
    let mut first = None;
    for _ in 0..RUNS {
        let _ = std::fs::remove_dir_all(&cache);
        let ((idx, cached), took) = support::timed(|| index(&checkout, &head).unwrap());
        cold.push(took);
        assert!(!cached);
        let ((idx2, cached), took) = support::timed(|| index(&checkout, &head).unwrap());
        warm.push(took);
        assert!(cached && idx2 == idx);
        let (sel, took) = support::timed(|| {
            select(
                &idx,
                &Want {
                    text: want_text.clone(),
                    named: &named,
                    tasks_dir: "tasks",
                    own_task: "",
                },
                12_000,
                &read,
            )
        });
        chosen.push(took);
        first.get_or_insert((idx.files.len(), sel));
    }
    let (n, sel) = first.unwrap();
    println!("developer context on {n} files (median of {RUNS}):");
    println!(
        "  index, no cache:     {:>8.1} ms",
        support::ms(support::median(cold))
    );
    println!(
        "  index, from cache:   {:>8.1} ms",
        support::ms(support::median(warm))
    );
    println!(
        "  select files + map:  {:>8.1} ms",
        support::ms(support::median(chosen))
    );
    println!(
        "  shown: {:?}",
        sel.files
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>()
    );
    assert!(
        sel.files.iter().any(|f| f.path == "service/web/app.py"),
        "the matching file is found among {n}"
    );
}
