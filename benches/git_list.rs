//! Timing of the git port on a big generated repository: listing a 100k-file tree and
//! diffing a 400-file pull request, the two costs that grow with the target repository.
//! Run: `cargo bench --bench git_list` (GIT_BENCH_FILES=N to change the tree size).

use std::io::Write;
use std::path::Path;

use codex_orchestrator::git::{Checkout, GixCheckout};

mod support;

use support::run;

const RUNS: usize = 5;

fn path_of(i: usize) -> String {
    format!("d{:03}/e{}/f{i:06}.rs", i / 1000, (i / 100) % 10)
}

fn body(i: usize, edited: bool) -> String {
    (0..20)
        .map(|l| {
            if edited && l % 4 == 1 {
                format!("// {i} edited line {l}\n")
            } else {
                format!("// {i} line {l}\n")
            }
        })
        .collect()
}

/// Two commits via `git fast-import`: `main` with `files` files, `feature` editing 400 of them.
fn generate(dir: &Path, files: usize) -> (String, String) {
    support::fast_import(dir, |s| {
        for i in 0..files {
            support::blob(s, i + 1, &body(i, false));
        }
        let who = "Bench <bench@example.com> 1700000000 +0000";
        let base_mark = files + 1;
        write!(
            s,
            "commit refs/heads/main\nmark :{base_mark}\ncommitter {who}\ndata 4\nbase\n"
        )
        .unwrap();
        for i in 0..files {
            writeln!(s, "M 100644 :{} {}", i + 1, path_of(i)).unwrap();
        }
        write!(
            s,
            "\ncommit refs/heads/feature\ncommitter {who}\ndata 8\nfeature\nfrom :{base_mark}\n"
        )
        .unwrap();
        let step = files / 400;
        for k in 0..400 {
            let i = k * step;
            let b = body(i, true);
            write!(s, "M 100644 inline {}\ndata {}\n{b}\n", path_of(i), b.len()).unwrap();
        }
    });
    (
        run(dir, &["rev-parse", "main"]).trim().to_owned(),
        run(dir, &["rev-parse", "feature"]).trim().to_owned(),
    )
}

fn time<T>(label: &str, mut f: impl FnMut() -> T, check: impl Fn(&T) -> String) {
    let mut times = Vec::with_capacity(RUNS);
    let mut note = String::new();
    for _ in 0..RUNS {
        let (out, took) = support::timed(&mut f);
        times.push(took);
        note = check(&out);
    }
    let s = support::Spread::of(times);
    println!(
        "{label:<44} min {:>8.1} ms  median {:>8.1} ms  ({note})",
        support::ms(s.min),
        support::ms(s.median)
    );
}

fn main() {
    let files: usize = std::env::var("GIT_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let ((base, head), took) = support::timed(|| generate(dir, files));
    println!(
        "generated {files} files + a 400-file change with git fast-import in {:.1} s",
        took.as_secs_f64()
    );

    time(
        "GixCheckout::open",
        || GixCheckout::open(dir).unwrap(),
        |_| String::new(),
    );
    let co = GixCheckout::open(dir).unwrap();
    time(
        "list_files (with blob sizes)",
        || co.list_files(&head).unwrap(),
        |v| format!("{} entries", v.len()),
    );
    time(
        "list_files_without_sizes",
        || co.list_files_without_sizes(&head).unwrap(),
        |v| format!("{} entries", v.len()),
    );
    time(
        "diff base..head (400 files)",
        || co.diff(&base, &head).unwrap(),
        |d| {
            format!(
                "{} files, {} bytes of patch",
                d.files.len(),
                d.unified().len()
            )
        },
    );
    time(
        "pr_diff base...head (merge base + diff)",
        || co.pr_diff(&base, &head).unwrap(),
        |d| format!("{} files", d.diff.files.len()),
    );
    time(
        "read_file x400",
        || {
            (0..400)
                .filter(|k| {
                    co.read_file(&head, &path_of(k * (files / 400)))
                        .unwrap()
                        .is_some()
                })
                .count()
        },
        |n| format!("{n} files"),
    );
    let ours = co.diff(&base, &head).unwrap().unified();
    let theirs = run(dir, &["diff", "--no-color", &base, &head]);
    println!(
        "400-file patch identical to `git diff base head`: {}",
        ours == theirs
    );
    time(
        "reference: git ls-tree -r (CLI)",
        || {
            run(dir, &["ls-tree", "-r", "--long", &head])
                .lines()
                .count()
        },
        |n| format!("{n} lines"),
    );
    time(
        "reference: git diff base head (CLI)",
        || run(dir, &["diff", &base, &head]).len(),
        |n| format!("{n} bytes"),
    );
}
