//! "A PR diff of 400 files comes from the checkout": a pull request bigger than GitHub's diff
//! endpoint serves (over 300 files and 20,000 lines) is diffed locally and checked line for
//! line against `git diff base...head`.

use std::collections::BTreeMap;

use codex_orchestrator::git::{ChangeKind, Checkout, GixCheckout, PrDiffBase};

use crate::support::git_bytes as git;

fn text(dir: &std::path::Path, args: &[&str]) -> String {
    String::from_utf8(git(dir, args)).unwrap()
}

fn commit(dir: &std::path::Path, msg: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", msg]);
    text(dir, &["rev-parse", "HEAD"]).trim().to_owned()
}

fn file_body(seed: usize, lines: usize, variant: usize) -> String {
    (0..lines)
        .map(|l| {
            if variant > 0 && l % 3 == 0 {
                format!("{seed} edited {variant} line {l}\n")
            } else {
                format!("{seed} line {l}\n")
            }
        })
        .collect()
}

#[test]
fn four_hundred_file_pr_diff_matches_git() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    git(&dir, &["init", "-q", "-b", "main", "."]);
    for i in 0..600 {
        let p = dir.join(format!("pkg{}/file{i:04}.txt", i % 12));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, file_body(i, 120, 0)).unwrap();
    }
    let root = commit(&dir, "root");

    git(&dir, &["checkout", "-q", "-b", "feature"]);
    // 340 edits, 20 deletions, 20 renames, 20 additions = 400 files.
    for i in 0..340 {
        std::fs::write(
            dir.join(format!("pkg{}/file{i:04}.txt", i % 12)),
            file_body(i, 120, 1),
        )
        .unwrap();
    }
    for i in 340..360 {
        std::fs::remove_file(dir.join(format!("pkg{}/file{i:04}.txt", i % 12))).unwrap();
    }
    for i in 360..380 {
        std::fs::create_dir_all(dir.join("moved")).unwrap();
        std::fs::rename(
            dir.join(format!("pkg{}/file{i:04}.txt", i % 12)),
            dir.join(format!("moved/file{i:04}.txt")),
        )
        .unwrap();
    }
    for i in 0..20 {
        std::fs::create_dir_all(dir.join("added")).unwrap();
        std::fs::write(
            dir.join(format!("added/new{i:02}.txt")),
            file_body(1000 + i, 50, 0),
        )
        .unwrap();
    }
    let head = commit(&dir, "feature work");

    // Meanwhile main moves on (must not show up in the PR diff).
    git(&dir, &["checkout", "-q", "main"]);
    std::fs::write(dir.join("pkg0/file0000.txt"), "rewritten on main\n").unwrap();
    std::fs::write(dir.join("main-only.txt"), "main\n").unwrap();
    let base = commit(&dir, "main work");

    let checkout = GixCheckout::open(&dir).unwrap();
    let pr = checkout.pr_diff(&base, &head).unwrap();
    assert_eq!(pr.from, PrDiffBase::MergeBase { sha: root.clone() });
    assert_eq!(pr.diff.files.len(), 400);
    let count = |k: ChangeKind| pr.diff.files.iter().filter(|f| f.change == k).count();
    assert_eq!(
        (
            count(ChangeKind::Modified),
            count(ChangeKind::Deleted),
            count(ChangeKind::Renamed),
            count(ChangeKind::Added)
        ),
        (340, 20, 20, 20)
    );
    let (adds, dels) = pr.diff.totals();
    assert!(
        adds + dels > 20_000,
        "bigger than GitHub's diff endpoint serves: {adds}+{dels}"
    );

    // Stats: every file against --numstat of the three-dot range.
    let range = format!("{base}...{head}");
    // -z: a rename is "adds\tdels\t" NUL old NUL new NUL.
    let numstat = git(&dir, &["diff", "--numstat", "-z", "-M", &range]);
    let mut fields = numstat.split(|&b| b == 0).filter(|f| !f.is_empty());
    let mut theirs = BTreeMap::new();
    while let Some(rec) = fields.next() {
        let rec = std::str::from_utf8(rec).unwrap();
        let mut f = rec.splitn(3, '\t');
        let a: u32 = f.next().unwrap().parse().unwrap();
        let d: u32 = f.next().unwrap().parse().unwrap();
        let path = match f.next().unwrap() {
            "" => {
                fields.next().unwrap();
                String::from_utf8(fields.next().unwrap().to_vec()).unwrap()
            }
            p => p.to_owned(),
        };
        theirs.insert(path, (a, d));
    }
    let ours: BTreeMap<String, (u32, u32)> = pr
        .diff
        .files
        .iter()
        .map(|f| (f.path.clone(), (f.additions, f.deletions)))
        .collect();
    assert_eq!(ours, theirs);

    // Text: identical to git's patch apart from rename similarity scores (byte- vs line-based).
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("similarity index "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let git_patch = text(&dir, &["diff", "-M", "--no-color", "--no-ext-diff", &range]);
    assert_eq!(strip(&pr.diff.unified()), strip(&git_patch));
}
