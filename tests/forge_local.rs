//! The local forge against GitHub's semantics, checked with the `git` CLI on its bare repository:
//! one open PR per head/base, the three merge strategies, compare-and-swap and fast-forward-only
//! branches, the guard letting only a merge move the default branch, comment upsert by marker,
//! PR diffs equal to `git diff base...head`, the record lock, and `forge init` importing history.

use crate::support;

use std::path::PathBuf;

use codex_orchestrator::config::Config;
use codex_orchestrator::forge::local::LocalForge;
use codex_orchestrator::forge::{
    FileChange, Forge, ForgeError, ForgeRead, MergeMethod, NewCommit, NewPullRequest, PrState,
};
use codex_orchestrator::policy::{Guard, Guarded};
use support::upsert::{self, Upserted};
use support::{cmd, git_out as git, run};

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A source repository on `main` with a README and an app file, and a forge imported from it.
struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    forge: LocalForge,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        std::fs::create_dir_all(src.join("app")).unwrap();
        git(&src, &["init", "-q", "-b", "main", "."]);
        std::fs::write(src.join("README.md"), "# demo\n\nline two\nline three\n").unwrap();
        std::fs::write(src.join("app/main.py"), "print('hi')\n").unwrap();
        git(&src, &["add", "-A"]);
        git(&src, &["commit", "-q", "-m", "first"]);
        let dir = tmp.path().join("forge");
        let (forge, imported) = LocalForge::init_from(&dir, &src).unwrap();
        assert_eq!(imported.branch, "main");
        Fixture {
            _tmp: tmp,
            dir,
            forge,
        }
    }

    fn git_dir(&self) -> PathBuf {
        self.dir.join("repo.git")
    }

    fn git(&self, args: &[&str]) -> String {
        let git_dir = self.git_dir();
        let mut all = vec!["--git-dir", git_dir.to_str().unwrap()];
        all.extend_from_slice(args);
        git(self._tmp.path(), &all).trim().to_string()
    }

    /// A branch `name` off `main` with one commit writing `files`.
    fn branch_with(&self, name: &str, files: &[(&str, &str)]) -> String {
        block_on(async {
            let main = self.forge.branch("main").await.unwrap().unwrap();
            self.forge.create_branch(name, &main).await.unwrap();
            self.commit_on(name, files).await
        })
    }

    async fn commit_on(&self, branch: &str, files: &[(&str, &str)]) -> String {
        let changes: Vec<FileChange> = files
            .iter()
            .map(|(p, c)| FileChange::write(*p, c.as_bytes()))
            .collect();
        upsert::commit_to_branch(
            &self.forge,
            branch,
            &format!("edit {branch}"),
            &changes,
            None,
            1,
        )
        .await
        .unwrap()
    }

    fn open_pr(&self, head: &str, title: &str) -> codex_orchestrator::forge::PullRequest {
        block_on(self.forge.create_pull_request(&NewPullRequest {
            title: title.into(),
            head: head.into(),
            base: "main".into(),
            body: format!("body of {title}"),
            draft: false,
        }))
        .unwrap()
    }
}

#[test]
fn one_open_pull_request_per_head_and_base() {
    let f = Fixture::new();
    f.branch_with("feature/a", &[("a.txt", "a\n")]);
    let first = f.open_pr("feature/a", "First title");
    assert_eq!(first.number, 1);
    let again = f.open_pr("feature/a", "Second title");
    assert_eq!(again.number, 1, "creating again returns the open one");
    assert_eq!(
        again.title, "Second title",
        "brought up to date, like GitHub"
    );
    assert_eq!(f.forge.pull_records().unwrap().len(), 1);
    let found = block_on(f.forge.find_pull_request("feature/a", false))
        .unwrap()
        .unwrap();
    assert_eq!((found.number, found.state), (1, PrState::Open));
    assert_eq!(found.head_sha, f.git(&["rev-parse", "feature/a"]));

    // A branch with nothing new cannot be proposed.
    let main = block_on(f.forge.branch("main")).unwrap().unwrap();
    block_on(f.forge.create_branch("empty", &main)).unwrap();
    let err = block_on(f.forge.create_pull_request(&NewPullRequest {
        title: "x".into(),
        head: "empty".into(),
        base: "main".into(),
        body: String::new(),
        draft: false,
    }))
    .unwrap_err();
    assert!(err.to_string().contains("no commits between"), "{err}");

    // Closed, the next one gets a new number; the record file is plain JSON.
    block_on(f.forge.update_pull_request(
        1,
        &codex_orchestrator::forge::PrUpdate {
            state: Some(PrState::Closed),
            ..Default::default()
        },
    ))
    .unwrap();
    assert_eq!(f.open_pr("feature/a", "Third").number, 2);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(f.dir.join("pulls/1.json")).unwrap()).unwrap();
    assert_eq!(record["state"], "closed");
}

#[test]
fn squash_merge_and_rebase_like_the_merge_button() {
    let f = Fixture::new();
    let main0 = f.git(&["rev-parse", "main"]);

    // Squash: one new commit on main, one parent, head's tree.
    f.branch_with("s", &[("s.txt", "one\n")]);
    let s_head = block_on(f.commit_on("s", &[("s.txt", "two\n")]));
    let pr = f.open_pr("s", "Squash me");
    let sha = block_on(
        f.forge
            .merge_pull_request(pr.number, MergeMethod::Squash, &s_head),
    )
    .unwrap();
    assert_eq!(f.git(&["rev-parse", "main"]), sha);
    assert_eq!(
        f.git(&["rev-parse", "main^"]),
        main0,
        "one parent: the old main"
    );
    assert_eq!(
        f.git(&["rev-list", "--count", "main"]),
        "2",
        "two commits on the branch became one"
    );
    assert_eq!(f.git(&["show", "main:s.txt"]), "two");
    assert!(
        f.git(&["log", "-1", "--format=%s", "main"])
            .contains("Squash me (#1)")
    );
    let merged = block_on(f.forge.pull_request(pr.number)).unwrap();
    assert!(merged.merged && merged.state == PrState::Closed);
    let twice = block_on(
        f.forge
            .merge_pull_request(pr.number, MergeMethod::Squash, &s_head),
    );
    assert!(
        matches!(twice, Err(ForgeError::NotMergeable { .. })),
        "{twice:?}"
    );

    // Merge: a two-parent commit whose second parent is the head.
    let m_head = f.branch_with("m", &[("m.txt", "m\n")]);
    let pr = f.open_pr("m", "Merge me");
    let main1 = f.git(&["rev-parse", "main"]);
    block_on(
        f.forge
            .merge_pull_request(pr.number, MergeMethod::Merge, &m_head),
    )
    .unwrap();
    assert_eq!(
        f.git(&["rev-list", "--parents", "-n1", "main"]),
        format!("{} {main1} {m_head}", f.git(&["rev-parse", "main"]))
    );

    // Rebase: each commit replayed on main, linear, same messages.
    f.branch_with("r", &[("r1.txt", "1\n")]);
    let r_head = block_on(f.commit_on("r", &[("r2.txt", "2\n")]));
    // main moves meanwhile (a file r does not touch): the replay goes on top of it.
    let other = f.branch_with("other", &[("o.txt", "o\n")]);
    let pr_o = f.open_pr("other", "Other");
    block_on(
        f.forge
            .merge_pull_request(pr_o.number, MergeMethod::Squash, &other),
    )
    .unwrap();
    let main2 = f.git(&["rev-parse", "main"]);
    let pr = f.open_pr("r", "Rebase me");
    block_on(
        f.forge
            .merge_pull_request(pr.number, MergeMethod::Rebase, &r_head),
    )
    .unwrap();
    assert_eq!(f.git(&["rev-parse", "main~2"]), main2);
    assert_eq!(
        f.git(&["rev-list", "--count", "--merges", "main~2..main"]),
        "0"
    );
    assert_eq!(f.git(&["show", "main:r2.txt"]), "2");
    assert_eq!(
        f.git(&["show", "main:o.txt"]),
        "o",
        "the base's change is kept"
    );
}

#[test]
fn a_merge_needs_the_current_head_and_no_conflict() {
    let f = Fixture::new();
    let old = f.branch_with("x", &[("README.md", "# x\n")]);
    let pr = f.open_pr("x", "X");
    let new = block_on(f.commit_on("x", &[("more.txt", "more\n")]));
    let main = f.git(&["rev-parse", "main"]);
    let err = block_on(
        f.forge
            .merge_pull_request(pr.number, MergeMethod::Squash, &old),
    )
    .unwrap_err();
    assert!(
        matches!(&err, ForgeError::NotMergeable { reason, .. } if reason.contains("head branch was modified")),
        "{err}"
    );
    assert_eq!(f.git(&["rev-parse", "main"]), main, "nothing moved");

    // Both sides change README.md: a conflict, and main stays.
    let y = f.branch_with("y", &[("README.md", "# y\n")]);
    let pr_y = f.open_pr("y", "Y");
    block_on(
        f.forge
            .merge_pull_request(pr_y.number, MergeMethod::Squash, &y),
    )
    .unwrap();
    let main = f.git(&["rev-parse", "main"]);
    let err = block_on(
        f.forge
            .merge_pull_request(pr.number, MergeMethod::Merge, &new),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("merge conflict in README.md"),
        "{err}"
    );
    assert_eq!(f.git(&["rev-parse", "main"]), main);
    assert!(!block_on(f.forge.pull_request(pr.number)).unwrap().merged);
}

#[test]
fn branches_move_by_compare_and_swap_and_fast_forward_only() {
    let f = Fixture::new();
    let main = f.git(&["rev-parse", "main"]);
    block_on(async {
        f.forge.create_branch("b", &main).await.unwrap();
        f.forge
            .create_branch("b", &main)
            .await
            .expect("same sha: success");
        let one = f.commit_on("b", &[("f", "1\n")]).await;
        let err = f.forge.create_branch("b", &main).await.unwrap_err();
        assert!(
            matches!(&err, ForgeError::BranchExists { sha, .. } if *sha == one),
            "{err}"
        );

        // A commit on the old head: moving b there is not a fast-forward.
        let sideways = f
            .forge
            .create_commit(&NewCommit {
                parent: main.clone(),
                message: "side".into(),
                changes: vec![FileChange::write("g", "g\n")],
                author: None,
            })
            .await
            .unwrap();
        let err = f
            .forge
            .update_branch("b", &main, &sideways)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ForgeError::BranchMoved { current, .. } if *current == one),
            "{err}"
        );
        let err = f
            .forge
            .update_branch("b", &one, &sideways)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not a fast-forward"), "{err}");
        assert_eq!(f.forge.branch("b").await.unwrap(), Some(one.clone()));
        assert_eq!(f.git(&["rev-parse", "b"]), one);

        // Paths are checked even without the guard.
        let err = f
            .forge
            .create_commit(&NewCommit {
                parent: main.clone(),
                message: "bad".into(),
                changes: vec![FileChange::write("../escape", "x")],
                author: None,
            })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("refusing the path"), "{err}");
        assert_eq!(f.forge.branch("missing").await.unwrap(), None);
        assert_eq!(f.forge.file_at("README.md", "missing").await.unwrap(), None);
        assert_eq!(
            f.forge.file_at("app", "main").await.unwrap(),
            None,
            "a directory"
        );
    });
}

#[test]
fn through_the_guard_only_a_merge_moves_the_default_branch() {
    let f = Fixture::new();
    let head = f.branch_with("feature/g", &[("g.txt", "g\n")]);
    let pr = f.open_pr("feature/g", "G");
    let main = f.git(&["rev-parse", "main"]);
    let guarded = Guarded::new(
        LocalForge::open(&f.dir).unwrap(),
        Guard::new(&Config::default(), "main").unwrap(),
    );
    block_on(async {
        let err = guarded
            .update_branch("main", &main, &head)
            .await
            .unwrap_err();
        assert!(matches!(err, ForgeError::Refused(_)), "{err}");
        let err = upsert::commit_to_branch(
            &guarded,
            "main",
            "x",
            &[FileChange::write("x", "x")],
            None,
            1,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ForgeError::Refused(_)), "{err}");
        let err = guarded
            .merge_pull_request(pr.number, MergeMethod::Squash, &head)
            .await
            .unwrap_err();
        assert!(matches!(err, ForgeError::Refused(_)), "{err}");
        let err = guarded
            .create_commit(&NewCommit {
                parent: main.clone(),
                message: "ci".into(),
                changes: vec![FileChange::write(".github/workflows/x.yml", "x")],
                author: None,
            })
            .await
            .unwrap_err();
        assert!(matches!(err, ForgeError::Refused(_)), "{err}");
    });
    assert_eq!(
        f.git(&["rev-parse", "main"]),
        main,
        "refused writes moved nothing"
    );

    let merging = Guarded::new(
        LocalForge::open(&f.dir).unwrap(),
        Guard::new(&Config::default(), "main")
            .unwrap()
            .allow_merge(true),
    );
    let sha = block_on(merging.merge_pull_request(pr.number, MergeMethod::Squash, &head)).unwrap();
    assert_eq!(f.git(&["rev-parse", "main"]), sha);
}

#[test]
fn comments_are_upserted_by_marker_and_reviews_recorded() {
    let f = Fixture::new();
    f.branch_with("c", &[("c.txt", "c\n")]);
    let pr = f.open_pr("c", "C");
    let m = upsert::marker("reviewer");
    block_on(async {
        let (c1, how) = upsert::upsert_comment(&f.forge, pr.number, &m, "first")
            .await
            .unwrap();
        assert_eq!(how, Upserted::Created);
        let (_, how) = upsert::upsert_comment(&f.forge, pr.number, &m, "first")
            .await
            .unwrap();
        assert_eq!(how, Upserted::Unchanged);
        let (c2, how) = upsert::upsert_comment(&f.forge, pr.number, &m, "second")
            .await
            .unwrap();
        assert_eq!((how, c2.id), (Upserted::Updated, c1.id));
        f.forge
            .create_comment(pr.number, "someone else")
            .await
            .unwrap();
        let all = f.forge.comments(pr.number).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].body, format!("{m}\nsecond"));
        assert!(f.forge.comments(99).await.unwrap_err().is_not_found());
        let id = f
            .forge
            .create_review(
                pr.number,
                &codex_orchestrator::forge::NewReview {
                    commit_id: pr.head_sha.clone(),
                    body: "r".into(),
                    event: codex_orchestrator::forge::ReviewEvent::Comment,
                    comments: vec![codex_orchestrator::forge::InlineComment {
                        path: "c.txt".into(),
                        line: 1,
                        body: "here".into(),
                    }],
                },
            )
            .await
            .unwrap();
        assert!(id > c1.id, "ids are unique across comments and reviews");
        assert_eq!(f.forge.review_comments(pr.number).await.unwrap().len(), 1);
        f.forge
            .dispatch_workflow("reviewer.yml", "c", &serde_json::json!({"pr": "1"}))
            .await
            .unwrap();
    });
    assert_eq!(f.forge.dispatches().unwrap()[0].workflow, "reviewer.yml");
}

#[test]
fn pull_request_diffs_are_git_diff_from_the_merge_base() {
    let f = Fixture::new();
    f.branch_with(
        "d",
        &[
            ("README.md", "# demo\n\nline 2 changed\nline three\n"),
            ("new/file.txt", "new\n"),
        ],
    );
    let head = block_on(async {
        let changes = [FileChange::delete("app/main.py")];
        upsert::commit_to_branch(&f.forge, "d", "rm", &changes, None, 1)
            .await
            .unwrap()
    });
    // main moves after the branch point: the PR diff must not show main's change.
    let other = f.branch_with("other", &[("other.txt", "o\n")]);
    let pr_o = f.open_pr("other", "O");
    block_on(
        f.forge
            .merge_pull_request(pr_o.number, MergeMethod::Squash, &other),
    )
    .unwrap();
    let pr = f.open_pr("d", "D");
    let ours = block_on(f.forge.pull_request_diff(pr.number)).unwrap();
    let git = f.git(&[
        "diff",
        "--no-color",
        "--no-ext-diff",
        "-M",
        &format!("main...{head}"),
    ]);
    assert_eq!(ours.trim_end(), git);
    assert!(!ours.contains("other.txt"));
    let files = block_on(f.forge.pull_request_files(pr.number)).unwrap();
    let summary: Vec<(&str, &str, u64, u64)> = files
        .iter()
        .map(|f| (f.path.as_str(), f.status.as_str(), f.additions, f.deletions))
        .collect();
    assert_eq!(
        summary,
        [
            ("README.md", "modified", 1, 1),
            ("app/main.py", "removed", 0, 1),
            ("new/file.txt", "added", 1, 0)
        ]
    );
    assert!(
        files[0]
            .patch
            .as_deref()
            .unwrap()
            .starts_with("@@ -1,4 +1,4 @@")
    );

    // Merged, it still shows what it brought.
    block_on(
        f.forge
            .merge_pull_request(pr.number, MergeMethod::Merge, &head),
    )
    .unwrap();
    assert_eq!(
        block_on(f.forge.pull_request_diff(pr.number)).unwrap(),
        ours
    );
}

#[test]
fn concurrent_writers_get_distinct_pull_request_numbers() {
    let f = Fixture::new();
    let names: Vec<String> = (0..6).map(|i| format!("c{i}")).collect();
    for n in &names {
        f.branch_with(n, &[(&format!("{n}.txt"), "x\n")]);
    }
    let dir = f.dir.clone();
    let threads: Vec<_> = names
        .iter()
        .map(|n| {
            let (dir, n) = (dir.clone(), n.clone());
            std::thread::spawn(move || {
                let forge = LocalForge::open(&dir).unwrap();
                block_on(forge.create_pull_request(&NewPullRequest {
                    title: n.clone(),
                    head: n,
                    base: "main".into(),
                    body: String::new(),
                    draft: false,
                }))
                .unwrap()
                .number
            })
        })
        .collect();
    let mut numbers: Vec<u64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    numbers.sort();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6]);
    assert!(!f.dir.join("forge.lock").exists(), "the lock is released");
}

#[test]
fn forge_init_imports_the_history_of_head() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    git(&src, &["init", "-q", "-b", "trunk", "."]);
    for i in 1..=3 {
        std::fs::write(src.join("f.txt"), format!("{i}\n")).unwrap();
        git(&src, &["add", "-A"]);
        git(&src, &["commit", "-q", "-m", &format!("c{i}")]);
    }
    let forge = tmp.path().join("forge");
    let r = run(cmd(tmp.path()).args([
        "forge",
        "init",
        &format!("local:{}", forge.display()),
        "--from",
        src.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("3 commit(s) on trunk"), "{}", r.stdout);
    let bare = forge.join("repo.git");
    let bare_s = bare.to_str().unwrap();
    assert_eq!(
        git(
            tmp.path(),
            &["--git-dir", bare_s, "log", "--format=%H %s", "trunk"]
        ),
        git(&src, &["log", "--format=%H %s", "trunk"]),
        "the same commits, ids included"
    );
    assert_eq!(
        git(tmp.path(), &["--git-dir", bare_s, "symbolic-ref", "HEAD"]).trim(),
        "refs/heads/trunk"
    );
    git(tmp.path(), &["--git-dir", bare_s, "fsck", "--strict"]);

    // Again into the same directory: refused, nothing touched.
    let again = run(cmd(tmp.path()).args([
        "forge",
        "init",
        &format!("local:{}", forge.display()),
        "--from",
        src.to_str().unwrap(),
    ]));
    assert_eq!(again.code, 2);
    assert!(
        again.stderr.contains("already holds a local forge"),
        "{}",
        again.stderr
    );

    // A plain folder becomes one commit; a role runs against the forge.
    let plain = tmp.path().join("plain");
    std::fs::create_dir_all(plain.join("tasks")).unwrap();
    std::fs::write(plain.join("README.md"), "# plain\n").unwrap();
    let forge2 = tmp.path().join("forge2");
    let spec = format!("local:{}", forge2.display());
    let r = run(cmd(tmp.path()).args(["forge", "init", &spec, "--from", plain.to_str().unwrap()]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("1 commit(s) on main"), "{}", r.stdout);
    let r = run(cmd(tmp.path()).args(["--forge", &spec, "taskmaster"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let records = LocalForge::open(&forge2).unwrap().pull_records().unwrap();
    assert_eq!(records.len(), 1, "the taskmaster proposed the seed task");
    assert_eq!(records[0].head_ref, "taskmaster/seed-T-0001");

    let bad = run(cmd(tmp.path()).args(["--forge", "local:/nonexistent/forge", "taskmaster"]));
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("is not a local forge"),
        "{}",
        bad.stderr
    );
}

#[test]
fn an_empty_claim_commit_keeps_the_tree_and_its_message_reads_back() {
    let f = Fixture::new();
    let main = f.git(&["rev-parse", "main"]);
    block_on(async {
        let message = "T-0002: claimed by the developer\n\nCodex-Claim: run=gh-1 at=1700000000\n";
        let claim = f
            .forge
            .create_commit(&NewCommit {
                parent: main.clone(),
                message: message.into(),
                changes: Vec::new(),
                author: None,
            })
            .await
            .unwrap();
        assert_eq!(
            f.forge.commit_message(&claim).await.unwrap().as_deref(),
            Some(message)
        );
        assert_eq!(
            f.git(&["rev-parse", &format!("{claim}^{{tree}}")]),
            f.git(&["rev-parse", "main^{tree}"]),
            "an empty change keeps the parent's tree"
        );
        assert_eq!(
            f.git(&["log", "-1", "--format=%B", &claim]).trim(),
            message.trim()
        );
    });
}
